"""Numba kernels of the ground refinement (:func:`pcrs.classify.ground.refine_ground`,
which keeps the numpy/scipy path giving the same results).

Importing this module needs numba; check with :func:`pcrs._compiled.kernels_import`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["cell_range", "envelope_grid", "local_planes"]


@njit(cache=True)
def cell_range(x, y, cell):  # pragma: no cover - compiled
    """Smallest and largest cell column and row (``floor(v / cell)``) of the points."""
    ix0 = iy0 = np.int64(2**62)
    ix1 = iy1 = -np.int64(2**62)
    for i in range(x.shape[0]):
        cx = np.int64(math.floor(x[i] / cell))
        cy = np.int64(math.floor(y[i] / cell))
        ix0 = min(ix0, cx)
        ix1 = max(ix1, cx)
        iy0 = min(iy0, cy)
        iy1 = max(iy1, cy)
    return ix0, ix1, iy0, iy1


@njit(cache=True)
def envelope_grid(x, y, z, cell, ix0, iy0, nx, ny):  # pragma: no cover - compiled
    """Per cell (row-major, ``nx`` by ``ny`` from cell ``(ix0, iy0)``), the point with
    the smallest z, ties broken by the smaller x then the smaller y then the first; -1
    for an empty cell.

    The first point of each cell in ``np.lexsort((y, x, z, key))`` (what
    :func:`pcrs.classify.height.sorted_by_cell` sorts by), in one O(n) pass.
    """
    best = np.full(nx * ny, -1, np.int64)
    for i in range(x.shape[0]):
        p = (np.int64(math.floor(y[i] / cell)) - iy0) * nx + (
            np.int64(math.floor(x[i] / cell)) - ix0
        )
        j = best[p]
        if j < 0:
            best[p] = i
            continue
        zi, zj = z[i], z[j]
        if math.isnan(zi):
            if not math.isnan(zj):
                continue
        elif math.isnan(zj) or zi < zj:
            best[p] = i
            continue
        elif zi > zj:
            continue
        if x[i] < x[j] or (x[i] == x[j] and y[i] < y[j]):
            best[p] = i
    return best


@njit(cache=True)
def local_planes(
    egrid, nx, ny, exl, eyl, ez, qx, qy, ox, oy, cell, ix0, iy0, k, out, retry
):  # pragma: no cover - compiled
    """The least-squares plane through the ``k`` envelope points nearest to each query,
    evaluated at the query (see :func:`pcrs.classify.ground._local_planes`).

    ``egrid`` holds, per cell, the envelope point of that cell (-1: none); the
    neighbours are found ring of cells by ring of cells. The sums are taken in the
    order of increasing distance, as from :meth:`scipy.spatial.cKDTree.query`, so the
    values are those of the numpy path bit for bit. Where two of the ``k + 1`` nearest
    distances are equal (or within 1e-12 relative), which neighbours cKDTree keeps, or
    in which order, depends on its traversal: ``retry`` is set for the caller to ask
    cKDTree instead.
    """
    kk = k + 1
    bd = np.empty(kk)
    bi = np.empty(kk, np.int64)
    n = float(k)
    margin = 1e-6 * max(cell, 1.0)
    for i in range(qx.shape[0]):
        lx = qx[i] - ox
        ly = qy[i] - oy
        cx = np.int64(math.floor(qx[i] / cell)) - ix0
        cy = np.int64(math.floor(qy[i] / cell)) - iy0
        cnt = 0
        r = 0
        while True:
            for gy in range(cy - r, cy + r + 1):
                if gy < 0 or gy >= ny:
                    continue
                edge = gy == cy - r or gy == cy + r
                step = 1 if edge else 2 * r
                gx = cx - r
                while gx <= cx + r:
                    if 0 <= gx < nx:
                        e = egrid[gy * nx + gx]
                        if e >= 0:
                            dx = exl[e] - lx
                            dy = eyl[e] - ly
                            d = dx * dx + dy * dy
                            if cnt < kk:
                                pos = cnt
                                cnt += 1
                            elif d < bd[kk - 1]:
                                pos = kk - 1
                            else:
                                pos = -1
                            if pos >= 0:
                                while pos > 0 and bd[pos - 1] > d:
                                    bd[pos] = bd[pos - 1]
                                    bi[pos] = bi[pos - 1]
                                    pos -= 1
                                bd[pos] = d
                                bi[pos] = e
                    gx += step
            # the distance from the query to the cells not yet seen (none beyond the
            # grid's edges), less a margin for the rounding of the cell numbers
            reach = np.inf
            if cx - r > 0:
                reach = min(reach, lx - ((ix0 + cx - r) * cell - ox))
            if cx + r < nx - 1:
                reach = min(reach, (ix0 + cx + r + 1) * cell - ox - lx)
            if cy - r > 0:
                reach = min(reach, ly - ((iy0 + cy - r) * cell - oy))
            if cy + r < ny - 1:
                reach = min(reach, (iy0 + cy + r + 1) * cell - oy - ly)
            if reach == np.inf:
                break  # the whole grid seen
            reach -= margin
            if cnt == kk and reach > 0 and bd[kk - 1] < reach * reach:
                break
            r += 1
        tie = cnt < kk
        for j in range(cnt - 1):
            if bd[j + 1] - bd[j] <= 1e-12 * bd[j + 1]:
                tie = True
        if tie:
            retry[i] = True
            out[i] = np.nan
            continue
        # plane z = a + b (x - qx) + c (y - qy): the value at the query is a
        sx = sy = sxx = syy = sxy = sz = sxz = syz = 0.0
        for j in range(k):
            e = bi[j]
            dx = exl[e] - lx
            dy = eyl[e] - ly
            zz = ez[e]
            if j == 0:
                sx, sy, sxx, syy, sxy = dx, dy, dx * dx, dy * dy, dx * dy
                sz, sxz, syz = zz, dx * zz, dy * zz
            else:
                sx += dx
                sy += dy
                sxx += dx * dx
                syy += dy * dy
                sxy += dx * dy
                sz += zz
                sxz += dx * zz
                syz += dy * zz
        cof_xx = sxx * syy - sxy * sxy
        cof_xy = sx * syy - sxy * sy
        cof_yy = sx * sxy - sxx * sy
        det = n * cof_xx - sx * cof_xy + sy * cof_yy
        det_a = sz * cof_xx - sx * (sxz * syy - sxy * syz) + sy * (sxz * sxy - sxx * syz)
        if abs(det) > 1e-9 * max(sxx * syy, 1e-12) * n:
            out[i] = det_a / det
        else:
            out[i] = sz / n
