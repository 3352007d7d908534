"""Make the pictures of the documentation from generated data (nothing is drawn by hand).

Runs :func:`pcrs.demo.run_demo` on a small generated scene in a temporary folder
and copies what it computed into ``docs/img/``:

- ``dtm_hillshade.png``: the hillshade of the DTM mosaic ``pcrs process`` made
  from the unclassified scene (embankment, kerb, river banks, building holes
  filled by the TIN);
- ``profile_classes.png``: a west-east profile of the points ``pcrs process``
  classified (:func:`pcrs.figures.class_profile_image`), along the line through
  a building or a tree that crosses the most roof and tree points together
  (a 4 m wide slice); heights exaggerated x2;
- ``validation_map.svg``: the map of the HTML validation report of the demo's
  delivery with planted defects (the SVG is taken from the report as it is).

Usage::

    python docs/make_pictures.py            # a minute or two; rewrites docs/img/
    python docs/make_pictures.py --points 400000 --seed 2154
"""

from __future__ import annotations

import argparse
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np

import pcrs
from pcrs.demo import run_demo
from pcrs.figures import class_profile_image
from pcrs.io.raster import write_png

IMG = Path(__file__).resolve().parent / "img"


def profile(cloud: pcrs.PointCloud, scene, path: Path, exaggeration: float = 2.0) -> None:
    """Write the profile through the building or tree whose line crosses most roofs and trees."""
    cls = cloud["classification"]
    best, best_y = -1, scene.buildings[0].cy
    for y in [b.cy for b in scene.buildings] + [t.cy for t in scene.trees]:
        band = cls[np.abs(cloud.y - y) <= 2.0]
        n = min(np.count_nonzero(band == 6), np.count_nonzero(np.isin(band, (4, 5))))
        if n > best:
            best, best_y = n, y
    shown = cloud.copy()
    shown.z = shown.z * exaggeration
    image = class_profile_image(shown, best_y, half_width=2.0, pixel=0.2)
    write_png(image, path, overwrite=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Make docs/img/ from a pcrs demo run.")
    ap.add_argument("--points", type=int, default=448_000)  # 200 m: four whole 100 m tiles
    ap.add_argument("--seed", type=int, default=2154)
    ap.add_argument("--out", type=Path, default=IMG, help="folder of the pictures")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        summary = run_demo(Path(tmp) / "demo", n_points=args.points, seed=args.seed, echo=print)
        outputs = summary["outputs"]
        shutil.copyfile(outputs["hillshade"], args.out / "dtm_hillshade.png")
        tiles = sorted((Path(outputs["process"]) / "tiles").glob("*.laz"))
        classified = pcrs.PointCloud.concatenate(pcrs.read(t) for t in tiles)
        scene = pcrs.synth.make_scene(args.points, seed=args.seed)
        profile(classified, scene, args.out / "profile_classes.png")
        page = Path(outputs["validation_html"]).read_text(encoding="utf-8")
    # the report's map is the SVG whose circles are the located findings
    maps = [s for s in re.findall(r"<svg.*?</svg>", page, flags=re.S) if "<circle" in s]
    if not maps:
        raise SystemExit("the validation report has no map (no located finding)")
    svg = maps[0]
    if "xmlns=" not in svg:
        svg = svg.replace("<svg", '<svg xmlns="http://www.w3.org/2000/svg"', 1)
    (args.out / "validation_map.svg").write_text(svg + "\n", encoding="utf-8")
    for p in sorted(args.out.iterdir()):
        print(f"{p.name}: {p.stat().st_size / 1000:.0f} kB")


if __name__ == "__main__":
    main()
