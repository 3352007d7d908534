"""The geometry family alone: type, validity by batches, Z and its precision, plausible Z."""

from __future__ import annotations

import pytest

from pcrs.vector.rules.attributes import AttributeRules
from pcrs.vector.rules.geometry import BATCH, GeometryRules
from pcrs.vector.sample import delivery_text
from rule_helpers import edit, feature_line, rules_of, run

P = "FR_0001"


@pytest.fixture(scope="module")
def base() -> str:
    return delivery_text(2, seed=1)


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
