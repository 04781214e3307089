"""The scan cache: unchanged files are not read again; changed files are; whatever
state the cache is in, the scan goes on and its records are right."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import warnings

import pytest
from fitsfiles import fits_bytes, write
from typer.testing import CliRunner

import reporter
import reporter.headers
from reporter.cache import SCHEMA, CacheWarning, ScanCache
from reporter.cli import app


@pytest.fixture
def reads(monkeypatch):
    """Count the header reads of local files."""
    count = {"files": 0}
    original = reporter.headers.read_header_bytes

    def counting(path):
        count["files"] += 1
        return original(path)

    monkeypatch.setattr(reporter.headers, "read_header_bytes", counting)
    return count


@pytest.fixture
def data(tmp_path):
    folder = tmp_path / "data"
    for number in range(5):
        write(folder / f"jw01345001001_02101_0000{number}_nrca1_cal.fits",
              fits_bytes(CAL_VER="1.14.0", FILENAME=f"f{number}"))
    return folder


def scan(data, cache):
    return reporter.scan([str(data)], jobs=1, cache=cache)


def cache_warnings(caught) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, CacheWarning)]


def opened(path, **options) -> tuple[ScanCache, list[str]]:
    """A ScanCache, and the cache warnings opening it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cache = ScanCache(path, **options)
    return cache, cache_warnings(caught)


def asides(path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if p.name.startswith(f"{path.name}.corrupt"))


def test_rescanning_an_unchanged_dataset_reads_no_header(tmp_path, data, reads):
    cache = ScanCache(tmp_path / "cache.sqlite")
    first = scan(data, cache)
    assert reads["files"] == 5 and cache.misses == 5
    second = scan(data, ScanCache(tmp_path / "cache.sqlite"))
    assert reads["files"] == 5  # nothing read again
    assert second == first and second.meta["cache"]["hits"] == 5
    assert [r.path for r in second] == [r.path for r in first]


def test_a_changed_file_is_read_again(tmp_path, data, reads):
    scan(data, ScanCache(tmp_path / "c.sqlite"))
    changed = data / "jw01345001001_02101_00002_nrca1_cal.fits"
    write(changed, fits_bytes(CAL_VER="1.19.2", FILENAME="f2"))
    os.utime(changed, ns=(1, 1))  # a new modification time, whatever the clock says
    inventory = scan(data, ScanCache(tmp_path / "c.sqlite"))
    assert reads["files"] == 6
    assert [r.cal_ver for r in inventory].count("1.19.2") == 1


def test_passing_failures_are_not_cached(tmp_path):
    cache = ScanCache(tmp_path / "c.sqlite")
    missing = str(tmp_path / "gone_cal.fits")
    reporter.scan([missing], jobs=1, cache=cache)
    with sqlite3.connect(tmp_path / "c.sqlite") as connection:
        assert connection.execute("SELECT count(*) FROM records").fetchone()[0] == 0


def test_cli_cache_options(tmp_path, data, reads):
    runner = CliRunner()
    cache = tmp_path / "mine.sqlite"
    assert runner.invoke(app, ["scan", str(data), "--cache", str(cache)]).exit_code == 0
    result = runner.invoke(app, ["scan", str(data), "--cache", str(cache)])
    assert "5 unchanged, from the scan cache" in result.stdout and reads["files"] == 5
    result = runner.invoke(app, ["scan", str(data), "--no-cache"])
    assert "scan cache" not in result.stdout and reads["files"] == 10


# Damaged files: set aside under a new name, never replacing one -----------------

def test_a_corrupt_cache_is_set_aside_under_new_names(tmp_path, data):
    path = tmp_path / "c.sqlite"
    for number, junk in enumerate((b"this is not a database" * 100, b"nor this" * 100), 1):
        path.write_bytes(junk)
        cache, said = opened(path)
        assert len(said) == 1 and "a new cache is begun" in said[0], said
        assert cache.usable and len(scan(data, cache)) == 5
        assert len(asides(path)) == number  # the earlier one is not replaced
    kept = sorted((tmp_path / name).read_bytes() for name in asides(path))
    assert kept == sorted([b"this is not a database" * 100, b"nor this" * 100])
    assert all(name.startswith("c.sqlite.corrupt-") for name in asides(path))


def test_another_programs_database_is_set_aside_whole(tmp_path, data):
    path = tmp_path / "c.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE notes (text TEXT)")
        connection.execute("INSERT INTO notes VALUES ('mine')")
    connection.close()
    cache, said = opened(path)
    assert len(said) == 1 and "not a scan cache" in said[0]
    [aside] = asides(path)
    with sqlite3.connect(tmp_path / aside) as connection:
        assert connection.execute("SELECT text FROM notes").fetchall() == [("mine",)]
    connection.close()
    assert len(scan(data, cache)) == 5 and cache.misses == 5


def test_a_cache_of_an_older_layout_is_emptied_and_reused(tmp_path, data, reads):
    path = tmp_path / "c.sqlite"
    with sqlite3.connect(path) as connection:  # what the first layout looked like
        connection.execute("CREATE TABLE meta (schema INTEGER)")
        connection.execute("CREATE TABLE records (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        connection.execute("INSERT INTO meta VALUES (1)")
        connection.execute("INSERT INTO records VALUES ('x', 'null')")
    connection.close()
    cache, said = opened(path)
    assert said == [] and cache.usable
    scan(data, cache)
    assert scan(data, ScanCache(path)).meta["cache"]["hits"] == 5 and asides(path) == []


def test_a_cache_of_a_newer_layout_is_left_alone(tmp_path, data):
    path = tmp_path / "c.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE meta (schema INTEGER)")
        connection.execute("CREATE TABLE records (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        connection.execute("INSERT INTO meta VALUES (?)", (SCHEMA + 1,))
    connection.close()
    before = path.read_bytes()
    cache, said = opened(path)
    assert len(said) == 1 and "newer layout" in said[0] and not cache.usable
    assert len(scan(data, cache)) == 5
    assert path.read_bytes() == before and asides(path) == []


# Bad rows: misses, never errors and never wrong records --------------------------

def _rewrite_row(path, value, digest=None):
    """Replace the first row's value (with a matching digest unless one is given)."""
    with sqlite3.connect(path) as connection:
        key = connection.execute("SELECT key FROM records WHERE rowid = 1").fetchone()[0]
        if digest is None:
            raw = value if isinstance(value, bytes) else str(value).encode()
            digest = hashlib.sha256(key.encode() + b"\0" + raw).hexdigest()
        connection.execute("UPDATE records SET value = ?, digest = ? WHERE rowid = 1",
                           (value, digest))
    connection.close()


@pytest.mark.parametrize("value", [
    "null", "[]", "1", '"text"', "{not json", '{"path": 5}', '{"size": 1}',
    '{"path": "x", "size": "big"}', '{"path": "x", "CAL_VER": [1, 2]}',
    '{"path": "x", "CAL_VER": {"a": 1}}', b"\xff\xfe not utf-8", 12, None,
])
def test_a_row_that_holds_no_record_is_a_miss(tmp_path, data, reads, value):
    path = tmp_path / "c.sqlite"
    first = scan(data, ScanCache(path))
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA ignore_check_constraints = 1")
    if value is None:  # NOT NULL: the row's value is dropped some other way
        with sqlite3.connect(path) as connection:
            connection.execute("UPDATE records SET value = CAST(x'00' AS BLOB) WHERE rowid = 1")
        connection.close()
    else:
        _rewrite_row(path, value)
    again = scan(data, ScanCache(path))
    assert again == first and reads["files"] == 6 and again.meta["cache"]["hits"] == 4


def test_a_row_altered_to_another_record_is_a_miss(tmp_path, data, reads):
    path = tmp_path / "c.sqlite"
    first = scan(data, ScanCache(path))
    with sqlite3.connect(path) as connection:
        value = connection.execute("SELECT value FROM records WHERE rowid = 1").fetchone()[0]
    connection.close()
    assert '"1.14.0"' in value
    _rewrite_row(path, value.replace('"1.14.0"', '"1.14.1"'), digest="0" * 64)  # digest kept
    again = scan(data, ScanCache(path))
    assert again == first and reads["files"] == 6
    assert {r.cal_ver for r in again} == {"1.14.0"}


def test_random_corruptions_never_fail_a_scan_nor_give_a_wrong_record(tmp_path):
    """60 copies of a real cache, each with a few bytes overwritten at random (seeded)."""
    folder = tmp_path / "data"
    for number in range(40):
        write(folder / f"jw01345001001_02101_{number:05d}_nrca1_cal.fits",
              fits_bytes(CAL_VER=f"1.{number % 7 + 10}.0", FILENAME=f"f{number}",
                         TARGNAME=f"target {number}"))
    good = tmp_path / "good.sqlite"
    expected = scan(folder, ScanCache(good))
    original = good.read_bytes()
    outcomes = {"set aside": 0, "misses": 0, "all hits": 0, "no cache": 0}
    for seed in range(60):
        rng = random.Random(seed)
        damaged = bytearray(original)
        # Half the time the first page (header, schema), else anywhere.
        span = 4096 if seed % 2 else len(damaged)
        for _ in range(rng.randint(1, 24)):
            damaged[rng.randrange(span)] = rng.randrange(256)
        path = tmp_path / f"damaged{seed}" / "c.sqlite"
        path.parent.mkdir()
        path.write_bytes(bytes(damaged))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            cache = ScanCache(path, timeout=5)
            inventory = scan(folder, cache)
        assert inventory == expected, f"seed {seed}: a record differs"
        assert len(cache_warnings(caught)) <= 2, (seed, cache_warnings(caught))
        if asides(path):
            outcomes["set aside"] += 1
        elif not cache.usable:
            outcomes["no cache"] += 1
        elif inventory.meta["cache"]["hits"] < 40:
            outcomes["misses"] += 1
        else:
            outcomes["all hits"] += 1
        # A later scan of the same cache file works as well.
        assert scan(folder, ScanCache(path, timeout=5)) == expected
    # The corruptions reached both the file's structure and its rows.
    assert outcomes["set aside"] and outcomes["misses"], outcomes


# Locked, read-only, not a file: no cache for this scan, and nothing renamed ------------

def test_a_locked_cache_is_waited_for_then_not_used_and_never_renamed(tmp_path, data, reads):
    path = tmp_path / "c.sqlite"
    first = scan(data, ScanCache(path))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        cache, said = opened(path, timeout=0.2)
        assert len(said) == 1 and "locked by another process" in said[0]
        assert not cache.usable and scan(data, cache) == first and reads["files"] == 10
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert asides(path) == []
    assert scan(data, ScanCache(path)).meta["cache"]["hits"] == 5  # the same cache, whole


def test_a_cache_locked_during_the_scan_is_not_written(tmp_path, data):
    path = tmp_path / "c.sqlite"
    cache, said = opened(path, timeout=0.2)
    assert said == [] and cache.usable
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert len(scan(data, cache)) == 5
        said = cache_warnings(caught)
        assert len(said) == 1 and "locked" in said[0]
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert asides(path) == []


def test_a_folder_at_the_cache_path_is_left_alone(tmp_path, data, monkeypatch):
    folder = tmp_path / "headers.sqlite"
    folder.mkdir()
    (folder / "precious.txt").write_text("keep me")
    cache, said = opened(folder)
    assert len(said) == 1 and "is a folder" in said[0] and not cache.usable
    assert len(scan(data, cache)) == 5
    monkeypatch.setenv("JWST_PROVENANCE_CACHE", str(folder))
    result = CliRunner().invoke(app, ["scan", str(data)])
    assert result.exit_code == 0, result.output
    assert result.stderr.count("scan cache") == 1 and "is a folder" in result.stderr
    assert sorted(os.listdir(tmp_path)) == ["data", "headers.sqlite"]
    assert os.listdir(folder) == ["precious.txt"] and (folder / "precious.txt").read_text() == "keep me"


def _without_permission_override():
    """The command prefix under which file permissions apply to this user: none for
    an ordinary user; for root, setpriv without the capabilities that override them."""
    if os.geteuid() != 0:
        return []
    if not shutil.which("setpriv"):
        pytest.skip("running as root, which ignores file permissions, and setpriv "
                    "(util-linux), which can make it respect them, is absent")
    caps = "-dac_override,-dac_read_search,-fowner"
    return ["setpriv", f"--inh-caps={caps}", f"--bounding-set={caps}"]


@pytest.mark.parametrize("read_only", ["file", "folder"])
def test_a_read_only_cache_is_read_and_left_as_it_is(tmp_path, data, read_only):
    prefix = _without_permission_override()
    cache = tmp_path / "cache" / "c.sqlite"
    cache.parent.mkdir()
    first = scan(data, ScanCache(cache))
    before = cache.read_bytes()
    (data / "jw01345001001_02101_00009_nrca1_cal.fits").write_bytes(fits_bytes(FILENAME="new"))
    locked = cache if read_only == "file" else cache.parent
    locked.chmod(0o444 if read_only == "file" else 0o555)
    try:
        run = subprocess.run([*prefix, sys.executable, "-m", "reporter", "scan", str(data),
                              "--cache", str(cache)], capture_output=True, text=True, timeout=120,
                             check=False)
    finally:
        locked.chmod(0o755)
    assert run.returncode == 0, run.stderr
    assert "5 unchanged, from the scan cache" in run.stdout, run.stdout  # it was read
    warned = [line for line in run.stderr.splitlines() if "scan cache" in line]
    assert len(warned) == 1 and "read-only" in warned[0], run.stderr
    assert cache.read_bytes() == before and os.listdir(cache.parent) == ["c.sqlite"]
    assert len(first) == 5
