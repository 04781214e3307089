"""Atomic outputs: a killed write leaves a temporary file that the next write removes,
and never a temporary file still being written, nor any file of another pattern."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap

import pytest

from reporter.errors import OutputExists
from reporter.outputs import (
    atomic_write,
    clean_stale_temporaries,
    open_atomic,
    replace_contents,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX locks and signals")

# A writer that starts an atomic write, says so, and waits to be killed.
WRITER = textwrap.dedent("""
    import sys, time
    from reporter.outputs import open_atomic
    with open_atomic(sys.argv[1], overwrite=True) as stream:
        stream.write("half of an inventory" * 1000)
        stream.flush()
        print("writing", flush=True)
        time.sleep(120)
""")


def temporaries(folder, name):
    """The temporary files of writes to ``name`` (mkstemp's 8 random characters)."""
    pattern = re.compile(rf"\.{re.escape(name)}\.[a-z0-9_]{{8}}\.tmp")
    return sorted(p.name for p in folder.iterdir() if pattern.fullmatch(p.name))


@pytest.fixture
def writer(tmp_path):
    """Start a writer on a destination; yields (process, destination)."""
    started = []

    def start(destination):
        process = subprocess.Popen([sys.executable, "-c", WRITER, str(destination)],
                                   stdout=subprocess.PIPE, text=True)
        started.append(process)
        assert process.stdout.readline().strip() == "writing"
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        process.stdout.close()


def kill(process):
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL


def test_the_next_write_removes_what_a_killed_write_left(tmp_path, writer):
    destination = tmp_path / "inventory.ecsv"
    kill(writer(destination))
    left = temporaries(tmp_path, "inventory.ecsv")
    assert len(left) == 1 and not destination.exists()  # what kill -9 leaves
    atomic_write(destination, lambda stream: stream.write("whole\n"))
    assert destination.read_text() == "whole\n"
    assert temporaries(tmp_path, "inventory.ecsv") == []


def test_a_write_under_way_keeps_its_temporary(tmp_path, writer):
    destination = tmp_path / "inventory.ecsv"
    process = writer(destination)
    [busy] = temporaries(tmp_path, "inventory.ecsv")
    # Another write to the same destination, and a cleaning of the folder, meanwhile.
    atomic_write(destination, lambda stream: stream.write("other\n"))
    assert clean_stale_temporaries(tmp_path, ["inventory.ecsv"]) == []
    assert temporaries(tmp_path, "inventory.ecsv") == [busy]
    kill(process)
    assert clean_stale_temporaries(tmp_path, ["inventory.ecsv"]) == [tmp_path / busy]
    assert destination.read_text() == "other\n"


def test_only_our_pattern_for_that_destination_is_removed(tmp_path, writer):
    kill(writer(tmp_path / "a.tex"))
    kill(writer(tmp_path / "a.tex.bak"))  # another destination whose name starts alike
    [ours] = temporaries(tmp_path, "a.tex")
    [theirs] = temporaries(tmp_path, "a.tex.bak")
    others = {".a.tex.notmine.tmp": "x", ".a.tex.abcdefgh.tmp.keep": "x", "a.tex.abcdefgh.tmp": "x",
              ".a.tex.ABCDEFGH.tmp": "x", ".b.tex.abcdefgh.tmp": "x"}
    for name, text in others.items():
        (tmp_path / name).write_text(text)
    (tmp_path / ".a.tex.zzzzzzzz.tmp").mkdir()  # a folder of our pattern: not a temporary
    (tmp_path / ".a.tex.yyyyyyyy.tmp").symlink_to(tmp_path / "a.tex.abcdefgh.tmp")
    before = set(os.listdir(tmp_path)) - {ours}
    atomic_write(tmp_path / "a.tex", lambda stream: stream.write("x"))
    assert set(os.listdir(tmp_path)) == before | {"a.tex"} and theirs in before
    assert (tmp_path / "a.tex.abcdefgh.tmp").read_text() == "x"  # the link's target too


def test_clean_stale_temporaries_for_a_report_folder(tmp_path, writer):
    for name in ("software.tex", "check.json"):
        kill(writer(tmp_path / name))
    removed = clean_stale_temporaries(tmp_path, ["software.tex", "check.json", "absent.md"])
    assert sorted(p.name.split(".tmp")[0][:-9] for p in removed) == [".check.json", ".software.tex"]
    assert os.listdir(tmp_path) == []
    assert clean_stale_temporaries(tmp_path / "no such folder", ["x"]) == []


def test_a_failed_write_leaves_nothing_and_keeps_the_old_file(tmp_path):
    destination = tmp_path / "out.csv"
    destination.write_text("old\n")
    with pytest.raises(RuntimeError), open_atomic(destination, overwrite=True) as stream:
        stream.write("new")
        raise RuntimeError("stopped half-way")
    assert os.listdir(tmp_path) == ["out.csv"] and destination.read_text() == "old\n"
    with pytest.raises(OutputExists):
        atomic_write(destination, lambda stream: stream.write("x"))


def test_text_is_utf8_with_newlines_as_given(tmp_path):
    atomic_write(tmp_path / "t.md", lambda stream: stream.write("µm\r\nend\n"))
    assert (tmp_path / "t.md").read_bytes() == "µm\r\nend\n".encode()
    atomic_write(tmp_path / "b.bin", lambda stream: stream.write(b"\x00\xff"), binary=True)
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\xff"


def test_replace_contents_writes_through_a_link_and_keeps_the_mode(tmp_path):
    target = tmp_path / "real" / "paper.bib"
    target.parent.mkdir()
    target.write_bytes(b"old")
    target.chmod(0o600)
    link = tmp_path / "paper.bib"
    link.symlink_to(target)
    assert replace_contents(link, b"new\r\n") == str(target)
    assert link.is_symlink() and target.read_bytes() == b"new\r\n"
    assert target.stat().st_mode & 0o777 == 0o600
    assert os.listdir(target.parent) == ["paper.bib"]
