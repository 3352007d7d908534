"""Numba kernels of the low-point test (:func:`pcrs.classify.noise.low_points`, which
keeps the numpy path giving the same results).

Importing this module needs numba; check with :func:`pcrs._compiled.kernels_import`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["candidate_cells", "candidates", "lowest_grid"]


@njit(cache=True)
def lowest_grid(x, y, z, cell, ix0, iy0, zmin, nx, ny, r):  # pragma: no cover - compiled
    """The lowest point of each cell, on a grid of ``ny + 2 r`` rows of ``nx + 2 r``
    cells (a margin of ``r`` empty cells), flattened; -1 for an empty cell.

    "Lowest" compares ``float32(z - zmin)`` (ties: the first point, NaN last), as the
    first point of each cell in ``np.lexsort((zl, key))``.
    """
    w = nx + 2 * r
    grid = np.full((ny + 2 * r) * w, -1, np.int64)
    for i in range(x.shape[0]):
        p = (np.int64(math.floor(y[i] / cell)) - iy0 + r) * w + (
            np.int64(math.floor(x[i] / cell)) - ix0 + r
        )
        j = grid[p]
        if j < 0:
            grid[p] = i
            continue
        zi = np.float32(z[i] - zmin)
        zj = np.float32(z[j] - zmin)
        if zi < zj or (math.isnan(zj) and not math.isnan(zi)):
            grid[p] = i
    return grid


@njit(cache=True)
def candidate_cells(
    grid, z, zmin, thr, nx, ny, r, tolerance, min_cells
):  # pragma: no cover - compiled
    """Per grid cell, whether its lowest point lies below (``float32(z - zmin) > thr``)
    all but ``tolerance`` of the lowest points of the occupied cells around, with at
    least ``min_cells`` of them. ``thr`` holds one threshold per occupied cell, in the
    grid's order."""
    w = nx + 2 * r
    ok = np.zeros(grid.shape[0], np.bool_)
    c = 0
    for gy in range(r, ny + r):
        for gx in range(r, nx + r):
            p = gy * w + gx
            if grid[p] < 0:
                continue
            t = thr[c]
            c += 1
            occupied = 0
            below = 0
            for dy in range(-r, r + 1):
                for dx in range(-r, r + 1):
                    if dy == 0 and dx == 0:
                        continue
                    j = grid[p + dy * w + dx]
                    if j >= 0:
                        occupied += 1
                        if np.float32(z[j] - zmin) > t:
                            below += 1
            ok[p] = occupied - below <= tolerance and occupied >= min_cells
    return ok


@njit(cache=True)
def candidates(x, y, cell, ix0, iy0, nx, r, ok):  # pragma: no cover - compiled
    """Indices (increasing) of the points whose cell is ``ok``."""
    w = nx + 2 * r
    flags = np.zeros(x.shape[0], np.bool_)
    count = 0
    for i in range(x.shape[0]):
        p = (np.int64(math.floor(y[i] / cell)) - iy0 + r) * w + (
            np.int64(math.floor(x[i] / cell)) - ix0 + r
        )
        if ok[p]:
            flags[i] = True
            count += 1
    out = np.empty(count, np.int64)
    c = 0
    for i in range(x.shape[0]):
        if flags[i]:
            out[c] = i
            c += 1
    return out
