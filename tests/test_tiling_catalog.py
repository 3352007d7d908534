"""Catalog: header-only index, spatial query, checks, footprints GeoPackage, pcrs catalog."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from pcrs.cli.main import cli
from pcrs.errors import CRSError, OutputExistsError, PcrsIOError
from pcrs.io import las
from pcrs.io.crs import parse_crs
from pcrs.io.vector import read_geopackage_blob
from pcrs.points import PointCloud
from pcrs.tiling.catalog import Catalog


def _square(
    path: Path, x0: float, y0: float, size: float = 10.0, n: int = 500, crs="EPSG:2154", seed=0
):
    """A file whose header bounds are exactly the square (corners included)."""
    rng = np.random.default_rng(seed)
    x = np.concatenate([[x0, x0 + size], rng.uniform(x0, x0 + size, n - 2)]).round(2)
    y = np.concatenate([[y0, y0 + size], rng.uniform(y0, y0 + size, n - 2)]).round(2)
    cloud = PointCloud(
        x, y, rng.uniform(0, 5, n).round(2), {"classification": np.full(n, 2, np.uint8)}
    )
    cloud.crs = parse_crs(crs) if crs else None
    las.write(cloud, path)
    return path


@pytest.fixture
def grid3x3(tmp_path) -> Path:
    """A 3 x 3 block of 10 m files with the centre one missing (a hole)."""
    d = tmp_path / "grid"
    d.mkdir()
    for i in range(3):
        for j in range(3):
            if (i, j) != (1, 1):
                _square(d / f"t_{i}_{j}.laz", 1000 + 10 * i, 2000 + 10 * j, seed=3 * i + j)
    return d


def test_index_query_and_clean_checks(grid3x3):
    cat = Catalog.from_paths([grid3x3], workers=4)
    assert len(cat) == 8 and cat.points == 8 * 500
    assert cat.bounds == (1000.0, 2000.0, 1030.0, 2030.0)
    assert cat.crs.to_epsg() == 2154
    hits = {f.path.name for f in cat.query((1001, 2001, 1002, 2002))}
    assert hits == {"t_0_0.laz"}
    # a box touching a shared corner meets the four files around it (closed boxes)
    assert len(cat.query((1010, 2010, 1010, 2010))) == 3  # the fourth is the missing centre
    issues = cat.check()
    assert [i.kind for i in issues] == ["gap"]  # the missing centre tile, nothing else
    assert issues[0].geometry.area == pytest.approx(100.0)
    tiles = cat.grid(15).tiles()
    assert len(tiles) == 9 and tiles[0].name == "tile_990_1995.laz"


def test_checks_find_problems(grid3x3, tmp_path):
    shutil.copy(grid3x3 / "t_0_0.laz", grid3x3 / "copy_of_t_0_0.laz")
    _square(grid3x3 / "overlapping.laz", 1025, 2025, seed=99)
    _square(grid3x3 / "other_crs.laz", 1011, 2011, size=8, crs="EPSG:3946", seed=7)
    _square(grid3x3 / "no_crs.laz", 1012, 2012, size=5, crs=None, seed=8)
    (grid3x3 / "broken.laz").write_bytes(b"LASF" + b"\0" * 50)
    cat = Catalog.from_paths([grid3x3, grid3x3 / "t_0_1.laz"])
    kinds = [i.kind for i in cat.check()]
    for kind in ("unreadable", "mixed_crs", "missing_crs", "overlap", "duplicate"):
        assert kind in kinds, kinds
    assert kinds.index("mixed_crs") < kinds.index("overlap")  # errors first
    dup = [i for i in cat.check() if i.kind == "duplicate"]
    assert any("given more than once" in i.message for i in dup)
    assert any(
        set(i.files) == {str(grid3x3 / "t_0_0.laz"), str(grid3x3 / "copy_of_t_0_0.laz")}
        for i in dup
    )
    with pytest.raises(CRSError, match="different CRSs"):
        _ = cat.crs
    with pytest.raises(PcrsIOError, match=r"broken\.laz"):
        cat.require_consistent()
    with pytest.raises(PcrsIOError, match=r"broken\.laz"):
        Catalog.from_paths([grid3x3], on_error="raise")


def test_footprints_geopackage(grid3x3, tmp_path):
    cat = Catalog.from_paths([grid3x3])
    out = cat.to_geopackage(tmp_path / "fp.gpkg")
    con = sqlite3.connect(out)
    rows = con.execute("SELECT geom, name, points, crs FROM footprints ORDER BY name").fetchall()
    assert len(rows) == 8 and rows[0][1] == "t_0_0.laz" and rows[0][2] == 500
    srs, poly = read_geopackage_blob(rows[0][0])
    assert srs == 2154 and poly.bounds == (1000.0, 2000.0, 1010.0, 2010.0)
    gaps = con.execute("SELECT kind FROM issues").fetchall()
    assert gaps == [("gap",)]
    con.close()


def test_real_ign_catalog(lidar_dir):
    files = sorted(lidar_dir.glob("ign-pdal-tools/test_data_770*_LA93_IGN69.laz"))
    if len(files) != 6:
        pytest.skip(f"the six adjacent IGN test tiles are not all in {lidar_dir}")
    cat = Catalog.from_paths(files)
    assert cat.points == sum(las.info(f).points for f in files)
    assert cat.bounds == (770500.0, 6277500.0, 770650.0, 6277600.0)
    assert cat.check() == []  # adjacent tiles sharing edges: no overlap, no gap


def test_cli_catalog(grid3x3, tmp_path):
    runner = CliRunner()
    res = runner.invoke(
        cli, ["catalog", str(grid3x3), "--json", "--footprints", str(tmp_path / "f.gpkg")]
    )
    assert res.exit_code == 0, res.output
    record = json.loads(res.output)
    assert record["files"] == 8 and record["crs"] == 2154
    assert [i["kind"] for i in record["issues"]] == ["gap"]
    assert (tmp_path / "f.gpkg").exists()
    res = runner.invoke(cli, ["catalog", str(grid3x3), "--footprints", str(tmp_path / "f.gpkg")])
    assert isinstance(res.exception, OutputExistsError)
    _square(grid3x3 / "other_crs.laz", 1011, 2011, size=8, crs="EPSG:3946")
    proc = subprocess.run(
        [sys.executable, "-m", "pcrs", "catalog", str(grid3x3)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr
    assert "error: mixed_crs" in proc.stdout and "warning: gap" in proc.stdout
