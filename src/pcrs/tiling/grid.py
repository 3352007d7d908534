"""Regular tile grids: which tile a point belongs to, tile bounds and tile names.

A :class:`TileGrid` is an origin ``(x0, y0)`` and a square tile size ``s``.
Tile ``(col, row)`` covers ``x0 + col*s .. x0 + (col+1)*s`` in x and
``y0 + row*s .. y0 + (row+1)*s`` in y (rows grow northwards).

Edge rule
---------
Every point belongs to exactly one tile. :meth:`TileGrid.assign` decides, in
this order:

1. **Home tile.** A source file whose header bounds lie inside one closed
   tile (within ``EDGE_TOLERANCE``) has that tile as its *home*
   (:meth:`TileGrid.home_cell`): every point of the file inside the closed
   home tile belongs to it, whatever edge it lies on. Re-tiling tiles on
   their own grid thus gives each point back to the file it came from.
2. **Other points** (strips, files of another tiling, points past lying
   headers) follow a half-open rule, :meth:`TileGrid.index`: tiles are
   half-open on their left and bottom edges and closed on their right and
   top edges::

       x0 + col*s  <  x  <=  x0 + (col+1)*s
       y0 + row*s  <  y  <=  y0 + (row+1)*s

   When the grid knows the extent of the data (``extent``, set by
   :meth:`TileGrid.from_bounds` and by the catalog), points exactly on the
   left edge of the first column or on the bottom edge of the first row stay
   in that column/row.
3. **No tile of edge points only.** A tile is *real* when some file's header
   box meets its open interior (:meth:`TileGrid.real_cells`, decided from the
   headers alone, so a task needs no neighbour's points). A point on a grid
   line whose rule-2 tile is not real goes to the first real tile containing
   it in closed form, trying the rule-2 tile, then the tile across the
   vertical line, across the horizontal line, across the corner. When none is
   real (a file of zero width lying on a grid line) it stays in its rule-2
   tile.

Coordinates within ``EDGE_TOLERANCE`` (1 µm) of a grid line count as on it,
so that ``12345600 * 0.01`` and ``123456.0`` agree. A header box is a box: a
diagonal strip's box can make a tile real that holds none of its points, so
rule 3 guarantees tiles of interior points only where header boxes are
footprints (tiles, not strips).

Evidence: IGN tiles hold points on all four edges
~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~
The half-open rule is not IGN's convention; IGN tiles are closed boxes.
Points exactly on each edge of the tile their name gives (scale 0.01,
offset 0, so edges are exact), in the real files (W, E, S, N)::

    ign-pdal-tools test_data_* (50 m tiles, named by left x and top y in 10 m)
      77050_627755   73,355 pts   W 11  E  0  S  7  N  8  (header max x 770541.68)
      77050_627760   56,035 pts   W  5  E  5  S  5  N  3
      77055_627755   72,770 pts   W 11  E  6  S 10  N 10
      77055_627760   60,653 pts   W  8  E  7  S 11  N 10
      77060_627755   83,518 pts   W 10  E 11  S  5  N  5
      77060_627760   59,606 pts   W  8  E  6  S 11  N  4
    las-digital-models ground_test_data_* (the same six cells, ground only)
      77050_627755  W 2 E 4 S 3 N 5     77050_627760  W 3 E 4 S 1 N 1
      77055_627755  W 7 E 3 S 3 N 5     77055_627760  W 6 E 3 S 5 N 3
      77060_627755  W 1 E 3 S 4 N 1     77060_627760  W 2 E 2 S 4 N 0
    ign-pdal-tools classified_test_data_77050_627755  W 11 E 7 S 11 N 10
    ign-pdal-tools classified_test_data_77050_627760  W  5 E 5 S  5 N  3
    1 km: Semis_2022_0906_6665 (64,572 pts)           W 1 E 0 S 1 N 0
          test_semis_2021_0382_6565 cropped (218,731)  W 0 E 4 S 3 N 1

No point lies on a corner. On a shared edge **both** neighbours hold points,
mostly different ones, some exact duplicates (same X, Y, Z, GPS time); for
the test_data_* set (west or south tile / east or north tile / duplicates):
x=770550: 0/11/0 and 5/8/0; x=770600: 6/10/1 and 7/8/3; y=6277550: 8/5/0,
10/11/4 and 5/11/2 (ground_test_data_*: 4/7/1, 4/6/0, 3/1/0, 3/2/1, 5/1/0,
5/5/2, 1/4/1). The former rule (right and top edges closed, claimed to be
IGN's) moved those points to the western/southern neighbour, and re-tiling
two diagonal neighbours (77050_627760 and 77055_627755) made a tile of 16
edge points only (8 with the ground files).

Names
-----
``naming="ign"`` gives the IGN LiDAR HD name of a 1 km tile in Lambert-93,
``LHD_FXX_{xmin_km:04d}_{ymax_km:04d}_PTS_C_LAMB93_IGN69.laz``;
``naming="xy"`` gives ``{prefix}_{xmin}_{ymin}.laz`` in metres (integers when
the edges are whole metres) for any size and origin. :func:`parse_ign_name`
turns an IGN name (any of its variants) back into its bounds.

Examples
--------
>>> g = TileGrid(1000, naming="ign")
>>> col, row = g.index([770000.5, 771000.0], [6277999.0, 6278000.0])
>>> names = [g.tile(c, r).name for c, r in zip(col, row)]
>>> names[0] == names[1] == "LHD_FXX_0770_6278_PTS_C_LAMB93_IGN69.laz"
True
>>> parse_ign_name("LHD_FXX_0770_6278_PTS_C_LAMB93_IGN69.copc.laz")
(770000.0, 6277000.0, 771000.0, 6278000.0)
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

from ..errors import ParameterError

__all__ = [
    "EDGE_TOLERANCE",
    "IGN_TILE_SIZE",
    "NAMINGS",
    "Tile",
    "TileGrid",
    "ign_name",
    "parse_ign_name",
]

#: Distance (metres) under which a coordinate counts as lying on a grid line.
EDGE_TOLERANCE = 1e-6
#: Size of an IGN LiDAR HD tile, in metres.
IGN_TILE_SIZE = 1000.0
#: The naming schemes :class:`TileGrid` understands.
NAMINGS = ("ign", "xy")

_IGN_NAME = re.compile(
    r"^(?:LHD_FXX|Semis_\d{4})_(?P<x>\d{3,4})_(?P<y>\d{4})_"
    r"(?:PTS_(?:[A-Z]_)?LAMB93|LA93)_IGN69(?:\..*)?$",
    re.IGNORECASE,
)


def ign_name(xmin: float, ymax: float, suffix: str = ".laz") -> str:
    """The IGN LiDAR HD name of the 1 km tile whose top-left corner is ``(xmin, ymax)``.

    Parameters
    ----------
    xmin, ymax : float
        Left and top edges in metres (Lambert-93), multiples of 1000.
    suffix : str
        ``".laz"`` or ``".copc.laz"``.

    Examples
    --------
    >>> ign_name(770000, 6278000)
    'LHD_FXX_0770_6278_PTS_C_LAMB93_IGN69.laz'
    """
    xk, yk = xmin / 1000.0, ymax / 1000.0
    if abs(xk - round(xk)) > 1e-9 or abs(yk - round(yk)) > 1e-9:
        raise ParameterError(
            f"IGN names need tile edges on whole kilometres, got xmin={xmin!r}, ymax={ymax!r}; "
            "use --origin 0 0 --size 1000, or --naming xy"
        )
    if xk < 0 or yk < 0:
        raise ParameterError(f"IGN names need positive coordinates, got ({xmin!r}, {ymax!r})")
    return f"LHD_FXX_{round(xk):04d}_{round(yk):04d}_PTS_C_LAMB93_IGN69{suffix}"


def parse_ign_name(name: str) -> tuple[float, float, float, float]:
    """The bounds ``(xmin, ymin, xmax, ymax)`` of an IGN LiDAR HD tile from its name.

    Accepts ``LHD_FXX_XXXX_YYYY_PTS_C_LAMB93_IGN69``, the ``PTS_O_`` and ``PTS_``
    variants and the older ``Semis_YYYY_XXXX_YYYY_LA93_IGN69``, with any
    extension, with or without a folder. XXXX is the left edge and YYYY the
    **top** edge, in km.

    Raises
    ------
    ParameterError
        When the name does not follow the convention.

    Examples
    --------
    >>> parse_ign_name("LHD_FXX_0186_6834_PTS_O_LAMB93_IGN69.copc.laz")
    (186000.0, 6833000.0, 187000.0, 6834000.0)
    """
    base = str(name).replace("\\", "/").rsplit("/", 1)[-1]
    m = _IGN_NAME.match(base)
    if m is None:
        raise ParameterError(
            f"{base!r} is not an IGN LiDAR HD tile name; expected e.g. "
            "'LHD_FXX_0770_6278_PTS_C_LAMB93_IGN69.laz' (left x and top y in km)"
        )
    xmin = float(int(m["x"])) * 1000.0
    ymax = float(int(m["y"])) * 1000.0
    return (xmin, ymax - IGN_TILE_SIZE, xmin + IGN_TILE_SIZE, ymax)


def _fmt_m(v: float) -> str:
    if abs(v - round(v)) < 1e-9:
        return str(round(v))
    return f"{v:.3f}".rstrip("0").rstrip(".").replace(".", "p")


@dataclass(frozen=True)
class Tile:
    """One tile of a :class:`TileGrid`.

    Attributes
    ----------
    col, row : int
        Grid indices (x then y).
    bounds : tuple of float
        ``(xmin, ymin, xmax, ymax)`` of the tile's core area.
    name : str
        File name of the tile (with ``.laz``).
    """

    col: int
    row: int
    bounds: tuple[float, float, float, float]
    name: str

    @property
    def stem(self) -> str:
        """The name without its ``.laz`` extension."""
        return self.name[: -len(".laz")] if self.name.endswith(".laz") else self.name

    def buffered(self, buffer: float) -> tuple[float, float, float, float]:
        """The bounds grown by ``buffer`` metres on every side."""
        xmin, ymin, xmax, ymax = self.bounds
        return (xmin - buffer, ymin - buffer, xmax + buffer, ymax + buffer)


@dataclass(frozen=True)
class TileGrid:
    """A regular grid of square tiles.

    Parameters
    ----------
    size : float
        Tile side in CRS units (metres), > 0.
    origin : (float, float)
        A grid corner ``(x0, y0)``; default ``(0, 0)``. IGN tiles need the
        default origin and ``size=1000``.
    naming : {"ign", "xy"}
        Name scheme of :attr:`Tile.name` (see the module docstring).
    prefix : str
        Prefix of ``xy`` names.
    extent : (xmin, ymin, xmax, ymax), optional
        Bounds of the data. Only used for the outer-edge exception of the
        edge rule; :meth:`from_bounds` sets it.

    Examples
    --------
    >>> g = TileGrid.from_bounds((10.0, 0.0, 60.0, 25.0), size=25, naming="xy")
    >>> [t.name for t in g.tiles()]
    ['tile_0_0.laz', 'tile_25_0.laz', 'tile_50_0.laz']
    """

    size: float
    origin: tuple[float, float] = (0.0, 0.0)
    naming: str = "xy"
    prefix: str = "tile"
    extent: tuple[float, float, float, float] | None = None

    def __post_init__(self) -> None:
        size = float(self.size)
        if not math.isfinite(size) or size <= 0:
            raise ParameterError(
                f"tile size must be a positive number of metres, got {self.size!r}"
            )
        object.__setattr__(self, "size", size)
        if len(self.origin) != 2 or not all(math.isfinite(float(v)) for v in self.origin):
            raise ParameterError(f"origin must be two finite numbers (x y), got {self.origin!r}")
        object.__setattr__(self, "origin", (float(self.origin[0]), float(self.origin[1])))
        if self.naming not in NAMINGS:
            raise ParameterError(
                f"naming {self.naming!r} is unknown; choose one of {', '.join(NAMINGS)}"
            )
        if self.naming == "ign":
            if abs(size - IGN_TILE_SIZE) > 1e-9:
                raise ParameterError(
                    f"IGN names are for 1 km tiles, got size {self.size!r}; "
                    "use --size 1000 or --naming xy"
                )
            if any(abs(v / 1000.0 - round(v / 1000.0)) > 1e-9 for v in self.origin):
                raise ParameterError(
                    f"IGN tiles sit on whole kilometres, the origin {self.origin!r} does not; "
                    "use --origin 0 0 or --naming xy"
                )
        if self.extent is not None:
            ext = tuple(float(v) for v in self.extent)
            if len(ext) != 4 or not (ext[0] <= ext[2] and ext[1] <= ext[3]):
                raise ParameterError(
                    f"extent must be (xmin, ymin, xmax, ymax), got {self.extent!r}"
                )
            object.__setattr__(self, "extent", ext)

    # --- construction -----------------------------------------------------------------

    @classmethod
    def from_bounds(
        cls,
        bounds: Sequence[float],
        size: float,
        origin: tuple[float, float] = (0.0, 0.0),
        naming: str = "xy",
        prefix: str = "tile",
    ) -> TileGrid:
        """A grid whose ``extent`` is ``bounds`` (2-D ``(xmin, ymin, xmax, ymax)`` or the
        6-value ``(minx, miny, minz, maxx, maxy, maxz)`` of a LAS header)."""
        b = [float(v) for v in bounds]
        if len(b) == 6:
            b = [b[0], b[1], b[3], b[4]]
        if len(b) != 4:
            raise ParameterError(f"bounds must have 4 or 6 values, got {bounds!r}")
        return cls(size, origin, naming, prefix, (b[0], b[1], b[2], b[3]))

    def with_extent(self, bounds: Sequence[float] | None) -> TileGrid:
        """The same grid with another data extent (``None`` removes it)."""
        if bounds is None:
            return replace(self, extent=None)
        return TileGrid.from_bounds(bounds, self.size, self.origin, self.naming, self.prefix)

    # --- arithmetic -------------------------------------------------------------------

    def _axis(self, v: np.ndarray, axis: int) -> np.ndarray:
        q = (v - self.origin[axis]) / self.size
        r = np.round(q)
        on_line = np.abs(q - r) * self.size <= EDGE_TOLERANCE
        idx = np.where(on_line, r - 1, np.floor(q))
        if self.extent is not None:
            first = self._first(axis)
            idx = np.where(on_line & (r == first), first, idx)
        return idx.astype(np.int64)

    def _first(self, axis: int) -> int:
        """Index of the first column (axis 0) or row (axis 1) of the extent."""
        assert self.extent is not None
        lo = self.extent[axis]
        q = (lo - self.origin[axis]) / self.size
        r = round(q)
        if abs(q - r) * self.size <= EDGE_TOLERANCE:
            return int(r)
        return math.floor(q)

    def index(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """Column and row of each point by the edge rule (see the module docstring).

        Parameters
        ----------
        x, y : array_like

        Returns
        -------
        col, row : numpy.ndarray of int64
        """
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        return self._axis(x, 0), self._axis(y, 1)

    def _on_line(self, v: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``q`` (coordinate in tile units), the nearest grid line and whether ``v`` lies on it."""
        q = (v - self.origin[axis]) / self.size
        r = np.round(q)
        return q, r, np.abs(q - r) * self.size <= EDGE_TOLERANCE

    def _open_span(
        self, lo: np.ndarray, hi: np.ndarray, axis: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """First and last index of the tiles whose open interior meets ``[lo, hi]`` on one
        axis (first > last when it meets none: an interval lying on a grid line)."""
        q, r, on = self._on_line(lo, axis)
        first = np.where(on, r, np.floor(q))
        q, r, on = self._on_line(hi, axis)
        last = np.where(on, r - 1, np.floor(q))
        return first.astype(np.int64), last.astype(np.int64)

    @staticmethod
    def _boxes(boxes: Iterable[Sequence[float]]) -> np.ndarray:
        """``(n, 4)`` array of 2-D boxes from 4-value boxes or 6-value LAS header bounds."""
        rows = []
        for b in boxes:
            v = [float(c) for c in b]
            if len(v) == 6:
                v = [v[0], v[1], v[3], v[4]]
            if len(v) != 4:
                raise ParameterError(f"bounds must have 4 or 6 values, got {tuple(b)!r}")
            rows.append(v)
        return np.array(rows, dtype=np.float64).reshape(-1, 4)

    def home_cell(self, bounds: Sequence[float]) -> tuple[int, int] | None:
        """The tile a source file belongs to, from its header bounds (rule 1 of the edge rule).

        Parameters
        ----------
        bounds : sequence of float
            ``(xmin, ymin, xmax, ymax)`` or the 6 values
            ``(minx, miny, minz, maxx, maxy, maxz)`` of a LAS header.

        Returns
        -------
        (col, row) or None
            The one tile whose closed box holds ``bounds`` (within
            ``EDGE_TOLERANCE``) and whose open interior the box meets; ``None``
            when the box spans several tiles or lies on a grid line.

        Examples
        --------
        >>> g = TileGrid(50)
        >>> g.home_cell((770500.0, 6277500.0, 770550.0, 6277550.0))
        (15410, 125550)
        >>> g.home_cell((770500.0, 6277500.0, 770550.01, 6277550.0)) is None
        True
        """
        box = self._boxes([bounds])
        c0, c1 = self._open_span(box[:, 0], box[:, 2], 0)
        r0, r1 = self._open_span(box[:, 1], box[:, 3], 1)
        if c0[0] != c1[0] or r0[0] != r1[0]:
            return None
        return int(c0[0]), int(r0[0])

    def real_cells(self, boxes: Iterable[Sequence[float]]) -> frozenset[tuple[int, int]]:
        """The tiles whose open interior some box meets (rule 3 of the edge rule).

        Parameters
        ----------
        boxes : iterable of sequence of float
            Header bounds of the source files, 4 or 6 values each (give only
            files that hold points: empty files have meaningless bounds).

        Returns
        -------
        frozenset of (col, row)

        Examples
        --------
        >>> sorted(TileGrid(50).real_cells([(0.0, 0.0, 50.0, 50.0), (50.0, 0.0, 50.0, 10.0)]))
        [(0, 0)]
        """
        arr = self._boxes(boxes)
        if arr.shape[0] == 0:
            return frozenset()
        c0, c1 = self._open_span(arr[:, 0], arr[:, 2], 0)
        r0, r1 = self._open_span(arr[:, 1], arr[:, 3], 1)
        cells: set[tuple[int, int]] = set()
        for a, b, c, d in zip(c0.tolist(), c1.tolist(), r0.tolist(), r1.tolist(), strict=True):
            if a <= b and c <= d:  # one product of ranges per file, not per point
                cells.update((col, row) for col in range(a, b + 1) for row in range(c, d + 1))
        return frozenset(cells)

    def assign(
        self,
        x,
        y,
        home: tuple[int, int] | None = None,
        real: Collection[tuple[int, int]] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Column and row of each point of one source file by the full edge rule.

        Parameters
        ----------
        x, y : array_like
            Coordinates of points of one source file.
        home : (col, row), optional
            The file's home tile (:meth:`home_cell`): its points inside the
            closed home tile belong to it (rule 1).
        real : collection of (col, row), optional
            The real tiles (:meth:`real_cells` of all the files' headers): a
            point on a grid line whose half-open tile is not real moves to a
            real neighbour holding it (rule 3). Without it, rule 3 is not applied.

        Returns
        -------
        col, row : numpy.ndarray of int64

        Examples
        --------
        >>> g = TileGrid(50)
        >>> real = g.real_cells([(50.0, 0.0, 100.0, 50.0)])
        >>> c, r = g.assign([50.0, 100.0], [25.0, 25.0], real=real)
        >>> c.tolist(), r.tolist()
        ([1, 1], [0, 0])
        >>> g.index([50.0], [25.0])[0].tolist()  # the half-open rule alone
        [0]
        """
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if home is not None:
            # rule 1 first: the other rules only for the points outside the closed home tile
            # (all of them but a few edge points in an IGN file)
            hc, hr = int(home[0]), int(home[1])
            s, tol = self.size, EDGE_TOLERANCE
            qx = (x - self.origin[0]) / s
            inside = ((qx - hc) * s >= -tol) & ((qx - (hc + 1)) * s <= tol)
            del qx
            qy = (y - self.origin[1]) / s
            inside &= ((qy - hr) * s >= -tol) & ((qy - (hr + 1)) * s <= tol)
            del qy
            col = np.full(x.size, hc, np.int64)
            row = np.full(x.size, hr, np.int64)
            outside = np.flatnonzero(~inside)
            if outside.size:
                col[outside], row[outside] = self.assign(x[outside], y[outside], None, real)
            return col, row
        col, row = self._axis(x, 0), self._axis(y, 1)
        if real is not None and col.size:
            qx, lx, onx = self._on_line(x, 0)
            qy, ly, ony = self._on_line(y, 1)
            edge = np.flatnonzero(onx | ony)
            if edge.size:
                c, r = col[edge], row[edge]
                # the tile across a line: the other of (line - 1, line)
                c2 = np.where(onx[edge], 2 * lx[edge].astype(np.int64) - 1 - c, c)
                r2 = np.where(ony[edge], 2 * ly[edge].astype(np.int64) - 1 - r, r)
                cands = [(c, r), (c2, r), (c, r2), (c2, r2)]
                is_real = self._is_real(cands, real)
                choice = np.full(edge.size, -1)
                for k in range(len(cands) - 1, -1, -1):  # the first real candidate wins
                    choice = np.where(is_real[k], k, choice)
                for k, (cc, rr) in enumerate(cands[1:], start=1):
                    sel = choice == k
                    c = np.where(sel, cc, c)
                    r = np.where(sel, rr, r)
                col[edge], row[edge] = c, r
        return col, row

    @staticmethod
    def _is_real(
        cands: list[tuple[np.ndarray, np.ndarray]], real: Collection[tuple[int, int]]
    ) -> list[np.ndarray]:
        """For each candidate ``(cols, rows)``, which of its cells are in ``real``."""
        n = cands[0][0].size
        if not real:
            return [np.zeros(n, bool) for _ in cands]
        known = np.array(sorted(real), dtype=np.int64).reshape(-1, 2)
        pairs = np.concatenate(
            [known] + [np.column_stack([c, r]).astype(np.int64) for c, r in cands]
        )
        _, ids = np.unique(pairs, axis=0, return_inverse=True)
        ids = ids.reshape(-1)
        hit = np.isin(ids[len(known) :], ids[: len(known)])
        return [hit[k * n : (k + 1) * n] for k in range(len(cands))]

    def tile_bounds(self, col: int, row: int) -> tuple[float, float, float, float]:
        """``(xmin, ymin, xmax, ymax)`` of tile ``(col, row)``."""
        x0, y0 = self.origin
        s = self.size
        return (x0 + col * s, y0 + row * s, x0 + (col + 1) * s, y0 + (row + 1) * s)

    def name(self, col: int, row: int) -> str:
        """File name of tile ``(col, row)`` in this grid's naming."""
        xmin, ymin, _, ymax = self.tile_bounds(col, row)
        if self.naming == "ign":
            return ign_name(xmin, ymax)
        return f"{self.prefix}_{_fmt_m(xmin)}_{_fmt_m(ymin)}.laz"

    def tile(self, col: int, row: int) -> Tile:
        """The :class:`Tile` at ``(col, row)``."""
        col, row = int(col), int(row)
        return Tile(col, row, self.tile_bounds(col, row), self.name(col, row))

    def tile_at(self, x: float, y: float) -> Tile:
        """The tile a point ``(x, y)`` belongs to."""
        c, r = self.index([x], [y])
        return self.tile(int(c[0]), int(r[0]))

    def tile_from_name(self, name: str) -> Tile:
        """The tile of this grid named ``name`` (IGN names only, or names this grid made)."""
        if self.naming == "ign":
            xmin, ymin, _, _ = parse_ign_name(name)
        else:
            m = re.match(rf"^{re.escape(self.prefix)}_(-?[0-9p.]+)_(-?[0-9p.]+)\.laz$", name)
            if m is None:
                raise ParameterError(f"{name!r} is not a tile name of this grid")
            xmin, ymin = (float(g.replace("p", ".")) for g in m.groups())
        col = round((xmin - self.origin[0]) / self.size)
        row = round((ymin - self.origin[1]) / self.size)
        tile = self.tile(col, row)
        if tile.name != name.replace("\\", "/").rsplit("/", 1)[-1].replace(".copc.laz", ".laz"):
            raise ParameterError(f"{name!r} is not a tile of this grid (size {self.size:g})")
        return tile

    def index_ranges(self, bounds: Sequence[float]) -> tuple[range, range]:
        """Columns and rows of the tiles that points inside ``bounds`` can belong to."""
        xmin, ymin, xmax, ymax = (float(v) for v in bounds)
        if xmin > xmax or ymin > ymax:
            raise ParameterError(f"bounds {tuple(bounds)!r} have min > max")
        c, r = self.index([xmin, xmax], [ymin, ymax])
        return range(int(c[0]), int(c[1]) + 1), range(int(r[0]), int(r[1]) + 1)

    def tiles(self, bounds: Sequence[float] | None = None) -> list[Tile]:
        """The tiles covering ``bounds`` (default: the grid's ``extent``), row by row
        from the bottom-left.

        Every point inside ``bounds`` belongs (by the edge rule) to one of them.
        """
        if bounds is None:
            if self.extent is None:
                raise ParameterError("this grid has no extent; give the bounds to cover")
            bounds = self.extent
        b = [float(v) for v in bounds]
        if len(b) == 6:
            b = [b[0], b[1], b[3], b[4]]
        cols, rows = self.index_ranges(b)
        return [self.tile(c, r) for r in rows for c in cols]

    def iter_neighbourhood(self, tile: Tile, buffer: float) -> Iterator[Tile]:
        """Tiles whose core area lies within ``buffer`` of ``tile`` (itself included)."""
        k = math.ceil(buffer / self.size) if buffer > 0 else 0
        for dr in range(-k, k + 1):
            for dc in range(-k, k + 1):
                yield self.tile(tile.col + dc, tile.row + dr)
