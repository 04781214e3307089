"""Audit a manuscript against its data: what the text states versus what the headers say.

For a referee response: every pipeline version, CRDS context, SDP_VER, MAST DOI and
pipeline citation in the text is compared with the dataset, and every check finding
a reader should know of is looked for in the text. Each problem comes with where it
is (file:line), what the text says, what the data say, and a sentence to use.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from .checks import Finding
from .inventory import Inventory
from .knowledge import Knowledge
from .manuscript import context_around, find_statements, read_manuscript
from .paper import READER_CODES, check_doi

__all__ = ["AuditFinding", "audit", "format_audit_json", "format_audit_markdown",
           "format_audit_text"]


@dataclass(frozen=True)
class AuditFinding:
    code: str
    severity: str
    title: str
    where: str | None
    text_says: str
    data_say: str
    suggestion: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_CONTEXT_WORDS = re.compile(r"jwst|pipeline|CAL\\?_VER|calibration|reduc|process", re.I)
_STOPWORDS = {"miri", "nircam", "niriss", "nirspec", "fgs", "mrs", "wfss", "ami", "lw", "fs",
              "of", "the", "and", "data", "after", "2024", "01", "05", "14", "below"}


def _mentions(text: str, finding: Finding) -> bool:
    if finding.code.lower() in text:
        return True
    words = [w for w in re.split(r"[-_ ]+", finding.name.lower()) if w and w not in _STOPWORDS]
    return bool(words) and all(word in text for word in words)


def audit(manuscript: str | os.PathLike[str], inventory: Inventory, knowledge: Knowledge,
          findings: Sequence[Finding], *, bib: Any | None = None) -> list[AuditFinding]:
    """Compare a manuscript (and its bibliography, from :func:`reporter.bib.read_bib`)
    with the data; results sorted by severity and place."""
    from .bib import _citation_data, _fields, _is_pipeline, _version_of

    lines = read_manuscript(manuscript)
    statements = find_statements(lines)
    records = inventory.read_ok
    versions = Counter(r.cal_ver for r in records if r.cal_ver)
    contexts = Counter(r.crds_ctx for r in records if r.crds_ctx)
    crds_vers = {str(r.keywords["CRDS_VER"]) for r in records if r.keywords.get("CRDS_VER")}
    sdp_vers = {str(r.keywords["SDP_VER"]) for r in records if r.keywords.get("SDP_VER")}
    out: list[AuditFinding] = []

    def add(code, severity, title, statement, says, data, suggestion):
        out.append(AuditFinding(code, severity, title,
                                statement.line.where if statement else None, says, data,
                                suggestion))

    data_versions = ", ".join(f"{v} ({n} files)" for v, n in sorted(versions.items())) or "none"
    data_contexts = ", ".join(f"{c} ({n} files)" for c, n in sorted(contexts.items())) or "none"
    processing = _processing_sentence(versions, contexts)

    stated_versions: set[str] = set()
    stated_contexts: set[str] = set()
    for statement in statements:
        if statement.kind == "version":
            if statement.value in versions:
                stated_versions.add(statement.value)
            elif statement.value in crds_vers or _looks_like_crds_version(statement.value, knowledge):
                add("A103", "error", "A CRDS software version given as the pipeline version",
                    statement, statement.phrase,
                    f"CRDS_VER (the CRDS client library) is {', '.join(sorted(crds_vers)) or 'a version like 11.17.14'}; "
                    f"the pipeline (CAL_VER) is {data_versions}",
                    processing)
            elif _CONTEXT_WORDS.search(context_around(statement, lines)):
                add("A101", "error", "Pipeline version stated but not in the data", statement,
                    statement.phrase, f"CAL_VER in the data: {data_versions}", processing)
        elif statement.kind == "context":
            if statement.value in contexts:
                stated_contexts.add(statement.value)
            elif not _is_comparison(statement, lines):
                add("A201", "error", "CRDS context stated but not in the data", statement,
                    statement.phrase, f"CRDS_CTX in the data: {data_contexts}", processing)
        elif statement.kind == "sdp_ver" and sdp_vers and statement.value not in sdp_vers:
            add("A204", "warning", "SDP_VER stated but not in the data", statement,
                statement.phrase, f"SDP_VER in the data: {', '.join(sorted(sdp_vers))}",
                f"The data were processed by the ground system build (SDP_VER) "
                f"{' and '.join(sorted(sdp_vers))}.")

    # MAST DOIs.
    dois = [s for s in statements if s.kind == "doi"]
    mast = [s for s in dois if s.value.startswith("10.17909")]
    for statement in mast:
        try:
            check_doi(statement.value)
        except Exception:
            add("A302", "error", "Malformed MAST DOI", statement, statement.value,
                "a MAST DOI has the form 10.17909/xxxx-xxxx",
                "The data are available at MAST: \\dataset[doi:10.17909/XXXX]"
                "{https://doi.org/10.17909/XXXX}.")
    if not mast:
        add("A301", "warning", "No MAST DOI", None, "(no 10.17909/... DOI in the text)",
            "JWST data must be cited with a MAST DOI",
            "The JWST data used in this paper can be found in MAST: "
            "\\dataset[doi:10.17909/XXXX]{https://doi.org/10.17909/XXXX}.")

    # Pipeline citations: through the .bib, or our own stable keys.
    entries = {e.key: e for e in bib.entries} if bib is not None else {}
    version_of_doi = {doi.lower(): v for v, doi in knowledge.dois.items()}
    # The DOI of all versions names no version (whatever one list's label says).
    version_of_doi.pop(_citation_data()["pipeline"]["concept_doi"].lower(), None)
    for statement in [s for s in statements if s.kind == "cite"]:
        entry = entries.get(statement.value)
        if entry is not None and _is_pipeline(entry):
            cited = _version_of(entry) or version_of_doi.get(
                re.sub(r"[{}\"]", "", _fields(entry).get("doi", "")).lower(), "")
        elif statement.value.startswith("jwst_pipeline_"):
            cited = statement.value[len("jwst_pipeline_"):].replace("_", ".")
        else:
            continue
        if cited in versions:
            stated_versions.add(cited)  # citing a version's entry states it
        if not cited:
            add("A401", "warning", "Pipeline cited without a version", statement,
                f"\\cite{{{statement.value}}}", f"CAL_VER in the data: {data_versions}",
                "Cite the exact versions: jwst-provenance bib --bib your.bib gives their entries.")
        elif cited not in versions:
            add("A402", "error", "The cited pipeline version is not the data's", statement,
                f"\\cite{{{statement.value}}} (version {cited})",
                f"CAL_VER in the data: {data_versions}",
                "Cite the versions the data used: jwst-provenance bib --bib your.bib.")
    for statement in dois:
        cited = version_of_doi.get(statement.value.lower())
        if cited and cited not in versions:
            add("A402", "error", "The cited pipeline version is not the data's", statement,
                f"doi:{statement.value} (jwst {cited})", f"CAL_VER in the data: {data_versions}",
                "Cite the versions the data used: jwst-provenance bib.")

    for version in sorted(set(versions) - stated_versions):
        add("A102", "warning", "Pipeline version in the data but never stated", None, "(nothing)",
            f"CAL_VER {version} in {versions[version]} files", processing)
    for context in sorted(set(contexts) - stated_contexts):
        add("A202", "warning", "CRDS context in the data but never stated", None, "(nothing)",
            f"CRDS_CTX {context} in {contexts[context]} files", processing)

    # Caveats a reader should hear of, that the text never mentions.
    text = " ".join(line.text for line in lines).lower()
    for finding in findings:
        if finding.severity == "info" and not finding.code.startswith("JP2"):
            continue
        if finding.code not in READER_CODES and not finding.code.startswith("JP2"):
            continue
        if finding.code == "JP401":
            # Mixed versions are disclosed when the text states every one of them.
            values = set(finding.details.get("values", {}))
            if values and values <= (stated_versions | stated_contexts):
                continue
        if not _mentions(text, finding):
            add("A501", "warning", f"Caveat not mentioned: {finding.title}", None, "(nothing)",
                f"{finding.code}: {finding.message}", f"{finding.title}: {finding.message} "
                f"(source: {finding.source})")

    order = {"error": 0, "warning": 1, "info": 2}
    return sorted(out, key=lambda f: (order[f.severity], f.where or "~", f.code))


# "older than jwst_1228.pmap", "at or above", "updated in CRDS context jwst_1185.pmap":
# a context named to compare with, not one the data are said to have used.
_COMPARISON = re.compile(
    r"(?:(?:older|newer|earlier|later)\s+than|below|above|before|after|prior\s+to|until|"
    r"since|from|(?:updated|fixed|corrected|introduced|delivered|changed)\s+in)"
    r"\s+(?:the\s+)?(?:CRDS\s+)?(?:contexts?\s+)?$", re.IGNORECASE)


def _is_comparison(statement: Any, lines: Sequence[Any]) -> bool:
    """The context is named right after a comparison ("older than ..."), in its line or
    at the end of the line before."""
    text = statement.line.text
    index = next((i for i, line in enumerate(lines) if line is statement.line), None)
    if index:
        previous = lines[index - 1]
        if previous.file == statement.line.file and previous.number + 1 == statement.line.number:
            text = previous.text + " " + text
    value = statement.phrase.split()[-1] if statement.phrase else statement.value
    position = text.find(value)
    before = re.sub(r"\\[A-Za-z]+\{?|[{}]", " ", text[:position if position >= 0 else 0])
    return bool(_COMPARISON.search(before[-60:]))


def _looks_like_crds_version(value: str, knowledge: Knowledge) -> bool:
    # jwst releases are 0.x to 3.x; the CRDS client's are 7.x to 13.x (11.17.14, ...).
    if value in knowledge.builds:
        return False
    try:
        return int(value.split(".")[0]) >= 7
    except ValueError:
        return False


def _processing_sentence(versions: Counter, contexts: Counter) -> str:
    if not versions:
        return "State the pipeline version (CAL_VER) and CRDS context (CRDS_CTX) of the data."
    version_text = " and ".join(sorted(versions))
    context_text = " and ".join(sorted(contexts)) or "(unknown)"
    return (f"The data were processed with version{'s' if len(versions) > 1 else ''} "
            f"{version_text} of the JWST Science Calibration Pipeline and CRDS "
            f"context{'s' if len(contexts) > 1 else ''} {context_text}.")


def format_audit_text(results: Sequence[AuditFinding], manuscript: str) -> str:
    counts = Counter(r.severity for r in results)
    lines = [f"Audited {manuscript}: {counts['error']} errors, {counts['warning']} warnings."]
    for result in results:
        lines += ["", f"{result.severity.upper()} {result.code} {result.title}"
                  + (f" ({result.where})" if result.where else ""),
                  f"    the text says: {result.text_says}",
                  f"    the data say:  {result.data_say}",
                  f"    suggested:     {result.suggestion}"]
    if not results:
        lines += ["", "The text states the versions, contexts and DOI the data have."]
    return "\n".join(lines) + "\n"


def format_audit_json(results: Sequence[AuditFinding], manuscript: str) -> str:
    return json.dumps({"format": "jwst-provenance audit", "manuscript": manuscript,
                       "findings": [r.to_dict() for r in results]}, indent=1) + "\n"


def format_audit_markdown(results: Sequence[AuditFinding], manuscript: str) -> str:
    from .escape import escape_markdown as md

    lines = [f"## Provenance checklist for {md(manuscript)}", ""]
    for result in results:
        where = f" ({md(result.where)})" if result.where else ""
        lines.append(f"- [ ] **{md(result.title)}**{where}: the text says {md(result.text_says)}; "
                     f"the data say {md(result.data_say).rstrip('.')}. "
                     f"Suggested: {md(result.suggestion)}")
    if not results:
        lines.append("- [x] The text states the versions, contexts and DOI the data have.")
    return "\n".join(lines) + "\n"
