"""Atomic outputs: write under a temporary name in the target folder, then rename.

A run that fails or is killed leaves no half-written file under the final
name. The temporary file is removed on every failure, including an error
raised while a writer closes it; an error caused by the environment (a full
disk, a read-only folder, no permission) becomes a
:class:`~pcrs.errors.PcrsIOError` that names the output and says how to fix
it. Existing outputs are refused unless ``overwrite`` is true.

The temporary name is ``.{name}.{host}-{pid}.{random}.part``: a process that
was killed before it could clean up leaves such a file, and the next process
that writes into the folder on the same host removes it once its owner is
gone (:func:`sweep_stale`). A process that must stop at once (a worker whose
parent died) calls :func:`discard_pending` to remove the temporary files of
the outputs it is still writing.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import socket
import tempfile
import threading
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from ..errors import OutputExistsError, ParameterError, PcrsError, PcrsIOError

__all__ = [
    "ENVIRONMENT_FAULT",
    "abandon",
    "atomic_path",
    "check_output",
    "discard_pending",
    "output_error",
    "pending",
    "same_file",
    "sweep_stale",
]

_UMASK = os.umask(0)
os.umask(_UMASK)

#: temporary files of this process not yet renamed nor removed -> their final paths
_PENDING: dict[Path, Path] = {}
#: re-entrant: a signal handler may discard while the main thread renames
_LOCK = threading.RLock()
#: set by discard_pending(stop=True): this process is exiting and renames nothing more
_STOPPED = False
#: (pid, folder) pairs already swept by this process
_SWEPT: set[tuple[int, str]] = set()

_HOST = format(zlib.crc32(socket.gethostname().encode("utf-8", "replace")) & 0xFFFFFF, "06x")
_TEMP_NAME = re.compile(r"^\..+\.([0-9a-f]{6})-(\d+)\.[^.]+\.part$")

#: in the message of every error made by output_error (so that a summary can tell them)
ENVIRONMENT_FAULT = ": cannot be written: "
#: below this many free bytes after a failed write, the device is taken to be full
_FULL_BYTES = 1 << 20
_NO_SPACE = {errno.ENOSPC}
_QUOTA = {getattr(errno, "EDQUOT", errno.ENOSPC)} - {errno.ENOSPC}
_DENIED = {errno.EACCES, errno.EPERM}
#: words of an error message that may hide a failed write (a Rust or C writer that lost the
#: OSError, e.g. "LazrsError: IoError: Failed to call write", "TIFFWrite...: IO error")
_IO_WORDS = re.compile(r"i/?o|ioerror|write|writing|seek|flush|space|disk|device", re.I)


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


# --- what went wrong ------------------------------------------------------------------


def _existing_folder(folder: Path) -> Path:
    """``folder`` or its nearest existing ancestor (to ask its file system)."""
    for p in (folder, *folder.parents):
        if p.is_dir():
            return p
    return folder


def _diagnose(folder: Path) -> str | None:
    """``"read-only"`` or ``"full"`` when the file system of ``folder`` is so, else None."""
    statvfs = getattr(os, "statvfs", None)
    if statvfs is None:
        return None
    try:
        st = statvfs(_existing_folder(folder))
    except OSError:
        return None
    if st.f_flag & getattr(os, "ST_RDONLY", 1):
        return "read-only"
    root = getattr(os, "geteuid", lambda: -1)() == 0  # root may use the reserved blocks
    free = (st.f_bfree if root else st.f_bavail) * st.f_frsize
    if free < _FULL_BYTES:
        return "full"
    return None


def output_error(exc: BaseException, path: str | os.PathLike) -> PcrsIOError | None:
    """The :class:`~pcrs.errors.PcrsIOError` to raise for ``exc``, met while writing ``path``.

    An ``OSError`` with a full-disk, quota, read-only or permission ``errno``
    is translated. Another error that may hide a failed write (an ``OSError``
    of another kind, or a writer's error whose message speaks of writing,
    seeking or I/O, such as lazrs' ``"IoError: Failed to call write"``) is
    translated when the file system of the output folder is read-only or has
    (almost) no free space left: ask before removing the temporary file,
    which holds some of that space. Returns None for any other error (a
    :class:`~pcrs.errors.PcrsError` is already explicit).

    Examples
    --------
    >>> import errno
    >>> str(output_error(OSError(errno.EROFS, "Read-only file system"), "out/a.laz"))
    'out/a.laz: cannot be written: out is read-only; choose a writable output folder'
    """
    if isinstance(exc, (PcrsError, KeyboardInterrupt, SystemExit, GeneratorExit)):
        return None
    path = Path(path)
    folder = path.parent
    code = exc.errno if isinstance(exc, OSError) else None
    if code in _NO_SPACE:
        kind: str | None = "full"
    elif code in _QUOTA:
        kind = "quota"
    elif code == errno.EROFS:
        kind = "read-only"
    elif code in _DENIED:
        kind = "denied"
    elif isinstance(exc, OSError) or _IO_WORDS.search(f"{type(exc).__name__} {exc}"):
        kind = _diagnose(folder)
    else:
        kind = None
    if kind is None:
        return None
    fix = {
        "full": f"no space left on the device holding {folder}; "
        "free space or choose another output folder",
        "quota": f"the disk quota is exceeded on the device holding {folder}; "
        "free space or choose another output folder",
        "read-only": f"{folder} is read-only; choose a writable output folder",
        "denied": f"no permission to write in {folder}; choose a writable output folder",
    }[kind]
    return PcrsIOError(f"{path}{ENVIRONMENT_FAULT}{fix}")


# --- temporary files of this process --------------------------------------------------


def pending() -> list[Path]:
    """The final paths of the outputs this process is writing (not yet renamed)."""
    with _LOCK:
        return list(_PENDING.values())


def discard_pending(*, stop: bool = False) -> list[Path]:
    """Remove the temporary files of the outputs this process is still writing.

    Parameters
    ----------
    stop : bool
        The process is about to exit: refuse every later rename, so that no
        output appears after this call.

    Returns
    -------
    list of Path
        The final paths whose temporary files were removed.
    """
    global _STOPPED
    with _LOCK:
        if stop:
            _STOPPED = True
        items = list(_PENDING.items())
        _PENDING.clear()
    for tmp, _ in items:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return [final for _, final in items]


def abandon(path: str | os.PathLike, exc: BaseException) -> BaseException:
    """Give up the output ``path`` after ``exc``: remove its temporary file, if this
    process is writing it, and return the error to raise (translated by
    :func:`output_error` when the environment is at fault, else ``exc``).

    For a writer whose close failed before it could end its :func:`atomic_path` block.
    """
    translated = output_error(exc, path)  # before freeing the space of the temporary file
    final = Path(path)
    with _LOCK:
        tmps = [t for t, p in _PENDING.items() if p == final]
        for t in tmps:
            del _PENDING[t]
    for t in tmps:
        with contextlib.suppress(OSError):
            t.unlink()
    if translated is not None:
        translated.__cause__ = exc
        return translated
    return exc


def _pid_alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill(pid, 0) would terminate the process there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def sweep_stale(folder: str | os.PathLike[str]) -> list[Path]:
    """Remove the temporary files that dead processes of this host left in ``folder``.

    Only files named by :func:`atomic_path` (``.{name}.{host}-{pid}.{random}.part``)
    whose host is this one and whose process no longer exists are removed.
    Returns them.
    """
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        m = _TEMP_NAME.match(entry.name)
        if m is None or m.group(1) != _HOST:
            continue
        pid = int(m.group(2))
        if pid == os.getpid() or _pid_alive(pid):
            continue
        try:
            os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed


def _sweep_once(folder: Path) -> None:
    key = (os.getpid(), str(folder))
    if key in _SWEPT:
        return
    _SWEPT.add(key)
    sweep_stale(folder)


# --- the context manager --------------------------------------------------------------


class _AtomicOutput:
    """Context manager behind :func:`atomic_path` (``__exit__`` may be called twice)."""

    def __init__(self, path: str | os.PathLike, overwrite: bool) -> None:
        self.tmp: Path | None = None
        self._closed = False
        self.path = check_output(path, overwrite)
        self.overwrite = overwrite

    def __enter__(self) -> Path:
        folder = self.path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise output_error(exc, self.path) or PcrsIOError(
                f"{folder}: cannot create the output folder ({exc.strerror or exc})"
            ) from exc
        _sweep_once(folder)
        try:
            fd, name = tempfile.mkstemp(
                prefix=f".{self.path.name}.{_HOST}-{os.getpid()}.", suffix=".part", dir=folder
            )
            os.close(fd)
        except OSError as exc:
            raise output_error(exc, self.path) or PcrsIOError(
                f"{self.path}: cannot be written ({exc.strerror or exc})"
            ) from exc
        self.tmp = Path(name)
        with _LOCK:
            _PENDING[self.tmp] = self.path
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> Literal[False]:
        if self._closed or self.tmp is None:
            return False
        self._closed = True
        if exc is None:
            try:
                self._commit()
            except BaseException as err:
                self._fail(err)
                raise
            return False
        self._fail(exc)
        return False

    def _commit(self) -> None:
        assert self.tmp is not None
        with _LOCK:
            if _STOPPED:
                raise PcrsIOError(f"{self.path}: not written, the process is stopping")
            if self.path.exists() and not self.overwrite:
                raise OutputExistsError(
                    f"{self.path}: appeared while it was being written; "
                    "pass --overwrite to replace it"
                )
            os.chmod(self.tmp, 0o666 & ~_UMASK)
            os.replace(self.tmp, self.path)
            _PENDING.pop(self.tmp, None)

    def _fail(self, exc: BaseException) -> None:
        """Remove the temporary file; raise the translated error when the environment is at fault."""
        # ask the file system before removing the temporary file, which holds some of its space
        translated = output_error(exc, self.path)
        self._discard()
        if translated is not None:
            raise translated from exc

    def _discard(self) -> None:
        if self.tmp is None:
            return
        with _LOCK:
            _PENDING.pop(self.tmp, None)
        with contextlib.suppress(OSError):  # already gone, or the file system went read-only
            self.tmp.unlink()

    def __del__(self) -> None:  # never exited (a writer that failed while closing): clean up
        if not self._closed and self.tmp is not None:
            try:
                self._closed = True
                self._discard()
            except Exception:
                pass


def atomic_path(path: str | os.PathLike, overwrite: bool = False) -> _AtomicOutput:
    """Context manager: yield a temporary path beside ``path``; rename it to ``path`` on success.

    On an error in the ``with`` block (or while renaming) the temporary file
    is removed; an error caused by a full disk, a read-only folder or a
    missing permission is raised as a :class:`~pcrs.errors.PcrsIOError`
    naming ``path`` (see :func:`output_error`), any other error as it was.

    Parameters
    ----------
    path : path-like
        The final output.
    overwrite : bool
        Replace ``path`` when it exists.

    Raises
    ------
    OutputExistsError
        When ``path`` exists and ``overwrite`` is false.
    PcrsIOError
        When the folder cannot be created or written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_path(d / "out.txt") as tmp:
    ...     _ = tmp.write_text("done")
    >>> (d / "out.txt").read_text()
    'done'
    """
    return _AtomicOutput(path, overwrite)
