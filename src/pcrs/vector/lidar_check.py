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

Memory stays bounded: the delivery is streamed with :class:`~pcrs.vector.gml.GmlReader`
(only the vertices of the objects checked are kept), the LiDAR files are found from
their headers (:class:`~pcrs.tiling.Catalog`) and only the points inside the delivery's
extent are kept: COPC files are read window by window, others chunk by chunk. Ground
points are kept only near the vertices they are compared with; building points are
counted into a raster as they stream.

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
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from scipy import ndimage
from scipy.spatial import cKDTree

from .._progress import progress
from ..errors import CRSError, MissingCRSError, ParameterError, PcrsIOError
from .gml import ARC_TOLERANCE, GmlReader, Member
from .rules import Finding
from .validate import _expand

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

#: affleurant natures that stand above the ground (their Z may be their top): not compared.
#: 02 boîte/coffret/armoire, 05 bouche/poteau incendie, 06 poteau, 07 poteau d'éclairage
ABOVE_GROUND_NATURES = frozenset({"02", "05", "06", "07"})
#: MurPCRS types whose two sides are at different ground levels: 02 soutènement, 06 enrochement
_WALLS_NOT_COMPARED = frozenset({"02", "06"})
_AFFLEURANT_REPS = {"AffleurantEnveloppePCRS", "AffleurantLignesPCRS", "AffleurantPointPCRS"}


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


def open_lidar(lidar, crs: Any = None):
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


# --- the delivery side ------------------------------------------------------------------------


def _on_record(
    rule: str, params: dict, record: tuple, x: float, y: float, field: str | None = "geometrie"
) -> Finding:
    """A finding placed on one object of the delivery (``record``: file, line, class, ids)."""
    file, line, cls, gid, ido = record
    return Finding(
        rule, params, file=file, line=line, feature_class=cls, gml_id=gid, id_objet=ido,
        x=float(x), y=float(y), field=field,
    )  # fmt: skip


def _target(prop) -> str | None:
    if prop.inline is not None:
        return prop.inline.gml_id
    if prop.href:
        return prop.href.rpartition("#")[2] or None
    return None


@dataclass
class _Delivery:
    """What the checks keep of a delivery: per object one record, and its vertices."""

    records: list = field(default_factory=list)  # (file, line, cls, gml_id, id_objet, kind)
    coords: list = field(default_factory=list)  # (n, 3) arrays
    facade_parts: list = field(default_factory=list)  # (record index, (n, 2) array)
    emprises: list = field(default_factory=list)
    srs: Counter = field(default_factory=Counter)
    nature_of: dict = field(default_factory=dict)  # representation/symbol id -> (nature, idObjet)
    geo_of: dict = field(default_factory=dict)  # representation part id -> geometric id
    bounds: list = field(default_factory=lambda: [np.inf, np.inf, -np.inf, -np.inf])
    features: int = 0

    def grow(self, xy: np.ndarray) -> None:
        ok = np.isfinite(xy).all(axis=1)
        if not ok.any():
            return
        lo = xy[ok].min(axis=0)
        hi = xy[ok].max(axis=0)
        b = self.bounds
        b[0], b[1] = min(b[0], lo[0]), min(b[1], lo[1])
        b[2], b[3] = max(b[2], hi[0]), max(b[3], hi[1])


def _read_delivery(files: list[Path], ground_level: set[str], tolerance: float) -> _Delivery:
    d = _Delivery()
    wanted = ground_level | {"FacadePCRS"}
    for path in files:
        reader = GmlReader(path, tolerance)
        for member in reader.members():
            if not isinstance(member, Member):
                continue
            for f in member.features:
                d.features += 1
                cls = f.cls
                if cls == "AffleurantPCRS":
                    nature = f.first_text("nature")
                    for p in f.props:
                        if p.name in ("representation", "symbolisation"):
                            t = _target(p)
                            if t:
                                d.nature_of[t] = (nature, f.first_text("idObjet"))
                    continue
                if cls == "AffleurantGeometriquePCRS":
                    for p in f.props:
                        if p.name in ("enveloppe", "ligne", "point"):
                            t = _target(p)
                            if t and f.gml_id:
                                d.geo_of[t] = f.gml_id
                    continue
                if cls != "EmpriseEchangePCRS" and cls not in wanted:
                    continue
                g = f.geometry
                shape = g.shape if g is not None else None
                if shape is None or shape.is_empty:
                    continue
                if g.srs:
                    d.srs[g.srs] += 1
                if cls == "EmpriseEchangePCRS":
                    d.emprises.append(shapely.force_2d(shape))
                    d.grow(shapely.get_coordinates(shape))
                    continue
                if cls == "MurPCRS" and (f.first_text("typeMur") or "").strip() in (
                    _WALLS_NOT_COMPARED
                ):
                    continue
                xyz = shapely.get_coordinates(shape, include_z=True)
                d.grow(xyz[:, :2])
                rec = len(d.records)
                d.records.append((str(path), f.line, cls, f.gml_id, f.first_text("idObjet")))
                d.coords.append(xyz if cls in ground_level else xyz[:0])
                if cls == "FacadePCRS":
                    for part in shapely.get_parts(shape):
                        if part.geom_type == "Polygon":
                            part = part.exterior
                        c = shapely.get_coordinates(part)
                        if len(c) >= 2:
                            d.facade_parts.append((rec, c))
    return d


def _affleurant_filter(d: _Delivery) -> None:
    """Drop the affleurant representations whose nature stands above the ground and give
    them the idObjet of their AffleurantPCRS."""
    for i, (file, line, cls, gid, ido) in enumerate(d.records):
        if cls not in _AFFLEURANT_REPS and cls != "AffleurantSymbolePCRS":
            continue
        hit = d.nature_of.get(gid) or d.nature_of.get(d.geo_of.get(gid, ""))
        if hit is None:
            continue
        nature, parent_id = hit
        if (nature or "").strip() in ABOVE_GROUND_NATURES:
            d.coords[i] = d.coords[i][:0]
        if ido is None and parent_id:
            d.records[i] = (file, line, cls, gid, parent_id)


# --- grids ------------------------------------------------------------------------------------


@dataclass
class _Grid:
    x0: float
    y0: float
    cell: float
    nx: int
    ny: int

    @classmethod
    def over(cls, box, cell: float) -> _Grid:
        x0 = math.floor(box[0] / cell) * cell
        y0 = math.floor(box[1] / cell) * cell
        nx = max(1, math.ceil((box[2] - x0) / cell))
        ny = max(1, math.ceil((box[3] - y0) / cell))
        return cls(x0, y0, cell, nx, ny)

    def index(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Flat cell index per point, and whether the point is in the grid."""
        col = np.floor((x - self.x0) / self.cell).astype(np.int64)
        row = np.floor((y - self.y0) / self.cell).astype(np.int64)
        ok = (col >= 0) & (col < self.nx) & (row >= 0) & (row < self.ny)
        return np.where(ok, row * self.nx + col, 0), ok

    def centres(self, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        row, col = np.divmod(flat, self.nx)
        return self.x0 + (col + 0.5) * self.cell, self.y0 + (row + 0.5) * self.cell


# --- the cross-check --------------------------------------------------------------------------


def _fmt(v: float, sign: bool = True) -> str:
    return f"{v:+.2f}" if sign else f"{v:.2f}"


def _group_stats(fid: np.ndarray, res: np.ndarray, n_groups: int):
    """Per group: count, median, and index of the element of largest |res| (vectorised)."""
    order = np.lexsort((res, fid))
    counts = np.bincount(fid, minlength=n_groups)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    has = counts > 0
    s = res[order]
    lo = starts + (counts - 1) // 2
    hi = starts + counts // 2
    median = np.full(n_groups, np.nan)
    median[has] = (s[lo[has]] + s[hi[has]]) / 2
    order_abs = np.lexsort((np.abs(res), fid))
    worst = np.full(n_groups, -1, np.int64)
    worst[has] = order_abs[(starts + counts - 1)[has]]
    return counts, median, worst


def cross_check(
    paths: str | os.PathLike | Iterable[str | os.PathLike],
    lidar,
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
    from ..classify.height import ground_elevation
    from ..io import las
    from ..io.crs import horizontal_epsg, parse_crs

    t0 = time.perf_counter()
    opt = options or LidarOptions()
    if lang not in ("en", "fr"):
        raise ParameterError(f"lang={lang!r}: choose 'en' or 'fr'")
    catalog = open_lidar(lidar, lidar_crs)
    files = _expand(paths)  # the validator's: same files, same messages
    ground_level = set(opt.ground_level)
    d = _read_delivery(files, ground_level, arc_tolerance)
    _affleurant_filter(d)
    findings: list[Finding] = []
    stats: dict[str, Any] = {"delivery_features": d.features}

    # --- CRS and extent --------------------------------------------------------------------
    if not d.srs:
        raise CRSError(
            "the delivery declares no srsName on its geometries, so it cannot be placed on "
            "the LiDAR; write srsName (e.g. EPSG:2154) on the geometries"
        )
    srs_name = d.srs.most_common(1)[0][0]
    try:
        d_code = horizontal_epsg(parse_crs(srs_name))
    except CRSError as exc:
        raise CRSError(f"the delivery's srsName {srs_name!r} is not a CRS pyproj knows") from exc
    l_code = horizontal_epsg(catalog.files[0].crs)
    if d_code != l_code:
        raise CRSError(
            f"the LiDAR is in EPSG:{l_code} and the delivery in EPSG:{d_code}"
            + (f" ({srs_name})" if srs_name != f"EPSG:{d_code}" else "")
            + ": they must share the planimetric CRS; reproject the LiDAR to "
            f"EPSG:{d_code} (e.g. with PDAL's filters.reprojection) or give the LiDAR of that CRS"
        )
    if not np.isfinite(d.bounds).all():
        raise PcrsIOError("the delivery has no readable geometry to compare with the LiDAR")
    m = opt.margin
    box = (d.bounds[0] - m, d.bounds[1] - m, d.bounds[2] + m, d.bounds[3] + m)
    hits = catalog.query(box)
    if not hits:
        cb = catalog.bounds
        raise PcrsIOError(
            "no LiDAR file overlaps the delivery: delivery extent "
            f"({d.bounds[0]:.0f}, {d.bounds[1]:.0f}, {d.bounds[2]:.0f}, {d.bounds[3]:.0f}), "
            f"LiDAR extent ({cb[0]:.0f}, {cb[1]:.0f}, {cb[2]:.0f}, {cb[3]:.0f}) in EPSG:{d_code}; "
            "give the LiDAR tiles of this area"
        )
    stats["crs"] = f"EPSG:{d_code}"
    stats["lidar_files"] = [str(f.path) for f in hits]

    # --- what to keep while reading ---------------------------------------------------------
    n_rec = len(d.records)
    lens = np.array([len(c) for c in d.coords], np.int64)
    allv = np.vstack(d.coords) if n_rec and lens.sum() else np.zeros((0, 3))
    vfid = np.repeat(np.arange(n_rec, dtype=np.int64), lens)
    okz = np.isfinite(allv).all(axis=1)
    allv, vfid = allv[okz], vfid[okz]
    coarse = _Grid.over(box, opt.ground_radius)
    need = np.zeros(coarse.ny * coarse.nx, bool)
    if len(allv):
        idx, ok = coarse.index(allv[:, 0], allv[:, 1])
        need[idx[ok]] = True
        need = ndimage.binary_dilation(
            need.reshape(coarse.ny, coarse.nx), np.ones((3, 3), bool)
        ).ravel()
    covered = np.zeros(coarse.ny * coarse.nx, bool)
    area = (box[2] - box[0]) * (box[3] - box[1])
    cell = max(opt.cell, math.sqrt(area / opt.max_cells))
    fine = _Grid.over(box, cell)
    buildings = np.zeros(fine.ny * fine.nx, bool)  # one byte per cell: occupied or not
    class_counts = np.zeros(256, np.int64)
    gparts: list[np.ndarray] = []
    g_classes = np.asarray(opt.ground_classes)
    b_classes = np.asarray(opt.building_classes)
    n_read = 0

    def take(cloud) -> None:
        nonlocal n_read
        if len(cloud) == 0:
            return
        x, y = cloud.x, cloud.y
        cls = np.asarray(cloud.attributes.get("classification", np.zeros(len(cloud), np.uint8)))
        ci, inside = coarse.index(x, y)
        inside &= (x >= box[0]) & (x <= box[2]) & (y >= box[1]) & (y <= box[3])
        if not inside.any():
            return
        x, y, z, cls, ci = x[inside], y[inside], cloud.z[inside], cls[inside], ci[inside]
        n_read += x.size
        covered[ci] = True
        class_counts[:] += np.bincount(cls.astype(np.int64), minlength=256)[:256]
        g = np.isin(cls, g_classes) & need[ci]
        if g.any():
            gparts.append(np.column_stack([x[g], y[g], z[g]]))
        b = np.isin(cls, b_classes)
        if b.any():
            fi, ok = fine.index(x[b], y[b])
            buildings[fi[ok]] = True

    # COPC files: windows of the extent, half-open so that no point is taken twice
    jobs: list[tuple[Any, tuple | None]] = []
    for info in hits:
        if not info.copc:
            jobs.append((info, None))
            continue
        fb = info.bounds
        wx0, wy0 = max(box[0], fb[0]), max(box[1], fb[1])
        wx1, wy1 = min(box[2], fb[3]), min(box[3], fb[4])
        if wx1 < wx0 or wy1 < wy0:
            continue
        xs = np.arange(wx0, wx1, opt.window) if wx1 > wx0 else np.array([wx0])
        ys = np.arange(wy0, wy1, opt.window) if wy1 > wy0 else np.array([wy0])
        for xa in xs:
            for ya in ys:
                xb, yb = min(xa + opt.window, wx1), min(ya + opt.window, wy1)
                jobs.append((info, (xa, ya, xb, yb, xb >= wx1, yb >= wy1)))
    for info, window in progress(jobs, len(jobs), "reading LiDAR"):
        if window is None:
            for chunk in las.iter_chunks(info.path, opt.chunk_size, crs=info.crs):
                take(chunk)
            continue
        xa, ya, xb, yb, last_x, last_y = window
        cloud = las.read_window(info.path, (xa, ya, xb, yb), crs=info.crs)
        keep = ((cloud.x < xb) | last_x) & ((cloud.y < yb) | last_y)
        take(cloud if keep.all() else cloud[keep])
    stats["points_read"] = int(n_read)
    stats["class_counts"] = {int(c): int(n) for c, n in enumerate(class_counts) if n}
    if n_read == 0:
        raise PcrsIOError(
            "the LiDAR files whose headers meet the delivery hold no point inside its extent; "
            "give the LiDAR tiles of this area"
        )
    has_ground = bool(class_counts[np.asarray(opt.ground_classes)].sum())
    has_building = bool(class_counts[np.asarray(opt.building_classes)].sum())
    first_file = str(files[0])

    # --- Z residuals -----------------------------------------------------------------------
    zstats: dict[str, Any] = {"vertices": len(allv), "compared": 0}
    if len(allv) and not has_ground:
        findings.append(Finding("PCRS-LIDAR-003", {"points": int(n_read)}, file=first_file))
    elif len(allv):
        gp = np.vstack(gparts) if gparts else np.zeros((0, 3))
        res = np.full(len(allv), np.nan)
        if len(gp):
            ox, oy = float(gp[:, 0].min()), float(gp[:, 1].min())
            tree = cKDTree(np.column_stack([gp[:, 0] - ox, gp[:, 1] - oy]))
            dist, _ = tree.query(
                np.column_stack([allv[:, 0] - ox, allv[:, 1] - oy]),
                k=1,
                distance_upper_bound=opt.ground_radius,
            )
            has = np.isfinite(dist)
            if has.any() and opt.z_method == "tin":
                gz = ground_elevation(
                    gp[:, 0], gp[:, 1], gp[:, 2], allv[has, 0], allv[has, 1], method="tin"
                )
                res[has] = allv[has, 2] - gz
            elif has.any():
                q = np.column_stack([allv[has, 0] - ox, allv[has, 1] - oy])
                gz = _plane_ground(tree, gp[:, 2], q, opt.plane_neighbours, opt.ground_radius)
                res[has] = allv[has, 2] - gz
        ok = np.isfinite(res)
        n_ok = int(ok.sum())
        zstats["compared"] = n_ok
        missing = len(allv) - n_ok
        if missing and missing > 0.1 * len(allv):
            findings.append(
                Finding(
                    "PCRS-LIDAR-009",
                    {
                        "count": missing,
                        "total": len(allv),
                        "radius": _fmt(opt.ground_radius, False),
                    },
                    file=first_file,
                )
            )
        if n_ok:
            r = res[ok]
            bias = float(np.median(r))
            zstats.update(
                bias=round(bias, 3),
                mean=round(float(r.mean()), 3),
                std=round(float(r.std()), 3),
                rmse=round(float(np.sqrt(np.mean(r**2))), 3),
                p95_abs=round(float(np.percentile(np.abs(r), 95)), 3),
                max_abs=round(float(np.abs(r).max()), 3),
            )
            biased = n_ok >= opt.min_bias_vertices and abs(bias) > opt.bias_tolerance
            counts, med, worst = _group_stats(vfid[ok], r, n_rec)
            zstats["objects_compared"] = int((counts > 0).sum())
            bad = np.flatnonzero((counts > 0) & (np.abs(np.nan_to_num(med)) > opt.z_tolerance))
            zstats["objects_over_tolerance"] = int(bad.size)
            if biased:
                hint = hint_fr = ""
                if 20 <= abs(bias) <= 70:
                    hint = (
                        ", about the gap between ellipsoidal heights and NGF-IGN69 altitudes "
                        "in metropolitan France (44-56 m)"
                    )
                    hint_fr = (
                        ", de l'ordre de l'écart entre hauteurs ellipsoïdales et altitudes "
                        "NGF-IGN69 en métropole (44 à 56 m)"
                    )
                findings.append(
                    Finding(
                        "PCRS-LIDAR-002",
                        {
                            "bias": _fmt(bias),
                            "count": n_ok,
                            "tolerance": _fmt(opt.bias_tolerance, False),
                            "hint": hint,
                            "hint_fr": hint_fr,
                        },
                        file=first_file,
                    )
                )
            else:
                vok = allv[ok]
                for i in bad:
                    w = worst[i]
                    params = {
                        "residual": _fmt(med[i]),
                        "count": int(counts[i]),
                        "worst": _fmt(r[w]),
                        "tolerance": _fmt(opt.z_tolerance, False),
                    }
                    findings.append(
                        _on_record("PCRS-LIDAR-001", params, d.records[i], vok[w, 0], vok[w, 1])
                    )
    stats["z"] = zstats

    # --- façades and completeness -------------------------------------------------------------
    fstats: dict[str, Any] = {"facades": len({p[0] for p in d.facade_parts})}
    bstats: dict[str, Any] = {}
    if not has_building:
        if d.facade_parts or d.emprises:
            findings.append(Finding("PCRS-LIDAR-008", {}, file=first_file))
    else:
        findings += _check_facades(d, opt, fine, buildings, coarse, covered, fstats)
        findings += _check_completeness(d, opt, fine, buildings, bstats, first_file)
    stats["facades"] = fstats
    stats["buildings"] = bstats
    stats["seconds"] = round(time.perf_counter() - t0, 3)
    log.info("LiDAR cross-check: %d findings in %.1f s", len(findings), stats["seconds"])
    return LidarResult(findings, stats)


def _plane_ground(tree: cKDTree, gz: np.ndarray, q: np.ndarray, k: int, radius: float):
    """Ground Z at ``q``: least-squares plane through the ``k`` nearest ground points within
    ``radius`` (coordinates centred on each query, so the intercept is the answer); the
    inverse-distance mean where fewer than 3 points or a degenerate (collinear) set."""
    k = max(3, min(int(k), gz.size))
    d, i = tree.query(q, k=k, distance_upper_bound=radius)
    d, i = d.reshape(len(q), -1), i.reshape(len(q), -1)
    valid = np.isfinite(d)
    ii = np.where(valid, i, 0)
    w = valid.astype(float)
    px = tree.data[ii, 0] - q[:, :1]
    py = tree.data[ii, 1] - q[:, 1:2]
    pz = gz[ii]
    a = np.stack(
        [
            np.stack([(w * px * px).sum(1), (w * px * py).sum(1), (w * px).sum(1)], -1),
            np.stack([(w * px * py).sum(1), (w * py * py).sum(1), (w * py).sum(1)], -1),
            np.stack([(w * px).sum(1), (w * py).sum(1), w.sum(1)], -1),
        ],
        1,
    )
    b = np.stack([(w * px * pz).sum(1), (w * py * pz).sum(1), (w * pz).sum(1)], -1)
    inv_d = np.where(valid, 1.0 / np.maximum(d, 1e-3), 0.0)
    out = (inv_d * pz).sum(1) / np.maximum(inv_d.sum(1), 1e-12)
    det = np.linalg.det(a)
    scale = np.maximum(w.sum(1), 1.0) ** 3
    good = (valid.sum(1) >= 3) & (np.abs(det) > 1e-9 * scale)
    if good.any():
        out[good] = np.linalg.solve(a[good], b[good][:, :, None])[:, 2, 0]
    return out


def _stations(parts: list, step: float):
    """Points every ``step`` along the façade parts: x, y, unit left normal, part index."""
    segs = [np.column_stack([c[:-1], c[1:]]) for _, c in parts]
    pid = np.repeat(np.arange(len(parts)), [len(s) for s in segs])
    s = np.vstack(segs)
    dx, dy = s[:, 2] - s[:, 0], s[:, 3] - s[:, 1]
    length = np.hypot(dx, dy)
    keep = length > 1e-6
    s, dx, dy, length, pid = s[keep], dx[keep], dy[keep], length[keep], pid[keep]
    n = np.maximum(1, np.round(length / step).astype(np.int64))
    seg = np.repeat(np.arange(len(s)), n)
    first = np.concatenate([[0], np.cumsum(n)[:-1]])
    k = np.arange(seg.size) - np.repeat(first, n)
    t = (k + 0.5) / n[seg]
    x = s[seg, 0] + t * dx[seg]
    y = s[seg, 1] + t * dy[seg]
    nx_, ny_ = -dy[seg] / length[seg], dx[seg] / length[seg]
    seg_len = np.bincount(pid, weights=length, minlength=len(parts))
    return x, y, nx_, ny_, pid[seg], seg_len


def _check_facades(d, opt, fine: _Grid, buildings, coarse: _Grid, covered, fstats) -> list:
    if not d.facade_parts:
        return []
    x, y, nx_, ny_, pid, part_len = _stations(d.facade_parts, opt.facade_step)
    rec_of_part = np.array([p[0] for p in d.facade_parts], np.int64)
    fid = rec_of_part[pid]
    n_rec = len(d.records)
    occupied = buildings

    def hit(sign: float, offsets) -> np.ndarray:
        out = np.zeros(x.size, bool)
        for off in offsets:
            idx, ok = fine.index(x + sign * off * nx_, y + sign * off * ny_)
            out |= ok & occupied[idx]
        return out

    left_any, right_any = hit(1.0, opt.facade_offsets), hit(-1.0, opt.facade_offsets)
    far = tuple(o for o in opt.facade_offsets if o >= 0.99) or opt.facade_offsets[-1:]
    left_far, right_far = hit(1.0, far), hit(-1.0, far)
    ci, ok = coarse.index(x, y)
    cov = ok & covered[ci]
    n_st = np.bincount(fid, minlength=n_rec)
    n_cov = np.bincount(fid, weights=cov, minlength=n_rec)
    support = np.bincount(fid, weights=cov & (left_any | right_any), minlength=n_rec)
    n_left = np.bincount(fid, weights=cov & left_far, minlength=n_rec)
    n_right = np.bincount(fid, weights=cov & right_far, minlength=n_rec)
    length = np.bincount(rec_of_part, weights=part_len, minlength=n_rec)
    judged = (n_st > 0) & (n_cov >= 0.5 * n_st) & (length >= opt.facade_min_length)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(n_cov > 0, support / n_cov, 0.0)
        lshare = np.where(n_cov > 0, n_left / n_cov, 0.0)
        rshare = np.where(n_cov > 0, n_right / n_cov, 0.0)
    # the first station of each façade without building, where its finding is placed
    miss = cov & ~(left_any | right_any)
    first_miss = np.full(n_rec, -1, np.int64)
    mi = np.flatnonzero(miss)[::-1]
    first_miss[fid[mi]] = mi
    first_st = np.full(n_rec, -1, np.int64)
    si = np.arange(x.size)[::-1]
    first_st[fid[si]] = si
    findings = []
    weak = np.flatnonzero(judged & (share < opt.facade_min_share))
    for i in weak:
        at = first_miss[i] if first_miss[i] >= 0 else first_st[i]
        params = {
            "share": f"{100 * share[i]:.0f}",
            "length": _fmt(length[i], False),
            "distance": _fmt(max(opt.facade_offsets), False),
        }
        findings.append(_on_record("PCRS-LIDAR-004", params, d.records[i], x[at], y[at]))
    strong = judged & (share >= opt.facade_min_share)
    decided = strong & (np.abs(lshare - rshare) >= 0.3)
    right = np.flatnonzero(decided & (rshare > lshare))
    n_dec = int(decided.sum())
    fstats.update(
        judged=int(judged.sum()),
        along_buildings=int(strong.sum()),
        without_building=int(weak.size),
        side_decided=n_dec,
        building_on_right=int(right.size),
    )
    if right.size and right.size >= 0.5 * n_dec:
        at = first_st[right[0]]
        params = {"count": int(right.size), "total": n_dec}
        findings.append(
            _on_record("PCRS-LIDAR-005", params, d.records[right[0]], x[at], y[at], field=None)
        )
    else:
        for i in right:
            at = first_st[i]
            findings.append(_on_record("PCRS-LIDAR-006", {}, d.records[i], x[at], y[at]))
    return findings


def _check_completeness(d, opt, fine: _Grid, buildings, bstats, first_file) -> list:
    # a 1 m occupancy raster (or the building raster itself when it is coarser)
    f = max(1, round(1.0 / fine.cell))
    occ = buildings.reshape(fine.ny, fine.nx)
    ny, nx = -(-fine.ny // f), -(-fine.nx // f)
    pad = np.zeros((ny * f, nx * f), bool)
    pad[: fine.ny, : fine.nx] = occ
    occ = pad.reshape(ny, f, nx, f).any(axis=(1, 3))
    grid = _Grid(fine.x0, fine.y0, fine.cell * f, nx, ny)
    occ = ndimage.binary_closing(occ, np.ones((3, 3), bool)) | occ
    labels, n = ndimage.label(occ, np.ones((3, 3), bool))
    bstats["lidar_buildings"] = 0
    bstats["not_surveyed"] = 0
    if n == 0:
        return []
    flat = labels.ravel()
    sizes = np.bincount(flat, minlength=n + 1)
    big = sizes * grid.cell**2 >= opt.building_min_area
    big[0] = False
    zone = np.zeros(ny * nx, bool)
    if d.facade_parts:
        x, y, *_ = _stations(d.facade_parts, grid.cell / 2)
        idx, ok = grid.index(x, y)
        zone[idx[ok]] = True
        k = math.ceil(opt.building_facade_distance / grid.cell)
        zone = ndimage.maximum_filter(zone.reshape(ny, nx), size=2 * k + 1).ravel()
    touched = np.bincount(flat[zone], minlength=n + 1) > 0
    cand = np.flatnonzero(big & ~touched)
    bstats["lidar_buildings"] = int(big.sum())
    if cand.size == 0:
        return []
    cells = np.flatnonzero(flat > 0)
    cx, cy = grid.centres(cells)
    lab = flat[cells]
    mx = np.bincount(lab, weights=cx, minlength=n + 1)[cand] / sizes[cand]
    my = np.bincount(lab, weights=cy, minlength=n + 1)[cand] / sizes[cand]
    if d.emprises:
        region = shapely.union_all(d.emprises)
    else:  # no emprise: the convex hull of the objects checked
        pts = [c[:, :2] for c in d.coords if len(c)] + [c for _, c in d.facade_parts]
        region = shapely.MultiPoint(np.vstack(pts)).convex_hull if pts else None
    inside = (
        shapely.contains_xy(region, mx, my) if region is not None else np.zeros(cand.size, bool)
    )
    findings = []
    for j in np.flatnonzero(inside):
        findings.append(
            Finding(
                "PCRS-LIDAR-007",
                {
                    "area": f"{sizes[cand[j]] * grid.cell**2:.0f}",
                    "distance": _fmt(opt.building_facade_distance, False),
                },
                file=first_file,
                feature_class="FacadePCRS",
                x=float(mx[j]),
                y=float(my[j]),
            )
        )
    bstats["not_surveyed"] = len(findings)
    return findings


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
