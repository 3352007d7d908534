"""The attributes family alone: classes of the model, attributes known, ordered, counted, typed."""

from __future__ import annotations

import pytest

from pcrs.vector.rules.attributes import AttributeRules
from pcrs.vector.sample import delivery_text
from rule_helpers import edit, rules_of, run

P = "FR_0001"


@pytest.fixture(scope="module")
def base() -> str:
    return delivery_text(2, seed=1)


def test_clean_delivery_has_no_attribute_finding(tmp_path, base):
    assert run(tmp_path, base, AttributeRules) == []


@pytest.mark.parametrize(
    ("gid", "old", "new", "count", "rule"),
    [
        (f"{P}_0_ar0", "ArbrePCRS", "ArbreRemarquablePCRS", 2, "PCRS-CLASS-001"),
        (f"{P}_0_lv", "LimiteVoiriePCRS", "BordurePCRS", 2, "PCRS-CLASS-002"),
        (f"{P}_0_ar0", "ArbrePCRS", "ObjetVecteurPCRS", 2, "PCRS-CLASS-003"),
        (f"{P}_0_ar0", "<reference>Platanus</reference>", "<reference/>", 1, "PCRS-ATTR-003"),
        (f"{P}_0_ar0", "<idObjet>FR_0001_0_ar0</idObjet>", "<idObjet/>", 1, "PCRS-ATTR-002"),
        (
            f"{P}_0_mu",
            "<typeMur>01</typeMur>",
            "<typeMur>01</typeMur><hauteur>2</hauteur>",
            1,
            "PCRS-ATTR-004",
        ),
        (
            f"{P}_0_mu",
            "<typeMur>01</typeMur>",
            "<typeMur>01</typeMur><typeMur>02</typeMur>",
            1,
            "PCRS-ATTR-005",
        ),
        (f"{P}_0_ar0", "<dateLeve>2024-03-12", "<dateLeve>12/03/2024", 1, "PCRS-ATTR-006"),
    ],
)
def test_attribute_rules(tmp_path, base, gid, old, new, count, rule):
    found = run(tmp_path, edit(base, gid, old, new, count), AttributeRules)
    assert [(f.rule, f.gml_id) for f in found] == [(rule, gid)]


def test_missing_and_misplaced_attributes(tmp_path, base):
    text = edit(base, f"{P}_0_ar0", "<producteur>Géomètre Exemple</producteur>", "")
    found = run(tmp_path, text, AttributeRules)
    assert rules_of(found) == ["PCRS-ATTR-001"]
    text = edit(base, f"{P}_0_ar0", "<reference>Platanus</reference>", "")
    text = edit(text, f"{P}_0_ar0", "<dateLeve>", "<reference>Platanus</reference><dateLeve>")
    assert rules_of(run(tmp_path, text, AttributeRules)) == ["PCRS-ATTR-007"]
