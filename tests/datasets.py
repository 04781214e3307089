"""Synthetic JWST datasets for the journal tests: a hostile one and large ones.

Both write small FITS files made by :mod:`fitsfiles` (astropy) into a folder and return
the folder. Only the primary headers matter to the tool.

* :func:`hostile_dataset`: about 30 files in 8 observing modes, 4 programs, 3 pipeline
  versions and 4 CRDS contexts (some below the contexts of known issues, so that caveats
  appear; one group mixing contexts), file names over 100 characters, and the characters
  ``_ & % # $ { } ~ ^ \\`` in names and header values.
* :func:`large_dataset`: ``n`` files with realistic JWST names over 8 modes and 3 programs,
  two contexts; the bytes of each kind of file are made once, so 20,000 files take seconds.
"""

from __future__ import annotations

import functools
import io
import os
from pathlib import Path

import numpy as np
from astropy.io import fits
from fitsfiles import make_primary_header

__all__ = [
    "HOSTILE_NAMES",
    "HOSTILE_TARGNAME",
    "HOSTILE_VERSION",
    "MODES",
    "dataset_bytes",
    "hostile_dataset",
    "hostile_files",
    "large_dataset",
    "large_names",
]

#: A development pipeline version with characters LaTeX treats specially.
HOSTILE_VERSION = "1.14.0.dev3+g$x_&%#"
#: A target name that would read a file if it reached LaTeX unescaped.
HOSTILE_TARGNAME = "\\input{/etc/passwd}"

#: The header keywords of each observing mode (EXP_TYPE, instrument, detector, optics).
MODES: dict[str, dict[str, str]] = {
    "NRC_IMAGE": {"INSTRUME": "NIRCAM", "DETECTOR": "NRCA1", "FILTER": "F200W",
                  "PUPIL": "CLEAR"},
    "NRC_WFSS": {"INSTRUME": "NIRCAM", "DETECTOR": "NRCALONG", "FILTER": "F444W",
                 "PUPIL": "GRISMR"},
    "NRS_MSASPEC": {"INSTRUME": "NIRSPEC", "DETECTOR": "NRS1", "FILTER": "F170LP",
                    "GRATING": "G235M"},
    "NRS_IFU": {"INSTRUME": "NIRSPEC", "DETECTOR": "NRS1", "FILTER": "F290LP",
                "GRATING": "G395H"},
    "MIR_MRS": {"INSTRUME": "MIRI", "DETECTOR": "MIRIFUSHORT", "FILTER": "N/A",
                "CHANNEL": "12", "BAND": "SHORT"},
    "MIR_IMAGE": {"INSTRUME": "MIRI", "DETECTOR": "MIRIMAGE", "FILTER": "F770W"},
    "NIS_WFSS": {"INSTRUME": "NIRISS", "DETECTOR": "NIS", "FILTER": "GR150C",
                 "PUPIL": "F150W"},
    "NIS_SOSS": {"INSTRUME": "NIRISS", "DETECTOR": "NIS", "FILTER": "CLEAR",
                 "PUPIL": "GR700XD", "SUBARRAY": "SUBSTRIP256", "TSOVISIT": True},
}

_INSTRUMENT_REFS = {"NIRCAM": "nircam", "NIRSPEC": "nirspec", "MIRI": "miri", "NIRISS": "niriss"}


@functools.cache
def _file_bytes(overrides: tuple, removed: tuple) -> bytes:
    header = make_primary_header(**dict(overrides))
    for key in removed:
        header.remove(key, ignore_missing=True, remove_all=True)
    hdus = fits.HDUList([fits.PrimaryHDU(header=header),
                         fits.ImageHDU(np.zeros((4, 4), dtype=np.float32), name="SCI")])
    buffer = io.BytesIO()
    hdus.writeto(buffer)
    return buffer.getvalue()


def dataset_bytes(exp_type: str, *, remove: tuple[str, ...] = (), **overrides) -> bytes:
    """A small FITS file of one observing mode (see :data:`MODES`); ``remove`` drops keywords.

    The instrument's reference files replace the NIRCam ones of :mod:`fitsfiles`' header.
    Results are cached: the same arguments give the same bytes, made once.
    """
    cards = {"EXP_TYPE": exp_type, **MODES[exp_type]}
    short = _INSTRUMENT_REFS[cards["INSTRUME"]]
    cards.update({"R_DARK": f"crds://jwst_{short}_dark_0342.fits",
                  "R_FLAT": f"crds://jwst_{short}_flat_0585.fits",
                  "R_GAIN": f"crds://jwst_{short}_gain_0097.fits"})
    cards.update(overrides)
    return _file_bytes(tuple(sorted(cards.items())), tuple(remove))


def _write(path: Path, data: bytes) -> None:
    with open(path, "wb") as stream:
        stream.write(data)


# --- The hostile dataset --------------------------------------------------------

_LONG = "very-long-target-name-of-a-deep-field-with-several-pointings"

#: Name fragments with every character LaTeX treats specially.
HOSTILE_NAMES = (
    "jw01345001001_02101_00001_nrca1_a&b%c#d$e{f}g~h^i\\j_cal.fits",
    "jw02736003001_02103_00003_nis_50%_&_$5_#1_{x}_cal.fits",
    "jw01345002001_02101_00002_mirimage_~tilde^caret\\back_cal.fits",
)


def hostile_files() -> list[tuple[str, str, dict, tuple[str, ...]]]:
    """The hostile dataset: (file name, EXP_TYPE, header overrides, keywords removed)."""
    v1125 = {"CAL_VER": "1.12.5", "CRDS_VER": "11.17.14", "SDP_VER": "2023_3a",
             "DATE": "2024-01-09T10:00:00.000"}
    v1140 = {"CAL_VER": "1.14.0", "CRDS_VER": "11.17.19", "SDP_VER": "2024_1a",
             "DATE": "2024-06-20T10:00:00.000"}
    dev = {"CAL_VER": HOSTILE_VERSION, "CAL_VCS": "g$x_&%#", "CRDS_VER": "11.17.19",
           "DATE": "2024-07-02T10:00:00.000"}
    c1100, c1183 = {"CRDS_CTX": "jwst_1100.pmap"}, {"CRDS_CTX": "jwst_1183.pmap"}
    c1225, c1241 = {"CRDS_CTX": "jwst_1225.pmap"}, {"CRDS_CTX": "jwst_1241.pmap"}
    p1345 = {"PROGRAM": "01345", "TARGPROP": "CEERS_EGS & 50% #1",
             "TARGNAME": HOSTILE_TARGNAME}
    p2736 = {"PROGRAM": "02736", "TARGPROP": "SMACS0723_{cluster}",
             "TARGNAME": "SMACS J0723.3-7327 ~ $x^2$"}
    p1180 = {"PROGRAM": "01180", "TARGPROP": "GOODS-S & parallel", "TARGNAME": "GOODS-S_DEEP"}
    p4446 = {"PROGRAM": "04446", "TARGPROP": "WASP-39\\b", "TARGNAME": "WASP-39 b"}
    files: list[tuple[str, str, dict, tuple[str, ...]]] = []

    def add(name, exp_type, *groups, remove=(), **extra):
        cards: dict = {}
        for group in groups:
            cards.update(group)
        cards.update(extra)
        files.append((name, exp_type, cards, tuple(remove)))

    # 01345: NIRCam imaging (one file reprocessed with an older context, one with a
    # development version, one level-1b file), NIRSpec MOS, MIRI imaging.
    add("jw01345001001_02101_00001_nrca1_cal.fits", "NRC_IMAGE", p1345, v1140, c1241)
    add("jw01345001001_02101_00002_nrca1_cal.fits", "NRC_IMAGE", p1345, v1140, c1241)
    add("jw01345001001_02101_00001_nrca2_cal.fits", "NRC_IMAGE", p1345, v1140, c1225,
        DETECTOR="NRCA2", DATE="2024-04-18T10:00:00.000")
    add(HOSTILE_NAMES[0], "NRC_IMAGE", p1345, dev, c1241,
        R_FLAT="my_own_flat_&_%_#1.fits")
    add("jw01345001001_02101_00003_nrcb1_uncal.fits", "NRC_IMAGE", p1345,
        {"SDP_VER": "2024_1a", "DETECTOR": "NRCB1"}, remove=_LEVEL1B)
    add(f"jw01345-o001_t001_nircam_clear-f200w-sub640a-{_LONG}_i2d.fits", "NRC_IMAGE",
        p1345, v1140, c1241, DETECTOR="MULTIPLE")
    add("jw01345004001_03101_00001_nrs1_cal.fits", "NRS_MSASPEC", p1345, v1140, c1241)
    add("jw01345004001_03101_00001_nrs2_cal.fits", "NRS_MSASPEC", p1345, v1140, c1241,
        DETECTOR="NRS2")
    add(f"jw01345-o004_s00123_nirspec_f170lp-g235m-{_LONG}_x1d.fits", "NRS_MSASPEC",
        p1345, v1140, c1241, DETECTOR="MULTIPLE")
    add("jw01345002001_02101_00001_mirimage_cal.fits", "MIR_IMAGE", p1345, v1140, c1241)
    add(HOSTILE_NAMES[2], "MIR_IMAGE", p1345, v1140, c1241)
    # 02736: NIRISS WFSS GR150C below jwst_1228 (wavelength offset), MIRI MRS below
    # jwst_1185 (bad pixel masks), NIRCam long-wavelength WFSS below jwst_1280 (flats).
    add("jw02736003001_02103_00001_nis_cal.fits", "NIS_WFSS", p2736, v1125, c1183)
    add("jw02736003001_02103_00002_nis_cal.fits", "NIS_WFSS", p2736, v1125, c1183)
    add(HOSTILE_NAMES[1], "NIS_WFSS", p2736, v1125, c1183)
    add("jw02736005001_03101_00001_mirifushort_cal.fits", "MIR_MRS", p2736, v1125, c1100)
    add("jw02736005001_03101_00002_mirifushort_cal.fits", "MIR_MRS", p2736, v1125, c1100)
    add(f"jw02736-o005_t001_miri_ch1-shortmediumlong-{_LONG}_s3d.fits", "MIR_MRS",
        p2736, v1125, c1100, DETECTOR="MULTIPLE")
    add("jw02736007001_02101_00001_nrcalong_cal.fits", "NRC_WFSS", p2736, v1125, c1183)
    add("jw02736007001_02101_00002_nrcalong_cal.fits", "NRC_WFSS", p2736, v1125, c1183)
    add("jw02736007001_02101_00001_nrcblong_cal.fits", "NRC_WFSS", p2736, v1125, c1183,
        DETECTOR="NRCBLONG")
    # 01180: NIRSpec IFU, NIRISS SOSS, all reprocessed locally with jwst_1225.
    add("jw01180021001_03101_00001_nrs1_cal.fits", "NRS_IFU", p1180, v1140, c1225)
    add("jw01180021001_03101_00001_nrs2_cal.fits", "NRS_IFU", p1180, v1140, c1225,
        DETECTOR="NRS2")
    add(f"jw01180-o021_t001_nirspec_g395h-f290lp-{_LONG}_s3d.fits", "NRS_IFU", p1180,
        v1140, c1225, DETECTOR="MULTIPLE")
    add("jw01180031001_04101_00001-seg001_nis_calints.fits", "NIS_SOSS", p1180, v1140, c1225)
    add("jw01180031001_04101_00001-seg002_nis_calints.fits", "NIS_SOSS", p1180, v1140, c1225)
    add(f"jw01180-o031_t001_niriss_clear-gr700xd-substrip256-{_LONG}_x1dints.fits",
        "NIS_SOSS", p1180, v1140, c1225, DETECTOR="MULTIPLE")
    # 04446: the development version, NIRCam imaging and NIRISS SOSS.
    add("jw04446001001_02101_00001_nrcb1_cal.fits", "NRC_IMAGE", p4446, dev, c1241,
        DETECTOR="NRCB1")
    add("jw04446001001_02101_00001_nrcb2_cal.fits", "NRC_IMAGE", p4446, dev, c1241,
        DETECTOR="NRCB2")
    add("jw04446002001_04101_00001-seg001_nis_calints.fits", "NIS_SOSS", p4446, dev, c1241)
    add("jw04446002001_04101_00001-seg002_nis_calints.fits", "NIS_SOSS", p4446, dev, c1241)
    return files


#: Level-1b (_uncal) products carry no calibration provenance.
_LEVEL1B = ("CAL_VER", "CAL_VCS", "CRDS_VER", "CRDS_CTX", "R_DARK", "R_FLAT", "R_GAIN",
            "S_DARK", "S_FLAT", "S_PERSIS")


def hostile_dataset(folder: str | os.PathLike[str]) -> Path:
    """Write the hostile dataset (:func:`hostile_files`) into ``folder``; return it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, exp_type, cards, remove in hostile_files():
        _write(folder / name, dataset_bytes(exp_type, remove=remove, **cards))
    return folder


# --- Large datasets ---------------------------------------------------------------

_LARGE_PROGRAMS = ("01345", "02736", "01180")
_LARGE_DETECTORS = {"NRC_IMAGE": "nrca1", "NRC_WFSS": "nrcalong", "NRS_MSASPEC": "nrs1",
                    "NRS_IFU": "nrs2", "MIR_MRS": "mirifushort", "MIR_IMAGE": "mirimage",
                    "NIS_WFSS": "nis", "NIS_SOSS": "nis"}


def large_names(n: int) -> list[tuple[str, str, str]]:
    """``n`` realistic, distinct exposure names: (name, EXP_TYPE, PROGRAM).

    ``jw<ppppp><ooo><vvv>_<gg><s><aa>_<eeeee>_<detector>_cal.fits``; the program cycles
    fastest, then the mode; each mode has its own observation number, so names never clash.
    """
    modes = list(MODES)
    names = []
    for i in range(n):
        program = _LARGE_PROGRAMS[i % 3]
        mode_index = (i // 3) % len(modes)
        exposure = i // (3 * len(modes)) + 1
        visit, exposure = divmod(exposure - 1, 99999)
        exp_type = modes[mode_index]
        name = (f"jw{program}{mode_index + 1:03d}{visit + 1:03d}_02101_{exposure + 1:05d}_"
                f"{_LARGE_DETECTORS[exp_type]}_cal.fits")
        names.append((name, exp_type, program))
    return names


def large_dataset(folder: str | os.PathLike[str], n: int) -> Path:
    """Write ``n`` files (8 modes, 3 programs, two CRDS contexts) into ``folder``; return it.

    Program 01180 was processed with ``jwst_1225.pmap``, the others with ``jwst_1241.pmap``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, exp_type, program in large_names(n):
        context = "jwst_1225.pmap" if program == "01180" else "jwst_1241.pmap"
        _write(folder / name, dataset_bytes(exp_type, PROGRAM=program, CRDS_CTX=context))
    return folder
