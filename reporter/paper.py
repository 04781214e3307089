"""What a paper says about its data, as plain values for the templates.

:func:`paper_context` turns an inventory, its check findings and the knowledge base
into the facts every part needs: programs, the processing statements grouped the
way a referee reads them, the summary and per-file tables, the caveats worth a
reader's attention, the software cited. Nothing here is escaped: templates escape
values where they print them.
"""

from __future__ import annotations

import os
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .checks import Finding
from .errors import UsageError
from .inventory import Inventory
from .knowledge import Knowledge
from .records import ProvenanceRecord

__all__ = ["PaperContext", "paper_context", "citation_key", "check_doi"]

#: Findings a reader of the paper should hear about (the rest are for the author).
READER_CODES = ("JP101", "JP102", "JP301", "JP401", "JP601", "JP701", "JP801", "JP802", "JP803")
#: Astropy's own citation keys (astropy CITATION: 2013, 2018 and 2022 papers).
ASTROPY_KEYS = ("astropy:2013", "astropy:2018", "astropy:2022")
LONG_TABLE_ROWS = 200

_DOI = re.compile(r"^10\.\d{4,9}/[A-Za-z0-9._;()/:-]+$")


def check_doi(doi: str) -> str:
    """A DOI as ``10.17909/...`` (``doi:`` and ``https://doi.org/`` prefixes removed).

    Raises
    ------
    UsageError
        When it is not a DOI.
    """
    text = doi.strip()
    for prefix in ("https://doi.org/", "http://doi.org/", "doi:", "DOI:"):
        if text.startswith(prefix):
            text = text[len(prefix):]
    if not _DOI.match(text):
        raise UsageError(f"{doi!r} is not a DOI (expected 10.17909/... from the MAST DOI service)")
    return text


def citation_key(cal_ver: str) -> str:
    """The citation key of a pipeline version: ``1.12.5`` → ``jwst_pipeline_1_12_5``."""
    return "jwst_pipeline_" + re.sub(r"[^A-Za-z0-9]+", "_", cal_ver).strip("_")


@dataclass(frozen=True)
class Release:
    """A pipeline version used in the dataset, with what the knowledge base says of it."""

    cal_ver: str
    dms_build: str
    citation_key: str
    doi: str


@dataclass(frozen=True)
class Statement:
    """One sentence of the processing statement: some instrument modes, one processing."""

    subjects: tuple[str, ...]         # "NIRSpec MOS", ...
    programs: tuple[str, ...]         # "1345", ...
    files: int
    releases: tuple[tuple[Release, int], ...]
    contexts: tuple[tuple[str, int], ...]
    sdp_vers: tuple[str, ...]
    inputs: int = 0                   # inputs their combined products combine


@dataclass(frozen=True)
class SummaryRow:
    program: str
    instrument: str
    mode: str
    files: int
    cal_ver: str
    crds_ctx: str
    processed: str
    inputs: int = 0  # inputs of the group's combined products (scan --inputs)


@dataclass(frozen=True)
class FileRow:
    name: str
    program: str
    instrument: str
    mode: str
    cal_ver: str
    crds_ctx: str
    processed: str


@dataclass(frozen=True)
class PaperContext:
    """Everything the templates print."""

    dois: tuple[str, ...]
    programs: tuple[str, ...]
    observations: tuple[str, ...]     # "NIRCam imaging", ... (instrument mode, science data)
    instruments: tuple[str, ...]
    statements: tuple[Statement, ...]
    summary: tuple[SummaryRow, ...]
    files: tuple[FileRow, ...]
    long_table: bool
    table_files: tuple[str, ...]
    caveats: tuple[Finding, ...]
    releases: tuple[Release, ...]
    astropy_keys: tuple[str, ...]
    file_count: int
    knowledge_as_of: str
    #: Inputs read from HDRTABs (scan --inputs), and the products whose inputs mix
    #: contexts: (product file name, number of inputs, the contexts).
    input_count: int = 0
    mixed_products: tuple[tuple[str, int, tuple[str, ...]], ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def _program(value: str | None) -> str:
    # Headers zero-pad programs ('01345'); papers write 1345.
    if value and value.isdigit():
        return value.lstrip("0") or "0"
    return value or "unknown"


def _date(record: ProvenanceRecord) -> str | None:
    value = record.keywords.get("DATE")
    return value[:10] if isinstance(value, str) and len(value) >= 10 else None


def _values(counter: Counter[str]) -> str:
    if len(counter) == 1:
        return next(iter(counter))
    return ", ".join(f"{value} ({count})" for value, count in sorted(counter.items()))


def _span(dates: Sequence[str]) -> str:
    if not dates:
        return "unknown"
    first, last = min(dates), max(dates)
    return first if first == last else f"{first} to {last}"


def paper_context(inventory: Inventory, findings: Sequence[Finding], knowledge: Knowledge, *,
                  dois: Sequence[str] = (), table_files: Sequence[str] = (),
                  citation_keys: Mapping[str, str] | None = None) -> PaperContext:
    """The facts a paper states about ``inventory``.

    ``citation_keys`` maps the default keys (``jwst_pipeline_1_12_5``,
    ``astropy:2013``) to the keys the text should cite (the author's own, see
    :func:`reporter.bib.citations_for`).
    """
    keys = dict(citation_keys or {})
    by_parent = inventory.inputs_by_parent()
    processed = [r for r in inventory.read_ok if r.cal_ver]
    releases: dict[str, Release] = {}
    for record in processed:
        version = record.cal_ver
        if version not in releases:
            build = knowledge.builds.get(version)
            default = citation_key(version)
            releases[version] = Release(version, build.dms_build if build else "",
                                        keys.get(default, default),
                                        knowledge.dois.get(version, ""))

    # Sentences: instrument modes that share one processing go in one sentence.
    by_subject: dict[str, list[ProvenanceRecord]] = defaultdict(list)
    for record in processed:
        by_subject[f"{record.instrument or 'unknown instrument'} {record.mode or 'data'}"].append(record)
    by_processing: dict[tuple, list[str]] = defaultdict(list)
    for subject, records in sorted(by_subject.items()):
        signature = (tuple(sorted(Counter(r.cal_ver for r in records))),
                     tuple(sorted(Counter(r.crds_ctx or "unknown" for r in records))))
        by_processing[signature].append(subject)
    statements = []
    for subjects in by_processing.values():
        records = [r for s in subjects for r in by_subject[s]]
        versions = Counter(r.cal_ver for r in records)
        contexts = Counter(r.crds_ctx or "unknown" for r in records)
        statements.append(Statement(
            subjects=tuple(subjects),
            programs=tuple(sorted({_program(r.program) for r in records}, key=_natural)),
            files=len(records),
            inputs=sum(len(by_parent.get(r.path, ())) for r in records),
            releases=tuple((releases[v], n) for v, n in sorted(versions.items())),
            contexts=tuple(sorted(contexts.items())),
            sdp_vers=tuple(sorted({str(r.keywords["SDP_VER"]) for r in records
                                   if r.keywords.get("SDP_VER")})),
        ))

    summary = []
    for key, records in inventory.groups().items():
        summary.append(SummaryRow(
            program=_program(key.program if key.program != key.UNKNOWN else None),
            instrument=key.instrument, mode=key.mode, files=len(records),
            cal_ver=_values(Counter(r.cal_ver or "none" for r in records)),
            crds_ctx=_values(Counter(r.crds_ctx or "none" for r in records)),
            processed=_span([d for r in records if (d := _date(r))]),
            inputs=sum(len(by_parent.get(r.path, ())) for r in records)))

    files = tuple(FileRow(
        name=os.path.basename(record.path),
        program=_program(record.program), instrument=record.instrument or "unknown",
        mode=record.mode or "unknown", cal_ver=record.cal_ver or "none",
        crds_ctx=record.crds_ctx or "none", processed=_date(record) or "unknown")
        for record in sorted(inventory.read_ok, key=lambda r: r.path))

    observations = sorted(by_subject)
    return PaperContext(
        dois=tuple(check_doi(doi) for doi in dois),
        programs=tuple(sorted({_program(r.program) for r in inventory.read_ok if r.program},
                              key=_natural)),
        observations=tuple(observations),
        instruments=tuple(sorted({r.instrument for r in inventory.read_ok if r.instrument})),
        statements=tuple(statements),
        summary=tuple(summary),
        files=files,
        long_table=len(files) > LONG_TABLE_ROWS,
        table_files=tuple(table_files),
        caveats=tuple(f for f in findings if f.code in READER_CODES or f.code.startswith("JP2")),
        releases=tuple(sorted(releases.values(), key=lambda r: _natural(r.cal_ver))),
        astropy_keys=tuple(keys.get(key, key) for key in ASTROPY_KEYS),
        file_count=len(processed),
        knowledge_as_of=knowledge.as_of.isoformat(),
        input_count=len(inventory.inputs),
        mixed_products=_mixed_products(by_parent),
    )


def _mixed_products(by_parent: Mapping[str, list[ProvenanceRecord]]
                    ) -> tuple[tuple[str, int, tuple[str, ...]], ...]:
    found = []
    for parent, children in sorted(by_parent.items()):
        contexts = tuple(sorted({c.crds_ctx for c in children if c.crds_ctx}))
        if len(contexts) > 1:
            found.append((os.path.basename(parent), len(children), contexts))
    return tuple(found)


def _natural(text: str) -> tuple:
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text))
