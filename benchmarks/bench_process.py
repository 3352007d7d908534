"""Territory scale: ``pcrs.process`` over a catalog of 1 km tiles, local and on Dask, against PDAL.

Usage::

    python benchmarks/bench_process.py --quick              # 2 km2, a smoke check
    python benchmarks/bench_process.py --km2 4 --json r.json
    python benchmarks/bench_process.py                      # 25 km2 (5 x 5 tiles), 10 pulses/m2
    python benchmarks/bench_process.py --km2 4 --steps noise,ground   # PDAL's share of the work
    python benchmarks/bench_process.py --profile-steps      # seconds and peak MB of each step

A synthetic catalog at LiDAR HD density is generated once, tile by tile (each
1 km tile in 250 m blocks streamed to its LAZ file, so memory does not grow
with the territory), named as IGN names its tiles
(``LHD_FXX_XXXX_YYYY_PTS_C_LAMB93_IGN69.laz``), and cached in a folder named
after its parameters (``--cache``, default ``~/.cache/pcrs-bench/process``):
re-runs reuse it. The terrain (hills, a terrace scarp) is one continuous
function over the whole territory; villages of gabled and flat-roofed
buildings with their walls, forests and scattered trees with multiple
returns, grass patches, and noise in the sky and below the ground are laid by
smooth land-use fields. Every point is written **unclassified** (class 1), so
``pcrs.process`` (``steps="auto"``) really classifies it.

Then, each in a fresh process, with the same number of workers:

(a) ``pcrs.process(tiles, out, executor="process", workers=N)``;
(b) the same with a ``distributed.LocalCluster(n_workers=N, threads_per_worker=1)``
    client as ``executor`` (cluster start-up timed apart);
(c) when a ``pdal`` command is found (the PATH, or the peer install of
    ``shared/peers/install-pdal.sh`` under ``~/.cache/pcrs-peers/pdal/bin``),
    the usual PDAL way, one pipeline per file, N files at a time:
    ``filters.outlier`` + ``filters.smrf`` (outliers ignored) + ``writers.las``,
    then ground by ``filters.range`` + ``filters.delaunay`` +
    ``filters.faceraster`` + ``writers.raster`` for the DTM and the points
    but noise into ``writers.gdal`` ``output_type=max`` for the DSM, at the
    same resolution on the same 1 km tile grid. PDAL has no buffer: its
    tiles' DTMs do not join at the edges, pcrs's do.

Memory: a thread of this process reads, every ``--sample`` seconds, the
resident memory of all its descendant processes (psutil, children
recursively) and their high-water mark (``VmHWM`` of ``/proc``, which is
exact even between samples). "Peak per worker" is the largest high-water mark
of a worker process (pool workers, Dask workers, ``pdal`` processes); the
parent of pcrs's run (the driver) and the sum over all processes at one
sample are reported too. Wall time is the run's, from the fresh process.

Writes a table and, with ``--json``, every figure. The default products are
DTM and DSM (what the PDAL pipeline makes); ``--products dtm,dsm,chm`` adds
the CHM; ``--steps noise,ground`` classifies no more than PDAL does.
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
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import numpy as np

#: lower-left corner of the territory (Lambert-93, near Lyon), on the IGN 1 km grid
ORIGIN = (842_000.0, 6_518_000.0)
TILE = 1000.0
BLOCK = 250.0
#: bump when the generated points change, so that cached catalogs are not reused
GENERATOR_VERSION = 1
PDAL_PEER_BIN = Path.home() / ".cache" / "pcrs-peers" / "pdal" / "bin"


# --------------------------------------------------------------------------------------
# synthetic territory
# --------------------------------------------------------------------------------------


def _terrain(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Ground elevation: one continuous surface over the whole territory."""
    u, v = x - ORIGIN[0], y - ORIGIN[1]
    z = 180.0 + 0.004 * u - 0.003 * v
    z += 18.0 * np.sin(2 * np.pi * u / 2900 + 0.4) * np.cos(2 * np.pi * v / 2300 + 1.1)
    z += 6.0 * np.sin(2 * np.pi * (u + 0.6 * v) / 830 + 2.0)
    z += 1.5 * np.sin(2 * np.pi * u / 190) * np.cos(2 * np.pi * v / 260)
    # a terrace scarp: 3 m over 5 m, along a wavy line
    line = v - 1500.0 - 200.0 * np.sin(2 * np.pi * u / 2100)
    z += 3.0 * np.clip(line / 5.0 + 0.5, 0.0, 1.0)
    return z


def _urban(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    u, v = x - ORIGIN[0], y - ORIGIN[1]
    s = np.sin(2 * np.pi * u / 3700 + 0.7) * np.sin(2 * np.pi * v / 3100 + 0.2)
    return np.clip(1.6 * s - 0.35, 0.0, 1.0)


def _forest(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    u, v = x - ORIGIN[0], y - ORIGIN[1]
    s = np.cos(2 * np.pi * u / 2600 + 0.3) * np.cos(2 * np.pi * v / 2000 + 1.7)
    return np.clip(1.4 * s - 0.25, 0.0, 1.0) * (1.0 - _urban(x, y))


def _cells(x0: float, y0: float, cell: float) -> tuple[np.ndarray, np.ndarray]:
    n = round(BLOCK / cell)
    c = (np.arange(n) + 0.5) * cell
    cx, cy = np.meshgrid(x0 + c, y0 + c)
    return cx.ravel(), cy.ravel()


def _cell_of(px: np.ndarray, py: np.ndarray, x0: float, y0: float, cell: float) -> np.ndarray:
    n = round(BLOCK / cell)
    i = np.clip(((px - x0) // cell).astype(np.int64), 0, n - 1)
    j = np.clip(((py - y0) // cell).astype(np.int64), 0, n - 1)
    return j * n + i


def _block(x0: float, y0: float, density: float, rng: np.random.Generator) -> dict:
    """The points of one 250 m block: x, y, z, return numbers, intensity (vectorised)."""
    n = int(rng.poisson(density * BLOCK * BLOCK))
    px = x0 + rng.random(n) * BLOCK
    py = y0 + rng.random(n) * BLOCK
    ground = _terrain(px, py)
    top = ground.copy()
    kind = np.zeros(n, np.uint8)  # 0 ground, 1 roof, 2 tree, 3 low vegetation

    # buildings: at most one per 50 m cell, wholly inside it
    bcx, bcy = _cells(x0, y0, 50.0)
    nb = bcx.size
    has_b = rng.random(nb) < 0.85 * _urban(bcx, bcy)
    hl, hw = rng.uniform(5.0, 14.0, nb), rng.uniform(4.0, 9.0, nb)
    radius = np.hypot(hl, hw)
    jitter = np.maximum(25.0 - radius - 1.5, 0.0)
    bcx = bcx + rng.uniform(-1, 1, nb) * jitter
    bcy = bcy + rng.uniform(-1, 1, nb) * jitter
    ang = rng.uniform(0, np.pi, nb)
    height = rng.uniform(3.5, 14.0, nb)
    ridge = np.where(rng.random(nb) < 0.5, hw * np.tan(np.radians(rng.uniform(25, 40, nb))), 0.0)
    base = _terrain(bcx, bcy)
    cos, sin = np.cos(ang), np.sin(ang)
    b = _cell_of(px, py, x0, y0, 50.0)
    dx, dy = px - bcx[b], py - bcy[b]
    a = dx * cos[b] + dy * sin[b]
    w = -dx * sin[b] + dy * cos[b]
    roof = has_b[b] & (np.abs(a) <= hl[b]) & (np.abs(w) <= hw[b])
    top[roof] = (base + height)[b][roof] + ridge[b][roof] * (1 - np.abs(w[roof]) / hw[b][roof])
    kind[roof] = 1
    # walls: oblique hits, a few per m2 of facade
    ids = np.flatnonzero(has_b)
    n_wall = (4 * (hl + hw)[ids] * height[ids] * 0.3 * min(density, 10.0) / 10).astype(np.int64)
    k = np.repeat(ids, n_wall)
    L, W = 2 * hl[k], 2 * hw[k]
    t = rng.random(k.size) * (2 * L + 2 * W)
    wa = np.where(t < L, -hl[k] + t, np.where(t < L + W, hl[k], np.where(
        t < 2 * L + W, hl[k] - (t - L - W), -hl[k])))  # fmt: skip
    ww = np.where(t < L, -hw[k], np.where(t < L + W, -hw[k] + (t - L), np.where(
        t < 2 * L + W, hw[k], hw[k] - (t - 2 * L - W))))  # fmt: skip
    wall_x = bcx[k] + wa * cos[k] - ww * sin[k]
    wall_y = bcy[k] + wa * sin[k] + ww * cos[k]
    wall_z = base[k] + 0.3 + rng.random(k.size) * (height[k] - 0.5)

    # trees: at most one crown per 6.25 m cell, wholly inside it, none on a building
    tcx, tcy = _cells(x0, y0, 6.25)
    nt = tcx.size
    p_tree = 0.9 * _forest(tcx, tcy) + 0.04 * (1 - _urban(tcx, tcy))
    tb = _cell_of(tcx, tcy, x0, y0, 50.0)
    clear = ~has_b[tb] | (np.hypot(tcx - bcx[tb], tcy - bcy[tb]) > radius[tb] + 4)
    has_t = (rng.random(nt) < p_tree) & clear
    tr = rng.uniform(1.4, 3.0, nt)
    tj = 3.125 - tr
    tcx = tcx + rng.uniform(-1, 1, nt) * tj
    tcy = tcy + rng.uniform(-1, 1, nt) * tj
    ttop = rng.uniform(6.0, 24.0, nt)
    tbase = rng.uniform(1.0, 0.5 * ttop)
    c = _cell_of(px, py, x0, y0, 6.25)
    d = np.hypot(px - tcx[c], py - tcy[c]) / tr[c]
    crown = has_t[c] & (d < 1) & (kind == 0) & (rng.random(n) < 0.85)  # gaps let pulses through
    h = tbase[c] + (ttop - tbase)[c] * np.sqrt(np.clip(1 - d**2, 0, 1)) * rng.uniform(0.75, 1, n)
    top[crown] = ground[crown] + h[crown]
    kind[crown] = 2
    # grass and crops 5-45 cm high in patches of open land
    grass = (np.sin(px / 7.0) * np.cos(py / 9.0) > 0.55) & (kind == 0) & (rng.random(n) < 0.5)
    grass &= _urban(px, py) < 0.05
    top[grass] = ground[grass] + rng.uniform(0.05, 0.45, int(grass.sum()))
    kind[grass] = 3

    # returns: a crown hit may give an intermediate return and a last one on the ground
    mid = crown & (rng.random(n) < 0.35)
    last = crown & (rng.random(n) < 0.55)
    mid_z = np.minimum(
        ground + tbase[c] + rng.random(n) * np.maximum(h - tbase[c] - 0.2, 0), top - 0.3
    )
    n_ret = (1 + mid + last).astype(np.uint8)
    xs = [px, px[mid], px[last], wall_x]
    ys = [py, py[mid], py[last], wall_y]
    zs = [top, mid_z[mid], ground[last], wall_z]
    rn = [np.ones(n, np.uint8), np.full(int(mid.sum()), 2, np.uint8), n_ret[last],
          np.ones(k.size, np.uint8)]  # fmt: skip
    nr = [n_ret, n_ret[mid], n_ret[last], np.ones(k.size, np.uint8)]
    kinds = [kind, np.full(int(mid.sum()), 2, np.uint8), np.zeros(int(last.sum()), np.uint8),
             np.ones(k.size, np.uint8)]  # fmt: skip
    # noise: 0.2 % of the points, half in the sky, half below the ground
    n_noise = round(0.002 * sum(a.size for a in xs))
    nx = x0 + rng.random(n_noise) * BLOCK
    ny = y0 + rng.random(n_noise) * BLOCK
    high = rng.random(n_noise) < 0.5
    lift = np.where(high, rng.uniform(25, 120, n_noise), -rng.uniform(2, 15, n_noise))
    xs.append(nx)
    ys.append(ny)
    zs.append(_terrain(nx, ny) + lift)
    rn.append(np.ones(n_noise, np.uint8))
    nr.append(np.ones(n_noise, np.uint8))
    kinds.append(np.full(n_noise, 4, np.uint8))
    kind = np.concatenate(kinds)
    m = kind.size
    mean = np.array([600.0, 1100.0, 250.0, 350.0, 300.0])[kind]
    out = {
        "x": np.concatenate(xs),
        "y": np.concatenate(ys),
        "z": np.concatenate(zs) + rng.normal(0, 0.02, m),
        "return_number": np.concatenate(rn),
        "number_of_returns": np.concatenate(nr),
        "intensity": np.clip(rng.normal(mean, 0.2 * mean), 0, 65535).astype(np.uint16),
    }
    order = np.argsort(out["y"] // 25.0 * 1e4 + out["x"] // 25.0, kind="stable")
    return {key: val[order] for key, val in out.items()}


def tile_name(ix: int, iy: int) -> str:
    """The IGN LiDAR HD name of the tile ``(ix, iy)`` of the territory."""
    from pcrs.tiling.grid import ign_name

    return ign_name(ORIGIN[0] + ix * TILE, ORIGIN[1] + (iy + 1) * TILE)


def write_tile(path: str, ix: int, iy: int, density: float, seed: int) -> int:
    """Write one unclassified 1 km tile block by block; return its number of points."""
    from pyproj import CRS

    from pcrs.io import las
    from pcrs.points import LasLayout, PointCloud

    x0, y0 = ORIGIN[0] + ix * TILE, ORIGIN[1] + iy * TILE
    layout = LasLayout(point_format=6, version="1.4", scales=(0.01, 0.01, 0.01),
                       offsets=(x0, y0, 0.0))  # fmt: skip
    crs = CRS.from_epsg(2154)
    nb = int(TILE // BLOCK)
    written, gps = 0, 3.0e8 + (iy * 1000 + ix) * 1.0e4
    writer = None
    try:
        for j in range(nb):
            for i in range(nb):
                rng = np.random.default_rng([seed, ix, iy, i, j])
                p = _block(x0 + i * BLOCK, y0 + j * BLOCK, density, rng)
                m = p["x"].size
                attrs = {
                    "intensity": p["intensity"],
                    "return_number": p["return_number"],
                    "number_of_returns": p["number_of_returns"],
                    "classification": np.ones(m, np.uint8),
                    "scan_angle": np.round(
                        ((p["x"] - x0) % 500.0 / 500.0 * 40 - 20) / 0.006
                    ).astype(np.int16),
                    "point_source_id": np.full(m, 1 + ix * 2 + (i >= nb // 2), np.uint16),
                    "gps_time": gps + np.arange(m) * 2.0e-6,
                }
                gps += m * 2.0e-6 + 1.0
                cloud = PointCloud(p["x"], p["y"], p["z"], attrs, crs, layout)
                if writer is None:
                    writer = las.LasStreamWriter(path, cloud[:0], overwrite=True)
                    writer.__enter__()
                writer.write(cloud)
                written += m
    except BaseException as exc:
        if writer is not None:
            writer.__exit__(type(exc), exc, exc.__traceback__)
        raise
    writer.__exit__(None, None, None)
    return written


def tile_layout(km2: int) -> list[tuple[int, int]]:
    """Tile indexes of a territory of ``km2`` 1 km tiles, as square as possible."""
    nx = math.ceil(math.sqrt(km2))
    return [(k % nx, k // nx) for k in range(km2)]


def make_catalog(cache: Path, km2: int, density: float, seed: int, jobs: int) -> Path:
    """The cached catalog folder for these parameters, generated if missing or incomplete."""
    folder = cache / f"lhd_{km2}km2_{density:g}ppm2_seed{seed}_v{GENERATOR_VERSION}"
    done = folder / "catalog.json"
    if done.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    # the tiles of a smaller or larger territory with the same parameters are the same files
    siblings = sorted(cache.glob(f"lhd_*km2_{density:g}ppm2_seed{seed}_v{GENERATOR_VERSION}"))
    for ix, iy in tile_layout(km2):
        name = tile_name(ix, iy)
        for other in siblings:
            if other != folder and (other / name).exists() and not (folder / name).exists():
                os.link(other / name, folder / name)
    todo = [(ix, iy) for ix, iy in tile_layout(km2) if not (folder / tile_name(ix, iy)).exists()]
    t0 = time.perf_counter()
    print(f"generating {len(todo)} of {km2} tiles in {folder} ({jobs} processes)", flush=True)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        futures = [
            pool.submit(write_tile, str(folder / tile_name(ix, iy)), ix, iy, density, seed)
            for ix, iy in todo
        ]
        for f in futures:
            f.result()
    files = sorted(folder.glob("*.laz"))
    from pcrs.io import las

    points = sum(las.info(f).points for f in files)
    meta = {"km2": km2, "density": density, "seed": seed, "generator": GENERATOR_VERSION,
            "tiles": len(files), "points": points,
            "bytes": sum(f.stat().st_size for f in files)}  # fmt: skip
    done.write_text(json.dumps(meta, indent=2) + "\n")
    print(f"generated in {time.perf_counter() - t0:.0f} s: {points:,} points", flush=True)
    return folder


# --------------------------------------------------------------------------------------
# memory sampling
# --------------------------------------------------------------------------------------


def _hwm_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class MemorySampler:
    """Peak resident memory of every descendant of this process, sampled in a thread.

    Parameters
    ----------
    interval : float
        Seconds between samples.
    """

    def __init__(self, interval: float = 0.5) -> None:
        import psutil

        self._psutil = psutil
        self.interval = interval
        self.peaks: dict[int, dict] = {}
        self.total_peak_mb = 0.0
        self._t0 = time.perf_counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        me = self._psutil.Process()
        while not self._stop.is_set():
            self.sample(me)
            self._stop.wait(self.interval)
        self.sample(me)

    def sample(self, me) -> None:
        """Read the RSS and high-water mark of every descendant once."""
        total = 0.0
        now = round(time.perf_counter() - self._t0, 1)
        try:
            procs = me.children(recursive=True)
        except self._psutil.Error:
            return
        for p in procs:
            try:
                rss = p.memory_info().rss / 2**20
                info = self.peaks.get(p.pid)
                if info is None:
                    cmd = " ".join(p.cmdline())
                    info = self.peaks[p.pid] = {"cmd": cmd, "peak_mb": 0.0, "first_s": now}
                info["last_s"] = now
            except self._psutil.Error:
                continue
            total += rss
            hwm = _hwm_mb(p.pid)
            info["peak_mb"] = max(info["peak_mb"], rss, hwm or 0.0)
        self.total_peak_mb = max(self.total_peak_mb, total)

    def report(self, driver_pid: int | None = None) -> dict:
        """Peaks: of the driver, of the largest worker, of the sum of processes at one sample."""
        workers = {
            pid: i for pid, i in self.peaks.items()
            if pid != driver_pid and "resource_tracker" not in i["cmd"]
        }  # fmt: skip
        driver = self.peaks.get(driver_pid, {}).get("peak_mb", 0.0) if driver_pid else 0.0
        return {
            "driver_peak_mb": round(driver, 1),
            "worker_peak_mb": round(max((i["peak_mb"] for i in workers.values()), default=0.0), 1),
            "worker_processes": len(workers),
            "sum_peak_mb": round(self.total_peak_mb, 1),
            "processes": [
                {"pid": pid, "peak_mb": round(i["peak_mb"], 1), "seen_s": [i["first_s"],
                 i.get("last_s", i["first_s"])], "cmd": i["cmd"][-80:]}
                for pid, i in sorted(self.peaks.items(), key=lambda kv: kv[1]["first_s"])
            ],
        }  # fmt: skip


# --------------------------------------------------------------------------------------
# the runs
# --------------------------------------------------------------------------------------


def _child(variant: str, src: str, out: str, workers: int, steps: str, products: str) -> dict:
    """Run pcrs.process in this (fresh) process; return its figures."""
    import pcrs

    files = sorted(str(p) for p in Path(src).glob("*.laz"))
    kw = {
        "steps": "auto" if steps == "auto" else [s for s in steps.split(",") if s],
        "products": products.split(","),
        "overwrite": True,
    }
    startup = 0.0
    if variant == "dask":
        from distributed import Client, LocalCluster

        t0 = time.perf_counter()
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)  # fmt: skip
        client = Client(cluster)
        startup = time.perf_counter() - t0
        t1 = time.perf_counter()
        summary = pcrs.process(files, out, executor=client, **kw)
        wall = time.perf_counter() - t1
        client.close()
        cluster.close()
    else:
        t1 = time.perf_counter()
        summary = pcrs.process(files, out, executor="process", workers=workers, **kw)
        wall = time.perf_counter() - t1
    failed = sum((summary[k] or {}).get("failed", 0) for k in ("classify", "rasterize"))
    return {
        "wall_s": round(wall, 2),
        "startup_s": round(startup, 2),
        "classify_s": summary["seconds"]["classify"],
        "rasterize_s": summary["seconds"]["rasterize"],
        "ok": bool(summary["ok"]),
        "failed": failed,
        "points_in": summary["points_in"],
        "steps": summary["steps"],
        "products": summary["products"],
    }


def run_pcrs(variant: str, src: Path, out: Path, args: argparse.Namespace) -> dict:
    """Run one pcrs variant in a fresh process, its memory sampled from here."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, __file__, "--child", variant, str(src), str(out), str(args.workers),
           args.steps, args.products]  # fmt: skip
    with MemorySampler(args.sample) as mem:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        stdout, stderr = proc.communicate()
        elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"pcrs {variant} failed:\n{stderr[-4000:]}")
    result = json.loads(stdout.strip().splitlines()[-1])
    result.update(mem.report(driver_pid=proc.pid), process_s=round(elapsed, 2))
    result["output_mb"] = round(
        sum(f.stat().st_size for f in out.rglob("*") if f.is_file()) / 1e6, 1
    )
    return result


def find_pdal() -> str | None:
    """The ``pdal`` command: on the PATH, else the peer install, else None."""
    found = shutil.which("pdal")
    if found:
        return found
    peer = PDAL_PEER_BIN / "pdal"
    return str(peer) if peer.is_file() and os.access(peer, os.X_OK) else None


def pdal_pipeline(src: Path, out: Path, resolution: float) -> list:
    """One file's PDAL pipeline: classified LAZ, TIN DTM and max DSM on the 1 km tile."""
    from pcrs.tiling.grid import parse_ign_name

    xmin, ymin, xmax, _ = parse_ign_name(src.name)
    size = round((xmax - xmin) / resolution)
    grid = {"resolution": resolution, "origin_x": xmin, "origin_y": ymin,
            "width": size, "height": size}  # fmt: skip
    gtiff = {"data_type": "float32", "gdalopts": "COMPRESS=DEFLATE,TILED=YES"}
    stem = src.name.split(".")[0]
    # one chain: PDAL runs the stages leading to the last one only (a second writer on a
    # branch of tags is silently skipped), and writers pass their points on
    return [
        {"type": "readers.las", "filename": str(src)},
        {"type": "filters.outlier"},
        {"type": "filters.smrf", "ignore": "Classification[7:7]"},
        {"type": "writers.las", "filename": str(out / "tiles" / f"{stem}.laz"),
         "compression": True, "minor_version": 4, "dataformat_id": 6, "forward": "all"},
        {"type": "writers.gdal", "filename": str(out / "dsm" / f"{stem}.tif"),
         "output_type": "max", "where": "Classification != 7", **grid, **gtiff},
        {"type": "filters.range", "limits": "Classification[2:2]"},
        {"type": "filters.delaunay"},
        {"type": "filters.faceraster", **grid},
        {"type": "writers.raster", "filename": str(out / "dtm" / f"{stem}.tif"), **gtiff},
    ]  # fmt: skip


def run_pdal(pdal: str, src: Path, out: Path, args: argparse.Namespace) -> dict:
    """The PDAL pipelines of every file, ``--workers`` at a time, memory sampled from here."""
    shutil.rmtree(out, ignore_errors=True)
    for sub in ("tiles", "dtm", "dsm", "pipelines"):
        (out / sub).mkdir(parents=True)
    files = sorted(src.glob("*.laz"))
    jobs = []
    for f in files:
        p = out / "pipelines" / (f.name.split(".")[0] + ".json")
        p.write_text(json.dumps(pdal_pipeline(f, out, args.resolution), indent=1))
        jobs.append(p)

    def one(p: Path) -> tuple[float, str]:
        t = time.perf_counter()
        r = subprocess.run([pdal, "pipeline", str(p)], capture_output=True, text=True, check=False)
        if r.returncode != 0:
            raise RuntimeError(f"pdal pipeline {p.name} failed: {r.stderr[-2000:]}")
        return time.perf_counter() - t, p.name

    with MemorySampler(args.sample) as mem:
        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=args.workers) as pool:
            per_file = list(pool.map(one, jobs))
        wall = time.perf_counter() - t0
    missing = [str(p) for f in files for sub, ext in (("tiles", "laz"), ("dtm", "tif"), ("dsm", "tif"))
               if not (p := out / sub / f"{f.name.split('.')[0]}.{ext}").exists()]  # fmt: skip
    if missing:
        raise SystemExit(f"PDAL did not write {missing[:3]}...")
    result = {"wall_s": round(wall, 2), "ok": True, "files": len(jobs),
              "seconds_per_file": round(sum(s for s, _ in per_file) / len(jobs), 2)}  # fmt: skip
    result.update(mem.report())
    result["output_mb"] = round(
        sum(f.stat().st_size for f in out.rglob("*") if f.is_file()) / 1e6, 1
    )
    version = subprocess.run([pdal, "--version"], capture_output=True, text=True, check=False)
    result["version"] = " ".join(version.stdout.split()[1:3]) if version.returncode == 0 else "?"
    return result


def _reset_peak() -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM (Linux)


def profile_steps(path: Path, steps: str) -> list[dict]:
    """Seconds and peak resident memory of each classification step on one tile, in this process.

    The high-water mark is reset before each step (Linux ``clear_refs``), so a
    row's peak is the largest resident size while that step ran.
    """
    import dataclasses

    import pcrs
    from pcrs.classify import pipeline
    from pcrs.raster.process import default_steps

    names = default_steps() if steps == "auto" else tuple(s for s in steps.split(",") if s)
    rows: list[dict] = []

    def timed(name: str, run):
        def wrapper(ctx) -> None:
            _reset_peak()
            t0 = time.perf_counter()
            run(ctx)
            rows.append({"step": name, "seconds": round(time.perf_counter() - t0, 1),
                         "peak_mb": round(_hwm_mb(os.getpid()) or 0.0)})  # fmt: skip

        return wrapper

    for name, step in list(pipeline.STEPS.items()):
        pipeline.STEPS[name] = dataclasses.replace(step, run=timed(name, step.run))
    _reset_peak()
    t0 = time.perf_counter()
    cloud = pcrs.read(path)
    rows.append({"step": f"read ({len(cloud):,} points)",
                 "seconds": round(time.perf_counter() - t0, 1),
                 "peak_mb": round(_hwm_mb(os.getpid()) or 0.0)})  # fmt: skip
    pipeline.classify(cloud, steps=names)
    return rows


def _git_commit() -> str:
    r = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                       cwd=Path(__file__).parent, check=False)  # fmt: skip
    return r.stdout.strip() or "?"


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _, _, variant, src, out, workers, steps, products = sys.argv
        print(json.dumps(_child(variant, src, out, int(workers), steps, products)))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--km2", type=int, default=25, help="territory, in 1 km tiles (default 25)")
    ap.add_argument("--density", type=float, default=10.0, help="pulses per m2 (default 10)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="2 km2: a smoke check")
    ap.add_argument("--skip-dask", action="store_true")
    ap.add_argument("--skip-pdal", action="store_true")
    ap.add_argument("--skip-local", action="store_true", help="skip pcrs with the process pool")
    ap.add_argument(
        "--steps", default="auto", help="pcrs steps: auto (default) or e.g. noise,ground"
    )
    ap.add_argument("--products", default="dtm,dsm", help="pcrs products (default dtm,dsm)")
    ap.add_argument("--resolution", type=float, default=0.5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="output folder (default: a temporary one, removed)")
    ap.add_argument("--cache", default=os.environ.get(
        "PCRS_BENCH_CACHE", str(Path.home() / ".cache" / "pcrs-bench" / "process")),
        help="where generated catalogs are kept, one folder per parameter set")  # fmt: skip
    ap.add_argument("--keep", action="store_true", help="keep the outputs")
    ap.add_argument("--sample", type=float, default=0.5, help="memory sampling interval (s)")
    ap.add_argument(
        "--profile-steps", action="store_true",
        help="only time each classification step on the first tile, with its peak memory",
    )  # fmt: skip
    ap.add_argument("--json", default=None, help="write every figure to this file")
    args = ap.parse_args()
    if args.quick:
        args.km2 = 2
    if args.km2 < 1 or args.density <= 0 or args.workers < 1:
        raise SystemExit("--km2 and --workers must be >= 1 and --density > 0")

    if args.profile_steps:
        src = make_catalog(Path(args.cache).expanduser(), args.km2, args.density, args.seed,
                           args.workers)  # fmt: skip
        tile = sorted(src.glob("*.laz"))[0]
        print(f"classification steps on {tile.name} (no buffer), one process:")
        rows = profile_steps(tile, args.steps)
        for r in rows:
            print(f"  {r['step']:<28}{r['seconds']:>8.1f} s{r['peak_mb']:>8,} MB peak")
        if args.json:
            Path(args.json).write_text(json.dumps({"tile": tile.name, "steps": rows}, indent=2))
        return
    src = make_catalog(Path(args.cache).expanduser(), args.km2, args.density, args.seed,
                       args.workers)  # fmt: skip
    meta = json.loads((src / "catalog.json").read_text())
    import tempfile

    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="pcrs-bench-process-"))
    out.mkdir(parents=True, exist_ok=True)
    report = {
        "catalog": {**meta, "folder": str(src)},
        "machine": {"cpus": os.cpu_count(), "load_before": os.getloadavg()},
        "pcrs_commit": _git_commit(),
        "workers": args.workers,
        "runs": {},
    }
    print(f"catalog: {meta['tiles']} tiles of 1 km2, {meta['points']:,} points "
          f"({meta['points'] / meta['tiles'] / 1e6:.1f} M per tile), "
          f"{meta['bytes'] / 1e9:.2f} GB LAZ; {args.workers} workers; steps {args.steps}, "
          f"products {args.products}", flush=True)  # fmt: skip
    variants = [v for v, skip in (("local", args.skip_local), ("dask", args.skip_dask)) if not skip]
    for v in variants:
        r = run_pcrs(v, src, out / f"pcrs_{v}", args)
        report["runs"][f"pcrs {v}"] = r
        print(f"pcrs {v}: {r['wall_s']:.1f} s, {r['worker_peak_mb']:.0f} MB per worker", flush=True)
    pdal = None if args.skip_pdal else find_pdal()
    if pdal:
        r = run_pdal(pdal, src, out / "pdal", args)
        report["runs"]["pdal"] = r
        print(f"pdal: {r['wall_s']:.1f} s, {r['worker_peak_mb']:.0f} MB per process", flush=True)
    elif not args.skip_pdal:
        print("pdal: no 'pdal' command on the PATH nor in the peer install "
              f"({PDAL_PEER_BIN}); the PDAL way was not run")  # fmt: skip
    report["machine"]["load_after"] = os.getloadavg()

    km2 = meta["tiles"]
    print(f"\n{'run':<12}{'wall s':>9}{'min/km2':>9}{'x PDAL':>8}{'MB/worker':>11}"
          f"{'MB driver':>11}{'MB sum':>9}")  # fmt: skip
    base = report["runs"].get("pdal", {}).get("wall_s")
    for name, r in report["runs"].items():
        r["minutes_per_km2"] = round(r["wall_s"] / 60 / km2, 3)
        ratio = r["wall_s"] / base if base else None
        r["ratio_to_pdal"] = round(ratio, 3) if ratio else None
        print(f"{name:<12}{r['wall_s']:>9.1f}{r['minutes_per_km2']:>9.2f}"
              f"{(f'{ratio:.2f}' if ratio else '-'):>8}{r['worker_peak_mb']:>11.0f}"
              f"{r.get('driver_peak_mb', 0):>11.0f}{r['sum_peak_mb']:>9.0f}")  # fmt: skip
    if "pcrs dask" in report["runs"]:
        print(f"(Dask cluster start-up, not in the wall time: "
              f"{report['runs']['pcrs dask']['startup_s']:.1f} s)")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    if not (args.out or args.keep):
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
