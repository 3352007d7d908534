"""Compiled (numba) reading of the features of scanned members, property by property.

The third stage of :mod:`pcrs.vector.fastread`, after :mod:`pcrs.vector._scan_kernels` and
:mod:`pcrs.vector._geom_kernels`: for each member that is one ``pcrs:featureMember`` holding
one feature, :func:`features` finds what :func:`pcrs.vector.gml._read_feature` would read
(the feature's ``gml:id``, then per property its name, line, text without the surrounding
blanks, ``xlink:href``, number of children and geometry) and the emprise links
:class:`~pcrs.vector.gml.GmlReader` hands out on their own, as spans of the file's bytes, so
that Python only decodes them. Whatever it does not settle exactly is marked: a text to
strip in Python (non-ASCII or a carriage return at its ends), a geometry for the Python
readers (see ``M_*``/``P_*`` below), or the whole member for lxml.
"""

from __future__ import annotations

from numba import njit

from ._geom_kernels import _attr
from ._records import (
    C_ATTR_E,
    C_ATTR_S,
    C_DEPTH,
    C_FLAGS,
    C_LINE,
    C_NAME,
    C_NCHILD,
    C_TEXT_E,
    C_TEXT_S,
    FLAG_ODD,
    K_EMPRISE,
    K_GML,
    K_ID_EMPRISE,
    K_LINK,
    K_MEMBER,
    K_ODD,
    M_FEATURE,
    M_FLAGS,
    M_FLINE,
    M_FNAME,
    M_GID_E,
    M_GID_S,
    M_HREF_E,
    M_HREF_S,
    M_IDE_E,
    M_IDE_S,
    M_L0,
    M_L1,
    M_LINE,
    M_P0,
    M_P1,
    M_ROW,
    MF_GEOMETRY,
    MF_HREF,
    MF_STRIP,
    P_FLAG,
    P_GEO,
    P_GLINE,
    P_HREF_E,
    P_HREF_S,
    P_KIDS,
    P_LINE,
    P_NAME,
    P_ROW,
    P_TEXT_E,
    P_TEXT_S,
    PF_NODES,
    PF_STRIP,
)


@njit(cache=True, inline="always")
def _blank(b):
    return b == 32 or b == 10 or b == 9 or b == 13 or b == 11 or b == 12


@njit(cache=True)
def features(
    buf, out, rows, kinds, skipped, row_geo, gml_prefix, xlink_prefix, id_name, href_name,
    members, props, links, texts,
):  # fmt: skip
    """Members, properties and emprise links of ``out[:rows]`` as tables of spans.

    Parameters
    ----------
    buf : uint8 array
    out : int64 array
        Element records (:mod:`pcrs.vector._scan_kernels`).
    rows : int
    kinds : int64 array
        ``K_*`` kind of each element name number.
    skipped : uint8 array
        1 for the GML properties a feature reader skips (``gml:boundedBy``...).
    row_geo : int64 array
        Geometry number of each record read by :mod:`pcrs.vector._geom_kernels`, or -1.
    gml_prefix, xlink_prefix, id_name, href_name : uint8 arrays
    members, props, links : int64 arrays (k, M_NCOLS), (k, P_NCOLS), (k, 4)
        Filled (rows enough for the members, and for the properties, of ``out[:rows]``).
    texts : uint8 array
        Filled with the text of each property of ``props``, in order, each followed by a
        NUL byte (which XML text cannot hold): Python decodes them all at once. A link or
        an element with children gets an empty text (None for Python); a text marked
        ``PF_STRIP`` is written as it is in the file. At least ``len(buf)`` plus one byte
        per property long.

    Returns
    -------
    (n_members, n_props, n_links, n_text_bytes)
        ``members[:n_members]`` (``M_*`` columns; ``M_FEATURE`` is -1 for a member lxml
        must read), ``props[:n_props]`` (``P_*`` columns, rows ``M_P0:M_P1`` of each
        member) and ``links[:n_links]`` (line, name number, href start, href end).
    """
    nm = 0
    npr = 0
    nl = 0
    nt = 0
    r = 0
    while r < rows:
        # one member: rows r .. end-1
        end = r + 1
        while end < rows and out[end, C_DEPTH] > 1:
            end += 1
        m = nm
        nm += 1
        members[m, M_ROW] = r
        members[m, M_FEATURE] = -1
        members[m, M_P0] = npr
        members[m, M_P1] = npr
        members[m, M_L0] = nl
        members[m, M_L1] = nl
        members[m, M_LINE] = out[r, C_LINE]
        members[m, M_FLAGS] = 0
        ok = (
            (out[r, C_FLAGS] & FLAG_ODD) == 0
            and kinds[out[r, C_NAME]] == K_MEMBER
            and out[r, C_NCHILD] == 1
            and kinds[out[r + 1, C_NAME]] != K_ODD
        )
        if ok:
            f = r + 1
            hs, he = _attr(buf, out[r, C_ATTR_S], out[r, C_ATTR_E], href_name, xlink_prefix)
            members[m, M_HREF_S] = hs
            members[m, M_HREF_E] = he
            gs, ge = _attr(buf, out[f, C_ATTR_S], out[f, C_ATTR_E], id_name, gml_prefix)
            members[m, M_GID_S] = gs
            members[m, M_GID_E] = ge
            members[m, M_IDE_S] = -2  # no idEmprise before the links
            members[m, M_IDE_E] = -2
            members[m, M_FLINE] = out[f, C_LINE]
            members[m, M_FNAME] = out[f, C_NAME]
            mflags = 0
            emprise = kinds[out[f, C_NAME]] == K_EMPRISE
            p0 = npr
            l0 = nl
            t0 = nt
            c = f + 1
            while c < end:
                # c: a property (depth 3)
                nxt = c + 1
                while nxt < end and out[nxt, C_DEPTH] > 3:
                    nxt += 1
                nid = out[c, C_NAME]
                kind = kinds[nid]
                if kind == K_ODD:
                    ok = False
                    break
                if skipped[nid]:
                    c = nxt
                    continue
                hs, he = _attr(buf, out[c, C_ATTR_S], out[c, C_ATTR_E], href_name, xlink_prefix)
                nch = out[c, C_NCHILD]
                if emprise:
                    if kind == K_LINK and nch == 0 and hs >= 0:
                        links[nl, 0] = out[c, C_LINE]
                        links[nl, 1] = nid
                        links[nl, 2] = hs
                        links[nl, 3] = he
                        nl += 1
                        c = nxt
                        continue
                    if kind == K_ID_EMPRISE and members[m, M_IDE_S] == -2 and nl == l0:
                        # the idEmprise written before the first link: its text as it is
                        if out[c, C_TEXT_S] >= 0:
                            members[m, M_IDE_S] = out[c, C_TEXT_S]
                            members[m, M_IDE_E] = out[c, C_TEXT_E]
                        else:
                            members[m, M_IDE_S] = 0
                            members[m, M_IDE_E] = 0
                p = npr
                npr += 1
                props[p, P_ROW] = c
                props[p, P_NAME] = nid
                props[p, P_LINE] = out[c, C_LINE]
                props[p, P_HREF_S] = hs
                props[p, P_HREF_E] = he
                props[p, P_KIDS] = nch
                props[p, P_FLAG] = 0
                props[p, P_GEO] = -1
                props[p, P_TEXT_S] = -1  # None (a link, or an element with children)
                props[p, P_TEXT_E] = -1
                props[p, P_GLINE] = 0
                if hs >= 0:
                    mflags |= MF_HREF
                if nch == 0:
                    if hs < 0:
                        ts = out[c, C_TEXT_S]
                        te = out[c, C_TEXT_E]
                        if ts < 0:
                            ts = 0  # no text: ""
                            te = 0
                        else:
                            while ts < te and _blank(buf[ts]):
                                ts += 1
                            while te > ts and _blank(buf[te - 1]):
                                te -= 1
                            # Python strips more than ASCII blanks, and turns CR into LF
                            if te > ts and (buf[ts] >= 128 or buf[te - 1] >= 128):
                                props[p, P_FLAG] = PF_STRIP
                                mflags |= MF_STRIP
                                ts = out[c, C_TEXT_S]
                                te = out[c, C_TEXT_E]
                            else:
                                for q in range(ts, te):
                                    if buf[q] == 13:
                                        props[p, P_FLAG] = PF_STRIP
                                        mflags |= MF_STRIP
                                        ts = out[c, C_TEXT_S]
                                        te = out[c, C_TEXT_E]
                                        break
                        props[p, P_TEXT_S] = ts
                        props[p, P_TEXT_E] = te
                        for q in range(ts, te):
                            texts[nt] = buf[q]
                            nt += 1
                    texts[nt] = 0
                    nt += 1
                else:
                    texts[nt] = 0
                    nt += 1
                    g = c + 1  # the first child: a geometry (else an inline feature: lxml)
                    if kinds[out[g, C_NAME]] != K_GML:
                        ok = False
                        break
                    props[p, P_GEO] = row_geo[g]
                    props[p, P_GLINE] = out[g, C_LINE]
                    mflags |= MF_GEOMETRY
                    if row_geo[g] < 0:
                        props[p, P_FLAG] = PF_NODES
                c = nxt
            if ok:
                members[m, M_FEATURE] = f
                members[m, M_P1] = npr
                members[m, M_L1] = nl
                members[m, M_FLAGS] = mflags
            else:
                npr = p0
                nl = l0
                nt = t0
        r = end
    return nm, npr, nl, nt
