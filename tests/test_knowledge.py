"""The knowledge base: meta-tests on the shipped data, user knowledge files, ``until``."""

from __future__ import annotations

import csv
import io
import re
import tomllib
from datetime import date
from importlib import resources

import pytest
from packaging.version import Version

from reporter.checks import check
from reporter.inventory import Inventory
from reporter.knowledge import KnowledgeError, context_number, load_knowledge
from reporter.modes import exposure_types
from reporter.records import KeywordMap, ProvenanceRecord

TODAY = date.today()
CONTEXT = re.compile(r"jwst_\d{4}\.pmap")
DOI = re.compile(r"10\.5281/zenodo\.\d+")
DATA = resources.files("reporter.knowledge")
CAVEATS = tomllib.loads(DATA.joinpath("caveats.toml").read_text("utf-8"))
BUILDS = list(csv.DictReader(io.StringIO(DATA.joinpath("builds.csv").read_text("utf-8"))))
ZENODO = list(csv.DictReader(io.StringIO(DATA.joinpath("zenodo_versions.csv").read_text("utf-8"))))
RULES = CAVEATS["rule"]
MINIMUM = CAVEATS["minimum_context"]
ISSUES = CAVEATS["known_issue"]
KNOWLEDGE = load_knowledge()


def as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def entry_id(entry: dict) -> str:
    return entry.get("code") or entry.get("id")


# ---------------------------------------------------------------------------
# The shipped data.

def test_everything_shipped_is_loaded():
    assert len(KNOWLEDGE.rules) == len(RULES)
    assert len(KNOWLEDGE.minimum_contexts) == len(MINIMUM)
    assert len(KNOWLEDGE.known_issues) == len(ISSUES)
    assert len(KNOWLEDGE.builds) == len(BUILDS)
    assert len(KNOWLEDGE.dois) == len(ZENODO)
    assert KNOWLEDGE.as_of <= TODAY


@pytest.mark.parametrize("entry", RULES + MINIMUM + ISSUES, ids=entry_id)
def test_every_entry_has_a_source(entry):
    assert isinstance(entry.get("source"), str) and entry["source"].strip()


# Rules whose findings come from the data themselves and the tool's own logic: no
# document states them, so a paper has nothing to cite for them.
TOOL_LOGIC = {
    "JP001",  # unreadable-file
    "JP302",  # unknown-version: not in this knowledge base
    "JP401",  # mixed-versions within a group
    "JP801",  # mixed-inputs of a combined product (its HDRTAB)
    "JP802",  # product-context-differs (inferred from the jwst resample code)
}
PROSE = ("title", "message", "explanation", "action", "note", "cite")
# A micrometre written "um" after a number: "0.013 um", "5um".
UM_UNIT = re.compile(r"\d\s*um\b")
# ASCII quotation marks around a quotation: 'like this' or "like this". An apostrophe
# ("file's", "inputs'") opens no quotation: an opening mark follows a space or a bracket.
ASCII_QUOTES = re.compile(r"(?:^|[\s(\[])'[^']*'(?=$|[\s).,;:!?\]])|\"[^\"]*\"")
# A file path in a cite: a slash, or a file name ending like one of the project's sources.
PATH_LIKE = re.compile(r"/|\\|\w\.(?:png|py|rst|md|txt|csv|toml|fits)\b", re.IGNORECASE)


def prose(entry: dict) -> dict[str, str]:
    return {key: entry[key] for key in PROSE if isinstance(entry.get(key), str)}


@pytest.mark.parametrize("entry", RULES + MINIMUM + ISSUES, ids=entry_id)
def test_every_entry_has_a_cite(entry):
    # `cite` is what a paper prints for its readers: present on every shipped entry,
    # empty only for the rules of the tool's own logic.
    assert isinstance(entry.get("cite"), str), "no cite"
    if entry_id(entry) in TOOL_LOGIC:
        assert entry["cite"] == ""
    else:
        assert entry["cite"].strip()
        assert all(part.strip() for part in entry["cite"].split("; ")), entry["cite"]


def test_the_tool_logic_rules_are_rules():
    assert TOOL_LOGIC <= {r["code"] for r in RULES}


@pytest.mark.parametrize("entry", RULES + MINIMUM + ISSUES, ids=entry_id)
def test_no_cite_is_a_file_path_or_this_tool(entry):
    cite = entry["cite"]
    assert not PATH_LIKE.search(cite), cite
    assert "jwst-provenance" not in cite.lower(), cite
    assert "spacetelescope" not in cite.lower(), cite  # a repository, not a document


def test_the_prose_checks_catch_what_they_should():
    assert UM_UNIT.search("offset by about 0.013 um (GR150C)")
    assert UM_UNIT.search("a 5um shift")
    assert not UM_UNIT.search("offset by about 0.013 µm; the sum is small; um, well")
    assert ASCII_QUOTES.search("the page says 'In January 2024 the masks were updated'")
    assert ASCII_QUOTES.search('the JDox "Citing JWST Data" page')
    assert not ASCII_QUOTES.search("The file's header; the inputs' contexts, not the product's.")
    assert not ASCII_QUOTES.search("the page says ‘In January 2024’ and “this”")
    assert PATH_LIKE.search("CRDS notes (documentation/images/web_context_all.png)")
    assert PATH_LIKE.search("see web_context_all.png")
    assert PATH_LIKE.search("jwst stpipe core.py")
    assert PATH_LIKE.search("product_types.rst")
    assert not PATH_LIKE.search("JWST CRDS website (jwst-crds.stsci.edu); PEP 440 (peps.python.org)")


@pytest.mark.parametrize("entry", RULES + MINIMUM + ISSUES, ids=entry_id)
def test_prose_writes_micrometres_and_quotations_for_print(entry):
    for key, value in prose(entry).items():
        assert not UM_UNIT.search(value), (key, value)
        assert not ASCII_QUOTES.search(value), (key, value)


def test_the_summary_writes_quotations_for_print():
    summary = CAVEATS["knowledge"]["summary"]
    assert not UM_UNIT.search(summary) and not ASCII_QUOTES.search(summary)


@pytest.mark.parametrize("entry", RULES + ISSUES, ids=entry_id)
def test_texts_printed_in_papers_are_sentences(entry):
    # Papers print a known issue's message after a sentence naming its files, and
    # a rule's explanation and action as they are: each a complete sentence.
    keys = ("explanation", "action") if "explanation" in entry else ("message", "action")
    for key in keys:
        text = entry[key]
        assert text[0].isupper() and text.endswith("."), (key, text)
        assert "  " not in text and text == text.strip(), (key, text)


@pytest.mark.parametrize("entry", MINIMUM + ISSUES, ids=entry_id)
def test_every_caveat_was_checked_by_today(entry):
    # [[rule]] entries define this tool's own findings and have no `checked` field
    # (the loader refuses one); the facts (minimum contexts, known issues) have one.
    assert as_date(entry["checked"]) <= TODAY
    assert "dated" in entry
    if entry["dated"]:
        assert as_date(entry["dated"]) <= as_date(entry["checked"])


def test_codes_and_ids_are_unique():
    codes = [r["code"] for r in RULES] + [i["code"] for i in ISSUES]
    assert len(codes) == len(set(codes))
    assert all(re.fullmatch(r"JP\d{3}", code) for code in codes)
    ids = [m["id"] for m in MINIMUM]
    assert len(ids) == len(set(ids))
    names = [r["name"] for r in RULES] + [i["name"] for i in ISSUES]
    assert len(names) == len(set(names))


def test_severities_are_known():
    assert {e["severity"] for e in RULES + ISSUES} <= {"error", "warning", "info"}


def test_every_context_field_is_valid():
    fields = [m["context"] for m in MINIMUM if "context" in m]
    fields += [i["context_below"] for i in ISSUES]
    fields += [row[key] for row in BUILDS for key in ("build_context", "pub_context") if row[key]]
    assert fields
    for value in fields:
        assert CONTEXT.fullmatch(value), value
        assert context_number(value) is not None


def test_every_context_named_in_the_caveats_text_is_valid():
    text = DATA.joinpath("caveats.toml").read_text("utf-8")
    for mention in re.findall(r"jwst_\w*\.pmap", text):
        assert CONTEXT.fullmatch(mention), mention


def test_minimum_context_rows_have_a_context_or_a_status():
    for entry in MINIMUM:
        assert bool(entry.get("context")) != bool(entry.get("status")), entry["id"]


def test_known_issue_actions_name_their_fix():
    for issue in ISSUES:
        assert issue["context_below"] in issue["action"], issue["code"]


@pytest.mark.parametrize("table, rows", [("builds.csv", BUILDS), ("zenodo_versions.csv", ZENODO)])
def test_every_cal_ver_is_a_version(table, rows):
    versions = [row["cal_ver"] for row in rows]
    assert len(versions) == len(set(versions)), table
    for value in versions:
        Version(value)


@pytest.mark.parametrize("table, rows", [("builds.csv", BUILDS), ("zenodo_versions.csv", ZENODO)])
def test_every_row_has_source_and_checked(table, rows):
    for row in rows:
        assert row["source"].strip(), (table, row["cal_ver"])
        assert date.fromisoformat(row["checked"]) <= TODAY, (table, row["cal_ver"])


def test_build_dates_are_dates():
    for row in BUILDS:
        for key in ("released", "ops_install"):
            if row[key]:
                day = date.fromisoformat(row[key])
                assert day <= TODAY, (row["cal_ver"], key)
        if row["released"] and row["ops_install"]:
            assert row["released"] <= row["ops_install"], row["cal_ver"]


def test_every_doi_is_a_zenodo_doi_of_a_known_build():
    for row in ZENODO:
        assert DOI.fullmatch(row["doi"]), row
        assert row["cal_ver"] in KNOWLEDGE.builds, row["cal_ver"]
    assert len({row["doi"] for row in ZENODO}) == len(ZENODO)


def test_every_mode_and_instrument_is_known():
    known = {(t.instrument, t.mode) for t in exposure_types().values()}
    for entry in MINIMUM:
        assert (entry["instrument"], entry["mode"]) in known, entry["id"]
    for issue in ISSUES:
        for mode in issue["modes"]:
            assert (issue["instrument"], mode) in known, issue["code"]


def test_load_knowledge_exposes_every_cite():
    for raw in RULES:
        assert KNOWLEDGE.rule(raw["code"]).cite == raw["cite"].strip(), raw["code"]
    issues = {i.code: i for i in KNOWLEDGE.known_issues}
    for raw in ISSUES:
        assert issues[raw["code"]].cite == raw["cite"].strip(), raw["code"]
    minimum = {m.id: m for m in KNOWLEDGE.minimum_contexts}
    for raw in MINIMUM:
        assert minimum[raw["id"]].cite == raw["cite"].strip(), raw["id"]
    # A few, as a paper prints them.
    assert KNOWLEDGE.rule("JP002").cite.startswith(
        "JWST Calibration Pipeline Caveats, JWST User Documentation (JDox), July 2022")
    assert KNOWLEDGE.rule("JP401").cite == ""
    assert "NIRISS WFSS Calibration Status" in issues["JP201"].cite
    assert "jwst_1280.pmap" in issues["JP206"].cite and "CRDS" in issues["JP206"].cite
    assert minimum["NIRISS-AMI"].cite.endswith("Table 1")
    # The source stays the maintainers' evidence, apart from the cite.
    assert "web_context_all.png" in issues["JP206"].source


def test_until_keeps_the_cites():
    old = KNOWLEDGE.until(date(2023, 1, 1))
    assert {i.code: i.cite for i in old.known_issues}["JP201"] == \
        {i.code: i.cite for i in KNOWLEDGE.known_issues}["JP201"]
    assert old.rule("JP101").cite == KNOWLEDGE.rule("JP101").cite


def test_newest_operational_build():
    build = KNOWLEDGE.newest_operational_build()
    assert build.operational and build.build_context and build.ops_install
    assert all(b.ops_install <= build.ops_install for b in KNOWLEDGE.builds.values()
               if b.ops_install and b.build_context)


# ---------------------------------------------------------------------------
# User knowledge files.

def toml_value(value) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    return value.isoformat()  # date / datetime: a TOML literal


def toml(*entries: tuple[str, dict]) -> str:
    parts = []
    for section, fields in entries:
        parts.append(f"[[{section}]]")
        parts += [f"{key} = {toml_value(value)}" for key, value in fields.items()]
        parts.append("")
    return "\n".join(parts)


def issue(**changes) -> dict:
    fields = {
        "code": "X001", "name": "miri-imaging-test", "severity": "warning",
        "instrument": "MIRI", "modes": ["imaging"], "when": {"FILTER": ["F560W"]},
        "context_below": "jwst_1500.pmap", "title": "A test issue",
        "message": "MIRI imaging below jwst_1500.pmap has a test problem.",
        "action": "Reprocess with jwst_1500.pmap.", "dated": "2025-01-01",
        "source": "a test", "checked": "2026-01-01",
    }
    fields.update(changes)
    return {k: v for k, v in fields.items() if v is not None}


def minimum(**changes) -> dict:
    fields = {"id": "X-min", "instrument": "NIRCam", "mode": "imaging",
              "context": "jwst_1300.pmap", "dated": "2024-01-01", "source": "a test",
              "checked": "2026-01-01"}
    fields.update(changes)
    return {k: v for k, v in fields.items() if v is not None}


def build(**changes) -> dict:
    fields = {"cal_ver": "3.1.0", "released": "2026-10-01", "source": "a test",
              "checked": "2026-11-01"}
    fields.update(changes)
    return {k: v for k, v in fields.items() if v is not None}


@pytest.fixture
def write(tmp_path):
    def write(text: str, name: str = "mine.toml"):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path
    return write


def rec(path: str, **keywords) -> ProvenanceRecord:
    return ProvenanceRecord.build(path, KeywordMap.from_dict(keywords))


MIRI = {"INSTRUME": "MIRI", "EXP_TYPE": "MIR_IMAGE", "FILTER": "F560W", "CAL_VER": "1.19.2",
        "CAL_VCS": "RELEASE", "CRDS_CTX": "jwst_1408.pmap", "PROGRAM": "01234",
        "DATE": "2025-11-01T00:00:00"}


def codes(records, knowledge) -> set[str]:
    return {f.code for f in check(Inventory(records), knowledge)}


def test_a_user_known_issue_is_applied(write):
    path = write(toml(("known_issue", issue())))
    knowledge = load_knowledge(extra=[path])
    assert str(path) in knowledge.files
    assert "X001" not in codes([rec("m_cal.fits", **MIRI)], KNOWLEDGE)
    [finding] = [f for f in check(Inventory([rec("m_cal.fits", **MIRI)]), knowledge)
                 if f.code == "X001"]
    assert finding.severity == "warning" and finding.name == "miri-imaging-test"
    assert finding.files == ("m_cal.fits",)
    assert "below jwst_1500.pmap" in finding.message
    # Its conditions apply: another filter, or a context at the fix, gives none.
    assert "X001" not in codes([rec("m_cal.fits", **{**MIRI, "FILTER": "F770W"})], knowledge)
    assert "X001" not in codes([rec("m_cal.fits", **{**MIRI, "CRDS_CTX": "jwst_1500.pmap"})],
                               knowledge)


def test_a_user_minimum_context_is_applied(write):
    knowledge = load_knowledge(extra=[write(toml(("minimum_context", minimum())))])
    record = rec("n_cal.fits", **{**MIRI, "INSTRUME": "NIRCAM", "EXP_TYPE": "NRC_IMAGE",
                                  "CRDS_CTX": "jwst_1299.pmap"})
    [finding] = [f for f in check(Inventory([record]), knowledge) if f.code == "JP101"]
    assert "older than jwst_1300.pmap" in finding.message


def test_a_user_rule_changes_a_severity(write):
    mixed = [rec("a_cal.fits", **MIRI), rec("b_cal.fits", **MIRI),
             rec("c_cal.fits", **{**MIRI, "CRDS_CTX": "jwst_1400.pmap"})]
    [before] = [f for f in check(Inventory(mixed), KNOWLEDGE) if f.code == "JP401"]
    assert before.severity == "warning"
    knowledge = load_knowledge(extra=[write(toml(("rule", {"code": "JP401",
                                                           "severity": "error"})))])
    assert knowledge.rule("JP401").severity == "error"
    findings = check(Inventory(mixed), knowledge)
    [after] = [f for f in findings if f.code == "JP401"]
    assert after.severity == "error"
    assert findings[0] is after
    # The shipped knowledge is not changed by loading a user file.
    assert load_knowledge().rule("JP401").severity == "warning"


def test_a_user_rule_changes_a_known_issue_severity(write):
    knowledge = load_knowledge(extra=[write(toml(("rule", {"code": "JP201", "severity": "info"})))])
    assert {i.code: i.severity for i in knowledge.known_issues}["JP201"] == "info"


def test_a_user_build_makes_a_version_known(write):
    record = rec("v_cal.fits", **{**MIRI, "CAL_VER": "3.1.0"})
    assert "JP302" in codes([record], KNOWLEDGE)
    knowledge = load_knowledge(extra=[write(toml(("build", build())))])
    assert "3.1.0" in knowledge.builds
    assert "JP302" not in codes([record], knowledge)
    assert knowledge.newest_build().cal_ver == "3.1.0"


def test_two_user_files_add_up(write):
    first = write(toml(("known_issue", issue())), "first.toml")
    second = write(toml(("known_issue", issue(code="X002", name="second"))), "second.toml")
    knowledge = load_knowledge(extra=[first, second])
    assert {"X001", "X002"} <= {i.code for i in knowledge.known_issues}
    assert knowledge.files[-2:] == (str(first), str(second))


def test_a_user_cite_is_optional_and_loaded(write):
    knowledge = load_knowledge(extra=[write(toml(
        ("known_issue", issue(cite="Our team's memo of 2024-10-01")),
        ("known_issue", issue(code="X002", name="second")),
        ("minimum_context", minimum(cite="  A paper, 2025  ")),
        ("minimum_context", minimum(id="X-min-2")),
    ))])
    issues = {i.code: i for i in knowledge.known_issues}
    assert issues["X001"].cite == "Our team's memo of 2024-10-01"
    assert issues["X002"].cite == ""
    minimum_contexts = {m.id: m for m in knowledge.minimum_contexts}
    assert minimum_contexts["X-min"].cite == "A paper, 2025"
    assert minimum_contexts["X-min-2"].cite == ""


def test_an_undated_user_issue_is_allowed(write):
    knowledge = load_knowledge(extra=[write(toml(("known_issue", issue(dated=""))))])
    [added] = [i for i in knowledge.known_issues if i.code == "X001"]
    assert added.dated is None


INVALID = [
    pytest.param(toml(("known_issue", issue(colour="red"))),
                 ["[[known_issue]] #1 (X001)", "field 'colour'", "unknown field"],
                 id="unknown-field"),
    pytest.param(toml(("known_issue", issue(title=None))),
                 ["[[known_issue]] #1 (X001)", "field 'title'", "missing"], id="missing-field"),
    pytest.param(toml(("known_issue", issue(title=""))),
                 ["[[known_issue]] #1 (X001)", "field 'title'", "missing"], id="empty-field"),
    pytest.param(toml(("known_issue", issue(dated=None))),
                 ["[[known_issue]] #1 (X001)", "field 'dated'", "missing"], id="missing-date"),
    pytest.param(toml(("known_issue", issue(severity="critical"))),
                 ["[[known_issue]] #1 (X001)", "field 'severity'", "'critical'"],
                 id="bad-severity"),
    pytest.param(toml(("known_issue", issue(context_below="jwst_12.pmap"))),
                 ["[[known_issue]] #1 (X001)", "field 'context_below'", "'jwst_12.pmap'"],
                 id="bad-context"),
    pytest.param(toml(("known_issue", issue(dated="2024-13-01"))),
                 ["[[known_issue]] #1 (X001)", "field 'dated'", "'2024-13-01'"], id="bad-date"),
    pytest.param(toml(("known_issue", issue(title=5))),
                 ["[[known_issue]] #1 (X001)", "field 'title'", "must be text"], id="not-text"),
    pytest.param(toml(("known_issue", issue(cite=5))),
                 ["[[known_issue]] #1 (X001)", "field 'cite'", "must be text, not int"],
                 id="cite-not-text"),
    pytest.param(toml(("known_issue", issue(cite=["JDox", "CRDS"]))),
                 ["[[known_issue]] #1 (X001)", "field 'cite'", "must be text, not list"],
                 id="cite-a-list"),
    pytest.param(toml(("minimum_context", minimum(cite=True))),
                 ["[[minimum_context]] #1 (X-min)", "field 'cite'", "must be text, not bool"],
                 id="minimum-cite-not-text"),
    pytest.param(toml(("rule", {"code": "JP401", "severity": "error", "cite": "Mine"})),
                 ["[[rule]] #1 (JP401)", "field 'cite'", "unknown field"],
                 id="rule-changes-its-cite"),
    pytest.param(toml(("known_issue", issue(code="JP201"))),
                 ["[[known_issue]] #1 (JP201)", "field 'code'", "already defined"],
                 id="duplicate-known-issue-code"),
    pytest.param(toml(("known_issue", issue(code="JP401"))),
                 ["[[known_issue]] #1 (JP401)", "field 'code'", "already defined"],
                 id="duplicate-rule-code"),
    pytest.param(toml(("known_issue", issue()), ("known_issue", issue(name="again"))),
                 ["[[known_issue]] #2 (X001)", "field 'code'", "already defined"],
                 id="duplicate-within-the-file"),
    pytest.param(toml(("known_issue", issue()), ("known_issue", issue(code="X002", modes=[]))),
                 ["[[known_issue]] #2 (X002)", "field 'modes'"], id="second-entry-numbered"),
    pytest.param(toml(("known_issue", issue(modes=["telepathy"]))),
                 ["[[known_issue]] #1 (X001)", "field 'modes'", "'telepathy'"],
                 id="unknown-mode"),
    pytest.param(toml(("known_issue", issue(instrument="NIRCAM"))),
                 ["[[known_issue]] #1 (X001)", "field 'instrument'", "'NIRCAM'"],
                 id="unknown-instrument"),
    pytest.param(toml(("known_issue", issue(when={"FILTER": "F560W"}))),
                 ["[[known_issue]] #1 (X001)", "field 'when'", "FILTER"], id="bad-conditions"),
    pytest.param(toml(("minimum_context", minimum(mode="telepathy"))),
                 ["[[minimum_context]] #1 (X-min)", "field 'mode'", "'telepathy'"],
                 id="unknown-minimum-mode"),
    pytest.param(toml(("minimum_context", minimum(status="in progress"))),
                 ["[[minimum_context]] #1 (X-min)", "field 'context'", "not both"],
                 id="minimum-context-and-status"),
    pytest.param(toml(("minimum_context", minimum(id="NIRISS-AMI"))),
                 ["[[minimum_context]] #1 (NIRISS-AMI)", "field 'id'", "already defined"],
                 id="duplicate-minimum-id"),
    pytest.param(toml(("rule", {"code": "JP401", "severity": "fatal"})),
                 ["[[rule]] #1 (JP401)", "field 'severity'", "'fatal'"], id="bad-rule-severity"),
    pytest.param(toml(("rule", {"code": "JP401", "severity": "error", "title": "Mine"})),
                 ["[[rule]] #1 (JP401)", "field 'title'", "unknown field"],
                 id="rule-changes-more-than-severity"),
    pytest.param(toml(("rule", {"code": "JP999", "severity": "error"})),
                 ["[[rule]] #1 (JP999)", "field 'code'", "no rule or known issue"],
                 id="rule-unknown-code"),
    pytest.param(toml(("build", build(cal_ver="1.14.0"))),
                 ["[[build]] #1", "field 'cal_ver'", "already defined"], id="duplicate-build"),
    pytest.param(toml(("build", build(cal_ver="banana"))),
                 ["[[build]] #1", "field 'cal_ver'", "'banana'"], id="bad-build-version"),
    pytest.param(toml(("build", build(checked=None))),
                 ["[[build]] #1", "field 'checked'", "missing"], id="build-without-checked"),
    pytest.param(toml(("caveat", issue())), ["unknown section [caveat]"], id="unknown-section"),
    pytest.param("known_issue = 3\n", ["[[known_issue]] tables"], id="section-not-a-table"),
    pytest.param("[[known_issue]\ncode = \n", ["not valid TOML"], id="invalid-toml"),
    pytest.param('[knowledge]\nas_of = "2030-01-01"\n', ["[knowledge]", "shipped"],
                 id="knowledge-section-refused"),
]


@pytest.mark.parametrize("text, fragments", INVALID)
def test_an_invalid_user_file_is_refused_with_file_entry_and_field(write, text, fragments):
    path = write(text, "bad knowledge.toml")
    with pytest.raises(KnowledgeError) as raised:
        load_knowledge(extra=[path])
    message = str(raised.value)
    assert message.startswith(f"{path}: "), message
    for fragment in fragments:
        assert fragment in message, message
    assert raised.value.exit_code == 2


def test_a_missing_user_file_is_refused(tmp_path):
    path = tmp_path / "absent.toml"
    with pytest.raises(KnowledgeError, match="cannot read the knowledge file") as raised:
        load_knowledge(extra=[path])
    assert str(path) in str(raised.value)


def test_a_numeric_code_is_refused_with_a_knowledge_error(write):
    path = write(toml(("known_issue", issue(code=5))))
    with pytest.raises(KnowledgeError, match="field 'code'"):
        load_knowledge(extra=[path])


def test_a_datetime_is_not_taken_for_a_date(write):
    text = toml(("known_issue", issue(modes=["MRS"], when=None,
                                      observed_from=date(2024, 5, 14)))).replace(
        "observed_from = 2024-05-14", "observed_from = 2024-05-14T00:00:00")
    path = write(text)
    try:
        knowledge = load_knowledge(extra=[path])
    except KnowledgeError as exc:
        assert "field 'observed_from'" in str(exc)
        return
    record = rec("r_cal.fits", **{**MIRI, "EXP_TYPE": "MIR_MRS", "DATE-OBS": "2024-06-01"})
    assert "X001" in codes([record], knowledge)


# ---------------------------------------------------------------------------
# Knowledge.until

def test_until_keeps_undated_entries_and_drops_later_ones():
    old = KNOWLEDGE.until(date(2023, 1, 1))
    assert old.as_of == date(2023, 1, 1)
    assert {i.code for i in old.known_issues} == {"JP201", "JP202"}  # JP202 has no date
    assert len(old.minimum_contexts) == len(KNOWLEDGE.minimum_contexts)  # all July 2022
    assert "1.9.0" in old.builds and "1.9.1" not in old.builds
    assert all(b.released is None or b.released <= date(2023, 1, 1) for b in old.builds.values())
    assert set(old.dois) <= set(old.builds) and "1.9.0" in old.dois and "1.9.1" not in old.dois
    assert old.rules == KNOWLEDGE.rules

    ancient = KNOWLEDGE.until(date(2000, 1, 1))
    assert [i.code for i in ancient.known_issues] == ["JP202"]
    assert ancient.minimum_contexts == ()
    assert ancient.builds == {} and ancient.newest_operational_build() is None
    # The original is unchanged.
    assert len(KNOWLEDGE.known_issues) == len(ISSUES)


def test_until_keeps_undated_user_entries(write):
    knowledge = load_knowledge(extra=[write(toml(("known_issue", issue(dated=""))))],
                               as_of=date(2000, 1, 1))
    assert {i.code for i in knowledge.known_issues} == {"JP202", "X001"}


def test_until_after_as_of_changes_nothing_but_keeps_as_of():
    later = KNOWLEDGE.until(date(2999, 1, 1))
    assert later.as_of == KNOWLEDGE.as_of
    assert later.known_issues == KNOWLEDGE.known_issues and later.builds == KNOWLEDGE.builds


def test_load_knowledge_as_of_is_until():
    assert load_knowledge(as_of=date(2023, 1, 1)) == KNOWLEDGE.until(date(2023, 1, 1))


def test_until_does_not_know_of_later_installs():
    cutoff = date(2022, 10, 25)
    build = KNOWLEDGE.until(cutoff).newest_operational_build()
    assert build.ops_install <= cutoff
    assert build.cal_ver == "1.7.2"
