"""The delivery as a whole: tile boxes from names and headers, names, grid, CRS identity,
the coverage and density mosaics (bounded in size), holes.

Everything here works on the small :class:`~pcrs.lidarcheck.headers.HeaderFacts` and
:class:`~pcrs.lidarcheck.tile_pass.TileResult` records, never on points.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..vector.rules import Finding
from .headers import HeaderFacts
from .spec import LidarSpec
from .tile_pass import TileResult

__all__ = [
    "Mosaic",
    "choose_factors",
    "cross_tile_findings",
    "holes",
    "name_box",
    "new_mosaic",
    "paste",
    "plan_box",
]

#: cells of the coverage raster and of the density map, at most (about 32 MB of uint32 each)
CELL_BUDGET = 8_000_000

Box = tuple[float, float, float, float]


def name_box(path: str, spec: LidarSpec) -> Box | None:
    """The tile a file name gives under ``spec`` (None: no pattern, or no match)."""
    rx = spec.name_regex
    if rx is None:
        return None
    m = rx.fullmatch(Path(path).name)
    if m is None:
        return None
    x = int(m.group("x")) * spec.name_unit
    y = int(m.group("y")) * spec.name_unit
    s = spec.tile_size
    if spec.name_corner == "upper-left":
        return (x, y - s, x + s, y)
    return (x, y, x + s, y + s)


def _tile_at(x: float, y: float, s: float) -> Box:
    x0, y0 = math.floor(x / s) * s, math.floor(y / s) * s
    return (x0, y0, x0 + s, y0 + s)


def plan_box(facts: HeaderFacts, spec: LidarSpec) -> Box | None:
    """The tile a file's points are counted on: the name's tile when the header's bounds
    centre lies in it, else the grid tile under that centre."""
    if facts.error is not None or len(facts.bounds) < 6 or facts.points == 0:
        return None
    b = facts.bounds
    cx, cy = (b[0] + b[3]) / 2, (b[1] + b[4]) / 2
    if not (math.isfinite(cx) and math.isfinite(cy)):
        return None
    named = name_box(facts.path, spec)
    if named is not None and named[0] <= cx <= named[2] and named[1] <= cy <= named[3]:
        return named
    return _tile_at(cx, cy, spec.tile_size)


def choose_factors(boxes: list[Box], spec: LidarSpec) -> tuple[int, int, list[str]]:
    """Coverage and map cells, as multiples of the smallest density cell, that keep each
    mosaic under :data:`CELL_BUDGET` cells; the notes say what was coarsened."""
    base = min(spec.cells)
    n_tile = round(spec.tile_size / base)
    divisors = [d for d in range(1, n_tile + 1) if n_tile % d == 0]
    notes: list[str] = []
    if not boxes:
        return 1, 1, notes
    xs = [b[0] for b in boxes] + [b[2] for b in boxes]
    ys = [b[1] for b in boxes] + [b[3] for b in boxes]
    area_cells = (max(xs) - min(xs)) * (max(ys) - min(ys)) / base**2

    def pick(wanted: float) -> int:
        k = next((d for d in divisors if d * base >= wanted - 1e-9), divisors[-1])
        while area_cells / k**2 > CELL_BUDGET and k != divisors[-1]:
            k = divisors[divisors.index(k) + 1]
        return k

    if area_cells / divisors[-1] ** 2 > CELL_BUDGET:
        notes.append(f"the delivery spans {area_cells * base**2 / 1e6:,.0f} km²: more than "
                     f"{CELL_BUDGET:,} tiles' worth of cells, so no coverage raster and no "
                     "density map (coverage holes are not searched)")  # fmt: skip
        return 0, 0, notes
    cov = pick(spec.coverage_cell)
    mp = pick(max(spec.cells))
    if cov * base > spec.coverage_cell + 1e-9:
        notes.append(f"coverage judged on {cov * base:g} m cells (asked {spec.coverage_cell:g} m) "
                     f"to stay under {CELL_BUDGET:,} cells")  # fmt: skip
    if mp * base > max(spec.cells) + 1e-9:
        notes.append(f"density map at {mp * base:g} m cells (asked {max(spec.cells):g} m) "
                     f"to stay under {CELL_BUDGET:,} cells")  # fmt: skip
    return cov, mp, notes


def _fmt_tile(b: Box) -> str:
    return f"({b[0]:.0f}, {b[1]:.0f})-({b[2]:.0f}, {b[3]:.0f})"


def cross_tile_findings(
    facts: list[HeaderFacts], results: list[TileResult], spec: LidarSpec
) -> list[Finding]:
    """NAME, GRID-003/004 and CRS-005: the rules that compare tiles."""
    out: list[Finding] = []
    rx = spec.name_regex
    # CRS identity
    keys = Counter(f.crs_key for f in facts if f.error is None and f.crs_key is not None)
    if len(keys) > 1:
        common, _n = keys.most_common(1)[0]
        label = next(f.crs_label for f in facts if f.crs_key == common)
        for f in facts:
            if f.error is None and f.crs_key is not None and f.crs_key != common:
                out.append(Finding("LIDAR-CRS-005", {"value": f.crs_label, "other": label,
                           "count": keys[common]}, file=f.path))  # fmt: skip
    # names
    for r in results:
        name = Path(r.path).name
        if rx is not None and rx.fullmatch(name) is None:
            out.append(Finding("LIDAR-NAME-001", {"name": name, "pattern": spec.name_pattern},
                               file=r.path))  # fmt: skip
            continue
        named = name_box(r.path, spec)
        if named is None or r.bounds is None:
            continue
        nb = r.bounds
        cx, cy = (nb[0] + nb[3]) / 2, (nb[1] + nb[4]) / 2
        if not (named[0] <= cx <= named[2] and named[1] <= cy <= named[3]):
            found = _tile_at(cx, cy, spec.tile_size)
            out.append(Finding("LIDAR-NAME-002", {"named": _fmt_tile(named),
                       "found": _fmt_tile(found)}, file=r.path, x=cx, y=cy))  # fmt: skip
    # one file per tile
    by_box: dict[Box, list[TileResult]] = {}
    for r in results:
        by_box.setdefault(r.box, []).append(r)
    for box, group in by_box.items():
        if len(group) > 1:
            for r in group[1:]:
                out.append(Finding("LIDAR-GRID-003", {"tile": _fmt_tile(box),
                           "other": Path(group[0].path).name}, file=r.path,
                           x=(box[0] + box[2]) / 2, y=(box[1] + box[3]) / 2))  # fmt: skip
    # extents larger than a tile, overlaps
    tol = spec.tolerance
    with_bounds = [r for r in results if r.bounds is not None]
    for r in with_bounds:
        b = r.bounds
        assert b is not None
        w, h = b[3] - b[0], b[4] - b[1]
        if w > spec.tile_size + 2 * tol or h > spec.tile_size + 2 * tol:
            out.append(Finding("LIDAR-GRID-001", {"width": f"{w:.1f}", "height": f"{h:.1f}",
                       "size": f"{spec.tile_size:g}"}, file=r.path,
                       x=(b[0] + b[3]) / 2, y=(b[1] + b[4]) / 2))  # fmt: skip
    if len(with_bounds) > 1:
        import shapely

        boxes = shapely.box(*np.array([[r.bounds[0] + tol, r.bounds[1] + tol,  # type: ignore[index]
                                        r.bounds[3] - tol, r.bounds[4] - tol]  # type: ignore[index]
                                       for r in with_bounds]).T)  # fmt: skip
        tree = shapely.STRtree(boxes)
        a, b_ = tree.query(boxes, predicate="intersects")
        for i, j in zip(a.tolist(), b_.tolist(), strict=True):
            if i >= j:
                continue
            inter = shapely.intersection(boxes[i], boxes[j])
            x0, y0, x1, y1 = inter.bounds
            if x1 - x0 <= 0 or y1 - y0 <= 0:
                continue
            ri, rj = with_bounds[i], with_bounds[j]
            out.append(Finding("LIDAR-GRID-004", {"other": Path(rj.path).name,
                       "width": f"{x1 - x0 + 2 * tol:.1f}", "height": f"{y1 - y0 + 2 * tol:.1f}"},
                       file=ri.path, x=(x0 + x1) / 2, y=(y0 + y1) / 2))  # fmt: skip
    return out


@dataclass
class Mosaic:
    """The delivery's coverage counts and density map, pasted from the tiles."""

    xmin: float
    ymax: float
    cov_cell: float
    map_cell: float
    cov_points: np.ndarray
    cov_water: np.ndarray
    inside: np.ndarray
    map_points: np.ndarray
    map_pulses: np.ndarray
    notes: list[str] = field(default_factory=list)


def new_mosaic(
    boxes: list[Box], base: float, cov_factor: int, map_factor: int, notes: list[str]
) -> Mosaic | None:
    """An empty mosaic over the union of ``boxes`` (None without boxes)."""
    if not boxes or cov_factor < 1 or map_factor < 1:
        return None
    xmin, ymin = min(b[0] for b in boxes), min(b[1] for b in boxes)
    xmax, ymax = max(b[2] for b in boxes), max(b[3] for b in boxes)
    cc, mc = cov_factor * base, map_factor * base
    cw, ch = round((xmax - xmin) / cc), round((ymax - ymin) / cc)
    mw, mh = round((xmax - xmin) / mc), round((ymax - ymin) / mc)
    return Mosaic(
        xmin, ymax, cc, mc,
        np.zeros((ch, cw), np.uint32), np.zeros((ch, cw), np.uint32), np.zeros((ch, cw), bool),
        np.full((mh, mw), np.nan, np.float32), np.full((mh, mw), np.nan, np.float32),
        list(notes),
    )  # fmt: skip


def paste(m: Mosaic, r: TileResult) -> None:
    """Add one tile's coarse counts to the mosaic, then drop them from the result (the
    parent keeps one tile's arrays at a time, whatever the delivery's size)."""
    if r.cov_points is not None and r.cov_water is not None:
        c0, r0 = round((r.box[0] - m.xmin) / m.cov_cell), round((m.ymax - r.box[3]) / m.cov_cell)
        h, w = r.cov_points.shape
        m.cov_points[r0 : r0 + h, c0 : c0 + w] += r.cov_points
        m.cov_water[r0 : r0 + h, c0 : c0 + w] += r.cov_water
        m.inside[r0 : r0 + h, c0 : c0 + w] = True
    if r.map_points is not None and r.map_pulses is not None:
        c0, r0 = round((r.box[0] - m.xmin) / m.map_cell), round((m.ymax - r.box[3]) / m.map_cell)
        h, w = r.map_points.shape
        for band, add in ((m.map_points, r.map_points), (m.map_pulses, r.map_pulses)):
            old = band[r0 : r0 + h, c0 : c0 + w]
            band[r0 : r0 + h, c0 : c0 + w] = np.where(np.isnan(old), 0, old) + add
    r.cov_points = r.cov_water = r.map_points = r.map_pulses = None


def holes(m: Mosaic, spec: LidarSpec) -> tuple[list[dict[str, Any]], int]:
    """Empty areas larger than ``spec.hole_min_area`` inside the delivery's tiles.

    Returns the holes (``polygon`` as a shapely geometry, ``area``, ``x``, ``y``) and how
    many were exempt as water (class 9 dominating a ring of cells around them).
    """
    import rasterio.features
    import shapely
    from affine import Affine
    from scipy import ndimage

    empty = m.inside & (m.cov_points == 0)
    labels, n = ndimage.label(empty)
    if n == 0:
        return [], 0
    cell_area = m.cov_cell**2
    areas = np.bincount(labels.ravel(), minlength=n + 1) * cell_area
    big = np.flatnonzero(areas > spec.hole_min_area)
    big = big[big > 0]
    if big.size == 0:
        return [], 0
    objects = ndimage.find_objects(labels)
    keep: list[int] = []
    exempt = 0
    ring_width = max(1, math.ceil(5.0 / m.cov_cell))  # about 5 m around the hole
    for lab in big.tolist():
        sl = objects[lab - 1]
        assert sl is not None
        r0 = max(0, sl[0].start - ring_width)
        r1 = min(labels.shape[0], sl[0].stop + ring_width)
        c0 = max(0, sl[1].start - ring_width)
        c1 = min(labels.shape[1], sl[1].stop + ring_width)
        hole = labels[r0:r1, c0:c1] == lab
        ring = ndimage.binary_dilation(hole, iterations=ring_width) & ~hole
        pts = int(m.cov_points[r0:r1, c0:c1][ring].sum())
        water = int(m.cov_water[r0:r1, c0:c1][ring].sum())
        if spec.water_share <= 1 and pts and water / pts >= spec.water_share:
            exempt += 1
            continue
        keep.append(lab)
    out: list[dict[str, Any]] = []
    if not keep:
        return out, exempt
    mask = np.isin(labels, keep)
    transform = Affine(m.cov_cell, 0, m.xmin, 0, -m.cov_cell, m.ymax)
    polys: dict[int, list] = {}
    for geom, value in rasterio.features.shapes(labels.astype(np.int32), mask=mask,
                                                transform=transform):  # fmt: skip
        polys.setdefault(int(value), []).append(shapely.geometry.shape(geom))
    for lab in keep:
        poly = shapely.union_all(polys.get(lab, []))
        p = poly.representative_point()
        out.append({"polygon": poly, "area": float(areas[lab]), "x": p.x, "y": p.y})
    return out, exempt
