"""``pcrs rasterize``: a DTM, DSM, CHM, density or intensity Cloud-Optimised GeoTIFF."""

from __future__ import annotations

import time

import click

from ..raster.interpolate import INTERPOLATORS
from ..raster.products import PRODUCTS
from .options import (
    check_json_out,
    crs_option,
    emit_json,
    json_options,
    overwrite_option,
    verbosity_options,
    workers_option,
)

_PRODUCTS = list(PRODUCTS)
_METHODS = [*INTERPOLATORS, "max"]
_KEEP = ("classification", "return_number", "number_of_returns", "intensity")
#: what to do when the raster would not fit in memory
_SIZE_FIX = (
    "choose smaller --bounds or a coarser --resolution, or use 'pcrs process', "
    "which writes one raster per tile"
)


def _parse_classes(value: str | None) -> tuple[int, ...] | None:
    from ..errors import ParameterError

    if value is None:
        return None
    try:
        return tuple(int(v) for v in value.replace(" ", "").split(",") if v)
    except ValueError:
        raise ParameterError(
            f"--classes {value!r}: give class codes separated by commas, e.g. 2,9,66"
        ) from None


@click.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@click.option(
    "-o", "--output", required=True, type=click.Path(dir_okay=False), help="Output GeoTIFF (COG)."
)
@click.option(
    "--product", type=click.Choice(_PRODUCTS), default="dtm", show_default=True,
    help="dtm: classes 2,9,66 by TIN (IGN MNT); dsm: top surface of 2,3,4,5,6,9,17,64,67; "
    "chm: dsm - dtm; density: points/m2 (band 1 all returns, band 2 last); "
    "intensity: mean of first returns.",
)  # fmt: skip
@click.option(
    "--resolution", type=click.FloatRange(min=0, min_open=True), default=0.5, show_default=True,
    help="Pixel size in metres; pixel edges fall on multiples of it.",
)  # fmt: skip
@click.option(
    "--method", type=click.Choice(_METHODS), default=None,
    help="Interpolation of dtm/dsm: tin (default), idw, nearest; max (dsm only: highest "
    "point per pixel, no interpolation).",
)  # fmt: skip
@click.option(
    "--classes", default=None, metavar="LIST",
    help="Classes to use instead of the product's default, e.g. 2,9 (dtm, dsm, density, intensity).",
)  # fmt: skip
@click.option(
    "--max-edge", type=click.FloatRange(min=0), default=None,
    help="TIN: leave triangles with an edge longer than this (m) empty.",
)  # fmt: skip
@click.option(
    "--fill", type=click.IntRange(min=0), default=0, show_default=True,
    help="Fill holes of at most this many pixels (dtm, dsm).",
)  # fmt: skip
@click.option("--pitfree", is_flag=True, help="chm: pit-free CHM (Khosravipour et al. 2014).")
@click.option(
    "--bounds", nargs=4, type=float, default=None, metavar="MINX MINY MAXX MAXY",
    help="Area to cover (snapped outwards to the pixel grid); default: the points' bounds.",
)  # fmt: skip
@click.option(
    "--quicklook", type=click.Path(dir_okay=False), default=None,
    help="Also write a PNG quick look (hillshade for dtm/dsm).",
)  # fmt: skip
@workers_option
@crs_option
@json_options
@overwrite_option
@verbosity_options
def rasterize(
    inputs: tuple[str, ...],
    output: str,
    product: str,
    resolution: float,
    method: str | None,
    classes: str | None,
    max_edge: float | None,
    fill: int,
    pitfree: bool,
    bounds: tuple[float, float, float, float] | None,
    quicklook: str | None,
    workers: int | None,
    crs: str | None,
    as_json: bool,
    json_out: str | None,
    overwrite: bool,
) -> None:
    """Rasterise the points of INPUT files/folders into one Cloud-Optimised GeoTIFF.

    Every input is read into memory; for a large catalog use 'pcrs process',
    which works tile by tile with buffers and writes a VRT mosaic.

    \b
    Examples:
      pcrs rasterize tile.laz -o dtm.tif --product dtm --resolution 0.5
      pcrs rasterize tiles/ -o chm.tif --product chm --pitfree --quicklook chm.png
      pcrs rasterize a.laz b.laz -o dsm.tif --product dsm --method max
    """
    from ..errors import ParameterError
    from ..io import las
    from ..io.atomic import check_output
    from ..io.raster import write_png, write_raster
    from ..points import PointCloud
    from ..raster.grid import RasterGrid, peak_bytes_per_pixel
    from ..raster.products import quicklook as make_quicklook
    from ..raster.products import rasterize as compute
    from ..tiling.catalog import find_point_files

    t0 = time.perf_counter()
    need = peak_bytes_per_pixel(product, fill=bool(fill), quicklook=bool(quicklook))
    grid = None
    if bounds:  # a raster too large for the memory is refused before any file is read
        grid = RasterGrid.from_bounds(*bounds, resolution)
        text = " ".join(f"{v:.10g}" for v in bounds)
        grid.check_size(need, what=f"--bounds {text}", fix=_SIZE_FIX)
    files = find_point_files(inputs)
    check_output(output, overwrite, files)
    if quicklook:
        check_output(quicklook, overwrite, files)
    check_json_out(json_out, overwrite, files)
    params: dict = {}
    cls = _parse_classes(classes)
    if method == "max" and product != "dsm":
        raise ParameterError("--method max is only for --product dsm; use tin, idw or nearest")
    if product in ("dtm", "dsm"):
        if method:
            params["method"] = method
        if fill:
            params["fill"] = fill
        if max_edge and (method or "tin") == "tin":
            params["max_edge"] = max_edge
        if cls is not None:
            params["classes"] = cls
        if product == "dtm" and (method or "tin") == "tin" and workers and workers > 1:
            params["workers"] = workers  # TIN blocks triangulated by a process pool
    elif product == "chm":
        params["pitfree"] = pitfree
        if cls is not None:
            params["dsm_classes"] = cls
    elif cls is not None:
        params["classes"] = cls
    parts = []
    for f in files:
        c = las.read(f, crs=crs)
        parts.append(PointCloud(c.x, c.y, c.z, {k: c[k] for k in _KEEP if k in c}, c.crs))
    common = set.intersection(*(set(p.attributes) for p in parts))
    cloud = PointCloud.concatenate(
        [PointCloud(p.x, p.y, p.z, {k: p[k] for k in common}, p.crs) for p in parts]
    )
    if len(cloud) == 0:
        raise ParameterError(f"{files[0]}: no point to rasterise")
    if grid is None:  # the grid of the points' bounds, as compute() will make it
        minx, miny, _, maxx, maxy, _ = cloud.bounds
        RasterGrid.from_bounds(minx, miny, maxx, maxy, resolution).check_size(
            need,
            what=f"the points' bounds {minx:.10g} {miny:.10g} {maxx:.10g} {maxy:.10g}",
            fix=_SIZE_FIX,
        )
    raster = compute(cloud, product, resolution, grid=grid, **params)
    write_raster(raster, output, overwrite=overwrite)
    if quicklook:
        write_png(make_quicklook(raster), quicklook, overwrite=overwrite)
    g = raster.grid
    import numpy as np

    band = raster.bands[0]
    facts = {
        "output": str(output),
        "product": product,
        "inputs": [str(f) for f in files],
        "points": len(cloud),
        "resolution": g.resolution,
        "width": g.width,
        "height": g.height,
        "bounds": list(g.bounds),
        "empty_pixels": int(np.isnan(band).sum()),
        "seconds": round(time.perf_counter() - t0, 3),
    }
    if quicklook:
        facts["quicklook"] = str(quicklook)
    emit_json(facts, as_json, json_out, overwrite)
    if not as_json:
        click.echo(
            f"{product} {g.width} x {g.height} px at {g.resolution:g} m from {len(cloud):,} points "
            f"-> {output} ({facts['empty_pixels']:,} empty pixels, {facts['seconds']:.1f} s)"
        )
