"""Scene rules on real IGN LiDAR HD extracts, the pipeline steps and ``pcrs classify``."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from pcrs import synth
from pcrs.classify.height import height_above_ground
from pcrs.classify.pipeline import STEPS, classify
from pcrs.classify.scene import SCENE_PIPELINE_STEPS, classify_scene
from pcrs.cli.main import cli
from pcrs.io import las


def _iou(a, b):
    return (a & b).sum() / max((a | b).sum(), 1)


def _rules_on_ign_ground(path):
    cloud = las.read(path)
    ref = np.asarray(cloud.classification)
    hag = height_above_ground(cloud, np.isin(ref, (2, 9)))
    out = classify_scene(cloud, ref == 2, hag, noise=ref == 65, known_water=ref == 9)
    return ref, out


def test_ign_urban_extract_buildings_and_vegetation(lidar_dir):
    # IGN LiDAR HD extract (ign-pdal-tools test data): houses, gardens, trees
    ref, out = _rules_on_ign_ground(lidar_dir / "ign-pdal-tools" / "test_data_77050_627755_LA93_IGN69.laz")  # fmt: skip
    assert _iou(out == 6, ref == 6) > 0.85
    assert _iou(np.isin(out, (3, 4, 5)), np.isin(ref, (3, 4, 5))) > 0.85
    assert (out[ref == 2] == 2).all()


def test_ign_forest_extract_vegetation(lidar_dir):
    # mountain forest extract with low shrubs (pdal-ign-plugin test input)
    ref, out = _rules_on_ign_ground(lidar_dir / "pdal-ign-plugin" / "mnx_input_crop_3.laz")
    assert _iou(np.isin(out, (3, 4, 5)), np.isin(ref, (3, 4, 5))) > 0.9
    assert _iou(out == 5, ref == 5) > 0.9


def test_ign_water_found_from_weak_returns(lidar_dir):
    cloud = las.read(lidar_dir / "pdal-ign-plugin" / "mnx_input_corse.laz")
    ref = np.asarray(cloud.classification)
    hag = height_above_ground(cloud, np.isin(ref, (2, 9)))
    # water unknown: the rule must find it among IGN's ground + water points
    out = classify_scene(cloud, np.isin(ref, (2, 9)), hag, noise=ref == 65)
    assert _iou(out == 9, ref == 9) > 0.7


def test_scene_steps_are_registered():
    for name, (rank, _, _) in SCENE_PIPELINE_STEPS.items():
        assert name in STEPS
        assert STEPS[name].rank == rank
        assert STEPS[name].requires == ("ground",)


@pytest.fixture(scope="module")
def small():
    """A raw (unclassified) synthetic tile and its truth."""
    scene = synth.make_scene(40_000, seed=12)
    raw = scene.cloud.copy()
    raw["classification"] = np.ones(len(raw), np.uint8)
    return raw, scene.cloud.classification


def test_pipeline_end_to_end(small):
    raw, truth = small
    out = classify(raw, steps="noise,ground,vegetation,buildings")
    cls = out.classification
    assert _iou(cls == 6, truth == 6) > 0.6
    assert _iou(np.isin(cls, (3, 4, 5)), np.isin(truth, (3, 4, 5))) > 0.3
    # no step for water/bridges/structures was asked
    assert not np.isin(cls, (9, 17, 64)).any()


def test_pipeline_reclassification_is_idempotent(small):
    once = classify(small[0], steps="noise,ground,buildings,vegetation")
    twice = classify(once, steps="noise,ground,buildings,vegetation")
    assert np.array_equal(once.classification, twice.classification)


def test_cli_classify_writes_ign_codes(small_scene_file, tmp_path):
    dst = tmp_path / "out.laz"
    res = CliRunner().invoke(
        cli,
        ["classify", str(small_scene_file), "-o", str(dst),
         "--steps", "noise,ground,water,bridges,buildings,structures,vegetation"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    info = las.info(dst)
    assert info.point_format >= 6
    back = las.read(dst)
    codes = set(np.unique(back.classification).tolist())
    assert {2, 5, 6} <= codes


def test_cli_subprocess_vegetation_buildings(small_scene_file, tmp_path):
    dst = tmp_path / "sub.laz"
    proc = subprocess.run(
        [sys.executable, "-m", "pcrs", "classify", str(small_scene_file), "-o", str(dst),
         "--steps", "noise,ground,vegetation,buildings"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    back = las.read(dst)
    assert (back.classification == 6).any() and (back.classification == 5).any()


def test_cli_many_files_through_the_engine(small_scene, tmp_path):
    cloud = small_scene.cloud
    mid = float(np.median(cloud.x))
    srcs = []
    for i, part in enumerate((cloud[cloud.x <= mid], cloud[cloud.x > mid])):
        raw = part.copy()
        raw["classification"] = np.ones(len(raw), np.uint8)
        srcs.append(tmp_path / f"part{i}.laz")
        las.write(raw, srcs[-1])
    out = tmp_path / "out"
    res = CliRunner().invoke(
        cli,
        ["classify", *map(str, srcs), "-o", str(out), "--steps", "noise,ground,vegetation,buildings",
         "--tile-size", "50", "--workers", "1"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    tiles = sorted(out.glob("*.laz"))
    assert len(tiles) >= 2
    merged = np.concatenate([las.read(t).classification for t in tiles])
    assert merged.size == len(cloud)
    assert (merged == 6).sum() > 0.5 * (cloud.classification == 6).sum()
    assert np.isin(merged, (3, 4, 5)).any()
