"""Streaming reader of PCRS GML: features with attributes, xlinks and shapely Z geometries.

The reader walks a file with lxml ``iterparse`` and hands out one ``featureMember``
at a time, then drops it from the tree, so memory stays bounded whatever the size
of the file. Each member becomes a :class:`Feature` (inline child features, such as
an ``AffleurantGeometriquePCRS`` nested in its ``AffleurantPCRS``, become features
of their own, with a link to their parent).

Geometries: ``gml:Point``, ``LineString``, ``Curve`` made of ``LineStringSegment``,
``Arc``, ``ArcString`` and ``Circle`` segments, ``LinearRing`` and ``Ring``,
``Polygon``, ``Surface`` of ``PolygonPatch``, ``MultiPoint``, ``MultiCurve``,
``MultiSurface``, ``MultiGeometry``, ``CompositeCurve`` and ``OrientableCurve``;
coordinates as ``gml:posList``, ``gml:pos`` or the deprecated ``gml:coordinates``
(with any whitespace). ``srsName`` and ``srsDimension`` are inherited from the
enclosing geometry. Arcs are linearised so that the chord never strays more than
:data:`ARC_TOLERANCE` (5 mm, a quarter of the best PCRS precision class) from the
true circle; Z is interpolated linearly with the angle between the control points.

Parsers are built with ``resolve_entities=False, no_network=True, load_dtd=False,
huge_tree=False``: no external entity, DTD or network resource is ever read.

Well-formedness is always judged by a parse without schema. While it validates against a
schema (``schema=``) with these options, lxml gets none of libxml2's syntax errors: it
raises at most "no element found (line 0)", or nothing, and a document whose root element
never closed was the only sign left. libxml2 2.12 (lxml 5.3) closes the root after an
undeclared namespace prefix; libxml2 2.14 (lxml 6.2) also after a truncation (it closes
the open elements at the end of the input), a bare ``&`` or an attribute without its
opening quote (it skips what it cannot parse), without a word. ``resolve_entities=
"internal"`` would bring most errors back, but it expands internal entities, and lxml 6.2
with it and a schema dies of a segmentation fault on an entity bomb.
"""

from __future__ import annotations

import io
import itertools
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
from lxml import etree

from .model import GML_NS, NS_PCRS, NS_PCRS_INFO, XLINK_NS

__all__ = [
    "ARC_TOLERANCE",
    "EmpriseLink",
    "EntityError",
    "Feature",
    "Geometry",
    "GmlReader",
    "Member",
    "Property",
    "RootInfo",
    "SniffError",
    "linearise_arc",
    "parser_options",
    "sniff",
]

#: maximum distance (m) between a linearised arc and the true circle
ARC_TOLERANCE = 0.005
#: consecutive vertices closer than this (m, 3D when Z is given) are identical: zero-length segment
IDENTICAL = 1e-6
#: consecutive vertices closer than this (m) coincide within any survey precision: a warning
ZERO_LENGTH = 0.001

_G = "{" + GML_NS + "}"
_HREF = "{" + XLINK_NS + "}href"
_GML_ID = _G + "id"
_FEATURE_NS = (NS_PCRS, NS_PCRS_INFO)
_MEMBER_TAGS = (
    "{" + NS_PCRS + "}featureMember",
    _G + "featureMember",
    _G + "featureMembers",
)

_SEGMENTS_ALLOWED = {"LineStringSegment", "Arc", "ArcString", "Circle"}


def parser_options() -> dict:
    """Options of every lxml parser pcrs builds for GML (safe on hostile input)."""
    return {
        "resolve_entities": False,
        "no_network": True,
        "load_dtd": False,
        "huge_tree": False,
        "remove_comments": True,
        "remove_pis": True,
    }


_SPLIT: dict[str, tuple[str, str]] = {}


def _split(tag: str) -> tuple[str, str]:
    hit = _SPLIT.get(tag)
    if hit is not None:
        return hit
    if tag[0] == "{":
        ns, _, local = tag[1:].partition("}")
        hit = (ns, local)
    else:
        hit = ("", tag)
    if len(_SPLIT) < 10000:
        _SPLIT[tag] = hit
    return hit


@dataclass(slots=True)
class Geometry:
    """A geometry read from GML.

    Attributes
    ----------
    kind : str
        The GML element, e.g. ``"Curve"``, ``"Polygon"``, ``"MultiSurface"``.
    srs : str or None
        Effective ``srsName`` (own or inherited from an enclosing geometry).
    dims : set of int
        Coordinate dimensions met (2, 3); more than one means mixed 2D/3D.
    problems : list of tuple
        ``(code, detail, x, y)`` defects found while reading: ``"zero_length"``,
        ``"short_segment"``, ``"arc_points"``, ``"segment_type"``, ``"coords"``,
        ``"ring_open"``, ``"arc_collinear"``, ``"no_gml_id"``, ``"discontinuous"``.
    bounds : tuple of float or None
        ``(minx, miny, maxx, maxy)`` of every vertex.
    first : tuple of float or None
        ``(x, y)`` of the first vertex, where findings about the geometry are placed.
    zrange : tuple of float or None
        ``(zmin, zmax)`` when every vertex has a Z.

    The shapely geometry (:attr:`shape`, arcs linearised, Z kept) is built on first
    access, so that checks which need only the vertices stay cheap.
    """

    spec: object
    kind: str
    srs: str | None
    line: int
    dims: set = field(default_factory=set)
    problems: list = field(default_factory=list)
    holes: int = 0
    dim_assumed: bool = False
    bounds: tuple | None = None
    first: tuple | None = None
    zrange: tuple | None = None
    _shape: object = None

    @property
    def shape(self):
        """The shapely geometry, or None when it could not be read."""
        if self._shape is None and self.spec is not None:
            try:
                self._shape = _build(self.spec)
            except (ValueError, shapely.errors.GEOSException):
                self.spec = None
        return self._shape


def _build(spec):
    kind = spec[0]
    if kind == "Point":
        return shapely.Point(spec[1])
    if kind == "LineString":
        return shapely.LineString(spec[1])
    if kind == "Polygon":
        return shapely.Polygon(spec[1], spec[2] or None)
    if kind == "MultiPolygon":
        return shapely.MultiPolygon([_build(p) for p in spec[1]])
    if kind == "MultiLineString":
        return shapely.MultiLineString([shapely.LineString(a) for a in spec[1]])
    if kind == "MultiPoint":
        return shapely.MultiPoint([shapely.Point(a) for a in spec[1]])
    return shapely.GeometryCollection([_build(p) for p in spec[1]])


def _arrays(spec, out: list) -> None:
    kind = spec[0]
    if kind == "Point":
        out.append(np.asarray(spec[1], dtype=float).reshape(1, -1))
    elif kind == "LineString":
        out.append(spec[1])
    elif kind == "Polygon":
        out.append(spec[1])
        out.extend(spec[2])
    elif kind == "MultiLineString":
        out.extend(spec[1])
    elif kind == "MultiPoint":
        out.extend(np.asarray(a, dtype=float).reshape(1, -1) for a in spec[1])
    else:
        for sub in spec[1]:
            _arrays(sub, out)


@dataclass(slots=True)
class Property:
    """One child element of a feature: a value, a link, an inline feature or a geometry."""

    name: str
    ns: str
    line: int
    text: str | None = None
    href: str | None = None
    inline: Feature | None = None
    geometry: Geometry | None = None
    children: int = 0


@dataclass(slots=True)
class Feature:
    """A PCRS feature as read from the file."""

    cls: str
    ns: str
    gml_id: str | None
    line: int
    props: list = field(default_factory=list)
    parent: Feature | None = None
    parent_prop: str | None = None
    member_line: int = 0
    #: tags (``{namespace}name``) of :attr:`props`, in order, as the reader met them (None
    #: when the feature was built otherwise): features of one class with the same tags share
    #: one structural verdict
    prop_tags: tuple | None = None
    #: the compact form of the properties (:attr:`props` is then None until
    #: :meth:`materialise`): ``(texts, hrefs, children, lines, geometries)``, the first four
    #: sequences aligned with :attr:`prop_tags` (text None for a link or an element with
    #: children), ``geometries`` a sequence of ``(index, Geometry)``. The fast reader builds features so,
    #: and the validator reads them without building a :class:`Property` per value.
    compact: tuple | None = None

    def materialise(self) -> list:
        """:attr:`props`, built from the compact form when the feature has one."""
        if self.props is None:
            texts, hrefs, children, lines, geometries = self.compact
            props = []
            for tag, text, href, n, line in zip(
                self.prop_tags, texts, hrefs, children, lines, strict=True
            ):
                ns, local, _skipped = _prop_tag(tag)
                p = Property(local, ns, line, text, href)
                p.children = n
                props.append(p)
            for i, geom in geometries:
                props[i].geometry = geom
            self.props = props
        return self.props

    def values(self, name: str) -> list[Property]:
        """The properties called ``name``, in file order."""
        return [p for p in self.materialise() if p.name == name]

    def first_text(self, name: str) -> str | None:
        for p in self.materialise():
            if p.name == name:
                return p.text
        return None

    @property
    def geometry(self) -> Geometry | None:
        for p in self.materialise():
            if p.geometry is not None:
                return p.geometry
        return None


@dataclass(slots=True)
class RootInfo:
    """What the head of a file says: root element, attributes, DTD."""

    ns: str
    local: str
    attrib: dict
    line: int
    has_dtd: bool = False
    entities: list = field(default_factory=list)
    encoding: str | None = None


class SniffError(Exception):
    """The head of a file is not XML (empty, binary, truncated before the root)."""


class EntityError(SniffError):
    """The file declares XML entities (refused: billion laughs, external entities)."""

    def __init__(self, names: list[str]):
        super().__init__("XML entities declared: " + ", ".join(names[:5]))
        self.names = names


_ENTITY_DECL = re.compile(rb"<!ENTITY\s+(?:%\s*)?([^\s\"'>]+)")


def _entities_in(head: bytes) -> list[str]:
    return [m.group(1).decode("utf-8", "replace") for m in _ENTITY_DECL.finditer(head)]


def _root_info(el) -> RootInfo:
    ns, local = _split(el.tag)
    docinfo = el.getroottree().docinfo
    dtd = docinfo.internalDTD
    ents = [e.name for e in dtd.iterentities()] if dtd is not None else []
    return RootInfo(
        ns,
        local,
        {_split(k)[1] if k != _GML_ID else "gml:id": v for k, v in el.attrib.items()},
        el.sourceline or 1,
        has_dtd=dtd is not None or bool(docinfo.doctype),
        entities=ents,
        encoding=docinfo.encoding,
    )


def sniff(path: str | Path, head_bytes: int = 1 << 20) -> RootInfo:
    """Read the head of ``path`` until the root element starts.

    Raises
    ------
    SniffError
        When the file is empty, not XML, or has no root in its first ``head_bytes``.
    OSError
        When it cannot be read.
    """
    opts = parser_options()
    parser = etree.XMLPullParser(events=("start",), **opts)
    read = 0
    with open(path, "rb") as fh:
        first = fh.read(4096)
        if not first.strip(b" \t\r\n\xef\xbb\xbf"):
            raise SniffError("the file is empty")
        if b"\x00" in first[:512] and not first.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise SniffError("the file is binary, not XML text")
        chunk = first
        head = b""
        while True:
            head += chunk
            ents = _entities_in(head)
            if ents:
                raise EntityError(ents)
            try:
                for i in range(0, len(chunk), 512):
                    parser.feed(chunk[i : i + 512])
                    for _ev, el in parser.read_events():
                        return _root_info(el)
            except etree.XMLSyntaxError as exc:
                raise SniffError(f"not well-formed XML: {exc}") from None
            read += len(chunk)
            if read >= head_bytes:
                raise SniffError(f"no XML root element in the first {head_bytes} bytes")
            chunk = fh.read(65536)
            if not chunk:
                try:
                    parser.close()
                except etree.XMLSyntaxError as exc:
                    raise SniffError(f"not well-formed XML: {exc}") from None
                raise SniffError("no XML root element")


# --- coordinates ------------------------------------------------------------------------


class _CoordError(ValueError):
    pass


def _parse_numbers(text: str) -> np.ndarray:
    try:
        return np.array(list(map(float, text.split())), dtype=np.float64)
    except ValueError:
        raise _CoordError(f"non-numeric coordinate in {text[:60]!r}") from None


def _coordinates_element(el, dim_hint: int | None) -> tuple[np.ndarray, int]:
    cs = el.get("cs", ",")
    ts = el.get("ts", " ")
    dec = el.get("decimal", ".")
    text = el.text or ""
    if ts.strip() == "":
        tuples = text.split()
    else:
        tuples = [t for t in text.replace("\n", ts).split(ts) if t.strip()]
    if not tuples:
        raise _CoordError("empty gml:coordinates")
    rows = []
    dim = None
    for t in tuples:
        parts = [p.strip() for p in t.split(cs) if p.strip()]
        if dec != ".":
            parts = [p.replace(dec, ".") for p in parts]
        if dim is None:
            dim = len(parts)
        elif len(parts) != dim:
            raise _CoordError("gml:coordinates tuples of different dimensions")
        rows.append(parts)
    try:
        arr = np.array(rows, dtype=np.float64)
    except ValueError:
        raise _CoordError("non-numeric value in gml:coordinates") from None
    return arr, dim  # type: ignore[return-value]


class _Ctx:
    __slots__ = ("dim", "dim_assumed", "dims", "problems", "srs", "tol")

    def __init__(self, srs, dim, tol):
        self.srs = srs
        self.dim = dim
        self.dims: set = set()
        self.problems: list = []
        self.tol = tol
        self.dim_assumed = False


def _points_of(el, ctx: _Ctx) -> np.ndarray:
    """Control points of a LineString-like element: posList, pos*, coordinates, pointProperty."""
    try:
        dim = int(el.get("srsDimension") or 0) or ctx.dim
    except ValueError:
        raise _CoordError(f"srsDimension {el.get('srsDimension')!r} is not a number") from None
    pts = []
    for child in el:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        local = tag[len(_G) :] if tag.startswith(_G) else _split(tag)[1]
        if local == "posList":
            try:
                d = int(child.get("srsDimension") or 0) or dim
            except ValueError:
                raise _CoordError("srsDimension is not a number") from None
            if d is None:
                d = 2
                ctx.dim_assumed = True
            nums = _parse_numbers(child.text or "")
            if nums.size == 0 or nums.size % d:
                raise _CoordError(f"{nums.size} numbers in gml:posList, not a multiple of {d}")
            return _track(nums.reshape(-1, d), ctx)
        if local == "coordinates":
            arr, _d = _coordinates_element(child, dim)
            return _track(arr, ctx)
        if local == "pos":
            nums = _parse_numbers(child.text or "")
            pts.append(nums)
        elif local in ("pointProperty", "pointRep"):
            for sub in child:
                if isinstance(sub.tag, str) and sub.tag == _G + "Point":
                    pts.append(_point_coords(sub, ctx))
    if not pts:
        raise _CoordError("no coordinates")
    sizes = {p.size for p in pts}
    if len(sizes) != 1:
        ctx.dims.update(sizes)
        pts = [p[:2] for p in pts]
    return _track(np.vstack(pts), ctx)


def _track(arr: np.ndarray, ctx: _Ctx) -> np.ndarray:
    d = arr.shape[1]
    if d not in (2, 3):
        raise _CoordError(f"coordinates of dimension {d}")
    ctx.dims.add(d)
    return arr


def _point_coords(el, ctx: _Ctx) -> np.ndarray:
    for child in el:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        if tag == _G + "pos":
            nums = _parse_numbers(child.text or "")
            if nums.size not in (2, 3):
                raise _CoordError(f"gml:pos with {nums.size} numbers")
            ctx.dims.add(nums.size)
            return nums
        if tag == _G + "coordinates":
            arr, _ = _coordinates_element(child, None)
            if len(arr) != 1:
                raise _CoordError("gml:Point with several coordinates")
            ctx.dims.add(arr.shape[1])
            return arr[0]
    raise _CoordError("gml:Point without gml:pos")


def _check_zero_length(arr: np.ndarray, ctx: _Ctx) -> None:
    n = len(arr)
    if n < 2:
        return
    if n <= 16:
        # few vertices (the usual case): plain Python floats beat numpy's per-call overhead
        rows = arr.tolist()
        tol2 = ctx.tol * ctx.tol
        prev = rows[0]
        for row in rows[1:]:
            d2 = sum((a - b) ** 2 for a, b in zip(prev, row, strict=True))
            if not d2 >= tol2:
                break
            prev = row
        else:
            return
    diff = arr[1:] - arr[:-1]
    d2 = np.einsum("ij,ij->i", diff, diff)
    if d2.min() >= ctx.tol * ctx.tol:
        return
    d = np.sqrt(d2)
    bad = np.flatnonzero(d <= IDENTICAL)
    if bad.size:
        x, y = arr[bad[0], 0], arr[bad[0], 1]
        ctx.problems.append(
            ("zero_length", f"{bad.size} segment(s) between identical points", x, y)
        )
    short = np.flatnonzero((d > IDENTICAL) & (d < ctx.tol))
    if short.size:
        x, y = arr[short[0], 0], arr[short[0], 1]
        ctx.problems.append(
            (
                "short_segment",
                f"{short.size} segment(s) shorter than {ctx.tol * 1000:g} mm "
                f"(shortest {d[short].min() * 1000:.2f} mm)",
                x,
                y,
            )
        )


def linearise_arc(p0, p1, p2, tolerance: float = ARC_TOLERANCE, full_circle: bool = False):
    """Points along the circular arc through ``p0``, ``p1``, ``p2`` (2D or 3D).

    The chord-to-arc distance (sagitta) of each step is at most ``tolerance``. Z, when
    present, varies linearly with the angle between the three control points.

    Returns
    -------
    numpy.ndarray or None
        ``(n, dim)`` points from ``p0`` to ``p2``; None when the points are collinear
        (the caller then keeps the control points as a straight line).

    Examples
    --------
    >>> pts = linearise_arc((1, 0), (0, 1), (-1, 0), tolerance=0.001)
    >>> bool(abs((pts ** 2).sum(axis=1) - 1).max() < 1e-9)
    True
    """
    p0 = np.asarray(p0, float)
    p1 = np.asarray(p1, float)
    p2 = np.asarray(p2, float)
    # plain Python floats (same float64 arithmetic, far less overhead than numpy scalars)
    q0 = p0.tolist()
    q1 = p1.tolist()
    q2 = p2.tolist()
    ax, ay = q0[0], q0[1]
    bx, by = q1[0], q1[1]
    cx, cy = q2[0], q2[1]
    # work relative to p0 for numerical safety with large projected coordinates
    bx, by, cx, cy = bx - ax, by - ay, cx - ax, cy - ay
    d = 2.0 * (bx * cy - by * cx)
    # (square roots of sums of squares, not hypot: the compiled reader repeats them exactly)
    chord = math.sqrt(cx * cx + cy * cy)
    if full_circle:
        chord = math.sqrt(bx * bx + by * by)
    # the middle point within 0.1 mm of the chord: a flat "arc"
    if chord == 0.0 or abs(d) / 2.0 / chord < 1e-4:
        return None
    ux = (cy * (bx * bx + by * by) - by * (cx * cx + cy * cy)) / d
    uy = (bx * (cx * cx + cy * cy) - cx * (bx * bx + by * by)) / d
    r = math.sqrt(ux * ux + uy * uy)
    a0 = math.atan2(-uy, -ux)
    a1 = math.atan2(by - uy, bx - ux)
    a2 = math.atan2(cy - uy, cx - ux)
    ccw = d > 0
    two_pi = 2 * math.pi

    def sweep(a, b):
        s = (b - a) % two_pi
        return s if ccw else -((a - b) % two_pi)

    s1 = sweep(a0, a1)
    s2 = two_pi if full_circle else sweep(a0, a2)
    if full_circle and not ccw:
        s2 = -two_pi
    step = math.pi / 2 if tolerance >= r else 2 * math.acos(1 - tolerance / r)
    n = int(min(max(math.ceil(abs(s2) / step), 2), 10000))
    t = np.arange(n + 1) * (s2 / n)
    dim = 3 if p0.size >= 3 else 2
    out = np.empty((n + 1, dim))
    ang = a0 + t
    out[:, 0] = np.cos(ang)
    out[:, 0] *= r
    out[:, 0] += ax + ux
    out[:, 1] = np.sin(ang)
    out[:, 1] *= r
    out[:, 1] += ay + uy
    end = q0 if full_circle else q2
    out[0, :2] = q0[:2]
    out[-1, :2] = end[:2]
    if dim == 3:
        z0, z1, z2 = q0[2], q1[2], end[2]
        if z0 == z1 == z2:
            out[:, 2] = z0
        else:
            out[:, 2] = np.interp(np.abs(t), [0, abs(s1), abs(s2)], [z0, z1, z2])
    return out


def _arcs(arr: np.ndarray, ctx: _Ctx, kind: str, tol: float) -> np.ndarray:
    n = len(arr)
    if kind == "Arc" and n != 3:
        ctx.problems.append(
            ("arc_points", f"gml:Arc with {n} points (exactly 3 required)", arr[0, 0], arr[0, 1])
        )
    if n < 3 or n % 2 == 0:
        if kind != "Arc":
            ctx.problems.append(
                (
                    "arc_points",
                    f"gml:{kind} with {n} points (an odd number ≥ 3 required)",
                    arr[0, 0],
                    arr[0, 1],
                )
            )
        return arr
    out = [arr[:1]]
    for i in range(0, n - 2, 2):
        pts = linearise_arc(arr[i], arr[i + 1], arr[i + 2], tol, full_circle=(kind == "Circle"))
        if pts is None:
            ctx.problems.append(
                (
                    "arc_collinear",
                    "arc through three aligned points (read as straight segments)",
                    arr[i + 1, 0],
                    arr[i + 1, 1],
                )
            )
            pts = arr[i : i + 3]
        out.append(pts[1:])
    return np.concatenate(out)  # all (k, dim) blocks


def _curve_coords(el, ctx: _Ctx, tol: float) -> np.ndarray:
    """Linearised vertices of any AbstractCurve element."""
    _ns, local = _split(el.tag)
    if local in ("LineString", "LinearRing", "LineStringSegment"):
        arr = _points_of(el, ctx)
        _check_zero_length(arr, ctx)
        return arr
    if local in ("Arc", "ArcString", "Circle"):
        arr = _points_of(el, ctx)
        _check_zero_length(arr, ctx)
        return _arcs(arr, ctx, local, tol)
    if local == "Curve":
        parts = []
        for seg_holder in el:
            if not isinstance(seg_holder.tag, str) or seg_holder.tag != _G + "segments":
                continue
            for seg in seg_holder:
                if not isinstance(seg.tag, str):
                    continue
                sl = _split(seg.tag)[1]
                if sl not in _SEGMENTS_ALLOWED:
                    ctx.problems.append(
                        ("segment_type", f"gml:{sl} (only straight segments and arcs)", None, None)
                    )
                    continue
                parts.append(_curve_coords(seg, ctx, tol))
        return _join(parts, ctx)
    if local in ("Ring", "CompositeCurve"):
        parts = []
        for member in el:
            if not isinstance(member.tag, str):
                continue
            for sub in member:
                if isinstance(sub.tag, str):
                    parts.append(_curve_coords(sub, ctx, tol))
        return _join(parts, ctx)
    if local == "OrientableCurve":
        for member in el:
            if isinstance(member.tag, str) and member.tag == _G + "baseCurve":
                for sub in member:
                    if isinstance(sub.tag, str):
                        arr = _curve_coords(sub, ctx, tol)
                        return arr[::-1] if el.get("orientation") == "-" else arr
        raise _CoordError("gml:OrientableCurve without baseCurve")
    ctx.problems.append(("segment_type", f"gml:{local} is not a curve PCRS accepts", None, None))
    raise _CoordError(f"unsupported curve element gml:{local}")


def _join(parts: list, ctx: _Ctx) -> np.ndarray:
    if not parts:
        raise _CoordError("curve without segments")
    if len(parts) == 1:
        return parts[0]
    out = [parts[0]]
    for prev, nxt in itertools.pairwise(parts):
        d = min(prev.shape[1], nxt.shape[1])
        gap = float(np.sqrt(((prev[-1, :2] - nxt[0, :2]) ** 2).sum()))
        if gap > max(ctx.tol, 1e-6):
            ctx.problems.append(
                (
                    "discontinuous",
                    f"consecutive segments do not touch (gap {gap:.3f} m)",
                    prev[-1, 0],
                    prev[-1, 1],
                )
            )
            out.append(nxt[:, :d] if nxt.shape[1] == d else nxt)
        else:
            out.append(nxt[1:])
    widths = {p.shape[1] for p in out}
    if len(widths) > 1:
        out = [p[:, :2] for p in out]
    return np.concatenate(out)  # all (k, dim) blocks


def _ring(el, ctx: _Ctx, tol: float) -> np.ndarray:
    for sub in el:
        if isinstance(sub.tag, str):
            arr = _curve_coords(sub, ctx, tol)
            if len(arr) < 4:
                ctx.problems.append(
                    ("coords", f"ring with {len(arr)} points (4 at least)", arr[0, 0], arr[0, 1])
                )
            elif np.abs(arr[0, :2] - arr[-1, :2]).max() > 1e-9 or (
                arr.shape[1] == 3 and abs(arr[0, 2] - arr[-1, 2]) > 1e-6
            ):
                ctx.problems.append(
                    ("ring_open", "ring whose last point is not its first", arr[0, 0], arr[0, 1])
                )
            return arr
    raise _CoordError("empty polygon boundary")


def _polygon(el, ctx: _Ctx, tol: float):
    shell = None
    holes = []
    for child in el:
        if not isinstance(child.tag, str):
            continue
        local = _split(child.tag)[1]
        if local == "exterior":
            shell = _ring(child, ctx, tol)
        elif local == "interior":
            holes.append(_ring(child, ctx, tol))
    if shell is None:
        raise _CoordError("polygon without exterior")
    if len(shell) < 4 or any(len(h) < 4 for h in holes):
        return None, len(holes)
    return ("Polygon", shell, holes), len(holes)


def _members(el, single: str, plural: str):
    for child in el:
        if not isinstance(child.tag, str):
            continue
        local = _split(child.tag)[1]
        if local in (single, plural):
            for sub in child:
                if isinstance(sub.tag, str):
                    yield sub


def _geom_of(el, ctx: _Ctx, tol: float):
    """The geometry spec of a GML geometry element (see :func:`_build`); returns (spec, holes)."""
    local = _split(el.tag)[1]
    srs = el.get("srsName")
    if srs:
        ctx.srs = ctx.srs or srs
    dim = el.get("srsDimension")
    if dim:
        try:
            ctx.dim = ctx.dim or int(dim)
        except ValueError:
            raise _CoordError(f"srsDimension {dim!r} is not a number") from None
    if local == "Point":
        return ("Point", _point_coords(el, ctx)), 0
    if local in ("LineString", "Curve", "CompositeCurve", "OrientableCurve", "LinearRing"):
        arr = _curve_coords(el, ctx, tol)
        if len(arr) < 2:
            raise _CoordError("line with fewer than 2 points")
        return ("LineString", arr), 0
    if local in ("Polygon", "PolygonPatch"):
        return _polygon(el, ctx, tol)
    if local == "Surface":
        polys = []
        holes = 0
        for child in el:
            if isinstance(child.tag, str) and _split(child.tag)[1] == "patches":
                for patch in child:
                    if isinstance(patch.tag, str):
                        p, h = _polygon(patch, ctx, tol)
                        holes += h
                        if p is not None:
                            polys.append(p)
        if not polys:
            return None, holes
        return (polys[0] if len(polys) == 1 else ("MultiPolygon", polys)), holes
    if local == "MultiSurface":
        polys = []
        holes = 0
        for sub in _members(el, "surfaceMember", "surfaceMembers"):
            g, h = _geom_of(sub, ctx, tol)
            holes += h
            if g is None:
                continue
            polys.extend(g[1] if g[0] == "MultiPolygon" else [g])
        return (("MultiPolygon", polys) if polys else None), holes
    if local == "MultiCurve":
        lines = []
        for sub in _members(el, "curveMember", "curveMembers"):
            g, _ = _geom_of(sub, ctx, tol)
            if g is not None and g[0] == "LineString":
                lines.append(g[1])
        return (("MultiLineString", lines) if lines else None), 0
    if local == "MultiPoint":
        pts = []
        for sub in _members(el, "pointMember", "pointMembers"):
            g, _ = _geom_of(sub, ctx, tol)
            if g is not None and g[0] == "Point":
                pts.append(g[1])
        return (("MultiPoint", pts) if pts else None), 0
    if local == "MultiGeometry":
        parts = []
        for sub in _members(el, "geometryMember", "geometryMembers"):
            g, _ = _geom_of(sub, ctx, tol)
            if g is not None:
                parts.append(g)
        return (("GeometryCollection", parts) if parts else None), 0
    raise _CoordError(f"gml:{local} is not a geometry PCRS uses")


_POINT_TAG = _G + "Point"
_POS_TAG = _G + "pos"


def _fast_point(el, srs):
    """The common ``<gml:Point gml:id srsName><gml:pos>x y z</gml:pos></gml:Point>``, without numpy."""
    if len(el) != 1:
        return None
    pos = el[0]
    if pos.tag != _POS_TAG or (pos.items() and pos.get("srsDimension") is not None):
        return None
    try:
        vals = tuple(map(float, (pos.text or "").split()))
    except ValueError:
        return None
    n = len(vals)
    if n not in (2, 3) or not all(map(_ISFINITE, vals)):
        return None
    gid = el.get(_GML_ID)
    problems = [] if gid is not None else [("no_gml_id", "gml:Point without gml:id", None, None)]
    x, y = vals[0], vals[1]
    return Geometry(
        ("Point", vals),
        "Point",
        el.get("srsName") or srs,
        el.sourceline or 0,
        {n},
        problems,
        0,
        False,
        (x, y, x, y),
        (x, y),
        (vals[2], vals[2]) if n == 3 else None,
    )


_LINESTRING_TAG = _G + "LineString"
_POSLIST_TAG = _G + "posList"


# --- fast paths: the common clean geometries, in plain Python floats ----------------------
#
# Small geometries (a handful of vertices) cost more in numpy's per-call overhead than in
# arithmetic. The readers below handle the shapes PCRS deliveries use most (Curve of
# LineStringSegment/Arc/ArcString, LineString, LinearRing or Ring polygons, MultiCurve) with
# an explicit srsDimension of 2 or 3 and finite numbers, in Python floats, with the same
# float64 operations in the same order as the general reader (so the same vertices, bounds
# and verdicts). On anything else, and on any defect (zero-length or short segment, arc point
# count, aligned arc points, gap, open ring...), they give up and the general reader, which
# reports the defect, reads the geometry again.


class _Slow(Exception):
    """The fast path does not handle this geometry: read it with the general reader."""


_SEGMENTS_TAG = _G + "segments"
_LSS_TAG = _G + "LineStringSegment"
_ARC_TAG = _G + "Arc"
_ARCSTRING_TAG = _G + "ArcString"
_CURVE_TAG = _G + "Curve"
_POLYGON_TAG = _G + "Polygon"
_EXTERIOR_TAG = _G + "exterior"
_INTERIOR_TAG = _G + "interior"
_LINEARRING_TAG = _G + "LinearRing"
_RING_TAG = _G + "Ring"
_CURVEMEMBER_TAG = _G + "curveMember"
_MULTICURVE_TAG = _G + "MultiCurve"
_TWO_PI = 2 * math.pi
_FAST_TAGS = frozenset((_LINESTRING_TAG, _CURVE_TAG, _POLYGON_TAG, _MULTICURVE_TAG))
_ISFINITE = math.isfinite


def _flat_poslist(holder, d: int) -> list:
    """Floats of the single ``posList`` of ``holder`` (no own srsDimension), checked for
    zero-length and short segments like :func:`_check_zero_length`."""
    if len(holder) != 1:
        raise _Slow
    pl = holder[0]
    if pl.tag != _POSLIST_TAG or pl.get("srsDimension") is not None:
        raise _Slow
    try:
        vals = list(map(float, (pl.text or "").split()))
    except ValueError:
        raise _Slow from None
    n = len(vals)
    if n < 2 * d or n % d:
        raise _Slow
    if not all(map(_ISFINITE, vals)):
        raise _Slow
    if n > 16 * d:
        ctx = _Ctx(None, d, ZERO_LENGTH)
        _check_zero_length(np.array(vals).reshape(-1, d), ctx)
        if ctx.problems:
            raise _Slow
        return vals
    tol2 = ZERO_LENGTH * ZERO_LENGTH
    # the same sums, in the same order, as _check_zero_length's short-line loop
    if d == 3:
        for i in range(3, n, 3):
            if (
                not (vals[i] - vals[i - 3]) ** 2
                + (vals[i + 1] - vals[i - 2]) ** 2
                + (vals[i + 2] - vals[i - 1]) ** 2
                >= tol2
            ):
                raise _Slow
    else:
        for i in range(2, n, 2):
            if not (vals[i] - vals[i - 2]) ** 2 + (vals[i + 1] - vals[i - 1]) ** 2 >= tol2:
                raise _Slow
    return vals


def _arc_flat(v: list, i: int, d: int, tol: float, out: list) -> None:
    """Append to ``out`` the points after the first of the arc whose control points start at
    ``v[i]``: :func:`linearise_arc` (not a full circle), operation for operation."""
    ax, ay = v[i], v[i + 1]
    bx, by = v[i + d], v[i + d + 1]
    cx, cy = v[i + 2 * d], v[i + 2 * d + 1]
    bx, by, cx, cy = bx - ax, by - ay, cx - ax, cy - ay
    dd = 2.0 * (bx * cy - by * cx)
    chord = math.sqrt(cx * cx + cy * cy)
    if chord == 0.0 or abs(dd) / 2.0 / chord < 1e-4:
        raise _Slow  # aligned points: the general reader reports them
    ux = (cy * (bx * bx + by * by) - by * (cx * cx + cy * cy)) / dd
    uy = (bx * (cx * cx + cy * cy) - cx * (bx * bx + by * by)) / dd
    r = math.sqrt(ux * ux + uy * uy)
    if not (_ISFINITE(r) and _ISFINITE(ux) and _ISFINITE(uy)):
        raise _Slow
    a0 = math.atan2(-uy, -ux)
    a1 = math.atan2(by - uy, bx - ux)
    a2 = math.atan2(cy - uy, cx - ux)
    if dd > 0:
        s1 = (a1 - a0) % _TWO_PI
        s2 = (a2 - a0) % _TWO_PI
    else:
        s1 = -((a0 - a1) % _TWO_PI)
        s2 = -((a0 - a2) % _TWO_PI)
    step = math.pi / 2 if tol >= r else 2 * math.acos(1 - tol / r)
    n = int(min(max(math.ceil(abs(s2) / step), 2), 10000))
    q = s2 / n
    ox = ax + ux
    oy = ay + uy
    cos = math.cos
    sin = math.sin
    if d == 3:
        z0, z1, z2 = v[i + 2], v[i + d + 2], v[i + 2 * d + 2]
        if z0 == z1 == z2:
            zs = None
        else:
            zs = np.interp(
                np.abs(np.arange(n + 1) * q), [0, abs(s1), abs(s2)], [z0, z1, z2]
            ).tolist()
        for k in range(1, n):
            ang = a0 + k * q
            out.append(cos(ang) * r + ox)
            out.append(sin(ang) * r + oy)
            out.append(z0 if zs is None else zs[k])
        out.append(v[i + 2 * d])
        out.append(v[i + 2 * d + 1])
        out.append(z0 if zs is None else zs[n])
    else:
        for k in range(1, n):
            ang = a0 + k * q
            out.append(cos(ang) * r + ox)
            out.append(sin(ang) * r + oy)
        out.append(v[i + 4])
        out.append(v[i + 5])


def _flat_curve(el, d: int, tol: float) -> list:
    """Linearised vertices (flat floats) of an inner LineString or Curve element."""
    if el.get("srsDimension") is not None:
        raise _Slow
    tag = el.tag
    if tag == _LINESTRING_TAG:
        return _flat_poslist(el, d)
    if tag != _CURVE_TAG or len(el) != 1:
        raise _Slow
    segs = el[0]
    if segs.tag != _SEGMENTS_TAG:
        raise _Slow
    return _flat_segments(segs, d, tol)


def _flat_segments(segs, d: int, tol: float) -> list:
    """Linearised vertices of the segments of a Curve, joined like :func:`_join`."""
    out = None
    for seg in segs:
        stag = seg.tag
        if seg.get("srsDimension") is not None:
            raise _Slow
        vals = _flat_poslist(seg, d)
        if stag == _LSS_TAG:
            part = vals
        elif stag in (_ARC_TAG, _ARCSTRING_TAG):
            npts = len(vals) // d
            if npts < 3 or npts % 2 == 0 or (stag == _ARC_TAG and npts != 3):
                raise _Slow
            part = vals[:d]
            for i in range(0, (npts - 2) * d, 2 * d):
                _arc_flat(vals, i, d, tol, part)
        else:
            raise _Slow
        if out is None:
            out = part
        else:
            _flat_join(out, part, d)
    if out is None:
        raise _Slow
    return out


def _flat_join(out: list, part: list, d: int) -> None:
    """Append ``part`` to ``out`` as :func:`_join` does: its first point must touch the last
    point of ``out`` (within ZERO_LENGTH, in 2D), and is not repeated."""
    dx = out[-d] - part[0]
    dy = out[-d + 1] - part[1]
    if math.sqrt(dx**2 + dy**2) > ZERO_LENGTH:
        raise _Slow
    out.extend(part[d:])


def _flat_ring(holder, d: int, tol: float) -> list:
    """Vertices of the ring in an ``exterior``/``interior`` element (closed, >= 4 points)."""
    if len(holder) != 1:
        raise _Slow
    ring = holder[0]
    if ring.get("srsDimension") is not None:
        raise _Slow
    if ring.tag == _LINEARRING_TAG:
        vals = _flat_poslist(ring, d)
    elif ring.tag == _RING_TAG:
        vals = None
        for member in ring:
            if member.tag != _CURVEMEMBER_TAG or len(member) != 1:
                raise _Slow
            part = _flat_curve(member[0], d, tol)
            if vals is None:
                vals = part
            else:
                _flat_join(vals, part, d)
        if vals is None:
            raise _Slow
    else:
        raise _Slow
    n = len(vals)
    if n < 4 * d:
        raise _Slow
    if max(abs(vals[0] - vals[-d]), abs(vals[1] - vals[-d + 1])) > 1e-9 or (
        d == 3 and abs(vals[2] - vals[-1]) > 1e-6
    ):
        raise _Slow
    return vals


def _fast_geometry(el, srs, tol: float):
    """A :class:`Geometry` for the common clean cases, or None (see the notes above)."""
    sd = el.get("srsDimension")
    if sd == "3":
        d = 3
    elif sd == "2":
        d = 2
    else:
        return None
    own_srs = el.get("srsName")
    if not own_srs:
        return None
    tag = el.tag
    try:
        if tag in (_LINESTRING_TAG, _CURVE_TAG):
            if tag == _LINESTRING_TAG:
                vals = _flat_poslist(el, d)
            else:
                if len(el) != 1:
                    return None
                segs = el[0]
                if segs.tag != _SEGMENTS_TAG:
                    return None
                vals = _flat_segments(segs, d, tol)
            spec = ("LineString", np.array(vals).reshape(-1, d))
            allv = vals
            holes = 0
        elif tag == _POLYGON_TAG:
            shell = None
            rings = []
            for child in el:
                ctag = child.tag
                if ctag == _EXTERIOR_TAG and shell is None:
                    shell = _flat_ring(child, d, tol)
                elif ctag == _INTERIOR_TAG:
                    rings.append(_flat_ring(child, d, tol))
                else:
                    return None
            if shell is None:
                return None
            holes = len(rings)
            spec = (
                "Polygon",
                np.array(shell).reshape(-1, d),
                [np.array(h).reshape(-1, d) for h in rings],
            )
            allv = shell
            for h in rings:
                allv = allv + h
            vals = shell
        elif tag == _MULTICURVE_TAG:
            lines = []
            allv = []
            for member in el:
                if member.tag != _CURVEMEMBER_TAG or len(member) != 1:
                    return None
                part = _flat_curve(member[0], d, tol)
                lines.append(np.array(part).reshape(-1, d))
                allv.extend(part)
            if not lines:
                return None
            spec = ("MultiLineString", lines)
            vals = allv
            holes = 0
        else:
            return None
    except _Slow:
        return None
    xs = allv[0::d]
    ys = allv[1::d]
    problems = []
    if el.get(_GML_ID) is None:
        problems.append(("no_gml_id", f"gml:{tag[len(_G) :]} without gml:id", None, None))
    if d == 3:
        zs = allv[2::d]
        zrange = (min(zs), max(zs))
    else:
        zrange = None
    return Geometry(
        spec,
        tag[len(_G) :],
        own_srs,
        el.sourceline or 0,
        {d},
        problems,
        holes,
        False,
        (min(xs), min(ys), max(xs), max(ys)),
        (vals[0], vals[1]),
        zrange,
    )


def read_geometry(el, srs: str | None = None, tolerance: float = ARC_TOLERANCE) -> Geometry:
    """Read one GML geometry element into a :class:`Geometry` (never raises on bad content)."""
    tag = el.tag
    if tag == _POINT_TAG:
        fast = _fast_point(el, srs)
        if fast is not None:
            return fast
    elif tag in _FAST_TAGS:
        fast = _fast_geometry(el, srs, tolerance)
        if fast is not None:
            return fast
    return _read_geometry_general(el, srs, tolerance)


def _read_geometry_general(el, srs: str | None, tolerance: float) -> Geometry:
    """:func:`read_geometry` without the fast paths: every form, every defect reported."""
    ctx = _Ctx(srs, None, ZERO_LENGTH)
    local = _split(el.tag)[1]
    line = el.sourceline or 0
    own_srs = el.get("srsName")
    if own_srs:
        ctx.srs = own_srs
    try:
        spec, holes = _geom_of(el, ctx, tolerance)
    except _CoordError as exc:
        ctx.problems.append(("coords", str(exc), None, None))
        spec, holes = None, 0
    if el.get(_GML_ID) is None:
        ctx.problems.append(("no_gml_id", f"gml:{local} without gml:id", None, None))
    geom = Geometry(spec, local, ctx.srs, line, ctx.dims, ctx.problems, holes, ctx.dim_assumed)
    if spec is not None:
        arrays: list = []
        _arrays(spec, arrays)
        arrays = [a for a in arrays if a.size]
        if arrays:
            if len(arrays) == 1:
                allc = arrays[0]
            elif len({a.shape[1] for a in arrays}) == 1:
                allc = np.concatenate(arrays)
            else:
                allc = np.concatenate([a[:, :2] for a in arrays])
            mn = allc.min(axis=0).tolist()
            mx = allc.max(axis=0).tolist()
            if not all(map(math.isfinite, mn + mx)):
                geom.problems.append(
                    ("coords", "coordinates that are not finite numbers", None, None)
                )
                geom.spec = None
                return geom
            geom.bounds = (mn[0], mn[1], mx[0], mx[1])
            geom.first = (float(allc[0, 0]), float(allc[0, 1]))
            if len(mn) == 3:
                geom.zrange = (mn[2], mx[2])
    return geom


# --- features -------------------------------------------------------------------------


_SKIPPED_GML = frozenset(
    ("boundedBy", "name", "description", "identifier", "descriptionReference", "metaDataProperty")
)
_PROP_TAG: dict[str, tuple[str, str, bool]] = {}


def _prop_tag(tag: str) -> tuple[str, str, bool]:
    """``(ns, local, skipped)`` of a property tag, cached."""
    hit = _PROP_TAG.get(tag)
    if hit is None:
        ns, local = _split(tag)
        hit = (ns, local, ns == GML_NS and local in _SKIPPED_GML)
        if len(_PROP_TAG) < 10000:
            _PROP_TAG[tag] = hit
    return hit


def _read_feature(el, member_line: int, out: list, tolerance: float, parent=None, pprop=None):
    ns, local = _split(el.tag)
    feat = Feature(local, ns, el.get(_GML_ID), el.sourceline or 0, [], parent, pprop, member_line)
    out.append(feat)
    append = feat.props.append
    tags: list = []
    tag_append = tags.append
    prop_tag = _PROP_TAG
    for child in el:
        tag = child.tag
        if tag.__class__ is not str:
            continue
        hit = prop_tag.get(tag) or _prop_tag(tag)
        if hit[2]:
            continue
        tag_append(tag)
        # (items() is cheaper than get() on the many elements without attributes)
        href = child.get(_HREF) if child.items() else None
        if not len(child):
            # a leaf: a value or a link (the common case, kept short)
            append(
                Property(
                    hit[1],
                    hit[0],
                    child.sourceline or 0,
                    (child.text or "").strip() if href is None else None,
                    href,
                )
            )
            continue
        clocal = hit[1]
        prop = Property(clocal, hit[0], child.sourceline or 0, None, href)
        n_children = 0
        for sub in child:
            stag = sub.tag
            if not isinstance(stag, str):
                continue
            n_children += 1
            if n_children > 1:
                continue
            sns = _split(stag)[0]
            if sns == GML_NS:
                prop.geometry = read_geometry(sub, None, tolerance)
            else:
                prop.inline = _read_feature(sub, member_line, out, tolerance, feat, clocal)
        prop.children = n_children
        if n_children == 0 and href is None:
            prop.text = (child.text or "").strip()
        append(prop)
    feat.prop_tags = tuple(tags)
    return feat


def _id_emprise_before(emprise, link) -> str | bool:
    """Text of the first ``idEmprise`` child of ``emprise`` before ``link``, False if none
    (remembered for the emprise's other links, so that the search runs once)."""
    tag = "{" + NS_PCRS + "}idEmprise"
    for child in emprise:
        if child is link:
            break
        if child.tag == tag:
            return child.text or ""
    return False


@dataclass(slots=True)
class Member:
    """One ``featureMember`` of a file: its features (inline children included)."""

    line: int
    tag: str
    features: list
    href: str | None = None
    n_children: int = 0
    element: object = None


@dataclass(slots=True)
class EmpriseLink:
    """An ``objet`` or ``habillage`` link of an EmpriseEchangePCRS, handed out as soon as it is
    read (an emprise may list hundreds of thousands of them: they are not kept in the tree)."""

    line: int
    name: str
    href: str
    emprise_id: str | None
    id_emprise: str | None


_EMPRISE_TAG = "{" + NS_PCRS + "}EmpriseEchangePCRS"
_MEMBER_LABEL = {
    _MEMBER_TAGS[0]: "pcrs:featureMember",
    _MEMBER_TAGS[1]: "gml:featureMember",
    _MEMBER_TAGS[2]: "gml:featureMembers",
}
_LINK_TAGS = ("{" + NS_PCRS + "}objet", "{" + NS_PCRS + "}habillage")


class GmlReader:
    """Stream the ``featureMember`` elements of one PCRS GML file.

    Parameters
    ----------
    path : path-like
    tolerance : float
        Arc linearisation tolerance (m), see :data:`ARC_TOLERANCE`.

    Examples
    --------
    >>> reader = GmlReader("delivery.gml")  # doctest: +SKIP
    >>> for member in reader.members():  # doctest: +SKIP
    ...     for feature in member.features:
    ...         print(feature.cls, feature.gml_id)
    """

    def __init__(
        self, path: str | Path, tolerance: float = ARC_TOLERANCE, source: bytes | None = None
    ):
        self.path = Path(path)
        self.tolerance = tolerance
        #: the document itself, when it is not read from ``path`` (which then only names it)
        self.source = source
        self.root = None
        self.error: str | None = None
        self.error_line: int | None = None
        #: with a schema: the document is not well-formed (truncated...); see locate_error()
        self.malformed = False
        #: with a schema: number of schema violations libxml2 found while streaming
        self.schema_errors = 0
        self._syntax = None  # (the first syntax error of a parse without schema, once known)

    def _input(self):
        return io.BytesIO(self.source) if self.source is not None else str(self.path)

    def members(
        self, keep_element: bool = False, schema=None, read: bool = True, split_links: bool = True
    ) -> Iterator[Member | EmpriseLink]:
        """Yield each ``featureMember`` as a :class:`Member`; the element is freed after.

        Parameters
        ----------
        keep_element : bool
            Attach the lxml element (``Member.element``) so that a caller can validate
            it against the schema before it is freed.
        schema : lxml.etree.XMLSchema, optional
            Validate the whole document while streaming it (libxml2's own streaming
            validation: nearly free). Violations are counted in :attr:`schema_errors`
            (libxml2 does not give their lines in this mode: run a second pass with
            per-feature validation to place them). In this mode a document that is not
            well-formed sets :attr:`malformed` (judged by a second parse, without schema:
            lxml loses syntax errors while it validates, see the module's docstring), and
            the members after its first syntax error may have been handed out as libxml2
            recovered them; :meth:`locate_error` then finds where.
        read : bool
            Read the features (False: only the elements, for a schema-only pass).
        split_links : bool
            Hand out the ``objet``/``habillage`` links of a top-level EmpriseEchangePCRS
            one by one as :class:`EmpriseLink` (and drop them from the tree) instead of
            inside the emprise's :class:`Member`: memory stays bounded whatever their number.

        Without a schema, a parse error stops the iteration and is kept in
        :attr:`error` and :attr:`error_line`.
        """
        root_tag = "{" + NS_PCRS + "}PlanCorpsRueSimplifie"
        tags = (*_MEMBER_TAGS, root_tag) if schema is not None else _MEMBER_TAGS
        if split_links:
            tags = (*tags, *_LINK_TAGS)
        opts = parser_options()
        if schema is not None:
            opts["schema"] = schema
        it = etree.iterparse(self._input(), events=("end",), tag=tags, **opts)
        closed = False
        # the emprise whose links are being handed out: (element, gml:id, idEmprise)
        # (the element is held so that lxml hands back the same proxy for it)
        emprise = (None, None, None)
        try:
            for _ev, el in it:
                tag = el.tag
                if tag == root_tag:
                    if el.getparent() is None:
                        closed = True
                    continue
                parent = el.getparent()
                if tag in _LINK_TAGS:
                    if parent is not None and parent is emprise[0]:
                        top = True
                    else:
                        top = (
                            parent is not None
                            and parent.tag == _EMPRISE_TAG
                            and parent.getparent() is not None
                            and parent.getparent().tag in _MEMBER_TAGS
                        )
                        if top:
                            emprise = (parent, parent.get(_GML_ID), None)
                    if top and not len(el):
                        href = el.get(_HREF)
                        if href is not None:
                            id_emprise = emprise[2]
                            if id_emprise is None:
                                # the idEmprise written before the emprise's first link (libxml2
                                # may have parsed further: later elements are not looked at)
                                id_emprise = _id_emprise_before(parent, el)
                                emprise = (parent, emprise[1], id_emprise)
                            if id_emprise is False:
                                id_emprise = None
                            yield EmpriseLink(
                                el.sourceline or 0,
                                tag[len(NS_PCRS) + 2 :],
                                href,
                                emprise[1],
                                id_emprise,
                            )
                            parent.remove(el)
                    continue
                if self.root is None and parent is not None:
                    self.root = parent
                if parent is not None and parent.getparent() is not None:
                    # a featureMember below another one: handled with its ancestor
                    continue
                out: list = []
                n = 0
                line = el.sourceline or 0
                plural = tag == _MEMBER_TAGS[2]
                for sub in el:
                    if isinstance(sub.tag, str):
                        n += 1
                        if read and (n == 1 or plural):
                            _read_feature(sub, line, out, self.tolerance)
                # no proxy of a child may outlive the clear() below: lxml would then move
                # that child's whole subtree into a document of its own (costly)
                sub = None
                label = _MEMBER_LABEL.get(tag) or (
                    ("pcrs:" if tag == _MEMBER_TAGS[0] else "gml:") + _split(tag)[1]
                )
                member = Member(line, label, out, el.get(_HREF) if el.items() else None, n)
                if keep_element:
                    member.element = el
                yield member
                member.element = None
                emprise = (None, None, None)  # its links, if any, all came before
                el.clear()
                if parent is not None:
                    parent.remove(el)
        except etree.XMLSyntaxError as exc:
            # (with a schema: a schema violation, or, sometimes, a syntax error)
            if schema is None:
                self.error = exc.msg if hasattr(exc, "msg") else str(exc)
                self.error_line = exc.lineno if hasattr(exc, "lineno") else None
        if schema is not None:
            # lxml may have taken a document that is not well-formed for a sound one (the
            # root closed, no error): a parse without schema says
            self.malformed = not closed or self._syntax_error() is not None
            self.schema_errors = sum(1 for e in it.error_log if e.domain_name == "SCHEMASV")
        self.root = it.root if getattr(it, "root", None) is not None else self.root

    def locate_error(self) -> tuple[int | None, str | None]:
        """Parse the file without schema to find where it stops being well-formed."""
        found = self._syntax_error()
        if found is not None:
            return found
        return None, "the document ends before its root element is closed"

    def _syntax_error(self) -> tuple[int | None, str] | None:
        """``(line, message)`` of the first syntax error of a parse without schema, None
        for a well-formed document (parsed once per reader)."""
        if self._syntax is None:
            it = etree.iterparse(
                self._input(), events=("end",), tag=_MEMBER_TAGS, **parser_options()
            )
            found: tuple | bool = False
            try:
                for _ev, el in it:
                    parent = el.getparent()
                    el.clear()
                    if parent is not None:
                        parent.remove(el)
            except etree.XMLSyntaxError as exc:
                found = (getattr(exc, "lineno", None), getattr(exc, "msg", str(exc)))
            self._syntax = found
        return self._syntax or None
