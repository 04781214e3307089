"""CSV cells that no spreadsheet or CSV parser can misread, and that read back exactly.

How a value is written (:func:`cell`):

- Every cell is quoted (RFC 4180: a quote inside is doubled), so a line break, a
  comma or a quote inside a value never splits a row. An absent value is the one
  cell left unquoted and empty; an empty text is ``""``.
- Text starting with ``=``, ``+``, ``-``, ``@``, TAB, CR or NUL, which a spreadsheet
  would run as a formula, gets a leading ``'`` (the OWASP advice for CSV injection),
  unless ``keep_formulas`` is asked for. Numbers (a negative one too) are written
  as they are.
- Text starting with ``'`` always gets one more, so that the reader can take off
  exactly the ``'`` the writer added, in either mode.
- Text holding a character that does not show as itself (a line break, TAB, CR,
  ESC or another control, a bidi or zero-width format character, U+2028) or a byte
  of a file name that is not UTF-8 (Python's surrogate escapes) is written as
  ``'%`` and then the text with each such character as ``%XX`` (a control, or a
  byte of the name: ``%0A``, ``%1B``, ``%FF``) or ``%uXXXX`` (``%u202E``; above
  U+FFFF ``%UXXXXXX``), and each ``%`` as ``%25``. So a file holds printable
  UTF-8 only: one line per row, nothing a terminal or a line-based tool acts on.

:func:`read_rows` and :func:`value` undo all of this: the value read is the value
written (as text; numbers come back as their text).

Only in a file this tool wrote: a CSV from elsewhere (a plain :mod:`csv` writer, a
hand-made table) may hold ``'%41BC`` or ``''quoted''`` as its own text, to be read
exactly as it is. :func:`written_here` tells the two apart by the header row, whose
every cell this writer quotes (``"path","size",...``) where other tools quote only
cells that need it. A file a spreadsheet saved again without those quotes is read
as a file from elsewhere. Even in the tool's own file, ``'%`` is undone only when
the text is what :func:`cell` would write: decoding gives a character that needs
the encoding, and encoding again gives the same text.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from typing import Any

from .terminal import hidden

__all__ = ["FORMULA_STARTS", "cell", "line", "read_rows", "value", "written_here"]

#: First characters that make a spreadsheet cell a formula (OWASP; NUL from ASVS 1.2.10).
FORMULA_STARTS = frozenset("=+-@\t\r\0")
_PREFIXED = FORMULA_STARTS | {"'"}
# Printable ASCII needs no look at each character.
_CANDIDATE = re.compile(r"[^\x20-\x7e]")
_PERCENT = re.compile(r"%(?:U([0-9A-F]{6})|u([0-9A-F]{4})|([0-9A-F]{2}))")


def _needs_encoding(text: str) -> bool:
    return _CANDIDATE.search(text) is not None and any(map(hidden, text))


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x20 or code == 0x7F or code == 0x25:
        return f"%{code:02X}"
    if 0xDC80 <= code <= 0xDCFF:  # a byte of a file name that is not UTF-8
        return f"%{code - 0xDC00:02X}"
    if not hidden(char):
        return char
    return f"%u{code:04X}" if code <= 0xFFFF else f"%U{code:06X}"


def _encode(text: str) -> str:
    return "'%" + "".join(map(_escape, text))


def _decode(text: str) -> str:
    def unescape(match: re.Match[str]) -> str:
        astral, wide, byte = match.groups()
        if astral or wide:
            return chr(int(astral or wide, 16))
        code = int(byte, 16)
        return chr(0xDC00 + code) if code >= 0x80 else chr(code)

    return _PERCENT.sub(unescape, text)


def cell(item: Any, keep_formulas: bool = False) -> str:
    """One value as a CSV cell (see the module's description)."""
    if item is None:
        return ""
    if isinstance(item, str):
        text = item
        if _needs_encoding(text):
            text = _encode(text)
        elif text[:1] == "'" or (not keep_formulas and text[:1] in FORMULA_STARTS):
            text = "'" + text
    else:  # a number or a truth value: nothing a spreadsheet runs
        text = str(item)
    return '"' + text.replace('"', '""') + '"'


def line(items: Iterable[Any], keep_formulas: bool = False) -> str:
    """One CSV line of cells, without its line end."""
    return ",".join(cell(item, keep_formulas) for item in items)


def value(text: str | None, ours: bool = True) -> str | None:
    """The value a cell read by :func:`read_rows` holds (``None``: absent).

    ``ours``: the file is this tool's (:func:`written_here`); any other file's cells
    are taken as they are.
    """
    if not ours or not text or text[0] != "'":
        return text
    if text[1:2] == "%":
        decoded = _decode(text[2:])
        if _needs_encoding(decoded) and _encode(decoded) == text:
            return decoded
        return text  # not what the writer makes of any text: the author's own
    if text[1:2] in _PREFIXED:
        return text[1:]
    return text  # a leading ' the writer did not add


# The header row as this writer makes it: every cell quoted.
_QUOTED_HEADER = re.compile(r'"[^"]*(?:""[^"]*)*"(?:,"[^"]*(?:""[^"]*)*")*(?:\r\n|\n|\r|\Z)')


def written_here(text: str) -> bool:
    """Whether a CSV text is this tool's: its header row has every cell quoted."""
    return _QUOTED_HEADER.match(text.lstrip("\ufeff")) is not None


# A quoted cell, or a plain one, and what ends it.
_CELL = re.compile(r'(?:"([^"]*(?:""[^"]*)*)"|([^,"\r\n]*))(,|\r\n|\n|\r|\Z)')


def read_rows(text: str) -> list[list[str | None]]:
    """The rows of a CSV text, each cell as written: ``None`` for an unquoted empty cell.

    The cells still hold the writer's prefixes: pass each through :func:`value`.
    A text that is not strict RFC 4180 (a quote inside an unquoted cell, as some
    hand-edited files have) is read by the :mod:`csv` module instead, and an empty
    cell is then absent.
    """
    try:
        return list(_strict_rows(text))
    except ValueError:
        return [[item if item != "" else None for item in row]
                for row in csv.reader(io.StringIO(text, newline=""))]


def _strict_rows(text: str) -> Iterator[list[str | None]]:
    position, end = 0, len(text)
    row: list[str | None] = []
    while position < end:
        match = _CELL.match(text, position)
        if match is None:
            raise ValueError(f"not RFC 4180 CSV at character {position}")
        quoted, plain, separator = match.groups()
        row.append(quoted.replace('""', '"') if quoted is not None else (plain or None))
        position = match.end()
        if separator != ",":
            yield row
            row = []
            if not separator:
                return
        elif position == end:  # a last empty cell after a final comma
            row.append(None)
    if row:
        yield row
