"""Coordinate reference systems: reading them from LAS headers, parsing user input,
and what a PCRS / IGN user is expected to meet.

The CRS of a LAS file lives in its VLRs, as an OGC WKT string (record 2112,
mandatory for point formats 6-10) and/or as GeoTIFF keys (records 34735-34737,
the LAS 1.2 way). A file may carry both; WKT wins when it parses, since it is
the richer form and the one LAS 1.4 makes normative.
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from typing import Any

import pyproj
from pyproj import CRS

from ..errors import CRSError, MissingCRSError

__all__ = [
    "PCRS_CRS",
    "KnownCRS",
    "crs_from_las_header",
    "crs_label",
    "epsg_code",
    "horizontal_epsg",
    "parse_crs",
    "require_crs",
    "within_area_of_use",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KnownCRS:
    """A CRS a PCRS or IGN LiDAR HD user meets, with the vertical datum that goes with it."""

    epsg: int
    name: str
    territory: str
    vertical_datum: str


#: The projected CRSs allowed for PCRS deliveries and IGN products
#: (décret 2000-1276; PCRS standard B.1.4, digested in shared/docs/PCRS_STANDARD.md §7).
PCRS_CRS: dict[int, KnownCRS] = {
    k.epsg: k
    for k in [
        KnownCRS(
            2154, "RGF93 v1 / Lambert-93", "France métropolitaine", "NGF-IGN69 (Corse: IGN78)"
        ),
        *[
            KnownCRS(
                3942 + i,
                f"RGF93 v1 / CC{42 + i}",
                f"France métropolitaine, zone conique conforme {i + 1}",
                "NGF-IGN78" if i == 0 else "NGF-IGN69",
            )
            for i in range(9)
        ],
        KnownCRS(
            5698, "RGF93 v1 / Lambert-93 + NGF-IGN69 height", "France métropolitaine", "NGF-IGN69"
        ),
        KnownCRS(5699, "RGF93 v1 / Lambert-93 + NGF-IGN78 height", "Corse", "NGF-IGN78"),
        KnownCRS(32620, "WGS 84 / UTM zone 20N", "Guadeloupe, Martinique", "IGN 1988 / IGN 1987"),
        KnownCRS(5490, "RGAF09 / UTM zone 20N", "Guadeloupe, Martinique", "IGN 1988 / IGN 1987"),
        KnownCRS(2972, "RGFG95 / UTM zone 22N", "Guyane", "NGG 1977"),
        KnownCRS(2975, "RGR92 / UTM zone 40S", "La Réunion", "IGN 1989"),
        KnownCRS(4471, "RGM04 / UTM zone 38S", "Mayotte", "SHOM 1953"),
        KnownCRS(4467, "RGSPM06 / UTM zone 21N", "Saint-Pierre-et-Miquelon", "Danger 1950"),
    ]
}

#: Short names users type for the French CRSs.
_ALIASES = {
    "LAMB93": 2154,
    "LAMBERT93": 2154,
    "L93": 2154,
    "RGF93": 2154,
    **{f"CC{42 + i}": 3942 + i for i in range(9)},
}

#: Vertical datum EPSG codes that go with NGF heights.
NGF_IGN69 = 5720
NGF_IGN78 = 5721


def parse_crs(value: Any) -> CRS:
    """Turn what a user gives into a :class:`pyproj.CRS`.

    Parameters
    ----------
    value : str, int or pyproj.CRS
        ``"EPSG:2154"``, ``2154``, ``"2154"``, ``"LAMB93"``, ``"CC46"``, a WKT
        or PROJ string, a ``urn:ogc:def:crs:EPSG::2154`` URN, or a CRS.

    Returns
    -------
    pyproj.CRS

    Raises
    ------
    CRSError
        When the value names no CRS.

    Examples
    --------
    >>> parse_crs("CC46").to_epsg()
    3946
    """
    if isinstance(value, CRS):
        return value
    if isinstance(value, int):
        text = f"EPSG:{value}"
    else:
        text = str(value).strip()
        alias = _ALIASES.get(text.upper().replace("-", "").replace(" ", ""))
        if alias is not None:
            text = f"EPSG:{alias}"
        elif text.isdigit():
            text = f"EPSG:{text}"
    try:
        return CRS.from_user_input(text)
    except pyproj.exceptions.CRSError as exc:
        raise CRSError(
            f"{value!r} is not a coordinate reference system pyproj knows; "
            "give an EPSG code such as 'EPSG:2154' (Lambert-93) or 'EPSG:3946' (CC46)"
        ) from exc


def epsg_code(crs: CRS | None, min_confidence: int = 70) -> int | None:
    """The EPSG code of ``crs`` when one matches, else None.

    Parameters
    ----------
    crs : pyproj.CRS or None
    min_confidence : int
        Passed to :meth:`pyproj.CRS.to_epsg`.
    """
    if crs is None:
        return None
    try:
        return crs.to_epsg(min_confidence=min_confidence)
    except pyproj.exceptions.CRSError:  # pragma: no cover - defensive
        return None


def horizontal_epsg(crs: CRS | None) -> int | None:
    """EPSG code of the horizontal part of ``crs`` (the whole CRS when it is not compound)."""
    if crs is None:
        return None
    if crs.is_compound:
        for sub in crs.sub_crs_list:
            if not sub.is_vertical:
                return epsg_code(sub)
        return None
    return epsg_code(crs)


def crs_label(crs: CRS | None) -> str:
    """A short human label: ``"EPSG:2154 (RGF93 v1 / Lambert-93)"``, or ``"none"``."""
    if crs is None:
        return "none"
    code = epsg_code(crs)
    return f"EPSG:{code} ({crs.name})" if code else crs.name


def require_crs(crs: CRS | None, source: str, operation: str) -> CRS:
    """Return ``crs`` or raise :class:`MissingCRSError` naming the file and the fix."""
    if crs is None:
        raise MissingCRSError(
            f"{source}: no CRS in the header, and {operation} needs one; "
            "pass --crs EPSG:2154 (or crs=... in Python) to say which it is"
        )
    return crs


def within_area_of_use(crs: CRS, bounds: tuple[float, float, float, float]) -> bool:
    """Whether the box ``(minx, miny, maxx, maxy)`` in ``crs`` lies in its area of use.

    A 10 % margin of the area of use is allowed. Coordinates far outside
    usually mean swapped axes or a wrong CRS.
    """
    area = crs.area_of_use
    if area is None:
        return True
    to_geo = pyproj.Transformer.from_crs(crs, crs.geodetic_crs or "EPSG:4326", always_xy=True)
    xs = [bounds[0], bounds[2], bounds[0], bounds[2]]
    ys = [bounds[1], bounds[1], bounds[3], bounds[3]]
    lon, lat = to_geo.transform(xs, ys)
    mx = (area.east - area.west) * 0.1
    my = (area.north - area.south) * 0.1
    return all(
        area.west - mx <= lo <= area.east + mx and area.south - my <= la <= area.north + my
        for lo, la in zip(lon, lat, strict=True)
    )


# --- LAS headers ---------------------------------------------------------------------

_GEOKEY_PROJECTED = 3072
_GEOKEY_GEOGRAPHIC = 2048
_GEOKEY_VERTICAL = 4096
_GEOKEY_MODEL_TYPE = 1024
_GEOKEY_CITATION = 1026


def _wkt_from_vlrs(vlrs) -> str | None:
    for vlr in vlrs:
        if getattr(vlr, "user_id", "").startswith("LASF_Projection") and vlr.record_id == 2112:
            text = getattr(vlr, "string", None)
            if text is None:
                raw = getattr(vlr, "record_data", b"") or b""
                text = raw.decode("utf-8", "replace")
            text = text.strip("\x00 \n\t")
            return text or None
    return None


def _geokeys_from_vlrs(vlrs) -> dict[int, int]:
    for vlr in vlrs:
        if getattr(vlr, "user_id", "").startswith("LASF_Projection") and vlr.record_id == 34735:
            keys = getattr(vlr, "geo_keys", None)
            if keys is not None:
                return {int(k.id): int(k.value_offset) for k in keys if k.tiff_tag_location == 0}
            raw = vlr.record_data
            values = struct.unpack(f"<{len(raw) // 2}H", raw)
            n = values[3]
            return {
                values[4 + 4 * i]: values[7 + 4 * i] for i in range(n) if values[5 + 4 * i] == 0
            }
    return {}


def _crs_from_geokeys(keys: dict[int, int]) -> CRS | None:
    horizontal = None
    for key in (_GEOKEY_PROJECTED, _GEOKEY_GEOGRAPHIC):
        code = keys.get(key)
        if code and code != 32767:  # 32767 = user-defined
            try:
                horizontal = CRS.from_epsg(code)
                break
            except pyproj.exceptions.CRSError:
                log.debug("GeoTIFF key %s holds unknown EPSG code %s", key, code)
    vertical_code = keys.get(_GEOKEY_VERTICAL)
    vertical = None
    if vertical_code and vertical_code != 32767:
        try:
            vertical = CRS.from_epsg(vertical_code)
        except pyproj.exceptions.CRSError:
            vertical = None
    if horizontal is not None and vertical is not None and vertical.is_vertical:
        return CRS.from_dict(
            {
                "$schema": "https://proj.org/schemas/v0.7/projjson.schema.json",
                "type": "CompoundCRS",
                "name": f"{horizontal.name} + {vertical.name}",
                "components": [horizontal.to_json_dict(), vertical.to_json_dict()],
            }
        )
    return horizontal


def crs_from_las_header(header) -> CRS | None:
    """The CRS recorded in a LAS header, or None when there is none.

    WKT (record 2112) is tried first, then the GeoTIFF keys. Both the VLRs and
    the extended VLRs are searched. A WKT or key that does not parse is logged
    and treated as absent.

    Parameters
    ----------
    header : laspy.LasHeader
    """
    vlrs = list(header.vlrs) + list(getattr(header, "evlrs", None) or [])
    wkt = _wkt_from_vlrs(vlrs)
    if wkt:
        try:
            return CRS.from_wkt(wkt)
        except pyproj.exceptions.CRSError:
            log.warning("ignoring a WKT CRS that does not parse: %.60s...", wkt)
    keys = _geokeys_from_vlrs(vlrs)
    if keys:
        return _crs_from_geokeys(keys)
    return None
