"""pcrs: LiDAR processing and PCRS v2.0 validation for French street-map projects.

The public API is available from the top-level package::

    import pcrs

    facts = pcrs.info("tile.laz")                      # header only
    cloud = pcrs.read("tile.laz")                      # PointCloud
    ground = pcrs.classify_ground(cloud, method="smrf")
    dtm = pcrs.rasterize(cloud, "dtm", resolution=0.5)
    report = pcrs.validate(["delivery.gml"])

Names from the heavier subpackages (classification, rasters, tiling, the PCRS
validator) are imported on first use, so ``import pcrs`` stays fast.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from . import errors, io, synth
from ._version import __version__
from .errors import PcrsError
from .io.crs import PCRS_CRS, parse_crs
from .points import LasLayout, PointCloud

logging.getLogger(__name__).addHandler(logging.NullHandler())

#: public name -> "module:attribute", imported on first access
_LAZY: dict[str, str] = {
    # points in and out (laspy is imported on first use: the PCRS validator needs none)
    "LasInfo": "pcrs.io.las:LasInfo",
    "LasStreamWriter": "pcrs.io.las:LasStreamWriter",
    "class_histogram": "pcrs.io.las:class_histogram",
    "info": "pcrs.io.las:info",
    "iter_chunks": "pcrs.io.las:iter_chunks",
    "read": "pcrs.io.las:read",
    "read_window": "pcrs.io.las:read_window",
    "write": "pcrs.io.las:write",
    # tiling
    "Catalog": "pcrs.tiling.catalog:Catalog",
    "TileGrid": "pcrs.tiling.grid:TileGrid",
    "Tile": "pcrs.tiling.grid:Tile",
    "parse_ign_name": "pcrs.tiling.grid:parse_ign_name",
    "retile": "pcrs.tiling.retile:retile",
    "strip_buffer": "pcrs.tiling.retile:strip_buffer",
    "run_tiles": "pcrs.tiling.engine:run",
    "RunSummary": "pcrs.tiling.engine:RunSummary",
    # classification
    "classify_ground": "pcrs.classify.ground:classify_ground",
    "GROUND_FILTERS": "pcrs.classify.ground:GROUND_FILTERS",
    "classify_noise": "pcrs.classify.noise:classify_noise",
    "height_above_ground": "pcrs.classify.height:height_above_ground",
    "normalize": "pcrs.classify.height:normalize",
    "classify_cloud": "pcrs.classify.pipeline:classify",
    "classify_scene": "pcrs.classify.scene:classify_scene",
    "classify_vegetation": "pcrs.classify.vegetation:classify_vegetation",
    "classify_buildings": "pcrs.classify.buildings:classify_buildings",
    "classify_water": "pcrs.classify.scene:classify_water",
    "classify_bridges": "pcrs.classify.scene:classify_bridges",
    "classify_structures": "pcrs.classify.scene:classify_structures",
    "local_features": "pcrs.classify.features:local_features",
    "refine_ground": "pcrs.classify.ground:refine_ground",
    "evaluate_classification": "pcrs.classify.evaluate:evaluate",
    # rasters
    "rasterize": "pcrs.raster.products:rasterize",
    "Raster": "pcrs.raster.products:Raster",
    "RasterGrid": "pcrs.raster.grid:RasterGrid",
    "process": "pcrs.raster.process:process",
    "PRODUCTS": "pcrs.raster.products:PRODUCTS",
    "INTERPOLATORS": "pcrs.raster.interpolate:INTERPOLATORS",
    "REDUCERS": "pcrs.raster.binning:REDUCERS",
    "write_raster": "pcrs.io.raster:write_raster",
    "read_raster": "pcrs.io.raster:read_raster",
    "write_vrt": "pcrs.io.raster:write_vrt",
    "COGProfile": "pcrs.io.raster:COGProfile",
    "delaunay": "pcrs.raster.delaunay:delaunay",
    # PCRS vector
    "validate": "pcrs.vector.validate:validate",
    "Report": "pcrs.vector.report:Report",
    "RULES": "pcrs.vector.rules:RULES",
    "ValidationOptions": "pcrs.vector.engine:Options",
    "cross_check": "pcrs.vector.lidar_check:cross_check",
    "validate_with_lidar": "pcrs.vector.lidar_check:validate_with_lidar",
    "LidarOptions": "pcrs.vector.lidar_check:LidarOptions",
    "check_lidar": "pcrs.lidarcheck:check_lidar",
    # outputs
    "write_geopackage": "pcrs.io.vector:write_geopackage",
    # interop
    "run_pdal": "pcrs.interop.pdal:run_pdal",
}

__all__ = [
    "PCRS_CRS",
    "LasLayout",
    "PcrsError",
    "PointCloud",
    "__version__",
    "errors",
    "io",
    "parse_crs",
    "synth",
    *sorted(_LAZY),
]


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'pcrs' has no attribute {name!r}")
    module, attr = target.split(":")
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
