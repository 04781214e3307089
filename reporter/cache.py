"""A cache of scanned headers, so that rescanning an unchanged dataset reads none.

Entries are keyed on (absolute path, size, modification time) for local files and
(URL, ETag or size) for remote ones, and hold the record as JSON (never pickle: the
cache is a file anyone could edit) with a SHA-256 digest of key and JSON. The cache
is a SQLite database in the user's cache folder (``platformdirs``) or a file given
with ``--cache``.

The cache never stops a scan; at worst a scan reads every header. Each case gives
one :class:`CacheWarning`:

* a cache the user may not write is used for reading only;
* a cache another process keeps locked past the wait (``timeout``) is not used,
  and never taken for a damaged one;
* a file that is not a cache of ours, or is damaged, is set aside under a new name
  (``NAME.corrupt-<time>-<n>``, never replacing a file) and a new cache is begun;
* a folder, or anything else that is not a file, at the cache's path is left
  alone, and no cache is used;

and a row that does not decode, does not match its digest or its key, or does not
hold a record, is a miss (and is written again).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import stat
import time
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .records import ProvenanceRecord

__all__ = ["CacheWarning", "ScanCache", "default_cache_path", "entry_key"]

#: The layout of the database; a cache of an older layout is emptied and reused.
SCHEMA = 2
_COLUMNS = ["key", "value", "digest"]
#: SQLite's primary result codes (https://sqlite.org/rescode.html) that we tell apart.
_BUSY, _LOCKED, _READONLY, _CANTOPEN, _CORRUPT, _NOTADB, _PERM = 5, 6, 8, 14, 11, 26, 3


class CacheWarning(UserWarning):
    """The scan cache could not be used as it was: it is used for reading only, set
    aside and begun again, or not used (every header is then read)."""


class _Damaged(Exception):
    """The file at the cache's path is not a cache of ours, or is damaged."""


class _Unusable(Exception):
    """The cache cannot be used now (locked, of a newer layout, cannot be made)."""


def default_cache_path() -> Path:
    """``$JWST_PROVENANCE_CACHE``, else the user's cache folder."""
    configured = os.environ.get("JWST_PROVENANCE_CACHE")
    if configured:
        return Path(configured)
    import platformdirs

    return Path(platformdirs.user_cache_dir("jwst-provenance")) / "headers.sqlite"


def entry_key(entry: object) -> str | None:
    """The cache key of a local path or remote file; None when it cannot be keyed."""
    from .remote import RemoteFile

    if isinstance(entry, RemoteFile):
        version = entry.etag or (str(entry.size) if entry.size is not None else None)
        return f"{entry.url}\0{version}" if version else None
    if isinstance(entry, str):
        try:
            info = os.stat(entry)
        except OSError:
            return None
        return f"{os.path.abspath(entry)}\0{info.st_size}\0{info.st_mtime_ns}"
    return None


def _digest(key: str, value: bytes) -> str:
    return hashlib.sha256(key.encode("utf-8") + b"\0" + value).hexdigest()


def _code(error: Exception) -> int | None:
    code = getattr(error, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None  # extended codes → primary


class ScanCache:
    """Scanned records by key, in a SQLite file; see the module's doc for what it
    does with a cache it cannot use as it is.

    ``timeout`` is how long (seconds) to wait for another process's lock.
    ``usable`` and ``read_only`` say what came of opening it.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 10.0):
        self.path = Path(path)
        self.timeout = timeout
        self.hits = 0
        self.misses = 0
        self.read_only = False
        self._connection: sqlite3.Connection | None = None
        self._connection = self._open()

    @property
    def usable(self) -> bool:
        """Whether records are read from (and, unless read-only, written to) the cache."""
        return self._connection is not None

    def _warn(self, message: str) -> None:
        warnings.warn(f"the scan cache {self.path} {message}", CacheWarning, stacklevel=4)

    # Opening ---------------------------------------------------------------

    def _open(self, fresh: bool = False) -> sqlite3.Connection | None:
        """A connection to a cache of ours, or None (after one warning)."""
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            info = None
        except OSError as exc:
            self._warn(f"cannot be read ({exc.strerror or exc}); no cache is used")
            return None
        if info is not None and not stat.S_ISREG(info.st_mode):
            what = "a folder" if stat.S_ISDIR(info.st_mode) else "not a file"
            self._warn(f"is {what}; it is left as it is and no cache is used")
            return None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            self._warn(f"cannot be made ({exc.strerror or exc}); no cache is used")
            return None
        if info is not None and not _may_write(self.path):
            return self._open_read_only()
        try:
            connection = self._connect()
            try:
                self._prepare(connection, writable=True)
            except BaseException:
                connection.close()
                raise
            return connection
        except (_Damaged, UnicodeDecodeError) as exc:
            # SQLite's own message quoting a damaged schema may not be UTF-8.
            return self._begin_again(str(exc), fresh)
        except _Unusable as exc:
            self._warn(f"{exc}; no cache is used")
            return None
        except sqlite3.Error as exc:
            code = _code(exc)
            if code in (_CORRUPT, _NOTADB):
                return self._begin_again(str(exc), fresh)
            if code in (_BUSY, _LOCKED):
                self._warn(f"is locked by another process (waited {self.timeout:g} s); "
                           "no cache is used")
                return None
            if code in (_READONLY, _CANTOPEN, _PERM) and self.path.is_file():
                return self._open_read_only()
            self._warn(f"cannot be used ({exc}); no cache is used")
            return None

    def _connect(self, read_only: bool = False) -> sqlite3.Connection:
        if read_only:
            uri = self.path.resolve().as_uri() + "?mode=ro"
            connection = sqlite3.connect(uri, uri=True, timeout=self.timeout,
                                         isolation_level=None)
        else:
            connection = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        # Bytes, decoded row by row: one row that is not UTF-8 must not fail a query.
        connection.text_factory = bytes
        return connection

    def _open_read_only(self) -> sqlite3.Connection | None:
        try:
            connection = self._connect(read_only=True)
            try:
                self._prepare(connection, writable=False)
            except BaseException:
                connection.close()
                raise
        except (sqlite3.Error, UnicodeDecodeError, _Damaged, _Unusable) as exc:
            if isinstance(exc, sqlite3.Error) and _code(exc) in (_BUSY, _LOCKED):
                exc = f"is locked by another process (waited {self.timeout:g} s)"
            self._warn(f"is read-only and cannot be used ({exc}); no cache is used")
            return None
        self.read_only = True
        self._warn("is read-only: it is read, and the headers read now are not added")
        return connection

    def _prepare(self, connection: sqlite3.Connection, writable: bool) -> None:
        """Check the database is a cache of ours; make or update it when it may be written."""
        state = _inspect(connection)
        if state == "current":
            return
        if not writable:
            raise _Unusable("it holds no cache of this version")
        # Another process may be making it too: look again under the write lock.
        connection.execute("BEGIN IMMEDIATE")
        try:
            state = _inspect(connection)
            if state == "older":
                connection.execute("DROP TABLE records")
                connection.execute("DELETE FROM meta")
            if state in ("empty", "older"):
                connection.execute("CREATE TABLE IF NOT EXISTS meta (schema INTEGER)")
                connection.execute("CREATE TABLE records (key TEXT PRIMARY KEY, "
                                   "value TEXT NOT NULL, digest TEXT NOT NULL)")
                connection.execute("INSERT INTO meta VALUES (?)", (SCHEMA,))
            connection.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                connection.execute("ROLLBACK")
            raise

    def _begin_again(self, reason: str, fresh: bool) -> sqlite3.Connection | None:
        """Set the damaged file aside and begin a new cache (once)."""
        if fresh:
            self._warn(f"cannot be made ({reason}); no cache is used")
            return None
        try:
            aside = _set_aside(self.path)
        except OSError as exc:
            self._warn(f"cannot be read ({reason}) nor set aside ({exc.strerror or exc}); "
                       "no cache is used")
            return None
        self._warn(f"could not be read ({reason}); it is kept as {aside.name} and a new "
                   "cache is begun")
        return self._open(fresh=True)

    def _recover(self, error: sqlite3.Error | UnicodeDecodeError) -> None:
        """After a failed query: damage found mid-scan → begin again; anything else
        (locked past the wait, a full disk) → no more cache for this scan."""
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(sqlite3.Error):
                connection.close()
        damaged = isinstance(error, UnicodeDecodeError) or _code(error) in (_CORRUPT, _NOTADB)
        if damaged and not self.read_only:
            self._connection = self._begin_again(str(error), False)
        elif _code(error) == _READONLY:
            self._warn("is read-only: the headers read now are not added")
        elif _code(error) in (_BUSY, _LOCKED):
            self._warn(f"is locked by another process (waited {self.timeout:g} s); "
                       "no cache is used for the rest of this scan")
        else:
            self._warn(f"failed ({error}); no cache is used for the rest of this scan")

    # Reading and writing ---------------------------------------------------

    def get_many(self, keys: Sequence[str]) -> dict[str, ProvenanceRecord]:
        """The cached records of these keys (missing and damaged rows are left out)."""
        found: dict[str, ProvenanceRecord] = {}
        for start in range(0, len(keys), 500):
            if self._connection is None:
                break
            batch = [key for key in keys[start:start + 500] if _storable(key)]
            marks = ",".join("?" * len(batch))
            try:
                rows = self._connection.execute(
                    f"SELECT key, value, digest FROM records WHERE key IN ({marks})",
                    batch).fetchall()
            except (sqlite3.Error, UnicodeDecodeError) as exc:
                self._recover(exc)
                break
            wanted = set(batch)
            for row in rows:
                checked = _checked(row, wanted)
                if checked is not None:
                    found[checked[0]] = checked[1]
        self.hits += len(found)
        self.misses += len(keys) - len(found)
        return found

    def put_many(self, items: Iterable[tuple[str, ProvenanceRecord]]) -> None:
        """Cache these records (not passing troubles such as a missing file)."""
        from .formats import _FILE_COLUMNS

        if self._connection is None or self.read_only:
            return
        rows = []
        for key, record in items:
            if record.error_code in ("missing", "permission", "timeout", "unreadable"):
                continue  # passing troubles are not facts about the file
            if not _storable(key):
                continue
            fields = {name: getattr(record, name) for name in _FILE_COLUMNS}
            fields.update(record.keywords.to_dict())
            fields.update(record.reference_files.to_dict())
            fields.update(record.step_status.to_dict())
            value = json.dumps(fields, ensure_ascii=True)
            rows.append((key, value, _digest(key, value.encode("ascii"))))
        if not rows:
            return
        try:
            self._connection.execute("BEGIN IMMEDIATE")
            self._connection.executemany("INSERT OR REPLACE INTO records VALUES (?, ?, ?)", rows)
            self._connection.execute("COMMIT")
        except (sqlite3.Error, UnicodeDecodeError) as exc:
            with contextlib.suppress(sqlite3.Error, UnicodeDecodeError):
                self._connection.execute("ROLLBACK")
            self._recover(exc)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _storable(key: str) -> bool:
    """Whether SQLite can hold the key as text (a path that is not UTF-8 cannot)."""
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _may_write(path: Path) -> bool:
    """Whether this user may change the file and make its journal beside it."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)


def _inspect(connection: sqlite3.Connection) -> str:
    """``current``, ``older`` (ours, an earlier layout) or ``empty``.

    Raises ``_Damaged`` for a database that is not a cache of ours, ``_Unusable``
    for one of a newer layout (a newer jwst-provenance uses it: left alone).
    """
    tables = {bytes(name).decode("utf-8", "replace") for (name,) in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")}
    if not tables:
        return "empty"
    if tables != {"meta", "records"}:
        raise _Damaged(f"not a scan cache: its tables are {', '.join(sorted(tables))}")
    schemas = connection.execute("SELECT schema FROM meta").fetchall()
    if len(schemas) != 1 or not isinstance(schemas[0][0], int) or schemas[0][0] < 1:
        raise _Damaged("not a scan cache: no layout number")
    schema = schemas[0][0]
    if schema > SCHEMA:
        raise _Unusable(f"is of a newer layout ({schema}) than this jwst-provenance reads")
    if schema < SCHEMA:
        return "older"
    columns = [bytes(row[1]).decode("utf-8", "replace")
               for row in connection.execute("PRAGMA table_info(records)")]
    if columns != _COLUMNS:
        raise _Damaged("not a scan cache: its records have other columns")
    return "current"


def _checked(row: tuple[Any, ...], wanted: set[str]) -> tuple[str, ProvenanceRecord] | None:
    """The (key, record) of a row, or None when anything about the row is wrong."""
    from .formats import _record_from_fields

    key, value, digest = row
    if not all(isinstance(part, bytes) for part in row):
        return None
    try:
        key_text = key.decode("utf-8")
        if key_text not in wanted or digest.decode("ascii") != _digest(key_text, value):
            return None
        fields = json.loads(value)
    except (UnicodeDecodeError, ValueError):
        return None
    if not _is_record(fields):
        return None
    try:
        return key_text, _record_from_fields(fields)
    except Exception:  # noqa: BLE001 - whatever a bad row holds, it is only a miss
        return None


def _is_record(fields: object) -> bool:
    """A JSON object of scalars with a string path: what put_many writes."""
    return (isinstance(fields, dict) and isinstance(fields.get("path"), str)
            and all(isinstance(name, str) and (value is None or isinstance(
                value, (str, int, float, bool))) for name, value in fields.items())
            and (fields.get("size") is None or type(fields["size"]) is int))


def _set_aside(path: Path) -> Path:
    """Rename a damaged cache (and its journal) to a name no file has; the new name.

    A hard link then an unlink, so that an existing file is never replaced; where
    the file system has no hard links, a rename to a name checked to be free.
    """
    stamp = time.strftime("%Y%m%dT%H%M%S")
    number = 1
    while True:
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{number}")
        if not os.path.lexists(aside) and not any(
                os.path.lexists(f"{aside}{suffix}") for suffix in ("-journal", "-wal", "-shm")):
            try:
                os.link(path, aside, follow_symlinks=False)
            except FileExistsError:
                number += 1
                continue
            except OSError:  # no hard links here
                os.rename(path, aside)
            else:
                os.unlink(path)
            break
        number += 1
    # A journal left beside the damaged file would be played into the new cache.
    for suffix in ("-journal", "-wal", "-shm"):
        with contextlib.suppress(OSError):
            if os.path.isfile(f"{path}{suffix}"):
                os.rename(f"{path}{suffix}", f"{aside}{suffix}")
    return aside
