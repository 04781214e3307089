"""BibTeX for the pipeline versions a dataset used, merged safely with the paper's own.

One entry per distinct CAL_VER (the version's Zenodo DOI where the knowledge base
has it, else the DOI of all versions with the version stated), and Astropy's
papers. With the author's ``.bib``, their entries for the same DOI or version are
reused, so the rendered text cites *their* keys and nothing is added twice. Their
file is never rewritten unless asked (``in_place``): then a backup is written
first and the new entries are appended, leaving every byte they had in place.

The entries are written for the styles papers use (aasjournal, aasjournalv7, mnras,
aa): each prints the authors, year, title, the version once and the DOI once, and
BibTeX warns about none of them (see :func:`_pipeline_entry`).
"""

from __future__ import annotations

import os
import re
import shutil
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from typing import Any

from .errors import ReporterError
from .escape import escape_latex
from .knowledge import Knowledge
from .paper import citation_key

__all__ = ["BibError", "Citations", "citations_for", "read_bib", "write_in_place"]

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


class BibError(ReporterError):
    """A .bib file that cannot be read or merged: the message gives the line and reason."""

    exit_code = 2


@dataclass
class Citations:
    """The entries a paper needs, and the key to cite for each."""

    #: Our key (``jwst_pipeline_1_12_5``, ``astropy:2013``) → the key the text cites.
    keys: dict[str, str] = field(default_factory=dict)
    #: Entries the author's bibliography lacks, as BibTeX text.
    new_entries: list[str] = field(default_factory=list)
    #: Our key → the author's key reused for it.
    reused: dict[str, str] = field(default_factory=dict)
    #: Keys defined more than once in the author's file.
    duplicate_keys: list[str] = field(default_factory=list)
    #: The date of the knowledge base the entries come from.
    as_of: date | None = None

    def bibtex(self) -> str:
        """The new entries, under a ``%`` comment naming the tool, its version and
        the knowledge base's date (BibTeX and bibtexparser skip it)."""
        return _header("Generated", self.as_of) + "\n" + self.entries()

    def entries(self) -> str:
        """The new entries alone, as BibTeX text."""
        return "\n".join(self.new_entries)


def _header(verb: str, as_of: date | None) -> str:
    """``%`` comment lines heading the entries jwst-provenance writes; never an ``@``,
    which BibTeX would read as the start of an entry."""
    from . import __version__

    dated = f", knowledge base as of {as_of.isoformat()}" if as_of else ""
    return (f"% {verb} by jwst-provenance {__version__}{dated}: the pipeline versions and "
            "Astropy papers the text cites.\n"
            "% Each note repeats the entry's DOI, for styles without a doi field (aa.bst).\n")


def _citation_data() -> dict[str, Any]:
    text = resources.files("reporter.knowledge").joinpath("citations.toml").read_text("utf-8")
    return tomllib.loads(text)


def read_bib(path: str | os.PathLike[str]) -> tuple[Any, str]:
    """Parse an author's ``.bib`` keeping every value as written; return (library, text).

    Raises
    ------
    BibError
        When a block cannot be parsed: the message gives its line and the reason.
    """
    import bibtexparser
    from bibtexparser.model import DuplicateBlockKeyBlock

    name = os.fspath(path)
    try:
        with open(name, encoding="utf-8") as stream:
            text = stream.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise BibError(f"{name}: cannot read the bibliography: {exc}") from None
    library = bibtexparser.parse_string(text, parse_stack=[])
    for block in library.failed_blocks:
        if isinstance(block, DuplicateBlockKeyBlock):
            continue  # reported, not fatal
        error = getattr(block, "error", None)
        reason = getattr(error, "abort_reason", "") or str(error) or "syntax error"
        first = block.raw.strip().splitlines()[0][:60] if block.raw.strip() else ""
        raise BibError(f"{name}, line {block.start_line + 1}: cannot parse {first!r}: "
                       f"{reason.strip()}")
    return library, text


def _plain(value: str | None) -> str:
    """A raw BibTeX value without its braces or quotes, for comparing."""
    if value is None:
        return ""
    return re.sub(r"[{}\"]", "", value).strip()


def _doi(value: str | None) -> str:
    text = _plain(value).lower()
    for prefix in ("https://doi.org/", "http://doi.org/", "http://dx.doi.org/", "doi:"):
        if text.startswith(prefix):
            text = text[len(prefix):]
    return text


def _fields(entry: Any) -> dict[str, str]:
    return {f.key.lower(): f.value for f in entry.fields}


def _released(version: str, knowledge: Knowledge) -> date | None:
    """When this version was released (the knowledge base), or built (a development
    version's ``+g<hash>.dYYYYMMDD`` suffix); None when unknown."""
    build = knowledge.builds.get(version)
    if build and build.released:
        return build.released
    match = re.search(r"\+(?:.*\.)?d(\d{4})(\d{2})(\d{2})(?:\.|$)", version)
    if match:
        try:
            return date(*(int(part) for part in match.groups()))
        except ValueError:
            return None
    return None


def _pipeline_entry(version: str, knowledge: Knowledge, data: dict[str, Any], key: str) -> str:
    """A ``@misc`` entry that prints cleanly in aasjournal, aasjournalv7, mnras and aa.

    What each style prints of ``@misc``: aasjournal author, year, title, version,
    howpublished, publisher and the first of doi/eprint/url; aasjournalv7 the same
    (but a howpublished comes out as "title,, Zenodo doi:"); mnras author, year, title,
    howpublished, eprint, doi *and* url; aa author, year, title, howpublished and note
    (it has no doi, url or version field). None prints a note but aa. So:

    * the version is in the title, and there is no ``version`` field (the AAS styles
      would print the version twice, and mnras and aa would not print the field);
    * Zenodo is the ``publisher``, which the AAS styles print (mnras and aa print no
      publisher of a ``@misc``);
    * the DOI is ``doi``, and there is no ``url`` (mnras would print the DOI twice);
    * ``note`` repeats the DOI, for aa (in an ``\\mbox``: TeX would hyphenate "zenodo").

    ``@misc`` rather than ``@software``: none of the four defines ``@software``, so
    BibTeX would warn and fall back to ``@misc`` anyway. A version the knowledge base
    has no release date for takes the date of a development build's ``.dYYYYMMDD``,
    else ``n.d.`` (an empty year is a warning, and ``????`` in print).
    """
    pipeline = data["pipeline"]
    doi = knowledge.dois.get(version) or pipeline["concept_doi"]
    released = _released(version, knowledge)
    authors = " and\n                  ".join(f"{family}, {given}" for family, given in pipeline["authors"])
    note = _doi_note(doi)
    if version not in knowledge.dois:
        note += "; the DOI is that of all versions of the pipeline"
    lines = [f"@misc{{{key},",
             f"  author       = {{{authors}}},",
             f"  title        = {{{{{pipeline['title']} {escape_latex(version)}}}}},",
             f"  publisher    = {{{pipeline['publisher']}}},"]
    if released:
        lines += [f"  year         = {released.year},",
                  f"  month        = {_MONTHS[released.month - 1]},"]
    else:  # an author-year style needs a year: say there is none rather than guess
        lines.append("  year         = {n.d.},")
    lines += [f"  doi          = {{{doi}}},",
              f"  note         = {{{note}}}"]
    return "\n".join(lines) + "\n}\n"


def _doi_note(doi: str) -> str:
    """The DOI as a note, for aa.bst (which reads no doi field); unbreakable, so that
    TeX never hyphenates it."""
    return f"doi:~\\mbox{{{escape_latex(doi)}}}"


def _astropy_entry(paper: dict[str, Any], key: str) -> str:
    """An ``@article``: the AAS styles print its doi, mnras links the journal to it,
    and aa, which has no doi field, prints the note (which no other of the four does)."""
    lines = [f"@{paper['type']}{{{key},"]
    for name in ("author", "title", "journal", "volume", "pages", "year", "doi"):
        value = paper[name]
        lines.append(f"  {name:<12} = {{{{{value}}}}}," if name == "title"
                     else f"  {name:<12} = {{{value}}},")
    lines.append(f"  {'note':<12} = {{{_doi_note(paper['doi'])}}}")
    return "\n".join(lines) + "\n}\n"


def _version_of(entry: Any) -> str:
    fields = _fields(entry)
    version = _plain(fields.get("version"))
    if version:
        return version
    title = re.sub(r"\\([_&%#$])", r"\1", _plain(fields.get("title")))  # as escape_latex wrote it
    match = re.search(r"(?:pipeline|jwst)\D{0,12}(\d+\.\d+\.\d+\S*)", title, re.I)
    return match.group(1).rstrip(".,;)") if match else ""


def _is_pipeline(entry: Any) -> bool:
    fields = _fields(entry)
    text = f"{_plain(fields.get('title'))} {_plain(fields.get('url'))}".lower()
    return "jwst" in text and ("pipeline" in text or "spacetelescope/jwst" in text)


def citations_for(versions: Iterable[str], knowledge: Knowledge,
                  existing: Any | None = None) -> Citations:
    """The citations for these pipeline versions and Astropy.

    ``existing`` is the author's library (from :func:`read_bib`): its entries for
    the same DOI (or, for the pipeline, the same version) are reused.
    """
    data = _citation_data()
    result = Citations(as_of=knowledge.as_of)
    entries = list(existing.entries) if existing is not None else []
    taken = {entry.key for entry in entries}
    if existing is not None:
        from bibtexparser.model import DuplicateBlockKeyBlock

        result.duplicate_keys = sorted({block.key for block in existing.failed_blocks
                                        if isinstance(block, DuplicateBlockKeyBlock)})
    by_doi = {}
    for entry in entries:
        doi = _doi(_fields(entry).get("doi"))
        if doi:
            by_doi.setdefault(doi, entry.key)

    def claim(key: str) -> str:
        # Our key collides with a different entry of theirs: never overwrite, rename.
        chosen, number = key, 1
        while chosen in taken:
            number += 1
            chosen = f"{key}_{number}"
        taken.add(chosen)
        return chosen

    for version in sorted(set(versions)):
        ours = citation_key(version)
        doi = (knowledge.dois.get(version) or "").lower()
        match = by_doi.get(doi) if doi else None
        if match is None:  # their entry of this version may carry another DOI (or none)
            match = next((e.key for e in entries
                          if _is_pipeline(e) and _version_of(e) == version), None)
        if match is not None:
            result.keys[ours] = result.reused[ours] = match
            continue
        key = claim(ours)
        result.keys[ours] = key
        result.new_entries.append(_pipeline_entry(version, knowledge, data, key))

    for paper in data["astropy"]:
        ours = paper["key"]
        match = by_doi.get(paper["doi"].lower())
        if match is not None:
            result.keys[ours] = result.reused[ours] = match
            continue
        key = claim(ours)
        result.keys[ours] = key
        result.new_entries.append(_astropy_entry(paper, key))
    return result


def write_in_place(path: str | os.PathLike[str], original: str, citations: Citations) -> str | None:
    """Append the new entries to the author's file after writing a backup.

    Every byte of the file stays as it was; the entries are added at its end.
    Returns the backup's path, or None when nothing needed adding.
    """
    from .outputs import atomic_write

    if not citations.new_entries:
        return None
    if citations.duplicate_keys:
        raise BibError(f"{os.fspath(path)} defines these keys more than once: "
                       f"{', '.join(citations.duplicate_keys)}; fix them before merging into it")
    backup = f"{os.fspath(path)}.bak"
    number = 1
    while os.path.exists(backup):
        number += 1
        backup = f"{os.fspath(path)}.bak{number}"
    shutil.copy2(path, backup)
    # Only the entries, under one comment of its own: not bibtex()'s file header.
    text = original.rstrip("\n") + "\n\n" + _header("Added", citations.as_of) + "\n" \
        + citations.entries()
    atomic_write(path, lambda stream: stream.write(text), overwrite=True)
    return backup
