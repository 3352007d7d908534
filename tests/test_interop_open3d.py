"""open3d point clouds to and from PointCloud (skipped where open3d is not installed)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from pcrs import PointCloud
from pcrs.errors import MissingExtraError


def _cloud(n: int = 500) -> PointCloud:
    rng = np.random.default_rng(5)
    nrm = rng.normal(size=(n, 3))
    nrm /= np.linalg.norm(nrm, axis=1, keepdims=True)
    return PointCloud(
        842_000 + rng.uniform(0, 100, n), 6_518_000 + rng.uniform(0, 100, n),
        rng.uniform(180, 240, n),
        {
            "red": rng.integers(0, 65536, n, dtype=np.uint16),
            "green": rng.integers(0, 65536, n, dtype=np.uint16),
            "blue": rng.integers(0, 65536, n, dtype=np.uint16),
            "normal_x": nrm[:, 0], "normal_y": nrm[:, 1], "normal_z": nrm[:, 2],
            "intensity": rng.integers(0, 65536, n, dtype=np.uint16),
        },
        "EPSG:2154",
    )  # fmt: skip


def test_without_open3d_one_error_naming_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "open3d", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'pcrs\[open3d\]'"):
        _cloud().to_open3d()


def test_round_trip_positions_colours_normals():
    o3d = pytest.importorskip("open3d", reason="open3d is not installed (pip install open3d)")
    pc = _cloud()
    pcd = pc.to_open3d()
    assert isinstance(pcd, o3d.geometry.PointCloud)
    assert np.array_equal(np.asarray(pcd.points), pc.xyz)
    colours = np.asarray(pcd.colors)
    assert colours.min() >= 0 and colours.max() <= 1
    np.testing.assert_allclose(colours[:, 0], pc["red"] / 65535.0)
    assert pcd.has_normals()
    back = PointCloud.from_open3d(pcd, crs=pc.crs)
    assert back.crs == pc.crs
    assert list(back.attributes) == ["red", "green", "blue", "normal_x", "normal_y", "normal_z"]
    for name in back.names:
        assert back[name].dtype == pc[name].dtype, name
        assert np.array_equal(back[name], pc[name]), name


def test_plain_clouds_and_open3d_made_clouds():
    o3d = pytest.importorskip("open3d", reason="open3d is not installed (pip install open3d)")
    pc = PointCloud(np.arange(4.0), np.zeros(4), np.ones(4))
    pcd = pc.to_open3d()
    assert not pcd.has_colors() and not pcd.has_normals() and len(pcd.points) == 4
    # a cloud made by open3d: normals estimated there come back as attributes
    pcd = o3d.geometry.PointCloud()
    grid = np.stack(np.meshgrid(np.arange(10.0), np.arange(10.0)), -1).reshape(-1, 2)
    pcd.points = o3d.utility.Vector3dVector(np.column_stack([grid, np.zeros(len(grid))]))
    pcd.estimate_normals()
    pc = PointCloud.from_open3d(pcd)
    assert len(pc) == 100 and np.allclose(np.abs(pc["normal_z"]), 1.0)
    # tensor clouds convert through to_legacy()
    t = o3d.t.geometry.PointCloud.from_legacy(pcd)
    assert len(PointCloud.from_open3d(t)) == 100
