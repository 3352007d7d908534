"""``pcrs evaluate``: compare the classes of two files holding the same points."""

from __future__ import annotations

import math

import click

from .options import (
    check_json_out,
    emit_json,
    json_options,
    overwrite_option,
    verbosity_options,
)


@click.command()
@click.argument("pred", type=click.Path(dir_okay=False))
@click.argument("ref", type=click.Path(dir_okay=False))
@click.option(
    "--ground-class",
    "ground_codes",
    default="2",
    show_default=True,
    help="Reference code(s) of bare earth for the ISPRS errors, comma-separated "
    "(e.g. 2,9 to count water as ground).",
)
@click.option(
    "--ignore",
    default="",
    help="Reference codes left out of every score, comma-separated (e.g. 66 for IGN virtual points).",
)
@click.option(
    "--max-total-error",
    type=click.FloatRange(min=0, max=100),
    default=None,
    help="Exit with code 1 when the ground total error (%) is above this value.",
)
@json_options
@overwrite_option
@verbosity_options
def evaluate(
    pred: str,
    ref: str,
    ground_codes: str,
    ignore: str,
    max_total_error: float | None,
    as_json: bool,
    json_out: str | None,
    overwrite: bool,
) -> None:
    """Compare the classification of PRED with the reference REF (same points, same order).

    Prints the confusion matrix (rows: reference, columns: predicted),
    precision / recall / IoU per class, overall accuracy, Cohen's kappa and the
    ISPRS ground errors: Type I (ground rejected), Type II (objects accepted as
    ground) and Total.

    \b
    Examples:
      pcrs evaluate classified.laz reference.laz
      pcrs evaluate classified.laz reference.laz --json --ignore 66
    """
    import numpy as np

    from ..classify.codes import ASPRS_NAMES, IGN_NAMES
    from ..classify.evaluate import evaluate as run_evaluate
    from ..errors import ParameterError
    from ..io import las
    from .main import FindingsExit

    gcodes = _codes(ground_codes, "--ground-class")
    icodes = _codes(ignore, "--ignore") if ignore.strip() else []
    check_json_out(json_out, overwrite, (pred, ref))
    p = las.read(pred)
    r = las.read(ref)
    if len(p) != len(r):
        raise ParameterError(
            f"{pred} has {len(p):,} points and {ref} {len(r):,}; evaluate compares two "
            "classifications of the same points"
        )
    tol = 1e-6 + max(p.layout.scales[0], r.layout.scales[0])
    if len(p) and not (
        np.allclose(p.x, r.x, rtol=0, atol=tol) and np.allclose(p.y, r.y, rtol=0, atol=tol)
    ):
        raise ParameterError(
            f"{pred} and {ref} do not hold the same points in the same order; evaluate needs "
            "the classified copy of the reference file"
        )
    names = {**ASPRS_NAMES, **IGN_NAMES}
    ev = run_evaluate(
        p.classification,
        r.classification,
        ground=gcodes,
        predicted_ground=2 if gcodes != [2] else None,
        ignore=icodes,
        names=names,
    )
    result = ev.to_dict() | {"pred": str(pred), "ref": str(ref)}
    emit_json(_clean(result), as_json, json_out, overwrite)
    if not as_json:
        _print(ev, names)
    if (
        max_total_error is not None
        and ev.ground is not None
        and not ev.ground.total * 100 <= max_total_error
    ):
        click.echo(
            f"ground total error {100 * ev.ground.total:.2f} % is above {max_total_error} %",
            err=True,
        )
        raise FindingsExit()


def _codes(text: str, option: str) -> list[int]:
    from ..errors import ParameterError

    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ParameterError(
            f"{option} takes comma-separated integer class codes, got {text!r}"
        ) from None
    if not values:
        raise ParameterError(f"{option} needs at least one class code")
    return values


def _clean(obj):
    """NaN → None for JSON."""
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_clean(v) for v in obj]
    return obj


def _pct(v: float) -> str:
    return "   n/a" if math.isnan(v) else f"{100 * v:6.2f}"


def _print(ev, names: dict[int, str]) -> None:
    labels = [int(v) for v in ev.labels]
    lines = [f"points {ev.n_points:,}" + (f" ({ev.ignored:,} ignored)" if ev.ignored else "")]
    lines.append("confusion matrix (rows: reference, columns: predicted)")
    lines.append("       " + "".join(f"{c:>9}" for c in labels))
    for code, row in zip(labels, ev.matrix, strict=True):
        lines.append(f"{code:>6} " + "".join(f"{int(v):>9}" for v in row))
    lines.append("class   precision %  recall %   IoU %   reference  predicted  name")
    for c in ev.classes:
        lines.append(
            f"{c.code:>5}   {_pct(c.precision):>10}  {_pct(c.recall):>8}  {_pct(c.iou):>6}"
            f"  {c.support:>10,}  {c.predicted:>9,}  {names.get(c.code, '')}"
        )
    lines.append(f"overall accuracy {_pct(ev.overall_accuracy).strip()} %, kappa {ev.kappa:.4f}")
    if ev.ground is not None:
        g = ev.ground
        lines.append(
            f"ground (ISPRS): Type I {_pct(g.type1).strip()} %, Type II {_pct(g.type2).strip()} %, "
            f"Total {_pct(g.total).strip()} %, kappa {g.kappa:.4f}, ground IoU {g.iou:.4f}"
        )
    click.echo("\n".join(lines))
