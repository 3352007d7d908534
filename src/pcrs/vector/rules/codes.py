"""Code lists: closed lists, extensible lists and their ``other: xxx`` form, and the
``thematique`` code consistent with the class."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from ..model import CLASSES, CODE_LISTS, THEMES, Attribute, FeatureClass, check_code
from ._base import Family, Loc, Rule, on, rule, value_check
from ._common import at

if TYPE_CHECKING:
    from ..engine import FeatureView
    from ..gml import Property

__all__ = ["CodeRules"]


class CodeRules(Family):
    """PCRS-CODE and PCRS-THEME: values of the attributes that take a code list."""

    order = 40
    emits_only = True
    rules: ClassVar[tuple[Rule, ...]] = (
        rule(
            "PCRS-CODE-001",
            "error",
            "Value outside code list",
            "Valeur hors liste",
            "{field} = {value!r} is not in its closed code list {codelist} (allowed: {allowed})",
            "{field} = {value!r} n'est pas dans sa liste fermée {codelist} (valeurs admises : "
            "{allowed})",
            "use one of the listed codes",
            "employer l'un des codes de la liste",
            "B.3.40",
        ),
        rule(
            "PCRS-CODE-002",
            "error",
            "Value outside extensible list",
            "Valeur hors liste extensible",
            "{field} = {value!r} is neither a code of {codelist} (allowed: {allowed}) nor of the "
            "form 'other: xxx'",
            "{field} = {value!r} n'est ni un code de {codelist} (valeurs admises : {allowed}) ni "
            "de la forme 'other: xxx'",
            "use a listed code, or 'other: <name>' documented in the metadata",
            "employer un code de la liste, ou 'other: <nom>' documenté dans les métadonnées",
            "B.3.40",
        ),
        rule(
            "PCRS-CODE-003",
            "warning",
            "Extension of a code list",
            "Extension d'une liste",
            "{field} = {value!r} extends the code list {codelist}",
            "{field} = {value!r} étend la liste de codes {codelist}",
            "document the added value in the metadata",
            "documenter la valeur ajoutée dans les métadonnées",
            "B.3.40",
        ),
        rule(
            "PCRS-THEME-001",
            "error",
            "Theme inconsistent with class",
            "Thématique incohérente",
            "thematique = {value!r} ({label}) does not match {cls}, whose theme is {expected}",
            "thematique = {value!r} ({label}) ne correspond pas à {cls}, de thématique {expected}",
            "set thematique to {expected}",
            "mettre thematique à {expected}",
            "B.1.1",
        ),
    )

    @value_check("code")
    def code_value(self, fv: FeatureView, a: Attribute, p: Property, loc: Loc) -> None:
        """A code of the list (PCRS-CODE-001 closed, -002 extensible), or an extension of an
        extensible list (PCRS-CODE-003)."""
        assert a.codelist is not None
        text = p.text or ""
        verdict = check_code(a.codelist, text)
        if verdict == "ok":
            return
        cl = CODE_LISTS[a.codelist]
        if verdict == "other":
            self.v.emit(
                "PCRS-CODE-003", at(loc, p.line), p.name, field=p.name, value=text,
                codelist=cl.name,
            )  # fmt: skip
        else:
            self.v.emit(
                "PCRS-CODE-002" if cl.extensible else "PCRS-CODE-001", at(loc, p.line), p.name,
                field=p.name, value=text, codelist=cl.name, allowed=", ".join(cl.values),
            )  # fmt: skip

    @on("feature", 40, classes=lambda cls: cls in CLASSES and bool(CLASSES[cls].themes))
    def theme(self, fv: FeatureView) -> None:
        """``thematique`` is one the class takes (PCRS-THEME-001)."""
        fc: FeatureClass | None = fv.fc
        theme = fv.texts.get("thematique")
        if fc is not None and fc.themes and theme in THEMES and theme not in fc.themes:
            expected = " or ".join(f"{t} ({THEMES[t]})" for t in fc.themes)
            self.v.emit(
                "PCRS-THEME-001", fv.loc, "thematique", value=theme, label=THEMES[theme],
                expected=expected,
            )  # fmt: skip
