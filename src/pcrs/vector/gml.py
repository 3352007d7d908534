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
from typing import Any

import numpy as np
import shapely
from lxml import etree

from ._geom_spec import NO_ROOM, ZERO_LENGTH, arc_into, arc_steps, numbers, read_at
from ._records import (
    A_ID,
    A_SRS_E,
    A_SRS_S,
    F_NCOLS,
    G_NCOLS,
    R_CURVE,
    R_LINESTRING,
    R_MULTICURVE,
    R_POINT,
    R_POLYGON,
    R_POS,
    R_POSLIST,
    ROLES,
)
from .model import GML_NS, NS_PCRS, NS_PCRS_INFO, XLINK_NS

__all__ = [
    "ARC_TOLERANCE",
    "EmpriseLink",
    "EmpriseLinks",
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
    props: list | None = field(default_factory=list)
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
            assert self.compact is not None and self.prop_tags is not None
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

    def property_at(self, i: int) -> Property:
        """Property number ``i``: from :attr:`props` once built; else, for a value or a
        link (no child element), built alone from the compact form, which stays as it is
        (a rule reading one link of a feature does not build its other properties)."""
        if self.props is not None:
            return self.props[i]
        assert self.compact is not None and self.prop_tags is not None
        texts, hrefs, children, lines, _geometries = self.compact
        if children[i]:
            return self.materialise()[i]
        ns, local, _skipped = _prop_tag(self.prop_tags[i])
        return Property(local, ns, lines[i], texts[i], hrefs[i])

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
        return np.array(numbers(text), dtype=np.float64)
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


#: the problem an arc through aligned points gives (both readers read it straight)
_ARC_COLLINEAR = "arc_collinear"
_ARC_COLLINEAR_TEXT = "arc through three aligned points (read as straight segments)"


def linearise_arc(p0, p1, p2, tolerance: float = ARC_TOLERANCE, full_circle: bool = False):
    """Points along the circular arc through ``p0``, ``p1``, ``p2`` (2D or 3D).

    The chord-to-arc distance (sagitta) of each step is at most ``tolerance``. Z, when
    present, varies linearly with the angle between the three control points. The points are
    those of :func:`pcrs.vector._geom_spec.arc_into`, as every reader of pcrs linearises arcs.

    Returns
    -------
    numpy.ndarray or None
        ``(n, dim)`` points from ``p0`` to ``p2`` (back to ``p0`` with ``full_circle``);
        None when the points are collinear (the caller then keeps the control points as a
        straight line), or the circle through them is too large to be stepped.

    Examples
    --------
    >>> pts = linearise_arc((1, 0), (0, 1), (-1, 0), tolerance=0.001)
    >>> bool(abs((pts ** 2).sum(axis=1) - 1).max() < 1e-9)
    True
    """
    q0 = np.asarray(p0, float).tolist()
    dim = 3 if len(q0) >= 3 else 2
    ctrl = q0[:dim] + np.asarray(p1, float).tolist()[:dim] + np.asarray(p2, float).tolist()[:dim]
    n = arc_steps(ctrl, 0, dim, tolerance, full_circle)
    if n < 0:
        return None
    fv = [0.0] * (n * dim)
    arc_into(ctrl, 0, dim, tolerance, full_circle, fv, 0)
    out = np.empty((n + 1, dim))
    out[0] = ctrl[:dim]
    out[1:] = np.array(fv).reshape(n, dim)
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
            ctx.problems.append((_ARC_COLLINEAR, _ARC_COLLINEAR_TEXT, arr[i + 1, 0], arr[i + 1, 1]))
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


# --- the common clean geometries: pcrs.vector._geom_spec, on records of lxml elements -----
#
# pcrs.vector._geom_spec reads the common clean forms (Point, LineString, Curve of
# LineStringSegment/Arc/ArcString, Polygon of LinearRing or Ring, MultiCurve) from geometry
# records; the compiled reader (pcrs.vector.fastread) runs it compiled over the file's bytes,
# read_geometry runs the same functions here, over records of the lxml element, without
# numba. What they decline (any defect, any other form) is read by the general reader above,
# which gives the same result for what they read.

_ROLE_OF_TAG = {_G + name: role for name, role in ROLES.items()}
_KIND_NAMES = {
    R_POINT: "Point",
    R_LINESTRING: "LineString",
    R_CURVE: "Curve",
    R_POLYGON: "Polygon",
    R_MULTICURVE: "MultiCurve",
}
_CLEAN_TAGS = frozenset(_G + kind for kind in _KIND_NAMES.values())
_DIMS = {None: 0, "2": 2, "3": 3}
_ISFINITE = math.isfinite
_MAX_VALUES = 1 << 24


def _records_of(el) -> tuple[list, int, list] | None:
    """Geometry records (flat, ``A_*`` columns, document order) of ``el`` and its
    descendants, their number, and the numbers their ``pos``/``posList`` point to; None for
    a tree with a node that is not an element (the general reader reads it)."""
    ga: list = []
    nv: list = []
    todo = [(el, -1, 4)]
    rows = 0
    while todo:
        node, parent, depth = todo.pop()
        tag = node.tag
        if tag.__class__ is not str:
            return None
        role = _ROLE_OF_TAG.get(tag, 0)
        nkids = len(node)
        k = 0
        n = -1
        if role in (R_POS, R_POSLIST):
            text = node.text
            if text is not None:
                try:
                    vals = numbers(text)
                except ValueError:
                    vals = None
                if vals is not None and all(map(_ISFINITE, vals)):
                    k = len(nv)
                    n = len(vals)
                    nv += vals
        dim = node.get("srsDimension")
        ga += (
            depth,
            parent,
            nkids,
            role,
            0 if dim is None else _DIMS.get(dim, -1),
            -1,
            -1,
            0,
            k,
            n,
        )
        if nkids:
            for kid in reversed(node):
                todo.append((kid, rows, depth + 1))
        rows += 1
    return ga, rows, nv


def _read_clean(el, srs: str | None, tol: float) -> Geometry | None:
    """``el`` read by :func:`pcrs.vector._geom_spec.read_at`, or None where it declines."""
    found = _records_of(el)
    if found is None:
        return None
    ga, rows, nv = found
    own = el.get("srsName")
    if own is not None:
        ga[A_SRS_S] = 0
        ga[A_SRS_E] = len(own)
    if el.get(_GML_ID) is not None:
        ga[A_ID] = 1
    gi = [0] * G_NCOLS
    gf = [0.0] * F_NCOLS
    parts = [0] * (2 * rows)
    pb = [0.0] * (2 * (len(nv) // 3) + 2)
    pbn = [0]
    room = 4 * len(nv) + 64
    while True:
        fv = [0.0] * room
        status, _npart, _k = read_at(0, ga, rows, nv, gi, gf, parts, fv, 0, 0, 0, tol, pb, pbn)
        if status != NO_ROOM or room > _MAX_VALUES:
            break
        room *= 16  # (arcs of many steps)
    if status < 0:
        return None
    return _geometry_of(gi, gf, parts, fv, pb, own or srs, el.sourceline or 0)


def _geometry_of(gi: list, b: list, parts: list, fv, pb, srs: str | None, line: int) -> Geometry:
    """The :class:`Geometry` of one row of the tables :mod:`pcrs.vector._geom_spec` fills.

    ``gi`` and ``b`` are its columns in the integer and float tables (lists), ``parts`` the
    flat list of vertex blocks ``(offset, count)`` in ``fv`` (a list or a float64 array),
    ``pb`` the problems table (x, y of each arc read straight), ``srs`` the effective
    srsName. The problems come in the general reader's order: the arcs, then the gml:id."""
    _row, role, d, _ss, _se, has_id, p0, npart, holes, pb0, npb = gi
    kind = _KIND_NAMES[role]
    problems: list[tuple] = (
        [
            (_ARC_COLLINEAR, _ARC_COLLINEAR_TEXT, float(pb[2 * i]), float(pb[2 * i + 1]))
            for i in range(pb0, pb0 + npb)
        ]
        if npb
        else []
    )
    if not has_id:
        problems.append(("no_gml_id", f"gml:{kind} without gml:id", None, None))
    bounds = (b[0], b[1], b[2], b[3])
    zrange = (b[6], b[7]) if d == 3 else None
    if role == R_POINT:
        o, n = parts[2 * p0], parts[2 * p0 + 1]
        vals = fv[o : o + n]
        spec: tuple[Any, ...] = ("Point", tuple(vals if vals.__class__ is list else vals.tolist()))
        return Geometry(
            spec, kind, srs, line, {d}, problems, 0, False, bounds, (b[4], b[5]), zrange
        )
    blocks = range(2 * p0, 2 * (p0 + npart), 2)
    if fv.__class__ is list:
        arrays = [np.array(fv[parts[j] : parts[j] + parts[j + 1]]).reshape(-1, d) for j in blocks]
    else:
        arrays = [fv[parts[j] : parts[j] + parts[j + 1]].reshape(-1, d).copy() for j in blocks]
    if role == R_POLYGON:
        spec = ("Polygon", arrays[0], arrays[1:])
    elif role == R_MULTICURVE:
        spec = ("MultiLineString", arrays)
    else:
        spec = ("LineString", arrays[0])
    return Geometry(
        spec, kind, srs, line, {d}, problems, holes, False, bounds, (b[4], b[5]), zrange
    )


def read_geometry(el, srs: str | None = None, tolerance: float = ARC_TOLERANCE) -> Geometry:
    """Read one GML geometry element into a :class:`Geometry` (never raises on bad content)."""
    if el.tag in _CLEAN_TAGS:
        clean = _read_clean(el, srs, tolerance)
        if clean is not None:
            return clean
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
    props: list = []
    feat = Feature(
        local, ns, el.get(_GML_ID), el.sourceline or 0, props, parent, pprop, member_line
    )
    out.append(feat)
    append = props.append
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


@dataclass(slots=True)
class EmpriseLinks:
    """Consecutive ``objet``/``habillage`` links of one EmpriseEchangePCRS, handed out
    together (the compiled reader gives a few thousand at a time instead of an object each;
    the validator turns a lone :class:`EmpriseLink` into a batch of one)."""

    lines: list[int]
    names: list[str]
    hrefs: list[str]
    emprise_id: str | None
    id_emprise: str | None

    @classmethod
    def of(cls, link: EmpriseLink) -> EmpriseLinks:
        """The batch of one link."""
        return cls([link.line], [link.name], [link.href], link.emprise_id, link.id_emprise)

    def split(self) -> list[EmpriseLink]:
        """The links one by one."""
        return [
            EmpriseLink(line, name, href, self.emprise_id, self.id_emprise)
            for line, name, href in zip(self.lines, self.names, self.hrefs, strict=True)
        ]

    def __len__(self) -> int:
        return len(self.lines)


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
        self._syntax: tuple[int | None, str] | bool | None = (
            None  # (the first syntax error of a parse without schema, once known)
        )

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
        emprise: tuple[Any, str | None, str | bool | None] = (None, None, None)
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
                            and (grand := parent.getparent()) is not None
                            and grand.tag in _MEMBER_TAGS
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
                            yield EmpriseLink(
                                el.sourceline or 0,
                                tag[len(NS_PCRS) + 2 :],
                                href,
                                emprise[1],
                                id_emprise if isinstance(id_emprise, str) else None,
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
            found: tuple[int | None, str] | bool = False
            try:
                for _ev, el in it:
                    parent = el.getparent()
                    el.clear()
                    if parent is not None:
                        parent.remove(el)
            except etree.XMLSyntaxError as exc:
                found = (getattr(exc, "lineno", None), getattr(exc, "msg", str(exc)))
            self._syntax = found
        return self._syntax if isinstance(self._syntax, tuple) else None
