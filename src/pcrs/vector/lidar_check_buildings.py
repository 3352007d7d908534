"""Façades and completeness of the LiDAR cross-check: PCRS-LIDAR-004 to 007 (internal).

Compute only: the façades come from :mod:`pcrs.vector.lidar_check_delivery`, the building
occupancy raster and the LiDAR coverage from :class:`pcrs.vector.lidar_check_digest.LidarDigest`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from scipy import ndimage

from ..raster.grid import RasterGrid
from .lidar_check_delivery import Delivery, fmt, on_record
from .lidar_check_digest import cell_centres, cells
from .rules import Finding

if TYPE_CHECKING:
    from .lidar_check import LidarOptions
    from .lidar_check_digest import LidarDigest

__all__ = ["check_completeness", "check_facades", "stations"]

#: a side is decided when the shares of stations seeing the building differ by this much
_SIDE_MARGIN = 0.3
#: offsets (m) beyond a roof overhang, from which the side is decided
_FAR_OFFSET = 0.99


def stations(
    parts: list[tuple[int, np.ndarray]], step: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Points every ``step`` along façade parts.

    Parameters
    ----------
    parts : list of (int, ndarray)
        Record index and ``(n, 2)`` vertices of each part (:attr:`Delivery.facade_parts`).
    step : float

    Returns
    -------
    x, y : ndarray
        The stations, at the middle of ``step``-long pieces of each segment.
    nx, ny : ndarray
        Unit normal on the left of the segment of each station.
    part : ndarray of int
        Index in ``parts`` of each station.
    part_length : ndarray
        Length of each part.
    """
    segs = [np.column_stack([c[:-1], c[1:]]) for _, c in parts]
    pid = np.repeat(np.arange(len(parts)), [len(s) for s in segs])
    s = np.vstack(segs)
    dx, dy = s[:, 2] - s[:, 0], s[:, 3] - s[:, 1]
    length = np.hypot(dx, dy)
    keep = length > 1e-6
    s, dx, dy, length, pid = s[keep], dx[keep], dy[keep], length[keep], pid[keep]
    n = np.maximum(1, np.round(length / step).astype(np.int64))
    seg = np.repeat(np.arange(len(s)), n)
    first = np.concatenate([[0], np.cumsum(n)[:-1]])
    k = np.arange(seg.size) - np.repeat(first, n)
    t = (k + 0.5) / n[seg]
    x = s[seg, 0] + t * dx[seg]
    y = s[seg, 1] + t * dy[seg]
    nx_, ny_ = -dy[seg] / length[seg], dx[seg] / length[seg]
    seg_len = np.bincount(pid, weights=length, minlength=len(parts))
    return x, y, nx_, ny_, pid[seg], seg_len


def _sees(
    x: np.ndarray,
    y: np.ndarray,
    nx_: np.ndarray,
    ny_: np.ndarray,
    offsets: tuple[float, ...],
    grid: RasterGrid,
    occupied: np.ndarray,
) -> np.ndarray:
    """Whether each station has an occupied cell at one of ``offsets`` along its normal
    (negative offsets: on its right)."""
    out = np.zeros(x.size, bool)
    for off in offsets:
        idx, ok = cells(grid, x + off * nx_, y + off * ny_)
        out |= ok & occupied[idx]
    return out


def _first_station(fid: np.ndarray, which: np.ndarray, n_rec: int) -> np.ndarray:
    """Per record, the first of the stations ``which`` (indices, ascending) it owns; -1 if none."""
    first = np.full(n_rec, -1, np.int64)
    rev = which[::-1]
    first[fid[rev]] = rev
    return first


@dataclass
class _Sight:
    """What each façade sees of the LiDAR buildings beside it; arrays per record.

    Attributes
    ----------
    x, y : ndarray
        The stations (per station, not per record).
    first, first_miss : ndarray of int
        Per record: its first station, and its first station over LiDAR without building
        (-1: none).
    length : ndarray
    judged : ndarray of bool
        Long enough, with LiDAR under at least half of its stations.
    share : ndarray
        Share of its stations over LiDAR that see a building, on either side.
    left, right : ndarray
        Share that see it on that side beyond a roof overhang.
    """

    x: np.ndarray
    y: np.ndarray
    first: np.ndarray
    first_miss: np.ndarray
    length: np.ndarray
    judged: np.ndarray
    share: np.ndarray
    left: np.ndarray
    right: np.ndarray


def _sight(d: Delivery, opt: LidarOptions, lidar: LidarDigest) -> _Sight:
    """Look from stations along the façades at the building raster, on both sides.

    A station sees the building when a cell at one of ``opt.facade_offsets`` on a side holds
    a building point; only stations over LiDAR (a cell of ``lidar.coarse`` with points)
    count. The side is seen from the offsets beyond a roof overhang (1 m and more).
    """
    x, y, nx_, ny_, pid, part_len = stations(d.facade_parts, opt.facade_step)
    rec_of_part = np.array([p[0] for p in d.facade_parts], np.int64)
    fid = rec_of_part[pid]
    n_rec = len(d.records)

    def sees(sign: float, offsets: tuple[float, ...]) -> np.ndarray:
        signed = tuple(sign * o for o in offsets)
        return _sees(x, y, nx_, ny_, signed, lidar.fine, lidar.buildings)

    seen = sees(1.0, opt.facade_offsets) | sees(-1.0, opt.facade_offsets)
    far = tuple(o for o in opt.facade_offsets if o >= _FAR_OFFSET) or opt.facade_offsets[-1:]
    ci, ok = cells(lidar.coarse, x, y)
    cov = ok & lidar.covered[ci]

    def count(weights: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(fid, weights=weights, minlength=n_rec)

    n_st, n_cov = count(), count(cov)
    length = np.bincount(rec_of_part, weights=part_len, minlength=n_rec)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(n_cov > 0, count(cov & seen) / n_cov, 0.0)
        left = np.where(n_cov > 0, count(cov & sees(1.0, far)) / n_cov, 0.0)
        right = np.where(n_cov > 0, count(cov & sees(-1.0, far)) / n_cov, 0.0)
    return _Sight(
        x=x,
        y=y,
        first=_first_station(fid, np.arange(x.size), n_rec),
        first_miss=_first_station(fid, np.flatnonzero(cov & ~seen), n_rec),
        length=length,
        judged=(n_st > 0) & (n_cov >= 0.5 * n_st) & (length >= opt.facade_min_length),
        share=share,
        left=left,
        right=right,
    )


def check_facades(
    d: Delivery, opt: LidarOptions, lidar: LidarDigest, stats: dict[str, Any]
) -> list[Finding]:
    """Judge each façade by the LiDAR building points beside it, and by their side.

    Parameters
    ----------
    d : Delivery
    opt : LidarOptions
    lidar : LidarDigest
        Its building raster and its coverage.
    stats : dict
        Receives ``judged``, ``along_buildings``, ``without_building``, ``side_decided``,
        ``building_on_right``.

    Returns
    -------
    list of Finding
        PCRS-LIDAR-004 per façade without building (on its first station without), then
        PCRS-LIDAR-005 (most façades have the building on their right) or PCRS-LIDAR-006
        per façade against the convention (on its first station).
    """
    if not d.facade_parts:
        return []
    s = _sight(d, opt, lidar)
    findings = []
    weak = np.flatnonzero(s.judged & (s.share < opt.facade_min_share))
    for i in weak:
        at = s.first_miss[i] if s.first_miss[i] >= 0 else s.first[i]
        params: dict[str, Any] = {
            "share": f"{100 * s.share[i]:.0f}",
            "length": fmt(s.length[i], False),
            "distance": fmt(max(opt.facade_offsets), False),
        }
        findings.append(on_record("PCRS-LIDAR-004", params, d.records[i], s.x[at], s.y[at]))
    strong = s.judged & (s.share >= opt.facade_min_share)
    decided = strong & (np.abs(s.left - s.right) >= _SIDE_MARGIN)
    right = np.flatnonzero(decided & (s.right > s.left))
    n_dec = int(decided.sum())
    stats.update(
        judged=int(s.judged.sum()),
        along_buildings=int(strong.sum()),
        without_building=int(weak.size),
        side_decided=n_dec,
        building_on_right=int(right.size),
    )
    if right.size and right.size >= 0.5 * n_dec:  # the delivery's convention is reversed
        at = s.first[right[0]]
        params = {"count": int(right.size), "total": n_dec}
        rec = d.records[right[0]]
        findings.append(on_record("PCRS-LIDAR-005", params, rec, s.x[at], s.y[at], field=None))
        return findings
    for i in right:
        at = s.first[i]
        findings.append(on_record("PCRS-LIDAR-006", {}, d.records[i], s.x[at], s.y[at]))
    return findings


def _metre_blocks(grid: RasterGrid, occupied: np.ndarray) -> tuple[RasterGrid, np.ndarray]:
    """The occupancy raster on cells of about 1 m (whole blocks of ``grid``'s cells from its
    south-west corner), or as it is when its cells are 1 m or larger."""
    f = max(1, round(1.0 / grid.resolution))
    ny, nx = -(-grid.height // f), -(-grid.width // f)
    pad = np.zeros((ny * f, nx * f), bool)
    pad[: grid.height, : grid.width] = occupied.reshape(grid.shape)
    blocks = RasterGrid(grid.xmin, grid.ymax, grid.resolution * f, nx, ny)
    return blocks, np.asarray(pad.reshape(ny, f, nx, f).any(axis=(1, 3)))


def _near_facades(d: Delivery, grid: RasterGrid, distance: float) -> np.ndarray:
    """Cells of ``grid`` within about ``distance`` of a façade (flat, row-major)."""
    zone = np.zeros(grid.size, bool)
    if not d.facade_parts:
        return zone
    x, y, *_ = stations(d.facade_parts, grid.resolution / 2)
    idx, ok = cells(grid, x, y)
    zone[idx[ok]] = True
    k = math.ceil(distance / grid.resolution)
    return ndimage.maximum_filter(zone.reshape(grid.shape), size=2 * k + 1).ravel()


def _survey_region(d: Delivery) -> Any:
    """Where the delivery says everything was surveyed: its emprises, or without one the
    convex hull of the objects checked; None when there is nothing."""
    if d.emprises:
        return shapely.union_all(d.emprises)
    pts = [c[:, :2] for c in d.coords if len(c)] + [c for _, c in d.facade_parts]
    return shapely.MultiPoint(np.vstack(pts)).convex_hull if pts else None


def check_completeness(
    d: Delivery, opt: LidarOptions, lidar: LidarDigest, stats: dict[str, Any], file: str
) -> list[Finding]:
    """Find the LiDAR buildings inside the survey region with no façade near them.

    Building cells (about 1 m, closed by one 3 x 3 step) are split into 8-connected
    components; one of at least ``opt.building_min_area`` whose centroid lies inside the
    region (:func:`_survey_region`) and with no façade within
    ``opt.building_facade_distance`` was not surveyed.

    Parameters
    ----------
    d : Delivery
    opt : LidarOptions
    lidar : LidarDigest
        Its building raster.
    stats : dict
        Receives ``lidar_buildings`` and ``not_surveyed``.
    file : str
        Where the findings are placed.

    Returns
    -------
    list of Finding
        PCRS-LIDAR-007 at each such building's centroid, components from the south-west.
    """
    grid, occ = _metre_blocks(lidar.fine, lidar.buildings)
    occ = ndimage.binary_closing(occ, np.ones((3, 3), bool)) | occ
    labels, n = ndimage.label(occ, np.ones((3, 3), bool))
    stats["lidar_buildings"] = 0
    stats["not_surveyed"] = 0
    if n == 0:
        return []
    flat = labels.ravel()
    sizes = np.bincount(flat, minlength=n + 1)
    big = sizes * grid.resolution**2 >= opt.building_min_area
    big[0] = False
    zone = _near_facades(d, grid, opt.building_facade_distance)
    touched = np.bincount(flat[zone], minlength=n + 1) > 0
    cand = np.flatnonzero(big & ~touched)
    stats["lidar_buildings"] = int(big.sum())
    if cand.size == 0:
        return []
    at = np.flatnonzero(flat > 0)
    cx, cy = cell_centres(grid, at)
    mx = np.bincount(flat[at], weights=cx, minlength=n + 1)[cand] / sizes[cand]
    my = np.bincount(flat[at], weights=cy, minlength=n + 1)[cand] / sizes[cand]
    region = _survey_region(d)
    inside = (
        shapely.contains_xy(region, mx, my) if region is not None else np.zeros(cand.size, bool)
    )
    findings = []
    for j in np.flatnonzero(inside):
        params = {
            "area": f"{sizes[cand[j]] * grid.resolution**2:.0f}",
            "distance": fmt(opt.building_facade_distance, False),
        }
        finding = Finding(
            "PCRS-LIDAR-007",
            params,
            file=file,
            feature_class="FacadePCRS",
            x=float(mx[j]),
            y=float(my[j]),
        )
        findings.append(finding)
    stats["not_surveyed"] = len(findings)
    return findings
