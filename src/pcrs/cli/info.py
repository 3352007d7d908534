"""``pcrs info``: header facts of LAS/LAZ/COPC files, and their class histogram."""

from __future__ import annotations

import click

from .options import (
    check_json_out,
    crs_option,
    emit_json,
    json_options,
    overwrite_option,
    verbosity_options,
)


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@json_options
@click.option(
    "--stats", is_flag=True, help="Also count points per class (reads the points, in chunks)."
)
@crs_option
@overwrite_option
@verbosity_options
def info(
    files: tuple[str, ...],
    as_json: bool,
    json_out: str | None,
    stats: bool,
    crs: str | None,
    overwrite: bool,
) -> None:
    """Show points, point format, LAS version, CRS and bounds of FILES without reading the points.

    \b
    Examples:
      pcrs info tile.laz
      pcrs info --json --stats data/*.laz
      pcrs info data/*.laz --json-out facts.json
    """
    from ..errors import PcrsError
    from ..io import las
    from ..io.crs import crs_label, parse_crs

    check_json_out(json_out, overwrite, files)
    override = parse_crs(crs) if crs else None
    results = []
    failed = 0
    for path in files:
        try:
            facts = las.info(path)
            if override is not None:
                facts.crs = override
            record = facts.to_dict()
            if stats:
                record["classes"] = {str(k): v for k, v in las.class_histogram(path).items()}
        except PcrsError as exc:
            if len(files) == 1:
                raise
            click.echo(f"pcrs: error: {exc}", err=True)
            failed += 1
            continue
        results.append(record)
        if not as_json:
            _print_text(record, crs_label(facts.crs))
    emit_json(results, as_json, json_out, overwrite)
    if failed:
        raise click.exceptions.Exit(2)


def _print_text(rec: dict, crs_text: str) -> None:
    b = rec["bounds"]
    kind = "COPC" if rec["copc"] else ("LAZ" if rec["compressed"] else "LAS")
    lines = [
        f"{rec['path']}",
        f"  points        {rec['points']:,}",
        f"  format        {kind}, LAS {rec['las_version']}, point format {rec['point_format']}",
        f"  crs           {crs_text}",
        f"  bounds x      {b[0]:.2f} .. {b[3]:.2f}",
        f"  bounds y      {b[1]:.2f} .. {b[4]:.2f}",
        f"  bounds z      {b[2]:.2f} .. {b[5]:.2f}",
        f"  scales        {' '.join(f'{s:g}' for s in rec['scales'])}",
    ]
    if rec["extra_dims"]:
        lines.append("  extra dims    " + ", ".join(d["name"] for d in rec["extra_dims"]))
    if "classes" in rec:
        from ..classify.codes import ASPRS_NAMES, IGN_NAMES

        lines.append("  classes")
        total = max(rec["points"], 1)
        for code, count in rec["classes"].items():
            name = IGN_NAMES.get(int(code)) or ASPRS_NAMES.get(int(code), "")
            lines.append(f"    {int(code):>3}  {count:>12,}  {100 * count / total:5.1f} %  {name}")
    click.echo("\n".join(lines))
