"""Numba kernels of the raster products' single passes (see :mod:`pcrs.raster.binning`,
which keeps a numpy fallback giving the same results).

Importing this module needs numba; use :func:`have_kernels`-style checks through
:func:`pcrs._compiled.kernels_import` before calling.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["cell_best"]


@njit(cache=True)
def cell_best(index, key, xs, ys, size):  # pragma: no cover - compiled
    """Per pixel, the position (into the inputs) of the point with the smallest ``key``,
    ties broken by the smaller ``xs`` then the smaller ``ys``; NaN keys lose to any
    number. -1 for an empty pixel.

    One pass over the points: the order of ``np.lexsort((ys, xs, key, index))``'s
    first entry per pixel, in O(n) instead of O(n log n).
    """
    best = np.full(size, -1, np.int64)
    for i in range(index.shape[0]):
        p = index[i]
        j = best[p]
        if j < 0:
            best[p] = i
            continue
        ki, kj = key[i], key[j]
        if math.isnan(ki):
            if not math.isnan(kj):
                continue
        elif math.isnan(kj) or ki < kj:
            best[p] = i
            continue
        elif ki > kj:
            continue
        # equal keys (or both NaN): the smaller x, then the smaller y
        if xs[i] < xs[j] or (xs[i] == xs[j] and ys[i] < ys[j]):
            best[p] = i
    return best
