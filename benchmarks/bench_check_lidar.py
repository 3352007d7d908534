"""``pcrs.check_lidar`` on one 1 km² tile at LiDAR HD density, against 2 laspy reads of it.

Usage::

    python benchmarks/bench_check_lidar.py [--points 12500000] [--repeat 2] [--file F.laz]

A synthetic scene (:func:`pcrs.synth.make_scene`, 13 pulses/m², about 12.5 M points on
~0.95 km²) is written once as LAZ (LAS 1.4, point format 6) under an IGN LiDAR HD tile name,
unless ``--file`` gives a real tile. Each variant then runs in a fresh subprocess (so that
its peak resident memory is its own), ``--repeat`` times, interleaved; the best time is kept:

- ``laspy.read``: the whole file decoded by ``laspy.read`` (and its x touched);
- ``check_lidar``: ``pcrs.check_lidar([file], "lidarhd")``, every LIDAR rule.

The issue's target (#19) is a check in "about the time of 2 laspy reads": the script prints
time(check_lidar) / (2 x time(laspy.read)) and the peak RSS of each variant.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _peak_rss_mb() -> float:
    import resource

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                rss = int(line.split()[1]) / 1024
    return rss


def _one(variant: str, path: str) -> dict:
    t0 = time.perf_counter()
    n = 0
    if variant == "laspy.read":
        import laspy

        las = laspy.read(path)
        n = len(las.points)
        _ = las.x.min()
    elif variant == "check_lidar":
        import pcrs

        report = pcrs.check_lidar([path], "lidarhd")
        n = report.lidar["points_read"]
    else:
        raise SystemExit(f"unknown variant {variant}")
    return {"variant": variant, "points": n, "seconds": time.perf_counter() - t0,
            "peak_rss_mb": _peak_rss_mb()}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=12_500_000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--file", default=None, help="a real tile instead of the synthetic one")
    ap.add_argument("--one", nargs=2, metavar=("VARIANT", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(_one(*args.one)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        if args.file:
            path = Path(args.file)
        else:
            import pcrs

            path = Path(tmp) / "LHD_FXX_0700_6601_PTS_C_LAMB93_IGN69.laz"
            t0 = time.perf_counter()
            scene = pcrs.synth.make_scene(args.points, density=13.0, seed=1,
                                          origin=(700_000.0, 6_600_000.0))  # fmt: skip
            pcrs.write(scene.cloud, path)
            n = len(scene.cloud)
            b = scene.cloud.bounds
            del scene
            print(f"scene: {n:,} points over {(b[3] - b[0]):.0f} x {(b[4] - b[1]):.0f} m, "
                  f"{path.stat().st_size / 1e6:.0f} MB LAZ (made in "
                  f"{time.perf_counter() - t0:.0f} s)")  # fmt: skip
        results: dict[str, dict] = {}
        for _ in range(args.repeat):
            for variant in ("laspy.read", "check_lidar"):
                out = subprocess.run(
                    [sys.executable, __file__, "--one", variant, str(path)],
                    capture_output=True, text=True, check=True, env=dict(os.environ),
                )  # fmt: skip
                r = json.loads(out.stdout.strip().splitlines()[-1])
                best = results.get(variant)
                if best is None or r["seconds"] < best["seconds"]:
                    if best is not None:
                        r["peak_rss_mb"] = max(r["peak_rss_mb"], best["peak_rss_mb"])
                    results[variant] = r
                else:
                    best["peak_rss_mb"] = max(best["peak_rss_mb"], r["peak_rss_mb"])
        base = results["laspy.read"]
        print(f"{'variant':<14}{'points':>13}{'seconds':>9}{'peak RSS MB':>13}")
        for variant, r in results.items():
            print(f"{variant:<14}{r['points']:>13,}{r['seconds']:>9.2f}{r['peak_rss_mb']:>13.0f}")
        ratio = results["check_lidar"]["seconds"] / (2 * base["seconds"])
        print(f"check_lidar / (2 x laspy.read) = {ratio:.2f}  (target: about 1)")


if __name__ == "__main__":
    main()
