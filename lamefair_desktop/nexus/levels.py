"""Robust black and white levels of an image (no Qt): the preview's Auto levels and the
thumbnails written at conversion stretch an image the same way.

Percentiles, not the extremes: a few hot pixels or a burnt-in data bar must not black out a 16-bit
image (an FEI image opened from its `.nxs` showed black with its dtype's range).
"""

from __future__ import annotations

import numpy as np

LEVEL_PERCENTILES = (0.1, 99.9)  # auto-levels ignore the darkest and brightest 0.1 % (hot pixels)


def robust_levels(frame: np.ndarray) -> tuple[tuple[float, float] | None, float | None]:
    """(black, white) levels from percentiles of a subsample (at most ~512 × 512 pixels), and the
    value of a uniform frame (None otherwise): a blank image is said to be blank, not just black.

    Runs on a worker: a large frame's percentiles take tens of milliseconds."""
    shown = frame.astype(np.float32) if frame.dtype.kind == "b" else frame
    sample = shown[:: max(1, shown.shape[0] // 512), :: max(1, shown.shape[1] // 512)]
    finite = sample[np.isfinite(sample)]
    if finite.size == 0:
        return None, None
    low, high = np.percentile(finite, LEVEL_PERCENTILES)
    if high > low:
        return (float(low), float(high)), None
    whole = shown[np.isfinite(shown)] if shown.dtype.kind == "f" else shown
    lowest, highest = float(np.min(whole)), float(np.max(whole))
    if lowest == highest:
        # Nothing to stretch: shown on the type's own scale (a blank 0 is black, 255 of a byte
        # white), and the title says the image is blank.
        if shown.dtype.kind in "ui":
            limits = np.iinfo(shown.dtype)
            return (float(limits.min), float(limits.max)), lowest
        return (lowest - 1.0, lowest + 1.0), lowest
    return (lowest, highest), None  # nearly uniform: a few pixels differ from the rest
