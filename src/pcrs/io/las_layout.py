"""How a point cloud is laid out in the LAS file it is written to.

:func:`pcrs.io.las.write` and :class:`pcrs.io.las.LasStreamWriter` ask this
module three things:

1. **Which point format and version** (:func:`choose_format`). What the source
   file had is kept (its :class:`~pcrs.points.LasLayout`) unless what is
   written needs more: classification codes above 31, or attributes that the
   format has no field for (``overlap``, ``scanner_channel``, ``nir``, colours,
   wave packets, a ``scan_angle`` from a LAS 1.4 file joined to LAS 1.2 ones).
   Then the smallest format that holds everything the source format held plus
   what is new is chosen, as PDAL's ``writers.las`` and LAStools' ``las2las``
   do when asked: 0/1 become 6, 2/3 become 7, 4 becomes 9, 5 becomes 10, and the
   version becomes 1.4. A format or version the user asks for is obeyed, and
   any value it cannot store is named in a warning.
2. **The header** (:func:`build_header`): scales, offsets, global encoding,
   file source id and system identifier of the source; its VLRs in their order
   (the LAZ and COPC records excepted, which the writer makes anew); its CRS
   records as they were when the CRS did not change; its extended VLRs; and
   its extra bytes exactly as they were declared: the Extra Bytes VLR is copied
   byte for byte when the extra dimensions are the source's, and undocumented
   bytes (a record longer than its declared fields) stay undocumented, since
   laspy cannot read back every description of them that it writes.
3. **The record** (:func:`fill_record`): coordinates and every attribute,
   with the exact conversions between formats (``scan_angle_rank`` in whole
   degrees and ``scan_angle`` in 0.006 degree steps).
"""

from __future__ import annotations

import copy
import logging
import os
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import laspy
import numpy as np
from laspy.point.dims import DimensionInfo
from laspy.vlrs.vlrlist import VLRList
from pyproj import CRS

from .._version import __version__
from ..errors import ParameterError
from ..points import LasLayout, PointCloud, scan_angle_from_rank
from ._las_guard import _Corrupt, _read_at, walk_records
from .crs import crs_from_las_header

__all__ = [
    "LAS_VERSIONS",
    "POINT_FORMATS",
    "ExtraDim",
    "FormatChoice",
    "build_header",
    "check_classes_fit",
    "choose_format",
    "fill_record",
    "layout_from_header",
    "standard_dims",
]

log = logging.getLogger(__name__)

#: LAS point data record formats pcrs reads and writes.
POINT_FORMATS = tuple(range(11))
#: LAS versions pcrs writes.
LAS_VERSIONS = ("1.2", "1.3", "1.4")

_COORDS = ("X", "Y", "Z")
_MAX_LEGACY_CLASS = 31
_MIN_VERSION = {0: "1.2", 1: "1.2", 2: "1.2", 3: "1.2", 4: "1.3", 5: "1.3"}
#: CRS records: WKT (2112), its math transform (2111), the GeoTIFF keys (34735-34737).
CRS_VLR_IDS = frozenset({2111, 2112, 34735, 34736, 34737})
#: Records the writer makes anew and never copies from a source.
_OWNED_USER_IDS = ("laszip encoded", "copc")


def _is_crs_vlr(vlr) -> bool:
    return getattr(vlr, "user_id", "") == "LASF_Projection" and vlr.record_id in CRS_VLR_IDS


def _is_extra_bytes_vlr(vlr) -> bool:
    return getattr(vlr, "user_id", "") == "LASF_Spec" and vlr.record_id == 4


def _is_owned(vlr) -> bool:
    return getattr(vlr, "user_id", "") in _OWNED_USER_IDS


def standard_dims(point_format: int) -> frozenset[str]:
    """The attribute names a point format stores (coordinates excluded)."""
    return _STANDARD[point_format]


_STANDARD = {
    f: frozenset(laspy.PointFormat(f).dimension_names) - set(_COORDS) for f in POINT_FORMATS
}
_ANY_STANDARD = frozenset().union(*_STANDARD.values())
_SIZE = {f: laspy.PointFormat(f).size for f in POINT_FORMATS}
#: names that formats 6-10 have and 0-5 have not
_NEW_ONLY = _STANDARD[10] - _STANDARD[5]


# --- reading side: what a source header says -------------------------------------------


@dataclass(frozen=True)
class ExtraDim:
    """One extra dimension of a source file, exactly as declared.

    Attributes
    ----------
    info : laspy DimensionInfo
        Type, element count, scales, offsets, description.
    struct : laspy ExtraBytesStruct or None
        Its entry in the Extra Bytes VLR, or None for undocumented bytes.
    """

    info: DimensionInfo
    struct: object | None

    @property
    def name(self) -> str:
        """The dimension's name."""
        return str(self.info.name)


def _records(fh, start: int, count: int, end: int, extended: bool) -> list[laspy.VLR]:
    out = []
    for _, user, record_id, description, body, length in walk_records(
        fh, start, count, end, extended
    ):
        # the records the writer makes anew are not copied: their payload (a COPC hierarchy...)
        # is not read
        owned = user in _OWNED_USER_IDS
        payload = b"" if owned else _read_at(fh, body, length, "a record")
        out.append(laspy.VLR(user, record_id, "" if owned else description, payload))
    return out


def raw_records(path: Path) -> tuple[list[laspy.VLR], list[laspy.VLR]]:
    """The VLRs and extended VLRs of a LAS file with their payloads exactly as stored.

    laspy parses the records it knows (CRS, Extra Bytes) and writes them back
    re-serialised, which changes bytes (a WKT gains a NUL, GeoTIFF keys are
    re-packed, Extra Bytes statistics are recomputed); these copies are
    written as they were. The header was checked against the file's size
    before (:mod:`pcrs.io._las_guard`).
    """
    with open(path, "rb") as fh:
        head = fh.read(375)
        header_size, offset_to_points, n_vlrs = struct.unpack_from("<HII", head, 94)
        minor = head[25]
        vlrs = _records(fh, header_size, n_vlrs, offset_to_points, extended=False)
        evlrs: list[laspy.VLR] = []
        if minor >= 4 and len(head) >= 247:
            start, n_evlrs = struct.unpack_from("<QI", head, 235)
            if start and n_evlrs:
                size = os.fstat(fh.fileno()).st_size
                evlrs = _records(fh, start, n_evlrs, size, extended=True)
    return vlrs, evlrs


def _same_records(raw: list, parsed: list) -> bool:
    ids = [(v.user_id, v.record_id) for v in raw]
    return ids == [(str(getattr(v, "user_id", "")), int(v.record_id)) for v in parsed]


def xyz_floats(values: Sequence[float] | np.ndarray) -> tuple[float, float, float]:
    """The three values of a header's x, y, z array (scales, offsets, mins...) as floats."""
    return float(values[0]), float(values[1]), float(values[2])


def layout_from_header(header: laspy.LasHeader, path: Path | None = None) -> LasLayout:
    """The :class:`~pcrs.points.LasLayout` of a file: everything needed to write its points back.

    Parameters
    ----------
    header : laspy.LasHeader
    path : Path, optional
        The file: its VLRs and EVLRs are then copied byte for byte
        (:func:`raw_records`) rather than as laspy re-serialises them.
    """
    structs: dict[str, object] = {}
    eb_vlrs = [v for v in header.vlrs if _is_extra_bytes_vlr(v)]
    if eb_vlrs:  # laspy (like most readers) uses the first Extra Bytes VLR only
        for s in getattr(eb_vlrs[0], "extra_bytes_structs", []):
            structs.setdefault(s.format_name(), s)
    extra = tuple(
        ExtraDim(copy.deepcopy(d), copy.deepcopy(structs.get(d.name)))
        for d in header.point_format.extra_dimensions
    )
    params = tuple(
        laspy.ExtraBytesParams(
            name=d.name,
            type=np.dtype(d.dtype),
            description=d.description or "",
            offsets=d.offsets,
            scales=d.scales,
        )
        for d in header.point_format.extra_dimensions
    )
    vlrs = [v for v in header.vlrs if not _is_owned(v)]
    evlrs = [v for v in (getattr(header, "evlrs", None) or []) if not _is_owned(v)]
    if path is not None:
        try:
            raw_vlrs, raw_evlrs = raw_records(path)
        except (OSError, ValueError, struct.error, _Corrupt) as exc:
            log.debug("%s: records kept as laspy parsed them (%s)", path, exc)
        else:
            raw_vlrs = [v for v in raw_vlrs if not _is_owned(v)]
            raw_evlrs = [v for v in raw_evlrs if not _is_owned(v)]
            if _same_records(raw_vlrs, vlrs):
                vlrs = raw_vlrs
            if _same_records(raw_evlrs, evlrs):
                evlrs = raw_evlrs
    return LasLayout(
        point_format=int(header.point_format.id),
        version=f"{header.version.major}.{header.version.minor}",
        scales=xyz_floats(header.scales),
        offsets=xyz_floats(header.offsets),
        extra_dims=params,
        vlrs=tuple(vlrs),
        evlrs=tuple(evlrs),
        global_encoding=int(header.global_encoding.value),
        file_source_id=int(header.file_source_id),
        system_identifier=str(header.system_identifier).strip("\x00 "),
        source_extra=extra,
    )


# --- which format ------------------------------------------------------------------------


@dataclass(frozen=True)
class FormatChoice:
    """The point format and version a cloud is written in, and why.

    Attributes
    ----------
    point_format : int
    version : str
    reason : str
        Empty when the source's format and version are kept; else why they changed.
    """

    point_format: int
    version: str
    reason: str = ""


def _holding(names: frozenset[str], family: Iterable[int]) -> int | None:
    fitting = [f for f in family if names <= _STANDARD[f]]
    return min(fitting, key=lambda f: (_SIZE[f], f)) if fitting else None


def _present(cloud: PointCloud) -> frozenset[str]:
    return frozenset(n for n in cloud.attributes if n in _ANY_STANDARD)


def _max_class(cloud: PointCloud) -> int:
    classes = cloud.get("classification")
    if classes is None or classes.size == 0:
        return 0
    return int(classes.max())


def choose_format(
    cloud: PointCloud,
    point_format: int | None = None,
    version: str | None = None,
) -> FormatChoice:
    """The point format and LAS version to write ``cloud`` in.

    Parameters
    ----------
    cloud : PointCloud
    point_format : int, optional
        Asked by the user: obeyed (values it cannot hold are named by :func:`fill_record`).
    version : str, optional
        Asked by the user: obeyed when the format allows it.

    Returns
    -------
    FormatChoice

    Raises
    ------
    ParameterError
        For a format or version that does not exist, or that cannot go together.
    """
    layout = cloud.layout
    if point_format is not None:
        fmt = _check_format(point_format)
        reason = ""
    else:
        fmt, reason = _widened(cloud, layout.point_format)
    if version is not None:
        ver = _check_version(str(version))
    elif _compatible(fmt, layout.version):
        ver = layout.version
    else:
        ver = "1.4" if fmt >= 6 else max(layout.version, _MIN_VERSION[fmt])
    if not _compatible(fmt, ver):
        raise ParameterError(
            f"point format {fmt} cannot be written as LAS {ver}: formats 6-10 need LAS 1.4, "
            "formats 4-5 LAS 1.3 or 1.4; choose another --las-version"
        )
    if point_format is not None:
        check_classes_fit(cloud, fmt)
    if not reason and ver != layout.version and version is None:
        reason = f"point format {fmt} needs LAS {ver}"
    return FormatChoice(fmt, ver, reason)


def check_classes_fit(cloud: PointCloud, fmt: int, target: Path | None = None) -> None:
    """Raise :class:`ParameterError` when ``cloud`` has a class that format ``fmt`` cannot hold.

    Formats 0-5 store the classification in 5 bits (codes 0-31).
    """
    top = _max_class(cloud)
    if fmt < 6 and top > _MAX_LEGACY_CLASS:
        where = f"{target}: " if target is not None else ""
        raise ParameterError(
            f"{where}classification code {top} does not fit point format {fmt} "
            "(codes 0-31 only); write point format 6 or higher (LAS 1.4)"
        )


def _check_format(value) -> int:
    try:
        fmt = int(value)
    except (TypeError, ValueError):
        fmt = -1
    if fmt not in POINT_FORMATS:
        raise ParameterError(f"point format {value!r} does not exist; LAS has formats 0 to 10")
    return fmt


def _check_version(value: str) -> str:
    if value not in LAS_VERSIONS:
        raise ParameterError(
            f"LAS version {value!r} is not supported; use {', '.join(LAS_VERSIONS)}"
        )
    return value


def _compatible(fmt: int, version: str) -> bool:
    if fmt >= 6:
        return version == "1.4"
    if fmt >= 4:
        return version in ("1.3", "1.4")
    return version in LAS_VERSIONS


def _widened(cloud: PointCloud, fmt: int) -> tuple[int, str]:
    """The source format, or the smallest one holding it and everything the cloud has."""
    present = _present(cloud)
    needed = _STANDARD[fmt] | present
    reasons = []
    legacy = fmt < 6
    if legacy and _max_class(cloud) > _MAX_LEGACY_CLASS:
        reasons.append(f"classification codes up to {_max_class(cloud)} need formats 6-10")
        legacy = False
    if legacy and needed & _NEW_ONLY:
        reasons.append(f"{', '.join(sorted(needed & _NEW_ONLY))} need formats 6-10")
        legacy = False
    if not legacy and fmt < 6:
        needed = (needed - {"scan_angle_rank"}) | {"scan_angle"}
    family = range(0, 6) if legacy else range(6, 11)
    target = _holding(needed, family)
    if target is None:  # pragma: no cover - format 10 holds every standard name
        target = 10
    if target != fmt and not reasons:
        extra = sorted(needed - _STANDARD[fmt])
        reasons.append(f"{', '.join(extra)} need format {target}")
    return target, "; ".join(reasons)


# --- the header --------------------------------------------------------------------------


def _plain_params(name: str, values: np.ndarray) -> laspy.ExtraBytesParams:
    arr = np.asarray(values)
    dtype = arr.dtype if arr.dtype != bool else np.dtype(np.uint8)
    if dtype.kind not in "iuf":
        raise ParameterError(
            f"attribute {name!r} has dtype {dtype}; extra dimensions must be numeric"
        )
    if arr.ndim > 2:
        raise ParameterError(f"attribute {name!r} has {arr.ndim} dimensions; at most 2 are stored")
    type_str = dtype.str[1:] if arr.ndim == 1 else f"{arr.shape[1]}{dtype.str[1:]}"
    return laspy.ExtraBytesParams(name=name, type=type_str)


def _struct_for(params: laspy.ExtraBytesParams) -> object:
    scratch = laspy.LasHeader(point_format=6, version="1.4")
    scratch.add_extra_dims([params])
    return scratch.vlrs.get("ExtraBytesVlr")[0].extra_bytes_structs[0]


def _extra_layout(
    cloud: PointCloud, names: list[str]
) -> tuple[list[DimensionInfo], object | None, bool]:
    """The extra dimensions to declare and how to describe them.

    Returns ``(dims, vlr, copy_source)``: with ``copy_source`` the source's own
    Extra Bytes VLR(s) are copied unchanged (the dimensions are exactly the
    source's); else ``vlr`` is the Extra Bytes VLR to write (None when every
    extra byte is undocumented).
    """
    layout = cloud.layout
    if names == [d.name for d in layout.source_extra] and _source_vlr_describes(layout):
        return [copy.deepcopy(d.info) for d in layout.source_extra], None, True
    source = {d.name: d for d in layout.source_extra}
    params = {p.name: p for p in layout.extra_dims}
    documented: list[tuple[DimensionInfo, object]] = []
    undocumented: list[DimensionInfo] = []
    for name in names:
        src = source.get(name)
        if src is not None and src.struct is None:
            undocumented.append(copy.deepcopy(src.info))
        elif src is not None:
            documented.append((copy.deepcopy(src.info), copy.deepcopy(src.struct)))
        else:
            p = params.get(name) or _plain_params(name, cloud.attributes[name])
            documented.append((DimensionInfo.from_extra_bytes_param(p), _struct_for(p)))
    vlr = None
    if documented:
        vlr = laspy.vlrs.known.ExtraBytesVlr()
        vlr.extra_bytes_structs = [s for _, s in documented]
    # undocumented bytes go last: a reader finds them as the record's tail
    return [d for d, _ in documented] + undocumented, vlr, False


def _source_vlr_describes(layout: LasLayout) -> bool:
    """Whether the layout's own Extra Bytes VLR declares its documented extra dimensions
    (not so for a layout joined from several files)."""
    documented = [d.name for d in layout.source_extra if d.struct is not None]
    eb_vlrs = [v for v in layout.vlrs if _is_extra_bytes_vlr(v)]
    if not eb_vlrs:
        return not documented
    return _declared_names(eb_vlrs[0]) == documented


def _declared_names(vlr) -> list[str]:
    """The dimension names an Extra Bytes VLR declares (parsed by laspy, or raw bytes)."""
    structs = getattr(vlr, "extra_bytes_structs", None)
    if structs is not None:
        return [s.format_name() for s in structs]
    data = bytes(getattr(vlr, "record_data", b"") or b"")
    return [
        data[i + 4 : i + 36].split(b"\0", 1)[0].decode("ascii", "replace")
        for i in range(0, len(data) - 191, 192)
    ]


def build_header(
    cloud: PointCloud, choice: FormatChoice, offsets: np.ndarray
) -> tuple[laspy.LasHeader, list[str], list[laspy.vlrs.vlr.VLR]]:
    """A header for ``cloud`` written as ``choice``.

    Returns
    -------
    header : laspy.LasHeader
    names : list of str
        The attributes of ``cloud`` that the record stores (others are named in a warning).
    evlrs : list
        The extended VLRs to write after the points (LAS 1.4 only).
    """
    layout = cloud.layout
    fmt, version = choice.point_format, choice.version
    header = laspy.LasHeader(point_format=fmt, version=version)
    header.scales = np.asarray(layout.scales, dtype=np.float64)
    header.offsets = np.asarray(offsets, dtype=np.float64)
    header.file_source_id = int(layout.file_source_id) & 0xFFFF
    header.global_encoding.value = int(layout.global_encoding) & 0xFFFF
    if layout.system_identifier:
        header.system_identifier = layout.system_identifier[:32]
    header.generating_software = f"pcrs {__version__}"[:32]

    standard = _STANDARD[fmt]
    extra_names = [n for n in cloud.attributes if n not in _ANY_STANDARD]
    dims, eb_vlr, copy_source = _extra_layout(cloud, extra_names)
    header.point_format.dimensions.extend(dims)

    keep_crs = _keeps_crs(cloud.crs, layout)
    for vlr in layout.vlrs:
        if _is_crs_vlr(vlr) and not keep_crs:
            continue
        if _is_extra_bytes_vlr(vlr) and not copy_source:
            if eb_vlr is not None:  # the new description takes the old one's place
                header.vlrs.append(eb_vlr)
                eb_vlr = None
            continue
        header.vlrs.append(copy.deepcopy(vlr))
    if eb_vlr is not None:
        header.vlrs.append(eb_vlr)
    _set_crs(header, cloud.crs, layout, keep_crs)

    names = [n for n in cloud.attributes if n in standard or n not in _ANY_STANDARD]
    evlrs = [
        copy.deepcopy(v)
        for v in layout.evlrs
        if version == "1.4" and (keep_crs or not _is_crs_vlr(v))
    ]
    if layout.evlrs and version != "1.4":
        log.warning(
            "LAS %s has no extended VLRs; %d extended VLR(s) of the source are not written",
            version,
            len(layout.evlrs),
        )
    return header, names, evlrs


def _keeps_crs(crs: CRS | None, layout: LasLayout) -> bool:
    """Whether the source's CRS records still say what ``crs`` is."""
    original = [v for v in layout.vlrs if _is_crs_vlr(v)]
    original_ext = [v for v in layout.evlrs if _is_crs_vlr(v)]
    if not original and not original_ext:
        return False
    probe = laspy.LasHeader(point_format=6, version="1.4")
    probe.vlrs.extend(original)
    probe.evlrs = VLRList(original_ext)
    found = crs_from_las_header(probe)
    if crs is None:
        return found is None
    return found == crs


def _set_crs(header: laspy.LasHeader, crs: CRS | None, layout: LasLayout, kept: bool) -> None:
    """Write the CRS: the source's records when they still hold, else new ones.

    Formats 6-10 carry their CRS as WKT (LAS 1.4): a legacy source upgraded to
    them gets a WKT record beside its GeoTIFF keys, and the global encoding's
    WKT bit.
    """
    if crs is not None and not kept:
        header.global_encoding.wkt = False
        try:
            header.add_crs(crs)
        except Exception:  # a custom CRS without EPSG code cannot become GeoTIFF keys
            header.vlrs.append(laspy.vlrs.known.WktCoordinateSystemVlr(crs.to_wkt()))
            if header.version.minor >= 4:
                header.global_encoding.wkt = True
    upgraded = header.point_format.id >= 6 and layout.point_format < 6
    if upgraded and crs is not None and not _usable_wkt(header):
        header.vlrs.append(laspy.vlrs.known.WktCoordinateSystemVlr(crs.to_wkt()))
    if upgraded and _usable_wkt(header):
        header.global_encoding.wkt = True


def _usable_wkt(header: laspy.LasHeader) -> bool:
    for v in header.vlrs:
        if _is_crs_vlr(v) and v.record_id == 2112:
            text = getattr(v, "string", None)
            if text is None:
                text = bytes(getattr(v, "record_data", b"") or b"").decode("utf-8", "replace")
            if text.strip("\x00 \n\t"):
                return True
    return False


# --- the record --------------------------------------------------------------------------


def fill_record(
    record, cloud: PointCloud, header: laspy.LasHeader, names: list[str], target: Path
) -> None:
    """Put the coordinates and the attributes ``names`` of ``cloud`` into ``record``.

    Coordinates become integers with the header's scales and offsets; attributes
    the format stores under another name are converted exactly
    (``scan_angle_rank`` <-> ``scan_angle``).

    Raises
    ------
    ParameterError
        When coordinates do not fit 32-bit integers, or a value does not fit its field.
    """
    for i, axis in enumerate(_COORDS):
        coord = (cloud.x, cloud.y, cloud.z)[i]
        ints = np.round((coord - header.offsets[i]) / header.scales[i])
        if ints.size and not (
            np.isfinite(ints).all()
            and ints.min() >= np.iinfo(np.int32).min
            and ints.max() <= np.iinfo(np.int32).max
        ):
            raise ParameterError(
                f"{target}: {axis.lower()} coordinates do not fit LAS 32-bit integers with scale "
                f"{header.scales[i]} and offset {header.offsets[i]}; use a coarser scale"
            )
        record.array[axis] = ints.astype(np.int32)
    fmt = header.point_format.id
    scaled = {
        d.name: d
        for d in header.point_format.extra_dimensions
        if d.scales is not None or d.offsets is not None
    }
    for name in names:
        values = cloud.attributes[name]
        if values.dtype == bool:
            values = values.astype(np.uint8)
        if name in scaled:
            _fill_scaled(record, name, values, scaled[name], target)
            continue
        try:
            record[name] = values
        except (OverflowError, ValueError, TypeError) as exc:
            raise ParameterError(
                f"{target}: attribute {name!r} cannot be stored in point format {fmt} ({exc})"
            ) from exc
    _convert_scan_angle(record, cloud, fmt, target)


def _fill_scaled(record, name: str, values: np.ndarray, dim: DimensionInfo, target: Path) -> None:
    """Store scaled values as the integers ``round((value - offset) / scale)``, per element
    (laspy's own conversion refuses some scaled arrays that fit)."""
    scales = np.ones(dim.num_elements) if dim.scales is None else np.asarray(dim.scales, float)
    offsets = np.zeros(dim.num_elements) if dim.offsets is None else np.asarray(dim.offsets, float)
    raw = np.round((np.asarray(values, dtype=np.float64) - offsets) / scales)
    dtype = record.array[name].dtype.base
    info = np.iinfo(dtype) if dtype.kind in "iu" else np.finfo(dtype)
    if raw.size and not (
        np.isfinite(raw).all() and raw.min() >= info.min and raw.max() <= info.max
    ):
        raise ParameterError(
            f"{target}: attribute {name!r} has values that do not fit its {dtype} field with "
            f"scale {dim.scales} and offset {dim.offsets}"
        )
    record.array[name] = raw.astype(dtype).reshape(record.array[name].shape)


def _convert_scan_angle(record, cloud: PointCloud, fmt: int, target: Path) -> None:
    attrs = cloud.attributes
    if fmt >= 6 and "scan_angle" not in attrs and "scan_angle_rank" in attrs:
        record["scan_angle"] = scan_angle_from_rank(attrs["scan_angle_rank"])
    elif fmt < 6 and "scan_angle_rank" not in attrs and "scan_angle" in attrs:
        degrees = np.asarray(attrs["scan_angle"], dtype=np.float64) * 0.006
        rank = np.clip(np.round(degrees), -128, 127).astype(np.int8)
        inexact = int(np.count_nonzero(scan_angle_from_rank(rank) != attrs["scan_angle"]))
        if inexact:
            log.warning(
                "%s: point format %d stores the scan angle in whole degrees; %d angle(s) rounded",
                target,
                fmt,
                inexact,
            )
        record["scan_angle_rank"] = rank


def dropped_attributes(cloud: PointCloud, fmt: int) -> list[str]:
    """Standard attributes of ``cloud`` with non-zero values that format ``fmt`` cannot store."""
    standard = _STANDARD[fmt]
    out = []
    for name, values in cloud.attributes.items():
        if name in standard or name not in _ANY_STANDARD:
            continue
        if name in ("scan_angle", "scan_angle_rank"):
            continue  # converted
        if np.any(values):
            out.append(name)
    return sorted(out)
