"""The identifiers family alone: gml:id present and unique per file, identifiers unique across
the delivery, geometries without gml:id."""

from __future__ import annotations

import pytest

from pcrs.vector.rules.identifiers import IdentifierRules
from pcrs.vector.sample import delivery_text
from rule_helpers import edit, rules_of, run

P = "FR_0001"


@pytest.fixture(scope="module")
def base() -> str:
    return delivery_text(2, seed=1)


def test_clean_delivery_has_no_identifier_finding(tmp_path, base):
    assert run(tmp_path, base, IdentifierRules) == []


def test_missing_and_repeated_gml_id(tmp_path, base):
    text = edit(base, f"{P}_0_ar1", f'gml:id="{P}_0_ar1"', f'gml:id="{P}_0_ar0"')
    text = edit(text, f"{P}_0_lv", f'<LimiteVoiriePCRS gml:id="{P}_0_lv">', "<LimiteVoiriePCRS>")
    found = run(tmp_path, text, IdentifierRules)
    assert sorted(rules_of(found)) == ["PCRS-ID-001", "PCRS-ID-003"]
    dup = next(f for f in found if f.rule == "PCRS-ID-003")
    assert dup.params["first_line"] < dup.line


def test_id_objet_unique_across_files(tmp_path, base):
    other = base.replace(f'gml:id="{P}_root"', 'gml:id="other_root"')
    found = run(tmp_path, [base, other], IdentifierRules)
    dup = [f for f in found if f.rule == "PCRS-ID-004"]
    assert dup and all(f.file.endswith("f1.gml") for f in dup)
    assert " of f0.gml" in dup[0].params["first"] and " de f0.gml" in dup[0].params["first_fr"]


def test_geometries_without_gml_id_are_reported_once(tmp_path, base):
    text = base.replace(f'<gml:Point gml:id="{P}_0_ar0-g" ', "<gml:Point ")
    text = text.replace(f'<gml:Point gml:id="{P}_0_ar1-g" ', "<gml:Point ")
    found = run(tmp_path, text, IdentifierRules)
    (hit,) = found
    assert hit.rule == "PCRS-ID-002" and hit.params["count"] == 2 and hit.gml_id == f"{P}_0_ar0"
