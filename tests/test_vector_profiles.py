"""Acceptance profiles (:mod:`pcrs.vector.profiles`): select/ignore, severities, thresholds,
``extends``, the project file, the reports, the command line and the errors."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from pcrs.cli.main import FindingsExit, cli, main
from pcrs.errors import ParameterError
from pcrs.vector import Options, validate
from pcrs.vector.engine import Validator
from pcrs.vector.profiles import (
    BUILTIN_PROFILES,
    Profile,
    ProfileError,
    find_project_file,
    load_profile,
    resolve_profile,
)
from pcrs.vector.rules import RULES
from pcrs.vector.sample import delivery_text

# --- the built-in profiles -------------------------------------------------------------------


PCRS_RULES = frozenset(r for r in RULES if r.startswith("PCRS-"))


def test_cnig_is_the_registry_and_the_default_options():
    cnig = load_profile("cnig")
    assert cnig.name == "cnig" and cnig.origin == "built-in"
    # the PCRS rules: cnig selects ["PCRS"], not the LIDAR-* rules of pcrs check-lidar
    assert cnig.rules == PCRS_RULES and cnig.run_severities() == {}
    assert dataclasses.replace(cnig.make_options(), today=Options().today) == Options()
    assert resolve_profile(None) == cnig


def test_strict_is_what_an_acceptance_expects():
    strict = load_profile("strict")
    assert strict.extends == ("cnig",)
    for rule in ("PCRS-EMP-001", "PCRS-EMP-003", "PCRS-PREC-001", "PCRS-ATTR-003"):
        assert strict.severity(rule) == "error"
    assert strict.make_options().precision_threshold_cm == 40  # DT-DICT class A
    assert strict.rules == PCRS_RULES


def test_builtin_profiles_ship_as_package_data():
    from importlib import resources

    for name in BUILTIN_PROFILES:
        assert (resources.files("pcrs.vector") / "profiles" / f"{name}.toml").is_file()


# --- select, ignore, severity ----------------------------------------------------------------


def _rules(text: str) -> frozenset[str]:
    return Profile.from_text(text).rules


def test_select_and_ignore_by_id_and_prefix():
    geom = {r for r in RULES if r.startswith("PCRS-GEOM")}
    assert _rules('select = ["PCRS-GEOM"]') == geom
    assert _rules('ignore = ["PCRS-GEOM"]') == frozenset(RULES) - geom
    assert _rules('ignore = ["PCRS-LINK-001"]') == frozenset(RULES) - {"PCRS-LINK-001"}
    assert _rules('select = ["PCRS-GEOM-01"]') == {r for r in geom if r.startswith("PCRS-GEOM-01")}
    assert _rules("select = []") == frozenset()


def test_the_more_specific_entry_decides_and_ignore_wins_a_tie():
    assert _rules('select = ["PCRS-GEOM-016"]\nignore = ["PCRS-GEOM"]') == {"PCRS-GEOM-016"}
    assert "PCRS-GEOM-016" not in _rules('select = ["PCRS-GEOM"]\nignore = ["PCRS-GEOM-016"]')
    assert _rules('select = ["PCRS-GEOM-016"]\nignore = ["PCRS-GEOM-016"]') == frozenset()


def test_severity_by_id_and_prefix_longest_wins():
    p = Profile.from_text('[severity]\n"PCRS-GEOM" = "info"\n"PCRS-GEOM-003" = "warning"')
    assert p.severity("PCRS-GEOM-001") == "info"
    assert p.severity("PCRS-GEOM-003") == "warning"
    assert p.severity("PCRS-CODE-001") == "error"


def test_extends_layers_like_ruff(tmp_path):
    (tmp_path / "base.toml").write_text(
        'extends = "strict"\nignore = ["PCRS-GEOM-016"]\n[severity]\n"PCRS-ATTR-003" = "info"\n'
        "[options]\nemprise_tolerance = 0.25\n"
    )
    child = tmp_path / "child.toml"
    child.write_text('extends = "base.toml"\nname = "syndicat"\nextend-select = ["PCRS-GEOM-016"]')
    p = load_profile(child)
    assert p.name == "syndicat" and p.origin == str(child)
    assert p.extends == ("base", "strict", "cnig")
    assert "PCRS-GEOM-016" in p.rules  # extend-select takes back what the parent ignored
    assert p.severity("PCRS-ATTR-003") == "info"  # the child's layer beats strict's
    assert p.severity("PCRS-EMP-003") == "error"  # strict's, inherited
    opts = p.make_options()
    assert opts.emprise_tolerance == 0.25 and opts.precision_threshold_cm == 40


def test_inline_profile_extends_a_built_in_one():
    p = Profile.from_text('extends = "strict"\nignore = ["PCRS-GEOM"]')
    assert p.extends == ("strict", "cnig") and p.severity("PCRS-ATTR-003") == "error"
    assert not any(r.startswith("PCRS-GEOM") for r in p.rules)


def test_extends_cycle_is_refused(tmp_path):
    (tmp_path / "a.toml").write_text('extends = "b.toml"')
    (tmp_path / "b.toml").write_text('extends = "a.toml"')
    with pytest.raises(ProfileError, match="cycle"):
        load_profile(tmp_path / "a.toml")


# --- effects on a run ------------------------------------------------------------------------


@pytest.fixture
def empty_producers(tmp_path: Path) -> Path:
    """A delivery whose objects all have an empty ``producteur`` (PCRS-ATTR-003, a warning
    of cnig, an error of strict)."""
    text = delivery_text(1, seed=5).replace(
        "<producteur>Géomètre Exemple</producteur>", "<producteur></producteur>"
    )
    p = tmp_path / "producers.gml"
    p.write_text(text, encoding="utf-8")
    return p


@pytest.fixture
def wrong_code(tmp_path: Path) -> Path:
    text = delivery_text(1, seed=3).replace("<typeMur>01</typeMur>", "<typeMur>07</typeMur>", 1)
    p = tmp_path / "code.gml"
    p.write_text(text, encoding="utf-8")
    return p


def test_a_severity_override_changes_everything_downstream(empty_producers):
    cnig = validate(empty_producers, schemas=False)
    n = len([f for f in cnig.findings if f.rule == "PCRS-ATTR-003"])
    assert n > 3 and not cnig.has_errors and cnig.summary()["errors"] == 0
    strict = validate(empty_producers, schemas=False, profile="strict")
    assert strict.has_errors and strict.counts()["error"] == n
    data = json.loads(strict.to_json())
    assert data["summary"]["by_rule"]["PCRS-ATTR-003"]["severity"] == "error"
    assert {f["severity"] for f in data["findings"] if f["rule"] == "PCRS-ATTR-003"} == {"error"}
    assert data["summary"]["valid"] is False and data["summary"]["errors"] == n
    assert data["summary"]["profile"] == {
        "name": "strict",
        "origin": "built-in",
        "extends": ["cnig"],
    }


def test_a_severity_override_reaches_findings_over_the_cap(empty_producers, tmp_path):
    prof = tmp_path / "capped.toml"
    prof.write_text('extends = "strict"\n[options]\nmax_findings_per_rule = 1\n')
    report = validate(empty_producers, schemas=False, profile=prof)
    assert report.suppressed.get("PCRS-ATTR-003", 0) > 0
    listed = [f for f in report.findings if f.rule == "PCRS-ATTR-003"]
    assert len(listed) == 1
    assert report.counts()["error"] == 1 + report.suppressed["PCRS-ATTR-003"]
    prof.write_text(
        'extends = "strict"\n[severity]\n"PCRS-ATTR-003" = "warning"\n'
        "[options]\nmax_findings_per_rule = 1\n"
    )
    report = validate(empty_producers, schemas=False, profile=prof)
    assert not report.has_errors and report.summary()["by_rule"]["PCRS-ATTR-003"]["count"] > 1


def test_downgrading_an_error_lets_the_delivery_pass(wrong_code, tmp_path):
    prof = tmp_path / "lenient.toml"
    prof.write_text('[severity]\n"PCRS-CODE" = "warning"\n')
    assert validate(wrong_code, schemas=False).has_errors
    report = validate(wrong_code, schemas=False, profile=prof)
    (hit,) = [f for f in report.findings if f.rule == "PCRS-CODE-001"]
    assert hit.severity == "warning" and not report.has_errors


def test_ignored_rules_are_not_reported_and_cost_nothing(wrong_code, empty_producers):
    report = validate(
        [wrong_code, empty_producers],
        schemas=False,
        profile=Profile.from_text('ignore = ["PCRS-CODE-001", "PCRS-ATTR-003"]'),
    )
    assert not {"PCRS-CODE-001", "PCRS-ATTR-003"} & {f.rule for f in report.findings}
    assert not report.has_errors
    # a family whose rules are all off is not even run (when its hooks only emit)
    p = Profile.from_text('ignore = ["PCRS-GEOM", "PCRS-PREC"]')
    v = Validator(rules=p.rules)
    assert "GeometryRules" not in v.families and "PrecisionRules" not in v.families
    assert "LinkRules" in v.families  # (others read what this one records)


def test_two_profiles_in_one_process_do_not_leak(empty_producers):
    before = {r: rule.severity for r, rule in RULES.items()}
    strict = validate(empty_producers, schemas=False, profile="strict")
    cnig = validate(empty_producers, schemas=False, profile="cnig")
    again = validate(empty_producers, schemas=False)
    assert strict.has_errors and not cnig.has_errors and not again.has_errors
    assert {f.severity for f in strict.findings if f.rule == "PCRS-ATTR-003"} == {"error"}
    assert {f.severity for f in cnig.findings if f.rule == "PCRS-ATTR-003"} == {"warning"}
    assert {r: rule.severity for r, rule in RULES.items()} == before


def test_profile_thresholds_apply_and_explicit_options_replace_them(tmp_path):
    text = delivery_text(1, seed=4).replace(
        "<precisionPlanimetrique>005</precisionPlanimetrique>",
        "<precisionPlanimetrique>040</precisionPlanimetrique>",
        1,
    )
    p = tmp_path / "prec.gml"
    p.write_text(text, encoding="utf-8")

    def prec(report):
        return [f.severity for f in report.findings if f.rule == "PCRS-PREC-001"]

    assert prec(validate(p, schemas=False)) == ["warning"]  # cnig: 10 cm
    assert prec(validate(p, schemas=False, profile="strict")) == []  # strict: class A, 40 cm
    opts = Options(precision_threshold_cm=10)
    assert prec(validate(p, schemas=False, profile="strict", options=opts)) == ["error"]


def test_lidar_findings_added_later_follow_the_profile(empty_producers):
    from pcrs.vector.rules import Finding

    report = validate(
        empty_producers,
        schemas=False,
        profile=Profile.from_text(
            'ignore = ["PCRS-LIDAR-008"]\n[severity]\n"PCRS-LIDAR-003" = "error"'
        ),
    )
    report.extend([Finding("PCRS-LIDAR-003", {"points": 3}), Finding("PCRS-LIDAR-008", {})])
    rules = {f.rule: f.severity for f in report.findings if f.rule.startswith("PCRS-LIDAR")}
    assert rules == {"PCRS-LIDAR-003": "error"} and report.has_errors


# --- the reports name the profile ------------------------------------------------------------


def test_every_report_names_the_profile(empty_producers, tmp_path):
    report = validate(empty_producers, schemas=False, profile="strict", partial=True)
    assert report.profile == {"name": "strict", "origin": "built-in", "extends": ["cnig"]}
    lines = report.summary_text().splitlines()
    schema_at = next(i for i, line in enumerate(lines) if line.startswith("schema validation"))
    assert lines[schema_at + 1].startswith("profile: strict (built-in), extends cnig")
    assert "partial delivery" in lines[schema_at + 1]
    assert "profil : strict (intégré)" in report.summary_text("fr")
    summary = json.loads(report.to_json())["summary"]
    assert summary["profile"]["name"] == "strict" and summary["partial"] is True
    gpkg = report.to_geopackage(tmp_path / "f.gpkg")
    with sqlite3.connect(gpkg) as db:
        (desc,) = db.execute(
            "SELECT description FROM gpkg_contents WHERE table_name='findings'"
        ).fetchone()
    assert "profile: strict (built-in)" in desc


# --- finding the project file ----------------------------------------------------------------


def _tree(tmp_path: Path) -> tuple[Path, Path, Path]:
    top = tmp_path / "top"
    mid = top / "mid"
    low = mid / "low"
    low.mkdir(parents=True)
    return top, mid, low


def test_project_file_found_upward_closest_first(tmp_path):
    top, mid, low = _tree(tmp_path)
    outside = find_project_file(low)  # (none in tmp_path; maybe one above it)
    assert outside is None or tmp_path not in outside.parents
    (top / "pcrs.toml").write_text('[validate]\nextends = "strict"\n')
    assert find_project_file(low) == top / "pcrs.toml"
    (mid / "pyproject.toml").write_text('[project]\nname = "x"\n')  # no table: passed over
    assert find_project_file(low) == top / "pcrs.toml"
    (mid / "pyproject.toml").write_text('[tool.pcrs.validate]\nignore = ["PCRS-GEOM-016"]\n')
    assert find_project_file(low) == mid / "pyproject.toml"  # the closest folder wins
    (mid / "pcrs.toml").write_text("[validate]\n")
    assert find_project_file(low) == mid / "pcrs.toml"  # pcrs.toml beats pyproject.toml
    prof = resolve_profile("auto", start=low)
    assert prof.name == "project" and prof.origin == f"{mid / 'pcrs.toml'} [validate]"
    assert prof.rules == frozenset(RULES)


def test_pyproject_table_is_the_profile(tmp_path):
    _top, mid, low = _tree(tmp_path)
    (mid / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.pcrs.validate]\nname = "ville"\nextends = "strict"\n'
        'ignore = ["PCRS-GEOM-016"]\n'
    )
    prof = resolve_profile("auto", start=low)
    assert prof.name == "ville" and prof.origin.endswith("pyproject.toml [tool.pcrs.validate]")
    assert "PCRS-GEOM-016" not in prof.rules and prof.severity("PCRS-ATTR-003") == "error"


# --- the command line ------------------------------------------------------------------------


def test_cli_profile_beats_the_project_file_and_no_config_ignores_it(
    empty_producers, tmp_path, monkeypatch
):
    work = tmp_path / "work"
    work.mkdir()
    (work / "pcrs.toml").write_text('[validate]\nname = "maison"\nextends = "strict"\n')
    monkeypatch.chdir(work)
    args = ["validate", "--no-schema", str(empty_producers)]
    found = CliRunner().invoke(cli, args)
    assert isinstance(found.exception, FindingsExit), found.output  # strict via pcrs.toml
    assert f"profile: maison ({work / 'pcrs.toml'} [validate]), extends strict, cnig" in (
        found.output
    )
    chosen = CliRunner().invoke(cli, [*args, "--profile", "cnig"])
    assert chosen.exit_code == 0 and "profile: cnig (built-in)" in chosen.output
    ignored = CliRunner().invoke(cli, [*args, "--no-config"])
    assert ignored.exit_code == 0 and "profile: cnig (built-in)" in ignored.output
    out = CliRunner().invoke(cli, [*args, "--profile", "strict", "--json"])
    assert json.loads(out.stdout)["summary"]["profile"]["name"] == "strict"


def test_cli_precision_overrides_the_profile(tmp_path):
    text = delivery_text(1, seed=4).replace(
        "<precisionPlanimetrique>005</precisionPlanimetrique>",
        "<precisionPlanimetrique>040</precisionPlanimetrique>",
        1,
    )
    p = tmp_path / "prec.gml"
    p.write_text(text, encoding="utf-8")
    base = ["validate", "--no-schema", "--no-config", "--profile", "strict", str(p)]
    assert CliRunner().invoke(cli, base).exit_code == 0
    assert isinstance(CliRunner().invoke(cli, [*base, "--precision", "10"]).exception, FindingsExit)


# --- bad profiles: one line naming the file and the line, exit 2 ----------------------------

BAD = [
    ('select = ["PCRS-GEOM", "PCRS-NOPE-001"]\n', 1, "PCRS-NOPE-001"),
    ('name = "x"\n\nignore = [\n  "PCRS-GEOM-016",\n  "PCRS-GEOM-999",\n]\n', 5, "PCRS-GEOM-999"),
    ('name = "x"\ncolour = "red"\n', 2, "unknown key 'colour'"),
    ('[severity]\n"PCRS-ATTR-003" = "fatal"\n', 2, "'fatal' is not one of error, warning, info"),
    ('[severity]\n"PCRS-ATTR-003" = "error"\n"PCRS-XYZ" = "error"\n', 3, "PCRS-XYZ"),
    ("[options]\nemprise_tolerance = 1\nz_range = [10, -10]\n", 3, "options.z_range"),
    ('[options]\nmax_findings_per_rule = "many"\n', 2, "options.max_findings_per_rule"),
    ("[options]\nprecision_threshold = 10\n", 2, "unknown key 'precision_threshold'"),
    ('[options]\nmin_date = "yesterday"\n', 2, "a date"),
    ("select = PCRS-GEOM\n", 1, "not valid TOML"),
    ('name = "x"\nselect = "PCRS-GEOM"\n', 2, "must be a list"),
    ('extends = "nowhere.toml"\n', 1, "neither a built-in profile (cnig, strict) nor a file"),
]


@pytest.mark.parametrize(("text", "line", "what"), BAD)
def test_bad_profile_names_the_file_and_the_line(tmp_path, text, line, what):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(ProfileError) as info:
        load_profile(p)
    assert isinstance(info.value, ParameterError)
    msg = str(info.value)
    assert msg.startswith(f"{p}:{line}: "), msg
    assert what in msg, msg
    assert "\n" not in msg


def test_bad_project_file_lines_are_those_of_the_file(tmp_path):
    p = tmp_path / "pyproject.toml"
    p.write_text(
        '[project]\nname = "x"\n\n[tool.pcrs.validate]\nextends = "strict"\n\n'
        '[tool.pcrs.validate.severity]\n"PCRS-ATTR-003" = "loud"\n'
    )
    with pytest.raises(ProfileError, match=rf"^{p}:8: severity of PCRS-ATTR-003: 'loud'"):
        resolve_profile("auto", start=tmp_path)
    q = tmp_path / "pcrs.toml"
    q.write_text('# project\nignore = ["PCRS-GEOM-016"]\n')
    with pytest.raises(ProfileError, match=rf"^{q}:2: 'ignore' must sit in the \[validate\]"):
        resolve_profile("auto", start=tmp_path)


def test_unknown_profile_name():
    with pytest.raises(ProfileError, match="'severe' is neither a built-in profile"):
        resolve_profile("severe")


def test_cli_bad_profile_exits_2_with_one_line(tmp_path, capsys):
    p = tmp_path / "bad.toml"
    p.write_text('[severity]\n"PCRS-ATTR-003" = "fatal"\n')
    gml = tmp_path / "d.gml"
    gml.write_text(delivery_text(1, seed=1), encoding="utf-8")
    with pytest.raises(SystemExit) as info:
        main(["validate", "--no-schema", "--profile", str(p), str(gml)])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"pcrs: error: {p}:2: ")


# --- the documented profiles -----------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]


def test_the_example_profile_loads():
    p = load_profile(ROOT / "examples" / "acceptance.toml")
    assert p.name == "syndicat-exemple" and p.extends == ("strict", "cnig")
    assert "PCRS-GEOM-016" not in p.rules and p.severity("PCRS-GEOM-012") == "error"


def test_the_profiles_shown_in_the_docs_are_the_built_in_ones():
    import re

    from pcrs.vector.profiles import tomllib

    text = (ROOT / "docs" / "validation.md").read_text(encoding="utf-8")
    shown = {}
    for block in re.findall(r"```toml\n(.*?)```", text, re.S):
        data = tomllib.loads(block)
        if data.get("name") in BUILTIN_PROFILES:
            shown[data["name"]] = data
    assert set(shown) == set(BUILTIN_PROFILES)
    for name, data in shown.items():
        p = load_profile(name)
        assert data.get("severity", {}) == p.severities  # (neither uses prefixes)
        assert data.get("extends") == (p.extends[0] if p.extends else None)
        assert Profile.from_text(
            "[options]\n" + "\n".join(f"{k} = {_toml(v)}" for k, v in data["options"].items())
        ).options == {k: p.options[k] for k in data["options"]}


def _toml(value) -> str:
    return json.dumps(list(value) if isinstance(value, tuple) else value, default=str)
