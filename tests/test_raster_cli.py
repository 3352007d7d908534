"""pcrs rasterize and pcrs process: CLI, seamless tiles, agreement with IGN's TIN method."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import rasterio
from click.testing import CliRunner
from scipy import ndimage

from pcrs.cli.main import cli
from pcrs.io import las
from pcrs.io.raster import read_raster
from pcrs.points import PointCloud
from pcrs.raster import DTM_CLASSES, RasterGrid, dsm, dtm


def _run(args):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def test_rasterize_dtm_cog(small_scene_file, tmp_path):
    out = tmp_path / "dtm.tif"
    res = _run(["rasterize", str(small_scene_file), "-o", str(out), "--resolution", "1"])
    assert res.exit_code == 0, res.output
    assert "dtm" in res.output
    with rasterio.open(out) as src:
        assert src.crs.to_epsg() == 2154 and src.nodata == -9999.0
        assert src.res == (1.0, 1.0) and src.transform.c % 1 == 0
    # refused without --overwrite, accepted with it
    again = CliRunner().invoke(cli, ["rasterize", str(small_scene_file), "-o", str(out)])
    assert again.exit_code != 0 and "overwrite" in str(again.exception or again.output)


def test_rasterize_json_density_and_errors(small_scene_file, tmp_path):
    out = tmp_path / "density.tif"
    res = _run(["rasterize", str(small_scene_file), "-o", str(out), "--product", "density",
                "--resolution", "2", "--json"])  # fmt: skip
    facts = json.loads(res.output)
    assert facts["product"] == "density" and facts["resolution"] == 2.0
    with rasterio.open(out) as src:
        assert src.count == 2
        total = src.read(1).sum() * 4
    assert total == pytest.approx(facts["points"])
    from pcrs.errors import ParameterError

    with pytest.raises(ParameterError, match="only for --product dsm"):
        _run(["rasterize", str(small_scene_file), "-o", str(tmp_path / "x.tif"),
              "--method", "max"])  # fmt: skip


def test_rasterize_subprocess_dsm_with_quicklook(small_scene_file, tmp_path):
    out, png = tmp_path / "dsm.tif", tmp_path / "dsm.png"
    proc = subprocess.run(
        [sys.executable, "-m", "pcrs", "rasterize", str(small_scene_file), "-o", str(out),
         "--product", "dsm", "--resolution", "1", "--quicklook", str(png)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert out.exists() and png.exists()
    bad = subprocess.run(
        [sys.executable, "-m", "pcrs", "rasterize", str(small_scene_file), "-o", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2 and "already exists" in bad.stderr


@pytest.fixture(scope="module")
def processed(small_scene, tmp_path_factory):
    """``pcrs process`` of a 100 m x 100 m scene in four 50 m tiles."""
    d = tmp_path_factory.mktemp("process")
    x0, y0, _, _ = small_scene.bounds
    cloud = small_scene.cloud
    cloud = cloud[cloud.in_box(x0, y0, x0 + 99.99, y0 + 99.99)]
    las.write(cloud, d / "scene.laz")
    out = d / "out"
    res = _run(["process", str(d / "scene.laz"), "-o", str(out), "--tile-size", "50",
                "--buffer", "45", "--resolution", "0.5", "--workers", "1", "--json"])  # fmt: skip
    return out, json.loads(res.output)


def test_process_layout_and_summary(processed):
    out, summary = processed
    assert summary["ok"] and summary["classify"]["done"] == 4
    assert summary["rasterize"]["done"] == 4
    for p in ("dtm", "dsm", "chm"):
        assert len(list((out / p).glob("*.tif"))) == 4
        assert (out / f"{p}.vrt").exists()
    assert len(list((out / "tiles").glob("*.laz"))) == 4
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["resolution"] == 0.5 and on_disk["buffer"]["rasterize"] == 45.0
    # each tile raster covers its core area exactly, on the 0.5 m grid
    with rasterio.open(next((out / "dtm").glob("*.tif"))) as src:
        assert src.shape == (100, 100) and src.transform.c % 50 == 0
    # classified tiles hold no buffer
    tiles = [las.read(f) for f in sorted((out / "tiles").glob("*.laz"))]
    assert sum(len(t) for t in tiles) == summary["points_in"]


def test_process_mosaic_is_seamless(processed):
    """The mosaic equals one DTM (and DSM) over all classified tiles at once, within 1 mm."""
    out, _ = processed
    merged = PointCloud.concatenate([las.read(f) for f in sorted((out / "tiles").glob("*.laz"))])
    for name, func in (("dtm", dtm), ("dsm", dsm)):
        mosaic = read_raster(out / f"{name}.vrt")
        whole = func(merged, mosaic.grid)
        valid = np.isfinite(whole)
        # the outer border: pixels next to the empty area outside the data's convex hull
        border = ~ndimage.binary_erosion(valid, iterations=2)
        inner = valid & ~border
        assert inner.mean() > 0.9
        assert np.isfinite(mosaic.data[inner]).all()
        assert np.abs(mosaic.data[inner] - whole[inner]).max() < 1e-3


def test_process_resumes(processed):
    out, _ = processed
    res = _run(["process", str(out.parent / "scene.laz"), "-o", str(out), "--tile-size", "50",
                "--buffer", "45", "--workers", "1", "--json"])  # fmt: skip
    summary = json.loads(res.output)
    assert summary["classify"]["skipped"] == 4 and summary["classify"]["done"] == 0
    assert summary["rasterize"]["skipped"] == 4


def test_process_refuses_a_tile_size_that_splits_pixels(small_scene_file, tmp_path):
    from pcrs.errors import ParameterError

    with pytest.raises(ParameterError, match="multiple of the resolution"):
        _run(["process", str(small_scene_file), "-o", str(tmp_path / "o"), "--tile-size", "50.3"])


# --- agreement with IGN's method on IGN's own ground points ------------------------------

# small files (scipy's point location is slow); benchmarks/bench_tin.py --agreement runs them all
IGN_FILES = [
    "ign-pdal-tools/test_data_77055_627755_LA93_IGN69.laz",
    "pdal-ign-plugin/mnx_input_corse.laz",  # ground and water (class 9)
]


@pytest.mark.shared
@pytest.mark.parametrize("name", IGN_FILES)
def test_dtm_agrees_with_an_independent_tin_linear(lidar_dir, name):
    """pcrs's DTM vs scipy's LinearNDInterpolator (qhull, local coordinates), classes 2/9/66.

    The Delaunay triangulation is unique except where four or more points lie
    exactly on one circle, which IGN's 1 cm coordinate grid makes common; there
    any TIN (PDAL's included) picks one of the valid diagonals, and where the
    four points are far from coplanar (a bank above water) one pixel can differ
    by decimetres. So: the median difference is nil and at least 99 % of the
    pixels agree within 1 mm; that the rest are ties is tested separately
    (``test_delaunay.py``: pcrs's triangulations have no point strictly inside
    any circumcircle, checked exactly).
    """
    from scipy.interpolate import LinearNDInterpolator

    cloud = las.read(lidar_dir / name)
    ground = cloud[np.isin(cloud.classification, DTM_CLASSES)]
    minx, miny, _, maxx, maxy, _ = ground.bounds
    grid = RasterGrid.from_bounds(minx, miny, maxx, maxy, 0.5)
    ours = dtm(ground, grid)
    ref = LinearNDInterpolator(np.column_stack([ground.x - minx, ground.y - miny]), ground.z)
    # every other row and column: scipy's per-pixel point location is slow
    ours = ours[::2, ::2]
    gx, gy = np.meshgrid(grid.column_centers()[::2] - minx, grid.row_centers()[::2] - miny)
    theirs = ref(gx, gy)
    assert (np.isnan(ours) == np.isnan(theirs)).all()
    d = (ours - theirs)[np.isfinite(ours)]
    assert np.median(np.abs(d)) < 1e-6
    assert np.mean(np.abs(d) < 1e-3) > 0.99


def test_process_same_result_on_another_executor(processed, tmp_path):
    """Any concurrent.futures executor gives the same rasters as the serial run."""
    from concurrent.futures import ThreadPoolExecutor

    from pcrs.raster.process import process

    out, _ = processed
    tiles = sorted((out / "tiles").glob("*.laz"))
    kw = dict(tile_size=50, buffer=45, resolution=0.5, steps=(), products=("dtm",))
    serial = process(tiles, tmp_path / "serial", executor="serial", **kw)
    with ThreadPoolExecutor(2) as pool:
        threaded = process(tiles, tmp_path / "threads", executor=pool, **kw)
    assert serial["ok"] and threaded["ok"]
    a = read_raster(tmp_path / "serial" / "dtm.vrt").data
    b = read_raster(tmp_path / "threads" / "dtm.vrt").data
    np.testing.assert_array_equal(a, b)
    # --steps none keeps the classes: the same DTM as the classified run's
    np.testing.assert_array_equal(a, read_raster(out / "dtm.vrt").data)
