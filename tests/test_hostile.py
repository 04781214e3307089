"""Every command and every output on a dataset of hostile header values and file names.

The dataset (:mod:`hostile`) carries TeX primitives, BibTeX breakers, HTML and Markdown,
newlines, control characters, spreadsheet formulas, odd blanks, long values and file
names that are not UTF-8. Each command runs once through the real command line (module
fixtures); the tests then check that nothing from a header acts in any output:

* LaTeX compiles (``-no-shell-escape``, ``-halt-on-error``, a timeout against endless
  loops), writes no file of its own choosing, prints no file of this machine, and
  BibTeX sees only the tool's entries;
* Markdown renders no HTML, image or script link from a value, and tables keep their rows;
* CSV keeps one row per record and neutralises formulas; JSON is strict; every format
  gives back exactly what the header said;
* the terminal gets no control character but the newline, and no traceback;
* the data are not modified.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import hostile
import journals
import pytest
from markdown_it import MarkdownIt
from typer.testing import CliRunner

from reporter.cli import app
from reporter.inventory import Inventory

ROOT = Path(__file__).resolve().parents[1]
DOI = "10.17909/abcd-1234"
STYLES = ("aastex", "mnras", "aa", "generic")
#: The journal each style's parts are compiled in (see tests/journals.py).
JOURNAL_OF_STYLE = {"aastex": "aastex631", "mnras": "mnras", "aa": "aa", "generic": "article"}
#: pdflatex must finish well within this; an endless loop from a value fails the test.
TEX_TIMEOUT = 60

#: A user's bibliography for ``bib --in-place``: CRLF line ends and a blank line at the end.
USER_BIB = (b"@article{smith2020,\r\n  author = {Smith, A.},\r\n  title = {A paper},\r\n"
            b"  journal = {ApJ},\r\n  year = {2020}\r\n}\r\n\r\n")
MANUSCRIPT = ("\\documentclass{article}\n\\begin{document}\n"
              "We reduced the data with version 1.14.0 of the JWST pipeline "
              "\\citep{jwst_pipeline_1_14_0} and CRDS context jwst\\_1241.pmap.\n"
              "\\input{data_section}\n\\end{document}\n")
DATA_SECTION = "The data (SDP\\_VER 2024\\_1a) are at MAST, \\url{https://doi.org/10.17909/x}.\n"
#: Folder names that would add settings if written into provenance.toml as they are.
TOML_BREAKERS = {"init-quote": 'data"\n[output]\nout = "/tmp/owned',
                 "init-newline": "data\n[output]\nout = 1\n#"}


# --- Running every command once ---------------------------------------------------

@dataclass
class Run:
    args: list[str]
    exit_code: int
    stdout: bytes
    stderr: bytes
    exception: BaseException | None
    traceback: str

    def where(self) -> str:
        return f"jwst-provenance {' '.join(map(repr, self.args))}"


#: name → (arguments, exit code expected). {D}: the hostile data, {C}: the clean data,
#: {O}: the output folder. Exit codes: scan 1 (the non-ASCII headers are unreadable),
#: diff and verify 1 (something changed), the others 0.
COMMANDS: dict[str, tuple[tuple[str, ...], int]] = {
    "scan": (("scan", "{D}", "-j", "1"), 1),
    "scan-verbose": (("scan", "{D}", "-v", "-j", "1"), 1),
    "scan-json": (("scan", "{D}", "-o", "{O}/inventory.json", "-j", "1"), 1),
    "scan-csv": (("scan", "{D}", "-o", "{O}/inventory.csv", "-j", "1"), 1),
    "scan-ecsv": (("scan", "{D}", "-o", "{O}/inventory.ecsv", "-j", "1"), 1),
    "scan-json-stdout": (("scan", "{D}", "--format", "json", "-j", "1"), 1),
    "scan-lock": (("scan", "{D}", "--lock", "{O}/provenance.lock", "-j", "1"), 1),
    "scan-two-jobs": (("scan", "{D}", "-o", "{O}/inventory-j2.json", "-j", "2",
                       "--no-cache"), 1),
    "verify-same": (("verify", "{O}/provenance.lock", "{D}", "-j", "1"), 0),
    "verify-clean": (("verify", "{O}/provenance.lock", "{C}", "-j", "1"), 1),
    **{f"report-{style}": (("report", "{D}", "--style", style, "--out", f"{{O}}/report-{style}",
                            "--doi", DOI, "--fail-on", "never", "-j", "1"), 0)
       for style in STYLES},
    "report-limited": (("report", "{D}", "--style", "generic", "--out", "{O}/report-limited",
                        "--doi", DOI, "--fail-on", "never", "--table-limit", "5", "-j", "1"), 0),
    "render-latex": (("render", "{D}", "--to", "latex", "--doi", DOI, "-o", "{O}/render-latex/",
                      "-j", "1"), 0),
    "render-markdown": (("render", "{D}", "--to", "markdown", "--doi", DOI,
                         "-o", "{O}/render-markdown/", "-j", "1"), 0),
    "render-latex-stdout": (("render", "{D}", "--to", "latex", "--doi", DOI, "-j", "1"), 0),
    "render-markdown-stdout": (("render", "{D}", "--to", "markdown", "--doi", DOI,
                                "-j", "1"), 0),
    "bib-new": (("bib", "{D}", "-o", "{O}/bib-new/provenance.bib", "-j", "1"), 0),
    "bib-stdout": (("bib", "{D}", "-j", "1"), 0),
    "bib-in-place": (("bib", "{D}", "--bib", "{O}/bib-in-place/paper.bib", "--in-place",
                      "-j", "1"), 0),
    "check-text": (("check", "{D}", "--fail-on", "never", "-j", "1"), 0),
    "check-verbose": (("check", "{D}", "--fail-on", "never", "-v", "-j", "1"), 0),
    "check-json": (("check", "{D}", "--fail-on", "never", "--format", "json",
                    "-o", "{O}/check.json", "-j", "1"), 0),
    "check-markdown": (("check", "{D}", "--fail-on", "never", "--format", "markdown",
                        "-o", "{O}/check.md", "-j", "1"), 0),
    "check-markdown-stdout": (("check", "{D}", "--fail-on", "never", "--format", "markdown",
                               "-j", "1"), 0),
    **{f"diff-{form}": (("diff", "{C}", "{D}", "--format", form, "-j", "1"), 1)
       for form in ("text", "json", "markdown", "latex")},
    **{f"audit-{form}": (("audit", "{O}/ms/ms.tex", "{D}", "--fail-on", "never",
                          "--format", form, "-j", "1"), 0)
       for form in ("text", "json", "markdown")},
    "caveats": (("caveats",), 0),
    "caveats-explain": (("caveats", "explain", "JP201"), 0),
    "templates-list": (("templates", "list"), 0),
}

#: Commands given a hostile argument instead of hostile data, and the exit codes they may
#: give: an unknown code is refused in words (2 or 3), a filter that matches nothing is not
#: an error (0); either way the argument is echoed inertly.
HOSTILE_ARGUMENTS: dict[str, tuple[tuple[str, ...], tuple[int, ...]]] = {
    "caveats-explain-hostile": (("caveats", "explain", "\x1b[31m<img src=x>\x07\\input{x}"),
                                (2, 3)),
    "caveats-hostile-filter": (("caveats", "--cal-ver", "\x1b]0;owned\x07", "--mode",
                                "\x1b[2J"), (0,)),
}


def _sha256_tree(folder: Path) -> dict[bytes, str]:
    digests = {}
    for top, _, files in os.walk(os.fsencode(folder)):
        for name in files:
            path = os.path.join(top, name)
            with open(path, "rb") as stream:
                digests[path] = hashlib.sha256(stream.read()).hexdigest()
    return digests


@dataclass
class World:
    data: Path
    clean: Path
    out: Path
    expected: dict[str, dict]
    digests: dict[bytes, str]
    runs: dict[str, Run]
    base: Path


def _invoke(args: list[str]) -> Run:
    result = CliRunner().invoke(app, args)
    trace = ""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        # The last frames say where; the whole stack would drown the summary.
        trace = "".join(traceback.format_exception(*result.exc_info, limit=-4))
    return Run(args, result.exit_code, result.stdout_bytes, result.stderr_bytes or b"",
               result.exception, trace)


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    base = tmp_path_factory.mktemp("hostile")
    data, clean, out = base / "data", base / "clean", base / "out"
    expected = hostile.hostile_dataset(data)
    hostile.clean_dataset(clean)
    digests = {**_sha256_tree(data), **_sha256_tree(clean)}
    (out / "bib-in-place").mkdir(parents=True)
    (out / "bib-in-place" / "paper.bib").write_bytes(USER_BIB)
    (out / "bib-new").mkdir()
    (out / "ms").mkdir()
    (out / "ms" / "ms.tex").write_text(MANUSCRIPT)
    (out / "ms" / "data_section.tex").write_text(DATA_SECTION)
    runs = {}
    for name, (template, _) in COMMANDS.items():
        args = [arg.format(D=data, C=clean, O=out) for arg in template]
        runs[name] = _invoke(args)
    for name, (args, _) in HOSTILE_ARGUMENTS.items():
        runs[name] = _invoke(list(args))
    before = os.getcwd()
    for name, folder_name in TOML_BREAKERS.items():
        (base / name / folder_name).mkdir(parents=True)
        os.chdir(base / name)  # init writes into the current folder
        try:
            runs[name] = _invoke(["init", "--data", str(base / name / folder_name),
                                  "--doi", DOI, "--style", "generic"])
        finally:
            os.chdir(before)
    return World(data, clean, out, expected, digests, runs, base)


# --- The dataset itself -----------------------------------------------------------

def test_dataset_carries_every_payload(world):
    """The reader sees each payload as written (else the other tests prove nothing)."""
    import warnings

    from astropy.io import fits

    from reporter.headers import read_provenance
    from reporter.records import ProvenanceRecord

    assert len(hostile.HOSTILE_NAMES) >= 6
    placed = {item.value for item in hostile.payload_files()}
    assert len(placed) == sum(len(group) for group in hostile.PAYLOADS.values())
    for path, want in world.expected.items():
        values, size = read_provenance(path)
        record = ProvenanceRecord.from_header(path, values, size)
        assert record.error_code == want["error_code"], path
        for keyword, value in want["keywords"].items():
            assert record.get(keyword) == value, (path, keyword)
            if value.isprintable() and value.isascii():
                with warnings.catch_warnings():
                    warnings.simplefilter("error")
                    assert fits.getheader(path)[keyword] == value, (path, keyword)


# --- Every command: exit code, terminal text ---------------------------------------

ALL_RUNS = [*COMMANDS, *HOSTILE_ARGUMENTS, *TOML_BREAKERS]


@pytest.mark.parametrize("name", ALL_RUNS)
def test_command_runs_without_traceback(world, name):
    run = world.runs[name]
    if run.traceback:
        pytest.fail(f"{run.where()} raised:\n{run.traceback}", pytrace=False)
    if name in COMMANDS:
        expected = COMMANDS[name][1]
        assert run.exit_code == expected, (
            f"{run.where()}: exit {run.exit_code}, expected {expected}\n"
            f"{run.stderr.decode('utf-8', 'replace')[-2000:]}")
    else:  # a hostile argument or folder name: refused in words, or taken as it is
        allowed = HOSTILE_ARGUMENTS[name][1] if name in HOSTILE_ARGUMENTS else (0, 2, 3)
        assert run.exit_code in allowed, f"{run.where()}: exit {run.exit_code}"


#: What a terminal must never receive from data: C0 controls but the newline, DEL, C1
#: controls, line and paragraph separators, and bidirectional overrides and isolates.
_TERMINAL_HAZARD = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e"
                              "\u2066-\u2069\ud800-\udfff]")


def _terminal_problems(label: str, raw: bytes) -> list[str]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [f"{label}: not UTF-8 at byte {exc.start}: {raw[exc.start - 20:exc.end + 20]!r}"]
    problems = [f"{label}: raw {match.group()!r} in ...{text[max(0, match.start() - 30):match.end() + 30]!r}"
                for match in list(_TERMINAL_HAZARD.finditer(text))[:5]]
    if "Traceback (most recent call last)" in text:
        problems.append(f"{label}: a traceback")
    return problems


@pytest.mark.parametrize("name", ALL_RUNS)
def test_terminal_output_is_inert(world, name):
    run = world.runs[name]
    problems = _terminal_problems("stdout", run.stdout) + _terminal_problems("stderr", run.stderr)
    assert not problems, f"{run.where()}:\n" + "\n".join(problems)


def test_real_terminal_scan_and_check(world):
    """As a process with a UTF-8 locale (what a user's terminal gets): no crash, inert text."""
    env = {**os.environ, "LC_ALL": "C.UTF-8", "PYTHONIOENCODING": ""}
    for args in (["scan", str(world.data), "-v", "-j", "1"],
                 ["check", str(world.data), "--fail-on", "never", "-v", "-j", "1"]):
        done = subprocess.run([sys.executable, "-m", "reporter", *args], capture_output=True,
                              env=env, timeout=120, check=False)
        problems = _terminal_problems("stdout", done.stdout) + _terminal_problems("stderr",
                                                                                   done.stderr)
        assert done.returncode in (0, 1), done.stderr.decode("utf-8", "replace")[-2000:]
        assert not problems, f"{args}:\n" + "\n".join(problems)


# --- Inventories: exact, strict, one row per record ----------------------------------

def _strict_json(text: str):
    def refuse(constant):
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


def _output(world: World, relative: str) -> Path:
    path = world.out / relative
    if not path.exists():
        pytest.fail(f"{relative} was not written (see test_command_runs_without_traceback)")
    return path


@pytest.mark.parametrize("form", ["json", "csv", "ecsv"])
def test_inventory_gives_back_every_payload_exactly(world, form):
    inventory = Inventory.read(_output(world, f"inventory.{form}"))
    records = {record.path: record for record in inventory.records}
    assert sorted(records) == sorted(world.expected)
    wrong = []
    for path, want in world.expected.items():
        record = records[path]
        if record.error_code != want["error_code"]:
            wrong.append(f"{path!r}: error_code {record.error_code!r}")
        for keyword, value in want["keywords"].items():
            got = record.get(keyword)
            if got != value:
                wrong.append(f"{path!r} {keyword}: wrote {value!r}, read {got!r}")
    assert not wrong, f"{len(wrong)} values differ after a {form} round trip:\n" + "\n".join(
        wrong[:20])


def test_parallel_scan_gives_the_same_records(world):
    one = Inventory.read(_output(world, "inventory.json"))
    two = Inventory.read(_output(world, "inventory-j2.json"))
    assert one.records == two.records


def _json_outputs(world: World) -> dict[str, str]:
    """Every JSON document an output holds, by name (lock files: one object per line)."""
    documents = {}
    for name in ("inventory.json", "inventory-j2.json", "check.json",
                 *(f"report-{style}/check.json" for style in STYLES)):
        documents[name] = _output(world, name).read_text("utf-8")
    for name in ("scan-json-stdout", "diff-json", "audit-json"):
        documents[name] = world.runs[name].stdout.decode("utf-8")
    lock = _output(world, "provenance.lock").read_text("utf-8").splitlines()
    for number, line in enumerate(lock, 1):
        if line and not line.startswith("#"):
            documents[f"provenance.lock:{number}"] = line
    return documents


def test_every_json_output_is_strict(world):
    bad = []
    for name, text in _json_outputs(world).items():
        try:
            _strict_json(text)
        except ValueError as exc:
            bad.append(f"{name}: {exc}")
    assert not bad, "\n".join(bad)


def test_lock_names_every_file(world):
    lock = _output(world, "provenance.lock").read_text("utf-8").splitlines()
    paths = {_strict_json(line)["path"] for line in lock if line and not line.startswith("#")}
    assert paths == set(world.expected)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_problems(path: Path, records: int | None) -> list[str]:
    with open(path, encoding="utf-8", newline="") as stream:
        rows = list(csv.reader(stream))
    header, body = rows[0], rows[1:]
    problems = []
    if records is not None and len(body) != records:
        problems.append(f"{len(body)} rows for {records} records")
    for number, row in enumerate(body, 2):
        if len(row) != len(header):
            problems.append(f"row {number}: {len(row)} fields, the header has {len(header)}")
        for column, cell in zip(header, row):
            if cell.startswith(_FORMULA_START):
                problems.append(f"row {number} {column}: formula start {cell[:40]!r}")
    return problems


def test_inventory_csv_one_row_per_record_no_formula(world):
    problems = _csv_problems(_output(world, "inventory.csv"), len(world.expected))
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:20])


def test_file_table_csv_no_formula(world):
    """The full file table a report writes above its table limit (provenance_files.csv)."""
    readable = sum(want["error_code"] is None for want in world.expected.values())
    problems = _csv_problems(_output(world, "report-limited/provenance_files.csv"), readable)
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:20])


def test_file_table_mrt_keeps_its_columns(world):
    """The machine-readable table: ASCII, and every data line as wide as its byte layout."""
    raw = _output(world, "report-limited/provenance_files.mrt").read_bytes()
    assert raw.isascii(), "non-ASCII bytes in the MRT table"
    text = raw.decode("ascii")
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f]", text), "control characters in the MRT"
    widths = [int(end) for end in re.findall(r"^\s*\d+-\s*(\d+)\s", text, re.MULTILINE)]
    data = text.split("\n---")[-1].split("\n", 1)[-1].splitlines() if widths else []
    assert widths and data, "no byte-by-byte description or no data lines"
    lines = [line for line in data if line.strip()]
    readable = sum(want["error_code"] is None for want in world.expected.values())
    assert len(lines) == readable, f"{len(lines)} data lines for {readable} readable files"
    too_long = [line[:60] for line in lines if len(line) > max(widths)]
    assert not too_long, f"lines wider than the layout ({max(widths)}): {too_long[:5]}"


# --- LaTeX ----------------------------------------------------------------------

def _need_tex(*tools: str) -> None:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)}")


def _hostname() -> str | None:
    try:
        return Path("/etc/hostname").read_text().strip() or None
    except OSError:
        return None


#: What pdflatex (with -recorder) and bibtex may write beside the document.
_TEX_PRODUCTS = {".aux", ".log", ".pdf", ".bbl", ".blg", ".out", ".fls"}
_COMPILED: dict[tuple, dict] = {}


def _tex(command: list[str], folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(command, cwd=folder, env=env, capture_output=True,
                              timeout=TEX_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{command[0]} did not finish in {TEX_TIMEOUT} s (an endless loop): "
                    f"{folder}")


def _compile(folder: Path, journal: journals.Journal, body: str, *, bib: bool) -> dict:
    """Compile ``body`` in ``journal``'s preamble in ``folder`` (which holds the parts).

    Returns the PDF's text, the .bbl's text and the files TeX made; each distinct input is
    compiled once.
    """
    key = (journal.name, body, bib,
           tuple(sorted((p.name, p.read_bytes()) for p in folder.iterdir() if p.is_file())))
    if key in _COMPILED:
        return _COMPILED[key]
    (folder / "main.tex").write_text(f"{journal.preamble}{journal.front_matter}{body}"
                                     "\\end{document}\n", "utf-8")
    before = set(os.listdir(folder))
    env = journal.environment()
    # -recorder lists every file TeX opens (main.fls): a value that reads or writes a
    # file shows there even when nothing of it reaches the page.
    latex = ["pdflatex", "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error",
             "-recorder", "main.tex"]
    steps = [latex, ["bibtex", "main"], latex] if bib else [latex]
    for step in steps:
        done = _tex(step, folder, env)
        if done.returncode != 0:
            log = (folder / "main.log").read_text("utf-8", "replace") if (
                folder / "main.log").exists() else ""
            errors = [line for line in log.splitlines() if line.startswith("!")][:5]
            pytest.fail(f"{step[0]} failed in {folder}: {errors or done.stdout[-1500:]}")
    made = set(os.listdir(folder)) - before
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", "main.pdf", "-"], cwd=folder,
                          capture_output=True, timeout=TEX_TIMEOUT, check=True).stdout
    bbl = folder / "main.bbl"
    opened = (folder / "main.fls").read_text("utf-8", "replace").splitlines()
    result = {"made": made, "text": text.decode("utf-8", "replace"),
              "inputs": {line[6:] for line in opened if line.startswith("INPUT ")},
              "outputs": {line[7:] for line in opened if line.startswith("OUTPUT ")},
              "folder": folder, "search": journal.texinputs,
              "bbl": bbl.read_text("utf-8", "replace") if bbl.exists() else None}
    _COMPILED[key] = result
    return result


_BIB_KEYS = re.compile(r"^@\s*\w+\s*\{\s*([^,\s]+)\s*,", re.MULTILINE)


def _bbl_keys(bbl: str) -> set[str]:
    """The keys of the \\bibitem entries (each may have an optional argument in brackets)."""
    keys = set()
    for match in re.finditer(r"\\bibitem", bbl):
        position = match.end()
        if bbl[position:position + 1] == "[":
            depth = 0
            while position < len(bbl):
                char = bbl[position]
                depth += char in "[{"
                depth -= char in "]}"
                position += 1
                if depth == 0:
                    break
        close = bbl.find("}", position)
        keys.add(bbl[position + 1:close].strip())
    return keys


def _assert_inert(result: dict, sources: str, bib_text: str | None) -> None:
    made = {name for name in result["made"] if Path(name).suffix not in _TEX_PRODUCTS
            or not name.startswith("main.")}
    made |= {path for path in result["outputs"] if not _ours(path, result["folder"])}
    assert not made, f"TeX wrote files a value asked for: {sorted(made)}"
    foreign = {path for path in result["inputs"] if not _tex_file(path, result)}
    assert not foreign, f"TeX read files a value asked for: {sorted(foreign)}"
    hostname = _hostname()
    if hostname and len(hostname) >= 3 and hostname not in sources:
        assert hostname not in result["text"], "the PDF shows the contents of /etc/hostname"
    assert "root:x:0:0" not in result["text"], "the PDF shows /etc/passwd"
    if bib_text is not None:
        ours = set(_BIB_KEYS.findall(bib_text))
        assert result["bbl"] is not None
        extra = _bbl_keys(result["bbl"]) - ours
        assert not extra, f"BibTeX read entries no key of ours names: {sorted(extra)}"


def _ours(path: str, folder: Path) -> bool:
    """A file TeX may write: main.* with a known ending, in the document's folder."""
    full = Path(path) if os.path.isabs(path) else folder / path
    return (full.parent.resolve() == folder.resolve() and full.name.startswith("main.")
            and full.suffix in _TEX_PRODUCTS)


def _tex_file(path: str, result: dict) -> bool:
    """A file TeX may read: the document's own, or one of the TeX installation's."""
    full = Path(path) if os.path.isabs(path) else result["folder"] / path
    if full.resolve().parent == result["folder"].resolve():
        return True
    trees = [entry.rstrip("/") for entry in result["search"]]
    return "texmf" in path or "texlive" in path or any(path.startswith(t) for t in trees)


def _copy_tex(source: Path, folder: Path, names=None) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    texts = []
    for path in sorted(source.iterdir()):
        if path.suffix in (".tex", ".bib") and (names is None or path.stem in names):
            shutil.copyfile(path, folder / path.name)
            texts.append(path.read_text("utf-8", "replace"))
    return "\n".join(texts)


def _journal(style: str) -> journals.Journal:
    journal = journals.journal(JOURNAL_OF_STYLE[style])
    if journal.unavailable:
        pytest.skip(f"{journal.name}: {journal.unavailable}")
    return journal


@pytest.mark.parametrize("layout", ["parts", "all"])
@pytest.mark.parametrize("style", STYLES)
def test_report_latex_compiles_and_nothing_acts(world, tmp_path, style, layout):
    _need_tex("pdflatex", "bibtex", "pdftotext", "kpsewhich")
    journal = _journal(style)
    report = _output(world, f"report-{style}")
    sources = _copy_tex(report, tmp_path)
    parts = [p.stem for p in tmp_path.glob("*.tex")]
    bib = layout == "parts" and (tmp_path / "provenance.bib").exists()
    body = journals.document_body(journal, parts, layout, bibliography=bib)
    result = _compile(tmp_path, journal, body, bib=bib)
    _assert_inert(result, sources, (tmp_path / "provenance.bib").read_text("utf-8")
                  if bib else None)


def test_render_latex_parts_compile_and_nothing_acts(world, tmp_path):
    _need_tex("pdflatex", "pdftotext")
    journal = _journal("generic")
    sources = _copy_tex(_output(world, "render-latex"), tmp_path)
    parts = [p.stem for p in tmp_path.glob("*.tex")]
    assert parts, "render -o DIR/ wrote no .tex"
    body = journals.document_body(journal, parts, "parts", bibliography=False)
    _assert_inert(_compile(tmp_path, journal, body, bib=False), sources, None)


def test_render_latex_stdout_compiles_and_nothing_acts(world, tmp_path):
    _need_tex("pdflatex", "pdftotext")
    journal = _journal("generic")
    text = world.runs["render-latex-stdout"].stdout.decode("utf-8")
    (tmp_path / "rendered.tex").write_text(text, "utf-8")
    result = _compile(tmp_path, journal, "\\input{rendered}\n", bib=False)
    _assert_inert(result, text, None)


def test_diff_latex_compiles_and_nothing_acts(world, tmp_path):
    _need_tex("pdflatex", "pdftotext")
    journal = _journal("generic")
    text = world.runs["diff-latex"].stdout.decode("utf-8")
    assert text.strip(), "diff --format latex printed nothing"
    (tmp_path / "diff.tex").write_text(text, "utf-8")
    _assert_inert(_compile(tmp_path, journal, "\\input{diff}\n", bib=False), text, None)


_NATBIB = journals.Journal("article-natbib", "generic", "plainnat",
                           preamble="\\documentclass{article}\n\\usepackage{natbib}\n"
                                    "\\begin{document}\n")


@pytest.mark.parametrize("which", ["bib-new/provenance.bib", "bib-in-place/paper.bib"])
def test_bib_compiles_and_only_our_entries(world, tmp_path, which):
    """Every entry cited (\\nocite{*}) through plainnat: BibTeX sees only the tool's keys."""
    _need_tex("pdflatex", "bibtex", "pdftotext")
    bib_text = _output(world, which).read_text("utf-8")
    (tmp_path / "refs.bib").write_text(bib_text, "utf-8")
    body = "\\nocite{*}\n\\bibliographystyle{plainnat}\n\\bibliography{refs}\n"
    result = _compile(tmp_path, _NATBIB, body, bib=True)
    _assert_inert(result, bib_text, bib_text)


def test_bib_in_place_keeps_every_byte(world):
    written = _output(world, "bib-in-place/paper.bib").read_bytes()
    assert written.startswith(USER_BIB), "the user's own bytes changed"
    assert len(written) > len(USER_BIB), "no entry was added"
    backup = world.out / "bib-in-place" / "paper.bib.bak"
    assert backup.read_bytes() == USER_BIB
    added = written[len(USER_BIB):]
    assert b"\n" not in added.replace(b"\r\n", b""), "added lines do not end in CRLF"


# --- Markdown -------------------------------------------------------------------

_MARKDOWN = MarkdownIt("commonmark", {"html": True}).enable("table")
#: The tags the tool's own Markdown produces (tables, lists, emphasis, code, headings).
_TAGS = {"p", "code", "pre", "table", "thead", "tbody", "tr", "th", "td", "ul", "ol", "li",
         "em", "strong", "h1", "h2", "h3", "h4", "h5", "h6", "a", "blockquote", "hr", "br"}
_OWN_COMMENT = re.compile(r"<!-- [^\n]*jwst-provenance[^\n]*-->\s*")


def _markdown_problems(label: str, source: str) -> list[str]:
    problems = []
    tokens = _MARKDOWN.parse(source)
    html = _MARKDOWN.renderer.render(tokens, _MARKDOWN.options, {})
    for token in [t for t in tokens if t.type == "html_block"] + [
            child for t in tokens for child in (t.children or []) if child.type == "html_inline"]:
        if not _OWN_COMMENT.fullmatch(token.content):
            problems.append(f"{label}: raw HTML {token.content[:80]!r}")
    for child in (c for t in tokens for c in (t.children or [])):
        if child.type == "image":
            problems.append(f"{label}: an image {child.attrs}")
        if child.type == "link_open":
            href = str(child.attrs.get("href", ""))
            if not href.startswith(("https://", "http://", "#")):
                problems.append(f"{label}: a link to {href[:80]!r}")
    for tag in set(re.findall(r"</?([A-Za-z][\w-]*)", html)) - _TAGS:
        problems.append(f"{label}: a <{tag}> element")
    if re.search(r"<[a-z][^>]*\son\w+\s*=", html, re.IGNORECASE):
        problems.append(f"{label}: an event handler attribute")
    if re.search(r"(?:href|src)\s*=\s*[\"']?\s*javascript:", html, re.IGNORECASE):
        problems.append(f"{label}: a javascript: URL")
    if re.search(r"<h\d>\s*heading\s*</h\d>", html):
        problems.append(f"{label}: a heading made by a value")
    problems += _table_problems(label, source, tokens)
    return problems


def _unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


def _table_problems(label: str, source: str, tokens) -> list[str]:
    """Each table: one body row per source row, every row as many cells as its header,
    and no row-like line outside a table (a row a value broke)."""
    lines = re.split(r"\r\n?|\n", source)  # markdown-it's line ends, and only those
    problems, in_table = [], set()
    for index, token in enumerate(tokens):
        if token.type != "table_open":
            continue
        start, end = token.map
        in_table.update(range(start, end))
        rows = 0
        for inner in tokens[index:]:
            if inner.type == "table_close":
                break
            rows += inner.type == "tr_open"
        if rows != end - start - 1:  # the delimiter line is no row
            problems.append(f"{label}: table at line {start + 1}: {rows} rows rendered, "
                            f"{end - start - 1} written")
        header = _unescaped_pipes(lines[start])
        for number in range(start + 2, end):
            if _unescaped_pipes(lines[number]) != header:
                problems.append(f"{label}: line {number + 1} has "
                                f"{_unescaped_pipes(lines[number])} cell separators, "
                                f"the header {header}")
    for number, line in enumerate(lines):
        if line.startswith("|") and number not in in_table:
            problems.append(f"{label}: line {number + 1} looks like a table row outside a "
                            f"table: {line[:60]!r}")
    return problems


def _markdown_sources(world: World, source: str) -> dict[str, str]:
    if source.startswith("report-") or source == "render-markdown":
        folder = _output(world, source)
        found = {f"{source}/{p.name}": p.read_text("utf-8") for p in sorted(folder.glob("*.md"))}
        assert found, f"{source} wrote no .md"
        return found
    if source == "check.md":
        return {source: _output(world, source).read_text("utf-8")}
    return {source: world.runs[source].stdout.decode("utf-8")}


MARKDOWN_SOURCES = [*(f"report-{style}" for style in STYLES), "render-markdown",
                    "render-markdown-stdout", "check.md", "check-markdown-stdout",
                    "diff-markdown", "audit-markdown"]


@pytest.mark.parametrize("source", MARKDOWN_SOURCES)
def test_markdown_renders_no_html_and_keeps_tables(world, source):
    problems = []
    for label, text in _markdown_sources(world, source).items():
        problems += _markdown_problems(label, text)
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:25])


# --- Settings, and the data themselves --------------------------------------------

@pytest.mark.parametrize("name", list(TOML_BREAKERS))
def test_init_writes_the_folder_name_exactly_or_refuses(world, name):
    """provenance.toml holds exactly the folder given, or init refuses and writes nothing."""
    run, settings_file = world.runs[name], world.base / name / "provenance.toml"
    if run.exit_code != 0:
        assert not settings_file.exists(), "init refused but wrote provenance.toml"
        return
    try:
        settings = tomllib.loads(settings_file.read_text("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        pytest.fail(f"init wrote a provenance.toml that is not TOML: {exc}")
    assert settings["data"]["paths"] == [str(world.base / name / TOML_BREAKERS[name])]
    assert settings["output"].get("out") == "provenance"


def test_inputs_unmodified(world):
    """No command changed, added or removed a file of either dataset (last: after all)."""
    assert {**_sha256_tree(world.data), **_sha256_tree(world.clean)} == world.digests

