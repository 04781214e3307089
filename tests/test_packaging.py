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
    for folder in ("reporter", "templates"):
        shutil.copytree(ROOT / folder, source / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(source)],
        capture_output=True, text=True)
    if result.returncode != 0:
        pytest.fail(f"pip wheel failed:\n{result.stderr[-3000:]}")
    [path] = out.glob("jwst_provenance-*.whl")
    return path


def test_wheel_holds_every_knowledge_file_and_template(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for data in [*(ROOT / "reporter" / "knowledge").glob("*.csv"),
                 *(ROOT / "reporter" / "knowledge").glob("*.toml")]:
        assert f"reporter/knowledge/{data.name}" in names
    for template in (ROOT / "templates").rglob("*.j2"):
        assert f"reporter/templates/{template.relative_to(ROOT / 'templates')}" in names


def test_wheel_declares_the_command_and_the_dependencies(wheel):
    wheel = zipfile.ZipFile(wheel)
    [entry_points] = [n for n in wheel.namelist() if n.endswith("entry_points.txt")]
    assert "jwst-provenance = reporter.cli:app" in wheel.read(entry_points).decode()
    [metadata] = [n for n in wheel.namelist() if n.endswith("METADATA")]
    text = wheel.read(metadata).decode()
    for dependency in ("astropy", "jinja2", "bibtexparser", "typer", "tabulate", "packaging"):
        assert f"Requires-Dist: {dependency}" in text
    assert "Requires-Python: >=3.11" in text


def test_wheel_works_from_a_fresh_virtual_environment(wheel, tmp_path):
    """Installed with its dependencies in a new environment, away from the sources."""
    environment = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(environment)], check=True)
    python = environment / "bin" / "python"
    install = subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(wheel)],
                             capture_output=True, text=True)
    assert install.returncode == 0, install.stderr[-3000:]
    command = environment / "bin" / "jwst-provenance"
    listed = subprocess.run([str(command), "templates", "list"], capture_output=True, text=True,
                            cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert str(environment) in listed.stdout and "latex/aastex.tex.j2" in listed.stdout
    rendered = subprocess.run(
        [str(command), "render", str(ROOT / "examples" / "data"), "--style", "aastex",
         "--doi", "10.17909/abcd-1234"], capture_output=True, text=True, cwd=tmp_path)
    assert rendered.returncode == 0, rendered.stderr
    assert "\\dataset[doi:10.17909/abcd-1234]" in rendered.stdout
    assert "\\begin{deluxetable*}" in rendered.stdout
