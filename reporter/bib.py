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

A version comes from a header, so whatever it holds is written with
:func:`escape_bibtex`: it prints as itself and can never end its field, start an
entry or become a TeX command. The author's file is read as bytes; one that is not
UTF-8 is read as Latin-1 (every byte one character: nothing is lost), and since the
entries added are ASCII its encoding never changes.
"""

from __future__ import annotations

import os
import re
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

__all__ = ["BibError", "Citations", "citations_for", "escape_bibtex", "read_bib",
           "write_in_place"]

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


# What BibTeX itself reads in a field: a brace opens or closes a group whatever
# precedes it (``\{`` included), so no brace of a value may reach the .bib; an ``@``
# is made inert too, for tools that look for entries anywhere in a line; the straight
# quote is typewriter's (\textquotedbl is T1's only, and a paper may be in OT1).
_BIBTEX = {"{": r"\textbraceleft{}", "}": r"\textbraceright{}", "@": r"{\char64}",
           '"': r"{\ttfamily\char34}"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_OURS = re.compile(r'([{}@"\x00-\x1f\x7f-\x9f])')
_DOI = re.compile(r"10\.\d{4,9}/[A-Za-z0-9._;()/:-]+")
_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9:_-]")


def escape_bibtex(value: object) -> str:
    r"""A BibTeX field value (for inside ``{...}``) that prints exactly as ``value``
    reads, whatever it holds.

    Every brace it contains is one of a balanced pair it made, so the value can
    never close its field (nor open another entry); every TeX special prints as
    itself (the text between goes through :func:`reporter.escape.escape_latex`
    whole, so that it keeps apart what fonts would join); control characters, line
    breaks included, print as their code point, ``[U+000A]``.

    >>> escape_bibtex("1}, x={\\in")
    '1\\textbraceright{}, x=\\textbraceleft{}\\textbackslash{}in'
    """
    text = "" if value is None else str(value)
    out = []
    for index, part in enumerate(_OURS.split(text)):
        if index % 2 == 0:
            out.append(escape_latex(part) if part else "")
        elif _CONTROL.fullmatch(part):
            out.append(f"[U+{ord(part):04X}]")
        else:
            out.append(_BIBTEX[part])
    return "".join(out)


#: Characters after which a long version may break across lines, and the longest
#: run without one (the same rule as the paper's tables, reporter.escape).
_BREAK_AFTER = frozenset("_-./+:,;=")
_LONGEST_RUN = 16
#: What never breaks: a version's own characters, as long as a development build's.
_UNBROKEN = re.compile(r"[A-Za-z0-9.+_-]{1,40}")


def _escape_breakable(value: str) -> str:
    """:func:`escape_bibtex` of a version, with places to break one that is long or
    more than a version across lines (after ``_-./+`` and the like, and in any run
    of 16 characters without a space), so that no reference runs into the margin."""
    if _UNBROKEN.fullmatch(value):
        return escape_bibtex(value)
    pieces, start, run = [], 0, 0
    for index, char in enumerate(value):
        run = 0 if char.isspace() else run + 1
        if index + 1 < len(value) and (char in _BREAK_AFTER or run >= _LONGEST_RUN):
            pieces.append(value[start:index + 1])
            start, run = index + 1, 0
    pieces.append(value[start:])
    return r"\allowbreak{}".join(escape_bibtex(piece) for piece in pieces)


def _safe_key(key: str) -> str:
    """An entry key of letters, digits and ``:_-`` only: BibTeX ends a key at a comma
    or brace, and LaTeX's ``\\cite`` chokes on much else."""
    return _KEY_UNSAFE.sub("_", key) or "jwst_pipeline"


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
    text = _decoded(name, _read_bytes(name))
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


def _read_bytes(name: str) -> bytes:
    try:
        with open(name, "rb") as stream:
            return stream.read()
    except OSError as exc:
        raise BibError(f"{name}: cannot read the bibliography: {exc.strerror or exc}") from None


def _decoded(name: str, data: bytes) -> str:
    """The text of a .bib: UTF-8, else Latin-1 (BibTeX reads bytes; older files are
    often Latin-1). A NUL byte means it is no text file (UTF-16, binary): refused."""
    if b"\0" in data:
        raise BibError(f"{name}: not a text file (a NUL byte at byte offset {data.index(0)}); "
                       "a .bib must be UTF-8 or another 8-bit encoding")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _plain(value: str | None) -> str:
    """A raw BibTeX value without its braces or quotes, for comparing."""
    if value is None:
        return ""
    return re.sub(r"[{}\"]", "", value).strip()


def _doi(value: str | None) -> str:
    text = _plain(value).lower()
    for prefix in ("https://doi.org/", "http://doi.org/", "http://dx.doi.org/", "doi:"):
        text = text.removeprefix(prefix)
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
    else ``n.d.`` (an empty year is a warning, and ``????`` in print); the title says
    when a version is a development build (:func:`_title`).
    """
    pipeline = data["pipeline"]
    doi = _known_doi(version, knowledge) or pipeline["concept_doi"]
    released = _released(version, knowledge)
    authors = " and\n                  ".join(f"{family}, {given}" for family, given in pipeline["authors"])
    note = _doi_note(doi)
    if not _known_doi(version, knowledge):
        note += "; the DOI is that of all versions of the pipeline"
    lines = [f"@misc{{{_safe_key(key)},",
             f"  author       = {{{authors}}},",
             f"  title        = {{{{{_title(version, pipeline['title'])}}}}},",
             f"  publisher    = {{{pipeline['publisher']}}},"]
    if released:
        lines += [f"  year         = {released.year},",
                  f"  month        = {_MONTHS[released.month - 1]},"]
    else:  # an author-year style needs a year: say there is none rather than guess
        lines.append("  year         = {n.d.},")
    lines += [f"  doi          = {{{doi}}},",
              f"  note         = {{{note}}}"]
    return "\n".join(lines) + "\n}\n"


def _known_doi(version: str, knowledge: Knowledge) -> str | None:
    """The version's own DOI, when the knowledge base (perhaps a user's) has a well-formed one."""
    doi = knowledge.dois.get(version)
    return doi if doi and _DOI.fullmatch(doi) else None


def _title(version: str, name: str = "JWST Calibration Pipeline") -> str:
    """The entry's title: the name and version, and what the version is when it is no
    release, in the one field every style prints (the year can only say n.d.)."""
    kind = _unreleased(version)
    return f"{name} {_escape_breakable(version)}" + (f" ({kind})" if kind else "")


def _unreleased(version: str) -> str | None:
    """"development build" for a ``.dev`` or ``+local`` version, "not a release
    version" for text that is no version at all; None for a release."""
    from packaging.version import InvalidVersion, Version

    try:
        parsed = Version(version)
    except InvalidVersion:
        return _KINDS[1]
    return _KINDS[0] if parsed.is_devrelease or parsed.local is not None else None


_KINDS = ("development build", "not a release version")


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
    """The pipeline version an entry (ours or the author's) is for; "" when it says none."""
    fields = _fields(entry)
    version = _plain(fields.get("version"))
    if version:
        return version
    title = re.sub(r"\\([_&%#$])", r"\1", _plain(fields.get("title")))  # as escape_latex wrote it
    match = re.search(r"(?:pipeline|jwst)\D{0,12}(\d+\.\d+\.\d+\S*)", title, re.IGNORECASE)
    return match.group(1).rstrip(".,;)") if match else ""


def _is_for(entry: Any, version: str, name: str) -> bool:
    """Whether a pipeline entry is for this version: our own title for it, word for
    word; else (an entry of the author's) the version its title or field gives."""
    title = (_fields(entry).get("title") or "").strip()
    if title == "{{" + _title(version, name) + "}}":
        return True
    if title.endswith(tuple(f"({kind})}}}}" for kind in _KINDS)):
        return False  # ours, for another version: its digits alone say nothing
    return _version_of(entry) == version


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
        key = _safe_key(key)
        chosen, number = key, 1
        while chosen in taken:
            number += 1
            chosen = f"{key}_{number}"
        taken.add(chosen)
        return chosen

    def rank(version: str) -> tuple[bool, bool]:
        return version not in knowledge.builds, _unreleased(version) is not None

    holders: dict[str, str] = {}

    def cite(ours: str, version: str, key: str) -> None:
        # Two versions can share a citation key ("1.14.0", "1.14.0}"): the first, in
        # rank order, keeps it (a release the knowledge base lists before a header's text).
        if ours not in holders:
            holders[ours] = version
            result.keys[ours] = key

    name = data["pipeline"]["title"]
    written: dict[str, str] = {}
    # Releases first, so that one keeps its plain key when a header's text shares it.
    for version in sorted(set(versions), key=lambda v: (rank(v), v)):
        ours = citation_key(version)
        doi = (_known_doi(version, knowledge) or "").lower()
        match = by_doi.get(doi) if doi else None
        if match is None:  # their entry of this version may carry another DOI (or none)
            match = next((e.key for e in entries
                          if _is_pipeline(e) and _is_for(e, version, name)), None)
        if match is not None:
            if ours not in holders:
                result.reused[ours] = match
            cite(ours, version, match)
            continue
        key = claim(ours)
        cite(ours, version, key)
        written[version] = _pipeline_entry(version, knowledge, data, key)
    result.new_entries += [written[version] for version in sorted(written)]

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


def write_in_place(path: str | os.PathLike[str], *args: Any) -> str | None:
    """Append the new entries to the author's file after writing a backup.

    Called as ``write_in_place(path, citations)`` (or, as before, with the file's
    text between: it is not used, the bytes on disk are what is kept).

    Every byte of the file stays as it was: the entries are appended, in the file's
    own line endings (CRLF stays CRLF), after one blank line. A symbolic link is
    written through (the link stays, its target gets the entries), atomically; the
    file keeps its permissions (and owner, where allowed). The backup
    ``FILE.bak`` (``FILE.bak2``, ... when taken) holds the bytes as they were.
    Returns the backup's path, or None when nothing needed adding.

    Raises
    ------
    BibError
        When the file cannot be read or written, or defines a key twice.
    """
    from .errors import OutputError
    from .outputs import replace_contents

    citations: Citations = args[-1]
    if not citations.new_entries:
        return None
    name = os.fspath(path)
    if citations.duplicate_keys:
        raise BibError(f"{name} defines these keys more than once: "
                       f"{', '.join(citations.duplicate_keys)}; fix them before merging into it")
    data = _read_bytes(name)
    _decoded(name, data)  # the same checks as read_bib: no NUL byte
    addition = _addition(data, citations)
    backup = _backup(name, data)
    try:
        replace_contents(name, data + addition)
    except OutputError as exc:
        raise BibError(f"{exc} (nothing was changed; the backup {backup} is a copy)") from None
    return backup


def _addition(data: bytes, citations: Citations) -> bytes:
    """The bytes to append: a blank line, our comment and the entries, in the file's
    line endings, ASCII (so valid in whatever 8-bit encoding the file is in)."""
    newline = _line_ending(data)
    # Only the entries, under one comment of its own: not bibtex()'s file header.
    text = _header("Added", citations.as_of) + "\n" + citations.entries()
    if not data:
        lead = ""
    elif not data.endswith((b"\n", b"\r")):
        lead = "\n\n"  # end their last line, then a blank one
    elif data.endswith((b"\n\n", b"\r\n\r\n", b"\r\r")):
        lead = ""
    else:
        lead = "\n"
    return (lead + text).replace("\n", newline).encode("ascii", "backslashreplace")


def _line_ending(data: bytes) -> str:
    """The line ending most of the file's lines use (LF when it has none)."""
    crlf = data.count(b"\r\n")
    lf = data.count(b"\n") - crlf
    cr = data.count(b"\r") - crlf
    return max((lf, "\n"), (crlf, "\r\n"), (cr, "\r"), key=lambda pair: pair[0])[1] \
        if crlf or cr else "\n"


def _backup(name: str, data: bytes) -> str:
    """Write ``data`` to ``NAME.bak`` (or the first of ``.bak2``, ... not taken), with
    the file's permissions; never over an existing file."""
    mode = os.stat(name).st_mode & 0o777
    number = 1
    while True:
        backup = f"{name}.bak" + (str(number) if number > 1 else "")
        try:
            handle = os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        except FileExistsError:
            number += 1
            continue
        except OSError as exc:
            raise BibError(f"cannot write the backup {backup}: {exc.strerror or exc}; "
                           f"{name} was not changed") from None
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        return backup
