"""Benchmark: the LiDAR cross-check of a PCRS delivery, beside reading the same points with laspy.

Generates a synthetic scene (default 10 million points, ``pcrs.synth.make_scene``) written as
one LAZ file, and the delivery a surveyor would draw on it (``pcrs.vector.sample.scene_features``:
a façade and a threshold per building, road limits, trees, manhole covers — about 1,500 objects
at 10 M points). Then measures, each in a fresh process so that the peak resident memory is its
own:

1. **laspy**: ``laspy.read(path)`` of the whole file (decompression of every point): the floor
   for any tool that looks at every point of a LAZ file;
2. **plane** / **tin**: ``pcrs.vector.lidar_check.cross_check(gml, laz)`` with each
   ``z_method`` (delivery streamed, points streamed in chunks, Z residuals, façades,
   completeness).

Prints wall and CPU seconds, the ratio to laspy, and peak RSS. On a shared machine the wall
time follows the load of the other processes (printed before and after, with the cores): with
``--repeat N`` each run is made N times, in turns, and the fastest wall and CPU times are kept
(the RSS is the largest).

Usage::

    python benchmarks/bench_lidar_check.py                  # 10 M points in a temporary folder
    python benchmarks/bench_lidar_check.py --points 2000000 --keep DIR
    python benchmarks/bench_lidar_check.py --keep DIR --repeat 3
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _peak_rss_mb() -> float:
    """Peak resident memory of this process. Linux keeps ``ru_maxrss`` across ``exec``, so a
    child started by a big parent would report the parent's peak: read VmHWM instead."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(mode: str, gml: str, laz: str) -> None:
    t0 = time.perf_counter()
    c0 = time.process_time()
    out: dict = {}
    if mode == "laspy":
        import laspy

        las = laspy.read(laz)
        out["points"] = len(las.points)
    else:
        from pcrs.vector.lidar_check import LidarOptions, cross_check

        result = cross_check(gml, laz, options=LidarOptions(z_method=mode))
        out["points"] = result.stats["points_read"]
        out["findings"] = len(result.findings)
        out["z"] = result.stats["z"]
    out["wall"] = time.perf_counter() - t0
    out["cpu"] = time.process_time() - c0
    out["rss_mb"] = _peak_rss_mb()
    print(json.dumps(out))


def _run(mode: str, gml: Path, laz: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(gml), str(laz)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _load() -> str:
    """The load averages (1, 5, 15 min) and the number of cores."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "load unknown"
    return f"load {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def _best(runs: list[dict]) -> dict:
    """The fastest wall and CPU times of repeated runs, and their largest peak RSS."""
    out = dict(runs[0])
    out["wall"] = min(r["wall"] for r in runs)
    out["cpu"] = min(r["cpu"] for r in runs)
    out["rss_mb"] = max(r["rss_mb"] for r in runs)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=10_000_000)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--keep", type=Path, default=None, help="folder for the files (kept)")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each mode (best kept)")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _child(*args.child)
        return
    from pcrs import synth
    from pcrs.io import las
    from pcrs.vector.sample import scene_features, write_scene_delivery

    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench_lidar_check_"))
    folder.mkdir(parents=True, exist_ok=True)
    laz, gml = folder / "scene.laz", folder / "delivery.gml"
    if not (laz.exists() and gml.exists()):
        t = time.perf_counter()
        scene = synth.make_scene(args.points, seed=args.seed)
        features = scene_features(scene)
        las.write(scene.cloud, laz, overwrite=True)
        write_scene_delivery(gml, features, overwrite=True)
        n = len(scene.cloud)
        del scene
        print(
            f"prepared {n:,} points, {len(features):,} objects in {time.perf_counter() - t:.1f} s"
        )
    print(f"before: {_load()}")
    modes = ("laspy", "plane", "tin")
    tries: dict[str, list[dict]] = {m: [] for m in modes}
    for _ in range(max(1, args.repeat)):
        for mode in modes:
            tries[mode].append(_run(mode, gml, laz))
    print(f"after: {_load()}")
    runs = {m: _best(tries[m]) for m in modes}
    base = runs["laspy"]
    print(f"{'run':<8}{'points':>12}{'wall s':>9}{'cpu s':>8}{'x laspy':>9}{'RSS MB':>9}")
    for name, r in runs.items():
        print(
            f"{name:<8}{r['points']:>12,}{r['wall']:>9.2f}{r['cpu']:>8.2f}"
            f"{r['wall'] / base['wall']:>9.2f}{r['rss_mb']:>9.0f}"
        )
    for name in ("plane", "tin"):
        print(f"pcrs ({name}) findings: {runs[name]['findings']}; z: {runs[name]['z']}")


if __name__ == "__main__":
    main()
