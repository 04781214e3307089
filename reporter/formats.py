"""Save an inventory as JSON, CSV or ECSV, and read it back.

- **JSON**: one record per line inside a ``records`` array (diff-friendly); values
  keep their types; an absent keyword is absent from the record's object. Strict
  JSON (:mod:`reporter.json_text`): a float that is not finite is the text
  ``"nan"``, ``"inf"`` or ``"-inf"``; controls, bidi characters and the
  undecodable bytes of a file name (``"\\udcff"``) are JSON escapes.
- **ECSV**: through :mod:`astropy.table`; types and metadata round-trip, and an
  absent keyword is a masked cell (distinct from an empty string). ECSV loses
  blanks at the ends of a text, line breaks, TAB, CR and other controls: a text
  column holding any such value is written with each cell JSON-encoded, and the
  table's ``json_columns`` metadata names those columns.
- **CSV**: one row per file for spreadsheets; every cell quoted, an absent keyword
  is an unquoted empty cell, and values read back as text. A text a spreadsheet
  would run as a formula gets a leading ``'`` unless ``keep_formulas`` is asked
  for; see :mod:`reporter.csv_cells` for every rule.

Any text a format holds reads back exactly as it was written: file names that are
not UTF-8 included.

Every format has the same columns: ``path``, ``size``, ``error_code``, ``error``,
the derived ``instrument``, ``mode`` and ``suffix``, every core keyword, then every
``R_*`` and ``S_*`` keyword found in the dataset.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Iterable
from typing import IO, Any

from . import csv_cells, json_text
from .errors import InventoryError, UsageError
from .headers import CORE_KEYWORDS
from .inventory import Inventory
from .outputs import open_atomic
from .records import KeywordMap, KeywordSelector, ProvenanceRecord
from .sources import Skipped

__all__ = ["FORMATS", "dump_inventory", "format_from_name", "read_inventory", "write_inventory"]

FORMATS = ("json", "ecsv", "csv")
FORMAT_NAME = "jwst-provenance inventory"
FORMAT_VERSION = 1
_FILE_COLUMNS = ("path", "size", "error_code", "error", "parent")
_DERIVED_COLUMNS = ("instrument", "mode", "suffix")


def format_from_name(path: str | os.PathLike[str]) -> str:
    """The format a file name asks for (``inventory.ecsv`` → ``ecsv``)."""
    ending = os.fspath(path).rsplit(".", 1)[-1].lower()
    if ending in FORMATS:
        return ending
    raise UsageError(
        f"cannot tell the format of {os.fspath(path)!r} from its name: "
        f"use a name ending in .json, .ecsv or .csv, or give --format"
    )


def write_inventory(inventory: Inventory, path: str | os.PathLike[str],
                    format: str | None = None, *, overwrite: bool = False,
                    keep_formulas: bool = False) -> None:
    """Write ``inventory`` to ``path`` atomically (see :func:`reporter.outputs.open_atomic`).

    ``keep_formulas`` (CSV only): write cells that start like a spreadsheet formula
    as they are, without the leading ``'``.
    """
    format = _check_format(format or format_from_name(path))
    with open_atomic(path, overwrite=overwrite) as stream:
        dump_inventory(inventory, stream, format, keep_formulas=keep_formulas)


def dump_inventory(inventory: Inventory, stream: IO[str], format: str, *,
                   keep_formulas: bool = False) -> None:
    """Write ``inventory`` to an open text stream in ``format``."""
    format = _check_format(format)
    if format == "json":
        _dump_json(inventory, stream)
    elif format == "csv":
        _dump_csv(inventory, stream, keep_formulas)
    else:
        _inventory_table(inventory).write(stream, format="ascii.ecsv")


def read_inventory(path: str | os.PathLike[str]) -> Inventory:
    """Read an inventory written by :func:`write_inventory` (format from the name)."""
    path = os.fspath(path)
    format = format_from_name(path)
    try:
        if format == "json":
            return _read_json(path)
        if format == "csv":
            return _read_csv(path)
        return _read_ecsv(path)
    except InventoryError:
        raise
    except FileNotFoundError:
        raise InventoryError(f"{path}: no such inventory file") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InventoryError(f"{path}: not a readable {format.upper()} inventory: {exc}") from None


def _check_format(format: str) -> str:
    if format not in FORMATS:
        raise UsageError(f"unknown format {format!r}; choose one of: {', '.join(FORMATS)}")
    return format


def _columns(records: Iterable[ProvenanceRecord]) -> list[str]:
    # Records share a few keyword layouts: collect each layout's names once.
    layouts = {}
    for record in records:
        for mapping in (record.reference_files, record.step_status):
            layouts.setdefault(mapping.layout_id, mapping)
    references = {key for mapping in layouts.values() for key in mapping if key[:2] == "R_"}
    steps = {key for mapping in layouts.values() for key in mapping if key[:2] == "S_"}
    return [*_FILE_COLUMNS, *_DERIVED_COLUMNS, *CORE_KEYWORDS, *sorted(references), *sorted(steps)]


def _cell(record: ProvenanceRecord, column: str) -> Any:
    if column in _FILE_COLUMNS or column in _DERIVED_COLUMNS:
        return getattr(record, column)
    return record.get(column)


def _header_meta(inventory: Inventory) -> dict[str, Any]:
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        **inventory.meta,
        "skipped": [{"path": item.path, "reason": item.reason} for item in inventory.skipped],
    }


def _record_from_fields(fields: dict[str, Any]) -> ProvenanceRecord:
    core: dict[str, Any] = {}
    references: dict[str, Any] = {}
    steps: dict[str, Any] = {}
    for name, value in fields.items():
        if value is None or name in _FILE_COLUMNS or name in _DERIVED_COLUMNS:
            continue
        group = references if name[:2] == "R_" else steps if name[:2] == "S_" else core
        group[name] = value
    size = fields.get("size")
    return ProvenanceRecord.build(
        str(fields["path"]),
        KeywordMap.from_dict(_core_order(core)),
        KeywordMap.from_dict(references),
        KeywordMap.from_dict(steps),
        int(size) if size not in (None, "") else None,
        fields.get("error_code") or None,
        fields.get("error") or None,
        fields.get("parent") or None,
    )


def _core_order(core: dict[str, Any]) -> dict[str, Any]:
    # Tables lose header order; put the core keywords in their documented order.
    return {key: core[key] for key in CORE_KEYWORDS if key in core} | core


def _inventory_from(records: list[ProvenanceRecord], meta: dict[str, Any]) -> Inventory:
    """Products and their inputs (the records with a parent) apart again."""
    inputs = [record for record in records if record.parent]
    records = [record for record in records if not record.parent]
    meta = dict(meta)
    if meta.pop("format", FORMAT_NAME) != FORMAT_NAME:
        raise InventoryError("not a jwst-provenance inventory (its 'format' field differs)")
    meta.pop("format_version", None)
    skipped = [Skipped(item["path"], item["reason"]) for item in meta.pop("skipped", [])]
    return Inventory(records, skipped=skipped, meta=meta, inputs=inputs)


# JSON ---------------------------------------------------------------------

def _record_json(record: ProvenanceRecord) -> dict[str, Any]:
    return {
        "path": record.path,
        "size": record.size,
        "error_code": record.error_code,
        "error": record.error,
        **({"parent": record.parent} if record.parent else {}),
        "instrument": record.instrument,
        "mode": record.mode,
        "suffix": record.suffix,
        "keywords": record.keywords.to_dict(),
        "reference_files": record.reference_files.to_dict(),
        "step_status": record.step_status.to_dict(),
    }


def _dump_json(inventory: Inventory, stream: IO[str]) -> None:
    head = json_text.dumps(_header_meta(inventory), indent=1)
    stream.write(head[:-2])
    _json_array(stream, "records", inventory.records)
    if inventory.inputs:  # the inputs of combined products, each naming its parent
        _json_array(stream, "product_inputs", inventory.inputs)
    stream.write("\n}\n")


def _json_array(stream: IO[str], name: str, records: Iterable[ProvenanceRecord]) -> None:
    """One record per line, so that inventories diff well."""
    stream.write(f',\n "{name}": [')
    separator = "\n  "
    for record in records:
        stream.write(separator)
        stream.write(json_text.dumps(_record_json(record)))
        separator = ",\n  "
    stream.write("\n ]")


def _read_json(path: str) -> Inventory:
    with open(path, encoding="utf-8") as stream:
        document = json.load(stream)
    if not isinstance(document, dict) or not isinstance(document.get("records"), list):
        raise InventoryError(f"{path}: not a jwst-provenance inventory (no 'records' list)")
    records = []
    for item in [*document.pop("records"), *document.pop("product_inputs", [])]:
        fields = {key: item.get(key) for key in _FILE_COLUMNS}
        for group in ("keywords", "reference_files", "step_status"):
            fields.update(item.get(group) or {})
        records.append(_record_from_fields(fields))
    return _inventory_from(records, document)


# CSV ----------------------------------------------------------------------

def _dump_csv(inventory: Inventory, stream: IO[str], keep_formulas: bool = False) -> None:
    everything = [*inventory.records, *inventory.inputs]
    columns = _columns(everything)
    keyword_columns = columns[len(_FILE_COLUMNS) + len(_DERIVED_COLUMNS):]
    core = KeywordSelector(CORE_KEYWORDS)
    references = KeywordSelector(tuple(c for c in keyword_columns if c[:2] == "R_"))
    steps = KeywordSelector(tuple(c for c in keyword_columns if c[:2] == "S_"))
    render = functools.partial(csv_cells.line, keep_formulas=keep_formulas)
    render_fragment = _CsvFragments(render)
    stream.write(render(columns) + "\n")
    for record in everything:
        head = render((record.path, record.size, record.error_code, record.error, record.parent,
                       record.instrument, record.mode, record.suffix, *core(record.keywords)))
        stream.write(",".join((
            head,
            *render_fragment(references, record.reference_files),
            *render_fragment(steps, record.step_status),
        )) + "\n")


class _CsvFragments:
    """The R_* and S_* cells of a row repeat across a dataset: render each once."""

    _LIMIT = 4096

    def __init__(self, render: Callable[[Iterable[Any]], str]):
        self._render = render
        self._cache: dict[tuple[int, int, tuple[Any, ...]], str] = {}

    def __call__(self, selector: KeywordSelector, mapping: KeywordMap) -> tuple[str, ...]:
        if not selector.keys:
            return ()
        values = selector(mapping)
        key = (id(selector), mapping.layout_id, values)
        text = self._cache.get(key)
        if text is None:
            if len(self._cache) >= self._LIMIT:
                self._cache.clear()
            text = self._cache[key] = self._render(values)
        return (text,)


def _read_csv(path: str) -> Inventory:
    # utf-8-sig: a spreadsheet that saved the file again may have put a BOM first.
    with open(path, encoding="utf-8-sig", newline="") as stream:
        text = stream.read()
    # A blank line is no row (as csv.reader reads it): a trailing one is common.
    rows = [row for row in csv_cells.read_rows(text) if row not in ([], [None])]
    if not rows:
        return Inventory([])
    ours = csv_cells.written_here(text)
    names = [csv_cells.value(name, ours) for name in rows[0]]
    if "path" not in names:
        raise InventoryError(f"{path}: not a jwst-provenance inventory (no 'path' column)")
    records = []
    for number, row in enumerate(rows[1:], 2):
        if len(row) != len(names):
            raise InventoryError(f"{path}: row {number} has {len(row)} cells, "
                                 f"the header {len(names)}")
        records.append(_record_from_fields(
            {name: csv_cells.value(item, ours) for name, item in zip(names, row)}))
    return Inventory([r for r in records if not r.parent], inputs=[r for r in records if r.parent])


# ECSV ---------------------------------------------------------------------

_INT64 = (-(2**63), 2**63 - 1)


def _inventory_table(inventory: Inventory) -> Any:
    from astropy.table import MaskedColumn, Table

    everything = [*inventory.records, *inventory.inputs]
    columns = _columns(everything)
    meta = _header_meta(inventory)
    if not _meta_keeps(meta):
        # YAML folds line breaks (and cannot hold a lone surrogate): the metadata
        # go whole as one JSON string, printable ASCII, which reads back exactly.
        meta = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION,
                "meta_json": json.dumps(meta)}
    table = Table(meta=meta)
    # ECSV writes an empty string and a masked (absent) cell alike: say which
    # cells are empty strings, so that they do not come back as absent.
    empty_strings: dict[str, list[int]] = {}
    json_columns: list[str] = []
    for name in columns:
        values = [_cell(record, name) for record in everything]
        mask = [value is None for value in values]
        kinds = {type(value) for value in values if value is not None}
        if int in kinds and not all(_INT64[0] <= v <= _INT64[1]
                                    for v in values if type(v) is int):
            kinds.add(str)  # an integer no table column holds exactly: text
        if kinds == {bool}:
            data: list[Any] = [bool(value) for value in values]
        elif kinds == {int}:
            data = [0 if value is None else value for value in values]
        elif kinds and kinds <= {int, float}:
            data = [0.0 if value is None else float(value) for value in values]
        else:
            # Text, or a keyword whose type differs between files: keep it as text.
            data = ["" if value is None else str(value) for value in values]
            if not all(map(_ecsv_keeps, data)):
                # ensure_ascii: the cell is printable ASCII, surrogates included.
                data = ["" if value is None else json.dumps(text)
                        for value, text in zip(values, data)]
                json_columns.append(name)
            else:
                empty = [row for row, value in enumerate(values) if value == ""]
                if empty:
                    empty_strings[name] = empty
        table.add_column(MaskedColumn(data, name=name, mask=mask, dtype=None if data else str))
    if empty_strings:
        table.meta["empty_strings"] = empty_strings
    if json_columns:
        table.meta["json_columns"] = json_columns
    return table


def _meta_keeps(value: Any) -> bool:
    """Whether the ECSV header's YAML gives back every text in ``value`` as it is."""
    if isinstance(value, str):
        return value.isprintable() and value == value.strip()
    if isinstance(value, dict):
        return all(_meta_keeps(key) and _meta_keeps(item) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return all(map(_meta_keeps, value))
    return True


def _ecsv_keeps(text: str) -> bool:
    """Whether ECSV gives back this text as it is (or as an empty cell, when empty).

    Its reader strips blanks at the ends, splits at line breaks and takes a line
    starting with ``#`` for a comment; numpy drops trailing NULs.
    """
    return text.isprintable() and text == text.strip() and text[:1] != "#"


def _read_ecsv(path: str) -> Inventory:
    from astropy.table import Table

    table = Table.read(path, format="ascii.ecsv")
    if "path" not in table.colnames:
        raise InventoryError(f"{path}: not a jwst-provenance inventory (no 'path' column)")
    columns = {name: _column_values(table[name]) for name in table.colnames}
    for name, rows in dict(table.meta.pop("empty_strings", None) or {}).items():
        for row in rows:
            columns[name][row] = ""
    for name in table.meta.pop("json_columns", None) or ():
        columns[name] = [None if cell is None else _json_text(cell) for cell in columns[name]]
    records = [
        _record_from_fields({name: values[row] for name, values in columns.items()})
        for row in range(len(table))
    ]
    meta = dict(table.meta)
    if "meta_json" in meta:
        meta = json.loads(meta["meta_json"])
    return _inventory_from(records, meta)


def _json_text(cell: Any) -> str:
    text = json.loads(cell)
    if not isinstance(text, str):
        raise TypeError(f"a JSON-encoded cell holds {type(text).__name__}, not text")
    return text


def _column_values(column: Any) -> list[Any]:
    # A masked cell (an absent keyword) comes back as None.
    return column.data.tolist() if hasattr(column, "mask") else column.tolist()
