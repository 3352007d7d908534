"""The CRS family alone: srsName known, allowed, one per file, present, area of use."""

from __future__ import annotations

import pytest

from pcrs.vector.rules.attributes import AttributeRules
from pcrs.vector.rules.crs import CrsRules
from pcrs.vector.sample import delivery_text
from rule_helpers import edit, feature_line, rules_of, run

P = "FR_0001"


@pytest.fixture(scope="module")
def base() -> str:
    return delivery_text(2, seed=1)


def test_clean_delivery_has_no_crs_finding(tmp_path, base):
    assert run(tmp_path, base, AttributeRules, CrsRules) == []


def test_other_crs_unknown_crs_and_swapped_xy(tmp_path, base):
    text = edit(base, f"{P}_0_pl", 'srsName="EPSG:3946"', 'srsName="EPSG:4326"')
    text = edit(text, f"{P}_1_pl", 'srsName="EPSG:3946"', 'srsName="EPSG:999999"')
    found = run(tmp_path, text, AttributeRules, CrsRules)
    assert {"PCRS-CRS-002", "PCRS-CRS-003", "PCRS-CRS-005"} <= set(rules_of(found))
    line = feature_line(base, f"{P}_0_ar0")
    x, y, _z = line.split("<gml:pos>")[1].split("<")[0].split()
    swapped = edit(base, f"{P}_0_ar0", f"<gml:pos>{x} {y}", f"<gml:pos>{y} {x}")
    found = run(tmp_path, swapped, AttributeRules, CrsRules)
    assert [(f.rule, f.gml_id) for f in found] == [("PCRS-CRS-004", f"{P}_0_ar0")]


def test_geometry_without_srs_name(tmp_path, base):
    text = edit(base, f"{P}_0_ar0", 'srsName="EPSG:3946" ', "")
    found = run(tmp_path, text, AttributeRules, CrsRules)
    assert [(f.rule, f.params["count"]) for f in found] == [("PCRS-CRS-007", 1)]
    none = base.replace('srsName="EPSG:3946" ', "")
    assert rules_of(run(tmp_path, none, AttributeRules, CrsRules)) == ["PCRS-CRS-001"]
