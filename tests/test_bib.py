"""Citations: entries for the versions used, safe merging with the author's .bib, real bibtex."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import bibtexparser
import pytest
from typer.testing import CliRunner

import reporter
from reporter.bib import BibError, citations_for, read_bib, write_in_place
from reporter.cli import app

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "data"
BIBS = ROOT.parent / "shared" / "fixtures" / "bibs"
needs_bibs = pytest.mark.skipif(not BIBS.is_dir(), reason=f"the shared fixtures folder {BIBS} is absent")


def run(*args):
    return CliRunner().invoke(app, [str(arg) for arg in args])


@pytest.fixture(scope="module")
def knowledge():
    return reporter.load_knowledge()


def entries_of(text: str) -> dict:
    library = bibtexparser.parse_string(text)
    assert not library.failed_blocks, library.failed_blocks
    return {entry.key: {f.key: f.value for f in entry.fields} for entry in library.entries}


def test_one_entry_per_version_with_its_doi(knowledge):
    citations = citations_for(["1.12.5", "1.14.0", "1.12.5"], knowledge)
    entries = entries_of(citations.bibtex())
    assert set(entries) == {"jwst_pipeline_1_12_5", "jwst_pipeline_1_14_0",
                            "astropy:2013", "astropy:2018", "astropy:2022"}
    assert entries["jwst_pipeline_1_12_5"]["doi"] == "10.5281/zenodo.10022973"
    assert entries["jwst_pipeline_1_12_5"]["version"] == "1.12.5"
    assert entries["jwst_pipeline_1_12_5"]["year"] == "2023"
    assert entries["jwst_pipeline_1_12_5"]["author"].startswith("Bushouse, Howard and")
    authors = re.split(r"\s+and\s+", entries["jwst_pipeline_1_12_5"]["author"])
    assert len(authors) == 36  # CITATION.cff's authors


def test_version_without_its_own_doi_gets_the_pipelines_doi_and_says_so(knowledge):
    entries = entries_of(citations_for(["1.17.1.dev1143+gb0660ee76.d20250508"], knowledge).bibtex())
    entry = entries["jwst_pipeline_1_17_1_dev1143_gb0660ee76_d20250508"]
    assert entry["doi"] == "10.5281/zenodo.7038885"
    assert "DOI is that of all versions" in entry["note"]


def test_astropy_2022_matches_astropys_own_bibtex(knowledge):
    import astropy

    entries = entries_of(citations_for([], knowledge).bibtex())
    ours = entries["astropy:2022"]
    theirs = entries_of(astropy.__bibtex__)["astropy:2022"]
    assert ours["doi"].lower() == theirs["doi"].lower()
    assert ours["volume"] == theirs["volume"] and ours["year"] == theirs["year"]


@needs_bibs
def test_the_authors_entries_are_reused_by_version_and_by_doi(knowledge):
    eureka, _ = read_bib(BIBS / "eureka__joss_paper.bib")
    citations = citations_for(["1.6.2", "1.12.5"], knowledge, eureka)
    assert citations.keys["jwst_pipeline_1_6_2"] == "jwst:2022"  # their 1.6.2 entry
    assert "jwst_pipeline_1_6_2" in citations.reused
    assert "@misc{jwst_pipeline_1_12_5," in citations.bibtex()
    assert "jwst:2022" not in citations.bibtex()
    aas, _ = read_bib(BIBS / "AASTeX60__sample63.bib")
    citations = citations_for(["1.12.5"], knowledge, aas)
    assert citations.keys["astropy:2013"] == "2013A&A...558A..33A"
    assert "astropy:2013" not in entries_of(citations.bibtex())


def test_a_key_of_theirs_for_another_work_is_never_overwritten(knowledge, tmp_path):
    path = tmp_path / "paper.bib"
    path.write_text("@misc{jwst_pipeline_1_12_5, title = {Something else}, doi = {10.1/x}}\n")
    library, _ = read_bib(path)
    citations = citations_for(["1.12.5"], knowledge, library)
    assert citations.keys["jwst_pipeline_1_12_5"] == "jwst_pipeline_1_12_5_2"
    assert "@misc{jwst_pipeline_1_12_5_2," in citations.bibtex()


@pytest.mark.parametrize("text, line", [
    ("@article{a, title={ok}}\n@misc{b, title = {unterminated\n@article{c, title={x}}\n", 2),
    ("@article{ok, title={a}}\n\n@misc{bad, title = \"unterminated}\n", 3),
    ("@article{ok, title={a}}\n% c\n@misc{bad title = {x}}\n", 3),
])
def test_unparsable_bib_gives_the_line_and_writes_nothing(tmp_path, text, line):
    path = tmp_path / "paper.bib"
    path.write_text(text)
    with pytest.raises(BibError, match=f"line {line}"):
        read_bib(path)
    output = tmp_path / "provenance.bib"
    result = run("bib", EXAMPLES, "--bib", path, "-o", output)
    assert result.exit_code == 2 and f"line {line}" in result.stderr
    assert not output.exists() and path.read_text() == text


def test_duplicate_keys_are_reported_and_block_in_place(tmp_path):
    path = tmp_path / "paper.bib"
    path.write_text("@misc{a, title={one}}\n@misc{a, title={two}}\n")
    result = run("bib", EXAMPLES, "--bib", path)
    assert result.exit_code == 0 and "more than once: a" in result.stderr
    result = run("bib", EXAMPLES, "--bib", path, "--in-place")
    assert result.exit_code == 2 and "fix them" in result.stderr
    assert not (tmp_path / "paper.bib.bak").exists()


@needs_bibs
def test_in_place_keeps_everything_and_adds_once(tmp_path):
    path = tmp_path / "paper.bib"
    shutil.copy(BIBS / "eureka__joss_paper.bib", path)
    original = path.read_text()
    before = bibtexparser.parse_string(original, parse_stack=[])
    result = run("bib", ROOT.parent / "shared" / "fixtures" / "headers", "--bib", path, "--in-place")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "paper.bib.bak").read_text() == original
    merged = path.read_text()
    assert merged.startswith(original.rstrip("\n"))  # every byte of theirs, in place
    after = bibtexparser.parse_string(merged, parse_stack=[])
    assert not after.failed_blocks
    kept = {e.key: [(f.key, f.value) for f in e.fields] for e in before.entries}
    for key, fields in kept.items():
        assert [(f.key, f.value) for f in after.entries_dict[key].fields] == fields
    assert len(after.comments) >= len(before.comments)
    assert len(after.strings) == len(before.strings) and len(after.preambles) == len(before.preambles)
    # parse -> write -> parse gives the same library
    rewritten = bibtexparser.parse_string(bibtexparser.write_string(after, unparse_stack=[]),
                                          parse_stack=[])
    assert [(e.key, [(f.key, f.value) for f in e.fields]) for e in rewritten.entries] == \
        [(e.key, [(f.key, f.value) for f in e.fields]) for e in after.entries]
    # A second run finds everything there and adds nothing.
    again = run("bib", ROOT.parent / "shared" / "fixtures" / "headers", "--bib", path, "--in-place")
    assert again.exit_code == 0 and path.read_text() == merged
    assert "added 0 entries" in again.stderr


def test_never_touches_the_authors_file_without_in_place(tmp_path):
    path = tmp_path / "paper.bib"
    path.write_text("@misc{mine, title={mine}}\n")
    result = run("bib", EXAMPLES, "--bib", path, "-o", tmp_path / "provenance.bib")
    assert result.exit_code == 0
    assert path.read_text() == "@misc{mine, title={mine}}\n"
    assert "jwst_pipeline_1_14_0" in (tmp_path / "provenance.bib").read_text()
    assert run("bib", EXAMPLES, "-o", tmp_path / "provenance.bib").exit_code == 2  # exists


def test_write_in_place_with_nothing_new_writes_nothing(tmp_path, knowledge):
    path = tmp_path / "paper.bib"
    path.write_text("")
    citations = citations_for([], knowledge)
    citations.new_entries.clear()
    assert write_in_place(path, "", citations) is None
    assert not (tmp_path / "paper.bib.bak").exists()


@needs_bibs
def test_render_cites_the_authors_keys(tmp_path):
    shutil.copy(BIBS / "AASTeX60__sample63.bib", tmp_path / "paper.bib")
    result = run("render", EXAMPLES, "--style", "aastex", "--part", "software",
                 "--bib", tmp_path / "paper.bib")
    assert result.exit_code == 0, result.output
    assert "2013A&A...558A..33A" in result.stdout and "jwst_pipeline_1_14_0" in result.stdout


# The whole chain, with the real tools -------------------------------------

def _tools_ready() -> bool:
    if not all(shutil.which(tool) for tool in ("pdflatex", "bibtex", "kpsewhich")):
        return False
    found = subprocess.run(["kpsewhich", "aastex631.cls", "aasjournal.bst"],
                           capture_output=True, text=True).stdout.split()
    return len(found) == 2


@pytest.mark.skipif(not _tools_ready(), reason="pdflatex, bibtex, aastex631.cls and "
                    "aasjournal.bst are needed (apt-get install texlive-publishers "
                    "texlive-latex-extra texlive-plain-generic texlive-fonts-recommended; "
                    ".ci/run does)")
def test_pdflatex_bibtex_pdflatex_leaves_no_undefined_citation(tmp_path):
    out = tmp_path / "provenance"
    result = run("report", EXAMPLES, "--doi", "10.17909/abcd-1234", "--out", out)
    assert result.exit_code == 0, result.output
    (tmp_path / "paper.tex").write_text(
        "\\documentclass{aastex631}\n\\begin{document}\n\\title{Test}\n"
        "\\input{provenance/availability}\n\\input{provenance/software}\n"
        "\\bibliography{provenance/provenance}\n\\bibliographystyle{aasjournal}\n"
        "\\end{document}\n")
    for command in (["pdflatex"], ["bibtex"], ["pdflatex"], ["pdflatex"]):
        name = "paper" if command[0] == "bibtex" else "paper.tex"
        step = subprocess.run([*command, *(["-interaction=nonstopmode"] if command[0] == "pdflatex" else []),
                               name], cwd=tmp_path, capture_output=True, text=True, errors="replace")
        assert step.returncode == 0, f"{command[0]} failed:\n{step.stdout[-3000:]}"
    log = (tmp_path / "paper.log").read_text(errors="replace")
    assert not re.search(r"Citation .* undefined", log), re.findall(r"Citation .* undefined", log)
    assert "There were undefined references" not in log
    blg = (tmp_path / "paper.blg").read_text(errors="replace")
    assert "error message" not in blg
    bbl = (tmp_path / "paper.bbl").read_text(errors="replace")
    for key in ("jwst_pipeline_1_12_5", "jwst_pipeline_1_14_0", "astropy:2013", "astropy:2022"):
        assert key in bbl


def test_citation_data_is_sourced_and_dated():
    import tomllib
    from datetime import date
    from importlib import resources

    data = tomllib.loads(resources.files("reporter.knowledge").joinpath("citations.toml")
                         .read_text("utf-8"))
    for section in [data["pipeline"], *data["astropy"]]:
        assert section["source"].strip()
        assert date.fromisoformat(section["checked"]) <= date.today()
    assert len({paper["key"] for paper in data["astropy"]}) == 3
    assert all(re.fullmatch(r"10\.\d{4,9}/\S+", p["doi"]) for p in data["astropy"])
