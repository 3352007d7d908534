"""Reading and writing LAS, LAZ and COPC files (laspy with the lazrs backend).

Everything that touches a point file goes through this module:

- :func:`read` loads a whole file as a :class:`~pcrs.points.PointCloud`;
- :func:`iter_chunks` streams a file in chunks of ``chunk_size`` points;
- :func:`info` reads the header only (no point is decompressed);
- :func:`read_window` reads the points inside a box; on a COPC file only the
  octree nodes that meet the box are decompressed;
- :func:`class_histogram` counts classes in bounded memory;
- :func:`write` and :class:`LasStreamWriter` write LAS or LAZ atomically.

Inputs are opened read-only and never modified. Every failure to read a file
becomes a :class:`~pcrs.errors.PcrsIOError` whose message names the file.
"""

from __future__ import annotations

import logging
import os
import struct
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import laspy
import numpy as np
from laspy.vlrs.vlrlist import VLRList
from pyproj import CRS

from ..errors import (
    CorruptFileError,
    ParameterError,
    PcrsError,
    PcrsIOError,
    UnsupportedFormatError,
)
from ..points import LasLayout, PointCloud
from . import _las_guard
from .atomic import atomic_path
from .crs import crs_from_las_header, epsg_code, parse_crs
from .las_layout import (
    FormatChoice,
    build_header,
    check_classes_fit,
    choose_format,
    dropped_attributes,
    fill_record,
    layout_from_header,
    xyz_floats,
)

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "LasInfo",
    "LasRawHeader",
    "LasStreamWriter",
    "class_histogram",
    "info",
    "iter_chunks",
    "iter_records",
    "raw_header",
    "read",
    "read_window",
    "write",
]

log = logging.getLogger(__name__)

#: Points per chunk when streaming: about 50-100 MB of arrays for format 6-8.
DEFAULT_CHUNK_SIZE = 2_000_000

_COORDS = ("X", "Y", "Z")


# --- opening and error translation ----------------------------------------------------


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:160]


def _open_reader(path: str | os.PathLike) -> laspy.LasReader:
    path = Path(path)
    if not path.exists():
        raise PcrsIOError(f"{path}: no such file; check the path")
    if path.is_dir():
        raise PcrsIOError(f"{path}: is a folder, not a LAS/LAZ file")
    try:
        with open(path, "rb") as fh:
            signature = fh.read(4)
            if signature == b"LASF":
                # header, VLRs, EVLRs, laszip VLR and chunk table against the file size,
                # before laspy or lazrs allocate anything from them
                _las_guard.check_open_file(fh, path)
    except PcrsIOError:
        raise
    except OSError as exc:
        raise PcrsIOError(f"{path}: cannot be opened ({exc.strerror})") from exc
    if signature != b"LASF":
        raise CorruptFileError(
            f"{path}: not a LAS/LAZ file (it does not start with the 'LASF' signature); "
            "check that it is a point cloud and was fully downloaded"
        )
    try:
        return laspy.open(path, mode="r")
    except BaseException as exc:
        if not _is_read_error(exc):
            raise
        raise CorruptFileError(
            f"{path}: the LAS header or its VLRs are corrupt ({_describe(exc)}); "
            "the file cannot be read, get a new copy from its producer"
        ) from exc


def _read_failed(path, exc: BaseException) -> CorruptFileError:
    return CorruptFileError(
        f"{path}: the point records are corrupt or truncated ({_describe(exc)}); "
        "get a new copy of the file from its producer"
    )


_READ_ERRORS = (
    laspy.errors.LaspyException,
    ValueError,
    struct.error,
    EOFError,
    OSError,
    RuntimeError,  # lazrs.LazrsError derives from it
    MemoryError,
    OverflowError,
    IndexError,
    KeyError,
    TypeError,
)

#: a LAZ file whose points would expand more than this over its size is read in chunks
_PLAUSIBLE_EXPANSION = 40


def _is_read_error(exc: BaseException) -> bool:
    """True for what laspy or lazrs raise on a corrupt file (a Rust panic included)."""
    return isinstance(exc, _READ_ERRORS) or _las_guard.is_panic(exc)


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Turn a decoder failure inside the block into a CorruptFileError naming ``path``."""
    try:
        yield
    except PcrsError:
        raise
    except BaseException as exc:
        if not _is_read_error(exc):
            raise
        raise _read_failed(path, exc) from exc


def _read_points(reader: laspy.LasReader, path: Path) -> laspy.ScaleAwarePointRecord:
    """All the points of ``reader``; memory follows what the file holds, not its header."""
    header = reader.header
    count = int(header.point_count)
    if count * header.point_format.size <= _PLAUSIBLE_EXPANSION * path.stat().st_size:
        return reader.read_points(-1)
    # the header may lie about the count: read in chunks until the points run out
    parts = []
    while count > 0:
        part = reader.read_points(min(DEFAULT_CHUNK_SIZE, count))
        if len(part) == 0:
            break
        parts.append(part.array)
        count -= len(part)
    array = np.concatenate(parts) if len(parts) != 1 else parts[0]
    return laspy.ScaleAwarePointRecord(array, header.point_format, header.scales, header.offsets)


def _is_copc(header: laspy.LasHeader) -> bool:
    return any(getattr(v, "user_id", "") == "copc" for v in header.vlrs)


# --- header facts ---------------------------------------------------------------------


@dataclass
class LasInfo:
    """Facts read from a LAS/LAZ/COPC header, without reading the points.

    Attributes
    ----------
    path : Path
    points : int
    point_format : int
    las_version : str
    compressed : bool
    copc : bool
    scales, offsets : tuple of float
    bounds : tuple of float
        ``(minx, miny, minz, maxx, maxy, maxz)`` as written in the header.
    crs : pyproj.CRS or None
    extra_dims : list of (name, dtype string)
    points_by_return : list of int
    generating_software, system_identifier : str
    creation_date : str or None
    file_size : int
    """

    path: Path
    points: int
    point_format: int
    las_version: str
    compressed: bool
    copc: bool
    scales: tuple[float, float, float]
    offsets: tuple[float, float, float]
    bounds: tuple[float, float, float, float, float, float]
    crs: CRS | None
    extra_dims: list[tuple[str, str]] = field(default_factory=list)
    points_by_return: list[int] = field(default_factory=list)
    generating_software: str = ""
    system_identifier: str = ""
    creation_date: str | None = None
    file_size: int = 0

    @property
    def epsg(self) -> int | None:
        """EPSG code of the CRS when one is identified."""
        return epsg_code(self.crs)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary (``crs`` is the EPSG integer, else the WKT, else None)."""
        code = self.epsg
        return {
            "path": str(self.path),
            "points": self.points,
            "point_format": self.point_format,
            "las_version": self.las_version,
            "compressed": self.compressed,
            "copc": self.copc,
            "crs": code if code is not None else (self.crs.to_wkt() if self.crs else None),
            "crs_name": self.crs.name if self.crs is not None else None,
            "bounds": list(self.bounds),
            "scales": list(self.scales),
            "offsets": list(self.offsets),
            "extra_dims": [{"name": n, "type": t} for n, t in self.extra_dims],
            "points_by_return": self.points_by_return,
            "generating_software": self.generating_software,
            "system_identifier": self.system_identifier,
            "creation_date": self.creation_date,
            "file_size": self.file_size,
        }


def _header_info(path: Path, header: laspy.LasHeader, compressed: bool) -> LasInfo:
    mins, maxs = header.mins, header.maxs
    extra = [
        (
            d.name,
            str(np.dtype(d.dtype).base) + (f"[{d.num_elements}]" if d.num_elements > 1 else ""),
        )
        for d in header.point_format.extra_dimensions
    ]
    date = header.creation_date
    return LasInfo(
        path=path,
        points=int(header.point_count),
        point_format=int(header.point_format.id),
        las_version=f"{header.version.major}.{header.version.minor}",
        compressed=compressed,
        copc=_is_copc(header),
        scales=xyz_floats(header.scales),
        offsets=xyz_floats(header.offsets),
        bounds=(*xyz_floats(mins), *xyz_floats(maxs)),
        crs=crs_from_las_header(header),
        extra_dims=extra,
        points_by_return=[int(n) for n in header.number_of_points_by_return],
        generating_software=str(header.generating_software).strip("\x00 "),
        system_identifier=str(header.system_identifier).strip("\x00 "),
        creation_date=date.isoformat() if date else None,
        file_size=path.stat().st_size,
    )


def info(path: str | os.PathLike) -> LasInfo:
    """Read the header facts of a LAS/LAZ/COPC file without reading its points.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    LasInfo

    Raises
    ------
    PcrsIOError
        When the file is missing or its header is unreadable.
    """
    path = Path(path)
    with _open_reader(path) as reader, _reading(path):
        return _header_info(path, reader.header, bool(reader.header.are_points_compressed))


# --- records <-> PointCloud -----------------------------------------------------------


def _record_to_cloud(
    record, header: laspy.LasHeader, crs: CRS | None, layout: LasLayout
) -> PointCloud:
    scales, offsets = header.scales, header.offsets
    # same arithmetic as laspy (int * scale + offset), done once, in float64
    x = record.array["X"].astype(np.float64) * scales[0] + offsets[0]
    y = record.array["Y"].astype(np.float64) * scales[1] + offsets[1]
    z = record.array["Z"].astype(np.float64) * scales[2] + offsets[2]
    attrs = {}
    for name in record.point_format.dimension_names:
        if name in _COORDS:
            continue
        attrs[name] = np.array(record[name])
    return PointCloud(x, y, z, attrs, crs, layout)


def read(
    path: str | os.PathLike,
    crs: Any = None,
) -> PointCloud:
    """Read a whole LAS/LAZ/COPC file.

    Parameters
    ----------
    path : path-like
    crs : CRS-like, optional
        Overrides the CRS found in the header (or supplies one when there is none).

    Returns
    -------
    PointCloud

    Examples
    --------
    >>> from pcrs import synth, io
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "scene.laz"
    >>> io.las.write(synth.make_scene(2000, seed=1).cloud, p)
    >>> len(io.las.read(p)) > 0
    True
    """
    path = Path(path)
    with _open_reader(path) as reader:
        header = reader.header
        file_crs = parse_crs(crs) if crs is not None else crs_from_las_header(header)
        with _reading(path):
            layout = layout_from_header(header, path)
            record = _read_points(reader, path)
            if len(record) != header.point_count:
                raise CorruptFileError(
                    f"{path}: the header announces {header.point_count} points but "
                    f"{len(record)} could be read; the file is truncated"
                )
            return _record_to_cloud(record, header, file_crs, layout)


def iter_chunks(
    path: str | os.PathLike,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    crs: Any = None,
) -> Generator[PointCloud, None, None]:
    """Stream a file as point clouds of at most ``chunk_size`` points.

    Memory stays bounded by the chunk size whatever the size of the file.

    Parameters
    ----------
    path : path-like
    chunk_size : int
        Points per chunk, > 0.
    crs : CRS-like, optional
        Overrides the CRS found in the header.

    Yields
    ------
    PointCloud
    """
    yield from _cloud_chunks(Path(path), chunk_size, crs)


def _cloud_chunks(
    path: Path,
    chunk_size: int,
    crs: Any,
    box: tuple[float, float, float, float] | None = None,
) -> Generator[PointCloud, None, None]:
    """:func:`iter_chunks`; with ``box`` ``(minx, miny, maxx, maxy)``, only the points in it,
    each chunk's records tested on their coordinates (the arithmetic of
    :func:`_record_to_cloud`, so the same points as :meth:`PointCloud.in_box` keeps) before
    the rest of the record is unpacked: reading a neighbour's buffer strip unpacks the
    strip, not the whole file. Chunks with no point in the box are skipped."""
    if int(chunk_size) <= 0:
        raise ParameterError(f"chunk_size must be a positive number of points, got {chunk_size!r}")
    with _open_reader(path) as reader:
        header = reader.header
        file_crs = parse_crs(crs) if crs is not None else crs_from_las_header(header)
        with _reading(path):
            layout = layout_from_header(header, path)
        for record in _records(reader, path, chunk_size):
            with _reading(path):
                if box is not None:
                    record = _records_in_box(record, header, box)
                    if record is None:
                        continue
                cloud = _record_to_cloud(record, header, file_crs, layout)
            yield cloud


def _records_in_box(record, header: laspy.LasHeader, box: tuple[float, float, float, float]):
    """The records of ``record`` inside ``box`` (the record itself when all are), or None."""
    minx, miny, maxx, maxy = box
    scales, offsets = header.scales, header.offsets
    x = record.array["X"].astype(np.float64) * scales[0] + offsets[0]
    keep = (x >= minx) & (x <= maxx)
    del x
    y = record.array["Y"].astype(np.float64) * scales[1] + offsets[1]
    keep &= (y >= miny) & (y <= maxy)
    del y
    if not keep.any():
        return None
    return record if keep.all() else record[keep]


def _records(
    reader: laspy.LasReader, path: Path, chunk_size: int
) -> Generator[laspy.ScaleAwarePointRecord, None, None]:
    """The point records of an open file, ``chunk_size`` at a time, until the header's
    count; a file that ends before it raises :class:`~pcrs.errors.CorruptFileError`."""
    remaining = int(reader.header.point_count)
    while remaining > 0:
        with _reading(path):
            record = reader.read_points(min(int(chunk_size), remaining))
            if len(record) == 0:
                raise CorruptFileError(
                    f"{path}: the file ends {remaining} points before the count in its "
                    "header; it is truncated"
                )
        remaining -= len(record)
        yield record


def read_window(
    path: str | os.PathLike,
    bounds: Sequence[float],
    crs: Any = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> PointCloud:
    """Read the points with ``minx <= x <= maxx`` and ``miny <= y <= maxy``.

    On a COPC file only the octree nodes that meet the box are read and
    decompressed. Other files are streamed in chunks and filtered, so memory
    stays bounded but the whole file is read.

    Parameters
    ----------
    path : path-like
    bounds : (minx, miny, maxx, maxy)
    crs : CRS-like, optional
        Overrides the CRS found in the header.
    chunk_size : int
        Chunk size when the file is not COPC.

    Returns
    -------
    PointCloud
    """
    if len(bounds) != 4:
        raise ParameterError(f"bounds must be (minx, miny, maxx, maxy), got {bounds!r}")
    minx, miny, maxx, maxy = (float(b) for b in bounds)
    if minx > maxx or miny > maxy:
        raise ParameterError(f"bounds {bounds!r} have min > max")
    path = Path(path)
    with _open_reader(path) as reader:
        copc = _is_copc(reader.header)
    if not copc:
        parts = list(_cloud_chunks(path, chunk_size, crs, (minx, miny, maxx, maxy)))
        if not parts:
            return _empty_like(path, crs)
        return PointCloud.concatenate(parts)
    # the octree hierarchy against the file size: node sizes and point counts
    _las_guard.check_copc_hierarchy(path)
    with _reading(path), laspy.CopcReader.open(str(path)) as copc_reader:
        header = copc_reader.header
        file_crs = parse_crs(crs) if crs is not None else crs_from_las_header(header)
        # widen by one scale step so that points on the edge are not lost to rounding
        pad = np.asarray(header.scales[:2])
        query = laspy.Bounds(mins=np.array([minx, miny]) - pad, maxs=np.array([maxx, maxy]) + pad)
        record = copc_reader.query(bounds=query)
        cloud = _record_to_cloud(record, header, file_crs, layout_from_header(header, path))
    return cloud[cloud.in_box(minx, miny, maxx, maxy)]


def _empty_like(path: Path, crs: Any) -> PointCloud:
    with _open_reader(path) as reader, _reading(path):
        header = reader.header
        record = laspy.ScaleAwarePointRecord.zeros(
            0, point_format=header.point_format, scales=header.scales, offsets=header.offsets
        )
        file_crs = parse_crs(crs) if crs is not None else crs_from_las_header(header)
        return _record_to_cloud(record, header, file_crs, layout_from_header(header, path))


def class_histogram(
    path: str | os.PathLike, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> dict[int, int]:
    """Count the points of each classification code, reading the file in chunks.

    Returns
    -------
    dict
        ``{code: count}`` for the codes present, in increasing code order.
    """
    counts = np.zeros(256, dtype=np.int64)
    for chunk in iter_chunks(path, chunk_size):
        counts += np.bincount(chunk.classification.astype(np.intp), minlength=256)[:256]
    return {int(c): int(counts[c]) for c in np.flatnonzero(counts)}


# --- writing --------------------------------------------------------------------------


def _choose_offsets(cloud: PointCloud) -> np.ndarray:
    if len(cloud) == 0:
        return np.zeros(3)
    mins = np.array([cloud.x.min(), cloud.y.min(), cloud.z.min()])
    return np.floor(mins / 1000.0) * 1000.0


def _offsets_for(cloud: PointCloud) -> np.ndarray:
    if cloud.layout.offsets is not None:
        return np.asarray(cloud.layout.offsets, dtype=np.float64)
    return _choose_offsets(cloud)


def _announce(path: Path, cloud: PointCloud, choice: FormatChoice) -> None:
    layout = cloud.layout
    if choice.reason:
        log.warning(
            "%s: written as LAS %s point format %d (the source was LAS %s point format %d): %s",
            path,
            choice.version,
            choice.point_format,
            layout.version,
            layout.point_format,
            choice.reason,
        )
    dropped = dropped_attributes(cloud, choice.point_format)
    if dropped:
        log.warning(
            "%s: point format %d has no field for %s; these values are not written",
            path,
            choice.point_format,
            ", ".join(dropped),
        )


#: output kinds by file name ending
_KINDS = ((".copc.laz", "copc"), (".laz", "laz"), (".las", "las"))
#: the COPC point format (6, 7 or 8) for each format, keeping what COPC can hold
_COPC_FORMAT = {0: 6, 1: 6, 2: 7, 3: 7, 4: 6, 5: 7, 6: 6, 7: 7, 8: 8, 9: 6, 10: 8}


def _output_kind(path: Path) -> str:
    name = path.name.lower()
    for ending, kind in _KINDS:
        if name.endswith(ending):
            return kind
    raise ParameterError(f"{path}: output must end in .las, .laz or .copc.laz")


def _plan(
    cloud: PointCloud, path: Path, kind: str, point_format: int | None, version: str | None
) -> FormatChoice:
    choice = choose_format(cloud, point_format, version)
    if kind == "copc" and choice.point_format not in (6, 7, 8):
        if point_format is not None:
            raise ParameterError(
                f"{path}: COPC files hold point formats 6, 7 or 8, not {point_format}; "
                "choose one of them or write a .laz file"
            )
        fmt = _COPC_FORMAT[choice.point_format]
        why = f"COPC holds point formats 6-8 (the source has format {choice.point_format})"
        choice = FormatChoice(fmt, "1.4", "; ".join(r for r in (choice.reason, why) if r))
    if kind == "copc" and choice.version != "1.4":
        raise ParameterError(f"{path}: COPC files are LAS 1.4, not {choice.version}")
    return choice


#: formats whose wave packet fields lazrs 0.8 compresses wrongly when the scanner channel changes
_WAVE_FORMATS = (9, 10)


def _refuse_lossy_laz(path: Path, cloud: PointCloud, fmt: int, channel: int | None) -> int | None:
    """Raise when lazrs would corrupt these points; return the scanner channel seen.

    lazrs 0.8 (laspy's LAZ backend) garbles the wave packet fields of formats
    9 and 10 as soon as the scanner channel changes from one point to the next
    (measured: every such file loses ``wavepacket_offset``, ``x_t``...).
    Uncompressed LAS is exact.
    """
    channels = cloud.get("scanner_channel")
    if fmt not in _WAVE_FORMATS or channels is None or channels.size == 0:
        return channel
    first = int(channels[0]) if channel is None else channel
    if np.any(channels != first):
        raise UnsupportedFormatError(
            f"{path}: the wave packet fields of point format {fmt} with several scanner "
            "channels cannot be compressed without loss by the LAZ library (lazrs); "
            "write a .las file instead"
        )
    return first


def _open_laz_writer(fh, header: laspy.LasHeader, compress: bool) -> laspy.LasWriter:
    return laspy.open(fh, mode="w", header=header, do_compress=compress, closefd=False)


def write(
    cloud: PointCloud,
    path: str | os.PathLike,
    *,
    overwrite: bool = False,
    point_format: int | None = None,
    version: str | None = None,
) -> None:
    """Write a point cloud to LAS, LAZ or COPC, atomically, losing nothing.

    The cloud's :attr:`~pcrs.points.PointCloud.layout` gives the point format,
    version, scales, offsets, extra dimensions, VLRs, extended VLRs, global
    encoding and file source id, so a cloud read by :func:`read` is written
    back with the same records (see :mod:`pcrs.io.las_layout`). The format is
    widened only when the points need it (classification codes above 31 need
    format 6 or more), with a warning naming the change. Attributes that are
    not standard fields become extra dimensions.

    Parameters
    ----------
    cloud : PointCloud
    path : path-like
        Ends with ``.las``, ``.laz`` or ``.copc.laz`` (a COPC file: LAS 1.4,
        point format 6, 7 or 8, octree-ordered LAZ chunks).
    overwrite : bool
        Replace an existing file.
    point_format : int, optional
        Write this point format (0-10) instead of the source's; values the
        format has no field for are named in a warning.
    version : str, optional
        Write this LAS version (``"1.2"``, ``"1.3"``, ``"1.4"``).

    Raises
    ------
    OutputExistsError
        When ``path`` exists and ``overwrite`` is false.
    ParameterError
        When the points do not fit the format asked (e.g. class 64 in format 3).
    """
    path = Path(path)
    kind = _output_kind(path)
    choice = _plan(cloud, path, kind, point_format, version)
    _announce(path, cloud, choice)
    if kind != "las":
        _refuse_lossy_laz(path, cloud, choice.point_format, None)
    header, names, evlrs = build_header(cloud, choice, _offsets_for(cloud))
    record = laspy.ScaleAwarePointRecord.zeros(len(cloud), header=header)
    fill_record(record, cloud, header, names, path)
    with atomic_path(path, overwrite) as tmp:
        if kind == "copc":
            from .copc import write_copc

            header.evlrs = VLRList(evlrs)
            write_copc(tmp, header, record)
            return
        with (
            open(tmp, "wb") as fh,
            _open_laz_writer(fh, header, kind == "laz") as writer,
        ):
            writer.write_points(record)
            if evlrs:
                writer.write_evlrs(VLRList(evlrs))


class LasStreamWriter:
    """Write a LAS/LAZ/COPC file chunk by chunk, atomically.

    The file appears under its final name only when the ``with`` block ends
    without error; otherwise the partial file is removed. The point format is
    chosen from ``template`` as :func:`write` does; a chunk that needs more
    (a class above 31 in format 0-5) is refused. A ``.copc.laz`` output is
    streamed to a temporary LAZ file, then ordered into its octree on
    closing, which holds the whole file in memory once.

    Parameters
    ----------
    path : path-like
    template : PointCloud
        Gives the layout, the CRS and the attribute names (it may be empty).
    overwrite : bool
    point_format : int, optional
    version : str, optional

    Examples
    --------
    >>> from pcrs import synth
    >>> import tempfile, pathlib
    >>> cloud = synth.make_scene(3000, seed=2).cloud
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "out.laz"
    >>> with LasStreamWriter(p, cloud) as w:
    ...     w.write(cloud[:1000]); w.write(cloud[1000:])
    >>> info(p).points == len(cloud)
    True
    """

    def __init__(
        self,
        path: str | os.PathLike,
        template: PointCloud,
        overwrite: bool = False,
        point_format: int | None = None,
        version: str | None = None,
    ) -> None:
        self.path = Path(path)
        self._kind = _output_kind(self.path)
        self._choice = _plan(template, self.path, self._kind, point_format, version)
        self._offsets = _offsets_for(template)
        self._template = template
        self._overwrite = overwrite
        self._channel: int | None = None
        self.points_written = 0

    def __enter__(self) -> LasStreamWriter:
        self._ctx = atomic_path(self.path, self._overwrite)
        tmp = self._ctx.__enter__()
        try:
            _announce(self.path, self._template, self._choice)
            self._header, self._names, self._evlrs = build_header(
                self._template, self._choice, self._offsets
            )
            self._stream_path = tmp.with_name(tmp.name + ".laz") if self._kind == "copc" else tmp
            self._fh = open(self._stream_path, "wb")
            self._writer = _open_laz_writer(self._fh, self._header, self._kind != "las")
        except BaseException as exc:
            self._ctx.__exit__(type(exc), exc, exc.__traceback__)
            raise
        self._tmp = tmp
        return self

    def write(self, cloud: PointCloud) -> None:
        """Append the points of ``cloud`` (same attribute names as the template)."""
        if len(cloud) == 0:
            return
        fmt = self._choice.point_format
        check_classes_fit(cloud, fmt, self.path)
        if self._kind != "las":
            self._channel = _refuse_lossy_laz(self.path, cloud, fmt, self._channel)
        record = laspy.ScaleAwarePointRecord.zeros(len(cloud), header=self._header)
        fill_record(record, cloud, self._header, self._names, self.path)
        self._writer.write_points(record)
        self.points_written += len(cloud)

    def __exit__(self, exc_type, exc, tb) -> bool:
        try:
            self._close(finish=exc_type is None)
        except BaseException as err:
            if exc_type is not None:  # already failing: the first error is the one to tell
                return bool(self._ctx.__exit__(exc_type, exc, tb))
            self._ctx.__exit__(type(err), err, err.__traceback__)  # removes the partial file
            raise
        return bool(self._ctx.__exit__(exc_type, exc, tb))

    def _close(self, finish: bool) -> None:
        try:
            try:
                if finish and self._evlrs and self._kind != "copc":
                    self._writer.write_evlrs(VLRList(self._evlrs))
                self._writer.close()
            finally:
                self._fh.close()
            if finish and self._kind == "copc":
                self._finish_copc()
        finally:
            if self._kind == "copc":
                self._stream_path.unlink(missing_ok=True)

    def _finish_copc(self) -> None:
        from .copc import write_copc

        with laspy.open(self._stream_path) as reader:
            record = reader.read_points(-1)
        header = self._header
        header.evlrs = VLRList(self._evlrs)
        write_copc(self._tmp, header, record)


# --- raw header fields and raw point records (the LiDAR conformity check) ---------------

#: bytes of each Extra Bytes data type of LAS 1.4 (type 0: ``options`` bytes, undocumented)
_EXTRA_BYTES_SIZES = (0, 1, 1, 2, 2, 4, 4, 8, 8, 4, 8)


def _extra_bytes_size(dtype: int, options: int) -> int:
    """Bytes of one Extra Bytes entry: type 0 is ``options`` bytes; 11-20 and 21-30 are
    the 2- and 3-element arrays of types 1-10 (LAS 1.3/1.4 before R14)."""
    if dtype == 0:
        return options
    if dtype <= 30:
        return _EXTRA_BYTES_SIZES[(dtype - 1) % 10 + 1] * (1 + (dtype - 1) // 10)
    return 0


@dataclass(frozen=True)
class LasRawHeader:
    """Header fields as stored, which :class:`LasInfo` does not keep.

    Attributes
    ----------
    global_encoding : int
        Bit 0: GPS time is adjusted standard GPS time (else GPS week time); bit 4: the
        CRS is WKT (required for point formats 6-10).
    point_format : int
        The point data record format id (the LAZ compression bits removed).
    record_length : int
        The point data record length declared in the header, bytes.
    standard_length : int
        The length of the point format without extra bytes (0 for an unknown format).
    declared_extra_bytes : int
        Bytes described by the Extra Bytes VLR (LAS 1.4), 0 without one.
    header_size : int
    """

    global_encoding: int
    point_format: int
    record_length: int
    standard_length: int
    declared_extra_bytes: int
    header_size: int


def raw_header(path: str | os.PathLike) -> LasRawHeader:
    """Read the header fields of :class:`LasRawHeader` from the file's bytes.

    Raises
    ------
    PcrsIOError
        When the file cannot be opened or its header is unreadable.

    Examples
    --------
    >>> from pcrs import synth, io
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "scene.las"
    >>> io.las.write(synth.make_scene(500, seed=1).cloud, p)
    >>> io.las.raw_header(p).record_length
    30
    """
    path = Path(path)
    with _open_reader(path) as reader:  # the guard's checks first
        header = reader.header
    try:
        with open(path, "rb") as fh:
            head = fh.read(227)
            (encoding,) = struct.unpack_from("<H", head, 6)
            (header_size,) = struct.unpack_from("<H", head, 94)
            (n_vlrs,) = struct.unpack_from("<I", head, 100)
            fmt = head[104] & 0x3F
            (length,) = struct.unpack_from("<H", head, 105)
            declared = 0
            fh.seek(header_size)
            for _ in range(min(n_vlrs, 10_000)):
                vh = fh.read(54)
                if len(vh) < 54:
                    break
                user, record_id, size = vh[2:18], *struct.unpack_from("<HH", vh, 18)
                payload_at = fh.tell()
                if user.rstrip(b"\0") == b"LASF_Spec" and record_id == 4:
                    payload = fh.read(size)
                    for k in range(len(payload) // 192):
                        dtype, options = payload[192 * k + 2], payload[192 * k + 3]
                        declared += _extra_bytes_size(dtype, options)
                fh.seek(payload_at + size)
    except (OSError, struct.error, IndexError) as exc:
        raise CorruptFileError(f"{path}: the LAS header cannot be read ({_describe(exc)})") from exc
    try:
        standard = laspy.PointFormat(fmt).size
    except laspy.errors.LaspyException:
        standard = 0
    del header
    return LasRawHeader(int(encoding), int(fmt), int(length), int(standard), int(declared),
                        int(header_size))  # fmt: skip


def iter_records(
    path: str | os.PathLike, chunk_size: int = DEFAULT_CHUNK_SIZE
) -> Generator[tuple[laspy.LasHeader, np.ndarray], None, None]:
    """Stream a file's point records as stored: ``(header, structured array)`` chunks.

    Lighter than :func:`iter_chunks` (no float coordinates, no unpacked attributes): the
    array holds the integer ``X``, ``Y``, ``Z`` and the packed fields of the point format
    (``bit_fields``, ``classification_flags``... as laspy names them). A chunk that cannot
    be decoded, or a file shorter than its header's count, raises
    :class:`~pcrs.errors.CorruptFileError` after the chunks read before it.

    Parameters
    ----------
    path : path-like
    chunk_size : int
        Points per chunk, > 0.

    Yields
    ------
    (laspy.LasHeader, numpy.ndarray)
    """
    if int(chunk_size) <= 0:
        raise ParameterError(f"chunk_size must be a positive number of points, got {chunk_size!r}")
    path = Path(path)
    with _open_reader(path) as reader:
        for record in _records(reader, path, chunk_size):
            yield reader.header, record.array
