"""A faster reader of well-formed PCRS GML: compiled kernels instead of lxml proxies.

:class:`~pcrs.vector.gml.GmlReader` builds every element of a file as an lxml proxy, and
visiting them costs more than libxml2's whole streaming schema validation. This reader
hands out the same :class:`~pcrs.vector.gml.Member` objects, and the emprise links in
batches (:class:`~pcrs.vector.gml.EmpriseLinks`), built another way, one window of the file
at a time:

1. :mod:`pcrs.vector._scan_kernels` cuts the bytes into one record per element (name,
   attributes, first text, line, parent);
2. :mod:`pcrs.vector._geom_kernels` reads the common geometries (points, lines, curves of
   straight segments and arcs, polygons, multi-curves) from the bytes: the functions of
   :mod:`pcrs.vector._geom_spec`, compiled, which :func:`~pcrs.vector.gml.read_geometry`
   runs as they are;
3. :mod:`pcrs.vector._feature_kernels` finds each feature's identifier and its properties'
   names, lines, texts, links and geometries;
4. Python decodes the texts and builds one :class:`~pcrs.vector.gml.Feature` per member, in
   its compact form (:attr:`~pcrs.vector.gml.Feature.compact`). A geometry the compiled
   reader declines (a defect, an unusual form) is read by
   :func:`~pcrs.vector.gml.read_geometry` from small :class:`_Node` trees.

Whatever the kernels do not interpret exactly as libxml2 would (comments, CDATA, entity or
character references, namespace declarations below the root, a member that is not one
``pcrs:featureMember`` holding one feature, an inline feature...) sends that one member to
lxml: its bytes are parsed with the root's start tag around them and read by
:class:`~pcrs.vector.gml.GmlReader`, lines shifted to the file's.

It is only correct on a **well-formed** document: :func:`pcrs.vector.validate` uses it
once libxml2 has parsed the file (that is the schema step, or a plain parse without
schema) and found no error; otherwise, and whenever this reader raises
:class:`FastReadUnavailable`, the file is read by :class:`~pcrs.vector.gml.GmlReader`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import numpy as np

from .._compiled import kernels_import
from ._records import (
    A_NCOLS,
    C_ATTR_E,
    C_ATTR_S,
    C_DEPTH,
    C_END,
    C_FLAGS,
    C_LINE,
    C_NAME,
    C_NS_E,
    C_NS_S,
    C_PARENT,
    C_START,
    C_TEXT_E,
    C_TEXT_S,
    CLOSED,
    F_NCOLS,
    FLAG_NSDECL,
    FLAG_ODD,
    FULL,
    G_NCOLS,
    G_SRS_E,
    G_SRS_S,
    K_EMPRISE,
    K_GML,
    K_ID_EMPRISE,
    K_LINK,
    K_MEMBER,
    K_ODD,
    K_OTHER,
    M_NCOLS,
    MAX_NAMES,
    MF_GEOMETRY,
    MF_HREF,
    MF_STRIP,
    MORE,
    NCOLS,
    P_FLAG,
    P_GEO,
    P_GLINE,
    P_HREF_E,
    P_HREF_S,
    P_KIDS,
    P_LINE,
    P_NAME,
    P_NCOLS,
    P_ROW,
    PF_NODES,
    PF_STRIP,
    R_MULTICURVE,
    R_POINT,
    R_POS,
    R_POSLIST,
    ROLES,
)
from .gml import (
    _EMPRISE_TAG,
    _G,
    _LINK_TAGS,
    _MEMBER_TAGS,
    ARC_TOLERANCE,
    EmpriseLink,
    EmpriseLinks,
    Feature,
    Geometry,
    GmlReader,
    Member,
    _geometry_of,
    _prop_tag,
    read_geometry,
)
from .model import GML_NS, NS_PCRS, XLINK_NS

__all__ = ["FastReadUnavailable", "have_fast_reader", "read_members"]

log = logging.getLogger(__name__)

#: bytes read from the file at a time (a window grows when one member is bigger)
BLOCK_BYTES = 4 << 20
#: element records converted to Python objects at a time
_BATCH_ROWS = 4096
_XML_NS = "http://www.w3.org/XML/1998/namespace"
_ATTR = re.compile(rb"""([^\s=]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_MEMBER = _MEMBER_TAGS[0]
_ID_EMPRISE = "{" + NS_PCRS + "}idEmprise"


class FastReadUnavailable(Exception):
    """This file (or a part of it) must be read by :class:`~pcrs.vector.gml.GmlReader`."""


class _Lxml(Exception):
    """This member must be read by lxml (a prefix the root does not declare)."""


@lru_cache(maxsize=1)
def have_fast_reader() -> bool:
    """Whether the compiled reader can run (numba installed and its kernels importing)."""
    return kernels_import("pcrs.vector._scan_kernels", "lxml alone")


class _Node:
    """The part of an lxml element's interface that :func:`~pcrs.vector.gml._read_feature`
    and the fast geometry readers use."""

    __slots__ = ("attrib", "children", "sourceline", "tag", "text")

    def __init__(self, tag, attrib, text, sourceline):
        self.tag = tag
        self.attrib = attrib
        self.children = []
        self.text = text
        self.sourceline = sourceline

    def __len__(self):
        return len(self.children)

    def __iter__(self):
        return iter(self.children)

    def __getitem__(self, i):
        return self.children[i]

    def get(self, key, default=None):
        a = self.attrib
        return default if a is None else a.get(key, default)

    def items(self):
        a = self.attrib
        return list(a.items()) if a else []


class _Names:
    """The names of a file: qualified names to lxml's ``{ns}local``, using the root's
    namespace declarations (the only ones this reader accepts), and what the reader needs
    to know of each element name, by its number in the scanner's table."""

    def __init__(self, root_attrs: bytes):
        self.prefixes: dict[bytes, str] = {b"xml": _XML_NS}
        self.default = ""
        for prefix, uri in _declarations(root_attrs, 0, len(root_attrs)):
            if prefix:
                self.prefixes[prefix] = uri
            else:
                self.default = uri
        self.attrs: dict[bytes, str] = {}
        # by name number: tag (None: unknown prefix), (ns, local, skipped), kind
        self.tag: list = []
        self.prop: list = []
        # the compiled geometry reader needs one prefix for GML (to find gml:id), and GML
        # not as the default namespace
        gml = [p for p, uri in self.prefixes.items() if uri == GML_NS]
        self.gml_prefix = gml[0] if len(gml) == 1 and self.default != GML_NS else None
        # likewise the compiled feature reader for xlink:href (no prefix declared: no link
        # can be written, and a prefix no name has stands for it)
        xlink = [p for p, uri in self.prefixes.items() if uri == XLINK_NS]
        self.xlink_prefix = (
            (xlink[0] if xlink else b"\x00")
            if len(xlink) <= 1 and self.default != XLINK_NS
            else None
        )
        self.roles: np.ndarray | None = None
        #: kinds and skipped flags by name number, for the compiled feature reader
        self.kinds = np.full(MAX_NAMES, K_ODD, np.int64)
        self.skipped = np.zeros(MAX_NAMES, np.uint8)
        #: property tags by sequence of property name numbers
        self.structures: dict = {}
        #: verdicts on the namespace declarations met below the root, by their bytes
        self.declarations: dict[bytes, bool] = {}

    def harmless(self, text: bytes) -> bool:
        """Whether the namespace declarations ``text`` (attributes of a start tag, from the
        first declaration's name to the last one's closing quote) leave every name as the
        root's declarations read it: each binds a prefix (or the default namespace) to what
        the root binds it to, or binds a prefix the root leaves unbound (a name using it has
        no tag here, and its member goes to lxml anyway)."""
        verdict = self.declarations.get(text)
        if verdict is None:
            verdict = True
            for prefix, uri in _declarations(text, 0, len(text)):
                if not prefix:
                    same = uri == self.default
                else:
                    bound = self.prefixes.get(prefix)
                    same = bound is None or bound == uri
                if not same:
                    verdict = False
                    break
            if len(self.declarations) > 4096:
                self.declarations.clear()
            self.declarations[text] = verdict
        return verdict

    def qualify(self, qname: bytes, attribute: bool = False) -> str | None:
        prefix, sep, local = qname.rpartition(b":")
        if sep:
            uri = self.prefixes.get(prefix)
            if uri is None:
                return None
        else:
            uri = "" if attribute else self.default  # unprefixed attributes: no namespace
        name = local.decode("utf-8")
        return "{" + uri + "}" + name if uri else name

    def learn(self, spans: np.ndarray, names: np.ndarray, count: int) -> None:
        """Take in the names the scanner met since the last call."""
        for i in range(len(self.tag), count):
            tag = self.qualify(names[spans[i, 0] : spans[i, 1]].tobytes())
            self.tag.append(tag)
            if tag is None:
                self.prop.append(None)
                continue
            hit = _prop_tag(tag)
            self.prop.append(hit)
            kind = _KINDS.get(tag, K_GML if tag.startswith(_G) else K_OTHER)
            self.kinds[i] = kind
            self.skipped[i] = hit[2]
            if self.roles is not None and tag.startswith(_G):
                self.roles[i] = ROLES.get(tag[len(_G) :], 0)

    def attrib(self, data: bytes, s: int, e: int) -> dict:
        attrib = {}
        known = self.attrs
        for qn, v1, v2 in _ATTR.findall(data, s, e):
            key = known.get(qn)
            if key is None:
                if qn == b"xmlns" or qn.startswith(b"xmlns:"):
                    continue  # (a declaration, not an attribute: lxml hides them too)
                key = self.qualify(qn, attribute=True)
                if key is None:
                    raise _Lxml
                known[qn] = key
            attrib[key] = (v1 if v1 or not v2 else v2).decode("utf-8")
        return attrib


# what the reader needs to know of an element name
_KINDS = {
    _MEMBER: K_MEMBER,
    _EMPRISE_TAG: K_EMPRISE,
    _LINK_TAGS[0]: K_LINK,
    _LINK_TAGS[1]: K_LINK,
    _ID_EMPRISE: K_ID_EMPRISE,
}


def read_members(path: str | Path, tolerance: float = ARC_TOLERANCE) -> Iterator:
    """Yield the members of a well-formed PCRS GML file, as ``GmlReader.members()`` does.

    Parameters
    ----------
    path : path-like
        The file; it must be well-formed XML (checked by libxml2 before).
    tolerance : float
        Arc linearisation tolerance (m).

    Yields
    ------
    Member, EmpriseLinks or EmpriseLink
        The same objects, in the same order, as
        :meth:`pcrs.vector.gml.GmlReader.members` with its defaults, features in compact
        form, except that consecutive emprise links come in batches
        (:class:`~pcrs.vector.gml.EmpriseLinks`, whose ``split()`` gives them one by one);
        a member sent to lxml still gives its links one by one. From line 65,535 on, the lines are the true ones, where libxml2 gives lxml
        approximations.

    Raises
    ------
    FastReadUnavailable
        When the file needs lxml as a whole (a DTD, an encoding other than UTF-8, GML or
        XLink bound to several prefixes or as the default namespace, elements nested more
        than 250 deep, thousands of distinct element names): what was yielded before must
        be discarded.
    """
    from ._scan_kernels import new_names, scan

    path = Path(path)
    out = np.empty((1 << 16, NCOLS), np.int64)
    root = np.full(4, -1, np.int64)
    table = new_names()
    with open(path, "rb") as fh:
        data = fh.read(BLOCK_BYTES)
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise FastReadUnavailable("UTF-16")
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]  # (offsets then count from after the BOM; lines do not change)
        if data.startswith(b"<?xml"):
            end = data.find(b"?>")
            if end < 0:
                raise FastReadUnavailable("an XML declaration that does not end")
            m = re.search(rb"""encoding\s*=\s*["']([^"']*)["']""", data[:end])
            if m is not None and m.group(1).lower() not in (b"utf-8", b"us-ascii", b"ascii"):
                raise FastReadUnavailable("an encoding other than UTF-8")
        pos, line, depth = 0, 1, 0
        names = wrapper = geo = None
        eof = False
        while True:
            arr = np.frombuffer(data, np.uint8)
            status, rows, stop, stop_line = scan(arr, pos, line, depth, out, root, *table)
            if status < 0:
                raise FastReadUnavailable("a construct the compiled scanner does not read")
            if depth == 0 and root[1] >= 0:
                depth = 1
                names = _Names(data[root[2] : root[3]])
                if names.gml_prefix is None or names.xlink_prefix is None:
                    raise FastReadUnavailable(
                        "GML or XLink bound to several prefixes, or as the default namespace"
                    )
                geo = _GeometryReader(names, tolerance)
                qname = data[root[0] : root[1]]
                attrs = re.sub(rb"[\t\r\n]", b" ", data[root[2] : root[3]])
                wrapper = (b"<" + qname + b" " + attrs + b">", b"</" + qname + b">")
            if rows:
                assert names is not None and geo is not None  # (the root comes first)
                names.learn(table[1], table[2], int(table[3][0]))
                _judge_declarations(data, out, rows, names)
                geoms = geo.read(data, arr, out, rows)
                yield from _members(data, arr, out, rows, names, wrapper, tolerance, geoms)
            if status == CLOSED:
                return
            if status == FULL:
                if rows == 0:  # one member has more elements than rows: more rows
                    out = np.empty((out.shape[0] * 2, NCOLS), np.int64)
                pos, line = stop, stop_line
                continue
            assert status == MORE
            if eof:
                raise FastReadUnavailable("the file ends before its root element is closed")
            # (a member bigger than the window: the window doubles, so that it is scanned
            # a bounded number of times)
            more = fh.read(BLOCK_BYTES if rows else max(BLOCK_BYTES, len(data)))
            if not more:
                eof = True
            data = data[stop:] + more
            pos, line = 0, stop_line


def _judge_declarations(data: bytes, out: np.ndarray, rows: int, names: _Names) -> None:
    """Send to lxml (``FLAG_ODD``) the members among ``out[:rows]`` with a namespace
    declaration that changes what a name means (:meth:`_Names.harmless`); the others,
    which repeat or add declarations as real deliveries do on every member, stay here."""
    flags = out[:rows, C_FLAGS]
    rows_with = np.flatnonzero((flags & FLAG_NSDECL) != 0)
    if not len(rows_with):
        return
    members = np.flatnonzero(out[:rows, C_DEPTH] == 1)
    owner = members[np.searchsorted(members, rows_with, side="right") - 1]
    harmless = names.harmless
    for m, s, e in zip(
        owner.tolist(),
        out[rows_with, C_NS_S].tolist(),
        out[rows_with, C_NS_E].tolist(),
        strict=True,
    ):
        if not harmless(data[s:e]):
            out[m, C_FLAGS] |= FLAG_ODD


def _declarations(data: bytes, s: int, e: int) -> tuple[tuple[bytes, str], ...]:
    """The namespace declarations among the attributes ``data[s:e]`` of a start tag, as
    ``(prefix, uri)`` (prefix ``b""`` for the default namespace), in order. The
    attributes are read one after the other (a value may hold "xmlns" and quotes of the
    other kind), as a well-formed start tag has them."""
    found = []
    for qn, v1, v2 in _ATTR.findall(data, s, e):
        if qn == b"xmlns" or qn.startswith(b"xmlns:"):
            found.append((qn[6:], (v1 if v1 or not v2 else v2).decode("utf-8")))
    return tuple(found)


def _members(data, arr, out, rows, names, wrapper, tolerance, geoms):
    """Members and emprise links of the ``rows`` complete element records of ``data``.

    The features are read by :mod:`pcrs.vector._feature_kernels` (Python only decodes the
    values and builds the objects); a member it cannot read goes to lxml."""
    from ._feature_kernels import features

    # tables sized by what the records hold: a row per member, per property (and link)
    depth = out[:rows, C_DEPTH]
    n_members = int(np.count_nonzero(depth == 1))
    n_props = int(np.count_nonzero(depth == 3))
    mt = np.empty((n_members, M_NCOLS), np.int64)
    pt = np.empty((n_props, P_NCOLS), np.int64)
    lt = np.empty((n_props, 4), np.int64)
    tb = np.empty(len(data) + n_props + 1, np.uint8)
    nm, npr, _n_links, nt = features(
        arr, out, rows, names.kinds, names.skipped, geoms.row_geo,
        geoms.prefix, np.frombuffer(names.xlink_prefix, np.uint8), _ID_NAME, _HREF_NAME,
        mt, pt, lt, tb,
    )  # fmt: skip
    # every property's text, decoded at once (one per property, in order)
    all_texts: list[str | None] = list(tb[:nt].tobytes().decode("utf-8").split("\x00"))
    p_name, p_line, p_hs, p_he, p_kids, p_flag, p_geo, p_gline = (
        pt[:npr, [P_NAME, P_LINE, P_HREF_S, P_HREF_E, P_KIDS, P_FLAG, P_GEO, P_GLINE]]
        .T.tolist()
    )  # fmt: skip
    tag_of = names.tag
    prop_of = names.prop
    structures = names.structures
    geometry = geoms.geometry
    nones = _NONES
    for row, frow, gs, ge, hs, he, p0, p1, l0, l1, ides, idee, mline, fline, fname, mflags in mt[
        :nm
    ].tolist():
        if frow < 0:
            yield from _lxml_member(data, out, row, wrapper, tolerance)
            continue
        key = tuple(p_name[p0:p1])
        tags = structures.get(key)
        if tags is None:
            if len(structures) > 4096:
                structures.clear()
            tags = structures[key] = tuple(tag_of[n] for n in key)
        texts = all_texts[p0:p1]
        if mflags & MF_STRIP:
            for i in range(p0, p1):
                if p_flag[i] == PF_STRIP:
                    texts[i - p0] = _eol(texts[i - p0]).strip()
        n = p1 - p0
        if mflags & MF_HREF:
            hrefs = tuple([data[s:e].decode("utf-8") if s >= 0 else None
                           for s, e in zip(p_hs[p0:p1], p_he[p0:p1], strict=True)])  # fmt: skip
            for i, h in enumerate(hrefs):
                if h is not None:
                    texts[i] = None  # (a link has no text)
        else:
            hrefs = nones[n] if n < len(nones) else (None,) * n
        geos: tuple | list = ()
        if mflags & MF_GEOMETRY:
            geos = []
            try:
                for i in range(p0, p1):
                    if p_kids[i]:
                        texts[i - p0] = None  # (nor has an element with children)
                        if p_flag[i] == PF_NODES:
                            g = read_geometry(
                                _geometry_nodes(data, out, rows, int(pt[i, P_ROW]), names),
                                None,
                                tolerance,
                            )
                        else:
                            g = geometry(p_geo[i], p_gline[i])
                        geos.append((i - p0, g))
            except _Lxml:  # (a name in the geometry whose prefix lxml must judge)
                yield from _lxml_member(data, out, row, wrapper, tolerance)
                continue
            geos = tuple(geos)
        gid = data[gs:ge].decode("utf-8") if gs >= 0 else None
        ns, local, _skipped = prop_of[fname]
        feat = Feature(local, ns, gid, fline, None, None, None, mline)
        feat.prop_tags = tags
        feat.compact = (texts, hrefs, p_kids[p0:p1], p_line[p0:p1], geos)
        if l1 > l0:
            id_emprise = _text(data, ides, idee) if ides >= 0 else None
            for b0 in range(l0, l1, _BATCH_ROWS):  # (an emprise may have 100,000s)
                lines, nids, starts, ends = lt[b0 : min(l1, b0 + _BATCH_ROWS)].T.tolist()
                yield EmpriseLinks(
                    lines,
                    [prop_of[nid][1] for nid in nids],
                    [data[s:e].decode("utf-8") for s, e in zip(starts, ends, strict=True)],
                    gid,
                    id_emprise,
                )
        yield Member(mline, "pcrs:featureMember", [feat],
                     data[hs:he].decode("utf-8") if hs >= 0 else None, 1)  # fmt: skip


def _geometry_nodes(data: bytes, out: np.ndarray, rows: int, prop_row: int, names: _Names) -> _Node:
    """:class:`_Node` tree of the first child of the property at record ``prop_row``."""
    start = prop_row + 1
    end = start + 1
    depth = out[start, C_DEPTH]
    while end < rows and out[end, C_DEPTH] > depth:
        end += 1
    nodes: list = []
    for r, (nid, as_, ae_, line, ts, te, par) in enumerate(
        out[start:end][:, [C_NAME, C_ATTR_S, C_ATTR_E, C_LINE, C_TEXT_S, C_TEXT_E, C_PARENT]]
        .tolist()
    ):  # fmt: skip
        tag = names.tag[nid]
        if tag is None:
            raise _Lxml
        node = _Node(
            tag,
            names.attrib(data, as_, ae_) if ae_ > as_ else None,
            _text(data, ts, te) if ts >= 0 else None,
            line,
        )
        nodes.append(node)
        if r:
            nodes[par - start].children.append(node)
    return nodes[0]


def _lxml_member(data: bytes, out: np.ndarray, row: int, wrapper, tolerance) -> Iterator:
    """The member at record ``row``, read by lxml (see :func:`_with_lxml`)."""
    start, end = int(out[row, C_START]), int(out[row, C_END])
    # the line of the member's '<': its record has the line of the start tag's '>'
    gt = data.index(b">", int(out[row, C_ATTR_E]))
    first_line = int(out[row, C_LINE]) - data.count(b"\n", start, gt)
    yield from _with_lxml(data[start:end], first_line, wrapper, tolerance)


_NONES = tuple((None,) * n for n in range(64))
_ID_NAME = np.frombuffer(b"id", np.uint8)
_HREF_NAME = np.frombuffer(b"href", np.uint8)


class _GeometryReader:
    """The compiled reader of the common clean geometries (:mod:`pcrs.vector._geom_spec`,
    compiled by :mod:`pcrs.vector._geom_kernels`) for one file, and the
    :class:`~pcrs.vector.gml.Geometry` objects it gives."""

    def __init__(self, names: _Names, tolerance: float):
        self.names = names
        self.tolerance = tolerance
        roles = np.zeros(MAX_NAMES, np.int64)
        for i, tag in enumerate(names.tag):
            if tag is not None and tag.startswith(_G):
                roles[i] = ROLES.get(tag[len(_G) :], 0)
        names.roles = self.roles = roles
        assert names.gml_prefix is not None  # (checked by the caller)
        self.prefix = np.frombuffer(names.gml_prefix, np.uint8)
        self.attr_names = tuple(
            np.frombuffer(n, np.uint8) for n in (b"srsName", b"srsDimension", b"id")
        )

    def read(self, data: bytes, arr: np.ndarray, out: np.ndarray, rows: int) -> _GeometryReader:
        from ._geom_kernels import geometries, prepare

        # tables sized by what the records hold (a geometry per candidate element, a part
        # and at most (length + 1) / 2 numbers per pos/posList text)
        role = self.roles[out[:rows, C_NAME]]
        candidates = int(
            np.count_nonzero(
                (out[:rows, C_DEPTH] == 4) & (role >= R_POINT) & (role <= R_MULTICURVE)
            )
        )
        numeric = ((role == R_POS) | (role == R_POSLIST)) & (out[:rows, C_TEXT_S] >= 0)
        lengths = out[:rows, C_TEXT_E][numeric] - out[:rows, C_TEXT_S][numeric]
        n_numbers = int((lengths // 2 + 1).sum())
        ga = np.empty(rows * A_NCOLS, np.int64)
        nv = np.empty(n_numbers, np.float64)
        gi = np.empty(candidates * G_NCOLS, np.int64)
        gf = np.empty(candidates * F_NCOLS, np.float64)
        parts = np.empty(2 * int(numeric.sum()), np.int64)
        # (and room for the points of linearised arcs: a geometry that would not fit is
        # read in Python)
        self.fv = fv = np.empty(n_numbers * 4 + 4096, np.float64)
        # (a problem row per arc read straight: at most one per three numbers)
        self.pb = pb = np.empty(2 * (n_numbers // 3) + 2, np.float64)
        pbn = np.zeros(1, np.int64)
        prepare(arr, out, rows, self.names.roles, self.prefix, *self.attr_names, ga, nv)
        self.row_geo, n = geometries(ga, rows, nv, gi, gf, parts, fv, self.tolerance, pb, pbn)
        self.gi = gi[: n * G_NCOLS].reshape(n, G_NCOLS).tolist()
        self.gf = gf[: n * F_NCOLS].reshape(n, F_NCOLS).tolist()
        self.parts = parts.tolist() if n else []  # (the unused rows too: they are few)
        self.data = data
        return self

    def geometry(self, g: int, line: int) -> Geometry:
        gi = self.gi[g]
        ss, se = gi[G_SRS_S], gi[G_SRS_E]
        srs = self.data[ss:se].decode("utf-8") if se > ss >= 0 else None
        return _geometry_of(gi, self.gf[g], self.parts, self.fv, self.pb, srs, line)


def _text(data: bytes, s: int, e: int) -> str:
    text = data[s:e].decode("utf-8")
    return text if "\r" not in text else _eol(text)


def _eol(text: str) -> str:
    """XML end-of-line handling: CR LF and lone CR become LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _with_lxml(member: bytes, first_line: int, wrapper, tolerance) -> Iterator:
    """One member read by :class:`~pcrs.vector.gml.GmlReader`, its lines the file's.

    ``member`` is parsed inside a copy of the root's start tag, on one line, so that its
    lines are the file's minus ``first_line - 1``."""
    shift = first_line - 1
    frag = wrapper[0] + member + wrapper[1]
    reader = GmlReader("<member>", tolerance, source=frag)
    for m in reader.members():
        _shift_lines(m, shift)
        yield m
    if reader.error is not None:
        raise FastReadUnavailable(f"a member lxml cannot read alone: {reader.error}")


def _shift_lines(m, shift: int) -> None:
    """Add ``shift`` to every line number of a member (or emprise link) and its contents."""
    m.line += shift
    if isinstance(m, EmpriseLink):
        return
    for f in m.features:
        f.line += shift
        f.member_line += shift
        for p in f.materialise():
            p.line += shift
            if p.geometry is not None:
                p.geometry.line += shift
