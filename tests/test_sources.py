"""Expanding inputs into the files to scan: folders, globs, manifests, links, duplicates."""

from __future__ import annotations

import os

import pytest
from fitsfiles import fits_bytes, write

import reporter
from reporter.errors import NoFilesFound
from reporter.sources import Problem, Skipped, expand_inputs

# --------------------------------------------------------------------------- helpers

needs_symlinks = pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symbolic links")


# --------------------------------------------------------------------------- files and folders

def test_single_file(tmp_path):
    path = write(tmp_path / "jw01345001001_01101_00001_nrca1_cal.fits")
    expansion = expand_inputs([path])
    assert expansion.files == [path]
    assert expansion.entries == [path]
    assert expansion.problems == []
    assert expansion.skipped == []
    assert expansion.searched == [path]


def test_single_file_given_as_pathlike(tmp_path):
    path = tmp_path / "a_cal.fits"
    write(path)
    assert expand_inputs([path]).files == [str(path)]


def test_directory_searched_recursively_in_name_order(tmp_path):
    root = tmp_path / "data"
    # Written out of order on purpose: the result must not depend on it.
    names = [
        "sub2/c.fits",
        "b.fits",
        "sub1/deeper/y.fits",
        "a.fits",
        "sub1/z.fits",
        "sub1/deeper/even/x.fits",
        "sub10/w.fits",
        "Z.fits",
    ]
    for name in names:
        write(root / name)
    expected = [str(root / name) for name in [
        "Z.fits",             # files of a folder first, sorted by name ('Z' < 'a')
        "a.fits",
        "b.fits",
        "sub1/z.fits",        # then its subfolders in name order, depth first
        "sub1/deeper/y.fits",
        "sub1/deeper/even/x.fits",
        "sub10/w.fits",
        "sub2/c.fits",
    ]]
    first = expand_inputs([str(root)])
    assert first.files == expected
    assert first.problems == []
    assert first.searched == [str(root)]
    # Deterministic: the same answer again.
    assert expand_inputs([str(root)]).files == expected


def test_non_fits_names_in_folders_are_skipped_with_a_reason(tmp_path):
    good = write(tmp_path / "a_cal.fits")
    notes = write(tmp_path / "notes.txt", b"hello\n")
    preview = write(tmp_path / "sub" / "preview.png", b"\x89PNG")
    expansion = expand_inputs([str(tmp_path)])
    assert expansion.files == [good]
    skipped = {entry.path: entry.reason for entry in expansion.skipped}
    assert set(skipped) == {notes, preview}
    assert all(isinstance(entry, Skipped) for entry in expansion.skipped)
    assert "not a FITS file name" in skipped[notes]


def test_non_fits_name_given_explicitly_is_taken(tmp_path):
    notes = write(tmp_path / "notes.txt", b"not fits\n")
    renamed = write(tmp_path / "product.dat")  # a real FITS file with an odd name
    expansion = expand_inputs([notes, renamed])
    assert expansion.files == [notes, renamed]
    assert expansion.skipped == []
    records = reporter.scan([notes, renamed], jobs=1).records
    assert [r.path for r in records] == [notes, renamed]
    assert records[0].error_code == "not-fits"
    assert records[1].ok and records[1].keywords["CAL_VER"] == "1.14.0"


@pytest.mark.parametrize(
    ("name", "picked"),
    [
        ("a.fits", True),
        ("a.fit", True),
        ("a.fits.gz", True),
        ("a.fit.gz", True),
        ("A.FITS", True),
        ("A.Fit", True),
        ("A.FITS.GZ", True),
        ("a.Fit.Gz", True),
        ("a.fits.bz2", False),
        ("a.fz", False),
        ("a.gz", False),
        ("a.fitsx", False),
        ("a.fits.txt", False),
        ("fits", False),
    ],
)
def test_fits_endings_in_folders(tmp_path, name, picked):
    path = write(tmp_path / name)
    expansion = expand_inputs([str(tmp_path)])
    if picked:
        assert expansion.files == [path]
        assert expansion.skipped == []
    else:
        assert expansion.files == []
        assert [s.path for s in expansion.skipped] == [path]


def test_scan_of_a_folder_reads_every_fits_file(tmp_path):
    import gzip

    plain = write(tmp_path / "a_cal.fits")
    packed = write(tmp_path / "b_cal.fits.gz", gzip.compress(fits_bytes(PROGRAM="02222")))
    inventory = reporter.scan([str(tmp_path)], jobs=1)
    assert [r.path for r in inventory.records] == [plain, packed]
    assert all(r.ok for r in inventory.records)
    assert [r.keywords["PROGRAM"] for r in inventory.records] == ["01345", "02222"]


# --------------------------------------------------------------------------- glob patterns

def test_recursive_glob_expanded_by_the_tool(tmp_path):
    a = write(tmp_path / "a_cal.fits")
    b = write(tmp_path / "obs1" / "b_cal.fits")
    c = write(tmp_path / "obs1" / "deep" / "c_cal.fits")
    write(tmp_path / "obs1" / "d_rate.fits")
    write(tmp_path / "obs2" / "e_cal.txt", b"x")
    pattern = str(tmp_path / "**" / "*_cal.fits")
    expansion = expand_inputs([pattern])
    assert expansion.files == sorted([a, b, c])
    assert expansion.skipped == []
    assert expansion.searched == [pattern]


def test_glob_matching_nothing_is_skipped(tmp_path):
    write(tmp_path / "a_rate.fits")
    pattern = str(tmp_path / "**" / "*_cal.fits")
    expansion = expand_inputs([pattern])
    assert expansion.entries == []
    assert len(expansion.skipped) == 1
    assert expansion.skipped[0].path == pattern
    assert "matched nothing" in expansion.skipped[0].reason


def test_glob_matching_directories_walks_them(tmp_path):
    a = write(tmp_path / "obs1" / "a.fits")
    b = write(tmp_path / "obs1" / "inner" / "b.fits")
    notes = write(tmp_path / "obs2" / "notes.txt", b"x")
    c = write(tmp_path / "obs2" / "c.fits")
    write(tmp_path / "other" / "d.fits")
    top_notes = write(tmp_path / "obs_readme.txt", b"x")
    expansion = expand_inputs([str(tmp_path / "obs*")])
    assert expansion.files == [a, b, c]
    # A non-FITS file matched by the pattern itself is skipped, like one in a folder.
    assert {s.path for s in expansion.skipped} == {notes, top_notes}


def test_glob_with_double_star_does_not_duplicate_files(tmp_path):
    a = write(tmp_path / "a.fits")
    b = write(tmp_path / "x" / "b.fits")
    c = write(tmp_path / "x" / "y" / "c.fits")
    # "**" matches the top folder and every folder below it: each is walked once.
    expansion = expand_inputs([str(tmp_path / "**")])
    assert sorted(expansion.files) == sorted([a, b, c])
    assert len(expansion.files) == 3


# --------------------------------------------------------------------------- manifests

def test_manifest_comments_blanks_relative_and_absolute_paths(tmp_path, monkeypatch):
    lists = tmp_path / "lists"
    a = write(lists / "data" / "a.fits")
    b = write(tmp_path / "other" / "b.fits")
    c = write(tmp_path / "other" / "c.fits")
    write(lists / "data" / "commented.fits")
    manifest = lists / "manifest.txt"
    manifest.write_text(
        "# files for the paper\n"
        "\n"
        "data/a.fits\n"
        "   # an indented comment\n"
        "#data/commented.fits\n"
        f"{b}\n"
        "   \n"
        "  ../other/c.fits  \n"
    )
    # Run from somewhere else: entries are relative to the manifest's folder.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    expansion = expand_inputs([f"@{manifest}"])
    assert [os.path.normpath(p) for p in expansion.files] == [a, b, c]
    assert expansion.problems == []
    assert expansion.skipped == []
    assert len(expansion.searched) == 3


def test_manifest_given_relative_to_cwd(tmp_path, monkeypatch):
    a = write(tmp_path / "lists" / "data" / "a.fits")
    (tmp_path / "lists" / "m.txt").write_text("data/a.fits\n")
    monkeypatch.chdir(tmp_path)
    expansion = expand_inputs(["@lists/m.txt"])
    assert expansion.files == [os.path.join("lists", "data", "a.fits")]
    assert os.path.samefile(expansion.files[0], a)


def test_manifest_entries_may_be_folders_and_globs(tmp_path):
    a = write(tmp_path / "data" / "obs1" / "a.fits")
    b = write(tmp_path / "data" / "obs2" / "b_cal.fits")
    write(tmp_path / "data" / "obs2" / "b_rate.fits")
    manifest = tmp_path / "m.txt"
    manifest.write_text("data/obs1\ndata/obs2/*_cal.fits\n")
    expansion = expand_inputs([f"@{manifest}"])
    assert expansion.files == [a, b]


def test_missing_manifest_is_a_problem(tmp_path):
    manifest = str(tmp_path / "nope.txt")
    expansion = expand_inputs([f"@{manifest}"])
    assert expansion.files == []
    assert len(expansion.problems) == 1
    problem = expansion.problems[0]
    assert isinstance(problem, Problem)
    assert problem.code == "missing"
    assert problem.path == manifest
    # The scan keeps it as a record with an error.
    records = reporter.scan([f"@{manifest}"], jobs=1).records
    assert [(r.path, r.error_code) for r in records] == [(manifest, "missing")]
    assert records[0].error


def test_missing_entry_in_manifest_says_which_manifest(tmp_path):
    manifest = tmp_path / "m.txt"
    manifest.write_text("gone.fits\n")
    expansion = expand_inputs([f"@{manifest}"])
    [problem] = expansion.problems
    assert problem.code == "missing"
    assert problem.path == str(tmp_path / "gone.fits")
    assert str(manifest) in problem.message


def test_nested_manifests(tmp_path):
    a = write(tmp_path / "a.fits")
    b = write(tmp_path / "sub" / "data" / "b.fits")
    c = write(tmp_path / "sub" / "c.fits")
    (tmp_path / "sub" / "inner.txt").write_text("data/b.fits\n@deeper/last.txt\n")
    (tmp_path / "sub" / "deeper").mkdir()
    (tmp_path / "sub" / "deeper" / "last.txt").write_text("../c.fits\n")
    outer = tmp_path / "outer.txt"
    outer.write_text("a.fits\n@sub/inner.txt\n")
    expansion = expand_inputs([f"@{outer}"])
    assert [os.path.normpath(p) for p in expansion.files] == [a, b, c]
    assert expansion.problems == []


def test_manifest_listing_itself_does_not_loop(tmp_path):
    a = write(tmp_path / "a.fits")
    manifest = tmp_path / "m.txt"
    manifest.write_text("a.fits\n@m.txt\n")
    expansion = expand_inputs([f"@{manifest}"])
    assert expansion.files == [a]
    assert len(expansion.skipped) == 1
    assert "already read" in expansion.skipped[0].reason


def test_manifests_listing_each_other_do_not_loop(tmp_path):
    a = write(tmp_path / "a.fits")
    b = write(tmp_path / "b.fits")
    (tmp_path / "one.txt").write_text("a.fits\n@two.txt\n")
    (tmp_path / "two.txt").write_text("b.fits\n@one.txt\n")
    expansion = expand_inputs([f"@{tmp_path / 'one.txt'}"])
    assert expansion.files == [a, b]
    assert [s.reason for s in expansion.skipped] == ["manifest already read"]


# --------------------------------------------------------------------------- duplicates

def test_same_file_named_twice_appears_once(tmp_path):
    a = write(tmp_path / "a.fits")
    expansion = expand_inputs([a, a, str(tmp_path), f"{tmp_path}/./a.fits"])
    assert expansion.files == [a]


@pytest.mark.parametrize(
    "variants",
    [
        ["d/a.fits", "d/a.fits"],
        ["d/a.fits", "./d/a.fits"],
        ["./d/a.fits", "d/a.fits"],
        ["d/a.fits", "d//a.fits", "d/./a.fits", "./d/./a.fits"],
        ["d/a.fits", "d"],
        ["d", "./d", "d/", "d/a.fits"],
        ["d/a.fits", "d/*.fits"],
    ],
)
def test_path_variants_of_one_file_appear_once(tmp_path, monkeypatch, variants):
    write(tmp_path / "d" / "a.fits")
    monkeypatch.chdir(tmp_path)
    expansion = expand_inputs(variants)
    assert len(expansion.files) == 1
    assert os.path.normpath(expansion.files[0]) == os.path.join("d", "a.fits")
    records = reporter.scan(variants, jobs=1).records
    assert len(records) == 1 and records[0].ok


@pytest.mark.parametrize("form", ["relative+absolute", "absolute+relative", "folder+absolute-file"])
def test_relative_and_absolute_names_of_one_file_appear_once(tmp_path, monkeypatch, form):
    a = write(tmp_path / "d" / "a.fits")
    monkeypatch.chdir(tmp_path)
    inputs = {
        "relative+absolute": ["d/a.fits", a],
        "absolute+relative": [a, "./d/a.fits"],
        "folder+absolute-file": ["d", a],
    }[form]
    expansion = expand_inputs(inputs)
    assert expansion.files == [inputs[0] if form != "folder+absolute-file" else "d/a.fits"]


@needs_symlinks
def test_file_and_symlinked_folder_holding_it_appear_once(tmp_path):
    a = write(tmp_path / "d" / "a.fits")
    os.symlink(tmp_path / "d", tmp_path / "e")
    assert len(expand_inputs([a, str(tmp_path / "e")]).files) == 1


def test_manifest_and_command_line_naming_the_same_file(tmp_path):
    a = write(tmp_path / "a.fits")
    (tmp_path / "m.txt").write_text("a.fits\n./a.fits\n")
    expansion = expand_inputs([a, f"@{tmp_path / 'm.txt'}"])
    assert expansion.files == [a]


# --------------------------------------------------------------------------- missing paths, URLs

def test_missing_explicit_path_is_a_problem(tmp_path):
    good = write(tmp_path / "a.fits")
    missing = str(tmp_path / "gone_cal.fits")
    expansion = expand_inputs([missing, good, missing])
    assert expansion.files == [good]
    assert expansion.entries[0] == Problem(missing, "missing", expansion.entries[0].message)
    assert len(expansion.problems) == 1  # named twice, reported once
    assert "no such file" in expansion.problems[0].message
    records = reporter.scan([missing, good], jobs=1).records
    assert [(r.path, r.error_code, r.ok) for r in records] == [
        (missing, "missing", False), (good, None, True),
    ]


@pytest.mark.parametrize(
    "url",
    ["https://example.org/x.fits", "http://example.org/data/", "s3://bucket/jw01345_cal.fits",
     "ftp://host/x.fits.gz"],
)
def test_url_naming_a_file_becomes_a_remote_entry_without_a_request(url):
    from reporter.remote import RemoteFile

    expansion = expand_inputs([url])
    [entry] = expansion.entries
    assert entry == RemoteFile(url)
    assert expansion.searched == [url]


def test_url_in_manifest_is_not_joined_to_the_folder(tmp_path):
    from reporter.remote import RemoteFile

    manifest = tmp_path / "m.txt"
    manifest.write_text("https://example.org/x.fits\n")
    assert expand_inputs([f"@{manifest}"]).entries == [RemoteFile("https://example.org/x.fits")]


# --------------------------------------------------------------------------- symbolic links

@needs_symlinks
def test_directory_symlink_loop_is_a_problem_and_files_found_once(tmp_path):
    root = tmp_path / "root"
    a = write(root / "a.fits")
    b = write(root / "child" / "b.fits")
    loop = root / "child" / "loop"
    os.symlink(root, loop)
    expansion = expand_inputs([str(root)])
    assert expansion.files == [a, b]
    [problem] = expansion.problems
    assert problem.code == "symlink-loop"
    assert problem.path == str(loop)
    assert "loop" in problem.message
    inventory = reporter.scan([str(root)], jobs=1)
    assert [(r.path, r.error_code) for r in inventory.records] == [
        (a, None), (b, None), (str(loop), "symlink-loop"),
    ]


@needs_symlinks
def test_loop_to_self_is_a_problem(tmp_path):
    root = tmp_path / "root"
    a = write(root / "a.fits")
    os.symlink(root, root / "self")
    expansion = expand_inputs([str(root)])
    assert expansion.files == [a]
    assert [p.code for p in expansion.problems] == ["symlink-loop"]


@pytest.mark.parametrize("link_name", ["zlink", "alink"])
@needs_symlinks
def test_second_link_to_scanned_folder_is_skipped(tmp_path, link_name):
    root = tmp_path / "root"
    real = write(root / "data" / "a.fits")
    os.symlink(root / "data", root / link_name)
    expansion = expand_inputs([str(root)])
    assert expansion.problems == []
    assert len(expansion.files) == 1
    through = str(root / link_name / "a.fits")
    assert expansion.files[0] in (real, through)
    [skipped] = expansion.skipped
    assert "already scanned" in skipped.reason
    assert skipped.path in (str(root / "data"), str(root / link_name))


@needs_symlinks
def test_symlinked_folder_outside_the_tree_is_followed(tmp_path):
    outside = write(tmp_path / "elsewhere" / "x.fits")
    root = tmp_path / "root"
    root.mkdir()
    os.symlink(tmp_path / "elsewhere", root / "linked")
    expansion = expand_inputs([str(root)])
    assert expansion.files == [str(root / "linked" / "x.fits")]
    assert os.path.samefile(expansion.files[0], outside)


@needs_symlinks
def test_broken_symlinks_in_folders(tmp_path):
    root = tmp_path / "root"
    good = write(root / "a.fits")
    os.symlink(tmp_path / "gone.fits", root / "b_cal.fits")
    os.symlink(tmp_path / "gone.txt", root / "notes.txt")
    expansion = expand_inputs([str(root)])
    assert expansion.files == [good]
    [problem] = expansion.problems
    assert problem.path == str(root / "b_cal.fits")
    assert problem.code == "missing"
    assert "broken symbolic link" in problem.message
    assert [(s.path, s.reason) for s in expansion.skipped] == [
        (str(root / "notes.txt"), "broken symbolic link"),
    ]


@needs_symlinks
def test_broken_symlink_named_explicitly_is_read_as_missing(tmp_path):
    link = tmp_path / "b_cal.fits"
    os.symlink(tmp_path / "gone.fits", link)
    [record] = reporter.scan([str(link)], jobs=1).records
    assert record.path == str(link)
    assert record.error_code == "missing"


# --------------------------------------------------------------------------- nothing to scan

def test_empty_folder_raises_no_files_found_naming_it(tmp_path):
    folder = tmp_path / "empty_dataset"
    folder.mkdir()
    with pytest.raises(NoFilesFound) as caught:
        reporter.scan([str(folder)], jobs=1)
    assert str(folder) in str(caught.value)
    assert caught.value.searched == [str(folder)]
    assert caught.value.skipped == []
    assert isinstance(caught.value, reporter.ReporterError)


def test_folder_with_only_notes_raises_and_lists_skipped(tmp_path):
    folder = tmp_path / "dataset"
    notes = write(folder / "notes.txt", b"observing notes\n")
    with pytest.raises(NoFilesFound) as caught:
        reporter.scan([str(folder)], jobs=1)
    assert str(folder) in str(caught.value)
    assert [s.path for s in caught.value.skipped] == [notes]
    assert "1 item(s) skipped" in str(caught.value)


def test_no_inputs_raises_no_files_found():
    with pytest.raises(NoFilesFound, match="no inputs given"):
        reporter.scan([], jobs=1)


# --------------------------------------------------------------------------- not regular files, names not UTF-8

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")

_SCAN_IN_CHILD = """
import sys
import reporter
for record in reporter.scan(sys.argv[1:], jobs=1).records:
    print(record.path.rsplit("/", 1)[-1], record.error_code, sep="|")
"""


@needs_fifo
def test_fifo_in_a_folder_is_a_problem_and_never_opened(tmp_path):
    good = write(tmp_path / "data" / "a_cal.fits")
    os.mkfifo(tmp_path / "data" / "b_cal.fits")
    os.mkfifo(tmp_path / "data" / "notes.txt")
    expansion = expand_inputs([str(tmp_path / "data")])
    assert expansion.files == [good]
    assert expansion.problems == [Problem(str(tmp_path / "data" / "b_cal.fits"), "not-regular",
                                          "is a FIFO, not a regular file")]
    assert Skipped(str(tmp_path / "data" / "notes.txt"),
                   "is a FIFO, not a regular file") in expansion.skipped


@needs_fifo
@pytest.mark.parametrize("how", ["folder", "explicit", "glob"])
def test_scan_with_a_fifo_finishes(tmp_path, how):
    """A child process with a time limit: a scan that blocks on the FIFO fails the test."""
    import subprocess
    import sys

    write(tmp_path / "data" / "a_cal.fits")
    fifo = tmp_path / "data" / "b_cal.fits"
    os.mkfifo(fifo)
    inputs = {"folder": [str(tmp_path / "data")],
              "explicit": [str(tmp_path / "data" / "a_cal.fits"), str(fifo)],
              "glob": [str(tmp_path / "data" / "*.fits")]}[how]
    done = subprocess.run([sys.executable, "-c", _SCAN_IN_CHILD, *inputs], capture_output=True,
                          text=True, timeout=60, check=True)
    assert done.stdout.split() == ["a_cal.fits|None", "b_cal.fits|not-regular"]


def test_names_that_are_not_utf8_from_folder_argument_and_manifest(tmp_path):
    base = os.fsencode(tmp_path)
    name = os.path.join(base, b"jw_\xff_cal.fits")
    with open(name, "wb") as stream:
        stream.write(fits_bytes())
    as_str = os.fsdecode(name)
    assert "\udcff" in as_str
    manifest = os.path.join(base, b"list.txt")
    with open(manifest, "wb") as stream:
        stream.write(b"jw_\xff_cal.fits\n")
    assert expand_inputs([os.fsdecode(base)]).files == [as_str]
    assert expand_inputs([name]).files == [as_str]  # bytes given: the same str
    assert expand_inputs(["@" + os.fsdecode(manifest)]).files == [as_str]
    [record] = reporter.scan([name], jobs=1).records
    assert record.ok and record.path == as_str
