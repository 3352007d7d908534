"""The findings of one tile's pass: FILE-002/003, FORMAT-006/007, GRID-002, DENSITY,
CLASS, ATTR and DUP, from a :class:`~pcrs.lidarcheck.tile_pass.TileResult`."""

from __future__ import annotations

from ..vector.rules import Finding
from .headers import HeaderFacts
from .spec import LidarSpec
from .tile_pass import TileResult

__all__ = ["tile_findings"]


def _pct(v: float) -> str:
    return f"{100 * v:.1f}"


def _box(b: tuple[float, ...]) -> str:
    return f"({b[0]:.2f}, {b[1]:.2f})-({b[3]:.2f}, {b[4]:.2f})"


def tile_findings(facts: HeaderFacts, r: TileResult, spec: LidarSpec) -> list[Finding]:
    """Every finding the pass over one tile gives under ``spec``."""
    f = r.path
    out: list[Finding] = []
    if r.error is not None:
        out.append(Finding("LIDAR-FILE-002", {"read": f"{r.points:,}", "count": f"{facts.points:,}",
                           "reason": r.error}, file=f))  # fmt: skip
    elif r.points == 0:
        out.append(Finding("LIDAR-FILE-003", {}, file=f))
    if r.points == 0 or r.bounds is None:
        return out
    first = r.first
    counts = r.counts

    def located(rule: str, key: str, **params) -> None:
        x, y = first.get(key, (None, None))
        out.append(Finding(rule, {"count": f"{counts.get(key, 0):,}", **params}, file=f, x=x, y=y))

    # header against the points (only when every point was read)
    if r.error is None:
        b, hb = r.bounds, facts.bounds
        half = [0.5 * s + 1e-9 for s in facts.scales] * 2
        if any(abs(b[i] - hb[i]) > half[i] + 1e-6 * abs(hb[i]) for i in range(6)):
            out.append(Finding("LIDAR-FORMAT-006", {"header": _box(hb), "points": _box(b)},
                               file=f))  # fmt: skip
        hdr_ret = list(facts.points_by_return) + [0] * 16
        got = r.by_return + [0] * 16
        n = max(len(facts.points_by_return), 5)
        if facts.points != r.points or any(hdr_ret[i] != got[i + 1] for i in range(n)):
            out.append(Finding("LIDAR-FORMAT-007", {
                "header": f"{facts.points} points, by return {hdr_ret[:n]}",
                "points": f"{r.points} points, by return {got[1:n + 1]}"}, file=f))  # fmt: skip
    # grid
    if counts.get("outside"):
        bx = r.box
        located(
            "LIDAR-GRID-002",
            "outside",
            tol=f"{spec.tolerance:g}",
            tile=f"({bx[0]:.0f}, {bx[1]:.0f})-({bx[2]:.0f}, {bx[3]:.0f})",
        )
    # density
    for d, allowed in zip(r.density, spec.max_share_below, strict=False):
        i = spec.cells.index(d.cell)
        for kind, rule, minimum in (
            ("pulses", "LIDAR-DENSITY-001", spec.cell_min_pulses[i]),
            ("points", "LIDAR-DENSITY-003", spec.cell_min_points[i]),
        ):
            below = getattr(d, f"below_{kind}")
            if minimum <= 0 or not d.judged or below / d.judged <= allowed:
                continue
            xy = getattr(d, f"worst_{kind}_xy") or (None, None)
            out.append(Finding(rule, {"share": _pct(below / d.judged), "cell": f"{d.cell:g}",
                       "minimum": f"{minimum:g}", "allowed": _pct(allowed),
                       "value": f"{getattr(d, f'worst_{kind}'):.2f}"},
                       file=f, x=xy[0], y=xy[1]))  # fmt: skip
    cx, cy = (r.box[0] + r.box[2]) / 2, (r.box[1] + r.box[3]) / 2
    for value, minimum, rule in ((r.mean_pulses, spec.nominal_pulses, "LIDAR-DENSITY-002"),
                                 (r.mean_points, spec.nominal_points, "LIDAR-DENSITY-004")):  # fmt: skip
        if minimum > 0 and value == value and value < minimum:
            out.append(Finding(rule, {"value": f"{value:.2f}", "minimum": f"{minimum:g}"},
                               file=f, x=cx, y=cy))  # fmt: skip
    # classes
    if counts.get("class"):
        bad = sorted(k for k in r.classes if k not in spec.classes)
        located(
            "LIDAR-CLASS-001",
            "class",
            codes=", ".join(map(str, bad)),
            allowed=", ".join(map(str, spec.classes)),
        )
    unclassified = r.classes.get(0, 0) + r.classes.get(1, 0)
    if unclassified / r.points > spec.max_unclassified_share:
        out.append(Finding("LIDAR-CLASS-002", {"share": _pct(unclassified / r.points),
                   "allowed": _pct(spec.max_unclassified_share)}, file=f))  # fmt: skip
    if counts.get("withheld"):
        located("LIDAR-CLASS-003", "withheld")
    if counts.get("synthetic"):
        located("LIDAR-CLASS-004", "synthetic")
    # attributes
    if counts.get("returns"):
        located("LIDAR-ATTR-001", "returns")
    if r.gps is not None and r.gps[0] == r.gps[1] and r.points > 1:
        out.append(Finding("LIDAR-ATTR-002", {"value": f"{r.gps[0]:g}"}, file=f))
    if counts.get("scan"):
        located(
            "LIDAR-ATTR-003", "scan", maximum=f"{spec.max_scan_angle:g}", value=f"{r.max_scan:.1f}"
        )
    if r.max_intensity == 0:
        out.append(Finding("LIDAR-ATTR-004", {}, file=f))
    if r.duplicates:
        x, y = first.get("dup", (None, None))
        out.append(Finding("LIDAR-DUP-001", {"count": f"{r.duplicates:,}"}, file=f, x=x, y=y))
    return out
