"""What the fault tests watch: a browsing client through HAProxy, the change feed, the CLI upload.

The browser counts every status it gets (a connection error counts as `error`) and measures the
seconds during which its requests got no 200; its change-feed poller keeps every revision it saw,
so that `feed_problems` can say afterwards which committed revision it skipped or saw twice.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

LAMEFAIR = str(Path(sys.executable).parent / "lamefair")


@dataclass
class Browser:
    """Lists and browses through the load balancer, as people at the facility do meanwhile."""

    url: str
    token: str
    experiment: str
    bucket: str
    prefix: str
    statuses: Counter = field(default_factory=Counter)
    refused: Counter = field(default_factory=Counter)  # (route, status) of every non-200
    revs: list[int] = field(default_factory=list)  # every change-feed revision seen, in order
    polled_up_to: int = 0
    unavailable_seconds: float = 0.0
    longest_outage: float = 0.0
    _outage_since: float | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Browser:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(60)
        self._note(200, time.monotonic())  # closes an outage still open
        self.drain_feed()

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    def _run(self) -> None:
        paths = [
            ("/api/projects", {}),
            ("/api/measurements", {"experiment": self.experiment}),
            (f"/api/buckets/{self.bucket}/objects", {"prefix": self.prefix}),
        ]
        with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {self.token}"}) as http:
            self._http = http
            turn = 0
            while not self._stop.is_set():
                path, params = paths[turn % len(paths)]
                turn += 1
                self._get(path, params)
                self._poll_feed()
                self._stop.wait(0.05)

    def _get(self, path: str, params: dict) -> httpx.Response | None:
        try:
            response = self._http.get(self.url + path, params=params)
        except httpx.HTTPError:
            self._note("error", time.monotonic())
            self.refused[(path.split("/")[2], "error")] += 1
            return None
        status: int | str = response.status_code
        if status != 200 and "json" not in response.headers.get("content-type", ""):
            status = f"{status} from HAProxy"  # no catalog answered (its errors are JSON)
        self._note(status, time.monotonic())
        if status != 200:
            self.refused[(path.split("/")[2], status)] += 1
        return response

    def _note(self, status: int | str, now: float) -> None:
        self.statuses[status] += 1
        if status == 200:
            if self._outage_since is not None:
                span = now - self._outage_since
                self.unavailable_seconds += span
                self.longest_outage = max(self.longest_outage, span)
                self._outage_since = None
        elif self._outage_since is None:
            self._outage_since = now

    def _poll_feed(self) -> None:
        response = self._get("/api/changes", {"since": self.polled_up_to, "limit": 1000})
        if response is not None and response.status_code == 200:
            body = response.json()
            self.revs += [change["rev"] for change in body["changes"]]
            self.polled_up_to = body["last_rev"]

    def drain_feed(self) -> None:
        """Poll until the feed has nothing new (after the writers stopped)."""
        with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {self.token}"}) as http:
            self._http = http
            while True:
                before = self.polled_up_to
                self._poll_feed()
                if self.polled_up_to == before:
                    return


def all_revisions(url: str, token: str) -> list[int]:
    """Every revision the feed holds now, read from the start."""
    revs, since = [], 0
    with httpx.Client(timeout=30, headers={"Authorization": f"Bearer {token}"}) as http:
        while True:
            body = http.get(f"{url}/api/changes", params={"since": since, "limit": 5000}).json()
            if not body["changes"]:
                return revs
            revs += [change["rev"] for change in body["changes"]]
            since = body["last_rev"]


def feed_problems(seen: list[int], committed: list[int], first: int = 0) -> dict[str, list[int]]:
    """Revisions above `first` a poller saw twice, or skipped although they are committed.

    Gaps in the numbers are not problems: a PostgreSQL sequence hands out numbers to
    transactions that then roll back. A committed revision below the poller's position that it
    never saw is one: it committed after a later one the poller already had."""
    counts = Counter(seen)
    up_to = max(seen, default=first)
    return {
        "twice": sorted(rev for rev, n in counts.items() if n > 1),
        "skipped": sorted(rev for rev in committed if first < rev <= up_to and rev not in counts),
    }


@dataclass
class Upload:
    """`lamefair upload` as a script runs it; its plain lines are collected as they come."""

    process: subprocess.Popen
    lines: list[str] = field(default_factory=list)
    first_stored: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def start(cls, url: str, token: str, home: Path, experiment: str, folder: Path) -> Upload:
        process = subprocess.Popen(
            [LAMEFAIR, "upload", "--experiment", experiment, "--pair", "generic", str(folder)],
            env=cli_env(url, token, home),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        upload = cls(process)
        threading.Thread(target=upload._read, daemon=True).start()
        return upload

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip())
            if line.startswith("stored:"):
                self.first_stored.set()

    def stored_count(self) -> int:
        return sum(line.startswith("stored:") for line in list(self.lines))

    def wait(self, timeout: float = 600) -> int:
        return self.process.wait(timeout)

    def output(self) -> str:
        return "\n".join(self.lines)


def cli_env(url: str, token: str, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAMEFAIR_")}
    env.update(LAMEFAIR_SERVER=url, LAMEFAIR_TOKEN=token, LAMEFAIR_HOME=str(home))
    return env


def resume_queue(url: str, token: str, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LAMEFAIR, "queue", "--resume"],
        env=cli_env(url, token, home),
        capture_output=True,
        text=True,
        timeout=600,
    )
