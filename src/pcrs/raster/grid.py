"""Raster grids whose pixel edges sit on multiples of the resolution.

Every raster pcrs makes lives on a :class:`RasterGrid`: a north-up grid whose
left and top edges are integer multiples of the pixel size. Two grids of the
same resolution therefore share their pixel edges wherever they overlap, which
is what makes per-tile rasters line up into a seamless mosaic.

Conventions: row 0 is the northern row; a pixel covers ``[x0, x0 + res)`` in x
and ``(y0 - res, y0]`` in y (half-open, so that a point on an edge shared by two
pixels, or two tiles, belongs to exactly one of them); values are defined at
pixel centres.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError

__all__ = ["RasterGrid"]

_EPS = 1e-9


def _snap(value: float, resolution: float, how) -> float:
    """``value`` rounded down/up to a multiple of ``resolution`` (tolerant to float noise)."""
    q = value / resolution
    n = how(q - _EPS) if how is math.ceil else how(q + _EPS)
    return round(n * resolution, 9)


@dataclass(frozen=True)
class RasterGrid:
    """A north-up pixel grid.

    Parameters
    ----------
    xmin : float
        West edge.
    ymax : float
        North edge.
    resolution : float
        Pixel size in CRS units, > 0.
    width, height : int
        Columns and rows.

    Examples
    --------
    >>> g = RasterGrid.from_bounds(770500.2, 6277500.0, 770549.9, 6277550.0, 0.5)
    >>> g.xmin, g.ymax, g.width, g.height
    (770500.0, 6277550.0, 100, 100)
    """

    xmin: float
    ymax: float
    resolution: float
    width: int
    height: int

    def __post_init__(self) -> None:
        if not (self.resolution > 0 and math.isfinite(self.resolution)):
            raise ParameterError(
                f"resolution must be a positive number of metres, got {self.resolution!r}"
            )
        if self.width < 0 or self.height < 0:
            raise ParameterError(f"grid size must be >= 0, got {self.width} x {self.height}")

    # --- construction -------------------------------------------------------------

    @classmethod
    def from_bounds(
        cls, minx: float, miny: float, maxx: float, maxy: float, resolution: float
    ) -> RasterGrid:
        """The smallest aligned grid that covers the box.

        Edges are snapped outwards to multiples of ``resolution``; a box whose
        sides are already multiples (a tile) gives exactly that box.
        """
        resolution = float(resolution)
        if not (resolution > 0 and math.isfinite(resolution)):
            raise ParameterError(
                f"resolution must be a positive number of metres, got {resolution!r}"
            )
        vals = [float(v) for v in (minx, miny, maxx, maxy)]
        if not all(math.isfinite(v) for v in vals):
            raise ParameterError(f"bounds must be finite, got {(minx, miny, maxx, maxy)!r}")
        minx, miny, maxx, maxy = vals
        if minx > maxx or miny > maxy:
            raise ParameterError(f"bounds {(minx, miny, maxx, maxy)!r} have min > max")
        x0 = _snap(minx, resolution, math.floor)
        x1 = _snap(maxx, resolution, math.ceil)
        y0 = _snap(miny, resolution, math.floor)
        y1 = _snap(maxy, resolution, math.ceil)
        width = max(1, round((x1 - x0) / resolution))
        height = max(1, round((y1 - y0) / resolution))
        return cls(x0, y1, resolution, width, height)

    @classmethod
    def from_transform(cls, transform, width: int, height: int) -> RasterGrid:
        """From a north-up affine transform (rasterio's ``Affine``) and a size."""
        a, b, c, d, e, f = (transform[i] for i in range(6))
        if b != 0 or d != 0 or abs(abs(e) - a) > 1e-9 * a or e >= 0:
            raise ParameterError(
                f"only north-up grids with square pixels are supported: {transform}"
            )
        return cls(float(c), float(f), float(a), int(width), int(height))

    # --- geometry -----------------------------------------------------------------

    @property
    def xmax(self) -> float:
        """East edge."""
        return round(self.xmin + self.width * self.resolution, 9)

    @property
    def ymin(self) -> float:
        """South edge."""
        return round(self.ymax - self.height * self.resolution, 9)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(minx, miny, maxx, maxy)``."""
        return (self.xmin, self.ymin, self.xmax, self.ymax)

    @property
    def shape(self) -> tuple[int, int]:
        """``(height, width)``, the numpy shape of a band."""
        return (self.height, self.width)

    @property
    def size(self) -> int:
        """Number of pixels."""
        return self.width * self.height

    @property
    def transform(self):
        """The rasterio ``Affine`` transform."""
        from affine import Affine

        return Affine(self.resolution, 0.0, self.xmin, 0.0, -self.resolution, self.ymax)

    def is_aligned(self) -> bool:
        """Whether the edges are multiples of the resolution."""
        r = self.resolution
        return all(abs(v / r - round(v / r)) < 1e-6 for v in (self.xmin, self.ymax))

    def column_centers(self) -> np.ndarray:
        """x of the pixel centres, west to east."""
        return self.xmin + (np.arange(self.width) + 0.5) * self.resolution

    def row_centers(self) -> np.ndarray:
        """y of the pixel centres, north to south."""
        return self.ymax - (np.arange(self.height) + 0.5) * self.resolution

    def to_pixel(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Continuous pixel coordinates ``(u, v)``: pixel ``(row, col)``'s centre is ``(col, row)``.

        Computed from local offsets, so that large projected coordinates keep
        their precision.
        """
        r = self.resolution
        u = (np.asarray(x, np.float64) - self.xmin) / r - 0.5
        v = (self.ymax - np.asarray(y, np.float64)) / r - 0.5
        return u, v

    def cell_of(
        self, x: np.ndarray, y: np.ndarray, closed: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Row, column and an inside mask of the pixel holding each point.

        Parameters
        ----------
        x, y : ndarray
        closed : bool
            Also accept points on the east and south outer edges (in the last
            column/row). Off by default, so that a point on an edge shared by
            two adjacent grids falls in exactly one of them.

        Returns
        -------
        rows, cols : ndarray of int64
            Only meaningful where ``inside`` is true.
        inside : ndarray of bool
        """
        r = self.resolution
        fx = (np.asarray(x, np.float64) - self.xmin) / r
        fy = (self.ymax - np.asarray(y, np.float64)) / r
        cols = np.floor(fx).astype(np.int64)
        rows = np.floor(fy).astype(np.int64)
        if closed:
            cols[(cols == self.width) & (fx <= self.width + _EPS)] = self.width - 1
            rows[(rows == self.height) & (fy <= self.height + _EPS)] = self.height - 1
        inside = (cols >= 0) & (cols < self.width) & (rows >= 0) & (rows < self.height)
        return rows, cols, inside

    def buffered(self, pixels: int) -> RasterGrid:
        """The same grid grown by ``pixels`` on every side (still aligned)."""
        r = self.resolution
        return RasterGrid(
            round(self.xmin - pixels * r, 9),
            round(self.ymax + pixels * r, 9),
            r,
            self.width + 2 * pixels,
            self.height + 2 * pixels,
        )

    def offset_in(self, other: RasterGrid) -> tuple[int, int]:
        """``(row_off, col_off)`` of this grid's top-left pixel in ``other`` (same resolution).

        Raises
        ------
        ParameterError
            When the grids do not share pixel edges.
        """
        if abs(self.resolution - other.resolution) > 1e-9 * self.resolution:
            raise ParameterError(
                f"grids have different resolutions: {self.resolution} and {other.resolution}"
            )
        c = (self.xmin - other.xmin) / self.resolution
        r = (other.ymax - self.ymax) / self.resolution
        if abs(c - round(c)) > 1e-6 or abs(r - round(r)) > 1e-6:
            raise ParameterError(
                f"grids are not aligned: origins {(self.xmin, self.ymax)} and "
                f"{(other.xmin, other.ymax)} differ by a fraction of a pixel"
            )
        return round(r), round(c)

    def union(self, other: RasterGrid) -> RasterGrid:
        """The smallest grid covering both (same resolution, aligned)."""
        self.offset_in(other)
        x0 = min(self.xmin, other.xmin)
        y1 = max(self.ymax, other.ymax)
        x1 = max(self.xmax, other.xmax)
        y0 = min(self.ymin, other.ymin)
        r = self.resolution
        return RasterGrid(x0, y1, r, round((x1 - x0) / r), round((y1 - y0) / r))
