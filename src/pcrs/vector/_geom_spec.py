"""The one specification of how pcrs reads the common clean GML geometries.

Every geometry reading of pcrs goes through the functions of this module, which are plain
Python written in the subset numba compiles:

- :mod:`pcrs.vector._geom_kernels` compiles them (numba) for the compiled reader
  :mod:`pcrs.vector.fastread`, which finds the elements in the file's bytes
  (:func:`prepare` reads their attributes and numbers, :func:`geometries` their forms);
- :func:`pcrs.vector.gml.read_geometry` calls them as they are (no numba: the lxml reader
  stays free of its start-up cost) on the records it builds from lxml elements
  (:func:`read_at`), and falls back on the general reader of :mod:`pcrs.vector.gml` for
  whatever they decline;
- :func:`pcrs.vector.gml.linearise_arc`, the general reader's arcs, is :func:`arc_into`.

What they hand out is what the general reader gives, bit for bit:

- **numbers**: a number is what Python's ``float()`` reads from a token of ``str.split()``
  (:func:`numbers`). :func:`parse_numbers` reads the common form of these tokens from bytes
  exactly: a decimal of at most 15 significant digits scaled by a power of ten of at most
  22 is one correctly rounded operation on two exact doubles (Clinger's fast path), i.e.
  what ``float()`` gives; any other token declines, and the text is read with ``float()``;
- **arcs** (:func:`arc_into`): the circle through three control points, stepped so that
  the chord never strays more than the tolerance from it, with the float64 operations of
  Python and the same libm functions (``cos``, ``sin``, ``atan2``, ``acos``) compiled or
  not; Z varies linearly with the angle between the control points, computed as
  ``numpy.interp`` computes it (:func:`interp3`);
- **forms** (:func:`read_at`): ``gml:Point``, ``LineString``, ``Curve`` of
  ``LineStringSegment``, ``Arc`` and ``ArcString``, ``Polygon`` of ``LinearRing`` or ``Ring``,
  ``MultiCurve``, each with an explicit ``srsDimension`` of 2 or 3 on the geometry only.
  An arc through aligned points (or whose circle cannot be stepped) is read as the general
  reader reads it: its control points as straight segments, with a problem row (its middle
  point) in the problems table. Anything else, and any other defect the general reader
  reports, declines. The checks that
  decide it (segment lengths, joins, ring closure) are made with a margin: a geometry near
  a threshold is declined, so that the general reader decides it.

The records (``A_*`` columns of :mod:`pcrs.vector._records`, flat) give for each element its depth,
parent, number of element children, role (``R_*``), ``srsDimension`` (0 absent, 2 or 3,
-1 anything else), ``srsName`` span (geometry roots), whether it has a ``gml:id``, and for
a ``pos``/``posList`` where its numbers are (``A_NUM_N`` -1: no text, or a text declined).
"""

from __future__ import annotations

import math

import numpy as np

from ._records import (
    A_DEPTH,
    A_DIM,
    A_ID,
    A_NCHILD,
    A_NCOLS,
    A_NUM_K,
    A_NUM_N,
    A_PARENT,
    A_ROLE,
    A_SRS_E,
    A_SRS_S,
    C_ATTR_E,
    C_ATTR_S,
    C_DEPTH,
    C_NAME,
    C_NCHILD,
    C_PARENT,
    C_TEXT_E,
    C_TEXT_S,
    F_NCOLS,
    G_DIM,
    G_HAS_ID,
    G_HOLES,
    G_NCOLS,
    G_NPARTS,
    G_NPB,
    G_PART0,
    G_PB0,
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

__all__ = [
    "DECLINED",
    "NO_ROOM",
    "ZERO_LENGTH",
    "arc_into",
    "arc_steps",
    "geometries",
    "interp3",
    "numbers",
    "parse_numbers",
    "prepare",
    "read_at",
]

#: consecutive vertices closer than this (m) coincide within any survey precision
ZERO_LENGTH = 0.001
#: status: the geometry (or arc) is not read here (the general reader reads it)
DECLINED = -1
#: status: the output array has no room left
NO_ROOM = -2

_ZERO_LENGTH2 = ZERO_LENGTH * ZERO_LENGTH * (1.0 + 1e-6)  # squared, with a margin
_POW10 = np.array([10.0**k for k in range(23)])
_TWO_PI = 2 * math.pi

#: the functions :mod:`pcrs.vector._geom_kernels` compiles, and whether to inline each
KERNELS = {
    "_space": True,
    "parse_numbers": False,
    "_attr": False,
    "_dim_attr": False,
    "prepare": False,
    "interp3": False,
    "_circle": False,
    "arc_steps": False,
    "arc_into": False,
    "_copy_numbers": False,
    "_poslist": False,
    "_append_joined": False,
    "_segments": False,
    "_curve": False,
    "_ring": False,
    "_part": True,
    "_range": False,
    "_summary": False,
    "_flat_arc": False,
    "_read_form": False,
    "read_at": False,
    "geometries": False,
}


# --- number syntax ------------------------------------------------------------------------


def numbers(text: str) -> list:
    """The numbers of a coordinate text: ``float()`` of each token of ``str.split()``.

    Raises
    ------
    ValueError
        When a token is not a number.
    """
    return list(map(float, text.split()))


def _space(b):
    return b == 32 or b == 10 or b == 9 or b == 13


def parse_numbers(buf, s, e, fv, k):
    """Parse the blank-separated decimals of ``buf[s:e]`` into ``fv[k:]`` (see the module).

    Returns the number of values, or -1 for anything not in the exact fast form (or when
    ``fv`` has no room for them): :func:`numbers` then reads the text."""
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
            b = int(buf[i])
            if 48 <= b <= 57:
                if digits > 0 or b != 48:
                    digits += 1
                    if digits > 15:
                        return -1
                    mant = mant * 10 + (b - 48)
                seen += 1
                if dot:
                    frac += 1
            elif b == 46 and not dot:  # '.'
                dot = True
            else:
                break
            i += 1
        if seen == 0:
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
                exp = exp * 10 + (int(buf[i]) - 48)
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


# --- attributes and numbers of element records (the compiled reader's bytes) ----------------


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


def _dim_attr(buf, s, e, srs_dim):
    """2 or 3 for srsDimension="2"/"3" in the attribute text ``buf[s:e]``, 0 when absent,
    -1 otherwise."""
    a, b = _attr(buf, s, e, srs_dim, srs_dim[:0])
    if a < 0:
        return 0
    if b - a == 1 and (buf[a] == 50 or buf[a] == 51):
        return int(buf[a]) - 48
    return -1


def prepare(buf, out, rows, roles, gml_prefix, srs_name, srs_dim, gml_id, ga, nv):
    """Fill the geometry records ``ga`` of the element records ``out[:rows]``.

    Parameters
    ----------
    buf : uint8 array
        The bytes the element records point into.
    out : int64 array
        Element records (:mod:`pcrs.vector._scan_kernels`).
    rows : int
    roles : int64 array
        Role (``R_*``) of each element name number.
    gml_prefix, srs_name, srs_dim, gml_id : uint8 arrays
        The file's prefix for GML and the attribute names ``srsName``, ``srsDimension``,
        ``id``.
    ga : int64 array (rows * A_NCOLS)
        Filled: the records :func:`geometries` reads, ``A_NCOLS`` values a record.
    nv : float64 array
        The numbers of the ``pos``/``posList`` texts (room for ``(length + 1) // 2`` a text).

    Returns
    -------
    int
        The number of values written to ``nv``.
    """
    kv = 0
    for r in range(rows):
        o = r * A_NCOLS
        depth = out[r, C_DEPTH]
        role = roles[out[r, C_NAME]]
        ga[o + A_DEPTH] = depth
        ga[o + A_PARENT] = out[r, C_PARENT]
        ga[o + A_ROLE] = role
        if depth < 4:  # (only the first three columns of these are read)
            continue
        ga[o + A_NCHILD] = out[r, C_NCHILD]
        ga[o + A_DIM] = 0
        ga[o + A_SRS_S] = -1
        ga[o + A_SRS_E] = -1
        ga[o + A_ID] = 0
        ga[o + A_NUM_K] = 0
        ga[o + A_NUM_N] = -1
        if role == 0:
            continue
        a_s = out[r, C_ATTR_S]
        a_e = out[r, C_ATTR_E]
        if a_e > a_s:
            ga[o + A_DIM] = _dim_attr(buf, a_s, a_e, srs_dim)
            if depth == 4:
                ss, se = _attr(buf, a_s, a_e, srs_name, gml_prefix[:0])
                ga[o + A_SRS_S] = ss
                ga[o + A_SRS_E] = se
                ids, _ide = _attr(buf, a_s, a_e, gml_id, gml_prefix)
                ga[o + A_ID] = 1 if ids >= 0 else 0
        if role in (R_POS, R_POSLIST) and out[r, C_TEXT_S] >= 0:
            n = parse_numbers(buf, out[r, C_TEXT_S], out[r, C_TEXT_E], nv, kv)
            ga[o + A_NUM_K] = kv
            ga[o + A_NUM_N] = n
            if n > 0:
                kv += n
    return kv


# --- arcs ---------------------------------------------------------------------------------


def interp3(x, x1, x2, z0, z1, z2):
    """``numpy.interp(x, [0.0, x1, x2], [z0, z1, z2])``, computed as numpy computes it."""
    if x != x:
        return x
    if x > x2:
        return z2
    if x < 0.0:
        return z0
    # (numpy's linear search over few knots: the last knot not above x)
    if x < x1:
        xa, xb, za, zb = 0.0, x1, z0, z1
    elif x < x2:
        xa, xb, za, zb = x1, x2, z1, z2
    else:
        return z2
    if xa == x:
        return za
    slope = (zb - za) / (xb - xa)
    v = slope * (x - xa) + za
    if v != v:
        v = slope * (x - xb) + zb
        if v != v and za == zb:
            v = za
    return v


def _circle(ctrl, i, d, tol, full):
    """The circle of the arc whose control points start at ``ctrl[i]`` (``full``: the whole
    circle through them), and the number of its steps.

    Returns ``(n, ux, uy, r, a0, s1, s2)``: ``n`` steps (or :data:`DECLINED`: aligned points,
    a circle that is not finite, a tolerance that is not positive), the centre relative to
    the first point, the radius, the first point's angle, the sweeps to the middle point
    (only when Z varies) and to the end."""
    ax = ctrl[i]
    ay = ctrl[i + 1]
    bx = ctrl[i + d] - ax
    by = ctrl[i + d + 1] - ay
    cx = ctrl[i + 2 * d] - ax
    cy = ctrl[i + 2 * d + 1] - ay
    dd = 2.0 * (bx * cy - by * cx)
    # (square roots of sums of squares, not hypot)
    chord = math.sqrt(bx * bx + by * by) if full else math.sqrt(cx * cx + cy * cy)
    # the middle point within 0.1 mm of the chord: a flat "arc"
    if chord == 0.0 or abs(dd) / 2.0 / chord < 1e-4:
        return DECLINED, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
    ux = (cy * (bx * bx + by * by) - by * (cx * cx + cy * cy)) / dd
    uy = (bx * (cx * cx + cy * cy) - cx * (bx * bx + by * by)) / dd
    r = math.sqrt(ux * ux + uy * uy)
    if not (math.isfinite(r) and math.isfinite(ux) and math.isfinite(uy)):
        return DECLINED, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
    a0 = math.atan2(-uy, -ux)
    ccw = dd > 0
    if full:
        s2 = _TWO_PI if ccw else -_TWO_PI
    else:
        a2 = math.atan2(cy - uy, cx - ux)
        s2 = (a2 - a0) % _TWO_PI if ccw else -((a0 - a2) % _TWO_PI)
    s1 = 0.0
    if d == 3 and not (ctrl[i + 2] == ctrl[i + d + 2] and ctrl[i + d + 2] == ctrl[i + 2 * d + 2]):
        a1 = math.atan2(by - uy, bx - ux)
        s1 = (a1 - a0) % _TWO_PI if ccw else -((a0 - a1) % _TWO_PI)
    if tol >= r:
        step = math.pi / 2
    elif tol > 0.0:
        step = 2 * math.acos(1 - tol / r)
    else:
        step = 0.0
    if not step > 0.0:  # (a radius so large that no step is small enough)
        return DECLINED, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
    n = min(max(math.ceil(abs(s2) / step), 2), 10000)
    return n, ux, uy, r, a0, s1, s2


def arc_steps(ctrl, i, d, tol, full):
    """The number of straight steps of the arc whose control points start at ``ctrl[i]``
    (see :func:`arc_into`), or :data:`DECLINED`."""
    return _circle(ctrl, i, d, tol, full)[0]


def arc_into(ctrl, i, d, tol, full, fv, k):
    """Write to ``fv[k:]`` the points after the first of the arc whose ``d``-dimensional
    control points start at ``ctrl[i]`` (``full``: the circle through them, back to the
    first point).

    The arc is cut into ``n`` equal steps of angle, each chord's sagitta at most ``tol``
    (2 steps at least, 10,000 at most); the last point is the last control point itself. In
    3D, Z is the first control point's where all three are equal, otherwise linear in the
    angle between the control points (as ``numpy.interp``).

    Returns
    -------
    int
        The number of values written (``n * d``), :data:`DECLINED` (aligned points, see
        :func:`_circle`) or :data:`NO_ROOM`.
    """
    n, ux, uy, r, a0, s1, s2 = _circle(ctrl, i, d, tol, full)
    if n < 0:
        return n
    if k + n * d > len(fv):
        return NO_ROOM
    ax = ctrl[i]
    ay = ctrl[i + 1]
    q = s2 / n
    ox = ax + ux
    oy = ay + uy
    end = i if full else i + 2 * d
    z0 = 0.0
    z1 = 0.0
    z2 = 0.0
    flat = True
    if d == 3:
        z0 = ctrl[i + 2]
        z1 = ctrl[i + d + 2]
        z2 = ctrl[end + 2]
        flat = z0 == z1 and z1 == z2
    w = k
    for j in range(1, n):
        ang = a0 + j * q
        fv[w] = math.cos(ang) * r + ox
        fv[w + 1] = math.sin(ang) * r + oy
        if d == 3:
            fv[w + 2] = z0 if flat else interp3(abs(j * q), abs(s1), abs(s2), z0, z1, z2)
        w += d
    fv[w] = ctrl[end]
    fv[w + 1] = ctrl[end + 1]
    if d == 3:
        fv[w + 2] = z0 if flat else interp3(abs(n * q), abs(s1), abs(s2), z0, z1, z2)
    return n * d


# --- forms --------------------------------------------------------------------------------
#
# The tables are flat (a list, or a one-dimensional array): record r's column c is
# ga[r * A_NCOLS + c], geometry g's are gi[g * G_NCOLS + c] and gf[g * F_NCOLS + c], part p is
# parts[2 * p] (offset in fv) and parts[2 * p + 1] (number of values).


def _copy_numbers(ga, r, nv, fv, k):
    """Copy the numbers of the ``pos``/``posList`` record ``r`` to ``fv[k:]``: their count,
    or :data:`DECLINED` (no text, or not numbers) or :data:`NO_ROOM`."""
    n = ga[r * A_NCOLS + A_NUM_N]
    if n < 0:
        return DECLINED
    if k + n > len(fv):
        return NO_ROOM
    kv = ga[r * A_NCOLS + A_NUM_K]
    fv[k : k + n] = nv[kv : kv + n]
    return n


def _poslist(ga, holder, d, nv, fv, k):
    """Values of the one posList of ``holder`` into ``fv[k:]``: count, or a status < 0."""
    if ga[holder * A_NCOLS + A_NCHILD] != 1:
        return DECLINED
    pl = holder + 1
    o = pl * A_NCOLS
    if ga[o + A_ROLE] != R_POSLIST or ga[o + A_DIM] != 0 or ga[o + A_NCHILD] != 0:
        return DECLINED
    n = ga[o + A_NUM_N]
    if n < 2 * d or n % d:
        return DECLINED
    n = _copy_numbers(ga, pl, nv, fv, k)
    if n < 0:
        return n
    for i in range(k + d, k + n, d):
        dx = fv[i] - fv[i - d]
        dy = fv[i + 1] - fv[i - d + 1]
        d2 = dx * dx + dy * dy
        if d == 3:
            dz = fv[i + 2] - fv[i - d + 2]
            d2 = d2 + dz * dz
        if not d2 >= _ZERO_LENGTH2:
            return DECLINED
    return n


def _append_joined(fv, k, n, m, d):
    """Join a part of ``m`` values at ``fv[k+n:]`` to the ``n`` values at ``fv[k:]`` (its
    first point must be the last one, exactly): the new count, or :data:`DECLINED`."""
    a = k + n - d
    b = k + n
    if fv[a] != fv[b] or fv[a + 1] != fv[b + 1]:
        return DECLINED
    for t in range(m - d):
        fv[k + n + t] = fv[k + n + d + t]
    return n + m - d


def _flat_arc(ctrl, i, d, fv, k, pb, pbn):
    """An arc the general reader reads straight (aligned points, see :func:`_circle`):
    its middle and last control points to ``fv[k:]`` and the middle one's x, y as a
    problem row of ``pb`` (``pbn[0]`` rows used). The values written, or :data:`NO_ROOM`."""
    if k + 2 * d > len(fv) or 2 * pbn[0] + 2 > len(pb):
        return NO_ROOM
    for t in range(2 * d):
        fv[k + t] = ctrl[i + d + t]
    pb[2 * pbn[0]] = ctrl[i + d]
    pb[2 * pbn[0] + 1] = ctrl[i + d + 1]
    pbn[0] += 1
    return 2 * d


def _segments(ga, rows, segs, d, nv, fv, k, tol, pb, pbn):
    """Vertices of a Curve's segments (LineStringSegment, Arc, ArcString), joined: count or
    a status < 0."""
    depth = ga[segs * A_NCOLS + A_DEPTH]
    n = DECLINED
    r = segs + 1
    while r < rows and ga[r * A_NCOLS + A_DEPTH] > depth:
        o = r * A_NCOLS
        if ga[o + A_PARENT] == segs:
            role = ga[o + A_ROLE]
            if ga[o + A_DIM] != 0:
                return DECLINED
            at = k if n < 0 else k + n
            m = _poslist(ga, r, d, nv, fv, at)
            if m < 0:
                return m
            if role in (R_ARC, R_ARCSTRING):
                npts = m // d
                if npts < 3 or npts % 2 == 0 or (role == R_ARC and npts != 3):
                    return DECLINED
                ctrl = fv[at : at + m].copy()
                w = d  # the first control point stays where it is
                for i in range(0, (npts - 2) * d, 2 * d):
                    got = arc_into(ctrl, i, d, tol, False, fv, at + w)
                    if got == DECLINED:
                        got = _flat_arc(ctrl, i, d, fv, at + w, pb, pbn)
                    if got < 0:
                        return got
                    w += got
                m = w
            elif role != R_LSS:
                return DECLINED
            if n < 0:
                n = m
            else:
                n = _append_joined(fv, k, n, m, d)
                if n < 0:
                    return n
        r += 1
    return n


def _curve(ga, rows, el, d, nv, fv, k, tol, pb, pbn):
    """A LineString or a Curve inside a curveMember: count or a status < 0."""
    o = el * A_NCOLS
    if ga[o + A_DIM] != 0:
        return DECLINED
    role = ga[o + A_ROLE]
    if role == R_LINESTRING:
        return _poslist(ga, el, d, nv, fv, k)
    if role != R_CURVE or ga[o + A_NCHILD] != 1 or ga[o + A_NCOLS + A_ROLE] != R_SEGMENTS:
        return DECLINED
    return _segments(ga, rows, el + 1, d, nv, fv, k, tol, pb, pbn)


def _ring(ga, rows, holder, d, nv, fv, k, tol, pb, pbn):
    """The ring of an exterior/interior: count (closed, >= 4 points) or a status < 0."""
    if ga[holder * A_NCOLS + A_NCHILD] != 1:
        return DECLINED
    ring = holder + 1
    if ga[ring * A_NCOLS + A_DIM] != 0:
        return DECLINED
    role = ga[ring * A_NCOLS + A_ROLE]
    if role == R_LINEARRING:
        n = _poslist(ga, ring, d, nv, fv, k)
        if n < 0:
            return n
    elif role == R_RING:
        n = DECLINED
        depth = ga[ring * A_NCOLS + A_DEPTH]
        r = ring + 1
        while r < rows and ga[r * A_NCOLS + A_DEPTH] > depth:
            o = r * A_NCOLS
            if ga[o + A_PARENT] == ring:
                if ga[o + A_ROLE] != R_CURVEMEMBER or ga[o + A_NCHILD] != 1:
                    return DECLINED
                if n < 0:
                    n = _curve(ga, rows, r + 1, d, nv, fv, k, tol, pb, pbn)
                    if n < 0:
                        return n
                else:
                    m = _curve(ga, rows, r + 1, d, nv, fv, k + n, tol, pb, pbn)
                    if m < 0:
                        return m
                    n = _append_joined(fv, k, n, m, d)
                    if n < 0:
                        return n
            r += 1
        if n < 0:
            return DECLINED
    else:
        return DECLINED
    if n < 4 * d:
        return DECLINED
    if abs(fv[k] - fv[k + n - d]) > 1e-9 * 0.5 or abs(fv[k + 1] - fv[k + n - d + 1]) > 1e-9 * 0.5:
        return DECLINED
    if d == 3 and abs(fv[k + 2] - fv[k + n - 1]) > 1e-6 * 0.5:
        return DECLINED
    return n


def _part(parts, npart, k, n):
    """Record the vertex block of ``n`` values at ``fv[k:]`` as part ``npart``; the next."""
    parts[2 * npart] = k
    parts[2 * npart + 1] = n
    return npart + 1


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


def _summary(fv, k, n, d, gf, g):
    """Bounds, first vertex and Z range of the ``n`` values at ``fv[k:]`` into ``gf``'s
    geometry ``g``."""
    o = g * F_NCOLS
    gf[o], gf[o + 2] = _range(fv, k, k + n, d)
    gf[o + 1], gf[o + 3] = _range(fv, k + 1, k + n, d)
    if d == 3:
        gf[o + 6], gf[o + 7] = _range(fv, k + 2, k + n, d)
    else:
        gf[o + 6] = np.nan
        gf[o + 7] = np.nan
    gf[o + 4] = fv[k]
    gf[o + 5] = fv[k + 1]


def read_at(r, ga, rows, nv, gi, gf, parts, fv, g, npart, k, tol, pb, pbn):
    """Read the geometry of record ``r`` as geometry ``g`` of ``gi``/``gf``.

    Its vertex blocks go to ``parts`` from part ``npart`` on, their values to ``fv[k:]``,
    and its problems (arcs read straight) to ``pb`` from row ``pbn[0]`` on.

    Returns
    -------
    (status, npart, k)
        0 and the next free part and value, or a status < 0 (:data:`DECLINED`,
        :data:`NO_ROOM`) and ``npart``, ``k`` (and ``pbn``) as they were.
    """
    pb0 = pbn[0]
    status, npart, k = _read_form(r, ga, rows, nv, gi, gf, parts, fv, g, npart, k, tol, pb, pbn)
    if status < 0:
        pbn[0] = pb0
    else:
        gi[g * G_NCOLS + G_PB0] = pb0
        gi[g * G_NCOLS + G_NPB] = pbn[0] - pb0
    return status, npart, k


def _read_form(r, ga, rows, nv, gi, gf, parts, fv, g, npart, k, tol, pb, pbn):
    """:func:`read_at` but for the problem rows."""
    part0 = npart
    start = k
    holes = 0
    o = r * A_NCOLS
    role = ga[o + A_ROLE]
    if role == R_POINT:
        pos = o + A_NCOLS
        if ga[o + A_NCHILD] != 1 or ga[pos + A_ROLE] != R_POS:
            return DECLINED, part0, start
        if ga[pos + A_DIM] != 0 or ga[pos + A_NCHILD] != 0:
            return DECLINED, part0, start
        d = ga[pos + A_NUM_N]
        if d not in (2, 3):
            return DECLINED, part0, start
        n = _copy_numbers(ga, r + 1, nv, fv, k)
        if n < 0:
            return n, part0, start
        npart = _part(parts, npart, k, n)
        k += n
    else:
        d = ga[o + A_DIM]
        if d < 2 or ga[o + A_SRS_S] < 0 or ga[o + A_SRS_E] == ga[o + A_SRS_S]:
            return DECLINED, part0, start
        if role == R_LINESTRING:
            n = _poslist(ga, r, d, nv, fv, k)
        elif role == R_CURVE:
            n = DECLINED
            if ga[o + A_NCHILD] == 1 and ga[o + A_NCOLS + A_ROLE] == R_SEGMENTS:
                n = _segments(ga, rows, r + 1, d, nv, fv, k, tol, pb, pbn)
        elif role in (R_POLYGON, R_MULTICURVE):
            n = 0
            shell = False
            depth = ga[o + A_DEPTH]
            c = r + 1
            while c < rows and ga[c * A_NCOLS + A_DEPTH] > depth:
                if ga[c * A_NCOLS + A_PARENT] == r:
                    crole = ga[c * A_NCOLS + A_ROLE]
                    if role == R_POLYGON:
                        if crole == R_EXTERIOR and not shell:
                            shell = True
                            if npart != part0:  # holes came first: keep the order
                                return DECLINED, part0, start
                        elif crole == R_INTERIOR:
                            holes += 1
                        else:
                            return DECLINED, part0, start
                        m = _ring(ga, rows, c, d, nv, fv, k, tol, pb, pbn)
                    else:
                        if crole != R_CURVEMEMBER or ga[c * A_NCOLS + A_NCHILD] != 1:
                            return DECLINED, part0, start
                        m = _curve(ga, rows, c + 1, d, nv, fv, k, tol, pb, pbn)
                    if m < 0:
                        return m, part0, start
                    npart = _part(parts, npart, k, m)
                    k += m
                c += 1
            if npart == part0 or (role == R_POLYGON and not shell):
                return DECLINED, part0, start
        else:
            return DECLINED, part0, start
        if role in (R_LINESTRING, R_CURVE):
            if n < 0:
                return n, part0, start
            npart = _part(parts, npart, k, n)
            k += n
    _summary(fv, start, k - start, d, gf, g)
    q = g * G_NCOLS
    gi[q + G_ROW] = r
    gi[q + G_ROLE] = role
    gi[q + G_DIM] = d
    gi[q + G_SRS_S] = ga[o + A_SRS_S]
    gi[q + G_SRS_E] = ga[o + A_SRS_E]
    gi[q + G_HAS_ID] = ga[o + A_ID]
    gi[q + G_PART0] = part0
    gi[q + G_NPARTS] = npart - part0
    gi[q + G_HOLES] = holes
    return 0, npart, k


def geometries(ga, rows, nv, gi, gf, parts, fv, tol, pb, pbn):
    """Read the common clean geometries among the records of ``ga`` (:func:`prepare`).

    A geometry is read when it is the first child of a feature's property (depth 4).

    Parameters
    ----------
    ga : int64 array (rows * A_NCOLS)
        The geometry records.
    rows : int
    nv : float64 array
        The numbers the records point to.
    gi, gf : int64 array (rows * G_NCOLS) and float64 array (rows * F_NCOLS)
        Filled with the columns of each geometry read (``G_*``; bounds, first vertex, Z
        range).
    parts : int64 array (2 * number of pos/posList)
        ``(offset in fv, number of values)`` of each vertex block.
    fv : float64 array
        The vertices: room for every number of the pos/posList texts, and for the points
        of the linearised arcs (a geometry that does not fit is declined).
    tol : float
        Arc linearisation tolerance (m).
    pb, pbn : float64 array, int64 array (1,)
        The problems table: ``pb[2 * i : 2 * i + 2]`` is the x, y of problem ``i`` (an arc
        read straight); ``pbn[0]`` rows are used. One row per three numbers of the texts
        is always enough.

    Returns
    -------
    (row_geo, n_geometries)
        ``row_geo[r]`` is the geometry number of record ``r`` or -1 (not a geometry
        root, or declined).
    """
    row_geo = np.full(rows, -1, np.int64)
    g = 0
    npart = 0
    k = 0
    for r in range(rows):
        o = r * A_NCOLS
        if ga[o + A_DEPTH] != 4 or r != ga[o + A_PARENT] + 1:
            continue
        role = ga[o + A_ROLE]
        if role < R_POINT or role > R_MULTICURVE:
            continue
        status, npart, k = read_at(r, ga, rows, nv, gi, gf, parts, fv, g, npart, k, tol, pb, pbn)
        if status == 0:
            row_geo[r] = g
            g += 1
    return row_geo, g
