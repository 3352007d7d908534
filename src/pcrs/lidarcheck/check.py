"""``check_lidar``: a whole LiDAR delivery against its specification, as a :class:`Report`.

Headers first (every file), then one streamed pass per tile (in parallel with a process pool
when ``workers > 1``, or on a Dask cluster; each worker holds one tile's chunk and counts at
a time), then the delivery-wide rules on the small per-tile records.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ParameterError
from ..vector.report import Report
from ..vector.rules import RULES, Finding
from .delivery import (
    Mosaic,
    choose_factors,
    cross_tile_findings,
    holes,
    new_mosaic,
    paste,
    plan_box,
)
from .headers import HeaderFacts, check_header, read_header
from .spec import LidarSpec, load_spec
from .tile_pass import TileJob, TileResult, run_tile
from .tile_rules import tile_findings

__all__ = ["LIDAR_RULES", "LidarReport", "check_lidar", "find_inputs"]

log = logging.getLogger(__name__)

#: the ids of the rules of the LiDAR conformity check, in the registry's order
LIDAR_RULES = tuple(r for r in RULES if r.startswith("LIDAR-"))

_SUFFIXES = (".las", ".laz")


def find_inputs(inputs: Iterable[str | os.PathLike]) -> list[Path]:
    """Files given, and the ``.las``/``.laz`` files of folders given (sorted, recursive)."""
    out: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            out += sorted(q for q in p.rglob("*") if q.is_file() and q.suffix.lower() in _SUFFIXES)
        elif p.exists():
            out.append(p)
        else:
            raise ParameterError(f"{p}: no such file or folder; check the path")
    return out


@dataclass
class LidarReport(Report):
    """A :class:`~pcrs.vector.report.Report` of ``pcrs check-lidar``.

    ``files`` has one entry per tile (``path``, ``points``, ``usable``, ``tile``, ``crs``,
    per-tile figures); :attr:`lidar` holds the delivery's figures (spec, points, holes,
    notes). :attr:`holes` and :attr:`below_cells` are the coverage holes and the cells
    below a density minimum (shapely geometries with their properties), for the
    GeoPackage; :attr:`density` is the density map mosaic (for ``--density-map``).
    """

    holes: list[dict[str, Any]] = field(default_factory=list)
    below_cells: list[dict[str, Any]] = field(default_factory=list)
    density: Mosaic | None = None
    crs: Any = None

    def summary_text(self, lang: str | None = None, max_lines: int = 30) -> str:
        """A console summary: the tiles, the specification, counts per rule, first findings."""
        lang = lang or self.lang
        fr = lang == "fr"
        lines = []
        for fi in self.files:
            state = "" if fi.get("usable", True) else (" (illisible)" if fr else " (unreadable)")
            lines.append(f"{fi['path']}: {fi.get('points', 0):,} points{state}")
        lid = self.lidar or {}
        spec = lid.get("spec", {})
        lines.append(("cahier des charges : " if fr else "specification: ")
                     + f"{spec.get('name', '?')} ({spec.get('origin', '?')})")  # fmt: skip
        if self.profile is not None:
            lines.append(("profil : " if fr else "profile: ") + str(self.profile.get("name")))
        lines += [f"note: {n}" for n in lid.get("notes", [])]
        s = self.summary(lang)
        counts = (s["errors"], s["warnings"], s["infos"])
        words = ("erreur(s)", "avertissement(s)", "info(s)") if fr else ("error(s)", "warning(s)",
                                                                         "info(s)")  # fmt: skip
        lines.append(", ".join(f"{n} {w}" for n, w in zip(counts, words, strict=True)))
        for rid, rec in s["by_rule"].items():
            lines.append(f"  {rid:<19} {rec['severity']:<8} {rec['count']:>6}  {rec['title']}")
        rank = {"error": 0, "warning": 1, "info": 2}
        shown = sorted(self.findings, key=lambda f: rank[f.severity])[:max_lines]
        for f in shown:
            where = Path(f.file).name if f.file else ""
            if f.x is not None and f.y is not None:
                where += f" ({f.x:.1f}, {f.y:.1f})"
            lines.append(f"{f.severity.upper():<7} {f.rule} {where}: {f.message(lang)}")
        if len(self.findings) > max_lines:
            more = len(self.findings) - max_lines
            lines.append(f"... {more} de plus (voir --json ou --html)" if fr
                         else f"... {more} more (see --json or --html)")  # fmt: skip
        if self.has_errors:
            lines.append("Non conforme : la livraison doit être corrigée" if fr
                         else "Nonconforming: the delivery must be corrected")  # fmt: skip
        else:
            lines.append("Conforme au cahier des charges" if fr
                         else "Conforms to the specification")  # fmt: skip
        return "\n".join(lines)

    def to_html(
        self, path: str | os.PathLike | None = None, *, lang: str | None = None,
        overwrite: bool = False, max_rows: int = 5000,
    ) -> str | Path:  # fmt: skip
        """One self-contained HTML page (density map picture and histogram, sortable table
        of tiles, findings), or written (atomically) to ``path``."""
        from ..io.atomic import atomic_path
        from .html import render_html

        text = render_html(self, lang or self.lang, max_rows)
        if path is None:
            return text
        with atomic_path(path, overwrite) as tmp:
            Path(tmp).write_text(text, encoding="utf-8")
        return Path(path)

    def to_geopackage(
        self, path: str | os.PathLike, *, lang: str | None = None, overwrite: bool = False,
        crs: Any = None,
    ) -> Path:  # fmt: skip
        """The findings (points), the coverage holes and the cells below a density minimum
        (polygons) as three layers of one GeoPackage, each with a QGIS style."""
        import shapely

        from ..io.vector import categorized_style, write_geopackage

        crs = crs if crs is not None else self.crs
        lang = lang or self.lang
        located = [f for f in self.findings if f.x is not None and f.y is not None]
        rows = [f.to_dict(lang) for f in located]
        write_geopackage(
            path, "findings", [shapely.Point(f.x, f.y) for f in located],
            {n: [r[n] for r in rows] for n in ("rule", "severity", "message", "file")},
            crs, overwrite=overwrite,
            description=f"pcrs check-lidar findings (specification "
            f"{(self.lidar or {}).get('spec', {}).get('name', '?')})",
            style=categorized_style(
                "severity", [("error", "error", "#d7191c"), ("warning", "warning", "#fdae61"),
                             ("info", "info", "#2b83ba")],
                layer="findings", name="severity"),
        )  # fmt: skip
        if self.holes:
            write_geopackage(
                path, "coverage_holes", [h["polygon"] for h in self.holes],
                {"file": [h["file"] for h in self.holes],
                 "area_m2": [h["area"] for h in self.holes],
                 "kind": ["hole"] * len(self.holes)},
                crs, append=True, overwrite=True,
                description="holes in the coverage larger than the specification's hole_min_area",
                style=categorized_style("kind", [("hole", "hole", "#d7191c")],
                                        layer="coverage_holes", geometry="polygon",
                                        name="holes"),
            )  # fmt: skip
        if self.below_cells:
            write_geopackage(
                path, "density_below", [c["polygon"] for c in self.below_cells],
                {k: [c[k] for c in self.below_cells] for k in ("file", "kind", "cell_m")},
                crs, append=True, overwrite=True,
                description="cells below the specification's minimum density (coarsest cell)",
                style=categorized_style(
                    "kind", [("pulses", "pulses below minimum", "#fdae61"),
                             ("points", "points below minimum", "#abd9e9")],
                    layer="density_below", geometry="polygon", name="density"),
            )  # fmt: skip
        return Path(path)


def _profile_rules(profile: Any) -> tuple[frozenset[str], dict[str, str], dict[str, Any] | None]:
    """(rules off, severities changed, profile description) for ``profile`` over LIDAR ids."""
    if profile is None:
        return frozenset(), {}, None
    from ..vector.profiles import resolve_profile

    prof = resolve_profile(profile)
    on = [r for r in LIDAR_RULES if r in prof.rules]
    if not on:
        raise ParameterError(
            f"profile {prof.name!r} ({prof.origin}) reports no LIDAR rule; a profile for "
            'check-lidar selects them, e.g. select = ["LIDAR"]'
        )
    off = frozenset(LIDAR_RULES) - set(on)
    sev = {r: s for r, s in prof.severities.items() if r in LIDAR_RULES and s != RULES[r].severity}
    return off, sev, prof.describe()


def _run_all(jobs: list[TileJob], workers: int, executor: Any = None) -> Iterator[TileResult]:
    """The tiles' results in the order of ``jobs``, as they come."""
    if executor is not None and executor != "process":
        if executor == "serial":
            yield from map(run_tile, jobs)
            return
        from ..tiling.engine import _is_dask_client

        if _is_dask_client(executor):
            # (one task per tile; results gathered in order, each as it is needed)
            for future in executor.map(run_tile, jobs, pure=False):
                yield future.result()
            return
        if not hasattr(executor, "map"):
            raise ParameterError(
                f"executor={executor!r}: give 'serial', 'process', a dask.distributed.Client "
                "or a concurrent.futures executor"
            )
        yield from executor.map(run_tile, jobs)
        return
    if workers <= 1 or len(jobs) <= 1:
        for j in jobs:
            yield run_tile(j)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from .._spawn import refuse_in_bootstrap

    refuse_in_bootstrap("pcrs.check_lidar")
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=ctx) as pool:
        yield from pool.map(run_tile, jobs)


def check_lidar(
    inputs: str | os.PathLike | Sequence[str | os.PathLike],
    spec: str | os.PathLike | LidarSpec = "lidarhd",
    *,
    workers: int = 1,
    executor: Any = None,
    density_map: str | os.PathLike | None = None,
    lang: str = "en",
    profile: Any = None,
    overwrite: bool = False,
    chunk_size: int = 2_000_000,
) -> LidarReport:
    """Check a LiDAR delivery (files or folders of LAS/LAZ/COPC) against a specification.

    Parameters
    ----------
    inputs : path or sequence of paths
        Files, or folders searched for ``.las``/``.laz`` files.
    spec : str, path or LidarSpec
        ``"lidarhd"`` (built-in) or a TOML file (see :mod:`pcrs.lidarcheck.spec`).
    workers : int
        Tiles read in parallel (processes); 1 reads them one after the other.
    executor : {"process", "serial"}, dask.distributed.Client or concurrent.futures.Executor, optional
        Where the tiles are read, as for :func:`pcrs.tiling.run`: a Dask client spreads
        them over a cluster (each task reads its tile's file: the workers must see it).
        None: ``workers`` processes here.
    density_map : path, optional
        Write the density map (COG, bands points/m² and pulses/m², at the largest density
        cell, coarsened for large deliveries).
    lang : {"en", "fr"}
    profile : str, path, Profile or None
        A profile of :mod:`pcrs.vector.profiles` selecting, ignoring or re-grading LIDAR
        rules (None: every LIDAR rule at its registry severity).
    overwrite : bool
        Replace an existing ``density_map``.
    chunk_size : int
        Points read at a time per tile.

    Returns
    -------
    LidarReport
        A :class:`~pcrs.vector.report.Report`: ``has_errors``, ``to_json``, ``to_html``,
        ``to_geopackage``, ``unusable_files``.

    Raises
    ------
    ParameterError
        Bad specification or profile (naming the file and the line), no input file.

    Examples
    --------
    >>> import pcrs, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "scene.laz"
    >>> pcrs.write(pcrs.synth.make_scene(2000, seed=1).cloud, p)
    >>> report = pcrs.check_lidar([p])
    >>> report.has_errors, "LIDAR-NAME-001" in {f.rule for f in report.findings}
    (True, True)
    """
    if lang not in ("en", "fr"):
        raise ParameterError(f"lang must be 'en' or 'fr', got {lang!r}")
    if int(workers) < 1:
        raise ParameterError(f"workers must be a whole number >= 1, got {workers!r}")
    the_spec = load_spec(spec)
    rules_off, severities, prof = _profile_rules(profile)
    paths = find_inputs([inputs] if isinstance(inputs, (str, os.PathLike)) else inputs)
    if not paths:
        raise ParameterError("no LAS/LAZ file found in the inputs")
    if density_map is not None:
        from ..io.atomic import check_output

        check_output(density_map, overwrite, paths)
    facts = [read_header(p) for p in paths]
    findings: list[Finding] = []
    for f in facts:
        findings += check_header(f, the_spec)
    boxes = {f.path: plan_box(f, the_spec) for f in facts}
    planned = [b for b in boxes.values() if b is not None]
    cov_f, map_f, notes = choose_factors(planned, the_spec)
    jobs = [TileJob(f.path, b, the_spec, cov_f, map_f, chunk_size)
            for f in facts if (b := boxes[f.path]) is not None]  # fmt: skip
    base = min(the_spec.cells)
    m = new_mosaic(planned, base, cov_f, map_f, notes)
    results: list[TileResult] = []
    for r in _run_all(jobs, int(workers), executor):
        if m is not None and r.error is None:
            paste(m, r)
        r.cov_points = r.cov_water = r.map_points = r.map_pulses = None
        results.append(r)
    if m is not None and not m.inside.any():
        m = None
    by_path = {r.path: r for r in results}
    for f in facts:
        res = by_path.get(f.path)
        if res is not None:
            findings += tile_findings(f, res, the_spec)
        elif f.error is None and f.points == 0:
            findings.append(Finding("LIDAR-FILE-003", {}, file=f.path))
    findings += cross_tile_findings(facts, results, the_spec)
    hole_list: list[dict[str, Any]] = []
    exempt = 0
    if m is not None:
        hole_list, exempt = holes(m, the_spec)
        for h in hole_list:
            tile = next((r.path for r in results if r.box[0] <= h["x"] <= r.box[2]
                         and r.box[1] <= h["y"] <= r.box[3]), None)  # fmt: skip
            h["file"] = tile
            findings.append(Finding("LIDAR-COVERAGE-001", {"area": f"{h['area']:.0f}",
                            "minimum": f"{the_spec.hole_min_area:g}"}, file=tile,
                            x=h["x"], y=h["y"]))  # fmt: skip
    crs = _delivery_crs(facts)
    below = _below_cells(results)
    files = [_file_entry(f, by_path.get(f.path)) for f in facts]
    report = LidarReport(files=files, lang=lang, severities=severities, rules_off=rules_off,
                         profile=prof, holes=hole_list, below_cells=below, density=m, crs=crs)  # fmt: skip
    order = {r: i for i, r in enumerate(RULES)}
    findings.sort(key=lambda f: (f.file or "", order[f.rule]))
    report.extend(findings)
    report.lidar = {
        "lidar_files": [fi["path"] for fi in files],
        "points_read": int(sum(r.points for r in results)),
        "spec": the_spec.describe(),
        "holes": len(hole_list),
        "holes_exempt_water": exempt,
        "coverage_cell_m": m.cov_cell if m is not None else None,
        "map_cell_m": m.map_cell if m is not None else None,
        "notes": notes,
        "nominal_pulses": the_spec.nominal_pulses,
        "cell_min_pulses": the_spec.cell_min_pulses[-1],
    }
    if density_map is not None:
        if m is None:
            raise ParameterError(f"{density_map}: no readable tile to map the density of")
        write_density_map(m, density_map, crs, overwrite=overwrite)
    return report


def _delivery_crs(facts: list[HeaderFacts]) -> Any:
    from collections import Counter

    keys = Counter(f.crs_wkt for f in facts if f.crs_wkt)
    if not keys:
        return None
    from pyproj import CRS

    return CRS.from_wkt(keys.most_common(1)[0][0])


def _below_cells(results: list[TileResult]) -> list[dict[str, Any]]:
    import shapely

    out = []
    for r in results:
        for cell, kind, wkb in r.below_shapes:
            out.append({"polygon": shapely.from_wkb(wkb), "file": r.path, "kind": kind,
                        "cell_m": cell})  # fmt: skip
    return out


def _file_entry(f: HeaderFacts, r: TileResult | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"path": f.path, "points": f.points, "usable": f.error is None}
    if f.error is not None:
        entry["reason"] = f.error
        return entry
    entry.update(f.to_dict())
    if r is not None:
        entry["tile"] = list(r.box)
        entry.update(r.stats())
        entry["points_header"] = f.points
        entry["usable"] = r.points > 0 or f.points == 0
    return entry


def write_density_map(
    m: Mosaic, path: str | os.PathLike, crs: Any, *, overwrite: bool = False
) -> Path:
    """Write the density mosaic as a two-band COG (points/m², pulses/m²)."""
    from ..io.raster import write_raster
    from ..raster.grid import RasterGrid
    from ..raster.products import Raster

    h, w = m.map_points.shape
    grid = RasterGrid(m.xmin, m.ymax, m.map_cell, w, h)
    raster = Raster(np.stack([m.map_points, m.map_pulses]).astype(np.float32), grid, crs,
                    product="density", band_names=["points/m2", "pulses/m2"], units="1/m2")  # fmt: skip
    return write_raster(raster, path, overwrite=overwrite)
