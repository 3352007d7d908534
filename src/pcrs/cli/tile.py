"""``pcrs tile``: cut LAS/LAZ/COPC files into a regular grid of LAZ tiles, streaming."""

from __future__ import annotations

from pathlib import Path

import click

from .options import (
    check_json_out,
    crs_option,
    emit_json,
    format_options,
    json_options,
    overwrite_option,
    verbosity_options,
)


@click.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@click.option(
    "-o",
    "--output",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False),
    help="Output folder.",
)
@click.option("--size", type=float, default=1000.0, show_default=True, help="Tile side in metres.")
@click.option(
    "--buffer",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Also put the neighbouring points within this many metres in each tile, "
    "marked by the 'buffer' extra dimension (1 = buffer point).",
)
@click.option(
    "--naming",
    type=click.Choice(["ign", "xy"]),
    default="xy",
    show_default=True,
    help="ign: LHD_FXX_{xmin_km}_{ymax_km}_PTS_C_LAMB93_IGN69.laz (1 km tiles); xy: PREFIX_{xmin}_{ymin}.laz.",
)
@click.option(
    "--prefix", default="tile", show_default=True, help="File name prefix of --naming xy."
)
@click.option(
    "--origin",
    nargs=2,
    type=float,
    default=(0.0, 0.0),
    show_default=True,
    metavar="X Y",
    help="A grid corner.",
)
@click.option(
    "--strip-buffer",
    is_flag=True,
    help="Instead of tiling: copy INPUT tiles (written with --buffer) to the output folder "
    "without their buffer points and without the 'buffer' dimension.",
)
@click.option(
    "--chunk-size",
    type=click.IntRange(min=1000),
    default=2_000_000,
    show_default=True,
    help="Points read at a time.",
)
@click.option(
    "--max-open",
    type=click.IntRange(min=1),
    default=128,
    show_default=True,
    help="Most tiles written at once; more tiles go through temporary raw files.",
)
@format_options
@crs_option
@json_options
@overwrite_option
@verbosity_options
def tile(
    inputs: tuple[str, ...],
    out_dir: str,
    size: float,
    buffer: float,
    naming: str,
    prefix: str,
    origin: tuple[float, float],
    strip_buffer: bool,
    chunk_size: int,
    max_open: int,
    point_format: int | None,
    las_version: str | None,
    crs: str | None,
    as_json: bool,
    json_out: str | None,
    overwrite: bool,
) -> None:
    """Stream the points of INPUT files/folders into a regular grid of LAZ tiles in OUTPUT.

    Every point goes to exactly one tile. Tiles are closed boxes, as IGN LiDAR
    HD tiles are: an input file lying inside one tile keeps all its points
    there, those on its edges included, so re-tiling tiles on their own grid
    gives them back. Other points exactly on a shared edge go to the tile on
    the left / below, unless that tile would hold edge points only.
    Memory is bounded by --chunk-size, whatever the size of the input.

    \b
    Examples:
      pcrs tile A.laz B.laz -o tiles --size 1000 --naming ign
      pcrs tile strips/ -o tiles --size 250 --buffer 20
      pcrs tile --strip-buffer tiles/*.laz -o unbuffered
    """
    check_json_out(json_out, overwrite, inputs)
    if strip_buffer:
        _strip(inputs, Path(out_dir), overwrite, chunk_size, (as_json, json_out))
        return
    from ..tiling.grid import TileGrid
    from ..tiling.retile import retile

    grid = TileGrid(size, (origin[0], origin[1]), naming=naming, prefix=prefix)
    summary = retile(
        list(inputs),
        out_dir,
        grid,
        buffer=buffer,
        overwrite=overwrite,
        chunk_size=chunk_size,
        max_open=max_open,
        crs=crs,
        point_format=point_format,
        las_version=las_version,
    )
    emit_json(summary.to_dict(), as_json, json_out, overwrite)
    if as_json:
        return
    written = sum(summary.tiles.values())
    extra = f" + {sum(summary.buffer_points.values()):,} buffer points" if buffer > 0 else ""
    click.echo(
        f"{summary.points_in:,} points -> {len(summary.tiles)} tile(s) in {out_dir} "
        f"({written:,} points{extra}) in {summary.seconds:.1f} s"
    )


def _strip(
    inputs: tuple[str, ...],
    out_dir: Path,
    overwrite: bool,
    chunk_size: int,
    json_output: tuple[bool, str | None],
) -> None:
    from .._progress import progress
    from ..io.atomic import same_file
    from ..tiling.catalog import find_point_files
    from ..tiling.retile import strip_buffer

    files = find_point_files(inputs)
    done = []
    for src in progress(files, len(files), "stripping buffers"):
        dst = out_dir / src.name
        if same_file(src, dst):
            from ..errors import ParameterError

            raise ParameterError(f"{src}: the output folder is the input folder; choose another -o")
        kept = strip_buffer(src, dst, overwrite=overwrite, chunk_size=chunk_size)
        done.append({"input": str(src), "output": str(dst), "points": kept})
    as_json, json_out = json_output
    emit_json(done, as_json, json_out, overwrite)
    if not as_json:
        click.echo(f"{len(done)} tile(s) written to {out_dir} without their buffer points")
