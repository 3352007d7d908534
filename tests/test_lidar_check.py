"""LiDAR cross-check of a PCRS delivery (``pcrs validate --lidar``), on a synthetic pair with
known truth: a :func:`pcrs.synth.make_scene` cloud and a delivery drawn from its buildings and
its true ground (:func:`pcrs.vector.sample.scene_features`), with defects planted one at a time."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
import shapely
from click.testing import CliRunner

from pcrs import synth
from pcrs.cli.main import FindingsExit, cli, main
from pcrs.errors import CRSError, MissingCRSError, PcrsIOError
from pcrs.io import las
from pcrs.vector.lidar_check import LidarOptions, cross_check, validate_with_lidar
from pcrs.vector.rules import RULES
from pcrs.vector.sample import scene_features, write_scene_delivery

LIDAR_RULES = [r for r in RULES if r.startswith("PCRS-LIDAR-")]


@pytest.fixture(scope="module")
def scene():
    return synth.make_scene(300_000, seed=5)


@pytest.fixture(scope="module")
def lidar(scene, tmp_path_factory):
    d = tmp_path_factory.mktemp("lidar")
    las.write(scene.cloud, d / "scene.laz")
    return d


def _features(scene):
    return [replace(f, coords=f.coords.copy()) for f in scene_features(scene)]


def _write(tmp_path, features, name="d.gml", **kw):
    return write_scene_delivery(tmp_path / name, features, **kw)


def _rules(result):
    return sorted(f.rule for f in result.findings)


def test_clean_pair_has_no_lidar_finding(scene, lidar, tmp_path):
    result = cross_check(_write(tmp_path, _features(scene)), lidar)
    assert result.findings == []
    z = result.stats["z"]
    # every ground-level vertex found its ground, and the TIN is within a few cm of the truth
    assert z["compared"] == z["vertices"] > 50
    assert abs(z["bias"]) < 0.05 and z["rmse"] < 0.08
    assert result.stats["facades"]["judged"] == len(scene.buildings)
    assert result.stats["facades"]["building_on_right"] == 0
    assert result.stats["buildings"]["lidar_buildings"] == len(scene.buildings)


def test_only_the_points_of_the_delivery_extent_are_kept(scene, lidar, tmp_path):
    feats = [f for f in _features(scene) if f.cls == "ArbrePCRS"][:1]
    result = cross_check(_write(tmp_path, feats), lidar)
    x, y = feats[0].coords[0, :2]
    m = LidarOptions().margin + 1.0  # emprise 1 m around the objects, then the margin
    cloud = scene.cloud
    expected = cloud.in_box(x - m, y - m, x + m, y + m).sum()
    assert result.stats["points_read"] == expected < len(cloud) / 50


def test_a_line_raised_by_80_cm_is_found_on_that_line(scene, lidar, tmp_path):
    feats = _features(scene)
    line = next(f for f in feats if f.cls == "LimiteVoiriePCRS")
    line.coords[:, 2] += 0.8
    result = cross_check(_write(tmp_path, feats), lidar)
    assert _rules(result) == ["PCRS-LIDAR-001"]
    (f,) = result.findings
    assert f.gml_id == line.gml_id and f.feature_class == "LimiteVoiriePCRS"
    assert f.id_objet == line.gml_id and f.line is not None
    assert "+0.8" in f.message("en")
    # located on a vertex of the line
    assert (
        np.min(np.hypot(line.coords[:, 0] - f.x, line.coords[:, 1] - f.y)) < 1e-3
    )  # mm in the GML


@pytest.mark.parametrize("method", ["plane", "tin"])
def test_both_ground_methods_agree_with_the_truth(scene, lidar, tmp_path, method):
    feats = _features(scene)
    line = next(f for f in feats if f.cls == "LimiteVoiriePCRS")
    line.coords[:, 2] += 0.8
    result = cross_check(_write(tmp_path, feats), lidar, options=LidarOptions(z_method=method))
    assert [f.gml_id for f in result.findings] == [line.gml_id]
    assert abs(float(result.findings[0].params["residual"]) - 0.8) < 0.05


def test_a_tolerance_above_the_error_silences_it(scene, lidar, tmp_path):
    feats = _features(scene)
    next(f for f in feats if f.cls == "LimiteVoiriePCRS").coords[:, 2] += 0.8
    result = cross_check(_write(tmp_path, feats), lidar, options=LidarOptions(z_tolerance=1.0))
    assert result.findings == []


def test_a_whole_delivery_45_m_too_high_is_one_datum_error(scene, lidar, tmp_path):
    feats = _features(scene)
    for f in feats:
        f.coords[:, 2] += 45.0
    result = cross_check(_write(tmp_path, feats), lidar)
    assert _rules(result) == ["PCRS-LIDAR-002"]
    assert result.findings[0].severity == "error"
    assert abs(result.stats["z"]["bias"] - 45.0) < 0.05
    assert "NGF-IGN69" in result.findings[0].message("en")


def test_a_facade_8_m_from_its_building(scene, lidar, tmp_path):
    feats = _features(scene)
    footprints = [b.footprint() for b in scene.buildings]
    moved = None
    for i, f in enumerate(f for f in feats if f.cls == "FacadePCRS"):
        a, b = f.coords[0, :2], f.coords[1, :2]
        u = (b - a) / np.hypot(*(b - a))
        right = np.array([u[1], -u[0]])  # outside: the interior is on the left
        side = np.vstack([a, b]) + 8.0 * right
        if min(fp.distance(shapely.LineString(side)) for fp in footprints) > 4.0:
            f.coords = np.column_stack([side, scene.ground_z(side[:, 0], side[:, 1])])
            moved = (i, f)
            break
    assert moved is not None, "no building with 8 m of free space beside it"
    result = cross_check(_write(tmp_path, feats), lidar)
    (bad,) = [x for x in result.findings if x.rule == "PCRS-LIDAR-004"]
    assert bad.gml_id == moved[1].gml_id and "0%" in bad.message("en")
    # the building it belonged to is now a building with no façade nearby
    (missing,) = [x for x in result.findings if x.rule == "PCRS-LIDAR-007"]
    assert footprints[moved[0]].distance(shapely.Point(missing.x, missing.y)) == 0
    assert set(_rules(result)) == {"PCRS-LIDAR-004", "PCRS-LIDAR-007"}


def test_a_building_without_facade_is_not_surveyed(scene, lidar, tmp_path):
    feats = _features(scene)
    gone = f"{'FR_SCENE'}_fa2"
    feats = [f for f in feats if f.gml_id != gone]
    result = cross_check(_write(tmp_path, feats), lidar)
    assert _rules(result) == ["PCRS-LIDAR-007"]
    f = result.findings[0]
    b = scene.buildings[2]
    assert np.hypot(f.x - b.cx, f.y - b.cy) < 2.0
    area = 4 * b.half_length * b.half_width
    assert 0.7 * area < float(f.params["area"]) < 1.5 * area


def test_reversed_facades(scene, lidar, tmp_path):
    feats = _features(scene)
    facades = [f for f in feats if f.cls == "FacadePCRS"]
    facades[1].coords = facades[1].coords[::-1].copy()
    one = cross_check(_write(tmp_path, feats, "one.gml"), lidar)
    assert _rules(one) == ["PCRS-LIDAR-006"] and one.findings[0].gml_id == facades[1].gml_id
    for f in facades:  # now the others have the building on the right, and facades[1] not
        f.coords = f.coords[::-1].copy()
    allr = cross_check(_write(tmp_path, feats, "all.gml"), lidar)
    assert _rules(allr) == ["PCRS-LIDAR-005"]
    assert allr.findings[0].params == {"count": len(facades) - 1, "total": len(facades)}


def test_roof_overhangs_do_not_flip_the_side(scene, tmp_path):
    """Real roofs overhang the façade line by some decimetres: building points on the outer
    side too. The side is decided beyond them (1.0-1.5 m), so nothing changes."""
    from pcrs.points import PointCloud

    rng = np.random.default_rng(1)
    parts = [scene.cloud]
    for b in scene.buildings:
        fp = b.footprint()
        band = fp.buffer(0.6, join_style="mitre").difference(fp)
        x0, y0, x1, y1 = band.bounds
        n = int((x1 - x0) * (y1 - y0) * 10)
        x, y = x0 + rng.random(n) * (x1 - x0), y0 + rng.random(n) * (y1 - y0)
        keep = shapely.contains_xy(band, x, y)
        z = scene.ground_z(x[keep], y[keep]) + b.height
        parts.append(
            PointCloud(x[keep], y[keep], z, {"classification": np.full(keep.sum(), 6, np.uint8)},
                       scene.cloud.crs)
        )  # fmt: skip
    cloud = PointCloud.concatenate(
        [PointCloud(p.x, p.y, p.z, {"classification": p.classification}, p.crs) for p in parts]
    )
    las.write(cloud, tmp_path / "overhang.laz")
    feats = _features(scene)
    result = cross_check(_write(tmp_path, feats), tmp_path / "overhang.laz")
    assert result.findings == []
    assert result.stats["facades"]["side_decided"] == len(scene.buildings)
    facade = next(f for f in feats if f.cls == "FacadePCRS")
    facade.coords = facade.coords[::-1].copy()
    flipped = cross_check(_write(tmp_path, feats, "r.gml"), tmp_path / "overhang.laz")
    assert [(f.rule, f.gml_id) for f in flipped.findings] == [("PCRS-LIDAR-006", facade.gml_id)]


def test_affleurants_standing_above_ground_are_not_compared(scene, lidar, tmp_path):
    feats = _features(scene)
    aff = next(f for f in feats if f.cls == "AffleurantPointPCRS")
    aff.coords[:, 2] += 1.2  # the top of a cabinet
    aff.attrs["nature"] = "02"
    assert cross_check(_write(tmp_path, feats, "a.gml"), lidar).findings == []
    aff.attrs["nature"] = "03"  # a manhole cover: must be flush with the ground
    result = cross_check(_write(tmp_path, feats, "b.gml"), lidar)
    assert _rules(result) == ["PCRS-LIDAR-001"]
    f = result.findings[0]
    # reported on the point, with the idObjet of its AffleurantPCRS
    assert f.gml_id == f"{aff.gml_id}_pt" and f.id_objet == aff.gml_id


def test_objects_outside_the_lidar_are_counted_not_judged(scene, tmp_path):
    x0, _, x1, _ = scene.bounds
    cut = x0 + 0.2 * (x1 - x0)
    las.write(scene.cloud[scene.cloud.x < cut], tmp_path / "west.laz")
    result = cross_check(_write(tmp_path, _features(scene)), tmp_path / "west.laz")
    assert _rules(result) == ["PCRS-LIDAR-009"]
    z = result.stats["z"]
    assert 0 < z["compared"] < z["vertices"]
    assert result.findings[0].params["count"] == z["vertices"] - z["compared"]
    # façades beyond the cut have no LiDAR under them: not judged, not reported
    assert result.stats["facades"]["judged"] < len(scene.buildings)


def test_lidar_without_classes(scene, tmp_path):
    cloud = scene.cloud.copy()
    cloud["classification"] = np.ones(len(cloud), np.uint8)
    las.write(cloud, tmp_path / "raw.laz")
    result = cross_check(_write(tmp_path, _features(scene)), tmp_path / "raw.laz")
    assert _rules(result) == ["PCRS-LIDAR-003", "PCRS-LIDAR-008"]
    assert "pcrs classify" in result.findings[0].message("en")


def test_raw_lidar_classified_with_pcrs_classify_as_advised(tmp_path):
    """The advice of PCRS-LIDAR-003/008 works: the same points with their classes wiped, then
    ``pcrs classify --steps noise,ground,buildings``, give a clean cross-check again."""
    small = synth.make_scene(100_000, seed=2)
    cloud = small.cloud.copy()
    cloud["classification"] = np.ones(len(cloud), np.uint8)
    las.write(cloud, tmp_path / "raw.laz")
    gml = _write(tmp_path, scene_features(small))
    assert _rules(cross_check(gml, tmp_path / "raw.laz")) == ["PCRS-LIDAR-003", "PCRS-LIDAR-008"]
    out = tmp_path / "classified"
    out.mkdir()
    res = CliRunner().invoke(
        cli, ["classify", str(tmp_path / "raw.laz"), "-o", str(out / "c.laz"),
              "--steps", "noise,ground,buildings"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    result = cross_check(gml, out)
    assert result.findings == []
    assert result.stats["facades"]["along_buildings"] == len(small.buildings)


def test_crs_mismatch_names_both_codes(scene, tmp_path):
    cloud = scene.cloud.copy()
    cloud.crs = None
    las.write(cloud, tmp_path / "nocrs.laz")
    gml = _write(tmp_path, _features(scene))
    with pytest.raises(MissingCRSError, match="--lidar-crs"):
        cross_check(gml, tmp_path / "nocrs.laz")
    with pytest.raises(CRSError, match=r"EPSG:3946.*EPSG:2154"):
        cross_check(gml, tmp_path / "nocrs.laz", lidar_crs="EPSG:3946")
    # the right CRS given by hand: the check runs
    assert cross_check(gml, tmp_path / "nocrs.laz", lidar_crs="EPSG:2154").findings == []


def test_no_overlap(scene, lidar, tmp_path):
    feats = _features(scene)
    for f in feats:
        f.coords[:, 0] += 5000.0
    with pytest.raises(PcrsIOError, match="no LiDAR file overlaps the delivery"):
        cross_check(_write(tmp_path, feats), lidar)


def test_copc_windows_read_each_point_once(shared_data, tmp_path):
    path = shared_data / "lidar" / "laspy" / "simple.copc.laz"
    if not path.exists():
        pytest.skip(f"{path} not found")
    full = las.read(path)
    x0, y0, x1, y1 = (float(v) for v in np.array(full.bounds)[[0, 1, 3, 4]])
    # one tree in the middle of the file, srs of the same (US feet) CRS as given by hand
    from pcrs.vector.sample import SceneFeature

    xy = np.array([[(x0 + x1) / 2, (y0 + y1) / 2, 400.0]])
    feats = [SceneFeature("ArbrePCRS", "T1", xy)]
    half = 700.0
    gml = _write(
        tmp_path, feats, srs="EPSG:2994", emprise=(xy[0, 0] - half, xy[0, 1] - half,
                                                   xy[0, 0] + half, xy[0, 1] + half)
    )  # fmt: skip
    opts = LidarOptions(window=300.0, margin=0.0)
    result = cross_check(gml, path, lidar_crs="EPSG:2994", options=opts)
    box = (xy[0, 0] - half, xy[0, 1] - half, xy[0, 0] + half, xy[0, 1] + half)
    assert result.stats["points_read"] == full.in_box(*box).sum() > 0


IGN_TILES = [f"test_data_{x}_{y}_LA93_IGN69.laz" for x in (77050, 77055, 77060)
             for y in (627755, 627760)]  # fmt: skip


def test_real_ign_tiles(lidar_dir, tmp_path):
    """Six real IGN LiDAR HD extracts (50 m tiles, LAS 1.4): points placed on their ground with
    the median Z of the ground points within 1.5 m (an estimate independent of the check's
    plane fit) compare within a few cm, across tile borders; one raised by 1 m is found; the
    buildings of the LiDAR (no façade in this delivery) are reported on building points; a
    file elsewhere in the list is not read."""
    from scipy.spatial import cKDTree

    from pcrs.vector.sample import SceneFeature

    folder = lidar_dir / "ign-pdal-tools"
    paths = [folder / n for n in IGN_TILES]
    far = folder / "Semis_2022_0906_6665_LA93_IGN69_ok.laz"
    if not all(p.exists() for p in [*paths, far]):
        pytest.skip(f"IGN extracts not found in {folder}")
    from pcrs.points import PointCloud

    cloud = PointCloud.concatenate([las.read(p) for p in paths])
    ground = cloud[cloud.classification == 2]
    gxy = np.column_stack([ground.x, ground.y])
    tree = cKDTree(gxy)
    rng = np.random.default_rng(0)
    picks = []
    for i in rng.permutation(len(ground)):
        near = tree.query_ball_point(gxy[i], 1.5)
        if len(near) >= 12:
            picks.append((gxy[i, 0], gxy[i, 1], float(np.median(ground.z[near]))))
        if len(picks) == 40:
            break
    feats = [SceneFeature("ArbrePCRS", f"T{k}", np.array([p])) for k, p in enumerate(picks)]
    gml = _write(tmp_path, feats, "ign.gml")
    result = cross_check(gml, [*paths, far])
    z = result.stats["z"]
    assert z["compared"] == 40 and abs(z["bias"]) < 0.05 and z["p95_abs"] < 0.15
    assert far.name not in " ".join(result.stats["lidar_files"])
    assert not [f for f in result.findings if f.rule == "PCRS-LIDAR-001"]
    seen = [f for f in result.findings if f.rule == "PCRS-LIDAR-007"]
    assert seen  # buildings in the LiDAR, and no façade in this delivery
    b = cloud[cloud.classification == 6]
    btree = cKDTree(np.column_stack([b.x, b.y]))
    assert all(btree.query([f.x, f.y])[0] < 3.0 for f in seen)
    feats[7].coords[:, 2] += 1.0
    raised = cross_check(_write(tmp_path, feats, "ign2.gml"), paths)
    assert [f.gml_id for f in raised.findings if f.rule == "PCRS-LIDAR-001"] == ["T7"]


def test_a_broken_file_in_the_lidar_folder_is_named(lidar_dir, tmp_path, scene):
    folder = lidar_dir / "ign-pdal-tools"
    bad = folder / "Semis_2022_0906_6665_LA93_IGN69_nok.laz"
    if not bad.exists():
        pytest.skip(f"{bad} not found")
    with pytest.raises(PcrsIOError, match=bad.name):
        cross_check(_write(tmp_path, _features(scene)), folder)


def test_real_lyon_delivery_and_ign_lidar_do_not_share_a_crs(pcrs_dir, lidar_dir):
    # the shared data holds no overlapping pair: Lyon is in CC46, the IGN extracts in L93
    gml = pcrs_dir / "cnig" / "examples" / "lyon" / "20200716.RIL_L262_C336_P0.gml"
    with pytest.raises(CRSError, match=r"EPSG:2154.*EPSG:3946"):
        cross_check(gml, lidar_dir / "las-digital-models")


# --- reading apart from computing --------------------------------------------------------------


def test_the_checks_take_point_clouds_and_open_no_file(scene, lidar, tmp_path, monkeypatch):
    """The compute side (digest, Z, façades, completeness) works on clouds from anywhere: fed
    the scene's points in memory, in three pieces, with every LiDAR reader of pcrs.io and
    ``open`` forbidden, it finds what :func:`cross_check` finds on the file."""
    import builtins

    from pcrs.vector.gml import ARC_TOLERANCE
    from pcrs.vector.lidar_check import compare
    from pcrs.vector.lidar_check_delivery import read_delivery
    from pcrs.vector.lidar_check_digest import LidarDigest

    feats = [f for f in _features(scene) if f.gml_id != "FR_SCENE_fa2"]
    facades = [f for f in feats if f.cls == "FacadePCRS"]
    facades[1].coords = facades[1].coords[::-1].copy()
    next(f for f in feats if f.cls == "LimiteVoiriePCRS").coords[:, 2] += 0.8
    gml = _write(tmp_path, feats)
    expected = cross_check(gml, lidar)
    assert _rules(expected) == ["PCRS-LIDAR-001", "PCRS-LIDAR-006", "PCRS-LIDAR-007"]

    opt = LidarOptions()
    d = read_delivery([gml], set(opt.ground_level), ARC_TOLERANCE)
    m = opt.margin
    box = (d.bounds[0] - m, d.bounds[1] - m, d.bounds[2] + m, d.bounds[3] + m)
    cloud = scene.cloud

    def forbidden(*args, **kwargs):
        raise AssertionError("the compute side opened a file")

    for name in ("read", "iter_chunks", "read_window", "info"):
        monkeypatch.setattr(las, name, forbidden)
    monkeypatch.setattr(builtins, "open", forbidden)
    digest = LidarDigest(box, d.vertices()[0], opt)
    for part in np.array_split(np.arange(len(cloud)), 3):
        digest.take(cloud[part])
    stats: dict = {}
    findings = compare(d, digest, opt, stats, str(gml))
    monkeypatch.undo()
    assert findings == expected.findings
    assert digest.points == expected.stats["points_read"]
    for key in ("z", "facades", "buildings"):
        assert stats[key] == expected.stats[key]


def test_copc_reading_plan_takes_each_point_once(lidar):
    """The reading plan of a COPC file: windows over the part of the box the file covers, each
    closed on its west and south edges only, except the last of a row or column."""
    from dataclasses import replace as with_fields

    from pcrs.vector.lidar_check_read import reading_plan

    info = las.info(lidar / "scene.laz")
    assert [(j.info, j.window) for j in reading_plan([info], (0, 0, 1e7, 1e7), 50.0)] == [
        (info, None)
    ]  # not COPC: read whole, in chunks
    copc = with_fields(info, copc=True)
    x0, y0, _, x1, y1, _ = info.bounds
    box = (x0 - 5.0, y0 + 3.25, x1 - 20.0, y1 + 9.0)
    jobs = reading_plan([copc], box, 40.0)
    assert len(jobs) > 4 and all(j.window is not None for j in jobs)
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(x0, box[2], 5000), [w[0] for j in jobs for w in [j.window]]])
    y = np.concatenate([rng.uniform(box[1], y1, 5000), [w[3] for j in jobs for w in [j.window]]])
    taken = np.zeros(x.size, int)
    for j in jobs:
        xa, ya, xb, yb = j.window
        inside = (x >= xa) & (x <= xb) & (y >= ya) & (y <= yb)  # what read_window returns
        taken += inside & ((x < xb) | j.last_x) & ((y < yb) | j.last_y)
    assert (taken == 1).all()


def test_lidar_rasters_are_raster_grids_with_rows_from_the_south():
    """The building and coverage rasters are RasterGrids aligned on their cell; a point on a
    cell line belongs to the cell north and east of it (the rule the results were made with)."""
    from pcrs.raster.grid import RasterGrid
    from pcrs.vector.lidar_check_digest import cell_centres, cells, grid_over

    g = grid_over((10.2, 20.7, 13.0, 23.9), 0.5)
    assert isinstance(g, RasterGrid)
    assert (g.xmin, -g.ymax, g.resolution, g.width, g.height) == (10.0, 20.5, 0.5, 6, 7)
    x = np.array([10.0, 10.49, 10.5, 12.9, 13.0, 9.99])
    y = np.array([20.5, 20.5, 21.0, 23.9, 21.0, 21.0])
    idx, inside = cells(g, x, y)
    assert inside.tolist() == [True] * 4 + [False] * 2
    assert idx[:4].tolist() == [0, 0, 1 * 6 + 1, 6 * 6 + 5]  # row 0 is the southern row
    cx, cy = cell_centres(g, idx[:4])
    assert cx.tolist() == [10.25, 10.25, 10.75, 12.75]
    assert cy.tolist() == [20.75, 20.75, 21.25, 23.75]


# --- command line -----------------------------------------------------------------------------


def test_cli_clean_exit_0_and_reports_carry_the_statistics(scene, lidar, tmp_path):
    gml = _write(tmp_path, _features(scene))
    out = tmp_path / "r.json"
    res = CliRunner().invoke(
        cli, ["validate", "--no-schema", str(gml), "--lidar", str(lidar), "--json", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "LiDAR cross-check: 1 file(s)" in res.output
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["summary"]["lidar"]["z"]["compared"] > 50
    assert not [f for f in data["findings"] if f["rule"].startswith("PCRS-LIDAR")]


def test_cli_datum_error_exit_1_in_every_report(scene, lidar, tmp_path):
    feats = _features(scene)
    for f in feats:
        f.coords[:, 2] += 45.0
    gml = _write(tmp_path, feats)
    args = ["validate", "--no-schema", str(gml), "--lidar", str(lidar), "--lang", "fr",
            "--json", str(tmp_path / "r.json"), "--html", str(tmp_path / "r.html")]  # fmt: skip
    res = CliRunner().invoke(cli, args)
    assert isinstance(res.exception, FindingsExit), res.output
    assert "PCRS-LIDAR-002" in res.output and "contrôle LiDAR" in res.output
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert data["summary"]["by_rule"]["PCRS-LIDAR-002"]["count"] == 1
    assert "PCRS-LIDAR-002" in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_cli_z_tolerance(scene, lidar, tmp_path):
    feats = _features(scene)
    next(f for f in feats if f.cls == "LimiteVoiriePCRS").coords[:, 2] += 0.5
    gml = _write(tmp_path, feats)
    base = ["validate", "--no-schema", str(gml), "--lidar", str(lidar)]
    res = CliRunner().invoke(cli, base)
    assert res.exit_code == 0 and "PCRS-LIDAR-001" in res.output  # a warning: exit 0
    res = CliRunner().invoke(cli, [*base, "--z-tolerance", "0.6"])
    assert res.exit_code == 0 and "PCRS-LIDAR-001" not in res.output


def _run_main(args, capsys):
    with pytest.raises(SystemExit) as exc:
        main(args)
    return exc.value.code, capsys.readouterr().err


def test_cli_bad_lidar_input_exit_2_in_one_sentence(scene, tmp_path, capsys):
    gml = _write(tmp_path, _features(scene))
    base = ["validate", "--no-schema", str(gml), "--lidar"]
    code, err = _run_main([*base, str(tmp_path / "missing")], capsys)
    assert code == 2 and "no such folder" in err and "Traceback" not in err
    empty = tmp_path / "empty"
    empty.mkdir()
    code, err = _run_main([*base, str(empty)], capsys)
    assert code == 2 and "no .las or .laz file" in err
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "tile.laz").write_bytes(b"LASF" + b"\0" * 50)
    code, err = _run_main([*base, str(broken)], capsys)
    assert code == 2 and "tile.laz" in err and len(err.strip().splitlines()) == 1
    nocrs = tmp_path / "nocrs"
    nocrs.mkdir()
    cloud = scene.cloud[np.arange(1000)]
    cloud.crs = None
    las.write(cloud, nocrs / "a.laz")
    code, err = _run_main([*base, str(nocrs)], capsys)
    assert code == 2 and "--lidar-crs" in err


def test_cli_subprocess(scene, lidar, tmp_path):
    feats = [f for f in _features(scene) if f.gml_id != "FR_SCENE_fa0"]
    gml = _write(tmp_path, feats)
    gpkg = tmp_path / "r.gpkg"
    proc = subprocess.run(
        [sys.executable, "-m", "pcrs", "validate", "--no-schema", str(gml), "--lidar", str(lidar),
         "--gpkg", str(gpkg)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr  # a building not surveyed is a warning
    assert "PCRS-LIDAR-007" in proc.stdout
    import sqlite3

    rows = sqlite3.connect(gpkg).execute("select rule from findings").fetchall()
    assert ("PCRS-LIDAR-007",) in rows  # located findings go to the GeoPackage layer


def test_python_api_in_one_report(scene, lidar, tmp_path):
    gml = _write(tmp_path, _features(scene))
    report = validate_with_lidar(gml, lidar, schemas=False)
    assert not report.has_errors and report.summary()["lidar"]["z"]["compared"] > 50


def test_every_lidar_rule_speaks_both_languages_and_has_a_test():
    from pathlib import Path

    source = Path(__file__).read_text(encoding="utf-8").split("def test_every_lidar_rule")[0]
    assert len(LIDAR_RULES) == 9
    for rid in LIDAR_RULES:
        r = RULES[rid]
        assert r.message_fr != r.message_en and r.title_fr and r.title_en
        assert f'"{rid}"' in source, f"{rid} is asserted by no test of this file"


def test_cli_choices_follow_the_registry():
    from pcrs.cli.validate import validate as command
    from pcrs.vector.lidar_check import Z_METHODS

    (opt,) = [p for p in command.params if p.name == "z_method"]
    assert list(opt.type.choices) == list(Z_METHODS) and opt.default == Z_METHODS[0]
