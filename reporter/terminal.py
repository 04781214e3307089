"""Text for a terminal that shows every character and can never act.

Header values and file names are untrusted: an ESC sequence in a TARGNAME would
recolour, move the cursor, retitle the window or hide lines; a CR or a backspace
overwrites what was printed; bidi controls reorder a line. :func:`visible` writes
each such character as an escape instead (``\\x1b``, ``\\t``, ``\\u202e``), so the
text shows what it holds.

The command line applies it in one place, where text leaves the process
(:func:`visible_streams`): whatever any command prints goes through it.
"""

from __future__ import annotations

import contextlib
import re
import sys
import traceback
import unicodedata
from collections.abc import Iterator
from typing import Any, TextIO

__all__ = ["hidden", "raw_stream", "visible", "visible_excepthook", "visible_streams"]

# Anything but printable ASCII is a candidate; most of it (accents, µ) prints as itself.
_CANDIDATE = re.compile(r"[^\n\x20-\x7e]")
_CANDIDATE_OR_NEWLINE = re.compile(r"[^\x20-\x7e]")
_PRINTABLE_ASCII = bytes(range(0x20, 0x7f))
_NAMED = {"\t": "\\t", "\r": "\\r", "\n": "\\n"}
# Controls, format characters (bidi overrides, zero-width), lone surrogates (bytes of a
# file name that are not UTF-8) and the Unicode line and paragraph separators.
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def hidden(char: str) -> bool:
    """Whether a character does not show as itself: a control (line breaks included),
    a format character (bidi, zero-width), a lone surrogate or a line/paragraph separator."""
    return unicodedata.category(char) in _HIDDEN


def _show(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if code < 0x20:
        return f"\\x{code:02x}"
    if unicodedata.category(char) not in _HIDDEN:
        return char
    # JSON's own escapes: JSON text printed through here stays JSON for the same data.
    if code > 0xFFFF:
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def visible(text: str, *, newlines: bool = False) -> str:
    """``text`` with every control, format and separator character written as an escape.

    Newlines are kept unless ``newlines`` is true (for a value inside a line or a
    table cell). ASCII controls read as in Python (``\\t``, ``\\r``, ``\\x1b``); the
    others as JSON escapes (``\\u0085``, ``\\u202e``, ``\\udcff``), so JSON output
    passed through stays valid and means the same.

    >>> visible("red\\x1b[31m\\ttab\\u202e")
    'red\\\\x1b[31m\\\\ttab\\\\u202e'
    """
    if text.isascii():  # the usual case: a C-speed test instead of a regex search
        leftover = text.encode("ascii").translate(None, _PRINTABLE_ASCII)
        if not leftover or (not newlines and not leftover.strip(b"\n")):
            return text
    pattern = _CANDIDATE_OR_NEWLINE if newlines else _CANDIDATE
    if pattern.search(text) is None:
        return text
    return pattern.sub(_show, text)


class _VisibleStream:
    """A text stream that writes what it is given through :func:`visible`.

    It has no ``buffer`` and no ``detach``: click, seeing an ASCII stream, would
    otherwise write to the bytes underneath and so past :func:`visible`.
    """

    _HIDDEN_ATTRIBUTES = frozenset({"buffer", "detach"})

    def __init__(self, stream: TextIO):
        self.raw = stream

    def write(self, text: str) -> int:
        if not isinstance(text, str):  # click probes for binary streams with b""
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self.raw.write(self._encodable(visible(text)))
        return len(text)

    def _encodable(self, text: str) -> str:
        # A character the stream cannot encode (é on an ASCII terminal) is written as
        # an escape rather than stopping the command with UnicodeEncodeError.
        encoding = getattr(self.raw, "encoding", None)
        if not encoding or text.isascii():
            return text
        try:
            text.encode(encoding, getattr(self.raw, "errors", None) or "strict")
        except (UnicodeEncodeError, LookupError):
            return text.encode(encoding, "backslashreplace").decode(encoding)
        return text

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self.raw.flush()

    def isatty(self) -> bool:
        return self.raw.isatty()

    def __getattr__(self, name: str) -> Any:  # encoding, errors, fileno, ...
        if name in self._HIDDEN_ATTRIBUTES:
            raise AttributeError(name)
        return getattr(self.raw, name)


def visible_excepthook(kind: type[BaseException], error: BaseException, trace: Any) -> None:
    """A :data:`sys.excepthook` printing the traceback through :func:`visible`: an
    uncaught error's message may quote a header value or a file name."""
    text = "".join(traceback.format_exception(kind, error, trace))
    stream = raw_stream(sys.stderr)
    stream.write(_VisibleStream(stream)._encodable(visible(text)))
    stream.flush()


def raw_stream(stream: TextIO) -> TextIO:
    """The stream under a :func:`visible_streams` wrapper (for the tool's own control
    output: a progress line, colours around trusted text, exact data on a pipe)."""
    return stream.raw if isinstance(stream, _VisibleStream) else stream


@contextlib.contextmanager
def visible_streams() -> Iterator[None]:
    """Within the block, everything written to stdout and stderr goes through :func:`visible`."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = (_VisibleStream(stream) if not isinstance(stream, _VisibleStream)
                              else stream for stream in saved)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
