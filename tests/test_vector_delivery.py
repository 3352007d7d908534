"""Whole-delivery semantics: the files validated together are one delivery.

A link that resolves in none of them (PCRS-LINK-001) and a file without EmpriseEchangePCRS
(PCRS-EMP-001) are errors; ``partial=True`` (``--partial``) says the files are a piece of a
delivery and makes them warnings. Synthetic deliveries (always run) and real Lyon files
copied into ``tmp_path`` (skipped when the shared data is absent).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from pcrs.cli.main import FindingsExit, cli
from pcrs.vector import validate
from pcrs.vector.sample import delivery_text

DELIVERY_RULES = {"PCRS-LINK-001", "PCRS-EMP-001"}
_EMPRISE_MEMBER = re.compile(
    r"<featureMember[^>]*>\s*<EmpriseEchangePCRS\b.*?</featureMember>\s*", re.S
)


def _without_emprise(text: str) -> str:
    out, n = _EMPRISE_MEMBER.subn("", text)
    assert n == 1
    return out


def _break_first_objet(text: str) -> tuple[str, str]:
    """The text with the emprise's first ``objet`` link pointing to nothing, and that href."""
    m = re.search(r'<objet xlink:href="([^"]+)"', text)
    assert m is not None
    broken = m.group(1)[:-4] + "nope"
    return text[: m.start(1)] + broken + text[m.end(1) :], broken


def _by_rule(report, rule: str) -> list:
    return [f for f in report.findings if f.rule == rule]


def _errors(report) -> set[str]:
    return {f.rule for f in report.findings if f.severity == "error"}


# --- synthetic deliveries --------------------------------------------------------------------


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    """Two clean files of one delivery, side by side; a's emprise also lists one of b's
    objects (a link resolved only across the files)."""
    a = delivery_text(1, seed=1).replace(
        '<objet xlink:href="#FR_0001_0_lv"/>',
        '<objet xlink:href="#FR_0001_0_lv"/><objet xlink:href="#FR_0002_0_lv"/>',
    )
    b = delivery_text(1, seed=2, origin=(1_848_060.0, 5_180_000.0))
    pa, pb = tmp_path / "a.gml", tmp_path / "b.gml"
    pa.write_text(a, encoding="utf-8")
    pb.write_text(b, encoding="utf-8")
    return pa, pb


def test_a_clean_delivery_has_no_delivery_finding(pair):
    report = validate(list(pair), schemas=False)
    assert not report.has_errors, [f.message() for f in report.findings]
    assert not DELIVERY_RULES & {f.rule for f in report.findings}
    assert report.partial is False and report.summary()["partial"] is False


def test_a_link_to_another_file_resolves_only_when_both_are_validated(pair):
    a, _b = pair
    alone = validate(a, schemas=False)
    (hit,) = _by_rule(alone, "PCRS-LINK-001")
    assert hit.severity == "error" and "FR_0002_0_lv" in hit.message()
    assert alone.has_errors
    piece = validate(a, schemas=False, partial=True)
    (hit,) = _by_rule(piece, "PCRS-LINK-001")
    assert hit.severity == "warning" and not piece.has_errors
    assert piece.summary()["partial"] is True
    assert piece.summary()["errors"] == 0 and piece.summary()["warnings"] >= 1


def test_a_broken_link_is_an_error_of_the_delivery(pair, tmp_path):
    a, b = pair
    text, href = _break_first_objet(a.read_text(encoding="utf-8"))
    a.write_text(text, encoding="utf-8")
    report = validate([a, b], schemas=False)
    (hit,) = _by_rule(report, "PCRS-LINK-001")
    assert hit.severity == "error" and hit.file == str(a) and href in hit.message()
    assert report.summary()["by_rule"]["PCRS-LINK-001"]["severity"] == "error"
    piece = validate([a, b], schemas=False, partial=True)
    assert [f.severity for f in _by_rule(piece, "PCRS-LINK-001")] == ["warning"]
    assert not piece.has_errors


def test_a_file_without_emprise_is_an_error_unless_partial(pair):
    a, b = pair
    b.write_text(_without_emprise(b.read_text(encoding="utf-8")), encoding="utf-8")
    report = validate([a, b], schemas=False)
    (hit,) = _by_rule(report, "PCRS-EMP-001")
    assert hit.severity == "error" and hit.file == str(b)
    # a's emprise still lists b's object: the cross-file link resolves
    assert _errors(report) == {"PCRS-EMP-001"}
    piece = validate([a, b], schemas=False, partial=True)
    assert [f.severity for f in _by_rule(piece, "PCRS-EMP-001")] == ["warning"]
    assert not piece.has_errors


def test_the_strict_profile_keeps_the_emprise_required_even_in_a_piece(pair):
    _a, b = pair
    b.write_text(_without_emprise(b.read_text(encoding="utf-8")), encoding="utf-8")
    piece = validate(b, schemas=False, partial=True, profile="strict")
    assert [f.severity for f in _by_rule(piece, "PCRS-EMP-001")] == ["error"]
    assert piece.has_errors


def test_other_cross_file_rules_stay_errors_in_a_piece(pair):
    """Partial lowers only what a piece cannot judge: a duplicate identifier or a link to a
    feature of the wrong class is wrong whatever else the delivery holds."""
    a, b = pair
    text_b = b.read_text(encoding="utf-8").replace("FR_0002_0_fa<", "FR_0001_0_fa<", 1)
    b.write_text(text_b, encoding="utf-8")
    piece = validate([a, b], schemas=False, partial=True)
    assert "PCRS-ID-004" in _errors(piece)


def test_cli_partial_turns_the_exit_code(pair):
    a, _b = pair
    whole = CliRunner().invoke(cli, ["validate", "--no-schema", "--no-config", str(a)])
    assert isinstance(whole.exception, FindingsExit)
    assert "PCRS-LINK-001" in whole.output
    piece = CliRunner().invoke(cli, ["validate", "--no-schema", "--no-config", "--partial", str(a)])
    assert piece.exit_code == 0, piece.output
    assert "partial delivery" in piece.output


# --- real deliveries (Lyon), copied into tmp_path -------------------------------------------


@pytest.fixture
def lyon(pcrs_dir: Path, tmp_path: Path) -> list[Path]:
    files = sorted((pcrs_dir / "cnig" / "examples" / "lyon").glob("*.gml"))[:2]
    if len(files) < 2:
        pytest.skip("the Lyon examples are not in the shared data")
    out = []
    for f in files:
        out.append(Path(shutil.copy(f, tmp_path / f.name)))
    return out


def test_lyon_as_delivered_has_no_delivery_error(lyon):
    report = validate(lyon, schemas=False)
    assert not DELIVERY_RULES & _errors(report)
    assert not report.has_errors


def test_lyon_with_a_broken_link(lyon):
    first = lyon[0]
    text, href = _break_first_objet(first.read_text(encoding="utf-8-sig"))
    first.write_text(text, encoding="utf-8")
    report = validate(lyon, schemas=False)
    (hit,) = _by_rule(report, "PCRS-LINK-001")
    assert hit.severity == "error" and hit.file == str(first) and href in hit.message()
    assert hit.feature_class == "EmpriseEchangePCRS" and hit.line is not None
    assert report.has_errors
    piece = validate(lyon, schemas=False, partial=True)
    assert [f.severity for f in _by_rule(piece, "PCRS-LINK-001")] == ["warning"]
    assert not piece.has_errors


def test_lyon_with_the_emprise_removed(lyon):
    first = lyon[0]
    first.write_text(_without_emprise(first.read_text(encoding="utf-8-sig")), encoding="utf-8")
    report = validate(lyon, schemas=False)
    (hit,) = _by_rule(report, "PCRS-EMP-001")
    assert hit.severity == "error" and hit.file == str(first)
    assert _errors(report) == {"PCRS-EMP-001"}
    piece = validate(lyon, schemas=False, partial=True)
    assert [f.severity for f in _by_rule(piece, "PCRS-EMP-001")] == ["warning"]
    assert not piece.has_errors
    strict_piece = validate(lyon, schemas=False, partial=True, profile="strict")
    assert "PCRS-EMP-001" in _errors(strict_piece)
