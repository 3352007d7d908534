"""The file and its XML: readable, PCRS root and version, feature members, name, schema.

PCRS-XML-001/003, PCRS-FILE-001 and the schema rules (PCRS-XSD-*) are emitted by
:func:`pcrs.vector.validate` around the reading; PCRS-XML-002 by
:meth:`~pcrs.vector.engine.Validator.xml_error`; the checks of this family emit the others.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from ._base import Family, Rule, on, rule

if TYPE_CHECKING:
    from ..engine import FileState
    from ..gml import Member, RootInfo

__all__ = ["FileRules"]


class FileRules(Family):
    """PCRS-XML, PCRS-FILE and PCRS-XSD: the file as a whole."""

    order = 10
    rules: ClassVar[tuple[Rule, ...]] = (
        rule(
            "PCRS-XML-001",
            "error",
            "File unusable",
            "Fichier inutilisable",
            "the file cannot be used: {detail}",
            "le fichier est inutilisable : {detail}",
            "deliver the GML file itself (UTF-8 XML text, GML 3.2.1)",
            "livrer le fichier GML lui-même (texte XML UTF-8, GML 3.2.1)",
            "C.1",
        ),
        rule(
            "PCRS-XML-002",
            "error",
            "Malformed XML",
            "XML mal formé",
            "the XML is malformed at line {line}: {detail}; the rest of the file was not read",
            "le XML est mal formé ligne {line} : {detail} ; la suite du fichier n'a pas été lue",
            "the file is probably truncated or was edited by hand: export it again",
            "le fichier est sans doute tronqué ou modifié à la main : l'exporter à nouveau",
            "C.1",
        ),
        rule(
            "PCRS-XML-003",
            "error",
            "Entities refused",
            "Entités refusées",
            "the file declares XML entities ({detail}); they are refused for safety and the "
            "file was not read",
            "le fichier déclare des entités XML ({detail}) ; elles sont refusées par sécurité "
            "et le fichier n'a pas été lu",
            "remove the DOCTYPE: PCRS GML needs no DTD or entity",
            "supprimer le DOCTYPE : un GML PCRS n'a besoin d'aucune DTD ni entité",
            "C.1",
        ),
        rule(
            "PCRS-XML-004",
            "warning",
            "DTD ignored",
            "DTD ignorée",
            "the file has a DOCTYPE declaration, which is ignored",
            "le fichier a une déclaration DOCTYPE, qui est ignorée",
            "remove the DOCTYPE",
            "supprimer le DOCTYPE",
            "C.1",
        ),
        rule(
            "PCRS-FILE-001",
            "error",
            "Not a PCRS document",
            "Pas un document PCRS",
            "the root element is <{root}>, not <PlanCorpsRueSimplifie> of the PCRS namespace "
            "http://cnig.gouv.fr/pcrs: this is not a PCRS GML file",
            "l'élément racine est <{root}> et non <PlanCorpsRueSimplifie> de l'espace de noms "
            "http://cnig.gouv.fr/pcrs : ce n'est pas un fichier GML PCRS",
            "deliver the PCRS GML export of the data",
            "livrer l'export GML PCRS des données",
            "C.1",
        ),
        rule(
            "PCRS-FILE-002",
            "error",
            "Wrong version",
            "Mauvaise version",
            'the root says version {value}, not "2.0"',
            "la racine indique la version {value} et non « 2.0 »",
            'export with the PCRS v2.0 schema and write version="2.0" on <PlanCorpsRueSimplifie>',
            'exporter avec le schéma PCRS v2.0 et écrire version="2.0" sur <PlanCorpsRueSimplifie>',
            "C.1",
        ),
        rule(
            "PCRS-FILE-003",
            "warning",
            "Empty version",
            "Version vide",
            "the root attribute version is empty",
            "l'attribut version de la racine est vide",
            'write version="2.0"',
            'écrire version="2.0"',
            "C.1",
        ),
        rule(
            "PCRS-FILE-004",
            "error",
            "Pre-2.0 draft",
            "Brouillon antérieur à la 2.0",
            "the file follows a pre-2.0 draft of the standard (2.0 beta, 2017): {detail}",
            "le fichier suit un brouillon antérieur à la v2.0 du standard (2.0 bêta, 2017) : {detail}",
            "export again with the official v2.0 schema (CNIG_PCRS_v2.0.xsd, version 2.0)",
            "exporter à nouveau avec le schéma officiel v2.0 (CNIG_PCRS_v2.0.xsd, version 2.0)",
            "1",
        ),
        rule(
            "PCRS-FILE-005",
            "warning",
            "File name",
            "Nom de fichier",
            "the file name {value!r} {detail}",
            "le nom de fichier {value!r} {detail_fr}",
            "use a .gml name without spaces or accents",
            "utiliser un nom en .gml sans espace ni accent",
            "C.1",
        ),
        rule(
            "PCRS-FILE-006",
            "error",
            "Bad feature member",
            "featureMember incorrect",
            "{detail}",
            "{detail_fr}",
            "each <featureMember> (PCRS namespace) holds exactly one feature or one xlink:href",
            "chaque <featureMember> (espace PCRS) contient exactement un objet ou un xlink:href",
            "C.1",
        ),
        rule(
            "PCRS-XSD-001",
            "error",
            "Schema violation",
            "Non-conformité au schéma",
            "{detail}",
            "{detail_fr}",
            "fix the element so that the file is valid against CNIG_PCRS_v2.0.xsd",
            "corriger l'élément pour que le fichier soit valide selon CNIG_PCRS_v2.0.xsd",
            "C.1",
        ),
        rule(
            "PCRS-XSD-002",
            "info",
            "Schema step skipped",
            "Contrôle du schéma non fait",
            "schema validation was skipped: {detail}; every other rule was checked",
            "la validation par le schéma n'a pas été faite : {detail} ; toutes les autres règles "
            "ont été contrôlées",
            "run 'pcrs schemas install' once (or pass --schemas DIR)",
            "lancer une fois 'pcrs schemas install' (ou passer --schemas DIR)",
            "C.1",
        ),
    )

    @on("start_file", 10)
    def start(self, st: FileState, root: RootInfo | None) -> None:
        """File name (PCRS-FILE-005), DOCTYPE (PCRS-XML-004), version (PCRS-FILE-002/003)."""
        emit = self.v.emit
        name = Path(st.path).name
        suffix = Path(st.path).suffix.lower()
        if suffix not in (".gml", ".xml"):
            emit(
                "PCRS-FILE-005",
                None,
                value=name,
                detail="does not end in .gml or .xml",
                detail_fr="ne finit pas par .gml ou .xml",
            )
        elif " " in name or not name.isascii():
            emit(
                "PCRS-FILE-005",
                None,
                value=name,
                detail="has spaces or accents, which broke extraction in the IGN validator",
                detail_fr="a des espaces ou des accents, qui ont gêné l'extraction dans le "
                "validateur IGN",
            )
        if root is None:
            return
        loc = (root.line, root.local, root.attrib.get("gml:id"), None, None, None)
        if root.has_dtd and not root.entities:
            emit("PCRS-XML-004", loc)
        version = root.attrib.get("version")
        if version is None:
            emit("PCRS-FILE-002", loc, "version", value="(missing)")
            st.beta.append("no version attribute on the root")
        elif version.strip() == "":
            emit("PCRS-FILE-003", loc, "version")
        elif version.strip() != "2.0":
            emit("PCRS-FILE-002", loc, "version", value=repr(version))
            if "beta" in version.lower() or version.strip() in ("1.0", "1"):
                st.beta.append(f"version {version!r}")

    @on("member", 10)
    def member(self, st: FileState, m: Member) -> None:
        """One feature per ``pcrs:featureMember`` (PCRS-FILE-006)."""
        emit = self.v.emit
        loc = (m.line, None, None, None, None, None)
        if m.tag != "pcrs:featureMember":
            emit(
                "PCRS-FILE-006",
                loc,
                detail=f"<{m.tag}> is used; PCRS wraps features in <pcrs:featureMember>",
                detail_fr=f"<{m.tag}> est employé ; le PCRS emballe les objets dans "
                "<pcrs:featureMember>",
            )
        if m.n_children == 0 and m.href is None:
            emit(
                "PCRS-FILE-006",
                loc,
                detail="an empty <featureMember>",
                detail_fr="un <featureMember> vide",
            )
        elif m.n_children > 1 and m.tag != "gml:featureMembers":
            emit(
                "PCRS-FILE-006",
                loc,
                detail=f"a <featureMember> holds {m.n_children} elements (only the first was read)",
                detail_fr=f"un <featureMember> contient {m.n_children} éléments (seul le "
                "premier a été lu)",
            )

    @on("end_file", 100)
    def draft(self, st: FileState) -> None:
        """Signs of the 2.0 beta draft gathered over the file (PCRS-FILE-004)."""
        if st.beta:
            uniq = list(dict.fromkeys(st.beta))
            self.v.emit("PCRS-FILE-004", None, detail="; ".join(uniq[:8]))
