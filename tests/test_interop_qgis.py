"""QGIS projects: pcrs process writes pcrs.qgs beside its VRTs; any GeoPackage of pcrs gets a
project opening its layers with their styles. The XML is checked here; QGIS itself opens the
project only where its Python package (qgis) is importable."""

from __future__ import annotations

import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
import shapely

from pcrs import synth
from pcrs.errors import OutputExistsError, ParameterError
from pcrs.io import las
from pcrs.io.qgis import (
    geopackage_project,
    hillshade_layer,
    pseudocolor_layer,
    vector_layer,
    write_qgis_project,
)
from pcrs.io.vector import categorized_style, write_geopackage
from pcrs.raster.process import process


def _layers(root: ET.Element) -> dict[str, ET.Element]:
    return {m.findtext("layername"): m for m in root.iter("maplayer")}


def _check_sources(root: ET.Element, home: Path) -> None:
    """Every datasource is relative and names a file that exists."""
    for m in root.iter("maplayer"):
        src = m.findtext("datasource")
        assert src.startswith("./"), src
        assert (home / src.split("|")[0]).is_file(), src
    for node in root.iter("layer-tree-layer"):
        assert node.get("source").startswith("./")


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    d = tmp_path_factory.mktemp("proc")
    cloud = synth.make_scene(20_000, seed=11).cloud
    x0 = cloud.x.min()
    (d / "in").mkdir()
    las.write(cloud[cloud.x < x0 + 50], d / "in" / "w.laz")
    las.write(cloud[cloud.x >= x0 + 50], d / "in" / "e.laz")
    summary = process([d / "in"], d / "out", tile_size=50.0, resolution=1.0, buffer=20.0,
                      executor="serial")  # fmt: skip
    return d / "out", summary


def test_process_writes_a_project_opening_its_outputs(processed):
    out, summary = processed
    assert summary["qgis"] == "pcrs.qgs" and summary["footprints"] == "tiles.gpkg"
    root = ET.parse(out / "pcrs.qgs").getroot()
    assert root.tag == "qgis"
    layers = _layers(root)
    assert list(layers) == ["tiles", "CHM (canopy height, m)", "DSM (surface, m)",
                            "DTM (hillshade)"]  # fmt: skip
    _check_sources(root, out)
    assert layers["DTM (hillshade)"].findtext("datasource") == "./dtm.vrt"
    assert layers["tiles"].findtext("datasource") == "./tiles.gpkg|layername=tiles"
    # styles: hillshade for the DTM, colour ramps for the DSM and the CHM
    renderer = {n: m.find("pipe/rasterrenderer") for n, m in layers.items() if n != "tiles"}
    assert renderer["DTM (hillshade)"].get("type") == "hillshade"
    for name in ("DSM (surface, m)", "CHM (canopy height, m)"):
        assert renderer[name].get("type") == "singlebandpseudocolor"
        assert len(renderer[name].findall("rastershader/colorrampshader/item")) >= 5
    dsm = renderer["DSM (surface, m)"]
    assert float(dsm.get("classificationMin")) < float(dsm.get("classificationMax"))
    assert layers["tiles"].find("renderer-v2").get("type") == "singleSymbol"
    # the layer tree in the same (drawing) order, the DSM unchecked
    tree = root.findall("layer-tree-group/layer-tree-layer")
    assert [t.get("name") for t in tree] == list(layers)
    assert [t.get("checked") for t in tree].count("Qt::Unchecked") == 1
    # the data's CRS, for the project and every layer
    assert root.findtext("projectCrs/spatialrefsys/authid") == "EPSG:2154"
    assert {a.text for a in root.iter("authid")} == {"EPSG:2154"}
    assert root.findtext("properties/Paths/Absolute") == "false"


def test_footprints_of_the_tiles(processed):
    import sqlite3

    out, _ = processed

    con = sqlite3.connect(out / "tiles.gpkg")
    rows = con.execute("SELECT name, file, points FROM tiles ORDER BY name").fetchall()
    srs = con.execute("SELECT srs_id FROM gpkg_geometry_columns").fetchone()[0]
    con.close()
    tiles = sorted(p.name for p in (out / "tiles").glob("*.laz"))
    assert [r[0] for r in rows] == tiles and srs == 2154
    assert all((out / r[1]).is_file() for r in rows)
    assert sum(r[2] for r in rows) == sum(len(las.read(out / r[1])) for r in rows)


def test_a_rerun_keeps_the_project(processed):
    out, _ = processed
    again = process([out.parent / "in"], out, tile_size=50.0, resolution=1.0, buffer=20.0,
                    executor="serial")  # fmt: skip
    assert again["qgis"] == "pcrs.qgs" and (out / "pcrs.qgs").is_file()


def test_project_from_a_geopackage_with_its_styles(tmp_path):
    gpkg = tmp_path / "report.gpkg"
    style = categorized_style(
        "severity", [("error", "error", "#c0392b"), ("warning", "warning", "#e67e22")],
        layer="findings",
    )  # fmt: skip
    write_geopackage(gpkg, "findings", [shapely.Point(842_010, 6_518_020)],
                     {"severity": ["error"]}, "EPSG:2154", style=style)  # fmt: skip
    write_geopackage(gpkg, "footprints", [shapely.box(842_000, 6_518_000, 842_100, 6_518_100)],
                     {"name": ["a"]}, "EPSG:2154", append=True)  # fmt: skip
    path = geopackage_project(gpkg)
    assert path == tmp_path / "report.qgs"
    root = ET.parse(path).getroot()
    _check_sources(root, tmp_path)
    layers = _layers(root)
    assert list(layers) == ["findings", "footprints"]  # points above polygons
    assert layers["findings"].find("renderer-v2").get("type") == "categorizedSymbol"
    assert layers["findings"].get("geometry") == "Point"
    assert layers["footprints"].find("renderer-v2").get("type") == "singleSymbol"
    assert root.findtext("projectCrs/spatialrefsys/authid") == "EPSG:2154"
    with pytest.raises(OutputExistsError):
        geopackage_project(gpkg)


def test_qgz_relative_paths_and_refusals(tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "dtm.tif").write_bytes(b"")
    layer = hillshade_layer(tmp_path / "r" / "dtm.tif", "DTM")
    proj = tmp_path / "p" / "a.qgz"
    proj.parent.mkdir()
    write_qgis_project(proj, [layer], "EPSG:2154")
    with zipfile.ZipFile(proj) as zf:
        assert zf.namelist() == ["a.qgs"]
        root = ET.fromstring(zf.read("a.qgs"))
    assert root.findtext("projectlayers/maplayer/datasource") == "../r/dtm.tif"
    with pytest.raises(ParameterError, match=r"qgs or \.qgz"):
        write_qgis_project(tmp_path / "a.xml", [layer], "EPSG:2154")
    with pytest.raises(ParameterError, match="rrggbb"):
        pseudocolor_layer(tmp_path / "r" / "dtm.tif", "x", [(0, "red"), (1, "#ffffff")])
    with pytest.raises(ParameterError, match="renderer-v2"):
        vector_layer(tmp_path / "x.gpkg", "t", "t", style_qml="<qgis/>")


def test_qgis_opens_the_project(processed):
    qgis_core = pytest.importorskip(
        "qgis.core", reason="QGIS's Python package (qgis) is not installed; the XML is "
        "checked by the other tests"
    )  # fmt: skip
    out, _ = processed
    app = qgis_core.QgsApplication([], False)
    app.initQgis()
    try:
        project = qgis_core.QgsProject.instance()
        assert project.read(str(out / "pcrs.qgs"))
        layers = project.mapLayers().values()
        assert len(layers) == 4 and all(la.isValid() for la in layers)
        assert project.crs().authid() == "EPSG:2154"
    finally:
        app.exitQgis()


def test_validate_gpkg_writes_a_project_beside_it(tmp_path):
    from click.testing import CliRunner

    from pcrs.cli.main import cli
    from pcrs.vector.sample import write_delivery

    gml = write_delivery(tmp_path / "d.gml", 1, seed=2)
    args = ["validate", str(gml), "--no-schema", "--gpkg", str(tmp_path / "r.gpkg")]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    root = ET.parse(tmp_path / "r.qgs").getroot()
    _check_sources(root, tmp_path)
    (findings,) = root.iter("maplayer")
    assert findings.findtext("datasource") == "./r.gpkg|layername=findings"
    assert findings.find("renderer-v2").get("attr") == "severity"
    # the project is an output like the others: refused without --overwrite
    (tmp_path / "r.gpkg").unlink()
    again = CliRunner().invoke(cli, args)
    assert isinstance(again.exception, OutputExistsError), again.output
    assert CliRunner().invoke(cli, [*args, "--overwrite"]).exit_code == 0
