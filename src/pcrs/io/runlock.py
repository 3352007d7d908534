"""One run at a time per output folder: an operating-system lock on ``FOLDER/.pcrs.lock``.

Two runs writing into the same folder would skip each other's unfinished
tiles, overwrite each other's outputs and mix their summaries. :func:`run_lock`
makes the second one fail at once, with a message naming the run that holds
the folder::

    with run_lock(out_dir, command="pcrs process"):
        ...  # write into out_dir

The lock is an exclusive, non-blocking lock of the operating system
(``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows) on the file
``.pcrs.lock``. The system drops it when its process ends, however it ends
(``kill -9``, a crash, a power cut): there is no stale lock to remove by hand.
While it is held, the file holds the holder's pid, host, command and start
time (one JSON line), which the refused run reads for its message.

The file is left in the folder after the run, emptied: removing it would race
with a run that opened it just before (that run would lock a file no longer
in the folder while a third run creates and locks a new one).

Nested use in one thread is allowed: a second ``run_lock`` of the same folder
in the thread that holds it does not lock again and releases nothing on exit
(the outermost one releases). Another thread of the same process is refused,
like another process. A process forked while holding the lock does not hold
it (its copy of the file descriptor is closed in the child).

On a file system that cannot lock files (some network or FUSE mounts), the
run goes on unlocked after a logged warning.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import OutputInUseError, PcrsIOError

__all__ = ["LOCK_NAME", "LockHolder", "holds", "read_holder", "run_lock"]

log = logging.getLogger(__name__)

#: name of the lock file inside the output folder
LOCK_NAME = ".pcrs.lock"

#: errors of a lock call meaning "someone else holds it"
_BUSY = {errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES, getattr(errno, "EDEADLOCK", errno.EDEADLK)}
#: errors of a lock call meaning "this file system cannot lock"
_NO_LOCKS = {errno.ENOLCK, errno.EOPNOTSUPP, getattr(errno, "ENOTSUP", errno.EOPNOTSUPP)}
#: Windows: the byte locked, past the holder's line (a locked range cannot be read there)
_WIN_LOCK_OFFSET = 1 << 20
#: how long a refused run waits for a holder that has just locked to write its line
_READ_WAIT_S = 0.5


@dataclass(frozen=True)
class LockHolder:
    """The run that holds an output folder.

    Attributes
    ----------
    pid : int or None
    host : str
    command : str
    started : str
        ISO 8601 local time with its offset, to the second.
    """

    pid: int | None = None
    host: str = ""
    command: str = ""
    started: str = ""

    def describe(self) -> str:
        """``'pcrs process, pid 1234 on host, started 2024-05-01T10:00:00+02:00'``."""
        if self.pid is None:
            return "its details are not written yet"
        parts = [self.command or "a pcrs run", f"pid {self.pid} on {self.host or '?'}"]
        if self.started:
            parts.append(f"started {self.started}")
        return ", ".join(parts)

    def to_json(self) -> str:
        """One JSON line."""
        return json.dumps(
            {"pid": self.pid, "host": self.host, "command": self.command, "started": self.started}
        )

    @classmethod
    def from_text(cls, text: str) -> LockHolder | None:
        """Parse the line written by a holder; None when empty or garbled."""
        try:
            data = json.loads(text)
            pid = int(data["pid"])
        except (ValueError, TypeError, KeyError):
            return None
        if not isinstance(data, dict):
            return None
        return cls(pid, str(data.get("host", "")), str(data.get("command", "")),
                   str(data.get("started", "")))  # fmt: skip


@dataclass
class _Held:
    fd: int | None  # None: the file system cannot lock, the run goes on unlocked
    thread: int
    depth: int


#: locks held by this process: lock file path -> state
_HELD: dict[str, _Held] = {}
_GUARD = threading.Lock()


def _forget_in_child() -> None:  # pragma: no cover - runs in forked children
    """A forked child does not hold its parent's locks: close its copies of the descriptors."""
    global _GUARD
    _GUARD = threading.Lock()
    for held in _HELD.values():
        if held.fd is not None:
            with contextlib.suppress(OSError):
                os.close(held.fd)  # the parent's descriptor keeps the lock
    _HELD.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)


# --- the operating system's lock ---------------------------------------------------------


def _try_lock(fd: int) -> bool:
    """Lock ``fd`` exclusively without waiting: True when locked, False when held elsewhere.

    Raises the ``OSError`` of any other failure.
    """
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError as exc:
            if exc.errno in _BUSY:
                return False
            raise
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in _BUSY:
            return False
        raise
    return True


def _unlock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)  # type: ignore[attr-defined]
        return
    fcntl.flock(fd, fcntl.LOCK_UN)


def _write_line(fd: int, text: str) -> None:
    data = (text + "\n").encode("utf-8")
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def read_holder(folder: str | os.PathLike) -> LockHolder | None:
    """The run that wrote ``folder/.pcrs.lock``, or None when the file is absent or empty.

    Only meaningful while that run holds the lock: a run killed with ``-9``
    leaves its line behind (the next holder overwrites it).
    """
    try:
        with open(Path(folder) / LOCK_NAME, encoding="utf-8", errors="replace") as f:
            text = f.read(4096)
    except OSError:
        return None
    return LockHolder.from_text(text.strip())


def _holder_of_busy(folder: Path) -> LockHolder:
    """The holder's line, waiting a little for a holder that has just locked to write it."""
    deadline = time.monotonic() + _READ_WAIT_S
    while True:
        holder = read_holder(folder)
        if holder is not None or time.monotonic() >= deadline:
            return holder or LockHolder()
        time.sleep(0.02)


# --- errors ------------------------------------------------------------------------------


def _io_error(exc: OSError, folder: Path, path: Path) -> PcrsIOError:
    from .atomic import output_error

    return output_error(exc, path) or PcrsIOError(
        f"{folder}: cannot lock the output folder ({exc.strerror or exc}); "
        "choose a writable output folder"
    )


def _in_use(folder: Path, holder: LockHolder) -> OutputInUseError:
    return OutputInUseError(
        f"{folder}: another pcrs run is writing into this folder ({holder.describe()}); "
        "wait for it to end or choose another output folder"
    )


# --- the context manager -----------------------------------------------------------------


def _now_iso() -> str:
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def _key(folder: Path) -> str:
    return os.path.normcase(str((folder / LOCK_NAME).resolve()))


def _acquire(folder: Path, command: str) -> str:
    """Lock ``folder`` (or count one more nested use); return its key in :data:`_HELD`."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _io_error(exc, folder, folder / LOCK_NAME) from exc
    path = folder / LOCK_NAME
    key = _key(folder)
    me = threading.get_ident()
    with _GUARD:
        held = _HELD.get(key)
        if held is not None:
            if held.thread == me:
                held.depth += 1
                return key
            raise _in_use(folder, read_holder(folder) or LockHolder(os.getpid()))
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise _io_error(exc, folder, path) from exc
        try:
            locked = _try_lock(fd)
        except OSError as exc:
            if exc.errno not in _NO_LOCKS:
                os.close(fd)
                raise _io_error(exc, folder, path) from exc
            log.warning(
                "%s: the file system does not lock files (%s); nothing stops another run "
                "from writing into this folder at the same time",
                folder,
                exc.strerror or exc,
            )
            os.close(fd)
            _HELD[key] = _Held(None, me, 1)
            return key
        if not locked:
            os.close(fd)
            raise _in_use(folder, _holder_of_busy(folder))
        holder = LockHolder(os.getpid(), socket.gethostname(), command, _now_iso())
        try:
            _write_line(fd, holder.to_json())
        except OSError as exc:
            with contextlib.suppress(OSError):
                _unlock(fd)
            os.close(fd)
            raise _io_error(exc, folder, path) from exc
        _HELD[key] = _Held(fd, me, 1)
        return key


def _release(key: str) -> None:
    with _GUARD:
        held = _HELD.get(key)
        if held is None:  # forgotten by a fork handler: nothing to release here
            return
        held.depth -= 1
        if held.depth > 0:
            return
        del _HELD[key]
        if held.fd is None:
            return
        with contextlib.suppress(OSError):  # empty it, so that its line is never stale
            os.ftruncate(held.fd, 0)
        with contextlib.suppress(OSError):
            _unlock(held.fd)
        os.close(held.fd)


@contextlib.contextmanager
def run_lock(folder: str | os.PathLike, command: str = "pcrs process") -> Iterator[Path]:
    """Hold ``folder`` for this run: a second run into it fails at once.

    Creates ``folder`` (and its parents) when needed, then takes an
    exclusive, non-blocking lock of the operating system on
    ``folder/.pcrs.lock`` and writes this run's pid, host, ``command`` and
    start time into it. The lock is released on exit, and by the system when
    the process dies, even by ``kill -9``.

    Parameters
    ----------
    folder : path-like
        The output folder.
    command : str
        What this run is, shown to a run that is refused (e.g. ``"pcrs process"``).

    Yields
    ------
    Path
        ``folder``.

    Raises
    ------
    OutputInUseError
        When another process (or another thread of this one) holds ``folder``;
        the message names its pid, host, command and start time.
    PcrsIOError
        When the folder or the lock file cannot be created or written (a
        read-only folder, no permission, a full disk).

    Notes
    -----
    Nested calls for the same folder in the same thread are allowed and do
    not deadlock: only the outermost releases the lock.

    Examples
    --------
    >>> import tempfile
    >>> out = tempfile.mkdtemp()
    >>> with run_lock(out, command="example"):
    ...     read_holder(out).command
    'example'
    """
    folder = Path(folder)
    key = _acquire(folder, command)
    try:
        yield folder
    finally:
        _release(key)


def holds(folder: str | os.PathLike) -> bool:
    """Whether this process holds the lock of ``folder`` (taken by :func:`run_lock`)."""
    key = _key(Path(folder))
    with _GUARD:
        return key in _HELD
