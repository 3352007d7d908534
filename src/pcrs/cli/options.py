"""Options shared by several commands, so that names and meanings never drift."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

__all__ = [
    "LegacyJsonFileCommand",
    "check_json_out",
    "crs_option",
    "emit_json",
    "format_options",
    "html_option",
    "json_options",
    "lang_option",
    "overwrite_option",
    "scheduler_option",
    "state",
    "verbosity_options",
    "workers_option",
    "write_json_text",
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


def json_options(f):
    """``--json`` (the JSON on stdout, nothing else there) and ``--json-out FILE``.

    The one convention of every command with machine output: ``--json`` prints the JSON
    to stdout instead of the text, so ``pcrs COMMAND ... --json | jq`` works (messages go to
    stderr, exit codes are unchanged); ``--json-out FILE`` writes the same JSON to FILE,
    atomically, and the text is still printed. The command receives ``as_json`` and
    ``json_out``; :func:`check_json_out` and :func:`emit_json` do the rest.
    """
    f = click.option(
        "--json-out", "json_out", type=click.Path(dir_okay=False), default=None, metavar="FILE",
        help="Write the JSON to FILE (atomically; an existing FILE needs --overwrite).",
    )(f)  # fmt: skip
    return click.option(
        "--json", "as_json", is_flag=True,
        help="Print JSON to stdout instead of text (nothing else goes to stdout).",
    )(f)  # fmt: skip


def check_json_out(
    json_out: str | None, overwrite: bool = False, inputs: Iterable[str | os.PathLike] = ()
) -> None:
    """Refuse a ``--json-out`` FILE that exists (without ``overwrite``) or is an input.

    Called before the work starts, so a run is not lost on a name that cannot be written.
    """
    if json_out:
        from ..io.atomic import check_output

        check_output(json_out, overwrite, inputs)


def emit_json(
    record: Any, as_json: bool, json_out: str | None, overwrite: bool = False, *, indent: int = 2
) -> None:
    """Print ``record`` as JSON to stdout (``--json``) and/or write it to ``json_out``.

    Parameters
    ----------
    record : Any
        What to serialise (dicts, lists, numbers, strings).
    as_json : bool
        Print it to stdout.
    json_out : str or None
        Write it to this file, atomically (under a temporary name, then renamed).
    overwrite : bool
        Replace ``json_out`` when it exists.
    indent : int
        Indentation of the JSON.
    """
    if not as_json and not json_out:
        return
    text = json.dumps(record, indent=indent, ensure_ascii=False)
    if json_out:
        write_json_text(json_out, text, overwrite)
    if as_json:
        click.echo(text)


def write_json_text(path: str | os.PathLike, text: str, overwrite: bool = False) -> Path:
    """Write ``text`` (and a final newline) to ``path`` atomically."""
    from ..io.atomic import atomic_path

    with atomic_path(path, overwrite) as tmp:
        Path(tmp).write_text(text + "\n", encoding="utf-8")
    return Path(path)


#: suffixes of inputs of ``pcrs validate`` (a word after ``--json`` ending so is an input)
_INPUT_SUFFIXES = (".gml", ".xml")


def _legacy_json_args(args: list[str]) -> tuple[list[str], str | None]:
    """``args`` with the old ``--json FILE`` / ``--json=FILE`` turned into ``--json-out FILE``.

    A word after ``--json`` is the old form's FILE when it is not an option, not a folder
    and not named like an input (``.gml``, ``.xml``); otherwise ``--json`` is the flag.
    Returns the arguments and the FILE when the old form was used.
    """
    out: list[str] = []
    legacy = None
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            out += args[i:]
            break
        if arg.startswith("--json="):
            legacy = arg.split("=", 1)[1]
            out += ["--json-out", legacy]
        elif arg == "--json" and i + 1 < len(args) and _is_output_name(args[i + 1]):
            legacy = args[i + 1]
            out += ["--json-out", legacy]
            i += 1
        else:
            out.append(arg)
        i += 1
    return out, legacy


def _is_output_name(word: str) -> bool:
    if not word or word.startswith("-"):
        return False
    path = Path(word)
    return path.suffix.lower() not in _INPUT_SUFFIXES and not path.is_dir()


class LegacyJsonFileCommand(click.Command):
    """A command whose ``--json`` took a file before it became the flag of every command.

    ``--json FILE`` (and ``--json=FILE``) still work, as ``--json-out FILE``, with a
    deprecation notice on stderr; ``--json`` alone prints the JSON to stdout.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        args, legacy = _legacy_json_args(list(args))
        if legacy is not None and not ctx.resilient_parsing:
            click.echo(
                f"pcrs: warning: '--json {legacy}' is deprecated and will be removed: write "
                f"'--json-out {legacy}' ('--json' alone now prints the JSON to stdout)",
                err=True,
            )
        return super().parse_args(ctx, args)


html_option = click.option(
    "--html", "html_path", type=click.Path(dir_okay=False), help="Write a one-page HTML report."
)

lang_option = click.option(
    "--lang", type=click.Choice(["fr", "en"]), default="en", show_default=True,
    help="Language of the messages.",
)  # fmt: skip

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
