"""The "tin" height above ground on pcrs's sweep Delaunay and a compiled walk (issues #14, #16).

Against analytic surfaces, against the qhull path it replaces (which stays the
path without numba), and on the awkward inputs: points outside the hull,
duplicate ground points, collinear ground, regular grids (co-circular points),
walks that give up and scan.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from pcrs.classify import height as H
from pcrs.classify.height import ground_elevation, height_above_ground
from pcrs.points import PointCloud
from pcrs.raster import delaunay as D

needs_kernels = pytest.mark.skipif(
    not H._have_kernels(), reason="numba is missing: the qhull path is the only one"
)


def _plane(x, y):
    return 0.12 * (x - 700_000) - 0.07 * (y - 6_600_000) + 150.0


def _smooth(x, y):
    return 150.0 + 4.0 * np.sin((x - 700_000) / 23.0) * np.cos((y - 6_600_000) / 17.0)


@pytest.fixture
def qhull_path(monkeypatch):
    """Run ground_elevation as without numba: qhull and the vectorised walk."""
    monkeypatch.setattr(H, "_have_kernels", lambda: False)


def _lambert(n, seed, size=300.0, decimals=None):
    rng = np.random.default_rng(seed)
    x, y = 700_000 + rng.random(n) * size, 6_600_000 + rng.random(n) * size
    if decimals is not None:  # as LAS stores them: on the sweep's snapping grid
        x, y = np.round(x, decimals), np.round(y, decimals)
    return x, y


@needs_kernels
def test_sweep_path_is_exact_on_a_plane(monkeypatch):
    calls = []
    real = H._tin_sweep
    monkeypatch.setattr(H, "_tin_sweep", lambda *a: calls.append(1) or real(*a))
    gx, gy = _lambert(20_000, 0)
    qx, qy = _lambert(30_000, 1)
    qz = _plane(qx, qy) + np.random.default_rng(2).random(qx.size) * 20
    cloud = PointCloud(np.r_[gx, qx], np.r_[gy, qy], np.r_[_plane(gx, gy), qz])
    ground = np.r_[np.ones(gx.size, bool), np.zeros(qx.size, bool)]
    hag = height_above_ground(cloud, ground)
    assert calls, "the sweep path did not run"
    inside = (qx > gx.min() + 5) & (qx < gx.max() - 5) & (qy > gy.min() + 5) & (qy < gy.max() - 5)
    truth = qz - _plane(qx, qy)
    assert np.abs(hag[gx.size :][inside] - truth[inside]).max() < 1e-9
    assert np.abs(hag[: gx.size]).max() < 1e-9  # ground vertices: on the surface


@needs_kernels
def test_smooth_surface_matches_linear_interpolation_and_the_truth():
    from scipy.interpolate import LinearNDInterpolator

    gx, gy = _lambert(40_000, 3, decimals=2)
    gz = _smooth(gx, gy)
    qx, qy = _lambert(50_000, 4)
    got = ground_elevation(gx, gy, gz, qx, qy)
    ref = LinearNDInterpolator(np.c_[gx - 700_000, gy - 6_600_000], gz)(
        np.c_[qx - 700_000, qy - 6_600_000]
    )
    ok = ~np.isnan(ref)
    assert ok.mean() > 0.99
    assert np.abs(got[ok] - ref[ok]).max() < 1e-9
    # linear interpolation of a smooth surface on ~1.5 m triangles (away from the hull's slivers)
    core = (qx > gx.min() + 5) & (qx < gx.max() - 5) & (qy > gy.min() + 5) & (qy < gy.max() - 5)
    assert np.abs(got[core] - _smooth(qx[core], qy[core])).max() < 0.05


@needs_kernels
def test_same_as_the_qhull_path_on_centimetre_points(monkeypatch):
    gx, gy = _lambert(30_000, 5, decimals=2)
    gz = _smooth(gx, gy) + np.random.default_rng(6).normal(0, 0.05, gx.size)
    qx, qy = _lambert(40_000, 7, size=320.0)  # some outside the hull
    new = ground_elevation(gx, gy, gz, qx, qy)
    monkeypatch.setattr(H, "_have_kernels", lambda: False)
    old = ground_elevation(gx, gy, gz, qx, qy)
    assert np.abs(new - old).max() < 1e-9


@needs_kernels
def test_float_points_differ_from_qhull_only_on_near_cocircular_quads(monkeypatch):
    # coordinates off the snapping grid (36 micrometres here) move by up to half of it:
    # a quad co-circular within that may get the other diagonal, nothing else changes
    gx, gy = _lambert(30_000, 5)
    gz = _smooth(gx, gy) + np.random.default_rng(6).normal(0, 0.05, gx.size)
    qx, qy = _lambert(40_000, 7, size=320.0)
    new = ground_elevation(gx, gy, gz, qx, qy)
    monkeypatch.setattr(H, "_have_kernels", lambda: False)
    old = ground_elevation(gx, gy, gz, qx, qy)
    d = np.abs(new - old)
    assert (d > 1e-9).sum() <= 10  # 3 of 40,000 when written
    assert d.max() < 0.01


@needs_kernels
def test_grid_ground_differs_from_qhull_only_by_the_diagonal_of_a_cell(monkeypatch):
    # a regular grid: every cell's four corners are co-circular and the two engines may
    # cut it along different diagonals; at the nodes and on a plane they agree exactly
    g = np.arange(0.0, 60.0, 1.0)
    gx, gy = np.meshgrid(700_000 + g, 6_600_000 + g)
    gx, gy = gx.ravel(), gy.ravel()
    gz = _smooth(gx, gy)
    qx, qy = _lambert(20_000, 8, size=59.0)
    new = ground_elevation(gx, gy, gz, qx, qy)
    nodes = ground_elevation(gx, gy, gz, gx, gy)
    plane = ground_elevation(gx, gy, _plane(gx, gy), qx, qy)
    monkeypatch.setattr(H, "_have_kernels", lambda: False)
    old = ground_elevation(gx, gy, gz, qx, qy)
    assert np.abs(nodes - gz).max() < 1e-9
    assert np.abs(plane - _plane(qx, qy)).max() < 1e-9
    # the two diagonals of a 1 m cell: at most a quarter of the cell's twist
    twist = np.abs(np.diff(np.diff(gz.reshape(60, 60), axis=0), axis=1)).max()
    assert np.abs(new - old).max() <= twist / 2 + 1e-9


@needs_kernels
def test_outside_the_hull_takes_the_nearest_ground():
    gx = np.array([0.0, 1.0, 0.0, 1.0, 0.5])
    gy = np.array([0.0, 0.0, 1.0, 1.0, 0.5])
    gz = np.array([1.0, 2.0, 3.0, 4.0, 2.5])
    qx = np.array([5.0, -3.0, 0.5, 0.5, 1.0 + 1e-9])
    qy = np.array([5.0, -3.0, 0.5, -0.2, 0.5])
    got = ground_elevation(gx, gy, gz, qx, qy)
    assert got.tolist()[:4] == [4.0, 1.0, 2.5, 1.0]
    assert got[4] in (2.0, 4.0, 2.5)  # just outside the right edge: its nearest vertex
    assert ground_elevation(gx, gy, gz, qx, qy, count=2)[0] == pytest.approx(
        ground_elevation(gx, gy, gz, qx, qy, method="nn", count=2)[0]
    )


@needs_kernels
def test_duplicate_ground_points_keep_the_lowest():
    gx = np.array([0.0, 10.0, 0.0, 10.0, 5.0, 5.0, 5.0])
    gy = np.array([0.0, 0.0, 10.0, 10.0, 5.0, 5.0, 5.0])
    gz = np.array([0.0, 0.0, 0.0, 0.0, 3.0, 1.0, 2.0])
    got = ground_elevation(gx, gy, gz, np.array([5.0, 2.5]), np.array([5.0, 2.5]))
    assert got.tolist() == [1.0, 0.5]


def test_collinear_ground_takes_the_nearest():
    gx = np.arange(10.0)
    gz = gx * 2
    got = ground_elevation(gx, gx, gz, np.array([3.2, 8.9, 20.0]), np.array([3.0, 9.5, 20.0]))
    assert got.tolist() == [6.0, 18.0, 18.0]


@needs_kernels
def test_walks_that_give_up_scan_and_find_the_same_triangle():
    from pcrs.classify._height_kernels import locate_interpolate, morton_order

    gx, gy = _lambert(3000, 9, size=100.0)
    gz = _smooth(gx, gy)
    lgx, lgy = gx - 700_000, gy - 6_600_000
    tri, half = D.sweep_points_adjacency(lgx, lgy, gz)
    flat = np.ascontiguousarray(tri).reshape(-1)
    qx, qy = _lambert(2000, 10, size=110.0)
    order = morton_order(qx, qy, float(qx.min()), float(qy.min()), 110.0 / 32 * 1.001, 5)
    assert np.array_equal(np.sort(order), np.arange(qx.size))
    results = []
    for steps in (10_000, 1):
        out = np.full(qx.size, np.nan)
        inside = np.zeros(qx.size, bool)
        scans = locate_interpolate(
            flat, half, lgx, lgy, gz, qx, qy, 700_000.0, 6_600_000.0, order, steps, out, inside
        )
        results.append((scans, out, inside))
    (s0, o0, i0), (s1, o1, i1) = results
    assert s0 == 0 and s1 > 100
    assert np.array_equal(i0, i1) and 0.8 < i0.mean() < 0.95
    assert np.abs(o0[i0] - o1[i0]).max() < 1e-9


@needs_kernels
def test_sweep_adjacency_is_the_triangulation_of_sweep_points():
    rng = np.random.default_rng(11)
    x = np.round(rng.random(5000) * 200, 2)  # centimetre coordinates: duplicates too
    y = np.round(rng.random(5000) * 200, 2)
    x[:50], y[:50] = x[50:100], y[50:100]
    z = rng.random(5000)
    tri = D.sweep_points(x, y, z)
    tri2, half = D.sweep_points_adjacency(x, y, z)
    assert np.array_equal(tri, tri2)
    flat = tri2.reshape(-1)
    h = np.arange(flat.size)
    nxt = np.where(h % 3 == 2, h - 2, h + 1)
    inner = half >= 0
    assert np.array_equal(half[half[inner]], h[inner])  # twins of twins
    assert np.array_equal(flat[half[inner]], flat[nxt[inner]])  # opposite directions
    assert np.array_equal(flat[nxt[half[inner]]], flat[inner])
    # Euler: hull edges = 2 n - 2 - m
    assert (~inner).sum() == 2 * len(np.unique(flat)) - 2 - len(tri)


def test_without_numba_the_qhull_path(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)
    H._have_kernels.cache_clear()
    D.have_sweep.cache_clear()
    try:
        assert not H._have_kernels()
        _assert_plane_inside(12, 13)
    finally:
        monkeypatch.undo()
        H._have_kernels.cache_clear()
        D.have_sweep.cache_clear()


def test_qhull_path_is_kept(qhull_path):
    _assert_plane_inside(14, 15)


def _assert_plane_inside(seed_ground: int, seed_queries: int) -> None:
    """A plane is interpolated exactly (1e-6 m) at queries 5 m inside the ground's extent."""
    gx, gy = _lambert(2000, seed_ground, size=100.0)
    qx, qy = _lambert(3000, seed_queries, size=100.0)
    got = ground_elevation(gx, gy, _plane(gx, gy), qx, qy)
    inside = (qx > gx.min() + 5) & (qx < gx.max() - 5) & (qy > gy.min() + 5)
    inside &= qy < gy.max() - 5
    assert np.abs(got[inside] - _plane(qx, qy)[inside]).max() < 1e-6
