"""The catalog tree without Qt: nodes with a load state, filled lazily from the local cache.

projects → proposals → samples → experiments → measurements → files. Loading a node's children is
split in three so the UI thread never reads the database: `begin_load` (UI thread) returns a
request, `fetch_children` (a worker) queries the cache, `finish_load` (UI thread) attaches the
result unless the node was reloaded meanwhile (a stale answer is dropped).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from lamefair_desktop.catalog.sync import CatalogCache

CHILD_KIND = {
    "root": "project",
    "project": "proposal",
    "proposal": "sample",
    "sample": "experiment",
    "experiment": "measurement",
    "measurement": "file",
}


class LoadState(Enum):
    NOT_LOADED = "not loaded"
    LOADING = "loading"
    LOADED = "loaded"
    ERROR = "error"


@dataclass(eq=False)
class TreeNode:
    kind: str
    id: str | None
    name: str
    data: dict = field(default_factory=dict)
    pending: bool = False  # created offline, not yet on the server
    child_count: int | None = None
    parent: TreeNode | None = None
    children: list[TreeNode] = field(default_factory=list)
    state: LoadState = LoadState.NOT_LOADED
    error: str = ""
    generation: int = 0

    @property
    def is_leaf(self) -> bool:
        return self.kind not in CHILD_KIND

    @property
    def row(self) -> int:
        return self.parent.children.index(self) if self.parent else 0

    @property
    def title(self) -> str:
        """What a person calls it: a measurement by the description its operator typed (its name
        is a generated slug such as 20261124-014605-f5796b2d, kept for the tooltip), else its
        name."""
        if self.kind == "measurement":
            description = " ".join(str(self.data.get("description") or "").split())
            if description:
                return description
        return self.name or "(unnamed)"

    def label(self) -> str:
        if self.kind == "file":
            return self.title
        count = f" ({self.child_count})" if self.child_count else ""
        return f"{self.title}{count}"

    def tooltip(self) -> str:
        """The slug or identifier behind the label: what the buckets and the CLI show."""
        if self.kind == "file":
            return (
                f"{self.data.get('path')}: {self.data.get('state')}, {self.data.get('size')} bytes"
            )
        if self.kind == "measurement" and self.title != self.name:
            return f"measurement {self.name}"
        return f"{self.kind} {self.name}"

    def state_badge(self) -> str:
        """For files: their upload state; for others: pending/error marks."""
        if self.kind == "file":
            return str(self.data.get("state", ""))
        if self.pending:
            return "not sent yet"
        return "error" if self.state is LoadState.ERROR else ""


@dataclass(frozen=True)
class LoadRequest:
    node: TreeNode
    generation: int
    kind: str
    parent_id: str | None


@dataclass(frozen=True)
class ChildRecord:
    """One child as read on the worker (plain values only cross threads)."""

    kind: str
    id: str
    name: str
    data: dict
    pending: bool
    child_count: int


def child_node(parent: TreeNode, record: ChildRecord) -> TreeNode:
    """A node for a child as read on the worker (files have nothing below: loaded already)."""
    return TreeNode(
        record.kind,
        record.id,
        record.name,
        record.data,
        record.pending,
        record.child_count,
        parent=parent,
        state=LoadState.LOADED if record.kind == "file" else LoadState.NOT_LOADED,
    )


class CatalogTree:
    def __init__(self) -> None:
        self.root = TreeNode("root", None, "")

    def begin_load(self, node: TreeNode) -> LoadRequest | None:
        if node.is_leaf or node.state is LoadState.LOADING:
            return None
        node.state = LoadState.LOADING
        node.generation += 1
        return LoadRequest(node, node.generation, CHILD_KIND[node.kind], node.id)

    @staticmethod
    def fetch_children(cache: CatalogCache, request: LoadRequest) -> list[ChildRecord]:
        """Runs on a worker: the children and their own child counts, from the cache."""
        nodes = cache.children(request.kind, request.parent_id)
        counts = cache.child_counts([n.id for n in nodes]) if request.kind != "file" else {}
        return [
            ChildRecord(n.kind, n.id, n.name, n.data, n.pending, counts.get(n.id, 0)) for n in nodes
        ]

    def finish_load(self, request: LoadRequest, records: list[ChildRecord]) -> bool:
        node = request.node
        if request.generation != node.generation:
            return False  # reloaded since: a newer answer is on its way
        node.children = [child_node(node, r) for r in records]
        node.child_count = len(records)
        node.state, node.error = LoadState.LOADED, ""
        return True

    def fail_load(self, request: LoadRequest, message: str) -> bool:
        node = request.node
        if request.generation != node.generation:
            return False
        node.state, node.error = LoadState.ERROR, message
        return True

    def reset(self) -> None:
        self.root = TreeNode("root", None, "")


def matches(node: TreeNode, text: str) -> bool:
    """The filter box: name, sample identifier, atom type or a date in the entity's fields."""
    text = text.strip().lower()
    if not text:
        return True
    data = node.data
    haystack = [
        node.name,
        node.title,
        str(data.get("identifier", "")),
        " ".join(data.get("atom_types", []) or []),
        str(data.get("preparation_date", "") or ""),
        str(data.get("start_time", "") or ""),
        str(data.get("date", "") or ""),
        str(data.get("number", "")),
    ]
    return any(text in value.lower() for value in haystack)
