"""Per-cell reducers against a plain per-pixel numpy computation."""

from __future__ import annotations

import numpy as np
import pytest

from pcrs.errors import ParameterError
from pcrs.raster.binning import REDUCERS, bin_points, cell_extreme_index
from pcrs.raster.grid import RasterGrid

GRID = RasterGrid(0.0, 10.0, 1.0, 10, 10)


@pytest.fixture(scope="module")
def points():
    rng = np.random.default_rng(3)
    n = 3000
    x = rng.uniform(0, 8, n)  # columns 8-9 stay empty
    y = rng.uniform(0, 10, n)
    v = rng.normal(100, 5, n)
    c = rng.integers(1, 6, n)
    return x, y, v, c


def _per_pixel(x, y, v, func):
    out = np.full(GRID.shape, np.nan)
    rows, cols, inside = GRID.cell_of(x, y)
    for r in range(GRID.height):  # test oracle: loops are fine here
        for col in range(GRID.width):
            m = inside & (rows == r) & (cols == col)
            if m.any():
                out[r, col] = func(v[m])
    return out


@pytest.mark.parametrize(
    "name, oracle, params",
    [
        ("min", np.min, {}),
        ("max", np.max, {}),
        ("mean", np.mean, {}),
        ("sum", np.sum, {}),
        ("std", np.std, {}),
        ("percentile", lambda a: np.percentile(a, 90), {"q": 90}),
        ("percentile", np.median, {"q": 50}),
    ],
)
def test_reducers_match_numpy(points, name, oracle, params):
    x, y, v, _ = points
    got = bin_points(GRID, x, y, v, name, **params)
    np.testing.assert_allclose(got, _per_pixel(x, y, v, oracle), rtol=1e-12, atol=1e-9)
    assert np.isnan(got[:, 8:]).all()


def test_count_and_majority(points):
    x, y, _, c = points
    count = bin_points(GRID, x, y, None, "count")
    assert count.sum() == len(x) and (count[:, 8:] == 0).all()

    def majority(a):
        vals, n = np.unique(a, return_counts=True)
        return vals[np.argmax(n)]  # first maximum = smallest value on ties

    np.testing.assert_array_equal(
        bin_points(GRID, x, y, c, "majority"), _per_pixel(x, y, c, majority)
    )


def test_registry_and_errors(points):
    x, y, v, _ = points
    assert {"min", "max", "mean", "count", "percentile", "majority"} <= set(REDUCERS)
    with pytest.raises(ParameterError, match="unknown reducer 'median'"):
        bin_points(GRID, x, y, v, "median")
    with pytest.raises(ParameterError, match=r"\[0, 100\]"):
        bin_points(GRID, x, y, v, "percentile", q=120)


def test_points_outside_are_ignored_and_empty_input():
    x = np.array([-1.0, 5.5, 11.0])
    y = np.array([5.0, 5.5, 5.0])
    out = bin_points(GRID, x, y, np.array([1.0, 2.0, 3.0]), "max")
    assert np.nansum(out) == 2.0 and np.isfinite(out).sum() == 1
    empty = bin_points(GRID, np.empty(0), np.empty(0), np.empty(0), "min")
    assert np.isnan(empty).all()


def test_cell_extreme_index_is_order_independent(points):
    x, y, v, _ = points
    v = np.round(v)  # many ties
    idx = cell_extreme_index(GRID, x, y, v, "max")
    top = bin_points(GRID, x, y, v, "max")
    r, c, _ = GRID.cell_of(x[idx], y[idx])
    np.testing.assert_array_equal(v[idx], top[r, c])
    perm = np.random.default_rng(1).permutation(len(x))
    idx2 = cell_extreme_index(GRID, x[perm], y[perm], v[perm], "max")
    assert sorted(perm[idx2].tolist()) == sorted(idx.tolist())


def test_cell_extreme_index_kernel_equals_the_numpy_path(monkeypatch):
    """The compiled single pass picks the same point per pixel as the lexsort, ties included."""
    from pcrs.raster import binning

    if not binning.have_kernels():
        pytest.skip("numba is not usable here: only the numpy path runs")
    rng = np.random.default_rng(3)
    n = 200_000
    x = np.round(rng.uniform(0, 50, n), 1)  # coarse values: many ties of z and of position
    y = np.round(rng.uniform(0, 50, n), 1)
    z = np.round(rng.uniform(0, 3, n), 0)
    z[::97] = np.nan
    grid = RasterGrid.from_bounds(0, 0, 50, 50, 1.0)
    compiled = [binning.cell_extreme_index(grid, x, y, z, w) for w in ("max", "min")]
    monkeypatch.setattr(binning, "have_kernels", lambda: False)
    plain = [binning.cell_extreme_index(grid, x, y, z, w) for w in ("max", "min")]
    for a, b in zip(compiled, plain, strict=True):
        assert np.array_equal(a, b)
