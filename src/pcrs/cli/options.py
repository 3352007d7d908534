"""Options shared by several commands, so that names and meanings never drift."""

from __future__ import annotations

import logging
import os

import click

__all__ = [
    "crs_option",
    "format_options",
    "json_option",
    "overwrite_option",
    "scheduler_option",
    "state",
    "verbosity_options",
    "workers_option",
]


class _State:
    """What the entry point needs to know after click has returned or raised."""

    verbosity: int = 0


state = _State()


def _set_verbosity(ctx: click.Context, param: click.Parameter, value: int) -> int:
    if not value:
        return value
    if param.name == "verbose":
        state.verbosity = max(state.verbosity, 0) + value
    else:
        state.verbosity = -value
    configure_logging(state.verbosity)
    return value


def configure_logging(verbosity: int) -> None:
    """WARNING by default, INFO with -v, DEBUG with -vv, ERROR with -q."""
    from .._progress import set_quiet

    level = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(
        max(-1, min(verbosity, 2)), logging.DEBUG
    )
    root = logging.getLogger("pcrs")
    root.setLevel(level)
    if not any(getattr(h, "_pcrs_cli", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("pcrs: %(levelname)s: %(message)s"))
        handler._pcrs_cli = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    set_quiet(verbosity < 0)


def verbosity_options(f):
    """``-v/--verbose`` (repeatable: tracebacks, then debug logs) and ``-q/--quiet``."""
    f = click.option(
        "-q", "--quiet", count=True, expose_value=False, is_eager=True, callback=_set_verbosity,
        help="Only print errors; no progress bar.",
    )(f)  # fmt: skip
    f = click.option(
        "-v", "--verbose", count=True, expose_value=False, is_eager=True, callback=_set_verbosity,
        help="More detail: -v shows progress logs and tracebacks, -vv debug logs.",
    )(f)  # fmt: skip
    return f


overwrite_option = click.option(
    "--overwrite", is_flag=True, default=False, help="Replace outputs that already exist."
)

json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")

crs_option = click.option(
    "--crs",
    default=None,
    metavar="CRS",
    help="CRS of the input when its header has none or a wrong one (e.g. EPSG:2154, CC46).",
)


def _default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


workers_option = click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="Local worker processes (default: the number of cores, at most 8).",
)

scheduler_option = click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS",
    help="Run on a Dask cluster, e.g. tcp://10.0.0.5:8786 (needs pip install 'pcrs[dask]').",
)


def format_options(f):
    """``--point-format`` and ``--las-version``: the LAS layout of the written points.

    By default the input's point format and version are kept, and widened only
    when the points need it (classes above 31 need format 6-10, LAS 1.4).
    """
    f = click.option(
        "--las-version",
        type=click.Choice(["1.2", "1.3", "1.4"]),
        default=None,
        help="LAS version of the written files (default: the input's, or what the format needs).",
    )(f)
    return click.option(
        "--point-format",
        type=click.IntRange(0, 10),
        default=None,
        help="Point format of the written files, 0-10 (default: the input's, widened to 6-10 "
        "only when classes above 31 are written).",
    )(f)
