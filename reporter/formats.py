"""Save an inventory as JSON, CSV or ECSV, and read it back.

- **JSON**: one record per line inside a ``records`` array (diff-friendly); values
  keep their types; an absent keyword is absent from the record's object.
- **ECSV**: through :mod:`astropy.table`; types and metadata round-trip, and an
  absent keyword is a masked cell (distinct from an empty string).
- **CSV**: one row per file for spreadsheets; an absent keyword is an empty cell,
  and values read back as text.

Every format has the same columns: ``path``, ``size``, ``error_code``, ``error``,
the derived ``instrument``, ``mode`` and ``suffix``, every core keyword, then every
``R_*`` and ``S_*`` keyword found in the dataset.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable
from typing import IO, Any

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
                    format: str | None = None, *, overwrite: bool = False) -> None:
    """Write ``inventory`` to ``path`` atomically (see :func:`reporter.outputs.open_atomic`)."""
    format = _check_format(format or format_from_name(path))
    with open_atomic(path, overwrite=overwrite) as stream:
        dump_inventory(inventory, stream, format)


def dump_inventory(inventory: Inventory, stream: IO[str], format: str) -> None:
    """Write ``inventory`` to an open text stream in ``format``."""
    format = _check_format(format)
    if format == "json":
        _dump_json(inventory, stream)
    elif format == "csv":
        _dump_csv(inventory, stream)
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
    head = json.dumps(_header_meta(inventory), indent=1)
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
        stream.write(json.dumps(_record_json(record), ensure_ascii=False))
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

def _dump_csv(inventory: Inventory, stream: IO[str]) -> None:
    everything = [*inventory.records, *inventory.inputs]
    columns = _columns(everything)
    keyword_columns = columns[len(_FILE_COLUMNS) + len(_DERIVED_COLUMNS):]
    core = KeywordSelector(CORE_KEYWORDS)
    references = KeywordSelector(tuple(c for c in keyword_columns if c[:2] == "R_"))
    steps = KeywordSelector(tuple(c for c in keyword_columns if c[:2] == "S_"))
    render = _CsvLine()
    render_fragment = _CsvFragments(render)
    stream.write(render(columns) + "\n")
    for record in everything:
        # The csv module writes None as an empty cell: an absent keyword.
        head = render((record.path, record.size, record.error_code, record.error, record.parent,
                       record.instrument, record.mode, record.suffix, *core(record.keywords)))
        stream.write(",".join((
            head,
            *render_fragment(references, record.reference_files),
            *render_fragment(steps, record.step_status),
        )) + "\n")


class _CsvLine:
    """Render one CSV line (no line end) with the csv module's quoting."""

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="")

    def __call__(self, fields: Iterable[Any]) -> str:
        self._buffer.seek(0)
        self._buffer.truncate()
        self._writer.writerow(fields)
        return self._buffer.getvalue()


class _CsvFragments:
    """The R_* and S_* cells of a row repeat across a dataset: render each once."""

    _LIMIT = 4096

    def __init__(self, render: _CsvLine):
        self._render = render
        self._cache: dict[tuple[int, int, tuple[Any, ...]], str] = {}

    def __call__(self, selector: KeywordSelector, mapping: KeywordMap) -> tuple[str, ...]:
        if not selector.keys:
            return ()
        values = selector(mapping)
        if len(values) == 1:  # csv quotes a lone empty cell; render it with the rest
            return (self._render(values),) if values[0] is not None else ("",)
        key = (id(selector), mapping.layout_id, values)
        text = self._cache.get(key)
        if text is None:
            if len(self._cache) >= self._LIMIT:
                self._cache.clear()
            text = self._cache[key] = self._render(values)
        return (text,)


def _read_csv(path: str) -> Inventory:
    with open(path, encoding="utf-8", newline="") as stream:
        rows = list(csv.DictReader(stream))
    if rows and "path" not in rows[0]:
        raise InventoryError(f"{path}: not a jwst-provenance inventory (no 'path' column)")
    records = [_record_from_fields({key: (value if value != "" else None)
                                    for key, value in row.items()}) for row in rows]
    return Inventory([r for r in records if not r.parent], inputs=[r for r in records if r.parent])


# ECSV ---------------------------------------------------------------------

def _inventory_table(inventory: Inventory) -> Any:
    from astropy.table import MaskedColumn, Table

    everything = [*inventory.records, *inventory.inputs]
    columns = _columns(everything)
    table = Table(meta=_header_meta(inventory))
    # ECSV writes an empty string and a masked (absent) cell alike: say which
    # cells are empty strings, so that they do not come back as absent.
    empty_strings: dict[str, list[int]] = {}
    for name in columns:
        values = [_cell(record, name) for record in everything]
        mask = [value is None for value in values]
        kinds = {type(value) for value in values if value is not None}
        if kinds == {bool}:
            data: list[Any] = [bool(value) for value in values]
        elif kinds == {int}:
            data = [0 if value is None else value for value in values]
        elif kinds and kinds <= {int, float}:
            data = [0.0 if value is None else float(value) for value in values]
        else:
            # Text, or a keyword whose type differs between files: keep it as text.
            data = ["" if value is None else str(value) for value in values]
            empty = [row for row, value in enumerate(values) if value == ""]
            if empty:
                empty_strings[name] = empty
        table.add_column(MaskedColumn(data, name=name, mask=mask, dtype=None if data else str))
    if empty_strings:
        table.meta["empty_strings"] = empty_strings
    return table


def _read_ecsv(path: str) -> Inventory:
    from astropy.table import Table

    table = Table.read(path, format="ascii.ecsv")
    if "path" not in table.colnames:
        raise InventoryError(f"{path}: not a jwst-provenance inventory (no 'path' column)")
    columns = {name: _column_values(table[name]) for name in table.colnames}
    for name, rows in dict(table.meta.pop("empty_strings", None) or {}).items():
        for row in rows:
            columns[name][row] = ""
    records = [
        _record_from_fields({name: values[row] for name, values in columns.items()})
        for row in range(len(table))
    ]
    return _inventory_from(records, dict(table.meta))


def _column_values(column: Any) -> list[Any]:
    # A masked cell (an absent keyword) comes back as None.
    return column.data.tolist() if hasattr(column, "mask") else column.tolist()
