"""Where a sign-in is kept: the refresh token (and who it belongs to) in the keyring, the rest in
memory.

Why so little in the keyring: Windows' Credential Manager holds at most 2,560 bytes per entry (the
text is stored as UTF-16, so about 1,280 characters) and refuses more with an OSError or
pywintypes.error, not a KeyringError; an access token plus an ID token from Keycloak exceed that.
Access and ID tokens live minutes, so a process that finds only the refresh token (after a
restart, the CLI, the engines' process) gets its own access token from it.

Several processes share the entry: the window, its engines' process and the CLI. Each keeps its
own access token in memory and takes the refresh token from the keyring on every load, so a
refresh token rotated by one is used by all; an entry removed by one (sign-out, refused refresh)
signs all of them out.

Any exception from the keyring backend (locked, refused, too large, no D-Bus...) becomes a notice
in `problem`, never a crash: the sign-in then lives in this process's memory until it ends.
"""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass, replace

import keyring

log = logging.getLogger(__name__)

KEYRING_SERVICE = "lamefair"


@dataclass
class Tokens:
    access_token: str
    expires_at: float
    refresh_token: str | None = None
    id_token: str | None = None
    username: str = ""


class TokenStore:
    """The sign-in for one server: refresh token in the keyring, access and ID tokens in memory;
    all in memory where the machine has no keyring or the keyring fails."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url.rstrip("/")
        self._memory: Tokens | None = None
        self.persistent, self.problem = _keyring_usable()

    def load(self) -> Tokens | None:
        """What is known now. A refresh token found only in the keyring comes without an access
        token (expired at 0): the caller renews it before use."""
        if not self.persistent:
            return self._memory
        try:
            raw = keyring.get_password(KEYRING_SERVICE, self.server_url)
        except Exception as exc:  # noqa: BLE001 - any backend failure: see the module docstring
            self._give_up("could not be read", exc)
            return self._memory
        stored, memory = _from_entry(raw), self._memory
        if stored is None:
            if memory is not None and memory.refresh_token is None:
                return memory  # nothing was worth keeping: no refresh token
            self._memory = None  # removed by another process: signed out everywhere
            return None
        if memory is not None and memory.refresh_token == stored.refresh_token:
            return memory
        if memory is not None and memory.username and memory.username == stored.username:
            # Same person: our access token stays good, but another process rotated the refresh
            # token, and only the newest one works.
            self._memory = replace(memory, refresh_token=stored.refresh_token)
            return self._memory
        return stored

    def save(self, tokens: Tokens) -> None:
        self._memory = tokens
        if not self.persistent:
            return
        entry = _to_entry(tokens)
        try:
            current = keyring.get_password(KEYRING_SERVICE, self.server_url)
            if entry is None and current is not None:
                keyring.delete_password(KEYRING_SERVICE, self.server_url)
            elif entry is not None and entry != current:
                keyring.set_password(KEYRING_SERVICE, self.server_url, entry)
        except Exception as exc:  # noqa: BLE001 - any backend failure: see the module docstring
            self._give_up("refused to store it", exc)

    def clear(self) -> None:
        self._memory = None
        if self.persistent:
            with contextlib.suppress(Exception):  # nothing there, or a backend failure: gone
                keyring.delete_password(KEYRING_SERVICE, self.server_url)

    def _give_up(self, what: str, exc: BaseException) -> None:
        self.persistent = False
        self.problem = (
            f"the keyring {what} ({type(exc).__name__}: {exc}), so the sign-in is kept in memory "
            "only and must be repeated after a restart"
        )
        log.warning("Sign-in for %s: %s", self.server_url, self.problem)


def _to_entry(tokens: Tokens) -> str | None:
    """The keyring's text: only what a new process needs to get its own access token."""
    if not tokens.refresh_token:
        return None
    return json.dumps({"refresh_token": tokens.refresh_token, "username": tokens.username})


def _from_entry(raw: str | None) -> Tokens | None:
    """The stored refresh token. Entries of earlier versions held every token: only it is used
    (the next save rewrites them small)."""
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        data = {}
    if not data.get("refresh_token"):
        return None
    return Tokens("", 0.0, str(data["refresh_token"]), None, str(data.get("username") or ""))


def _keyring_usable() -> tuple[bool, str]:
    try:
        backend = keyring.get_keyring()
    except Exception as exc:  # noqa: BLE001 - a broken keyring setup must not stop the app
        return False, f"the keyring cannot be opened ({exc}), so the sign-in is kept in memory only"
    name = type(backend).__module__ + "." + type(backend).__name__
    if "fail" in name.lower() or "null" in name.lower():
        return False, (
            "no keyring (secret store) is available on this machine, so the sign-in is kept in "
            "memory only and must be repeated after a restart"
        )
    return True, ""
