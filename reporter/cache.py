"""A cache of scanned headers, so that rescanning an unchanged dataset reads none.

Entries are keyed on (absolute path, size, modification time) for local files and
(URL, ETag or size) for remote ones, and hold the record as JSON (never pickle: the
cache is a file anyone could edit). The cache is a SQLite database in the user's
cache folder (``platformdirs``) or a file given with ``--cache``. A cache that
cannot be read is moved aside and rebuilt, with a warning; a row that does not
decode is a miss.
"""

from __future__ import annotations

import json
import os
import sqlite3
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

from .records import ProvenanceRecord

__all__ = ["CacheWarning", "ScanCache", "default_cache_path", "entry_key"]

SCHEMA = 1


class CacheWarning(UserWarning):
    """The cache could not be used as it was (it is rebuilt)."""


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


class ScanCache:
    """Scanned records by key, in a SQLite file."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.hits = 0
        self.misses = 0
        self._connection = self._open()

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            connection = sqlite3.connect(self.path)
            connection.execute("CREATE TABLE IF NOT EXISTS meta (schema INTEGER)")
            connection.execute("CREATE TABLE IF NOT EXISTS records (key TEXT PRIMARY KEY, "
                               "value TEXT NOT NULL)")
            row = connection.execute("SELECT schema FROM meta").fetchone()
            if row is None:
                connection.execute("INSERT INTO meta VALUES (?)", (SCHEMA,))
                connection.commit()
            elif row[0] != SCHEMA:
                raise sqlite3.DatabaseError(f"schema {row[0]}, expected {SCHEMA}")
            connection.execute("SELECT count(*) FROM records").fetchone()
            return connection
        except sqlite3.DatabaseError as exc:
            aside = self.path.with_name(self.path.name + ".corrupt")
            warnings.warn(f"the scan cache {self.path} could not be read ({exc}); it is "
                          f"rebuilt (the old file is kept as {aside.name})", CacheWarning,
                          stacklevel=3)
            os.replace(self.path, aside)
            return self._open()

    def get_many(self, keys: Sequence[str]) -> dict[str, ProvenanceRecord]:
        """The cached records of these keys (missing keys are left out)."""
        from .formats import _record_from_fields

        found: dict[str, ProvenanceRecord] = {}
        for start in range(0, len(keys), 500):
            batch = list(keys[start:start + 500])
            marks = ",".join("?" * len(batch))
            rows = self._connection.execute(
                f"SELECT key, value FROM records WHERE key IN ({marks})", batch).fetchall()
            for key, value in rows:
                try:
                    found[key] = _record_from_fields(json.loads(value))
                except (ValueError, KeyError, TypeError):
                    continue  # a damaged row is a miss, and is rewritten
        self.hits += len(found)
        self.misses += len(keys) - len(found)
        return found

    def put_many(self, items: Iterable[tuple[str, ProvenanceRecord]]) -> None:
        from .formats import _FILE_COLUMNS

        rows = []
        for key, record in items:
            if record.error_code in ("missing", "permission", "timeout", "unreadable"):
                continue  # passing troubles are not facts about the file
            fields = {name: getattr(record, name) for name in _FILE_COLUMNS}
            fields.update(record.keywords.to_dict())
            fields.update(record.reference_files.to_dict())
            fields.update(record.step_status.to_dict())
            rows.append((key, json.dumps(fields, ensure_ascii=False)))
        with self._connection:
            self._connection.executemany("INSERT OR REPLACE INTO records VALUES (?, ?)", rows)

    def close(self) -> None:
        self._connection.close()
