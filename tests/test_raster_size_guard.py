"""A raster too large for the memory is refused before it is allocated (issue #14)."""

from __future__ import annotations

import subprocess
import sys
import time
import tracemalloc

import pytest
from click.testing import CliRunner

from pcrs.cli.main import cli, main
from pcrs.errors import ParameterError
from pcrs.raster import grid as grid_module
from pcrs.raster.grid import (
    PEAK_BYTES_PER_PIXEL,
    RasterGrid,
    available_memory,
    format_bytes,
    peak_bytes_per_pixel,
)

_HUGE = ["--bounds", "0", "0", "1000000", "7000000"]  # 2,000,000 x 14,000,000 px at 0.5 m


def test_cli_refuses_huge_bounds_at_once_with_the_pixel_count(small_scene_file, tmp_path):
    out = tmp_path / "dtm.tif"
    tracemalloc.start()
    t0 = time.perf_counter()
    res = CliRunner().invoke(cli, ["rasterize", str(small_scene_file), "-o", str(out), *_HUGE])
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert isinstance(res.exception, ParameterError)  # main() makes it exit code 2
    msg = str(res.exception)
    assert "28,000,000,000,000 pixels" in msg
    assert "2,000,000 x 14,000,000" in msg
    assert "--bounds 0 0 1000000 7000000" in msg
    assert "TiB of memory" in msg and "are available" in msg
    assert "--resolution" in msg and "pcrs process" in msg
    assert "\n" not in msg
    assert seconds < 5.0
    assert peak < 64 * 2**20  # nothing of the raster's size was allocated (not even the points)
    assert not out.exists()


def test_cli_exit_code_2_one_line_no_traceback(small_scene_file, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["rasterize", str(small_scene_file), "-o", str(tmp_path / "d.tif"), *_HUGE])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("pcrs: error: --bounds 0 0 1000000 7000000: ")
    assert "28,000,000,000,000 pixels" in err
    assert "\n" not in err and "Traceback" not in err and "MemoryError" not in err


def test_cli_subprocess_exit_code_2(small_scene_file, tmp_path):
    res = subprocess.run(
        [sys.executable, "-m", "pcrs", "rasterize", str(small_scene_file), "-o",
         str(tmp_path / "d.tif"), *_HUGE],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert res.returncode == 2, res.stderr
    assert "28,000,000,000,000 pixels" in res.stderr
    assert "Traceback" not in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_cli_checks_the_points_bounds_against_the_memory_left(
    small_scene_file, tmp_path, monkeypatch
):
    # a grid that numpy could allocate, on a machine said to have 1 MiB left
    monkeypatch.setattr(grid_module, "available_memory", lambda: 2**20)
    out = tmp_path / "dtm.tif"
    res = CliRunner().invoke(
        cli, ["rasterize", str(small_scene_file), "-o", str(out), "--resolution", "0.1"]
    )
    assert isinstance(res.exception, ParameterError)
    msg = str(res.exception)
    assert msg.startswith("the points' bounds ")
    assert "1,000,000 pixels" in msg or " pixels at 0.1 m" in msg
    assert "but 1.00 MiB are available" in msg
    assert not out.exists()


def test_cli_still_works_when_it_fits(small_scene_file, tmp_path):
    out = tmp_path / "dtm.tif"
    res = CliRunner().invoke(
        cli, ["rasterize", str(small_scene_file), "-o", str(out), "--resolution", "2"]
    )
    assert res.exit_code == 0, res.output
    assert out.exists()


def test_check_size_returns_the_estimate_and_refuses_beyond_the_available():
    g = RasterGrid(0.0, 1000.0, 1.0, 1000, 500)
    assert g.check_size(8, available=10**7) == 4_000_000
    with pytest.raises(ParameterError) as err:
        g.check_size(21, what="this grid", fix="do something else", available=10**6)
    msg = str(err.value)
    assert msg.startswith("this grid: 1,000 x 500 = 500,000 pixels at 1 m need about 10.0 MiB")
    assert "(21 bytes per pixel) but 977 KiB are available; do something else" in msg


def test_check_size_refuses_nothing_when_the_memory_is_unknown(monkeypatch):
    monkeypatch.setattr(grid_module, "available_memory", lambda: None)
    g = RasterGrid.from_bounds(0, 0, 1_000_000, 7_000_000, 0.5)
    assert g.check_size(8) == 8 * g.size


def test_available_memory_is_plausible():
    avail = available_memory()
    if sys.platform.startswith("linux"):
        assert avail is not None
    if avail is not None:
        assert 0 < avail < 2**50


def test_peak_bytes_per_pixel_and_format_bytes():
    assert peak_bytes_per_pixel("dtm") == PEAK_BYTES_PER_PIXEL["dtm"]
    assert peak_bytes_per_pixel("dsm", fill=True) >= 32
    assert peak_bytes_per_pixel("dtm", quicklook=True) > 80
    assert peak_bytes_per_pixel("density", quicklook=True) > PEAK_BYTES_PER_PIXEL["density"]
    assert peak_bytes_per_pixel("no such product") == 32
    assert format_bytes(224e12) == "204 TiB"
    assert format_bytes(2**20) == "1.00 MiB"
    assert format_bytes(100) == "100 B"


def _traced_peak(args: list[str]) -> int:
    tracemalloc.start()
    try:
        res = CliRunner().invoke(cli, args, catch_exceptions=False)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert res.exit_code == 0, res.output
    return peak


@pytest.mark.parametrize("product", ["dtm", "density"])
def test_the_table_covers_the_measured_peak(small_scene_file, tmp_path, product):
    """The factor of :data:`PEAK_BYTES_PER_PIXEL` still bounds what the command takes.

    Measured as the difference of the peaks of a 1400 x 1400 and a 20 x 20 pixel
    raster of the same points (which removes what reading the points takes). A new
    copy of the raster somewhere in the path makes this fail: measure again and
    update the table.
    """
    from pcrs.io import las

    x0, y0 = las.info(small_scene_file).bounds[:2]

    def args(side: float, name: str) -> list[str]:
        return ["rasterize", str(small_scene_file), "-o", str(tmp_path / name), "--product",
                product, "--resolution", "0.5", "--bounds", str(x0), str(y0), str(x0 + side),
                str(y0 + side)]  # fmt: skip

    _traced_peak(args(10, "warm.tif"))  # imports, compiled kernels, GDAL drivers
    small = _traced_peak(args(10, "small.tif"))
    big = _traced_peak(args(700, "big.tif"))  # 1.96 Mpx, mostly outside the points
    per_pixel = (big - small) / (1400 * 1400 - 20 * 20)
    assert per_pixel <= PEAK_BYTES_PER_PIXEL[product] * 1.05
    assert per_pixel >= PEAK_BYTES_PER_PIXEL[product] * 0.6  # the table is not far off
