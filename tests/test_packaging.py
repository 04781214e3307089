"""The wheel built from the repository carries the knowledge files and the command."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    # Built from a copy: a build leaves build/ and *.egg-info in the source folder.
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "reporter", source / "reporter",
                    ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(source)],
        capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"pip wheel failed:\n{result.stderr[-3000:]}")
    [path] = out.glob("jwst_provenance-*.whl")
    return zipfile.ZipFile(path)


def test_wheel_holds_every_knowledge_file(wheel):
    names = set(wheel.namelist())
    for data in (ROOT / "reporter" / "knowledge").glob("*.csv"):
        assert f"reporter/knowledge/{data.name}" in names


def test_wheel_declares_the_command_and_the_dependencies(wheel):
    [entry_points] = [n for n in wheel.namelist() if n.endswith("entry_points.txt")]
    assert "jwst-provenance = reporter.cli:app" in wheel.read(entry_points).decode()
    [metadata] = [n for n in wheel.namelist() if n.endswith("METADATA")]
    text = wheel.read(metadata).decode()
    for dependency in ("astropy", "jinja2", "bibtexparser", "typer", "tabulate", "packaging"):
        assert f"Requires-Dist: {dependency}" in text
    assert "Requires-Python: >=3.11" in text
