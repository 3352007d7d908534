"""The HTML page of a validation report: self-contained, draws the delivery (emprise,
objects, findings), an extent that ignores outliers, French done right, a page even when
the delivery's files are gone, and (when a headless browser is here) a page that renders
without JavaScript errors."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import pcrs.vector as pv
from pcrs.vector.gml import GmlReader, Member
from pcrs.vector.report import Report, _count
from pcrs.vector.report_html import render_html
from pcrs.vector.rules import Finding
from pcrs.vector.sample import write_delivery


@pytest.fixture(scope="module")
def delivery(tmp_path_factory) -> Path:
    return write_delivery(tmp_path_factory.mktemp("html") / "delivery.gml", n_blocks=3, seed=1)


@pytest.fixture(scope="module")
def report(delivery: Path) -> Report:
    return pv.validate([delivery])


def _geometry_counts(path: Path) -> tuple[int, int]:
    """(emprise geometries, other geometries) of a file, read directly."""
    emprises = objects = 0
    for member in GmlReader(path).members():
        if not isinstance(member, Member):
            continue
        for feature in member.features:
            n = sum(1 for p in feature.materialise() if p.geometry is not None)
            if feature.cls == "EmpriseEchangePCRS":
                emprises += n
            else:
                objects += n
    return emprises, objects


def _group(page: str, cls: str) -> str:
    m = re.search(rf'<g class="{cls}">(.*?)</g>', page)
    return m.group(1) if m else ""


def _view(page: str) -> tuple[str, str]:
    """The map's viewBox and metres per SVG unit."""
    m = re.search(r'<svg id="map"[^>]*viewBox="([^"]+)" data-m="([^"]+)"', page)
    assert m, "no map"
    return m.group(1), m.group(2)


def _visible_text(page: str) -> str:
    page = re.sub(r"<(style|script)>.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"<[^>]+>", " ", page)


def _outlier(report: Report, dx: float = 0.0) -> Finding:
    """A finding at swapped coordinates (y, x) of the report's first located finding,
    or of the sample's area."""
    return Finding("PCRS-XML-002", file="x.gml", line=1, x=6_519_000.0 + dx, y=842_000.0)


def test_page_is_self_contained(report: Report) -> None:
    page = report.to_html()
    assert isinstance(page, str)
    assert re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page) is None
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert "<script src" not in page


def test_page_draws_emprise_and_objects(report: Report, delivery: Path) -> None:
    page = report.to_html()
    emprises, objects = _geometry_counts(delivery)
    assert emprises >= 1 and objects > 10
    assert _group(page, "emp").count("<path ") == emprises
    drawn = sum(_group(page, k).count("<path ") for k in ("pol", "lin", "pt"))
    assert drawn == objects
    assert _group(page, "pol") and _group(page, "lin")
    assert 'id="sbar"' in page and re.search(r'id="stext"[^>]*>\d+ k?m<', page)
    assert "simplif" not in _visible_text(page)  # small: drawn as is


def test_findings_link_to_their_rows(report: Report) -> None:
    r = Report(files=report.files, findings=[*report.findings, _finding_near(report)])
    page = r.to_html()
    ids = re.findall(r'<a href="#r(\d+)"><circle id="m(\d+)"', page)
    assert ids and all(a == b for a, b in ids)
    for i, _ in ids:
        assert f'<tr id="r{i}">' in page
        assert f"showOnMap({i})" in page


def _finding_near(report: Report) -> Finding:
    """A located error inside the sample's emprise."""
    from pcrs.vector.report_html import _read_delivery

    d = _read_delivery(report, 10_000)
    x0, y0, x1, y1 = d.emprises[0].bounds
    return Finding("PCRS-XML-002", file="a.gml", line=2, x=(x0 + x1) / 2, y=(y0 + y1) / 2)


def test_outlier_keeps_the_extent_and_gets_a_border_marker(report: Report) -> None:
    near = _finding_near(report)
    base = Report(files=report.files, findings=[near]).to_html()
    with_out = Report(files=report.files, findings=[near, _outlier(report)]).to_html()
    assert _view(base) == _view(with_out)
    marker = re.search(r'<polygon class="out"[^>]*><title>([^<]*)</title>', with_out)
    assert marker, "no border marker"
    assert re.search(r"\d[\d,]* km (N|NE|E|SE|S|SW|W|NW) \(6519000\.00, 842000\.00\)", marker[1])
    assert re.search(r'<text class="outl"[^>]*>[\d,]+ km [A-Z]+</text>', with_out)
    assert "far outside the map" in with_out


def test_findings_only_extent_is_robust(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    xs, ys = 842_000 + rng.uniform(0, 300, 60), 6_519_000 + rng.uniform(0, 200, 60)
    near = [
        Finding("PCRS-XML-002", file="a.gml", x=float(x), y=float(y))
        for x, y in zip(xs, ys, strict=True)
    ]
    base = Report(findings=near).to_html()
    page = Report(findings=[*near, _outlier(Report())]).to_html()
    assert _view(base) == _view(page)
    assert '<polygon class="out"' in page
    assert page.count('<circle id="m') == 60


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("n", [0, 1, 2])
def test_plurals(lang: str, n: int) -> None:
    expected = {
        ("en", 0): ["0 errors", "0 warnings", "0 infos"],
        ("en", 1): ["1 error", "1 warning", "1 info"],
        ("en", 2): ["2 errors", "2 warnings", "2 infos"],
        ("fr", 0): ["0 erreur", "0 avertissement", "0 information"],
        ("fr", 1): ["1 erreur", "1 avertissement", "1 information"],
        ("fr", 2): ["2 erreurs", "2 avertissements", "2 informations"],
    }[(lang, n)]
    got = [_count(n, sev, lang) for sev in ("error", "warning", "info")]
    assert got == expected
    findings = [
        Finding(rule, file="a.gml", line=i + 1)
        for rule in ("PCRS-XML-002", "PCRS-ATTR-003", "PCRS-XSD-002")
        for i in range(n)
    ]
    r = Report(findings=findings, lang=lang)
    assert ", ".join(expected) in r.summary_text()
    cards = re.search(r'<p class="cards">(.*?)</p>', r.to_html())
    assert (
        cards
        and [re.sub("<[^>]+>", "", c) for c in re.findall("<span.*?</span>", cards[1])] == expected
    )


def test_french_page_has_no_english_severity_words(report: Report) -> None:
    findings = [
        _finding_near(report),
        Finding("PCRS-ATTR-003", file="a.gml", line=3, x=1.0, y=2.0),
        Finding("PCRS-XSD-002"),  # a finding of the file: class "(fichier)"
        _outlier(report),
    ]
    r = Report(files=report.files, findings=findings, lang="fr")
    page = r.to_html()
    text = _visible_text(page)
    assert not re.search(r"\b(errors?|warnings?|infos?|file)\b", text, flags=re.I), re.findall(
        r".{30}\b(?:errors?|warnings?|infos?|file)\b.{30}", text, flags=re.I
    )
    assert "(fichier)" in text and "avertissement" in text and "information" in text
    assert re.search(r"km (N|NE|E|SE|S|SO|O|NO) ", page)
    assert "Carte de la livraison" in page and 'lang="fr"' in page
    console = r.summary_text()
    assert not re.search(r"\b(ERROR|WARNING|INFO|more)\b", console)
    assert "AVERTISSEMENT" in console


def test_profile_in_the_header(report: Report) -> None:
    r = Report(files=report.files, findings=report.findings)
    r.profile = {"name": "strict", "origin": "built-in"}
    assert "Acceptance profile: strict (built-in)" in r.to_html(lang="en")
    r.profile = {"name": "syndicat", "origin": "pcrs.toml"}
    assert "Profil de recette : syndicat (pcrs.toml)" in r.to_html(lang="fr")


def test_page_writes_when_the_files_are_gone(tmp_path: Path) -> None:
    path = write_delivery(tmp_path / "gone.gml", n_blocks=1)
    r = pv.validate([path])
    r.findings.append(Finding("PCRS-XML-002", file=str(path), line=5, x=842_100.0, y=6_519_100.0))
    path.unlink()
    out = r.to_html(tmp_path / "gone.html")
    page = Path(out).read_text(encoding="utf-8")
    assert "could not be read again" in page and "gone.gml" in page
    assert '<circle id="m' in page
    assert not _group(page, "emp") and not _group(page, "pol")


def test_budget_simplifies_and_says_so(report: Report, delivery: Path) -> None:
    from pcrs.vector.report_html import _read_delivery

    full = report.to_html()
    assert isinstance(full, str)
    drawing = _read_delivery(report, 10**9)
    assert drawing.tolerance == 0 and drawing.vertices_kept == drawing.vertices_read
    budget = drawing.vertices_read // 3
    small = render_html(report, "en", 100, budget=budget)
    assert len(small) < len(full)
    assert "Geometry simplified to keep the page small" in small
    assert _read_delivery(report, budget).vertices_kept <= budget
    tiny = render_html(report, "en", 100, budget=5)
    assert "objects left out of the map" in tiny


def test_unusable_and_hostile_files_are_skipped(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gml"
    bad.write_text('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>')
    r = Report(
        files=[{"path": str(bad), "features": {}}],
        findings=[Finding("PCRS-XML-002", file=str(bad), x=10.0, y=20.0)],
    )
    page = r.to_html()
    assert "bad.gml" in page and '<circle id="m0"' in page


# --- a real browser, when one is installed ---------------------------------------------


def _browser() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        exe = shutil.which(name)
        if exe:
            return exe
    return None


def test_page_renders_in_a_headless_browser(report: Report, tmp_path: Path) -> None:
    playwright = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install playwright)"
    )
    exe = _browser()
    if exe is None:
        pytest.skip("no headless browser here: install chromium (apt-get install chromium)")
    r = Report(files=report.files, findings=[*report.findings, _finding_near(report)])
    page_path = r.to_html(tmp_path / "report.html", lang="fr")
    errors: list[str] = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=exe, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(Path(page_path).as_uri())
            assert page.locator("#map path").count() > 10
            assert page.locator("#map circle.f").count() == 1
            box = page.locator("#map").bounding_box()
            assert box and box["width"] > 300
            before = page.locator("#map").get_attribute("viewBox")
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.mouse.wheel(0, -200)
            assert page.locator("#map").get_attribute("viewBox") != before  # zoomed
            page.locator("a.tomap").first.click()
            assert page.locator("#map circle.f.hl").count() == 1
        finally:
            browser.close()
    assert errors == []


@pytest.mark.parametrize(
    ("lang", "n", "note"),
    [
        ("en", 1, "1 finding has no coordinates"),
        ("en", 2, "2 findings have no coordinates"),
        ("fr", 1, "1 anomalie n&#x27;a pas de coordonnées"),
        ("fr", 2, "2 anomalies n&#x27;ont pas de coordonnées"),
    ],
)
def test_notes_take_plurals(lang: str, n: int, note: str) -> None:
    findings = [Finding("PCRS-XML-002", file="a.gml", x=10.0, y=20.0)]
    findings += [Finding("PCRS-XSD-002") for _ in range(n)]
    page = Report(findings=findings).to_html(lang=lang)
    assert note in page
