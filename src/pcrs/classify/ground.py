"""Ground filters: SMRF, CSF and PMF, vectorised over grids with numpy and scipy.

Every filter is a pure function ``f(x, y, z, **params) -> bool mask`` registered
in :data:`GROUND_FILTERS`; :func:`classify_ground` picks one by name, validates
the parameters, restricts the work to the candidate points (by default the last
and only returns, as PDAL does) and returns a mask over all the points.

- **SMRF** — Pingel, Clarke & McBride (2013), *An improved simple morphological
  filter for the terrain classification of airborne LIDAR data*, ISPRS J. 77:21-30.
  Minimum surface on a grid, inpainting of empty cells (harmonic / Laplace
  interpolation), low-outlier removal (the same progressive filter applied to
  the negated surface with a one-cell window and a slope of 5), progressive
  opening with disks of radius 1..``window/cell`` cells where a cell is an
  object when the opening lowers it by more than ``slope × radius × cell``,
  inpainting of the object cells into a provisional DTM, then a point is ground
  when ``|z − DTM| ≤ threshold + scalar × local slope of the DTM``.
  Defaults are PDAL's ``filters.smrf`` defaults (cell 1, slope 0.15, window 18,
  threshold 0.5, scalar 1.25).
- **PMF** — Zhang et al. (2003), *A progressive morphological filter for removing
  nonground measurements from airborne LIDAR data*, IEEE TGRS 41(4). Openings of
  the minimum surface with square windows growing exponentially
  (``2·2^k + 1`` cells) up to ``max_window``; elevation-difference thresholds
  ``dh_k = slope·(w_k − w_{k−1})·cell + initial_distance`` capped at
  ``max_distance``. Defaults are PDAL's ``filters.pmf`` defaults.
- **CSF** — Zhang et al. (2016), *An easy-to-use airborne LiDAR data filtering
  method based on cloth simulation*, Remote Sens. 8(6):501. The cloud is turned
  upside down and a cloth of particles (one per ``resolution`` metres) falls on it
  under gravity (Verlet integration with a time step); internal springs pull
  neighbouring particles together ``rigidness`` times per step; a particle that
  reaches the surface stops. Optional slope post-processing snaps movable
  particles beside fixed ones onto the surface when they are within ``hdiff``.
  Points within ``threshold`` of the cloth are ground. Defaults are those of the
  CSF library and PDAL's ``filters.csf`` (resolution 1, rigidness 3, time step
  0.65, threshold 0.5, iterations 500, smoothing on).

All grids are aligned on multiples of the cell size in map coordinates (not on
the corner of the data), so that tiles of a catalog and the merged cloud share
the same cells; :func:`ground_buffer` gives the buffer a tile needs so that its
core gets the same classes as the merged cloud.

Low outliers (points far below the ground) are taken out of the minimum surface
by the low-outlier step before any filter runs, so they do not drag the ground
down; they are never classified as ground unless they lie on the final surface.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from .._compiled import kernels_import
from ..errors import ParameterError
from ..points import PointCloud

__all__ = [
    "GROUND_DEFAULTS",
    "GROUND_FILTERS",
    "classify_ground",
    "csf",
    "ground_buffer",
    "pmf",
    "refine_ground",
    "smrf",
]


# --------------------------------------------------------------------------------------
# grid helpers
# --------------------------------------------------------------------------------------


#: points per block of the per-point passes (cells, minimum, sampling): their
#: temporaries stay at a few MB whatever the number of points
_BLOCK = 1 << 18


@dataclass(frozen=True)
class _Grid:
    """A raster aligned on multiples of ``cell`` over the points ``x``, ``y``.

    ``keep`` (optional) restricts the grid to some of the points: its extent, its
    minimum and :meth:`sample_kept` see only those, read block by block from the full
    arrays (no copy of the coordinates of the kept points). The points' cells are
    computed block by block when needed, never held for all the points (memory).
    """

    x0: float
    y0: float
    cell: float
    nx: int
    ny: int
    x: np.ndarray
    y: np.ndarray
    keep: np.ndarray | None = None

    @classmethod
    def for_points(
        cls, x: np.ndarray, y: np.ndarray, cell: float, keep: np.ndarray | None = None
    ) -> _Grid:
        if keep is None:
            lo_x, hi_x, lo_y, hi_y = x.min(), x.max(), y.min(), y.max()
        else:  # (block by block: faster than the reductions with ``where=``)
            lo_x = lo_y = np.inf
            hi_x = hi_y = -np.inf
            for a in range(0, x.shape[0], _BLOCK):
                k = keep[a : a + _BLOCK]
                if k.any():
                    xs, ys = x[a : a + _BLOCK][k], y[a : a + _BLOCK][k]
                    lo_x, hi_x = min(lo_x, xs.min()), max(hi_x, xs.max())
                    lo_y, hi_y = min(lo_y, ys.min()), max(hi_y, ys.max())
        x0 = math.floor(float(lo_x) / cell) * cell
        y0 = math.floor(float(lo_y) / cell) * cell
        # floor((v - v0) / cell) never decreases with v: the largest cell index is the
        # one of the largest coordinate, computed with the same array operations
        grid = cls(x0, y0, cell, 0, 0, x, y, keep)
        ix, iy = grid.cells(np.array([hi_x], np.float64), np.array([hi_y], np.float64))
        return cls(x0, y0, cell, int(ix[0]) + 1, int(iy[0]) + 1, x, y, keep)

    def cells(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Column and row (int64) of the cells of points ``x``, ``y``."""
        ix = np.floor((x - self.x0) / self.cell).astype(np.int64)
        iy = np.floor((y - self.y0) / self.cell).astype(np.int64)
        # guard against rounding at the low edge
        np.clip(ix, 0, None, out=ix)
        np.clip(iy, 0, None, out=iy)
        return ix, iy

    def blocks(self) -> Iterator[tuple[slice, np.ndarray | None]]:
        """``(slice, mask)`` of each block of points; ``mask`` None without ``keep``."""
        n = self.x.shape[0]
        for a in range(0, n, _BLOCK):
            s = slice(a, min(a + _BLOCK, n))
            yield s, (None if self.keep is None else self.keep[s])

    @staticmethod
    def take(v: np.ndarray, s: slice, k: np.ndarray | None) -> np.ndarray:
        return v[s] if k is None else v[s][k]

    @property
    def origin(self) -> tuple[int, int]:
        """Global lattice index (row, column) of the first cell."""
        return (round(self.y0 / self.cell), round(self.x0 / self.cell))

    @property
    def shape(self) -> tuple[int, int]:
        return (self.ny, self.nx)

    @property
    def flat(self) -> np.ndarray:
        """Flat cell index of every point (the grid's points, all of them)."""
        ix, iy = self.cells(self.x, self.y)
        iy *= self.nx
        iy += ix
        return iy

    def minimum(self, z: np.ndarray) -> np.ndarray:
        """Lowest z per cell; NaN in empty cells (``z`` over all the points, as ``x``)."""
        out = np.full(self.ny * self.nx, np.inf)
        for s, k in self.blocks():
            ix, iy = self.cells(self.take(self.x, s, k), self.take(self.y, s, k))
            iy *= self.nx
            iy += ix
            np.minimum.at(out, iy, self.take(z, s, k))
        out[np.isinf(out)] = np.nan
        return out.reshape(self.shape)

    def _coordinates(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Fractional (row, column) of points in a cell-centred grid."""
        fx = (x - self.x0) / self.cell - 0.5
        fy = (y - self.y0) / self.cell - 0.5
        return np.stack([fy, fx])

    def sample(self, grid: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Bilinear interpolation of a cell-centred grid at points (block by block)."""
        out = np.empty(x.shape[0], grid.dtype)
        for a in range(0, x.shape[0], _BLOCK):
            s = slice(a, a + _BLOCK)
            ndimage.map_coordinates(
                grid,
                self._coordinates(x[s], y[s]),
                output=out[s],
                order=1,
                mode="nearest",
                prefilter=False,
            )
        return out


def _inpaint(grid: np.ndarray, origin: tuple[int, int] = (0, 0), sweeps: int = 6) -> np.ndarray:
    """Fill NaN cells with a smooth membrane over the known cells (cascadic multigrid).

    An approximation of the harmonic (Laplace) fill of Pingel's reference
    implementation, in O(cells): the grid is averaged 2 × 2 down a pyramid until
    every cell is known ("pull"), then, from coarse to fine, the unknown cells
    take the coarser value ("push") and a few red-black Gauss-Seidel sweeps of the
    Laplace equation smooth them, the known cells staying fixed. The pyramid
    blocks are aligned on the global cell lattice given by ``origin`` (the index
    of the grid's first cell), so that overlapping tiles fill alike.
    """
    nan = np.isnan(grid)
    if not nan.any():
        return grid
    if nan.all():
        raise ParameterError("cannot inpaint a grid without any known cell")
    return _cascade(np.where(nan, 0.0, grid), ~nan, origin, sweeps)


def _upsample2(a: np.ndarray, axis: int) -> np.ndarray:
    """Double ``a`` along ``axis`` with linear interpolation between cell centres.

    Fine cells ``2j`` and ``2j + 1`` sit a quarter of a coarse cell before and
    after coarse centre ``j``: weights 3/4 and 1/4, edges replicated.
    """
    a = np.moveaxis(a, axis, 0)
    out = np.empty((2 * a.shape[0], *a.shape[1:]), a.dtype)
    even, odd = out[0::2], out[1::2]
    # 0.75 a + 0.25 (previous / next), the products summed in that order, without copies
    # of ``a`` shifted by one (memory)
    np.multiply(a, 0.75, out=even)
    np.multiply(a, 0.75, out=odd)
    quarter = np.multiply(a, 0.25)
    even[1:] += quarter[:-1]
    even[:1] += quarter[:1]
    odd[:-1] += quarter[1:]
    odd[-1:] += quarter[-1:]
    return np.moveaxis(out, 0, axis)


def _cascade(
    values: np.ndarray, known: np.ndarray, origin: tuple[int, int], sweeps: int
) -> np.ndarray:
    if known.all():
        return values
    ny, nx = values.shape
    oy, ox = origin
    # pad so that 2 x 2 blocks start on even global indices, and to even sizes
    py0, px0 = oy % 2, ox % 2
    py1 = (ny + py0) % 2
    px1 = (nx + px0) % 2
    pad = ((py0, py1), (px0, px1))
    # (``values`` is 0 wherever it is not known: the callers make it so)
    hy, hx = (ny + py0 + py1) // 2, (nx + px0 + px1) // 2
    sw = np.pad(known, pad).reshape(hy, 2, hx, 2).sum(axis=(1, 3), dtype=np.float64)
    sv = np.pad(values, pad).reshape(hy, 2, hx, 2).sum(axis=(1, 3))
    ck = sw > 0
    cv = np.divide(sv, sw, out=np.zeros_like(sv), where=ck)
    del sw, sv
    coarse = _cascade(cv, ck, ((oy - py0) // 2, (ox - px0) // 2), sweeps)
    del ck, cv
    out = _upsample2(_upsample2(coarse, 0), 1)[py0 : py0 + ny, px0 : px0 + nx]
    del coarse
    np.copyto(out, values, where=known)
    # the red-black colours from the parity of the global row and column (booleans only)
    row_par = ((np.arange(ny) + oy) % 2).astype(bool)
    col_par = ((np.arange(nx) + ox) % 2).astype(bool)
    parity = row_par[:, None] ^ col_par[None, :]
    unknown = ~known
    colours = (unknown & parity, unknown & ~parity)
    del parity, unknown
    nsum = np.empty_like(out)
    for _ in range(sweeps):
        for colour in colours:
            nsum[:-1, :] = out[1:, :]
            nsum[-1, :] = 0.0
            nsum[1:, :] += out[:-1, :]
            nsum[:, 1:] += out[:, :-1]
            nsum[:, :-1] += out[:, 1:]
            _mean_of_neighbours(nsum)
            np.copyto(out, nsum, where=colour)
    return out


def _mean_of_neighbours(nsum: np.ndarray) -> None:
    """Divide the sums of the 4-neighbours in ``nsum`` by their number, in place: 4 inside,
    3 on the edges, 2 in the corners (no grid of counts is held: memory)."""
    ny, nx = nsum.shape
    if ny < 2 or nx < 2:  # (a single row or column: counts from a small grid)
        deg = np.full((ny, nx), 4.0)
        deg[0, :] -= 1
        deg[-1, :] -= 1
        deg[:, 0] -= 1
        deg[:, -1] -= 1
        nsum /= np.maximum(deg, 1.0)
        return
    nsum *= 0.25
    for edge in (nsum[0, 1:-1], nsum[-1, 1:-1], nsum[1:-1, 0], nsum[1:-1, -1]):
        edge *= 4.0 / 3.0
    for corner in ((0, 0), (0, -1), (-1, 0), (-1, -1)):
        nsum[corner] *= 2.0


def _disk_half_widths(radius: int) -> np.ndarray:
    """Half width of the discrete disk ``dx² + dy² ≤ r²`` on each row ``dy = 0..r``."""
    dy = np.arange(radius + 1)
    return np.floor(np.sqrt(radius * radius - dy * dy) + 1e-9).astype(int)


def _disk_filter(grid: np.ndarray, radius: int, minimum: bool) -> np.ndarray:
    """Grey erosion (``minimum``) or dilation by a disk, as min/max over row chords.

    The disk is split into horizontal chords. The running min/max of half width
    ``h`` is grown from that of ``h − 1`` with one shifted comparison, and each
    chord is combined into the output as soon as its width is reached, with the
    rows shifted by slicing. Memory stays at a few grids; edges replicate the
    border cells (as ``mode="nearest"``).
    """
    if radius <= 0:
        return grid
    combine = np.minimum if minimum else np.maximum
    ny = grid.shape[0]
    half = _disk_half_widths(radius)
    rows_for: dict[int, list[int]] = {}
    for dy, hw in enumerate(half):
        rows_for.setdefault(int(hw), []).append(dy)
    f = np.pad(grid, ((radius, radius), (0, 0)), mode="edge")
    out = None
    for h in range(int(half.max()) + 1):
        if h == 1:
            g = f.copy()
            combine(g[:, 1:], f[:, :-1], out=g[:, 1:])
            combine(g[:, :-1], f[:, 1:], out=g[:, :-1])
            f = g
        elif h > 1:
            # [i-h, i+h] = [i-1-(h-1), i-1+(h-1)] ∪ [i+1-(h-1), i+1+(h-1)]: one comparison
            g = np.empty_like(f)
            combine(f[:, :-2], f[:, 2:], out=g[:, 1:-1])
            combine(f[:, 0], f[:, 1], out=g[:, 0])
            combine(f[:, -2], f[:, -1], out=g[:, -1])
            f = g
        for dy in rows_for.get(h, ()):
            for s in {dy, -dy}:
                part = f[radius + s : radius + s + ny]
                if out is None:
                    out = part.copy()
                else:
                    combine(out, part, out=out)
    assert out is not None  # the chord of dy = 0 (half width ``radius``) is always combined
    return out


def _open_disk(grid: np.ndarray, radius: int) -> np.ndarray:
    return _disk_filter(_disk_filter(grid, radius, True), radius, False)


def _progressive_objects(surface: np.ndarray, cell: float, slope: float, radii) -> np.ndarray:
    """Pingel's progressive filter: cells lowered by an opening more than slope·r·cell."""
    objects = np.zeros(surface.shape, bool)
    # float32 halves the memory traffic of the morphology; min/max only select values,
    # and elevations keep a precision better than 0.3 mm up to 4000 m
    last = surface.astype(np.float32, copy=False)
    for r in radii:
        opened = _open_disk(last, int(r))
        objects |= (last - opened) > np.float32(slope * r * cell)
        last = opened
    return objects


def _low_outlier_cells(zmin: np.ndarray, cell: float) -> np.ndarray:
    """Pingel's low-outlier test: the progressive filter on ``−zmin``, slope 5, one-cell window."""
    return _progressive_objects(np.negative(zmin, dtype=np.float32), cell, 5.0, [1])


def _minimum_surface(grid: _Grid, z: np.ndarray) -> np.ndarray:
    """Minimum surface, empty cells inpainted, low-outlier cells removed and inpainted.

    The low-outlier test runs twice so that a pit two cells wide is caught too.
    """
    filled = _inpaint(grid.minimum(z), grid.origin)
    for _ in range(2):
        low = _low_outlier_cells(filled, grid.cell)
        if not low.any() or low.all():
            break
        filled = _inpaint(np.where(low, np.nan, filled), grid.origin)
    return filled


# --------------------------------------------------------------------------------------
# parameter validation
# --------------------------------------------------------------------------------------


def _positive(name: str, value: Any, method: str) -> float:
    if isinstance(value, (bool, np.bool_)):
        raise ParameterError(f"{method}: {name} must be a number, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{method}: {name} must be a number, got {value!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise ParameterError(f"{method}: {name} must be a positive number, got {value!r}")
    return v


def _non_negative(name: str, value: Any, method: str) -> float:
    if isinstance(value, (bool, np.bool_)):
        raise ParameterError(f"{method}: {name} must be a number, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{method}: {name} must be a number, got {value!r}") from None
    if not (math.isfinite(v) and v >= 0):
        raise ParameterError(f"{method}: {name} must be zero or positive, got {value!r}")
    return v


def _int_in(name: str, value: Any, lo: int, hi: int, method: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer, float)):
        raise ParameterError(f"{method}: {name} must be an integer, got {value!r}")
    if float(value) != int(value) or not lo <= int(value) <= hi:
        raise ParameterError(f"{method}: {name} must be an integer in [{lo}, {hi}], got {value!r}")
    return int(value)


#: largest grid one call builds (10 km x 10 km at 1 m: ~0.8 GB per float64 grid)
_MAX_CELLS = 100_000_000


def _max_cells(nx: int, ny: int, method: str, cell: float) -> None:
    if nx * ny > _MAX_CELLS:
        raise ParameterError(
            f"{method}: a {nx} x {ny} grid at cell {cell!r} is too large; "
            "process the cloud in tiles (pcrs classify with several inputs or pcrs tile) "
            "or use a larger cell"
        )


# --------------------------------------------------------------------------------------
# SMRF
# --------------------------------------------------------------------------------------


def smrf(
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    *,
    cell: float = 1.0,
    slope: float = 0.15,
    window: float = 18.0,
    threshold: float = 0.5,
    scalar: float = 1.25,
) -> np.ndarray:
    """Simple Morphological Filter (Pingel et al. 2013).

    Parameters
    ----------
    x, y, z : ndarray
        Coordinates (float64, map units).
    cell : float
        Grid cell size (map units), default 1.
    slope : float
        Terrain slope (rise over run) that an opening may remove without marking
        an object, default 0.15.
    window : float
        Largest window radius (map units), default 18.
    threshold : float
        Elevation threshold (map units) of the final point test, default 0.5.
    scalar : float
        Multiplier of the local slope of the provisional DTM added to ``threshold``,
        default 1.25.

    Returns
    -------
    ndarray of bool
        True for ground points.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.random((2, 4000)) * 60
    >>> z = 0.05 * x + np.where((abs(x - 30) < 8) & (abs(y - 30) < 8), 6.0, 0.0)
    >>> g = smrf(x, y, z)
    >>> bool(g[z - 0.05 * x < 1].mean() > 0.95), bool(g[z - 0.05 * x > 5].mean() < 0.05)
    (True, True)
    """
    p = _smrf_params(cell=cell, slope=slope, window=window, threshold=threshold, scalar=scalar)
    if len(x) == 0:
        return np.zeros(0, bool)
    return _smrf(x, y, z, None, **p)


def _smrf_params(
    *,
    cell: Any = 1.0,
    slope: Any = 0.15,
    window: Any = 18.0,
    threshold: Any = 0.5,
    scalar: Any = 1.25,
) -> dict[str, float]:
    m = "smrf"
    return {
        "cell": _positive("cell", cell, m),
        "slope": _non_negative("slope", slope, m),
        "window": _positive("window", window, m),
        "threshold": _non_negative("threshold", threshold, m),
        "scalar": _non_negative("scalar", scalar, m),
    }


def _smrf(
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    keep: np.ndarray | None,
    *,
    cell: float,
    slope: float,
    window: float,
    threshold: float,
    scalar: float,
) -> np.ndarray:
    """SMRF of the points ``keep`` (all when None, at least one otherwise) of ``x, y, z``.

    Returns a mask over all the points, False outside ``keep``. The points are read
    block by block from the full arrays: no copy of the kept points' coordinates and
    no per-point array other than the mask (memory).
    """
    grid = _Grid.for_points(x, y, cell, keep)
    _max_cells(grid.nx, grid.ny, "smrf", cell)
    surface = _minimum_surface(grid, z)
    radii = range(1, max(1, math.ceil(window / cell)) + 1)
    objects = _progressive_objects(surface, cell, slope, radii)
    if objects.all():
        objects[:] = False
    surface[objects] = np.nan
    del objects
    provisional = _inpaint(surface, grid.origin)
    del surface  # (grids of the whole area: freed as soon as they are done with)
    grad = np.hypot(*np.gradient(provisional, cell))
    ground = np.zeros(x.shape[0], bool)
    for s, k in grid.blocks():
        zs = grid.take(z, s, k)
        at = grid._coordinates(grid.take(x, s, k), grid.take(y, s, k))
        zpro = ndimage.map_coordinates(provisional, at, order=1, mode="nearest", prefilter=False)
        gpt = ndimage.map_coordinates(grad, at, order=1, mode="nearest", prefilter=False)
        zs = np.abs(zs - zpro)
        gpt *= scalar
        gpt += threshold
        if k is None:
            np.less_equal(zs, gpt, out=ground[s])
        else:
            ground[s][k] = zs <= gpt
    return ground


# --------------------------------------------------------------------------------------
# PMF
# --------------------------------------------------------------------------------------


def pmf(
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    *,
    cell: float = 1.0,
    max_window: float = 33.0,
    slope: float = 1.0,
    initial_distance: float = 0.15,
    max_distance: float = 2.5,
    exponential: bool = True,
) -> np.ndarray:
    """Progressive Morphological Filter (Zhang et al. 2003).

    Parameters
    ----------
    x, y, z : ndarray
        Coordinates.
    cell : float
        Grid cell size, default 1.
    max_window : float
        Largest window size (map units), default 33.
    slope : float
        Terrain slope used to scale the thresholds, default 1.
    initial_distance : float
        Initial elevation-difference threshold, default 0.15.
    max_distance : float
        Largest elevation-difference threshold, default 2.5.
    exponential : bool
        Windows ``2·2^k + 1`` cells (True, default) or ``2k + 1`` cells.

    Returns
    -------
    ndarray of bool
        True for ground points.
    """
    m = "pmf"
    cell = _positive("cell", cell, m)
    max_window = _positive("max_window", max_window, m)
    slope = _non_negative("slope", slope, m)
    initial_distance = _non_negative("initial_distance", initial_distance, m)
    max_distance = _non_negative("max_distance", max_distance, m)
    if not isinstance(exponential, (bool, np.bool_)):
        raise ParameterError(f"pmf: exponential must be true or false, got {exponential!r}")
    if max_distance < initial_distance:
        raise ParameterError(
            f"pmf: max_distance ({max_distance!r}) must be at least initial_distance "
            f"({initial_distance!r})"
        )
    if len(x) == 0:
        return np.zeros(0, bool)
    grid = _Grid.for_points(x, y, cell)
    _max_cells(grid.nx, grid.ny, m, cell)
    surface = _minimum_surface(grid, z)
    windows = _pmf_windows(max_window, cell, exponential)
    flat = grid.flat
    ground = np.ones(len(z), bool)
    last = surface
    prev_w = 1
    for k, w in enumerate(windows):
        opened = ndimage.grey_opening(last, size=(w, w), mode="nearest")
        dh = initial_distance if k == 0 else slope * (w - prev_w) * cell + initial_distance
        dh = min(dh, max_distance)
        ground &= (z - opened.ravel()[flat]) <= dh
        last = opened
        prev_w = w
    # the opened surfaces never rise above the minimum surface, so every real point
    # lies on or above them; points below the final surface are the low outliers
    # taken out of the minimum surface, and are not ground
    ground &= z >= last.ravel()[flat] - initial_distance
    return ground


def _pmf_windows(max_window: float, cell: float, exponential: bool) -> list[int]:
    """Window sizes in cells (odd), growing until ``max_window`` map units."""
    wmax = max_window / cell
    out: list[int] = []
    k = 0
    while True:
        w = 2 * (2**k) + 1 if exponential else 2 * (k + 1) + 1
        if w > wmax and out:
            break
        out.append(int(w))
        if w > wmax:
            break
        k += 1
    return out


# --------------------------------------------------------------------------------------
# CSF
# --------------------------------------------------------------------------------------


def csf(
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    *,
    resolution: float = 1.0,
    rigidness: int = 3,
    time_step: float = 0.65,
    threshold: float = 0.5,
    iterations: int = 500,
    smooth: bool = True,
    hdiff: float = 0.3,
) -> np.ndarray:
    """Cloth Simulation Filter (Zhang et al. 2016).

    Parameters
    ----------
    x, y, z : ndarray
        Coordinates.
    resolution : float
        Distance between cloth particles (map units), default 1.
    rigidness : int
        1 (steep terrain), 2 (relief) or 3 (flat terrain, default): how many times
        the spring constraint between neighbours is applied per time step.
    time_step : float
        Time step of the gravity integration, default 0.65.
    threshold : float
        Points within this distance of the cloth are ground, default 0.5.
    iterations : int
        Largest number of time steps, default 500.
    smooth : bool
        Slope post-processing (snap movable particles next to fixed ones onto the
        surface when within ``hdiff``), default True.
    hdiff : float
        Height difference of the post-processing, default 0.3.

    Returns
    -------
    ndarray of bool
        True for ground points.
    """
    m = "csf"
    resolution = _positive("resolution", resolution, m)
    rigidness = _int_in("rigidness", rigidness, 1, 3, m)
    time_step = _positive("time_step", time_step, m)
    threshold = _non_negative("threshold", threshold, m)
    iterations = _int_in("iterations", iterations, 1, 100_000, m)
    hdiff = _non_negative("hdiff", hdiff, m)
    if not isinstance(smooth, (bool, np.bool_)):
        raise ParameterError(f"csf: smooth must be true or false, got {smooth!r}")
    if len(x) == 0:
        return np.zeros(0, bool)
    grid = _Grid.for_points(x, y, resolution)
    _max_cells(grid.nx, grid.ny, m, resolution)
    # the inverted cloud: the cloth falls onto -z; its "surface" per particle is the
    # highest inverted point, i.e. the lowest real point (low outliers removed first)
    lowest = _minimum_surface(grid, z)
    surface = -lowest
    cloth = _simulate_cloth(surface, rigidness, time_step, iterations, smooth, hdiff)
    cloth_z = -cloth
    return np.abs(grid.sample(cloth_z, x, y) - z) <= threshold


_GRAVITY = 0.2
_DAMPING = 0.01


def _simulate_cloth(
    surface: np.ndarray, rigidness: int, dt: float, iterations: int, smooth: bool, hdiff: float
) -> np.ndarray:
    """Drop a cloth on ``surface`` (heights per particle); return the particle heights.

    Each time step: a Verlet step under gravity for the movable particles, then
    ``rigidness`` spring passes in which every movable particle moves half way to
    the mean of its 4 neighbours (all at once), then collision: a particle that
    reaches the surface is fixed on it. Once most particles are fixed, the steps
    only touch the movable ones (same arithmetic, on index arrays).
    """
    ny, nx = surface.shape
    start = float(surface.max()) + 1.0
    pos: np.ndarray = np.full(surface.size, start)
    old = pos.copy()
    surf = surface.ravel()
    movable = np.ones(surface.size, bool)
    accel = _GRAVITY * dt * dt
    keep = 1.0 - _DAMPING
    rr, cc = np.divmod(np.arange(surface.size), nx)
    flat_index = np.arange(surface.size)
    # the 4 neighbours of every particle, and which of them exist
    nbrs = [flat_index - nx, flat_index + nx, flat_index - 1, flat_index + 1]
    valid = [rr > 0, rr < ny - 1, cc > 0, cc < nx - 1]
    deg = np.maximum(sum(v.astype(np.float64) for v in valid), 1.0)
    nbrs = [np.where(v, n, flat_index) for n, v in zip(nbrs, valid, strict=True)]
    idx = flat_index
    for _ in range(iterations):
        if idx.size == 0:
            break
        p = pos[idx]
        new = p + (p - old[idx]) * keep - accel
        old[idx] = p
        pos[idx] = new
        nb = [n[idx] for n in nbrs]
        vd = [v[idx] for v in valid]
        inv = 0.5 / deg[idx]
        for _r in range(rigidness):
            nsum = np.zeros(idx.size)
            for n, v in zip(nb, vd, strict=True):
                nsum += np.where(v, pos[n], 0.0)
            p = pos[idx]
            pos[idx] = p + nsum * inv - 0.5 * p
        # collision with the (inverted) surface
        p = pos[idx]
        hit = p <= surf[idx]
        if hit.any():
            h = idx[hit]
            pos[h] = surf[h]
            old[h] = surf[h]
            movable[h] = False
            idx = idx[~hit]
        # stop when the cloth barely moves
        if idx.size == 0 or float(np.abs(pos[idx] - old[idx]).max()) < 0.005:
            break
    pos = pos.reshape(surface.shape)
    if smooth:
        pos = _slope_postprocess(pos, surface, movable.reshape(surface.shape), hdiff)
    return pos


def _slope_postprocess(
    pos: np.ndarray, surface: np.ndarray, movable: np.ndarray, hdiff: float
) -> np.ndarray:
    """Snap movable particles next to fixed ones onto the surface when within ``hdiff``."""
    pos = pos.copy()
    movable = movable.copy()
    close = np.abs(pos - surface) < hdiff
    cross = ndimage.generate_binary_structure(2, 1)
    while True:
        fixed = ~movable
        beside_fixed = ndimage.binary_dilation(fixed, structure=cross) & movable
        snap = beside_fixed & close
        if not snap.any():
            break
        pos[snap] = surface[snap]
        movable &= ~snap
    return pos


# --------------------------------------------------------------------------------------
# registry and front door
# --------------------------------------------------------------------------------------

#: ground filter name -> pure function ``f(x, y, z, **params) -> bool mask``
GROUND_FILTERS: dict[str, Callable[..., np.ndarray]] = {"smrf": smrf, "csf": csf, "pmf": pmf}

#: default parameters of each filter (PDAL / the papers)
GROUND_DEFAULTS: dict[str, dict[str, Any]] = {
    "smrf": {"cell": 1.0, "slope": 0.15, "window": 18.0, "threshold": 0.5, "scalar": 1.25},
    "csf": {
        "resolution": 1.0,
        "rigidness": 3,
        "time_step": 0.65,
        "threshold": 0.5,
        "iterations": 500,
        "smooth": True,
        "hdiff": 0.3,
    },
    "pmf": {
        "cell": 1.0,
        "max_window": 33.0,
        "slope": 1.0,
        "initial_distance": 0.15,
        "max_distance": 2.5,
        "exponential": True,
    },
}

_RETURN_POLICIES = ("last", "all")


def _method(method: str) -> Callable[..., np.ndarray]:
    try:
        return GROUND_FILTERS[str(method).lower()]
    except KeyError:
        raise ParameterError(
            f"unknown ground filter {method!r}; choose one of {sorted(GROUND_FILTERS)}"
        ) from None


def _check_params(method: str, params: dict[str, Any]) -> None:
    unknown = set(params) - set(GROUND_DEFAULTS[method])
    if unknown:
        raise ParameterError(
            f"{method}: unknown parameter(s) {sorted(unknown)}; "
            f"valid ones are {sorted(GROUND_DEFAULTS[method])}"
        )


def ground_buffer(method: str = "smrf", **params: Any) -> float:
    """Buffer (map units) a tile needs so that its core is classified as the merged cloud.

    Twice the largest morphological window (an opening reaches that far) plus a
    margin for the inpainting of large holes. For CSF, 100 cloth cells: the cloth
    is a global simulation, and tiles then agree with the merged cloud on about
    99.97 % of the points, not all.

    Examples
    --------
    >>> ground_buffer("smrf")
    56.0
    """
    name = str(method).lower()
    _method(name)
    _check_params(name, params)
    p = {**GROUND_DEFAULTS[name], **params}
    if name == "smrf":
        return float(2 * p["window"] + 20 * p["cell"])
    if name == "pmf":
        return float(p["max_window"] + 20 * p["cell"])
    return float(100 * p["resolution"])


def _last_returns(cloud: PointCloud) -> np.ndarray | None:
    rn = cloud.get("return_number")
    nr = cloud.get("number_of_returns")
    if rn is None or nr is None:
        return None
    rn = np.asarray(rn)
    nr = np.asarray(nr)
    valid = (rn > 0) & (nr > 0)
    # zero return numbers (seen in real IGN files, e.g. virtual points) count as single returns
    return ~valid | (rn >= nr)


def classify_ground(
    points: PointCloud | np.ndarray,
    y: np.ndarray | None = None,
    z: np.ndarray | None = None,
    *,
    method: str = "smrf",
    candidates: np.ndarray | None = None,
    returns: str = "last",
    **params: Any,
) -> np.ndarray:
    """Ground mask of a point cloud with SMRF, CSF or PMF.

    Parameters
    ----------
    points : PointCloud or ndarray
        A :class:`~pcrs.points.PointCloud`, or the x coordinates (then give ``y`` and ``z``).
    y, z : ndarray, optional
        Coordinates when ``points`` is the x array.
    method : {"smrf", "csf", "pmf"}
        The filter (see :data:`GROUND_FILTERS`).
    candidates : ndarray of bool, optional
        Points that may be ground (e.g. not noise). Others are never ground and do
        not shape the surface.
    returns : {"last", "all"}
        With a PointCloud holding return numbers, ``"last"`` (default, as PDAL's
        SMRF) considers only last and single returns.
    **params
        Parameters of the filter; see :data:`GROUND_DEFAULTS`.

    Returns
    -------
    ndarray of bool
        True for ground points, one value per point.

    Raises
    ------
    ParameterError
        Unknown method or parameter, or a parameter out of range.

    Examples
    --------
    >>> from pcrs import synth
    >>> scene = synth.make_scene(20_000, seed=3)
    >>> g = classify_ground(scene.cloud, method="smrf")
    >>> truth = scene.cloud["classification"]
    >>> bool(g[truth == 2].mean() > 0.9), bool(g[(truth == 5) | (truth == 6)].mean() < 0.05)
    (True, True)
    """
    name = str(method).lower()
    func = _method(name)
    _check_params(name, params)
    if returns not in _RETURN_POLICIES:
        raise ParameterError(f"returns must be one of {_RETURN_POLICIES}, got {returns!r}")
    if isinstance(points, PointCloud):
        if y is not None or z is not None:
            raise ParameterError("give either a PointCloud or x, y and z arrays, not both")
        x_ = points.x
        y_ = points.y
        z_ = points.z
        last = _last_returns(points) if returns == "last" else None
    else:
        if y is None or z is None:
            raise ParameterError("classify_ground(x, y, z): y and z are required with an x array")
        x_ = np.asarray(points, np.float64)
        y_ = np.asarray(y, np.float64)
        z_ = np.asarray(z, np.float64)
        if not (x_.ndim == 1 and x_.shape == y_.shape == z_.shape):
            raise ParameterError(
                f"x, y and z must be 1-D arrays of one length; got {x_.shape}, {y_.shape}, {z_.shape}"
            )
        last = None
    n = x_.shape[0]
    keep = np.ones(n, bool)
    if candidates is not None:
        cand = np.asarray(candidates)
        if cand.dtype != bool or cand.shape != (n,):
            raise ParameterError(
                f"candidates must be a boolean mask of {n} values, got {cand.dtype} {cand.shape}"
            )
        keep &= cand
    if last is not None:
        keep &= last
    for v in (x_, y_, z_):  # (one boolean temporary at a time: memory)
        keep &= np.isfinite(v)
    out = np.zeros(n, bool)
    if not keep.any():
        # validate the parameters even when there is nothing to do
        func(np.zeros(0), np.zeros(0), np.zeros(0), **params)
        return out
    if func is smrf:
        # block by block over the full arrays: no copy of the candidates' coordinates
        return _smrf(x_, y_, z_, None if keep.all() else keep, **_smrf_params(**params))
    sel = np.flatnonzero(keep)
    out[sel] = func(x_[sel], y_[sel], z_[sel], **params)
    return out


# --------------------------------------------------------------------------------------
# refinement: low vegetation inside the filters' tolerance
# --------------------------------------------------------------------------------------


def refine_ground(
    x: np.ndarray,
    y: np.ndarray,
    z: np.ndarray,
    ground: np.ndarray,
    *,
    cell: float = 1.0,
    max_height: float = 0.25,
    neighbours: int = 6,
) -> np.ndarray:
    """Drop from ``ground`` the points standing above the lowest ground around them.

    The morphological filters accept everything within their elevation
    threshold (0.5 m for SMRF) of the terrain they estimate, which takes grass,
    crops and low shrubs as ground; IGN classes such points as low vegetation
    (3). This pass keeps the lowest ground point of each ``cell`` (the lower
    envelope), fits a plane through the ``neighbours`` envelope points nearest to
    each ground point, and removes the ground points more than ``max_height``
    above their plane. Planar slopes are not penalised; only points standing
    above the local lower envelope are. The fit is local, so a tile with a
    buffer gives the same result as the merged cloud.

    Measured with SMRF defaults (``python benchmarks/ground_accuracy.py --refine``):
    ground IoU against IGN on the six LiDAR HD extracts 0.935 → 0.961, ISPRS
    mean total error 4.13 % → 4.35 % (the sparse ISPRS samples have about one
    point per cell, where the envelope is the cloud itself).

    Parameters
    ----------
    x, y, z : ndarray
    ground : ndarray of bool
        The ground mask to refine.
    cell : float
        Cell (m) whose lowest ground point joins the envelope.
    max_height : float
        Height (m) above the envelope beyond which a point is not ground.
    neighbours : int
        Envelope points in each local plane fit (at least 3).

    Returns
    -------
    ndarray of bool
        The refined ground mask (a subset of ``ground``).
    """
    if not cell > 0 or not max_height > 0:
        raise ParameterError(
            f"refine: cell and max_height must be positive, got {cell!r}, {max_height!r}"
        )
    if int(neighbours) < 3:
        raise ParameterError(f"refine: neighbours must be at least 3, got {neighbours!r}")
    ground = np.asarray(ground, bool)
    gi = np.flatnonzero(ground)
    if gi.size < 3:
        return ground.copy()
    gx, gy, gz = x[gi], y[gi], z[gi]
    envelope = None
    if _have_kernels() and _numpy_sums_in_order(int(neighbours)):
        envelope = _envelope_planes_compiled(gx, gy, gz, float(cell), int(neighbours))
    if envelope is None:
        from .height import sorted_by_cell

        order, starts, _ = sorted_by_cell(gx, gy, gz, cell)
        lowest = order[starts]
        del order, starts
        envelope = _local_planes(gx[lowest], gy[lowest], gz[lowest], gx, gy, neighbours)
    out = ground.copy()
    out[gi[gz - envelope > max_height]] = False
    return out


@functools.lru_cache(maxsize=1)
def _have_kernels() -> bool:
    """Whether the compiled refinement (:mod:`pcrs.classify._ground_kernels`) can run;
    otherwise numpy and scipy give the same results, slower."""
    return kernels_import("pcrs.classify._ground_kernels", "numpy and scipy")


@functools.lru_cache(maxsize=16)
def _numpy_sums_in_order(k: int) -> bool:
    """Whether numpy's ``a.sum(1)`` over ``k`` columns adds them one by one from the
    left, as the compiled refinement does (numpy 2.x: up to 7 columns; from 8 it sums
    pairwise in blocks). Otherwise the numpy path runs, so the results stay the same."""
    a = np.random.default_rng(0).standard_normal((256, k)) * np.logspace(-8, 8, k)
    fold = a[:, 0].copy()
    for j in range(1, k):
        fold += a[:, j]
    return bool(np.array_equal(a.sum(1), fold))


#: the compiled refinement's grid of cells may hold this many cells per ground point
#: (plus a fixed million); sparser clouds take the numpy path
_GRID_CELLS_PER_POINT = 16


def _envelope_planes_compiled(
    gx: np.ndarray, gy: np.ndarray, gz: np.ndarray, cell: float, k: int
) -> np.ndarray | None:
    """:func:`refine_ground`'s envelope and plane values in two O(n) compiled passes.

    The lowest point of each cell comes from one pass over a grid of cells instead
    of a sort, and the neighbours from rings of that grid instead of a kd-tree; the
    values are those of the numpy path bit for bit (the few queries with tied
    distances are handed to cKDTree, as that path does). None when the kernels do
    not apply (non-finite coordinates, a grid too sparse, fewer than ``k + 2``
    envelope points): the caller takes the numpy path.
    """
    from ._ground_kernels import cell_range, envelope_grid, local_planes

    if not (np.isfinite(gx).all() and np.isfinite(gy).all() and np.isfinite(gz).all()):
        return None
    ix0, ix1, iy0, iy1 = cell_range(gx, gy, cell)
    nx, ny = int(ix1 - ix0) + 1, int(iy1 - iy0) + 1
    if nx * ny > _GRID_CELLS_PER_POINT * gx.size + 1_000_000:
        return None
    best = envelope_grid(gx, gy, gz, cell, ix0, iy0, nx, ny)
    occupied = best >= 0
    lowest = best[occupied]  # in the order of the cell keys, as sorted_by_cell's
    if lowest.size < k + 2:
        return None
    egrid = np.full(best.size, -1, np.int64)
    egrid[occupied] = np.arange(lowest.size)
    del best, occupied
    ex, ey, ez = gx[lowest], gy[lowest], gz[lowest]
    ox, oy = float(ex.min()), float(ey.min())
    exl, eyl = ex - ox, ey - oy  # the kd-tree's coordinates in the numpy path
    out = np.empty(gx.size)
    retry = np.zeros(gx.size, bool)
    local_planes(egrid, nx, ny, exl, eyl, ez, gx, gy, ox, oy, cell, ix0, iy0, k, out, retry)
    again = np.flatnonzero(retry)
    if again.size:
        out[again] = _local_planes(ex, ey, ez, gx[again], gy[again], k)
    return out


def _local_planes(
    ex: np.ndarray, ey: np.ndarray, ez: np.ndarray, qx: np.ndarray, qy: np.ndarray, k: int
) -> np.ndarray:
    """Least-squares plane through the ``k`` nearest envelope points, evaluated at each query."""
    from scipy.spatial import cKDTree

    ox, oy = float(ex.min()), float(ey.min())
    tree = cKDTree(np.column_stack([ex - ox, ey - oy]))
    k = int(min(k, ex.size))
    out = np.empty(qx.size)
    for start in range(0, qx.size, _PLANE_BATCH):
        stop = min(start + _PLANE_BATCH, qx.size)
        lx, ly = qx[start:stop] - ox, qy[start:stop] - oy
        _, idx = tree.query(np.column_stack([lx, ly]), k=k)
        idx = idx.reshape(lx.size, -1)
        # plane z = a + b (x - qx) + c (y - qy): the value at the query is a
        dx = (ex[idx] - ox) - lx[:, None]
        dy = (ey[idx] - oy) - ly[:, None]
        zz = ez[idx]
        del idx
        n = float(dx.shape[1])
        sx, sy = dx.sum(1), dy.sum(1)
        sxx, syy, sxy = (dx * dx).sum(1), (dy * dy).sum(1), (dx * dy).sum(1)
        sz, sxz, syz = zz.sum(1), (dx * zz).sum(1), (dy * zz).sum(1)
        del dx, dy, zz
        # the normal equations [[n, sx, sy], [sx, sxx, sxy], [sy, sxy, syy]] (a, b, c) =
        # (sz, sxz, syz), solved for a by Cramer's rule (closed form: 10x faster than a
        # batched LAPACK solve of millions of 3x3 systems)
        cof_xx = sxx * syy - sxy * sxy
        cof_xy = sx * syy - sxy * sy
        cof_yy = sx * sxy - sxx * sy
        det = n * cof_xx - sx * cof_xy + sy * cof_yy
        det_a = sz * cof_xx - sx * (sxz * syy - sxy * syz) + sy * (sxz * sxy - sxx * syz)
        ok = np.abs(det) > 1e-9 * np.maximum(sxx * syy, 1e-12) * n
        val = sz / n  # collinear neighbours: their mean
        val[ok] = det_a[ok] / det[ok]
        out[start:stop] = val
    return out


#: queries of :func:`_local_planes` per kd-tree call (bounds its (batch, k) temporaries)
_PLANE_BATCH = 250_000
