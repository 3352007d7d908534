"""``pcrs train``: learn a classifier from classified tiles, written as a model folder."""

from __future__ import annotations

from pathlib import Path

import click

from .options import check_json_out, emit_json, json_options, overwrite_option, verbosity_options


def _classes(value: str) -> tuple[int, ...]:
    try:
        out = tuple(int(v) for v in value.split(",") if v.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r}: give class codes separated by commas") from None
    if len(set(out)) < 2 or any(not 0 <= c <= 255 for c in out):
        raise click.BadParameter(f"{value!r}: give at least 2 distinct class codes in 0-255")
    return out


@click.command()
@click.argument("references", nargs=-1, required=True, type=click.Path(exists=True))
@click.option(
    "-o", "--output", required=True, type=click.Path(file_okay=False), help="Model folder to write."
)
@click.option(
    "--classes",
    default="2,3,4,5,6,9,17",
    show_default=True,
    help="Class codes to learn, comma-separated; points of other classes are not sampled.",
)
@click.option(
    "--max-points-per-class",
    type=click.IntRange(min=100),
    default=50_000,
    show_default=True,
    help="Training points per class at most, shared evenly among the files holding it.",
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Seed of the sampling and fit."
)
@click.option(
    "--max-iter",
    type=click.IntRange(min=1),
    default=80,
    show_default=True,
    help="Boosting iterations (one tree per class each): fewer is faster, coarser.",
)
@click.option(
    "--threads", type=click.IntRange(min=1), default=2, show_default=True, help="Fitting threads."
)
@json_options
@overwrite_option
@verbosity_options
def train(
    references: tuple[str, ...],
    output: str,
    classes: str,
    max_points_per_class: int,
    seed: int,
    max_iter: int,
    threads: int,
    as_json: bool,
    json_out: str | None,
    overwrite: bool,
) -> None:
    """Learn the classes of REFERENCES (classified LAS/LAZ tiles or folders) into a model.

    Each tile goes through the rule step noise, then the local features of every
    point, with the height above the tile's own ground and water (classes 2 and
    9; above pcrs's ground filter when a tile has none); a sample capped per
    class and shared evenly among the files fits scikit-learn's
    HistGradientBoostingClassifier (pip install 'pcrs[ml]').
    The model folder holds model.json and trees.npz (no pickle); apply it with
    'pcrs classify --classifier learned --model OUTPUT'.

    \b
    Examples:
      pcrs train my_tiles/ -o my_model
      pcrs train a.laz b.laz -o my_model --classes 2,5,6 --max-points-per-class 20000
      pcrs classify new.laz -o out.laz --classifier learned --model my_model
    """
    from ..classify.learned_train import train as run_train
    from ..errors import OutputExistsError, ParameterError

    wanted = _classes(classes)
    out = Path(output)
    if (out / "model.json").exists() and not overwrite:
        raise OutputExistsError(f"{out}: a model is already there; pass --overwrite to replace it")
    check_json_out(json_out, overwrite, references)
    paths: list[Path] = []
    for ref in references:
        p = Path(ref)
        if p.is_dir():
            paths.extend(sorted(q for q in p.iterdir() if q.suffix.lower() in (".las", ".laz")))
        else:
            paths.append(p)
    if not paths:
        raise ParameterError(f"no LAS/LAZ file found in {list(references)!r}")
    model = run_train(
        paths,
        out,
        classes=wanted,
        max_points_per_class=max_points_per_class,
        seed=seed,
        threads=threads,
        max_iter=max_iter,
    )
    record = {
        "model": str(out),
        "files": len(paths),
        "classes": [int(c) for c in model.classes],
        "trees": model.n_trees,
        "rows_per_class": model.meta.get("training_rows_per_class", {}),
    }
    emit_json(record, as_json, json_out, overwrite)
    if not as_json:
        rows = ", ".join(f"{k}: {v:,}" for k, v in record["rows_per_class"].items())
        click.echo(
            f"{out}: {model.n_trees} trees from {len(paths)} file(s) (rows per class {rows})"
        )
