"""The file formats lamefair converts to NXem, named once: the CLI, the upload and watch paths,
the conversion queue, the window's Open dialog and the bucket browser all take their suffixes
from here (this module imports nothing heavy: the CLI and the window import it at start-up);
`sources.open_source` picks the reader by suffix.

- TIFF (every vendor flavour) is read with tifffile (BSD).
- Gatan DigitalMicrograph (.dm3, .dm4) and Velox/Berkeley EMD (.emd) are read with rosettasciio,
  which is GPL-3: an optional extra (`lamefair[tem-formats]`), imported only when such a file is
  opened, so that the MIT core never needs it (README, "Supported formats").
"""

from __future__ import annotations

from pathlib import Path

TIFF_SUFFIXES = (".tif", ".tiff")
DM_SUFFIXES = (".dm3", ".dm4")
EMD_SUFFIXES = (".emd",)
NATIVE_SUFFIXES = DM_SUFFIXES + EMD_SUFFIXES
# What converts to NXem (uploads queue a conversion for these; folders given to the CLI are
# searched for these).
CONVERTIBLE_SUFFIXES = TIFF_SUFFIXES + NATIVE_SUFFIXES
NEXUS_SUFFIXES = (".nxs", ".nx5", ".h5", ".hdf5")
PREVIEWABLE_SUFFIXES = CONVERTIBLE_SUFFIXES + NEXUS_SUFFIXES
OPEN_FILTER = (
    "Microscope images ("
    + " ".join(f"*{suffix}" for suffix in PREVIEWABLE_SUFFIXES)
    + ");;All files (*)"
)


def is_native(path: str | Path) -> bool:
    """Whether the file is one of the microscope-native formats read by rosettasciio."""
    return Path(path).suffix.lower() in NATIVE_SUFFIXES
