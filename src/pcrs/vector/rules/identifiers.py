"""Identifiers: ``gml:id`` present and unique per file, geometries' ``gml:id``, and
``idObjet``, ``idHabillage``, ``idEmprise``, ``idNomVoirie``, ``idNumeroVoirie`` unique
across the whole delivery."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from ..model import CLASSES, ID_FIELDS
from ._base import Family, Loc, Rule, on, rule

if TYPE_CHECKING:
    from ..engine import FeatureView, FileState, Validator
    from ..gml import RootInfo

__all__ = ["IdentifierRules"]


class IdentifierRules(Family):
    """PCRS-ID: identifiers of features and geometries."""

    order = 60
    rules: ClassVar[tuple[Rule, ...]] = (
        rule(
            "PCRS-ID-001",
            "warning",
            "Feature without gml:id",
            "Objet sans gml:id",
            "the feature has no gml:id, so no link can point to it",
            "l'objet n'a pas de gml:id : aucun lien ne peut pointer vers lui",
            "give every feature a gml:id",
            "donner un gml:id à chaque objet",
            "C.1",
        ),
        rule(
            "PCRS-ID-002",
            "warning",
            "Geometry without gml:id",
            "Géométrie sans gml:id",
            "{detail} ({count} in this file; first one here)",
            "{detail_fr} ({count} dans ce fichier ; le premier ici)",
            "add a gml:id on geometries: the 2007 edition of GML 3.2.1, still used by some tools, "
            "requires it",
            "ajouter un gml:id aux géométries : l'édition 2007 de GML 3.2.1, encore utilisée par "
            "certains outils, l'exige",
            "C.1",
        ),
        rule(
            "PCRS-ID-003",
            "error",
            "Duplicate gml:id",
            "gml:id en double",
            "gml:id {value!r} is already used at line {first_line}",
            "le gml:id {value!r} est déjà employé ligne {first_line}",
            "make every gml:id unique in the file",
            "rendre chaque gml:id unique dans le fichier",
            "C.1",
        ),
        rule(
            "PCRS-ID-004",
            "error",
            "Duplicate identifier",
            "Identifiant en double",
            "{field} {value!r} is already used by {first}",
            "{field} {value!r} est déjà employé par {first_fr}",
            "identifiers must be unique in the whole delivery",
            "les identifiants doivent être uniques dans toute la livraison",
            "B.1.2",
        ),
    )

    def __init__(self, validator: Validator):
        super().__init__(validator)
        #: per identifier field: value -> file index << 32 | serial of its first feature
        self.ids: dict[str, dict[str, int]] = {f: {} for f in ID_FIELDS}
        self._no_geom_id = 0
        self._no_geom_id_loc: tuple[Loc, str] | None = None

    @on("start_file", 0)
    def reset(self, st: FileState, root: RootInfo | None) -> None:
        self._no_geom_id = 0
        self._no_geom_id_loc = None

    @on("rollback", 0)
    def forget(self, dropped: set[int]) -> None:
        for table in self.ids.values():
            for key in [k for k, v in table.items() if v >> 32 in dropped]:
                del table[key]

    @on("feature", 10)
    def gml_id(self, fv: FeatureView) -> None:
        """A ``gml:id`` (PCRS-ID-001), once per file (PCRS-ID-003)."""
        f, st = fv.f, fv.st
        if f.gml_id is None:
            if f.cls in CLASSES:
                self.v.emit("PCRS-ID-001", fv.loc)
            return
        first = st.gml_ids[f.gml_id]  # (the engine keeps the first feature of each gml:id)
        if first != fv.serial:
            self.v.emit(
                "PCRS-ID-003", fv.loc, "gml:id", value=f.gml_id, first_line=st.f_line[first]
            )

    @on("feature", 50)
    def unique(self, fv: FeatureView) -> None:
        """Identifier fields unique across the delivery (PCRS-ID-004)."""
        st, texts = fv.st, fv.texts
        # (a planned feature has only the identifier fields among its properties' names)
        for name in ID_FIELDS if fv.plan is None else fv.plan.id_fields:
            v = texts.get(name)
            if not v:
                continue
            table = self.ids[name]
            first = table.get(v)
            if first is None:
                table[v] = (st.index << 32) | fv.serial
                continue
            other = self.v.files[first >> 32]
            j = first & 0xFFFFFFFF
            fname = Path(other.path).name
            where = f"{other.f_cls[j]} line {other.f_line[j]}" + (
                f" of {fname}" if other is not st else ""
            )
            where_fr = f"{other.f_cls[j]} ligne {other.f_line[j]}" + (
                f" de {fname}" if other is not st else ""
            )
            self.v.emit(
                "PCRS-ID-004", fv.loc, name, field=name, value=v, first=where, first_fr=where_fr
            )

    @on("feature", 101)
    def geometry_ids(self, fv: FeatureView) -> None:
        """Count the geometries without ``gml:id`` (reported once, at the end of the file)."""
        geom = fv.geom
        if geom is None:
            return
        loc = fv.loc
        for code, detail, px, py in geom.problems:
            if code != "no_gml_id":
                continue
            self._no_geom_id += 1
            if self._no_geom_id_loc is None:
                gloc = (geom.line or loc[0], loc[1], loc[2], loc[3], loc[4], loc[5])
                ploc = gloc if px is None else (gloc[0], gloc[1], gloc[2], gloc[3], px, py)
                self._no_geom_id_loc = (ploc, detail)

    @on("end_file", 20)
    def geometry_ids_end(self, st: FileState) -> None:
        """Geometries without ``gml:id`` in the file (PCRS-ID-002, once)."""
        if self._no_geom_id and self._no_geom_id_loc is not None:
            loc, detail = self._no_geom_id_loc
            self.v.emit(
                "PCRS-ID-002", loc, "geometrie", detail=detail,
                detail_fr=detail.replace("without", "sans"), count=self._no_geom_id,
            )  # fmt: skip
