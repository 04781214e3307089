"""Scan a dataset: expand the inputs, read every primary header, keep every record.

A file that cannot be read never stops the scan: it becomes a record with an error.
Large scans are spread over worker processes (header parsing is CPU-bound, so
threads would not help); small ones run in this process, where starting workers
would cost more than it saves.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone
from typing import Any

from . import __version__
from .errors import NoFilesFound
from .headers import HeaderError, read_provenance
from .inventory import Inventory
from .records import KeywordMap, ProvenanceRecord
from .sources import Problem, expand_inputs

__all__ = ["default_jobs", "read_record", "scan", "scan_files"]

#: Progress callback: called with (files done, files in all).
Progress = Callable[[int, int], None]

# Below this many files, worker start-up costs more than it saves.
_PARALLEL_THRESHOLD = 400
_CHUNK = 256


def default_jobs() -> int:
    """The number of CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def read_record(path: str) -> ProvenanceRecord:
    """Read one file's provenance record; errors become a record, never an exception."""
    try:
        values, size = read_provenance(path)
    except HeaderError as exc:
        return ProvenanceRecord.failed(path, exc.code, exc.message)
    return ProvenanceRecord.from_header(path, values, size)


def scan(
    paths: Iterable[str | os.PathLike[str]],
    *,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> Inventory:
    """Scan files, directories, glob patterns and ``@manifest`` files.

    Parameters
    ----------
    paths
        What to scan (see :func:`reporter.sources.expand_inputs`).
    jobs
        Worker processes; default: the CPUs available. ``1`` scans in this process.
    progress
        Called as ``progress(done, total)`` while the scan goes on.

    Returns
    -------
    Inventory
        One record per file found, in the order the inputs name them.

    Raises
    ------
    NoFilesFound
        When the inputs name no file at all (say where the scan looked).
    """
    started = time.perf_counter()
    inputs = [os.fspath(path) for path in paths]
    expansion = expand_inputs(inputs)
    if not expansion.entries:
        raise NoFilesFound(expansion.searched, expansion.skipped)
    records = list(_scan_entries(expansion.entries, jobs, progress))
    return Inventory(
        records,
        skipped=expansion.skipped,
        meta={
            "tool": f"jwst-provenance {__version__}",
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "inputs": inputs,
            "elapsed_seconds": round(time.perf_counter() - started, 3),
        },
    )


def scan_files(files: Sequence[str], *, jobs: int | None = None,
               progress: Progress | None = None) -> list[ProvenanceRecord]:
    """Read the given files (no expansion) and return their records in order."""
    return list(_scan_entries(list(files), jobs, progress))


def _scan_entries(entries: Sequence[str | Problem], jobs: int | None,
                  progress: Progress | None) -> Iterator[ProvenanceRecord]:
    jobs = default_jobs() if jobs is None else max(1, jobs)
    total = len(entries)
    done = 0
    if jobs == 1 or total < _PARALLEL_THRESHOLD:
        for entry in entries:
            yield _record_for(entry)
            done += 1
            if progress is not None and (done % _CHUNK == 0 or done == total):
                progress(done, total)
        return
    chunks = [entries[i:i + _CHUNK] for i in range(0, total, _CHUNK)]
    interner = _Interner()
    with ProcessPoolExecutor(max_workers=jobs, mp_context=_mp_context()) as pool:
        for chunk in pool.map(_read_chunk, chunks):
            for record in chunk:
                yield interner.record(record)
            done += len(chunk)
            if progress is not None:
                progress(done, total)


def _record_for(entry: str | Problem) -> ProvenanceRecord:
    if isinstance(entry, Problem):
        return ProvenanceRecord.failed(entry.path, entry.code, entry.message)
    return read_record(entry)


def _read_chunk(entries: Sequence[str | Problem]) -> list[ProvenanceRecord]:
    # Interning inside the chunk lets pickle send each repeated value once.
    interner = _Interner()
    return [interner.record(_record_for(entry)) for entry in entries]


def _mp_context() -> Any:
    # fork starts workers fastest, but is unsafe once threads exist (and is not
    # available on Windows, nor the default on macOS).
    if sys.platform.startswith("linux") and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


class _Interner:
    """Share equal values between records: datasets repeat most header values.

    Only strings are shared (``True == 1`` in a dict, so other types must not be),
    and whole tuples of strings, which is what R_* and S_* values are.
    """

    def __init__(self) -> None:
        self._strings: dict[str, str] = {}
        self._tuples: dict[tuple[str, ...], tuple[str, ...]] = {}

    def _values(self, values: tuple[Any, ...]) -> tuple[Any, ...]:
        strings = self._strings
        if all(type(value) is str for value in values):
            shared = self._tuples.get(values)
            if shared is None:
                shared = tuple(strings.setdefault(value, value) for value in values)
                self._tuples[shared] = shared
            return shared
        return tuple(strings.setdefault(value, value) if type(value) is str else value
                     for value in values)

    def _map(self, mapping: KeywordMap) -> KeywordMap:
        keys, values = mapping.items_tuple()
        return KeywordMap(keys, self._values(values))

    def record(self, record: ProvenanceRecord) -> ProvenanceRecord:
        return ProvenanceRecord(
            record.path, self._map(record.keywords), self._map(record.reference_files),
            self._map(record.step_status), record.size, record.error_code, record.error,
            record.instrument, record.mode, record.suffix,
        )
