"""Writing COPC 1.0 files (Cloud Optimized Point Cloud) with lazrs.

A COPC file is a LAZ 1.4 file (point format 6, 7 or 8) whose points are stored
as one variable-size LAZ chunk per node of an octree, with two extra records:
the ``copc`` *info* VLR (the first VLR, 160 bytes: octree centre, half size,
root spacing, where the hierarchy is, GPS time range) and the ``copc``
*hierarchy* EVLR (one 32-byte entry per node: key ``d, x, y, z``, file offset
and byte size of its chunk, point count). A reader streams the few nodes a view
or a box needs, coarse levels first.

How the octree is built
-----------------------
The root node is a cube holding every point. Each node is divided into a grid
of ``128 x 128 x 128`` cells (as untwine and PDAL do), so the root spacing written
in the info VLR is ``2 * halfsize / 128`` and it halves at each level. Level by
level, over all nodes of the level at once:

- a node whose remaining points (those not kept by an ancestor) number at most
  ``leaf_points`` keeps them all and has no children (a leaf);
- any other node keeps, in each grid cell that holds points, the one point
  nearest the cell centre (ties: the first one in Morton order); the points it
  does not keep go down to the eight children;
- at the deepest level (14: the node grid cells reach 21 bits per axis) a node
  keeps everything left (this only happens for many points on one spot).

Each level is therefore a spatially even subsample of the cloud with half the
point spacing of the level above, which is what a viewer needs for its level of
detail, and every point is stored exactly once.

Everything is vectorised with numpy: the points are sorted once by the Morton
code of their position on a ``2**21`` grid per axis (63 bits); a node or a cell
of any level is then a contiguous run of the sorted codes (its Morton prefix), so
each level costs a few linear passes (run starts, ``minimum.reduceat``) and no
further sort. Python loops run over levels (at most 15), never over points or
nodes. Inside a node the points keep their input (acquisition) order, which LAZ
compresses best (GPS time, return numbers and scan angle change slowly along a
scan line). The output is deterministic: the same input gives the same bytes
(except the creation date of the header).

The root cube's corner sits half a coordinate quantum (the smallest scale) below
the lowest point, and its side is ``2**k`` quanta with ``k >= 14``, so the side of
every node down to the deepest level is a whole number of quanta and no node face
falls on a representable coordinate: a point never sits on the face between two
nodes, and a reader's float arithmetic on node bounds cannot disagree with ours
about which node holds it (with scales that are multiples of the smallest one,
as 0.01/0.01/0.001 or 0.01 everywhere; other mixes are still correct, only a
point may then sit on a face, which readers include on both sides).

Why lazrs and not copclib
-------------------------
lazrs 0.8 (already a dependency, the LAZ backend of laspy) compresses
variable-size chunks: ``LazVlr.new_for_compression(..., use_variable_size_chunks
=True)`` and ``ParLasZipCompressor.compress_chunks`` write one chunk per array
it is given, in parallel over chunks, and a correct chunk table (sequentially,
``LasZipCompressor.compress_many`` + ``finish_current_chunk`` between chunks;
both give the same bytes). Header, VLRs and EVLRs go through laspy's own
serialisation. So COPC costs no new dependency. ``copclib`` has a wheel on PyPI
for CPython 3.11 manylinux x86_64 (``pip download --no-deps copclib`` gets
2.6.3), but it would add a compiled dependency with its own point API (a copy of
every point through it) and the octree would still be ours to build; it was not
benchmarked. Measured with ``benchmarks/bench_copc.py`` (4.5 M points, figures in
its docstring): this writer takes about 1.5 times a plain laspy LAZ write of the
same points, and a third of the time of PDAL's ``writers.copc``.

Use
---
The caller builds the header and the record exactly as for a LAZ file (format
6/7/8, scales, offsets, CRS and user VLRs) and hands them over::

    from pcrs.io.copc import write_copc

    write_copc(tmp_path, header, record)  # then rename tmp_path into place

``leaf_points`` trades node count against node size; ``parallel=False``
compresses on one core (same bytes).
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import laspy
import lazrs
import numpy as np
from laspy.vlrs.known import LasZipVlr, WktCoordinateSystemVlr

from ..errors import ParameterError

__all__ = ["DEFAULT_LEAF_POINTS", "GRID_BITS", "Octree", "build_octree", "write_copc"]

log = logging.getLogger(__name__)

#: Bits per axis of the whole octree grid (3 x 21 = 63 bits of Morton code).
MORTON_BITS = 21
#: Bits per axis of the sampling grid inside a node: 2**7 = 128 cells.
GRID_BITS = 7
#: Deepest level: there the node grid reaches the full Morton resolution.
MAX_LEVEL = MORTON_BITS - GRID_BITS
#: A node with at most this many remaining points keeps them all (a leaf).
DEFAULT_LEAF_POINTS = 100_000

_COPC_USER_ID = "copc"
_INFO_RECORD_ID = 1
_HIERARCHY_RECORD_ID = 1000
_EVLR_HEADER_SIZE = 60
_ENTRY = struct.Struct("<iiiiQii")
_INFO = struct.Struct("<5d2Q2d11Q")
_WKT_RECORD_ID = 2112


@dataclass(frozen=True)
class Octree:
    """Where each point goes: the nodes in file order and the points in node order.

    Attributes
    ----------
    order : numpy.ndarray
        Indices into the input points, node after node (``sum(counts)`` = n).
    keys : numpy.ndarray
        ``(m, 4)`` int32 node keys ``level, x, y, z`` in file order (level by
        level, Morton order within a level).
    counts : numpy.ndarray
        Number of points of each node (int64, all > 0).
    center : numpy.ndarray
        Centre of the root cube (3 floats).
    halfsize : float
        Half the side of the root cube.
    spacing : float
        Distance between the points kept by the root (its grid cell size).
    """

    order: np.ndarray
    keys: np.ndarray
    counts: np.ndarray
    center: np.ndarray
    halfsize: float
    spacing: float


def _spread_bits(v: np.ndarray) -> np.ndarray:
    """Insert two zero bits after each of the 21 low bits of ``v`` (uint64)."""
    v = v.astype(np.uint64) & np.uint64(0x1FFFFF)
    v = (v | (v << np.uint64(32))) & np.uint64(0x1F00000000FFFF)
    v = (v | (v << np.uint64(16))) & np.uint64(0x1F0000FF0000FF)
    v = (v | (v << np.uint64(8))) & np.uint64(0x100F00F00F00F00F)
    v = (v | (v << np.uint64(4))) & np.uint64(0x10C30C30C30C30C3)
    v = (v | (v << np.uint64(2))) & np.uint64(0x1249249249249249)
    return v


def _root_cube(
    ints: tuple[np.ndarray, np.ndarray, np.ndarray], scales: np.ndarray, offsets: np.ndarray
) -> tuple[np.ndarray, float]:
    """The root cube's lower corner and side (see the module docstring)."""
    quantum = float(np.min(scales))
    if len(ints[0]) == 0:
        return offsets.astype(np.float64) - quantum / 2, quantum * 2.0**MAX_LEVEL
    mins = np.array([a.min() * s + o for a, s, o in zip(ints, scales, offsets, strict=True)])
    maxs = np.array([a.max() * s + o for a, s, o in zip(ints, scales, offsets, strict=True)])
    corner = mins - quantum / 2
    extent = float(np.max(maxs - corner)) + quantum / 2
    # at least 2**MAX_LEVEL quanta: every node side is then a whole number of quanta
    side = quantum * 2.0**MAX_LEVEL
    while side < extent:
        side *= 2
    return corner, side


def _grid_coordinates(
    ints: np.ndarray, scale: float, offset: float, corner: float, side: float
) -> np.ndarray:
    """Integer position of each point on the ``2**21`` grid of the root cube (uint32)."""
    cells = 1 << MORTON_BITS
    pos = np.floor((ints * scale + offset - corner) * (cells / side))
    return np.clip(pos, 0, cells - 1).astype(np.uint32)


def _run_starts(values: np.ndarray) -> np.ndarray:
    """Start index of each run of equal consecutive values."""
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    change = np.flatnonzero(values[1:] != values[:-1]) + 1
    return np.concatenate(([0], change))


def _nearest_to_centres(
    q: tuple[np.ndarray, np.ndarray, np.ndarray], codes: np.ndarray, shift: int
) -> np.ndarray:
    """Index of the point nearest its cell centre, one per cell of ``2**shift`` grid units."""
    starts = _run_starts(codes >> np.uint64(3 * shift))
    mask = np.uint32((1 << shift) - 1)
    # twice the offset from the centre, so that it stays integer; shift <= 14, so
    # the squared distance (< 3 * 2**28) fits int32
    middle = np.int32((1 << shift) - 1)
    dist = np.zeros(len(codes), dtype=np.int32)
    for axis in q:
        d = (axis & mask).astype(np.int32)
        d *= 2
        d -= middle
        d *= d
        dist += d
    best = np.minimum.reduceat(dist, starts)
    counts = np.diff(np.append(starts, len(codes)))
    hit = np.flatnonzero(dist == np.repeat(best, counts))
    cell_of_hit = np.searchsorted(starts, hit, side="right")
    first = np.concatenate(([True], cell_of_hit[1:] != cell_of_hit[:-1]))
    return hit[first]


def build_octree(
    ints: tuple[np.ndarray, np.ndarray, np.ndarray],
    scales: np.ndarray,
    offsets: np.ndarray,
    *,
    leaf_points: int = DEFAULT_LEAF_POINTS,
) -> Octree:
    """Assign points to COPC octree nodes by grid sampling (see the module docstring).

    Parameters
    ----------
    ints : tuple of numpy.ndarray
        The stored integer coordinates ``X, Y, Z`` of the points.
    scales, offsets : numpy.ndarray
        The header's scales and offsets (real = int * scale + offset).
    leaf_points : int, optional
        A node with at most this many points left keeps them all.

    Returns
    -------
    Octree
        The nodes in file order, the point order, the root cube and spacing.
    """
    if leaf_points < 1:
        raise ParameterError(f"leaf_points must be at least 1, not {leaf_points!r}")
    scales = np.asarray(scales, dtype=np.float64)
    offsets = np.asarray(offsets, dtype=np.float64)
    corner, side = _root_cube(ints, scales, offsets)
    center = corner + side / 2
    spacing = side / (1 << GRID_BITS)
    n = len(ints[0])
    index_type = np.int32 if n < 2**31 else np.int64
    axes = [
        _grid_coordinates(a, s, o, c, side)
        for a, s, o, c in zip(ints, scales, offsets, corner, strict=True)
    ]
    codes = _spread_bits(axes[0])
    codes |= _spread_bits(axes[1]) << np.uint64(1)
    codes |= _spread_bits(axes[2]) << np.uint64(2)
    idx = np.argsort(codes, kind="stable").astype(index_type)
    codes = codes[idx]
    for axis in range(3):  # one at a time, to keep the peak memory low
        axes[axis] = axes[axis][idx]
    q = (axes[0], axes[1], axes[2])
    del axes

    node_of_point = np.empty(n, dtype=np.int32)
    keys: list[np.ndarray] = []
    counts: list[np.ndarray] = []
    n_nodes = 0
    for level in range(MAX_LEVEL + 1):
        if len(codes) == 0:
            break
        node_code = codes >> np.uint64(3 * (MORTON_BITS - level))
        starts = _run_starts(node_code)
        sizes = np.diff(np.append(starts, len(codes)))
        if level == MAX_LEVEL:
            take = np.ones(len(codes), dtype=bool)
        else:
            take = np.repeat(sizes <= leaf_points, sizes)
            take[_nearest_to_centres(q, codes, MORTON_BITS - level - GRID_BITS)] = True
        kept_node = node_code[take]
        kept_starts = _run_starts(kept_node)
        kept_sizes = np.diff(np.append(kept_starts, len(kept_node)))
        first = np.flatnonzero(take)[kept_starts]
        shift = MORTON_BITS - level
        level_keys = np.empty((len(kept_starts), 4), dtype=np.int32)
        level_keys[:, 0] = level
        for axis in range(3):
            level_keys[:, axis + 1] = q[axis][first] >> np.uint32(shift)
        node_of_point[idx[take]] = np.repeat(
            np.arange(n_nodes, n_nodes + len(kept_starts), dtype=np.int32), kept_sizes
        )
        n_nodes += len(kept_starts)
        keys.append(level_keys)
        counts.append(kept_sizes)
        keep = ~take
        codes = codes[keep]
        idx = idx[keep]
        q = (q[0][keep], q[1][keep], q[2][keep])

    # group by node, input order inside a node (a stable sort of the node ids)
    small = np.uint16 if n_nodes <= np.iinfo(np.uint16).max else np.uint32
    order = np.argsort(node_of_point.astype(small), kind="stable")
    return Octree(
        order=order,
        keys=np.concatenate(keys) if keys else np.zeros((0, 4), dtype=np.int32),
        counts=np.concatenate(counts).astype(np.int64) if counts else np.zeros(0, np.int64),
        center=center,
        halfsize=side / 2,
        spacing=spacing,
    )


def _copc_header(header: laspy.LasHeader) -> laspy.LasHeader:
    """A copy of ``header`` for COPC: LAS 1.4, compressed, WKT CRS, no old COPC/LAZ records."""
    out = header.copy()
    out.set_compressed(True)
    kept = [
        v for v in header.vlrs if getattr(v, "user_id", "") not in (_COPC_USER_ID, "laszip encoded")
    ]
    has_wkt = any(v.user_id == "LASF_Projection" and v.record_id == _WKT_RECORD_ID for v in kept)
    if not has_wkt:
        # LAS 1.4 formats 6-8 describe their CRS in WKT: convert GeoTIFF keys if any
        crs = None
        try:
            crs = header.parse_crs()
        except Exception as exc:  # unreadable keys: keep them as they are
            log.warning("the GeoTIFF CRS keys cannot be read (%s); they are kept as is", exc)
        if crs is not None:  # the GeoTIFF keys stay beside it: nothing of the source is lost
            kept.append(WktCoordinateSystemVlr(crs.to_wkt()))
            has_wkt = True
    info = laspy.VLR(_COPC_USER_ID, _INFO_RECORD_ID, "COPC info VLR", bytes(_INFO.size))
    # the list is refilled in place: laspy's setter would rebuild the Extra Bytes VLR from the
    # point format, and describe undocumented bytes in a way laspy cannot read back
    out.vlrs.clear()
    out.vlrs.extend([info, *kept])
    if has_wkt:
        out.global_encoding.wkt = True
    return out


def _info_bytes(tree: Octree, hierarchy_offset: int, hierarchy_size: int, gps: tuple) -> bytes:
    reserved = [0] * 11
    return _INFO.pack(
        *(float(c) for c in tree.center),
        float(tree.halfsize),
        float(tree.spacing),
        hierarchy_offset,
        hierarchy_size,
        float(gps[0]),
        float(gps[1]),
        *reserved,
    )


def _hierarchy_bytes(tree: Octree, offsets: np.ndarray, sizes: np.ndarray) -> bytes:
    entries = np.zeros(
        len(tree.counts),
        dtype=[("key", "<i4", 4), ("offset", "<u8"), ("size", "<i4"), ("count", "<i4")],
    )
    entries["key"] = tree.keys
    entries["offset"] = offsets
    entries["size"] = sizes
    entries["count"] = tree.counts
    if len(entries) == 0:  # an empty cloud still has a root entry, with no points
        return _ENTRY.pack(0, 0, 0, 0, 0, 0, 0)
    return entries.tobytes()


def _compress(dest, raw: np.ndarray, counts: np.ndarray, point_size: int, vlr, parallel: bool):
    """Write one LAZ chunk per node; ``raw`` is the uint8 view of the reordered points."""
    bounds = np.concatenate(([0], np.cumsum(counts))) * point_size
    chunks = [raw[a:b] for a, b in pairwise(bounds.tolist())]
    if parallel:
        compressor = lazrs.ParLasZipCompressor(dest, vlr)
        compressor.compress_chunks(chunks)
    else:
        compressor = lazrs.LasZipCompressor(dest, vlr)
        for i, chunk in enumerate(chunks):
            compressor.compress_many(chunk)
            if i + 1 < len(chunks):  # done() closes the last one
                compressor.finish_current_chunk()
    compressor.done()


def write_copc(
    path: Path,
    header: laspy.LasHeader,
    points: laspy.PackedPointRecord | laspy.ScaleAwarePointRecord,
    *,
    leaf_points: int = DEFAULT_LEAF_POINTS,
    parallel: bool = True,
) -> None:
    """Write ``points`` as a COPC 1.0 file.

    Parameters
    ----------
    path : pathlib.Path
        The file to write (created or truncated; the caller renames it into place).
    header : laspy.LasHeader
        Point format (6, 7 or 8, with any extra bytes), scales, offsets, VLRs
        (CRS, user records) and EVLRs to write. It is not modified. Old ``copc``
        and ``laszip`` records are dropped; GeoTIFF CRS keys become a WKT VLR;
        bounds, counts and GPS time range are recomputed from the points.
    points : laspy.PackedPointRecord or laspy.ScaleAwarePointRecord
        The points, in the header's point format. They are written in node order
        (input order inside a node), each exactly once, every byte preserved.
    leaf_points : int, optional
        A node with at most this many points left keeps them all (no children).
    parallel : bool, optional
        Compress the node chunks on all cores (lazrs), else on one.

    Raises
    ------
    ParameterError
        If the point format is not 6, 7 or 8, or the points do not match it.

    Examples
    --------
    >>> import laspy, numpy as np, tempfile, pathlib
    >>> h = laspy.LasHeader(point_format=6, version="1.4")
    >>> h.scales, h.offsets = np.array([0.01] * 3), np.zeros(3)
    >>> rec = laspy.ScaleAwarePointRecord.zeros(10, header=h)
    >>> rec.X = np.arange(10)
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "a.copc.laz"
    >>> write_copc(out, h, rec)
    >>> with laspy.CopcReader.open(str(out)) as r:
    ...     len(r.query())
    10
    """
    fmt = header.point_format
    if fmt.id not in (6, 7, 8):
        raise ParameterError(
            f"{path}: COPC stores point formats 6, 7 or 8 only, not {fmt.id}; "
            "convert the points first (e.g. point_format=6)"
        )
    if points.point_format.size != fmt.size or points.point_format.id != fmt.id:
        raise ParameterError(
            f"{path}: the points are in point format {points.point_format.id} "
            f"({points.point_format.size} bytes) but the header says {fmt.id} ({fmt.size} bytes)"
        )
    array = points.array
    tree = build_octree(
        (array["X"], array["Y"], array["Z"]),
        header.scales,
        header.offsets,
        leaf_points=leaf_points,
    )
    # gathering fixed-size opaque records is several times faster than a structured gather
    opaque = np.dtype((np.void, array.dtype.itemsize))
    ordered = np.ascontiguousarray(array).view(opaque)[tree.order].view(array.dtype)
    del array

    out = _copc_header(header)
    record = laspy.PackedPointRecord(ordered, out.point_format)
    out.update(record)
    n = len(ordered)
    gps = (float(ordered["gps_time"].min()), float(ordered["gps_time"].max())) if n else (0.0, 0.0)
    vlr = lazrs.LazVlr.new_for_compression(fmt.id, fmt.num_extra_bytes, True)
    out.vlrs.append(LasZipVlr(vlr.record_data()))
    evlrs = [
        v
        for v in (header.evlrs or [])
        if not (v.user_id == _COPC_USER_ID and v.record_id == _HIERARCHY_RECORD_ID)
    ]
    out.number_of_evlrs = 1 + len(evlrs)

    with open(path, "w+b") as dest:
        out.write_to(dest)
        data_start = out.offset_to_point_data
        raw = ordered.view(np.uint8).reshape(-1)
        _compress(dest, raw, tree.counts, fmt.size, vlr, parallel)
        end = dest.tell()
        dest.seek(data_start)
        table = lazrs.read_chunk_table(dest, vlr) if n else []
        sizes = np.array([b for _, b in table], dtype=np.int64)
        written = np.array([c for c, _ in table], dtype=np.int64)
        if len(sizes) != len(tree.counts) or not np.array_equal(written, tree.counts):
            raise RuntimeError(f"{path}: the LAZ chunk table does not match the octree nodes")
        chunk_offsets = data_start + 8 + np.cumsum(sizes) - sizes
        hierarchy = _hierarchy_bytes(tree, chunk_offsets, sizes)
        dest.seek(end)
        out.start_of_first_evlr = end
        hierarchy_vlr = laspy.VLR(_COPC_USER_ID, _HIERARCHY_RECORD_ID, "EPT hierarchy", hierarchy)
        laspy.vlrs.vlrlist.VLRList([hierarchy_vlr, *evlrs]).write_to(dest, as_extended=True)
        info = _info_bytes(tree, end + _EVLR_HEADER_SIZE, len(hierarchy), gps)
        out.vlrs[0] = laspy.VLR(_COPC_USER_ID, _INFO_RECORD_ID, "COPC info VLR", info)
        dest.seek(0)
        out.write_to(dest, ensure_same_size=True)
