"""The model as data agrees with the official XSD (names, order, cardinalities, code lists)."""

from __future__ import annotations

import pytest

from pcrs.vector.model import (
    CLASSES,
    CODE_LISTS,
    attributes_of,
    check_code,
    is_subclass,
)

XS = "{http://www.w3.org/2001/XMLSchema}"


def _xsd_types(path):
    from lxml import etree

    root = etree.parse(str(path)).getroot()
    types = {}
    for ct in root.findall(XS + "complexType"):
        ext = ct.find(".//" + XS + "extension")
        seq = ext.find(XS + "sequence") if ext is not None else None
        own = []
        if seq is not None:
            for e in seq.findall(XS + "element"):
                own.append((e.get("name"), int(e.get("minOccurs", "1")), e.get("maxOccurs", "1")))
        types[ct.get("name")] = (ext.get("base") if ext is not None else None, own)
    enums = {}
    for st in root.findall(XS + "simpleType"):
        vals = [x.get("value") for x in st.iter(XS + "enumeration")]
        if vals:
            enums[st.get("name")] = set(vals)
    return types, enums


@pytest.fixture(scope="module")
def xsd(pcrs_dir):
    t1, e1 = _xsd_types(pcrs_dir / "schemas/pcrs/CNIG_PCRS_v2.0.xsd")
    t2, e2 = _xsd_types(pcrs_dir / "schemas/pcrs/CNIG_PCRS-INFO_v2.0.xsd")
    return {**t1, **t2}, {**e1, **e2}


def test_every_xsd_class_is_in_the_model_with_the_same_attributes(xsd):
    types, _ = xsd
    classes = {name[: -len("Type")] for name in types if not name.endswith("PropertyType")
               and name not in ("PlanCorpsRueSimplifieType", "PCRSFeatureMemberType")
               and not name.endswith("TypeProperty")}  # fmt: skip
    assert classes == set(CLASSES)
    for name, fc in CLASSES.items():
        base, own = types[name + "Type"]
        expected = [(n, mn, None if mx == "unbounded" else int(mx)) for n, mn, mx in own]
        got = [(a.name, a.min_occurs, a.max_occurs) for a in fc.attributes]
        assert got == expected, name
        parent = (
            base.split(":")[1][: -len("Type")] if base.startswith(("pcrs:", "pcrs-i:")) else None
        )
        assert fc.parent == parent, name


def test_code_lists_match_the_xsd(xsd):
    _, enums = xsd
    for name, cl in CODE_LISTS.items():
        key = name + ("EnumerationType" if cl.extensible else "Type")
        if name == "ProprieteEspaceType":
            key = "ProprieteEspaceTypeType"
        assert set(cl.values) == enums[key], name


def test_inherited_attributes_come_first():
    names = [a.name for a in attributes_of("NomVoiriePCRS")]
    assert names[:3] == ["idHabillage", "thematique", "habillage"]
    assert names[-2:] == ["idNomVoirie", "positionnement"]
    assert is_subclass("PilierRegulierPCRS", "ObjetVecteurPCRS")
    assert not is_subclass("PointLevePCRS", "ObjetVecteurPCRS")


def test_extensible_lists_accept_other_form_only():
    assert check_code("NatureReseauPCRSType", "other: FIBRE") == "other"
    assert check_code("NatureReseauPCRSType", "other:FIBRE") == "invalid"
    assert check_code("NatureReseauPCRSType", "other: F") == "invalid"
    assert check_code("CategorieMurPCRSType", "other: muret") == "invalid"
    assert check_code("CategoriePrecisionPCRSType", "100") == "invalid"  # PDF-only value
    assert check_code("CategoriePrecisionPCRSType", "010") == "ok"
