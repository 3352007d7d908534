"""Tiling: tile grids and IGN names, the file catalog, streaming re-tiling, the tile engine.

- :mod:`.grid`: :class:`TileGrid` (origin, size, edge rule, ``ign``/``xy`` names),
  :func:`parse_ign_name`;
- :mod:`.catalog`: :class:`Catalog`, a header-only index with checks;
- :mod:`.retile`: :func:`~pcrs.tiling.retile.retile` (streaming, optional buffers) and :func:`strip_buffer`;
- :mod:`.engine`: :func:`run`, a function applied tile by tile with a buffer, on a
  local process pool or a Dask cluster.
"""

from .catalog import Catalog, CatalogIssue
from .engine import BUFFER_DIM, RunSummary, TileContext, TileResult, run
from .grid import NAMINGS, Tile, TileGrid, ign_name, parse_ign_name
from .retile import RetileSummary, strip_buffer

# ``retile`` the function is not re-exported here so that ``pcrs.tiling.retile`` stays the
# module; import it as ``from pcrs.tiling.retile import retile`` (or ``pcrs.retile``).

__all__ = [
    "BUFFER_DIM",
    "NAMINGS",
    "Catalog",
    "CatalogIssue",
    "RetileSummary",
    "RunSummary",
    "Tile",
    "TileContext",
    "TileGrid",
    "TileResult",
    "ign_name",
    "parse_ign_name",
    "run",
    "strip_buffer",
]
