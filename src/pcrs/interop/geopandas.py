"""Validation findings and catalog footprints as GeoPandas GeoDataFrames.

- :func:`report_to_geodataframe` (``Report.to_geodataframe()``): one row per
  finding of a :class:`~pcrs.vector.report.Report`, the columns of the JSON
  report (``rule``, ``severity``, ``message``, ``file``, ``line``,
  ``feature_class``, ``gml_id``, ``id_objet``, ``field``), a point geometry for
  located findings and an empty one (None) for the others, in the report's CRS;
- :func:`catalog_to_geodataframe` (``Catalog.to_geodataframe()``): one polygon
  per file (its header bounding box) with its header facts, in the catalog's CRS.

Needs ``geopandas`` (``pip install 'pcrs[geopandas]'``), imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import shapely

from ..errors import CRSError, MissingExtraError

if TYPE_CHECKING:
    from ..tiling.catalog import Catalog
    from ..vector.report import Report

__all__ = ["catalog_to_geodataframe", "report_to_geodataframe"]

_FINDING_COLUMNS = ("rule", "severity", "message", "file", "line", "feature_class", "gml_id",
                    "id_objet", "field")  # fmt: skip


def _import_geopandas() -> Any:
    try:
        import geopandas
    except ModuleNotFoundError as exc:
        raise MissingExtraError(
            "GeoDataFrames need the optional package 'geopandas'; install it with: "
            "pip install 'pcrs[geopandas]'"
        ) from exc
    return geopandas


def report_crs(report: Report) -> Any:
    """The CRS of a report: the first one a validated file declared (None if none did)."""
    for fi in report.files:
        if fi.get("crs"):
            return fi["crs"]
    return None


def report_to_geodataframe(
    report: Report, *, lang: str | None = None, located_only: bool = False
) -> Any:
    """The findings of a validation report as a ``geopandas.GeoDataFrame``.

    Parameters
    ----------
    report : Report
    lang : {"en", "fr"}, optional
        Language of the messages (the report's by default).
    located_only : bool
        Keep only the findings with coordinates.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per finding, the JSON report's columns, a ``geometry`` column of
        points (None for findings without a place), the report's CRS.
    """
    gpd = _import_geopandas()
    lang = lang or report.lang
    findings = [
        f for f in report.findings if not located_only or (f.x is not None and f.y is not None)
    ]
    rows = [f.to_dict(lang) for f in findings]
    data = {c: [r[c] for r in rows] for c in _FINDING_COLUMNS}
    geoms = [
        shapely.Point(f.x, f.y) if f.x is not None and f.y is not None else None for f in findings
    ]
    return gpd.GeoDataFrame(data, geometry=geoms, crs=report_crs(report))


def catalog_to_geodataframe(catalog: Catalog) -> Any:
    """The files of a catalog as a ``geopandas.GeoDataFrame`` of footprints.

    Parameters
    ----------
    catalog : Catalog

    Returns
    -------
    geopandas.GeoDataFrame
        One polygon per readable file (its header's bounding box) with the
        columns ``path``, ``name``, ``points``, ``point_format``,
        ``las_version``, ``copc``, ``crs`` (EPSG code or None), ``density``
        (points per m² of the box), ``zmin``, ``zmax``, ``file_size``; the
        catalog's CRS (none when the files' CRSs differ).
    """
    gpd = _import_geopandas()
    try:
        crs = catalog.crs
    except CRSError:
        crs = None
    geoms = catalog.footprints()
    infos = [f.to_dict() for f in catalog.files]
    data = {
        "path": [i["path"] for i in infos],
        "name": [f.path.name for f in catalog.files],
        "points": [f.points for f in catalog.files],
        "point_format": [f.point_format for f in catalog.files],
        "las_version": [f.las_version for f in catalog.files],
        "copc": [f.copc for f in catalog.files],
        "crs": [i["crs"] for i in infos],
        "density": [
            f.points / g.area if g.area > 0 else None
            for f, g in zip(catalog.files, geoms, strict=True)
        ],
        "zmin": [f.bounds[2] for f in catalog.files],
        "zmax": [f.bounds[5] for f in catalog.files],
        "file_size": [f.file_size for f in catalog.files],
    }
    return gpd.GeoDataFrame(data, geometry=geoms, crs=crs)
