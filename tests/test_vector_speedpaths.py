"""The validator's fast paths give exactly what the general code gives.

- clean geometries are read by ``pcrs.vector._geom_spec`` run as plain Python
  (``gml._read_clean``): same vertices, bounds, verdicts as the general reader, and every
  defect still goes to the general reader;
- a class with the same property tags in the same order reuses one structural verdict
  (``engine._PLANS``): a later feature with the same tags still gets its values checked;
- the schema step may run in a forked second process: same findings as in one process.
"""

from __future__ import annotations

import math
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from lxml import etree

from pcrs.vector import validate
from pcrs.vector.gml import (
    GML_NS,
    _read_clean,
    _read_geometry_general,
    parser_options,
    read_geometry,
)
from pcrs.vector.sample import delivery_text

G = "{" + GML_NS + "}"
NS = 'xmlns:gml="http://www.opengis.net/gml/3.2"'


def _same_spec(a, b) -> None:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a = np.asarray(a, dtype=float)
        b = np.asarray(b, dtype=float)
        assert a.shape == b.shape
        # the same float64 operations in the same order: equal to the last bit here (1e-9 m
        # would allow a platform whose numpy trigonometry differs from libm by one ulp)
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-9)
        return
    if isinstance(a, (tuple, list)):
        assert type(a) is type(b) and len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same_spec(x, y)
        return
    assert a == b


def _same(fast, slow) -> None:
    for name in ("kind", "srs", "line", "dims", "problems", "holes", "dim_assumed", "zrange"):
        assert getattr(fast, name) == getattr(slow, name), name
    assert fast.first == slow.first
    assert (fast.bounds is None) == (slow.bounds is None)
    if fast.bounds is not None:
        np.testing.assert_allclose(fast.bounds, slow.bounds, rtol=0, atol=1e-9)
    _same_spec(fast.spec, slow.spec)


def _geometries(root):
    """Top geometry elements: GML children of feature properties."""
    for el in root.iter():
        if isinstance(el.tag, str) and el.tag.startswith(G):
            parent = el.getparent()
            if parent is not None and not parent.tag.startswith(G):
                yield el


def _check_tree(root) -> tuple[int, int]:
    fast = total = 0
    for el in _geometries(root):
        total += 1
        if _read_clean(el, None, 0.005) is not None:
            fast += 1
        _same(read_geometry(el), _read_geometry_general(el, None, 0.005))
    return fast, total


def _parse(text: str):
    return etree.fromstring(text.encode("utf-8"), etree.XMLParser(**parser_options()))


def test_fast_geometries_match_the_general_reader_on_a_sample():
    fast, total = _check_tree(_parse(delivery_text(3, seed=5)))
    assert total > 30 and fast >= total // 3  # the fast path is really exercised


CURVE = (
    '<gml:Curve {ns} gml:id="c" srsName="EPSG:3946" srsDimension="{d}"><gml:segments>'
    "<gml:{kind}><gml:posList>{a}</gml:posList></gml:{kind}>"
    "<gml:LineStringSegment><gml:posList>{b}</gml:posList></gml:LineStringSegment>"
    "</gml:segments></gml:Curve>"
)
DEFECTS = [
    # (arc kind, arc posList, following straight run): clean ones and every defect the
    # general reader reports
    ("Arc", "0 0 1 1 2 0", "2 0 5 0"),
    ("Arc", "0 0 1 1 2 0", "2 0 2 0 5 0"),  # zero-length segment
    ("Arc", "0 0 1 1 2 0", "2 0 2.0004 0 5 0"),  # short segment
    ("Arc", "0 0 1 0 2 0", "2 0 5 0"),  # aligned arc points (read straight by both)
    ("ArcString", "0 0 1 1 2 0 3 0 4 0", "4 0 5 0"),  # its second arc aligned
    ("ArcString", "0 0 1 0 2 0 3 0 4 0", "4 0 5 0"),  # both aligned
    ("Arc", "0 0 1 0.00001 2 0", "2 0 5 0"),  # nearly aligned: below 0.1 mm of sagitta
    ("Arc", "0 0 1 0 1 0", "1 0 5 0"),  # aligned, its last two points equal
    ("Arc", "0 0 1 1 2 0 3 1 4 0", "4 0 5 0"),  # Arc with 5 points
    ("ArcString", "0 0 1 1 2 0 3 1", "3 1 5 0"),  # even number of points
    ("ArcString", "0 0 1 1 2 0 3 -1 4 0", "4 0 5 0"),
    ("Arc", "0 0 1 1 2 0", "2.5 0 5 0"),  # gap between segments
    ("Arc", "0 0 1 1 2 0", "2 0 nan 0"),  # not a number
    ("Arc", "0 0 1 1 2 0", "2 0 inf 0"),
    ("Arc", "0 0 1 1 2 0", "2 0 5"),  # odd count
    ("Arc", "0 0 1 1 abc 0", "2 0 5 0"),
]


@pytest.mark.parametrize(("kind", "a", "b"), DEFECTS)
@pytest.mark.parametrize("dim", [2, 3])
def test_curve_defects_are_left_to_the_general_reader(kind, a, b, dim):
    if dim == 3:
        a = " ".join(f"{v} 7.5" for v in _pairs(a))
        b = " ".join(f"{v} 7.5" for v in _pairs(b))
    el = etree.fromstring(CURVE.format(ns=NS, d=dim, kind=kind, a=a, b=b))
    slow = _read_geometry_general(el, None, 0.005)
    _same(read_geometry(el), slow)
    if any(p[0] != "arc_collinear" for p in slow.problems):
        assert _read_clean(el, None, 0.005) is None
    elif slow.problems:
        # arcs through aligned points: read straight, and reported, by both readers
        clean = _read_clean(el, None, 0.005)
        assert clean is not None
        _same(clean, slow)


def _pairs(text: str) -> list[str]:
    v = text.split()
    return [f"{v[i]} {v[i + 1]}" for i in range(0, len(v) - 1, 2)] + ([v[-1]] if len(v) % 2 else [])


RING = "1 1 5 1 5 5 1 5 1 1"
VARIANTS = [
    f'<gml:Polygon {NS} gml:id="p" srsName="EPSG:3946" srsDimension="2"><gml:exterior>'
    f"<gml:LinearRing><gml:posList>{RING}</gml:posList></gml:LinearRing></gml:exterior>"
    "<gml:interior><gml:LinearRing><gml:posList>2 2 3 2 3 3 2 2</gml:posList></gml:LinearRing>"
    "</gml:interior></gml:Polygon>",
    # open ring, too few points, no gml:id, no srsDimension, srsDimension on the posList
    f'<gml:Polygon {NS} gml:id="p" srsName="EPSG:3946" srsDimension="2"><gml:exterior>'
    "<gml:LinearRing><gml:posList>1 1 5 1 5 5 1 5 1 2</gml:posList></gml:LinearRing>"
    "</gml:exterior></gml:Polygon>",
    f'<gml:Polygon {NS} gml:id="p" srsName="EPSG:3946" srsDimension="2"><gml:exterior>'
    "<gml:LinearRing><gml:posList>1 1 5 1 1 1</gml:posList></gml:LinearRing>"
    "</gml:exterior></gml:Polygon>",
    f'<gml:Polygon {NS} srsName="EPSG:3946" srsDimension="2"><gml:exterior>'
    f"<gml:LinearRing><gml:posList>{RING}</gml:posList></gml:LinearRing></gml:exterior>"
    "</gml:Polygon>",
    f'<gml:Polygon {NS} gml:id="p" srsName="EPSG:3946"><gml:exterior>'
    f"<gml:LinearRing><gml:posList>{RING}</gml:posList></gml:LinearRing></gml:exterior>"
    "</gml:Polygon>",
    f'<gml:Polygon {NS} gml:id="p" srsName="EPSG:3946" srsDimension="3"><gml:exterior>'
    f'<gml:LinearRing><gml:posList srsDimension="2">{RING}</gml:posList></gml:LinearRing>'
    "</gml:exterior></gml:Polygon>",
    # a Ring of two curves, closed, then with a gap
    f'<gml:Polygon {NS} gml:id="p" srsName="EPSG:3946" srsDimension="2"><gml:exterior>'
    '<gml:Ring><gml:curveMember><gml:Curve gml:id="c1"><gml:segments><gml:ArcString>'
    "<gml:posList>0 0 1 -1 2 0</gml:posList></gml:ArcString></gml:segments></gml:Curve>"
    '</gml:curveMember><gml:curveMember><gml:LineString gml:id="l1">'
    "<gml:posList>2 0 2 3 0 3 0 0</gml:posList></gml:LineString></gml:curveMember>"
    "</gml:Ring></gml:exterior></gml:Polygon>",
    f'<gml:Polygon {NS} gml:id="p" srsName="EPSG:3946" srsDimension="2"><gml:exterior>'
    '<gml:Ring><gml:curveMember><gml:Curve gml:id="c1"><gml:segments><gml:ArcString>'
    "<gml:posList>0 0 1 -1 2 0</gml:posList></gml:ArcString></gml:segments></gml:Curve>"
    '</gml:curveMember><gml:curveMember><gml:LineString gml:id="l1">'
    "<gml:posList>2.1 0 2 3 0 3 0 0</gml:posList></gml:LineString></gml:curveMember>"
    "</gml:Ring></gml:exterior></gml:Polygon>",
    # a Ring whose arc is aligned (Lyon's deliveries hold many), without a gml:id
    f'<gml:Polygon {NS} srsName="EPSG:3946" srsDimension="3"><gml:exterior>'
    '<gml:Ring><gml:curveMember><gml:Curve gml:id="c1"><gml:segments><gml:Arc>'
    "<gml:posList>0 0 5 1 0 5 2 0 6</gml:posList></gml:Arc></gml:segments></gml:Curve>"
    '</gml:curveMember><gml:curveMember><gml:LineString gml:id="l1">'
    "<gml:posList>2 0 6 2 3 6 0 3 6 0 0 5</gml:posList></gml:LineString></gml:curveMember>"
    "</gml:Ring></gml:exterior></gml:Polygon>",
    # multicurves: clean, with a zero-length segment, with an inner srsDimension
    f'<gml:MultiCurve {NS} gml:id="m" srsName="EPSG:3946" srsDimension="2"><gml:curveMember>'
    '<gml:LineString gml:id="a"><gml:posList>0 0 1 1</gml:posList></gml:LineString>'
    '</gml:curveMember><gml:curveMember><gml:Curve gml:id="b"><gml:segments><gml:Arc>'
    "<gml:posList>0 0 1 1 2 0</gml:posList></gml:Arc></gml:segments></gml:Curve>"
    "</gml:curveMember></gml:MultiCurve>",
    f'<gml:MultiCurve {NS} gml:id="m" srsName="EPSG:3946" srsDimension="2"><gml:curveMember>'
    '<gml:LineString gml:id="a"><gml:posList>0 0 0 0 1 1</gml:posList></gml:LineString>'
    "</gml:curveMember></gml:MultiCurve>",
    f'<gml:MultiCurve {NS} gml:id="m" srsName="EPSG:3946" srsDimension="2"><gml:curveMember>'
    '<gml:LineString gml:id="a" srsDimension="3"><gml:posList>0 0 1 1 1 1</gml:posList>'
    "</gml:LineString></gml:curveMember></gml:MultiCurve>",
    # a long line (more than 16 vertices: numpy's zero-length check), clean and defective
    f'<gml:LineString {NS} gml:id="l" srsName="EPSG:3946" srsDimension="2"><gml:posList>'
    + " ".join(f"{i} {i % 3}" for i in range(40))
    + "</gml:posList></gml:LineString>",
    f'<gml:LineString {NS} gml:id="l" srsName="EPSG:3946" srsDimension="2"><gml:posList>'
    + " ".join(f"{i // 2} 0" for i in range(40))
    + "</gml:posList></gml:LineString>",
]


@pytest.mark.parametrize("xml", VARIANTS)
def test_polygon_multicurve_and_line_variants_match(xml):
    el = etree.fromstring(xml)
    _same(read_geometry(el), _read_geometry_general(el, None, 0.005))


@pytest.mark.parametrize("dim", [2, 3])
def test_random_arcs_match_the_general_reader(dim):
    rng = np.random.default_rng(7 + dim)
    fast = 0
    for _ in range(300):
        cx, cy = rng.uniform(1.8e6, 1.9e6), rng.uniform(5.1e6, 5.2e6)
        r = 10 ** rng.uniform(-1.5, 2.7)
        ang = np.sort(rng.uniform(-3, 3, 3))
        if rng.random() < 0.5:
            ang = ang[::-1]
        z = rng.uniform(100, 200, 3) if rng.random() < 0.5 else np.full(3, 150.0)
        pts = [
            (cx + r * math.cos(t), cy + r * math.sin(t), zz) for t, zz in zip(ang, z, strict=True)
        ]
        a = " ".join(f"{x:.3f} {y:.3f} {zz:.3f}" for x, y, zz in pts)
        b = f"{pts[2][0]:.3f} {pts[2][1]:.3f} {pts[2][2]:.3f} {cx:.3f} {cy:.3f} 150"
        if dim == 2:
            a = " ".join(f"{x:.3f} {y:.3f}" for x, y, _z in pts)
            b = f"{pts[2][0]:.3f} {pts[2][1]:.3f} {cx:.3f} {cy:.3f}"
        el = etree.fromstring(CURVE.format(ns=NS, d=dim, kind="Arc", a=a, b=b))
        slow = _read_geometry_general(el, None, 0.005)
        _same(read_geometry(el), slow)
        if _read_clean(el, None, 0.005) is not None:
            fast += 1
    assert fast > 200  # most random arcs are clean: the fast path was compared


def test_fast_geometries_match_on_the_real_files(pcrs_dir):
    fast = total = 0
    for path in sorted(pcrs_dir.rglob("*.gml")):
        root = etree.parse(str(path), etree.XMLParser(**parser_options())).getroot()
        f, t = _check_tree(root)
        fast += f
        total += t
    assert total > 100 and fast > 0


# --- structural verdicts shared by features with the same tags ---------------------------


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "livraison.gml"
    p.write_text(text, encoding="utf-8")
    return p


def _wall_of(text: str, k: int) -> tuple[int, int]:
    """Span of the k-th MurPCRS feature in the text."""
    starts = [m.start() for m in re.finditer(r"<MurPCRS ", text)]
    s = starts[k]
    return s, text.index("</MurPCRS>", s)


@pytest.mark.parametrize(
    ("old", "new", "rule"),
    [
        ("<typeMur>01</typeMur>", "<typeMur>77</typeMur>", "PCRS-CODE-001"),
        ("<thematique>05</thematique>", "<thematique>03</thematique>", "PCRS-THEME-001"),
        ("<dateLeve>2024-03-12</dateLeve>", "<dateLeve>12/03/2024</dateLeve>", "PCRS-ATTR-006"),
        ("<producteur>Géomètre Exemple</producteur>", "<producteur></producteur>", None),
        ("<typeMur>01</typeMur>", "<typeMur>01</typeMur><typeMur>01</typeMur>", "PCRS-ATTR-005"),
        ("<typeMur>01</typeMur>", "<hauteur>2</hauteur><typeMur>01</typeMur>", "PCRS-ATTR-004"),
    ],
)
def test_a_later_feature_with_the_same_class_is_still_checked(tmp_path, old, new, rule):
    base = delivery_text(3, seed=1)
    assert base.count("<MurPCRS ") == 3
    s, e = _wall_of(base, 2)  # the third wall: the first two made the class's verdict
    assert old in base[s:e]
    text = base[:s] + base[s:e].replace(old, new, 1) + base[e:]
    gid = re.search(r'gml:id="([^"]+)"', base[s:e]).group(1)
    report = validate(_write(tmp_path, text), schemas=False)
    hits = [f for f in report.findings if f.gml_id == gid and f.rule != "PCRS-XSD-002"]
    if rule is None:
        # an empty producteur is allowed by the XSD; whatever the general code says, the
        # shortcut says the same as for the same defect on the first wall
        s0, e0 = _wall_of(base, 0)
        text0 = base[:s0] + base[s0:e0].replace(old, new, 1) + base[e0:]
        gid0 = re.search(r'gml:id="([^"]+)"', base[s0:e0]).group(1)
        first = [
            f.rule for f in validate(_write(tmp_path, text0), schemas=False).findings
            if f.gml_id == gid0
        ]  # fmt: skip
        assert sorted(f.rule for f in hits) == sorted(first)
    else:
        assert rule in {f.rule for f in hits}, [f.rule for f in hits]


# --- the schema step in a second process --------------------------------------------------


@pytest.fixture(scope="module")
def schemas_dir() -> Path:
    from pcrs.testing import shared_data_dir

    path = Path(shared_data_dir()) / "pcrs" / "schemas"
    if not (path / "catalog.xml").is_file():
        pytest.skip(f"PCRS schemas not found at {path}")
    return path


def _findings(report) -> list:
    d = report.to_dict()
    return d["findings"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the second process needs fork")
@pytest.mark.parametrize("defect", ["xsd", "truncated", "clean"])
def test_schema_in_a_second_process_gives_the_same_findings(tmp_path, schemas_dir, defect):
    text = delivery_text(2, seed=3)
    if defect == "xsd":
        text = text.replace("<typeMur>01</typeMur>", "<typeMur>01</typeMur><bogus>1</bogus>", 1)
        text = re.sub(r"<gml:pos>[^<]+</gml:pos>", "<gml:pos>abc def</gml:pos>", text, count=1)
    elif defect == "truncated":
        text = text[: len(text) * 2 // 3]
    path = _write(tmp_path, text)
    one = validate(path, schemas=schemas_dir, schema_process=False)
    two = validate(path, schemas=schemas_dir, schema_process=True)
    assert _findings(one) == _findings(two)
    rules = {f.rule for f in one.findings}
    if defect == "xsd":
        assert "PCRS-XSD-001" in rules
    elif defect == "truncated":
        assert "PCRS-XML-002" in rules
    else:
        assert not one.has_errors


def _in_daemon(path, schemas, queue) -> None:
    report = validate(path, schemas=schemas, schema_process=True)
    queue.put(_findings(report))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the second process needs fork")
def test_schema_process_falls_back_inside_a_daemonic_process(tmp_path, schemas_dir):
    """A daemonic process (a worker of a pool) may not have children: the schema step then
    stays in that process, with the same findings."""
    import multiprocessing

    text = delivery_text(2, seed=3).replace("<typeMur>01</typeMur>", "<typeMur>9</typeMur>", 1)
    path = _write(tmp_path, text)
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_in_daemon, args=(path, schemas_dir, queue), daemon=True)
    proc.start()
    got = queue.get(timeout=60)
    proc.join(timeout=60)
    assert got == _findings(validate(path, schemas=schemas_dir, schema_process=False))
    assert any(f["rule"] == "PCRS-CODE-001" for f in got)
