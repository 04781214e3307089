"""Escape untrusted text for LaTeX and Markdown, once, where templates use it.

Header values (file names, TARGNAME, versions) are untrusted: whatever they hold
must print as itself and can never become a command or markup.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["escape_latex", "escape_latex_breakable", "escape_latex_typewriter",
           "escape_markdown", "latex_url", "markdown_code"]

# Characters LaTeX treats specially, and what prints them in any font encoding.
_LATEX = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&",
    "#": r"\#", "^": r"\textasciicircum{}", "_": r"\_", "~": r"\textasciitilde{}",
    "%": r"\%", "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}",
    '"': r"\textquotedbl{}", "\n": " ", "\r": " ", "\t": " ",
}
# Non-ASCII characters common in astronomy, as commands every LaTeX knows.
_LATEX_SYMBOLS = {
    "µ": r"\ensuremath{\mu}", "μ": r"\ensuremath{\mu}", "°": r"\ensuremath{^\circ}",
    "±": r"\ensuremath{\pm}", "×": r"\ensuremath{\times}", "Å": r"\AA{}", "å": r"\aa{}",
    "ß": r"\ss{}", "ø": r"\o{}", "Ø": r"\O{}", "æ": r"\ae{}", "Æ": r"\AE{}", "ł": r"\l{}",
    "Ł": r"\L{}", "–": "--", "—": "---", "‘": "`", "’": "'", "“": "``", "”": "''",
    "…": r"\ldots{}", "\u00a0": "~", "α": r"\ensuremath{\alpha}", "β": r"\ensuremath{\beta}",
    "λ": r"\ensuremath{\lambda}", "Δ": r"\ensuremath{\Delta}", "σ": r"\ensuremath{\sigma}",
}
# Combining accents (from Unicode decomposition) and the LaTeX accent commands for them.
_ACCENTS = {
    "\u0301": "'", "\u0300": "`", "\u0302": "^", "\u0303": "~", "\u0308": '"',
    "\u030a": "r", "\u0327": "c", "\u030c": "v", "\u0304": "=", "\u0306": "u",
    "\u0307": ".", "\u030b": "H", "\u0328": "k",
}


def escape_latex(value: object) -> str:
    """Text that LaTeX prints exactly as ``value`` reads, whatever it holds.

    >>> escape_latex("jw01345_nrca1_cal.fits & 50% of $x^2$ {}")
    'jw01345\\\\_nrca1\\\\_cal.fits \\\\& 50\\\\% of \\\\$x\\\\textasciicircum{}2\\\\$ \\\\{\\\\}'
    """
    text = "" if value is None else str(value)
    out = []
    for char in text:
        if char in _LATEX:
            out.append(_LATEX[char])
        elif char.isascii():
            out.append(char if char.isprintable() else " ")
        else:
            out.append(_latex_non_ascii(char))
    return "".join(out)


#: Characters after which a long value (a file name) may break across lines.
_BREAK_AFTER = frozenset("_-./+:,;=")
#: A run of this many characters with no break point gets one anyway.
_LONGEST_RUN = 16


# In typewriter type these print from the font itself: cmtt and lmtt have ASCII at
# these codes in OT1 and T1 alike, where \{ or \textless would borrow a symbol from
# another font (and warn that the typewriter shape is missing).
_TYPEWRITER = {"\\": "{\\char92}", "{": "{\\char123}", "}": "{\\char125}",
               "~": "{\\char126}", "^": "{\\char94}", "<": "{\\char60}", ">": "{\\char62}",
               "|": "{\\char124}", '"': "{\\char34}"}


def escape_latex_typewriter(value: object, *, breakable: bool = True) -> str:
    """:func:`escape_latex` for text set in typewriter type (inside ``\\texttt``), with
    places to break (see :func:`escape_latex_breakable`) unless ``breakable`` is false."""
    return _escape(value, breakable, _TYPEWRITER)


def escape_latex_breakable(value: object) -> str:
    """Like :func:`escape_latex`, with places to break a long value across lines:
    after ``_ - . / +`` and similar, and inside any run of 16 characters without one.
    For table cells that wrap (file names in a narrow column)."""
    return _escape(value, True, {})


def _escape(value: object, breakable: bool, special: dict[str, str]) -> str:
    text = "" if value is None else str(value)
    out = []
    run = 0
    for index, char in enumerate(text):
        out.append(special.get(char) or escape_latex(char))
        if not breakable:
            continue
        run += 1
        if index == len(text) - 1:
            break
        if char.isspace():
            run = 0
        elif char in _BREAK_AFTER or run >= _LONGEST_RUN:
            out.append(r"\allowbreak{}")
            run = 0
    return "".join(out)


def _latex_non_ascii(char: str) -> str:
    if char in _LATEX_SYMBOLS:
        return _LATEX_SYMBOLS[char]
    decomposed = unicodedata.normalize("NFD", char)
    base, marks = decomposed[0], decomposed[1:]
    if base.isascii() and base.isalpha() and marks and all(m in _ACCENTS for m in marks):
        text = base if base not in "ij" else "\\" + base  # dotless i/j under accents
        for mark in marks:
            text = f"\\{_ACCENTS[mark]}{{{text}}}"
        return text
    # Anything else prints as its code point: visible, never a command, always compiles.
    return f"[U+{ord(char):04X}]"


_DOI = re.compile(r"^10\.\d{4,9}/[A-Za-z0-9._;()/:-]+$")


def latex_url(value: object) -> str:
    """A URL or DOI for \\url, \\href and \\dataset: the characters they treat specially
    are escaped; a DOI was checked against its form before it came here."""
    text = "" if value is None else str(value)
    return text.replace("\\", "").replace("%", r"\%").replace("#", r"\#").replace(
        "{", "").replace("}", "")


# What can start emphasis, code, a link, HTML, a table cell, strikethrough or an
# entity anywhere in a line. Templates never put a value at the start of a line,
# where '#', '-' or '1.' would matter.
_MARKDOWN = re.compile(r"([\\`*_\[\]<>|~&])")


def escape_markdown(value: object) -> str:
    """Text that Markdown renders exactly as ``value`` reads (no emphasis, links, HTML)."""
    text = "" if value is None else str(value)
    return _MARKDOWN.sub(r"\\\1", text.replace("\r", " ").replace("\n", " "))


def markdown_code(value: object) -> str:
    """A Markdown code span that shows ``value`` exactly, whatever backticks it holds.

    The fence is one backtick longer than the longest run inside (CommonMark), and
    line breaks become spaces, so a value can never end the paragraph it is in.
    """
    text = ("" if value is None else str(value)).replace("\r", " ").replace("\n", " ")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    if text.startswith("`") or text.endswith("`") or (
            text.startswith(" ") and text.endswith(" ") and text.strip()):
        text = f" {text} "
    return f"{fence}{text}{fence}"
