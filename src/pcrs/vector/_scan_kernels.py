"""Compiled (numba) scanner of a GML file's bytes into one record per element.

This is the front end of :mod:`pcrs.vector.fastread`. It does not check that the XML is
well-formed (libxml2 does, in the pass that decides whether these records are used); it
only cuts well-formed input into elements, quickly, and flags every member that holds a
construct it does not interpret (comments, processing instructions, CDATA, entity or
character references, white space other than a blank inside attribute values, characters
other than white space between elements). A flagged member is read again by lxml, so the
records never have to reproduce those parts of XML. Namespace declarations below the root
are only marked (``FLAG_NSDECL``): Python judges them (:mod:`pcrs.vector.fastread`).

One row of ``out`` per element below the root (the root itself is described by ``root``):
the columns are named by the ``C_*`` constants of :mod:`pcrs.vector._records`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._records import (
    C_ATTR_E,
    C_ATTR_S,
    C_DEPTH,
    C_END,
    C_FLAGS,
    C_LINE,
    C_NAME,
    C_NAME_E,
    C_NAME_S,
    C_NCHILD,
    C_NS_E,
    C_NS_S,
    C_PARENT,
    C_START,
    C_TEXT_E,
    C_TEXT_S,
    CLOSED,
    FLAG_NSDECL,
    FLAG_ODD,
    FULL,
    MALFORMED,
    MAX_NAMES,
    MORE,
    NAME_BYTES,
    NAME_SLOTS,
    UNSUPPORTED,
)

_MAX_DEPTH = 256


def new_names():
    """An empty table of element names for :func:`scan`: ``(slots, spans, bytes, counts)``."""
    return (
        np.full(NAME_SLOTS, -1, np.int64),
        np.zeros((MAX_NAMES, 2), np.int64),
        np.zeros(NAME_BYTES, np.uint8),
        np.zeros(2, np.int64),
    )


@njit(cache=True)
def _intern(buf, s, e, slots, spans, names, counts):
    """The number of the name ``buf[s:e]`` in the table (added if new), -1 when full."""
    # (32-bit FNV-1a in int64: no overflow, compiled or run as plain Python)
    h = 2166136261
    for p in range(s, e):
        h = ((h ^ int(buf[p])) * 16777619) & 0xFFFFFFFF
    mask = slots.shape[0] - 1
    slot = h & mask
    size = e - s
    while True:
        nid = slots[slot]
        if nid < 0:
            k = counts[0]
            off = counts[1]
            if k >= spans.shape[0] or off + size > names.shape[0]:
                return -1
            for q in range(size):
                names[off + q] = buf[s + q]
            spans[k, 0] = off
            spans[k, 1] = off + size
            counts[0] = k + 1
            counts[1] = off + size
            slots[slot] = k
            return k
        a = spans[nid, 0]
        if spans[nid, 1] - a == size:
            same = True
            for q in range(size):
                if names[a + q] != buf[s + q]:
                    same = False
                    break
            if same:
                return nid
        slot = (slot + 1) & mask


@njit(cache=True, inline="always")
def _is_space(b):
    return b == 32 or b == 10 or b == 9 or b == 13


@njit(cache=True)
def _find(buf, i, a, b, c):
    """First offset >= i where buf holds the 1-3 bytes a, b, c (b, c < 0: unused), or -1."""
    n = len(buf)
    while i < n:
        if buf[i] == a:
            if b < 0:
                return i
            if i + 1 < n and buf[i + 1] == b:
                if c < 0:
                    return i
                if i + 2 < n and buf[i + 2] == c:
                    return i
        i += 1
    return -1


@njit(cache=True)
def _count_newlines(buf, i, j):
    k = 0
    for p in range(i, j):
        if buf[p] == 10:
            k += 1
    return k


@njit(cache=True)
def scan(buf, pos, line, depth_in, out, root, slots, spans, names, counts):
    """Cut ``buf[pos:]`` into element records.

    Parameters
    ----------
    buf : uint8 array
        Bytes of the file (a window of it, starting at a member boundary).
    pos : int
        Where to start in ``buf``.
    line : int
        Line number (1-based) at ``pos``.
    depth_in : int
        0 at the start of the file (prolog and root start tag to read), 1 between members.
    out : int64 array (rows, NCOLS)
        Filled with one row per element, members complete.
    root : int64 array (4,)
        Filled, when ``depth_in`` is 0, with the root's name and attribute spans.
    slots, spans, names, counts
        The file's table of element names (:func:`new_names`), kept from call to call:
        ``names[spans[i, 0]:spans[i, 1]]`` is name number ``i``; ``counts[0]`` names.

    Returns
    -------
    (status, rows, stop, stop_line)
        ``rows`` rows of ``out`` are complete members; ``stop`` is the offset after the
        last of them (where to resume) and ``stop_line`` the line there.
    """
    n = len(buf)
    cap = out.shape[0]
    stack = np.empty(_MAX_DEPTH, np.int64)
    i = pos
    depth = depth_in
    k = 0
    member = -1
    last_i = pos
    last_line = line
    last_k = 0
    while i < n:
        c = buf[i]
        if c != 60:  # text outside a start tag's first text: tail or between members
            j = _find(buf, i, 60, -1, -1)
            if j < 0:
                j = n
            blank = True
            for p in range(i, j):
                b = buf[p]
                if b == 10:
                    line += 1
                elif not (b == 32 or b == 9 or b == 13):
                    blank = False
            if not blank:
                if depth == 0:
                    return MALFORMED, last_k, last_i, last_line
                if depth >= 2:
                    out[member, C_FLAGS] |= FLAG_ODD
            if j == n:
                break
            i = j
            if depth == 1:
                last_i = i
                last_line = line
            continue
        if i + 1 >= n:
            break
        c1 = buf[i + 1]
        if c1 == 47:  # '/': an end tag
            j = _find(buf, i + 2, 62, -1, -1)
            if j < 0:
                break
            line += _count_newlines(buf, i, j)
            i = j + 1
            if depth <= 1:
                if depth == 0:
                    return MALFORMED, last_k, last_i, last_line
                return CLOSED, k, i, line
            depth -= 1
            out[stack[depth], C_END] = i
            if depth == 1:
                last_i = i
                last_line = line
                last_k = k
            continue
        if c1 == 33 or c1 == 63:  # '!' or '?': comment, CDATA, DOCTYPE, processing instruction
            if c1 == 63:
                j = _find(buf, i + 2, 63, 62, -1)
                skip = 2
            elif i + 3 < n and buf[i + 2] == 45 and buf[i + 3] == 45:
                j = _find(buf, i + 4, 45, 45, 62)
                skip = 3
            elif i + 2 < n and buf[i + 2] == 91:  # '<![': CDATA
                if depth < 2:
                    return MALFORMED, last_k, last_i, last_line
                j = _find(buf, i + 3, 93, 93, 62)
                skip = 3
            elif i + 2 >= n:
                break
            else:  # <!DOCTYPE ...> or another declaration
                return UNSUPPORTED, last_k, last_i, last_line
            if j < 0:
                break
            line += _count_newlines(buf, i, j)
            if depth >= 2:
                out[member, C_FLAGS] |= FLAG_ODD
            i = j + skip
            if depth == 1:
                last_i = i
                last_line = line
            continue
        # a start tag
        name_s = i + 1
        j = name_s
        while j < n:
            b = buf[j]
            if _is_space(b) or b == 47 or b == 62:
                break
            j += 1
        if j >= n:
            break
        name_e = j
        attr_s = j
        quote = 0
        odd = False
        newlines = 0
        # namespace declarations: the span from the first one's name to the last one's
        # closing quote (an attribute name follows white space; "xmlns" in a value is not one)
        ns_s = -1
        ns_e = -1
        in_decl = False
        while j < n:
            b = buf[j]
            if quote != 0:
                if b == quote:
                    quote = 0
                    if in_decl:
                        ns_e = j + 1
                        in_decl = False
                elif b == 38 or b == 9 or b == 13 or b == 10 or b == 60:  # & \t \r \n <
                    odd = True
                    if b == 10:
                        newlines += 1
            elif b == 34 or b == 39:
                quote = b
            elif b == 62:
                break
            elif b == 10:
                newlines += 1
            elif (
                b == 120  # 'x' starting an attribute name: "xmlns", then '=', ':' or a blank
                and _is_space(buf[j - 1])
                and j + 5 < n
                and buf[j + 1] == 109
                and buf[j + 2] == 108
                and buf[j + 3] == 110
                and buf[j + 4] == 115
                and (buf[j + 5] == 61 or buf[j + 5] == 58 or _is_space(buf[j + 5]))
            ):
                in_decl = True
                if ns_s < 0:
                    ns_s = j
            j += 1
        if j >= n:
            break
        if in_decl:  # (a declaration without its value: not XML; lxml says what it is)
            odd = True
        line += newlines
        selfclose = buf[j - 1] == 47 and j - 1 >= attr_s
        attr_e = j - 1 if selfclose else j
        while attr_s < attr_e and _is_space(buf[attr_s]):
            attr_s += 1
        while attr_e > attr_s and _is_space(buf[attr_e - 1]):
            attr_e -= 1
        if depth == 0:
            root[0] = name_s
            root[1] = name_e
            root[2] = attr_s
            root[3] = attr_e
            if selfclose:
                return CLOSED, 0, j + 1, line
            depth = 1
            i = j + 1
            last_i = i
            last_line = line
            continue
        if depth >= _MAX_DEPTH - 1:
            return UNSUPPORTED, last_k, last_i, last_line
        if k >= cap:
            return FULL, last_k, last_i, last_line
        nid = _intern(buf, name_s, name_e, slots, spans, names, counts)
        if nid < 0:
            return UNSUPPORTED, last_k, last_i, last_line
        rec = k
        k += 1
        out[rec, C_NAME] = nid
        out[rec, C_DEPTH] = depth
        out[rec, C_NAME_S] = name_s
        out[rec, C_NAME_E] = name_e
        out[rec, C_ATTR_S] = attr_s
        out[rec, C_ATTR_E] = attr_e
        out[rec, C_LINE] = line
        out[rec, C_TEXT_S] = -1
        out[rec, C_TEXT_E] = -1
        out[rec, C_NCHILD] = 0
        out[rec, C_FLAGS] = 0
        out[rec, C_START] = i
        out[rec, C_END] = -1
        if depth == 1:
            member = rec
            out[rec, C_PARENT] = -1
        else:
            parent = stack[depth - 1]
            out[rec, C_PARENT] = parent
            out[parent, C_NCHILD] += 1
        if odd:
            out[member, C_FLAGS] |= FLAG_ODD
        out[rec, C_NS_S] = ns_s
        out[rec, C_NS_E] = ns_e
        if ns_s >= 0:  # namespace declarations below the root: Python judges them
            out[rec, C_FLAGS] |= FLAG_NSDECL
            out[member, C_FLAGS] |= FLAG_NSDECL
        i = j + 1
        if selfclose:
            out[rec, C_END] = i
            if depth == 1:
                last_i = i
                last_line = line
                last_k = k
            continue
        stack[depth] = rec
        depth += 1
        # the element's first text, up to the next '<'
        t = _find(buf, i, 60, -1, -1)
        if t < 0:
            break
        if t > i:
            out[rec, C_TEXT_S] = i
            out[rec, C_TEXT_E] = t
            for p in range(i, t):
                b = buf[p]
                if b == 10:
                    line += 1
                elif b == 38:  # an entity or character reference
                    out[member, C_FLAGS] |= FLAG_ODD
            i = t
    return MORE, last_k, last_i, last_line
