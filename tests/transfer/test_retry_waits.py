"""A retry's wait never outlasts a Cancel: the one retry policy (catalog/retry.py) waits on events.

The backoffs here are an hour long: a wait that a Cancel does not end would hang the test (the
`wait(60)` below is only a guard against that hang, not a measure of speed).
"""

from __future__ import annotations

import threading
import time

from lamefair_desktop.catalog.client import CatalogClient, CatalogUnreachable
from lamefair_desktop.transfer.upload import Uploader, UploadSettings
from tests.support.tcp_proxy import TcpProxy

HOUR = 3600.0


def _wait_for(condition, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert condition()


def test_cancel_ends_an_upload_that_waits_to_retry_the_network(
    client, queue, experiment, tmp_path, s3_proxy
):
    source = tmp_path / "waiting.bin"
    source.write_bytes(b"x" * 5000)
    settings = UploadSettings(stable_seconds=0.05, attempts=5, backoff=HOUR, max_backoff=HOUR)
    uploader = Uploader(client, queue, settings)
    measurement = uploader.register(experiment["id"], [source])
    file_id = measurement["files"][0]["id"]
    finished = threading.Event()
    s3_proxy.cut()
    try:
        thread = threading.Thread(target=lambda: (uploader.run(), finished.set()), daemon=True)
        thread.start()
        _wait_for(lambda: uploader.retries["network"] >= 1)  # now waiting an hour to retry
        uploader.cancel(file_id)
        assert finished.wait(60), "the upload kept waiting to retry after Cancel"
    finally:
        s3_proxy.restore()
        uploader.close()
    assert queue.get(file_id).state == "cancelled"


def test_closing_the_catalog_client_ends_its_wait_to_retry(transfer_catalog):
    proxy = TcpProxy("127.0.0.1", int(transfer_catalog.url.rsplit(":", 1)[1].split("/")[0]))
    proxy.cut()
    client = CatalogClient(proxy.endpoint, "any", attempts=3, backoff=HOUR, max_backoff=HOUR)
    outcome = {}

    def ask() -> None:
        try:
            client.health()
        except CatalogUnreachable as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=ask, daemon=True)
    try:
        thread.start()
        _wait_for(lambda: proxy.connections_seen >= 1)  # refused once: now waiting to retry
        client.close()
        thread.join(60)
        assert not thread.is_alive(), "the client kept waiting to retry after it was closed"
    finally:
        proxy.close()
    assert isinstance(outcome.get("error"), CatalogUnreachable)
