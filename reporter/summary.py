"""A readable summary of an inventory, as plain text for a terminal.

Values from the data (header values, file names, error messages) are shown with
:func:`reporter.terminal.visible`, line breaks included: a value can never add a
line or a row to the summary, nor hold a byte a file cannot.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from .inventory import Inventory
from .terminal import visible

__all__ = ["format_summary"]

_ABSENT = "(absent)"


def format_summary(inventory: Inventory, *, verbose: bool = False, max_errors: int = 10) -> str:
    """Summarise an inventory: files per program × instrument × mode, the distinct
    CAL_VER and CRDS_CTX values with counts, and the files that could not be read.

    ``verbose`` also lists what was skipped and every unreadable file.
    """
    from tabulate import tabulate

    failed = inventory.failed
    read = len(inventory) - len(failed)
    lines = [_headline(inventory, read, len(failed)), ""]

    groups = inventory.groups()
    if groups:
        rows = [
            (_text(key.program), _text(key.instrument), _text(key.mode), len(records),
             _values_with_counts(record.cal_ver for record in records),
             _values_with_counts(record.crds_ctx for record in records))
            for key, records in groups.items()
        ]
        lines.append(tabulate(rows, headers=("Program", "Instrument", "Mode", "Files",
                                             "CAL_VER", "CRDS_CTX"), disable_numparse=True,
                              colalign=("left", "left", "left", "right", "left", "left")))
        lines.append("")
        for keyword in ("CAL_VER", "CRDS_CTX"):
            counts = inventory.counts(keyword)
            rows = [(_shown(value), count) for value, count in _sorted_counts(counts)]
            lines.append(tabulate(rows, headers=(keyword, "Files"), disable_numparse=True,
                                  colalign=("left", "right")))
            lines.append("")

    level3 = inventory.meta.get("level3_inputs")
    if isinstance(level3, dict):
        lines.append(_inputs_line(inventory, level3))
        associations = inventory.meta.get("associations") or []
        if associations:
            readable = [a for a in associations if "error" not in a]
            members = sum(len(p["members"]) for a in readable for p in a["products"])
            linked = sum(1 for a in readable if a.get("linked_products"))
            lines.append(f"Associations: {len(associations)} file(s), {members} members; "
                         f"{linked} named by a product's ASNTABLE"
                         + (f"; {len(associations) - len(readable)} unreadable"
                            if len(readable) < len(associations) else "") + ".")
        catalogs = inventory.meta.get("catalogs") or []
        if catalogs:
            versions = Counter(c.get("jwst") or "none" for c in catalogs if "error" not in c)
            shown = ", ".join(f"{v} ({n})" for v, n in _sorted_counts(versions))
            lines.append(f"Catalogs (ECSV): {len(catalogs)}; jwst versions in their metadata: "
                         f"{shown or 'none'}.")
        lines.append("")
    if failed:
        lines.append(f"Unreadable files ({len(failed)}):")
        shown = failed if verbose else failed[:max_errors]
        lines.extend(f"  {_text(record.path)}: {_text(record.error)}" for record in shown)
        if len(shown) < len(failed):
            lines.append(f"  ... and {len(failed) - len(shown)} more (--verbose lists them all)")
        lines.append("")
    if verbose and inventory.skipped:
        lines.append(f"Skipped ({len(inventory.skipped)}):")
        lines.extend(f"  {_text(item.path)}: {_text(item.reason)}" for item in inventory.skipped)
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _inputs_line(inventory: Inventory, level3: dict) -> str:
    products = level3.get("products_with_inputs", 0)
    text = (f"Inputs of combined products: {products} product{'s' if products != 1 else ''} "
            f"with an HDRTAB, {len(inventory.inputs)} inputs "
            f"({level3.get('bytes_read', 0) / 1024:.1f} KiB read)")
    mixed = [path for path, children in inventory.inputs_by_parent().items()
             if len({r.crds_ctx for r in children}) > 1]
    if mixed:
        text += (f"; {len(mixed)} combine{'s' if len(mixed) == 1 else ''} inputs of "
                 "several CRDS contexts")
    return text + "."


def _headline(inventory: Inventory, read: int, failed: int) -> str:
    programs = {record.program for record in inventory.read_ok if record.program}
    text = f"Scanned {len(inventory)} file{'s' if len(inventory) != 1 else ''}: {read} read"
    text += f", {failed} unreadable" if failed else ""
    if programs:
        text += f"; {len(programs)} program{'s' if len(programs) != 1 else ''}"
    elapsed = inventory.meta.get("elapsed_seconds")
    if isinstance(elapsed, (int, float)):
        text += f" ({elapsed:.2f} s)"
    cached = inventory.meta.get("cache", {}).get("hits") if isinstance(
        inventory.meta.get("cache"), dict) else None
    if cached:
        text += f"; {cached} unchanged, from the scan cache"
    if inventory.skipped:
        text += f". {len(inventory.skipped)} skipped (--verbose says which)"
    return text + "."


def _text(value: Any) -> str:
    return visible(str(value), newlines=True)


def _shown(value: Any) -> str:
    return _ABSENT if value is None else _text(value)


def _sorted_counts(counts: Counter[Any]) -> list[tuple[Any, int]]:
    # Values in their natural order (0.7.0 before 0.12.0), absent last.
    return sorted(counts.items(), key=lambda item: (item[0] is None, _natural_key(item[0])))


def _natural_key(value: Any) -> tuple[Any, ...]:
    parts = re.split(r"(\d+)", str(value))
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in parts)


def _values_with_counts(values: Any) -> str:
    counts = Counter(values)
    if len(counts) == 1:
        return _shown(next(iter(counts)))
    return ", ".join(f"{_shown(value)} ({count})" for value, count in _sorted_counts(counts))
