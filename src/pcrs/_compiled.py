"""Whether a module of numba kernels can be used here."""

from __future__ import annotations

import importlib
import importlib.util
import logging

__all__ = ["kernels_import"]

log = logging.getLogger(__name__)


def kernels_import(module: str, fallback: str) -> bool:
    """True when numba is installed and the kernel module ``module`` imports.

    A numba that is present but fails to import (say, built for another numpy) makes pcrs
    use its ``fallback`` (named in a debug message) rather than fail.
    """
    if importlib.util.find_spec("numba") is None:
        return False
    try:
        importlib.import_module(module)
    except Exception as exc:  # numba's import errors are not all ImportError
        log.debug("numba is installed but %s does not import (%s): using %s", module, exc, fallback)
        return False
    return True
