"""File input and output: the only modules of pcrs that touch files."""

from __future__ import annotations

import importlib
from typing import Any

from . import atomic, crs

__all__ = ["atomic", "crs", "las"]


def __getattr__(name: str) -> Any:
    # (``las`` imports laspy: only for the code that reads or writes points; the PCRS
    # validator does not)
    if name == "las":
        return importlib.import_module(f"{__name__}.las")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
