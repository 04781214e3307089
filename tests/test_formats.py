"""Saving an inventory as JSON, ECSV and CSV, reading it back, and writing outputs safely."""

from __future__ import annotations

import csv
import io
import json
import os

import pytest

import reporter
from reporter import Inventory, InventoryError, OutputExists, ProvenanceRecord, UsageError
from reporter.formats import dump_inventory
from reporter.outputs import atomic_write
from reporter.records import KeywordMap
from reporter.sources import Skipped


def record(path, keywords=None, references=None, steps=None, **extra):
    return ProvenanceRecord.build(
        path, KeywordMap.from_dict(keywords or {}), KeywordMap.from_dict(references or {}),
        KeywordMap.from_dict(steps or {}), **extra)


@pytest.fixture
def inventory():
    return Inventory([
        record("data/jw01345001001_02101_00001_nrca1_cal.fits",
               {"CAL_VER": "1.14.0", "CRDS_CTX": "jwst_1241.pmap", "INSTRUME": "NIRCAM",
                "EXP_TYPE": "NRC_IMAGE", "PROGRAM": "01345", "TSOVISIT": False,
                "TARGNAME": "", "OBSERVTN": "001"},
               {"R_FLAT": "crds://jwst_nircam_flat_0001.fits", "R_DARK": "N/A"},
               {"S_JUMP": "COMPLETE"}, size=17280),
        record("data/jw01366002001_04103_00001-seg001_nrcalong_calints.fits",
               {"CAL_VER": "1.12.5", "EXP_TYPE": "NRC_TSGRISM", "TSOVISIT": True,
                "PROGRAM": "01366", "TARGNAME": "WASP-39 b, \"quoted\", & more"},
               {"R_FLAT": "N/A"}, {"S_JUMP": "SKIPPED", "S_FLAT": "SKIPPED"}, size=5760),
        record("data/odd.fits", {"CAL_VER": "1.11.4", "PROGRAM": 1345}, size=2880),
        record("broken/cut_cal.fits", error_code="truncated",
               error="truncated: the file ends after 4000 bytes"),
    ], skipped=[Skipped("data/README.txt", "not a FITS file name")],
        meta={"tool": "jwst-provenance test", "inputs": ["data", "broken"]})


@pytest.mark.parametrize("format", ["json", "ecsv"])
def test_round_trip_keeps_values_types_and_absence(tmp_path, inventory, format):
    path = tmp_path / f"inventory.{format}"
    inventory.write(path)
    again = Inventory.read(path)
    if format == "ecsv":
        # A column whose type differs between files (PROGRAM: text, and an
        # integer in one file) is kept as text: the one documented change.
        assert again.records[2].keywords["PROGRAM"] == "1345"
        inventory.records[2] = record("data/odd.fits", {"CAL_VER": "1.11.4", "PROGRAM": "1345"},
                                      size=2880)
    assert again == inventory
    for before, after in zip(inventory, again):
        for group in ("keywords", "reference_files", "step_status"):
            assert getattr(after, group).to_dict() == getattr(before, group).to_dict()
        assert {k: type(v) for k, v in after.keywords.items()} == \
            {k: type(v) for k, v in before.keywords.items()}
        assert (after.error_code, after.error, after.size) == \
            (before.error_code, before.error, before.size)
        assert (after.instrument, after.mode, after.suffix) == \
            (before.instrument, before.mode, before.suffix)
    assert again.skipped == inventory.skipped
    assert again.meta["inputs"] == ["data", "broken"]


def test_ecsv_keeps_types_of_uniform_columns_and_text_for_mixed(tmp_path, inventory):
    path = tmp_path / "inventory.ecsv"
    inventory.write(path)
    again = Inventory.read(path)
    first = again.records[0].keywords
    assert first["TSOVISIT"] is False and again.records[1].keywords["TSOVISIT"] is True
    assert first["TARGNAME"] == ""                       # empty string, not absent
    assert "TARGNAME" not in again.records[2].keywords   # absent, not empty
    # PROGRAM is text in two files and an integer in one: kept as text.
    assert [r.program for r in again.read_ok] == ["01345", "01366", "1345"]


def test_json_is_one_record_per_line(tmp_path, inventory):
    path = tmp_path / "inventory.json"
    inventory.write(path)
    lines = path.read_text().splitlines()
    record_lines = [line for line in lines if line.startswith('  {"path"')]
    assert len(record_lines) == len(inventory)
    document = json.loads(path.read_text())
    assert document["format"] == "jwst-provenance inventory"
    assert document["records"][0]["keywords"]["CAL_VER"] == "1.14.0"
    assert "CRDS_CTX" not in document["records"][1]["keywords"]


def test_csv_has_a_column_per_keyword_and_empty_cells_for_absent(inventory):
    stream = io.StringIO()
    dump_inventory(inventory, stream, "csv")
    rows = list(csv.DictReader(io.StringIO(stream.getvalue())))
    assert len(rows) == len(inventory)
    assert rows[0]["CAL_VER"] == "1.14.0" and rows[1]["CRDS_CTX"] == ""
    assert rows[1]["TARGNAME"] == 'WASP-39 b, "quoted", & more'
    assert rows[0]["R_DARK"] == "N/A" and rows[1]["R_DARK"] == ""
    assert rows[1]["S_FLAT"] == "SKIPPED" and rows[3]["error_code"] == "truncated"
    header = stream.getvalue().splitlines()[0].split(",")
    assert header[:4] == ["path", "size", "error_code", "error"]
    assert header.index("R_DARK") < header.index("R_FLAT") < header.index("S_FLAT")


def test_csv_reads_back_as_text(tmp_path, inventory):
    path = tmp_path / "inventory.csv"
    inventory.write(path)
    again = Inventory.read(path)
    assert [r.path for r in again] == [r.path for r in inventory]
    assert again.records[0].keywords["CAL_VER"] == "1.14.0"
    assert again.records[3].error_code == "truncated"


def test_csv_of_many_files_matches_the_plain_csv_writer(tmp_path):
    """The fast CSV writer reuses rendered cells; compare with csv.writer row by row."""
    from reporter.formats import _cell, _columns

    records = [record(f"f{n}.fits", {"CAL_VER": "1.14.0", "FILENAME": f"f{n}.fits"},
                      {"R_FLAT": f"crds://flat_{n % 3}.fits", "R_DARK": "N/A"},
                      {"S_JUMP": "COMPLETE" if n % 2 else "SKIPPED"}) for n in range(30)]
    inventory = Inventory(records)
    fast = io.StringIO()
    dump_inventory(inventory, fast, "csv")
    plain = io.StringIO()
    writer = csv.writer(plain, lineterminator="\n")
    columns = _columns(records)
    writer.writerow(columns)
    writer.writerows([_cell(r, c) for c in columns] for r in records)
    assert fast.getvalue() == plain.getvalue()


def test_reading_a_scan_of_the_examples_round_trips(tmp_path):
    examples = os.path.join(os.path.dirname(__file__), "..", "examples", "data")
    inventory = reporter.scan([examples], jobs=1)
    for format in ("json", "ecsv"):
        path = tmp_path / f"inv.{format}"
        inventory.write(path)
        assert Inventory.read(path) == inventory


@pytest.mark.parametrize("name, content, message", [
    ("bad.json", "{not json", "not a readable JSON inventory"),
    ("other.json", '{"records": [], "format": "something else"}', "not a jwst-provenance inventory"),
    ("list.json", "[1, 2]", "no 'records' list"),
    ("bad.ecsv", "# %ECSV 1.0\n# ---\nnot a table\n", "not a readable ECSV inventory"),
    ("table.csv", "a,b\n1,2\n", "no 'path' column"),
])
def test_unreadable_inventory_says_why(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(InventoryError, match=message):
        Inventory.read(path)


def test_missing_inventory_and_unknown_format(tmp_path):
    with pytest.raises(InventoryError, match="no such inventory file"):
        Inventory.read(tmp_path / "nope.json")
    with pytest.raises(UsageError, match="cannot tell the format"):
        Inventory.read(tmp_path / "inventory.txt")


def test_write_refuses_to_replace_a_file_unless_asked(tmp_path, inventory):
    path = tmp_path / "inventory.json"
    path.write_text("the user's own file")
    with pytest.raises(OutputExists, match="--force"):
        inventory.write(path)
    assert path.read_text() == "the user's own file"
    inventory.write(path, overwrite=True)
    assert Inventory.read(path) == inventory


def test_atomic_write_leaves_nothing_behind_on_failure(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old")

    def fail(stream):
        stream.write("half of the new content")
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        atomic_write(path, fail, overwrite=True)
    assert path.read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["out.txt"]


def test_atomic_write_makes_an_ordinary_file(tmp_path):
    path = tmp_path / "out.txt"
    atomic_write(path, lambda stream: stream.write("new"))
    assert path.read_text() == "new"
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    with pytest.raises(reporter.OutputError, match="does not exist"):
        atomic_write(tmp_path / "no" / "such" / "folder.txt", lambda s: s.write("x"))
