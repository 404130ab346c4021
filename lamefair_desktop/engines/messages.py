"""What the window and the engines' process say to each other: small frozen dataclasses only.

The window sends commands down a pipe; the child sends back the engines' own events (FileProgress,
MeasurementProgress, DerivedJob, MeasurementConverted, WatchEvent: each defined beside the engine
that emits it) and the few below. Nothing here may hold an ORM object, a widget or a lock: every
value is pickled across the process boundary.
"""

from __future__ import annotations

from dataclasses import dataclass

from lamefair_desktop.catalog.token_store import Tokens

# --- what the window says ---------------------------------------------------------------------


@dataclass(frozen=True)
class Kick:
    """Files were queued: upload them now."""


@dataclass(frozen=True)
class Control:
    action: str  # "pause", "cancel" or "resume"
    file_ids: tuple[str, ...]


@dataclass(frozen=True)
class SignedIn:
    """The person signed in in the window: these are the tokens it got (the keyring holds only
    the refresh token, so the child also keeps the access token in its memory)."""

    tokens: Tokens | None = None


@dataclass(frozen=True)
class RulesChanged:
    """A watch rule was added, removed or switched: scan now."""


@dataclass(frozen=True)
class SelectExperiment:
    experiment_id: str


@dataclass(frozen=True)
class Stop:
    pass


# --- what the child says besides the engines' own events --------------------------------------


@dataclass(frozen=True)
class EngineReady:
    pid: int


@dataclass(frozen=True)
class EngineStopped:
    pid: int


# --- what the engines say besides their own events ----------------------------------------------


@dataclass(frozen=True)
class UploadsIdle:
    """An upload run ended: counts by state of everything queued for this catalog."""

    counts: dict


@dataclass(frozen=True)
class EngineFailed:
    """An engine hit an unexpected error; it starts again after a pause (the queues keep all)."""

    engine: str
    message: str
