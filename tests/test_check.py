"""``check``: one table of cases per rule (records in, codes / files / messages out),
the order of findings and the exit threshold, ``--as-of``, the example dataset, the
real headers of ../shared/fixtures and the three renderers.

Records are built in memory (``rec``): no FITS file is needed for the rule tables.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import pytest

import reporter
from reporter.checks import SEVERITY_ORDER, Finding, check
from reporter.findings import failed, format_json, format_markdown, format_text
from reporter.inventory import Inventory
from reporter.knowledge import context_number, load_knowledge
from reporter.records import KeywordMap, ProvenanceRecord

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "data"
BROKEN = ROOT / "examples" / "broken"
HEADERS = ROOT.parent / "shared" / "fixtures" / "headers"

KNOWLEDGE = load_knowledge()
NEWEST_OPS = KNOWLEDGE.newest_operational_build()
NEWEST_CTX = context_number(NEWEST_OPS.build_context)

# Keyword names that are not Python identifiers.
_ALIASES = {"DATE_OBS": "DATE-OBS"}


def rec(path: str, *, error_code: str | None = None, error: str | None = None,
        size: int | None = None, **keywords) -> ProvenanceRecord:
    """A record as the scan would make it. ``R_*`` keys go to reference_files, ``S_*``
    to step_status, the rest to the core keywords; a value of ``None`` leaves the
    keyword out of the header; ``DATE_OBS`` stands for ``DATE-OBS``."""
    core: dict[str, object] = {}
    refs: dict[str, object] = {}
    steps: dict[str, object] = {}
    for key, value in keywords.items():
        if value is None:
            continue
        key = _ALIASES.get(key, key)
        target = refs if key.startswith("R_") else steps if key.startswith("S_") else core
        target[key] = value
    return ProvenanceRecord.build(path, KeywordMap.from_dict(core), KeywordMap.from_dict(refs),
                                  KeywordMap.from_dict(steps), size=size,
                                  error_code=error_code, error=error)


#: A file that is fine by every rule: released, operational, current, processed late.
CLEAN = {"CAL_VER": NEWEST_OPS.cal_ver, "CAL_VCS": "RELEASE", "CRDS_CTX": NEWEST_OPS.build_context,
         "PROGRAM": "01234", "DATE": "2025-11-01T12:00:00.000"}
NRC_IMAGE = {"INSTRUME": "NIRCAM", "EXP_TYPE": "NRC_IMAGE", "DETECTOR": "NRCA1"}
NRC_WFSS = {"INSTRUME": "NIRCAM", "EXP_TYPE": "NRC_WFSS"}
NRC_TSGRISM = {"INSTRUME": "NIRCAM", "EXP_TYPE": "NRC_TSGRISM", "TSOVISIT": True}
MIR_IMAGE = {"INSTRUME": "MIRI", "EXP_TYPE": "MIR_IMAGE"}
MIR_MRS = {"INSTRUME": "MIRI", "EXP_TYPE": "MIR_MRS"}
NIS_WFSS = {"INSTRUME": "NIRISS", "EXP_TYPE": "NIS_WFSS"}
NIS_AMI = {"INSTRUME": "NIRISS", "EXP_TYPE": "NIS_AMI"}
NRS_MOS = {"INSTRUME": "NIRSPEC", "EXP_TYPE": "NRS_MSASPEC"}
NRS_FS = {"INSTRUME": "NIRSPEC", "EXP_TYPE": "NRS_FIXEDSLIT"}
NRS_BOTS = {"INSTRUME": "NIRSPEC", "EXP_TYPE": "NRS_BRIGHTOBJ", "TSOVISIT": True}


def cal(path: str, *presets: dict, **keywords) -> ProvenanceRecord:
    """A calibrated product: CLEAN, then the presets, then ``keywords`` (None removes one)."""
    merged: dict[str, object] = dict(CLEAN)
    for preset in presets:
        merged.update(preset)
    merged.update(keywords)
    return rec(path, **merged)


def ctx(number: int) -> str:
    return f"jwst_{number:04d}.pmap"


def run(records, knowledge=KNOWLEDGE) -> list[Finding]:
    return check(Inventory(records), knowledge)


def test_a_clean_file_has_no_findings():
    assert run([cal("ok_cal.fits", NRC_IMAGE)]) == []


# ---------------------------------------------------------------------------
# The rule table: records → for one code, the files of each finding (one tuple per
# finding, in any order) and text every message of that code must contain.

def case(id_, records, code, files, *fragments):
    return pytest.param(records, code, files, fragments, id=id_)


CASES = [
    # JP001: unreadable, one finding per error code.
    case("JP001-grouped-by-error-code",
         [rec("a_cal.fits", error_code="truncated", error="truncated: ends after 4000 bytes"),
          rec("b_cal.fits", error_code="truncated", error="truncated: ends after 2880 bytes"),
          rec("c_cal.fits", error_code="not-fits", error="not-fits: no SIMPLE card"),
          cal("ok_cal.fits", NRC_IMAGE)],
         "JP001", [("a_cal.fits", "b_cal.fits"), ("c_cal.fits",)],
         "could not be read"),
    case("JP001-none-when-all-read", [cal("ok_cal.fits", NRC_IMAGE)], "JP001", []),
    # JP002: missing CAL_VER / CRDS_CTX.
    case("JP002-missing-both",
         [cal("a_cal.fits", NRC_IMAGE, CAL_VER=None, CRDS_CTX=None)], "JP002", [("a_cal.fits",)],
         "no CAL_VER or CRDS_CTX"),
    case("JP002-missing-context",
         [cal("a_cal.fits", NRC_IMAGE, CRDS_CTX=None)], "JP002", [("a_cal.fits",)],
         "1 file has no CRDS_CTX"),
    case("JP002-two-kinds-two-findings",
         [cal("a_cal.fits", NRC_IMAGE, CRDS_CTX=None), cal("b_cal.fits", NRC_IMAGE, CAL_VER=None),
          cal("c_cal.fits", NRC_IMAGE, CAL_VER=None)],
         "JP002", [("b_cal.fits", "c_cal.fits"), ("a_cal.fits",)]),
    case("JP002-not-for-level-1b",
         [cal("a_uncal.fits", NRC_IMAGE, CAL_VER=None, CRDS_CTX=None)], "JP002", []),
    case("JP002-not-for-unreadable",
         [rec("a_cal.fits", error_code="truncated", error="truncated")], "JP002", []),
    case("JP002-none-when-complete", [cal("a_cal.fits", NRC_IMAGE)], "JP002", []),
    # JP003: level-1b, by the path or by the FILENAME keyword.
    case("JP003-uncal-path",
         [cal("jw01_nrca1_uncal.fits", NRC_IMAGE, CAL_VER=None, CRDS_CTX=None)],
         "JP003", [("jw01_nrca1_uncal.fits",)], "1 level-1b file (_uncal)"),
    case("JP003-uncal-filename-keyword",
         [cal("renamed_acq1.fits", NRC_IMAGE, CAL_VER=None, CRDS_CTX=None,
              FILENAME="jw01019001001_gs-acq1_2022117003102_uncal.fits")],
         "JP003", [("renamed_acq1.fits",)]),
    case("JP003-not-for-cal-product",
         [cal("a_cal.fits", NRC_IMAGE, CAL_VER=None, CRDS_CTX=None, FILENAME="a_cal.fits")],
         "JP003", []),
    case("JP003-not-when-uncal-has-provenance",
         [cal("a_uncal.fits", NRC_IMAGE)], "JP003", []),
    # JP101: below the minimum context of Table 1.
    case("JP101-miri-imaging-fastr1-full-below",
         [cal("m_cal.fits", MIR_IMAGE, READPATT="FASTR1", SUBARRAY="FULL",
              CRDS_CTX="jwst_0900.pmap")],
         "JP101", [("m_cal.fits",)],
         "jwst_0913.pmap", "jwst_0900.pmap", "READPATT = FASTR1, SUBARRAY = FULL",
         "1 MIRI imaging file was"),
    case("JP101-miri-imaging-fastr1-full-at-minimum",
         [cal("m_cal.fits", MIR_IMAGE, READPATT="FASTR1", SUBARRAY="FULL",
              CRDS_CTX="jwst_0913.pmap")], "JP101", []),
    case("JP101-miri-imaging-sub256-not-full-frame-row",
         [cal("m_cal.fits", MIR_IMAGE, READPATT="FASTR1", SUBARRAY="SUB256",
              CRDS_CTX="jwst_0900.pmap", DATE="2022-07-01T00:00:00")], "JP101", []),
    case("JP101-miri-imaging-slowr1-not-fastr1-row",
         [cal("m_cal.fits", MIR_IMAGE, READPATT="SLOWR1", SUBARRAY="FULL",
              CRDS_CTX="jwst_0900.pmap")], "JP101", []),
    case("JP101-niriss-ami-below",
         [cal("a_ami.fits", NIS_AMI, CRDS_CTX="jwst_0894.pmap"),
          cal("b_ami.fits", NIS_AMI, CRDS_CTX="jwst_0850.pmap")],
         "JP101", [("a_ami.fits", "b_ami.fits")],
         "2 NIRISS AMI files were", "jwst_0850.pmap, jwst_0894.pmap", "older than jwst_0895.pmap"),
    case("JP101-niriss-ami-at-minimum",
         [cal("a_ami.fits", NIS_AMI, CRDS_CTX="jwst_0895.pmap")], "JP101", []),
    # JP102: processed before the in-progress date.
    case("JP102-miri-imaging-sub256-before-july-2022",
         [cal("m_cal.fits", MIR_IMAGE, READPATT="FASTR1", SUBARRAY="SUB256",
              CRDS_CTX="jwst_0900.pmap", DATE="2022-07-01T00:00:00")],
         "JP102", [("m_cal.fits",)], "before July 2022", "2022-07-01"),
    case("JP102-miri-imaging-sub256-after-july-2022",
         [cal("m_cal.fits", MIR_IMAGE, READPATT="FASTR1", SUBARRAY="SUB256",
              CRDS_CTX="jwst_0900.pmap", DATE="2022-08-15T00:00:00")], "JP102", []),
    case("JP102-nirspec-mos-2022-03",
         [cal("n_cal.fits", NRS_MOS, CRDS_CTX="jwst_0800.pmap", DATE="2022-03-01T10:00:00")],
         "JP102", [("n_cal.fits",)],
         "1 NIRSpec MOS file was processed (the last on 2022-03-01) before July 2022",
         "in progress"),
    case("JP102-nirspec-mos-2023",
         [cal("n_cal.fits", NRS_MOS, CRDS_CTX="jwst_0800.pmap", DATE="2023-01-01T10:00:00")],
         "JP102", []),
    case("JP102-nirspec-mos-no-date",
         [cal("n_cal.fits", NRS_MOS, CRDS_CTX="jwst_0800.pmap", DATE=None)], "JP102", []),
    case("JP102-nirspec-mos-unparseable-date",
         [cal("n_cal.fits", NRS_MOS, CRDS_CTX="jwst_0800.pmap", DATE="yesterday morning")],
         "JP102", []),
    # JP201: NIRISS WFSS wavelength offset.
    case("JP201-gr150c-1183",
         [cal("w_cal.fits", NIS_WFSS, FILTER="GR150C", CRDS_CTX="jwst_1183.pmap")],
         "JP201", [("w_cal.fits",)], "jwst_1183.pmap, below jwst_1228.pmap"),
    case("JP201-gr150r-lower-case-filter",
         [cal("w_cal.fits", NIS_WFSS, FILTER="gr150r", CRDS_CTX="jwst_1183.pmap")],
         "JP201", [("w_cal.fits",)]),
    case("JP201-gr150c-1228", [cal("w_cal.fits", NIS_WFSS, FILTER="GR150C",
                                   CRDS_CTX="jwst_1228.pmap")], "JP201", []),
    case("JP201-filter-clear", [cal("w_cal.fits", NIS_WFSS, FILTER="CLEAR",
                                    CRDS_CTX="jwst_1183.pmap")], "JP201", []),
    case("JP201-no-filter", [cal("w_cal.fits", NIS_WFSS, CRDS_CTX="jwst_1183.pmap")], "JP201", []),
    # JP202: NIRISS AMI charge migration (undated).
    case("JP202-ami-1253", [cal("a_ami.fits", NIS_AMI, CRDS_CTX="jwst_1253.pmap")],
         "JP202", [("a_ami.fits",)], "below jwst_1254.pmap"),
    case("JP202-ami-1254", [cal("a_ami.fits", NIS_AMI, CRDS_CTX="jwst_1254.pmap")], "JP202", []),
    # JP203 / JP204: MIRI MRS masks.
    case("JP204-mrs-observed-2024-06-at-1241",
         [cal("r_cal.fits", MIR_MRS, CRDS_CTX="jwst_1241.pmap", DATE_OBS="2024-06-01")],
         "JP204", [("r_cal.fits",)], "below jwst_1277.pmap"),
    case("JP204-mrs-observed-on-the-day",
         [cal("r_cal.fits", MIR_MRS, CRDS_CTX="jwst_1241.pmap", DATE_OBS="2024-05-14")],
         "JP204", [("r_cal.fits",)]),
    case("JP204-mrs-observed-2024-05-01",
         [cal("r_cal.fits", MIR_MRS, CRDS_CTX="jwst_1241.pmap", DATE_OBS="2024-05-01")],
         "JP204", []),
    case("JP204-mrs-no-date-obs",
         [cal("r_cal.fits", MIR_MRS, CRDS_CTX="jwst_1241.pmap")], "JP204", []),
    case("JP204-mrs-at-1277",
         [cal("r_cal.fits", MIR_MRS, CRDS_CTX="jwst_1277.pmap", DATE_OBS="2024-06-01")],
         "JP204", []),
    case("JP203-not-at-1241",
         [cal("r_cal.fits", MIR_MRS, CRDS_CTX="jwst_1241.pmap", DATE_OBS="2024-05-01")],
         "JP203", []),
    case("JP203-below-1185",
         [cal("r_cal.fits", MIR_MRS, CRDS_CTX="jwst_1184.pmap", DATE_OBS="2024-05-01")],
         "JP203", [("r_cal.fits",)], "below jwst_1185.pmap"),
    case("JP204-not-for-early-observation-below-1185",
         [cal("r_cal.fits", MIR_MRS, CRDS_CTX="jwst_1184.pmap", DATE_OBS="2024-05-01")],
         "JP204", []),
    # JP205: NIRSpec fixed slit / BOTS pathloss.
    case("JP205-fixed-slit-1278",
         [cal("s_cal.fits", NRS_FS, CRDS_CTX="jwst_1278.pmap"),
          cal("b_calints.fits", NRS_BOTS, CRDS_CTX="jwst_1200.pmap")],
         "JP205", [("s_cal.fits", "b_calints.fits")], "below jwst_1279.pmap"),
    case("JP205-fixed-slit-1279", [cal("s_cal.fits", NRS_FS, CRDS_CTX="jwst_1279.pmap")],
         "JP205", []),
    case("JP205-only-the-s200a-slits",
         [cal("a1_cal.fits", NRS_FS, FXD_SLIT="S200A1", CRDS_CTX="jwst_1278.pmap"),
          cal("a2_cal.fits", NRS_FS, FXD_SLIT="S200A2", CRDS_CTX="jwst_1278.pmap"),
          cal("b1_cal.fits", NRS_FS, FXD_SLIT="S200B1", CRDS_CTX="jwst_1278.pmap"),
          cal("w_cal.fits", NRS_FS, FXD_SLIT="S400A1", CRDS_CTX="jwst_1278.pmap"),
          cal("x_calints.fits", NRS_BOTS, FXD_SLIT="S1600A1", CRDS_CTX="jwst_1200.pmap"),
          cal("u_cal.fits", NRS_FS, CRDS_CTX="jwst_1278.pmap")],  # slit not recorded
         "JP205", [("a1_cal.fits", "a2_cal.fits", "u_cal.fits")], "below jwst_1279.pmap"),
    case("JP205-not-for-mos", [cal("n_cal.fits", NRS_MOS, CRDS_CTX="jwst_1200.pmap")],
         "JP205", []),
    # JP206: NIRCam long-wavelength grism flats.
    case("JP206-wfss-nrcalong-1241",
         [cal("g_cal.fits", NRC_WFSS, DETECTOR="NRCALONG", CRDS_CTX="jwst_1241.pmap"),
          cal("t_calints.fits", NRC_TSGRISM, DETECTOR="NRCBLONG", CRDS_CTX="jwst_1241.pmap")],
         "JP206", [("g_cal.fits", "t_calints.fits")]),
    case("JP206-wfss-nrca1", [cal("g_cal.fits", NRC_WFSS, DETECTOR="NRCA1",
                                  CRDS_CTX="jwst_1241.pmap")], "JP206", []),
    case("JP206-imaging-nrcalong", [cal("i_cal.fits", NRC_IMAGE, DETECTOR="NRCALONG",
                                        CRDS_CTX="jwst_1241.pmap")], "JP206", []),
    # JP301: unreleased builds.
    case("JP301-local-dev-version",
         [cal("d_cal.fits", NRC_IMAGE, CAL_VER="1.17.1.dev1143+gb0660ee76.d20250508",
              CAL_VCS=None)],
         "JP301", [("d_cal.fits",)], "jwst 1.17.1.dev1143+gb0660ee76.d20250508",
         "unreleased build"),
    case("JP301-dev-version",
         [cal("d_cal.fits", NRC_IMAGE, CAL_VER="1.1.1.dev116+g31775f1f", CAL_VCS="31775f1f")],
         "JP301", [("d_cal.fits",)], "1.1.1.dev116+g31775f1f"),
    case("JP301-released-version-with-commit",
         [cal("d_cal.fits", NRC_IMAGE, CAL_VER="1.14.0", CAL_VCS="a1b2c3d")],
         "JP301", [("d_cal.fits",)], "jwst 1.14.0"),
    case("JP301-released-version-release",
         [cal("d_cal.fits", NRC_IMAGE, CAL_VER="1.14.0", CAL_VCS="RELEASE")], "JP301", []),
    case("JP301-released-version-no-vcs",
         [cal("d_cal.fits", NRC_IMAGE, CAL_VER="1.14.0", CAL_VCS=None)], "JP301", []),
    case("JP301-not-for-dev-build-twice",
         [cal("d_cal.fits", NRC_IMAGE, CAL_VER="1.1.1.dev116+g31775f1f"),
          cal("e_cal.fits", NRC_IMAGE, CAL_VER="1.1.1.dev116+g31775f1f")],
         "JP301", [("d_cal.fits", "e_cal.fits")], "2 files were made by"),
    # JP302: unknown versions.
    case("JP302-newer-than-known",
         [cal("v_cal.fits", NRC_IMAGE, CAL_VER="9.9.9")],
         "JP302", [("v_cal.fits",)], "jwst 9.9.9 (1 file)",
         f"newer than the newest release it knows ({KNOWLEDGE.newest_build().cal_ver})"),
    case("JP302-pre-release",
         [cal("v_cal.fits", NRC_IMAGE, CAL_VER="0.7.0rc7")],
         "JP302", [("v_cal.fits",)], "a pre-release the knowledge base does not list"),
    case("JP302-not-a-version",
         [cal("v_cal.fits", NRC_IMAGE, CAL_VER="not-a-version")],
         "JP302", [("v_cal.fits",)], "not a valid version number"),
    case("JP302-known-release",
         [cal("v_cal.fits", NRC_IMAGE, CAL_VER="1.12.5")], "JP302", []),
    case("JP302-not-for-dev-build",
         [cal("v_cal.fits", NRC_IMAGE, CAL_VER="9.9.9.dev1+gabc")], "JP302", []),
    # JP401: mixed versions or contexts in one program × instrument × mode group.
    case("JP401-two-contexts-in-one-group",
         [cal("a_cal.fits", NRC_IMAGE), cal("b_cal.fits", NRC_IMAGE), cal("c_cal.fits", NRC_IMAGE),
          cal("odd_cal.fits", NRC_IMAGE, CRDS_CTX=ctx(NEWEST_CTX - 8))],
         "JP401", [("odd_cal.fits",)],
         "01234 NIRCam imaging: 4 files with 2 CRDS contexts",
         f"{ctx(NEWEST_CTX - 8)} (1), {ctx(NEWEST_CTX)} (3)"),
    case("JP401-two-groups-one-context-each",
         [cal("a_cal.fits", NRC_IMAGE), cal("b_cal.fits", NRC_IMAGE, PROGRAM="05678",
                                           CRDS_CTX=ctx(NEWEST_CTX - 8)),
          cal("c_cal.fits", MIR_IMAGE, CRDS_CTX=ctx(NEWEST_CTX - 4))],
         "JP401", []),
    case("JP401-two-versions-in-one-group",
         [cal("a_cal.fits", NRC_IMAGE), cal("b_cal.fits", NRC_IMAGE),
          cal("c_cal.fits", NRC_IMAGE, CAL_VER="1.19.1")],
         "JP401", [("c_cal.fits",)], "2 pipeline versions", "1.19.1 (1)"),
    case("JP401-missing-context-is-not-a-second-value",
         [cal("a_cal.fits", NRC_IMAGE), cal("b_uncal.fits", NRC_IMAGE, CAL_VER=None,
                                           CRDS_CTX=None)],
         "JP401", []),
    # JP501: newer calibration exists.
    case("JP501-below-newest-operational",
         [cal("o_cal.fits", NRC_IMAGE, CRDS_CTX=ctx(NEWEST_CTX - 1))],
         "JP501", [("o_cal.fits",)], f"older than {NEWEST_OPS.build_context}",
         f"jwst {NEWEST_OPS.cal_ver}"),
    case("JP501-at-newest-operational",
         [cal("o_cal.fits", NRC_IMAGE, CRDS_CTX=ctx(NEWEST_CTX))], "JP501", []),
    case("JP501-above-newest-operational",
         [cal("o_cal.fits", NRC_IMAGE, CRDS_CTX=ctx(NEWEST_CTX + 100))], "JP501", []),
    # JP601: reference files CRDS did not choose.
    case("JP601-user-flat",
         [cal("o_cal.fits", NRC_IMAGE, R_FLAT="/home/me/flat.fits",
              R_DARK="crds://jwst_nircam_dark_0342.fits")],
         "JP601", [("o_cal.fits",)], "R_FLAT = /home/me/flat.fits in 1 file"),
    case("JP601-crds-and-na",
         [cal("o_cal.fits", NRC_IMAGE, R_FLAT="crds://x.fits", R_DARK="N/A", R_AREA="n/a",
              R_GAIN="")], "JP601", []),
    # JP701: context number possibly from the PUB server.
    case("JP701-release-candidate-2022",
         [cal("p_cal.fits", NRC_IMAGE, CAL_VER="1.8.1", CRDS_CTX="jwst_0995.pmap",
              DATE="2022-10-20T09:00:00")],
         "JP701", [("p_cal.fits",)], "jwst 1.8.1, not an operational build",
         "jwst_1001.pmap on PUB", "before March 2023"),
    case("JP701-operational-build-2022",
         [cal("p_cal.fits", NRC_IMAGE, CAL_VER="1.8.2", CRDS_CTX="jwst_1017.pmap",
              DATE="2022-11-20T09:00:00")], "JP701", []),
    case("JP701-release-candidate-2023",
         [cal("p_cal.fits", NRC_IMAGE, CAL_VER="1.8.1", CRDS_CTX="jwst_0995.pmap",
              DATE="2023-06-01T09:00:00")], "JP701", []),
    case("JP701-no-context",
         [cal("p_cal.fits", NRC_IMAGE, CAL_VER="1.8.1", CRDS_CTX=None,
              DATE="2022-10-20T09:00:00")], "JP701", []),
]


@pytest.mark.parametrize("records, code, files, fragments", CASES)
def test_rule(records, code, files, fragments):
    found = [f for f in run(records) if f.code == code]
    assert sorted(f.files for f in found) == sorted(files), [f.message for f in found]
    rule = KNOWLEDGE.rules.get(code)
    issue = {i.code: i for i in KNOWLEDGE.known_issues}.get(code)
    for finding in found:
        assert finding.severity == (rule or issue).severity
        assert finding.source and finding.action and finding.title and finding.name
        for fragment in fragments:
            assert fragment in finding.message


def test_jp101_action_names_the_minimum_and_the_newest_build():
    [finding] = [f for f in run([cal("m_cal.fits", MIR_IMAGE, READPATT="FASTR1", SUBARRAY="FULL",
                                     CRDS_CTX="jwst_0900.pmap")]) if f.code == "JP101"]
    assert "at or above jwst_0913.pmap" in finding.action
    assert NEWEST_OPS.build_context in finding.action
    assert finding.group == "MIRI imaging"
    assert finding.details["minimum"] == "jwst_0913.pmap"


def test_jp101_and_jp102_are_exclusive_for_the_full_frame_row():
    """An early FASTR1 FULL file is below the minimum (JP101), not 'in progress' (JP102)."""
    codes = {f.code for f in run([cal("m_cal.fits", MIR_IMAGE, READPATT="FASTR1",
                                      SUBARRAY="FULL", CRDS_CTX="jwst_0900.pmap",
                                      DATE="2022-07-01T00:00:00")])}
    assert "JP101" in codes and "JP102" not in codes


def test_jp102_reports_a_file_once():
    found = [f for f in run([cal("m_cal.fits", MIR_IMAGE, READPATT="SLOWR1", SUBARRAY="SUB256",
                                 CRDS_CTX="jwst_0900.pmap", DATE="2022-07-01T00:00:00")])
             if f.code == "JP102"]
    assert len(found) == 1


def test_jp001_message_gives_an_example_error():
    [finding] = [f for f in run([rec("x_cal.fits", error_code="truncated",
                                     error="truncated: the file ends after 4000 bytes")])
                 if f.code == "JP001"]
    assert finding.message == ("1 file could not be read (truncated), e.g. x_cal.fits: "
                               "truncated: the file ends after 4000 bytes")
    assert finding.severity == "error"
    assert finding.details == {"reason": "truncated"}


def test_jp701_premises_come_from_builds_csv():
    assert not KNOWLEDGE.builds["1.8.1"].operational
    assert KNOWLEDGE.builds["1.8.1"].pub_context == "jwst_1001.pmap"
    assert KNOWLEDGE.builds["1.8.2"].operational


def test_records_without_instrument_or_mode_do_not_crash():
    records = [rec("bare.fits"),
               rec("old_cal.fits", CAL_VER="0.9.0", CRDS_CTX="jwst_0400.pmap", DATE="2018-01-01"),
               rec("nomode_cal.fits", INSTRUME="NIRCAM", CAL_VER="1.14.0", CRDS_CTX="jwst_1240.pmap",
                   CAL_VCS="RELEASE", DATE="2024-06-01", PROGRAM=1234)]
    findings = run(records)
    assert {"JP002", "JP501"} <= {f.code for f in findings}
    assert not {"JP101", "JP102"} & {f.code for f in findings}


# ---------------------------------------------------------------------------
# Order and exit threshold.

def test_findings_are_sorted_by_severity_then_code():
    findings = run([
        cal("a_uncal.fits", NRC_IMAGE, CAL_VER=None, CRDS_CTX=None),              # JP003 info
        cal("b_cal.fits", NRC_IMAGE, CRDS_CTX=ctx(NEWEST_CTX - 1)),                # JP401, JP501
        cal("c_cal.fits", NRC_IMAGE, R_FLAT="/tmp/flat.fits"),                     # JP601
        cal("d_cal.fits", NRC_IMAGE, CAL_VER="9.9.9"),                             # JP302
        rec("e_cal.fits", error_code="truncated", error="truncated"),              # JP001
        cal("f_cal.fits", NIS_AMI, CRDS_CTX="jwst_0800.pmap"),                     # JP101, JP202
    ])
    keys = [(SEVERITY_ORDER[f.severity], f.code) for f in findings]
    assert keys == sorted(keys)
    assert findings[0].severity == "error"
    assert findings[-1].severity == "info"
    assert {"JP001", "JP003", "JP101", "JP202", "JP302", "JP401", "JP501", "JP601"} <= \
        {f.code for f in findings}


def _finding(severity: str) -> Finding:
    return Finding("JP999", "test", severity, "t", "m", "a", "s", ("x.fits",))


@pytest.mark.parametrize("severities, fail_on, expected", [
    (("error", "warning", "info"), "error", True),
    (("error", "warning", "info"), "never", False),
    (("warning", "info"), "error", False),
    (("warning", "info"), "warning", True),
    (("warning",), "info", True),
    (("info",), "error", False),
    (("info",), "warning", False),
    (("info",), "info", True),
    (("info",), "never", False),
    ((), "info", False),
    ((), "error", False),
])
def test_failed(severities, fail_on, expected):
    assert failed([_finding(s) for s in severities], fail_on) is expected


def test_failed_refuses_an_unknown_threshold():
    with pytest.raises(ValueError):
        failed([], "fatal")


# ---------------------------------------------------------------------------
# --as-of: the knowledge as it stood on a date.

def test_as_of_drops_later_known_issues():
    mrs = [cal("r_cal.fits", MIR_MRS, CRDS_CTX="jwst_1241.pmap", DATE_OBS="2024-06-01")]
    assert "JP204" in {f.code for f in run(mrs)}
    old = load_knowledge(as_of=date(2023, 1, 1))
    assert old.as_of == date(2023, 1, 1)
    assert "JP204" not in {i.code for i in old.known_issues}
    assert not {"JP203", "JP204"} & {f.code for f in run(mrs, old)}


def test_as_of_newest_operational_build_is_from_2022():
    old = load_knowledge(as_of=date(2023, 1, 1))
    build = old.newest_operational_build()
    assert build.ops_install.year == 2022 and build.released.year == 2022
    assert build.cal_ver == "1.8.2"
    # ... and JP501 measures against it: a 2022 context is current then, not now.
    findings = run([cal("o_cal.fits", NRC_IMAGE, CRDS_CTX=build.build_context)], old)
    assert "JP501" not in {f.code for f in findings}
    assert "JP501" in {f.code for f in run([cal("o_cal.fits", NRC_IMAGE,
                                                CRDS_CTX=build.build_context)])}


def test_as_of_makes_todays_releases_unknown():
    old = load_knowledge(as_of=date(2023, 1, 1))
    [finding] = [f for f in run([cal("v_cal.fits", NRC_IMAGE, CAL_VER="1.14.0")], old)
                 if f.code == "JP302"]
    assert "newer than the newest release it knows" in finding.message
    assert "as of 2023-01-01" in finding.message


# ---------------------------------------------------------------------------
# The example dataset.

@pytest.fixture(scope="module")
def examples():
    return reporter.scan([str(EXAMPLES)], jobs=1)


def test_examples_give_exactly_the_documented_codes(examples):
    findings = check(examples, KNOWLEDGE)
    assert {f.code for f in findings} == {"JP003", "JP201", "JP203", "JP206", "JP401", "JP501"}
    assert not failed(findings, "error")
    [mixed] = [f for f in findings if f.code == "JP401"]
    assert [Path(p).name for p in mixed.files] == ["jw01345001001_02101_00001_nrca2_cal.fits"]
    [level1b] = [f for f in findings if f.code == "JP003"]
    assert [Path(p).name for p in level1b.files] == ["jw01345001001_02101_00001_nrca1_uncal.fits"]


def test_examples_with_the_broken_file_give_jp001():
    findings = check(reporter.scan([str(EXAMPLES), str(BROKEN)], jobs=1), KNOWLEDGE)
    [unreadable] = [f for f in findings if f.code == "JP001"]
    assert [Path(p).name for p in unreadable.files] == ["jw01345001001_02101_00002_nrcb1_cal.fits"]
    assert findings[0] is unreadable
    assert failed(findings, "error")


# ---------------------------------------------------------------------------
# Real headers written by others.

needs_headers = pytest.mark.skipif(not HEADERS.is_dir(),
                                   reason=f"the shared fixtures folder {HEADERS} is not present")


@pytest.fixture(scope="module")
def real():
    inventory = reporter.scan([str(HEADERS)], jobs=1)
    return inventory, check(inventory, KNOWLEDGE)


def _names(findings, code):
    return {Path(p).name for f in findings if f.code == code for p in f.files}


@needs_headers
def test_real_headers_are_checked_without_crash(real):
    inventory, findings = real
    assert inventory.failed == []
    assert findings
    assert "JP001" not in {f.code for f in findings}


@needs_headers
def test_real_headers_development_builds_are_flagged(real):
    _, findings = real
    versions = {f.details["cal_ver"]: {Path(p).name for p in f.files}
                for f in findings if f.code == "JP301"}
    assert versions["0.12.0a.dev134+g9fd36628"] == {
        "grizli__jw42424001001_01101_00001_nrca1_rate.fits.gz",
        "grizli__jw42424001001_01101_00001_nrca5_uncal_dispersed_GRISMR_crossing_F356W_rate.fits.gz"}
    assert {"1.1.1.dev116+g31775f1f", "1.17.1.dev1143+gb0660ee76.d20250508",
            "0.7.0rc2.dev6"} <= set(versions)
    # A pre-release that is not a development version is unknown, not unreleased.
    assert "0.7.0rc7" not in versions
    assert "jwst__associations_exp_0.fits" in _names(findings, "JP302")


@needs_headers
def test_real_headers_processed_before_flight_get_jp102(real):
    _, findings = real
    assert {"grizli__jw42424001001_01101_00001_nrca1_rate.fits.gz",
            "grizli__jw42424001001_01101_00001_nrca5_uncal_dispersed_GRISMR_crossing_F356W_rate.fits.gz",
            "jwst__assign_mtwcs_test1_cal.fits",
            "jwst__exp_to_source_jwst_nod1_cal.fits"} <= _names(findings, "JP102")
    for finding in findings:
        if finding.code == "JP102":
            assert "before July 2022" in finding.message


@needs_headers
def test_real_headers_every_pre_flight_file_in_a_table_1_mode_is_flagged(real):
    inventory, findings = real
    covered = {(m.instrument, m.mode) for m in KNOWLEDGE.minimum_contexts}
    flagged = _names(findings, "JP101") | _names(findings, "JP102")
    early = {Path(r.path).name for r in inventory.read_ok
             if r.crds_ctx and (r.instrument, r.mode) in covered
             and str(r.keywords.get("DATE", "9999"))[:10] < "2022-07-31"}
    assert early and early <= flagged, early - flagged


@needs_headers
def test_real_level_1b_headers_give_jp003_not_jp002(real):
    _, findings = real
    level1b = {"jwst__add_wcs_default_acq1.fits", "jwst__jw01075001001_03105_00009_nrca2_uncal.fits"}
    assert _names(findings, "JP003") == level1b
    assert not level1b & _names(findings, "JP002")
    # Headers that are neither calibrated nor level-1b are JP002.
    assert {"jwst__lib_empty.fits", "jwst__datamodels_headers.fits",
            "jwst__add_wcs_with_mast_fgs1.fits"} <= _names(findings, "JP002")


@needs_headers
def test_real_headers_missing_instrume_or_exp_type(real):
    inventory, _ = real
    by_name = {Path(r.path).name: r for r in inventory}
    no_instrume = by_name["jwst__add_wcs_with_mast_fgs1.fits"]
    no_exp_type = by_name["jwst__datamodels_headers.fits"]
    assert "INSTRUME" not in no_instrume.keywords and no_instrume.instrument == "MIRI"
    assert "EXP_TYPE" not in no_exp_type.keywords and no_exp_type.mode is None
    # Checked alone, each still gives findings and no exception.
    for record in (no_instrume, no_exp_type):
        assert {f.code for f in check(Inventory([record]), KNOWLEDGE)} == {"JP002"}


@needs_headers
def test_real_headers_user_reference_file_and_pub_ambiguity(real):
    _, findings = real
    [override] = [f for f in findings if f.code == "JP601"]
    assert "R_READNO = jwst_mirisim_readnoise.fits" in override.message
    # FGS files made by the operational 1.4.6 in 2022 are not ambiguous.
    assert not {n for n in _names(findings, "JP701") if "fgs_" in n}


# ---------------------------------------------------------------------------
# Renderers.

@pytest.fixture(scope="module")
def mixed_findings():
    records = [
        rec("broken_cal.fits", error_code="truncated", error="truncated"),
        *(cal(f"n{i}_cal.fits", NRC_IMAGE, CRDS_CTX=ctx(NEWEST_CTX - 1)) for i in range(5)),
        cal("odd_cal.fits", NRC_IMAGE, CAL_VER="9.9.9", PROGRAM="09999"),
    ]
    findings = run(records)
    assert {f.severity for f in findings} == {"error", "warning", "info"}
    return records, findings


def test_format_text_lists_severities_in_order(mixed_findings):
    records, findings = mixed_findings
    text = format_text(findings, checked=len(records), knowledge=KNOWLEDGE)
    positions = [text.index(f"{heading} (") for heading in ("Errors", "Warnings", "Information")]
    assert positions == sorted(positions)
    assert text.startswith(f"Checked {len(records)} files against the knowledge base as of "
                           f"{KNOWLEDGE.as_of}: 1 error, 1 warning, 1 info.")
    assert "\033" not in text
    # Five files of JP501, three shown.
    assert "... and 2 more" in text
    assert "... and" not in format_text(findings, checked=7, knowledge=KNOWLEDGE, max_files=0)


def test_format_text_colour(mixed_findings):
    records, findings = mixed_findings
    coloured = format_text(findings, checked=len(records), knowledge=KNOWLEDGE, colour=True)
    assert "\033[31m" in coloured and "\033[33m" in coloured and "\033[36m" in coloured
    assert re.sub(r"\033\[[0-9;]*m", "", coloured) == \
        format_text(findings, checked=len(records), knowledge=KNOWLEDGE, colour=False)


def test_format_text_without_findings():
    text = format_text([], checked=1, knowledge=KNOWLEDGE)
    assert "0 errors, 0 warnings, 0 info" in text and "No findings" in text


def test_format_json_round_trips_with_all_files(mixed_findings):
    records, findings = mixed_findings
    document = json.loads(format_json(findings, checked=len(records), knowledge=KNOWLEDGE))
    assert document["files_checked"] == len(records)
    assert document["knowledge_as_of"] == KNOWLEDGE.as_of.isoformat()
    assert document["counts"] == {"error": 1, "warning": 1, "info": 1}
    assert document["findings"] == json.loads(json.dumps([f.to_dict() for f in findings]))
    [newer] = [f for f in document["findings"] if f["code"] == "JP501"]
    assert newer["count"] == 5 and sorted(newer["files"]) == [f"n{i}_cal.fits" for i in range(5)]


def test_format_markdown_escapes_header_values():
    findings = run([cal("t_cal.fits", NRC_IMAGE, R_FLAT="*bold*_x_")])
    [override] = [f for f in findings if f.code == "JP601"]
    assert "*bold*_x_" in override.message
    markdown = format_markdown(findings, checked=1, knowledge=KNOWLEDGE)
    assert "*bold*_x_" not in markdown
    assert r"R\_FLAT = \*bold\*\_x\_ in 1 file" in markdown
    assert "## Warnings (1)" in markdown
    assert "`t_cal.fits`" in markdown


def test_format_markdown_keeps_line_breaks_and_html_of_values_inert():
    from markdown_it import MarkdownIt

    name = "t_[x]\n\n<img src=x onerror=alert(1)>`_cal.fits"
    findings = run([cal(name, NRC_IMAGE, R_FLAT="x\n\n<script>alert(1)</script>\n# heading")])
    markdown = format_markdown(findings, checked=1, knowledge=KNOWLEDGE)
    parser = MarkdownIt("commonmark", {"html": True})
    tokens = parser.parse(markdown)
    children = [child for token in tokens for child in token.children or ()]
    assert not [t for t in [*tokens, *children] if t.type in ("html_block", "html_inline")]
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert headings == ["Provenance check", "Warnings (1)"]  # no heading of a value's
    rendered = parser.render(markdown)
    assert "<img" not in rendered and "<script" not in rendered
    # The file name whole, in one code span, its line breaks shown.
    assert "t_[x][U+000A][U+000A]<img src=x onerror=alert(1)>`_cal.fits" in [
        c.content for c in children if c.type == "code_inline"]
