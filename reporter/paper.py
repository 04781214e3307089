"""What a paper says about its data, as plain values for the templates.

:func:`paper_context` turns an inventory, its check findings and the knowledge base
into the facts every part needs: programs, one processing statement per pipeline
version and CRDS context, the summary and per-file tables, the caveats a reader
should know (as sentences, with the documents to cite), the software cited.

Every part speaks of the same files, so that counts agree: the files whose headers
were read and that the pipeline processed (they have a ``CAL_VER``). Files without
one (level-1b ``_uncal`` products) are counted once, in a note; unreadable files
never reach the text. Nothing here is escaped: templates escape values where they
print them.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from .checks import Finding
from .errors import ReporterError, UsageError
from .inventory import Inventory
from .knowledge import Knowledge, context_number
from .modes import product_suffix
from .prose import Code, Count, Prose, counted, join, prose, separated
from .records import ProvenanceRecord

__all__ = [
    "TABLE_LIMIT",
    "Caveat",
    "NothingToReport",
    "PaperContext",
    "check_doi",
    "citation_key",
    "paper_context",
]

#: Rule findings a reader of the paper should hear about (the rest are for the
#: author); every known issue (JP2xx and a user's own) is for the reader too.
READER_CODES = ("JP101", "JP102", "JP301", "JP401", "JP601", "JP701", "JP801", "JP802", "JP803")
#: Astropy's own citation keys (astropy CITATION: 2013, 2018 and 2022 papers).
ASTROPY_KEYS = ("astropy:2013", "astropy:2018", "astropy:2022")
#: Above this many files the appendix prints an excerpt and points to the
#: machine-readable table (``report --table-limit``, ``[output] table_limit``).
TABLE_LIMIT = 200
#: Rows of that excerpt.
EXCERPT_ROWS = 10

_DOI = re.compile(r"^10\.\d{4,9}/[A-Za-z0-9._;()/:-]+$")


class NothingToReport(ReporterError):
    """No file with a pipeline version could be read: there is nothing true to write."""

    exit_code = 3

    def __init__(self, inventory: Inventory):
        failed = inventory.failed
        if not len(inventory):
            message = "no files to report on"
        elif len(failed) == 1 == len(inventory):
            message = f"{failed[0].path} could not be read: {failed[0].error}"
        elif len(failed) == len(inventory):
            reasons = Counter(r.error_code or "unreadable" for r in failed)
            shown = ", ".join(f"{code}: {n}" for code, n in sorted(reasons.items()))
            example = failed[0]
            message = (f"none of the {len(failed)} files could be read ({shown}), e.g. "
                       f"{example.path}: {example.error}")
        else:
            read = len(inventory.read_ok)
            which = "the only file read has" if read == 1 else f"none of the {read} files read has"
            message = (f"{which} a pipeline version (CAL_VER): level-1b (_uncal) products come "
                       "before the calibration pipeline")
        super().__init__(f"{message}; no paper text was written")


def check_doi(doi: str) -> str:
    """A DOI as ``10.17909/...`` (``doi:`` and ``https://doi.org/`` prefixes removed).

    Raises
    ------
    UsageError
        When it is not a DOI.
    """
    text = doi.strip()
    for prefix in ("https://doi.org/", "http://doi.org/", "doi:", "DOI:"):
        text = text.removeprefix(prefix)
    if not _DOI.match(text):
        raise UsageError(f"{doi!r} is not a DOI (expected 10.17909/... from the MAST DOI service)")
    return text


# A version as the pipeline writes them (PEP 440: release, pre, post, dev, local label).
_VERSION_FORM = re.compile(r"\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?"
                           r"(\+[A-Za-z0-9]+(\.[A-Za-z0-9]+)*)?")


def citation_key(cal_ver: str) -> str:
    """The citation key of a pipeline version: ``1.12.5`` → ``jwst_pipeline_1_12_5``.

    A value of any other form (a header can hold anything) gets a digest of itself
    too, so that it can never take the key of a release (``1.14.0}`` is not 1.14.0).
    """
    key = "jwst_pipeline_" + re.sub(r"[^A-Za-z0-9]+", "_", cal_ver).strip("_")
    if _VERSION_FORM.fullmatch(cal_ver):
        return key
    digest = hashlib.sha256(cal_ver.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"{key.rstrip('_')}_{digest}"


@dataclass(frozen=True)
class Release:
    """A pipeline version used in the dataset, with what the knowledge base says of it."""

    cal_ver: str
    dms_build: str
    citation_key: str
    doi: str
    #: A development build (``.dev``, ``+g<hash>``): no release, nobody can install it.
    development: bool = False


@dataclass(frozen=True)
class Statement:
    """One sentence of the processing statement: the files of one processing
    (pipeline version and CRDS context), in whatever modes and programs."""

    subjects: tuple[str, ...]         # "NIRSpec MOS", ...
    programs: tuple[str, ...]         # "1345", ...
    files: int
    release: Release
    context: str                      # "" when the headers record none
    sdp_vers: tuple[str, ...]
    inputs: int = 0                   # inputs their combined products combine
    #: "NIRISS imaging and NIRSpec IFU data from program 1180 and NIRCam imaging data
    #: from program 1345": each program with its own modes.
    phrase: Prose = ()
    in_all: bool = False              # the phrase names several programs' data


@dataclass(frozen=True)
class SummaryRow:
    """One processing of one program × instrument × mode group; ``continued`` when
    the row is not its group's first (the table leaves the group's cells blank)."""

    program: str
    instrument: str
    mode: str
    files: int
    cal_ver: str
    crds_ctx: str
    processed: str
    inputs: int = 0  # inputs of the group's combined products (scan --inputs)
    continued: bool = False


@dataclass(frozen=True)
class FileRow:
    name: str
    program: str
    instrument: str
    mode: str
    cal_ver: str
    crds_ctx: str
    sdp_ver: str
    observed: str
    processed: str


@dataclass(frozen=True)
class Caveat:
    """A known calibration caveat, told to the paper's reader: what it is, which of
    the data it concerns, and the documents that state it."""

    code: str
    title: str
    text: Prose
    cite: Prose = ()


@dataclass(frozen=True)
class PaperContext:
    """Everything the templates print."""

    dois: tuple[str, ...]
    programs: tuple[str, ...]
    observations: tuple[str, ...]     # "NIRCam imaging", ... (instrument mode)
    instruments: tuple[str, ...]
    statements: tuple[Statement, ...]
    summary: tuple[SummaryRow, ...]
    #: The rows the appendix prints: every file, or an excerpt (``excerpt``).
    files: tuple[FileRow, ...]
    excerpt: bool
    table_files: tuple[str, ...]
    caveats: tuple[Caveat, ...]
    releases: tuple[Release, ...]
    astropy_keys: tuple[str, ...]
    #: The files every part speaks of: read, with a pipeline version.
    file_count: int
    knowledge_as_of: str
    #: Read files without a pipeline version (not listed), said once in a note.
    unprocessed_note: Prose = ()
    #: Files that could not be read (never in the text; a visible note says so).
    unreadable: int = 0
    #: Inputs read from HDRTABs (scan --inputs), and the products whose inputs mix
    #: contexts: (product file name, number of inputs, the contexts).
    input_count: int = 0
    mixed_products: tuple[tuple[str, int, tuple[str, ...]], ...] = ()
    table_limit: int = TABLE_LIMIT
    #: Every file's row, for the machine-readable table.
    all_files: tuple[FileRow, ...] = ()

    @property
    def long_table(self) -> bool:
        """Kept for templates written before excerpts: the same as ``excerpt``."""
        return self.excerpt

    def as_dict(self) -> dict[str, object]:
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        values["long_table"] = self.excerpt
        return values


def _program(value: str | None) -> str:
    # Headers zero-pad programs ('01345'); papers write 1345, everywhere.
    if value and value.isdigit():
        return value.lstrip("0") or "0"
    return value or "unknown"


def _day(value: object) -> str | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        return None


def _span(days: Iterable[str]) -> str:
    days = sorted(days)
    if not days:
        return "unknown"
    return days[0] if days[0] == days[-1] else f"{days[0]}\u2013{days[-1]}"


def _subject(record: ProvenanceRecord) -> str:
    return f"{record.instrument or 'unknown instrument'} {record.mode or 'data'}"


def _natural(text: str) -> tuple:
    return tuple((0, int(part)) if part.isdigit() else (1, part)
                 for part in re.split(r"(\d+)", text) if part)


def _processing_order(key: tuple[str, str]) -> tuple:
    version, context = key
    number = context_number(context)
    return (_natural(version), number if number is not None else -1, context)


def paper_context(inventory: Inventory, findings: Sequence[Finding], knowledge: Knowledge, *,
                  dois: Sequence[str] = (), table_files: Sequence[str] = (),
                  citation_keys: Mapping[str, str] | None = None,
                  table_limit: int = TABLE_LIMIT) -> PaperContext:
    """The facts a paper states about ``inventory``.

    ``citation_keys`` maps the default keys (``jwst_pipeline_1_12_5``,
    ``astropy:2013``) to the keys the text should cite (the author's own, see
    :func:`reporter.bib.citations_for`). Above ``table_limit`` files the appendix
    prints an excerpt, and ``table_files`` names the machine-readable tables.

    Raises
    ------
    NothingToReport
        When no file with a pipeline version could be read: the text would be empty
        or false.
    """
    if table_limit < 0:
        raise UsageError(f"the table limit must be 0 or more, not {table_limit}")
    processed = [r for r in inventory.read_ok if r.cal_ver]
    if not processed:
        raise NothingToReport(inventory)
    keys = dict(citation_keys or {})
    by_parent = inventory.inputs_by_parent()

    releases: dict[str, Release] = {}
    for record in processed:
        version = record.cal_ver
        if version not in releases:
            build = knowledge.builds.get(version)
            default = citation_key(version)
            releases[version] = Release(version, build.dms_build if build else "",
                                        keys.get(default, default),
                                        knowledge.dois.get(version, ""), _development(version))

    # One sentence per processing, in version and context order.
    by_processing: dict[tuple[str, str], list[ProvenanceRecord]] = defaultdict(list)
    for record in processed:
        by_processing[(record.cal_ver, record.crds_ctx or "")].append(record)
    statements = []
    for key in sorted(by_processing, key=_processing_order):
        records = by_processing[key]
        phrase, grouped = _data_phrase(records)
        statements.append(Statement(
            phrase=phrase, in_all=grouped,
            subjects=tuple(sorted({_subject(r) for r in records}, key=str.lower)),
            programs=_programs(records),
            files=len(records),
            inputs=sum(len(by_parent.get(r.path, ())) for r in records),
            release=releases[key[0]],
            context=key[1],
            sdp_vers=tuple(sorted({str(r.keywords["SDP_VER"]) for r in records
                                   if r.keywords.get("SDP_VER")})),
        ))

    summary = []
    for group, records in inventory.groups().items():
        records = [r for r in records if r.cal_ver]
        subgroups: dict[tuple[str, str], list[ProvenanceRecord]] = defaultdict(list)
        for record in records:
            subgroups[(record.cal_ver, record.crds_ctx or "")].append(record)
        for index, key in enumerate(sorted(subgroups, key=_processing_order)):
            rows = subgroups[key]
            summary.append(SummaryRow(
                program=_program(group.program if group.program != group.UNKNOWN else None),
                instrument=group.instrument, mode=group.mode, files=len(rows),
                cal_ver=key[0], crds_ctx=key[1] or "none",
                processed=_span(d for r in rows if (d := _day(r.keywords.get("DATE")))),
                inputs=sum(len(by_parent.get(r.path, ())) for r in rows),
                continued=index > 0))

    every_file = tuple(FileRow(
        name=os.path.basename(record.path),
        program=_program(record.program), instrument=record.instrument or "unknown",
        mode=record.mode or "unknown", cal_ver=record.cal_ver or "none",
        crds_ctx=record.crds_ctx or "none",
        sdp_ver=str(record.keywords.get("SDP_VER") or ""),
        observed=_day(record.keywords.get("DATE-OBS")) or "",
        processed=_day(record.keywords.get("DATE")) or "unknown")
        for record in sorted(processed, key=lambda r: r.path))
    excerpt = len(every_file) > table_limit

    return PaperContext(
        dois=tuple(check_doi(doi) for doi in dois),
        programs=_programs(inventory.read_ok),
        observations=tuple(sorted({_subject(r) for r in processed}, key=str.lower)),
        instruments=tuple(sorted({r.instrument for r in processed if r.instrument})),
        statements=tuple(statements),
        summary=tuple(summary),
        files=_excerpt(every_file) if excerpt else every_file,
        excerpt=excerpt,
        table_files=tuple(table_files),
        caveats=tuple(_caveats(findings, inventory, knowledge)),
        releases=tuple(sorted(releases.values(), key=lambda r: _natural(r.cal_ver))),
        astropy_keys=tuple(keys.get(key, key) for key in ASTROPY_KEYS),
        file_count=len(processed),
        knowledge_as_of=knowledge.as_of.isoformat(),
        unprocessed_note=_unprocessed_note([r for r in inventory.read_ok if not r.cal_ver]),
        unreadable=len(inventory.failed),
        input_count=len(inventory.inputs),
        mixed_products=_mixed_products(by_parent),
        table_limit=table_limit,
        all_files=every_file,
    )


def _development(version: str) -> bool:
    from packaging.version import InvalidVersion, Version

    try:
        parsed = Version(version)
    except InvalidVersion:
        return False
    return parsed.is_devrelease or parsed.local is not None


def _data_phrase(records: Sequence[ProvenanceRecord]) -> tuple[Prose, bool]:
    """Which modes of which programs: programs with the same modes share a phrase, so
    that no reader takes one program's mode for another's."""
    by_program: dict[str, set[str]] = defaultdict(set)
    for record in records:
        by_program[_program(record.program) if record.program else ""].add(_subject(record))
    items: dict[tuple[str, ...], list[str]] = {}
    for program in sorted(by_program, key=_natural):
        items.setdefault(tuple(sorted(by_program[program], key=str.lower)), []).append(program)
    parts = []
    for subjects, programs in items.items():
        named = [p for p in programs if p]
        where = (prose(" from program " if len(named) == 1 else " from programs ", join(named))
                 if named else " (no program in the headers)")
        parts.append(prose(join(list(subjects)), " data", where))
    return join(parts), len(parts) > 1


def _programs(records: Iterable[ProvenanceRecord]) -> tuple[str, ...]:
    return tuple(sorted({_program(r.program) for r in records if r.program}, key=_natural))


def _excerpt(rows: tuple[FileRow, ...]) -> tuple[FileRow, ...]:
    """A portion of the file table for guidance on its form and content: a file of each
    processing, then of each program × mode group, then the next files, in table order."""
    keys = (lambda row: (row.cal_ver, row.crds_ctx),
            lambda row: (row.program, row.instrument, row.mode, row.cal_ver, row.crds_ctx),
            id)
    chosen: set[int] = set()
    for key in keys:
        seen = {key(rows[index]) for index in chosen}
        for index, row in enumerate(rows):
            if len(chosen) >= EXCERPT_ROWS:
                break
            if key(row) not in seen:
                seen.add(key(row))
                chosen.add(index)
    return tuple(rows[index] for index in sorted(chosen))


def _unprocessed_note(records: Sequence[ProvenanceRecord]) -> Prose:
    """'One further file of program 1345, a level-1b product (_uncal) that has not
    been through the calibration pipeline, is not listed.'"""
    if not records:
        return ()
    one = len(records) == 1
    programs = _programs(records)
    lead = prose("One further file" if one else prose(Count(len(records)), " further files"),
                 prose(" of program " if len(programs) == 1 else " of programs ", join(programs))
                 if programs else ())
    if all("uncal" in (r.suffix, _named_suffix(r)) for r in records):
        what = prose(", a level-1b product (" if one else ", level-1b products (", Code("_uncal"),
                     ") that has" if one else ") that have",
                     " not been through the calibration pipeline, ")
    else:
        what = prose(", which " + ("has" if one else "have") + " no pipeline version (",
                     Code("CAL_VER"), "), ")
    return prose(lead, what, "is not listed." if one else "are not listed.")


def _named_suffix(record: ProvenanceRecord) -> str | None:
    filename = record.keywords.get("FILENAME")
    return product_suffix(filename) if isinstance(filename, str) else None


def _mixed_products(by_parent: Mapping[str, list[ProvenanceRecord]]
                    ) -> tuple[tuple[str, int, tuple[str, ...]], ...]:
    found = []
    for parent, children in sorted(by_parent.items()):
        contexts = tuple(sorted({c.crds_ctx for c in children if c.crds_ctx}))
        if len(contexts) > 1:
            found.append((os.path.basename(parent), len(children), contexts))
    return tuple(found)


# Caveats, told to the reader --------------------------------------------------

def _caveats(findings: Sequence[Finding], inventory: Inventory,
             knowledge: Knowledge) -> list[Caveat]:
    issues = {issue.code: issue for issue in knowledge.known_issues}
    entries = {entry.id: entry for entry in knowledge.minimum_contexts}
    records = {r.path: r for r in inventory.read_ok}
    caveats = []
    # One caveat per group that mixes processings, whether in versions, contexts or both.
    mixed: dict[str | None, list[Finding]] = defaultdict(list)
    for finding in findings:
        if finding.code == "JP401":
            mixed[finding.group].append(finding)
    for finding in findings:
        if finding.code not in READER_CODES and finding.code not in issues:
            continue
        if finding.code == "JP401" and mixed[finding.group][0] is not finding:
            continue
        concerned = [records[path] for path in finding.files if path in records]
        rule = knowledge.rules.get(finding.code)
        cite = getattr(rule, "cite", "") if rule else ""
        if finding.code in issues:
            issue = issues[finding.code]
            cite = getattr(issue, "cite", "")
            text = prose(_literals(issue.message), " This concerns ", _files_phrase(concerned),
                         ", calibrated with ", _contexts(concerned), ", older than ",
                         Code(issue.context_below), ".")
        else:
            entry = entries.get(str(finding.details.get("entry", "")))
            if entry is not None and getattr(entry, "cite", ""):
                cite = entry.cite
            text = _rule_text(finding, concerned, inventory, entry,
                              mixed.get(finding.group, []) if finding.code == "JP401" else [])
        title = (_mixed_title(concerned, inventory, mixed.get(finding.group, []))
                 if finding.code == "JP401" else finding.title)
        caveats.append(Caveat(finding.code, title, text, _literals(cite)))
    return caveats


_LITERAL = re.compile(r"(jwst_\d{4}\.pmap)")


def _literals(text: str) -> Prose:
    """Knowledge-base prose with its CRDS contexts set as literals, like the data's."""
    return prose(*(Code(piece) if index % 2 else piece
                   for index, piece in enumerate(_LITERAL.split(text))))


def _rule_text(finding: Finding, concerned: list[ProvenanceRecord], inventory: Inventory,
               entry: object, findings: Sequence[Finding] = ()) -> Prose:
    files = _files_phrase(concerned, capital=True)
    were = "was" if len(concerned) == 1 else "were"
    code = finding.code
    if code == "JP101":
        mode = finding.group or "this mode"
        return prose(files, f" {were} calibrated with ", _contexts(concerned), ", older than ",
                     Code(str(finding.details.get("minimum", ""))), ", the first context with "
                     f"in-flight reference files for {mode}.")
    if code == "JP102":
        dated = getattr(entry, "dated", None)
        when = dated.strftime("%B %Y") if dated else "the caveat was written"
        status = getattr(entry, "status", "") or "in progress"
        return prose(files, f" {were} processed before {when}, when in-flight reference files "
                     f"for this mode were still {status}.")
    if code == "JP301":
        versions = sorted({r.cal_ver for r in concerned if r.cal_ver})
        return prose(files, f" {were} processed with ",
                     "an unreleased development build" if len(versions) == 1
                     else "unreleased development builds", " of the pipeline (",
                     join([Code(v) for v in versions]), "), which cannot be installed again.")
    if code == "JP401":
        return _mixed_text(finding, concerned, inventory, findings)
    if code == "JP601":
        return prose(files, f" {were} calibrated with a reference file that CRDS did not select (",
                     Code(f"{finding.details.get('keyword')} = {finding.details.get('value')}"),
                     ").")
    if code == "JP701":
        return prose(files, f" {were} processed before March 2023 outside the operational "
                     "pipeline, when two CRDS servers numbered contexts independently: their "
                     "context number may refer to the PUB server rather than the operational one.")
    if code in ("JP801", "JP802", "JP803"):
        names = join([Code(os.path.basename(path)) for path in finding.files[:3]])
        more = f" and {len(finding.files) - 3} more" if len(finding.files) > 3 else ""
        if code == "JP801":
            what = ("pipeline versions" if finding.details.get("keyword") == "CAL_VER"
                    else "CRDS contexts")
            return prose("The inputs of the combined product ", names, more,
                         f" were processed with several {what} (", _value_counts(finding), ").")
        if code == "JP802":
            return prose("The header of the combined product ", names, " records CRDS context ",
                         Code(str(finding.details.get("stated", ""))), ", but some of its inputs "
                         "were calibrated with ",
                         join([Code(str(c)) for c in finding.details.get("inputs", ())]), ".")
        return prose("Some inputs of the combined product", "s " if len(finding.files) > 1 else " ",
                     names, more, " were calibrated with CRDS contexts older than the first with "
                     "in-flight reference files for their mode.")
    return prose(finding.message.rstrip(".") + ".")


_NUMBER_WORDS = ("No", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine")


def _group_of(concerned: Sequence[ProvenanceRecord],
              inventory: Inventory) -> list[ProvenanceRecord]:
    first = concerned[0] if concerned else None
    return next(([r for r in records if r.cal_ver] for records in inventory.groups().values()
                 if any(record is first for record in records)), list(concerned))


def _mixed_title(concerned: Sequence[ProvenanceRecord], inventory: Inventory,
                 findings: Sequence[Finding]) -> str:
    """'Two CRDS contexts for the NIRCam imaging of program 1345'."""
    group = _group_of(concerned, inventory)
    keywords = sorted({str(f.details.get("keyword", "CRDS_CTX")) for f in findings})
    most = max(len({r.get(k) for r in group if r.get(k) is not None}) for k in keywords)
    what = " and ".join("pipeline versions" if k == "CAL_VER" else "CRDS contexts"
                        for k in keywords)
    count = _NUMBER_WORDS[most] if most < 10 else str(most)
    programs = _programs(group)
    where = f" of program {programs[0]}" if len(programs) == 1 else ""
    return f"{count} {what} for the {_subject(group[0])} data{where}" if group else what


def _mixed_text(finding: Finding, concerned: list[ProvenanceRecord], inventory: Inventory,
                findings: Sequence[Finding]) -> Prose:
    group = _group_of(concerned, inventory)
    keywords = [str(f.details.get("keyword", "CRDS_CTX")) for f in findings or [finding]]
    clauses = []
    for keyword in sorted(keywords):  # CAL_VER, then CRDS_CTX
        counts = Counter(r.get(keyword) for r in group if r.get(keyword) is not None)
        what = "pipeline version" if keyword == "CAL_VER" else "CRDS context"
        parts = []
        for index, (value, n) in enumerate(counts.most_common()):
            # The few files processed otherwise than the rest are named.
            named = ([os.path.basename(r.path) for r in group if r.get(keyword) == value]
                     if index and n <= 3 else [])
            parts.append(prose(Count(n),
                               prose(" (", join([Code(name) for name in named]), ")")
                               if named else (),
                               f" with {what} " if index == 0 else " with ", Code(str(value))))
        clauses.append(join(parts))
    return prose("The ", _files_phrase(group, article=False), " were not all processed alike: ",
                 separated(clauses, "; "), ".")


def _value_counts(finding: Finding) -> Prose:
    values = finding.details.get("values", {})
    items = sorted(values.items()) if isinstance(values, dict) else []
    return join([prose(Code(str(value)), ": ", counted(int(n), "input")) for value, n in items])


def _files_phrase(records: Sequence[ProvenanceRecord], *, capital: bool = False,
                  article: bool = True) -> Prose:
    """'the 2 NIRISS WFSS files of program 2736', or for several modes and programs
    'the 5 files of programs 1345 and 2736 (MIRI MRS and NIRCam imaging)'."""
    subjects = sorted({_subject(r) for r in records})
    programs = _programs(records)
    lead = ("The " if capital else "the ") if article else ""
    where = prose(" of program " if len(programs) == 1 else " of programs ",
                  join(list(programs))) if programs else ()
    if len(records) == 1 and article:  # "one NIRCam imaging file", never "the 1 ... file"
        return prose("One " if capital else "one ", f"{subjects[0]} file", where)
    if len(subjects) == 1:
        return prose(lead, counted(len(records), f"{subjects[0]} file"), where)
    return prose(lead, counted(len(records), "file"), where, " (", join(subjects), ")")


def _contexts(records: Sequence[ProvenanceRecord]) -> Prose:
    contexts = sorted({r.crds_ctx for r in records if r.crds_ctx},
                      key=lambda c: (context_number(c) or 0, c))
    return prose("CRDS context " if len(contexts) == 1 else "CRDS contexts ",
                 join([Code(c) for c in contexts]))
