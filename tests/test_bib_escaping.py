"""BibTeX from hostile pipeline versions: whatever CAL_VER holds, it prints as itself
through pdflatex (no shell escape), bibtex and pdflatex, in every style papers use, and
never reads or writes a file, adds an entry or runs a command."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

import bibtexparser
import pytest

import reporter
from reporter.bib import citations_for, escape_bibtex, read_bib
from reporter.paper import citation_key

LATEX = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "latex"

#: CAL_VER values a header could hold, each an attempt to get out of its field.
HOSTILE = [
    "1.14.1}, note={\\input{/etc/passwd}}, x={",
    "1.14.0 \\input{/etc/hostname}",
    "1\\immediate\\openout9=owned.tex\\immediate\\write9{x}\\immediate\\closeout9",
    "1.14.0} @misc{evil, title={evil}}",
    "1.14.0\n@misc{evil2,\ntitle={x}}",
    "\\write18{touch pwned.txt}",
    "\\immediate\\write18{touch pwned2.txt}",
    "1\\catcode`\\{=12 \\catcode92=12 \\input{/etc/hostname}",
    "1.14.0}}}}",
    "{{{{1.14.0",
    "1.14.0@evil",
    "1.14.0\x00\\input{/etc/hostname}",
    "1.14.0\udcff\udcfe",  # bytes that are not UTF-8, as Python decodes them
    "1.14.0 % \\input{/etc/hostname}",
    "1.14.0 #&$^_~ $\\input{/etc/hostname}$",
    "\\" * 40,
    "1.14.0\x07\x1b[31m\x7f",
    "1.14.0 \\def\\x{\\input{/etc/hostname}}\\x",
    '1.14.0 "quoted" <b>|--`` \'\' \u202e\u200b\u2028',
]

#: Styles, and where each .bst is (None: TeX Live's).
STYLES = {"aasjournal": None, "aasjournalv7": LATEX / "aasjournalv7.bst", "mnras": None,
          "aa": LATEX / "aa.bst", "plainnat": None}

REFERENCES_TEX = r"""\documentclass{article}
FONTENC
\usepackage{natbib}
\usepackage{hyperref}
\begin{document}
\nocite{*}
\bibliographystyle{STYLE}
\bibliography{provenance}
\end{document}
"""


@pytest.fixture(scope="module")
def knowledge():
    return reporter.load_knowledge()


def visible(value: str) -> str:
    """What a reader should see of a value: itself, with control characters (line
    breaks included) and text that is not UTF-8 as their code points."""
    out = []
    for char in value:
        if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            out.append(f"[U+{ord(char):04X}]")
        else:
            out.append(char)
    return "".join(out)


def squeezed(text: str) -> str:
    """Without spaces, line breaks and hyphens: a value TeX broke across lines counts;
    the glyphs TeX has for ` ' ~ ^ in some fonts (OT1's accents) as those characters."""
    for glyph, char in {"\u2018": "`", "\u2019": "'", "\u02dc": "~", "\u02c6": "^"}.items():
        text = text.replace(glyph, char)
    return re.sub(r"[\s\-\u2010\u00ad]", "", text)


def our_keys(citations) -> set[str]:
    """The keys of the entries we wrote (versions that share a citation key get one each)."""
    return set(re.findall(r"^@\w+\{([^,]+),", citations.entries(), re.MULTILINE))


def test_escaped_values_never_hold_a_brace_of_their_own():
    for value in HOSTILE:
        escaped = escape_bibtex(value)
        depth = 0
        for char in escaped:
            depth += {"{": 1, "}": -1}.get(char, 0)
            assert depth >= 0, (value, escaped)
        assert depth == 0 and "@" not in escaped and "\n" not in escaped, (value, escaped)
        assert escaped.isascii() and escaped.isprintable(), (value, escaped)
        assert not re.search(r"\\(?!textbrace|textbackslash|textasciicircum|textasciitilde|"
                             r"textless|textgreater|textbar|ttfamily|char(?:64|34)\b|[#$%&_])",
                             escaped), (value, escaped)


def test_hostile_versions_parse_as_our_entries_only(knowledge, tmp_path):
    citations = citations_for(HOSTILE, knowledge)
    library = bibtexparser.parse_string(citations.bibtex())
    assert not library.failed_blocks
    assert {entry.key for entry in library.entries} == our_keys(citations)
    assert set(citations.keys.values()) <= our_keys(citations)
    assert len(library.entries) == len(set(HOSTILE)) + 3  # one per version, Astropy's three
    for entry in library.entries:
        assert re.fullmatch(r"[A-Za-z0-9:_-]+", entry.key)
        assert set(entry.fields_dict) <= {"author", "title", "publisher", "year", "month",
                                          "doi", "note", "journal", "volume", "pages"}
    # Read back as the author's file, every entry is found again, none added twice.
    path = tmp_path / "paper.bib"
    path.write_text(citations.bibtex(), encoding="utf-8")
    again = citations_for(HOSTILE, knowledge, read_bib(path)[0])
    assert again.new_entries == [] and again.keys == citations.keys


def test_a_hostile_version_never_takes_a_releases_key(knowledge):
    citations = citations_for(["1.14.0", "1.14.0}}}}", "{{{{1.14.0", "1-14-0"], knowledge)
    assert citations.keys[citation_key("1.14.0")] == "jwst_pipeline_1_14_0"
    library = bibtexparser.parse_string(citations.bibtex())
    entry = library.entries_dict["jwst_pipeline_1_14_0"]
    assert entry.fields_dict["title"].value == "{JWST Calibration Pipeline 1.14.0}"


def _tools_missing() -> list[str]:
    return [tool for tool in ("pdflatex", "bibtex", "kpsewhich", "pdftotext") if not shutil.which(tool)]


@pytest.mark.parametrize("style, fontenc", [*((style, "OT1") for style in STYLES),
                                            ("plainnat", "T1")])
def test_hostile_versions_compile_print_as_themselves_and_touch_nothing(knowledge, tmp_path,
                                                                        style, fontenc):
    missing = _tools_missing()
    if missing:
        pytest.skip(f"{', '.join(missing)} not found (apt-get install texlive-latex-extra "
                    "texlive-publishers poppler-utils)")
    bst = STYLES[style]
    if bst is None and not subprocess.run(["kpsewhich", f"{style}.bst"], capture_output=True,
                                          text=True, check=False).stdout.strip():
        pytest.skip(f"{style}.bst is not in TeX Live here (apt-get install texlive-publishers)")
    if bst is not None and not bst.is_file():
        pytest.skip(f"{bst} is absent (the shared LaTeX fixtures)")
    paper = tmp_path / "paper"
    paper.mkdir()
    citations = citations_for(HOSTILE, knowledge)
    (paper / "provenance.bib").write_text(citations.bibtex(), encoding="utf-8")
    (paper / "refs.tex").write_text(REFERENCES_TEX.replace("STYLE", style).replace(
        "FONTENC", "" if fontenc == "OT1" else f"\\usepackage[{fontenc}]{{fontenc}}"))
    before = set(os.listdir(paper))
    env = {**os.environ, "BSTINPUTS": f"{LATEX}//:", "openout_any": "p", "openin_any": "a"}
    for command in (["pdflatex", "-no-shell-escape", "-interaction=nonstopmode", "refs.tex"],
                    ["bibtex", "refs"],
                    ["pdflatex", "-no-shell-escape", "-interaction=nonstopmode", "refs.tex"],
                    ["pdftotext", "-layout", "refs.pdf", "refs.txt"]):
        step = subprocess.run(command, cwd=paper, env=env, capture_output=True, text=True,
                              errors="replace", timeout=300, check=False)
        assert step.returncode == 0, f"{command[0]} ({style}) failed:\n{step.stdout[-3000:]}"
    log = (paper / "refs.log").read_text(errors="replace")
    assert not re.search(r"^! ", log, re.MULTILINE), f"{style}: {re.findall(r'^! .*', log, re.MULTILINE)}"
    # Nothing beside the paper but what LaTeX and BibTeX always write.
    made = set(os.listdir(paper)) - before
    assert made <= {f"refs.{ext}" for ext in ("aux", "log", "bbl", "blg", "pdf", "out", "txt")}, made
    opened = set(re.findall(r"\\openout\d+ = `([^']*)'", log))
    assert opened <= {"refs.aux", "refs.out"}, opened  # LaTeX's and hyperref's own
    # Only our entries reach the bibliography.
    bbl = (paper / "refs.bbl").read_text(errors="replace")
    items = set(re.findall(r"\\bibitem(?:\[(?:[^\[\]]|\[[^\]]*\])*\])?\{([^{}]+)\}", bbl))
    assert items == our_keys(citations), items ^ our_keys(citations)
    assert "evil" not in items and not any("evil" in key for key in re.findall(r"@\w+\{([^,]*),",
                                                                                 bbl))
    # Nothing was read in, and every value prints as itself.
    text = (paper / "refs.txt").read_text(errors="replace")
    hostname = Path("/etc/hostname").read_text().strip() if Path("/etc/hostname").is_file() else ""
    if len(hostname) >= 4:  # a shorter name could be in the text by chance
        assert hostname not in text.replace("/etc/hostname", "")
    assert "root:" not in text
    flat = squeezed(text)
    for value in HOSTILE:
        expected = squeezed(visible(value))
        if fontenc == "OT1":  # OT1 has no underscore: \_ is a rule, no text to extract
            expected = expected.replace("_", "")
        assert expected in flat, f"{style}: {visible(value)!r} not printed"
    # Long values break across lines instead of running into the margin.
    assert not re.search(r"^Overfull \\hbox", log, re.MULTILINE), style
