"""The precision and file families alone."""

from __future__ import annotations

import pytest

from pcrs.vector.engine import Options
from pcrs.vector.rules.attributes import AttributeRules
from pcrs.vector.rules.file import FileRules
from pcrs.vector.rules.precision import PrecisionRules
from pcrs.vector.sample import delivery_text
from rule_helpers import edit, rules_of, run

P = "FR_0001"


@pytest.fixture(scope="module")
def base() -> str:
    return delivery_text(2, seed=1)


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
