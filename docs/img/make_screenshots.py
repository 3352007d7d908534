"""Screenshots of the HTML validation report for the docs (``docs/img/report-*.png``).

Needs playwright (``pip install playwright``) and a Chromium (``apt-get install chromium``;
``--browser PATH`` for another one). Run from the repository root::

    PCRS_SHARED_DATA=../shared/data python docs/img/make_screenshots.py

Two reports: the Métropole de Lyon example delivery (``cnig/examples/lyon`` of the shared
data, copied to a temporary folder so that the page shows relative paths) and a synthetic
delivery (:mod:`pcrs.vector.sample`) with defects planted by text edits, so that it has
many findings, one of them far away (swapped X/Y).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import tempfile
from pathlib import Path

import pcrs.vector as pv
from pcrs.vector.sample import delivery_text

HERE = Path(__file__).resolve().parent


def many_findings(path: Path) -> None:
    """A sample delivery of 30 blocks with defects planted every few features."""
    text = delivery_text(30, seed=7)
    counter = {"n": 0}

    def every(k: int, old: str, new: str, s: str) -> str:
        def sub(m: re.Match) -> str:
            counter["n"] += 1
            return new if counter["n"] % k == 0 else m.group(0)

        return re.sub(re.escape(old), sub, s)

    text = every(3, "<producteur>Géomètre Exemple</producteur>", "<producteur></producteur>", text)
    text = every(7, "<thematique>05</thematique>", "<thematique>01</thematique>", text)
    text = every(5, "<dateLeve>2024-03-12</dateLeve>", "<dateLeve>2031-03-12</dateLeve>", text)
    text = every(4, "<precisionPlanimetrique>005", "<precisionPlanimetrique>050", text)
    # one pillar with its X and Y swapped: far outside the area
    text = re.sub(
        r"<gml:pos>(\d+\.\d+) (\d+\.\d+) ", lambda m: f"<gml:pos>{m[2]} {m[1]} ", text, count=1
    )
    path.write_text(text, encoding="utf-8")


def shoot(html: Path, png: Path, browser: str, zoom: bool = False) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=browser, args=["--no-sandbox"])
        try:
            page = b.new_page(viewport={"width": 1100, "height": 1250})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(html.as_uri())
            if errors:
                raise SystemExit(f"{html}: JavaScript errors: {errors}")
            if zoom:  # the map's view set to the first emprise, as a user zooming would
                page.evaluate(
                    """() => {const m = document.getElementById('map'), v = m.viewBox.baseVal,
                    b = m.querySelector('.emp path').getBBox(), k = v.height / v.width,
                    w = Math.max(b.width, b.height / k) * 1.15;
                    v.x = b.x + b.width / 2 - w / 2; v.y = b.y + b.height / 2 - w * k / 2;
                    v.width = w; v.height = w * k; window.dispatchEvent(new Event('resize'));}"""
                )
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(png), full_page=False)
        finally:
            b.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--browser", default=shutil.which("chromium") or "chromium")
    ap.add_argument("--out", default=str(HERE))
    args = ap.parse_args()
    out = Path(args.out)
    shared = Path(os.environ.get("PCRS_SHARED_DATA", "../shared/data"))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        lyon = work / "lyon"
        shutil.copytree(shared / "pcrs" / "cnig" / "examples" / "lyon", lyon)
        os.chdir(work)
        files = sorted(Path("lyon").glob("*.gml"))
        report = pv.validate(files, lang="fr")
        report.to_html(work / "lyon.html", lang="fr")
        shoot(work / "lyon.html", out / "report-lyon.png", args.browser)
        shoot(work / "lyon.html", out / "report-lyon-zoom.png", args.browser, zoom=True)
        many_findings(work / "livraison.gml")
        report = pv.validate([Path("livraison.gml")], lang="fr")
        print(report.summary_text(max_lines=0).splitlines()[-2:])
        report.to_html(work / "many.html", lang="fr")
        shoot(work / "many.html", out / "report-many-findings.png", args.browser)


if __name__ == "__main__":
    main()
