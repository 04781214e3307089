"""The command line, driven through Typer's runner and, for start-up, as a real process."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import reporter
from reporter.cli import app

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "data"
BROKEN = ROOT / "examples" / "broken"


def run(*args, **kwargs):
    return CliRunner().invoke(app, [str(arg) for arg in args], **kwargs)


def test_version():
    result = run("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"jwst-provenance {reporter.__version__}"


def test_help_lists_commands_with_an_example():
    result = run("--help")
    assert result.exit_code == 0
    assert "scan" in result.stdout and "Example" in result.stdout
    result = run("scan", "-h")
    assert result.exit_code == 0
    assert "Examples:" in result.stdout and "jwst-provenance scan data/" in result.stdout


def test_scan_of_the_examples_summarises_and_exits_0():
    result = run("scan", EXAMPLES)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("Scanned 22 files: 22 read; 4 programs")
    assert "jwst_1225.pmap (1), jwst_1241.pmap (4)" in out  # the mixed NIRCam group
    for mode in ("MOS", "IFU", "MRS", "WFSS", "grism time series", "imaging"):
        assert mode in out
    assert "Unreadable" not in out


def test_unreadable_file_is_listed_and_exits_1():
    result = run("scan", EXAMPLES, BROKEN)
    assert result.exit_code == 1
    assert "22 read, 1 unreadable" in result.stdout
    assert "nrcb1_cal.fits: truncated: the file ends after 4000 bytes" in result.stdout


def test_no_fits_file_exits_3_and_says_where_it_looked(tmp_path):
    (tmp_path / "notes.txt").write_text("not data")
    result = run("scan", tmp_path)
    assert result.exit_code == 3
    assert "no FITS files found" in result.stderr and str(tmp_path) in result.stderr
    result = run("scan", tmp_path, "--verbose")
    assert "skipped" in result.stderr and "notes.txt" in result.stderr


@pytest.mark.parametrize("args", [
    ["scan"], ["scan", "x", "--format", "xml"], ["scan", "x", "--jobs", "0"], ["nosuchcommand"],
])
def test_usage_errors_exit_2(args):
    assert run(*args).exit_code == 2


def test_output_format_from_the_file_name_and_no_silent_overwrite(tmp_path):
    output = tmp_path / "inventory.ecsv"
    result = run("scan", EXAMPLES, "-o", output)
    assert result.exit_code == 0, result.output
    assert "Scanned 22 files" in result.stdout
    assert f"wrote {output}" in result.stderr
    inventory = reporter.Inventory.read(output)
    assert len(inventory) == 22
    before = output.read_bytes()
    result = run("scan", EXAMPLES, BROKEN, "-o", output)
    assert result.exit_code == 2 and "--force" in result.stderr
    assert output.read_bytes() == before
    result = run("scan", EXAMPLES, BROKEN, "-o", output, "--force")
    assert result.exit_code == 1
    assert len(reporter.Inventory.read(output)) == 23


def test_unknown_output_name_without_format_is_a_usage_error(tmp_path):
    result = run("scan", EXAMPLES, "-o", tmp_path / "inventory.xlsx")
    assert result.exit_code == 2
    assert "--format" in result.stderr
    assert not (tmp_path / "inventory.xlsx").exists()


def test_table_output_to_a_file(tmp_path):
    output = tmp_path / "summary.txt"
    result = run("scan", EXAMPLES, "--format", "table", "-o", output)
    assert result.exit_code == 0
    assert output.read_text().startswith("Scanned 22 files")


@pytest.mark.parametrize("format", ["csv", "json", "ecsv"])
def test_inventory_to_stdout(format, tmp_path):
    result = run("scan", EXAMPLES, BROKEN, "--format", format)
    assert result.exit_code == 1
    assert "unreadable" in result.stderr and "nrcb1_cal.fits" in result.stderr
    if format == "csv":
        rows = list(csv.DictReader(io.StringIO(result.stdout)))
        assert len(rows) == 23
    elif format == "json":
        assert len(json.loads(result.stdout)["records"]) == 23
    else:
        path = tmp_path / "out.ecsv"
        path.write_text(result.stdout)
        assert len(reporter.Inventory.read(path)) == 23


def test_manifest_and_glob_inputs():
    result = run("scan", f"@{ROOT / 'examples' / 'manifest.txt'}", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert len(list(csv.DictReader(io.StringIO(result.stdout)))) == 9
    result = run("scan", str(EXAMPLES / "**" / "*_cal.fits"), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert rows and all(row["suffix"] == "cal" for row in rows)


def test_jobs_option_gives_the_same_records(tmp_path):
    one = run("scan", EXAMPLES, "--format", "csv", "--jobs", "1").stdout
    two = run("scan", EXAMPLES, "--format", "csv", "--jobs", "2").stdout
    assert one == two


def test_progress_is_silent_when_stderr_is_not_a_terminal():
    result = run("scan", EXAMPLES)
    assert "scanning:" not in result.stderr


def test_progress_reports_on_a_terminal(monkeypatch, capsys):
    from reporter import cli

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    progress = cli._Progress()
    progress(5, 10)
    progress(10, 10)
    progress.close()
    assert "scanning: 10/10 files" in capsys.readouterr().err


def test_python_dash_m_and_console_script_start():
    result = subprocess.run([sys.executable, "-m", "reporter", "--version"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0 and result.stdout.startswith("jwst-provenance ")


def test_command_line_start_does_not_import_heavy_modules():
    """Start-up is part of every run: astropy, jinja2 and pydantic stay unloaded."""
    code = ("import sys; from reporter.cli import app; "
            "sys.argv = ['jwst-provenance', 'scan', sys.argv[1], '--format', 'csv']\n"
            "try: app()\nexcept SystemExit: pass\n"
            "heavy = [m for m in ('astropy', 'jinja2', 'pydantic', 'numpy', 'tabulate') if m in sys.modules]\n"
            "sys.stderr.write(repr(heavy))")
    result = subprocess.run([sys.executable, "-c", code, str(EXAMPLES)],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.stderr.strip().endswith("[]"), result.stderr


def test_package_functions_survive_importing_every_module():
    """A submodule named like a package function would replace it on import."""
    import importlib
    import pkgutil

    for module in pkgutil.walk_packages(reporter.__path__, "reporter."):
        if module.name != "reporter.__main__":
            importlib.import_module(module.name)
    assert callable(reporter.scan) and callable(reporter.check)
    assert callable(reporter.load_knowledge) and callable(reporter.read_record)


# check ----------------------------------------------------------------------

def test_check_examples_exit_codes_follow_fail_on():
    result = run("check", EXAMPLES)
    assert result.exit_code == 0, result.output
    assert "0 errors, 2 warnings, 4 info" in result.stdout
    assert run("check", EXAMPLES, "--fail-on", "warning").exit_code == 1
    assert run("check", EXAMPLES, "--fail-on", "info").exit_code == 1
    broken = run("check", EXAMPLES, BROKEN)
    assert broken.exit_code == 1 and "JP001" in broken.stdout
    assert run("check", EXAMPLES, BROKEN, "--fail-on", "never").exit_code == 0


def test_check_a_saved_inventory(tmp_path):
    saved = tmp_path / "inventory.json"
    assert run("scan", EXAMPLES, "-o", saved).exit_code == 0
    from_paths = run("check", EXAMPLES, "--format", "json").stdout
    from_saved = run("check", "--inventory", saved, "--format", "json").stdout
    assert json.loads(from_paths)["findings"] == json.loads(from_saved)["findings"]


@pytest.mark.parametrize("args, message", [
    (["check"], "--inventory"),
    (["check", "x", "--inventory", "README.md"], "not both"),
    (["check", "x", "--as-of", "last year"], "not a date"),
    (["check", "x", "--fail-on", "sometimes"], "sometimes"),
])
def test_check_usage_errors(args, message):
    result = run(*args)
    assert result.exit_code == 2
    assert message in result.output


def test_check_formats_and_output_file(tmp_path):
    document = json.loads(run("check", EXAMPLES, "--format", "json").stdout)
    assert document["files_checked"] == 22
    assert {f["code"] for f in document["findings"]} == {
        "JP003", "JP201", "JP203", "JP206", "JP401", "JP501"}
    newer = next(f for f in document["findings"] if f["code"] == "JP501")
    assert newer["count"] == len(newer["files"]) == 21
    markdown = run("check", EXAMPLES, "--format", "markdown").stdout
    assert markdown.startswith("# Provenance check") and "## Warnings (2)" in markdown
    output = tmp_path / "caveats.md"
    assert run("check", EXAMPLES, "--format", "markdown", "-o", output).exit_code == 0
    assert output.read_text() == markdown
    assert run("check", EXAMPLES, "-o", output).exit_code == 2  # no silent overwrite


def test_check_as_of_uses_only_what_was_known_then():
    now = {f["code"] for f in json.loads(run("check", EXAMPLES, "-f", "json").stdout)["findings"]}
    then = json.loads(run("check", EXAMPLES, "-f", "json", "--as-of", "2023-06-01").stdout)
    assert then["knowledge_as_of"] == "2023-06-01"
    codes = {f["code"] for f in then["findings"]}
    # Dated 2024: the MRS mask update and the NIRCam grism flats were not known in 2023.
    assert {"JP203", "JP206"} <= now and not {"JP203", "JP206"} & codes
    assert "JP201" in codes


def test_check_with_a_user_knowledge_file(tmp_path):
    extra = tmp_path / "mine.toml"
    extra.write_text('[[rule]]\ncode = "JP401"\nseverity = "error"\n')
    result = run("check", EXAMPLES, "--knowledge", extra)
    assert result.exit_code == 1 and "Errors (1)" in result.stdout
    extra.write_text('[[rule]]\ncode = "JP401"\nseverity = "fatal"\n')
    result = run("check", EXAMPLES, "--knowledge", extra)
    assert result.exit_code == 2
    assert str(extra) in result.stderr and "[[rule]] #1" in result.stderr
    assert "severity" in result.stderr


# caveats --------------------------------------------------------------------

def test_caveats_lists_the_knowledge_base_and_filters():
    result = run("caveats")
    assert result.exit_code == 0
    assert "Knowledge base as of" in result.stdout
    for text in ("JP101", "jwst_0913.pmap", "JP201", "1.12.5", "10.5281/zenodo.10022973"):
        assert text in result.stdout
    mrs = run("caveats", "--mode", "MRS").stdout
    assert "JP204" in mrs and "JP201" not in mrs and "1.12.5" not in mrs
    release = run("caveats", "--cal-ver", "1.12.5").stdout
    assert "B10.0.1" in release and "10.5281/zenodo.10022973" in release and "1.13.0" not in release
    assert "No jwst release 0.0.1" in run("caveats", "--cal-ver", "0.0.1").stdout


def test_caveats_explain():
    result = run("caveats", "explain", "JP204")
    assert result.exit_code == 0
    assert "after 2024-05-14" in result.stdout and "Source:" in result.stdout
    assert "JP401 mixed-versions" in run("caveats", "explain", "mixed-versions").stdout
    missing = run("caveats", "explain", "JP999")
    assert missing.exit_code == 2 and "JP001" in missing.stderr


@pytest.fixture
def odd_names(tmp_path):
    """Two good files whose names are not UTF-8 and would run as a formula."""
    data = tmp_path / "data"
    data.mkdir()
    source = (EXAMPLES / "jw01345001001_02101_00001_nrca1_cal.fits").read_bytes()
    names = [b"jw_\xff\xfe_cal.fits", b"=1+1_cal.fits"]
    for name in names:
        with open(os.path.join(os.fsencode(data), name), "wb") as stream:
            stream.write(source)
    return data, sorted(os.fsdecode(os.path.join(os.fsencode(data), n)) for n in names)


@pytest.mark.parametrize("format", ["json", "csv", "ecsv"])
def test_scan_output_keeps_any_file_name(tmp_path, odd_names, format):
    data, paths = odd_names
    output = tmp_path / f"inventory.{format}"
    result = run("scan", data, "--no-cache", "-o", output, "--lock", tmp_path / "x.lock")
    assert result.exit_code == 0, result.output
    output.read_bytes().decode("utf-8")
    assert sorted(r.path for r in reporter.Inventory.read(output)) == paths
    from reporter.lock import read_lock

    assert sorted(r.path for r in read_lock(tmp_path / "x.lock")[0]) == paths


def test_csv_on_a_pipe_is_the_file_and_keep_formulas_is_an_option(tmp_path, odd_names):
    data, paths = odd_names
    assert "--keep-formulas" in run("scan", "--help").stdout
    assert "--keep-formulas" in run("report", "--help").stdout
    for extra in ([], ["--keep-formulas"]):
        printed = run("scan", data, "--no-cache", "--format", "csv", *extra)
        assert printed.exit_code == 0, printed.output
        saved = tmp_path / f"inventory{len(extra)}.csv"
        assert run("scan", data, "--no-cache", "-o", saved, *extra).exit_code == 0
        assert printed.stdout == saved.read_text("utf-8")
        cells = [row[0] for row in csv.reader(io.StringIO(printed.stdout))][1:]
        assert sorted(r.path for r in reporter.Inventory.read(saved)) == paths
        assert f"'%{data}/jw_%FF%FE_cal.fits" in cells  # bytes that are not UTF-8, as %XX
    # The path starts with the folder, not '=': only a cell's first character counts.
    neutral = tmp_path / "neutral.csv"
    reporter.Inventory([reporter.ProvenanceRecord.build("=1+1.fits")]).write(neutral)
    assert next(csv.DictReader(neutral.open()))["path"] == "'=1+1.fits"
