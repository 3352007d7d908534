"""``pcrs demo``: the main job end to end on a generated scene, with no input needed."""

from __future__ import annotations

from pathlib import Path

import click

from .options import overwrite_option, verbosity_options


@click.command()
@click.argument("directory", required=False, default="pcrs-demo", type=click.Path(file_okay=False))
@click.option(
    "--points",
    type=click.IntRange(min=10_000),
    default=400_000,
    show_default=True,
    help="Size of the generated scene.",
)
@click.option("--seed", type=int, default=2154, show_default=True, help="Random seed of the scene.")
@overwrite_option
@verbosity_options
def demo(directory: str, points: int, seed: int, overwrite: bool) -> None:
    """Generate a LiDAR scene with known truth and run pcrs on it, writing to DIRECTORY.

    The scene is a Lambert-93 square with terrain, an embankment, buildings,
    trees, hedges, cars, a river and a bridge, written as IGN-style LAZ. The
    demo then runs every step of the chain and says what it wrote where.
    """
    from ..demo import run_demo

    run_demo(Path(directory), n_points=points, seed=seed, overwrite=overwrite, echo=click.echo)
