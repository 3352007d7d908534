"""Small LAS/LAZ files with known content, and a comparator that finds what a rewrite lost.

Used by ``tests/test_lossless.py`` and ``benchmarks/roundtrip_real.py`` (issue #13,
"nothing lost"). Not a test module.

Builders (:func:`build`) write, in a given folder, files that the real data does not
cover: every point format 0-10 with every standard dimension filled with random
non-zero values, extra dimensions of many types (scaled/offset, arrays), a record
with undocumented extra bytes, an empty WKT VLR next to valid GeoTIFF keys, user
VLRs and EVLRs, the GPS standard time bit, a non-zero file source id. The points
lie on a synthetic scene (:func:`pcrs.synth.make_scene`), so the classifiers have
something real to work on.

The comparator reads files with its own raw header/VLR parser (so that VLR payloads
are compared byte for byte, whatever laspy makes of them) and with ``laspy.read``
for the points (every field and every sub-field / flag by name, compared bit for bit,
floats included).
"""

from __future__ import annotations

import os
import struct
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import laspy
import numpy as np
from laspy.vlrs.known import vlr_factory
from laspy.vlrs.vlrlist import VLRList
from pyproj import CRS

__all__ = [
    "COMMANDS",
    "FIXTURES",
    "LEGACY_FIXTURES",
    "PROMOTION",
    "LasFile",
    "build",
    "check",
    "compare",
    "flip_one_bit",
    "read_las",
]

#: Point format written by pcrs when classes > 31 do not fit a legacy format.
PROMOTION = {0: 6, 1: 6, 2: 7, 3: 7, 4: 9, 5: 10}
#: VLR/EVLR user ids pcrs owns (it writes its own).
OWNED_USER_IDS = ("laszip encoded", "copc")
_CRS_RECORD_IDS = (2111, 2112, 34735, 34736, 34737)
_WKT_BIT = 1 << 4

# --- raw header / VLR reading ---------------------------------------------------------

_HEADER_12 = struct.Struct("<4sHH16sBB32s32sHHHIIBHI5I3d3d6d")  # 227 bytes
_VLR_HEADER = struct.Struct("<H16sHH32s")  # 54 bytes
_EVLR_HEADER = struct.Struct("<H16sHQ32s")  # 60 bytes
_EXTRA_BYTES = struct.Struct("<2sBB32s4s3d3d3d3d3d32s")  # 192 bytes


def _cstr(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("latin-1")


@dataclass(frozen=True)
class Vlr:
    """One VLR or EVLR as stored: ids, description and payload bytes."""

    user_id: str
    record_id: int
    description: str
    payload: bytes

    @property
    def key(self) -> tuple[str, int]:
        return (self.user_id, self.record_id)

    def label(self) -> str:
        return f"{self.user_id}/{self.record_id} {self.description!r} ({len(self.payload)} B)"

    @property
    def is_crs(self) -> bool:
        return self.user_id == "LASF_Projection" and self.record_id in _CRS_RECORD_IDS

    @property
    def is_extra_bytes(self) -> bool:
        return self.user_id == "LASF_Spec" and self.record_id == 4


@dataclass
class LasFile:
    """What the comparator needs of one file: raw header facts, VLRs, CRS and points."""

    path: Path
    version: str
    point_format: int
    record_length: int
    global_encoding: int
    file_source_id: int
    scales: tuple[float, float, float]
    offsets: tuple[float, float, float]
    point_count: int
    vlrs: list[Vlr]
    evlrs: list[Vlr]
    crs: CRS | None
    crs_error: str | None
    #: raw values by dimension name (fields, sub-fields/flags, extra dims), in file order
    dims: dict[str, np.ndarray] = field(default_factory=dict)
    #: dimension names of the standard point format, extra dimension names
    standard: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)


def _read_raw_header(path: Path) -> dict:
    with open(path, "rb") as fh:
        head = fh.read(375)
        if head[:4] != b"LASF":
            raise ValueError(f"{path}: not a LAS file")
        f = _HEADER_12.unpack_from(head)
        major, minor = f[4], f[5]
        header_size, offset_points, n_vlrs = f[10], f[11], f[12]
        out = {
            "file_source_id": f[1],
            "global_encoding": f[2],
            "version": f"{major}.{minor}",
            "point_format": f[13] & 0x3F,
            "record_length": f[14],
            "point_count": f[15],
            "scales": tuple(f[21:24]),
            "offsets": tuple(f[24:27]),
        }
        evlr_start, n_evlrs = 0, 0
        if minor >= 4 and len(head) >= 375:
            evlr_start, n_evlrs, count64 = struct.unpack_from("<QIQ", head, 235)
            out["point_count"] = count64 or out["point_count"]
        vlrs = []
        fh.seek(header_size)
        for _ in range(n_vlrs):
            raw = fh.read(_VLR_HEADER.size)
            if len(raw) < _VLR_HEADER.size:
                break
            _, uid, rid, length, desc = _VLR_HEADER.unpack(raw)
            vlrs.append(Vlr(_cstr(uid), rid, _cstr(desc), fh.read(length)))
        evlrs = []
        if n_evlrs:
            fh.seek(evlr_start)
            for _ in range(n_evlrs):
                raw = fh.read(_EVLR_HEADER.size)
                if len(raw) < _EVLR_HEADER.size:
                    break
                _, uid, rid, length, desc = _EVLR_HEADER.unpack(raw)
                evlrs.append(Vlr(_cstr(uid), rid, _cstr(desc), fh.read(length)))
        out["offset_points"] = offset_points
        out["vlrs"], out["evlrs"] = vlrs, evlrs
        return out


def _geokeys(payload: bytes) -> dict[int, int]:
    n = len(payload) // 2
    values = struct.unpack(f"<{n}H", payload[: 2 * n])
    if n < 4:
        return {}
    keys = {}
    for i in range(values[3]):
        key, location, _, value = values[4 + 4 * i : 8 + 4 * i]
        if location == 0:
            keys[key] = value
    return keys


def _file_crs(header: laspy.LasHeader, vlrs: list[Vlr]) -> tuple[CRS | None, str | None]:
    """The CRS of the file: a non-empty WKT VLR, else the GeoTIFF keys, vertical part included."""
    errors = []
    for v in vlrs:
        if v.user_id == "LASF_Projection" and v.record_id == 2112:
            text = v.payload.split(b"\0", 1)[0].decode("latin-1").strip()
            if text:
                try:
                    return CRS.from_wkt(text), None
                except Exception as exc:
                    errors.append(f"WKT: {str(exc)[:80]}")
    for v in vlrs:
        if v.user_id == "LASF_Projection" and v.record_id == 34735:
            keys = _geokeys(v.payload)
            horizontal = keys.get(3072) or keys.get(2048)
            vertical = keys.get(4096)
            if horizontal and 1024 <= horizontal < 32767:
                try:
                    crs = CRS.from_epsg(horizontal)
                    if vertical and 1024 <= vertical < 32767:
                        crs = CRS(f"EPSG:{horizontal}+{vertical}")
                    return crs, None
                except Exception as exc:
                    errors.append(f"GeoTIFF: {str(exc)[:80]}")
    try:
        crs = header.parse_crs()
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {str(exc)[:80]}")
        crs = None
    return crs, ("; ".join(errors) or None) if crs is None else None


def _bits(values: np.ndarray) -> np.ndarray:
    """Integers with the same bits as ``values`` (floats compared bit for bit)."""
    values = np.ascontiguousarray(values)
    if values.dtype.kind == "f":
        return values.view(f"u{values.dtype.itemsize}")
    return values


_EB_TYPES = {
    1: "u1",
    2: "i1",
    3: "u2",
    4: "i2",
    5: "u4",
    6: "i4",
    7: "u8",
    8: "i8",
    9: "f4",
    10: "f8",
}


def _read_raw_points(path: Path, raw: dict) -> laspy.LasData:
    """Read an uncompressed LAS whose extra-bytes VLR laspy refuses, with the same names."""
    header = laspy.LasHeader(point_format=raw["point_format"], version=raw["version"])
    header.scales, header.offsets = np.array(raw["scales"]), np.array(raw["offsets"])
    params = []
    for v in raw["vlrs"]:
        if v.is_extra_bytes:
            for i in range(len(v.payload) // _EXTRA_BYTES.size):
                f = _EXTRA_BYTES.unpack_from(v.payload, i * _EXTRA_BYTES.size)
                dtype, options, name = f[1], f[2], _cstr(f[3])
                if dtype == 0:
                    params.append(laspy.ExtraBytesParams(name, f"{options}u1"))
                else:  # scale/offset options are not needed to read raw values
                    params.append(laspy.ExtraBytesParams(name, _EB_TYPES[dtype]))
        elif v.user_id != "LASF_Spec":
            vlr = laspy.VLR(v.user_id, v.record_id, v.description, v.payload)
            header.vlrs.append(vlr_factory(vlr))
    if params:
        header.add_extra_dims(params)
    left = raw["record_length"] - header.point_format.size
    if left > 0:
        header.add_extra_dims([laspy.ExtraBytesParams("ExtraBytes", f"{left}u1")])
    with open(path, "rb") as fh:
        fh.seek(raw["offset_points"])
        data = fh.read(raw["record_length"] * raw["point_count"])
    array = np.frombuffer(data, dtype=header.point_format.dtype()).copy()
    las = laspy.LasData(header)
    las.points = laspy.ScaleAwarePointRecord(
        array, header.point_format, header.scales, header.offsets
    )
    return las


def read_las(path: str | Path) -> LasFile:
    """Read ``path`` (LAS/LAZ/COPC) into a :class:`LasFile`."""
    path = Path(path)
    raw = _read_raw_header(path)
    try:
        las = laspy.read(path)
    except ValueError:
        # laspy rejects some valid extra-bytes descriptions (data_type 0 with options = size)
        las = _read_raw_points(path, raw)
    crs, crs_error = _file_crs(las.header, raw["vlrs"] + raw["evlrs"])
    pf = las.point_format
    array = las.points.array
    dims: dict[str, np.ndarray] = {}
    standard = [n for n in pf.standard_dimension_names]
    extra = list(pf.extra_dimension_names)
    for name in standard + extra:
        if name in array.dtype.names:
            dims[name] = _bits(array[name])
        else:  # a sub-field of a bit field (return_number, synthetic, scanner_channel...)
            dims[name] = np.asarray(las[name]).astype(np.uint8)
    return LasFile(
        path=path,
        version=raw["version"],
        point_format=raw["point_format"],
        record_length=raw["record_length"],
        global_encoding=raw["global_encoding"],
        file_source_id=raw["file_source_id"],
        scales=raw["scales"],
        offsets=raw["offsets"],
        point_count=raw["point_count"],
        vlrs=raw["vlrs"],
        evlrs=raw["evlrs"],
        crs=crs,
        crs_error=crs_error,
        dims=dims,
        standard=standard,
        extra=extra,
    )


# --- comparison -----------------------------------------------------------------------


def _sort_order(dims: dict[str, np.ndarray], names: list[str]) -> np.ndarray:
    """A stable order over ``names`` (X, Y, Z, gps_time first, then the others)."""
    first = [n for n in ("X", "Y", "Z", "gps_time") if n in names]
    ordered = first + sorted(n for n in names if n not in first)
    keys = []
    for name in ordered:
        v = dims[name]
        if v.ndim == 1:
            keys.append(v)
        else:
            keys.extend(v[:, i] for i in range(v.shape[1]))
    n = len(next(iter(dims.values()))) if dims else 0
    if not keys:
        return np.arange(n)
    return np.lexsort(keys[::-1])


def _first_diff(a: np.ndarray, b: np.ndarray) -> tuple[int, int]:
    neq = a != b
    if neq.ndim > 1:
        neq = neq.reshape(len(neq), -1).any(axis=1)
    idx = np.flatnonzero(neq)
    return int(idx.size), int(idx[0]) if idx.size else -1


def _extra_struct_fields(payload: bytes, with_stats: bool) -> list[dict]:
    out = []
    for i in range(len(payload) // _EXTRA_BYTES.size):
        f = _EXTRA_BYTES.unpack_from(payload, i * _EXTRA_BYTES.size)
        d = {
            "name": _cstr(f[3]),
            "data_type": f[1],
            "options": f[2] if with_stats else f[2] & ~0b110,
            "no_data": f[5:8],
            "scale": f[14:17],
            "offset": f[17:20],
            "description": _cstr(f[20]),
        }
        if with_stats:  # min/max are statistics of the points the file holds
            d["min"], d["max"] = f[8:11], f[11:14]
        out.append(d)
    return out


def _extra_bytes_change(a: bytes, b: bytes, with_stats: bool) -> str:
    sa, sb = _extra_struct_fields(a, with_stats), _extra_struct_fields(b, with_stats)
    names_a, names_b = [d["name"] for d in sa], [d["name"] for d in sb]
    if names_a != names_b:
        return f"extra dimensions described {names_a} -> {names_b}"
    for da, db in zip(sa, sb, strict=True):
        for k in da:
            if da[k] != db[k]:
                return f"{da['name']!r} {k} {da[k]!r} -> {db[k]!r}"
    return f"payload differs ({len(a)} B -> {len(b)} B)"


def _compare_vlrs(
    kind: str, src: list[Vlr], out: list[Vlr], *, skip_crs: bool, same_points: bool
) -> list[str]:
    def keep(v: Vlr) -> bool:
        return v.user_id not in OWNED_USER_IDS and not (skip_crs and v.is_crs)

    a = [v for v in src if keep(v)]
    b = [v for v in out if keep(v)]
    diffs = []
    if not same_points:  # ExtraBytes min/max may follow the points of each tile

        def norm(v: Vlr) -> Vlr:
            if not v.is_extra_bytes:
                return v
            fields = repr(_extra_struct_fields(v.payload, False)).encode()
            return Vlr(v.user_id, v.record_id, v.description, fields)

        raw = {norm(v): v for v in a + b}
        a, b = [norm(v) for v in a], [norm(v) for v in b]
    else:
        raw = {v: v for v in a + b}
    ca, cb = Counter(a), Counter(b)
    lost = list((ca - cb).elements())
    added = list((cb - ca).elements())
    for v in lost:
        twin = next((w for w in added if w.key == v.key), None)
        if twin is not None:
            added.remove(twin)
            what = []
            if twin.description != v.description:
                what.append(f"description {v.description!r} -> {twin.description!r}")
            if twin.payload != v.payload:
                pa, pb = raw[v].payload, raw[twin].payload
                if v.is_extra_bytes:
                    what.append(_extra_bytes_change(pa, pb, same_points))
                else:
                    what.append(f"payload differs ({len(pa)} B -> {len(pb)} B)")
            diffs.append(f"{kind} {v.user_id}/{v.record_id} changed: {', '.join(what)}")
        else:
            diffs.append(f"{kind} lost: {v.label()}")
    diffs.extend(f"{kind} added: {v.label()}" for v in added)
    return diffs


def _crs_name(crs: CRS | None) -> str:
    return "none" if crs is None else crs.name


def _compare_header(src: LasFile, out: LasFile, *, promoted: bool, same_points: bool) -> list[str]:
    diffs = []
    if promoted:
        want_fmt, want_version = PROMOTION[src.point_format], "1.4"
    else:
        want_fmt, want_version = src.point_format, src.version
    if out.point_format != want_fmt:
        why = "classes > 31 written" if promoted else "no class > 31 written"
        diffs.append(
            f"point format {src.point_format} -> {out.point_format} ({why}, want {want_fmt})"
        )
    if out.version != want_version:
        diffs.append(f"LAS version {src.version} -> {out.version} (want {want_version})")
    same_format = not promoted and out.point_format == src.point_format
    if same_format and out.record_length != src.record_length:
        diffs.append(f"point record length {src.record_length} -> {out.record_length}")
    ge_mask = ~_WKT_BIT if promoted else ~0
    if (src.global_encoding & ge_mask) != (out.global_encoding & ge_mask):
        diffs.append(f"global encoding {src.global_encoding:#06x} -> {out.global_encoding:#06x}")
    if src.file_source_id != out.file_source_id:
        diffs.append(f"file source id {src.file_source_id} -> {out.file_source_id}")
    if src.scales != out.scales:
        diffs.append(f"scales {src.scales} -> {out.scales}")
    if src.offsets != out.offsets:
        diffs.append(f"offsets {src.offsets} -> {out.offsets}")
    if src.crs != out.crs:
        diffs.append(f"CRS {_crs_name(src.crs)} -> {_crs_name(out.crs)}")
    # on promotion LAS 1.4 formats 6-10 need a WKT CRS, so pcrs may rewrite the CRS VLRs
    diffs += _compare_vlrs("VLR", src.vlrs, out.vlrs, skip_crs=promoted, same_points=same_points)
    diffs += _compare_vlrs("EVLR", src.evlrs, out.evlrs, skip_crs=promoted, same_points=same_points)
    return diffs


def _compare_dims(
    src: dict[str, np.ndarray],
    out: dict[str, np.ndarray],
    names: list[str],
    out_names: list[str],
    *,
    changed: tuple[str, ...],
    promoted: bool,
    src_format: int,
) -> list[str]:
    diffs = []
    n_src = len(next(iter(src.values())))
    n_out = len(next(iter(out.values()))) if out else 0
    if n_src != n_out:
        return [f"point count {n_src} -> {n_out}"]
    for name in names:
        if name in changed:
            continue
        a = src[name]
        if promoted and name == "scan_angle_rank":
            if "scan_angle" not in out:
                diffs.append("dimension lost: scan_angle_rank (no scan_angle in the output)")
                continue
            want = np.round(a.astype(np.int64) / 0.006).astype(np.int64)
            count, first = _first_diff(want, out["scan_angle"].astype(np.int64))
            if count:
                diffs.append(
                    f"scan_angle != round(scan_angle_rank / 0.006) for {count} of {n_src} points "
                    f"(first: point {first}, rank {int(a[first])} -> "
                    f"{int(out['scan_angle'][first])}, want {int(want[first])})"
                )
            continue
        if name not in out:
            diffs.append(f"dimension lost: {name}")
            continue
        b = out[name]
        if a.shape[1:] != b.shape[1:] or a.dtype != b.dtype:
            diffs.append(f"dimension {name}: type {a.dtype}{a.shape[1:]} -> {b.dtype}{b.shape[1:]}")
            if a.shape[1:] != b.shape[1:]:
                continue
        count, first = _first_diff(a, b)
        if count:
            diffs.append(
                f"dimension {name}: {count} of {n_src} points differ "
                f"(first: point {first}, {a[first].tolist()} -> {b[first].tolist()})"
            )
    for name in out_names:
        if name in names or name in changed or (name == "scan_angle" and promoted):
            continue
        if promoted and name in laspy.PointFormat(PROMOTION[src_format]).dimension_names:
            # a field the legacy format lacks (gps_time for 0/2, nir for 5, scanner_channel,
            # overlap): nothing to keep, so it must hold no invented value
            count, _ = _first_diff(out[name], np.zeros_like(out[name]))
            if count and name != "overlap":
                diffs.append(f"{name} invented on promotion for {count} of {n_src} points")
            continue
        diffs.append(f"dimension added: {name}")
    return diffs


def compare(
    src: LasFile,
    outs: list[LasFile],
    *,
    changed: tuple[str, ...] = (),
    same_order: bool = True,
) -> list[str]:
    """Every difference between ``src`` and the files ``outs`` written from it.

    Parameters
    ----------
    src : LasFile
        The input.
    outs : list of LasFile
        One output (``same_order=True``: point i is input point i) or tiles whose
        union must be the input (``same_order=False``: both sides are sorted by all
        unchanged dimensions before comparing).
    changed : tuple of str
        Dimensions the command may change (``classification`` for classify).

    Returns
    -------
    list of str
        Human-readable differences; empty when nothing was lost.
    """
    if not outs:
        return ["no output file"]
    legacy_classes = src.point_format < 6
    max_class = max((int(o.dims["classification"].max()) for o in outs if o.point_count), default=0)
    promoted = legacy_classes and max_class > 31
    diffs: list[str] = []
    for o in outs:  # the same header problem in several tiles is reported once
        for d in _compare_header(src, o, promoted=promoted, same_points=same_order):
            if d not in diffs:
                diffs.append(d)
    names = src.standard + src.extra
    out_names: list[str] = []
    for o in outs:
        out_names += [n for n in o.standard + o.extra if n not in out_names]
    common = [n for n in out_names if all(n in o.dims for o in outs)]
    out_dims = {n: np.concatenate([o.dims[n] for o in outs]) for n in common}
    src_dims = src.dims
    if not same_order:
        key = [n for n in names if n in out_dims and n not in changed]
        if promoted:
            key = [n for n in key if n != "scan_angle_rank"]
        src_dims = {n: v[_sort_order(src.dims, key)] for n, v in src.dims.items()}
        order = _sort_order(out_dims, key) if out_dims else np.arange(0)
        out_dims = {n: v[order] for n, v in out_dims.items()}
    for n in out_names:
        if n not in common:
            diffs.append(f"dimension {n} not in every output file")
    diffs += _compare_dims(
        src_dims,
        out_dims,
        names,
        common,
        changed=changed,
        promoted=promoted,
        src_format=src.point_format,
    )
    return diffs


def flip_one_bit(las_file: LasFile, name: str, point: int = 0) -> LasFile:
    """A copy of ``las_file`` whose dimension ``name`` has one bit flipped (comparator self-test)."""
    dims = {k: v.copy() for k, v in las_file.dims.items()}
    v = dims[name]
    flat = v.reshape(len(v), -1)
    flat[point, 0] ^= 1
    copy = LasFile(**{**las_file.__dict__, "dims": dims})
    return copy


# --- fixtures -------------------------------------------------------------------------

_VERSION = {0: "1.2", 1: "1.2", 2: "1.2", 3: "1.2", 4: "1.3", 5: "1.3"}
_SCALES = (0.01, 0.01, 0.005)
_OFFSETS = (841999.5, 6517999.25, -10.0)
_FILE_SOURCE_ID = 4242
_GPS_STANDARD = 1  # global encoding bit 0
#: the vertical part of the CRS (NGF-IGN69 height) must survive too
_CRS = "EPSG:2154+5720"
# GeoTIFF keys: projected Lambert-93 (2154) in metres, vertical NGF-IGN69 (5720) in metres
_GEOKEYS = struct.pack(
    "<28H", 1, 1, 0, 6,
    1024, 0, 1, 1,
    1025, 0, 1, 1,
    3072, 0, 1, 2154,
    3076, 0, 1, 9001,
    4096, 0, 1, 5720,
    4099, 0, 1, 9001,
)  # fmt: skip


def _user_vlr(seed: int) -> laspy.VLR:
    payload = np.random.default_rng(seed).integers(0, 256, 37, dtype=np.uint8).tobytes()
    return laspy.VLR("pcrs_fixture", 4242, "user VLR kept by pcrs", payload)


def _user_evlr(seed: int) -> laspy.VLR:
    payload = np.random.default_rng(seed + 1).integers(0, 256, 70_000, dtype=np.uint8).tobytes()
    return laspy.VLR("pcrs_fixture", 4343, "user EVLR (> 64 KiB)", payload)


def _scene(seed: int):
    from pcrs import synth

    scene = synth.make_scene(3000, seed=seed, noise_fraction=0.01)
    return scene.cloud


def _random_values(dim, n: int, rng: np.random.Generator, point_format: int) -> np.ndarray:
    name, bits = dim.name, dim.num_bits
    if name == "scan_angle_rank":
        v = rng.integers(-90, 91, n)
        v[v == 0] = 45
        return v.astype(np.int8)
    if name == "scan_angle":
        v = rng.integers(-30000, 30001, n)
        v[v == 0] = 7
        return v.astype(np.int16)
    if name == "classification":
        top = 32 if point_format < 6 else 256
        return rng.integers(1, top, n).astype(np.uint8)
    if name in ("return_number", "number_of_returns"):
        return rng.integers(1, 2**bits, n).astype(np.uint8)
    if name == "gps_time":
        return rng.uniform(1.0e8, 4.0e8, n)
    kind = dim.kind.name
    if kind == "BitField":
        return rng.integers(0, 2**bits, n).astype(np.uint8)
    if kind == "FloatingPoint":
        v = rng.standard_normal(n) * 100.0
        return v.astype(np.float32 if bits == 32 else np.float64)
    if kind == "UnsignedInteger":
        return rng.integers(1, 2 ** min(bits, 63), n, dtype=np.uint64).astype(f"u{bits // 8}")
    v = rng.integers(-(2 ** (bits - 1)), 2 ** (bits - 1) - 1, n, dtype=np.int64)
    v[v == 0] = 1
    return v.astype(f"i{bits // 8}")


def _las_data(point_format: int, version: str, seed: int, extra=()) -> laspy.LasData:
    cloud = _scene(seed)
    rng = np.random.default_rng(seed)
    header = laspy.LasHeader(point_format=point_format, version=version)
    header.scales = np.array(_SCALES)
    header.offsets = np.array(_OFFSETS)
    if extra:
        header.add_extra_dims(list(extra))
    header.global_encoding.gps_time_type = True
    header.file_source_id = _FILE_SOURCE_ID + point_format
    las = laspy.LasData(header)
    n = len(cloud)
    las.points = laspy.ScaleAwarePointRecord.zeros(n, header=header)
    las.x, las.y, las.z = cloud.x, cloud.y, cloud.z
    for dim in las.point_format.dimensions:
        if dim.name in ("X", "Y", "Z") or not dim.is_standard:
            continue
        las[dim.name] = _random_values(dim, n, rng, point_format)
    for name in las.point_format.extra_dimension_names:
        arr = las.points.array[name]
        dt = arr.dtype.base if arr.ndim > 1 else arr.dtype
        if dt.kind == "f":
            vals = rng.standard_normal(arr.shape).astype(dt) * 1000
        else:
            info = np.iinfo(dt)
            vals = rng.integers(max(info.min, -(2**62)), min(info.max, 2**62), arr.shape)
            vals[vals == 0] = 3
            vals = vals.astype(dt)
        las.points.array[name] = vals
    las.header.vlrs.append(_user_vlr(seed))
    return las


def _add_crs(las: laspy.LasData) -> None:
    if las.header.version.minor >= 4 and las.header.point_format.id >= 6:
        wkt = CRS(_CRS).to_wkt("WKT1_GDAL").encode() + b"\0"
        las.header.vlrs.append(laspy.VLR("LASF_Projection", 2112, "OGC WKT", wkt))
        las.header.global_encoding.wkt = True
    else:
        las.header.vlrs.append(laspy.VLR("LASF_Projection", 34735, "GeoKeyDirectory", _GEOKEYS))


def _format_file(folder: Path, point_format: int, version: str | None = None) -> Path:
    version = version or _VERSION.get(point_format, "1.4")
    las = _las_data(point_format, version, seed=100 + point_format)
    _add_crs(las)
    if version == "1.4":
        las.evlrs = VLRList([_user_evlr(point_format)])
    suffix = "" if version == _VERSION.get(point_format, "1.4") else f"_v{version.replace('.', '')}"
    path = folder / f"format{point_format}{suffix}.laz"
    las.write(path)
    return path


_EXTRA_PARAMS = (
    laspy.ExtraBytesParams("e_u1", "u1", "uint8"),
    laspy.ExtraBytesParams("e_i1", "i1", "int8"),
    laspy.ExtraBytesParams("e_u2", "u2", "uint16"),
    laspy.ExtraBytesParams("e_i2", "i2", "int16", no_data=[-1]),
    laspy.ExtraBytesParams("e_u4", "u4", "uint32"),
    laspy.ExtraBytesParams("e_i4", "i4", "int32"),
    laspy.ExtraBytesParams("e_u8", "u8", "uint64"),
    laspy.ExtraBytesParams("e_i8", "i8", "int64"),
    laspy.ExtraBytesParams("e_f4", "f4", "float32"),
    laspy.ExtraBytesParams("e_f8", "f8", "float64"),
    laspy.ExtraBytesParams("Amplitude", "i4", "scaled+offset", offsets=[100.0], scales=[0.001]),
    laspy.ExtraBytesParams("arr3u2", "3u2", "array of 3 uint16"),
    laspy.ExtraBytesParams(
        "arr2i2s", "2i2", "scaled array", offsets=[1.0, -2.0], scales=[0.1, 0.01]
    ),
)


def _extra_dims_file(folder: Path, point_format: int, suffix: str) -> Path:
    version = _VERSION.get(point_format, "1.4")
    las = _las_data(point_format, version, seed=200 + point_format, extra=_EXTRA_PARAMS)
    _add_crs(las)
    path = folder / f"extra_dims_format{point_format}.{suffix}"
    las.write(path)
    return path


def _geotiff_vlrs() -> list[tuple[str, int, str, bytes]]:
    return [("LASF_Projection", 34735, "GeoKeyDirectory", _GEOKEYS)]


def _write_raw_las(
    path: Path,
    *,
    point_format: int,
    records: np.ndarray,
    vlrs: list[tuple[str, int, str, bytes]],
    xyz: np.ndarray,
    returns: np.ndarray,
) -> None:
    """Write a LAS 1.2 file byte by byte (``records``: one row of uint8 per point)."""
    n, record_length = records.shape
    vlr_bytes = b"".join(
        _VLR_HEADER.pack(0, uid.encode(), rid, len(payload), desc.encode()) + payload
        for uid, rid, desc, payload in vlrs
    )
    offset_points = _HEADER_12.size + len(vlr_bytes)
    by_return = [int((returns == r).sum()) for r in range(1, 6)]
    mins, maxs = xyz.min(axis=0), xyz.max(axis=0)
    header = _HEADER_12.pack(
        b"LASF", _FILE_SOURCE_ID, _GPS_STANDARD, b"\0" * 16, 1, 2,
        b"pcrs lasfixtures", b"pcrs lasfixtures (raw)", 100, 2024,
        _HEADER_12.size, offset_points, len(vlrs), point_format, record_length, n,
        *by_return, *_SCALES, *_OFFSETS,
        maxs[0], mins[0], maxs[1], mins[1], maxs[2], mins[2],
    )  # fmt: skip
    path.write_bytes(header + vlr_bytes + records.tobytes())


def _extra_bytes_struct(data_type: int, options: int, name: str, description: str) -> bytes:
    zeros = (0.0, 0.0, 0.0)
    return _EXTRA_BYTES.pack(
        b"\0\0", data_type, options, name.encode(), b"\0" * 4,
        *zeros, *zeros, *zeros, *zeros, *zeros, description.encode(),
    )  # fmt: skip


def _deviation_file(folder: Path, described: bool) -> Path:
    """Format 1 + documented u2 ``Deviation`` + 13 bytes (undocumented, or data_type 0)."""
    las = _las_data(1, "1.2", seed=301 if described else 300)
    rng = np.random.default_rng(7)
    n = len(las.points)
    base = las.points.array.view(np.uint8).reshape(n, -1)
    deviation = rng.integers(1, 2**16, n).astype("<u2").view(np.uint8).reshape(n, 2)
    opaque = rng.integers(0, 256, (n, 13)).astype(np.uint8)
    records = np.ascontiguousarray(np.hstack([base, deviation, opaque]))
    structs = _extra_bytes_struct(3, 0, "Deviation", "documented deviation")
    if described:
        structs += _extra_bytes_struct(0, 13, "opaque13", "13 bytes, data_type 0")
    vlrs = [
        ("pcrs_fixture", 4242, "user VLR kept by pcrs", _user_vlr(3).record_data),
        ("LASF_Spec", 4, "Extra Bytes Record", structs),
        *_geotiff_vlrs(),
    ]
    xyz = np.column_stack([las.x, las.y, las.z])
    name = "deviation_13_described.las" if described else "deviation_13_undocumented.las"
    path = folder / name
    _write_raw_las(
        path,
        point_format=1,
        records=records,
        vlrs=vlrs,
        xyz=xyz,
        returns=np.asarray(las.return_number),
    )
    return path


def _empty_wkt_file(folder: Path, payload: bytes, name: str) -> Path:
    """LAS 1.2 format 3 whose WKT VLR (2112) is empty, beside valid GeoTIFF keys."""
    las = _las_data(3, "1.2", seed=400 + len(payload))
    n = len(las.points)
    records = np.ascontiguousarray(las.points.array.view(np.uint8).reshape(n, -1))
    vlrs = [
        *_geotiff_vlrs(),
        ("LASF_Projection", 2112, "OGC WKT (empty)", payload),
        ("pcrs_fixture", 4242, "user VLR kept by pcrs", _user_vlr(4).record_data),
    ]
    xyz = np.column_stack([las.x, las.y, las.z])
    path = folder / name
    _write_raw_las(
        path,
        point_format=3,
        records=records,
        vlrs=vlrs,
        xyz=xyz,
        returns=np.asarray(las.return_number),
    )
    return path


_BUILDERS = {
    **{f"format{f}": (lambda folder, f=f: _format_file(folder, f)) for f in range(11)},
    "format3_v14": lambda folder: _format_file(folder, 3, "1.4"),
    "format1_v14": lambda folder: _format_file(folder, 1, "1.4"),
    "extra_dims_format7": lambda folder: _extra_dims_file(folder, 7, "laz"),
    "extra_dims_format3": lambda folder: _extra_dims_file(folder, 3, "las"),
    "deviation_13_undocumented": lambda folder: _deviation_file(folder, described=False),
    "deviation_13_described": lambda folder: _deviation_file(folder, described=True),
    "empty_wkt_zero_length": lambda folder: _empty_wkt_file(folder, b"", "empty_wkt_0.las"),
    "empty_wkt_single_nul": lambda folder: _empty_wkt_file(folder, b"\0", "empty_wkt_nul.las"),
}

#: Names of every fixture :func:`build` knows.
FIXTURES = tuple(_BUILDERS)
#: Fixtures in a legacy point format (0-5), for the promotion checks.
LEGACY_FIXTURES = tuple(
    n
    for n in FIXTURES
    if n in {f"format{f}" for f in range(6)}
    or n in ("format1_v14", "format3_v14", "extra_dims_format3")
    or n.startswith(("deviation", "empty_wkt"))
)


def build(name: str, folder: str | Path) -> Path:
    """Write fixture ``name`` (one of :data:`FIXTURES`) in ``folder``; return its path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return _BUILDERS[name](folder)


# --- running the commands -------------------------------------------------------------

#: Commands the harness runs: (a) classify noise, (b) tile, (c) process --steps none,
#: (d) classify with scene steps, so that IGN classes > 31 force LAS 1.4.
COMMANDS = ("classify", "tile", "process", "promote")


def _extent(src: LasFile) -> tuple[float, float, float, float]:
    if src.point_count == 0:
        return (0.0, 0.0, 0.0, 0.0)
    xs = src.dims["X"].astype(np.float64) * src.scales[0] + src.offsets[0]
    ys = src.dims["Y"].astype(np.float64) * src.scales[1] + src.offsets[1]
    return float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())


def command_args(command: str, src_path: Path, src: LasFile, workdir: Path) -> list[str]:
    """The ``pcrs`` arguments of ``command`` on ``src_path``, writing under ``workdir``."""
    minx, miny, maxx, maxy = _extent(src)
    span = max(maxx - minx, maxy - miny)
    if command == "classify":
        return ["classify", str(src_path), "-o", str(workdir / "out.laz"), "--steps", "noise", "-q"]
    if command == "promote":
        steps = "noise,ground,buildings"
        return ["classify", str(src_path), "-o", str(workdir / "out.laz"), "--steps", steps,
                "--codes", "ign", "-q"]  # fmt: skip
    if command == "tile":
        # the grid starts at the lower-left point: 0.6 x the longer side gives 2-4 tiles
        size = span * 0.6 if span > 0 else 1.0
        return ["tile", str(src_path), "-o", str(workdir / "tiles"), "--size", repr(size),
                "--origin", repr(minx), repr(miny), "-q"]  # fmt: skip
    if command == "process":
        # one pixel per tile, one raster: only the tiles matter here
        size = float(max(1, int(np.ceil(span))))
        return ["process", str(src_path), "-o", str(workdir / "proc"), "--steps", "none",
                "--tile-size", repr(size), "--resolution", repr(size), "--products", "dtm",
                "--workers", "1", "-q"]  # fmt: skip
    raise ValueError(f"unknown command {command!r}")


def outputs(command: str, workdir: Path) -> list[Path]:
    """The point files ``command`` wrote under ``workdir``."""
    if command in ("classify", "promote"):
        out = workdir / "out.laz"
        return [out] if out.exists() else []
    folder = workdir / ("tiles" if command == "tile" else "proc/tiles")
    return sorted(p for p in folder.glob("*") if p.suffix.lower() in (".las", ".laz"))


def run_cli(args: list[str]) -> tuple[int, str]:
    """Run ``pcrs ARGS`` in this process; return the exit code and the output."""
    from click.testing import CliRunner

    from pcrs.cli.main import cli

    result = CliRunner().invoke(cli, args)
    text = result.output or ""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        text += f"\n{type(result.exception).__name__}: {result.exception}"
    return result.exit_code, text


def check(command: str, src_path: str | Path, workdir: str | Path) -> list[str]:
    """Run ``command`` on ``src_path``; every difference between input and output(s).

    An empty list means nothing was lost. A failed command gives one
    ``command failed: ...`` entry.
    """
    src_path, workdir = Path(src_path), Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    src = read_las(src_path)
    code, text = run_cli(command_args(command, src_path, src, workdir))
    if code != 0:
        lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
        message = lines[-1] if lines else f"exit code {code}"
        for folder in (workdir, src_path.parent):
            message = message.replace(f"{folder}{os.sep}", "")
        return [f"command failed: {message}"]
    files = outputs(command, workdir)
    changed = ("classification",) if command in ("classify", "promote") else ()
    return compare(src, [read_las(p) for p in files], changed=changed,
                   same_order=command in ("classify", "promote"))  # fmt: skip
