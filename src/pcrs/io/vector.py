"""GeoPackage output of vector layers (footprints, located defects), with no GDAL.

A GeoPackage is an SQLite database laid out by the OGC GeoPackage standard
(OGC 12-128r18, version 1.4). This module writes one with the standard library
:mod:`sqlite3` and shapely's WKB encoder:

- ``PRAGMA application_id`` = ``0x47504B47`` ("GPKG") and ``PRAGMA user_version``
  = ``10400`` (GeoPackage 1.4.0), requirements 2 and 3 of the standard;
- the mandatory tables ``gpkg_spatial_ref_sys`` (with its three required rows:
  -1 undefined Cartesian, 0 undefined geographic, 4326 WGS 84), ``gpkg_contents``
  and ``gpkg_geometry_columns``;
- one feature table per layer with an ``fid INTEGER PRIMARY KEY AUTOINCREMENT``,
  a ``geom`` column holding *GeoPackageBinary* blobs (the ``GP`` header: magic,
  version 0, flags for little-endian and an XY or XYZ envelope, the ``srs_id``,
  the envelope ``minx, maxx, miny, maxy[, minz, maxz]``) followed by ISO WKB,
  and one column per property.

Every layer carries a spatial index, the standard's *RTree Spatial Indexes*
extension (annex F.3, ``gpkg_rtree_index``), so that GDAL, QGIS and any
GeoPackage reader answer a bounding-box query without reading every feature:

- an SQLite R*Tree virtual table ``rtree_<layer>_geom (id, minx, maxx, miny, maxy)``,
  filled at write time with the ``fid`` and the envelope of every non-empty
  geometry (SQLite stores them as 32-bit floats rounded outwards, so each box
  holds its feature);
- the seven triggers of the 1.4 standard (``_insert``, ``_update2``, ``_update4``
  to ``_update7``, ``_delete``) that keep it in step when the layer is edited,
  in QGIS for instance; they call the standard's ``ST_IsEmpty``/``ST_MinX``...
  functions, which GeoPackage software provides (plain ``sqlite3`` reads the file
  but cannot edit an indexed layer);
- a ``gpkg_extensions`` row ``(layer, 'geom', 'gpkg_rtree_index', ..., 'write-only')``.

A layer may carry a style (:class:`LayerStyle`, e.g. from :func:`categorized_style`):
a row of the ``layer_styles`` table that QGIS creates when it saves a style in a
GeoPackage (same columns, registered in ``gpkg_contents`` as an ``attributes``
table, as GDAL does), with ``useAsDefault`` = 1, so that QGIS applies it when the
layer is opened.

GDAL reports the index (``SELECT HasSpatialIndex('layer', 'geom')`` gives 1, a
fast spatial filter) and filters through it (``tests/test_gpkg_rtree.py``).
pyogrio would write the same file, but it brings a GDAL of its own: 103 MB
installed (pyogrio and its bundled libraries, beside the GDAL rasterio already
bundles) and two more packages, for what ``sqlite3`` does here. Measured in CPU
time (3 runs, shared 2-core machine), polygons with three attributes: 1,000 take
0.02 s with either; 10,000 take 0.17 s here and 0.07 s with pyogrio; 100,000 take
2.1 s here (the R-tree about half of it) and 0.6 s with pyogrio. A findings file
is written once, and rarely holds that many features.

Files are written atomically (:func:`pcrs.io.atomic.atomic_path`): a failed write
leaves nothing behind.

Example
-------
>>> import tempfile, pathlib, sqlite3
>>> from shapely.geometry import box
>>> p = pathlib.Path(tempfile.mkdtemp()) / "footprints.gpkg"
>>> _ = write_geopackage(p, "footprints", [box(0, 0, 1, 1)], {"name": ["a"]}, "EPSG:2154")
>>> sqlite3.connect(p).execute("SELECT name FROM footprints").fetchall()
[('a',)]
"""

from __future__ import annotations

import logging
import math
import os
import re
import shutil
import sqlite3
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import numpy as np
import shapely
from pyproj import CRS

from ..errors import OutputExistsError, ParameterError, PcrsIOError
from .atomic import atomic_path
from .crs import parse_crs

__all__ = [
    "GPKG_APPLICATION_ID",
    "GPKG_RTREE_EXTENSION",
    "GPKG_USER_VERSION",
    "LayerStyle",
    "categorized_style",
    "geopackage_blob",
    "read_geopackage_blob",
    "write_geopackage",
]

#: ``PRAGMA application_id`` of a GeoPackage: the ASCII bytes "GPKG".
GPKG_APPLICATION_ID = 0x47504B47
#: ``PRAGMA user_version`` for GeoPackage 1.4.0.
GPKG_USER_VERSION = 10400

#: ``gpkg_extensions`` values of the R-tree spatial index: name, definition, scope.
GPKG_RTREE_EXTENSION = (
    "gpkg_rtree_index",
    "http://www.geopackage.org/spec120/#extension_rtree",
    "write-only",
)

log = logging.getLogger(__name__)

#: srs_id used for a CRS that has no EPSG code (user-defined range).
_CUSTOM_SRS_ID = 100000

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

_GEOM_NAMES = {
    "Point": "POINT",
    "LineString": "LINESTRING",
    "LinearRing": "LINESTRING",
    "Polygon": "POLYGON",
    "MultiPoint": "MULTIPOINT",
    "MultiLineString": "MULTILINESTRING",
    "MultiPolygon": "MULTIPOLYGON",
    "GeometryCollection": "GEOMETRYCOLLECTION",
}

_WGS84_WKT = (
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,'
    'AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,'
    'AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],'
    'AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]'
)

_SCHEMA = """
CREATE TABLE gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL PRIMARY KEY,
  organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL,
  definition TEXT NOT NULL,
  description TEXT
);
CREATE TABLE gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY,
  data_type TEXT NOT NULL,
  identifier TEXT UNIQUE,
  description TEXT DEFAULT '',
  last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE,
  min_y DOUBLE,
  max_x DOUBLE,
  max_y DOUBLE,
  srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id)
);
CREATE TABLE gpkg_geometry_columns (
  table_name TEXT NOT NULL,
  column_name TEXT NOT NULL,
  geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL,
  z TINYINT NOT NULL,
  m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id)
);
"""

_REQUIRED_SRS = [
    ("Undefined cartesian SRS", -1, "NONE", -1, "undefined", "undefined cartesian coordinate reference system"),
    ("Undefined geographic SRS", 0, "NONE", 0, "undefined", "undefined geographic coordinate reference system"),
    ("WGS 84 geodetic", 4326, "EPSG", 4326, _WGS84_WKT, "longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid"),
]  # fmt: skip


_EXTENSIONS_TABLE = """
CREATE TABLE IF NOT EXISTS gpkg_extensions (
  table_name TEXT,
  column_name TEXT,
  extension_name TEXT NOT NULL,
  definition TEXT NOT NULL,
  scope TEXT NOT NULL,
  CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name)
)
"""

# The triggers of annex F.3 (GeoPackage 1.4: update1 and update3 replaced by update5-7).
# {t}: quoted feature table, {r}: quoted rtree table, {n}: bare "rtree_<t>_<c>" name;
# the geometry column is "geom" and the primary key "fid".
_NONEMPTY = "({g} NOT NULL AND NOT ST_IsEmpty({g}))"
_EMPTY = "({g} IS NULL OR ST_IsEmpty({g}))"
_BOX = "ST_MinX(NEW.geom), ST_MaxX(NEW.geom), ST_MinY(NEW.geom), ST_MaxY(NEW.geom)"
_RTREE_TRIGGERS = (
    # a non-empty geometry inserted: its box inserted
    "CREATE TRIGGER \"{n}_insert\" AFTER INSERT ON {t} WHEN "
    + _NONEMPTY.format(g="NEW.geom")
    + " BEGIN INSERT OR REPLACE INTO {r} VALUES (NEW.fid, " + _BOX + "); END",
    # geometry made null or empty, same fid: its box removed
    "CREATE TRIGGER \"{n}_update2\" AFTER UPDATE OF geom ON {t} WHEN OLD.fid = NEW.fid AND "
    + _EMPTY.format(g="NEW.geom")
    + " BEGIN DELETE FROM {r} WHERE id = OLD.fid; END",
    # fid changed, geometry null or empty: both boxes removed
    "CREATE TRIGGER \"{n}_update4\" AFTER UPDATE ON {t} WHEN OLD.fid != NEW.fid AND "
    + _EMPTY.format(g="NEW.geom")
    + " BEGIN DELETE FROM {r} WHERE id IN (OLD.fid, NEW.fid); END",
    # fid changed, non-empty geometry: old box removed, new one inserted
    "CREATE TRIGGER \"{n}_update5\" AFTER UPDATE ON {t} WHEN OLD.fid != NEW.fid AND "
    + _NONEMPTY.format(g="NEW.geom")
    + " BEGIN DELETE FROM {r} WHERE id = OLD.fid; "
    "INSERT OR REPLACE INTO {r} VALUES (NEW.fid, " + _BOX + "); END",
    # non-empty geometry replaced by a non-empty one: box updated
    "CREATE TRIGGER \"{n}_update6\" AFTER UPDATE OF geom ON {t} WHEN OLD.fid = NEW.fid AND "
    + _NONEMPTY.format(g="NEW.geom") + " AND " + _NONEMPTY.format(g="OLD.geom")
    + " BEGIN UPDATE {r} SET minx = ST_MinX(NEW.geom), maxx = ST_MaxX(NEW.geom), "
    "miny = ST_MinY(NEW.geom), maxy = ST_MaxY(NEW.geom) WHERE id = NEW.fid; END",
    # null or empty geometry replaced by a non-empty one: box inserted
    "CREATE TRIGGER \"{n}_update7\" AFTER UPDATE OF geom ON {t} WHEN OLD.fid = NEW.fid AND "
    + _NONEMPTY.format(g="NEW.geom") + " AND " + _EMPTY.format(g="OLD.geom")
    + " BEGIN INSERT INTO {r} VALUES (NEW.fid, " + _BOX + "); END",
    # row deleted: its box removed
    "CREATE TRIGGER \"{n}_delete\" AFTER DELETE ON {t} WHEN OLD.geom NOT NULL"
    " BEGIN DELETE FROM {r} WHERE id = OLD.fid; END",
)  # fmt: skip


# --- GeoPackageBinary -----------------------------------------------------------------


def geopackage_blob(geometry: Any, srs_id: int) -> bytes | None:
    """Encode a shapely geometry as a GeoPackageBinary blob (``GP`` header + ISO WKB).

    Parameters
    ----------
    geometry : shapely geometry or None
        ``None`` gives ``None`` (SQL NULL).
    srs_id : int
        The ``gpkg_spatial_ref_sys.srs_id`` the coordinates refer to.

    Returns
    -------
    bytes or None

    Examples
    --------
    >>> from shapely.geometry import Point
    >>> geopackage_blob(Point(1, 2), 2154)[:2]
    b'GP'
    """
    if geometry is None:
        return None
    has_z = bool(shapely.has_z(geometry))
    empty = bool(shapely.is_empty(geometry))
    # flags: bit 0 little-endian, bits 1-3 envelope kind (0 none, 1 xy, 2 xyz), bit 4 empty
    if empty:
        flags = 0b0000_0001 | (1 << 4)
        envelope = b""
    else:
        coords = shapely.get_coordinates(geometry, include_z=has_z)
        mins, maxs = coords.min(axis=0), coords.max(axis=0)
        if has_z:
            flags = 0b0000_0001 | (2 << 1)
            envelope = struct.pack(
                "<6d",
                mins[0],
                maxs[0],
                mins[1],
                maxs[1],
                np.nanmin(coords[:, 2]),
                np.nanmax(coords[:, 2]),
            )
        else:
            flags = 0b0000_0001 | (1 << 1)
            envelope = struct.pack("<4d", mins[0], maxs[0], mins[1], maxs[1])
    header = b"GP" + struct.pack("<BBi", 0, flags, int(srs_id))
    wkb = shapely.to_wkb(
        geometry, flavor="iso", byte_order=1, include_srid=False, output_dimension=3 if has_z else 2
    )
    return header + envelope + wkb


def _geopackage_blobs(geometries: Sequence, srs_id: int) -> tuple[list, np.ndarray]:
    """:func:`geopackage_blob` of many geometries with shapely's array functions.

    Returns the blobs (the same bytes as :func:`geopackage_blob`, ``None`` for
    ``None``) and the envelopes as an ``(n, 4)`` array of ``minx, maxx, miny, maxy``,
    NaN for ``None`` and empty geometries (these go neither in the blob's
    envelope nor in the R-tree).
    """
    n = len(geometries)
    arr = np.empty(n, dtype=object)
    arr[:] = geometries
    present = ~shapely.is_missing(arr)
    empty = present & shapely.is_empty(arr)
    has_z = present & shapely.has_z(arr)
    wkb = np.empty(n, dtype=object)
    for dim, sel in ((2, present & ~has_z), (3, has_z)):
        wkb[sel] = shapely.to_wkb(
            arr[sel], flavor="iso", byte_order=1, include_srid=False, output_dimension=dim
        )
    boxes = np.full((n, 4), np.nan)
    full = present & ~empty
    boxes[full] = shapely.bounds(arr[full])[:, [0, 2, 1, 3]]
    zbox = np.full((n, 2), np.nan)
    withz = np.flatnonzero(full & has_z)
    if len(withz):
        coords, index = shapely.get_coordinates(arr[withz], include_z=True, return_index=True)
        zmin, zmax = np.full(len(withz), np.nan), np.full(len(withz), np.nan)
        np.fmin.at(zmin, index, coords[:, 2])  # fmin/fmax skip NaN, as nanmin/nanmax
        np.fmax.at(zmax, index, coords[:, 2])
        zbox[withz] = np.column_stack([zmin, zmax])
    # flags: bit 0 little-endian, bits 1-3 envelope kind (0 none, 1 xy, 2 xyz), bit 4 empty
    head_empty = b"GP" + struct.pack("<BBi", 0, 0b0000_0001 | (1 << 4), int(srs_id))
    head_xy = b"GP" + struct.pack("<BBi", 0, 0b0000_0001 | (1 << 1), int(srs_id))
    head_xyz = b"GP" + struct.pack("<BBi", 0, 0b0000_0001 | (2 << 1), int(srs_id))
    env = np.ascontiguousarray(np.column_stack([boxes, zbox]), dtype="<f8")
    blobs: list = [None] * n
    for i in np.flatnonzero(present):
        if empty[i]:
            blobs[i] = head_empty + wkb[i]
        elif has_z[i]:
            blobs[i] = head_xyz + env[i].tobytes() + wkb[i]
        else:
            blobs[i] = head_xy + env[i, :4].tobytes() + wkb[i]
    return blobs, boxes


def read_geopackage_blob(blob: bytes) -> tuple[int, Any]:
    """Decode a GeoPackageBinary blob into ``(srs_id, shapely geometry)``.

    The inverse of :func:`geopackage_blob`; it reads any standard blob (either
    byte order, any envelope kind).
    """
    if blob[:2] != b"GP":
        raise ParameterError(f"not a GeoPackage geometry blob (starts with {bytes(blob[:2])!r})")
    flags = blob[3]
    order = "<" if flags & 1 else ">"
    srs_id = struct.unpack(order + "i", blob[4:8])[0]
    kind = (flags >> 1) & 0b111
    size = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}.get(kind)
    if size is None:
        raise ParameterError(f"invalid GeoPackage envelope indicator {kind}")
    return srs_id, shapely.from_wkb(bytes(blob[8 + size :]))


# --- writing --------------------------------------------------------------------------


def _srs_row(crs: CRS | None) -> tuple[str, int, str, int, str, str]:
    if crs is None:
        return _REQUIRED_SRS[0]
    code = crs.to_epsg(min_confidence=70)
    try:
        definition = crs.to_wkt("WKT1_GDAL")
    except Exception:  # some CRSs have no WKT1 form
        definition = crs.to_wkt()
    if code is not None:
        return (crs.name, int(code), "EPSG", int(code), definition, crs.name)
    return (crs.name, _CUSTOM_SRS_ID, "NONE", _CUSTOM_SRS_ID, definition, crs.name)


def _column_type(name: str, values: Sequence) -> str:
    kinds = set()
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        if isinstance(v, (bool, np.bool_)):
            kinds.add("BOOLEAN")
        elif isinstance(v, (int, np.integer)):
            kinds.add("INTEGER")
        elif isinstance(v, (float, np.floating)):
            kinds.add("REAL")
        elif isinstance(v, str):
            kinds.add("TEXT")
        elif isinstance(v, (bytes, bytearray, memoryview)):
            kinds.add("BLOB")
        else:
            raise ParameterError(
                f"property {name!r} holds a {type(v).__name__} value {v!r}; GeoPackage columns take "
                "numbers, booleans, strings or bytes (convert it, e.g. with str())"
            )
    if not kinds:
        return "TEXT"
    if kinds <= {"INTEGER", "REAL"}:
        return "REAL" if "REAL" in kinds else "INTEGER"
    if len(kinds) == 1:
        return kinds.pop()
    return "TEXT"


def _sql_value(v: Any, kind: str) -> Any:
    if v is None:
        return None
    if isinstance(v, float) and math.isnan(v):
        return None
    if kind == "TEXT":
        return str(v)
    if kind == "BOOLEAN":
        return int(bool(v))
    if kind == "INTEGER":
        return int(v)
    if kind == "REAL":
        return float(v)
    return bytes(v)


def _geometry_type(geoms: Sequence) -> tuple[str, int]:
    names = {_GEOM_NAMES.get(g.geom_type, "GEOMETRY") for g in geoms if g is not None}
    has_z = any(bool(shapely.has_z(g)) for g in geoms if g is not None and not g.is_empty)
    if len(names) == 1:
        return names.pop(), int(has_z)
    # a mix of single and multi parts of one family is stored as the multi type
    for family in ("POINT", "LINESTRING", "POLYGON"):
        if names and names <= {family, "MULTI" + family}:
            return "MULTI" + family, int(has_z)
    return "GEOMETRY", int(has_z)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class LayerStyle:
    """A style stored with a layer in the ``layer_styles`` table (QGIS's own table).

    Attributes
    ----------
    name : str
        ``styleName``, as QGIS lists it in the layer's style manager.
    qml : str
        ``styleQML``: a QGIS style document (``<qgis>`` root).
    sld : str
        ``styleSLD``: the same style as an OGC Styled Layer Descriptor, for other clients.
    description : str
    """

    name: str
    qml: str
    sld: str = ""
    description: str = ""


_LAYER_STYLES = """
CREATE TABLE IF NOT EXISTS layer_styles (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  f_table_catalog TEXT(256),
  f_table_schema TEXT(256),
  f_table_name TEXT(256),
  f_geometry_column TEXT(256),
  styleName TEXT(30),
  styleQML TEXT,
  styleSLD TEXT,
  useAsDefault BOOLEAN,
  description TEXT,
  owner TEXT(30),
  ui TEXT(30),
  update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
)
"""

#: QGIS symbol types and SLD symbolizers of the geometry kinds :func:`categorized_style` takes
_SYMBOLS = {
    "point": ("marker", "SimpleMarker"),
    "line": ("line", "SimpleLine"),
    "polygon": ("fill", "SimpleFill"),
}


def _rgba(color: str) -> str:
    """``#rrggbb`` as QGIS's ``r,g,b,255``."""
    c = color.lstrip("#")
    if len(c) != 6 or not all(ch in "0123456789abcdefABCDEF" for ch in c):
        raise ParameterError(f"colour {color!r} is not of the form '#rrggbb', e.g. '#c0392b'")
    return ",".join(str(int(c[i : i + 2], 16)) for i in (0, 2, 4)) + ",255"


def _symbol_options(geometry: str, color: str) -> dict[str, str]:
    rgba = _rgba(color)
    if geometry == "point":
        return {"name": "circle", "color": rgba, "outline_color": "255,255,255,255",
                "outline_style": "solid", "outline_width": "0.3", "outline_width_unit": "MM",
                "size": "3", "size_unit": "MM"}  # fmt: skip
    if geometry == "line":
        return {"line_color": rgba, "line_style": "solid", "line_width": "0.6",
                "line_width_unit": "MM"}  # fmt: skip
    return {"color": rgba.rsplit(",", 1)[0] + ",90", "outline_color": rgba,
            "outline_style": "solid", "outline_width": "0.4", "style": "solid"}  # fmt: skip


def _qml_symbol(index: int, geometry: str, color: str) -> str:
    kind, layer_class = _SYMBOLS[geometry]
    opts = _symbol_options(geometry, color)
    # QGIS 3 reads the <Option> map; the <prop> copies are what older 3.x releases read
    options = "".join(
        f'<Option type="QString" name={quoteattr(k)} value={quoteattr(v)}/>'
        for k, v in opts.items()
    )
    props = "".join(f"<prop k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in opts.items())
    return (
        f'<symbol type="{kind}" name="{index}" alpha="1" clip_to_extent="1" force_rhr="0">'
        f'<layer class="{layer_class}" enabled="1" pass="0" locked="0">'
        f'<Option type="Map">{options}</Option>{props}</layer></symbol>'
    )


def _sld_rule(field: str, value: str, label: str, geometry: str, color: str) -> str:
    v, lab = _xml_text(value), _xml_text(label)
    if geometry == "point":
        symbolizer = (
            "<se:PointSymbolizer><se:Graphic><se:Mark><se:WellKnownName>circle"
            f'</se:WellKnownName><se:Fill><se:SvgParameter name="fill">{color}'
            '</se:SvgParameter></se:Fill><se:Stroke><se:SvgParameter name="stroke">#ffffff'
            "</se:SvgParameter></se:Stroke></se:Mark><se:Size>11</se:Size></se:Graphic>"
            "</se:PointSymbolizer>"
        )
    elif geometry == "line":
        symbolizer = (
            f'<se:LineSymbolizer><se:Stroke><se:SvgParameter name="stroke">{color}'
            '</se:SvgParameter><se:SvgParameter name="stroke-width">2</se:SvgParameter>'
            "</se:Stroke></se:LineSymbolizer>"
        )
    else:
        symbolizer = (
            f'<se:PolygonSymbolizer><se:Fill><se:SvgParameter name="fill">{color}'
            '</se:SvgParameter><se:SvgParameter name="fill-opacity">0.35</se:SvgParameter>'
            f'</se:Fill><se:Stroke><se:SvgParameter name="stroke">{color}</se:SvgParameter>'
            "</se:Stroke></se:PolygonSymbolizer>"
        )
    return (
        f"<se:Rule><se:Name>{lab}</se:Name><se:Description><se:Title>{lab}</se:Title>"
        "</se:Description><ogc:Filter><ogc:PropertyIsEqualTo>"
        f"<ogc:PropertyName>{_xml_text(field)}</ogc:PropertyName><ogc:Literal>{v}</ogc:Literal>"
        f"</ogc:PropertyIsEqualTo></ogc:Filter>{symbolizer}</se:Rule>"
    )


def _xml_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def categorized_style(
    field: str,
    categories: Sequence[tuple[str, str, str]],
    *,
    layer: str,
    geometry: str = "point",
    name: str = "default",
    description: str = "",
) -> LayerStyle:
    """A style drawing each value of ``field`` in its own colour (QGIS: "Categorized").

    Parameters
    ----------
    field : str
        The column whose value picks the symbol.
    categories : sequence of (value, label, colour)
        ``colour`` as ``"#rrggbb"``; values not listed are not drawn.
    layer : str
        The layer's name (the SLD names it).
    geometry : {"point", "line", "polygon"}
        The kind of symbol.
    name, description : str
        ``styleName`` and ``description`` of the ``layer_styles`` row.

    Returns
    -------
    LayerStyle

    Examples
    --------
    >>> style = categorized_style("severity", [("error", "error", "#c0392b")], layer="findings")
    >>> "categorizedSymbol" in style.qml
    True
    """
    if geometry not in _SYMBOLS:
        raise ParameterError(f"geometry {geometry!r} is not one of {sorted(_SYMBOLS)}")
    cats = "".join(
        f'<category render="true" value={quoteattr(str(v))} symbol="{i}" label={quoteattr(lab)}/>'
        for i, (v, lab, _c) in enumerate(categories)
    )
    symbols = "".join(_qml_symbol(i, geometry, c) for i, (_v, _lab, c) in enumerate(categories))
    qml = (
        '<qgis version="3.28.0" styleCategories="Symbology">'
        f'<renderer-v2 type="categorizedSymbol" attr={quoteattr(field)} symbollevels="0" '
        'enableorderby="0" forceraster="0">'
        f"<categories>{cats}</categories><symbols>{symbols}</symbols>"
        "</renderer-v2></qgis>"
    )
    rules = "".join(_sld_rule(field, str(v), lab, geometry, c) for v, lab, c in categories)
    sld = (
        '<StyledLayerDescriptor xmlns="http://www.opengis.net/sld" '
        'xmlns:ogc="http://www.opengis.net/ogc" xmlns:se="http://www.opengis.net/se" '
        'version="1.1.0"><NamedLayer>'
        f"<se:Name>{_xml_text(layer)}</se:Name><UserStyle><se:Name>{_xml_text(name)}</se:Name>"
        f"<se:FeatureTypeStyle>{rules}</se:FeatureTypeStyle></UserStyle></NamedLayer>"
        "</StyledLayerDescriptor>"
    )
    return LayerStyle(name=name, qml=qml, sld=sld, description=description)


def _add_style(con: sqlite3.Connection, layer: str, style: LayerStyle) -> None:
    """Record ``style`` as the default style of ``layer`` (QGIS applies it on opening)."""
    con.execute(_LAYER_STYLES)
    known = con.execute("SELECT 1 FROM gpkg_contents WHERE table_name = 'layer_styles'").fetchone()
    if not known:
        con.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, description) "
            "VALUES ('layer_styles', 'attributes', 'layer_styles', 'QGIS layer styles')"
        )
    con.execute(
        "UPDATE layer_styles SET useAsDefault = 0 WHERE lower(f_table_name) = lower(?)", (layer,)
    )
    con.execute(
        "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, "
        "f_geometry_column, styleName, styleQML, styleSLD, useAsDefault, description, owner, "
        "ui) VALUES ('', '', ?, 'geom', ?, ?, ?, 1, ?, '', NULL)",
        (layer, style.name, style.qml, style.sld, style.description),
    )


def _init_database(con: sqlite3.Connection) -> None:
    con.execute(f"PRAGMA application_id = {GPKG_APPLICATION_ID}")
    con.execute(f"PRAGMA user_version = {GPKG_USER_VERSION}")
    con.executescript(_SCHEMA)
    con.executemany("INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)", _REQUIRED_SRS)


def _add_layer(
    con: sqlite3.Connection,
    layer: str,
    geometries: Sequence,
    properties: Mapping[str, Sequence],
    crs: CRS | None,
    description: str,
) -> None:
    srs = _srs_row(crs)
    srs_id = srs[1]
    existing = con.execute(
        "SELECT definition FROM gpkg_spatial_ref_sys WHERE srs_id = ?", (srs_id,)
    ).fetchone()
    if existing is not None and srs[2] == "NONE" and srs_id >= _CUSTOM_SRS_ID:
        same = con.execute(
            "SELECT srs_id FROM gpkg_spatial_ref_sys WHERE organization = 'NONE' AND definition = ?",
            (srs[4],),
        ).fetchone()
        if same is not None:  # this custom CRS is already recorded
            srs_id = same[0]
        else:  # another custom CRS holds the id: take the next free one
            srs_id = con.execute("SELECT max(srs_id) + 1 FROM gpkg_spatial_ref_sys").fetchone()[0]
            srs = (srs[0], srs_id, srs[2], srs_id, srs[4], srs[5])
            existing = None
    if existing is None:
        con.execute("INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)", srs)
    geom_type, has_z = _geometry_type(geometries)
    kinds = {name: _column_type(name, values) for name, values in properties.items()}
    columns = "".join(f", {_quote(n)} {k}" for n, k in kinds.items())
    con.execute(
        f"CREATE TABLE {_quote(layer)} (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, "
        f"geom {geom_type}{columns})"
    )
    rows = []
    names = list(properties)
    blobs, boxes = _geopackage_blobs(geometries, srs_id)
    for i, blob in enumerate(blobs):
        values = [_sql_value(properties[n][i], kinds[n]) for n in names]
        rows.append((i + 1, blob, *values))
    marks = ", ".join("?" * (2 + len(names)))
    cols = ", ".join(["fid", "geom", *(_quote(n) for n in names)])
    con.executemany(f"INSERT INTO {_quote(layer)} ({cols}) VALUES ({marks})", rows)
    _add_rtree(con, layer, boxes)
    if np.isfinite(boxes).all(axis=1).any():
        minx, maxx = np.nanmin(boxes[:, 0]), np.nanmax(boxes[:, 1])
        miny, maxy = np.nanmin(boxes[:, 2]), np.nanmax(boxes[:, 3])
        bounds: tuple[float | None, ...] = (float(minx), float(miny), float(maxx), float(maxy))
    else:
        bounds = (None, None, None, None)
    con.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, "
        "min_x, min_y, max_x, max_y, srs_id) VALUES (?, 'features', ?, ?, ?, ?, ?, ?, ?)",
        (layer, layer, description, *bounds, srs_id),
    )
    con.execute(
        "INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', ?, ?, ?, 0)",
        (layer, geom_type, srs_id, has_z),
    )


def _rtree_name(layer: str) -> str:
    return f"rtree_{layer}_geom"


def _add_rtree(con: sqlite3.Connection, layer: str, boxes: np.ndarray) -> bool:
    """Give ``layer`` (just filled, fids 1..n) the ``gpkg_rtree_index`` extension.

    ``boxes`` holds the ``minx, maxx, miny, maxy`` of feature ``fid - 1``, NaN for
    null or empty geometries (not indexed). The R-tree is filled here and the
    triggers are created afterwards: they call ``ST_*`` functions that plain
    SQLite lacks. Returns False (and logs a warning) when this SQLite has no
    R*Tree module.
    """
    rtree = _quote(_rtree_name(layer))
    try:
        con.execute(f"CREATE VIRTUAL TABLE {rtree} USING rtree(id, minx, maxx, miny, maxy)")
    except sqlite3.OperationalError as exc:
        if "no such module" not in str(exc):
            raise
        log.warning(
            "this Python's SQLite has no R*Tree module: layer %r written without a spatial "
            "index (GDAL and QGIS still read it, more slowly)",
            layer,
        )
        return False
    fids = np.flatnonzero(np.isfinite(boxes).all(axis=1))
    con.executemany(
        f"INSERT INTO {rtree} VALUES (?, ?, ?, ?, ?)",
        ((f + 1, *b) for f, b in zip(fids.tolist(), boxes[fids].tolist(), strict=True)),
    )
    names = {"t": _quote(layer), "r": rtree, "n": _rtree_name(layer).replace('"', '""')}
    for trigger in _RTREE_TRIGGERS:
        con.execute(trigger.format(**names))
    con.execute(_EXTENSIONS_TABLE)
    con.execute(
        "INSERT INTO gpkg_extensions VALUES (?, 'geom', ?, ?, ?)", (layer, *GPKG_RTREE_EXTENSION)
    )
    return True


def write_geopackage(
    path: str | os.PathLike,
    layer: str,
    geometries: Sequence,
    properties: Mapping[str, Sequence] | None,
    crs: Any,
    *,
    overwrite: bool = False,
    append: bool = False,
    description: str = "",
    style: LayerStyle | None = None,
) -> Path:
    """Write one layer of features to a GeoPackage, atomically.

    Parameters
    ----------
    path : path-like
        Output ``.gpkg`` file.
    layer : str
        Table name: letters, digits and underscores, not starting with a digit
        and not starting with ``gpkg_``.
    geometries : sequence of shapely geometries
        Point, LineString, Polygon, their Multi* forms (or a mix: stored as
        ``GEOMETRY``), with or without Z. ``None`` gives a NULL geometry.
    properties : mapping of str to sequence, optional
        One column per key, as long as ``geometries``. Python/numpy ints become
        INTEGER, floats REAL (NaN is NULL), bools BOOLEAN, strings TEXT,
        bytes BLOB; ``None`` is NULL.
    crs : CRS-like or None
        Any value :func:`pcrs.io.crs.parse_crs` understands; ``None`` records
        the "undefined cartesian" SRS (``srs_id`` -1).
    overwrite : bool
        Replace an existing file (without ``append``), or an existing layer of
        the same name (with ``append``).
    append : bool
        Add the layer to an existing GeoPackage (the file is copied, extended
        and renamed back, so the change is still atomic).
    description : str
        Stored in ``gpkg_contents.description``.
    style : LayerStyle, optional
        Stored in the ``layer_styles`` table as the layer's default style (QGIS opens
        the layer with it); see :func:`categorized_style`.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    OutputExistsError
        When the file (or, with ``append``, the layer) exists and ``overwrite`` is false.
    ParameterError
        For a bad layer name, property lengths that differ from the geometries,
        or values that no GeoPackage column can hold.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from shapely.geometry import Point
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "pts.gpkg"
    >>> _ = write_geopackage(p, "pts", [Point(1, 2, 3)], {"z": [3.0]}, 2154)
    """
    path = Path(path)
    if not _IDENTIFIER.match(layer or "") or layer.lower().startswith("gpkg_"):
        raise ParameterError(
            f"layer name {layer!r} is not valid; use letters, digits and underscores "
            "(not starting with a digit or 'gpkg_'), e.g. 'footprints'"
        )
    geometries = list(geometries)
    properties = dict(properties or {})
    for name, values in properties.items():
        if not isinstance(name, str) or not name or name.lower() in ("fid", "geom"):
            raise ParameterError(f"property name {name!r} is not allowed (reserved or empty)")
        if len(values) != len(geometries):
            raise ParameterError(
                f"property {name!r} has {len(values)} values for {len(geometries)} geometries"
            )
    for g in geometries:
        if g is not None and not isinstance(g, shapely.Geometry):
            raise ParameterError(f"{g!r} is not a shapely geometry")
    parsed = parse_crs(crs) if crs is not None else None
    if append and path.exists():
        with atomic_path(path, overwrite=True) as tmp:
            shutil.copyfile(path, tmp)
            con = sqlite3.connect(tmp)
            try:
                if con.execute("PRAGMA application_id").fetchone()[0] != GPKG_APPLICATION_ID:
                    raise PcrsIOError(f"{path}: is not a GeoPackage; cannot add a layer to it")
                known = con.execute(
                    "SELECT 1 FROM gpkg_contents WHERE lower(table_name) = lower(?)", (layer,)
                ).fetchone()
                if known:
                    if not overwrite:
                        raise OutputExistsError(
                            f"{path}: already has a layer {layer!r}; pass overwrite=True to replace it"
                        )
                    _drop_layer(con, layer)
                _add_layer(con, layer, geometries, properties, parsed, description)
                if style is not None:
                    _add_style(con, layer, style)
                con.commit()
            finally:
                con.close()
        return path
    with atomic_path(path, overwrite) as tmp:
        tmp.unlink()  # sqlite wants to create the file itself
        con = sqlite3.connect(tmp)
        try:
            _init_database(con)
            _add_layer(con, layer, geometries, properties, parsed, description)
            if style is not None:
                _add_style(con, layer, style)
            con.commit()
        except sqlite3.Error as exc:
            raise PcrsIOError(f"{path}: cannot write the GeoPackage ({exc})") from exc
        finally:
            con.close()
    return path


def _drop_layer(con: sqlite3.Connection, layer: str) -> None:
    con.execute("DELETE FROM gpkg_geometry_columns WHERE lower(table_name) = lower(?)", (layer,))
    con.execute("DELETE FROM gpkg_contents WHERE lower(table_name) = lower(?)", (layer,))
    has_extensions = con.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'gpkg_extensions'"
    ).fetchone()
    if has_extensions:
        con.execute("DELETE FROM gpkg_extensions WHERE lower(table_name) = lower(?)", (layer,))
    has_styles = con.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'layer_styles'"
    ).fetchone()
    if has_styles:
        con.execute("DELETE FROM layer_styles WHERE lower(f_table_name) = lower(?)", (layer,))
    con.execute(f"DROP TABLE IF EXISTS {_quote(layer)}")  # its triggers go with it
    con.execute(f"DROP TABLE IF EXISTS {_quote(_rtree_name(layer))}")
