"""The code-list family alone: closed and extensible lists, their extensions, thematique."""

from __future__ import annotations

import pytest

from pcrs.vector.rules.attributes import AttributeRules
from pcrs.vector.rules.codes import CodeRules
from pcrs.vector.sample import delivery_text
from rule_helpers import edit, run

P = "FR_0001"


@pytest.fixture(scope="module")
def base() -> str:
    return delivery_text(2, seed=1)


def test_clean_delivery_has_no_code_finding(tmp_path, base):
    assert run(tmp_path, base, AttributeRules, CodeRules) == []


@pytest.mark.parametrize(
    ("gid", "old", "new", "rule"),
    [
        (f"{P}_0_mu", "<typeMur>01</typeMur>", "<typeMur>07</typeMur>", "PCRS-CODE-001"),
        (f"{P}_0_af", "<reseau>ELEC</reseau>", "<reseau>FIBRE</reseau>", "PCRS-CODE-002"),
        (f"{P}_0_af", "<reseau>ELEC</reseau>", "<reseau>other: FIBRE</reseau>", "PCRS-CODE-003"),
        (f"{P}_0_ar0", "<thematique>06", "<thematique>03", "PCRS-THEME-001"),
    ],
)
def test_code_values(tmp_path, base, gid, old, new, rule):
    found = run(tmp_path, edit(base, gid, old, new), AttributeRules, CodeRules)
    assert [(f.rule, f.gml_id) for f in found] == [(rule, gid)]
    assert found[0].message("en") != found[0].message("fr")


def test_values_checked_again_once_the_structure_is_known_sound(tmp_path, base):
    """The second wall has the same properties as the first (a plan): still checked."""
    text = edit(base, f"{P}_1_mu", "<typeMur>01</typeMur>", "<typeMur>07</typeMur>")
    found = run(tmp_path, text, AttributeRules, CodeRules)
    assert [(f.rule, f.gml_id) for f in found] == [("PCRS-CODE-001", f"{P}_1_mu")]
