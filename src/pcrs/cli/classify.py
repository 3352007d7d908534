"""``pcrs classify``: noise, ground and height above ground, written as LAS/LAZ."""

from __future__ import annotations

from pathlib import Path

import click

from ..classify.codes import CODE_SCHEMES
from ..classify.ground import GROUND_FILTERS
from ..classify.noise import NOISE_FILTERS
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
    "-o",
    "--output",
    required=True,
    type=click.Path(),
    help="Output file (one input) or folder (several inputs, or a folder input).",
)
@click.option(
    "--steps",
    default="noise,ground",
    show_default=True,
    help="Comma-separated steps: noise, ground, height (adds the 'hag' dimension), and the "
    "scene steps when available (water, bridges, buildings, structures, vegetation); "
    "they run in that order whatever the order given.",
)
@click.option(
    "--ground",
    type=click.Choice(sorted(GROUND_FILTERS)),
    default="smrf",
    show_default=True,
    help="Ground filter.",
)
@click.option(
    "--codes",
    type=click.Choice(sorted(CODE_SCHEMES)),
    default="ign",
    show_default=True,
    help="Class codes: noise is 65 (IGN) or 7 (ASPRS).",
)
@click.option(
    "--noise",
    type=click.Choice(sorted(NOISE_FILTERS)),
    default="ivf",
    show_default=True,
    help=(
        "Noise filter: isolated voxels (ivf), statistical outlier removal (sor) or low points "
        "only (low); ivf and sor are followed by the low-point test."
    ),
)
@click.option(
    "--classifier",
    type=click.Choice(["rules", "learned"]),
    default="rules",
    show_default=True,
    help="rules: the steps as listed; learned: noise and ground from --steps, then a learned "
    "model (--model, default the shipped LiDAR HD one) instead of the scene steps.",
)
@click.option(
    "--model",
    type=click.Path(file_okay=False),
    default=None,
    help="Model folder written by 'pcrs train' (with --classifier learned).",
)
@click.option(
    "--tile-size",
    type=click.FloatRange(min=1.0),
    default=1000.0,
    show_default=True,
    help="Tile side in metres when several inputs are processed through the tile engine.",
)
@click.option(
    "--naming",
    type=click.Choice(["xy", "ign"]),
    default="xy",
    show_default=True,
    help="Names of the output tiles with several inputs (ign needs --tile-size 1000).",
)
@click.option(
    "--buffer",
    type=click.FloatRange(min=0),
    default=None,
    help="Buffer in metres around each tile (default: enough for the chosen filters).",
)
@click.option(
    "--pdal",
    "pdal_pipeline",
    type=click.Path(dir_okay=False),
    default=None,
    help="PDAL pipeline (a JSON file of filters) run on each tile with its buffer, after the "
    "--steps given (without --steps: the pipeline alone); the classification and the "
    "dimensions it adds are kept. Needs PDAL's Python package: pip install 'pcrs[pdal]'.",
)
@format_options
@crs_option
@overwrite_option
@workers_option
@scheduler_option
@json_options
@verbosity_options
def classify(
    inputs: tuple[str, ...],
    output: str,
    steps: str,
    ground: str,
    codes: str,
    noise: str,
    classifier: str,
    model: str | None,
    tile_size: float,
    naming: str,
    buffer: float | None,
    pdal_pipeline: str | None,
    point_format: int | None,
    las_version: str | None,
    crs: str | None,
    overwrite: bool,
    workers: int | None,
    scheduler: str | None,
    as_json: bool,
    json_out: str | None,
) -> None:
    """Classify noise and ground of INPUT LAS/LAZ/COPC files and write them to OUTPUT.

    Every point and every attribute other than the classification is written
    back unchanged, with the input's point format, version, VLRs and CRS; the
    format is widened to LAS 1.4 format 6-10 only when a class above 31 is
    written (a warning says so), or when --point-format/--las-version ask.

    The classes a step assigns are reset first (ground -> unclassified, noise ->
    unclassified), so a file classified twice gets the same result. With one
    input file, OUTPUT is the output file. With several inputs (or a folder),
    OUTPUT is a folder: the points go through the tile engine, tile by tile,
    each tile read with a buffer larger than the largest morphological window,
    so tile edges do not change the classes.

    \b
    Examples:
      pcrs classify tile.laz -o tile_classified.laz
      pcrs classify tile.laz -o out.laz --steps noise,ground,height --ground csf
      pcrs classify tiles/ -o classified/ --workers 2
      pcrs classify tiles/ -o classified/ --pdal smrf.json
    """
    from ..classify.pipeline import classify_buffer

    params: dict = {"noise_params": {"method": noise}}
    if classifier == "learned":
        from ..classify.learned_predict import resolve_model

        resolve_model(model)  # a bad model folder fails here, before any file is read
        params["learned_params"] = {"model": model}
    elif model is not None:
        raise click.BadParameter("--model needs --classifier learned", param_hint="--model")
    step_list = [s.strip() for s in steps.split(",") if s.strip()]
    # validate the steps and parameters before reading anything
    if classifier == "learned":  # the rule steps kept before the model, then the model
        step_list = [s for s in step_list if s in ("noise", "ground", "height")] + ["learned"]
    pipeline = None
    if pdal_pipeline is not None:
        from ..interop.pdal import _import_pdal, load_pipeline

        pipeline = load_pipeline(pdal_pipeline)
        _import_pdal()  # without PDAL, one line naming the extra, before any file is read
        source = click.get_current_context().get_parameter_source("steps")
        if classifier == "rules" and source == click.core.ParameterSource.DEFAULT:
            step_list = []  # the pipeline alone
    # a pipeline alone gets the buffer of pcrs's own noise and ground filters
    auto_buffer = classify_buffer(step_list or ["noise", "ground"], ground, codes, **params)
    check_json_out(json_out, overwrite, inputs)
    single = len(inputs) == 1 and Path(inputs[0]).is_file()
    if single:
        record = _classify_one(
            Path(inputs[0]),
            Path(output),
            step_list,
            ground,
            codes,
            params,
            crs,
            overwrite,
            (point_format, las_version),
            pipeline,
        )
        emit_json(record, as_json, json_out, overwrite)
        if not as_json:
            counts = ", ".join(f"{k}: {v:,}" for k, v in record["classes"].items())
            click.echo(f"{record['output']}: {record['points']:,} points ({counts})")
        return
    _classify_many(
        inputs,
        Path(output),
        step_list,
        ground,
        codes,
        params,
        crs,
        overwrite,
        workers,
        scheduler,
        tile_size,
        naming,
        auto_buffer if buffer is None else buffer,
        (as_json, json_out),
        (point_format, las_version),
        pipeline,
    )


def _classify_one(
    src: Path,
    dst: Path,
    step_list: list[str],
    ground: str,
    codes: str,
    params: dict,
    crs: str | None,
    overwrite: bool,
    layout: tuple[int | None, str | None] = (None, None),
    pipeline: str | None = None,
) -> dict:
    import numpy as np

    from ..classify.pipeline import classify as run_classify
    from ..io import las
    from ..io.atomic import check_output

    check_output(dst, overwrite, inputs=[src])
    cloud = las.read(src, crs=crs)
    out = cloud
    if step_list:
        out = run_classify(cloud, steps=step_list, ground=ground, codes=codes, copy=False, **params)
    if pipeline is not None:
        from ..interop.pdal import pdal_tile

        out = pdal_tile(out, None, pipeline=pipeline)
    las.write(out, dst, overwrite=overwrite, point_format=layout[0], version=layout[1])
    values, counts = np.unique(out.classification, return_counts=True)
    return {
        "input": str(src),
        "output": str(dst),
        "points": len(out),
        "classes": {str(int(v)): int(c) for v, c in zip(values, counts, strict=True)},
    }


def _classify_many(
    inputs,
    out_dir: Path,
    step_list,
    ground,
    codes,
    params,
    crs,
    overwrite,
    workers,
    scheduler,
    tile_size,
    naming,
    buffer,
    json_output,
    layout=(None, None),
    pipeline=None,
) -> None:
    import functools

    from ..classify.pipeline import classify_tile
    from ..errors import ParameterError
    from ..io.runlock import run_lock
    from ..tiling.catalog import Catalog
    from ..tiling.engine import open_executor, run
    from ..tiling.grid import TileGrid
    from ..tiling.manifest import Manifest

    if out_dir.suffix.lower() in (".las", ".laz"):
        raise ParameterError(
            f"{out_dir}: with several inputs the output is a folder; give a folder name"
        )
    catalog = Catalog.from_paths(list(inputs), crs=crs, on_error="raise")
    if len(catalog) == 0:
        raise ParameterError(f"no LAS/LAZ/COPC file found in {list(inputs)!r}")
    grid = TileGrid(tile_size, naming=naming)
    func: functools.partial = functools.partial(
        classify_tile, steps=tuple(step_list), ground=ground, codes=codes, params=params
    )
    run_params = {
        "steps": list(step_list),
        "ground": ground,
        "codes": codes,
        "params": dict(params or {}),
    }
    if pipeline is not None:  # the pipeline's text is part of what made each tile
        from ..interop.pdal import classify_pdal_tile, pipeline_hash

        func = functools.partial(
            classify_pdal_tile,
            pipeline=pipeline,
            steps=tuple(step_list),
            ground=ground,
            codes=codes,
            params=params,
        )
        run_params["pdal"] = pipeline_hash(pipeline)
    out_dir.mkdir(parents=True, exist_ok=True)
    # one run at a time; the manifest makes a re-run skip only tiles made with these parameters
    with run_lock(out_dir, command="pcrs classify"), open_executor(scheduler, workers) as executor:
        summary = run(
            func,
            catalog,
            out_dir,
            grid=grid,
            buffer=buffer,
            executor=executor,
            workers=workers,
            overwrite=overwrite,
            crs=crs,
            point_format=layout[0],
            las_version=layout[1],
            description="classifying tiles",
            manifest=Manifest(out_dir),
            section="classify",
            params=run_params,
        )
    as_json, json_out = json_output
    emit_json(summary.to_dict(), as_json, json_out, overwrite)
    if not as_json:
        click.echo(str(summary))
    summary.raise_for_failures()
