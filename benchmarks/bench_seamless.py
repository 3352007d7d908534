"""Seamless DTM tiles: the cost of the proof on a dense tile, and the reads on a sparse scene.

Dense: the middle of a synthetic scene (10 pulses/m²), a tile whose read
with a 50 m buffer holds ``--points`` points; ``products.dtm`` of the read (today's tile DTM)
against :func:`pcrs.raster.seamless.seamless_dtm` (one read, same values, plus
the proof). Reads are in memory and left out of both figures, which are CPU times (the
machine may be shared); the proof's own time is wall-clock.

Sparse: 1.8 km x 1.8 km of ground at 0.05-0.3 points/m² with 150 m-wide
lakes crossing tile edges, cut into 200 m tiles; each tile's seamless DTM
(first buffer 15 m) against the DTM of all points at once, and a fixed 15 m
buffer for comparison.

    python benchmarks/bench_seamless.py                  # 1 M points read, 5 runs
    python benchmarks/bench_seamless.py --points 3000000 --repeat 3
    python benchmarks/bench_seamless.py --no-sparse
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from pcrs import synth
from pcrs.points import PointCloud
from pcrs.raster import RasterGrid, dtm
from pcrs.raster.seamless import seamless_dtm, terrain_hull

X0, Y0 = 842_000.0, 6_518_000.0


def _reader(cloud: PointCloud):
    """An in-memory ``read(box)`` that also sums the seconds spent reading."""
    spent = [0.0]

    def read(box):
        t0 = time.process_time()
        out = cloud[cloud.in_box(*box)]
        spent[0] += time.process_time() - t0
        return out

    return read, spent


def dense(points: int, repeat: int, resolution: float, buffer: float) -> None:
    """Time today's tile DTM and the seamless one on a dense tile inside a larger scene."""
    cloud = synth.make_scene(int(2.2 * points), seed=1).cloud
    x0, y0, _, x1, y1, _ = cloud.bounds
    side = np.sqrt(points * (x1 - x0) * (y1 - y0) / len(cloud)) - 2 * buffer
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    grid = RasterGrid.from_bounds(
        cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2, resolution
    )
    box = (grid.xmin - buffer, grid.ymin - buffer, grid.xmax + buffer, grid.ymax + buffer)
    ext = (x0, y0, x1, y1)
    read, spent = _reader(cloud)
    n = len(read(box))
    dtm(read(box), grid)  # compile the kernels
    base, seam, check = [], [], []
    for i in range(repeat):
        for which in ("seamless", "dtm") if i % 2 else ("dtm", "seamless"):  # alternate the order
            if which == "dtm":
                pts = read(box)
                t0 = time.process_time()
                ref = dtm(pts, grid)
                base.append(time.process_time() - t0)
            else:
                spent[0] = 0.0
                t0 = time.process_time()
                values, facts = seamless_dtm(read, grid, buffer=buffer, extent=ext)
                seam.append(time.process_time() - t0 - spent[0])
                check.append(facts["check_seconds"])
        assert facts["reads"] == 1 and np.array_equal(values, ref, equal_nan=True)
    b, s, c = statistics.median(base), statistics.median(seam), statistics.median(check)
    print(
        f"dense tile: {n:,} points read ({facts['ground_points']:,} ground, "
        f"{facts['triangles']:,} triangles), {grid.width} x {grid.height} px at {resolution} m"
    )
    print(f"  products.dtm          {b:7.3f} s CPU  (median of {repeat})")
    print(f"  seamless_dtm          {s:7.3f} s CPU  reads={facts['reads']}, values identical")
    print(
        f"  overhead              {s - b:+7.3f} s      ({(s - b) / b:+.1%}); proof alone {c:.3f} s wall"
    )


def _sparse_scene(size: float, seed: int = 0) -> PointCloud:
    rng = np.random.default_rng(seed)
    n = int(size * size * 0.3)
    x, y = rng.uniform(0, size, n), rng.uniform(0, size, n)
    keep = rng.random(n) < (0.05 + 0.25 * (0.5 + 0.5 * np.sin(x / 70) * np.cos(y / 110))) / 0.3
    for k in range(int(size // 600)):
        keep &= np.abs(x - 205 - 600 * k - 0.3 * (y - 300)) >= 75  # lakes
    x, y = x[keep], y[keep]
    z = 200 + 30 * np.sin(x / 90) * np.cos(y / 120) + 0.05 * x
    cls = np.where(rng.random(len(x)) < 0.3, 5, 2).astype(np.uint8)
    z = z + 10.0 * (cls == 5)
    xyz = np.round(np.column_stack([X0 + x, Y0 + y, z]), 3)
    return PointCloud(xyz[:, 0], xyz[:, 1], xyz[:, 2], {"classification": cls})


def sparse(size: float = 1800.0, tile: float = 200.0, buffer: float = 15.0) -> None:
    """Tile a sparse scene; compare with the DTM of all points; count reads."""
    cloud = _sparse_scene(size)
    x0, y0, _, x1, y1, _ = cloud.bounds
    ext = (x0, y0, x1, y1)
    whole = RasterGrid(X0, Y0 + size, 1.0, int(size), int(size))
    t0 = time.perf_counter()
    ref = dtm(cloud, whole)
    t_whole = time.perf_counter() - t0
    n = int(size // tile)
    t = int(tile)
    for label, hull in (("extent only", None), ("with hull", terrain_hull(cloud))):
        read, _ = _reader(cloud)
        out, fixed = np.full(whole.shape, np.nan), np.full(whole.shape, np.nan)
        reads, limited = [], 0
        t0 = time.perf_counter()
        for i in range(n):
            for j in range(n):
                g = RasterGrid(X0 + tile * j, Y0 + size - tile * i, 1.0, t, t)
                v, f = seamless_dtm(read, g, buffer=buffer, extent=ext, hull=hull, on_limit="keep")
                out[t * i : t * i + t, t * j : t * j + t] = v
                reads.append(f["reads"])
                limited += f["unproven"] > 0
                b = (g.xmin - buffer, g.ymin - buffer, g.xmax + buffer, g.ymax + buffer)
                fixed[t * i : t * i + t, t * j : t * j + t] = dtm(cloud[cloud.in_box(*b)], g)
        secs = time.perf_counter() - t0
        same_nan = np.array_equal(np.isnan(out), np.isnan(ref))
        print(
            f"sparse {size:.0f} m, {n * n} tiles, {label}: max |tiled - whole| "
            f"{np.nanmax(np.abs(out - ref)):.2e} m, nodata alike {same_nan}, "
            f"reads mean {np.mean(reads):.2f} max {max(reads)}, tiles at the bound {limited}, "
            f"{secs:.1f} s (whole DTM {t_whole:.1f} s)"
        )
    bad = np.isnan(fixed) != np.isnan(ref)
    print(
        f"  fixed {buffer:g} m buffer: max |tiled - whole| {np.nanmax(np.abs(fixed - ref)):.2f} m, "
        f"{bad.sum():,} pixels with nodata in one only"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--resolution", type=float, default=0.5)
    ap.add_argument("--buffer", type=float, default=50.0)
    ap.add_argument("--no-sparse", action="store_true")
    args = ap.parse_args()
    dense(args.points, args.repeat, args.resolution, args.buffer)
    if not args.no_sparse:
        sparse()


if __name__ == "__main__":
    main()
