"""The report's LaTeX parts, compiled inside the journals' own templates, unchanged.

Each journal of :mod:`journals` (AASTeX 6.31 and 7.0.1, MNRAS, A&A, article in one and two
columns) takes the parts ``report`` writes in its style, placed as an author would, and
must compile without an error, an overfull box, text outside the text block or a warning
that the journal's own template does not give. These tests are the yardstick of the
templates: they fail where today's parts do not fit, and say why.

The documents compile in parallel threads (``JOURNALS_JOBS``, default: the CPUs) while the
first tests wait; the report folders are written once per module.
"""

from __future__ import annotations

import concurrent.futures
import csv
import gzip
import os
import subprocess
import sys
import threading
import warnings
from pathlib import Path

import datasets
import journals
import pytest
from journals import JOURNAL_NAMES, LAYOUTS, problems, text_contains

import reporter
from reporter.report import write_report

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "data"
DOI = "10.17909/abcd-1234"
DATASETS = ("example", "hostile")
LARGE_SIZES = (2500, 20000)
LARGE_MAX_PAGES = 8
JOBS = int(os.environ.get("JOURNALS_JOBS", os.cpu_count() or 2))


class JournalNote(UserWarning):
    """Something the harness changed in a journal's document (shown in pytest's summary)."""


def _need_tex() -> None:
    reason = journals.missing_tools()
    if reason:
        pytest.skip(reason)


def _usable(name: str) -> journals.Journal:
    """The journal, or skip with what is missing; its notes are said aloud."""
    _need_tex()
    journal = journals.journal(name)
    reason = journals.unusable(journal)
    if reason:
        pytest.skip(f"{name}: {reason}")
    for note in journal.notes:
        print(f"note: {note}")
        warnings.warn(note, JournalNote, stacklevel=2)
    return journal


# --- Report folders and compiled documents, made once, in parallel --------------------

class Reports:
    """Report folders (one per dataset and style) and their compiled documents.

    Reports are written by one thread (the library is run as a user would, one call at a
    time), documents compiled by ``JOBS`` threads; both start as soon as the module's
    tests are known, so that compiling overlaps with the tests that wait.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.writer = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="report")
        self.tex = concurrent.futures.ThreadPoolExecutor(max(1, JOBS),
                                                         thread_name_prefix="pdflatex")
        self.futures: dict[tuple, concurrent.futures.Future] = {}
        self.lock = threading.Lock()
        self.knowledge = None

    def _future(self, key: tuple, executor, function, *args) -> concurrent.futures.Future:
        with self.lock:
            if key not in self.futures:
                self.futures[key] = executor.submit(function, *args)
            return self.futures[key]

    # Datasets and report folders (the writer thread) --------------------------------

    def _inventory(self, dataset: str):
        if dataset == "example":
            paths = [EXAMPLES]
        elif dataset == "hostile":
            paths = [datasets.hostile_dataset(self.folder / "data-hostile")]
        else:
            paths = [datasets.large_dataset(self.folder / f"data-{dataset}", int(dataset))]
        return reporter.scan([str(path) for path in paths], jobs=1)

    def inventory(self, dataset: str) -> concurrent.futures.Future:
        return self._future(("inventory", dataset), self.writer, self._inventory, dataset)

    def _report(self, dataset: str, style: str) -> Path:
        inventory = self.inventory(dataset).result()
        if self.knowledge is None:
            self.knowledge = reporter.load_knowledge()
        out = self.folder / f"report-{dataset}-{style}"
        write_report(inventory, out, self.knowledge, style=style, dois=[DOI])
        return out

    def report(self, dataset: str, style: str) -> concurrent.futures.Future:
        self.inventory(dataset)
        return self._future(("report", dataset, style), self.writer, self._report, dataset,
                            style)

    # Compiling (the pdflatex threads) ------------------------------------------------

    def _compile(self, name: str, dataset: str, layout: str, max_pages: int | None):
        folder = self.report(dataset, journals.journal(name).style).result()
        work = self.folder / f"tex-{name}-{dataset}-{layout}"
        return journals.compile_report(folder, name, layout, work, max_pages=max_pages)

    def compiled(self, name: str, dataset: str, layout: str,
                 max_pages: int | None = None) -> concurrent.futures.Future:
        self.report(dataset, journals.journal(name).style)
        return self._future(("tex", name, dataset, layout), self.tex, self._compile, name,
                            dataset, layout, max_pages)

    def close(self) -> None:
        for executor in (self.writer, self.tex):
            executor.shutdown(wait=True, cancel_futures=True)


@pytest.fixture(scope="module")
def reports(request, tmp_path_factory):
    """The module's report folders and documents; starts those the selected tests need."""
    store = Reports(tmp_path_factory.mktemp("journals"))
    if not journals.missing_tools():
        for item in request.session.items:
            params = getattr(getattr(item, "callspec", None), "params", {})
            if getattr(item, "module", None) is not request.module:
                continue
            name = params.get("journal")
            if name and not journals.journal(name).available:
                continue
            if {"journal", "dataset", "layout"} <= params.keys():
                store.compiled(params["journal"], params["dataset"], params["layout"])
            elif "size" in params and item.originalname.startswith("test_large_report_compiles"):
                store.compiled("aastex631", str(params["size"]), "parts", LARGE_MAX_PAGES)
            elif "size" in params:
                store.report(str(params["size"]), "aastex")
    yield store
    store.close()


# --- Every journal, both datasets, both layouts ----------------------------------------

@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("journal", JOURNAL_NAMES)
def test_parts_compile_cleanly_in_the_journal(journal, dataset, layout, reports):
    _usable(journal)
    result = reports.compiled(journal, dataset, layout).result()
    found = problems(result)
    assert found == [], (f"{journal} ({dataset} dataset, {layout} layout): {len(found)} "
                         f"problems, in {result.folder}:\n" + "\n".join(found))
    assert text_contains(result, DOI), f"the MAST DOI {DOI} is not in the PDF"
    assert text_contains(result, "NAS 5-03127"), "NASA's contract NAS 5-03127 is not in the PDF"


@pytest.mark.parametrize("journal", JOURNAL_NAMES)
def test_hostile_values_print_as_they_are(journal, reports):
    """A version with ``$ _ & % #`` prints as it is, and no header value runs as LaTeX."""
    _usable(journal)
    result = reports.compiled(journal, "hostile", "parts").result()
    if result.pdf is None:
        pytest.fail(f"{journal}: no PDF: " + "; ".join(problems(result)[:3]))
    for value in (datasets.HOSTILE_VERSION, *datasets.HOSTILE_NAMES):
        assert text_contains(result, value, anywhere=True), f"{value!r} is not in the PDF"
    assert "root:x:0:0" not in result.text, "the TARGNAME \\input{/etc/passwd} was run"


# --- Large datasets --------------------------------------------------------------------

def _large_names(size: int) -> set[str]:
    return {name for name, _, _ in datasets.large_names(size)}


@pytest.mark.parametrize("size", LARGE_SIZES)
def test_large_report_compiles_in_aastex631(size, reports):
    _usable("aastex631")
    result = reports.compiled("aastex631", str(size), "parts", LARGE_MAX_PAGES).result()
    found = problems(result)
    assert found == [], (f"{size} files in AASTeX 6.31: {len(found)} problems, in "
                         f"{result.folder}:\n" + "\n".join(found[:40]))
    assert result.pages <= LARGE_MAX_PAGES


def _name_column(rows: dict[str, list], names: set[str]) -> str | None:
    for column, values in rows.items():
        if names <= {Path(str(value)).name for value in values}:
            return column
    return None


@pytest.mark.parametrize("size", LARGE_SIZES)
def test_large_report_has_a_machine_readable_table(size, reports):
    """AAS asks for long tables as machine-readable tables: one row per readable file."""
    from astropy.table import Table

    folder = reports.report(str(size), "aastex").result()
    path = folder / "provenance_files.mrt"
    assert path.exists(), f"{path.name} is missing: the report wrote {sorted(os.listdir(folder))}"
    table = Table.read(path, format="ascii.mrt")
    assert len(table) == size
    column = _name_column({name: list(table[name]) for name in table.colnames},
                          _large_names(size))
    assert column, f"no column of {path.name} holds every file name ({table.colnames})"


@pytest.mark.parametrize("size", LARGE_SIZES)
def test_large_report_has_a_csv_table(size, reports):
    folder = reports.report(str(size), "aastex").result()
    path = folder / "provenance_files.csv"
    assert path.exists(), f"{path.name} is missing: the report wrote {sorted(os.listdir(folder))}"
    with open(path, newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == size
    column = _name_column({key: [row[key] for row in rows] for key in rows[0]},
                          _large_names(size))
    assert column, f"no column of {path.name} holds every file name ({list(rows[0])})"


# --- The journals' preambles are their own -------------------------------------------

def _template_preamble(path: Path) -> str:
    if not path.exists():
        pytest.skip(f"{path} is missing (Debian package texlive-publishers-doc)")
    text = gzip.decompress(path.read_bytes()).decode("utf-8", "replace")
    lines = text.splitlines(keepends=True)
    # As ``sed -n '1,/^\\begin{document}/p'``: up to the first line that starts with it.
    end = next(n for n, line in enumerate(lines) if line.startswith("\\begin{document}"))
    return "".join(lines[:end + 1])


def test_aastex631_preamble_is_the_samples_own():
    journal = journals.journal("aastex631")
    assert journal.preamble == _template_preamble(journals.AASTEX631_SAMPLE)
    assert journal.bst == "aasjournal" and journal.style == "aastex"


def test_aastex701_preamble_is_the_shared_one():
    path = journals.AASTEX701_PREAMBLE
    if not path.exists():
        pytest.skip(f"{path} is missing (the shared LaTeX fixtures beside the repository)")
    journal = journals.journal("aastex701")
    assert journal.preamble == path.read_text("utf-8")
    assert f"{journals.SHARED_LATEX}//" in journal.environment()["TEXINPUTS"]
    assert f"{journals.SHARED_LATEX}//" in journal.environment()["BSTINPUTS"]


def test_mnras_preamble_is_the_templates_own_but_for_the_newtx_line():
    template = _template_preamble(journals.MNRAS_TEMPLATE)
    journal = journals.journal("mnras")
    if journals._kpsewhich("newtxtext.sty"):
        assert journal.preamble == template and not journal.notes
        return
    dropped = [line for line in template.splitlines(keepends=True)
               if line.strip() != journals.MNRAS_NEWTX_LINE]
    assert journal.preamble == "".join(dropped)
    assert len(dropped) == len(template.splitlines()) - 1
    assert journal.notes and "texlive-fonts-extra" in journal.notes[0]
    print(f"note: {journal.notes[0]}")
    warnings.warn(journal.notes[0], JournalNote, stacklevel=1)


def test_aa_preamble_is_aa_dem():
    journal = journals.journal("aa")
    assert journal.preamble == ("\\documentclass{aa}\n\\usepackage{graphicx}\n"
                                "\\usepackage{txfonts}\n\\begin{document}\n")
    if not journal.available:
        pytest.skip(journal.unavailable)
    assert journal.bst == "aa"


@pytest.mark.parametrize("journal", JOURNAL_NAMES)
def test_journal_baseline_is_clean(journal):
    """The template with one paragraph: no error, no overfull box, no text outside."""
    _usable(journal)
    base = journals.baseline(journal)
    assert base.errors == [] and base.overfull == [] and base.outside == []
    assert base.pages == 1 and text_contains(base, "stands for the text of a paper")


# --- The harness itself ----------------------------------------------------------------

BIB = """@ARTICLE{astropy:2013,
  author = {{Astropy Collaboration} and {Robitaille}, Thomas P. and {Tollerud}, Erik J.},
  title = "{Astropy: A community Python package for astronomy}",
  journal = {Astronomy and Astrophysics},
  year = 2013,
  volume = {558},
  pages = {A33},
  doi = {10.1051/0004-6361/201322068}
}
"""
SMALL_TABLE = """\\begin{table}
\\centering
\\caption{A small table.}
\\begin{tabular}{lr}
\\hline
Mode & Files \\\\
\\hline
imaging & 2 \\\\
MOS & 3 \\\\
\\hline
\\end{tabular}
\\end{table}
"""
WIDE_TABLE = """\\begin{tabular}{llllll}
\\texttt{jw01345001001\\_02101\\_00001\\_nrca1\\_cal.fits} & 1345 & NIRCam imaging &
\\texttt{jw01345001001\\_02101\\_00002\\_nrca1\\_cal.fits} & jwst\\_1241.pmap & 2024-06-20 \\\\
\\end{tabular}
"""


def _parts(folder: Path, **parts: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in parts.items():
        (folder / f"{name}.tex").write_text(text, encoding="utf-8")
    (folder / "provenance.bib").write_text(BIB, encoding="utf-8")
    (folder / "provenance.tex").write_text(
        "\n".join(f"\\input{{{name}}}" for name in parts) + "\n", encoding="utf-8")
    return folder


def _fitting_parts(folder: Path) -> Path:
    return _parts(folder,
                  availability="The JWST data are in MAST at doi:10.17909/abcd-1234; we "
                               "reduced them with Astropy \\cite{astropy:2013}.\n",
                  summary=SMALL_TABLE,
                  acknowledgement="This work is based on observations made with the "
                                  "NASA/ESA/CSA James Webb Space Telescope, under NASA "
                                  "contract NAS 5-03127 for JWST.\n")


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("journal", JOURNAL_NAMES)
def test_harness_passes_a_part_that_fits(journal, layout, tmp_path):
    _usable(journal)
    folder = _fitting_parts(tmp_path / "report")
    before = {path.name: path.stat().st_mtime_ns for path in folder.iterdir()}
    result = journals.compile_report(folder, journal, layout, tmp_path / "tex")
    assert problems(result) == [], "\n".join(problems(result))
    assert result.pages == 1 and result.pdf and result.pdf.parent == tmp_path / "tex"
    assert text_contains(result, "NAS 5-03127") and text_contains(result, DOI)
    assert any(run[0].startswith("bibtex") for run in result.runs)
    assert [run[0].split()[0] for run in result.runs].count("pdflatex") == 3
    assert {path.name: path.stat().st_mtime_ns for path in folder.iterdir()} == before


def test_harness_reports_an_overfull_table(tmp_path):
    _usable("article")
    folder = _parts(tmp_path / "report", summary=WIDE_TABLE)
    result = journals.compile_report(folder, "article", "parts", tmp_path / "tex")
    assert result.errors == []
    assert result.overfull, "the too-wide tabular gave no overfull box"
    box = result.overfull[0]
    assert box.kind == "hbox" and box.amount > 100 and box.file == "summary.tex"
    assert box.lines and "--" in box.lines
    found = problems(result)
    assert any(line.startswith("overfull: Overfull \\hbox (") and "summary.tex" in line
               for line in found), found


def test_harness_reports_text_beyond_the_margins_without_an_overfull_box(tmp_path):
    """A box that may shrink without limit hides its overflow from TeX, not from the page."""
    _usable("article")
    wide = ("\\noindent\\makebox[\\linewidth][c]{\\parbox{1.5\\linewidth}{Words set much "
            "wider than the text block spill into both margins, and TeX says nothing at "
            "all about them.}}\n")
    folder = _parts(tmp_path / "report", summary=wide)
    result = journals.compile_report(folder, "article", "parts", tmp_path / "tex")
    assert result.overfull == [] and result.errors == []
    assert len(result.outside) == 1 and result.outside[0].startswith("page 1:")
    assert "beyond the left" in result.outside[0] and "beyond the right" in result.outside[0]


def test_harness_reports_an_undefined_citation(tmp_path):
    _usable("aastex631")
    folder = _parts(tmp_path / "report", software="\\software{jwst \\citep{no_such_key}}\n")
    result = journals.compile_report(folder, "aastex631", "parts", tmp_path / "tex")
    assert any("Citation `no_such_key'" in w and "undefined" in w for w in result.warnings), \
        result.warnings
    assert any("no_such_key" in w for w in result.bibtex_warnings), result.bibtex_warnings
    assert any(line.startswith("bibtex: Warning--") for line in problems(result))


def test_harness_reports_an_error_with_its_context(tmp_path):
    _usable("mnras")
    folder = _parts(tmp_path / "report",
                    availability="The data are at \\href{https://doi.org/10.17909/x}{MAST}.\n",
                    appendix="\\begin{longtable}{ll}\na & b\\\\\n\\end{longtable}\n")
    result = journals.compile_report(folder, "mnras", "parts", tmp_path / "tex")
    assert result.pdf is None
    assert any("pdflatex exited with status 1" in error for error in result.errors)
    first = problems(result)[0]
    # -halt-on-error: the first error stops the run, with where it happened.
    assert first.startswith("error: ! ") and "l." in first and "(while reading " in first


def test_harness_stops_at_the_page_limit(tmp_path):
    _usable("article")
    long = "\n\n".join(["A paragraph of words that fills the page. " * 30] * 40)
    folder = _parts(tmp_path / "report", appendix=long)
    result = journals.compile_report(folder, "article", "parts", tmp_path / "tex", max_pages=2)
    assert result.pages > 2
    assert any(line.startswith("pages: the PDF has") for line in problems(result))
    assert [run[0].split()[0] for run in result.runs] == ["pdflatex"]


def test_document_body_places_the_parts_as_authors_do():
    aastex = journals.document_body("aastex631", journals.PARTS)
    acknowledgments = ("\\begin{acknowledgments}\n\\input{acknowledgement}\n"
                       "\\end{acknowledgments}")
    order = ["\\section{Data}", "\\input{availability}", "\\input{summary}",
             "\\input{caveats}", acknowledgments, "\\input{software}",
             "\\appendix\n\\section{", "\\input{appendix}",
             "\\bibliography{provenance}\n\\bibliographystyle{aasjournal}"]
    assert [aastex.index(piece) for piece in order] == sorted(aastex.index(p) for p in order)
    mnras = journals.document_body("mnras", journals.PARTS)
    order = ["\\input{summary}", "\\input{caveats}", "\\section*{Acknowledgements}",
             "\\input{acknowledgement}", "\\input{software}", "\\input{availability}",
             "\\bibliographystyle{mnras}\n\\bibliography{provenance}", "\\appendix",
             "\\input{appendix}"]
    assert [mnras.index(piece) for piece in order] == sorted(mnras.index(p) for p in order)
    aa = journals.document_body("aa", journals.PARTS)
    assert "\\begin{appendix}\n\\section{Processing provenance of every file}\n" \
           "\\input{appendix}\n\\end{appendix}" in aa
    assert aa.index("\\bibliography{provenance}") < aa.index("\\begin{appendix}")
    generic = journals.document_body("article", journals.PARTS)
    assert "\\section*{Acknowledgements}\n\\input{acknowledgement}" in generic
    assert generic.index("\\input{appendix}") < generic.index("\\bibliographystyle{plain}")
    # Parts the folder lacks are left out, with what surrounds them.
    some = journals.document_body("aastex701", ["summary"], bibliography=False)
    assert "acknowledgments" not in some and "\\appendix" not in some
    assert "\\bibliography" not in some and "\\input{summary}" in some
    whole = journals.document_body("mnras", ["provenance"], "all")
    assert whole.index("\\input{provenance}") < whole.index("\\bibliographystyle{mnras}")


def test_parse_log_joins_wrapped_lines_and_continuations():
    log = """\
Package natbib Warning: Citation `jwst_pipeline_1_12_5' on page 1 undefined on i
nput line 6.

LaTeX Font Warning: Font shape `OT1/cmtt/bx/n' undefined
(Font)              using `OT1/cmtt/m/n' instead on input line 12.

Overfull \\hbox (91.5921pt too wide) in alignment at lines 28--28
 [] [] []

Overfull \\hbox (0.5pt too wide) in paragraph at lines 3--4
[]\\OT1/cmr/m/n/10 a

Underfull \\hbox (badness 10000) in paragraph at lines 6--7

LaTeX Warning: Label(s) may have changed. Rerun to get cross-references right.
"""
    # TeX broke the first line at the log's width.
    parsed = journals.parse_log(log, width=len(log.splitlines()[0]))
    citation = ("Package natbib Warning: Citation `jwst_pipeline_1_12_5' on page 1 "
                "undefined on input line 6.")
    font = ("LaTeX Font Warning: Font shape `OT1/cmtt/bx/n' undefined using `OT1/cmtt/m/n' "
            "instead on input line 12.")
    rerun = "LaTeX Warning: Label(s) may have changed. Rerun to get cross-references right."
    assert parsed.warnings == [citation, font, rerun]
    assert [(box.amount, box.lines) for box in parsed.overfull] == [(91.5921, "28--28")]
    assert [box.amount for box in parsed.small_overfull] == [0.5]
    assert parsed.underfull == 1


def test_page_images_and_script_mode(tmp_path):
    _usable("article")
    folder = _fitting_parts(tmp_path / "report")
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, str(ROOT / "tests" / "journals.py"), str(folder),
                           str(out), "--journal", "article", "--style", "generic"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "article parts: 1 pages, 0 problems" in done.stdout
    assert "article all: 1 pages, 0 problems" in done.stdout
    for layout in LAYOUTS:
        target = out / f"article-{layout}"
        assert (target / f"article-{layout}.pdf").exists()
        assert [path.name for path in target.glob("*.png")] == [f"article-{layout}-1.png"]
    images = journals.page_images(out / "article-parts" / "article-parts.pdf", tmp_path / "png",
                                  dpi=30)
    assert [path.name for path in images] == ["article-parts-1.png"]
    assert images[0].read_bytes().startswith(b"\x89PNG")


def test_parse_log_keeps_output_boxes_of_the_bibliography_apart():
    """AASTeX 7.0.1's linenumbers overfills a column of its own sample bibliography at
    some text lengths: set apart as the template's; the same box while a part is read,
    or any overfull \\hbox, stays a problem."""
    log = ("(./journal_check.tex (./availability.tex\n"
           "Overfull \\hbox (3.0pt too wide) in paragraph at lines 4--5\n[]\n\n)"
           " (./journal_check.bbl\n"
           "Overfull \\vbox (17.6pt too high) has occurred while \\output is active []\n\n)"
           " (./appendix.tex\n"
           "Overfull \\vbox (9.0pt too high) has occurred while \\output is active []\n\n))\n")
    parsed = journals.parse_log(log)
    assert [box.amount for box in parsed.template_overfull] == [17.6]
    assert sorted(box.amount for box in parsed.overfull) == [3.0, 9.0]
