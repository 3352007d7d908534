"""The tile edge rule (issue 14, point 3): tiles are closed boxes, as IGN's are.

Re-tiling tiles on their own grid gives the same tiles back (same names, same
points, points on all four edges and corners included); strips and files of
another tiling follow the half-open rule; no tile is made of edge points only;
every point lands in exactly one tile, for the re-tiler and for the engine.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pcrs.cli.main import cli
from pcrs.io import las
from pcrs.io.crs import parse_crs
from pcrs.points import LasLayout, PointCloud
from pcrs.tiling import TileGrid
from pcrs.tiling.engine import BUFFER_DIM, identity, plan, run
from pcrs.tiling.grid import EDGE_TOLERANCE
from pcrs.tiling.retile import retile

SIZE = 50.0
#: corner of the synthetic block, on the 50 m grid (the real IGN test tiles' corner)
X0, Y0 = 770500.0, 6277500.0
C0, R0 = round(X0 / SIZE), round(Y0 / SIZE)
LAYOUT = LasLayout(point_format=6, scales=(0.01, 0.01, 0.01), offsets=(0.0, 0.0, 0.0))
LAMB93 = parse_crs("EPSG:2154")
IGN_SIX = "ign-pdal-tools/test_data_770*_LA93_IGN69.laz"


# --- synthetic closed-box tiles -----------------------------------------------------------


def _cloud(xi: np.ndarray, yi: np.ndarray, ident: int, rng: np.random.Generator) -> PointCloud:
    """Points at integer centimetres (scale 0.01, offset 0: what a LAS file decodes)."""
    n = xi.size
    cloud = PointCloud(
        xi * 0.01,
        yi * 0.01,
        rng.integers(2000, 4000, n) * 0.01,
        {
            "classification": rng.choice(np.array([1, 2, 3, 6], np.uint8), n),
            "gps_time": ident + np.arange(n, dtype=np.float64),
        },
        crs=LAMB93,
    )
    cloud.layout = LAYOUT
    return cloud


def _closed_tile(
    xmin: float, ymin: float, size: float, n: int, ident: int, rng: np.random.Generator
) -> PointCloud:
    """A closed-box tile: interior points, points exactly on each of its four edges and on
    its four corners."""
    cm = round(size * 100)
    x0, y0 = round(xmin * 100), round(ymin * 100)
    xi = rng.integers(1, cm, n)
    yi = rng.integers(1, cm, n)
    k = n // 10
    xi[:k] = 0  # west
    xi[k : 2 * k] = cm  # east
    yi[2 * k : 3 * k] = 0  # south
    yi[3 * k : 4 * k] = cm  # north
    xi[4 * k : 4 * k + 4] = [0, cm, 0, cm]  # corners
    yi[4 * k : 4 * k + 4] = [0, 0, cm, cm]
    return _cloud(x0 + xi, y0 + yi, ident, rng)


def _write_block(
    folder: Path, cells: list[tuple[int, int]], grid: TileGrid, seed: int = 0, n: int = 400
) -> dict[str, PointCloud]:
    """Closed tiles of ``grid`` at ``cells`` (offsets from the block corner), named as the
    grid names them; neighbours share some exactly duplicated points on their common edge."""
    rng = np.random.default_rng(seed)
    clouds = {}
    for i, (dc, dr) in enumerate(cells):
        tile = grid.tile(C0 + dc, R0 + dr)
        clouds[tile.name] = _closed_tile(
            tile.bounds[0], tile.bounds[1], grid.size, n, 100_000 * (i + 1), rng
        )
    # one point duplicated on each shared vertical edge (same X, Y, Z, GPS time)
    for name, cloud in list(clouds.items()):
        t = grid.tile_from_name(name)
        east = grid.tile(t.col + 1, t.row).name
        if east in clouds:
            dup = cloud[:1]
            dup.x = np.array([t.bounds[2]])
            clouds[name] = PointCloud.concatenate([cloud, dup])
            clouds[east] = PointCloud.concatenate([clouds[east], dup])
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, cloud in clouds.items():
        las.write(cloud, folder / name)
        out[name] = las.read(folder / name)
    return out


def _key(cloud: PointCloud) -> np.ndarray:
    """Rows (x, y, z, gps_time, classification), sorted: a multiset of points."""
    rows = np.column_stack([cloud.x, cloud.y, cloud.z, cloud["gps_time"], cloud["classification"]])
    return rows[np.lexsort(rows.T[::-1])]


def _read_dir(folder: Path) -> dict[str, PointCloud]:
    return {p.name: las.read(p) for p in sorted(folder.glob("*.laz"))}


def _interior(cloud: PointCloud, bounds: tuple[float, float, float, float]) -> int:
    """Points strictly inside the open box (farther than the tolerance from its edges)."""
    xmin, ymin, xmax, ymax = bounds
    t = EDGE_TOLERANCE
    return int(
        np.count_nonzero(
            (cloud.x > xmin + t)
            & (cloud.x < xmax - t)
            & (cloud.y > ymin + t)
            & (cloud.y < ymax - t)
        )
    )


def _assert_partition(tiles: dict[str, PointCloud], source: PointCloud) -> None:
    """The tiles together hold exactly the source points: no loss, no duplicate."""
    assert sum(len(t) for t in tiles.values()) == len(source)
    merged = PointCloud.concatenate(list(tiles.values()))
    np.testing.assert_array_equal(_key(merged), _key(source))


def _assert_no_edge_only_tile(tiles: dict[str, PointCloud], grid: TileGrid) -> None:
    for name, cloud in tiles.items():
        assert _interior(cloud, grid.tile_from_name(name).bounds) > 0, name


# --- the grid methods ---------------------------------------------------------------------


def test_home_cell_needs_one_closed_tile_and_its_interior():
    g = TileGrid(SIZE)
    tile = (X0, Y0, X0 + SIZE, Y0 + SIZE)
    assert g.home_cell(tile) == (C0, R0)
    # the 6 values of a LAS header, a box smaller than the tile, float noise on the edges
    assert g.home_cell((X0, Y0, 20.0, X0 + 41.68, Y0 + SIZE, 43.0)) == (C0, R0)
    assert g.home_cell((X0 - 3e-7, Y0, X0 + SIZE + 3e-7, Y0 + SIZE)) == (C0, R0)
    # past an edge, over two tiles, or lying on a grid line: no home
    assert g.home_cell((X0, Y0, X0 + SIZE + 0.01, Y0 + SIZE)) is None
    assert g.home_cell((X0 - 10, Y0, X0 + 10, Y0 + 10)) is None
    assert g.home_cell((X0, Y0, X0, Y0 + 10)) is None
    # a single point inside a tile is at home there, a single point on a corner is not
    assert g.home_cell((X0 + 1, Y0 + 1, X0 + 1, Y0 + 1)) == (C0, R0)
    assert g.home_cell((X0, Y0, X0, Y0)) is None


def test_real_cells_need_a_box_meeting_the_open_interior():
    g = TileGrid(SIZE)
    assert g.real_cells([]) == frozenset()
    assert g.real_cells([(X0, Y0, X0 + SIZE, Y0 + SIZE)]) == {(C0, R0)}
    # a box touching neighbours only along edges makes none of them real
    assert g.real_cells([(X0, Y0, 0.0, X0 + SIZE, Y0 + SIZE, 0.0)]) == {(C0, R0)}
    # a box reaching 1 cm into each neighbour
    big = g.real_cells([(X0 - 0.01, Y0, X0 + SIZE, Y0 + SIZE + 0.01)])
    assert big == {(C0 - 1, R0), (C0, R0), (C0 - 1, R0 + 1), (C0, R0 + 1)}
    # a box of zero width on a grid line: nothing
    assert g.real_cells([(X0, Y0 + 1, X0, Y0 + 9)]) == frozenset()


def test_assign_tries_the_half_open_tile_then_across_each_line_then_the_corner():
    g = TileGrid(SIZE)
    x, y = [X0], [Y0]  # a corner: half-open tile (C0-1, R0-1)
    order = [(C0 - 1, R0 - 1), (C0, R0 - 1), (C0 - 1, R0), (C0, R0)]
    for k, cell in enumerate(order):
        real = set(order[k:])  # the first real one in the order wins
        c, r = g.assign(x, y, real=real)
        assert (int(c[0]), int(r[0])) == cell
    # no real tile holds it: it stays in its half-open tile
    c, r = g.assign(x, y, real={(C0 + 5, R0)})
    assert (int(c[0]), int(r[0])) == order[0]
    # a point on a vertical line only
    c, r = g.assign([X0], [Y0 + 10], real={(C0, R0)})
    assert (int(c[0]), int(r[0])) == (C0, R0)
    # without a real set: the half-open rule
    np.testing.assert_array_equal(g.assign([X0], [Y0])[0], g.index([X0], [Y0])[0])


def test_assign_home_takes_every_point_of_the_closed_home_tile():
    g = TileGrid(SIZE)
    xs = np.array([X0, X0 + SIZE, X0 + 10, X0 + SIZE + 0.01, X0 - 1e-7])
    ys = np.array([Y0, Y0 + SIZE, Y0 + SIZE, Y0 + 10, Y0 + 10])
    c, r = g.assign(xs, ys, home=(C0, R0), real={(C0, R0), (C0 + 1, R0)})
    assert c.tolist() == [C0, C0, C0, C0 + 1, C0]
    assert r.tolist() == [R0, R0, R0, R0, R0]


@settings(max_examples=60, deadline=None)
@given(
    size=st.sampled_from([0.5, 7.3, 25.0, 50.0, 1000.0]),
    k=st.lists(st.integers(-50, 50), min_size=1, max_size=20),
    j=st.lists(st.integers(-50, 50), min_size=1, max_size=20),
    f=st.floats(0.0, 1.0),
)
def test_assign_is_the_half_open_rule_when_every_tile_is_real(size, k, j, f):
    n = min(len(k), len(j))
    g = TileGrid(size, (1000.0, 2000.0))
    x = 1000.0 + np.array(k[:n]) * size + np.round(f) * 0.3 * size  # on lines or not
    y = 2000.0 + np.array(j[:n]) * size
    c, r = g.index(x, y)
    real = {
        (a, b) for a in range(c.min() - 1, c.max() + 2) for b in range(r.min() - 1, r.max() + 2)
    }
    c2, r2 = g.assign(x, y, real=real)
    np.testing.assert_array_equal(c, c2)
    np.testing.assert_array_equal(r, r2)


# --- re-tiling closed tiles ---------------------------------------------------------------

BLOCKS = {
    "block3x2": [(0, 0), (1, 0), (2, 0), (0, 1), (1, 1), (2, 1)],
    "diagonal": [(0, 1), (1, 0)],
    "zigzag": [(0, 1), (1, 0), (2, 1)],
    "ell": [(0, 0), (0, 1), (1, 1)],
}


@pytest.mark.parametrize("mode", ["direct", "spill"])
@pytest.mark.parametrize("block", sorted(BLOCKS))
def test_closed_tiles_are_retiled_into_themselves(tmp_path, block, mode):
    grid = TileGrid(SIZE)
    src = _write_block(tmp_path / "src", BLOCKS[block], grid, seed=len(block))
    summary = retile(sorted((tmp_path / "src").glob("*.laz")), tmp_path / "out", grid, mode=mode)
    out = _read_dir(tmp_path / "out")
    assert sorted(out) == sorted(src) == sorted(summary.tiles)
    for name, cloud in src.items():
        assert out[name].equals(cloud), name  # same points, same order, every attribute
    _assert_no_edge_only_tile(out, grid)


def test_closed_tiles_with_buffers_keep_their_own_points_as_core(tmp_path):
    grid = TileGrid(SIZE)
    src = _write_block(tmp_path / "src", BLOCKS["zigzag"], grid, seed=3)
    files = sorted((tmp_path / "src").glob("*.laz"))
    summary = retile(files, tmp_path / "buf", grid, buffer=SIZE)  # a buffer of a whole tile
    assert sorted(summary.tiles) == sorted(src)
    everything = PointCloud.concatenate(list(src.values()))
    for name, cloud in _read_dir(tmp_path / "buf").items():
        own = cloud[cloud[BUFFER_DIM] == 0]
        del own.attributes[BUFFER_DIM]
        assert own.equals(src[name])
        # the buffer is complete: every other point within the buffer distance, once
        box = grid.tile_from_name(name).buffered(SIZE)
        assert len(cloud) == int(everything.in_box(*box).sum())


def test_ign_named_closed_tiles_come_back_from_the_cli(tmp_path):
    """Three 1 km tiles named the IGN way, two of them diagonal neighbours:
    ``pcrs tile --naming ign`` writes exactly them (it wrote 5 tiles before)."""
    grid = TileGrid(1000, naming="ign")
    rng = np.random.default_rng(14)
    src = {}
    for i, (xk, yk) in enumerate([(770, 6277), (771, 6278), (772, 6277)]):
        tile = grid.tile(xk, yk)
        cloud = _closed_tile(tile.bounds[0], tile.bounds[1], 1000.0, 3000, 10_000 * i, rng)
        las.write(cloud, tmp_path / tile.name)
        src[tile.name] = las.read(tmp_path / tile.name)
    inputs = [str(p) for p in sorted(tmp_path.glob("*.laz"))]
    args = ["tile", *inputs, "-o", str(tmp_path / "out"), "--size", "1000", "--naming", "ign"]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    out = _read_dir(tmp_path / "out")
    assert sorted(out) == sorted(src)
    for name in src:
        assert out[name].equals(src[name])


def test_a_strip_follows_the_half_open_rule(tmp_path):
    """A strip (a file over several tiles) has no home: its points on grid lines go left
    and down, beside closed tiles that keep theirs."""
    grid = TileGrid(SIZE)
    src = _write_block(tmp_path / "src", [(0, 0), (1, 0)], grid, seed=5)
    rng = np.random.default_rng(6)
    n = 3000
    # the strip covers the two tiles and the row above them
    xi = round(X0 * 100) + rng.integers(0, 2 * 5000 + 1, n)
    yi = round(Y0 * 100) + rng.integers(0, 2 * 5000 + 1, n)
    xi[: n // 4] = round(X0 * 100) + 5000 * rng.integers(0, 3, n // 4)  # on vertical lines
    yi[n // 4 : n // 2] = round(Y0 * 100) + 5000 * rng.integers(0, 3, n // 4)  # horizontal
    strip = _cloud(xi, yi, 900_000, rng)
    las.write(strip, tmp_path / "src" / "strip.laz")
    strip = las.read(tmp_path / "src" / "strip.laz")
    summary = retile(sorted((tmp_path / "src").glob("*.laz")), tmp_path / "out", grid)
    out = _read_dir(tmp_path / "out")
    assert len(out) == len(summary.tiles) == 4
    g = grid.with_extent((X0, Y0, X0 + 2 * SIZE, Y0 + 2 * SIZE))
    c, r = g.index(strip.x, strip.y)
    for name, cloud in out.items():
        t = grid.tile_from_name(name)
        from_strip = cloud[cloud["gps_time"] >= 900_000]
        expected = strip[(c == t.col) & (r == t.row)]
        assert from_strip.equals(expected), name
        # the closed tiles keep all their own points
        if name in src:
            assert cloud[cloud["gps_time"] < 900_000].equals(src[name])
    _assert_no_edge_only_tile(out, grid)


def test_no_tile_of_edge_points_only(tmp_path):
    """Points on a grid line whose half-open tile holds nothing else go across the line;
    a file lying on a grid line (zero width) keeps its points in its half-open tile."""
    grid = TileGrid(SIZE)
    rng = np.random.default_rng(7)
    (tmp_path / "src").mkdir()
    # a strip over two tiles, its left and bottom edges on grid lines, with nothing
    # west or south of it, while another file sets the extent farther west and south
    x0, y0 = round((X0 + SIZE) * 100), round((Y0 + SIZE) * 100)
    xi = x0 + rng.integers(0, 2 * 5000 + 1, 2000)
    yi = y0 + rng.integers(0, 5000 + 1, 2000)
    xi[:200] = x0
    yi[200:400] = y0
    xi[400], yi[400] = x0, y0
    las.write(_cloud(xi, yi, 0, rng), tmp_path / "src" / "strip.laz")
    far = _closed_tile(X0 - 3 * SIZE, Y0 - 3 * SIZE, SIZE, 200, 500_000, rng)
    las.write(far, tmp_path / "src" / "far.laz")
    # a file of zero width lying on the vertical line x = X0 + 5 * SIZE
    line = _cloud(
        np.full(30, round((X0 + 5 * SIZE) * 100)), y0 + rng.integers(1, 4999, 30), 700_000, rng
    )
    las.write(line, tmp_path / "src" / "line.laz")
    files = sorted((tmp_path / "src").glob("*.laz"))
    source = PointCloud.concatenate([las.read(f) for f in files])
    summary = retile(files, tmp_path / "out", grid)
    out = _read_dir(tmp_path / "out")
    assert len(out) == len(summary.tiles) == 4  # far, the strip's two tiles, the line's
    _assert_partition(out, source)
    for name, cloud in out.items():
        if (cloud["gps_time"] >= 700_000).all():  # the line's tile: west of the line
            assert grid.tile_from_name(name).bounds[2] == X0 + 5 * SIZE
        else:
            assert _interior(cloud, grid.tile_from_name(name).bounds) > 0, name
    # the engine plans the same tiles, no more
    tasks, _ = plan(files, tmp_path / "e", grid=grid, buffer=5.0)
    assert sorted(t.tile.name for t in tasks) == sorted(out)


def _mixed_catalog(folder: Path) -> tuple[list[Path], PointCloud]:
    """Closed tiles in a zigzag, a strip over them and beyond, a file on a grid line."""
    grid = TileGrid(SIZE)
    _write_block(folder, BLOCKS["zigzag"], grid, seed=9)
    rng = np.random.default_rng(10)
    n = 2500
    xi = round(X0 * 100) + rng.integers(-2500, 3 * 5000, n)
    yi = round((Y0 + 30) * 100) + rng.integers(0, 4000, n)
    xi[: n // 5] = round(X0 * 100) + 5000 * rng.integers(0, 3, n // 5)
    yi[n // 5 : n // 3] = round((Y0 + SIZE) * 100)
    las.write(_cloud(xi, yi, 800_000, rng), folder / "strip.laz")
    line = _cloud(
        np.full(25, round((X0 + 4 * SIZE) * 100)),
        round(Y0 * 100) + rng.integers(0, 5000, 25),
        900_000,
        rng,
    )
    las.write(line, folder / "line.laz")
    files = sorted(folder.glob("*.laz"))
    return files, PointCloud.concatenate([las.read(f) for f in files])


@pytest.mark.parametrize(("buffer", "prebuffer"), [(0.0, False), (7.5, False), (7.5, True)])
def test_every_point_lands_in_exactly_one_tile(tmp_path, buffer, prebuffer):
    files, source = _mixed_catalog(tmp_path / "src")
    grid = TileGrid(SIZE)
    summary = retile(files, tmp_path / "retiled", grid)
    retiled = _read_dir(tmp_path / "retiled")
    assert summary.points_in == len(source) == sum(summary.tiles.values())
    _assert_partition(retiled, source)
    result = run(
        identity,
        files,
        tmp_path / "engine",
        grid=grid,
        buffer=buffer,
        prebuffer=prebuffer,
        executor="serial",
    )
    assert result.ok, result.failed
    engine = _read_dir(tmp_path / "engine")
    _assert_partition(engine, source)
    # the engine and the re-tiler cut the same tiles
    assert sorted(engine) == sorted(retiled)
    for name in retiled:
        np.testing.assert_array_equal(_key(engine[name]), _key(retiled[name]))


def test_prebuffered_tiles_mark_their_core_by_the_rule(tmp_path):
    """Tiles written with a buffer carry core flags that agree with the rule, and the
    engine reading them (source_buffer) takes those flags as its core."""
    files, _ = _mixed_catalog(tmp_path / "src")
    grid = TileGrid(SIZE)
    retile(files, tmp_path / "plain", grid)
    retile(files, tmp_path / "buf", grid, buffer=10.0)
    plain = _read_dir(tmp_path / "plain")
    buffered = sorted((tmp_path / "buf").glob("*.laz"))
    assert sorted(p.name for p in buffered) == sorted(plain)
    for p in buffered:
        cloud = las.read(p)
        own = cloud[cloud[BUFFER_DIM] == 0]
        np.testing.assert_array_equal(_key(own), _key(plain[p.name]))
    tasks, _ = plan(buffered, tmp_path / "x", grid=grid, buffer=5.0, source_buffer=10.0)
    assert sorted(t.tile.name for t in tasks) == sorted(plain)
    assert all(t.prebuffered and t.homes == ((t.tile.col, t.tile.row),) for t in tasks)
    for source_buffer in (10.0, None):  # declared, or read as neighbours' buffered tiles
        out = tmp_path / f"e{source_buffer}"
        res = run(
            identity,
            buffered,
            out,
            grid=grid,
            buffer=5.0,
            source_buffer=source_buffer,
            executor="serial",
        )
        assert res.ok and not res.empty
        got = _read_dir(out)
        assert sorted(got) == sorted(plain)
        for name in plain:
            np.testing.assert_array_equal(_key(got[name]), _key(plain[name]))


def test_plan_has_no_task_for_a_tile_of_edge_points(tmp_path):
    grid = TileGrid(SIZE)
    src = _write_block(tmp_path / "src", BLOCKS["diagonal"], grid)
    files = sorted((tmp_path / "src").glob("*.laz"))
    tasks, _ = plan(files, tmp_path / "out", grid=grid, buffer=10.0)
    assert sorted(t.tile.name for t in tasks) == sorted(src)
    for t in tasks:
        assert (t.tile.col, t.tile.row) in t.real_cells
        homes = [grid.tile_from_name(Path(s).name) for s in t.sources]
        assert t.homes == tuple((h.col, h.row) for h in homes)


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    cells=st.sets(st.tuples(st.integers(0, 2), st.integers(0, 2)), min_size=1, max_size=9),
    seed=st.integers(0, 2**16),
)
def test_property_any_set_of_closed_tiles_comes_back(tmp_path_factory, cells, seed):
    d = tmp_path_factory.mktemp("closed")
    grid = TileGrid(SIZE)
    src = _write_block(d / "src", sorted(cells), grid, seed=seed, n=60)
    summary = retile(sorted((d / "src").glob("*.laz")), d / "out", grid, buffer=SIZE / 2)
    assert sorted(summary.tiles) == sorted(src)
    for name, cloud in _read_dir(d / "out").items():
        own = cloud[cloud[BUFFER_DIM] == 0]
        del own.attributes[BUFFER_DIM]
        assert own.equals(src[name])


# --- the real IGN test tiles --------------------------------------------------------------


def test_real_ign_tiles_come_back_point_for_point(lidar_dir, tmp_path):
    """ign-pdal-tools' six adjacent 50 m tiles (named by left x and top y in 10 m), which
    hold points on all four edges: re-tiled on their 50 m grid they come back unchanged."""
    files = sorted(lidar_dir.glob(IGN_SIX))
    if len(files) != 6:
        pytest.skip(f"the six adjacent IGN test tiles are not all in {lidar_dir}")
    grid = TileGrid(SIZE, naming="xy", prefix="t")

    def cell(path: Path) -> str:
        xd, yd = path.name.split("_")[2:4]  # test_data_77050_627755_LA93_IGN69.laz
        return grid.tile(int(xd) // 5, int(yd) // 5 - 1).name

    def check(subset: list[Path], out: Path) -> None:
        summary = retile(subset, out, grid)
        got = _read_dir(out)
        assert sorted(got) == sorted(cell(f) for f in subset) == sorted(summary.tiles)
        for f in subset:
            assert got[cell(f)].equals(las.read(f)), f.name

    check(files, tmp_path / "six")
    # the two diagonal pairs (a tile of 16 edge points only came out of the first one)
    by_name = {f.name.split("_")[2] + f.name.split("_")[3]: f for f in files}
    check([by_name["77050627760"], by_name["77055627755"]], tmp_path / "diag")
    trio = [by_name["77050627760"], by_name["77055627755"], by_name["77060627760"]]
    check(trio, tmp_path / "trio")
    # the engine cuts the same tiles
    res = run(identity, trio, tmp_path / "engine", grid=grid, buffer=10.0, executor="serial")
    assert res.ok and len(res.done) == 3 and not res.empty
    got = _read_dir(tmp_path / "engine")
    for f in trio:
        np.testing.assert_array_equal(_key(got[cell(f)]), _key(las.read(f)))
