"""The command line, driven through Typer's runner and, for start-up, as a real process."""

from __future__ import annotations

import csv
import io
import json
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
