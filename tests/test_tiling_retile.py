"""Streaming re-tiling: exact point preservation, complete buffers, stripping, IGN tiles, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pcrs import synth
from pcrs.cli.main import cli
from pcrs.errors import CRSError, OutputExistsError, ParameterError
from pcrs.io import las
from pcrs.io.crs import parse_crs
from pcrs.points import PointCloud
from pcrs.tiling import TileGrid
from pcrs.tiling.retile import retile, strip_buffer

IGN_SIX = "ign-pdal-tools/test_data_770*_LA93_IGN69.laz"


def _order(cloud: PointCloud) -> np.ndarray:
    return np.lexsort((cloud["gps_time"], cloud.z, cloud.y, cloud.x))


def assert_same_points(a: PointCloud, b: PointCloud) -> None:
    """The two clouds hold the same multiset of points, every attribute compared.

    Points are matched by sorting on (x, y, z, gps_time); points equal on those four
    keys are then compared on every column, so ties cannot hide a difference."""
    assert len(a) == len(b)
    assert set(a.attributes) == set(b.attributes)
    oa, ob = _order(a), _order(b)
    names = ["x", "y", "z", *sorted(a.attributes)]
    if all(np.array_equal(a[n][oa], b[n][ob]) for n in names):
        return

    # ties on the sort keys may order equal-key points differently: compare full rows
    def rows(c):
        cols = [c[n].reshape(len(c), -1).astype(np.float64) for n in names]
        r = np.hstack(cols)
        return r[np.lexsort(r.T[::-1])]

    np.testing.assert_array_equal(rows(a), rows(b))


def _merge(folder: Path) -> PointCloud:
    return PointCloud.concatenate([las.read(p) for p in sorted(folder.glob("*.laz"))])


@pytest.fixture(scope="module")
def rich_file(tmp_path_factory) -> tuple[Path, PointCloud]:
    """Point format 8 with RGB/NIR, classes >= 32, GPS time, an extra dimension and
    points exactly on 10 m / 25 m grid lines."""
    cloud = synth.make_scene(40_000, seed=5).cloud
    rng = np.random.default_rng(0)
    n = len(cloud)
    snap = rng.choice(n, 600, replace=False)
    cloud.x[snap[:200]] = np.round(cloud.x[snap[:200]] / 50.0) * 50.0
    cloud.y[snap[200:400]] = np.round(cloud.y[snap[200:400]] / 50.0) * 50.0
    cloud.x[snap[400:]] = np.round(cloud.x[snap[400:]] / 50.0) * 50.0
    cloud.y[snap[400:]] = np.round(cloud.y[snap[400:]] / 50.0) * 50.0
    cls = cloud.classification
    cls[rng.random(n) < 0.01] = 66
    cls[rng.random(n) < 0.01] = 67
    for band in ("red", "green", "blue", "nir"):
        cloud[band] = rng.integers(0, 65535, n, dtype=np.uint16)
    cloud["confidence"] = rng.random(n).astype(np.float32)
    path = tmp_path_factory.mktemp("rich") / "rich.laz"
    las.write(cloud, path, point_format=8)
    return path, las.read(path)


@pytest.mark.parametrize(
    ("size", "mode"), [(20.0, "direct"), (25.0, "spill"), (33.3, "direct"), (50.0, "direct")]
)
def test_retile_keeps_every_point_and_attribute(rich_file, tmp_path, size, mode):
    path, cloud = rich_file
    summary = retile([path], tmp_path, TileGrid(size), mode=mode, chunk_size=7_000)
    assert summary.mode == mode
    assert summary.points_in == len(cloud) == sum(summary.tiles.values())
    assert_same_points(_merge(tmp_path), cloud)
    # tiles keep the input's scales and offsets, so the integer coordinates are unchanged
    first = las.info(summary.paths[0])
    assert first.scales == las.info(path).scales and first.offsets == las.info(path).offsets
    assert first.point_format == 8
    # each tile is exactly the input points of its cell, in input order
    grid = TileGrid.from_bounds(las.info(path).bounds, size)
    col, row = grid.index(cloud.x, cloud.y)
    for p in summary.paths:
        t = grid.tile_from_name(p.name)
        assert las.read(p).equals(cloud[(col == t.col) & (row == t.row)])


def test_buffers_are_complete_and_strip_exactly(rich_file, tmp_path):
    path, cloud = rich_file
    size, buffer = 25.0, 6.0
    plain = retile([path], tmp_path / "plain", TileGrid(size))
    buffered = retile([path], tmp_path / "buf", TileGrid(size), buffer=buffer, chunk_size=9_000)
    assert set(buffered.tiles) == set(plain.tiles)
    grid = TileGrid.from_bounds(las.info(path).bounds, size)
    for name in plain.tiles:
        tile = las.read(tmp_path / "buf" / name)
        assert tile["buffer"].dtype == np.uint8
        t = grid.tile_from_name(name)
        xmin, ymin, xmax, ymax = t.buffered(buffer)
        expected = cloud[cloud.in_box(xmin, ymin, xmax, ymax)]
        # complete: every input point within the buffer distance is there, once
        strip = tile[:]
        del strip.attributes["buffer"]
        assert_same_points(strip, expected)
        assert int((tile["buffer"] == 0).sum()) == plain.tiles[name]
        # stripping gives exactly the unbuffered tile
        out = tmp_path / "stripped" / name
        out.parent.mkdir(exist_ok=True)
        assert strip_buffer(tmp_path / "buf" / name, out) == plain.tiles[name]
        assert las.read(out).equals(las.read(tmp_path / "plain" / name))


def test_real_ign_tiles_retiled_and_merged_back(lidar_dir, tmp_path):
    files = sorted(lidar_dir.glob(IGN_SIX))
    if len(files) != 6:
        pytest.skip(f"the six adjacent IGN test tiles are not all in {lidar_dir}")
    original = PointCloud.concatenate([las.read(f) for f in files])
    summary = retile(files, tmp_path / "t25", TileGrid(25.0), chunk_size=20_000)
    assert len(summary.tiles) == 24
    assert_same_points(_merge(tmp_path / "t25"), original)
    # and with buffers, stripped again (a sample of the tiles)
    retile(files, tmp_path / "b25", TileGrid(25.0), buffer=5.0)
    for name in sorted(summary.tiles)[::5]:
        strip_buffer(tmp_path / "b25" / name, tmp_path / "s25" / name)
        assert las.read(tmp_path / "s25" / name).equals(las.read(tmp_path / "t25" / name))


def _ign_pair(folder: Path) -> tuple[list[Path], PointCloud]:
    """Two adjacent 1 km tiles named and filled the IGN way: each holds its right and top
    edges; the outer left/bottom edges of the pair are held too."""
    rng = np.random.default_rng(42)
    paths, clouds = [], []
    for xk in (770, 771):
        n = 6000
        x = xk * 1000.0 + np.round(rng.uniform(0, 1000, n), 2)
        y = 6277000.0 + np.round(rng.uniform(0, 1000, n), 2)
        x[:50] = (xk + 1) * 1000.0  # right edge
        y[50:100] = 6278000.0  # top edge
        y[100:150] = 6277000.0  # outer bottom edge
        if xk == 770:
            x[150:200] = 770000.0  # outer left edge
        if xk == 771:  # its left edge belongs to the western tile: keep off it
            x[x == xk * 1000.0] += 0.01
        cloud = PointCloud(
            x,
            y,
            rng.uniform(100, 200, n).round(2),
            {
                "classification": rng.choice(np.array([2, 3, 6, 64, 66], np.uint8), n),
                "gps_time": np.sort(rng.uniform(0, 1e5, n)),
                "intensity": rng.integers(0, 4000, n, dtype=np.uint16),
            },
            crs=parse_crs("EPSG:2154"),
        )
        path = folder / f"LHD_FXX_{xk:04d}_6278_PTS_C_LAMB93_IGN69.laz"
        las.write(cloud, path)
        paths.append(path)
        clouds.append(las.read(path))
    return paths, clouds


def test_two_adjacent_ign_tiles_come_back_under_their_names(tmp_path):
    paths, clouds = _ign_pair(tmp_path)
    result = CliRunner().invoke(
        cli,
        [
            "tile",
            *map(str, paths),
            "-o",
            str(tmp_path / "out"),
            "--size",
            "1000",
            "--naming",
            "ign",
        ],
    )
    assert result.exit_code == 0, result.output
    out = sorted(p.name for p in (tmp_path / "out").glob("*.laz"))
    assert out == [p.name for p in paths]
    for p, cloud in zip(paths, clouds, strict=True):
        assert las.read(tmp_path / "out" / p.name).equals(cloud)


def test_cli_tile_json_strip_and_subprocess(tmp_path, small_scene_file):
    runner = CliRunner()
    res = runner.invoke(
        cli,
        [
            "tile",
            str(small_scene_file),
            "-o",
            str(tmp_path / "b"),
            "--size",
            "50",
            "--buffer",
            "5",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    record = json.loads(res.output)
    assert record["points_in"] == las.info(small_scene_file).points
    grid = TileGrid.from_bounds(las.info(small_scene_file).bounds, 50)
    cloud = las.read(small_scene_file)
    expected = {grid.tile(c, r).name for c, r in zip(*grid.index(cloud.x, cloud.y), strict=True)}
    assert {t["name"] for t in record["tiles"]} == expected
    assert all(t["buffer_points"] > 0 for t in record["tiles"])
    res = runner.invoke(
        cli, ["tile", "--strip-buffer", str(tmp_path / "b"), "-o", str(tmp_path / "s")]
    )
    assert res.exit_code == 0, res.output
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pcrs",
            "tile",
            str(small_scene_file),
            "-o",
            str(tmp_path / "p"),
            "--size",
            "50",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    for name in (p.name for p in (tmp_path / "p").glob("*.laz")):
        assert las.read(tmp_path / "s" / name).equals(las.read(tmp_path / "p" / name))
    # refusing to overwrite: exit 2 with one line naming the file
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pcrs",
            "tile",
            str(small_scene_file),
            "-o",
            str(tmp_path / "p"),
            "--size",
            "50",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2 and "--overwrite" in proc.stderr


def test_errors(tmp_path, small_scene_file):
    with pytest.raises(ParameterError, match="no 'buffer'"):
        strip_buffer(small_scene_file, tmp_path / "x.laz")
    retile([small_scene_file], tmp_path / "a", TileGrid(50), buffer=2)
    with pytest.raises(ParameterError, match="already has a 'buffer'"):
        retile(sorted((tmp_path / "a").glob("*.laz")), tmp_path / "b", TileGrid(50))
    with pytest.raises(OutputExistsError, match="overwrite"):
        retile([small_scene_file], tmp_path / "a", TileGrid(50))
    other = tmp_path / "other.laz"
    cloud = las.read(small_scene_file)
    cloud.crs = parse_crs("EPSG:3946")
    las.write(cloud, other)
    with pytest.raises(CRSError, match="different CRSs"):
        retile([small_scene_file, other], tmp_path / "c", TileGrid(50))
    with pytest.raises(ParameterError, match="buffer"):
        retile([small_scene_file], tmp_path / "d", TileGrid(50), buffer=-1)
    assert not (tmp_path / "c").exists() or not list((tmp_path / "c").iterdir())


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    size=st.sampled_from([3.0, 5.0, 7.5, 12.0]),
    buffer=st.sampled_from([0.0, 1.0, 4.0, 13.0]),
    seed=st.integers(0, 2**16),
    mode=st.sampled_from(["direct", "spill"]),
)
def test_retile_property_partition_and_buffers(tmp_path_factory, size, buffer, seed, mode):
    """Random points, a third of them on grid lines: the tiles' own points are a partition
    of the input and each tile holds every point within the buffer of its box."""
    rng = np.random.default_rng(seed)
    n = 400
    x = rng.uniform(1000, 1030, n).round(2)
    y = rng.uniform(2000, 2030, n).round(2)
    on = rng.random(n) < 0.33
    x[on] = np.round(x[on] / size) * size
    y[on[::-1]] = np.round(y[on[::-1]] / size) * size
    cloud = PointCloud(
        x,
        y,
        rng.uniform(0, 10, n).round(2),
        {
            "classification": rng.integers(0, 70, n).astype(np.uint8),
            "gps_time": np.arange(n, dtype=float),
        },
        parse_crs("EPSG:2154"),
    )
    d = tmp_path_factory.mktemp("prop")
    las.write(cloud, d / "in.laz")
    cloud = las.read(d / "in.laz")
    summary = retile([d / "in.laz"], d / "out", TileGrid(size), buffer=buffer, mode=mode)
    # only the tiles with points of their own, and no temporary file left behind
    assert sorted(p.name for p in (d / "out").iterdir()) == sorted(summary.tiles)
    grid = TileGrid.from_bounds(cloud.bounds, size)
    seen = np.zeros(n, int)
    for p in summary.paths:
        t = las.read(p)
        tile = grid.tile_from_name(p.name)
        own = t["buffer"] == 0 if buffer else np.ones(len(t), bool)
        seen[t["gps_time"][own].astype(int)] += 1
        if buffer:
            xmin, ymin, xmax, ymax = tile.buffered(buffer)
            expected = np.flatnonzero(cloud.in_box(xmin, ymin, xmax, ymax))
        else:
            c, r = grid.index(cloud.x, cloud.y)
            expected = np.flatnonzero((c == tile.col) & (r == tile.row))
        assert np.array_equal(np.sort(t["gps_time"].astype(int)), expected)
    assert np.all(seen == 1)


def test_copc_input(lidar_dir, tmp_path):
    src = lidar_dir / "laspy" / "simple.copc.laz"
    if not src.exists():
        pytest.skip(f"{src} is not in the shared data")
    summary = retile([src], tmp_path, TileGrid(1000))
    assert summary.points_in == las.info(src).points == sum(summary.tiles.values())
    assert_same_points(_merge(tmp_path), las.read(src))


def test_empty_input_file_does_not_stretch_the_grid(tmp_path, small_scene_file):
    empty = tmp_path / "empty.laz"
    las.write(las.read(small_scene_file)[:0], empty)
    alone = retile([small_scene_file], tmp_path / "a", TileGrid(50))
    both = retile([small_scene_file, empty], tmp_path / "b", TileGrid(50), mode="auto")
    assert both.tiles == alone.tiles and both.mode == "direct"
