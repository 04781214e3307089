"""Lock files: a sorted, diff-friendly record of a dataset, and its fingerprint.

One JSON object per file and per line, sorted by path, keys sorted: path, size,
DATASUM/CHECKSUM where present, CAL_VER, CRDS_CTX, the keywords that identify the
observation (for matching renamed files), and every R_*. The fingerprint is the
SHA-256 of those lines: quote it in the paper, and ``verify`` tells later whether
the data still match. Lines are strict JSON (:mod:`reporter.json_text`): a file name
that is not UTF-8 is kept with JSON escapes (``"\\udcff"``), and a float that is not
finite is the text ``"nan"``, ``"inf"`` or ``"-inf"``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass

from . import json_text
from .errors import InventoryError
from .inventory import Inventory
from .outputs import atomic_write
from .records import KeywordMap, ProvenanceRecord

__all__ = ["LockedFile", "fingerprint", "lock_lines", "read_lock", "write_lock"]

HEADER = "# jwst-provenance lock 1"
LOCKED_KEYWORDS = ("CAL_VER", "CRDS_CTX", "DATASUM", "CHECKSUM", "INSTRUME", "EXP_TYPE",
                   "TSOVISIT", "PROGRAM", "OBS_ID", "DETECTOR", "FILTER", "PUPIL", "GRATING",
                   "DATE-OBS")


@dataclass(frozen=True)
class LockedFile:
    path: str
    line: str


def _line(record: ProvenanceRecord) -> str:
    item: dict[str, object] = {"path": record.path, "size": record.size}
    for keyword in LOCKED_KEYWORDS:
        value = record.keywords.get(keyword)
        if value is not None:
            item[keyword] = value
    item.update(record.reference_files.to_dict())
    if record.error_code:
        item["error_code"] = record.error_code
    return json_text.dumps(item, sort_keys=True)


def lock_lines(inventory: Inventory) -> list[str]:
    """The lock's lines, one per file, sorted by path."""
    return [_line(record) for record in sorted(inventory.records, key=lambda r: r.path)]


def fingerprint(lines: Iterable[str]) -> str:
    """``sha256:`` and the hash of the lock lines: the same dataset gives the same value.

    Each line is hashed in one canonical form, whatever its escapes: the JSON of its
    object with keys sorted and every character raw but the ones JSON itself escapes
    (a lone surrogate as ``\\udcff``). So a lock written by an earlier release, whose
    lines held U+00AD or U+200B raw, gives the same fingerprint for the same data.
    """
    digest = hashlib.sha256()
    for line in lines:
        digest.update(_canonical(line) + b"\n")
    return "sha256:" + digest.hexdigest()


def _canonical(line: str) -> bytes:
    try:
        text = json.dumps(json.loads(line), sort_keys=True, ensure_ascii=False)
    except ValueError:  # not JSON (an edited line): hashed as it is
        text = line
    return text.encode("utf-8", "backslashreplace")


def write_lock(inventory: Inventory, path: str | os.PathLike[str], *,
               overwrite: bool = False) -> str:
    """Write the lock file atomically; return the dataset's fingerprint."""
    lines = lock_lines(inventory)
    value = fingerprint(lines)
    text = "\n".join([HEADER, f"# fingerprint {value}", f"# files {len(lines)}", *lines]) + "\n"
    atomic_write(path, lambda stream: stream.write(text), overwrite=overwrite)
    return value


def read_lock(path: str | os.PathLike[str]) -> tuple[Inventory, str]:
    """The records a lock file holds (as an inventory) and its fingerprint."""
    name = os.fspath(path)
    try:
        with open(name, encoding="utf-8") as stream:
            text = stream.read()
    except OSError as exc:
        raise InventoryError(f"{name}: cannot read the lock file: {exc.strerror}") from None
    lines = text.splitlines()
    if not lines or lines[0] != HEADER:
        raise InventoryError(f"{name}: not a jwst-provenance lock file (no '{HEADER}' line)")
    stated = next((line.split()[-1] for line in lines if line.startswith("# fingerprint ")), "")
    body = [line for line in lines if line and not line.startswith("#")]
    records = []
    for number, line in enumerate(body, 1):
        try:
            item = json.loads(line)
            path_value = item.pop("path")
        except (ValueError, KeyError, TypeError):
            raise InventoryError(f"{name}: line {number + 3} is not a locked file") from None
        size = item.pop("size", None)
        error_code = item.pop("error_code", None)
        references = {k: v for k, v in item.items() if k.startswith("R_")}
        keywords = {k: v for k, v in item.items() if not k.startswith("R_")}
        records.append(ProvenanceRecord.build(
            path_value, KeywordMap.from_dict(keywords), KeywordMap.from_dict(references),
            size=size, error_code=error_code, error=error_code))
    actual = fingerprint(body)
    if stated and stated != actual:
        raise InventoryError(f"{name}: the file was edited: its lines no longer give its "
                             f"fingerprint {stated}")
    return Inventory(records), actual
