"""A facility's catalog on one machine: SeaweedFS cluster, PostgreSQL, two catalogs, HAProxy.

Everything on 127.0.0.1 on free ports, stopped by PID:

- a SeaweedFS cluster of separate `weed` processes (seaweed_cluster.py: master, three volume
  servers with replication 001, filer, S3 gateway with SigV4 identities);
- a database of its own on the machine's PostgreSQL, reached by the catalogs through a TCP proxy
  the tests control (cutting it is how they take the database away: the PostgreSQL server itself
  serves everybody on this machine and is never restarted);
- oidc-provider-mock as the identity provider;
- two `lamefair-catalog serve` processes on that database and that S3;
- HAProxy in front of them, checking `/api/health` every second (HAPROXY_CONFIG below: the
  configuration the README shows).

`python -m tests.facility.stack` (`make facility`) starts it for people to try and stops it on
Ctrl+C.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass
from pathlib import Path

import boto3
import httpx
import pytest
from botocore.config import Config

from lamefair_catalog.embedded.ports import free_ports
from tests.facility.seaweed_cluster import SeaweedCluster, start_cluster
from tests.support import components
from tests.support.catalog import ADMIN, CatalogProcess, oidc_login, start_catalog
from tests.support.tcp_proxy import TcpProxy

# The load balancer. Health: a catalog that answers /api/health at all is in, whatever it says
# about its dependencies: 503 there means storage or the database is down for every catalog
# alike, and each catalog then answers its own 503 with Retry-After only for the work that needs
# them (browsing keeps working). A dead process (refused, silent) is out after two failed checks.
# A request that got no answer is sent again to the other catalog (`retry-on`, `redispatch`).
HAPROXY_CONFIG = """global
    maxconn 512
defaults
    mode http
    timeout connect 2s
    timeout client 120s
    timeout server 120s
    timeout check 5s
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response response-timeout
frontend catalog
    bind 127.0.0.1:{port}
    default_backend catalogs
frontend stats
    bind 127.0.0.1:{stats_port}
    stats enable
    stats uri /stats
backend catalogs
    balance roundrobin
    option httpchk GET /api/health
    http-check expect rstatus ^(200|503)$
{servers}
"""


@dataclass
class HaProxy:
    url: str
    stats_url: str
    config_path: Path
    process: subprocess.Popen

    def stats(self) -> dict[str, dict[str, str]]:
        """HAProxy's own counters (CSV), by `proxy/server` name."""
        text = httpx.get(f"{self.stats_url};csv", timeout=5).text
        header, *rows = text.splitlines()
        names = header.lstrip("# ").split(",")
        table = {}
        for row in rows:
            values = dict(zip(names, row.split(","), strict=False))
            table[f"{values['pxname']}/{values['svname']}"] = values
        return table

    def stop(self) -> None:
        components.stop_pid(self.process)


def start_haproxy(catalogs: list[CatalogProcess], folder: Path) -> HaProxy:
    haproxy = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/bin")
    if haproxy is None:
        components.unavailable("HAProxy", "not installed; run packaging/test-deps.sh")
    servers = "\n".join(
        f"    server catalog{i + 1} {c.url.removeprefix('http://')} check inter 1s fall 2 rise 2"
        for i, c in enumerate(catalogs)
    )
    config = folder / "haproxy.cfg"
    log_path = folder / "haproxy.log"

    def start() -> HaProxy:
        port, stats_port = free_ports(2)
        config.write_text(HAPROXY_CONFIG.format(port=port, stats_port=stats_port, servers=servers))
        since = components.log_size(log_path)
        process = components.spawn_logged([haproxy, "-db", "-f", str(config)], log_path)
        url = f"http://127.0.0.1:{port}"
        try:
            components.wait_http(f"{url}/api/health", process, 30, "haproxy")
        except RuntimeError as exc:
            components.stop_pid(process)
            if components.exited_on_port_clash(process, log_path, since):
                raise components.PortClash(str(exc)) from None
            raise RuntimeError(f"{exc}: {log_path.read_text()[-2000:]}") from None
        return HaProxy(url, f"http://127.0.0.1:{stats_port}/stats", config, process)

    return components.retry_on_port_clash(start, "haproxy")


@dataclass
class Stack:
    folder: Path
    seaweed: SeaweedCluster
    database: components.PostgresDatabase
    database_proxy: TcpProxy  # between the catalogs and PostgreSQL
    oidc: components.OidcProvider
    catalogs: list[CatalogProcess]
    haproxy: HaProxy
    admin_token: str

    @property
    def url(self) -> str:
        return self.haproxy.url

    def s3_client(self):
        """Straight to the S3 gateway with the catalog's keys (the tests' view behind lamefair)."""
        return boto3.client(
            "s3",
            endpoint_url=self.seaweed.endpoint,
            aws_access_key_id=self.seaweed.credentials.access_key,
            aws_secret_access_key=self.seaweed.credentials.secret_key,
            region_name="us-east-1",
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )

    def stop(self) -> None:
        for step in (
            self.haproxy.stop,
            *(c.stop for c in self.catalogs),
            lambda: components.stop_pid(self.oidc.process),
            self.seaweed.stop,
            self.database_proxy.close,
            lambda: components.drop_postgres_database(self.database),
        ):
            try:
                step()
            except Exception as exc:  # stop the rest whatever one of them did
                print(f"stopping the facility stack: {exc}", file=sys.stderr)


def start_stack(folder: Path, catalogs: int = 2) -> Stack:
    """Start everything; on any failure stop what was started and raise."""
    folder.mkdir(parents=True, exist_ok=True)
    started: list = []
    try:
        # SeaweedFS takes seconds (heartbeats): meanwhile the database and the provider.
        pool = ThreadPoolExecutor(1)
        seaweed_ready = pool.submit(start_cluster, folder / "seaweed")
        # Stopped only once its start is over: a stop before a launch would leave that one running
        # (a start that failed has stopped what it launched).
        started.append(
            lambda: (
                wait_futures([seaweed_ready]),
                seaweed_ready.exception() is None and seaweed_ready.result().stop(),
            )
        )
        database = components.create_postgres_database()
        started.append(lambda: components.drop_postgres_database(database))
        oidc = components.start_oidc_provider(folder)
        started.append(lambda: components.stop_pid(oidc.process))
        proxy = TcpProxy("127.0.0.1", 5432)
        started.append(proxy.close)
        url = database.url.replace("@127.0.0.1:5432/", f"@127.0.0.1:{proxy.port}/")
        seaweed = seaweed_ready.result()
        servers = []
        for index in range(catalogs):
            server = start_catalog(url, seaweed, oidc.issuer, folder, migrate_first=index == 0)
            servers.append(server)
            started.append(server.stop)
        haproxy = start_haproxy(servers, folder)
        token = oidc_login(oidc.issuer, *ADMIN)["access_token"]
    except BaseException:
        for stop in reversed(started):
            stop()
        raise
    return Stack(folder, seaweed, database, proxy, oidc, servers, haproxy, token)


def main() -> int:
    """`make facility`: start the stack, say how to use it, stop it on Ctrl+C."""
    folder = Path(tempfile.mkdtemp(prefix="lamefair-facility-"))
    print(f"Starting the facility stack in {folder} ...", flush=True)
    try:
        stack = start_stack(folder)
    except (Exception, pytest.skip.Exception) as exc:  # a missing component says which
        print(f"The facility stack did not start: {exc}", file=sys.stderr)
        print(f"Logs are in {folder}.", file=sys.stderr)
        return 1
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    catalogs = ", ".join(c.url for c in stack.catalogs)
    print(
        f"""
Catalog (HAProxy):  {stack.url}      HAProxy stats: {stack.haproxy.stats_url}
Catalog processes:  {catalogs}
S3 gateway:         {stack.seaweed.endpoint}
PostgreSQL:         database {stack.database.name} (through a proxy on port {stack.database_proxy.port})
Identity provider:  {stack.oidc.issuer}
Logs:               {folder}

Try it (an admin's access token, valid about an hour):
  export LAMEFAIR_SERVER={stack.url}
  export LAMEFAIR_TOKEN={stack.admin_token}
  .venv/bin/lamefair ls
Ctrl+C stops everything.""",
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        stopping.wait()
    print("Stopping ...", flush=True)
    stack.stop()
    shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
