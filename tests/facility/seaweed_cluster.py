"""A SeaweedFS cluster as separate `weed` processes: one master, three volume servers, a filer and
the S3 gateway, each on 127.0.0.1 on free ports, each stopped (or killed) by its PID.

Replication `001` (a second copy on another server of the same rack) gives every object two
copies on two of the three volume servers, so one can be killed with nothing lost and writes still
placed. The hardening is the embedded store's (lamefair_catalog/embedded/seaweed.py): one
`security.toml` for all (JWTs for the volume servers, mTLS on every gRPC port), the master's and
filer's HTTP APIs off, umask 077; only the S3 gateway answers without a key.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from lamefair_catalog.embedded.ports import free_ports, port_open
from lamefair_catalog.embedded.seaweed import S3Credentials, find_weed, write_identities
from lamefair_catalog.embedded.seaweed_security import write_security_config
from tests.support import components

REPLICATION = "001"
VOLUME_SERVERS = 3


@dataclass
class WeedProcess:
    """One `weed` child: its command is fixed, so it comes back on the same ports after a kill."""

    name: str
    command: list[str]
    folder: Path  # where security.toml is: weed reads ./security.toml first
    env: dict[str, str]
    ready: object  # callable() -> bool
    data_dir: Path | None = None  # a volume server's -dir
    process: subprocess.Popen | None = None

    @property
    def log_path(self) -> Path:
        return self.folder / f"{self.name}.log"

    def launch(self) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.command,
                env=self.env,
                cwd=self.folder,
                umask=0o077,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl+C in `make facility` reaches us, not weed
            )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"weed {self.name} exited with {self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                if self.ready():
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"weed {self.name} not ready in {timeout:.0f} s:\n{self.log_tail()}")

    def kill(self) -> None:
        """kill -9, as a crashed or unplugged node."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self, grace: float = 3.0) -> None:
        # SIGTERM flushes at once but may then wait for gRPC subscribers for ever (seaweed.py).
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@dataclass
class SeaweedCluster:
    folder: Path
    credentials: S3Credentials = field(default_factory=S3Credentials.generate)
    master: WeedProcess = field(init=False)
    volumes: list[WeedProcess] = field(init=False)
    filer: WeedProcess = field(init=False)
    s3: WeedProcess = field(init=False)
    s3_port: int = field(init=False)

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        write_security_config(self.folder)
        weed = str(find_weed())
        ports = iter(free_ports(6 + 2 * VOLUME_SERVERS))
        host = "127.0.0.1"
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith("WEED_")}
        # Two volumes per new collection (bucket) instead of six: a proposal has two buckets.
        env["WEED_MASTER_VOLUME_GROWTH_COPY_2"] = "2"
        common = [f"-ip={host}", f"-ip.bind={host}"]

        m_port, m_grpc = next(ports), next(ports)
        master_address = f"{host}:{m_port}.{m_grpc}"
        # 1024 MB volumes: the default 30 GB would never fill here; vacuum is irrelevant.
        self.master = WeedProcess(
            "master",
            [weed, "master", *common, f"-port={m_port}", f"-port.grpc={m_grpc}",
             f"-mdir={self._dir('master')}", f"-defaultReplication={REPLICATION}",
             "-volumeSizeLimitMB=1024", "-telemetry=false", "-disableHttp"],
            self.folder, env, lambda: port_open(host, m_grpc),
        )  # fmt: skip
        self.volumes = []
        for index in range(VOLUME_SERVERS):
            port, grpc = next(ports), next(ports)
            self.volumes.append(
                WeedProcess(
                    f"volume{index + 1}",
                    [
                        weed,
                        "volume",
                        *common,
                        f"-port={port}",
                        f"-port.grpc={grpc}",
                        f"-dir={self._dir(f'volume{index + 1}')}",
                        f"-master={master_address}",
                        "-max=300",
                        "-preStopSeconds=0",
                        "-dataCenter=dc1",
                        "-rack=rack1",
                    ],
                    self.folder,
                    env,
                    _volume_ready(host, port),
                    self._dir(f"volume{index + 1}"),
                )
            )
        f_port, f_grpc = next(ports), next(ports)
        self.filer = WeedProcess(
            "filer",
            [weed, "filer", *common, f"-port={f_port}", f"-port.grpc={f_grpc}",
             f"-master={master_address}", f"-defaultStoreDir={self._dir('filer')}",
             f"-defaultReplicaPlacement={REPLICATION}", "-disableHttp"],
            self.folder, env, lambda: port_open(host, f_grpc),
        )  # fmt: skip
        self.s3_port, s3_grpc = next(ports), next(ports)
        self.s3 = WeedProcess(
            "s3",
            [weed, "s3", f"-ip.bind={host}", f"-port={self.s3_port}", f"-port.grpc={s3_grpc}",
             "-port.iceberg=0", "-port.lance=0", f"-filer={host}:{f_port}.{f_grpc}",
             f"-config={self._write_identity()}"],
            self.folder, env, self._s3_ready,
        )  # fmt: skip

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    @property
    def processes(self) -> list[WeedProcess]:
        return [self.master, *self.volumes, self.filer, self.s3]

    def start(self, timeout: float = 90.0) -> SeaweedCluster:
        """All at once: each retries its way to the master and filer, which saves seconds."""
        try:
            for process in self.processes:
                process.launch()
            for process in self.processes:
                process.wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()

    def _dir(self, name: str) -> Path:
        path = self.folder / name
        path.mkdir(exist_ok=True)
        return path

    def _s3_ready(self) -> bool:
        return httpx.get(f"{self.endpoint}/", timeout=2).status_code in (200, 403)

    def _write_identity(self) -> Path:
        return write_identities(self.folder / "s3-identities.json", self.credentials)


def _volume_ready(host: str, port: int):
    # /healthz is 200 only once the volume server's heartbeat reached the master.
    return lambda: httpx.get(f"http://{host}:{port}/healthz", timeout=2).status_code == 200


def start_cluster(folder: Path) -> SeaweedCluster:
    """A started cluster; again on new ports (in a new folder) when a port picked for one of its
    processes was taken before that process bound it (several xdist workers pick at once)."""
    attempts = iter(range(1, components.PORT_ATTEMPTS + 1))

    def start() -> SeaweedCluster:
        attempt = next(attempts)
        cluster = SeaweedCluster(
            folder if attempt == 1 else folder.with_name(f"{folder.name}-{attempt}")
        )
        try:
            return cluster.start()
        except RuntimeError as exc:
            if any(components.port_clash_logged(p.log_path, 0) for p in cluster.processes):
                raise components.PortClash(str(exc).splitlines()[0]) from None
            raise

    return components.retry_on_port_clash(start, "SeaweedFS cluster")
