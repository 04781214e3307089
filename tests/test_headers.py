"""The primary-header reader, on files written by astropy in the tests."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import warnings

import pytest
from astropy.io import fits

from reporter import headers
from reporter.headers import (
    CORE_KEYWORDS,
    HeaderError,
    parse_header,
    read_header_bytes,
    read_provenance,
)

# One value for every keyword the scan extracts, typed as JWST products type them.
EVERY_KEYWORD = {
    "CAL_VER": "1.14.0", "CAL_VCS": "RELEASE", "CRDS_CTX": "jwst_1241.pmap",
    "CRDS_VER": "11.17.19", "SDP_VER": "2024_1a", "DATE": "2024-06-20T11:02:33.123",
    "FILENAME": "jw01345001001_02101_00001_nrca1_cal.fits", "TELESCOP": "JWST",
    "INSTRUME": "NIRCAM", "DETECTOR": "NRCA1", "EXP_TYPE": "NRC_IMAGE",
    "READPATT": "DEEP8", "SUBARRAY": "FULL", "FILTER": "F200W", "PUPIL": "CLEAR",
    "GRATING": "N/A", "FXD_SLIT": "NONE", "CHANNEL": "SHORT", "BAND": "N/A", "TSOVISIT": False,
    "PROGRAM": "01345", "OBSERVTN": "001", "VISIT": "001",
    "OBS_ID": "V01345001001P0000000002101", "TARGPROP": "CEERS_EGS",
    "TARGNAME": "EGS & friends", "DATE-OBS": "2022-12-21",
    "ASNTABLE": "jw01345-o001_20240101t000000_image3_00001_asn.json",
    "ASNPOOL": "jw01345_20240101t000000_pool.csv",
    "DATASUM": "1234567890", "CHECKSUM": "aBcDeFgHiJkLmNoP",
}


def write_fits(path, cards, *, data_bytes=0, compress=False):
    """Write a FITS file whose primary header holds ``cards`` (a dict or list of pairs)."""
    header = fits.Header()
    for key, value in (cards.items() if isinstance(cards, dict) else cards):
        header.append((key, value), end=True)
    hdus = [fits.PrimaryHDU(header=header)]
    if data_bytes:
        import numpy as np

        hdus.append(fits.ImageHDU(np.zeros(data_bytes // 4, dtype="float32"), name="SCI"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # astropy notes long comments it truncates
        fits.HDUList(hdus).writeto(path)
    if compress:
        raw = path.read_bytes()
        path.unlink()
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(raw, mtime=0))
    return path


def extracted(path):
    values, _ = read_provenance(path)
    found = dict(zip(*values.core))
    found.update(zip(*values.reference_files))
    found.update(zip(*values.step_status))
    return found, values


def test_every_core_keyword_is_extracted_with_its_type(tmp_path):
    path = write_fits(tmp_path / "a_cal.fits", {**EVERY_KEYWORD, "NINTS": 3, "EFFEXPTM": 1.5})
    found, values = extracted(path)
    assert set(values.core[0]) == set(CORE_KEYWORDS)
    for keyword, value in EVERY_KEYWORD.items():
        assert found[keyword] == value
        assert type(found[keyword]) is type(value), keyword
    # Only provenance keywords are kept.
    assert "NINTS" not in found and "EFFEXPTM" not in found


def test_every_reference_file_and_step_keyword_is_extracted(tmp_path):
    cards = {"CAL_VER": "1.14.0", "R_FLAT": "crds://jwst_nircam_flat_0345.fits",
             "R_DARK": "N/A", "R_PHOTOM": "/home/me/my_photom.fits",
             "S_JUMP": "COMPLETE", "S_FLAT": "SKIPPED", "S_NEWSTP": "FAILED"}
    _, values = extracted(write_fits(tmp_path / "a.fits", cards))
    assert dict(zip(*values.reference_files)) == {
        "R_FLAT": "crds://jwst_nircam_flat_0345.fits", "R_DARK": "N/A",
        "R_PHOTOM": "/home/me/my_photom.fits"}
    assert dict(zip(*values.step_status)) == {
        "S_JUMP": "COMPLETE", "S_FLAT": "SKIPPED", "S_NEWSTP": "FAILED"}


def test_absent_keyword_is_absent_and_empty_string_is_kept(tmp_path):
    found, _ = extracted(write_fits(tmp_path / "a.fits", {"CAL_VER": "1.8.2", "CRDS_CTX": ""}))
    assert "CRDS_VER" not in found
    assert found["CRDS_CTX"] == ""


@pytest.mark.parametrize("value", [
    "1.8.2", "  leading blanks kept", "O'Brien's field", "a/b / not a comment",
    "x" * 68, "ends with an ampersand &",
])
def test_string_values_read_as_astropy_reads_them(tmp_path, value):
    path = write_fits(tmp_path / "a.fits", {"TARGNAME": value})
    found, _ = extracted(path)
    assert found["TARGNAME"] == fits.getheader(path)["TARGNAME"] == value.rstrip()


def test_long_strings_in_continue_cards_are_joined(tmp_path):
    long_name = "jw01345001001_02101_00001_nrca5_uncal_dispersed_GRISMR_crossing_F356W_rate_" * 2 + ".fits"
    path = write_fits(tmp_path / "a.fits", {"FILENAME": long_name, "CAL_VER": "1.14.0",
                                            "R_FLAT": "/very/long/local/path/" * 6 + "flat.fits"})
    assert b"CONTINUE" in path.read_bytes()
    found, _ = extracted(path)
    assert found["FILENAME"] == long_name
    assert found["R_FLAT"] == "/very/long/local/path/" * 6 + "flat.fits"
    assert found["CAL_VER"] == "1.14.0"


def test_padded_strings_lose_trailing_blanks(tmp_path):
    path = tmp_path / "padded.fits"
    write_fits(path, {"CAL_VER": "1.8.2"})
    raw = path.read_bytes()
    assert b"'1.8.2   '" in raw  # astropy pads short strings to eight characters
    assert extracted(path)[0]["CAL_VER"] == "1.8.2"


def test_duplicated_keyword_first_one_counts(tmp_path):
    path = write_fits(tmp_path / "a.fits", [("CAL_VER", "1.11.4"), ("CAL_VER", "1.12.5")])
    assert extracted(path)[0]["CAL_VER"] == fits.getheader(path)["CAL_VER"] == "1.11.4"


def test_gzip_file_reads_the_same_as_the_plain_file(tmp_path):
    plain = write_fits(tmp_path / "a_cal.fits", EVERY_KEYWORD, data_bytes=100_000)
    packed = write_fits(tmp_path / "b_cal.fits", EVERY_KEYWORD, data_bytes=100_000, compress=True)
    assert packed.name.endswith(".fits.gz")
    assert extracted(plain)[0] == extracted(packed)[0]


def test_gzip_detected_by_content_not_by_name(tmp_path):
    path = write_fits(tmp_path / "a.fits", {"CAL_VER": "1.14.0"}, compress=True)
    renamed = path.rename(tmp_path / "misnamed.fits")
    assert extracted(renamed)[0]["CAL_VER"] == "1.14.0"


def test_header_bytes_stop_at_end_card(tmp_path):
    path = write_fits(tmp_path / "a.fits", {"CAL_VER": "1.14.0"}, data_bytes=500_000)
    raw, size = read_header_bytes(path)
    assert size == path.stat().st_size
    assert len(raw) % 80 == 0
    assert raw == fits.getheader(path).tostring().encode("ascii")[:len(raw)]
    assert b"END     " not in raw[-80:]


def test_values_are_right_after_a_layout_is_learnt(tmp_path):
    """Files of one layout are parsed from cached positions: values must still differ."""
    records = []
    for number, (context, flat) in enumerate([("jwst_1183.pmap", "crds://f_0001.fits"),
                                               ("jwst_1241.pmap", "crds://f_0002.fits"),
                                               ("jwst_1183.pmap", "crds://f_0001.fits")]):
        cards = {"CAL_VER": "1.14.0", "CRDS_CTX": context, "FILENAME": f"f{number}.fits",
                 "R_FLAT": flat, "R_DARK": "N/A", "S_JUMP": "COMPLETE"}
        records.append(extracted(write_fits(tmp_path / f"f{number}.fits", cards))[0])
    assert [r["CRDS_CTX"] for r in records] == ["jwst_1183.pmap", "jwst_1241.pmap", "jwst_1183.pmap"]
    assert [r["R_FLAT"] for r in records] == ["crds://f_0001.fits", "crds://f_0002.fits",
                                              "crds://f_0001.fits"]
    assert [r["FILENAME"] for r in records] == ["f0.fits", "f1.fits", "f2.fits"]


def test_same_layout_with_a_quote_or_continue_in_one_file(tmp_path):
    """A cached layout must not hide a value that needs the full parser."""
    first = write_fits(tmp_path / "a.fits", {"TARGNAME": "plain", "R_FLAT": "crds://x.fits"})
    second = write_fits(tmp_path / "b.fits", {"TARGNAME": "it's quoted", "R_FLAT": "crds://y.fits"})
    assert extracted(first)[0]["TARGNAME"] == "plain"
    assert extracted(second)[0]["TARGNAME"] == "it's quoted"
    assert extracted(second)[0]["R_FLAT"] == "crds://y.fits"


def test_parse_header_takes_bytes_before_end():
    cards = [
        "SIMPLE  =                    T",
        "CAL_VER = '1.12.5  '           / jwst version",
        "TSOVISIT=                    T",
        "PROGRAM =                 1345",
        "CRDS_CTX=                      / undefined value",
        "COMMENT CAL_VER = '9.9.9' a comment that mentions a keyword",
    ]
    raw = "".join(card.ljust(80) for card in cards).encode("ascii")
    values = parse_header(raw)
    assert dict(zip(*values.core)) == {"CAL_VER": "1.12.5", "TSOVISIT": True,
                                       "PROGRAM": 1345, "CRDS_CTX": None}


# --- files that are not regular files, and names that are not UTF-8 ---------------

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")

# Run in a child process with a time limit, so that a read that blocks fails the
# test instead of hanging the suite.
_READ_IN_CHILD = """
import sys
from reporter.scanner import read_record
record = read_record(sys.argv[1])
print(record.error_code, record.error, sep="|")
"""


def _read_in_child(path):
    done = subprocess.run([sys.executable, "-c", _READ_IN_CHILD, os.fspath(path)],
                          capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.strip().split("|", 1)


@needs_fifo
def test_fifo_is_a_record_not_a_read_that_waits(tmp_path):
    fifo = tmp_path / "jw_pipe_cal.fits"
    os.mkfifo(fifo)
    assert _read_in_child(fifo) == ["not-regular", "is a FIFO, not a regular file"]
    with pytest.raises(HeaderError) as caught:
        read_header_bytes(fifo)
    assert caught.value.code == "not-regular"


def test_socket_is_a_record(tmp_path):
    socket_module = pytest.importorskip("socket")
    if not hasattr(socket_module, "AF_UNIX"):
        pytest.skip("no Unix sockets here")
    path = tmp_path / "s_cal.fits"
    with socket_module.socket(socket_module.AF_UNIX) as server:
        try:
            server.bind(os.fspath(path))
        except OSError as exc:  # a path too long for a socket name
            pytest.skip(f"cannot bind a socket here: {exc}")
        with pytest.raises(HeaderError) as caught:
            read_header_bytes(path)
    assert (caught.value.code, caught.value.message) == ("not-regular",
                                                         "is a socket, not a regular file")


def test_character_device_is_a_record():
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero here")
    with pytest.raises(HeaderError) as caught:
        read_header_bytes("/dev/zero")  # would otherwise read zeros up to the limit
    assert caught.value.message == "is a character device, not a regular file"


def test_name_that_is_not_utf8_is_read_and_kept(tmp_path):
    name = os.path.join(os.fsencode(tmp_path), b"jw_\xff\xfe_cal.fits")
    write_fits(tmp_path / "plain.fits", {"CAL_VER": "1.14.0"}).rename(os.fsdecode(name))
    for given in (name, os.fsdecode(name)):
        assert extracted(given)[0]["CAL_VER"] == "1.14.0"
    from reporter.scanner import read_record

    record = read_record(os.fsdecode(name))
    assert record.ok and record.path == os.fsdecode(name) and "\udcff" in record.path


# --- gzip members, header size, END -------------------------------------------------

def test_gzip_members_concatenated_read_as_one_stream(tmp_path):
    path = write_fits(tmp_path / "a.fits", {**EVERY_KEYWORD, "R_FLAT": "crds://f.fits"},
                      data_bytes=20_000)
    raw = path.read_bytes()
    cut = raw.index(b"CRDS_CTX")  # the header spans both members
    packed = tmp_path / "cat.fits.gz"
    packed.write_bytes(gzip.compress(raw[:cut]) + gzip.compress(raw[cut:]))
    assert extracted(packed)[0] == extracted(path)[0]
    assert fits.getheader(packed)["CRDS_CTX"] == "jwst_1241.pmap"


def test_gzip_member_followed_by_junk_is_broken_gzip(tmp_path):
    raw = write_fits(tmp_path / "a.fits", {"CAL_VER": "1.14.0"}).read_bytes()
    packed = tmp_path / "junk.fits.gz"
    assert raw.index(b"END     ") > 200
    packed.write_bytes(gzip.compress(raw[:200]) + b"not gzip at all")
    with pytest.raises(HeaderError) as caught:
        read_provenance(packed)
    assert caught.value.code == "bad-gzip"


def test_no_end_error_names_the_limit_and_an_end_like_card(tmp_path, monkeypatch):
    # A smaller limit for the test; the message and the bound are what matter.
    monkeypatch.setattr(headers, "MAX_HEADER_BYTES", 64 * 2880)
    cards = ["SIMPLE  =                    T", "END     but with text"]
    body = "".join(card.ljust(80) for card in cards).encode()
    path = tmp_path / "noend.fits"
    path.write_bytes(body.ljust(200 * 2880, b" "))
    with pytest.raises(HeaderError) as caught:
        read_provenance(path)
    assert caught.value.code == "no-end"
    assert "(180 KiB)" in caught.value.message
    assert "card 2, 'END     but with text', starts with END" in caught.value.message


def test_header_limit_is_far_above_a_mebibyte():
    assert headers.MAX_HEADER_BYTES >= 64 * 1024 * 1024
