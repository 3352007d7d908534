"""A catalog of LAS/LAZ/COPC files indexed from their headers only.

:meth:`Catalog.from_paths` reads the header of every file (no point is
decompressed), several files at a time, and keeps one
:class:`~pcrs.io.las.LasInfo` per file: bounds, point count, CRS, point format,
COPC or not. The catalog then answers spatial queries (which files meet a box)
and checks the collection the way a user of lidR's ``LAScatalog`` expects:

- ``mixed_crs``: files in different CRSs (fatal for tiling and processing);
- ``missing_crs``: files without a CRS in their header;
- ``overlap``: two files whose footprints (header bounding boxes) share an area
  (adjacent tiles that only share an edge do not count);
- ``gap``: holes in the coverage, i.e. areas surrounded by files but covered by none;
- ``duplicate``: files with the same point count, bounds and point format (a
  copy under another name), or the same file given twice;
- ``mixed_format`` (info): files with different point formats or extra
  dimensions; tiles that join them hold the union of their dimensions;
- ``unreadable``: files whose header cannot be read.

Footprints are the header bounding boxes, which is what a header-only index
knows; a strip's real outline is not computed.

Example
-------
>>> from pcrs import synth
>>> from pcrs.io import las
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> las.write(synth.make_scene(2000, seed=1).cloud, d / "a.laz")
>>> cat = Catalog.from_paths([d])
>>> len(cat), cat.points > 0
(1, True)
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyproj import CRS

from ..errors import CRSError, ParameterError, PcrsError, PcrsIOError
from ..io import las
from ..io.crs import crs_label, epsg_code, parse_crs
from .grid import TileGrid

__all__ = ["FATAL_ISSUES", "LAS_SUFFIXES", "Catalog", "CatalogIssue", "find_point_files"]

log = logging.getLogger(__name__)

#: File name endings a catalog picks up in a folder (case-insensitive).
LAS_SUFFIXES = (".las", ".laz")

#: Issue kinds that make a catalog unusable for tiling / processing.
FATAL_ISSUES = {"mixed_crs", "unreadable"}


@dataclass(frozen=True)
class CatalogIssue:
    """One finding of :meth:`Catalog.check`.

    Attributes
    ----------
    kind : str
        ``mixed_crs``, ``missing_crs``, ``overlap``, ``gap``, ``duplicate``,
        ``mixed_format`` or ``unreadable``.
    severity : str
        ``"error"`` (tiling/processing would be wrong), ``"warning"`` or ``"info"``.
    message : str
    files : tuple of str
    geometry : shapely geometry, optional
        Where the issue is (overlap area, gap polygon, footprint).
    """

    kind: str
    severity: str
    message: str
    files: tuple[str, ...] = ()
    geometry: Any = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the geometry as WKT)."""
        return {
            "kind": self.kind,
            "severity": self.severity,
            "message": self.message,
            "files": list(self.files),
            "wkt": self.geometry.wkt if self.geometry is not None else None,
        }


def find_point_files(paths: Iterable[str | os.PathLike], recursive: bool = False) -> list[Path]:
    """Expand folders into the LAS/LAZ files they hold, sorted by name.

    Parameters
    ----------
    paths : iterable of path-like
        Files and folders. Files are kept whatever their extension.
    recursive : bool
        Also look into sub-folders.

    Raises
    ------
    PcrsIOError
        When a path does not exist or a folder holds no LAS/LAZ file.
    """
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            pattern = "**/*" if recursive else "*"
            found = sorted(
                f for f in p.glob(pattern) if f.is_file() and f.name.lower().endswith(LAS_SUFFIXES)
            )
            if not found:
                raise PcrsIOError(f"{p}: no .las or .laz file in this folder")
            out.extend(found)
        elif p.exists():
            out.append(p)
        else:
            raise PcrsIOError(f"{p}: no such file or folder; check the path")
    return out


def _safe_info(path: Path) -> las.LasInfo | PcrsError:
    try:
        return las.info(path)
    except PcrsError as exc:
        return exc


def _crs_key(crs: CRS | None) -> str | None:
    if crs is None:
        return None
    code = epsg_code(crs)
    return f"EPSG:{code}" if code is not None else crs.to_wkt()


@dataclass
class Catalog:
    """Header facts of a set of LAS/LAZ/COPC files.

    Build it with :meth:`from_paths`. ``files`` holds the readable files in
    the order given (folders expanded in name order), ``errors`` the
    unreadable ones with their error.
    """

    files: list[las.LasInfo]
    errors: dict[str, str] = field(default_factory=dict)
    duplicates_given: list[str] = field(default_factory=list)

    @classmethod
    def from_paths(
        cls,
        paths: Iterable[str | os.PathLike] | str | os.PathLike,
        *,
        workers: int | None = None,
        recursive: bool = False,
        crs: Any = None,
        on_error: str = "report",
    ) -> Catalog:
        """Index files and folders from their headers, ``workers`` files at a time.

        Parameters
        ----------
        paths : path-like or iterable of path-like
            Files and/or folders (folders give their ``.las``/``.laz`` files).
        workers : int, optional
            Header reads in flight (threads); default 8.
        recursive : bool
            Look into sub-folders.
        crs : CRS-like, optional
            Assign this CRS to every file (headers without or with a wrong CRS).
        on_error : {"report", "raise"}
            Keep unreadable files in :attr:`errors` (and report them in
            :meth:`check`), or raise the first error.

        Returns
        -------
        Catalog
        """
        if on_error not in ("report", "raise"):
            raise ParameterError(f"on_error must be 'report' or 'raise', got {on_error!r}")
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        found = find_point_files(paths, recursive=recursive)
        seen: dict[str, Path] = {}
        given_twice = []
        for p in found:
            key = os.path.realpath(p)
            if key in seen:
                given_twice.append(str(p))
                continue
            seen[key] = p
        unique = list(seen.values())
        n = max(1, min(int(workers or 8), len(unique) or 1))
        if n == 1:
            results = [_safe_info(p) for p in unique]
        else:
            with ThreadPoolExecutor(max_workers=n) as pool:
                results = list(pool.map(_safe_info, unique))
        override = parse_crs(crs) if crs is not None else None
        files, errors = [], {}
        for p, res in zip(unique, results, strict=True):
            if isinstance(res, PcrsError):
                if on_error == "raise":
                    raise res
                errors[str(p)] = str(res)
                continue
            if override is not None:
                res.crs = override
            files.append(res)
        if not files and not errors:
            raise PcrsIOError("no LAS/LAZ file given")
        return cls(files, errors, given_twice)

    # --- facts ------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.files)

    def __iter__(self):
        return iter(self.files)

    @property
    def paths(self) -> list[Path]:
        """Paths of the readable files."""
        return [f.path for f in self.files]

    @property
    def points(self) -> int:
        """Total number of points announced by the headers."""
        return int(sum(f.points for f in self.files))

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """2-D ``(xmin, ymin, xmax, ymax)`` of all files."""
        if not self.files:
            raise ParameterError("the catalog has no readable file")
        # files without points have meaningless (often zero) header bounds
        b = np.array(
            [f.bounds for f in self.files if f.points > 0] or [f.bounds for f in self.files]
        )
        return (
            float(b[:, 0].min()),
            float(b[:, 1].min()),
            float(b[:, 3].max()),
            float(b[:, 4].max()),
        )

    @property
    def crs(self) -> CRS | None:
        """The CRS shared by the files (None when no file has one).

        Raises
        ------
        CRSError
            When the files are in different CRSs.
        """
        keys = {_crs_key(f.crs): f.crs for f in self.files if f.crs is not None}
        if len(keys) > 1:
            raise CRSError(
                f"the files are in {len(keys)} different CRSs ({', '.join(sorted(map(str, keys))[:3])}); "
                "reproject them to one CRS first, or pass --crs when the headers are wrong"
            )
        return next(iter(keys.values()), None)

    def footprint(self, info: las.LasInfo) -> shapely.Geometry:
        """The header bounding box of one file as a polygon."""
        b = info.bounds
        return shapely.box(b[0], b[1], b[3], b[4])

    def footprints(self) -> list[shapely.Geometry]:
        """Header bounding boxes, one polygon per file (in :attr:`files` order)."""
        return [self.footprint(f) for f in self.files]

    def query(self, bounds: Sequence[float]) -> list[las.LasInfo]:
        """Files whose bounding box meets the closed box ``(xmin, ymin, xmax, ymax)``."""
        if len(bounds) != 4:
            raise ParameterError(f"bounds must be (xmin, ymin, xmax, ymax), got {bounds!r}")
        xmin, ymin, xmax, ymax = (float(v) for v in bounds)
        if not self.files:
            return []
        b = np.array([f.bounds for f in self.files])
        hit = (b[:, 0] <= xmax) & (b[:, 3] >= xmin) & (b[:, 1] <= ymax) & (b[:, 4] >= ymin)
        hit &= np.array([f.points > 0 for f in self.files])
        return [f for f, h in zip(self.files, hit, strict=True) if h]

    def grid(
        self,
        size: float,
        origin: tuple[float, float] = (0.0, 0.0),
        naming: str = "xy",
        prefix: str = "tile",
    ) -> TileGrid:
        """A :class:`TileGrid` whose extent is the catalog's bounds."""
        return TileGrid.from_bounds(self.bounds, size, origin, naming, prefix)

    # --- checks -----------------------------------------------------------------------

    def check(self, min_area: float = 1e-4) -> list[CatalogIssue]:
        """Look for mixed CRSs, missing CRSs, overlaps, gaps, duplicates, mixed formats.

        Parameters
        ----------
        min_area : float
            Overlaps and gaps smaller than this (m²) are ignored (header
            rounding).

        Returns
        -------
        list of CatalogIssue
            Errors first, then warnings.
        """
        issues: list[CatalogIssue] = []
        for path, err in self.errors.items():
            issues.append(CatalogIssue("unreadable", "error", err, (path,)))
        for path in self.duplicates_given:
            issues.append(
                CatalogIssue(
                    "duplicate", "warning", f"{path}: given more than once; read once", (path,)
                )
            )
        if not self.files:
            return issues
        issues += self._check_crs()
        issues += self._check_formats()
        issues += self._check_duplicates()
        issues += self._check_overlaps_and_gaps(min_area)
        issues.sort(key=lambda i: (i.severity != "error", i.kind))
        return issues

    def _check_crs(self) -> list[CatalogIssue]:
        out = []
        groups: dict[str | None, list[str]] = {}
        for f in self.files:
            groups.setdefault(_crs_key(f.crs), []).append(str(f.path))
        missing = groups.pop(None, [])
        if missing:
            out.append(
                CatalogIssue(
                    "missing_crs",
                    "warning",
                    f"{len(missing)} file(s) have no CRS in their header (e.g. {missing[0]!r}); "
                    "pass --crs EPSG:2154 (or the right code)",
                    tuple(missing),
                )
            )
        if len(groups) > 1:
            crs_of: dict[str | None, CRS | None] = {}
            for f in self.files:
                crs_of.setdefault(_crs_key(f.crs), f.crs)
            parts = [f"{crs_label(crs_of[k])}: {len(v)} file(s)" for k, v in groups.items()]
            out.append(
                CatalogIssue(
                    "mixed_crs",
                    "error",
                    "the files are in different CRSs (" + "; ".join(parts) + "); reproject them "
                    "to one CRS before tiling or processing",
                    tuple(p for v in groups.values() for p in v),
                )
            )
        return out

    def _check_formats(self) -> list[CatalogIssue]:
        kinds: dict[tuple, list[str]] = {}
        for f in self.files:
            key = (f.point_format, tuple(n for n, _ in f.extra_dims))
            kinds.setdefault(key, []).append(str(f.path))
        if len(kinds) <= 1:
            return []
        parts = [
            f"format {k[0]}" + (f" + {', '.join(k[1])}" if k[1] else "") + f": {len(v)} file(s)"
            for k, v in kinds.items()
        ]
        return [
            CatalogIssue(
                "mixed_format",
                "info",
                "the files have different point formats or extra dimensions ("
                + "; ".join(parts)
                + "); tiles that join them hold the union of their dimensions, in the "
                "smallest point format that stores them all",
                tuple(p for v in kinds.values() for p in v),
            )
        ]

    def _check_duplicates(self) -> list[CatalogIssue]:
        out = []
        groups: dict[tuple, list[las.LasInfo]] = {}
        for f in self.files:
            groups.setdefault(
                (f.points, f.point_format, tuple(round(v, 6) for v in f.bounds)), []
            ).append(f)
        for group in groups.values():
            if len(group) > 1 and group[0].points > 0:
                names = tuple(str(f.path) for f in group)
                out.append(
                    CatalogIssue(
                        "duplicate",
                        "warning",
                        f"{len(group)} files have the same point count ({group[0].points}), format "
                        f"and bounds, probably copies: {', '.join(repr(n) for n in names)}; keep one",
                        names,
                        self.footprint(group[0]),
                    )
                )
        return out

    def _check_overlaps_and_gaps(self, min_area: float) -> list[CatalogIssue]:
        out = []
        boxes = np.asarray(self.footprints(), dtype=object)
        tree = shapely.STRtree(boxes)
        left, right = tree.query(boxes, predicate="intersects")
        keep = left < right
        for i, j in zip(left[keep], right[keep], strict=True):
            inter = shapely.intersection(boxes[i], boxes[j])
            if inter.area > min_area:
                a, b = self.files[i], self.files[j]
                share = 100.0 * inter.area / max(min(boxes[i].area, boxes[j].area), 1e-12)
                out.append(
                    CatalogIssue(
                        "overlap",
                        "warning",
                        f"{a.path} and {b.path} overlap on {inter.area:.1f} m² ({share:.1f} % of the "
                        "smaller); overlapping points are processed twice unless the files are "
                        "re-tiled first",
                        (str(a.path), str(b.path)),
                        inter,
                    )
                )
        union = shapely.union_all(boxes)
        polys = list(getattr(union, "geoms", [union]))
        for poly in polys:
            for ring in poly.interiors:
                hole = shapely.Polygon(ring)
                if hole.area > min_area:
                    minx, miny, maxx, maxy = hole.bounds
                    out.append(
                        CatalogIssue(
                            "gap",
                            "warning",
                            f"a hole of {hole.area:.1f} m² in the coverage, x {minx:.2f}..{maxx:.2f}, "
                            f"y {miny:.2f}..{maxy:.2f}: no file covers it",
                            (),
                            hole,
                        )
                    )
        return out

    # --- output -----------------------------------------------------------------------

    def to_dict(self, issues: list[CatalogIssue] | None = None) -> dict[str, Any]:
        """A JSON-ready summary: totals, per-file facts and the check results."""
        issues = self.check() if issues is None else issues
        try:
            crs = self.crs
            crs_text: Any = (
                epsg_code(crs)
                if crs is not None and epsg_code(crs)
                else (crs.to_wkt() if crs is not None else None)
            )
        except CRSError:
            crs_text = "mixed"
        return {
            "files": len(self.files),
            "points": self.points,
            "bounds": list(self.bounds) if self.files else None,
            "crs": crs_text,
            "issues": [i.to_dict() for i in issues],
            "unreadable": dict(self.errors),
            "entries": [f.to_dict() for f in self.files],
        }

    def to_json(self, **kwargs) -> str:
        """:meth:`to_dict` as a JSON string."""
        return json.dumps(self.to_dict(), **kwargs)

    def to_geopackage(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write the footprints, one polygon per file with its facts, to a GeoPackage.

        The layer is ``footprints`` with the columns ``path``, ``name``,
        ``points``, ``point_format``, ``las_version``, ``copc``, ``crs``,
        ``density`` (points per m² of the bounding box), ``zmin``, ``zmax``,
        ``file_size``. A second layer ``issues`` holds the overlaps and gaps
        found by :meth:`check`, when there are any.
        """
        from ..io.vector import write_geopackage

        try:
            crs = self.crs
        except CRSError:
            crs = None
        geoms = self.footprints()
        props: dict[str, list] = {
            "path": [str(f.path) for f in self.files],
            "name": [f.path.name for f in self.files],
            "points": [f.points for f in self.files],
            "point_format": [f.point_format for f in self.files],
            "las_version": [f.las_version for f in self.files],
            "copc": [f.copc for f in self.files],
            "crs": [crs_label(f.crs) if f.crs is not None else None for f in self.files],
            "density": [
                f.points / g.area if g.area > 0 else None
                for f, g in zip(self.files, geoms, strict=True)
            ],
            "zmin": [f.bounds[2] for f in self.files],
            "zmax": [f.bounds[5] for f in self.files],
            "file_size": [f.file_size for f in self.files],
        }
        out = write_geopackage(path, "footprints", geoms, props, crs, overwrite=overwrite)
        located = [i for i in self.check() if i.geometry is not None]
        if located:
            write_geopackage(
                out,
                "issues",
                [i.geometry for i in located],
                {
                    "kind": [i.kind for i in located],
                    "severity": [i.severity for i in located],
                    "message": [i.message for i in located],
                    "files": [";".join(i.files) for i in located],
                },
                crs,
                append=True,
                overwrite=True,
            )
        return out

    def to_geodataframe(self) -> Any:
        """The footprints, one polygon per file with its header facts, as a
        ``geopandas.GeoDataFrame``; needs geopandas. See
        :func:`pcrs.interop.geopandas.catalog_to_geodataframe`.
        """
        from ..interop.geopandas import catalog_to_geodataframe

        return catalog_to_geodataframe(self)

    def require_consistent(self) -> None:
        """Raise when the catalog cannot be tiled or processed as one set.

        Raises
        ------
        PcrsIOError
            For unreadable files.
        CRSError
            For mixed CRSs.
        """
        if self.errors:
            path, err = next(iter(self.errors.items()))
            raise PcrsIOError(err if path in err else f"{path}: {err}")
        if not self.files:
            raise PcrsIOError("no readable LAS/LAZ file")
        _ = self.crs
