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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import laspy
import numpy as np
from pyproj import CRS

from ..errors import (
    CorruptFileError,
    ParameterError,
    PcrsIOError,
    UnsupportedFormatError,
)
from ..points import LasLayout, PointCloud
from .atomic import atomic_path
from .crs import crs_from_las_header, epsg_code, parse_crs

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "LasInfo",
    "LasStreamWriter",
    "class_histogram",
    "info",
    "iter_chunks",
    "read",
    "read_window",
    "write",
]

log = logging.getLogger(__name__)

#: Points per chunk when streaming: about 50-100 MB of arrays for format 6-8.
DEFAULT_CHUNK_SIZE = 2_000_000

_COORDS = ("X", "Y", "Z")
#: Format 0-5 classification is 5 bits wide.
_MAX_LEGACY_CLASS = 31
_MIN_VERSION = {0: "1.2", 1: "1.2", 2: "1.2", 3: "1.2", 4: "1.3", 5: "1.3"}
_CRS_VLR_IDS = {2111, 2112, 34735, 34736, 34737}


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
    except OSError as exc:
        raise PcrsIOError(f"{path}: cannot be opened ({exc.strerror})") from exc
    if signature != b"LASF":
        raise CorruptFileError(
            f"{path}: not a LAS/LAZ file (it does not start with the 'LASF' signature); "
            "check that it is a point cloud and was fully downloaded"
        )
    try:
        return laspy.open(path, mode="r")
    except (laspy.errors.LaspyException, ValueError, struct.error, EOFError, OSError) as exc:
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
    RuntimeError,
)


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
        scales=tuple(float(s) for s in header.scales),
        offsets=tuple(float(o) for o in header.offsets),
        bounds=(*(float(v) for v in mins), *(float(v) for v in maxs)),
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
    with _open_reader(path) as reader:
        try:
            return _header_info(path, reader.header, bool(reader.header.are_points_compressed))
        except _READ_ERRORS as exc:  # pragma: no cover - header already parsed
            raise CorruptFileError(f"{path}: unreadable header ({_describe(exc)})") from exc


# --- records <-> PointCloud -----------------------------------------------------------


def _layout_from_header(header: laspy.LasHeader) -> LasLayout:
    extra = tuple(
        laspy.ExtraBytesParams(
            name=d.name,
            type=np.dtype(d.dtype),
            description=d.description or "",
            offsets=d.offsets,
            scales=d.scales,
        )
        for d in header.point_format.extra_dimensions
    )
    kept = tuple(
        v
        for v in header.vlrs
        if getattr(v, "user_id", "") not in ("copc", "laszip encoded")
        and not (getattr(v, "user_id", "") == "LASF_Spec" and v.record_id == 4)
    )
    return LasLayout(
        point_format=int(header.point_format.id),
        version=f"{header.version.major}.{header.version.minor}",
        scales=tuple(float(s) for s in header.scales),
        offsets=tuple(float(o) for o in header.offsets),
        extra_dims=extra,
        vlrs=kept,
    )


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
        layout = _layout_from_header(header)
        try:
            record = reader.read_points(-1)
        except _READ_ERRORS as exc:
            raise _read_failed(path, exc) from exc
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
) -> Iterator[PointCloud]:
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
    if int(chunk_size) <= 0:
        raise ParameterError(f"chunk_size must be a positive number of points, got {chunk_size!r}")
    path = Path(path)
    with _open_reader(path) as reader:
        header = reader.header
        file_crs = parse_crs(crs) if crs is not None else crs_from_las_header(header)
        layout = _layout_from_header(header)
        remaining = int(header.point_count)
        while remaining > 0:
            try:
                record = reader.read_points(min(int(chunk_size), remaining))
            except _READ_ERRORS as exc:
                raise _read_failed(path, exc) from exc
            if len(record) == 0:
                raise CorruptFileError(
                    f"{path}: the file ends {remaining} points before the count in its header; "
                    "it is truncated"
                )
            remaining -= len(record)
            yield _record_to_cloud(record, header, file_crs, layout)


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
        parts = [c[c.in_box(minx, miny, maxx, maxy)] for c in iter_chunks(path, chunk_size, crs)]
        if not parts:
            return _empty_like(path, crs)
        return PointCloud.concatenate(parts)
    try:
        with laspy.CopcReader.open(str(path)) as copc_reader:
            header = copc_reader.header
            file_crs = parse_crs(crs) if crs is not None else crs_from_las_header(header)
            # widen by one scale step so that points on the edge are not lost to rounding
            pad = np.asarray(header.scales[:2])
            query = laspy.Bounds(
                mins=np.array([minx, miny]) - pad, maxs=np.array([maxx, maxy]) + pad
            )
            record = copc_reader.query(bounds=query)
            cloud = _record_to_cloud(record, header, file_crs, _layout_from_header(header))
    except _READ_ERRORS as exc:
        raise _read_failed(path, exc) from exc
    return cloud[cloud.in_box(minx, miny, maxx, maxy)]


def _empty_like(path: Path, crs: Any) -> PointCloud:
    with _open_reader(path) as reader:
        header = reader.header
        record = laspy.ScaleAwarePointRecord.zeros(
            0, point_format=header.point_format, scales=header.scales, offsets=header.offsets
        )
        file_crs = parse_crs(crs) if crs is not None else crs_from_las_header(header)
        return _record_to_cloud(record, header, file_crs, _layout_from_header(header))


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


def _standard_dims(point_format: int) -> set[str]:
    return set(laspy.PointFormat(point_format).dimension_names) - set(_COORDS)


def _all_standard_dims() -> set[str]:
    names: set[str] = set()
    for fmt in range(11):
        names |= _standard_dims(fmt)
    return names


_ANY_STANDARD_DIM = _all_standard_dims()


def _choose_offsets(cloud: PointCloud, scales: np.ndarray) -> np.ndarray:
    if len(cloud) == 0:
        return np.zeros(3)
    mins = np.array([cloud.x.min(), cloud.y.min(), cloud.z.min()])
    return np.floor(mins / 1000.0) * 1000.0


def _check_compatible(layout: LasLayout, classes: np.ndarray | None, target: Path) -> None:
    fmt, version = layout.point_format, layout.version
    if not 0 <= fmt <= 10:
        raise ParameterError(f"point format {fmt!r} does not exist; LAS has formats 0 to 10")
    if version not in ("1.2", "1.3", "1.4"):
        raise ParameterError(f"LAS version {version!r} is not supported; use 1.2, 1.3 or 1.4")
    if fmt >= 6 and version != "1.4":
        raise ParameterError(f"point format {fmt} needs LAS 1.4, not {version}")
    if fmt in (4, 5) and version == "1.2":
        raise ParameterError(f"point format {fmt} needs LAS 1.3 or 1.4, not 1.2")
    if fmt < 6 and classes is not None and classes.size and int(classes.max()) > _MAX_LEGACY_CLASS:
        raise ParameterError(
            f"{target}: classification code {int(classes.max())} does not fit point format {fmt} "
            "(codes 0-31 only); write point format 6 or higher (LAS 1.4), e.g. point_format=6"
        )


def _build_header(cloud: PointCloud, layout: LasLayout) -> tuple[laspy.LasHeader, list[str]]:
    """A header for ``cloud`` in ``layout``, and the attributes that will be stored."""
    header = laspy.LasHeader(point_format=layout.point_format, version=layout.version)
    scales = np.asarray(layout.scales, dtype=np.float64)
    offsets = (
        np.asarray(layout.offsets, dtype=np.float64)
        if layout.offsets is not None
        else _choose_offsets(cloud, scales)
    )
    header.scales = scales
    header.offsets = offsets
    standard = _standard_dims(layout.point_format)
    known_extra = {p.name: p for p in layout.extra_dims}
    extra_params = []
    dropped = []
    for name, values in cloud.attributes.items():
        if name in standard:
            continue
        if name in _ANY_STANDARD_DIM:
            dropped.append(name)
            continue
        if name in known_extra:
            extra_params.append(known_extra[name])
        else:
            arr = np.asarray(values)
            dtype = arr.dtype if arr.dtype != bool else np.dtype(np.uint8)
            if dtype.kind not in "iuf":
                raise ParameterError(
                    f"attribute {name!r} has dtype {dtype}; extra dimensions must be numeric"
                )
            type_str = dtype.str[1:] if arr.ndim == 1 else f"{arr.shape[1]}{dtype.str[1:]}"
            extra_params.append(laspy.ExtraBytesParams(name=name, type=type_str))
    if dropped:
        log.warning(
            "point format %d has no field for %s; these attributes are not written",
            layout.point_format,
            ", ".join(sorted(dropped)),
        )
    if extra_params:
        header.add_extra_dims(extra_params)
    for vlr in layout.vlrs:
        if getattr(vlr, "user_id", "") == "LASF_Projection" and vlr.record_id in _CRS_VLR_IDS:
            continue
        header.vlrs.append(vlr)
    _set_crs(header, cloud.crs, layout)
    stored = [n for n in cloud.attributes if n in standard or n not in _ANY_STANDARD_DIM]
    return header, stored


def _set_crs(header: laspy.LasHeader, crs: CRS | None, layout: LasLayout) -> None:
    if crs is None:
        return
    # keep the producer's own CRS records when the CRS did not change
    original = [
        v
        for v in layout.vlrs
        if getattr(v, "user_id", "") == "LASF_Projection" and v.record_id in _CRS_VLR_IDS
    ]
    if original:
        probe = laspy.LasHeader(point_format=header.point_format.id, version=header.version)
        probe.vlrs.extend(original)
        if crs_from_las_header(probe) == crs:
            has_wkt = any(v.record_id == 2112 for v in original)
            if header.point_format.id < 6 or has_wkt:
                header.vlrs.extend(original)
                if has_wkt and header.version.minor >= 4:
                    header.global_encoding.wkt = True
                return
    try:
        header.add_crs(crs)
    except Exception:  # custom CRS without EPSG code cannot become GeoTIFF keys
        header.vlrs.append(laspy.vlrs.known.WktCoordinateSystemVlr(crs.to_wkt()))
        if header.version.minor >= 4:
            header.global_encoding.wkt = True


def _fill_record(
    record, cloud: PointCloud, header: laspy.LasHeader, names: list[str], target
) -> None:
    for axis, coord in zip(_COORDS, (cloud.x, cloud.y, cloud.z), strict=True):
        i = "XYZ".index(axis)
        ints = np.round((coord - header.offsets[i]) / header.scales[i])
        if ints.size and (
            ints.min() < np.iinfo(np.int32).min or ints.max() > np.iinfo(np.int32).max
        ):
            raise ParameterError(
                f"{target}: {axis.lower()} coordinates do not fit LAS 32-bit integers with scale "
                f"{header.scales[i]} and offset {header.offsets[i]}; use a coarser scale"
            )
        record.array[axis] = ints.astype(np.int32)
    for name in names:
        values = cloud.attributes[name]
        if values.dtype == bool:
            values = values.astype(np.uint8)
        try:
            record[name] = values
        except (OverflowError, ValueError, TypeError) as exc:
            raise ParameterError(
                f"{target}: attribute {name!r} cannot be stored in point format "
                f"{header.point_format.id} ({_describe(exc)})"
            ) from exc


def _target_layout(cloud: PointCloud, point_format: int | None, version: str | None) -> LasLayout:
    layout = cloud.layout
    changes: dict[str, Any] = {}
    if point_format is not None:
        changes["point_format"] = int(point_format)
        if version is None:
            version = (
                "1.4"
                if int(point_format) >= 6
                else max(layout.version, _MIN_VERSION[int(point_format)])
            )
    if version is not None:
        changes["version"] = str(version)
    if changes:
        from dataclasses import replace

        layout = replace(layout, **changes)
    return layout


def _compress_for(path: Path) -> bool:
    name = path.name.lower()
    if name.endswith(".copc.laz"):
        raise UnsupportedFormatError(
            f"{path}: writing COPC is not supported; write a .laz (or .las) file instead"
        )
    if name.endswith(".laz"):
        return True
    if name.endswith(".las"):
        return False
    raise ParameterError(f"{path}: output must end in .las or .laz")


def write(
    cloud: PointCloud,
    path: str | os.PathLike,
    *,
    overwrite: bool = False,
    point_format: int | None = None,
    version: str | None = None,
) -> None:
    """Write a point cloud to LAS (``.las``) or LAZ (``.laz``), atomically.

    The cloud's :attr:`~pcrs.points.PointCloud.layout` gives the point format,
    version, scales, offsets and extra dimension types, so a cloud read by
    :func:`read` is written back with the same records. Attributes that are
    not standard fields of the format become extra dimensions.

    Parameters
    ----------
    cloud : PointCloud
    path : path-like
        Ends with ``.las`` or ``.laz``.
    overwrite : bool
        Replace an existing file.
    point_format : int, optional
        Change the point format (0-10).
    version : str, optional
        Change the LAS version (``"1.2"``, ``"1.3"``, ``"1.4"``).

    Raises
    ------
    OutputExistsError
        When ``path`` exists and ``overwrite`` is false.
    ParameterError
        When the points do not fit the format (e.g. class 64 in format 3).
    """
    path = Path(path)
    compress = _compress_for(path)
    layout = _target_layout(cloud, point_format, version)
    _check_compatible(layout, cloud.get("classification"), path)
    header, names = _build_header(cloud, layout)
    record = laspy.ScaleAwarePointRecord.zeros(len(cloud), header=header)
    _fill_record(record, cloud, header, names, path)
    with (
        atomic_path(path, overwrite) as tmp,
        open(tmp, "wb") as fh,
        laspy.open(fh, mode="w", header=header, do_compress=compress, closefd=False) as writer,
    ):
        writer.write_points(record)


class LasStreamWriter:
    """Write a LAS/LAZ file chunk by chunk, atomically.

    The file appears under its final name only when the ``with`` block ends
    without error; otherwise the partial file is removed.

    Parameters
    ----------
    path : path-like
    template : PointCloud
        Gives the layout, the CRS and the attribute names (it may be empty).
    overwrite : bool

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
        self._compress = _compress_for(self.path)
        self._layout = _target_layout(template, point_format, version)
        if self._layout.offsets is None:
            from dataclasses import replace

            self._layout = replace(
                self._layout,
                offsets=tuple(_choose_offsets(template, np.asarray(self._layout.scales))),
            )
        self._template = template
        self._overwrite = overwrite
        self.points_written = 0

    def __enter__(self) -> LasStreamWriter:
        self._ctx = atomic_path(self.path, self._overwrite)
        tmp = self._ctx.__enter__()
        try:
            _check_compatible(self._layout, None, self.path)
            self._header, self._names = _build_header(self._template, self._layout)
            self._fh = open(tmp, "wb")
            self._writer = laspy.open(
                self._fh, mode="w", header=self._header, do_compress=self._compress, closefd=False
            )
        except BaseException as exc:
            self._ctx.__exit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    def write(self, cloud: PointCloud) -> None:
        """Append the points of ``cloud`` (same attribute names as the template)."""
        if len(cloud) == 0:
            return
        _check_compatible(self._layout, cloud.get("classification"), self.path)
        record = laspy.ScaleAwarePointRecord.zeros(len(cloud), header=self._header)
        _fill_record(record, cloud, self._header, self._names, self.path)
        self._writer.write_points(record)
        self.points_written += len(cloud)

    def __exit__(self, exc_type, exc, tb) -> bool:
        try:
            self._writer.close()
        finally:
            self._fh.close()
        return bool(self._ctx.__exit__(exc_type, exc, tb))
