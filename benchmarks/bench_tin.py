"""TIN-linear DTM: pcrs against scipy's LinearNDInterpolator (and PDAL when installed), same run.

Same points (the ground classes 2/9/66 of a synthetic scene, in the scene's
order), same 0.5 m grid, same local coordinates. Prints the time of each step,
the ratio, and how far the two DTMs are apart.

    python benchmarks/bench_tin.py                      # 5.1 M-point scene, 10 pulses/m2
    python benchmarks/bench_tin.py --points 1000000     # quicker
    python benchmarks/bench_tin.py --agreement          # IGN files: pcrs vs an independent TIN
    python benchmarks/bench_tin.py --ign-mosaic         # PEERS.md-like: sparse IGN points, 60 M px
    python benchmarks/bench_tin.py --delaunay --repeat 3             # sweep / qhull / startinpy
    python benchmarks/bench_tin.py --delaunay --ign-mosaic --repeat 3   # the same on IGN points

``--delaunay`` compares the three Delaunay triangulators pcrs could use on the
same ground points, each feeding the same triangle fill: pcrs's sweep (numba),
qhull (scipy) and startinpy (Rust, MIT, ``pip install startinpy``; skipped when
not installed). Every run of every engine is a fresh process (so that its peak
RSS is its own), the engines alternate within each repeat (so that a busy
machine weighs on all of them alike), and each reports wall time, CPU time and
peak RSS; the triangles and the DTMs are checked against the sweep's.

``--agreement`` needs the shared data folder (``PCRS_SHARED_DATA``, default
``../shared/data``): for every IGN file, pcrs's DTM of IGN's own ground points
against scipy's TIN-linear, RMSE and share of pixels within 1 mm.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.interpolate import LinearNDInterpolator
from scipy.spatial import Delaunay

from pcrs import synth
from pcrs.raster import DTM_CLASSES, RasterGrid, dtm
from pcrs.raster.delaunay import resolve_engine
from pcrs.raster.interpolate import rasterize_triangles, spatial_order, triangulate

#: the triangulators ``--delaunay`` compares, in the order each repeat runs them
DELAUNAY_ENGINES = ("sweep", "qhull", "startinpy")


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _startin_triangulate(
    x: np.ndarray, y: np.ndarray, z: np.ndarray, timings: dict | None = None
) -> np.ndarray:
    """startinpy's Delaunay triangles of the points, as indices into ``x``/``y``.

    startinpy gets what pcrs's qhull engine gets (:func:`pcrs.raster.interpolate.triangulate`):
    one vertex per x/y (the lowest, as for a DTM), in Morton order, on local coordinates.
    The order matters: startinpy inserts points one by one and walks from the last
    triangle, so randomly ordered input is about a hundred times slower (measured:
    535 s against 4.3 s for 0.94 M points).

    Parameters
    ----------
    x, y, z : ndarray
        Point coordinates.
    timings : dict, optional
        Receives ``insert_wall`` and ``insert_cpu``: the seconds spent in
        startinpy itself (``DT.insert`` and reading its triangles), without the
        sort and deduplication before.

    Returns
    -------
    ndarray of int64, shape (m, 3)
        Triangles indexing ``x``; startinpy's vertex 0 (its point at infinity) is not used.
    """
    import startinpy

    by_z = np.argsort(z, kind="stable")
    order = by_z[spatial_order(x[by_z], y[by_z])]  # lexsort is stable: lowest z first per x/y
    xs, ys = x[order], y[order]
    keep = np.r_[True, (xs[1:] != xs[:-1]) | (ys[1:] != ys[:-1])]
    order = order[keep]
    ox, oy = np.floor(x.min() / 1000.0) * 1000.0, np.floor(y.min() / 1000.0) * 1000.0
    pts = np.column_stack([x[order] - ox, y[order] - oy, z[order]])
    t0, c0 = time.perf_counter(), time.process_time()
    dt = startinpy.DT()
    dt.snap_tolerance = 1e-6  # keep every distinct LAS point (default: 1 mm)
    dt.insert(pts)
    triangles = dt.triangles
    if timings is not None:
        timings["insert_wall"] = time.perf_counter() - t0
        timings["insert_cpu"] = time.process_time() - c0
    if dt.number_of_vertices() != len(order):
        raise RuntimeError(
            f"startinpy kept {dt.number_of_vertices()} of {len(order)} distinct points"
        )
    return order[np.asarray(triangles, np.int64) - 1]


def _triangulate_with(x, y, z, engine: str, timings: dict | None = None) -> np.ndarray:
    if engine == "startinpy":
        return _startin_triangulate(x, y, z, timings)
    return triangulate(x, y, z, engine=engine)


def _one_piece(x, y, z, grid, engine: str = "auto"):
    """pcrs's TIN in one triangulation, timed: (values, triangles, triangulate s, fill s)."""
    t0 = time.perf_counter()
    tri = _triangulate_with(x, y, z, engine)
    t1 = time.perf_counter()
    u, v = grid.to_pixel(x, y)
    values = rasterize_triangles(u, v, z, tri, grid.shape)
    return values, tri, t1 - t0, time.perf_counter() - t1


def _scipy_tin(x, y, z, grid, ox: float, oy: float):
    """scipy's LinearNDInterpolator on local coordinates at the pixel centres, rows in blocks
    (bounded memory), timed: (values, Delaunay s, interpolation s)."""
    t0 = time.perf_counter()
    interp = LinearNDInterpolator(np.column_stack([x - ox, y - oy]), z)
    t1 = time.perf_counter()
    gx = grid.column_centers() - ox
    values = np.empty(grid.shape)
    for r0 in range(0, grid.height, 256):
        X, Y = np.meshgrid(gx, grid.row_centers()[r0 : r0 + 256] - oy)
        values[r0 : r0 + 256] = interp(X, Y)
    return values, t1 - t0, time.perf_counter() - t1


def bench(
    points: int,
    density: float,
    resolution: float,
    scipy_too: bool,
    find_simplex: bool,
    workers: int = 1,
    qhull_too: bool = True,
) -> None:
    t = time.perf_counter()
    scene = synth.make_scene(points, density=density, seed=0)
    cloud = scene.cloud
    ground = cloud[np.isin(cloud.classification, DTM_CLASSES)]
    minx, miny, _, maxx, maxy, _ = ground.bounds
    grid = RasterGrid.from_bounds(minx, miny, maxx, maxy, resolution)
    print(
        f"scene: {len(cloud):,} points, {len(ground):,} in classes {DTM_CLASSES}, "
        f"grid {grid.width} x {grid.height} = {grid.size / 1e6:.1f} M px at {resolution} m "
        f"(made in {time.perf_counter() - t:.1f} s)"
    )
    x, y, z = ground.x, ground.y, ground.z

    # --- pcrs end to end (blocks of <= 3 M points above that size), then step by step -----
    engine = resolve_engine("auto")
    if engine == "sweep":  # compile (or load from numba's cache) outside the timings
        tw = time.perf_counter()
        small = ground[: min(len(ground), 2000)]
        dtm(small, RasterGrid.from_bounds(*small.bounds[:2], *small.bounds[3:5], resolution))
        print(
            f"pcrs   : Delaunay engine 'sweep' (numba), JIT warm-up {time.perf_counter() - tw:.1f} s"
        )
    else:
        print("pcrs   : Delaunay engine 'qhull' (numba not installed, or PCRS_DELAUNAY=qhull)")
    rss0 = _rss_mb()
    t3 = time.perf_counter()
    ours = dtm(ground, grid)
    t_pcrs = time.perf_counter() - t3
    print(
        f"pcrs   : dtm() end to end {t_pcrs:6.1f} s  peak RSS {_rss_mb():,.0f} MB "
        f"(before: {rss0:,.0f} MB)"
    )
    t_par = None
    if workers > 1:
        tp = time.perf_counter()
        par = dtm(ground, grid, workers=workers)
        t_par = time.perf_counter() - tp
        dp = np.abs(par - ours)
        print(
            f"pcrs   : dtm(workers={workers}) {t_par:6.1f} s ({t_pcrs / t_par:.2f}x the one-process "
            f"run); {int(np.nansum(dp > 1e-3))} px differ by > 1 mm (co-circular points), "
            f"same empty pixels {bool(np.array_equal(np.isnan(par), np.isnan(ours)))}"
        )
    single, tri, t_tri, t_fill = _one_piece(x, y, z, grid)
    print(
        f"pcrs   : in one piece: triangulate {t_tri:6.1f} s ({len(tri):,} triangles; "
        f"dedupe, {engine})  rasterise {t_fill:5.1f} s  peak RSS {_rss_mb():,.0f} MB"
    )
    if engine == "sweep" and qhull_too:
        # the previous engine, same points, same code path otherwise
        single_q, _, t_tri_q, _ = _one_piece(x, y, z, grid, engine="qhull")
        dq = np.abs(single_q - single)
        print(
            f"pcrs-q : with qhull instead: triangulate {t_tri_q:6.1f} s -> the sweep is "
            f"{t_tri_q / t_tri:.1f}x faster; {int(np.nansum(dq > 1e-3))} px differ by > 1 mm "
            "(co-circular points)"
        )
    if engine == "sweep" and qhull_too and _have_startinpy():
        single_s, _, t_tri_s, _ = _one_piece(x, y, z, grid, engine="startinpy")
        ds = np.abs(single_s - single)
        print(
            f"pcrs-s : with startinpy instead: triangulate {t_tri_s:6.1f} s -> the sweep is "
            f"{t_tri_s / t_tri:.1f}x faster; {int(np.nansum(ds > 1e-3))} px differ by > 1 mm "
            "(co-circular points)"
        )
    d1 = np.abs(single - ours)
    print(
        f"pcrs   : blocks vs one piece: same empty pixels "
        f"{bool(np.array_equal(np.isnan(single), np.isnan(ours)))}, "
        f"{int(np.nansum(d1 > 1e-6))} px differ by > 1 um (max {np.nanmax(d1) * 1000:.2f} mm)"
    )

    # --- scipy LinearNDInterpolator, local coordinates --------------------------------------
    if scipy_too:
        ref, t_build, t_eval = _scipy_tin(x, y, z, grid, minx, miny)
        t_scipy = t_build + t_eval
        print(
            f"scipy  : Delaunay {t_build:6.1f} s  interpolation at pixel centres {t_eval:6.1f} s"
            f"  total {t_scipy:6.1f} s"
        )
    if scipy_too and find_simplex:
        # the same maths without LinearNDInterpolator's evaluation loop: qhull,
        # then every pixel centre located (find_simplex) and its barycentric weights
        gx = grid.column_centers() - minx
        t7 = time.perf_counter()
        d = Delaunay(np.column_stack([x - minx, y - miny]))
        t8 = time.perf_counter()
        fs = np.empty(grid.shape)
        for r0 in range(0, grid.height, 256):
            rows = grid.row_centers()[r0 : r0 + 256] - miny
            X, Y = np.meshgrid(gx, rows)
            q = np.column_stack([X.ravel(), Y.ravel()])
            s = d.find_simplex(q)
            tr = d.transform[s]
            b = np.einsum("ijk,ik->ij", tr[:, :2], q - tr[:, 2])
            w = np.column_stack([b, 1 - b.sum(axis=1)])
            val = (w * z[d.simplices[s]]).sum(axis=1)
            val[s < 0] = np.nan
            fs[r0 : r0 + 256] = val.reshape(X.shape)
        t9 = time.perf_counter()
        t_fs = t9 - t7
        print(
            f"scipy-2: Delaunay {t8 - t7:6.1f} s  find_simplex + barycentric {t9 - t8:6.1f} s"
            f"  total {t_fs:6.1f} s  -> pcrs is {t_fs / t_pcrs:.1f}x faster than this one"
        )
    if scipy_too:
        both = np.isfinite(ref) & np.isfinite(ours)
        d = ours[both] - ref[both]
        print(
            f"ratio  : pcrs is {t_scipy / t_pcrs:.1f}x faster than scipy LinearNDInterpolator "
            f"(target 5x); same values: RMSE {np.sqrt(np.mean(d**2)) * 1000:.3f} mm, "
            f"{np.mean(np.abs(d) > 1e-3) * 100:.3f} % of pixels differ by > 1 mm "
            f"(co-circular points), empty-pixel masks differ at "
            f"{int((np.isnan(ref) != np.isnan(ours)).sum())} px"
        )
        if t_par is not None:
            print(
                f"ratio  : with {workers} processes pcrs is {t_scipy / t_par:.1f}x faster than "
                "scipy LinearNDInterpolator (which uses one core)"
            )
    _pdal(ground, grid, t_pcrs)


def _ign_mosaic_points(nx: int, ny: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, RasterGrid]:
    """The ground points of IGN's ``test_semis_2021_0382`` extract repeated ``nx`` by ``ny``
    times, and the 0.5 m grid over the mosaic (see :func:`ign_mosaic`)."""
    from pcrs.io import las

    shared = Path(
        os.environ.get("PCRS_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
    )
    path = shared / "lidar" / "ign-pdal-tools" / "test_semis_2021_0382_6565_LA93_IGN69_cropped.laz"
    if not path.is_file():
        raise SystemExit(f"{path}: not found; set PCRS_SHARED_DATA to the shared data folder")
    cloud = las.read(path)
    g = cloud[np.isin(cloud.classification, DTM_CLASSES)]
    x0, y0, _, x1, y1, _ = cloud.bounds
    w, h = x1 - x0, y1 - y0
    xs = np.concatenate([g.x + i * w for i in range(nx) for _ in range(ny)])
    ys = np.concatenate([g.y + j * h for _ in range(nx) for j in range(ny)])
    zs = np.tile(g.z, nx * ny)
    grid = RasterGrid.from_bounds(x0, y0, x0 + nx * w, y0 + ny * h, 0.5)
    print(
        f"IGN mosaic: {nx} x {ny} copies of {path.name}: {len(xs):,} ground points, "
        f"grid {grid.width} x {grid.height} = {grid.size / 1e6:.1f} M px at 0.5 m"
    )
    return xs, ys, zs, grid


def ign_mosaic(nx: int, ny: int, scipy_too: bool) -> None:
    """A PEERS.md-like case: an IGN LiDAR HD extract repeated into a km-sized mosaic, 0.5 m grid.

    PEERS.md times PDAL on a 4 km x 4 km mosaic of an IGN tile (2.44 M ground points,
    8000 x 8000 px). That tile is not in the shared data; the closest is the 750 m x 1 km
    extract ``test_semis_2021_0382`` (109,484 ground points), repeated here ``nx`` by ``ny``
    times (default 5 x 4: 3.75 km x 4 km, 2.19 M ground points, 7500 x 8000 px). Sparse
    points on a large grid: the pixel step weighs more than in the 5 M-point scene.
    """
    xs, ys, zs, grid = _ign_mosaic_points(nx, ny)
    x0, y0 = grid.xmin, grid.ymin
    from pcrs.raster.interpolate import tin

    tin(xs[:2000], ys[:2000], zs[:2000], RasterGrid.from_bounds(x0, y0, x0 + 50, y0 + 50, 0.5))
    engines = ("sweep", "qhull") if resolve_engine("auto") == "sweep" else ("qhull",)
    for engine in engines:
        out, _, t_tri, t_fill = _one_piece(xs, ys, zs, grid, engine=engine)
        total = t_tri + t_fill
        print(
            f"pcrs ({engine:5s}): triangulate {t_tri:6.1f} s  rasterise {t_fill:5.1f} s  "
            f"total {total:6.1f} s  ({total / len(xs) * 1e6:.2f} us per point)  "
            f"peak RSS {_rss_mb():,.0f} MB"
        )
        if engine == engines[0]:
            t_first, ours = total, out
    if scipy_too:
        ref, t_build, t_eval = _scipy_tin(xs, ys, zs, grid, x0, y0)
        t_scipy = t_build + t_eval
        both = np.isfinite(ref) & np.isfinite(ours)
        d = ours[both] - ref[both]
        print(
            f"scipy LinearNDInterpolator: {t_scipy:6.1f} s -> pcrs ({engines[0]}) is "
            f"{t_scipy / t_first:.1f}x faster; {np.mean(np.abs(d) > 1e-3) * 100:.3f} % of pixels "
            "differ by > 1 mm (co-circular points)"
        )
    print(
        "PEERS.md, not this run: PDAL filters.delaunay + faceraster + writers.raster 6.8 s end to "
        "end for 2.44 M ground points and 8000 x 8000 px (2.8 us per point), scipy 224 s"
    )


# --- --delaunay: sweep / qhull / startinpy, one fresh process per run ---------------------


def _have_startinpy() -> bool:
    try:
        import startinpy  # noqa: F401
    except ImportError:
        return False
    return True


def _rss_now_mb() -> float:
    """Resident memory of this process now (Linux ``/proc``), MB; 0 where unknown."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _engine_run(engine: str, folder: Path) -> None:
    """One timed triangulation + fill with ``engine``, in this (fresh) process.

    Reads ``points.npz`` and ``grid.json`` from ``folder``, writes ``<engine>.npy``
    (the DTM) and ``<engine>_tri.npy`` (the triangles), prints one JSON line.
    """
    data = np.load(folder / "points.npz")
    x, y, z = data["x"], data["y"], data["z"]
    grid = RasterGrid(**json.loads((folder / "grid.json").read_text()))
    # warm-up outside the timings, on 2,000 points: numba's compiled kernels (loaded
    # from its cache: the sweep's and the triangle fill's), startinpy's and scipy's imports
    n = min(len(x), 2000)
    u, v = grid.to_pixel(x, y)
    rasterize_triangles(u[:n], v[:n], z[:n], _triangulate_with(x[:n], y[:n], z[:n], engine),
                        grid.shape)  # fmt: skip
    rss0 = _rss_now_mb()
    core: dict = {}
    t0, c0 = time.perf_counter(), time.process_time()
    tri = _triangulate_with(x, y, z, engine, core)
    t1, c1 = time.perf_counter(), time.process_time()
    values = rasterize_triangles(u, v, z, tri, grid.shape)
    t2, c2 = time.perf_counter(), time.process_time()
    peak = _rss_mb()
    np.save(folder / f"{engine}.npy", values)
    np.save(folder / f"{engine}_tri.npy", tri)
    print(json.dumps({
        "engine": engine, "wall": t1 - t0, "cpu": c1 - c0, "fill_wall": t2 - t1,
        "fill_cpu": c2 - c1, "rss_before": rss0, "peak": peak, "triangles": len(tri), **core,
    }))  # fmt: skip


def _triangle_keys(tri: np.ndarray) -> np.ndarray:
    """One sortable value per triangle, whatever its vertex order (rows sorted, as bytes)."""
    t = np.ascontiguousarray(np.sort(tri, axis=1).astype(np.int64))
    return t.view(np.dtype((np.void, 24))).ravel()


def _load_avg() -> str:
    try:
        return f"load average {os.getloadavg()[0]:.1f}"
    except OSError:
        return "load average unknown"


def delaunay_engines(
    source: str, points: int, density: float, resolution: float, repeat: int
) -> None:
    """Sweep, qhull and startinpy on the same ground points, ``repeat`` times each.

    Every run is a fresh process, so that peak RSS is the engine's own; in each
    repeat the engines run one after the other, so that a busy machine weighs on
    all of them. Prints the runs, then per engine the median and best wall time,
    the median CPU time, the peak RSS (and what the triangulation and fill added
    to the process), the ratios to the sweep, and the same-result checks: number
    of triangles (Euler's formula fixes it for given points), share of the
    sweep's triangles found, DTM pixels that differ by more than 1 mm (only
    co-circular points, where the Delaunay triangulation is not unique, may
    differ) and identical empty pixels.
    """
    engines = [e for e in DELAUNAY_ENGINES if e != "startinpy" or _have_startinpy()]
    if resolve_engine("auto") != "sweep":
        raise SystemExit("--delaunay needs numba (pcrs's sweep engine)")
    if "startinpy" not in engines:
        print("startinpy is not installed (pip install startinpy): compared without it")
    if source == "ign-mosaic":
        x, y, z, grid = _ign_mosaic_points(5, 4)
    else:
        t = time.perf_counter()
        cloud = synth.make_scene(points, density=density, seed=0).cloud
        ground = cloud[np.isin(cloud.classification, DTM_CLASSES)]
        minx, miny, _, maxx, maxy, _ = ground.bounds
        grid = RasterGrid.from_bounds(minx, miny, maxx, maxy, resolution)
        x, y, z = ground.x, ground.y, ground.z
        print(
            f"scene: {len(cloud):,} points, {len(ground):,} in classes {DTM_CLASSES}, "
            f"grid {grid.width} x {grid.height} = {grid.size / 1e6:.1f} M px at {resolution} m "
            f"(made in {time.perf_counter() - t:.1f} s)"
        )
    runs: dict[str, list[dict]] = {e: [] for e in engines}
    with tempfile.TemporaryDirectory() as d:
        folder = Path(d)
        np.savez(folder / "points.npz", x=x, y=y, z=z)
        (folder / "grid.json").write_text(json.dumps({
            "xmin": grid.xmin, "ymax": grid.ymax, "resolution": grid.resolution,
            "width": grid.width, "height": grid.height,
        }))  # fmt: skip
        for r in range(repeat):
            for engine in engines:
                out = subprocess.run(
                    [sys.executable, __file__, "--engine-run", engine, "--folder", str(folder)],
                    check=True, capture_output=True, text=True,
                )  # fmt: skip
                run = json.loads(out.stdout.strip().splitlines()[-1])
                runs[engine].append(run)
                print(
                    f"run {r + 1}/{repeat} {engine:9s}: triangulate {run['wall']:6.1f} s wall "
                    f"{run['cpu']:6.1f} s CPU  fill {run['fill_wall']:5.1f} s  peak RSS "
                    f"{run['peak']:,.0f} MB (+{run['peak'] - run['rss_before']:,.0f})  "
                    f"{_load_avg()}"
                )
        ref = np.load(folder / "sweep.npy")
        ref_keys = _triangle_keys(np.load(folder / "sweep_tri.npy"))
        checks = {}
        for engine in engines:
            values = np.load(folder / f"{engine}.npy")
            keys = _triangle_keys(np.load(folder / f"{engine}_tri.npy"))
            common = len(np.intersect1d(ref_keys, keys, assume_unique=True))
            diff = np.abs(values - ref)
            checks[engine] = (
                common / len(ref_keys),
                int(np.nansum(diff > 1e-3)),
                float(np.nanmax(diff)) if np.isfinite(diff).any() else 0.0,
                bool(np.array_equal(np.isnan(values), np.isnan(ref))),
            )
    med = {e: float(np.median([r["wall"] for r in runs[e]])) for e in engines}
    cpu = {e: float(np.median([r["cpu"] for r in runs[e]])) for e in engines}
    print(
        f"\n{len(x):,} ground points, {repeat} run(s) per engine, medians (best wall in brackets)\n"
        f"{'engine':10s} {'wall s':>14s} {'CPU s':>7s} {'fill s':>7s} {'peak MB':>8s} "
        f"{'added MB':>9s} {'/sweep wall':>11s} {'/sweep CPU':>10s} {'triangles':>11s} "
        f"{'same tri':>9s} {'px>1mm':>7s} {'max mm':>8s} {'nodata':>6s}"
    )
    for e in engines:
        rr = runs[e]
        share, npx, dmax, same_nan = checks[e]
        print(
            f"{e:10s} {med[e]:6.1f} ({min(r['wall'] for r in rr):5.1f}) {cpu[e]:7.1f} "
            f"{np.median([r['fill_wall'] for r in rr]):7.1f} "
            f"{np.median([r['peak'] for r in rr]):8,.0f} "
            f"{np.median([r['peak'] - r['rss_before'] for r in rr]):9,.0f} "
            f"{med[e] / med['sweep']:11.2f} {cpu[e] / cpu['sweep']:10.2f} "
            f"{rr[0]['triangles']:11,d} {share * 100:8.3f}% {npx:7d} {dmax * 1000:8.2f} "
            f"{'same' if same_nan else 'DIFF':>6s}"
        )
    if "startinpy" in runs:
        rr = runs["startinpy"]
        print(
            f"startinpy itself (DT.insert + triangles): {np.median([r['insert_wall'] for r in rr]):.1f}"
            f" s wall, {np.median([r['insert_cpu'] for r in rr]):.1f} s CPU (median); the rest is "
            "the sort and deduplication pcrs's qhull engine gets too"
        )


def _pdal(ground, grid, t_pcrs: float) -> None:
    if shutil.which("pdal") is None:
        print("pdal   : no 'pdal' command on this machine: filters.delaunay + filters.faceraster "
              "not measured (docs/rasters.md quotes PEERS.md's figure instead)")  # fmt: skip
        return
    import json

    from pcrs.io import las

    with tempfile.TemporaryDirectory() as d:
        src = Path(d) / "ground.laz"
        las.write(ground, src)
        pipe = [
            str(src),
            {"type": "filters.delaunay"},
            {"type": "filters.faceraster", "resolution": grid.resolution,
             "origin_x": grid.xmin, "origin_y": grid.ymin,
             "width": grid.width, "height": grid.height},
            {"type": "writers.raster", "filename": str(Path(d) / "pdal.tif")},
        ]  # fmt: skip
        (Path(d) / "p.json").write_text(json.dumps(pipe))
        t = time.perf_counter()
        subprocess.run(["pdal", "pipeline", str(Path(d) / "p.json")], check=True)
        t_pdal = time.perf_counter() - t
    print(f"pdal   : {t_pdal:.1f} s end to end; pcrs is {t_pdal / t_pcrs:.1f}x faster (target 2x)")


def agreement() -> None:
    from pcrs.io import las

    root = Path(
        os.environ.get("PCRS_SHARED_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data")
    )  # fmt: skip
    files = sorted((root / "lidar" / "ign-pdal-tools").glob("test_data_77*.laz"))
    files += sorted((root / "lidar" / "pdal-ign-plugin").glob("mnx_input_*.laz"))
    if not files:
        print(f"no IGN file under {root}; set PCRS_SHARED_DATA")
        return
    print(f"{'file':<58} {'ground':>7} {'px':>9} {'RMSE mm':>8} {'max mm':>7} {'>1 mm':>7}")
    sq = []
    for f in files:
        cloud = las.read(f)
        g = cloud[np.isin(cloud.classification, DTM_CLASSES)]
        if len(g) < 3:
            continue
        minx, miny, _, maxx, maxy, _ = g.bounds
        grid = RasterGrid.from_bounds(minx, miny, maxx, maxy, 0.5)
        ours = dtm(g, grid)
        theirs, _, _ = _scipy_tin(g.x, g.y, g.z, grid, minx, miny)
        both = np.isfinite(ours) & np.isfinite(theirs)
        d = ours[both] - theirs[both]
        if "68" not in f.stem:  # mnx_input_68: 340 synthetic points over 2 km, not IGN data
            sq.append(d**2)
        print(
            f"{f.parent.name + '/' + f.name:<58} {len(g):>7,} {grid.size:>9,} "
            f"{np.sqrt(np.mean(d**2)) * 1000:>8.3f} {np.abs(d).max() * 1000:>7.2f} "
            f"{np.mean(np.abs(d) > 1e-3) * 100:>6.2f}%"
        )
    print(
        f"all pixels of the real files (mnx_input_68 excluded): RMSE "
        f"{np.sqrt(np.mean(np.concatenate(sq))) * 1000:.3f} mm"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=5_700_000, help="about 5.1 M points come out")
    ap.add_argument("--density", type=float, default=10.0, help="pulses per m2")
    ap.add_argument("--resolution", type=float, default=0.5)
    ap.add_argument("--no-scipy", action="store_true", help="skip the (slow) scipy baseline")
    ap.add_argument(
        "--find-simplex", action="store_true",
        help="also time scipy Delaunay + find_simplex + barycentric weights (slow too)",
    )  # fmt: skip
    ap.add_argument("--agreement", action="store_true", help="IGN files instead of the speed run")
    ap.add_argument(
        "--workers", type=int, default=1,
        help="also time the TIN with this many processes (blocks computed in parallel)",
    )  # fmt: skip
    ap.add_argument(
        "--no-qhull",
        action="store_true",
        help="skip pcrs's TIN with the qhull engine beside the sweep",
    )
    ap.add_argument(
        "--ign-mosaic", action="store_true",
        help="PEERS.md-like case: an IGN extract repeated 5 x 4 times, 7500 x 8000 px",
    )  # fmt: skip
    ap.add_argument(
        "--delaunay", action="store_true",
        help="compare the sweep, qhull and startinpy (fresh process per run; with "
        "--ign-mosaic on the IGN mosaic's points)",
    )  # fmt: skip
    ap.add_argument("--repeat", type=int, default=3, help="runs per engine with --delaunay")
    ap.add_argument("--engine-run", choices=DELAUNAY_ENGINES, help=argparse.SUPPRESS)
    ap.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.engine_run:
        _engine_run(args.engine_run, args.folder)
    elif args.delaunay:
        delaunay_engines(
            "ign-mosaic" if args.ign_mosaic else "synth", args.points, args.density,
            args.resolution, args.repeat,
        )  # fmt: skip
    elif args.agreement:
        agreement()
    elif args.ign_mosaic:
        ign_mosaic(5, 4, not args.no_scipy)
    else:
        bench(
            args.points, args.density, args.resolution, not args.no_scipy, args.find_simplex,
            args.workers, not args.no_qhull,
        )  # fmt: skip


if __name__ == "__main__":
    main()
