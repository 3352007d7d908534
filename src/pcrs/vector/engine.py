"""The checks: one pass over each file's features, then the file-wide and delivery-wide rules.

:class:`Validator` consumes the :class:`~pcrs.vector.gml.Member` objects the streaming
reader produces and emits :class:`~pcrs.vector.rules.Finding` objects. Per-feature
state kept between features is small (identifiers, links, one bounding box and one
location per feature), so memory grows by about a hundred bytes per feature.
Geometry validity is checked in batches with shapely's vectorised functions.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from array import array
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely

from . import model
from .gml import EmpriseLink, Feature, Member, RootInfo
from .model import (
    BETA_CLASSES,
    BETA_ELEMENTS,
    CLASSES,
    CODE_LISTS,
    ID_FIELDS,
    NS_PCRS,
    NS_PCRS_INFO,
    PDF_CONSTRAINTS,
    PDF_NAMES,
    THEMES,
    attributes_of,
    check_code,
    is_subclass,
)
from .rules import Finding

__all__ = ["Options", "Validator"]


@dataclass
class Options:
    """Settings of a validation run.

    Attributes
    ----------
    precision_threshold_cm : float or None
        ``precisionPlanimetrique`` worse than this gives PCRS-PREC-001 (None: off).
    emprise_tolerance : float
        Metres around the EmpriseEchangePCRS within which an object counts as inside.
    z_range : tuple of float
        Plausible altitudes (m) for PCRS-GEOM-015.
    min_date : datetime.date
        Dates before this are implausible (PCRS-DATE-002).
    max_findings_per_rule : int
        Per file and rule; the rest are counted in the summary, not listed.
    """

    precision_threshold_cm: float | None = 10.0
    emprise_tolerance: float = 1.0
    z_range: tuple[float, float] = (-500.0, 5000.0)
    min_date: _dt.date = _dt.date(1900, 1, 1)
    max_findings_per_rule: int = 5000
    today: _dt.date = field(default_factory=_dt.date.today)


_DATE = re.compile(r"^(-?\d{4,})-(\d{2})-(\d{2})(Z|[+-]\d{2}:\d{2})?$")
_INT = re.compile(r"^[+-]?\d+$")
_FLOAT_OK = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$|^(INF|-INF|NaN)$")

_OBJECT_ROOTS = ("ObjetVecteurPCRS", "HabillagePCRS")
_INSIDE_CLASSES = {
    name
    for name in CLASSES
    if is_subclass(name, "ObjetVecteurPCRS")
    or is_subclass(name, "HabillagePCRS")
    or name
    in (
        "PointLevePCRS",
        "AffleurantEnveloppePCRS",
        "AffleurantLignesPCRS",
        "AffleurantPointPCRS",
        "AffleurantSymbolePCRS",
    )
}
_INFO_CLASSES = {"InitiativePCRS", "EmpriseDisponibilitePCRS"}
_GEOGRAPHIC_OK_FOR_INFO = {4326, 4171, 4258, 4965}
_PREC_CM = {"002": 2, "005": 5, "010": 10, "040": 40, "150": 150, "999": 999}

_TYPE_LABEL = {
    "date": ("date (YYYY-MM-DD)", "date (AAAA-MM-JJ)", "write it as YYYY-MM-DD",
             "l'écrire AAAA-MM-JJ"),
    "double": ("number", "nombre", "write a decimal number with a dot",
               "écrire un nombre décimal avec un point"),
    "integer": ("integer", "entier", "write a whole number", "écrire un nombre entier"),
    "string": ("text value", "valeur texte", "write a plain text value",
               "écrire une simple valeur texte"),
}  # fmt: skip


_DATE_FIELDS = ("dateLeve", "datePublication", "horodatage", "dateAcquisition", "dateRecette",
                "dateCreation", "dateActualite")  # fmt: skip


@dataclass(frozen=True)
class _ClassInfo:
    attrs: tuple
    index: dict
    geometry: tuple
    objet: bool
    published: bool
    inside: bool
    dates: tuple
    counted: tuple


_INFO: dict[str, _ClassInfo] = {}
_CODES = {name: frozenset(cl.values) for name, cl in CODE_LISTS.items()}


def _class_info(name: str) -> _ClassInfo:
    info = _INFO.get(name)
    if info is None:
        attrs = attributes_of(name)
        geometry = ()
        for a in attrs:
            if a.type == "geometry":
                geometry = a.geometry
        objet = is_subclass(name, "ObjetVecteurPCRS")
        info = _ClassInfo(
            attrs,
            {a.name: (i, a) for i, a in enumerate(attrs)},
            geometry,
            objet,
            objet or is_subclass(name, "HabillagePCRS"),
            name in _INSIDE_CLASSES,
            tuple(n for n in _DATE_FIELDS if any(a.name == n for a in attrs)),
            tuple(a for a in attrs if a.min_occurs > 0 or a.max_occurs is not None),
        )
        _INFO[name] = info
    return info


_DATE_CACHE: dict[str, _dt.date | None] = {}
#: (namespace, class, property tags) -> the value checks left for a structurally sound feature
_PLANS: dict[tuple, tuple] = {}


def _parse_date(text: str) -> _dt.date | None:
    # a delivery repeats a handful of dates: remember the few thousand last seen
    try:
        return _DATE_CACHE[text]
    except KeyError:
        pass
    m = _DATE.match(text)
    d = None
    if m:
        try:
            d = _dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            d = None
    if len(_DATE_CACHE) >= 4096:
        _DATE_CACHE.clear()
    _DATE_CACHE[text] = d
    return d


_SUBCLASS: dict[tuple, bool] = {}


def _is_sub(name: str, ancestor: str) -> bool:
    """:func:`~pcrs.vector.model.is_subclass`, remembered (the class table is fixed)."""
    key = (name, ancestor)
    hit = _SUBCLASS.get(key)
    if hit is None:
        hit = is_subclass(name, ancestor)
        if len(_SUBCLASS) < 10000:
            _SUBCLASS[key] = hit
    return hit


_DOUBLE_OK: dict[str, bool] = {}


def _double_ok(text: str) -> bool:
    ok = _DOUBLE_OK.get(text)
    if ok is None:
        ok = bool(_FLOAT_OK.match(text))
        if len(_DOUBLE_OK) >= 4096:
            _DOUBLE_OK.clear()
        _DOUBLE_OK[text] = ok
    return ok


_INT_OK: dict[str, bool] = {}


def _int_ok(text: str) -> bool:
    ok = _INT_OK.get(text)
    if ok is None:
        ok = bool(_INT.match(text.strip()))
        if len(_INT_OK) >= 4096:
            _INT_OK.clear()
        _INT_OK[text] = ok
    return ok


class _FileState:
    """What one file's end-of-file rules need, kept compact (arrays, one entry per feature)."""

    def __init__(self, path: str, index: int):
        self.path = path
        self.index = index
        self.gml_ids: dict[str, int] = {}  # gml:id -> serial of the feature in this file
        self.counts: Counter = Counter()
        # per feature, by serial
        self.f_cls: list[str] = []
        self.f_line = array("q")
        self.f_gid: list = []
        self.f_ido: list = []
        self.f_x = array("d")
        self.f_y = array("d")
        self.f_box = array("d")  # 4 per feature, nan without geometry
        self.f_date = array("l")  # ordinal of dateLeve, 0 without
        self.f_srs = array("h")  # index in srs_list, -1 without
        self.f_flags = (
            bytearray()
        )  # 1 inside-rule, 2 published (top ObjetVecteur/Habillage), 4 referenced
        self.srs_list: list[str] = []
        self.srs_index: dict[str, int] = {}  # srsName -> its index in srs_list
        self.srs: dict[str, tuple] = {}  # srsName -> (first location, class)
        self.no_srs: list = []
        self.no_srs_count = 0
        self.dim_assumed = 0
        self.dim_assumed_loc: tuple | None = None
        self.no_geom_id = 0
        self.no_geom_id_loc: tuple | None = None
        self.no_z: dict[str, list] = {}
        self.emprises: list = []  # (loc, shape, datePublication)
        self.emprise_links = 0
        self.pending: list = []  # links to features not seen yet: (loc, field, href, target, expected, ref)
        self.no_hash = 0
        self.no_hash_example: str | None = None
        self.beta: list[str] = []
        self.validity: list = []  # pending (shape, loc)
        self.rule_counts: Counter = Counter()

    def loc(self, j: int) -> tuple:
        x = self.f_x[j]
        y = self.f_y[j]
        return (
            self.f_line[j], self.f_cls[j], self.f_gid[j], self.f_ido[j],
            None if math.isnan(x) else x, None if math.isnan(y) else y,
        )  # fmt: skip

    def free(self) -> None:
        """Drop what only this file's end-of-file rules needed (keep ids, classes, lines)."""
        self.f_gid = []
        self.f_ido = []
        self.f_x = self.f_y = self.f_box = array("d")
        self.f_date = array("l")
        self.f_srs = array("h")
        self.f_flags = bytearray()
        self.pending = []


class Validator:
    """Run the PCRS rules over the members of one or more files.

    Use :meth:`start_file`, :meth:`member` for each member, :meth:`end_file`, and
    after all files :meth:`finish`. Findings accumulate in :attr:`findings`.
    """

    def __init__(self, options: Options | None = None):
        self.options = options or Options()
        self.findings: list[Finding] = []
        self.suppressed: Counter = Counter()
        self.ids: dict[str, dict[str, int]] = {f: {} for f in ID_FIELDS}  # value -> file<<32|serial
        self.links: list = []  # unresolved at end of file: (file index, loc, field, href, expected)
        self.files: list[_FileState] = []
        self.file: _FileState | None = None
        self._crs_cache: dict[str, object] = {}

    # --- reading a file again ---------------------------------------------------------

    def mark(self) -> tuple:
        """A point to come back to with :meth:`rollback` (taken before :meth:`start_file`)."""
        return (len(self.findings), Counter(self.suppressed), len(self.files))

    def rollback(self, mark: tuple) -> None:
        """Forget the files started since ``mark`` (their findings, identifiers and links),
        so that one can be read again another way."""
        n_findings, suppressed, n_files = mark
        dropped = {st.index for st in self.files[n_files:]}
        del self.findings[n_findings:]
        self.suppressed = suppressed
        del self.files[n_files:]
        for table in self.ids.values():
            for key in [k for k, v in table.items() if v >> 32 in dropped]:
                del table[key]
        self.links = [link for link in self.links if link[0] not in dropped]
        self.file = None

    # --- emitting --------------------------------------------------------------------

    def emit(self, rule: str, loc: tuple | None = None, field_: str | None = None, **params):
        """Record a finding; ``loc`` is ``(line, cls, gml_id, id_objet, x, y)``."""
        st = self.file
        if st is not None:
            st.rule_counts[rule] += 1
            if st.rule_counts[rule] > self.options.max_findings_per_rule:
                self.suppressed[rule] += 1
                return
        line = cls = gid = ido = x = y = None
        if loc is not None:
            line, cls, gid, ido, x, y = loc[:6]
        if cls is not None:
            params.setdefault("cls", cls)
        self.findings.append(
            Finding(
                rule,
                params,
                st.path if st is not None else None,
                line,
                cls,
                gid,
                ido,
                None if x is None else float(x),
                None if y is None else float(y),
                field_,
            )
        )

    # --- files ----------------------------------------------------------------------

    def start_file(self, path: str, root: RootInfo | None) -> None:
        self.file = _FileState(path, len(self.files))
        self.files.append(self.file)
        name = Path(path).name
        suffix = Path(path).suffix.lower()
        if suffix not in (".gml", ".xml"):
            self.emit(
                "PCRS-FILE-005",
                None,
                value=name,
                detail="does not end in .gml or .xml",
                detail_fr="ne finit pas par .gml ou .xml",
            )
        elif " " in name or not name.isascii():
            self.emit(
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
            self.emit("PCRS-XML-004", loc)
        version = root.attrib.get("version")
        if version is None:
            self.emit("PCRS-FILE-002", loc, "version", value="(missing)")
            self.file.beta.append("no version attribute on the root")
        elif version.strip() == "":
            self.emit("PCRS-FILE-003", loc, "version")
        elif version.strip() != "2.0":
            self.emit("PCRS-FILE-002", loc, "version", value=repr(version))
            if "beta" in version.lower() or version.strip() in ("1.0", "1"):
                self.file.beta.append(f"version {version!r}")

    def member(self, m: Member | EmpriseLink) -> None:
        """Check one member (or one emprise link handed out on its own)."""
        st = self.file
        if isinstance(m, EmpriseLink):
            self._emprise_link(st, m)
            return
        loc = (m.line, None, None, None, None, None)
        if m.tag != "pcrs:featureMember":
            self.emit(
                "PCRS-FILE-006",
                loc,
                detail=f"<{m.tag}> is used; PCRS wraps features in <pcrs:featureMember>",
                detail_fr=f"<{m.tag}> est employé ; le PCRS emballe les objets dans "
                "<pcrs:featureMember>",
            )
        if m.n_children == 0 and m.href is None:
            self.emit(
                "PCRS-FILE-006",
                loc,
                detail="an empty <featureMember>",
                detail_fr="un <featureMember> vide",
            )
        elif m.n_children > 1 and m.tag != "gml:featureMembers":
            self.emit(
                "PCRS-FILE-006",
                loc,
                detail=f"a <featureMember> holds {m.n_children} elements (only the first was read)",
                detail_fr=f"un <featureMember> contient {m.n_children} éléments (seul le "
                "premier a été lu)",
            )
        if m.href is not None and m.n_children == 0:
            target = m.href.rpartition("#")[2]
            st.pending.append((loc, "featureMember", m.href, target, None, False))
        for f in m.features:
            self.feature(f)
        for f in m.features:  # no reference cycles left for the garbage collector
            f.parent = None

    def _emprise_link(self, st: _FileState, m: EmpriseLink) -> None:
        loc = (m.line, "EmpriseEchangePCRS", m.emprise_id, m.id_emprise, None, None)
        st.emprise_links += 1
        href = m.href.strip()
        if not href:
            self.emit("PCRS-LINK-005", loc, m.name, field=m.name)
            return
        if "#" not in href:
            st.no_hash += 1
            if st.no_hash_example is None:
                st.no_hash_example = href
        expected = "ObjetVecteurPCRS" if m.name == "objet" else "HabillagePCRS"
        target = href.rpartition("#")[2]
        j = st.gml_ids.get(target)
        if j is None:
            st.pending.append((loc, m.name, href, target, expected, True))
        else:
            self._link_to(st, j, loc, m.name, href, expected, True)

    # --- one feature ------------------------------------------------------------------

    def feature(self, f: Feature) -> None:
        st = self.file
        opts = self.options
        st.counts[f.cls] += 1
        props = f.props
        tags = f.prop_tags
        compact = None
        if props is None:
            # the compact form (fast reader): read as is when the structure is known sound
            plan = _PLANS.get((f.ns, f.cls, tags))
            if plan is None:
                props = f.materialise()
            else:
                compact = f.compact
        if compact is None:
            if tags is not None and len(tags) != len(props):
                tags = None  # props changed after reading: no shortcut
            plan = _PLANS.get((f.ns, f.cls, tags)) if tags is not None else None
        texts: dict = {}
        geom = None
        todo = None
        if compact is not None:
            # the same checks as the planned loop below, on the compact form
            vals, hrefs, kids, _lines, geometries = compact
            if geometries:
                geom = geometries[0][1]
            unique, checks = plan[3]
            if unique:  # (each name once: the first value of each is the only one)
                texts = dict(zip(plan[2], vals, strict=True))
            else:
                for v, name, entry in zip(vals, plan[2], plan[0], strict=True):
                    if entry[0]:
                        texts[name] = v
            for i, atype, a, codes in checks:
                if hrefs[i] is None and not kids[i] and _plain_value_ok(atype, a, vals[i], codes):
                    continue
                if todo is None:
                    todo = []
                todo.append((a, i))
        elif plan is None:
            for p in props:
                if p.name not in texts:
                    texts[p.name] = p.text
                if geom is None and p.geometry is not None:
                    geom = p.geometry
        else:
            # this class with these properties in this order is known to be structurally
            # sound (known attributes, order, counts): only the values are left to check;
            # the common valid ones are decided here, the others (and links) further down
            for p, (first, atype, a) in zip(props, plan[0], strict=True):
                if first:
                    texts[p.name] = p.text
                if geom is None and p.geometry is not None:
                    geom = p.geometry
                if atype is None:
                    continue
                if (
                    p.href is None
                    and not p.children
                    and _plain_value_ok(
                        atype, a, p.text, _CODES[a.codelist] if atype == "code" else None
                    )
                ):
                    continue
                if todo is None:
                    todo = []
                todo.append((a, p))
        ido = texts.get("idObjet") or texts.get("idHabillage")
        if ido is None and f.parent is not None:
            ido = f.parent.first_text("idObjet")
        x = y = None
        if geom is not None and geom.first is not None:
            x, y = float(geom.first[0]), float(geom.first[1])
        loc = (f.line, f.cls, f.gml_id, ido, x, y)
        serial = len(st.f_cls)
        st.f_cls.append(f.cls)
        st.f_line.append(f.line)
        st.f_gid.append(f.gml_id)
        st.f_ido.append(ido)
        st.f_x.append(math.nan if x is None else x)
        st.f_y.append(math.nan if y is None else y)
        if geom is not None and geom.bounds is not None:
            st.f_box.extend(geom.bounds)
            srs = geom.srs
            if srs is None:
                st.f_srs.append(-1)
            else:
                k = st.srs_index.get(srs)
                if k is None:
                    k = st.srs_index[srs] = len(st.srs_list)
                    st.srs_list.append(srs)
                st.f_srs.append(k)
        else:
            st.f_box.extend((math.nan, math.nan, math.nan, math.nan))
            st.f_srs.append(-1)
        st.f_date.append(0)
        st.f_flags.append(0)

        # identifiers
        if f.gml_id is None:
            if f.cls in CLASSES:
                self.emit("PCRS-ID-001", loc)
        else:
            first = st.gml_ids.get(f.gml_id)
            if first is not None:
                self.emit("PCRS-ID-003", loc, "gml:id", value=f.gml_id, first_line=st.f_line[first])
            else:
                st.gml_ids[f.gml_id] = serial

        # class
        if f.ns not in (NS_PCRS, NS_PCRS_INFO) or f.cls not in CLASSES:
            if f.cls in BETA_CLASSES:
                new = BETA_CLASSES[f.cls]
                self.emit(
                    "PCRS-CLASS-002",
                    loc,
                    hint=f" (v2.0 counterpart: {new})" if new else "",
                    hint_fr=f" (équivalent v2.0 : {new})" if new else "",
                )
                st.beta.append(f"class {f.cls}")
            else:
                self.emit("PCRS-CLASS-001", loc)
            return
        fc = CLASSES[f.cls]
        if fc.abstract:
            self.emit("PCRS-CLASS-003", loc)
            return

        info = _INFO.get(f.cls) or _class_info(f.cls)
        if plan is not None:
            if todo is not None:
                if compact is not None:
                    props = f.materialise()
                    todo = [(a, props[i]) for a, i in todo]
                for a, p in todo:
                    self._value(f, fc, a, p, loc)
        elif self._structure(f, fc, info, loc) and tags is not None:
            entries = []
            names = set()
            for p in props:
                entry = info.index.get(p.name)
                first = p.name not in names
                names.add(p.name)
                # (unknown GML properties are skipped, like in _structure)
                if (
                    entry is not None
                    and p.ns in (NS_PCRS, NS_PCRS_INFO)
                    and entry[1].type != "geometry"
                ):
                    entries.append((first, entry[1].type, entry[1]))
                else:
                    entries.append((first, None, None))
            if len(_PLANS) >= 4096:
                _PLANS.clear()
            prop_names = tuple(p.name for p in props)
            plan = _PLANS[(f.ns, f.cls, tags)] = (
                tuple(entries),
                tuple(n for n in ID_FIELDS if n in names),
                prop_names,
                # for the compact form: whether each name comes once, and the values to
                # check (position, type, attribute, its code list)
                (
                    len(set(prop_names)) == len(prop_names),
                    tuple(
                        (i, t, a, _CODES[a.codelist] if t == "code" else None)
                        for i, (_first, t, a) in enumerate(entries)
                        if t is not None
                    ),
                ),
            )

        # thematique
        theme = texts.get("thematique")
        if fc.themes and theme in THEMES and theme not in fc.themes:
            expected = " or ".join(f"{t} ({THEMES[t]})" for t in fc.themes)
            self.emit(
                "PCRS-THEME-001", loc, "thematique", value=theme, label=THEMES[theme],
                expected=expected,
            )  # fmt: skip

        # identifiers unique across the delivery
        # (a planned feature has only the identifier fields among its properties' names)
        for name in ID_FIELDS if plan is None else plan[1]:
            v = texts.get(name)
            if v:
                first = self.ids[name].get(v)
                if first is not None:
                    other = self.files[first >> 32]
                    j = first & 0xFFFFFFFF
                    fname = Path(other.path).name
                    where = f"{other.f_cls[j]} line {other.f_line[j]}" + (
                        f" of {fname}" if other is not st else ""
                    )
                    where_fr = f"{other.f_cls[j]} ligne {other.f_line[j]}" + (
                        f" de {fname}" if other is not st else ""
                    )
                    self.emit(
                        "PCRS-ID-004", loc, name, field=name, value=v, first=where,
                        first_fr=where_fr,
                    )  # fmt: skip
                else:
                    self.ids[name][v] = (st.index << 32) | serial

        # affleurant representation
        if f.cls == "AffleurantGeometriquePCRS" and not any(
            n in ("enveloppe", "ligne", "point") for n in _prop_names(f, plan, compact)
        ):
            self.emit("PCRS-LINK-004", loc)

        # precision
        prec = texts.get("precisionPlanimetrique")
        thr = opts.precision_threshold_cm
        if thr is not None and prec in _PREC_CM and _PREC_CM[prec] > thr:
            label = CODE_LISTS["CategoriePrecisionPCRSType"].values[prec]
            self.emit(
                "PCRS-PREC-001", loc, "precisionPlanimetrique", value=prec, label=label,
                threshold=f"{thr:g}",
            )  # fmt: skip

        # emprise
        if f.cls == "EmpriseEchangePCRS":
            dp = _parse_date(texts.get("datePublication") or "")
            shape = geom.shape if geom is not None else None
            st.emprises.append((loc, shape, dp))
            for p in f.materialise():
                if p.name in ("objet", "habillage", "raster", "commune", "troncon") and (
                    p.href or p.inline is not None
                ):
                    st.emprise_links += 1
                    if p.inline is not None and p.inline.gml_id in st.gml_ids:
                        st.f_flags[st.gml_ids[p.inline.gml_id]] |= 4

        # dates
        date_leve = None
        for name in info.dates:
            txt = texts.get(name)
            if not txt:
                continue
            d = _parse_date(txt)
            if d is None:
                continue
            if name == "dateLeve":
                date_leve = d
            if d < opts.min_date:
                self.emit(
                    "PCRS-DATE-002", loc, name, field=name, value=txt,
                    detail=f"is before {opts.min_date.isoformat()}",
                    detail_fr=f"est antérieure au {opts.min_date.isoformat()}",
                )  # fmt: skip
            elif d > opts.today:
                self.emit(
                    "PCRS-DATE-002", loc, name, field=name, value=txt,
                    detail="is in the future", detail_fr="est dans le futur",
                )  # fmt: skip
        da = dr = None
        if f.cls == "RasterPCRS":
            da = _parse_date(texts.get("dateAcquisition") or "")
            dr = _parse_date(texts.get("dateRecette") or "")
        if da and dr and da > dr:
            self.emit(
                "PCRS-DATE-001", loc, "dateAcquisition", field="dateAcquisition",
                value=da.isoformat(), other_field="dateRecette", other=dr.isoformat(),
            )  # fmt: skip

        # geometry
        if geom is not None:
            self._geometry(f, info, geom, loc, texts)
        elif "geometrie" in _prop_names(f, plan, compact):
            self.emit(
                "PCRS-GEOM-001", loc, "geometrie",
                detail=" (<geometrie> is empty; the XSD lets this through)",
                detail_fr=" (<geometrie> est vide ; le XSD le laisse passer)",
            )  # fmt: skip

        # per-feature record for the end-of-file rules
        if date_leve is not None:
            st.f_date[serial] = date_leve.toordinal()
        flags = 0
        if info.inside and geom is not None and geom.bounds is not None:
            flags |= 1
        if f.parent is None and info.published:
            flags |= 2
        st.f_flags[serial] |= flags

    def _structure(self, f: Feature, fc, info, loc) -> bool:
        """Attributes of ``f`` one by one: known, in order, counted, values checked.

        Returns True when the structure is sound (no unknown attribute, order and counts
        right), so that features with the same properties can skip these checks."""
        st = self.file
        sound = True
        attrs = info.attrs
        index = info.index
        seen: dict = {}
        last_i = -1
        last_name = None
        order_reported = False
        for p in f.props:
            entry = index.get(p.name)
            if entry is None or p.ns not in (NS_PCRS, NS_PCRS_INFO):
                if p.ns == model.GML_NS:
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
                    st.beta.append(f"element <{p.name}>")
                sound = False
                self.emit(
                    "PCRS-ATTR-004", _at(loc, p.line), p.name, field=p.name, hint=hint,
                    hint_fr=hint_fr,
                )  # fmt: skip
                continue
            i, a = entry
            seen[p.name] = seen.get(p.name, 0) + 1
            if i < last_i and not order_reported:
                order = ", ".join(x.name for x in attrs)
                self.emit(
                    "PCRS-ATTR-007", _at(loc, p.line), p.name, field=p.name, after=last_name,
                    order=order,
                )  # fmt: skip
                order_reported = True
                sound = False
            if i >= last_i:
                last_i, last_name = i, p.name
            atype = a.type
            if atype == "geometry":
                continue  # checked with the geometry below
            if p.href is None and not p.children:
                # the common valid values, decided here without a call to _value
                if atype == "string":
                    if p.text:
                        continue
                elif atype == "code":
                    if p.text in _CODES[a.codelist]:
                        continue
                elif atype == "date":
                    if _parse_date(p.text or "") is not None:
                        continue
                elif atype == "double" and _double_ok(p.text or ""):
                    continue
            self._value(f, fc, a, p, loc)

        for a in info.counted:
            n = seen.get(a.name, 0)
            if n < a.min_occurs:
                sound = False
                if a.type == "geometry":
                    self.emit("PCRS-GEOM-001", loc, a.name, detail="", detail_fr="")
                else:
                    self.emit("PCRS-ATTR-001", loc, a.name, field=a.name, section=fc.section)
            elif a.max_occurs is not None and n > a.max_occurs:
                sound = False
                self.emit("PCRS-ATTR-005", loc, a.name, field=a.name, count=n, max=a.max_occurs)
        return sound

    def _value(self, f: Feature, fc, a, p, loc) -> None:
        st = self.file
        if a.type == "geometry":
            return
        if a.type == "link":
            if p.href is not None and p.href.strip():
                href = p.href.strip()
                if "#" not in href:
                    st.no_hash += 1
                    if st.no_hash_example is None:
                        st.no_hash_example = href
                target = href.rpartition("#")[2]
                ref = f.cls == "EmpriseEchangePCRS"
                j = st.gml_ids.get(target)
                if j is None:
                    st.pending.append((_at(loc, p.line), p.name, href, target, a.target, ref))
                else:
                    self._link_to(st, j, _at(loc, p.line), p.name, href, a.target, ref)
            elif p.inline is not None:
                if a.target and not is_subclass(p.inline.cls, a.target):
                    self.emit(
                        "PCRS-LINK-002", _at(loc, p.line), p.name, field=p.name,
                        value=p.inline.gml_id or p.inline.cls, target_cls=p.inline.cls,
                        expected=a.target,
                    )  # fmt: skip
            else:
                self.emit("PCRS-LINK-005", _at(loc, p.line), p.name, field=p.name)
            return
        if p.children or p.href is not None:
            t = _TYPE_LABEL["string"]
            self.emit(
                "PCRS-ATTR-006", _at(loc, p.line), p.name, field=p.name, value="<element>", type=t[0],
                type_fr=t[1], fix_en=t[2], fix_fr=t[3],
            )  # fmt: skip
            return
        text = p.text or ""
        if a.type == "string":
            if text == "":
                if a.name in ID_FIELDS:
                    self.emit("PCRS-ATTR-002", _at(loc, p.line), p.name, field=p.name)
                else:
                    for c in PDF_CONSTRAINTS:
                        if c.attribute == a.name and is_subclass(f.cls, c.cls):
                            self.emit(
                                "PCRS-ATTR-003",
                                _at(loc, p.line),
                                p.name,
                                field=p.name,
                                section=c.section,
                            )
                            break
            return
        if a.type == "code":
            verdict = check_code(a.codelist, text)
            if verdict == "ok":
                return
            cl = CODE_LISTS[a.codelist]
            allowed = ", ".join(cl.values)
            if verdict == "other":
                self.emit(
                    "PCRS-CODE-003",
                    _at(loc, p.line),
                    p.name,
                    field=p.name,
                    value=text,
                    codelist=cl.name,
                )
            else:
                rule = "PCRS-CODE-002" if cl.extensible else "PCRS-CODE-001"
                self.emit(
                    rule, _at(loc, p.line), p.name, field=p.name, value=text, codelist=cl.name,
                    allowed=allowed,
                )  # fmt: skip
            return
        ok = True
        if a.type == "date":
            ok = _parse_date(text) is not None
        elif a.type == "double":
            ok = _double_ok(text)
        elif a.type == "integer":
            ok = bool(_INT.match(text.strip()))
            if ok and f.cls == "MasqueOpacitePCRS" and p.name == "transparence":
                ok = 0 <= int(text) <= 100
        if not ok:
            t = _TYPE_LABEL[a.type]
            if p.name == "transparence":
                t = ("percentage 0-100", "pourcentage 0-100", "give 0 to 100", "donner 0 à 100")
            self.emit(
                "PCRS-ATTR-006", _at(loc, p.line), p.name, field=p.name, value=text, type=t[0],
                type_fr=t[1], fix_en=t[2], fix_fr=t[3],
            )  # fmt: skip

    def _geometry(self, f: Feature, info, geom, loc, texts) -> None:
        st = self.file
        gloc = (geom.line or loc[0], loc[1], loc[2], loc[3], loc[4], loc[5])
        allowed = info.geometry
        if allowed and geom.kind not in allowed:
            self.emit(
                "PCRS-GEOM-002", gloc, "geometrie", value=geom.kind,
                allowed=" or ".join("gml:" + k for k in allowed),
            )  # fmt: skip
        for code, detail, px, py in geom.problems:
            ploc = gloc if px is None else (gloc[0], gloc[1], gloc[2], gloc[3], px, py)
            if code == "no_gml_id":
                st.no_geom_id += 1
                if st.no_geom_id_loc is None:
                    st.no_geom_id_loc = (ploc, detail)
            elif code == "zero_length":
                self.emit(
                    "PCRS-GEOM-006", ploc, "geometrie", detail=detail,
                    detail_fr=detail.replace("segment(s) between identical points",
                                             "segment(s) entre deux points identiques"),
                )  # fmt: skip
            elif code == "short_segment":
                self.emit(
                    "PCRS-GEOM-016",
                    ploc,
                    "geometrie",
                    detail=detail,
                    detail_fr=detail.replace("shorter than", "de moins de").replace(
                        "shortest", "le plus court"
                    ),
                )
            elif code == "arc_points":
                self.emit(
                    "PCRS-GEOM-007",
                    ploc,
                    "geometrie",
                    detail=detail,
                    detail_fr=detail.replace("with", "avec").replace("required", "requis"),
                )
            elif code == "segment_type":
                self.emit(
                    "PCRS-GEOM-008", ploc, "geometrie", detail=detail,
                    detail_fr=detail.replace("only straight segments and arcs",
                                             "seuls segments droits et arcs")
                    .replace("is not a curve PCRS accepts", "n'est pas une courbe admise"),
                )  # fmt: skip
            elif code == "coords":
                self.emit("PCRS-GEOM-009", ploc, "geometrie", detail=detail)
            elif code == "ring_open":
                self.emit("PCRS-GEOM-004", ploc, "geometrie")
            elif code == "arc_collinear":
                self.emit("PCRS-GEOM-010", ploc, "geometrie")
            elif code == "discontinuous":
                self.emit(
                    "PCRS-GEOM-011",
                    ploc,
                    "geometrie",
                    detail=detail,
                    detail_fr=detail.replace(
                        "consecutive segments do not touch",
                        "des segments consécutifs ne se touchent pas",
                    ).replace("gap", "écart"),
                )
        if geom.dim_assumed:
            st.dim_assumed += 1
            if st.dim_assumed_loc is None:
                st.dim_assumed_loc = gloc
        if len(geom.dims) > 1:
            self.emit("PCRS-GEOM-013", gloc, "geometrie")
        if geom.srs:
            if geom.srs not in st.srs:
                st.srs[geom.srs] = (gloc, f.cls)
        else:
            st.no_srs_count += 1
            if not st.no_srs:
                st.no_srs.append(gloc)
        if geom.spec is None or geom.bounds is None:
            return
        has_z = geom.zrange is not None
        if info.objet:
            pa = texts.get("precisionAltimetrique")
            if not has_z:
                rec = st.no_z.setdefault(f.cls, [0, gloc])
                rec[0] += 1
                if pa:
                    self.emit(
                        "PCRS-GEOM-014", gloc, "precisionAltimetrique",
                        detail="precisionAltimetrique is given but the geometry has no Z",
                        detail_fr="precisionAltimetrique est donnée mais la géométrie n'a pas de Z",
                    )  # fmt: skip
            elif not pa:
                self.emit(
                    "PCRS-GEOM-014", gloc, "precisionAltimetrique",
                    detail="the geometry has Z but no precisionAltimetrique",
                    detail_fr="la géométrie a un Z mais pas de precisionAltimetrique",
                )  # fmt: skip
        if has_z:
            zmin, zmax = self.options.z_range
            lo, hi = geom.zrange
            if lo < zmin or hi > zmax:
                bad = lo if lo < zmin else hi
                self.emit(
                    "PCRS-GEOM-015", gloc, "geometrie", value=f"{bad:g}", zmin=f"{zmin:g}",
                    zmax=f"{zmax:g}",
                )  # fmt: skip
        if f.cls == "AffleurantEnveloppePCRS" and geom.holes:
            self.emit("PCRS-GEOM-005", gloc, "geometrie", count=geom.holes)
        kind = geom.spec[0]
        if kind in ("Polygon", "MultiPolygon") or f.cls == "PilierParticulierPCRS":
            spec = geom.spec
            if kind == "Polygon" and not spec[2] and geom._shape is None:
                # a polygon without holes: its shell (>= 4 finite vertices) is turned into
                # a shapely polygon with the others of the batch, in one call
                st.validity.append((spec[1], gloc))
            else:
                shape = geom.shape
                if shape is None:
                    return
                st.validity.append((shape, gloc))
            if len(st.validity) >= 4096:
                self._flush_validity()

    def _flush_validity(self) -> None:
        st = self.file
        if not st.validity:
            return
        items = st.validity
        st.validity = []
        shapes = np.empty(len(items), dtype=object)
        locs = [loc for _, loc in items]
        shells: dict[int, list] = {}  # coordinate dimension -> positions of bare shells
        for i, (s, _) in enumerate(items):
            if isinstance(s, np.ndarray):
                shells.setdefault(s.shape[1], []).append(i)
            else:
                shapes[i] = s
        for pos in shells.values():
            arrays = [items[i][0] for i in pos]
            sizes = [len(a) for a in arrays]
            rings = shapely.linearrings(
                np.concatenate(arrays), indices=np.repeat(np.arange(len(pos)), sizes)
            )
            shapes[pos] = shapely.polygons(rings)
        is_poly = shapely.get_type_id(shapes) >= 3
        valid = np.ones(len(shapes), bool)
        if is_poly.any():
            valid[is_poly] = shapely.is_valid(shapes[is_poly])
        lines = ~is_poly
        if lines.any():
            valid[lines] = shapely.is_simple(shapes[lines])
        for i in np.flatnonzero(~valid):
            loc = locs[i]
            if is_poly[i]:
                reason = shapely.is_valid_reason(shapes[i])
            else:
                reason = "Self-intersection of the line"
            m = re.search(r"\[([-\d.eE+]+) ([-\d.eE+]+)", reason)
            if m:
                loc = (loc[0], loc[1], loc[2], loc[3], float(m.group(1)), float(m.group(2)))
            fr = (
                reason.replace("Self-intersection", "auto-intersection")
                .replace("Ring Self-intersection", "auto-intersection d'anneau")
                .replace("Too few points", "trop peu de points")
                .replace("Hole lies outside shell", "trou hors du contour")
                .replace("Interior is disconnected", "intérieur non connexe")
                .replace("of the line", "de la ligne")
            )
            self.emit("PCRS-GEOM-003", loc, "geometrie", detail=reason, detail_fr=fr)

    # --- end of a file ----------------------------------------------------------------

    def xml_error(self, line: int | None, message: str) -> None:
        if "Resource limit exceeded" in message or "huge" in message.lower():
            message += (
                " (a single text value of more than 10 MB is refused for safety: split that "
                "geometry into several objects)"
            )
        self.emit(
            "PCRS-XML-002", (line, None, None, None, None, None), line=line or "?", detail=message
        )

    def end_file(self) -> None:
        st = self.file
        self._flush_validity()
        opts = self.options
        if st.no_geom_id:
            loc, detail = st.no_geom_id_loc
            self.emit(
                "PCRS-ID-002", loc, "geometrie", detail=detail,
                detail_fr=detail.replace("without", "sans"), count=st.no_geom_id,
            )  # fmt: skip
        if st.dim_assumed:
            self.emit("PCRS-CRS-006", st.dim_assumed_loc, count=st.dim_assumed)
        for cls, (count, loc) in st.no_z.items():
            self.emit("PCRS-GEOM-012", loc, "geometrie", count=count, cls=cls)
        if st.no_hash:
            self.emit(
                "PCRS-LINK-003", None, "xlink:href", count=st.no_hash, value=st.no_hash_example
            )
        self._resolve_pending(st)
        self._crs_checks(st)
        self._emprise_checks(st)
        if st.beta:
            uniq = list(dict.fromkeys(st.beta))
            self.emit("PCRS-FILE-004", None, detail="; ".join(uniq[:8]))
        del opts
        st.free()

    def _crs(self, srs: str):
        if srs in self._crs_cache:
            return self._crs_cache[srs]
        from ..errors import CRSError
        from ..io.crs import parse_crs

        try:
            crs = parse_crs(srs)
        except CRSError:
            crs = None
        self._crs_cache[srs] = crs
        return crs

    def _crs_checks(self, st: _FileState) -> None:
        from ..io.crs import PCRS_CRS, horizontal_epsg

        known = {}
        for srs, (loc, cls) in st.srs.items():
            crs = self._crs(srs)
            if crs is None:
                self.emit("PCRS-CRS-005", loc, "srsName", value=srs)
                continue
            code = horizontal_epsg(crs)
            known[srs] = (crs, code)
            allowed = code in PCRS_CRS or (
                cls in _INFO_CLASSES and (code in _GEOGRAPHIC_OK_FOR_INFO or crs.is_geographic)
            )
            if not allowed:
                self.emit("PCRS-CRS-002", loc, "srsName", value=srs, name=crs.name)
        codes = {}
        for srs, (_crs, code) in known.items():
            codes.setdefault(code, srs)
        if len(codes) > 1:
            loc = st.srs[list(codes.values())[1]][0]
            self.emit(
                "PCRS-CRS-003", loc, "srsName", count=len(codes), value=", ".join(codes.values())
            )
        if st.no_srs_count:
            if len(known) == 1:
                self.emit(
                    "PCRS-CRS-007", st.no_srs[0], "srsName", count=st.no_srs_count,
                    value=next(iter(known)),
                )  # fmt: skip
            elif not known:
                self.emit("PCRS-CRS-001", st.no_srs[0], "srsName", count=st.no_srs_count)
        # area of use, on one location per feature, vectorised
        if not st.f_cls or not known:
            return
        import pyproj

        xs_all = np.frombuffer(st.f_x, dtype=np.float64)
        ys_all = np.frombuffer(st.f_y, dtype=np.float64)
        srs_idx = np.frombuffer(st.f_srs, dtype=np.int16)
        default = st.srs_list.index(next(iter(known))) if len(known) == 1 and st.srs_list else -2
        srs_idx = np.where(srs_idx < 0, default, srs_idx)
        for k, srs in enumerate(st.srs_list):
            if srs not in known:
                continue
            crs, _code = known[srs]
            area = crs.area_of_use
            if area is None:
                continue
            idx = np.flatnonzero((srs_idx == k) & np.isfinite(xs_all))
            if not idx.size:
                continue
            try:
                tr = pyproj.Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)
                lon, lat = tr.transform(xs_all[idx], ys_all[idx], errcheck=False)
            except pyproj.exceptions.ProjError:
                continue
            mx = (area.east - area.west) * 0.1
            my = (area.north - area.south) * 0.1
            lon = np.asarray(lon)
            lat = np.asarray(lat)
            inside = (
                np.isfinite(lon)
                & (lon >= area.west - mx)
                & (lon <= area.east + mx)
                & (lat >= area.south - my)
                & (lat <= area.north + my)
            )
            bad = idx[~inside]
            for j in bad[:20]:
                self.emit("PCRS-CRS-004", st.loc(int(j)), "geometrie", value=srs, count=len(bad))

    def _emprise_checks(self, st: _FileState) -> None:
        tol = self.options.emprise_tolerance
        n = len(st.emprises)
        if n == 0:
            self.emit("PCRS-EMP-001", None)
            return
        if n > 1:
            self.emit("PCRS-EMP-002", st.emprises[1][0], count=n)
        flags = np.frombuffer(bytes(st.f_flags), dtype=np.uint8)
        shapes = [s for _, s, _ in st.emprises if s is not None and not s.is_empty]
        if shapes and flags.size:
            area = (
                shapely.union_all(shapes).buffer(tol) if len(shapes) > 1 else shapes[0].buffer(tol)
            )
            shapely.prepare(area)
            boxes = np.frombuffer(st.f_box, dtype=np.float64).reshape(-1, 4)
            check = np.flatnonzero((flags & 1).astype(bool) & np.isfinite(boxes).all(axis=1))
            for start in range(0, check.size, 100_000):
                part = check[start : start + 100_000]
                b = boxes[part]
                hit = shapely.intersects(area, shapely.box(b[:, 0], b[:, 1], b[:, 2], b[:, 3]))
                for j in part[~hit]:
                    self.emit("PCRS-EMP-003", st.loc(int(j)), "geometrie", tol=f"{tol:g}")
        # dates against the publication date
        pubs = [d for _, _, d in st.emprises if d is not None]
        if pubs and flags.size:
            pub = min(pubs)
            dates = np.frombuffer(
                st.f_date, dtype=np.int64 if st.f_date.itemsize == 8 else np.int32
            )
            for j in np.flatnonzero(dates > pub.toordinal()):
                self.emit(
                    "PCRS-DATE-001", st.loc(int(j)), "dateLeve", field="dateLeve",
                    value=_dt.date.fromordinal(int(dates[j])).isoformat(),
                    other_field="datePublication", other=pub.isoformat(),
                )  # fmt: skip
        # objects the emprise does not publish
        if st.emprise_links:
            missing = np.flatnonzero((flags & 2).astype(bool) & ~(flags & 4).astype(bool))
            if missing.size:
                self.emit("PCRS-EMP-004", st.loc(int(missing[0])), count=int(missing.size))

    def _link_to(self, st, j, loc, field_, href, expected, ref) -> None:
        cls = st.f_cls[j]
        if expected and not _is_sub(cls, expected):
            self.emit(
                "PCRS-LINK-002", loc, field_, field=field_, value=href, target_cls=cls,
                expected=expected,
            )  # fmt: skip
        if ref:
            st.f_flags[j] |= 4

    def _resolve_pending(self, st: _FileState) -> None:
        for loc, field_, href, target, expected, ref in st.pending:
            j = st.gml_ids.get(target)
            if j is None:
                self.links.append((st.index, loc, field_, href, expected))
            else:
                self._link_to(st, j, loc, field_, href, expected, ref)
        st.pending = []

    # --- after all files ----------------------------------------------------------------

    def finish(self) -> None:
        """Resolve the links that point outside their file, across all the files validated."""
        for file_index, loc, field_, href, expected in self.links:
            self.file = self.files[file_index]
            target = href.rpartition("#")[2]
            cls = None
            for other in self.files:
                j = other.gml_ids.get(target)
                if j is not None:
                    cls = other.f_cls[j]
                    break
            if cls is None:
                self.emit("PCRS-LINK-001", loc, field_, field=field_, value=href)
            elif expected and not is_subclass(cls, expected):
                self.emit(
                    "PCRS-LINK-002", loc, field_, field=field_, value=href, target_cls=cls,
                    expected=expected,
                )  # fmt: skip
        self.links = []
        self.file = None


def _plain_value_ok(atype: str, a, text: str | None, codes) -> bool:
    """Whether a plain value (no link, no child element) of attribute ``a`` is one of the
    common valid ones decided without :meth:`Validator._value` (``codes``: its code list)."""
    if atype == "string":
        return bool(text)
    if atype == "code":
        return text in codes
    if atype == "date":
        return _parse_date(text or "") is not None
    if atype == "double":
        return _double_ok(text or "")
    return atype == "integer" and a.name != "transparence" and _int_ok(text or "")


def _prop_names(f: Feature, plan, compact) -> Iterable[str]:
    """Names of the properties of ``f``, in order (from its plan in the compact form)."""
    return plan[2] if compact is not None else (p.name for p in f.props)


def _at(loc: tuple, line: int | None) -> tuple:
    return (line or loc[0], *loc[1:])
