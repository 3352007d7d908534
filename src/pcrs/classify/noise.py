"""Noise filters: statistical outlier removal and isolated voxels.

- **Statistical outlier removal** (Rusu et al. 2008, PDAL ``filters.outlier``
  ``method="statistical"``): the mean distance of each point to its ``k``
  nearest neighbours; a point is noise when that mean exceeds the global mean
  by more than ``multiplier`` standard deviations. Neighbours are found with a
  :class:`scipy.spatial.cKDTree` in batches of points, so memory stays bounded.
- **Isolated voxel filter** (lidR ``ivf``): points are binned into cubic voxels
  of side ``resolution``; a point is noise when its voxel and the 26 around it
  hold at most ``n`` points together.
- **Low points**: a point is a low outlier when it lies more than ``depth``
  below the lowest point of every cell around its own (``radius_cells`` cells of
  ``cell`` metres), after allowing a rise of ``slope`` × distance to each of
  them, where ``slope`` is the local terrain's (the 10–90 % spread of those cells'
  lowest points over the neighbourhood's radius), at most ``max_slope``: on a flat
  street a point 1.5 m under the ground is noise; in a ditch or on a bank the
  allowance grows with the slope around. Comparing with each cell's *lowest* point means that a ground point
  under a tree is compared with the ground around it, not with the canopy. This
  catches the multipath points a few metres under the ground that share their
  voxels with ground points and so escape the voxel filter.

Both return a boolean mask (True = noise). :data:`NOISE_FILTERS` is the registry
used by :func:`classify_noise` and the command line.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from .._compiled import kernels_import
from ..errors import ParameterError
from ..points import PointCloud

__all__ = [
    "NOISE_DEFAULTS",
    "NOISE_FILTERS",
    "classify_noise",
    "isolated_voxels",
    "low_points",
    "statistical_outliers",
]


def _xyz(points, y, z) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if isinstance(points, PointCloud):
        if y is not None or z is not None:
            raise ParameterError("give either a PointCloud or x, y and z arrays, not both")
        return points.x, points.y, points.z
    if y is None or z is None:
        raise ParameterError("y and z are required when the first argument is an x array")
    x = np.asarray(points, np.float64)
    y = np.asarray(y, np.float64)
    z = np.asarray(z, np.float64)
    if not (x.ndim == 1 and x.shape == y.shape == z.shape):
        raise ParameterError(
            f"x, y and z must be 1-D arrays of one length; got {x.shape}, {y.shape}, {z.shape}"
        )
    return x, y, z


def statistical_outliers(
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    *,
    k: int = 8,
    multiplier: float = 2.0,
    batch_size: int = 250_000,
    workers: int = 1,
) -> np.ndarray:
    """Statistical outlier removal: mean distance to ``k`` neighbours vs the global statistics.

    Parameters
    ----------
    x, y, z : ndarray
        Coordinates.
    k : int
        Neighbours per point (PDAL ``mean_k``), default 8.
    multiplier : float
        Standard deviations above the mean distance that make a point noise,
        default 2 (PDAL's default).
    batch_size : int
        Points queried at once.
    workers : int
        Threads of the neighbour queries (``-1``: all cores).

    Returns
    -------
    ndarray of bool
        True for noise points.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.random((2, 2000)) * 20
    >>> z = np.r_[np.zeros(1999), 30.0]
    >>> bool(statistical_outliers(x, y, z)[-1])
    True
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ParameterError(f"sor: k must be a positive integer, got {k!r}")
    if not (isinstance(multiplier, (int, float)) and math.isfinite(multiplier) and multiplier > 0):
        raise ParameterError(f"sor: multiplier must be a positive number, got {multiplier!r}")
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, (int, np.integer))
        or batch_size < 1
    ):
        raise ParameterError(f"sor: batch_size must be a positive integer, got {batch_size!r}")
    n = len(x)
    if n <= k:
        return np.zeros(n, bool)
    # local coordinates keep the tree precise on national grids
    xyz = np.column_stack([x - x.min(), y - y.min(), z - z.min()])
    tree = cKDTree(xyz)
    mean_d = np.empty(n)
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        d, _ = tree.query(xyz[start:stop], k=k + 1, workers=workers)
        mean_d[start:stop] = d[:, 1:].mean(axis=1)
    mu = mean_d.mean()
    sigma = mean_d.std()
    return mean_d > mu + multiplier * sigma


def isolated_voxels(
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    *,
    resolution: float = 5.0,
    n: int = 6,
) -> np.ndarray:
    """Isolated voxel filter: points whose 3 × 3 × 3 voxel neighbourhood is almost empty.

    Parameters
    ----------
    x, y, z : ndarray
        Coordinates.
    resolution : float
        Voxel side (map units), default 5 (lidR ``ivf``).
    n : int
        A point is noise when its voxel and the 26 neighbouring voxels hold at
        most ``n`` points, itself included; default 6.

    Returns
    -------
    ndarray of bool
        True for noise points.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.random((2, 5000)) * 50
    >>> z = np.r_[np.zeros(4999), 80.0]
    >>> int(isolated_voxels(x, y, z).sum())
    1
    """
    if not (isinstance(resolution, (int, float)) and math.isfinite(resolution) and resolution > 0):
        raise ParameterError(f"ivf: resolution must be a positive number, got {resolution!r}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ParameterError(f"ivf: n must be a non-negative integer, got {n!r}")
    npts = len(x)
    if npts == 0:
        return np.zeros(0, bool)
    # voxels on the global lattice (multiples of resolution), so tiles and the merged
    # cloud share them; +1 leaves room for the -1 neighbours
    finite = all(math.isfinite(float(v.min())) and math.isfinite(float(v.max())) for v in (x, y, z))
    if finite:
        # floor(v / resolution) is monotonic: its extremes are those of the coordinates
        lows = [math.floor(float(v.min()) / resolution) for v in (x, y, z)]
        dims = [
            math.floor(float(v.max()) / resolution) - lo + 3
            for v, lo in zip((x, y, z), lows, strict=True)
        ]
        if math.prod(dims) <= max(_IVF_DENSE_PER_POINT * npts, _IVF_DENSE_MIN):
            return _isolated_voxels_dense(x, y, z, resolution, n, lows, dims)
    ijk = []
    for v in (x, y, z):
        cell = np.floor(v / resolution).astype(np.int64)
        ijk.append(cell - cell.min() + 1)
    dims = [int(a.max()) + 2 for a in ijk]
    if math.prod(dims) >= 2**62:
        raise ParameterError(
            f"ivf: the voxel grid {dims} is too large for resolution {resolution!r}; "
            "use a larger resolution or process tiles"
        )
    strides = (dims[1] * dims[2], dims[2], 1)
    key = ijk[0] * strides[0] + ijk[1] * strides[1] + ijk[2] * strides[2]
    del ijk
    voxels, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    del key
    total = np.zeros(voxels.size, np.int64)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            for dk in (-1, 0, 1):
                nb = voxels + di * strides[0] + dj * strides[1] + dk * strides[2]
                pos = np.searchsorted(voxels, nb)
                pos_c = np.minimum(pos, voxels.size - 1)
                hit = voxels[pos_c] == nb
                total += np.where(hit, counts[pos_c], 0)
    return total[inverse.ravel()] <= n


#: :func:`isolated_voxels` counts points in a dense grid of voxels (no sort) when the
#: grid holds at most this many voxels per point, or ``_IVF_DENSE_MIN`` voxels
_IVF_DENSE_PER_POINT = 4
_IVF_DENSE_MIN = 1 << 22


def _isolated_voxels_dense(
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    resolution: float,
    n: int,
    lows: list[int],
    dims: list[int],
) -> np.ndarray:
    """:func:`isolated_voxels` on a dense grid: the points counted per voxel with
    ``np.bincount``, the 27 voxels around summed as three separable 3-cell sums (the
    same integers as the sorted path's, in O(n + voxels))."""
    size = math.prod(dims)
    itype = np.int32 if size < 2**31 else np.int64
    strides = (dims[1] * dims[2], dims[2], 1)
    key = np.zeros(len(x), itype)
    for v, lo, stride in zip((x, y, z), lows, strides, strict=True):
        cell = np.floor(v / resolution)
        cell -= lo - 1  # the same cell - cell.min() + 1 as the sorted path
        key += cell.astype(itype) * itype(stride)
        del cell
    counts = np.bincount(key, minlength=size).reshape(dims)
    box = counts[:-2] + counts[1:-1] + counts[2:]
    box = box[:, :-2] + box[:, 1:-1] + box[:, 2:]
    box = box[:, :, :-2] + box[:, :, 1:-1] + box[:, :, 2:]
    isolated = np.zeros(dims, bool)
    isolated[1:-1, 1:-1, 1:-1] = box <= n
    return isolated.ravel()[key]


def low_points(
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    *,
    cell: float = 0.5,
    depth: float = 1.0,
    max_slope: float = 1.0,
    radius_cells: int = 3,
    tolerance: int = 1,
    min_cells: int = 4,
) -> np.ndarray:
    """Low outliers: points far below the neighbouring cells (see the module notes).

    The points are binned in square cells on multiples of ``cell``. A point is a
    low outlier when, for the lowest point ``q`` of each of the
    ``(2 * radius_cells + 1)**2 - 1`` cells around its own, ``z_q - z > depth +
    slope * distance(p, q)``, except for at most ``tolerance`` of them (other low
    points nearby); at least ``min_cells`` of those cells must hold points. Its own
    cell is left out, so that low points side by side are found together. ``slope`` is
    the terrain's around the point: the spread (10th to 90th percentile) of those
    cells' lowest points divided by the neighbourhood's radius, at most ``max_slope``.

    Parameters
    ----------
    x, y, z : ndarray
    cell : float
        Cell size (m).
    depth : float
        How far (m) below its neighbours, beyond the slope allowance, a point must lie.
    max_slope : float
        Steepest terrain expected (rise over run): a neighbour ``d`` metres away may
        be at most ``max_slope * d`` higher (less where the terrain around is flatter)
        without making the point an outlier.
    radius_cells : int
        Neighbourhood half-size in cells.
    tolerance : int
        Neighbouring cells allowed to break the rule (a cluster of low points).
    min_cells : int
        Occupied neighbouring cells needed to decide.

    Returns
    -------
    ndarray of bool
        True for low outliers.
    """
    if not cell > 0:
        raise ParameterError(f"low points: cell must be positive, got {cell!r}")
    if not depth >= 0 or not max_slope >= 0:
        raise ParameterError(
            f"low points: depth and max_slope must be >= 0, got {depth!r}, {max_slope!r}"
        )
    r = int(radius_cells)
    if not 1 <= r <= 10:
        raise ParameterError(f"low points: radius_cells must be in 1..10, got {radius_cells!r}")
    n_around = (2 * r + 1) ** 2 - 1
    tolerance, min_cells = int(tolerance), int(min_cells)
    if not 0 <= tolerance < n_around // 4 or not 1 <= min_cells <= n_around:
        raise ParameterError(
            f"low points: tolerance must be in 0..{n_around // 4 - 1} and min_cells in "
            f"1..{n_around}, got {tolerance!r}, {min_cells!r}"
        )
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    z = np.asarray(z, np.float64)
    flagged = np.zeros(x.size, bool)
    if x.size < 2:
        return flagged
    # cells on multiples of ``cell`` so that tiles and the merged cloud share them; the
    # coordinates, local, in float32 (computed where needed: ``_local32``)
    offsets = [(dy, dx) for dy in range(-r, r + 1) for dx in range(-r, r + 1) if dy or dx]
    xmin, ymin, zmin = x.min(), y.min(), z.min()
    found = None
    if _have_kernels():
        found = _low_candidates_compiled(x, y, z, cell, depth, r, tolerance, min_cells)
    if found is None:
        found = _low_candidates(x, y, z, cell, depth, r, tolerance, min_cells, offsets)
    cand, ixc, iyc, lookup = found
    if cand.size == 0:
        return flagged
    # the slope allowance follows the terrain around each candidate: the spread of its
    # neighbouring cells' lowest points over the neighbourhood's radius (a flat street
    # allows little, a bank or a ditch side much), never more than ``max_slope``. The
    # spread is taken on the lower half (twice median - 10th percentile): under a canopy
    # the cells without a ground return hold a leaf as their lowest point, and they
    # would make a flat forest floor look steep
    around = np.full((cand.size, len(offsets)), np.nan, np.float32)
    neighbours = np.empty((cand.size, len(offsets)), np.int64)
    for c, (dy, dx) in enumerate(offsets):
        neighbours[:, c] = nb = lookup(ixc + dx, iyc + dy)
        around[:, c] = np.where(nb >= 0, _local32(z, zmin, np.maximum(nb, 0)), np.nan)
    lo, mid = _row_percentiles(around, (10, 50))
    slope = np.minimum(2.0 * (mid - lo) / (r * cell), max_slope)
    xc, yc, zc = _local32(x, xmin, cand), _local32(y, ymin, cand), _local32(z, zmin, cand)
    violations = np.zeros(cand.size, np.int16)
    for nb in neighbours.T:
        has = nb >= 0
        j = np.where(has, nb, 0)
        d = np.hypot(_local32(x, xmin, j) - xc, _local32(y, ymin, j) - yc)
        violations += has & ~(_local32(z, zmin, j) - zc - slope * d > depth)
    flagged[cand[violations <= tolerance]] = True
    return flagged


def _local32(v: np.ndarray, vmin: Any, idx: np.ndarray) -> np.ndarray:
    """``(v - vmin).astype(np.float32)[idx]``, computed at ``idx`` only."""
    return (v[idx] - vmin).astype(np.float32)


def _row_percentiles(a: np.ndarray, q: tuple[float, ...]) -> np.ndarray:
    """``np.nanpercentile(a, q, axis=1)`` of a 2-D float array, bit for bit, faster.

    numpy applies its 1-D function row by row (tens of microseconds each). The
    quantiles of a row depend only on its values other than NaN, so the rows are
    sorted (NaN last) and grouped by their count of values: each group is one
    vectorised ``np.percentile`` over its first columns. Rows of NaN only go to
    ``np.nanpercentile`` (NaN, with its warning).
    """
    rows, cols = a.shape
    if rows == 0:
        return np.nanpercentile(a, q, axis=1)
    valid = cols - np.isnan(a).sum(axis=1)
    sort = np.sort(a, axis=1)  # NaN last
    out = None
    for m in np.unique(valid):
        sel = np.flatnonzero(valid == m)
        if m == 0:
            part = np.nanpercentile(a[sel], q, axis=1)
        else:
            part = np.percentile(sort[sel, :m], q, axis=1)
        if out is None:
            out = np.empty((len(q), rows), part.dtype)
        out[:, sel] = part
    assert out is not None
    return out


def _low_candidates(x, y, z, cell, depth, r, tolerance, min_cells, offsets):
    """:func:`low_points`' candidates, numpy: the points of the cells whose lowest point
    lies below all but ``tolerance`` of the lowest points around (at least ``min_cells``
    of them). Returns them, their cells' columns and rows, and the lookup of the
    lowest point of a cell."""
    ix = np.floor(x / cell).astype(np.int64)
    iy = np.floor(y / cell).astype(np.int64)
    ix -= ix.min()
    iy -= iy.min()
    nx, ny = int(ix.max()) + 1, int(iy.max()) + 1
    zl = (z - z.min()).astype(np.float32)
    key = iy * nx + ix
    order = np.lexsort((zl, key))
    k = key[order]
    del key
    first = np.r_[True, k[1:] != k[:-1]]
    del k
    lowest = order[first]  # lowest point of each occupied cell
    if (nx + 2 * r) * (ny + 2 * r) > _DENSE_CELLS:
        # a sparse cloud over a wide area (a thinned flight over km²): the same test on the
        # occupied cells only, neighbours found by binary search in their sorted keys
        lookup = _sparse_lookup(ix, iy, lowest, nx, ny)
    else:
        lookup = _dense_lookup(ix, iy, lowest, nx, ny, r)
    # candidates: below all but ``tolerance`` of the neighbouring cells' lowest points
    cells_z = zl[lowest]
    below = np.zeros(lowest.size, np.int16)
    occupied = np.zeros(lowest.size, np.int16)
    ixl, iyl = ix[lowest], iy[lowest]
    for dy, dx in offsets:
        nb = lookup(ixl + dx, iyl + dy)
        has = nb >= 0
        occupied += has
        below += has & (zl[np.where(has, nb, 0)] > cells_z + depth)
    del ixl, iyl, cells_z, zl
    ok_cell = (occupied - below <= tolerance) & (occupied >= min_cells)
    cell_of_point = np.empty(x.size, np.int32 if lowest.size < 2**31 else np.int64)
    cell_of_point[order] = np.cumsum(first, dtype=cell_of_point.dtype) - 1
    del order, first
    cand = np.flatnonzero(ok_cell[cell_of_point])
    return cand, ix[cand], iy[cand], lookup


def _low_candidates_compiled(x, y, z, cell, depth, r, tolerance, min_cells):
    """:func:`_low_candidates` in three O(n) compiled passes over a grid of cells (no
    sort, no per-point temporaries); None where the numpy path must run (non-finite
    coordinates, a grid too large for memory)."""
    from ._noise_kernels import candidate_cells, candidates, lowest_grid

    lims = [(float(v.min()), float(v.max())) for v in (x, y, z)]
    if not all(math.isfinite(lo) and math.isfinite(hi) for lo, hi in lims):
        return None
    # floor(v / cell) is monotonic: its extremes are those of the coordinates
    ix0, iy0 = (math.floor(lo / cell) for lo, _ in lims[:2])
    nx = math.floor(lims[0][1] / cell) - ix0 + 1
    ny = math.floor(lims[1][1] / cell) - iy0 + 1
    if (nx + 2 * r) * (ny + 2 * r) > _DENSE_CELLS:
        return None
    zmin = z.min()
    grid = lowest_grid(x, y, z, cell, ix0, iy0, zmin, nx, ny, r)
    lowest = grid[grid >= 0]
    thr = _local32(z, zmin, lowest) + depth  # the numpy path's cells_z + depth
    ok = candidate_cells(grid, z, zmin, thr, nx, ny, r, tolerance, min_cells)
    del thr, lowest
    cand = candidates(x, y, cell, ix0, iy0, nx, r, ok)
    del ok
    ixc = np.floor(x[cand] / cell).astype(np.int64) - ix0
    iyc = np.floor(y[cand] / cell).astype(np.int64) - iy0
    grid2 = grid.reshape(ny + 2 * r, nx + 2 * r)
    return cand, ixc, iyc, lambda cx, cy: grid2[cy + r, cx + r]


@functools.lru_cache(maxsize=1)
def _have_kernels() -> bool:
    """Whether the compiled low-point passes (:mod:`pcrs.classify._noise_kernels`) can
    run; otherwise numpy gives the same results, slower."""
    return kernels_import("pcrs.classify._noise_kernels", "numpy")


#: grids of more cells than this are looked up sparsely by :func:`low_points`
_DENSE_CELLS = 80_000_000


def _dense_lookup(ix, iy, lowest, nx: int, ny: int, r: int):
    """``f(cx, cy)`` -> index of the lowest point of cell ``(cx, cy)``, or -1 (a dense grid)."""
    grid = np.full((ny + 2 * r, nx + 2 * r), -1, np.int64)
    grid[iy[lowest] + r, ix[lowest] + r] = lowest
    return lambda cx, cy: grid[cy + r, cx + r]


def _sparse_lookup(ix, iy, lowest, nx: int, ny: int):
    """The same lookup over the occupied cells only (binary search in their sorted keys)."""
    width = nx + 64  # room for the neighbour offsets (|dx| <= 10) without wrapping rows
    keys = (iy[lowest] + 32) * width + (ix[lowest] + 32)
    sort = np.argsort(keys)
    keys, owners = keys[sort], lowest[sort]

    def lookup(cx, cy):
        q = (cy + 32) * width + (cx + 32)
        pos = np.clip(np.searchsorted(keys, q), 0, keys.size - 1)
        return np.where(keys[pos] == q, owners[pos], -1)

    return lookup


#: noise filter name -> pure function ``f(x, y, z, **params) -> bool mask``
NOISE_FILTERS: dict[str, Callable[..., np.ndarray]] = {
    "sor": statistical_outliers,
    "ivf": isolated_voxels,
    "low": low_points,
}

#: default parameters of each noise filter
NOISE_DEFAULTS: dict[str, dict[str, Any]] = {
    "sor": {"k": 8, "multiplier": 2.0},
    "ivf": {"resolution": 5.0, "n": 6},
    "low": {"cell": 0.5, "depth": 1.0, "max_slope": 1.0, "radius_cells": 3, "tolerance": 1},
}


def classify_noise(
    points: PointCloud | np.ndarray,
    y: np.ndarray | None = None,
    z: np.ndarray | None = None,
    *,
    method: str = "sor",
    **params: Any,
) -> np.ndarray:
    """Noise mask of a point cloud with one of :data:`NOISE_FILTERS`.

    Parameters
    ----------
    points : PointCloud or ndarray
        A :class:`~pcrs.points.PointCloud`, or the x coordinates (then give ``y`` and ``z``).
    y, z : ndarray, optional
    method : {"sor", "ivf"}
        Statistical outlier removal (default) or isolated voxel filter.
    **params
        Parameters of the filter.

    Returns
    -------
    ndarray of bool
        True for noise points.
    """
    try:
        func = NOISE_FILTERS[str(method).lower()]
    except KeyError:
        raise ParameterError(
            f"unknown noise filter {method!r}; choose one of {sorted(NOISE_FILTERS)}"
        ) from None
    x_, y_, z_ = _xyz(points, y, z)
    return func(x_, y_, z_, **params)
