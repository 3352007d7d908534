"""Surfaces from scattered points: TIN-linear, inverse distance weighting, nearest neighbour.

Every interpolator has the signature ``f(x, y, z, grid, **params)`` and returns
a ``grid.shape`` float64 array of values at the pixel centres, NaN where it
gives no value. :data:`INTERPOLATORS` is the registry used by the products and
the command line.

TIN-linear (:func:`tin`) is the method of IGN's MNx products and of PDAL's
``filters.delaunay`` + ``filters.faceraster``: a Delaunay triangulation of the
points, then the plane of each triangle evaluated at the pixel centres it
covers. Two choices make it fast and exact:

- the triangulation is built on **local** coordinates (the grid origin is
  subtracted): on raw Lambert-93 coordinates qhull loses enough precision to
  build a different triangulation;
- triangles are **rasterised directly**: for each triangle the pixel centres
  inside its bounding box are enumerated (vectorised over all triangles at
  once, in bounded chunks) and kept when their barycentric coordinates are all
  non-negative. Locating every pixel in the triangulation (what
  ``LinearNDInterpolator`` does) is avoided entirely.

Examples
--------
>>> import numpy as np
>>> from pcrs.raster.grid import RasterGrid
>>> rng = np.random.default_rng(0)
>>> x, y = rng.random(500) * 10, rng.random(500) * 10
>>> g = RasterGrid(0.0, 10.0, 1.0, 10, 10)
>>> dem = tin(x, y, 2 * x + y + 1, g)
>>> bool(np.nanmax(np.abs(dem - (2 * g.column_centers() + g.row_centers()[:, None] + 1))) < 1e-9)
True
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from ..errors import ParameterError
from .delaunay import delaunay, have_sweep, resolve_engine, sweep_points
from .grid import RasterGrid

__all__ = [
    "INTERPOLATORS",
    "fill_holes",
    "idw",
    "nearest",
    "rasterize_triangles",
    "sample_bilinear",
    "spatial_order",
    "tin",
    "triangulate",
]


#: candidate (triangle, pixel) pairs evaluated per vectorised step: bounds memory (~60 B each)
_CHUNK_CANDIDATES = 4_000_000
#: barycentric tolerance: pixel centres on a shared edge are taken by both triangles (same value)
_BARY_EPS = 1e-9


def _part1by1(v: np.ndarray) -> np.ndarray:
    v = v & 0xFFFF
    v = (v | (v << 8)) & 0x00FF00FF
    v = (v | (v << 4)) & 0x0F0F0F0F
    v = (v | (v << 2)) & 0x33333333
    v = (v | (v << 1)) & 0x55555555
    return v


def spatial_order(x: np.ndarray, y: np.ndarray, cell: float = 4.0) -> np.ndarray:
    """A permutation that sorts points along a Z-order (Morton) curve of ``cell``-metre cells.

    qhull builds the triangulation of spatially coherent input about twice as
    fast as of randomly ordered input. The cells are absolute (not relative to
    the points' bounds), so two overlapping sets of points (a tile and its
    neighbour) are ordered alike. Ties are broken by x, y, then z, so points
    with the same x and y end up next to each other, lowest first.
    """
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    if len(x) == 0:
        return np.empty(0, np.int64)
    qx = np.floor(x / cell).astype(np.int64) & 0xFFFF
    qy = np.floor(y / cell).astype(np.int64) & 0xFFFF
    key = _part1by1(qx) | (_part1by1(qy) << 1)
    return np.lexsort((y, x, key))


def _canonical_origin(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """A local origin on the kilometre grid: the same for a tile and for the whole catalog
    whenever they start in the same kilometre, so qhull sees the same numbers."""
    return (float(np.floor(x.min() / 1000.0) * 1000.0), float(np.floor(y.min() / 1000.0) * 1000.0))


def triangulate(
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray | None = None,
    *,
    duplicates: str = "min",
    origin: tuple[float, float] | None = None,
    engine: str = "auto",
) -> np.ndarray:
    """Delaunay triangles of the points, as an ``(m, 3)`` array of indices into ``x``/``y``.

    The triangulation runs on coordinates relative to ``origin`` (default: the
    kilometre corner below the points), in Morton order. Of points sharing the
    same x and y only one is used: the lowest (``duplicates="min"``, for a
    terrain) or the highest (``"max"``, for a surface) when ``z`` is given.
    Fewer than three distinct points, or all collinear, give no triangle.
    ``engine`` chooses pcrs's sweep (numba, exact predicates) or qhull: see
    :mod:`pcrs.raster.delaunay`.
    """
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    if len(x) < 3:
        return np.empty((0, 3), np.int64)
    if duplicates not in ("min", "max"):
        raise ParameterError(f"duplicates must be 'min' or 'max', got {duplicates!r}")
    if origin is None:
        origin = _canonical_origin(x, y)
    if resolve_engine(engine) == "sweep":
        tri = sweep_points(x - origin[0], y - origin[1], z, duplicates=duplicates)
        if tri is not None:
            return tri
        engine = "qhull"
    if z is None:
        order = spatial_order(x, y)
    else:
        zz = np.asarray(z, np.float64)
        qx = np.floor(x / 4.0).astype(np.int64) & 0xFFFF
        qy = np.floor(y / 4.0).astype(np.int64) & 0xFFFF
        key = _part1by1(qx) | (_part1by1(qy) << 1)
        order = np.lexsort((zz if duplicates == "min" else -zz, y, x, key))
    xs, ys = x[order], y[order]
    dup = np.r_[False, (xs[1:] == xs[:-1]) & (ys[1:] == ys[:-1])]
    if dup.any():
        order, xs, ys = order[~dup], xs[~dup], ys[~dup]
    if len(order) < 3:
        return np.empty((0, 3), np.int64)
    tri = delaunay(xs - origin[0], ys - origin[1], engine=engine)
    return order[tri]


def rasterize_triangles(
    u: np.ndarray,
    v: np.ndarray,
    z: np.ndarray,
    triangles: np.ndarray,
    shape: tuple[int, int],
    *,
    max_edge: float | None = None,
    out: np.ndarray | None = None,
    index_out: np.ndarray | None = None,
) -> np.ndarray:
    """Evaluate each triangle's plane at the pixel centres it covers.

    Parameters
    ----------
    u, v : ndarray
        Vertex positions in pixel units: pixel ``(row, col)``'s centre is at
        ``u = col, v = row`` (see :meth:`RasterGrid.to_pixel`).
    z : ndarray
        Vertex values.
    triangles : ndarray, shape (m, 3)
        Vertex indices.
    shape : (height, width)
    max_edge : float, optional
        Triangles with an edge longer than this (in pixels) are skipped.
    out : ndarray, optional
        Array to write into (default: a new NaN-filled float64 array).
    index_out : ndarray of int, optional
        Receives, for every covered pixel, the row of ``triangles`` covering it.

    Returns
    -------
    ndarray
    """
    height, width = shape
    if out is None:
        out = np.full(shape, np.nan)
    if len(triangles) == 0 or height == 0 or width == 0:
        return out
    if have_sweep() and out.dtype == np.float64 and out.flags.c_contiguous:
        return _rasterize_compiled(u, v, z, triangles, shape, max_edge, out, index_out)
    return _rasterize_numpy(u, v, z, triangles, shape, max_edge, out, index_out)


def _rasterize_compiled(u, v, z, triangles, shape, max_edge, out, index_out) -> np.ndarray:
    """The numba loop over triangles: same arithmetic and overwrite order as the numpy path."""
    from ._sweep_kernels import fill_triangles

    with_index = index_out is not None
    idx = index_out if with_index else np.empty((1, 1), np.int64)
    if with_index and (idx.dtype != np.int64 or not idx.flags.c_contiguous):
        return _rasterize_numpy(u, v, z, triangles, shape, max_edge, out, index_out)
    e2 = float(max_edge) ** 2 if (max_edge is not None and max_edge > 0) else 0.0
    fill_triangles(
        np.ascontiguousarray(u, np.float64),
        np.ascontiguousarray(v, np.float64),
        np.ascontiguousarray(z, np.float64),
        np.ascontiguousarray(triangles, np.int64),
        shape[0], shape[1], e2, _BARY_EPS, out, idx, with_index,
    )  # fmt: skip
    return out


def _rasterize_numpy(u, v, z, triangles, shape, max_edge, out, index_out) -> np.ndarray:
    """Vectorised numpy rasterisation (candidate pixels of all triangles, in bounded chunks)."""
    height, width = shape
    tri = np.asarray(triangles)
    U = u[tri]
    V = v[tri]
    umin, umax = U.min(axis=1), U.max(axis=1)
    vmin, vmax = V.min(axis=1), V.max(axis=1)
    c0 = np.maximum(np.ceil(umin - _BARY_EPS), 0).astype(np.int64)
    c1 = np.minimum(np.floor(umax + _BARY_EPS), width - 1).astype(np.int64)
    r0 = np.maximum(np.ceil(vmin - _BARY_EPS), 0).astype(np.int64)
    r1 = np.minimum(np.floor(vmax + _BARY_EPS), height - 1).astype(np.int64)
    keep = (c1 >= c0) & (r1 >= r0)
    if max_edge is not None and max_edge > 0:
        e2 = max_edge * max_edge
        for i, j in ((0, 1), (1, 2), (2, 0)):
            keep &= (U[:, i] - U[:, j]) ** 2 + (V[:, i] - V[:, j]) ** 2 <= e2
    ids = np.flatnonzero(keep)
    if len(ids) == 0:
        return out
    U, V, c0, c1, r0, r1 = U[ids], V[ids], c0[ids], c1[ids], r0[ids], r1[ids]
    Z = np.asarray(z, np.float64)[tri[ids]]
    # barycentric coefficients relative to vertex 2
    det = (V[:, 1] - V[:, 2]) * (U[:, 0] - U[:, 2]) + (U[:, 2] - U[:, 1]) * (V[:, 0] - V[:, 2])
    ok = det != 0
    with np.errstate(divide="ignore", invalid="ignore"):
        a0 = (V[:, 1] - V[:, 2]) / det
        b0 = (U[:, 2] - U[:, 1]) / det
        a1 = (V[:, 2] - V[:, 0]) / det
        b1 = (U[:, 0] - U[:, 2]) / det
    w = c1 - c0 + 1
    counts = np.where(ok, w * (r1 - r0 + 1), 0)
    cum = np.cumsum(counts)
    total = int(cum[-1])
    # chunk boundaries in triangle space so that each step holds ~_CHUNK_CANDIDATES pairs
    bounds = np.searchsorted(cum, np.arange(_CHUNK_CANDIDATES, total, _CHUNK_CANDIDATES))
    edges = np.unique(np.r_[0, bounds + 1, len(counts)])
    for s, e in itertools.pairwise(edges.tolist()):
        cnt = counts[s:e]
        n = int(cnt.sum())
        if n == 0:
            continue
        t = np.repeat(np.arange(s, e), cnt)
        k = np.arange(n) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        wt = w[t]
        col = c0[t] + k % wt
        row = r0[t] + k // wt
        dx = col - U[t, 2]
        dy = row - V[t, 2]
        l0 = a0[t] * dx + b0[t] * dy
        l1 = a1[t] * dx + b1[t] * dy
        l2 = 1.0 - l0 - l1
        inside = (l0 >= -_BARY_EPS) & (l1 >= -_BARY_EPS) & (l2 >= -_BARY_EPS)
        t, l0, l1, l2 = t[inside], l0[inside], l1[inside], l2[inside]
        out[row[inside], col[inside]] = l0 * Z[t, 0] + l1 * Z[t, 1] + l2 * Z[t, 2]
        if index_out is not None:
            index_out[row[inside], col[inside]] = ids[t]
    return out


def tin(
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    grid: RasterGrid,
    *,
    max_edge: float | None = None,
    triangles: np.ndarray | None = None,
    duplicates: str = "min",
    block_points: int = 6_000_000,
    workers: int = 1,
) -> np.ndarray:
    """TIN-linear interpolation at the pixel centres (Delaunay, then each triangle's plane).

    Parameters
    ----------
    x, y, z : ndarray
        Points. Only those near the grid matter, but all are triangulated:
        pass a tile with its buffer so that edge pixels are right.
    grid : RasterGrid
    max_edge : float, optional
        Triangles with an edge longer than this (metres) are left empty, as
        PDAL's ``max_triangle_edge_length``. Default: no limit (IGN's DTM
        bridges the gaps under buildings).
    triangles : ndarray, optional
        A triangulation of the same points from :func:`triangulate`, to reuse it.
    duplicates : {"min", "max"}
        Which of several points with the same x and y is a vertex: the lowest
        (terrain) or the highest (surface).
    block_points : int
        Above this many points the grid is processed in blocks, each
        triangulated with a margin of neighbours and only the triangles proven
        to be global Delaunay triangles kept (their circumcircle lies inside the
        block + margin; the margin doubles until every pixel inside the convex
        hull is covered). Memory then follows the block, not the input; values
        are those of one triangulation (up to the choice of diagonal among
        co-circular points).
    workers : int
        Processes triangulating blocks at the same time. With more than one
        (and more than 500,000 points), the grid is cut into blocks of about
        ``len(x) / (4 * workers)`` points each, as above, and the blocks are
        computed by a pool of ``workers`` processes: the same values (up to
        co-circular ties). It paid with qhull (1.25x on two cores); with the
        sweep engine the blocks' margins and the fork cost about what they save
        (measured 0.91x on 4.4 M points), so keep 1 unless the sweep is not
        available. ``pcrs process --workers N`` parallelises over tiles instead.

    Returns
    -------
    ndarray, shape ``grid.shape``
        NaN outside the convex hull and in skipped triangles.
    """
    edge_px = None if not max_edge else float(max_edge) / grid.resolution
    workers = int(workers)
    if workers < 1:
        raise ParameterError(f"workers must be at least 1, got {workers!r}")
    if triangles is None and workers > 1 and len(x) > _PARALLEL_MIN_POINTS:
        per_block = max(100_000, len(x) // (2 * workers))
        return _tin_blocked(
            x, y, z, grid, edge_px, duplicates, min(block_points, per_block), workers
        )
    if triangles is None and len(x) > block_points:
        return _tin_blocked(x, y, z, grid, edge_px, duplicates, block_points)
    if triangles is None:
        triangles = triangulate(x, y, z, duplicates=duplicates)
    u, v = grid.to_pixel(x, y)
    return rasterize_triangles(u, v, z, triangles, grid.shape, max_edge=edge_px)


def _hull_rows(hx: np.ndarray, hy: np.ndarray, yc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x interval of a convex polygon (vertices ``hx``, ``hy``) on each horizontal line ``yc``."""
    x0, y0 = hx, hy
    x1, y1 = np.roll(hx, -1), np.roll(hy, -1)
    Y = yc[:, None]
    ymin, ymax = np.minimum(y0, y1), np.maximum(y0, y1)
    crosses = (ymin <= Y) & (ymax >= Y)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(y1 != y0, (Y - y0) / (y1 - y0), 0.0)
    xi = x0 + t * (x1 - x0)
    flat = crosses & (y1 == y0)  # a horizontal edge: both ends count
    lo = np.min(np.where(crosses, np.where(flat, np.minimum(x0, x1), xi), np.inf), axis=1)
    hi = np.max(np.where(crosses, np.where(flat, np.maximum(x0, x1), xi), -np.inf), axis=1)
    return lo, hi


def _tin_blocked(
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    grid: RasterGrid,
    edge_px: float | None,
    duplicates: str,
    block_points: int,
    workers: int = 1,
) -> np.ndarray:
    """TIN-linear in blocks of the grid: bounded memory, same values as one triangulation.

    Each block is triangulated with the points of the block and a margin. A
    triangle is kept only when its circumcircle (clipped to the data's bounding
    box, outside which there is no point) lies inside the block + margin: then
    no point of the whole set can be in it, so it is a triangle of the global
    Delaunay triangulation. Pixels inside the data's convex hull not covered by
    a kept triangle make the block start again with twice the margin. Blocks are
    independent: with ``workers > 1`` a process pool computes them.
    """
    from scipy.spatial import ConvexHull

    out = np.full(grid.shape, np.nan)
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    z = np.asarray(z, np.float64)
    dx0, dy0, dx1, dy1 = x.min(), y.min(), x.max(), y.max()
    area = max((dx1 - dx0) * (dy1 - dy0), 1e-12)
    spacing = np.sqrt(area / len(x))
    r = grid.resolution
    # blocks holding about half of block_points each, margins included
    side = max(64, int(np.sqrt(block_points / 2 * area / len(x)) / r))
    ox, oy = _canonical_origin(x, y)
    hull = ConvexHull(np.column_stack([x - ox, y - oy]))
    hx, hy = hull.points[hull.vertices, 0] + ox, hull.points[hull.vertices, 1] + oy
    # pixel rows' x-interval inside the hull
    lo, hi = _hull_rows(hx, hy, grid.row_centers())
    order = np.argsort(x, kind="stable")
    ctx = {
        "x": x, "y": y, "z": z, "order": order, "xs": x[order], "lo": lo, "hi": hi,
        "grid": grid, "side": side, "spacing": spacing, "edge_px": edge_px,
        "duplicates": duplicates, "data_box": (dx0, dy0, dx1, dy1),
        "eps": 1e-9 * max(1.0, abs(ox), abs(oy)),
    }  # fmt: skip
    starts = [(r0, c0) for r0 in range(0, grid.height, side) for c0 in range(0, grid.width, side)]
    if workers > 1 and len(starts) > 1:
        import concurrent.futures
        import multiprocessing

        # fork shares the arrays with the workers without copying them; elsewhere they are sent once
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        with concurrent.futures.ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context(method),
            initializer=_set_block_context,
            initargs=(ctx,),
        ) as pool:
            results = list(pool.map(_tin_block, starts))
    else:
        _set_block_context(ctx)
        try:
            results = [_tin_block(start) for start in starts]
        finally:
            _set_block_context(None)
    for (r0, c0), block in zip(starts, results, strict=True):
        if block is not None:
            out[r0 : r0 + block.shape[0], c0 : c0 + block.shape[1]] = block
    return out


_BLOCK_CONTEXT: dict | None = None
#: below this many points one triangulation in this process is faster than a pool
_PARALLEL_MIN_POINTS = 500_000


def _set_block_context(ctx: dict | None) -> None:
    global _BLOCK_CONTEXT
    _BLOCK_CONTEXT = ctx


def _tin_block(start: tuple[int, int]) -> np.ndarray | None:
    """One block of :func:`_tin_blocked` (module level, so that a process pool can run it)."""
    c = _BLOCK_CONTEXT
    assert c is not None
    x, y, z, order, xs = c["x"], c["y"], c["z"], c["order"], c["xs"]
    grid, side, edge_px = c["grid"], c["side"], c["edge_px"]
    dx0, dy0, dx1, dy1 = c["data_box"]
    r = grid.resolution
    r0, c0 = start
    h, w = min(side, grid.height - r0), min(side, grid.width - c0)
    sub = RasterGrid(round(grid.xmin + c0 * r, 9), round(grid.ymax - r0 * r, 9), r, w, h)
    cx = sub.column_centers()
    need = (cx[None, :] >= c["lo"][r0 : r0 + h, None] - c["eps"]) & (
        cx[None, :] <= c["hi"][r0 : r0 + h, None] + c["eps"]
    )
    if not need.any():
        return None
    # a tenth of the block to start with: gaps (buildings, water) are crossed without
    # re-triangulating the block several times
    margin = max(8.0 * c["spacing"], 4.0 * r, 0.1 * side * r)
    while True:
        bx0, by0 = sub.xmin - margin, sub.ymin - margin
        bx1, by1 = sub.xmax + margin, sub.ymax + margin
        whole = bx0 <= dx0 and by0 <= dy0 and bx1 >= dx1 and by1 >= dy1
        a = np.searchsorted(xs, bx0, side="left")
        b = np.searchsorted(xs, bx1, side="right")
        cand = order[a:b]
        cand = cand[(y[cand] >= by0) & (y[cand] <= by1)]
        tri = triangulate(x[cand], y[cand], z[cand], duplicates=c["duplicates"])
        if len(tri):
            tri = cand[tri]
            box = (bx0, by0, bx1, by1)
            tri = tri[whole | _inside_box(x, y, tri, box, (dx0, dy0, dx1, dy1))]
        # vertices repeated per triangle: small arrays, local to the block
        u, v = sub.to_pixel(x[tri.ravel()], y[tri.ravel()])
        flat = np.arange(len(tri) * 3).reshape(-1, 3)
        zz = z[tri.ravel()]
        ids = np.full((h, w), -1, np.int64)
        block = rasterize_triangles(u, v, zz, flat, (h, w), index_out=ids)
        if whole or not (need & (ids < 0)).any():
            break
        margin *= 2.0
    if edge_px is not None and len(tri):
        U, V = u[flat], v[flat]
        long = np.zeros(len(tri), bool)
        for i, j in ((0, 1), (1, 2), (2, 0)):
            long |= (U[:, i] - U[:, j]) ** 2 + (V[:, i] - V[:, j]) ** 2 > edge_px**2
        block[(ids >= 0) & long[np.maximum(ids, 0)]] = np.nan
    return block


def _inside_box(x, y, tri, box, data) -> np.ndarray:
    """Whether each triangle's circumcircle, clipped to ``data``, lies inside ``box``."""
    ox, oy = float(np.floor(box[0])), float(np.floor(box[1]))
    ax, ay = x[tri[:, 0]] - ox, y[tri[:, 0]] - oy
    bx, by = x[tri[:, 1]] - ox - ax, y[tri[:, 1]] - oy - ay
    cx, cy = x[tri[:, 2]] - ox - ax, y[tri[:, 2]] - oy - ay
    d = 2.0 * (bx * cy - by * cx)
    b2, c2 = bx * bx + by * by, cx * cx + cy * cy
    with np.errstate(divide="ignore", invalid="ignore"):
        ux = (cy * b2 - by * c2) / d
        uy = (bx * c2 - cx * b2) / d
    rad = np.hypot(ux, uy) * (1 + 1e-9)
    ux, uy = ux + ax + ox, uy + ay + oy
    x0 = np.maximum(ux - rad, data[0])
    x1 = np.minimum(ux + rad, data[2])
    y0 = np.maximum(uy - rad, data[1])
    y1 = np.minimum(uy + rad, data[3])
    ok = (x0 >= box[0]) & (x1 <= box[2]) & (y0 >= box[1]) & (y1 <= box[3])
    return ok & np.isfinite(rad)


def _pixel_centres_local(grid: RasterGrid, rows: slice) -> np.ndarray:
    cx = (np.arange(grid.width) + 0.5) * grid.resolution
    cy = -(np.arange(rows.start, rows.stop) + 0.5) * grid.resolution
    gx, gy = np.meshgrid(cx, cy)
    return np.column_stack([gx.ravel(), gy.ravel()])


def _row_blocks(grid: RasterGrid, per_block: int):
    step = max(1, per_block // max(grid.width, 1))
    for r in range(0, grid.height, step):
        yield slice(r, min(grid.height, r + step))


def idw(
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    grid: RasterGrid,
    *,
    k: int = 10,
    power: float = 2.0,
    radius: float | None = 50.0,
) -> np.ndarray:
    """Inverse distance weighting of the ``k`` nearest points within ``radius``.

    Same definition as lidR's ``knnidw(k=10, p=2, rmax=50)``: weights
    ``1 / d**power``; a pixel centre on a point takes its value; pixels with no
    point within ``radius`` stay NaN.
    """
    if int(k) < 1:
        raise ParameterError(f"k must be >= 1, got {k!r}")
    if not power > 0:
        raise ParameterError(f"power must be > 0, got {power!r}")
    out = np.full(grid.shape, np.nan)
    if len(x) == 0:
        return out
    k = int(min(k, len(x)))
    tree = cKDTree(np.column_stack([np.asarray(x) - grid.xmin, np.asarray(y) - grid.ymax]))
    bound = np.inf if radius is None else float(np.nextafter(float(radius), np.inf))  # inclusive
    z = np.asarray(z, np.float64)
    zext = np.r_[z, np.nan]
    for rows in _row_blocks(grid, max(1, 2_000_000 // k)):
        q = _pixel_centres_local(grid, rows)
        d, i = tree.query(q, k=k, distance_upper_bound=bound)
        if k == 1:
            d, i = d[:, None], i[:, None]
        valid = np.isfinite(d)
        with np.errstate(divide="ignore"):
            wgt = np.where(valid, 1.0 / np.maximum(d, 1e-12) ** power, 0.0)
        zz = np.where(valid, zext[i], 0.0)
        sw = wgt.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            val = (wgt * zz).sum(axis=1) / sw
        val[sw == 0] = np.nan
        exact = d[:, 0] < 1e-9
        val[exact] = zz[exact, 0]
        out[rows] = val.reshape(-1, grid.width)
    return out


def nearest(
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    grid: RasterGrid,
    *,
    radius: float | None = None,
) -> np.ndarray:
    """Value of the nearest point (within ``radius``, if given) at each pixel centre."""
    out = np.full(grid.shape, np.nan)
    if len(x) == 0:
        return out
    tree = cKDTree(np.column_stack([np.asarray(x) - grid.xmin, np.asarray(y) - grid.ymax]))
    bound = np.inf if radius is None else float(np.nextafter(float(radius), np.inf))  # inclusive
    zext = np.r_[np.asarray(z, np.float64), np.nan]
    for rows in _row_blocks(grid, 2_000_000):
        _, i = tree.query(_pixel_centres_local(grid, rows), k=1, distance_upper_bound=bound)
        out[rows] = zext[i].reshape(-1, grid.width)
    return out


#: method name -> interpolator ``(x, y, z, grid, **params) -> array``
INTERPOLATORS: dict[str, Callable[..., np.ndarray]] = {
    "tin": tin,
    "idw": idw,
    "nearest": nearest,
}


def fill_holes(array: np.ndarray, max_pixels: int) -> np.ndarray:
    """Fill the NaN holes of at most ``max_pixels`` pixels that do not touch the border.

    Each hole pixel takes the value of the nearest valid pixel (Euclidean
    distance transform). Larger holes, and empty areas open to the raster's
    edge, are left as they are.

    Returns
    -------
    ndarray
        A new array.
    """
    out = np.array(array, dtype=np.float64, copy=True)
    empty = np.isnan(out)
    if max_pixels <= 0 or not empty.any() or empty.all():
        return out
    labels, n = ndimage.label(empty)
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    border = np.unique(np.r_[labels[0], labels[-1], labels[:, 0], labels[:, -1]])
    small = sizes <= max_pixels
    small[0] = False
    small[border] = False
    fill = small[labels]
    if not fill.any():
        return out
    _, (ri, ci) = ndimage.distance_transform_edt(empty, return_indices=True)
    out[fill] = out[ri[fill], ci[fill]]
    return out


def sample_bilinear(
    array: np.ndarray, grid: RasterGrid, x: np.ndarray, y: np.ndarray
) -> np.ndarray:
    """Bilinear interpolation of a raster at points (NaN outside or next to NaN pixels).

    Points between the outermost pixel centres and the grid edge take the
    nearest edge values.
    """
    u, v = grid.to_pixel(x, y)
    h, w = array.shape
    u = np.clip(u, 0, w - 1)
    v = np.clip(v, 0, h - 1)
    c0 = np.clip(np.floor(u).astype(np.int64), 0, max(w - 2, 0))
    r0 = np.clip(np.floor(v).astype(np.int64), 0, max(h - 2, 0))
    c1 = np.minimum(c0 + 1, w - 1)
    r1 = np.minimum(r0 + 1, h - 1)
    fu, fv = u - c0, v - r0
    a = array
    top = a[r0, c0] * (1 - fu) + a[r0, c1] * fu
    bot = a[r1, c0] * (1 - fu) + a[r1, c1] * fu
    out = top * (1 - fv) + bot * fv
    inside = (x >= grid.xmin) & (x <= grid.xmax) & (y >= grid.ymin) & (y <= grid.ymax)
    out[~inside] = np.nan
    return out
