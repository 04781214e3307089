"""Sentences for the paper, built once and printed in any output language.

:mod:`reporter.paper` writes the sentences a part needs (the caveats, the notes
under tables) as :data:`Prose`: a tuple of plain text, :class:`Code` (file names,
contexts, keywords: typewriter) and :class:`Count` (numbers: the style's thousands
separator). The render filters turn Prose into LaTeX or Markdown, escaping every
run exactly once, so the wording lives in one place and no value ever becomes
markup.

House rules kept here: lists take the serial comma (:func:`join`); counts agree
with their noun (:func:`counted`), and are words below ten.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["Code", "Count", "Prose", "counted", "join", "prose", "separated"]


@dataclass(frozen=True)
class Code:
    """A literal value in typewriter type: a file name, a CRDS context, a keyword."""

    text: str


@dataclass(frozen=True)
class Count:
    """A whole number of things: in words below ten ("two files", as the journals'
    style guides ask for counts without a unit), else in figures with the style's
    thousands separator; ``figures`` keeps figures (a count beside other counts)."""

    value: int
    figures: bool = False


Run = str | Code | Count
Prose = tuple[Run, ...]


def prose(*parts: Run | Prose | Iterable[Run]) -> Prose:
    """Flatten runs and pieces of prose into one :data:`Prose`; adjacent text merges."""
    runs: list[Run] = []
    for part in parts:
        items = (part,) if isinstance(part, (str, Code, Count)) else tuple(part)
        for item in items:
            if isinstance(item, str) and runs and isinstance(runs[-1], str):
                runs[-1] += item
            elif item != "":
                runs.append(item)
    return tuple(runs)


def join(items: Sequence[Run | Prose], conjunction: str = "and") -> Prose:
    """``a``; ``a and b``; ``a, b, and c``: the serial comma, in every list."""
    pieces = [prose(item) for item in items]
    if len(pieces) < 3:
        return separated(pieces, f" {conjunction} ")
    return prose(separated(pieces[:-1], ", "), f", {conjunction} ", pieces[-1])


def separated(items: Sequence[Run | Prose], separator: str) -> Prose:
    """The items with ``separator`` between them: ``a; b; c``."""
    out: list[Run | Prose] = []
    for index, item in enumerate(items):
        if index:
            out.append(separator)
        out.append(prose(item))
    return prose(*out)


def counted(count: int, noun: str, plural: str | None = None) -> Prose:
    """``1 file``, ``2 files``, ``1,204 inputs``."""
    return prose(Count(count), " ", noun if count == 1 else (plural or noun + "s"))
