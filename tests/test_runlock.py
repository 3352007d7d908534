"""One run at a time per output folder (:mod:`pcrs.io.runlock`, issue #14)."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import pytest

from pcrs.errors import OutputInUseError, PcrsError, PcrsIOError
from pcrs.io import runlock
from pcrs.io.runlock import LOCK_NAME, holds, read_holder, run_lock

_HOLDER = textwrap.dedent(
    """
    import sys, time
    from pcrs.io.runlock import run_lock

    with run_lock(sys.argv[1], command="holder run"):
        print("locked", flush=True)
        time.sleep(float(sys.argv[2]))
    """
)


def _start_holder(folder: Path, seconds: float = 60.0) -> subprocess.Popen:
    """A real other process holding ``folder``; returns once it holds the lock."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(folder), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # blocks until the lock is taken (or the process died)
    assert line.strip() == "locked", f"the holder did not start (exit {proc.poll()})"
    return proc


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(10)


def test_lock_creates_the_folder_writes_the_holder_and_empties_on_exit(tmp_path):
    out = tmp_path / "a" / "b"
    with run_lock(out, command="pcrs test") as folder:
        assert folder == out and out.is_dir()
        holder = read_holder(out)
        assert holder is not None
        assert holder.pid == os.getpid()
        assert holder.command == "pcrs test"
        assert holder.host
        assert holder.started[:4].isdigit() and "T" in holder.started
        assert holds(out)
    assert not holds(out)
    # the file stays (removing it would race with a new holder) but says nothing stale
    assert (out / LOCK_NAME).exists()
    assert read_holder(out) is None


def test_second_process_is_refused_at_once_with_the_holder_named(tmp_path):
    proc = _start_holder(tmp_path)
    try:
        t0 = time.monotonic()
        with pytest.raises(OutputInUseError) as err, run_lock(tmp_path):
            pass
        assert time.monotonic() - t0 < 2.0  # no waiting for the other run
        msg = str(err.value)
        assert "\n" not in msg
        assert str(tmp_path) in msg
        assert f"pid {proc.pid}" in msg
        assert "holder run" in msg
        assert "started 20" in msg
        assert "wait for it to end or choose another output folder" in msg
        assert isinstance(err.value, PcrsError)
    finally:
        _stop(proc)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="no kill -9 on this system")
def test_lock_is_free_again_after_kill_9_of_the_holder(tmp_path):
    proc = _start_holder(tmp_path)
    with pytest.raises(OutputInUseError), run_lock(tmp_path):
        pass
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    # no stale lock: the system dropped it with the process; its line is overwritten
    with run_lock(tmp_path, command="after the kill"):
        holder = read_holder(tmp_path)
        assert holder is not None and holder.pid == os.getpid()


def test_nested_use_in_one_thread_is_allowed_and_released_by_the_outermost(tmp_path):
    with run_lock(tmp_path):
        with run_lock(tmp_path):
            assert holds(tmp_path)
        assert holds(tmp_path)  # the inner exit released nothing
        proc = subprocess.run(
            [sys.executable, "-c", _HOLDER, str(tmp_path), "0"], capture_output=True, text=True
        )
        assert proc.returncode != 0 and "OutputInUseError" in proc.stderr
    assert not holds(tmp_path)
    _stop(_start_holder(tmp_path, 0))  # free for another process


def test_another_thread_of_the_same_process_is_refused(tmp_path):
    errors: list[BaseException] = []

    def other() -> None:
        try:
            with run_lock(tmp_path):
                pass
        except BaseException as exc:
            errors.append(exc)

    with run_lock(tmp_path):
        t = threading.Thread(target=other)
        t.start()
        t.join(10)
    assert len(errors) == 1 and isinstance(errors[0], OutputInUseError)
    assert f"pid {os.getpid()}" in str(errors[0])


def _fail_open_with(code: int, monkeypatch: pytest.MonkeyPatch) -> None:
    real_open = os.open

    def fake_open(path, flags, *args, **kwargs):
        if os.fspath(path).endswith(LOCK_NAME):
            raise OSError(code, os.strerror(code), os.fspath(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(runlock.os, "open", fake_open)


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (errno.EROFS, "is read-only; choose a writable output folder"),
        (errno.EACCES, "no permission to write in"),
        (errno.ENOSPC, "no space left on the device"),
    ],
)
def test_environment_faults_while_creating_the_lock_are_one_line(
    tmp_path, monkeypatch, code, words
):
    _fail_open_with(code, monkeypatch)
    with pytest.raises(PcrsIOError) as err, run_lock(tmp_path):
        pass
    msg = str(err.value)
    assert words in msg and str(tmp_path) in msg and "\n" not in msg
    assert not holds(tmp_path)


def test_full_disk_while_writing_the_holder_is_one_line(tmp_path, monkeypatch):
    def no_space(fd, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(runlock.os, "write", no_space)
    with pytest.raises(PcrsIOError, match="no space left") as err, run_lock(tmp_path):
        pass
    assert str(tmp_path) in str(err.value)
    monkeypatch.undo()
    with run_lock(tmp_path):  # the failed attempt left no lock behind
        pass


# Root ignores permission bits, so a chmod-ed folder stays writable for root (and CI runs
# as root). There the check runs in a forked child that has dropped to the unprivileged
# user 'nobody' (the modules are already in memory: the child needs no access to the
# interpreter's files, which may be in root's home). A read-only mount would need
# privileges a test should not use.


def _lock_as(folder: Path, uid: int | None, gid: int | None) -> tuple[int, str]:
    """Try ``run_lock(folder)`` in a forked child, as ``uid`` when given: (exit code, message)."""
    import pcrs.io.atomic  # noqa: F401  (imported before the fork: the child reads no file)

    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 3
        try:
            os.close(r)
            if uid is not None and gid is not None:
                os.setgroups([])
                os.setgid(gid)
                os.setuid(uid)
            try:
                with run_lock(folder):
                    msg, code = "locked", 0
            except PcrsIOError as exc:
                msg, code = str(exc), 2
            os.write(w, msg.encode())
        except BaseException as exc:
            os.write(w, repr(exc).encode())
        finally:
            os._exit(code)
    os.close(w)
    chunks = []
    while chunk := os.read(r, 65536):
        chunks.append(chunk)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), b"".join(chunks).decode()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork and POSIX permission bits")
def test_read_only_folder_really_refused():
    base = Path(tempfile.mkdtemp(prefix="pcrs-runlock-"))  # not under pytest's 0700 folder
    folder = base / "ro"
    folder.mkdir()
    try:
        folder.chmod(0o555)
        base.chmod(0o755)
        uid = gid = None
        if os.geteuid() == 0:
            try:
                import pwd

                nobody = pwd.getpwnam("nobody")
            except (ImportError, KeyError):
                pytest.skip("running as root, which ignores permissions, and no user 'nobody'")
            uid, gid = nobody.pw_uid, nobody.pw_gid
        code, msg = _lock_as(folder, uid, gid)
        assert code == 2, msg
        assert str(folder) in msg and "\n" not in msg
        assert "no permission to write in" in msg
        assert not (folder / LOCK_NAME).exists()
    finally:
        folder.chmod(0o755)
        shutil.rmtree(base, ignore_errors=True)
