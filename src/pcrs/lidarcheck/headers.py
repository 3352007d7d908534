"""Header facts of one file and the rules they decide (FILE-001, FORMAT-001..005, CRS-001..004).

Only the header and the VLRs are read (:func:`pcrs.io.las.info` and
:func:`pcrs.io.las.raw_header`); nothing here decompresses a point.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import PcrsError
from ..vector.rules import Finding
from .spec import LidarSpec

__all__ = ["HeaderFacts", "check_header", "read_header"]

_WKT_BIT = 1 << 4
_GPS_BIT = 1


@dataclass
class HeaderFacts:
    """What the checks need from one header (picklable, small).

    ``error`` is the reason the header could not be read (the file is then unusable).
    ``crs_key`` identifies the CRS across tiles: ``"EPSG:h+v"`` when the codes are known,
    else the WKT, else None.
    """

    path: str
    error: str | None = None
    points: int = 0
    las_version: str = ""
    point_format: int = -1
    bounds: tuple[float, ...] = ()
    scales: tuple[float, ...] = ()
    offsets: tuple[float, ...] = ()
    points_by_return: list[int] = field(default_factory=list)
    global_encoding: int = 0
    record_length: int = 0
    standard_length: int = 0
    declared_extra_bytes: int = 0
    horizontal_epsg: int | None = None
    vertical_epsg: int | None = None
    has_crs: bool = False
    has_vertical: bool = False
    crs_key: str | None = None
    crs_label: str = ""
    crs_wkt: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The facts the JSON report keeps per tile."""
        return {
            "las_version": self.las_version,
            "point_format": self.point_format,
            "global_encoding": self.global_encoding,
            "record_length": self.record_length,
            "crs": self.crs_label or None,
        }


def _crs_parts(crs: Any) -> tuple[int | None, int | None, bool]:
    """(horizontal EPSG, vertical EPSG, whether there is a vertical part)."""
    if crs is None:
        return None, None, False
    subs = list(getattr(crs, "sub_crs_list", []) or [])
    if subs:
        h = next((s for s in subs if not s.is_vertical), None)
        v = next((s for s in subs if s.is_vertical), None)
        return (
            h.to_epsg() if h is not None else None,
            v.to_epsg() if v is not None else None,
            v is not None,
        )
    if crs.is_vertical:
        return None, crs.to_epsg(), True
    return crs.to_epsg(), None, False


def read_header(path: str | Path) -> HeaderFacts:
    """The header facts of ``path``; a file that cannot be read gives ``error`` set."""
    from ..io import las

    p = str(path)
    try:
        info = las.info(path)
        raw = las.raw_header(path)
    except PcrsError as exc:
        reason = str(exc).split(": ", 1)[-1].split("; get a new copy")[0]
        return HeaderFacts(p, error=reason)
    h, v, has_v = _crs_parts(info.crs)
    if info.crs is None:
        key, label = None, ""
    elif h is not None and (v is not None or not has_v):
        key = f"EPSG:{h}" + (f"+{v}" if v is not None else "")
        label = key
    else:
        key, label = info.crs.to_wkt(), info.crs.name
    return HeaderFacts(
        path=p,
        points=info.points,
        las_version=info.las_version,
        point_format=info.point_format,
        bounds=tuple(info.bounds),
        scales=tuple(info.scales),
        offsets=tuple(info.offsets),
        points_by_return=list(info.points_by_return),
        global_encoding=raw.global_encoding,
        record_length=raw.record_length,
        standard_length=raw.standard_length,
        declared_extra_bytes=raw.declared_extra_bytes,
        horizontal_epsg=h,
        vertical_epsg=v,
        has_crs=info.crs is not None,
        has_vertical=has_v,
        crs_key=key,
        crs_label=label,
        crs_wkt=info.crs.to_wkt() if info.crs is not None else None,
    )


def _epsg(code: int | None) -> str:
    return f"EPSG:{code}" if code is not None else "?"


def check_header(facts: HeaderFacts, spec: LidarSpec) -> list[Finding]:
    """The findings one header gives under ``spec``."""
    f = facts.path
    if facts.error is not None:
        return [Finding("LIDAR-FILE-001", {"reason": facts.error}, file=f)]
    out: list[Finding] = []
    if facts.las_version not in spec.las_versions:
        out.append(Finding("LIDAR-FORMAT-001", {"value": facts.las_version,
                   "expected": " or ".join(spec.las_versions)}, file=f))  # fmt: skip
    if facts.point_format not in spec.point_formats:
        out.append(Finding("LIDAR-FORMAT-002", {"value": facts.point_format,
                   "expected": ", ".join(map(str, spec.point_formats))}, file=f))  # fmt: skip
    if facts.standard_length and (
        facts.record_length != facts.standard_length + facts.declared_extra_bytes
    ):
        out.append(Finding("LIDAR-FORMAT-003", {"value": facts.record_length,
                   "format": facts.point_format, "standard": facts.standard_length,
                   "extra": facts.declared_extra_bytes}, file=f))  # fmt: skip
    adjusted = bool(facts.global_encoding & _GPS_BIT)
    if spec.gps_time != "any" and adjusted != (spec.gps_time == "adjusted"):
        out.append(Finding("LIDAR-FORMAT-004", {
            "value": "adjusted standard" if adjusted else "week",
            "expected": "adjusted standard" if spec.gps_time == "adjusted" else "week"},
            file=f))  # fmt: skip
    if facts.point_format >= 6 and not facts.global_encoding & _WKT_BIT:
        out.append(Finding("LIDAR-FORMAT-005", {"format": facts.point_format}, file=f))
    expected = "+".join(
        _epsg(c) for c in (spec.horizontal_epsg, spec.vertical_epsg) if c is not None
    )
    if not facts.has_crs:
        if spec.horizontal_epsg is not None or spec.vertical_epsg is not None:
            out.append(Finding("LIDAR-CRS-001", {"expected": expected}, file=f))
        return out
    if spec.horizontal_epsg is not None and facts.horizontal_epsg != spec.horizontal_epsg:
        out.append(Finding("LIDAR-CRS-002", {"value": _epsg(facts.horizontal_epsg)
                   if facts.horizontal_epsg else facts.crs_label,
                   "expected": _epsg(spec.horizontal_epsg)}, file=f))  # fmt: skip
    if spec.vertical_epsg is not None:
        if not facts.has_vertical:
            out.append(Finding("LIDAR-CRS-004", {"value": facts.crs_label,
                       "expected": _epsg(spec.vertical_epsg)}, file=f))  # fmt: skip
        elif facts.vertical_epsg != spec.vertical_epsg:
            out.append(Finding("LIDAR-CRS-003", {"value": _epsg(facts.vertical_epsg),
                       "expected": _epsg(spec.vertical_epsg)}, file=f))  # fmt: skip
    return out
