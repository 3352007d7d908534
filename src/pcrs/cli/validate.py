"""``pcrs validate``: check PCRS v2.0 GML deliveries and write readable reports."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from .options import (
    LegacyJsonFileCommand,
    html_option,
    json_options,
    lang_option,
    overwrite_option,
    verbosity_options,
)


@click.command(cls=LegacyJsonFileCommand)
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True))
@json_options
@html_option
@click.option(
    "--gpkg", "gpkg_path", type=click.Path(dir_okay=False),
    help="Write the located findings as a GeoPackage point layer, and beside it a QGIS "
    "project of the same name (.qgs) that opens them coloured by severity.",
)  # fmt: skip
@lang_option
@click.option(
    "--schemas", "schemas_dir", type=click.Path(file_okay=False, exists=True), default=None,
    help="Folder of schemas with catalog.xml (default: the copy 'pcrs schemas install' made).",
)  # fmt: skip
@click.option(
    "--no-schema", is_flag=True, help="Skip the XSD step even when schemas are installed."
)
@click.option(
    "--precision", "precision_cm", type=float, default=None,
    help="Report precisionPlanimetrique worse than this many cm (0 turns it off); overrides "
    "the profile's precision_threshold_cm (10 in cnig).",
)  # fmt: skip
@click.option(
    "--profile", "profile", default=None, metavar="NAME|FILE.toml",
    help="Acceptance profile: 'cnig' (the standard as written), 'strict', or a TOML file. "
    "Default: the project file (pcrs.toml, or [tool.pcrs.validate] in pyproject.toml) "
    "found from the working directory upward, else cnig.",
)  # fmt: skip
@click.option(
    "--no-config", is_flag=True,
    help="Ignore project files (pcrs.toml, pyproject.toml): cnig unless --profile is given.",
)  # fmt: skip
@click.option(
    "--partial", is_flag=True,
    help="The files are a piece of a delivery: links to features in none of them "
    "(PCRS-LINK-001) and a missing EmpriseEchangePCRS (PCRS-EMP-001) are warnings.",
)  # fmt: skip
@click.option(
    "--lidar", "lidar_dir", type=click.Path(), default=None, metavar="DIR",
    help="Classified LiDAR (folder of LAS/LAZ/COPC, or a file) to cross-check the delivery "
    "with: Z of ground-level objects, façades along buildings, buildings not surveyed.",
)  # fmt: skip
@click.option(
    "--z-tolerance", type=float, default=0.30, show_default=True, metavar="M",
    help="With --lidar: warn when an object's median Z is farther than this from the ground.",
)  # fmt: skip
@click.option(
    "--z-method", type=click.Choice(["plane", "tin"]), default="plane", show_default=True,
    help="With --lidar: ground Z under a vertex from a plane through the nearest ground "
    "points, or from a TIN of the ground points.",
)  # fmt: skip
@click.option(
    "--lidar-crs", default=None, metavar="CRS",
    help="With --lidar: CRS of LiDAR files whose headers have none (e.g. EPSG:2154).",
)  # fmt: skip
@overwrite_option
@verbosity_options
def validate(
    files: tuple[str, ...],
    as_json: bool,
    json_out: str | None,
    html_path: str | None,
    gpkg_path: str | None,
    lang: str,
    schemas_dir: str | None,
    no_schema: bool,
    precision_cm: float | None,
    profile: str | None,
    no_config: bool,
    partial: bool,
    lidar_dir: str | None,
    z_tolerance: float,
    z_method: str,
    lidar_crs: str | None,
    overwrite: bool,
) -> None:
    """Check PCRS v2.0 GML FILES (or folders of .gml) against the schema and the standard.

    Every finding names its rule, the file, line, feature class, gml:id and idObjet,
    and what to do. Exit code 0: no error; 1: errors found; 2: unusable input.

    \b
    Examples:
      pcrs validate livraison.gml
      pcrs validate livraison/ --lang fr --html rapport.html --json-out rapport.json
      pcrs validate livraison.gml --json | jq .summary
      pcrs validate a.gml b.gml --gpkg anomalies.gpkg
      pcrs validate livraison.gml --lidar lidar_hd/ --z-tolerance 0.2 --html rapport.html
      pcrs validate dalle_12.gml --partial --profile strict
    """
    from ..errors import ParameterError
    from ..io.atomic import check_output
    from ..vector import validate as run
    from ..vector.profiles import resolve_profile
    from .main import FindingsExit

    # a bad profile fails now, before anything is read
    prof = resolve_profile(profile or ("cnig" if no_config else "auto"))
    options = prof.make_options()
    if precision_cm is not None:
        options = dataclasses.replace(options, precision_threshold_cm=precision_cm or None)
    catalog = lidar_options = None
    if lidar_dir is not None:
        from ..vector.lidar_check import LidarOptions, open_lidar

        if not z_tolerance > 0:
            raise ParameterError(
                f"--z-tolerance must be a positive number of metres, got {z_tolerance!r}"
            )
        lidar_options = LidarOptions(z_tolerance=z_tolerance, z_method=z_method)
        # bad LiDAR input fails now, before the validation of a big delivery
        catalog = open_lidar(lidar_dir, lidar_crs)
    elif lidar_crs is not None:
        raise ParameterError("--lidar-crs needs --lidar DIR")
    outputs = [p for p in (json_out, html_path, gpkg_path) if p]
    if gpkg_path:  # the QGIS project written beside the GeoPackage
        outputs.append(str(Path(gpkg_path).with_suffix(".qgs")))
    for p in outputs:
        check_output(p, overwrite, files)
    report = run(
        files, schemas=False if no_schema else schemas_dir, lang=lang, options=options,
        profile=prof, partial=partial,
    )  # fmt: skip
    if catalog is not None and len(report.unusable_files) < len(report.files):
        from ..vector.lidar_check import cross_check

        usable = [f["path"] for f in report.files if f.get("usable", True)]
        result = cross_check(usable, catalog, options=lidar_options, lang=lang)
        report.extend(result.findings, lidar=result.stats)
    if json_out:
        report.to_json(json_out, overwrite=overwrite)
    if html_path:
        report.to_html(html_path, overwrite=overwrite)
    if gpkg_path:
        from ..io.qgis import geopackage_project

        report.to_geopackage(gpkg_path, overwrite=overwrite)
        geopackage_project(gpkg_path, overwrite=overwrite)
    from .options import state

    # with --json, stdout holds the JSON only: the summary goes to stderr
    if state.verbosity < 0:
        click.echo(report.summary_text().splitlines()[-1], err=as_json)
    else:
        click.echo(report.summary_text(), err=as_json)
    if as_json:
        click.echo(report.to_json())
    unusable = report.unusable_files
    if unusable and len(unusable) == len(report.files):
        reasons = {f["path"]: f.get("reason", "") for f in report.files}
        for path in unusable:
            click.echo(
                f"pcrs: error: {path}: not a usable PCRS GML file ({reasons[path]})", err=True
            )
        raise click.exceptions.Exit(2)
    if report.has_errors:
        raise FindingsExit()
