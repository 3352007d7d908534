"""Feature-extraction throughput, and one whole-scene classification of a 1 km² tile.

Usage::

    python benchmarks/bench_features.py [--points 2000000] [--k 16]
    python benchmarks/bench_features.py --scene [--scene-points 11200000]
    python benchmarks/bench_features.py --steps --points 1000000
    python benchmarks/bench_features.py --rules --points 2000000

Features (default): covariance eigen-features of the ``k`` nearest neighbours
of every point of a synthetic LiDAR HD-like scene (10 pulses/m²), measured in
points per second, in the same run for:

- ``pcrs.local_features``: batched cKDTree queries (``workers=-1``) in Morton
  order, covariance sums, ``numpy.linalg.eigh`` on stacked 3 × 3 matrices;
- ``plain per-batch numpy``: the straightforward version a user would write —
  the same batches in file order, one query per batch on one thread,
  ``np.einsum`` covariance, ``eigh`` — the baseline of the ratio;
- ``per-point loop``: ``np.cov`` + ``eigh`` per point in Python (on a 20,000
  point sample, extrapolated), to show why the batching matters;
- ``open3d`` normal estimation (``KDTreeSearchParamKNN(k)``), the peer, only
  when open3d is installed (it is not a pcrs dependency).

``--scene`` (slow; run it once): generates a 1 km × 1 km scene at 10 pulses/m²
(≥ 10 million points), then runs ``pcrs.classify.pipeline.classify`` with the
steps noise, ground (SMRF), height, water, bridges, buildings, structures,
vegetation in a fresh subprocess, and prints the wall time, the peak resident
memory of that subprocess and the IoU against the synthetic truth.

``--steps``: the same chain on ``--points`` points in this process, with the
wall time of each step (which step dominates).

``--rules``: :func:`pcrs.classify.scene.classify_scene` alone on the true
ground of a ``--points`` scene: time, peak memory traced by ``tracemalloc``
(numpy arrays included) and IoU against the truth.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time


def _plain_per_batch(xyz, k: int, batch: int = 100_000):
    import numpy as np
    from scipy.spatial import cKDTree

    tree = cKDTree(xyz)
    out = np.empty((xyz.shape[0], 3))
    for s in range(0, xyz.shape[0], batch):
        _, idx = tree.query(xyz[s : s + batch], k=k)
        nb = xyz[idx]
        nb = nb - nb.mean(axis=1, keepdims=True)
        cov = np.einsum("bki,bkj->bij", nb, nb) / k
        w, _ = np.linalg.eigh(cov)
        out[s : s + batch] = w
    return out


def _per_point_loop(xyz, k: int, n: int):
    import numpy as np
    from scipy.spatial import cKDTree

    tree = cKDTree(xyz)
    for i in range(n):
        _, idx = tree.query(xyz[i], k=k)
        np.linalg.eigh(np.cov(xyz[idx].T))


def features(points: int, k: int) -> None:
    import numpy as np

    from pcrs import synth
    from pcrs.classify.features import local_features

    scene = synth.make_scene(points, seed=11)
    xyz = scene.cloud.xyz
    n = xyz.shape[0]
    print(f"{n} points, k = {k}")
    rows = []
    t = time.perf_counter()
    local_features(xyz, k=k)
    t_pcrs = time.perf_counter() - t
    rows.append(("pcrs.local_features", n / t_pcrs, t_pcrs))
    t = time.perf_counter()
    _plain_per_batch(xyz, k)
    t_plain = time.perf_counter() - t
    rows.append(("plain per-batch numpy", n / t_plain, t_plain))
    m = 20_000
    t = time.perf_counter()
    _per_point_loop(xyz, k, m)
    t_loop = (time.perf_counter() - t) * n / m
    rows.append(("per-point loop (extrapolated)", n / t_loop, t_loop))
    try:
        import open3d as o3d
    except ModuleNotFoundError:
        print("open3d: not installed, no peer figure (pip install open3d to add it)")
    else:  # pragma: no cover - optional peer
        pcd = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(xyz - xyz.mean(axis=0)))
        t = time.perf_counter()
        pcd.estimate_normals(o3d.geometry.KDTreeSearchParamKNN(k))
        t_o3d = time.perf_counter() - t
        rows.append(("open3d estimate_normals", n / t_o3d, t_o3d))
    print(f"{'variant':32s} {'points/s':>12s} {'time s':>8s} {'vs plain':>9s}")
    for name, rate, secs in rows:
        print(f"{name:32s} {rate:12.0f} {secs:8.1f} {t_plain / secs:8.2f}x")
    del np


_SCENE_CHILD = r"""
import json, resource, sys, time
import numpy as np
from pcrs import synth
from pcrs.classify import scene as _scene  # registers the scene steps
from pcrs.classify.pipeline import classify
n = int(sys.argv[1])
t = time.perf_counter()
sc = synth.make_scene(n, density=10.0, seed=2026)
t_gen = time.perf_counter() - t
rss_gen = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
cloud = sc.cloud
truth = cloud.classification.copy()
bounds = sc.bounds
t = time.perf_counter()
out = classify(cloud, steps="noise,ground,height,water,bridges,buildings,structures,vegetation")
t_cls = time.perf_counter() - t
pred = out.classification
def iou(codes):
    a = np.isin(pred, codes); b = np.isin(truth, codes)
    return float((a & b).sum() / max((a | b).sum(), 1))
print(json.dumps({
    "points": len(cloud), "side_m": bounds[2] - bounds[0], "generate_s": t_gen,
    "classify_s": t_cls, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "rss_after_generation_mb": rss_gen,
    "iou": {"ground": iou([2]), "vegetation": iou([3, 4, 5]), "building": iou([6]),
            "water": iou([9]), "bridge": iou([17]), "structure": iou([64])},
}))
"""


def scene(points: int) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _SCENE_CHILD, str(points)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode:
        print(proc.stderr, file=sys.stderr)
        raise SystemExit(proc.returncode)
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    print(
        f"{res['points']} points over {res['side_m']:.0f} m x {res['side_m']:.0f} m: "
        f"generated in {res['generate_s']:.1f} s, classified in {res['classify_s']:.1f} s "
        f"({res['points'] / res['classify_s']:.0f} points/s), peak RSS {res['peak_rss_mb']:.0f} MB "
        f"(of which {res['rss_after_generation_mb']:.0f} MB after generating the scene)"
    )
    print("IoU vs synthetic truth: " + ", ".join(f"{k} {v:.3f}" for k, v in res["iou"].items()))


def steps(points: int) -> None:
    """Wall time of each pipeline step on one scene (in this process)."""
    import numpy as np

    from pcrs import synth
    from pcrs.classify import pipeline
    from pcrs.classify import scene as _scene  # also registers the scene steps

    sc = synth.make_scene(points, density=10.0, seed=3)
    times: dict[str, float] = {}
    for name, st in list(pipeline.STEPS.items()):

        def timed(ctx, _run=st.run, _name=name):
            t = time.perf_counter()
            _run(ctx)
            times[_name] = time.perf_counter() - t

        pipeline.STEPS[name] = pipeline.Step(
            st.name, timed, st.assigns, st.requires, st.rank, st.buffer, st.description
        )
    raw = sc.cloud.copy()
    raw["classification"] = np.ones(len(raw), np.uint8)
    t = time.perf_counter()
    pipeline.classify(raw, steps="noise,ground,height," + ",".join(_scene.SCENE_STEPS))
    total = time.perf_counter() - t
    print(f"{len(raw)} points, whole chain {total:.1f} s; per step:")
    for name, secs in times.items():
        print(f"  {name:12s} {secs:7.2f} s  {100 * secs / total:5.1f} %")


def rules(points: int) -> None:
    """The scene rules alone, on the true ground of a scene: time and peak traced memory."""
    import tracemalloc

    import numpy as np

    from pcrs import synth
    from pcrs.classify.scene import classify_scene

    sc = synth.make_scene(points, density=10.0, seed=5)
    c = sc.cloud
    truth = c.classification
    hag = c.z - sc.ground_z(c.x, c.y)
    ground = np.isin(truth, (2, 9))
    tracemalloc.start()
    t = time.perf_counter()
    out = classify_scene(c, ground, hag, noise=truth == 65)
    secs = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    def iou(codes):
        a, b = np.isin(out, codes), np.isin(truth, codes)
        return (a & b).sum() / max((a | b).sum(), 1)

    print(
        f"{len(c)} points ({(~ground).sum()} above ground): classify_scene {secs:.1f} s, "
        f"peak traced memory {peak / 1e6:.0f} MB ({peak / len(c):.0f} bytes/point)"
    )
    print(
        "IoU vs truth: "
        + ", ".join(
            f"{k} {iou(v):.3f}"
            for k, v in (
                ("vegetation", (3, 4, 5)),
                ("building", (6,)),
                ("water", (9,)),
                ("bridge", (17,)),
                ("structure", (64,)),
            )
        )
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=2_000_000)
    ap.add_argument("--k", type=int, default=16)
    ap.add_argument("--scene", action="store_true", help="run the 1 km² classification instead")
    ap.add_argument("--scene-points", type=int, default=11_200_000)
    ap.add_argument(
        "--steps", action="store_true", help="time each pipeline step on --points points"
    )
    ap.add_argument(
        "--rules", action="store_true", help="scene rules alone on the true ground (time, memory)"
    )
    args = ap.parse_args(argv)
    if args.scene:
        scene(args.scene_points)
    elif args.steps:
        steps(args.points)
    elif args.rules:
        rules(args.points)
    else:
        features(args.points, args.k)
    return 0


if __name__ == "__main__":
    sys.exit(main())
