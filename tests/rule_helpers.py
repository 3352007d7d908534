"""Shared helpers of the rule-family tests (tests/test_vector_rule_*.py): run some
families alone on texts, and edit one feature of a generated delivery."""

from __future__ import annotations

from pathlib import Path

from pcrs.vector.engine import Options, Validator
from pcrs.vector.gml import GmlReader, sniff
from pcrs.vector.rules import Family, Finding


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
