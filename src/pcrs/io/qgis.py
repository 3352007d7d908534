"""QGIS project files (``.qgs``, or ``.qgz``: the same zipped) that open pcrs's outputs.

A QGIS project is an XML document with a ``<qgis>`` root. This module writes a
small one by hand, with what QGIS 3 reads when it opens a project:

- ``<projectCrs>``: the CRS as a ``<spatialrefsys>`` (WKT, PROJ string,
  ``EPSG:`` authority id, name);
- ``<layer-tree-group>``: one ``<layer-tree-layer>`` per layer, in drawing order
  (the first one is drawn on top), checked or not;
- ``<projectlayers>``: one ``<maplayer>`` per layer with its ``<id>``,
  ``<datasource>`` (a path relative to the project file, ``./dtm.vrt``, or
  ``./tiles.gpkg|layername=tiles``), ``<layername>``, ``<provider>`` (``gdal``
  for rasters, ``ogr`` for GeoPackage layers), ``<srs>`` and its style: a
  raster renderer in ``<pipe>`` (``hillshade`` or ``singlebandpseudocolor``
  with a colour ramp) or a vector ``<renderer-v2>``;
- ``<mapcanvas>``: the extent shown when the project opens;
- ``<properties><Paths><Absolute>false``: paths are kept relative, so the
  folder can be moved or shared as a whole.

Layers are described by :class:`QgisLayer` (see :func:`hillshade_layer`,
:func:`pseudocolor_layer`, :func:`vector_layer`) and written by
:func:`write_qgis_project`. :func:`geopackage_project` writes a project that
opens every layer of a GeoPackage with the style stored in it (the findings of
``pcrs validate --gpkg``, the footprints of ``pcrs catalog --gpkg``...).

Example
-------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "dtm.vrt").write_text("<VRTDataset/>")
>>> path = write_qgis_project(d / "pcrs.qgs", [hillshade_layer(d / "dtm.vrt", "DTM")],
...                           "EPSG:2154", extent=(0, 0, 100, 100))
>>> "./dtm.vrt" in path.read_text()
True
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import warnings
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyproj import CRS

from ..errors import ParameterError, PcrsIOError
from .atomic import atomic_path, check_output
from .crs import parse_crs

__all__ = [
    "CHM_RAMP",
    "DSM_RAMP",
    "QgisLayer",
    "geopackage_project",
    "hillshade_layer",
    "outline_style_qml",
    "pseudocolor_layer",
    "raster_range",
    "vector_layer",
    "write_qgis_project",
]

#: the QGIS release whose project format is written (any QGIS 3 reads it)
QGIS_VERSION = "3.28.0-Firenze"

#: canopy height (m): bare to tall trees, light to dark green
CHM_RAMP: tuple[tuple[float, str], ...] = (
    (0.0, "#f7fcf5"), (2.0, "#c7e9c0"), (5.0, "#74c476"), (15.0, "#238b45"), (30.0, "#00441b"),
)  # fmt: skip

#: surface elevation, as fractions of the range: low to high, green to brown to white
DSM_RAMP: tuple[tuple[float, str], ...] = (
    (0.0, "#1a9641"), (0.25, "#a6d96a"), (0.5, "#ffffbf"), (0.75, "#fdae61"),
    (0.9, "#a6611a"), (1.0, "#ffffff"),
)  # fmt: skip


@dataclass(frozen=True)
class QgisLayer:
    """One layer of a QGIS project.

    Attributes
    ----------
    name : str
        The name shown in the layer tree.
    path : Path
        The file (a raster, or a GeoPackage for a vector layer).
    kind : {"raster", "vector"}
    style : ET.Element
        The raster renderer (``<rasterrenderer>``) or vector renderer
        (``<renderer-v2>``) element.
    table : str, optional
        The GeoPackage layer (vector layers).
    geometry : str
        ``Point``, ``LineString`` or ``Polygon`` (vector layers).
    visible : bool
        Checked in the layer tree when the project opens.
    opacity : float
        0 to 1.
    """

    name: str
    path: Path
    kind: str
    style: ET.Element = field(compare=False)
    table: str | None = None
    geometry: str = "Polygon"
    visible: bool = True
    opacity: float = 1.0


# --- layers ------------------------------------------------------------------------------


def hillshade_layer(
    path: str | os.PathLike,
    name: str,
    *,
    azimuth: float = 315.0,
    altitude: float = 45.0,
    z_factor: float = 1.0,
    visible: bool = True,
) -> QgisLayer:
    """A single-band elevation raster drawn as a hillshade (QGIS's ``hillshade`` renderer,
    computed by QGIS as it draws)."""
    r = ET.Element(
        "rasterrenderer",
        type="hillshade", band="1", opacity="1", alphaBand="-1", nodataColor="",
        azimuth=_num(azimuth), angle=_num(altitude), zfactor=_num(z_factor), multidirection="0",
    )  # fmt: skip
    ET.SubElement(r, "rasterTransparency")
    return QgisLayer(name, Path(path), "raster", r, visible=visible)


def pseudocolor_layer(
    path: str | os.PathLike,
    name: str,
    ramp: Sequence[tuple[float, str]],
    *,
    vmin: float | None = None,
    vmax: float | None = None,
    visible: bool = True,
    opacity: float = 1.0,
    transparent_below: float | None = None,
) -> QgisLayer:
    """A single-band raster drawn through a colour ramp (QGIS's ``singlebandpseudocolor``).

    Parameters
    ----------
    ramp : sequence of (value, "#rrggbb")
        Stops of an interpolated ramp. With ``vmin`` and ``vmax`` the values are
        fractions of that range (0 to 1); without, they are raster values.
    transparent_below : float, optional
        Values below it are not drawn (bare ground in a canopy height model).
    """
    if len(ramp) < 2:
        raise ParameterError(f"a colour ramp needs at least two stops, got {list(ramp)!r}")
    if vmin is not None and vmax is not None:
        span = (vmax - vmin) or 1.0
        stops = [(vmin + f * span, c) for f, c in ramp]
    else:
        stops = [(float(v), c) for v, c in ramp]
    lo, hi = stops[0][0], stops[-1][0]
    r = ET.Element(
        "rasterrenderer",
        type="singlebandpseudocolor", band="1", opacity="1", alphaBand="-1", nodataColor="",
        classificationMin=_num(lo), classificationMax=_num(hi),
    )  # fmt: skip
    transparency = ET.SubElement(r, "rasterTransparency")
    if transparent_below is not None:
        ET.SubElement(
            ET.SubElement(transparency, "singleValuePixelList"), "pixelListEntry",
            min=_num(min(lo, transparent_below) - 1e6), max=_num(transparent_below),
            percentTransparent="100",
        )  # fmt: skip
    shader = ET.SubElement(ET.SubElement(r, "rastershader"), "colorrampshader")
    shader.attrib.update(
        colorRampType="INTERPOLATED", classificationMode="1", clip="0",
        minimumValue=_num(lo), maximumValue=_num(hi), labelPrecision="1",
    )  # fmt: skip
    for value, colour in stops:
        _check_colour(colour)
        ET.SubElement(
            shader, "item", alpha="255", value=_num(value), label=f"{value:.1f}", color=colour
        )
    return QgisLayer(name, Path(path), "raster", r, visible=visible, opacity=opacity)


def vector_layer(
    path: str | os.PathLike,
    table: str,
    name: str,
    *,
    geometry: str = "Polygon",
    style_qml: str | None = None,
    visible: bool = True,
) -> QgisLayer:
    """A GeoPackage layer, drawn with the ``<renderer-v2>`` of ``style_qml`` (a QGIS style
    document, e.g. :attr:`pcrs.io.vector.LayerStyle.qml`), or with outlines."""
    qml = style_qml if style_qml is not None else outline_style_qml(geometry)
    renderer = ET.fromstring(qml).find("renderer-v2")
    if renderer is None:
        raise ParameterError(f"layer {name!r}: the style has no <renderer-v2> element")
    return QgisLayer(
        name, Path(path), "vector", renderer, table=table, geometry=geometry, visible=visible
    )


def outline_style_qml(geometry: str = "Polygon", colour: str = "#3c3c3c") -> str:
    """A QGIS style document drawing outlines only (polygons) or a plain symbol."""
    _check_colour(colour)
    rgba = ",".join(str(int(colour[i : i + 2], 16)) for i in (1, 3, 5)) + ",255"
    kind, cls, opts = {
        "Polygon": ("fill", "SimpleFill", {"style": "no", "outline_color": rgba,
                                          "outline_width": "0.5", "outline_style": "solid"}),
        "LineString": ("line", "SimpleLine", {"line_color": rgba, "line_width": "0.5"}),
        "Point": ("marker", "SimpleMarker", {"name": "circle", "color": rgba, "size": "2"}),
    }.get(geometry, (None, None, {}))  # fmt: skip
    if kind is None:
        raise ParameterError(f"geometry {geometry!r} is not Point, LineString or Polygon")
    root = ET.Element("qgis", version=QGIS_VERSION.split("-")[0], styleCategories="Symbology")
    renderer = ET.SubElement(
        root, "renderer-v2", type="singleSymbol", symbollevels="0", forceraster="0",
        enableorderby="0",
    )  # fmt: skip
    symbols = ET.SubElement(renderer, "symbols")
    symbol = ET.SubElement(
        symbols, "symbol", type=kind, name="0", alpha="1", clip_to_extent="1", force_rhr="0"
    )
    layer = ET.SubElement(symbol, "layer", attrib={"class": cls or "", "enabled": "1"})
    option = ET.SubElement(layer, "Option", type="Map")
    for k, v in opts.items():
        ET.SubElement(option, "Option", type="QString", name=k, value=v)
        ET.SubElement(layer, "prop", k=k, v=v)  # what older QGIS 3 releases read
    return ET.tostring(root, encoding="unicode")


def raster_range(path: str | os.PathLike, max_size: int = 512) -> tuple[float, float] | None:
    """``(min, max)`` of a raster's valid values, read from a decimated copy (at most
    ``max_size`` pixels a side); None when it holds no valid value."""
    import numpy as np
    import rasterio

    with rasterio.open(path) as src:
        scale = max(src.width / max_size, src.height / max_size, 1.0)
        shape = (max(1, int(src.height / scale)), max(1, int(src.width / scale)))
        data = src.read(1, out_shape=shape, masked=True)
    values = np.ma.compressed(data)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return None
    return float(values.min()), float(values.max())


# --- the project -------------------------------------------------------------------------


def write_qgis_project(
    path: str | os.PathLike,
    layers: Sequence[QgisLayer],
    crs: Any,
    *,
    extent: Sequence[float] | None = None,
    title: str = "",
    overwrite: bool = False,
) -> Path:
    """Write a QGIS project opening ``layers`` (the first one drawn on top), atomically.

    Parameters
    ----------
    path : path-like
        ``.qgs`` (XML) or ``.qgz`` (the XML zipped, as QGIS saves by default).
    layers : sequence of QgisLayer
        Their files are referred to relative to the project's folder.
    crs : CRS-like
        The project's and the layers' CRS.
    extent : (xmin, ymin, xmax, ymax), optional
        The view when the project opens.
    title : str
    overwrite : bool
        Replace an existing project.

    Returns
    -------
    Path
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".qgs", ".qgz"):
        raise ParameterError(f"{path}: a QGIS project is a .qgs or .qgz file")
    check_output(path, overwrite)
    if not layers:
        raise ParameterError("a QGIS project needs at least one layer")
    crs = parse_crs(crs) if crs is not None else None
    text = project_xml(layers, crs, path.parent, extent=extent, title=title or path.stem)
    with atomic_path(path, overwrite=overwrite) as tmp:
        if suffix == ".qgs":
            tmp.write_text(text, encoding="utf-8")
        else:
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
                zf.writestr(path.stem + ".qgs", text)
    return path


def project_xml(
    layers: Sequence[QgisLayer],
    crs: CRS | None,
    home: Path,
    *,
    extent: Sequence[float] | None = None,
    title: str = "",
) -> str:
    """The text of a ``.qgs`` document (see :func:`write_qgis_project`)."""
    root = ET.Element("qgis", projectname=title, version=QGIS_VERSION)
    ET.SubElement(root, "homePath", path="")
    ET.SubElement(root, "title").text = title
    ET.SubElement(root, "projectCrs").append(_spatialrefsys(crs))
    ids = [_layer_id(layer, i) for i, layer in enumerate(layers)]
    sources = [_relative(layer.path, home) for layer in layers]
    tree = ET.SubElement(root, "layer-tree-group")
    ET.SubElement(tree, "customproperties")
    for layer, lid, src in zip(layers, ids, sources, strict=True):
        ET.SubElement(
            tree, "layer-tree-layer", id=lid, name=layer.name, source=_datasource(layer, src),
            providerKey="gdal" if layer.kind == "raster" else "ogr", expanded="0",
            checked="Qt::Checked" if layer.visible else "Qt::Unchecked",
        )  # fmt: skip
    order = ET.SubElement(tree, "custom-order", enabled="0")
    for lid in ids:
        ET.SubElement(order, "item").text = lid
    canvas = ET.SubElement(root, "mapcanvas", name="theMapCanvas", annotationsVisible="1")
    ET.SubElement(canvas, "units").text = _units(crs)
    if extent is not None:
        canvas.append(_extent(extent))
    ET.SubElement(canvas, "rotation").text = "0"
    ET.SubElement(canvas, "destinationsrs").append(_spatialrefsys(crs))
    projectlayers = ET.SubElement(root, "projectlayers")
    for layer, lid, src in zip(layers, ids, sources, strict=True):
        projectlayers.append(_maplayer(layer, lid, src, crs, extent))
    layerorder = ET.SubElement(root, "layerorder")
    for lid in ids:
        ET.SubElement(layerorder, "layer", id=lid)
    props = ET.SubElement(root, "properties")
    paths = ET.SubElement(props, "Paths")
    ET.SubElement(paths, "Absolute", type="bool").text = "false"
    ET.indent(root, space=" ")
    body = ET.tostring(root, encoding="unicode")
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + body + "\n"


def _maplayer(
    layer: QgisLayer, lid: str, src: str, crs: CRS | None, extent: Sequence[float] | None
) -> ET.Element:
    m = ET.Element("maplayer", type=layer.kind, hasScaleBasedVisibilityFlag="0")
    if layer.kind == "vector":
        m.set("geometry", layer.geometry)
        m.set("wkbType", layer.geometry)
    if extent is not None:
        m.append(_extent(extent))
    ET.SubElement(m, "id").text = lid
    ET.SubElement(m, "datasource").text = _datasource(layer, src)
    ET.SubElement(m, "layername").text = layer.name
    ET.SubElement(m, "srs").append(_spatialrefsys(crs))
    provider = ET.SubElement(m, "provider")
    if layer.kind == "raster":
        provider.text = "gdal"
        pipe = ET.SubElement(m, "pipe")
        renderer = _copy(layer.style)
        renderer.set("opacity", _num(layer.opacity))
        pipe.append(renderer)
        ET.SubElement(pipe, "brightnesscontrast", brightness="0", contrast="0", gamma="1")
        ET.SubElement(pipe, "huesaturation", saturation="0", grayscaleMode="0",
                      colorizeOn="0")  # fmt: skip
        ET.SubElement(pipe, "rasterresampler", maxOversampling="2")
    else:
        provider.set("encoding", "UTF-8")
        provider.text = "ogr"
        m.append(_copy(layer.style))
        ET.SubElement(m, "layerOpacity").text = _num(layer.opacity)
    ET.SubElement(m, "blendMode").text = "0"
    return m


def geopackage_project(
    gpkg: str | os.PathLike,
    path: str | os.PathLike | None = None,
    *,
    overwrite: bool = False,
) -> Path:
    """Write a QGIS project beside a GeoPackage that opens each of its feature layers
    with the default style stored in it (``layer_styles``), outlines otherwise.

    Parameters
    ----------
    gpkg : path-like
        A GeoPackage written by pcrs (:func:`pcrs.io.vector.write_geopackage`).
    path : path-like, optional
        The project; ``gpkg`` with the suffix ``.qgs`` by default.
    overwrite : bool

    Returns
    -------
    Path
    """
    gpkg = Path(gpkg)
    if not gpkg.is_file():
        raise PcrsIOError(f"{gpkg}: no such GeoPackage")
    project = Path(path) if path is not None else gpkg.with_suffix(".qgs")
    con = sqlite3.connect(f"file:{gpkg}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT c.table_name, g.geometry_type_name, c.srs_id, c.min_x, c.min_y, c.max_x, "
            "c.max_y FROM gpkg_contents c JOIN gpkg_geometry_columns g "
            "ON g.table_name = c.table_name WHERE c.data_type = 'features' ORDER BY c.rowid"
        ).fetchall()
        has_styles = con.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'layer_styles'"
        ).fetchone()
        styles = {}
        if has_styles:
            for table, qml in con.execute(
                "SELECT f_table_name, styleQML FROM layer_styles WHERE useAsDefault = 1"
            ):
                styles[table] = qml
        srs = {
            sid: (org, code, definition)
            for sid, org, code, definition in con.execute(
                "SELECT srs_id, organization, organization_coordsys_id, definition "
                "FROM gpkg_spatial_ref_sys"
            )
        }
    except sqlite3.DatabaseError as exc:
        raise PcrsIOError(f"{gpkg}: not a GeoPackage ({exc})") from None
    finally:
        con.close()
    if not rows:
        raise PcrsIOError(f"{gpkg}: no feature layer to open")
    layers, boxes, crs = [], [], None
    for table, gtype, sid, *box in rows:
        geometry = _geometry_kind(gtype)
        layers.append(
            vector_layer(gpkg, table, table, geometry=geometry, style_qml=styles.get(table))
        )
        if None not in box:
            boxes.append(box)
        if crs is None and sid in srs and sid > 0:
            org, code, definition = srs[sid]
            crs = f"{org}:{code}" if org and org.upper() == "EPSG" else definition
    extent = None
    if boxes:
        extent = (min(b[0] for b in boxes), min(b[1] for b in boxes),
                  max(b[2] for b in boxes), max(b[3] for b in boxes))  # fmt: skip
    # points on top of lines on top of polygons
    rank = {"Point": 0, "LineString": 1, "Polygon": 2}
    layers.sort(key=lambda la: rank.get(la.geometry, 3))
    return write_qgis_project(project, layers, crs, extent=extent, overwrite=overwrite)


# --- pieces ------------------------------------------------------------------------------


def _geometry_kind(gtype: str) -> str:
    g = (gtype or "").upper()
    if "POINT" in g:
        return "Point"
    if "LINE" in g:
        return "LineString"
    return "Polygon"


def _spatialrefsys(crs: CRS | None) -> ET.Element:
    s = ET.Element("spatialrefsys", nativeFormat="Wkt")
    if crs is None:
        for tag in ("wkt", "proj4", "authid", "description"):
            ET.SubElement(s, tag)
        return s
    horizontal = crs.sub_crs_list[0] if crs.is_compound and crs.sub_crs_list else crs
    code = horizontal.to_epsg()
    ET.SubElement(s, "wkt").text = horizontal.to_wkt()
    try:
        with warnings.catch_warnings():  # QGIS reads the WKT; the PROJ string is a courtesy
            warnings.simplefilter("ignore", UserWarning)
            proj4 = horizontal.to_proj4() or ""
    except Exception:  # pragma: no cover - CRSs without a PROJ string
        proj4 = ""
    ET.SubElement(s, "proj4").text = proj4
    ET.SubElement(s, "srid").text = str(code or 0)
    ET.SubElement(s, "authid").text = f"EPSG:{code}" if code else ""
    ET.SubElement(s, "description").text = horizontal.name
    ET.SubElement(s, "geographicflag").text = "true" if horizontal.is_geographic else "false"
    return s


def _units(crs: CRS | None) -> str:
    return "degrees" if crs is not None and crs.is_geographic else "meters"


def _extent(box: Sequence[float]) -> ET.Element:
    e = ET.Element("extent")
    for tag, v in zip(("xmin", "ymin", "xmax", "ymax"), box, strict=True):
        ET.SubElement(e, tag).text = _num(v)
    return e


def _relative(path: Path, home: Path) -> str:
    rel = os.path.relpath(Path(path).absolute(), Path(home).absolute()).replace(os.sep, "/")
    return rel if rel.startswith("../") else "./" + rel


def _datasource(layer: QgisLayer, src: str) -> str:
    return f"{src}|layername={layer.table}" if layer.kind == "vector" and layer.table else src


def _layer_id(layer: QgisLayer, index: int) -> str:
    stem = "".join(c if c.isalnum() else "_" for c in layer.name).strip("_") or "layer"
    digest = hashlib.sha1(f"{index}:{layer.path}:{layer.table}".encode()).hexdigest()[:8]
    return f"{stem}_{digest}"


def _copy(element: ET.Element) -> ET.Element:
    return ET.fromstring(ET.tostring(element))


def _num(v: float) -> str:
    return repr(float(v)) if not float(v).is_integer() else str(int(v))


def _check_colour(colour: str) -> None:
    c = colour.lstrip("#")
    if not colour.startswith("#") or len(c) != 6 or any(ch not in "0123456789abcdefABCDEF"
                                                          for ch in c):  # fmt: skip
        raise ParameterError(f"colour {colour!r} is not of the form '#rrggbb'")
