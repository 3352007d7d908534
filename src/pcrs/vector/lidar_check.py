"""Cross-check a PCRS delivery against a classified LiDAR point cloud.

Three checks, each a rule of the ``PCRS-LIDAR`` family of :data:`pcrs.vector.rules.RULES`:

- **Z residuals** (PCRS-LIDAR-001/002/009): the vertices of the objects the standard
  says are surveyed *at ground level* are compared with the LiDAR ground (classes 2, 9
  and 66, as IGN's DTM): a least-squares plane through the nearest ground points, or
  linear in a Delaunay TIN of them (:func:`pcrs.classify.height.ground_elevation`,
  ``LidarOptions(z_method="tin")``). A vertex with no ground point within
  ``ground_radius`` gets no residual. A per-object warning when the median residual of
  an object exceeds ``z_tolerance``; one delivery-level error when the median of all
  residuals is off by more than ``bias_tolerance`` (wrong vertical datum, ellipsoidal
  heights...).
- **Façades vs buildings** (PCRS-LIDAR-004/005/006): stations every 0.5 m along each
  FacadePCRS look for LiDAR building points (class 6) 0.5-1.5 m on each side. A façade
  without building points along most of its length is a warning; the side where the
  building lies is compared with the standard's convention (interior on the left).
- **Completeness** (PCRS-LIDAR-007): connected components of a 1 m occupancy raster of
  building points, inside the emprise, with no façade within ``building_facade_distance``.

Reading and computing are apart; only :mod:`pcrs.io` (and the GML reader) touch files:

- :mod:`pcrs.vector.lidar_check_delivery` streams the delivery with
  :class:`~pcrs.vector.gml.GmlReader` and keeps only the records and vertices of the objects
  checked, the emprises and the extent;
- :mod:`pcrs.vector.lidar_check_read` plans, from the headers (:class:`~pcrs.tiling.Catalog`),
  what to read of the files meeting the delivery's extent (COPC files window by window,
  others chunk by chunk) and yields the point clouds, read by :mod:`pcrs.io.las`;
- :mod:`pcrs.vector.lidar_check_digest` takes those clouds and keeps, within bounded memory,
  the ground points near the vertices and an occupancy raster of the building points;
- :mod:`pcrs.vector.lidar_check_z` and :mod:`pcrs.vector.lidar_check_buildings` make the
  findings from those arrays (:func:`compare`).

Examples
--------
>>> result = cross_check("delivery.gml", "lidar/")  # doctest: +SKIP
>>> result.stats["z"]["bias"], len(result.findings)  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import CRSError, MissingCRSError, ParameterError, PcrsIOError
from .gml import ARC_TOLERANCE
from .lidar_check_delivery import ABOVE_GROUND_NATURES, Delivery, read_delivery
from .rules import Finding
from .validate import _expand

if TYPE_CHECKING:
    from ..io.las import LasInfo
    from ..tiling import Catalog
    from .lidar_check_digest import LidarDigest

__all__ = [
    "ABOVE_GROUND_NATURES",
    "BUILDING_CLASSES",
    "GROUND_CLASSES",
    "GROUND_LEVEL_CLASSES",
    "Z_METHODS",
    "LidarOptions",
    "LidarResult",
    "cross_check",
    "open_lidar",
    "validate_with_lidar",
]

log = logging.getLogger(__name__)

#: LiDAR classes that make the ground surface: ground, water, virtual points (IGN's DTM)
GROUND_CLASSES = (2, 9, 66)
#: LiDAR classes of buildings
BUILDING_CLASSES = (6,)
#: ways of getting the ground Z under a vertex (see :class:`LidarOptions`)
Z_METHODS = ("plane", "tin")

#: PCRS classes whose vertices are surveyed at ground level, with the standard's words
#: (CNIG PCRS v2.0 r1, section B.3.x). FacadePCRS is *not* here: B.3.22 surveys it "à la
#: hauteur du soubassement (ou du trottoir en absence de soubassement)", a plinth that can
#: stand well above the pavement; nor SeuilPCRS (a sill, often a step up), MarcheEscalierPCRS
#: (steps), quays (surveyed at their nose, an edge), rails, surveyed and control points.
GROUND_LEVEL_CLASSES: dict[str, str] = {
    "LimiteVoiriePCRS": "B.3.20: levés point à point au niveau du sol / le long du fil d'eau",
    "ProeminenceBatiPCRS": "B.3.23: levée point par point au niveau du trottoir",
    "MurPCRS": "B.3.25: levés point par point, au sol (not retaining walls nor riprap)",
    "PilierParticulierPCRS": "B.3.28: levé point par point au niveau du sol",
    "ArbrePCRS": "B.3.30: point en axe du tronc, à hauteur du terrain naturel",
    "PilePontPCRS": "B.3.31: levées ... au niveau du sol (fil d'eau)",
    "AffleurantEnveloppePCRS": "B.3.32-37: réseau visible depuis la surface (flush fitting)",
    "AffleurantLignesPCRS": "B.3.32-37: réseau visible depuis la surface (flush fitting)",
    "AffleurantPointPCRS": "B.3.32-37: réseau visible depuis la surface (flush fitting)",
    "AffleurantSymbolePCRS": "B.3.32-37: réseau visible depuis la surface (flush fitting)",
}


@dataclass
class LidarOptions:
    """Thresholds of the LiDAR cross-check (metres unless stated).

    Attributes
    ----------
    z_tolerance : float
        Per object: |median residual| above this gives PCRS-LIDAR-001.
    bias_tolerance : float
        Delivery: |median of all residuals| above this gives PCRS-LIDAR-002.
    min_bias_vertices : int
        Fewer residuals than this: no delivery-level verdict.
    ground_radius : float
        A vertex with no LiDAR ground point within this distance gets no residual.
    facade_offsets : tuple of float
        Distances from a façade where building points are looked for, on each side.
    facade_step : float
        Spacing of the stations along façades.
    facade_min_share : float
        Share of a façade's stations (those with LiDAR) that must see building points.
    facade_min_length : float
        Shorter façades are not judged.
    building_min_area : float
        Smaller LiDAR building components are ignored (m²).
    building_facade_distance : float
        A LiDAR building with a façade closer than this counts as surveyed.
    cell : float
        Cell of the building raster; widened so that it holds at most ``max_cells``.
    margin : float
        Points are read this far around the delivery's extent.
    ground_classes, building_classes : tuple of int
    ground_level : tuple of str
        PCRS classes compared with the ground (default :data:`GROUND_LEVEL_CLASSES`).
    chunk_size : int
        Points per chunk when streaming a LAS/LAZ file.
    window : float
        Side of the windows a COPC file is read by.
    z_method : {"plane", "tin"}
        Ground Z under a vertex: a least-squares plane through the ``plane_neighbours``
        nearest ground points within ``ground_radius`` (default: no triangulation, and it
        averages the LiDAR's own noise), or linear in a Delaunay TIN of the ground points
        kept (the DTM's definition, as IGN's MNT; the triangulation dominates the run time).
    plane_neighbours : int
    """

    z_tolerance: float = 0.30
    bias_tolerance: float = 0.20
    min_bias_vertices: int = 20
    ground_radius: float = 2.0
    facade_offsets: tuple[float, ...] = (0.5, 1.0, 1.5)
    facade_step: float = 0.5
    facade_min_share: float = 0.5
    facade_min_length: float = 2.0
    building_min_area: float = 20.0
    building_facade_distance: float = 3.0
    cell: float = 0.5
    max_cells: int = 100_000_000
    margin: float = 10.0
    ground_classes: tuple[int, ...] = GROUND_CLASSES
    building_classes: tuple[int, ...] = BUILDING_CLASSES
    ground_level: tuple[str, ...] = tuple(GROUND_LEVEL_CLASSES)
    chunk_size: int = 2_000_000
    window: float = 250.0
    z_method: str = "plane"
    plane_neighbours: int = 8

    def __post_init__(self) -> None:
        if self.z_method not in Z_METHODS:
            raise ParameterError(f"z_method={self.z_method!r}: choose one of {Z_METHODS}")
        for name in ("z_tolerance", "bias_tolerance", "ground_radius", "facade_step", "cell",
                     "window", "building_facade_distance"):  # fmt: skip
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and value > 0 and math.isfinite(value)):
                raise ParameterError(f"{name} must be a positive number of metres, got {value!r}")
        if not 0 < self.facade_min_share <= 1:
            raise ParameterError(
                f"facade_min_share must be in (0, 1], got {self.facade_min_share!r}"
            )
        unknown = set(self.ground_level) - set(GROUND_LEVEL_CLASSES) - {"FacadePCRS", "SeuilPCRS"}
        if unknown:
            raise ParameterError(
                f"ground_level: {sorted(unknown)!r} cannot be compared with the ground; choose "
                f"among {[*sorted(GROUND_LEVEL_CLASSES), 'FacadePCRS', 'SeuilPCRS']}"
            )


@dataclass
class LidarResult:
    """What :func:`cross_check` found: ``findings`` (PCRS-LIDAR-*) and ``stats``
    (``"z"``: count, bias, mean, rmse, p95...; ``"facades"``; ``"buildings"``; the files)."""

    findings: list[Finding] = field(default_factory=list)
    stats: dict[str, Any] = field(default_factory=dict)


# --- the LiDAR side ---------------------------------------------------------------------------


def open_lidar(
    lidar: str | os.PathLike | Iterable[str | os.PathLike] | Catalog, crs: Any = None
) -> Catalog:
    """Index the LiDAR files from their headers and check they can be used.

    Parameters
    ----------
    lidar : path-like, iterable of path-like, or Catalog
        A folder of LAS/LAZ/COPC files, files, or an existing catalog.
    crs : CRS-like, optional
        The CRS of the LiDAR when its headers have none (or a wrong one).

    Returns
    -------
    pcrs.tiling.Catalog

    Raises
    ------
    PcrsIOError
        Missing folder, no LAS/LAZ file, or a file whose header cannot be read.
    MissingCRSError
        A file without CRS and no ``crs`` given.
    CRSError
        Files in different CRSs.
    """
    from ..io.crs import horizontal_epsg
    from ..tiling import Catalog

    if isinstance(lidar, Catalog):
        catalog = lidar
    else:
        paths = [lidar] if isinstance(lidar, (str, os.PathLike)) else list(lidar)
        for p in paths:
            if not Path(p).exists():
                raise PcrsIOError(f"--lidar {str(p)!r}: no such folder or file; check the path")
        catalog = Catalog.from_paths(paths, crs=crs, on_error="raise")
    if not catalog.files:
        raise PcrsIOError("no readable LAS/LAZ file in the LiDAR folder")
    missing = [f.path for f in catalog.files if f.crs is None]
    if missing:
        raise MissingCRSError(
            f"{missing[0]}: no CRS in the LiDAR header ({len(missing)} file(s) without one); "
            "pass --lidar-crs EPSG:2154 (lidar_crs=... in Python) to say which it is"
        )
    codes = {horizontal_epsg(f.crs) for f in catalog.files}
    if len(codes) > 1:
        shown = ", ".join(f"EPSG:{c}" if c else "unknown" for c in sorted(codes, key=str))
        raise CRSError(
            f"the LiDAR files are in {len(codes)} different CRSs ({shown}); "
            "give the folder of one CRS (reproject the others first)"
        )
    return catalog


# --- the cross-check ---------------------------------------------------------------------


def _delivery_epsg(d: Delivery) -> tuple[int | None, str]:
    """The horizontal EPSG code of the delivery's most common ``srsName``, and that name."""
    from ..io.crs import horizontal_epsg, parse_crs

    if not d.srs:
        raise CRSError(
            "the delivery declares no srsName on its geometries, so it cannot be placed on "
            "the LiDAR; write srsName (e.g. EPSG:2154) on the geometries"
        )
    srs_name = d.srs.most_common(1)[0][0]
    try:
        return horizontal_epsg(parse_crs(srs_name)), srs_name
    except CRSError as exc:
        raise CRSError(f"the delivery's srsName {srs_name!r} is not a CRS pyproj knows") from exc


def _lidar_over(
    d: Delivery, catalog: Catalog, margin: float
) -> tuple[str, tuple[float, float, float, float], list[LasInfo]]:
    """Check that the LiDAR can be compared with the delivery; find the files to read.

    Returns
    -------
    crs : str
        ``"EPSG:code"``, shared by both.
    box : (minx, miny, maxx, maxy)
        The delivery's extent widened by ``margin``.
    files : list of pcrs.io.las.LasInfo
        The files whose header box meets ``box``.

    Raises
    ------
    CRSError
        Different planimetric CRSs (both named), or a delivery without CRS.
    PcrsIOError
        A delivery without geometry, or no LiDAR file over it.
    """
    from ..io.crs import horizontal_epsg

    d_code, srs_name = _delivery_epsg(d)
    l_code = horizontal_epsg(catalog.files[0].crs)
    if d_code != l_code:
        raise CRSError(
            f"the LiDAR is in EPSG:{l_code} and the delivery in EPSG:{d_code}"
            + (f" ({srs_name})" if srs_name != f"EPSG:{d_code}" else "")
            + ": they must share the planimetric CRS; reproject the LiDAR to "
            f"EPSG:{d_code} (e.g. with PDAL's filters.reprojection) or give the LiDAR of that CRS"
        )
    b = d.bounds
    if not np.isfinite(b).all():
        raise PcrsIOError("the delivery has no readable geometry to compare with the LiDAR")
    box = (b[0] - margin, b[1] - margin, b[2] + margin, b[3] + margin)
    hits = catalog.query(box)
    if not hits:
        cb = catalog.bounds
        raise PcrsIOError(
            "no LiDAR file overlaps the delivery: delivery extent "
            f"({b[0]:.0f}, {b[1]:.0f}, {b[2]:.0f}, {b[3]:.0f}), "
            f"LiDAR extent ({cb[0]:.0f}, {cb[1]:.0f}, {cb[2]:.0f}, {cb[3]:.0f}) in EPSG:{d_code}; "
            "give the LiDAR tiles of this area"
        )
    return f"EPSG:{d_code}", box, hits


def compare(
    d: Delivery, lidar: LidarDigest, opt: LidarOptions, stats: dict[str, Any], file: str
) -> list[Finding]:
    """Run the three checks of a delivery against what was kept of the LiDAR.

    Compute only: no file is read.

    Parameters
    ----------
    d : Delivery
        The delivery (:func:`pcrs.vector.lidar_check_delivery.read_delivery`).
    lidar : LidarDigest
        Every LiDAR point of the delivery's extent taken
        (:class:`pcrs.vector.lidar_check_digest.LidarDigest`).
    opt : LidarOptions
    stats : dict
        Receives ``"z"``, ``"facades"`` and ``"buildings"``.
    file : str
        Where delivery-level findings are placed.

    Returns
    -------
    list of Finding
        Z findings, then façade and completeness findings.
    """
    from .lidar_check_buildings import check_completeness, check_facades
    from .lidar_check_z import check_z

    findings: list[Finding] = []
    vertices, owner = d.vertices()
    if len(vertices) and not lidar.has_ground:
        findings.append(Finding("PCRS-LIDAR-003", {"points": int(lidar.points)}, file=file))
        stats["z"] = {"vertices": len(vertices), "compared": 0}
    else:
        z_findings, stats["z"] = check_z(d, vertices, owner, lidar.ground, opt, file)
        findings += z_findings
    fstats: dict[str, Any] = {"facades": len({p[0] for p in d.facade_parts})}
    bstats: dict[str, Any] = {}
    if not lidar.has_building:
        if d.facade_parts or d.emprises:
            findings.append(Finding("PCRS-LIDAR-008", {}, file=file))
    else:
        findings += check_facades(d, opt, lidar, fstats)
        findings += check_completeness(d, opt, lidar, bstats, file)
    stats["facades"] = fstats
    stats["buildings"] = bstats
    return findings


def cross_check(
    paths: str | os.PathLike | Iterable[str | os.PathLike],
    lidar: str | os.PathLike | Iterable[str | os.PathLike] | Catalog,
    *,
    options: LidarOptions | None = None,
    lang: str = "en",
    lidar_crs: Any = None,
    arc_tolerance: float = ARC_TOLERANCE,
) -> LidarResult:
    """Compare a PCRS delivery with a classified LiDAR point cloud.

    Parameters
    ----------
    paths : path or iterable of paths
        The delivery's GML files, or folders of them.
    lidar : path-like, iterable of path-like, or pcrs.tiling.Catalog
        LAS/LAZ/COPC files or a folder of them (only the files meeting the delivery are read).
    options : LidarOptions, optional
        Thresholds.
    lang : {"en", "fr"}
        Language of the log messages (findings carry both languages).
    lidar_crs : CRS-like, optional
        CRS of the LiDAR when its headers have none.
    arc_tolerance : float
        Arc linearisation tolerance of the GML reader.

    Returns
    -------
    LidarResult
        ``findings`` (rules PCRS-LIDAR-*) and ``stats`` for the report summary.

    Raises
    ------
    PcrsIOError
        Missing or unreadable LiDAR input, or no LiDAR file overlapping the delivery.
    CRSError
        The LiDAR and the delivery are not in the same planimetric CRS (both EPSG codes
        are named), or the delivery declares no CRS.

    Notes
    -----
    Reading and computing are apart: the delivery is read by
    :func:`~pcrs.vector.lidar_check_delivery.read_delivery`, the LiDAR files by
    :func:`~pcrs.vector.lidar_check_read.read_lidar` (through :mod:`pcrs.io`), whose point
    clouds a :class:`~pcrs.vector.lidar_check_digest.LidarDigest` takes; :func:`compare`
    then works on arrays.

    Examples
    --------
    >>> from pcrs import synth
    >>> from pcrs.io import las
    >>> from pcrs.vector.sample import write_scene_delivery
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> scene = synth.make_scene(100_000, seed=4)
    >>> las.write(scene.cloud, d / "lidar.laz")
    >>> gml = write_scene_delivery(d / "delivery.gml", scene)
    >>> result = cross_check(gml, d / "lidar.laz")
    >>> [f.rule for f in result.findings if f.severity == "error"]
    []
    """
    from .lidar_check_digest import LidarDigest
    from .lidar_check_read import read_lidar, reading_plan

    t0 = time.perf_counter()
    opt = options or LidarOptions()
    if lang not in ("en", "fr"):
        raise ParameterError(f"lang={lang!r}: choose 'en' or 'fr'")
    catalog = open_lidar(lidar, lidar_crs)
    files = _expand(paths)  # the validator's: same files, same messages
    d = read_delivery(files, set(opt.ground_level), arc_tolerance)
    stats: dict[str, Any] = {"delivery_features": d.features}
    stats["crs"], box, hits = _lidar_over(d, catalog, opt.margin)
    stats["lidar_files"] = [str(f.path) for f in hits]
    digest = LidarDigest(box, d.vertices()[0], opt)
    for cloud in read_lidar(reading_plan(hits, box, opt.window), opt.chunk_size):
        digest.take(cloud)
    stats["points_read"] = int(digest.points)
    stats["class_counts"] = {int(c): int(n) for c, n in enumerate(digest.class_counts) if n}
    if digest.points == 0:
        raise PcrsIOError(
            "the LiDAR files whose headers meet the delivery hold no point inside its extent; "
            "give the LiDAR tiles of this area"
        )
    findings = compare(d, digest, opt, stats, str(files[0]))
    stats["seconds"] = round(time.perf_counter() - t0, 3)
    log.info("LiDAR cross-check: %d findings in %.1f s", len(findings), stats["seconds"])
    return LidarResult(findings, stats)


def validate_with_lidar(
    paths,
    lidar,
    *,
    schemas=None,
    lang: str = "en",
    options=None,
    lidar_options: LidarOptions | None = None,
    lidar_crs: Any = None,
):
    """:func:`pcrs.vector.validate` followed by :func:`cross_check`, in one report.

    Parameters
    ----------
    paths, schemas, lang, options
        As for :func:`pcrs.vector.validate`.
    lidar : path-like or Catalog
        As for :func:`cross_check`.
    lidar_options : LidarOptions, optional
    lidar_crs : CRS-like, optional

    Returns
    -------
    pcrs.vector.Report
        With the PCRS-LIDAR findings and ``summary()["lidar"]``.
    """
    from .validate import validate

    catalog = open_lidar(lidar, lidar_crs)  # bad LiDAR input fails before the long part
    report = validate(paths, schemas=schemas, lang=lang, options=options)
    result = cross_check(paths, catalog, options=lidar_options, lang=lang)
    report.extend(result.findings, lidar=result.stats)
    return report
