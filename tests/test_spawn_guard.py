"""A script calling pcrs without ``if __name__ == "__main__":`` (issue #14, point 4).

Spawn workers import the parent's main script again (as ``__mp_main__``); an
unguarded call to :func:`pcrs.process` ran once more in each worker, broke the
pool and failed every tile. :func:`pcrs._spawn.refuse_in_bootstrap` stops it in
the worker with a message that shows the guard. The scripts run in real
subprocesses, as a user runs them.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import textwrap
import time
import uuid
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

import pcrs
from pcrs import synth
from pcrs._spawn import bootstrap_caller, explain_broken_pool, in_bootstrap, refuse_in_bootstrap
from pcrs.errors import ParameterError, PcrsError, SpawnReimportError
from pcrs.io import las

#: the pcrs under test, for the subprocesses
_SRC = str(Path(pcrs.__file__).resolve().parents[1])
_TIMEOUT = 120.0  # a safety net on a loaded machine; the runs take a few seconds
_GUARD = 'if __name__ == "__main__":'

#: README-like call: 4 tiles of 100 m, no classification, a DTM, 2 spawn workers
_CALL = (
    "summary = pcrs.process([{laz!r}], {out!r}, tile_size=100, resolution=1.0, steps=[], "
    'products=["dtm"], workers=2)'
)


@pytest.fixture(scope="module")
def scene_laz(tmp_path_factory) -> Path:
    """A synthetic LAZ of about 5,600 points over 100 m x 100 m (4 tiles of 100 m)."""
    path = tmp_path_factory.mktemp("spawn_scene") / "scene.laz"
    las.write(synth.make_scene(6000, seed=3).cloud, path)
    return path


def _script(folder: Path, body: str) -> Path:
    path = folder / "script.py"
    path.write_text(textwrap.dedent(body).lstrip(), encoding="utf-8")
    return path


def _run(script: Path, *args: str, token: str = "") -> tuple[subprocess.CompletedProcess, float]:
    """Run ``script`` as a user does; ``token`` marks it and its children (env)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([_SRC, os.environ.get("PYTHONPATH", "")]))
    env["PCRS_SPAWN_GUARD_TEST"] = token or uuid.uuid4().hex
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(script), *args],
        cwd=script.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=_TIMEOUT,  # an orphan keeping stderr open would block here
    )
    return proc, time.monotonic() - t0


def _marked_processes(token: str) -> list[int]:
    """Pids of the live processes whose environment holds ``token`` (Linux)."""
    needle = f"PCRS_SPAWN_GUARD_TEST={token}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:  # ended meanwhile, or not ours
            continue
        if state != "Z" and needle in environ.split(b"\0"):
            pids.append(int(entry.name))
    return pids


def _wait_gone(token: str, seconds: float = 10.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while (left := _marked_processes(token)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


@pytest.fixture(scope="module")
def unguarded(tmp_path_factory, scene_laz):
    """The README snippet without its guard, run once: (process, seconds, out, token)."""
    folder = tmp_path_factory.mktemp("unguarded")
    out = folder / "out"
    script = _script(folder, "import pcrs\n\n" + _CALL.format(laz=str(scene_laz), out=str(out)))
    token = uuid.uuid4().hex
    proc, seconds = _run(script, token=token)
    return proc, seconds, out, token


# ---------------------------------------------------------------------------
# the unguarded script


def test_unguarded_script_stops_in_each_worker_with_the_guard_message(unguarded):
    proc, seconds, _, _ = unguarded
    assert seconds < 30, f"took {seconds:.1f} s"
    err = proc.stderr
    assert "SpawnReimportError" in err, err[-3000:]
    assert "script.py that calls pcrs.process runs again in each worker process" in err
    assert "its top level is not guarded (line 3)" in err
    assert f"    {_GUARD}\n        summary = pcrs.process([" in err
    # the nested run never started: no nested pool, no second lock on the output folder
    assert "bootstrapping phase" not in err
    assert "OutputInUseError" not in err and "OutputExistsError" not in err


def test_unguarded_script_leaves_no_process_and_no_raster(unguarded):
    _, _, out, token = unguarded
    assert not list(out.rglob("*.tif")), sorted(out.rglob("*"))
    assert not (out / "dtm.vrt").exists()
    if not Path("/proc/self/environ").exists():
        pytest.skip("the process check reads /proc (Linux)")
    assert _wait_gone(token) == [], "worker processes outlived the script"


def test_unguarded_script_exits_nonzero(unguarded):
    proc, _, _, _ = unguarded
    assert proc.returncode != 0  # pcrs.process raises ProcessError: every tile failed


# ---------------------------------------------------------------------------
# legitimate uses are untouched


def test_guarded_script_runs_and_writes_the_dtm(tmp_path, scene_laz):
    out = tmp_path / "out"
    call = _CALL.format(laz=str(scene_laz), out=str(out))
    script = _script(tmp_path, f"import pcrs\n\n{_GUARD}\n    {call}\n")
    token = uuid.uuid4().hex
    proc, _ = _run(script, token=token)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "SpawnReimportError" not in proc.stderr
    assert (out / "dtm.vrt").is_file()
    assert len(list((out / "dtm").glob("*.tif"))) >= 2  # more than one task: a pool ran
    if Path("/proc/self/environ").exists():
        assert _wait_gone(token) == []


def test_refuse_in_bootstrap_does_nothing_in_the_main_process():
    refuse_in_bootstrap("process")
    assert not in_bootstrap()
    assert bootstrap_caller() is None
    assert multiprocessing.parent_process() is None


_POOL = """
import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor

from pcrs._spawn import in_bootstrap, refuse_in_bootstrap

{top}

def task(i):
    refuse_in_bootstrap("process")  # a pcrs function called inside a worker's task
    return in_bootstrap(), multiprocessing.parent_process() is not None

{guard}
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context(sys.argv[1])) as pool:
        try:
            print("RESULTS", sorted(set(pool.map(task, range(4)))))
        except Exception as exc:
            print("POOL", type(exc).__name__)
"""


def _start_methods() -> list[str]:
    return [m for m in ("spawn", "forkserver") if m in multiprocessing.get_all_start_methods()]


@pytest.mark.parametrize("method", _start_methods())
def test_refuse_in_bootstrap_does_nothing_in_a_worker_task(tmp_path, method):
    script = _script(tmp_path, _POOL.format(top="", guard=_GUARD))
    proc, _ = _run(script, method)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "RESULTS [(False, True)]" in proc.stdout, proc.stdout + proc.stderr[-3000:]
    assert "SpawnReimportError" not in proc.stderr


@pytest.mark.parametrize("method", _start_methods())
def test_refuse_in_bootstrap_raises_while_a_worker_imports_the_script(tmp_path, method):
    body = _POOL.format(
        top='refuse_in_bootstrap("process")  # unguarded top level', guard="if True:"
    )
    script = _script(tmp_path, body)
    proc, seconds = _run(script, method)
    assert seconds < 30
    assert "POOL BrokenProcessPool" in proc.stdout, proc.stdout + proc.stderr[-3000:]
    assert "SpawnReimportError: the script " in proc.stderr
    assert f'{_GUARD}\n        refuse_in_bootstrap("process")' in proc.stderr


def test_refuse_in_bootstrap_while_a_worker_unpickles_its_task(monkeypatch):
    """A module imported during the worker's start-up (not the main script) calls pcrs."""
    monkeypatch.setattr(multiprocessing.current_process(), "_inheriting", True, raising=False)
    assert in_bootstrap()
    with pytest.raises(SpawnReimportError, match="while a worker process was starting") as info:
        refuse_in_bootstrap("run_tiles")
    assert _GUARD in str(info.value) and "pcrs.run_tiles(...)" in str(info.value)


def test_the_error_is_a_parameter_error():
    assert issubclass(SpawnReimportError, ParameterError)
    assert issubclass(SpawnReimportError, PcrsError)
    assert issubclass(SpawnReimportError, ValueError)


# ---------------------------------------------------------------------------
# the parent's explanation of a broken pool


def test_explain_broken_pool_names_both_causes():
    exc = BrokenProcessPool("A process in the process pool was terminated abruptly")
    text = explain_broken_pool(exc)
    assert text.startswith("a worker process of pcrs.process ended abruptly")
    assert "BrokenProcessPool: A process in the process pool" in text
    assert _GUARD in text and "out-of-memory" in text and "fewer workers" in text


def test_explain_broken_pool_puts_the_likely_cause_first():
    exc = BrokenProcessPool("terminated abruptly")
    oom = explain_broken_pool(exc, what="run_tiles", exitcodes=[None, -9, 0])
    assert "pcrs.run_tiles" in oom
    assert oom.index("out-of-memory") < oom.index(_GUARD)
    assert "SIGKILL" in oom
    guard = explain_broken_pool(exc, exitcodes=[1, -15, 143])  # the others were stopped
    assert guard.index(_GUARD) < guard.index("out-of-memory")
    assert "Most likely the script calling pcrs" in guard
