"""Escape untrusted text for LaTeX and Markdown, once, where templates use it.

Header values (file names, TARGNAME, versions) are untrusted: whatever they hold
must print as itself and can never become a command or markup.

Characters that would not show, or would act on the text around them, print as
their code point in brackets, ``[U+000A]``, in LaTeX and Markdown alike (and as the
report's other files print them, :func:`reporter.report.encodable_text`): ASCII
and C1 control characters (with TAB, CR and LF), DEL, format characters (bidi
embeddings, overrides and isolates, zero-width characters), the Unicode line and
paragraph separators, and lone surrogates (the bytes of a file name that are not
UTF-8). So no value can end a line, a paragraph, a table row or a code span, nor
reorder or hide text. :func:`visible_text` gives that form.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

__all__ = ["escape_latex", "escape_latex_breakable", "escape_latex_typewriter",
           "escape_markdown", "latex_printed", "latex_url", "markdown_code", "markdown_url",
           "visible_text"]

# Controls, format characters, lone surrogates, line and paragraph separators.
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def _hidden(char: str) -> bool:
    return unicodedata.category(char) in _HIDDEN


def _code_point(char: str) -> str:
    return f"[U+{ord(char):04X}]"


def visible_text(value: object) -> str:
    """``value`` with every control, format and separator character (see the module's
    doc) written as its code point, ``[U+000A]``: the text a reader sees of it.

    >>> visible_text("jwst_1241.pmap\\n<b>")
    'jwst_1241.pmap[U+000A]<b>'
    """
    text = "" if value is None else str(value)
    if text.isascii() and text.isprintable():
        return text
    return "".join(_code_point(char) if _hidden(char) else char for char in text)


# Characters LaTeX treats specially, and what prints them in any font encoding
# (\textquotedbl is T1's only: the straight quote is typewriter's, in OT1 too).
# Brackets and the star are braced: a value at the start of a table row follows \\,
# which would take "[1cm]" for a space to add (and loop forever on some) and "*"
# for its starred form; in braces they are only text, wherever they are.
_LATEX = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&",
    "#": r"\#", "^": r"\textasciicircum{}", "_": r"\_", "~": r"\textasciitilde{}",
    "%": r"\%", "<": r"\textless{}", ">": r"\textgreater{}", "|": r"\textbar{}",
    '"': r"{\ttfamily\char34}", "[": "{[}", "]": "{]}", "*": "{*}",
}
# Non-ASCII characters common in astronomy, as commands every LaTeX knows.
_LATEX_SYMBOLS = {
    "µ": r"\ensuremath{\mu}", "μ": r"\ensuremath{\mu}", "°": r"\ensuremath{^\circ}",
    "±": r"\ensuremath{\pm}", "×": r"\ensuremath{\times}", "Å": r"\AA{}", "å": r"\aa{}",
    "ß": r"\ss{}", "ø": r"\o{}", "Ø": r"\O{}", "æ": r"\ae{}", "Æ": r"\AE{}", "ł": r"\l{}",
    "Ł": r"\L{}", "–": "--", "—": "---", "‘": "`", "’": "'", "“": "``", "”": "''",
    "…": r"\ldots{}", "\u00a0": r"\nobreakspace{}", "α": r"\ensuremath{\alpha}",
    "β": r"\ensuremath{\beta}", "λ": r"\ensuremath{\lambda}", "Δ": r"\ensuremath{\Delta}",
    "σ": r"\ensuremath{\sigma}",
}
# Combining accents (from Unicode decomposition) and the LaTeX accent commands for them.
_ACCENTS = {
    "\u0301": "'", "\u0300": "`", "\u0302": "^", "\u0303": "~", "\u0308": '"',
    "\u030a": "r", "\u0327": "c", "\u030c": "v", "\u0304": "=", "\u0306": "u",
    "\u0307": ".", "\u030b": "H", "\u0328": "k",
}
# Pairs the text fonts set as one glyph (dashes, quotes, inverted marks, T1's
# guillemets and low quotes): two characters of a value that meet so stay two.
_LIGATURES = frozenset({"--", "``", "''", ",,", "!`", "?`", "<<", ">>"})


def escape_latex(value: object) -> str:
    """Text that LaTeX prints exactly as ``value`` reads, whatever it holds.

    >>> escape_latex("jw01345_nrca1_cal.fits & 50% of $x^2$ {}")
    'jw01345\\\\_nrca1\\\\_cal.fits \\\\& 50\\\\% of \\\\$x\\\\textasciicircum{}2\\\\$ \\\\{\\\\}'
    """
    return _escape(value, False, {})


def latex_printed(value: object) -> str:
    """The characters LaTeX prints for ``escape_latex(value)``, near enough to estimate
    widths: each character no LaTeX font has becomes its code point, ``[U+6F22]``."""
    text = "" if value is None else str(value)
    if text.isascii() and text.isprintable():
        return text
    return "".join(_code_point(char) if _latex_char(char, {}).startswith("{[}U+") else char
                   for char in text)


def _latex_char(char: str, special: dict[str, str]) -> str:
    """One character as LaTeX: ``special`` first (typewriter type), then TeX's specials,
    printable ASCII as itself, letters with accents as accent commands, and anything
    else as its code point."""
    found = special.get(char) or _LATEX.get(char)
    if found is not None:
        return found
    if char.isascii():
        return char if char.isprintable() else _latex_code_point(char)
    if _hidden(char):
        return _latex_code_point(char)
    return _latex_non_ascii(char)


def _latex_code_point(char: str) -> str:
    # The brackets braced, as every bracket: visible, never an optional argument.
    return "{[}" + f"U+{ord(char):04X}" + "{]}"


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
    out: list[str] = []
    run = 0
    for index, char in enumerate(text):
        piece = _latex_char(char, special)
        if out and out[-1][-1] + piece[0] in _LIGATURES:
            out.append("{}")
        out.append(piece)
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
    return _latex_code_point(char)


_DOI = re.compile(r"^10\.\d{4,9}/[A-Za-z0-9._;()/:-]+$")


def latex_url(value: object) -> str:
    """A URL or DOI for \\url, \\href and \\dataset: the characters they treat specially
    are escaped; a DOI was checked against its form before it came here."""
    text = "" if value is None else str(value)
    return text.replace("\\", "").replace("%", r"\%").replace("#", r"\#").replace(
        "{", "").replace("}", "")


# What can start emphasis, code, a link, an image, HTML, a table cell, strikethrough,
# an entity or (GitHub) mathematics anywhere in a line; '#' would close a heading
# at the end of one. Templates never put a value at the start of a line, where '-'
# or '1.' would matter.
_MARKDOWN = re.compile(r"([\\`*_\[\]<>|~&#$])")


def escape_markdown(value: object) -> str:
    """Text that Markdown renders exactly as ``value`` reads (:func:`visible_text`): no
    emphasis, link, HTML or line break; in a table cell too (``|`` is escaped)."""
    return _MARKDOWN.sub(r"\\\1", visible_text(value))


def markdown_code(value: object, *, cell: bool = False) -> str:
    """A Markdown code span that shows ``value`` exactly (:func:`visible_text`),
    whatever backticks it holds; ``cell``: for a table cell, where ``|`` ends the
    cell even inside a code span unless escaped (GFM).

    The fence is one backtick longer than the longest run inside (CommonMark); no
    line break is left, so a value can never end the paragraph it is in.
    """
    text = visible_text(value)
    if not text:
        return ""  # an empty code span does not exist: two backticks would print
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    if text.startswith("`") or text.endswith("`") or (
            text.startswith(" ") and text.endswith(" ") and text.strip()):
        text = f" {text} "
    if cell:
        text = text.replace("|", "\\|")
    return f"{fence}{text}{fence}"


def markdown_url(value: object) -> str:
    """A link target: everything but the characters of a URL percent-encoded, so that
    no parenthesis, space or angle bracket can end or change it (and hidden characters
    in their visible form, :func:`visible_text`: a lone surrogate has no UTF-8)."""
    return quote(visible_text(value), safe="/:;.,_-~?=&#%+@!$'*")
