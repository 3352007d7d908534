"""``pcrs process``: tiles -> noise and ground -> DTM/DSM/CHM per tile -> VRT mosaics."""

from __future__ import annotations

import click

from .options import (
    check_json_out,
    crs_option,
    emit_json,
    format_options,
    json_options,
    overwrite_option,
    scheduler_option,
    verbosity_options,
    workers_option,
)


@click.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@click.option(
    "-o", "--output", "out_dir", required=True, type=click.Path(file_okay=False),
    help="Output folder.",
)  # fmt: skip
@click.option(
    "--tile-size", type=click.FloatRange(min=1.0), default=1000.0, show_default=True,
    help="Tile side in metres (1000 gives IGN tile names); a multiple of --resolution.",
)  # fmt: skip
@click.option(
    "--buffer", type=click.FloatRange(min=0), default=None,
    help="Buffer in metres around each tile, for both passes (default: what the ground "
    "filter needs for classifying, 50 m for the rasters).",
)  # fmt: skip
@click.option(
    "--resolution", type=click.FloatRange(min=0, min_open=True), default=0.5, show_default=True,
    help="Pixel size in metres.",
)  # fmt: skip
@click.option(
    "--steps", default="auto", show_default=True,
    help="Classification steps. 'auto': tiles already classified (IGN LiDAR HD tiles: any "
    "class besides 0, 1 and noise) keep their classes, the others get noise, ground and the "
    "scene classes (water, bridges, buildings, structures, vegetation); a comma list "
    "(e.g. noise,ground) re-classifies every tile; 'none' keeps every tile's classes.",
)  # fmt: skip
@click.option("--ground", default="smrf", show_default=True, help="Ground filter (smrf, csf, pmf).")
@click.option(
    "--products", default="dtm,dsm,chm", show_default=True, help="Rasters to make per tile."
)
@click.option("--pitfree", is_flag=True, help="Pit-free CHM (Khosravipour et al. 2014).")
@format_options
@crs_option
@workers_option
@scheduler_option
@json_options
@overwrite_option
@verbosity_options
def process(
    inputs: tuple[str, ...],
    out_dir: str,
    tile_size: float,
    buffer: float | None,
    resolution: float,
    steps: str,
    ground: str,
    products: str,
    pitfree: bool,
    point_format: int | None,
    las_version: str | None,
    crs: str | None,
    workers: int | None,
    scheduler: str | None,
    as_json: bool,
    json_out: str | None,
    overwrite: bool,
) -> None:
    """Run the LiDAR chain over INPUT files/folders into the folder OUTPUT.

    \b
    OUTPUT/tiles/*.laz      classified tiles (no buffer)
    OUTPUT/dtm/, dsm/, chm/ one Cloud-Optimised GeoTIFF per tile
    OUTPUT/dtm.vrt ...      seamless mosaics
    OUTPUT/tiles.gpkg       the tiles' squares (file, points)
    OUTPUT/pcrs.qgs         QGIS project: DTM hillshade, DSM, CHM, tiles
    OUTPUT/summary.json     counts, timings, status of every tile
    OUTPUT/manifest.json    what made each output (parameters, inputs' hashes)

    Classified tiles (IGN LiDAR HD) keep their classes unless --steps names
    the steps to run. The same command run again skips the tiles whose
    record matches (an interrupted run is resumed) and recomputes those whose
    input files changed; other parameters into the same folder are refused,
    naming what differs, unless --overwrite. One run at a time per folder.
    Exit code 1 when some tiles failed (the others are written), 2 when the
    run could not start or stopped (bad input, folder in use, disk full).

    \b
    Examples:
      pcrs process flight/*.laz -o out --tile-size 1000 --resolution 0.5
      pcrs process ign_tiles/ -o out --steps none --workers 2
      pcrs process data/ -o out --scheduler tcp://10.0.0.5:8786
    """
    from ..errors import ProcessError
    from ..raster.process import process as run_process
    from ..tiling.engine import open_executor

    if steps.strip().lower() == "auto":
        step_list: list[str] | str = "auto"
    else:
        step_list = [] if steps.strip().lower() in ("", "none") else steps.split(",")
        step_list = [s.strip() for s in step_list if s.strip()]
    product_list = [p.strip() for p in products.split(",") if p.strip()]
    check_json_out(json_out, overwrite, inputs)
    failure: ProcessError | None = None
    with open_executor(scheduler, workers) as executor:
        try:
            summary = run_process(
                list(inputs), out_dir, tile_size=tile_size, buffer=buffer, resolution=resolution,
                steps=step_list, ground=ground, products=product_list, pitfree=pitfree,
                executor=executor, workers=workers, overwrite=overwrite, crs=crs,
                point_format=point_format, las_version=las_version,
            )  # fmt: skip
        except ProcessError as exc:  # some tiles failed: report the others, then exit 1
            failure, summary = exc, exc.summary
    emit_json(summary, as_json, json_out, overwrite)
    if not as_json:
        _report(summary, out_dir)
    if failure is not None:
        raise failure


def _report(summary: dict, out_dir: str) -> None:
    c, r = summary["classify"], summary["rasterize"] or {}
    kept = len(summary["classification_kept"])
    click.echo(
        f"{summary['points_in']:,} points -> {c['tiles']} tile(s) "
        f"(classify: {c['done']} done, {c['skipped']} skipped"
        + (f", {kept} kept their classification" if kept else "")
        + f"; rasters: {r.get('done', 0)} done, {r.get('skipped', 0)} skipped) "
        f"in {summary['seconds']['total']:.1f} s"
    )
    for p, m in summary["mosaics"].items():
        click.echo(f"  {p}: {out_dir}/{m['vrt']} ({m['tiles']} tiles)")
    if summary.get("qgis"):
        click.echo(f"  QGIS project: {out_dir}/{summary['qgis']}")
