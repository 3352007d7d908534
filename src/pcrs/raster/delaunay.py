"""Delaunay triangulation of LiDAR points: pcrs's own radial sweep, or qhull.

Two engines give the same triangles (up to the choice of diagonal among
co-circular points):

``"sweep"``
    pcrs's own implementation, compiled with numba: points sorted by distance
    to a seed triangle's circumcentre are added one by one outside a growing
    convex hull (found through a hash of hull vertices by angle), each new fan of
    triangles made Delaunay by Lawson edge flips (Sinclair 2010, "S-hull: a
    fast radial sweep-hull routine for Delaunay triangulation"; Lawson 1977).
    The predicates are **exact**: coordinates are snapped to an integer
    grid (1 mm / 2**k, as fine as the extent allows: LAS files store centimetres
    or millimetres, so nothing moves), the
    orientation test is computed in integers and the in-circle test with a float
    filter and an exact two-limb integer fallback. Several times faster than
    qhull on millions of points, with half of its memory.
``"qhull"``
    ``scipy.spatial.Delaunay`` (qhull): used when numba is not installed, and
    as a safety net if the sweep's final count of triangles is not Euler's
    (never seen: points inside the hull or on an edge are located by a walk
    and their triangle or edge split, which is tested on thousands of
    degenerate sets).

``"auto"`` (default) picks the sweep when numba can be imported.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(1)
>>> x, y = rng.random(1000) * 100, rng.random(1000) * 100
>>> tri = delaunay(x, y)
>>> tri.shape[1], len(tri) > 1900
(3, True)
"""

from __future__ import annotations

import functools
import logging
import os

import numpy as np
from scipy.spatial import Delaunay, QhullError

from .._compiled import kernels_import
from ..errors import ParameterError

__all__ = [
    "ENGINES",
    "QUANTUM",
    "delaunay",
    "have_sweep",
    "resolve_engine",
    "snap",
    "snapped_key",
    "sweep_distinct",
    "sweep_distinct_adjacency",
    "sweep_points",
    "sweep_points_adjacency",
]

log = logging.getLogger(__name__)

#: accepted values of ``engine``
ENGINES = ("auto", "sweep", "qhull")
#: coarsest grid (metres) the sweep snaps coordinates to by default, for exact predicates
QUANTUM = 1e-3
#: finest automatic snapping grid (about 1 micrometre)
_FINEST = 1e-3 / 2**10
#: integer coordinates stay below this, so that the predicates are exact in int64
_MAX_UNITS = (1 << 24) - 2
#: points near the first seed vertex searched for the seed triangle
_SEED_CANDIDATES = 64


@functools.lru_cache(maxsize=1)
def have_sweep() -> bool:
    """Whether the compiled sweep engine can run: numba is installed and imports.

    A numba that is present but fails to import (say, built for another numpy)
    makes pcrs use qhull and numpy, with a debug message, rather than fail.
    """
    return kernels_import("pcrs.raster._sweep_kernels", "qhull")


def resolve_engine(engine: str | None = "auto") -> str:
    """The engine ``"auto"`` stands for here (``PCRS_DELAUNAY`` overrides it), checked."""
    engine = engine or "auto"
    if engine == "auto":
        engine = os.environ.get("PCRS_DELAUNAY", "auto") or "auto"
    if engine not in ENGINES:
        raise ParameterError(f"Delaunay engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if engine == "auto":
        return "sweep" if have_sweep() else "qhull"
    if engine == "sweep" and not have_sweep():
        from ..errors import MissingExtraError

        raise MissingExtraError(
            "the sweep Delaunay engine needs numba, which is not installed; "
            "install it with: pip install numba (or use engine='qhull')"
        )
    return engine


def _qhull(px: np.ndarray, py: np.ndarray) -> np.ndarray:
    try:
        # "Qc" (report coplanar points) is dropped from scipy's defaults: same triangles, less work
        tri = Delaunay(np.column_stack([px, py]), qhull_options="Qbb Qz Q12")
    except QhullError:
        log.debug("qhull found no triangulation of %d points (collinear?)", len(px))
        return np.empty((0, 3), np.int64)
    return tri.simplices.astype(np.int64, copy=False)


def _seed(X: np.ndarray, Y: np.ndarray) -> tuple[int, int, int] | None:
    """A small counter-clockwise seed triangle near the middle, or None if all points are collinear."""
    mx = (int(X.min()) + int(X.max())) // 2
    my = (int(Y.min()) + int(Y.max())) // 2
    i0 = int(np.argmin((X - mx) ** 2 + (Y - my) ** 2))
    d = (X - X[i0]) ** 2 + (Y - Y[i0]) ** 2
    d[i0] = np.iinfo(np.int64).max
    i1 = int(np.argmin(d))
    bx, by = X[i1] - X[i0], Y[i1] - Y[i0]
    # the third point: smallest circle through i0 and i1, among i0's nearest points first
    near = np.argpartition(d, min(_SEED_CANDIDATES, len(d) - 1))[:_SEED_CANDIDATES]
    found = _third(X[near], Y[near], X[i0], Y[i0], bx, by)
    if found is None:
        near = np.arange(len(X))
        found = _third(X, Y, X[i0], Y[i0], bx, by)
        if found is None:
            return None
    k, orientation = found
    i2 = int(near[k])
    if orientation < 0:
        i1, i2 = i2, i1
    return i0, i1, i2


def _third(X, Y, x0, y0, bx, by) -> tuple[int, int] | None:
    """Index of the point giving the smallest circle through ``(x0, y0)`` and ``(x0 + bx, y0 + by)``."""
    cx, cy = X - x0, Y - y0
    cross = bx * cy - by * cx  # exact: twice the signed area
    with np.errstate(divide="ignore", invalid="ignore"):
        b2 = float(bx * bx + by * by)
        c2 = (cx * cx + cy * cy).astype(np.float64)
        den = 2.0 * cross.astype(np.float64)
        ux = (cy * b2 - by * c2) / den
        uy = (bx * c2 - cx * b2) / den
        r2 = ux * ux + uy * uy
    r2[cross == 0] = np.inf
    k = int(np.argmin(r2))
    if not np.isfinite(r2[k]):
        return None
    return k, int(np.sign(cross[k]))


def _snapping_grid(span: float, quantum: float | None) -> float:
    """The grid the sweep snaps to: ``quantum``, or 1 mm / 2**k as fine as ``span`` allows.

    Binary fractions of a millimetre keep centimetre and millimetre LAS coordinates
    exactly on the grid; the integer coordinates stay below 2**24.
    """
    if quantum is not None:
        q = float(quantum)
    else:
        q = QUANTUM
        while q > _FINEST and span / (q / 2) <= _MAX_UNITS:
            q /= 2
    while span / q > _MAX_UNITS:
        q *= 2
    return q


def snap(
    px: np.ndarray, py: np.ndarray, quantum: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Integer coordinates of the sweep engine: ``px``, ``py`` on its snapping grid, from 0.

    The grid is anchored at 0, not at the points' minimum, so two overlapping sets
    of points (a tile and the whole catalog) get the same integers, up to a shift,
    where they overlap. See :func:`delaunay` for ``quantum``.
    """
    span = max(float(px.max() - px.min()), float(py.max() - py.min()), 1e-9)
    q = _snapping_grid(span, quantum)
    X = np.rint(px / q).astype(np.int64)
    Y = np.rint(py / q).astype(np.int64)
    X -= X.min()
    Y -= Y.min()
    return X, Y


def snapped_key(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """One int64 per snapped point, equal for points that share a cell of the grid."""
    return (X << 24) | Y


def sweep_distinct(
    X: np.ndarray, Y: np.ndarray, index: np.ndarray | None = None
) -> np.ndarray | None:
    """Sweep triangulation of distinct snapped points (from :func:`snap`).

    Returns the ``(m, 3)`` triangles as indices into ``X``/``Y`` (or, when given, as
    ``index[...]`` of those: one gather instead of two), or None when the sweep
    gave up (the caller then uses qhull).
    """
    got = _sweep_distinct(X, Y, index, adjacency=False)
    return None if got is None else got[0]


def sweep_distinct_adjacency(
    X: np.ndarray, Y: np.ndarray, index: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`sweep_distinct` and the triangles' adjacency: ``(triangles, twin)``.

    ``twin`` has ``3 m`` entries, one per halfedge ``h = 3 t + k`` (from vertex
    ``triangles[t, k]`` to ``triangles[t, (k + 1) % 3]``): the opposite halfedge, so
    the triangle across that edge is ``twin[h] // 3``, or -1 on the convex hull.
    None when the sweep gave up.
    """
    got = _sweep_distinct(X, Y, index, adjacency=True)
    if got is None:
        return None
    tri, half = got
    return tri, (np.empty(0, np.int32) if half is None else half)


def _sweep_distinct(
    X: np.ndarray, Y: np.ndarray, index: np.ndarray | None, *, adjacency: bool
) -> tuple[np.ndarray, np.ndarray | None] | None:
    from ._sweep_kernels import sweep_triangulate, sweep_triangulate_adjacency

    n = len(X)
    if n < 3:
        return np.empty((0, 3), np.int64), (np.empty(0, np.int32) if adjacency else None)
    seed = _seed(X, Y)
    if seed is None:
        return np.empty((0, 3), np.int64), (np.empty(0, np.int32) if adjacency else None)
    i0, i1, i2 = seed
    ax, ay = float(X[i0]), float(Y[i0])
    bx, by = float(X[i1]) - ax, float(Y[i1]) - ay
    cx, cy = float(X[i2]) - ax, float(Y[i2]) - ay
    den = 2.0 * (bx * cy - by * cx)
    ccx = ax + (cy * (bx * bx + by * by) - by * (cx * cx + cy * cy)) / den
    ccy = ay + (bx * (cx * cx + cy * cy) - cx * (bx * bx + by * by)) / den
    d2 = X - ccx
    d2 *= d2
    dy = Y - ccy
    dy *= dy
    d2 += dy
    del dy
    order = np.argsort(d2)
    del d2
    # renumber the points in sweep order: the kernel then reads memory almost sequentially
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n)
    r0, r1, r2 = int(rank[i0]), int(rank[i1]), int(rank[i2])
    del rank
    # (int32 coordinates and order when they fit, as snapped ones do: half the memory;
    # numba computes the predicates in int64 all the same)
    small = max(abs(int(X.min())), abs(int(X.max())), abs(int(Y.min())), abs(int(Y.max())))
    kind = np.int32 if small < 2**31 else np.int64
    args = (
        X.astype(kind)[order], Y.astype(kind)[order], np.arange(n, dtype=np.int32),
        r0, r1, r2, ccx, ccy,
    )  # fmt: skip
    half = None
    if adjacency:
        # (the halfedges are numbered by triangle: renumbering the vertices keeps them)
        flat, half, hull_count = sweep_triangulate_adjacency(*args)
    else:
        flat, hull_count = sweep_triangulate(*args)
    del args
    m = len(flat) // 3
    if m == 0 or m != 2 * n - 2 - hull_count:
        log.debug("sweep Delaunay gave up on %d points; using qhull", n)
        return None
    if index is not None:
        order = np.asarray(index)[order]
    if len(order) and int(order.max()) < 2**31:
        # (int32 triangles: the DTM of millions of points keeps hundreds of MB less)
        order = order.astype(np.int32)
    return order[flat.reshape(-1, 3)], half


def sweep_points(
    px: np.ndarray,
    py: np.ndarray,
    z: np.ndarray | None = None,
    *,
    duplicates: str = "min",
    quantum: float | None = None,
) -> np.ndarray | None:
    """Sweep triangulation of any points: snapped, one vertex per cell of the grid, triangulated.

    Of points sharing a cell of the snapping grid the first given is the vertex, or,
    when ``z`` is given, the lowest (``duplicates="min"``) or highest (``"max"``).
    Returns triangles indexing ``px``, or None when the sweep gave up.
    """
    cells = _distinct_cells(px, py, z, duplicates, quantum)
    if cells is None:
        return np.empty((0, 3), np.int64)
    xs, ys, order = cells
    del cells
    return sweep_distinct(xs, ys, order)


def sweep_points_adjacency(
    px: np.ndarray,
    py: np.ndarray,
    z: np.ndarray | None = None,
    *,
    duplicates: str = "min",
    quantum: float | None = None,
) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`sweep_points` and the triangles' adjacency (see :func:`sweep_distinct_adjacency`)."""
    cells = _distinct_cells(px, py, z, duplicates, quantum)
    if cells is None:
        return np.empty((0, 3), np.int64), np.empty(0, np.int32)
    xs, ys, order = cells
    del cells
    return sweep_distinct_adjacency(xs, ys, order)


def _distinct_cells(
    px: np.ndarray,
    py: np.ndarray,
    z: np.ndarray | None,
    duplicates: str,
    quantum: float | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Snapped coordinates of one point per cell of the grid and its index; None below 3 cells."""
    X, Y = snap(px, py, quantum)
    key = snapped_key(X, Y)
    order = np.argsort(key, kind="stable")
    ks = key[order]
    same = ks[1:] == ks[:-1]
    if same.any():
        if z is not None:
            # points sharing a cell: the lowest (or highest) first, by sorting those alone
            pos = np.flatnonzero(np.r_[same, False] | np.r_[False, same])
            zz = np.asarray(z, np.float64)[order[pos]]
            sub = np.lexsort((zz if duplicates == "min" else -zz, ks[pos]))
            order[pos] = order[pos][sub]
        order = order[np.r_[True, ~same]]
    del key, ks, same
    if len(order) < 3:
        return None
    xs, ys = X[order], Y[order]
    del X, Y
    return xs, ys, order


def delaunay(
    px: np.ndarray,
    py: np.ndarray,
    *,
    engine: str = "auto",
    quantum: float | None = None,
) -> np.ndarray:
    """Delaunay triangles of distinct 2-D points, as an ``(m, 3)`` array of indices.

    Parameters
    ----------
    px, py : ndarray
        Coordinates, preferably local (small numbers): no two points equal.
    engine : {"auto", "sweep", "qhull"}
        See the module documentation. The environment variable ``PCRS_DELAUNAY``
        sets what ``"auto"`` means.
    quantum : float, optional
        Snapping grid of the sweep engine, in the units of ``px``; points closer
        than this are one vertex (the first one given). Default: 1 mm divided by
        the largest power of two (up to 1024) that the extent allows, e.g.
        0.125 mm on a 1.2 km tile, about 4 micrometres on 60 m. It grows with the
        extent when needed to keep the integer coordinates below 2**24 (above
        16 km at 1 mm).

    Returns
    -------
    ndarray of int, shape (m, 3)
        Counter-clockwise triangles (int32 from the sweep engine when the indices fit,
        int64 otherwise); empty when the points are collinear or fewer than 3.
    """
    px = np.ascontiguousarray(px, np.float64)
    py = np.ascontiguousarray(py, np.float64)
    if len(px) < 3:
        return np.empty((0, 3), np.int64)
    if quantum is not None and not quantum > 0:
        raise ParameterError(f"quantum must be positive, got {quantum!r}")
    if resolve_engine(engine) == "sweep":
        tri = sweep_points(px, py, quantum=quantum)
        if tri is not None:
            return tri
    return _qhull(px, py)
