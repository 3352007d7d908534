"""Synthetic LiDAR deliveries with known truth for tests/test_lidarcheck*.py (not a test module).

A delivery is 2 x 2 tiles of 100 m in Lambert-93 + NGF-IGN69 named ``T_<x hm>_<y_max hm>.las``,
checked against :data:`SPEC_TEXT`. Every tile holds pulses on a 0.5 m grid (exactly 4 per
1 m cell, jittered inside their quarter of the cell), each with two returns: 8 points/m².
:func:`tile_arrays` gives one tile's attributes, which a test changes before
:func:`write_tile` writes them.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

from pcrs.io import las
from pcrs.io.crs import parse_crs
from pcrs.points import LasLayout, PointCloud

X0, Y0 = 700_000.0, 6_600_000.0
SIZE = 100.0

SPEC_TEXT = r"""
name = "test-100m"
[format]
las_versions = ["1.4"]
point_formats = [6, 7, 8]
gps_time = "adjusted"
[crs]
horizontal = 2154
vertical = 5720
[tiles]
size = 100.0
name_pattern = '^T_(?P<x>\d{5})_(?P<y>\d{5})\.la[sz]$'
name_unit = 100.0
name_corner = "upper-left"
tolerance = 0.5
[density]
nominal_pulses = 4.0
nominal_points = 6.0
cells = [1.0, 5.0]
cell_min_pulses = [2.0, 2.0]
cell_min_points = [6.0, 6.0]
max_share_below = [0.10, 0.05]
[coverage]
hole_min_area = 50.0
water_share = 0.5
cell = 1.0
[classes]
allowed = [1, 2, 3, 4, 5, 6, 9, 17, 64, 65, 66, 67]
max_unclassified_share = 0.10
withheld = false
synthetic = false
[attributes]
max_scan_angle = 40.0
"""

#: tiles of the delivery by (column, row), row 0 to the south
TILES = ((0, 0), (1, 0), (0, 1), (1, 1))


def tile_box(col: int, row: int) -> tuple[float, float, float, float]:
    x, y = X0 + col * SIZE, Y0 + row * SIZE
    return (x, y, x + SIZE, y + SIZE)


def tile_name(col: int, row: int, ext: str = ".las") -> str:
    x0, _y0, _x1, y1 = tile_box(col, row)
    return f"T_{round(x0 / 100):05d}_{round(y1 / 100):05d}{ext}"


def tile_arrays(col: int, row: int, seed: int = 0) -> dict[str, np.ndarray]:
    """One conforming tile: x, y, z and the LAS attributes (two returns per pulse)."""
    rng = np.random.default_rng(seed + 10 * col + row)
    x0, y0, _x1, _y1 = tile_box(col, row)
    g = np.arange(0.25, SIZE, 0.5)
    gx, gy = np.meshgrid(g, g)
    n = gx.size
    px = x0 + gx.ravel() + rng.uniform(-0.2, 0.2, n)
    py = y0 + gy.ravel() + rng.uniform(-0.2, 0.2, n)
    pz = 100.0 + rng.uniform(0, 1, n)
    x = np.concatenate([px, px + 0.01])
    y = np.concatenate([py, py])
    z = np.concatenate([pz + 5.0, pz])
    rn = np.concatenate([np.ones(n), np.full(n, 2)]).astype(np.uint8)
    cls = np.concatenate([rng.choice([3, 4, 5, 6], n), np.full(n, 2)]).astype(np.uint8)
    return {
        "x": x, "y": y, "z": z,
        "return_number": rn,
        "number_of_returns": np.full(2 * n, 2, np.uint8),
        "classification": cls,
        "intensity": rng.integers(1, 1000, 2 * n).astype(np.uint16),
        "gps_time": np.concatenate([np.arange(n), np.arange(n)]).astype(float) + 3.0e8,
        "scan_angle": rng.integers(-3000, 3000, 2 * n).astype(np.int16),  # ±18°
        "withheld": np.zeros(2 * n, bool),
        "synthetic": np.zeros(2 * n, bool),
    }  # fmt: skip


def subset(a: dict[str, np.ndarray], keep: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[keep] for k, v in a.items()}


def write_tile(
    a: dict[str, np.ndarray], path: Path, *, crs: str | None = "EPSG:2154+5720",
    encoding: int = 1, point_format: int | None = None, version: str | None = None,
) -> Path:  # fmt: skip
    attrs = {k: v for k, v in a.items() if k not in ("x", "y", "z")}
    cloud = PointCloud(a["x"], a["y"], a["z"], attrs, parse_crs(crs) if crs else None,
                       LasLayout(global_encoding=encoding))  # fmt: skip
    las.write(cloud, path, overwrite=True, point_format=point_format, version=version)
    return path


def write_delivery(folder: Path, seed: int = 0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [write_tile(tile_arrays(c, r, seed), folder / tile_name(c, r)) for c, r in TILES]


def patch(path: Path, offset: int, fmt: str, value) -> None:
    """Overwrite one header field in place."""
    data = bytearray(path.read_bytes())
    struct.pack_into(fmt, data, offset, value)
    path.write_bytes(bytes(data))


def read_field(path: Path, offset: int, fmt: str):
    return struct.unpack_from(fmt, path.read_bytes(), offset)[0]
