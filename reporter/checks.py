"""Check an inventory against the knowledge base: which files carry known problems.

:func:`check` runs one small function per rule; each yields :class:`Finding` records
(code, severity, message, the files affected, the rule's source, what to do). The
functions are pure: formatting findings is :mod:`reporter.findings`' job.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date

from .inventory import Inventory
from .knowledge import Knowledge, KnownIssue, context_number, load_knowledge
from .modes import product_suffix
from .records import ProvenanceRecord

__all__ = ["Finding", "SEVERITY_ORDER", "check"]

SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class Finding:
    """One problem found in a dataset.

    ``files`` lists every file affected (paths as scanned); ``group`` names the
    program × instrument × mode group when the finding is about one.
    """

    code: str
    name: str
    severity: str
    title: str
    message: str
    action: str
    source: str
    files: tuple[str, ...] = ()
    group: str | None = None
    details: dict[str, object] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, object]:
        return {"code": self.code, "name": self.name, "severity": self.severity,
                "title": self.title, "message": self.message, "action": self.action,
                "source": self.source, "group": self.group, "count": len(self.files),
                "files": list(self.files), **({"details": self.details} if self.details else {})}


def check(inventory: Inventory, knowledge: Knowledge | None = None) -> list[Finding]:
    """Check every record of ``inventory``; findings sorted by severity, then code.

    Parameters
    ----------
    inventory
        A scan (:func:`reporter.scan`) or a saved inventory (:meth:`Inventory.read`).
    knowledge
        The knowledge base; default: the shipped one (:func:`load_knowledge`).
    """
    knowledge = knowledge or load_knowledge()
    findings: list[Finding] = []
    for rule in _RULES:
        findings.extend(rule(inventory, knowledge))
    return sorted(findings, key=lambda f: (SEVERITY_ORDER[f.severity], f.code, f.group or "",
                                           f.message))


def _finding(knowledge: Knowledge, code: str, message: str, files: Iterable[str], *,
             action: str | None = None, group: str | None = None, **details: object) -> Finding:
    rule = knowledge.rule(code)
    return Finding(code, rule.name, rule.severity, rule.title, message,
                   action or rule.action, rule.source, tuple(files), group, details)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _subject(count: int, noun: str, verb: str) -> str:
    """'1 file was', '2 files were', '1 file has', '2 files have'."""
    forms = {"was": "were", "has": "have", "carries": "carry", "uses": "use"}
    return f"{_plural(count, noun)} {verb if count == 1 else forms[verb]}"


def _group_label(record: ProvenanceRecord) -> str:
    program = record.program or "unknown program"
    return f"{program} {record.instrument or 'unknown instrument'} {record.mode or 'unknown mode'}"


def _processing_date(record: ProvenanceRecord) -> date | None:
    return _date(record.keywords.get("DATE"))


def _date(value: object) -> date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _is_level_1b(record: ProvenanceRecord) -> bool:
    filename = record.keywords.get("FILENAME")
    named = product_suffix(filename) if isinstance(filename, str) else None
    return "uncal" in (record.suffix, named)


# Rule 1 -------------------------------------------------------------------

def _unreadable(inventory: Inventory, knowledge: Knowledge) -> Iterator[Finding]:
    by_reason: dict[str, list[str]] = defaultdict(list)
    for record in inventory.failed:
        by_reason[record.error_code or "unreadable"].append(record.path)
    for code, paths in sorted(by_reason.items()):
        example = next(r.error for r in inventory.failed if r.path == paths[0])
        yield _finding(knowledge, "JP001", f"{_plural(len(paths), 'file')} could not be read "
                       f"({code}), e.g. {paths[0]}: {example}", paths, reason=code)


def _missing_provenance(inventory: Inventory, knowledge: Knowledge) -> Iterator[Finding]:
    level1b: list[str] = []
    missing: dict[str, list[str]] = defaultdict(list)
    for record in inventory.read_ok:
        # A blank value says no more than an absent keyword.
        absent = [k for k in ("CAL_VER", "CRDS_CTX") if not str(record.get(k) or "").strip()]
        if not absent:
            continue
        if "CAL_VER" in absent and _is_level_1b(record):
            level1b.append(record.path)
            continue
        missing[" or ".join(absent)].append(record.path)
    for keywords, paths in sorted(missing.items()):
        yield _finding(knowledge, "JP002", f"{_subject(len(paths), 'file', 'has')} no {keywords} "
                       "in the primary header", paths, keywords=keywords)
    if level1b:
        yield _finding(knowledge, "JP003", f"{_plural(len(level1b), 'level-1b file')} (_uncal) without CAL_VER or "
                       "CRDS_CTX: such products come before the calibration pipeline",
                       level1b)


# Rules 2 and 3 ------------------------------------------------------------

def _minimum_context(inventory: Inventory, knowledge: Knowledge) -> Iterator[Finding]:
    below: dict[str, list[ProvenanceRecord]] = defaultdict(list)
    early: dict[str, list[ProvenanceRecord]] = defaultdict(list)
    anywhere: dict[tuple[str, str, str], list[ProvenanceRecord]] = defaultdict(list)
    entries = {entry.id: entry for entry in knowledge.minimum_contexts}
    for record in inventory.read_ok:
        number = context_number(record.crds_ctx)
        if number is None or record.instrument is None or record.mode is None:
            continue
        # A file can match several rows (MIRI imaging SLOWR1 *and* a subarray):
        # the first row of each kind speaks for it, so no file is reported twice.
        found_below = found_early = matched = False
        for entry in knowledge.minimum_contexts:
            if entry.instrument != record.instrument or entry.mode != record.mode:
                continue
            if not entry.conditions.match(record.get):
                continue
            matched = True
            if entry.context:
                if not found_below and number < context_number(entry.context):
                    below[entry.id].append(record)
                    found_below = True
            elif not found_early:
                processed = _processing_date(record)
                if entry.dated and processed and processed < entry.dated:
                    early[entry.id].append(record)
                    found_early = True
        if not matched:
            # A configuration no row names (MIRI's pre-flight FAST readout): older than
            # the earliest minimum of any configuration of the mode is pre-flight for sure.
            earliest = _earliest_minimum(knowledge, record.instrument, record.mode)
            if earliest and number < context_number(earliest):
                anywhere[(record.instrument, record.mode, earliest)].append(record)
    for entry_id, records in below.items():
        entry = entries[entry_id]
        contexts = ", ".join(sorted({r.crds_ctx for r in records}))
        where = f" ({entry.conditions.describe()})" if entry.conditions.when or entry.conditions.when_not else ""
        yield _finding(
            knowledge, "JP101",
            f"{_subject(len(records), f'{entry.instrument} {entry.mode} file', 'was')}{where} "
            f"processed with {contexts}, older than {entry.context}, the first context with "
            f"in-flight reference files for this mode (as of {_month(entry.dated)})",
            [r.path for r in records],
            action=f"Reprocess with a CRDS context at or above {entry.context}"
                   f"{_newest_hint(knowledge)}.",
            group=f"{entry.instrument} {entry.mode}", entry=entry_id, minimum=entry.context,
            source_detail=entry.source)
    for (instrument, mode, earliest), records in anywhere.items():
        contexts = ", ".join(sorted({r.crds_ctx for r in records}))
        yield _finding(
            knowledge, "JP101",
            f"{_subject(len(records), f'{instrument} {mode} file', 'was')} processed with "
            f"{contexts}, older than {earliest}, the earliest context with in-flight reference "
            f"files for any {instrument} {mode} configuration the knowledge base lists",
            [r.path for r in records],
            action=f"Reprocess with a current CRDS context{_newest_hint(knowledge)}.",
            group=f"{instrument} {mode}", minimum=earliest)
    for entry_id, records in early.items():
        entry = entries[entry_id]
        latest = max(_processing_date(r) for r in records)
        yield _finding(
            knowledge, "JP102",
            f"{_subject(len(records), f'{entry.instrument} {entry.mode} file', 'was')} processed "
            f"(the last on {latest}) before {_month(entry.dated)}, when in-flight reference files "
            f"for this mode were still {entry.status}",
            [r.path for r in records],
            action=f"Reprocess with a current jwst version and CRDS context{_newest_hint(knowledge)}.",
            group=f"{entry.instrument} {entry.mode}", entry=entry_id)


def _earliest_minimum(knowledge: Knowledge, instrument: str, mode: str) -> str | None:
    contexts = [m.context for m in knowledge.minimum_contexts
                if m.instrument == instrument and m.mode == mode and m.context]
    return min(contexts, key=context_number) if contexts else None


def _month(day: date | None) -> str:
    return day.strftime("%B %Y") if day else "undated"


def _newest_hint(knowledge: Knowledge) -> str:
    build = knowledge.newest_operational_build()
    if build is None:
        return ""
    return (f" (the newest operational build in the knowledge base is jwst {build.cal_ver}, "
            f"{build.dms_build}, with {build.build_context})")


# Rule 4 -------------------------------------------------------------------

def _known_issues(inventory: Inventory, knowledge: Knowledge) -> Iterator[Finding]:
    for issue in knowledge.known_issues:
        hits = [r for r in inventory.read_ok if _issue_applies(issue, r)]
        if not hits:
            continue
        contexts = ", ".join(sorted({r.crds_ctx for r in hits}))
        yield Finding(
            issue.code, issue.name, issue.severity, issue.title,
            f"{_plural(len(hits), 'file')} ({contexts}, below {issue.context_below}): "
            f"{issue.message}",
            issue.action, issue.source, tuple(r.path for r in hits),
            f"{issue.instrument} {', '.join(issue.modes)}",
            {"note": issue.note} if issue.note else {},
        )


def _issue_applies(issue: KnownIssue, record: ProvenanceRecord) -> bool:
    if record.instrument != issue.instrument or record.mode not in issue.modes:
        return False
    number = context_number(record.crds_ctx)
    if number is None or number >= context_number(issue.context_below):
        return False
    if issue.observed_from is not None:
        observed = _date(record.keywords.get("DATE-OBS"))
        if observed is None or observed < issue.observed_from:
            return False
    return issue.conditions.match(record.get)


# Rules 5 and 6 ------------------------------------------------------------

def _versions(inventory: Inventory, knowledge: Knowledge) -> Iterator[Finding]:
    from packaging.version import InvalidVersion, Version

    development: dict[str, list[str]] = defaultdict(list)
    unknown: dict[str, list[str]] = defaultdict(list)
    for record in inventory.read_ok:
        version = record.cal_ver
        if version is None:
            continue
        vcs = record.keywords.get("CAL_VCS")
        try:
            parsed = Version(version)
        except InvalidVersion:
            unknown[version].append(record.path)
            continue
        unreleased = parsed.is_devrelease or parsed.local is not None
        if unreleased or (isinstance(vcs, str) and vcs.strip() and vcs.strip() != "RELEASE"):
            development[version].append(record.path)
        elif version not in knowledge.builds:
            unknown[version].append(record.path)
    for version, paths in sorted(development.items()):
        yield _finding(knowledge, "JP301", f"{_subject(len(paths), 'file', 'was')} made by jwst "
                       f"{version}, an unreleased build (development version or CAL_VCS not "
                       "RELEASE)", paths, cal_ver=version)
    newest = knowledge.newest_build()
    for version, paths in sorted(unknown.items()):
        why = "not a release the knowledge base lists"
        try:
            if newest and Version(version) > Version(newest.cal_ver):
                why = f"newer than the newest release it knows ({newest.cal_ver})"
            elif Version(version).is_prerelease:
                why = "a pre-release the knowledge base does not list"
        except InvalidVersion:
            why = "not a valid version number"
        yield _finding(knowledge, "JP302", f"jwst {version} ({_plural(len(paths), 'file')}) is "
                       f"{why}; the knowledge base is as of {knowledge.as_of}", paths,
                       cal_ver=version)


# Rule 7 -------------------------------------------------------------------

def _mixed(inventory: Inventory, knowledge: Knowledge) -> Iterator[Finding]:
    for key, records in inventory.groups().items():
        label = f"{key.program} {key.instrument} {key.mode}"
        for keyword, what in (("CAL_VER", "pipeline versions"), ("CRDS_CTX", "CRDS contexts")):
            counts = Counter(r.get(keyword) for r in records if r.get(keyword) is not None)
            if len(counts) < 2:
                continue
            common = counts.most_common(1)[0][0]
            shown = ", ".join(f"{value} ({n})" for value, n in sorted(counts.items()))
            odd = [r.path for r in records if r.get(keyword) not in (None, common)]
            yield _finding(knowledge, "JP401", f"{label}: {_plural(sum(counts.values()), 'file')} "
                           f"with {len(counts)} {what}: {shown}", odd, group=label,
                           keyword=keyword, values=dict(counts))


# Rule 8 -------------------------------------------------------------------

def _newer_calibration(inventory: Inventory, knowledge: Knowledge) -> Iterator[Finding]:
    build = knowledge.newest_operational_build()
    if build is None:
        return
    newest = context_number(build.build_context)
    older = [r for r in inventory.read_ok
             if (n := context_number(r.crds_ctx)) is not None and n < newest]
    if older:
        contexts = sorted({r.crds_ctx for r in older})
        shown = ", ".join(contexts[:6]) + (", ..." if len(contexts) > 6 else "")
        yield _finding(
            knowledge, "JP501",
            f"{_subject(len(older), 'file', 'uses')} contexts older than {build.build_context} "
            f"({shown}); jwst {build.cal_ver} ({build.dms_build}, in operations since "
            f"{build.ops_install}) is the newest operational build the knowledge base knows "
            f"(as of {knowledge.as_of})", [r.path for r in older],
            cal_ver=build.cal_ver, context=build.build_context)


# Rule 9 -------------------------------------------------------------------

def _reference_overrides(inventory: Inventory, knowledge: Knowledge) -> Iterator[Finding]:
    overrides: dict[tuple[str, str], list[str]] = defaultdict(list)
    for record in inventory.read_ok:
        for keyword, value in record.reference_files.items():
            text = str(value).strip() if value is not None else ""
            if text and not text.startswith("crds://") and text.upper() != "N/A":
                overrides[(keyword, text)].append(record.path)
    for (keyword, value), paths in sorted(overrides.items()):
        yield _finding(knowledge, "JP601", f"{keyword} = {value} in {_plural(len(paths), 'file')}: "
                       "a reference file CRDS did not choose", paths, keyword=keyword, value=value)


# Rule 10 ------------------------------------------------------------------

def _ambiguous_server(inventory: Inventory, knowledge: Knowledge) -> Iterator[Finding]:
    hits: dict[str, list[str]] = defaultdict(list)
    for record in inventory.read_ok:
        processed = _processing_date(record)
        if record.crds_ctx is None or processed is None:
            continue
        if processed >= knowledge.ops_pub_numbering_until:
            continue
        build = knowledge.builds.get(record.cal_ver or "")
        if build is not None and build.operational:
            continue
        hits[record.cal_ver or "(no CAL_VER)"].append(record.path)
    for version, paths in sorted(hits.items()):
        build = knowledge.builds.get(version)
        extra = (f"; the jwst README lists {build.pub_context} on PUB for {version}"
                 if build and build.pub_context else "")
        yield _finding(knowledge, "JP701", f"{_subject(len(paths), 'file', 'was')} processed before "
                       f"{knowledge.ops_pub_numbering_until:%B %Y} by jwst {version}, not an "
                       f"operational build: the context number may be from the PUB server{extra}",
                       paths, cal_ver=version)


# Rules 11-13: the inputs of combined products (scan --inputs) ----------------

def _inputs(inventory: Inventory, knowledge: Knowledge) -> Iterator[Finding]:
    if not inventory.inputs:
        return
    products = {record.path: record for record in inventory.read_ok}
    for parent, children in sorted(inventory.inputs_by_parent().items()):
        name = os.path.basename(parent)
        for keyword, what in (("CAL_VER", "pipeline versions"), ("CRDS_CTX", "CRDS contexts")):
            counts = Counter(c.get(keyword) for c in children if c.get(keyword) is not None)
            if len(counts) > 1:
                shown = ", ".join(f"{v} ({n})" for v, n in sorted(counts.items()))
                yield _finding(knowledge, "JP801", f"{name} combines {len(children)} inputs "
                               f"with {len(counts)} {what}: {shown}", [parent],
                               keyword=keyword, values=dict(counts))
        stated = products[parent].crds_ctx if parent in products else None
        others = sorted({c.crds_ctx for c in children if c.crds_ctx and c.crds_ctx != stated})
        if stated and others:
            yield _finding(knowledge, "JP802", f"{name} states CRDS_CTX {stated}, but inputs "
                           f"were calibrated with {', '.join(others)}", [parent],
                           stated=stated, inputs=others)
    # The minimum-context rule, on the inputs, reported against their products.
    for finding in _minimum_context(Inventory(list(inventory.inputs)), knowledge):
        if finding.code != "JP101":
            continue
        parents = sorted({c.parent for c in inventory.inputs if c.path in finding.files})
        yield _finding(knowledge, "JP803", f"inputs of {len(parents)} combined "
                       f"product{'s' if len(parents) != 1 else ''}: {finding.message}",
                       parents, action=finding.action, inputs=list(finding.files))


_RULES: tuple[Callable[[Inventory, Knowledge], Iterable[Finding]], ...] = (
    _unreadable, _missing_provenance, _minimum_context, _known_issues, _versions, _mixed,
    _newer_calibration, _reference_overrides, _ambiguous_server, _inputs,
)
