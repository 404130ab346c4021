"""Write NeXus/NXem files with h5py: the layout `pynx validate` (pynxtools) accepts in strict mode.

- Vendor extras never become ad-hoc fields (one undocumented field makes the entry invalid): the
  complete flattened header goes into an NXnote as JSON.
- Frames stream into a chunked dataset one at a time: memory stays near one frame.
- The file is written under a temporary name and renamed at the end: never a half-written `.nxs`.
- Deterministic: same input and context give the same bytes (no wall-clock time is written, and
  vendor times are read in the instrument's zone by name, never with today's offset).
- Provenance: notes say which mapping made the file and why (detected from the file or chosen),
  and in which zone the vendor's times were read and why.
"""

from __future__ import annotations

import errno
import io
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py

from lamefair_desktop.hashing import sha256_of
from lamefair_desktop.nexus.apply_mapping import apply
from lamefair_desktop.nexus.context import normalise_context
from lamefair_desktop.nexus.entry_notes import (
    write_checksums,
    write_conventions,
    write_mapping_note,
    write_provenance,
    write_source_notes,
    write_time_note,
)
from lamefair_desktop.nexus.entry_sections import (
    EntryWriter,
    write_header,
    write_instrument,
    write_sample,
)
from lamefair_desktop.nexus.errors import ConversionError
from lamefair_desktop.nexus.image_data import start_copy, write_image, write_image_notes
from lamefair_desktop.nexus.image_kinds import without_scan_for_cameras
from lamefair_desktop.nexus.local_time import ZoneChoice
from lamefair_desktop.nexus.mapping import (
    MappingChoice,
    MappingRegistry,
    PairOrigin,
    choose_mapping,
    default_registry,
)
from lamefair_desktop.nexus.sources import open_source

EVENT = "measurement/event1"
IMAGE_GROUP = f"{EVENT}/image1"  # the main image; a file's further images are image2, image3...


@dataclass(frozen=True)
class ConversionResult:
    """What was written. The output's own SHA-256 is left to whoever uploads it (the transfer
    engine hashes while it reads), so conversion reads the new file no second time."""

    output: Path
    size: int
    source: Path
    source_sha256: str
    flavour: str
    pair: str
    frames: int
    calibrated: bool
    lacking: tuple[str, ...] = field(default_factory=tuple)  # what the entry misses, in words
    warnings: tuple[str, ...] = field(default_factory=tuple)  # e.g. a pair made for other files


def convert(
    source: str | Path,
    output: str | Path,
    *,
    pair: str | None = None,
    pair_origin: PairOrigin = PairOrigin.CHOSEN,
    zone: ZoneChoice | None = None,
    context: dict | None = None,
    registry: MappingRegistry | None = None,
    known: KnownDigest | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
) -> ConversionResult:
    """Convert one image file (TIFF, DM3/DM4, EMD) into one NXem file at `output` (written atomically).

    `pair`: the instrument pair, and `pair_origin` why it is used (None: the file's flavour
    mapping, which writes only what the file states). `zone`: the instrument clock's zone for this
    conversion (None: the pair's setting, else this computer's zone). `known`: the source's
    SHA-256 from its upload, recorded without hashing again only while `known.holds()`; otherwise
    the file is hashed and its own SHA-256 recorded (the caller compares). A file that changes
    while it converts gets no NXem (ConversionError): its checksum could be of other bytes.
    """
    source, output = Path(source), Path(output)
    trusted = known.sha256 if known is not None and known.holds(source) else None
    # Hash the source on the second core from the start (hashlib releases the GIL while it
    # digests): the checksum is needed only by the notes written after the image. The hash and
    # the image are two reads of the file, so the file must be the same before and after both.
    before = file_state(source)
    hashing = _BackgroundHash(source) if trusted is None else None
    try:
        result = _convert(
            source,
            output,
            pair,
            pair_origin,
            zone,
            context,
            registry,
            hashing,
            trusted,
            progress,
            cancel,
        )
    finally:
        if hashing is not None:
            hashing.stop()  # a failed conversion must not leave a thread reading a large file
    unchanged = known.holds(source) if trusted is not None else file_state(source) == before
    if not unchanged:
        result.output.unlink(missing_ok=True)
        raise ConversionError(
            f"{source.name} changed while it was converted; its NXem was removed, convert again."
        )
    return result


@dataclass(frozen=True)
class KnownDigest:
    """A SHA-256 computed elsewhere (the upload hashed the bytes it sent) and when it was true.

    It is trusted only while the file still has that size and mtime and its ctime equals its
    mtime: a write sets both to the same instant, and whatever puts an mtime back (touch -d, a
    copy keeping times) or renames or chmods the file moves the ctime, so such a file is hashed
    again instead. (On Windows st_ctime is the creation time: files there are always hashed.)
    """

    sha256: str
    size: int
    mtime_ns: int

    def holds(self, path: Path) -> bool:
        return file_state(path) == (self.size, self.mtime_ns, self.mtime_ns)


def file_state(path: Path) -> tuple[int, int, int] | None:
    """Size, mtime and ctime: any write, rename or chmod changes one of them (None: unreadable).

    A rewrite of the same size within one tick of the file system's clock (a few ms) after the
    last write can keep all three: a file is written well before anyone converts it."""
    try:
        now = os.stat(path)
    except OSError:
        return None
    return now.st_size, now.st_mtime_ns, now.st_ctime_ns


def _convert(
    source: Path,
    output: Path,
    pair: str | None,
    pair_origin: PairOrigin,
    zone: ZoneChoice | None,
    context: dict | None,
    registry: MappingRegistry | None,
    hashing: _BackgroundHash | None,
    source_sha256: str | None,
    progress: Callable[[int, int], None] | None,
    cancel: threading.Event | None,
) -> ConversionResult:
    context = normalise_context(context)
    with open_source(source) as opened:
        output.parent.mkdir(parents=True, exist_ok=True)
        temporary = output.with_name(f".{output.name}.{os.getpid()}.partial")
        try:
            with h5py.File(temporary, "w", libver=("earliest", "v110")) as handle:
                lacking, choice = _write(
                    handle,
                    opened,
                    (registry, pair, pair_origin),
                    zone,
                    context,
                    hashing,
                    source_sha256,
                    progress,
                    cancel,
                )
            source_sha256 = source_sha256 or hashing.result()
            if cancel is not None and cancel.is_set():
                raise ConversionError(f"Conversion of {source.name} was cancelled.")
            os.replace(temporary, output)
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            if exc.errno == errno.ENOSPC:
                raise ConversionError(
                    f"Not enough disk space to write {output.name} in {output.parent}; "
                    "free some space and convert again (the source file is untouched)."
                ) from exc
            raise ConversionError(f"Cannot write {output}: {exc.strerror or exc}.") from exc
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        mapping = choice.mapping
        return ConversionResult(
            output=output,
            size=output.stat().st_size,
            source=source,
            source_sha256=source_sha256,
            flavour=opened.flavour,
            pair=mapping.id,
            frames=opened.frame_count,
            calibrated=opened.calibration.calibrated,
            lacking=tuple(lacking),
            warnings=choice.warnings,
        )


@dataclass(frozen=True)
class Anticipation:
    """What converting a file would give, without reading its frames (the upload dialog)."""

    source: Path
    flavour: str
    pair: str
    frames: int
    frame_shape: tuple[int, ...]
    calibrated: bool
    lacking: tuple[str, ...]
    warnings: tuple[str, ...] = ()


def anticipate(
    source: str | Path,
    *,
    pair: str | None = None,
    pair_origin: PairOrigin = PairOrigin.CHOSEN,
    zone: ZoneChoice | None = None,
    context: dict | None = None,
    registry: MappingRegistry | None = None,
) -> Anticipation:
    """Read the tags, apply the mapping and the context, and say what the NXem would lack.

    The same writers run against an in-memory file, minus the image, so the list cannot drift
    from what `convert` reports.
    """
    source = Path(source)
    registry = registry or default_registry()
    context = normalise_context(context)
    with open_source(source) as opened:
        choice = choose_mapping(registry, opened.flavour, pair, pair_origin)
        mapping = choice.mapping
        mapped = apply(mapping, opened.metadata, zone)
        lacking = [f"mapping {mapping.id}: {problem}" for problem in mapped.problems]
        values = without_scan_for_cameras(mapped.values)
        with h5py.File(io.BytesIO(), "w") as handle:
            w = EntryWriter(handle)
            write_header(w, values, context, lacking)
            write_sample(w, context["sample"], lacking)
            write_instrument(w, values, lacking)
        return Anticipation(
            source=source,
            flavour=opened.flavour,
            pair=mapping.id,
            frames=opened.frame_count,
            frame_shape=tuple(opened.frame_shape),
            calibrated=opened.calibration.calibrated,
            lacking=tuple(lacking),
            warnings=choice.warnings,
        )


class _BackgroundHash:
    """SHA-256 of the source on another thread while this one converts (hashlib and the reads
    release the GIL). `stop()` ends it early when the conversion fails."""

    def __init__(self, path: Path) -> None:
        self._digest: str | None = None
        self._error: BaseException | None = None
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(path,), daemon=True)
        self._thread.start()

    def _run(self, path: Path) -> None:
        try:
            self._digest = sha256_of(path, progress=self._check)
        except _Stopped:
            pass
        except BaseException as exc:  # noqa: BLE001 - handed to the caller in result()
            self._error = exc

    def _check(self, _count: int) -> None:
        if self._stopped.is_set():
            raise _Stopped

    def stop(self) -> None:
        self._stopped.set()

    def result(self) -> str:
        self._thread.join()
        if self._error is not None:
            raise ConversionError(f"Cannot read {self._error}") from self._error
        if self._digest is None:
            raise ConversionError("The source's SHA-256 was stopped before it was complete.")
        return self._digest


class _Stopped(Exception):
    pass


def _write(
    handle: h5py.File,
    opened: Any,  # TiffSource or NativeSource
    chosen: tuple[MappingRegistry | None, str | None, PairOrigin],
    zone: ZoneChoice | None,
    context: dict[str, dict[str, Any]],
    hashing: _BackgroundHash | None,
    known_sha256: str | None,
    progress: Callable[[int, int], None] | None,
    cancel: threading.Event | None,
) -> tuple[list[str], MappingChoice]:
    """The entry. The main image's bytes start copying first (image_data.start_copy), the
    mappings are read and the metadata written meanwhile, the checksums last (the hash)."""
    w = EntryWriter(handle)
    try:
        start_copy(w, f"{EVENT}/image1", opened, progress, cancel)
        registry, pair, pair_origin = chosen
        choice = choose_mapping(registry or default_registry(), opened.flavour, pair, pair_origin)
        lacking: list[str] = []
        mapping = choice.mapping
        mapped = apply(mapping, opened.metadata, zone)
        lacking += [f"mapping {mapping.id}: {problem}" for problem in mapped.problems]
        values = without_scan_for_cameras(mapped.values)
        write_header(w, values, context, lacking)
        images = (opened, *opened.extra_images)
        paths = [f"{EVENT}/image{number}" for number in range(1, len(images) + 1)]
        for path, image in zip(paths, images, strict=True):
            write_image(w, path, image, mapping, progress, cancel)
        w.attr(w.group("measurement"), "default", "event1")
        w.attr(w.group(EVENT), "default", "image1")
        for number, (path, image) in enumerate(zip(paths, images, strict=True), start=1):
            detector = "detector1" if number == 1 else image.label or f"image {number}"
            write_provenance(w, path, image, detector)
            write_image_notes(w, path, image)
        write_sample(w, context["sample"], lacking)
        write_source_notes(w, opened, context)
        write_mapping_note(w, choice)
        write_time_note(w, mapped)
        write_conventions(w)
        write_instrument(w, values, lacking)
        write_checksums(w, paths, known_sha256 or hashing.result())
    except BaseException:
        w.finish(raising=False)  # no copy may still write into a file about to be removed
        raise
    w.finish()  # the frame copies end before the file closes
    return lacking, choice
