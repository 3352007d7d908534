"""Covariance eigen-features: known shapes, batching, radius, query subsets, errors."""

from __future__ import annotations

import numpy as np
import pytest

from pcrs.classify.features import local_features
from pcrs.errors import ParameterError


def _plane(n=2000, seed=0, tilt=0.0):
    rng = np.random.default_rng(seed)
    x, y = rng.random(n) * 20, rng.random(n) * 20
    return np.column_stack([x, y, 3.0 + tilt * x])


def test_horizontal_plane_is_planar_not_vertical():
    f = local_features(_plane(), k=12)
    assert np.nanmax(f.sphericity) < 1e-9
    assert np.nanmax(f.verticality) < 1e-9
    assert np.allclose(f.normal[:, 2], 1.0)
    assert np.allclose(f.height_range, 0.0)


def test_wall_is_vertical_and_normal_is_horizontal():
    rng = np.random.default_rng(1)
    wall = np.column_stack([rng.random(1500) * 10, np.full(1500, 5.0), rng.random(1500) * 6])
    f = local_features(wall, k=10)
    assert np.nanmin(f.verticality) > 0.999
    assert np.allclose(np.abs(f.normal[:, 1]), 1.0)


def test_tilted_plane_normal_matches_slope():
    f = local_features(_plane(tilt=0.5), k=10)
    expected = np.array([-0.5, 0.0, 1.0]) / np.sqrt(1.25)
    assert np.allclose(np.nanmedian(f.normal, axis=0), expected, atol=1e-6)


def test_line_is_linear_and_ball_is_spherical():
    rng = np.random.default_rng(2)
    t = rng.random(500) * 30
    line = np.column_stack([t, 0.5 * t, 2 * t])
    fl = local_features(line, k=8)
    assert np.nanmin(fl.linearity) > 0.999
    ball = rng.normal(size=(3000, 3))
    fb = local_features(ball, k=30)
    assert np.nanmedian(fb.sphericity) > 0.2
    assert np.nanmedian(fb.sphericity) > 5 * np.nanmedian(local_features(_plane(), k=30).sphericity)


def test_batches_do_not_change_results():
    rng = np.random.default_rng(3)
    pts = rng.random((5000, 3)) * [50, 50, 5]
    a = local_features(pts, k=10, batch_size=5000)
    b = local_features(pts, k=10, batch_size=333)
    for name in ("linearity", "planarity", "sphericity", "verticality", "height_range"):
        assert np.allclose(getattr(a, name), getattr(b, name), equal_nan=True)


def test_matches_a_direct_per_point_computation():
    rng = np.random.default_rng(4)
    pts = rng.random((800, 3)) * [10, 10, 2]
    f = local_features(pts, k=9)
    from scipy.spatial import cKDTree

    _, idx = cKDTree(pts).query(pts[:50], k=9)
    for i in range(50):
        w = np.linalg.eigvalsh(np.cov(pts[idx[i]].T, bias=True))[::-1]
        assert np.allclose(f.eigenvalues[i], w, rtol=1e-5, atol=1e-9)


def test_query_subset_and_mask_agree():
    pts = _plane(600, seed=5)
    mask = np.zeros(600, bool)
    mask[::7] = True
    a = local_features(pts, mask, k=10)
    b = local_features(pts, np.flatnonzero(mask), k=10)
    full = local_features(pts, k=10)
    assert len(a) == mask.sum()
    assert np.allclose(a.eigenvalues, b.eigenvalues)
    assert np.allclose(a.eigenvalues, full.eigenvalues[mask])


def test_radius_caps_the_neighbourhood():
    rng = np.random.default_rng(6)
    cluster = rng.random((200, 3))
    lonely = np.array([[100.0, 100.0, 100.0]])
    f = local_features(np.vstack([cluster, lonely]), k=10, radius=2.0)
    assert f.count[-1] == 1 and np.isnan(f.planarity[-1])
    assert (f.count[:-1] == 10).all()


def test_subset_of_features():
    f = local_features(_plane(300), k=8)
    sub = f.subset(slice(0, 10))
    assert len(sub) == 10 and sub.normal.shape == (10, 3)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"k": 2}, "k must be at least 3"),
        ({"radius": 0}, "radius must be positive"),
        ({"batch_size": 0}, "batch_size"),
    ],
)
def test_bad_parameters(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        local_features(_plane(50), **kwargs)


def test_bad_shapes():
    with pytest.raises(ParameterError, match=r"shape \(n, 3\)"):
        local_features(np.zeros((5, 2)))
    with pytest.raises(ParameterError, match="query mask"):
        local_features(_plane(20), np.ones(3, bool))
    with pytest.raises(ParameterError, match="out-of-range"):
        local_features(_plane(20), np.array([0, 25]))


def test_tiny_inputs():
    assert len(local_features(np.zeros((0, 3)))) == 0
    f = local_features(np.array([[0.0, 0, 0], [1, 0, 0]]), k=5)
    assert np.isnan(f.planarity).all()
