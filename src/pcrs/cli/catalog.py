"""``pcrs catalog``: index LAS/LAZ/COPC files from their headers and check the collection."""

from __future__ import annotations

import click

from .options import (
    check_json_out,
    crs_option,
    emit_json,
    json_options,
    overwrite_option,
    verbosity_options,
    workers_option,
)


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@json_options
@click.option(
    "--footprints",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write one polygon per file (with its facts), plus overlaps and gaps, to this GeoPackage.",
)
@click.option("--recursive", is_flag=True, help="Also look for files in sub-folders.")
@crs_option
@workers_option
@overwrite_option
@verbosity_options
def catalog(
    paths: tuple[str, ...],
    as_json: bool,
    json_out: str | None,
    footprints: str | None,
    recursive: bool,
    crs: str | None,
    workers: int | None,
    overwrite: bool,
) -> None:
    """Index the LAS/LAZ/COPC files of PATHS (files or folders) from their headers only.

    Prints the number of files and points, the total bounds and the CRS, then
    the problems found: mixed CRSs, files without a CRS, overlapping files,
    holes in the coverage, duplicated files, mixed point formats, unreadable
    files. Exit code 1 when an error (mixed CRSs or formats, unreadable file)
    is found, 0 otherwise (warnings included).

    \b
    Examples:
      pcrs catalog lidar/
      pcrs catalog lidar/ --footprints footprints.gpkg --json
    """
    from ..tiling.catalog import FATAL_ISSUES, Catalog
    from .main import FindingsExit

    if footprints:
        from ..io.atomic import check_output

        check_output(footprints, overwrite)
    check_json_out(json_out, overwrite, paths)
    cat = Catalog.from_paths(paths, workers=workers, recursive=recursive, crs=crs)
    issues = cat.check()
    if footprints and cat.files:
        cat.to_geopackage(footprints, overwrite=overwrite)
    if as_json or json_out:
        record = cat.to_dict(issues) if cat.files else {"files": 0, "unreadable": cat.errors}
        if footprints:
            record["footprints"] = footprints
        emit_json(record, as_json, json_out, overwrite)
    if not as_json:
        _print_text(cat, issues, footprints)
    if any(i.kind in FATAL_ISSUES for i in issues):
        raise FindingsExit()


def _print_text(cat, issues, footprints) -> None:
    from ..errors import CRSError
    from ..io.crs import crs_label

    lines = [f"{len(cat)} file(s), {cat.points:,} points"]
    if cat.files:
        b = cat.bounds
        try:
            crs_text = crs_label(cat.crs)
        except CRSError:
            crs_text = "mixed (see below)"
        copc = sum(1 for f in cat.files if f.copc)
        lines += [
            f"  bounds x      {b[0]:.2f} .. {b[2]:.2f}",
            f"  bounds y      {b[1]:.2f} .. {b[3]:.2f}",
            f"  crs           {crs_text}",
            f"  COPC files    {copc}",
        ]
    if footprints:
        lines.append(f"  footprints    {footprints}")
    if issues:
        lines.append(f"{len(issues)} issue(s):")
        lines += [f"  {i.severity}: {i.kind}: {i.message}" for i in issues]
    else:
        lines.append("no issue found")
    click.echo("\n".join(lines))
