"""The documentation site builds with ``mkdocs build --strict`` (broken links, missing pages,
unparsable docstrings and a failing rules-catalogue hook all fail it)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NEEDED = ("mkdocs", "mkdocs_click", "mkdocstrings", "mkdocstrings_handlers.python")


def _missing() -> list[str]:
    missing = []
    for name in NEEDED:
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            missing.append(name)
    return missing


@pytest.mark.skipif(
    bool(_missing()), reason=f'docs tools not installed ({_missing()}): pip install ".[docs]"'
)
def test_docs_build_strict(tmp_path):
    site = tmp_path / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-4000:]
    # the generated pages hold what they are generated from
    from pcrs.vector.rules import RULES

    rules = (site / "rules" / "index.html").read_text(encoding="utf-8")
    assert all(rid in rules for rid in RULES)
    assert "<!-- rules-catalogue -->" not in rules
    cli = (site / "cli" / "index.html").read_text(encoding="utf-8")
    assert "pcrs validate" in cli and "pcrs process" in cli
    api = (site / "api" / "index.html").read_text(encoding="utf-8")
    assert "classify_ground" in api and "write_geopackage" in api
    for page in ("guide-syndicates", "guide-contractors", "guide-developers", "benchmarks",
                 "fr/guide-syndicats", "fr/guide-prestataires"):  # fmt: skip
        assert (site / page / "index.html").is_file(), page
    assert (site / "img" / "dtm_hillshade.png").is_file()
    assert not (site / "hooks.py").exists()  # build scripts are not published


def test_benchmark_figures_are_copied_from_the_topic_pages():
    """docs/benchmarks.md only gathers figures: each one of its copied sections must still be
    on a topic page (a re-measured page whose old figure is gone fails this until the copy is
    updated). The sections measured for the page itself are exempt."""
    import re

    docs = ROOT / "docs"
    topics = " ".join(
        (docs / name).read_text(encoding="utf-8")
        for name in ("ground.md", "classification.md", "tiling.md", "rasters.md", "validation.md")
    )
    own = ("Reading LAZ", "Small sizes", "Territory scale")
    text = (docs / "benchmarks.md").read_text(encoding="utf-8")
    checked = 0
    for section in re.split(r"\n## ", text)[1:]:
        title = section.splitlines()[0]
        if title.startswith(own):
            continue
        figures = set(re.findall(r"\d[\d,]*\.\d+|\d{1,3}(?:,\d{3})+", section))
        stale = sorted(f for f in figures if f not in topics)
        assert not stale, (
            f"docs/benchmarks.md, section {title!r}: {stale} appear on no topic page any more; "
            "copy the current figures from the topic page"
        )
        checked += len(figures)
    assert checked > 100


def test_make_pictures_draws_from_a_demo_run(tmp_path):
    """docs/make_pictures.py (the pictures of the docs) still runs, on a small scene."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "make_pictures.py"), "--points", "30000",
         "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    import struct

    def png_header(path):  # width, height, colour type (4 grey + alpha, 6 RGBA)
        head = path.read_bytes()[:26]
        assert head[:8] == b"\x89PNG\r\n\x1a\n"
        return (*struct.unpack(">II", head[16:24]), head[25])

    width, _, colour = png_header(tmp_path / "dtm_hillshade.png")
    assert width > 100 and colour == 4
    assert png_header(tmp_path / "profile_classes.png")[2] == 6
    svg = (tmp_path / "validation_map.svg").read_text(encoding="utf-8")
    assert svg.startswith("<svg") and svg.count("<circle") >= 5  # the planted defects
