"""Compiled (numba) reading of the common clean GML geometries from scanned element records.

The second stage of :mod:`pcrs.vector.fastread`, after :mod:`pcrs.vector._scan_kernels`:
for each geometry that is the first child of a feature's property, :func:`geometries` does
what :func:`pcrs.vector.gml._fast_point` and :func:`pcrs.vector.gml._fast_geometry` do for
common geometries (``gml:Point``, ``LineString``, ``Curve`` of ``LineStringSegment``,
``Arc`` and ``ArcString``, ``Polygon`` of ``LinearRing`` or ``Ring``, ``MultiCurve``),
directly on the file's bytes, and declines everything else (a defect, an unusual form, an
arc whose Z varies), which the Python readers then read. What it hands out is the same, bit for bit:

- numbers are parsed exactly: a decimal of at most 15 significant digits scaled by a power
  of ten of at most 22 is one correctly rounded operation on two exact doubles (Clinger's
  fast path), i.e. what Python's ``float()`` gives; any other number form declines;
- vertices are the parsed numbers, bounds and Z ranges their minima and maxima; arcs are
  linearised with the same float64 operations, in the same order, and the same libm
  functions (``cos``, ``sin``, ``atan2``, ``acos``) as :func:`pcrs.vector.gml._arc_flat`;
- the checks that decide whether the Python fast path gives up (segment lengths, joins,
  ring closure) are made with a margin: a geometry near a threshold is declined, so that
  the Python reader decides it.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._records import (
    C_ATTR_E,
    C_ATTR_S,
    C_DEPTH,
    C_NAME,
    C_NCHILD,
    C_PARENT,
    C_TEXT_E,
    C_TEXT_S,
    G_DIM,
    G_HAS_ID,
    G_HOLES,
    G_NPARTS,
    G_PART0,
    G_ROLE,
    G_ROW,
    G_SRS_E,
    G_SRS_S,
    R_ARC,
    R_ARCSTRING,
    R_CURVE,
    R_CURVEMEMBER,
    R_EXTERIOR,
    R_INTERIOR,
    R_LINEARRING,
    R_LINESTRING,
    R_LSS,
    R_MULTICURVE,
    R_POINT,
    R_POLYGON,
    R_POS,
    R_POSLIST,
    R_RING,
    R_SEGMENTS,
)

_ZERO_LENGTH2 = 0.001 * 0.001 * (1.0 + 1e-6)  # squared, with a margin above the threshold
_POW10 = np.array([10.0**k for k in range(23)])


@njit(cache=True, inline="always")
def _space(b):
    return b == 32 or b == 10 or b == 9 or b == 13


@njit(cache=True)
def _parse_numbers(buf, s, e, fv, k):
    """Parse the blank-separated decimals of ``buf[s:e]`` into ``fv[k:]``.

    Returns the number of values, or -1 for anything not in the exact fast form (or when
    ``fv`` has no room for them)."""
    if k + (e - s) // 2 + 1 > len(fv):
        return -1
    n = 0
    i = s
    while True:
        while i < e and _space(buf[i]):
            i += 1
        if i >= e:
            return n
        neg = False
        if buf[i] == 45 or buf[i] == 43:  # - +
            neg = buf[i] == 45
            i += 1
        mant = 0
        digits = 0  # significant digits kept
        seen = 0  # digits read, leading zeros included
        frac = 0  # digits after the point
        dot = False
        while i < e:
            b = buf[i]
            if 48 <= b <= 57:
                dgt = b - 48
                if digits > 0 or dgt != 0:
                    digits += 1
                    mant = mant * 10 + dgt
                seen += 1
                if dot:
                    frac += 1
            elif b == 46 and not dot:  # '.'
                dot = True
            else:
                break
            i += 1
        if seen == 0 or digits > 15:
            return -1
        exp = 0
        if i < e and (buf[i] == 101 or buf[i] == 69):  # e E
            i += 1
            eneg = False
            if i < e and (buf[i] == 45 or buf[i] == 43):
                eneg = buf[i] == 45
                i += 1
            ed = 0
            while i < e and 48 <= buf[i] <= 57:
                exp = exp * 10 + (buf[i] - 48)
                ed += 1
                i += 1
                if exp > 400:
                    return -1
            if ed == 0:
                return -1
            if eneg:
                exp = -exp
        if i < e and not _space(buf[i]):
            return -1
        p10 = exp - frac
        v = float(mant)
        if p10 >= 0:
            if p10 > 22:
                return -1
            v = v * _POW10[p10]
        else:
            if p10 < -22:
                return -1
            v = v / _POW10[-p10]
        fv[k + n] = -v if neg else v
        n += 1


@njit(cache=True)
def _attr(buf, s, e, name, prefix):
    """Span of the value of attribute ``prefix:name`` (no prefix when ``prefix`` is empty)
    in the attribute text ``buf[s:e]``, or (-1, -1)."""
    i = s
    ln = len(name)
    lp = len(prefix)
    while i < e:
        while i < e and _space(buf[i]):
            i += 1
        ns = i
        while i < e and buf[i] != 61 and not _space(buf[i]):  # '='
            i += 1
        ne = i
        while i < e and buf[i] != 34 and buf[i] != 39:
            i += 1
        if i >= e:
            return -1, -1
        q = buf[i]
        vs = i + 1
        i = vs
        while i < e and buf[i] != q:
            i += 1
        ve = i
        i += 1
        want = ln + (lp + 1 if lp else 0)
        if ne - ns == want:
            same = True
            for t in range(lp):
                if buf[ns + t] != prefix[t]:
                    same = False
                    break
            if same and lp:
                same = buf[ns + lp] == 58  # ':'
            if same:
                o = ns + (lp + 1 if lp else 0)
                for t in range(ln):
                    if buf[o + t] != name[t]:
                        same = False
                        break
            if same:
                return vs, ve
    return -1, -1


@njit(cache=True)
def _dim_attr(buf, out, r, srs_dim):
    """2 or 3 for srsDimension="2"/"3", 0 when absent, -1 otherwise."""
    a, b = _attr(buf, out[r, C_ATTR_S], out[r, C_ATTR_E], srs_dim, srs_dim[:0])
    if a < 0:
        return 0
    if b - a == 1 and (buf[a] == 50 or buf[a] == 51):
        return buf[a] - 48
    return -1


@njit(cache=True)
def _poslist(buf, out, rows, holder, d, roles, srs_dim, fv, k):
    """Values of the one posList of ``holder`` into ``fv[k:]``: count, or -1 to decline."""
    if out[holder, C_NCHILD] != 1:
        return -1
    pl = holder + 1
    if roles[out[pl, C_NAME]] != R_POSLIST or _dim_attr(buf, out, pl, srs_dim) != 0:
        return -1
    if out[pl, C_NCHILD] != 0 or out[pl, C_TEXT_S] < 0:
        return -1
    n = _parse_numbers(buf, out[pl, C_TEXT_S], out[pl, C_TEXT_E], fv, k)
    if n < 2 * d or n % d:
        return -1
    for i in range(k + d, k + n, d):
        dx = fv[i] - fv[i - d]
        dy = fv[i + 1] - fv[i - d + 1]
        d2 = dx * dx + dy * dy
        if d == 3:
            dz = fv[i + 2] - fv[i - d + 2]
            d2 = d2 + dz * dz
        if not d2 >= _ZERO_LENGTH2:
            return -1
    return n


@njit(cache=True)
def _arc(ctrl, i, d, tol, fv, k, cap):
    """Write to ``fv[k:]`` the points after the first of the arc whose control points start
    at ``ctrl[i]``: :func:`pcrs.vector.gml._arc_flat`, operation for operation (the same libm
    functions). Returns the number of values written, or -1 (aligned points, a Z that
    varies, no room left): the Python reader then reads the geometry."""
    ax = ctrl[i]
    ay = ctrl[i + 1]
    bx = ctrl[i + d] - ax
    by = ctrl[i + d + 1] - ay
    cx = ctrl[i + 2 * d] - ax
    cy = ctrl[i + 2 * d + 1] - ay
    dd = 2.0 * (bx * cy - by * cx)
    chord = math.sqrt(cx * cx + cy * cy)
    if chord == 0.0 or abs(dd) / 2.0 / chord < 1e-4:
        return -1
    ux = (cy * (bx * bx + by * by) - by * (cx * cx + cy * cy)) / dd
    uy = (bx * (cx * cx + cy * cy) - cx * (bx * bx + by * by)) / dd
    r = math.sqrt(ux * ux + uy * uy)
    if not (math.isfinite(r) and math.isfinite(ux) and math.isfinite(uy)):
        return -1
    z0 = 0.0
    if d == 3:
        z0 = ctrl[i + 2]
        if not (z0 == ctrl[i + d + 2] and z0 == ctrl[i + 2 * d + 2]):
            return -1  # a Z that varies along the arc: numpy's interp in Python
    a0 = math.atan2(-uy, -ux)
    a2 = math.atan2(cy - uy, cx - ux)
    two_pi = 2 * math.pi
    s2 = (a2 - a0) % two_pi if dd > 0 else -((a0 - a2) % two_pi)
    step = math.pi / 2 if tol >= r else 2 * math.acos(1 - tol / r)
    steps = math.ceil(abs(s2) / step)
    n = min(max(steps, 2), 10000)
    if k + n * d > cap:
        return -1
    q = s2 / n
    ox = ax + ux
    oy = ay + uy
    w = k
    for j in range(1, n):
        ang = a0 + j * q
        fv[w] = math.cos(ang) * r + ox
        fv[w + 1] = math.sin(ang) * r + oy
        if d == 3:
            fv[w + 2] = z0
        w += d
    fv[w] = ctrl[i + 2 * d]
    fv[w + 1] = ctrl[i + 2 * d + 1]
    if d == 3:
        fv[w + 2] = z0
    w += d
    return w - k


@njit(cache=True)
def _append_joined(fv, k, n, m, d):
    """Join a part of ``m`` values at ``fv[k+n:]`` to the ``n`` values at ``fv[k:]`` (its
    first point must be the last one, exactly): the new count, or -1."""
    a = k + n - d
    b = k + n
    if fv[a] != fv[b] or fv[a + 1] != fv[b + 1]:
        return -1
    for t in range(m - d):
        fv[k + n + t] = fv[k + n + d + t]
    return n + m - d


@njit(cache=True)
def _segments(buf, out, rows, segs, d, roles, srs_dim, fv, k, tol):
    """Vertices of a Curve's segments (LineStringSegment only), joined: count or -1."""
    depth = out[segs, C_DEPTH]
    n = -1
    cap = len(fv)
    r = segs + 1
    while r < rows and out[r, C_DEPTH] > depth:
        if out[r, C_PARENT] == segs:
            role = roles[out[r, C_NAME]]
            if _dim_attr(buf, out, r, srs_dim) != 0:
                return -1
            at = k if n < 0 else k + n
            m = _poslist(buf, out, rows, r, d, roles, srs_dim, fv, at)
            if m < 0:
                return -1
            if role in (R_ARC, R_ARCSTRING):
                npts = m // d
                if npts < 3 or npts % 2 == 0 or (role == R_ARC and npts != 3):
                    return -1
                ctrl = fv[at : at + m].copy()
                w = d  # the first control point stays where it is
                for i in range(0, (npts - 2) * d, 2 * d):
                    got = _arc(ctrl, i, d, tol, fv, at + w, cap)
                    if got < 0:
                        return -1
                    w += got
                m = w
            elif role != R_LSS:
                return -1
            if n < 0:
                n = m
            else:
                n = _append_joined(fv, k, n, m, d)
                if n < 0:
                    return -1
        r += 1
    return n


@njit(cache=True)
def _curve(buf, out, rows, el, d, roles, srs_dim, fv, k, tol):
    """A LineString or a Curve inside a curveMember: count or -1."""
    if _dim_attr(buf, out, el, srs_dim) != 0:
        return -1
    role = roles[out[el, C_NAME]]
    if role == R_LINESTRING:
        return _poslist(buf, out, rows, el, d, roles, srs_dim, fv, k)
    if role != R_CURVE or out[el, C_NCHILD] != 1:
        return -1
    if roles[out[el + 1, C_NAME]] != R_SEGMENTS:
        return -1
    return _segments(buf, out, rows, el + 1, d, roles, srs_dim, fv, k, tol)


@njit(cache=True)
def _ring(buf, out, rows, holder, d, roles, srs_dim, fv, k, tol):
    """The ring of an exterior/interior: count (closed, >= 4 points) or -1."""
    if out[holder, C_NCHILD] != 1:
        return -1
    ring = holder + 1
    if _dim_attr(buf, out, ring, srs_dim) != 0:
        return -1
    role = roles[out[ring, C_NAME]]
    if role == R_LINEARRING:
        n = _poslist(buf, out, rows, ring, d, roles, srs_dim, fv, k)
    elif role == R_RING:
        n = -1
        depth = out[ring, C_DEPTH]
        r = ring + 1
        while r < rows and out[r, C_DEPTH] > depth:
            if out[r, C_PARENT] == ring:
                if roles[out[r, C_NAME]] != R_CURVEMEMBER or out[r, C_NCHILD] != 1:
                    return -1
                if n < 0:
                    n = _curve(buf, out, rows, r + 1, d, roles, srs_dim, fv, k, tol)
                    if n < 0:
                        return -1
                else:
                    m = _curve(buf, out, rows, r + 1, d, roles, srs_dim, fv, k + n, tol)
                    if m < 0:
                        return -1
                    n = _append_joined(fv, k, n, m, d)
                    if n < 0:
                        return -1
            r += 1
    else:
        return -1
    if n < 4 * d:
        return -1
    if abs(fv[k] - fv[k + n - d]) > 1e-9 * 0.5 or abs(fv[k + 1] - fv[k + n - d + 1]) > 1e-9 * 0.5:
        return -1
    if d == 3 and abs(fv[k + 2] - fv[k + n - 1]) > 1e-6 * 0.5:
        return -1
    return n


@njit(cache=True, inline="always")
def _part(parts, npart, k, n):
    """Record the vertex block of ``n`` values at ``fv[k:]`` as part ``npart``; the next."""
    parts[npart, 0] = k
    parts[npart, 1] = n
    return npart + 1


@njit(cache=True)
def _range(fv, start, stop, step):
    """Minimum and maximum of ``fv[start:stop:step]``, ties kept first (as Python's min/max)."""
    lo = hi = fv[start]
    for i in range(start + step, stop, step):
        v = fv[i]
        if v < lo:
            lo = v
        if v > hi:
            hi = v
    return lo, hi


@njit(cache=True)
def _summary(fv, k, n, d, gf, g):
    """Bounds and Z range of the ``n`` values at ``fv[k:]`` into ``gf[g]``."""
    gf[g, 0], gf[g, 2] = _range(fv, k, k + n, d)
    gf[g, 1], gf[g, 3] = _range(fv, k + 1, k + n, d)
    if d == 3:
        gf[g, 6], gf[g, 7] = _range(fv, k + 2, k + n, d)
    else:
        gf[g, 6] = np.nan
        gf[g, 7] = np.nan


@njit(cache=True)
def geometries(
    buf, out, rows, roles, gml_prefix, srs_name, srs_dim, gml_id, gi, gf, parts, fv, tol
):
    """Read the common clean geometries among ``out[:rows]``.

    Parameters
    ----------
    buf : uint8 array
        The bytes the records point into.
    out : int64 array
        Element records (:mod:`pcrs.vector._scan_kernels`); column ``geo`` of the result
        is given by the returned ``row_geo``.
    rows : int
    roles : int64 array
        Role (``R_*``) of each element name number.
    gml_prefix, srs_name, srs_dim, gml_id : uint8 arrays
        The file's prefix for GML and the attribute names ``srsName``, ``srsDimension``,
        ``id``.
    gi, gf : arrays (rows, G_NCOLS) int64 and (rows, F_NCOLS) float64
        Filled with one row per geometry read.
    parts : int64 array (rows, 2)
        ``(offset in fv, number of values)`` of each vertex block.
    fv : float64 array
        The vertices: room for every number of the pos/posList texts, and for the points
        of the linearised arcs (a geometry that does not fit is declined).
    tol : float
        Arc linearisation tolerance (m).

    Returns
    -------
    (row_geo, keep, n_geometries)
        ``row_geo[r]`` is the geometry number of record ``r`` or -1 (not a geometry
        root, or declined); ``keep[r]`` is False for the records inside a geometry read
        here (nothing is left to read in them).
    """
    row_geo = np.full(rows, -1, np.int64)
    keep = np.ones(rows, np.bool_)
    g = 0
    npart = 0
    k = 0
    for r in range(rows):
        if out[r, C_DEPTH] != 4:
            continue
        p = out[r, C_PARENT]
        if r != p + 1:  # only the first child of a property is read
            continue
        role = roles[out[r, C_NAME]]
        if role < R_POINT or role > R_MULTICURVE:
            continue
        a_s = out[r, C_ATTR_S]
        a_e = out[r, C_ATTR_E]
        ss, se = _attr(buf, a_s, a_e, srs_name, gml_prefix[:0])
        ids, _ide = _attr(buf, a_s, a_e, gml_id, gml_prefix)
        part0 = npart
        holes = 0
        if role == R_POINT:
            if out[r, C_NCHILD] != 1 or roles[out[r + 1, C_NAME]] != R_POS:
                continue
            pos = r + 1
            if _dim_attr(buf, out, pos, srs_dim) != 0 or out[pos, C_NCHILD] != 0:
                continue
            if out[pos, C_TEXT_S] < 0:
                continue
            n = _parse_numbers(buf, out[pos, C_TEXT_S], out[pos, C_TEXT_E], fv, k)
            if n != 2 and n != 3:
                continue
            d = n
            npart = _part(parts, npart, k, n)
            _summary(fv, k, n, d, gf, g)
            gf[g, 4] = fv[k]
            gf[g, 5] = fv[k + 1]
            k += n
        else:
            d = _dim_attr(buf, out, r, srs_dim)
            if d < 2 or ss < 0 or se == ss:
                continue
            start = k
            if role == R_LINESTRING:
                n = _poslist(buf, out, rows, r, d, roles, srs_dim, fv, k)
                if n < 0:
                    continue
                npart = _part(parts, npart, k, n)
                k += n
            elif role == R_CURVE:
                if out[r, C_NCHILD] != 1 or roles[out[r + 1, C_NAME]] != R_SEGMENTS:
                    continue
                n = _segments(buf, out, rows, r + 1, d, roles, srs_dim, fv, k, tol)
                if n < 0:
                    continue
                npart = _part(parts, npart, k, n)
                k += n
            else:
                ok = True
                shell = False
                depth = out[r, C_DEPTH]
                c = r + 1
                while c < rows and out[c, C_DEPTH] > depth:
                    if out[c, C_PARENT] == r:
                        crole = roles[out[c, C_NAME]]
                        if role == R_POLYGON:
                            if crole == R_EXTERIOR and not shell:
                                shell = True
                                if npart != part0:  # holes came first: keep the order
                                    ok = False
                                    break
                            elif crole == R_INTERIOR:
                                holes += 1
                            else:
                                ok = False
                                break
                            n = _ring(buf, out, rows, c, d, roles, srs_dim, fv, k, tol)
                        else:
                            if crole != R_CURVEMEMBER or out[c, C_NCHILD] != 1:
                                ok = False
                                break
                            n = _curve(buf, out, rows, c + 1, d, roles, srs_dim, fv, k, tol)
                        if n < 0:
                            ok = False
                            break
                        npart = _part(parts, npart, k, n)
                        k += n
                    c += 1
                if not ok or npart == part0 or (role == R_POLYGON and not shell):
                    npart = part0
                    k = start
                    continue
            n_all = k - start
            _summary(fv, start, n_all, d, gf, g)
            gf[g, 4] = fv[start]
            gf[g, 5] = fv[start + 1]
        gi[g, G_ROW] = r
        gi[g, G_ROLE] = role
        gi[g, G_DIM] = d
        gi[g, G_SRS_S] = ss
        gi[g, G_SRS_E] = se
        gi[g, G_HAS_ID] = 1 if ids >= 0 else 0
        gi[g, G_PART0] = part0
        gi[g, G_NPARTS] = npart - part0
        gi[g, G_HOLES] = holes
        row_geo[r] = g
        g += 1
        q = r + 1
        while q < rows and out[q, C_DEPTH] > 4:
            keep[q] = False
            q += 1
    return row_geo, keep, g
