"""The CNIG PCRS v2.0 model as data: feature classes, attributes, code lists, geometry types.

Written from the standard (CNIG géostandard PCRS v2.0 r1, 2019) and its official XSD
(``CNIG_PCRS_v2.0.xsd`` and ``CNIG_PCRS-INFO_v2.0.xsd``). Where the PDF and the XSD
disagree, **the XSD is normative** for structure (names, order, cardinalities, types);
constraints that only the PDF states are kept as :data:`PDF_CONSTRAINTS`, which the
validator reports as warnings citing the section of the standard.

Nothing here opens a file: the validator (:mod:`pcrs.vector.rules`) reads this table.

Examples
--------
>>> from pcrs.vector.model import CLASSES, attributes_of
>>> [a.name for a in attributes_of("MurPCRS")][:3]
['dateLeve', 'idObjet', 'thematique']
>>> CLASSES["MurPCRS"].themes
('05',)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = [
    "BETA_CLASSES",
    "BETA_ELEMENTS",
    "CLASSES",
    "CODE_LISTS",
    "GEOMETRY_KINDS",
    "GML_NS",
    "ID_FIELDS",
    "NS_PCRS",
    "NS_PCRS_INFO",
    "PDF_CONSTRAINTS",
    "PDF_NAMES",
    "THEMES",
    "XLINK_NS",
    "Attribute",
    "CodeList",
    "FeatureClass",
    "PdfConstraint",
    "attributes_of",
    "check_code",
    "is_subclass",
]

NS_PCRS = "http://cnig.gouv.fr/pcrs"
NS_PCRS_INFO = "http://cnig.gouv.fr/pcrs-information"
GML_NS = "http://www.opengis.net/gml/3.2"
XLINK_NS = "http://www.w3.org/1999/xlink"

# --- code lists -------------------------------------------------------------------------

_OTHER = re.compile(r"^other: \w{2,}$")


@dataclass(frozen=True)
class CodeList:
    """A code list of the standard (B.3.40).

    ``extensible`` lists (« liste de codes extensible ») also accept ``other: xxx``
    (the XSD pattern ``other: \\w{2,}``); closed lists (« énumération ») do not.
    """

    name: str
    values: dict[str, str]
    extensible: bool = False
    section: str = "B.3.40"


def _cl(name: str, values: dict[str, str], extensible: bool = False) -> CodeList:
    return CodeList(name, values, extensible)


CODE_LISTS: dict[str, CodeList] = {
    c.name: c
    for c in [
        _cl(
            "CategorieThematiquePCRSType",
            {
                "00": "A déterminer",
                "01": "Topographie",
                "02": "Bâti",
                "03": "Voirie",
                "04": "Ferroviaire",
                "05": "Clôture",
                "06": "Végétal",
                "07": "Ouvrage d'art",
                "08": "Hydrographie",
                "09": "Orographie",
                "10": "Affleurant",
                "11": "Raster",
                "99": "Non définie",
            },
        ),
        _cl(
            "CategoriePrecisionPCRSType",
            {
                "002": "moins de 2 cm",
                "005": "2 à 5 cm",
                "010": "5 à 10 cm",
                "040": "10 à 40 cm",
                "150": "40 à 150 cm",
                "999": "plus de 150 cm",
            },
        ),
        _cl(
            "QualiteCategorisationPCRSType",
            {"01": "Très fiable / Conforme PCRS", "02": "Moyennement fiable", "03": "Peu fiable"},
            extensible=True,
        ),
        _cl(
            "NatureAffleurantPCRSType",
            {
                "01": "Avaloir",
                "02": "Boîte, Coffret, Armoire",
                "03": "Tampon, Plaque, Chambre",
                "04": "Branchement, Vanne, Bouche à clé",
                "05": "Bouche incendie, Poteau incendie",
                "06": "Poteau",
                "07": "Poteau d'éclairage",
            },
            extensible=True,
        ),
        _cl(
            "NatureReseauPCRSType",
            {
                "00": "Non défini",
                "ELEC": "Electricité",
                "ELECECL": "Eclairage public",
                "ELECSLT": "Signalisation lumineuse tricolore",
                "ELECBT": "Electricité basse tension",
                "ELECHT": "Electricité haute tension",
                "GAZ": "Gaz",
                "MULT": "Multi réseaux",
                "CHIM": "Produits chimiques",
                "COM": "Télécom",
                "AEP": "Eau potable",
                "ASSA": "Assainissement et pluvial",
                "ASSAEP": "Eaux pluviales",
                "ASSAEU": "Eaux usées",
                "ASSARU": "Réseau unitaire",
                "DECH": "Déchets",
                "CHAU": "Chauffage et climatisation",
                "INCE": "Incendie",
            },
            extensible=True,
        ),
        _cl(
            "CategorieMurPCRSType",
            {
                "01": "mur",
                "02": "mur de soutènement",
                "03": "mur bahut",
                "04": "mur bahut avec clôture",
                "05": "parapet",
                "06": "enrochement",
            },
        ),
        _cl(
            "SectionPilierPCRSType",
            {"00": "autre forme", "01": "carré", "02": "circulaire", "03": "rectangulaire"},
        ),
        _cl(
            "CategoriePlacementPCRSType",
            {
                "01": "Sans repositionnement",
                "02": "AxeVoirie",
                "03": "LimiteVoirie",
                "04": "HorsVoirie",
                "05": "Parcelle",
            },
        ),
        _cl("ProprieteEspaceType", {"01": "Espace public", "02": "Espace privé"}),
        _cl("TexteJustificationPCRSType", {"G": "Gauche", "C": "Centré", "D": "Droite"}),
        _cl(
            "CalendrierPCRSType",
            {
                "01": "Mis à disposition / Livré",
                "02": "Actualisation en cours",
                "03": "En projet / planifié",
                "04": "Non planifié",
            },
            extensible=True,
        ),
    ]
}

THEMES = CODE_LISTS["CategorieThematiquePCRSType"].values


def check_code(codelist: str, value: str) -> str:
    """Classify ``value`` against a code list.

    Returns
    -------
    str
        ``"ok"`` for a listed code, ``"other"`` for the ``other: xxx`` form of an
        extensible list, ``"invalid"`` otherwise.

    Examples
    --------
    >>> check_code("CategorieMurPCRSType", "07")
    'invalid'
    >>> check_code("NatureReseauPCRSType", "other: FIBRE")
    'other'
    """
    cl = CODE_LISTS[codelist]
    if value in cl.values:
        return "ok"
    if cl.extensible and _OTHER.match(value):
        return "other"
    return "invalid"


# --- attributes and classes ---------------------------------------------------------------

#: attribute value types
#: string, date, double, integer, code (with ``codelist``), link (with ``target``),
#: geometry (with the allowed ``geometry`` kinds)
_TYPES = ("string", "date", "double", "integer", "code", "link", "geometry")


@dataclass(frozen=True)
class Attribute:
    """One property of a feature class, in XSD order.

    ``max_occurs`` is None for unbounded. ``target`` names the class (or abstract
    class) a link must point to. ``geometry`` lists the GML geometry kinds the XSD
    accepts for a geometry property (see :data:`GEOMETRY_KINDS`).
    """

    name: str
    type: str
    min_occurs: int = 1
    max_occurs: int | None = 1
    codelist: str | None = None
    target: str | None = None
    geometry: tuple[str, ...] = ()
    section: str = ""

    def __post_init__(self) -> None:
        if self.type not in _TYPES:  # pragma: no cover - table error
            raise ValueError(f"unknown attribute type {self.type!r}")


@dataclass(frozen=True)
class FeatureClass:
    """A feature class of PCRS v2.0.

    ``parent`` is the abstract class it derives from (ObjetVecteurPCRS, HabillagePCRS,
    HabillageTextePCRS, PilierPCRS) or None. ``themes`` are the ``thematique`` codes the
    class table of B.1.1 gives (empty when the class has no thematique or any is allowed).
    ``section`` is the section of the standard that describes it.
    """

    name: str
    attributes: tuple[Attribute, ...]
    parent: str | None = None
    abstract: bool = False
    namespace: str = NS_PCRS
    themes: tuple[str, ...] = ()
    section: str = ""
    essential: bool = False


def _a(name, type_="string", mn=1, mx=1, **kw) -> Attribute:
    return Attribute(name, type_, mn, mx, **kw)


def _code(name, codelist, mn=1, mx=1) -> Attribute:
    return Attribute(name, "code", mn, mx, codelist=codelist)


def _link(name, target, mn=0, mx=None) -> Attribute:
    return Attribute(name, "link", mn, mx, target=target)


def _geom(*kinds: str) -> Attribute:
    return Attribute("geometrie", "geometry", 1, 1, geometry=kinds)


#: geometry kinds accepted by the XSD property types
GEOMETRY_KINDS: dict[str, tuple[str, ...]] = {
    "Point": ("Point",),
    "Curve": ("Curve", "LineString"),
    "MultiCurve": ("MultiCurve",),
    "MultiPoint": ("MultiPoint",),
    "Polygon": ("Polygon",),
    "Surface": ("Polygon", "Surface"),
    "MultiSurface": ("MultiSurface",),
    "Any": (
        "Point",
        "Curve",
        "LineString",
        "Polygon",
        "Surface",
        "MultiPoint",
        "MultiCurve",
        "MultiSurface",
        "MultiGeometry",
    ),
}

_OBJET = (
    _a("dateLeve", "date", 0),
    _a("idObjet"),
    _code("thematique", "CategorieThematiquePCRSType"),
    _code("qualiteCategorisation", "QualiteCategorisationPCRSType"),
    _code("precisionPlanimetrique", "CategoriePrecisionPCRSType"),
    _code("precisionAltimetrique", "CategoriePrecisionPCRSType", 0),
    _a("producteur"),
    _link("pointLeve", "PointLevePCRS"),
)
_HABILLAGE = (
    _a("idHabillage"),
    _code("thematique", "CategorieThematiquePCRSType"),
    _link("habillage", "HabillagePCRS"),
)
_TEXTE = (
    _geom(*GEOMETRY_KINDS["Point"]),
    _a("libelle"),
    _a("angleRotation", "double"),
    _code("justification", "TexteJustificationPCRSType"),
    _a("taille", "double"),
)
_SYMBOLE = (
    _geom(*GEOMETRY_KINDS["Point"]),
    _a("reference"),
    _a("angleRotation", "double"),
    _a("longueur_mm", "double"),
    _a("largeur_mm", "double"),
)
_CURVE = (_geom(*GEOMETRY_KINDS["Curve"]),)
_POINT = (_geom(*GEOMETRY_KINDS["Point"]),)


def _fc(name, attrs, parent=None, **kw) -> FeatureClass:
    return FeatureClass(name, tuple(attrs), parent, **kw)


_CLASS_LIST = [
    # abstract heads
    _fc("ObjetVecteurPCRS", _OBJET, abstract=True, section="B.3.15"),
    _fc("HabillagePCRS", _HABILLAGE, abstract=True, section="B.3.6"),
    _fc("PilierPCRS", (), "ObjetVecteurPCRS", abstract=True, themes=("05",), section="B.3.26"),
    # information (pcrs-i)
    _fc(
        "InitiativePCRS",
        (
            _a("partenaires", mn=0, mx=None),
            _a("gestionnaire"),
            _a("description", mn=0),
            _geom(*GEOMETRY_KINDS["MultiSurface"]),
            _link("commune", "Commune"),
        ),
        namespace=NS_PCRS_INFO,
        section="B.3.1",
    ),
    _fc(
        "EmpriseDisponibilitePCRS",
        (
            _a("dateActualite", "date", 0),
            _code("calendrier", "CalendrierPCRSType", 0),
            _geom(*GEOMETRY_KINDS["MultiSurface"]),
            _link("troncon", "TronconVoirie"),
            _link("commune", "Commune"),
            _link("initiative", "InitiativePCRS", 1, 1),
        ),
        namespace=NS_PCRS_INFO,
        section="B.3.2",
    ),
    # publication
    _fc(
        "EmpriseEchangePCRS",
        (
            _a("fournisseur"),
            _a("datePublication", "date"),
            _a("complement", mn=0),
            _a("type", mn=0),
            _geom(*GEOMETRY_KINDS["MultiSurface"]),
            _a("idEmprise"),
            _link("raster", "RasterPCRS"),
            _link("objet", "ObjetVecteurPCRS"),
            _link("commune", "Commune"),
            _link("troncon", "TronconVoirie"),
            _link("habillage", "HabillagePCRS"),
        ),
        section="B.3.3",
        essential=True,
    ),
    _fc(
        "Commune",
        (
            _a("codeINSEE"),
            _a("nom", mn=0),
            _geom(*GEOMETRY_KINDS["MultiSurface"]),
            _a("reference"),
        ),
        section="B.3.4",
    ),
    _fc(
        "TronconVoirie",
        (
            _geom(*GEOMETRY_KINDS["Curve"]),
            _a("source"),
            _a("reference"),
            _code("propriete", "ProprieteEspaceType", 0),
        ),
        section="B.3.5",
    ),
    # habillage
    _fc(
        "HabillagePointsPCRS",
        (_geom(*GEOMETRY_KINDS["MultiPoint"]),),
        "HabillagePCRS",
        section="B.3.7",
    ),
    _fc("HabillageSymbolePCRS", _SYMBOLE, "HabillagePCRS", section="B.3.8"),
    _fc("HabillageTextePCRS", _TEXTE, "HabillagePCRS", section="B.3.9"),
    _fc(
        "NomVoiriePCRS",
        (_a("idNomVoirie"), _code("positionnement", "CategoriePlacementPCRSType", 0)),
        "HabillageTextePCRS",
        section="B.3.10",
    ),
    _fc(
        "NumeroVoiriePCRS",
        (_a("idNumeroVoirie"), _code("positionnement", "CategoriePlacementPCRSType", 0)),
        "HabillageTextePCRS",
        section="B.3.11",
    ),
    _fc(
        "HabillageLignesPCRS",
        (_geom(*GEOMETRY_KINDS["MultiCurve"]),),
        "HabillagePCRS",
        section="B.3.12",
    ),
    _fc(
        "HabillageEnveloppePCRS",
        (_geom(*GEOMETRY_KINDS["Polygon"]),),
        "HabillagePCRS",
        section="B.3.13",
    ),
    _fc(
        "MasqueOpacitePCRS",
        (
            _a("transparence", "integer"),
            _geom(*GEOMETRY_KINDS["Surface"]),
            _link("raster", "RasterPCRS", 1, None),
        ),
        "HabillagePCRS",
        section="B.3.39",
    ),
    # topographie
    _fc(
        "PointLevePCRS",
        (
            *_POINT,
            _a("numeroPoint"),
            _a("precisionXY", "integer"),
            _a("precisionZ", "integer", 0),
            _a("horodatage", "date", 0),
            _a("producteur"),
        ),
        section="B.3.14",
    ),
    _fc(
        "PointCanevasPCRS",
        (
            *_POINT,
            _a("canevas", mn=0),
            _a("precisionXY", "integer", 0),
            _a("precisionZ", "integer", 0),
            _a("immatriculation", mn=0),
            _a("dateCreation", "date", 0),
            _a("fiche", mn=0),
        ),
        "ObjetVecteurPCRS",
        themes=("01",),
        section="B.3.16",
    ),
    _fc(
        "ObjetGeneriquePCRS",
        (_geom(*GEOMETRY_KINDS["Any"]), _a("identification", mn=0)),
        "ObjetVecteurPCRS",
        themes=("00",),
        section="B.3.17",
    ),
    # vector objects
    _fc(
        "QuaiFluvioMaritimePCRS",
        _CURVE,
        "ObjetVecteurPCRS",
        themes=("07",),
        section="B.3.18",
        essential=True,
    ),
    _fc(
        "QuaiRailPCRS", _CURVE, "ObjetVecteurPCRS", themes=("04",), section="B.3.19", essential=True
    ),
    _fc("LimiteVoiriePCRS", _CURVE, "ObjetVecteurPCRS", themes=("03",), section="B.3.20"),
    _fc(
        "MarcheEscalierPCRS",
        (*_CURVE, _link("symbole", "HabillageSymbolePCRS", 0, 1)),
        "ObjetVecteurPCRS",
        themes=("03", "02"),
        section="B.3.21",
    ),
    _fc("FacadePCRS", _CURVE, "ObjetVecteurPCRS", themes=("02",), section="B.3.22", essential=True),
    _fc("ProeminenceBatiPCRS", _CURVE, "ObjetVecteurPCRS", themes=("02",), section="B.3.23"),
    _fc(
        "SeuilPCRS",
        (*_CURVE, _link("symbole", "HabillageSymbolePCRS", 0, 1)),
        "ObjetVecteurPCRS",
        themes=("02",),
        section="B.3.24",
    ),
    _fc(
        "MurPCRS",
        (*_CURVE, _code("typeMur", "CategorieMurPCRSType", 0)),
        "ObjetVecteurPCRS",
        themes=("05",),
        section="B.3.25",
        essential=True,
    ),
    _fc(
        "PilierRegulierPCRS",
        (
            *_POINT,
            _code("section", "SectionPilierPCRSType"),
            _a("angleRotation", "double"),
            _a("longueur", "double"),
            _a("largeur", "double"),
        ),
        "PilierPCRS",
        themes=("05",),
        section="B.3.27",
    ),
    _fc("PilierParticulierPCRS", _CURVE, "PilierPCRS", themes=("05",), section="B.3.28"),
    _fc("RailPCRS", _CURVE, "ObjetVecteurPCRS", themes=("04",), section="B.3.29", essential=True),
    _fc(
        "ArbrePCRS",
        (*_POINT, _a("reference")),
        "ObjetVecteurPCRS",
        themes=("06",),
        section="B.3.30",
    ),
    _fc(
        "PilePontPCRS",
        (_geom(*GEOMETRY_KINDS["Polygon"]),),
        "ObjetVecteurPCRS",
        themes=("07",),
        section="B.3.31",
    ),
    # affleurants
    _fc(
        "AffleurantPCRS",
        (
            _a("gestionnaire", mn=0),
            _code("nature", "NatureAffleurantPCRSType", 0),
            _code("reseau", "NatureReseauPCRSType", 0),
            _a("source", mn=0),
            _a("idSource", mn=0),
            _link("symbolisation", "AffleurantSymbolePCRS", 0, 1),
            _link("representation", "AffleurantGeometriquePCRS", 1, 1),
        ),
        "ObjetVecteurPCRS",
        themes=("10",),
        section="B.3.32",
        essential=True,
    ),
    _fc(
        "AffleurantGeometriquePCRS",
        (
            _link("enveloppe", "AffleurantEnveloppePCRS"),
            _link("ligne", "AffleurantLignesPCRS"),
            _link("point", "AffleurantPointPCRS"),
        ),
        section="B.3.33",
    ),
    _fc(
        "AffleurantEnveloppePCRS",
        (_geom(*GEOMETRY_KINDS["Polygon"]), _link("habillage", "HabillageLignesPCRS")),
        section="B.3.34",
    ),
    _fc("AffleurantLignesPCRS", (_geom(*GEOMETRY_KINDS["MultiCurve"]),), section="B.3.35"),
    _fc("AffleurantPointPCRS", _POINT, section="B.3.36"),
    _fc("AffleurantSymbolePCRS", _SYMBOLE, section="B.3.37"),
    # raster
    _fc(
        "RasterPCRS",
        (
            _a("producteur"),
            _a("nomImage"),
            _a("typeImage"),
            _geom(*GEOMETRY_KINDS["Polygon"]),
            _a("idPCRS"),
            _a("resolution", "integer"),
            _a("dateAcquisition", "date"),
            _a("dateRecette", "date"),
            _code("precisionPlanimetriqueCorpsDeRue", "CategoriePrecisionPCRSType"),
            _code("precisionPlanimetriqueZoneNaturelle", "CategoriePrecisionPCRSType"),
            _a("descriptionElementsQualite"),
            _link("masque", "MasqueOpacitePCRS"),
        ),
        section="B.3.38",
    ),
]

#: every PCRS v2.0 feature class by name (abstract ones included)
CLASSES: dict[str, FeatureClass] = {c.name: c for c in _CLASS_LIST}


def is_subclass(name: str, ancestor: str) -> bool:
    """Whether class ``name`` is ``ancestor`` or derives from it.

    >>> is_subclass("PilierRegulierPCRS", "ObjetVecteurPCRS")
    True
    """
    seen = 0
    current: str | None = name
    while current is not None and seen < 10:
        if current == ancestor:
            return True
        cls = CLASSES.get(current)
        current = cls.parent if cls else None
        seen += 1
    return False


_ATTR_CACHE: dict[str, tuple[Attribute, ...]] = {}


def attributes_of(name: str) -> tuple[Attribute, ...]:
    """All attributes of class ``name``, inherited ones first, in XSD order."""
    cached = _ATTR_CACHE.get(name)
    if cached is not None:
        return cached
    cls = CLASSES[name]
    own = cls.attributes
    result = (*attributes_of(cls.parent), *own) if cls.parent else own
    _ATTR_CACHE[name] = result
    return result


#: identifier attributes that must be non-empty and unique in a delivery
ID_FIELDS = ("idObjet", "idHabillage", "idEmprise", "idNomVoirie", "idNumeroVoirie")

#: classes that existed in the 2.0 beta drafts (2017) and were removed from v2.0
BETA_CLASSES: dict[str, str] = {
    "BordurePCRS": "LimiteVoiriePCRS",
    "ChangementRevetementPCRS": "",
    "HaieEspaceVertPCRS": "",
    "EmprisePCRS": "EmpriseEchangePCRS",
    "AffleurantLignePCRS": "AffleurantLignesPCRS",
}

#: element names only the beta drafts used
BETA_ELEMENTS: dict[str, str] = {
    "autreRepresentation": "representation",
}

#: names the PDF uses where the XSD (normative) uses another: (class, pdf name) -> xsd name
PDF_NAMES: dict[tuple[str, str], str] = {
    ("EmpriseEchangePCRS", "gestionnaire"): "fournisseur",
    ("PilierRegulierPCRS", "longueur_mm"): "longueur",
    ("PilierRegulierPCRS", "largeur_mm"): "largeur",
}


@dataclass(frozen=True)
class PdfConstraint:
    """A constraint the PDF of the standard states and the XSD does not enforce."""

    cls: str
    attribute: str
    kind: str  # "nonempty"
    section: str
    note: str = field(default="")


#: reported as warnings (PCRS-ATTR-003) citing the section
PDF_CONSTRAINTS: tuple[PdfConstraint, ...] = (
    PdfConstraint("ArbrePCRS", "reference", "nonempty", "B.3.30"),
    PdfConstraint("ObjetVecteurPCRS", "producteur", "nonempty", "B.3.15"),
    PdfConstraint("HabillageSymbolePCRS", "reference", "nonempty", "B.3.8"),
    PdfConstraint("AffleurantSymbolePCRS", "reference", "nonempty", "B.3.37"),
    PdfConstraint("HabillageTextePCRS", "libelle", "nonempty", "B.3.9"),
    PdfConstraint("EmpriseEchangePCRS", "fournisseur", "nonempty", "B.3.3"),
    PdfConstraint("PointLevePCRS", "numeroPoint", "nonempty", "B.3.14"),
    PdfConstraint("PointLevePCRS", "producteur", "nonempty", "B.3.14"),
    PdfConstraint("Commune", "codeINSEE", "nonempty", "B.3.4"),
    PdfConstraint("RasterPCRS", "nomImage", "nonempty", "B.3.38"),
)
