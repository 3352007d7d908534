"""The emprise family alone: one emprise, objects inside it, objects linked from it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pcrs.vector.engine import Options, Validator
from pcrs.vector.gml import GmlReader, sniff
from pcrs.vector.rules import Family, Finding
from pcrs.vector.rules.attributes import AttributeRules
from pcrs.vector.rules.emprise import EmpriseRules
from pcrs.vector.rules.links import LinkRules
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
