"""Per-point features of the learned classifier (:mod:`pcrs.classify.learned`).

One row per point, ``float32``, NaN where a feature cannot be computed (fewer than
3 neighbours): the gradient-boosted trees send NaN down the branch they learned
for it. The columns, in the order of :data:`FEATURE_NAMES`:

- at two neighbourhood scales (``k = 10`` and ``k = 30`` nearest neighbours in
  3-D, :func:`pcrs.classify.features.local_features`): linearity, planarity,
  sphericity, verticality, omnivariance ``(λ1 λ2 λ3)^(1/3) / Σλ``, the height
  range of the neighbourhood, and ``√λ3`` (the plane-fit residual, metres);
- ``hag``: the height above ground from the ground step (metres);
- ``return_number`` and ``number_of_returns`` (clipped to 7);
- ``intensity_rank``: the rank of the point's intensity in its file (tile),
  in [0, 1] — the same pulse energy gives different raw values from one
  sensor or flight to the next, ranks do not depend on that scale;
- in vertical columns of 1 m and 3 m cells: the height range of the column,
  the standard deviation of its heights, the point's height above the lowest
  point of the column and below its highest point;
- ``density``: points in the point's 1 m cell over the median of the occupied
  cells of the file (dimensionless, so that a sparser flight reads alike).

Everything is vectorised: k-d tree queries in batches (``workers`` threads), the
column statistics by sorting cell keys. Memory is bounded by the batch of the
neighbour search plus a few arrays of the size of the cloud.

:data:`FEATURE_VERSION` names this recipe; a model records the version it was
trained with and refuses features of another one.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from ..errors import ParameterError
from ..points import PointCloud
from .features import local_features

__all__ = ["FEATURE_NAMES", "FEATURE_VERSION", "SCALES", "density_median", "point_features"]

#: the recipe of :func:`point_features`; a model stores it and refuses another one
FEATURE_VERSION = "pcrs-features-1"

#: neighbourhood sizes (k nearest neighbours) of the eigenvalue features
SCALES = (10, 30)

#: vertical column sizes (metres)
COLUMNS = (1.0, 3.0)

_EIGEN = ("linearity", "planarity", "sphericity", "verticality", "omnivariance", "zrange", "sigma3")
_COLUMN = ("col_range", "col_std", "above_col_min", "below_col_max")

FEATURE_NAMES: tuple[str, ...] = (
    *(f"{name}_k{k}" for k in SCALES for name in _EIGEN),
    "hag",
    "return_number",
    "number_of_returns",
    "intensity_rank",
    *(f"{name}_{c:g}m" for c in COLUMNS for name in _COLUMN),
    "density",
)


def point_features(
    cloud: PointCloud,
    hag: np.ndarray,
    support: np.ndarray | None = None,
    *,
    workers: int = -1,
    batch_size: int = 100_000,
    origin: tuple[float, float] | None = None,
    intensity_rank: np.ndarray | None = None,
    density_median: float | None = None,
    query: np.ndarray | None = None,
) -> np.ndarray:
    """The feature matrix of every point of ``cloud``.

    Parameters
    ----------
    cloud : PointCloud
        Needs ``x, y, z``; ``return_number``, ``number_of_returns`` and
        ``intensity`` are used when present (NaN columns otherwise).
    hag : ndarray, shape (n,)
        Height above ground of each point (metres), e.g. the ``height`` step's.
    support : ndarray of bool, shape (n,), optional
        Points that make the neighbourhoods and columns (default all): pass the
        points that are not noise, so that a stray point in the sky does not
        stretch a column. Points outside it still get their features.
    workers : int
        Threads of the k-d tree queries (``-1``: all cores).
    batch_size : int
        Query points per batch of the neighbour search.
    origin, intensity_rank, density_median : optional
        What makes features of a part of a file equal to those of the whole
        file (:func:`pcrs.classify.learned_predict.predict` works in strips):
        the corner of the column grid (default the cloud's lowest x and y), the
        intensity ranks in the file, and the file's median of points per
        occupied 1 m cell.
    query : ndarray of bool, shape (n,), optional
        Only these points get the neighbourhood features (the costly ones; the
        others get NaN there): the points a model will label.

    Returns
    -------
    ndarray of float32, shape (n, len(FEATURE_NAMES))

    Examples
    --------
    >>> from pcrs import synth
    >>> scene = synth.make_scene(5_000, seed=1)
    >>> X = point_features(scene.cloud, scene.cloud.z - scene.ground_z(scene.cloud.x, scene.cloud.y))
    >>> X.shape[1] == len(FEATURE_NAMES)
    True
    """
    n = len(cloud)
    hag = np.asarray(hag, dtype=np.float64)
    if hag.shape != (n,):
        raise ParameterError(f"hag has shape {hag.shape} for {n} points")
    if support is None:
        support = np.ones(n, bool)
    support = np.asarray(support, bool)
    if support.shape != (n,):
        raise ParameterError(f"support has shape {support.shape} for {n} points")
    out = np.full((n, len(FEATURE_NAMES)), np.nan, np.float32)
    if n == 0:
        return out
    xyz = np.column_stack([cloud.x, cloud.y, cloud.z]).astype(np.float64)
    sup_idx = np.flatnonzero(support)
    col = 0
    if sup_idx.size >= 3:
        sup_xyz = xyz[sup_idx]
        tree = cKDTree(sup_xyz, balanced_tree=False, compact_nodes=False)
        # every point gets features from its neighbours among the support points:
        # query the support itself, and points outside it through a second tree query
        wanted = np.ones(n, bool) if query is None else np.asarray(query, bool)
        for k in SCALES:
            block = _eigen_block(
                xyz, sup_xyz, sup_idx, support, wanted, tree, k, workers, batch_size
            )
            out[:, col : col + len(_EIGEN)] = block
            col += len(_EIGEN)
    else:
        col += len(_EIGEN) * len(SCALES)
    out[:, col] = hag
    col += 1
    for name in ("return_number", "number_of_returns"):
        if name in cloud:
            out[:, col] = np.clip(np.asarray(cloud[name], np.float64), 0, 7)
        col += 1
    if intensity_rank is not None:
        out[:, col] = intensity_rank
    elif "intensity" in cloud:
        out[:, col] = _rank01(np.asarray(cloud["intensity"], np.float64))
    col += 1
    corner = (float(xyz[:, 0].min()), float(xyz[:, 1].min())) if origin is None else origin
    for size in COLUMNS:
        out[:, col : col + len(_COLUMN)] = _column_block(xyz, support, size, corner)
        col += len(_COLUMN)
    out[:, col] = _density(xyz, support, corner, density_median)
    return out


def density_median(cloud: PointCloud, support: np.ndarray | None = None) -> float:
    """Median of the points per occupied 1 m cell (the ``density`` feature's unit)."""
    xyz = np.column_stack([cloud.x, cloud.y, cloud.z])
    if support is not None:
        xyz = xyz[np.asarray(support, bool)]
    if xyz.shape[0] == 0:
        return float("nan")
    key = _cells(xyz, 1.0, (float(xyz[:, 0].min()), float(xyz[:, 1].min())))
    return float(np.median(np.unique(key, return_counts=True)[1]))


def _eigen_block(
    xyz, sup_xyz, sup_idx, support, wanted, tree, k, workers, batch_size
) -> np.ndarray:
    n = xyz.shape[0]
    block = np.full((n, len(_EIGEN)), np.nan, np.float32)
    rows = np.flatnonzero(wanted[sup_idx])  # positions in the support
    f = local_features(sup_xyz, rows, k=k, tree=tree, workers=workers, batch_size=batch_size)
    block[sup_idx[rows]] = _eigen_columns(f)
    other = np.flatnonzero(~support & wanted)
    if other.size:
        # the few points outside the support (noise): their neighbours among the support
        both = np.concatenate([sup_xyz, xyz[other]])
        q = np.arange(sup_xyz.shape[0], both.shape[0])
        g = local_features(both, q, k=k, workers=workers, batch_size=batch_size)
        block[other] = _eigen_columns(g)
    return block


def _eigen_columns(f) -> np.ndarray:
    ev = f.eigenvalues.astype(np.float64)
    total = ev.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        omni = np.cbrt(np.clip(ev[:, 0] * ev[:, 1] * ev[:, 2], 0, None)) / total
    sigma3 = np.sqrt(np.clip(ev[:, 2], 0, None))
    return np.column_stack(
        [f.linearity, f.planarity, f.sphericity, f.verticality, omni, f.height_range, sigma3]
    ).astype(np.float32)


def _rank01(values: np.ndarray) -> np.ndarray:
    """Rank of each value in [0, 1] (ties share the mean of their ranks)."""
    n = values.size
    if n < 2:
        return np.full(n, 0.5)
    _uniq, inv, counts = np.unique(values, return_inverse=True, return_counts=True)
    # mean rank of each distinct value: start + (count - 1) / 2
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    mean_rank = start + (counts - 1) / 2.0
    return mean_rank[inv.ravel()] / (n - 1)


def _cells(xyz: np.ndarray, size: float, corner: tuple[float, float]) -> np.ndarray:
    ix = np.floor((xyz[:, 0] - corner[0]) / size).astype(np.int64)
    iy = np.floor((xyz[:, 1] - corner[1]) / size).astype(np.int64)
    # a key that does not depend on the extent of this part of the file
    return ix * (1 << 32) + (iy + (1 << 31))


def _column_block(
    xyz: np.ndarray, support: np.ndarray, size: float, corner: tuple[float, float]
) -> np.ndarray:
    """Per point: column range, std, height above the column's lowest, below its highest."""
    n = xyz.shape[0]
    block = np.full((n, len(_COLUMN)), np.nan, np.float32)
    if not support.any():
        return block
    key = _cells(xyz, size, corner)
    sup_key = key[support]
    z = xyz[support, 2]
    uniq, inv = np.unique(sup_key, return_inverse=True)
    inv = inv.ravel()
    m = uniq.size
    zmin = np.full(m, np.inf)
    zmax = np.full(m, -np.inf)
    np.minimum.at(zmin, inv, z)
    np.maximum.at(zmax, inv, z)
    cnt = np.bincount(inv, minlength=m).astype(np.float64)
    mean = np.bincount(inv, weights=z, minlength=m) / cnt
    var = np.bincount(inv, weights=(z - mean[inv]) ** 2, minlength=m) / cnt
    # every point (support or not) reads the column of its cell, when it has one
    pos = np.searchsorted(uniq, key)
    pos = np.clip(pos, 0, m - 1)
    has = uniq[pos] == key
    p = pos[has]
    zz = xyz[has, 2]
    block[has, 0] = zmax[p] - zmin[p]
    block[has, 1] = np.sqrt(var[p])
    block[has, 2] = zz - zmin[p]
    block[has, 3] = zmax[p] - zz
    return block


def _density(
    xyz: np.ndarray, support: np.ndarray, corner: tuple[float, float], median: float | None
) -> np.ndarray:
    out = np.full(xyz.shape[0], np.nan, np.float32)
    if not support.any():
        return out
    key = _cells(xyz, 1.0, corner)
    uniq, cnt = np.unique(key[support], return_counts=True)
    med = float(np.median(cnt)) if median is None else float(median)
    pos = np.clip(np.searchsorted(uniq, key), 0, uniq.size - 1)
    has = uniq[pos] == key
    out[has] = cnt[pos[has]] / med
    return out
