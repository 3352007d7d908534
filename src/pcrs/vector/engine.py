"""The engine: one pass over each file's features, dispatching them to the rule families.

:class:`Validator` consumes the :class:`~pcrs.vector.gml.Member` objects the streaming
reader produces. For each feature it builds one :class:`FeatureView` (its texts, its
geometry, where it is), keeps a compact per-feature record that the end-of-file rules
share (:class:`FileState`: arrays, one entry per feature), and calls the hooks of the
rule families of :mod:`pcrs.vector.rules` in their order. It emits nothing of its own:
every check lives in a family, beside its messages.

Memory grows by about a hundred bytes per feature (identifiers, one bounding box and one
location), plus the links still to resolve, in columns; findings are kept in columns
too (:class:`~pcrs.vector.rules.FindingStore`).
"""

from __future__ import annotations

import datetime as _dt
import gc
import math
from array import array
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .gml import EmpriseLink, EmpriseLinks, Feature, Geometry, Member, Property, RootInfo
from .model import CLASSES, ID_FIELDS, NS_PCRS, NS_PCRS_INFO, Attribute, FeatureClass
from .rules import FAMILIES, RULES, Family, Finding, FindingStore
from .rules._base import STAGES, Loc
from .rules._common import CODES, ClassInfo, class_info, double_ok, int_ok, parse_date

__all__ = ["FeatureView", "FileState", "Options", "Plan", "Validator"]


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
    today : datetime.date
        Dates after this are in the future (PCRS-DATE-002).
    """

    precision_threshold_cm: float | None = 10.0
    emprise_tolerance: float = 1.0
    z_range: tuple[float, float] = (-500.0, 5000.0)
    min_date: _dt.date = _dt.date(1900, 1, 1)
    max_findings_per_rule: int = 5000
    today: _dt.date = field(default_factory=_dt.date.today)


class Plan(NamedTuple):
    """What is left to check on the features of one class with one sequence of properties,
    once one of them was found structurally sound (known attributes, order, counts)."""

    #: per property: (first of its name, attribute type or None when not a value, Attribute)
    entries: tuple[tuple[bool, str | None, Attribute | None], ...]
    #: the identifier fields among the property names
    id_fields: tuple[str, ...]
    #: the property names, in order
    names: tuple[str, ...]
    #: whether each name comes once (then the first value of each is the only one)
    unique: bool
    #: the values to check: (position, type, attribute, its code list or None)
    checks: tuple[tuple[int, str, Attribute, frozenset[str] | None], ...]


#: (namespace, class, property tags) -> its plan (see :class:`Plan`)
_PLANS: dict[tuple[str, str, tuple[str, ...]], Plan] = {}


class FileState:
    """What one file's end-of-file rules share, kept compact (arrays, one entry per feature).

    The per-feature columns are indexed by the feature's serial number in the file.
    """

    def __init__(self, path: str, index: int):
        self.path = path
        self.index = index
        #: gml:id -> serial of the feature in this file
        self.gml_ids: dict[str, int] = {}
        #: features per class
        self.counts: Counter[str] = Counter()
        self.f_cls: list[str] = []
        self.f_line = array("q")
        self.f_gid: list[str | None] = []
        self.f_ido: list[str | None] = []
        self.f_x = array("d")
        self.f_y = array("d")
        #: 4 per feature (xmin, ymin, xmax, ymax), nan without geometry
        self.f_box = array("d")
        #: ordinal of dateLeve, 0 without
        self.f_date = array("l")
        #: index in srs_list, -1 without
        self.f_srs = array("h")
        #: 1 inside-rule, 2 published (top ObjetVecteur/Habillage), 4 referenced by the emprise
        self.f_flags = bytearray()
        self.srs_list: list[str] = []
        self.srs_index: dict[str, int] = {}
        #: srsName -> (first location, class), in the order met (the CRS family fills it)
        self.srs: dict[str, tuple[Loc, str]] = {}
        #: why the file looks like a pre-2.0 draft (PCRS-FILE-004)
        self.beta: list[str] = []
        self.rule_counts: Counter[str] = Counter()

    def loc(self, j: int) -> Loc:
        """The location of the feature of serial ``j``."""
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


class FeatureView:
    """One feature as the rule families see it.

    Attributes
    ----------
    st : FileState
        Its file.
    f : Feature
        The feature as read.
    loc : tuple
        ``(line, class, gml:id, idObjet, x, y)``.
    serial : int
        Its serial number in the file (index of the :class:`FileState` columns).
    texts : dict
        First text of each property name.
    geom : Geometry or None
        Its first geometry.
    plan : Plan or None
        Set when a feature of the same class and properties was found sound.
    compact : tuple or None
        The compact form the plan applies to (the fast reader's).
    todo : list or None
        With a plan: the values left to check, ``(attribute, property or its position)``.
    fc, info : FeatureClass, ClassInfo or None
        The class in the model and what the checks need to know of it (None for a class
        that is not a concrete class of PCRS v2.0).
    sound : bool
        Set by the structure check: no unknown attribute, order and counts right.
    """

    __slots__ = ("compact", "f", "fc", "geom", "info", "loc", "plan", "serial", "sound", "st",
                 "tags", "texts", "todo")  # fmt: skip

    def __init__(
        self,
        st: FileState,
        f: Feature,
        loc: Loc,
        serial: int,
        texts: dict[str, Any],
        geom: Geometry | None,
        plan: Plan | None,
        compact: tuple | None,
        todo: list | None,
        tags: tuple | None,
    ):
        self.st = st
        self.f = f
        self.loc = loc
        self.serial = serial
        self.texts = texts
        self.geom = geom
        self.plan = plan
        self.compact = compact
        self.todo = todo
        self.tags = tags
        self.fc: FeatureClass | None = None
        self.info: ClassInfo | None = None
        self.sound = False

    def prop_names(self) -> Iterable[str]:
        """Names of the properties, in order."""
        if self.compact is not None and self.plan is not None:
            return self.plan.names
        return (p.name for p in self.f.materialise())


Hook = Callable[..., Any]


class Validator:
    """Run the PCRS rules over the members of one or more files.

    Use :meth:`start_file`, :meth:`member` for each member, :meth:`end_file`, and
    after all files :meth:`finish`. Findings accumulate in :attr:`findings`.

    Parameters
    ----------
    options : Options, optional
    families : iterable of Family subclasses, optional
        The rule families to run (default: all of :data:`pcrs.vector.rules.FAMILIES`).
    rules : collection of str, optional
        The rule ids this run reports (default: all); the findings of the others are
        dropped where they are emitted, and a family whose hooks only emit its own rules
        (:attr:`~pcrs.vector.rules.Family.emits_only`) is left out when none of its rules
        is on.
    severities : mapping, optional
        Rule id -> severity for this run, where it differs from the registry's (a
        profile's, see :mod:`pcrs.vector.profiles`); the registry is not changed.
    """

    #: while the cyclic garbage collector is off (``validate`` turns it off), the youngest
    #: objects are collected once this many have piled up since the last collection: a
    #: member read by lxml leaves reference cycles behind, which would otherwise hold its
    #: parsed tree until the end (1.7 GB on a 300 MB delivery shaped like Lyon's); members
    #: that leave nothing behind cost no collection. (10,000 made the 297 MB generated delivery
    #: spend 0.5 s in collections that found 770 objects; at 200,000 the blocks' short-lived
    #: lists are gone before a collection sees them, and the lxml reader's peak on the 300 MB
    #: Lyon-shaped delivery stays 210 MB)
    COLLECT_ABOVE = 200_000

    def __init__(
        self,
        options: Options | None = None,
        families: Iterable[type[Family]] | None = None,
        *,
        rules: Collection[str] | None = None,
        severities: Mapping[str, str] | None = None,
    ):
        self.options = options or Options()
        self.severities = dict(severities or {})
        #: the rule ids whose findings are dropped in this run
        self.off: frozenset[str] = (
            frozenset() if rules is None else frozenset(RULES).difference(rules)
        )
        self._store = FindingStore(self.severities)
        self.suppressed: Counter[str] = Counter()
        self.files: list[FileState] = []
        self.file: FileState | None = None
        self.families: dict[str, Family] = {}
        hooks: dict[str, list[tuple[int, int, Hook]]] = {s: [] for s in STAGES}
        self._values: dict[str, Hook] = {}
        for k, cls in enumerate(families if families is not None else FAMILIES):
            if cls.emits_only and cls.rules and all(r.id in self.off for r in cls.rules):
                continue
            fam = cls(self)
            self.families[cls.__name__] = fam
            for stage, order, name in cls.hooks():
                hooks[stage].append((order, k, getattr(fam, name)))
            for t, name in cls.value_checks():
                self._values[t] = getattr(fam, name)
        self._hooks = {
            s: [h for _o, _k, h in sorted(v, key=lambda e: e[:2])] for s, v in hooks.items()
        }
        #: class name -> the feature hooks that apply to it
        self._feature_hooks: dict[str, list[Hook]] = {}
        self._members_seen = 0

    def severity(self, rule: str) -> str:
        """The severity of ``rule`` in this run (the profile's, else the registry's)."""
        return self.severities.get(rule) or RULES[rule].severity

    def family(self, cls: type[Family]) -> Family:
        """The instance of the family ``cls`` in this run."""
        return self.families[cls.__name__]

    # --- findings ---------------------------------------------------------------------

    @property
    def findings(self) -> list[Finding]:
        """The findings so far (a new list of :class:`Finding` at each access)."""
        return list(self._store)

    @property
    def n_findings(self) -> int:
        """How many findings are listed (the suppressed ones aside)."""
        return len(self._store)

    def emit(
        self, rule: str, loc: Loc | None = None, field_: str | None = None, **params: Any
    ) -> None:
        """Record a finding; ``loc`` is ``(line, cls, gml_id, id_objet, x, y)``."""
        if rule in self.off:
            return
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
        self._store.add(
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

    # --- reading a file again ---------------------------------------------------------

    def mark(self) -> tuple[int, Counter[str], int]:
        """A point to come back to with :meth:`rollback` (taken before :meth:`start_file`)."""
        return (len(self._store), Counter(self.suppressed), len(self.files))

    def rollback(self, mark: tuple[int, Counter[str], int]) -> None:
        """Forget the files started since ``mark`` (their findings, identifiers and links),
        so that one can be read again another way."""
        n_findings, suppressed, n_files = mark
        dropped = {st.index for st in self.files[n_files:]}
        self._store.truncate(n_findings)
        self.suppressed = suppressed
        del self.files[n_files:]
        for hook in self._hooks["rollback"]:
            hook(dropped)
        self.file = None

    # --- files --------------------------------------------------------------------------

    def start_file(self, path: str, root: RootInfo | None) -> None:
        """Begin a file (``root``: its root element, None when it cannot be read)."""
        st = self.file = FileState(path, len(self.files))
        self.files.append(st)
        for hook in self._hooks["start_file"]:
            hook(st, root)

    def member(self, m: Member | EmpriseLinks | EmpriseLink) -> None:
        """Check one member (or emprise links handed out on their own)."""
        st = self.file
        assert st is not None, "start_file first"
        if type(m) is not Member:
            links = m if isinstance(m, EmpriseLinks) else EmpriseLinks.of(m)  # type: ignore[arg-type]
            for hook in self._hooks["emprise_links"]:
                hook(st, links)
            return
        for hook in self._hooks["member"]:
            hook(st, m)
        features = m.features
        for f in features:
            self.feature(f)
        if len(features) > 1:
            for f in features:  # no reference cycles left for the garbage collector
                f.parent = None
        # (looked at every 64 members: the count of young objects is a call)
        self._members_seen += 1
        if (
            not self._members_seen & 63
            and gc.get_count()[0] > self.COLLECT_ABOVE
            and not gc.isenabled()
        ):
            gc.collect(0)

    def xml_error(self, line: int | None, message: str) -> None:
        """The file is not well-formed from ``line`` on (PCRS-XML-002)."""
        self.emit(
            "PCRS-XML-002",
            (line, None, None, None, None, None),
            line=line or "?",
            detail=_xml_detail(message),
        )

    def end_file(self) -> None:
        """Run the end-of-file rules of the current file, then drop its per-feature record."""
        st = self.file
        assert st is not None, "start_file first"
        for hook in self._hooks["end_file"]:
            hook(st)
        st.free()

    def finish(self) -> None:
        """Run the delivery-wide rules (links that point outside their file...)."""
        for hook in self._hooks["finish"]:
            hook()
        self.file = None

    # --- one feature --------------------------------------------------------------------

    def feature(self, f: Feature) -> None:
        """Check one feature: record it, then call every family's feature hook in order."""
        st = self.file
        assert st is not None, "start_file first"
        st.counts[f.cls] += 1
        props = f.props
        tags = f.prop_tags
        compact = None
        plan = None
        if props is None:
            # the compact form (fast reader): read as is when the structure is known sound
            plan = _PLANS.get((f.ns, f.cls, tags)) if tags is not None else None
            if plan is None:
                props = f.materialise()
            else:
                compact = f.compact
        if compact is None:
            assert props is not None  # (built above when the feature came compact)
            if tags is not None and len(tags) != len(props):
                tags = None  # props changed after reading: no shortcut
            plan = _PLANS.get((f.ns, f.cls, tags)) if tags is not None else None
        texts: dict[str, Any] = {}
        geom: Geometry | None = None
        todo: list | None = None
        if compact is not None and plan is not None:
            # the same checks as the planned loop below, on the compact form
            vals, hrefs, kids, _lines, geometries = compact
            if geometries:
                geom = geometries[0][1]
            if plan.unique:  # (each name once: the first value of each is the only one)
                texts = dict(zip(plan.names, vals, strict=True))
            else:
                for v, name, entry in zip(vals, plan.names, plan.entries, strict=True):
                    if entry[0]:
                        texts[name] = v
            for i, atype, a, codes in plan.checks:
                if hrefs[i] is None and not kids[i]:
                    # (the two commonest types decided inline: a call per value counts here)
                    v = vals[i]
                    if atype == "code":
                        if codes is not None and v in codes:
                            continue
                    elif atype == "string":
                        if v:
                            continue
                    elif _plain_value_ok(atype, a, v, codes):
                        continue
                if todo is None:
                    todo = []
                todo.append((a, i))
        elif plan is None:
            assert props is not None
            for p in props:
                if p.name not in texts:
                    texts[p.name] = p.text
                if geom is None and p.geometry is not None:
                    geom = p.geometry
        else:
            # this class with these properties in this order is known to be structurally
            # sound (known attributes, order, counts): only the values are left to check;
            # the common valid ones are decided here, the others (and links) by the families
            assert props is not None
            for p, (first, p_type, p_attr) in zip(props, plan.entries, strict=True):
                if first:
                    texts[p.name] = p.text
                if geom is None and p.geometry is not None:
                    geom = p.geometry
                if p_type is None or p_attr is None:
                    continue
                if (
                    p.href is None
                    and not p.children
                    and _plain_value_ok(
                        p_type,
                        p_attr,
                        p.text,
                        CODES[p_attr.codelist] if p_attr.codelist is not None else None,
                    )
                ):
                    continue
                if todo is None:
                    todo = []
                todo.append((p_attr, p))
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
        if f.gml_id is not None:
            st.gml_ids.setdefault(f.gml_id, serial)  # (the first feature of a gml:id keeps it)

        fv = FeatureView(st, f, loc, serial, texts, geom, plan, compact, todo, tags)
        if f.ns in (NS_PCRS, NS_PCRS_INFO):
            fc = CLASSES.get(f.cls)
            if fc is not None and not fc.abstract:
                fv.fc = fc
                fv.info = class_info(f.cls)
        hooks = self._feature_hooks.get(f.cls)
        if hooks is None:
            hooks = self._feature_hooks_of(f.cls)
        for hook in hooks:
            if hook(fv) is False:
                return
        if fv.sound and plan is None and tags is not None and fv.info is not None:
            _remember_plan(f, fv.info, tags)

    def _feature_hooks_of(self, cls: str) -> list[Hook]:
        """The feature hooks that apply to class ``cls`` (remembered)."""
        hooks = [
            h
            for h in self._hooks["feature"]
            if getattr(h, "_pcrs_classes", None) is None or h._pcrs_classes(cls)  # type: ignore[attr-defined]
        ]
        if len(self._feature_hooks) < 10_000:
            self._feature_hooks[cls] = hooks
        return hooks

    def check_value(self, fv: FeatureView, a: Attribute, p: Property, loc: Loc) -> None:
        """Check the value of property ``p`` (attribute ``a``) with the family that checks
        that type of value (an element where a plain value is expected: ``"element"``)."""
        t = a.type
        if t == "geometry":
            return
        if t != "link" and (p.children or p.href is not None):
            t = "element"
        check = self._values.get(t)
        if check is not None:
            check(fv, a, p, loc)


def _xml_detail(message: str) -> str:
    if "Resource limit exceeded" in message or "huge" in message.lower():
        message += (
            " (a single text value of more than 10 MB is refused for safety: split that "
            "geometry into several objects)"
        )
    return message


def _remember_plan(f: Feature, info: ClassInfo, tags: tuple) -> None:
    """Remember that features of ``f``'s class with these properties are structurally sound."""
    props = f.materialise()
    entries: list[tuple[bool, str | None, Attribute | None]] = []
    names: set[str] = set()
    for p in props:
        entry = info.index.get(p.name)
        first = p.name not in names
        names.add(p.name)
        # (unknown GML properties are skipped, like in the structure check)
        if entry is not None and p.ns in (NS_PCRS, NS_PCRS_INFO) and entry[1].type != "geometry":
            entries.append((first, entry[1].type, entry[1]))
        else:
            entries.append((first, None, None))
    if len(_PLANS) >= 4096:
        _PLANS.clear()
    prop_names = tuple(p.name for p in props)
    _PLANS[(f.ns, f.cls, tags)] = Plan(
        tuple(entries),
        tuple(n for n in ID_FIELDS if n in names),
        prop_names,
        len(set(prop_names)) == len(prop_names),
        tuple(
            (i, t, a, CODES[a.codelist] if t == "code" and a.codelist else None)
            for i, (_first, t, a) in enumerate(entries)
            if t is not None and a is not None
        ),
    )


def _plain_value_ok(
    atype: str, a: Attribute, text: str | None, codes: frozenset[str] | None
) -> bool:
    """Whether a plain value (no link, no child element) of attribute ``a`` is one of the
    common valid ones, decided without the families (``codes``: its code list)."""
    if atype == "string":
        return bool(text)
    if atype == "code":
        return codes is not None and text in codes
    if atype == "date":
        return parse_date(text or "") is not None
    if atype == "double":
        return double_ok(text or "")
    return atype == "integer" and a.name != "transparence" and int_ok(text or "")
