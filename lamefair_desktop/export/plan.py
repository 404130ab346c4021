"""What an export holds, asked of the catalog before a byte is fetched: the hierarchy from the
project down to the exported entity's measurements, and every object under its prefix in the
proposal's raw and mirror buckets.

The crate's folders are the buckets' keys (`<project>/PROPOSAL-<n>/SAMPLE-<s>/EXP-<e>/raw/<m>/`,
lamefair_catalog/domain/layout.py), so the hierarchy is also the crate's folder tree. Both
buckets hold the same prefixes: raw files and README.txt in the raw bucket, the NXem files,
thumbnails and the same README.txt in the mirror. The NXem files' acquisition values are the
catalog's too (export/acquisition.py). A README present in both is taken once; any
other key in both (a raw `x.nxs` beside the NXem of `x.tif`) keeps the mirror's as `x.mirror.nxs`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePosixPath

from lamefair_desktop.catalog.client import CatalogClient, CatalogError
from lamefair_desktop.export.acquisition import acquisition_hits

KINDS = ("measurement", "experiment", "proposal")
PLURAL = {
    "project": "projects",
    "proposal": "proposals",
    "sample": "samples",
    "experiment": "experiments",
    "measurement": "measurements",
}
README = "README.txt"
THUMBNAIL_SUFFIX = ".thumb.png"


class ExportError(Exception):
    """The export cannot be made; the message names what and says what to do."""


class BadExportInput(ExportError):
    """The request is the caller's to fix (an unknown id, a proposal one may not read, a path
    that cannot be written, no licence): nothing was fetched."""


@dataclass(frozen=True)
class Level:
    """One entity of the hierarchy and its folder in the crate (a key prefix, ending in "/")."""

    kind: str
    entity: dict
    folder: str
    parts: tuple[str, ...] = ()  # folders of the levels below, in the crate


@dataclass(frozen=True)
class CrateFile:
    """One object to put in the crate (or, links only, to point at)."""

    bucket: str
    key: str
    path: str  # inside the crate
    size: int
    sha256: str | None  # what the catalog recorded; None for README and thumbnails
    role: str  # "raw", "nxem", "readme", "thumbnail", "other"
    folder: str  # the folder of the level it belongs to
    file: dict | None = None  # the catalog's file, for raw files
    derived_from: str | None = None  # crate path of the raw file an NXem file was made from


@dataclass(frozen=True)
class ExportPlan:
    kind: str
    entity_id: str
    levels: tuple[Level, ...]  # top (project) first
    files: tuple[CrateFile, ...]
    catalog_url: str
    acquisitions: dict[str, dict] = field(default_factory=dict)  # NXem key -> its search hit

    @property
    def target(self) -> Level:
        return next(level for level in self.levels if level.entity["id"] == self.entity_id)


def plan_export(client: CatalogClient, kind: str, entity_id: str) -> ExportPlan:
    """Ask the catalog what the export of (kind, id) holds. Raises ExportError for an unknown
    or unreadable entity, CatalogError (and its kin) for the catalog's other refusals."""
    if kind not in KINDS:
        raise BadExportInput(
            f"Cannot export a {kind}: choose a measurement, experiment or proposal."
        )
    target = _entity(client, kind, entity_id)
    chain = _ancestors(client, kind, target)  # project first, target last
    proposal = dict(chain)["proposal"]
    rows = [
        (level_kind, entity, chain[i - 1][1]["id"] if i else None)
        for i, (level_kind, entity) in enumerate(chain)
    ] + _descendants(client, kind, target)  # parents before children
    folder_of: dict[str, str] = {}
    parts: dict[str, list[str]] = {}
    for level_kind, entity, parent_id in rows:
        above = folder_of[parent_id] if parent_id else ""
        folder_of[entity["id"]] = above + _segment(level_kind, entity)
        if parent_id:
            parts.setdefault(parent_id, []).append(folder_of[entity["id"]])
    levels = tuple(
        Level(k, e, folder_of[e["id"]], tuple(parts.get(e["id"], ()))) for k, e, _p in rows
    )
    measurements = [lv.entity for lv in levels if lv.kind == "measurement"]
    files = _files(client, proposal, folder_of[entity_id], levels, measurements)
    nxem = {f.key for f in files if f.role == "nxem"}
    values = acquisition_hits(client, proposal["id"], nxem) if nxem else {}
    return ExportPlan(kind, entity_id, levels, files, client.base_url, values)


def _entity(client: CatalogClient, kind: str, entity_id: str) -> dict:
    try:
        return client.get_entity(PLURAL[kind], entity_id)
    except CatalogError as exc:
        if exc.status in (404, 422):
            raise BadExportInput(
                f"There is no {kind} {entity_id} in the catalog at {client.base_url}; "
                "`lamefair ls` shows the ids."
            ) from None
        if exc.status == 403:
            raise BadExportInput(f"Cannot export {kind} {entity_id}: {exc.detail}") from None
        raise


def _ancestors(client: CatalogClient, kind: str, entity: dict) -> list[tuple[str, dict]]:
    chain = [(kind, entity)]
    parent_field = {"measurement": "experiment", "experiment": "sample", "sample": "proposal"}
    parent_field["proposal"] = "project"
    while chain[0][0] != "project":
        child_kind, child = chain[0]
        parent_kind = parent_field[child_kind]
        chain.insert(0, (parent_kind, _entity(client, parent_kind, str(child[parent_kind]))))
    return chain


def _descendants(client: CatalogClient, kind: str, entity: dict) -> list[tuple[str, dict, str]]:
    """(kind, entity, parent id) of every level below the target, parents before children."""
    found: list[tuple[str, dict, str]] = []
    below = {"proposal": "sample", "sample": "experiment", "experiment": "measurement"}
    todo = [(kind, entity)]
    while todo:
        parent_kind, parent = todo.pop(0)
        child_kind = below.get(parent_kind)
        if child_kind is None:
            continue
        for child in client.list(PLURAL[child_kind], **{parent_kind: parent["id"]}):
            found.append((child_kind, child, parent["id"]))
            todo.append((child_kind, child))
    return found


def _segment(kind: str, entity: dict) -> str:
    """A level's folder below its parent's, as the catalog lays out its buckets (layout.py)."""
    if kind == "project":
        return f"{entity['slug']}/"
    if kind == "proposal":
        return f"PROPOSAL-{entity['number_slug']}/"
    if kind == "sample":
        return f"SAMPLE-{entity['slug']}/"
    if kind == "experiment":
        return f"EXP-{entity['slug']}/"
    return f"raw/{entity['slug']}/"


def _role(key: str) -> str:
    name = PurePosixPath(key).name
    if name == README:
        return "readme"
    if name.endswith(THUMBNAIL_SUFFIX):
        return "thumbnail"
    return "nxem" if name.endswith(".nxs") else "other"


def _owner(key: str, folders: set[str]) -> str:
    """The deepest level folder holding `key` (walking up its own folders: a proposal has
    thousands of levels and a hundred thousand files)."""
    parts = key.split("/")
    for depth in range(len(parts) - 1, 0, -1):
        folder = "/".join(parts[:depth]) + "/"
        if folder in folders:
            return folder
    raise ExportError(f"{key} is outside the exported folders.")  # listed under the prefix


def _mirror_path(key: str) -> str:
    path = PurePosixPath(key)
    return str(path.with_name(f"{path.stem}.mirror{path.suffix}"))


def _files(
    client: CatalogClient,
    proposal: dict,
    prefix: str,
    levels: tuple[Level, ...],
    measurements: list[dict],
) -> tuple[CrateFile, ...]:
    raw_bucket, mirror_bucket = proposal["raw_bucket"], proposal["mirror_bucket"]
    folders = {lv.folder for lv in levels}
    by_key = {f["key"]: f for m in measurements for f in m.get("files", ())}
    derived = {d["key"]: f for f in by_key.values() for d in f.get("derived") or ()}
    out: dict[str, CrateFile] = {}
    for obj in list_objects(client, raw_bucket, prefix):
        key = obj["key"]
        file = by_key.get(key)
        role = "raw" if file is not None else _role(key)
        out[key] = CrateFile(
            raw_bucket, key, key, obj["size"], obj.get("sha256"), role, _owner(key, folders), file
        )
    for obj in list_objects(client, mirror_bucket, prefix):
        key, path = obj["key"], obj["key"]
        if key in out:
            if out[key].role == "readme" and _role(key) == "readme":
                continue  # the catalog writes each README into both buckets alike
            path = _mirror_path(key)
        source = derived.get(key)
        out[path] = CrateFile(
            mirror_bucket,
            key,
            path,
            obj["size"],
            obj.get("sha256"),
            _role(key),
            _owner(key, folders),
            derived_from=source["key"] if source else None,
        )
    return tuple(sorted(out.values(), key=lambda f: f.path))


def list_objects(client: CatalogClient, bucket: str, prefix: str) -> list[dict]:
    """Every object below `prefix` (the catalog lists one folder level a page at a time)."""
    found, folders = [], [prefix]
    while folders:
        folder = folders.pop()
        cursor = None
        while True:
            page = client.list_objects(bucket, folder, cursor)
            folders += page["folders"]
            found += page["objects"]
            cursor = page["next_cursor"]
            if not cursor:
                break
    return found
