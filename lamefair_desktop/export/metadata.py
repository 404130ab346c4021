"""`ro-crate-metadata.json` of an export (RO-Crate 1.1, as the ELN consortium's `.eln` uses it).

The hierarchy is a tree of Datasets, one per catalog level, each the crate folder that holds its
data (`hasPart`: the levels below and its own files). People (the PI, each entry's creator, the
operator) are Person entities; each measurement's acquisition is a CreateAction with the
instrument pair as its `instrument` and the raw files as its `result`. Every file carries
`contentSize`, `encodingFormat` and `sha256` (schema.org's term, also in the RO-Crate context);
an NXem file and its raw file carry the acquisition values the catalog searches by, as
`variableMeasured` PropertyValues (export/acquisition.py).

Links only: a raw file's @id is the catalog's permanent address for it,
`<catalog>/api/files/<id>/download` (an absolute URL is what RO-Crate 1.1 allows for a data
entity not in the crate; it answers a signed-in reader with a fresh download URL). A presigned
URL would stop working within the hour, a share link when it expires.
"""

from __future__ import annotations

import mimetypes
from datetime import UTC, datetime
from pathlib import PurePosixPath
from urllib.parse import quote

from lamefair_desktop import __version__
from lamefair_desktop.export.acquisition import property_values
from lamefair_desktop.export.plan import CrateFile, ExportPlan, Level

RO_CRATE = "https://w3id.org/ro/crate/1.1"
NXEM = "https://manual.nexusformat.org/classes/applications/NXem.html"
SPDX = "https://spdx.org/licenses/"
FORMATS = {
    ".nxs": "application/x-hdf5",  # NeXus files are HDF5
    ".emd": "application/x-hdf5",
    ".h5": "application/x-hdf5",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".png": "image/png",
    ".txt": "text/plain",
    ".dm3": "application/octet-stream",
    ".dm4": "application/octet-stream",
}
DESCRIBED = {
    "raw": "Raw file as written by the instrument",
    "nxem": "NeXus/NXem conversion made by lamefair",
    "readme": "README written by the lamefair catalog: the entry's fields as text",
    "thumbnail": "Thumbnail of the image",
    "other": "Stored with the data",
}
TITLE = {
    "project": "Project",
    "proposal": "Proposal",
    "sample": "Sample",
    "experiment": "Experiment",
    "measurement": "Measurement",
}


def license_id(text: str) -> str:
    """An SPDX identifier (CC-BY-4.0) as its SPDX URL; a URL stays as it is."""
    text = text.strip()
    return text if "://" in text else SPDX + text


def encoding_format(path: str) -> str:
    suffix = PurePosixPath(path).suffix.lower()
    return FORMATS.get(suffix) or mimetypes.guess_type(path)[0] or "application/octet-stream"


def _ref(entity_id: str) -> dict:
    return {"@id": entity_id}


def local_id(path: str) -> str:
    """A crate path as an RO-Crate @id: a relative URI (spaces and the like percent-encoded)."""
    return quote(path, safe="/")


def link_id(plan: ExportPlan, file: CrateFile) -> str:
    return f"{plan.catalog_url}/api/files/{file.file['id']}/download"


class _Graph:
    def __init__(self) -> None:
        self.entities: dict[str, dict] = {}

    def add(self, entity: dict) -> dict:
        existing = self.entities.setdefault(entity["@id"], entity)
        if existing is not entity:
            existing.update({k: v for k, v in entity.items() if k not in existing})
        return existing

    def person(self, name: str) -> dict | None:
        name = str(name or "").strip()
        if not name:
            return None
        person_id = "#person-" + quote(name, safe="")
        self.add({"@id": person_id, "@type": "Person", "name": name})
        return _ref(person_id)


def crate_metadata(
    plan: ExportPlan,
    digests: dict[str, tuple[int, str]],  # crate path -> (bytes, SHA-256) of what was written
    license: str,
    linked: set[str],  # crate paths of raw files given as links, not bytes
    now: datetime | None = None,
) -> dict:
    now = now or datetime.now(UTC)
    graph = _Graph()
    target = plan.target
    proposal = next(lv.entity for lv in plan.levels if lv.kind == "proposal")
    license_url = license_id(license)
    graph.add(
        {
            "@id": "ro-crate-metadata.json",
            "@type": "CreativeWork",
            "about": _ref("./"),
            "conformsTo": _ref(RO_CRATE),
            "dateCreated": now.isoformat(timespec="seconds"),
            "sdPublisher": _ref("#lamefair"),
            "version": "1.0",
        }
    )
    root = graph.add(
        {
            "@id": "./",
            "@type": "Dataset",
            "name": f"{TITLE[target.kind]} {_name(target)}",
            "description": (
                f"{TITLE[target.kind]} {_name(target)} of proposal {proposal.get('number')}, "
                f"exported from the lamefair catalog at {plan.catalog_url}: the raw files, "
                "their NXem conversions and the catalog's README texts, in the catalog's "
                "project/proposal/sample/experiment/measurement folders."
            ),
            "datePublished": now.isoformat(timespec="seconds"),
            "dateCreated": now.isoformat(timespec="seconds"),
            "license": _ref(license_url),
            "hasPart": [_ref(local_id(plan.levels[0].folder))],
        }
    )
    if (pi := graph.person(proposal.get("pi_name"))) is not None:
        root["author"] = pi
    graph.add({"@id": license_url, "@type": "CreativeWork", "name": license.strip()})
    graph.add(
        {
            "@id": "#lamefair",
            "@type": "SoftwareApplication",
            "name": "lamefair",
            "version": __version__,
        }
    )
    files_in: dict[str, list[CrateFile]] = {}
    for file in plan.files:
        files_in.setdefault(file.folder, []).append(file)
    for level in plan.levels:
        graph.add(_dataset(graph, plan, level, files_in.get(level.folder, []), linked))
    raw_by_key = {f.key: f for f in plan.files if f.role == "raw"}
    # The values of an NXem describe its raw file's acquisition as well: both point at them.
    values_of: dict[str, dict] = {}  # crate path -> search hit
    for file in plan.files:
        hit = plan.acquisitions.get(file.key) if file.role == "nxem" else None
        if hit is not None:
            values_of[file.path] = values_of[file.derived_from or ""] = hit
    for file in plan.files:
        entity = graph.add(
            _file(plan, file, digests, linked, raw_by_key.get(file.derived_from or ""))
        )
        if (hit := values_of.get(file.path)) is not None and file.role in ("nxem", "raw"):
            entity["variableMeasured"] = [_ref(graph.add(v)["@id"]) for v in property_values(hit)]
    if any(f.role == "nxem" for f in plan.files):
        graph.add(
            {"@id": NXEM, "@type": "CreativeWork", "name": "NeXus application definition NXem"}
        )
    return {
        "@context": "https://w3id.org/ro/crate/1.1/context",
        "@graph": list(graph.entities.values()),
    }


def _name(level: Level) -> str:
    data = level.entity
    if level.kind == "proposal":
        return str(data.get("title") or data.get("number") or data["id"])
    if level.kind == "measurement":
        return str(data.get("description") or data.get("slug") or data["id"])
    return str(data.get("name") or data["id"])


def _file_ref(plan: ExportPlan, file: CrateFile, linked: set[str]) -> dict:
    return _ref(link_id(plan, file) if file.path in linked else local_id(file.path))


def _dataset(
    graph: _Graph, plan: ExportPlan, level: Level, files: list[CrateFile], linked: set[str]
) -> dict:
    data = level.entity
    entity = {
        "@id": local_id(level.folder),
        "@type": "Dataset",
        "additionalType": TITLE[level.kind],
        "name": _name(level),
        "identifier": str(data["id"]),
        "hasPart": [_ref(local_id(f)) for f in level.parts]
        + [_file_ref(plan, f, linked) for f in files],
    }
    if data.get("description"):
        entity["description"] = str(data["description"])
    if data.get("created_at"):
        entity["dateCreated"] = str(data["created_at"])
    if (creator := graph.person(data.get("created_by"))) is not None:
        entity["creator"] = creator
    if level.kind == "proposal":
        entity["alternateName"] = f"PROPOSAL-{data.get('number')}"
        if (pi := graph.person(data.get("pi_name"))) is not None:
            entity["author"] = pi
        if data.get("date"):
            entity["temporalCoverage"] = str(data["date"])
    elif level.kind == "sample":
        if data.get("atom_types"):
            entity["keywords"] = list(data["atom_types"])
        if data.get("identifier"):
            entity["alternateName"] = str(data["identifier"])
    elif level.kind == "experiment" and data.get("start_time"):
        end = data.get("end_time") or ""
        entity["temporalCoverage"] = f"{data['start_time']}/{end}".rstrip("/")
    elif level.kind == "measurement":
        entity["mentions"] = _ref(_acquisition(graph, plan, level, files, linked))
    return entity


def _acquisition(
    graph: _Graph, plan: ExportPlan, level: Level, files: list[CrateFile], linked: set[str]
) -> str:
    """The measurement's acquisition: who (operator), with what (instrument pair), what came."""
    data = level.entity
    pair = str(data.get("instrument_pair") or "generic")
    instrument_id = "#instrument-" + quote(pair, safe="")
    graph.add(
        {
            "@id": instrument_id,
            "@type": "IndividualProduct",
            "name": pair if pair != "generic" else "instrument detected from each file",
            "description": "The instrument pair (lamefair mapping) chosen at upload",
        }
    )
    action_id = f"#acquisition-{data['id']}"
    action = {
        "@id": action_id,
        "@type": "CreateAction",
        "name": f"Acquisition of {_name(level)}",
        "instrument": _ref(instrument_id),
        "result": [_file_ref(plan, f, linked) for f in files if f.role == "raw"],
    }
    if (operator := graph.person(data.get("operator"))) is not None:
        action["agent"] = operator
    if data.get("created_at"):
        action["endTime"] = str(data["created_at"])  # registered in the catalog by then
    graph.add(action)
    return action_id


def _file(
    plan: ExportPlan,
    file: CrateFile,
    digests: dict[str, tuple[int, str]],
    linked: set[str],
    source: CrateFile | None,  # the raw file an NXem file was made from
) -> dict:
    size, sha256 = digests.get(file.path, (file.size, file.sha256))
    entity = {
        "@id": _file_ref(plan, file, linked)["@id"],
        "@type": "File",
        "name": PurePosixPath(file.path).name,
        "description": DESCRIBED[file.role],
        "encodingFormat": encoding_format(file.path),
        "contentSize": str(size),
    }
    if sha256:
        entity["sha256"] = sha256
    if file.file is not None:
        entity["identifier"] = str(file.file["id"])
        if file.file.get("stored_at"):
            entity["dateCreated"] = str(file.file["stored_at"])
    if file.path in linked:
        entity["alternateName"] = file.path  # where it would sit in the crate
    if file.role == "nxem":
        entity["conformsTo"] = _ref(NXEM)
        if source is not None:
            entity["isBasedOn"] = _file_ref(plan, source, linked)
    return entity
