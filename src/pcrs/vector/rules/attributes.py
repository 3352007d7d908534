"""The model: known v2.0 classes, their attributes (present, known, in order, counted) and the
types of their values."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from ..model import (
    BETA_CLASSES,
    BETA_ELEMENTS,
    CLASSES,
    GML_NS,
    ID_FIELDS,
    NS_PCRS,
    NS_PCRS_INFO,
    PDF_CONSTRAINTS,
    PDF_NAMES,
    Attribute,
    is_subclass,
)
from ._base import Family, Loc, Rule, on, rule, value_check
from ._common import CODES, INT_RE, at, double_ok, parse_date

if TYPE_CHECKING:
    from ..engine import FeatureView
    from ..gml import Property

__all__ = ["AttributeRules"]

_TYPE_LABEL = {
    "date": ("date (YYYY-MM-DD)", "date (AAAA-MM-JJ)", "write it as YYYY-MM-DD",
             "l'écrire AAAA-MM-JJ"),
    "double": ("number", "nombre", "write a decimal number with a dot",
               "écrire un nombre décimal avec un point"),
    "integer": ("integer", "entier", "write a whole number", "écrire un nombre entier"),
    "string": ("text value", "valeur texte", "write a plain text value",
               "écrire une simple valeur texte"),
}  # fmt: skip


class AttributeRules(Family):
    """PCRS-CLASS and PCRS-ATTR: classes and attributes against the model."""

    order = 30
    rules: ClassVar[tuple[Rule, ...]] = (
        rule(
            "PCRS-CLASS-001",
            "error",
            "Unknown class",
            "Classe inconnue",
            "<{cls}> is not a feature class of PCRS v2.0",
            "<{cls}> n'est pas une classe d'objets du PCRS v2.0",
            "use one of the v2.0 classes (B.3), e.g. ObjetGeneriquePCRS for an object to classify",
            "utiliser une classe de la v2.0 (B.3), par exemple ObjetGeneriquePCRS pour un objet "
            "à classer",
            "B.3",
        ),
        rule(
            "PCRS-CLASS-002",
            "error",
            "Pre-2.0 class",
            "Classe antérieure à la 2.0",
            "<{cls}> is a class of the 2.0 beta draft (2017), removed from PCRS v2.0{hint}",
            "<{cls}> est une classe du brouillon 2.0 bêta (2017), supprimée du PCRS v2.0{hint_fr}",
            "convert the object to a v2.0 class",
            "convertir l'objet dans une classe de la v2.0",
            "1",
        ),
        rule(
            "PCRS-CLASS-003",
            "error",
            "Abstract class",
            "Classe abstraite",
            "<{cls}> is abstract and cannot appear in a delivery",
            "<{cls}> est abstraite et ne peut pas figurer dans une livraison",
            "use one of its concrete subclasses",
            "utiliser l'une de ses sous-classes concrètes",
            "B.3",
        ),
        rule(
            "PCRS-ATTR-001",
            "error",
            "Missing attribute",
            "Attribut manquant",
            "mandatory attribute <{field}> is missing",
            "l'attribut obligatoire <{field}> est absent",
            "fill it in ({cls}, section {section})",
            "le renseigner ({cls}, section {section})",
            "B.3",
        ),
        rule(
            "PCRS-ATTR-002",
            "error",
            "Empty identifier",
            "Identifiant vide",
            "identifier <{field}> is empty",
            "l'identifiant <{field}> est vide",
            "give every object a unique, non-empty identifier (prefix such as FR_<SIREN>)",
            "donner à chaque objet un identifiant unique et non vide (préfixe du type FR_<SIREN>)",
            "B.1.2",
        ),
        rule(
            "PCRS-ATTR-003",
            "warning",
            "Required value empty",
            "Valeur attendue vide",
            "<{field}> is empty, whereas the standard requires a value (section {section}; "
            "the XSD accepts an empty string)",
            "<{field}> est vide alors que le standard demande une valeur (section {section} ; "
            "le XSD accepte une chaîne vide)",
            "fill it in",
            "le renseigner",
            "B.3",
        ),
        rule(
            "PCRS-ATTR-004",
            "error",
            "Unknown attribute",
            "Attribut inconnu",
            "<{field}> is not an attribute of {cls}{hint}",
            "<{field}> n'est pas un attribut de {cls}{hint_fr}",
            "remove it or rename it as the XSD says",
            "le supprimer ou le renommer comme le dit le XSD",
            "B.3",
        ),
        rule(
            "PCRS-ATTR-005",
            "error",
            "Repeated attribute",
            "Attribut répété",
            "<{field}> appears {count} times; {cls} allows it at most {max} time(s)",
            "<{field}> apparaît {count} fois ; {cls} l'admet au plus {max} fois",
            "keep one value",
            "n'en garder qu'une",
            "B.3",
        ),
        rule(
            "PCRS-ATTR-006",
            "error",
            "Wrong value type",
            "Type de valeur erroné",
            "<{field}> = {value!r} is not a valid {type}",
            "<{field}> = {value!r} n'est pas un(e) {type_fr} valide",
            "{fix_en}",
            "{fix_fr}",
            "B.3",
        ),
        rule(
            "PCRS-ATTR-007",
            "error",
            "Attribute order",
            "Ordre des attributs",
            "<{field}> comes after <{after}>, but the schema wants the order {order}",
            "<{field}> vient après <{after}>, mais le schéma impose l'ordre {order}",
            "write the attributes in the XSD order",
            "écrire les attributs dans l'ordre du XSD",
            "C.1",
        ),
    )

    @on("feature", 20)
    def feature_class(self, fv: FeatureView) -> bool:
        """A concrete class of PCRS v2.0 (PCRS-CLASS-001/002/003); the other checks of the
        feature run only then."""
        if fv.fc is not None:
            return True
        f = fv.f
        fc = CLASSES.get(f.cls) if f.ns in (NS_PCRS, NS_PCRS_INFO) else None
        if fc is None:
            if f.cls in BETA_CLASSES:
                new = BETA_CLASSES[f.cls]
                self.v.emit(
                    "PCRS-CLASS-002",
                    fv.loc,
                    hint=f" (v2.0 counterpart: {new})" if new else "",
                    hint_fr=f" (équivalent v2.0 : {new})" if new else "",
                )
                fv.st.beta.append(f"class {f.cls}")
            else:
                self.v.emit("PCRS-CLASS-001", fv.loc)
        else:
            self.v.emit("PCRS-CLASS-003", fv.loc)
        return False

    @on("feature", 30)
    def attributes(self, fv: FeatureView) -> None:
        """Each attribute known, in order, counted, its value checked; with a plan (a
        feature of the same properties found sound) only the values left to check."""
        if fv.info is None:
            return
        if fv.plan is not None:
            todo = fv.todo
            if todo is not None:
                if fv.compact is not None:
                    prop = fv.f.property_at
                    todo = [(a, prop(i)) for a, i in todo]
                for a, p in todo:
                    self.v.check_value(fv, a, p, fv.loc)
            return
        fv.sound = self._structure(fv)

    def _structure(self, fv: FeatureView) -> bool:
        """Attributes of the feature one by one: known, in order, counted, values checked.

        Returns True when the structure is sound (no unknown attribute, order and counts
        right), so that features with the same properties can skip these checks."""
        f, fc, info, loc = fv.f, fv.fc, fv.info, fv.loc
        assert fc is not None and info is not None
        emit = self.v.emit
        sound = True
        attrs = info.attrs
        index = info.index
        seen: dict[str, int] = {}
        last_i = -1
        last_name = None
        order_reported = False
        for p in f.materialise():
            entry = index.get(p.name)
            if entry is None or p.ns not in (NS_PCRS, NS_PCRS_INFO):
                if p.ns == GML_NS:
                    continue
                hint = hint_fr = ""
                xsd_name = PDF_NAMES.get((f.cls, p.name))
                if xsd_name:
                    hint = f" (the PDF of the standard calls it so; the XSD, normative, says <{xsd_name}>)"
                    hint_fr = f" (nom du PDF du standard ; le XSD, normatif, dit <{xsd_name}>)"
                elif p.name in BETA_ELEMENTS:
                    hint = f" (a 2.0 beta element; v2.0 uses <{BETA_ELEMENTS[p.name]}>)"
                    hint_fr = (
                        f" (élément de la 2.0 bêta ; la v2.0 emploie <{BETA_ELEMENTS[p.name]}>)"
                    )
                    fv.st.beta.append(f"element <{p.name}>")
                sound = False
                emit(
                    "PCRS-ATTR-004", at(loc, p.line), p.name, field=p.name, hint=hint,
                    hint_fr=hint_fr,
                )  # fmt: skip
                continue
            i, a = entry
            seen[p.name] = seen.get(p.name, 0) + 1
            if i < last_i and not order_reported:
                order = ", ".join(x.name for x in attrs)
                emit(
                    "PCRS-ATTR-007", at(loc, p.line), p.name, field=p.name, after=last_name,
                    order=order,
                )  # fmt: skip
                order_reported = True
                sound = False
            if i >= last_i:
                last_i, last_name = i, p.name
            atype = a.type
            if atype == "geometry":
                continue  # checked with the geometry
            if p.href is None and not p.children:
                # the common valid values, decided here without a call to the value checks
                if atype == "string":
                    if p.text:
                        continue
                elif atype == "code":
                    if a.codelist is not None and p.text in CODES[a.codelist]:
                        continue
                elif atype == "date":
                    if parse_date(p.text or "") is not None:
                        continue
                elif atype == "double" and double_ok(p.text or ""):
                    continue
            self.v.check_value(fv, a, p, loc)

        for a in info.counted:
            n = seen.get(a.name, 0)
            if n < a.min_occurs:
                sound = False
                if a.type == "geometry":
                    emit("PCRS-GEOM-001", loc, a.name, detail="", detail_fr="")
                else:
                    emit("PCRS-ATTR-001", loc, a.name, field=a.name, section=fc.section)
            elif a.max_occurs is not None and n > a.max_occurs:
                sound = False
                emit("PCRS-ATTR-005", loc, a.name, field=a.name, count=n, max=a.max_occurs)
        return sound

    @value_check("element")
    def element_value(self, fv: FeatureView, a: Attribute, p: Property, loc: Loc) -> None:
        """An element (or a link) where a plain value is expected (PCRS-ATTR-006)."""
        t = _TYPE_LABEL["string"]
        self.v.emit(
            "PCRS-ATTR-006", at(loc, p.line), p.name, field=p.name, value="<element>", type=t[0],
            type_fr=t[1], fix_en=t[2], fix_fr=t[3],
        )  # fmt: skip

    @value_check("string")
    def string_value(self, fv: FeatureView, a: Attribute, p: Property, loc: Loc) -> None:
        """An empty identifier (PCRS-ATTR-002) or text the PDF requires (PCRS-ATTR-003)."""
        if p.text:
            return
        if a.name in ID_FIELDS:
            self.v.emit("PCRS-ATTR-002", at(loc, p.line), p.name, field=p.name)
            return
        for c in PDF_CONSTRAINTS:
            if c.attribute == a.name and is_subclass(fv.f.cls, c.cls):
                self.v.emit(
                    "PCRS-ATTR-003", at(loc, p.line), p.name, field=p.name, section=c.section
                )
                break

    @value_check("date", "double", "integer")
    def typed_value(self, fv: FeatureView, a: Attribute, p: Property, loc: Loc) -> None:
        """A date, a number, an integer (a percentage for ``transparence``): PCRS-ATTR-006."""
        text = p.text or ""
        if a.type == "date":
            ok = parse_date(text) is not None
        elif a.type == "double":
            ok = double_ok(text)
        else:
            ok = bool(INT_RE.match(text.strip()))
            if ok and fv.f.cls == "MasqueOpacitePCRS" and p.name == "transparence":
                ok = 0 <= int(text) <= 100
        if not ok:
            t = _TYPE_LABEL[a.type]
            if p.name == "transparence":
                t = ("percentage 0-100", "pourcentage 0-100", "give 0 to 100", "donner 0 à 100")
            self.v.emit(
                "PCRS-ATTR-006", at(loc, p.line), p.name, field=p.name, value=text, type=t[0],
                type_fr=t[1], fix_en=t[2], fix_fr=t[3],
            )  # fmt: skip
