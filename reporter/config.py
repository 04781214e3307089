"""``provenance.toml``: a paper folder's settings, read by every command run there.

Command-line options win over the file; paths in it are relative to its folder.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UsageError

__all__ = ["CONFIG_NAME", "Config", "load_config", "write_config"]

CONFIG_NAME = "provenance.toml"

TEMPLATE = '''\
# Settings of jwst-provenance for this paper. Every jwst-provenance command run in
# this folder reads them; options given on the command line win. Paths are
# relative to this file's folder.

[data]
# The dataset: files, folders (searched recursively), glob patterns in quotes
# ("data/**/*_cal.fits") or "@manifest.txt" files.
paths = {paths}
# The MAST DOI(s) of the data (10.17909/...), from the MAST DOI service.
# JWST-funded programs must cite one.
dois = {dois}

[output]
# LaTeX style: "aastex", "mnras", "aa" or "generic".
style = "{style}"
# The folder jwst-provenance report writes into.
out = "provenance"
# Above this many files the appendix prints a portion of the per-file table, and
# report writes the full table as provenance_files.mrt (AAS) and .csv.
table_limit = 200

[knowledge]
# Your own knowledge files (same form as the shipped caveats.toml), e.g. ["caveats.toml"].
extra = []

[templates]
# Folders searched for templates before the built-in ones, e.g. ["templates"].
dirs = []
'''

_FIELDS = {
    "data": {"paths": list, "dois": list},
    "output": {"style": str, "out": str, "table_limit": int},
    "knowledge": {"extra": list},
    "templates": {"dirs": list},
}


@dataclass
class Config:
    """The settings of one ``provenance.toml`` (empty when there is none)."""

    path: Path | None = None
    paths: list[str] = field(default_factory=list)
    dois: list[str] = field(default_factory=list)
    style: str | None = None
    out: str | None = None
    knowledge: list[str] = field(default_factory=list)
    template_dirs: list[str] = field(default_factory=list)
    table_limit: int | None = None


def load_config(folder: str | os.PathLike[str] | None = None) -> Config:
    """Read ``provenance.toml`` in ``folder`` (default: the current one), if there is one.

    Raises
    ------
    UsageError
        When the file is not valid TOML or has an unknown section, key or type.
    """
    path = Path(folder or os.getcwd()) / CONFIG_NAME
    if not path.is_file():
        return Config()
    try:
        document = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path}: not a readable TOML file: {exc}") from None
    values: dict[str, object] = {}
    for section, content in document.items():
        if section not in _FIELDS or not isinstance(content, dict):
            raise UsageError(f"{path}: unknown section [{section}]; expected: "
                             f"{', '.join(f'[{s}]' for s in _FIELDS)}")
        for key, value in content.items():
            kind = _FIELDS[section].get(key)
            if kind is None:
                raise UsageError(f"{path}: unknown key '{key}' in [{section}]; expected: "
                                 f"{', '.join(_FIELDS[section])}")
            if (not isinstance(value, kind) or isinstance(value, bool)
                    or (kind is list and not all(isinstance(v, str) for v in value))
                    or (kind is int and value < 0)):
                wanted = {list: "a list of text values", int: "a whole number, 0 or more"}.get(
                    kind, "text")
                raise UsageError(f"{path}: [{section}] {key} must be {wanted}")
            values[f"{section}.{key}"] = value
    base = path.parent

    def relative(items: object) -> list[str]:
        # "@manifest" keeps its @; URLs and absolute paths stay as they are.
        result = []
        for item in items or []:  # type: ignore[union-attr]
            at = "@" if item.startswith("@") else ""
            name = item[len(at):]
            result.append(at + (name if "://" in name or os.path.isabs(name)
                                else os.path.join(base, name)))
        return result

    out = values.get("output.out")
    return Config(
        path=path,
        paths=relative(values.get("data.paths")),
        dois=list(values.get("data.dois") or []),  # type: ignore[arg-type]
        style=values.get("output.style"),  # type: ignore[arg-type]
        out=os.path.join(base, out) if isinstance(out, str) else None,
        knowledge=relative(values.get("knowledge.extra")),
        template_dirs=relative(values.get("templates.dirs")),
        table_limit=values.get("output.table_limit"),  # type: ignore[arg-type]
    )


# TOML basic strings: these escapes, and \\uXXXX for every other control character.
_TOML_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n",
                 "\f": "\\f", "\r": "\\r"}


def _toml_string(item: str) -> str:
    """``item`` as a TOML basic string that reads back exactly (any folder name)."""
    out = []
    for char in item:
        if "\ud800" <= char <= "\udfff":  # a byte that is not UTF-8 (os.fsdecode)
            raise UsageError(f"{item!r}: a name that is not UTF-8 cannot go in "
                             f"{CONFIG_NAME}; rename it or edit the file by hand")
        if char in _TOML_ESCAPES:
            out.append(_TOML_ESCAPES[char])
        elif char < " " or char == "\x7f":
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def write_config(folder: str | os.PathLike[str], *, paths: list[str] | None = None,
                 dois: list[str] | None = None, style: str = "aastex",
                 overwrite: bool = False) -> Path:
    """Write a commented ``provenance.toml`` into ``folder``; return its path."""
    from .outputs import atomic_write

    def toml_list(items: list[str]) -> str:
        return "[" + ", ".join(_toml_string(item) for item in items) + "]"

    text = TEMPLATE.format(paths=toml_list(paths or ["data/"]), dois=toml_list(dois or []),
                           style=style)
    path = Path(folder) / CONFIG_NAME
    atomic_write(path, lambda stream: stream.write(text), overwrite=overwrite)
    return path
