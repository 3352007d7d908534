"""Seamless DTM tiles at any point density: a tile's read grows until its TIN is proven.

A tiled DTM (``pcrs process``) triangulates each tile's points plus a buffer of
its neighbours'. Where ground points are far apart (water, forest, sparse
flights) the triangles that cross the tile's edge are wider than any fixed
buffer, and the tile's DTM differs from the DTM of all points triangulated at
once. :func:`seamless_dtm` has no fixed buffer: it reads the tile with a first
buffer, triangulates, *proves* every pixel of the tile equal to the whole
DTM's, and reads a larger box until the proof holds.

The proof
---------
Let ``B`` be the box read and ``E`` the data extent (no point lies outside it).
A triangle of the Delaunay triangulation of the points read whose circumdisk
meets no part of ``E`` outside ``B`` is *final*: no unread point can lie in
its disk, so it is a Delaunay triangle of the whole set, and a pixel centre
inside it gets the same value as in the whole DTM. The tile is proven when

- every triangle that contains a core pixel centre is final, and
- every core pixel centre that no triangle covers lies outside ``E``, or
  outside ``hull`` (the convex hull of the whole data's terrain points, when
  given; see :func:`terrain_hull`): then no triangle of the whole set covers
  it either,

or when ``B`` covers ``E`` (everything is read). The test of a disk against
``E`` minus ``B`` is exact (the distance from its centre to the up to four
strips of ``E`` around ``B``), not a test of the disk's bounding box.

With ``max_edge`` (triangles with a longer edge are left empty) the proof is
local: a kept triangle of the whole set has its vertices within ``max_edge`` of
the pixel centres it covers, so once the read reaches ``max_edge`` beyond the
core, every such triangle is a triangle of the read's triangulation. Skipped
(long) triangles and uncovered pixel centres are then final, and only kept
triangles whose disk leaves the read ask for a larger read.

Growth and its bound
--------------------
The next box is the current box united with the bounding box of the part of
``E`` inside the disks that are not final, widened by the first buffer; when
core pixels are uncovered and not proven empty, every side moves out. A side
moves out by at most the larger of its box's current reach beyond the core and
half the tile's side (so the reach at most doubles once past half a tile). The
box is clipped to ``E`` widened by one metre. Growth stops before a box larger
than ``max_area`` (default :data:`MAX_AREA_FACTOR` times the first box) or
after ``max_reads`` reads; ``on_limit`` then says what happens: raise
:class:`SeamlessLimitError` (default), leave the unproven pixels empty
(``"mask"``: never a wrong value) or keep the last read's values (``"keep"``:
today's fixed-buffer behaviour), the last two with a :class:`SeamlessWarning`.

Limitations
-----------
Where four points or more lie on one circle the Delaunay triangulation is not
unique, and the tile and the whole set may take different diagonals
(pcrs's triangulators break such ties by insertion order): the values differ
by the gap between the two planes, e.g. on synthetic regular grids or, rarely,
on centimetre coordinates. Coordinates off the millimetre grid are snapped by
the sweep engine to a grid that depends on the extent triangulated, so
near-co-circular points (within about 1e-5 m) behave alike.

Examples
--------
>>> import numpy as np
>>> from pcrs.points import PointCloud
>>> rng = np.random.default_rng(0)
>>> x, y = rng.uniform(0, 300, 4000), rng.uniform(0, 300, 4000)
>>> cls = np.full(4000, 2, np.uint8)
>>> cloud = PointCloud(x, y, 0.01 * x + 0.02 * y, {"classification": cls})
>>> def read(box):
...     return cloud[cloud.in_box(*box)]
>>> grid = RasterGrid(100.0, 200.0, 1.0, 100, 100)
>>> values, facts = seamless_dtm(read, grid, buffer=20.0, extent=(0.0, 0.0, 300.0, 300.0))
>>> facts["reads"], bool(np.isfinite(values).all())
(1, True)
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError

from ..errors import ParameterError, PcrsError, PcrsWarning
from ..points import PointCloud
from .grid import RasterGrid
from .interpolate import rasterize_triangles, triangulate
from .products import DTM_CLASSES, _select, dtm

__all__ = [
    "MAX_AREA_FACTOR",
    "SeamlessLimitError",
    "SeamlessWarning",
    "seamless_dtm",
    "terrain_hull",
]

#: ``(xmin, ymin, xmax, ymax)``
Box = tuple[float, float, float, float]

#: default bound of a read: this many times the area of the first box
MAX_AREA_FACTOR = 25.0
#: metres: points this close inside the read box's edge are not trusted to have been read
#: (a reader of half-open boxes); disks reaching that close count as leaving the box
_EDGE_TOL = 1e-3
#: pixels: a pixel centre farther than this outside the data's hull is nodata in the whole
#: DTM (the rasteriser takes centres up to 1e-9 barycentric units outside a triangle, i.e.
#: 1e-9 of its height: 1e-4 pixel for a triangle 100,000 pixels high)
_HULL_TOL = 1e-4
#: metres: the read box is clipped to the extent widened by this much
_PAD = 1.0
#: relative widening of the circumradii (rounding of the circumcentres)
_R_EPS = 1e-9
#: a side of the box moves out by at most max(its reach, this share of the tile's side)
_STEP = 0.5
_ON_LIMIT = ("raise", "mask", "keep")
#: cells of the emptiness grid (:func:`_suspects`): side in mean point spacings, largest count
_CELL_SPACINGS = 3.0
_MAX_CELLS = 4_000_000
#: below this many points every triangle gets the exact test
_FILTER_MIN_POINTS = 20_000


class SeamlessLimitError(PcrsError, RuntimeError):
    """The read of a seamless tile reached its bound before every pixel was proven."""


class SeamlessWarning(PcrsWarning):
    """A seamless tile kept (``on_limit="keep"``) or blanked (``"mask"``) unproven pixels."""


# --- boxes -------------------------------------------------------------------------------


def _expand(box: Box, d: float) -> Box:
    return (box[0] - d, box[1] - d, box[2] + d, box[3] + d)


def _clip(box: Box, to: Box) -> Box:
    return (max(box[0], to[0]), max(box[1], to[1]), min(box[2], to[2]), min(box[3], to[3]))


def _union(a: Box, b: Box) -> Box:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def _area(box: Box) -> float:
    return max(box[2] - box[0], 0.0) * max(box[3] - box[1], 0.0)


def _covers(box: Box, ext: Box) -> bool:
    return box[0] <= ext[0] and box[1] <= ext[1] and box[2] >= ext[2] and box[3] >= ext[3]


def _reach(box: Box, core: Box) -> float:
    """How far the box reaches beyond the core, at most (m)."""
    return max(core[0] - box[0], core[1] - box[1], box[2] - core[2], box[3] - core[3])


def _shift(box: Box, ox: float, oy: float) -> Box:
    return (box[0] - ox, box[1] - oy, box[2] - ox, box[3] - oy)


def _fmt(box: Box) -> str:
    return "(" + ", ".join(f"{v:.2f}" for v in box) + ")"


def _strips(box: Box, ext: Box) -> list[Box]:
    """The part of ``ext`` outside ``box`` (shrunk by the edge tolerance), as up to four boxes."""
    t = _EDGE_TOL
    x0, y0, x1, y1 = box[0] + t, box[1] + t, box[2] - t, box[3] - t
    out = []
    if ext[0] < x0:
        out.append((ext[0], ext[1], x0, ext[3]))
    if ext[2] > x1:
        out.append((x1, ext[1], ext[2], ext[3]))
    cx0, cx1 = max(ext[0], x0), min(ext[2], x1)
    if ext[1] < y0:
        out.append((cx0, ext[1], cx1, y0))
    if ext[3] > y1:
        out.append((cx0, y1, cx1, ext[3]))
    return out


# --- disks ------------------------------------------------------------------------------


def _circumcircles(
    x: np.ndarray, y: np.ndarray, tri: np.ndarray, ox: float, oy: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Circumcentres (relative to ``(ox, oy)``) and squared radii (inf or NaN for flat triangles)."""
    ax = x[tri[:, 0]] - ox
    ay = y[tri[:, 0]] - oy
    bx = x[tri[:, 1]] - ox - ax
    by = y[tri[:, 1]] - oy - ay
    cx = x[tri[:, 2]] - ox - ax
    cy = y[tri[:, 2]] - oy - ay
    d = 2.0 * (bx * cy - by * cx)
    b2 = bx * bx + by * by
    c2 = cx * cx + cy * cy
    with np.errstate(divide="ignore", invalid="ignore"):
        ux = (cy * b2 - by * c2) / d
        uy = (bx * c2 - cx * b2) / d
    r2 = (ux * ux + uy * uy) * (1.0 + _R_EPS) ** 2
    return ux + ax, uy + ay, r2


def _rect_d2(ux: np.ndarray, uy: np.ndarray, rect: Box) -> np.ndarray:
    """Squared distance from each point to a closed rectangle (0 inside)."""
    dx = np.maximum(np.maximum(rect[0] - ux, ux - rect[2]), 0.0)
    dy = np.maximum(np.maximum(rect[1] - uy, uy - rect[3]), 0.0)
    return dx * dx + dy * dy


def _lens_box(ux: np.ndarray, uy: np.ndarray, r2: np.ndarray, ext: Box) -> Box:
    """Bounding box of the disks' parts inside ``ext`` (each part's box is exact)."""
    if not (np.isfinite(ux).all() and np.isfinite(uy).all() and np.isfinite(r2).all()):
        return ext
    # the widest chord of a disk inside a horizontal band is at the band's row nearest its centre
    hw = np.sqrt(np.maximum(r2 - (np.clip(uy, ext[1], ext[3]) - uy) ** 2, 0.0))
    hh = np.sqrt(np.maximum(r2 - (np.clip(ux, ext[0], ext[2]) - ux) ** 2, 0.0))
    box = (np.min(ux - hw), np.min(uy - hh), np.max(ux + hw), np.max(uy + hh))
    return _clip(tuple(float(v) for v in box), ext)  # type: ignore[arg-type]


def _suspects(x: np.ndarray, y: np.ndarray, box: Box) -> np.ndarray | None:
    """Points whose triangles may have a disk leaving ``box``; None: maybe all of them.

    A grid of cells of side ``s`` (a few point spacings) covers the box. A point
    is *safe* when the 7 x 7 cells around its own are inside the box and all
    hold a point. Then the circumdisk of a triangle with this vertex lies in
    the box: a disk through the point reaching 3 s away has a radius over
    1.5 s, so it holds the disk of radius 1.5 s tangent to it at the point,
    which holds a square of side 2.1 s, hence a whole cell of the 7 x 7, hence
    a point: it is not empty, so it is not the disk of a Delaunay triangle.
    Only triangles whose first vertex is not safe need the exact test.
    """
    n = len(x)
    if n < _FILTER_MIN_POINTS:
        return None
    x0, y0 = box[0] + _EDGE_TOL, box[1] + _EDGE_TOL
    w, h = box[2] - _EDGE_TOL - x0, box[3] - _EDGE_TOL - y0
    area = w * h
    s = max(_CELL_SPACINGS * math.sqrt(area / n), math.sqrt(area / _MAX_CELLS))
    nx, ny = int(w // s), int(h // s)  # whole cells only: the last partial ones count as empty
    if nx < 8 or ny < 8:
        return None
    cx = np.floor((x - x0) / s).astype(np.int64)
    cy = np.floor((y - y0) / s).astype(np.int64)
    ok = (cx >= 0) & (cx < nx) & (cy >= 0) & (cy < ny)
    cx, cy = cx[ok], cy[ok]
    empty = np.ones((ny, nx), np.uint8)
    empty[cy, cx] = 0
    near_empty = ndimage.maximum_filter(empty, size=7, mode="constant", cval=1)
    suspect = np.ones(n, bool)
    suspect[ok] = near_empty[cy, cx].astype(bool)
    return suspect


def _long_triangles(u: np.ndarray, v: np.ndarray, tri: np.ndarray, edge_px: float) -> np.ndarray:
    """Triangles with an edge longer than ``edge_px`` pixels (the rasteriser's test)."""
    e2 = edge_px * edge_px
    U, V = u[tri], v[tri]
    long = np.zeros(len(tri), bool)
    for i, j in ((0, 1), (1, 2), (2, 0)):
        long |= (U[:, i] - U[:, j]) ** 2 + (V[:, i] - V[:, j]) ** 2 > e2
    return long


def _open_triangles(
    x: np.ndarray,
    y: np.ndarray,
    tri: np.ndarray,
    grid: RasterGrid,
    box: Box,
    ext: Box,
    edge_px: float | None,
) -> tuple[np.ndarray, Box | None]:
    """Core pixels covered by a triangle that is not final, and where its disk reaches.

    Returns
    -------
    pixels : ndarray of bool, shape ``grid.shape``
    grow : tuple or None
        Bounding box of those triangles' disks inside ``ext`` (None when there is none).
    """
    none = (np.zeros(grid.shape, bool), None)
    strips = _strips(box, ext)
    if not strips or len(tri) == 0:
        return none
    suspect = _suspects(x, y, box)
    ids = np.arange(len(tri)) if suspect is None else np.flatnonzero(suspect[tri[:, 0]])
    ox, oy = grid.xmin, grid.ymin
    ux, uy, r2 = _circumcircles(x, y, tri[ids], ox, oy)
    bad = ~np.isfinite(r2)
    for s in strips:
        bad |= _rect_d2(ux, uy, _shift(s, ox, oy)) < r2
    ids, ux, uy, r2 = ids[bad], ux[bad], uy[bad], r2[bad]
    if len(ids) == 0:
        return none
    u, v = grid.to_pixel(x, y)
    sub = tri[ids]
    if edge_px is not None:  # skipped triangles are final (see the module's proof)
        keep = ~_long_triangles(u, v, sub, edge_px)
        ids, sub, ux, uy, r2 = ids[keep], sub[keep], ux[keep], uy[keep], r2[keep]
        if len(ids) == 0:
            return none
    index = np.full(grid.shape, -1, np.int64)
    rasterize_triangles(u, v, np.zeros(len(x)), sub, grid.shape, index_out=index)
    pixels = index >= 0
    if not pixels.any():
        return none
    hit = np.unique(index[pixels])
    lens = _lens_box(ux[hit], uy[hit], r2[hit], _shift(ext, ox, oy))
    return pixels, _shift(lens, -ox, -oy)


# --- pixels outside the data --------------------------------------------------------------


def _surrounded(x: np.ndarray, y: np.ndarray, grid: RasterGrid) -> bool:
    """Whether there are points in each of the four corner regions around the pixel centres.

    Their convex hull, hence the triangulation, then covers every pixel centre.
    """
    h = grid.resolution / 2
    west, east = x <= grid.xmin + h, x >= grid.xmax - h
    south, north = y <= grid.ymin + h, y >= grid.ymax - h
    return bool(
        (west & south).any()
        and (east & south).any()
        and (east & north).any()
        and (west & north).any()
    )


def _may_be_covered(grid: RasterGrid, ext: Box, polygon: np.ndarray | None) -> np.ndarray:
    """Pixel centres a triangle of the whole data may cover: inside ``ext`` and ``polygon``.

    Both are widened by the rasteriser's tolerance: a centre outside is nodata
    in the whole DTM. ``polygon`` is counter-clockwise; ``(0, 2)`` when the
    data has no triangle.
    """
    t = _HULL_TOL * grid.resolution
    cx = grid.column_centers() - grid.xmin
    cy = grid.row_centers() - grid.ymin
    x0, y0, x1, y1 = _shift(ext, grid.xmin, grid.ymin)
    lo = np.full(grid.height, x0 - t)
    hi = np.full(grid.height, x1 + t)
    rows_ok = (cy >= y0 - t) & (cy <= y1 + t)
    if polygon is not None:
        if len(polygon) == 0:
            return np.zeros(grid.shape, bool)
        ax = polygon[:, 0] - grid.xmin
        ay = polygon[:, 1] - grid.ymin
        ex, ey = np.roll(ax, -1) - ax, np.roll(ay, -1) - ay
        # inside the edge's half-plane widened by t: ex*(y-ay) - ey*(x-ax) >= -t*|e|, i.e.
        # ey*x <= c on each row; one bound on x per edge and row
        c = ex[None, :] * (cy[:, None] - ay[None, :]) + ey[None, :] * ax[None, :]
        c = c + t * np.hypot(ex, ey)[None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            bound = c / ey[None, :]
        up, down, flat = ey > 0, ey < 0, ey == 0
        if up.any():
            hi = np.minimum(hi, bound[:, up].min(axis=1))
        if down.any():
            lo = np.maximum(lo, bound[:, down].max(axis=1))
        if flat.any():
            rows_ok &= (c[:, flat] >= 0).all(axis=1)
    return rows_ok[:, None] & (cx[None, :] >= lo[:, None]) & (cx[None, :] <= hi[:, None])


def _convex(hull: np.ndarray | None) -> np.ndarray | None:
    """Counter-clockwise vertices of the convex hull of ``hull``'s points; ``(0, 2)`` when flat."""
    if hull is None:
        return None
    pts = np.asarray(hull, np.float64).reshape(-1, 2)
    if not np.isfinite(pts).all():
        raise ParameterError("hull must hold finite (x, y) vertices")
    poly = terrain_hull([pts])
    return poly if len(poly) >= 3 else np.empty((0, 2))


def terrain_hull(
    points: PointCloud | Sequence[np.ndarray], classes: Sequence[int] | None = DTM_CLASSES
) -> np.ndarray:
    """Vertices of the convex hull of a cloud's terrain points, or of several hulls merged.

    The hull of a whole catalog's terrain points is the hull of its tiles'
    hulls: compute ``terrain_hull(tile)`` for each tile (a few dozen vertices),
    then ``terrain_hull([h1, h2, ...])``, and pass it as :func:`seamless_dtm`'s
    ``hull``.

    Parameters
    ----------
    points : PointCloud or sequence of ndarray
        A cloud (its points of ``classes`` are used), or ``(k, 2)`` arrays of vertices.
    classes : sequence of int or None
        Terrain classes of a cloud (None: every point).

    Returns
    -------
    ndarray, shape (k, 2)
        Counter-clockwise vertices; fewer than 3 rows when the points are
        fewer than three or collinear (the distinct points, or the segment's two ends).

    Examples
    --------
    >>> import numpy as np
    >>> terrain_hull([np.array([[0, 0], [1, 0], [0, 1]]), np.array([[1, 1], [0.5, 0.5]])]).tolist()
    [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]
    """
    if isinstance(points, PointCloud):
        pts = _select(points, classes, xyz_only=True)
        return hull_of_points(pts.x, pts.y)
    parts = [np.asarray(h, np.float64).reshape(-1, 2) for h in points]
    xy = np.concatenate(parts) if parts else np.empty((0, 2))
    return hull_of_points(xy[:, 0], xy[:, 1])


def hull_of_points(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """:func:`terrain_hull` of the points ``(x, y)``: counter-clockwise vertices from the
    lowest x (then y), or the distinct points (at most 2) when they are fewer than three or
    collinear."""
    xy = np.unique(_hull_candidates(np.asarray(x, np.float64), np.asarray(y, np.float64)), axis=0)
    if len(xy) < 3:
        return xy
    try:
        h = ConvexHull(xy - xy.min(axis=0))
    except QhullError:  # collinear: the two ends (np.unique sorted them)
        return xy[[0, -1]]
    ring = xy[h.vertices]  # counter-clockwise in 2-D
    # (from the lowest x, then y: the same ring whatever the order of the points)
    first = int(np.lexsort((ring[:, 1], ring[:, 0]))[0])
    return np.roll(ring, -first, axis=0)


def _hull_candidates(x: np.ndarray, y: np.ndarray, chunk: int = 1 << 20) -> np.ndarray:
    """The points ``(x, y)`` that may be vertices of their convex hull, as ``(k, 2)``
    (Akl and Toussaint's throw-away: the points strictly inside the polygon of the extreme
    points in x, y, x + y and x - y are not). A tile's millions of terrain points come down
    to a few thousand before the duplicates are removed (a sort) and qhull runs; the hull is
    the same.

    Points within a relative 1e-9 of an edge are kept (rounding never drops a vertex)."""
    n = len(x)
    if n < 1024:
        return np.column_stack([x, y])
    picks = np.unique(
        [x.argmin(), x.argmax(), y.argmin(), y.argmax(), np.argmin(x + y),
         np.argmax(x + y), np.argmin(x - y), np.argmax(x - y)]
    )  # fmt: skip
    corners = np.column_stack([x[picks], y[picks]])
    origin = corners.min(axis=0)
    try:
        ring = corners[ConvexHull(corners - origin).vertices] - origin
    except QhullError:  # the extremes are collinear (or repeated): nothing is inside
        return np.column_stack([x, y])
    ax, ay = ring[:, 0], ring[:, 1]
    ex, ey = np.roll(ax, -1) - ax, np.roll(ay, -1) - ay
    span = float(np.ptp(ring, axis=0).max())
    margin = 1e-9 * span * span
    keep = np.zeros(n, bool)
    for start in range(0, n, chunk):
        px = x[start : start + chunk] - origin[0]
        py = y[start : start + chunk] - origin[1]
        inside = np.ones(len(px), bool)
        for k in range(len(ring)):
            # left of the counter-clockwise edge k by more than the margin
            inside &= ex[k] * (py - ay[k]) - ey[k] * (px - ax[k]) > margin
        keep[start : start + chunk] = ~inside
    return np.column_stack([x[keep], y[keep]])


# --- the tile -----------------------------------------------------------------------------


def _check_params(params: dict[str, Any]) -> None:
    method = params.pop("method", "tin")
    if method != "tin":
        raise ParameterError(
            f"seamless_dtm proves TIN values only, got method={method!r}; "
            "use method='tin', or products.dtm with a fixed buffer"
        )
    fill = params.pop("fill", 0)
    if fill:
        raise ParameterError(
            f"seamless_dtm does not fill holes (fill={fill!r}): holes are measured on the "
            "tile's grid, so a hole cut by the tile's edge would be filled unlike in the whole "
            "DTM; fill the holes of the mosaic instead (pcrs.raster.interpolate.fill_holes)"
        )
    for key in ("triangles", "workers", "block_points"):
        if key in params:
            raise ParameterError(f"seamless_dtm sets {key!r} itself; do not pass it")


def _dtm(
    ground: PointCloud, grid: RasterGrid, tri: np.ndarray, params: dict[str, Any]
) -> np.ndarray:
    """:func:`~pcrs.raster.products.dtm` of the terrain points with this triangulation of them."""
    return dtm(ground, grid, classes=None, triangles=tri, **params)


def seamless_dtm(
    read: Callable[[Box], PointCloud],
    grid: RasterGrid,
    *,
    buffer: float,
    extent: Sequence[float],
    classes: Sequence[int] | None = DTM_CLASSES,
    hull: np.ndarray | None = None,
    max_area: float | None = None,
    max_reads: int = 16,
    on_limit: str = "raise",
    **params: Any,
) -> tuple[np.ndarray, dict[str, Any]]:
    """DTM of a tile equal to the DTM of all points triangulated at once, whatever the spacing.

    Reads the tile's core with ``buffer``, then larger boxes, until every
    pixel is proven equal to the whole data's DTM (see the module
    documentation), and returns :func:`~pcrs.raster.products.dtm` of the last
    read. When the first read suffices, the values are those of
    ``dtm(read(first box), grid, ...)``, bit for bit.

    Parameters
    ----------
    read : callable
        ``read((xmin, ymin, xmax, ymax))`` returns every point (any class)
        with ``xmin <= x <= xmax`` and ``ymin <= y <= ymax``. Points beyond
        the box are harmless.
    grid : RasterGrid
        The tile's core grid.
    buffer : float
        First buffer (m) around the core; raised to ``max_edge`` when that is larger.
    extent : (xmin, ymin, xmax, ymax)
        A box holding every point of the data (the catalog's bounds).
    classes : sequence of int or None
        Terrain classes, as for :func:`~pcrs.raster.products.dtm`.
    hull : ndarray, shape (k, 2), optional
        Vertices of a convex polygon holding every terrain point of the data,
        best their convex hull (:func:`terrain_hull`). Without it, core pixels
        outside the local triangulation but inside ``extent`` make the read
        grow until it covers ``extent``: tiles at the data's edge then read
        far along it.
    max_area : float, optional
        Largest area (m²) of a read box; default :data:`MAX_AREA_FACTOR` times the first box.
    max_reads : int
        Largest number of reads.
    on_limit : {"raise", "mask", "keep"}
        When a bound stops the growth with pixels not proven: raise
        :class:`SeamlessLimitError`; or return the last read's DTM with those
        pixels set to NaN (``"mask"``) or as they are (``"keep"``), with a
        :class:`SeamlessWarning`.
    **params
        Passed to :func:`~pcrs.raster.products.dtm`: ``max_edge``,
        ``duplicates``. ``method`` must be ``"tin"`` and ``fill`` 0.

    Returns
    -------
    values : ndarray, shape ``grid.shape``
    facts : dict
        ``reads``; ``box`` (the last box read, or None when the tile misses
        the data) and ``buffer`` (how far it reaches beyond the core at most,
        m); ``points`` and ``ground_points`` of the last read; ``triangles``;
        ``whole`` (the box covers the extent); ``unproven`` (pixels not
        proven: 0 unless a bound was reached); ``check_seconds`` (time spent
        proving, reads, triangulations and rasterisation excluded).

    Raises
    ------
    SeamlessLimitError
        When a bound is reached with ``on_limit="raise"``.
    ParameterError
        For a bad argument, or a terrain point outside ``extent``.
    """
    params = dict(params)
    _check_params(params)
    if on_limit not in _ON_LIMIT:
        raise ParameterError(f"on_limit must be one of {_ON_LIMIT}, got {on_limit!r}")
    ext: Box = tuple(float(v) for v in extent)  # type: ignore[assignment]
    if len(ext) != 4 or not all(map(math.isfinite, ext)) or ext[0] > ext[2] or ext[1] > ext[3]:
        raise ParameterError(f"extent must be a finite (xmin, ymin, xmax, ymax), got {extent!r}")
    buffer = float(buffer)
    if not (buffer >= 0 and math.isfinite(buffer)):
        raise ParameterError(f"buffer must be a finite number of metres >= 0, got {buffer!r}")
    if int(max_reads) < 1:
        raise ParameterError(f"max_reads must be at least 1, got {max_reads!r}")
    max_edge = params.get("max_edge")
    edge_px = float(max_edge) / grid.resolution if max_edge else None
    if max_edge:
        buffer = max(buffer, float(max_edge) + 2 * _EDGE_TOL)
    duplicates = params.get("duplicates", "min")

    core: Box = (grid.xmin, grid.ymin, grid.xmax, grid.ymax)
    limit_box = _expand(ext, _PAD)
    first = _expand(core, buffer)
    if max_area is None:
        max_area = MAX_AREA_FACTOR * _area(first)
    box = _clip(first, limit_box)
    coverable = _may_be_covered(grid, ext, _convex(hull))
    facts: dict[str, Any] = {"reads": 0, "check_seconds": 0.0}
    if box[0] > box[2] or box[1] > box[3] or not coverable.any():
        # no core pixel can be covered by a triangle of the data: all nodata, as in the whole DTM
        facts.update(box=None, buffer=0.0, points=0, ground_points=0, triangles=0, whole=False)
        facts.update(unproven=0)
        return np.full(grid.shape, np.nan), facts

    while True:
        cloud = read(box)
        facts["reads"] += 1
        ground = _select(cloud, classes, xyz_only=True)
        gx, gy, gz = ground.x, ground.y, ground.z
        if len(gx) and not _covers(
            _expand(ext, _EDGE_TOL), (gx.min(), gy.min(), gx.max(), gy.max())
        ):
            raise ParameterError(
                f"a terrain point lies outside the extent {_fmt(ext)}: "
                "pass an extent holding every point of the data"
            )
        tri = triangulate(gx, gy, gz, duplicates=duplicates)
        whole = _covers(box, ext)
        values: np.ndarray | None = None
        t0 = time.perf_counter()
        if whole:
            open_px, grow = np.zeros(grid.shape, bool), None
        else:
            open_px, grow = _open_triangles(gx, gy, tri, grid, box, ext, edge_px)
        if whole or edge_px is not None or _surrounded(gx, gy, grid):
            uncovered = np.zeros(grid.shape, bool)
        elif len(tri) == 0:
            uncovered = coverable
        else:  # the DTM's empty pixels are the uncovered ones (no max_edge)
            facts["check_seconds"] += time.perf_counter() - t0
            values = _dtm(ground, grid, tri, params)
            t0 = time.perf_counter()
            uncovered = np.isnan(values) & coverable
        final = whole or not (open_px.any() or uncovered.any())
        nxt = box
        if not final:
            reach = _reach(box, core)
            side = max(core[2] - core[0], core[3] - core[1])
            step = max(reach, buffer, _STEP * side, grid.resolution)
            if grow is not None:
                nxt = _union(nxt, _clip(_expand(grow, buffer), _expand(box, step)))
            if uncovered.any():
                nxt = _union(nxt, _expand(box, step))
            nxt = _clip(nxt, limit_box)
            if nxt == box:  # a disk that is not final leaves the box: cannot happen
                nxt = limit_box
        facts["check_seconds"] += time.perf_counter() - t0
        if final or facts["reads"] >= max_reads or _area(nxt) > max_area:
            break
        box = nxt

    if values is None:
        values = _dtm(ground, grid, tri, params)
    unproven = np.zeros(grid.shape, bool) if final else open_px | uncovered
    facts.update(
        box=box,
        buffer=round(_reach(box, core), 3),
        points=len(cloud),
        ground_points=len(gx),
        triangles=len(tri),
        whole=whole,
        unproven=int(unproven.sum()),
        check_seconds=round(facts["check_seconds"], 4),
    )
    if not final:
        why = (
            f"after {facts['reads']} reads" if facts["reads"] >= max_reads
            else f"the next box {_fmt(nxt)} would cover {_area(nxt):,.0f} m² > max_area "
            f"{max_area:,.0f} m²"
        )  # fmt: skip
        msg = (
            f"seamless DTM of the tile {_fmt(core)}: {facts['unproven']:,} pixels are not proven "
            f"equal to the whole DTM with the points of {_fmt(box)} ({why}); ground points are "
            "very sparse or missing around them"
        )
        if on_limit == "raise":
            raise SeamlessLimitError(
                f"{msg}; raise max_area or max_reads, pass the data's hull, set max_edge (longer "
                "triangles left empty), or pass on_limit='mask' to leave these pixels empty"
            )
        what = "left empty" if on_limit == "mask" else "kept as computed"
        warnings.warn(f"{msg}; they are {what}", SeamlessWarning, stacklevel=2)
        if on_limit == "mask":
            values = np.where(unproven, np.nan, values)
    return values, facts
