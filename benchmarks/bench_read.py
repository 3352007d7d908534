"""Chunked LAZ read throughput and peak memory, against a plain laspy read of the same file.

Usage::

    python benchmarks/bench_read.py [--points 5000000] [--chunk 1000000] [--repeat 3]

A synthetic LiDAR HD-like scene is written once as LAZ (LAS 1.4, format 6) in a
temporary folder. Each variant then reads the whole file in a fresh subprocess
(so that peak resident memory is its own), ``--repeat`` times; the best time is kept:

- ``laspy.read``: the baseline, the whole file decoded into one LasData;
- ``pcrs.read``: the whole file into a PointCloud (float64 x/y/z + attributes);
- ``pcrs.iter_chunks``: the file streamed in chunks of ``--chunk`` points, each
  chunk converted to a PointCloud and dropped (what the tiler and the catalog
  statistics do);
- ``laspy.write`` / ``pcrs.write``: the file read once (not timed), then
  written back as LAZ (timed): laspy's ``LasData.write`` against
  :func:`pcrs.write` with its lossless layout.

The ratios printed are time(variant) / time(laspy.read) for reads, time / time(laspy.write)
for writes, and peak RSS likewise.

``--baseline-src DIR`` also runs the pcrs variants with ``DIR`` (the ``src``
folder of another checkout, e.g. ``git worktree add /tmp/old <commit>``) first
on ``PYTHONPATH``, in the same run, as ``old:pcrs.read`` etc.: how a change
moved the speed, measured side by side.
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


def _one(variant: str, path: str, chunk: int) -> dict:
    import resource

    t0 = time.perf_counter()
    n = 0
    if variant.endswith(".write"):
        import tempfile

        target = Path(tempfile.mkdtemp()) / "out.laz"
        if variant == "laspy.write":
            import laspy

            data = laspy.read(path)
            t0 = time.perf_counter()
            data.write(target)
            n = len(data.points)
        else:
            import pcrs

            cloud = pcrs.read(path)
            t0 = time.perf_counter()
            pcrs.write(cloud, target)
            n = len(cloud)
        target.unlink()
    elif variant == "laspy.read":
        import laspy

        las = laspy.read(path)
        n = len(las.points)
        _ = las.x.min()  # touch the scaled coordinates as pcrs does
    elif variant == "pcrs.read":
        import pcrs

        n = len(pcrs.read(path))
    elif variant == "pcrs.iter_chunks":
        import pcrs

        for c in pcrs.iter_chunks(path, chunk_size=chunk):
            n += len(c)
    else:
        raise SystemExit(f"unknown variant {variant}")
    seconds = time.perf_counter() - t0
    # VmHWM is this process's own peak (ru_maxrss would inherit the parent's across exec)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                rss_mb = int(line.split()[1]) / 1024
    return {"variant": variant, "points": n, "seconds": seconds, "peak_rss_mb": rss_mb}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=5_000_000)
    ap.add_argument("--chunk", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--baseline-src", default=None, help="src folder of another pcrs checkout")
    ap.add_argument("--one", nargs=2, metavar=("VARIANT", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(_one(args.one[0], args.one[1], args.chunk)))
        return

    import pcrs

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scene.laz"
        t0 = time.perf_counter()
        scene = pcrs.synth.make_scene(args.points, seed=1)
        pcrs.write(scene.cloud, path)
        n = len(scene.cloud)
        del scene
        print(
            f"scene: {n:,} points, {path.stat().st_size / 1e6:.1f} MB LAZ "
            f"(generated and written in {time.perf_counter() - t0:.1f} s)"
        )
        variants = [
            "laspy.read", "pcrs.read", "pcrs.iter_chunks", "laspy.write", "pcrs.write",
        ]  # fmt: skip
        if args.baseline_src:
            variants += [f"old:{v}" for v in variants if v.startswith("pcrs.")]
        results = {}
        # interleave the repeats so that a load change on the machine hits every variant alike
        for _ in range(args.repeat):
            for variant in variants:
                env = dict(os.environ)
                name = variant
                if variant.startswith("old:"):
                    env["PYTHONPATH"] = args.baseline_src
                    name = variant[4:]
                out = subprocess.run(
                    [sys.executable, __file__, "--chunk", str(args.chunk), "--one", name, str(path)],
                    capture_output=True, text=True, check=True, env=env,
                )  # fmt: skip
                r = json.loads(out.stdout)
                best = results.get(variant)
                if best is None or r["seconds"] < best["seconds"]:
                    r["peak_rss_mb"] = max(r["peak_rss_mb"], (best or r)["peak_rss_mb"])
                    results[variant] = r
                else:
                    best["peak_rss_mb"] = max(best["peak_rss_mb"], r["peak_rss_mb"])
        print(f"{'variant':<22}{'points/s':>14}{'time x':>9}{'peak RSS MB':>13}{'RSS x':>8}")
        for variant, r in results.items():
            base = results["laspy.write" if variant.endswith(".write") else "laspy.read"]
            print(
                f"{variant:<22}{r['points'] / r['seconds']:>14,.0f}"
                f"{r['seconds'] / base['seconds']:>9.2f}{r['peak_rss_mb']:>13.0f}"
                f"{r['peak_rss_mb'] / base['peak_rss_mb']:>8.2f}"
            )


if __name__ == "__main__":
    main()
