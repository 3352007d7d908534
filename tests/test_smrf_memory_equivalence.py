"""SMRF reads the points block by block: the same masks bit for bit as the direct path.

The direct path (kept here as the reference) holds every point's cell indices, samples
the provisional DTM and its slope at all the points at once, and, under
``classify_ground``, copies the candidates' coordinates. The block path holds none of
those per-point arrays; its masks must not differ by a single point, on one block or
many, with and without candidates, and the grid helpers that PMF and CSF share must
give the same values.
"""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
from scipy import ndimage

from pcrs import synth
from pcrs.classify import ground as G


def _direct_cells(x, y, cell):
    x0 = math.floor(float(x.min()) / cell) * cell
    y0 = math.floor(float(y.min()) / cell) * cell
    ix = np.clip(np.floor((x - x0) / cell).astype(np.int64), 0, None)
    iy = np.clip(np.floor((y - y0) / cell).astype(np.int64), 0, None)
    return x0, y0, ix, iy


def _direct_smrf(x, y, z, cell=1.0, slope=0.15, window=18.0, threshold=0.5, scalar=1.25):
    """SMRF as written before the block path: every per-point array at once."""
    x0, y0, ix, iy = _direct_cells(x, y, cell)
    nx, ny = int(ix.max()) + 1, int(iy.max()) + 1
    origin = (round(y0 / cell), round(x0 / cell))
    zmin = np.full(ny * nx, np.inf)
    np.minimum.at(zmin, iy * nx + ix, z)
    zmin[np.isinf(zmin)] = np.nan
    filled = G._inpaint(zmin.reshape(ny, nx), origin)
    for _ in range(2):
        low = G._low_outlier_cells(filled, cell)
        if not low.any() or low.all():
            break
        filled = G._inpaint(np.where(low, np.nan, filled), origin)
    radii = range(1, max(1, math.ceil(window / cell)) + 1)
    objects = G._progressive_objects(filled, cell, slope, radii)
    if objects.all():
        objects[:] = False
    provisional = G._inpaint(np.where(objects, np.nan, filled), origin)
    fx = (x - x0) / cell - 0.5
    fy = (y - y0) / cell - 0.5
    kw = {"order": 1, "mode": "nearest", "prefilter": False}
    zpro = ndimage.map_coordinates(provisional, [fy, fx], **kw)
    gpt = ndimage.map_coordinates(np.hypot(*np.gradient(provisional, cell)), [fy, fx], **kw)
    return np.abs(z - zpro) <= threshold + scalar * gpt


@pytest.fixture(scope="module")
def scene():
    return synth.make_scene(60_000, seed=5)


@pytest.fixture(params=[1 << 18, 4096, 1000], ids=["one-block", "blocks-4096", "blocks-1000"])
def block(request, monkeypatch):
    monkeypatch.setattr(G, "_BLOCK", request.param)
    return request.param


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"cell": 0.7, "slope": 0.3, "window": 9.0},
        {"cell": 2.0, "threshold": 0.2, "scalar": 0.0},
    ],
)
def test_smrf_same_mask_as_direct_path(scene, block, params):
    c = scene.cloud
    ours = G.smrf(c.x, c.y, c.z, **params)
    ref = _direct_smrf(c.x, c.y, c.z, **params)
    assert ours.dtype == bool and ours.shape == ref.shape
    np.testing.assert_array_equal(ours, ref)


def test_classify_ground_candidates_same_mask_as_copies(scene, block):
    c = scene.cloud
    rng = np.random.default_rng(0)
    candidates = rng.random(len(c)) > 0.3
    candidates[: len(c) // 3] &= c.x[: len(c) // 3] > np.median(c.x)  # a skewed extent too
    ours = G.classify_ground(c, method="smrf", candidates=candidates, returns="all")
    keep = candidates & np.isfinite(c.x)
    sel = np.flatnonzero(keep)
    ref = np.zeros(len(c), bool)
    ref[sel] = _direct_smrf(c.x[sel].copy(), c.y[sel].copy(), c.z[sel].copy())
    np.testing.assert_array_equal(ours, ref)
    assert not ours[~candidates].any()


def test_classify_ground_last_returns_and_non_finite(scene, block):
    c = scene.cloud
    x = c.x.copy()
    x[::101] = np.nan
    ours = G.classify_ground(x, c.y, c.z, method="smrf", window=12.0)
    keep = np.isfinite(x)
    ref = np.zeros(len(c), bool)
    ref[keep] = _direct_smrf(x[keep], c.y[keep], c.z[keep], window=12.0)
    np.testing.assert_array_equal(ours, ref)
    # a PointCloud with returns goes through the same path as before (last returns only)
    last = G._last_returns(c)
    assert last is not None and 0 < last.sum() < len(c)
    ref = np.zeros(len(c), bool)
    ref[last] = _direct_smrf(c.x[last], c.y[last], c.z[last])
    np.testing.assert_array_equal(G.classify_ground(c, method="smrf"), ref)


def test_smrf_finds_the_scene_ground(scene):
    c = scene.cloud
    g = G.classify_ground(c, method="smrf")
    truth = c.classification
    assert g[truth == 2].mean() > 0.9
    assert g[(truth == 5) | (truth == 6)].mean() < 0.05


def test_shared_grid_helpers_unchanged(scene, block):
    c = scene.cloud
    x0, y0, ix, iy = _direct_cells(c.x, c.y, 1.5)
    grid = G._Grid.for_points(c.x, c.y, 1.5)
    assert (grid.x0, grid.y0, grid.nx, grid.ny) == (x0, y0, int(ix.max()) + 1, int(iy.max()) + 1)
    np.testing.assert_array_equal(grid.flat, iy * grid.nx + ix)
    surface = np.random.default_rng(1).random(grid.shape)
    fx = (c.x - x0) / 1.5 - 0.5
    fy = (c.y - y0) / 1.5 - 0.5
    ref = ndimage.map_coordinates(surface, [fy, fx], order=1, mode="nearest", prefilter=False)
    np.testing.assert_array_equal(grid.sample(surface, c.x, c.y), ref)
    assert grid.sample(surface.astype(np.float32), c.x, c.y).dtype == np.float32


def _traced_peak(f, *args):
    tracemalloc.start()
    try:
        f(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_smrf_holds_no_per_point_float_arrays(monkeypatch):
    """Traced numpy memory of SMRF on 360 k points in blocks of 4096: the mask and grids."""
    monkeypatch.setattr(G, "_BLOCK", 4096)
    c = synth.make_scene(400_000, seed=6).cloud
    x, y, z = c.x, c.y, c.z
    cells = (np.ptp(x) + 2) * (np.ptp(y) + 2)
    peak = _traced_peak(G.smrf, x, y, z)
    # the mask (1 byte a point), one block of temporaries, a few grids of the area
    assert peak < 2 * len(x) + 60 * cells, peak
    # the direct path holds about 8 float64 per point (24 MB here, 1.8 MB for the blocks)
    assert peak < _traced_peak(_direct_smrf, x, y, z) / 4
