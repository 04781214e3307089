"""report and render -o: every output written, re-runs replace only their own files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import reporter
from reporter import Inventory, ProvenanceRecord
from reporter.cli import app
from reporter.records import KeywordMap
from reporter.report import MARKER, write_report

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "data"
PARTS = ("availability", "summary", "appendix", "caveats", "software", "acknowledgement")


def run(*args):
    return CliRunner().invoke(app, [str(arg) for arg in args])


def test_report_writes_every_output(tmp_path):
    out = tmp_path / "provenance"
    result = run("report", EXAMPLES, "--doi", "10.17909/abcd-1234", "--out", out)
    assert result.exit_code == 0, result.output
    names = {path.name for path in out.iterdir()}
    expected = {"provenance.tex", "provenance.md", "provenance.bib", "inventory.ecsv",
                "check.json", "check.md",
                MARKER, *(f"{p}.tex" for p in PARTS), *(f"{p}.md" for p in PARTS)}
    assert names == expected
    whole = (out / "provenance.tex").read_text()
    for part in PARTS:  # the whole file holds every part
        assert (out / f"{part}.tex").read_text().strip() in whole
    assert len(reporter.Inventory.read(out / "inventory.ecsv")) == 22
    assert json.loads((out / "check.json").read_text())["files_checked"] == 22
    assert "Check: 0 errors, 2 warnings, 4 info" in result.stdout
    assert "no MAST DOI" not in result.stderr


def test_report_without_doi_warns_and_says_so(tmp_path):
    result = run("report", EXAMPLES, "--out", tmp_path / "r")
    assert result.exit_code == 0
    assert "no MAST DOI given" in result.stderr
    assert "MAST DOI missing" in (tmp_path / "r" / "availability.md").read_text()


def test_report_replaces_its_own_files_but_not_a_users(tmp_path):
    out = tmp_path / "r"
    assert run("report", EXAMPLES, "--out", out).exit_code == 0
    assert run("report", EXAMPLES, "--out", out, "--style", "mnras").exit_code == 0
    assert "Data Availability" in (out / "availability.tex").read_text()

    users = tmp_path / "paper"
    users.mkdir()
    (users / "summary.tex").write_text("my own table")
    (users / "notes.txt").write_text("mine")
    result = run("report", EXAMPLES, "--out", users)
    assert result.exit_code == 2 and "--force" in result.stderr
    assert (users / "summary.tex").read_text() == "my own table"
    assert not (users / "provenance.tex").exists()  # nothing half-written
    assert run("report", EXAMPLES, "--out", users, "--force").exit_code == 0
    assert (users / "notes.txt").read_text() == "mine"  # files it does not write stay


def test_report_exit_code_follows_fail_on(tmp_path):
    assert run("report", EXAMPLES, "--out", tmp_path / "a", "--fail-on", "warning").exit_code == 1
    broken = run("report", EXAMPLES, ROOT / "examples" / "broken", "--out", tmp_path / "b")
    assert broken.exit_code == 1 and "JP001" in broken.stdout


def test_long_file_lists_get_machine_readable_tables(tmp_path):
    records = [ProvenanceRecord.build(
        f"data/jw01345001001_02101_{n:05d}_nrca1_cal.fits",
        KeywordMap.from_dict({"CAL_VER": "1.14.0", "CRDS_CTX": "jwst_1241.pmap",
                              "INSTRUME": "NIRCAM", "EXP_TYPE": "NRC_IMAGE", "PROGRAM": "01345",
                              "DATE": "2024-06-20T11:02:33.123"}), size=2880) for n in range(201)]
    result = write_report(Inventory(records), tmp_path, reporter.load_knowledge(),
                          dois=["10.17909/abcd-1234"])
    assert (tmp_path / "provenance_files.ecsv").exists() and (tmp_path / "provenance_files.csv").exists()
    assert len(Inventory.read(tmp_path / "provenance_files.ecsv")) == 201
    appendix = (tmp_path / "appendix.tex").read_text()
    assert "machine-readable form (provenance\\_files.ecsv and provenance\\_files.csv)" in appendix
    assert tmp_path / "provenance_files.csv" in result.written


def test_render_one_file_per_part_into_a_folder(tmp_path):
    out = tmp_path / "parts"
    result = run("render", EXAMPLES, "--to", "markdown", "--part", "summary", "--part", "caveats",
                 "--doi", "10.17909/abcd-1234", "-o", f"{out}/")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["caveats.md", "summary.md"]
    single = tmp_path / "jwst.tex"
    assert run("render", EXAMPLES, "--style", "aa", "-o", single).exit_code == 0
    assert "\\begin{acknowledgements}" in single.read_text()
    assert run("render", EXAMPLES, "-o", single).exit_code == 2  # exists: --force


@pytest.mark.parametrize("args, message", [
    (["render", EXAMPLES, "--part", "everything"], "everything"),
    (["render", EXAMPLES, "--style", "nature"], "nature"),
    (["render", EXAMPLES, "--doi", "nope"], "not a DOI"),
    (["render", EXAMPLES, "--template-dir", "/no/such/folder"], "does not exist"),
])
def test_render_usage_errors(args, message):
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.output
