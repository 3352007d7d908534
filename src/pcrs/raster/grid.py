"""Raster grids whose pixel edges sit on multiples of the resolution.

Every raster pcrs makes lives on a :class:`RasterGrid`: a north-up grid whose
left and top edges are integer multiples of the pixel size. Two grids of the
same resolution therefore share their pixel edges wherever they overlap, which
is what makes per-tile rasters line up into a seamless mosaic.

Conventions: row 0 is the northern row; a pixel covers ``[x0, x0 + res)`` in x
and ``(y0 - res, y0]`` in y (half-open, so that a point on an edge shared by two
pixels, or two tiles, belongs to exactly one of them); values are defined at
pixel centres.

Before a raster is allocated, :meth:`RasterGrid.check_size` compares the
memory it will take (pixels x :func:`peak_bytes_per_pixel`) with the memory
this process can still get (:func:`available_memory`), so that a grid too
large for the machine is refused at once with a one-line
:class:`~pcrs.errors.ParameterError` instead of a ``MemoryError`` deep in
numpy, or the system's out-of-memory killer.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ParameterError

__all__ = [
    "PEAK_BYTES_PER_PIXEL",
    "RasterGrid",
    "available_memory",
    "format_bytes",
    "peak_bytes_per_pixel",
]

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

    def check_size(
        self,
        bytes_per_pixel: float,
        *,
        what: str = "the raster",
        fix: str | None = None,
        available: int | None = None,
    ) -> int:
        """Refuse a grid whose rasters would not fit in memory, before anything is allocated.

        Parameters
        ----------
        bytes_per_pixel : float
            Peak memory of the work per pixel, every working array included
            (see :func:`peak_bytes_per_pixel`; one float64 band alone is 8).
        what : str
            What the grid is, for the message (e.g. ``"--bounds 0 0 1000 1000"``).
        fix : str, optional
            What to do instead, for the message. Default: a smaller area, a
            coarser resolution, or :func:`pcrs.process` (one raster per tile).
        available : int, optional
            Bytes available; default :func:`available_memory`. When that is
            unknown, nothing is refused.

        Returns
        -------
        int
            The estimated peak, in bytes.

        Raises
        ------
        ParameterError
            When the estimate exceeds the memory available; the one-line
            message gives the pixel count, width x height, both sizes and the fix.

        Examples
        --------
        >>> g = RasterGrid.from_bounds(0, 0, 1_000_000, 7_000_000, 0.5)
        >>> g.check_size(8, available=16 * 2**30)
        Traceback (most recent call last):
        ...
        pcrs.errors.ParameterError: the raster: 2,000,000 x 14,000,000 = 28,000,000,000,000 pixels \
at 0.5 m need about 204 TiB of memory (8 bytes per pixel) but 16.0 GiB are available; \
cover a smaller area or choose a coarser resolution, or use pcrs.process \
('pcrs process'), which writes one raster per tile
        """
        need = math.ceil(self.size * float(bytes_per_pixel))
        if available is None:
            available = available_memory()
        if available is None or need <= available:
            return need
        if fix is None:
            fix = (
                "cover a smaller area or choose a coarser resolution, or use pcrs.process "
                "('pcrs process'), which writes one raster per tile"
            )
        raise ParameterError(
            f"{what}: {self.width:,} x {self.height:,} = {self.size:,} pixels at "
            f"{self.resolution:g} m need about {format_bytes(need)} of memory "
            f"({bytes_per_pixel:g} bytes per pixel) but {format_bytes(available)} are "
            f"available; {fix}"
        )

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


# --- memory -----------------------------------------------------------------------------

#: Peak memory per pixel of ``pcrs rasterize`` for each product: computing the product and
#: writing it as a COG (the float64 result, the nodata copy and the float32 copy of the
#: writer), measured with tracemalloc on 7 and 16 Mpx grids (numpy 1.26; the measured
#: peak rounded up to the next integer). Computing alone takes less: about 11 for a
#: dtm/dsm by TIN, 25 by IDW or nearest, 30 with hole filling, 32 for chm and density,
#: 26 for intensity.
PEAK_BYTES_PER_PIXEL: dict[str, int] = {
    "dtm": 21,
    "dsm": 21,
    "chm": 37,  # pit-free; 33 for DSM - DTM
    "density": 41,  # two bands
    "intensity": 27,
}
#: dtm/dsm whose small holes are filled (the distance transform's index arrays)
_FILL_BYTES = 32
#: dtm/dsm with a hillshade quick look (a dozen float64 temporaries)
_HILLSHADE_BYTES = 84
#: what a stretched quick look of the other products adds
_STRETCH_BYTES = 10


def peak_bytes_per_pixel(product: str, *, fill: bool = False, quicklook: bool = False) -> int:
    """Peak memory per pixel of computing ``product`` and writing it (see :data:`PEAK_BYTES_PER_PIXEL`).

    Parameters
    ----------
    product : str
        ``"dtm"``, ``"dsm"``, ``"chm"``, ``"density"`` or ``"intensity"``; another
        name counts as four float64 bands (32).
    fill : bool
        Small holes are filled (dtm, dsm).
    quicklook : bool
        A PNG quick look is made too.

    Examples
    --------
    >>> peak_bytes_per_pixel("dtm"), peak_bytes_per_pixel("dtm", quicklook=True)
    (21, 84)
    """
    need = PEAK_BYTES_PER_PIXEL.get(product, 32)
    surface = product in ("dtm", "dsm")
    if fill and surface:
        need = max(need, _FILL_BYTES)
    if quicklook:
        need = max(need, _HILLSHADE_BYTES) if surface else need + _STRETCH_BYTES
    return need


def format_bytes(n: float) -> str:
    """``1536`` -> ``'1.5 KiB'``; three significant digits.

    Examples
    --------
    >>> format_bytes(224e12), format_bytes(512), format_bytes(3 * 2**30)
    ('204 TiB', '512 B', '3.00 GiB')
    """
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024 or unit == "PiB":
            break
        value /= 1024
    if unit == "B":
        return f"{int(value)} B"
    return f"{value:.0f} {unit}" if value >= 100 else f"{value:#.3g} {unit}"


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except (OSError, ValueError):
        return None
    try:
        return int(text)
    except ValueError:  # "max": no limit
        return None


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_available() -> int | None:
    """Limit minus usage of this process's memory cgroup (v2, else v1), if it has a limit."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    root = Path("/sys/fs/cgroup")
    best: int | None = None
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        hid, controllers, rel = parts
        if hid == "0" and controllers == "":
            base, limit_name, usage_name = root, "memory.max", "memory.current"
        elif "memory" in controllers.split(","):
            base, limit_name, usage_name = (
                root / "memory",
                "memory.limit_in_bytes",
                "memory.usage_in_bytes",
            )
        else:
            continue
        # the cgroup's folder, or the mount's root inside a container's namespace
        for folder in (base / rel.lstrip("/"), base):
            limit = _read_int(folder / limit_name)
            usage = _read_int(folder / usage_name)
            if limit is None or usage is None or limit >= 1 << 60:  # no limit
                continue
            left = max(0, limit - usage)
            best = left if best is None else min(best, left)
            break
    return best


def _sysconf_available() -> int | None:
    try:
        pages = os.sysconf("SC_AVPHYS_PAGES")
        size = os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        try:  # macOS has no count of free pages: the physical memory bounds it
            pages = os.sysconf("SC_PHYS_PAGES")
            size = os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, ValueError, OSError):
            return None
    if pages <= 0 or size <= 0:
        return None
    return int(pages) * int(size)


def _windows_available() -> int | None:  # pragma: no cover - Windows
    import ctypes

    class _Status(ctypes.Structure):
        _fields_ = [
            ("dwLength", ctypes.c_ulong),
            ("dwMemoryLoad", ctypes.c_ulong),
            ("ullTotalPhys", ctypes.c_ulonglong),
            ("ullAvailPhys", ctypes.c_ulonglong),
            ("ullTotalPageFile", ctypes.c_ulonglong),
            ("ullAvailPageFile", ctypes.c_ulonglong),
            ("ullTotalVirtual", ctypes.c_ulonglong),
            ("ullAvailVirtual", ctypes.c_ulonglong),
            ("ullAvailExtendedVirtual", ctypes.c_ulonglong),
        ]

    status = _Status()
    status.dwLength = ctypes.sizeof(_Status)
    if not ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined]
        return None
    return int(status.ullAvailPhys)


def available_memory() -> int | None:
    """Bytes of memory this process can still allocate without swapping, or None if unknown.

    Linux: ``MemAvailable`` of ``/proc/meminfo``, lowered to what the
    process's memory cgroup (a container's limit) has left. Elsewhere: psutil
    when it is installed, else Windows' ``GlobalMemoryStatusEx`` or the
    system's count of free pages (``sysconf``; on macOS, which has none, the
    physical memory). An address-space limit (``ulimit -v``) lowers it too.
    """
    found: list[int] = []
    avail = _meminfo_available()
    if avail is None:
        try:
            import psutil

            avail = int(psutil.virtual_memory().available)
        except Exception:
            avail = _windows_available() if sys.platform == "win32" else _sysconf_available()
    if avail is not None:
        found.append(avail)
    cgroup = _cgroup_available() if sys.platform.startswith("linux") else None
    if cgroup is not None:
        found.append(cgroup)
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY and soft > 0:
            found.append(int(soft))
    except (ImportError, OSError, ValueError):
        pass
    return min(found) if found else None
