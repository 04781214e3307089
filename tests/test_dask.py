"""The Dask executor gives the same records as a local scan (through a LocalCluster)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fitsfiles import fits_bytes, write
from typer.testing import CliRunner

import reporter
from reporter.cli import app

distributed = pytest.importorskip("dask.distributed", reason="dask.distributed is not installed")
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cluster():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                       dashboard_address=None)
    yield cluster
    cluster.close()


def test_dask_scan_equals_local_scan(cluster, tmp_path):
    folder = tmp_path / "data"
    for number in range(600):  # several chunks
        write(folder / f"jw01345001001_02101_{number:05d}_nrca1_cal.fits",
              fits_bytes(CAL_VER="1.14.0" if number % 3 else "1.12.5"))
    write(folder / "broken_cal.fits", b"not FITS")
    local = reporter.scan([str(folder)], jobs=1)
    spread = reporter.scan([str(folder)], executor="dask", scheduler=cluster.scheduler_address)
    assert spread == local
    assert [r.path for r in spread] == [r.path for r in local]
    assert [r.error_code for r in spread] == [r.error_code for r in local]


def test_dask_from_the_command_line(cluster):
    result = CliRunner().invoke(app, ["scan", str(ROOT / "examples" / "data"), "--no-cache",
                                      "--executor", "dask", "--scheduler",
                                      cluster.scheduler_address])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Scanned 22 files: 22 read")


def test_unknown_executor_is_a_usage_error():
    with pytest.raises(reporter.UsageError, match="executor"):
        reporter.scan([str(ROOT / "examples" / "data")], executor="spark")
