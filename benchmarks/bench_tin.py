"""TIN-linear DTM: pcrs against scipy's LinearNDInterpolator (and PDAL when installed), same run.

Same points (the ground classes 2/9/66 of a synthetic scene, in the scene's
order), same 0.5 m grid, same local coordinates. Prints the time of each step,
the ratio, and how far the two DTMs are apart.

    python benchmarks/bench_tin.py                      # 5.1 M-point scene, 10 pulses/m2
    python benchmarks/bench_tin.py --points 1000000     # quicker
    python benchmarks/bench_tin.py --agreement          # IGN files: pcrs vs an independent TIN
    python benchmarks/bench_tin.py --ign-mosaic         # PEERS.md-like: sparse IGN points, 60 M px

``--agreement`` needs the shared data folder (``PCRS_SHARED_DATA``, default
``../shared/data``): for every IGN file, pcrs's DTM of IGN's own ground points
against scipy's TIN-linear, RMSE and share of pixels within 1 mm.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.interpolate import LinearNDInterpolator
from scipy.spatial import Delaunay

from pcrs import synth
from pcrs.raster import DTM_CLASSES, RasterGrid, dtm
from pcrs.raster.delaunay import resolve_engine
from pcrs.raster.interpolate import rasterize_triangles, triangulate


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _one_piece(x, y, z, grid, engine: str = "auto"):
    """pcrs's TIN in one triangulation, timed: (values, triangles, triangulate s, fill s)."""
    t0 = time.perf_counter()
    tri = triangulate(x, y, z, engine=engine)
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


def ign_mosaic(nx: int, ny: int, scipy_too: bool) -> None:
    """A PEERS.md-like case: an IGN LiDAR HD extract repeated into a km-sized mosaic, 0.5 m grid.

    PEERS.md times PDAL on a 4 km x 4 km mosaic of an IGN tile (2.44 M ground points,
    8000 x 8000 px). That tile is not in the shared data; the closest is the 750 m x 1 km
    extract ``test_semis_2021_0382`` (109,484 ground points), repeated here ``nx`` by ``ny``
    times (default 5 x 4: 3.75 km x 4 km, 2.19 M ground points, 7500 x 8000 px). Sparse
    points on a large grid: the pixel step weighs more than in the 5 M-point scene.
    """
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
    args = ap.parse_args()
    if args.agreement:
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
