"""Compiled kernels of :mod:`pcrs.raster.delaunay` (numba): sweep-hull Delaunay and triangle fill.

Only imported when numba is available. Everything here works on **integer**
coordinates (int64, absolute values below 2**24), which makes the geometric
predicates exact:

- ``orient``: ``(b - a) x (c - a)`` — products below 2**48, exact in int64;
- ``incircle``: the 3x3 lifted determinant. A float64 evaluation is trusted
  when it is far from zero (error bound of the same form as Shewchuk's static
  filter); otherwise the determinant is evaluated exactly with products split
  into 25-bit halves and summed as base-2**50 two-limb integers.

With exact predicates Lawson's edge flips terminate and the result is a true
Delaunay triangulation (ties between co-circular points resolved by insertion
order), whatever the point layout: regular grids, collinear rows, LiDAR
coordinates quantised to the centimetre.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_M25 = (1 << 25) - 1
_M50 = (1 << 50) - 1
#: float error bound factor of the incircle filter (a few units of 2**-53 per term)
_ICC_EPS = 1e-15


@njit(cache=True, inline="always")
def _orient(X, Y, a, b, c):
    return (X[b] - X[a]) * (Y[c] - Y[a]) - (Y[b] - Y[a]) * (X[c] - X[a])


@njit(cache=True, inline="always")
def _mul_limbs(a, b):
    """Exact product of two int64 below 2**50 in magnitude, as (high, low) with value high*2**50 + low."""
    s = 1
    if a < 0:
        a = -a
        s = -s
    if b < 0:
        b = -b
        s = -s
    a1 = a >> 25
    a0 = a & _M25
    b1 = b >> 25
    b0 = b & _M25
    mid = a1 * b0 + a0 * b1
    hi = a1 * b1 + (mid >> 25)
    lo = ((mid & _M25) << 25) + a0 * b0
    hi += lo >> 50
    lo &= _M50
    return s * hi, s * lo


@njit(cache=True)
def _incircle(X, Y, a, b, c, d):
    """Sign of the in-circle determinant: > 0 when ``d`` is strictly inside the circle of ccw ``a, b, c``."""
    adx = X[a] - X[d]
    ady = Y[a] - Y[d]
    bdx = X[b] - X[d]
    bdy = Y[b] - Y[d]
    cdx = X[c] - X[d]
    cdy = Y[c] - Y[d]
    alift = adx * adx + ady * ady
    blift = bdx * bdx + bdy * bdy
    clift = cdx * cdx + cdy * cdy
    bc = bdx * cdy - cdx * bdy
    ca = cdx * ady - adx * cdy
    ab = adx * bdy - bdx * ady
    fa, fb, fc = float(alift), float(blift), float(clift)
    fbc, fca, fab = float(bc), float(ca), float(ab)
    det = fa * fbc + fb * fca + fc * fab
    bound = _ICC_EPS * (fa * abs(fbc) + fb * abs(fca) + fc * abs(fab))
    if det > bound:
        return 1
    if det < -bound:
        return -1
    h1, l1 = _mul_limbs(alift, bc)
    h2, l2 = _mul_limbs(blift, ca)
    h3, l3 = _mul_limbs(clift, ab)
    hi = h1 + h2 + h3
    lo = l1 + l2 + l3
    hi += lo >> 50
    lo &= _M50
    if hi > 0:
        return 1
    if hi < 0:
        return -1
    return 1 if lo > 0 else 0


@njit(cache=True, inline="always")
def _link(half, hull_tri, tri, h, twin):
    """Make ``h`` and ``twin`` twins; ``twin < 0`` makes ``h`` the hull edge of its start vertex."""
    half[h] = twin
    if twin >= 0:
        half[twin] = h
    else:
        hull_tri[tri[h]] = h


@njit(cache=True)
def _legalize(X, Y, tri, half, hull_tri, stack, start):
    """Lawson flips from halfedge ``start``, whose opposite vertex is the point just inserted.

    Returns the (possibly grown) stack.
    """
    stack[0] = start
    sp = 1
    while sp > 0:
        sp -= 1
        a = stack[sp]
        b = half[a]
        if b < 0:
            continue
        _, an, ap = _around(a)
        _, bn, bp = _around(b)
        p0 = tri[a]
        p1 = tri[an]
        pa = tri[ap]
        pb = tri[bp]
        if _incircle(X, Y, p0, p1, pa, pb) <= 0:
            continue
        hbr = half[bp]
        har = half[ap]
        tri[a] = pb
        tri[b] = pa
        # a (now pb -> p1) takes bp's outer neighbour, b (now pa -> p0) takes ap's; a hull
        # edge keeps its vertex's hull_tri pointing at the halfedge that now holds it.
        # (What _link does, written out: this is the hot loop, and the calls measured
        # about 25 % slower here.)
        half[a] = hbr
        if hbr >= 0:
            half[hbr] = a
        else:
            hull_tri[pb] = a
        half[b] = har
        if har >= 0:
            half[har] = b
        else:
            hull_tri[pa] = b
        half[ap] = bp
        half[bp] = ap
        if sp + 2 > stack.shape[0]:
            grown = np.empty(stack.shape[0] * 2, stack.dtype)
            grown[:sp] = stack[:sp]
            stack = grown
        stack[sp] = a
        stack[sp + 1] = bn
        sp += 2
    return stack


@njit(cache=True, inline="always")
def _put(tri, t, a, b, c):
    """Write triangle ``t`` (its first halfedge index) as vertices a, b, c."""
    tri[t] = a
    tri[t + 1] = b
    tri[t + 2] = c


@njit(cache=True, inline="always")
def _around(h):
    """First halfedge of h's triangle, then h's next and previous halfedges (no modulo)."""
    t0 = (h // 3) * 3
    return t0, (h + 1 if h - t0 < 2 else t0), (h - 1 if h > t0 else t0 + 2)


@njit(cache=True)
def _hash_key(x, y, cx, cy, size):
    dx = x - cx
    dy = y - cy
    s = abs(dx) + abs(dy)
    p = dx / s if s > 0 else 0.0
    t = (3.0 - p) / 4.0 if dy > 0 else (1.0 + p) / 4.0  # pseudo-angle in [0, 1)
    k = int(np.floor(t * size))
    return k % size


@njit(cache=True)
def _split_edge(X, Y, tri, half, hull_tri, hull_next, hull_prev, on_hull, stack, i, h, nt):
    """Insert point ``i`` lying strictly inside edge ``h`` (a -> b) of its triangle; returns nt."""
    t0, hn, hp = _around(h)
    a, b, c = tri[h], tri[hn], tri[hp]
    g = half[h]
    out_bc, out_ca = half[hn], half[hp]
    # (p, b, c) reuses h's triangle, laid out [b, c, p]; (a, p, c) is new, laid out [c, a, p]
    t1 = t0
    t2 = nt
    nt += 3
    _put(tri, t1, b, c, i)
    _put(tri, t2, c, a, i)
    _link(half, hull_tri, tri, t1, out_bc)
    _link(half, hull_tri, tri, t2, out_ca)
    _link(half, hull_tri, tri, t1 + 1, t2 + 2)
    if g < 0:
        # a -> b was a hull edge: i joins the hull between a and b
        half[t1 + 2] = -1
        half[t2 + 1] = -1
        hull_next[a] = i
        hull_prev[i] = a
        hull_next[i] = b
        hull_prev[b] = i
        on_hull[i] = True
        hull_tri[a] = t2 + 1
        hull_tri[i] = t1 + 2
    else:
        u0, gn, gp = _around(g)
        d = tri[gp]
        out_ad, out_db = half[gn], half[gp]
        # (p, a, d) reuses g's triangle, laid out [a, d, p]; (b, p, d) is new, laid out [d, b, p]
        u1 = u0
        u2 = nt
        nt += 3
        _put(tri, u1, a, d, i)
        _put(tri, u2, d, b, i)
        _link(half, hull_tri, tri, u1, out_ad)
        _link(half, hull_tri, tri, u2, out_db)
        _link(half, hull_tri, tri, u1 + 1, u2 + 2)
        _link(half, hull_tri, tri, t1 + 2, u2 + 1)
        _link(half, hull_tri, tri, t2 + 1, u1 + 2)
        stack = _legalize(X, Y, tri, half, hull_tri, stack, u1)
        stack = _legalize(X, Y, tri, half, hull_tri, stack, u2)
    stack = _legalize(X, Y, tri, half, hull_tri, stack, t1)
    stack = _legalize(X, Y, tri, half, hull_tri, stack, t2)
    return nt, stack


@njit(cache=True)
def _insert_inside(X, Y, tri, half, hull_tri, hull_next, hull_prev, on_hull, stack, i, t_start, nt):
    """Insert point ``i`` lying inside the hull: locate its triangle by walking, split it.

    A point strictly inside a triangle splits it in three; a point on an edge splits the
    one or two triangles of that edge. Returns the new nt, or -1 if the walk failed.
    """
    t = t_start
    ntri = nt // 3
    located = False
    for _ in range(4 * ntri + 16):
        moved = False
        for k in range(3):
            h = 3 * t + k
            hn = 3 * t + (k + 1) % 3
            if _orient(X, Y, tri[h], tri[hn], i) < 0:
                if half[h] < 0:
                    return -1, stack
                t = half[h] // 3
                moved = True
                break
        if not moved:
            located = True
            break
    if not located:
        return -1, stack
    h0 = 3 * t
    a, b, c = tri[h0], tri[h0 + 1], tri[h0 + 2]
    if _orient(X, Y, a, b, i) == 0:
        return _split_edge(
            X, Y, tri, half, hull_tri, hull_next, hull_prev, on_hull, stack, i, h0, nt
        )
    if _orient(X, Y, b, c, i) == 0:
        return _split_edge(
            X, Y, tri, half, hull_tri, hull_next, hull_prev, on_hull, stack, i, h0 + 1, nt
        )
    if _orient(X, Y, c, a, i) == 0:
        return _split_edge(
            X, Y, tri, half, hull_tri, hull_next, hull_prev, on_hull, stack, i, h0 + 2, nt
        )
    ha, hb, hc = half[h0], half[h0 + 1], half[h0 + 2]
    t1 = nt
    t2 = nt + 3
    tri[h0 + 2] = i
    _put(tri, t1, b, c, i)
    _put(tri, t2, c, a, i)
    _link(half, hull_tri, tri, h0, ha)
    _link(half, hull_tri, tri, t1, hb)
    _link(half, hull_tri, tri, t2, hc)
    _link(half, hull_tri, tri, h0 + 1, t1 + 2)
    _link(half, hull_tri, tri, t1 + 1, t2 + 2)
    _link(half, hull_tri, tri, t2 + 1, h0 + 2)
    stack = _legalize(X, Y, tri, half, hull_tri, stack, h0)
    stack = _legalize(X, Y, tri, half, hull_tri, stack, t1)
    stack = _legalize(X, Y, tri, half, hull_tri, stack, t2)
    return nt + 6, stack


@njit(cache=True)
def sweep_triangulate(X, Y, order, i0, i1, i2, cx, cy):
    """Delaunay triangulation by radial sweep (Sinclair's s-hull idea) with Lawson flips.

    See :func:`_sweep` for the parameters.

    Returns
    -------
    tri : int32 array of ``3 * m`` vertex indices (ccw triangles), or an empty array on failure
    hull_count : number of points on the final hull
    """
    tri, _, nt, hull_count = _sweep(X, Y, order, i0, i1, i2, cx, cy)
    if nt < 0:
        return np.empty(0, np.int32), 0
    # (a view: the buffer holds 6n entries and the triangles fill all but a few of them)
    return tri[:nt], hull_count


@njit(cache=True)
def sweep_triangulate_adjacency(X, Y, order, i0, i1, i2, cx, cy):
    """:func:`sweep_triangulate` and the triangles' adjacency, which the sweep keeps anyway.

    Returns
    -------
    tri : int32 array of ``3 * m`` vertex indices (ccw triangles), or an empty array on failure
    half : int32 array of ``3 * m``: the twin of each halfedge (halfedge ``h`` runs from
        ``tri[h]`` to the next vertex of its triangle ``h // 3``), -1 on the hull; the
        neighbour across ``h`` is triangle ``half[h] // 3``
    hull_count : number of points on the final hull
    """
    tri, half, nt, hull_count = _sweep(X, Y, order, i0, i1, i2, cx, cy)
    if nt < 0:
        return np.empty(0, np.int32), np.empty(0, np.int32), 0
    return tri[:nt], half[:nt], hull_count


@njit(cache=True)
def _sweep(X, Y, order, i0, i1, i2, cx, cy):
    """Delaunay triangulation by radial sweep (Sinclair's s-hull idea) with Lawson flips.

    Parameters
    ----------
    X, Y : int64 arrays
        Distinct integer coordinates, absolute values below 2**24.
    order : int64 array
        Every point index, sorted by distance to ``(cx, cy)``.
    i0, i1, i2 : int
        Seed triangle, counter-clockwise.
    cx, cy : float
        Centre of the sweep (the seed's circumcentre).

    Returns
    -------
    tri, half : int32 buffers of ``6 n`` entries: vertex indices (ccw triangles), twin halfedges
    nt : number of entries used (``3 * m``), -1 on failure
    hull_count : number of points on the final hull
    """
    n = X.shape[0]
    cap = 3 * max(2 * n, 4)
    tri = np.empty(cap, np.int32)
    half = np.full(cap, -1, np.int32)
    hull_next = np.full(n, -1, np.int32)
    hull_prev = np.full(n, -1, np.int32)
    hull_tri = np.full(n, -1, np.int32)
    on_hull = np.zeros(n, np.bool_)
    size = max(16, int(np.ceil(np.sqrt(n))))
    hull_hash = np.full(size, -1, np.int32)
    stack = np.empty(1024, np.int32)

    _put(tri, 0, i0, i1, i2)
    nt = 3
    hull_next[i0] = i1
    hull_next[i1] = i2
    hull_next[i2] = i0
    hull_prev[i1] = i0
    hull_prev[i2] = i1
    hull_prev[i0] = i2
    hull_tri[i0] = 0
    hull_tri[i1] = 1
    hull_tri[i2] = 2
    on_hull[i0] = True
    on_hull[i1] = True
    on_hull[i2] = True
    for s in (i0, i1, i2):
        hull_hash[_hash_key(float(X[s]), float(Y[s]), cx, cy, size)] = s

    for k in range(order.shape[0]):
        i = order[k]
        if i == i0 or i == i1 or i == i2:  # noqa: SIM109 (numba: no tuple membership test)
            continue
        key = _hash_key(float(X[i]), float(Y[i]), cx, cy, size)
        start = -1
        for j in range(size):
            s = hull_hash[(key + j) % size]
            if s >= 0 and on_hull[s]:
                start = s
                break
        start = hull_prev[start]
        e = start
        visible = False
        while True:
            q = hull_next[e]
            if _orient(X, Y, e, q, i) < 0:
                visible = True
                break
            e = q
            if e == start:
                break
        if not visible:
            # inside the current hull or on its boundary (possible near the seed, or on
            # collinear rows): point location, then the triangle or edge is split
            nt, stack = _insert_inside(
                X, Y, tri, half, hull_tri, hull_next, hull_prev, on_hull, stack, i, nt // 3 - 1, nt
            )
            if nt < 0:
                return tri, half, -1, 0
            continue

        q = hull_next[e]
        t = nt
        _put(tri, t, e, i, q)
        half[t] = -1
        half[t + 1] = -1
        _link(half, hull_tri, tri, t + 2, hull_tri[e])
        nt += 3
        hull_tri[e] = t
        hull_tri[i] = t + 1
        hull_next[e] = i
        hull_prev[i] = e
        hull_next[i] = q
        hull_prev[q] = i
        on_hull[i] = True
        stack = _legalize(X, Y, tri, half, hull_tri, stack, t + 2)

        # walk forward: hull edges n -> nn that i also sees
        nv = q
        while True:
            nn = hull_next[nv]
            if _orient(X, Y, nv, nn, i) >= 0:
                break
            t = nt
            _put(tri, t, nv, i, nn)
            half[t + 1] = -1
            _link(half, hull_tri, tri, t, hull_tri[i])
            _link(half, hull_tri, tri, t + 2, hull_tri[nv])
            nt += 3
            hull_next[i] = nn
            hull_prev[nn] = i
            hull_tri[i] = t + 1
            on_hull[nv] = False
            stack = _legalize(X, Y, tri, half, hull_tri, stack, t + 2)
            nv = nn

        # walk backward: hull edges pr -> e that i also sees
        while True:
            pr = hull_prev[e]
            if _orient(X, Y, pr, e, i) >= 0:
                break
            t = nt
            _put(tri, t, pr, i, e)
            half[t] = -1
            _link(half, hull_tri, tri, t + 1, hull_tri[e])
            _link(half, hull_tri, tri, t + 2, hull_tri[pr])
            nt += 3
            hull_prev[i] = pr
            hull_next[pr] = i
            hull_tri[pr] = t
            on_hull[e] = False
            stack = _legalize(X, Y, tri, half, hull_tri, stack, t + 2)
            e = pr

        hull_hash[key] = i
        hull_hash[_hash_key(float(X[e]), float(Y[e]), cx, cy, size)] = e

    return tri, half, nt, int(on_hull.sum())


@njit(cache=True)
def fill_triangles(u, v, z, tri, height, width, max_edge2, eps, out, index_out, with_index):
    """Evaluate each triangle's plane at the pixel centres it covers (same arithmetic as numpy's path)."""
    for t in range(tri.shape[0]):
        ia, ib, ic = tri[t, 0], tri[t, 1], tri[t, 2]
        ua, ub, uc = u[ia], u[ib], u[ic]
        va, vb, vc = v[ia], v[ib], v[ic]
        if max_edge2 > 0.0:
            if (ua - ub) ** 2 + (va - vb) ** 2 > max_edge2:
                continue
            if (ub - uc) ** 2 + (vb - vc) ** 2 > max_edge2:
                continue
            if (uc - ua) ** 2 + (vc - va) ** 2 > max_edge2:
                continue
        c0 = max(int(np.ceil(min(ua, ub, uc) - eps)), 0)
        c1 = min(int(np.floor(max(ua, ub, uc) + eps)), width - 1)
        r0 = max(int(np.ceil(min(va, vb, vc) - eps)), 0)
        r1 = min(int(np.floor(max(va, vb, vc) + eps)), height - 1)
        if c1 < c0 or r1 < r0:
            continue
        det = (vb - vc) * (ua - uc) + (uc - ub) * (va - vc)
        if det == 0.0:
            continue
        a0 = (vb - vc) / det
        b0 = (uc - ub) / det
        a1 = (vc - va) / det
        b1 = (ua - uc) / det
        za, zb, zc = z[ia], z[ib], z[ic]
        for row in range(r0, r1 + 1):
            dy = row - vc
            for col in range(c0, c1 + 1):
                dx = col - uc
                l0 = a0 * dx + b0 * dy
                l1 = a1 * dx + b1 * dy
                l2 = 1.0 - l0 - l1
                if l0 >= -eps and l1 >= -eps and l2 >= -eps:
                    out[row, col] = l0 * za + l1 * zb + l2 * zc
                    if with_index:
                        index_out[row, col] = t
