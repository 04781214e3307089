"""Compile a report folder's LaTeX parts inside the journals' own template preambles.

A part is only known to work when it compiles, without a complaint, inside the journal's
own template, unchanged. This module takes each journal's preamble (everything up to and
including ``\\begin{document}`` of the journal's sample file), places the parts that
``jwst-provenance report`` wrote the way an author would (:func:`document_body`), runs
``pdflatex``, ``bibtex`` and ``pdflatex`` twice in a temporary folder, and reports every
problem: errors, overfull boxes over 1 pt, text set beyond the text block (which TeX does
not always report: AASTeX's floating ``deluxetable*`` may shrink without limit), BibTeX's
warnings, and the LaTeX, package, class and font warnings (undefined citations and
references, rerun requests, ``Float too large``, missing characters) that the journal's
own baseline document, the preamble and one paragraph, does not give
(:func:`compile_report`, :func:`problems`).

Used by ``tests/test_journals.py``, and as a script to look at the pages::

    python tests/journals.py REPORT_DIR OUT_DIR [--journal NAME]...

compiles ``REPORT_DIR`` in every available journal and both layouts (``parts``: each part
where it belongs; ``all``: ``provenance.tex`` in one place), copies each PDF and its page
images to ``OUT_DIR/<journal>-<layout>/`` and prints the pages and problems of each. Each
journal takes the parts of its own style: ``REPORT_DIR`` is one report folder (its style
is read from its parts) or holds one per style in ``aastex/``, ``mnras/``, ``aa/`` and
``generic/``.

The journals' files are read where they are installed (Debian's ``texlive-publishers``
and ``texlive-publishers-doc``) or from ``../shared/fixtures/latex`` beside the
repository; nothing is copied into the project. A journal whose files are missing has
``unavailable`` set to the reason, naming the missing file and what provides it.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from html import unescape
from pathlib import Path

__all__ = [
    "BASELINE_BODY",
    "DATA_SENTENCE",
    "GEOMETRY_PROBE",
    "JOURNAL_NAMES",
    "LAYOUTS",
    "PARTS",
    "CompileResult",
    "Journal",
    "LogReport",
    "Overfull",
    "TextBlock",
    "baseline",
    "compile_document",
    "compile_report",
    "detect_style",
    "document_body",
    "journal",
    "journals",
    "main",
    "missing_tools",
    "outside_text_block",
    "page_images",
    "parse_log",
    "pdf_words",
    "problems",
    "report_files",
    "text_block",
    "text_contains",
    "unusable",
]

ROOT = Path(__file__).resolve().parents[1]
SHARED_LATEX = ROOT.parent / "shared" / "fixtures" / "latex"
AASTEX631_SAMPLE = Path("/usr/share/doc/texlive-doc/latex/aastex/sample631.tex.gz")
MNRAS_TEMPLATE = Path("/usr/share/doc/texlive-doc/latex/mnras/mnras_template.tex.gz")
AASTEX701_PREAMBLE = SHARED_LATEX / "preambles" / "aastex701_sample.preamble.tex"

#: The parts ``report`` writes, each to ``\input``.
PARTS = ("availability", "summary", "caveats", "software", "acknowledgement", "appendix")
#: ``parts``: each part where it belongs; ``all``: ``provenance.tex`` (every part) at once.
LAYOUTS = ("parts", "all")
JOURNAL_NAMES = ("aastex631", "aastex701", "mnras", "aa", "article", "article-twocolumn")
#: The sentence under ``\section{Data}``, before the parts.
DATA_SENTENCE = "We analyse the JWST observations described in this section."
#: The body of each journal's baseline document: one paragraph, no part.
BASELINE_BODY = ("This paragraph stands for the text of a paper. It has a few sentences, "
                 "so that the page is not empty, and uses no command at all.")
APPENDIX_TITLE = "Processing provenance of every file"
#: The main file of each compiled document (chosen not to clash with a report's files).
MAIN = "journal_check"
#: Log lines are not wrapped up to this length (kpathsea's ``max_print_line``).
LOG_WIDTH = 65536
#: Overfull boxes up to this much are tolerated (as LaTeX's own \hfuzz of 0.1 pt is).
OVERFULL_LIMIT_PT = 1.0

#: Debian package of each program the harness runs.
TOOLS = {"pdflatex": "texlive-latex-base", "bibtex": "texlive-binaries",
         "kpsewhich": "texlive-binaries", "pdfinfo": "poppler-utils",
         "pdftotext": "poppler-utils", "pdftoppm": "poppler-utils"}


# --- The journals ----------------------------------------------------------------

@dataclass(frozen=True)
class Journal:
    """One journal's document: its preamble, the style it takes, its bibliography style.

    ``unavailable`` is ``None`` when everything it needs is installed, else the reason
    (the missing file and what provides it). ``notes`` say what was changed and why.
    """

    name: str
    style: str
    bst: str
    preamble: str = ""
    texinputs: tuple[str, ...] = ()
    bstinputs: tuple[str, ...] = ()
    front_matter: str = ""
    unavailable: str | None = None
    notes: tuple[str, ...] = ()
    source: str = ""

    @property
    def available(self) -> bool:
        return self.unavailable is None

    def environment(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """The environment of the TeX programs: search paths, and unwrapped log lines."""
        env = dict(os.environ if base is None else base)
        for variable, extra in (("TEXINPUTS", self.texinputs), ("BSTINPUTS", self.bstinputs)):
            if extra:
                # The empty entry at the end keeps the system tree in the search.
                env[variable] = ":".join([*extra, env.get(variable, "")])
        env.update(max_print_line=str(LOG_WIDTH), error_line="254", half_error_line="238")
        return env


def _kpsewhich(name: str, journal_env: dict[str, str] | None = None) -> str | None:
    if not shutil.which("kpsewhich"):
        return None
    return _stdout(["kpsewhich", name], env=journal_env).strip() or None


def _stdout(command: list[str], **options) -> str:
    """What ``command`` prints (its exit status is judged by what it prints)."""
    return subprocess.run(command, check=False, capture_output=True, text=True,
                          errors="replace", **options).stdout


def missing_tools(names: Iterable[str] = ("pdflatex", "bibtex", "kpsewhich", "pdfinfo",
                                          "pdftotext")) -> str | None:
    """Why the harness cannot run (the programs missing and their Debian packages), or None."""
    missing = [f"{name} (Debian package {TOOLS[name]})" for name in names
               if shutil.which(name) is None]
    return f"not installed: {', '.join(missing)}" if missing else None


def _preamble_of(text: str) -> str:
    """Everything up to and including the line ``\\begin{document}``."""
    match = re.search(r"^[ \t]*\\begin\{document\}[^\n]*\n?", text, re.MULTILINE)
    if match is None:
        raise ValueError("no \\begin{document} line")
    preamble = text[:match.end()]
    return preamble if preamble.endswith("\n") else preamble + "\n"


def _requirements(journal: Journal, files: Sequence[tuple[str, str]]) -> Journal:
    """``journal`` marked unavailable when one of ``files`` (name, provider) is missing."""
    if journal.unavailable:
        return journal
    env = journal.environment()  # with the journal's own TEXINPUTS and BSTINPUTS
    for name, provider in files:
        if _kpsewhich(name, env) is None:
            return replace(journal, unavailable=f"{name} is not installed (kpsewhich {name} "
                                                f"finds nothing): {provider}")
    return journal


#: AASTeX warns "No title" at the first \\section without one; a \\title is the minimum
#: (the class sets the title block itself; an explicit \\maketitle defines FirstPage twice).
AASTEX_FRONT_MATTER = "\\title{The JWST data of this paper}\n\n"


def _aastex631() -> Journal:
    journal = Journal("aastex631", "aastex", "aasjournal", front_matter=AASTEX_FRONT_MATTER,
                      source=f"{AASTEX631_SAMPLE} up to \\begin{{document}}")
    if not AASTEX631_SAMPLE.exists():
        return replace(journal, unavailable=f"{AASTEX631_SAMPLE} is missing "
                                            "(Debian package texlive-publishers-doc)")
    journal = replace(journal, preamble=_preamble_of(
        gzip.decompress(AASTEX631_SAMPLE.read_bytes()).decode("utf-8", "replace")))
    return _requirements(journal, [("aastex631.cls", "Debian package texlive-publishers"),
                                   ("aasjournal.bst", "Debian package texlive-publishers")])


def _aastex701() -> Journal:
    journal = Journal("aastex701", "aastex", "aasjournalv7", front_matter=AASTEX_FRONT_MATTER,
                      texinputs=(f"{SHARED_LATEX}//",), bstinputs=(f"{SHARED_LATEX}//",),
                      source=str(AASTEX701_PREAMBLE))
    for path in (AASTEX701_PREAMBLE, SHARED_LATEX / "aastex701.cls",
                 SHARED_LATEX / "aasjournalv7.bst"):
        if not path.exists():
            return replace(journal, unavailable=f"{path} is missing (the shared LaTeX "
                                                "fixtures beside the repository, see "
                                                f"{SHARED_LATEX / 'SOURCES.md'})")
    return replace(journal, preamble=_preamble_of(AASTEX701_PREAMBLE.read_text("utf-8")))


#: The MNRAS template's font line, which needs texlive-fonts-extra.
MNRAS_NEWTX_LINE = "\\usepackage{newtxtext,newtxmath}"


def _mnras() -> Journal:
    journal = Journal("mnras", "mnras", "mnras",
                      source=f"{MNRAS_TEMPLATE} up to \\begin{{document}}")
    if not MNRAS_TEMPLATE.exists():
        return replace(journal, unavailable=f"{MNRAS_TEMPLATE} is missing "
                                            "(Debian package texlive-publishers-doc)")
    preamble = _preamble_of(gzip.decompress(MNRAS_TEMPLATE.read_bytes()).decode("utf-8",
                                                                                "replace"))
    notes = ()
    if _kpsewhich("newtxtext.sty") is None:
        lines = preamble.splitlines(keepends=True)
        kept = [line for line in lines if line.strip() != MNRAS_NEWTX_LINE]
        if len(kept) != len(lines) - 1:
            raise ValueError(f"{MNRAS_TEMPLATE}: expected one line {MNRAS_NEWTX_LINE}")
        preamble = "".join(kept)
        notes = ((f"mnras: dropped the template's line {MNRAS_NEWTX_LINE} because "
                  "newtxtext.sty is not installed (kpsewhich newtxtext.sty finds nothing; "
                  "Debian package texlive-fonts-extra): the document is set in Computer "
                  "Modern, not Times"),)
    journal = replace(journal, preamble=preamble, notes=notes)
    return _requirements(journal, [("mnras.cls", "Debian package texlive-publishers"),
                                   ("mnras.bst", "Debian package texlive-publishers")])


#: The preamble of EDP's ``aa.dem``.
AA_PREAMBLE = ("\\documentclass{aa}\n\\usepackage{graphicx}\n\\usepackage{txfonts}\n"
               "\\begin{document}\n")


def _aa() -> Journal:
    journal = Journal("aa", "aa", "aa", preamble=AA_PREAMBLE, bstinputs=(str(SHARED_LATEX),),
                      source="the preamble of EDP's aa.dem")
    # aa.cls compiles without any front matter: it is two-column from the class options
    # on, and \maketitle (which needs \title, \author, \institute and \abstract) only sets
    # the title block across both columns. So the minimum front matter is none.
    if _kpsewhich("aa.cls") is None:
        return replace(journal, unavailable=(
            "aa.cls is not installed (kpsewhich aa.cls finds nothing): A&A's class "
            "(EDP Sciences) may not be redistributed and no Debian package has it; "
            "put aa.cls and linenoaa.sty from EDP's A&A author package into "
            "~/texmf/tex/latex/aa/"))
    if not (SHARED_LATEX / "aa.bst").exists():
        return replace(journal, unavailable=f"{SHARED_LATEX / 'aa.bst'} is missing (the "
                                            "shared LaTeX fixtures beside the repository)")
    return _requirements(journal, [("linenoaa.sty",
                                    "it comes with aa.cls in EDP's A&A author package"),
                                   ("txfonts.sty", "Debian package texlive-fonts-recommended")])


def _article(name: str, options: str) -> Journal:
    preamble = f"\\documentclass{options}{{article}}\n\\begin{{document}}\n"
    return _requirements(Journal(name, "generic", "plain", preamble=preamble,
                                 source="LaTeX's article class"),
                         [("article.cls", "Debian package texlive-latex-base"),
                          ("plain.bst", "Debian package texlive-base")])


_JOURNALS: dict[str, Journal] | None = None
_JOURNALS_LOCK = threading.Lock()


def journals() -> dict[str, Journal]:
    """Every journal, available or not, by name (read once)."""
    global _JOURNALS
    with _JOURNALS_LOCK:
        if _JOURNALS is None:
            tools = missing_tools(("kpsewhich",))
            found = {"aastex631": _aastex631(), "aastex701": _aastex701(), "mnras": _mnras(),
                     "aa": _aa(), "article": _article("article", ""),
                     "article-twocolumn": _article("article-twocolumn", "[twocolumn]")}
            if tools:
                found = {name: replace(j, unavailable=j.unavailable or tools)
                         for name, j in found.items()}
            _JOURNALS = found
        return _JOURNALS


def journal(name: str | Journal) -> Journal:
    """One journal by name (``aastex631``, ``aastex701``, ``mnras``, ``aa``, ``article``, ...)."""
    if isinstance(name, Journal):
        return name
    try:
        return journals()[name]
    except KeyError:
        raise ValueError(f"unknown journal {name!r}; choose from {', '.join(JOURNAL_NAMES)}") \
            from None


_as_journal = journal


# --- The document -----------------------------------------------------------------

def _bibliography(journal: Journal) -> list[str]:
    if journal.style == "aastex":  # sample631.tex's order
        return ["\\bibliography{provenance}", f"\\bibliographystyle{{{journal.bst}}}"]
    return [f"\\bibliographystyle{{{journal.bst}}}", "\\bibliography{provenance}"]


def document_body(journal: str | Journal, parts: Iterable[str], layout: str = "parts", *,
                  bibliography: bool = True) -> str:
    """The body of the paper, placing the ``parts`` given as the journal's authors would.

    ``parts`` are the names of the parts that exist (``provenance`` for the ``all``
    layout); the others, and what surrounds them, are left out. ``bibliography``: add the
    journal's ``\\bibliography{provenance}`` commands (when ``provenance.bib`` exists).
    """
    journal = _as_journal(journal)
    have = set(parts)

    def part(name: str) -> list[str]:
        return [f"\\input{{{name}}}"] if name in have else []

    def wrapped(name: str, before: str, after: str = "") -> list[str]:
        text = f"{before}\n\\input{{{name}}}" + (f"\n{after}" if after else "")
        return [text] if name in have else []

    blocks = [f"\\section{{Data}}\n{DATA_SENTENCE}"]
    bib = ["\n".join(_bibliography(journal))] if bibliography else []
    appendix_section = f"\\section{{{APPENDIX_TITLE}}}"
    if layout == "all":
        blocks += [*part("provenance"), *bib]
    elif layout != "parts":
        raise ValueError(f"unknown layout {layout!r}; choose from {', '.join(LAYOUTS)}")
    elif journal.style == "aastex":  # the order of sample631.tex
        blocks += [*part("availability"), *part("summary"), *part("caveats"),
                   *wrapped("acknowledgement", "\\begin{acknowledgments}",
                            "\\end{acknowledgments}"),
                   *part("software"),
                   *wrapped("appendix", f"\\appendix\n{appendix_section}"), *bib]
    elif journal.style == "mnras":
        blocks += [*part("summary"), *part("caveats"),
                   *(["\\section*{Acknowledgements}"]
                     if have & {"acknowledgement", "software"} else []),
                   *part("acknowledgement"), *part("software"),
                   *part("availability"),  # the part has its own Data Availability heading
                   *bib, *wrapped("appendix", f"\\appendix\n{appendix_section}")]
    elif journal.style == "aa":
        blocks += [*part("availability"), *part("summary"), *part("caveats"),
                   *part("software"),
                   *part("acknowledgement"),  # the part has its acknowledgements environment
                   *bib, *wrapped("appendix", f"\\begin{{appendix}}\n{appendix_section}",
                                  "\\end{appendix}")]
    else:
        blocks += [*part("availability"), *part("summary"), *part("caveats"),
                   *part("software"),
                   *wrapped("acknowledgement", "\\section*{Acknowledgements}"),
                   *wrapped("appendix", f"\\appendix\n{appendix_section}"), *bib]
    # Blank lines between the blocks, as authors write them (and sample631.tex does).
    return "\n\n".join(blocks) + "\n"


def _document(journal: Journal, body: str) -> str:
    return f"{journal.preamble}{journal.front_matter}{body}\\end{{document}}\n"


# --- The log ----------------------------------------------------------------------

@dataclass(frozen=True)
class Overfull:
    """One overfull box of the log."""

    kind: str                 # "hbox" or "vbox"
    amount: float             # pt
    where: str                # "in paragraph at lines 12--14", "detected at line 30", ...
    lines: str | None         # "12--14" (the log's line numbers in ``file``)
    file: str | None = None   # the input file being read, when it is one of the parts
    detail: str = ""          # the first line of the box's contents

    def __str__(self) -> str:
        where = f" in {self.file}" if self.file else ""
        detail = f": {self.detail}" if self.detail else ""
        return (f"Overfull \\{self.kind} ({self.amount:g}pt too "
                f"{'wide' if self.kind == 'hbox' else 'high'}) {self.where}{where}{detail}")


@dataclass
class LogReport:
    """What :func:`parse_log` finds in a pdflatex log."""

    errors: list[str] = field(default_factory=list)
    overfull: list[Overfull] = field(default_factory=list)
    small_overfull: list[Overfull] = field(default_factory=list)
    #: Overfull \\vbox-es of the output routine while the bibliography is set: AASTeX
    #: 7.0.1's ``linenumbers`` gives them on its own sample bibliography (sample631.bib
    #: after 160 or 368 words of plain text), so they are the template's, not a part's.
    template_overfull: list[Overfull] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    underfull: int = 0


_WARNING_START = re.compile(
    r"^(?:(?P<latex>LaTeX(?: Font)? Warning: )"
    r"|(?:Package|Class|Module) (?P<name>\S+) Warning: "
    r"|LaTeX (?P<kernel>\S+) Warning: "
    r"|(?P<missing>Missing character: ))")
_OVERFULL = re.compile(r"^Overfull \\([hv])box \(([-\d.]+)pt too (?:wide|high)\) ?(.*)$")
_UNDERFULL = re.compile(r"^Underfull \\[hv]box \(badness \d+\)")
_RERUN = re.compile(r"(?i)\b(?:rerun to get|rerun latex|please rerun|run latex again)")
_LINES = re.compile(r"lines? (\d+(?:--\d+)?)")
_FILE_TOKEN = re.compile(r"[^\s()\[\]{}\"<>]+")


def _unwrap(lines: list[str], width: int) -> list[str]:
    """Join lines that TeX broke at ``width`` characters."""
    joined: list[str] = []
    carry = ""
    for line in lines:
        if len(line) == width:
            carry += line
            continue
        joined.append(carry + line)
        carry = ""
    if carry:
        joined.append(carry)
    return joined


class _Files:
    """Which input file is being read: a stack from the log's ``(file`` and ``)``."""

    def __init__(self) -> None:
        self.stack: list[str | None] = []
        self.recent: str | None = None  # the part file closed last, if nothing opened since

    @staticmethod
    def _local(name: str | None) -> str | None:
        if name and name.startswith("./") and "/" not in name[2:]:
            return name[2:]
        return None

    def feed(self, line: str) -> None:
        position = 0
        while position < len(line):
            char = line[position]
            if char == "(":
                token = _FILE_TOKEN.match(line, position + 1)
                name = token.group(0) if token else ""
                name = name if "." in name and ("/" in name or re.search(
                    r"\.(tex|sty|cls|cfg|def|fd|clo|aux|bbl|out|toc|ldf|dfu|mkii)$", name)) \
                    else None
                if self._local(name):
                    self.recent = None
                self.stack.append(name)
                position = token.end() if token else position + 1
                continue
            if char == ")" and self.stack:
                closed = self._local(self.stack.pop())
                if closed and not closed.startswith(MAIN + "."):
                    self.recent = closed
            position += 1

    def reading_bibliography(self) -> bool:
        """The innermost file open is the main file's .bbl."""
        names = [name for name in self.stack if name is not None]
        return bool(names) and names[-1].endswith(".bbl")

    def current(self) -> str | None:
        """The innermost part being read (or the one closed just before), not the main file."""
        for name in reversed(self.stack):
            if name is None:
                continue
            base = self._local(name)
            if base is None:
                return None  # a package or class file
            if not base.startswith(MAIN + "."):
                return base
            break
        return self.recent


def parse_log(log: str, width: int = LOG_WIDTH) -> LogReport:
    """Errors, overfull boxes, warnings (joined across lines) and underfull boxes of a log.

    Warnings are the ``LaTeX Warning``, ``LaTeX Font Warning``, ``Package X Warning``,
    ``Class X Warning`` (``Float too large`` is a LaTeX Warning) lines, ``Missing
    character`` lines (a glyph the font lacks is silently dropped from the PDF) and any
    other line asking to rerun LaTeX. (pdfTeX's own warnings are not: MNRAS's template
    gives "destination with the same identifier" for any captioned float.) Lines that
    TeX broke at ``width`` characters are joined first. A message is attributed to the
    part being read, or to the part just closed when TeX reports it at the end of the
    paragraph that the part's last lines began.
    """
    report = LogReport()
    lines = _unwrap(log.splitlines(), width)
    files = _Files()
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("! "):
            context = [line]
            index += 1
            while index < len(lines) and len(context) < 16 and not lines[index].startswith("! "):
                context.append(lines[index])
                index += 1
                if re.match(r"^l\.\d+", context[-1]):
                    if index < len(lines) and lines[index].strip():
                        context.append(lines[index])
                        index += 1
                    break
            context = [entry for entry in context if entry.strip()]
            if not line.startswith("!  ==> Fatal error"):
                where = files.current()
                report.errors.append("\n".join(context).rstrip()
                                     + (f"\n(while reading {where})" if where else ""))
            continue
        box = _OVERFULL.match(line)
        if box or _UNDERFULL.match(line):
            detail = ""
            index += 1
            while index < len(lines) and lines[index].strip():  # the box's contents
                detail = detail or lines[index].strip()
                index += 1
            if box:
                amount = float(box.group(2))
                lines_match = _LINES.search(box.group(3))
                overfull = Overfull(box.group(1) + "box", amount, box.group(3),
                                    lines_match.group(1) if lines_match else None,
                                    files.current(), detail[:120])
                if amount <= OVERFULL_LIMIT_PT:
                    report.small_overfull.append(overfull)
                elif (overfull.kind == "vbox" and "\\output is active" in overfull.where
                      and files.reading_bibliography()):
                    report.template_overfull.append(overfull)
                else:
                    report.overfull.append(overfull)
            else:
                report.underfull += 1
            continue
        start = _WARNING_START.match(line)
        if start:
            text = [line.strip()]
            prefix = f"({start.group('name') or start.group('kernel') or 'Font'})"
            index += 1
            while index < len(lines):
                following = lines[index]
                if start.group("latex") and following.startswith("LaTeX Font Warning"):
                    break
                if following.startswith(prefix) or (
                        start.group("latex") and following.startswith("  ")
                        and following.strip()):
                    text.append(following.removeprefix(prefix).strip())
                    index += 1
                    continue
                break
            where = files.current()
            report.warnings.append(" ".join(text) + (f" (while reading {where})" if where
                                                     else ""))
            continue
        if _RERUN.search(line):
            report.warnings.append(f"Rerun notice: {line.strip()}")
        files.feed(line)
        index += 1
    return report


def _warning_key(warning: str) -> str:
    """A warning without what changes between documents (line and page numbers, file)."""
    key = re.sub(r" \(while reading [^)]*\)$", "", warning)
    key = re.sub(r"\s*on input line \d+\.?", "", key)
    key = re.sub(r"on page \d+", "on page N", key)
    key = re.sub(r"lines? \d+(--\d+)?", "line N", key)
    return " ".join(key.split())


# --- Where the text lies on the page ------------------------------------------------

#: Written to the log at the end of every document: where the text block is.
GEOMETRY_PROBE = (
    "\\makeatletter\\typeout{journal-check geometry: hoffset=\\the\\hoffset; "
    "oddsidemargin=\\the\\oddsidemargin; evensidemargin=\\the\\evensidemargin; "
    "textwidth=\\the\\textwidth; pdfhorigin=\\the\\pdfhorigin; "
    "twoside=\\if@twoside 1\\else 0\\fi}\\makeatother\n")
_BP_PER_PT = 72 / 72.27
#: Text may reach this far (pt) beyond the text block before it is a problem.
OUTSIDE_LIMIT_PT = 1.0


@dataclass(frozen=True)
class TextBlock:
    """The horizontal extent of the text block on odd and even pages, in PDF units (bp)."""

    odd: tuple[float, float]
    even: tuple[float, float]

    def edges(self, page: int) -> tuple[float, float]:
        return self.odd if page % 2 else self.even


def text_block(log: str) -> TextBlock | None:
    """The text block, from the line :data:`GEOMETRY_PROBE` wrote in the log."""
    match = re.search(r"^journal-check geometry: (.*)$", log, re.MULTILINE)
    if match is None:
        return None
    values = dict(item.split("=", 1) for item in match.group(1).split("; "))
    try:
        pt = {key: float(value.removesuffix("pt")) for key, value in values.items()
              if key != "twoside"}
    except ValueError:
        return None
    width = pt["textwidth"] * _BP_PER_PT
    odd = (pt["pdfhorigin"] + pt["hoffset"] + pt["oddsidemargin"]) * _BP_PER_PT
    even = (pt["pdfhorigin"] + pt["hoffset"] + (pt["evensidemargin"] if values["twoside"] == "1"
                                                 else pt["oddsidemargin"])) * _BP_PER_PT
    return TextBlock((odd, odd + width), (even, even + width))


def pdf_words(pdf: str | os.PathLike) -> list[list[tuple[float, float, float, float, str]]]:
    """Every word of every page (``pdftotext -bbox``): (xMin, yMin, xMax, yMax, text) in bp."""
    html = _stdout(["pdftotext", "-bbox", str(pdf), "-"])
    pages = []
    for page in html.split("<page ")[1:]:
        pages.append([(float(x0), float(y0), float(x1), float(y1), unescape(word))
                      for x0, y0, x1, y1, word in re.findall(
                          r'<word xMin="([-\d.]+)" yMin="([-\d.]+)" xMax="([-\d.]+)" '
                          r'yMax="([-\d.]+)">([^<]*)</word>', page)])
    return pages


def outside_text_block(pdf: str | os.PathLike, block: TextBlock,
                       limit_pt: float = OUTSIDE_LIMIT_PT) -> list[str]:
    """One line per page with text beyond the left or right edge of the text block.

    TeX reports no overfull box for a table set in a box that may shrink without limit
    (AASTeX's floating ``deluxetable*``), yet it runs into the margins; this finds it on
    the page. Numbers standing alone in a margin (line and page numbers) are not text.
    """
    limit = limit_pt * _BP_PER_PT
    found = []
    for number, words in enumerate(pdf_words(pdf), 1):
        left, right = block.edges(number)
        out = [word for word in words if word[0] < left - limit or word[2] > right + limit]
        out = [word for word in out
               if not (re.fullmatch(r"[\d.,]+", word[4])
                       and (word[2] <= left + limit or word[0] >= right - limit))]
        if not out:
            continue
        beyond_left = max(left - min(word[0] for word in out), 0) / _BP_PER_PT
        beyond_right = max(max(word[2] for word in out) - right, 0) / _BP_PER_PT
        sides = [f"{amount:.1f}pt beyond the {side}" for amount, side in
                 ((beyond_left, "left"), (beyond_right, "right")) if amount > limit_pt]
        sample = " ".join(word[4] for word in out[:12]) + (" ..." if len(out) > 12 else "")
        found.append(f"page {number}: {len(out)} words outside the text block "
                     f"({' and '.join(sides)} edge): {sample}")
    return found


# --- Compiling --------------------------------------------------------------------

@dataclass
class CompileResult:
    """One document compiled: its log, its problems and its PDF."""

    journal: str
    layout: str
    folder: Path
    tex: Path
    pdf: Path | None = None
    log: str = ""
    errors: list[str] = field(default_factory=list)
    overfull: list[Overfull] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    bibtex_warnings: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    underfull: int = 0
    small_overfull: list[Overfull] = field(default_factory=list)
    template_overfull: list[Overfull] = field(default_factory=list)
    baseline_warnings: list[str] = field(default_factory=list)
    pages: int = 0
    text: str = ""            # pdftotext -layout
    reading_text: str = ""    # pdftotext -raw: content order (columns one after the other)
    notes: list[str] = field(default_factory=list)
    runs: list[tuple[str, int, float]] = field(default_factory=list)
    max_pages: int | None = None

    @property
    def seconds(self) -> float:
        """The time the TeX programs took."""
        return sum(run[2] for run in self.runs)

    @property
    def ok(self) -> bool:
        return not problems(self)


def problems(result: CompileResult) -> list[str]:
    """One readable line per error, overfull box, warning, BibTeX warning, text outside
    the text block (and page count over ``max_pages``) of ``result``."""
    found = []
    for error in result.errors:
        lines = [line.strip() for line in error.splitlines() if line.strip()]
        # The message, where TeX was (l.N and what follows) and the part being read.
        where = [n for n, line in enumerate(lines) if re.match(r"l\.\d+", line)]
        kept = lines[:1] + (lines[where[0]:where[0] + 2] if where else [])
        kept += [line for line in lines[1:] if line.startswith("(while reading")
                 and line not in kept]
        found.append("error: " + " | ".join(kept))
    found += [f"overfull: {box}" for box in result.overfull]
    found += [f"outside: {line}" for line in result.outside]
    found += [f"warning: {warning}" for warning in result.warnings]
    found += [f"bibtex: {warning}" for warning in result.bibtex_warnings]
    if result.max_pages is not None and result.pages > result.max_pages:
        found.append(f"pages: the PDF has {result.pages} pages, more than {result.max_pages}")
    return found


def _run(command: list[str], folder: Path, env: dict[str, str], timeout: float,
         result: CompileResult) -> subprocess.CompletedProcess | None:
    start = time.monotonic()
    try:
        done = subprocess.run(command, check=False, cwd=folder, env=env,
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        result.runs.append((" ".join(command), -1, time.monotonic() - start))
        result.errors.append(f"{command[0]} did not finish in {timeout:g} s")
        return None
    result.runs.append((" ".join(command), done.returncode, time.monotonic() - start))
    return done


def _bibtex_errors(blg: str) -> list[str]:
    found = []
    lines = blg.splitlines()
    for number, line in enumerate(lines):
        if re.search(r"---line \d+ of file|^I couldn't|^I found no|^Sorry---", line):
            before = lines[number - 1].strip() if number and line.startswith("---") else ""
            found.append(" ".join(f"bibtex: {before} {line.strip()}".split()))
    return found


#: Warnings that only say the runs were not all done (the document stopped early).
_UNFINISHED = re.compile(r"undefined|[Rr]erun|may have changed|has changed")

_BASELINES: dict[str, CompileResult] = {}
_BASELINE_LOCKS: dict[str, threading.Lock] = {}
_BASELINE_GUARD = threading.Lock()
_TEMPORARY: list[tempfile.TemporaryDirectory] = []


def baseline(journal: str | Journal, *, timeout: float = 600) -> CompileResult:
    """The journal's preamble with one paragraph and no part, compiled once (cached).

    Its warnings (and text outside the text block) are the journal's own:
    :func:`compile_document` does not count them.
    """
    journal = _as_journal(journal)
    key = "\0".join([journal.name, journal.preamble, journal.front_matter,
                     *journal.texinputs, *journal.bstinputs])
    with _BASELINE_GUARD:
        lock = _BASELINE_LOCKS.setdefault(key, threading.Lock())
    with lock:
        if key not in _BASELINES:
            temporary = tempfile.TemporaryDirectory(prefix=f"journal-baseline-{journal.name}-")
            _TEMPORARY.append(temporary)  # removed when the interpreter exits
            _BASELINES[key] = compile_document(
                journal, BASELINE_BODY + "\n", folder=temporary.name, layout="baseline",
                subtract_baseline=False, timeout=timeout)
        return _BASELINES[key]


def unusable(journal: str | Journal) -> str | None:
    """Why ``journal`` cannot be used here (not installed, or its baseline fails), or None."""
    journal = _as_journal(journal)
    reason = journal.unavailable or missing_tools()
    if reason:
        return reason
    base = baseline(journal)
    if base.errors:
        missing = re.search(r"File `([^']+)' not found", "\n".join(base.errors))
        hint = (f" (find the Debian package that has {missing.group(1)} with "
                f"`apt-file search {missing.group(1)}`)" if missing else "")
        return (f"the {journal.name} template itself does not compile here{hint}: "
                + " | ".join(base.errors[0].splitlines()[:2]))
    return None


def compile_document(journal: str | Journal, body: str, files: Iterable[str | os.PathLike] = (),
                     folder: str | os.PathLike | None = None, *, layout: str = "",
                     subtract_baseline: bool = True, max_pages: int | None = None,
                     timeout: float = 600) -> CompileResult:
    """Compile the journal's preamble + ``body`` in ``folder`` (a new temporary one if None).

    ``files`` are copied into the folder first. Runs ``pdflatex``, ``bibtex`` (unless the
    ``.aux`` has no ``\\citation``) and ``pdflatex`` twice, and again (twice at most)
    while LaTeX asks for a rerun, as latexmk does, stopping at the first failure;
    the last log is the one analysed. ``max_pages``: more pages is a problem, and the later
    runs are skipped (they cannot remove pages). After a partial run (an error, or the page
    limit) the warnings that only say the runs were not all done (undefined references,
    requests to rerun) are left out; everything else is reported.
    """
    journal = _as_journal(journal)
    if journal.unavailable:
        raise RuntimeError(f"{journal.name} is not available: {journal.unavailable}")
    tools = missing_tools()
    if tools:
        raise RuntimeError(tools)
    folder = Path(folder) if folder is not None else Path(
        tempfile.mkdtemp(prefix=f"journal-{journal.name}-"))
    folder.mkdir(parents=True, exist_ok=True)
    for path in files:
        shutil.copyfile(path, folder / Path(path).name)
    tex = folder / f"{MAIN}.tex"
    tex.write_text(_document(journal, body + GEOMETRY_PROBE), encoding="utf-8")
    result = CompileResult(journal.name, layout, folder, tex, notes=list(journal.notes),
                           max_pages=max_pages)
    env = journal.environment()
    latex = ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape",
             tex.name]
    pdf = folder / f"{MAIN}.pdf"
    logs: list[str] = []

    def pdflatex(run: int) -> bool:
        pdf.unlink(missing_ok=True)
        done = _run(latex, folder, env, timeout, result)
        log_path = folder / f"{MAIN}.log"
        logs.append(log_path.read_text("utf-8", "replace") if log_path.exists() else "")
        if done is not None and done.returncode != 0:
            result.errors.append(f"pdflatex exited with status {done.returncode} (run {run})")
        return done is not None and done.returncode == 0

    def bibtex() -> bool:
        aux = folder / f"{MAIN}.aux"
        if not (aux.exists() and "\\citation{" in aux.read_text("utf-8", "replace")):
            return True
        done = _run(["bibtex", MAIN], folder, env, timeout, result)
        blg = folder / f"{MAIN}.blg"
        blg_text = blg.read_text("utf-8", "replace") if blg.exists() else ""
        result.bibtex_warnings = [line.strip() for line in blg_text.splitlines()
                                  if line.startswith("Warning--")]
        if done is not None and done.returncode >= 2:
            result.errors += _bibtex_errors(blg_text) or [f"bibtex: {blg_text.strip()[-300:]}"]
            result.errors.append(f"bibtex exited with status {done.returncode}")
            return False
        return done is not None

    finished = False
    if pdflatex(1):
        if max_pages is not None and pdf.exists() and _pages(pdf) > max_pages:
            pass
        elif bibtex() and pdflatex(2) and pdflatex(3):
            finished = True
            # As latexmk does: run again while LaTeX asks to (at most twice more), so
            # that a rerun notice left at the end is a real instability.
            for run in (4, 5):
                if not _RERUN.search(logs[-1]):
                    break
                finished = pdflatex(run)
                if not finished:
                    break

    result.log = logs[-1] if logs else ""
    parsed = parse_log(result.log)
    result.errors[:0] = parsed.errors
    result.overfull, result.small_overfull = parsed.overfull, parsed.small_overfull
    result.template_overfull = parsed.template_overfull
    result.underfull = parsed.underfull
    warnings = parsed.warnings
    if not finished:  # only errors, boxes and geometry mean something after a partial run
        warnings = [w for w in warnings if not _UNFINISHED.search(w)]
    base = baseline(journal, timeout=timeout) if subtract_baseline else None
    if base is not None:
        own = {_warning_key(w) for w in base.warnings}
        result.baseline_warnings = list(base.warnings)
        warnings = [w for w in warnings if _warning_key(w) not in own]
    result.warnings = warnings
    if pdf.exists():
        result.pdf = pdf
        result.pages = _pages(pdf)
        result.text = _stdout(["pdftotext", "-layout", str(pdf), "-"])
        result.reading_text = _stdout(["pdftotext", "-raw", str(pdf), "-"])
        block = text_block(result.log)
        if block is not None:
            outside = outside_text_block(pdf, block)
            if base is not None:
                own = {re.sub(r"^page \d+: ", "", line) for line in base.outside}
                outside = [line for line in outside if re.sub(r"^page \d+: ", "", line)
                           not in own]
            result.outside = outside
    elif not result.errors:
        result.errors.append("pdflatex wrote no PDF")
    return result


def _pages(pdf: Path) -> int:
    info = _stdout(["pdfinfo", str(pdf)])
    match = re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE)
    return int(match.group(1)) if match else 0


def report_files(report_dir: str | os.PathLike) -> list[Path]:
    """The files of a report folder that a paper uses: its ``.tex`` and ``.bib`` files."""
    return sorted(path for path in Path(report_dir).iterdir()
                  if path.is_file() and path.suffix in (".tex", ".bib"))


def compile_report(report_dir: str | os.PathLike, journal: str | Journal,
                   layout: str = "parts", folder: str | os.PathLike | None = None, *,
                   max_pages: int | None = None, timeout: float = 600) -> CompileResult:
    """Compile a report folder's parts in ``journal``'s document (see :func:`document_body`).

    The parts are copied into ``folder`` (a new temporary folder if None); the report
    folder is only read. Parts the folder lacks are left out.
    """
    report_dir = Path(report_dir)
    files = report_files(report_dir)
    names = {path.stem for path in files if path.suffix == ".tex"}
    if layout == "all" and "provenance" not in names:
        raise FileNotFoundError(f"{report_dir / 'provenance.tex'} does not exist")
    body = document_body(journal, [name for name in (*PARTS, "provenance") if name in names],
                         layout, bibliography=(report_dir / "provenance.bib").exists())
    return compile_document(journal, body, files, folder, layout=layout, max_pages=max_pages,
                            timeout=timeout)


def page_images(pdf: str | os.PathLike, folder: str | os.PathLike, dpi: int = 70) -> list[Path]:
    """Each page of ``pdf`` as a PNG in ``folder`` (``pdftoppm -png``), in page order."""
    pdf, folder = Path(pdf), Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    prefix = folder / pdf.stem
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), str(pdf), str(prefix)], check=True,
                   capture_output=True)
    pages = folder.glob(f"{_glob_escape(pdf.stem)}-*.png")
    return sorted(pages, key=lambda path: int(path.stem.rsplit("-", 1)[1]))


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def text_contains(text: str | CompileResult, phrase: str, *, anywhere: bool = False) -> bool:
    """Whether the PDF text has ``phrase``, wherever the lines break.

    A line break (and the line numbers of the AASTeX samples' ``linenumbers`` option) may
    stand for a space, or follow a hyphen or a slash; with ``anywhere``, also fall between
    any two characters (a table cell or a long name that breaks at ``\\allowbreak``). An
    underscore may be read as a space (OT1 fonts draw ``\\_`` as a rule). For a
    :class:`CompileResult`, both its layout and its content-order texts are searched.
    """
    if isinstance(text, CompileResult):
        return any(text_contains(t, phrase, anywhere=anywhere)
                   for t in (text.text, text.reading_text))
    gap = r"\s+(?:\d{1,5}\s+)*"
    pattern: list[str] = []
    for char in phrase:
        if char.isspace():
            if pattern and pattern[-1] != gap:
                pattern.append(gap)
            continue
        if pattern and pattern[-1] != gap and anywhere:
            pattern.append(f"(?:{gap})?")
        # OT1 fonts (AASTeX, article) draw \_ as a rule, which pdftotext reads as a space.
        pattern.append(r"(?:_|\s+)" if char == "_" else re.escape(char))
        if char in "-/" and not anywhere:
            pattern.append(f"(?:{gap})?")
    return re.search("".join(pattern), text) is not None


# --- Script -----------------------------------------------------------------------

STYLES = ("aastex", "mnras", "aa", "generic")


def detect_style(report_dir: str | os.PathLike) -> str | None:
    """The style a report folder was written in, from its parts (None: no LaTeX part).

    MNRAS's availability part has its own ``Data Availability`` heading, A&A's
    acknowledgement its ``acknowledgements`` environment, AASTeX uses ``\\dataset``,
    ``\\software`` and ``deluxetable``; anything else is ``generic``.
    """
    texts = [path.read_text("utf-8", "replace") for path in report_files(report_dir)
             if path.suffix == ".tex"]
    if not texts:
        return None
    text = "\n".join(texts)
    if "\\section*{Data Availability}" in text:
        return "mnras"
    if "\\begin{acknowledgements}" in text:
        return "aa"
    if re.search(r"\\dataset\[|\\software\{|deluxetable", text):
        return "aastex"
    return "generic"


def _folders_by_style(report_dir: Path, style: str | None) -> dict[str, Path]:
    """Which folder holds each style's parts: ``report_dir`` itself, or its subfolders
    named after the styles (``aastex/``, ``mnras/``, ``aa/``, ``generic/``)."""
    if style:
        return {style: report_dir}
    subfolders = {name: report_dir / name for name in STYLES
                  if (report_dir / name).is_dir() and report_files(report_dir / name)}
    if subfolders:
        return subfolders
    found = detect_style(report_dir)
    return {found: report_dir} if found else {}


def main(argv: Sequence[str] | None = None) -> int:
    """``python tests/journals.py REPORT_DIR OUT_DIR [--journal NAME]...``.

    ``REPORT_DIR`` is a report folder (its style is read from its parts, or given with
    ``--style``) or a folder with one report folder per style (``aastex/``, ``mnras/``,
    ``aa/``, ``generic/``). Each journal takes the parts of its own style; ``--journal``
    chooses journals (a journal named takes the folder's parts whatever their style).
    """
    parser = argparse.ArgumentParser(
        description="Compile a jwst-provenance report folder in the journals' templates, "
                    "copy the PDFs and page images to OUT_DIR/<journal>-<layout>/ and list "
                    "the problems.")
    parser.add_argument("report_dir", type=Path, metavar="REPORT_DIR")
    parser.add_argument("out_dir", type=Path, metavar="OUT_DIR")
    parser.add_argument("--journal", action="append", choices=JOURNAL_NAMES,
                        help="only this journal (repeatable; default: every available one "
                             "of the folder's style)")
    parser.add_argument("--layout", action="append", choices=LAYOUTS,
                        help="only this layout (repeatable; default: both)")
    parser.add_argument("--style", choices=STYLES,
                        help="the style REPORT_DIR was written in (default: read from it)")
    parser.add_argument("--dpi", type=int, default=70, help="of the page images (70)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="documents compiled at once (default: the CPUs)")
    args = parser.parse_args(argv)
    tools = missing_tools(TOOLS)
    if tools:
        print(f"journals: {tools}", file=sys.stderr)
        return 2
    if not args.report_dir.is_dir():
        print(f"journals: {args.report_dir} is not a folder", file=sys.stderr)
        return 2
    folders = _folders_by_style(args.report_dir, args.style)
    if not folders:
        print(f"journals: no .tex part in {args.report_dir}", file=sys.stderr)
        return 2
    print("parts: " + ", ".join(f"{style} from {folder}" for style, folder in folders.items()))
    jobs: list[tuple[Journal, str, Path]] = []
    for name in args.journal or JOURNAL_NAMES:
        chosen = journal(name)
        folder = folders.get(chosen.style)
        if folder is None and args.journal and len(folders) == 1:
            folder = next(iter(folders.values()))
        if folder is None:
            print(f"{chosen.name}: skipped: it takes {chosen.style} parts, and "
                  f"{args.report_dir} has {', '.join(folders)} parts (write a report per "
                  "style into subfolders named after the styles to compile every journal)")
            continue
        reason = unusable(chosen) if chosen.available else chosen.unavailable
        if reason:
            print(f"{chosen.name}: skipped: {reason}")
            continue
        for note in chosen.notes:
            print(f"note: {note}")
        for layout in args.layout or LAYOUTS:
            if layout == "all" and not (folder / "provenance.tex").exists():
                print(f"{chosen.name} all: skipped: {folder} has no provenance.tex")
                continue
            jobs.append((chosen, layout, folder))

    def one(job: tuple[Journal, str, Path]) -> CompileResult:
        chosen, layout, folder = job
        target = args.out_dir / f"{chosen.name}-{layout}"
        with tempfile.TemporaryDirectory(prefix=f"journal-{chosen.name}-{layout}-") as work:
            result = compile_report(folder, chosen, layout, work)
            if target.exists():
                shutil.rmtree(target)
            target.mkdir(parents=True)
            for path in (result.tex, Path(work) / f"{MAIN}.log"):
                if path.exists():
                    shutil.copyfile(path, target / path.name)
            if result.pdf:
                result.pdf = target / f"{chosen.name}-{layout}.pdf"
                shutil.copyfile(Path(work) / f"{MAIN}.pdf", result.pdf)
                page_images(result.pdf, target, args.dpi)
        result.folder, result.tex = target, target / result.tex.name
        return result

    failed = False
    with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
        for result in pool.map(one, jobs):
            found = problems(result)
            failed = failed or bool(found)
            print(f"{result.journal} {result.layout}: {result.pages} pages, "
                  f"{len(found)} problems, {result.underfull} underfull boxes "
                  f"({result.seconds:.1f} s) -> {result.folder}")
            for problem in found:
                print(f"    {problem}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
