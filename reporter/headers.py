"""Read the provenance keywords of a FITS file's primary header, and nothing else.

The reader takes 2880-byte blocks from the start of the file until the block that
holds the ``END`` card; it never looks at data, so the cost of a file does not grow
with its size. Gzip files (recognised by their magic bytes, whatever their name) are
decompressed as a stream, and only as far as ``END``.

Cards are parsed here rather than by :mod:`astropy.io.fits` because the scan's hot
path must not pay astropy's import and per-card costs: a primary header has hundreds
of cards and a dataset thousands of files. Values follow astropy's reading rules
(strings lose trailing blanks, ``''`` becomes ``'``, long strings continued with
``CONTINUE`` cards are joined), and the tests compare every extracted keyword with
:func:`astropy.io.fits.getheader` on real files.
"""

from __future__ import annotations

import os
import re
import zlib
from dataclasses import dataclass
import functools
from collections.abc import Callable, Iterator
from typing import Any

__all__ = [
    "BLOCK_SIZE",
    "CORE_KEYWORDS",
    "HeaderError",
    "HeaderValues",
    "header_from_reads",
    "parse_header",
    "read_header_bytes",
    "read_provenance",
]

BLOCK_SIZE = 2880
CARD_SIZE = 80
# A primary header larger than this is not a header but a file with no END card.
MAX_HEADER_BYTES = 1024 * 1024
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
    "FILTER", "PUPIL", "GRATING", "CHANNEL", "BAND", "TSOVISIT", "PROGRAM",
    "OBSERVTN", "VISIT", "OBS_ID", "TARGPROP", "TARGNAME", "DATE-OBS",
    "ASNTABLE", "ASNPOOL", "DATASUM", "CHECKSUM",
)
_CORE_SET = frozenset(CORE_KEYWORDS)
_CORE_FIELDS = frozenset(keyword.ljust(8) for keyword in CORE_KEYWORDS)
# The 8-character keyword field of every 80-character card.
_KEY_FIELDS = re.compile(r"(.{8}).{72}", re.DOTALL)

_END_CARD_KEY = b"END     "
_STRING_VALUE = re.compile(r"'((?:[^']|'')*)'")
_SIMPLE_TRUE = re.compile(rb"SIMPLE  = +T")


class HeaderError(Exception):
    """A file whose primary header cannot be read.

    ``code`` is a short stable identifier (``missing``, ``permission``, ``empty``,
    ``not-fits``, ``truncated``, ``no-end``, ``bad-gzip``, ``non-ascii``,
    ``unreadable``); the message says what was found, in words.
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
    #: Set when the header had bytes outside printable ASCII (replaced by U+FFFD).
    problem: HeaderError | None = None


def read_provenance(path: str | os.PathLike[str]) -> tuple[HeaderValues, int]:
    """Read one file's primary header and return its provenance keywords and file size.

    Raises
    ------
    HeaderError
        When the header cannot be read at all (the file is missing, empty, not
        FITS, truncated, has no ``END`` card, or is broken gzip).
    """
    raw, size = read_header_bytes(path)
    return parse_header(raw), size


def read_header_bytes(path: str | os.PathLike[str]) -> tuple[bytes, int]:
    """Return the bytes of the primary header (up to, not including, ``END``) and the file size."""
    # os-level calls: a file object per file costs more than the read itself.
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise HeaderError("missing", "no such file") from None
    except PermissionError:
        raise HeaderError("permission", "permission denied") from None
    except OSError as exc:
        raise HeaderError("unreadable", f"cannot open: {exc.strerror or exc}") from None
    try:
        size = os.fstat(descriptor).st_size
        first = os.read(descriptor, _READ_SIZE)
        if not first:
            raise HeaderError("empty", "empty file (0 bytes)")
        return header_from_reads(first, functools.partial(os.read, descriptor)), size
    except IsADirectoryError:
        raise HeaderError("unreadable", "is a directory, not a file") from None
    except OSError as exc:
        raise HeaderError("unreadable", f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(descriptor)


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
        if buffer[position:position + 8] == _END_CARD_KEY:
            return position
        index = firsts.find(b"E", index + 1)
    return -1


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
    """Decompressed bytes, in small steps, so little is inflated past END."""
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    pending = first
    try:
        while True:
            yield decompressor.decompress(pending, _GZIP_OUTPUT_STEP)
            if decompressor.eof:
                return
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
            raise HeaderError("no-end", f"no END card in the first {MAX_HEADER_BYTES // 1024} "
                                        f"KiB of the {what}: not a valid FITS primary header")
    if not buffer:
        raise HeaderError("empty", f"empty {what} (0 bytes)")
    _check_fits_start(buffer)
    if len(buffer) % BLOCK_SIZE:
        raise HeaderError("truncated", f"truncated: the {what} ends after {len(buffer)} bytes, "
                                       "in the middle of a 2880-byte block, before the "
                                       "primary header's END card")
    raise HeaderError("no-end", f"no END card: the {what} ends after {len(buffer)} bytes "
                                "of header cards")


def parse_header(raw: bytes) -> HeaderValues:
    """Extract the provenance keywords from primary-header bytes (cards before ``END``)."""
    problem = None
    if raw.isascii():
        text = raw.decode("ascii")
    else:
        text = raw.decode("ascii", "replace")
        problem = _non_ascii_problem(raw)
    layout = _layout_of(text)
    # Most core cards (CAL_VER, CRDS_CTX, INSTRUME, ...) repeat across files: look
    # their text up first; parse only the new ones (and CONTINUE'd ones, never cached).
    cached = _CARD_VALUES.get
    core_values = [cached(text[start:start + CARD_SIZE], _MISSING)
                   for start in layout.core_starts]
    if _MISSING in core_values:
        for position, (index, continued) in enumerate(layout.core_cards):
            if core_values[position] is _MISSING:
                core_values[position] = _new_card_value(text, index * CARD_SIZE, continued)
    references, steps = layout.split_runs(tuple([run.values(text) for run in layout.runs]))
    return HeaderValues(
        (layout.core_keys, tuple(core_values)),
        (layout.reference_keys, references),
        (layout.step_keys, steps),
        problem,
    )


# Headers written by one pipeline for one kind of product share a layout: the
# same keywords in the same order. Learning where the provenance cards sit once
# per layout, and caching the parsed values of the R_*/S_* runs (identical in
# every file of one configuration), keeps a header's cost to a few dictionary
# look-ups and the handful of values that differ from file to file.
_MAX_LAYOUTS = 1024
_MAX_RUNS_CACHED = 256
# Columns 1-10 of every card: the keyword field and the value indicator.
_SIGNATURE_COLUMNS = range(10)


class _Run:
    """Consecutive R_*/S_* cards, parsed once per distinct text."""

    __slots__ = ("start", "stop", "cards", "continued", "cache")

    def __init__(self, cards: list[int], continued: bool):
        self.cards = tuple(cards)
        self.start = cards[0] * CARD_SIZE
        self.stop = (cards[-1] + 1) * CARD_SIZE
        self.continued = continued
        self.cache: dict[str, tuple[Any, ...]] = {}

    def values(self, text: str) -> tuple[Any, ...]:
        if self.continued:  # a long value: its text runs past the run
            return (_card_value(text, self.start, len(text)),)
        chunk = text[self.start:self.stop]
        cached = self.cache.get(chunk)
        if cached is None:
            cached = tuple([_fast_value(text, index * CARD_SIZE) for index in self.cards])
            if len(self.cache) >= _MAX_RUNS_CACHED:
                self.cache.clear()
            self.cache[chunk] = cached
        return cached


class _Layout:
    """Where the provenance cards are in headers with one sequence of keywords."""

    __slots__ = ("core_keys", "core_cards", "core_starts", "runs", "reference_keys", "reference_picks",
                 "step_keys", "step_picks", "_split")

    def __init__(self, text: str):
        fields = _KEY_FIELDS.findall(text)
        last = len(fields) - 1
        core_keys: list[str] = []
        core_cards: list[tuple[int, bool]] = []
        run_cards: list[tuple[int, str, bool]] = []
        seen: set[str] = set()
        for index, field in enumerate(fields):
            is_core = field in _CORE_FIELDS
            if not is_core and not (field[1] == "_" and field[0] in "RS"):
                continue
            keyword = field.rstrip()
            start = index * CARD_SIZE
            # Duplicated keywords: the first one counts, as in astropy.
            if keyword in seen or text[start + 8:start + 10] != "= ":
                continue
            seen.add(keyword)
            continued = index < last and fields[index + 1] == "CONTINUE"
            if is_core:
                core_keys.append(keyword)
                core_cards.append((index, continued))
            else:
                run_cards.append((index, keyword, continued))
        self.core_keys = tuple(core_keys)
        self.core_cards = tuple(core_cards)
        # A continued card is never in the value cache: its text is not the whole value.
        self.core_starts = tuple(-1 if continued else index * CARD_SIZE
                                 for index, continued in core_cards)
        self.runs: list[_Run] = []
        pending: list[int] = []
        for index, _, continued in run_cards:
            if pending and (continued or index != pending[-1] + 1):
                self.runs.append(_Run(pending, False))
                pending = []
            if continued:
                self.runs.append(_Run([index], True))
            else:
                pending.append(index)
        if pending:
            self.runs.append(_Run(pending, False))
        self.reference_keys = tuple(key for _, key, _ in run_cards if key[0] == "R")
        self.step_keys = tuple(key for _, key, _ in run_cards if key[0] == "S")
        self.reference_picks = tuple(i for i, (_, key, _) in enumerate(run_cards) if key[0] == "R")
        self.step_picks = tuple(i for i, (_, key, _) in enumerate(run_cards) if key[0] == "S")
        self._split: dict[tuple[tuple[Any, ...], ...], tuple[tuple[Any, ...], tuple[Any, ...]]] = {}

    def split_runs(self, runs: tuple[tuple[Any, ...], ...]) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        """The R_* and S_* values from the runs' values, one shared pair per distinct input."""
        split = self._split.get(runs)
        if split is None:
            values = [value for run in runs for value in run]
            split = (tuple([values[i] for i in self.reference_picks]),
                     tuple([values[i] for i in self.step_picks]))
            if len(self._split) >= _MAX_RUNS_CACHED:
                self._split.clear()
            self._split[runs] = split
        return split


_LAYOUTS: dict[str, _Layout] = {}


def _layout_of(text: str) -> _Layout:
    # Equal signatures mean equal keyword fields in every card (extended slices
    # take one column of every card, in C).
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


def _new_card_value(text: str, start: int, continued: bool) -> Any:
    if continued:
        return _card_value(text, start, len(text))
    value = _fast_value(text, start)
    if len(_CARD_VALUES) >= _MAX_CARD_VALUES:
        _CARD_VALUES.clear()
    _CARD_VALUES[text[start:start + CARD_SIZE]] = value
    return value


def _fast_value(text: str, start: int) -> Any:
    """A card's value; plain strings take a short path, the rest the full parser."""
    value = text[start + 10:start + CARD_SIZE].lstrip()
    if value[:1] == "'":
        close = value.find("'", 1)
        if close > 0 and value[close + 1:close + 2] != "'":
            return value[1:close].rstrip()
    return _card_value(text, start, len(text))


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


def _card_value(text: str, start: int, length: int) -> Any:
    field = text[start + 10:start + CARD_SIZE]
    stripped = field.lstrip()
    if not stripped:
        return None
    if stripped[0] != "'":
        return _scalar(stripped.split("/", 1)[0].strip())
    segments = [_string_segment(stripped)]
    # Long strings (astropy's rule): every CONTINUE card that follows is joined,
    # and then each piece loses the '&' that marks a continuation.
    position = start + CARD_SIZE
    while position < length and text[position:position + 8] == "CONTINUE":
        segments.append(_string_segment(text[position + 8:position + CARD_SIZE].lstrip()))
        position += CARD_SIZE
    if len(segments) == 1:
        return segments[0]
    return "".join(s[:-1] if s.endswith("&") else s for s in segments)


def _string_segment(field: str) -> str:
    match = _STRING_VALUE.match(field)
    if match is None:
        # An unterminated string: keep what is there rather than lose the keyword.
        return field[1:].rstrip()
    return match.group(1).replace("''", "'").rstrip()


def _scalar(token: str) -> Any:
    if token == "T":
        return True
    if token == "F":
        return False
    if not token:
        return None
    try:
        return int(token)
    except ValueError:
        pass
    try:
        return float(token.replace("D", "E").replace("d", "e"))
    except ValueError:
        return token
