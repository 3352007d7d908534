"""The dates family alone: plausible dates, survey before publication, acquisition before
acceptance."""

from __future__ import annotations

import datetime as dt

import pytest

from pcrs.vector.engine import Options
from pcrs.vector.rules.attributes import AttributeRules
from pcrs.vector.rules.dates import DateRules
from pcrs.vector.sample import delivery_text
from rule_helpers import edit, run

P = "FR_0001"


@pytest.fixture(scope="module")
def base() -> str:
    return delivery_text(2, seed=1)


def test_clean_delivery_has_no_date_finding(tmp_path, base):
    assert run(tmp_path, base, AttributeRules, DateRules) == []


def test_survey_after_publication_and_implausible_dates(tmp_path, base):
    text = edit(base, f"{P}_1_se", "<dateLeve>2024-03-12", "<dateLeve>2025-09-30")
    text = edit(text, f"{P}_0_se", "<dateLeve>2024-03-12", "<dateLeve>1850-01-01")
    found = run(tmp_path, text, AttributeRules, DateRules,
                options=Options(today=dt.date(2026, 1, 1)))  # fmt: skip
    assert sorted((f.rule, f.gml_id) for f in found) == [
        ("PCRS-DATE-001", f"{P}_1_se"),
        ("PCRS-DATE-002", f"{P}_0_se"),
    ]
    future = run(tmp_path, text, AttributeRules, DateRules,
                 options=Options(today=dt.date(2025, 1, 1)))  # fmt: skip
    assert ("PCRS-DATE-002", f"{P}_1_se") in {(f.rule, f.gml_id) for f in future}
