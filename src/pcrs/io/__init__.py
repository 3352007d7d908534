"""File input and output: the only modules of pcrs that touch files."""

from . import atomic, crs, las

__all__ = ["atomic", "crs", "las"]
