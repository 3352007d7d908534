"""The links family (with the attributes family, which hands it the link values): hrefs resolved in the file and across files, the expected class,
empty links, hrefs without #, the representation of an affleurant."""

from __future__ import annotations

import pytest

from pcrs.vector.rules.attributes import AttributeRules
from pcrs.vector.rules.links import LinkRules
from pcrs.vector.sample import delivery_text
from rule_helpers import edit, rules_of, run

P = "FR_0001"


@pytest.fixture(scope="module")
def base() -> str:
    return delivery_text(2, seed=1)


#: (link values reach the links family through the attributes family's walk)
FAMS = (AttributeRules, LinkRules)


def test_clean_delivery_has_no_link_finding(tmp_path, base):
    assert run(tmp_path, base, *FAMS) == []


def test_link_to_nowhere_and_to_the_wrong_class(tmp_path, base):
    text = edit(base, f"{P}_0_af", f'representation xlink:href="#{P}_0_af_rg"',
                'representation xlink:href="#nowhere"')  # fmt: skip
    text = edit(text, f"{P}_1_af", f'representation xlink:href="#{P}_1_af_rg"',
                f'representation xlink:href="#{P}_1_ar0"')  # fmt: skip
    found = run(tmp_path, text, *FAMS)
    assert sorted(rules_of(found)) == ["PCRS-LINK-001", "PCRS-LINK-002"]
    wrong = next(f for f in found if f.rule == "PCRS-LINK-002")
    assert (wrong.gml_id, wrong.params["target_cls"]) == (f"{P}_1_af", "ArbrePCRS")


def test_link_resolved_in_another_file_and_hrefs_without_hash(tmp_path, base):
    text = edit(base, f"{P}_0_af", f'representation xlink:href="#{P}_0_af_rg"',
                'representation xlink:href="other.gml#X_0_af_rg"')  # fmt: skip
    other = base.replace(f'gml:id="{P}_root"', 'gml:id="o"').replace(f"{P}_", "X_")
    other = other.replace('xlink:href="#', 'xlink:href="')
    found = run(tmp_path, [text, other], *FAMS)
    assert rules_of(found) == ["PCRS-LINK-003"]  # once, for the second file
    assert found[0].params["count"] == other.count('xlink:href="')


def test_empty_link_and_affleurant_without_representation(tmp_path, base):
    text = edit(
        base, f"{P}_0_af", f'<symbolisation xlink:href="#{P}_0_af_sy"/>', "<symbolisation/>"
    )
    text = edit(text, f"{P}_1_af_rg", f'<enveloppe xlink:href="#{P}_1_af_en"/>', "")
    found = run(tmp_path, text, *FAMS)
    assert sorted((f.rule, f.gml_id) for f in found) == [
        ("PCRS-LINK-004", f"{P}_1_af_rg"),
        ("PCRS-LINK-005", f"{P}_0_af"),
    ]
