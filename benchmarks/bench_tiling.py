"""Re-tiling throughput and peak memory, against a plain laspy read + write of the same points.

Usage::

    python benchmarks/bench_tiling.py [--points 20000000] [--size 250] [--chunk 2000000]
                                      [--small 5000000] [--skip-spill]

Two synthetic LiDAR HD-like LAZ files (LAS 1.4, point format 6, 1 cm scales,
~5 points/m², points ordered strip by strip as a flight delivers them) are
written once in a temporary folder: ``--points`` points (default 20 M over
2 km x 2 km) and ``--small`` points over the same area. Each variant runs in a
fresh subprocess, so its peak resident memory (``VmHWM``) is its own:

- ``laspy read+write``: the baseline, the I/O bound to approach — the big file
  read with ``laspy`` ``chunk_iterator`` and written to one LAZ file with a
  ``LasWriter``, chunk by chunk (no tiling);
- ``pcrs retile``: :func:`pcrs.tiling.retile.retile` into ``--size`` m tiles
  (64 tiles of 250 m: direct mode);
- ``pcrs retile spill``: the same, forced through the spill mode (raw per-tile
  files, then compressed tile by tile) used when there are more tiles than
  open writers;
- ``pcrs retile buffer 20``: with a 20 m buffer (about 35 % more points written);
- ``pcrs retile (small input)``: the small file, to show that peak memory
  does not grow with the input size.

With ``--engine``, the tile engine is measured too, on the small file cut into
500 m tiles (16 files) and run with a 20 m buffer and a function that returns
its points unchanged: the neighbour-reading path serially and on 2 worker
processes, and the ``source_buffer`` path (re-tiling with the buffer first,
then one file per task), against the plain re-tiling of the same points.

Throughput is input points per second; ratios are against the baseline of
the same run. For context only (not measured here): LAStools documents
``lastile`` as streaming with ``-buffer``; lidR's ``catalog_retile`` and
PDAL's ``pdal tile`` (streamable) do the same job; none publishes a
throughput figure (see shared/docs/LIDAR.md §3).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXTENT = 2000.0
ORIGIN = (842000.0, 6518000.0)


def _peak_mb() -> float:
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _generate(path: Path, n_points: int, seed: int = 0, block: int = 1_000_000) -> None:
    """Strip-ordered synthetic points written block by block (bounded memory)."""
    import numpy as np

    from pcrs.io import las
    from pcrs.io.crs import parse_crs
    from pcrs.points import LasLayout, PointCloud

    rng = np.random.default_rng(seed)
    layout = LasLayout(
        point_format=6, version="1.4", scales=(0.01, 0.01, 0.01), offsets=(*ORIGIN, 0.0)
    )
    crs = parse_crs("EPSG:2154")
    n_strips = 8
    per_strip = -(-n_points // n_strips)
    written = 0
    writer = None
    for s in range(n_strips):
        y0 = ORIGIN[1] + s * EXTENT / n_strips
        for start in range(0, per_strip, block):
            n = min(block, per_strip - start, n_points - written)
            if n <= 0:
                break
            # the aircraft moves along x: each block is a slice of the strip
            x0 = ORIGIN[0] + EXTENT * start / per_strip
            x1 = ORIGIN[0] + EXTENT * (start + n) / per_strip
            x = rng.uniform(x0, x1, n).round(2)
            y = rng.uniform(y0, y0 + EXTENT / n_strips, n).round(2)
            z = (
                200 + 20 * np.sin(x / 150.0) + 10 * np.cos(y / 90.0) + rng.exponential(2.0, n)
            ).round(2)
            attrs = {
                "intensity": rng.integers(0, 4000, n, dtype=np.uint16),
                "return_number": np.ones(n, np.uint8),
                "number_of_returns": np.ones(n, np.uint8),
                "classification": rng.choice(np.array([1, 2, 3, 4, 5, 6, 9, 64], np.uint8), n),
                "scan_angle": rng.integers(-2000, 2000, n, dtype=np.int16),
                "point_source_id": np.full(n, s + 1, np.uint16),
                "gps_time": np.sort(rng.uniform(s * 1000.0, (s + 1) * 1000.0, n)),
            }
            cloud = PointCloud(x, y, z, attrs, crs, layout)
            if writer is None:
                writer = las.LasStreamWriter(path, cloud[:0])
                writer.__enter__()
            writer.write(cloud)
            written += n
    writer.__exit__(None, None, None)


def _child(variant: str, src: str, out: str, size: float, chunk: int) -> dict:
    t0 = time.perf_counter()
    n = 0
    extra = {}
    if variant == "laspy read+write":
        import laspy

        with laspy.open(src) as reader:
            header = reader.header
            with laspy.open(
                Path(out) / "all.laz", mode="w", header=header, do_compress=True
            ) as writer:
                for pts in reader.chunk_iterator(chunk):
                    writer.write_points(pts)
                    n += len(pts)
    else:
        from pcrs.tiling import TileGrid
        from pcrs.tiling.retile import retile

        mode = "spill" if "spill" in variant else "auto"
        buffer = 20.0 if "buffer" in variant else 0.0
        summary = retile([src], out, TileGrid(size), chunk_size=chunk, mode=mode, buffer=buffer)
        n = summary.points_in
        extra = {"tiles": len(summary.tiles), "mode": summary.mode}
    seconds = time.perf_counter() - t0
    return {"variant": variant, "points": n, "seconds": seconds, "peak_mb": _peak_mb(), **extra}


def _engine_child(variant: str, tiles: str, out: str) -> dict:
    from pcrs.tiling import TileGrid
    from pcrs.tiling.engine import identity, run
    from pcrs.tiling.retile import retile

    t0 = time.perf_counter()
    grid = TileGrid(500)
    src = sorted(Path(tiles).glob("*.laz"))
    if variant == "engine serial":
        summary = run(identity, src, out, grid=grid, buffer=20, executor="serial")
    elif variant == "engine 2 processes":
        summary = run(identity, src, out, grid=grid, buffer=20, executor="process", workers=2)
    elif variant == "retile buffer + engine source_buffer":
        retile(src, Path(out) / "buffered", grid, buffer=20)
        buffered = sorted((Path(out) / "buffered").glob("*.laz"))
        summary = run(
            identity, buffered, out, grid=grid, buffer=20, source_buffer=20, executor="serial"
        )
    else:
        raise SystemExit(f"unknown variant {variant}")
    summary.raise_for_failures()
    points = sum(r.points_written for r in summary.results)
    import resource

    # worker processes are children: their peak is ru_maxrss of RUSAGE_CHILDREN
    child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "variant": variant,
        "points": points,
        "seconds": time.perf_counter() - t0,
        "peak_mb": max(_peak_mb(), child_mb),
    }


def _run_engine(small: Path, work: Path) -> list[dict]:
    from pcrs.tiling import TileGrid
    from pcrs.tiling.retile import retile

    tiles = work / "tiles500"
    if not tiles.exists():
        retile([small], tiles, TileGrid(500))
    results = []
    for variant in ("engine serial", "engine 2 processes", "retile buffer + engine source_buffer"):
        out = work / ("eng_" + variant.replace(" ", "_"))
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        cmd = [sys.executable, __file__, "--engine-child", variant, str(tiles), str(out)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"{variant} failed:\n{proc.stderr}")
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        shutil.rmtree(out, ignore_errors=True)
    return results


def _run(variant: str, src: Path, work: Path, size: float, chunk: int) -> dict:
    out = work / (
        "out_" + variant.replace(" ", "_").replace("+", "_").replace("(", "").replace(")", "")
    )
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    cmd = [sys.executable, __file__, "--child", variant, str(src), str(out), str(size), str(chunk)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{variant} failed:\n{proc.stderr}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["output_mb"] = sum(p.stat().st_size for p in out.glob("*.laz")) / 1e6
    shutil.rmtree(out, ignore_errors=True)
    return result


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--engine-child":
        _, _, variant, tiles, out = sys.argv
        print(json.dumps(_engine_child(variant, tiles, out)))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _, _, variant, src, out, size, chunk = sys.argv
        print(json.dumps(_child(variant, src, out, float(size), int(chunk))))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=20_000_000)
    ap.add_argument("--small", type=int, default=5_000_000)
    ap.add_argument("--size", type=float, default=250.0)
    ap.add_argument("--chunk", type=int, default=2_000_000)
    ap.add_argument("--skip-spill", action="store_true")
    ap.add_argument("--engine", action="store_true", help="Also measure the tile engine.")
    ap.add_argument("--engine-only", action="store_true", help="Only measure the tile engine.")
    ap.add_argument(
        "--workdir", default=None, help="Folder for the generated files (default: a temporary one)."
    )
    args = ap.parse_args()

    work = Path(args.workdir or tempfile.mkdtemp(prefix="pcrs-bench-tiling-"))
    work.mkdir(parents=True, exist_ok=True)
    big, small = work / f"big_{args.points}.laz", work / f"small_{args.small}.laz"
    for path, n in ((big, args.points), (small, args.small)):
        if not path.exists():
            t0 = time.perf_counter()
            _generate(path, n, seed=n % 1000)
            print(
                f"generated {path.name}: {n:,} points, {path.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - t0:.0f} s"
            )

    if args.engine or args.engine_only:
        eng = _run_engine(small, work)
        print(f"\nengine on {args.small:,} points in 500 m tiles, 20 m buffer")
        print(f"{'variant':<40}{'points':>12}{'seconds':>9}{'Mpts/s':>8}{'peak MB':>9}")
        for r in eng:
            print(
                f"{r['variant']:<40}{r['points']:>12,}{r['seconds']:>9.1f}"
                f"{r['points'] / r['seconds'] / 1e6:>8.2f}{r['peak_mb']:>9.0f}"
            )
        print(json.dumps(eng))
        if args.engine_only:
            return
    variants = ["laspy read+write", "pcrs retile"]
    if not args.skip_spill:
        variants.append("pcrs retile spill")
    variants.append("pcrs retile buffer 20")
    results = [_run(v, big, work, args.size, args.chunk) for v in variants]
    results.append(
        _run("pcrs retile (small input)", small, work, args.size, args.chunk) | {"input": "small"}
    )
    base = results[0]
    base_rate = base["points"] / base["seconds"]
    print(f"\ninput: {args.points:,} points, {args.size:g} m tiles, chunk {args.chunk:,} points")
    print(
        f"{'variant':<28}{'points':>12}{'seconds':>9}{'Mpts/s':>8}{'x base':>8}{'peak MB':>9}{'tiles':>7}"
    )
    for r in results:
        rate = r["points"] / r["seconds"]
        print(
            f"{r['variant']:<28}{r['points']:>12,}{r['seconds']:>9.1f}{rate / 1e6:>8.2f}"
            f"{rate / base_rate:>8.2f}{r['peak_mb']:>9.0f}{r.get('tiles', 1):>7}"
        )
    print(json.dumps(results))
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
