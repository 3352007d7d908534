"""pcrs classify and pcrs evaluate: CliRunner and one real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from pcrs.cli.main import cli
from pcrs.io import las


@pytest.fixture(scope="module")
def scene_file(tmp_path_factory):
    from pcrs import synth

    scene = synth.make_scene(30_000, seed=9)
    path = tmp_path_factory.mktemp("cls") / "scene.laz"
    las.write(scene.cloud, path)
    return path


def test_classify_one_file_and_evaluate(scene_file, tmp_path):
    out = tmp_path / "out.laz"
    r = CliRunner().invoke(cli, ["classify", str(scene_file), "-o", str(out), "--json"])
    assert r.exit_code == 0, r.output
    rec = json.loads(r.output)
    assert rec["points"] == len(las.read(scene_file))
    assert "2" in rec["classes"]
    r = CliRunner().invoke(cli, ["evaluate", str(out), str(scene_file), "--json"])
    assert r.exit_code == 0, r.output
    ev = json.loads(r.output)
    assert ev["ground"]["type1"] < 0.1
    r = CliRunner().invoke(cli, ["evaluate", str(out), str(scene_file)])
    assert "Type I" in r.output and "kappa" in r.output
    # an existing output is refused without --overwrite
    r = CliRunner().invoke(cli, ["classify", str(scene_file), "-o", str(out)])
    assert r.exit_code != 0


def test_evaluate_threshold_exit_code(scene_file, tmp_path):
    from pcrs.cli.main import main

    out = tmp_path / "csf.laz"
    r = CliRunner().invoke(
        cli, ["classify", str(scene_file), "-o", str(out), "--steps", "ground", "--ground", "csf"]
    )
    assert r.exit_code == 0, r.output
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", str(out), str(scene_file), "--max-total-error", "0"])
    assert exc.value.code == 1


def test_classify_asprs_codes_on_an_old_point_format(lidar_dir, tmp_path):
    src = lidar_dir / "isprs" / "samp21-utm.laz"  # point format 0
    out = tmp_path / "s21.laz"
    r = CliRunner().invoke(
        cli, ["classify", str(src), "-o", str(out), "--codes", "asprs", "--noise", "sor"]
    )
    assert r.exit_code == 0, r.output
    got = las.read(out)
    assert set(np.unique(got.classification)) <= {0, 1, 2, 7}
    # IGN codes (65) need an LAS 1.4 point format: upgraded
    out2 = tmp_path / "s21_ign.laz"
    r = CliRunner().invoke(cli, ["classify", str(src), "-o", str(out2), "--noise", "sor"])
    assert r.exit_code == 0, r.output
    assert las.info(out2).point_format >= 6


def test_classify_many_files_through_the_engine(lidar_dir, tmp_path):
    names = [
        "test_data_77055_627755_LA93_IGN69.laz",
        "test_data_77060_627755_LA93_IGN69.laz",
    ]
    srcs = [lidar_dir / "ign-pdal-tools" / n for n in names]
    out = tmp_path / "tiles"
    r = CliRunner().invoke(
        cli,
        ["classify", *map(str, srcs), "-o", str(out), "--tile-size", "50", "--workers", "1",
         "--steps", "ground", "--json"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    summary = json.loads(r.output)
    written = sorted(out.glob("*.laz"))
    assert len(written) == 2
    tiled = las.read(written[0]).concatenate([las.read(p) for p in written])
    assert len(tiled) == sum(las.info(p).points for p in srcs)
    assert summary
    # the buffers make the tiles get the classes of the merged cloud
    from pcrs.classify.pipeline import classify

    src = las.read(srcs[0]).concatenate([las.read(p) for p in srcs])
    merged = classify(src, steps="ground")

    def ordered(c):
        return c.classification[np.lexsort((c.z, c.y, c.x))]

    assert np.array_equal(ordered(tiled), ordered(merged))


def test_bad_usage_exits_2(scene_file, tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "pcrs", "classify", str(scene_file), "-o",
         str(tmp_path / "x.laz"), "--steps", "noise,trees"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert r.returncode == 2
    assert "unknown step" in r.stderr


def test_subprocess_classify(scene_file, tmp_path):
    out = tmp_path / "sub.laz"
    r = subprocess.run(
        [sys.executable, "-m", "pcrs", "classify", str(scene_file), "-o", str(out),
         "--steps", "noise,ground,height"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "hag" in las.read(out).attributes
