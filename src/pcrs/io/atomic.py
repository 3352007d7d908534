"""Atomic outputs: write under a temporary name in the target folder, then rename.

A run that fails or is killed leaves no half-written file under the final
name; the temporary file is removed on failure. Existing outputs are refused
unless ``overwrite`` is true.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..errors import OutputExistsError, ParameterError, PcrsIOError

__all__ = ["atomic_path", "check_output", "same_file"]

_UMASK = os.umask(0)
os.umask(_UMASK)


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether two paths name the same existing file."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_output(
    path: str | os.PathLike,
    overwrite: bool = False,
    inputs: Iterable[str | os.PathLike] = (),
) -> Path:
    """Check that ``path`` may be written, and return it as a :class:`Path`.

    Raises
    ------
    OutputExistsError
        When ``path`` exists and ``overwrite`` is false.
    ParameterError
        When ``path`` is one of the inputs (inputs are never modified).
    """
    path = Path(path)
    for src in inputs:
        if same_file(src, path):
            raise ParameterError(
                f"{path}: the output is also an input, and pcrs never modifies its inputs; "
                "choose another output name"
            )
    if path.exists() and not overwrite:
        raise OutputExistsError(
            f"{path}: already exists; pass --overwrite (overwrite=True) to replace it"
        )
    return path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` on success.

    Parameters
    ----------
    path : path-like
        The final output.
    overwrite : bool
        Replace ``path`` when it exists.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_path(d / "out.txt") as tmp:
    ...     _ = tmp.write_text("done")
    >>> (d / "out.txt").read_text()
    'done'
    """
    path = check_output(path, overwrite)
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise PcrsIOError(f"{folder}: cannot create the output folder ({exc.strerror})") from exc
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        if path.exists() and not overwrite:
            raise OutputExistsError(
                f"{path}: appeared while it was being written; pass --overwrite to replace it"
            )
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
