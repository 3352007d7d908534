"""GeoPackage spatial index (``gpkg_rtree_index``, OGC GeoPackage annex F.3).

Checked with sqlite3 alone (tables, extension row, triggers, R-tree boxes against
the features' envelopes), then with GDAL: ``ogrinfo`` when a GDAL command line is
installed, otherwise pyogrio's bundled GDAL; the GDAL tests are skipped when
neither is there.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, MultiPolygon, Point, Polygon, box

from pcrs.io.vector import (
    GPKG_RTREE_EXTENSION,
    _geopackage_blobs,
    geopackage_blob,
    read_geopackage_blob,
    write_geopackage,
)

#: Lambert-93 features: float32 cannot hold these coordinates (a 0.5 m step at 6.5e6)
X0, Y0 = 771_000.0, 6_277_000.0
GEOMS = [
    box(X0 + 0.13, Y0 + 0.27, X0 + 10.5, Y0 + 20.3),
    None,
    Point(),
    Point(X0 + 5.123, Y0 + 5.987),
    Point(X0 + 7.01, Y0 + 3.33, 41.5),
    LineString([(X0 + 100.01, Y0 - 3.0, 10.0), (X0 + 250.77, Y0 + 40.4, 12.5)]),
    MultiPolygon([box(X0 - 50.0, Y0 - 50.0, X0 - 40.1, Y0 - 40.2), box(X0 - 5, Y0 - 5, X0, Y0)]),
    Polygon(),
]
TRIGGERS = {"insert", "update2", "update4", "update5", "update6", "update7", "delete"}


def _sql(path: Path, sql: str, args: tuple = ()) -> list[tuple]:
    con = sqlite3.connect(path)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def _outwards(values: np.ndarray, down: bool) -> np.ndarray:
    """Each value as SQLite's R*Tree stores it, as float64: a float32 at or below
    (``down``) or at or above the value.

    SQLite (``rtreeValueDown``/``rtreeValueUp``) casts to float32 and, when that
    lands on the wrong side, casts the value scaled by 1 -/+ 2**-23 instead: one
    or two float32 steps outwards.
    """
    f = values.astype(np.float32)
    wrong = f.astype(np.float64) > values if down else f.astype(np.float64) < values
    if down:
        scale = np.where(values < 0, 1.0 + 2.0**-23, 1.0 - 2.0**-23)
    else:
        scale = np.where(values < 0, 1.0 - 2.0**-23, 1.0 + 2.0**-23)
    f[wrong] = (values[wrong] * scale[wrong]).astype(np.float32)
    return f.astype(np.float64)


def _expected_boxes(geoms: list) -> dict[int, tuple[float, float, float, float]]:
    """fid -> the feature's envelope as an R-tree holds it (float32, rounded outwards)."""
    out = {}
    for fid, g in enumerate(geoms, start=1):
        if g is None or g.is_empty:
            continue
        minx, miny, maxx, maxy = np.array(g.bounds)
        out[fid] = (
            *_outwards(np.array([minx]), True),
            *_outwards(np.array([maxx]), False),
            *_outwards(np.array([miny]), True),
            *_outwards(np.array([maxy]), False),
        )
    return out


def _rtree(path: Path, layer: str) -> dict[int, tuple[float, float, float, float]]:
    rows = _sql(path, f'SELECT id, minx, maxx, miny, maxy FROM "rtree_{layer}_geom" ORDER BY id')
    return {r[0]: tuple(r[1:]) for r in rows}


@pytest.fixture
def gpkg(tmp_path: Path) -> Path:
    path = tmp_path / "findings.gpkg"
    write_geopackage(
        path, "findings", GEOMS, {"rule": [f"R{i}" for i in range(len(GEOMS))]}, "EPSG:2154"
    )
    return path


def test_layer_tables_extension_and_triggers(gpkg: Path) -> None:
    contents = _sql(
        gpkg, "SELECT table_name, data_type, min_x, min_y, max_x, max_y, srs_id FROM gpkg_contents"
    )
    valid = [g for g in GEOMS if g is not None and not g.is_empty]
    minx, miny, maxx, maxy = shapely.total_bounds(np.array(valid, dtype=object))
    assert contents == [("findings", "features", minx, miny, maxx, maxy, 2154)]
    assert _sql(gpkg, "SELECT * FROM gpkg_geometry_columns") == [
        ("findings", "geom", "GEOMETRY", 2154, 1, 0)
    ]
    assert _sql(gpkg, "SELECT * FROM gpkg_extensions") == [
        ("findings", "geom", *GPKG_RTREE_EXTENSION)
    ]
    (sql,) = _sql(gpkg, "SELECT sql FROM sqlite_master WHERE name = 'rtree_findings_geom'")[0]
    assert "USING rtree(id, minx, maxx, miny, maxy)" in sql
    triggers = _sql(
        gpkg, "SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger' ORDER BY name"
    )
    assert {t for t, table in triggers if table == "findings"} == {
        f"rtree_findings_geom_{t}" for t in TRIGGERS
    }
    assert _sql(gpkg, "PRAGMA integrity_check") == [("ok",)]
    assert _sql(gpkg, "PRAGMA foreign_key_check") == []


def test_rtree_boxes_are_the_features_envelopes(gpkg: Path) -> None:
    boxes = _rtree(gpkg, "findings")
    # null and empty geometries are not indexed; fids follow the input order
    assert sorted(boxes) == [1, 4, 5, 6, 7]
    assert boxes == _expected_boxes(GEOMS)
    # and each box holds its feature, read back from the file
    for fid, blob in _sql(gpkg, "SELECT fid, geom FROM findings WHERE geom IS NOT NULL"):
        g = read_geopackage_blob(blob)[1]
        if g.is_empty:
            assert fid not in boxes
            continue
        minx, miny, maxx, maxy = g.bounds
        bminx, bmaxx, bminy, bmaxy = boxes[fid]
        assert bminx <= minx <= maxx <= bmaxx and bminy <= miny <= maxy <= bmaxy
        assert maxx - minx <= bmaxx - bminx <= maxx - minx + 1.0  # within float32 steps


def test_rtree_answers_a_window_query(gpkg: Path) -> None:
    hits = _sql(
        gpkg,
        "SELECT f.fid FROM findings f JOIN rtree_findings_geom r ON f.fid = r.id "
        "WHERE r.maxx >= ? AND r.minx <= ? AND r.maxy >= ? AND r.miny <= ? ORDER BY f.fid",
        (X0 + 200, X0 + 300, Y0 + 30, Y0 + 50),
    )
    assert hits == [(6,)]


@pytest.mark.filterwarnings("ignore:All-NaN slice:RuntimeWarning")  # geopackage_blob's nanmin
def test_vectorised_blobs_equal_single_blobs() -> None:
    geoms = [
        *GEOMS,
        Point(1, 2, np.nan),
        LineString([(0, 0, np.nan), (1, 1, 5.0)]),
        MultiPolygon([box(0, 0, 1, 1)]),
    ]
    blobs, boxes = _geopackage_blobs(geoms, 2154)
    assert blobs == [geopackage_blob(g, 2154) for g in geoms]
    assert np.isnan(boxes[[1, 2, 7]]).all()
    assert boxes[0].tolist() == [X0 + 0.13, X0 + 10.5, Y0 + 0.27, Y0 + 20.3]
    assert _geopackage_blobs([], 2154)[0] == []


def _register_gpkg_functions(con: sqlite3.Connection) -> None:
    """The ``ST_*`` SQL functions the triggers call, as GeoPackage software provides them."""

    def geometry(blob: bytes | None):
        return None if blob is None else read_geopackage_blob(blob)[1]

    def bound(i: int):
        def f(blob):
            g = geometry(blob)
            return None if g is None or g.is_empty else g.bounds[i]

        return f

    con.create_function("ST_IsEmpty", 1, lambda b: int(geometry(b) is None or geometry(b).is_empty))
    for name, i in (("ST_MinX", 0), ("ST_MinY", 1), ("ST_MaxX", 2), ("ST_MaxY", 3)):
        con.create_function(name, 1, bound(i))


def test_triggers_keep_the_rtree_in_step(gpkg: Path) -> None:
    con = sqlite3.connect(gpkg)
    _register_gpkg_functions(con)
    new = Point(X0 + 900.5, Y0 + 900.25)
    moved = box(X0 + 1000, Y0 + 1000, X0 + 1001, Y0 + 1002)
    edits = [
        (
            "INSERT INTO findings (fid, geom, rule) VALUES (20, ?, 'new')",
            (geopackage_blob(new, 2154),),
        ),  # insert
        ("UPDATE findings SET geom = ? WHERE fid = 1", (geopackage_blob(moved, 2154),)),  # update6
        ("UPDATE findings SET geom = NULL WHERE fid = 4", ()),  # update2
        ("UPDATE findings SET geom = ? WHERE fid = 2", (geopackage_blob(new, 2154),)),  # update7
        ("UPDATE findings SET fid = 30 WHERE fid = 5", ()),  # update5
        ("UPDATE findings SET fid = 31 WHERE fid = 3", ()),  # update4 (empty geometry)
        ("DELETE FROM findings WHERE fid = 6", ()),
    ]
    for sql, args in edits:
        con.execute(sql, args)
        con.commit()
        rows = con.execute("SELECT fid, geom FROM findings ORDER BY fid").fetchall()
        fids = [r[0] for r in rows]
        geoms = [None if r[1] is None else read_geopackage_blob(r[1])[1] for r in rows]
        expected = {fids[k - 1]: b for k, b in _expected_boxes(geoms).items()}
        assert _rtree(gpkg, "findings") == expected, sql
    con.close()
    assert sorted(_rtree(gpkg, "findings")) == [1, 2, 7, 20, 30]


def test_append_and_overwrite_keep_one_index_per_layer(tmp_path: Path) -> None:
    path = tmp_path / "a.gpkg"
    write_geopackage(path, "one", [Point(1, 1)], {}, 2154)
    write_geopackage(path, "two", [Point(2, 2), Point(3, 4)], {}, 2154, append=True)
    assert _rtree(path, "two") == {1: (2.0, 2.0, 2.0, 2.0), 2: (3.0, 3.0, 4.0, 4.0)}
    write_geopackage(path, "TWO", [box(5, 5, 6, 7)], {}, 2154, append=True, overwrite=True)
    assert _rtree(path, "two") == {1: (5.0, 6.0, 5.0, 7.0)}
    assert sorted(r[0] for r in _sql(path, "SELECT table_name FROM gpkg_extensions")) == [
        "TWO",
        "one",
    ]
    assert len(_sql(path, "SELECT name FROM sqlite_master WHERE type = 'trigger'")) == 14
    assert _sql(path, "PRAGMA integrity_check") == [("ok",)]


def test_append_to_a_geopackage_without_extensions_table(tmp_path: Path) -> None:
    # a file from an earlier pcrs (no spatial index, no gpkg_extensions table)
    path = tmp_path / "old.gpkg"
    write_geopackage(path, "one", [Point(1, 1)], {}, 2154)
    con = sqlite3.connect(path)
    for trigger in TRIGGERS:
        con.execute(f'DROP TRIGGER "rtree_one_geom_{trigger}"')
    con.execute("DROP TABLE rtree_one_geom")
    con.execute("DROP TABLE gpkg_extensions")
    con.commit()
    con.close()
    write_geopackage(path, "two", [Point(2, 2)], {}, 2154, append=True)
    assert _sql(path, "SELECT table_name FROM gpkg_extensions") == [("two",)]
    assert _rtree(path, "two") == {1: (2.0, 2.0, 2.0, 2.0)}
    write_geopackage(path, "one", [Point(3, 3)], {}, 2154, append=True, overwrite=True)
    assert _rtree(path, "one") == {1: (3.0, 3.0, 3.0, 3.0)}


def test_findings_geopackage_of_a_report_is_indexed(tmp_path: Path) -> None:
    from pcrs.vector.report import Report
    from pcrs.vector.rules import Finding

    findings = [
        Finding(rule="PCRS-CODE-001", x=X0 + i * 10.25, y=Y0 + i * 3.5, gml_id=f"f{i}")
        for i in range(50)
    ]
    findings.append(Finding(rule="PCRS-CODE-001"))  # not located: left out
    report = Report(findings=findings, files=[{"path": "d.gml", "crs": "EPSG:2154"}])
    path = report.to_geopackage(tmp_path / "findings.gpkg")
    geoms = [Point(f.x, f.y) for f in findings[:50]]
    assert _rtree(path, "findings") == _expected_boxes(geoms)
    assert _sql(path, "SELECT table_name, extension_name FROM gpkg_extensions") == [
        ("findings", "gpkg_rtree_index")
    ]


# --- GDAL --------------------------------------------------------------------------------


def _ogrinfo() -> str | None:
    for candidate in (
        shutil.which("ogrinfo"),
        Path.home() / ".cache" / "pcrs-peers" / "pdal" / "bin" / "ogrinfo",
    ):
        if candidate and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def _has_spatial_index(path: Path, layer: str) -> int:
    """GDAL's ``HasSpatialIndex(layer, 'geom')``: through ogrinfo, else pyogrio."""
    sql = f"SELECT HasSpatialIndex('{layer}', 'geom') AS hsi"
    exe = _ogrinfo()
    if exe is not None:
        out = subprocess.run(
            [exe, "-ro", "-q", "-sql", sql, str(path)], capture_output=True, text=True, check=True
        ).stdout
        return int(next(line for line in out.splitlines() if "hsi" in line).split("=")[-1])
    pyogrio = pytest.importorskip("pyogrio", reason="no GDAL: neither ogrinfo nor pyogrio")
    return int(pyogrio.raw.read(path, sql=sql, sql_dialect="SQLITE")[3][0][0])


def test_gdal_reports_the_spatial_index(gpkg: Path, tmp_path: Path) -> None:
    assert _has_spatial_index(gpkg, "findings") == 1
    # the control: the same file without the extension has none
    bare = tmp_path / "bare.gpkg"
    shutil.copyfile(gpkg, bare)
    con = sqlite3.connect(bare)
    con.execute("DELETE FROM gpkg_extensions")
    for trigger in TRIGGERS:
        con.execute(f'DROP TRIGGER "rtree_findings_geom_{trigger}"')
    con.execute("DROP TABLE rtree_findings_geom")
    con.commit()
    con.close()
    assert _has_spatial_index(bare, "findings") == 0


def test_gdal_reads_the_file_and_filters_through_the_rtree(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    pyogrio = pytest.importorskip("pyogrio", reason="pyogrio (GDAL) not installed")
    # 2-D only: pyogrio has no name for GDAL's "Unknown Z" layer type (GEOMETRY with z)
    geoms = [shapely.force_2d(g) if g is not None else None for g in GEOMS]
    gpkg = tmp_path / "findings.gpkg"
    write_geopackage(gpkg, "findings", geoms, {"rule": [f"R{i}" for i in range(len(geoms))]}, 2154)
    info = pyogrio.read_info(gpkg, layer="findings")
    assert info["features"] == len(GEOMS) and info["crs"] == "EPSG:2154"
    assert info["capabilities"]["fast_spatial_filter"]
    window = (X0 + 4, Y0 + 4, X0 + 6, Y0 + 6)

    def rules_in_window() -> list[str]:
        return sorted(pyogrio.raw.read(gpkg, layer="findings", bbox=window)[3][0])

    # GDAL's own log of the query (CPL_DEBUG, on stderr) shows the join with the R-tree
    pyogrio.set_gdal_config_options({"CPL_DEBUG": "ON"})
    try:
        capfd.readouterr()
        assert rules_in_window() == ["R0", "R3"]
        log = capfd.readouterr().err
    finally:
        pyogrio.set_gdal_config_options({"CPL_DEBUG": None})
    assert 'JOIN "rtree_findings_geom"' in log, log
    # GDAL trusts the index: a feature whose box is moved away is no longer found
    con = sqlite3.connect(gpkg)
    con.execute(
        "UPDATE rtree_findings_geom SET minx = 0, maxx = 1, miny = 0, maxy = 1 WHERE id = 4"
    )
    con.commit()
    con.close()
    assert rules_in_window() == ["R0"]


def test_gdal_appends_through_the_triggers(gpkg: Path) -> None:
    pyogrio = pytest.importorskip("pyogrio", reason="pyogrio (GDAL) not installed")
    new = box(X0 + 500.5, Y0 + 600.25, X0 + 510, Y0 + 620)
    pyogrio.raw.write(
        gpkg, np.array([shapely.to_wkb(new)], dtype=object), [np.array(["gdal"])], ["rule"],
        layer="findings", driver="GPKG", geometry_type="Unknown", crs="EPSG:2154", append=True,
    )  # fmt: skip
    fids = [r[0] for r in _sql(gpkg, "SELECT fid FROM findings WHERE rule = 'gdal'")]
    assert len(fids) == 1
    assert _rtree(gpkg, "findings")[fids[0]] == _expected_boxes([new])[1]
    assert _has_spatial_index(gpkg, "findings") == 1
