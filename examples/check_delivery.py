"""Check a PCRS v2.0 delivery before handing it over: HTML report, GeoPackage of findings, exit code.

Who it is for: surveying contractors (and the syndicates who receive their work).
What it needs: pcrs installed (``pip install .`` in a clone, or its wheel;
``pip install pcrs`` once published). For the XSD step as well as the rules, once:
``pcrs schemas install`` (otherwise the schema step is skipped and the report says so).
Input: the GML files of the delivery, or a folder of them. Without input the
script generates a small valid delivery (``pcrs.vector.sample``); with
``--plant-defects`` it plants five defects in it, to see what a failing check looks like.

Usage::

    python examples/check_delivery.py livraison/ --output rapport/ --lang fr
    python examples/check_delivery.py --output check/ --plant-defects   # exits 1

Writes ``report.html`` (one self-contained page with a map), ``findings.gpkg``
(one point per located finding: open it in QGIS) and ``report.json`` in
``--output``. Exit code 0 when there is no error (warnings are allowed), 1 when
there are errors, 2 when a file cannot be used at all: a CI job fails on
anything but 0. ``examples/check_delivery_ci.sh`` does the same with the
``pcrs validate`` command.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pcrs
from pcrs.demo import plant_defects
from pcrs.vector.sample import delivery_text


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "delivery", nargs="*", type=Path, help="GML files or folders (default: generated)"
    )
    ap.add_argument("--output", type=Path, default=Path("check-out"), help="folder of the reports")
    ap.add_argument("--lang", choices=("en", "fr"), default="en", help="language of the messages")
    ap.add_argument("--blocks", type=int, default=4, help="size of the generated delivery")
    ap.add_argument(
        "--plant-defects", action="store_true", help="plant five defects in the generated delivery"
    )
    args = ap.parse_args(argv)
    args.output.mkdir(parents=True, exist_ok=True)

    paths = list(args.delivery)
    if not paths:
        text = delivery_text(args.blocks, seed=1)
        if args.plant_defects:
            text, planted = plant_defects(text)
            print("planted defects:\n  " + "\n  ".join(planted))
        generated = args.output / "delivery.gml"
        generated.write_text(text, encoding="utf-8")
        paths = [generated]
        print(f"generated a delivery of {args.blocks} blocks: {generated}")

    report = pcrs.validate(paths, lang=args.lang)
    print(report.summary_text(args.lang, max_lines=20))
    html = report.to_html(args.output / "report.html", overwrite=True)
    gpkg = report.to_geopackage(args.output / "findings.gpkg", overwrite=True)
    js = report.to_json(args.output / "report.json", overwrite=True)
    print(f"reports: {html} {gpkg} {js}")

    if report.unusable_files:
        return 2
    return 1 if report.has_errors else 0


if __name__ == "__main__":
    sys.exit(main())
