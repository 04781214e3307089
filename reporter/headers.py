"""Read the provenance keywords of a FITS file's primary header, and nothing else.

The reader takes 2880-byte blocks from the start of the file until the block that
holds the ``END`` card (``END`` and 77 blanks, as the standard has it and as astropy
reads files: a card such as ``END     x`` is an ordinary card). It never looks at
data, so the cost of a file does not grow with its size. Gzip files (recognised by
their magic bytes, whatever their name) are decompressed as a stream, member after
member (``cat a.gz b.gz``, bgzip), and only as far as ``END``. Only regular files
are opened for reading: a FIFO, socket or device named ``*.fits`` is a record with
the code ``not-regular``, never a read that waits forever.

Paths are whatever :func:`os.open` takes; a name whose bytes are not UTF-8 is the
``str`` Python gives for it (:func:`os.fsdecode`, with surrogate escapes), and the
record keeps that ``str``.

Cards are parsed here rather than by :mod:`astropy.io.fits` because the scan's hot
path must not pay astropy's import and per-card costs: a primary header has hundreds
of cards and a dataset thousands of files. Keywords and values follow astropy's
reading rules: keywords are upper-cased, ``=`` may come before column 9, ``HIERARCH``
cards name keywords, the first card of a keyword counts; strings lose trailing
blanks, ``''`` becomes ``'``, long strings continued with ``CONTINUE`` cards are
joined; a number is a number only in the FITS grammar (``1.0 E 5`` is one, ``nan``,
``Infinity`` and ``1_000`` are not). A value astropy cannot read, or that the
outputs cannot hold (a complex number), is kept as its text and the record says
which card it was (code ``bad-value``). The tests compare every extracted keyword
with :mod:`astropy.io.fits` on real and mutated headers.
"""

from __future__ import annotations

import functools
import os
import re
import stat
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

__all__ = [
    "BLOCK_SIZE",
    "CORE_KEYWORDS",
    "MAX_HEADER_BYTES",
    "HeaderError",
    "HeaderValues",
    "header_from_reads",
    "not_regular_message",
    "parse_header",
    "read_header_bytes",
    "read_provenance",
]

BLOCK_SIZE = 2880
CARD_SIZE = 80
# astropy reads a header of any length; a bound is still needed so that a file
# with no END card is not read to its end. JWST primary headers are under 100 KB.
MAX_HEADER_BYTES = 64 * 1024 * 1024
# Read several blocks per system call: a JWST primary header spans 8-15 blocks.
_READ_SIZE = 16 * BLOCK_SIZE
_GZIP_INPUT_CHUNK = 16 * 1024
# Decompress in small steps so little is inflated past the END card.
_GZIP_OUTPUT_STEP = 4 * BLOCK_SIZE

#: Keywords extracted from every primary header, in the order they are reported.
#: Every ``R_*`` (reference file) and ``S_*`` (step status) keyword is extracted too.
CORE_KEYWORDS: tuple[str, ...] = (
    "CAL_VER", "CAL_VCS", "CRDS_CTX", "CRDS_VER", "SDP_VER", "DATE", "FILENAME",
    "TELESCOP", "INSTRUME", "DETECTOR", "EXP_TYPE", "READPATT", "SUBARRAY",
    "FILTER", "PUPIL", "GRATING", "FXD_SLIT", "CHANNEL", "BAND", "TSOVISIT", "PROGRAM",
    "OBSERVTN", "VISIT", "OBS_ID", "TARGPROP", "TARGNAME", "DATE-OBS",
    "ASNTABLE", "ASNPOOL", "DATASUM", "CHECKSUM",
)
_CORE_SET = frozenset(CORE_KEYWORDS)
_CORE_FIELDS = frozenset(keyword.ljust(8) for keyword in CORE_KEYWORDS)
# Columns 1-10 of every 80-character card: the keyword field and the value indicator.
_KEY_FIELDS = re.compile(r"(.{10}).{70}", re.DOTALL)

_END_CARD = b"END" + b" " * 77
_SIMPLE_TRUE = re.compile(rb"SIMPLE  = +T")
# Cards with these keywords have no value (astropy's commentary and special cards).
_NO_VALUE = frozenset({"", "COMMENT", "HISTORY", "END", "CONTINUE"})
_HIERARCH = "HIERARCH"


class HeaderError(Exception):
    """A file whose primary header cannot be read (or a card of it, as a problem).

    ``code`` is a short stable identifier (``missing``, ``permission``, ``empty``,
    ``not-fits``, ``not-regular``, ``truncated``, ``no-end``, ``bad-gzip``,
    ``non-ascii``, ``bad-value``, ``unreadable``); the message says what was
    found, in words.
    """

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class HeaderValues:
    """The provenance keywords found in one primary header.

    Each group is a pair of aligned tuples (keywords, values) in header order;
    a keyword that is not in the header is simply not there.
    """

    core: tuple[tuple[str, ...], tuple[Any, ...]]
    reference_files: tuple[tuple[str, ...], tuple[Any, ...]]
    step_status: tuple[tuple[str, ...], tuple[Any, ...]]
    #: Set when the header had bytes outside printable ASCII (replaced by U+FFFD),
    #: code ``non-ascii``, or a value that is kept as its text, code ``bad-value``;
    #: the message names the card.
    problem: HeaderError | None = None


def read_provenance(path: str | bytes | os.PathLike[str]) -> tuple[HeaderValues, int]:
    """Read one file's primary header and return its provenance keywords and file size.

    Raises
    ------
    HeaderError
        When the header cannot be read at all (the file is missing, empty, not a
        regular file, not FITS, truncated, has no ``END`` card, or is broken gzip).
    """
    raw, size = read_header_bytes(path)
    return parse_header(raw), size


def not_regular_message(mode: int) -> str:
    """What a file of this ``st_mode`` is, when it is not a regular file."""
    for test, what in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISDIR, "a directory")):
        if test(mode):
            return f"is {what}, not a regular file"
    return "is not a regular file"


# O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer. O_NOCTTY:
# a terminal named on the command line must not become the scan's terminal.
_OPEN_FLAGS = (os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_NONBLOCK", 0)
               | getattr(os, "O_NOCTTY", 0))


def read_header_bytes(path: str | bytes | os.PathLike[str]) -> tuple[bytes, int]:
    """Return the bytes of the primary header (up to, not including, ``END``) and the file size."""
    # os-level calls: a file object per file costs more than the read itself.
    try:
        descriptor = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        raise HeaderError("missing", "no such file") from None
    except PermissionError:
        raise HeaderError("permission", "permission denied") from None
    except OSError as exc:
        raise _open_failure(path, exc) from None
    try:
        # fstat of what was opened: a name swapped for a FIFO after a check is still caught.
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            if stat.S_ISDIR(info.st_mode):
                raise HeaderError("unreadable", "is a directory, not a file")
            raise HeaderError("not-regular", not_regular_message(info.st_mode))
        first = os.read(descriptor, _READ_SIZE)
        if not first:
            raise HeaderError("empty", "empty file (0 bytes)")
        return header_from_reads(first, functools.partial(os.read, descriptor)), info.st_size
    except IsADirectoryError:
        raise HeaderError("unreadable", "is a directory, not a file") from None
    except OSError as exc:
        raise HeaderError("unreadable", f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(descriptor)


def _open_failure(path: str | bytes | os.PathLike[str], exc: OSError) -> HeaderError:
    # A socket cannot be opened at all (ENXIO): say what it is rather than why open failed.
    try:
        mode = os.stat(path).st_mode
    except OSError:
        mode = stat.S_IFREG
    if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
        return HeaderError("not-regular", not_regular_message(mode))
    return HeaderError("unreadable", f"cannot open: {exc.strerror or exc}")


def _check_fits_start(buffer: bytes | bytearray) -> None:
    if len(buffer) >= 30 and _SIMPLE_TRUE.match(buffer, 0, 30):
        return
    start = bytes(buffer[:CARD_SIZE]).split(b"\0", 1)[0]
    shown = start.decode("ascii", "replace").rstrip()
    if len(shown) > 40:
        shown = shown[:40] + "..."
    raise HeaderError(
        "not-fits",
        f"not a FITS file: it starts with {shown!r} instead of 'SIMPLE  =  T'",
    )


def _find_end(buffer: bytes | bytearray, start: int) -> int:
    """Offset of the END card at or after ``start`` (a card boundary), or -1."""
    # bytes.find crawls over blank-padded cards; looking only at the first byte
    # of each card (an extended slice, done in C) is several times faster.
    firsts = buffer[start::CARD_SIZE]
    index = firsts.find(b"E")
    while index != -1:
        position = start + index * CARD_SIZE
        if buffer[position:position + CARD_SIZE] == _END_CARD:
            return position
        index = firsts.find(b"E", index + 1)
    return -1


def _end_like(buffer: bytes | bytearray) -> str:
    """A clause naming the first card that starts like END but is not the END card."""
    firsts = buffer[::CARD_SIZE]
    index = firsts.find(b"E")
    while index != -1:
        card = bytes(buffer[index * CARD_SIZE:(index + 1) * CARD_SIZE])
        # astropy's rule for a damaged END card: END, then no keyword character.
        if card[:3] == b"END" and not re.match(rb"[A-Z0-9_-]", card[3:4]):
            shown = card.decode("ascii", "replace").rstrip()
            return (f" (card {index + 1}, {shown[:40]!r}, starts with END but is not "
                    "END followed by blanks only)")
        index = firsts.find(b"E", index + 1)
    return ""


def header_from_reads(first: bytes, read: Callable[[int], bytes]) -> bytes:
    """The primary header's bytes, from a first chunk of the file and ``read(size)``
    for what follows (``b""`` at the end): a local file or ranged requests alike."""
    if first[:2] == b"\x1f\x8b":
        return _collect_header(_gunzip_chunks(read, first), "decompressed file")
    end = _find_end(first, 0) if _SIMPLE_TRUE.match(first, 0, 30) else -1
    if end != -1:  # the usual case: the whole header came in the first read
        return first[:end]
    return _collect_header(_plain_chunks(read, first), "file")


def _plain_chunks(read: Callable[[int], bytes], first: bytes) -> Iterator[bytes]:
    chunk = first
    while chunk:
        yield chunk
        chunk = read(_READ_SIZE)


def _gunzip_chunks(read: Callable[[int], bytes], first: bytes) -> Iterator[bytes]:
    """Decompressed bytes, in small steps, so little is inflated past END.

    A gzip file may hold several members one after another (``cat a.gz b.gz``,
    bgzip, ``pigz -i``): it decompresses to their concatenation, as gzip and
    astropy read it, so the header may span members.
    """
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    pending = first
    try:
        while True:
            yield decompressor.decompress(pending, _GZIP_OUTPUT_STEP)
            if decompressor.eof:
                pending = decompressor.unused_data or read(_GZIP_INPUT_CHUNK)
                if not pending:
                    return
                decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
                continue
            pending = decompressor.unconsumed_tail or read(_GZIP_INPUT_CHUNK)
            if not pending:
                raise HeaderError("bad-gzip", "broken gzip: the compressed stream ends "
                                              "before the primary header's END card")
    except zlib.error as exc:
        raise HeaderError("bad-gzip", f"broken gzip: {exc}") from None


def _collect_header(chunks: Iterator[bytes], what: str) -> bytes:
    """Gather chunks until the END card; say precisely what is wrong when there is none."""
    buffer = bytearray()
    searched = 0
    checked_start = False
    for chunk in chunks:
        buffer += chunk
        if not checked_start and len(buffer) >= CARD_SIZE:
            _check_fits_start(buffer)
            checked_start = True
        end = _find_end(buffer, searched)
        if end != -1:
            return bytes(buffer[:end])
        # Resume the search at the last whole card already searched.
        searched = len(buffer) - len(buffer) % CARD_SIZE
        if len(buffer) >= MAX_HEADER_BYTES:
            raise HeaderError(
                "no-end",
                f"no END card in the first {MAX_HEADER_BYTES // (1024 * 1024)} MiB "
                f"({MAX_HEADER_BYTES // 1024} KiB) of the {what}, the most the reader "
                f"takes for a primary header{_end_like(buffer)}: not a valid FITS "
                "primary header")
    if not buffer:
        raise HeaderError("empty", f"empty {what} (0 bytes)")
    _check_fits_start(buffer)
    if len(buffer) % BLOCK_SIZE:
        raise HeaderError("truncated", f"truncated: the {what} ends after {len(buffer)} bytes, "
                                       "in the middle of a 2880-byte block, before the "
                                       "primary header's END card")
    raise HeaderError("no-end", f"no END card: the {what} ends after {len(buffer)} bytes "
                                f"of header cards{_end_like(buffer)}")


def parse_header(raw: bytes) -> HeaderValues:
    """Extract the provenance keywords from primary-header bytes (cards before ``END``)."""
    problems: list[HeaderError] = []
    if raw.isascii():
        text = raw.decode("ascii")
    else:
        text = raw.decode("ascii", "replace")
        problems.append(_non_ascii_problem(raw))
    layout = _layout_of(text)
    if layout.unusual:
        return _parse_unusual(text, problems)
    # Most core cards (CAL_VER, CRDS_CTX, INSTRUME, ...) repeat across files: look
    # their text up first; parse only the new ones (and CONTINUE'd ones, never cached).
    cached = _CARD_VALUES.get
    core_values = [cached(text[start:start + CARD_SIZE], _MISSING)
                   for start in layout.core_starts]
    if _MISSING in core_values:
        for position, card in enumerate(layout.core_cards):
            if core_values[position] is _MISSING:
                core_values[position] = _new_card_value(text, card, problems)
    chunks = tuple([run.chunk(text) for run in layout.runs])
    references, steps = layout.split_runs(text, chunks, problems)
    return HeaderValues(
        (layout.core_keys, tuple(core_values)),
        (layout.reference_keys, references),
        (layout.step_keys, steps),
        _one_problem(problems),
    )


# Headers written by one pipeline for one kind of product share a layout: the
# same keywords in the same order. Learning where the provenance cards sit once
# per layout, and caching the parsed values of the R_*/S_* runs (identical in
# every file of one configuration), keeps a header's cost to a few dictionary
# look-ups and the handful of values that differ from file to file.
#
# Every cache is keyed by card text, never by parsed values: 1, 1.0 and True are
# equal (and hash alike) in Python, and so are 0.0 and -0.0, so a value key would
# hand one file's value to another file whose card differs only in type.
_MAX_LAYOUTS = 1024
_MAX_RUNS_CACHED = 256
# Columns 1-10 of every card: the keyword field and the value indicator.
_SIGNATURE_COLUMNS = range(10)


@dataclass(frozen=True, slots=True)
class _Card:
    """An extracted card: its number, keyword, where its value starts, whether CONTINUE follows."""

    index: int
    keyword: str
    value_at: int  # column of the value (after the value indicator), 10 for most cards
    continued: bool


class _Run:
    """Consecutive R_*/S_* cards, parsed once per distinct text."""

    __slots__ = ("cache", "cards", "start", "stop")

    def __init__(self, cards: list[_Card]):
        self.cards = tuple(cards)
        self.start = cards[0].index * CARD_SIZE
        self.stop = (cards[-1].index + 1) * CARD_SIZE
        self.cache: dict[str, tuple[Any, ...]] = {}

    def chunk(self, text: str) -> str:
        if self.cards[-1].continued:  # a long value: its text runs past the run
            return text[self.start:_continued_stop(text, self.stop)]
        return text[self.start:self.stop]

    def values(self, text: str, chunk: str, problems: list[HeaderError]) -> tuple[Any, ...]:
        cached = self.cache.get(chunk)
        if cached is None:
            found: list[HeaderError] = []
            cached = tuple([_card_value(text, card, found) for card in self.cards])
            if found:  # never cached: every file with this card must say so
                problems.extend(found)
                return cached
            if len(self.cache) >= _MAX_RUNS_CACHED:
                self.cache.clear()
            self.cache[chunk] = cached
        return cached


def _continued_stop(text: str, position: int) -> int:
    while text.startswith("CONTINUE", position):
        position += CARD_SIZE
    return position


def _keyword_of(field: str) -> tuple[str, int] | str | None:
    """astropy's keyword for a card from its first ten columns, with the column its
    value starts at; ``"HIERARCH"`` for a HIERARCH card; None for a card without
    a value (commentary, blank, or no value indicator)."""
    upper = field[:8].strip().upper()
    if upper in _NO_VALUE:
        return None
    if upper == _HIERARCH and field[8:9] == " ":
        return _HIERARCH
    # astropy takes "= " anywhere in the first ten columns as the value indicator.
    at = field.find("= ")
    if at < 0 or at > 8:
        return None
    return (upper[:at] if at < 8 else upper).strip(), at + 2


def _extracted(keyword: str) -> bool:
    return keyword in _CORE_SET or keyword[:2] in ("R_", "S_")


class _Layout:
    """Where the provenance cards are in headers with one sequence of keywords."""

    __slots__ = (
        "_split",
        "core_cards",
        "core_keys",
        "core_starts",
        "reference_keys",
        "reference_picks",
        "runs",
        "step_keys",
        "step_picks",
        "unusual",
    )

    def __init__(self, text: str):
        fields = _KEY_FIELDS.findall(text)
        last = len(fields) - 1
        core: list[_Card] = []
        runs: list[_Card] = []
        seen: set[str] = set()
        # HIERARCH cards name their keyword past column 10, and a keyword given twice
        # may be decided by its value (astropy's record-valued cards): such headers
        # are read card by card (_parse_unusual), never from a learnt layout.
        self.unusual = False
        for index, field in enumerate(fields):
            if field[8:10] == "= " and field[:8] in _CORE_FIELDS:  # the usual card
                found: tuple[str, int] | str | None = (field[:8].rstrip(), 10)
            else:
                found = _keyword_of(field)
            if found is None:
                continue
            if found == _HIERARCH:
                self.unusual = True
                continue
            keyword, value_at = found
            if not _extracted(keyword):
                continue
            if keyword in seen:
                self.unusual = True
                continue
            seen.add(keyword)
            card = _Card(index, keyword, value_at,
                         index < last and fields[index + 1][:8] == "CONTINUE")
            (core if keyword in _CORE_SET else runs).append(card)
        self.core_keys = tuple(card.keyword for card in core)
        self.core_cards = tuple(core)
        # A continued card is never in the value cache: its text is not the whole value.
        self.core_starts = tuple(-1 if card.continued else card.index * CARD_SIZE
                                 for card in core)
        self.runs: list[_Run] = []
        pending: list[_Card] = []
        for card in runs:
            if pending and (pending[-1].continued or card.index != pending[-1].index + 1):
                self.runs.append(_Run(pending))
                pending = []
            pending.append(card)
        if pending:
            self.runs.append(_Run(pending))
        self.reference_keys = tuple(card.keyword for card in runs if card.keyword[0] == "R")
        self.step_keys = tuple(card.keyword for card in runs if card.keyword[0] == "S")
        self.reference_picks = tuple(i for i, card in enumerate(runs) if card.keyword[0] == "R")
        self.step_picks = tuple(i for i, card in enumerate(runs) if card.keyword[0] == "S")
        self._split: dict[tuple[str, ...], tuple[tuple[Any, ...], tuple[Any, ...]]] = {}

    def split_runs(self, text: str, chunks: tuple[str, ...],
                   problems: list[HeaderError]) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """The R_* and S_* values, one shared pair per distinct text of the runs."""
        split = self._split.get(chunks)
        if split is None:
            found: list[HeaderError] = []
            values = [value for run, chunk in zip(self.runs, chunks)
                      for value in run.values(text, chunk, found)]
            split = (tuple([values[i] for i in self.reference_picks]),
                     tuple([values[i] for i in self.step_picks]))
            if found:
                problems.extend(found)
                return split
            if len(self._split) >= _MAX_RUNS_CACHED:
                self._split.clear()
            self._split[chunks] = split
        return split


_LAYOUTS: dict[str, _Layout] = {}


def _layout_of(text: str) -> _Layout:
    # Equal signatures mean equal first ten columns in every card (extended slices
    # take one column of every card, in C): the same keywords in the same places.
    signature = "".join([text[column::CARD_SIZE] for column in _SIGNATURE_COLUMNS])
    layout = _LAYOUTS.get(signature)
    if layout is None:
        layout = _Layout(text)
        if len(_LAYOUTS) >= _MAX_LAYOUTS:
            _LAYOUTS.clear()
        _LAYOUTS[signature] = layout
    return layout


_CARD_VALUES: dict[str, Any] = {}
_MAX_CARD_VALUES = 4096
_MISSING = object()


def _new_card_value(text: str, card: _Card, problems: list[HeaderError]) -> Any:
    found: list[HeaderError] = []
    value = _card_value(text, card, found)
    if found:
        problems.extend(found)
    elif not card.continued:
        if len(_CARD_VALUES) >= _MAX_CARD_VALUES:
            _CARD_VALUES.clear()
        _CARD_VALUES[text[card.index * CARD_SIZE:(card.index + 1) * CARD_SIZE]] = value
    return value


def _one_problem(problems: list[HeaderError]) -> HeaderError | None:
    """The record has room for one problem: the first one's code, every card named."""
    if len(problems) <= 1:
        return problems[0] if problems else None
    shown = [problem.message for problem in problems[:8]]
    if len(problems) > 8:
        shown.append(f"and {len(problems) - 8} more cards")
    return HeaderError(problems[0].code, "; ".join(shown))


def _non_ascii_problem(raw: bytes) -> HeaderError:
    for start in range(0, len(raw), CARD_SIZE):
        card = raw[start:start + CARD_SIZE]
        if not card.isascii():
            keyword = card[:8].decode("ascii", "replace").rstrip()
            return HeaderError(
                "non-ascii",
                f"non-ASCII bytes in header card {start // CARD_SIZE + 1} "
                f"({keyword or 'blank keyword'}); FITS headers must be ASCII, "
                "the bytes were read as U+FFFD",
            )
    raise AssertionError("non-ASCII header without a non-ASCII card")


# --- values, by astropy's grammar (astropy.io.fits.card) ---------------------------
# astropy's strings hold printable ASCII only; here any character is taken, so that a
# control character in a value is kept as text (the outputs make it inert).
_DIGITS = r"(?:\.\d+|\d+(?:\.\d*)?) *(?:[deDE] *[+-]? *\d+)?"
_NUMBER = r"[+-]? *" + _DIGITS
_STRING = r"'(?P<strg>(?:.+?|''|) *?)'(?=$|/| )"
_VALUE = re.compile(
    r" *(?:(?P<value>" + _STRING + r"|(?P<bool>[FT])|(?P<numr>" + _NUMBER + r")|"
    r"(?P<cplx>\( *" + _NUMBER + r" *, *" + _NUMBER + r" *\)))? *)"
    r"(?P<comm_field>/ *(?P<comm>.*))?$", re.DOTALL)
# The standard's rule: a string ends at a quote that is not doubled.
_STANDARD_STRING = re.compile(r"'((?:[^']|'')*)' *(?:/.*)?$", re.DOTALL)
_NUMBER_PARTS = re.compile(r"(?P<sign>[+-])? *0*?(?P<digt>" + _DIGITS + r")")
_EXPONENT = str.maketrans({"d": "e", "D": "E", " ": None})
# A record-valued keyword card ('AXIS.1: 2'): astropy gives its raw text.
_FIELD = r"[a-zA-Z_]\w*(?:\.\d+)?"
_RECORD_VALUE = re.compile(r" *'(?P<rawval>" + _FIELD + r"(?:\." + _FIELD + r")*: +[+-]?"
                           r"(?:\.\d+|\d+(?:\.\d*)?)(?:[DE][+-]?\d+)?)' *(?:/ *[ -~]*)?$")


def _card_value(text: str, card: _Card, problems: list[HeaderError]) -> Any:
    start = card.index * CARD_SIZE
    if card.continued:
        stop = _continued_stop(text, start + CARD_SIZE)
        return _long_value(text[start:stop], card, problems)
    field = text[start + card.value_at:start + CARD_SIZE]
    value = _plain_string(field)
    if value is not None:
        return value
    return _value(field.strip(), card, problems)


def _plain_string(field: str) -> str | None:
    """A quoted string with no quote inside, then blanks or a comment: the usual
    value, read without the regular expression; None for anything else."""
    value = field.lstrip()
    if value[:1] != "'":
        return None
    close = value.find("'", 1)
    # An empty string ('') is astropy's last choice: a later quote may end the value.
    if close < 0 or (close == 1 and "'" in value[2:]):
        return None
    rest = value[close + 1:].rstrip().lstrip(" ")
    if rest and rest[0] != "/":
        return None
    return value[1:close].rstrip()


def _value(field: str, card: _Card, problems: list[HeaderError]) -> Any:
    """The value of a card from its stripped value-and-comment text."""
    match = _VALUE.match(field)
    if match is None:
        if field[:1] == "'":  # an unterminated string: keep what is there
            kept: str = field[1:].rstrip()
        else:
            kept = field.split("/", 1)[0].strip()
        problems.append(_bad_value(card, f"{kept!r} is not a FITS value (a string, T or F, "
                                         "or a number); it is kept as text"))
        return kept
    if match["bool"] is not None:
        return match["bool"] == "T"
    if match["strg"] is not None:
        value = match["strg"].replace("''", "'").rstrip()
        standard = _STANDARD_STRING.match(field)
        if standard is not None and standard[1].replace("''", "'").rstrip() != value:
            # astropy ends a string at the first quote that a comment could follow,
            # even the second of a doubled quote: its reading is kept, and said.
            problems.append(_bad_value(card, f"ends where astropy ends it, {value!r}; by the "
                                             f"FITS standard it is {standard[1]!r} (with "
                                             "'' for each quote)"))
        return value
    if match["numr"] is not None:
        return _number(match["numr"])
    if match["cplx"] is not None:
        kept = match["cplx"]
        problems.append(_bad_value(card, f"{kept!r} is a complex number; it is kept as text"))
        return kept
    return None


def _number(token: str) -> int | float:
    parts = _NUMBER_PARTS.match(token)
    assert parts is not None  # token matched _NUMBER
    number = (parts["sign"] or "") + parts["digt"].translate(_EXPONENT)
    try:
        return int(number)
    except ValueError:
        return float(number)


def _long_value(image: str, card: _Card, problems: list[HeaderError]) -> Any:
    """A card and the CONTINUE cards after it, joined as astropy joins them."""
    record = _record_value(image[card.value_at:])
    if record is not None:
        return record
    pieces: list[str] = []
    comments: list[str] = []
    for position in range(0, len(image), CARD_SIZE):
        sub = image[position:position + CARD_SIZE]
        if position == 0:
            field = sub[card.value_at:].strip()
        else:
            field = sub.split(" ", 1)[1].strip() if " " in sub else ""
        match = _VALUE.match(field)
        if match is None or match["strg"] is None:
            first = _value(image[card.value_at:CARD_SIZE].strip(), card, problems)
            problems.append(_bad_value(card, "it is followed by CONTINUE cards but is not "
                                             "a long string; only its own value is kept"))
            return first
        piece = match["strg"].rstrip()
        pieces.append(piece.removesuffix("&"))
        if match["comm"]:
            comments.append(match["comm"].rstrip())
    joined = f"'{''.join(pieces)}' / {' '.join(comments)}"
    return _value(joined, card, problems)


def _record_value(field: str) -> str | None:
    stripped = field.lstrip()
    if stripped[:1] != "'" or stripped.find(": ") < 2:
        return None
    match = _RECORD_VALUE.match(stripped)
    return None if match is None else match["rawval"]


def _bad_value(card: _Card, why: str) -> HeaderError:
    return HeaderError("bad-value", f"header card {card.index + 1} ({card.keyword}): "
                                    f"the value {why}")


_KEYWORD_STANDARD = re.compile(r"[A-Z0-9_-]{0,8}$")
_RECORD_KEYWORD = re.compile(r"(?P<keyword>[a-zA-Z_]\w*)\.(?P<field>" + _FIELD
                             + r"(?:\." + _FIELD + r")*)$")


def _normalized(name: str) -> str:
    """astropy's Card.normalize_keyword, for the name a HIERARCH card gives."""
    if _KEYWORD_STANDARD.match(name):
        return name
    match = _RECORD_KEYWORD.match(name)
    if match:
        return f"{match['keyword'].strip().upper()}.{match['field']}"
    if len(name) > 9 and name[:9].upper() == "HIERARCH ":
        return name[9:].strip().upper()
    return name.strip().upper()


def _parse_unusual(text: str, problems: list[HeaderError]) -> HeaderValues:
    """Read a header card by card, as astropy looks a keyword up: the first card
    that names it, where a record-valued card ('AXIS.1: 2') counts only when no
    other card names the keyword."""
    plain: dict[str, tuple[int, Any]] = {}
    records: dict[str, tuple[int, Any]] = {}
    count = len(text) // CARD_SIZE
    index = 0
    while index < count:
        start = index * CARD_SIZE
        stop = _continued_stop(text, start + CARD_SIZE)
        card, hierarch = _unusual_card(text, index, stop)
        index = stop // CARD_SIZE
        if card is None or not _extracted(card.keyword) or card.keyword in plain:
            continue
        # HIERARCH cards are never record-valued (astropy looks for those only
        # in standard cards).
        record = None if hierarch else _record_value(text[start + card.value_at:stop])
        if record is not None:
            records.setdefault(card.keyword, (card.index, record))
        else:
            plain[card.keyword] = (card.index, _card_value(text, card, problems))
    chosen = sorted({**records, **plain}.items(), key=lambda item: item[1][0])
    groups: dict[str, tuple[list[str], list[Any]]] = {"core": ([], []), "R": ([], []),
                                                      "S": ([], [])}
    for keyword, (_, value) in chosen:
        keys, values = groups["core" if keyword in _CORE_SET else keyword[0]]
        keys.append(keyword)
        values.append(value)
    pairs = [(tuple(keys), tuple(values)) for keys, values in groups.values()]
    return HeaderValues(*pairs, _one_problem(problems))


def _unusual_card(text: str, index: int, stop: int) -> tuple[_Card | None, bool]:
    """The card at ``index`` (CONTINUE cards up to ``stop``), and whether it is HIERARCH."""
    start = index * CARD_SIZE
    found = _keyword_of(text[start:start + 10])
    continued = stop > start + CARD_SIZE
    if found is None:
        return None, False
    if found != _HIERARCH:
        return _Card(index, found[0], found[1], continued), False
    # HIERARCH: the keyword is everything up to the first '=' (astropy's convention).
    name = text[start:stop].split("=", 1)[0]
    if len(name) >= CARD_SIZE - 1:  # no '=' with a value in the card itself
        return None, False
    return _Card(index, _normalized(name[9:].strip()), len(name) + 1, continued), True
