"""Every script of examples/ runs, at small sizes, and writes what its header promises."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def _run(args: list[str], cwd: Path, timeout: float = 600, env: dict | None = None):
    proc = subprocess.run(
        args, cwd=cwd, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(env or {})},
    )  # fmt: skip
    return proc


def _py(script: str, *args: str, cwd: Path):
    return _run([sys.executable, str(EXAMPLES / script), *args], cwd)


def test_every_example_has_a_header_and_a_test():
    scripts = sorted(p.name for p in EXAMPLES.iterdir() if p.suffix in (".py", ".sh"))
    text = Path(__file__).read_text(encoding="utf-8")
    for name in scripts:
        head = (EXAMPLES / name).read_text(encoding="utf-8")[:1500]
        assert "Who it is for" in head, name
        assert "What it needs" in head, name
        assert f'"{name}"' in text, f"{name} is not run by this test"


def test_commune_dtm_laptop_then_dask(tmp_path):
    from pcrs.io.raster import read_raster

    local = _py("commune_dtm.py", "--output", "local", "--points", "60000", "--workers", "1",
                cwd=tmp_path)  # fmt: skip
    assert local.returncode == 0, local.stderr
    inputs = sorted((tmp_path / "local" / "input" / "lidarhd").glob("*.laz"))
    assert [p.name for p in inputs] == sorted(
        f"LHD_FXX_{x}_{y}_PTS_C_LAMB93_IGN69.laz"
        for x in ("0842", "0843")
        for y in ("6519", "6520")
    )
    summary = json.loads((tmp_path / "local" / "summary.json").read_text())
    assert summary["ok"] and summary["steps"] == []
    dtm = read_raster(tmp_path / "local" / "dtm.vrt")
    assert dtm.grid.resolution == 0.5
    # the DTM covers the generated points (4 IGN tiles round a kilometre corner)
    import pcrs

    bounds = np.array([pcrs.info(p).bounds for p in inputs])
    x0, y0, x1, y1 = bounds[:, 0].min(), bounds[:, 1].min(), bounds[:, 3].max(), bounds[:, 4].max()
    xs, ys = dtm.grid.column_centers(), dtm.grid.row_centers()
    inside = np.ix_((ys > y0 + 1) & (ys < y1 - 1), (xs > x0 + 1) & (xs < x1 - 1))
    assert np.isfinite(dtm.bands[0][inside]).mean() > 0.99
    assert x0 < 843_000 < x1 and y0 < 6_519_000 < y1

    # the same tiles on a Dask cluster: the mosaics must be identical
    pytest.importorskip("dask.distributed", reason="the Dask half needs pip install 'pcrs[dask]'")
    dask = _py("commune_dtm.py", "--input", str(inputs[0].parent), "--output", "dask",
               "--tile-size", "100", "--local-dask", "--workers", "1", cwd=tmp_path)  # fmt: skip
    assert dask.returncode == 0, dask.stderr
    assert "Dask cluster" in dask.stdout
    for product in ("dtm", "dsm", "chm"):
        a = read_raster(tmp_path / "local" / f"{product}.vrt").bands[0]
        b = read_raster(tmp_path / "dask" / f"{product}.vrt").bands[0]
        np.testing.assert_array_equal(a, b)


def test_reclassify_ground_improves_the_damaged_tile(tmp_path):
    res = _py("reclassify_ground.py", "--output", "out", "--points", "60000", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    scores = json.loads((tmp_path / "out" / "scores.json").read_text())
    assert scores["after"]["ground_iou"] > scores["before"]["ground_iou"] + 0.1
    assert scores["after"]["type1_pct"] < scores["before"]["type1_pct"]
    # the command the script prints agrees with the API
    cli = _run([sys.executable, "-m", "pcrs", "evaluate", "out/reclassified.laz",
                "out/reference.laz", "--json"], tmp_path)  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    ground = json.loads(cli.stdout)["ground"]
    assert abs(100 * ground["total"] - scores["after"]["total_error_pct"]) < 0.01


def test_check_delivery_valid_then_defective(tmp_path):
    ok = _py("check_delivery.py", "--output", "ok", "--blocks", "2", cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = _py("check_delivery.py", "--output", "bad", "--blocks", "2", "--plant-defects",
              cwd=tmp_path)  # fmt: skip
    assert bad.returncode == 1, bad.stdout + bad.stderr
    for name in ("report.html", "findings.gpkg", "report.json"):
        assert (tmp_path / "bad" / name).stat().st_size > 0
    report = json.loads((tmp_path / "bad" / "report.json").read_text())
    rules = {f["rule"] for f in report["findings"] if f["severity"] == "error"}
    assert {"PCRS-CODE-001", "PCRS-ID-004", "PCRS-THEME-001", "PCRS-DATE-001"} <= rules
    assert "<svg" in (tmp_path / "bad" / "report.html").read_text(encoding="utf-8")


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_check_delivery_ci_fails_the_job_on_errors(tmp_path):
    env = {"PYTHON": sys.executable}
    ok = _run(["bash", str(EXAMPLES / "check_delivery_ci.sh"), "", "ok"], tmp_path, env=env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = _run(["bash", str(EXAMPLES / "check_delivery_ci.sh"), "", "bad", "fr"], tmp_path,
               env={**env, "PLANT_DEFECTS": "1"})  # fmt: skip
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "FAILED" in bad.stderr
    assert "Erreurs trouvées" in bad.stdout
    assert (tmp_path / "bad" / "findings.gpkg").stat().st_size > 0


def _bench_schemas() -> Path | None:
    """The schema folder ``benchmarks/bench_validate.py`` would use, or None (it then exits
    with 'no schemas'): the installed copy, else ``PCRS_SHARED_DATA/pcrs/schemas``."""
    from pcrs.vector.schemas import find_schemas

    found = find_schemas()
    if found is not None:
        return found
    shared = _shared_schemas()
    return shared if (shared / "catalog.xml").is_file() else None


def _shared_schemas() -> Path:
    from pcrs.testing import shared_data_dir

    return shared_data_dir() / "pcrs" / "schemas"


def test_run_benchmarks_prints_ratios(tmp_path):
    res = _py("run_benchmarks.py", "--only", "read", "--log", "logs", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "laspy.read" in res.stdout and "1.00" in res.stdout  # the baseline row
    assert sorted(p.name for p in (tmp_path / "logs").iterdir()) == ["read.txt"]
    bad = _py("run_benchmarks.py", "--only", "nope", cwd=tmp_path)
    assert bad.returncode == 2


def test_run_benchmarks_validate_suite(tmp_path):
    """The validate suite measures against bare XSD validation, so it needs the schemas."""
    if _bench_schemas() is None:
        pytest.skip(
            "bench_validate.py needs the PCRS schemas: none installed ('pcrs schemas install') "
            f"and no catalog.xml in {_shared_schemas()}"
        )
    res = _py("run_benchmarks.py", "--only", "validate", "--log", "logs", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "x bare wall" in res.stdout
    assert sorted(p.name for p in (tmp_path / "logs").iterdir()) == ["validate.txt"]
