"""One streamed pass over one tile's points: counts, histograms, flags, duplicates.

:func:`run_tile` reads the stored records chunk by chunk (:func:`pcrs.io.las.iter_records`)
and keeps, in arrays bounded by the tile's size: point, pulse (return number 1) and water
(class 9) counts on the smallest density cell over the tile's square, the class and return
histograms, flag counts, GPS/scan/intensity extremes, points outside the tile, and the
packed X Y Z integers for the duplicate search (one sort at the end). It returns a
:class:`TileResult`, small and picklable, with the density judged on every cell size of the
specification and the counts reduced to the delivery's coverage and map cells.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import PcrsError
from .spec import LidarSpec

__all__ = ["TileJob", "TileResult", "run_tile"]

#: the scan angle unit of point formats 6-10, degrees (LAS 1.4 R15)
_SCAN_STEP = 0.006


@dataclass(frozen=True)
class TileJob:
    """What one worker needs: the file, its tile's square, the cells to count on.

    ``box`` is ``(xmin, ymin, xmax, ymax)``; ``cov_factor`` and ``map_factor`` are the
    coverage and map cells as multiples of the smallest density cell.
    """

    path: str
    box: tuple[float, float, float, float]
    spec: LidarSpec
    cov_factor: int = 1
    map_factor: int = 5
    chunk_size: int = 2_000_000


@dataclass
class DensityCells:
    """The density verdict of one cell size on one tile."""

    cell: float
    judged: int = 0
    below_pulses: int = 0
    worst_pulses: float = math.nan
    worst_pulses_xy: tuple[float, float] | None = None
    below_points: int = 0
    worst_points: float = math.nan
    worst_points_xy: tuple[float, float] | None = None


@dataclass
class TileResult:
    """What one tile's pass found (small; the arrays are bounded by the tile's size)."""

    path: str
    box: tuple[float, float, float, float]
    points: int = 0
    error: str | None = None
    bounds: tuple[float, ...] | None = None
    by_return: list[int] = field(default_factory=list)
    classes: dict[int, int] = field(default_factory=dict)
    first: dict[str, tuple[float, float]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    gps: tuple[float, float] | None = None
    max_intensity: int = 0
    max_scan: float = 0.0
    duplicates: int = 0
    density: list[DensityCells] = field(default_factory=list)
    mean_pulses: float = math.nan
    mean_points: float = math.nan
    judged_area: float = 0.0
    below_shapes: list[tuple[float, str, Any]] = field(default_factory=list)
    cov_points: np.ndarray | None = None
    cov_water: np.ndarray | None = None
    map_points: np.ndarray | None = None
    map_pulses: np.ndarray | None = None

    def stats(self) -> dict[str, Any]:
        """Per-tile figures for the JSON report."""
        d0 = self.density[0] if self.density else None
        return {
            "points": self.points,
            "pulses": self.by_return[1] if len(self.by_return) > 1 else 0,
            "mean_pulses_m2": _round(self.mean_pulses),
            "mean_points_m2": _round(self.mean_points),
            "cells_below_pulses": {
                f"{d.cell:g}m": _share(d.below_pulses, d.judged) for d in self.density
            },
            "min_pulses_m2": _round(d0.worst_pulses) if d0 else None,
            "classes": {str(k): v for k, v in sorted(self.classes.items())},
            "duplicates": self.duplicates,
            "outside": self.counts.get("outside", 0),
        }


def _round(v: float) -> float | None:
    return None if v is None or not math.isfinite(v) else round(float(v), 3)


def _share(n: int, total: int) -> float:
    return round(n / total, 5) if total else 0.0


class _Acc:
    """Accumulators of one tile's pass."""

    def __init__(self, job: TileJob):
        spec = job.spec
        self.base = min(spec.cells)
        x0, y0, x1, y1 = job.box
        self.x0, self.y1 = x0, y1
        self.nx = max(1, round((x1 - x0) / self.base))
        self.ny = max(1, round((y1 - y0) / self.base))
        n = self.nx * self.ny
        self.pts = np.zeros(n, np.int64)
        self.pulses = np.zeros(n, np.int64)
        self.water = np.zeros(n, np.int64)
        self.by_return = np.zeros(16, np.int64)
        self.classes = np.zeros(256, np.int64)
        self.lo = np.full(3, np.iinfo(np.int64).max, np.int64)
        self.hi = np.full(3, np.iinfo(np.int64).min, np.int64)
        self.keys: _Keys | None = None
        self.first: dict[str, tuple[float, float]] = {}
        self.counts: dict[str, int] = {}
        self.gps_lo, self.gps_hi = math.inf, -math.inf
        self.has_gps = False
        self.max_intensity = 0
        self.max_scan = 0.0
        self.n = 0
        self.n_hint = job_points_hint(job)

    def flag(self, name: str, mask: np.ndarray, x: np.ndarray, y: np.ndarray) -> None:
        """Count the points of ``mask`` under ``name``; keep the first one's place."""
        k = int(np.count_nonzero(mask))
        if not k:
            return
        self.counts[name] = self.counts.get(name, 0) + k
        if name not in self.first:
            i = int(np.argmax(mask))
            self.first[name] = (float(x[i]), float(y[i]))


def job_points_hint(job: TileJob) -> int:
    """The header's point count, bounded by what the file can hold (a lying header must not
    make the duplicate search allocate more than the file's points)."""
    from ..io import las

    try:
        info = las.info(job.path)
    except PcrsError:
        return 0
    rec = max(1, las.raw_header(job.path).record_length)
    most = 40 * info.file_size // rec if info.compressed else info.file_size // rec
    return int(min(info.points, most))


def _fields(arr: np.ndarray, fmt: int) -> tuple[np.ndarray, ...]:
    """(return number, number of returns, class, synthetic, withheld, scan angle in degrees)."""
    bf = arr["bit_fields"]
    if fmt >= 6:
        rn, nr = bf & 0x0F, bf >> 4
        cls = arr["classification"]
        flags = arr["classification_flags"]
        synthetic, withheld = flags & 1, flags & 4
        scan = np.abs(arr["scan_angle"].astype(np.float32)) * np.float32(_SCAN_STEP)
    else:
        rn, nr = bf & 0x07, (bf >> 3) & 0x07
        raw = arr["raw_classification"]
        cls, synthetic, withheld = raw & 31, raw & 32, raw & 128
        scan = np.abs(arr["scan_angle_rank"].astype(np.float32))
    return rn, nr, cls, synthetic, withheld, scan


def _chunk(acc: _Acc, job: TileJob, header: Any, arr: np.ndarray) -> None:
    spec = job.spec
    fmt = int(header.point_format.id)
    sx, sy, _sz = (float(v) for v in header.scales)
    ox, oy, _oz = (float(v) for v in header.offsets)
    X, Y, Z = arr["X"], arr["Y"], arr["Z"]
    acc.n += len(arr)
    lo = np.array([int(v.min()) for v in (X, Y, Z)], np.int64)
    hi = np.array([int(v.max()) for v in (X, Y, Z)], np.int64)
    np.minimum(acc.lo, lo, out=acc.lo)
    np.maximum(acc.hi, hi, out=acc.hi)
    if acc.keys is None:
        acc.keys = _Keys(header, acc.n_hint)
    acc.keys.add(X, Y, Z, lo, hi)
    x = X * sx + ox
    y = Y * sy + oy
    rn, nr, cls, synthetic, withheld, scan = _fields(arr, fmt)
    acc.by_return += np.bincount(rn, minlength=16)[:16]
    acc.classes += np.bincount(cls, minlength=256)[:256]
    bad_cls = ~np.isin(np.arange(256), spec.classes)[cls]
    acc.flag("class", bad_cls, x, y)
    acc.flag("returns", (rn == 0) | (rn > nr), x, y)
    if not spec.withheld:
        acc.flag("withheld", withheld != 0, x, y)
    if not spec.synthetic:
        acc.flag("synthetic", synthetic != 0, x, y)
    acc.flag("scan", scan > spec.max_scan_angle, x, y)
    acc.max_scan = max(acc.max_scan, float(scan.max()))
    acc.max_intensity = max(acc.max_intensity, int(arr["intensity"].max()))
    if "gps_time" in (arr.dtype.names or ()):
        g = arr["gps_time"]
        acc.has_gps = True
        acc.gps_lo = min(acc.gps_lo, float(g.min()))
        acc.gps_hi = max(acc.gps_hi, float(g.max()))
    # cells of the smallest density size over the tile's square (row 0 at the top)
    tol = spec.tolerance
    fx = (x - acc.x0) / acc.base
    fy = (acc.y1 - y) / acc.base
    out = (
        (fx < -tol / acc.base) | (fx > acc.nx + tol / acc.base)
        | (fy < -tol / acc.base) | (fy > acc.ny + tol / acc.base)
    )  # fmt: skip
    acc.flag("outside", out, x, y)
    ix = np.clip(fx.astype(np.int64), 0, acc.nx - 1)
    iy = np.clip(fy.astype(np.int64), 0, acc.ny - 1)
    flat = iy * acc.nx + ix
    keep = ~out
    n = acc.nx * acc.ny
    acc.pts += np.bincount(flat[keep], minlength=n)
    acc.pulses += np.bincount(flat[keep & (rn == 1)], minlength=n)
    acc.water += np.bincount(flat[keep & (cls == 9)], minlength=n)


class _Keys:
    """The X Y Z integers of a tile's points, for the duplicate search.

    While the points stay inside the header's bounds (the usual case), each point is one
    64-bit key (X, Y and Z offsets packed) written into one array sized by the header's
    count: 8 bytes a point, sorted in place at the end. Points outside the header's bounds,
    more points than announced, or bounds too wide for 64 bits switch to the three integers
    (12 bytes a point) and a lexicographic sort.
    """

    def __init__(self, header: Any, n_hint: int):
        sc = np.array(header.scales, float)
        off = np.array(header.offsets, float)
        self.lo = np.floor((np.array(header.mins, float) - off) / sc).astype(np.int64) - 1
        hi = np.ceil((np.array(header.maxs, float) - off) / sc).astype(np.int64) + 1
        self.bits = [max(1, int(v).bit_length()) for v in np.maximum(hi - self.lo, 1)]
        self.hi = self.lo + np.array([(1 << b) - 1 for b in self.bits], np.int64)
        self.packed = sum(self.bits) <= 64 and n_hint > 0
        self.buf: np.ndarray | None = np.empty(n_hint, np.uint64) if self.packed else None
        self.n = 0
        self.triples: list[np.ndarray] = []

    def add(self, X: np.ndarray, Y: np.ndarray, Z: np.ndarray, lo: np.ndarray, hi: np.ndarray):
        """One chunk; ``lo``/``hi``: its minimum and maximum X, Y, Z integers."""
        k = len(X)
        if self.packed and (
            (lo < self.lo).any() or (hi > self.hi).any()
            or self.buf is None or self.n + k > len(self.buf)
        ):  # fmt: skip
            self._to_triples()
        if not self.packed:
            self.triples.append(np.stack([X, Y, Z]))
            return
        assert self.buf is not None
        b1, b2 = self.bits[1], self.bits[2]
        out = self.buf[self.n : self.n + k]
        np.subtract(X, self.lo[0], out=out, casting="unsafe")
        out <<= np.uint64(b1 + b2)
        out |= (Y.astype(np.int64) - self.lo[1]).astype(np.uint64) << np.uint64(b2)
        out |= (Z.astype(np.int64) - self.lo[2]).astype(np.uint64)
        self.n += k

    def _decode(self, key: np.ndarray) -> np.ndarray:
        b1, b2 = self.bits[1], self.bits[2]
        x = (key >> np.uint64(b1 + b2)).astype(np.int64) + self.lo[0]
        y = ((key >> np.uint64(b2)) & np.uint64((1 << b1) - 1)).astype(np.int64) + self.lo[1]
        z = (key & np.uint64((1 << b2) - 1)).astype(np.int64) + self.lo[2]
        return np.stack([x, y, z]).astype(np.int32)

    def _to_triples(self) -> None:
        if self.buf is not None and self.n:
            self.triples.append(self._decode(self.buf[: self.n]))
        self.buf = None
        self.packed = False

    def duplicates(self) -> tuple[int, tuple[int, int] | None]:
        """How many points repeat an earlier one's integers, and one of them (X, Y)."""
        if self.packed:
            assert self.buf is not None
            key = self.buf[: self.n]
            key.sort()
            dup = key[1:] == key[:-1]
            count = int(np.count_nonzero(dup))
            if not count:
                return 0, None
            xyz = self._decode(key[1:][dup][:1])
            self.buf = None
            return count, (int(xyz[0, 0]), int(xyz[1, 0]))
        if not self.triples:
            return 0, None
        t = np.concatenate(self.triples, axis=1) if len(self.triples) > 1 else self.triples[0]
        self.triples = []
        order = np.lexsort((t[2], t[1], t[0]))
        s = t[:, order]
        dup = np.all(s[:, 1:] == s[:, :-1], axis=0)
        count = int(np.count_nonzero(dup))
        if not count:
            return 0, None
        j = int(np.argmax(dup)) + 1
        return count, (int(s[0, j]), int(s[1, j]))


def _duplicates(acc: _Acc, header: Any) -> tuple[int, tuple[float, float] | None]:
    """Points whose X Y Z integers repeat another point's: count, one place."""
    if acc.keys is None:
        return 0, None
    count, where = acc.keys.duplicates()
    acc.keys = None
    if where is None:
        return count, None
    sx, sy = float(header.scales[0]), float(header.scales[1])
    ox, oy = float(header.offsets[0]), float(header.offsets[1])
    return count, (where[0] * sx + ox, where[1] * sy + oy)


def _reduce(a: np.ndarray, ny: int, nx: int, f: int) -> np.ndarray:
    """Sum ``f`` x ``f`` blocks of the ``(ny, nx)`` grid ``a`` (``f`` divides both)."""
    return a.reshape(ny // f, f, nx // f, f).sum(axis=(1, 3))


def _density(acc: _Acc, job: TileJob, res: TileResult) -> None:
    spec = job.spec
    ny, nx = acc.ny, acc.nx
    pts, pul, wat = (a.reshape(ny, nx) for a in (acc.pts, acc.pulses, acc.water))
    for c, min_pul, min_pts in zip(spec.cells, spec.cell_min_pulses, spec.cell_min_points,
                                   strict=True):  # fmt: skip
        f = round(c / acc.base)
        if ny % f or nx % f:
            continue
        p, q, w = (_reduce(a, ny, nx, f) for a in (pts, pul, wat))
        judged = (p > 0) & (2 * w <= p)  # occupied, not mostly water
        d = DensityCells(cell=c, judged=int(judged.sum()))
        area = c * c
        for kind, counts, minimum in (("pulses", q, min_pul), ("points", p, min_pts)):
            dens = counts / area
            if d.judged:
                masked = np.where(judged, dens, np.inf)
                i = int(np.argmin(masked))
                r, col = divmod(i, masked.shape[1])
                xy = (acc.x0 + (col + 0.5) * c, acc.y1 - (r + 0.5) * c)
                setattr(d, f"worst_{kind}", float(masked.flat[i]))
                setattr(d, f"worst_{kind}_xy", xy)
            if minimum > 0 and d.judged:
                below = judged & (dens < minimum)
                setattr(d, f"below_{kind}", int(below.sum()))
                if below.any() and c == max(spec.cells):
                    res.below_shapes += _shapes(below, acc.x0, acc.y1, c, kind)
        res.density.append(d)
        if c == max(spec.cells):
            area_j = d.judged * area
            res.judged_area = area_j
            if area_j:
                res.mean_pulses = float(q[judged].sum()) / area_j
                res.mean_points = float(p[judged].sum()) / area_j


def _shapes(mask: np.ndarray, x0: float, y1: float, c: float, kind: str) -> list:
    """The cells of ``mask`` merged into polygons: ``(cell, kind, WKB)``."""
    import rasterio.features
    import shapely
    from affine import Affine

    out = []
    for geom, _v in rasterio.features.shapes(mask.astype(np.uint8), mask=mask,
                                             transform=Affine(c, 0, x0, 0, -c, y1)):  # fmt: skip
        out.append((c, kind, shapely.to_wkb(shapely.geometry.shape(geom))))
    return out


def run_tile(job: TileJob) -> TileResult:
    """Stream one tile's points and return what the checks need.

    A file whose points cannot all be read gives ``error`` set and the figures of the
    points read before the failure.
    """
    from ..io import las

    res = TileResult(job.path, job.box)
    acc = _Acc(job)
    header = None
    try:
        for header, arr in las.iter_records(job.path, job.chunk_size):
            _chunk(acc, job, header, arr)
    except PcrsError as exc:
        res.error = str(exc).split(": ", 1)[-1].split("; get a new copy")[0]
    except MemoryError:  # pragma: no cover - depends on the machine
        res.error = "not enough memory to read the points"
    res.points = acc.n
    if header is None or acc.n == 0:
        return res
    sx, sy, sz = (float(v) for v in header.scales)
    ox, oy, oz = (float(v) for v in header.offsets)
    lo, hi = acc.lo, acc.hi
    res.bounds = (lo[0] * sx + ox, lo[1] * sy + oy, lo[2] * sz + oz,
                  hi[0] * sx + ox, hi[1] * sy + oy, hi[2] * sz + oz)  # fmt: skip
    res.by_return = [int(v) for v in acc.by_return]
    res.classes = {int(k): int(acc.classes[k]) for k in np.flatnonzero(acc.classes)}
    res.first, res.counts = acc.first, acc.counts
    res.gps = (acc.gps_lo, acc.gps_hi) if acc.has_gps else None
    res.max_intensity, res.max_scan = acc.max_intensity, acc.max_scan
    res.duplicates, where = _duplicates(acc, header)
    if where is not None:
        res.first["dup"] = where
    _density(acc, job, res)
    ny, nx = acc.ny, acc.nx
    pts, pul, wat = (a.reshape(ny, nx) for a in (acc.pts, acc.pulses, acc.water))
    fc, fm = job.cov_factor, job.map_factor
    if fc and ny % fc == 0 and nx % fc == 0:
        res.cov_points = _reduce(pts, ny, nx, fc).astype(np.uint32)
        res.cov_water = _reduce(wat, ny, nx, fc).astype(np.uint32)
    if fm and ny % fm == 0 and nx % fm == 0:
        area = (fm * acc.base) ** 2
        res.map_points = (_reduce(pts, ny, nx, fm) / area).astype(np.float32)
        res.map_pulses = (_reduce(pul, ny, nx, fm) / area).astype(np.float32)
    return res
