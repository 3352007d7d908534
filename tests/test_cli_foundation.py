"""The command line spine: pcrs info, exit codes, errors, python -m pcrs, demo."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import laspy
import numpy as np
import pytest
from click.testing import CliRunner

import pcrs
from pcrs.cli.main import cli


def run_pcrs(*args: str, module: bool = False) -> subprocess.CompletedProcess:
    """Run pcrs in a real subprocess (console script or ``python -m pcrs``)."""
    exe = [sys.executable, "-m", "pcrs"] if module else [str(Path(sys.executable).parent / "pcrs")]
    if not module and not Path(exe[0]).exists():
        exe = [sys.executable, "-c", "from pcrs.cli.main import main; main()"]
    return subprocess.run([*exe, *args], capture_output=True, text=True, timeout=300)


def test_version_and_help() -> None:
    res = run_pcrs("--version", module=True)
    assert res.returncode == 0 and pcrs.__version__ in res.stdout
    res = run_pcrs("--help")
    assert res.returncode == 0
    assert "info" in res.stdout and "demo" in res.stdout


def test_info_json_stats_subprocess(small_scene_file: Path, small_scene) -> None:
    res = run_pcrs("info", "--json", "--stats", str(small_scene_file))
    assert res.returncode == 0, res.stderr
    (rec,) = json.loads(res.stdout)
    assert rec["points"] == len(small_scene.cloud)
    assert rec["point_format"] == 6 and rec["las_version"] == "1.4" and rec["crs"] == 2154
    codes, counts = np.unique(small_scene.cloud.classification, return_counts=True)
    assert rec["classes"] == {str(c): int(n) for c, n in zip(codes, counts, strict=True)}
    b = small_scene.cloud.bounds
    np.testing.assert_allclose(rec["bounds"], b, atol=1e-6)


def test_info_json_matches_laspy_on_real_files(lidar_dir: Path) -> None:
    files = [
        lidar_dir / "ign-pdal-tools/test_data_77055_627760_LA93_IGN69.laz",
        lidar_dir / "PDAL/lone-star.copc.laz",
        lidar_dir / "PDAL/autzen_trim.las",
        lidar_dir / "isprs/samp11-utm.laz",
    ]
    res = CliRunner().invoke(cli, ["info", "--json", "--stats", *map(str, files)])
    assert res.exit_code == 0, res.output
    records = json.loads(res.output)
    expected_crs = [2154, 4978, None, 32632]
    for rec, path, code in zip(records, files, expected_crs, strict=True):
        ref = laspy.read(path)
        assert rec["points"] == len(ref.points)
        np.testing.assert_array_equal(rec["bounds"], [*ref.header.mins, *ref.header.maxs])
        c, n = np.unique(np.asarray(ref.classification), return_counts=True)
        assert rec["classes"] == {str(k): int(v) for k, v in zip(c, n, strict=True)}
        if code is None:
            assert isinstance(rec["crs"], str) and rec["crs"].startswith("PROJCRS")
        else:
            assert rec["crs"] == code


@pytest.mark.parametrize("kind", ["corrupt", "text", "missing"])
def test_unusable_input_exit_2_one_line(kind: str, tmp_path: Path, shared_data: Path) -> None:
    if kind == "corrupt":
        path = shared_data / "lidar/ign-pdal-tools/Semis_2022_0906_6665_LA93_IGN69_nok.laz"
    elif kind == "text":
        path = tmp_path / "notes.laz"
        path.write_text("these are not points\n")
    else:
        path = tmp_path / "absent.laz"
    res = run_pcrs("info", str(path))
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert path.name in lines[0] and "Traceback" not in res.stderr
    res_v = run_pcrs("info", "-v", str(path), module=True)
    assert res_v.returncode == 2 and "Traceback" in res_v.stderr


def test_info_many_files_reports_bad_ones_and_goes_on(
    small_scene_file: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.las"
    bad.write_bytes(b"junk")
    res = run_pcrs("info", "--json", str(small_scene_file), str(bad))
    assert res.returncode == 2
    assert len(json.loads(res.stdout)) == 1
    assert "bad.las" in res.stderr


def test_usage_error_exit_2() -> None:
    res = CliRunner().invoke(cli, ["info"])
    assert res.exit_code == 2
    res = run_pcrs("no-such-command")
    assert res.returncode == 2


def test_missing_extra_names_the_extra() -> None:
    from pcrs.errors import MissingExtraError, require_extra

    with pytest.raises(MissingExtraError, match=r"pip install 'pcrs\[open3d\]'"):
        require_extra("surely_not_installed_module_xyz", "open3d", "normal estimation")


def test_public_api_resolves() -> None:
    for name in pcrs.__all__:
        assert getattr(pcrs, name) is not None, name


def test_import_pcrs_needs_only_the_core() -> None:
    code = (
        "import sys, pcrs; "
        "bad = [m for m in ('dask', 'distributed', 'pdal', 'open3d') if m in sys.modules]; "
        "print(bad)"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert res.stdout.strip() == "[]"
