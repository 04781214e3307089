"""Real JWST headers written by others (../shared/fixtures): the scan agrees with astropy."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from astropy.io import fits

import reporter
from reporter.headers import CORE_KEYWORDS

HEADERS = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "headers"
pytestmark = pytest.mark.skipif(
    not HEADERS.is_dir(), reason=f"the shared fixtures folder {HEADERS} is not present")
FILES = sorted(HEADERS.glob("*.fits*")) if HEADERS.is_dir() else []


@pytest.fixture(scope="module")
def inventory():
    return reporter.scan([str(HEADERS)], jobs=1)


def astropy_header(path: Path) -> fits.Header:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fits.getheader(path)


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.name)
def test_scan_agrees_with_astropy_on_every_extracted_keyword(path):
    record = reporter.read_record(str(path))
    assert record.ok, record.error
    header = astropy_header(path)
    expected = {key: header[key] for key in header
                if key in CORE_KEYWORDS or key[:2] in ("R_", "S_")}
    found = {**record.keywords.to_dict(), **record.reference_files.to_dict(),
             **record.step_status.to_dict()}
    assert found == expected
    assert {key: type(value) for key, value in found.items()} == \
        {key: type(value) for key, value in expected.items()}


def test_every_fixture_is_read(inventory):
    assert len(inventory) == len(FILES)
    assert inventory.failed == []


def test_fgs_guider_files_show_two_contexts(inventory):
    guider = [r for r in inventory if "fgs_" in Path(r.path).name and "guider" in r.path]
    assert len(guider) == 5
    assert {r.crds_ctx for r in guider} == {"jwst_0842.pmap", "jwst_0818.pmap"}
    assert {r.instrument for r in guider} == {"FGS"}
    assert {r.mode for r in guider} == {"guide star"}


def test_level_1b_files_have_no_cal_ver_and_no_error(inventory):
    level1b = [r for r in inventory if r.path.endswith("_uncal.fits") or "acq1.fits" in r.path]
    assert level1b, "the fixtures hold level-1b files"
    for record in level1b:
        assert record.ok
        assert record.cal_ver is None and record.crds_ctx is None
        assert "CAL_VER" not in record.keywords


def test_continue_card_filename_is_joined(inventory):
    [record] = [r for r in inventory if "GRISMR_crossing" in r.path]
    assert record.keywords["FILENAME"] == astropy_header(Path(record.path))["FILENAME"]
    assert record.mode == "WFSS" and record.suffix == "rate"


def test_development_versions_are_kept_verbatim(inventory):
    versions = {r.cal_ver for r in inventory if r.cal_ver}
    assert {"0.7.0rc2.dev6", "0.12.0a.dev134+g9fd36628",
            "1.17.1.dev1143+gb0660ee76.d20250508"} <= versions


def test_header_without_instrume_has_no_instrument_but_a_mode(inventory):
    [record] = [r for r in inventory if "add_wcs_with_mast_fgs1" in r.path]
    assert "INSTRUME" not in record.keywords and "TELESCOP" not in record.keywords
    # EXP_TYPE = MIR_IMAGE still tells the instrument and mode.
    assert record.instrument == "MIRI" and record.mode == "imaging"
