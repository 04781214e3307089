"""The escaping boundaries, against hostile values: TeX primitives, braces, brackets,
line breaks, control characters, HTML and JavaScript, bytes of file names that are
not UTF-8.

LaTeX: every escaped value is checked token by token (only commands of an
allow-list, balanced braces, no special character raw), and a sample is compiled
by pdflatex where a value could act most: at the start of a table row, after
``\\item``, in typewriter type. Markdown: every value is parsed by markdown-it with
HTML enabled, in a paragraph, a code span, a table cell, a heading and link text,
and must render as its visible form, with no markup of its own.
"""

from __future__ import annotations

import html
import os
import random
import re
import shutil
import subprocess
import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from reporter.escape import (
    escape_latex,
    escape_latex_breakable,
    escape_latex_typewriter,
    escape_markdown,
    latex_printed,
    markdown_code,
    markdown_url,
    visible_text,
)

_LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"
#: Examples per property: a few hundred in CI, fifty times more in the long profile.
EXAMPLES = 300 * (50 if _LONG else 1)

# --- Hostile values ---------------------------------------------------------------

#: Pieces that act somewhere: TeX primitives and specials, what a macro with an
#: optional argument or a star takes, HTML and JavaScript, Markdown structure, line
#: breaks and control characters, bidi controls, non-UTF-8 bytes of a file name.
FRAGMENTS = (
    "\\input{/etc/hostname}", "\\catcode`\\{=12", "\\openout9=x", "\\write18{touch x}",
    "\\immediate", "\\csname input\\endcsname", "\\def\\x{\\x}\\x", "\\par", "\\\\", "\\",
    "\\end{document}", "\\makeatletter\\@tempa", "^^J", "^^@", "^^5c", "^", "^^", "~", "%",
    "#1", "##", "$", "$$", "&", "_", "{", "}", "{{", "}}", "[", "]", "[1cm]", '["id"]', "*",
    "@", "@misc{x,", "--", "---", "''", "``", ",,", "!`", "?`", "<<", ">>", "'", "`",
    "\n", "\n\n", "\r\n", "\r", "\t", "\x00", "\x07", "\x08", "\x0b", "\x0c", "\x1b[31m",
    "\x1b]0;t\x07", "\x7f", "\x85", "\x9b", "\u2028", "\u2029", "\u202a", "\u202e",
    "\u2066", "\u2069", "\u200b", "\ufeff", "\u00ad", "\udcff", "\udc80", "\ud800",
    "<img src=x onerror=alert(1)>", "<script>alert(1)</script>", "<!--", "-->", "<b>",
    "<javascript:alert(1)>", "[x](javascript:alert(1))", "![x](javascript:alert(1))",
    "&amp;", "&#60;", "&lt;", "| a | b |", "|---|", "|", "# ", "###", "**", "__", "_x_",
    "~~x~~", "\\|", "\\`", "```", "    ", " ", "\u00a0", "-", "+ ", "1. ", ">", "=",
    "漢", "é", "ï", "µ", "Å", "–", "“", "…", "°", "\U0001f600", "\u0301",
)

#: Any character at all, lone surrogates included (hypothesis leaves them out).
_ANY_CHARACTER = st.one_of(st.characters(), st.characters(codec=None, categories=["Cs"]))
HOSTILE = st.lists(st.one_of(st.sampled_from(FRAGMENTS), _ANY_CHARACTER),
                   max_size=12).map("".join)


# --- LaTeX: only allowed commands, balanced braces, no special raw -------------------

#: What an escaped value may hold besides plain characters: each command of the
#: allow-list whole (with its empty group or argument), and braced brackets or stars.
_ALLOWED = re.compile(r"""
    \\(?:textbackslash|textasciicircum|textasciitilde|textless|textgreater|textbar
        |nobreakspace|ldots|allowbreak|AA|aa|ss|o|O|ae|AE|l|L)\{\}
  | \\[{}$&#_%]
  | \\ensuremath\{(?:\\(?:mu|pm|times|alpha|beta|lambda|Delta|sigma)|\^\\circ)\}
  | \\['`^~"=.rcvuHk](?=\{)            # an accent; its argument is a group
  | \{\\[ij]\}                         # a dotless i or j under an accent
  | \{\\char(?:92|123|125|126|94|60|62|124|34)\}
  | \{\\ttfamily\\char34\}              # a straight double quote, in OT1 too
  | \{[\[\]*]\}                        # a bracket or star, inert in braces
  | \{\}                               # between two characters a font would join
""", re.VERBOSE)
#: Characters that mean something to TeX, or to \\ and \item at a value's start.
_RAW_SPECIAL = set("\\%#$&^_~[]*\"<>|")


def latex_problems(escaped: str, value: str) -> list[str]:
    """What is wrong with ``escaped`` as LaTeX for ``value`` (nothing: an empty list)."""
    problems = []
    if not (escaped.isascii() and escaped.isprintable()):
        problems.append("a control or non-ASCII character reaches TeX")
    depth = 0
    plain = []
    position = 0
    while position < len(escaped):
        match = _ALLOWED.match(escaped, position)
        if match:
            plain.append(" ")  # a command separates what a font could join
            position = match.end()
            continue
        char = escaped[position]
        if char in "{}":
            depth += 1 if char == "{" else -1
            if depth < 0:
                problems.append(f"a brace closes a group it did not open, at {position}")
                depth = 0
        elif char in _RAW_SPECIAL:
            problems.append(f"{char!r} raw at {position}")
        else:
            plain.append(char)
        position += 1
    if depth:
        problems.append(f"{depth} group(s) left open")
    # Pairs a text font sets as one glyph (an en dash, a quote) must come only from a
    # character that is that glyph.
    if value.isascii():
        text = "".join(plain)
        problems += [f"{pair!r} would print as one glyph"
                     for pair in ("--", "``", "''", ",,", "!`", "?`") if pair in text]
    return problems


@settings(max_examples=EXAMPLES, deadline=None)
@given(HOSTILE)
@example("[1cm]")
@example('["id"]')
@example("*starred")
@example("\\input{/etc/hostname}\n\x00^^J\udcff")
@example("a--b–-c——d‘‘e")
def test_escaped_latex_holds_only_allowed_commands(value):
    for escape in (escape_latex, escape_latex_breakable, escape_latex_typewriter,
                   lambda v: escape_latex_typewriter(v, breakable=False)):
        escaped = escape(value)
        assert not latex_problems(escaped, value), (value, escaped, latex_problems(escaped, value))


@settings(max_examples=EXAMPLES, deadline=None)
@given(HOSTILE, HOSTILE)
def test_escaped_values_side_by_side_stay_inert(first, second):
    # Templates set values next to each other: neither may change what the other means.
    escaped = escape_latex(first) + escape_latex(second)
    problems = [p for p in latex_problems(escaped, "\u2013")  # pairs across are allowed
                if "glyph" not in p]
    assert not problems, (first, second, escaped)


@settings(max_examples=EXAMPLES, deadline=None)
@given(HOSTILE)
def test_latex_printed_shows_every_character(value):
    printed = latex_printed(value)
    assert not any(unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl", "Zp")
                   for char in printed)
    assert len(printed) >= len(value)


def test_control_characters_and_surrogates_print_as_their_code_points():
    assert escape_latex("a\tb\r\nc") == "a{[}U+0009{]}b{[}U+000D{]}{[}U+000A{]}c"
    assert escape_latex("\x00\x1b\x7f\x85\u202e\u2066") == "".join(
        "{[}U+" + code + "{]}" for code in ("0000", "001B", "007F", "0085", "202E", "2066"))
    assert escape_latex("jw_\udcff.fits") == "jw\\_{[}U+DCFF{]}.fits"
    assert latex_printed("jw_\udcff\n") == "jw_[U+DCFF][U+000A]"
    assert visible_text("a\nb\u2028\udcff") == "a[U+000A]b[U+2028][U+DCFF]"
    assert visible_text("café µm") == "café µm"  # what prints is left as it is


def test_tex_primitives_and_ligatures_are_text():
    assert escape_latex("^^J^^@") == "\\textasciicircum{}" * 2 + "J" + \
        "\\textasciicircum{}" * 2 + "@"
    assert escape_latex("\\catcode`\\{=12") == ("\\textbackslash{}catcode`\\textbackslash{}"
                                                 "\\{=12")
    assert escape_latex("a--b ''c'' ``d``") == "a-{}-b '{}'c'{}' `{}`d`{}`"
    assert escape_latex("–") == "--" and escape_latex("–-") == "--{}-"
    assert escape_latex("x\u00a0y") == "x\\nobreakspace{}y"


# --- LaTeX: compiled ----------------------------------------------------------------

def _tex_ready() -> bool:
    if not (shutil.which("pdflatex") and shutil.which("pdftotext") and shutil.which("kpsewhich")):
        return False
    found = subprocess.run(["kpsewhich", "lmodern.sty", "geometry.sty"], capture_output=True,
                           text=True, check=False).stdout.split()
    return len(found) == 2


#: Values compiled: each fragment, and random mixtures of them (the same every run).
def _compiled_values() -> list[str]:
    rng = random.Random(12)
    pieces = [f for f in FRAGMENTS if f.isascii() or f in ("漢", "\udcff", "\u202e", "\x85")]
    mixed = ["".join(rng.choice(pieces) for _ in range(rng.randint(2, 5))) for _ in range(60)]
    return [*pieces, *mixed]


#: The two font encodings a paper may be in: T1 (with Latin Modern) and LaTeX's
#: default OT1, which AASTeX and plain article documents keep.
_ENCODINGS = {"T1": "\\usepackage[T1]{fontenc}\\usepackage{lmodern}", "OT1": ""}
_DOCUMENT = r"""\documentclass{article}
%s
\usepackage[paperwidth=90cm,paperheight=60cm,margin=1cm]{geometry}
\setlength\parindent{0pt}\pagestyle{empty}
\begin{document}
%s
\end{document}
"""


def _printed_form(value: str, encoding: str) -> str:
    """What the PDF's text should read for ``value``, without blanks (OT1 draws \\_ as a
    rule: it is seen, but is not in the text)."""
    text = "".join(latex_printed(value).split())
    return text.replace("_", "") if encoding == "OT1" else text


def _pdf_text_form(text: str) -> str:
    # pdftotext gives T1's quote and hyphen glyphs as typographic characters, OT1's
    # ^ and ~ as the accents they are there, and ligatures of letters (fi) as one.
    text = unicodedata.normalize("NFKC", text.replace("\u02c6", "^").replace("\u02dc", "~"))
    text = text.replace("\u2019", "'").replace("\u2018", "`").replace("\u2010", "-")
    return "".join(text.split())


@pytest.mark.skipif(not _tex_ready(), reason="pdflatex, pdftotext, lmodern or geometry missing")
@pytest.mark.parametrize("encoding", list(_ENCODINGS))
def test_hostile_values_compile_and_print_as_themselves(tmp_path, encoding):
    """At a table row's start (after \\\\, which takes [..] and *), after \\item (which
    takes [..]), in typewriter type and in running text: each value prints as it reads."""
    values = _compiled_values()
    body = []
    for number, value in enumerate(values):
        body += ["\\begin{tabular}{ll}\nx & y \\\\", f"{escape_latex(value)} & ROWA{number}",
                 "\\\\", f"\\texttt{{{escape_latex_typewriter(value)}}} & ROWB{number} \\\\",
                 "\\end{tabular}\\par",
                 (f"\\begin{{itemize}}\\item {escape_latex(value)}\\hfill ROWC{number}"
                  "\\end{itemize}"),
                 f"{escape_latex_breakable(value)}\\hfill ROWD{number}\\par"]
    (tmp_path / "doc.tex").write_text(_DOCUMENT % (_ENCODINGS[encoding], "\n".join(body)),
                                      "utf-8")
    before = set(os.listdir(tmp_path))
    # The timeout stops an endless loop (a value taken for a length once looped).
    result = subprocess.run(["pdflatex", "-no-shell-escape", "-interaction=nonstopmode",
                             "-halt-on-error", "doc.tex"], cwd=tmp_path, capture_output=True,
                            timeout=120, check=False)
    log = (tmp_path / "doc.log").read_text("utf-8", "replace")
    assert result.returncode == 0, [line for line in log.splitlines() if line.startswith("!")]
    assert not re.search(r"^! |Missing character|Undefined control", log, re.MULTILINE)
    assert set(os.listdir(tmp_path)) - before == {"doc.aux", "doc.log", "doc.pdf"}
    text = subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", "doc.pdf", "-"],
                          cwd=tmp_path, capture_output=True, check=True, timeout=120
                          ).stdout.decode("utf-8")
    rows = {}
    for line in text.splitlines():
        match = re.search(r"^(.*?)\s*ROW([A-D])(\d+)\s*$", line)
        if match:
            shown = match.group(1).lstrip().removeprefix("\u2022")  # an item's bullet
            rows[match.group(2), int(match.group(3))] = _pdf_text_form(shown)
    wrong = [(kind, values[number], shown) for (kind, number), shown in sorted(rows.items())
             if shown != _printed_form(values[number], encoding)]
    assert len(rows) == 4 * len(values), "a value swallowed the line after it"
    assert not wrong, wrong[:10]


# --- Markdown -------------------------------------------------------------------------

_PARSER = MarkdownIt("commonmark", {"html": True}).enable("table")
_MARKUP = {"html_inline", "html_block", "link_open", "image", "em_open", "strong_open",
           "s_open", "softbreak", "hardbreak"}


def _parse(source: str):
    tokens = _PARSER.parse(source)
    return tokens, [child for token in tokens for child in token.children or ()]


def _inline_text(children) -> str:
    return "".join(child.content for child in children if child.type in ("text", "code_inline"))


@settings(max_examples=EXAMPLES, deadline=None)
@given(HOSTILE)
@example("jwst_1241.pmap\n\n<img src=x onerror=alert(1)>")
@example("x\n# heading\ny")
def test_markdown_text_is_its_visible_form(value):
    shown = visible_text(value)
    source = f"Before {escape_markdown(value)} after."
    tokens, children = _parse(source)
    assert [t.type for t in tokens] == ["paragraph_open", "inline", "paragraph_close"]
    assert not {c.type for c in children} & _MARKUP
    assert _inline_text(children) == f"Before {shown} after."
    # The HTML is the text, escaped by the renderer: no tag of the value's.
    escaped = html.escape(f"Before {shown} after.", quote=False).replace('"', "&quot;")
    assert _PARSER.render(source) == f"<p>{escaped}</p>\n"


@settings(max_examples=EXAMPLES, deadline=None)
@given(HOSTILE)
@example("``code`` ` ```")
@example(" ` ")
def test_markdown_code_span_is_its_visible_form(value):
    shown = visible_text(value)
    tokens, children = _parse(f"Before {markdown_code(value)} after.")
    assert [t.type for t in tokens] == ["paragraph_open", "inline", "paragraph_close"]
    code = [c.content for c in children if c.type == "code_inline"]
    assert code == ([shown] if shown else [])
    assert not {c.type for c in children} & _MARKUP


@settings(max_examples=EXAMPLES, deadline=None)
@given(HOSTILE)
@example("a | b | c")
@example("a\\|b\\\\|c")
@example("x\n| a | b |\n|---|---|")
def test_markdown_table_cell_is_its_visible_form(value):
    shown = visible_text(value)
    source = ("| Text | Code |\n|:--|:--|\n"
              f"| {escape_markdown(value)} | {markdown_code(value, cell=True)} |\n")
    tokens, _ = _parse(source)
    assert sum(t.type == "table_open" for t in tokens) == 1
    assert sum(t.type == "tr_open" for t in tokens) == 2
    cells = [tokens[i + 1] for i, t in enumerate(tokens) if t.type == "td_open"]
    assert len(cells) == 2
    text, code = (cell.children or [] for cell in cells)
    assert not {c.type for c in [*text, *code]} & _MARKUP
    # A cell's blanks at either end are the table's, not the value's.
    assert _inline_text(text) == shown.strip()
    assert [c.content for c in code if c.type == "code_inline"] == ([shown] if shown else [])


@settings(max_examples=EXAMPLES, deadline=None)
@given(HOSTILE)
@example("x #")
def test_markdown_heading_and_link_text_are_the_visible_form(value):
    shown = visible_text(value)
    tokens, children = _parse(f"### What changed in {escape_markdown(value)}")
    assert [t.type for t in tokens] == ["heading_open", "inline", "heading_close"]
    assert not {c.type for c in children} & _MARKUP
    assert _inline_text(children) == f"What changed in {shown}".strip()

    tokens, children = _parse(f"See [doi:{escape_markdown(value)}](https://doi.org/"
                              f"{markdown_url(value)}).")
    links = [c for c in children if c.type == "link_open"]
    assert len(links) == 1 and not {c.type for c in children} & (_MARKUP - {"link_open"})
    assert links[0].attrs["href"].startswith("https://doi.org/")
    assert _inline_text(children) == f"See doi:{shown}."


def test_diff_markdown_shows_file_names_and_values_as_they_are():
    from reporter.diff import Comparison, FileChange, format_comparison

    old = "old/jw_[x]\n\n<img src=x onerror=alert(1)>`_cal.fits"
    new = "new/jw_renamed\r\n<script>alert(1)</script>_cal.fits"
    comparison = Comparison(changed=[FileChange(old, new, "identity", {
        "CRDS_CTX": ("jwst_1241.pmap", "jwst_1241.pmap\n\n<img src=x onerror=alert(1)>")},
        "NIRCam", "imaging")], added=["new/a\n# heading_cal.fits"],
        removed=["old/|---|---|\n| x |_cal.fits"])
    markdown = format_comparison(comparison, "markdown", old_name="v1\n# x", new_name="v2 #")
    tokens, children = _parse(markdown)
    assert not {t.type for t in [*tokens, *children]} & {"html_block", "html_inline", "table_open"}
    headings = [tokens[i + 1] for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert len(headings) == 1
    assert _inline_text(headings[0].children) == "What changed between v1[U+000A]# x and v2 #"
    code = [c.content for c in children if c.type == "code_inline"]
    assert code == [visible_text(new), visible_text(old), visible_text("new/a\n# heading_cal.fits"),
                    visible_text("old/|---|---|\n| x |_cal.fits")]
    items = [t for t in tokens if t.type == "list_item_open"]
    assert len(items) == 3  # the change, the added file, the removed file
    assert "<img" not in _PARSER.render(markdown)
