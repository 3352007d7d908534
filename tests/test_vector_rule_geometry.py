"""The geometry family alone: type, validity by batches, Z and its precision, plausible Z."""

from __future__ import annotations

from pathlib import Path

import pytest

from pcrs.vector.engine import Options, Validator
from pcrs.vector.gml import GmlReader, sniff
from pcrs.vector.rules import Family, Finding
from pcrs.vector.rules.attributes import AttributeRules
from pcrs.vector.rules.geometry import BATCH, GeometryRules
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


def test_clean_delivery_has_no_geometry_finding(tmp_path, base):
    assert run(tmp_path, base, AttributeRules, GeometryRules) == []


def test_wrong_type_and_implausible_z(tmp_path, base):
    line = feature_line(base, f"{P}_0_ar0")
    z = line.split("<gml:pos>")[1].split("<")[0].split()[2]
    text = edit(base, f"{P}_0_ar0", f" {z}</gml:pos>", " 9999</gml:pos>")
    found = run(tmp_path, text, AttributeRules, GeometryRules)
    assert rules_of(found) == ["PCRS-GEOM-015"]
    assert found[0].params["value"] == "9999"


def test_z_without_its_precision(tmp_path, base):
    text = edit(base, f"{P}_0_ar0", "<precisionAltimetrique>005</precisionAltimetrique>", "")
    found = run(tmp_path, text, GeometryRules)  # (without AttributeRules: a missing value
    assert [(f.rule, f.gml_id) for f in found] == [("PCRS-GEOM-014", f"{P}_0_ar0")]  # too)


def test_validity_batches_keep_every_finding(tmp_path, monkeypatch):
    """Polygons are checked in batches: a batch of one gives the same findings."""
    text = delivery_text(6, seed=2)
    line = feature_line(text, "FR_0002_3_af_en")
    ring = line.split("<gml:posList>")[1].split("</gml:posList>")[0].split()
    bow = ring[:3] + ring[6:9] + ring[3:6] + ring[9:]  # swap two vertices: a bow tie
    bad = text.replace(line, line.replace(" ".join(ring), " ".join(bow)))
    whole = run(tmp_path, bad, AttributeRules, GeometryRules)
    monkeypatch.setattr("pcrs.vector.rules.geometry.BATCH", 1)
    one = run(tmp_path, bad, AttributeRules, GeometryRules)
    assert BATCH > 1
    assert [(f.rule, f.gml_id, f.x, f.y) for f in whole] == [
        (f.rule, f.gml_id, f.x, f.y) for f in one
    ]
    assert [f.gml_id for f in whole if f.rule == "PCRS-GEOM-003"] == ["FR_0002_3_af_en"]
