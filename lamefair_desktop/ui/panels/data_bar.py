"""The vendor's data bar (FEI / Thermo Fisher xT burns one below the image): hidden by default,
shown below the image on request.

The image region is where the header says the image ends (`[Image] ResolutionY`, or the height
less `[PrivateFei] DatabarHeight`); the readers already return only that region and keep the bar
apart (`Preview.databar()`: the raw TIFF's rows below, or the NeXus entry's `databar` note), so
measuring, levels and the scale never see it. Shown, it is stacked under the frame for the eye
only (and for an exported view); the tools still measure the image.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QPushButton

NO_BAR = "This file has no data bar below its image."


def stacked(frame: np.ndarray, bar: np.ndarray) -> np.ndarray:
    """The frame with the bar below it, the bar brought to the frame's type and channels."""
    if frame.ndim == 3 and bar.ndim == 2:
        bar = np.repeat(bar[..., None], frame.shape[2], axis=2)
    elif frame.ndim == 2 and bar.ndim == 3:
        bar = bar[..., :3].mean(axis=2)
    elif frame.ndim == 3 and bar.shape[2] != frame.shape[2]:
        bar = bar[..., : frame.shape[2]]
    if bar.shape[1] != frame.shape[1]:
        return frame  # not this image's bar: better not shown than shown askew
    if frame.dtype.kind == "b":
        frame = frame.astype(np.uint8)
    return np.concatenate([frame, bar.astype(frame.dtype)], axis=0)


class DataBarToggle:
    """The "Data bar" button; `shown(frame)` is what the view displays."""

    def __init__(self) -> None:
        self.bar: np.ndarray | None = None
        self.button = QPushButton("Data bar")
        self.button.setCheckable(True)
        self.set_bar(None)

    def set_bar(self, bar: np.ndarray | None) -> None:
        self.bar = bar
        self.button.blockSignals(True)
        self.button.setChecked(False)  # every file opens with its image region only
        self.button.blockSignals(False)
        self.button.setEnabled(bar is not None)
        if bar is None:
            self.button.setToolTip(NO_BAR)
        else:
            self.button.setToolTip(
                f"Show the instrument's data bar ({bar.shape[0]} rows) below the image; it is "
                "hidden by default, as it is not part of the sample's image"
            )

    @property
    def on(self) -> bool:
        return self.bar is not None and self.button.isChecked()

    def shown(self, frame: np.ndarray) -> np.ndarray:
        return stacked(frame, self.bar) if self.on else frame
