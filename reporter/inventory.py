"""The inventory: every record of a scan, with what was skipped and how it was made."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .records import ProvenanceRecord
from .sources import Skipped

__all__ = ["GroupKey", "Inventory"]


@dataclass(frozen=True, order=True)
class GroupKey:
    """How a paper groups its data: program × instrument × observing mode."""

    program: str
    instrument: str
    mode: str

    #: Shown where a header does not say.
    UNKNOWN = "unknown"


class Inventory:
    """The records of a scanned dataset.

    Parameters
    ----------
    records
        One :class:`~reporter.records.ProvenanceRecord` per file.
    skipped
        Inputs and files deliberately not scanned, with the reason.
    meta
        How the inventory was made: tool version, creation time, inputs.

    Examples
    --------
    >>> import reporter
    >>> inventory = reporter.scan(["examples/data"])       # doctest: +SKIP
    >>> inventory.write("inventory.ecsv")                   # doctest: +SKIP
    >>> reporter.Inventory.read("inventory.ecsv").counts("CAL_VER")  # doctest: +SKIP
    Counter({'1.14.0': 16, '1.12.5': 5, None: 1})
    """

    def __init__(self, records: Sequence[ProvenanceRecord], *,
                 skipped: Sequence[Skipped] = (), meta: dict[str, Any] | None = None,
                 inputs: Sequence[ProvenanceRecord] = ()):
        self.records = list(records)
        #: The inputs of combined products (rows of their HDRTAB), each with ``parent``.
        self.inputs = list(inputs)
        self.skipped = list(skipped)
        self.meta = dict(meta or {})

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[ProvenanceRecord]:
        return iter(self.records)

    def __repr__(self) -> str:
        return f"<Inventory: {len(self.records)} records, {len(self.failed)} unreadable>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Inventory):
            return NotImplemented
        return self.records == other.records and self.inputs == other.inputs

    def inputs_by_parent(self) -> dict[str, list[ProvenanceRecord]]:
        """The inputs grouped by the combined product they belong to, in input order."""
        grouped: dict[str, list[ProvenanceRecord]] = {}
        for record in self.inputs:
            grouped.setdefault(record.parent, []).append(record)
        return grouped

    def inputs_of(self, path: str) -> list[ProvenanceRecord]:
        """The inputs of one combined product (empty when it has none, or they were not read)."""
        return [record for record in self.inputs if record.parent == path]

    @property
    def failed(self) -> list[ProvenanceRecord]:
        """Records of files that could not be read."""
        return [record for record in self.records if record.error is not None]

    @property
    def read_ok(self) -> list[ProvenanceRecord]:
        """Records of files read without error."""
        return [record for record in self.records if record.error is None]

    def counts(self, keyword: str) -> Counter[Any]:
        """How many readable files have each value of ``keyword`` (``None``: absent)."""
        return Counter(record.get(keyword) for record in self.read_ok)

    def groups(self) -> dict[GroupKey, list[ProvenanceRecord]]:
        """Readable records grouped by program × instrument × mode, sorted by key."""
        grouped: dict[GroupKey, list[ProvenanceRecord]] = {}
        unknown = GroupKey.UNKNOWN
        for record in self.read_ok:
            key = GroupKey(record.program or unknown, record.instrument or unknown,
                           record.mode or unknown)
            grouped.setdefault(key, []).append(record)
        return dict(sorted(grouped.items()))

    # Reading and writing live in reporter.formats; these are the entry points.
    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> Inventory:
        """Read an inventory saved as JSON, ECSV or CSV (format from the file name)."""
        from .formats import read_inventory

        return read_inventory(path)

    def write(self, path: str | os.PathLike[str], format: str | None = None, *,
              overwrite: bool = False, keep_formulas: bool = False) -> None:
        """Write the inventory atomically as ``json``, ``ecsv`` or ``csv``.

        The format comes from ``format`` or else the file name's ending. An existing
        file is replaced only with ``overwrite=True``. In CSV, a text a spreadsheet
        would run as a formula (``=``, ``+``, ``-``, ``@`` first) gets a leading ``'``
        unless ``keep_formulas=True``; :meth:`read` takes it off again.
        """
        from .formats import write_inventory

        write_inventory(self, path, format, overwrite=overwrite, keep_formulas=keep_formulas)
