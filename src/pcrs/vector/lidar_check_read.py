"""The reading layer of the LiDAR cross-check: the point clouds of a box, through :mod:`pcrs.io`.

:func:`reading_plan` decides from the files' header facts (a :class:`~pcrs.tiling.Catalog`
query) what to read: a COPC file in windows of the box, half-open so that a point on a window
edge is read once; any other LAS/LAZ file whole, in chunks. :func:`read_lidar` reads it with
:func:`pcrs.io.las.read_window` and :func:`pcrs.io.las.iter_chunks` and yields point clouds.
This is the only module of the cross-check that reads LiDAR files; the checks take the clouds
it yields (:class:`pcrs.vector.lidar_check_digest.LidarDigest`), or clouds from anywhere.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from .._progress import progress
from ..io import las
from ..io.las import LasInfo
from ..points import PointCloud

__all__ = ["ReadJob", "read_lidar", "reading_plan"]


@dataclass(frozen=True)
class ReadJob:
    """One read: a whole file (``window`` None), or one window of a COPC file.

    Attributes
    ----------
    info : pcrs.io.las.LasInfo
        The file's header facts (path, CRS, bounds, COPC or not).
    window : tuple of float, optional
        ``(minx, miny, maxx, maxy)`` of a COPC window.
    last_x, last_y : bool
        The window is the last one of its row (column): its east (north) edge is closed;
        other windows leave the points on that edge to their neighbour.
    """

    info: LasInfo
    window: tuple[float, float, float, float] | None = None
    last_x: bool = True
    last_y: bool = True


def reading_plan(files: Sequence[LasInfo], box: Sequence[float], window: float) -> list[ReadJob]:
    """What to read of ``files`` to get the points of ``box``, decided from their headers.

    Parameters
    ----------
    files : sequence of pcrs.io.las.LasInfo
        The files whose header box meets ``box`` (:meth:`pcrs.tiling.Catalog.query`).
    box : (minx, miny, maxx, maxy)
    window : float
        Side of the windows a COPC file is read by.

    Returns
    -------
    list of ReadJob
        A COPC file gives the windows of its part of ``box``, row by row; another file
        one job that reads it whole. Windows edges are half-open (see :class:`ReadJob`),
        so that no point is read twice.
    """
    jobs: list[ReadJob] = []
    for info in files:
        if not info.copc:
            jobs.append(ReadJob(info))
            continue
        fb = info.bounds
        wx0, wy0 = max(box[0], fb[0]), max(box[1], fb[1])
        wx1, wy1 = min(box[2], fb[3]), min(box[3], fb[4])
        if wx1 < wx0 or wy1 < wy0:
            continue
        xs = np.arange(wx0, wx1, window) if wx1 > wx0 else np.array([wx0])
        ys = np.arange(wy0, wy1, window) if wy1 > wy0 else np.array([wy0])
        for xa in xs:
            for ya in ys:
                xb, yb = min(xa + window, wx1), min(ya + window, wy1)
                jobs.append(ReadJob(info, (xa, ya, xb, yb), bool(xb >= wx1), bool(yb >= wy1)))
    return jobs


def read_lidar(jobs: Sequence[ReadJob], chunk_size: int) -> Iterator[PointCloud]:
    """Read the jobs of :func:`reading_plan`, with a progress bar; yield point clouds.

    Parameters
    ----------
    jobs : sequence of ReadJob
    chunk_size : int
        Points per chunk of a file read whole: memory stays bounded by it.

    Yields
    ------
    PointCloud
        Chunks of whole files (with their points outside the box: the caller filters), and
        COPC windows without the points of their open edges. Each in the CRS of its file's
        catalog entry.
    """
    for job in progress(jobs, len(jobs), "reading LiDAR"):
        info = job.info
        if job.window is None:
            yield from las.iter_chunks(info.path, chunk_size, crs=info.crs)
            continue
        _, _, xb, yb = job.window
        cloud = las.read_window(info.path, job.window, crs=info.crs)
        keep = ((cloud.x < xb) | job.last_x) & ((cloud.y < yb) | job.last_y)
        yield cloud if keep.all() else cloud[keep]
