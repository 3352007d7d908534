"""Faults of the environment: a full disk, a read-only folder, a killed parent, Ctrl-C.

Each must end with one line on stderr (the path and the fix), a documented exit
code, no partial output (no ``.part`` file either) and no worker left running.
The tests that mount a small tmpfs need root and the mount capability; they are
skipped with the reason when mounting is not permitted. The others fake the
faults (``OSError(ENOSPC)``, ``OSError(EROFS)``, a lazrs-style error, a Rust
panic) or run ``pcrs process`` for real and kill it.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import laspy
import pytest

from pcrs import synth
from pcrs.cli.main import main
from pcrs.errors import CorruptFileError, PcrsIOError
from pcrs.io import atomic, las
from pcrs.io.atomic import atomic_path, output_error, sweep_stale

# --- helpers --------------------------------------------------------------------------


def _pcrs_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "pcrs"
    if exe.exists():
        return [str(exe)]
    return [sys.executable, "-c", "from pcrs.cli.main import main; main()"]


def _run_cli(capsys, *args: str) -> tuple[int, str]:
    """Run ``pcrs ARGS`` in this process; return the exit code and stderr."""
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in args])
    return info.value.code, capsys.readouterr().err


def _parts(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.endswith(".part")]


def _one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture(scope="module")
def scene_file(tmp_path_factory) -> Path:
    """A 100 m x 100 m scene, about 120,000 points: four 50 m tiles of work."""
    path = tmp_path_factory.mktemp("faults") / "scene.laz"
    las.write(synth.make_scene(120_000, seed=3).cloud, path)
    return path


# --- the atomic layer, faults faked (no privilege needed) -----------------------------


def test_no_space_while_writing_names_the_output_and_the_fix(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "a.laz"
    with pytest.raises(PcrsIOError) as info, atomic_path(out) as tmp:
        tmp.write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")
    msg = str(info.value)
    assert msg == (
        f"{out}: cannot be written: no space left on the device holding {out.parent}; "
        "free space or choose another output folder"
    )
    assert isinstance(info.value.__cause__, OSError)
    assert list((tmp_path / "sub").iterdir()) == []


def test_read_only_folder_when_creating_the_temporary_file(tmp_path: Path, monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(atomic.tempfile, "mkstemp", refuse)
    with (
        pytest.raises(PcrsIOError, match="is read-only; choose a writable output folder"),
        atomic_path(tmp_path / "a.tif"),
    ):
        pass
    assert list(tmp_path.iterdir()) == []


def test_a_writer_error_without_errno_is_diagnosed_on_the_folder(
    tmp_path: Path, monkeypatch
) -> None:
    """lazrs loses the OSError ("IoError: Failed to call seek"): the folder is asked."""
    lazrs_like = RuntimeError("IoError: Failed to call seek")
    monkeypatch.setattr(atomic, "_diagnose", lambda folder: "full")
    with (
        pytest.raises(PcrsIOError, match="no space left on the device holding"),
        atomic_path(tmp_path / "a.laz"),
    ):
        raise lazrs_like
    # a folder with room: the error is not the environment's and goes through unchanged
    monkeypatch.setattr(atomic, "_diagnose", lambda folder: None)
    with pytest.raises(RuntimeError, match="Failed to call seek"), atomic_path(tmp_path / "b.laz"):
        raise lazrs_like
    # an error that has nothing to do with writing is never translated
    monkeypatch.setattr(atomic, "_diagnose", lambda folder: "full")
    assert output_error(ValueError("class 300 does not fit"), tmp_path / "c.laz") is None
    assert list(tmp_path.iterdir()) == []


def test_error_while_closing_the_writer_leaves_nothing(
    tmp_path: Path, monkeypatch, small_scene
) -> None:
    def full_on_close(self):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(laspy.LasWriter, "close", full_on_close)
    out = tmp_path / "a.laz"
    with pytest.raises(PcrsIOError, match=f"{out}: cannot be written: no space left"):
        las.write(small_scene.cloud[:1000], out)
    with (
        pytest.raises(PcrsIOError, match="no space left"),
        las.LasStreamWriter(tmp_path / "b.laz", small_scene.cloud) as w,
    ):
        w.write(small_scene.cloud[:1000])
    assert list(tmp_path.iterdir()) == []


def test_tile_with_a_full_disk_exits_2_with_one_line(
    tmp_path: Path, monkeypatch, capsys, scene_file: Path
) -> None:
    def full_on_close(self):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(laspy.LasWriter, "close", full_on_close)
    code, err = _run_cli(capsys, "tile", scene_file, "-o", tmp_path / "t", "--size", "50")
    line = _one_line(err)
    assert code == 2
    assert line.startswith(f"pcrs: error: {tmp_path / 't'}")
    assert "no space left on the device holding" in line and "free space" in line
    assert _parts(tmp_path) == []


def test_process_stops_at_the_first_read_only_tile(
    tmp_path: Path, monkeypatch, capsys, scene_file: Path
) -> None:
    real_mkstemp = atomic.tempfile.mkstemp

    def refuse_tiles(*args, **kwargs):  # the run's records are written, the tiles are not
        if any(k in str(kwargs.get("prefix", "")) for k in ("manifest", "pcrs-sources")):
            return real_mkstemp(*args, **kwargs)
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(atomic.tempfile, "mkstemp", refuse_tiles)
    code, err = _run_cli(
        capsys, "process", scene_file, "-o", tmp_path / "p", "--tile-size", "50",
        "--steps", "none", "--products", "dtm", "--workers", "1",
    )  # fmt: skip
    line = _one_line(err)
    assert code == 2
    assert "is read-only; choose a writable output folder" in line
    assert "the run stopped at tile" in line


def test_process_into_a_read_only_folder_stops_before_any_tile(
    tmp_path: Path, monkeypatch, capsys, scene_file: Path
) -> None:
    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(atomic.tempfile, "mkstemp", refuse)
    code, err = _run_cli(
        capsys, "process", scene_file, "-o", tmp_path / "p", "--tile-size", "50",
        "--steps", "none", "--products", "dtm", "--workers", "1",
    )  # fmt: skip
    line = _one_line(err)
    assert code == 2
    assert "manifest.json" in line and "is read-only; choose a writable output folder" in line
    assert not list((tmp_path / "p").rglob("*.laz"))


def test_unknown_base_exception_is_one_line_exit_3(monkeypatch, capsys, scene_file) -> None:
    class PanicException(BaseException):  # what pyo3 raises for a Rust panic
        pass

    def panic(*args, **kwargs):
        raise PanicException("assertion failed: index < len")

    monkeypatch.setattr("pcrs.io.las.info", panic)
    code, err = _run_cli(capsys, "info", scene_file)
    line = _one_line(err)
    assert code == 3
    assert line.startswith("pcrs: internal error: PanicException: assertion failed")


@pytest.mark.parametrize("module", ["pyo3_runtime", "some_rust_ext"])
def test_panic_while_reading_is_exit_2_naming_the_file(
    module: str, tmp_path: Path, monkeypatch, capsys, scene_file
) -> None:
    """pcrs.io.las tells lazrs' panics from the pyo3_runtime module; the command line also
    catches a panic of any other extension raised while reading."""

    class PanicException(BaseException):
        pass

    PanicException.__module__ = module

    def panic(self, *args, **kwargs):
        raise PanicException("called `Option::unwrap()` on a `None` value")

    monkeypatch.setattr(laspy.LasReader, "read_points", panic)
    if module == "pyo3_runtime":
        with pytest.raises(CorruptFileError):
            las.read(scene_file)
    code, err = _run_cli(capsys, "classify", scene_file, "-o", tmp_path / "c.laz")
    line = _one_line(err)
    assert code == 2
    assert line.startswith(f"pcrs: error: {scene_file}: ")
    assert list(tmp_path.iterdir()) == []


def test_sweep_removes_only_dead_processes_temporary_files(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = atomic._HOST
    stale = tmp_path / f".a.laz.{host}-{dead.pid}.k2j4h5g6.part"
    live = tmp_path / f".b.laz.{host}-{os.getppid()}.k2j4h5g6.part"
    other_host = tmp_path / f".c.laz.{'0' * 6 if host != '0' * 6 else '1' * 6}-{dead.pid}.x.part"
    user_file = tmp_path / "notes.part"
    for p in (stale, live, other_host, user_file):
        p.write_bytes(b"")
    assert sweep_stale(tmp_path) == [stale]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in (live, other_host, user_file)
    )


def test_discard_pending_removes_unfinished_outputs(tmp_path: Path) -> None:
    ctx = atomic_path(tmp_path / "a.json")
    tmp = ctx.__enter__()
    assert atomic.pending() == [tmp_path / "a.json"] and tmp.exists()
    assert atomic.discard_pending() == [tmp_path / "a.json"]
    assert not tmp.exists() and atomic.pending() == []
    with pytest.raises(OSError):  # nothing left to rename
        ctx.__exit__(None, None, None)
    assert not (tmp_path / "a.json").exists()


# --- a real small file system (root and the mount capability) -------------------------


@pytest.fixture
def tmpfs(tmp_path: Path):
    """Mount a 256 KiB tmpfs; yield (mount point, remount read-only function)."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if not sys.platform.startswith("linux") or shutil.which("mount") is None:
        pytest.skip("needs Linux and mount(8) to make a small file system")
    res = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)],
        capture_output=True,
        text=True,
    )
    if res.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here ({res.stderr.strip()})")

    def read_only() -> None:
        subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)

    try:
        yield mnt, read_only
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_real_full_disk(tmpfs, scene_file: Path) -> None:
    mnt, _ = tmpfs
    res = subprocess.run(
        [*_pcrs_cmd(), "tile", str(scene_file), "-o", str(mnt / "t"), "--size", "50"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    line = _one_line(res.stderr)
    assert res.returncode == 2, res.stderr
    assert f"no space left on the device holding {mnt / 't'}" in line
    assert "free space or choose another output folder" in line
    assert _parts(mnt) == []


def test_real_read_only_folder(tmpfs, scene_file: Path) -> None:
    mnt, read_only = tmpfs
    read_only()
    res = subprocess.run(
        [*_pcrs_cmd(), "classify", str(scene_file), "-o", str(mnt / "c.laz")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    line = _one_line(res.stderr)
    assert res.returncode == 2, res.stderr
    assert line == (
        f"pcrs: error: {mnt / 'c.laz'}: cannot be written: {mnt} is read-only; "
        "choose a writable output folder"
    )


# --- a killed parent, Ctrl-C (real processes) -----------------------------------------


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                kids += [int(k) for k in fh.read().split()]
    except OSError:
        pass
    return kids


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its reaper is not)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _workers(pid: int) -> tuple[list[int], list[int]]:
    """The pool workers of ``pid``, and those whose initializer ran (they catch SIGTERM)."""
    workers, ready = [], []
    for k in _children(pid):
        try:
            with open(f"/proc/{k}/cmdline", "rb") as fh:
                if b"spawn_main" not in fh.read():
                    continue
            workers.append(k)
            with open(f"/proc/{k}/status") as fh:
                caught = int(fh.read().split("SigCgt:")[1].split()[0], 16)
        except (OSError, IndexError, ValueError):
            continue
        if caught & (1 << (signal.SIGTERM - 1)):
            ready.append(k)
    return workers, ready


def _start_process(scene_file: Path, out: Path) -> tuple[subprocess.Popen, list[int]]:
    """``pcrs process`` with 2 workers, in its own process group; wait for the workers."""
    proc = subprocess.Popen(
        [*_pcrs_cmd(), "process", str(scene_file), "-o", str(out), "--tile-size", "50",
         "--workers", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    started = None
    while True:
        workers, ready = _workers(proc.pid)
        if len(workers) >= 2 and started is None:
            started = time.monotonic()
        # computing: initialised, or (without the initializer) long enough after their start
        if len(ready) >= 2 or (started is not None and time.monotonic() - started > 5):
            break
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            _, err = proc.communicate()
            pytest.fail(f"the workers did not start (exit {proc.returncode}): {err[-2000:]}")
        time.sleep(0.05)
    time.sleep(1.0)  # let them read and compute
    return proc, _children(proc.pid)


def _wait_gone(pids: list[int], seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        left = [p for p in pids if _alive(p)]
        if not left:
            return []
        time.sleep(0.05)
    return [p for p in pids if _alive(p)]


def _outputs(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


pytestmark_linux = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads /proc to find the worker processes"
)


@pytestmark_linux
def test_killed_parent_leaves_no_worker(tmp_path: Path, scene_file: Path) -> None:
    out = tmp_path / "out"
    proc, kids = _start_process(scene_file, out)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)  # not communicate(): orphans would hold the pipes open
    left = _wait_gone(kids, 5.0)
    for pid in left:  # do not leave them running
        os.kill(pid, signal.SIGKILL)
    proc.stdout.close()
    proc.stderr.close()
    assert left == [], "worker processes outlived their killed parent"
    before = _outputs(out) if out.exists() else set()
    time.sleep(1.0)
    after = _outputs(out) if out.exists() else set()
    assert after == before, "outputs appeared after the parent was killed"
    assert not [p for p in after if p.endswith(".part")]


@pytestmark_linux
def test_ctrl_c_prints_one_line_and_leaves_nothing_half_written(
    tmp_path: Path, scene_file: Path
) -> None:
    out = tmp_path / "out"
    proc, kids = _start_process(scene_file, out)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal does
    try:
        _, err = proc.communicate(timeout=30)
    finally:
        for pid in [proc.pid, *kids]:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert err.strip() == "pcrs: interrupted", err
    assert _wait_gone(kids, 2.0) == []
    assert not out.exists() or _parts(out) == []
