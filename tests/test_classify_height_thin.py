"""Height above ground from a thinned TIN: close to the full TIN, independent of point order."""

from __future__ import annotations

import numpy as np

from pcrs import synth
from pcrs.classify.height import ground_elevation, height_above_ground, thin_ground


def test_thin_ground_picks_the_same_points_in_any_order() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 50, 20_000), rng.uniform(0, 50, 20_000)
    z = np.round(rng.normal(100, 0.05, x.size), 2)  # many ties in z
    perm = rng.permutation(x.size)
    a = thin_ground(x, y, z, 1.0)
    b = perm[thin_ground(x[perm], y[perm], z[perm], 1.0)]
    assert set(a.tolist()) == set(b.tolist())
    assert a.size <= 2500


def test_thinned_tin_close_to_full_tin() -> None:
    scene = synth.make_scene(80_000, seed=9)
    c = scene.cloud
    g = c["classification"] == 2
    full = ground_elevation(c.x[g], c.y[g], c.z[g], c.x[~g], c.y[~g])
    thin = ground_elevation(c.x[g], c.y[g], c.z[g], c.x[~g], c.y[~g], thin=1.0)
    d = thin - full
    assert np.sqrt(np.mean(d**2)) < 0.05
    hag = height_above_ground(c, g, thin=1.0)
    assert np.all(hag[g] == 0)
    np.testing.assert_allclose(hag[~g], c.z[~g] - thin)
