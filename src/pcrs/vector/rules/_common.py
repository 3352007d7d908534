"""Helpers several families and the engine share: value parsing and what each class takes."""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass

from ..model import CLASSES, CODE_LISTS, Attribute, attributes_of, is_subclass

__all__ = [
    "CODES",
    "DATE_FIELDS",
    "ClassInfo",
    "at",
    "class_info",
    "double_ok",
    "int_ok",
    "is_sub",
    "parse_date",
]

_DATE = re.compile(r"^(-?\d{4,})-(\d{2})-(\d{2})(Z|[+-]\d{2}:\d{2})?$")
INT_RE = re.compile(r"^[+-]?\d+$")
_FLOAT_OK = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$|^(INF|-INF|NaN)$")

#: the values of each code list, by name
CODES = {name: frozenset(cl.values) for name, cl in CODE_LISTS.items()}

#: the date attributes checked for plausibility (PCRS-DATE-002), in this order
DATE_FIELDS = ("dateLeve", "datePublication", "horodatage", "dateAcquisition", "dateRecette",
               "dateCreation", "dateActualite")  # fmt: skip

_INSIDE_EXTRA = (
    "PointLevePCRS",
    "AffleurantEnveloppePCRS",
    "AffleurantLignesPCRS",
    "AffleurantPointPCRS",
    "AffleurantSymbolePCRS",
)


@dataclass(frozen=True)
class ClassInfo:
    """What the checks need to know about one class, computed once.

    Attributes
    ----------
    attrs : tuple of Attribute
        Its attributes, inherited ones first (:func:`~pcrs.vector.model.attributes_of`).
    index : dict
        Attribute name -> (position, Attribute).
    geometry : tuple of str
        The GML geometry types its ``geometrie`` takes (empty: any).
    objet : bool
        A subclass of ObjetVecteurPCRS.
    published : bool
        An ObjetVecteurPCRS or HabillagePCRS (an emprise should link it).
    inside : bool
        Must lie inside the emprise (PCRS-EMP-003).
    dates : tuple of str
        Its date attributes among :data:`DATE_FIELDS`.
    counted : tuple of Attribute
        Its attributes with a minimum or a maximum number of occurrences.
    """

    attrs: tuple[Attribute, ...]
    index: dict[str, tuple[int, Attribute]]
    geometry: tuple[str, ...]
    objet: bool
    published: bool
    inside: bool
    dates: tuple[str, ...]
    counted: tuple[Attribute, ...]


_INFO: dict[str, ClassInfo] = {}


def class_info(name: str) -> ClassInfo:
    """The :class:`ClassInfo` of the class ``name`` of the model (remembered)."""
    info = _INFO.get(name)
    if info is None:
        attrs = tuple(attributes_of(name))
        geometry: tuple[str, ...] = ()
        for a in attrs:
            if a.type == "geometry":
                geometry = tuple(a.geometry)
        objet = is_subclass(name, "ObjetVecteurPCRS")
        published = objet or is_subclass(name, "HabillagePCRS")
        info = ClassInfo(
            attrs,
            {a.name: (i, a) for i, a in enumerate(attrs)},
            geometry,
            objet,
            published,
            name in CLASSES and (published or name in _INSIDE_EXTRA),
            tuple(n for n in DATE_FIELDS if any(a.name == n for a in attrs)),
            tuple(a for a in attrs if a.min_occurs > 0 or a.max_occurs is not None),
        )
        _INFO[name] = info
    return info


_DATE_CACHE: dict[str, _dt.date | None] = {}


def parse_date(text: str) -> _dt.date | None:
    """An ``xs:date`` (``YYYY-MM-DD``, with an optional time zone), or None."""
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


_SUBCLASS: dict[tuple[str, str], bool] = {}


def is_sub(name: str, ancestor: str) -> bool:
    """:func:`~pcrs.vector.model.is_subclass`, remembered (the class table is fixed)."""
    key = (name, ancestor)
    hit = _SUBCLASS.get(key)
    if hit is None:
        hit = is_subclass(name, ancestor)
        if len(_SUBCLASS) < 10000:
            _SUBCLASS[key] = hit
    return hit


_DOUBLE_OK: dict[str, bool] = {}


def double_ok(text: str) -> bool:
    """Whether ``text`` is an ``xs:double``."""
    ok = _DOUBLE_OK.get(text)
    if ok is None:
        ok = bool(_FLOAT_OK.match(text))
        if len(_DOUBLE_OK) >= 4096:
            _DOUBLE_OK.clear()
        _DOUBLE_OK[text] = ok
    return ok


_INT_OK: dict[str, bool] = {}


def int_ok(text: str) -> bool:
    """Whether ``text`` is an ``xs:integer`` (blanks around it allowed)."""
    ok = _INT_OK.get(text)
    if ok is None:
        ok = bool(INT_RE.match(text.strip()))
        if len(_INT_OK) >= 4096:
            _INT_OK.clear()
        _INT_OK[text] = ok
    return ok


def at(loc: tuple, line: int | None) -> tuple:
    """``loc`` moved to ``line`` (kept when ``line`` is None or 0)."""
    return (line or loc[0], *loc[1:])
