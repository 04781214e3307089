"""``report``: scan, check and render every part, in LaTeX and Markdown, into one folder.

The folder gets ``provenance.tex`` and ``provenance.md`` (all parts), one file per
part that a paper can ``\\input``, the inventory (``inventory.ecsv``), the check
results (``check.json``, ``check.md``) and, above the table limit, the per-file
table in machine-readable form (``provenance_files.mrt``, AAS's format, and
``provenance_files.csv``). A marker file records which files the report wrote, so
a later report replaces them without ``--force`` and removes those it no longer
writes; any other existing file is never replaced silently. Nothing is written when
no file with a pipeline version could be read (:class:`~reporter.paper.NothingToReport`).

The set is written as a whole: every output is rendered in memory first, then
written to temporary files, and only when all of them are written are they moved
into place; if any cannot be written, none is. The marker is written first, with
the state ``writing`` and every file about to be written, and again at the end
(``complete``): a report killed half-way is recognised as this tool's by the next,
which replaces it.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .bib import Citations, citations_for
from .checks import Finding, check
from .errors import OutputError, OutputExists
from .file_table import csv_text, mrt_text
from .findings import format_json, format_markdown
from .formats import dump_inventory
from .inventory import Inventory
from .knowledge import Knowledge
from .outputs import atomic_write, clean_stale_temporaries, open_atomic
from .paper import TABLE_LIMIT, paper_context
from .render import FORMATS, combined_order, render_parts

__all__ = ["MARKER", "ReportResult", "encodable_text", "write_parts", "write_report"]

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
    """The files the marker says this tool wrote (or was writing) in ``folder``."""
    try:
        files = json.loads((folder / MARKER).read_text("utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return set()
    return {name for name in files if isinstance(name, str)} if isinstance(files, list) else set()


def _check_targets(folder: Path, names: Sequence[str], force: bool) -> None:
    owned = _owned(folder)
    for name in names:
        if os.path.lexists(folder / name) and not force and name not in owned:
            raise OutputExists(str(folder / name))


def _make_folder(folder: Path) -> bool:
    """Make ``folder`` if needed; True when this call made it."""
    if folder.is_dir():
        return False
    try:
        folder.mkdir(parents=True)
    except FileExistsError:
        if not folder.is_dir():
            raise OutputError(f"cannot make the folder {folder}: a file is in the way") from None
        return False
    except OSError as exc:  # a file where a folder should be, no permission, a full disk
        raise OutputError(f"cannot make the folder {folder}: {exc.strerror or exc}") from None
    return True


_SURROGATE = re.compile("[\ud800-\udfff]")


def encodable_text(text: str, *, json_text: bool = False) -> str:
    """``text`` with the bytes of a file name that are not UTF-8 made writable.

    Python holds such bytes as lone surrogates, which no UTF-8 file can hold. In
    JSON each becomes its escape (``\\udcff``: the same text to a JSON reader);
    elsewhere ``[U+DCFF]``, as the LaTeX and the MRT print any character they
    cannot. Text without them is returned as it is.
    """
    if _SURROGATE.search(text) is None:
        return text
    form = "\\u{:04x}" if json_text else "[U+{:04X}]"
    return _SURROGATE.sub(lambda match: form.format(ord(match.group())), text)


def _write_all(folder: Path, texts: Mapping[str, str], moving: list[bool] | None = None
               ) -> list[Path]:
    """Write every text into ``folder``, or none: all go to temporary files first,
    and are moved into place only when all of them are written (``moving`` gets
    True from then on: a failure after it may have moved some)."""
    with contextlib.ExitStack() as stack:
        streams = [(stack.enter_context(open_atomic(folder / name, overwrite=True)),
                    encodable_text(text, json_text=name.endswith(".json")))
                   for name, text in texts.items()]
        for stream, text in streams:
            stream.write(text)
            stream.flush()  # a full disk fails here, before anything is moved,
            os.fsync(stream.fileno())  # and a quota or NFS error here, not at the move
        if moving is not None:
            moving.append(True)
    return [folder / name for name in texts]


def write_parts(parts: dict[str, str], folder: str | os.PathLike[str], extension: str, *,
                force: bool = False) -> list[Path]:
    """Write rendered parts as ``<part>.<extension>`` files in ``folder`` (all or none)."""
    folder = Path(folder)
    made = _make_folder(folder)
    texts = {f"{part}.{extension}": text for part, text in parts.items()}
    try:
        _check_targets(folder, list(texts), force)
        return _write_all(folder, texts)
    except BaseException:
        if made:
            _remove_empty(folder)
        raise


def _remove_empty(folder: Path) -> None:
    with contextlib.suppress(OSError):
        folder.rmdir()


def _marker(state: str, names: Sequence[str]) -> str:
    return json.dumps({"tool": "jwst-provenance", "state": state, "files": sorted(names)},
                      indent=1) + "\n"


def _write_marker(folder: Path, text: str) -> None:
    atomic_write(folder / MARKER, lambda stream: stream.write(text), overwrite=True)


def _render_report(inventory: Inventory, knowledge: Knowledge, findings: list[Finding], *,
                   style: str, dois: Sequence[str], template_dirs: Sequence[str | os.PathLike[str]],
                   citations: Citations, table_limit: int, keep_formulas: bool) -> dict[str, str]:
    """Every output of a report, by file name, rendered in memory."""
    # The context is made first: with no readable processed file it raises, and
    # nothing is written.
    context = paper_context(inventory, findings, knowledge, dois=dois,
                            table_files=TABLE_FILES, citation_keys=citations.keys,
                            table_limit=table_limit)
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
    table = io.StringIO()
    dump_inventory(inventory, table, "ecsv")
    outputs["inventory.ecsv"] = table.getvalue()
    if context.excerpt:
        mrt, csv_name = TABLE_FILES
        outputs[mrt] = mrt_text(context.all_files)
        outputs[csv_name] = csv_text(context.all_files, keep_formulas=keep_formulas)
    return outputs


def write_report(inventory: Inventory, folder: str | os.PathLike[str], knowledge: Knowledge, *,
                 style: str = "aastex", dois: Sequence[str] = (),
                 template_dirs: Sequence[str | os.PathLike[str]] = (),
                 citations: Citations | None = None, force: bool = False,
                 table_limit: int = TABLE_LIMIT, keep_formulas: bool = False) -> ReportResult:
    """Check ``inventory`` and write every output into ``folder`` (see the module's doc).

    ``keep_formulas``: in ``provenance_files.csv``, write cells that start like a
    spreadsheet formula as they are (see :mod:`reporter.csv_cells`).

    Raises
    ------
    NothingToReport
        When no file with a pipeline version could be read; nothing is written.
    OutputExists, OutputError
        When an output exists that an earlier report did not write (without
        ``force``), or cannot be written; then no output of this report is written.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder} exists and is not a folder")
    findings = check(inventory, knowledge)
    if citations is None:
        citations = citations_for([r.cal_ver for r in inventory.read_ok if r.cal_ver], knowledge)
    outputs = _render_report(inventory, knowledge, findings, style=style, dois=dois,
                             template_dirs=template_dirs, citations=citations,
                             table_limit=table_limit, keep_formulas=keep_formulas)
    names = list(outputs)

    made = _make_folder(folder)
    _check_targets(folder, names, force)
    earlier = _owned(folder)
    # What killed writes of this folder's files left behind.
    clean_stale_temporaries(folder, [*names, *earlier, MARKER])
    try:
        before = (folder / MARKER).read_text("utf-8")
    except (OSError, ValueError):
        before = None
    _write_marker(folder, _marker("writing", [*set(names) | earlier]))
    result = ReportResult(folder, findings=findings, missing_doi=not dois)
    moving: list[bool] = []
    try:
        result.written = _write_all(folder, outputs, moving)
    except BaseException:
        if not moving:  # nothing of this report was moved into place: put back the marker
            with contextlib.suppress(OSError):
                if before is None:
                    (folder / MARKER).unlink()
                else:
                    _write_marker(folder, before)
            if made:
                _remove_empty(folder)
        # Else the 'writing' marker stays: the next report knows the files for its own.
        raise
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
    _write_marker(folder, _marker("complete", names))
    return result
