"""Train the model shipped in ``src/pcrs/classify/models/lidarhd-v1`` and write its model card.

Usage::

    python benchmarks/train_shipped_model.py [--data ../shared/data] [--out DIR]
        [--loso loso_licensed.json] [--include-unlicensed]

Training files: the IGN-classified files of the leave-one-site-out benchmark
(``benchmarks/eval_learned.py``, :data:`SITES`) **whose licence is stated** in
the shared data's ``PROVENANCE.md`` — the ``ign-pdal-tools`` extracts, MIT,
(c) 2023 IGN. The ``pdal-ign-plugin`` extracts (forest, river, coast, bridge) come
from a repository with no licence file, so they are left out of the shipped
model; ``--include-unlicensed`` adds them for a model kept for local use.
Those licensed files hold no water and no bridge points at LiDAR HD density (the
decimated extracts, about 1 pt/m², are not trained on), so the shipped model
learns ground, vegetation 3/4/5 and building only (2, 3, 4, 5, 6).

Same data, same seed, same scikit-learn: the same trees. ``--loso`` takes the
JSON written by ``eval_learned.py --licensed-only --json ...`` and puts its
figures in the model card.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from eval_learned import LICENSED, SITES, SPARSE  # noqa: E402

CLASSES = (2, 3, 4, 5, 6)
MAX_POINTS_PER_CLASS = 40_000
SEED = 0


def _licences(provenance: Path) -> dict[str, str]:
    """file (relative to lidar/) -> its licence line in PROVENANCE.md."""
    out: dict[str, str] = {}
    current = None
    for line in provenance.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^### (\S+)", line)
        if m:
            current = m.group(1)
        elif current and line.startswith("- licence:"):
            out[current] = line[len("- licence:") :].strip()
    return out


def _card(meta: dict, files: list[str], licences: dict[str, str], loso: dict | None) -> str:
    from pcrs.classify.learned_features import FEATURE_NAMES, FEATURE_VERSION

    lines = [
        "# Model card: pcrs lidarhd-v1",
        "",
        "Gradient-boosted trees (scikit-learn `HistGradientBoostingClassifier`, exported to the",
        "explicit pcrs format: `model.json` + `trees.npz`, no pickle) classifying airborne LiDAR",
        "points into IGN LiDAR HD classes. Applied by `pcrs classify --classifier learned`.",
        "",
        f"- trained: {meta.get('trained')} with pcrs {meta.get('pcrs_version')}, "
        f"scikit-learn {meta.get('sklearn_version')}, seed {meta.get('seed')}",
        f"- script: `python benchmarks/train_shipped_model.py` ({len(files)} files)",
        f"- classes: {', '.join(str(c) for c in meta['classes'])} (IGN: 2 ground, 3/4/5 low /"
        " medium / high vegetation, 6 building)",
        f"- trees: {meta.get('n_iter')} iterations x {len(meta['classes'])} classes; "
        f"parameters {json.dumps(meta.get('hgb_params'))}",
        f"- training rows per class: {json.dumps(meta.get('training_rows_per_class'))} (at most "
        f"{meta.get('max_points_per_class')} per class, shared evenly among the files)",
        f"- features ({FEATURE_VERSION}): {', '.join(FEATURE_NAMES)}",
        "- height above ground: above IGN's ground and water when training; above pcrs's SMRF",
        "  ground when the model is applied (the ground filter's errors feed the model)",
        "",
        "## Training data",
        "",
        "| file | licence (from the shared data's PROVENANCE.md) |",
        "|---|---|",
    ]
    for f in files:
        lines.append(f"| {f} | {licences.get(f, 'not stated')} |")
    lines += [
        "",
        "All are IGN LiDAR HD extracts published as test data of IGN's open-source repositories.",
        "The extracts of `IGNF/pdal-ign-plugin` (forest, river, coast, bridge) were left out: that",
        "repository states no licence.",
        "",
        "## Known limits",
        "",
        "- No water (9) and no bridge deck (17): the licensed files at LiDAR HD density hold",
        "  none. Water stays ground (the ground filter's); decks come out as building or",
        "  vegetation.",
        "- IGN's class 1 (unclassified: cars, fences, street furniture), 64 (lasting above-ground)",
        "  and 67 are not learned: such points get one of the learned classes.",
        "- Three small places (8 files, 1.2 M points): a periurban block, fields, a meadow; no",
        "  forest, no mountain, no dense city centre: expect lower figures elsewhere. In the",
        "  leave-one-site-out figures below, the model is below the rules on vegetation and",
        "  buildings: use it as a starting point to retrain on your own classified tiles",
        "  (`pcrs train`), not in place of the rules.",
        "- The ground filter's ground is kept; the model labels the other points.",
        "- The ground comes from SMRF: where SMRF fails (steep slopes, forest), the height above",
        "  ground is wrong and so are the classes that depend on it.",
        "- Trained at 8-35 pts/m² only; at about 1 pt/m² expect much lower figures.",
    ]
    if loso:
        lines += [
            "",
            "## Leave-one-site-out figures (same recipe, the 5 licensed sites)",
            "",
            "`python benchmarks/eval_learned.py --licensed-only --classes 2,3,4,5,6`: a model",
            "trained on the other licensed sites at LiDAR HD density, applied to the held-out",
            "one; the rules chain on the same points. IoU against IGN's classes.",
            "",
        ]
        lines.append(loso.get("markdown", "").strip())
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = os.environ.get("PCRS_SHARED_DATA", str(HERE.parents[1] / "shared" / "data"))
    ap.add_argument("--data", default=default)
    ap.add_argument(
        "--out", default=str(HERE.parent / "src" / "pcrs" / "classify" / "models" / "lidarhd-v1")
    )
    ap.add_argument("--loso", default=None, help="JSON of eval_learned.py --licensed-only")
    ap.add_argument("--include-unlicensed", action="store_true")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)

    from pcrs.classify.learned_train import train

    lidar = Path(args.data) / "lidar"
    names = list(SITES) if args.include_unlicensed else list(LICENSED)
    # LiDAR HD density only: the decimated extracts (about 1 pt/m²) are not trained on
    sites = {s: SITES[s] for s in names if s not in SPARSE}
    files = [f for fs in sites.values() for f in fs]
    licences = _licences(lidar / "PROVENANCE.md")
    model = train(
        [lidar / f for f in files],
        None,
        classes=CLASSES,
        max_points_per_class=MAX_POINTS_PER_CLASS,
        seed=SEED,
        threads=args.threads,
        notes={
            "name": "lidarhd-v1",
            "training_licences": {f: licences.get(f, "not stated") for f in files},
        },
    )
    model.meta["training_files"] = files
    model.meta["trained"] = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d")
    out = Path(args.out)
    model.save(out)
    loso = json.loads(Path(args.loso).read_text()) if args.loso else None
    meta = json.loads((out / "model.json").read_text(encoding="utf-8"))
    (out / "MODEL_CARD.md").write_text(_card(meta, files, licences, loso), encoding="utf-8")
    size = sum(p.stat().st_size for p in out.iterdir())
    print(f"{out}: {model.n_trees} trees, {size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
