"""Interpolators: TIN exact on planes and equal to scipy's TIN-linear, IDW, nearest, holes."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.interpolate import LinearNDInterpolator

from pcrs.errors import ParameterError
from pcrs.raster.grid import RasterGrid
from pcrs.raster.interpolate import (
    INTERPOLATORS,
    fill_holes,
    idw,
    nearest,
    rasterize_triangles,
    sample_bilinear,
    spatial_order,
    tin,
    triangulate,
)

X0, Y0 = 842_000.0, 6_518_000.0  # Lambert-93: large coordinates on purpose


def _cloud(n=4000, size=60.0, seed=0):
    rng = np.random.default_rng(seed)
    x = X0 + np.round(rng.uniform(0, size, n), 2)
    y = Y0 + np.round(rng.uniform(0, size, n), 2)
    return x, y


def _centres(grid):
    return np.meshgrid(grid.column_centers(), grid.row_centers())


def test_tin_is_exact_on_a_plane():
    x, y = _cloud()
    z = 0.03 * (x - X0) - 0.02 * (y - Y0) + 250.0
    grid = RasterGrid.from_bounds(X0, Y0, X0 + 60, Y0 + 60, 0.5)
    out = tin(x, y, z, grid)
    gx, gy = _centres(grid)
    truth = 0.03 * (gx - X0) - 0.02 * (gy - Y0) + 250.0
    inside = np.isfinite(out)
    assert inside.mean() > 0.95  # only the pixels outside the convex hull are empty
    np.testing.assert_allclose(out[inside], truth[inside], atol=1e-9)


def test_tin_equals_scipy_linear_nd_interpolator():
    # unrounded random coordinates: no four points are co-circular, so the Delaunay
    # triangulation is unique and any correct TIN-linear gives the same values
    rng = np.random.default_rng(1)
    x = X0 + rng.uniform(0, 60, 4000)
    y = Y0 + rng.uniform(0, 60, 4000)
    z = rng.normal(200, 1, len(x))  # a rough surface: any wrong triangle shows
    grid = RasterGrid.from_bounds(X0, Y0, X0 + 60, Y0 + 60, 0.5)
    ours = tin(x, y, z, grid)
    gx, gy = _centres(grid)
    ref = LinearNDInterpolator(np.column_stack([x - X0, y - Y0]), z)(gx - X0, gy - Y0)
    assert (np.isnan(ours) == np.isnan(ref)).mean() > 0.999  # hull-edge rounding only
    both = np.isfinite(ours) & np.isfinite(ref)
    np.testing.assert_allclose(ours[both], ref[both], atol=1e-8)


def test_max_edge_leaves_long_triangles_empty():
    x, y = _cloud(n=6000)
    keep = ~((x - X0 > 20) & (x - X0 < 40) & (y - Y0 > 20) & (y - Y0 < 40))  # a 20 m hole
    x, y = x[keep], y[keep]
    z = np.full(len(x), 10.0)
    grid = RasterGrid.from_bounds(X0, Y0, X0 + 60, Y0 + 60, 1.0)
    full = tin(x, y, z, grid)
    holed = tin(x, y, z, grid, max_edge=5.0)
    centre = (slice(25, 35), slice(25, 35))
    assert np.isfinite(full[centre]).all()
    assert np.isnan(holed[centre]).all()
    assert np.isfinite(holed[5:15, 5:15]).all()


def test_duplicates_keep_lowest_or_highest():
    x = np.array([0.0, 10.0, 0.0, 10.0, 5.0, 5.0])
    y = np.array([0.0, 0.0, 10.0, 10.0, 5.0, 5.0])
    z = np.array([0.0, 0.0, 0.0, 0.0, 1.0, 3.0])
    grid = RasterGrid(0.0, 10.0, 0.5, 20, 20)  # pixel (9, 9) is centred on (4.75, 5.25)
    lo = tin(x, y, z, grid, duplicates="min")
    hi = tin(x, y, z, grid, duplicates="max")
    assert lo.max() < 1.0 + 1e-9 and hi.max() > 2.5
    with pytest.raises(ParameterError, match="duplicates"):
        triangulate(x, y, z, duplicates="mean")


def test_degenerate_inputs_give_no_triangle():
    grid = RasterGrid(0.0, 10.0, 1.0, 10, 10)
    assert np.isnan(tin(np.arange(5.0), np.arange(5.0), np.ones(5), grid)).all()  # collinear
    assert np.isnan(tin(np.array([1.0, 2.0]), np.array([1.0, 2.0]), np.ones(2), grid)).all()
    assert triangulate(np.empty(0), np.empty(0)).shape == (0, 3)


def test_rasterize_triangles_chunks_give_the_same_result(monkeypatch):
    from pcrs.raster import interpolate as mod

    x, y = _cloud(n=3000, seed=4)
    z = np.sin(x) + np.cos(y)
    grid = RasterGrid.from_bounds(X0, Y0, X0 + 60, Y0 + 60, 0.25)
    tri = triangulate(x, y, z)
    u, v = grid.to_pixel(x, y)
    one = rasterize_triangles(u, v, z, tri, grid.shape)
    monkeypatch.setattr(mod, "_CHUNK_CANDIDATES", 997)
    many = rasterize_triangles(u, v, z, tri, grid.shape)
    np.testing.assert_array_equal(one, many)


def test_spatial_order_is_a_permutation():
    x, y = _cloud(n=500)
    o = spatial_order(x, y)
    assert sorted(o.tolist()) == list(range(500))


def test_idw_and_nearest():
    x, y = _cloud(n=3000, seed=5)
    z = 0.5 * (x - X0) + 100.0
    grid = RasterGrid.from_bounds(X0, Y0, X0 + 60, Y0 + 60, 1.0)
    gx, _ = _centres(grid)
    truth = 0.5 * (gx - X0) + 100.0
    a = idw(x, y, z, grid, k=8, power=2.0)
    b = nearest(x, y, z, grid)
    assert np.isfinite(a).all() and np.isfinite(b).all()
    # on a plane of slope 0.5 a value taken from points within d metres is within 0.5 d
    from scipy.spatial import cKDTree

    gx_, gy_ = _centres(grid)
    d, _ = cKDTree(np.column_stack([x, y])).query(np.column_stack([gx_.ravel(), gy_.ravel()]), k=8)
    assert (np.abs(b - truth).ravel() <= 0.5 * d[:, 0] + 1e-9).all()
    assert (np.abs(a - truth).ravel() <= 0.5 * d[:, 7] + 1e-9).all()
    assert np.abs(a - truth).mean() < np.abs(b - truth).mean()  # averaging helps on a plane
    # a pixel centre on a point takes its value
    px = np.array([X0 + 10.5])
    py = np.array([Y0 + 59.5])
    one = idw(np.r_[x, px], np.r_[y, py], np.r_[z, 999.0], grid)
    assert one[0, 10] == 999.0
    # radius: far from every point -> NaN
    far = idw(np.array([X0 + 0.5]), np.array([Y0 + 0.5]), np.array([1.0]), grid, radius=3.0)
    assert np.isfinite(far).sum() == np.sum(
        np.hypot(gx - X0 - 0.5, _centres(grid)[1] - Y0 - 0.5) <= 3.0
    )
    with pytest.raises(ParameterError):
        idw(x, y, z, grid, k=0)
    assert set(INTERPOLATORS) == {"tin", "idw", "nearest"}


def test_fill_holes_small_only_and_not_on_border():
    a = np.ones((20, 20))
    a[5, 5] = np.nan  # 1-pixel hole
    a[10:16, 10:16] = np.nan  # 36-pixel hole
    a[0, 0:3] = np.nan  # open to the border
    out = fill_holes(a, max_pixels=4)
    assert out[5, 5] == 1.0
    assert np.isnan(out[10:16, 10:16]).all()
    assert np.isnan(out[0, 0:3]).all()
    assert np.isnan(a[5, 5])  # input untouched
    assert np.isfinite(fill_holes(a, max_pixels=100)[10:16, 10:16]).all()


def test_sample_bilinear_on_a_plane():
    grid = RasterGrid(0.0, 10.0, 1.0, 10, 10)
    gx, gy = _centres(grid)
    dem = 2 * gx + 3 * gy
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0.5, 9.5, 200), rng.uniform(0.5, 9.5, 200)
    np.testing.assert_allclose(sample_bilinear(dem, grid, x, y), 2 * x + 3 * y, atol=1e-9)
    assert np.isnan(sample_bilinear(dem, grid, np.array([11.0]), np.array([5.0])))[0]


def test_blocked_tin_equals_one_triangulation():
    """Blocks + margins give the triangles of one triangulation (circumcircle certificate)."""
    rng = np.random.default_rng(7)
    n = 15_000
    x = X0 + rng.uniform(0, 120, n)
    y = Y0 + rng.uniform(0, 90, n)
    hole = np.hypot(x - X0 - 60, y - Y0 - 45) < 15  # a 30 m gap: margins must grow
    x, y = x[~hole], y[~hole]
    z = np.sin((x - X0) / 7) + rng.normal(0, 0.2, len(x))
    grid = RasterGrid.from_bounds(X0, Y0, X0 + 120, Y0 + 90, 0.5)
    one = tin(x, y, z, grid)
    blocked = tin(x, y, z, grid, block_points=3_000)
    np.testing.assert_array_equal(np.isnan(one), np.isnan(blocked))
    np.testing.assert_allclose(blocked, one, atol=1e-8, equal_nan=True)
    assert np.isfinite(one[80:100, 110:130]).all()  # the gap is bridged
    # max_edge applies the same way
    a = tin(x, y, z, grid, max_edge=5.0)
    b = tin(x, y, z, grid, max_edge=5.0, block_points=3_000)
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    assert np.isnan(a[80:100, 110:130]).all()
