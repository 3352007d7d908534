"""The fast paths of the classification hot spots give the results of the plain numpy
paths, bit for bit: the compiled ground refinement (numba) against sort + cKDTree, and
the dense-grid voxel filter and low-point test against their sorted/sparse versions."""

from __future__ import annotations

import numpy as np
import pytest

from pcrs.classify import ground, noise
from pcrs.classify.height import sorted_by_cell

needs_numba = pytest.mark.skipif(
    not ground._have_kernels(), reason="numba is not installed: no compiled refinement"
)


def _cloud(n: int, seed: int, quantum: float = 0.01, spread: float = 60.0):
    """A LiDAR-like cloud on a centimetre grid (LAS scales): many exactly tied distances."""
    rng = np.random.default_rng(seed)
    x = 842_000.0 + np.round(rng.random(n) * spread / quantum) * quantum
    y = 6_518_000.0 + np.round(rng.random(n) * spread / quantum) * quantum
    z = 100.0 + 0.05 * (x - 842_000.0) + np.round(rng.gamma(1.0, 0.2, n) / quantum) * quantum
    return x, y, z


def _numpy_envelope(gx, gy, gz, cell, k):
    order, starts, _ = sorted_by_cell(gx, gy, gz, cell)
    lowest = order[starts]
    return ground._local_planes(gx[lowest], gy[lowest], gz[lowest], gx, gy, k)


@needs_numba
@pytest.mark.parametrize(
    ("seed", "cell", "k", "quantum"),
    [(0, 1.0, 6, 0.01), (1, 0.5, 3, 0.01), (2, 2.0, 7, 0.25), (3, 1.0, 6, 0.5), (4, 1.0, 8, 0.01)],
)
def test_compiled_envelope_planes_are_the_numpy_ones(seed, cell, k, quantum):
    x, y, z = _cloud(30_000, seed, quantum)
    if not ground._numpy_sums_in_order(k):  # refine_ground takes the numpy path then
        pytest.skip(f"numpy does not sum {k} columns in order")
    got = ground._envelope_planes_compiled(x, y, z, cell, k)
    assert got is not None
    want = _numpy_envelope(x, y, z, cell, k)
    assert np.array_equal(got.view(np.int64), want.view(np.int64))


@needs_numba
def test_compiled_planes_with_holes_and_ties():
    # a coarse grid of points (every distance tied many times) with an empty square
    gx, gy = np.meshgrid(np.arange(0.0, 40.0, 0.5), np.arange(0.0, 40.0, 0.5))
    gx, gy = gx.ravel() + 700_000.0, gy.ravel() + 6_600_000.0
    keep = ~((np.abs(gx - 700_020.0) < 8) & (np.abs(gy - 6_600_020.0) < 8))
    gx, gy = gx[keep], gy[keep]
    gz = np.sin(gx) + np.cos(gy)
    for cell in (1.0, 0.7, 3.0):
        got = ground._envelope_planes_compiled(gx, gy, gz, cell, 6)
        assert got is not None
        want = _numpy_envelope(gx, gy, gz, cell, 6)
        assert np.array_equal(got.view(np.int64), want.view(np.int64))


@needs_numba
def test_compiled_refinement_declines_what_it_cannot_do():
    x, y, z = _cloud(50, 4)
    assert ground._envelope_planes_compiled(x[:5], y[:5], z[:5], 1.0, 6) is None  # too few
    x2 = x.copy()
    x2[3] = np.nan
    assert ground._envelope_planes_compiled(x2, y, z, 1.0, 6) is None
    far = np.r_[x, 9e6]
    assert ground._envelope_planes_compiled(far, np.r_[y, 0.0], np.r_[z, 0.0], 1.0, 6) is None


def test_numpy_sums_six_columns_in_order():
    # the default refinement (6 neighbours) must take the compiled path with numpy 2.x
    assert ground._numpy_sums_in_order(6)


@pytest.mark.parametrize(("seed", "k"), [(0, 6), (5, 3), (6, 9)])
def test_refine_ground_same_with_and_without_kernels(seed, k, monkeypatch):
    x, y, z = _cloud(40_000, seed)
    mask = np.random.default_rng(seed).random(x.size) < 0.8
    got = ground.refine_ground(x, y, z, mask, max_height=0.15, neighbours=k)
    monkeypatch.setattr(ground, "_have_kernels", lambda: False)
    want = ground.refine_ground(x, y, z, mask, max_height=0.15, neighbours=k)
    assert np.array_equal(got, want)
    assert 0 < (mask & ~got).sum() < mask.sum()


@pytest.mark.parametrize(("seed", "resolution", "n"), [(0, 5.0, 6), (1, 1.0, 2), (2, 0.3, 1)])
def test_dense_voxel_filter_is_the_sorted_one(seed, resolution, n, monkeypatch):
    x, y, z = _cloud(20_000, seed, spread=80.0)
    z[::97] += np.random.default_rng(seed).normal(0, 30, z[::97].size)  # isolated points
    got = noise.isolated_voxels(x, y, z, resolution=resolution, n=n)
    monkeypatch.setattr(noise, "_IVF_DENSE_PER_POINT", 0)
    monkeypatch.setattr(noise, "_IVF_DENSE_MIN", 0)
    want = noise.isolated_voxels(x, y, z, resolution=resolution, n=n)
    assert np.array_equal(got, want)
    assert 0 < got.sum() < got.size


def test_dense_voxel_filter_negative_coordinates(monkeypatch):
    x, y, z = _cloud(5_000, 9)
    x, y, z = x - 842_030.0, y - 6_518_030.0, -z
    got = noise.isolated_voxels(x, y, z, resolution=2.5, n=3)
    monkeypatch.setattr(noise, "_IVF_DENSE_MIN", 0)
    monkeypatch.setattr(noise, "_IVF_DENSE_PER_POINT", 0)
    assert np.array_equal(got, noise.isolated_voxels(x, y, z, resolution=2.5, n=3))


def test_row_percentiles_are_nanpercentile():
    rng = np.random.default_rng(3)
    a = (rng.gamma(2.0, 1.5, (5_000, 48)) * 100).round().astype(np.float32) / 100
    a[rng.random(a.shape) < 0.3] = np.nan
    a[:40, :47] = np.nan  # one value left
    a[40:45] = np.nan  # none left: NaN, with numpy's warning
    with pytest.warns(RuntimeWarning):
        want = np.nanpercentile(a, [10, 50], axis=1)
    with pytest.warns(RuntimeWarning):
        got = noise._row_percentiles(a, (10, 50))
    assert got.dtype == want.dtype
    assert np.array_equal(got, want, equal_nan=True)
    b = a[45:].astype(np.float64)
    assert np.array_equal(
        noise._row_percentiles(b, (10, 50)), np.nanpercentile(b, [10, 50], axis=1), equal_nan=True
    )


def _low_scene(seed: int):
    x, y, z = _cloud(60_000, seed, spread=70.0)
    rng = np.random.default_rng(seed)
    low = rng.choice(x.size, 300, replace=False)
    z[low] -= rng.uniform(0.5, 4.0, low.size)  # multipath under the ground
    hole = (np.abs(x - 842_035.0) < 6) & (np.abs(y - 6_518_035.0) < 6)  # a building
    return x[~hole], y[~hole], z[~hole]


@pytest.mark.parametrize(
    "params",
    [{}, {"cell": 1.0, "radius_cells": 2, "tolerance": 0}, {"depth": 0.3, "max_slope": 0.2}],
)
def test_low_points_paths_agree(params, monkeypatch):
    x, y, z = _low_scene(len(params))
    got = noise.low_points(x, y, z, **params)
    monkeypatch.setattr(noise, "_have_kernels", lambda: False)
    want = noise.low_points(x, y, z, **params)
    assert np.array_equal(got, want)
    assert 0 < got.sum() < got.size
    monkeypatch.setattr(noise, "_DENSE_CELLS", 0)  # the sparse lookup, numpy only
    assert np.array_equal(noise.low_points(x, y, z, **params), want)


def test_low_points_numpy_depth_scalar(monkeypatch):
    # a numpy float64 depth compares in float64 (not float32): both paths alike
    x, y, z = _low_scene(7)
    got = noise.low_points(x, y, z, depth=np.float64(0.7))
    monkeypatch.setattr(noise, "_have_kernels", lambda: False)
    assert np.array_equal(got, noise.low_points(x, y, z, depth=np.float64(0.7)))


@pytest.mark.skipif(not noise._have_kernels(), reason="numba is not installed")
def test_compiled_low_candidates_decline_non_finite():
    x, y, z = _low_scene(1)
    z[5] = np.nan
    assert noise._low_candidates_compiled(x, y, z, 0.5, 1.0, 3, 1, 4) is None
