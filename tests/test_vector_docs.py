"""docs/validation.md lists exactly the rules of the registry (it cannot drift)."""

from __future__ import annotations

from pathlib import Path

from pcrs.vector.rules import RULES, rules_table

DOC = Path(__file__).resolve().parents[1] / "docs" / "validation.md"


def test_rules_catalogue_in_the_docs_matches_the_registry():
    text = DOC.read_text(encoding="utf-8")
    assert rules_table() in text


def test_every_rule_is_well_formed():
    for rid, rule in RULES.items():
        assert rid == rule.id and rid.startswith(("PCRS-", "LIDAR-"))
        assert rule.severity in ("error", "warning", "info")
        assert rule.message_en and rule.message_fr and rule.title_en and rule.title_fr
