"""The QGIS style of a GeoPackage layer (the ``layer_styles`` table), and the findings
GeoPackage of a validation report opening coloured by severity."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from shapely.geometry import Point

from pcrs.errors import ParameterError
from pcrs.io.vector import categorized_style, write_geopackage
from pcrs.vector.report import Report
from pcrs.vector.rules import Finding

# the columns of the table QGIS (through GDAL) creates when it saves a style in a GeoPackage
QGIS_COLUMNS = [
    "id", "f_table_catalog", "f_table_schema", "f_table_name", "f_geometry_column",
    "styleName", "styleQML", "styleSLD", "useAsDefault", "description", "owner", "ui",
    "update_time",
]  # fmt: skip


@pytest.fixture
def findings_gpkg(tmp_path: Path) -> Path:
    report = Report(
        files=[{"path": "a.gml", "crs": "EPSG:2154", "features": {}}],
        findings=[
            Finding("PCRS-XML-002", file="a.gml", line=3, x=842000.0, y=6519000.0),
            Finding("PCRS-ATTR-003", file="a.gml", line=9, x=842010.0, y=6519010.0),
            Finding("PCRS-LINK-003", file="a.gml", line=1, x=842020.0, y=6519020.0),
        ],
    )
    return report.to_geopackage(tmp_path / "findings.gpkg")


def _style_rows(path: Path) -> list[dict]:
    con = sqlite3.connect(path)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute("SELECT * FROM layer_styles")]
    finally:
        con.close()


def test_findings_gpkg_has_a_default_qgis_style(findings_gpkg: Path) -> None:
    con = sqlite3.connect(findings_gpkg)
    columns = [r[1] for r in con.execute("PRAGMA table_info(layer_styles)")]
    contents = con.execute(
        "SELECT data_type FROM gpkg_contents WHERE table_name = 'layer_styles'"
    ).fetchone()
    con.close()
    assert columns == QGIS_COLUMNS
    assert contents == ("attributes",)
    (row,) = _style_rows(findings_gpkg)
    assert row["f_table_name"] == "findings"
    assert row["f_geometry_column"] == "geom"
    assert row["useAsDefault"] == 1
    assert row["update_time"]


def test_qml_is_a_categorized_renderer_on_severity(findings_gpkg: Path) -> None:
    (row,) = _style_rows(findings_gpkg)
    root = ET.fromstring(row["styleQML"])
    assert root.tag == "qgis"
    renderer = root.find("renderer-v2")
    assert renderer is not None
    assert renderer.get("type") == "categorizedSymbol"
    assert renderer.get("attr") == "severity"
    cats = {c.get("value"): c.get("symbol") for c in renderer.iter("category")}
    assert set(cats) == {"error", "warning", "info"}
    colours = {}
    for sym in renderer.iter("symbol"):
        opts = {o.get("name"): o.get("value") for o in sym.iter("Option") if o.get("name")}
        colours[sym.get("name")] = opts["color"]
    assert colours[cats["error"]] == "192,57,43,255"  # red
    assert colours[cats["warning"]] == "230,126,34,255"  # orange
    assert colours[cats["info"]] == "41,128,185,255"  # blue
    sld = ET.fromstring(row["styleSLD"])
    literals = {e.text for e in sld.iter("{http://www.opengis.net/ogc}Literal")}
    assert literals == {"error", "warning", "info"}


def test_french_labels_and_the_same_values(tmp_path: Path) -> None:
    report = Report(findings=[Finding("PCRS-XML-002", file="a.gml", line=3, x=1.0, y=2.0)])
    path = report.to_geopackage(tmp_path / "f.gpkg", lang="fr")
    (row,) = _style_rows(path)
    root = ET.fromstring(row["styleQML"])
    labels = {c.get("value"): c.get("label") for c in root.iter("category")}
    assert labels == {"error": "erreur", "warning": "avertissement", "info": "information"}


def test_append_and_replace_keep_one_default_per_layer(tmp_path: Path) -> None:
    path = tmp_path / "two.gpkg"
    style = categorized_style("kind", [("a", "A", "#ff0000")], layer="pts")
    write_geopackage(path, "pts", [Point(0, 0)], {"kind": ["a"]}, 2154, style=style)
    write_geopackage(path, "more", [Point(1, 1)], {"kind": ["a"]}, 2154, append=True, style=style)
    write_geopackage(
        path, "pts", [Point(2, 2)], {"kind": ["a"]}, 2154, append=True, overwrite=True, style=style
    )
    rows = _style_rows(path)
    assert sorted(r["f_table_name"] for r in rows) == ["more", "pts"]
    assert all(r["useAsDefault"] == 1 for r in rows)


def test_no_style_no_table(tmp_path: Path) -> None:
    path = write_geopackage(tmp_path / "plain.gpkg", "pts", [Point(0, 0)], None, 2154)
    con = sqlite3.connect(path)
    assert not con.execute("SELECT 1 FROM sqlite_master WHERE name = 'layer_styles'").fetchone()
    con.close()


def test_bad_colour_and_geometry_are_refused() -> None:
    with pytest.raises(ParameterError, match="#rrggbb"):
        categorized_style("k", [("a", "a", "red")], layer="x")
    with pytest.raises(ParameterError, match="not one of"):
        categorized_style("k", [("a", "a", "#ff0000")], layer="x", geometry="raster")


def test_line_and_polygon_styles_parse() -> None:
    for geometry in ("line", "polygon"):
        style = categorized_style("k", [("a", "a&b", "#00ff00")], layer="x", geometry=geometry)
        ET.fromstring(style.qml)
        ET.fromstring(style.sld)


def test_gdal_still_opens_the_styled_file(findings_gpkg: Path) -> None:
    """GDAL lists the findings layer (and the style table) and reads the three points."""
    exe = shutil.which("ogrinfo")
    if exe:
        out = subprocess.run(
            [exe, "-ro", "-al", "-so", str(findings_gpkg), "findings"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "Feature Count: 3" in out
        return
    pyogrio = pytest.importorskip("pyogrio", reason="no GDAL here: neither ogrinfo nor pyogrio")
    layers = {name for name, _kind in pyogrio.list_layers(findings_gpkg)}
    assert {"findings", "layer_styles"} <= layers
    info = pyogrio.read_info(findings_gpkg, layer="findings")
    assert info["features"] == 3
    severities = pyogrio.raw.read(findings_gpkg, layer="findings", columns=["severity"])[3][0]
    assert sorted(severities) == ["error", "info", "warning"]
