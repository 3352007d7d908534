"""From a folder of IGN LiDAR HD tiles to a 50 cm DTM / DSM / CHM mosaic of a commune.

Who it is for: syndicate and local-authority staff who script their GIS work.
What it needs: pcrs installed (``pip install .`` in a clone, or its wheel; ``pip install pcrs``
once published), plus the ``dask`` extra for a Dask run (``pip install ".[dask]"``).
Input: a folder of IGN LiDAR HD ``.laz``/``.copc.laz`` tiles (already classified
by IGN, so no classification step runs). Without an input folder the script
generates a few IGN-named tiles of a synthetic scene, so it runs anywhere.

Usage::

    # on a laptop: a pool of local processes
    python examples/commune_dtm.py --input lidarhd/ --output commune/ --workers 4
    # the same on a Dask cluster (every worker must see the same paths)
    python examples/commune_dtm.py --input /shared/lidarhd --output /shared/commune \
        --scheduler tcp://10.0.0.5:8786
    # the same on a throw-away Dask cluster on this machine
    python examples/commune_dtm.py --output commune-dask/ --local-dask
    # quick run on generated tiles
    python examples/commune_dtm.py --output demo-commune/ --points 150000

Outputs in ``--output``: ``tiles/`` (the points, re-cut), ``dtm/``, ``dsm/``,
``chm/`` (one Cloud-Optimised GeoTIFF per tile), ``dtm.vrt``, ``dsm.vrt``,
``chm.vrt`` (open them in QGIS) and ``summary.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pcrs
from pcrs.tiling import TileGrid


def synthetic_ign_tiles(folder: Path, n_points: int, seed: int = 7) -> list[Path]:
    """Write a synthetic scene cut into IGN-named 1 km tiles (it straddles a tile corner)."""
    # the scene's lower-left corner sits 60 m before a kilometre line in x and y: 4 tiles
    scene = pcrs.synth.make_scene(n_points, seed=seed, origin=(842_940.0, 6_518_940.0))
    folder.mkdir(parents=True, exist_ok=True)
    flight = folder / "_flight.laz"
    pcrs.write(scene.cloud, flight, overwrite=True)
    tiles_dir = folder / "lidarhd"
    result = pcrs.retile(flight, tiles_dir, TileGrid(1000.0, naming="ign"), overwrite=True)
    flight.unlink()
    return result.paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", type=Path, help="folder of IGN LiDAR HD tiles (default: generated)")
    ap.add_argument("--output", type=Path, default=Path("commune-out"), help="output folder")
    ap.add_argument("--resolution", type=float, default=0.5, help="pixel size, m (default 0.5)")
    ap.add_argument(
        "--tile-size", type=float, default=None,
        help="processing tile side, m (default 1000 on real tiles, 100 on generated ones)",
    )  # fmt: skip
    ap.add_argument("--workers", type=int, default=2, help="local worker processes")
    ap.add_argument("--scheduler", help="address of a Dask scheduler, e.g. tcp://10.0.0.5:8786")
    ap.add_argument(
        "--local-dask", action="store_true", help="start a dask.distributed LocalCluster"
    )
    ap.add_argument("--points", type=int, default=300_000, help="size of the generated scene")
    ap.add_argument("--overwrite", action="store_true", help="recompute every tile")
    args = ap.parse_args(argv)

    if args.input is None:
        paths = synthetic_ign_tiles(args.output / "input", args.points)
        inputs: list[Path] = paths
        tile_size = args.tile_size or 100.0
        print(f"generated {len(paths)} IGN-named tiles: {', '.join(p.name for p in paths)}")
    else:
        inputs = [args.input]
        tile_size = args.tile_size or 1000.0

    client = cluster = None
    if args.scheduler or args.local_dask:
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:
            print("Dask is not installed: pip install '.[dask]' in a clone of pcrs", file=sys.stderr)
            return 2
        if args.scheduler:
            client = Client(args.scheduler)
        else:
            cluster = LocalCluster(
                n_workers=args.workers, threads_per_worker=1, dashboard_address=None
            )
            client = Client(cluster)
        executor, where = client, f"Dask cluster {client.scheduler.address}"
    else:
        # a pool of local processes (one process: run in this one, no pool to start)
        executor = "process" if args.workers > 1 else "serial"
        where = f"{args.workers} local process(es)"

    t0 = time.perf_counter()
    try:
        summary = pcrs.process(
            inputs,
            args.output,
            steps=(),  # IGN tiles are classified already: keep their classes
            resolution=args.resolution,
            tile_size=tile_size,
            executor=executor,
            workers=args.workers,
            overwrite=args.overwrite,
        )
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    seconds = time.perf_counter() - t0

    print(f"processed on {where} in {seconds:.1f} s")
    for product in ("dtm", "dsm", "chm"):
        mosaic = args.output / f"{product}.vrt"
        n = len(list((args.output / product).glob("*.tif")))
        print(f"  {product.upper()}: {mosaic} ({n} tiles at {args.resolution:g} m)")
    print(f"  summary: {args.output / 'summary.json'}")
    print(json.dumps({"points_in": summary["points_in"], "seconds": summary["seconds"]}))
    if not summary["ok"]:
        print("some tiles failed: see summary.json", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
