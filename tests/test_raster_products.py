"""Products on synthetic scenes with known truth: DTM accuracy, DSM/CHM, density, intensity."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree

from pcrs.errors import NoGroundPointsWarning, ParameterError
from pcrs.points import PointCloud
from pcrs.raster import (
    DTM_CLASSES,
    PRODUCTS,
    RasterGrid,
    chm,
    dsm,
    dtm,
    hillshade,
    quicklook,
    rasterize,
)


@pytest.fixture(scope="module")
def scene_rasters(small_scene):
    cloud = small_scene.cloud
    terrain = rasterize(cloud, "dtm", 0.5)
    grid = terrain.grid
    surface = dsm(cloud, grid)
    return cloud, grid, terrain.data, surface


def _centres(grid):
    return np.meshgrid(grid.column_centers(), grid.row_centers())


def test_dtm_follows_the_true_ground(small_scene, scene_rasters):
    cloud, grid, terrain, _ = scene_rasters
    gx, gy = _centres(grid)
    err = terrain - small_scene.ground_z(gx, gy)
    ground = cloud[np.isin(cloud.classification, DTM_CLASSES)]
    d, _ = cKDTree(np.column_stack([ground.x, ground.y])).query(
        np.column_stack([gx.ravel(), gy.ravel()])
    )
    near = (d.reshape(grid.shape) < 1.0) & np.isfinite(err)
    assert near.mean() > 0.8
    # ground points have ~3 cm of noise; the kerb, embankment and river edges are steps
    assert np.median(np.abs(err[near])) < 0.03
    assert np.percentile(np.abs(err[near]), 90) < 0.10
    # the building gaps are bridged (IGN's MNT has no hole under buildings)
    assert np.isfinite(terrain[2:-2, 2:-2]).mean() > 0.99


def test_dsm_above_dtm_and_buildings_stand_out(small_scene, scene_rasters):
    _, grid, terrain, surface = scene_rasters
    ok = np.isfinite(terrain) & np.isfinite(surface)
    assert np.percentile((surface - terrain)[ok], 1) > -0.1
    b = small_scene.buildings[0]
    r, c, inside = grid.cell_of(np.array([b.cx]), np.array([b.cy]))
    assert inside[0]
    assert surface[r[0], c[0]] - terrain[r[0], c[0]] > 0.8 * b.height


def test_chm_plain_and_pitfree(small_scene, scene_rasters):
    cloud, grid, terrain, surface = scene_rasters
    plain = chm(cloud, grid, terrain=terrain, surface=surface)
    assert np.nanmin(plain) >= 0
    np.testing.assert_allclose(
        plain[np.isfinite(plain)], np.maximum(surface - terrain, 0)[np.isfinite(plain)]
    )
    pit = chm(cloud, grid, terrain=terrain, pitfree=True)
    assert np.nanmin(pit) >= 0
    # tall trees: the pit-free CHM reaches the crown tops of the tallest trees
    t = max(small_scene.trees, key=lambda t: t.top)
    r, c, _ = grid.cell_of(np.array([t.cx]), np.array([t.cy]))
    win = (slice(max(r[0] - 4, 0), r[0] + 5), slice(max(c[0] - 4, 0), c[0] + 5))
    assert np.nanmax(pit[win]) > 0.8 * t.top

    # pits: inside crowns, the pit-free surface has fewer sharp drops than DSM - DTM
    def pits(a):
        from scipy import ndimage

        return np.nansum((ndimage.maximum_filter(np.nan_to_num(a), 3) - a) > 3.0)

    assert pits(pit) <= pits(plain)


def test_density_counts_every_point():
    rng = np.random.default_rng(0)
    n = 5000
    x, y = rng.uniform(0, 20, n), rng.uniform(0, 20, n)
    nr = rng.integers(1, 4, n)
    rn = np.minimum(rng.integers(1, 4, n), nr)
    cloud = PointCloud(x, y, np.zeros(n), {"return_number": rn, "number_of_returns": nr})
    r = rasterize(cloud, "density", 2.0)
    assert r.data.shape == (2, 10, 10)
    assert r.band_names == ["all_returns", "last_returns"]
    assert r.data[0].sum() * 4.0 == pytest.approx(n)
    assert r.data[1].sum() * 4.0 == pytest.approx((rn == nr).sum())


def test_intensity_mean_of_first_returns():
    x = np.array([0.5, 0.6, 0.7, 1.5])
    y = np.array([0.5, 0.5, 0.5, 0.5])
    cloud = PointCloud(
        x, y, np.zeros(4),
        {"intensity": np.array([10, 20, 1000, 7], np.uint16),
         "return_number": np.array([1, 1, 2, 1]), "number_of_returns": np.array([1, 2, 2, 1])},
    )  # fmt: skip
    grid = RasterGrid(0.0, 1.0, 1.0, 2, 1)
    out = PRODUCTS["intensity"](cloud, grid)
    assert out.tolist() == [[15.0, 7.0]]


def test_no_ground_warns_and_gives_an_empty_dtm():
    cloud = PointCloud(np.arange(4.0), np.arange(4.0), np.zeros(4), {"classification": np.ones(4)})
    with pytest.warns(NoGroundPointsWarning, match="classify the ground"):
        out = dtm(cloud, RasterGrid(0.0, 4.0, 1.0, 4, 4))
    assert np.isnan(out).all()


def test_errors_name_the_choices(small_scene):
    with pytest.raises(ParameterError, match="unknown product 'mnt'"):
        rasterize(small_scene.cloud, "mnt")
    with pytest.raises(ParameterError, match="unknown method 'kriging'"):
        rasterize(small_scene.cloud, "dtm", method="kriging")
    with pytest.raises(ParameterError, match="no classification"):
        dtm(PointCloud(np.zeros(3), np.zeros(3), np.zeros(3)), RasterGrid(0, 1, 1, 1, 1))


def test_hillshade_and_quicklook():
    flat = np.zeros((10, 10))
    hs = hillshade(flat, 1.0, altitude=45)
    np.testing.assert_allclose(hs, 255 * np.sin(np.radians(45)))
    # a slope facing the north-west sun is brighter than one facing away
    gx = np.tile(np.arange(10.0), (10, 1))
    assert hillshade(gx, 1.0).mean() > hillshade(-gx, 1.0).mean()  # rising east = facing west
    r = rasterize(
        PointCloud(
            np.array([0, 10, 0, 10.0]), np.array([0, 0, 10, 10.0]), np.array([1, 2, 3, 4.0]),
            {"classification": np.full(4, 2)},
        ),
        "dtm", 1.0,
    )  # fmt: skip
    img = quicklook(r)
    assert img.shape == (2, 10, 10) and img.dtype == np.uint8
    assert (img[1] == 255).sum() == np.isfinite(r.data).sum()
