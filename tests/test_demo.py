"""pcrs demo: the whole chain on a generated scene, with scores against the truth."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pcrs.cli.main import cli
from pcrs.io import las
from pcrs.io.raster import raster_info


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "out"
    res = CliRunner().invoke(cli, ["demo", str(out), "--points", "60000", "--seed", "5"])
    assert res.exit_code == 0, res.output
    return out


def test_demo_writes_every_output(demo_dir: Path) -> None:
    summary = json.loads((demo_dir / "demo_summary.json").read_text())
    for key, path in summary["outputs"].items():
        assert Path(path).exists(), key
    for product in ("dtm", "dsm", "chm"):
        info = raster_info(demo_dir / "process" / f"{product}.vrt")
        assert info.crs_wkt
    tiles = sorted((demo_dir / "process" / "tiles").glob("*.laz"))
    assert sum(las.info(t).points for t in tiles) == las.info(demo_dir / "scene_truth.laz").points


def test_demo_scores_are_measured_not_assumed(demo_dir: Path) -> None:
    scores = json.loads((demo_dir / "demo_summary.json").read_text())["scores"]
    # the numbers come from comparing with the generated truth: check they are sane
    assert 0.85 < scores["ground"]["iou"] <= 1.0
    assert 0.0 < scores["dtm"]["rmse_m"] < 0.5
    assert scores["iou"]["6"] > 0.8  # buildings


def test_demo_validation_finds_every_planted_defect(demo_dir: Path) -> None:
    report = json.loads((demo_dir / "validation.json").read_text())
    rules = {f["rule"] for f in report["findings"] if f["severity"] == "error"}
    assert {
        "PCRS-CODE-001",
        "PCRS-ID-004",
        "PCRS-THEME-001",
        "PCRS-DATE-001",
        "PCRS-CRS-002",
    } <= rules


def test_demo_refuses_to_overwrite(demo_dir: Path) -> None:
    res = CliRunner().invoke(cli, ["demo", str(demo_dir), "--points", "60000"])
    assert res.exit_code != 0
    assert "--overwrite" in str(res.exception) or "--overwrite" in res.output


def test_demo_lidar_cross_check_finds_the_planted_defects(demo_dir: Path) -> None:
    # a façade left out and a kerb 0.8 m too high, against pcrs's own classified tiles
    lidar = json.loads((demo_dir / "demo_summary.json").read_text())["lidar_check"]
    assert len(lidar["planted"]) == 2
    assert "PCRS-LIDAR-001" in lidar["findings"]
    assert "PCRS-LIDAR-007" in lidar["findings"]
    assert lidar["stats"]["z"]["compared"] > 0
