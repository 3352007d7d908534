"""Shared fixtures: the real data folder, and small synthetic scenes with known truth."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pcrs import synth

_ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """``PCRS_SHARED_DATA``, or ``../shared/data`` beside the project root."""
    return Path(os.environ.get("PCRS_SHARED_DATA", _ROOT.parent / "shared" / "data"))


# pcrs.testing.shared_data_dir resolves relative to the current folder; pin it for the tests
os.environ.setdefault("PCRS_SHARED_DATA", str(shared_data_dir()))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real files; the test is skipped (with the reason) when it is absent."""
    path = shared_data_dir()
    if not (path / "lidar").is_dir():
        pytest.skip(
            f"real data not found at {path}; set PCRS_SHARED_DATA to the shared/data folder"
        )
    return path


@pytest.fixture(scope="session")
def lidar_dir(shared_data: Path) -> Path:
    return shared_data / "lidar"


@pytest.fixture(scope="session")
def pcrs_dir(shared_data: Path) -> Path:
    path = shared_data / "pcrs"
    if not path.is_dir():
        pytest.skip(f"PCRS data not found at {path}")
    return path


@pytest.fixture(scope="session")
def schemas_dir(pcrs_dir: Path) -> Path:
    """The PCRS schemas of the shared data (with their catalog.xml), or a skip."""
    path = pcrs_dir / "schemas"
    if not (path / "catalog.xml").is_file():
        pytest.skip(f"no PCRS schemas at {path}")
    return path


@pytest.fixture(scope="session")
def small_scene() -> synth.Scene:
    """About 60,000 points over 100 m x 100 m, every kind of object, seed 7."""
    return synth.make_scene(60_000, seed=7)


@pytest.fixture(scope="session")
def small_scene_file(small_scene, tmp_path_factory) -> Path:
    """``small_scene`` written as LAZ (LAS 1.4, point format 6, EPSG:2154)."""
    from pcrs.io import las

    path = tmp_path_factory.mktemp("scene") / "scene.laz"
    las.write(small_scene.cloud, path)
    return path
