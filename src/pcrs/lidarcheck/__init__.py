"""The conformity check of a LiDAR delivery against its specification (``pcrs check-lidar``).

- :mod:`.spec`: :class:`LidarSpec`, the specification, from TOML (built-in ``lidarhd``);
- :mod:`.headers`: header facts and the rules they decide;
- :mod:`.tile_pass`: one streamed pass over a tile's points;
- :mod:`.tile_rules`: the findings of one tile's pass;
- :mod:`.delivery`: names, grid, CRS identity, coverage and density mosaics, holes;
- :mod:`.check`: :func:`check_lidar`, which runs them and returns a report.

The rules (ids ``LIDAR-<FAMILY>-NNN``) are declared in the one registry,
:mod:`pcrs.vector.rules.lidar_delivery`.
"""

from __future__ import annotations

from .check import LIDAR_RULES, LidarReport, check_lidar, find_inputs
from .spec import BUILTIN_SPECS, LidarSpec, load_spec

__all__ = [
    "BUILTIN_SPECS",
    "LIDAR_RULES",
    "LidarReport",
    "LidarSpec",
    "check_lidar",
    "find_inputs",
    "load_spec",
]
