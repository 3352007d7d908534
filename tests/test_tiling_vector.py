"""GeoPackage writer: read the file back with sqlite3 and check it against the OGC standard."""

from __future__ import annotations

import sqlite3
import struct

import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, MultiPoint, MultiPolygon, Point, Polygon, box

from pcrs.errors import OutputExistsError, ParameterError
from pcrs.io.vector import (
    GPKG_APPLICATION_ID,
    GPKG_USER_VERSION,
    geopackage_blob,
    read_geopackage_blob,
    write_geopackage,
)


def _rows(path, sql, args=()):
    con = sqlite3.connect(path)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def test_geopackage_header_tables_and_blobs(tmp_path):
    path = tmp_path / "fp.gpkg"
    geoms = [box(0, 0, 10, 5), box(10, 0, 20, 5)]
    write_geopackage(
        path,
        "footprints",
        geoms,
        {"name": ["a", "b"], "points": [3, np.int64(4)], "ok": [True, False], "d": [1.5, None]},
        "EPSG:2154",
    )
    assert path.read_bytes()[:16] == b"SQLite format 3\x00"
    assert _rows(path, "PRAGMA application_id")[0][0] == GPKG_APPLICATION_ID
    assert _rows(path, "PRAGMA user_version")[0][0] == GPKG_USER_VERSION
    srs = {r[0] for r in _rows(path, "SELECT srs_id FROM gpkg_spatial_ref_sys")}
    assert {-1, 0, 4326, 2154} <= srs
    contents = _rows(
        path, "SELECT table_name, data_type, min_x, min_y, max_x, max_y, srs_id FROM gpkg_contents"
    )
    assert contents == [("footprints", "features", 0.0, 0.0, 20.0, 5.0, 2154)]
    cols = _rows(path, "SELECT * FROM gpkg_geometry_columns")
    assert cols == [("footprints", "geom", "POLYGON", 2154, 0, 0)]
    rows = _rows(path, "SELECT fid, geom, name, points, ok, d FROM footprints ORDER BY fid")
    assert [r[2:] for r in rows] == [("a", 3, 1, 1.5), ("b", 4, 0, None)]
    blob = rows[1][1]
    assert blob[:2] == b"GP" and blob[2] == 0
    flags = blob[3]
    assert flags & 1 == 1  # little-endian
    assert (flags >> 1) & 7 == 1  # xy envelope
    assert struct.unpack("<i", blob[4:8])[0] == 2154
    assert struct.unpack("<4d", blob[8:40]) == (10.0, 20.0, 0.0, 5.0)  # minx, maxx, miny, maxy
    assert shapely.equals(shapely.from_wkb(blob[40:]), geoms[1])
    types = dict((r[1], r[2]) for r in _rows(path, "PRAGMA table_info(footprints)"))
    assert types["geom"] == "POLYGON" and types["points"] == "INTEGER" and types["d"] == "REAL"
    assert _rows(path, "PRAGMA integrity_check")[0][0] == "ok"
    assert _rows(path, "PRAGMA foreign_key_check") == []


@pytest.mark.parametrize(
    ("geom", "name", "z"),
    [
        (Point(1, 2), "POINT", 0),
        (Point(1, 2, 3), "POINT", 1),
        (LineString([(0, 0, 1), (1, 1, 2)]), "LINESTRING", 1),
        (Polygon([(0, 0), (1, 0), (1, 1)]), "POLYGON", 0),
        (MultiPoint([(0, 0), (1, 1)]), "MULTIPOINT", 0),
        (MultiPolygon([box(0, 0, 1, 1), box(2, 2, 3, 3)]), "MULTIPOLYGON", 0),
    ],
)
def test_geometry_kinds_round_trip(tmp_path, geom, name, z):
    path = tmp_path / "g.gpkg"
    write_geopackage(path, "layer_1", [geom], {}, 2154)
    assert _rows(path, "SELECT geometry_type_name, z FROM gpkg_geometry_columns") == [(name, z)]
    blob = _rows(path, "SELECT geom FROM layer_1")[0][0]
    srs_id, back = read_geopackage_blob(blob)
    assert srs_id == 2154
    assert shapely.equals_exact(back, geom) and bool(shapely.has_z(back)) == bool(z)
    assert (blob[3] >> 1) & 7 == (2 if z else 1)


def test_mixed_single_and_multi_is_stored_as_multi(tmp_path):
    path = tmp_path / "m.gpkg"
    write_geopackage(path, "m", [box(0, 0, 1, 1), MultiPolygon([box(2, 2, 3, 3)])], None, 2154)
    assert _rows(path, "SELECT geometry_type_name FROM gpkg_geometry_columns") == [
        ("MULTIPOLYGON",)
    ]


def test_empty_and_null_geometries(tmp_path):
    blob = geopackage_blob(Point(), 2154)
    assert blob[3] & 0b10000  # empty flag
    assert geopackage_blob(None, 2154) is None
    path = tmp_path / "e.gpkg"
    write_geopackage(path, "e", [None, Point(1, 1)], {"k": [1, 2]}, None)
    assert _rows(path, "SELECT srs_id FROM gpkg_contents") == [(-1,)]
    assert _rows(path, "SELECT geom IS NULL FROM e ORDER BY fid") == [(1,), (0,)]


def test_overwrite_and_append(tmp_path):
    path = tmp_path / "a.gpkg"
    write_geopackage(path, "one", [Point(0, 0)], {}, 2154)
    with pytest.raises(OutputExistsError, match="overwrite"):
        write_geopackage(path, "one", [Point(0, 0)], {}, 2154)
    write_geopackage(path, "two", [Point(0, 0), Point(1, 1)], {}, 3946, append=True)
    names = sorted(r[0] for r in _rows(path, "SELECT table_name FROM gpkg_contents"))
    assert names == ["one", "two"]
    assert _rows(path, "SELECT count(*) FROM two") == [(2,)]
    with pytest.raises(OutputExistsError, match="layer 'two'"):
        write_geopackage(path, "two", [Point(0, 0)], {}, 2154, append=True)
    write_geopackage(path, "two", [Point(5, 5)], {}, 2154, append=True, overwrite=True)
    assert _rows(path, "SELECT count(*) FROM two") == [(1,)]
    write_geopackage(path, "three", [Point(5, 5)], {}, 2154, overwrite=True)
    assert [r[0] for r in _rows(path, "SELECT table_name FROM gpkg_contents")] == ["three"]
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_bad_input_is_refused(tmp_path):
    with pytest.raises(ParameterError, match="layer name"):
        write_geopackage(tmp_path / "x.gpkg", "1bad", [Point(0, 0)], {}, 2154)
    with pytest.raises(ParameterError, match="2 values for 1"):
        write_geopackage(tmp_path / "x.gpkg", "ok", [Point(0, 0)], {"a": [1, 2]}, 2154)
    with pytest.raises(ParameterError, match="dict"):
        write_geopackage(tmp_path / "x.gpkg", "ok", [Point(0, 0)], {"a": [{}]}, 2154)
    assert not (tmp_path / "x.gpkg").exists()


def _gdal():
    """GDAL's C library as bundled in the rasterio wheel, through ctypes (or skip)."""
    import ctypes
    import glob
    import os

    import rasterio

    libs = glob.glob(
        os.path.join(os.path.dirname(rasterio.__file__), "..", "rasterio.libs", "libgdal*.so*")
    )
    if not libs:
        pytest.skip(
            "no libgdal bundled with rasterio here (system GDAL build); the sqlite3 checks above still run"
        )
    lib = ctypes.CDLL(libs[0])
    lib.GDALAllRegister()
    lib.GDALOpenEx.restype = ctypes.c_void_p
    lib.GDALOpenEx.argtypes = [
        ctypes.c_char_p,
        ctypes.c_uint,
        ctypes.c_void_p,
        ctypes.c_void_p,
        ctypes.c_void_p,
    ]
    lib.GDALDatasetGetLayerByName.restype = ctypes.c_void_p
    lib.GDALDatasetGetLayerByName.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.OGR_L_GetFeatureCount.restype = ctypes.c_longlong
    lib.OGR_L_GetFeatureCount.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.OGR_L_GetGeomType.restype = ctypes.c_uint
    lib.OGR_L_GetGeomType.argtypes = [ctypes.c_void_p]
    lib.GDALClose.argtypes = [ctypes.c_void_p]
    return lib


def test_gdal_reads_the_geopackage(tmp_path):
    """GDAL's GPKG driver (the reader QGIS uses) opens the file and sees the layers."""
    lib = _gdal()
    path = tmp_path / "gdal.gpkg"
    write_geopackage(path, "pts", [Point(1, 2, 3), Point(2, 3, 4)], {"a": [1, 2]}, 2154)
    write_geopackage(
        path, "polys", [box(0, 0, 1, 1)] * 3, {"s": ["x", "y", "z"]}, 2154, append=True
    )
    ds = lib.GDALOpenEx(str(path).encode(), 0x04, None, None, None)  # GDAL_OF_VECTOR
    assert ds, "GDAL could not open the GeoPackage"
    try:
        pts = lib.GDALDatasetGetLayerByName(ds, b"pts")
        polys = lib.GDALDatasetGetLayerByName(ds, b"polys")
        assert pts and polys
        assert lib.OGR_L_GetFeatureCount(pts, 1) == 2
        assert lib.OGR_L_GetFeatureCount(polys, 1) == 3
        assert lib.OGR_L_GetGeomType(pts) == 0x80000001  # wkbPoint25D
        assert lib.OGR_L_GetGeomType(polys) == 3  # wkbPolygon
    finally:
        lib.GDALClose(ds)


def test_two_custom_crs_get_their_own_srs_ids(tmp_path):
    path = tmp_path / "c.gpkg"
    a = "+proj=tmerc +lat_0=0 +lon_0=3 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m"
    b = "+proj=tmerc +lat_0=0 +lon_0=5 +k=1 +x_0=500000 +y_0=0 +ellps=GRS80 +units=m"
    write_geopackage(path, "a", [Point(0, 0)], {}, a)
    write_geopackage(path, "b", [Point(0, 0)], {}, b, append=True)
    write_geopackage(path, "a2", [Point(0, 0)], {}, a, append=True)
    ids = dict(_rows(path, "SELECT table_name, srs_id FROM gpkg_contents"))
    assert ids["a"] == ids["a2"] != ids["b"]
    assert ids["a"] >= 100000 and ids["b"] >= 100000
