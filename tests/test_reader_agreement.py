"""The header reader agrees with astropy: for every header astropy reads without a
warning, each extracted keyword has astropy's value and type, or the record's problem
names its card. Real JWST headers, mutated, and headers made card by card.

Examples per test scale with the hypothesis profile (tests/conftest.py):
``HYPOTHESIS_PROFILE=long`` runs many more.
"""

from __future__ import annotations

import gzip

import pytest
from astropy.io import fits
from header_mutations import (
    SPECIAL_CARDS,
    astropy_reading,
    cards,
    continue_cards,
    file_bytes,
    gzip_members,
    mutated,
    real_headers,
    silent_differences,
    tool_reading,
    typed,
    wrapped,
)
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from reporter import headers
from reporter.headers import parse_header

HEADERS = real_headers()
needs_fixtures = pytest.mark.skipif(not HEADERS, reason="no real JWST headers in "
                                    "JWST_HEADER_FIXTURES (/work/shared/fixtures/headers)")
# Four times the profile's examples each: a few seconds in the default profile.
_EXAMPLES = settings(deadline=None, max_examples=settings().max_examples * 4,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def check(data: bytes) -> None:
    differ = silent_differences(data)
    event("astropy warns or fails: not compared" if differ is None else "compared")
    assert not differ, differ
    # The learnt-layout path and the card-by-card path read every header alike.
    text = headers.header_from_reads(data, lambda size: b"")
    if data[:2] != b"\x1f\x8b" and text.isascii():
        fast = parse_header(text)
        slow = headers._parse_unusual(text.decode("ascii"), [])
        for group in ("core", "reference_files", "step_status"):
            keys, values = getattr(fast, group)
            assert dict(zip(keys, map(typed, values))) == dict(
                zip(getattr(slow, group)[0], map(typed, getattr(slow, group)[1])))
        assert (fast.problem is None) == (slow.problem is None)


@needs_fixtures
@_EXAMPLES
@given(data=st.data())
def test_mutated_real_headers_read_as_astropy_reads_them(data):
    check(data.draw(wrapped(data.draw(mutated(HEADERS)))))


def _simple(*more: str) -> list[str]:
    return ["SIMPLE  =                    T", "BITPIX  =                    8",
            "NAXIS   =                    0", *more]


@_EXAMPLES
@given(st.lists(st.one_of(cards(), cards(), continue_cards(), SPECIAL_CARDS), max_size=12))
# Each of these once read differently from astropy, with no word of it in the record.
@example(["R_DARK  =                    T"])  # after R_DARK = 1 in a file of one layout
@example(["END     junk after the END keyword", "CAL_VER = '1.14.0'"])
@example(["cal_ver = '1.14.0'", "r_flat  = 'crds://x.fits'"])
@example(["CAL_VER= '1.14.0'", "PROGRAM= 1345"])
@example(["PROGRAM =             1.0 E 5", "R_X     =          - 1.5 D 2"])
@example(["PROGRAM = nan", "R_A     = Infinity", "R_B     = 1_000"])
@example(["PROGRAM = (1, 2)"])
@example(["TARGNAME= 'O'Brien'", "R_Q     = 'a' / it's"])
@example(["HIERARCH CAL_VER = '1.14.0'", "HIERARCH r_flat = 'crds://y.fits'"])
@example(["R_FLAT  = 'AXIS.1: 2'", "R_FLAT  = 'crds://z.fits'"])
@example(["CAL_VER = 'abc&'", "CONTINUE  'def&' / one", "CONTINUE  'ghi' / two"])
@example(["CAL_VER = 'it''s &'", "CONTINUE  'x'"])
@example(["PROGRAM = 00012", "R_M     = -0.0", "R_N     = 0.0", "R_O     = 1E400"])
@example(["DATE    = '' / it's / odd '"])  # astropy's string: the longest that may end
@example(["DATE-OBS= '=cmd|'' /C calc''!A0'"])  # astropy ends it after the first ''
def test_made_up_cards_read_as_astropy_reads_them(cards_list):
    check(file_bytes(_simple(*cards_list)))


def test_type_is_part_of_a_cached_value():
    """1, 1.0 and True are equal in Python: a cache keyed by values once gave a file
    an earlier file's value of another type."""
    base = _simple("CAL_VER = '1.14.0'", "R_DARK  = 'crds://d.fits'", "S_JUMP  = 'COMPLETE'")
    read = []
    for value in ("1", "1.0", "T", "-0.0", "0.0", "'1'"):
        cards_list = [*base, f"R_GAIN  = {value:>20}"]
        found, problem = tool_reading(file_bytes(cards_list))
        assert problem is None
        read.append(typed(found["R_GAIN"]))
    assert read == [("int", "1"), ("float", "1.0"), ("bool", "True"), ("float", "-0.0"),
                    ("float", "0.0"), ("str", "'1'")]


def test_core_value_cache_keeps_types():
    read = [tool_reading(file_bytes(_simple(f"PROGRAM = {value:>20}")))[0]["PROGRAM"]
            for value in ("1", "T", "1.0", "1")]
    assert [typed(value) for value in read] == [("int", "1"), ("bool", "True"),
                                               ("float", "1.0"), ("int", "1")]


def test_end_followed_by_text_is_an_ordinary_card():
    data = file_bytes(_simple("END     this is not the end", "CAL_VER = '1.14.0'"))
    assert astropy_reading(data)["CAL_VER"] == "1.14.0"
    assert tool_reading(data)[0]["CAL_VER"] == "1.14.0"


def test_non_fits_numbers_are_text_and_the_card_is_named():
    found, problem = tool_reading(file_bytes(_simple(
        "PROGRAM = nan", "R_A     = Infinity", "R_B     = 1_000")))
    assert found == {"PROGRAM": "nan", "R_A": "Infinity", "R_B": "1_000"}
    assert problem.code == "bad-value"
    for named in ("card 4 (PROGRAM)", "card 5 (R_A)", "card 6 (R_B)"):
        assert named in problem.message


def test_fits_numbers_with_blanks_as_astropy_reads_them():
    data = file_bytes(_simple("PROGRAM =             1.0 E 5", "R_X     =          - 1.5 D 2"))
    found, problem = tool_reading(data)
    assert problem is None
    assert found == astropy_reading(data) == {"PROGRAM": 100000.0, "R_X": -150.0}


def test_complex_value_is_text_with_a_problem():
    data = file_bytes(_simple("PROGRAM = (1, 2)"))
    assert astropy_reading(data) == {"PROGRAM": 1 + 2j}
    found, problem = tool_reading(data)
    assert found == {"PROGRAM": "(1, 2)"}
    assert "card 4 (PROGRAM)" in problem.message and "complex" in problem.message


def test_hierarch_and_lower_case_keywords():
    data = file_bytes(_simple("HIERARCH CAL_VER = '1.14.0'", "r_flat  = 'crds://f.fits'",
                              "CRDS_CTX= 'jwst_1241.pmap'"))
    assert tool_reading(data) == ({"CAL_VER": "1.14.0", "CRDS_CTX": "jwst_1241.pmap",
                                   "R_FLAT": "crds://f.fits"}, None)
    assert astropy_reading(data) == tool_reading(data)[0]


@pytest.mark.parametrize("members", [[1000], [2879, 2880, 2881], [5000, 5001, 7000]])
def test_header_spanning_gzip_members(members):
    data = file_bytes(_simple(*[f"R_K{i:05d}= 'crds://{i}.fits'" for i in range(90)]))
    packed = gzip_members(data, members)
    assert len(packed) > len(gzip.compress(data))  # several members indeed
    found, problem = tool_reading(packed)
    assert problem is None and len(found) == 90
    assert found == astropy_reading(packed)


def test_header_over_a_mebibyte_is_read():
    many = [f"R_K{i:05d}= 'crds://{i}.fits'" for i in range(16000)]  # 1.2 MiB
    data = file_bytes(_simple(*many, "CAL_VER = '1.14.0'"))
    assert len(data) > 1024 * 1024
    found, _ = tool_reading(data)
    assert found["CAL_VER"] == "1.14.0" and len(found) == 16001
    with fits.open(__import__("io").BytesIO(data)) as hdus:
        assert hdus[0].header["CAL_VER"] == "1.14.0"


def test_string_astropy_ends_early_is_astropy_reading_and_said():
    """astropy ends a string at a doubled quote a comment could follow; the FITS
    standard does not. astropy's reading is kept, and the record names the card."""
    data = file_bytes(_simple("DATE-OBS= '=cmd|'' /C calc''!A0'"))
    assert astropy_reading(data) == {"DATE-OBS": "=cmd|'"}
    found, problem = tool_reading(data)
    assert found == {"DATE-OBS": "=cmd|'"}
    assert problem.code == "bad-value" and "card 4 (DATE-OBS)" in problem.message
    assert "=cmd|'' /C calc''!A0" in problem.message
