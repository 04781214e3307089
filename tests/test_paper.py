"""What the parts say: counts that agree, sentences for readers, the house style, layouts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fitsfiles import fits_bytes, write

import reporter
from reporter.errors import UsageError
from reporter.escape import escape_latex_breakable, markdown_code
from reporter.paper import EXCERPT_ROWS, NothingToReport, paper_context
from reporter.prose import Code, Count, counted, join, prose
from reporter.render import HOUSE_STYLES, render
from reporter.table_layout import Column, fit_table

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "data"


def plain(runs) -> str:
    """Prose as plain text: literals as they read, counts as digits."""
    return "".join(str(run.text if isinstance(run, Code) else
                       run.value if isinstance(run, Count) else run) for run in runs)


def uncommented(latex: str) -> str:
    return re.sub(r"^%.*$", "", latex, flags=re.MULTILINE)


@pytest.fixture(scope="module")
def knowledge():
    return reporter.load_knowledge()


@pytest.fixture(scope="module")
def examples(knowledge):
    inventory = reporter.scan([str(EXAMPLES)], jobs=1)
    return paper_context(inventory, reporter.check(inventory, knowledge), knowledge,
                         dois=["10.17909/abcd-1234"])


# Prose and the house style ---------------------------------------------------

@pytest.mark.parametrize("items, expected", [
    (["a"], "a"), (["a", "b"], "a and b"), (["a", "b", "c"], "a, b, and c"),
    (["a", "b", "c", "d"], "a, b, c, and d"),
])
def test_lists_take_the_serial_comma(items, expected):
    assert join(items) == (expected,)


def test_prose_keeps_literals_and_counts_apart():
    text = prose("The ", counted(1, "file"), " and ", counted(2, "input"), " of ", Code("x_y"))
    assert text == ("The ", Count(1), " file and ", Count(2), " inputs of ", Code("x_y"))


@pytest.mark.parametrize("style, numbers", [
    ("aastex", ["999", "2,500", "20,000"]),
    ("generic", ["999", "2,500", "20,000"]),
    ("mnras", ["999", "2500", "20\\,000"]),
    ("aa", ["999", "2500", "20\\,000"]),
])
def test_thousands_separators_follow_the_journal(style, numbers, examples):
    from dataclasses import replace

    from reporter.paper import Caveat

    caveat = Caveat("X1", "Counts", prose(Count(999), " ", Count(2500), " ", Count(20000), "."))
    text = render(replace(examples, caveats=(caveat,)), style=style, parts=["caveats"])
    assert " ".join(numbers) + "." in text


@pytest.mark.parametrize("style, micron", [
    ("aastex", "0.013~\\micron{} (GR150C)"), ("mnras", "0.013~\\micron{} (GR150C)"),
    ("aa", "0.013~$\\mu$m (GR150C)"), ("generic", "0.013~$\\mu$m (GR150C)"),
])
def test_micrometres_as_the_journal_sets_them(style, micron, examples):
    text = render(examples, style=style, parts=["caveats"])
    assert micron in text and " um" not in text
    assert "0.013\u00a0µm (GR150C)" in render(examples, to="markdown", parts=["caveats"])


def test_quotes_are_tex_quotes_and_program_numbers_lose_their_padding(examples):
    latex = render(examples, style="aastex")
    assert "`All Contexts'" in latex and "'All" not in latex
    # Outside file names (jw01345...), the program is 1345 everywhere.
    for text in (latex, render(examples, to="markdown")):
        words = re.sub(r"\\texttt\{[^}]*\}|`[^`]*`|\|[^|\n]*fits[^|\n]*\|", "", text)
        assert not re.search(r"\b01345\b", words)
    assert "program 1345" in latex and "\\#1345" in latex


def test_no_nested_or_back_to_back_parentheses(examples):
    for style in ("aastex", "mnras", "aa", "generic"):
        text = uncommented(render(examples, style=style))
        # A citation inside parentheses is \citealt (natbib) or a bare \cite (generic).
        assert not re.search(r"\([^()]*\\citep", text)
        assert not re.search(r"\)\s*\(", text)


def test_missing_doi_note_prints_the_option_not_an_en_dash(examples):
    from dataclasses import replace

    text = render(replace(examples, dois=()), style="aastex", parts=["availability"])
    assert "\\texttt{-{}-doi}" in text and " --doi" not in text


# Counts agree across parts ---------------------------------------------------

def test_every_part_counts_the_same_files(examples):
    processed = 21  # the 22 example files less the _uncal product
    assert examples.file_count == processed
    assert sum(s.files for s in examples.statements) == processed
    assert sum(row.files for row in examples.summary) == processed
    assert len(examples.files) == len(examples.all_files) == processed
    assert plain(examples.unprocessed_note) == (
        "One further file of program 1345, a level-1b product (_uncal) that has not been "
        "through the calibration pipeline, is not listed.")
    latex = render(examples, style="aastex")
    assert latex.count("\\jwstprovenancewrapa{\\texttt{jw") == processed  # the file table rows
    assert "lists the 21 JWST files used in this work" in latex


def test_a_group_with_two_processings_gets_two_rows_and_two_sentences(examples):
    nircam = [row for row in examples.summary if (row.program, row.instrument, row.mode)
              == ("1345", "NIRCam", "imaging") or row.continued]
    assert [(r.files, r.crds_ctx, r.continued) for r in nircam] == [
        (1, "jwst_1225.pmap", False), (4, "jwst_1241.pmap", True)]
    sentences = [s for s in examples.statements if "NIRCam imaging" in s.subjects]
    assert sorted(s.context for s in sentences) == ["jwst_1183.pmap", "jwst_1225.pmap",
                                                   "jwst_1241.pmap"]


def test_caveats_are_sentences_for_a_reader(examples):
    caveats = {c.code: c for c in examples.caveats}
    assert set(caveats) == {"JP201", "JP203", "JP206", "JP401"}
    assert plain(caveats["JP201"].text).endswith(
        "This concerns the 2 NIRISS WFSS files of program 2736, calibrated with CRDS context "
        "jwst_1183.pmap, older than jwst_1228.pmap.")
    assert plain(caveats["JP401"].text) == (
        "The 5 NIRCam imaging files of program 1345 were not all processed alike: "
        "4 with CRDS context jwst_1241.pmap and 1 (jw01345001001_02101_00001_nrca2_cal.fits) "
        "with jwst_1225.pmap.")
    assert caveats["JP401"].title == "Two CRDS contexts for the NIRCam imaging data of program 1345"
    assert caveats["JP401"].cite == ()  # from the data: nothing to cite
    for caveat in examples.caveats:
        cite = plain(caveat.cite)
        assert "jwst-provenance" not in cite and ".png" not in cite and "/" not in cite


def test_nothing_to_report_without_a_processed_file(tmp_path, knowledge):
    missing = reporter.scan([str(tmp_path / "nosuch")], jobs=1)
    with pytest.raises(NothingToReport, match="could not be read"):
        paper_context(missing, [], knowledge)
    write(tmp_path / "d" / "jw01345001001_02101_00001_nrca1_uncal.fits",
          fits_bytes(CAL_VER=None, CRDS_CTX=None))
    raw = reporter.scan([str(tmp_path / "d")], jobs=1)
    assert raw.records[0].cal_ver is None
    with pytest.raises(NothingToReport, match="level-1b"):
        paper_context(raw, [], knowledge)
    with pytest.raises(UsageError):
        paper_context(reporter.scan([str(EXAMPLES)], jobs=1), [], knowledge, table_limit=-1)


def test_unreadable_files_stay_out_of_the_text_but_are_said_to_be_missing(knowledge):
    inventory = reporter.scan([str(EXAMPLES / "jw02736003001_02103_00001_nis_cal.fits"),
                               str(ROOT / "examples" / "broken")], jobs=1)
    context = paper_context(inventory, reporter.check(inventory, knowledge), knowledge)
    assert context.file_count == 1 and context.unreadable == 1
    for to in ("latex", "markdown"):
        caveats = render(context, to=to, parts=["caveats"])
        assert "One file could not be read" in caveats
        assert "No known calibration caveats" not in caveats


# Long appendices -------------------------------------------------------------

def test_above_the_limit_the_appendix_is_an_excerpt_showing_every_processing(examples, knowledge):
    inventory = reporter.scan([str(EXAMPLES)], jobs=1)
    context = paper_context(inventory, [], knowledge, table_limit=5)
    assert context.excerpt and len(context.files) == EXCERPT_ROWS
    assert len(context.all_files) == 21
    shown = {(row.cal_ver, row.crds_ctx) for row in context.files}
    assert shown == {(s.release.cal_ver, s.context) for s in context.statements}
    latex = render(context, style="aastex", parts=["appendix"])
    assert "A portion (10 of the 21 files) is shown here" in latex
    assert "\\label{tab:jwst_processings}" in latex
    assert not paper_context(inventory, [], knowledge, table_limit=21).excerpt


# Table layout ------------------------------------------------------------------

def test_a_table_that_fits_keeps_natural_columns():
    layout = fit_table([("1345", 2)], [Column("Program"), Column("Files", "number")])
    assert layout.spec == "lr" and not any(layout.wraps) and layout.definitions == ""


def test_a_wide_table_gets_a_flexible_column_that_fits_any_text_width():
    name = "jw01366002001_04103_00001-seg001_nrcalong_calints.fits"
    columns = [Column("File", "code"), Column("Mode", cap=8), Column("CRDS\\_CTX")]
    layout = fit_table([(name, "NIRCam grism time series", "jwst_1241.pmap")] * 3, columns,
                       flex=0, width_em=38.5)
    assert layout.spec == "lll" and layout.wraps == (True, True, False)
    # TeX takes the smaller of the content's width and what \textwidth leaves.
    assert "\\jwstprovenancemin{\\dimexpr\\textwidth-" in layout.widths[0]
    assert layout.widths[1] == "8em"
    assert "\\def\\jwstprovenancewrapa#1{\\parbox[t]" in layout.definitions


def test_long_tables_are_cut_into_floats_of_a_page():
    rows = [(f"file{n:05d}.fits", "NIRCam imaging") for n in range(200)]
    layout = fit_table(rows, [Column("File", "code"), Column("Mode")], flex=0, width_em=60)
    assert sum(len(chunk) for chunk in layout.chunks) == 200
    assert all(len(chunk) <= 40 for chunk in layout.chunks) and len(layout.chunks) == 5


def test_hostile_values_get_places_to_break_and_markdown_code_spans_hold():
    from markdown_it import MarkdownIt

    assert escape_latex_breakable("a_b") == "a\\_\\allowbreak{}b"
    assert "\\allowbreak" in escape_latex_breakable("x" * 40)  # runs get breaks too
    for value in ("a`b", "``x", "jwst_1241.pmap\n\n<img src=x onerror=alert(1)>", "` `"):
        tokens = MarkdownIt("commonmark").parse(f"Context {markdown_code(value)} here.")
        assert [t.type for t in tokens] == ["paragraph_open", "inline", "paragraph_close"]
        code = [c for c in tokens[1].children if c.type == "code_inline"]
        # A line break shows as its code point: it cannot end the paragraph.
        assert len(code) == 1 and code[0].content == value.replace("\n", "[U+000A]")


def test_house_styles_cover_every_style():
    from reporter.render import STYLES

    assert set(STYLES) | {"markdown"} == set(HOUSE_STYLES)


@pytest.mark.parametrize("style", ["aastex", "mnras", "aa", "generic"])
def test_a_file_table_cut_into_floats_keeps_its_note_and_number(style, tmp_path, knowledge):
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from datasets import hostile_dataset

    inventory = reporter.scan([str(hostile_dataset(tmp_path / "d"))], jobs=1)
    context = paper_context(inventory, [], knowledge)
    appendix = render(context, style=style, parts=["appendix"])
    assert appendix.count("(continued)") >= 1
    assert appendix.count("level-1b product") == 1  # once, under the last float
    assert appendix.rindex("level-1b product") > appendix.rindex("(continued)")
    # Each continuation repeats the table's number, under an anchor of its own.
    assert appendix.count("\\addtocounter{table}{-1}") == appendix.count("(continued)")
    assert appendix.count("\\def\\theHtable{jwstprovenance.") == appendix.count("(continued)")


@pytest.mark.parametrize("style", ["aastex", "mnras", "aa", "generic"])
def test_a_long_summary_keeps_every_row(style, knowledge):
    from reporter import Inventory, ProvenanceRecord
    from reporter.records import KeywordMap

    records = [ProvenanceRecord.build(
        f"d/jw{program:05d}001001_02101_00001_nrca1_cal.fits",
        KeywordMap.from_dict({"CAL_VER": "1.14.0", "CRDS_CTX": "jwst_1241.pmap",
                              "INSTRUME": "NIRCAM", "EXP_TYPE": "NRC_IMAGE",
                              "PROGRAM": f"{program:05d}"}), size=2880)
        for program in range(1000, 1090)]
    context = paper_context(Inventory(records), [], knowledge)
    summary = re.sub(r"\\jwstprovenancewrap[a-z]\{([^}]*)\}", r"\1",
                     render(context, style=style, parts=["summary"]))
    assert all(f"{program} & NIRCam & imaging & 1 &" in summary for program in range(1000, 1090))
    assert summary.count("(continued).") >= 2


def test_citation_keys_of_different_versions_differ():
    """A header can hold anything: no value may take the key of a release."""
    from reporter.paper import citation_key

    versions = ["1.14.0", "1.14.0}}}}", "1-14-0", "1.14.0 ", "1_14_0", "1.14.0\udcff",
                "1.17.1.dev1143+gb0660ee76.d20250508", "1.14.1rc1", "1.14.1.post2"]
    keys = [citation_key(v) for v in versions]
    assert len(set(keys)) == len(versions), keys
    assert keys[0] == "jwst_pipeline_1_14_0"
    assert keys[6] == "jwst_pipeline_1_17_1_dev1143_gb0660ee76_d20250508"
    assert all(re.fullmatch(r"[A-Za-z0-9_]+", key) for key in keys)
