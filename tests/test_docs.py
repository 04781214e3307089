"""The README stays true: its commands, its shown output, its Python example, every command."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from reporter.cli import app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def block_after(marker: str) -> str:
    """The first fenced code block after an HTML comment marker in the README."""
    match = re.search(rf"<!-- {marker} -->\s*```[a-z]*\n(.*?)```", README, re.DOTALL)
    assert match, f"README has no code block after <!-- {marker} -->"
    return match.group(1)


def test_readme_has_the_two_setup_commands():
    main = block_after("main-command").strip()
    tests = block_after("test-command").strip()
    assert "python3 -m venv" in main and "pip install ." in main
    assert main.endswith("jwst-provenance report examples/data --out example-report")
    assert "pip install '.[test]'" in tests and tests.endswith("python -m pytest")


def test_ci_runs_the_readme_test_command():
    script = (ROOT / ".ci" / "run").read_text()
    extract = script.split("command=$(", 1)[1].split(" README.md)", 1)[0] + " README.md"
    found = subprocess.run(["bash", "-c", extract], capture_output=True, text=True, cwd=ROOT)
    assert found.stdout.strip() == block_after("test-command").strip()


@pytest.mark.parametrize("marker, command", [
    ("scan-output", ["scan", "examples/data"]),
    ("check-output", ["check", "examples/data"]),
    ("availability-output", ["render", "examples/data", "--style", "aastex", "--part",
                             "availability", "--doi", "10.17909/abcd-1234"]),
])
def test_readme_output_is_the_real_output(marker, command, monkeypatch, tmp_path):
    shown = block_after(marker).splitlines()
    assert shown[0] == "$ jwst-provenance " + " ".join(command)
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("JWST_PROVENANCE_CACHE", str(tmp_path / "cache.sqlite"))  # a first scan
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0
    timing = re.compile(r"\(\d+\.\d\d s\)")
    real = [timing.sub("(T s)", line).rstrip() for line in result.stdout.splitlines()]
    assert [timing.sub("(T s)", line).rstrip() for line in shown[1:]] == real


def test_readme_python_example_runs(tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", README, re.DOTALL)
    assert len(blocks) >= 2
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in blocks:  # in order: later blocks use what earlier ones made
        exec(compile(block, "README.md", "exec"), namespace)
    assert len(namespace["again"]) == 23
    assert namespace["inventory"].counts("CRDS_CTX")["jwst_1241.pmap"] == 11
    assert (tmp_path / "inventory.ecsv").exists()


COMMANDS = [command.name or command.callback.__name__ for command in app.registered_commands]
COMMANDS += [group.name for group in app.registered_groups]


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_is_documented_with_examples(command):
    assert f"### `{command}`" in README
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.stdout
    assert f"jwst-provenance {command}" in result.stdout
