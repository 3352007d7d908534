"""Helpers for tests of pcrs and of code built on it."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .points import PointCloud

__all__ = ["assert_clouds_equal", "shared_data_dir"]


def shared_data_dir() -> Path:
    """The folder of real test files: ``PCRS_SHARED_DATA``, else ``../shared/data``.

    The default is relative to the current directory (the project root when
    running the tests).
    """
    return Path(os.environ.get("PCRS_SHARED_DATA", Path("..") / "shared" / "data"))


def assert_clouds_equal(a: PointCloud, b: PointCloud, attributes: bool = True) -> None:
    """Assert that two clouds hold the same points in the same order, exactly.

    Raises
    ------
    AssertionError
        Naming the first coordinate or attribute that differs.
    """
    assert len(a) == len(b), f"{len(a)} points != {len(b)} points"
    for axis in "xyz":
        np.testing.assert_array_equal(getattr(a, axis), getattr(b, axis), err_msg=axis)
    if attributes:
        assert set(a.attributes) == set(b.attributes), (
            f"attributes differ: {sorted(a.attributes)} != {sorted(b.attributes)}"
        )
        for name, values in a.attributes.items():
            np.testing.assert_array_equal(values, b.attributes[name], err_msg=name)
