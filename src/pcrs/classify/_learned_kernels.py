"""Numba kernel of the tree traversal of :mod:`pcrs.classify.learned_model`
(which keeps a numpy fallback giving the same scores).

Importing this module needs numba; check with :func:`pcrs._compiled.kernels_import`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

__all__ = ["raw_scores"]


@njit(cache=True, parallel=True)
def raw_scores(
    X, feature, threshold, left, right, value, missing_left, is_leaf, tree_start, tree_class, base
):  # pragma: no cover - compiled
    """Baseline plus the leaf value of every tree, per point and score column.

    A point goes left when ``x <= threshold``; a NaN goes left when ``missing_left``.
    Trees are summed in their stored order (scikit-learn's iteration order). Points
    go in blocks of 256 (their rows stay in cache while every tree walks them).
    """
    n = X.shape[0]
    n_cols = base.shape[0]
    out = np.empty((n, n_cols), np.float64)
    block = 256
    n_blocks = (n + block - 1) // block
    for b in prange(n_blocks):
        lo = b * block
        hi = min(n, lo + block)
        for i in range(lo, hi):
            for c in range(n_cols):
                out[i, c] = base[c]
        for t in range(tree_start.shape[0]):
            root = tree_start[t]
            col = tree_class[t]
            for i in range(lo, hi):
                node = root
                while is_leaf[node] == 0:
                    x = X[i, feature[node]]
                    go_left = missing_left[node] != 0 if math.isnan(x) else x <= threshold[node]
                    node = left[node] if go_left else right[node]
                out[i, col] += value[node]
    return out
