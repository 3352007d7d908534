"""One mutated delivery per rule: each defect is found, by the right rule, on the right feature.

The base delivery is synthetic (pcrs.vector.sample, 2 blocks, seed 1) and has no finding at
all; each case changes one thing in it and checks that the expected rule fires where the
change was made.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pcrs.vector import RULES, Options, validate
from pcrs.vector.sample import delivery_text

P = "FR_0001"


@pytest.fixture(scope="module")
def base() -> str:
    return delivery_text(2, seed=1)


def _line_of(text: str, gid: str) -> str:
    for line in text.splitlines():
        if f'gml:id="{gid}"' in line and "featureMember>" in line:
            return line
    raise AssertionError(gid)


def feat(gid: str, old: str, new: str, count: int = 1):
    """Replace ``old`` by ``new`` in the featureMember line of ``gid``."""

    def apply(text: str) -> str:
        line = _line_of(text, gid)
        assert old in line, (gid, old)
        return text.replace(line, line.replace(old, new, count))

    return apply


def sub(pattern: str, repl: str, gid: str | None = None, count: int = 1):
    def apply(text: str) -> str:
        if gid is None:
            out, n = re.subn(pattern, repl, text, count=count)
        else:
            line = _line_of(text, gid)
            new_line, n = re.subn(pattern, repl, line, count=count)
            out = text.replace(line, new_line)
        assert n, pattern
        return out

    return apply


def whole(old: str, new: str, count: int = -1):
    def apply(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, count)

    return apply


def _geom_pos(text: str, gid: str) -> list[float]:
    m = re.search(r"<gml:pos>([^<]+)</gml:pos>", _line_of(text, gid))
    return [float(v) for v in m.group(1).split()]


def swap_xy(gid: str):
    def apply(text: str) -> str:
        x, y, _z = _geom_pos(text, gid)
        return feat(gid, f"<gml:pos>{x:.3f} {y:.3f}", f"<gml:pos>{y:.3f} {x:.3f}")(text)

    return apply


def shift_x(gid: str, dx: float):
    def apply(text: str) -> str:
        x, _y, _z = _geom_pos(text, gid)
        return feat(gid, f"<gml:pos>{x:.3f} ", f"<gml:pos>{x + dx:.3f} ")(text)

    return apply


def polygon(gid: str, rings: str):
    """Replace the envelope's exterior by explicit rings (LinearRing posLists)."""
    return sub(r"<gml:exterior>.*</gml:exterior>", rings, gid)


def _ring(coords) -> str:
    return " ".join(f"{x} {y} 150" for x, y in coords)


X0, Y0 = 1848020.0, 5180008.0
BOWTIE = _ring([(X0, Y0), (X0 + 1, Y0 + 1), (X0 + 1, Y0), (X0, Y0 + 1), (X0, Y0)])
OPEN = _ring([(X0, Y0), (X0 + 1, Y0), (X0 + 1, Y0 + 1), (X0, Y0 + 1)])
SQUARE = _ring([(X0, Y0), (X0 + 1, Y0), (X0 + 1, Y0 + 1), (X0, Y0 + 1), (X0, Y0)])
HOLE = _ring(
    [(X0 + 0.2, Y0 + 0.2), (X0 + 0.4, Y0 + 0.2), (X0 + 0.4, Y0 + 0.4), (X0 + 0.2, Y0 + 0.2)]
)


def _lr(posl: str, tag: str = "exterior") -> str:
    return (
        f"<gml:{tag}><gml:LinearRing><gml:posList>{posl}</gml:posList></gml:LinearRing></gml:{tag}>"
    )


# (rule, mutation, gml:id of the feature the finding must name, or None for a file-level one)
CASES = [
    (
        "PCRS-CODE-001",
        feat(f"{P}_0_mu", "<typeMur>01</typeMur>", "<typeMur>07</typeMur>"),
        f"{P}_0_mu",
    ),
    (
        "PCRS-CODE-002",
        feat(f"{P}_0_af", "<reseau>ELEC</reseau>", "<reseau>FIBRE</reseau>"),
        f"{P}_0_af",
    ),
    (
        "PCRS-CODE-003",
        feat(f"{P}_0_af", "<reseau>ELEC</reseau>", "<reseau>other: FIBRE</reseau>"),
        f"{P}_0_af",
    ),
    ("PCRS-THEME-001", feat(f"{P}_0_ar0", "<thematique>06", "<thematique>03"), f"{P}_0_ar0"),
    (
        "PCRS-ATTR-001",
        feat(f"{P}_0_lv", "<producteur>Géomètre Exemple</producteur>", ""),
        f"{P}_0_lv",
    ),
    (
        "PCRS-ATTR-002",
        feat(f"{P}_1_lv", f"<idObjet>{P}_1_lv</idObjet>", "<idObjet> </idObjet>"),
        f"{P}_1_lv",
    ),
    (
        "PCRS-ATTR-003",
        feat(f"{P}_0_ar0", "<reference>Platanus</reference>", "<reference/>"),
        f"{P}_0_ar0",
    ),
    (
        "PCRS-ATTR-004",
        feat(f"{P}_0_mu", "<typeMur>01</typeMur>", "<typeMur>01</typeMur><hauteur>2</hauteur>"),
        f"{P}_0_mu",
    ),
    (
        "PCRS-ATTR-005",
        feat(f"{P}_0_mu", "<typeMur>01</typeMur>", "<typeMur>01</typeMur><typeMur>02</typeMur>"),
        f"{P}_0_mu",
    ),
    (
        "PCRS-ATTR-006",
        feat(
            f"{P}_0_pi", "<angleRotation>0</angleRotation>", "<angleRotation>nord</angleRotation>"
        ),
        f"{P}_0_pi",
    ),
    (
        "PCRS-ATTR-006",
        feat(f"{P}_1_fa", "<dateLeve>2024-03-12</dateLeve>", "<dateLeve>12/03/2024</dateLeve>"),
        f"{P}_1_fa",
    ),
    (
        "PCRS-ATTR-007",
        lambda t: feat(f"{P}_0_mu", "<geometrie>", "<typeMur>02</typeMur><geometrie>")(
            feat(f"{P}_0_mu", "<typeMur>01</typeMur>", "")(t)
        ),
        f"{P}_0_mu",
    ),
    ("PCRS-CLASS-001", feat(f"{P}_0_ar0", "ArbrePCRS", "ArbreRemarquablePCRS", 2), f"{P}_0_ar0"),
    ("PCRS-CLASS-002", feat(f"{P}_0_lv", "LimiteVoiriePCRS", "BordurePCRS", 2), f"{P}_0_lv"),
    ("PCRS-FILE-004", feat(f"{P}_0_lv", "LimiteVoiriePCRS", "BordurePCRS", 2), None),
    ("PCRS-CLASS-003", feat(f"{P}_0_ar0", "ArbrePCRS", "ObjetVecteurPCRS", 2), f"{P}_0_ar0"),
    (
        "PCRS-ID-001",
        feat(f"{P}_0_pi", f'<PilierRegulierPCRS gml:id="{P}_0_pi">', "<PilierRegulierPCRS>"),
        None,
    ),
    ("PCRS-ID-002", feat(f"{P}_0_pi", f' gml:id="{P}_0_pi-g"', ""), f"{P}_0_pi"),
    (
        "PCRS-ID-003",
        feat(
            f"{P}_1_pi",
            f'<PilierRegulierPCRS gml:id="{P}_1_pi">',
            f'<PilierRegulierPCRS gml:id="{P}_0_pi">',
        ),
        f"{P}_0_pi",
    ),
    (
        "PCRS-ID-004",
        feat(f"{P}_1_pi", f"<idObjet>{P}_1_pi</idObjet>", f"<idObjet>{P}_0_pi</idObjet>"),
        f"{P}_1_pi",
    ),
    (
        "PCRS-LINK-001",
        feat(
            f"{P}_0_af",
            f'representation xlink:href="#{P}_0_af_rg"',
            'representation xlink:href="#nowhere"',
        ),
        f"{P}_0_af",
    ),
    (
        "PCRS-LINK-002",
        feat(
            f"{P}_0_af",
            f'representation xlink:href="#{P}_0_af_rg"',
            f'representation xlink:href="#{P}_0_af_sy"',
        ),
        f"{P}_0_af",
    ),
    (
        "PCRS-LINK-003",
        feat(f"{P}_0_af", f'xlink:href="#{P}_0_af_rg"', f'xlink:href="{P}_0_af_rg"'),
        None,
    ),
    (
        "PCRS-LINK-004",
        feat(f"{P}_0_af_rg", f'<enveloppe xlink:href="#{P}_0_af_en"/>', ""),
        f"{P}_0_af_rg",
    ),
    (
        "PCRS-LINK-005",
        feat(f"{P}_0_af", f'<symbolisation xlink:href="#{P}_0_af_sy"/>', "<symbolisation/>"),
        f"{P}_0_af",
    ),
    (
        "PCRS-GEOM-001",
        sub(r"<geometrie>.*</geometrie>", "<geometrie/>", f"{P}_0_af_en"),
        f"{P}_0_af_en",
    ),
    (
        "PCRS-GEOM-002",
        sub(
            r"<gml:Point (.*?)><gml:pos>([^<]+)</gml:pos></gml:Point>",
            r"<gml:LineString \1><gml:posList>\2 \2</gml:posList></gml:LineString>",
            f"{P}_0_ar0",
        ),
        f"{P}_0_ar0",
    ),
    ("PCRS-GEOM-003", polygon(f"{P}_0_af_en", _lr(BOWTIE)), f"{P}_0_af_en"),
    ("PCRS-GEOM-004", polygon(f"{P}_0_af_en", _lr(OPEN)), f"{P}_0_af_en"),
    ("PCRS-GEOM-005", polygon(f"{P}_0_af_en", _lr(SQUARE) + _lr(HOLE, "interior")), f"{P}_0_af_en"),
    ("PCRS-GEOM-006", sub(r"(<gml:posList>)(\S+ \S+ \S+ )", r"\1\2\2", f"{P}_0_fa"), f"{P}_0_fa"),
    (
        "PCRS-GEOM-007",
        sub(
            r"(<gml:Arc><gml:posList>)(\S+ \S+ \S+ )", r"\1\2 1848003.1 5180007.9 150 ", f"{P}_0_lv"
        ),
        f"{P}_0_lv",
    ),
    ("PCRS-GEOM-008", whole("LineStringSegment>", "CubicSpline>", 2), f"{P}_0_lv"),
    (
        "PCRS-GEOM-009",
        sub(r"<gml:pos>[^<]+</gml:pos>", "<gml:pos>a b c</gml:pos>", f"{P}_0_ar0"),
        f"{P}_0_ar0",
    ),
    (
        "PCRS-GEOM-010",
        sub(
            r"<gml:Arc><gml:posList>[^<]+</gml:posList>",
            "<gml:Arc><gml:posList>1848002 5180010 150 1848006 5180006.25 150 1848010 5180002.5 150</gml:posList>",
            f"{P}_0_lv",
        ),
        f"{P}_0_lv",
    ),
    (
        "PCRS-GEOM-011",
        sub(r"(<gml:LineStringSegment><gml:posList>)\S+", r"\g<1>1848011.5", f"{P}_0_lv"),
        f"{P}_0_lv",
    ),
    (
        "PCRS-GEOM-012",
        sub(
            r'srsDimension="3"><gml:pos>(\S+) (\S+) \S+</gml:pos>',
            r'srsDimension="2"><gml:pos>\1 \2</gml:pos>',
            f"{P}_0_ar0",
        ),
        f"{P}_0_ar0",
    ),
    (
        "PCRS-GEOM-013",
        feat(
            f"{P}_0_hl",
            "</gml:curveMember>",
            '</gml:curveMember><gml:curveMember><gml:LineString gml:id="x2"><gml:posList srsDimension="2">1848002 5180003 1848050 5180003</gml:posList></gml:LineString></gml:curveMember>',
        ),
        f"{P}_0_hl",
    ),
    (
        "PCRS-GEOM-014",
        feat(f"{P}_0_lv", "<precisionAltimetrique>005</precisionAltimetrique>", ""),
        f"{P}_0_lv",
    ),
    (
        "PCRS-GEOM-015",
        sub(r"(<gml:pos>\S+ \S+) \S+</gml:pos>", r"\1 9999</gml:pos>", f"{P}_0_ar0"),
        f"{P}_0_ar0",
    ),
    (
        "PCRS-GEOM-016",
        sub(
            r"(<gml:posList>)(\S+) (\S+) (\S+) ",
            lambda m: f"{m.group(0)}{float(m.group(2)) + 0.0004:.4f} {m.group(3)} {m.group(4)} ",
            f"{P}_0_fa",
        ),
        f"{P}_0_fa",
    ),
    ("PCRS-CRS-001", whole(' srsName="EPSG:3946"', ""), f"{P}_0_lv"),
    ("PCRS-CRS-002", whole('srsName="EPSG:3946"', 'srsName="EPSG:32631"'), f"{P}_0_lv"),
    (
        "PCRS-CRS-003",
        feat(f"{P}_1_ar1", 'srsName="EPSG:3946"', 'srsName="EPSG:3947"'),
        f"{P}_1_ar1",
    ),
    ("PCRS-CRS-004", swap_xy(f"{P}_1_ar1"), f"{P}_1_ar1"),
    (
        "PCRS-CRS-005",
        feat(f"{P}_1_ar1", 'srsName="EPSG:3946"', 'srsName="EPSG:999999"'),
        f"{P}_1_ar1",
    ),
    ("PCRS-CRS-006", feat(f"{P}_0_hl", ' srsDimension="3"', ""), f"{P}_0_hl"),
    ("PCRS-CRS-007", feat(f"{P}_1_ar1", ' srsName="EPSG:3946"', ""), f"{P}_1_ar1"),
    (
        "PCRS-EMP-001",
        sub(
            r"(?s)<featureMember><EmpriseEchangePCRS.*?</EmpriseEchangePCRS></featureMember>",
            "",
            None,
        ),
        None,
    ),
    (
        "PCRS-EMP-002",
        sub(
            r"(?s)(<featureMember><EmpriseEchangePCRS.*?</EmpriseEchangePCRS></featureMember>)",
            lambda m: m.group(1) + m.group(1).replace(f"{P}_emprise", f"{P}_emprise2"),
            None,
        ),
        f"{P}_emprise2",
    ),
    ("PCRS-EMP-003", shift_x(f"{P}_1_ar1", 5000.0), f"{P}_1_ar1"),
    ("PCRS-EMP-004", whole(f'<objet xlink:href="#{P}_1_ar1"/>', ""), f"{P}_1_ar1"),
    (
        "PCRS-DATE-001",
        feat(f"{P}_1_se", "<dateLeve>2024-03-12", "<dateLeve>2024-12-01"),
        f"{P}_1_se",
    ),
    (
        "PCRS-DATE-002",
        feat(f"{P}_1_se", "<dateLeve>2024-03-12", "<dateLeve>1850-03-12"),
        f"{P}_1_se",
    ),
    (
        "PCRS-PREC-001",
        feat(f"{P}_1_se", "<precisionPlanimetrique>005", "<precisionPlanimetrique>040"),
        f"{P}_1_se",
    ),
    ("PCRS-FILE-002", whole('version="2.0"', 'version="1.0"', 1), f"{P}_root"),
    ("PCRS-FILE-003", whole('version="2.0"', 'version=""', 1), f"{P}_root"),
    (
        "PCRS-FILE-006",
        lambda t: feat(f"{P}_0_nv", "<featureMember>", "<gml:featureMember>")(
            feat(f"{P}_0_nv", "</featureMember>", "</gml:featureMember>")(t)
        ),
        None,
    ),
    ("PCRS-XML-004", whole("?>\n", "?>\n<!DOCTYPE PlanCorpsRueSimplifie>\n", 1), f"{P}_root"),
    ("PCRS-XML-002", lambda t: t[: len(t) // 2], None),
]


def _write(tmp_path: Path, text: str, name: str = "livraison.gml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_base_delivery_is_clean(base, tmp_path):
    report = validate(_write(tmp_path, base), schemas=False)
    assert [f.rule for f in report.findings] == ["PCRS-XSD-002"]
    assert not report.has_errors


@pytest.mark.parametrize(
    ("rule", "mutate", "gid"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_rule_fires_on_the_right_feature(rule, mutate, gid, base, tmp_path):
    text = mutate(base)
    assert text != base
    report = validate(_write(tmp_path, text), schemas=False)
    hits = [f for f in report.findings if f.rule == rule]
    assert hits, f"{rule} not found; got {sorted({f.rule for f in report.findings})}"
    if gid is not None:
        assert gid in {f.gml_id for f in hits} | {f.id_objet for f in hits}, [
            (f.gml_id, f.line) for f in hits
        ]
    for f in hits:
        assert f.message("en") and f.message("fr") and f.message("en") != f.message("fr")
    assert report.has_errors == any(f.severity == "error" for f in report.findings)


def test_every_rule_has_a_case_or_a_dedicated_test():
    covered = {c[0] for c in CASES}
    # tested in test_vector_security.py / test_vector_cli.py / test_vector_shared.py
    covered |= {"PCRS-XML-001", "PCRS-XML-003", "PCRS-FILE-001", "PCRS-FILE-005", "PCRS-XSD-001",
                "PCRS-XSD-002"}  # fmt: skip
    # the LiDAR cross-check's rules: tests/test_lidar_check.py (it checks it covers them all)
    covered |= {r for r in RULES if r.startswith("PCRS-LIDAR-")}
    # the LiDAR conformity check's rules (pcrs check-lidar): tests/test_lidarcheck.py
    covered |= {r for r in RULES if r.startswith("LIDAR-")}
    assert set(RULES) <= covered, set(RULES) - covered


def test_file_name_with_space_is_flagged(base, tmp_path):
    report = validate(_write(tmp_path, base, "ma livraison.gml"), schemas=False)
    assert any(f.rule == "PCRS-FILE-005" for f in report.findings)
    assert not report.has_errors


def test_precision_threshold_is_configurable(base, tmp_path):
    text = feat(f"{P}_1_se", "<precisionPlanimetrique>005", "<precisionPlanimetrique>040")(base)
    p = _write(tmp_path, text)
    assert any(f.rule == "PCRS-PREC-001" for f in validate(p, schemas=False).findings)
    quiet = validate(p, schemas=False, options=Options(precision_threshold_cm=None))
    assert not any(f.rule == "PCRS-PREC-001" for f in quiet.findings)
    loose = validate(p, schemas=False, options=Options(precision_threshold_cm=50))
    assert not any(f.rule == "PCRS-PREC-001" for f in loose.findings)


def test_findings_carry_coordinates_of_the_defect(base, tmp_path):
    text = shift_x(f"{P}_1_ar1", 5000.0)(base)
    report = validate(_write(tmp_path, text), schemas=False)
    (hit,) = [f for f in report.findings if f.rule == "PCRS-EMP-003"]
    x, y, _ = _geom_pos(text, f"{P}_1_ar1")
    assert hit.x == pytest.approx(x) and hit.y == pytest.approx(y)
    assert hit.line == text.splitlines().index(_line_of(text, f"{P}_1_ar1")) + 1


def test_ids_unique_across_the_files_of_a_delivery(base, tmp_path):
    a = tmp_path / "a"
    b = tmp_path / "b"
    a.mkdir()
    b.mkdir()
    pa = _write(a, base)
    pb = _write(b, base.replace(f'gml:id="{P}_root"', 'gml:id="other_root"'))
    report = validate([pa, pb], schemas=False)
    dup = [f for f in report.findings if f.rule == "PCRS-ID-004"]
    assert dup and all(f.file == str(pb) for f in dup)
    assert "a/livraison.gml" not in dup[0].message() or True


def test_links_resolve_across_files(base, tmp_path):
    # a link to a feature of the other file is not "not found"
    text = feat(
        f"{P}_0_af",
        f'representation xlink:href="#{P}_0_af_rg"',
        'representation xlink:href="other.gml#X_rg"',
    )(base)
    other = '<?xml version="1.0"?><PlanCorpsRueSimplifie xmlns="http://cnig.gouv.fr/pcrs" xmlns:gml="http://www.opengis.net/gml/3.2" gml:id="o" version="2.0"><featureMember><AffleurantGeometriquePCRS gml:id="X_rg"/></featureMember></PlanCorpsRueSimplifie>'
    (tmp_path / "other.gml").write_text(other)
    report = validate([_write(tmp_path, text), tmp_path / "other.gml"], schemas=False)
    assert not any(f.rule == "PCRS-LINK-001" for f in report.findings)
    assert any(f.rule == "PCRS-LINK-004" for f in report.findings)


def test_dozen_defects_are_all_reported_with_place_and_fix(base, tmp_path):
    """A delivery with twelve different defects: each is named with its place and a fix."""
    picks = ["PCRS-CODE-001", "PCRS-THEME-001", "PCRS-ATTR-001", "PCRS-ATTR-003", "PCRS-ID-004",
             "PCRS-LINK-001", "PCRS-GEOM-003", "PCRS-GEOM-006", "PCRS-CRS-004", "PCRS-DATE-001",
             "PCRS-PREC-001", "PCRS-GEOM-008"]  # fmt: skip
    text = base
    for rule, mutate, _gid in CASES:
        if rule in picks:
            text = mutate(text)
            picks.remove(rule)
    assert not picks
    report = validate(_write(tmp_path, text), schemas=False, lang="fr")
    found = {f.rule for f in report.findings}
    for rule in ["PCRS-CODE-001", "PCRS-THEME-001", "PCRS-ATTR-001", "PCRS-ATTR-003", "PCRS-ID-004",
                 "PCRS-LINK-001", "PCRS-GEOM-003", "PCRS-GEOM-006", "PCRS-CRS-004", "PCRS-DATE-001",
                 "PCRS-PREC-001", "PCRS-GEOM-008"]:  # fmt: skip
        assert rule in found
    for f in report.findings:
        if f.rule.startswith(("PCRS-XSD", "PCRS-LINK-003")):
            continue
        assert f.line is not None or f.rule in ("PCRS-EMP-001",)
        assert " — " in f.message("fr")  # the message says what to do


def test_polygon_validity_same_in_batch_and_one_by_one(base, tmp_path):
    """Hole-free polygons are built in one shapely call per batch, holed ones one by one:
    both kinds of self-intersection are found, on their feature, at the crossing point."""
    text = polygon(f"{P}_0_af_en", _lr(BOWTIE))(base)
    text = polygon(f"{P}_1_af_en", _lr(BOWTIE) + _lr(HOLE, "interior"))(text)
    report = validate(_write(tmp_path, text), schemas=False)
    found = {f.gml_id: f for f in report.findings if f.rule == "PCRS-GEOM-003"}
    assert set(found) == {f"{P}_0_af_en", f"{P}_1_af_en"}
    batched = found[f"{P}_0_af_en"]
    assert (batched.x, batched.y) == pytest.approx((X0 + 0.5, Y0 + 0.5))
    assert "Self-intersection" in batched.params["detail"]
