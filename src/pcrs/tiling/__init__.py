"""Tiling: tile grids and IGN names, the file catalog, streaming re-tiling, the tile engine."""

from .grid import NAMINGS, Tile, TileGrid, ign_name, parse_ign_name

__all__ = ["NAMINGS", "Tile", "TileGrid", "ign_name", "parse_ign_name"]
