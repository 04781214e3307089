"""Instrument, mode and product suffix; and the knowledge files they come from."""

from __future__ import annotations

import csv
import re
from datetime import date
from importlib import resources

import pytest

from reporter.modes import (
    exposure_types, instrument_name, observing_mode, product_suffix, product_suffixes,
)

MODES = {"imaging", "coronagraphy", "time-series imaging", "grism time series", "WFSS",
         "MRS", "LRS", "SOSS", "AMI", "MOS", "IFU", "fixed slit", "BOTS",
         "target acquisition", "calibration", "guide star", "engineering"}


@pytest.mark.parametrize("exp_type, tsovisit, instrument, mode", [
    ("NRC_IMAGE", False, "NIRCam", "imaging"),
    ("NRC_CORON", None, "NIRCam", "coronagraphy"),
    ("NRC_TSIMAGE", True, "NIRCam", "time-series imaging"),
    ("NRC_TSGRISM", True, "NIRCam", "grism time series"),
    ("NRC_WFSS", None, "NIRCam", "WFSS"),
    ("MIR_IMAGE", None, "MIRI", "imaging"),
    ("MIR_IMAGE", True, "MIRI", "time-series imaging"),
    ("MIR_MRS", None, "MIRI", "MRS"),
    ("MIR_LRS-SLITLESS", True, "MIRI", "LRS"),
    ("MIR_4QPM", None, "MIRI", "coronagraphy"),
    ("NIS_SOSS", True, "NIRISS", "SOSS"),
    ("NIS_AMI", None, "NIRISS", "AMI"),
    ("NIS_WFSS", None, "NIRISS", "WFSS"),
    ("NRS_MSASPEC", None, "NIRSpec", "MOS"),
    ("NRS_IFU", None, "NIRSpec", "IFU"),
    ("NRS_FIXEDSLIT", None, "NIRSpec", "fixed slit"),
    ("NRS_BRIGHTOBJ", True, "NIRSpec", "BOTS"),
    ("NRS_MSATA", None, "NIRSpec", "target acquisition"),
    ("NRS_DARK", None, "NIRSpec", "calibration"),
    ("FGS_FINEGUIDE", None, "FGS", "guide star"),
    ("nrc_image", None, "NIRCam", "imaging"),  # case and padding do not matter
])
def test_mode_from_exp_type(exp_type, tsovisit, instrument, mode):
    assert observing_mode(exp_type, tsovisit) == mode
    assert instrument_name(None, exp_type) == instrument


@pytest.mark.parametrize("exp_type", [None, "", "NRC_NEWMODE", 42])
def test_unknown_exp_type_has_no_mode(exp_type):
    assert observing_mode(exp_type) is None


def test_instrume_wins_over_exp_type_and_is_shown_by_its_name():
    assert instrument_name("NIRSPEC", "NRC_IMAGE") == "NIRSpec"
    assert instrument_name("NEWINSTR") == "NEWINSTR"
    assert instrument_name(None, None) is None


@pytest.mark.parametrize("name, suffix", [
    ("jw01345001001_02101_00001_nrca1_cal.fits", "cal"),
    ("jw01345001001_02101_00001_nrca1_rate.fits.gz", "rate"),
    ("data/jw01366002001_04103_00001-seg001_nrcalong_calints.fits", "calints"),
    ("jw02736-o001_t001_nircam_clear-f200w_i2d.fits", "i2d"),
    ("jw01345-o004_s00001_nirspec_f290lp-g395m_x1d.FITS", "x1d"),
    ("jw87600-a3001_t001_niriss_f480m-nrm_amiavg.fits", "amiavg"),
    ("jw01345-o004_s00001_nirspec_f290lp-g395m_x1d-01.fits", "x1d"),
    ("det_image_seq1_MIRIMAGE_F560Wexp1_cal.fits.gz", "cal"),
    ("add_wcs_default_acq1.fits", None),
    ("notes.txt", None),
])
def test_product_suffix_from_file_name(name, suffix):
    assert product_suffix(name) == suffix


def knowledge_rows(name):
    text = resources.files("reporter.knowledge").joinpath(name).read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


@pytest.mark.parametrize("name, key", [("exptype_modes.csv", "exp_type"),
                                       ("product_suffixes.csv", "suffix")])
def test_knowledge_rows_are_unique_sourced_and_dated(name, key):
    rows = knowledge_rows(name)
    assert rows
    keys = [row[key] for row in rows]
    assert len(keys) == len(set(keys)), "duplicate rows"
    for row in rows:
        assert row["source"].strip(), f"{row[key]} has no source"
        assert date.fromisoformat(row["checked"]) <= date.today()
        assert all(value == value.strip() for value in row.values())


def test_exposure_types_name_known_instruments_and_modes():
    types = exposure_types()
    assert {t.instrument for t in types.values()} == {"NIRCam", "NIRSpec", "NIRISS", "MIRI", "FGS"}
    assert {t.mode for t in types.values()} <= MODES
    prefixes = {"NRC": "NIRCam", "NRS": "NIRSpec", "NIS": "NIRISS", "MIR": "MIRI", "FGS": "FGS"}
    for exp_type, known in types.items():
        assert re.fullmatch(r"[A-Z0-9_-]+", exp_type)
        assert prefixes[exp_type[:3]] == known.instrument


def test_suffixes_have_a_stage():
    assert {row["stage"] for row in product_suffixes().values()} <= {"0", "1", "2", "3"}
