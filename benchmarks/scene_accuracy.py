"""Score pcrs's scene classification against IGN's own classification, file by file.

Usage::

    python benchmarks/scene_accuracy.py [--data ../shared/data] [--markdown]

Every IGN file of ``<data>/lidar`` (folders ``ign-pdal-tools``,
``las-digital-models``, ``pdal-ign-plugin`` — the ``mnx_input_*`` inputs — and
``lidar-for-fuel``) is read, IGN's virtual points (class 66, synthetic) are
dropped, and the file is classified twice:

- **full**: the whole pcrs chain — ``noise`` (isolated voxels), ``ground``
  (SMRF, PDAL defaults), ``height`` (TIN), then ``water, bridges, buildings,
  structures, vegetation`` — through :func:`pcrs.classify.pipeline.classify`;
- **rules**: the scene rules alone on IGN's own ground (classes 2 and 9 together:
  the water rule has to find the water in it) and noise (65), with the height
  above IGN's ground from the same TIN: this isolates vegetation / buildings /
  water from the ground filter.

Per file and pooled over all files, the script prints the IoU of ground (2),
vegetation (3+4+5 merged, and 3, 4, 5 each), building (6), water (9) and bridge
deck (17) — a class absent from both the reference and the prediction of a file
is shown as ``-`` — and the pooled confusion matrix of the full chain (rows =
IGN, columns = pcrs). Files without an IGN classification (raw class 1 only),
unreadable or with fewer than 1,000 points are listed as skipped, with the reason.
The density column is points per occupied 1 m cell; a second pooled row keeps
only the files at 4 points/m² or more (two IGN test files are decimated to about
1 point/m², far below LiDAR HD).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

FOLDERS = ("ign-pdal-tools", "las-digital-models", "pdal-ign-plugin", "lidar-for-fuel")
SCENE_STEPS = "water,bridges,buildings,structures,vegetation"
CLASSES = {
    "ground": (2,),
    "veg 3+4+5": (3, 4, 5),
    "veg 3": (3,),
    "veg 4": (4,),
    "veg 5": (5,),
    "building": (6,),
    "water": (9,),
    "bridge": (17,),
}
LABELS = (1, 2, 3, 4, 5, 6, 9, 17, 64, 65, 67)
#: Files sparser than this (points per occupied m²) are decimated test files, far below
#: LiDAR HD: they get their own pooled row.
DENSE = 4.0


def _files(lidar: Path) -> list[Path]:
    out = []
    for folder in FOLDERS:
        for p in sorted((lidar / folder).glob("*.la[sz]")):
            if folder == "pdal-ign-plugin" and not p.name.startswith("mnx_input_"):
                continue
            out.append(p)
    return out


def _counts(pred: np.ndarray, ref: np.ndarray) -> dict[str, tuple[int, int]]:
    """(intersection, union) per class group."""
    res = {}
    for name, codes in CLASSES.items():
        a = np.isin(pred, codes)
        b = np.isin(ref, codes)
        res[name] = (int((a & b).sum()), int((a | b).sum()))
    return res


def _iou(iu: tuple[int, int]) -> str:
    return "-" if iu[1] == 0 else f"{iu[0] / iu[1]:.3f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get(
        "PCRS_SHARED_DATA", str(Path(__file__).resolve().parents[2] / "shared" / "data")
    )
    ap.add_argument("--data", default=default, help="the shared data folder (holds lidar/)")
    args = ap.parse_args(argv)

    from pcrs.classify import scene  # noqa: F401  (registers the scene steps)
    from pcrs.classify.evaluate import confusion_matrix
    from pcrs.classify.height import height_above_ground
    from pcrs.classify.pipeline import classify
    from pcrs.classify.scene import classify_scene
    from pcrs.errors import PcrsError
    from pcrs.io import las

    lidar = Path(args.data) / "lidar"
    if not lidar.is_dir():
        print(f"no lidar folder in {args.data!r}; pass --data", file=sys.stderr)
        return 2
    pooled = {"full": {}, "rules": {}, "full_dense": {}, "rules_dense": {}}
    matrix = np.zeros((len(LABELS), len(LABELS)), np.int64)
    rows, skipped = [], []
    t_all = time.perf_counter()
    for path in _files(lidar):
        rel = path.relative_to(lidar).as_posix()
        try:
            cloud = las.read(path)
        except PcrsError as exc:
            skipped.append((rel, f"unreadable: {exc}"))
            continue
        ref = np.asarray(cloud.classification).astype(np.int64)
        real = ref != 66
        if "synthetic" in cloud.attributes:
            real &= ~np.asarray(cloud["synthetic"], bool)
        cloud = cloud[real]
        ref = ref[real]
        if len(cloud) < 1000:
            skipped.append((rel, f"{len(cloud)} points (< 1000)"))
            continue
        if not np.isin(ref, (2, 3, 4, 5, 6, 9, 17)).any():
            skipped.append((rel, f"no IGN classification (classes {sorted(set(ref.tolist()))})"))
            continue
        t0 = time.perf_counter()
        full = classify(cloud, steps="noise,ground,height," + SCENE_STEPS, codes="ign")
        t_full = time.perf_counter() - t0
        pred_full = np.asarray(full.classification).astype(np.int64)
        ign_ground = np.isin(ref, (2, 9))
        hag = height_above_ground(cloud, ign_ground)
        t0 = time.perf_counter()
        # IGN's ground and water are the ground: the water rule has to find the water
        pred_rules = classify_scene(cloud, ign_ground, hag, noise=ref == 65)
        pred_rules = pred_rules.astype(np.int64)
        t_rules = time.perf_counter() - t0
        c_full, c_rules = _counts(pred_full, ref), _counts(pred_rules, ref)
        cells = np.unique(
            (np.floor(cloud.x).astype(np.int64) << 32) + np.floor(cloud.y).astype(np.int64)
        )
        density = len(cloud) / cells.size
        modes = [("full", c_full), ("rules", c_rules)]
        if density >= DENSE:
            modes += [("full_dense", c_full), ("rules_dense", c_rules)]
        for mode, c in modes:
            for k, (i, u) in c.items():
                a, b = pooled[mode].get(k, (0, 0))
                pooled[mode][k] = (a + i, b + u)
        m, _ = confusion_matrix(pred_full, ref, labels=LABELS)
        matrix += m
        rows.append((rel, len(cloud), density, t_full, t_rules, c_full, c_rules))
        print(
            f"{rel}: {len(cloud)} pts, full {t_full:.1f}s "
            + " ".join(f"{k}={_iou(v)}" for k, v in c_full.items()),
            file=sys.stderr,
        )

    names = list(CLASSES)
    for mode, title in (
        ("full", "pcrs chain (noise, SMRF ground, height, scene rules) vs IGN"),
        ("rules", "scene rules on IGN's ground vs IGN"),
    ):
        print(f"\n### {title}\n")
        print("| file | points | pts/m² | s | " + " | ".join(names) + " |")
        print("|---|---:|---:|---:|" + "---:|" * len(names))
        for rel, n, dens, tf, tr, cf, cr in rows:
            c = cf if mode == "full" else cr
            t = tf if mode == "full" else tr
            print(
                f"| {rel} | {n} | {dens:.1f} | {t:.1f} | "
                + " | ".join(_iou(c[k]) for k in names)
                + " |"
            )
        for key, label, sel in (
            (mode, "**pooled**", rows),
            (
                mode + "_dense",
                f"**pooled, ≥ {DENSE:g} pts/m²**",
                [r for r in rows if r[2] >= DENSE],
            ),
        ):
            print(
                f"| {label} | {sum(r[1] for r in sel)} | | "
                f"{sum((r[3] if mode == 'full' else r[4]) for r in sel):.1f} | "
                + " | ".join(f"**{_iou(pooled[key].get(k, (0, 0)))}**" for k in names)
                + " |"
            )
    print("\n### Pooled confusion matrix of the pcrs chain (rows: IGN, columns: pcrs)\n")
    print("| IGN \\ pcrs | " + " | ".join(str(lab) for lab in LABELS) + " |")
    print("|---|" + "---:|" * len(LABELS))
    for lab, row in zip(LABELS, matrix, strict=True):
        print(f"| {lab} | " + " | ".join(str(v) for v in row) + " |")
    if skipped:
        print("\nSkipped:\n")
        for rel, why in skipped:
            print(f"- {rel}: {why}")
    print(f"\n{len(rows)} files scored in {time.perf_counter() - t_all:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
