"""``pcrs check-lidar``: check a LiDAR delivery against its specification."""

from __future__ import annotations

import click

from .options import (
    html_option,
    json_options,
    lang_option,
    overwrite_option,
    scheduler_option,
    verbosity_options,
)


@click.command("check-lidar")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True))
@click.option(
    "--spec", "spec", default="lidarhd", show_default=True, metavar="lidarhd|FILE.toml",
    help="The specification: 'lidarhd' (IGN LiDAR HD, built in) or your own TOML file.",
)  # fmt: skip
@json_options
@html_option
@click.option(
    "--gpkg", "gpkg_path", type=click.Path(dir_okay=False),
    help="Write the located findings, the coverage holes and the cells below the density "
    "minimum as GeoPackage layers (open it in QGIS).",
)  # fmt: skip
@click.option(
    "--density-map", "density_map", type=click.Path(dir_okay=False), default=None,
    metavar="D.tif",
    help="Write a COG of the density (bands points/m² and pulses/m²) over the delivery.",
)  # fmt: skip
@click.option(
    "--workers", type=click.IntRange(min=1), default=1, show_default=True,
    help="Tiles read in parallel (processes).",
)  # fmt: skip
@scheduler_option
@click.option(
    "--profile", "profile", default=None, metavar="FILE.toml",
    help="A profile selecting, ignoring or re-grading LIDAR rules (select/ignore/severity, "
    "as for pcrs validate). Default: every LIDAR rule at its own severity.",
)  # fmt: skip
@lang_option
@overwrite_option
@verbosity_options
def check_lidar(
    inputs: tuple[str, ...],
    spec: str,
    as_json: bool,
    json_out: str | None,
    html_path: str | None,
    gpkg_path: str | None,
    density_map: str | None,
    workers: int,
    scheduler: str | None,
    profile: str | None,
    lang: str,
    overwrite: bool,
) -> None:
    """Check the LiDAR tiles INPUTS (files or folders of LAS/LAZ/COPC) against a
    specification: format, CRS, names, grid, density, coverage, classes, attributes.

    Every finding names its rule (LIDAR-<FAMILY>-NNN), the tile, a place and what to do.
    Exit code 0: conforms; 1: nonconformities (errors) found; 2: unusable input (no
    readable file, bad specification).

    \b
    Examples:
      pcrs check-lidar dalles/
      pcrs check-lidar dalles/ --spec cahier-des-charges.toml --html rapport.html
      pcrs check-lidar dalles/ --json | jq .summary
      pcrs check-lidar dalles/ --gpkg anomalies.gpkg --density-map densite.tif --workers 4
    """
    from ..io.atomic import check_output
    from ..lidarcheck import check_lidar as run
    from ..lidarcheck.spec import load_spec
    from .main import FindingsExit
    from .options import state

    the_spec = load_spec(spec)  # a bad specification fails now, before anything is read
    for p in (json_out, html_path, gpkg_path):
        if p:
            check_output(p, overwrite, inputs)
    from ..tiling.engine import open_executor

    with open_executor(scheduler, workers) as executor:
        report = run(
            list(inputs), the_spec, workers=workers, density_map=density_map, lang=lang,
            profile=profile, overwrite=overwrite,
            executor=executor if scheduler else None,
        )  # fmt: skip
    if json_out:
        report.to_json(json_out, overwrite=overwrite)
    if html_path:
        report.to_html(html_path, overwrite=overwrite)
    if gpkg_path:
        report.to_geopackage(gpkg_path, overwrite=overwrite)
    # with --json, stdout holds the JSON only: the summary goes to stderr
    if state.verbosity < 0:
        click.echo(report.summary_text().splitlines()[-1], err=as_json)
    else:
        click.echo(report.summary_text(), err=as_json)
    if as_json:
        click.echo(report.to_json())
    unusable = report.unusable_files
    if unusable and len(unusable) == len(report.files):
        reasons = {f["path"]: f.get("reason", "no point could be read") for f in report.files}
        for path in unusable:
            click.echo(f"pcrs: error: {path}: not a usable LiDAR file ({reasons[path]})", err=True)
        raise click.exceptions.Exit(2)
    if report.has_errors:
        raise FindingsExit()
