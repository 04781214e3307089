"""Rendering: escaping, real pdflatex with the journals' classes, Markdown, templates, goldens."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from fitsfiles import fits_bytes, write

import reporter
from reporter.errors import UsageError
from reporter.escape import escape_latex, escape_markdown
from reporter.paper import check_doi, paper_context
from reporter.render import PARTS, STYLES, RenderError, render, render_parts

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).resolve().parent / "golden"
HOSTILE_NAME = "jw01345001001_02101_00001_nrca1_a&b%c#d$e{f}g~h^i\\j_cal.fits"
HOSTILE_VERSION = "1.14.0.dev3+g$x_&%#"

def _latex_ready() -> bool:
    if not (shutil.which("pdflatex") and shutil.which("pdftotext") and shutil.which("kpsewhich")):
        return False
    found = subprocess.run(["kpsewhich", "aastex631.cls", "mnras.cls", "lmodern.sty", "epsf.sty"],
                           capture_output=True, text=True, check=False).stdout.split()
    return len(found) == 4


needs_pdflatex = pytest.mark.skipif(
    not _latex_ready(),
    reason="pdflatex and pdftotext are not installed (apt-get install texlive-latex-extra "
           "texlive-publishers texlive-plain-generic texlive-fonts-recommended lmodern "
           "poppler-utils; .ci/run does)")


@pytest.mark.parametrize("value, expected", [
    ("plain", "plain"),
    ("a_b", r"a\_b"),
    ("50% & $5 #1", r"50\% \& \$5 \#1"),
    ("{x}", r"\{x\}"),
    ("~^\\", r"\textasciitilde{}\textasciicircum{}\textbackslash{}"),
    ("<|>", r"\textless{}\textbar{}\textgreater{}"),
    ("\\input{/etc/passwd}", r"\textbackslash{}input\{/etc/passwd\}"),
    ("café", r"caf\'{e}"),
    ("Ångström µm", r"\AA{}ngstr\"{o}m \ensuremath{\mu}m"),
    ("ï", r"\"{\i}"),
    ("漢", "{[}U+6F22{]}"),
    ("line\nbreak", "line{[}U+000A{]}break"),
    ("[1cm]", "{[}1cm{]}"),
    ("*", "{*}"),
    (None, ""),
    (1345, "1345"),
])
def test_escape_latex(value, expected):
    assert escape_latex(value) == expected


@pytest.mark.parametrize("value, expected", [
    ("plain 1.12.5 (1)", "plain 1.12.5 (1)"),
    ("*bold* _it_", r"\*bold\* \_it\_"),
    ("[link](http://x)", r"\[link\](http://x)"),
    ("<script>", r"\<script\>"),
    ("a|b", r"a\|b"),
    ("`code`", r"\`code\`"),
    ("&amp;", r"\&amp;"),
    ("back\\slash", r"back\\slash"),
    ("a\n\nb", r"a\[U+000A\]\[U+000A\]b"),
    ("# $x$", r"\# \$x\$"),
])
def test_escape_markdown(value, expected):
    assert escape_markdown(value) == expected


@pytest.mark.parametrize("doi, expected", [
    ("10.17909/abcd-1234", "10.17909/abcd-1234"),
    ("doi:10.17909/T9-XYZ", "10.17909/T9-XYZ"),
    ("https://doi.org/10.17909/abcd", "10.17909/abcd"),
])
def test_doi_forms(doi, expected):
    assert check_doi(doi) == expected


@pytest.mark.parametrize("doi", ["abcd", "10.17909/a b", "10.17909/x}\\input{y"])
def test_bad_doi_is_refused(doi):
    with pytest.raises(UsageError):
        check_doi(doi)


@pytest.fixture(scope="module")
def examples_context():
    inventory = reporter.scan([str(ROOT / "examples" / "data")], jobs=1)
    knowledge = reporter.load_knowledge()
    return paper_context(inventory, reporter.check(inventory, knowledge), knowledge,
                         dois=["10.17909/abcd-1234"])


@pytest.fixture(scope="module")
def hostile_context(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    write(folder / HOSTILE_NAME, fits_bytes(CAL_VER=HOSTILE_VERSION, CAL_VCS="abc"))
    write(folder / "jw01345001001_02101_00002_nrca2_cal.fits", fits_bytes())
    inventory = reporter.scan([str(folder)], jobs=1)
    knowledge = reporter.load_knowledge()
    return paper_context(inventory, reporter.check(inventory, knowledge), knowledge,
                         dois=["10.17909/abcd-1234"])


#: Values that would act where the templates print them: a PROGRAM that starts a
#: table row (after \\\\, which takes [..] and *), a CRDS_CTX whose blank line would
#: end Markdown's paragraph before an HTML tag, control characters, a file name that
#: is not UTF-8.
PAYLOADS = {"PROGRAM": "[1cm]", "CAL_VER": '["id"]',
            "CRDS_CTX": "jwst_1241.pmap\n\n<img src=x onerror=alert(1)>"}
PAYLOAD_NAMES = ("jw01345_[x]\n\n<b onclick=alert(1)>_cal.fits", "jw01345_\udcff\x1b[31m\u202e_cal.fits")


@pytest.fixture(scope="module")
def payload_context():
    from reporter.records import KeywordMap, ProvenanceRecord

    def record(path, **keywords):
        core = {"INSTRUME": "NIRCAM", "EXP_TYPE": "NRC_IMAGE", "DETECTOR": "NRCA1",
                "CAL_VCS": "RELEASE", "DATE": "2024-06-20T12:00:00.000", **keywords}
        empty = KeywordMap.from_dict({})
        return ProvenanceRecord.build(path, KeywordMap.from_dict(core), empty, empty)

    inventory = reporter.Inventory([
        record(PAYLOAD_NAMES[0], **PAYLOADS),
        record(PAYLOAD_NAMES[1], PROGRAM="*starred", CAL_VER="1.14.0\x07",
               CRDS_CTX="jwst_1241.pmap")])
    knowledge = reporter.load_knowledge()
    return paper_context(inventory, reporter.check(inventory, knowledge), knowledge,
                         dois=["10.17909/abcd-1234"])


# Real pdflatex ------------------------------------------------------------

# Plain documents: the parts need nothing beyond each class (the journals' own
# templates are tests/test_journals.py). T1 and lmodern print < > | " as themselves.
DOCUMENTS = {
    "aastex": "\\documentclass{aastex631}\n\\usepackage[T1]{fontenc}\\usepackage{lmodern}\n"
              "\\begin{document}\n\\input{body}\n\\end{document}\n",
    "mnras": "\\documentclass[usenatbib]{mnras}\n\\usepackage[T1]{fontenc}\\usepackage{lmodern}"
             "\n\\begin{document}\n\\input{body}\n\\end{document}\n",
    # A&A's class is not packaged in Debian: its output is compiled inside article, with
    # what aa.cls provides (natbib, the acknowledgements environment, its text width).
    "aa": "\\documentclass{article}\n\\usepackage[T1]{fontenc}\\usepackage{lmodern}"
          "\\usepackage{natbib}\\setlength\\textwidth{523.5pt}\n"
          "\\newenvironment{acknowledgements}{\\section*{Acknowledgements}}{}\n"
          "\\newcommand\\tablefoot[1]{\\par\\footnotesize #1}\n"
          "\\begin{document}\n\\input{body}\n\\end{document}\n",
    "generic": "\\documentclass{article}\n\\usepackage[T1]{fontenc}\\usepackage{lmodern}"
               "\n\\begin{document}\n\\input{body}\n\\end{document}\n",
}


def printed(value: str, text: str) -> bool:
    """``value`` is in the PDF's text, whole or broken across lines at the places the
    escaping allows (a wrapped table cell continues on a later line of the text)."""
    joined = "".join(text.split())
    fragments = [piece[i:i + 16] for piece in re.split(r"(?<=[_\-./+:,;=])", value.replace(" ", ""))
                 for i in range(0, len(piece), 16) if piece]
    position = 0
    for fragment in fragments:
        found = joined.find(fragment, position)
        if found < 0:
            return False
        position = found + len(fragment)
    return True


def compile_latex(folder: Path, style: str, body: str) -> tuple[str, str]:
    (folder / "body.tex").write_text(body, encoding="utf-8")
    (folder / "doc.tex").write_text(DOCUMENTS[style], encoding="utf-8")
    # The timeout stops an endless loop (a value once sent pdflatex into one).
    result = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
                            cwd=folder, capture_output=True, text=True, errors="replace",
                            check=False, timeout=300)
    log = (folder / "doc.log").read_text(errors="replace") if (folder / "doc.log").exists() else ""
    assert result.returncode == 0, f"pdflatex failed for {style}:\n{result.stdout[-3000:]}"
    text = subprocess.run(["pdftotext", "-layout", "doc.pdf", "-"], cwd=folder,
                          capture_output=True, text=True, check=True).stdout
    return log, text


@needs_pdflatex
@pytest.mark.parametrize("style", STYLES)
def test_every_style_compiles_and_prints_hostile_values_exactly(style, hostile_context, tmp_path):
    body = render(hostile_context, to="latex", style=style)
    log, text = compile_latex(tmp_path, style, body)
    assert "Undefined control sequence" not in log
    assert not re.search(r"^! ", log, re.MULTILINE), "LaTeX reported an error"
    too_wide = [float(pt) for pt in re.findall(r"^Overfull \\hbox \(([\d.]+)pt", log, re.MULTILINE)]
    assert all(pt <= 1 for pt in too_wide), f"a part is too wide: {too_wide} pt"
    for value in (HOSTILE_NAME, HOSTILE_VERSION, "10.17909/abcd-1234", "jwst_1241.pmap"):
        assert printed(value, text), value


@needs_pdflatex
@pytest.mark.parametrize("style", STYLES)
def test_example_dataset_compiles_in_every_style(style, examples_context, tmp_path):
    log, text = compile_latex(tmp_path, style, render(examples_context, to="latex", style=style))
    assert "Undefined control sequence" not in log
    assert printed("jw02736003001_02105_00001_nis_cal.fits.gz", text)
    assert "NAS 5-03127" in text


# LaTeX's default encoding (OT1), which AASTeX and a plain article keep: no symbol
# of the escaping may need T1.
OT1_DOCUMENT = "\\documentclass{article}\n\\begin{document}\n\\input{body}\n\\end{document}\n"


@needs_pdflatex
@pytest.mark.parametrize("style", [*STYLES, "generic-ot1"])
def test_payloads_compile_and_print_as_themselves(style, payload_context, tmp_path):
    body = render(payload_context, to="latex", style=style.removesuffix("-ot1"))
    if style.endswith("-ot1"):
        DOCUMENTS[style] = OT1_DOCUMENT  # compile_latex looks documents up by style
    log, text = compile_latex(tmp_path, style, body)
    assert not re.search(r"^! |Undefined control sequence|Missing character", log, re.MULTILINE)
    for value in ("[1cm]", '["id"]', "*starred", "jwst_1241.pmap[U+000A][U+000A]",
                  "jw01345_[x][U+000A][U+000A]", "[U+DCFF][U+001B][31m[U+202E]_cal.fits",
                  "1.14.0[U+0007]"):
        # OT1 draws \\_ as a rule: seen, but not in the PDF's text.
        for piece in value.split("_") if style.endswith("-ot1") else [value]:
            assert printed(piece, text), (value, piece)
    # The summary table's rows start with the program: it is printed, then the instrument.
    joined = "".join(text.split())
    assert "[1cm]NIRCam" in joined and "*starredNIRCam" in joined


# Markdown, parsed by a real parser -----------------------------------------

def test_markdown_tables_parse_as_tables_and_values_stay_text(hostile_context):
    from markdown_it import MarkdownIt

    markdown = render(hostile_context, to="markdown", style="generic")
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    types = [token.type for token in tokens]
    assert types.count("table_open") == 2  # the summary and the per-file table
    assert "html_inline" not in types
    # The only HTML is each part's first line: our comment, naming no header value.
    comments = [token.content for token in tokens if token.type == "html_block"]
    assert len(comments) == len(PARTS)
    assert all(re.fullmatch(r"<!-- The \w+ part of this paper's JWST data provenance, written by "
                            r"jwst-provenance [\w.]+ \(knowledge base as of [\d-]+\)\. -->\n", c)
               for c in comments)
    inline = [child for token in tokens if token.children for child in token.children]
    texts = "".join(child.content for child in inline if child.type in ("text", "code_inline"))
    assert HOSTILE_NAME in texts
    assert HOSTILE_VERSION in texts
    links = [child.attrs.get("href") for child in inline if child.type == "link_open"]
    assert "https://doi.org/10.17909/abcd-1234" in links  # the MAST DOI
    assert all(link.startswith("https://doi.org/10.") for link in links)  # and Zenodo's


def test_markdown_rows_have_the_right_number_of_cells(hostile_context):
    from markdown_it import MarkdownIt

    markdown = render(hostile_context, to="markdown", style="generic", parts=["appendix"])
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    rows, cells = 0, 0
    for token in tokens:
        rows += token.type == "tr_open"
        cells += token.type in ("td_open", "th_open")
    assert rows == 3 and cells == 3 * 5  # File, Mode, CAL_VER, CRDS_CTX, Processed


def test_markdown_payloads_render_no_html_and_stay_in_their_paragraph(payload_context):
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark", {"html": True}).enable("table")
    markdown = render(payload_context, to="markdown", style="generic")
    tokens = parser.parse(markdown)
    assert "html_inline" not in [t.type for t in tokens for t in t.children or ()]
    assert all(t.content.startswith("<!-- The ") for t in tokens if t.type == "html_block")
    rendered = parser.render(markdown)
    assert "<img" not in rendered and "<b" not in rendered
    code = [c.content for t in tokens for c in t.children or () if c.type == "code_inline"]
    assert "jwst_1241.pmap[U+000A][U+000A]<img src=x onerror=alert(1)>" in code
    assert "jw01345_[x][U+000A][U+000A]<b onclick=alert(1)>_cal.fits" in code
    assert "jw01345_[U+DCFF][U+001B][31m[U+202E]_cal.fits" in code
    # The context stays in its sentence or its table row.
    holding = [(tokens[i - 1].type, t.content) for i, t in enumerate(tokens)
               if t.type == "inline" and "onerror" in t.content]
    assert holding and all(kind == "td_open" or "were processed with" in text
                           for kind, text in holding), holding
    assert not re.search(r"\n\s*<img", markdown)


# The text says what it should ---------------------------------------------

def test_availability_groups_the_processing_statement(examples_context):
    text = render(examples_context, to="latex", style="aastex", parts=["availability"])
    assert r"\dataset[doi:10.17909/abcd-1234]{https://doi.org/10.17909/abcd-1234}" in text
    # One sentence per processing: every mode and program it made, then its versions.
    assert ("MIRI MRS, NIRCam imaging, and NIRISS WFSS data from program 2736 (five files)\n"
            " were processed with version 1.12.5 "
            "(DMS build B10.0.1, \\texttt{SDP\\_VER}~2023\\_3a)\n"
            " of the JWST Science Calibration Pipeline \\citep{jwst_pipeline_1_12_5}\n"
            " and CRDS context \\texttt{jwst\\_1183.pmap}.") in text
    # NIRCam imaging of 1345 has two contexts: it is in two sentences, each exact, and
    # each sentence says which modes are whose.
    assert text.count("were processed with version") == 3
    assert ("NIRISS imaging and NIRSpec IFU data from program 1180 and NIRCam imaging data "
            "from program 1345 (five files in all)") in text
    assert "(11 files in all)" in text


def test_missing_doi_is_said_visibly(examples_context):
    from dataclasses import replace

    context = replace(examples_context, dois=())
    for to in ("latex", "markdown"):
        assert "MAST DOI missing" in render(context, to=to, style="mnras", parts=["availability"])


def test_style_specific_parts(examples_context):
    assert "\\software{jwst" in render(examples_context, style="aastex", parts=["software"])
    assert "\\begin{deluxetable*}" in render(examples_context, style="aastex", parts=["summary"])
    appendix = render(examples_context, style="aastex", parts=["appendix"])
    assert "\\begin{deluxetable*}" in appendix and "\\startlongtable" not in appendix
    for style in STYLES:  # nothing a journal's template lacks: no longtable, no hyperref
        text = render(examples_context, style=style)
        assert "longtable" not in text and "\\href" not in text and "\\onecolumn" not in text
    assert "\\section*{Data Availability}" in render(examples_context, style="mnras",
                                                      parts=["availability"])
    assert "\\begin{acknowledgements}" in render(examples_context, style="aa",
                                                 parts=["acknowledgement"])
    generic = render(examples_context, style="generic", parts=["software"])
    assert "\\cite{" in generic and "\\citep" not in generic


def test_unknown_part_style_and_format_are_usage_errors(examples_context):
    with pytest.raises(UsageError):
        render(examples_context, parts=["everything"])
    with pytest.raises(UsageError):
        render(examples_context, style="nature")
    with pytest.raises(UsageError):
        render(examples_context, to="html")


# Templates users override -------------------------------------------------

def test_override_extends_the_builtin_and_changes_one_block(examples_context, tmp_path):
    (tmp_path / "aastex.tex.j2").write_text(
        "((* extends 'builtin/aastex.tex.j2' *))\n"
        "((* block software *))Our own software sentence.((* endblock *))\n")
    parts = render_parts(examples_context, style="aastex", template_dirs=[tmp_path])
    assert parts["software"].startswith("% The software part of this paper's JWST data")
    assert parts["software"].strip().endswith("\nOur own software sentence.")
    assert "\\begin{deluxetable*}" in parts["summary"]  # everything else is built-in


def test_override_in_a_latex_subfolder(examples_context, tmp_path):
    (tmp_path / "latex").mkdir()
    (tmp_path / "latex" / "mnras.tex.j2").write_text(
        "((* extends 'builtin/mnras.tex.j2' *))\n"
        "((* block availability_heading *))\\section*{Data availability statement}((* endblock *))\n")
    text = render(examples_context, style="mnras", parts=["availability"], template_dirs=[tmp_path])
    assert "Data availability statement" in text


def test_missing_template_lists_every_folder_searched(examples_context, tmp_path, monkeypatch):
    import reporter.render as rendering

    empty = tmp_path / "builtin"
    empty.mkdir()
    monkeypatch.setattr(rendering, "builtin_template_dir", lambda: empty)
    with pytest.raises(RenderError) as error:
        render(examples_context, style="aastex", template_dirs=[tmp_path])
    assert str(tmp_path) in str(error.value) and str(empty / "latex") in str(error.value)


def test_undefined_variable_fails_loudly(examples_context, tmp_path):
    (tmp_path / "generic.tex.j2").write_text("((( no_such_value )))\n")
    with pytest.raises(RenderError, match="no_such_value"):
        render(examples_context, style="generic", template_dirs=[tmp_path])


def test_templates_copy_and_list(tmp_path):
    from reporter.render import copy_template, list_templates

    assert "latex/aastex.tex.j2" in list_templates()
    target = copy_template("latex/aastex.tex.j2", tmp_path)
    assert target.read_text().startswith("((=- AASTeX")
    with pytest.raises(reporter.OutputExists):
        copy_template("latex/aastex.tex.j2", tmp_path)


# Golden files ---------------------------------------------------------------

@pytest.mark.parametrize("to, style", [("latex", s) for s in STYLES] + [("markdown", "generic")])
def test_golden_files(examples_context, to, style):
    """Each part of each style on the example dataset; UPDATE_GOLDEN=1 rewrites them."""
    parts = render_parts(examples_context, to=to, style=style)
    extension = "tex" if to == "latex" else "md"
    for part in PARTS:
        golden = GOLDEN / style / f"{part}.{extension}"
        if os.environ.get("UPDATE_GOLDEN"):
            golden.parent.mkdir(parents=True, exist_ok=True)
            golden.write_text(parts[part], encoding="utf-8")
        assert golden.exists(), f"no golden file {golden}: run with UPDATE_GOLDEN=1"
        assert parts[part] == golden.read_text(encoding="utf-8"), f"{golden} differs"


def test_citation_keys_cannot_leave_the_cite():
    inventory = reporter.scan([str(ROOT / "examples" / "data")], jobs=1)
    knowledge = reporter.load_knowledge()
    keys = {"jwst_pipeline_1_12_5": "a}\\input{x} %",
            "jwst_pipeline_1_14_0": "Bushouse+2024:v1.14/jwst", "astropy:2013": "2013A&A...558A..33A"}
    context = paper_context(inventory, reporter.check(inventory, knowledge), knowledge,
                            citation_keys=keys)
    software = render(context, to="latex", style="aastex", parts=["software"])
    assert "\\input" not in software and "%" not in software.split("\n", 3)[-1]
    assert "a__input_x___" in software  # the key, with what would act made inert
    assert "Bushouse+2024:v1.14/jwst" in software  # an author's own keys as they are
    assert "2013A&A...558A..33A" in software
