#!/usr/bin/env python
"""Write the synthetic example dataset of ``jwst-provenance``.

The dataset imitates what the authors of one JWST paper might have on disk:
calibrated products from four programs (01345, 02736, 01180, 01366), mostly
downloaded from MAST, some reprocessed locally, plus one level-1b raw file and
one truncated file. It is written to ``data/`` and ``broken/`` beside this
script (see ``README.md``); run ``python examples/make_example_data.py`` from
any directory.

All values are synthetic and only illustrative: no file comes from MAST, the
pixel data are tiny arrays of made-up numbers, and reference file numbers are
invented. The header *conventions* follow real JWST products (the public
sources named below, and real headers in the spacetelescope/jwst repository's
test data):

* CAL_VER / SDP_VER / CRDS_CTX combinations follow the "DMS Operational Build
  Versions" table of the spacetelescope/jwst README (1.12.5 = B10.0.1 =
  2023.3.1, 1.14.0 = B10.2.1 = 2024.1.1). Headers write SDP_VER as
  ``2024_1a`` where the README writes ``2024.1.1``. CRDS_CTX is the context
  in use when the file was processed, so it can differ from the README's
  context for that version (1241 vs 1240, 1183 vs 1166): the header is the
  truth for a file.
* CAL_VCS is ``RELEASE`` for a released jwst package. CRDS_VER is the version
  of the ``crds`` client library, not a context.
* Level-1b ``_uncal`` files carry SDP_VER and PRD_VER but no CAL_VER, CAL_VCS,
  CRDS_VER, CRDS_CTX, R_* or S_* (as the real level-1b headers in the jwst
  test data).
* R_* keywords (names from the stdatamodels core schema) hold
  ``crds://<file>`` when CRDS chose a reference file and ``N/A`` when the
  reference type does not apply; S_* keywords hold ``COMPLETE`` or
  ``SKIPPED``. Both appear in schema order, as stdatamodels writes them.
* PROGRAM, OBSERVTN, VISIT, ... are zero-padded strings (``'01345'``).
* String values are padded the way astropy writes them (``'N/A     '``);
  strings longer than 68 characters use CONTINUE cards.
* File names: ``jw<ppppp><ooo><vvv>_<gg><s><aa>_<eeeee>[-seg<NNN>]_<detector>_
  <suffix>.fits`` for exposures, ``jw<ppppp>-<AC_ID>_<target>_<instr>_
  <optics>_<suffix>.fits`` for level 3 (jwst docs, "File Naming Schemes").

Output is deterministic: fixed DATE values, no checksums, gzip with mtime 0,
so a re-run gives byte-identical files.
"""

import gzip
import io
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.io import fits

HERE = Path(__file__).resolve().parent
DATA_DIR = HERE / "data"
BROKEN_DIR = HERE / "broken"

# Bytes kept of the broken file: past the first 2880-byte block but well
# before the END card, so a reader finds neither END nor a whole header.
BROKEN_KEEP_BYTES = 4000


# --- Processing runs ---------------------------------------------------------

@dataclass(frozen=True)
class Run:
    """One pipeline run: the provenance keywords that it writes."""
    cal_ver: str | None   # None for level-1b: only SDP_VER and PRD_VER are written
    sdp_ver: str
    prd_ver: str
    crds_ver: str | None = None
    crds_ctx: str | None = None


# MAST processing with the operational build B10.2.1 (installed 2024-06-12).
MAST_1140 = Run("1.14.0", "2024_1a", "PRDOPSSOC-065", "11.17.19", "jwst_1241.pmap")
# Local reprocessing with jwst 1.14.0 from PyPI against an older CRDS cache.
LOCAL_1140_OLDCTX = Run("1.14.0", "2024_1a", "PRDOPSSOC-065", "11.17.19", "jwst_1225.pmap")
# MAST processing with B10.0.1 (jwst 1.12.5), context as quoted in a real paper.
MAST_1125 = Run("1.12.5", "2023_3a", "PRDOPSSOC-063", "11.17.14", "jwst_1183.pmap")
# Level-1b products made by the same 2024 ground-system build, no calibration.
LEVEL1B_2024 = Run(None, "2024_1a", "PRDOPSSOC-065")


# --- Programs ----------------------------------------------------------------

@dataclass(frozen=True)
class Program:
    number: str       # zero-padded, as in PROGRAM
    targprop: str
    targname: str
    date_obs: str


CEERS = Program("01345", "CEERS_EGS", "Extended Groth Strip", "2022-12-21")
SMACS = Program("02736", "SMACS0723", "SMACS J0723.3-7327", "2022-06-07")
# '&' and '_' need escaping in LaTeX, '&' in Markdown tables / HTML.
JADES = Program("01180", "GOODS-S & parallel", "GOODS-S_DEEP", "2022-10-20")
WASP39 = Program("01366", "WASP-39", "WASP-39", "2022-07-30")


# --- Observing modes ---------------------------------------------------------

# Reference types that CRDS selects for each EXP_TYPE; every other R_* keyword
# of the file gets 'N/A'.
_NIR_DETECTOR1 = {"dark", "gain", "linearity", "mask", "readnoise", "saturation",
                  "superbias", "persat", "trapdensity", "trappars"}
_MIRI_DETECTOR1 = {"dark", "gain", "linearity", "mask", "readnoise", "saturation",
                   "reset", "rscd", "emicorr"}
_NRS_WCS = {"camera", "collimator", "disperser", "fore", "fpa", "msa", "ote",
            "wavelengthrange"}
_NRS_DETECTOR1 = {"dark", "gain", "linearity", "mask", "readnoise", "saturation",
                  "superbias", "refpix"}

MODE_REFTYPES = {
    "NRC_IMAGE": _NIR_DETECTOR1 | {"area", "distortion", "filteroffset", "flat", "photom"},
    "NIS_IMAGE": _NIR_DETECTOR1 | {"area", "distortion", "flat", "photom"},
    "NIS_WFSS": _NIR_DETECTOR1 | {"distortion", "filteroffset", "flat", "photom",
                                  "specwcs", "wavelengthrange"},
    "NRC_TSGRISM": _NIR_DETECTOR1 | {"distortion", "flat", "photom", "specwcs",
                                     "wavelengthrange"},
    "MIR_IMAGE": _MIRI_DETECTOR1 | {"area", "distortion", "filteroffset", "flat", "photom"},
    "MIR_MRS": _MIRI_DETECTOR1 | {"distortion", "flat", "photom", "regions", "specwcs",
                                  "wavelengthrange", "fringe", "fringefreq", "straylight",
                                  "mrsxartcorr", "mrsptcorr"},
    "NRS_MSASPEC": _NRS_DETECTOR1 | _NRS_WCS | {"dflat", "fflat", "sflat", "photom",
                                               "msaoper", "barshadow", "pathloss",
                                               "wavecorr"},
    "NRS_IFU": _NRS_DETECTOR1 | _NRS_WCS | {"dflat", "fflat", "sflat", "photom",
                                           "ifufore", "ifupost", "ifuslicer"},
}

# Extra reference types used only by the step that makes a given suffix.
SUFFIX_REFTYPES = {"x1d": {"extract1d"}, "s3d": {"cubepar"}, "i2d": {"drizpars"}}

# R_* keywords in stdatamodels core-schema order -> (CRDS reference type,
# card comment). R_BASE is written to every calibrated file, with 'N/A' where
# the type does not apply; the others only where the type applies.
R_KEYWORDS = {
    "R_AREA": ("area", "Pixel area reference file name"),
    "R_MSAOPE": ("msaoper", "MSA operability reference file name"),
    "R_BARSHA": ("barshadow", "NIRSpec bar shadow reference file name"),
    "R_CAMERA": ("camera", "Nirspec Camera reference file name"),
    "R_COLLIM": ("collimator", "Nirspec Collimator reference file name"),
    "R_CUBPAR": ("cubepar", "IFU cube parameters reference file name"),
    "R_DARK": ("dark", "Dark reference file name"),
    "R_DISPER": ("disperser", "Disperser reference file name"),
    "R_DISTOR": ("distortion", "Distortion reference file name"),
    "R_MIREMI": ("emicorr", "MIRI EMI correction reference file name"),
    "R_EXTR1D": ("extract1d", "1-D extraction parameters reference file name"),
    "R_FILOFF": ("filteroffset", "Filter Offset reference file name"),
    "R_FLAT": ("flat", "Flat reference file name"),
    "R_DFLAT": ("dflat", "Detector Flat reference file name"),
    "R_FFLAT": ("fflat", "Fore-optics Flat reference file name"),
    "R_SFLAT": ("sflat", "Spectrograph Flat reference file name"),
    "R_FORE": ("fore", "Nirspec FORE Model reference file name"),
    "R_FPA": ("fpa", "Nirspec FPA Model reference file name"),
    "R_FRINGE": ("fringe", "Fringe reference file name"),
    "R_FRIFRQ": ("fringefreq", "MRS Fringe Frequency reference file name"),
    "R_GAIN": ("gain", "Gain reference file name"),
    "R_IFUFOR": ("ifufore", "ifufore reference file name"),
    "R_IFUPOS": ("ifupost", "ifupost reference file name"),
    "R_IFUSLI": ("ifuslicer", "ifuslicer reference file name"),
    "R_IPC": ("ipc", "IPC reference file name"),
    "R_LINEAR": ("linearity", "Linearity reference file name"),
    "R_MASK": ("mask", "Mask reference file name"),
    "R_MSA": ("msa", "Nirspec MSA Model reference file name"),
    "R_MRSXAR": ("mrsxartcorr", "MRS Cross-Artifact Correction ref file name"),
    "R_MRSPT": ("mrsptcorr", "MRS point source correction reference file name"),
    "R_OTE": ("ote", "Nirspec OTE Model reference file name"),
    "R_PTHLOS": ("pathloss", "Pathloss reference file name"),
    "R_PERSAT": ("persat", "Persistence saturation reference file name"),
    "R_PHOTOM": ("photom", "Photometric reference file name"),
    "R_READNO": ("readnoise", "Read noise reference file name"),
    "R_REFPIX": ("refpix", "Reference pixels reference file name"),
    "R_REGION": ("regions", "Regions reference file name"),
    "R_RESAMP": ("drizpars", "Resample parameters reference file name"),
    "R_RESET": ("reset", "Reset reference file name"),
    "R_RSCD": ("rscd", "RSCD reference file name"),
    "R_SATURA": ("saturation", "Saturation reference file name"),
    "R_SPCWCS": ("specwcs", "Spectral distortion reference file name"),
    "R_STRAY": ("straylight", "MRS Straylight reference file name"),
    "R_SUPERB": ("superbias", "Superbias reference file name"),
    "R_TRPDEN": ("trapdensity", "Trap density reference file name"),
    "R_TRPPAR": ("trappars", "Trap parameters reference file name"),
    "R_WAVCOR": ("wavecorr", "Zero point wavelength correction reference file name"),
    "R_WAVRAN": ("wavelengthrange", "Wavelength Range reference file name"),
}
R_BASE = {"R_AREA", "R_CAMERA", "R_COLLIM", "R_DARK", "R_DISPER", "R_DISTOR",
          "R_FILOFF", "R_FLAT", "R_DFLAT", "R_FFLAT", "R_SFLAT", "R_FORE", "R_FPA",
          "R_GAIN", "R_IFUFOR", "R_IFUPOS", "R_IFUSLI", "R_IPC", "R_LINEAR",
          "R_MASK", "R_MSA", "R_OTE", "R_PERSAT", "R_PHOTOM", "R_READNO",
          "R_REFPIX", "R_REGION", "R_SATURA", "R_SPCWCS", "R_SUPERB", "R_TRPDEN",
          "R_TRPPAR", "R_WAVRAN"}

# Reference types that CRDS delivers as ASDF or JSON rather than FITS.
ASDF_REFTYPES = {"camera", "collimator", "disperser", "distortion", "filteroffset",
                 "fore", "fpa", "ifufore", "ifupost", "ifuslicer", "msa", "ote",
                 "regions", "specwcs", "wavelengthrange", "wavecorr", "emicorr",
                 "mrsptcorr"}
JSON_REFTYPES = {"msaoper", "extract1d"}

# S_* keywords in core-schema order -> card comment.
S_KEYWORDS = {
    "S_WCS": "Assign World Coordinate System",
    "S_BKDSUB": "Background subtraction",
    "S_BARSHA": "NIRSpec bar shadow correction",
    "S_CHGMIG": "Charge Migration",
    "S_IFUCUB": "IFU Cube Creation",
    "S_DARK": "Dark Subtraction",
    "S_DQINIT": "Data Quality Initialization",
    "S_MIREMI": "MIRI EMI Correction",
    "S_EXTR1D": "1-D Spectral Extraction",
    "S_EXTR2D": "2-D Spectral Extraction",
    "S_FRSTFR": "First Frame Correction",
    "S_FLAT": "Flat Field Correction",
    "S_FRINGE": "Fringe Correction",
    "S_GANSCL": "Gain Scale Correction",
    "S_GRPSCL": "Group Scale Correction",
    "S_IMPRNT": "NIRSpec MSA Imprint Subtraction",
    "S_IPC": "Interpixel Capacitance Correction",
    "S_JUMP": "Jump Detection",
    "S_LASTFR": "Last Frame Correction",
    "S_LINEAR": "Linearity Correction",
    "S_MSBSUB": "Master Background Subtraction",
    "S_MSAFLG": "NIRSpec MSA Stuck Shutter Flagging",
    "S_OUTLIR": "Outlier Detection",
    "S_PTHLOS": "Pathloss Correction",
    "S_PERSIS": "Persistence Correction",
    "S_PHOTOM": "Photometric Calibration",
    "S_PXREPL": "Pixel Replacement",
    "S_RAMP": "Ramp Fitting",
    "S_REFPIX": "Reference Pixel Correction",
    "S_RESAMP": "Image resampling",
    "S_RESFRI": "Residual Fringe Correction",
    "S_RESET": "Reset Anomaly Correction",
    "S_RSCD": "RSCD Correction",
    "S_SATURA": "Saturation Checking",
    "S_SKYMAT": "Sky Background Equalization or Subtraction",
    "S_SRCTYP": "Source Type Determination",
    "S_STRAY": "Straylight Correction",
    "S_SUPERB": "Superbias Subtraction",
    "S_TWKREG": "Image Alignment via Astronomical Sources",
    "S_WAVCOR": "NIRSpec wavelength correction",
    "S_CONTAM": "WFSS Contamination Correction",
}

# Step status per pipeline stage: step keyword -> COMPLETE / SKIPPED, following
# the default calwebb_* step lists (steps that are off by default are SKIPPED).
C, S = "COMPLETE", "SKIPPED"
DETECTOR1_NIR = {"S_GRPSCL": S, "S_DQINIT": C, "S_SATURA": C, "S_IPC": S,
                 "S_SUPERB": C, "S_REFPIX": C, "S_LINEAR": C, "S_PERSIS": C,
                 "S_DARK": C, "S_CHGMIG": S, "S_JUMP": C, "S_RAMP": C, "S_GANSCL": S}
DETECTOR1_NIS = {**DETECTOR1_NIR, "S_CHGMIG": C}  # charge migration is NIRISS-only
DETECTOR1_TSO = {**DETECTOR1_NIR, "S_PERSIS": S}  # persistence is off for TSO
DETECTOR1_NRS = {**DETECTOR1_NIR, "S_PERSIS": S}
DETECTOR1_MIRI = {"S_GRPSCL": S, "S_DQINIT": C, "S_MIREMI": S, "S_SATURA": C,
                  "S_IPC": S, "S_FRSTFR": C, "S_LASTFR": C, "S_RESET": C,
                  "S_LINEAR": C, "S_RSCD": C, "S_DARK": C, "S_REFPIX": C,
                  "S_JUMP": C, "S_RAMP": C, "S_GANSCL": S}
IMAGE2 = {"S_BKDSUB": S, "S_WCS": C, "S_FLAT": C, "S_PHOTOM": C}
IMAGE3 = {"S_TWKREG": C, "S_SKYMAT": C, "S_OUTLIR": C, "S_RESAMP": C}
SPEC2_MOS = {"S_BKDSUB": S, "S_WCS": C, "S_MSAFLG": C, "S_IMPRNT": S, "S_EXTR2D": C,
             "S_SRCTYP": C, "S_MSBSUB": S, "S_WAVCOR": C, "S_FLAT": C, "S_PTHLOS": C,
             "S_BARSHA": C, "S_PHOTOM": C, "S_PXREPL": S}
SPEC2_NRS_IFU = {"S_BKDSUB": S, "S_WCS": C, "S_MSAFLG": C, "S_IMPRNT": S,
                 "S_SRCTYP": C, "S_MSBSUB": S, "S_FLAT": C, "S_PTHLOS": S,
                 "S_PHOTOM": C, "S_PXREPL": S}
SPEC2_MRS = {"S_BKDSUB": S, "S_WCS": C, "S_SRCTYP": C, "S_MSBSUB": S, "S_STRAY": C,
             "S_FLAT": C, "S_FRINGE": C, "S_PHOTOM": C, "S_RESFRI": S, "S_PXREPL": S}
SPEC2_WFSS = {"S_BKDSUB": C, "S_WCS": C, "S_FLAT": C, "S_EXTR2D": C, "S_SRCTYP": C,
              "S_PHOTOM": C, "S_CONTAM": S}
SPEC2_TSO = {"S_WCS": C, "S_EXTR2D": C, "S_SRCTYP": C, "S_FLAT": C, "S_PHOTOM": C}

MODE_STEPS = {
    "NRC_IMAGE": {**DETECTOR1_NIR, **IMAGE2},
    "NIS_IMAGE": {**DETECTOR1_NIS, **IMAGE2},
    "MIR_IMAGE": {**DETECTOR1_MIRI, **IMAGE2},
    "NIS_WFSS": {**DETECTOR1_NIS, **SPEC2_WFSS},
    "NRC_TSGRISM": {**DETECTOR1_TSO, **SPEC2_TSO},
    "NRS_MSASPEC": {**DETECTOR1_NRS, **SPEC2_MOS},
    "NRS_IFU": {**DETECTOR1_NRS, **SPEC2_NRS_IFU},
    "MIR_MRS": {**DETECTOR1_MIRI, **SPEC2_MRS},
}
SUFFIX_STEPS = {"x1d": {"S_RESAMP": C, "S_EXTR1D": C}, "s3d": {"S_IFUCUB": C},
                "i2d": IMAGE3}

INSTRUMENT_TEMPLATE = {
    "NRC_IMAGE": "NIRCam Imaging", "NIS_IMAGE": "NIRISS Imaging",
    "MIR_IMAGE": "MIRI Imaging", "NIS_WFSS": "NIRISS Wide Field Slitless Spectroscopy",
    "NRC_TSGRISM": "NIRCam Grism Time Series", "NRS_MSASPEC": "NIRSpec MultiObject Spectroscopy",
    "NRS_IFU": "NIRSpec IFU Spectroscopy", "MIR_MRS": "MIRI Medium Resolution Spectroscopy",
}


# --- The files ---------------------------------------------------------------

@dataclass(frozen=True)
class Product:
    """One file of the dataset; the fields not given have typical values."""
    name: str               # file name on disk (FILENAME drops a trailing .gz)
    program: Program
    run: Run
    date: str               # DATE: when the file was written
    ident: str              # '<ooo><vvv>_<gg><s><aa>_<eeeee>' of the exposure
    instrument: str
    detector: str
    exp_type: str
    optics: dict            # FILTER / PUPIL / GRATING / CHANNEL / BAND
    readpatt: str
    datamodel: str
    time_obs: str
    nints: int = 1
    ngroups: int = 8
    subarray: str = "FULL"
    tsovisit: bool = False
    obslabel: str = ""
    segment: tuple | None = None      # (EXSEGNUM, EXSEGTOT, INTSTART, INTEND)
    asn: tuple | None = None          # (ASNTABLE, ASNPOOL) of a level-3 product
    ref_overrides: dict = field(default_factory=dict)

    @property
    def suffix(self):
        return self.name.split(".")[0].rsplit("_", 1)[1]


NRC_F200W = {"FILTER": "F200W", "PUPIL": "CLEAR"}
NRC_F444W = {"FILTER": "F444W", "PUPIL": "CLEAR"}
NRS_G395M = {"FILTER": "F290LP", "GRATING": "G395M"}
NRS_G395H = {"FILTER": "F290LP", "GRATING": "G395H"}

PRODUCTS = [
    # Program 01345: NIRCam, NIRSpec MOS and MIRI imaging from MAST (1.14.0).
    Product("jw01345001001_02101_00001_nrca1_cal.fits", CEERS, MAST_1140,
            "2024-06-20T11:02:33.123", "001001_02101_00001", "NIRCAM", "NRCA1",
            "NRC_IMAGE", NRC_F200W, "MEDIUM8", "ImageModel", "09:14:52.388",
            obslabel="CEERS EGS NIRCam pointing 1"),
    Product("jw01345001001_02101_00002_nrca1_cal.fits", CEERS, MAST_1140,
            "2024-06-20T11:03:10.507", "001001_02101_00002", "NIRCAM", "NRCA1",
            "NRC_IMAGE", NRC_F200W, "MEDIUM8", "ImageModel", "09:31:28.020",
            obslabel="CEERS EGS NIRCam pointing 1"),
    # The deliberate odd one: reprocessed locally with an older CRDS context,
    # so its flat and photom differ from its siblings'.
    Product("jw01345001001_02101_00001_nrca2_cal.fits", CEERS, LOCAL_1140_OLDCTX,
            "2024-04-18T16:45:02.871", "001001_02101_00001", "NIRCAM", "NRCA2",
            "NRC_IMAGE", NRC_F200W, "MEDIUM8", "ImageModel", "09:14:52.388",
            obslabel="CEERS EGS NIRCam pointing 1",
            ref_overrides={"R_FLAT": "crds://jwst_nircam_flat_0598.fits",
                           "R_PHOTOM": "crds://jwst_nircam_photom_0157.fits"}),
    Product("jw01345001001_02101_00001_nrcalong_cal.fits", CEERS, MAST_1140,
            "2024-06-20T11:02:41.962", "001001_02101_00001", "NIRCAM", "NRCALONG",
            "NRC_IMAGE", NRC_F444W, "MEDIUM8", "ImageModel", "09:14:52.388",
            obslabel="CEERS EGS NIRCam pointing 1"),
    Product("jw01345001001_02101_00002_nrcalong_cal.fits", CEERS, MAST_1140,
            "2024-06-20T11:03:19.244", "001001_02101_00002", "NIRCAM", "NRCALONG",
            "NRC_IMAGE", NRC_F444W, "MEDIUM8", "ImageModel", "09:31:28.020",
            obslabel="CEERS EGS NIRCam pointing 1"),
    # Level-1b raw file: SDP_VER and PRD_VER, but no pipeline provenance.
    Product("jw01345001001_02101_00001_nrca1_uncal.fits", CEERS, LEVEL1B_2024,
            "2024-06-20T10:58:12.406", "001001_02101_00001", "NIRCAM", "NRCA1",
            "NRC_IMAGE", NRC_F200W, "MEDIUM8", "Level1bModel", "09:14:52.388",
            obslabel="CEERS EGS NIRCam pointing 1"),
    Product("jw01345004001_03101_00001_nrs1_cal.fits", CEERS, MAST_1140,
            "2024-06-21T02:17:45.090", "004001_03101_00001", "NIRSPEC", "NRS1",
            "NRS_MSASPEC", NRS_G395M, "NRSIRS2", "MultiSlitModel", "21:07:13.734",
            ngroups=16, obslabel="CEERS MOS pointing 4, G395M/F290LP, 3-shutter slitlet nod"),
    Product("jw01345004001_03101_00001_nrs2_cal.fits", CEERS, MAST_1140,
            "2024-06-21T02:18:12.402", "004001_03101_00001", "NIRSPEC", "NRS2",
            "NRS_MSASPEC", NRS_G395M, "NRSIRS2", "MultiSlitModel", "21:07:13.734",
            ngroups=16, obslabel="CEERS MOS pointing 4, G395M/F290LP, 3-shutter slitlet nod"),
    Product("jw01345004001_03101_00001_nrs1_x1d.fits", CEERS, MAST_1140,
            "2024-06-21T02:19:58.613", "004001_03101_00001", "NIRSPEC", "NRS1",
            "NRS_MSASPEC", NRS_G395M, "NRSIRS2", "MultiSpecModel", "21:07:13.734",
            ngroups=16, obslabel="CEERS MOS pointing 4, G395M/F290LP, 3-shutter slitlet nod"),
    Product("jw01345002001_02101_00001_mirimage_cal.fits", CEERS, MAST_1140,
            "2024-06-20T13:40:26.318", "002001_02101_00001", "MIRI", "MIRIMAGE",
            "MIR_IMAGE", {"FILTER": "F770W"}, "FASTR1", "ImageModel", "10:02:44.195",
            ngroups=20, obslabel="CEERS MIRI parallel"),
    Product("jw01345002001_02103_00001_mirimage_cal.fits", CEERS, MAST_1140,
            "2024-06-20T13:41:03.872", "002001_02103_00001", "MIRI", "MIRIMAGE",
            "MIR_IMAGE", {"FILTER": "F1800W"}, "FASTR1", "ImageModel", "10:39:01.476",
            ngroups=20, obslabel="CEERS MIRI parallel"),

    # Program 02736: MAST products from jwst 1.12.5 / jwst_1183.pmap.
    Product("jw02736-o001_t001_nircam_clear-f200w_i2d.fits", SMACS, MAST_1125,
            "2024-01-09T08:51:37.226", "001001_02101_00001", "NIRCAM", "MULTIPLE",
            "NRC_IMAGE", NRC_F200W, "SHALLOW4", "ImageModel", "03:32:14.112",
            obslabel="SMACS 0723 NIRCam deep field",
            asn=("jw02736-o001_20231212t083311_image3_00001_asn.json",
                 "jw02736_20231212t083311_pool.csv")),
    Product("jw02736003001_02103_00001_nis_cal.fits", SMACS, MAST_1125,
            "2024-01-09T06:12:55.430", "003001_02103_00001", "NIRISS", "NIS",
            "NIS_WFSS", {"FILTER": "GR150C", "PUPIL": "F150W"}, "NIS", "MultiSlitModel",
            "11:58:06.902", ngroups=15, obslabel="SMACS 0723 NIRISS WFSS"),
    # Gzipped as MAST users often keep them; FILENAME keeps the .fits name.
    Product("jw02736003001_02105_00001_nis_cal.fits.gz", SMACS, MAST_1125,
            "2024-01-09T06:13:21.884", "003001_02105_00001", "NIRISS", "NIS",
            "NIS_WFSS", {"FILTER": "GR150R", "PUPIL": "F150W"}, "NIS", "MultiSlitModel",
            "12:41:50.318", ngroups=15, obslabel="SMACS 0723 NIRISS WFSS"),
    Product("jw02736005001_03101_00001_mirifushort_cal.fits", SMACS, MAST_1125,
            "2024-01-09T10:27:09.315", "005001_03101_00001", "MIRI", "MIRIFUSHORT",
            "MIR_MRS", {"CHANNEL": "12", "BAND": "SHORT"}, "FASTR1", "IFUImageModel",
            "16:20:33.507", ngroups=45,
            # Longer than 68 characters: astropy writes CONTINUE cards.
            obslabel="SMACS 0723 MIRI MRS of the lensed arc system 1, all three bands, "
                     "4-point extended-source dither"),
    Product("jw02736005001_03105_00001_mirifulong_cal.fits", SMACS, MAST_1125,
            "2024-01-09T10:27:44.091", "005001_03105_00001", "MIRI", "MIRIFULONG",
            "MIR_MRS", {"CHANNEL": "34", "BAND": "LONG"}, "FASTR1", "IFUImageModel",
            "17:44:02.981", ngroups=45, obslabel="SMACS 0723 MIRI MRS"),

    # Program 01180: reprocessed locally with 1.14.0 against jwst_1225.pmap.
    Product("jw01180021001_03101_00001_nrs1_cal.fits", JADES, LOCAL_1140_OLDCTX,
            "2024-04-17T22:08:51.640", "021001_03101_00001", "NIRSPEC", "NRS1",
            "NRS_IFU", NRS_G395H, "NRSIRS2RAPID", "IFUImageModel", "05:36:17.230",
            ngroups=25, obslabel="JADES IFU"),
    Product("jw01180021001_03101_00001_nrs1_s3d.fits", JADES, LOCAL_1140_OLDCTX,
            "2024-04-17T22:11:30.019", "021001_03101_00001", "NIRSPEC", "NRS1",
            "NRS_IFU", NRS_G395H, "NRSIRS2RAPID", "IFUCubeModel", "05:36:17.230",
            ngroups=25, obslabel="JADES IFU"),
    Product("jw01180012001_02101_00001_nis_cal.fits", JADES, LOCAL_1140_OLDCTX,
            "2024-04-17T20:54:12.775", "012001_02101_00001", "NIRISS", "NIS",
            "NIS_IMAGE", {"FILTER": "CLEAR", "PUPIL": "F150W"}, "NIS", "ImageModel",
            "02:48:39.466", ngroups=10, obslabel="JADES NIRISS parallel"),
    Product("jw01180012001_02101_00002_nis_cal.fits", JADES, LOCAL_1140_OLDCTX,
            "2024-04-17T20:54:40.103", "012001_02101_00002", "NIRISS", "NIS",
            "NIS_IMAGE", {"FILTER": "CLEAR", "PUPIL": "F150W"}, "NIS", "ImageModel",
            "03:05:11.902", ngroups=10, obslabel="JADES NIRISS parallel"),

    # Program 01366: grism time series, split into segments as large TSO files are.
    Product("jw01366002001_04103_00001-seg001_nrcalong_calints.fits", WASP39, MAST_1140,
            "2024-06-22T05:30:18.944", "002001_04103_00001", "NIRCAM", "NRCALONG",
            "NRC_TSGRISM", {"FILTER": "F322W2", "PUPIL": "GRISMR"}, "RAPID", "CubeModel",
            "20:46:09.161", nints=366, ngroups=12, subarray="SUBGRISM64",
            tsovisit=True, segment=(1, 2, 1, 183), obslabel="WASP-39b transit"),
    Product("jw01366002001_04103_00001-seg002_nrcalong_calints.fits", WASP39, MAST_1140,
            "2024-06-22T05:31:02.517", "002001_04103_00001", "NIRCAM", "NRCALONG",
            "NRC_TSGRISM", {"FILTER": "F322W2", "PUPIL": "GRISMR"}, "RAPID", "CubeModel",
            "20:46:09.161", nints=366, ngroups=12, subarray="SUBGRISM64",
            tsovisit=True, segment=(2, 2, 184, 366), obslabel="WASP-39b transit"),
]

# Written truncated into broken/: a NIRCam B-module file of program 01345.
BROKEN = Product("jw01345001001_02101_00002_nrcb1_cal.fits", CEERS, MAST_1140,
                 "2024-06-20T11:03:55.310", "001001_02101_00002", "NIRCAM", "NRCB1",
                 "NRC_IMAGE", NRC_F200W, "MEDIUM8", "ImageModel", "09:31:28.020",
                 obslabel="CEERS EGS NIRCam pointing 1")


# --- Building a file from a row ----------------------------------------------

def ref_file_name(product, reftype):
    """Invented but stable reference file number per instrument/detector/type."""
    ext = "asdf" if reftype in ASDF_REFTYPES else "json" if reftype in JSON_REFTYPES else "fits"
    key = f"{product.instrument}:{product.detector}:{reftype}".encode()
    number = 1 + zlib.crc32(key) % 900  # crc32, unlike hash(), is stable across runs
    return f"crds://jwst_{product.instrument.lower()}_{reftype}_{number:04d}.{ext}"


def section(title):
    """A blank / title / blank group, as stdatamodels separates header sections."""
    return [fits.Card("", ""), fits.Card("", title), fits.Card("", "")]


def identity_cards(p):
    program, obs_visit = p.program.number, p.ident.split("_")[0]
    group_seq_act, exposure = p.ident.split("_")[1:]
    cards = section("Observation identifiers") + [
        fits.Card("PROGRAM", program, "Program number"),
        fits.Card("OBSERVTN", obs_visit[:3], "Observation number"),
        fits.Card("VISIT", obs_visit[3:], "Visit number"),
        fits.Card("VISITGRP", group_seq_act[:2], "Visit group identifier"),
        fits.Card("SEQ_ID", group_seq_act[2], "Parallel sequence identifier"),
        fits.Card("ACT_ID", group_seq_act[3:], "Activity identifier"),
        fits.Card("EXPOSURE", str(int(exposure)), "Exposure request number"),
        fits.Card("TEMPLATE", INSTRUMENT_TEMPLATE[p.exp_type], "Observation template used"),
        fits.Card("OBSLABEL", p.obslabel, "Proposer label for the observation"),
        fits.Card("OBS_ID", f"V{program}{obs_visit}P00000000{group_seq_act}",
                  "Programmatic observation identifier"),
        fits.Card("DATE-OBS", p.program.date_obs, "[yyyy-mm-dd] UTC date at start of exposure"),
        fits.Card("TIME-OBS", p.time_obs, "[hh:mm:ss.sss] UTC time at start of exposure"),
    ]
    cards += section("Target information") + [
        fits.Card("TARGPROP", p.program.targprop, "Proposer's name for the target"),
        fits.Card("TARGNAME", p.program.targname,
                  "Standard astronomical catalog name for target"),
    ]
    return cards


def instrument_cards(p):
    comments = {"FILTER": "Name of the filter element used",
                "PUPIL": "Name of the pupil element used",
                "GRATING": "Name of the grating element used",
                "CHANNEL": "Instrument channel", "BAND": "MRS wavelength band"}
    cards = section("Instrument configuration information") + [
        fits.Card("INSTRUME", p.instrument, "Instrument used to acquire the data"),
        fits.Card("DETECTOR", p.detector, "Name of detector used to acquire the data"),
    ]
    cards += [fits.Card(k, p.optics[k], comments[k]) for k in comments if k in p.optics]
    cards += section("Exposure parameters") + [
        fits.Card("EXP_TYPE", p.exp_type, "Type of data in the exposure"),
        fits.Card("READPATT", p.readpatt, "Readout pattern"),
        fits.Card("NINTS", p.nints, "Number of integrations in exposure"),
        fits.Card("NGROUPS", p.ngroups, "Number of groups in integration"),
    ]
    if p.segment:
        segnum, segtot, intstart, intend = p.segment
        cards += [
            fits.Card("EXSEGNUM", segnum, "Sequential segment number"),
            fits.Card("EXSEGTOT", segtot, "Total number of segments"),
            fits.Card("INTSTART", intstart, "Starting integration number in this segment"),
            fits.Card("INTEND", intend, "Ending integration number in this segment"),
        ]
    cards += section("Subarray parameters") + [
        fits.Card("SUBARRAY", p.subarray, "Subarray used"),
    ]
    cards += section("Visit information") + [
        fits.Card("TSOVISIT", p.tsovisit, "Time Series Observation visit indicator"),
    ]
    return cards


def reference_cards(p):
    """R_* cards: crds://<file> for the mode's types, N/A for the others."""
    relevant = MODE_REFTYPES[p.exp_type] | SUFFIX_REFTYPES.get(p.suffix, set())
    cards = section("Reference file information")
    for keyword, (reftype, comment) in R_KEYWORDS.items():
        if reftype in relevant:
            value = p.ref_overrides.get(keyword, ref_file_name(p, reftype))
        elif keyword in R_BASE:
            value = "N/A"
        else:
            continue
        cards.append(fits.Card(keyword, value, comment))
    return cards


def step_cards(p):
    """S_* cards in schema order, from the mode's and the product's steps."""
    status = {**MODE_STEPS[p.exp_type], **SUFFIX_STEPS.get(p.suffix, {})}
    return section("Calibration step information") + [
        fits.Card(k, status[k], comment) for k, comment in S_KEYWORDS.items() if k in status
    ]


def primary_header(p):
    run, calibrated = p.run, p.run.cal_ver is not None
    cards = [
        fits.Card("DATE", p.date, "UTC date file created"),
        fits.Card("ORIGIN", "STSCI", "Organization responsible for creating file"),
        fits.Card("TIMESYS", "UTC", "principal time system for time-related keywords"),
        fits.Card("TIMEUNIT", "s", "Default unit applicable to all time values"),
        fits.Card("FILENAME", p.name.removesuffix(".gz"), "Name of the file"),
    ]
    if calibrated:  # level-1b files have no FILETYPE, as in real uncal headers
        cards.append(fits.Card("FILETYPE", "calibrated", "Type of data in the file"))
    cards += [
        fits.Card("DATAMODL", p.datamodel, "Type of data model"),
        fits.Card("TELESCOP", "JWST", "Telescope used to acquire the data"),
    ]
    if calibrated:
        cards += [fits.Card("CAL_VER", run.cal_ver, "Calibration Software Version"),
                  fits.Card("CAL_VCS", "RELEASE", "Calibration Software Repository Version")]
    cards += [
        fits.Card("SDP_VER", run.sdp_ver, "Data Processing (DP) Software Version"),
        fits.Card("PRD_VER", run.prd_ver, "S&OC Project Reference Database (PRD) Version"),
    ]
    if calibrated:
        cards += [
            fits.Card("CRDS_VER", run.crds_ver, "Version of CRDS file selection software used"),
            fits.Card("CRDS_CTX", run.crds_ctx, "CRDS context (.pmap) used to select ref files"),
        ]
    if p.asn:
        cards += section("Association information") + [
            fits.Card("ASNTABLE", p.asn[0], "Name of the ASN table"),
            fits.Card("ASNPOOL", p.asn[1], "Name of the ASN pool"),
        ]
    cards += identity_cards(p) + instrument_cards(p)
    if calibrated:
        cards += reference_cards(p) + step_cards(p)
    return fits.Header(cards)


def ramp(shape, dtype, scale=1.0, offset=0.0):
    """Deterministic smooth 'pixel values' (no random generator involved)."""
    values = np.arange(np.prod(shape), dtype=np.float64).reshape(shape)
    return (offset + scale * np.sin(values / 7.0) ** 2).astype(dtype)


def data_hdus(p):
    """A tiny extension that makes the file look like its product type."""
    if p.suffix == "uncal":
        return [fits.ImageHDU(ramp((1, 3, 4, 4), np.uint16, 900, 12000), name="SCI")]
    if p.suffix == "x1d":
        wavelength = np.linspace(2.87, 5.27, 8)
        table = fits.BinTableHDU.from_columns([
            fits.Column("WAVELENGTH", "D", unit="um", array=wavelength),
            fits.Column("FLUX", "D", unit="Jy", array=ramp((8,), np.float64, 2e-6, 1e-6)),
        ], name="EXTRACT1D")
        return [table]
    shape = {"s3d": (4, 8, 8), "calints": (2, 8, 8)}.get(p.suffix, (8, 8))
    sci = fits.ImageHDU(ramp(shape, np.float32, 0.5, 0.1), name="SCI")
    sci.header["BUNIT"] = ("MJy/sr", "physical units of the array values")
    hdus = [sci]
    if p.suffix == "i2d":
        # A combined product lists its inputs' provenance in HDRTAB.
        inputs = [f"jw02736001001_02101_00001_nrc{d}_cal.fits" for d in ("a1", "a2", "a3")]
        hdus.append(fits.BinTableHDU.from_columns([
            fits.Column("FILENAME", "40A", array=inputs),
            fits.Column("CAL_VER", "8A", array=[p.run.cal_ver] * 3),
            fits.Column("CRDS_CTX", "16A", array=[p.run.crds_ctx] * 3),
            fits.Column("DETECTOR", "8A", array=["NRCA1", "NRCA2", "NRCA3"]),
        ], name="HDRTAB"))
    return hdus


def fits_bytes(p):
    hdul = fits.HDUList([fits.PrimaryHDU(header=primary_header(p))] + data_hdus(p))
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # Long comments get truncated to fit the card, as in real headers.
        warnings.simplefilter("ignore", fits.verify.VerifyWarning)
        hdul.writeto(buffer)
    return buffer.getvalue()


def write(path, content, compress=False):
    if compress:
        # mtime=0 keeps the gzip header, and so the file, identical across runs.
        buffer = io.BytesIO()
        with gzip.GzipFile(filename=path.stem, mode="wb", fileobj=buffer, mtime=0) as gz:
            gz.write(content)
        content = buffer.getvalue()
    path.write_bytes(content)


def main():
    outputs = [DATA_DIR / p.name for p in PRODUCTS] + [BROKEN_DIR / BROKEN.name]
    for path in outputs:  # remove only what this script writes
        path.unlink(missing_ok=True)
    DATA_DIR.mkdir(exist_ok=True)
    BROKEN_DIR.mkdir(exist_ok=True)

    for p in PRODUCTS:
        write(DATA_DIR / p.name, fits_bytes(p), compress=p.name.endswith(".gz"))
    write(BROKEN_DIR / BROKEN.name, fits_bytes(BROKEN)[:BROKEN_KEEP_BYTES])

    for path in outputs:
        print(f"{path.stat().st_size:8d}  {path.relative_to(HERE)}")


if __name__ == "__main__":
    main()
