"""Rasters from point clouds: aligned grids, per-cell reductions, interpolators, products.

Compute only; files are written by :mod:`pcrs.io.raster`.
"""

from .binning import REDUCERS, bin_points, cell_extreme_index
from .grid import RasterGrid
from .interpolate import INTERPOLATORS, fill_holes, idw, nearest, tin, triangulate
from .products import (
    DSM_CLASSES,
    DTM_CLASSES,
    PRODUCTS,
    Raster,
    chm,
    density,
    dsm,
    dtm,
    hillshade,
    intensity,
    pitfree_chm,
    quicklook,
    rasterize,
)

__all__ = [
    "DSM_CLASSES",
    "DTM_CLASSES",
    "INTERPOLATORS",
    "PRODUCTS",
    "REDUCERS",
    "Raster",
    "RasterGrid",
    "bin_points",
    "cell_extreme_index",
    "chm",
    "density",
    "dsm",
    "dtm",
    "fill_holes",
    "hillshade",
    "idw",
    "intensity",
    "nearest",
    "pitfree_chm",
    "quicklook",
    "rasterize",
    "tin",
    "triangulate",
]
