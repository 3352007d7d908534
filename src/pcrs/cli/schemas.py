"""``pcrs schemas``: manage the local copy of the official PCRS / GML schemas."""

from __future__ import annotations

import click

from .options import verbosity_options


@click.group()
def schemas() -> None:
    """The official PCRS v2.0 and GML 3.2.1 schemas, for offline schema validation."""


@schemas.command()
@click.option(
    "--from", "source", type=click.Path(file_okay=False, exists=True), default=None,
    help="Copy from this folder (holding catalog.xml) instead of downloading.",
)  # fmt: skip
@verbosity_options
def install(source: str | None) -> None:
    """Put the schemas in the user cache (downloaded once, or copied with --from).

    \b
    Examples:
      pcrs schemas install
      pcrs schemas install --from ../shared/data/pcrs/schemas
    """
    from ..vector.schemas import install as do_install

    dest = do_install(source)
    click.echo(f"schemas installed in {dest}")


@schemas.command()
@verbosity_options
def path() -> None:
    """Print the folder the schemas are installed in (exit 1 when none is)."""
    from ..vector.schemas import cache_dir, find_schemas

    found = find_schemas()
    click.echo(str(found or cache_dir()))
    if found is None:
        raise click.exceptions.Exit(1)
