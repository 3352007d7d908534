"""The engine and the rule families as units: registry, hooks and their order, a family added
in one file, findings in columns, reading a file again."""

from __future__ import annotations

from pathlib import Path

import pytest

from pcrs.vector.engine import Options, Validator
from pcrs.vector.gml import GmlReader, sniff
from pcrs.vector.rules import FAMILIES, Family, Finding, on
from pcrs.vector.sample import delivery_text
from rule_helpers import edit, rules_of, run

P = "FR_0001"


@pytest.fixture(scope="module")
def base() -> str:
    return delivery_text(2, seed=1)


def test_every_rule_is_declared_and_emitted_by_one_family():
    """Each rule sits in one family module beside the code that emits it."""
    import pcrs.vector.rules as rules_pkg
    from pcrs.vector.rules import RULES

    src = Path(rules_pkg.__file__).parent
    declared: dict[str, str] = {}
    for fam in FAMILIES:
        for r in fam.rules:
            assert r.id not in declared
            declared[r.id] = fam.__module__
    assert set(declared) == set(RULES)
    # emitted outside the families: around the reading (validate.py), by the engine's
    # xml_error, by the LiDAR cross-check
    elsewhere = {"PCRS-XML-001", "PCRS-XML-002", "PCRS-XML-003", "PCRS-FILE-001",
                 "PCRS-XSD-001", "PCRS-XSD-002"}  # fmt: skip
    # the rules of pcrs check-lidar are declared here, emitted by pcrs.lidarcheck
    checks = "".join(
        f.read_text(encoding="utf-8") for f in (src.parents[1] / "lidarcheck").glob("*.py")
    )
    for rid, module in declared.items():
        if rid.startswith("LIDAR-"):
            assert f'"{rid}"' in checks, f"{rid} is not emitted in pcrs.lidarcheck"
            continue
        if rid in elsewhere or rid.startswith("PCRS-LIDAR-"):
            continue
        text = (src / (module.rpartition(".")[2] + ".py")).read_text(encoding="utf-8")
        assert text.count(f'"{rid}"') >= 2, f"{rid} is not emitted in {module}"


def test_hooks_run_by_their_order_whatever_the_family(tmp_path, base):
    seen: list[str] = []

    class Late(Family):
        @on("feature", 500)
        def last(self, fv):
            seen.append("late")

    class Early(Family):
        @on("feature", 1)
        def first(self, fv):
            seen.append("early")

        @on("feature", 499)
        def stop(self, fv):
            seen.append("stop")
            return fv.f.cls != "ArbrePCRS"  # False: the hooks after it do not run

    v = Validator(families=(Late, Early))
    assert [h.__name__ for h in v._hooks["feature"]] == ["first", "stop", "last"]
    run(tmp_path, base, Late, Early)
    n = base.count("<featureMember>")
    trees = base.count("<ArbrePCRS ")
    assert seen.count("early") == seen.count("stop") == n
    assert seen.count("late") == n - trees
    assert seen[:3] == ["early", "stop", "late"]


def test_a_family_in_one_file_adds_a_rule(tmp_path, base):
    """A rule written as a family of its own, with no change to the engine."""
    from pcrs.vector.rules import RULES, Rule, rule

    class TreeSpecies(Family):
        order = 999
        rules = (rule("PCRS-TEST-001", "warning", "t", "t", "{value} is not a plane tree",
                      "{value} n'est pas un platane"),)  # fmt: skip

        @on("feature", 85)
        def species(self, fv):
            if fv.f.cls == "ArbrePCRS" and fv.texts.get("reference") != "Platanus":
                self.v.emit("PCRS-TEST-001", fv.loc, "reference", value=fv.texts["reference"])

    RULES["PCRS-TEST-001"] = TreeSpecies.rules[0]
    try:
        text = edit(base, f"{P}_0_ar0", "Platanus", "Quercus")
        found = run(tmp_path, text, *FAMILIES, TreeSpecies)
        hits = [f for f in found if f.rule == "PCRS-TEST-001"]
        assert [(f.gml_id, f.params["value"]) for f in hits] == [(f"{P}_0_ar0", "Quercus")]
        assert hits[0].message("fr") == "Quercus n'est pas un platane"
        assert isinstance(TreeSpecies.rules[0], Rule)
    finally:
        del RULES["PCRS-TEST-001"]


def test_unknown_stage_is_refused():
    with pytest.raises(ValueError, match="unknown stage"):
        on("features", 1)


def test_finding_store_gives_back_what_was_stored():
    from pcrs.vector.rules import FindingStore

    store = FindingStore()
    nan = float("nan")
    store.add("PCRS-GEOM-003", {"detail": "x", "cls": "MurPCRS"}, "a.gml", 12, "MurPCRS", "g1",
              "o1", 1.5, nan, "geometrie")  # fmt: skip
    store.add("PCRS-EMP-001", {}, None, None, None, None, None, None, None, None)
    store.add("PCRS-GEOM-003", {"detail": "y", "cls": "MurPCRS"}, "a.gml", 13, "MurPCRS", None,
              None, None, 2.0, "geometrie")  # fmt: skip
    a, b, c = list(store)
    assert (a.rule, a.params, a.file, a.line, a.feature_class, a.gml_id, a.id_objet, a.x,
            a.field) == ("PCRS-GEOM-003", {"detail": "x", "cls": "MurPCRS"}, "a.gml", 12,
                         "MurPCRS", "g1", "o1", 1.5, "geometrie")  # fmt: skip
    assert a.y != a.y  # a NaN coordinate stays a NaN, None stays None
    assert b == Finding("PCRS-EMP-001", {})
    assert (c.x, c.y, c.gml_id) == (None, 2.0, None)
    store.truncate(1)
    assert len(store) == 1 and (store[0].rule, store[0].line) == (a.rule, a.line)


def test_rollback_forgets_findings_identifiers_and_links(tmp_path, base):
    bad = edit(base, f"{P}_0_af", f'representation xlink:href="#{P}_0_af_rg"',
               'representation xlink:href="#nowhere"')  # fmt: skip
    path = tmp_path / "a.gml"
    path.write_text(bad)
    v = Validator()
    mark = v.mark()
    for _ in range(2):  # read, forget, read again: nothing counted twice
        v.rollback(mark)
        v.start_file(str(path), sniff(path))
        for m in GmlReader(path).members():
            v.member(m)
        v.end_file()
    v.finish()
    rules = rules_of(v.findings)
    assert rules.count("PCRS-LINK-001") == 1
    assert "PCRS-ID-004" not in rules


def test_suppressed_over_the_cap_per_file_and_rule(tmp_path, base):
    text = base.replace("<reference>Platanus</reference>", "<reference></reference>")
    n = text.count("<reference></reference>")
    assert n > 3
    v = Validator(Options(max_findings_per_rule=2))
    path = tmp_path / "a.gml"
    path.write_text(text)
    v.start_file(str(path), sniff(path))
    for m in GmlReader(path).members():
        v.member(m)
    v.end_file()
    assert rules_of(v.findings).count("PCRS-ATTR-003") == 2
    assert v.suppressed["PCRS-ATTR-003"] == n - 2


def test_cycles_left_behind_are_collected_while_the_collector_is_off(tmp_path, base):
    """validate turns the cyclic collector off; members read by lxml leave reference cycles
    (and their parsed trees) behind: the validator collects the young ones as it goes."""
    import gc
    import weakref

    class Node:
        me: object

    path = tmp_path / "a.gml"
    path.write_text(base)
    members = list(GmlReader(path).members())
    v = Validator()
    v.COLLECT_ABOVE = 200
    v.start_file(str(path), sniff(path))
    refs = []
    was_on = gc.isenabled()
    gc.disable()
    try:
        for m in members * 5:
            cycle = Node()
            cycle.me = cycle
            refs.append(weakref.ref(cycle))
            del cycle
            v.member(m)
        alive = sum(r() is not None for r in refs)
    finally:
        if was_on:
            gc.enable()
    assert len(refs) > 100
    assert alive < len(refs) // 4
