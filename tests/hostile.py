"""Hostile header values and file names, and a dataset that carries every one of them.

A FITS header is untrusted input: whoever made the file chose its text. Each payload
below is something that would act if it reached an output unescaped — read a file or
run a command in TeX, close a BibTeX field, inject HTML into Markdown, split a CSV row,
run a spreadsheet formula, recolour or rewrite a terminal. The outputs must show each
one as inert text.

Payloads are grouped by class (:data:`PAYLOADS`: class → {short name: value}).

How a payload gets into a file (:func:`hostile_dataset`):

* Printable-ASCII values are written by astropy (long ones as ``CONTINUE`` cards), so
  astropy and the tool's reader must read them back exactly.
* Values with ASCII control characters (newlines, NUL, BEL, ESC, DEL, TAB, CR) are not
  allowed by the FITS standard and astropy refuses to write them, so their cards are
  written as raw bytes (80 columns, in place of an astropy card). The reader
  (``reporter.headers``) keeps ASCII control characters as they are, so these values
  reach the outputs and every output must make them inert.
* Non-ASCII bytes (C1 controls, U+2028, bidi overrides, UTF-8 text) in a header make the
  reader mark the record unreadable with code ``non-ascii`` (the bytes become U+FFFD), so
  they never reach an output as header values: :data:`NON_ASCII_CARDS` makes such files,
  and the same characters are put into file names (:data:`HOSTILE_NAMES`), which do
  reach every output.
* File names: any bytes but ``/`` and NUL, including bytes that are not UTF-8 (created
  with :func:`os.fsencode` names; Python gives them back with surrogate escapes).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from datasets import dataset_bytes

__all__ = [
    "CLASSES",
    "HOSTILE_NAMES",
    "KEYWORDS",
    "NON_ASCII_CARDS",
    "PAYLOADS",
    "Placed",
    "clean_dataset",
    "hostile_dataset",
    "payload_files",
]

#: The keywords a payload is put into: every one reaches some output.
KEYWORDS = ("CAL_VER", "CRDS_CTX", "PROGRAM", "TARGNAME", "FILTER", "R_FLAT", "CRDS_VER",
            "SDP_VER", "DATE-OBS", "S_FLAT", "R_DARK", "DATE", "INSTRUME", "EXP_TYPE")

_LONG_TEX = "\\input{/etc/hostname}&%$#_{}~^" * 10

#: class → {short name: value}. Values in "control" and "newlines", and any value
#: with a character outside printable ASCII, are written as raw cards.
PAYLOADS: dict[str, dict[str, str]] = {
    # TeX primitives that read, write or run, and characters with a TeX meaning.
    "tex": {
        "input": "\\input{/etc/hostname}",
        "openout": "\\immediate\\openout9=owned.tex\\immediate\\write9{x}\\immediate\\closeout9",
        "write18": "\\immediate\\write18{touch owned}",
        "catcode": "\\catcode`\\{=12 \\catcode`\\%=13 x",
        "csname": "\\csname input\\endcsname{/etc/hostname}",
        "def-loop": "\\def\\x{\\x}\\x",
        "caret-5c": "^^5cinput{/etc/hostname}",
        "caret-at": "^^@^^M^^J^^",
        "comment": "50% of it % the rest",
        "hash": "#1 ## param",
        "tilde": "~active~",
        "dollar": "$x^2$ and $$",
        "specials": "a&b_c^d\\e",
        "end-document": "\\par\\end{document}",
        "trailing-backslash": "trailing\\",
        "makeatletter": "\\makeatletter\\@tempa",
    },
    # Braces unbalanced either way.
    "braces": {
        "open": "{{{unbalanced",
        "close": "unbalanced}}}",
        "close-open": "}{",
        "group-end": "\\egroup\\endgroup}",
    },
    # What a macro with an optional argument or a star would swallow at a value's start.
    "optional-argument": {
        "length": "[1cm]",
        "quoted": "[\"id\"]",
        "bracket-only": "[",
        "star": "*starred",
        "at": "@misc{x}",
    },
    # Values that would close a BibTeX field or open an entry.
    "bibtex": {
        "note": "1.14.1}, note={\\input{/etc/passwd}}, x={",
        "entry": "1.14.0} @misc{evil, title={x}}",
        "quote": "1.14.0\", note = \"pwn",
        "hostname": "1.14.0 \\input{/etc/hostname}",
        "comment": "1.14.0 @comment{",
        "preamble": "1.14.0 @preamble{\"\\input{/etc/hostname}\"}",
    },
    # HTML, JavaScript and Markdown structure.
    "html-markdown": {
        "img": "<img src=x onerror=alert(1)>",
        "script": "<script>alert(1)</script>",
        "a-href": "<a href=\"javascript:alert(1)\">x</a>",
        "md-link": "[x](javascript:alert(1))",
        "md-image": "![x](javascript:alert(1))",
        "autolink": "<javascript:alert(1)>",
        "table": "a | b | c",
        "table-rule": "|---|---|",
        "backticks": "``code`` ` ```",
        "heading": "# heading",
        "html-comment": "<!-- open comment",
        "emphasis": "**bold** _em_ *x*",
    },
    # Line breaks: each would end a paragraph, a table row, a code span, a CSV row.
    "newlines": {
        "lf": "a\nb",
        "lf-lf": "a\n\nb",
        "crlf": "a\r\nb",
        "lf-img": "jwst_1241.pmap\n\n<img src=x onerror=alert(1)>",
        "lf-heading": "x\n# heading\ny",
        "lf-table": "x\n| a | b |\n|---|---|",
        "lf-bib": "1.14.0\n@misc{evil, title={x}}",
    },
    # ASCII control characters.
    "control": {
        "nul": "a\x00b",
        "bel": "a\x07b",
        "esc": "\x1b[31mred\x1b[0m",
        "osc-title": "\x1b]0;owned\x07x",
        "del": "a\x7fb",
        "tab": "a\tb",
        "cr": "a\rb",
        "backspace": "abc\x08\x08\x08xyz",
        "form-feed": "a\x0cb",
    },
    # Cells a spreadsheet would run as formulas (OWASP CSV injection).
    "formula": {
        "hyperlink": "=HYPERLINK(\"http://evil.example/\",\"x\")",
        "equals": "=1+1",
        "plus": "+1",
        "minus": "-1+1",
        "at-sum": "@SUM(A1:A2)",
        # DDE without "'/": astropy ends a string at a quote then "/" (see
        # test_reader_agreement), so the switch is written "\C".
        "dde": "=cmd|'\\C calc'!A0",
        "tab": "\t=1+1",
        "cr": "\r=1+1",
    },
    # Blanks that a careless writer or reader would lose, and quotes.
    "whitespace": {
        "leading": "   leading blanks",
        "runs": "runs    of     blanks",
        "empty": "",
        "quotes": "'quoted' and ''doubled''",
    },
    # Values longer than a card (CONTINUE cards).
    "long": {
        "tex": _LONG_TEX,
        "word": "x" * 2000,
    },
}

#: Every payload class, in order (the classes the tests cover).
CLASSES = tuple(PAYLOADS)

#: Keywords given explicitly to some payloads (the rest are spread over KEYWORDS):
#: BibTeX breakers where BibTeX gets them, optional-argument breakers where a LaTeX table
#: row starts, a newline before HTML where Markdown shows CRDS_CTX.
_PLACES: dict[tuple[str, str], tuple[str, ...]] = {
    **{("bibtex", name): ("CAL_VER",) for name in PAYLOADS["bibtex"]},
    ("newlines", "lf-bib"): ("CAL_VER",),
    ("newlines", "lf-img"): ("CRDS_CTX", "CAL_VER"),
    **{("optional-argument", name): ("PROGRAM", "CAL_VER")
       for name in PAYLOADS["optional-argument"]},
    ("tex", "input"): ("CAL_VER", "CRDS_CTX", "PROGRAM"),
    ("tex", "def-loop"): ("CAL_VER", "CRDS_CTX"),
    ("tex", "write18"): ("CAL_VER", "R_FLAT"),
    ("html-markdown", "img"): ("CRDS_CTX", "PROGRAM", "R_FLAT"),
    ("formula", "hyperlink"): ("TARGNAME", "CAL_VER"),
}

#: Header cards with bytes outside ASCII: the reader marks such a record ``non-ascii``.
NON_ASCII_CARDS: dict[str, bytes] = {
    "c1-csi": b"\x9b31mred",
    "utf8-line-separator": "a\u2028b".encode(),
    "utf8-bidi": "\u202etxt.exe".encode(),
    "latin1": b"caf\xe9",
}

#: File names (bytes: some are not UTF-8) with every class that a name can hold.
HOSTILE_NAMES: tuple[bytes, ...] = (
    b"jw_\xff\xfe_not_utf8_cal.fits",
    b"jw_\x1b[31mred\x1b[0m_bel\x07_nul-free_cal.fits",
    b"jw_line\nbreak\r\nand_cr_cal.fits",
    b"jw_<img src=x onerror=alert(1)>_cal.fits",
    b"jw_[x](javascript:alert(1))_|_`tick`_cal.fits",
    b"=HYPERLINK(\"evil.example\",\"x\")_cal.fits",
    b"@SUM(A1)+1-1_cal.fits",
    b"jw_\\input{|touch owned}_%#$&~^_{_cal.fits",
    "jw_\u202ebidi\u2066_\u2028ls_\u0085nel_\u009bcsi_cal.fits".encode(),
    b"   leading  blanks_cal.fits",
    b"jw_[1cm]_*_@_cal.fits",
    b"jw_" + b"long-" * 45 + b"_cal.fits",
)

#: A folder name inside the dataset, holding one more file.
HOSTILE_FOLDER = b"sub \\def\\x{y}% <b>folder</b>"


@dataclass(frozen=True)
class Placed:
    """Where one payload went: the file (relative to the dataset) and its keywords."""

    kind: str
    name: str
    value: str
    path: str
    keywords: tuple[str, ...]
    raw: bool


def _needs_raw(value: str) -> bool:
    return any(not (" " <= ch <= "~") for ch in value)


def payload_files() -> list[Placed]:
    """Every payload with the file that carries it (one payload per file)."""
    placed = []
    index = 0
    for kind, payloads in PAYLOADS.items():
        for name, value in payloads.items():
            keywords = _PLACES.get((kind, name)) or (
                KEYWORDS[index % len(KEYWORDS)], KEYWORDS[(index + 5) % len(KEYWORDS)])
            raw = _needs_raw(value)
            if raw and len(value.replace("'", "''")) > 66:
                raise ValueError(f"raw payload {kind}/{name} does not fit one card")
            path = f"jw{index + 1:05d}001001_02101_00001_nrca1_cal.fits"
            placed.append(Placed(kind, name, value, path, keywords, raw))
            index += 1
    return placed


_PLACEHOLDER = "RAW-CARD-PLACEHOLDER"


def _raw_card(keyword: str, value: bytes) -> bytes:
    card = keyword.encode().ljust(8) + b"= '" + value.replace(b"'", b"''") + b"'"
    if len(card) > 80:
        raise ValueError(f"{keyword}: value too long for one card")
    return card.ljust(80)


def _replace_card(data: bytes, keyword: str, card: bytes) -> bytes:
    """``data`` with the card of ``keyword`` (in the primary header) replaced by ``card``."""
    field = keyword.encode().ljust(8)
    for start in range(0, len(data), 80):
        key = data[start:start + 8]
        if key == b"END     ":
            break
        if key == field:
            return data[:start] + card + data[start + 80:]
    raise ValueError(f"no {keyword} card")


def _file_with(keywords: dict[str, str], raw: dict[str, bytes]) -> bytes:
    """A NIRCam imaging file with ``keywords`` set by astropy and ``raw`` cards patched in."""
    data = dataset_bytes("NRC_IMAGE", **keywords, **{key: _PLACEHOLDER for key in raw})
    for key, value in raw.items():
        data = _replace_card(data, key, _raw_card(key, value))
    return data


def _write(path: bytes, data: bytes) -> None:
    with open(path, "wb") as stream:
        stream.write(data)


def hostile_dataset(folder: str | os.PathLike[str]) -> dict[str, dict]:
    """Write every payload and hostile name into ``folder``; return what each file holds.

    The result maps each file's path (``os.path.join(folder, name)``, as the scan reports
    it, with surrogate escapes for bytes that are not UTF-8) to
    ``{"keywords": {keyword: value}, "error_code": None or "non-ascii"}``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    base = os.fsencode(folder)
    expected: dict[str, dict] = {}
    for item in payload_files():
        values = dict.fromkeys(item.keywords, item.value)
        if item.raw:
            data = _file_with({}, {k: v.encode("ascii") for k, v in values.items()})
        else:
            data = _file_with(values, {})
        _write(os.path.join(base, item.path.encode()), data)
        expected[os.fsdecode(os.path.join(base, item.path.encode()))] = {
            "keywords": values, "error_code": None}
    for number, (name, value) in enumerate(NON_ASCII_CARDS.items(), 1):
        path = os.path.join(base, f"jw09{number:03d}001001_02101_00001_nrca1_cal.fits".encode())
        _write(path, _file_with({}, {"TARGNAME": value}))
        expected[os.fsdecode(path)] = {"keywords": {}, "error_code": "non-ascii"}
    clean = dataset_bytes("NRC_IMAGE")
    os.makedirs(os.path.join(base, HOSTILE_FOLDER), exist_ok=True)
    for name in (*HOSTILE_NAMES, os.path.join(HOSTILE_FOLDER, b"jw_in_folder_cal.fits")):
        path = os.path.join(base, name)
        _write(path, clean)
        expected[os.fsdecode(path)] = {"keywords": {}, "error_code": None}
    return expected


def clean_dataset(folder: str | os.PathLike[str]) -> Path:
    """The payload files' names with ordinary values: the 'old' side of a diff."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    data = dataset_bytes("NRC_IMAGE")
    for item in payload_files():
        _write(os.fsencode(folder / item.path), data)
    return folder
