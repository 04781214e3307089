"""Headers for the reader-agreement tests: real JWST headers, mutated, and cards made
from scratch; and the two readings compared (astropy's and the tool's).

The oracle is :mod:`astropy.io.fits`: a header counts only when astropy reads it (every
card's keyword, and the value of every keyword the tool extracts) without any warning
or error. Cards are ASCII text; values are what a hand-made or damaged file may hold.
"""

from __future__ import annotations

import gzip
import io
import itertools
import os
import warnings
import zlib
from pathlib import Path

from astropy.io import fits
from astropy.io.fits import Card
from hypothesis import strategies as st

from reporter.headers import CORE_KEYWORDS, HeaderError, header_from_reads, parse_header

FIXTURES = Path(os.environ.get("JWST_HEADER_FIXTURES", "/work/shared/fixtures/headers"))
END = "END" + " " * 77


def extracted(keyword: str) -> bool:
    return keyword in CORE_KEYWORDS or keyword[:2] in ("R_", "S_")


def real_headers() -> list[list[str]]:
    """The primary header of every fixture file, as a list of 80-character cards."""
    headers = []
    for path in sorted(FIXTURES.glob("*")) if FIXTURES.is_dir() else ():
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = zlib.decompressobj(31).decompress(data, 4 * 1024 * 1024)
        text = data.decode("ascii", "replace")
        cards = []
        for start in range(0, len(text), 80):
            card = text[start:start + 80]
            if card == END:
                break
            cards.append(card)
        headers.append(cards)
    return headers


def file_bytes(cards: list[str]) -> bytes:
    """A FITS primary header from cards: END, blank padding to the 2880-byte block."""
    text = "".join(card[:80].ljust(80) for card in cards) + END
    text += " " * (-len(text) % 2880)
    return text.encode("ascii")


def gzip_members(data: bytes, cuts: list[int]) -> bytes:
    """``data`` compressed as one gzip member per piece between the ``cuts``."""
    edges = [0, *sorted({c % (len(data) + 1) for c in cuts}), len(data)]
    return b"".join(gzip.compress(data[a:b], mtime=0) for a, b in itertools.pairwise(edges))


def astropy_reading(data: bytes) -> dict | None:
    """Keyword → value for every extracted keyword, as astropy reads the file; None
    when astropy warns or fails on it (such headers are not part of the comparison)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            # astropy opens a gzip file named by path with Python's gzip module (all
            # members); given bytes, it does not look for gzip, so decompress first.
            plain = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
            header = fits.getheader(io.BytesIO(plain))
            names = []
            for card in header.cards:
                name = (card.rawkeyword if card.field_specifier
                        else Card.normalize_keyword(card.keyword))
                if extracted(name) and name not in names:
                    names.append(name)
            found = {name: header[name] for name in names}
        except Exception:  # noqa: BLE001 - astropy cannot read it: not an oracle
            return None
    return None if caught else found


def tool_reading(data: bytes) -> tuple[dict, HeaderError | None]:
    """Keyword → value as the tool reads the file, and the record's problem."""
    stream = io.BytesIO(data)
    values = parse_header(header_from_reads(stream.read(16 * 2880), stream.read))
    found = dict(zip(*values.core))
    found.update(zip(*values.reference_files))
    found.update(zip(*values.step_status))
    return found, values.problem


def typed(value):
    """A value with its type, so that 1, 1.0, True and -0.0, 0.0 stay apart."""
    return type(value).__name__, repr(value)


def silent_differences(data: bytes) -> list[str] | None:
    """Keywords the tool reads differently from astropy without a problem naming their
    card; None when astropy does not read the header cleanly."""
    expected = astropy_reading(data)
    if expected is None:
        return None
    try:
        found, problem = tool_reading(data)
    except HeaderError as exc:
        return [f"HeaderError {exc.code}: {exc.message}"]
    named = problem.message if problem is not None else ""
    differ = []
    for keyword in sorted(set(expected) | set(found)):
        want = typed(expected[keyword]) if keyword in expected else "absent"
        got = typed(found[keyword]) if keyword in found else "absent"
        if want != got and f"({keyword})" not in named:
            differ.append(f"{keyword}: astropy {want}, tool {got}")
    return differ


# --- strategies ---------------------------------------------------------------------

KEYWORDS = st.sampled_from([
    "CAL_VER", "CRDS_CTX", "PROGRAM", "TSOVISIT", "TARGNAME", "DATE-OBS", "FILENAME",
    "R_FLAT", "R_DARK", "S_JUMP", "S_FLAT", "R_", "NAXIS", "EXPTIME", "END", "CONTINUE",
    "COMMENT", "HISTORY", "HIERARCH", "",
])
PRINTABLE = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
_ODD_TOKENS = ["nan", "NaN", "inf", "-inf", "Infinity", "1_000", "0x10", "1e5e", "TRUE",
               "t", "f", "1.0 E 5", "- 1.5", "+ 2 . 5", "1 2", "00012", "-0.0", "0.0",
               "1E400", "-1E400", "1.5D3", "1.5d-3", ".5", "5.", "1e", "(1, 2)",
               "(1.5 , -2E3)", "(1,)", "'AXIS.1: 2'", "'a: 1'", "''", "''''", "'O'Brien'",
               "'abc", "'a'x", "'a' b'", "'  '", "'&'", "'a/b' / c'", "T", "F", "1", "1.0",
               "0", "", "/ just a comment"]


@st.composite
def numbers(draw):
    """Numbers in astropy's grammar, with its odd blanks, signs, zeros and exponents."""
    sign = draw(st.sampled_from(["", "+", "-", "- ", "+  "]))
    whole = draw(st.sampled_from(["", "0", "00", "7", "123", "0012"]))
    dot = draw(st.sampled_from(["", ".", ".5", ".000", ".25"])) if whole else ".5"
    exponent = draw(st.sampled_from(["", "E5", "e-3", "D2", "d+1", " E 5", "E 0", "E400"]))
    return f"{sign}{whole}{dot}{exponent}"


@st.composite
def strings(draw):
    body = draw(st.text(PRINTABLE, max_size=30))
    if draw(st.booleans()):
        body = body.replace("'", "''")
    return f"'{body}'" + draw(st.sampled_from(["", " ", "   "]))


VALUES = st.one_of(st.sampled_from(_ODD_TOKENS), numbers(), strings(),
                   st.text(PRINTABLE, max_size=20))
COMMENTS = st.sampled_from(["", " / a comment", "/c", " / it's / odd '", " /", "  / & '"])


@st.composite
def cards(draw, keyword=None):
    """One card: a keyword in any case and column, a value indicator where astropy may
    find one, a value from :data:`VALUES` and maybe a comment."""
    keyword = draw(KEYWORDS) if keyword is None else keyword
    if draw(st.integers(0, 4)) == 0:
        keyword = keyword.lower()
    form = draw(st.integers(0, 9))
    value = draw(VALUES) + draw(COMMENTS)
    if form == 0:  # '=' right after the keyword
        head = f"{keyword}= "
    elif form == 1:
        head = f" {keyword}".ljust(8)[:8] + "= "
    elif form == 2:
        head = f"HIERARCH {keyword} = "
    elif form == 3:
        head = keyword.ljust(8)[:8] + "="
    else:
        head = keyword.ljust(8)[:8] + "= "
    padding = " " * draw(st.integers(0, 20)) if value[:1] != "'" or draw(st.booleans()) else ""
    return (head + padding + value)[:80].ljust(80)


@st.composite
def continue_cards(draw):
    body = draw(st.text(PRINTABLE, max_size=20))
    amp = draw(st.sampled_from(["&", "", "& ", "&&"]))
    value = draw(st.sampled_from([f"'{body}{amp}'", f"'{body}{amp}' / c", body, "", "5"]))
    return f"CONTINUE  {value}"[:80].ljust(80)


SPECIAL_CARDS = st.sampled_from([
    "END     junk after END", "END=", "END'", "ENDER   = 1", "end", "END  x",
    "CONTINUE  'lonely'", "COMMENT   CAL_VER = 'not a value'", "HIERARCH R_X = 'y'",
    "HIERARCH r_lower.field = 1", "HIERARCH CAL_VER = 'hier'", "        = 'blank keyword'",
])


TYPE_FLIPS = st.sampled_from(["T", "F", "1", "0", "1.0", "-0.0", "0.0", "1E0", "'1'", "'T'",
                              "'1.14.0'", "", "(1, 0)", "nan", "'N/A'"])


@st.composite
def mutated(draw, headers: list[list[str]]) -> list[str]:
    """A real header with a few cards replaced, inserted, deleted, retyped, lower-cased,
    moved, continued, made HIERARCH, duplicated, or an END-like card added."""
    cards = list(draw(st.sampled_from(headers)))
    for _ in range(draw(st.integers(1, 6))):
        provenance = [i for i, card in enumerate(cards) if i and card[8:10] == "= "
                      and extracted(card[:8].strip())]
        if provenance and draw(st.booleans()):
            at = draw(st.sampled_from(provenance))
        else:
            at = draw(st.integers(1, max(1, len(cards) - 1)))
        at = min(at, len(cards) - 1) if len(cards) > 1 else 1
        card = cards[at] if at < len(cards) else "COMMENT".ljust(80)
        keyword = card[:8].strip()
        operation = draw(st.sampled_from(["replace", "insert", "delete", "flip", "lower",
                                          "shift", "continue", "hierarch", "duplicate",
                                          "special"]))
        if operation == "replace":
            cards[at:at + 1] = [draw(cards_for(keyword))]
        elif operation == "insert":
            cards.insert(at, draw(cards_for()))
        elif operation == "delete" and len(cards) > 2:
            del cards[at]
        elif operation == "flip":
            cards[at] = (keyword.ljust(8)[:8] + "= " + draw(TYPE_FLIPS).rjust(20))[:80].ljust(80)
        elif operation == "lower":
            cards[at] = card[:8].lower() + card[8:]
        elif operation == "shift" and 0 < len(keyword) < 8:
            cards[at] = (keyword + "= " + card[10:])[:80].ljust(80)
        elif operation == "continue":
            more = draw(st.lists(continue_cards(), min_size=1, max_size=3))
            if card[10:].lstrip()[:1] == "'" and draw(st.booleans()):
                body = card[10:].split("'")[1] if card.count("'") >= 2 else ""
                card = (card[:10] + f"'{body}&'")[:80].ljust(80)
            cards[at:at + 1] = [card, *more]
        elif operation == "hierarch":
            cards[at] = (f"HIERARCH {keyword} = " + card[10:].strip())[:80].ljust(80)
        elif operation == "duplicate":
            cards.insert(draw(st.integers(1, len(cards))), card)
        elif operation == "special":
            cards.insert(at, draw(SPECIAL_CARDS).ljust(80))
    return cards


def cards_for(keyword: str | None = None):
    return st.one_of(cards(keyword), SPECIAL_CARDS.map(lambda card: card.ljust(80)))


@st.composite
def wrapped(draw, cards: list[str]) -> bytes:
    """The header as a plain file, one gzip member, or several (cut anywhere)."""
    data = file_bytes(cards)
    how = draw(st.sampled_from(["plain", "plain", "gzip", "members"]))
    if how == "gzip":
        return gzip.compress(data, mtime=0)
    if how == "members":
        return gzip_members(data, draw(st.lists(st.integers(0, len(data)), min_size=1,
                                                max_size=4)))
    return data
