"""Tile engine: buffers, executors (serial, process, Dask) giving identical tiles, resume, failures."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pytest

from pcrs import synth
from pcrs.errors import ParameterError, PcrsError
from pcrs.io import las
from pcrs.points import PointCloud
from pcrs.tiling import TileGrid
from pcrs.tiling.engine import BUFFER_DIM, identity, open_executor, plan, run

SIZE = 25.0


def _edge_points(cloud: PointCloud, rng: np.random.Generator, n: int = 400) -> PointCloud:
    """Copies of random points moved exactly onto 25 m grid lines and corners."""
    pick = rng.choice(len(cloud), n, replace=False)
    extra = cloud[pick]
    x, y = extra.x.copy(), extra.y.copy()
    third = n // 3
    x[:third] = np.round(x[:third] / SIZE) * SIZE
    y[third : 2 * third] = np.round(y[third : 2 * third] / SIZE) * SIZE
    x[2 * third :] = np.round(x[2 * third :] / SIZE) * SIZE
    y[2 * third :] = np.round(y[2 * third :] / SIZE) * SIZE
    extra.x, extra.y = x, y
    return PointCloud.concatenate([cloud, extra])


@pytest.fixture(scope="module")
def scene_files(tmp_path_factory) -> tuple[list[Path], PointCloud]:
    """A 100 m scene with points on the grid lines, split in two overlapping-free files."""
    cloud = synth.make_scene(30_000, seed=11).cloud
    cloud = _edge_points(cloud, np.random.default_rng(3))
    d = tmp_path_factory.mktemp("engine_src")
    west = cloud.x < 842050.0
    paths = [d / "west.laz", d / "east.laz"]
    las.write(cloud[west], paths[0])
    las.write(cloud[~west], paths[1])
    return paths, cloud


def _key(cloud: PointCloud) -> np.ndarray:
    """Rows of (x, y, z, gps_time, classification) to compare multisets of points."""
    rows = np.column_stack([cloud.x, cloud.y, cloud.z, cloud["gps_time"], cloud["classification"]])
    return rows[np.lexsort(rows.T[::-1])]


def _read_dir(folder: Path) -> dict[str, PointCloud]:
    return {p.name: las.read(p) for p in sorted(folder.glob("*.laz"))}


def record_buffer(cloud: PointCloud, ctx) -> dict:
    """Writes nothing; reports what the engine gave (module level: picklable)."""
    buf = cloud[BUFFER_DIM]
    xmin, ymin, xmax, ymax = ctx.buffered_bounds
    inside = cloud.in_box(xmin, ymin, xmax, ymax)
    return {
        "core": int((buf == 0).sum()),
        "buffer": int((buf == 1).sum()),
        "all_inside": bool(inside.all()),
        "core_matches": bool(np.array_equal(buf == 0, ctx.core)),
    }


def drop_high(cloud: PointCloud, ctx, limit: float = 250.0) -> PointCloud:
    """Keeps the points below ``limit``: a function that changes the number of points."""
    return cloud[cloud.z < limit]


def fail_on(cloud: PointCloud, ctx, name: str = "") -> PointCloud:
    if ctx.tile.name == name:
        raise RuntimeError("boom on purpose")
    return cloud


def test_identity_run_preserves_every_point(scene_files, tmp_path):
    paths, cloud = scene_files
    summary = run(identity, paths, tmp_path, grid=TileGrid(SIZE), buffer=10, executor="serial")
    assert summary.ok, summary.failed
    tiles = _read_dir(tmp_path)
    assert len(tiles) == 16
    assert all(BUFFER_DIM not in t.attributes for t in tiles.values())
    merged = PointCloud.concatenate(list(tiles.values()))
    np.testing.assert_array_equal(_key(merged), _key(cloud))
    # each tile holds exactly its points by the edge rule
    grid = TileGrid.from_bounds(cloud.bounds, SIZE)
    for t in tiles.values():
        c, r = grid.index(t.x, t.y)
        assert len(set(zip(c.tolist(), r.tolist(), strict=True))) == 1


def test_buffers_are_complete(scene_files, tmp_path):
    paths, cloud = scene_files
    buffer = 7.5
    summary = run(
        record_buffer,
        paths,
        tmp_path,
        grid=TileGrid(SIZE),
        buffer=buffer,
        outputs=(),
        executor="serial",
    )
    assert summary.ok and len(summary.done) == 16
    grid = TileGrid.from_bounds(cloud.bounds, SIZE)
    for r in summary.done:
        tile = grid.tile_from_name(r.name)
        xmin, ymin, xmax, ymax = tile.buffered(buffer)
        in_box = cloud.in_box(xmin, ymin, xmax, ymax)
        c, w = grid.index(cloud.x, cloud.y)
        own = (c == tile.col) & (w == tile.row)
        assert r.info["core"] == int(own.sum())
        assert r.info["buffer"] == int((in_box & ~own).sum())
        assert r.info["all_inside"] and r.info["core_matches"]


def test_function_that_drops_points_keeps_only_core(scene_files, tmp_path):
    paths, cloud = scene_files
    summary = run(drop_high, paths, tmp_path, grid=TileGrid(SIZE), buffer=5, executor="serial")
    assert summary.ok
    merged = PointCloud.concatenate(list(_read_dir(tmp_path).values()))
    np.testing.assert_array_equal(_key(merged), _key(cloud[cloud.z < 250.0]))


def test_executors_give_identical_tiles(scene_files, tmp_path):
    distributed = pytest.importorskip("distributed", reason="dask[distributed] is not installed")
    paths, _ = scene_files
    grid = TileGrid(SIZE, naming="xy", prefix="t")
    kw = {"grid": grid, "buffer": 5.0}
    run(identity, paths, tmp_path / "serial", executor="serial", **kw).raise_for_failures()
    run(
        identity, paths, tmp_path / "process", executor="process", workers=2, **kw
    ).raise_for_failures()
    # a LocalCluster started here, reached by its address as `--scheduler ADDRESS` does
    with (
        distributed.LocalCluster(
            processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None
        ) as cluster,
        open_executor(cluster.scheduler_address) as client,
    ):
        assert isinstance(client, distributed.Client)
        run(identity, paths, tmp_path / "dask", executor=client, **kw).raise_for_failures()
    ref = _read_dir(tmp_path / "serial")
    assert len(ref) == 16
    for name in ("process", "dask"):
        other = _read_dir(tmp_path / name)
        assert sorted(other) == sorted(ref)
        for k, cloud in ref.items():
            assert cloud.equals(other[k]), (name, k)  # same points in the same order


def test_rerun_skips_complete_tiles_and_failures_are_reported(scene_files, tmp_path):
    paths, _ = scene_files
    grid = TileGrid(SIZE)
    first = run(identity, paths, tmp_path, grid=grid, executor="serial")
    assert len(first.done) == 16
    again = run(identity, paths, tmp_path, grid=grid, executor="serial")
    assert len(again.skipped) == 16 and not again.done
    victim = first.done[5].name
    (tmp_path / victim).unlink()
    bad = functools.partial(fail_on, name=first.done[6].name)
    third = run(bad, paths, tmp_path, grid=grid, executor="serial", overwrite=True)
    assert [r.name for r in third.failed] == [first.done[6].name]
    assert "boom on purpose" in third.failed[0].error
    assert len(third.done) == 15 and (tmp_path / victim).exists()
    with pytest.raises(PcrsError, match="1 tile"):
        third.raise_for_failures()
    json.dumps(third.to_dict())


def test_plan_and_bad_parameters(scene_files, tmp_path):
    paths, _ = scene_files
    tasks, skipped = plan(paths, tmp_path, grid=TileGrid(SIZE), buffer=30)
    assert len(tasks) == 16 and not skipped
    # a 30 m buffer around a 25 m tile of the west file reaches the east file
    assert all(len(t.sources) == 2 for t in tasks)
    with pytest.raises(ParameterError, match="buffer"):
        plan(paths, tmp_path, grid=TileGrid(SIZE), buffer=-1)
    with pytest.raises(ParameterError, match="executor"):
        run(identity, paths, tmp_path, grid=TileGrid(SIZE), executor="threads")
    with open_executor(None, 1) as ex:
        assert ex == "serial"
    with pytest.raises(ParameterError, match="template"):
        plan(paths, tmp_path, grid=TileGrid(SIZE), outputs=["{nope}.laz"])


def test_copc_sources_are_read_by_windows(lidar_dir, tmp_path):
    src = lidar_dir / "laspy" / "simple.copc.laz"
    if not src.exists():
        pytest.skip(f"{src} is not in the shared data")
    tasks, _ = plan([src], tmp_path, grid=TileGrid(1000), buffer=100)
    assert tasks and all(t.copc == (True,) for t in tasks)
    summary = run(identity, [src], tmp_path, grid=TileGrid(1000), buffer=100, executor="serial")
    assert summary.ok, summary.failed
    merged = PointCloud.concatenate([las.read(p) for p in sorted(tmp_path.glob("*.laz"))])
    whole = las.read(src)
    order = lambda c: np.lexsort((c["gps_time"], c.z, c.y, c.x))  # noqa: E731
    for name in ("x", "y", "z", "classification", "intensity", "red"):
        np.testing.assert_array_equal(merged[name][order(merged)], whole[name][order(whole)])


def add_height(cloud: PointCloud, ctx) -> dict:
    """Returns a new cloud without the buffer attribute (same length and order) plus facts."""
    out = PointCloud(
        cloud.x, cloud.y, cloud.z, {"classification": cloud["classification"]}, cloud.crs
    )
    out["height"] = (cloud.z - cloud.z.min()).astype(np.float32)
    return {"points": out, "zmin": float(cloud.z.min())}


def shrink_without_marker(cloud: PointCloud, ctx) -> PointCloud:
    out = PointCloud(cloud.x[:10], cloud.y[:10], cloud.z[:10], {}, cloud.crs)
    return out


def test_returned_cloud_without_marker_uses_the_core_mask(scene_files, tmp_path):
    paths, cloud = scene_files
    grid = TileGrid(50)
    summary = run(
        add_height,
        paths,
        tmp_path / "h",
        grid=grid,
        buffer=5,
        executor="serial",
        tiles=["tile_842000_6518000"],
    )
    assert [r.name for r in summary.done] == ["tile_842000_6518000.laz"]
    assert isinstance(summary.done[0].info["zmin"], float)
    out = las.read(tmp_path / "h" / "tile_842000_6518000.laz")
    assert "height" in out.attributes
    full = TileGrid.from_bounds(cloud.bounds, 50)
    tile = full.tile_from_name("tile_842000_6518000.laz")
    c, r = full.index(cloud.x, cloud.y)
    own = cloud[(c == tile.col) & (r == tile.row)]
    assert len(out) == len(own) == summary.done[0].points_written
    oa, ob = np.lexsort((out.z, out.y, out.x)), np.lexsort((own.z, own.y, own.x))
    for name in ("x", "y", "z", "classification"):
        np.testing.assert_array_equal(out[name][oa], own[name][ob])
    bad = run(shrink_without_marker, paths, tmp_path / "s", grid=grid, buffer=5, executor="serial")
    assert len(bad.failed) == len(bad.results) and "buffer" in bad.failed[0].error


def test_prebuffered_tiles_read_only_their_own_file(scene_files, tmp_path):
    from pcrs.tiling.retile import retile

    paths, _ = scene_files
    grid = TileGrid(SIZE)
    retile(paths, tmp_path / "tiles", grid, buffer=10.0)
    tiles = sorted((tmp_path / "tiles").glob("*.laz"))
    tasks, _ = plan(tiles, tmp_path / "x", grid=grid, buffer=7.5, source_buffer=10.0)
    assert len(tasks) == 16 and all(len(t.sources) == 1 and t.prebuffered for t in tasks)
    fast = run(
        record_buffer,
        tiles,
        tmp_path / "a",
        grid=grid,
        buffer=7.5,
        source_buffer=10.0,
        outputs=(),
        executor="serial",
    )
    slow = run(
        record_buffer, paths, tmp_path / "b", grid=grid, buffer=7.5, outputs=(), executor="serial"
    )
    assert [(r.name, r.info) for r in fast.results] == [(r.name, r.info) for r in slow.results]
    # without the declaration the buffered tiles are still usable: their buffers are dropped
    plain = run(
        record_buffer, tiles, tmp_path / "c", grid=grid, buffer=7.5, outputs=(), executor="serial"
    )
    assert [(r.name, r.info) for r in plain.results] == [(r.name, r.info) for r in slow.results]
    with pytest.raises(ParameterError, match="less than"):
        plan(tiles, tmp_path / "x", grid=grid, buffer=20, source_buffer=10.0)


def test_unpicklable_function_is_refused_before_any_work(scene_files, tmp_path):
    paths, _ = scene_files
    with pytest.raises(ParameterError, match="module level"):
        run(lambda c, ctx: c, paths, tmp_path, grid=TileGrid(SIZE), executor="process", workers=2)
    assert not list(tmp_path.iterdir())


def test_prebuffer_gives_the_same_tiles(scene_files, tmp_path):
    paths, _ = scene_files
    grid = TileGrid(SIZE)
    fast = run(
        drop_high,
        paths,
        tmp_path / "fast",
        grid=grid,
        buffer=6.0,
        prebuffer=True,
        executor="serial",
    )
    slow = run(drop_high, paths, tmp_path / "slow", grid=grid, buffer=6.0, executor="serial")
    assert fast.ok and len(fast.done) == len(slow.done) == 16
    assert sorted(p.name for p in (tmp_path / "fast").iterdir()) == sorted(
        p.name for p in (tmp_path / "slow").iterdir()
    )  # the temporary buffered tiles are gone
    for name in (r.name for r in slow.done):
        a, b = las.read(tmp_path / "fast" / name), las.read(tmp_path / "slow" / name)
        oa, ob = (
            np.lexsort((a["gps_time"], a.z, a.y, a.x)),
            np.lexsort((b["gps_time"], b.z, b.y, b.x)),
        )
        assert a[oa].equals(b[ob])
    again = run(
        drop_high,
        paths,
        tmp_path / "fast",
        grid=grid,
        buffer=6.0,
        prebuffer=True,
        executor="serial",
    )
    assert len(again.skipped) == 16


def test_points_a_float_noise_past_an_edge_are_not_lost(tmp_path):
    """int * scale + offset can land 3e-14 past a tile edge (laspy's simple1_4.las does:
    225.00000000000003 for 225): the edge rule counts such points as on the edge, and the
    task that owns them must read them (100 of 22,600 points were lost before)."""
    from pcrs.io import las
    from pcrs.points import LasLayout, PointCloud

    x = 1.0 + np.repeat(np.arange(226.0), 10)
    y = np.tile(np.arange(1.0, 11.0), 226)
    layout = LasLayout(point_format=6, scales=(1e-5, 1e-5, 1e-3), offsets=(1.0, 1.0, 0.0))
    cloud = PointCloud(x, y, np.zeros_like(x), {"classification": np.full(x.size, 2, np.uint8)})
    cloud.layout = layout
    src = tmp_path / "in.laz"
    las.write(cloud, src)
    read = las.read(src)
    assert np.any((read.x > 225.0) & (read.x < 225.0 + 1e-9))  # the float noise is there
    assert np.all(read.x <= 226.0 + 1e-9)
    summary = run(identity, [src], tmp_path / "out", grid=TileGrid(225), executor="serial")
    assert summary.ok
    assert sum(r.points_written for r in summary.results) == x.size


def _attribute_names(cloud: PointCloud, ctx) -> dict:
    return {"names": sorted(cloud.attributes), "n": len(cloud)}


def test_attributes_are_dropped_once_read(scene_files, tmp_path):
    """run(attributes=...) hands func only those attributes (and the buffer marker), with
    every point; without it, every attribute of the sources."""
    paths, _cloud = scene_files
    kw = {"grid": TileGrid(SIZE), "buffer": 5.0, "outputs": (), "executor": "serial"}
    some = run(_attribute_names, paths, tmp_path / "a", attributes=("classification",), **kw)
    every = run(_attribute_names, paths, tmp_path / "b", **kw)
    assert some.ok and every.ok
    for a, b in zip(some.done, every.done, strict=True):
        assert a.info["names"] == sorted(["classification", BUFFER_DIM])
        assert {"classification", "intensity", BUFFER_DIM} <= set(b.info["names"])
        assert a.info["n"] == b.info["n"]
