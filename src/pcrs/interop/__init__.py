"""Bridges to the tools users already run: PDAL, open3d, GeoPandas.

- :mod:`.pdal`: PDAL's structured arrays to and from :class:`~pcrs.points.PointCloud`
  (plain numpy, no PDAL needed), :func:`~pcrs.interop.pdal.run_pdal` (PDAL pipelines on
  clouds, needs ``pdal``) and the tile function behind ``pcrs classify --pdal``;
- :mod:`.open3d`: ``open3d.geometry.PointCloud`` to and from clouds (needs ``open3d``);
- :mod:`.geopandas`: validation findings and catalog footprints as GeoDataFrames
  (needs ``geopandas``).

Each optional package is imported on first use; without it, a
:class:`~pcrs.errors.MissingExtraError` names the extra to install.
"""

from .pdal import PdalError, from_pdal, run_pdal, to_pdal

__all__ = ["PdalError", "from_pdal", "run_pdal", "to_pdal"]
