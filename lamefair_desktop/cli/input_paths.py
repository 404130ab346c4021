"""File arguments as people type them: files, folders and glob patterns (no Qt).

Windows shells hand `*.tif` to the program unexpanded, so the commands expand patterns
themselves (`**` reaches into sub-folders). A folder stands for the supported files under it,
sub-folders included: a microscope session is usually one folder per sample or per day, and the
output keeps that layout (`relative`), so `a/img.tif` and `b/img.tif` stay apart.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

NEXUS_SUFFIXES = (".nxs", ".nx5", ".h5", ".hdf5")


class InputError(ValueError):
    """An argument that names nothing usable; the message says which."""


@dataclass(frozen=True)
class InputFile:
    path: Path
    relative: Path  # where it sits under the folder it came from (its name alone otherwise)


def _is_pattern(text: str) -> bool:
    return any(char in text for char in "*?[")


def _folder_files(folder: Path, suffixes: tuple[str, ...]) -> list[InputFile]:
    found = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
    return [InputFile(p, p.relative_to(folder)) for p in found]


def expand(arguments: list[str | Path], suffixes: tuple[str, ...]) -> list[InputFile]:
    """Every file the arguments name, in order, each once. A file named explicitly is taken
    whatever its suffix (the reader then says what it is); folders keep `suffixes` only."""
    files: list[InputFile] = []
    for argument in arguments:
        text = str(argument)
        path = Path(text)
        if path.is_dir():
            found = _folder_files(path, suffixes)
            if not found:
                raise InputError(f"{text}: the folder holds no {'/'.join(suffixes)} files.")
            files += found
        elif not path.exists() and _is_pattern(text):
            matches = sorted(glob.glob(text, recursive=True))
            if not matches:
                raise InputError(f"{text}: no file matches this pattern.")
            before = len(files)
            for match in map(Path, matches):
                if match.is_dir():
                    files += _folder_files(match, suffixes)
                elif match.suffix.lower() in suffixes:
                    files.append(InputFile(match, Path(match.name)))
            if len(files) == before:
                raise InputError(f"{text}: nothing that matches is a {'/'.join(suffixes)} file.")
        else:  # a file, or a name that does not exist (the command says so for that file)
            files.append(InputFile(path, Path(path.name)))
    seen: set[Path] = set()
    unique = []
    for item in files:
        key = item.path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique
