"""Guard against a script that re-runs itself in every worker process.

With the ``spawn`` and ``forkserver`` start methods (pcrs's tile engine uses
``spawn``), :mod:`multiprocessing` starts each worker as a fresh interpreter
that imports the parent's main script again, under the name ``__mp_main__``,
before it takes any task. A script whose top level calls :func:`pcrs.process`
without an ``if __name__ == "__main__":`` guard therefore calls it once more in
each worker while that worker is still starting: the nested run fails (output
in use, nested pool refused), the worker dies, the pool breaks and every tile
of the real run fails with ``BrokenProcessPool``.

:func:`refuse_in_bootstrap`, called first by the entry points that start
worker processes, turns that into one clear error in the worker, naming the
script and the line to guard. :func:`explain_broken_pool` gives the parent a
message for the broken pool that follows.

How the worker's start-up is recognised (checked on CPython 3.10 to 3.13, with
``spawn`` and ``forkserver``):

* a frame of the call stack runs the top level (code ``<module>``) of a module
  named ``__mp_main__``: that is :func:`multiprocessing.spawn.prepare` (spawn
  workers) or the forkserver's preloading re-running the main script or module
  through :mod:`runpy`; a module keeps the name ``__mp_main__`` only there;
* or ``multiprocessing.process.current_process()._inheriting`` is true:
  :mod:`multiprocessing` sets it for the whole start-up of a spawn worker
  (re-import of the main script, then unpickling of the process object) and for
  the forkserver's preloading of the main script, and removes it before the
  worker runs anything. The standard library's own check
  (``multiprocessing.spawn._check_not_importing_main``) reads the same flag.

Neither holds in a main process, under pytest, in the ``fork`` start method
(nothing is re-imported), or in a worker running a task (a pcrs tile worker,
a :class:`concurrent.futures.ProcessPoolExecutor` worker, a Dask worker): their
start-up is over when a task runs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from types import FrameType

from .errors import SpawnReimportError

__all__ = ["bootstrap_caller", "explain_broken_pool", "in_bootstrap", "refuse_in_bootstrap"]

#: name under which multiprocessing re-runs the parent's main script in a worker
MP_MAIN = "__mp_main__"

#: ``Process.exitcode`` of a worker killed by SIGKILL (the out-of-memory killer's signal)
_KILLED = -9
#: exit codes of workers stopped by the pool or the engine once the pool broke (SIGTERM,
#: and the engine's worker handler exiting with 128 + SIGTERM): no clue to the cause
_STOPPED = {-15, 143}


def in_bootstrap() -> bool:
    """Whether this process is a multiprocessing worker still starting up.

    Returns
    -------
    bool
        True while a ``spawn`` or ``forkserver`` worker re-imports its parent's
        main module (or unpickles its process object); False in a main process
        and in a worker that runs a task.
    """
    return _mp_main_frame(sys._getframe(1)) is not None or _inheriting()


def bootstrap_caller() -> tuple[str, int] | None:
    """The place in the parent's main script whose re-run is calling pcrs.

    Returns
    -------
    tuple of (str, int) or None
        File name and line number of the outermost top-level statement of
        ``__mp_main__`` on the call stack, or None when no such frame exists.
    """
    frame = _mp_main_frame(sys._getframe(1))
    if frame is None:
        return None
    return frame.f_code.co_filename, frame.f_lineno


def refuse_in_bootstrap(what: str) -> None:
    """Raise if a worker process is re-running its parent's unguarded main script.

    Call it first in the public functions that start worker processes.

    Parameters
    ----------
    what : str
        Public name of the calling function without the ``pcrs.`` prefix,
        e.g. ``"process"``; used in the message.

    Raises
    ------
    SpawnReimportError
        In a ``spawn``/``forkserver`` worker still importing its parent's main
        module. The message names the script and line, and shows the guard.
    """
    frame = _mp_main_frame(sys._getframe(1))
    if frame is None and not _inheriting():
        return
    call = f"pcrs.{what}(...)"
    if frame is None:  # a module imported while the worker unpickles its task runs pcrs
        raise SpawnReimportError(
            f"pcrs.{what} was called while a worker process was starting (pid {os.getpid()}): "
            "a module imported by the worker calls it at import time. Call it only from "
            "code that runs when the script is started, under the guard:\n\n"
            f'    if __name__ == "__main__":\n        {call}\n'
        )
    path, line = frame.f_code.co_filename, frame.f_lineno
    call = _statement(path, line) or call  # the top-level statement to guard
    raise SpawnReimportError(
        f"the script {path} that calls pcrs.{what} runs again in each worker process "
        f"(here pid {os.getpid()}) because its top level is not guarded (line {line}); "
        "worker processes start by importing the main script. Put the call under "
        '`if __name__ == "__main__":`\n\n'
        f'    if __name__ == "__main__":\n        {call}\n'
    )


def explain_broken_pool(
    exc: BaseException,
    *,
    what: str = "process",
    exitcodes: Iterable[int | None] = (),
) -> str:
    """Explain a :class:`~concurrent.futures.process.BrokenProcessPool` to the user.

    Parameters
    ----------
    exc : BaseException
        The exception a future of the broken pool raised.
    what : str
        Public name of the pcrs function whose pool broke, without ``pcrs.``.
    exitcodes : iterable of int or None
        Exit codes of the pool's worker processes if the caller kept them
        (``Process.exitcode``: negative for a signal, None if still running);
        they tell which cause is likely.

    Returns
    -------
    str
        One paragraph: what happened and the two usual causes with their fixes,
        the likely one first.
    """
    failed = [c for c in exitcodes if c and c not in _STOPPED]  # None: running; 0: ended
    detail = str(exc).strip() or type(exc).__name__
    head = (
        f"a worker process of pcrs.{what} ended abruptly, so its remaining tiles could "
        f"not run ({type(exc).__name__}: {detail})"
    )
    guard = (
        'the script calling pcrs has no `if __name__ == "__main__":` guard: each worker '
        "re-runs the script's top level while it starts and stops on a SpawnReimportError "
        "(printed above by the workers); put the call under the guard"
    )
    oom = (
        "the system killed a worker for lack of memory (out-of-memory killer; see "
        "`dmesg` or `journalctl -k`): use fewer workers or smaller tiles"
    )
    if _KILLED in failed:
        causes = f"a worker was killed (SIGKILL): most likely {oom}; otherwise {guard}"
    elif failed and all(c == 1 for c in failed):  # an uncaught exception while starting
        causes = f"most likely {guard}; otherwise {oom}"
    else:
        causes = f"the two usual causes: {guard}; or {oom}"
    return f"{head}. {causes[0].upper()}{causes[1:]}."


def _inheriting() -> bool:
    """``current_process()._inheriting``: set by multiprocessing during a worker's start-up."""
    mp = sys.modules.get("multiprocessing.process")
    if mp is None:  # multiprocessing never imported: no worker start-up in progress
        return False
    try:
        return bool(getattr(mp.current_process(), "_inheriting", False))
    except Exception:  # a future version without it
        return False


def _mp_main_frame(frame: FrameType | None) -> FrameType | None:
    """The outermost frame running the top level of ``__mp_main__``, if any."""
    found = None
    while frame is not None:
        if frame.f_code.co_name == "<module>" and frame.f_globals.get("__name__") == MP_MAIN:
            found = frame
        frame = frame.f_back
    return found


def _statement(path: str, line: int) -> str | None:
    """The source statement at ``path:line`` if it fits on that line, else None."""
    import ast
    import linecache

    text = linecache.getline(path, line).strip()
    if not text:
        return None
    try:
        ast.parse(text)
    except SyntaxError:  # a call spread over several lines
        return None
    return text
