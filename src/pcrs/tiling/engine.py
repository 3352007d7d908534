"""Run a function tile by tile over a catalog, with buffers, locally or on Dask.

This is the engine behind every command that processes many files
(``pcrs classify``, ``pcrs rasterize``, ``pcrs process``). For each tile of a
:class:`~pcrs.tiling.grid.TileGrid` that meets the data, one task:

1. reads the tile plus a ``buffer`` of ``B`` metres around it from the source
   files whose header bounds meet it (a COPC window read on ``.copc.laz``
   files: only the octree nodes that meet the box are decompressed; other
   files are streamed and filtered in chunks);
2. calls ``func(cloud, ctx)`` with a :class:`~pcrs.points.PointCloud` and a
   :class:`TileContext`;
3. drops the buffer points from the returned cloud and writes it as
   ``{stem}.laz`` atomically (temporary name, then rename); ``func`` may
   write other outputs itself (rasters of the core area...) through
   ``ctx.path(...)`` and :func:`pcrs.io.atomic.atomic_path`.

Buffer points
-------------
With ``buffer > 0`` the cloud given to ``func`` has a ``uint8`` attribute
``buffer``: 0 for the tile's own points (by the grid's edge rule, so every
point is core in exactly one tile), 1 for the points borrowed from the
neighbours. ``func`` may reorder, drop or add points, as long as it keeps
that attribute (a subset ``cloud[mask]`` keeps it); if it returns a cloud
without it, the cloud must have the input's length and order, and ``ctx.core``
is used. The written tile never holds buffer points nor the attribute. With
``buffer == 0`` the cloud holds only the tile's own points and no attribute.
Sources that carry a ``buffer`` dimension (tiles written by ``pcrs tile
--buffer``) have their buffer points dropped on reading, so they are not
counted twice; or, with ``source_buffer=B`` (they are this grid's tiles with a
``B`` m buffer), each task reads only its own tile file, buffer included, which
avoids decompressing the neighbouring files.

Executors and results
---------------------
``executor`` is ``"serial"`` (in this process), ``"process"`` (a local process
pool of ``workers`` processes; the default), a :class:`dask.distributed.Client`
(tasks run on the cluster; workers must see the same paths, e.g. a shared file
system), or any :class:`concurrent.futures.Executor`. Each tile is computed
from the same inputs in the same order whatever the executor, so the outputs
are identical. Everything sent to workers must be picklable: give a
module-level function or a :func:`functools.partial` of one, not a lambda.

A re-run skips the tiles whose declared ``outputs`` all exist (unless
``overwrite``); a tile with only some of them (an interrupted run) is computed
again and its outputs replaced. A tile that fails is reported in the
:class:`RunSummary` with its error while the other tiles go on; call
:meth:`RunSummary.raise_for_failures` to turn failures into an exception.
A progress bar is shown on a terminal only (:func:`pcrs._progress.progress`).

Example
-------
>>> import functools, tempfile, pathlib
>>> from pcrs import synth
>>> from pcrs.io import las
>>> from pcrs.tiling import TileGrid
>>> from pcrs.tiling.engine import run, keep_classes
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> las.write(synth.make_scene(20_000, seed=1).cloud, d / "in.laz")
>>> summary = run(functools.partial(keep_classes, classes=(2,)), [d / "in.laz"], d / "out",
...               grid=TileGrid(50), buffer=10, executor="serial")
>>> summary.ok, len(summary.done) > 0
(True, True)

A function that also writes a raster of the tile's core area declares it so
that re-runs can skip finished tiles::

    def dtm_tile(cloud, ctx):
        ground = cloud[cloud["classification"] == 2]
        grid = interpolate(ground, bounds=ctx.tile.bounds, resolution=0.5)  # uses the buffer
        write_raster(grid, ctx.path("{stem}_dtm.tif"), overwrite=ctx.overwrite)
        return None  # no point output

    run(dtm_tile, files, "out", grid=TileGrid(1000, naming="ign"), buffer=100,
        outputs=["{stem}_dtm.tif"])
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._progress import progress
from .._spawn import refuse_in_bootstrap
from ..errors import ParameterError, PcrsError
from ..io import las
from ..points import PointCloud
from .catalog import Catalog
from .grid import EDGE_TOLERANCE, Tile, TileGrid
from .manifest import Manifest, file_fingerprint, refuse_unknown_outputs

__all__ = [
    "BUFFER_DIM",
    "EXECUTORS",
    "RunSummary",
    "TileContext",
    "TileResult",
    "TileTask",
    "identity",
    "keep_classes",
    "open_executor",
    "plan",
    "read_tile",
    "run",
    "run_params",
    "run_task",
]

log = logging.getLogger(__name__)

#: Name of the uint8 attribute / extra dimension that marks buffer points (1) and core points (0).
BUFFER_DIM = "buffer"
#: Executor names accepted by :func:`run` (besides Executor and Dask Client objects).
EXECUTORS = ("serial", "process")


# --- what a task is -------------------------------------------------------------------


@dataclass(frozen=True)
class TileTask:
    """Everything a worker needs to compute one tile (picklable)."""

    tile: Tile
    grid: TileGrid
    buffer: float
    sources: tuple[str, ...]
    copc: tuple[bool, ...]
    contained: tuple[bool, ...]
    out_dir: str
    outputs: tuple[str, ...]
    overwrite: bool
    crs_wkt: str | None = None
    point_format: int | None = None
    chunk_size: int = las.DEFAULT_CHUNK_SIZE
    prebuffered: bool = False
    las_version: str | None = None
    key: str = ""
    #: home tile of each source (:meth:`TileGrid.home_cell`), aligned with ``sources``
    homes: tuple[tuple[int, int] | None, ...] = ()
    #: the real tiles around this one (:meth:`TileGrid.real_cells`), for the edge rule
    real_cells: frozenset[tuple[int, int]] | None = None
    #: JSON file listing every source of the run with its bounds, for :meth:`TileContext.read`
    index: str | None = None
    #: the attributes ``func`` needs (None: all); the others are dropped once read
    attributes: tuple[str, ...] | None = None


@dataclass
class TileContext:
    """What ``func`` knows about the tile it computes.

    Attributes
    ----------
    tile : Tile
        ``tile.bounds`` is the core area (the part the outputs must cover),
        ``tile.name`` / ``tile.stem`` name it.
    grid : TileGrid
    buffer : float
        Buffer width in metres.
    core : numpy.ndarray of bool
        Which points of the cloud given to ``func`` belong to the tile.
    out_dir : Path
    overwrite : bool
        Pass it to the writers of extra outputs.
    """

    tile: Tile
    grid: TileGrid
    buffer: float
    core: np.ndarray
    out_dir: Path
    overwrite: bool
    index: str | None = None
    crs_wkt: str | None = None
    chunk_size: int = las.DEFAULT_CHUNK_SIZE

    @property
    def buffered_bounds(self) -> tuple[float, float, float, float]:
        """The core bounds grown by the buffer."""
        return self.tile.buffered(self.buffer)

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """Bounds ``(xmin, ymin, xmax, ymax)`` of all the run's sources."""
        return tuple(_load_index(self._require_index())["extent"])

    def _require_index(self) -> str:
        if self.index is None:
            raise ParameterError(
                "this run keeps no index of its sources; TileContext.read needs one"
            )
        return self.index

    def read(self, box: Sequence[float], classes: Sequence[int] | None = None) -> PointCloud | None:
        """Every point of the run's sources inside ``box`` (xmin, ymin, xmax, ymax), edges
        included: a wider read than the buffer, for functions that must see farther on
        some tiles (e.g. until every triangle touching the core is final). None when the
        sources hold no point there. Buffer points of prebuffered sources are dropped
        (each point is read once, from the file whose core holds it). ``classes`` keeps
        only the points of these classes (file by file, so memory holds only them)."""
        index = _load_index(self._require_index())
        xmin, ymin, xmax, ymax = (float(v) for v in box)
        parts = []
        for path, b, copc in index["files"]:
            if b[0] > xmax or b[2] < xmin or b[1] > ymax or b[3] < ymin:
                continue
            inside = xmin <= b[0] and ymin <= b[1] and b[2] <= xmax and b[3] <= ymax
            if inside and not copc:
                cloud = las.read(path, crs=self.crs_wkt)
            else:
                cloud = las.read_window(
                    path, (xmin, ymin, xmax, ymax), crs=self.crs_wkt, chunk_size=self.chunk_size
                )
            if BUFFER_DIM in cloud.attributes:
                cloud = cloud[cloud.attributes[BUFFER_DIM] == 0]
                del cloud.attributes[BUFFER_DIM]
            if classes is not None:
                cloud = cloud[np.isin(cloud.classification, np.asarray(classes))]
            if len(cloud):
                parts.append(cloud)
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else PointCloud.concatenate(parts)

    def path(self, template: str = "{stem}.laz") -> Path:
        """An output path in ``out_dir``: ``template`` formatted with ``stem``, ``name``,
        ``col`` and ``row`` of the tile, e.g. ``ctx.path("{stem}_dtm.tif")``."""
        return self.out_dir / _format_output(template, self.tile)


@dataclass
class TileResult:
    """What happened to one tile.

    ``status`` is ``"done"``, ``"skipped"`` (outputs already complete),
    ``"empty"`` (no point of the tile in the sources) or ``"failed"``.
    """

    name: str
    status: str
    points_read: int = 0
    points_core: int = 0
    points_written: int = 0
    outputs: list[str] = field(default_factory=list)
    seconds: float = 0.0
    error: str | None = None
    detail: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    #: key of the computation (see :mod:`pcrs.tiling.manifest`), when the run keeps a manifest
    key: str = ""
    #: fingerprint of each output written, computed by the worker (manifest runs only)
    fingerprints: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "status": self.status,
            "points_read": self.points_read,
            "points_core": self.points_core,
            "points_written": self.points_written,
            "outputs": self.outputs,
            "seconds": round(self.seconds, 3),
            "error": self.error,
            "info": self.info,
        }


@dataclass
class RunSummary:
    """Results of :func:`run`, one :class:`TileResult` per tile in grid order."""

    results: list[TileResult]
    seconds: float = 0.0

    def _with(self, status: str) -> list[TileResult]:
        return [r for r in self.results if r.status == status]

    @property
    def done(self) -> list[TileResult]:
        """Tiles computed in this run."""
        return self._with("done")

    @property
    def skipped(self) -> list[TileResult]:
        """Tiles whose outputs were already complete."""
        return self._with("skipped")

    @property
    def empty(self) -> list[TileResult]:
        """Tiles without a point of their own."""
        return self._with("empty")

    @property
    def failed(self) -> list[TileResult]:
        """Tiles whose computation raised."""
        return self._with("failed")

    @property
    def ok(self) -> bool:
        """No tile failed."""
        return not self.failed

    @property
    def outputs(self) -> list[str]:
        """Every output file of the done and skipped tiles."""
        return [o for r in self.results for o in r.outputs]

    def raise_for_failures(self) -> None:
        """Raise a :class:`~pcrs.errors.PcrsError` naming the failed tiles, if any."""
        if self.failed:
            lines = "; ".join(f"{r.name}: {r.error}" for r in self.failed[:5])
            more = f" (and {len(self.failed) - 5} more)" if len(self.failed) > 5 else ""
            raise PcrsError(f"{len(self.failed)} tile(s) failed: {lines}{more}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "tiles": len(self.results),
            "done": len(self.done),
            "skipped": len(self.skipped),
            "empty": len(self.empty),
            "failed": len(self.failed),
            "seconds": round(self.seconds, 3),
            "results": [r.to_dict() for r in self.results],
        }

    def __str__(self) -> str:
        return (
            f"{len(self.results)} tiles: {len(self.done)} done, {len(self.skipped)} skipped, "
            f"{len(self.empty)} empty, {len(self.failed)} failed in {self.seconds:.1f} s"
        )


# --- ready-made functions (module level, so they pickle) ------------------------------


def identity(cloud: PointCloud, ctx: TileContext) -> PointCloud:
    """Return the points unchanged: :func:`run` with it re-tiles the catalog."""
    return cloud


def keep_classes(cloud: PointCloud, ctx: TileContext, classes: Sequence[int] = (2,)) -> PointCloud:
    """Keep the points of some classes (use it with :func:`functools.partial`)."""
    return cloud[np.isin(cloud.classification, np.asarray(classes))]


# --- planning -------------------------------------------------------------------------


def _format_output(template: str, tile: Tile) -> str:
    try:
        return template.format(stem=tile.stem, name=tile.name, col=tile.col, row=tile.row)
    except (KeyError, IndexError, ValueError) as exc:
        raise ParameterError(
            f"output template {template!r} is not valid ({exc}); use fields {{stem}}, {{name}}, "
            "{col} and {row}, e.g. '{stem}_dtm.tif'"
        ) from exc


def _as_catalog(
    sources: Catalog | Iterable[str | os.PathLike] | str | os.PathLike, crs: Any
) -> Catalog:
    if isinstance(sources, Catalog):
        return sources
    return Catalog.from_paths(sources, crs=crs, on_error="raise")


def _edge_facts(
    catalog: Catalog, grid: TileGrid
) -> tuple[dict[str, tuple[int, int] | None], frozenset[tuple[int, int]], set[tuple[int, int]]]:
    """What the edge rule needs from the headers: home tiles, real tiles, tiles to plan.

    A file carrying the ``buffer`` dimension, named as a tile of ``grid`` and
    reaching less than one tile past it, is that tile with a buffer: its own
    points are the tile's, so the tile is its home and its header box, cut to
    the tile, is what makes tiles real.

    Returns
    -------
    homes : dict
        Path (str) of each file → its home ``(col, row)`` or None.
    real : frozenset of (col, row)
        Tiles whose open interior a file's box meets (:meth:`TileGrid.real_cells`).
    planned : set of (col, row)
        The tiles that can hold points of their own: the real tiles, the home
        tiles, and the tiles of files whose box meets no open interior (a
        file lying on a grid line keeps its points in its half-open tiles).
    """
    homes: dict[str, tuple[int, int] | None] = {}
    real: set[tuple[int, int]] = set()
    planned: set[tuple[int, int]] = set()
    for f in catalog.files:
        box = (f.bounds[0], f.bounds[1], f.bounds[3], f.bounds[4])
        home = None
        if f.points > 0 and BUFFER_DIM in (n for n, _ in f.extra_dims):
            try:
                t = grid.tile_from_name(f.path.name.replace(".copc.laz", ".laz"))
            except ParameterError:
                t = None
            # less than a tile past it: a tile of this grid's size, not a bigger one
            lim = t.buffered(grid.size - EDGE_TOLERANCE) if t is not None else None
            if (
                t is not None
                and lim is not None
                and lim[0] <= box[0]
                and lim[1] <= box[1]
                and box[2] <= lim[2]
                and box[3] <= lim[3]
            ):
                home = (t.col, t.row)
                planned.add(home)
                box = (
                    max(box[0], t.bounds[0]),
                    max(box[1], t.bounds[1]),
                    min(box[2], t.bounds[2]),
                    min(box[3], t.bounds[3]),
                )
                if box[0] > box[2] or box[1] > box[3]:  # no point in the tile itself
                    box = t.bounds
        if home is None and f.points > 0:
            home = grid.home_cell(box)
        homes[str(f.path)] = home
        if f.points == 0:  # meaningless bounds
            continue
        cells = grid.real_cells([box])
        if cells:
            real |= cells
        else:  # a box lying on a grid line: its points stay in their half-open tiles
            cr, rr = grid.index_ranges(box)
            planned.update((c, r) for r in rr for c in cr)
    return homes, frozenset(real), planned | real


def _real_near(
    real: frozenset[tuple[int, int]], grid: TileGrid, tile: Tile, buffer: float
) -> frozenset[tuple[int, int]]:
    """The real tiles that the assignment of the points of ``tile``'s buffered box can
    involve: those within one tile of the box."""
    k = int(np.ceil((buffer + 2 * EDGE_TOLERANCE) / grid.size)) + 1
    return frozenset(
        (c, r)
        for c in range(tile.col - k, tile.col + k + 1)
        for r in range(tile.row - k, tile.row + k + 1)
        if (c, r) in real
    )


def plan(
    sources: Catalog | Iterable[str | os.PathLike],
    out_dir: str | os.PathLike,
    *,
    grid: TileGrid,
    buffer: float = 0.0,
    outputs: Sequence[str] = ("{stem}.laz",),
    overwrite: bool = False,
    tiles: Iterable[str] | None = None,
    crs: Any = None,
    point_format: int | None = None,
    chunk_size: int = las.DEFAULT_CHUNK_SIZE,
    source_buffer: float | None = None,
    las_version: str | None = None,
    manifest: Manifest | None = None,
    section: str = "tiles",
    attributes: Sequence[str] | None = None,
) -> tuple[list[TileTask], list[TileResult]]:
    """The tasks :func:`run` would submit, and the tiles it would skip.

    Parameters are those of :func:`run`.

    Returns
    -------
    tasks : list of TileTask
    skipped : list of TileResult
        Tiles whose outputs are all present (empty when ``overwrite``); with a
        ``manifest``, only those whose record matches this run (and tiles
        recorded as empty).

    Raises
    ------
    OutputExistsError
        With a ``manifest`` and without ``overwrite``: outputs exist that no
        record explains.
    """
    catalog = _as_catalog(sources, crs)
    catalog.require_consistent()
    if buffer < 0 or not np.isfinite(buffer):
        raise ParameterError(f"buffer must be a non-negative number of metres, got {buffer!r}")
    if grid.extent is None:
        grid = grid.with_extent(catalog.bounds)
    out_dir = Path(out_dir)
    wanted = set(tiles) if tiles is not None else None
    crs_wkt = None
    if crs is not None:
        from ..io.crs import parse_crs

        crs_wkt = parse_crs(crs).to_wkt()
    if source_buffer is not None and source_buffer < buffer:
        raise ParameterError(
            f"the sources hold a {source_buffer:g} m buffer, less than the {buffer:g} m asked; "
            "re-tile them with a larger --buffer or ask for a smaller buffer"
        )
    by_name = {}
    if source_buffer is not None:
        by_name = {
            f.path.name.replace(".copc.laz", ".laz"): f
            for f in catalog.files
            if BUFFER_DIM in (n for n, _ in f.extra_dims)
        }
    # the tiles that may hold points: those meeting a file's bounds (not the whole extent,
    # which may be mostly empty for diagonal strips), in row-major order
    # and holding points of their own by the edge rule (no tile of edge points only)
    homes, real, planned = _edge_facts(catalog, grid)
    cells = {(r, c) for c, r in planned}
    hashes = {} if manifest is None else manifest.fingerprints(catalog.paths)
    fresh = manifest is not None and manifest.is_fresh(section)
    unexplained: list[Path] = []
    tasks, skipped = [], []
    for r, c in sorted(cells):
        tile = grid.tile(c, r)
        if wanted is not None and tile.name not in wanted and tile.stem not in wanted:
            continue
        # the files that may hold points of the tile's core
        if not catalog.query(tile.bounds):
            continue
        names = [_format_output(t, tile) for t in outputs]
        box = tile.buffered(buffer + 2 * EDGE_TOLERANCE)  # as read_tile reads
        own_file = by_name.get(tile.name)
        files = [own_file] if own_file is not None else catalog.query(box)
        key = ""
        if manifest is not None:
            key = manifest.task_key(section, tile.name, [str(f.path) for f in files], hashes)
            if not overwrite and manifest.is_current(section, tile.name, key):
                entry = manifest.entry(section, tile.name) or {}
                status = "empty" if entry.get("status") == "empty" else "skipped"
                done = [str(out_dir / n) for n in names] if status == "skipped" else []
                info = dict(entry.get("info", {}))
                skipped.append(TileResult(tile.name, status, outputs=done, key=key, info=info))
                continue
            on_disk = [out_dir / n for n in names if (out_dir / n).exists()]
            if on_disk and fresh and not overwrite:
                unexplained += on_disk  # no record says what made them
            partial = bool(on_disk)
        else:
            if names and not overwrite and all((out_dir / n).exists() for n in names):
                skipped.append(
                    TileResult(tile.name, "skipped", outputs=[str(out_dir / n) for n in names])
                )
                continue
            partial = any((out_dir / n).exists() for n in names)
        tasks.append(
            TileTask(
                tile=tile,
                grid=grid,
                buffer=float(buffer),
                sources=tuple(str(f.path) for f in files),
                copc=tuple(bool(f.copc) for f in files),
                contained=tuple(
                    f.bounds[0] >= box[0]
                    and f.bounds[1] >= box[1]
                    and f.bounds[3] <= box[2]
                    and f.bounds[4] <= box[3]
                    for f in files
                ),
                out_dir=str(out_dir),
                outputs=tuple(names),
                overwrite=bool(overwrite or partial),
                crs_wkt=crs_wkt,
                point_format=point_format,
                chunk_size=int(chunk_size),
                prebuffered=own_file is not None,
                las_version=las_version,
                attributes=None if attributes is None else tuple(attributes),
                homes=tuple(homes.get(str(f.path)) for f in files),
                real_cells=_real_near(real, grid, tile, float(buffer)),
                key=key,
            )
        )
    if manifest is not None and unexplained:
        refuse_unknown_outputs(manifest, unexplained)
    return tasks, skipped


# --- one tile -------------------------------------------------------------------------


def read_tile(task: TileTask) -> tuple[PointCloud | None, np.ndarray]:
    """Read a task's tile plus buffer from its sources.

    Returns
    -------
    cloud : PointCloud or None
        None when the sources hold no point in the buffered box.
    core : numpy.ndarray of bool
        The points that belong to the tile by the grid's edge rule.
    """
    # the edge rule counts a point within EDGE_TOLERANCE past an edge as on it (float noise of
    # int * scale + offset): read that far too, or such points would belong to no task
    box = task.tile.buffered(task.buffer + 2 * EDGE_TOLERANCE)
    homes = task.homes or (None,) * len(task.sources)
    parts, cores = [], []
    for path, copc, inside, home in zip(
        task.sources, task.copc, task.contained, homes, strict=True
    ):
        if inside and not copc:
            cloud = las.read(path, crs=task.crs_wkt)
        else:
            cloud = las.read_window(path, box, crs=task.crs_wkt, chunk_size=task.chunk_size)
        own = None
        if BUFFER_DIM in cloud.attributes:
            if task.prebuffered:  # this tile, buffer included: keep the buffer inside the box
                cloud = cloud[cloud.in_box(*box)]
                # the re-tiler marked the tile's own points by the edge rule, homes included
                own = cloud.attributes[BUFFER_DIM] == 0
            else:  # a buffered tile of a neighbour: its buffer points belong elsewhere
                cloud = cloud[cloud.attributes[BUFFER_DIM] == 0]
            del cloud.attributes[BUFFER_DIM]
        if len(cloud):
            if own is None:  # the edge rule, with the home tile of this source
                col, row = task.grid.assign(cloud.x, cloud.y, home, task.real_cells)
                own = (col == task.tile.col) & (row == task.tile.row)
            parts.append(cloud)
            cores.append(own)
    if not parts:
        return None, np.zeros(0, bool)
    # sources of different point formats or extra dimensions join on the union of their
    # attributes; the writer widens the format to hold them all
    if task.attributes is not None:  # (before joining: the parts are smaller)
        keep = set(task.attributes)
        for part in parts:
            for name in [k for k in part.attributes if k not in keep]:
                del part.attributes[name]
    cloud = parts[0] if len(parts) == 1 else PointCloud.concatenate(parts)
    return cloud, np.concatenate(cores)


def _strip(result: PointCloud, n_in: int, core: np.ndarray, buffered: bool) -> PointCloud:
    if not buffered:
        return result
    if BUFFER_DIM in result.attributes:
        out = result[result.attributes[BUFFER_DIM] == 0]
        del out.attributes[BUFFER_DIM]
        return out
    if len(result) != n_in:
        raise ParameterError(
            f"the function returned {len(result)} points for {n_in} and dropped the {BUFFER_DIM!r} "
            "attribute, so its buffer points cannot be told apart; keep the attribute "
            "(subsets like cloud[mask] keep it)"
        )
    return result[core]


def run_task(func: Callable[..., Any], task: TileTask) -> TileResult:
    """Compute one tile: read, call ``func``, drop the buffer, write. Never raises:
    an error becomes a ``"failed"`` :class:`TileResult` with the message."""
    start = time.perf_counter()
    result = TileResult(task.tile.name, "done")
    try:
        cloud, core = read_tile(task)
        n_core = int(core.sum())
        result.points_read = 0 if cloud is None else len(cloud)
        result.points_core = n_core
        if cloud is None or n_core == 0:
            result.status = "empty"
            result.key = task.key
            return result
        buffered = task.buffer > 0
        if buffered:
            cloud[BUFFER_DIM] = (~core).astype(np.uint8)
        else:
            cloud = cloud[core]
            core = np.ones(len(cloud), bool)
        n_in = len(cloud)
        ctx = TileContext(
            task.tile, task.grid, task.buffer, core, Path(task.out_dir), task.overwrite,
            index=task.index, crs_wkt=task.crs_wkt, chunk_size=task.chunk_size,
        )  # fmt: skip
        out = func(cloud, ctx)
        points = out
        if isinstance(out, Mapping):
            points = out.get("points")
            result.info = {k: v for k, v in out.items() if k != "points"}
        if points is not None:
            if not isinstance(points, PointCloud):
                raise ParameterError(
                    f"the function returned {type(points).__name__}; return a PointCloud, a dict "
                    "(with an optional 'points' PointCloud) or None"
                )
            target = next((o for o in task.outputs if o.lower().endswith((".laz", ".las"))), None)
            if target is None:
                raise ParameterError(
                    "the function returned points but no .laz/.las output is declared; add "
                    "'{stem}.laz' to outputs"
                )
            points = _strip(points, n_in, core, buffered)
            las.write(
                points,
                Path(task.out_dir) / target,
                overwrite=task.overwrite,
                point_format=task.point_format,
                version=task.las_version,
            )
            result.points_written = len(points)
        missing = [o for o in task.outputs if not (Path(task.out_dir) / o).exists()]
        if missing:
            raise ParameterError(
                f"the function did not write the declared output(s) {', '.join(missing)}"
            )
        result.outputs = [str(Path(task.out_dir) / o) for o in task.outputs]
        if task.key:  # hashed here, in parallel and while the files are in the page cache
            result.key = task.key
            result.fingerprints = {o: file_fingerprint(o) for o in result.outputs}
    except Exception as exc:  # one tile's failure must not stop the others
        result.status = "failed"
        result.error = f"{type(exc).__name__}: {exc}"
        result.detail = traceback.format_exc()
    finally:
        result.seconds = time.perf_counter() - start
    return result


# --- the run --------------------------------------------------------------------------


@contextlib.contextmanager
def open_executor(scheduler: str | None = None, workers: int | None = None) -> Iterator[Any]:
    """The executor for the CLI options ``--scheduler ADDRESS`` and ``--workers N``.

    Yields a connected :class:`dask.distributed.Client` when ``scheduler`` is
    given (closed on exit; needs ``pip install 'pcrs[dask]'``), else
    ``"process"`` (or ``"serial"`` for one worker). Use it as::

        with open_executor(scheduler, workers) as executor:
            summary = run(func, files, out, grid=grid, executor=executor, workers=workers)
    """
    if scheduler:
        from ..errors import require_extra

        distributed = require_extra(
            "dask.distributed", "dask", "Running on a Dask cluster (--scheduler)"
        )
        try:
            client = distributed.Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise PcrsError(
                f"cannot connect to the Dask scheduler {scheduler!r} ({exc}); check the address "
                "(e.g. tcp://10.0.0.5:8786) and that the scheduler is running"
            ) from exc
        try:
            yield client
        finally:
            client.close()
        return
    yield "serial" if workers == 1 else "process"


def _is_dask_client(obj: Any) -> bool:
    return type(obj).__module__.startswith("distributed") and hasattr(obj, "get_executor")


def _default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


# local workers: they stop with their parent and leave Ctrl-C to it

_PR_SET_PDEATHSIG = 1  # linux/prctl.h
_PARENT_POLL_S = 0.5


def _worker_init(parent_pid: int) -> None:
    """Initializer of the local worker processes of :func:`run`.

    * SIGINT is ignored: a terminal sends Ctrl-C to the whole process group,
      and only the parent acts on it (it cancels the queued tiles and stops
      the workers), so no worker prints a ``KeyboardInterrupt`` traceback;
    * SIGTERM (from the parent stopping the pool, or from the kernel when the
      parent dies) removes the temporary files of the outputs being written
      and exits at once: no output appears after it;
    * the parent is watched: on Linux the kernel sends that SIGTERM when the
      parent dies (``PR_SET_PDEATHSIG``); everywhere, a daemon thread polls
      ``os.getppid()`` and stops the worker when the parent is gone.
    """
    import signal
    import sys
    import threading

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):  # blocked by the parent while it started us
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    signal.signal(signal.SIGTERM, _worker_stop)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before prctl
        _worker_stop()
    threading.Thread(
        target=_watch_parent, args=(parent_pid,), name="pcrs-parent-watch", daemon=True
    ).start()


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(_PARENT_POLL_S)
    _worker_stop()


def _worker_stop(signum: int | None = None, frame: Any = None) -> None:
    """Remove this worker's unfinished outputs and exit now (no cleanup of the pool)."""
    from ..io.atomic import discard_pending

    try:
        discard_pending(stop=True)
    finally:
        os._exit(128 + (signum or 15))


@contextlib.contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Block SIGINT in this thread for the block, then take a Ctrl-C that came meanwhile.

    The worker processes started in the block inherit the blocked signal, so
    a Ctrl-C can never interrupt their start-up (imports) before their
    initializer ignores it.
    """
    import signal

    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _stop_pool(pool: ProcessPoolExecutor, tasks: Sequence[TileTask]) -> None:
    """Stop a local pool now: cancel the queued tiles, end the workers, remove their
    temporary files (a worker killed after the grace time could not)."""
    from ..io.atomic import sweep_stale

    with _sigint_deferred():
        procs = list((getattr(pool, "_processes", None) or {}).values())
        manager = getattr(pool, "_executor_manager_thread", None)
        pool.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            with contextlib.suppress(Exception):
                p.terminate()  # SIGTERM: the worker removes its temporary files and exits
        deadline = time.monotonic() + 2.0
        for p in procs:
            with contextlib.suppress(Exception):
                p.join(max(0.0, deadline - time.monotonic()))
                if p.is_alive():
                    p.kill()
                    p.join(2.0)
        if manager is not None:
            manager.join(5.0)
        folders = {Path(t.out_dir) for t in tasks}
        folders |= {(Path(t.out_dir) / o).parent for t in tasks for o in t.outputs}
        for folder in folders:
            sweep_stale(folder)


def run(
    func: Callable[..., Any],
    sources: Catalog | Iterable[str | os.PathLike] | str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    grid: TileGrid,
    buffer: float = 0.0,
    executor: Any = None,
    workers: int | None = None,
    overwrite: bool = False,
    outputs: Sequence[str] = ("{stem}.laz",),
    tiles: Iterable[str] | None = None,
    crs: Any = None,
    point_format: int | None = None,
    chunk_size: int = las.DEFAULT_CHUNK_SIZE,
    source_buffer: float | None = None,
    prebuffer: bool = False,
    las_version: str | None = None,
    description: str = "tiles",
    manifest: Manifest | None = None,
    section: str = "tiles",
    params: Mapping[str, Any] | None = None,
    attributes: Sequence[str] | None = None,
) -> RunSummary:
    """Run ``func`` over every tile of ``grid`` that meets the ``sources``.

    Parameters
    ----------
    func : callable
        ``func(cloud: PointCloud, ctx: TileContext)`` returning a
        :class:`~pcrs.points.PointCloud` (written as the tile's ``.laz``
        output, buffer dropped), ``None`` (nothing written by the engine), or
        a dict with an optional ``"points"`` cloud and JSON-ready facts kept in
        :attr:`TileResult.info`. Must be picklable for the process and Dask
        executors (a module-level function or a ``functools.partial``).
    sources : Catalog, path-like or iterable of path-like
        Files and folders of LAS/LAZ/COPC files.
    out_dir : path-like
    grid : TileGrid
        Tile size, origin and naming. Its ``extent`` defaults to the catalog's bounds.
    buffer : float
        Metres of neighbouring points given to ``func`` around each tile.
    executor : {"process", "serial"}, dask.distributed.Client or concurrent.futures.Executor, optional
        Default ``"process"`` (a local pool of ``workers`` processes).
    workers : int, optional
        Local processes (default: the number of cores, at most 8).
    overwrite : bool
        Recompute tiles whose outputs exist.
    outputs : sequence of str
        The files each tile produces, as templates of :meth:`TileContext.path`;
        a tile is complete when they all exist. The first ``.laz``/``.las``
        template receives the returned points.
    tiles : iterable of str, optional
        Only these tile names (or stems).
    crs : CRS-like, optional
        CRS of the sources when their headers lack it or are wrong.
    point_format : int, optional
        Point format of the written tiles (default: the sources', widened only
        when the points need it; see :func:`pcrs.io.las.write`).
    chunk_size : int
        Points per chunk when filtering non-COPC sources.
    source_buffer : float, optional
        Declare that the sources are the tiles of this same ``grid`` written by
        ``pcrs tile --buffer source_buffer`` (named like the grid's tiles, with
        the ``buffer`` dimension). Each task then reads only its own file, whose
        buffer already holds the neighbours' points, instead of decompressing
        every neighbouring file: the fast path for non-COPC catalogs.
    las_version : str, optional
        LAS version of the written tiles (default: the sources', or what the format needs).
    prebuffer : bool
        Take that fast path automatically: re-tile the sources with the buffer
        into a temporary folder inside ``out_dir`` (one streaming pass,
        :func:`pcrs.tiling.retile.retile`), run on those tiles with
        ``source_buffer=buffer``, then remove the folder. Skipped when every
        tile is already complete. Needs disk space for the buffered tiles.
    description : str
        Label of the progress bar.
    attributes : sequence of str, optional
        The attributes ``func`` uses besides x, y, z (e.g. ``("classification",)``):
        the others are dropped as soon as a tile is read, so that a worker holds less
        while ``func`` runs. Default: every attribute of the sources. Points written by
        the engine then carry only these.
    manifest : Manifest, optional
        Record what made each output in this manifest (see
        :mod:`pcrs.tiling.manifest`) and skip a tile only when its record
        matches this run: same ``params``, same content of its source files.
        Without it, a tile is skipped when its outputs exist.
    section : str
        Name of this run's part of the manifest (e.g. ``"classify"``).
    params : mapping, optional
        JSON-ready parameters of ``func`` that change its outputs (with a
        ``manifest``); ``buffer``, the grid, the output layout and the
        output templates are added.

    Returns
    -------
    RunSummary
        One result per tile; failed tiles carry their error.

    Raises
    ------
    OutputExistsError
        With a ``manifest``, without ``overwrite``: the folder holds outputs
        made with other parameters, or outputs no record explains.
    """
    refuse_in_bootstrap("run_tiles")
    start = time.perf_counter()
    stale: list[Path] = []
    if manifest is not None:
        if prebuffer:
            raise ParameterError("prebuffer and manifest cannot be used together")
        manifest.prepare(
            section,
            run_params(params, buffer, grid, outputs, point_format, las_version, crs),
            overwrite=overwrite,
        )
        stale = manifest.take_stale(section)
    if prebuffer and buffer > 0 and source_buffer is None:
        return _run_prebuffered(
            func,
            sources,
            out_dir,
            grid=grid,
            buffer=buffer,
            executor=executor,
            workers=workers,
            overwrite=overwrite,
            outputs=outputs,
            tiles=tiles,
            crs=crs,
            point_format=point_format,
            las_version=las_version,
            chunk_size=chunk_size,
            description=description,
            attributes=attributes,
        )
    catalog = _as_catalog(sources, crs)
    tasks, skipped = plan(
        catalog,
        out_dir,
        grid=grid,
        buffer=buffer,
        outputs=outputs,
        overwrite=overwrite,
        tiles=tiles,
        crs=crs,
        point_format=point_format,
        chunk_size=chunk_size,
        source_buffer=source_buffer,
        las_version=las_version,
        manifest=manifest,
        section=section,
        attributes=attributes,
    )
    order = {t.tile.name: i for i, t in enumerate(tasks)}
    results: list[TileResult] = list(skipped)
    if skipped:
        log.info("%d tile(s) already complete, skipped", len(skipped))
    on_result = None
    if manifest is not None:
        for t in tasks:  # recomputed: no record until it is finished
            manifest.forget(section, t.tile.name)

        def on_result(r: TileResult) -> None:
            if r.status in ("done", "empty") and r.key:
                manifest.record(section, r.name, r.key, r.fingerprints, r.status, r.info)
            else:
                manifest.forget(section, r.name)
            manifest.save(force=False)

    try:
        if tasks:
            with _sources_index(catalog, Path(out_dir), tasks) as indexed:
                results += _execute(func, indexed, executor, workers, description, on_result)
    finally:
        if manifest is not None:
            manifest.save()
    if stale:  # outputs of other parameters that this run did not replace
        mine = {Path(o).resolve() for r in results for o in r.outputs}
        for path in stale:
            if path.resolve() not in mine:
                path.unlink(missing_ok=True)
    for r in results:
        if r.status == "failed":
            log.warning("tile %s failed: %s", r.name, r.error)
            log.debug("%s", r.detail)
        else:
            log.info("tile %s: %s", r.name, r.status)
    results.sort(key=lambda r: order.get(r.name, -1))
    return RunSummary(results, time.perf_counter() - start)


def run_params(
    params: Mapping[str, Any] | None,
    buffer: float,
    grid: TileGrid,
    outputs: Sequence[str],
    point_format: int | None = None,
    las_version: str | None = None,
    crs: Any = None,
) -> dict[str, Any]:
    """The parameters :func:`run` records in a manifest section: the function's
    ``params`` and the run's own (buffer, grid, output templates and layout, CRS)."""
    return {
        **dict(params or {}),
        "buffer": float(buffer),
        "grid": {
            "size": grid.size,
            "origin": list(grid.origin),
            "naming": grid.naming,
            "prefix": grid.prefix,
        },
        "outputs": list(outputs),
        "point_format": point_format,
        "las_version": las_version,
        "crs": None if crs is None else str(crs),
    }


_INDEXES: dict[tuple[str, int], dict[str, Any]] = {}


def _load_index(path: str) -> dict[str, Any]:
    """The sources index of a run, read once per worker process."""
    import json

    key = (path, os.stat(path).st_mtime_ns)
    if key not in _INDEXES:
        _INDEXES.clear()
        _INDEXES[key] = json.loads(Path(path).read_text(encoding="utf-8"))
    return _INDEXES[key]


@contextlib.contextmanager
def _sources_index(
    catalog: Catalog, out_dir: Path, tasks: list[TileTask]
) -> Iterator[list[TileTask]]:
    """Write the index of the sources that :meth:`TileContext.read` uses into ``out_dir``
    (a hidden file, removed after the run) and give the tasks its path."""
    import dataclasses
    import json

    if not tasks:
        yield tasks
        return
    from ..io.atomic import atomic_path

    b = catalog.bounds
    data = {
        "extent": list(b),
        "files": [
            [str(f.path), [f.bounds[0], f.bounds[1], f.bounds[3], f.bounds[4]], bool(f.copc)]
            for f in catalog.files
            if f.points > 0
        ],
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f".pcrs-sources-{os.getpid()}-{id(tasks):x}.json"
    with atomic_path(path, overwrite=True) as tmp:
        tmp.write_text(json.dumps(data), encoding="utf-8")
    try:
        yield [dataclasses.replace(t, index=str(path)) for t in tasks]
    finally:
        path.unlink(missing_ok=True)


def _run_prebuffered(func, sources, out_dir, *, grid, buffer, crs, chunk_size, **kw) -> RunSummary:
    import shutil
    import tempfile

    from .retile import retile

    start = time.perf_counter()
    catalog = _as_catalog(sources, crs)
    catalog.require_consistent()
    if grid.extent is None:
        grid = grid.with_extent(catalog.bounds)
    tasks, _ = plan(
        catalog,
        out_dir,
        grid=grid,
        buffer=buffer,
        outputs=kw["outputs"],
        overwrite=kw["overwrite"],
        tiles=kw["tiles"],
        crs=crs,
    )
    if not tasks:  # everything complete: no need to re-tile
        return run(
            func, catalog, out_dir, grid=grid, buffer=buffer, crs=crs, chunk_size=chunk_size, **kw
        )
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".pcrs-buffered-", dir=out_dir))
    try:
        log.info("re-tiling the sources with a %g m buffer into %s", buffer, tmp)
        retile(catalog, tmp, grid, buffer=buffer, overwrite=True, chunk_size=chunk_size, crs=crs)
        buffered = sorted(tmp.glob("*.laz"))
        if not buffered:
            return RunSummary([], time.perf_counter() - start)
        summary = run(
            func,
            Catalog.from_paths(buffered, crs=crs, on_error="raise"),
            out_dir,
            grid=grid,
            buffer=buffer,
            crs=crs,
            chunk_size=chunk_size,
            source_buffer=buffer,
            **kw,
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    summary.seconds = time.perf_counter() - start
    return summary


def _execute(
    func: Callable[..., Any],
    tasks: list[TileTask],
    executor: Any,
    workers: int | None,
    description: str,
    on_result: Callable[[TileResult], None] | None = None,
) -> list[TileResult]:
    if executor is None:
        executor = "process"
    if executor != "serial":
        _require_picklable(func)
    if isinstance(executor, str):
        if executor not in EXECUTORS:
            raise ParameterError(
                f"executor {executor!r} is unknown; use one of {', '.join(EXECUTORS)}, "
                "a dask.distributed.Client or a concurrent.futures.Executor"
            )
        n = int(workers) if workers else _default_workers()
        if n < 1:
            raise ParameterError(f"workers must be at least 1, got {workers!r}")
        if executor == "serial" or n == 1 or len(tasks) == 1:
            out = []
            for t in progress(tasks, len(tasks), description):
                out.append(run_task(func, t))
                if on_result is not None:
                    on_result(out[-1])
                _stop_on_environment_fault(out[-1])
            return out
        import multiprocessing

        # spawn: safe with threads in the parent, same behaviour on every OS
        pool = ProcessPoolExecutor(
            max_workers=min(n, len(tasks)),
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_init,
            initargs=(os.getpid(),),
        )
        try:
            results = _collect(pool, func, tasks, description, local=True, on_result=on_result)
        except BaseException:  # Ctrl-C or an error of the parent: no worker goes on writing
            _stop_pool(pool, tasks)
            raise
        pool.shutdown(wait=True)
        return results
    if _is_dask_client(executor):
        cf = executor.get_executor(pure=False)
        return _collect(cf, func, tasks, description, on_result=on_result)
    if isinstance(executor, Executor):
        return _collect(executor, func, tasks, description, on_result=on_result)
    raise ParameterError(
        f"executor {executor!r} is not usable; give 'serial', 'process', a dask.distributed.Client "
        "or a concurrent.futures.Executor"
    )


def _require_picklable(func: Callable[..., Any]) -> None:
    import pickle

    try:
        pickle.dumps(func)
    except Exception as exc:
        raise ParameterError(
            f"the function {getattr(func, '__name__', func)!r} cannot be sent to worker processes "
            f"({type(exc).__name__}: {exc}); define it at module level (no lambda or nested "
            "function) and bind its parameters with functools.partial, or use executor='serial'"
        ) from exc


def _collect(
    pool: Any,
    func: Callable[..., Any],
    tasks: list[TileTask],
    description: str,
    local: bool = False,
    on_result: Callable[[TileResult], None] | None = None,
) -> list[TileResult]:
    # a local pool starts its workers while the tasks are submitted
    with _sigint_deferred() if local else contextlib.nullcontext():
        futures: dict[Future, TileTask] = {pool.submit(run_task, func, t): t for t in tasks}
    # the workers, to tell later why the pool broke (their exit codes)
    workers = list(getattr(pool, "_processes", {}).values()) if local else []
    out = []
    try:
        for fut in progress(as_completed(futures), len(futures), description):
            task = futures[fut]
            try:
                out.append(fut.result())
            except (KeyboardInterrupt, SystemExit):
                raise
            except BrokenProcessPool as exc:  # every task left would fail the same way
                if not local:
                    raise
                from .._spawn import explain_broken_pool

                what = "process" if description.endswith("ing tiles") else "run_tiles"
                codes = [getattr(w, "exitcode", None) for w in workers]
                raise PcrsError(explain_broken_pool(exc, what=what, exitcodes=codes)) from exc
            except BaseException as exc:  # the worker died (killed, out of memory) or a Rust panic
                out.append(
                    TileResult(
                        task.tile.name,
                        "failed",
                        error=f"{type(exc).__name__}: {exc}",
                        detail=traceback.format_exc(),
                    )
                )
            if on_result is not None:
                on_result(out[-1])
            _stop_on_environment_fault(out[-1])
    except BaseException:
        for fut in futures:
            fut.cancel()
        raise
    return out


def _stop_on_environment_fault(result: TileResult) -> None:
    """Stop the run at the first tile that a full disk or a read-only folder made fail:
    every other tile would fail the same way."""
    from ..errors import PcrsIOError
    from ..io.atomic import ENVIRONMENT_FAULT

    if result.status == "failed" and result.error and ENVIRONMENT_FAULT in result.error:
        message = result.error.split(": ", 1)[-1]
        raise PcrsIOError(
            f"{message} (the run stopped at tile {result.name}; the finished tiles are kept "
            "and skipped when the same command is run again)"
        )
