"""Write small Thermo Fisher Velox EMD files for tests: no real ones are shared.

Velox EMD is HDF5: `Version` holds JSON text (`{"format": "Velox", "version": ...}`);
each image (or stack) is a group `Data/Image/<uuid>` with `Data` stored (rows, columns, frames)
and `Metadata`, the acquisition's JSON encoded as uint8 codes in a (length, frames) array, one
column per frame, padded with zeros. That is the layout rosettasciio's reader expects (and what
Velox writes); the metadata blocks follow Velox's names (Optics, Instrument, Scan, Stage,
BinaryResult, Detectors, Acquisition).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import h5py
import numpy as np

START_UNIX = 1_780_000_000  # 2026-05-28T20:26:40Z


def velox_metadata(
    *,
    pixel: float,
    detector: str,
    dwell: float | None = 2e-6,
    voltage: float = 200000.0,
) -> dict[str, Any]:
    """The JSON Velox writes for an image (values as text, SI units, as Velox does)."""
    scan = {"FrameTime": "1.5", "ScanSize": {"width": "64", "height": "48"}}
    if dwell is not None:
        scan["DwellTime"] = repr(dwell)
    return {
        "Acquisition": {"AcquisitionStartDatetime": {"DateTime": str(START_UNIX)}},
        "BinaryResult": {
            "AcquisitionUnit": "",
            "Detector": detector,
            "DetectorIndex": "0",
            "Offset": {"x": "0", "y": "0"},
            "PixelSize": {"width": repr(pixel), "height": repr(pixel)},
            "PixelUnitX": "m",
            "PixelUnitY": "m",
        },
        "Detectors": {"Detector-0": {"DetectorName": detector, "DetectorType": "ScanningDetector"}},
        "Instrument": {
            "ControlSoftwareVersion": "1.15.4",
            "InstrumentClass": "Talos",
            "InstrumentId": "3820",
            "InstrumentModel": "Talos F200X",
            "Manufacturer": "FEI Company",
        },
        "Optics": {
            "AccelerationVoltage": repr(voltage),
            "CameraLength": "0.098",
            "ProbeMode": "2",
        },
        "Scan": scan,
        "Stage": {
            "AlphaTilt": "0.0174533",
            "BetaTilt": "0",
            "Position": {"x": "1e-05", "y": "-2e-05", "z": "3e-07"},
        },
    }


def _encoded(metadata: dict[str, Any], frames: int) -> np.ndarray:
    codes = np.frombuffer(json.dumps(metadata).encode("utf-8"), np.uint8)
    column = np.zeros(len(codes) + 16, np.uint8)  # Velox pads the text with zeros
    column[: len(codes)] = codes
    return np.repeat(column[:, None], frames, axis=1)


def write_velox(
    path: Path, images: list[tuple[np.ndarray, dict[str, Any]]], spectrum_image: bool = False
) -> Path:
    """Write `images`, each (frames, rows, columns) or (rows, columns) with its metadata; with
    `spectrum_image`, also an EDS spectrum image (Velox's packed event stream: a uint16 column of
    channel numbers with 65535 closing each pixel, its settings JSON), as an SI acquisition
    writes it next to the HAADF images recorded with it."""
    with h5py.File(path, "w") as handle:
        handle["Version"] = np.array([json.dumps({"format": "Velox", "version": 11}).encode()])
        group = handle.create_group("Data/Image")
        for index, (data, metadata) in enumerate(images):
            stack = data if data.ndim == 3 else data[None]
            sub = group.create_group(uuid.UUID(int=index + 1).hex)
            stored = np.ascontiguousarray(np.moveaxis(stack, 0, -1))  # (rows, columns, frames)
            chunks = (*stored.shape[:2], 1)
            sub.create_dataset("Data", data=stored, chunks=chunks)
            sub["Metadata"] = _encoded(metadata, stack.shape[0])
        if spectrum_image:
            rows, columns = images[0][0].shape[-2:]
            events = np.tile(np.array([120, 340, 65535], np.uint16), rows * columns)
            si = handle.create_group(f"Data/SpectrumImage/{uuid.UUID(int=99).hex}")
            si["Data"] = events[:, None]
            si["Metadata"] = _encoded(images[0][1], 1)
            settings = json.dumps({"endFramePosition": "1", "isPrunedFromStream": "false"})
            si["SpectrumImageSettings"] = np.array([settings.encode()])
    return path
