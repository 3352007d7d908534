"""pcrs: LiDAR processing and PCRS v2.0 validation for French street-map projects.

The public API is re-exported here::

    import pcrs
    cloud = pcrs.read("tile.laz")
    facts = pcrs.info("tile.laz")
"""

import logging

from . import errors, io, synth
from ._version import __version__
from .errors import PcrsError
from .io.crs import PCRS_CRS, parse_crs
from .io.las import (
    LasInfo,
    LasStreamWriter,
    class_histogram,
    info,
    iter_chunks,
    read,
    read_window,
    write,
)
from .points import LasLayout, PointCloud

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "PCRS_CRS",
    "LasInfo",
    "LasLayout",
    "LasStreamWriter",
    "PcrsError",
    "PointCloud",
    "__version__",
    "class_histogram",
    "errors",
    "info",
    "io",
    "iter_chunks",
    "parse_crs",
    "read",
    "read_window",
    "synth",
    "write",
]
