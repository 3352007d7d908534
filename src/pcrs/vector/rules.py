"""The registry of validation rules: stable ids, severities, messages in French and English.

Each rule has an id that never changes meaning (``PCRS-GEOM-003``), a severity
(``error``: the delivery breaks the schema or a structural rule of the standard;
``warning``: a recommendation, or a constraint only the PDF of the standard states;
``info``: worth knowing), a message template in both languages, what to do about
it, and the section of the standard it comes from.

:data:`RULES` is the one registry: the checks in :mod:`pcrs.vector.engine`, the
reports, the documentation's rules catalogue and the command line all read it.

Examples
--------
>>> RULES["PCRS-CODE-001"].severity
'error'
>>> f = Finding("PCRS-CODE-001", {"field": "typeMur", "value": "07", "allowed": "01, 02"})
>>> f.message("en")[:40]
"typeMur = '07' is not in its closed code"
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["RULES", "SEVERITIES", "Finding", "Rule", "rules_table"]

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class Rule:
    """One validation rule."""

    id: str
    severity: str
    title_en: str
    title_fr: str
    message_en: str
    message_fr: str
    fix_en: str
    fix_fr: str
    section: str = ""

    def render(self, params: dict, lang: str = "en") -> str:
        template = self.message_fr if lang == "fr" else self.message_en
        fix = self.fix_fr if lang == "fr" else self.fix_en
        try:
            text = template.format(**params)
        except (KeyError, IndexError, ValueError):
            text = template
        if fix:
            text = f"{text} — {fix.format(**params) if '{' in fix else fix}"
        return text


def _r(id_, sev, title_en, title_fr, msg_en, msg_fr, fix_en="", fix_fr="", section=""):
    return Rule(id_, sev, title_en, title_fr, msg_en, msg_fr, fix_en, fix_fr, section)


_RULES = [
    # --- file and XML -------------------------------------------------------------------
    _r(
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
    _r(
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
    _r(
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
    _r(
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
    _r(
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
    _r(
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
    _r(
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
    _r(
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
    _r(
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
    _r(
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
    # --- schema ---------------------------------------------------------------------------
    _r(
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
    _r(
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
    # --- classes and attributes -----------------------------------------------------------
    _r(
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
    _r(
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
    _r(
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
    _r(
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
    _r(
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
    _r(
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
    _r(
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
    _r(
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
    _r(
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
    _r(
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
    _r(
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
    _r(
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
    _r(
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
    _r(
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
    # --- identifiers and links ---------------------------------------------------------------
    _r(
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
    _r(
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
    _r(
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
    _r(
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
    _r(
        "PCRS-LINK-001",
        "warning",
        "Link target not found",
        "Cible de lien introuvable",
        "<{field}> points to {value!r}, which is in none of the files validated",
        "<{field}> pointe vers {value!r}, qui n'est dans aucun des fichiers contrôlés",
        "check the identifier, or validate the whole delivery together",
        "vérifier l'identifiant, ou contrôler toute la livraison ensemble",
        "C.1",
    ),
    _r(
        "PCRS-LINK-002",
        "error",
        "Link to wrong class",
        "Lien vers une mauvaise classe",
        "<{field}> points to {value!r}, of class {target_cls}, whereas its target must be of "
        "class {expected}",
        "<{field}> pointe vers {value!r}, de classe {target_cls}, alors que sa cible doit être "
        "de classe {expected}",
        "fix the link",
        "corriger le lien",
        "B.3",
    ),
    _r(
        "PCRS-LINK-003",
        "info",
        "Links without '#'",
        "Liens sans '#'",
        "{count} xlink:href values in this file have no leading '#' (e.g. {value!r}); "
        "they were resolved as local gml:id references",
        "{count} valeurs xlink:href de ce fichier n'ont pas de '#' initial (p. ex. {value!r}) ; "
        "elles ont été lues comme des références à des gml:id locaux",
        "write local links as '#<gml:id>' as the standard shows",
        "écrire les liens locaux '#<gml:id>' comme le montre le standard",
        "C.1",
    ),
    _r(
        "PCRS-LINK-004",
        "error",
        "Affleurant without geometry",
        "Affleurant sans géométrie",
        "AffleurantGeometriquePCRS has no enveloppe, ligne or point: the affleurant has no "
        "geometric representation",
        "AffleurantGeometriquePCRS n'a ni enveloppe, ni ligne, ni point : l'affleurant n'a "
        "aucune représentation géométrique",
        "give at least one representation (an enveloppe is recommended)",
        "fournir au moins une représentation (l'enveloppe est recommandée)",
        "B.3.32",
    ),
    _r(
        "PCRS-LINK-005",
        "error",
        "Empty association",
        "Association vide",
        "<{field}> holds neither an inline feature nor an xlink:href",
        "<{field}> ne contient ni objet ni xlink:href",
        'link the target with xlink:href="#<gml:id>" or remove the element',
        'lier la cible par xlink:href="#<gml:id>" ou supprimer l\'élément',
        "C.1",
    ),
    # --- geometry -----------------------------------------------------------------------
    _r(
        "PCRS-GEOM-001",
        "error",
        "Missing geometry",
        "Géométrie absente",
        "the feature has no geometry{detail}",
        "l'objet n'a pas de géométrie{detail_fr}",
        "every {cls} needs a geometrie",
        "tout {cls} doit avoir une geometrie",
        "B.1.1",
    ),
    _r(
        "PCRS-GEOM-002",
        "error",
        "Geometry type not allowed",
        "Type de géométrie interdit",
        "the geometry is a gml:{value}, whereas {cls} takes {allowed}",
        "la géométrie est un gml:{value} alors que {cls} attend {allowed}",
        "export the object with the geometry type of its class",
        "exporter l'objet avec le type de géométrie de sa classe",
        "B.1.1",
    ),
    _r(
        "PCRS-GEOM-003",
        "error",
        "Invalid geometry",
        "Géométrie invalide",
        "the geometry is invalid: {detail}",
        "la géométrie est invalide : {detail_fr}",
        "redraw it without self-intersection (no 'butterfly' polygon)",
        "la redessiner sans auto-intersection (pas de polygone « papillon »)",
        "B.1.3",
    ),
    _r(
        "PCRS-GEOM-004",
        "error",
        "Ring not closed",
        "Anneau non fermé",
        "a polygon ring does not end on its first point",
        "un anneau de polygone ne se termine pas sur son premier point",
        "repeat the first point at the end of the ring",
        "répéter le premier point à la fin de l'anneau",
        "B.1.3",
    ),
    _r(
        "PCRS-GEOM-005",
        "error",
        "Hole not allowed",
        "Trou interdit",
        "the polygon has {count} hole(s); {cls} must be a single polygon without holes",
        "le polygone a {count} trou(s) ; {cls} doit être un polygone unique sans trou",
        "remove the interior rings",
        "supprimer les anneaux intérieurs",
        "B.3.34",
    ),
    _r(
        "PCRS-GEOM-006",
        "error",
        "Zero-length segment",
        "Segment de longueur nulle",
        "{detail}",
        "{detail_fr}",
        "remove the repeated vertex",
        "supprimer le sommet répété",
        "B.1.3",
    ),
    _r(
        "PCRS-GEOM-007",
        "error",
        "Arc point count",
        "Nombre de points d'arc",
        "{detail}",
        "{detail_fr}",
        "an Arc has exactly 3 points (start, a point on the arc, end)",
        "un Arc a exactement 3 points (début, un point de l'arc, fin)",
        "B.1.1",
    ),
    _r(
        "PCRS-GEOM-008",
        "error",
        "Curve type not allowed",
        "Type de courbe interdit",
        "{detail}",
        "{detail_fr}",
        "PCRS curves are made only of straight segments and circular arcs (no splines)",
        "les courbes PCRS ne sont faites que de segments droits et d'arcs de cercle "
        "(pas de splines)",
        "B.1.1",
    ),
    _r(
        "PCRS-GEOM-009",
        "error",
        "Unreadable coordinates",
        "Coordonnées illisibles",
        "the geometry cannot be read: {detail}",
        "la géométrie est illisible : {detail}",
        "export the geometry again (posList of numbers, srsDimension numbers per point)",
        "exporter à nouveau la géométrie (posList de nombres, srsDimension nombres par point)",
        "B.1.1",
    ),
    _r(
        "PCRS-GEOM-010",
        "warning",
        "Flat arc",
        "Arc plat",
        "an arc passes through three aligned points; it was read as two straight segments",
        "un arc passe par trois points alignés ; il a été lu comme deux segments droits",
        "write it as a LineStringSegment",
        "l'écrire comme un LineStringSegment",
        "B.1.1",
    ),
    _r(
        "PCRS-GEOM-011",
        "error",
        "Discontinuous curve",
        "Courbe discontinue",
        "{detail}",
        "{detail_fr}",
        "each segment must start where the previous one ends",
        "chaque segment doit commencer où finit le précédent",
        "B.1.1",
    ),
    _r(
        "PCRS-GEOM-012",
        "warning",
        "No altitude",
        "Pas d'altitude",
        "{count} {cls} object(s) of this file are 2D (no Z); first one here",
        "{count} objet(s) {cls} de ce fichier sont en 2D (sans Z) ; le premier ici",
        "altitudes are recommended, and required for new surveys",
        "l'altimétrie est préconisée, et exigée pour les levés nouveaux",
        "B.1.1",
    ),
    _r(
        "PCRS-GEOM-013",
        "error",
        "Mixed 2D and 3D",
        "2D et 3D mélangés",
        "the geometry mixes 2D and 3D coordinates",
        "la géométrie mélange des coordonnées 2D et 3D",
        "give every vertex the same dimension (srsDimension)",
        "donner à tous les sommets la même dimension (srsDimension)",
        "B.1.1",
    ),
    _r(
        "PCRS-GEOM-014",
        "warning",
        "Altimetric precision vs Z",
        "Précision altimétrique et Z",
        "{detail}",
        "{detail_fr}",
        "give precisionAltimetrique exactly when the geometry has Z",
        "renseigner precisionAltimetrique exactement quand la géométrie a un Z",
        "B.3.15",
    ),
    _r(
        "PCRS-GEOM-015",
        "warning",
        "Implausible altitude",
        "Altitude invraisemblable",
        "Z = {value} m is outside [{zmin}, {zmax}] m",
        "Z = {value} m est hors de [{zmin}, {zmax}] m",
        "check the vertical unit and datum",
        "vérifier l'unité et le système altimétrique",
        "B.1.4",
    ),
    _r(
        "PCRS-GEOM-016",
        "warning",
        "Nearly zero-length segment",
        "Segment quasi nul",
        "{detail}",
        "{detail_fr}",
        "two vertices coincide within survey precision: merge them",
        "deux sommets sont confondus à la précision du levé près : les fusionner",
        "B.1.3",
    ),
    # --- CRS ------------------------------------------------------------------------------
    _r(
        "PCRS-CRS-001",
        "error",
        "No CRS",
        "Pas de système de coordonnées",
        "{count} geometries have no srsName and none is given anywhere in the file",
        "{count} géométries n'ont pas de srsName et aucun n'est donné dans le fichier",
        'write srsName="EPSG:2154" (or the CC zone used) on every geometry',
        'écrire srsName="EPSG:2154" (ou la zone CC utilisée) sur chaque géométrie',
        "B.1.4",
    ),
    _r(
        "PCRS-CRS-002",
        "error",
        "CRS not allowed",
        "Système non admis",
        "srsName {value!r} ({name}) is not a CRS allowed for PCRS",
        "srsName {value!r} ({name}) n'est pas un système admis pour le PCRS",
        "use EPSG:2154, a CC zone EPSG:3942-3950, or the legal system overseas",
        "utiliser EPSG:2154, une zone CC EPSG:3942-3950, ou le système légal outre-mer",
        "B.1.4",
    ),
    _r(
        "PCRS-CRS-003",
        "error",
        "Several CRS in one file",
        "Plusieurs systèmes dans un fichier",
        "the file uses {count} CRS: {value}",
        "le fichier emploie {count} systèmes : {value}",
        "export every geometry in one CRS",
        "exporter toutes les géométries dans un seul système",
        "B.1.4",
    ),
    _r(
        "PCRS-CRS-004",
        "error",
        "Outside the CRS area",
        "Hors de l'emprise du système",
        "the geometry lies outside the area of use of {value} ({count} such objects in this "
        "file): swapped X/Y, or a wrong srsName",
        "la géométrie est hors du domaine d'emploi de {value} ({count} objets dans ce cas "
        "dans ce fichier) : X/Y inversés ou srsName erroné",
        "check the axis order (easting first) and the srsName",
        "vérifier l'ordre des axes (X d'abord) et le srsName",
        "B.1.4",
    ),
    _r(
        "PCRS-CRS-005",
        "error",
        "Unknown CRS",
        "Système inconnu",
        "srsName {value!r} names no known CRS",
        "srsName {value!r} ne désigne aucun système connu",
        "write it as EPSG:<code>",
        "l'écrire EPSG:<code>",
        "B.1.4",
    ),
    _r(
        "PCRS-CRS-006",
        "warning",
        "srsDimension missing",
        "srsDimension absent",
        "{count} posList without srsDimension; read as 2D (first one here)",
        "{count} posList sans srsDimension ; lues en 2D (la première ici)",
        'write srsDimension="3" (or "2") on the geometries',
        'écrire srsDimension="3" (ou "2") sur les géométries',
        "C.1",
    ),
    _r(
        "PCRS-CRS-007",
        "warning",
        "srsName missing",
        "srsName absent",
        "{count} geometries have no srsName; {value} (used by the others) was assumed",
        "{count} géométries n'ont pas de srsName ; {value} (celui des autres) a été supposé",
        "write srsName on every geometry",
        "écrire srsName sur chaque géométrie",
        "B.1.4",
    ),
    # --- emprise, dates, precision --------------------------------------------------------
    _r(
        "PCRS-EMP-001",
        "warning",
        "No EmpriseEchangePCRS",
        "Pas d'EmpriseEchangePCRS",
        "the file has no EmpriseEchangePCRS",
        "le fichier n'a pas d'EmpriseEchangePCRS",
        "deliver one EmpriseEchangePCRS per file, linking the objects it publishes",
        "livrer une EmpriseEchangePCRS par fichier, liée aux objets qu'elle publie",
        "B.3.3",
    ),
    _r(
        "PCRS-EMP-002",
        "warning",
        "Several EmpriseEchangePCRS",
        "Plusieurs EmpriseEchangePCRS",
        "the file has {count} EmpriseEchangePCRS; the standard recommends one file per emprise",
        "le fichier a {count} EmpriseEchangePCRS ; le standard recommande un fichier par emprise",
        "split the delivery spatially, one file per emprise",
        "découper la livraison spatialement, un fichier par emprise",
        "C.1",
    ),
    _r(
        "PCRS-EMP-003",
        "error",
        "Object outside the emprise",
        "Objet hors emprise",
        "the object lies entirely outside the EmpriseEchangePCRS (beyond {tol} m)",
        "l'objet est entièrement hors de l'EmpriseEchangePCRS (au-delà de {tol} m)",
        "move it to the file of its emprise, or fix its coordinates",
        "le placer dans le fichier de son emprise, ou corriger ses coordonnées",
        "B.3.3",
    ),
    _r(
        "PCRS-EMP-004",
        "warning",
        "Object not published by the emprise",
        "Objet non publié",
        "{count} object(s) of this file are not linked from the EmpriseEchangePCRS "
        "(objet/habillage); first one here",
        "{count} objet(s) de ce fichier ne sont pas liés depuis l'EmpriseEchangePCRS "
        "(objet/habillage) ; le premier ici",
        "list every object in the emprise's objet or habillage links",
        "lister chaque objet dans les liens objet ou habillage de l'emprise",
        "B.3.3",
    ),
    _r(
        "PCRS-DATE-001",
        "error",
        "Dates out of order",
        "Dates incohérentes",
        "{field} = {value} is after {other_field} = {other}",
        "{field} = {value} est postérieure à {other_field} = {other}",
        "a survey cannot be later than its publication: fix one of the dates",
        "un levé ne peut pas être postérieur à sa publication : corriger l'une des dates",
        "B.3.3",
    ),
    _r(
        "PCRS-DATE-002",
        "warning",
        "Implausible date",
        "Date invraisemblable",
        "{field} = {value} {detail}",
        "{field} = {value} {detail_fr}",
        "check the date",
        "vérifier la date",
        "B.3",
    ),
    _r(
        "PCRS-PREC-001",
        "warning",
        "Precision below PCRS grade",
        "Précision hors classe PCRS",
        "precisionPlanimetrique = {value!r} ({label}) is worse than the {threshold} cm of "
        "PCRS-grade objects",
        "precisionPlanimetrique = {value!r} ({label}) est moins bonne que les {threshold} cm "
        "des objets de qualité PCRS",
        "acceptable for legacy or indicative objects only",
        "admissible seulement pour des objets anciens ou indicatifs",
        "A.1",
    ),
    # --- LiDAR cross-check (pcrs.vector.lidar_check; pcrs validate --lidar) ---------------
    _r(
        "PCRS-LIDAR-001",
        "warning",
        "Z far from the LiDAR ground",
        "Z loin du sol LiDAR",
        "this object, surveyed at ground level, lies {residual} m from the LiDAR ground "
        "(median over {count} vertices; worst {worst} m at this point); tolerance {tolerance} m",
        "cet objet, levé au niveau du sol, est à {residual} m du sol LiDAR (médiane sur "
        "{count} sommets ; pire écart {worst} m en ce point) ; tolérance {tolerance} m",
        "check the altitude of the survey (or whether the ground changed since the flight)",
        "vérifier l'altitude du levé (ou si le sol a changé depuis le vol LiDAR)",
        "B.1.1",
    ),
    _r(
        "PCRS-LIDAR-002",
        "error",
        "Systematic vertical offset",
        "Décalage altimétrique systématique",
        "the altitudes of the delivery are {bias} m from the LiDAR ground as a whole (median "
        "of {count} vertices at ground level, tolerance {tolerance} m){hint}; objects are not "
        "listed one by one",
        "les altitudes de la livraison sont à {bias} m du sol LiDAR dans leur ensemble "
        "(médiane de {count} sommets au sol, tolérance {tolerance} m){hint_fr} ; les objets ne "
        "sont pas listés un par un",
        "check the vertical datum: PCRS altitudes are NGF-IGN69 (IGN78 in Corsica), not "
        "ellipsoidal heights; correct the whole delivery",
        "vérifier le référentiel altimétrique : les altitudes PCRS sont en NGF-IGN69 (IGN78 en "
        "Corse), pas des hauteurs ellipsoïdales ; corriger toute la livraison",
        "B.1.4",
    ),
    _r(
        "PCRS-LIDAR-003",
        "warning",
        "No LiDAR ground class",
        "Pas de classe sol dans le LiDAR",
        "the LiDAR points over the delivery ({points} points) have no ground class "
        "(2, 9 or 66): the altitudes were not compared",
        "les points LiDAR sur la livraison ({points} points) n'ont pas de classe sol "
        "(2, 9 ou 66) : les altitudes n'ont pas été comparées",
        "classify the LiDAR first (pcrs classify --steps noise,ground,buildings)",
        "classer d'abord le LiDAR (pcrs classify --steps noise,ground,buildings)",
        "",
    ),
    _r(
        "PCRS-LIDAR-004",
        "warning",
        "Façade without LiDAR building",
        "Façade sans bâtiment LiDAR",
        "only {share}% of this façade ({length} m) runs along LiDAR building points within "
        "{distance} m",
        "seuls {share} % de cette façade ({length} m) longent des points LiDAR de bâtiment à "
        "moins de {distance} m",
        "check its position: misplaced façade, demolished building, or a LiDAR older than "
        "the building",
        "vérifier sa position : façade mal placée, bâtiment démoli, ou LiDAR antérieur au bâtiment",
        "B.3.22",
    ),
    _r(
        "PCRS-LIDAR-005",
        "warning",
        "Façades drawn with the building on the right",
        "Façades avec le bâti à droite",
        "{count} of the {total} façades compared with the LiDAR have the building on their "
        "right; the standard's convention puts the interior on the left",
        "{count} des {total} façades comparées au LiDAR ont le bâtiment à leur droite ; la "
        "convention du standard met l'intérieur à gauche",
        "reverse the vertex order of the façades, or state the convention in the metadata",
        "inverser l'ordre des sommets des façades, ou indiquer la convention dans les métadonnées",
        "B.1.3",
    ),
    _r(
        "PCRS-LIDAR-006",
        "warning",
        "Façade reversed",
        "Façade inversée",
        "the LiDAR building is on the right of this façade, while the standard's convention "
        "(followed by most façades of this delivery) puts the interior on the left",
        "le bâtiment LiDAR est à droite de cette façade, alors que la convention du standard "
        "(suivie par la plupart des façades de la livraison) met l'intérieur à gauche",
        "reverse the order of its vertices",
        "inverser l'ordre de ses sommets",
        "B.1.3",
    ),
    _r(
        "PCRS-LIDAR-007",
        "warning",
        "Building not surveyed",
        "Bâtiment non levé",
        "the LiDAR shows a building of about {area} m² here, inside the emprise, with no "
        "FacadePCRS within {distance} m",
        "le LiDAR montre ici un bâtiment d'environ {area} m², dans l'emprise, sans FacadePCRS "
        "à moins de {distance} m",
        "survey its façades, or check whether it was demolished after the LiDAR flight",
        "lever ses façades, ou vérifier s'il a été démoli après le vol LiDAR",
        "B.3.22",
    ),
    _r(
        "PCRS-LIDAR-008",
        "warning",
        "No LiDAR building class",
        "Pas de classe bâtiment dans le LiDAR",
        "the LiDAR points over the delivery have no building class (6): façades and "
        "completeness were not checked",
        "les points LiDAR sur la livraison n'ont pas de classe bâtiment (6) : les façades et "
        "l'exhaustivité n'ont pas été contrôlées",
        "classify the LiDAR first (pcrs classify --steps noise,ground,buildings)",
        "classer d'abord le LiDAR (pcrs classify --steps noise,ground,buildings)",
        "",
    ),
    _r(
        "PCRS-LIDAR-009",
        "info",
        "Vertices without LiDAR ground",
        "Sommets sans sol LiDAR",
        "{count} of the {total} vertices at ground level have no LiDAR ground point within "
        "{radius} m and were not compared (outside the LiDAR, under buildings or cars)",
        "{count} des {total} sommets au niveau du sol n'ont aucun point LiDAR sol à moins de "
        "{radius} m et n'ont pas été comparés (hors LiDAR, sous un bâtiment ou un véhicule)",
        "",
        "",
        "",
    ),
]

#: the registry, by id
RULES: dict[str, Rule] = {r.id: r for r in _RULES}


@dataclass(slots=True)
class Finding:
    """One located defect.

    ``params`` fill the rule's message templates; the location fields follow the JSON
    report contract (``file``, ``line``, ``feature_class``, ``gml_id``, ``id_objet``,
    ``x``, ``y``); ``field`` names the attribute concerned when there is one.
    """

    rule: str
    params: dict = field(default_factory=dict)
    file: str | None = None
    line: int | None = None
    feature_class: str | None = None
    gml_id: str | None = None
    id_objet: str | None = None
    x: float | None = None
    y: float | None = None
    field: str | None = None

    @property
    def severity(self) -> str:
        return RULES[self.rule].severity

    def message(self, lang: str = "en") -> str:
        """The message in ``lang`` (``"en"`` or ``"fr"``), with what to do."""
        return RULES[self.rule].render(self.params, lang)

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        return {
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message(lang),
            "file": self.file,
            "line": self.line,
            "feature_class": self.feature_class,
            "gml_id": self.gml_id,
            "id_objet": self.id_objet,
            "x": None if self.x is None else float(self.x),
            "y": None if self.y is None else float(self.y),
            "field": self.field,
        }


def rules_table() -> str:
    """The rules catalogue as a Markdown table (pasted in ``docs/validation.md``; a test
    checks that the page and the registry agree)."""
    rows = [
        "| id | severity | rule | règle | section |",
        "|---|---|---|---|---|",
    ]
    for r in RULES.values():
        rows.append(f"| {r.id} | {r.severity} | {r.title_en} | {r.title_fr} | {r.section} |")
    return "\n".join(rows)
