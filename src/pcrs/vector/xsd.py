"""Schema validation of PCRS GML against the official XSD, streamed and offline.

The schemas are loaded from a local folder holding an OASIS XML catalog
(``catalog.xml``) that maps the public schema URLs (schemas.opengis.net, w3.org,
cnigfr.github.io...) to local files. pcrs reads the catalog itself and resolves
every import through it with an lxml resolver, on parsers built with
``no_network=True``: nothing is ever fetched from the network, whatever the
``XML_CATALOG_FILES`` environment says.

Streaming: a PCRS document is a flat list of ``featureMember`` elements, each holding
one feature, which is a global element of the schema. :class:`FeatureValidator`
validates each feature as it comes out of the streaming reader, then the root
element alone (its attributes and ``boundedBy``) once the members are gone. This
gives the same verdicts as validating the whole document, except for the
document-wide uniqueness of ``gml:id`` (an ``xs:ID``), which the rule PCRS-ID-003
checks instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from ..errors import PcrsIOError

__all__ = [
    "Catalog",
    "FeatureValidator",
    "SchemaError",
    "load_schema",
    "translate",
]

_CAT_NS = "{urn:oasis:names:tc:entity:xmlns:xml:catalog}"
PCRS_XSD_URL = "https://cnigfr.github.io/PCRS/schemas/CNIG_PCRS_v2.0.xsd"


class Catalog:
    """A minimal OASIS XML catalog: ``system``, ``uri``, ``rewriteSystem``, ``rewriteURI``,
    ``nextCatalog``.

    Parameters
    ----------
    path : path-like
        The catalog file; relative targets resolve against its folder.
    """

    def __init__(self, path: str | Path, _depth: int = 0):
        self.path = Path(path)
        self.exact: dict[str, Path] = {}
        self.rewrites: list[tuple[str, Path]] = []
        self.next: list[Catalog] = []
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        try:
            root = etree.parse(str(self.path), parser).getroot()
        except (OSError, etree.XMLSyntaxError) as exc:
            raise PcrsIOError(f"{self.path}: cannot read the XML catalog ({exc})") from exc
        base = self.path.parent
        for el in root.iter():
            if not isinstance(el.tag, str) or not el.tag.startswith(_CAT_NS):
                continue
            kind = el.tag[len(_CAT_NS) :]
            if kind == "system":
                self.exact[el.get("systemId")] = base / el.get("uri")
            elif kind == "uri":
                self.exact[el.get("name")] = base / el.get("uri")
            elif kind == "rewriteSystem":
                self.rewrites.append(
                    (el.get("systemIdStartString"), base / el.get("rewritePrefix"))
                )
            elif kind == "rewriteURI":
                self.rewrites.append((el.get("uriStartString"), base / el.get("rewritePrefix")))
            elif kind == "nextCatalog" and _depth < 5:
                self.next.append(Catalog(base / el.get("catalog"), _depth + 1))
        # longest prefix first, as the OASIS specification says
        self.rewrites.sort(key=lambda r: -len(r[0]))

    def resolve(self, url: str) -> Path | None:
        """The local file for ``url``, or None when the catalog does not map it."""
        if url in self.exact:
            return self.exact[url]
        for prefix, target in self.rewrites:
            if url.startswith(prefix):
                return Path(str(target) + "/" + url[len(prefix) :].lstrip("/"))
        for nxt in self.next:
            hit = nxt.resolve(url)
            if hit is not None:
                return hit
        return None


class _CatalogResolver(etree.Resolver):
    def __init__(self, catalog: Catalog):
        super().__init__()
        self.catalog = catalog

    def resolve(self, url, pubid, context):
        if url is None:
            return None
        local = self.catalog.resolve(url)
        if local is not None and local.is_file():
            return self.resolve_filename(str(local), context)
        if url.startswith(("http://", "https://", "ftp://")):
            # never fetched: an empty answer makes libxml2 report the missing schema
            return self.resolve_string("", context)
        return None


def load_schema(schema_dir: str | Path) -> etree.XMLSchema:
    """Load the PCRS v2.0 schema from a folder laid out like ``pcrs schemas install`` makes.

    Parameters
    ----------
    schema_dir : path-like
        Folder with ``catalog.xml`` mapping the public URLs to local files.

    Raises
    ------
    PcrsIOError
        When the folder has no catalog, or the schema does not load offline.
    """
    schema_dir = Path(schema_dir)
    cat_path = schema_dir / "catalog.xml"
    if not cat_path.is_file():
        raise PcrsIOError(
            f"{schema_dir}: no catalog.xml here; give the folder made by "
            "'pcrs schemas install' (or its --from source)"
        )
    catalog = Catalog(cat_path)
    xsd = catalog.resolve(PCRS_XSD_URL)
    if xsd is None or not xsd.is_file():
        raise PcrsIOError(
            f"{schema_dir}: the catalog does not map {PCRS_XSD_URL} to a local file; "
            "run 'pcrs schemas install' again"
        )
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    parser.resolvers.add(_CatalogResolver(catalog))
    try:
        doc = etree.parse(str(xsd), parser)
        return etree.XMLSchema(doc)
    except (etree.XMLSchemaParseError, etree.XMLSyntaxError, OSError) as exc:
        raise PcrsIOError(
            f"{schema_dir}: the PCRS schema does not load offline ({exc}); "
            "run 'pcrs schemas install' again"
        ) from exc


@dataclass(frozen=True)
class SchemaError:
    """One schema violation: where, and what in both languages."""

    line: int
    element: str
    message_en: str
    message_fr: str
    raw: str

    @property
    def names(self) -> set[str]:
        """The element and the PCRS elements the message says are expected (for de-duplication)."""
        expected = re.findall(r"\{http://cnig\.gouv\.fr/pcrs[^}]*\}([\w.-]+)", self.raw)
        return {self.element, *expected}


class FeatureValidator:
    """Validate features one by one against a loaded :class:`lxml.etree.XMLSchema`."""

    def __init__(self, schema: etree.XMLSchema):
        self.schema = schema

    def validate(self, element) -> list[SchemaError]:
        """Schema errors of ``element`` (validated as a document root)."""
        if self.schema.validate(element):
            return []
        return [translate(e.line, e.message) for e in self.schema.error_log]


_ELEM = re.compile(
    r"^Element '(\{[^}]*\})?([^']+)'(?:, attribute '(\{[^}]*\})?([^']+)')?: (.*)$", re.S
)
_QN = re.compile(r"\{[^}]*\}")


def _names(text: str) -> list[str]:
    names = re.findall(r"\{[^}]*\}([\w.-]+)", text)
    if "AbstractFeature" in names:
        return ["a PCRS v2.0 feature"]
    return names


def _pcrs_only(names: list[str], raw: str) -> list[str]:
    # keep the PCRS element names (drop the optional GML ones libxml2 lists first)
    keep = []
    for full in re.findall(r"\{([^}]*)\}([A-Za-z_][\w.-]*)", raw):
        if "cnig.gouv.fr" in full[0]:
            keep.append(full[1])
    return keep or names


def translate(line: int, message: str) -> SchemaError:
    """Turn a libxml2 schema message into a sentence a surveyor can act on (FR and EN)."""
    msg = message.strip()
    m = _ELEM.match(msg)
    if not m:
        text = _QN.sub("", msg)
        return SchemaError(line, "", text, f"Non conforme au schéma : {text}", msg)
    elem, attr, rest = m.group(2), m.group(4), m.group(5)
    if attr:
        vm = re.search(r"'([^']*)' is not a valid value of the atomic type '([^']+)'", rest)
        if vm:
            return SchemaError(
                line,
                elem,
                f"attribute {attr!s} of <{elem}> has the invalid value {vm.group(1)!r} "
                f"(expected type {vm.group(2)})",
                f"l'attribut {attr} de <{elem}> a la valeur invalide {vm.group(1)!r} "
                f"(type attendu {vm.group(2)})",
                msg,
            )
        if "is required but missing" in rest:
            return SchemaError(
                line,
                elem,
                f"<{elem}> lacks its mandatory attribute {attr}",
                f"<{elem}> n'a pas son attribut obligatoire {attr}",
                msg,
            )
    am = re.match(r"The attribute '([^']+)' is required but missing", rest)
    if am:
        return SchemaError(
            line,
            elem,
            f"<{elem}> lacks its mandatory attribute {am.group(1)!r}",
            f"<{elem}> n'a pas son attribut obligatoire {am.group(1)!r}",
            msg,
        )
    fm = re.match(
        r"\[facet 'enumeration'\] The value '([^']*)' is not an element of the set \{(.*)\}", rest
    )
    if fm:
        allowed = ", ".join(sorted(v.strip(" '") for v in fm.group(2).split(",")))
        return SchemaError(
            line,
            elem,
            f"<{elem}> has the value {fm.group(1)!r}, which is not in its code list "
            f"(allowed: {allowed})",
            f"<{elem}> vaut {fm.group(1)!r}, valeur absente de sa liste de codes "
            f"(valeurs admises : {allowed})",
            msg,
        )
    pm = re.match(r"\[facet 'pattern'\] The value '([^']*)'", rest)
    if pm:
        return SchemaError(
            line,
            elem,
            f"<{elem}> has the value {pm.group(1)!r}, neither a listed code nor 'other: xxx'",
            f"<{elem}> vaut {pm.group(1)!r}, ni un code de la liste ni de la forme 'other: xxx'",
            msg,
        )
    vm = re.match(
        r"'([^']*)' is not a valid value of (?:the (?:atomic|union) type|the local \w+ type) ?'?([^']*)'?",
        rest,
    )
    if vm:
        kind = vm.group(2).replace("xs:", "") or "its type"
        return SchemaError(
            line,
            elem,
            f"<{elem}> has the value {vm.group(1)!r}, which is not a valid {kind}",
            f"<{elem}> vaut {vm.group(1)!r}, ce qui n'est pas un {kind} valide",
            msg,
        )
    if rest.startswith("This element is not expected."):
        expected = _pcrs_only(_names(rest.partition("Expected is")[2]), rest)
        if expected:
            return SchemaError(
                line,
                elem,
                f"<{elem}> is not expected here; the schema expects "
                f"{' or '.join('<' + e + '>' for e in expected[:6])} at this place "
                "(wrong name, wrong order, or an element of another class)",
                f"<{elem}> n'est pas attendu ici ; le schéma attend "
                f"{' ou '.join('<' + e + '>' for e in expected[:6])} à cet endroit "
                "(nom erroné, ordre erroné ou élément d'une autre classe)",
                msg,
            )
        return SchemaError(
            line,
            elem,
            f"<{elem}> is not allowed here (nothing more is expected at this place)",
            f"<{elem}> n'est pas autorisé ici (plus rien n'est attendu à cet endroit)",
            msg,
        )
    if rest.startswith("Missing child element(s)."):
        expected = _pcrs_only(_names(rest.partition("Expected is")[2]), rest)
        names = " or ".join("<" + e + ">" for e in expected[:6]) or "a child element"
        names_fr = " ou ".join("<" + e + ">" for e in expected[:6]) or "un élément enfant"
        return SchemaError(
            line,
            elem,
            f"<{elem}> is incomplete: {names} is missing",
            f"<{elem}> est incomplet : il manque {names_fr}",
            msg,
        )
    if "No matching global declaration available for the validation root" in rest:
        return SchemaError(
            line,
            elem,
            f"<{elem}> is not a feature class of the PCRS v2.0 schema",
            f"<{elem}> n'est pas une classe d'objets du schéma PCRS v2.0",
            msg,
        )
    if "abstract" in rest:
        return SchemaError(
            line,
            elem,
            f"<{elem}> is abstract and cannot appear in data",
            f"<{elem}> est abstrait et ne peut pas figurer dans les données",
            msg,
        )
    text = _QN.sub("", rest)
    return SchemaError(line, elem, f"<{elem}>: {text}", f"<{elem}> : {text}", msg)
