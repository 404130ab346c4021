"""A keyring backend that keeps secrets in this process only: tests never touch a real keyring."""

from __future__ import annotations

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.secrets.pop((service, username), None) is None:
            raise PasswordDeleteError(f"no secret for {username!r} at {service!r}")


WINDOWS_ENTRY_BYTES = 2560  # CRED_MAX_CREDENTIAL_BLOB_SIZE; the text is stored as UTF-16


class WindowsSizedKeyring(MemoryKeyring):
    """Refuses what Windows' Credential Manager refuses: an entry over 2,560 bytes, with an
    OSError (standing in for pywintypes.error), not a KeyringError."""

    def set_password(self, service: str, username: str, password: str) -> None:
        size = len(password.encode("utf-16-le"))
        if size > WINDOWS_ENTRY_BYTES:
            raise OSError(1783, f"CredWrite: the stub received bad data ({size} bytes)")
        super().set_password(service, username, password)


class BrokenKeyring(MemoryKeyring):
    """A backend that fails on every call with something other than a KeyringError, as a locked
    or half-installed secret service does."""

    def get_password(self, service: str, username: str) -> str | None:
        raise OSError("The secret service is locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise OSError("The secret service is locked")

    def delete_password(self, service: str, username: str) -> None:
        raise OSError("The secret service is locked")
