"""Hostile and broken input: no entity expansion, no external read, no traceback, no hang."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from pcrs.cli.main import FindingsExit, cli
from pcrs.vector import validate

ROOT_OPEN = (
    '<PlanCorpsRueSimplifie xmlns="http://cnig.gouv.fr/pcrs" '
    'xmlns:gml="http://www.opengis.net/gml/3.2" gml:id="r" version="2.0">'
)

BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE PlanCorpsRueSimplifie [\n<!ENTITY lol "lol">\n'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'
        for i in range(1, 10)
    )
    + "]>\n"
    + ROOT_OPEN
    + '<featureMember><ArbrePCRS gml:id="a"><idObjet>&lol9;</idObjet></ArbrePCRS>'
    "</featureMember></PlanCorpsRueSimplifie>\n"
)


def _xxe(target) -> str:
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "file://{target}">]>\n'
        + ROOT_OPEN
        + '<featureMember><ArbrePCRS gml:id="a"><idObjet>&x;</idObjet></ArbrePCRS>'
        "</featureMember></PlanCorpsRueSimplifie>\n"
    )


def test_billion_laughs_is_refused_quickly(tmp_path):
    p = tmp_path / "bomb.gml"
    p.write_text(BILLION_LAUGHS)
    t0 = time.perf_counter()
    report = validate(p, schemas=False)
    assert time.perf_counter() - t0 < 5
    (hit,) = [f for f in report.findings if f.rule == "PCRS-XML-003"]
    assert hit.severity == "error" and "lol1" in hit.message()
    assert report.unusable_files == [str(p)]


def test_external_entity_is_never_read(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    p = tmp_path / "xxe.gml"
    p.write_text(_xxe(secret))
    report = validate(p, schemas=False)
    assert "TOP-SECRET-VALUE" not in report.to_json()
    assert "TOP-SECRET-VALUE" not in report.to_html()
    assert any(f.rule == "PCRS-XML-003" for f in report.findings)


def test_reader_itself_does_not_resolve_entities(tmp_path):
    """Even the raw reader, used directly, leaves the entity unexpanded."""
    from pcrs.vector import GmlReader

    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    p = tmp_path / "xxe.gml"
    p.write_text(_xxe(secret))
    texts = [
        prop.text or "" for m in GmlReader(p).members() for f in m.features for prop in f.props
    ]
    assert not any("TOP-SECRET" in t for t in texts)


@pytest.mark.parametrize(
    ("content", "expect"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (bytes(range(256)) * 4, "binary"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"<not xml", "well-formed"),
        (b"hello world", "well-formed"),
    ],
)
def test_unusable_files_give_one_finding_and_exit_2(tmp_path, content, expect):
    p = tmp_path / "bad.gml"
    p.write_bytes(content)
    report = validate(p, schemas=False)
    rules = [f.rule for f in report.findings if f.severity == "error"]
    assert rules == ["PCRS-XML-001"]
    assert expect in report.findings[0].message() or expect in report.files[0]["reason"]
    result = CliRunner().invoke(cli, ["validate", str(p)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_kml_is_not_pcrs(tmp_path):
    p = tmp_path / "doc.kml"
    p.write_text(
        '<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        "<Placemark><Point><coordinates>2.3,48.8</coordinates></Point></Placemark>"
        "</Document></kml>"
    )
    report = validate(p, schemas=False)
    (hit,) = [f for f in report.findings if f.rule == "PCRS-FILE-001"]
    assert "kml" in hit.message()
    result = CliRunner().invoke(cli, ["validate", str(p)])
    assert result.exit_code == 2


def test_truncated_file_reports_where_and_exits_1(tmp_path):
    from pcrs.vector.sample import delivery_text

    text = delivery_text(3, seed=2)
    p = tmp_path / "cut.gml"
    p.write_text(text[: int(len(text) * 0.6)])
    report = validate(p, schemas=False)
    (hit,) = [f for f in report.findings if f.rule == "PCRS-XML-002"]
    assert hit.line and hit.line > 10
    # what came before the cut was still checked
    assert sum(report.files[0]["features"].values()) > 10
    result = CliRunner().invoke(cli, ["validate", str(p)])
    assert isinstance(result.exception, FindingsExit)
    assert "Traceback" not in result.output


def test_subprocess_on_hostile_input(tmp_path):
    p = tmp_path / "bomb.gml"
    p.write_text(BILLION_LAUGHS)
    proc = subprocess.run(
        [sys.executable, "-m", "pcrs", "validate", "--no-schema", str(p)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    err_lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(err_lines) == 1 and "bomb.gml" in err_lines[0]


@pytest.mark.parametrize("cut", ["truncate", "mismatch"])
def test_malformed_file_with_schema_step_is_located(pcrs_dir, tmp_path, cut):
    """The streaming schema mode does not hide well-formedness errors."""
    from pcrs.vector.sample import delivery_text

    text = delivery_text(3, seed=2)
    if cut == "truncate":
        text = text[: int(len(text) * 0.6)]
    else:
        text = text.replace("</SeuilPCRS>", "</Seuil>", 2)
    p = tmp_path / "bad.gml"
    p.write_text(text)
    plain = validate(p, schemas=False)
    with_schema = validate(p, schemas=pcrs_dir / "schemas")
    (a,) = [f for f in plain.findings if f.rule == "PCRS-XML-002"]
    (b,) = [f for f in with_schema.findings if f.rule == "PCRS-XML-002"]
    assert a.line == b.line and a.line > 2
    assert with_schema.has_errors


# syntax errors that lxml 6 with libxml2 2.14 lets pass without a word while it validates
# against a schema (see pcrs.vector.gml), and one that stops its parse
_BREAKS = {
    "truncate": lambda t: t[: int(len(t) * 0.6)],
    "ampersand": lambda t: t.replace(
        "<thematique>03</thematique>", "<thematique>03 & 04</thematique>", 1
    ),
    "attribute": lambda t: re.sub(r'(<featureMember><\w+ gml:id=)"', r"\1", t, count=1),
    "prefix": lambda t: t.replace("<thematique>", '<thematique foo:a="1">', 1),
    "mismatch": lambda t: t.replace("</SeuilPCRS>", "</Seuil>", 2),
}


def _findings_but_schema_note(report) -> list:
    return [
        (f.rule, f.line, f.gml_id, f.field, f.params)
        for f in report.findings
        if f.rule != "PCRS-XSD-002"
    ]


@pytest.mark.parametrize(
    "how",
    [
        {"reader": "lxml", "schema_process": False},
        {"reader": "fast", "schema_process": False},
        {"reader": "lxml", "schema_process": True},
        {"reader": "fast", "schema_process": True},
    ],
    ids=["lxml", "fast", "lxml-process", "fast-process"],
)
@pytest.mark.parametrize("cut", list(_BREAKS))
def test_schema_step_never_hides_a_syntax_error(pcrs_dir, tmp_path, cut, how):
    """Whichever way the file is read (lxml, or the compiled reader after libxml2's pass; the
    schema step here or in a second process), a file that is not well-formed gets the
    finding of the run without schema, at the same line, and the rules saw the same part of
    it."""
    from pcrs.vector.sample import delivery_text

    text = delivery_text(3, seed=2)
    broken = _BREAKS[cut](text)
    assert broken != text
    p = tmp_path / "bad.gml"
    p.write_text(broken)
    plain = validate(p, schemas=False)
    with_schema = validate(p, schemas=pcrs_dir / "schemas", **how)
    (a,) = [f for f in plain.findings if f.rule == "PCRS-XML-002"]
    (b,) = [f for f in with_schema.findings if f.rule == "PCRS-XML-002"]
    assert a.line == b.line and a.line > 2
    assert _findings_but_schema_note(with_schema) == _findings_but_schema_note(plain)


@pytest.mark.parametrize("cut", ["truncate", "ampersand", "prefix"])
def test_a_big_broken_file_is_reported_by_the_fast_path(pcrs_dir, tmp_path, cut):
    """A file read by the compiled reader (at least FAST_READER_MIN_BYTES): libxml2's pass
    with the schema step says it is not well-formed, and the finding is the one without
    schema."""
    from pcrs.vector.sample import write_delivery
    from pcrs.vector.validate import FAST_READER_MIN_BYTES, _libxml2_pass
    from pcrs.vector.xsd import load_schema

    good = write_delivery(tmp_path / "good.gml", target_bytes=FAST_READER_MIN_BYTES * 2)
    text = good.read_text()
    p = tmp_path / "bad.gml"
    p.write_text(_BREAKS[cut](text))
    assert p.stat().st_size >= FAST_READER_MIN_BYTES
    assert _libxml2_pass(p, load_schema(pcrs_dir / "schemas"))[0]
    plain = validate(p, schemas=False)
    with_schema = validate(p, schemas=pcrs_dir / "schemas")
    (a,) = [f for f in plain.findings if f.rule == "PCRS-XML-002"]
    (b,) = [f for f in with_schema.findings if f.rule == "PCRS-XML-002"]
    assert a.line == b.line
    assert _findings_but_schema_note(with_schema) == _findings_but_schema_note(plain)


def test_reader_with_a_schema_survives_an_entity_bomb(pcrs_dir, tmp_path):
    """The raw reader validating against the schema, on an entity bomb: no expansion and
    no crash (lxml 6 with resolve_entities="internal" and a schema dies of a segmentation
    fault here, which is why pcrs keeps resolve_entities=False), in a child process."""
    p = tmp_path / "bomb.gml"
    p.write_text(BILLION_LAUGHS)
    code = (
        "import sys\n"
        "from pcrs.vector.gml import GmlReader\n"
        "from pcrs.vector.xsd import load_schema\n"
        "r = GmlReader(sys.argv[1])\n"
        "texts = [p.text or '' for m in r.members(schema=load_schema(sys.argv[2]))\n"
        "         for f in getattr(m, 'features', ()) for p in f.props]\n"
        "assert not any('lollol' in t for t in texts), 'expanded'\n"
        "print('ok')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(p), str(pcrs_dir / "schemas")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "ok"


def test_text_node_over_10_mb_is_refused_with_an_explanation(tmp_path):
    from pcrs.vector.sample import delivery_text

    text = delivery_text(1, seed=5)
    big = " ".join(["1848001.000 5180001.000 150.000"] * 350_000)
    p = tmp_path / "huge.gml"
    p.write_text(text.replace("<gml:posList>", "<gml:posList>" + big + " ", 1))
    report = validate(p, schemas=False)
    (hit,) = [f for f in report.findings if f.rule == "PCRS-XML-002"]
    assert "10 MB" in hit.message() and hit.line == 3


def test_text_node_over_10_mb_is_refused_with_the_schema_step_too(tmp_path, pcrs_dir):
    """expat has no 10 MB limit: libxml2's, met in the validating parse, still decides."""
    from pcrs.vector.sample import delivery_text
    from pcrs.vector.validate import _expat_well_formed, _libxml2_pass
    from pcrs.vector.xsd import load_schema

    text = delivery_text(1, seed=5)
    big = " ".join(["1848001.000 5180001.000 150.000"] * 350_000)
    p = tmp_path / "huge.gml"
    p.write_text(text.replace("<gml:posList>", "<gml:posList>" + big + " ", 1))
    assert _expat_well_formed(p)
    assert _libxml2_pass(p, load_schema(pcrs_dir / "schemas"))[0]
