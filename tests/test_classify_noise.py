"""Noise filters: statistical outliers and isolated voxels."""

from __future__ import annotations

import numpy as np
import pytest

from pcrs import synth
from pcrs.classify.noise import NOISE_FILTERS, classify_noise, isolated_voxels, statistical_outliers
from pcrs.errors import ParameterError


@pytest.fixture(scope="module")
def scene() -> synth.Scene:
    return synth.make_scene(60_000, seed=8, noise_fraction=0.004)


def test_ivf_flags_only_noise_on_the_synthetic_scene(scene):
    cloud = scene.cloud
    truth = cloud["classification"] == 65
    flagged = classify_noise(cloud, method="ivf")
    assert (flagged & truth).sum() / truth.sum() > 0.6
    assert (flagged & ~truth).sum() <= 0.01 * truth.sum()


def test_sor_flags_the_synthetic_noise(scene):
    cloud = scene.cloud
    truth = cloud["classification"] == 65
    flagged = classify_noise(cloud, method="sor", multiplier=3.0, batch_size=7_000)
    assert (flagged & truth).sum() / truth.sum() > 0.9
    assert (flagged & ~truth).sum() < 0.2 * truth.sum()


def test_sor_batches_do_not_change_the_result(scene):
    c = scene.cloud
    a = statistical_outliers(c.x, c.y, c.z, batch_size=5_000)
    b = statistical_outliers(c.x, c.y, c.z, batch_size=10**7)
    assert np.array_equal(a, b)


def test_ivf_counts_the_26_neighbours():
    # 6 points in one voxel: noise with n=6, not with n=5
    x = np.r_[np.full(6, 2.5), 100.0 + np.arange(200) % 10]
    y = np.r_[np.full(6, 2.5), 100.0 + np.arange(200) // 10 * 0.5]
    z = np.zeros_like(x)
    assert isolated_voxels(x, y, z, resolution=5, n=6)[:6].all()
    assert not isolated_voxels(x, y, z, resolution=5, n=5)[:6].any()
    # a point in the next voxel counts as a neighbour
    x2 = np.r_[x[:6], 7.5, x[6:]]
    y2 = np.r_[y[:6], 2.5, y[6:]]
    z2 = np.zeros_like(x2)
    assert not isolated_voxels(x2, y2, z2, resolution=5, n=6)[:7].any()


def test_ivf_voxels_sit_on_the_global_lattice():
    rng = np.random.default_rng(1)
    x, y, z = rng.random((3, 3000)) * 40
    full = isolated_voxels(x, y, z, resolution=3.0, n=4)
    # dropping far-away points must not move the voxels of the others
    part = x > 20
    assert np.array_equal(
        isolated_voxels(x[part], y[part], z[part], resolution=3.0, n=4)[x[part] > 26],
        full[part][x[part] > 26],
    )


@pytest.mark.parametrize(
    ("method", "params", "match"),
    [
        ("sor", {"k": 0}, "k must be a positive integer"),
        ("sor", {"multiplier": -1.0}, "multiplier"),
        ("ivf", {"resolution": 0}, "resolution"),
        ("ivf", {"n": -1}, "n must be"),
        ("lof", {}, "unknown noise filter"),
    ],
)
def test_bad_noise_parameters(method, params, match):
    x = np.arange(20.0)
    with pytest.raises(ParameterError, match=match):
        classify_noise(x, x, x, method=method, **params)


def test_registry_and_tiny_inputs():
    assert set(NOISE_FILTERS) == {"sor", "ivf", "low"}
    x = np.arange(3.0)
    assert not classify_noise(x, x, x, method="sor").any()
    assert not classify_noise(x, x, x, method="low").any()
    e = np.zeros(0)
    assert classify_noise(e, e, e, method="ivf").shape == (0,)
    assert classify_noise(e, e, e, method="low").shape == (0,)
