"""What the details pane shows for a catalog entry, from the cached entity only (no Qt, no I/O).

The tree's nodes carry the entity as the catalog sent it (the change feed's JSON, kept in the
local cache), so selecting an entry needs no request. Only a measurement's README.txt lives in
storage: `readme_of` says where (next to its files), the pane fetches it on a worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lamefair_catalog.shared import GENERIC_PAIR
from lamefair_desktop.catalog.tree import LoadState, TreeNode

KIND_TITLE = {
    "project": "Project",
    "proposal": "Proposal",
    "sample": "Sample",
    "experiment": "Experiment",
    "measurement": "Measurement",
    "file": "File",
}
CHILDREN = {
    "project": ("proposal", "proposals"),
    "proposal": ("sample", "samples"),
    "sample": ("experiment", "experiments"),
    "experiment": ("measurement", "measurements"),
    "measurement": ("file", "files"),
}
# (field, label) per kind, in the order of the lab's forms; empty values are left out.
FIELDS = {
    "project": (("name", "Name"), ("slug", "Folder"), ("description", "Description")),
    "proposal": (
        ("number", "Number"),
        ("title", "Title"),
        ("pi_name", "Principal investigator"),
        ("date", "Date"),
        ("members", "Members"),
        ("description", "Description"),
        ("raw_bucket", "Raw bucket"),
        ("mirror_bucket", "NXem mirror"),
    ),
    "sample": (
        ("name", "Name"),
        ("identifier", "Identifier"),
        ("preparation_date", "Preparation date"),
        ("atom_types", "Elements"),
        ("physical_form", "Physical form"),
        ("is_simulation", "Simulated"),
        ("description", "Description"),
    ),
    "experiment": (
        ("name", "Name"),
        ("start_time", "Start"),
        ("end_time", "End"),
        ("description", "Description"),
    ),
    "measurement": (
        ("description", "Description"),
        ("slug", "Folder"),
        ("operator", "Operator"),
        ("instrument_pair", "Instrument pair"),
    ),
    "file": (
        ("path", "Path"),
        ("state", "State"),
        ("stored_at", "Stored"),
        ("sha256", "SHA-256"),
        ("bucket", "Bucket"),
        ("key", "Key"),
        ("error", "Error"),
    ),
}
TIMES = {"start_time", "end_time", "stored_at", "created_at"}
README = "README.txt"


@dataclass(frozen=True)
class StoredText:
    """An object to fetch and show as text: where it lives in storage."""

    bucket: str
    key: str


@dataclass(frozen=True)
class Details:
    title: str  # "Sample · LSMO film"
    fields: tuple[tuple[str, str], ...]  # (label, value), empty values left out
    counts: str  # "3 experiments", "2 file(s), 1 stored"
    size: int | None  # bytes of a file or of a measurement's files (the pane formats them)
    created: str  # "created by ada on 2026-12-07 09:30", or "" when the cache does not say
    readme: StoredText | None  # a measurement's README.txt
    pending: bool  # created offline, not sent yet


def local_time(value: str) -> str:
    """An ISO time from the catalog (UTC) as this computer's wall clock, to the minute."""
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone()
    return moment.strftime("%Y-%m-%d %H:%M")


def _text(field: str, value) -> str:
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if field in TIMES:
        return local_time(value)
    if field == "instrument_pair" and value == GENERIC_PAIR:
        return "detected from each file"
    return str(value)


def files_of(node: TreeNode) -> list[dict]:
    """A measurement's files: its file nodes once loaded, else the list registered with it.
    The change feed updates each file on its own (its state, its SHA-256): the copy inside the
    measurement's JSON keeps the states it had when the measurement was registered."""
    if node.state is LoadState.LOADED:
        return [child.data for child in node.children if child.kind == "file"]
    return list(node.data.get("files") or [])


def _counts(node: TreeNode) -> str:
    if node.kind == "measurement":
        files = files_of(node)
        stored = sum(f.get("state") == "stored" for f in files)
        derived = sum(len(f.get("derived") or []) for f in files)
        return f"{len(files)} file(s), {stored} stored" + (f", {derived} NXem" if derived else "")
    if node.kind == "file":
        return ""
    if node.kind not in CHILDREN:
        return ""
    count = node.child_count if node.child_count is not None else len(node.children)
    one, many = CHILDREN[node.kind]
    return f"{count} {one if count == 1 else many}"


def readme_of(node: TreeNode) -> StoredText | None:
    """A measurement's README.txt: beside its files (their key is `<prefix><path>`)."""
    if node.kind != "measurement":
        return None
    for file in files_of(node):
        key, path, bucket = str(file.get("key", "")), str(file.get("path", "")), file.get("bucket")
        if bucket and path and key.endswith(path):
            return StoredText(str(bucket), key[: len(key) - len(path)] + README)
    return None


def _size(node: TreeNode) -> int | None:
    if node.kind == "file":
        return int(node.data.get("size") or 0)
    if node.kind == "measurement":
        return sum(int(f.get("size") or 0) for f in files_of(node))
    return None


def details_of(node: TreeNode) -> Details:
    data = node.data
    fields = tuple(
        (label, text)
        for name, label in FIELDS.get(node.kind, ())
        if (text := _text(name, data.get(name)))
    )
    who, when = str(data.get("created_by") or ""), data.get("created_at")
    created = " ".join(
        part
        for part in (
            "created",
            f"by {who}" if who else "",
            f"on {local_time(when)}" if when else "",
        )
        if part
    )
    # A measurement by what the operator typed, when they did (its name is a time-stamped slug).
    name = (node.kind == "measurement" and data.get("description")) or node.name or "(unnamed)"
    return Details(
        f"{KIND_TITLE.get(node.kind, node.kind)} · {name}",
        fields,
        _counts(node),
        _size(node),
        created if (who or when) else "",
        readme_of(node),
        node.pending,
    )
