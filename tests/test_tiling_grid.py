"""Grid arithmetic (property-based with Hypothesis), the edge rule and IGN names."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pcrs.errors import ParameterError
from pcrs.tiling import TileGrid, ign_name, parse_ign_name
from pcrs.tiling.grid import EDGE_TOLERANCE

sizes = st.sampled_from([0.5, 1.0, 7.3, 25.0, 50.0, 100.0, 250.0, 333.0, 1000.0])
coords = st.floats(min_value=-1e6, max_value=1e7, allow_nan=False, allow_infinity=False)
origins = st.tuples(
    st.floats(min_value=-5e3, max_value=5e3, allow_nan=False),
    st.floats(min_value=-5e3, max_value=5e3, allow_nan=False),
)


@settings(max_examples=120, deadline=None)
@given(size=sizes, origin=origins, x=coords, y=coords)
def test_every_point_is_inside_the_closed_bounds_of_its_one_tile(size, origin, x, y):
    grid = TileGrid(size, origin)
    col, row = grid.index([x], [y])
    xmin, ymin, xmax, ymax = grid.tile_bounds(int(col[0]), int(row[0]))
    tol = EDGE_TOLERANCE * 2 + 1e-9 * max(abs(x), abs(y))
    assert xmin - tol <= x <= xmax + tol
    assert ymin - tol <= y <= ymax + tol
    # left/bottom edges are open: no point lies on the left or bottom edge of its own tile
    assert abs(x - xmin) > EDGE_TOLERANCE / 2
    assert abs(y - ymin) > EDGE_TOLERANCE / 2


@settings(max_examples=120, deadline=None)
@given(size=sizes, origin=origins, k=st.integers(-2000, 2000), j=st.integers(-2000, 2000))
def test_points_on_shared_edges_go_left_and_down(size, origin, k, j):
    grid = TileGrid(size, origin)
    x = origin[0] + k * size
    y = origin[1] + j * size
    col, row = grid.index([x], [y])
    assert (int(col[0]), int(row[0])) == (k - 1, j - 1)
    # and an interior point of tile (k, j)
    col, row = grid.index([x + size / 2], [y + size / 2])
    assert (int(col[0]), int(row[0])) == (k, j)


@settings(max_examples=80, deadline=None)
@given(
    size=sizes,
    origin=origins,
    pts=st.lists(st.tuples(coords, coords), min_size=1, max_size=30),
)
def test_tiles_of_the_extent_cover_every_point_once(size, origin, pts):
    xy = np.array(pts)
    bounds = (xy[:, 0].min(), xy[:, 1].min(), xy[:, 0].max(), xy[:, 1].max())
    assume((bounds[2] - bounds[0]) / size < 300 and (bounds[3] - bounds[1]) / size < 300)
    grid = TileGrid.from_bounds(bounds, size, origin)
    col, row = grid.index(xy[:, 0], xy[:, 1])
    cols, rows = grid.index_ranges(bounds)
    assert np.all((col >= cols.start) & (col < cols.stop))
    assert np.all((row >= rows.start) & (row < rows.stop))
    names = {t.name for t in grid.tiles()}
    assert len(names) == len(cols) * len(rows)
    assert {grid.tile(c, r).name for c, r in zip(col, row, strict=True)} <= names


@settings(max_examples=80, deadline=None)
@given(k=st.integers(0, 1200), j=st.integers(6000, 7200), dx=st.floats(0.001, 999.999))
def test_ign_names_round_trip(k, j, dx):
    grid = TileGrid(1000, naming="ign")
    tile = grid.tile_at(k * 1000 + dx, j * 1000 + 500)
    assert tile.name == f"LHD_FXX_{k:04d}_{j + 1:04d}_PTS_C_LAMB93_IGN69.laz"
    assert parse_ign_name(tile.name) == tile.bounds
    assert grid.tile_from_name(tile.name) == tile


@settings(max_examples=100, deadline=None)
@given(size=sizes, origin=origins, c=st.integers(-500, 500), r=st.integers(-500, 500))
def test_xy_names_round_trip(size, origin, c, r):
    grid = TileGrid(size, origin, naming="xy", prefix="t")
    tile = grid.tile(c, r)
    assert grid.tile_from_name(tile.name) == tile


def test_outer_edge_of_the_data_is_kept_in_the_first_tile():
    grid = TileGrid.from_bounds((1000.0, 2000.0, 1050.0, 2050.0), 25)
    col, row = grid.index([1000.0, 1050.0, 1025.0], [2000.0, 2050.0, 2025.0])
    # left/bottom outer edge stays in tile 40/80, right/top edge is closed anyway
    assert col.tolist() == [40, 41, 40] and row.tolist() == [80, 81, 80]
    assert [t.name for t in grid.tiles()] == [
        "tile_1000_2000.laz",
        "tile_1025_2000.laz",
        "tile_1000_2025.laz",
        "tile_1025_2025.laz",
    ]
    # without an extent the same left-edge point opens the previous tile
    assert TileGrid(25).index([1000.0], [2000.0])[0].tolist() == [39]


def test_ign_tile_holds_its_right_and_top_edges():
    grid = TileGrid(1000, naming="ign")
    assert grid.tile_at(771000.0, 6278000.0).name == "LHD_FXX_0770_6278_PTS_C_LAMB93_IGN69.laz"
    assert grid.tile_at(771000.01, 6278000.0).name == "LHD_FXX_0771_6278_PTS_C_LAMB93_IGN69.laz"
    # a coordinate computed from LAS integers lands on the line within the tolerance
    assert grid.tile_at(77100000 * 0.01, 627800000 * 0.01).name.startswith("LHD_FXX_0770_6278")


def test_ign_name_variants_and_errors():
    assert parse_ign_name("some/dir/LHD_FXX_0186_6834_PTS_O_LAMB93_IGN69.copc.laz") == (
        186000.0,
        6833000.0,
        187000.0,
        6834000.0,
    )
    assert parse_ign_name("LHD_FXX_0877_6904_PTS_LAMB93_IGN69.copc.laz")[0] == 877000.0
    assert parse_ign_name("Semis_2021_0382_6565_LA93_IGN69.laz")[3] == 6565000.0
    with pytest.raises(ParameterError, match="not an IGN"):
        parse_ign_name("test_data_77050_627755_LA93_IGN69.laz")
    with pytest.raises(ParameterError, match="whole kilometres"):
        ign_name(770500, 6278000)
    with pytest.raises(ParameterError, match="1 km"):
        TileGrid(500, naming="ign")
    with pytest.raises(ParameterError, match="origin"):
        TileGrid(1000, origin=(10, 0), naming="ign")
    with pytest.raises(ParameterError, match="positive"):
        TileGrid(0)
    with pytest.raises(ParameterError, match="naming"):
        TileGrid(10, naming="lidr")
