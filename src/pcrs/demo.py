"""The demonstration run behind ``pcrs demo``: the whole chain on a generated scene.

1. a scene with known truth is generated and written twice: with its true
   classes, and "as flown" (every point class 1);
2. ``pcrs process`` runs on the unclassified file: 100 m tiles with buffers,
   noise, ground and the scene classes, DTM/DSM/CHM per tile, VRT mosaics;
3. the classified tiles are scored against the truth (per-class IoU, ISPRS
   ground errors) and the DTM against the true terrain (RMSE);
4. pictures: a hillshade of the DTM and a classified profile;
5. a synthetic PCRS delivery with five planted defects is validated, with
   JSON, HTML and GeoPackage reports;
6. a delivery drawn on the scene (façades, kerbs, trees, manholes), with a
   façade left out and a kerb 0.8 m too high, is cross-checked against the
   tiles classified in step 2 (``pcrs validate --lidar``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from . import synth
from .classify.codes import IGN_NAMES
from .errors import OutputExistsError
from .io import las
from .points import PointCloud

__all__ = ["plant_defects", "run_demo"]


def _timer(summary: dict, name: str) -> Callable[[], None]:
    t0 = time.perf_counter()

    def done() -> None:
        summary["timings_s"][name] = round(time.perf_counter() - t0, 2)

    return done


def _merge_tiles(folder: Path) -> PointCloud:
    return PointCloud.concatenate(las.read(p) for p in sorted(folder.glob("*.laz")))


#: a DTM pixel this far below the true terrain is a pit (a contractor rejects it on sight)
PIT_DEPTH = 0.3


def _dtm_pits(grid, err: np.ndarray, predicted: PointCloud, truth: PointCloud) -> tuple[int, int]:
    """Pits of the DTM (groups of touching pixels more than :data:`PIT_DEPTH` below the
    true terrain), and how many of them hold a noise point labelled ground (``predicted``
    and ``truth`` in the same point order)."""
    from scipy import ndimage

    from .classify.codes import HIGH_NOISE, IGN_NOISE, LOW_POINT

    with np.errstate(invalid="ignore"):
        deep = err < -PIT_DEPTH
    labels, n = ndimage.label(deep)
    wrong = (np.asarray(predicted["classification"]) == 2) & np.isin(
        np.asarray(truth["classification"]), (LOW_POINT, HIGH_NOISE, IGN_NOISE)
    )
    rows, cols, inside = grid.cell_of(predicted.x[wrong], predicted.y[wrong])
    hit = np.unique(labels[rows[inside], cols[inside]])
    return int(n), int(np.count_nonzero(hit))


def _matching_order(cloud: PointCloud) -> np.ndarray:
    """An order that identifies each synthetic point (pulse time, return, position)."""
    return np.lexsort((cloud.z, cloud.y, cloud.x, cloud["return_number"], cloud["gps_time"]))


def plant_defects(text: str) -> tuple[str, list[str]]:
    """Plant five defects in a synthetic PCRS delivery (see :mod:`pcrs.vector.sample`).

    Returns the new text and a description of each defect, to compare with
    what the validator finds.
    """
    prefix = text.split('gml:id="', 1)[1].split("_root", 1)[0]
    lines = text.splitlines(keepends=True)

    def edit(gid: str, old: str, new: str) -> None:
        for i, line in enumerate(lines):
            if f'gml:id="{gid}"' in line and "<featureMember>" in line and old in line:
                lines[i] = line.replace(old, new, 1)
                return
        raise ValueError(f"cannot plant a defect in {gid}: {old!r} not found")

    edit(f"{prefix}_1_mu", "<typeMur>01</typeMur>", "<typeMur>07</typeMur>")
    edit(f"{prefix}_1_fa", f"<idObjet>{prefix}_1_fa</idObjet>", f"<idObjet>{prefix}_0_fa</idObjet>")
    edit(f"{prefix}_1_ar0", "<thematique>06</thematique>", "<thematique>02</thematique>")
    edit(f"{prefix}_1_se", "<dateLeve>2024-03-12</dateLeve>", "<dateLeve>2025-09-30</dateLeve>")
    edit(f"{prefix}_1_pl", 'srsName="EPSG:3946"', 'srsName="EPSG:4326"')
    planted = [
        f"{prefix}_1_mu: typeMur 07 is not in the code list",
        f"{prefix}_1_fa: idObjet duplicates the one of {prefix}_0_fa",
        f"{prefix}_1_ar0: a tree (ArbrePCRS) with thematique 02 (bâti)",
        f"{prefix}_1_se: surveyed (dateLeve 2025-09-30) after the publication date 2024-06-01",
        f"{prefix}_1_pl: a point in EPSG:4326 in a delivery in EPSG:3946",
    ]
    return "".join(lines), planted


def run_demo(
    directory: str | Path,
    n_points: int = 400_000,
    seed: int = 2154,
    overwrite: bool = False,
    echo: Callable[[str], None] = print,
    workers: int | None = 1,
) -> dict:
    """Run the demonstration and return a summary of what was written.

    Parameters
    ----------
    directory : path-like
        Output folder (created).
    n_points : int
        Size of the generated scene.
    seed : int
    overwrite : bool
        Replace the outputs of an earlier demo in ``directory``.
    echo : callable
        Where progress lines go.
    workers : int, optional
        Worker processes of the tile engine (1 runs in this process).

    Returns
    -------
    dict
        Outputs, timings and scores; also written to ``demo_summary.json``.
    """
    from .classify.evaluate import evaluate
    from .figures import class_profile_image
    from .io.raster import read_raster, write_png
    from .raster.process import process
    from .raster.products import hillshade
    from .vector.sample import delivery_text
    from .vector.validate import validate

    out = Path(directory)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise OutputExistsError(
            f"{out}: already holds files; pass --overwrite to replace the demo outputs, "
            "or name another folder"
        )
    out.mkdir(parents=True, exist_ok=True)
    summary: dict = {"outputs": {}, "timings_s": {}, "scores": {}}

    # 1. the scene -------------------------------------------------------------------
    done = _timer(summary, "generate")
    scene = synth.make_scene(n_points, seed=seed)
    truth_path = out / "scene_truth.laz"
    raw_path = out / "scene_unclassified.laz"
    las.write(scene.cloud, truth_path, overwrite=overwrite)
    raw = scene.cloud.copy()
    raw["classification"] = np.ones(len(raw), np.uint8)
    las.write(raw, raw_path, overwrite=overwrite)
    done()
    facts = las.info(truth_path)
    minx, miny, _, maxx, maxy, _ = facts.bounds
    echo(
        f"1. generated {facts.points:,} points over {maxx - minx:.0f} m x {maxy - miny:.0f} m "
        f"(EPSG:{facts.epsg}) with {len(scene.buildings)} buildings, {len(scene.trees)} trees, "
        "a river and a bridge"
    )
    echo(f"   truth: {truth_path}   as flown (all class 1): {raw_path}")
    summary["outputs"]["truth"] = str(truth_path)
    summary["outputs"]["unclassified"] = str(raw_path)

    # 2. the LiDAR chain ---------------------------------------------------------------
    done = _timer(summary, "process")
    proc_dir = out / "process"
    steps: tuple[str, ...] = (
        "noise",
        "ground",
        "height",
        "water",
        "bridges",
        "buildings",
        "structures",
        "vegetation",
    )
    from .classify.pipeline import available_steps

    steps = tuple(s for s in steps if s in available_steps())
    result = process(
        [raw_path], proc_dir, tile_size=100.0, resolution=0.5, steps=steps,
        executor="serial" if workers == 1 else "process", workers=workers, overwrite=overwrite,
    )  # fmt: skip
    done()
    echo(
        f"2. pcrs process: {len(list((proc_dir / 'tiles').glob('*.laz')))} classified tiles of 100 m, "
        f"steps {', '.join(steps)}; DTM/DSM/CHM at 0.5 m -> {proc_dir}/(dtm|dsm|chm).vrt"
    )
    summary["outputs"]["process"] = str(proc_dir)
    summary["process"] = {k: result[k] for k in ("tiles", "timings") if k in result}

    # 3. scores against the truth -------------------------------------------------------
    done = _timer(summary, "score")
    predicted = _merge_tiles(proc_dir / "tiles")
    truth = scene.cloud
    p, t = predicted[_matching_order(predicted)], truth[_matching_order(truth)]
    if len(p) != len(t) or not np.array_equal(p.x, t.x):
        raise RuntimeError("the classified tiles do not hold the scene's points")  # a bug
    ev = evaluate(p["classification"], t["classification"])
    ground = ev.ground
    assert ground is not None  # evaluate scores class 2 as ground by default
    scores = {
        "overall_accuracy": round(ev.overall_accuracy, 4),
        "kappa": round(ev.kappa, 4),
        "ground": {
            "type1_pct": round(100 * ground.type1, 2),
            "type2_pct": round(100 * ground.type2, 2),
            "total_pct": round(100 * ground.total, 2),
            "iou": round(ground.iou, 4),
        },
        "iou": {int(c.code): round(c.iou, 4) for c in ev.classes},
    }
    echo(
        f"3. classes vs truth: overall accuracy {100 * ev.overall_accuracy:.1f} %, "
        f"ground IoU {ground.iou:.3f} (ISPRS total error {100 * ground.total:.1f} %)"
    )
    for c in ev.classes:
        if c.support:
            echo(
                f"   {c.code:>3} {IGN_NAMES.get(c.code, ''):<32} IoU {c.iou:5.3f}  ({c.support:,} points)"
            )
    dtm = read_raster(proc_dir / "dtm.vrt")
    xs, ys = np.meshgrid(dtm.grid.column_centers(), dtm.grid.row_centers())
    err = dtm.bands[0] - scene.ground_z(xs, ys)
    valid = np.isfinite(err)
    # the embankment and kerb are breaklines a 0.5 m TIN cannot follow exactly: report both
    rmse = float(np.sqrt(np.mean(err[valid] ** 2)))
    p95 = float(np.percentile(np.abs(err[valid]), 95))
    pits, noise_pits = _dtm_pits(dtm.grid, err, p, t)
    scores["dtm"] = {
        "rmse_m": round(rmse, 4),
        "abs_p95_m": round(p95, 4),
        "pixels": int(valid.sum()),
        "pits_deeper_than_0_3_m": pits,
        "pits_on_noise_labelled_ground": noise_pits,
    }
    echo(
        f"   DTM vs true terrain: RMSE {100 * rmse:.1f} cm, 95 % of pixels within {100 * p95:.1f} cm; "
        f"{pits} pits deeper than {100 * PIT_DEPTH:.0f} cm, {noise_pits} of them on a noise point "
        "labelled ground"
    )
    summary["scores"] = scores
    done()

    # 4. pictures ---------------------------------------------------------------------
    done = _timer(summary, "pictures")
    band = dtm.bands[0]
    filled = np.where(np.isfinite(band), band, np.nanmean(band))
    shade = np.clip(hillshade(filled, dtm.grid.resolution), 0, 255).astype(np.uint8)
    alpha = np.where(np.isfinite(band), 255, 0).astype(np.uint8)
    hill_path = write_png(np.stack([shade, alpha]), out / "dtm_hillshade.png", overwrite=overwrite)
    y_profile = scene.buildings[0].cy if scene.buildings else (miny + maxy) / 2
    profile = class_profile_image(p, y_profile, half_width=1.0, pixel=0.25)
    prof_path = write_png(profile, out / "profile_classes.png", overwrite=overwrite)
    echo(f"4. pictures: {hill_path} (DTM hillshade), {prof_path} (classified profile)")
    summary["outputs"]["hillshade"] = str(hill_path)
    summary["outputs"]["profile"] = str(prof_path)
    done()

    # 5. a PCRS delivery with planted defects ---------------------------------------------
    done = _timer(summary, "validate")
    gml_path = out / "delivery.gml"
    text, planted = plant_defects(delivery_text(3, seed=seed))
    from .io.atomic import atomic_path

    with atomic_path(gml_path, overwrite) as tmp:
        tmp.write_text(text, encoding="utf-8")
    report = validate([gml_path], lang="en")
    reports = {
        "json": report.to_json(out / "validation.json", overwrite=overwrite),
        "html": report.to_html(out / "validation.html", overwrite=overwrite),
        "gpkg": report.to_geopackage(out / "validation.gpkg", overwrite=overwrite),
    }
    done()
    counts = report.summary()
    echo(f"5. pcrs validate on a PCRS delivery with {len(planted)} planted defects -> {gml_path}")
    for finding in report.findings:
        if finding.severity == "error":
            echo(f"   {finding.rule} {finding.gml_id or ''}: {finding.message('en')}")
    echo(f"   reports: {', '.join(str(p) for p in reports.values())}")
    summary["validation"] = {"planted": planted, "summary": counts}
    summary["outputs"].update({f"validation_{k}": str(v) for k, v in reports.items()})

    # 6. a delivery drawn on the scene, checked against pcrs's own classified tiles --------
    done = _timer(summary, "lidar_check")
    from .vector.lidar_check import cross_check
    from .vector.sample import scene_features, write_scene_delivery

    features = scene_features(scene)
    facades = [f for f in features if f.cls == "FacadePCRS"]
    kerbs = [f for f in features if f.cls == "LimiteVoiriePCRS"]
    planted_lidar = []
    if facades:
        features = [f for f in features if f is not facades[0]]
        planted_lidar.append(f"{facades[0].gml_id}: façade left out (a building not surveyed)")
    if kerbs:
        kerbs[0].coords = kerbs[0].coords + np.array([0.0, 0.0, 0.8])
        planted_lidar.append(f"{kerbs[0].gml_id}: surveyed 0.80 m above the ground")
    scene_gml = write_scene_delivery(out / "delivery_on_scene.gml", features, overwrite=overwrite)
    checked = cross_check(scene_gml, proc_dir / "tiles", lang="en")
    done()
    echo(
        f"6. pcrs validate --lidar: a delivery drawn on the scene ({len(features)} objects, "
        f"{len(planted_lidar)} planted defects) against the tiles classified in step 2"
    )
    zs = checked.stats.get("z") or {}
    if zs:
        echo(
            f"   Z of ground-level objects vs LiDAR ground: {zs.get('compared', 0)} vertices, "
            f"bias (median) {zs.get('bias', 0):+.3f} m, RMSE {zs.get('rmse', 0):.3f} m "
            "(the planted kerb included)"
        )
    for finding in checked.findings:
        where = finding.gml_id or (
            f"x={finding.x:.1f} y={finding.y:.1f}" if finding.x is not None else ""
        )
        echo(f"   {finding.rule} {where}: {finding.message('en')}")
    summary["lidar_check"] = {
        "planted": planted_lidar,
        "findings": [f.rule for f in checked.findings],
        "stats": checked.stats,
    }
    summary["outputs"]["delivery_on_scene"] = str(scene_gml)

    summary_path = out / "demo_summary.json"
    with atomic_path(summary_path, overwrite=True) as tmp:
        tmp.write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    echo(f"summary -> {summary_path}")
    return summary
