"""The NXem entry's own sections: header (definition, times, experiment, program, project,
operator), sample, and the instrument fields a mapping filled, honouring NXem's conditional
requirements (a group is written only when what the validator then requires is known).

`EntryWriter` creates groups with their NeXus class from `targets.GROUP_CLASSES`, so no group of
an unknown class (which would make the entry invalid) can appear.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import h5py
import numpy as np
from h5py import h5a, h5d, h5g, h5p, h5s, h5t

from lamefair_desktop import __version__
from lamefair_desktop.nexus.targets import GROUP_CLASSES, GROUP_REQUIREMENTS, TARGETS, UNKNOWN

ENTRY = "entry1"


def iso_datetime(value: Any) -> str | None:
    """NX_DATE_TIME text from a catalog value (ISO strings, dates become midnight UTC)."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return f"{value.isoformat()}T00:00:00+00:00"
    text = str(value)
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        return f"{text}T00:00:00+00:00"
    return text.replace("Z", "+00:00")


class EntryWriter:
    """Groups (with their NeXus class), fields and attributes of one entry.

    Objects are made through h5py's low-level API with property lists made once per writer and
    groups looked up once: h5py's high-level calls allocate several property lists, dataspaces
    and name lookups per object (about 0.3 ms each, ~150 objects per entry, which made the
    metadata cost more than copying a 32 MiB image). The objects are those h5py's
    `create_group`/`create_dataset`/`attrs[...]` make (same types, no timestamps), so the bytes
    stay deterministic; values of other types go through h5py's high-level calls.
    """

    def __init__(self, handle: h5py.File) -> None:
        self.file = handle
        self._lcpl = h5p.create(h5p.LINK_CREATE)
        self._lcpl.set_create_intermediate_group(True)
        self._lcpl.set_char_encoding(h5t.CSET_ASCII)
        self._gcpl = h5p.create(h5p.GROUP_CREATE)
        self._gcpl.set_obj_track_times(False)
        self._dcpl = h5p.create(h5p.DATASET_CREATE)
        self._dcpl.set_obj_track_times(False)
        self._scalar = h5s.create(h5s.SCALAR)
        self._types: dict[np.dtype, tuple[h5t.TypeID, h5t.TypeID]] = {}
        self._groups: dict[str, h5py.Group] = {}
        self._pending: list[Any] = []  # frame copies running on threads (frame_copy.FrameCopy)
        self.entry = self.group(ENTRY, "NXentry", root=True)

    def allocated_dataset(
        self, parent: h5py.Group, name: str, shape: tuple[int, ...], dtype: np.dtype
    ) -> h5py.Dataset:
        """A contiguous dataset whose space is allocated now and never filled: its bytes are
        written into the file at `dataset.id.get_offset()` by someone else (frame_copy)."""
        dcpl = h5p.create(h5p.DATASET_CREATE)
        dcpl.set_obj_track_times(False)
        dcpl.set_layout(h5d.CONTIGUOUS)
        dcpl.set_alloc_time(h5d.ALLOC_TIME_EARLY)
        dcpl.set_fill_time(h5d.FILL_TIME_NEVER)
        space = h5s.create_simple(shape)
        file_type = self._type(np.dtype(dtype))[0]
        return h5py.Dataset(h5d.create(parent.id, _name(name), file_type, space, dcpl=dcpl))

    def defer(self, work: Any) -> None:
        """Work on another thread that must end before the file is closed (`finish`)."""
        self._pending.append(work)

    def finish(self, *, raising: bool = True) -> None:
        """Wait for every deferred work, then raise the first error any of them met (`raising`;
        when the entry failed already, its own error is the one to tell)."""
        error = None
        for work in self._pending:
            try:
                work.join()
            except BaseException as exc:  # noqa: BLE001 - every copy ends before one is raised
                error = error or exc
        self._pending.clear()
        if error is not None and raising:
            raise error

    def group(self, path: str, nx_class: str | None = None, *, root: bool = False) -> h5py.Group:
        key = f"/{path}" if root else path
        found = self._groups.get(key)
        if found is not None:
            return found
        parent_path, _, name = path.rpartition("/")
        if parent_path:
            parent = self.group(parent_path, root=root)
        else:
            parent = self.file if root else self.entry
        if name in parent:
            group = parent[name]
        else:
            cls = nx_class or GROUP_CLASSES.get(path)
            if cls is None:
                raise AssertionError(f"no NeXus class known for group {path}")
            group = h5py.Group(h5g.create(parent.id, _name(name), lcpl=self._lcpl, gcpl=self._gcpl))
            self.attr(group, "NX_class", cls)
        self._groups[key] = group
        return group

    def field(self, path: str, value: Any, **attrs: Any) -> None:
        """Dataset `path` (below the entry) holding `value`, with attributes `attrs`."""
        parent_path, _, name = path.rpartition("/")
        parent = self.group(parent_path) if parent_path else self.entry
        if isinstance(value, str):
            value = np.bytes_(value.encode("utf-8")) if not value.isascii() else value
        array = _plain_array(value)
        if array is None:
            dataset = parent.create_dataset(name, data=value).id
        else:
            space = self._scalar if array.shape == () else h5s.create_simple(array.shape)
            file_type = self._type(array.dtype)[0]
            dataset = h5d.create(parent.id, _name(name), file_type, space, dcpl=self._dcpl)
            dataset.write(h5s.ALL, h5s.ALL, array)
        for key, item in attrs.items():
            self.attr(dataset, key, item)

    def attr(self, target: Any, name: str, value: Any) -> None:
        """Set attribute `name` of `target` (an h5py object or low-level id), new or replaced."""
        high_level = hasattr(target, "attrs")
        owner = target.id if high_level else target
        array = _plain_array(value)
        if array is None or h5a.exists(owner, _name(name)):
            (target if high_level else h5py.Dataset(target)).attrs[name] = value
            return
        logical, memory = self._type(array.dtype)
        space = self._scalar if array.shape == () else h5s.create_simple(array.shape)
        attribute = h5a.create(owner, _name(name), logical, space)
        try:
            attribute.write(array, mtype=memory)
        finally:
            attribute.close()

    def _type(self, dtype: np.dtype) -> tuple[h5t.TypeID, h5t.TypeID]:
        """HDF5 file type and memory type for `dtype`, as h5py derives them."""
        known = self._types.get(dtype)
        if known is None:
            known = self._types[dtype] = (h5t.py_create(dtype, logical=True), h5t.py_create(dtype))
        return known


_TEXT = h5py.string_dtype()  # what h5py makes of a Python str: variable-length UTF-8


def _name(name: str) -> bytes:
    return name.encode("ascii")  # every name lamefair writes is ASCII (the lcpl says so)


def _plain_array(value: Any) -> np.ndarray | None:
    """`value` as the array h5py would store for it, for text and numbers; None for the rest."""
    if isinstance(value, str):
        return np.array(value, dtype=_TEXT)
    if isinstance(value, bool | int | float | np.generic | np.ndarray):
        array = np.asarray(value)
        if array.dtype.kind in "biufS" and array.flags.c_contiguous:
            return array
    return None


def write_header(
    w: EntryWriter, values: dict[str, Any], context: dict[str, dict[str, Any]], lacking: list[str]
) -> None:
    """The entry's own fields: definition, times, experiment, program, project, operator."""
    handle = w.file
    project = context["project"]
    experiment, measurement = context["experiment"], context["measurement"]

    w.attr(handle, "default", ENTRY)
    entry = w.entry
    w.attr(entry, "default", "measurement")
    w.field("definition", "NXem")

    start = iso_datetime(experiment.get("start_time")) or values.get("event.start_time")
    if start:
        w.field("start_time", start)
    else:
        lacking.append("start_time: give the experiment a start time in the catalog")
    end = iso_datetime(experiment.get("end_time")) or values.get("event.end_time")
    if end:
        w.field("end_time", end)
    if experiment.get("name"):
        w.field("experiment_alias", str(experiment["name"]))
    description = "\n\n".join(
        str(x) for x in (experiment.get("description"), measurement.get("description")) if x
    )
    if description:
        w.field("experiment_description", description)
    if experiment.get("id"):
        w.field("identifier_experiment", str(experiment["id"]))
    w.group("profiling", "NXcs_profiling")
    w.group("profiling/program1", "NXprogram")
    w.field("profiling/program1/program", "lamefair", version=__version__)
    if project.get("name"):
        w.group("project", "NXproject")
        w.field("project/name", str(project["name"]))

    operator = measurement.get("operator")
    if operator:
        w.group("user1", "NXuser")
        w.field("user1/name", str(operator))
        w.field("user1/role", "operator")
    else:
        lacking.append("operator: name the operator of the measurement")


def write_sample(w: EntryWriter, sample: dict[str, Any], lacking: list[str]) -> None:
    w.group("sample", "NXsample")
    if sample.get("name"):
        w.field("sample/name", str(sample["name"]))
    identifier = sample.get("identifier")
    if identifier:
        w.field("sample/identifier_sample", str(identifier), type="lab", type_custom=True)
    elif sample.get("id"):
        w.field("sample/identifier_sample", f"urn:uuid:{sample['id']}", type="URN")
    is_simulation = sample.get("is_simulation")
    if is_simulation is None:
        lacking.append("sample.is_simulation: state whether the sample is a simulation")
    else:
        w.field("sample/is_simulation", bool(is_simulation))
    preparation = iso_datetime(sample.get("preparation_date"))
    if preparation:
        w.field("sample/preparation_date", preparation)
    else:
        lacking.append("sample.preparation_date: give the sample's preparation date")
    atoms = sample.get("atom_types")
    if atoms:
        w.field("sample/atom_types", ", ".join(atoms) if isinstance(atoms, list) else str(atoms))
    else:
        lacking.append("sample.atom_types: list the sample's chemical elements")
    if sample.get("physical_form"):
        w.field("sample/physical_form", str(sample["physical_form"]))
    if sample.get("description"):
        w.field("sample/description", str(sample["description"]))


def write_instrument(w: EntryWriter, values: dict[str, Any], lacking: list[str]) -> None:
    """Mapped targets, group by group, honouring NXem's conditional requirements."""
    values = dict(values)
    for name in ("instrument.vendor", "instrument.model"):
        if name not in values:
            values[name] = UNKNOWN
            lacking.append(f"{name}: not recorded in the file; choose an instrument pair")
    kind = values.get("instrument.type")
    if kind is not None:
        allowed = TARGETS["instrument.type"].choices
        if str(kind).lower() in allowed:
            values["instrument.type"] = str(kind).lower()
        else:
            del values["instrument.type"]
            lacking.append(f"instrument.type: {kind!r} is not one of {', '.join(allowed)}")
    blocked: set[str] = set()
    for group, needed in GROUP_REQUIREMENTS.items():
        missing = [name for name in needed if name not in values]
        if missing:
            blocked.add(group)
            if any(TARGETS[n].path.startswith(group) for n in values if n not in needed) or (
                set(needed) - set(missing)
            ):
                lacking.append(f"{group}: not written, the mapping gives no {', '.join(missing)}")

    position: dict[int, float] = {}
    stage_path = "measurement/event1/instrument/stage"
    for name in sorted(values):
        target = TARGETS[name]
        if any(target.path.startswith(group + "/") for group in blocked):
            continue
        if target.path.startswith(stage_path + "/position["):
            position[int(target.path[-2])] = values[name]
            continue
        if "@" in target.path:
            continue  # attributes are set below, once their field exists
        attrs = {"units": target.unit} if target.unit else {}
        w.field(target.path, _typed(values[name], target.kind), **attrs)
    for name in sorted(values):
        target = TARGETS[name]
        if "@" not in target.path or any(target.path.startswith(g + "/") for g in blocked):
            continue
        field_path, _, attribute = target.path.partition("@")
        w.attr(w.entry[field_path], attribute, _typed(values[name], target.kind))
    w.group("measurement/instrument/ebeam_column")  # NXem requires the column group
    if position and stage_path not in blocked:
        w.field(f"{stage_path}/position", np.array([position[i] for i in range(3)]), units="m")
    if "event.voltage" not in values:
        lacking.append("event.voltage: the accelerating voltage is unknown")


def _typed(value: Any, kind: str) -> Any:
    if kind == "float":
        return float(value)
    if kind == "int":
        return int(value)
    if kind == "bool":
        return bool(value)
    return str(value)
