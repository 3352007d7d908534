"""Re-classify the ground of a tile whose delivered classification is wrong, and measure the gain.

Who it is for: syndicate staff and contractors who received a LiDAR tile whose
ground class (2) is visibly wrong (roofs or bridges in the DTM, holes in the
terrain) and want a better one before computing a DTM.
What it needs: pcrs installed (``pip install .`` in a clone, or its wheel;
``pip install pcrs`` once published). Input: one LAS/LAZ tile, and optionally a
reference classification of the same points (a corrected copy). Without an
input the script generates a synthetic scene with known truth and damages its
classification on purpose (roofs and the bridge deck labelled ground, a
stretch of real ground labelled unclassified), the faults seen in deliveries.

Usage::

    python examples/reclassify_ground.py --output reclass/            # generated scene
    python examples/reclassify_ground.py --input tile.laz --reference corrected.laz \
        --output reclass/ --ground csf

Outputs in ``--output``: ``delivered.laz`` and ``reference.laz`` (generated
input only), ``reclassified.laz`` and ``scores.json``. The same comparison from
the command line::

    pcrs evaluate reclass/delivered.laz reclass/reference.laz
    pcrs evaluate reclass/reclassified.laz reclass/reference.laz --max-total-error 5
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

import pcrs


def damaged_scene(folder: Path, n_points: int, seed: int = 11) -> tuple[Path, Path]:
    """Write a synthetic tile with a wrong ground class and its true classification."""
    scene = pcrs.synth.make_scene(n_points, seed=seed)
    truth = scene.cloud
    cls = truth["classification"].copy()
    rng = np.random.default_rng(seed)
    # fault 1: the roofs of half the buildings and the bridge deck labelled ground
    building = cls == 6
    roofs = building & (rng.random(len(cls)) < 0.5)
    cls[roofs | (cls == 17)] = 2
    # fault 2: the ground of the western fifth of the tile labelled unclassified
    x0, _, x1, _ = scene.bounds
    cls[(truth["classification"] == 2) & (truth.x < x0 + 0.2 * (x1 - x0))] = 1
    delivered = truth.copy()
    delivered["classification"] = cls
    folder.mkdir(parents=True, exist_ok=True)
    ref_path, bad_path = folder / "reference.laz", folder / "delivered.laz"
    pcrs.write(truth, ref_path, overwrite=True)
    pcrs.write(delivered, bad_path, overwrite=True)
    return bad_path, ref_path


def scores(ev) -> dict:
    """The figures worth printing of a :class:`pcrs.classify.evaluate.Evaluation`."""
    return {
        "ground_iou": round(ev.ground.iou, 4),
        "type1_pct": round(100 * ev.ground.type1, 2),
        "type2_pct": round(100 * ev.ground.type2, 2),
        "total_error_pct": round(100 * ev.ground.total, 2),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", type=Path, help="the delivered tile (default: generated)")
    ap.add_argument("--reference", type=Path, help="reference classification of the same points")
    ap.add_argument("--output", type=Path, default=Path("reclass-out"), help="output folder")
    ap.add_argument("--ground", default="smrf", choices=sorted(pcrs.GROUND_FILTERS))
    ap.add_argument("--points", type=int, default=200_000, help="size of the generated scene")
    args = ap.parse_args(argv)

    if args.input is None:
        delivered_path, reference_path = damaged_scene(args.output, args.points)
        print(f"generated a damaged tile {delivered_path} and its truth {reference_path}")
    else:
        delivered_path, reference_path = args.input, args.reference
    args.output.mkdir(parents=True, exist_ok=True)

    delivered = pcrs.read(delivered_path)
    # noise first (so that low outliers do not pull the terrain down), then ground;
    # the classes a step assigns are reset first, the other classes are kept
    fixed = pcrs.classify_cloud(delivered, steps=("noise", "ground"), ground=args.ground)
    out_path = args.output / "reclassified.laz"
    pcrs.write(fixed, out_path, overwrite=True)
    print(f"re-classified ground with {args.ground.upper()} -> {out_path}")

    if reference_path is None:
        # no reference: say how much the new ground differs from the delivered one
        ev = pcrs.evaluate_classification(fixed["classification"], delivered["classification"])
        result = {"reclassified_vs_delivered": scores(ev)}
        print(f"agreement with the delivered ground: IoU {ev.ground.iou:.3f}")
    else:
        reference = pcrs.read(reference_path)
        if len(reference) != len(delivered):
            print(f"{reference_path}: not the same points as {delivered_path}", file=sys.stderr)
            return 2
        ref = reference["classification"]
        before = pcrs.evaluate_classification(delivered["classification"], ref, ignore=(66,))
        after = pcrs.evaluate_classification(fixed["classification"], ref, ignore=(66,))
        result = {"before": scores(before), "after": scores(after)}
        print(
            f"{'ground vs reference':<22}{'IoU':>7}{'Type I %':>10}{'Type II %':>11}{'Total %':>9}"
        )
        for name, s in result.items():
            print(
                f"{name:<22}{s['ground_iou']:7.3f}{s['type1_pct']:10.2f}"
                f"{s['type2_pct']:11.2f}{s['total_error_pct']:9.2f}"
            )
        print(f"same from the command line: pcrs evaluate {out_path} {reference_path}")
    (args.output / "scores.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
