"""The wheel and the sdist ``python -m build`` makes hold what installing and testing need.

The archives are those of ``PCRS_DIST`` (a folder holding one wheel and one sdist, as
``.ci/run`` builds them before installing the wheel into a fresh virtualenv), or built here
when the ``build`` package is installed (``pip install -e ".[dev]"``); the tests are skipped
with the reason otherwise. Installing the wheel and running ``pcrs demo`` from it is
``.ci/run``'s job, not a test's: it takes a new virtualenv and a minute.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "pcrs"
#: what the sdist holds at its top level (tool.hatch.build.targets.sdist in pyproject.toml)
SDIST_TOP = {"src", "tests", "docs", "examples", "benchmarks", ".ci", "README.md",
             "CHANGELOG.md", "mkdocs.yml", "pyproject.toml", "PKG-INFO", ".gitignore"}  # fmt: skip
#: files the tests read outside the package
TEST_NEEDS = ["tests/conftest.py", "docs/rules.md", "docs/validation.md", "docs/hooks.py",
              "mkdocs.yml", "README.md", "examples/check_delivery_ci.sh",
              ".ci/without-numba/sitecustomize.py"]  # fmt: skip


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("PCRS_DIST")
    if given:
        return Path(given)
    if importlib.util.find_spec("build") is None:
        pytest.skip(
            'the build package is not installed: pip install -e ".[dev]" (or set PCRS_DIST)'
        )
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out


def _one(dist: Path, pattern: str) -> Path:
    found = sorted(dist.glob(pattern))
    assert len(found) == 1, f"{dist}: {len(found)} files match {pattern}: {found}"
    return found[0]


def _package_files() -> set[str]:
    """The files of ``src/pcrs`` an install needs (modules, TOML profiles, py.typed...)."""
    return {
        p.relative_to(PACKAGE.parent).as_posix()
        for p in PACKAGE.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }


def test_wheel_holds_the_package_its_data_and_the_command(dist):
    wheel = zipfile.ZipFile(_one(dist, "pcrs-*.whl"))
    names = set(wheel.namelist())
    missing = _package_files() - names
    assert not missing, f"not in the wheel: {sorted(missing)}"
    assert "pcrs/py.typed" in names
    assert any(n.startswith("pcrs/vector/profiles/") and n.endswith(".toml") for n in names)
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert all(n.startswith("pcrs/") or n.split("/")[0].endswith(".dist-info") for n in names)
    meta = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert "pcrs = pcrs.cli.main:main" in wheel.read(meta).decode()
    metadata = wheel.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    for extra in ("dask", "pdal", "open3d", "ml", "test", "bench", "docs", "lint", "dev"):
        assert f"Provides-Extra: {extra}" in metadata


def test_sdist_holds_what_the_tests_need_and_no_junk(dist):
    sdist = _one(dist, "pcrs-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {m.name.split("/", 1)[1] for m in tar.getmembers() if "/" in m.name and m.isfile()}
    top = {n.split("/")[0] for n in names}
    assert top <= SDIST_TOP, f"unexpected in the sdist: {sorted(top - SDIST_TOP)}"
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    missing = [n for n in TEST_NEEDS if n not in names]
    assert not missing, f"not in the sdist: {missing}"
    tests = {p.relative_to(ROOT).as_posix() for p in (ROOT / "tests").glob("*.py")}
    assert tests <= names, f"tests not in the sdist: {sorted(tests - names)}"
    assert {f"src/{n}" for n in _package_files()} <= names
