"""Checks of a LAS/LAZ/COPC file's header against its size, before any allocation.

laspy and the LAZ decompressor trust the header: a VLR count of 4294967295,
a point count of 2**63 or a LAZ chunk size of 4294967294 make them loop for
minutes or allocate tens of gigabytes (the decompressor then aborts the
interpreter). :func:`check_file` reads the few hundred bytes that describe the
file with :mod:`struct` (header, VLR headers, the laszip VLR, EVLR headers,
the LAZ chunk table offset and, when it is small, the chunk table) and raises
:class:`~pcrs.errors.CorruptFileError` when a field cannot be true for a file
of this size. It never allocates more than the file size, and reads at most a
few hundred bytes plus the chunk table.

The checks are only the ones a valid file always passes: a file written by
any conforming writer goes through.
"""

from __future__ import annotations

import math
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from ..errors import CorruptFileError, UnsupportedFormatError

__all__ = [
    "LasFacts",
    "LazFacts",
    "check_copc_hierarchy",
    "check_file",
    "check_open_file",
    "is_panic",
]

#: size of the public header block of each LAS 1.x minor version
_HEADER_SIZE = {0: 227, 1: 227, 2: 227, 3: 235, 4: 375}
#: smallest record length of each point format (without extra bytes)
_FORMAT_SIZE = {0: 20, 1: 28, 2: 26, 3: 34, 4: 57, 5: 63, 6: 30, 7: 36, 8: 38, 9: 59, 10: 67}
_VLR_HEADER = 54
_EVLR_HEADER = 60
#: laszip VLR: compressor, coder, version (B, B, H), options, chunk size,
#: number and offset of special EVLRs, number of items
_LASZIP_FIXED = struct.Struct("<HHBBHIIqqH")
_LASZIP_ITEM = struct.Struct("<HHH")
_VARIABLE_CHUNKS = 0xFFFFFFFF
#: item type -> (size or None when variable, point formats it belongs to)
_LASZIP_ITEMS = {
    0: None,  # BYTE (extra bytes, pointwise)
    6: 20,  # POINT10
    7: 8,  # GPSTIME11
    8: 6,  # RGB12
    9: 29,  # WAVEPACKET13
    10: 30,  # POINT14
    11: 6,  # RGB14
    12: 8,  # RGBNIR14
    13: 29,  # WAVEPACKET14
    14: None,  # BYTE14 (extra bytes, layered)
}
#: largest decompressed chunk the decompressor may be asked to hold (it allocates it whole)
MAX_CHUNK_BYTES = 256 * 1024 * 1024
#: a chunk table longer than this is not read in full (it is then only bounded)
_MAX_TABLE_READ = 1 << 20


@dataclass(frozen=True)
class LazFacts:
    """What the laszip VLR and the chunk table say.

    Attributes
    ----------
    compressor : int
        1 pointwise, 2 pointwise chunked, 3 layered chunked.
    chunk_size : int
        Points per chunk, or 0xFFFFFFFF for variable-size chunks.
    item_size : int
        Sum of the item sizes: the decompressed record length.
    chunk_table_offset : int or None
        Where the chunk table starts, None when the file has none.
    chunks : int or None
        Number of chunks in the table.
    points_in_chunks : int or None
        Points the chunk table can hold (exact for variable-size chunks, an
        upper bound for fixed-size chunks).
    """

    compressor: int
    chunk_size: int
    item_size: int
    chunk_table_offset: int | None = None
    chunks: int | None = None
    points_in_chunks: int | None = None


@dataclass(frozen=True)
class LasFacts:
    """The header fields the checks used, once they passed.

    Attributes
    ----------
    file_size : int
    version : tuple of int
    point_format : int
    record_length : int
    point_count : int
    offset_to_point_data : int
    compressed : bool
    copc : bool
    laz : LazFacts or None
    """

    file_size: int
    version: tuple[int, int]
    point_format: int
    record_length: int
    point_count: int
    offset_to_point_data: int
    compressed: bool
    copc: bool
    laz: LazFacts | None = None
    vlr_ids: list[tuple[str, int]] = field(default_factory=list)


class _Corrupt(Exception):
    """Internal: a check failed; the text says which field and why."""


def _fix() -> str:
    return "the file is corrupt or truncated; get a new copy from its producer"


def check_file(path: str | os.PathLike) -> LasFacts:
    """Check the header of the file at ``path`` against its size.

    Parameters
    ----------
    path : path-like
        A file that starts with ``LASF``.

    Returns
    -------
    LasFacts

    Raises
    ------
    CorruptFileError
        When a header, VLR, EVLR, laszip or chunk table field cannot be true
        for a file of this size, or a scale or offset is not a usable number.
    UnsupportedFormatError
        When the point format is not one of LAS formats 0 to 10.
    """
    path = Path(path)
    with open(path, "rb") as fh:
        return check_open_file(fh, path)


def check_open_file(fh: BinaryIO, name: str | os.PathLike) -> LasFacts:
    """Same as :func:`check_file` on an open binary file; ``name`` goes into messages.

    Parameters
    ----------
    fh : binary file
        Seekable; its position is changed.
    name : str or path-like
        The file name used in the error messages.

    Returns
    -------
    LasFacts
    """
    try:
        return _check(fh)
    except _Corrupt as exc:
        raise CorruptFileError(f"{name}: {exc}; {_fix()}") from None
    except _Unsupported as exc:
        raise UnsupportedFormatError(f"{name}: {exc}") from None


class _Unsupported(Exception):
    """Internal: the file is valid but not something LAS readers handle."""


def _read_at(fh: BinaryIO, offset: int, n: int, what: str) -> bytes:
    fh.seek(offset)
    data = fh.read(n)
    if len(data) != n:
        raise _Corrupt(f"{what} at byte {offset} lies past the end of the file")
    return data


def _check(fh: BinaryIO) -> LasFacts:
    size = fh.seek(0, os.SEEK_END)
    if size < _HEADER_SIZE[0]:
        raise _Corrupt(f"the file is {size} bytes long, shorter than a LAS header (227 bytes)")
    head = _read_at(fh, 0, min(size, _HEADER_SIZE[4]), "the header")
    if head[:4] != b"LASF":
        raise _Corrupt("it does not start with the 'LASF' signature")
    major, minor = head[24], head[25]
    if major != 1:
        raise _Unsupported(f"LAS version {major}.{minor} is not a LAS 1.x file")
    header_size, offset_to_points, n_vlrs = struct.unpack_from("<HII", head, 94)
    format_byte, record_length, legacy_count = struct.unpack_from("<BHI", head, 104)
    minimum = _HEADER_SIZE.get(minor, _HEADER_SIZE[4])
    if header_size < minimum:
        raise _Corrupt(f"header size {header_size} is smaller than LAS 1.{minor}'s {minimum}")
    if header_size > size:
        raise _Corrupt(f"header size {header_size} is larger than the file ({size} bytes)")
    if not header_size <= offset_to_points <= size:
        raise _Corrupt(
            f"offset to point data {offset_to_points} is outside the file "
            f"(header {header_size} bytes, file {size} bytes)"
        )
    point_format = format_byte & 0x3F
    compressed = bool(format_byte & 0xC0)
    if point_format not in _FORMAT_SIZE:
        raise _Unsupported(f"point format {point_format} does not exist (LAS has formats 0-10)")
    if record_length < _FORMAT_SIZE[point_format]:
        raise _Corrupt(
            f"point record length {record_length} is smaller than point format "
            f"{point_format}'s {_FORMAT_SIZE[point_format]} bytes"
        )
    point_count = legacy_count
    n_evlrs = start_evlr = 0
    if minor >= 4:
        start_evlr, n_evlrs, point_count = struct.unpack_from("<QIQ", head, 235)
    _check_numbers(head)

    vlrs, laszip, copc = _check_vlrs(fh, header_size, offset_to_points, n_vlrs)
    if n_evlrs:
        _check_evlrs(fh, size, start_evlr, n_evlrs, offset_to_points)
    data_end = start_evlr if minor >= 4 and n_evlrs else size

    laz = None
    if compressed:
        if laszip is None:
            raise _Corrupt("the points are flagged compressed but there is no laszip VLR")
        laz = _check_laz(fh, laszip, point_format, record_length, point_count, offset_to_points)
    elif point_count:
        available = data_end - offset_to_points
        if point_count > available // record_length:
            raise _Corrupt(
                f"the header announces {point_count} points of {record_length} bytes but the "
                f"point data holds {available} bytes ({available // record_length} points)"
            )
    return LasFacts(
        file_size=size,
        version=(major, minor),
        point_format=point_format,
        record_length=record_length,
        point_count=point_count,
        offset_to_point_data=offset_to_points,
        compressed=compressed,
        copc=copc,
        laz=laz,
        vlr_ids=vlrs,
    )


def _check_numbers(head: bytes) -> None:
    scales = struct.unpack_from("<3d", head, 131)
    offsets = struct.unpack_from("<3d", head, 155)
    bounds = struct.unpack_from("<6d", head, 179)
    for axis, scale, offset in zip("xyz", scales, offsets, strict=True):
        if not math.isfinite(scale) or scale == 0.0:
            raise _Corrupt(
                f"the {axis} scale is {scale!r}; a scale must be a finite non-zero number"
            )
        if not math.isfinite(offset):
            raise _Corrupt(f"the {axis} offset is {offset!r}; an offset must be a finite number")
        if not math.isfinite(abs(scale) * 2.0**31 + abs(offset)):
            raise _Corrupt(
                f"the {axis} scale {scale!r} and offset {offset!r} give coordinates that "
                "overflow a float"
            )
    if not all(math.isfinite(b) for b in bounds):
        raise _Corrupt(f"the header bounds {bounds!r} are not all finite numbers")


def walk_records(
    fh: BinaryIO, start: int, count: int, end: int, extended: bool
) -> Iterator[tuple[int, str, int, str, int, int]]:
    """Each (E)VLR header from ``start``: ``(index, user_id, record_id, description,
    payload offset, payload length)``.

    A record whose payload runs past ``end`` (the point data for VLRs, the
    file's end for EVLRs) raises :class:`_Corrupt`; nothing past a header is read.
    """
    size = _EVLR_HEADER if extended else _VLR_HEADER
    kind = "EVLR" if extended else "VLR"
    pos = start
    for i in range(count):
        raw = _read_at(fh, pos, size, f"{kind} {i}")
        user = raw[2:18].split(b"\0", 1)[0].decode("ascii", "replace")
        (record_id,) = struct.unpack_from("<H", raw, 18)
        (length,) = struct.unpack_from("<Q" if extended else "<H", raw, 20)
        description = raw[size - 32 : size].split(b"\0", 1)[0].decode("ascii", "replace")
        body = pos + size
        if body + length > end:
            raise _Corrupt(
                f"EVLR {i} is {length} bytes long and runs past the end of the file"
                if extended
                else f"VLR {i} ({user!r} {record_id}) is {length} bytes long and runs past the "
                f"start of the point data (byte {end})"
            )
        yield i, user, record_id, description, body, length
        pos = body + length


def _check_vlrs(
    fh: BinaryIO, header_size: int, end: int, n_vlrs: int
) -> tuple[list[tuple[str, int]], bytes | None, bool]:
    """Walk the VLR headers between the header and the point data."""
    room = end - header_size
    if n_vlrs > room // _VLR_HEADER:
        raise _Corrupt(
            f"the header announces {n_vlrs} VLRs but only {room} bytes lie between the header "
            "and the point data"
        )
    ids: list[tuple[str, int]] = []
    laszip = None
    copc = False
    for i, user, record_id, _, body, length in walk_records(
        fh, header_size, n_vlrs, end, extended=False
    ):
        if user == "laszip encoded" and record_id == 22204:
            laszip = _read_at(fh, body, length, "the laszip VLR")
        if user == "copc" and record_id == 1:
            copc = copc or i == 0
        ids.append((user, record_id))
    return ids, laszip, copc


def _check_evlrs(fh: BinaryIO, size: int, start: int, n_evlrs: int, data_start: int) -> None:
    if not data_start <= start <= size:
        raise _Corrupt(f"the first EVLR starts at byte {start}, outside the file ({size} bytes)")
    if n_evlrs > (size - start) // _EVLR_HEADER:
        raise _Corrupt(
            f"the header announces {n_evlrs} EVLRs but only {size - start} bytes follow "
            f"the first one's start (byte {start})"
        )
    for _ in walk_records(fh, start, n_evlrs, size, extended=True):
        pass


def _parse_laszip(vlr: bytes, point_format: int, record_length: int) -> tuple[int, int, int]:
    """``(compressor, chunk_size, item_size)`` of a laszip VLR consistent with the records."""
    if len(vlr) < _LASZIP_FIXED.size:
        raise _Corrupt(f"the laszip VLR is {len(vlr)} bytes long, too short to describe the points")
    compressor, coder, _, _, _, _, chunk_size, _, _, n_items = _LASZIP_FIXED.unpack_from(vlr)
    if compressor not in (1, 2, 3) or coder != 0:
        raise _Corrupt(f"the laszip VLR names an unknown compressor ({compressor}, coder {coder})")
    if len(vlr) != _LASZIP_FIXED.size + n_items * _LASZIP_ITEM.size:
        raise _Corrupt(f"the laszip VLR lists {n_items} items but is {len(vlr)} bytes long")
    total = 0
    types = []
    for k in range(n_items):
        kind, item_size, _ = _LASZIP_ITEM.unpack_from(vlr, _LASZIP_FIXED.size + k * 6)
        if kind not in _LASZIP_ITEMS:
            raise _Corrupt(f"the laszip VLR item {k} has unknown type {kind}")
        expected = _LASZIP_ITEMS[kind]
        if (expected is not None and item_size != expected) or item_size == 0:
            raise _Corrupt(f"the laszip VLR item {k} (type {kind}) has size {item_size}")
        types.append(kind)
        total += item_size
    if total != record_length:
        raise _Corrupt(
            f"the laszip VLR items add up to {total} bytes per point but the point record "
            f"length is {record_length}"
        )
    layered = point_format >= 6
    if not types or types[0] != (10 if layered else 6) or (compressor == 3) != layered:
        raise _Corrupt(
            f"the laszip VLR items {types} (compressor {compressor}) do not describe point "
            f"format {point_format}"
        )
    if chunk_size == 0 or (
        chunk_size != _VARIABLE_CHUNKS and chunk_size * record_length > MAX_CHUNK_BYTES
    ):
        raise _Corrupt(f"the laszip chunk size {chunk_size} is not a usable number of points")
    return compressor, chunk_size, total


def _check_laz(
    fh: BinaryIO,
    vlr: bytes,
    point_format: int,
    record_length: int,
    point_count: int,
    data_start: int,
) -> LazFacts:
    compressor, chunk_size, item_size = _parse_laszip(vlr, point_format, record_length)
    facts = LazFacts(compressor, chunk_size, item_size)
    if point_count == 0:
        return facts
    (table,) = struct.unpack("<q", _read_at(fh, data_start, 8, "the LAZ chunk table offset"))
    size = fh.seek(0, os.SEEK_END)
    if table <= data_start:
        # written without going back to the start: the offset is in the last 8 bytes
        (table,) = struct.unpack("<q", _read_at(fh, size - 8, 8, "the LAZ chunk table offset"))
        if table <= data_start:
            if chunk_size == _VARIABLE_CHUNKS:
                raise _Corrupt("the LAZ chunk table is missing and the chunks are of variable size")
            return facts
    if table + 8 > size:
        raise _Corrupt(
            f"the LAZ chunk table should start at byte {table}, past the end of the file "
            f"({size} bytes)"
        )
    version, n_chunks = struct.unpack("<II", _read_at(fh, table, 8, "the LAZ chunk table"))
    compressed_bytes = table - data_start - 8
    # every chunk holds at least its first point stored raw
    most_chunks = compressed_bytes // max(1, record_length // 2)
    if version != 0 or n_chunks == 0 or n_chunks > most_chunks:
        raise _Corrupt(
            f"the LAZ chunk table (version {version}) lists {n_chunks} chunks for "
            f"{compressed_bytes} bytes of compressed points"
        )
    entries = _read_chunk_table(fh, vlr, data_start, n_chunks)
    points_in_chunks = None
    if entries is not None:
        if sum(b for _, b in entries) > compressed_bytes or any(b <= 0 for _, b in entries):
            raise _Corrupt(
                f"the LAZ chunk table's chunk sizes do not fit the {compressed_bytes} bytes of "
                "compressed points"
            )
        if chunk_size == _VARIABLE_CHUNKS:
            if any(p * record_length > MAX_CHUNK_BYTES for p, _ in entries):
                raise _Corrupt("a LAZ chunk announces more points than a chunk can hold")
            points_in_chunks = sum(p for p, _ in entries)
    if entries is not None and compressor == 3:
        _check_layers(fh, vlr, record_length, data_start + 8, entries, chunk_size)
    if chunk_size != _VARIABLE_CHUNKS:
        points_in_chunks = n_chunks * chunk_size
    if points_in_chunks is not None and point_count > points_in_chunks:
        raise _Corrupt(
            f"the header announces {point_count} points but the LAZ chunk table holds at most "
            f"{points_in_chunks}"
        )
    return LazFacts(compressor, chunk_size, item_size, table, n_chunks, points_in_chunks)


#: layers of each layered (LAS 1.4) laszip item; BYTE14 has one layer per byte
_LAYERS = {10: 9, 11: 1, 12: 2, 13: 1}


def _check_layers(
    fh: BinaryIO,
    vlr: bytes,
    record_length: int,
    start: int,
    entries: list[tuple[int, int]],
    chunk_size: int,
) -> None:
    """Each layered chunk's point count and layer sizes against the chunk's byte count.

    A layered chunk starts with its first point stored raw, the number of its
    points and the byte size of each layer; the decompressor allocates every
    layer at the size read, so a garbled size would cost gigabytes.
    """
    n_items = struct.unpack_from("<H", vlr, 32)[0]
    n_layers = 0
    for k in range(n_items):
        kind, item_size, _ = _LASZIP_ITEM.unpack_from(vlr, _LASZIP_FIXED.size + k * 6)
        n_layers += item_size if kind == 14 else _LAYERS.get(kind, 0)
    head = struct.Struct(f"<I{n_layers}I")
    pos = start
    for i, (points, byte_count) in enumerate(entries):
        raw = _read_at(fh, pos + record_length, head.size, f"LAZ chunk {i}")
        count, *layers = head.unpack(raw)
        most = points if chunk_size == _VARIABLE_CHUNKS else chunk_size
        if count > most:
            raise _Corrupt(f"LAZ chunk {i} announces {count} points, more than the {most} expected")
        if record_length + head.size + sum(layers) > byte_count:
            raise _Corrupt(
                f"LAZ chunk {i} announces layers of {sum(layers)} bytes, more than its "
                f"{byte_count} bytes hold"
            )
        pos += byte_count


def _read_chunk_table(
    fh: BinaryIO, vlr: bytes, data_start: int, n_chunks: int
) -> list[tuple[int, int]] | None:
    """The ``(points, bytes)`` entries of the chunk table, or None when lazrs is missing."""
    if n_chunks > _MAX_TABLE_READ:
        return None
    try:
        import lazrs
    except ImportError:  # pragma: no cover - lazrs is a dependency
        return None
    fh.seek(data_start)
    try:
        return [(int(p), int(b)) for p, b in lazrs.read_chunk_table(fh, lazrs.LazVlr(vlr))]
    except BaseException as exc:
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        raise _Corrupt(f"the LAZ chunk table cannot be decoded ({type(exc).__name__})") from None


def is_panic(exc: BaseException) -> bool:
    """True when ``exc`` is a Rust panic surfaced by a pyo3 extension (lazrs).

    pyo3 raises ``pyo3_runtime.PanicException``, a ``BaseException`` that each
    extension module creates for itself, so it can only be told by its name.

    Parameters
    ----------
    exc : BaseException

    Returns
    -------
    bool
    """
    kind = type(exc)
    return kind.__name__ == "PanicException" and kind.__module__ == "pyo3_runtime"


#: a COPC hierarchy entry: key (depth, x, y, z), offset, byte size, point count
_COPC_ENTRY = np.dtype(
    [("key", "<i4", 4), ("offset", "<u8"), ("byte_size", "<i4"), ("point_count", "<i4")]
)


def check_copc_hierarchy(path: str | os.PathLike) -> None:
    """Check a COPC file's octree hierarchy against the file size.

    Every hierarchy page and every data node must lie inside the file, and no
    node may announce more points than a LAZ chunk can hold. Pages are read
    once each (a loop of pages is refused), so the work is bounded by the
    file size.

    Parameters
    ----------
    path : path-like
        A file that passed :func:`check_file` and has a COPC info VLR.

    Raises
    ------
    CorruptFileError
        When a page or node lies outside the file or is inconsistent.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            _check_copc(fh)
    except _Corrupt as exc:
        raise CorruptFileError(f"{path}: {exc}; {_fix()}") from None


def _check_copc(fh: BinaryIO) -> None:
    facts = _check(fh)
    if not facts.copc:
        raise _Corrupt("the COPC info VLR is missing or is not the first VLR")
    size = facts.file_size
    header_size = struct.unpack("<H", _read_at(fh, 94, 2, "the header size"))[0]
    info = _read_at(fh, header_size + _VLR_HEADER, 160, "the COPC info VLR")
    cx, cy, cz, halfsize, spacing, root, root_size = struct.unpack_from("<5dQQ", info)
    if not all(math.isfinite(v) for v in (cx, cy, cz, halfsize, spacing)) or halfsize <= 0:
        raise _Corrupt("the COPC info VLR's octree center or size is not a usable number")
    pages = [(root, root_size)]
    seen: set[int] = set()
    read = 0
    while pages:
        offset, length = pages.pop()
        if offset in seen:
            raise _Corrupt(f"the COPC hierarchy page at byte {offset} is referenced twice")
        seen.add(offset)
        if length <= 0 or length % _COPC_ENTRY.itemsize or offset + length > size:
            raise _Corrupt(
                f"the COPC hierarchy page at byte {offset} ({length} bytes) does not fit the file"
            )
        read += length
        if read > size:
            raise _Corrupt("the COPC hierarchy pages add up to more than the file")
        entries = np.frombuffer(_read_at(fh, offset, length, "a COPC hierarchy page"), _COPC_ENTRY)
        count = entries["point_count"].astype(np.int64)
        ends = entries["offset"].astype(np.float64) + entries["byte_size"]
        child = count == -1
        data = count > 0
        if (count < -1).any() or (entries["byte_size"][child | data] <= 0).any():
            raise _Corrupt(f"the COPC hierarchy page at byte {offset} has inconsistent entries")
        if (ends[child | data] > size).any():
            raise _Corrupt(f"the COPC hierarchy page at byte {offset} points past the file end")
        if (count[data] * facts.record_length > MAX_CHUNK_BYTES).any():
            raise _Corrupt("a COPC node announces more points than a LAZ chunk can hold")
        pages += [(int(o), int(b)) for o, b in entries[child][["offset", "byte_size"]].tolist()]
