"""Accuracy of the ground filters with their default parameters, on real reference data.

Runs SMRF, CSF and PMF (pcrs defaults = PDAL / paper defaults, one parameter set
for every file, nothing tuned per sample) on:

* the ISPRS filter-test samples in ``$PCRS_SHARED_DATA/lidar/isprs`` (class 2 =
  bare earth, 0 = object). The CSite*/FSite* files there carry no reference
  classes (every point is class 0), so they cannot be scored and are skipped;
* the IGN LiDAR HD files of ``$PCRS_SHARED_DATA/lidar`` whose classes are IGN's
  (class 2 = ground is the reference; class 66, virtual points, is dropped from
  input and reference since it is not a measurement).

For each file: ISPRS Type I / Type II / Total error, Cohen's kappa and ground IoU
(intersection over union of the predicted and reference ground points), then
the means. For the IGN files a second IoU leaves out the reference classes 3
(low vegetation, < 0.5 m) and 9 (water), which lie within the 0.5 m tolerance of
a geometric ground filter and are told apart by IGN with other rules.

Usage::

    python benchmarks/ground_accuracy.py                 # all methods, all files
    python benchmarks/ground_accuracy.py --methods smrf --json out.json
    python benchmarks/ground_accuracy.py --methods csf,csf-library   # peer, same run
    python benchmarks/ground_accuracy.py --methods smrf,smrf+refine  # with refine_ground

Reads files only through pcrs.io.las; prints Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from pcrs.classify.evaluate import ground_errors
from pcrs.classify.ground import GROUND_FILTERS, classify_ground, refine_ground
from pcrs.io import las

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("PCRS_SHARED_DATA", ROOT.parent / "shared" / "data")) / "lidar"

ISPRS = ["samp11", "samp12", "samp21", "samp31", "samp41", "samp51", "samp61"]

#: IGN-classified files (distinct points; duplicates of the same area in other formats left out)
IGN = [
    "ign-pdal-tools/test_data_77050_627755_LA93_IGN69.laz",
    "ign-pdal-tools/test_data_77050_627760_LA93_IGN69.laz",
    "ign-pdal-tools/test_data_77055_627755_LA93_IGN69.laz",
    "ign-pdal-tools/test_data_77055_627760_LA93_IGN69.laz",
    "ign-pdal-tools/test_data_77060_627755_LA93_IGN69.laz",
    "ign-pdal-tools/test_data_77060_627760_LA93_IGN69.laz",
    "ign-pdal-tools/Semis_2022_0906_6665_LA93_IGN69_ok.laz",
    "ign-pdal-tools/test_semis_2021_0382_6565_LA93_IGN69_cropped.laz",
    "ign-pdal-tools/las_with_several_extra_byte_bloc.laz",
    "ign-pdal-tools/las_with_origin_dsmMarker.laz",
    "ign-pdal-tools/target_cloud_crop.laz",
    "pdal-ign-plugin/mnx_input_crop_1.laz",
    "pdal-ign-plugin/mnx_input_crop_2.laz",
    "pdal-ign-plugin/mnx_input_crop_3.laz",
    "pdal-ign-plugin/mnx_input_bat.laz",
    "pdal-ign-plugin/mnx_input_corse.laz",
    "pdal-ign-plugin/mnx_input_pont.laz",
]


def _csf_library(cloud):
    """The C++ CSF library (PyPI cloth-simulation-filter) with pcrs's CSF defaults,
    on the same candidate points (last and single returns)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_ground import csf_library

    from pcrs.classify.ground import _last_returns

    cand = _last_returns(cloud)
    cand = np.ones(len(cloud), bool) if cand is None else cand
    out = np.zeros(len(cloud), bool)
    out[cand] = csf_library(cloud.x[cand], cloud.y[cand], cloud.z[cand])
    return out


def score(cloud, ref_ground, method, loose_ignore=None):
    t0 = time.perf_counter()
    base, _, refine = method.partition("+")
    g = _csf_library(cloud) if base == "csf-library" else classify_ground(cloud, method=base)
    if refine == "refine":  # what the classification pipeline does after the filter
        g = refine_ground(cloud.x, cloud.y, cloud.z, g)
    seconds = time.perf_counter() - t0
    e = ground_errors(g, ref_ground)
    row = {
        "points": len(cloud),
        "type1": 100 * e.type1,
        "type2": 100 * e.type2,
        "total": 100 * e.total,
        "kappa": 100 * e.kappa,
        "iou": e.iou,
        "seconds": seconds,
    }
    if loose_ignore is not None:
        keep = ~loose_ignore
        row["iou_loose"] = ground_errors(g[keep], ref_ground[keep]).iou
    return row


def table(title, rows, loose=False):
    head = "| file | points | Type I % | Type II % | Total % | kappa % | ground IoU |"
    sep = "|---|---|---|---|---|---|---|"
    if loose:
        head += " IoU w/o 3, 9 |"
        sep += "---|"
    head += " s |"
    sep += "---|"
    lines = [f"\n{title}\n", head, sep]
    for name, r in rows.items():
        line = (
            f"| {name} | {r['points']:,} | {r['type1']:.2f} | {r['type2']:.2f} | {r['total']:.2f} "
            f"| {r['kappa']:.1f} | {r['iou']:.3f} |"
        )
        if loose:
            line += f" {r['iou_loose']:.3f} |"
        lines.append(line + f" {r['seconds']:.2f} |")
    keys = ["type1", "type2", "total", "kappa", "iou"] + (["iou_loose"] if loose else [])
    m = {k: float(np.mean([r[k] for r in rows.values()])) for k in keys}
    worst = max(r["total"] for r in rows.values())
    line = (
        f"| **mean** | | {m['type1']:.2f} | {m['type2']:.2f} | **{m['total']:.2f}** "
        f"| {m['kappa']:.1f} | **{m['iou']:.3f}** |"
    )
    if loose:
        line += f" {m['iou_loose']:.3f} |"
    lines.append(line + " |")
    subset = {n: r for n, r in rows.items() if n.startswith("test_data_")}
    if loose and subset:
        ms = {k: float(np.mean([r[k] for r in subset.values()])) for k in keys}
        lines.append(
            f"| mean of the {len(subset)} test_data_* tiles | | {ms['type1']:.2f} | {ms['type2']:.2f} "
            f"| {ms['total']:.2f} | {ms['kappa']:.1f} | {ms['iou']:.3f} | {ms['iou_loose']:.3f} | |"
        )
        m["tiles_iou"] = ms["iou"]
        m["tiles_iou_loose"] = ms["iou_loose"]
    lines.append(f"\nworst total error {worst:.2f} %")
    print("\n".join(lines))
    return m | {"worst_total": worst}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--methods",
        default=",".join(GROUND_FILTERS),
        help=(
            "comma-separated; 'csf-library' runs the C++ CSF library (if installed) as a "
            "peer; a '+refine' suffix (e.g. smrf+refine) adds refine_ground, as the "
            "classification pipeline does"
        ),
    )
    ap.add_argument("--json", help="also write the figures to this JSON file")
    ap.add_argument("--skip-ign", action="store_true")
    args = ap.parse_args(argv)
    if not DATA.is_dir():
        print(f"shared data not found at {DATA}; set PCRS_SHARED_DATA", file=sys.stderr)
        return 2
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    out = {}
    isprs = {n: las.read(DATA / "isprs" / f"{n}-utm.laz") for n in ISPRS}
    ign = {}
    if not args.skip_ign:
        for rel in IGN:
            path = DATA / rel
            if not path.exists():
                print(f"missing {path}, skipped", file=sys.stderr)
                continue
            c = las.read(path)
            c = c[c.classification != 66]
            ign[Path(rel).name.replace("_LA93_IGN69", "")] = c
    for method in methods:
        rows = {n: score(c, c.classification == 2, method) for n, c in isprs.items()}
        out[f"{method}/isprs"] = {
            "rows": rows,
            "mean": table(f"### {method.upper()} — ISPRS samples", rows),
        }
        if ign:
            rows = {
                n: score(c, c.classification == 2, method, np.isin(c.classification, (3, 9)))
                for n, c in ign.items()
            }
            out[f"{method}/ign"] = {
                "rows": rows,
                "mean": table(
                    f"### {method.upper()} — IGN LiDAR HD files (class 2 reference)",
                    rows,
                    loose=True,
                ),
            }
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
