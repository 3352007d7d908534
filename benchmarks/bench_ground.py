"""Speed of the ground filters, against baselines measured in the same run.

1. **SMRF vs a straightforward scipy SMRF** on the same ~1 M synthetic points:
   the baseline is the same algorithm written the direct way (minimum grid,
   sparse direct Laplace solve for the inpainting, ``scipy.ndimage.grey_opening``
   with a disk footprint for each radius). Both classify the same points; the
   agreement of the two masks is printed.
2. **PDAL ``filters.smrf``** end to end (read LAZ, classify, write LAZ) when a
   ``pdal`` command is on the PATH, against ``pcrs classify`` end to end on the
   same file; skipped (and said so) otherwise.
3. **CSF against the C++ CSF library** (PyPI ``cloth-simulation-filter``, module
   ``CSF``) at equal cloth resolution and iterations when it is importable;
   skipped otherwise.
4. **Throughput** of SMRF, CSF and PMF on a generated tile of >= 5 M points
   (``--big``), with the time split by stage for SMRF.

Wall time and CPU time (this process) are both printed: on a loaded machine the
wall time includes waiting for a core. Usage::

    python benchmarks/bench_ground.py              # 1 M points + 5 M points
    python benchmarks/bench_ground.py --points 1000000 --big 0
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import ndimage, sparse
from scipy.sparse import linalg as splinalg

from pcrs import synth
from pcrs.classify import ground as G
from pcrs.io import las


class Timer:
    def __enter__(self):
        self.w = time.perf_counter()
        self.c = time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.w
        self.cpu = time.process_time() - self.c


# --- the baseline: SMRF written the direct scipy way -----------------------------------


def _laplace_fill(grid: np.ndarray) -> np.ndarray:
    nan = np.isnan(grid)
    if not nan.any():
        return grid
    ny, nx = grid.shape
    unknown = np.flatnonzero(nan)
    index = np.full(grid.size, -1)
    index[unknown] = np.arange(unknown.size)
    r, c = np.divmod(unknown, nx)
    rows, cols, vals = (
        [np.arange(unknown.size)],
        [np.arange(unknown.size)],
        [np.zeros(unknown.size)],
    )
    rhs = np.zeros(unknown.size)
    flat = grid.ravel()
    for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):
        rr, cc = r + dr, c + dc
        ok = (rr >= 0) & (rr < ny) & (cc >= 0) & (cc < nx)
        vals[0] = vals[0] + ok
        nb = rr[ok] * nx + cc[ok]
        me = np.flatnonzero(ok)
        j = index[nb]
        rows.append(me[j >= 0])
        cols.append(j[j >= 0])
        vals.append(-np.ones((j >= 0).sum()))
        np.add.at(rhs, me[j < 0], flat[nb[j < 0]])
    a = sparse.csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(unknown.size, unknown.size),
    )
    out = grid.copy()
    out.ravel()[unknown] = splinalg.spsolve(a, rhs)
    return out


def baseline_smrf(x, y, z, cell=1.0, slope=0.15, window=18.0, threshold=0.5, scalar=1.25):
    x0, y0 = math.floor(x.min() / cell) * cell, math.floor(y.min() / cell) * cell
    ix = ((x - x0) / cell).astype(int)
    iy = ((y - y0) / cell).astype(int)
    shape = (iy.max() + 1, ix.max() + 1)
    zmin = np.full(shape, np.inf)
    np.minimum.at(zmin, (iy, ix), z)
    zmin[np.isinf(zmin)] = np.nan
    surf = _laplace_fill(zmin)
    # low outliers: slope 5, one-cell window on the negated surface
    yy, xx = np.mgrid[-1:2, -1:2]
    low = (-surf - ndimage.grey_opening(-surf, footprint=xx**2 + yy**2 <= 1)) > 5 * cell
    surf = _laplace_fill(np.where(low, np.nan, surf))
    obj = np.zeros(shape, bool)
    last = surf
    for r in range(1, math.ceil(window / cell) + 1):
        yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
        opened = ndimage.grey_opening(last, footprint=xx**2 + yy**2 <= r * r, mode="nearest")
        obj |= (last - opened) > slope * r * cell
        last = opened
    pro = _laplace_fill(np.where(obj, np.nan, surf))
    gy, gx = np.gradient(pro, cell)
    fx, fy = (x - x0) / cell - 0.5, (y - y0) / cell - 0.5
    zp = ndimage.map_coordinates(pro, [fy, fx], order=1, mode="nearest")
    sp = ndimage.map_coordinates(np.hypot(gx, gy), [fy, fx], order=1, mode="nearest")
    return np.abs(z - zp) <= threshold + scalar * sp


# --- stages of pcrs SMRF, for the profile ----------------------------------------------


def smrf_stages(x, y, z):
    t = {}
    with Timer() as tm:
        grid = G._Grid.for_points(x, y, 1.0)
        zmin = grid.minimum(z)
    t["minimum grid"] = tm.wall
    with Timer() as tm:
        surface = G._inpaint(zmin, grid.origin)
        for _ in range(2):
            low = G._low_outlier_cells(surface, 1.0)
            if not low.any():
                break
            surface = G._inpaint(np.where(low, np.nan, surface), grid.origin)
    t["inpaint + low outliers"] = tm.wall
    with Timer() as tm:
        objects = G._progressive_objects(surface, 1.0, 0.15, range(1, 19))
    t["progressive opening (18 disks)"] = tm.wall
    with Timer() as tm:
        pro = G._inpaint(np.where(objects, np.nan, surface), grid.origin)
        gy, gx = np.gradient(pro, 1.0)
        zp = grid.sample(pro, x, y)
        sp = grid.sample(np.hypot(gx, gy), x, y)
        _ = np.abs(z - zp) <= 0.5 + 1.25 * sp
    t["provisional DTM + point test"] = tm.wall
    return t


@contextlib.contextmanager
def _quiet_stdout():
    """Silence what C++ code prints on file descriptor 1."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 1)
        try:
            yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)


def csf_library(x, y, z, resolution=1.0, rigidness=3, time_step=0.65, threshold=0.5,
                iterations=500, smooth=True) -> np.ndarray:  # fmt: skip
    """Ground mask from the C++ CSF library (PyPI ``cloth-simulation-filter``), same parameters."""
    import CSF

    lib = CSF.CSF()
    lib.params.cloth_resolution = resolution
    lib.params.rigidness = rigidness
    lib.params.time_step = time_step
    lib.params.class_threshold = threshold
    lib.params.interations = iterations
    lib.params.bSloopSmooth = smooth
    lib.setPointCloud(np.column_stack([x, y, z]))
    ground, other = CSF.VecInt(), CSF.VecInt()
    with _quiet_stdout():
        lib.do_filtering(ground, other, False)
    mask = np.zeros(len(x), bool)
    mask[np.asarray(ground, dtype=np.int64)] = True
    return mask


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=1_120_000)
    ap.add_argument("--density", type=float, default=4.0, help="pulses per square metre")
    ap.add_argument("--big", type=int, default=5_600_000, help="0 to skip the big tile")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    report: dict = {}

    scene = synth.make_scene(args.points, seed=1, density=args.density)
    c = scene.cloud
    x, y, z = c.x, c.y, c.z
    side = c.bounds[3] - c.bounds[0]
    print(f"scene: {len(c):,} points over {side:.0f} m x {side:.0f} m (1 m cells: {side**2:,.0f})")

    with Timer() as t_ours:
        ours = G.smrf(x, y, z)
    with Timer() as t_base:
        base = baseline_smrf(x, y, z)
    agree = float((ours == base).mean())
    print(
        f"SMRF pcrs      {t_ours.wall:7.2f} s wall {t_ours.cpu:7.2f} s cpu\n"
        f"SMRF baseline  {t_base.wall:7.2f} s wall {t_base.cpu:7.2f} s cpu "
        "(scipy grey_opening with disk footprints + sparse direct Laplace fill)\n"
        f"  speed-up x{t_base.wall / t_ours.wall:.1f} wall, x{t_base.cpu / t_ours.cpu:.1f} cpu; "
        f"masks agree on {100 * agree:.3f} % of the points"
    )
    report["smrf_vs_baseline"] = {
        "points": len(c), "pcrs_wall": t_ours.wall, "pcrs_cpu": t_ours.cpu,
        "baseline_wall": t_base.wall, "baseline_cpu": t_base.cpu, "agreement": agree,
    }  # fmt: skip
    stages = smrf_stages(x, y, z)
    print("  pcrs SMRF stages: " + ", ".join(f"{k} {v:.2f} s" for k, v in stages.items()))
    report["smrf_stages"] = stages

    # --- PDAL, end to end, when installed
    pdal = shutil.which("pdal")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.laz"
        las.write(c, src)
        from pcrs.cli.main import main as pcrs_main

        with Timer() as t_e2e:
            try:
                pcrs_main(
                    [
                        "classify",
                        str(src),
                        "-o",
                        str(Path(tmp) / "pcrs.laz"),
                        "--steps",
                        "ground",
                        "-q",
                    ]
                )
            except SystemExit as exc:
                if exc.code:
                    raise
        print(f"pcrs classify end to end (read LAZ, SMRF, write LAZ): {t_e2e.wall:.2f} s wall")
        report["pcrs_end_to_end"] = t_e2e.wall
        if pdal:
            pipe = {"pipeline": [str(src), {"type": "filters.smrf"}, str(Path(tmp) / "pdal.laz")]}
            (Path(tmp) / "p.json").write_text(json.dumps(pipe))
            w = time.perf_counter()
            subprocess.run([pdal, "pipeline", str(Path(tmp) / "p.json")], check=True)
            t_pdal = time.perf_counter() - w
            print(
                f"PDAL filters.smrf end to end: {t_pdal:.2f} s -> pcrs x{t_pdal / t_e2e.wall:.2f}"
            )
            report["pdal_end_to_end"] = t_pdal
        else:
            print("PDAL: no 'pdal' command on this machine, comparison not run")
    import importlib.util

    if importlib.util.find_spec("CSF") is None:  # the C++ CSF library (cloth-simulation-filter)
        print("CSF library: module 'CSF' not installed, comparison not run")
    else:
        with Timer() as t_lib:
            lib_ground = csf_library(x, y, z)
        with Timer() as t_c:
            ours_csf = G.csf(x, y, z)
        truth = c.classification == 2
        print(
            f"CSF C++ library {t_lib.wall:7.2f} s wall {t_lib.cpu:7.2f} s cpu\n"
            f"CSF pcrs        {t_c.wall:7.2f} s wall {t_c.cpu:7.2f} s cpu "
            "(resolution 1, rigidness 3, time step 0.65, 500 iterations, slope smoothing)\n"
            f"  speed-up x{t_lib.wall / t_c.wall:.1f} wall, x{t_lib.cpu / t_c.cpu:.1f} cpu; "
            f"masks agree on {100 * (lib_ground == ours_csf).mean():.2f} %; agreement with the "
            f"scene's ground truth: library {100 * (lib_ground == truth).mean():.2f} %, "
            f"pcrs {100 * (ours_csf == truth).mean():.2f} %"
        )
        report["csf_vs_library"] = {
            "library_wall": t_lib.wall, "library_cpu": t_lib.cpu,
            "pcrs_wall": t_c.wall, "pcrs_cpu": t_c.cpu,
        }  # fmt: skip

    # --- throughput of the three filters on a big tile
    if args.big:
        big = synth.make_scene(args.big, seed=2, density=args.density).cloud
        side = big.bounds[3] - big.bounds[0]
        print(f"\nbig tile: {len(big):,} points over {side:.0f} m x {side:.0f} m")
        report["big"] = {"points": len(big)}
        for method in G.GROUND_FILTERS:
            with Timer() as t:
                mask = G.classify_ground(big.x, big.y, big.z, method=method)
            rate = len(big) / t.wall / 1e6
            print(
                f"  {method}: {t.wall:6.2f} s wall, {t.cpu:6.2f} s cpu, {rate:.2f} M points/s, "
                f"ground {100 * mask.mean():.1f} %"
            )
            report["big"][method] = {"wall": t.wall, "cpu": t.cpu}
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
