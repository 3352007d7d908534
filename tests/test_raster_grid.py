"""Raster grids: edges on multiples of the resolution, half-open cells, alignment of tiles."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pcrs.errors import ParameterError
from pcrs.raster.grid import RasterGrid


def test_from_bounds_snaps_outwards():
    g = RasterGrid.from_bounds(770500.2, 6277500.1, 770549.9, 6277549.6, 0.5)
    assert (g.xmin, g.ymin, g.xmax, g.ymax) == (770500.0, 6277500.0, 770550.0, 6277550.0)
    assert g.shape == (100, 100)
    assert g.transform.a == 0.5 and g.transform.e == -0.5


def test_tile_bounds_give_exactly_the_tile():
    g = RasterGrid.from_bounds(842000, 6518000, 843000, 6519000, 0.5)
    assert g.bounds == (842000.0, 6518000.0, 843000.0, 6519000.0)
    assert g.shape == (2000, 2000)


@settings(max_examples=200, deadline=None)
@given(
    x=st.floats(-1e6, 1e6),
    y=st.floats(-1e7, 1e7),
    w=st.floats(0, 500),
    h=st.floats(0, 500),
    res=st.sampled_from([0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 0.3]),
)
def test_grid_covers_bounds_and_is_aligned(x, y, w, h, res):
    g = RasterGrid.from_bounds(x, y, x + w, y + h, res)
    tol = 1e-6 * max(1.0, abs(x), abs(y))
    assert g.xmin <= x + tol and g.ymin <= y + tol
    assert g.xmax >= x + w - tol and g.ymax >= y + h - tol
    assert g.is_aligned()
    # never more than one pixel of margin on each side
    assert g.width <= math.ceil(w / res) + 2 and g.height <= math.ceil(h / res) + 2


def test_cells_are_half_open_and_closed_option():
    g = RasterGrid(0.0, 2.0, 1.0, 2, 2)
    x = np.array([0.0, 1.0, 2.0, 0.5, 0.5])
    y = np.array([2.0, 1.0, 0.5, 0.0, 1.5])
    rows, cols, inside = g.cell_of(x, y)
    # x = 2 (east edge) and y = 0 (south edge) are outside unless closed
    assert inside.tolist() == [True, True, False, False, True]
    assert (rows[inside].tolist(), cols[inside].tolist()) == ([0, 1, 0], [0, 1, 0])
    rows, cols, inside = g.cell_of(x, y, closed=True)
    assert inside.all()
    assert (rows[2], cols[2], rows[3], cols[3]) == (1, 1, 1, 0)


def test_adjacent_tiles_share_edges_and_union():
    a = RasterGrid.from_bounds(0, 0, 50, 50, 0.5)
    b = RasterGrid.from_bounds(50, 0, 100, 50, 0.5)
    u = a.union(b)
    assert u.shape == (100, 200)
    assert a.offset_in(u) == (0, 0) and b.offset_in(u) == (0, 100)
    # any point belongs to one pixel of one tile
    x = np.random.default_rng(0).uniform(0, 100, 1000)
    x[:10] = 50.0
    y = np.full(1000, 25.0)
    n = a.cell_of(x, y)[2].astype(int) + b.cell_of(x, y)[2].astype(int)
    assert (n[x < 100] == 1).all()


def test_misaligned_grids_are_refused():
    a = RasterGrid(0.0, 10.0, 1.0, 10, 10)
    with pytest.raises(ParameterError, match="not aligned"):
        RasterGrid(0.25, 10.0, 1.0, 10, 10).offset_in(a)
    with pytest.raises(ParameterError, match="different resolutions"):
        RasterGrid(0.0, 10.0, 0.5, 10, 10).offset_in(a)


@pytest.mark.parametrize("res", [0, -1, float("nan"), float("inf")])
def test_bad_resolution(res):
    with pytest.raises(ParameterError, match="resolution"):
        RasterGrid.from_bounds(0, 0, 10, 10, res)


def test_bad_bounds():
    with pytest.raises(ParameterError, match="min > max"):
        RasterGrid.from_bounds(10, 0, 0, 10, 1.0)


def test_centres_and_pixel_coordinates():
    g = RasterGrid(100.0, 200.0, 0.5, 4, 2)
    assert g.column_centers().tolist() == [100.25, 100.75, 101.25, 101.75]
    assert g.row_centers().tolist() == [199.75, 199.25]
    u, v = g.to_pixel(g.column_centers(), np.full(4, 199.25))
    assert u.tolist() == [0, 1, 2, 3] and v.tolist() == [1, 1, 1, 1]
    b = g.buffered(2)
    assert b.offset_in(b) == (0, 0) and g.offset_in(b) == (2, 2)
