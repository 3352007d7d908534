"""Height above ground: TIN (barycentric, local coordinates) and nearest ground."""

from __future__ import annotations

import numpy as np
import pytest

from pcrs import synth
from pcrs.classify.height import ground_elevation, height_above_ground, normalize
from pcrs.errors import NoGroundPointsWarning, ParameterError
from pcrs.points import PointCloud


def _plane(x, y):
    return 0.12 * (x - 700_000) - 0.07 * (y - 6_600_000) + 150.0


def test_tin_is_exact_on_a_plane_in_lambert93_coordinates():
    rng = np.random.default_rng(0)
    gx = 700_000 + rng.random(4000) * 200
    gy = 6_600_000 + rng.random(4000) * 200
    qx = 700_000 + 10 + rng.random(5000) * 180
    qy = 6_600_000 + 10 + rng.random(5000) * 180
    got = ground_elevation(gx, gy, _plane(gx, gy), qx, qy, method="tin")
    assert np.abs(got - _plane(qx, qy)).max() < 1e-6


def test_tin_matches_scipy_linear_interpolation():
    from scipy.interpolate import LinearNDInterpolator

    rng = np.random.default_rng(1)
    g = rng.random((500, 2)) * 50
    gz = np.sin(g[:, 0] / 7) * 3 + g[:, 1] * 0.1
    q = 5 + rng.random((800, 2)) * 40
    ours = ground_elevation(g[:, 0], g[:, 1], gz, q[:, 0], q[:, 1])
    ref = LinearNDInterpolator(g, gz)(q)
    ok = ~np.isnan(ref)
    assert ok.mean() > 0.99
    assert np.allclose(ours[ok], ref[ok], atol=1e-9)


def test_outside_the_hull_takes_the_nearest_ground():
    gx = np.array([0.0, 1.0, 0.0, 1.0])
    gy = np.array([0.0, 0.0, 1.0, 1.0])
    gz = np.array([1.0, 2.0, 3.0, 4.0])
    got = ground_elevation(gx, gy, gz, np.array([5.0, -3.0]), np.array([5.0, -3.0]))
    assert got.tolist() == [4.0, 1.0]


def test_nn_and_idw():
    gx = np.array([0.0, 10.0])
    gy = np.array([0.0, 0.0])
    gz = np.array([0.0, 10.0])
    q = np.array([2.0])
    assert ground_elevation(gx, gy, gz, q, np.zeros(1), method="nn")[0] == 0.0
    idw = ground_elevation(gx, gy, gz, q, np.zeros(1), method="nn", count=2)[0]
    assert 0.0 < idw < 5.0


def test_hag_on_the_synthetic_scene():
    scene = synth.make_scene(30_000, seed=2)
    c = scene.cloud
    hag = height_above_ground(c)  # class 2 = ground truth here
    true_hag = c.z - scene.ground_z(c.x, c.y)
    veg = c["classification"] == 5
    assert np.median(np.abs(hag[veg] - true_hag[veg])) < 0.1
    assert np.abs(np.median(hag[c["classification"] == 2])) < 0.01
    nn = height_above_ground(c, method="nn")
    assert np.median(np.abs(nn[veg] - true_hag[veg])) < 0.3


def test_normalize_keeps_the_original_z():
    scene = synth.make_scene(5_000, seed=3)
    out = normalize(scene.cloud)
    assert np.array_equal(out["z_original"], scene.cloud.z)
    assert np.allclose(out.z, height_above_ground(scene.cloud))
    assert "z_original" not in normalize(scene.cloud, keep_z=None).attributes


def test_no_ground_warns_and_gives_nan():
    c = PointCloud(
        np.arange(5.0), np.arange(5.0), np.ones(5), {"classification": np.ones(5, np.uint8)}
    )
    with pytest.warns(NoGroundPointsWarning):
        hag = height_above_ground(c)
    assert np.isnan(hag).all()


def test_bad_height_parameters():
    x = np.arange(5.0)
    with pytest.raises(ParameterError, match="unknown height method"):
        ground_elevation(x, x, x, x, x, method="kriging")
    with pytest.raises(ParameterError, match="count"):
        ground_elevation(x, x, x, x, x, count=0)
    c = PointCloud(x, x, x)
    with pytest.raises(ParameterError, match="no classification"):
        height_above_ground(c)
