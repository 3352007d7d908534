"""Streaming re-tiling of LAS/LAZ/COPC files onto a regular grid, with optional buffers.

:func:`retile` reads the inputs once, chunk by chunk
(:func:`pcrs.io.las.iter_chunks`), assigns every point to its tile by the
grid's edge rule (:mod:`pcrs.tiling.grid`) and appends it to that tile's
output. Memory is bounded by the chunk size, not by the input size:

- **direct** mode (when the grid has at most ``max_open`` tiles over the
  data): one :class:`~pcrs.io.las.LasStreamWriter` per tile stays open and
  receives its points chunk by chunk; a LAZ writer holds one compressed chunk
  at a time, so memory is about ``chunk_size`` points plus ``max_open`` small
  writer states.
- **spill** mode (more tiles than ``max_open``, e.g. a long strip cut into
  many small tiles): each chunk's points are appended to per-tile raw files
  in a temporary folder beside the outputs (the file is opened, appended and
  closed at once, so no file handle stays open); then each tile is
  compressed in turn, read back in chunks through a memory map. It needs
  temporary disk space of about the uncompressed size of the input.

Without a buffer the output tiles are a partition of the input: every point
is in exactly one tile, with all its attributes (classes ≥ 32, GPS time,
RGB/NIR, extra dimensions) and its exact integer coordinates (tiles keep the
input's scales and offsets). The order of points inside a tile is the input
order.

With ``buffer=B`` each tile also receives the points of its neighbours that
lie within ``B`` metres of its edges (a closed box), and every tile gets an
extra-bytes dimension ``buffer`` (``uint8``; 0 for the tile's own points, 1
for buffer points). :func:`strip_buffer` (``pcrs tile --strip-buffer``)
removes the buffer points and the dimension again, giving exactly the
unbuffered tile. Tiles with no point of their own are not written.

Outputs are written atomically: they appear under their final names only
when the whole run succeeded.

Example
-------
>>> import tempfile, pathlib
>>> from pcrs import synth
>>> from pcrs.io import las
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> las.write(synth.make_scene(20_000, seed=1).cloud, d / "in.laz")
>>> summary = retile([d / "in.laz"], d / "tiles", TileGrid(50))
>>> summary.points_in == sum(summary.tiles.values())
True
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import shutil
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._progress import progress
from ..errors import OutputExistsError, ParameterError
from ..io import las
from ..io.atomic import abandon
from ..io.crs import horizontal_epsg
from ..points import PointCloud
from .catalog import Catalog
from .engine import BUFFER_DIM
from .grid import TileGrid

__all__ = ["DEFAULT_MAX_OPEN", "RetileSummary", "retile", "strip_buffer"]

log = logging.getLogger(__name__)

#: Most LAZ writers kept open at once in direct mode.
DEFAULT_MAX_OPEN = 128


@dataclass
class RetileSummary:
    """What :func:`retile` wrote.

    Attributes
    ----------
    tiles : dict
        Tile file name → number of its own (core) points.
    buffer_points : dict
        Tile file name → number of buffer points (empty without a buffer).
    points_in : int
        Points read from the inputs.
    mode : str
        ``"direct"`` or ``"spill"``.
    seconds : float
    out_dir : Path
    """

    tiles: dict[str, int] = field(default_factory=dict)
    buffer_points: dict[str, int] = field(default_factory=dict)
    points_in: int = 0
    mode: str = "direct"
    seconds: float = 0.0
    out_dir: Path = Path(".")

    @property
    def paths(self) -> list[Path]:
        """The written tile files."""
        return [self.out_dir / n for n in self.tiles]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "out_dir": str(self.out_dir),
            "mode": self.mode,
            "points_in": self.points_in,
            "points_written": sum(self.tiles.values()) + sum(self.buffer_points.values()),
            "seconds": round(self.seconds, 3),
            "tiles": [
                {"name": n, "points": c, "buffer_points": self.buffer_points.get(n, 0)}
                for n, c in self.tiles.items()
            ],
        }


# --- per-chunk assignment -------------------------------------------------------------


def _assign(
    cloud: PointCloud,
    grid: TileGrid,
    buffer: float,
    cols: range,
    rows: range,
    home: tuple[int, int] | None = None,
    real: frozenset[tuple[int, int]] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Point indices, tile keys and buffer flags of every (point, tile) membership.

    ``home`` is the home tile of the file the points come from and ``real``
    the real tiles of the catalog (:meth:`TileGrid.assign`). Keys are
    ``row_offset * ncols + col_offset`` over the planned tiles.
    """
    ncols = len(cols)
    col, row = grid.assign(cloud.x, cloud.y, home, real)
    outside = (col < cols.start) | (col >= cols.stop) | (row < rows.start) | (row >= rows.stop)
    if outside.any():  # cannot happen with truthful header bounds
        raise ParameterError(
            f"{int(outside.sum())} point(s) lie outside the bounds announced by the file headers; "
            "the headers are wrong: rewrite the files (pcrs.write(pcrs.read(path), new_path) "
            "recomputes the header; or pdal translate, lasinfo -repair_bb)"
        )
    n = len(cloud)
    idx_parts = [np.arange(n)]
    key_parts = [(row - rows.start) * ncols + (col - cols.start)]
    flag_parts = [np.zeros(n, np.uint8)]
    if buffer > 0:
        # a point on a grid line is within ``buffer`` of floor(buffer / size) + 1 tiles on
        # either side (ceil falls one short when buffer is a multiple of the size)
        k = math.floor(buffer / grid.size) + 1
        x0, y0 = grid.origin
        s = grid.size
        for dr in range(-k, k + 1):
            for dc in range(-k, k + 1):
                if dr == 0 and dc == 0:
                    continue
                nc, nr = col + dc, row + dr
                xmin = x0 + nc * s - buffer
                ymin = y0 + nr * s - buffer
                near = (
                    (cloud.x >= xmin)
                    & (cloud.x <= xmin + s + 2 * buffer)
                    & (cloud.y >= ymin)
                    & (cloud.y <= ymin + s + 2 * buffer)
                    & (nc >= cols.start)
                    & (nc < cols.stop)
                    & (nr >= rows.start)
                    & (nr < rows.stop)
                )
                sel = np.flatnonzero(near)
                if sel.size:
                    idx_parts.append(sel)
                    key_parts.append((nr[sel] - rows.start) * ncols + (nc[sel] - cols.start))
                    flag_parts.append(np.ones(sel.size, np.uint8))
    idx = np.concatenate(idx_parts)
    key = np.concatenate(key_parts)
    flag = np.concatenate(flag_parts)
    order = np.argsort(key, kind="stable")
    return idx[order], key[order], flag[order]


def _groups(keys: np.ndarray) -> Iterable[tuple[int, int, int]]:
    """``(key, start, stop)`` runs of a sorted key array."""
    if keys.size == 0:
        return []
    cut = np.flatnonzero(np.diff(keys)) + 1
    starts = np.concatenate([[0], cut])
    stops = np.concatenate([cut, [keys.size]])
    return zip(keys[starts].tolist(), starts.tolist(), stops.tolist(), strict=True)


# --- sinks ----------------------------------------------------------------------------


class _DirectSink:
    """One open LasStreamWriter per tile."""

    def __init__(self, template: PointCloud, overwrite: bool, layout: dict[str, Any]) -> None:
        self.template = template
        self.overwrite = overwrite
        self.layout = layout
        self.writers: dict[Path, las.LasStreamWriter] = {}

    def append(self, path: Path, part: PointCloud) -> None:
        w = self.writers.get(path)
        if w is None:
            w = las.LasStreamWriter(path, self.template, overwrite=self.overwrite, **self.layout)
            w.__enter__()
            self.writers[path] = w
        w.write(part)

    def finish(self, keep: set[Path]) -> None:
        errors = []
        for path, w in self.writers.items():
            try:
                if path in keep:
                    w.__exit__(None, None, None)
                else:  # no point of its own: discard
                    w.__exit__(ParameterError, ParameterError("empty tile"), None)
            except Exception as exc:  # close every writer before raising
                # a writer that failed while closing: remove its temporary file, name the tile
                errors.append(abandon(path, exc))
        self.writers.clear()
        if errors:
            raise errors[0]

    def abort(self) -> None:
        for w in self.writers.values():
            with contextlib.suppress(Exception):
                w.__exit__(RuntimeError, RuntimeError("aborted"), None)
        self.writers.clear()


class _SpillSink:
    """Per-tile raw record files, compressed one tile at a time at the end."""

    def __init__(
        self, template: PointCloud, folder: Path, overwrite: bool, layout: dict[str, Any]
    ) -> None:
        self.template = template
        self.overwrite = overwrite
        self.layout = layout
        self.dir = Path(tempfile.mkdtemp(prefix=".pcrs-retile-", dir=folder))
        fields: list[tuple[Any, ...]] = [("x", "<f8"), ("y", "<f8"), ("z", "<f8")]
        for name, arr in template.attributes.items():
            fields.append(
                (name, arr.dtype.str, arr.shape[1:]) if arr.ndim > 1 else (name, arr.dtype.str)
            )
        self.dtype = np.dtype(fields)
        self.spills: dict[Path, Path] = {}

    def append(self, path: Path, part: PointCloud) -> None:
        rec = np.empty(len(part), self.dtype)
        rec["x"], rec["y"], rec["z"] = part.x, part.y, part.z
        for name in self.template.attributes:
            rec[name] = part.attributes[name]
        spill = self.spills.get(path)
        if spill is None:
            spill = self.dir / f"{len(self.spills)}.bin"
            self.spills[path] = spill
        with open(spill, "ab") as fh:
            rec.tofile(fh)

    def finish(self, keep: set[Path], chunk_size: int) -> None:
        try:
            for path, spill in progress(
                list(self.spills.items()), len(self.spills), "compressing tiles"
            ):
                if path not in keep:
                    continue
                data = np.memmap(spill, dtype=self.dtype, mode="r")
                try:
                    with las.LasStreamWriter(
                        path,
                        self.template,
                        overwrite=self.overwrite,
                        **self.layout,
                    ) as w:
                        for start in range(0, len(data), chunk_size):
                            rec = np.array(data[start : start + chunk_size])
                            w.write(
                                PointCloud(
                                    rec["x"],
                                    rec["y"],
                                    rec["z"],
                                    {n: rec[n] for n in self.template.attributes},
                                    self.template.crs,
                                    self.template.layout,
                                )
                            )
                except Exception as exc:  # e.g. failed while closing: no temporary file left
                    err = abandon(path, exc)
                    if err is exc:
                        raise
                    raise err from exc
                del data
                spill.unlink()
        finally:
            self.abort()

    def abort(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


# --- the re-tiler ---------------------------------------------------------------------


def _empty_of(path: Path, crs: Any) -> PointCloud:
    with contextlib.closing(las.iter_chunks(path, 1, crs=crs)) as chunks:
        cloud = next(chunks, None)
    if cloud is None:
        cloud = las.read(path, crs=crs)
    cloud = cloud[:0]
    if BUFFER_DIM in cloud.attributes:
        raise ParameterError(
            f"{path}: already has a {BUFFER_DIM!r} dimension (a buffered tile); "
            "strip the buffers first (pcrs tile --strip-buffer) or tile the unbuffered files"
        )
    return cloud


def _template(catalog: Catalog, crs: Any, buffer: float) -> PointCloud:
    """An empty cloud with every attribute of the catalog: the first file's layout, and
    the union of the dimensions when the files have different point formats."""
    kinds: dict[tuple, Path] = {}
    for f in catalog.files:
        kinds.setdefault((f.point_format, tuple(f.extra_dims)), f.path)
    parts = [_empty_of(path, crs) for path in kinds.values()]
    cloud = parts[0] if len(parts) == 1 else PointCloud.concatenate(parts)
    if buffer > 0:
        cloud[BUFFER_DIM] = np.zeros(0, np.uint8)
    return cloud


def retile(
    sources: Catalog | Iterable[str | os.PathLike] | str | os.PathLike,
    out_dir: str | os.PathLike,
    grid: TileGrid,
    *,
    buffer: float = 0.0,
    overwrite: bool = False,
    chunk_size: int = las.DEFAULT_CHUNK_SIZE,
    max_open: int = DEFAULT_MAX_OPEN,
    mode: str = "auto",
    crs: Any = None,
    point_format: int | None = None,
    las_version: str | None = None,
) -> RetileSummary:
    """Cut LAS/LAZ/COPC files into the tiles of ``grid``, streaming.

    Parameters
    ----------
    sources : Catalog, path-like or iterable of path-like
        Files and folders; they must share CRS, point format and extra dimensions.
    out_dir : path-like
        Output folder (created).
    grid : TileGrid
        Size, origin and naming of the tiles. Its ``extent`` defaults to the
        inputs' bounds (for the outer-edge rule).
    buffer : float
        Metres of neighbouring points added to each tile, marked by the
        ``buffer`` extra dimension (see the module docstring).
    overwrite : bool
        Replace existing tiles; otherwise an existing tile name stops the run
        before anything is read.
    chunk_size : int
        Points read at a time.
    max_open : int
        Most tiles written in direct mode; more tiles switch to spill mode.
    mode : {"auto", "direct", "spill"}
    crs : CRS-like, optional
        CRS of the inputs when their headers lack it or are wrong.
    point_format : int, optional
        Point format of the tiles (default: the inputs', or the smallest one
        holding the dimensions of all of them when their formats differ).
    las_version : str, optional
        LAS version of the tiles (default: the inputs', or what the format needs).

    Returns
    -------
    RetileSummary

    Raises
    ------
    OutputExistsError
        When a tile exists and ``overwrite`` is false.
    CRSError, ParameterError
        Mixed CRSs, point formats or extra dimensions; bad parameters.
    """
    start = time.perf_counter()
    if mode not in ("auto", "direct", "spill"):
        raise ParameterError(f"mode must be 'auto', 'direct' or 'spill', got {mode!r}")
    if not (buffer >= 0 and math.isfinite(buffer)):
        raise ParameterError(f"buffer must be a non-negative number of metres, got {buffer!r}")
    if int(max_open) < 1:
        raise ParameterError(f"max_open must be at least 1, got {max_open!r}")
    catalog = (
        sources
        if isinstance(sources, Catalog)
        else Catalog.from_paths(sources, crs=crs, on_error="raise")
    )
    catalog.require_consistent()
    if grid.naming == "ign":
        code = horizontal_epsg(catalog.crs)
        if code != 2154:
            log.warning(
                "IGN tile names say Lambert-93 (EPSG:2154) but the data is in %s; "
                "the names will be misleading, consider --naming xy",
                f"EPSG:{code}" if code else "an unknown CRS",
            )
    scales = {f.scales for f in catalog.files}
    if len(scales) > 1:
        log.warning(
            "the inputs have different coordinate scales (%s); the tiles use %s, the scales of %s",
            ", ".join(str(s) for s in sorted(scales)),
            catalog.files[0].scales,
            catalog.files[0].path,
        )
    if grid.extent is None:
        grid = grid.with_extent(catalog.bounds)
    assert grid.extent is not None  # with_extent(bounds) always sets it
    cols, rows = grid.index_ranges(grid.extent)
    # the edge rule's home tiles and real tiles, from the headers (TileGrid.assign)
    live = [f for f in catalog.files if f.points > 0]
    real = grid.real_cells(f.bounds for f in live)
    homes = {id(f): grid.home_cell(f.bounds) for f in live}
    # headers round their bounds (PDAL's test_epsg_4326.las: a point 5e-5 degree past them):
    # one more tile around takes such points; only tiles with points of their own are written
    cols, rows = range(cols.start - 1, cols.stop + 1), range(rows.start - 1, rows.stop + 1)
    n_tiles = len(cols) * len(rows)
    out_dir = Path(out_dir)
    name_cache: dict[int, str] = {}

    def name_of(key: int) -> str:
        name = name_cache.get(key)
        if name is None:
            r, c = divmod(key, len(cols))
            name = name_cache[key] = grid.name(c + cols.start, r + rows.start)
        return name

    if not overwrite and out_dir.is_dir():
        # existing files that are tiles this run can write (tiles meeting a file's bounds)
        clash = []
        for existing in sorted(out_dir.glob("*.laz")):
            try:
                t = grid.tile_from_name(existing.name)
            except ParameterError:
                continue
            if t.col in cols and t.row in rows and catalog.query(t.bounds):
                clash.append(existing)
        if clash:
            raise OutputExistsError(
                f"{clash[0]}: already exists ({len(clash)} tile(s) in all); "
                "pass --overwrite (overwrite=True) to replace them"
            )
    out_dir.mkdir(parents=True, exist_ok=True)
    template = _template(catalog, crs, buffer)
    layout = {"point_format": point_format, "version": las_version}
    chosen = mode if mode != "auto" else ("direct" if n_tiles <= max_open else "spill")
    sink: Any = (
        _DirectSink(template, overwrite, layout)
        if chosen == "direct"
        else _SpillSink(template, out_dir, overwrite, layout)
    )
    core_counts: dict[int, int] = {}
    buf_counts: dict[int, int] = {}
    points_in = 0
    names_attr = list(template.attributes)
    log.info(
        "re-tiling %d file(s), %d points, into at most %d tiles (%s mode)",
        len(catalog),
        catalog.points,
        n_tiles,
        chosen,
    )
    try:
        total_chunks = sum(max(1, math.ceil(f.points / chunk_size)) for f in catalog.files)
        chunks = (
            (homes.get(id(f)), chunk)
            for f in catalog.files
            for chunk in las.iter_chunks(f.path, chunk_size, crs=crs)
        )
        for home, chunk in progress(chunks, total_chunks, "tiling"):
            points_in += len(chunk)
            if buffer > 0:
                chunk[BUFFER_DIM] = np.zeros(len(chunk), np.uint8)
            if list(chunk.attributes) != names_attr:  # another point format: to the union
                chunk = PointCloud.concatenate([template, chunk])
            idx, keys, flags = _assign(chunk, grid, buffer, cols, rows, home, real)
            part_all = chunk[idx]
            if buffer > 0:
                part_all.attributes[BUFFER_DIM] = flags
            for counts, sel in ((core_counts, flags == 0), (buf_counts, flags == 1)):
                uk, n = np.unique(keys[sel], return_counts=True)
                for k, v in zip(uk.tolist(), n.tolist(), strict=True):
                    counts[k] = counts.get(k, 0) + v
            for key, a, b in _groups(keys):
                sink.append(out_dir / name_of(key), part_all[a:b])
        keep = {out_dir / name_of(k) for k in core_counts}
        if chosen == "direct":
            sink.finish(keep)
        else:
            sink.finish(keep, chunk_size)
    except BaseException:
        sink.abort()
        raise
    summary = RetileSummary(points_in=points_in, mode=chosen, out_dir=out_dir)
    for k in sorted(core_counts):
        summary.tiles[name_of(k)] = core_counts[k]
        if buffer > 0:
            summary.buffer_points[name_of(k)] = buf_counts.get(k, 0)
    summary.seconds = time.perf_counter() - start
    return summary


def strip_buffer(
    src: str | os.PathLike,
    dst: str | os.PathLike,
    *,
    overwrite: bool = False,
    chunk_size: int = las.DEFAULT_CHUNK_SIZE,
) -> int:
    """Write ``src`` without its buffer points and without the ``buffer`` dimension.

    Parameters
    ----------
    src : path-like
        A tile written by :func:`retile` with a buffer.
    dst : path-like
        Output file (may not be ``src``).
    overwrite : bool
    chunk_size : int

    Returns
    -------
    int
        Number of points kept.

    Raises
    ------
    ParameterError
        When ``src`` has no ``buffer`` dimension.
    """
    src, dst = Path(src), Path(dst)
    facts = las.info(src)
    if BUFFER_DIM not in [n for n, _ in facts.extra_dims]:
        raise ParameterError(
            f"{src}: has no {BUFFER_DIM!r} dimension, so no buffer to strip; "
            "it was not written by pcrs tile --buffer"
        )
    from ..io.atomic import check_output

    check_output(dst, overwrite, inputs=[src])
    kept = 0
    writer = None
    try:
        for chunk in las.iter_chunks(src, chunk_size):
            own = chunk.attributes.pop(BUFFER_DIM) == 0
            part = chunk[own]
            if writer is None:
                writer = las.LasStreamWriter(dst, part[:0], overwrite=overwrite)
                writer.__enter__()
            writer.write(part)
            kept += len(part)
        if writer is None:  # no point at all
            empty = las.read(src)
            empty.attributes.pop(BUFFER_DIM)
            las.write(empty, dst, overwrite=overwrite)
            return 0
    except BaseException as exc:
        if writer is not None:
            writer.__exit__(type(exc), exc, exc.__traceback__)
        raise
    writer.__exit__(None, None, None)
    return kept
