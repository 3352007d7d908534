"""The compiled GML reader (pcrs.vector.fastread) against the lxml reader (GmlReader).

For a well-formed file both must hand out the same sequence of Member / EmpriseLink
objects, field by field (geometries to the byte). The one accepted difference: on lines
65,535 and after, libxml2 takes the line of an element without text of its own from a
neighbouring node (one line too high, or further off); the fast reader gives the true
line, checked here by counting the newlines in the bytes.
"""

from __future__ import annotations

import importlib.util
import re
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from lxml import etree

import pcrs.vector.fastread as fastread
from pcrs.errors import ParameterError
from pcrs.vector import validate
from pcrs.vector.fastread import FastReadUnavailable, have_fast_reader, read_members
from pcrs.vector.gml import ARC_TOLERANCE, EmpriseLink, EmpriseLinks, GmlReader, Member
from pcrs.vector.sample import delivery_text

# (the kernels import numba: only where it works, so that without it the tests are skipped,
# each with the reason, instead of stopping the run at collection)
if have_fast_reader():
    from pcrs.vector import _scan_kernels as kernels
else:  # pragma: no cover - numba missing or broken
    kernels = None

pytestmark = pytest.mark.skipif(
    not have_fast_reader(),
    reason="numba is missing or does not import here: there is no compiled GML reader "
    "(tests/test_vector_geometry_path.py tests the reading without it)",
)

NS = (
    'xmlns="http://cnig.gouv.fr/pcrs" xmlns:gml="http://www.opengis.net/gml/3.2" '
    'xmlns:xlink="http://www.w3.org/1999/xlink"'
)
HEAD = f'<?xml version="1.0" encoding="UTF-8"?>\n<PlanCorpsRueSimplifie {NS} gml:id="r" version="2.0">\n'
TAIL = "</PlanCorpsRueSimplifie>\n"


@pytest.fixture(scope="module")
def base() -> str:
    """A small synthetic delivery: 14 members and an emprise, one member per line."""
    return delivery_text(1, seed=3)


# --- comparison -----------------------------------------------------------------------


def _norm(v):
    """A comparable, exact form of a value: arrays by dtype, shape and bytes, floats by hex."""
    if isinstance(v, np.ndarray):
        return ("array", v.dtype.str, v.shape, v.tobytes())
    if isinstance(v, (float, np.floating)):
        return ("float", float(v).hex())
    if isinstance(v, (list, tuple)):
        return tuple(_norm(x) for x in v)
    if isinstance(v, (set, frozenset)):
        return ("set", tuple(sorted(v)))
    return v


def _same_line(n: int) -> int:
    return n


def _geometry_key(g, line):
    if g is None:
        return None
    return (
        _norm(g.spec), g.kind, g.srs, line(g.line), _norm(g.dims), _norm(g.problems), g.holes,
        g.dim_assumed, _norm(g.bounds), _norm(g.first), _norm(g.zrange),
    )  # fmt: skip


def _properties(f) -> list:
    """The feature's properties (built from the compact form, for a reader that gives one)."""
    materialise = getattr(f, "materialise", None)
    return materialise() if materialise is not None else f.props


def _feature_key(f, index, line):
    props = tuple(
        (
            p.name,
            p.ns,
            line(p.line),
            p.text,
            p.href,
            p.children,
            None if p.inline is None else (p.inline.gml_id, index.get(id(p.inline), "outside")),
            _geometry_key(p.geometry, line),
        )
        for p in _properties(f)
    )
    parent = None if f.parent is None else (f.parent.gml_id, index.get(id(f.parent), "outside"))
    return (f.cls, f.ns, f.gml_id, line(f.line), line(f.member_line), f.parent_prop,
            f.prop_tags, parent, props)  # fmt: skip


def key(m, line=_same_line):
    """Everything the validator reads of a member or an emprise link."""
    if type(m) is EmpriseLink:
        return ("link", line(m.line), m.name, m.href, m.emprise_id, m.id_emprise)
    assert type(m) is Member, type(m)
    index = {id(f): i for i, f in enumerate(m.features)}
    feats = tuple(_feature_key(f, index, line) for f in m.features)
    return ("member", line(m.line), m.tag, m.href, m.n_children, m.element is None, feats)


def lines_in(m) -> list[int]:
    """Every line number a member or link holds."""
    seen: list[int] = []
    key(m, lambda n: seen.append(n) or n)
    return seen


def lxml_keys(path: Path, tolerance: float = ARC_TOLERANCE) -> list:
    reader = GmlReader(path, tolerance)
    out = [key(m) for m in reader.members()]
    assert reader.error is None, f"the test file is not well-formed: {reader.error}"
    return out


def flat(members):
    """The fast reader's stream with its batches of emprise links split one by one, as
    GmlReader hands them out."""
    for m in members:
        if type(m) is EmpriseLinks:
            assert len(m) > 0
            yield from m.split()
        else:
            yield m


def fast_keys(path: Path, tolerance: float = ARC_TOLERANCE) -> list:
    return [key(m) for m in flat(read_members(path, tolerance))]


def assert_same(a: list, b: list) -> None:
    """Equal sequences; on failure, say where they first differ."""
    if a == b:
        return
    n = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    shown = (str(a[n])[:2000], str(b[n])[:2000]) if n < min(len(a), len(b)) else ("(end)", "(end)")
    pytest.fail(
        f"{len(a)} items from lxml, {len(b)} from the fast reader; first difference at "
        f"item {n}:\n  lxml: {shown[0]}\n  fast: {shown[1]}"
    )


def compare(path: Path, tolerance: float = ARC_TOLERANCE) -> list:
    a = lxml_keys(path, tolerance)
    b = fast_keys(path, tolerance)
    assert a, "nothing read"
    assert_same(a, b)
    return a


def write(tmp_path: Path, text: str | bytes, name: str = "livraison.gml") -> Path:
    p = tmp_path / name
    if isinstance(text, str):
        text = text.encode("utf-8")
    p.write_bytes(text)
    return p


@pytest.fixture
def lxml_calls(monkeypatch):
    """The members the fast reader sent to lxml (their bytes), recorded."""
    calls: list[bytes] = []
    real = fastread._with_lxml

    def spy(member, first_line, wrapper, tolerance):
        calls.append(member)
        return real(member, first_line, wrapper, tolerance)

    monkeypatch.setattr(fastread, "_with_lxml", spy)
    return calls


@pytest.fixture
def scan_calls(monkeypatch):
    """(status, rows, rows capacity, window bytes) of every call of the compiled scanner."""
    calls: list[tuple] = []
    real = kernels.scan

    def spy(buf, pos, line, depth, out, *rest):
        res = real(buf, pos, line, depth, out, *rest)
        calls.append((int(res[0]), int(res[1]), out.shape[0], len(buf)))
        return res

    monkeypatch.setattr(kernels, "scan", spy)
    return calls


def _jit_disabled() -> bool:
    """Whether numba runs the kernels as plain Python (``NUMBA_DISABLE_JIT=1``)."""
    from numba.core import config

    return bool(config.DISABLE_JIT)


def true_lines(data: bytes, pattern: bytes) -> list[int]:
    """1 + the number of newlines before the '>' of each start tag matching ``pattern``."""
    nl = np.flatnonzero(np.frombuffer(data, np.uint8) == 10)
    gts = [data.index(b">", m.start()) for m in re.finditer(pattern, data)]
    return (np.searchsorted(nl, gts) + 1).tolist()


# --- 1. synthetic and real deliveries ---------------------------------------------------


@pytest.mark.parametrize(("blocks", "seed"), [(2, 1), (3, 7)])
def test_synthetic_delivery(blocks, seed, tmp_path, lxml_calls):
    text = delivery_text(blocks, seed=seed)
    keys = compare(write(tmp_path, text))
    assert sum(k[0] == "link" for k in keys) == text.count("<objet ") + text.count("<habillage ")
    assert not lxml_calls  # every member read by the compiled path


def test_arc_tolerance_is_passed_on(tmp_path):
    path = write(tmp_path, delivery_text(1, seed=2))
    fine = compare(path, tolerance=0.0005)
    assert fine != lxml_keys(path)  # (finer arcs: more vertices, so the test can tell)


def test_real_deliveries(pcrs_dir):
    files = sorted(pcrs_dir.glob("cnig/examples/lyon/*.gml"))
    files += [pcrs_dir / "cnig" / "jeux-test" / "PCRS-info.gml",
              pcrs_dir / "beta2" / "PCRSv2-beta2.gml"]  # fmt: skip
    files += sorted((pcrs_dir / "debug-gml").glob("*.gml"))
    files += sorted((pcrs_dir / "ign-validator").glob("*.gml"))
    files = [f for f in files if f.is_file()]
    if len(files) < 6:
        pytest.skip(f"the real PCRS deliveries are not all under {pcrs_dir}")
    for f in files:
        try:
            compare(f)
        except AssertionError as exc:
            raise AssertionError(f"{f.name}: {exc}") from None


# --- 2. constructs the fast reader sends to lxml ----------------------------------------


def _first(old: str, new: str):
    def apply(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, 1)

    return apply


def _last(old: str, new: str):
    def apply(text: str) -> str:
        i = text.rindex(old)
        return text[:i] + new + text[i + len(old) :]

    return apply


def _member_of(gid: str, old: str, new: str):
    """Replace ``old`` by ``new`` in the line of the feature ``gid``."""

    def apply(text: str) -> str:
        lines = text.split("\n")
        (i,) = [
            k for k, ln in enumerate(lines) if f'gml:id="{gid}"' in ln and "featureMember" in ln
        ]
        assert old in lines[i], (gid, old)
        lines[i] = lines[i].replace(old, new, 1)
        return "\n".join(lines)

    return apply


def _rename_member(gid: str, tag: str):
    """The member of ``gid`` written ``<tag>...</tag>``."""

    def apply(text: str) -> str:
        text = _member_of(gid, "<featureMember>", f"<{tag}>")(text)
        return _member_of(gid, "</featureMember>", f"</{tag}>")(text)

    return apply


def _move_id_emprise(text: str) -> str:
    m = re.search(r"<idEmprise>[^<]*</idEmprise>\n", text)
    text = text[: m.start()] + text[m.end() :]
    return _last("</EmpriseEchangePCRS>", m.group(0) + "</EmpriseEchangePCRS>")(text)


def _prefix_pcrs(text: str) -> str:
    """No default namespace: every PCRS element written ``pcrs:Name``."""
    text = re.sub(r"<(/?)(?![\w.-]+:)([A-Za-z_][\w.-]*)", r"<\1pcrs:\2", text)
    return text.replace('xmlns="http://cnig.gouv.fr/pcrs"', 'xmlns:pcrs="http://cnig.gouv.fr/pcrs"')


def _gml_as_g(text: str) -> str:
    text = text.replace("xmlns:gml=", "xmlns:g=")
    return re.sub(r"(?<=[<\s/])gml:", "g:", text)


def _inline_feature(text: str) -> str:
    m = re.search(r'<representation xlink:href="#([^"]+)"/>', text)
    gid = m.group(1)
    inline = (
        f'<representation><AffleurantGeometriquePCRS gml:id="{gid}">'
        f'<enveloppe xlink:href="#other"/></AffleurantGeometriquePCRS></representation>'
    )
    return text.replace(m.group(0), inline, 1)


P = "FR_0003_0"
# (id, mutation of the base delivery, whether a member must be sent to lxml: True, False,
# or None when the reader may read it either way)
CONSTRUCTS = [
    ("comment-in-feature", _first("<idObjet>", "<!-- a comment --><idObjet>"), True),
    ("comment-in-geometry", _first("<gml:posList>", "<!--c--><gml:posList>"), True),
    ("comment-between-members",
     _first("</featureMember>\n", "</featureMember>\n<!-- between\n members -->\n"), None),
    ("pi-in-feature", _first("<idObjet>", "<?pcrs note?><idObjet>"), True),
    ("cdata-in-text", _member_of(f"{P}_ar0", "<reference>Platanus</reference>",
                                 "<reference><![CDATA[Platanus <x> & y]]></reference>"), True),
    ("entities-in-text", _member_of(f"{P}_ar0", "<reference>Platanus</reference>",
                                    "<reference>Platanus &amp; Tilia &#233;t&lt;</reference>"), True),
    ("char-ref-in-poslist", _first("<gml:pos>", "<gml:pos>&#32;"), True),
    ("entity-in-attribute", _member_of(f"{P}_af", 'xlink:href="#', 'xlink:href="&#35;'), True),
    ("amp-in-gml-id", _member_of(f"{P}_mu", f'gml:id="{P}_mu"', f'gml:id="{P}_mu&amp;x"'), True),
    ("tab-in-attribute", _member_of(f"{P}_fa", 'srsName="EPSG:3946"',
                                    'srsName="EPSG:\t3946"'), True),
    ("newline-in-attribute", _member_of(f"{P}_fa", 'srsName="EPSG:3946"',
                                        'srsName="EPSG:\n3946"'), True),
    # namespace declarations below the root: read here when no name changes meaning (as
    # real deliveries repeat them on every member), by lxml otherwise
    ("xmlns-on-feature", _first("<FacadePCRS ", '<FacadePCRS xmlns:foo="urn:foo" '), False),
    ("default-xmlns-on-feature",
     _first("<FacadePCRS ", '<FacadePCRS xmlns="http://cnig.gouv.fr/pcrs" '), False),
    ("other-default-xmlns-on-feature", _first("<FacadePCRS ", '<FacadePCRS xmlns="urn:other" '),
     True),
    ("xmlns-gml-on-geometry", _first("<gml:LineString ",
                                     '<gml:LineString xmlns:gml="http://www.opengis.net/gml/3.2" '),
     False),
    ("xmlns-gml-rebound-on-geometry", _first("<gml:LineString ",
                                             '<gml:LineString xmlns:gml="urn:not-gml" '), True),
    ("xmlns-xlink-rebound-on-property", _member_of(f"{P}_af", "<representation ",
                                                   '<representation xmlns:xlink="urn:x" '), True),
    ("new-prefix-used-by-a-property",
     _member_of(f"{P}_ar0", "<reference>Platanus</reference>",
                '<p:reference xmlns:p="http://cnig.gouv.fr/pcrs">Platanus</p:reference>'), True),
    ("lyon-style-declarations-on-every-member",
     lambda t: t.replace("<featureMember>", '<featureMember xmlns:xs="http://www.w3.org/2001/'
                         'XMLSchema" xmlns:pcrs=\'http://cnig.gouv.fr/pcrs\'>'), False),
    ("xmlns-in-a-value-hides-no-declaration",
     _first("<FacadePCRS ", """<FacadePCRS note='a xmlns:gml="' xmlns:gml="urn:bad" """),
     True),
    ("gml-prefix-g-on-root", _gml_as_g, None),
    ("no-default-namespace", _prefix_pcrs, None),
    ("gml-featureMember", _rename_member(f"{P}_mu", "gml:featureMember"), True),
    ("gml-featureMembers-two-features",
     lambda t: _member_of(f"{P}_mu", "</MurPCRS>", f'</MurPCRS><ArbrePCRS gml:id="{P}_x">'
                          "<idObjet>x</idObjet></ArbrePCRS>")(
         _rename_member(f"{P}_mu", "gml:featureMembers")(t)), True),
    ("empty-featureMember", _first("</featureMember>\n", "</featureMember>\n<featureMember/>\n"),
     True),
    ("empty-featureMember-open-close",
     _first("</featureMember>\n", "</featureMember>\n<featureMember>\n </featureMember>\n"), True),
    ("featureMember-two-features",
     _member_of(f"{P}_mu", "</MurPCRS>",
                f'</MurPCRS><ArbrePCRS gml:id="{P}_x"><idObjet>x</idObjet></ArbrePCRS>'), True),
    ("featureMember-href", _first("<featureMember>", '<featureMember xlink:href="#x">'), None),
    ("inline-feature", _inline_feature, True),
    ("id-emprise-after-links", _move_id_emprise, None),
    ("two-id-emprise", _last("</EmpriseEchangePCRS>",
                             "<idEmprise>second</idEmprise></EmpriseEchangePCRS>"), None),
    ("link-with-text", _first('<objet xlink:href="#FR_0003_0_fa"/>',
                              '<objet xlink:href="#FR_0003_0_fa">t</objet>'), None),
    ("link-without-href", _first('<objet xlink:href="#FR_0003_0_fa"/>', "<objet/>"), None),
    ("link-with-child", _first('<objet xlink:href="#FR_0003_0_fa"/>',
                               '<objet xlink:href="#FR_0003_0_fa"><x/></objet>'), None),
    ("mixed-text-in-feature", _first("<idObjet>", "stray text <idObjet>"), True),
    ("mixed-text-in-property", _first("<geometrie><gml:Curve",
                                      "<geometrie>text first<gml:Curve"), None),
    ("mixed-tail-in-geometry", _first("</gml:Arc>", "</gml:Arc>tail"), True),
    ("mixed-text-around-child", _member_of(f"{P}_ar0", "<reference>Platanus</reference>",
                                           "<reference>Plat<i>an</i>us</reference>"), None),
    ("second-child-of-property", _member_of(f"{P}_ar0", "</gml:Point></geometrie>",
                                            "</gml:Point><gml:Point gml:id='q'><gml:pos>1 2"
                                            "</gml:pos></gml:Point></geometrie>"), None),
    ("prolog-comment-and-pi", _first("?>\n", "?>\n<!-- c -->\n<?pi x?>\n"), None),
    ("root-boundedBy", _first("\n<featureMember>", '\n<gml:boundedBy><gml:Envelope srsName="x">'
                              "<gml:lowerCorner>1 2</gml:lowerCorner><gml:upperCorner>3 4"
                              "</gml:upperCorner></gml:Envelope></gml:boundedBy>\n<featureMember>"),
     None),
    ("text-in-root", _first("</featureMember>\n", "</featureMember>\nstray\n"), None),
    ("emprise-in-gml-featureMember", lambda t: re.sub(
        r"<featureMember>(<EmpriseEchangePCRS.*?)</featureMember>",
        r"<gml:featureMember>\1</gml:featureMember>", t, flags=re.S), True),
    ("emprise-without-member", lambda t: re.sub(
        r"<featureMember>(<EmpriseEchangePCRS.*?)</featureMember>", r"\1", t, flags=re.S), True),
    ("gt-and-slash-in-attribute", _first('xlink:href="#FR_0003_0_fa"', 'xlink:href="#a>b/"'), None),
    ("gt-and-quotes-in-text", _member_of(f"{P}_ar0", "<reference>Platanus</reference>",
                                         "<reference>a > b \" ' </reference>"), None),
    ("link-open-close", _first('<objet xlink:href="#FR_0003_0_fa"/>',
                               '<objet xlink:href="#FR_0003_0_fa">\n </objet>'), None),
    ("link-more-attributes", _first('<objet xlink:href="#FR_0003_0_fa"/>',
                                    '<objet xlink:type="simple" xlink:href="#FR_0003_0_fa" '
                                    "xlink:title='t'/>"), None),
    ("empty-idEmprise", lambda t: re.sub(r"<idEmprise>[^<]*</idEmprise>", "<idEmprise/>", t), None),
    ("idEmprise-blanks-crlf", lambda t: re.sub(r"<idEmprise>([^<]*)</idEmprise>",
                                               "<idEmprise> \\1\r\n</idEmprise>", t), None),
    ("two-idEmprise-before-links", lambda t: re.sub(
        r"(<idEmprise>[^<]*</idEmprise>)", r"\1<idEmprise>second</idEmprise>", t), None),
    ("featureMember-in-feature", _member_of(f"{P}_mu", "<typeMur>01</typeMur>",
                                            "<featureMember><ArbrePCRS gml:id='z'/>"
                                            "</featureMember>"), None),
    ("xml-lang", _first("<reference>", '<reference xml:lang="fr">'), None),
    ("href-and-text", _member_of(f"{P}_af", "/><representation", ">t</symbolisation>"
                                 "<representation"), None),
    ("href-and-child", _member_of(f"{P}_af", "/><representation",
                                  '><gml:Point gml:id="w"><gml:pos>1 2</gml:pos></gml:Point>'
                                  "</symbolisation><representation"), None),
    ("member-attributes", _first("<featureMember>", '<featureMember xlink:href="#q" foo="1">'),
     None),
    ("no-gml-id", _first(f' gml:id="{P}_mu"', ""), None),
    ("featureMember-text-only", _first("</featureMember>\n",
                                       "</featureMember>\n<featureMember>t</featureMember>\n"),
     True),
    ("self-closing-feature", _first("</featureMember>\n", "</featureMember>\n<featureMember>"
                                    "<ArbrePCRS gml:id='e1'/></featureMember>\n"), None),
    ("non-ascii-names", _member_of(f"{P}_ar0", "<reference>Platanus</reference>",
                                   "<référence>é</référence>"), None),
    ("deep-nesting", _member_of(f"{P}_mu", "<typeMur>01</typeMur>",
                                "<typeMur>" + "<a>" * 240 + "x" + "</a>" * 240 + "</typeMur>"),
     None),
    ("blank-in-end-tags", lambda t: t.replace("</featureMember>", "</featureMember >", 3)
     .replace("</gml:pos>", "</gml:pos\n>"), None),
    ("gml-skipped-properties", _first("<dateLeve>", "<gml:boundedBy><gml:Envelope><gml:x/>"
                                      "</gml:Envelope></gml:boundedBy><gml:name>n</gml:name>"
                                      "<dateLeve>"), None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("mutate", "to_lxml"), [c[1:] for c in CONSTRUCTS], ids=[c[0] for c in CONSTRUCTS]
)
def test_constructs(mutate, to_lxml, base, tmp_path, lxml_calls):
    text = mutate(base)
    assert text != base
    compare(write(tmp_path, text))
    if to_lxml is not None:
        assert bool(lxml_calls) == to_lxml, f"{len(lxml_calls)} member(s) sent to lxml"
    if to_lxml:
        assert len(lxml_calls) == 1  # that member only


def test_id_emprise_after_thousands_of_links(tmp_path):
    """The links before the idEmprise have none, whatever libxml2 has parsed ahead (the
    readers once differed here: GmlReader used its look-ahead)."""
    links = "".join(f'<objet xlink:href="#o{i}"/>\n' for i in range(3000))
    text = (
        HEAD + '<featureMember><EmpriseEchangePCRS gml:id="e">\n' + links
        + "<idEmprise>E1</idEmprise></EmpriseEchangePCRS></featureMember>\n" + TAIL
    )  # fmt: skip
    path = write(tmp_path, text)
    keys = compare(path)
    assert {k[-1] for k in keys if k[0] == "link"} == {None}
    same_findings(path, schemas=False)


def test_encoding_declared_after_200_bytes(tmp_path):
    """An encoding declared far into the XML declaration is seen (the fast reader once
    looked at 200 bytes only, and read these Latin-1 bytes C3 A9 as UTF-8)."""
    text = delivery_text(1, seed=3).replace("Géomètre", "Geometre")
    text = text.replace('encoding="UTF-8"', " " * 200 + 'encoding="ISO-8859-1"')
    text = _member_of(f"{P}_mu", "<typeMur>01</typeMur>", "<typeMur>Ã©</typeMur>")(text)
    path = write(tmp_path, text.encode("latin-1"))
    with pytest.raises(FastReadUnavailable):
        list(read_members(path))
    fast, _slow = same_findings(path, schemas=False)
    assert any("Ã©" in f.message("en") for f in fast.findings)


# --- geometries: forms, number syntaxes, thresholds ---------------------------------------

SRS = 'srsName="EPSG:3946"'
X0, Y0 = 1848010.5, 5180006.25


def _geom(kind: str, body: str, attrs: str = f'gml:id="g" {SRS} srsDimension="3"') -> str:
    return f"<gml:{kind} {attrs}>{body}</gml:{kind}>"


def _pl(values: str, attrs: str = "") -> str:
    return f"<gml:posList{attrs}>{values}</gml:posList>"


def _xyz(*points) -> str:
    """posList text of points given as (dx, dy, z) from (X0, Y0); z may be a string."""
    return " ".join(f"{X0 + dx!r} {Y0 + dy!r} {z}" for dx, dy, z in points)


def _square(dx=0.0, side=1.0, z="150.0", close_dx=0.0, close_z=None) -> str:
    pts = [(dx, 0, z), (dx + side, 0, z), (dx + side, side, z), (dx, side, z)]
    return _xyz(*pts, (dx + close_dx, 0, z if close_z is None else close_z))


def _ring(values: str, tag: str = "exterior") -> str:
    return f"<gml:{tag}><gml:LinearRing>{_pl(values)}</gml:LinearRing></gml:{tag}>"


def _lss(values: str) -> str:
    return f"<gml:LineStringSegment>{_pl(values)}</gml:LineStringSegment>"


def _curve_of(*segments: str, attrs: str = 'gml:id="c"') -> str:
    return f"<gml:Curve {attrs}><gml:segments>{''.join(segments)}</gml:segments></gml:Curve>"


LINE = _xyz((0, 0, "150.0"), (10, 0, "150.0"), (10, 5, "150.5"))
# number syntaxes, each in the Z of a LineString's first vertex and of a Point
NUMBERS = ["150", "150.", ".5", "+150.25", "-1.5", "-0", "0", "1.5025e2", "1.5025E+02",
           "15025e-2", "150.123456789012", "150.1234567890123456", "000150.5",
           "150.500000000000000000", "1e22", "1e23", "1e-22", "1e-30", "nan", "INF", "-Infinity",
           "1_50", "\u0661\u0665\u0660", "0x96", "1e", "1.5.3", "--1", "1e400"]  # fmt: skip
# separators between the numbers
SEPARATORS = ["  ", "\t", "\n", "\r\n", "\u00a0", "\u2003", "\u0085"]

GEOMETRIES = [
    ("point-3d", _geom("Point", f"<gml:pos>{X0} {Y0} 150.0</gml:pos>")),
    ("point-2d", _geom("Point", f"<gml:pos>{X0} {Y0}</gml:pos>", f'gml:id="g" {SRS}')),
    ("point-4-numbers", _geom("Point", f"<gml:pos>{X0} {Y0} 150.0 1</gml:pos>")),
    ("point-pos-dimension", _geom("Point", f'<gml:pos srsDimension="3">{X0} {Y0} 1</gml:pos>')),
    ("point-no-id", _geom("Point", f"<gml:pos>{X0} {Y0} 1</gml:pos>", SRS)),
    ("point-no-srs", _geom("Point", f"<gml:pos>{X0} {Y0} 1</gml:pos>", 'gml:id="g"')),
    ("point-empty-srs", _geom("Point", f"<gml:pos>{X0} {Y0} 1</gml:pos>", 'gml:id="g" srsName=""')),
    ("point-two-pos", _geom("Point", f"<gml:pos>{X0} {Y0} 1</gml:pos><gml:pos>1 2 3</gml:pos>")),
    ("point-empty-pos", _geom("Point", "<gml:pos/>")),
    ("point-coordinates", _geom("Point", f"<gml:coordinates>{X0},{Y0},1</gml:coordinates>")),
    ("point-zero-z", _geom("Point", f"<gml:pos>{X0} {Y0} -0</gml:pos>")),
    ("linestring", _geom("LineString", _pl(LINE))),
    ("linestring-2d", _geom("LineString", _pl(f"{X0} {Y0} {X0 + 3} {Y0}"),
                            f'gml:id="g" {SRS} srsDimension="2"')),
    ("linestring-no-dimension", _geom("LineString", _pl(LINE), f'gml:id="g" {SRS}')),
    ("linestring-dimension-4", _geom("LineString", _pl(LINE), f'gml:id="g" {SRS} srsDimension="4"')),
    ("linestring-dimension-x", _geom("LineString", _pl(LINE), f'gml:id="g" {SRS} srsDimension="x"')),
    ("linestring-no-srs", _geom("LineString", _pl(LINE), 'gml:id="g" srsDimension="3"')),
    ("linestring-no-id", _geom("LineString", _pl(LINE), f'{SRS} srsDimension="3"')),
    ("poslist-own-dimension", _geom("LineString", _pl(LINE, ' srsDimension="3"'))),
    ("poslist-count", _geom("LineString", _pl(LINE + " 7"))),
    ("poslist-one-point", _geom("LineString", _pl(_xyz((0, 0, 1))))),
    ("poslist-empty", _geom("LineString", "<gml:posList/>")),
    ("poslist-blank", _geom("LineString", _pl("  \n "))),
    ("pos-list-of-pos", _geom("LineString", f"<gml:pos>{X0} {Y0} 1</gml:pos>"
                                             f"<gml:pos>{X0 + 1} {Y0} 1</gml:pos>")),
    ("zero-length", _geom("LineString", _pl(_xyz((0, 0, 1), (0, 0, 1), (5, 0, 1))))),
    ("short-segment", _geom("LineString", _pl(_xyz((0, 0, 1), (0.0005, 0, 1), (5, 0, 1))))),
    ("segment-1mm", _geom("LineString", _pl(_xyz((0, 0, 1), (0.001, 0, 1), (5, 0, 1))))),
    ("segment-1mm-in-z", _geom("LineString", _pl(_xyz((0, 0, 1), (0, 0, 1.001), (5, 0, 1))))),
    ("many-vertices", _geom("LineString", _pl(_xyz(*[(0.5 * i, 0.1 * (i % 3), 150 + i)
                                                     for i in range(40)])))),
    ("many-vertices-one-short", _geom("LineString", _pl(_xyz(
        *[(0.5 * i, 0, 150) for i in range(30)], (14.5002, 0, 150), (20, 0, 150))))),
    ("curve-exact-join", _geom("Curve", "<gml:segments>" + _lss(_xyz((0, 0, 1), (5, 0, 1)))
                               + _lss(_xyz((5, 0, 1), (5, 5, 2))) + "</gml:segments>")),
    ("curve-join-z-differs", _geom("Curve", "<gml:segments>" + _lss(_xyz((0, 0, 1), (5, 0, 1)))
                                   + _lss(_xyz((5, 0, 3), (5, 5, 2))) + "</gml:segments>")),
    ("curve-join-within-1mm", _geom("Curve", "<gml:segments>" + _lss(_xyz((0, 0, 1), (5, 0, 1)))
                                    + _lss(_xyz((5.0004, 0, 1), (5, 5, 2))) + "</gml:segments>")),
    ("curve-gap", _geom("Curve", "<gml:segments>" + _lss(_xyz((0, 0, 1), (5, 0, 1)))
                        + _lss(_xyz((5.005, 0, 1), (5, 5, 2))) + "</gml:segments>")),
    ("curve-arc", _geom("Curve", "<gml:segments><gml:Arc>" + _pl(_xyz((0, 0, 1), (1, 1, 1),
                        (2, 0, 1))) + "</gml:Arc>" + _lss(_xyz((2, 0, 1), (9, 0, 1)))
                        + "</gml:segments>")),
    ("curve-arc-z", _geom("Curve", "<gml:segments><gml:ArcString>" + _pl(_xyz(
        (0, 0, 1), (1, 1, 2), (2, 0, 3), (3, -1, 3), (4, 0, 5))) + "</gml:ArcString></gml:segments>")),
    ("curve-arc-aligned", _geom("Curve", "<gml:segments><gml:Arc>" + _pl(_xyz(
        (0, 0, 1), (1, 0, 1), (2, 0, 1))) + "</gml:Arc></gml:segments>")),
    ("curve-circle", _geom("Curve", "<gml:segments><gml:Circle>" + _pl(_xyz(
        (0, 0, 1), (1, 1, 1), (2, 0, 1))) + "</gml:Circle></gml:segments>")),
    ("curve-segment-dimension", _geom("Curve", "<gml:segments><gml:LineStringSegment "
                                      'srsDimension="3">' + _pl(LINE)
                                      + "</gml:LineStringSegment></gml:segments>")),
    ("curve-bezier", _geom("Curve", "<gml:segments><gml:Bezier>" + _pl(LINE)
                           + "</gml:Bezier></gml:segments>")),
    ("curve-no-segments", _geom("Curve", "<gml:segments/>")),
    ("curve-empty", _geom("Curve", "")),
    ("polygon", _geom("Polygon", _ring(_square()))),
    ("polygon-hole", _geom("Polygon", _ring(_square(side=4)) + _ring(_square(1, 1), "interior"))),
    ("polygon-interior-first", _geom("Polygon", _ring(_square(1, 1), "interior")
                                     + _ring(_square(side=4)))),
    ("polygon-two-exteriors", _geom("Polygon", _ring(_square()) + _ring(_square(3)))),
    ("polygon-interior-only", _geom("Polygon", _ring(_square(), "interior"))),
    ("polygon-open", _geom("Polygon", _ring(_square(close_dx=0.01)))),
    ("polygon-closed-1e-10", _geom("Polygon", _ring(_square(close_dx=1e-10)))),
    ("polygon-closed-7e-10", _geom("Polygon", _ring(_square(close_dx=7e-10)))),
    ("polygon-z-not-closed", _geom("Polygon", _ring(_square(close_z="150.0000007")))),
    ("polygon-z-open", _geom("Polygon", _ring(_square(close_z="150.01")))),
    ("polygon-three-points", _geom("Polygon", _ring(_xyz((0, 0, 1), (1, 0, 1), (0, 0, 1))))),
    ("polygon-bowtie", _geom("Polygon", _ring(_xyz((0, 0, 1), (1, 1, 1), (1, 0, 1), (0, 1, 1),
                                                   (0, 0, 1))))),
    ("polygon-ring-of-curves", _geom("Polygon", "<gml:exterior><gml:Ring><gml:curveMember>"
        + _geom("LineString", _pl(_xyz((0, 0, 1), (2, 0, 1), (2, 2, 1))), 'gml:id="l"')
        + "</gml:curveMember><gml:curveMember>"
        + _curve_of(_lss(_xyz((2, 2, 1), (0, 2, 1))), _lss(_xyz((0, 2, 1), (0, 0, 1))))
        + "</gml:curveMember></gml:Ring></gml:exterior>")),
    ("polygon-ring-arc", _geom("Polygon", "<gml:exterior><gml:Ring><gml:curveMember>"
        + _curve_of("<gml:ArcString>" + _pl(_xyz((0, 0, 1), (1, 1, 1), (2, 0, 1), (1, -1, 1),
                                                 (0, 0, 1))) + "</gml:ArcString>")
        + "</gml:curveMember></gml:Ring></gml:exterior>")),
    ("polygon-ring-member-two-children", _geom("Polygon", "<gml:exterior><gml:Ring>"
        "<gml:curveMember>" + _geom("LineString", _pl(_square()), 'gml:id="l"')
        + _geom("LineString", _pl(_square()), 'gml:id="m"')
        + "</gml:curveMember></gml:Ring></gml:exterior>")),
    ("polygon-2d", _geom("Polygon", _ring(f"{X0} {Y0} {X0 + 1} {Y0} {X0 + 1} {Y0 + 1} {X0} {Y0}"),
                         f'gml:id="g" {SRS} srsDimension="2"')),
    ("multicurve", _geom("MultiCurve", "<gml:curveMember>" + _geom("LineString", _pl(LINE),
        'gml:id="a"') + "</gml:curveMember><gml:curveMember>"
        + _curve_of(_lss(_xyz((0, 9, 1), (4, 9, 1)))) + "</gml:curveMember>")),
    ("multicurve-empty", _geom("MultiCurve", "")),
    ("multicurve-plural", _geom("MultiCurve", "<gml:curveMembers>" + _geom("LineString", _pl(LINE),
        'gml:id="a"') + "</gml:curveMembers>")),
    ("multicurve-member-dimension", _geom("MultiCurve", "<gml:curveMember>" + _geom(
        "LineString", _pl(LINE), 'gml:id="a" srsDimension="2"') + "</gml:curveMember>")),
    ("multisurface", _geom("MultiSurface", "<gml:surfaceMember>" + _geom("Polygon",
        _ring(_square()), 'gml:id="p"') + "</gml:surfaceMember>")),
    ("surface", _geom("Surface", "<gml:patches><gml:PolygonPatch>" + _ring(_square())
                      + "</gml:PolygonPatch></gml:patches>")),
    ("multipoint", _geom("MultiPoint", f'<gml:pointMember><gml:Point gml:id="q"><gml:pos>{X0} '
                         f"{Y0} 1</gml:pos></gml:Point></gml:pointMember>")),
    ("orientable-curve", _geom("OrientableCurve", "<gml:baseCurve>" + _geom("LineString", _pl(LINE),
        'gml:id="a"') + "</gml:baseCurve>", f'gml:id="g" {SRS} orientation="-"')),
    ("composite-curve", _geom("CompositeCurve", "<gml:curveMember>" + _geom("LineString",
        _pl(LINE), 'gml:id="a"') + "</gml:curveMember>")),
    ("unknown-geometry", _geom("Solid", "")),
]  # fmt: skip


def _geometry_file(geometries: list[str], root_extra: str = "") -> str:
    members = "".join(
        f'<featureMember><MurPCRS gml:id="m{i}"><idObjet>m{i}</idObjet><geometrie>{g}'
        f"</geometrie><typeMur>01</typeMur></MurPCRS></featureMember>\n"
        for i, g in enumerate(geometries)
    )
    return HEAD.replace(' gml:id="r"', f'{root_extra} gml:id="r"') + members + TAIL


@pytest.mark.parametrize("geometry", [c[1] for c in GEOMETRIES], ids=[c[0] for c in GEOMETRIES])
def test_geometries(geometry, tmp_path):
    compare(write(tmp_path, _geometry_file([geometry])))


@pytest.mark.parametrize("number", NUMBERS)
def test_number_syntaxes(number, tmp_path):
    line = _geom("LineString", _pl(f"{X0} {Y0} {number} {X0 + 5} {Y0} 150.0"))
    point = _geom("Point", f"<gml:pos>{X0} {Y0} {number}</gml:pos>")
    compare(write(tmp_path, _geometry_file([line, point])))


@pytest.mark.parametrize("sep", SEPARATORS, ids=[f"U+{ord(s[-1]):04X}" for s in SEPARATORS])
def test_number_separators(sep, tmp_path):
    line = _geom("LineString", _pl(sep + LINE.replace(" ", sep) + sep))
    point = _geom("Point", f"<gml:pos>{X0}{sep}{Y0}{sep}1</gml:pos>")
    compare(write(tmp_path, _geometry_file([line, point])))


def test_signed_zeros_in_bounds(tmp_path):
    """min/max over 0.0 and -0.0: the first met is kept (Python's min and max)."""
    geoms = [
        _geom("LineString", _pl(_xyz((0, 0, "-0"), (5, 0, "0"), (9, 0, "0.0")))),
        _geom("LineString", _pl(_xyz((0, 0, "0"), (5, 0, "-0"), (9, 0, "-0.0")))),
        _geom("Polygon", _ring(_square(z="-0", close_z="-0"))),
        _geom(
            "LineString",
            _pl(f"-0 0 0 {-5.0} -1 0 -0 -0"),
            'gml:id="g" srsName="x" srsDimension="2"',
        ),
    ]
    path = write(tmp_path, _geometry_file(geoms))
    compare(path)
    z = [m.features[0].geometry.zrange for m in list(read_members(path))[:2]]
    assert repr(z[0]) != repr(z[1])  # (-0.0 and 0.0 both met: the comparison sees the sign)


def test_two_prefixes_for_gml(tmp_path):
    """GML bound to two prefixes on the root: gml:id written with either is the id."""
    g2 = _geom("LineString", _pl(LINE), f'g2:id="g" {SRS} srsDimension="3"').replace("gml:", "g2:")
    text = _geometry_file([_geom("LineString", _pl(LINE)), g2, _geom("Point", f"<gml:pos>{X0} "
                          f"{Y0} 1</gml:pos>", f'g2:id="p" {SRS}')],
                          ' xmlns:g2="http://www.opengis.net/gml/3.2"')  # fmt: skip
    # (the compiled readers need one prefix for GML: lxml reads this file)
    path = write(tmp_path, text)
    with pytest.raises(FastReadUnavailable):
        list(read_members(path))
    keys = lxml_keys(path, ARC_TOLERANCE)
    assert all("no_gml_id" not in repr(k) for k in keys)
    fast, _slow = same_findings(path, schemas=False)
    assert fast.files[0]["reader"] == "lxml"


def test_gml_as_default_namespace(tmp_path):
    text = (
        '<?xml version="1.0"?>\n<p:PlanCorpsRueSimplifie xmlns:p="http://cnig.gouv.fr/pcrs" '
        'xmlns="http://www.opengis.net/gml/3.2" xmlns:gml="http://www.opengis.net/gml/3.2" '
        'gml:id="r">\n<p:featureMember><p:MurPCRS gml:id="m"><p:geometrie>'
        + _geom("LineString", _pl(LINE)).replace("gml:LineString", "LineString")
        .replace("gml:posList", "posList")
        + "</p:geometrie></p:MurPCRS></p:featureMember>\n</p:PlanCorpsRueSimplifie>\n"
    )  # fmt: skip
    path = write(tmp_path, text)
    with pytest.raises(FastReadUnavailable):  # (GML as the default namespace: lxml reads it)
        list(read_members(path))
    fast, _slow = same_findings(path, schemas=False)
    assert fast.files[0]["reader"] == "lxml"


# --- 3. layout --------------------------------------------------------------------------


def _pretty(text: str) -> str:
    root = etree.fromstring(text.encode("utf-8"))
    etree.indent(root, space="  ")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode("utf-8")


def _multiline_tags(text: str) -> str:
    text = text.replace(' gml:id="', '\n      gml:id="')
    text = text.replace(' srsDimension="', '\n  srsDimension="')
    return text.replace("<objet ", "<objet\n   ")


def _poslist_on_lines(text: str) -> str:
    return re.sub(r"<gml:posList>([^<]*)</gml:posList>",
                  lambda m: "<gml:posList>\n" + m.group(1).replace(" ", "\n") + "\n</gml:posList>",
                  text)  # fmt: skip


LAYOUTS = [
    ("crlf", lambda t: _poslist_on_lines(t).replace("\n", "\r\n")),
    ("crlf-pretty", lambda t: _pretty(t).replace("\n", "\r\n")),
    ("lone-cr", lambda t: _poslist_on_lines(t).replace("\n", "\r")),
    ("bom", lambda t: "\ufeff" + t),
    ("bom-crlf", lambda t: "\ufeff" + t.replace("\n", "\r\n")),
    ("pretty", _pretty),
    ("one-line", lambda t: t.replace("\n", "")),
    ("no-declaration", lambda t: t.split("?>", 1)[1].lstrip()),
    ("single-quotes", lambda t: re.sub(r'="([^"]*)"', r"='\1'", t)),
    ("multi-line-start-tags", _multiline_tags),
    ("blanks-in-tags", lambda t: re.sub(r'(\w)="', r'\1 = "', t).replace("/>", " />")),
    ("self-closing", lambda t: t.replace("<reference>Platanus</reference>", "<reference/>", 1)
     .replace("<reference>Platanus</reference>", "<reference></reference>", 1)
     .replace("<typeMur>01</typeMur>", "<typeMur />")),
    ("poslist-on-lines", _poslist_on_lines),
]  # fmt: skip


@pytest.mark.parametrize("layout", [c[1] for c in LAYOUTS], ids=[c[0] for c in LAYOUTS])
def test_layouts(layout, tmp_path, lxml_calls):
    text = layout(delivery_text(2, seed=5))
    compare(write(tmp_path, text))
    assert not lxml_calls  # none of these needs lxml


def test_element_line_is_the_line_of_its_start_tags_end(tmp_path):
    """A start tag on several lines: its element is on the line of its '>'."""
    data = _multiline_tags(delivery_text(1, seed=4)).encode()
    path = write(tmp_path, data)
    compare(path)
    members = list(flat(read_members(path)))
    feats = [f for m in members if type(m) is Member for f in m.features]
    feature_lines = true_lines(data, rb"(?<=<featureMember>)<[\w:]+\s")
    assert [f.line for f in feats if f.parent is None] == feature_lines
    links = [m for m in members if type(m) is EmpriseLink]
    assert [m.line for m in links if m.name == "objet"] == true_lines(data, rb"<objet\s")
    assert feature_lines[0] != 1 + data.count(b"\n", 0, data.index(b"<featureMember><"))


# --- 4. windows, capacities, long files --------------------------------------------------


def test_small_windows(monkeypatch, tmp_path, scan_calls):
    """Windows of 256 bytes: members straddle windows, most are bigger than one."""
    monkeypatch.setattr(fastread, "BLOCK_BYTES", 256)
    text = delivery_text(2, seed=1)
    compare(write(tmp_path, text))
    assert len(scan_calls) > 20
    assert any(s == kernels.MORE and rows == 0 for s, rows, _cap, _n in scan_calls)
    # the window grew to hold the biggest member (the emprise)
    biggest = max(
        len(m.encode()) for m in re.findall("<featureMember>.*?</featureMember>", text, re.S)
    )
    assert biggest > 4 * 256
    assert max(n for *_x, n in scan_calls) >= biggest


def test_small_windows_pretty_crlf_with_odd_members(monkeypatch, tmp_path, lxml_calls, base):
    monkeypatch.setattr(fastread, "BLOCK_BYTES", 256)
    text = _first("<idObjet>", "<!-- c --><idObjet>")(base)
    text = _first("<objet ", "<!-- c --><objet ")(text)
    text = _pretty(_move_id_emprise(text)).replace("\n", "\r\n")
    compare(write(tmp_path, "\ufeff" + text))
    assert len(lxml_calls) == 2  # (the two members with a comment)


N_LINKS = 70_000


def _long_emprise() -> bytes:
    """An emprise linking 70,000 objects, one link a line, then members after line 65,535."""
    tree = (
        '<featureMember><ArbrePCRS gml:id="t{i}"><idObjet>t{i}</idObjet>'
        '<geometrie><gml:Point gml:id="t{i}-g" srsName="EPSG:3946" srsDimension="3">'
        "<gml:pos>1848010.5 5180006.25 150.125</gml:pos></gml:Point></geometrie>"
        '<reference>Platanus</reference><symbole xlink:href="#s"/></ArbrePCRS></featureMember>\n'
    )
    parts = [HEAD, tree.format(i=0)]
    parts.append('<featureMember><EmpriseEchangePCRS gml:id="e"><idEmprise>E1</idEmprise>\n')
    parts.extend(f'<objet xlink:href="#o{i}"/>\n' for i in range(N_LINKS))
    parts.append('<habillage xlink:href="#h"/></EmpriseEchangePCRS></featureMember>\n')
    parts.append(tree.format(i=1))
    parts.append(_pretty(HEAD + tree.format(i=2) + TAIL).split("\n", 2)[2].rsplit("\n", 1)[0])
    parts.append("\n" + TAIL)
    return "".join(parts).encode()


def test_long_emprise_rows_doubling_and_true_lines(tmp_path, scan_calls):
    data = _long_emprise()
    path = write(tmp_path, data)
    assert data.count(b"\n") > 70_000

    tracemalloc.start()
    n = sum(1 for _ in flat(read_members(path)))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert n == N_LINKS + 1 + 4
    # the member has more element records than the scanner's first capacity: it doubled
    first_cap = scan_calls[0][2]
    assert first_cap < N_LINKS
    assert any(s == kernels.FULL and rows == 0 for s, rows, _c, _n in scan_calls)
    assert max(c for _s, _r, c, _n in scan_calls) == 2 * first_cap
    # working memory is that of one window: the records (14 int64 a row, 2^17 rows, 15 MB)
    # and arrays in proportion to the window's bytes (2 MB here); not growing any further
    assert peak < 64e6, peak

    t0 = time.perf_counter()
    fast = list(flat(read_members(path)))
    t1 = time.perf_counter()
    lxml = list(GmlReader(path).members())
    t2 = time.perf_counter()
    if not _jit_disabled():  # (the kernels run as plain Python: no speed to claim)
        assert t1 - t0 < 2 * (t2 - t1) + 0.5, (t1 - t0, t2 - t1)

    # the true lines, counted in the bytes
    links = [m for m in fast if type(m) is EmpriseLink]
    assert [m.line for m in links] == true_lines(data, rb"<(objet|habillage)\s")
    assert links[-1].line > 65_535
    assert {m.id_emprise for m in links} == {"E1"}
    trees = [m.features[0] for m in fast if type(m) is Member and m.features[0].cls == "ArbrePCRS"]
    assert [f.line for f in trees] == true_lines(data, rb"<ArbrePCRS\s")
    props = [p.line for p in _properties(trees[2])]
    assert props == true_lines(data, rb"<(idObjet|geometrie|reference|symbole)[\s>/]")[-4:]
    assert trees[2].geometry.line == true_lines(data, rb"<gml:Point\s")[-1]

    starts = true_lines(data, rb"<featureMember>")
    assert [m.line for m in fast if type(m) is Member] == starts
    assert starts[-1] > 65_535

    # libxml2's lines: the same up to line 65,534. After, libxml2 takes the line of an
    # element without text of its own from a neighbouring node: one line further for a
    # link or an indented element, somewhere else again when the reader has dropped the
    # neighbours. Those lines are only checked against the true ones (above).
    assert len(lxml) == len(fast)
    for a, b in zip(lxml, fast, strict=True):
        if max(lines_in(b)) < 65_535:
            assert key(a) == key(b)
        else:
            assert key(a, lambda n: 0) == key(b, lambda n: 0)


# --- 5. files the fast reader refuses; the validator's rollback ----------------------------


def _latin1(text: str) -> bytes:
    return text.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"').encode("latin-1")


def _utf16(text: str) -> bytes:
    return text.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")


# (id, the file's bytes from the base delivery, whether complete members come before the end)
REFUSED = [
    ("doctype", lambda t: _first("?>\n", "?>\n<!DOCTYPE PlanCorpsRueSimplifie>\n")(t).encode(),
     False),
    ("iso-8859-1", _latin1, False),
    ("utf-16", _utf16, False),
    ("truncated", lambda t: t.encode()[: len(t.encode()) * 2 // 3], True),
    ("unknown-prefix",
     lambda t: _member_of(f"{P}_mu", "<idObjet>", "<foo:bar>1</foo:bar><idObjet>")(t).encode(),
     True),
    ("undeclared-entity",
     lambda t: _member_of(f"{P}_mu", "<idObjet>", "<idObjet>&nbsp;")(t).encode(), True),
]  # fmt: skip


@pytest.mark.parametrize(("make", "some"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_refused_files_raise_after_a_correct_prefix(make, some, base, tmp_path):
    data = make(base)
    path = write(tmp_path, data)
    got = []
    with pytest.raises(FastReadUnavailable):
        for m in flat(read_members(path)):
            got.append(key(m))
    reader = GmlReader(path)
    expected = [key(m) for m in reader.members()]
    assert bool(got) == some
    assert got == expected[: len(got)]  # nothing wrong handed out before


def _findings(report) -> list:
    return [(f.rule, f.severity, f.line, f.feature_class, f.gml_id, f.id_objet, f.x, f.y,
             f.field, f.message("en")) for f in report.findings]  # fmt: skip


def same_findings(path: Path, **kwargs) -> tuple:
    fast = validate(path, reader="fast", **kwargs)
    slow = validate(path, reader="lxml", **kwargs)
    assert _findings(fast) == _findings(slow)
    assert slow.files[0]["reader"] == "lxml"
    return fast, slow


@pytest.mark.parametrize("make", [c[1] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_validate_falls_back(make, base, tmp_path):
    text = _member_of(f"{P}_mu", "<typeMur>01</typeMur>", "<typeMur>07</typeMur>")(base)
    fast, _slow = same_findings(write(tmp_path, make(text)), schemas=False)
    assert fast.files[0]["reader"] == "lxml"  # rolled back, read again
    assert fast.findings  # (the files are not clean: there is something to compare)


def test_validate_with_schema(base, tmp_path, schemas_dir):
    clean = write(tmp_path, base, "clean.gml")
    fast, _slow = same_findings(clean, schemas=schemas_dir)
    assert fast.files[0]["reader"] == "fast"
    assert not fast.findings
    bad = _member_of(f"{P}_mu", "<typeMur>01</typeMur>", "<typeMur>01</typeMur><foo>1</foo>")
    bad = _member_of(f"{P}_ar0", "<dateLeve>", "<reference>x</reference><dateLeve>")(bad(base))
    # (and two violations no rule reports: an id that is not an NCName, a root attribute)
    bad = _member_of(f"{P}_pi", f'gml:id="{P}_pi"', 'gml:id="1pi"')(bad)
    bad = _first('version="2.0"', 'version="2.0" foo="1"')(bad)
    fast, _slow = same_findings(write(tmp_path, bad, "bad.gml"), schemas=schemas_dir)
    assert fast.files[0]["reader"] == "lxml"
    assert any(f.rule == "PCRS-XSD-001" for f in fast.findings)
    cut = write(tmp_path, base[: len(base) // 2], "cut.gml")
    fast, _slow = same_findings(cut, schemas=schemas_dir)
    assert any(f.rule == "PCRS-XML-002" for f in fast.findings)


# --- 6. the reader parameter ------------------------------------------------------------


def test_reader_parameter(base, tmp_path):
    path = write(tmp_path, base)
    with pytest.raises(ParameterError, match="nope"):
        validate(path, schemas=False, reader="nope")
    assert validate(path, schemas=False, reader="fast").files[0]["reader"] == "fast"
    assert validate(path, schemas=False, reader="lxml").files[0]["reader"] == "lxml"


# --- 7. the validator's findings, one mutated delivery per rule ----------------------------


def _rule_cases() -> list:
    """``CASES`` of tests/test_vector_rules.py (the tests folder is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "_vector_rules_cases", Path(__file__).with_name("test_vector_rules.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CASES


def test_rule_cases_same_findings(tmp_path):
    cases = _rule_cases()
    assert len(cases) > 30
    base = delivery_text(2, seed=1)
    readers = set()
    for i, (rule, mutate, _gid) in enumerate(cases):
        path = write(tmp_path, mutate(base), f"case{i}.gml")
        fast = validate(path, reader="fast", schemas=False)
        slow = validate(path, reader="lxml", schemas=False)
        assert _findings(fast) == _findings(slow), rule
        assert any(f.rule == rule for f in fast.findings), rule
        readers.add(fast.files[0]["reader"])
    assert readers == {"fast", "lxml"}  # (most read fast; DTD, truncated... by lxml)


# --- 8. libxml2's pass of the fast path, and the compact features ----------------------


def test_libxml2_pass_gives_the_verdict_of_the_reader_pass(base, tmp_path, pcrs_dir, schemas_dir):
    """The lean pass the fast path runs first decides as GmlReader's pass does."""
    from pcrs.vector.gml import parser_options
    from pcrs.vector.validate import _libxml2_pass, _schema_pass
    from pcrs.vector.xsd import load_schema

    schema = load_schema(schemas_dir)
    files = sorted(pcrs_dir.rglob("*.gml"))
    variants = {
        "cut.gml": base[: len(base) // 2],
        "mismatch.gml": base.replace("</dateLeve>", "</dateLev>", 1),
        "invalid.gml": base.replace("<typeMur>01</typeMur>", "<typeMur>01</typeMur><x>1</x>"),
        "no-version.gml": base.replace(' version="2.0"', "", 1),
        "prefix.gml": base.replace("<typeMur>", '<typeMur foo:a="1">', 1),
        # (lxml 6 lets these pass without a word while it validates)
        "ampersand.gml": base.replace("<typeMur>01</typeMur>", "<typeMur>01 & 02</typeMur>", 1),
        "attribute.gml": base.replace(' gml:id="', " gml:id=", 2),
    }
    for name, text in variants.items():
        assert text != base
        files.append(write(tmp_path, text, name))
    verdicts = set()
    for path in files:
        try:  # (a whole parse without schema: the truth)
            etree.parse(str(path), etree.XMLParser(**parser_options()))
            well_formed = True
        except etree.XMLSyntaxError:
            well_formed = False
        for sch in (None, schema):
            verdict = _libxml2_pass(path, sch)
            assert verdict == _schema_pass(path, sch), (path.name, sch is not None)
            # with or without the schema step, malformed means what a plain parse says
            assert verdict[0] == (not well_formed), (path.name, sch is not None)
            verdicts.add(verdict)
    # the cases are not all alike: clean, malformed and schema-invalid files were met
    assert (False, 0) in verdicts
    assert any(v[0] for v in verdicts)
    assert any(v[1] for v in verdicts)


def test_fast_features_come_in_compact_form_and_materialise_to_lxmls(base, tmp_path):
    """Features from the compiled reader have no Property objects until asked for them,
    and then have exactly GmlReader's."""
    path = write(tmp_path, base, "d.gml")
    fast = [m for m in read_members(path) if isinstance(m, Member)]
    slow = [m for m in GmlReader(path).members() if isinstance(m, Member)]
    assert len(fast) == len(slow) > 10
    compact = [f for m in fast for f in m.features if f.props is None]
    assert len(compact) == len(fast)  # every member of this clean delivery
    for mf, ms in zip(fast, slow, strict=True):
        for ff, fs in zip(mf.features, ms.features, strict=True):
            texts, hrefs, kids, lines, geoms = ff.compact
            assert len(texts) == len(hrefs) == len(kids) == len(lines) == len(ff.prop_tags)
            assert [i for i, _g in geoms] == [
                i for i, p in enumerate(fs.props) if p.geometry is not None
            ]
            assert [p.text for p in fs.props] == list(texts)
            assert [p.href for p in fs.props] == list(hrefs)
            assert ff.first_text("idObjet") == fs.first_text("idObjet")
            assert key(mf) == key(ms)


def test_a_numba_that_cannot_compile_leaves_the_file_to_lxml(base, tmp_path, monkeypatch):
    """A compilation error of the kernels (another numba, another platform) is not the
    user's problem: the file is read by lxml, with the same findings."""
    from numba.core.errors import TypingError

    path = write(tmp_path, base.replace("<typeMur>01</typeMur>", "<typeMur>99</typeMur>"), "d.gml")
    expected = validate(path, schemas=False, reader="lxml")

    def broken(*args, **kwargs):
        raise TypingError("cannot compile here")
        yield  # (a generator, like the real one)

    monkeypatch.setattr(fastread, "read_members", broken)
    report = validate(path, schemas=False, reader="fast")
    assert report.files[0]["reader"] == "lxml"
    assert [f.to_dict() for f in report.findings] == [f.to_dict() for f in expected.findings]
    assert any(f.rule == "PCRS-CODE-001" for f in report.findings)
