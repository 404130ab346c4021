"""The acquisition summary (no Qt): physical units from the real corpus files' tags, the same
facts back from the NXem they convert to, and the vendor's own labels for raw tags."""

from __future__ import annotations

import h5py
import numpy as np
import tifffile

from lamefair_desktop.nexus.acquisition_summary import (
    summarise_file,
    summarise_nexus,
    summarise_preview,
)
from lamefair_desktop.nexus.preview import open_preview
from lamefair_desktop.nexus.tag_labels import labelled_tags
from lamefair_desktop.nexus.writer import convert

FEI_INI = (
    "[User]\r\nDate=11/20/2026\r\nTime=09:30:00 AM\r\nUser=ada\r\n"
    "[System]\r\nType=DualBeam\r\nSystemType=Helios G4 UX\r\nSource=FEG\r\nSoftware=11.2.0\r\n"
    "[EBeam]\r\nHV=20000\r\nWD=0.0051\r\n"
    "[Scan]\r\nPixelWidth=2.5e-09\r\nPixelHeight=2.5e-09\r\nDwelltime=3e-06\r\n"
)


def _facts(facts) -> dict[str, str]:
    return {fact.label: fact.text for fact in facts}


def test_corpus_files_read_in_physical_units(corpus_tiff_dir):
    fei = _facts(summarise_file(corpus_tiff_dir / "FEI-Helios-Ebeam-16bits.tif"))
    assert fei["Accelerating voltage"] == "5.0 kV"  # FEI_HELIOS.Beam.HV = 5000 (V)
    assert fei["Pixel size"] == "3.372 µm"
    assert fei["Dwell time"] == "10 µs"
    assert fei["Working distance"] == "4.035 mm"
    assert fei["Field of view"] == "1.727 mm"
    assert fei["Detector"] == "ETD (SE)"
    assert fei["Operator"] == "supervisor"
    assert list(fei)[:3] == ["Instrument", "Detector", "Accelerating voltage"]
    jeol = _facts(summarise_file(corpus_tiff_dir / "JEOL-SightX-SAED-dummy.tif"))
    assert jeol["Camera length"] == "400 mm"
    assert jeol["Pixel size"] == "0.2723 nm⁻¹"  # a diffraction pattern: reciprocal nanometres
    assert jeol["Stage tilt"] == "10.45°, 9.97°"
    assert jeol["Acquired"] == "2015-07-30 07:17:25 (UTC+09:00)"
    tvips = _facts(summarise_file(corpus_tiff_dir / "TVIPS_bin4.tif"))
    assert tvips["Magnification"] == "32 000×"
    assert tvips["Accelerating voltage"] == "99.0 kV"


def test_the_nxem_gives_back_the_summary_of_its_source(tmp_path, context):
    source = tmp_path / "helios.tif"
    image = np.random.default_rng(3).integers(1000, 3000, (40, 60), dtype=np.uint16)
    tifffile.imwrite(source, image, extratags=[(34682, "s", 0, FEI_INI, True)])
    out = tmp_path / "helios.nxs"
    convert(source, out, context=context)
    from_tags = _facts(summarise_file(source))
    with open_preview(out) as preview:
        from_nexus = _facts(summarise_preview(preview))
    assert from_tags["Accelerating voltage"] == "20.0 kV"
    assert from_tags["Operator"] == "ada"  # the vendor's user, from the tags
    assert from_nexus.pop("Operator") == "op-bob"  # the catalog's operator, in the NXem
    from_tags.pop("Operator")
    assert from_nexus == from_tags
    with h5py.File(out) as handle:
        assert summarise_nexus(handle, None)[0].label == "Instrument"


def test_zeiss_tags_show_the_vendors_labels_and_units(corpus_tiff_dir):
    with open_preview(corpus_tiff_dir / "test_tiff_Zeiss_SEM_512pix.tif") as preview:
        rows = labelled_tags(preview.metadata())
    shown = {row.label: row.value for row in rows}
    assert shown["CZ_SEM: WD"] == "3.9 mm"
    assert shown["CZ_SEM: EHT"] == "5.0 kV"
    keys = [row.key for row in rows]
    assert "CZ_SEM.ap_wd" in keys  # the raw key stays, for search
    assert not any(key.endswith((".label", ".unit")) for key in keys)  # merged, not repeated
    assert not any(row.label.startswith("CZ_SEM.values[") for row in rows)
    first_unlabelled = next(i for i, row in enumerate(rows) if "unlabelled" in row.label)
    assert all(
        not row.label.startswith("CZ_SEM: ") or "unlabelled" in row.label
        for row in rows[first_unlabelled:]
    )  # the file's unlabelled values come last
