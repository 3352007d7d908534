"""The whole LiDAR chain over a catalog: classified tiles, DTM/DSM/CHM tiles, VRT mosaics.

:func:`process` runs two passes of the tile engine (:mod:`pcrs.tiling.engine`)
over the same :class:`~pcrs.tiling.grid.TileGrid`:

1. **classify**: each tile is read with a buffer large enough for the ground
   filter, classified (:func:`pcrs.classify.pipeline.classify`), and written
   without its buffer to ``DIR/tiles/``;
2. **rasterise**: each classified tile is read again with a buffer of
   classified neighbours, and its DTM, DSM and CHM are computed on the tile's
   core area (pixel edges on multiples of the resolution) and written as
   Cloud-Optimised GeoTIFFs to ``DIR/dtm/``, ``DIR/dsm/``, ``DIR/chm/``.

Because the second pass triangulates the *same* classified points as a run
over the merged tiles would (the buffer brings the neighbours' points), the
per-tile rasters join without seams: ``DIR/dtm.vrt`` equals a DTM computed
over all tiles at once, to float precision, wherever the buffer is wider than
the triangles that cross the tile edge.

Classified input stays classified: with ``steps="auto"`` (the default) a
tile whose points already carry a classification (any class besides
0 "never classified", 1 "unclassified" and the noise classes), such as an IGN
LiDAR HD tile, keeps it, and the tile's result says ``"classification":
"kept"``; the other tiles are classified. An explicit list of steps
re-classifies every tile; ``steps=()`` keeps every tile as it is.

Every output knows what made it: ``DIR/manifest.json``
(:mod:`pcrs.tiling.manifest`) records, per tile and pass, the parameters, the
pcrs version and the content hash of the files read. A re-run with the same
inputs and parameters skips finished work (and finishes an interrupted run);
tiles whose inputs changed are recomputed; a run with other parameters into
the same folder is refused before any work, naming what differs, unless
``overwrite``. One run at a time holds the folder (:mod:`pcrs.io.runlock`).
``DIR/summary.json`` and the VRT mosaics describe the outputs of the run;
``DIR/tiles.gpkg`` holds the tiles' squares and ``DIR/pcrs.qgs`` is a QGIS
project that opens the mosaics and the tiles (:mod:`pcrs.io.qgis`).
Failed tiles make :func:`process` raise :class:`~pcrs.errors.ProcessError`
once the other tiles are written.
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._spawn import refuse_in_bootstrap
from .._version import __version__
from ..errors import ParameterError, PcrsError, ProcessError
from ..points import PointCloud
from .grid import RasterGrid
from .products import DSM_CLASSES, Raster, chm, dsm, dtm

__all__ = [
    "CLASSIFIED_SHARE",
    "PROCESS_PRODUCTS",
    "RASTER_BUFFER",
    "UNCLASSIFIED_CLASSES",
    "classify_tile",
    "default_steps",
    "is_classified",
    "process",
    "raster_tile",
]

#: products ``process`` can write per tile
PROCESS_PRODUCTS = ("dtm", "dsm", "chm")
#: what :func:`raster_tile` reads of the points besides x, y, z (the rasterisation pass
#: drops the other attributes as soon as a tile is read: a third of a worker's memory)
RASTER_ATTRIBUTES = ("classification", "return_number", "number_of_returns")
#: default buffer (m) of the rasterisation pass: wider than the TIN triangles crossing a tile edge
RASTER_BUFFER = 50.0


def raster_tile(
    cloud: PointCloud,
    ctx: Any,
    *,
    resolution: float = 0.5,
    products: Sequence[str] = PROCESS_PRODUCTS,
    pitfree: bool = False,
    dsm_classes: Sequence[int] | None = DSM_CLASSES,
    seamless: bool = True,
    hull: Sequence[Sequence[float]] | None = None,
) -> dict[str, Any]:
    """Tile function of the rasterisation pass: DTM/DSM/CHM of the tile's core area.

    ``cloud`` holds the classified tile and its buffer; the rasters cover
    ``ctx.tile.bounds`` exactly and are written to ``{product}/{stem}.tif``
    under the run's folder. ``dsm_classes`` are the classes of the DSM.

    With ``seamless`` (and a context that can read farther, ``ctx.read``), the
    DTM is :func:`~pcrs.raster.seamless.seamless_dtm`: where the buffer does
    not hold every triangle that covers the tile (ground points far apart),
    the tile's ground is read again over a larger box until every pixel is
    proven equal to the DTM of all points at once (within
    :data:`SEAMLESS_MAX_AREA` times the first box, or :data:`SEAMLESS_MAX_POINTS`
    terrain points at the first read's density where that is farther; pixels
    still unproven there are left empty and counted in ``dtm_unproven``). ``hull`` is the
    convex hull of the catalog's terrain points (pass 1 computes it), which
    spares the tiles at the data's edge reads along it.

    Returns JSON-ready facts (seconds per product, DTM reads and reach).
    """
    from ..io.raster import write_raster

    minx, miny, maxx, maxy = ctx.tile.bounds
    grid = RasterGrid.from_bounds(minx, miny, maxx, maxy, resolution)
    facts: dict[str, Any] = {"points_with_buffer": len(cloud)}
    if dsm_classes is not None and not np.isin(cloud.classification, _ABOVE_GROUND).any():
        # classified ground / non-ground only (e.g. classes 1 and 2): the above-ground points
        # are in class 1, and a DSM of the listed classes would be the ground
        dsm_classes = _surface_classes()
        facts["dsm_classes"] = "all but noise (no vegetation or building class in the tile)"
    terrain = surface = None
    for product in products:
        t0 = time.perf_counter()
        if product == "dtm" or (product == "chm" and terrain is None):
            if seamless and getattr(ctx, "index", None):
                terrain, seam = _seamless_terrain(cloud, ctx, grid, hull)
                facts.update(seam)
            else:
                terrain = dtm(cloud, grid)
        if product == "dsm" or (product == "chm" and surface is None and not pitfree):
            surface = dsm(cloud, grid, classes=dsm_classes)
        data = {"dtm": terrain, "dsm": surface}.get(product)
        if product == "chm":
            data = chm(
                cloud, grid, terrain=terrain, surface=surface, pitfree=pitfree,
                dsm_classes=dsm_classes,
            )  # fmt: skip
        if data is None:
            raise ParameterError(
                f"unknown raster product {product!r}; choose among {PROCESS_PRODUCTS}"
            )
        raster = Raster(data, grid, cloud.crs, product, [product], "m")
        write_raster(raster, ctx.path(f"{product}/{{stem}}.tif"), overwrite=True)
        facts[f"{product}_seconds"] = round(time.perf_counter() - t0, 3)
    return facts


#: largest read of a tile's DTM, as a multiple of its first box (core + buffer) area: 4 lets
#: a 1 km tile with a 50 m buffer read 550 m past its edges (ground points only) ...
SEAMLESS_MAX_AREA = 4.0
#: ... or farther where the ground is sparse: as far as this many terrain points at the
#: density of the first read (about 1.8 GB of triangulation at 0.9 kB per point)
SEAMLESS_MAX_POINTS = 2_000_000


class _TileReader:
    """``read(box)`` for :func:`~pcrs.raster.seamless.seamless_dtm`: the points the engine
    already read when the box lies within them, else the terrain points of the catalog."""

    def __init__(self, cloud: PointCloud, ctx: Any) -> None:
        from ..tiling.grid import EDGE_TOLERANCE

        self.cloud, self.ctx = cloud, ctx
        self.have = ctx.tile.buffered(ctx.buffer + 2 * EDGE_TOLERANCE)

    def __call__(self, box: Sequence[float]) -> PointCloud:
        from .products import DTM_CLASSES

        h = self.have
        if h[0] <= box[0] and h[1] <= box[1] and box[2] <= h[2] and box[3] <= h[3]:
            return self.cloud
        far = self.ctx.read(box, classes=DTM_CLASSES)
        return far if far is not None else self.cloud[:0]


def _seamless_terrain(
    cloud: PointCloud, ctx: Any, grid: RasterGrid, hull: Sequence[Sequence[float]] | None
) -> tuple[np.ndarray, dict[str, Any]]:
    import warnings

    from .products import DTM_CLASSES
    from .seamless import SeamlessWarning, seamless_dtm

    first = ctx.tile.buffered(ctx.buffer)
    first_area = (first[2] - first[0]) * (first[3] - first[1])
    density = np.isin(cloud.classification, DTM_CLASSES).sum() / first_area
    max_area = max(SEAMLESS_MAX_AREA * first_area, SEAMLESS_MAX_POINTS / max(density, 1e-6))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SeamlessWarning)  # counted in the facts instead
        terrain, facts = seamless_dtm(
            _TileReader(cloud, ctx), grid, buffer=ctx.buffer, extent=ctx.extent,
            hull=None if hull is None else np.asarray(hull, np.float64),
            max_area=max_area, on_limit="mask",
        )  # fmt: skip
    return terrain, {
        "dtm_reads": int(facts["reads"]),
        "dtm_reach": None if facts.get("buffer") is None else round(float(facts["buffer"]), 1),
        "dtm_unproven": int(facts.get("unproven", 0)),
    }


def _scene_steps() -> tuple[str, ...]:
    """The scene classification steps (water, bridges, buildings...) registered, if any."""
    from ..classify import pipeline

    try:
        from ..classify.scene import SCENE_STEPS
    except ImportError:  # pragma: no cover - scene classification not installed
        return ()
    return tuple(s for s in SCENE_STEPS if s in pipeline.STEPS)


def default_steps() -> tuple[str, ...]:
    """``noise``, ``ground`` and the scene steps when available: what ``steps="auto"`` runs."""
    return ("noise", "ground", *_scene_steps())


def with_terrain_hull(cloud: PointCloud, ctx: Any, *, func: Any) -> dict[str, Any]:
    """Run the tile function ``func`` of pass 1, and add to its facts the convex hull of
    the tile's terrain points (``"terrain_hull"``, a list of vertices): pass 2 merges the
    tiles' hulls into the catalog's, which the seamless DTM needs at the data's edge."""
    from ..tiling.engine import BUFFER_DIM
    from .products import DTM_CLASSES
    from .seamless import hull_of_points, terrain_hull

    out = func(cloud, ctx)
    facts = dict(out) if isinstance(out, dict) else {"points": out}
    points = facts.get("points")
    if isinstance(points, PointCloud):
        cls = points.get("classification")
        if cls is None:  # (terrain_hull says what is missing)
            facts["terrain_hull"] = terrain_hull(points).round(3).tolist()
            return facts
        # the core's terrain points, x and y only (no copy of the tile's other attributes)
        keep = np.isin(cls, DTM_CLASSES)
        if BUFFER_DIM in points.attributes:
            keep &= points.attributes[BUFFER_DIM] == 0
        hull = hull_of_points(points.x[keep], points.y[keep])
        facts["terrain_hull"] = hull.round(3).tolist()
    return facts


#: classes that do not say a tile was classified: never classified, unclassified, noise
UNCLASSIFIED_CLASSES = (0, 1, 7, 18)


#: share of a tile's points that must carry a real class for the tile to count as classified
CLASSIFIED_SHARE = 0.01


def is_classified(classification: np.ndarray) -> bool:
    """Whether points carry a real classification: at least 1 % of them
    (:data:`CLASSIFIED_SHARE`) in a class other than 0 (never classified),
    1 (unclassified) and the noise classes 7 and 18.

    The share, not a single point, decides, so that a few points of a classified
    neighbour (on a shared edge) do not make an unclassified tile "classified".
    """
    classes = np.asarray(classification)
    if classes.size == 0:
        return False
    real = np.isin(classes, UNCLASSIFIED_CLASSES, invert=True)
    return bool(real.mean() >= CLASSIFIED_SHARE)


def classify_tile(
    cloud: PointCloud, ctx: Any, *, keep_classified: bool = False, **params: Any
) -> dict[str, Any]:
    """Tile function of the classification pass (registers the scene steps in the worker).

    With ``keep_classified``, a tile whose core points are already classified
    (:func:`is_classified`) is returned unchanged. The result says which
    happened: ``{"classification": "kept" | "computed", "classes": [...]}``.
    """
    from ..classify.pipeline import classify_tile as _classify

    core_classes = cloud.classification[ctx.core]
    if keep_classified and is_classified(core_classes):
        classes = np.unique(core_classes).tolist()
        return {"points": cloud, "classification": "kept", "classes": classes}
    _scene_steps()
    out = _classify(cloud, ctx, **params)
    return {"points": out, "classification": "computed"}


#: classes of above-ground objects (vegetation, buildings, bridges, IGN's lasting above-ground)
_ABOVE_GROUND = (3, 4, 5, 6, 17, 64, 67)
#: classes that never go into a DSM: noise (ASPRS 7, 18; IGN 65) and IGN virtual points (66)
_NOT_SURFACE = (7, 18, 65, 66)


def _surface_classes() -> tuple[int, ...]:
    return tuple(c for c in range(256) if c not in _NOT_SURFACE)


def _check_alignment(tile_size: float, resolution: float) -> None:
    q = tile_size / resolution
    if abs(q - round(q)) > 1e-6:
        raise ParameterError(
            f"tile size {tile_size!r} is not a multiple of the resolution {resolution!r}; "
            "tiles would not hold whole pixels: choose e.g. --tile-size 1000 --resolution 0.5"
        )


def _write_qgis_outputs(
    out: Path, grid: Any, classified: Any, mosaics: dict[str, Any], catalog: Any
) -> dict[str, str]:
    """``tiles.gpkg`` (layer ``tiles``: one square per written tile with its file, points
    and whether its classes were kept) and ``pcrs.qgs``, the QGIS project that opens the
    DTM as a hillshade, the DSM and the CHM through colour ramps, and the tiles."""
    import shapely

    from ..io import las
    from ..io.qgis import (
        CHM_RAMP,
        DSM_RAMP,
        hillshade_layer,
        outline_style_qml,
        pseudocolor_layer,
        raster_range,
        vector_layer,
        write_qgis_project,
    )
    from ..io.vector import LayerStyle, write_geopackage

    written = [(r, o) for r in classified.results for o in r.outputs if o.endswith(".laz")]
    files: dict[str, Any] = {}
    try:
        crs = catalog.crs
    except PcrsError:  # files in several CRSs were refused earlier; keep going without one
        crs = None
    layers = []
    if written:
        tiles = [grid.tile_from_name(r.name) for r, _o in written]
        style = LayerStyle("tiles", outline_style_qml("Polygon"), description="tile outlines")
        write_geopackage(
            out / "tiles.gpkg", "tiles", [shapely.box(*t.bounds) for t in tiles],
            {
                "name": [t.name for t in tiles],
                "file": [Path(o).resolve().relative_to(out.resolve()).as_posix() for _r, o in written],
                "points": [las.info(o).points for _r, o in written],
                "classification": [r.info.get("classification", "computed") for r, _o in written],
            },
            crs, overwrite=True, description="tiles of pcrs process", style=style,
        )  # fmt: skip
        files["footprints"] = "tiles.gpkg"
        layers.append(vector_layer(out / "tiles.gpkg", "tiles", "tiles", style_qml=style.qml))
    if "chm" in mosaics:
        layers.append(pseudocolor_layer(out / "chm.vrt", "CHM (canopy height, m)", CHM_RAMP,
                                        opacity=0.8, transparent_below=0.5))  # fmt: skip
    if "dsm" in mosaics:
        span = raster_range(out / "dsm.vrt") or (0.0, 1.0)
        layers.append(pseudocolor_layer(out / "dsm.vrt", "DSM (surface, m)", DSM_RAMP,
                                        vmin=span[0], vmax=span[1], visible=False))  # fmt: skip
    if "dtm" in mosaics:
        layers.append(hillshade_layer(out / "dtm.vrt", "DTM (hillshade)"))
    if layers and any(la.kind == "raster" for la in layers):
        write_qgis_project(out / "pcrs.qgs", layers, crs, extent=catalog.bounds,
                           title="pcrs process", overwrite=True)  # fmt: skip
        files["qgis"] = "pcrs.qgs"
    else:
        (out / "pcrs.qgs").unlink(missing_ok=True)
    return files


def process(
    inputs: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike,
    *,
    tile_size: float = 1000.0,
    buffer: float | None = None,
    resolution: float = 0.5,
    steps: Sequence[str] | str = "auto",
    ground: str = "smrf",
    codes: str = "ign",
    products: Sequence[str] = PROCESS_PRODUCTS,
    pitfree: bool = False,
    executor: Any = None,
    workers: int | None = None,
    overwrite: bool = False,
    crs: Any = None,
    point_format: int | None = None,
    las_version: str | None = None,
) -> dict[str, Any]:
    """Tile, classify and rasterise a catalog; write mosaics and a summary.

    Parameters
    ----------
    inputs : sequence of path-like
        LAS/LAZ/COPC files and folders.
    out_dir : path-like
        Gets ``tiles/*.laz`` (classified, no buffer), ``dtm/``, ``dsm/``,
        ``chm/`` (one GeoTIFF per tile), ``dtm.vrt``, ``dsm.vrt``,
        ``chm.vrt``, ``tiles.gpkg`` (the tiles' squares), ``pcrs.qgs`` (a QGIS
        project opening them: DTM hillshade, DSM and CHM colour ramps, tiles) and
        ``summary.json``.
    tile_size : float
        Tile side (m); a multiple of ``resolution``. 1000 gives IGN tile names.
    buffer : float, optional
        Buffer (m) of both passes. Default: what the classification steps need
        (:func:`~pcrs.classify.pipeline.classify_buffer`) for the first pass,
        :data:`RASTER_BUFFER` for the second.
    resolution : float
        Pixel size (m).
    steps : sequence of str or "auto"
        Classification steps; ``"auto"`` (default): noise, ground and the
        scene steps when available (:func:`default_steps`); empty to keep the
        input classes as they are (e.g. IGN LiDAR HD tiles, already
        classified). When no scene step runs on a re-classified catalog, the
        DSM takes every point that is not noise (the other classes are unknown).
    ground, codes : str
        Ground filter and class codes of :func:`~pcrs.classify.pipeline.classify`.
    products : sequence of str
        Among ``"dtm"``, ``"dsm"``, ``"chm"``.
    pitfree : bool
        Pit-free CHM (Khosravipour et al. 2014) instead of DSM − DTM.
    executor, workers
        As for :func:`pcrs.tiling.engine.run` (``"process"`` by default, or a
        Dask client).
    overwrite : bool
        Recompute everything; otherwise finished tiles are skipped.
    crs : CRS-like, optional
        CRS of the inputs when their headers lack it.
    point_format, las_version : optional
        LAS layout of the written tiles. By default each tile keeps its
        sources' point format and version, widened to LAS 1.4 format 6-10
        only when it holds a class above 31 (see :func:`pcrs.io.las.write`).

    Returns
    -------
    dict
        The summary also written to ``summary.json``.
    """
    refuse_in_bootstrap("process")
    from ..classify.pipeline import classify_buffer
    from ..io.atomic import atomic_path
    from ..io.raster import write_vrt
    from ..io.runlock import run_lock
    from ..tiling.catalog import Catalog
    from ..tiling.engine import identity, run, run_params
    from ..tiling.grid import TileGrid
    from ..tiling.manifest import Manifest
    from .seamless import terrain_hull

    t_start = time.perf_counter()
    out = Path(out_dir)
    products = tuple(products)
    bad = [p for p in products if p not in PROCESS_PRODUCTS]
    if bad or not products:
        raise ParameterError(
            f"products {bad or list(products)!r} are not available; choose among {PROCESS_PRODUCTS}"
        )
    if not resolution > 0:
        raise ParameterError(f"resolution must be > 0, got {resolution!r}")
    _check_alignment(tile_size, resolution)
    keep_classified = steps == "auto"
    steps = default_steps() if steps == "auto" else tuple(steps)
    catalog = Catalog.from_paths(list(inputs), crs=crs, on_error="raise")
    if len(catalog) == 0:
        raise ParameterError(f"no LAS/LAZ/COPC file found in {list(inputs)!r}")
    catalog.require_consistent()
    grid = TileGrid(
        tile_size, naming="ign" if abs(tile_size - 1000.0) < 1e-9 else "xy", prefix="tile"
    )
    func1: Callable[..., Any]
    if steps:
        buffer1 = classify_buffer(steps, ground, codes) if buffer is None else float(buffer)
        func1 = functools.partial(
            classify_tile, steps=steps, ground=ground, codes=codes,
            keep_classified=keep_classified,
        )  # fmt: skip
    else:
        buffer1, func1 = 0.0, identity
    func1 = functools.partial(with_terrain_hull, func=func1)
    buffer2 = RASTER_BUFFER if buffer is None else float(buffer)
    # re-classified without scene steps: the non-ground classes are unknown, the DSM takes
    # every point but noise
    rescene = not steps or bool(set(steps) & set(_scene_steps()))
    dsm_classes = DSM_CLASSES if rescene else _surface_classes()
    params1 = {
        "steps": list(steps),
        "keep_classified": keep_classified,
        "ground": ground if steps else None,
        "codes": codes if steps else None,
    }
    params2 = {
        "resolution": resolution,
        "products": list(products),
        "pitfree": pitfree,
        "dsm_classes": list(dsm_classes),
        "dtm": "tin, seamless",
    }
    outputs1 = ["{stem}.laz"]
    outputs2 = [f"{p}/{{stem}}.tif" for p in products]
    common = {"executor": executor, "workers": workers, "overwrite": overwrite, "crs": crs}

    out.mkdir(parents=True, exist_ok=True)
    with run_lock(out, command="pcrs process"):
        manifest = Manifest(out)
        # both passes are checked before any work: a run with other parameters is refused
        # at once, not after an hour of classification
        manifest.prepare(
            "classify",
            run_params(params1, buffer1, grid, outputs1, point_format, las_version, crs),
            overwrite=overwrite,
        )
        manifest.prepare(
            "rasterize", run_params(params2, buffer2, grid, outputs2, None, None, crs),
            overwrite=overwrite,
        )  # fmt: skip
        manifest.save()
        t1 = time.perf_counter()
        classified = run(
            func1, catalog, out / "tiles", grid=grid, buffer=buffer1, point_format=point_format,
            las_version=las_version, outputs=outputs1, description="classifying tiles",
            manifest=manifest, section="classify", params=params1,
            **common,
        )  # fmt: skip
        t2 = time.perf_counter()
        tile_files = [o for r in classified.results for o in r.outputs if o.endswith(".laz")]
        hulls = [r.info["terrain_hull"] for r in classified.results if r.info.get("terrain_hull")]
        rasters = None
        if tile_files:
            func2 = functools.partial(
                raster_tile, resolution=resolution, products=products, pitfree=pitfree,
                dsm_classes=dsm_classes,
                hull=terrain_hull([np.asarray(h) for h in hulls]).tolist() if hulls else None,
            )  # fmt: skip
            rasters = run(
                func2, tile_files, out, grid=grid, buffer=buffer2, outputs=outputs2,
                description="rasterising tiles", manifest=manifest, section="rasterize",
                params=params2, attributes=RASTER_ATTRIBUTES, **common,
            )  # fmt: skip
        t3 = time.perf_counter()
        mosaics = {}
        for p in products:
            files = [
                o
                for r in (rasters.results if rasters is not None else [])
                for o in r.outputs
                if Path(o).parent.name == p
            ]
            vrt = out / f"{p}.vrt"
            if files:
                write_vrt(sorted(files), vrt, overwrite=True)
                mosaics[p] = {"vrt": f"{p}.vrt", "tiles": len(files)}
            else:  # no raster of this run: an older mosaic would describe other outputs
                vrt.unlink(missing_ok=True)
        kept = [r.name for r in classified.results if r.info.get("classification") == "kept"]
        qgis = _write_qgis_outputs(out, grid, classified, mosaics, catalog)
        summary: dict[str, Any] = {
            "pcrs": __version__,
            "inputs": [str(p) for p in catalog.paths],
            "output": str(out),
            "points_in": catalog.points,
            "tile_size": tile_size,
            "resolution": resolution,
            "buffer": {"classify": buffer1, "rasterize": buffer2},
            "steps": list(steps),
            "keep_classified": keep_classified,
            "classification_kept": kept,
            "ground": ground if steps else None,
            "products": list(products),
            "pitfree": pitfree,
            "dsm_classes": list(dsm_classes),
            "classify": classified.to_dict(),
            "rasterize": rasters.to_dict() if rasters is not None else None,
            "mosaics": mosaics,
            **qgis,
            "manifest": "manifest.json",
            "seconds": {
                "classify": round(t2 - t1, 3),
                "rasterize": round(t3 - t2, 3),
                "total": round(time.perf_counter() - t_start, 3),
            },
            "ok": classified.ok and (rasters is None or rasters.ok),
        }
        with atomic_path(out / "summary.json", overwrite=True) as tmp:
            tmp.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    failed = [
        (f"{part} {t['name']}", str(t["error"]))
        for part in ("classify", "rasterize")
        for t in (summary[part] or {}).get("results", [])
        if t["status"] == "failed"
    ]
    if failed:
        listed = "; ".join(f"{name}: {err}" for name, err in failed[:3])
        more = f" (and {len(failed) - 3} more)" if len(failed) > 3 else ""
        raise ProcessError(
            f"{len(failed)} tile task(s) failed: {listed}{more}; the other tiles are written "
            f"(see {out / 'summary.json'}); run the same command again to retry the failed ones",
            summary,
            failed,
        )
    return summary
