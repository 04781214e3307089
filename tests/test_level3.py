"""Inputs of combined products from their HDRTAB: read without touching the data."""

from __future__ import annotations

import gzip
import os
import re

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from typer.testing import CliRunner

import reporter
import reporter.headers
import reporter.level3 as level3
from reporter.cli import app

INPUTS = Table({
    "FILENAME": ["jw01345001001_02101_00001_nrca1_cal.fits", "jw01345001001_02101_00002_nrca1_cal.fits",
                 "jw01345001001_02101_00003_nrca1_cal.fits"],
    "CAL_VER": ["1.14.0", "1.14.0", "1.12.5"],
    "CRDS_CTX": ["jwst_1241.pmap", "jwst_1225.pmap", "jwst_1183.pmap"],
    "CRDS_VER": ["11.17.19", "11.17.19", "11.17.14"],
    "EXP_TYPE": ["NRC_IMAGE"] * 3,
    "R_FLAT": ["crds://jwst_nircam_flat_0001.fits", "crds://jwst_nircam_flat_0001.fits",
               "crds://jwst_nircam_flat_0000.fits"],
    "S_RESAMP": ["COMPLETE"] * 3,
    "NINTS": [1, 1, 1],
})


def product(path, *, data_mb=20, hdrtab=True, compress=False):
    primary = fits.PrimaryHDU()
    primary.header["CAL_VER"] = "1.14.0"
    primary.header["CRDS_CTX"] = "jwst_1241.pmap"  # the first input's, as resample keeps it
    primary.header["INSTRUME"] = "NIRCAM"
    primary.header["EXP_TYPE"] = "NRC_IMAGE"
    side = int((data_mb * 1024 * 1024 / 4) ** 0.5)
    hdus = [primary, fits.ImageHDU(np.zeros((side, side), dtype="float32"), name="SCI"),
            fits.ImageHDU(np.zeros((8, 8), dtype="float32"), name="ERR")]
    if hdrtab:
        hdus.append(fits.BinTableHDU(INPUTS, name="HDRTAB"))
    path.parent.mkdir(parents=True, exist_ok=True)
    fits.HDUList(hdus).writeto(path)
    if compress:
        path.with_name(path.name + ".gz").write_bytes(gzip.compress(path.read_bytes()))
        path.unlink()
        return path.with_name(path.name + ".gz")
    return path


@pytest.fixture
def os_reads(monkeypatch):
    total = {"bytes": 0}
    original = os.read

    def counting(descriptor, size):
        data = original(descriptor, size)
        total["bytes"] += len(data)
        return data

    monkeypatch.setattr(level3.os, "read", counting)
    return total


def test_hdrtab_is_read_without_reading_the_data(tmp_path, os_reads):
    path = product(tmp_path / "jw01345-o001_t001_nircam_clear-f200w_i2d.fits", data_mb=20)
    assert path.stat().st_size > 20 * 1024 * 1024
    table = level3.read_hdrtab(path)
    assert [row["CRDS_CTX"] for row in table.rows] == list(INPUTS["CRDS_CTX"])
    assert table.rows[0]["NINTS"] == 1 and table.rows[2]["CAL_VER"] == "1.12.5"
    assert os_reads["bytes"] == table.bytes_read < 64 * 1024


def test_gzip_product_is_stream_skipped(tmp_path):
    path = product(tmp_path / "x_i2d.fits", data_mb=2, compress=True)
    table = level3.read_hdrtab(path)
    assert [row["FILENAME"] for row in table.rows] == list(INPUTS["FILENAME"])


def test_product_without_hdrtab(tmp_path):
    assert level3.read_hdrtab(product(tmp_path / "x_i2d.fits", data_mb=1, hdrtab=False)) is None


def test_scan_links_inputs_to_their_product(tmp_path):
    mosaic = product(tmp_path / "data" / "jw01345-o001_t001_nircam_clear-f200w_i2d.fits", data_mb=4)
    inventory = reporter.scan([str(tmp_path / "data")], jobs=1, inputs=True)
    assert len(inventory) == 1 and len(inventory.inputs) == 3
    children = inventory.inputs_of(str(mosaic))
    assert [c.crds_ctx for c in children] == ["jwst_1241.pmap", "jwst_1225.pmap", "jwst_1183.pmap"]
    first = children[0]
    assert first.parent == str(mosaic) and first.suffix == "cal"
    assert (first.instrument, first.mode) == ("NIRCam", "imaging")
    assert first.reference_files["R_FLAT"] == "crds://jwst_nircam_flat_0001.fits"
    assert first.step_status["S_RESAMP"] == "COMPLETE" and "NINTS" not in first.keywords
    meta = inventory.meta["level3_inputs"]
    assert meta["products_with_inputs"] == 1 and meta["inputs"] == 3 and meta["bytes_read"] < 64 * 1024
    assert reporter.scan([str(tmp_path / "data")], jobs=1).inputs == []  # only when asked


def test_only_combined_products_are_walked(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(level3, "read_hdrtab", lambda path: calls.append(path))
    product(tmp_path / "d" / "jw01345001001_02101_00001_nrca1_cal.fits", data_mb=1)
    product(tmp_path / "d" / "jw01345-o001_t001_nircam_clear-f200w_i2d.fits", data_mb=1)
    reporter.scan([str(tmp_path / "d")], jobs=1, inputs=True)
    assert [os.path.basename(p) for p in calls] == ["jw01345-o001_t001_nircam_clear-f200w_i2d.fits"]


def test_a_truncated_product_is_reported_not_fatal(tmp_path):
    path = product(tmp_path / "d" / "jw01345-o001_t001_nircam_clear-f200w_i2d.fits", data_mb=2)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) - 2880 - 100])  # cut inside the HDRTAB's data
    inventory = reporter.scan([str(tmp_path / "d")], jobs=1, inputs=True)
    assert len(inventory) == 1 and inventory.records[0].ok and inventory.inputs == []
    assert str(path) in inventory.meta["level3_inputs"]["problems"]


@pytest.mark.parametrize("format", ["json", "ecsv", "csv"])
def test_inputs_survive_saving(tmp_path, format):
    product(tmp_path / "d" / "jw01345-o001_t001_nircam_clear-f200w_i2d.fits", data_mb=1)
    inventory = reporter.scan([str(tmp_path / "d")], jobs=1, inputs=True)
    path = tmp_path / f"inventory.{format}"
    inventory.write(path)
    again = reporter.Inventory.read(path)
    assert len(again) == 1 and len(again.inputs) == 3
    assert [c.crds_ctx for c in again.inputs] == [c.crds_ctx for c in inventory.inputs]
    if format != "csv":
        assert again == inventory


def test_scan_inputs_from_the_command_line(tmp_path):
    product(tmp_path / "d" / "jw01345-o001_t001_nircam_clear-f200w_i2d.fits", data_mb=1)
    result = CliRunner().invoke(app, ["scan", str(tmp_path / "d"), "--inputs", "--no-cache"])
    assert result.exit_code == 0, result.output
    assert "1 product with an HDRTAB, 3 inputs" in result.stdout
    assert "1 combines inputs of several CRDS contexts" in result.stdout


def test_a_file_cut_inside_skipped_data_is_reported(tmp_path):
    path = product(tmp_path / "x_i2d.fits", data_mb=2)
    path.write_bytes(path.read_bytes()[:1024 * 1024])  # cut inside the SCI data
    with pytest.raises(reporter.headers.HeaderError, match="truncated"):
        level3.read_hdrtab(path)


def codes_for(inventory):
    return {f.code: f for f in reporter.check(inventory) if f.code.startswith("JP8")}


def test_check_finds_mixed_inputs_and_a_misleading_product_context(tmp_path):
    mosaic = product(tmp_path / "d" / "jw01345-o001_t001_nircam_clear-f200w_i2d.fits", data_mb=1)
    found = codes_for(reporter.scan([str(tmp_path / "d")], jobs=1, inputs=True))
    assert set(found) == {"JP801", "JP802"}
    assert found["JP802"].files == (str(mosaic),)
    assert "states CRDS_CTX jwst_1241.pmap" in found["JP802"].message
    assert "jwst_1183.pmap, jwst_1225.pmap" in found["JP802"].message
    # Without --inputs nothing is known of the inputs, so nothing is said.
    assert codes_for(reporter.scan([str(tmp_path / "d")], jobs=1)) == {}


def test_inputs_below_the_minimum_context_under_a_newer_product(tmp_path):
    global INPUTS
    saved = INPUTS
    INPUTS = Table({"FILENAME": ["jw01345002001_02101_00001_mirimage_cal.fits"] * 2,
                    "CAL_VER": ["1.5.2", "1.14.0"], "CRDS_CTX": ["jwst_0874.pmap", "jwst_1241.pmap"],
                    "EXP_TYPE": ["MIR_IMAGE"] * 2, "READPATT": ["FASTR1"] * 2,
                    "SUBARRAY": ["FULL"] * 2})
    try:
        mosaic = product(tmp_path / "d" / "jw01345-o002_t001_miri_f770w_i2d.fits", data_mb=1)
    finally:
        INPUTS = saved
    found = codes_for(reporter.scan([str(tmp_path / "d")], jobs=1, inputs=True))
    assert "JP803" in found and found["JP803"].files == (str(mosaic),)
    assert "jwst_0874.pmap" in found["JP803"].message and "jwst_0913.pmap" in found["JP803"].message


def test_associations_are_read_and_linked_to_their_products(tmp_path):
    import json

    data = tmp_path / "d"
    mosaic = product(data / "jw02736-o001_t001_nircam_clear-f200w_i2d.fits", data_mb=1)
    with fits.open(mosaic, mode="update") as hdul:
        hdul[0].header["ASNTABLE"] = "jw02736-o001_20231212t083311_image3_00001_asn.json"
    asn = {"asn_id": "o001", "asn_type": "image3", "asn_rule": "Asn_Lv3Image",
           "asn_pool": "jw02736_20231212t083311_pool.csv", "program": "02736",
           "products": [{"name": "jw02736-o001_t001_nircam_clear-f200w",
                         "members": [{"expname": f"jw02736001001_02101_0000{n}_nrca1_cal.fits",
                                      "exptype": "science"} for n in (1, 2, 3)]}]}
    (data / "jw02736-o001_20231212t083311_image3_00001_asn.json").write_text(json.dumps(asn))
    (data / "broken_asn.json").write_text("{not json")
    inventory = reporter.scan([str(data)], jobs=1, inputs=True)
    assert len(inventory) == 1  # associations are not FITS records
    found = {a["path"].rsplit("/", 1)[-1]: a for a in inventory.meta["associations"]}
    good = found["jw02736-o001_20231212t083311_image3_00001_asn.json"]
    assert good["asn_pool"] == "jw02736_20231212t083311_pool.csv" and good["asn_type"] == "image3"
    assert [m["expname"][-18:] for m in good["products"][0]["members"]][0] == "00001_nrca1_cal.fits"[-18:]
    assert good["linked_products"] == [str(mosaic)]
    assert "error" in found["broken_asn.json"]
    text = CliRunner().invoke(app, ["scan", str(data), "--inputs", "--no-cache"]).stdout
    assert "Associations: 2 file(s), 3 members; 1 named by a product's ASNTABLE; 1 unreadable." in text
    saved = tmp_path / "inventory.json"
    inventory.write(saved)
    again = {a["path"]: a for a in reporter.Inventory.read(saved).meta["associations"]}
    assert again[good["path"]]["linked_products"] == [str(mosaic)]


def test_catalog_versions_come_from_the_ecsv_header(tmp_path, monkeypatch):
    data = tmp_path / "d"
    data.mkdir()
    catalog = Table({"id": np.arange(100000), "flux": np.ones(100000)})
    catalog.meta["version"] = {"jwst": "1.14.0", "astropy": "6.0.1", "photutils": "1.11.0"}
    catalog.write(data / "jw01345-o001_t001_nircam_clear-f200w_cat.ecsv", format="ascii.ecsv")
    other = Table({"x": [1]})
    other.meta["versions"] = {"jwst": "1.12.5"}
    other.write(data / "jw02736-o001_t001_nircam_clear-f200w_cat.ecsv", format="ascii.ecsv")
    (data / "notes_cat.ecsv").write_text("id,flux\\n1,2\\n")
    product(data / "jw01345-o001_t001_nircam_clear-f200w_i2d.fits", data_mb=1)
    reporter.scan([str(data)], jobs=1, inputs=True).write(data / "inventory.ecsv")  # ours: ignored

    import builtins
    lines_read = {"count": 0}
    real_open = builtins.open

    def counting_open(path, *args, **kwargs):
        handle = real_open(path, *args, **kwargs)
        if str(path).endswith("f200w_cat.ecsv") and "jw01345" in str(path):
            class Counting:
                def __enter__(self):
                    return self

                def __exit__(self, *exc):
                    handle.close()

                def __iter__(self):
                    for line in handle:
                        lines_read["count"] += 1
                        yield line
            return Counting()
        return handle

    monkeypatch.setattr(builtins, "open", counting_open)
    inventory = reporter.scan([str(data)], jobs=1, inputs=True)
    monkeypatch.setattr(builtins, "open", real_open)
    found = {c["path"].rsplit("/", 1)[-1]: c for c in inventory.meta["catalogs"]}
    assert found["jw01345-o001_t001_nircam_clear-f200w_cat.ecsv"]["jwst"] == "1.14.0"
    assert found["jw02736-o001_t001_nircam_clear-f200w_cat.ecsv"]["jwst"] == "1.12.5"
    assert "error" in found["notes_cat.ecsv"] and "inventory.ecsv" not in found
    assert lines_read["count"] < 100  # the header, not 100,000 rows


def test_catalogs_in_the_summary(tmp_path):
    data = tmp_path / "d"
    data.mkdir()
    table = Table({"id": [1]})
    table.meta["version"] = {"jwst": "1.14.0"}
    table.write(data / "jw01345-o001_t001_nircam_clear-f200w_cat.ecsv", format="ascii.ecsv")
    product(data / "jw01345-o001_t001_nircam_clear-f200w_i2d.fits", data_mb=1)
    text = CliRunner().invoke(app, ["scan", str(data), "--inputs", "--no-cache"]).stdout
    assert "Catalogs (ECSV): 1; jwst versions in their metadata: 1.14.0 (1)." in text


def test_render_says_when_a_product_mixes_input_contexts(tmp_path):
    from reporter.paper import paper_context
    from reporter.render import render

    product(tmp_path / "d" / "jw01345-o001_t001_nircam_clear-f200w_i2d.fits", data_mb=1)
    inventory = reporter.scan([str(tmp_path / "d")], jobs=1, inputs=True)
    knowledge = reporter.load_knowledge()
    context = paper_context(inventory, reporter.check(inventory, knowledge), knowledge)
    latex = render(context, style="aastex", parts=["availability"]).replace("\\allowbreak{}", "")
    assert ("The three inputs of the level-3 product "
            "\\texttt{jw01345-o001\\_t001\\_nircam\\_clear-f200w\\_i2d.fits} were calibrated with "
            "CRDS contexts \\texttt{jwst\\_1183.pmap}, \\texttt{jwst\\_1225.pmap}, and "
            "\\texttt{jwst\\_1241.pmap}, as its \\texttt{HDRTAB} extension records.") in latex
    markdown = render(context, to="markdown", parts=["availability"])
    assert ("The three inputs of the level-3 product `jw01345-o001_t001_nircam_clear-f200w_i2d.fits` "
            "were calibrated with CRDS contexts `jwst_1183.pmap`, `jwst_1225.pmap`, and "
            "`jwst_1241.pmap`") in markdown
    plain = paper_context(reporter.scan([str(tmp_path / "d")], jobs=1), [], knowledge)
    assert "level-3 product" not in render(plain, style="aastex", parts=["availability"])


def test_statement_and_tables_count_inputs(tmp_path):
    from reporter.paper import paper_context
    from reporter.render import render

    product(tmp_path / "d" / "jw01345-o001_t001_nircam_clear-f200w_i2d.fits", data_mb=1)
    inventory = reporter.scan([str(tmp_path / "d")], jobs=1, inputs=True)
    knowledge = reporter.load_knowledge()
    context = paper_context(inventory, [], knowledge)
    assert "(one file, combining three inputs)" in render(context, style="mnras",
                                                          parts=["availability"])
    # The summary gets an Inputs column (and a note saying what it counts).
    summary = render(context, style="aastex", parts=["summary"])
    assert "\\colhead{Files} & \\colhead{Inputs}" in summary and "& 1 & 3 &" in summary
    assert "Inputs: the exposures" in summary
    assert re.search(r"\| +1 \| +3 \|", render(context, to="markdown", parts=["summary"]))
