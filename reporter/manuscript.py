"""Read a LaTeX manuscript and find what it states about the data's processing.

The manuscript is read with every ``\\input``/``\\include`` it names (relative to
the main file, ``.tex`` added when missing), comments removed, each line keeping
its file and line number. Then it finds stated pipeline versions, CRDS contexts,
SDP_VER values, MAST DOIs and citation keys.
"""

from __future__ import annotations

import bisect
import itertools
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import UsageError

__all__ = ["Line", "Statement", "context_around", "find_statements", "read_manuscript"]


@dataclass(frozen=True)
class Line:
    file: str
    number: int
    text: str

    @property
    def where(self) -> str:
        return f"{self.file}:{self.number}"


@dataclass(frozen=True)
class Statement:
    """One thing the text states: kind is version, context, sdp_ver, doi or cite."""

    kind: str
    value: str
    line: Line
    phrase: str


_INPUT = re.compile(r"\\(?:input|include)\s*\{([^}]+)\}")
_COMMENT = re.compile(r"(?<!\\)%.*$")
# Places a line may break, which print nothing: "jwst\_\allowbreak{}1183.pmap" states
# jwst_1183.pmap as plainly as without them.
_BREAK_HINTS = re.compile(r"\\allowbreak(?:\{\})?|\\linebreak\[0\]|\\-")


def read_manuscript(path: str | os.PathLike[str]) -> list[Line]:
    """Every line of the manuscript and the files it includes, comments removed.

    Raises
    ------
    UsageError
        When the main file cannot be read. Included files that are missing are
        skipped (a paper may \\input generated files not there yet).
    """
    main = Path(path)
    if not main.is_file():
        raise UsageError(f"{main}: no such manuscript")
    lines: list[Line] = []
    _read(main, main.parent, lines, set())
    return lines


def _read(path: Path, base: Path, lines: list[Line], seen: set[Path]) -> None:
    real = path.resolve()
    if real in seen:  # a file that includes itself, directly or not
        return
    seen.add(real)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None
    relative = os.path.relpath(path)
    shown = str(path) if relative.startswith("..") else relative
    for number, raw in enumerate(text.splitlines(), 1):
        line = _BREAK_HINTS.sub("", _COMMENT.sub("", raw))
        lines.append(Line(shown, number, line))
        for name in _INPUT.findall(line):
            name = name.strip()
            candidate = base / name
            if not candidate.suffix:
                candidate = candidate.with_suffix(".tex")
            if candidate.is_file():
                _read(candidate, base, lines, seen)


# Version numbers: three parts, and what may follow (rc1, .dev12, +g1234abc).
_VERSION = r"(\d+\.\d+\.\d+(?:(?:rc|a|b)\d*)?(?:\.dev\d+)?(?:\+[\w.]+)?)"
_PATTERNS = [
    ("version", re.compile(r"CAL\\?_VER\}?\s*(?:=|is|of)?\s*\$?\\?\s*\{?v?" + _VERSION, re.I)),
    ("version", re.compile(r"\bjwst\}?\s+(?:pipeline\s+)?(?:version\s+)?v?" + _VERSION, re.I)),
    ("version", re.compile(r"\bversions?\s+" + _VERSION, re.I)),
    ("version", re.compile(r"(?<![\w.])v" + _VERSION)),
    ("context", re.compile(r"jwst\\?_(\d{4})\.pmap")),
    ("context", re.compile(r"\b(?:pmap\s+)?context\s+(?:number\s+)?(?:jwst\\?_)?(\d{3,4})\b(?!\.\d)", re.I)),
    ("context", re.compile(r"\bversion\s+(\d{3,4})\s+of\s+(?:the\s+)?CRDS", re.I)),
    ("sdp_ver", re.compile(r"SDP\\?_VER\}?\s*(?:=|of|is)?\s*\$?\{?([0-9]{4}[._][0-9][0-9a-z._]*)", re.I)),
    ("doi", re.compile(r"(?:doi:|doi\.org/)\s*(10\.\d{4,9}/[^\s}\]{,;]+)", re.I)),
    ("cite", re.compile(r"\\(?:cite|citep|citet|citealt|citealp|citeauthor|citeyear)\*?"
                        r"(?:\[[^\]]*\]){0,2}\{([^}]+)\}")),
]


def find_statements(lines: list[Line]) -> list[Statement]:
    """Every version, context, SDP_VER, DOI and citation the lines state, in order.

    Phrases may break across lines ("version 1183 of / the CRDS"): each file's lines
    are searched as one text, and every match keeps the line it starts on.
    """
    found: list[Statement] = []
    for chunk in _chunks(lines):
        text = "\n".join(line.text for line in chunk)
        starts = list(itertools.accumulate([0] + [len(line.text) + 1 for line in chunk[:-1]]))
        taken: set[tuple[str, str, int]] = set()
        for kind, pattern in _PATTERNS:
            for match in pattern.finditer(text):
                line = chunk[bisect.bisect_right(starts, match.start()) - 1]
                phrase = " ".join(match.group(0).split())
                if kind == "cite":
                    for key in match.group(1).split(","):
                        if key.strip():
                            found.append(Statement("cite", key.strip(), line, phrase))
                    continue
                value = match.group(1).rstrip(".")
                if kind == "context":
                    value = f"jwst_{int(value):04d}.pmap"
                # One value once per place, whichever pattern found it first.
                if (kind, value, line.number) in taken:
                    continue
                taken.add((kind, value, line.number))
                found.append(Statement(kind, value, line, phrase))
    return found


def context_around(statement: Statement, lines: list[Line], width: int = 2) -> str:
    """The statement's line and its neighbours in the same file, as one text."""
    index = next(i for i, line in enumerate(lines) if line is statement.line)
    near = [line.text for line in lines[max(0, index - width):index + width + 1]
            if line.file == statement.line.file]
    return " ".join(near)


def _chunks(lines: list[Line]) -> list[list[Line]]:
    """Consecutive lines of one file (an \\input interrupts its parent's run)."""
    chunks: list[list[Line]] = []
    for line in lines:
        if chunks and chunks[-1][-1].file == line.file and chunks[-1][-1].number + 1 == line.number:
            chunks[-1].append(line)
        else:
            chunks.append([line])
    return chunks
