"""What the LiDAR cross-check keeps of the points as they stream (internal).

Compute only: :class:`LidarDigest` takes point clouds, whatever read them
(:func:`pcrs.vector.lidar_check_read.read_lidar` for files), and keeps the ground points near
the vertices compared, an occupancy raster of the building points, the cells that hold LiDAR
points at all, and the count of each class. Memory does not grow with the number of points
beyond the ground points kept.

The rasters are :class:`~pcrs.raster.grid.RasterGrid` grids with their rows counted from the
south (:func:`grid_over`): a cell holds the points on its west and south edges.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from scipy import ndimage

from ..points import PointCloud
from ..raster.grid import RasterGrid

if TYPE_CHECKING:
    from .lidar_check import LidarOptions

__all__ = ["LidarDigest", "cell_centres", "cells", "grid_over"]

#: points binned at a time by :func:`cells`
_BLOCK = 1 << 18


def grid_over(box: Sequence[float], cell: float) -> RasterGrid:
    """The grid of ``cell``, aligned on its multiples, that covers ``box``; rows from the south.

    Parameters
    ----------
    box : (minx, miny, maxx, maxy)
    cell : float

    Returns
    -------
    RasterGrid
        The grid of the mirrored plane ``(x, -y)``: its row 0 is the southern row, and its
        north-closed cells are, in ``y``, closed on the south. Cell ``(row, col)`` holds the
        points with ``x0 + col * cell <= x < x0 + (col + 1) * cell`` and ``y0 + row * cell <= y
        < y0 + (row + 1) * cell``, where ``x0 = grid.xmin`` and ``y0 = -grid.ymax`` are the
        multiples of ``cell`` at or below the box's corner. Read it with :func:`cells` and
        :func:`cell_centres`, which undo the mirror.

    Notes
    -----
    A point on a cell line goes to the cell north (and east) of it, the rule the cross-check's
    results have always been made with; a north-up grid's :meth:`RasterGrid.cell_of` gives
    it to the cell south of it, which changes findings (points quantised to the centimetre
    often lie on 0.5 m lines).
    """
    x0 = math.floor(box[0] / cell) * cell
    y0 = math.floor(box[1] / cell) * cell
    nx = max(1, math.ceil((box[2] - x0) / cell))
    ny = max(1, math.ceil((box[3] - y0) / cell))
    return RasterGrid(x0, -y0, cell, nx, ny)


def cells(grid: RasterGrid, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat index (row-major, row 0 in the south) of the cell of :func:`grid_over` of each point.

    Points are binned :data:`_BLOCK` at a time, which bounds the temporary arrays of
    :meth:`RasterGrid.cell_of` whatever the size of a chunk.

    Returns
    -------
    index : ndarray of int64
        0 where the point is outside the grid.
    inside : ndarray of bool
    """
    x, y = np.asarray(x), np.asarray(y)
    index = np.zeros(x.shape, np.int64)
    inside = np.zeros(x.shape, bool)
    for start in range(0, x.size, _BLOCK):
        part = slice(start, start + _BLOCK)
        rows, cols, ok = grid.cell_of(x[part], -y[part])
        index[part] = np.where(ok, rows * grid.width + cols, 0)
        inside[part] = ok
    return index, inside


def cell_centres(grid: RasterGrid, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x and y of the centres of the cells of :func:`grid_over` whose flat index is ``flat``."""
    row, col = np.divmod(flat, grid.width)
    return grid.column_centers()[col], -grid.row_centers()[row]


class LidarDigest:
    """What the checks keep of the LiDAR points inside ``box``; feed it with :meth:`take`.

    Parameters
    ----------
    box : (minx, miny, maxx, maxy)
        Points outside are left out (closed box).
    vertices : ndarray, shape (n, 3)
        The vertices compared with the ground: ground points are kept only in their cells of
        ``ground_radius`` and the 8 around.
    opt : LidarOptions
        ``ground_radius``, ``cell``, ``max_cells``, ``ground_classes``, ``building_classes``.

    Attributes
    ----------
    coarse : RasterGrid
        Cells of ``ground_radius`` (:func:`grid_over`).
    covered : ndarray of bool
        Per cell of ``coarse``: it holds LiDAR points.
    fine : RasterGrid
        Cells of ``cell``, widened so that there are at most ``max_cells``.
    buildings : ndarray of bool
        Per cell of ``fine``: it holds a building point (one byte per cell).
    class_counts : ndarray of int64
        Points per class code, 0-255.
    points : int
        Points taken (inside ``box`` and ``coarse``).
    """

    def __init__(self, box: Sequence[float], vertices: np.ndarray, opt: LidarOptions) -> None:
        self.box = tuple(float(v) for v in box)
        self.coarse = grid_over(box, opt.ground_radius)
        self._need = self._near(vertices)
        self.covered = np.zeros(self.coarse.size, bool)
        area = (box[2] - box[0]) * (box[3] - box[1])
        self.fine = grid_over(box, max(opt.cell, math.sqrt(area / opt.max_cells)))
        self.buildings = np.zeros(self.fine.size, bool)
        self.class_counts = np.zeros(256, np.int64)
        self.points = 0
        self._ground: list[np.ndarray] = []
        self._ground_classes = np.asarray(opt.ground_classes)
        self._building_classes = np.asarray(opt.building_classes)

    def _near(self, vertices: np.ndarray) -> np.ndarray:
        """Cells of :attr:`coarse` that hold a vertex, and the 8 around them."""
        need = np.zeros(self.coarse.size, bool)
        if len(vertices):
            idx, ok = cells(self.coarse, vertices[:, 0], vertices[:, 1])
            need[idx[ok]] = True
            need = ndimage.binary_dilation(
                need.reshape(self.coarse.shape), np.ones((3, 3), bool)
            ).ravel()
        return need

    def take(self, cloud: PointCloud) -> None:
        """Count the points of ``cloud`` inside the box, keep its ground points near the
        vertices, and mark the cells of its building points."""
        if len(cloud) == 0:
            return
        x, y = cloud.x, cloud.y
        cls = np.asarray(cloud.attributes.get("classification", np.zeros(len(cloud), np.uint8)))
        ci, inside = cells(self.coarse, x, y)
        box = self.box
        inside &= (x >= box[0]) & (x <= box[2]) & (y >= box[1]) & (y <= box[3])
        if not inside.any():
            return
        x, y, z, cls, ci = x[inside], y[inside], cloud.z[inside], cls[inside], ci[inside]
        self.points += x.size
        self.covered[ci] = True
        self.class_counts[:] += np.bincount(cls.astype(np.int64), minlength=256)[:256]
        g = np.isin(cls, self._ground_classes) & self._need[ci]
        if g.any():
            self._ground.append(np.column_stack([x[g], y[g], z[g]]))
        b = np.isin(cls, self._building_classes)
        if b.any():
            fi, ok = cells(self.fine, x[b], y[b])
            self.buildings[fi[ok]] = True

    @property
    def ground(self) -> np.ndarray:
        """The ground points kept, ``(n, 3)``, in the order taken."""
        return np.vstack(self._ground) if self._ground else np.zeros((0, 3))

    @property
    def has_ground(self) -> bool:
        """Whether a point of a ground class was taken (near the vertices or not)."""
        return bool(self.class_counts[self._ground_classes].sum())

    @property
    def has_building(self) -> bool:
        """Whether a point of a building class was taken."""
        return bool(self.class_counts[self._building_classes].sum())
