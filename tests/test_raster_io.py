"""COG, VRT and PNG writing: what QGIS and GDAL need to find in the files."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import rasterio
from pyproj import CRS

from pcrs.errors import OutputExistsError, ParameterError
from pcrs.io.raster import COGProfile, read_raster, write_png, write_raster, write_vrt
from pcrs.raster import Raster, RasterGrid, quicklook

L93 = CRS.from_epsg(2154)


def _raster(width=1500, height=1200, x0=842000.0, y1=6519000.0, res=0.5, seed=0):
    rng = np.random.default_rng(seed)
    data = 200 + np.cumsum(rng.normal(0, 0.01, (height, width)), axis=1)
    data[:20, :30] = np.nan
    return Raster(data, RasterGrid(x0, y1, res, width, height), L93, "dtm", ["dtm"], "m")


def test_cog_is_tiled_compressed_with_overviews_crs_and_nodata(tmp_path):
    r = _raster()
    path = write_raster(r, tmp_path / "dtm.tif")
    with rasterio.open(path) as src:
        assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert src.profile["tiled"] and src.block_shapes[0] == (512, 512)
        assert src.compression.name.lower() == "deflate"
        assert src.overviews(1)  # 1500 px > 512: at least one overview level
        assert src.crs.to_epsg() == 2154
        assert src.nodata == -9999.0
        assert src.dtypes[0] == "float32"
        assert src.transform.c == 842000.0 and src.transform.f == 6519000.0
        assert src.descriptions == ("dtm",) and src.units == ("m",)
        raw = src.read(1)
    assert (raw[:20, :30] == -9999.0).all()
    back = read_raster(path)
    assert back.grid == r.grid and back.product == "dtm"
    assert np.isnan(back.data[:20, :30]).all()
    np.testing.assert_allclose(back.data, r.data, atol=1e-4, equal_nan=True)  # float32
    assert not list(tmp_path.glob("*.part"))


def test_overwrite_is_refused_then_allowed(tmp_path):
    r = _raster(64, 64)
    path = write_raster(r, tmp_path / "a.tif")
    with pytest.raises(OutputExistsError, match="overwrite"):
        write_raster(r, path)
    write_raster(r, path, overwrite=True)


def test_profile_options_and_integer_output(tmp_path):
    assert COGProfile().creation_options()["PREDICTOR"] == "3"
    prof = COGProfile(dtype="int16", nodata=-32768, compress="LZW")
    opts = prof.creation_options()
    assert opts["PREDICTOR"] == "2" and "LEVEL" not in opts
    r = _raster(100, 80)
    path = write_raster(r, tmp_path / "i.tif", profile=prof)
    with rasterio.open(path) as src:
        assert src.dtypes[0] == "int16" and src.nodata == -32768
        assert src.read(1)[50, 50] == round(r.data[50, 50])


def test_multiband_density(tmp_path):
    data = np.stack([np.ones((10, 12)), np.full((10, 12), 0.5)])
    r = Raster(data, RasterGrid(0, 10, 1, 12, 10), L93, "density", ["all_returns", "last_returns"])
    with rasterio.open(write_raster(r, tmp_path / "d.tif")) as src:
        assert src.count == 2 and src.descriptions == ("all_returns", "last_returns")


def test_vrt_mosaic_of_tiles_equals_the_whole(tmp_path):
    whole = _raster(600, 400)
    g = whole.grid
    tiles = []
    for r0 in (0, 200):
        for c0 in (0, 300):
            sub = RasterGrid(g.xmin + c0 * g.resolution, g.ymax - r0 * g.resolution,
                             g.resolution, 300, 200)  # fmt: skip
            part = Raster(whole.data[r0 : r0 + 200, c0 : c0 + 300], sub, L93, "dtm", ["dtm"])
            tiles.append(write_raster(part, tmp_path / "dtm" / f"t_{r0}_{c0}.tif"))
    vrt = write_vrt(tiles, tmp_path / "dtm.vrt")
    assert 'relativeToVRT="1"' in vrt.read_text()
    mosaic = read_raster(vrt)
    assert mosaic.grid == g
    np.testing.assert_allclose(mosaic.data, whole.data, atol=1e-4, equal_nan=True)
    # relative paths: the folder can be moved
    moved = shutil.copytree(tmp_path, tmp_path.parent / (tmp_path.name + "_moved"))
    assert read_raster(moved / "dtm.vrt").grid == g


def test_vrt_refuses_misaligned_or_mixed_tiles(tmp_path):
    a = write_raster(_raster(50, 50), tmp_path / "a.tif")
    b = write_raster(_raster(50, 50, x0=842025.25), tmp_path / "b.tif")
    with pytest.raises(ParameterError, match="not aligned"):
        write_vrt([a, b], tmp_path / "m.vrt")
    c = write_raster(_raster(50, 50, x0=842025.0), tmp_path / "c.tif",
                     profile=COGProfile(dtype="float64"))  # fmt: skip
    with pytest.raises(ParameterError, match="identical"):
        write_vrt([a, c], tmp_path / "m.vrt")
    with pytest.raises(ParameterError, match="no raster"):
        write_vrt([], tmp_path / "m.vrt")


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")
def test_png_quicklook(tmp_path):
    r = _raster(120, 100)
    path = write_png(quicklook(r), tmp_path / "q.png")
    with rasterio.open(path) as src:
        assert src.driver == "PNG" and src.count == 2 and src.shape == (100, 120)
    assert not list(tmp_path.glob("*.aux.xml"))
    with pytest.raises(ParameterError, match="uint8"):
        write_png(np.zeros((2, 5, 5)), tmp_path / "bad.png")
