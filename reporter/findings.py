"""Show check findings: terminal text, JSON and Markdown; and the exit code they mean."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any

from .checks import SEVERITY_ORDER, Finding
from .escape import escape_markdown, markdown_code
from .knowledge import Knowledge

__all__ = ["FAIL_ON", "failed", "format_json", "format_markdown", "format_text"]

FAIL_ON = ("error", "warning", "info", "never")
_HEADINGS = {"error": "Errors", "warning": "Warnings", "info": "Information"}
_COLOURS = {"error": "\033[31m", "warning": "\033[33m", "info": "\033[36m"}
_RESET = "\033[0m"
_BOLD = "\033[1m"


def failed(findings: Sequence[Finding], fail_on: str = "error") -> bool:
    """Whether any finding is at or above the ``fail_on`` severity (``never``: no)."""
    if fail_on not in FAIL_ON:
        raise ValueError(f"fail_on must be one of {FAIL_ON}")
    if fail_on == "never":
        return False
    threshold = SEVERITY_ORDER[fail_on]
    return any(SEVERITY_ORDER[f.severity] <= threshold for f in findings)


def _counts(findings: Sequence[Finding]) -> str:
    counts = Counter(f.severity for f in findings)
    parts = [f"{counts[s]} {s}{'s' if counts[s] != 1 and s != 'info' else ''}"
             for s in ("error", "warning", "info")]
    return ", ".join(parts)


def format_text(findings: Sequence[Finding], *, checked: int, knowledge: Knowledge,
                colour: bool = False, max_files: int = 3) -> str:
    """Findings grouped by severity, for a terminal. ``max_files`` per finding (0: all)."""
    def paint(text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if colour else text

    lines = [(f"Checked {checked} file{'s' if checked != 1 else ''} against the knowledge base "
              f"as of {knowledge.as_of}: {_counts(findings)}.")]
    for severity in ("error", "warning", "info"):
        group = [f for f in findings if f.severity == severity]
        if not group:
            continue
        lines += ["", paint(f"{_HEADINGS[severity]} ({len(group)})", _BOLD + _COLOURS[severity])]
        for finding in group:
            lines.append(f"  {paint(finding.code, _COLOURS[severity])} {finding.name}: "
                         f"{finding.message}")
            shown = finding.files if not max_files else finding.files[:max_files]
            for path in shown:
                lines.append(f"      {path}")
            if len(shown) < len(finding.files):
                lines.append(f"      ... and {len(finding.files) - len(shown)} more "
                             "(--verbose or --format json lists them all)")
            lines.append(f"      what to do: {finding.action}")
            lines.append(f"      source: {finding.source}")
    if not findings:
        lines += ["", "No findings: every file is read, released, consistent and current."]
    return "\n".join(lines) + "\n"


def format_json(findings: Sequence[Finding], *, checked: int, knowledge: Knowledge) -> str:
    """Every finding with all of its files, and what the check used."""
    document: dict[str, Any] = {
        "format": "jwst-provenance check",
        "format_version": 1,
        "knowledge_as_of": knowledge.as_of.isoformat(),
        "files_checked": checked,
        "counts": dict(Counter(f.severity for f in findings)),
        "findings": [f.to_dict() for f in findings],
    }
    return json.dumps(document, indent=1, ensure_ascii=False, default=str) + "\n"


def format_markdown(findings: Sequence[Finding], *, checked: int, knowledge: Knowledge,
                    max_files: int = 10) -> str:
    """A Markdown report: one section per severity, one item per finding."""
    lines = ["# Provenance check", "",
             (f"Checked {checked} files against the jwst-provenance knowledge base as of "
              f"{knowledge.as_of}: {_counts(findings)}.")]
    for severity in ("error", "warning", "info"):
        group = [f for f in findings if f.severity == severity]
        if not group:
            continue
        lines += ["", f"## {_HEADINGS[severity]} ({len(group)})", ""]
        for finding in group:
            # Messages quote header values and paths are file names: both untrusted.
            lines.append(f"- **{escape_markdown(finding.code)} {escape_markdown(finding.title)}**:"
                         f" {escape_markdown(finding.message)}")
            lines.append(f"  - What to do: {escape_markdown(finding.action)}")
            lines.append(f"  - Source: {escape_markdown(finding.source)}")
            shown = finding.files[:max_files]
            files = ", ".join(markdown_code(path) for path in shown)
            more = f" and {len(finding.files) - len(shown)} more" if len(shown) < len(finding.files) else ""
            lines.append(f"  - Files ({len(finding.files)}): {files}{more}")
    return "\n".join(lines) + "\n"
