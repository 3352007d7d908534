"""The validator on the real shared PCRS files (skipped when PCRS_SHARED_DATA is absent)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pcrs.vector import validate


@pytest.fixture(scope="module")
def schemas_dir(pcrs_dir: Path) -> Path:
    return pcrs_dir / "schemas"


def _lyon(pcrs_dir: Path) -> list[Path]:
    files = sorted((pcrs_dir / "cnig" / "examples" / "lyon").glob("*.gml"))
    assert len(files) == 6
    return files


def _errors(report):
    return [(f.rule, f.line, f.message()) for f in report.findings if f.severity == "error"]


def test_lyon_deliveries_have_no_error(pcrs_dir, schemas_dir):
    files = _lyon(pcrs_dir)
    report = validate(files, schemas=schemas_dir)
    assert report.schema_checked
    assert _errors(report) == []
    # the known imperfection of the examples is reported as a warning: ArbrePCRS.reference empty
    empty_refs = [f for f in report.findings if f.rule == "PCRS-ATTR-003"]
    assert empty_refs and {f.feature_class for f in empty_refs} == {"ArbrePCRS"}
    members = sum(p.read_text(encoding="utf-8-sig").count("<featureMember") for p in files)
    assert report.summary()["features"] == members


def test_lyon_feature_counts_match_the_files(pcrs_dir):
    files = _lyon(pcrs_dir)
    report = validate(files, schemas=False)
    for info, path in zip(report.files, files, strict=True):
        text = path.read_text(encoding="utf-8-sig")
        assert sum(info["features"].values()) == text.count("<featureMember")
        assert info["crs"] == "EPSG:3946"


@pytest.mark.parametrize(
    "name",
    [
        "cnig/jeux-test/PCRS-info.gml",
        "debug-gml/GeoVendee_PCRS_Montaigu_minimal.gml",
        "debug-gml/GeoVendee_PCRS_Montaigu_fixed.gml",
        "debug-gml/GeoVendee_PCRS_Montaigu_posList.gml",
    ],
)
def test_reference_files_have_no_error(pcrs_dir, schemas_dir, name):
    # extracts and test files, not deliveries: no EmpriseEchangePCRS, links to features of
    # other files; whole, they fail on that only; as a piece of a delivery, they pass
    report = validate(pcrs_dir / name, schemas=schemas_dir, partial=True)
    assert _errors(report) == []
    whole = validate(pcrs_dir / name, schemas=schemas_dir)
    assert {rule for rule, _line, _msg in _errors(whole)} <= {"PCRS-EMP-001", "PCRS-LINK-001"}
    assert any(rule == "PCRS-EMP-001" for rule, _line, _msg in _errors(whole))


def test_debug_gml_encodings_give_the_same_geometry(pcrs_dir):
    from pcrs.vector import GmlReader

    shapes = []
    for name in ("minimal", "fixed", "posList"):
        reader = GmlReader(pcrs_dir / "debug-gml" / f"GeoVendee_PCRS_Montaigu_{name}.gml")
        (member,) = list(reader.members())
        shapes.append(member.features[0].geometry.shape)
    assert shapes[0].has_z
    assert shapes[0].equals_exact(shapes[1], 1e-9) and shapes[1].equals_exact(shapes[2], 1e-9)


def test_pcrs_info_dangling_initiative_is_an_error_unless_partial(pcrs_dir):
    for partial, severity in ((False, "error"), (True, "warning")):
        report = validate(pcrs_dir / "cnig/jeux-test/PCRS-info.gml", schemas=False, partial=partial)
        (hit,) = [f for f in report.findings if f.rule == "PCRS-LINK-001"]
        assert hit.severity == severity
        assert hit.gml_id == "DISPO.1" and "INIT.1.1" in hit.message()


def test_geovendee_typemur_error_on_the_wall(pcrs_dir, schemas_dir):
    path = pcrs_dir / "ign-validator/LeTallud-StGemme-extrait.gml"
    for schemas in (schemas_dir, False):
        report = validate(path, schemas=schemas, partial=True)  # (an extract: no emprise)
        errors = [f for f in report.findings if f.severity == "error"]
        assert len(errors) == 1
        (err,) = errors
        assert err.rule == "PCRS-CODE-001"
        assert err.feature_class == "MurPCRS"
        assert err.gml_id == "MurPCRS_f94af702-4ca2-4f06-afaf-0ecabb72a13b"
        assert err.id_objet == "MurPCRS_f94af702-4ca2-4f06-afaf-0ecabb72a13b"
        assert err.field == "typeMur" and err.line == 25
        assert "'07'" in err.message("en") and "typeMur" in err.message("fr")
        assert err.x == pytest.approx(1402869.108, abs=1e-3)
    # version="" is only a warning
    assert any(f.rule == "PCRS-FILE-003" for f in report.findings)


def test_beta2_is_rejected_as_a_pre_2_0_draft(pcrs_dir, schemas_dir):
    report = validate(pcrs_dir / "beta2/PCRSv2-beta2.gml", schemas=schemas_dir, lang="fr")
    assert report.has_errors
    rules = {f.rule for f in report.findings}
    assert {"PCRS-FILE-004", "PCRS-CLASS-002", "PCRS-FILE-002"} <= rules
    (draft,) = [f for f in report.findings if f.rule == "PCRS-FILE-004"]
    assert "brouillon" in draft.message("fr") and "BordurePCRS" in draft.message("fr")
    assert "pre-2.0 draft" in draft.message("en")
    beta_classes = {f.feature_class for f in report.findings if f.rule == "PCRS-CLASS-002"}
    assert beta_classes == {"BordurePCRS", "ChangementRevetementPCRS"}
    # the PDF name of EmpriseEchangePCRS.fournisseur is explained
    (gest,) = [f for f in report.findings if f.rule == "PCRS-ATTR-004" and f.field == "gestionnaire"
               and f.feature_class == "EmpriseEchangePCRS"]  # fmt: skip
    assert "fournisseur" in gest.message("en")


def test_schema_errors_match_whole_document_validation(pcrs_dir, schemas_dir):
    """Streamed per-feature validation finds what whole-document validation finds."""
    from lxml import etree

    from pcrs.vector.gml import parser_options
    from pcrs.vector.xsd import FeatureValidator, load_schema

    schema = load_schema(schemas_dir)
    path = pcrs_dir / "beta2/PCRSv2-beta2.gml"
    tree = etree.parse(str(path), etree.XMLParser(**parser_options()))
    assert not schema.validate(tree)
    whole_lines = sorted(e.line for e in schema.error_log)
    assert len(whole_lines) == 8
    # the same lines, one feature (then the bare root) at a time
    from pcrs.vector.gml import GmlReader

    streamed = []
    fv = FeatureValidator(schema)
    reader = GmlReader(path)
    for m in reader.members(keep_element=True, split_links=False):
        child = next(c for c in m.element if isinstance(c.tag, str))
        streamed += [e.line for e in fv.validate(child)]
    streamed += [e.line for e in fv.validate(reader.root)]
    assert sorted(streamed) == whole_lines
    # and every one of them is reported, by a rule or as PCRS-XSD-001, on its line
    report = validate(path, schemas=schemas_dir)
    error_lines = {f.line for f in report.findings if f.severity == "error"}
    assert set(whole_lines) <= error_lines
