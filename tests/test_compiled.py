"""pcrs._compiled.kernels_import: pcrs takes its fallbacks where numba is missing or broken."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from pcrs._compiled import kernels_import

KERNELS = "pcrs.raster._raster_kernels"


def test_numba_absent_means_the_fallback(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)  # what `import numba` sees without numba
    assert not kernels_import(KERNELS, "numpy")


def test_a_kernel_module_that_does_not_import_means_the_fallback():
    if importlib.util.find_spec("numba") is None:
        pytest.skip("numba is not installed: the first check already says no")
    assert not kernels_import("pcrs._no_such_kernels", "numpy")
