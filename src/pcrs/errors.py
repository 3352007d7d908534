"""Exceptions and warnings raised by pcrs.

Every error pcrs raises derives from :class:`PcrsError`. Each subclass also
derives from the builtin exception that fits (``OSError``, ``ValueError``,
``ImportError``...), so ``except OSError`` keeps working in user code.

Messages name the file or the value at fault and say how to fix it; the command
line prints them as one line on stderr and exits with code 2.
"""

from __future__ import annotations

__all__ = [
    "CRSError",
    "CorruptFileError",
    "MissingCRSError",
    "MissingExtraError",
    "NoGroundPointsWarning",
    "OutputExistsError",
    "ParameterError",
    "PcrsError",
    "PcrsIOError",
    "PcrsWarning",
    "UnsupportedFormatError",
]


class PcrsError(Exception):
    """Root of every error raised by pcrs."""


class PcrsIOError(PcrsError, OSError):
    """A file cannot be read or written."""


class CorruptFileError(PcrsIOError):
    """A file exists but its content is not what its name promises (truncated, garbled)."""


class UnsupportedFormatError(PcrsIOError):
    """A file is readable but in a format or version pcrs does not handle."""


class OutputExistsError(PcrsError, FileExistsError):
    """An output already exists and ``overwrite`` was not given."""


class ParameterError(PcrsError, ValueError):
    """A parameter value is out of range or of the wrong kind."""


class CRSError(PcrsError, ValueError):
    """A coordinate reference system is unknown, invalid or inconsistent."""


class MissingCRSError(CRSError):
    """An operation needs a CRS and the data has none."""


class MissingExtraError(PcrsError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


class PcrsWarning(UserWarning):
    """Root of the warnings emitted by pcrs."""


class NoGroundPointsWarning(PcrsWarning):
    """A step that needs ground points found none."""


def require_extra(module: str, extra: str, purpose: str):
    """Import an optional dependency or raise :class:`MissingExtraError`.

    Parameters
    ----------
    module : str
        Module to import, e.g. ``"dask.distributed"``.
    extra : str
        Name of the pcrs extra that installs it, e.g. ``"dask"``.
    purpose : str
        What the module is needed for, used in the message.

    Returns
    -------
    module
        The imported module.
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise MissingExtraError(
            f"{purpose} needs the optional package {module.split('.')[0]!r}; "
            f"install it with: pip install 'pcrs[{extra}]'"
        ) from exc


class OutputInUseError(PcrsError, BlockingIOError):
    """Another run is writing into the same output folder (see :mod:`pcrs.io.runlock`)."""


__all__ += ["OutputInUseError"]


class SpawnReimportError(ParameterError):
    """A worker process re-ran its parent's main script, whose call to pcrs is not under
    ``if __name__ == "__main__":`` (see :mod:`pcrs._spawn`)."""


__all__ += ["SpawnReimportError"]


class ProcessError(PcrsError):
    """Some tiles of a run failed; the others are written.

    Attributes
    ----------
    summary : dict
        The run's summary (also in ``summary.json``), failed tiles included.
    failed : list of (str, str)
        ``(tile, error)`` of each failed tile.
    exit_code : int
        1: the command line's code for "the run finished with failed tiles".
    """

    exit_code = 1

    def __init__(self, message: str, summary: dict, failed: list[tuple[str, str]]) -> None:
        super().__init__(message)
        self.summary = summary
        self.failed = failed


__all__ += ["ProcessError"]
