"""Bad files never stop a scan: each becomes a record with an error code and a message.

Also: the reader reads headers only (never the data), and a parallel scan gives the
same records, in the same order, as a serial one.
"""

from __future__ import annotations

import concurrent.futures
import gzip
import os
import zlib

import pytest
from astropy.io import fits
from fitsfiles import fits_bytes, make_primary_header, write

import reporter
import reporter.headers
from reporter import headers
from reporter.headers import BLOCK_SIZE, CARD_SIZE
from reporter.scanner import read_record, scan_files

KIB = 1024
MIB = 1024 * 1024
BLANK_CARD = b" " * CARD_SIZE
END_CARD = b"END".ljust(CARD_SIZE)


# --------------------------------------------------------------------------- helpers

@pytest.fixture(scope="module")
def good_bytes() -> bytes:
    return fits_bytes()


@pytest.fixture(scope="module")
def header_block(good_bytes) -> bytes:
    """The primary header of ``good_bytes``: whole 2880-byte blocks ending with END."""
    end = good_bytes.index(END_CARD)
    assert end % CARD_SIZE == 0
    size = -(-(end + CARD_SIZE) // BLOCK_SIZE) * BLOCK_SIZE
    return good_bytes[:size]


def assert_good(record, path):
    assert record.path == path
    assert record.ok, record.error
    assert record.error_code is None
    assert record.keywords["CAL_VER"] == "1.14.0"
    assert record.keywords["CRDS_CTX"] == "jwst_1241.pmap"
    assert record.keywords["PROGRAM"] == "01345"
    assert record.reference_files["R_FLAT"] == "crds://jwst_nircam_flat_0585.fits"
    assert record.step_status["S_PERSIS"] == "SKIPPED"
    assert record.instrument and record.mode


# --------------------------------------------------------------------------- bad files

def _empty(good, header):
    return b""


def _text(good, header):
    return b"This is a README, not a FITS file.\nIt has two lines.\n"


def _binary_junk(good, header):
    return b"\x00\x01\x02PK\x03\x04" + bytes(range(256)) * 20


def _truncated_mid_block(good, header):
    end = good.index(END_CARD)
    cut = end - 7 * CARD_SIZE - 13  # inside the header, before END, not on a block edge
    assert cut % BLOCK_SIZE
    return good[:cut]


def _no_end_whole_blocks(good, header):
    data = header.replace(END_CARD, BLANK_CARD)
    assert END_CARD not in data and len(data) % BLOCK_SIZE == 0
    return data


@pytest.fixture(autouse=True)
def small_header_limit(monkeypatch):
    """The reader's limit (64 MiB) lowered to 1 MiB, so a file past it stays small."""
    monkeypatch.setattr(headers, "MAX_HEADER_BYTES", MIB)


def _no_end_over_limit(good, header):
    cards = [
        b"SIMPLE  =                    T / conforms to FITS standard".ljust(CARD_SIZE),
        b"BITPIX  =                    8 / array data type".ljust(CARD_SIZE),
        b"NAXIS   =                    0 / number of array dimensions".ljust(CARD_SIZE),
    ]
    blocks = (3 * MIB) // BLOCK_SIZE
    return b"".join(cards).ljust(blocks * BLOCK_SIZE, b" ")


def _gzip_garbage(good, header):
    # A valid gzip member header, then bytes that are not a deflate stream.
    return gzip.compress(b"")[:10] + b"\xff" * 2000


def _gzip_cut_short(good, header):
    packed = gzip.compress(good)
    cut = packed[:40]
    # Sanity: what can be inflated from the cut stream stops before END.
    inflated = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(cut)
    assert END_CARD not in inflated and len(inflated) < good.index(END_CARD)
    return cut


def _gzip_of_text(good, header):
    return gzip.compress(b"just some text inside a gzip file\n" * 10)


def _gzip_of_truncated(good, header):
    return gzip.compress(_truncated_mid_block(good, header))


def _gzip_no_end_over_limit(good, header):
    return gzip.compress(_no_end_over_limit(good, header), compresslevel=1)


BAD_FILES = [
    # (id, file name, bytes, error code, words the message must contain)
    ("empty", "empty_cal.fits", _empty, "empty", "0 bytes"),
    ("text", "readme_cal.fits", _text, "not-fits", "not a FITS file"),
    ("junk", "junk_cal.fits", _binary_junk, "not-fits", "not a FITS file"),
    ("truncated", "cut_cal.fits", _truncated_mid_block, "truncated", "truncated"),
    ("no-end", "noend_cal.fits", _no_end_whole_blocks, "no-end", "no END card"),
    ("no-end-1MiB", "huge_noend_cal.fits", _no_end_over_limit, "no-end", "1024 KiB"),
    ("gzip-garbage", "garbage_cal.fits.gz", _gzip_garbage, "bad-gzip", "broken gzip"),
    ("gzip-cut", "cut_cal.fits.gz", _gzip_cut_short, "bad-gzip", "broken gzip"),
    # Gzip is recognised by its magic bytes, whatever the name.
    ("gzip-cut-plain-name", "cut2_cal.fits", _gzip_cut_short, "bad-gzip", "broken gzip"),
    ("gzip-of-text", "text_cal.fits.gz", _gzip_of_text, "not-fits", "not a FITS file"),
    ("gzip-of-truncated", "trunc_cal.fits.gz", _gzip_of_truncated, "truncated", "truncated"),
    ("gzip-no-end-1MiB", "noend_cal.fits.gz", _gzip_no_end_over_limit, "no-end", "1024 KiB"),
]


@pytest.mark.parametrize(
    ("name", "make", "code", "words"),
    [case[1:] for case in BAD_FILES],
    ids=[case[0] for case in BAD_FILES],
)
def test_bad_file_becomes_a_record_and_good_files_are_still_read(
        tmp_path, good_bytes, header_block, name, make, code, words):
    first = write(tmp_path / "a_good_cal.fits", good_bytes)
    bad = write(tmp_path / name, make(good_bytes, header_block))
    last = write(tmp_path / "z_good_cal.fits.gz", gzip.compress(good_bytes))
    inputs = [first, bad, last]
    inventory = reporter.scan(inputs, jobs=1)
    assert len(inventory.records) == len(inputs)
    good1, record, good2 = inventory.records
    assert_good(good1, first)
    assert_good(good2, last)
    assert record.path == bad
    assert not record.ok
    assert record.error_code == code, record.error
    assert isinstance(record.error, str) and words in record.error
    assert len(record.keywords) == 0  # nothing made up for an unreadable header


def test_all_bad_files_in_one_scan_keep_every_record(tmp_path, good_bytes, header_block):
    paths, codes = [], []
    for index, (_, name, make, code, _) in enumerate(BAD_FILES):
        paths.append(write(tmp_path / f"{index:02d}_{name}", make(good_bytes, header_block)))
        codes.append(code)
        paths.append(write(tmp_path / f"{index:02d}_ok_{name}", good_bytes))
        codes.append(None)
    paths.append(str(tmp_path / "missing_cal.fits"))
    codes.append("missing")
    inventory = reporter.scan(paths, jobs=1)
    assert len(inventory.records) == len(paths)
    assert [r.path for r in inventory.records] == paths
    assert [r.error_code for r in inventory.records] == codes
    # And through folder expansion: every FITS-named file found gets a record.
    by_folder = reporter.scan([str(tmp_path)], jobs=1)
    assert len(by_folder.records) == len(paths) - 1
    assert sorted(r.path for r in by_folder.records) == sorted(paths[:-1])


def test_no_end_over_limit_stops_reading(tmp_path, good_bytes, header_block, monkeypatch):
    path = write(tmp_path / "huge_noend.fits", _no_end_over_limit(good_bytes, header_block))
    assert os.path.getsize(path) > 2 * MIB
    counter = _count_os_reads(monkeypatch)
    record = read_record(path)
    assert record.error_code == "no-end"
    assert f"{headers.MAX_HEADER_BYTES // KIB} KiB" in record.error
    # It gave up near the limit instead of reading the whole file.
    assert headers.MAX_HEADER_BYTES <= counter.total < headers.MAX_HEADER_BYTES + 64 * KIB


def test_empty_gzip_stream_is_empty(tmp_path):
    path = write(tmp_path / "empty_cal.fits.gz", gzip.compress(b""))
    record = read_record(path)
    assert record.error_code == "empty"


def test_gzip_of_good_fits_is_read(tmp_path, good_bytes):
    plain = write(tmp_path / "a_cal.fits", good_bytes)
    packed = write(tmp_path / "a_cal.fits.gz", gzip.compress(good_bytes))
    disguised = write(tmp_path / "b_cal.fits", gzip.compress(good_bytes))
    records = reporter.scan([plain, packed, disguised], jobs=1).records
    for record, path in zip(records, [plain, packed, disguised]):
        assert_good(record, path)
    assert records[0].keywords == records[1].keywords == records[2].keywords
    assert records[0].reference_files == records[1].reference_files
    assert records[1].size == os.path.getsize(packed)


def test_header_values_match_astropy(tmp_path, good_bytes):
    path = write(tmp_path / "a_cal.fits", good_bytes)
    [record] = reporter.scan([path], jobs=1).records
    expected = fits.getheader(path)
    for group in (record.keywords, record.reference_files, record.step_status):
        for keyword, value in group.items():
            assert expected[keyword] == value


def test_non_ascii_byte_keeps_other_keywords(tmp_path, good_bytes):
    marker = b"TARGNAME= 'NGC 1234"
    at = good_bytes.index(marker)
    data = bytearray(good_bytes)
    data[at + len(marker) - 3] = 0xE9  # 'NGC 1234' -> 'NGC 1\xe934'
    bad = write(tmp_path / "accent_cal.fits", bytes(data))
    good = write(tmp_path / "good_cal.fits", good_bytes)
    records = reporter.scan([bad, good], jobs=1).records
    assert len(records) == 2
    record = records[0]
    assert record.error_code == "non-ascii"
    assert not record.ok
    assert "TARGNAME" in record.error and "ASCII" in record.error
    # Every other keyword is still read, and the bad byte became U+FFFD.
    assert record.keywords["CAL_VER"] == "1.14.0"
    assert record.keywords["CRDS_CTX"] == "jwst_1241.pmap"
    assert record.keywords["INSTRUME"] == "NIRCAM"
    assert record.keywords["TARGNAME"] == "NGC 1\ufffd34"
    assert record.reference_files["R_DARK"] == "crds://jwst_nircam_dark_0342.fits"
    assert record.step_status["S_FLAT"] == "COMPLETE"
    assert record.size == len(data)
    assert_good(records[1], good)


def test_directory_named_like_fits(tmp_path, good_bytes):
    folder = tmp_path / "x.fits"
    folder.mkdir()
    # Read directly, a directory is an error, not a crash.
    record = read_record(str(folder))
    assert record.error_code == "unreadable"
    assert "directory" in record.error
    [record] = scan_files([str(folder)], jobs=1)
    assert record.error_code == "unreadable"
    # Through the scan, a folder is a folder: searched, and its files are read.
    good = write(tmp_path / "good_cal.fits", good_bytes)
    inner = write(folder / "inner_cal.fits", good_bytes)
    records = reporter.scan([str(folder), good], jobs=1).records
    assert [r.path for r in records] == [inner, good]
    assert all(r.ok for r in records)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root (or a non-POSIX system) can read a chmod 000 file")
def test_permission_denied(tmp_path, good_bytes):
    locked = write(tmp_path / "locked_cal.fits", good_bytes)
    good = write(tmp_path / "good_cal.fits", good_bytes)
    os.chmod(locked, 0)
    try:
        records = reporter.scan([locked, good], jobs=1).records
    finally:
        os.chmod(locked, 0o644)
    assert records[0].error_code == "permission"
    assert "permission" in records[0].error
    assert_good(records[1], good)


def test_permission_denied_simulated(tmp_path, good_bytes, monkeypatch):
    """The same as above, runnable as root: os.open refuses one file."""
    locked = write(tmp_path / "locked_cal.fits", good_bytes)
    good = write(tmp_path / "good_cal.fits", good_bytes)
    real_open = os.open

    def refusing_open(path, *args, **kwargs):
        if os.fspath(path) == locked:
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(reporter.headers.os, "open", refusing_open)
    records = reporter.scan([locked, good], jobs=1).records
    assert [r.error_code for r in records] == ["permission", None]
    assert "permission" in records[0].error
    assert_good(records[1], good)


# --------------------------------------------------------------------------- headers only

class _Counter:
    def __init__(self):
        self.total = 0
        self.calls = 0


def _count_os_reads(monkeypatch) -> _Counter:
    counter = _Counter()
    real_read = os.read

    def counting_read(descriptor, size):
        data = real_read(descriptor, size)
        counter.total += len(data)
        counter.calls += 1
        return data

    monkeypatch.setattr(reporter.headers.os, "read", counting_read)
    return counter


def test_huge_data_section_is_not_read(tmp_path, monkeypatch):
    primary = make_primary_header()
    primary["EXTEND"] = True
    sci = fits.ImageHDU(name="SCI").header
    sci["BITPIX"] = -32
    sci["NAXIS"] = 2
    sci["NAXIS1"] = 3600
    sci["NAXIS2"] = 3600
    head = primary.tostring().encode("ascii") + sci.tostring().encode("ascii")
    data_size = 3600 * 3600 * 4
    size = len(head) + -(-data_size // BLOCK_SIZE) * BLOCK_SIZE
    path = str(tmp_path / "big_cal.fits")
    with open(path, "wb") as stream:
        stream.write(head)
        stream.truncate(size)  # a sparse ~50 MB file
    assert os.path.getsize(path) > 50 * 10**6
    counter = _count_os_reads(monkeypatch)
    [record] = reporter.scan([path], jobs=1).records
    assert_good(record, path)
    assert record.size == size
    assert 0 < counter.total < 64 * KIB


def test_gzip_with_huge_data_decompresses_little(tmp_path, good_bytes, monkeypatch):
    primary = make_primary_header()
    primary["EXTEND"] = True
    sci = fits.ImageHDU(name="SCI").header
    sci["BITPIX"] = -32
    sci["NAXIS"] = 2
    sci["NAXIS1"] = 2560
    sci["NAXIS2"] = 2048
    data_size = 2560 * 2048 * 4  # 20 MiB of zeros: compresses to almost nothing
    raw = (primary.tostring().encode("ascii") + sci.tostring().encode("ascii")
           + bytes(data_size))
    path = write(tmp_path / "big_cal.fits.gz", gzip.compress(raw, compresslevel=1))
    assert os.path.getsize(path) < MIB

    decompressed = _Counter()
    real_decompressobj = zlib.decompressobj

    class CountingDecompressor:
        def __init__(self, *args, **kwargs):
            self._inner = real_decompressobj(*args, **kwargs)
            decompressed.calls += 1

        def decompress(self, data, max_length=0):
            out = self._inner.decompress(data, max_length)
            decompressed.total += len(out)
            return out

        @property
        def unconsumed_tail(self):
            return self._inner.unconsumed_tail

        @property
        def unused_data(self):
            return self._inner.unused_data

        @property
        def eof(self):
            return self._inner.eof

    monkeypatch.setattr(reporter.headers.zlib, "decompressobj", CountingDecompressor)
    [record] = reporter.scan([path], jobs=1).records
    assert_good(record, path)
    assert decompressed.calls == 1
    assert 0 < decompressed.total < 64 * KIB


# --------------------------------------------------------------------------- parallel scan

def test_parallel_scan_matches_serial(tmp_path, good_bytes, header_block, monkeypatch):
    # Header-only files, copied from a few templates rather than written by astropy.
    templates = [
        header_block,
        fits.PrimaryHDU(header=make_primary_header(PROGRAM="02222", CAL_VER="1.12.5")
                        ).header.tostring().encode("ascii"),
        fits.PrimaryHDU(header=make_primary_header(
            INSTRUME="MIRI", EXP_TYPE="MIR_IMAGE", R_FLAT="crds://jwst_miri_flat_0800.fits",
            S_PERSIS="COMPLETE")).header.tostring().encode("ascii"),
        gzip.compress(header_block),
    ]
    bad = [b"", _truncated_mid_block(good_bytes, header_block), b"not fits at all"]
    folder = tmp_path / "many"
    folder.mkdir()
    count = 4100
    for index in range(count):
        data = bad[index // 400 % 3] if index % 400 == 7 else templates[index % 7 % 4]
        with open(folder / f"jw{index:05d}_cal.fits", "wb") as stream:
            stream.write(data)

    pools = []
    real_pool = concurrent.futures.ProcessPoolExecutor

    class RecordingPool(real_pool):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            pools.append(self)

    def snapshot(inventory):
        return [
            (r.path, r.keywords.to_dict(), r.reference_files.to_dict(), r.step_status.to_dict(),
             r.size, r.error_code, r.error, r.instrument, r.mode, r.suffix)
            for r in inventory.records
        ]

    serial = reporter.scan([str(folder)], jobs=1)
    assert pools == []
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", RecordingPool)
    progress = []
    parallel = reporter.scan([str(folder)], jobs=2,
                             progress=lambda done, total: progress.append((done, total)))
    assert len(pools) == 1, "the parallel scan did not use a process pool"
    assert len(serial.records) == len(parallel.records) == count
    assert parallel.records == serial.records
    assert snapshot(parallel) == snapshot(serial)
    assert [r.path for r in parallel.records] == sorted(
        str(folder / name) for name in os.listdir(folder))
    assert progress[-1] == (count, count)
    # Sanity: the data set really mixes layouts and errors.
    assert {r.error_code for r in serial.records} == {None, "empty", "truncated", "not-fits"}
    assert len({r.instrument for r in serial.records if r.ok}) == 2
    assert len({r.cal_ver for r in serial.records if r.ok}) == 2
