"""Leave-one-site-out evaluation of the learned classifier beside the rules chain.

Usage::

    python benchmarks/eval_learned.py [--data ../shared/data] [--max-points-per-class 20000]
                                      [--seed 0] [--json results.json]
    python benchmarks/eval_learned.py --scene 2000000     # speed on a synthetic scene
    python benchmarks/eval_learned.py --files-speed       # speed on the shared files

The IGN-classified files of the shared data are grouped into **sites** by place
(Lambert-93 extents, see :data:`SITES`); copies and variants of the same tile
(``classified_test_data_*``, ``lidar-for-fuel``'s copy, ``las-digital-models``'
ground-only extracts of the 77050-77060 tiles) are left out so that no held-out
point has a twin in the training set. For each site, a model is trained on the
other sites (:func:`pcrs.classify.learned_train.sample`, at most
``--max-points-per-class`` rows per class, shared evenly among files) and applied
to every point of the held-out site; the pcrs rules chain (noise, SMRF ground,
height, water, bridges, buildings, structures, vegetation) classifies the same
points. Both are scored against IGN's classes with
:func:`pcrs.classify.evaluate.evaluate` (IGN's virtual points, class 66, are
dropped before anything). Every point is tested exactly once, by a model that
never saw its site; no figure comes from training points.

The learned path runs the same rule steps ``noise`` and ``ground`` first and, as
the ``learned`` step does by default, keeps the ground filter's ground (the model
labels the other points; ``--relabel-ground`` lets it relabel the ground too). On the
held-out site its height above ground comes from pcrs's ground, not IGN's, so
both columns share the noise points and the ground filter's errors feed both.
The training rows take their height above IGN's ground and water, as
:func:`pcrs.classify.learned_train.training_table` does by default. The two
decimated sites (about 1 pt/m²) are held out in turn but never trained on.

Printed: per site and pooled, the IoU of ground (2), vegetation (3+4+5),
building (6), water (9) and bridge deck (17) for rules and learned; the pooled
confusion matrices; and points per second for the rule steps, the features,
the fitting (training rows) and the prediction, beside the rules chain's.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

#: site name -> files (relative to <data>/lidar); one site = one place
SITES: dict[str, tuple[str, ...]] = {
    "77050-77060 (urban, 6 tiles)": tuple(
        f"ign-pdal-tools/test_data_{x}_{y}_LA93_IGN69.laz"
        for x in (77050, 77055, 77060)
        for y in (627755, 627760)
    ),
    "crop 689 km (forest, river; 3 extracts)": tuple(
        f"pdal-ign-plugin/mnx_input_crop_{i}.laz" for i in (1, 2, 3)
    ),
    "bat 931 km (buildings, mountain)": ("pdal-ign-plugin/mnx_input_bat.laz",),
    "corse (coast, water)": ("pdal-ign-plugin/mnx_input_corse.laz",),
    "pont 726 km (bridge)": ("pdal-ign-plugin/mnx_input_pont.laz",),
    "484 km (8 pts/m², fields)": ("ign-pdal-tools/las_with_several_extra_byte_bloc.laz",),
    "949 km (ground, low vegetation)": ("ign-pdal-tools/las_with_origin_dsmMarker.laz",),
    "0906 (decimated, 1 pt/m²)": ("ign-pdal-tools/Semis_2022_0906_6665_LA93_IGN69_ok.laz",),
    "0382 (decimated, 1.2 pts/m²)": (
        "ign-pdal-tools/test_semis_2021_0382_6565_LA93_IGN69_cropped.laz",
    ),
}
#: sites whose files have a licence stated in PROVENANCE.md (ign-pdal-tools: MIT, IGN); the
#: pdal-ign-plugin extracts come from a repository without a licence file
LICENSED = (
    "77050-77060 (urban, 6 tiles)",
    "484 km (8 pts/m², fields)",
    "949 km (ground, low vegetation)",
    "0906 (decimated, 1 pt/m²)",
    "0382 (decimated, 1.2 pts/m²)",
)
#: sites below LiDAR HD density, kept apart in the pooled "dense" row
SPARSE = {"0906 (decimated, 1 pt/m²)", "0382 (decimated, 1.2 pts/m²)"}
GROUPS = {"ground": (2,), "vegetation": (3, 4, 5), "building": (6,), "water": (9,), "bridge": (17,)}
LABELS = (1, 2, 3, 4, 5, 6, 9, 17, 64, 65, 67)
SCENE = "noise,ground,height,water,bridges,buildings,structures,vegetation"


def _prepare(path: Path, cache: Path | None) -> dict[str, np.ndarray | float]:
    """Reference, rules-chain prediction, features and timings of one file (cached)."""
    from pcrs.classify.height import height_above_ground
    from pcrs.classify.learned_features import point_features
    from pcrs.classify.pipeline import classify
    from pcrs.io import las

    key = None
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
        key = cache / (path.name + ".npz")
        if key.is_file():
            with np.load(key, allow_pickle=False) as d:
                return {k: d[k] for k in d.files}
    cloud = las.read(path)
    ref = np.asarray(cloud.classification).astype(np.int64)
    real = ref != 66
    if "synthetic" in cloud:
        real &= ~np.asarray(cloud["synthetic"], bool)
    cloud, ref = cloud.subset(real), ref[real]
    t0 = time.perf_counter()
    full = classify(cloud, steps=SCENE)
    t_rules = time.perf_counter() - t0
    t0 = time.perf_counter()
    work = classify(cloud, steps="noise,ground,height")
    t_steps = time.perf_counter() - t0
    noise = np.isin(work.classification, (7, 18, 65))
    t0 = time.perf_counter()
    X = point_features(work, np.asarray(work["hag"]), ~noise)
    t_feat = time.perf_counter() - t0
    # training rows: the height above IGN's ground and water (pcrs.classify.learned_train.prepare)
    hag_ref = height_above_ground(work, np.isin(ref, (2, 9)) & ~noise, thin=1.0)
    X_train = point_features(work, hag_ref, ~noise)
    out = {
        "ref": ref,
        "rules": np.asarray(full.classification).astype(np.int64),
        "base": np.asarray(work.classification).astype(np.int64),
        "noise": noise,
        "X": X,
        "X_train": X_train,
        "t_rules": t_rules,
        "t_steps": t_steps,
        "t_feat": t_feat,
    }
    if key is not None:
        np.savez(key, **out)
    return out


def _grouped_iou(pred: np.ndarray, ref: np.ndarray) -> dict[str, tuple[int, int]]:
    """(intersection, union) per class group, from the confusion matrix of pcrs.classify.evaluate."""
    from pcrs.classify.evaluate import evaluate

    res = {}
    for name, codes in GROUPS.items():
        ev = evaluate(np.isin(pred, codes), np.isin(ref, codes), ground=None)
        m = ev.matrix
        if m.shape == (2, 2):
            inter, union = int(m[1, 1]), int(m[1, 1] + m[0, 1] + m[1, 0])
        elif ev.labels.tolist() == [1]:  # everything in the group on both sides
            inter = union = int(m.sum())
        else:
            inter = union = 0
        res[name] = (inter, union)
    return res


def _fmt(iu: tuple[int, int]) -> str:
    return "-" if iu[1] == 0 else f"{iu[0] / iu[1]:.3f}"


def _scene_speed(n_points: int, seed: int) -> int:
    """Rules chain and learned classifier (shipped model) on one synthetic scene: times."""
    import resource

    from pcrs import synth
    from pcrs.classify.pipeline import classify

    scene = synth.make_scene(n_points, seed=seed)
    cloud = scene.cloud.copy()
    cloud["classification"] = np.ones(len(cloud), np.uint8)  # an unclassified flight
    n = len(cloud)
    t0 = time.perf_counter()
    classify(cloud, steps=SCENE)
    t_rules = time.perf_counter() - t0
    t0 = time.perf_counter()
    classify(cloud, steps="noise,ground", classifier="learned")
    t_learned = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"synthetic scene, {n:,} points (seed {seed}), loaded shared machine:")
    print(f"- rules chain ({SCENE}): {t_rules:.1f} s, {n / t_rules:,.0f} points/s")
    print(
        f"- learned (noise, ground, shipped model): {t_learned:.1f} s, "
        f"{n / t_learned:,.0f} points/s, {t_learned / t_rules:.2f}x the rules chain"
    )
    print(f"- peak RSS of the process: {rss:,.0f} MB")
    return 0


def _files_speed(lidar: Path) -> int:
    """Rules chain and learned classifier (shipped model) on every file of SITES: times."""
    from pcrs.classify.pipeline import classify
    from pcrs.io import las

    n = 0
    t_rules = t_learned = 0.0
    for files in SITES.values():
        for rel in files:
            cloud = las.read(lidar / rel)
            cloud["classification"] = np.ones(len(cloud), np.uint8)  # as if unclassified
            n += len(cloud)
            t0 = time.perf_counter()
            classify(cloud, steps=SCENE)
            t_rules += time.perf_counter() - t0
            t0 = time.perf_counter()
            classify(cloud, steps="noise,ground", classifier="learned")
            t_learned += time.perf_counter() - t0
    print(f"{n:,} points of the shared IGN files, loaded shared machine:")
    print(f"- rules chain: {t_rules:.1f} s, {n / t_rules:,.0f} points/s")
    print(
        f"- learned (noise, ground, shipped model): {t_learned:.1f} s, {n / t_learned:,.0f} "
        f"points/s, {t_learned / t_rules:.2f}x the rules chain"
    )
    return 0


class _Tee:
    """print() that also keeps the lines."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def __call__(self, *args: object, **kwargs: object) -> None:
        import builtins

        builtins.print(*args, **kwargs)  # type: ignore[call-overload]
        if kwargs.get("file") is None:
            self.lines.append(" ".join(str(a) for a in args))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get(
        "PCRS_SHARED_DATA", str(Path(__file__).resolve().parents[2] / "shared" / "data")
    )
    ap.add_argument("--data", default=default, help="the shared data folder (holds lidar/)")
    ap.add_argument("--max-points-per-class", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--threads", type=int, default=1, help="fitting threads (1 is faster on a busy machine)"
    )
    ap.add_argument("--cache", default=None, help="folder caching features per file")
    ap.add_argument("--json", default=None, help="write the figures as JSON here")
    ap.add_argument("--sites", default=None, help="comma-separated site indices to hold out")
    ap.add_argument(
        "--licensed-only",
        action="store_true",
        help="only the sites whose licence is stated (the recipe of the shipped model)",
    )
    ap.add_argument("--classes", default="2,3,4,5,6,9,17", help="classes learned")
    ap.add_argument(
        "--scene",
        type=int,
        default=None,
        metavar="N",
        help="instead: time the rules chain and the shipped model on a synthetic N-point scene",
    )
    ap.add_argument(
        "--files-speed",
        action="store_true",
        help="instead: time the rules chain and the shipped model on the shared files",
    )
    ap.add_argument(
        "--relabel-ground",
        action="store_true",
        help="let the model relabel the ground filter's ground too (keep_ground=False)",
    )
    args = ap.parse_args(argv)
    if args.scene:
        return _scene_speed(args.scene, args.seed)
    if args.files_speed:
        return _files_speed(Path(args.data) / "lidar")

    from pcrs.classify.evaluate import confusion_matrix
    from pcrs.classify.learned_train import HGB_DEFAULTS, fit, sample

    lidar = Path(args.data) / "lidar"
    if not lidar.is_dir():
        print(f"no lidar folder in {args.data!r}; pass --data", file=sys.stderr)
        return 2
    cache = Path(args.cache) if args.cache else None
    data: dict[str, list[dict]] = {}
    sites = {s: SITES[s] for s in LICENSED} if args.licensed_only else SITES
    for site, files in sites.items():
        data[site] = []
        for rel in files:
            d = _prepare(lidar / rel, cache)
            d["name"] = rel  # type: ignore[assignment]
            data[site].append(d)
            print(
                f"{rel}: {d['ref'].size} pts, features {float(d['t_feat']):.1f} s", file=sys.stderr
            )

    classes = tuple(int(c) for c in args.classes.split(","))
    names = list(sites)
    held = names if args.sites is None else [names[int(i)] for i in args.sites.split(",")]
    results: dict[str, dict] = {}
    pooled = {m: {g: [0, 0] for g in GROUPS} for m in ("rules", "learned", "rules_d", "learned_d")}
    mats = {m: np.zeros((len(LABELS), len(LABELS)), np.int64) for m in ("rules", "learned")}
    t_fit = t_pred = 0.0
    n_fit = n_pred = 0
    for site in held:
        # training rows: every file of every other site
        Xs, ys, gs = [], [], []
        for gi, other in enumerate(names):
            if other == site or other in SPARSE:  # decimated files: held out, never trained on
                continue
            for fi, d in enumerate(data[other]):
                keep = np.isin(d["ref"], classes) & ~d["noise"]
                Xs.append(d["X_train"][keep])
                ys.append(d["ref"][keep])
                gs.append(np.full(int(keep.sum()), gi * 100 + fi, np.int32))
        X, y, g = np.concatenate(Xs), np.concatenate(ys), np.concatenate(gs)
        rows = sample(y, g, classes, args.max_points_per_class, args.seed)
        t0 = time.perf_counter()
        _clf, model = fit(X[rows], y[rows], seed=args.seed, threads=args.threads)
        dt = time.perf_counter() - t0
        t_fit += dt
        n_fit += rows.size
        ref_all, rules_all, learned_all = [], [], []
        for d in data[site]:
            pred = d["base"].copy()
            sel = ~d["noise"]
            if not args.relabel_ground:  # what the learned step does by default
                sel &= d["base"] != 2
            t0 = time.perf_counter()
            pred[sel] = model.predict(d["X"][sel])
            t_pred += time.perf_counter() - t0
            n_pred += int(sel.sum())
            ref_all.append(d["ref"])
            rules_all.append(d["rules"])
            learned_all.append(pred)
        ref = np.concatenate(ref_all)
        r_iou = _grouped_iou(np.concatenate(rules_all), ref)
        l_iou = _grouped_iou(np.concatenate(learned_all), ref)
        for mode, iou in (("rules", r_iou), ("learned", l_iou)):
            for gname, (i, u) in iou.items():
                pooled[mode][gname][0] += i
                pooled[mode][gname][1] += u
                if site not in SPARSE:
                    pooled[mode + "_d"][gname][0] += i
                    pooled[mode + "_d"][gname][1] += u
        mats["rules"] += confusion_matrix(np.concatenate(rules_all), ref, labels=LABELS)[0]
        mats["learned"] += confusion_matrix(np.concatenate(learned_all), ref, labels=LABELS)[0]
        results[site] = {
            "points": int(ref.size),
            "training_rows": int(rows.size),
            "fit_s": round(dt, 1),
            "rules": {k: list(v) for k, v in r_iou.items()},
            "learned": {k: list(v) for k, v in l_iou.items()},
        }
        print(
            f"{site}: {ref.size} pts, fit {rows.size} rows in {dt:.0f} s | "
            + " ".join(f"{k} {_fmt(r_iou[k])}/{_fmt(l_iou[k])}" for k in GROUPS),
            file=sys.stderr,
        )

    cols = list(GROUPS)
    lines: list[str] = []
    tee = _Tee(lines)  # the tables also go into the JSON
    tee("\n### IoU per held-out site: rules chain / learned (LOSO)\n")
    tee("| held-out site | points | " + " | ".join(f"{c} rules | {c} learned" for c in cols) + " |")
    tee("|---|---:|" + "---:|---:|" * len(cols))
    for site in held:
        r = results[site]
        tee(
            f"| {site} | {r['points']} | "
            + " | ".join(
                f"{_fmt(tuple(r['rules'][c]))} | {_fmt(tuple(r['learned'][c]))}" for c in cols
            )
            + " |"
        )
    for label, suffix in (("**pooled, all sites**", ""), ("**pooled, LiDAR HD density**", "_d")):
        tee(
            f"| {label} | | "
            + " | ".join(
                f"**{_fmt(tuple(pooled['rules' + suffix][c]))}** | "
                f"**{_fmt(tuple(pooled['learned' + suffix][c]))}**"
                for c in cols
            )
            + " |"
        )
    for mode in ("rules", "learned"):
        tee(f"\n### Pooled confusion matrix, {mode} (rows: IGN, columns: pcrs)\n")
        tee("| IGN \\ pcrs | " + " | ".join(str(v) for v in LABELS) + " |")
        tee("|---|" + "---:|" * len(LABELS))
        for lab, row in zip(LABELS, mats[mode], strict=True):
            tee(f"| {lab} | " + " | ".join(str(v) for v in row) + " |")
    n_all = sum(int(d["ref"].size) for s in held for d in data[s])
    t_rules = sum(float(d["t_rules"]) for s in held for d in data[s])
    t_steps = sum(float(d["t_steps"]) for s in held for d in data[s])
    t_feat = sum(float(d["t_feat"]) for s in held for d in data[s])
    speed = {
        "points": n_all,
        "rules_chain_pts_s": n_all / t_rules,
        "rule_steps_noise_ground_height_pts_s": n_all / t_steps,
        "features_pts_s": n_all / t_feat,
        "fit_rows_s": n_fit / t_fit,
        "predict_pts_s": n_pred / t_pred,
        "learned_total_pts_s": n_all / (t_steps + t_feat + t_pred * n_all / max(n_pred, 1)),
    }
    print("\n### Speed (held-out points; loaded shared machine)\n")
    for k, v in speed.items():
        print(f"- {k}: {v:,.0f}")
    print(f"\nHGB parameters: {HGB_DEFAULTS}; max points per class {args.max_points_per_class}")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "markdown": "\n".join(lines),
                    "classes": classes,
                    "sites": results,
                    "pooled": pooled,
                    "confusion": {k: v.tolist() for k, v in mats.items()},
                    "labels": LABELS,
                    "speed": speed,
                },
                indent=1,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
