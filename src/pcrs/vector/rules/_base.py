"""What every rule family is made of: :class:`Rule`, :class:`Finding`, :class:`Family`, hooks.

A rule family is one module of :mod:`pcrs.vector.rules` holding its rules (ids, severities,
messages in both languages) and the checks that emit them: a subclass of :class:`Family`
whose methods are marked with :func:`on` (when the engine calls them, and in which order)
or :func:`value_check` (the values of one attribute type). The engine
(:class:`pcrs.vector.engine.Validator`) only reads the files, keeps the per-feature record
that end-of-file rules share, and calls the hooks.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

if TYPE_CHECKING:
    from ..engine import Validator

__all__ = [
    "SEVERITIES",
    "STAGES",
    "Family",
    "Finding",
    "FindingStore",
    "Loc",
    "Rule",
    "on",
    "rule",
    "value_check",
]

SEVERITIES = ("error", "warning", "info")

#: where a finding is: (line, class, gml:id, idObjet, x, y); any of them may be None
Loc = tuple[Any, ...]

#: the moments the engine calls hooks at, with what they receive
STAGES = {
    "start_file": "(st, root): a file starts (root: RootInfo, or None for an unreadable one)",
    "member": "(st, member): one featureMember, before its features",
    "emprise_links": "(st, links): objet/habillage links of an emprise handed out on their own "
    "(EmpriseLinks: lines, names, hrefs)",
    "feature": "(fv): one feature (FeatureView); returning False stops the feature's checks",
    "end_file": "(st): the file is read; its per-feature record is still there",
    "finish": "(): every file is read (the delivery-wide rules)",
    "rollback": "(dropped): the files of these indices are forgotten (read again another way)",
}


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
        """The message in ``lang`` with ``params`` filled in, then what to do."""
        template = self.message_fr if lang == "fr" else self.message_en
        fix = self.fix_fr if lang == "fr" else self.fix_en
        try:
            text = template.format(**params)
        except (KeyError, IndexError, ValueError):
            text = template
        if fix:
            text = f"{text} — {fix.format(**params) if '{' in fix else fix}"
        return text


def rule(
    id_: str,
    sev: str,
    title_en: str,
    title_fr: str,
    msg_en: str,
    msg_fr: str,
    fix_en: str = "",
    fix_fr: str = "",
    section: str = "",
) -> Rule:
    """A :class:`Rule`, its fields given in order (as the families declare them)."""
    return Rule(id_, sev, title_en, title_fr, msg_en, msg_fr, fix_en, fix_fr, section)


#: every rule by id (:data:`pcrs.vector.rules.RULES` is this dictionary, filled there)
REGISTRY: dict[str, Rule] = {}


@dataclass(slots=True)
class Finding:
    """One located defect.

    ``params`` fill the rule's message templates; the location fields follow the JSON
    report contract (``file``, ``line``, ``feature_class``, ``gml_id``, ``id_objet``,
    ``x``, ``y``); ``field`` names the attribute concerned when there is one. ``sev`` is
    the severity the run's profile gave the rule (None: the registry's).
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
    sev: str | None = None

    @property
    def severity(self) -> str:
        """``error``, ``warning`` or ``info``: the profile's for this run, else the rule's."""
        return self.sev or REGISTRY[self.rule].severity

    def message(self, lang: str = "en") -> str:
        """The message in ``lang`` (``"en"`` or ``"fr"``), with what to do."""
        return REGISTRY[self.rule].render(self.params, lang)

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        """The finding as the JSON report has it."""
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


class _Interned:
    """Strings (or tuples) stored once, referred to by their index."""

    __slots__ = ("index", "values")

    def __init__(self) -> None:
        self.values: list[Any] = [None]
        self.index: dict[Any, int] = {None: 0}

    def __call__(self, value: Any) -> int:
        k = self.index.get(value)
        if k is None:
            k = self.index[value] = len(self.values)
            self.values.append(value)
        return k


class FindingStore:
    """Findings kept in columns while the files stream: a few dozen bytes per finding.

    Rule ids, files, classes, fields and the names of the parameters are interned; lines
    and coordinates sit in arrays; a finding's parameters are one tuple of values.
    :class:`Finding` objects are made only when read (iteration, indexing).

    Examples
    --------
    >>> store = FindingStore()
    >>> store.add("PCRS-EMP-001", {}, "a.gml", None, None, None, None, None, None, None)
    >>> len(store), store[0].rule
    (1, 'PCRS-EMP-001')
    """

    __slots__ = ("_cls", "_field", "_file", "_gid", "_ido", "_keys", "_line", "_none", "_rule",
                 "_sev", "_strs", "_vals", "_x", "_y")  # fmt: skip

    def __init__(self, severities: dict[str, str] | None = None) -> None:
        #: the severity of a rule in this run where the profile changed it
        self._sev = dict(severities or {})
        self._strs = _Interned()  # rule ids, files, classes, fields
        self._keys = _Interned()  # the names of a finding's parameters, in order
        self._rule = array("i")
        self._file = array("i")
        self._cls = array("i")
        self._field = array("i")
        self._line = array("q")  # -1: None
        self._x = array("d")
        self._y = array("d")
        self._none = bytearray()  # 1: x is None, 2: y is None
        self._gid: list[str | None] = []
        self._ido: list[str | None] = []
        self._vals: list[tuple[Any, ...]] = []

    def add(
        self,
        rule_id: str,
        params: dict,
        file: str | None,
        line: int | None,
        cls: str | None,
        gml_id: str | None,
        id_objet: str | None,
        x: float | None,
        y: float | None,
        field_: str | None,
    ) -> None:
        """Store one finding (the arguments of :class:`Finding`, in order)."""
        s = self._strs
        self._rule.append(s(rule_id))
        self._file.append(s(file))
        self._cls.append(s(cls))
        self._field.append(s(field_))
        self._line.append(-1 if line is None else line)
        self._x.append(0.0 if x is None else x)
        self._y.append(0.0 if y is None else y)
        self._none.append((x is None) | (y is None) << 1)
        self._gid.append(gml_id)
        self._ido.append(id_objet)
        self._keys_add(params)

    def _keys_add(self, params: dict) -> None:
        self._vals.append((self._keys(tuple(params)), *params.values()))

    def __len__(self) -> int:
        return len(self._rule)

    def __getitem__(self, i: int) -> Finding:
        s = self._strs.values
        keys, *vals = self._vals[i]
        line = self._line[i]
        rule_id = s[self._rule[i]]
        return Finding(
            rule_id,
            dict(zip(self._keys.values[keys], vals, strict=True)),
            s[self._file[i]],
            None if line == -1 else line,
            s[self._cls[i]],
            self._gid[i],
            self._ido[i],
            None if self._none[i] & 1 else self._x[i],
            None if self._none[i] & 2 else self._y[i],
            s[self._field[i]],
            self._sev.get(rule_id),
        )

    def __iter__(self) -> Iterator[Finding]:
        for i in range(len(self)):
            yield self[i]

    def truncate(self, n: int) -> None:
        """Forget every finding from the ``n``-th on."""
        for col in (self._rule, self._file, self._cls, self._field, self._line, self._x,
                    self._y, self._none, self._gid, self._ido, self._vals):  # fmt: skip
            del col[n:]


H = TypeVar("H", bound=Callable[..., Any])


def on(
    stage: str, order: int, classes: Callable[[str], bool] | tuple[str, ...] | None = None
) -> Callable[[H], H]:
    """Mark a :class:`Family` method as the hook of ``stage`` (see :data:`STAGES`).

    Hooks of one stage run by increasing ``order``, whatever their family: the order
    numbers fix which finding comes first when two fall on the same line (the report
    keeps that order), so a new hook takes a number of its own. A ``feature`` hook that
    can only find something on some classes names them in ``classes`` (names, or a test
    of the class name): the engine then calls it for those only.
    """
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}: one of {', '.join(STAGES)}")
    if classes is not None and stage != "feature":
        raise ValueError("only feature hooks are chosen by class")

    def mark(fn: H) -> H:
        fn._pcrs_hook = (stage, order)  # type: ignore[attr-defined]
        if classes is not None:
            names = classes
            fn._pcrs_classes = (  # type: ignore[attr-defined]
                names if callable(names) else lambda cls: cls in names
            )
        return fn

    return mark


def value_check(*types: str) -> Callable[[H], H]:
    """Mark a :class:`Family` method as the check of values of the attribute ``types``
    (``"link"``, ``"code"``, ``"string"``, ...): ``(fv, attribute, prop, loc)``."""

    def mark(fn: H) -> H:
        fn._pcrs_values = types  # type: ignore[attr-defined]
        return fn

    return mark


class Family:
    """A rule family: its rules and the hooks that emit them.

    Subclasses set :attr:`rules` (declared with :func:`rule`) and :attr:`order` (the
    place of the family in the registry and the catalogue), and mark their methods with
    :func:`on` or :func:`value_check`. One instance is made per validation run
    (:class:`~pcrs.vector.engine.Validator`), which it reaches as :attr:`v`; what a
    family keeps per file it resets in its ``start_file`` hook.
    """

    #: the family's rules, in the order of the catalogue
    rules: ClassVar[tuple[Rule, ...]] = ()
    #: place of the family among the others in :data:`pcrs.vector.rules.RULES`
    order: ClassVar[int] = 1000
    #: whether its hooks only emit its own rules (no state another family or the report
    #: reads): the engine then leaves the family out of a run whose profile turned off
    #: every one of its rules
    emits_only: ClassVar[bool] = False

    def __init__(self, validator: Validator):
        self.v = validator

    @classmethod
    def hooks(cls) -> Iterator[tuple[str, int, str]]:
        """``(stage, order, method name)`` of each hook of the family."""
        for name in dir(cls):
            mark = getattr(getattr(cls, name, None), "_pcrs_hook", None)
            if mark is not None:
                yield mark[0], mark[1], name

    @classmethod
    def value_checks(cls) -> Iterator[tuple[str, str]]:
        """``(attribute type, method name)`` of each value check of the family."""
        for name in dir(cls):
            for t in getattr(getattr(cls, name, None), "_pcrs_values", ()):
                yield t, name
