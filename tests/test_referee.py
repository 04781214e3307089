"""Referee-response checks: audit a manuscript, lock and verify a dataset, diff two versions."""

from __future__ import annotations

import json
import shutil

import pytest
from fitsfiles import fits_bytes, write
from typer.testing import CliRunner

import reporter
from reporter.audit import audit
from reporter.bib import read_bib
from reporter.cli import app
from reporter.diff import compare, format_comparison
from reporter.lock import read_lock, write_lock


def run(*args):
    return CliRunner().invoke(app, [str(arg) for arg in args])


def exposure(number: int, **overrides) -> bytes:
    keywords = {"OBS_ID": f"V01345004001P00000000031{number:02d}", "DATE-OBS": "2023-01-05",
                "EXP_TYPE": "NRS_MSASPEC", "INSTRUME": "NIRSPEC", "DETECTOR": "NRS1",
                "FILTER": "F290LP", "GRATING": "G395M", "CAL_VER": "1.12.5",
                "CRDS_CTX": "jwst_1183.pmap", "CRDS_VER": "11.17.14",
                "R_PTHLOS": "crds://jwst_nirspec_pathloss_0007.fits"}
    keywords.update(overrides)
    return fits_bytes(**keywords)


@pytest.fixture
def dataset(tmp_path):
    """Two MOS files at 1.12.5/1183, one at 1.14.0/1241; a NIRISS WFSS file with a caveat."""
    data = tmp_path / "data"
    write(data / "jw01345004001_03101_00001_nrs1_cal.fits", exposure(1))
    write(data / "jw01345004001_03101_00002_nrs1_cal.fits", exposure(2))
    write(data / "jw01345004001_03101_00003_nrs1_cal.fits",
          exposure(3, CAL_VER="1.14.0", CRDS_CTX="jwst_1241.pmap", CRDS_VER="11.17.19"))
    write(data / "jw02736003001_02103_00001_nis_cal.fits",
          fits_bytes(INSTRUME="NIRISS", EXP_TYPE="NIS_WFSS", DETECTOR="NIS", FILTER="GR150C",
                     CAL_VER="1.12.5", CRDS_CTX="jwst_1183.pmap", PROGRAM="02736"))
    return data


def audited(tmp_path, dataset, text, *, files=None, bib=None):
    manuscript = tmp_path / "ms.tex"
    manuscript.write_text(text)
    for name, content in (files or {}).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(content)
    library = None
    if bib is not None:
        (tmp_path / "ms.bib").write_text(bib)
        library = read_bib(tmp_path / "ms.bib")[0]
    inventory = reporter.scan([str(dataset)], jobs=1)
    knowledge = reporter.load_knowledge()
    return audit(manuscript, inventory, knowledge, reporter.check(inventory, knowledge),
                 bib=library)


def codes(results):
    return sorted(r.code for r in results)


AASTEX = r"""\documentclass{aastex631}
\begin{document}
We reduced the data with the JWST Science Calibration Pipeline v1.12.5 and version 1183 of
the CRDS; the third exposure used \texttt{jwst\_1241.pmap}.
% An old draft said: jwst 1.11.0 with context 1100.
The wavelength offset of the NIRISS grisms was corrected by hand.
\dataset[doi:10.17909/abcd-1234]{https://doi.org/10.17909/abcd-1234}
\software{jwst \citep{jwst_pipeline_1_14_0}}
\end{document}
"""

MNRAS = r"""\documentclass[usenatbib]{mnras}
\begin{document}
The spectra were processed with jwst 1.12.5 and pmap context 1183, and one with
CAL\_VER = 1.14.0 and context 1241. NIRISS WFSS wavelength offset: see text.
\section*{Data Availability}
The data are at \url{https://doi.org/10.17909/abcd-1234}.
\end{document}
"""

AA = r"""\documentclass{aa}
\begin{document}
\input{sections/data}
\begin{acknowledgements}
Data at \href{https://doi.org/10.17909/abcd-1234}{MAST}.
\end{acknowledgements}
\end{document}
"""

AA_DATA = r"""We used pipeline version 11.17.14 and context 1100 (the wavelength offset noted).
The JWST pipeline version 1.12.5 and version 1.14.0 with jwst_1183.pmap and jwst_1241.pmap.
"""


def test_aastex_phrasings_match_the_data(tmp_path, dataset):
    results = audited(tmp_path, dataset, AASTEX)
    # 1.12.5 (v...), 1.14.0 (its citation key), 1183 (version 1183 of the CRDS) and
    # 1241 (jwst_1241.pmap) are all stated; the commented-out line does not count.
    assert codes(results) == []


def test_mnras_phrasings_match_the_data(tmp_path, dataset):
    assert codes(audited(tmp_path, dataset, MNRAS)) == []


def test_aa_manuscript_with_a_crds_version_as_pipeline_version(tmp_path, dataset):
    results = audited(tmp_path, dataset, AA, files={"sections/data.tex": AA_DATA})
    by_code = {r.code: r for r in results}
    assert by_code["A103"].where.endswith("sections/data.tex:1")  # followed \input
    assert "11.17.14" in by_code["A103"].text_says and "1.12.5" in by_code["A103"].data_say
    assert by_code["A201"].where.endswith("sections/data.tex:1")
    assert "jwst_1100.pmap" in by_code["A201"].text_says or "1100" in by_code["A201"].text_says
    assert "A101" not in by_code and "A102" not in by_code


def test_versions_and_contexts_in_the_data_but_not_stated(tmp_path, dataset):
    results = audited(tmp_path, dataset, r"We used jwst 1.12.5 and jwst_1183.pmap. "
                                         r"doi:10.17909/abcd-1234. Wavelength offset.")
    stated = [r for r in results if r.code != "A501"]
    assert codes(stated) == ["A102", "A202"]
    assert all("1.14.0" in r.data_say or "jwst_1241.pmap" in r.data_say for r in stated)
    assert all("JWST Science Calibration Pipeline" in r.suggestion for r in stated)
    # The MOS group mixes versions and contexts the text does not all state.
    assert {r.data_say.split(":")[0] for r in results if r.code == "A501"} == {"JP401"}


def test_version_stated_but_absent_from_the_data(tmp_path, dataset):
    results = audited(tmp_path, dataset, "The JWST pipeline version 1.9.6 with jwst_1183.pmap, "
                      "jwst_1241.pmap, v1.12.5, v1.14.0. doi:10.17909/abcd-1234 wavelength offset")
    [a101] = [r for r in results if r.code == "A101"]
    assert "1.9.6" in a101.text_says and a101.where.endswith("ms.tex:1")


def test_no_mast_doi_and_a_malformed_one(tmp_path, dataset):
    text = "jwst 1.12.5, jwst 1.14.0, jwst_1183.pmap, jwst_1241.pmap, wavelength offset."
    assert "A301" in codes(audited(tmp_path, dataset, text))
    # (% would start a LaTeX comment; $ cannot be in a DOI.)
    results = audited(tmp_path, dataset, text + " Data: doi:10.17909/ab$cd.")
    assert "A302" in codes(results) and "A301" not in codes(results)


def test_bib_entries_without_a_version_or_with_another(tmp_path, dataset):
    bib = """@misc{jwst:2022, title = {{JWST Calibration Pipeline 1.6.2}}, version = {1.6.2},
  doi = {10.5281/zenodo.6984366}}
@misc{jwstpipe, title = {{JWST Calibration Pipeline}}, doi = {10.5281/zenodo.6984365},
  url = {https://github.com/spacetelescope/jwst}}
@misc{jwst1125, title = {{JWST Calibration Pipeline}}, doi = {10.5281/zenodo.10022973}}
"""
    text = (r"Reduced with \citet{jwst:2022}, \citep[see][]{jwstpipe} and \cite{jwst1125}; "
            r"jwst 1.14.0, jwst_1183.pmap, jwst_1241.pmap, doi:10.17909/abcd-1234, wavelength offset.")
    results = audited(tmp_path, dataset, text, bib=bib)
    assert codes(results) == ["A401", "A402"]
    assert "1.6.2" in next(r for r in results if r.code == "A402").text_says


def test_caveats_the_text_never_mentions(tmp_path, dataset):
    text = "jwst 1.12.5, jwst 1.14.0, jwst_1183.pmap, jwst_1241.pmap, doi:10.17909/abcd-1234."
    results = audited(tmp_path, dataset, text)
    [caveat] = [r for r in results if r.code == "A501"]
    assert "JP201" in caveat.data_say and "wavelength offset" in caveat.title.lower()


def test_audit_command_formats_and_exit_codes(tmp_path, dataset):
    (tmp_path / "ms.tex").write_text(AA)
    (tmp_path / "sections").mkdir()
    (tmp_path / "sections" / "data.tex").write_text(AA_DATA)
    result = run("audit", tmp_path / "ms.tex", dataset)
    assert result.exit_code == 1 and "A103" in result.stdout and "suggested:" in result.stdout
    assert run("audit", tmp_path / "ms.tex", dataset, "--fail-on", "never").exit_code == 0
    markdown = run("audit", tmp_path / "ms.tex", dataset, "--format", "markdown").stdout
    assert markdown.startswith("## Provenance checklist") and "- [ ] **" in markdown
    document = json.loads(run("audit", tmp_path / "ms.tex", dataset, "--format", "json").stdout)
    assert {f["code"] for f in document["findings"]} >= {"A103", "A201"}
    clean = tmp_path / "clean.tex"
    clean.write_text(MNRAS)
    assert run("audit", clean, dataset).exit_code == 0


# Lock and verify ----------------------------------------------------------

def test_lock_is_sorted_diff_friendly_and_fingerprinted(tmp_path, dataset):
    lock = tmp_path / "provenance.lock"
    result = run("scan", dataset, "--lock", lock)
    assert result.exit_code == 0 and "fingerprint sha256:" in result.stderr
    lines = lock.read_text().splitlines()
    assert lines[0] == "# jwst-provenance lock 1" and lines[2] == "# files 4"
    records = [json.loads(line) for line in lines[3:]]
    assert [r["path"] for r in records] == sorted(r["path"] for r in records)
    assert {"size", "CAL_VER", "CRDS_CTX", "R_FLAT", "R_PTHLOS"} <= set(records[0])
    inventory, value = read_lock(lock)
    assert len(inventory) == 4 and lines[1] == f"# fingerprint {value}"
    # The same data give the same fingerprint, whatever order they are scanned in.
    again = write_lock(reporter.scan([str(dataset)], jobs=1), tmp_path / "again.lock")
    assert again == value


def test_verify_says_what_differs(tmp_path, dataset):
    lock = tmp_path / "provenance.lock"
    run("scan", dataset, "--lock", lock)
    assert run("verify", lock, dataset).exit_code == 0
    # Reprocessed in place, one file deleted, one reference file changed, one added.
    write(dataset / "jw01345004001_03101_00001_nrs1_cal.fits",
          exposure(1, CAL_VER="1.19.2", CRDS_CTX="jwst_1408.pmap"))
    (dataset / "jw01345004001_03101_00002_nrs1_cal.fits").unlink()
    write(dataset / "jw01345004001_03101_00003_nrs1_cal.fits",
          exposure(3, CAL_VER="1.14.0", CRDS_CTX="jwst_1241.pmap", CRDS_VER="11.17.19",
                   R_FLAT="crds://jwst_nirspec_fflat_0999.fits"))
    write(dataset / "jw01345004001_03101_00004_nrs1_cal.fits", exposure(4))
    result = run("verify", lock, dataset)
    assert result.exit_code == 1
    out = result.stdout
    assert "do not match" in out
    assert "CAL_VER: 1.12.5 -> 1.19.2" in out and "CRDS_CTX: jwst_1183.pmap -> jwst_1408.pmap" in out
    assert "R_FLAT: crds://jwst_nircam_flat_0585.fits -> crds://jwst_nirspec_fflat_0999.fits" in out
    assert "removed: " in out and "00002_nrs1_cal.fits" in out
    assert "added: " in out and "00004_nrs1_cal.fits" in out


def test_verify_notices_changed_bytes_and_refuses_an_edited_lock(tmp_path, dataset):
    lock = tmp_path / "provenance.lock"
    run("scan", dataset, "--lock", lock)
    write(dataset / "jw01345004001_03101_00001_nrs1_cal.fits", exposure(1, DATASUM="12345"))
    result = run("verify", lock, dataset)
    assert result.exit_code == 1 and "DATASUM: None -> 12345" in result.stdout
    lock.write_text(lock.read_text().replace("1.12.5", "1.12.6"))
    edited = run("verify", lock, dataset)
    assert edited.exit_code == 2 and "edited" in edited.stderr


# diff ---------------------------------------------------------------------

@pytest.fixture
def versions(tmp_path, dataset):
    """v1 = the dataset; v2 = reprocessed MOS files, one renamed, one deleted, a new flat."""
    v1 = dataset
    v2 = tmp_path / "v2"
    shutil.copytree(v1, v2)
    for number in (1, 2):
        write(v2 / f"jw01345004001_03101_0000{number}_nrs1_cal.fits",
              exposure(number, CAL_VER="1.14.0", CRDS_CTX="jwst_1225.pmap",
                       R_FLAT="crds://jwst_nirspec_fflat_0201.fits",
                       R_PTHLOS="crds://jwst_nirspec_pathloss_0011.fits"))
    (v2 / "jw01345004001_03101_00002_nrs1_cal.fits").rename(v2 / "reprocessed_mos_2_cal.fits")
    (v2 / "jw02736003001_02103_00001_nis_cal.fits").unlink()
    return v1, v2


def test_diff_folders_reports_reprocessing_renames_and_removals(versions):
    v1, v2 = versions
    comparison = compare(reporter.scan([str(v1)], jobs=1), reporter.scan([str(v2)], jobs=1))
    assert len(comparison.changed) == 2 and comparison.unchanged == 1
    [renamed] = comparison.renamed()
    assert renamed.matched_by == "identity" and renamed.new_path.endswith("reprocessed_mos_2_cal.fits")
    assert comparison.removed == [str(v1 / "jw02736003001_02103_00001_nis_cal.fits")]
    paragraph = format_comparison(comparison, "latex")
    assert paragraph.startswith("2 NIRSpec MOS files were reprocessed from jwst 1.12.5 / "
                                "jwst\\_1183.pmap to 1.14.0 / jwst\\_1225.pmap; R\\_FLAT and "
                                "R\\_PTHLOS changed.")
    assert "1 file was removed; 1 file was renamed." in paragraph


def test_diff_command_on_inventories_locks_and_folders(tmp_path, versions):
    v1, v2 = versions
    run("scan", v1, "-o", tmp_path / "old.ecsv")
    run("scan", v2, "--lock", tmp_path / "new.lock")
    for old, new in ((tmp_path / "old.ecsv", tmp_path / "new.lock"), (v1, v2)):
        result = run("diff", old, new, "--format", "markdown")
        assert result.exit_code == 1, result.output
        assert "2 NIRSpec MOS files were reprocessed" in result.stdout
        assert "(was `" in result.stdout  # the renamed file
    document = json.loads(run("diff", v1, v2, "--format", "json").stdout)
    assert document["same"] is False and len(document["removed"]) == 1
    same = run("diff", v1, v1)
    assert same.exit_code == 0 and "No file changed" in same.stdout


def test_reference_file_change_without_reprocessing(tmp_path, dataset):
    v2 = tmp_path / "v2"
    shutil.copytree(dataset, v2)
    write(v2 / "jw01345004001_03101_00003_nrs1_cal.fits",
          exposure(3, CAL_VER="1.14.0", CRDS_CTX="jwst_1241.pmap", CRDS_VER="11.17.19",
                   R_DARK="/home/me/my_dark.fits"))
    text = run("diff", dataset, v2).stdout
    assert "1 NIRSpec MOS file kept its pipeline version and context; R_DARK changed." in text


@pytest.mark.parametrize("style", ["aastex", "mnras", "aa", "generic"])
def test_the_parts_we_write_pass_our_own_audit(style, tmp_path, dataset):
    """A paper that \\inputs the generated parts states everything its data need:
    versions, contexts (whole, never broken by a break hint), the MAST DOI, citations."""
    from reporter.report import write_report

    inventory = reporter.scan([str(dataset)], jobs=1)
    knowledge = reporter.load_knowledge()
    write_report(inventory, tmp_path / "parts", knowledge, style=style,
                 dois=["10.17909/abcd-1234"])
    text = ("\\documentclass{article}\n\\begin{document}\n\\input{parts/availability}\n"
            "\\input{parts/caveats}\n\\input{parts/software}\n\\end{document}\n")
    bib = (tmp_path / "parts" / "provenance.bib").read_text()
    findings = audited(tmp_path, dataset, text, bib=bib)
    assert [(f.code, f.text_says) for f in findings] == []


def test_contexts_named_for_comparison_are_not_claims(tmp_path, dataset):
    text = ("The data were processed with jwst 1.12.5 and 1.14.0 and CRDS contexts "
            "jwst_1183.pmap and jwst_1241.pmap. The offset is fixed in CRDS context "
            "jwst_1228.pmap; files older than jwst_1250.pmap carry it. We also used "
            "CRDS context jwst_1300.pmap.\n")
    stated = [f.text_says for f in audited(tmp_path, dataset, text) if f.code == "A201"]
    assert stated == ["jwst_1300.pmap"]
