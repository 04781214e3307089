"""What the command line prints can never act on a terminal: controls show as escapes."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from fitsfiles import fits_bytes
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from reporter.cli import app
from reporter.terminal import visible

# Any character a terminal could act on, but the newline that ends a printed line.
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e"
                         "\u2066-\u2069\ufeff\ud800-\udfff]")
ESC_RED = "\x1b[31m"


@pytest.mark.parametrize("char, shown", [
    ("\x1b", "\\x1b"), ("\x07", "\\x07"), ("\x00", "\\x00"), ("\t", "\\t"), ("\r", "\\r"),
    ("\x08", "\\x08"), ("\x7f", "\\u007f"), ("\x9b", "\\u009b"), ("\x85", "\\u0085"),
    ("\u202e", "\\u202e"), ("\u2066", "\\u2066"), ("\u061c", "\\u061c"), ("\u200f", "\\u200f"),
    ("\u2028", "\\u2028"), ("\u2029", "\\u2029"), ("\ufeff", "\\ufeff"), ("\u200b", "\\u200b"),
    ("\udcff", "\\udcff"), ("\ud800", "\\ud800"), ("\U000e0001", "\\udb40\\udc01"),
])
def test_visible_writes_each_hidden_character_as_an_escape(char, shown):
    assert visible(f"a{char}b") == f"a{shown}b"


def test_visible_keeps_text_that_shows_as_itself():
    for text in ("plain", "µm café 日本 \U0001F600", "a\nb", "back\\slash", ""):
        assert visible(text) == text
    assert visible("a\nb", newlines=True) == "a\\nb"


@settings(deadline=None)
@given(st.text(st.characters(exclude_categories=())))
def test_json_through_visible_is_the_same_json(text):
    # What JSON the CLI prints stays valid and means the same.
    document = json.dumps({"value": text}, ensure_ascii=False)
    shown = visible(document)
    assert json.loads(shown) == {"value": text}
    assert RAW_CONTROL.search(shown) is None


def _with_raw_cards(data: bytes, cards: dict[str, bytes]) -> bytes:
    """FITS bytes with some string cards replaced by raw bytes (astropy refuses controls)."""
    for keyword, value in cards.items():
        card = keyword.encode().ljust(8) + b"= '" + value + b"'"
        start = next(i for i in range(0, len(data), 80) if data[i:i + 8] == keyword.encode().ljust(8))
        data = data[:start] + card.ljust(80) + data[start + 80:]
    return data


HOSTILE_NAMES = (b"jw_\x1b[31mred\x07bel_cal.fits", b"jw_\xff_not_utf8\r_cal.fits",
                 "jw_\u202ebidi_cal.fits".encode())


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("controls")
    values = {"TARGNAME": b"\x1b[31mred\x1b[0m\x07", "CAL_VER": b"1.14.0\x1b[2J\x00",
              "CRDS_CTX": b"jwst_1241.pmap\r\x1b]0;owned\x07"}
    (folder / "jw01345001001_02101_00001_nrca1_cal.fits").write_bytes(
        _with_raw_cards(fits_bytes(), values))
    for name in HOSTILE_NAMES:
        with open(os.path.join(os.fsencode(folder), name), "wb") as stream:
            stream.write(fits_bytes())
    with open(os.path.join(os.fsencode(folder), b"jw_\x1b[5mcut\x07_cal.fits"), "wb") as stream:
        stream.write(b"not FITS")  # unreadable: its name is in an error message
    return folder


def run(*args):
    return CliRunner().invoke(app, [os.fspath(arg) for arg in args])


def _assert_inert(result):
    text = result.stdout + result.stderr
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), \
        result.exception
    assert "Traceback" not in text
    found = RAW_CONTROL.findall(text)
    assert not found, f"raw controls printed: {found!r}"
    return text


@pytest.fixture(scope="module")
def saved(dataset, tmp_path_factory) -> Path:
    """The dataset as it was before a reprocessing: every file with another context."""
    import reporter
    from reporter import Inventory, ProvenanceRecord
    from reporter.records import KeywordMap

    records = [ProvenanceRecord.build(
        r.path, KeywordMap.from_dict({**r.keywords.to_dict(), "CRDS_CTX": "jwst_1100.pmap"}),
        r.reference_files, r.step_status, r.size, r.error_code, r.error)
        for r in reporter.scan([os.fspath(dataset)], jobs=1)]
    path = tmp_path_factory.mktemp("saved") / "inventory.json"
    Inventory(records).write(path)
    return path


@pytest.mark.parametrize("args", [
    ["scan", "{data}", "--no-cache"],
    ["scan", "{data}", "--no-cache", "--verbose"],
    ["check", "{data}"],
    ["check", "{data}", "--verbose", "--format", "markdown"],
    ["diff", "{saved}", "{data}"],
    ["diff", "{saved}", "{data}", "--format", "markdown"],
    ["render", "{data}", "--to", "markdown"],
    ["scan", "{data}/no\x1b[31msuch\x07file.fits"],
    ["check", "--inventory", "{data}/no\x1b[31m.json"],
    ["caveats", "explain", "\x1b[31mnope\x07"],
])
def test_no_command_prints_a_raw_control(dataset, saved, args):
    args = [arg.format(data=dataset, saved=saved) for arg in args]
    text = _assert_inert(run(*args))
    assert re.search(r"\\x1b|\\x07|\\u202e|\[U\+001B\]", text)  # shown, not dropped


def test_scan_shows_values_and_names_visibly(dataset):
    text = _assert_inert(run("scan", dataset, "--no-cache", "--verbose"))
    assert "1.14.0\\x1b[2J\\x00" in text and "jwst_1241.pmap\\r\\x1b]0;owned\\x07" in text
    assert "jw_\\x1b[5mcut\\x07_cal.fits" in text  # the unreadable file's name


def test_json_printed_stays_json(dataset, saved):
    result = run("check", dataset, "--format", "json")
    document = json.loads(_assert_inert(result).split("\n", 0)[0])
    assert document["format"] == "jwst-provenance check"
    shown = run("scan", "-f", "json", dataset, "--no-cache")
    inventory = json.loads(shown.stdout)
    values = {r["keywords"].get("TARGNAME") for r in inventory["records"]}
    assert "\x1b[31mred\x1b[0m\x07" in values  # the exact value, in JSON escapes


def test_report_and_lock_with_such_names(dataset, tmp_path):
    _assert_inert(run("scan", dataset, "--no-cache", "--lock", tmp_path / "x.lock"))
    _assert_inert(run("verify", tmp_path / "x.lock", dataset))
    result = run("report", dataset, "--out", tmp_path / "report")
    _assert_inert(result)
    assert (tmp_path / "report" / "provenance.md").exists()


def test_colour_is_the_only_escape_check_prints_on_a_terminal(dataset, monkeypatch):
    from reporter import findings, terminal

    monkeypatch.setattr(terminal._VisibleStream, "isatty", lambda self: True)
    result = run("check", dataset)
    trusted = {*findings._COLOURS.values(), findings._RESET, findings._BOLD}
    sequences = re.findall(r"\x1b\[[0-9;]*m", result.stdout)
    assert sequences and set(sequences) <= trusted
    # Every ESC is one of those colours; the data's own show as text.
    assert result.stdout.count("\x1b") == len(sequences)
    assert "\\x1b" in result.stdout


def _subprocess(args, env_extra, cwd=None):
    import subprocess
    import sys
    env = {**os.environ, **env_extra}
    return subprocess.run([sys.executable, "-m", "reporter", *args], check=False,
                          capture_output=True,
                          env=env, timeout=120, cwd=cwd)


@pytest.mark.parametrize("env", [{"PYTHONIOENCODING": "ascii"},
                                 {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONIOENCODING": ""}])
def test_an_ascii_terminal_still_sees_every_control_as_an_escape(tmp_path, env):
    # click writes to the bytes under an ASCII stream unless the stream has none.
    (tmp_path / "jw01345001001_02101_00001_nrca1_cal.fits").write_bytes(fits_bytes())
    (tmp_path / "notes_\x1b]0;title\x07\x1bc_café.txt").write_bytes(b"x")
    # (JSON data on a pipe are written exactly, so only ASCII names there.)
    json_folder = tmp_path / "json"
    json_folder.mkdir()
    (json_folder / "jw01345001001_02101_00001_nrca1_cal.fits").write_bytes(fits_bytes())
    (json_folder / "notes_\x1b]0;title\x07\x1bc_caf.txt").write_bytes(b"x")
    for args in (["scan", str(tmp_path), "--verbose"],
                 ["scan", str(json_folder), "--verbose", "--format", "json"]):
        result = _subprocess(args, env)
        assert result.returncode == 0, result.stderr
        out = result.stdout + result.stderr
        assert b"\x1b" not in out and b"\x07" not in out
        assert b"notes_\\x1b]0;title\\x07\\x1bc_caf" in out


def test_an_uncaught_error_prints_its_traceback_visibly(tmp_path):
    # A crash's message may quote a file name: its traceback goes through visible() too.
    (tmp_path / "boom.py").write_text(
        "import reporter.cli as cli\n"
        "@cli.app.command('boom')\n"
        "def boom():\n"
        "    raise RuntimeError('bad name \\x1b[2J\\x1b]0;x\\x07')\n"
        "cli.app(prog_name='jwst-provenance', args=['boom'])\n")
    import subprocess
    import sys
    result = subprocess.run([sys.executable, str(tmp_path / "boom.py")], check=False,
                            capture_output=True,
                            timeout=120)
    assert result.returncode == 1
    assert b"RuntimeError: bad name \\x1b[2J\\x1b]0;x\\x07" in result.stderr
    assert b"\x1b" not in result.stderr + result.stdout


@pytest.fixture(scope="module")
def newline_dataset(tmp_path_factory) -> Path:
    """Values and file names with line breaks, each trying to pass for a line of output."""
    folder = tmp_path_factory.mktemp("newlines")
    (folder / "jw01345001001_02101_00001_nrca1_cal.fits").write_bytes(_with_raw_cards(
        fits_bytes(), {"TARGNAME": b"M31\nAll checks passed", "CAL_VER": b"1.14.0\nINJECTED LINE"}))
    (folder / "jw_evil\nFAKE: all good\n_cal.fits").write_bytes(fits_bytes())
    (folder / "jw_bad\nFAKE: unreadable_cal.fits").write_bytes(b"not fits")
    (folder / "notes\nFAKE: skipped.txt").write_bytes(b"x")
    return folder


def _forged_lines(text: str) -> list[str]:
    return [line for line in text.splitlines()
            if line.lstrip().startswith(("FAKE:", "INJECTED LINE", "All checks passed"))]


@pytest.mark.parametrize("args", [
    ["scan", "{data}", "--no-cache", "--verbose"],
    ["scan", "{data}", "--no-cache", "--verbose", "--format", "json"],
    ["check", "{data}"],
    ["check", "{data}", "--verbose"],
    ["report", "{data}", "--out", "{tmp}/report"],
    ["verify", "{tmp}/data.lock", "{data}", "{extra}"],
    ["diff", "{tmp}/data.lock", "{extra}"],
])
def test_a_value_or_name_never_adds_a_line(newline_dataset, tmp_path, args):
    lock = tmp_path / "data.lock"
    assert run("scan", newline_dataset, "--no-cache", "--lock", lock, "-o",
               tmp_path / "inv.json").exit_code == 1  # one unreadable file
    extra = tmp_path / "jw_more\nFAKE: verified_cal.fits"  # verify: the data changed
    extra.write_bytes(fits_bytes())
    args = [arg.format(data=newline_dataset, tmp=tmp_path, extra=extra) for arg in args]
    result = run(*args)
    text = _assert_inert(result)
    assert "FAKE" in text or "INJECTED" in text  # shown, not dropped
    assert not _forged_lines(result.stdout) and not _forged_lines(result.stderr), text
