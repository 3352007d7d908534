"""Z residuals of the LiDAR cross-check: PCRS-LIDAR-001, 002 and 009 (internal).

Compute only: the vertices come from :mod:`pcrs.vector.lidar_check_delivery`, the ground
points from :class:`pcrs.vector.lidar_check_digest.LidarDigest`, both as arrays.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.spatial import cKDTree

from .lidar_check_delivery import Delivery, fmt, on_record
from .rules import Finding

if TYPE_CHECKING:
    from .lidar_check import LidarOptions

__all__ = ["check_z", "group_stats", "plane_ground", "residuals"]

#: a delivery-level bias in this range (m) is named for what it usually is
_ELLIPSOID_GAP = (20.0, 70.0)


def plane_ground(tree: cKDTree, gz: np.ndarray, q: np.ndarray, k: int, radius: float) -> np.ndarray:
    """Ground Z at ``q`` from a least-squares plane through the nearest ground points.

    Parameters
    ----------
    tree : scipy.spatial.cKDTree
        The ground points' x, y.
    gz : ndarray
        Their Z.
    q : ndarray, shape (n, 2)
        Where the ground Z is wanted, in the tree's coordinates.
    k : int
        Neighbours of the plane (at least 3).
    radius : float
        Neighbours farther than this are not used.

    Returns
    -------
    ndarray
        The plane's Z at each query (coordinates are centred on it, so the intercept is the
        answer); the inverse-distance mean of the neighbours where fewer than 3 are within
        ``radius`` or they are collinear.
    """
    k = max(3, min(int(k), gz.size))
    d, i = tree.query(q, k=k, distance_upper_bound=radius)
    d, i = d.reshape(len(q), -1), i.reshape(len(q), -1)
    valid = np.isfinite(d)
    ii = np.where(valid, i, 0)
    w = valid.astype(float)
    px = tree.data[ii, 0] - q[:, :1]
    py = tree.data[ii, 1] - q[:, 1:2]
    pz = gz[ii]
    a = np.stack(
        [
            np.stack([(w * px * px).sum(1), (w * px * py).sum(1), (w * px).sum(1)], -1),
            np.stack([(w * px * py).sum(1), (w * py * py).sum(1), (w * py).sum(1)], -1),
            np.stack([(w * px).sum(1), (w * py).sum(1), w.sum(1)], -1),
        ],
        1,
    )
    b = np.stack([(w * px * pz).sum(1), (w * py * pz).sum(1), (w * pz).sum(1)], -1)
    inv_d = np.where(valid, 1.0 / np.maximum(d, 1e-3), 0.0)
    out = (inv_d * pz).sum(1) / np.maximum(inv_d.sum(1), 1e-12)
    det = np.linalg.det(a)
    scale = np.maximum(w.sum(1), 1.0) ** 3
    good = (valid.sum(1) >= 3) & (np.abs(det) > 1e-9 * scale)
    if good.any():
        out[good] = np.linalg.solve(a[good], b[good][:, :, None])[:, 2, 0]
    return out


def residuals(
    vertices: np.ndarray, ground: np.ndarray, *, method: str, radius: float, neighbours: int
) -> np.ndarray:
    """Feature Z minus LiDAR ground Z under each vertex.

    Parameters
    ----------
    vertices : ndarray, shape (n, 3)
    ground : ndarray, shape (m, 3)
        LiDAR ground points.
    method : {"plane", "tin"}
        A least-squares plane through the ``neighbours`` nearest ground points
        (:func:`plane_ground`), or linear in a Delaunay TIN of all of ``ground``
        (:func:`pcrs.classify.height.ground_elevation`).
    radius : float
        A vertex with no ground point closer than this gets no residual.
    neighbours : int

    Returns
    -------
    ndarray, shape (n,)
        NaN where the vertex has no ground point within ``radius``.
    """
    res = np.full(len(vertices), np.nan)
    if not len(ground):
        return res
    # a local origin keeps the KD-tree's coordinates small
    ox, oy = float(ground[:, 0].min()), float(ground[:, 1].min())
    tree = cKDTree(np.column_stack([ground[:, 0] - ox, ground[:, 1] - oy]))
    dist, _ = tree.query(
        np.column_stack([vertices[:, 0] - ox, vertices[:, 1] - oy]),
        k=1,
        distance_upper_bound=radius,
    )
    has = np.isfinite(dist)
    if not has.any():
        return res
    if method == "tin":
        from ..classify.height import ground_elevation

        gz = ground_elevation(
            ground[:, 0], ground[:, 1], ground[:, 2], vertices[has, 0], vertices[has, 1],
            method="tin",
        )  # fmt: skip
    else:
        q = np.column_stack([vertices[has, 0] - ox, vertices[has, 1] - oy])
        gz = plane_ground(tree, ground[:, 2], q, neighbours, radius)
    res[has] = vertices[has, 2] - gz
    return res


def group_stats(
    fid: np.ndarray, res: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per group: count, median, and the index of the element of largest ``|res|``.

    Parameters
    ----------
    fid : ndarray of int
        Group of each element, in ``[0, n_groups)``.
    res : ndarray
    n_groups : int

    Returns
    -------
    counts : ndarray of int
    median : ndarray
        NaN for an empty group.
    worst : ndarray of int
        Index into ``res``; -1 for an empty group.
    """
    order = np.lexsort((res, fid))
    counts = np.bincount(fid, minlength=n_groups)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    has = counts > 0
    s = res[order]
    lo = starts + (counts - 1) // 2
    hi = starts + counts // 2
    median = np.full(n_groups, np.nan)
    median[has] = (s[lo[has]] + s[hi[has]]) / 2
    order_abs = np.lexsort((np.abs(res), fid))
    worst = np.full(n_groups, -1, np.int64)
    worst[has] = order_abs[(starts + counts - 1)[has]]
    return counts, median, worst


def _summary(r: np.ndarray) -> dict[str, float]:
    """Delivery-level statistics of the residuals: median (the bias), mean, std, RMSE..."""
    return {
        "bias": round(float(np.median(r)), 3),
        "mean": round(float(r.mean()), 3),
        "std": round(float(r.std()), 3),
        "rmse": round(float(np.sqrt(np.mean(r**2))), 3),
        "p95_abs": round(float(np.percentile(np.abs(r), 95)), 3),
        "max_abs": round(float(np.abs(r).max()), 3),
    }


def _datum_finding(bias: float, count: int, tolerance: float, file: str) -> Finding:
    """PCRS-LIDAR-002: the whole delivery is off by ``bias``; a gap of 20-70 m is named."""
    hint = hint_fr = ""
    if _ELLIPSOID_GAP[0] <= abs(bias) <= _ELLIPSOID_GAP[1]:
        hint = (
            ", about the gap between ellipsoidal heights and NGF-IGN69 altitudes "
            "in metropolitan France (44-56 m)"
        )
        hint_fr = (
            ", de l'ordre de l'écart entre hauteurs ellipsoïdales et altitudes "
            "NGF-IGN69 en métropole (44 à 56 m)"
        )
    params = {
        "bias": fmt(bias),
        "count": count,
        "tolerance": fmt(tolerance, False),
        "hint": hint,
        "hint_fr": hint_fr,
    }
    return Finding("PCRS-LIDAR-002", params, file=file)


def check_z(
    d: Delivery,
    vertices: np.ndarray,
    owner: np.ndarray,
    ground: np.ndarray,
    opt: LidarOptions,
    file: str,
) -> tuple[list[Finding], dict[str, Any]]:
    """Compare the ground-level vertices with the LiDAR ground.

    Parameters
    ----------
    d : Delivery
        Its records place the per-object findings.
    vertices : ndarray, shape (n, 3)
        The vertices compared (:meth:`Delivery.vertices`).
    owner : ndarray of int
        Record of each vertex.
    ground : ndarray, shape (m, 3)
        LiDAR ground points around the vertices.
    opt : LidarOptions
    file : str
        Where delivery-level findings are placed (the first file of the delivery).

    Returns
    -------
    findings : list of Finding
        PCRS-LIDAR-009 (vertices without ground), then PCRS-LIDAR-002 (the delivery is off)
        or PCRS-LIDAR-001 (per object, on its worst vertex).
    stats : dict
        ``vertices``, ``compared``, and when some were: bias (median), mean, std, rmse,
        p95_abs, max_abs, objects_compared, objects_over_tolerance.
    """
    stats: dict[str, Any] = {"vertices": len(vertices), "compared": 0}
    findings: list[Finding] = []
    res = residuals(
        vertices, ground, method=opt.z_method, radius=opt.ground_radius,
        neighbours=opt.plane_neighbours,
    )  # fmt: skip
    ok = np.isfinite(res)
    n_ok = int(ok.sum())
    stats["compared"] = n_ok
    missing = len(vertices) - n_ok
    if missing and missing > 0.1 * len(vertices):
        params = {"count": missing, "total": len(vertices), "radius": fmt(opt.ground_radius, False)}
        findings.append(Finding("PCRS-LIDAR-009", params, file=file))
    if not n_ok:
        return findings, stats
    r = res[ok]
    stats.update(_summary(r))
    bias = float(np.median(r))
    counts, med, worst = group_stats(owner[ok], r, len(d.records))
    stats["objects_compared"] = int((counts > 0).sum())
    bad = np.flatnonzero((counts > 0) & (np.abs(np.nan_to_num(med)) > opt.z_tolerance))
    stats["objects_over_tolerance"] = int(bad.size)
    if n_ok >= opt.min_bias_vertices and abs(bias) > opt.bias_tolerance:
        findings.append(_datum_finding(bias, n_ok, opt.bias_tolerance, file))
        return findings, stats  # the objects are not listed one by one
    at = vertices[ok]
    for i in bad:
        w = worst[i]
        params = {
            "residual": fmt(med[i]),
            "count": int(counts[i]),
            "worst": fmt(r[w]),
            "tolerance": fmt(opt.z_tolerance, False),
        }
        findings.append(on_record("PCRS-LIDAR-001", params, d.records[i], at[w, 0], at[w, 1]))
    return findings, stats
