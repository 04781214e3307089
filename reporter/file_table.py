"""The per-file provenance table in machine-readable form: AAS MRT and CSV.

A paper's appendix lists every file up to a limit; beyond it, it prints a portion
and the full table goes with the paper as a machine-readable table, the form the
AAS journals ask for (astropy's ``ascii.mrt`` writer), and as CSV for everyone
else. Its columns are the paper's, not the inventory's: one row per file the text
speaks of.

MRT is a fixed-width ASCII format: a character that is not printable ASCII (a
line break, a control character, an accent, a byte of a file name that is not
UTF-8) would break a row or the format, so each is written as ``[U+XXXX]``, as the
LaTeX does; so are blanks at either end of a value, which a fixed-width column
cannot tell from its padding. The CSV follows :mod:`reporter.csv_cells` (every
cell quoted, formulas neutralised unless ``keep_formulas``).
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Sequence

from . import csv_cells
from .outputs import atomic_write
from .paper import FileRow

__all__ = ["COLUMNS", "csv_text", "mrt_text", "write_csv", "write_mrt"]

#: (label, FileRow field, explanation), in the order of the table.
COLUMNS = (
    ("File", "name", "File name"),
    ("Program", "program", "JWST program number"),
    ("Instrument", "instrument", "Instrument"),
    ("Mode", "mode", "Observing mode"),
    ("CAL_VER", "cal_ver", "Version of the JWST Science Calibration Pipeline (CAL_VER)"),
    ("CRDS_CTX", "crds_ctx", "CRDS context of the reference files (CRDS_CTX)"),
    ("SDP_VER", "sdp_ver", "Science data processing build (SDP_VER)"),
    ("Obs-date", "observed", "Date of the observation (DATE-OBS)"),
    ("Proc-date", "processed", "Date the file was written by the pipeline (DATE)"),
)
TITLE = "Processing provenance of every JWST file used in this work"


_END_BLANKS = re.compile(r"^ +| +$")


def _ascii(value: object) -> str:
    text = "" if value is None else str(value)
    if not (text.isascii() and text.isprintable()):
        text = "".join(c if c.isascii() and c.isprintable() else f"[U+{ord(c):04X}]"
                       for c in text)
    if text[:1] == " " or text[-1:] == " ":
        text = _END_BLANKS.sub(lambda match: "[U+0020]" * len(match.group()), text)
    return text


def _value(row: FileRow, field: str) -> str:
    # The paper prints "none" and "unknown"; a machine-readable table leaves them blank.
    value = getattr(row, field)
    return "" if field != "name" and value in ("none", "unknown") else value


def write_mrt(rows: Sequence[FileRow], path: str | os.PathLike[str], *,
              overwrite: bool = False) -> None:
    """Write ``rows`` as an AAS Machine-Readable Table, atomically."""
    text = mrt_text(rows)
    atomic_write(path, lambda stream: stream.write(text), overwrite=overwrite)


def mrt_text(rows: Sequence[FileRow]) -> str:
    """``rows`` as the text of an AAS Machine-Readable Table."""
    import numpy as np
    from astropy.table import MaskedColumn, Table

    table = Table()
    for label, field, explanation in COLUMNS:
        values = [_ascii(_value(row, field)) for row in rows]
        empty = [value == "" for value in values]
        if label != "File" and all(empty):
            continue  # a column with no value at all (no SDP_VER anywhere) says nothing
        width = max([1, *(len(value) for value in values)])
        data = np.array(values, dtype=f"U{width}")
        # Absent values are blank, which MRT readers take as missing ("?" in the
        # byte-by-byte description); File is always there.
        column = MaskedColumn(data, name=label, mask=empty) if any(empty) else data
        table[label] = column
        table[label].description = explanation
    buffer = io.StringIO()
    table.write(buffer, format="ascii.mrt")
    # Title and Authors are the paper's, for the author to fill; Table is this one's.
    return buffer.getvalue().replace("\nTable:\n", f"\nTable: {TITLE}\n", 1)


def write_csv(rows: Sequence[FileRow], path: str | os.PathLike[str], *,
              overwrite: bool = False, keep_formulas: bool = False) -> None:
    """Write ``rows`` as CSV with a header row, atomically."""
    text = csv_text(rows, keep_formulas=keep_formulas)
    atomic_write(path, lambda stream: stream.write(text), overwrite=overwrite)


def csv_text(rows: Sequence[FileRow], *, keep_formulas: bool = False) -> str:
    """``rows`` as CSV with a header row (see :mod:`reporter.csv_cells`)."""
    lines = [csv_cells.line([label for label, _, _ in COLUMNS])]
    lines += [csv_cells.line([_value(row, field) for _, field, _ in COLUMNS], keep_formulas)
              for row in rows]
    return "\n".join(lines) + "\n"
