"""Entry point of the ``pcrs`` command line.

Commands live in their own modules and are imported only when used, so that
``pcrs --help`` and ``pcrs info`` stay fast. :data:`COMMANDS` is the registry;
a command whose module is not there yet is simply not listed.

Exit codes: 0 success; 1 a validation or evaluation found errors, or a tile
run (``pcrs process``) finished with failed tiles (the others are written); 2 bad usage
or unusable input (one line on stderr, no traceback unless ``-v``), including
a fault of the environment (a full disk, a read-only output folder) and a file
whose compressed points crash the decoder; 3 an internal error (a bug: please
report it with the ``-v`` traceback); 130 interrupted. A failed or interrupted
command leaves no temporary file of an output behind.
"""

from __future__ import annotations

import errno
import importlib
import importlib.util
import os
import sys
from pathlib import Path
from typing import Any

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
    "train": "pcrs.cli.train:train",
    "rasterize": "pcrs.cli.rasterize:rasterize",
    "process": "pcrs.cli.process:process",
    "evaluate": "pcrs.cli.evaluate:evaluate",
    "validate": "pcrs.cli.validate:validate",
    "check-lidar": "pcrs.cli.check_lidar:check_lidar",
    "schemas": "pcrs.cli.schemas:schemas",
    "demo": "pcrs.cli.demo:demo",
}


class _LazyGroup(click.Group):
    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        # Every invocation starts at the default verbosity: the ``-q``/``-v`` of a previous
        # call in the same process (tests, notebooks calling ``cli.main``) must not leak.
        if parent is None:
            from .._progress import set_quiet

            state.verbosity = 0
            set_quiet(False)
        return super().make_context(info_name, args, parent=parent, **extra)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, target in COMMANDS.items() if _available(target)]

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as exc:  # past click, which would print an empty line first
            raise _Interrupted() from exc

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


class _Interrupted(BaseException):
    """Ctrl-C, carried past click to :func:`main`."""


class FindingsExit(Exception):
    """Raised by a command that ran fine but found errors in its input (exit code 1)."""


def main(argv: list[str] | None = None) -> None:
    """Run the command line and exit with the documented codes."""
    state.verbosity = 0
    from .options import configure_logging

    configure_logging(0)
    try:
        code = _run(argv)
    finally:
        _discard_pending()
    sys.exit(code)


def _run(argv: list[str] | None) -> int:
    """Run the command; return the exit code after printing the one-line error, if any."""
    try:
        code = cli.main(args=argv, prog_name="pcrs", standalone_mode=False)
        # without standalone mode, click returns the code of ctx.exit() / Exit(code)
        if isinstance(code, int) and code != 0:
            return code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("pcrs: interrupted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return EXIT_USAGE
    except FindingsExit:
        return EXIT_FINDINGS
    except PcrsError as exc:
        _traceback()
        click.echo(f"pcrs: error: {exc}", err=True)
        return int(getattr(exc, "exit_code", EXIT_USAGE))
    except (KeyboardInterrupt, _Interrupted):
        click.echo("pcrs: interrupted", err=True)
        return 130
    except (SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # a bug in pcrs, unless the environment is at fault or a
        # Rust library crashed on a file (pyo3's PanicException is not an Exception)
        _traceback()
        line = _environment_error(exc) if isinstance(exc, Exception) else _decoder_crash(exc)
        if line is not None:
            click.echo(f"pcrs: error: {line}", err=True)
            return EXIT_USAGE
        click.echo(_internal(exc), err=True)
        return EXIT_INTERNAL
    return 0


def _traceback() -> None:
    if state.verbosity > 0:
        import traceback

        traceback.print_exc()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:200]


def _internal(exc: BaseException) -> str:
    return (
        f"pcrs: internal error: {type(exc).__name__}: {_first_line(exc)} "
        "(this is a bug; run again with -v and report the traceback)"
    )


def _discard_pending() -> None:
    """Remove the temporary files of the outputs left unfinished by a failed command."""
    atomic = sys.modules.get("pcrs.io.atomic")
    if atomic is not None:
        atomic.discard_pending()


def _environment_error(exc: BaseException) -> str | None:
    """One line for an error caused by a full disk, a read-only folder..., else None.

    Writers go through :mod:`pcrs.io.atomic`, which already raises a
    :class:`~pcrs.errors.PcrsIOError`; this catches what escaped it (a folder
    created outside of it, a writer that failed while closing its file).
    """
    if "pcrs.io.atomic" not in sys.modules and not isinstance(exc, OSError):
        return None
    from ..io import atomic  # already imported unless the error is an OSError

    paths = []
    if isinstance(exc, OSError) and exc.filename:
        paths.append(Path(os.fsdecode(exc.filename)))
    paths += atomic.pending()
    for path in paths:
        err = atomic.output_error(exc, path)
        if err is not None:
            return str(err)
    if isinstance(exc, OSError) and exc.errno in _WRITE_ERRNOS:
        return (
            f"cannot write an output ({exc.strerror or exc}); "
            "free space or choose a writable output folder"
        )
    return None


#: errors that only writing can raise
_WRITE_ERRNOS = {errno.ENOSPC, errno.EROFS, getattr(errno, "EDQUOT", errno.ENOSPC)}
_READ_FUNCS = ("read", "chunk", "window", "info", "histogram", "open", "decompress")


def _decoder_crash(exc: BaseException) -> str | None:
    """One line for a crash of a Rust/C decoder while reading a file, else None."""
    tb = exc.__traceback__
    reading = writing = False
    path = None
    while tb is not None:
        frame = tb.tb_frame
        module = str(frame.f_globals.get("__name__", ""))
        func = frame.f_code.co_name.lower()
        if module == "pcrs.io.las" or module.startswith("laspy"):
            if "write" in module or "write" in func or "compress" in func.replace("decompress", ""):
                writing = True
            elif "read" in module or "copc" in module or any(w in func for w in _READ_FUNCS):
                reading = True
                for name in ("path", "source", "src", "filename"):
                    value = frame.f_locals.get(name)
                    if isinstance(value, (str, os.PathLike)):
                        path = value
                        break
        tb = tb.tb_next
    if not reading or writing:
        return None
    what = f"{path}: the point records" if path is not None else "a LAS/LAZ file"
    return (
        f"{what} could not be decoded (the decoder crashed: {_first_line(exc)}); "
        "the file is probably corrupt or truncated: get a new copy from its producer"
    )


if __name__ == "__main__":  # pragma: no cover
    main()
