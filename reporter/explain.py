"""Describe the knowledge base in words: what ``jwst-provenance caveats`` shows."""

from __future__ import annotations

from .errors import UsageError
from .knowledge import Knowledge

__all__ = ["describe_knowledge", "explain"]


def describe_knowledge(knowledge: Knowledge, *, mode: str | None = None,
                       cal_ver: str | None = None, instrument: str | None = None) -> str:
    """The rules, minimum contexts, known issues and builds, optionally filtered.

    ``mode`` and ``instrument`` filter the caveats (case-insensitive); ``cal_ver``
    shows the builds whose version starts with it, with their Zenodo DOI.
    """
    from tabulate import tabulate

    def wanted(entry_instrument: str, entry_modes: tuple[str, ...]) -> bool:
        if instrument and entry_instrument.lower() != instrument.lower():
            return False
        return not mode or mode.lower() in (m.lower() for m in entry_modes)

    out = [f"Knowledge base as of {knowledge.as_of}: {len(knowledge.rules)} rules, "
           f"{len(knowledge.minimum_contexts)} minimum contexts, "
           f"{len(knowledge.known_issues)} known issues, {len(knowledge.builds)} jwst releases.",
           f"Files: {', '.join(knowledge.files)}", ""]
    if not (mode or instrument or cal_ver):
        out.append(tabulate([(r.code, r.severity, r.name, r.title) for r in knowledge.rules.values()],
                            headers=("Rule", "Severity", "Name", "Reports")))
        out.append("")
    if not cal_ver:
        rows = [(m.instrument, m.mode, m.conditions.describe() or "-", m.context or m.status,
                 m.dated or "-", m.source)
                for m in knowledge.minimum_contexts if wanted(m.instrument, (m.mode,))]
        if rows:
            out.append("Minimum CRDS contexts with in-flight reference files:")
            out.append(tabulate(rows, headers=("Instrument", "Mode", "When", "Context", "Dated",
                                               "Source")))
            out.append("")
        rows = [(k.code, k.severity, k.instrument, ", ".join(k.modes), f"< {k.context_below}",
                 k.dated or "-", k.title)
                for k in knowledge.known_issues if wanted(k.instrument, k.modes)]
        if rows:
            out.append("Known issues:")
            out.append(tabulate(rows, headers=("Code", "Severity", "Instrument", "Modes",
                                               "Contexts", "Dated", "Issue")))
            out.append("")
    if cal_ver or not (mode or instrument):
        builds = [b for b in knowledge.builds.values()
                  if not cal_ver or b.cal_ver == cal_ver or b.cal_ver.startswith(cal_ver + ".")]
        if cal_ver and not builds:
            out.append(f"No jwst release {cal_ver} in the knowledge base.")
        elif builds:
            out.append("jwst releases (from the jwst README's DMS Operational Build Versions):")
            out.append(tabulate(
                [(b.cal_ver, b.dms_build or "-", b.sdp_ver or "-", b.build_context or "-",
                  b.released or "-", b.ops_install or "-", knowledge.dois.get(b.cal_ver, "-"),
                  b.note) for b in builds],
                headers=("CAL_VER", "Build", "SDP_VER", "Context", "Released", "In operations",
                         "Zenodo DOI", "Note")))
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


def explain(code: str, knowledge: Knowledge) -> str:
    """Everything the knowledge base says about one rule or known issue (by code or name)."""
    wanted = code.strip()
    for rule in knowledge.rules.values():
        if wanted.upper() == rule.code or wanted.lower() == rule.name:
            return (f"{rule.code} {rule.name} ({rule.severity})\n{rule.title}\n\n"
                    f"{rule.explanation}\n\nWhat to do: {rule.action}\nSource: {rule.source}\n")
    for issue in knowledge.known_issues:
        if wanted.upper() == issue.code or wanted.lower() == issue.name:
            applies = (f"{issue.instrument} {', '.join(issue.modes)}, contexts below "
                       f"{issue.context_below}")
            if issue.conditions.when or issue.conditions.when_not:
                applies += f", {issue.conditions.describe()}"
            if issue.observed_from:
                applies += f", observed from {issue.observed_from}"
            text = (f"{issue.code} {issue.name} ({issue.severity})\n{issue.title}\n\n"
                    f"{issue.message}\n\nApplies to: {applies}\nWhat to do: {issue.action}\n"
                    f"Dated: {issue.dated or 'no date given'}; checked {issue.checked}\n"
                    f"Source: {issue.source}\n")
            return text + (f"Note: {issue.note}\n" if issue.note else "")
    codes = sorted([*knowledge.rules, *(i.code for i in knowledge.known_issues)])
    raise UsageError(f"no rule or known issue {code!r}; known codes: {', '.join(codes)}")
