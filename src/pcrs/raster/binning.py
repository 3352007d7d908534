"""Per-cell reductions of point values onto a :class:`~pcrs.raster.grid.RasterGrid`.

Each reducer takes the flat pixel index of every point (already restricted to
the points inside the grid) and the values, and returns one value per pixel
(NaN where no point falls). They are vectorised with ``bincount`` or with one
sort followed by ``ufunc.reduceat``; no loop runs over points or pixels.

:data:`REDUCERS` is the registry used by the products and the command line.

Examples
--------
>>> import numpy as np
>>> from pcrs.raster.grid import RasterGrid
>>> g = RasterGrid(0.0, 2.0, 1.0, 2, 2)
>>> x = np.array([0.2, 0.7, 1.5]); y = np.array([1.5, 1.2, 0.5])
>>> bin_points(g, x, y, np.array([1.0, 3.0, 5.0]), "max")
array([[ 3., nan],
       [nan,  5.]])
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from .._compiled import kernels_import
from ..errors import ParameterError
from .grid import RasterGrid

__all__ = [
    "REDUCERS",
    "bin_points",
    "cell_extreme_index",
    "pixel_index",
    "reduce_count",
    "reduce_majority",
    "reduce_max",
    "reduce_mean",
    "reduce_min",
    "reduce_percentile",
    "reduce_std",
    "reduce_sum",
]


def pixel_index(
    grid: RasterGrid, x: np.ndarray, y: np.ndarray, closed: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Flat pixel index (``row * width + col``) of the points inside the grid.

    Returns
    -------
    index : ndarray of int64
        One entry per point inside the grid.
    inside : ndarray of bool
        Which input points are inside.
    """
    rows, cols, inside = grid.cell_of(x, y, closed=closed)
    return rows[inside] * grid.width + cols[inside], inside


def _empty(size: int) -> np.ndarray:
    return np.full(size, np.nan)


def reduce_count(index: np.ndarray, values: np.ndarray | None, size: int) -> np.ndarray:
    """Number of points per pixel (0 where empty, never NaN)."""
    return np.bincount(index, minlength=size).astype(np.float64)


def reduce_sum(index: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Sum of the values per pixel."""
    out = np.bincount(index, weights=np.asarray(values, np.float64), minlength=size)
    out[np.bincount(index, minlength=size) == 0] = np.nan
    return out


def reduce_mean(index: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Mean of the values per pixel."""
    n = np.bincount(index, minlength=size)
    s = np.bincount(index, weights=np.asarray(values, np.float64), minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = s / n
    out[n == 0] = np.nan
    return out


def reduce_std(index: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Population standard deviation per pixel (two-pass, numerically stable)."""
    mean = reduce_mean(index, values, size)
    d = np.asarray(values, np.float64) - mean[index]
    n = np.bincount(index, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.sqrt(np.bincount(index, weights=d * d, minlength=size) / n)
    out[n == 0] = np.nan
    return out


def _sorted_groups(index: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    order = np.argsort(index, kind="stable")
    sidx = index[order]
    starts = np.flatnonzero(np.r_[True, sidx[1:] != sidx[:-1]]) if len(sidx) else sidx
    return order, sidx, starts


def _reduceat(ufunc, index: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    out = _empty(size)
    if len(index) == 0:
        return out
    order, sidx, starts = _sorted_groups(index)
    out[sidx[starts]] = ufunc.reduceat(np.asarray(values, np.float64)[order], starts)
    return out


def reduce_min(index: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Lowest value per pixel."""
    return _reduceat(np.minimum, index, values, size)


def reduce_max(index: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Highest value per pixel."""
    return _reduceat(np.maximum, index, values, size)


def reduce_percentile(
    index: np.ndarray, values: np.ndarray, size: int, q: float = 50.0
) -> np.ndarray:
    """The ``q``-th percentile per pixel, linear interpolation between order statistics.

    Same definition as ``numpy.percentile(..., method="linear")`` applied to
    each pixel's values.
    """
    if not 0 <= q <= 100:
        raise ParameterError(f"percentile q must be in [0, 100], got {q!r}")
    out = _empty(size)
    if len(index) == 0:
        return out
    values = np.asarray(values, np.float64)
    order = np.lexsort((values, index))
    sidx, svals = index[order], values[order]
    starts = np.flatnonzero(np.r_[True, sidx[1:] != sidx[:-1]])
    counts = np.diff(np.r_[starts, len(sidx)])
    pos = (counts - 1) * (q / 100.0)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, counts - 1)
    frac = pos - lo
    a, b = svals[starts + lo], svals[starts + hi]
    out[sidx[starts]] = a + (b - a) * frac
    return out


def reduce_majority(index: np.ndarray, values: np.ndarray, size: int) -> np.ndarray:
    """Most frequent value per pixel (ties: the smallest value)."""
    out = _empty(size)
    if len(index) == 0:
        return out
    values = np.asarray(values)
    uniq, inv = np.unique(values, return_inverse=True)
    k = len(uniq)
    pair = index.astype(np.int64) * k + inv.ravel()
    pairs, counts = np.unique(pair, return_counts=True)
    cell, cls = pairs // k, pairs % k
    # within each cell: highest count first, then the smallest class
    order = np.lexsort((cls, -counts, cell))
    cell, cls = cell[order], cls[order]
    first = np.r_[True, cell[1:] != cell[:-1]]
    out[cell[first]] = uniq[cls[first]]
    return out


#: reducer name -> function ``(index, values, size, **params) -> flat array``
REDUCERS: dict[str, Callable[..., np.ndarray]] = {
    "min": reduce_min,
    "max": reduce_max,
    "mean": reduce_mean,
    "sum": reduce_sum,
    "std": reduce_std,
    "count": reduce_count,
    "percentile": reduce_percentile,
    "majority": reduce_majority,
}


def bin_points(
    grid: RasterGrid,
    x: np.ndarray,
    y: np.ndarray,
    values: np.ndarray | None,
    reducer: str = "mean",
    *,
    closed: bool = False,
    **params,
) -> np.ndarray:
    """Reduce point values per pixel.

    Parameters
    ----------
    grid : RasterGrid
    x, y : ndarray
        Point coordinates (CRS units).
    values : ndarray or None
        One value per point (ignored by ``"count"``).
    reducer : str
        A key of :data:`REDUCERS`.
    closed : bool
        Count points on the grid's east/south outer edges in the last column/row.
    **params
        Extra parameters of the reducer (``q`` for ``"percentile"``).

    Returns
    -------
    ndarray of float64, shape ``grid.shape``
        NaN where no point falls (0 for ``"count"``).
    """
    try:
        func = REDUCERS[reducer]
    except KeyError:
        raise ParameterError(
            f"unknown reducer {reducer!r}; choose one of {sorted(REDUCERS)}"
        ) from None
    index, inside = pixel_index(grid, x, y, closed=closed)
    vals = None if values is None else np.asarray(values)[inside]
    if vals is None and reducer != "count":
        raise ParameterError(f"reducer {reducer!r} needs values")
    return func(index, vals, grid.size, **params).reshape(grid.shape)


def cell_extreme_index(
    grid: RasterGrid,
    x: np.ndarray,
    y: np.ndarray,
    values: np.ndarray,
    which: str = "max",
    *,
    closed: bool = False,
) -> np.ndarray:
    """Indices (into the input) of the point with the highest (or lowest) value in each pixel.

    Used to keep the top surface (highest point per pixel) before a TIN, as
    IGN's DSM marking does.

    Returns
    -------
    ndarray of int64
        One point index per non-empty pixel.
    """
    if which not in ("max", "min"):
        raise ParameterError(f"which must be 'max' or 'min', got {which!r}")
    index, inside = pixel_index(grid, x, y, closed=closed)
    if len(index) == 0:
        return np.empty(0, np.int64)
    ids = np.flatnonzero(inside)
    vals = np.asarray(values, np.float64)[inside]
    key = -vals if which == "max" else vals
    # ties broken by position, not by input order, so that any subset containing
    # the whole pixel picks the same point
    xs = np.asarray(x, np.float64)[inside]
    ys = np.asarray(y, np.float64)[inside]
    if have_kernels():  # one pass, O(n)
        from ._raster_kernels import cell_best

        best = cell_best(index.astype(np.int64), key, xs, ys, grid.size)
        return ids[best[best >= 0]]
    order = np.lexsort((ys, xs, key, index))
    sidx = index[order]
    first = np.r_[True, sidx[1:] != sidx[:-1]]
    return ids[order[first]]


@functools.lru_cache(maxsize=1)
def have_kernels() -> bool:
    """Whether the compiled single-pass kernels of the raster products can run (numba
    installed and importing); otherwise numpy gives the same results, slower."""
    return kernels_import("pcrs.raster._raster_kernels", "numpy")
