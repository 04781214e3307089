"""What changed between two versions of a dataset: reprocessing, reference files, files.

Files are matched by path, then by file name, then (for renamed files) by the
observation they hold: OBS_ID, DETECTOR, EXP_TYPE, the optical elements, DATE-OBS
and the product type. For each pair it reports CAL_VER, CRDS_CTX and R_* changes
(and, with ``content=True``, size and DATASUM/CHECKSUM), then summarises per mode
and writes the sentence a paper's new version needs.
"""

from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from .escape import escape_latex, escape_markdown, markdown_code
from .inventory import Inventory
from .records import ProvenanceRecord

__all__ = ["Comparison", "FileChange", "compare", "format_comparison", "load_side"]

_IDENTITY = ("OBS_ID", "DETECTOR", "EXP_TYPE", "FILTER", "PUPIL", "GRATING", "DATE-OBS")
_CONTENT = ("size", "DATASUM", "CHECKSUM")


@dataclass(frozen=True)
class FileChange:
    old_path: str
    new_path: str
    matched_by: str  # path, name or identity
    changes: dict[str, tuple[Any, Any]]
    instrument: str
    mode: str


@dataclass
class Comparison:
    changed: list[FileChange] = field(default_factory=list)
    unchanged: int = 0
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def same(self) -> bool:
        return not (self.changed or self.added or self.removed)

    def renamed(self) -> list[FileChange]:
        """Files whose name changed (not only their folder)."""
        return [c for c in self.changed if _renamed(c)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "same": self.same, "unchanged": self.unchanged, "added": self.added,
            "removed": self.removed,
            "changed": [{"old": c.old_path, "new": c.new_path, "matched_by": c.matched_by,
                         "instrument": c.instrument, "mode": c.mode,
                         "changes": {k: list(v) for k, v in c.changes.items()}}
                        for c in self.changed],
        }


def _renamed(change: FileChange) -> bool:
    return os.path.basename(change.old_path) != os.path.basename(change.new_path)


def load_side(spec: str, *, jobs: int | None = None, timeout: float | None = None) -> Inventory:
    """An inventory file (.json, .ecsv, .csv), a lock file (.lock), or paths to scan
    (``timeout``: seconds for the remote reads of that scan, as in :func:`reporter.scan`)."""
    from .lock import read_lock
    from .scanner import scan

    if os.path.isfile(spec) and spec.endswith(".lock"):
        return read_lock(spec)[0]
    if os.path.isfile(spec) and spec.rsplit(".", 1)[-1].lower() in ("json", "ecsv", "csv"):
        return Inventory.read(spec)
    return scan([spec], jobs=jobs, timeout=timeout)


def _identity(record: ProvenanceRecord) -> tuple | None:
    if record.keywords.get("OBS_ID") is None:
        return None
    return (*(record.keywords.get(k) for k in _IDENTITY), record.suffix)


def _differences(old: ProvenanceRecord, new: ProvenanceRecord, content: bool) -> dict:
    changes: dict[str, tuple[Any, Any]] = {}
    for keyword in ("CAL_VER", "CRDS_CTX"):
        if old.keywords.get(keyword) != new.keywords.get(keyword):
            changes[keyword] = (old.keywords.get(keyword), new.keywords.get(keyword))
    for keyword in sorted(set(old.reference_files) | set(new.reference_files)):
        before, after = old.reference_files.get(keyword), new.reference_files.get(keyword)
        if before != after:
            changes[keyword] = (before, after)
    if content:
        for name in _CONTENT:
            before = old.size if name == "size" else old.keywords.get(name)
            after = new.size if name == "size" else new.keywords.get(name)
            if before != after and not (name != "size" and before is None and after is None):
                changes[name] = (before, after)
    return changes


def compare(old: Inventory, new: Inventory, *, content: bool = False) -> Comparison:
    """Compare two inventories; ``content`` also compares size, DATASUM and CHECKSUM."""
    result = Comparison()
    olds = {r.path: r for r in old.read_ok}
    news = {r.path: r for r in new.read_ok}
    pairs: list[tuple[ProvenanceRecord, ProvenanceRecord, str]] = []
    for path in sorted(set(olds) & set(news)):
        pairs.append((olds.pop(path), news.pop(path), "path"))
    for key, how in ((lambda r: os.path.basename(r.path), "name"), (_identity, "identity")):
        index: dict[Any, list[ProvenanceRecord]] = defaultdict(list)
        for record in news.values():
            if (value := key(record)) is not None:
                index[value].append(record)
        for path, record in sorted(olds.items()):
            candidates = index.get(key(record)) if key(record) is not None else None
            if candidates:
                partner = candidates.pop(0)
                pairs.append((record, partner, how))
                del olds[path]
                del news[partner.path]
    for before, after, how in pairs:
        changes = _differences(before, after, content)
        if changes or os.path.basename(before.path) != os.path.basename(after.path):
            result.changed.append(FileChange(before.path, after.path, how, changes,
                                             after.instrument or "unknown", after.mode or "data"))
        else:
            result.unchanged += 1
    result.added = sorted(news)
    result.removed = sorted(olds)
    return result


def _sentences(comparison: Comparison) -> list[tuple[str, list[str]]]:
    """(template, values) pairs: values are escaped by the caller for its format."""
    sentences: list[tuple[str, list[str]]] = []
    groups: dict[tuple, Counter] = defaultdict(Counter)
    references: dict[tuple, set[str]] = defaultdict(set)
    for change in comparison.changed:
        old = (change.changes.get("CAL_VER", (None,))[0], change.changes.get("CRDS_CTX", (None,))[0])
        new = (change.changes.get("CAL_VER", (None, None))[1], change.changes.get("CRDS_CTX", (None, None))[1])
        reprocessed = "CAL_VER" in change.changes or "CRDS_CTX" in change.changes
        refs = tuple(sorted(k for k in change.changes if k.startswith("R_")))
        key = (change.instrument, change.mode, reprocessed, old, new)
        groups[key][refs] += 1
        references[key].update(refs)
    for (instrument, mode, reprocessed, old, new), counts in sorted(groups.items(), key=str):
        count = sum(counts.values())
        refs = sorted(references[(instrument, mode, reprocessed, old, new)])
        noun = f"{count} {instrument} {mode} file{'s' if count != 1 else ''}"
        if reprocessed:
            text = (f"{{}} {'was' if count == 1 else 'were'} reprocessed from jwst {{}} / {{}} "
                    f"to {{}} / {{}}")
            values = [noun, old[0] or "the same version", old[1] or "the same context",
                      new[0] or "the same version", new[1] or "the same context"]
        elif refs:
            text = f"{{}} kept {'its' if count == 1 else 'their'} pipeline version and context"
            values = [noun]
        else:
            continue
        if refs:
            text += "; " + " and ".join(["{}"] * len(refs)) + " changed"
            values += refs
        sentences.append((text + ".", values))
    counts = [(len(comparison.added), "added"), (len(comparison.removed), "removed"),
              (len(comparison.renamed()), "renamed")]
    parts = [f"{n} file{'s were' if n != 1 else ' was'} {what}" for n, what in counts if n]
    if parts:
        sentences.append(("; ".join(parts) + ".", []))
    if not sentences:
        sentences.append((("No file changed its pipeline version, CRDS context or reference "
                           "files."), []))
    return sentences


def _paragraph(comparison: Comparison, escape: Any) -> str:
    return " ".join(text.format(*(escape(v) for v in values))
                    for text, values in _sentences(comparison))


def format_comparison(comparison: Comparison, format: str = "text", *,
                      old_name: str = "old", new_name: str = "new") -> str:
    """``text`` (terminal), ``json``, ``markdown`` or ``latex`` (the paragraph and a list)."""
    if format == "json":
        return json.dumps({"format": "jwst-provenance diff", "old": old_name, "new": new_name,
                           "paragraph": _paragraph(comparison, str), **comparison.to_dict()},
                          indent=1, default=str) + "\n"
    if format == "latex":
        return _paragraph(comparison, escape_latex) + "\n"
    if format == "markdown":
        heading = (f"### What changed between {escape_markdown(old_name)} and "
                   f"{escape_markdown(new_name)}")
        lines = [heading, "", _paragraph(comparison, escape_markdown), ""]
        for change in comparison.changed:
            details = "; ".join(f"{escape_markdown(k)}: {escape_markdown(a)} → {escape_markdown(b)}"
                                for k, (a, b) in change.changes.items())
            lines.append(f"- {markdown_code(change.new_path)}"
                         + (f" (was {markdown_code(change.old_path)})"
                            if _renamed(change) else "")
                         + (f": {details}" if details else ""))
        lines += [f"- added: {markdown_code(p)}" for p in comparison.added]
        lines += [f"- removed: {markdown_code(p)}" for p in comparison.removed]
        return "\n".join(lines) + "\n"
    counts = (f"Compared {old_name} with {new_name}: {len(comparison.changed)} changed, "
              f"{comparison.unchanged} unchanged, {len(comparison.added)} added, "
              f"{len(comparison.removed)} removed.")
    lines = [counts, "", _paragraph(comparison, str)]
    for change in comparison.changed:
        lines.append("")
        name = (f"{change.old_path} -> {change.new_path} (matched by {change.matched_by})"
                if _renamed(change) else change.new_path)
        lines.append(f"  {name}")
        lines += [f"      {k}: {a} -> {b}" for k, (a, b) in change.changes.items()]
    lines += [f"  added: {p}" for p in comparison.added]
    lines += [f"  removed: {p}" for p in comparison.removed]
    return "\n".join(lines) + "\n"

