"""report and render -o: every output written, re-runs replace only their own files."""

from __future__ import annotations

import csv
import json
import os
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


def _records(count: int) -> list:
    return [ProvenanceRecord.build(
        f"data/jw01345001001_02101_{n:05d}_nrca1_cal.fits",
        KeywordMap.from_dict({"CAL_VER": "1.14.0", "CRDS_CTX": "jwst_1241.pmap",
                              "INSTRUME": "NIRCAM", "EXP_TYPE": "NRC_IMAGE", "PROGRAM": "01345",
                              "DATE": "2024-06-20T11:02:33.123"}), size=2880)
        for n in range(count)]


def test_long_file_lists_get_machine_readable_tables(tmp_path):
    from astropy.table import Table

    result = write_report(Inventory(_records(201)), tmp_path, reporter.load_knowledge(),
                          dois=["10.17909/abcd-1234"])
    mrt = Table.read(tmp_path / "provenance_files.mrt", format="ascii.mrt")
    assert len(mrt) == 201 and mrt.colnames[:2] == ["File", "Program"]
    assert list(mrt["File"])[:2] == ["jw01345001001_02101_00000_nrca1_cal.fits",
                                     "jw01345001001_02101_00001_nrca1_cal.fits"]
    assert set(mrt["CAL_VER"]) == {"1.14.0"} and set(mrt["Program"]) == {"1345"}
    # A column with no value in any row (no SDP_VER, no DATE-OBS here) is left out.
    assert "SDP_VER" not in mrt.colnames and "Obs-date" not in mrt.colnames
    text = (tmp_path / "provenance_files.mrt").read_text()
    assert "\nTable: Processing provenance of every JWST file used in this work\n" in text
    with open(tmp_path / "provenance_files.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 201 and rows[0]["CRDS_CTX"] == "jwst_1241.pmap"
    assert tmp_path / "provenance_files.mrt" in result.written
    # The appendix prints a portion and says the whole is machine-readable.
    appendix = (tmp_path / "appendix.tex").read_text()
    assert appendix.count("jw01345001001\\_") == 10
    assert "published in its entirety in the machine-readable format" in appendix
    assert "A portion (10 of the 201 files)" in appendix
    assert "provenance_files.mrt" in (tmp_path / "appendix.md").read_text()

    # A rerun on fewer files writes no such tables and removes the old ones.
    again = write_report(Inventory(_records(20)), tmp_path, reporter.load_knowledge())
    assert not (tmp_path / "provenance_files.mrt").exists()
    assert not (tmp_path / "provenance_files.csv").exists()
    assert {p.name for p in again.removed} == {"provenance_files.mrt", "provenance_files.csv"}
    assert (tmp_path / "appendix.tex").read_text().count("jw01345001001\\_") == 20


def test_table_limit_is_an_option_and_a_setting(tmp_path, monkeypatch):
    inventory = Inventory(_records(12))
    inventory.write(tmp_path / "inv.json")
    result = run("report", "-i", tmp_path / "inv.json", "--out", tmp_path / "a", "--table-limit", 5)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "a" / "provenance_files.mrt").exists()
    assert "provenance_files.mrt" in result.stdout
    monkeypatch.chdir(tmp_path)
    (tmp_path / "provenance.toml").write_text("[output]\ntable_limit = 11\n")
    assert run("report", "-i", "inv.json", "--out", "b").exit_code == 0
    assert (tmp_path / "b" / "provenance_files.csv").exists()
    assert run("report", "-i", "inv.json", "--out", "c", "--table-limit", 12).exit_code == 0
    assert not (tmp_path / "c" / "provenance_files.csv").exists()  # the option wins
    (tmp_path / "provenance.toml").write_text("[output]\ntable_limit = -1\n")
    refused = run("report", "-i", "inv.json", "--out", "d")
    assert refused.exit_code == 2 and "table_limit" in refused.stderr


@pytest.mark.parametrize("inputs", [["no/such/folder"], ["examples/broken"],
                                    ["examples/data/jw01345001001_02101_00001_nrca1_uncal.fits"]])
def test_nothing_readable_writes_no_paper(inputs, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    for command in (["report", *inputs, "--out", tmp_path / "r"],
                    ["render", *inputs, "-o", f"{tmp_path / 'parts'}/"]):
        result = run(*command)
        assert result.exit_code == 3, result.output
        assert "no paper text was written" in result.stderr
    assert not (tmp_path / "r").exists() and not (tmp_path / "parts").exists()


def test_unreadable_files_are_never_called_free_of_caveats(tmp_path):
    result = run("report", EXAMPLES / "jw01345002001_02101_00001_mirimage_cal.fits",
                 ROOT / "examples" / "broken", "--out", tmp_path / "r")
    assert result.exit_code == 1  # the unreadable file is an error of check
    caveats = (tmp_path / "r" / "caveats.tex").read_text()
    assert "No known calibration caveats" not in caveats
    assert "One file could not be read" in caveats
    assert "(one file)" in (tmp_path / "r" / "availability.tex").read_text()  # only what was read


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


def test_an_output_folder_that_cannot_be_made_is_a_message(tmp_path):
    (tmp_path / "afile").write_text("")
    for command in (["report", EXAMPLES, "--out", tmp_path / "afile" / "sub"],
                    ["render", EXAMPLES, "-o", f"{tmp_path / 'afile' / 'sub'}/"]):
        result = run(*command)
        assert result.exit_code == 3, result.output
        assert "cannot make the folder" in result.stderr and "Traceback" not in result.output


def _folder_state(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_a_report_killed_while_writing_is_replaced_by_the_next(tmp_path):
    """kill -9 in the middle of moving the set into place: the next report, without
    --force, knows the files for its own, replaces them and leaves no temporary."""
    import subprocess
    import sys

    out = tmp_path / "r"
    script = f"""
import os, signal
import reporter
from reporter.report import write_report
real, moved = os.replace, []
def replace(source, target):
    if len(moved) == 3:
        os.kill(os.getpid(), signal.SIGKILL)
    moved.append(target)
    real(source, target)
inventory = reporter.scan([{str(EXAMPLES)!r}], jobs=1)
os.replace = replace
write_report(inventory, {str(out)!r}, reporter.load_knowledge())
"""
    killed = subprocess.run([sys.executable, "-c", script], check=False, cwd=ROOT, timeout=120)
    assert killed.returncode == -9
    assert json.loads((out / MARKER).read_text())["state"] == "writing"
    assert any(name.endswith(".tmp") for name in os.listdir(out))  # the killed write's
    result = run("report", EXAMPLES, "--out", out)
    assert result.exit_code == 0, result.output
    assert not [name for name in os.listdir(out) if name.endswith(".tmp")]
    marker = json.loads((out / MARKER).read_text())
    assert marker["state"] == "complete"
    assert set(marker["files"]) == {p.name for p in out.iterdir()} - {MARKER}


def test_a_report_that_cannot_write_every_file_writes_none(tmp_path, monkeypatch):
    import reporter.report as report_module

    out = tmp_path / "r"
    assert run("report", EXAMPLES, "--out", out).exit_code == 0
    before = _folder_state(out)
    real = report_module.open_atomic
    opened = []

    def full_disk(path, **options):
        opened.append(path)
        if len(opened) == 5:
            raise reporter.OutputError(f"cannot write {path}: No space left on device")
        return real(path, **options)

    monkeypatch.setattr(report_module, "open_atomic", full_disk)
    result = run("report", EXAMPLES, "--out", out, "--style", "mnras")
    assert result.exit_code == 3 and "No space left" in result.stderr
    assert _folder_state(out) == before  # the earlier set, whole, marker included
    opened.clear()
    fresh = tmp_path / "new"
    assert run("report", EXAMPLES, "--out", fresh).exit_code == 3
    assert not fresh.exists()  # a folder this run made, left empty, is removed


def test_a_file_name_that_is_not_utf8_reaches_every_output(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    name = os.path.join(os.fsencode(data), b"jw01345001001_02101_00001_nrca1\xff_cal.fits")
    with open(EXAMPLES / "jw01345001001_02101_00001_nrca1_cal.fits", "rb") as source, \
            open(name, "wb") as target:
        target.write(source.read())
    out = tmp_path / "r"
    result = run("report", data, "--out", out)
    assert result.exit_code == 0, result.output
    for path in out.iterdir():
        path.read_bytes().decode("utf-8")  # every output is valid UTF-8
    assert [r.path for r in Inventory.read(out / "inventory.ecsv")] == [os.fsdecode(name)]
    findings = json.loads((out / "check.json").read_text())["findings"]
    assert any(os.fsdecode(name) in finding["files"] for finding in findings)  # exactly



def _fingerprint_before_escapes(inventory):
    """The fingerprint as the previous release computed it (its definition, copied)."""
    import hashlib
    import json as json_module

    from reporter.lock import LOCKED_KEYWORDS

    def line(record):
        item = {"path": record.path, "size": record.size}
        for keyword in LOCKED_KEYWORDS:
            value = record.keywords.get(keyword)
            if value is not None:
                item[keyword] = value
        item.update(record.reference_files.to_dict())
        if record.error_code:
            item["error_code"] = record.error_code
        return json_module.dumps(item, sort_keys=True, ensure_ascii=False)

    digest = hashlib.sha256()
    for text in [line(r) for r in sorted(inventory.records, key=lambda r: r.path)]:
        digest.update(text.encode("utf-8") + b"\n")
    return "sha256:" + digest.hexdigest()


def test_the_fingerprint_of_unchanged_data_is_the_previous_releases(tmp_path):
    from reporter import Inventory, ProvenanceRecord
    from reporter.lock import fingerprint, lock_lines, read_lock, write_lock
    from reporter.records import KeywordMap

    inventory = Inventory([ProvenanceRecord.build(
        f"jw_{n}\u00ad_cal.fits", KeywordMap.from_dict(
            {"CAL_VER": "1.14.0", "CRDS_CTX": "jwst_1241.pmap", "OBS_ID": text, "EXP_TYPE": "x\x1by"}),
        KeywordMap.from_dict({"R_FLAT": "crds://jwst_flat\u200b.fits"}), size=10 + n)
        for n, text in enumerate(["soft\u00adhyphen", "zero\u200bwidth", "\ufeffbom", "µm é"])])
    expected = _fingerprint_before_escapes(inventory)
    assert fingerprint(lock_lines(inventory)) == expected
    assert write_lock(inventory, tmp_path / "data.lock") == expected
    assert read_lock(tmp_path / "data.lock")[1] == expected


def test_a_report_whose_disk_fails_at_fsync_keeps_the_earlier_set(tmp_path, monkeypatch):
    """Quota, NFS and full-disk errors often come at fsync: still none of the new set."""
    out = tmp_path / "r"
    assert run("report", EXAMPLES, "--out", out).exit_code == 0
    before = _folder_state(out)
    real, calls = os.fsync, []

    def failing_fsync(descriptor):
        calls.append(descriptor)
        if len(calls) == 6:
            raise OSError(28, "No space left on device")
        return real(descriptor)

    monkeypatch.setattr(os, "fsync", failing_fsync)
    result = run("report", EXAMPLES, "--out", out, "--style", "mnras")
    assert result.exit_code == 3 and "No space left" in result.stderr
    assert len(calls) >= 6
    assert _folder_state(out) == before  # every file the old one, the marker too
