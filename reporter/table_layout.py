"""Tables that fit the page whatever the journal and whatever the values.

When the text is written, the page it will be set on is unknown: AASTeX's
manuscript option, MNRAS's two columns, A&A and a plain ``article`` differ in text
width by half; header values (file names above all) can be any length. So a table
is laid out from its content: columns are set at their natural width when the whole
table surely fits (:data:`SAFE_EM`); otherwise one *flexible* column takes what the
others leave of ``\\textwidth`` (computed by TeX, so it fits any page) and wraps,
and any other column wider than its cap wraps at its cap. Long tables are cut into
floats of at most :data:`LINES_PER_FLOAT` estimated lines, so that no float is
taller than a page.

Widths are estimated in ems of the table's font, from upper bounds of character
widths; the escape filter (:func:`reporter.escape.escape_latex_breakable`) gives
wrapping columns the places where a value may break.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from .escape import latex_printed

__all__ = ["Column", "TableLayout", "fit_table"]

#: Widths of text characters in Computer Modern Roman 10 pt (cmr10.tfm), in em, 2%
#: added: measured, a table of them in \footnotesize (cmr8) is 2% narrower than this
#: estimate; Latin Modern is the same and Times narrower, so these are upper bounds.
#: Other characters count as an M.
_CMR10 = dict(zip(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,:;-_/()+#&%$'",
    (0.5, 0.556, 0.444, 0.556, 0.444, 0.306, 0.5, 0.556, 0.278, 0.306, 0.528, 0.278, 0.833,
     0.556, 0.5, 0.556, 0.528, 0.392, 0.394, 0.389, 0.556, 0.528, 0.722, 0.528, 0.528, 0.444,
     0.75, 0.708, 0.722, 0.764, 0.681, 0.653, 0.785, 0.75, 0.361, 0.514, 0.778, 0.625, 0.917,
     0.75, 0.778, 0.681, 0.778, 0.736, 0.556, 0.722, 0.75, 0.75, 1.028, 0.75, 0.75, 0.611,
     *(0.5,) * 10, 0.333, 0.278, 0.278, 0.278, 0.278, 0.333, 0.5, 0.5, 0.389, 0.389, 0.778,
     0.833, 0.75, 0.833, 0.5, 0.278), strict=True))
_TEXT_MARGIN = 1.02
_WIDEST = 1.028
#: Width of a typewriter character (cmtt, lmtt), in em.
CODE_EM = 0.525
#: Twice \tabcolsep in ems of the 8.5 pt table font: the space between columns. The
#: templates set \tabcolsep to 4 pt in their tables (AASTeX's own long tables use 3).
SEPARATION_EM = 1.0
#: The narrowest text width a style may be set in, in ems of its table font
#: (``article`` at 12 pt: 390 pt, \footnotesize 10 pt): natural widths must fit it.
SAFE_EM = 39.0
#: A flexible column is never planned narrower than this, nor any other that wraps
#: narrower than MIN_COLUMN_EM.
MIN_FLEX_EM = 12.0
MIN_COLUMN_EM = 4.0
#: Left free beside a flexible column, for the error of the other columns' estimates.
SLACK_EM = 1.0
#: Estimated lines of rows per float: a page of \footnotesize rows, less caption,
#: head and notes, in the shortest text height supported (about 600 pt).
LINES_PER_FLOAT = 40


@dataclass(frozen=True)
class Column:
    """One column: its head (LaTeX, as printed), what it holds, how wide it may get."""

    head: str
    kind: str = "text"      # "text", "code" (typewriter) or "number" (right-aligned)
    cap: float = 14.0       # widest natural width (em) before the column wraps
    #: A literal (a date, a CRDS context): it keeps its width, and wraps only if
    #: narrowing every other column is not enough.
    keep: bool = False

    def width(self, value: object) -> float:
        # What the cell prints: a character no font has prints as [U+6F22].
        text = latex_printed(value)
        if self.kind == "code":
            return len(text) * CODE_EM
        return _text_width(text)

    @property
    def head_width(self) -> float:
        # The head's printed characters: commands and braces take no room.
        return _text_width(re.sub(r"\\[A-Za-z]+|[{}\\]", "", self.head))


def _text_width(text: str) -> float:
    return sum(_CMR10.get(char, _WIDEST) for char in text) * _TEXT_MARGIN


@dataclass(frozen=True)
class TableLayout:
    """The tabular preamble, and the rows of each float.

    A column that wraps is an ``l`` column whose cells are ``\\parbox``-es of its
    width (``widths``), through the macros :attr:`definitions` defines: a ``p{}``
    column breaks AASTeX's deluxetable under its ``linenumbers`` option, a parbox
    does not.
    """

    spec: str
    chunks: tuple[tuple[tuple[object, ...], ...], ...]
    wraps: tuple[bool, ...]        # per column: its values may break across lines
    widths: tuple[str, ...] = ()   # per column: the TeX width of a wrapping one, else ""

    def macro(self, index: int) -> str:
        """The command that sets a cell of wrapping column ``index``."""
        return "\\jwstprovenancewrap" + "abcdefghijklmnopqrstuvwxyz"[index]

    @property
    def definitions(self) -> str:
        """TeX definitions of the wrapping columns' cell commands (local to the table)."""
        lines = [f"\\def{self.macro(i)}#1{{\\parbox[t]{{{width}}}{{\\raggedright#1\\strut}}}}"
                 for i, width in enumerate(self.widths) if width]
        if any("jwstprovenancemin" in width for width in self.widths):
            lines.insert(0, "\\def\\jwstprovenancemin#1#2{\\ifdim#1<#2 #1\\else#2\\fi}")
        return "\n".join(lines)


def fit_table(rows: Sequence[Sequence[object]], columns: Sequence[Column], *,
              flex: int = 0, width_em: float = SAFE_EM,
              lines_per_float: int = LINES_PER_FLOAT) -> TableLayout:
    """Lay out ``rows`` under ``columns`` for a text ``width_em`` wide (in ems of the
    table's font); ``flex`` is the column that takes what the others leave.

    Columns keep their natural width when the whole table fits. Otherwise the flexible
    column wraps: each other column is capped at its ``cap``, the widest are narrowed
    further until the
    flexible column has at least :data:`MIN_FLEX_EM`, and the flexible column is as
    wide as its content or as what ``\\textwidth`` leaves, whichever is less (TeX
    computes it, so the table fits any page at least ``width_em`` wide).
    """
    natural = [max([column.head_width, *(column.width(row[i]) for row in rows)])
               for i, column in enumerate(columns)]
    separation = SEPARATION_EM * len(columns)
    if sum(natural) + separation <= width_em:
        specs = ["r" if column.kind == "number" else "l" for column in columns]
        return TableLayout("".join(specs), _chunks(rows, columns, [None] * len(columns),
                                                   lines_per_float),
                           (False,) * len(columns), ("",) * len(columns))

    widths: list[float | None] = [None] * len(columns)  # planned widths of wrapping columns
    reserved = [0.0 if i == flex else natural[i] for i in range(len(columns))]
    # Caps apply only when the flexible column would otherwise have to wrap.
    if sum(reserved) + separation + natural[flex] > width_em:
        for i, column in enumerate(columns):
            if i != flex and natural[i] > column.cap and column.kind != "number" \
                    and not column.keep:
                widths[i] = reserved[i] = column.cap
    # Narrow the widest columns until the flexible one keeps its minimum; a column
    # never gets narrower than its head, which does not wrap.
    excess = sum(reserved) + separation + min(MIN_FLEX_EM, natural[flex]) - width_em
    for i in sorted(range(len(columns)), key=lambda i: (columns[i].keep, -reserved[i])):
        if excess <= 0:
            break
        if i == flex or columns[i].kind == "number":
            continue
        cut = min(excess, reserved[i] - max(MIN_COLUMN_EM, columns[i].head_width))
        if cut > 0:
            widths[i] = reserved[i] = reserved[i] - cut
            excess -= cut
    # What the other columns take, and an em to spare: their widths are estimates.
    total = math.ceil(sum(reserved) * 10) / 10 + SLACK_EM
    widest = math.ceil(natural[flex] * 10) / 10
    widths[flex] = min(widest, max(width_em - total - separation, MIN_FLEX_EM))
    tex = [""] * len(columns)
    for i, width in enumerate(widths):
        if width is not None and i != flex:
            tex[i] = f"{math.floor(width * 10) / 10:g}em"
    tex[flex] = (f"\\jwstprovenancemin{{\\dimexpr\\textwidth-{total:g}em-{2 * len(columns)}"
                 f"\\tabcolsep\\relax}}{{{widest:g}em}}")
    specs = ["l" if width is not None else ("r" if column.kind == "number" else "l")
             for width, column in zip(widths, columns, strict=True)]
    return TableLayout("".join(specs), _chunks(rows, columns, widths, lines_per_float),
                       tuple(width is not None for width in widths), tuple(tex))


def _chunks(rows: Sequence[Sequence[object]], columns: Sequence[Column],
            widths: Sequence[float | None], lines_per_float: int
            ) -> tuple[tuple[tuple[object, ...], ...], ...]:
    """Rows cut into floats of at most ``lines_per_float`` estimated lines."""
    chunks: list[tuple[tuple[object, ...], ...]] = []
    current: list[tuple[object, ...]] = []
    used = 0
    for row in rows:
        lines = max([1, *(math.ceil(columns[i].width(row[i]) / width)
                          for i, width in enumerate(widths) if width)])
        if current and used + lines > lines_per_float:
            chunks.append(tuple(current))
            current, used = [], 0
        current.append(tuple(row))
        used += lines
    if current or not chunks:
        chunks.append(tuple(current))
    return tuple(chunks)
