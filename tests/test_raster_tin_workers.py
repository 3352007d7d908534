"""The TIN computed by a pool of processes gives the one-process values."""

from __future__ import annotations

import numpy as np
import pytest

from pcrs.errors import ParameterError
from pcrs.raster import interpolate
from pcrs.raster.grid import RasterGrid


def test_two_processes_give_the_same_dtm(monkeypatch) -> None:
    rng = np.random.default_rng(4)
    n = 40_000
    x = rng.uniform(0, 120, n) + 842_000
    y = rng.uniform(0, 120, n) + 6_518_000
    z = 200 + 0.05 * (x - 842_000) + np.sin((y - 6_518_000) / 9) + rng.normal(0, 0.01, n)
    grid = RasterGrid.from_bounds(x.min(), y.min(), x.max(), y.max(), 0.5)
    one = interpolate.tin(x, y, z, grid)
    monkeypatch.setattr(interpolate, "_PARALLEL_MIN_POINTS", 1000)
    two = interpolate.tin(x, y, z, grid, workers=2)
    assert np.array_equal(np.isnan(one), np.isnan(two))
    # random coordinates: no co-circular points, so the triangles are the same
    np.testing.assert_allclose(two, one, atol=1e-9)


def test_workers_checked() -> None:
    grid = RasterGrid.from_bounds(0, 0, 10, 10, 1.0)
    with pytest.raises(ParameterError, match="workers"):
        interpolate.tin(np.arange(3.0), np.arange(3.0), np.arange(3.0), grid, workers=0)
