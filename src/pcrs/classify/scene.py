"""Scene classification to the IGN LiDAR HD classes, given the ground and the height above it.

:func:`classify_scene` takes a point cloud, its ground mask (from
:mod:`pcrs.classify.ground`) and its height above ground (from
:mod:`pcrs.classify.height`) and returns one class code per point. The rules
run in this order, each one taking points the previous ones left free:

1. **noise** — points flagged by the caller keep the noise code (65 IGN, 7 ASPRS).
2. **water (9)** — :func:`classify_water`: ground points in flat, horizontal
   patches of at least ``min_area`` m² where the laser returns *less* than on
   the rest of the ground (fewer points per cell, or weaker intensity): water
   absorbs the near-infrared pulse and reflects it specularly, so LiDAR HD has
   a low density and a low intensity on rivers and lakes. Empty cells inside
   such a patch count as water too (drop-outs).
   The cell widens on sparse data to hold about 12 ground points; under about
   one ground point per m² (cells more than twice ``cell``) no water is sought.
   *Limits*: water that returns as strongly as the ground around it (turbid,
   rough, or seen at nadir) is not found and stays ground; wet, flat, dark
   tarmac can look like water; the vertical rule (flatness) rejects rapids and
   weirs.
3. **bridge decks (17)** — :func:`classify_bridges`: elevated planar segments
   (the roof segments of :mod:`pcrs.classify.buildings`) that span water
   (water — or a void: cells without any return, as rivers often give — within
   ``water_buffer`` on two opposite sides, and dilated water cells covering at
   least ``min_water_share`` of their footprint),
   or, when ``min_flush_share`` is set (off by default), whose edges run flush
   into the ground (at least that share of their boundary cells within
   ``flush_height`` of the ground next to them: a deck continues the road; a
   roof stands on walls). The flush rule is off by default because a ground
   filter that misses the top of an embankment or a terrace produces exactly
   that signature.
   *Limits*: a deck that is not planar at 10 cm (cobbles, rails) fragments;
   hillside buildings whose roof meets the slope can pass the flush rule; piers
   and pillars stay unclassified.
4. **buildings (6)** — :func:`pcrs.classify.buildings.classify_buildings`,
   minus the planar segments that run flush into the ground found next to them
   on at least :data:`MAX_TERRAIN_FLUSH_SHARE` of their edge along it
   (:func:`segment_flush_share`), and the segments that run flush into those
   (:func:`terrain_segments`): slopes and terraces the ground filter missed,
   which stay unclassified rather than become roofs.
   *Limit*: a house whose roof meets a missed terrace at the same height goes
   with the terrace.
5. **lasting above-ground structures (64)** — :func:`classify_structures`:
   isolated, tall and slender objects (pylons, masts, wind turbines, lamp posts
   above ``min_height``) whose points fill their height, unlike a tree crown
   on an unseen trunk. In the ASPRS scheme they stay unclassified (1).
   *Limits*: a structure inside a wood merges with the crowns and is missed;
   the wires between pylons are not classified; a very slender poplar can pass.
6. **vegetation (3 / 4 / 5)** — :func:`pcrs.classify.vegetation.classify_vegetation`.
7. Everything else above or under the ground is **unclassified (1)**: cars,
   fences, street furniture, and whatever the rules could not decide.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
from scipy import ndimage, sparse
from scipy.sparse.csgraph import connected_components

from ..errors import ParameterError
from ..points import PointCloud
from .buildings import (
    BUILDING_DEFAULTS,
    RoofSegments,
    classify_buildings,
    roof_candidates,
    roof_segments,
)
from .codes import ClassCodes
from .codes import codes as _codes
from .features import Features, local_features
from .vegetation import VEGETATION_DEFAULTS, classify_vegetation, looks_like_vegetation

__all__ = [
    "BRIDGE_DEFAULTS",
    "MAX_TERRAIN_FLUSH_SHARE",
    "SCENE_PIPELINE_STEPS",
    "SCENE_STEPS",
    "STRUCTURE_DEFAULTS",
    "WATER_DEFAULTS",
    "classify_bridges",
    "classify_scene",
    "classify_structures",
    "classify_water",
    "object_features",
    "segment_flush_share",
    "terrain_segments",
]

#: Rules :func:`classify_scene` can run, in their fixed order.
SCENE_STEPS = ("water", "bridges", "buildings", "structures", "vegetation")

#: Defaults of :func:`classify_water`.
WATER_DEFAULTS = {
    "cell": 2.0,
    "min_area": 50.0,
    "max_std": 0.08,
    "density_ratio": 0.5,
    "intensity_ratio": 0.5,
    "max_relief": 1.0,
    "min_single_return": 0.8,
}

#: Defaults of :func:`classify_bridges`.
BRIDGE_DEFAULTS = {
    "cell": 1.0,
    "water_buffer": 2.0,
    "min_water_share": 0.1,
    "flush_height": 0.5,
    "min_flush_share": 0.0,
}

#: Defaults of :func:`classify_structures`.
STRUCTURE_DEFAULTS = {
    "cell": 1.0,
    "min_height": 8.0,
    "max_area": 30.0,
    "min_slenderness": 3.0,
    "min_fill": 0.5,
    "max_multi_return": 0.5,
}

#: Planar segments flush with the ground on at least this share of their boundary are
#: taken for terrain the ground filter missed (slopes, terraces), not for roofs.
MAX_TERRAIN_FLUSH_SHARE = 0.3

#: Object points lower than this under the ground surface are left unclassified.
_BELOW_GROUND = -0.5


def _merge(defaults: Mapping[str, Any], given: Mapping[str, Any] | None, what: str) -> dict:
    p = dict(defaults)
    given = dict(given or {})
    unknown = set(given) - set(p)
    if unknown:
        raise ParameterError(
            f"unknown {what} parameter(s) {sorted(unknown)}; valid ones are {sorted(p)}"
        )
    p.update(given)
    return p


def _grid(x: np.ndarray, y: np.ndarray, cell: float, pad: int = 0):
    """Cells aligned on multiples of ``cell``: ``(x0, y0, nx, ny, ix, iy)``."""
    x0 = math.floor(float(x.min()) / cell) * cell - pad * cell
    y0 = math.floor(float(y.min()) / cell) * cell - pad * cell
    ix = ((x - x0) // cell).astype(np.int64)
    iy = ((y - y0) // cell).astype(np.int64)
    return x0, y0, int(ix.max()) + 1 + pad, int(iy.max()) + 1 + pad, ix, iy


# --------------------------------------------------------------------------------------
# water
# --------------------------------------------------------------------------------------


def classify_water(
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    ground: np.ndarray,
    intensity: np.ndarray | None = None,
    number_of_returns: np.ndarray | None = None,
    **params: Any,
) -> np.ndarray:
    """Ground points that lie on water surfaces.

    Parameters
    ----------
    x, y, z : ndarray
        All the points (the empty cells between them matter).
    ground : ndarray of bool
        Ground points (water surfaces come out of ground filters as ground).
    intensity : ndarray, optional
        Return intensity; without it only the density rule applies.
    number_of_returns : ndarray, optional
        With it, a water cell needs at least ``min_single_return`` of its ground
        points from single-return pulses (the ground under a canopy is sparse
        and dark too, but seen through split pulses).
    **params
        ``cell`` (m), ``min_area`` (m²), ``max_std`` (m, z spread in a cell),
        ``density_ratio`` and ``intensity_ratio`` (of the median ground cell),
        ``max_relief`` (m, spread of a water body's cell heights),
        ``min_single_return``. See :data:`WATER_DEFAULTS`.

    Returns
    -------
    ndarray of bool

    Examples
    --------
    >>> from pcrs import synth
    >>> c = synth.make_scene(60_000, seed=7).cloud
    >>> truth_ground = np.isin(c.classification, [2, 9])
    >>> w = classify_water(c.x, c.y, c.z, truth_ground, c["intensity"])
    >>> iou = (w & (c.classification == 9)).sum() / (w | (c.classification == 9)).sum()
    >>> bool(iou > 0.8)
    True
    """
    p = _merge(WATER_DEFAULTS, params, "water")
    for name in p:
        if not float(p[name]) > 0:
            raise ParameterError(f"water parameter {name} must be positive, got {p[name]!r}")
    x, y, z = (np.asarray(a, np.float64) for a in (x, y, z))
    ground = np.asarray(ground, bool)
    out = np.zeros(x.shape[0], bool)
    if ground.sum() < 10:
        return out
    cell = _water_cell(x[ground], y[ground], float(p["cell"]))
    if cell > 2 * float(p["cell"]):
        # under ~1 ground point per m² the per-cell statistics mean nothing
        return out
    _x0, _y0, nx, ny, ix, iy = _grid(x, y, cell)
    flat_all = iy * nx + ix
    gi = flat_all[ground]
    gz = z[ground]
    size = nx * ny
    n_g = np.bincount(gi, minlength=size).astype(np.float64)
    n_all = np.bincount(flat_all, minlength=size)
    zref = float(gz.mean())
    zsum = np.bincount(gi, weights=gz - zref, minlength=size)
    zsq = np.bincount(gi, weights=(gz - zref) ** 2, minlength=size)
    has = n_g > 0
    mean = np.where(has, zsum / np.maximum(n_g, 1), np.nan)
    var = np.where(n_g > 1, zsq / np.maximum(n_g, 1) - mean**2, np.inf)
    flat = var <= float(p["max_std"]) ** 2
    # "interior" cells: the footprint of the data, so the edges of a tile are not voids
    data = ndimage.binary_closing(n_all.reshape(ny, nx) > 0, np.ones((5, 5), bool)).ravel()
    ref_density = np.median(n_g[has])
    weak = n_g <= float(p["density_ratio"]) * ref_density
    if intensity is not None:
        gint = np.asarray(intensity, np.float64)[ground]
        isum = np.bincount(gi, weights=gint, minlength=size)
        imean = np.where(has, isum / np.maximum(n_g, 1), np.inf)
        weak |= imean <= float(p["intensity_ratio"]) * np.median(gint)
    # only ground in the cell: water has nothing standing on it
    only_ground = n_all == n_g
    cand = has & flat & weak & only_ground
    if number_of_returns is not None:
        single = np.asarray(number_of_returns)[ground] <= 1
        share = np.bincount(gi, weights=single, minlength=size) / np.maximum(n_g, 1)
        cand &= share >= float(p["min_single_return"])
    void = data & (n_all == 0)
    grid = (cand | void).reshape(ny, nx)
    lab, n_lab = ndimage.label(grid, structure=np.ones((3, 3), bool))
    if n_lab == 0:
        return out
    lab = lab.ravel()
    cand_lab = lab[cand]
    area = np.bincount(cand_lab, minlength=n_lab + 1) * cell * cell
    # relief of a water body: spread of its cells' mean heights (5th-95th percentile)
    order = np.lexsort((mean[cand], cand_lab))
    sl, sz = cand_lab[order], mean[cand][order]
    starts = np.searchsorted(sl, np.arange(n_lab + 1))
    ends = np.searchsorted(sl, np.arange(n_lab + 1), side="right")
    cnt = ends - starts
    lo = sz[np.clip(starts + (0.05 * np.maximum(cnt - 1, 0)).astype(np.int64), 0, sz.size - 1)]
    hi = sz[np.clip(starts + (0.95 * np.maximum(cnt - 1, 0)).astype(np.int64), 0, sz.size - 1)]
    body = (area >= float(p["min_area"])) & (cnt > 0) & (hi - lo <= float(p["max_relief"]))
    body[0] = False
    water_cell = np.zeros(size, bool)
    water_cell[cand] = body[cand_lab]
    out[ground] = water_cell[gi]
    # the shore cells mix water and bank: take their ground points at the water level
    level = np.full(n_lab + 1, np.nan)
    mid = np.clip(starts + (cnt - 1) // 2, 0, sz.size - 1)
    level[body] = sz[mid[body]]
    lab_grid = np.where(body[lab], lab, 0).reshape(ny, nx)
    near = ndimage.maximum_filter(lab_grid, size=3).ravel()[gi]
    lv = level[near]
    shore = (near > 0) & ~out[ground] & (gz - zref <= lv + float(p["max_std"]))
    out[np.flatnonzero(ground)[shore]] = True
    return out


def _water_cell(gx: np.ndarray, gy: np.ndarray, cell: float, per_cell: float = 12.0) -> float:
    """``cell``, widened on sparse data so that a ground cell holds about ``per_cell`` points.

    The density is that of the occupied 5 m cells, so the holes under buildings
    and crowns do not lower it.
    """
    c5 = 5.0
    key = np.unique((np.floor(gx / c5).astype(np.int64) << 32) + np.floor(gy / c5).astype(np.int64))
    density = gx.size / max(key.size * c5 * c5, 1.0)
    return max(cell, math.sqrt(per_cell / max(density, 1e-9)))


# --------------------------------------------------------------------------------------
# bridges
# --------------------------------------------------------------------------------------


def classify_bridges(
    xyz: np.ndarray,
    segments: RoofSegments,
    ground_xyz: np.ndarray,
    water_xy: np.ndarray | None = None,
    all_xy: np.ndarray | None = None,
    **params: Any,
) -> np.ndarray:
    """Which accepted planar segments are bridge decks.

    Parameters
    ----------
    xyz : ndarray, shape (n, 3)
        The points ``segments.labels`` refers to.
    segments : RoofSegments
        From :func:`pcrs.classify.buildings.roof_segments`.
    ground_xyz : ndarray, shape (g, 3)
        Ground points (water excluded).
    water_xy : ndarray, shape (w, 2), optional
        Water points.
    all_xy : ndarray, shape (m, 2), optional
        Every point of the tile: cells with no return at all, whose eight
        neighbours have none either, count as water (a river often returns
        nothing, and IGN tiles then only carry virtual points there).
    **params
        ``cell``, ``water_buffer``, ``min_water_share``, ``flush_height``,
        ``min_flush_share`` (0 turns the flush rule off; see :data:`BRIDGE_DEFAULTS`).

    Returns
    -------
    ndarray of bool
        One flag per segment.
    """
    p = _merge(BRIDGE_DEFAULTS, params, "bridge")
    for name in p:
        if not float(p[name]) >= 0 or not float(p["cell"]) > 0:
            raise ParameterError(f"bridge parameter {name} must be >= 0, got {p[name]!r}")
    n_seg = segments.n_segments
    bridge = np.zeros(n_seg, bool)
    sel = segments.mask()
    if not sel.any():
        return bridge
    cell = float(p["cell"])
    lab = segments.labels[sel]
    pts = np.asarray(xyz, np.float64)[sel]
    ground_xyz = np.asarray(ground_xyz, np.float64).reshape(-1, 3)
    allx = np.concatenate([pts[:, 0], ground_xyz[:, 0]])
    ally = np.concatenate([pts[:, 1], ground_xyz[:, 1]])
    pad = math.ceil(float(p["water_buffer"]) / cell) + 2
    x0, y0, nx, ny, ix, iy = _grid(allx, ally, cell, pad=pad)
    # shift so the padding sits on both sides
    ix, iy = ix + pad, iy + pad
    nx, ny = nx + pad, ny + pad
    seg_cell = iy[: pts.shape[0]] * nx + ix[: pts.shape[0]]
    keys = np.unique(lab * (nx * ny) + seg_cell)
    cseg = keys // (nx * ny)
    ccell = keys % (nx * ny)
    n_cells = np.bincount(cseg, minlength=n_seg)
    # segment height per cell (max)
    top = np.full(keys.size, -np.inf)
    np.maximum.at(top, np.searchsorted(keys, lab * (nx * ny) + seg_cell), pts[:, 2])

    occupied = np.zeros(nx * ny, np.int64) - 1
    occupied[ccell] = cseg  # any segment (overlaps are rare)

    raw = np.zeros((ny, nx), bool)
    if water_xy is not None and len(water_xy):
        water_xy = np.asarray(water_xy, np.float64).reshape(-1, 2)
        wx = ((water_xy[:, 0] - x0) // cell).astype(np.int64) + pad
        wy = ((water_xy[:, 1] - y0) // cell).astype(np.int64) + pad
        inside = (wx >= 0) & (wx < nx) & (wy >= 0) & (wy < ny)
        raw[wy[inside], wx[inside]] = True
    if all_xy is not None and len(all_xy):
        all_xy = np.asarray(all_xy, np.float64).reshape(-1, 2)
        ax = ((all_xy[:, 0] - x0) // cell).astype(np.int64) + pad
        ay = ((all_xy[:, 1] - y0) // cell).astype(np.int64) + pad
        inside = (ax >= 0) & (ax < nx) & (ay >= 0) & (ay < ny)
        occ = np.zeros((ny, nx), bool)
        occ[ay[inside], ax[inside]] = True
        box = np.zeros((ny, nx), bool)
        box[ay[inside].min() : ay[inside].max() + 1, ax[inside].min() : ax[inside].max() + 1] = True
        raw |= ndimage.binary_erosion(box & ~occ, np.ones((3, 3), bool))
    if raw.any():
        r = math.ceil(float(p["water_buffer"]) / cell)
        wgrid = raw
        if r > 0:
            wgrid = ndimage.binary_dilation(raw, np.ones((2 * r + 1, 2 * r + 1), bool))
        wet = np.bincount(cseg, weights=wgrid.ravel()[ccell], minlength=n_seg)
        raw = raw.ravel()
        # water on two opposite sides: the deck spans it (a quay has water on one side)
        side = {}
        for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            hit = np.zeros(ccell.size, bool)
            for j in range(1, max(r, 1) + 1):
                nb = ccell + j * (dy * nx + dx)
                hit |= raw[nb] & (occupied[nb] != cseg)
            side[dx, dy] = np.bincount(cseg, weights=hit, minlength=n_seg) > 0
        spans = (side[1, 0] & side[-1, 0]) | (side[0, 1] & side[0, -1])
        bridge |= spans & (wet >= float(p["min_water_share"]) * np.maximum(n_cells, 1))

    if ground_xyz.shape[0] and float(p["min_flush_share"]) > 0:
        share = segment_flush_share(
            xyz, segments, ground_xyz, cell=cell, flush_height=float(p["flush_height"])
        )
        bridge |= share >= float(p["min_flush_share"])
    bridge &= segments.accepted
    return bridge


def _segment_grid(xyz, segments: RoofSegments, ground_xyz, cell: float):
    """Accepted segments and ground on one grid: per (segment, cell) z range, per cell ground range."""
    sel = segments.mask()
    ground_xyz = np.asarray(ground_xyz, np.float64).reshape(-1, 3)
    if not sel.any() or ground_xyz.shape[0] == 0:
        return None
    lab = segments.labels[sel]
    pts = np.asarray(xyz, np.float64)[sel]
    allx = np.concatenate([pts[:, 0], ground_xyz[:, 0]])
    ally = np.concatenate([pts[:, 1], ground_xyz[:, 1]])
    _x0, _y0, nx, ny, ix, iy = _grid(allx, ally, cell, pad=2)
    ix, iy = ix + 2, iy + 2
    nx, ny = nx + 2, ny + 2
    flat = iy * nx + ix
    scell = flat[: pts.shape[0]]
    gcell = flat[pts.shape[0] :]
    size = nx * ny
    keys, inv = np.unique(lab * size + scell, return_inverse=True)
    g = {"nx": nx, "size": size, "keys": keys, "cseg": keys // size, "ccell": keys % size}
    g["smin"] = np.full(keys.size, np.inf)
    g["smax"] = np.full(keys.size, -np.inf)
    np.minimum.at(g["smin"], inv, pts[:, 2])
    np.maximum.at(g["smax"], inv, pts[:, 2])
    g["gmin"] = np.full(size, np.inf)
    g["gmax"] = np.full(size, -np.inf)
    np.minimum.at(g["gmin"], gcell, ground_xyz[:, 2])
    np.maximum.at(g["gmax"], gcell, ground_xyz[:, 2])
    g["occupied"] = np.full(size, -1, np.int64)
    g["occupied"][g["ccell"]] = g["cseg"]
    return g


_STEPS4 = ((1, 0), (-1, 0), (0, 1), (0, -1))


def segment_flush_share(
    xyz: np.ndarray,
    segments: RoofSegments,
    ground_xyz: np.ndarray,
    *,
    cell: float = 1.0,
    flush_height: float = 0.5,
) -> np.ndarray:
    """Share of each accepted segment's edge along the ground that runs flush into it.

    Among the boundary cells of a segment that have ground points in a cell next
    to them (4 neighbours), the flush ones are those where the ground's height
    range meets the segment's height range in that cell, within
    ``flush_height``; segments with fewer than 3 such cells get 0. Roofs stand
    on walls (share near 0); a road deck continues the road, and a slope or
    terrace that the ground filter missed continues the ground it did find.

    Returns
    -------
    ndarray of float
        One share in [0, 1] per segment (0 for segments not accepted).
    """
    n_seg = segments.n_segments
    g = _segment_grid(xyz, segments, ground_xyz, cell)
    if g is None:
        return np.zeros(n_seg)
    cseg, ccell, nx = g["cseg"], g["ccell"], g["nx"]
    flush = np.zeros(n_seg)
    boundary = np.zeros(n_seg)
    for dx, dy in _STEPS4:
        nb = ccell + dy * nx + dx
        edge = (g["occupied"][nb] != cseg) & np.isfinite(g["gmax"][nb])
        meets = (g["gmax"][nb] >= g["smin"] - flush_height) & (
            g["gmin"][nb] <= g["smax"] + flush_height
        )
        boundary += np.bincount(cseg, weights=edge, minlength=n_seg)
        flush += np.bincount(cseg, weights=edge & meets, minlength=n_seg)
    # among the boundary cells that have ground beside them; at least 3 of them
    share = np.where(boundary >= 3, flush / np.maximum(boundary, 1), 0.0)
    share[~segments.accepted] = 0.0
    return share


def terrain_segments(
    xyz: np.ndarray,
    segments: RoofSegments,
    ground_xyz: np.ndarray,
    *,
    cell: float = 1.0,
    flush_height: float = 0.5,
    min_share: float = 0.3,
) -> np.ndarray:
    """Accepted segments that are terrain the ground filter missed, not roofs.

    The seeds are the segments flush with the ground found beside them on at
    least ``min_share`` of their edge along it (:func:`segment_flush_share`);
    terrain then spreads to every segment that runs flush into a terrain
    segment (a slope missed as a stack of planar patches, where only the lowest
    touches the ground found).

    Returns
    -------
    ndarray of bool
        One flag per segment.
    """
    n_seg = segments.n_segments
    share = segment_flush_share(xyz, segments, ground_xyz, cell=cell, flush_height=flush_height)
    seeds = share >= min_share
    if not seeds.any():
        return seeds
    g = _segment_grid(xyz, segments, ground_xyz, cell)
    cseg, ccell, nx, keys, size = g["cseg"], g["ccell"], g["nx"], g["keys"], g["size"]
    rows, cols = [], []
    for dx, dy in _STEPS4:
        nb = ccell + dy * nx + dx
        other = g["occupied"][nb]
        ok = (other >= 0) & (other != cseg)
        pos = np.searchsorted(keys, other * size + nb)
        pos = np.clip(pos, 0, keys.size - 1)
        ok &= keys[pos] == other * size + nb
        meets = (g["smax"][pos] >= g["smin"] - flush_height) & (
            g["smin"][pos] <= g["smax"] + flush_height
        )
        ok &= meets
        rows.append(cseg[ok])
        cols.append(other[ok])
    r = np.concatenate(rows)
    c = np.concatenate(cols)
    graph = sparse.coo_matrix((np.ones(r.size, np.int8), (r, c)), shape=(n_seg, n_seg)).tocsr()
    _, comp = connected_components(graph, directed=False)
    terrain = np.isin(comp, np.unique(comp[seeds])) & segments.accepted
    return terrain


# --------------------------------------------------------------------------------------
# lasting above-ground structures
# --------------------------------------------------------------------------------------


def classify_structures(
    xyz: np.ndarray,
    hag: np.ndarray,
    free: np.ndarray,
    number_of_returns: np.ndarray | None = None,
    **params: Any,
) -> np.ndarray:
    """Tall, slender, isolated objects whose points fill their height (pylons, masts).

    Parameters
    ----------
    xyz : ndarray, shape (n, 3)
    hag : ndarray, shape (n,)
    free : ndarray of bool
        Points still unclassified (not building, bridge...).
    number_of_returns : ndarray, optional
        When given, objects where more than ``max_multi_return`` of the points
        come from split pulses (crowns) are not structures.
    **params
        ``cell`` (m), ``min_height`` (m), ``max_area`` (m²), ``min_slenderness``
        (height / sqrt(area)), ``min_fill`` (share of 1 m height slices with
        points), ``max_multi_return``. See :data:`STRUCTURE_DEFAULTS`.

    Returns
    -------
    ndarray of bool
    """
    p = _merge(STRUCTURE_DEFAULTS, params, "structure")
    for name in p:
        if not float(p[name]) > 0:
            raise ParameterError(f"structure parameter {name} must be positive, got {p[name]!r}")
    hag = np.asarray(hag, np.float64)
    sel = np.flatnonzero(np.asarray(free, bool) & (hag >= 1.0))
    out = np.zeros(hag.shape[0], bool)
    if sel.size == 0:
        return out
    cell = float(p["cell"])
    _x0, _y0, nx, ny, ix, iy = _grid(xyz[sel, 0], xyz[sel, 1], cell, pad=1)
    occ = np.zeros((ny, nx), bool)
    occ[iy, ix] = True
    lab, n_lab = ndimage.label(occ, structure=np.ones((3, 3), bool))
    pl = lab[iy, ix]
    area = np.bincount(lab.ravel(), minlength=n_lab + 1) * cell * cell
    h = hag[sel]
    hmax = np.zeros(n_lab + 1)
    np.maximum.at(hmax, pl, h)
    # 1 m slices from 1 m up to the top: how many hold points
    zbin = np.floor(h).astype(np.int64)
    keys = np.unique(pl.astype(np.int64) * (int(zbin.max()) + 2) + zbin)
    filled = np.bincount(keys // (int(zbin.max()) + 2), minlength=n_lab + 1)
    fill = filled / np.maximum(np.floor(hmax), 1)
    slender = hmax / np.sqrt(np.maximum(area, cell * cell))
    is_struct = (
        (hmax >= float(p["min_height"]))
        & (area <= float(p["max_area"]))
        & (slender >= float(p["min_slenderness"]))
        & (fill >= float(p["min_fill"]))
    )
    if number_of_returns is not None:
        multi = np.asarray(number_of_returns)[sel] > 1
        share = np.bincount(pl, weights=multi, minlength=n_lab + 1) / np.maximum(
            np.bincount(pl, minlength=n_lab + 1), 1
        )
        is_struct &= share <= float(p["max_multi_return"])
    is_struct[0] = False
    out[sel] = is_struct[pl]
    return out


# --------------------------------------------------------------------------------------
# the scene
# --------------------------------------------------------------------------------------


def object_features(
    cloud: PointCloud, objects: np.ndarray, *, k: int = 10, workers: int = -1
) -> Features:
    """Neighbourhood features of the ``objects`` points, searched among themselves.

    Ground points are left out of the neighbourhoods so that the edges of roofs
    and the lower parts of crowns are not mixed with the ground under them.
    """
    objects = np.asarray(objects, bool)
    xyz = np.column_stack([cloud.x[objects], cloud.y[objects], cloud.z[objects]])
    return local_features(xyz, k=k, workers=workers)


def _steps(steps: Iterable[str] | str | None) -> tuple[str, ...]:
    if steps is None:
        return SCENE_STEPS
    if isinstance(steps, str):
        steps = [s.strip() for s in steps.split(",") if s.strip()]
    steps = tuple(steps)
    bad = [s for s in steps if s not in SCENE_STEPS]
    if bad:
        raise ParameterError(f"unknown scene step(s) {bad}; choose among {list(SCENE_STEPS)}")
    return steps


def classify_scene(
    cloud: PointCloud,
    ground: np.ndarray,
    hag: np.ndarray,
    *,
    codes: str | ClassCodes = "ign",
    steps: Iterable[str] | str | None = None,
    noise: np.ndarray | None = None,
    free: np.ndarray | None = None,
    known_water: np.ndarray | None = None,
    cache: dict | None = None,
    k: int = 16,
    workers: int = -1,
    water: Mapping[str, Any] | None = None,
    bridges: Mapping[str, Any] | None = None,
    buildings: Mapping[str, Any] | None = None,
    structures: Mapping[str, Any] | None = None,
    vegetation: Mapping[str, Any] | None = None,
) -> np.ndarray:
    """Class codes for every point: ground, water, bridge, building, structure, vegetation.

    Parameters
    ----------
    cloud : PointCloud
        Uses ``x``, ``y``, ``z`` and, when present, ``number_of_returns`` and ``intensity``.
    ground : ndarray of bool
        Ground points (from a ground filter).
    hag : ndarray of float
        Height above ground of every point.
    codes : str or ClassCodes
        ``"ign"`` (default) or ``"asprs"``.
    steps : iterable of str or comma-separated str, optional
        Subset of :data:`SCENE_STEPS` to label (default all). Points no step
        takes are unclassified. Bridge decks are recognised (and kept out of the
        buildings) whenever ``buildings`` runs, but labelled only with ``bridges``;
        water is found for the bridge rule but labelled only with ``water``.
    noise : ndarray of bool, optional
        Noise points: they get the noise code and are left out of every rule.
    free : ndarray of bool, optional
        Above-ground points the rules may classify (default: all but ground and
        noise). The others come out unclassified (1) and are not taken by a rule,
        but still count as neighbours.
    known_water : ndarray of bool, optional
        Water points already known (e.g. classified by an earlier run); they
        are kept and used by the bridge rule.
    cache : dict, optional
        Reused between calls on the same cloud (features and roof segments are
        computed once); pass the same empty dict to successive calls.
    k : int
        Neighbourhood size of the features.
    workers : int
        Threads for the k-d tree queries.
    water, bridges, buildings, structures, vegetation : mapping, optional
        Parameters of each rule (see :data:`WATER_DEFAULTS`,
        :data:`BRIDGE_DEFAULTS`, :data:`~pcrs.classify.buildings.BUILDING_DEFAULTS`,
        :data:`STRUCTURE_DEFAULTS`, :data:`~pcrs.classify.vegetation.VEGETATION_DEFAULTS`).

    Returns
    -------
    ndarray of uint8
        One code per point. With ``codes="ign"``: 1, 2, 3, 4, 5, 6, 9, 17, 64, 65.

    Examples
    --------
    >>> from pcrs import synth
    >>> sc = synth.make_scene(60_000, seed=7)
    >>> c = sc.cloud
    >>> truth = c.classification
    >>> ground = np.isin(truth, [2, 9])
    >>> hag = c.z - sc.ground_z(c.x, c.y)
    >>> out = classify_scene(c, ground, hag, noise=truth == 65)
    >>> sorted(set(out.tolist())) == [1, 2, 3, 4, 5, 6, 9, 17, 64, 65]
    True
    """
    cc = _codes(codes)
    run = _steps(steps)
    n = len(cloud)
    ground = np.asarray(ground, bool)
    hag = np.asarray(hag, np.float64)
    if ground.shape != (n,) or hag.shape != (n,):
        raise ParameterError(
            f"ground ({ground.shape}) and hag ({hag.shape}) must have one value per point ({n})"
        )
    noise = np.zeros(n, bool) if noise is None else np.asarray(noise, bool)
    bparams = _merge(BUILDING_DEFAULTS, buildings, "building")
    vparams = _merge(VEGETATION_DEFAULTS, vegetation, "vegetation")
    cache = {} if cache is None else cache
    out = np.full(n, cc.unclassified, np.uint8)
    ground = ground & ~noise
    out[ground] = cc.ground
    out[noise] = cc.noise
    if n == 0:
        return out
    intensity = cloud.get("intensity")
    nret = cloud.get("number_of_returns")

    water_mask = np.zeros(n, bool) if known_water is None else np.asarray(known_water, bool)
    ground = ground | water_mask
    cloud_key = (n, int(ground.sum()), int(noise.sum()), int(k))
    if cache.get("cloud_key") != cloud_key:
        cache.clear()
        cache["cloud_key"] = cloud_key
    if "water" in run or (("bridges" in run or "buildings" in run) and not water_mask.any()):
        if "water" not in cache:
            found = classify_water(
                cloud.x, cloud.y, cloud.z, ground, intensity, nret, **(water or {})
            )
            cache["water"] = found | water_mask
        water_mask = cache["water"]
    if "water" in run or known_water is not None:
        out[water_mask] = cc.water

    objects = ~ground & ~noise & np.isfinite(hag) & (hag > _BELOW_GROUND)
    obj_idx = np.flatnonzero(objects)
    if obj_idx.size < 3 or not set(run) & {"bridges", "buildings", "structures", "vegetation"}:
        return out
    xyz = np.column_stack([cloud.x[obj_idx], cloud.y[obj_idx], cloud.z[obj_idx]])
    h = hag[obj_idx]
    nr = None if nret is None else np.asarray(nret)[obj_idx]
    if "features" not in cache:
        cache["features"] = local_features(xyz, k=k, workers=workers)
    feats = cache["features"]
    may = np.ones(obj_idx.size, bool) if free is None else np.asarray(free, bool)[obj_idx]
    vlike = looks_like_vegetation(
        feats, nr, roughness=vparams["roughness"], min_sphericity=vparams["min_sphericity"]
    )

    segments = None
    not_roof: np.ndarray | None = None
    if "bridges" in run or "buildings" in run:
        seg_keys = ("k", "plane_distance", "max_angle", "max_gap", "min_area", "min_height",
                    "max_multi_return", "cell")  # fmt: skip
        seg_key = tuple(bparams[x] for x in (*seg_keys, "roughness", "max_slope"))
        if cache.get("segments_key") != seg_key:
            cand = roof_candidates(
                h, feats, min_height=bparams["min_height"], roughness=bparams["roughness"],
                max_slope=bparams["max_slope"],
            )  # fmt: skip
            cache["segments"] = roof_segments(
                xyz, h, feats, cand, nr, workers=workers, **{x: bparams[x] for x in seg_keys}
            )
            cache["segments_key"] = seg_key
        segments = cache["segments"]
        gsel = ground & ~water_mask
        bridge_seg = classify_bridges(
            xyz,
            segments,
            np.column_stack([cloud.x[gsel], cloud.y[gsel], cloud.z[gsel]]),
            np.column_stack([cloud.x[water_mask], cloud.y[water_mask]]),
            np.column_stack([cloud.x, cloud.y]),
            **(bridges or {}),
        )
        deck = segments.mask(bridge_seg) & may
        if "bridges" in run:
            out[obj_idx[deck]] = cc.bridge
        may &= ~deck
        if "terrain" not in cache:
            cache["terrain"] = terrain_segments(
                xyz,
                segments,
                np.column_stack([cloud.x[gsel], cloud.y[gsel], cloud.z[gsel]]),
                min_share=MAX_TERRAIN_FLUSH_SHARE,
            )
        not_roof = bridge_seg | cache["terrain"]
    if "buildings" in run and segments is not None:
        b = classify_buildings(
            xyz, h, feats, may, nr, exclude_segments=not_roof, vegetation_like=vlike,
            segments=segments, workers=workers, **bparams,
        )  # fmt: skip
        out[obj_idx[b]] = cc.building
        may &= ~b
    if "structures" in run:
        st = classify_structures(xyz, h, may, nr, **(structures or {}))
        out[obj_idx[st]] = cc.lasting_above_ground
        may &= ~st
    if "vegetation" in run:
        v = classify_vegetation(h, feats, may, nr, codes=cc, **vparams)
        take = v > 0
        out[obj_idx[take]] = v[take]
    return out


# --------------------------------------------------------------------------------------
# steps of the classification pipeline (pcrs.classify.pipeline)
# --------------------------------------------------------------------------------------

#: step name -> (rank, buffer in metres, description)
SCENE_PIPELINE_STEPS = {
    "water": (32, 30.0, "flat, weakly returning ground patches -> water (9)"),
    "bridges": (34, 30.0, "elevated planar segments over water or flush with the road -> 17"),
    "buildings": (40, 30.0, "planar roof segments + attached walls -> building (6)"),
    "structures": (45, 20.0, "tall slender isolated objects -> 64 (IGN) / 1 (ASPRS)"),
    "vegetation": (50, 20.0, "scattered above-ground points -> 3 / 4 / 5 by height"),
}


def _assigns(name: str):
    def assigns(c: ClassCodes) -> tuple[int, ...]:
        return {
            "water": (c.water,),
            "bridges": (c.bridge,),
            "buildings": (c.building,),
            "structures": (c.lasting_above_ground,),
            "vegetation": (c.low_vegetation, c.medium_vegetation, c.high_vegetation),
        }[name]

    return assigns


def _pipeline_run(name: str):
    family = {"bridges": "bridges", "buildings": "buildings", "structures": "structures"}

    def run(ctx) -> None:
        from .codes import NEVER_CLASSIFIED
        from .height import height_above_ground

        cloud = ctx.cloud
        cls = cloud.classification
        cc = ctx.codes
        noise = np.isin(cls, ctx.noise_codes())
        ground = cls == cc.ground
        water = cls == cc.water
        hag = ctx.results.get("hag")
        if hag is None:
            hag = height_above_ground(cloud, ground | water)
            ctx.results["hag"] = hag
        params = ctx.step_params(name)
        k = int(params.pop("k", 16))
        kwargs = {family.get(name, name): params} if params else {}
        free = np.isin(cls, (cc.unclassified, NEVER_CLASSIFIED)) & ~noise
        out = classify_scene(
            cloud, ground, hag, codes=cc, steps=(name,), noise=noise, free=free,
            known_water=water if water.any() else None,
            cache=ctx.results.setdefault("scene_cache", {}), k=k, **kwargs,
        )  # fmt: skip
        if name == "water":
            take = ground & (out == cc.water)
        else:
            take = free & ~np.isin(out, (cc.unclassified, cc.ground, cc.noise))
        cls[take] = out[take]
        ctx.results[name] = take

    return run


def _fixed_buffer(metres: float) -> Callable[[Any], float]:
    """``buffer(ctx)`` of a step whose buffer does not depend on the context."""
    return lambda ctx: metres


def _register_pipeline_steps() -> None:
    """Register the scene rules as steps of :mod:`pcrs.classify.pipeline`."""
    from .pipeline import STEPS, Step, register_step

    for name, (rank, buffer, description) in SCENE_PIPELINE_STEPS.items():
        if name in STEPS:
            continue
        register_step(
            Step(
                name,
                _pipeline_run(name),
                assigns=_assigns(name),
                requires=("ground",),
                rank=rank,
                buffer=_fixed_buffer(buffer),
                description=description,
            )
        )


_register_pipeline_steps()
