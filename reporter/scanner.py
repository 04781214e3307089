"""Scan a dataset: expand the inputs, read every primary header, keep every record.

A file that cannot be read never stops the scan: it becomes a record with an error.
Large scans are spread over worker processes (header parsing is CPU-bound, so
threads would not help); small ones run in this process, where starting workers
would cost more than it saves.
"""

from __future__ import annotations

import math
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from . import __version__
from .errors import NoFilesFound, UsageError
from .headers import HeaderError, read_provenance
from .inventory import Inventory
from .records import ProvenanceRecord
from .sources import Problem, expand_inputs

if TYPE_CHECKING:
    from .cache import ScanCache

__all__ = ["default_jobs", "read_record", "scan", "scan_files"]

#: Progress callback: called with (files done, files in all).
Progress = Callable[[int, int], None]

# Below this many files, worker start-up costs more than it saves.
_PARALLEL_THRESHOLD = 4000
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
    storage_options: dict | None = None,
    remote_jobs: int | None = None,
    cache: ScanCache | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    inputs: bool = False,
    timeout: float | None = None,
    read_timeout: float | None = None,
) -> Inventory:
    """Scan files, directories, glob patterns and ``@manifest`` files.

    Parameters
    ----------
    paths
        What to scan (see :func:`reporter.sources.expand_inputs`).
    jobs
        Worker processes; default: the CPUs available. ``1`` scans in this process.
    storage_options
        For URLs: passed to fsspec (``{"anon": True}``, an endpoint, ...).
    remote_jobs
        Remote requests in flight at once (default 32).
    cache
        A :class:`reporter.cache.ScanCache`: files it knows unchanged are not read.
    executor, scheduler
        ``"dask"`` spreads the reading over a Dask cluster (``scheduler`` is its
        address; default: a local cluster). Workers must see the same paths.
    inputs
        Also read the HDRTAB of combined products (i2d, s3d, x1d, ...): each row
        becomes a record of :attr:`Inventory.inputs`, linked by ``parent``.
    progress
        Called as ``progress(done, total)`` while the scan goes on.
    timeout
        Seconds the whole scan may take, for remote files: those not read by then
        become records with the code ``timeout``; every record read is kept. Local
        files are always read. None (the default): no limit.
    read_timeout
        Seconds each remote request may take (default 60). Whatever the limits, a
        host that fails several requests in a row is not tried again: its other
        files become records with the code ``host-unavailable``.

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
    limits = _Limits(None if timeout is None else time.time() + timeout, read_timeout)
    named = [os.fspath(path) for path in paths]
    expansion = expand_inputs(named, storage_options)
    if not expansion.entries:
        raise NoFilesFound(expansion.searched, expansion.skipped)
    if executor not in ("local", "dask"):
        raise UsageError(f"unknown executor {executor!r}; choose local or dask")
    if executor == "dask":
        records = _scan_dask(expansion.entries, scheduler, storage_options, remote_jobs,
                             progress, limits)
    elif cache is None:
        records = _scan_all(expansion.entries, jobs, progress, storage_options, remote_jobs,
                            limits)
    else:
        records = _scan_cached(expansion.entries, cache, jobs, progress, storage_options,
                               remote_jobs, limits)
    meta_cache = {"cache": {"file": str(cache.path), "hits": cache.hits,
                            "misses": cache.misses}} if cache is not None else {}
    children: list[ProvenanceRecord] = []
    if inputs:
        children, level3 = _read_inputs(records)
        meta_cache["level3_inputs"] = level3
        meta_cache["associations"] = _read_associations(expansion.associations, records)
        meta_cache["catalogs"] = _read_catalogs(expansion.catalogs)
    return Inventory(
        records,
        inputs=children,
        skipped=expansion.skipped,
        meta={
            "tool": f"jwst-provenance {__version__}",
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "inputs": named,
            "elapsed_seconds": round(time.perf_counter() - started, 3),
            **meta_cache,
        },
    )


def scan_files(files: Sequence[str], *, jobs: int | None = None,
               progress: Progress | None = None) -> list[ProvenanceRecord]:
    """Read the given files (no expansion) and return their records in order."""
    return list(_scan_entries(list(files), jobs, progress))


def _read_inputs(records: Sequence[ProvenanceRecord]) -> tuple[list[ProvenanceRecord], dict]:
    """The HDRTAB rows of the local combined products, as child records; and the counts."""
    from .headers import CORE_KEYWORDS, HeaderError
    from .level3 import COMBINED_SUFFIXES, read_hdrtab
    from .records import KeywordMap
    from .remote import is_url

    core = set(CORE_KEYWORDS)
    children: list[ProvenanceRecord] = []
    products = read = 0
    problems: dict[str, str] = {}
    for record in records:
        if not record.ok or record.suffix not in COMBINED_SUFFIXES or is_url(record.path):
            continue
        try:
            table = read_hdrtab(record.path)
        except HeaderError as exc:
            problems[record.path] = exc.message
            continue
        if table is None:
            continue
        products += 1
        read += table.bytes_read
        for number, row in enumerate(table.rows, 1):
            keywords = {k: v for k, v in row.items() if k in core}
            children.append(ProvenanceRecord.build(
                f"{record.path}[HDRTAB row {number}]", KeywordMap.from_dict(keywords),
                KeywordMap.from_dict({k: v for k, v in row.items() if k[:2] == "R_"}),
                KeywordMap.from_dict({k: v for k, v in row.items() if k[:2] == "S_"}),
                parent=record.path))
    return children, {"products_with_inputs": products, "inputs": len(children),
                      "bytes_read": read, "problems": problems}


def _read_catalogs(paths: Sequence[str]) -> list[dict]:
    """The software versions of the ECSV products found (their headers only)."""
    from .level3 import read_catalog

    found = []
    for path in paths:
        try:
            catalog = read_catalog(path)
        except Exception as exc:  # noqa: BLE001 - a bad file is listed with its error
            found.append({"path": path, "error": f"{type(exc).__name__}: {exc}"})
            continue
        if catalog is not None:
            del catalog["rows"]
            found.append(catalog)
    return found


def _read_associations(paths: Sequence[str], records: Sequence[ProvenanceRecord]) -> list[dict]:
    """The association files found, each linked to the products whose ASNTABLE names it."""
    from .level3 import read_association

    named: dict[str, list[str]] = {}
    for record in records:
        table = record.keywords.get("ASNTABLE")
        if isinstance(table, str) and table.strip():
            named.setdefault(os.path.basename(table.strip()), []).append(record.path)
    found = []
    for path in paths:
        try:
            association = read_association(path)
        except (OSError, ValueError) as exc:
            found.append({"path": path, "error": f"{type(exc).__name__}: {exc}"})
            continue
        association["linked_products"] = named.get(os.path.basename(path), [])
        found.append(association)
    return found


class _Limits(NamedTuple):
    """The time limits of the remote reads, picklable for Dask workers."""

    #: Wall-clock time (``time.time()``) the scan's time runs out; a clock, not a
    #: duration, so that Dask tasks started late get only what is left.
    ends_at: float | None = None
    read_timeout: float | None = None

    def remaining(self) -> float | None:
        return None if self.ends_at is None else max(0.0, self.ends_at - time.time())


def _dask_chunk(entries: Sequence, storage_options: dict | None,
                remote_jobs: int | None, limits: _Limits | None = None) -> list[ProvenanceRecord]:
    """One task on a Dask worker: the records of a chunk of entries."""
    return _scan_all(entries, 1, None, storage_options, remote_jobs, limits)


def _scan_dask(entries: Sequence, scheduler: str | None, storage_options: dict | None,
               remote_jobs: int | None, progress: Progress | None,
               limits: _Limits | None = None) -> list[ProvenanceRecord]:
    """Spread the reading over a Dask cluster, in chunks; records come back in order."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise UsageError("the dask executor needs dask.distributed: "
                         "pip install 'jwst-provenance[dask]'") from None
    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(n_workers=default_jobs(), threads_per_worker=1,
                               dashboard_address=None)
        client = Client(cluster)
    try:
        chunks = [entries[i:i + _CHUNK] for i in range(0, len(entries), _CHUNK)]
        futures = client.map(_dask_chunk, chunks, storage_options=storage_options,
                             remote_jobs=remote_jobs, limits=limits, pure=False)
        sizes = {future.key: len(chunk) for future, chunk in zip(futures, chunks)}
        done = 0
        for future in as_completed(futures):
            done += sizes[future.key]
            if progress is not None:
                progress(done, len(entries))
        interner = _Interner()
        return [record for future in futures for record in interner.chunk(future.result())]
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _scan_cached(entries: Sequence, cache: ScanCache, jobs: int | None,
                 progress: Progress | None, storage_options: dict | None,
                 remote_jobs: int | None, limits: _Limits | None = None) -> list[ProvenanceRecord]:
    """Records from the cache where the file is unchanged; the rest are read, then cached."""
    import dataclasses

    from .cache import entry_key
    from .remote import TRANSIENT_CODES, RemoteFile

    keys = [entry_key(entry) for entry in entries]
    found = cache.get_many([key for key in keys if key])
    records: list[ProvenanceRecord | None] = [None] * len(entries)
    todo = []
    for index, (entry, key) in enumerate(zip(entries, keys)):
        if key is not None and key in found:
            path = entry.url if isinstance(entry, RemoteFile) else entry
            records[index] = dataclasses.replace(found[key], path=path)
        else:
            todo.append(index)
    fresh = _scan_all([entries[i] for i in todo], jobs, progress, storage_options, remote_jobs,
                      limits)
    for index, record in zip(todo, fresh):
        records[index] = record
    # A file not read for want of time or of its host is not a fact about the file.
    cache.put_many((keys[i], records[i]) for i in todo if keys[i] is not None
                   and records[i].error_code not in TRANSIENT_CODES)  # type: ignore[union-attr]
    return records  # type: ignore[return-value]


def _scan_all(entries: Sequence, jobs: int | None, progress: Progress | None,
              storage_options: dict | None, remote_jobs: int | None,
              limits: _Limits | None = None) -> list[ProvenanceRecord]:
    """Local entries through the reader (processes for many), remote ones on threads;
    the records come back in the order of the entries."""
    from .remote import RemoteFile

    remote = [(i, e) for i, e in enumerate(entries) if isinstance(e, RemoteFile)]
    if not remote:
        return list(_scan_entries(entries, jobs, progress))
    from .remote import scan_remote

    local = [(i, e) for i, e in enumerate(entries) if not isinstance(e, RemoteFile)]
    records: list[ProvenanceRecord | None] = [None] * len(entries)
    for (index, _), record in zip(local, _scan_entries([e for _, e in local], jobs, None)):
        records[index] = record
    total = len(entries)

    def tick(count: int) -> None:
        if progress is not None:
            progress(len(local) + count, total)

    limits = limits or _Limits()
    # The time left is taken now: the local files above have had their share.
    found = scan_remote([e for _, e in remote], storage_options, jobs=remote_jobs, progress=tick,
                        timeout=limits.remaining(), read_timeout=limits.read_timeout)
    for (index, _), record in zip(remote, found):
        records[index] = record
    return records  # type: ignore[return-value]


def _scan_entries(entries: Sequence[str | Problem], jobs: int | None,
                  progress: Progress | None) -> Iterator[ProvenanceRecord]:
    jobs = default_jobs() if jobs is None else max(1, jobs)
    total = len(entries)
    done = 0
    chunks = [entries[i:i + _CHUNK] for i in range(0, total, _CHUNK)]
    if jobs == 1 or total < _PARALLEL_THRESHOLD:
        for chunk in chunks:
            yield from map(_record_for, chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
        return
    # Imported here: a small scan should not pay for them at start-up.
    from concurrent.futures import ProcessPoolExecutor

    # This process reads a share of the chunks itself rather than wait: records
    # from workers cost it a copy (pickle) and a pass to share repeated values,
    # about a third of what reading them would. One chunk in ``jobs`` stays here,
    # which balances the two on two cores.
    interner = _Interner()
    local = jobs
    with ProcessPoolExecutor(max_workers=jobs - 1 if jobs > 2 else 1,
                             mp_context=_mp_context()) as pool:
        futures = {number: pool.submit(_read_chunk, chunk)
                   for number, chunk in enumerate(chunks) if number % local}
        for number, chunk in enumerate(chunks):
            if number % local == 0:
                records = [_record_for(entry) for entry in chunk]
            else:
                records = interner.chunk(futures.pop(number).result())
            yield from records
            done += len(chunk)
            if progress is not None:
                progress(done, total)


def _record_for(entry: str | Problem) -> ProvenanceRecord:
    if isinstance(entry, Problem):
        return ProvenanceRecord.failed(entry.path, entry.code, entry.message)
    return read_record(entry)


def _read_chunk(entries: Sequence[str | Problem]) -> list[ProvenanceRecord]:
    # The reader's caches hand out one object per repeated value, so pickle
    # already sends each of them once per chunk.
    return [_record_for(entry) for entry in entries]


def _mp_context() -> Any:
    import multiprocessing

    # fork starts workers fastest, but is unsafe once threads exist (and is not
    # available on Windows, nor the default on macOS).
    if sys.platform.startswith("linux") and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


class _Interner:
    """Share the R_*/S_* values of records that came from worker processes.

    Within one chunk pickle keeps shared objects shared; across chunks each has
    its own copies, which at 100,000 files would cost tens of MB. Each distinct
    tuple object of a chunk is looked up once, by identity.

    Tuples are keyed on their values' types too: ``1 == 1.0 == True`` (and
    ``0.0 == -0.0``), so keyed on values alone a record could be handed a value
    of another type than its header's (``T`` read back as ``1``).
    """

    def __init__(self) -> None:
        self._tuples: dict[tuple[Any, ...], tuple[Any, ...]] = {}

    def chunk(self, records: list[ProvenanceRecord]) -> list[ProvenanceRecord]:
        shared_by_id: dict[int, tuple[Any, ...]] = {}
        for record in records:
            for mapping in (record.reference_files, record.step_status):
                values = mapping.values_tuple
                shared = shared_by_id.get(id(values))
                if shared is None:
                    shared = shared_by_id[id(values)] = self._tuples.setdefault(
                        _typed_key(values), values)
                if shared is not values:
                    mapping.share_values(shared)
        return records


def _typed_key(values: tuple[Any, ...]) -> tuple[Any, ...]:
    """A key equal only for tuples of equal values of the same types."""
    types = tuple(map(type, values))
    if float in types:  # rare (R_*/S_* values are strings): tell -0.0 from 0.0
        return (types, values, tuple(math.copysign(1.0, v) if type(v) is float else None
                                     for v in values))
    return (types, values)
