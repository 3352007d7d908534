"""The dates family alone: plausible dates, survey before publication, acquisition before
acceptance."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pcrs.vector.engine import Options, Validator
from pcrs.vector.gml import GmlReader, sniff
from pcrs.vector.rules import Family, Finding
from pcrs.vector.rules.attributes import AttributeRules
from pcrs.vector.rules.dates import DateRules
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
