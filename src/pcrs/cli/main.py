"""Entry point of the ``pcrs`` command line.

Commands live in their own modules and are imported only when used, so that
``pcrs --help`` and ``pcrs info`` stay fast. :data:`COMMANDS` is the registry;
a command whose module is not there yet is simply not listed.

Exit codes: 0 success; 1 a validation or evaluation found errors; 2 bad usage
or unusable input (one line on stderr, no traceback unless ``-v``); 3 an
internal error (a bug: please report it with the ``-v`` traceback); 130
interrupted.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys

import click

from .._version import __version__
from ..errors import PcrsError
from .options import state, verbosity_options

__all__ = ["COMMANDS", "EXIT_FINDINGS", "EXIT_INTERNAL", "EXIT_USAGE", "cli", "main"]

EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3

#: command name -> "module:attribute" of its click command
COMMANDS: dict[str, str] = {
    "info": "pcrs.cli.info:info",
    "catalog": "pcrs.cli.catalog:catalog",
    "tile": "pcrs.cli.tile:tile",
    "classify": "pcrs.cli.classify:classify",
    "rasterize": "pcrs.cli.rasterize:rasterize",
    "process": "pcrs.cli.process:process",
    "evaluate": "pcrs.cli.evaluate:evaluate",
    "validate": "pcrs.cli.validate:validate",
    "schemas": "pcrs.cli.schemas:schemas",
    "demo": "pcrs.cli.demo:demo",
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, target in COMMANDS.items() if _available(target)]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None or not _available(target):
            return None
        module, attr = target.split(":")
        return getattr(importlib.import_module(module), attr)


def _available(target: str) -> bool:
    return importlib.util.find_spec(target.split(":")[0]) is not None


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="pcrs")
@verbosity_options
def cli() -> None:
    """pcrs: LiDAR processing and PCRS v2.0 validation for street-map projects.

    Run 'pcrs demo' to see the whole chain on a generated scene, or
    'pcrs COMMAND --help' for one command.
    """


class FindingsExit(Exception):
    """Raised by a command that ran fine but found errors in its input (exit code 1)."""


def main(argv: list[str] | None = None) -> None:
    """Run the command line and exit with the documented codes."""
    state.verbosity = 0
    from .options import configure_logging

    configure_logging(0)
    try:
        code = cli.main(args=argv, prog_name="pcrs", standalone_mode=False)
        # without standalone mode, click returns the code of ctx.exit() / Exit(code)
        if isinstance(code, int) and code != 0:
            sys.exit(code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("pcrs: interrupted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE)
    except FindingsExit:
        sys.exit(EXIT_FINDINGS)
    except PcrsError as exc:
        if state.verbosity > 0:
            import traceback

            traceback.print_exc()
        click.echo(f"pcrs: error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt:
        click.echo("pcrs: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug in pcrs: say so in one line, traceback with -v
        if state.verbosity > 0:
            import traceback

            traceback.print_exc()
        click.echo(
            f"pcrs: internal error: {type(exc).__name__}: {exc} "
            "(this is a bug; run again with -v and report the traceback)",
            err=True,
        )
        sys.exit(EXIT_INTERNAL)
    sys.exit(0)


if __name__ == "__main__":  # pragma: no cover
    main()
