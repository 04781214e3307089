"""One provenance record per scanned file.

A record keeps the header values exactly as read: a keyword missing from the header
is missing from the record (``record.keywords.get("CAL_VER")`` is ``None``), which is
not the same as a keyword present with an empty string. A file that could not be
read still has a record, with ``error`` saying why.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .headers import HeaderValues
from .modes import instrument_name, observing_mode, product_suffix

__all__ = ["EMPTY", "KeywordMap", "KeywordSelector", "ProvenanceRecord"]


# Keyword layouts (the tuple of keyword names in a group) repeat across a dataset:
# sharing one name → position index between maps keeps each record small.
_LAYOUTS: dict[tuple[str, ...], dict[str, int]] = {}
# id(keys) -> (keys, index); holding ``keys`` keeps the id from being reused.
_LAYOUTS_BY_ID: dict[int, tuple[tuple[str, ...], dict[str, int]]] = {}


class KeywordMap(Mapping[str, Any]):
    """An immutable keyword → value mapping, in header order.

    Maps with the same keywords share one index, so a record costs little more
    than its values: an archive-scale inventory of 100,000 records fits in memory.
    """

    __slots__ = ("_index", "_values")

    def __init__(self, keys: tuple[str, ...] = (), values: tuple[Any, ...] = ()):
        if len(keys) != len(values):
            raise ValueError("keys and values differ in length")
        # The reader hands over the same keys tuple for every file of a layout:
        # looking it up by identity avoids hashing a long tuple per record.
        known = _LAYOUTS_BY_ID.get(id(keys))
        if known is not None and known[0] is keys:
            self._index = known[1]
            self._values = values
            return
        index = _LAYOUTS.get(keys)
        if index is None:
            index = _LAYOUTS.setdefault(keys, {key: i for i, key in enumerate(keys)})
            if len(index) != len(keys):
                del _LAYOUTS[keys]
                raise ValueError(f"duplicate keyword in {keys!r}")
        if len(_LAYOUTS_BY_ID) < 4096:
            _LAYOUTS_BY_ID[id(keys)] = (keys, index)
        self._index = index
        self._values = values

    @classmethod
    def from_dict(cls, mapping: Mapping[str, Any]) -> KeywordMap:
        return cls(tuple(mapping), tuple(mapping.values()))

    def __getitem__(self, key: str) -> Any:
        return self._values[self._index[key]]

    def get(self, key: str, default: Any = None) -> Any:
        position = self._index.get(key)
        return default if position is None else self._values[position]

    @property
    def values_tuple(self) -> tuple[Any, ...]:
        return self._values

    def share_values(self, values: tuple[Any, ...]) -> None:
        """Replace the values by an equal tuple held elsewhere (saves memory).

        The only mutation a map allows, and it changes nothing visible.
        """
        # Equal is not enough: 1 == 1.0 == True, but T, 1.0 and 1 are different values.
        if values != self._values or any(type(a) is not type(b)
                                          for a, b in zip(values, self._values)):
            raise ValueError("share_values needs an equal tuple of the same types")
        self._values = values

    @property
    def layout_id(self) -> int:
        """The same for every map with these keywords in this order."""
        return id(self._index)

    def to_dict(self) -> dict[str, Any]:
        return dict(zip(self._index, self._values))

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, key: object) -> bool:
        return key in self._index

    def __eq__(self, other: object) -> bool:
        # Equal as mappings: the same keywords and values, whatever their order.
        if isinstance(other, KeywordMap) and self._index is other._index:
            return self._values == other._values
        return Mapping.__eq__(self, other)

    def __hash__(self) -> int:
        return hash(frozenset(self.to_dict().items()))

    def __repr__(self) -> str:
        return f"KeywordMap({dict(self)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (KeywordMap, (tuple(self._index), self._values))


EMPTY = KeywordMap()


class KeywordSelector:
    """Pick the values of fixed columns from many maps quickly (for table output).

    Maps that share a layout share one precomputed :func:`operator.itemgetter`.
    """

    def __init__(self, keys: tuple[str, ...], missing: Any = None):
        self.keys = tuple(keys)
        self._missing = (missing,)
        self._getters: dict[int, Any] = {}

    def __call__(self, mapping: KeywordMap) -> tuple[Any, ...]:
        # Layout indexes live for the whole process (_LAYOUTS), so their id is stable.
        getter = self._getters.get(mapping.layout_id)
        if getter is None:
            index = mapping._index
            absent = len(index)
            positions = [index.get(key, absent) for key in self.keys]
            if len(positions) == 1:
                position = positions[0]
                getter = lambda values: (values[position],)  # noqa: E731
            elif positions:
                getter = operator.itemgetter(*positions)
            else:
                getter = lambda values: ()  # noqa: E731
            self._getters[id(index)] = getter
        return getter(mapping._values + self._missing)


@dataclass(frozen=True, slots=True)
class ProvenanceRecord:
    """The processing provenance of one file.

    Attributes
    ----------
    path
        The file as the scan found it (relative when it was given relative).
    keywords
        The core provenance keywords present in the primary header
        (:data:`reporter.headers.CORE_KEYWORDS`), in header order.
    reference_files
        Every ``R_*`` keyword: the reference file each step used
        (``crds://...``, ``N/A``, or a user's own file).
    step_status
        Every ``S_*`` keyword: ``COMPLETE``, ``SKIPPED`` or ``FAILED`` per step.
    size
        The file's size in bytes, when it could be read.
    error_code, error
        Why the file could not be read (``None`` when it was read). A header with
        non-ASCII bytes keeps the keywords that could be read *and* an error.
    instrument, mode, suffix
        Derived from INSTRUME/EXP_TYPE/TSOVISIT and the file name
        (see :mod:`reporter.modes`).
    """

    path: str
    keywords: KeywordMap = EMPTY
    reference_files: KeywordMap = EMPTY
    step_status: KeywordMap = EMPTY
    size: int | None = None
    error_code: str | None = None
    error: str | None = None
    instrument: str | None = field(default=None, compare=False)
    mode: str | None = field(default=None, compare=False)
    suffix: str | None = field(default=None, compare=False)
    #: For an input of a combined product (a row of its HDRTAB): the product's path.
    parent: str | None = None

    @classmethod
    def build(
        cls,
        path: str,
        keywords: KeywordMap = EMPTY,
        reference_files: KeywordMap = EMPTY,
        step_status: KeywordMap = EMPTY,
        size: int | None = None,
        error_code: str | None = None,
        error: str | None = None,
        parent: str | None = None,
    ) -> ProvenanceRecord:
        """Make a record, deriving instrument, mode and product suffix (an input's
        suffix from its FILENAME: its path names the product's table row)."""
        get = keywords.get
        instrument, mode = _instrument_and_mode(get("INSTRUME"), get("EXP_TYPE"), get("TSOVISIT"))
        name = get("FILENAME") if parent is not None and isinstance(get("FILENAME"), str) else path
        return cls(
            path, keywords, reference_files, step_status, size, error_code, error,
            instrument, mode, product_suffix(name), parent,
        )

    @classmethod
    def from_header(cls, path: str, values: HeaderValues, size: int | None) -> ProvenanceRecord:
        problem = values.problem
        return cls.build(
            path,
            KeywordMap(*values.core),
            KeywordMap(*values.reference_files),
            KeywordMap(*values.step_status),
            size,
            problem.code if problem else None,
            problem.message if problem else None,
        )

    @classmethod
    def failed(cls, path: str, error_code: str, error: str, size: int | None = None) -> ProvenanceRecord:
        """A record for a file whose header could not be read."""
        return cls.build(path, size=size, error_code=error_code, error=error)

    @property
    def ok(self) -> bool:
        """True when the header was read without error."""
        return self.error is None

    @property
    def cal_ver(self) -> str | None:
        return _text(self.keywords.get("CAL_VER"))

    @property
    def crds_ctx(self) -> str | None:
        return _text(self.keywords.get("CRDS_CTX"))

    @property
    def program(self) -> str | None:
        return _text(self.keywords.get("PROGRAM"))

    @property
    def exp_type(self) -> str | None:
        return _text(self.keywords.get("EXP_TYPE"))

    def get(self, keyword: str, default: Any = None) -> Any:
        """A header value by keyword, whichever group it is in."""
        if keyword[:2] == "R_":
            return self.reference_files.get(keyword, default)
        if keyword[:2] == "S_":
            return self.step_status.get(keyword, default)
        return self.keywords.get(keyword, default)


@functools.lru_cache(maxsize=1024)
def _instrument_and_mode(instrume: Any, exp_type: Any, tsovisit: Any) -> tuple[str | None, str | None]:
    return instrument_name(instrume, exp_type), observing_mode(exp_type, tsovisit)


def _text(value: Any) -> str | None:
    # Keywords like PROGRAM are strings in JWST products but integers in some
    # hand-made files: report them as text either way.
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)
