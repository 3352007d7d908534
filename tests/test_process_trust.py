"""pcrs process that can be trusted on re-runs: the manifest, kept classes, loud failures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner

from pcrs.cli.main import _run as run_cli
from pcrs.errors import OutputExistsError, OutputInUseError, ProcessError
from pcrs.io import las
from pcrs.raster.process import is_classified, process
from pcrs.tiling.manifest import Manifest, describe_change

FAST = {"tile_size": 50.0, "products": ("dtm",), "executor": "serial", "buffer": 20.0}


@pytest.fixture
def scene_dir(small_scene, tmp_path: Path) -> Path:
    """The small scene cut to 100 m x 100 m (four 50 m tiles), in two files (west, east)."""
    x0, y0, _, _ = small_scene.bounds
    cloud = small_scene.cloud
    d = tmp_path / "in"
    d.mkdir()
    las.write(cloud[cloud.in_box(x0, y0, x0 + 49.99, y0 + 99.99)], d / "west.laz")
    las.write(cloud[cloud.in_box(x0 + 50.0, y0, x0 + 99.99, y0 + 99.99)], d / "east.laz")
    return d


def _mtimes(folder: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in folder.rglob("*.tif")}


def test_rerun_skips_and_other_parameters_are_refused_naming_the_change(scene_dir, tmp_path):
    out = tmp_path / "out"
    first = process([scene_dir], out, resolution=1.0, **FAST)
    assert first["rasterize"]["done"] == 4
    again = process([scene_dir], out, resolution=1.0, **FAST)
    assert again["classify"]["skipped"] == 4 and again["rasterize"]["skipped"] == 4
    before = _mtimes(out)
    with pytest.raises(OutputExistsError, match=r"resolution 1 -> 2"):
        process([scene_dir], out, resolution=2.0, **FAST)
    assert _mtimes(out) == before  # refused before any work
    with pytest.raises(OutputExistsError, match=r"steps .* -> none"):
        process([scene_dir], out, resolution=1.0, steps=(), **FAST)
    redone = process([scene_dir], out, resolution=2.0, overwrite=True, **FAST)
    assert redone["rasterize"]["done"] == 4 and redone["resolution"] == 2.0
    with rasterio.open(out / "dtm.vrt") as src:
        assert src.res == (2.0, 2.0)
    for tif in (out / "dtm").glob("*.tif"):
        with rasterio.open(tif) as src:
            assert src.res == (2.0, 2.0)
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["resolution"] == 2.0


def test_changed_input_recomputes_only_the_tiles_it_feeds(scene_dir, tmp_path):
    out = tmp_path / "out"
    process([scene_dir], out, resolution=1.0, **FAST)
    east = las.read(scene_dir / "east.laz")
    east["z"] = east.z + 1.0
    las.write(east, scene_dir / "east.laz", overwrite=True)
    again = process([scene_dir], out, resolution=1.0, **FAST)
    # the east tiles read the east file; with a 20 m buffer the west tiles read it too
    assert again["classify"]["done"] == 4
    assert again["rasterize"]["done"] == 4
    # touched but unchanged: recognised by its content hash, nothing recomputed
    os.utime(scene_dir / "west.laz")
    third = process([scene_dir], out, resolution=1.0, **FAST)
    assert third["classify"]["skipped"] == 4 and third["rasterize"]["skipped"] == 4


def test_interrupted_run_is_finished_and_unknown_outputs_are_refused(scene_dir, tmp_path):
    out = tmp_path / "out"
    process([scene_dir], out, resolution=1.0, **FAST)
    victim = sorted((out / "dtm").glob("*.tif"))[0]
    victim.write_bytes(victim.read_bytes()[:100])  # a truncated output is not served
    again = process([scene_dir], out, resolution=1.0, **FAST)
    assert again["rasterize"]["done"] == 1 and again["rasterize"]["skipped"] == 3
    (out / "manifest.json").unlink()  # outputs nobody can vouch for
    with pytest.raises(OutputExistsError, match="no pcrs manifest describes"):
        process([scene_dir], out, resolution=1.0, **FAST)
    assert process([scene_dir], out, resolution=1.0, overwrite=True, **FAST)["ok"]


def test_manifest_records_parameters_version_and_input_hashes(scene_dir, tmp_path):
    out = tmp_path / "out"
    process([scene_dir], out, resolution=1.0, **FAST)
    manifest = Manifest(out)
    params = manifest.section_params("rasterize")
    assert params is not None and params["resolution"] == 1.0 and "pcrs" in params
    entry = manifest.entry("rasterize", sorted(manifest.sections["rasterize"]["tiles"])[0])
    assert entry is not None and entry["key"] and entry["outputs"]
    inputs = [k for k in manifest.files if k.endswith("west.laz")]
    assert inputs and len(manifest.files[inputs[0]]["blake2b"]) == 32
    assert describe_change({"a": 0.5, "s": ["x"]}, {"a": 1.0, "s": []}) == "a 0.5 -> 1, s x -> none"


def test_classified_tiles_keep_their_classes_unclassified_ones_are_classified(scene_dir, tmp_path):
    out = tmp_path / "out"
    # the west file is unclassified, the east one classified
    west = las.read(scene_dir / "west.laz")
    west["classification"] = np.ones(len(west), np.uint8)
    las.write(west, scene_dir / "west.laz", overwrite=True)
    east = las.read(scene_dir / "east.laz")
    summary = process([scene_dir], out, resolution=1.0, **FAST)
    kept = summary["classification_kept"]
    assert len(kept) == 2 and all(r["info"]["classification"] == "computed"
                                  for r in summary["classify"]["results"]
                                  if r["name"] not in kept)  # fmt: skip
    # the east file spans two tiles, so it has no home tile: its points on the shared edge
    # x = x_east go west by the half-open rule; the others keep their classes
    x_east = east.x.min()
    tiles = [las.read(p) for p in sorted((out / "tiles").glob("*.laz"))]
    east_out = [t for t in tiles if t.x.min() >= x_east - 1e-6]
    east = east[east.x > x_east + 1e-3]
    got = np.concatenate([t.classification for t in east_out])
    got_xyz = np.concatenate([np.c_[t.x, t.y, t.z] for t in east_out])
    inner = got_xyz[:, 0] > x_east + 1e-3
    got, got_xyz = got[inner], got_xyz[inner]
    order = np.lexsort((east.z, east.y, east.x))
    order_got = np.lexsort((got_xyz[:, 2], got_xyz[:, 1], got_xyz[:, 0]))
    assert np.array_equal(got[order_got], east.classification[order])
    west_out = [t for t in tiles if t.x.max() < x_east]
    assert all(is_classified(t.classification) for t in west_out)  # ground was found
    # an explicit list of steps re-classifies every tile
    forced = process([scene_dir], tmp_path / "forced", steps=("noise", "ground"), resolution=1.0,
                     **FAST)  # fmt: skip
    assert forced["classification_kept"] == []


def test_failed_tiles_raise_with_the_summary_and_exit_1(scene_dir, tmp_path, monkeypatch, capsys):
    import pcrs.io.raster as io_raster

    real_write = io_raster.write_raster

    def broken_write(raster, path, *args, **kwargs):
        if raster.grid.bounds[0] % 100 == 0:  # one column of tiles fails
            raise RuntimeError("simulated failure")
        return real_write(raster, path, *args, **kwargs)

    monkeypatch.setattr(io_raster, "write_raster", broken_write)
    with pytest.raises(ProcessError, match="simulated failure") as info:
        process([scene_dir], tmp_path / "out", resolution=1.0, **FAST)
    summary = info.value.summary
    assert summary["rasterize"]["failed"] == len(info.value.failed) > 0
    assert summary["rasterize"]["done"] > 0
    assert (tmp_path / "out" / "summary.json").exists()
    code = run_cli(["process", str(scene_dir), "-o", str(tmp_path / "cli"), "--tile-size", "50",
                    "--products", "dtm", "--workers", "1", "--resolution", "1"])  # fmt: skip
    assert code == 1
    err = capsys.readouterr().err
    assert "simulated failure" in err and "tile task(s) failed" in err


def test_second_run_into_a_folder_in_use_exits_2_naming_the_pid(scene_dir, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\nfrom pcrs.io.runlock import run_lock\n"
         f"with run_lock({str(out)!r}, command='pcrs process'):\n"
         "    print('locked', flush=True)\n    time.sleep(60)\n"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        t0 = time.perf_counter()
        with pytest.raises(OutputInUseError, match=str(holder.pid)):
            process([scene_dir], out, resolution=1.0, **FAST)
        code = run_cli(["process", str(scene_dir), "-o", str(out), "--tile-size", "50"])
        assert code == 2 and str(holder.pid) in capsys.readouterr().err
        assert time.perf_counter() - t0 < 10
        assert not (out / "tiles").exists()
    finally:
        holder.kill()
        holder.wait()


def test_help_and_readme_say_classified_tiles_are_kept():
    res = CliRunner().invoke(__import__("pcrs.cli.main").cli.main.cli, ["process", "--help"])
    assert "keep their classes" in res.output.replace("\n", " ").replace("  ", " ")
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    assert "--steps none" in readme or "keep their classification" in readme


def test_classify_of_a_catalog_refuses_other_steps_into_the_same_folder(
    scene_dir, tmp_path, capsys
):
    out = tmp_path / "classified"
    args = ["classify", str(scene_dir / "west.laz"), str(scene_dir / "east.laz"), "-o", str(out),
            "--tile-size", "50", "--workers", "1"]  # fmt: skip
    assert run_cli([*args, "--steps", "noise"]) == 0
    assert run_cli([*args, "--steps", "noise"]) == 0  # same parameters: skipped
    assert "4 skipped" in capsys.readouterr().out
    assert run_cli([*args, "--steps", "noise,ground"]) == 2
    assert "steps noise -> noise,ground" in capsys.readouterr().err


def _count_far(cloud, ctx):
    """Tile function: how many points a read 30 m past the tile finds."""
    far = ctx.read(ctx.tile.buffered(30.0))
    return {"far": 0 if far is None else len(far), "extent": list(ctx.extent)}


def test_a_task_can_read_farther_than_its_buffer(scene_dir, tmp_path):
    from pcrs.tiling.engine import run
    from pcrs.tiling.grid import TileGrid

    files = sorted(scene_dir.glob("*.laz"))
    whole = las.read(files[0]).concatenate([las.read(f) for f in files])
    summary = run(_count_far, files, tmp_path / "o", grid=TileGrid(50), buffer=5.0,
                  outputs=(), executor="serial")  # fmt: skip
    assert len(summary.done) == 4
    for r in summary.done:
        tile = TileGrid(50).tile_from_name(r.name)
        box = tile.buffered(30.0)
        assert r.info["far"] == int(whole.in_box(*box).sum())
        assert r.info["extent"][0] == pytest.approx(whole.x.min(), abs=0.01)
    assert not list((tmp_path / "o").glob(".pcrs-sources-*"))  # the index is removed


def test_process_dtm_equals_the_whole_dtm_on_a_sparse_scene_with_a_lake(tmp_path):
    """0.05-0.3 ground points/m², a 150 m lake across a tile edge, 200 m tiles, 15 m buffer:
    the mosaic of pcrs process equals one TIN of all points (a fixed buffer is off by metres,
    tests/test_seamless_dtm.py::test_a_fixed_buffer_is_not_enough_on_the_sparse_scene)."""
    from pcrs.io.crs import parse_crs
    from pcrs.io.raster import read_raster
    from pcrs.raster import dtm
    from test_seamless_dtm import _sparse_scene

    cloud = _sparse_scene()
    cloud.crs = parse_crs("EPSG:2154")
    las.write(cloud, tmp_path / "sparse.laz")
    out = tmp_path / "out"
    summary = process([tmp_path / "sparse.laz"], out, tile_size=200.0, buffer=15.0, steps=(),
                      products=("dtm",), resolution=1.0, executor="serial")  # fmt: skip
    facts = [r["info"] for r in summary["rasterize"]["results"]]
    assert max(f["dtm_reads"] for f in facts) > 1  # some tiles had to read farther
    assert all(f["dtm_unproven"] == 0 for f in facts)
    mosaic = read_raster(out / "dtm.vrt")
    whole = dtm(las.read(tmp_path / "sparse.laz"), mosaic.grid)
    assert np.array_equal(np.isnan(mosaic.data), np.isnan(whole))
    assert np.nanmax(np.abs(mosaic.data - whole)) <= 1e-3
