"""Raster products of a classified point cloud: DTM, DSM, CHM, density, intensity, hillshade.

The defaults follow IGN's LiDAR HD MNx products:

- **DTM / MNT**: TIN-linear interpolation of classes 2 (ground), 9 (water) and
  66 (virtual points) at the pixel centres;
- **DSM / MNS**: the top surface of classes 2, 3, 4, 5, 6, 9, 17, 64, 67 — the
  highest point of each pixel, then a TIN through them (``method="tin"``) or
  kept as is (``method="max"``);
- **CHM / MNH**: DSM − DTM (negative heights set to 0), or the *pit-free*
  CHM of Khosravipour et al. (2014);
- **density**: points per square metre, all returns (band 1) and last returns
  (band 2);
- **intensity**: mean intensity of the first returns;
- :func:`hillshade`: Horn's shaded relief, for quick looks.

:data:`PRODUCTS` is the registry (product name -> function ``(cloud, grid,
**params) -> array``); :func:`rasterize` is the entry point that returns a
:class:`Raster`. Compute only: files are written by :mod:`pcrs.io.raster`.

Examples
--------
>>> from pcrs import synth
>>> scene = synth.make_scene(20_000, seed=1)
>>> dtm = rasterize(scene.cloud, "dtm", resolution=1.0)
>>> dtm.data.shape == dtm.grid.shape
True
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from pyproj import CRS
from scipy import ndimage

from ..classify import codes as C
from ..errors import NoGroundPointsWarning, ParameterError
from ..points import PointCloud
from .binning import bin_points, cell_extreme_index
from .grid import RasterGrid
from .interpolate import INTERPOLATORS, fill_holes, sample_bilinear, tin

__all__ = [
    "DSM_CLASSES",
    "DTM_CLASSES",
    "PRODUCTS",
    "Raster",
    "chm",
    "density",
    "dsm",
    "dtm",
    "hillshade",
    "intensity",
    "pitfree_chm",
    "quicklook",
    "rasterize",
]

#: IGN's MNT classes: ground, water, virtual points
DTM_CLASSES: tuple[int, ...] = (C.GROUND, C.WATER, C.IGN_VIRTUAL)
#: MNS classes: ground, vegetation, buildings, water, bridge decks, lasting above-ground, misc built
DSM_CLASSES: tuple[int, ...] = (
    C.GROUND, C.LOW_VEGETATION, C.MEDIUM_VEGETATION, C.HIGH_VEGETATION, C.BUILDING,
    C.WATER, C.BRIDGE_DECK, C.IGN_LASTING_ABOVE_GROUND, C.IGN_MISC_BUILT,
)  # fmt: skip


@dataclass
class Raster:
    """A raster product: values on an aligned grid, NaN where there is no value.

    Attributes
    ----------
    data : ndarray
        ``(height, width)`` or ``(bands, height, width)``, float.
    grid : RasterGrid
    crs : pyproj.CRS or None
    product : str
        ``"dtm"``, ``"dsm"``...
    band_names : list of str
        One description per band.
    units : str
    """

    data: np.ndarray
    grid: RasterGrid
    crs: CRS | None = None
    product: str = ""
    band_names: list[str] = field(default_factory=list)
    units: str = ""

    @property
    def bands(self) -> np.ndarray:
        """The data as ``(bands, height, width)``."""
        return self.data if self.data.ndim == 3 else self.data[None]


def _select(
    cloud: PointCloud, classes: Sequence[int] | None, *, xyz_only: bool = False
) -> PointCloud:
    """The points of ``classes`` (None: all). With ``xyz_only`` the subset carries x, y, z
    alone: a terrain of millions of points then costs 24 bytes a point, not the whole
    record's every attribute."""
    if classes is None:
        return cloud
    cls = cloud.get("classification")
    if cls is None:
        raise ParameterError(
            "the points have no classification; classify them first (pcrs classify) "
            "or pass classes=None to use every point"
        )
    mask = np.isin(cls, np.asarray(list(classes)))
    if xyz_only:
        return PointCloud(cloud.x[mask], cloud.y[mask], cloud.z[mask], {}, cloud.crs)
    return cloud[mask]


def _interpolator(method: str) -> Callable[..., np.ndarray]:
    try:
        return INTERPOLATORS[method]
    except KeyError:
        raise ParameterError(
            f"unknown method {method!r}; choose one of {sorted(INTERPOLATORS)}"
        ) from None


def dtm(
    cloud: PointCloud,
    grid: RasterGrid,
    *,
    classes: Sequence[int] | None = DTM_CLASSES,
    method: str = "tin",
    fill: int = 0,
    **params,
) -> np.ndarray:
    """Digital terrain model: the bare earth at the pixel centres.

    Parameters
    ----------
    cloud : PointCloud
        Classified points (with a buffer around ``grid`` for seamless tiles).
    grid : RasterGrid
    classes : sequence of int or None
        Terrain classes; default IGN's {2, 9, 66}. ``None`` uses every point.
    method : str
        A key of :data:`~pcrs.raster.interpolate.INTERPOLATORS`.
    fill : int
        Fill holes of at most this many pixels (see :func:`~pcrs.raster.interpolate.fill_holes`).
    **params
        Passed to the interpolator (``max_edge`` for TIN; ``k``, ``power``, ``radius`` for IDW).

    Returns
    -------
    ndarray, shape ``grid.shape``
    """
    interp = _interpolator(method)
    ground = _select(cloud, classes, xyz_only=True)
    if len(ground) == 0:
        warnings.warn(
            f"no point of classes {list(classes or [])} for the DTM: it is empty; "
            "classify the ground first (pcrs classify --steps ground)",
            NoGroundPointsWarning,
            stacklevel=2,
        )
        return np.full(grid.shape, np.nan)
    out = interp(ground.x, ground.y, ground.z, grid, **params)
    return fill_holes(out, fill) if fill else out


def _top_points(cloud: PointCloud, grid: RasterGrid, cell: float) -> PointCloud:
    """The highest point of each ``cell``-sized cell of a grid aligned with ``grid``."""
    minx, miny, _, maxx, maxy, _ = cloud.bounds
    top_grid = RasterGrid.from_bounds(minx, miny, maxx, maxy, cell)
    idx = cell_extreme_index(top_grid, cloud.x, cloud.y, cloud.z, "max", closed=True)
    return cloud[np.sort(idx)]


def dsm(
    cloud: PointCloud,
    grid: RasterGrid,
    *,
    classes: Sequence[int] | None = DSM_CLASSES,
    method: str = "tin",
    fill: int = 0,
    **params,
) -> np.ndarray:
    """Digital surface model: the top of ground, vegetation, buildings, bridges, water.

    Parameters
    ----------
    method : str
        ``"tin"`` (default): the highest point of each pixel, then a TIN through
        them, so that there is no hole between points; ``"max"``: the highest
        point of each pixel only (holes where a pixel has no point); or
        ``"idw"``/``"nearest"`` through the highest points.
    classes, fill, **params
        As for :func:`dtm`.
    """
    pts = _select(cloud, classes, xyz_only=True)
    if len(pts) == 0:
        return np.full(grid.shape, np.nan)
    if method == "max":
        out = bin_points(grid, pts.x, pts.y, pts.z, "max", **params)
    else:
        interp = _interpolator(method)
        top = _top_points(pts, grid, grid.resolution)
        if method == "tin":
            params.setdefault("duplicates", "max")
        out = interp(top.x, top.y, top.z, grid, **params)
    return fill_holes(out, fill) if fill else out


def chm(
    cloud: PointCloud,
    grid: RasterGrid,
    *,
    pitfree: bool = False,
    dtm_classes: Sequence[int] | None = DTM_CLASSES,
    dsm_classes: Sequence[int] | None = DSM_CLASSES,
    terrain: np.ndarray | None = None,
    surface: np.ndarray | None = None,
    **params,
) -> np.ndarray:
    """Canopy (above-ground) height model: DSM − DTM, negative heights set to 0.

    Parameters
    ----------
    pitfree : bool
        Use :func:`pitfree_chm` instead of the plain difference.
    terrain, surface : ndarray, optional
        A DTM / DSM already computed on ``grid``, to reuse.
    **params
        Passed to :func:`pitfree_chm` when ``pitfree``.
    """
    if terrain is None:
        terrain = dtm(cloud, grid, classes=dtm_classes)
    if pitfree:
        return pitfree_chm(cloud, grid, terrain, classes=dsm_classes, **params)
    if surface is None:
        surface = dsm(cloud, grid, classes=dsm_classes)
    return np.maximum(surface - terrain, 0.0)


def pitfree_chm(
    cloud: PointCloud,
    grid: RasterGrid,
    terrain: np.ndarray,
    *,
    classes: Sequence[int] | None = DSM_CLASSES,
    thresholds: Sequence[float] = (0.0, 2.0, 5.0, 10.0, 15.0),
    max_edge: tuple[float, float] = (0.0, 1.0),
) -> np.ndarray:
    """Pit-free CHM (Khosravipour, Skidmore, Isenburg, Wang & Hussin 2014).

    First returns are normalised by the DTM; for each height threshold a TIN
    of the returns at least that high is rasterised, triangles with an edge
    longer than the freeze distance being dropped; the CHM is the maximum of
    the layers. This removes the "pits" that late first returns punch into
    tree crowns. Parameters are those of lidR's ``pitfree()``.

    Parameters
    ----------
    terrain : ndarray
        The DTM on ``grid`` (used to normalise heights, bilinear).
    thresholds : sequence of float
        Heights above ground (m) of the layers; the first is usually 0.
    max_edge : (float, float)
        Freeze distance (m) of the first layer and of the others (0: no limit).
    """
    pts = _select(cloud, classes)
    rn = pts.get("return_number")
    if rn is not None:
        pts = pts[rn <= 1]  # first and single returns (0 in broken files counts as first)
    out = np.full(grid.shape, np.nan)
    if len(pts) == 0:
        return out
    top = _top_points(pts, grid, grid.resolution / 2)
    h = top.z - sample_bilinear(terrain, grid, top.x, top.y)
    ok = np.isfinite(h)
    x, y, h = top.x[ok], top.y[ok], np.maximum(h[ok], 0.0)
    for i, t in enumerate(sorted(thresholds)):
        sel = h >= t
        if sel.sum() < 3:
            break
        edge = max_edge[0] if i == 0 else max_edge[1]
        layer = tin(x[sel], y[sel], h[sel], grid, max_edge=edge or None, duplicates="max")
        out = np.fmax(out, layer)
    return np.maximum(out, 0.0)  # rounding of the barycentric weights, NaN kept


def _returns_mask(cloud: PointCloud, returns: str) -> np.ndarray:
    rn = cloud.get("return_number")
    nr = cloud.get("number_of_returns")
    if returns == "all":
        return np.ones(len(cloud), bool)
    if rn is None or nr is None:
        raise ParameterError(f"returns={returns!r} needs return_number and number_of_returns")
    if returns == "first":
        return rn <= 1
    if returns == "last":
        return rn >= nr
    raise ParameterError(f"returns must be 'all', 'first' or 'last', got {returns!r}")


def density(
    cloud: PointCloud,
    grid: RasterGrid,
    *,
    returns: Sequence[str] = ("all", "last"),
    classes: Sequence[int] | None = None,
    closed: bool = False,
) -> np.ndarray:
    """Points per square metre in each pixel, one band per kind of returns.

    Parameters
    ----------
    returns : sequence of {"all", "first", "last"}
        Default: all returns (band 1) and last returns (band 2).
    classes : sequence of int, optional
        Count only these classes (default: every point).
    closed : bool
        Count points on the grid's east/south outer edge (single rasters).

    Returns
    -------
    ndarray, shape ``(len(returns), height, width)``
    """
    pts = _select(cloud, classes)
    area = grid.resolution**2
    bands = [
        bin_points(grid, pts.x[m], pts.y[m], None, "count", closed=closed) / area
        for m in (_returns_mask(pts, r) for r in returns)
    ]
    return np.stack(bands)


def intensity(
    cloud: PointCloud,
    grid: RasterGrid,
    *,
    returns: str = "first",
    reducer: str = "mean",
    classes: Sequence[int] | None = None,
    closed: bool = False,
) -> np.ndarray:
    """Mean (or another reducer of) intensity per pixel, first returns by default.

    Later returns have lost part of the pulse's energy, so intensity images
    usually keep first returns.
    """
    pts = _select(cloud, classes)
    if "intensity" not in pts:
        raise ParameterError("the points have no intensity attribute")
    m = _returns_mask(pts, returns)
    return bin_points(
        grid, pts.x[m], pts.y[m], pts["intensity"][m].astype(np.float64), reducer, closed=closed
    )


def hillshade(
    dem: np.ndarray,
    resolution: float,
    *,
    azimuth: float = 315.0,
    altitude: float = 45.0,
    z_factor: float = 1.0,
) -> np.ndarray:
    """Shaded relief (Horn 1981 slopes, as ``gdaldem hillshade``), 0-255 float, NaN where no data.

    Parameters
    ----------
    dem : ndarray
        Elevations (north up).
    resolution : float
        Pixel size, in the units of the elevations.
    azimuth, altitude : float
        Sun direction and height (degrees).
    """
    a = np.asarray(dem, np.float64)
    wx = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], float) / (8 * resolution)
    wy = np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], float) / (8 * resolution)
    dzdx = ndimage.correlate(a, wx, mode="nearest")
    dzdy = ndimage.correlate(a, wy, mode="nearest")  # south row minus north row
    slope = np.arctan(z_factor * np.hypot(dzdx, dzdy))
    aspect = np.arctan2(dzdy, -dzdx)
    zen = np.radians(90.0 - altitude)
    az = np.radians(360.0 - azimuth + 90.0)
    shade = np.cos(zen) * np.cos(slope) + np.sin(zen) * np.sin(slope) * np.cos(az - aspect)
    return np.clip(shade, 0, 1) * 255.0


def quicklook(raster: Raster) -> np.ndarray:
    """A grey + alpha ``(2, height, width)`` uint8 image of a product, for a PNG.

    Elevation models (DTM, DSM) are shown as a hillshade; other products as
    their first band stretched between the 2nd and 98th percentiles. Pixels
    without data are transparent.
    """
    band = raster.bands[0]
    valid = np.isfinite(band)
    if raster.product in ("dtm", "dsm"):
        filled = np.where(valid, band, np.nanmean(band) if valid.any() else 0.0)
        grey = hillshade(filled, raster.grid.resolution)
    elif valid.any():
        lo, hi = np.percentile(band[valid], [2, 98])
        grey = (band - lo) / (hi - lo if hi > lo else 1.0) * 255.0
    else:
        grey = np.zeros(band.shape)
    grey = np.clip(np.nan_to_num(grey), 0, 255).astype(np.uint8)
    return np.stack([grey, np.where(valid, 255, 0).astype(np.uint8)])


#: product name -> ``(cloud, grid, **params) -> ndarray``
PRODUCTS: dict[str, Callable[..., np.ndarray]] = {
    "dtm": dtm,
    "dsm": dsm,
    "chm": chm,
    "density": density,
    "intensity": intensity,
}

_UNITS = {"dtm": "m", "dsm": "m", "chm": "m", "density": "points/m2", "intensity": ""}


def rasterize(
    cloud: PointCloud,
    product: str = "dtm",
    resolution: float = 0.5,
    *,
    grid: RasterGrid | None = None,
    **params,
) -> Raster:
    """Compute a raster product of a point cloud.

    Parameters
    ----------
    cloud : PointCloud
    product : str
        A key of :data:`PRODUCTS`: ``"dtm"``, ``"dsm"``, ``"chm"``, ``"density"``, ``"intensity"``.
    resolution : float
        Pixel size (CRS units, metres); ignored when ``grid`` is given.
    grid : RasterGrid, optional
        The grid to fill (e.g. a tile's core area, with the cloud holding its
        buffer). Default: the aligned grid covering the cloud's bounds.
    **params
        Passed to the product function (``method``, ``classes``, ``fill``,
        ``max_edge``, ``pitfree``...).

    Returns
    -------
    Raster

    Examples
    --------
    >>> from pcrs import synth
    >>> r = rasterize(synth.make_scene(20_000, seed=2).cloud, "density", 2.0)
    >>> r.band_names
    ['all_returns', 'last_returns']
    """
    try:
        func = PRODUCTS[product]
    except KeyError:
        raise ParameterError(
            f"unknown product {product!r}; choose one of {sorted(PRODUCTS)}"
        ) from None
    if grid is None:
        if len(cloud) == 0:
            raise ParameterError("cannot choose a grid for an empty point cloud; pass grid=")
        minx, miny, _, maxx, maxy, _ = cloud.bounds
        grid = RasterGrid.from_bounds(minx, miny, maxx, maxy, resolution)
        if product in ("density", "intensity"):
            params.setdefault("closed", True)
    data = func(cloud, grid, **params)
    if product == "density":
        names = [f"{r}_returns" for r in params.get("returns", ("all", "last"))]
    else:
        names = [product]
    return Raster(data, grid, cloud.crs, product, names, _UNITS.get(product, ""))
