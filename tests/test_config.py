"""provenance.toml: written by init, read by every command, overridden by options."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from reporter.cli import app
from reporter.config import load_config, write_config
from reporter.errors import UsageError

ROOT = Path(__file__).resolve().parents[1]


def run(*args):
    return CliRunner().invoke(app, [str(arg) for arg in args])


@pytest.fixture
def paper(tmp_path, monkeypatch):
    (tmp_path / "data").symlink_to(ROOT / "examples" / "data")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_init_writes_a_commented_file_that_loads(paper):
    result = run("init", "--doi", "doi:10.17909/abcd-1234", "--style", "mnras")
    assert result.exit_code == 0, result.output
    text = (paper / "provenance.toml").read_text()
    assert text.startswith("# Settings of jwst-provenance")
    assert tomllib.loads(text)["data"]["dois"] == ["10.17909/abcd-1234"]
    config = load_config(paper)
    assert config.paths == [str(paper) + "/data/"] and config.style == "mnras"
    assert config.out == str(paper / "provenance")
    assert run("init").exit_code == 2  # never replaced silently
    assert run("init", "--force").exit_code == 0


def test_init_refuses_a_bad_doi(paper):
    result = run("init", "--doi", "not-a-doi")
    assert result.exit_code == 2 and "not a DOI" in result.stderr
    assert not (paper / "provenance.toml").exists()


def test_commands_use_the_file_and_options_win(paper):
    write_config(paper, paths=["data"], dois=["10.17909/abcd-1234"], style="mnras")
    scan = run("scan")
    assert scan.exit_code == 0 and scan.stdout.startswith("Scanned 22 files")
    mnras = run("render", "--part", "availability")
    assert "Data Availability" in mnras.stdout and "10.17909/abcd-1234" in mnras.stdout
    aastex = run("render", "--part", "availability", "--style", "aastex", "--doi", "10.17909/other")
    assert "\\dataset[doi:10.17909/other]" in aastex.stdout and "abcd-1234" not in aastex.stdout
    report = run("report")
    assert report.exit_code == 0, report.output
    assert (paper / "provenance" / "provenance.tex").exists()


def test_paths_are_relative_to_the_file(paper, tmp_path_factory, monkeypatch):
    write_config(paper, paths=["data", "@list.txt"])
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    monkeypatch.chdir(elsewhere)
    config = load_config(paper)
    assert config.paths == [str(paper / "data"), "@" + str(paper / "list.txt")]


def test_without_paths_or_file_the_error_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("check")
    assert result.exit_code == 2
    assert "provenance.toml" in result.output and "init" in result.output


@pytest.mark.parametrize("text, message", [
    ("[data\n", "not a readable TOML"),
    ("[paper]\ntitle = 'x'\n", "unknown section [paper]"),
    ("[data]\nfolders = ['x']\n", "unknown key 'folders'"),
    ("[data]\npaths = 'data'\n", "must be a list"),
    ("[output]\nstyle = 3\n", "must be text"),
])
def test_invalid_file_names_the_problem(tmp_path, text, message):
    (tmp_path / "provenance.toml").write_text(text)
    with pytest.raises(UsageError, match=re.escape(message)):
        load_config(tmp_path)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(st.characters(blacklist_categories=("Cs",))), min_size=1, max_size=3))
def test_any_folder_name_reads_back_exactly(tmp_path_factory, names):
    """Quotes, backslashes, newlines, every control character: the file is TOML and
    holds exactly the names given (a name can never add a setting)."""
    folder = tmp_path_factory.mktemp("init")
    path = write_config(folder, paths=names)
    assert tomllib.loads(path.read_text("utf-8"))["data"]["paths"] == names


def test_a_name_that_is_not_utf8_is_refused(tmp_path):
    with pytest.raises(UsageError, match="not UTF-8"):
        write_config(tmp_path, paths=["data\udcff"])
    assert not (tmp_path / "provenance.toml").exists()
