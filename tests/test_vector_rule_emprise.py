"""The emprise family alone: one emprise, objects inside it, objects linked from it."""

from __future__ import annotations

import re

import pytest

from pcrs.vector.rules.attributes import AttributeRules
from pcrs.vector.rules.emprise import EmpriseRules
from pcrs.vector.rules.links import LinkRules
from pcrs.vector.sample import delivery_text
from rule_helpers import edit, feature_line, rules_of, run

P = "FR_0001"


@pytest.fixture(scope="module")
def base() -> str:
    return delivery_text(2, seed=1)


def test_clean_delivery_has_no_emprise_finding(tmp_path, base):
    assert run(tmp_path, base, AttributeRules, LinkRules, EmpriseRules) == []


def test_no_emprise(tmp_path, base):
    text = re.sub(r"<featureMember><EmpriseEchangePCRS.*?</featureMember>\n", "", base, flags=re.S)
    assert rules_of(run(tmp_path, text, AttributeRules, EmpriseRules)) == ["PCRS-EMP-001"]


def test_object_outside_and_object_not_linked(tmp_path, base):
    line = feature_line(base, f"{P}_0_ar0")
    x = line.split("<gml:pos>")[1].split()[0]
    text = edit(base, f"{P}_0_ar0", f"<gml:pos>{x}", f"<gml:pos>{float(x) + 5000:.3f}")
    text = text.replace(f'<objet xlink:href="#{P}_1_mu"/>\n', "")
    found = run(tmp_path, text, AttributeRules, LinkRules, EmpriseRules)
    assert [(f.rule, f.gml_id) for f in found] == [
        ("PCRS-EMP-003", f"{P}_0_ar0"),
        ("PCRS-EMP-004", f"{P}_1_mu"),
    ]
    assert found[1].params["count"] == 1
