"""The scan cache: unchanged files are not read again; changed files are; damage is survived."""

from __future__ import annotations

import os
import sqlite3

import pytest
from fitsfiles import fits_bytes, write
from typer.testing import CliRunner

import reporter
import reporter.headers
from reporter.cache import CacheWarning, ScanCache
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


def test_rescanning_an_unchanged_dataset_reads_no_header(tmp_path, data, reads):
    cache = ScanCache(tmp_path / "cache.sqlite")
    first = reporter.scan([str(data)], jobs=1, cache=cache)
    assert reads["files"] == 5 and cache.misses == 5
    second = reporter.scan([str(data)], jobs=1, cache=ScanCache(tmp_path / "cache.sqlite"))
    assert reads["files"] == 5  # nothing read again
    assert second == first and second.meta["cache"]["hits"] == 5
    assert [r.path for r in second] == [r.path for r in first]


def test_a_changed_file_is_read_again(tmp_path, data, reads):
    reporter.scan([str(data)], jobs=1, cache=ScanCache(tmp_path / "c.sqlite"))
    changed = data / "jw01345001001_02101_00002_nrca1_cal.fits"
    write(changed, fits_bytes(CAL_VER="1.19.2", FILENAME="f2"))
    os.utime(changed, ns=(1, 1))  # a new modification time, whatever the clock says
    inventory = reporter.scan([str(data)], jobs=1, cache=ScanCache(tmp_path / "c.sqlite"))
    assert reads["files"] == 6
    assert [r.cal_ver for r in inventory].count("1.19.2") == 1


def test_a_corrupt_cache_is_rebuilt_with_a_warning(tmp_path, data):
    path = tmp_path / "c.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.warns(CacheWarning, match="rebuilt"):
        cache = ScanCache(path)
    assert len(reporter.scan([str(data)], jobs=1, cache=cache)) == 5
    assert (tmp_path / "c.sqlite.corrupt").exists()


def test_a_damaged_row_is_a_miss(tmp_path, data, reads):
    path = tmp_path / "c.sqlite"
    reporter.scan([str(data)], jobs=1, cache=ScanCache(path))
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE records SET value = '{not json' WHERE rowid = 1")
    inventory = reporter.scan([str(data)], jobs=1, cache=ScanCache(path))
    assert reads["files"] == 6 and not inventory.failed


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
