"""Naming rules shared by the catalog server and the desktop client (pure Python, no server deps).

The desktop may import this module (and only this one) from `lamefair_catalog` to check names and
dropped paths before it talks to the server; the server enforces the same rules.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import unicodedata
from pathlib import Path, PurePosixPath

MAX_PATH_LENGTH = 1024  # S3 keys are at most 1024 bytes; our prefix takes part of it
MAX_SEGMENT_LENGTH = 255  # what common file systems accept for one name
RESERVED_TOP_LEVEL_NAMES = frozenset({"readme.txt"})  # lamefair writes its context file there

# Text lengths, in characters. The catalog's columns (database/models.py) and its API
# (schemas/fields.py) both use these, so the API never accepts what a PostgreSQL varchar column
# would refuse with an error.
NAME_LENGTH = 200  # names of things and people, sample identifiers, usernames, group names
NUMBER_LENGTH = 100  # proposal numbers
TITLE_LENGTH = 500  # proposal titles
FORM_LENGTH = 100  # a sample's physical form ("powder", "thin film on Si")
LONG_TEXT_LENGTH = 20_000  # descriptions (text columns: the API's limit is the only one)
REPORT_LENGTH = 200_000  # validation reports of derived files
INSTRUMENT_PAIR_LENGTH = 64

# Characters refused in text: C0 and C1 controls (PostgreSQL stores no NUL at all, terminals act on
# escapes) and the bidirectional overrides and isolates, which make text display in another order
# than it is stored ("evil\u202egnp.exe" shows as "evilexe.png"). Multi-line text keeps tab,
# newline and carriage return.
_BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069"
_REFUSED_IN_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI_CONTROLS}]")
_REFUSED_IN_TEXT = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI_CONTROLS}]")

# The 118 element symbols: atom_types must be among them (NXem stores them as a list).
# By period, in order of atomic number (periods 6 and 7 on two lines each).
_PERIODIC_TABLE = """
H He
Li Be B C N O F Ne
Na Mg Al Si P S Cl Ar
K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br Kr
Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe
Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb Lu
Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn
Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf Es Fm Md No Lr
Rf Db Sg Bh Hs Mt Ds Rg Cn Nh Fl Mc Lv Ts Og
"""
ELEMENT_SYMBOLS = frozenset(_PERIODIC_TABLE.split())


class InvalidName(ValueError):
    """A name or path breaks a rule; the message names it and says what is allowed."""


class PathRefused(InvalidName):
    """A path of a list is refused; `index` is its place, `paths` the path(s) at fault."""

    def __init__(self, message: str, *, index: int, paths: tuple[str, ...]) -> None:
        super().__init__(message)
        self.index = index
        self.paths = paths


def refused_character(text: str, *, multi_line: bool = False) -> str | None:
    """A description of the first character `text` may not hold ("U+0000 at position 3"), or None."""
    found = (_REFUSED_IN_TEXT if multi_line else _REFUSED_IN_LINE).search(text)
    if found is None:
        return None
    return f"U+{ord(found.group()):04X} at position {found.start() + 1}"


def check_text(text: str, *, multi_line: bool = False) -> str:
    """`text` unchanged, or InvalidName saying which control character it holds and where."""
    where = refused_character(text, multi_line=multi_line)
    if where is not None:
        allowed = " (tab and line breaks are fine)" if multi_line else ""
        raise InvalidName(
            f"contains a control or text-direction character ({where}); remove it{allowed}."
        )
    return text


def slugify(text: str, max_length: int = 40) -> str:
    """A lowercase [a-z0-9-] form of `text`: accents dropped, every other run of characters a dash.

    Text with nothing usable (say, only CJK characters) gets a stable hash-based slug, so every name
    yields one safe path segment.
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if not slug:
        slug = "x" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]
    return slug[:max_length].rstrip("-")


def bucket_name(prefix: str, project_slug: str, proposal_number: str) -> str:
    """Deterministic S3 bucket name for a proposal, valid under S3 naming rules (3-63 chars).

    `<prefix>-<project>-<number>-<8 hex of sha1>`: the hash of the full identity keeps names unique
    even when the readable parts are truncated or two numbers slugify alike.
    """
    digest = hashlib.sha1(f"{project_slug}\n{proposal_number}".encode()).hexdigest()[:8]
    prefix = slugify(prefix, 20) or "lame"
    room = 63 - len(prefix) - len(digest) - 3  # three dashes
    number = slugify(proposal_number, 63)
    project_part = project_slug[: max(1, room // 2)].rstrip("-") or "p"
    number_part = number[: max(1, room - len(project_part))].rstrip("-") or "n"
    name = f"{prefix}-{project_part}-{number_part}-{digest}"
    assert is_valid_bucket_name(name), name
    return name


def is_valid_bucket_name(name: str) -> bool:
    return (
        3 <= len(name) <= 63
        and re.fullmatch(r"[a-z0-9][a-z0-9.-]*[a-z0-9]", name) is not None
        and ".." not in name
        and re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name) is None
        and not name.startswith("xn--")
    )


def sanitize_relative_path(path: str, *, reserved_names: bool = True) -> str:
    """The normal form of a dropped file's relative path, or InvalidName saying what is wrong.

    Backslashes are separators (Windows drops), the result is NFC-normalised (macOS file systems
    hand out NFD), and nothing may escape the measurement's folder. `reserved_names=False` lets
    the top-level names lamefair writes itself through: a download saving the catalog's own
    README.txt (the reservation keeps a user's file from replacing it in an upload).
    """
    if not isinstance(path, str) or not path.strip():
        raise InvalidName("The file path is empty.")
    text = unicodedata.normalize("NFC", path.replace("\\", "/"))
    if refused_character(text) is not None:
        raise InvalidName(
            f"The file path {path!r} contains a control or text-direction character "
            f"({refused_character(text)}); rename the file."
        )
    if text.startswith("/") or re.match(r"^[A-Za-z]:", text):
        raise InvalidName(
            f"The file path {path!r} is absolute; give the path relative to the dropped folder."
        )
    parts = [part for part in text.split("/") if part not in ("", ".")]
    if any(part == ".." for part in parts):
        raise InvalidName(f"The file path {path!r} contains '..'; it must stay inside its folder.")
    if not parts:
        raise InvalidName(f"The file path {path!r} names no file.")
    for part in parts:
        if len(part.encode("utf-8")) > MAX_SEGMENT_LENGTH:
            raise InvalidName(
                f"The name {part[:40]!r}... in {path!r} is longer than {MAX_SEGMENT_LENGTH} bytes."
            )
        if part != part.strip():
            raise InvalidName(f"The name {part!r} in {path!r} starts or ends with a space.")
    clean = str(PurePosixPath(*parts))
    if len(clean.encode("utf-8")) > MAX_PATH_LENGTH - 200:
        raise InvalidName(f"The file path {path[:60]!r}... is too long for object storage.")
    if reserved_names and len(parts) == 1 and clean.lower() in RESERVED_TOP_LEVEL_NAMES:
        raise InvalidName(
            f"{clean!r} at the top of a measurement is reserved for lamefair's context file; "
            "put it in a sub-folder or rename it."
        )
    return clean


def sanitize_path_set(paths: list[str]) -> list[str]:
    """The normal forms of one measurement's file paths, or PathRefused for the first problem.

    Each path must pass sanitize_relative_path, and together they must fit in one folder
    (check_path_set). The server and the desktop both call this, so a drop the desktop accepts is
    one the server accepts.
    """
    clean = []
    for index, path in enumerate(paths):
        try:
            clean.append(sanitize_relative_path(path))
        except InvalidName as exc:
            raise PathRefused(str(exc), index=index, paths=(path,)) from None
    check_path_set(clean)
    return clean


def check_path_set(paths: list[str]) -> None:
    """PathRefused if two sanitised paths of one measurement cannot both exist in a folder."""
    together = PathSet()
    for path in paths:
        together.add(path)


class PathSet:
    """Sanitised paths that can all exist in one folder, on every system; `add` refuses a clash.

    Refused: the same path twice; a file that is also another file's folder (`dir` and
    `dir/file.bin`: a download could not create both); names that differ only in case (`A.tif` and
    `a.tif`, or folders `Dir/x` and `dir/y`), which are one name on Windows and macOS.
    """

    def __init__(self) -> None:
        self._seen: dict[str, tuple[str, str, bool]] = {}  # folded prefix -> prefix, path, file?
        self._count = 0

    def add(self, path: str) -> None:
        index, parts = self._count, path.split("/")
        fresh = {}  # kept only if the whole path fits: a refused path leaves no trace
        for depth in range(1, len(parts) + 1):
            prefix, is_file = "/".join(parts[:depth]), depth == len(parts)
            earlier = self._seen.get(prefix.lower())
            if earlier is None:
                fresh[prefix.lower()] = (prefix, path, is_file)
                continue
            first_prefix, first_path, first_is_file = earlier
            if first_prefix == prefix and not (is_file or first_is_file):
                continue  # the same folder again
            if first_prefix != prefix:
                folders = (first_prefix, prefix) != (first_path, path)
                names = f" ({first_prefix!r} and {prefix!r})" if folders else ""
                problem = (
                    f"{first_path!r} and {path!r} differ only in upper/lower case{names}; "
                    "Windows and macOS treat them as one name. Rename one of them."
                )
            elif is_file and first_is_file:
                problem = f"The file path {path!r} appears twice in this measurement."
            else:
                file, inside = (path, first_path) if is_file else (first_path, path)
                problem = (
                    f"{file!r} is a file, but {inside!r} needs a folder of that name; a download "
                    "could not create both. Rename one of them."
                )
            raise PathRefused(problem, index=index, paths=(first_path, path))
        self._seen.update(fresh)
        self._count += 1


def validate_atom_types(symbols: list[str]) -> list[str]:
    """Element symbols, de-duplicated in the order given; InvalidName names the unknown ones."""
    unknown = [symbol for symbol in symbols if symbol not in ELEMENT_SYMBOLS]
    if unknown:
        raise InvalidName(
            f"Unknown chemical element symbol(s): {', '.join(map(repr, unknown))}. "
            "Use symbols such as 'Fe', 'O', 'Si' (case matters)."
        )
    return list(dict.fromkeys(symbols))


def derived_key(raw_key: str) -> str:
    """Key of the NXem file derived from a raw file: same key, extension `.nxs`."""
    path = PurePosixPath(raw_key)
    return str(path.with_suffix(".nxs")) if path.suffix else raw_key + ".nxs"


def set_aside_if_large(path: Path, max_bytes: int) -> None:
    """Before a process starts appending its raw output to `path`: past `max_bytes`, the file
    becomes `path.1` (the previous `.1` is dropped), so a log that only rotates at start stays
    bounded at about twice the limit. For outputs a logging handler cannot rotate (a child's
    stdout, the start-up lines before logging is set up)."""
    try:
        if path.stat().st_size > max_bytes:
            os.replace(path, path.with_name(path.name + ".1"))
    except FileNotFoundError:
        pass


# --- data shipped with the distribution -------------------------------------------------------


def data_root() -> Path:
    """Folder holding `mappings/` and `resources/`, in a checkout, a wheel or a frozen build.

    - Frozen (PyInstaller): the spec copies both folders to the bundle root (`sys._MEIPASS`).
    - Wheel: hatch force-includes them as `lamefair_desktop/_data/` (see pyproject.toml); both
      import packages are installed side by side, so the folder is found without importing code.
    - Source checkout / editable install: the folders at the top of the repository.
    Never relative to the current directory: the programs are started from anywhere.
    """
    frozen_root = getattr(sys, "_MEIPASS", None)
    if frozen_root:
        return Path(frozen_root)
    site = Path(__file__).resolve().parent.parent
    packaged = site / "lamefair_desktop" / "_data"
    if packaged.is_dir():
        return packaged
    return site


def mappings_dir() -> Path:
    return data_root() / "mappings"


GENERIC_PAIR = "generic"


def known_instrument_pairs() -> frozenset[str]:
    """Ids of the instrument mappings shipped in `mappings/`, plus `generic`."""
    ids = {GENERIC_PAIR}
    for path in sorted(mappings_dir().glob("*.json")):
        if path.name.endswith(".schema.json"):
            continue
        try:
            ids.add(json.loads(path.read_text(encoding="utf-8"))["id"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # the desktop's mapping loader reports broken files with details
    return frozenset(ids)
