"""open3d point clouds to and from :class:`~pcrs.points.PointCloud`.

open3d holds positions, colours in ``[0, 1]`` and normals, all float64. LAS
colours are 16-bit integers (``red``, ``green``, ``blue``, uint16), scaled by
``1 / 65535`` to open3d and rounded back; normals are the attributes
``normal_x``, ``normal_y``, ``normal_z`` (float64, PDAL's ``NormalX``...). Other
attributes have no place in an open3d cloud and stay behind.

Needs ``open3d`` (``pip install 'pcrs[open3d]'``), imported on first use.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import MissingExtraError, ParameterError
from ..points import LasLayout, PointCloud

__all__ = ["COLOUR_SCALE", "NORMAL_NAMES", "from_open3d", "to_open3d"]

#: LAS colours are 16-bit: open3d's 1.0 is 65535
COLOUR_SCALE = 65535.0

#: the attributes that hold the normals
NORMAL_NAMES = ("normal_x", "normal_y", "normal_z")

_RGB = ("red", "green", "blue")


def _import_open3d() -> Any:
    try:
        import open3d
    except ModuleNotFoundError as exc:
        raise MissingExtraError(
            "open3d point clouds need the optional package 'open3d'; install it with: "
            "pip install 'pcrs[open3d]'"
        ) from exc
    return open3d


def to_open3d(cloud: PointCloud) -> Any:
    """The cloud as an ``open3d.geometry.PointCloud``.

    Parameters
    ----------
    cloud : PointCloud

    Returns
    -------
    open3d.geometry.PointCloud
        Positions (float64); colours from ``red``/``green``/``blue`` divided by
        65535 when the cloud has them; normals from ``normal_x/y/z`` when present.

    Examples
    --------
    >>> import numpy as np
    >>> from pcrs import PointCloud
    >>> pc = PointCloud(np.zeros(2), np.zeros(2), np.ones(2))
    >>> len(to_open3d(pc).points)  # doctest: +SKIP
    2
    """
    o3d = _import_open3d()
    pcd = o3d.geometry.PointCloud()
    pcd.points = o3d.utility.Vector3dVector(cloud.xyz)
    if all(c in cloud.attributes for c in _RGB):
        rgb = np.column_stack([cloud.attributes[c].astype(np.float64) for c in _RGB])
        pcd.colors = o3d.utility.Vector3dVector(rgb / COLOUR_SCALE)
    if all(n in cloud.attributes for n in NORMAL_NAMES):
        nrm = np.column_stack([cloud.attributes[n].astype(np.float64) for n in NORMAL_NAMES])
        pcd.normals = o3d.utility.Vector3dVector(nrm)
    return pcd


def from_open3d(pcd: Any, crs: Any = None, *, layout: LasLayout | None = None) -> PointCloud:
    """A :class:`PointCloud` from an open3d point cloud.

    Parameters
    ----------
    pcd : open3d.geometry.PointCloud or open3d.t.geometry.PointCloud
        A tensor cloud is converted with its ``to_legacy()``.
    crs : pyproj.CRS or str, optional
        The points' CRS (open3d keeps none).
    layout : LasLayout, optional
        The LAS layout to write the points with (format 6 by default; a cloud
        with colours needs format 7 or 8, which the writer picks).

    Returns
    -------
    PointCloud
        ``red``/``green``/``blue`` (uint16, colours times 65535, rounded) when the
        cloud has colours; ``normal_x/y/z`` (float64) when it has normals.
    """
    if hasattr(pcd, "to_legacy") and not hasattr(pcd, "has_colors"):
        pcd = pcd.to_legacy()
    if not hasattr(pcd, "points"):
        raise ParameterError(
            f"expected an open3d PointCloud, got {type(pcd).__name__}; "
            "build one with open3d.geometry.PointCloud()"
        )
    xyz = np.asarray(pcd.points, dtype=np.float64).reshape(-1, 3)
    attrs: dict[str, np.ndarray] = {}
    if pcd.has_colors():
        rgb = np.asarray(pcd.colors, dtype=np.float64).reshape(-1, 3)
        scaled = np.round(np.clip(rgb, 0.0, 1.0) * COLOUR_SCALE).astype(np.uint16)
        for i, c in enumerate(_RGB):
            attrs[c] = scaled[:, i].copy()
    if pcd.has_normals():
        nrm = np.asarray(pcd.normals, dtype=np.float64).reshape(-1, 3)
        for i, n in enumerate(NORMAL_NAMES):
            attrs[n] = nrm[:, i].copy()
    from .pdal import _as_crs

    return PointCloud(
        xyz[:, 0], xyz[:, 1], xyz[:, 2], attrs, _as_crs(crs),
        layout if layout is not None else LasLayout(),
    )  # fmt: skip
