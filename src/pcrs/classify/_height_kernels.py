"""Compiled kernels of :mod:`pcrs.classify.height` (numba): point location in a TIN.

Only imported when numba is available. The triangles and their adjacency come
from pcrs's sweep Delaunay (:func:`pcrs.raster.delaunay.sweep_points_adjacency`);
here each query point is found by a **visibility walk** (step across an edge
that has the point strictly on its right, never back across the edge just
crossed) started from the previous query's triangle, the queries being visited
cell by cell in Morton order, so that most walks take a step or two. The
orientation tests run in float64 on local coordinates; a walk longer than its
limit (a cycle on a near-degenerate sliver, in theory) falls back to a scan of
every triangle, so the location always terminates.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def _part1by1(v):
    v &= 0x0000FFFF
    v = (v | (v << 8)) & 0x00FF00FF
    v = (v | (v << 4)) & 0x0F0F0F0F
    v = (v | (v << 2)) & 0x33333333
    v = (v | (v << 1)) & 0x55555555
    return v


@njit(cache=True)
def morton_order(qx, qy, x0, y0, cell, bits):
    """Indices of the queries cell by cell (cells of ``cell`` from ``(x0, y0)``), cells in
    Morton order, queries in their given order inside a cell: a counting sort, O(n)."""
    n = qx.shape[0]
    side = 1 << bits
    key = np.empty(n, np.int32)
    counts = np.zeros(side * side + 1, np.int64)
    for i in range(n):
        cx = int((qx[i] - x0) / cell)
        cy = int((qy[i] - y0) / cell)
        cx = min(max(cx, 0), side - 1)
        cy = min(max(cy, 0), side - 1)
        k = _part1by1(cx) | (_part1by1(cy) << 1)
        key[i] = k
        counts[k + 1] += 1
    for k in range(side * side):
        counts[k + 1] += counts[k]
    order = np.empty(n, np.int64)
    for i in range(n):
        k = key[i]
        order[counts[k]] = i
        counts[k] += 1
    return order


@njit(cache=True, inline="always")
def _orient(ax, ay, bx, by, px, py):
    return (bx - ax) * (py - ay) - (by - ay) * (px - ax)


@njit(cache=True)
def _contains(tri, vx, vy, t, px, py):
    """Whether triangle ``t`` contains the point (closed, exact up to float rounding)."""
    a = tri[3 * t]
    b = tri[3 * t + 1]
    c = tri[3 * t + 2]
    return (
        _orient(vx[a], vy[a], vx[b], vy[b], px, py) >= 0
        and _orient(vx[b], vy[b], vx[c], vy[c], px, py) >= 0
        and _orient(vx[c], vy[c], vx[a], vy[a], px, py) >= 0
    )


@njit(cache=True)
def _scan(tri, vx, vy, px, py):
    """Triangle containing the point by looking at every one; -1 if none (outside the hull)."""
    for t in range(tri.shape[0] // 3):
        if _contains(tri, vx, vy, t, px, py):
            return t
    return -1


@njit(cache=True)
def _interpolate(tri, vx, vy, vz, t, px, py):
    """Barycentric interpolation of ``vz`` at the point in triangle ``t``."""
    a = tri[3 * t]
    b = tri[3 * t + 1]
    c = tri[3 * t + 2]
    ax, ay = vx[a], vy[a]
    bx, by = vx[b], vy[b]
    cx, cy = vx[c], vy[c]
    det = (by - cy) * (ax - cx) + (cx - bx) * (ay - cy)
    if det == 0.0:
        # a triangle flat in float64 (vertices closer than the sweep's snapping grid):
        # the nearest of its vertices
        da = (px - ax) ** 2 + (py - ay) ** 2
        db = (px - bx) ** 2 + (py - by) ** 2
        dc = (px - cx) ** 2 + (py - cy) ** 2
        if da <= db and da <= dc:
            return vz[a]
        return vz[b] if db <= dc else vz[c]
    l0 = ((by - cy) * (px - cx) + (cx - bx) * (py - cy)) / det
    l1 = ((cy - ay) * (px - cx) + (ax - cx) * (py - cy)) / det
    return l0 * vz[a] + l1 * vz[b] + (1.0 - l0 - l1) * vz[c]


@njit(cache=True)
def locate_interpolate(tri, half, vx, vy, vz, qx, qy, ox, oy, order, max_steps, out, inside):
    """Ground elevation at each query point by walking the TIN and interpolating.

    Parameters
    ----------
    tri, half : int arrays of ``3 m``
        Counter-clockwise triangles (vertex indices) and the twin of each halfedge
        (-1 on the hull); halfedge ``h`` runs from ``tri[h]`` to the next vertex.
    vx, vy, vz : float64 arrays
        Vertex coordinates (local) and values.
    qx, qy : float64 arrays
        Query coordinates, absolute: ``(ox, oy)`` is subtracted here.
    order : int array
        Queries in the order to visit them (spatially coherent).
    max_steps : int
        Steps of a walk before the scan of every triangle.
    out : float64 array
        Receives the elevation of the points inside the hull.
    inside : bool array
        Receives whether each point is inside the hull (else ``out`` is not written).

    Returns
    -------
    int : number of walks that hit ``max_steps`` (and scanned)
    """
    ntri = tri.shape[0] // 3
    t = 0
    scans = 0
    for j in range(order.shape[0]):
        i = order[j]
        px = qx[i] - ox
        py = qy[i] - oy
        entered = -1  # edge (0, 1, 2) of t the walk came in through: never crossed back
        found = False
        left = False
        for _ in range(max_steps):
            moved = False
            for r in range(3):
                k = (entered + 1 + r) % 3 if entered >= 0 else r
                if k == entered:
                    continue
                h = 3 * t + k
                a = tri[h]
                b = tri[3 * t + (k + 1) % 3]
                if _orient(vx[a], vy[a], vx[b], vy[b], px, py) < 0:
                    g = half[h]
                    if g < 0:
                        # right of a hull edge: outside the convex hull
                        left = True
                    else:
                        t = g // 3
                        entered = g - 3 * t
                    moved = True
                    break
            if left:
                break
            if not moved:
                found = True
                break
        if not found and not left:
            scans += 1
            s = _scan(tri, vx, vy, px, py)
            if s >= 0:
                t = s
                found = True
            elif ntri > 0:
                t = 0
        if found:
            out[i] = _interpolate(tri, vx, vy, vz, t, px, py)
            inside[i] = True
        else:
            inside[i] = False
    return scans
