"""The knowledge base: pipeline builds, Zenodo DOIs, minimum contexts, known issues, rules.

Shipped as data files beside this module (``builds.csv``, ``zenodo_versions.csv``,
``caveats.toml``), every row with its source and the date it was checked. ``source``
is the maintainers' evidence (repository paths, commits, quotations); ``cite`` is what
a paper prints for a reader to look up (document titles, "; " between documents;
empty for findings that come from the data and the tool's own logic). Users add
their own entries in a TOML file of the same form as ``caveats.toml``
(``load_knowledge(extra=["mine.toml"])``, ``--knowledge mine.toml``); a ``[[build]]``
entry there adds a pipeline version, and a ``[[rule]]`` entry with ``code`` and
``severity`` changes a rule's severity.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tomllib
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from importlib import resources
from typing import Any

from ..errors import ReporterError

__all__ = [
    "Build", "Knowledge", "KnowledgeError", "KnownIssue", "MinimumContext", "Rule",
    "context_number", "load_knowledge",
]

SEVERITIES = ("error", "warning", "info")
_CONTEXT = re.compile(r"^jwst_(\d{4})\.pmap$")
_BUILTIN = "caveats.toml"


class KnowledgeError(ReporterError):
    """A knowledge file that is invalid: the message names the file, entry and field."""

    exit_code = 2


def context_number(context: object) -> int | None:
    """``'jwst_0913.pmap'`` → 913; anything else → None."""
    if isinstance(context, str):
        match = _CONTEXT.match(context.strip())
        if match:
            return int(match.group(1))
    return None


@dataclass(frozen=True)
class Rule:
    """What ``check`` reports for one kind of finding."""

    code: str
    name: str
    severity: str
    title: str
    explanation: str
    action: str
    source: str
    cite: str = ""  # the document(s) a paper's reader can look up; "" for the tool's own logic
    note: str = ""  # what was and was not confirmed of the cite


@dataclass(frozen=True)
class Build:
    """One jwst release, as the pipeline's README lists it."""

    cal_ver: str
    dms_build: str
    sdp_ver: str
    build_context: str
    pub_context: str
    released: date | None
    ops_install: date | None
    note: str
    source: str
    checked: date | None

    @property
    def operational(self) -> bool:
        """Delivered to the operational pipeline (it has an SDP build or an install date)."""
        return bool(self.sdp_ver or self.ops_install)


@dataclass(frozen=True)
class Conditions:
    """Header conditions: every keyword in ``when`` has one of its values, and no
    keyword in ``when_not`` has one of its."""

    when: tuple[tuple[str, tuple[str, ...]], ...] = ()
    when_not: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def match(self, get: Any) -> bool:
        for keyword, values in self.when:
            value = get(keyword)
            if value is None or str(value).strip().upper() not in values:
                return False
        for keyword, values in self.when_not:
            value = get(keyword)
            if value is not None and str(value).strip().upper() in values:
                return False
        return True

    def describe(self) -> str:
        parts = [f"{k} = {' or '.join(v)}" for k, v in self.when]
        parts += [f"{k} not {' or '.join(v)}" for k, v in self.when_not]
        return ", ".join(parts)


@dataclass(frozen=True)
class MinimumContext:
    """The first context with in-flight reference files for a mode, or its status."""

    id: str
    instrument: str
    mode: str
    conditions: Conditions
    context: str  # "" when status is "in progress"
    status: str
    dated: date | None
    source: str
    checked: date | None
    note: str = ""
    cite: str = ""  # the document(s) a paper's reader can look up
    origin: str = _BUILTIN


@dataclass(frozen=True)
class KnownIssue:
    """A known problem of a mode for contexts below a fix (and observations from a date)."""

    code: str
    name: str
    severity: str
    instrument: str
    modes: tuple[str, ...]
    conditions: Conditions
    context_below: str
    observed_from: date | None
    title: str
    message: str
    action: str
    dated: date | None
    source: str
    checked: date | None
    note: str = ""
    cite: str = ""  # the document(s) a paper's reader can look up
    origin: str = _BUILTIN


@dataclass(frozen=True)
class Knowledge:
    """Everything ``check`` knows, and how old it is."""

    as_of: date
    summary: str
    rules: dict[str, Rule]
    builds: dict[str, Build]
    dois: dict[str, str]
    minimum_contexts: tuple[MinimumContext, ...]
    known_issues: tuple[KnownIssue, ...]
    ops_pub_numbering_until: date
    files: tuple[str, ...] = field(default=())

    def rule(self, code: str) -> Rule:
        return self.rules[code]

    def newest_operational_build(self) -> Build | None:
        """The build most recently installed in operations that has a build context."""
        installed = [b for b in self.builds.values() if b.ops_install and b.build_context]
        return max(installed, key=lambda b: b.ops_install) if installed else None

    def newest_build(self) -> Build | None:
        dated = [b for b in self.builds.values() if b.released]
        return max(dated, key=lambda b: b.released) if dated else None

    def until(self, cutoff: date) -> Knowledge:
        """The knowledge as it stood on ``cutoff``: later entries are left out
        (entries without a date are kept)."""

        def known(dated: date | None) -> bool:
            return dated is None or dated <= cutoff

        # A build released before the cutoff may have reached operations after it.
        builds = {k: b if known(b.ops_install) else replace(b, ops_install=None)
                  for k, b in self.builds.items() if known(b.released)}
        return replace(
            self,
            as_of=min(self.as_of, cutoff),
            builds=builds,
            dois={k: d for k, d in self.dois.items() if k in self.builds and known(self.builds[k].released)},
            minimum_contexts=tuple(m for m in self.minimum_contexts if known(m.dated)),
            known_issues=tuple(k for k in self.known_issues if known(k.dated)),
        )


def load_knowledge(extra: list[str | os.PathLike[str]] | tuple = (),
                   as_of: date | None = None) -> Knowledge:
    """Load the shipped knowledge base, then each ``extra`` TOML file on top.

    Raises
    ------
    KnowledgeError
        When a file is invalid; the message names the file, the entry and the field.
    """
    folder = resources.files(__package__)
    loader = _Loader()
    loader.builds(_BUILTIN_BUILDS, folder.joinpath("builds.csv").read_text("utf-8"))
    loader.dois(folder.joinpath("zenodo_versions.csv").read_text("utf-8"))
    loader.files += [_BUILTIN_BUILDS, "zenodo_versions.csv"]
    loader.toml(_BUILTIN, folder.joinpath(_BUILTIN).read_text("utf-8"), builtin=True)
    for path in extra:
        name = os.fspath(path)
        try:
            with open(name, encoding="utf-8") as stream:
                text = stream.read()
        except OSError as exc:
            raise KnowledgeError(f"{name}: cannot read the knowledge file: {exc.strerror}") from None
        loader.toml(name, text, builtin=False)
    knowledge = loader.result()
    return knowledge.until(as_of) if as_of else knowledge


_BUILTIN_BUILDS = "builds.csv"


class _Loader:
    def __init__(self) -> None:
        self.rules: dict[str, Rule] = {}
        self.builds_: dict[str, Build] = {}
        self.dois_: dict[str, str] = {}
        self.minimum: list[MinimumContext] = []
        self.issues: list[KnownIssue] = []
        self.meta: dict[str, Any] = {}
        self.files: list[str] = []

    # CSV files: written by this project, checked by the tests.
    def builds(self, name: str, text: str) -> None:
        for row in csv.DictReader(io.StringIO(text)):
            entry = _Entry(name, f"cal_ver {row['cal_ver']}", row)
            self._add_build(entry)

    def dois(self, text: str) -> None:
        for row in csv.DictReader(io.StringIO(text)):
            self.dois_[row["cal_ver"]] = row["doi"]

    def toml(self, name: str, text: str, builtin: bool) -> None:
        self.files.append(name)
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise KnowledgeError(f"{name}: not valid TOML: {exc}") from None
        allowed = {"knowledge", "rule", "minimum_context", "known_issue", "build"}
        for key in document:
            if key not in allowed:
                raise KnowledgeError(f"{name}: unknown section [{key}]; expected one of: "
                                     f"{', '.join(sorted(allowed))}")
        if builtin:
            self.meta = _Entry(name, "[knowledge]", document.get("knowledge", {})).fields(
                as_of=("date", True), summary=("text", True),
                ops_pub_numbering_until=("date", True))
        elif "knowledge" in document:
            raise KnowledgeError(f"{name}: [knowledge] belongs to the shipped knowledge base only")
        if builtin:  # rules first: known issues must not take their codes
            for number, raw in enumerate(self._list(name, document, "rule"), 1):
                self._add_rule(_Entry(name, f"[[rule]] #{number}", raw), builtin)
        for number, raw in enumerate(self._list(name, document, "minimum_context"), 1):
            self._add_minimum(_Entry(name, f"[[minimum_context]] #{number}", raw))
        for number, raw in enumerate(self._list(name, document, "known_issue"), 1):
            self._add_issue(_Entry(name, f"[[known_issue]] #{number}", raw))
        for number, raw in enumerate(self._list(name, document, "build"), 1):
            self._add_build(_Entry(name, f"[[build]] #{number}", raw))
        if not builtin:  # severity changes last, so they reach this file's known issues too
            for number, raw in enumerate(self._list(name, document, "rule"), 1):
                self._add_rule(_Entry(name, f"[[rule]] #{number}", raw), builtin)

    @staticmethod
    def _list(name: str, document: dict, key: str) -> list[dict]:
        value = document.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise KnowledgeError(f"{name}: '{key}' must be written as [[{key}]] tables")
        return value

    def _add_rule(self, entry: _Entry, builtin: bool) -> None:
        if builtin:
            values = entry.fields(code=("text", True), name=("text", True),
                                  severity=("severity", True), title=("text", True),
                                  explanation=("text", True), action=("text", True),
                                  source=("text", True), cite=("text", False),
                                  note=("text", False))
            self._unique(entry, "code", values["code"], self.rules)
            self.rules[values["code"]] = Rule(**values)
            return
        values = entry.fields(code=("text", True), severity=("severity", True))
        code = values["code"]
        if code in self.rules:
            self.rules[code] = replace(self.rules[code], severity=values["severity"])
            return
        for index, issue in enumerate(self.issues):
            if issue.code == code:
                self.issues[index] = replace(issue, severity=values["severity"])
                return
        raise entry.error("code", f"no rule or known issue has the code {code!r}")

    def _add_minimum(self, entry: _Entry) -> None:
        values = entry.fields(
            id=("text", True), instrument=("instrument", True), mode=("mode", True),
            when=("conditions", False), when_not=("conditions", False),
            context=("context", False), status=("text", False), dated=("date", True),
            source=("text", True), checked=("date", True), note=("text", False),
            cite=("text", False))
        if bool(values.get("context")) == bool(values.get("status")):
            raise entry.error("context", "give either a context (jwst_NNNN.pmap) or a status "
                                         "such as \"in progress\", not both")
        self._unique(entry, "id", values["id"], {m.id: m for m in self.minimum})
        self.minimum.append(MinimumContext(
            id=values["id"], instrument=values["instrument"], mode=values["mode"],
            conditions=Conditions(values.get("when", ()), values.get("when_not", ())),
            context=values.get("context", ""), status=values.get("status", ""),
            dated=values["dated"], source=values["source"], checked=values["checked"],
            note=values.get("note", ""), cite=values.get("cite", ""), origin=entry.file))

    def _add_issue(self, entry: _Entry) -> None:
        values = entry.fields(
            code=("text", True), name=("text", True), severity=("severity", True),
            instrument=("instrument", True), modes=("modes", True),
            when=("conditions", False), when_not=("conditions", False),
            context_below=("context", True), observed_from=("date", False),
            title=("text", True), message=("text", True), action=("text", True),
            dated=("date", True), source=("text", True), checked=("date", True),
            note=("text", False), cite=("text", False))
        taken = {**self.rules, **{i.code: i for i in self.issues}}
        self._unique(entry, "code", values["code"], taken)
        self.issues.append(KnownIssue(
            code=values["code"], name=values["name"], severity=values["severity"],
            instrument=values["instrument"], modes=values["modes"],
            conditions=Conditions(values.get("when", ()), values.get("when_not", ())),
            context_below=values["context_below"], observed_from=values.get("observed_from"),
            title=values["title"], message=values["message"], action=values["action"],
            dated=values["dated"], source=values["source"], checked=values["checked"],
            note=values.get("note", ""), cite=values.get("cite", ""), origin=entry.file))

    def _add_build(self, entry: _Entry) -> None:
        values = entry.fields(
            cal_ver=("version", True), dms_build=("text", False), sdp_ver=("text", False),
            build_context=("context", False), pub_context=("context", False),
            released=("date", False), ops_install=("date", False), note=("text", False),
            source=("text", True), checked=("date", True))
        if entry.file != _BUILTIN_BUILDS:
            self._unique(entry, "cal_ver", values["cal_ver"], self.builds_)
        self.builds_[values["cal_ver"]] = Build(
            cal_ver=values["cal_ver"], dms_build=values.get("dms_build", ""),
            sdp_ver=values.get("sdp_ver", ""), build_context=values.get("build_context", ""),
            pub_context=values.get("pub_context", ""), released=values.get("released"),
            ops_install=values.get("ops_install"), note=values.get("note", ""),
            source=values["source"], checked=values["checked"])

    @staticmethod
    def _unique(entry: _Entry, field_name: str, value: str, taken: dict) -> None:
        if value in taken:
            raise entry.error(field_name, f"{value!r} is already defined")

    def result(self) -> Knowledge:
        return Knowledge(
            as_of=self.meta["as_of"], summary=self.meta["summary"], rules=dict(self.rules),
            builds=dict(self.builds_), dois=dict(self.dois_),
            minimum_contexts=tuple(self.minimum), known_issues=tuple(self.issues),
            ops_pub_numbering_until=self.meta["ops_pub_numbering_until"],
            files=tuple(self.files))


class _Entry:
    """One entry of a knowledge file, validated field by field."""

    def __init__(self, file: str, label: str, raw: dict[str, Any]):
        self.file = file
        self.label = label
        self.raw = raw

    def error(self, field_name: str, message: str) -> KnowledgeError:
        ident = str(self.raw.get("id") or self.raw.get("code") or "")
        where = f"{self.label} ({ident})" if ident and ident not in self.label else self.label
        return KnowledgeError(f"{self.file}: {where}, field '{field_name}': {message}")

    def fields(self, **spec: tuple[str, bool]) -> dict[str, Any]:
        for name in self.raw:
            if name not in spec:
                raise self.error(name, f"unknown field; expected one of: {', '.join(spec)}")
        values: dict[str, Any] = {}
        for name, (kind, required) in spec.items():
            raw = self.raw.get(name)
            if raw is None or raw == "":
                if required and kind != "date":
                    raise self.error(name, "missing")
                if required and name not in self.raw:
                    raise self.error(name, "missing (write \"\" if the source gives no date)")
                if kind == "date":
                    values[name] = None
                continue
            values[name] = getattr(self, f"_{kind}")(name, raw)
        return values

    def _text(self, name: str, raw: Any) -> str:
        if not isinstance(raw, str):
            raise self.error(name, f"must be text, not {type(raw).__name__}")
        return raw.strip()

    def _date(self, name: str, raw: Any) -> date:
        if isinstance(raw, datetime):  # a subclass of date: compare would fail later
            raise self.error(name, f"{raw} is a date and time; give a date (YYYY-MM-DD)")
        if isinstance(raw, date):
            return raw
        try:
            return date.fromisoformat(self._text(name, raw))
        except ValueError:
            raise self.error(name, f"{raw!r} is not a date (YYYY-MM-DD)") from None

    def _severity(self, name: str, raw: Any) -> str:
        value = self._text(name, raw)
        if value not in SEVERITIES:
            raise self.error(name, f"{value!r} is not one of: {', '.join(SEVERITIES)}")
        return value

    def _context(self, name: str, raw: Any) -> str:
        value = self._text(name, raw)
        if context_number(value) is None:
            raise self.error(name, f"{value!r} is not a CRDS context like jwst_1241.pmap")
        return value

    def _version(self, name: str, raw: Any) -> str:
        from packaging.version import InvalidVersion, Version

        value = self._text(name, raw)
        try:
            Version(value)
        except InvalidVersion:
            raise self.error(name, f"{value!r} is not a version number") from None
        return value

    def _instrument(self, name: str, raw: Any) -> str:
        from ..modes import INSTRUMENTS

        value = self._text(name, raw)
        if value not in INSTRUMENTS.values():
            raise self.error(name, f"{value!r} is not one of: {', '.join(INSTRUMENTS.values())}")
        return value

    def _mode(self, name: str, raw: Any) -> str:
        from ..modes import exposure_types

        value = self._text(name, raw)
        modes = sorted({t.mode for t in exposure_types().values()})
        if value not in modes:
            raise self.error(name, f"{value!r} is not an observing mode; known: {', '.join(modes)}")
        return value

    def _modes(self, name: str, raw: Any) -> tuple[str, ...]:
        if not isinstance(raw, list) or not raw:
            raise self.error(name, "must be a list of observing modes")
        return tuple(self._mode(name, item) for item in raw)

    def _conditions(self, name: str, raw: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
        if not isinstance(raw, dict):
            raise self.error(name, "must be a table like { READPATT = [\"FASTR1\"] }")
        result = []
        for keyword, values in raw.items():
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise self.error(name, f"{keyword} must list text values")
            result.append((keyword.upper(), tuple(v.strip().upper() for v in values)))
        return tuple(result)
