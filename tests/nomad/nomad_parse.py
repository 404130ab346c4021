"""Parse NeXus files the way a NOMAD Oasis does; print one JSON line of what NOMAD made of them.

Runs in the NOMAD venv (`make` creates it as `.venv/nomad`: nomad-lab and pynxtools' NOMAD
plugin, kept apart from lamefair's venv because nomad-lab pins botocore through aiobotocore), so it
imports nothing from lamefair. Usage: `python nomad_parse.py FILE.nxs...`.

Each file goes through `nomad.client.parse` (NOMAD matches the file to a parser from the plugins it
finds, as on upload) and then every normalizer (`normalize_all`), as NOMAD's processing does. All
that NOMAD and pynxtools log at WARNING or above is recorded per file.

One part of an Oasis is played by a stand-in: its search index. A NeXus `identifierNAME` field
(lamefair writes `identifier_sample`, `identifier_experiment`) becomes a lab-id reference that
NOMAD resolves by searching the Oasis's Elasticsearch for an entry with that lab id, which needs
the Oasis's servers (`nomad.search` cannot even be imported without them). The stand-in answers
as an Oasis holding no such entry, so NOMAD's own code carries on as it would there: it warns
"Found no entries with lab_id" and files the identifier as an entity of its own.
"""

from __future__ import annotations

import json
import logging
import sys
import types
import uuid
import warnings
from pathlib import Path


class _Recorder(logging.Handler):
    """NOMAD logs through structlog as JSON text on stdlib loggers; pynxtools logs plainly."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.problems: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        try:
            event = json.loads(text)
        except ValueError:
            event = {"event": text}
        if not isinstance(event, dict):
            event = {"event": text}
        event["level"] = record.levelname.lower()
        event.pop("timestamp", None)
        self.problems.append({key: str(value) for key, value in event.items()})


class _SearchResult:
    """What `nomad.search.search` answers when the Oasis holds no matching entry."""

    data: list = []

    class pagination:  # noqa: N801 (the attribute NOMAD reads)
        total = 0


def _empty_oasis_search() -> types.ModuleType:
    module = types.ModuleType("nomad.search")
    module.MetadataPagination = lambda **kwargs: kwargs
    module.search = lambda **kwargs: _SearchResult()
    return module


def _entry_definitions(archive) -> list[str]:
    return [str(entry.definition__field) for entry in getattr(archive.data, "ENTRY", [])]


def _lab_ids(archive) -> list[str]:
    """The NeXus identifiers NOMAD filed as lab ids (its links to samples and experiments)."""
    return sorted(
        {
            section.lab_id
            for section, _, _, _ in archive.m_traverse()
            if type(section).__name__ == "AnchoredReference" and section.lab_id
        }
    )


def main(paths: list[str]) -> None:
    recorder = _Recorder()
    logging.getLogger().addHandler(recorder)
    logging.getLogger("pynxtools").addHandler(recorder)  # it does not propagate to the root
    sys.modules["nomad.search"] = _empty_oasis_search()

    from nomad.client import normalize_all, parse
    from nomad.datamodel import User
    from nomad.parsing.parsers import match_parser

    uploader = User(user_id=str(uuid.uuid4()), first_name="lamefair", last_name="test")
    results = {}
    for path in paths:
        recorder.problems.clear()
        parser, _ = match_parser(path)
        if parser is None:
            results[Path(path).name] = {"parser": None, "problems": list(recorder.problems)}
            continue
        with warnings.catch_warnings(record=True) as python_warnings:
            warnings.simplefilter("always")
            archives = parse(path, parser_name=parser.name)
            archive = archives[0]
            # Set by an Oasis on upload: the uploader and the upload the entry belongs to.
            archive.metadata.main_author = uploader
            archive.metadata.upload_id = "lamefair-test-upload"
            normalize_all(archive)
        material = archive.results.material if archive.results else None
        results[Path(path).name] = {
            "entries": len(archives),
            "parser": parser.name,
            "entry_type": archive.metadata.entry_type,
            "definitions": _entry_definitions(archive),
            "elements": list(material.elements) if material and material.elements else [],
            "lab_ids": _lab_ids(archive),
            "problems": list(recorder.problems),
            # Python warnings of NOMAD's metainfo code, kept for a failure's message: pynxtools
            # 0.16 with nomad-lab 2.0 warns "NexusActivityResult ... is not derived from its
            # definition" for every NXdata, pynxtools' own example files included.
            "python_warnings": sorted({str(w.message) for w in python_warnings}),
        }
    print(json.dumps(results))


if __name__ == "__main__":
    main(sys.argv[1:])
