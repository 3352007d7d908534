"""Seamless DTM tiles: equal to the DTM of all points at once, whatever the spacing."""

from __future__ import annotations

import numpy as np
import pytest

from pcrs.errors import ParameterError, PcrsError
from pcrs.points import PointCloud
from pcrs.raster.grid import RasterGrid
from pcrs.raster.products import dtm
from pcrs.raster.seamless import (
    SeamlessLimitError,
    SeamlessWarning,
    seamless_dtm,
    terrain_hull,
)

X0, Y0 = 842_000.0, 6_518_000.0  # Lambert-93: large coordinates on purpose
SIZE, TILE, BUFFER = 600.0, 200.0, 15.0


def _terrain(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Smooth hills, 60 m of relief and a slope."""
    return 200.0 + 30.0 * np.sin(x / 90.0) * np.cos(y / 120.0) + 0.05 * x


def _lake(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """A 150 m-wide band without ground, slanting across the tile edge x = 200 m."""
    return np.abs(x - 205.0 - 0.3 * (y - 300.0)) < 75.0


def _cloud(x: np.ndarray, y: np.ndarray, z: np.ndarray, cls: np.ndarray) -> PointCloud:
    """Millimetre coordinates, as in a LAS file (random positions: no four on a circle)."""
    return PointCloud(
        X0 + np.round(x, 3), Y0 + np.round(y, 3), np.round(z, 3), {"classification": cls}
    )


def _sparse_scene(seed: int = 0) -> PointCloud:
    """600 m x 600 m, ground at 0.05-0.3 points/m², a lake, 30 % vegetation points."""
    rng = np.random.default_rng(seed)
    n = int(SIZE * SIZE * 0.3)
    x, y = rng.uniform(0, SIZE, n), rng.uniform(0, SIZE, n)
    density = 0.05 + 0.25 * (0.5 + 0.5 * np.sin(x / 70.0) * np.cos(y / 110.0))
    keep = (rng.random(n) < density / 0.3) & ~_lake(x, y)
    x, y = x[keep], y[keep]
    veg = rng.random(len(x)) < 0.3
    z = _terrain(x, y) + 12.0 * veg
    return _cloud(x, y, z, np.where(veg, 5, 2).astype(np.uint8))


def _reader(cloud: PointCloud):
    """``read(box)`` over an in-memory cloud, recording the boxes asked for."""
    boxes: list[tuple[float, float, float, float]] = []

    def read(box):
        boxes.append(box)
        return cloud[cloud.in_box(*box)]

    return read, boxes


def _extent(cloud: PointCloud) -> tuple[float, float, float, float]:
    x0, y0, _, x1, y1, _ = cloud.bounds
    return (x0, y0, x1, y1)


def _tiles():
    n = int(SIZE // TILE)
    t = int(TILE)
    for i in range(n):
        for j in range(n):
            grid = RasterGrid(X0 + TILE * j, Y0 + SIZE - TILE * i, 1.0, t, t)
            yield (slice(t * i, t * i + t), slice(t * j, t * j + t)), grid


@pytest.fixture(scope="module")
def sparse():
    cloud = _sparse_scene()
    whole = RasterGrid(X0, Y0 + SIZE, 1.0, int(SIZE), int(SIZE))
    return cloud, whole, dtm(cloud, whole)


def _assert_same_dtm(tiled: np.ndarray, ref: np.ndarray) -> None:
    assert np.array_equal(np.isnan(tiled), np.isnan(ref)), "nodata in different places"
    assert np.nanmax(np.abs(tiled - ref)) <= 1e-3


@pytest.mark.parametrize("with_hull", [False, True], ids=["extent", "hull"])
def test_tiles_equal_the_whole_dtm_on_a_sparse_scene(sparse, with_hull):
    cloud, whole, ref = sparse
    hull = terrain_hull(cloud) if with_hull else None
    read, _ = _reader(cloud)
    out = np.full(whole.shape, np.nan)
    reads = []
    for where, grid in _tiles():
        values, facts = seamless_dtm(read, grid, buffer=BUFFER, extent=_extent(cloud), hull=hull)
        out[where] = values
        reads.append(facts["reads"])
        assert facts["unproven"] == 0
    _assert_same_dtm(out, ref)
    assert max(reads) > 1  # the first buffer was not enough somewhere
    assert np.isfinite(out).mean() > 0.99


def test_a_fixed_buffer_is_not_enough_on_the_sparse_scene(sparse):
    cloud, whole, ref = sparse
    out = np.full(whole.shape, np.nan)
    for where, g in _tiles():
        box = (g.xmin - BUFFER, g.ymin - BUFFER, g.xmax + BUFFER, g.ymax + BUFFER)
        out[where] = dtm(cloud[cloud.in_box(*box)], g)
    both = np.isfinite(out) & np.isfinite(ref)
    assert (np.isnan(out) != np.isnan(ref)).sum() > 1000
    assert np.abs(out[both] - ref[both]).max() > 0.5


def test_the_hull_spares_reads_at_the_data_edge(sparse):
    cloud, _, _ = sparse
    corner = RasterGrid(X0 + 400.0, Y0 + 200.0, 1.0, 200, 200)  # south-east, no lake
    read, _ = _reader(cloud)
    _, facts = seamless_dtm(read, corner, buffer=BUFFER, extent=_extent(cloud))
    _, with_hull = seamless_dtm(
        read, corner, buffer=BUFFER, extent=_extent(cloud), hull=terrain_hull(cloud)
    )
    assert with_hull["reads"] < facts["reads"]
    assert facts["whole"]  # without the hull, pixels at the data's edge ask for everything


def test_a_dense_tile_reads_once_and_gives_products_dtm_bit_for_bit():
    rng = np.random.default_rng(3)
    n = 60_000
    x, y = rng.uniform(0, 200, n), rng.uniform(0, 200, n)
    cls = np.where(rng.random(n) < 0.4, 5, 2).astype(np.uint8)
    cloud = _cloud(x, y, _terrain(x, y) + 8.0 * (cls == 5), cls)
    grid = RasterGrid(X0 + 50.0, Y0 + 150.0, 0.5, 200, 200)
    read, boxes = _reader(cloud)
    values, facts = seamless_dtm(read, grid, buffer=20.0, extent=_extent(cloud))
    assert facts["reads"] == 1 and facts["buffer"] == 20.0 and not facts["whole"]
    assert boxes == [(X0 + 30.0, Y0 + 30.0, X0 + 170.0, Y0 + 170.0)]
    assert facts["points"] == len(read(boxes[0]))
    assert np.array_equal(values, dtm(read(boxes[0]), grid))  # today's tile DTM
    assert np.isfinite(values).all()


def test_max_edge_is_proven_locally(sparse):
    cloud, whole, _ = sparse
    ref = dtm(cloud, whole, max_edge=30.0)
    read, _ = _reader(cloud)
    out = np.full(whole.shape, np.nan)
    reads = []
    for where, grid in _tiles():
        values, facts = seamless_dtm(read, grid, buffer=5.0, extent=_extent(cloud), max_edge=30.0)
        out[where] = values
        reads.append(facts["reads"])
        assert facts["buffer"] >= 30.0  # the first buffer is raised to max_edge
    _assert_same_dtm(out, ref)
    assert max(reads) <= 2


def test_a_tile_inside_the_lake_grows_until_both_shores_are_read(sparse):
    cloud, whole, ref = sparse
    grid = RasterGrid(X0 + 170.0, Y0 + 330.0, 1.0, 60, 60)
    read, _ = _reader(cloud)
    first = read((X0 + 160.0, Y0 + 260.0, X0 + 240.0, Y0 + 340.0))
    assert not (first.classification == 2).any()
    values, facts = seamless_dtm(read, grid, buffer=10.0, extent=_extent(cloud))
    r0, c0 = grid.offset_in(whole)
    _assert_same_dtm(values, ref[r0 : r0 + 60, c0 : c0 + 60])
    assert facts["reads"] > 1 and np.isfinite(values).all()


def test_at_the_bound_it_raises_or_masks_or_keeps(sparse):
    cloud, whole, ref = sparse
    grid = RasterGrid(X0 + 200.0, Y0 + 400.0, 1.0, 200, 200)  # the lake crosses its west edge
    r0, c0 = grid.offset_in(whole)
    ref = ref[r0 : r0 + 200, c0 : c0 + 200]
    read, _ = _reader(cloud)
    kw = {"buffer": BUFFER, "extent": _extent(cloud), "max_area": 240.0**2}
    with pytest.raises(SeamlessLimitError, match="not proven") as err:
        seamless_dtm(read, grid, **kw)
    assert isinstance(err.value, PcrsError)
    with pytest.warns(SeamlessWarning, match="left empty"):
        masked, facts = seamless_dtm(read, grid, on_limit="mask", **kw)
    assert facts["unproven"] > 0 and facts["reads"] == 1
    ok = np.isfinite(masked)
    assert np.nanmax(np.abs(masked[ok] - ref[ok])) <= 1e-3  # no wrong value, only holes
    with pytest.warns(SeamlessWarning, match="kept as computed"):
        kept, _ = seamless_dtm(read, grid, on_limit="keep", **kw)
    np.testing.assert_array_equal(kept[ok], masked[ok])
    assert np.isfinite(kept).sum() > ok.sum()
    with pytest.raises(SeamlessLimitError, match="after 1 reads"):
        seamless_dtm(read, grid, buffer=BUFFER, extent=_extent(cloud), max_reads=1)


def test_a_tile_beyond_the_data_is_empty_without_reading(sparse):
    cloud, _, _ = sparse
    read, boxes = _reader(cloud)
    grid = RasterGrid(X0 + 1000.0, Y0 + 200.0, 1.0, 100, 100)
    values, facts = seamless_dtm(read, grid, buffer=BUFFER, extent=_extent(cloud))
    assert np.isnan(values).all() and facts["reads"] == 0 and boxes == []


def test_terrain_hull_of_the_tiles_hulls_is_the_hull_of_all(sparse):
    cloud, _, _ = sparse
    parts = [
        terrain_hull(cloud[cloud.in_box(X0 + a, Y0 + b, X0 + a + 300.0, Y0 + b + 300.0)])
        for a in (0.0, 300.0)
        for b in (0.0, 300.0)
    ]
    merged = terrain_hull(parts)
    whole = terrain_hull(cloud)
    assert sorted(map(tuple, merged)) == sorted(map(tuple, whole))
    assert (cloud.classification[np.isin(cloud.x, whole[:, 0])] == 2).any()
    assert terrain_hull([np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]])]).tolist() == [
        [0.0, 0.0],
        [2.0, 2.0],
    ]


def test_bad_parameters_are_refused(sparse):
    cloud, _, _ = sparse
    read, _ = _reader(cloud)
    grid = RasterGrid(X0, Y0 + 200.0, 1.0, 200, 200)
    ext = _extent(cloud)
    with pytest.raises(ParameterError, match="TIN"):
        seamless_dtm(read, grid, buffer=BUFFER, extent=ext, method="idw")
    with pytest.raises(ParameterError, match="fill"):
        seamless_dtm(read, grid, buffer=BUFFER, extent=ext, fill=10)
    with pytest.raises(ParameterError, match="on_limit"):
        seamless_dtm(read, grid, buffer=BUFFER, extent=ext, on_limit="ignore")
    with pytest.raises(ParameterError, match="extent"):
        seamless_dtm(read, grid, buffer=BUFFER, extent=(1.0, 0.0, 0.0, 1.0))
    with pytest.raises(ParameterError, match="outside the extent"):
        seamless_dtm(
            read, grid, buffer=BUFFER, extent=(X0 + 10.0, Y0 + 10.0, X0 + 300.0, Y0 + 300.0)
        )


@pytest.mark.parametrize("shape", ["uniform", "lattice", "circle", "line"])
def test_terrain_hull_of_many_points_is_qhulls_hull(shape):
    """The throw-away of inner points before qhull keeps every vertex: the hull is the one
    qhull gives on all the distinct points, starting from the lowest x (then y)."""
    from scipy.spatial import ConvexHull, QhullError

    rng = np.random.default_rng(7)
    n = 50_000
    if shape == "uniform":
        xy = rng.uniform(0, 1000, (n, 2)) + np.array([842_000.0, 6_519_000.0])
    elif shape == "lattice":  # (duplicates and collinear runs along the border)
        xy = np.round(rng.uniform(0, 20, (n, 2)))
    elif shape == "circle":  # (every point is a vertex)
        t = rng.uniform(0, 2 * np.pi, n)
        xy = np.column_stack([np.cos(t), np.sin(t)]) * 500 + np.array([842_000.0, 6_519_000.0])
    else:
        xy = np.column_stack([np.arange(n) * 0.5, np.arange(n) * 0.25])
    got = terrain_hull([xy])
    distinct = np.unique(xy, axis=0)
    try:
        expected = distinct[ConvexHull(distinct - distinct.min(axis=0)).vertices]
    except QhullError:
        assert got.tolist() == distinct[[0, -1]].tolist()
        return
    assert sorted(map(tuple, got.tolist())) == sorted(map(tuple, expected.tolist()))
    assert tuple(got[0]) == min(map(tuple, got.tolist()))
    # counter-clockwise: positive area
    x, y = got[:, 0], got[:, 1]
    assert float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) > 0
