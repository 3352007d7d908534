"""Buildings: planar roof segments above the ground, grown and checked, walls attached.

The method follows the classic rule-based chain of airborne LiDAR building
extraction (Rottensteiner & Briese 2002; Vosselman & Dijkman 2001; the
region growing of Rabbani, van den Heuvel & Vosselman 2006; LAStools'
``lasclassify`` works in the same spirit on a 2 m grid):

1. **Roof candidates** — points at least ``min_height`` above the ground whose
   neighbourhood is a plane (plane-fit residual ``sqrt(λ3) ≤ roughness``) no
   steeper than ``max_slope`` degrees.
2. **Region growing** — candidates are linked to their ``k`` nearest candidates
   when the two lie on each other's tangent plane (distance ≤ ``plane_distance``)
   with normals within ``max_angle`` degrees, at most ``max_gap`` metres apart;
   the roof segments are the connected components of that graph
   (:func:`scipy.sparse.csgraph.connected_components`). A tree crown breaks into
   crumbs; the sides of a roof may stay one segment when the ridge is smooth at
   the neighbourhood scale (harmless: they are one building).
3. **Segment checks** — a segment is a roof when its footprint (occupied 1 m
   cells) is at least ``min_area`` m², its median height above ground at least
   ``min_height``, and at most ``max_multi_return`` of its points come from
   pulses with several returns (laser pulses go through crowns, not through
   roofs). Flat ground-level surfaces (car parks, roads, squares) never get
   there: they are ground, or below ``min_height``. Bridge decks pass these
   checks; :func:`pcrs.classify.scene.classify_scene` takes them out first.
4. **Walls and roof details attached** — on a grid of ``cell`` metres, the roof
   footprints, dilated by ``wall_buffer``, collect the other above-ground points
   (walls, eaves, chimneys, dormers, balconies) that are no higher than the roof
   plus ``roof_tolerance`` and do not look like vegetation. Trees that overhang a
   roof stay vegetation: their points rise above the roof or are scattered.

Everything is vectorised: one batched k-d tree query for the links, sparse
connected components, ``bincount`` statistics per segment, ``scipy.ndimage``
on the footprint grid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage, sparse
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from ..errors import ParameterError
from .features import Features

__all__ = [
    "BUILDING_DEFAULTS",
    "RoofSegments",
    "attach_to_roofs",
    "classify_buildings",
    "roof_candidates",
    "roof_segments",
]

#: Defaults of :func:`classify_buildings` (documented in ``docs/classification.md``).
BUILDING_DEFAULTS = {
    "min_height": 2.0,
    "roughness": 0.06,
    "max_slope": 70.0,
    "k": 10,
    "plane_distance": 0.15,
    "max_angle": 20.0,
    "max_gap": 1.5,
    "min_area": 10.0,
    "max_multi_return": 0.35,
    "cell": 1.0,
    "wall_buffer": 1.0,
    "roof_tolerance": 1.0,
    "wall_min_height": 0.5,
}


@dataclass
class RoofSegments:
    """Planar segments of the candidate points and their statistics.

    Attributes
    ----------
    labels : ndarray of int64
        Segment of each point, ``-1`` for points in no segment.
    area : ndarray of float
        Footprint area (m²) of each segment (occupied grid cells × cell²).
    count : ndarray of int64
        Points per segment.
    median_hag : ndarray of float
        Median-like (mean of the central half) height above ground per segment.
    multi_return : ndarray of float
        Share of the segment's points whose pulse had several returns.
    accepted : ndarray of bool
        Segments that pass the roof checks.
    """

    labels: np.ndarray
    area: np.ndarray
    count: np.ndarray
    median_hag: np.ndarray
    multi_return: np.ndarray
    accepted: np.ndarray

    @property
    def n_segments(self) -> int:
        """Number of segments."""
        return int(self.area.shape[0])

    def mask(self, segments: np.ndarray | None = None) -> np.ndarray:
        """Points in the ``segments`` (bool per segment; default the accepted ones)."""
        keep = self.accepted if segments is None else np.asarray(segments, bool)
        lab = self.labels
        out = np.zeros(lab.shape[0], bool)
        has = lab >= 0
        out[has] = keep[lab[has]]
        return out


def _check(params: dict) -> dict:
    p = dict(BUILDING_DEFAULTS)
    unknown = set(params) - set(p)
    if unknown:
        raise ParameterError(
            f"unknown building parameter(s) {sorted(unknown)}; valid ones are {sorted(p)}"
        )
    p.update(params)
    for name in ("roughness", "plane_distance", "max_gap", "cell"):
        if not float(p[name]) > 0:
            raise ParameterError(f"building parameter {name} must be positive, got {p[name]!r}")
    for name in ("min_height", "min_area", "wall_buffer", "roof_tolerance", "wall_min_height"):
        if not float(p[name]) >= 0:
            raise ParameterError(f"building parameter {name} must be >= 0, got {p[name]!r}")
    if not 0 < float(p["max_slope"]) <= 90 or not 0 < float(p["max_angle"]) < 90:
        raise ParameterError(
            f"max_slope must be in (0, 90] and max_angle in (0, 90) degrees, got "
            f"{p['max_slope']!r} and {p['max_angle']!r}"
        )
    if not 0 <= float(p["max_multi_return"]) <= 1:
        raise ParameterError(f"max_multi_return must be in [0, 1], got {p['max_multi_return']!r}")
    if int(p["k"]) < 2:
        raise ParameterError(f"building parameter k must be at least 2, got {p['k']!r}")
    return p


def roof_candidates(
    hag: np.ndarray,
    features: Features,
    *,
    min_height: float = BUILDING_DEFAULTS["min_height"],
    roughness: float = BUILDING_DEFAULTS["roughness"],
    max_slope: float = BUILDING_DEFAULTS["max_slope"],
) -> np.ndarray:
    """Points high enough above the ground on a locally planar, not too steep surface.

    Parameters
    ----------
    hag : ndarray
        Height above ground (m).
    features : Features
    min_height : float
        Metres above ground.
    roughness : float
        Largest plane-fit residual ``sqrt(λ3)`` (m).
    max_slope : float
        Steepest roof slope (degrees from horizontal).

    Returns
    -------
    ndarray of bool
    """
    res = np.sqrt(np.nan_to_num(features.eigenvalues[:, 2], nan=np.inf))
    nz = np.nan_to_num(features.normal[:, 2], nan=0.0)
    return (
        (np.asarray(hag) >= min_height)
        & (res <= roughness)
        & (nz >= math.cos(math.radians(max_slope)) - 1e-9)
    )


def roof_segments(
    xyz: np.ndarray,
    hag: np.ndarray,
    features: Features,
    candidates: np.ndarray,
    number_of_returns: np.ndarray | None = None,
    *,
    batch_size: int = 200_000,
    workers: int = -1,
    **params,
) -> RoofSegments:
    """Grow the roof candidates into planar segments and check each segment.

    Parameters
    ----------
    xyz : ndarray, shape (n, 3)
    hag : ndarray, shape (n,)
    features : Features
        Of the same ``n`` points.
    candidates : ndarray of bool
        Points that may belong to a roof (see :func:`roof_candidates`).
    number_of_returns : ndarray, optional
    batch_size, workers : int
        Query batching and k-d tree threads.
    **params
        ``k``, ``plane_distance``, ``max_angle``, ``max_gap``, ``min_area``,
        ``min_height``, ``max_multi_return``, ``cell`` (see :data:`BUILDING_DEFAULTS`).

    Returns
    -------
    RoofSegments
    """
    p = _check(params)
    xyz = np.asarray(xyz, dtype=np.float64)
    n = xyz.shape[0]
    cand = np.flatnonzero(np.asarray(candidates, bool))
    labels = np.full(n, -1, np.int64)
    m = cand.size
    if m < 3:
        empty = np.zeros(0)
        return RoofSegments(labels, empty, empty.astype(np.int64), empty, empty, empty.astype(bool))
    pts = xyz[cand]
    nrm = np.asarray(features.normal, np.float64)[cand]
    k = min(int(p["k"]) + 1, m)
    tree = cKDTree(pts, balanced_tree=False, compact_nodes=False)
    cos_max = math.cos(math.radians(float(p["max_angle"])))
    rows, cols = [], []
    for start in range(0, m, int(batch_size)):
        sl = slice(start, min(start + int(batch_size), m))
        _, idx = tree.query(pts[sl], k=k, distance_upper_bound=float(p["max_gap"]), workers=workers)
        i = np.repeat(np.arange(sl.start, sl.stop), k - 1)
        j = idx[:, 1:].ravel()
        ok = j < m
        i, j = i[ok], j[ok]
        d = pts[j] - pts[i]
        ni, nj = nrm[i], nrm[j]
        # each point on the other's tangent plane, normals alike
        ok = (
            (np.abs(np.einsum("ij,ij->i", d, ni)) <= p["plane_distance"])
            & (np.abs(np.einsum("ij,ij->i", d, nj)) <= p["plane_distance"])
            & (np.abs(np.einsum("ij,ij->i", ni, nj)) >= cos_max)
        )
        rows.append(i[ok].astype(np.int64))
        cols.append(j[ok].astype(np.int64))
    r = np.concatenate(rows)
    c = np.concatenate(cols)
    graph = sparse.coo_matrix((np.ones(r.size, np.int8), (r, c)), shape=(m, m)).tocsr()
    n_seg, lab = connected_components(graph, directed=True, connection="weak")
    labels[cand] = lab
    count = np.bincount(lab, minlength=n_seg)
    # footprint area: distinct occupied cells per segment
    cell = float(p["cell"])
    ix = np.floor(pts[:, 0] / cell).astype(np.int64)
    iy = np.floor(pts[:, 1] / cell).astype(np.int64)
    ix -= ix.min()
    iy -= iy.min()
    key = (lab.astype(np.int64) * (iy.max() + 1) + iy) * (ix.max() + 1) + ix
    seg_of_cell = np.unique(key) // ((iy.max() + 1) * (ix.max() + 1))
    area = np.bincount(seg_of_cell, minlength=n_seg) * cell * cell
    h = np.asarray(hag, np.float64)[cand]
    med = _segment_median(lab, h, n_seg)
    if number_of_returns is not None:
        multi = np.asarray(number_of_returns)[cand] > 1
        multi_share = np.bincount(lab, weights=multi, minlength=n_seg) / np.maximum(count, 1)
    else:
        multi_share = np.zeros(n_seg)
    accepted = (
        (area >= p["min_area"])
        & (med >= p["min_height"])
        & (multi_share <= p["max_multi_return"])
        & (count >= 3)
    )
    return RoofSegments(labels, area, count, med, multi_share, accepted)


def _segment_median(lab: np.ndarray, values: np.ndarray, n_seg: int) -> np.ndarray:
    """Median of ``values`` per label (sort once by label then value)."""
    order = np.lexsort((values, lab))
    sl = lab[order]
    sv = values[order]
    starts = np.searchsorted(sl, np.arange(n_seg))
    ends = np.searchsorted(sl, np.arange(n_seg), side="right")
    mid = (starts + ends - 1) // 2
    out = np.full(n_seg, np.nan)
    has = ends > starts
    out[has] = sv[np.clip(mid[has], 0, sv.size - 1)]
    return out


def attach_to_roofs(
    xyz: np.ndarray,
    hag: np.ndarray,
    roof: np.ndarray,
    free: np.ndarray,
    *,
    vegetation_like: np.ndarray | None = None,
    wall_like: np.ndarray | None = None,
    cell: float = BUILDING_DEFAULTS["cell"],
    wall_buffer: float = BUILDING_DEFAULTS["wall_buffer"],
    roof_tolerance: float = BUILDING_DEFAULTS["roof_tolerance"],
    wall_min_height: float = BUILDING_DEFAULTS["wall_min_height"],
) -> np.ndarray:
    """Free points inside the (dilated) roof footprints and not above the roofs.

    Parameters
    ----------
    xyz : ndarray, shape (n, 3)
    hag : ndarray, shape (n,)
    roof : ndarray of bool
        Roof points.
    free : ndarray of bool
        Points that may be attached (above ground, not yet classified).
    vegetation_like : ndarray of bool, optional
        Points attached only when they fall inside the roof footprint proper,
        not in the ``wall_buffer`` ring around it (hedges and crowns beside walls).
    wall_like : ndarray of bool, optional
        In the ring, only these points (steep neighbourhoods: walls) and those
        within ``roof_tolerance`` of the roof top (eaves, gutters) are attached;
        default: any point that is not vegetation-like.
    cell : float
        Grid cell (m).
    wall_buffer : float
        Footprint dilation (m) that reaches the walls and eaves.
    roof_tolerance : float
        How far above the local roof top a point may stand (chimneys, antennas).
    wall_min_height : float
        Lowest height above ground of an attached point.

    Returns
    -------
    ndarray of bool
        The free points to attach.
    """
    roof = np.asarray(roof, bool)
    out = np.zeros(roof.shape[0], bool)
    if not roof.any():
        return out
    x, y, z = xyz[:, 0], xyz[:, 1], xyz[:, 2]
    pad = math.ceil(wall_buffer / cell) + 1
    x0 = math.floor(x[roof].min() / cell) * cell - pad * cell
    y0 = math.floor(y[roof].min() / cell) * cell - pad * cell
    nx = int((x[roof].max() - x0) // cell) + pad + 2
    ny = int((y[roof].max() - y0) // cell) + pad + 2
    top: np.ndarray = np.full(ny * nx, -np.inf)
    rix = ((x[roof] - x0) // cell).astype(np.int64)
    riy = ((y[roof] - y0) // cell).astype(np.int64)
    np.maximum.at(top, riy * nx + rix, z[roof])
    top = top.reshape(ny, nx)
    # close one-cell gaps inside the footprint, then reach the walls
    fp = ndimage.binary_closing(np.isfinite(top), structure=np.ones((3, 3), bool))
    top = np.where(fp & ~np.isfinite(top), ndimage.maximum_filter(top, size=3), top)
    core = np.isfinite(top)
    r = math.ceil(wall_buffer / cell)
    if r > 0:
        top = ndimage.maximum_filter(top, size=2 * r + 1)
    cand = np.flatnonzero(np.asarray(free, bool) & (np.asarray(hag) >= wall_min_height))
    ix = ((x[cand] - x0) // cell).astype(np.int64)
    iy = ((y[cand] - y0) // cell).astype(np.int64)
    inside = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
    cand, ix, iy = cand[inside], ix[inside], iy[inside]
    t = top[iy, ix]
    ok = np.isfinite(t) & (z[cand] <= t + roof_tolerance)
    ring_ok = np.ones(cand.size, bool)
    if vegetation_like is not None:
        ring_ok &= ~np.asarray(vegetation_like, bool)[cand]
    if wall_like is not None:
        ring_ok &= np.asarray(wall_like, bool)[cand] | (z[cand] >= t - roof_tolerance)
    ok &= core[iy, ix] | ring_ok
    out[cand[ok]] = True
    return out


def classify_buildings(
    xyz: np.ndarray,
    hag: np.ndarray,
    features: Features,
    free: np.ndarray | None = None,
    number_of_returns: np.ndarray | None = None,
    *,
    exclude_segments: np.ndarray | None = None,
    vegetation_like: np.ndarray | None = None,
    segments: RoofSegments | None = None,
    workers: int = -1,
    **params,
) -> np.ndarray:
    """Building points: accepted roof segments plus the walls and details attached to them.

    Parameters
    ----------
    xyz : ndarray, shape (n, 3)
        Above-ground points (the ones ``features`` describes).
    hag : ndarray, shape (n,)
    features : Features
    free : ndarray of bool, optional
        Points still free to become building (default all).
    number_of_returns : ndarray, optional
    exclude_segments : ndarray of bool, optional
        Segments not to take as roofs (bridge decks found by the caller).
    vegetation_like : ndarray of bool, optional
        Points never attached as walls (see
        :func:`pcrs.classify.vegetation.looks_like_vegetation`).
    segments : RoofSegments, optional
        Precomputed by :func:`roof_segments` with the same parameters.
    workers : int
    **params
        See :data:`BUILDING_DEFAULTS`.

    Returns
    -------
    ndarray of bool

    Examples
    --------
    >>> from pcrs import synth
    >>> from pcrs.classify.features import local_features
    >>> sc = synth.make_scene(40_000, seed=2)
    >>> c = sc.cloud
    >>> hag = c.z - sc.ground_z(c.x, c.y)
    >>> above = hag > 0.3
    >>> xyz = c.xyz[above]
    >>> b = classify_buildings(xyz, hag[above], local_features(xyz, k=10))
    >>> truth = c.classification[above] == 6
    >>> bool((b & truth).sum() / (b | truth).sum() > 0.8)
    True
    """
    p = _check(params)
    xyz = np.asarray(xyz, dtype=np.float64)
    hag = np.asarray(hag, dtype=np.float64)
    n = xyz.shape[0]
    if hag.shape != (n,) or len(features) != n:
        raise ParameterError(
            f"xyz ({n} points), hag ({hag.shape[0]}) and features ({len(features)}) must match"
        )
    free = np.ones(n, bool) if free is None else np.asarray(free, bool)
    if segments is None:
        cand = free & roof_candidates(
            hag, features, min_height=p["min_height"], roughness=p["roughness"],
            max_slope=p["max_slope"],
        )  # fmt: skip
        seg_params = {
            key: p[key]
            for key in ("k", "plane_distance", "max_angle", "max_gap", "min_area",
                        "min_height", "max_multi_return", "cell")
        }  # fmt: skip
        segments = roof_segments(
            xyz, hag, features, cand, number_of_returns, workers=workers, **seg_params
        )
    keep = segments.accepted.copy()
    if exclude_segments is not None:
        keep &= ~np.asarray(exclude_segments, bool)
    roof = segments.mask(keep) & free
    wall_like = np.nan_to_num(features.verticality, nan=0.0) >= 0.5
    walls = attach_to_roofs(
        xyz, hag, roof, free & ~roof, vegetation_like=vegetation_like, wall_like=wall_like,
        cell=p["cell"], wall_buffer=p["wall_buffer"],
        roof_tolerance=p["roof_tolerance"], wall_min_height=p["wall_min_height"],
    )  # fmt: skip
    return roof | walls
