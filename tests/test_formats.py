"""Saving an inventory as JSON, ECSV and CSV, reading it back, and writing outputs safely."""

from __future__ import annotations

import csv
import io
import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reporter
from reporter import (
    Inventory,
    InventoryError,
    OutputExists,
    ProvenanceRecord,
    UsageError,
)
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
    header = next(csv.reader(io.StringIO(stream.getvalue())))
    assert header[:4] == ["path", "size", "error_code", "error"]
    assert header.index("R_DARK") < header.index("R_FLAT") < header.index("S_FLAT")


def test_csv_reads_back_as_text(tmp_path, inventory):
    path = tmp_path / "inventory.csv"
    inventory.write(path)
    again = Inventory.read(path)
    assert [r.path for r in again] == [r.path for r in inventory]
    assert again.records[0].keywords["CAL_VER"] == "1.14.0"
    assert again.records[3].error_code == "truncated"


def test_csv_of_many_files_matches_the_cell_writer(tmp_path):
    """The fast CSV writer reuses rendered cells; compare with one line per row."""
    from reporter.csv_cells import line
    from reporter.formats import _cell, _columns

    records = [record(f"f{n}.fits", {"CAL_VER": "1.14.0", "FILENAME": f"f{n}.fits"},
                      {"R_FLAT": f"crds://flat_{n % 3}.fits", "R_DARK": "N/A"},
                      {"S_JUMP": "COMPLETE" if n % 2 else "SKIPPED"}) for n in range(30)]
    inventory = Inventory(records)
    fast = io.StringIO()
    dump_inventory(inventory, fast, "csv")
    columns = _columns(records)
    plain = "".join(line(row) + "\n" for row in [columns, *([_cell(r, c) for c in columns]
                                                           for r in records)])
    assert fast.getvalue() == plain
    rows = list(csv.reader(io.StringIO(plain)))
    assert len(rows) == 31 and [row[0] for row in rows[1:3]] == ["f0.fits", "f1.fits"]


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


# Hostile text: every value a writer or reader could lose, split or run -------------

def _hostile_values():
    controls = [f"a{chr(code)}b" for code in [*range(0x20), 0x7F, *range(0x80, 0xA0)]]
    starts = [f"{start}1+1" for start in "=+-@\t\r\0'%"]
    return [
        *controls, *starts,
        "", " ", "  ", "   leading blanks", "trailing blanks   ", "runs    of   blanks",
        "a\n\n\n\nb", "\n", "\r\n", "a\r\nb", "\tTAB first", "last TAB\t",
        "'", "''", "'quoted'", "'=1+1", "''=x", "'%41", "%", "%25", "%FF", "%u202E", "'%",
        '"', '""', 'say "hi", then go', "a,b,c", "#comment", "# x", "nan", "None", "True",
        "1", "-1", "1e5", "µm", "café", "日本", "\u202etxt.exe", "a\u2028b", "a\u2029b",
        "zero\u200bwidth", "\ufeffBOM", "emoji \U0001F600", "tag \U000E0001", "\u00a0nbsp\u00a0",
        "a\udcffb", "\udcfe\udcff", "lone \ud800 high", "\x1b[31mred\x1b[0m", "\x1b]0;title\x07",
        "x" * 3000, "=HYPERLINK(\"http://evil.example/\",\"x\")", "=cmd|' /C calc'!A0",
    ]


HOSTILE = _hostile_values()


def test_the_hostile_set_is_large():
    assert len(set(HOSTILE)) > 86


def _hostile_inventory(values):
    records = []
    for number, value in enumerate(values):
        records.append(record(
            f"data/{value}/{number}.fits",
            {"CAL_VER": "1.14.0", "TARGNAME": value, "OBS_ID": f"{value}{number}"},
            {"R_FLAT": value}, {"S_FLAT": value},
            size=number, error_code="code" if number % 7 == 0 else None,
            error=(value or "no message") if number % 7 == 0 else None))
    return Inventory(records, skipped=[Skipped(values[-1], values[0])],
                     meta={"inputs": list(values[:5])})


def _texts(inventory):
    return [(r.path, r.error, r.keywords.to_dict(), r.reference_files.to_dict(),
             r.step_status.to_dict()) for r in inventory]


@pytest.mark.parametrize("format, keep_formulas",
                         [("json", False), ("ecsv", False), ("csv", False), ("csv", True)])
def test_every_hostile_text_reads_back_exactly(tmp_path, format, keep_formulas):
    inventory = _hostile_inventory(HOSTILE)
    path = tmp_path / f"inventory.{format}"
    inventory.write(path, keep_formulas=keep_formulas)
    path.read_bytes().decode("utf-8")  # valid UTF-8, whatever the names held
    again = Inventory.read(path)
    assert _texts(again) == _texts(inventory)
    if format != "csv":  # CSV has no metadata
        assert again.skipped == inventory.skipped and again.meta["inputs"] == HOSTILE[:5]


def _strict_json(text):
    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def test_json_is_strict_and_holds_no_hidden_character(tmp_path):
    inventory = _hostile_inventory(HOSTILE)
    inventory.records.append(record("nan.fits", {"CAL_VER": "1.14.0", "PHOTMJSR": float("nan"),
                                                 "XREF": float("inf"), "YREF": float("-inf")}))
    path = tmp_path / "inventory.json"
    inventory.write(path)
    text = path.read_text("utf-8")
    document = _strict_json(text)
    assert not any(ord(c) < 0x20 and c != "\n" or 0x7F <= ord(c) <= 0x9F or
                   c in "\u2028\u2029\u202e" for c in text)
    assert document["records"][-1]["keywords"] == {"CAL_VER": "1.14.0", "PHOTMJSR": "nan",
                                                   "XREF": "inf", "YREF": "-inf"}
    assert '"a\\udcffb"' in text  # a name that is not UTF-8, as JSON escapes


def test_lock_lines_are_strict_json_and_keep_any_file_name(tmp_path):
    from reporter.lock import read_lock, write_lock

    names = ["data/a\udcffb.fits", "data/\x1b[31m.fits", "data/\u202e.fits", "data/ok.fits"]
    inventory = Inventory([record(name, {"CAL_VER": "1.14.0", "DATASUM": float("nan")},
                                  {"R_FLAT": name}, size=1) for name in names])
    value = write_lock(inventory, tmp_path / "x.lock")
    text = (tmp_path / "x.lock").read_text("utf-8")
    for line in text.splitlines()[3:]:
        assert _strict_json(line)["DATASUM"] == "nan"
    assert text.isascii()
    locked, fingerprint = read_lock(tmp_path / "x.lock")
    assert fingerprint == value
    assert sorted(r.path for r in locked) == sorted(names)
    assert {r.path: r.reference_files["R_FLAT"] for r in locked} == {n: n for n in names}


def test_csv_cells_are_quoted_neutralised_and_one_line_per_row(tmp_path):
    inventory = _hostile_inventory(HOSTILE)
    path = tmp_path / "inventory.csv"
    inventory.write(path)
    text = path.read_text("utf-8")
    # Printable text only: one line per row, nothing a terminal acts on.
    assert text.count("\n") == len(inventory) + 1
    assert not any(c != "\n" and (ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F) for c in text)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert len(rows) == len(inventory) + 1 and {len(row) for row in rows} == {len(rows[0])}
    starts = {cell[:1] for row in rows for cell in row}
    assert not starts & set("=+-@\t\r\0")
    targets = [dict(zip(rows[0], row))["TARGNAME"] for row in rows[1:]]
    assert targets[HOSTILE.index("=1+1")] == "'=1+1"
    assert targets[HOSTILE.index("'=1+1")] == "''=1+1"
    assert targets[HOSTILE.index("a\udcffb")] == "'%a%FFb"
    # Absent is an unquoted empty cell; an empty text is "".
    assert ',"",' in text and ",," in text


def test_keep_formulas_writes_them_as_they_are(tmp_path):
    inventory = Inventory([record("a.fits", {"TARGNAME": "=1+1", "CAL_VER": "'=x"}, size=-1)])
    path = tmp_path / "inventory.csv"
    inventory.write(path, keep_formulas=True)
    row = next(csv.DictReader(io.StringIO(path.read_text())))
    assert row["TARGNAME"] == "=1+1" and row["CAL_VER"] == "''=x" and row["size"] == "-1"
    again = Inventory.read(path).records[0]
    assert again.keywords["TARGNAME"] == "=1+1" and again.keywords["CAL_VER"] == "'=x"


def test_csv_from_elsewhere_reads(tmp_path):
    path = tmp_path / "inventory.csv"
    path.write_text("\ufeffpath,CAL_VER,TARGNAME\nx.fits,1.14.0,'plain\ny.fits,,a\"b\n")
    records = Inventory.read(path).records
    assert [r.path for r in records] == ["x.fits", "y.fits"]
    assert records[0].keywords.to_dict() == {"CAL_VER": "1.14.0", "TARGNAME": "'plain"}
    assert records[1].keywords.to_dict() == {"TARGNAME": 'a"b'}
    path.write_text('path,CAL_VER\n"x.fits"\n')
    with pytest.raises(InventoryError, match="row 2 has 1 cells"):
        Inventory.read(path)


def test_ecsv_encodes_only_the_columns_that_need_it(tmp_path, inventory):
    path = tmp_path / "plain.ecsv"
    inventory.write(path)
    assert "json_columns" not in path.read_text()
    inventory.records[1] = record("b.fits", {"TARGNAME": "  two\nlines", "CAL_VER": "1.14.0",
                                             "DATASUM": 2**70})
    inventory.write(path, overwrite=True)
    from astropy.table import Table

    table = Table.read(path, format="ascii.ecsv")
    assert table.meta["json_columns"] == ["TARGNAME"]
    assert json.loads(table["TARGNAME"][1]) == "  two\nlines"
    again = Inventory.read(path).records[1].keywords
    assert again["TARGNAME"] == "  two\nlines" and again["DATASUM"] == str(2**70)


def test_a_damaged_json_column_is_a_message(tmp_path, inventory):
    inventory.records[0] = record("a.fits", {"TARGNAME": "\t"})
    path = tmp_path / "inventory.ecsv"
    inventory.write(path)
    path.write_text(path.read_text().replace('"""\\t"""', '"[1]"'))
    with pytest.raises(InventoryError, match="not a readable ECSV"):
        Inventory.read(path)


# Any text at all: surrogates (file names that are not UTF-8) and controls included.
_ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=40)


# An ECSV round trip costs about 0.2 s (astropy): fewer of them unless the long profile.
_LONG = os.environ.get("HYPOTHESIS_PROFILE") == "long"


@pytest.mark.parametrize("format, examples", [("json", 100), ("csv", 100), ("ecsv", 15)])
def test_any_text_reads_back_exactly(tmp_path, format, examples):
    @settings(deadline=None, max_examples=examples * (20 if _LONG else 1))
    @given(values=st.lists(_ANY_TEXT, min_size=1, max_size=8), keep_formulas=st.booleans())
    def round_trip(values, keep_formulas):
        _round_trip(tmp_path, format, values, keep_formulas)

    round_trip()


def _round_trip(tmp_path, format, values, keep_formulas):
    inventory = _hostile_inventory(values)
    path = tmp_path / f"inventory.{format}"
    inventory.write(path, overwrite=True, keep_formulas=keep_formulas)
    assert _texts(Inventory.read(path)) == _texts(inventory)


def test_a_csv_from_another_tool_is_read_exactly_as_written(tmp_path):
    # Only this tool's own files (header cells all quoted) carry its prefixes.
    values = ["'%41BC", "'%E9t%E9", "''quoted''", "'=not a formula", "'-dash", "'%0A"]
    path = tmp_path / "theirs.csv"
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["path", "size", "TARGNAME"])
        for number, text in enumerate(values):
            writer.writerow([f"f{number}.fits", 10, text])
    records = Inventory.read(path).records
    assert [r.keywords["TARGNAME"] for r in records] == values


def test_this_tools_csv_still_gives_back_its_values(tmp_path):
    values = ["'%41BC", "'%E9t%E9", "''quoted''", "=formula", "a\nb\x1b", "%41"]
    inventory = Inventory([ProvenanceRecord.build(f"f{n}.fits", KeywordMap.from_dict(
        {"TARGNAME": text})) for n, text in enumerate(values)])
    path = tmp_path / "ours.csv"
    inventory.write(path)
    assert [r.keywords["TARGNAME"] for r in Inventory.read(path).records] == values


@pytest.mark.parametrize("text", [
    "path,size,TARGNAME\r\na.fits,10,X\r\n\r\n",
    "path,size,TARGNAME\n\na.fits,10,X\n\n\n",
    '"path","size","TARGNAME"\r\n"a.fits","10","X"\r\n\r\n',
])
def test_blank_lines_in_a_csv_are_no_rows(tmp_path, text):
    path = tmp_path / "blank.csv"
    path.write_bytes(text.encode())
    records = Inventory.read(path).records
    assert [(r.path, r.keywords["TARGNAME"]) for r in records] == [("a.fits", "X")]


@pytest.mark.parametrize("suffix", [".ecsv", ".json"])  # CSV holds the records only
def test_skipped_paths_and_inputs_read_back_exactly(tmp_path, suffix):
    """The inventory's metadata (skipped files, the inputs given) hold file names too."""
    from reporter.sources import Skipped

    names = ["a\nb.txt", " lead and trail ", "tab\there", "bytes\udcff", "#hash", "plain.txt"]
    inventory = Inventory([], skipped=[Skipped(name, "not a FITS file name") for name in names],
                          meta={"inputs": ["x\ny", "plain/"]})
    path = tmp_path / f"inventory{suffix}"
    inventory.write(path)
    back = Inventory.read(path)
    assert [item.path for item in back.skipped] == names
    assert back.meta["inputs"] == ["x\ny", "plain/"]
