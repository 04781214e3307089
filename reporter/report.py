"""``report``: scan, check and render every part, in LaTeX and Markdown, into one folder.

The folder gets ``provenance.tex`` and ``provenance.md`` (all parts), one file per
part that a paper can ``\\input``, the inventory (``inventory.ecsv``), the check
results (``check.json``, ``check.md``) and, above the table limit, the per-file
table in machine-readable form (``provenance_files.mrt``, AAS's format, and
``provenance_files.csv``). A marker file records which files the report wrote, so
a later report replaces them without ``--force`` and removes those it no longer
writes; any other existing file is never replaced silently. Nothing is written when
no file with a pipeline version could be read (:class:`~reporter.paper.NothingToReport`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .bib import Citations, citations_for
from .checks import Finding, check
from .errors import OutputError, OutputExists
from .file_table import write_csv, write_mrt
from .findings import format_json, format_markdown
from .formats import write_inventory
from .inventory import Inventory
from .knowledge import Knowledge
from .outputs import atomic_write
from .paper import TABLE_LIMIT, paper_context
from .render import FORMATS, combined_order, render_parts

__all__ = ["MARKER", "ReportResult", "write_report", "write_parts"]

MARKER = ".jwst-provenance-report"
TABLE_FILES = ("provenance_files.mrt", "provenance_files.csv")


@dataclass
class ReportResult:
    """What a report wrote, and what it found."""

    folder: Path
    written: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)  # written by an earlier report, not now
    findings: list[Finding] = field(default_factory=list)
    missing_doi: bool = False


def _owned(folder: Path) -> set[str]:
    try:
        return set(json.loads((folder / MARKER).read_text("utf-8"))["files"])
    except (OSError, ValueError, KeyError, TypeError):
        return set()


def _check_targets(folder: Path, names: Sequence[str], force: bool) -> None:
    owned = _owned(folder)
    for name in names:
        if (folder / name).exists() and not force and name not in owned:
            raise OutputExists(str(folder / name))


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a file where a folder should be, no permission, a full disk
        raise OutputError(f"cannot make the folder {folder}: {exc.strerror or exc}") from None


def write_parts(parts: dict[str, str], folder: str | os.PathLike[str], extension: str, *,
                force: bool = False) -> list[Path]:
    """Write rendered parts as ``<part>.<extension>`` files in ``folder``."""
    folder = Path(folder)
    _make_folder(folder)
    names = [f"{part}.{extension}" for part in parts]
    _check_targets(folder, names, force)
    written = []
    for part, text in parts.items():
        path = folder / f"{part}.{extension}"
        atomic_write(path, lambda stream, text=text: stream.write(text), overwrite=True)
        written.append(path)
    return written


def write_report(inventory: Inventory, folder: str | os.PathLike[str], knowledge: Knowledge, *,
                 style: str = "aastex", dois: Sequence[str] = (),
                 template_dirs: Sequence[str | os.PathLike[str]] = (),
                 citations: Citations | None = None, force: bool = False,
                 table_limit: int = TABLE_LIMIT) -> ReportResult:
    """Check ``inventory`` and write every output into ``folder`` (see the module's doc).

    Raises
    ------
    NothingToReport
        When no file with a pipeline version could be read; nothing is written.
    OutputExists, OutputError
        When an output exists that an earlier report did not write (without
        ``force``), or cannot be written.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder} exists and is not a folder")
    findings = check(inventory, knowledge)
    if citations is None:
        citations = citations_for([r.cal_ver for r in inventory.read_ok if r.cal_ver], knowledge)
    # The context is made first: with no readable processed file it raises, and
    # nothing is written.
    context = paper_context(inventory, findings, knowledge, dois=dois,
                            table_files=TABLE_FILES, citation_keys=citations.keys,
                            table_limit=table_limit)
    long_table = context.excerpt
    rendered = {to: render_parts(context, to=to, style=style, template_dirs=template_dirs)
                for to in FORMATS}

    outputs: dict[str, str] = {}
    for to, parts in rendered.items():
        extension = FORMATS[to]
        order = combined_order(style if to == "latex" else "markdown")
        outputs[f"provenance.{extension}"] = "\n".join(parts[part] for part in order)
        outputs.update({f"{part}.{extension}": text for part, text in parts.items()})
    checked = len(inventory)
    outputs["check.json"] = format_json(findings, checked=checked, knowledge=knowledge)
    outputs["check.md"] = format_markdown(findings, checked=checked, knowledge=knowledge)
    # The entries the text cites that the author's own .bib (if given) lacks.
    outputs["provenance.bib"] = citations.bibtex()
    names = [*outputs, "inventory.ecsv", *(TABLE_FILES if long_table else ())]

    _make_folder(folder)
    _check_targets(folder, names, force)
    earlier = _owned(folder)
    result = ReportResult(folder, findings=findings, missing_doi=not dois)
    for name, text in outputs.items():
        atomic_write(folder / name, lambda stream, text=text: stream.write(text), overwrite=True)
        result.written.append(folder / name)
    write_inventory(inventory, folder / "inventory.ecsv", "ecsv", overwrite=True)
    result.written.append(folder / "inventory.ecsv")
    if long_table:
        mrt, csv_name = TABLE_FILES
        write_mrt(context.all_files, folder / mrt, overwrite=True)
        write_csv(context.all_files, folder / csv_name, overwrite=True)
        result.written += [folder / mrt, folder / csv_name]
    marker = json.dumps({"tool": "jwst-provenance", "files": sorted(names)}, indent=1)
    atomic_write(folder / MARKER, lambda stream: stream.write(marker + "\n"), overwrite=True)
    # What an earlier report wrote and this one does not (the machine-readable
    # tables of a larger dataset) would otherwise be taken for current.
    for name in sorted(earlier - set(names)):
        if "/" not in name and name != MARKER:
            try:
                (folder / name).unlink()
            except FileNotFoundError:
                pass
            else:
                result.removed.append(folder / name)
    return result
