"""The precision and file families alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from pcrs.vector.engine import Options, Validator
from pcrs.vector.gml import GmlReader, sniff
from pcrs.vector.rules import Family, Finding
from pcrs.vector.rules.attributes import AttributeRules
from pcrs.vector.rules.file import FileRules
from pcrs.vector.rules.precision import PrecisionRules
from pcrs.vector.sample import delivery_text

P = "FR_0001"


@pytest.fixture(scope="module")
def base() -> str:
    return delivery_text(2, seed=1)


def run(
    tmp_path: Path,
    texts: str | list[str],
    *families: type[Family],
    options: Options | None = None,
) -> list[Finding]:
    """Validate ``texts`` (one text per file) with only ``families`` (all when none)."""
    v = Validator(options, families=families or None)
    for k, text in enumerate([texts] if isinstance(texts, str) else texts):
        path = tmp_path / f"f{k}.gml"
        path.write_text(text, encoding="utf-8")
        v.start_file(str(path), sniff(path))
        for m in GmlReader(path).members():
            v.member(m)
        v.end_file()
    v.finish()
    return v.findings


def rules_of(findings: list[Finding]) -> list[str]:
    return [f.rule for f in findings]


def feature_line(text: str, gid: str) -> str:
    for line in text.splitlines():
        if f'gml:id="{gid}"' in line and "featureMember>" in line:
            return line
    raise AssertionError(gid)


def edit(text: str, gid: str, old: str, new: str, count: int = 1) -> str:
    """Replace ``old`` by ``new`` in the featureMember line of ``gid``."""
    line = feature_line(text, gid)
    assert old in line, (gid, old)
    return text.replace(line, line.replace(old, new, count))


def test_clean_delivery_has_no_file_or_precision_finding(tmp_path, base):
    assert run(tmp_path, base, FileRules, PrecisionRules) == []


def test_precision_threshold(tmp_path, base):
    text = edit(base, f"{P}_1_se", "<precisionPlanimetrique>005", "<precisionPlanimetrique>040")
    assert rules_of(run(tmp_path, text, PrecisionRules)) == ["PCRS-PREC-001"]
    loose = Options(precision_threshold_cm=50)
    assert run(tmp_path, text, PrecisionRules, options=loose) == []


def test_version_and_beta_draft(tmp_path, base):
    text = base.replace('version="2.0"', 'version="2.0beta2"', 1)
    text = edit(text, f"{P}_0_lv", "LimiteVoiriePCRS", "BordurePCRS", 2)
    found = run(tmp_path, text, FileRules, AttributeRules)
    assert rules_of(found) == ["PCRS-FILE-002", "PCRS-CLASS-002", "PCRS-FILE-004"]
    assert "class BordurePCRS" in found[-1].params["detail"]


def test_empty_feature_member(tmp_path, base):
    text = base.replace("<featureMember>", "<featureMember></featureMember><featureMember>", 1)
    assert rules_of(run(tmp_path, text, FileRules)) == ["PCRS-FILE-006"]
