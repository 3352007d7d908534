"""The validation rules: one module per family, each with its rules and the checks that emit them.

Each rule has an id that never changes meaning (``PCRS-GEOM-003``), a severity
(``error``: the delivery breaks the schema or a structural rule of the standard;
``warning``: a recommendation, or a constraint only the PDF of the standard states;
``info``: worth knowing), a message template in both languages, what to do about
it, and the section of the standard it comes from.

A family is a module of this package (``identifiers``, ``links``, ``codes``,
``geometry``, ``crs``, ``emprise``, ``dates``...) holding a :class:`Family` subclass:
its :attr:`~Family.rules` beside the hooks that emit them (see :mod:`._base`). Every
module of the package whose name does not start with ``_`` is loaded here, so a new
family is one new file. :data:`RULES` is the one registry, in the order of the
families: the engine (:mod:`pcrs.vector.engine`), the reports, the documentation's
rules catalogue and the command line all read it.

Examples
--------
>>> RULES["PCRS-CODE-001"].severity
'error'
>>> f = Finding("PCRS-CODE-001", {"field": "typeMur", "value": "07", "allowed": "01, 02"})
>>> f.message("en")[:40]
"typeMur = '07' is not in its closed code"
"""

from __future__ import annotations

import importlib
import pkgutil

from ._base import REGISTRY, SEVERITIES, Family, Finding, FindingStore, Rule, on, rule, value_check

__all__ = [
    "FAMILIES",
    "RULES",
    "SEVERITIES",
    "Family",
    "Finding",
    "FindingStore",
    "Rule",
    "on",
    "rule",
    "rules_table",
    "value_check",
]


def _families() -> list[type[Family]]:
    found: list[type[Family]] = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for obj in vars(module).values():
            if (
                isinstance(obj, type)
                and issubclass(obj, Family)
                and obj is not Family
                and obj.__module__ == module.__name__
            ):
                found.append(obj)
    return sorted(found, key=lambda cls: (cls.order, cls.__name__))


#: the rule families, in the order of the registry
FAMILIES: tuple[type[Family], ...] = tuple(_families())


def _registry() -> dict[str, Rule]:
    out = REGISTRY
    out.clear()
    for fam in FAMILIES:
        for r in fam.rules:
            if r.id in out:
                raise RuntimeError(f"{r.id} is declared twice ({fam.__name__})")
            out[r.id] = r
    return out


#: the registry, by id
RULES: dict[str, Rule] = _registry()


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
