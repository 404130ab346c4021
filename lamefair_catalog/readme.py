"""README.txt files written next to the data, so people browsing raw storage see the context.

Plain `key: value` lines, one per field; a value that spans lines continues on lines indented by
two spaces (as in e-mail headers). No secrets are ever written here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

HEADER = (
    "# Written by lamefair. Describes the data stored under this folder; do not edit, it is "
    "rewritten when the catalog entry changes."
)


def _format(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple | set):
        return ", ".join(str(v) for v in value)
    return str(value)


def render(kind: str, fields: dict[str, object], written_by: str) -> str:
    lines = [HEADER, f"kind: {kind}"]
    for key, value in fields.items():
        text = _format(value).replace("\r\n", "\n").replace("\r", "\n")
        first, *rest = text.split("\n") if text else [""]
        lines.append(f"{key}: {first}".rstrip())
        lines += [f"  {line}" for line in rest]
    lines.append(f"written_by: {written_by}")
    lines.append(f"written_at: {datetime.now(UTC).isoformat(timespec='seconds')}")
    return "\n".join(lines) + "\n"


def parse(text: str) -> dict[str, str]:
    """Read a README back (tests, and tools that want the context without the catalog)."""
    result: dict[str, str] = {}
    last: str | None = None
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        if line.startswith("  ") and last is not None:
            result[last] += "\n" + line[2:]
            continue
        key, _, value = line.partition(":")
        last = key.strip()
        result[last] = value.strip()
    return result
