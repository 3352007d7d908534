"""Acceptance profiles: which rules a validation reports, at which severity, with which thresholds.

A profile is a TOML table (ruff and sqlfluff are the model)::

    extends = "strict"                 # a built-in profile, or another file (relative path)
    name = "syndicat-exemple"          # shown in every report (default: the file's name)
    select = ["PCRS"]                  # rule ids or prefixes reported (default: the parent's)
    extend-select = ["PCRS-LIDAR"]     # added to the parent's
    ignore = ["PCRS-GEOM-016", "PCRS-CRS-006"]

    [severity]                         # by id or prefix; the longest match wins
    "PCRS-ATTR-003" = "error"

    [options]                          # the thresholds of pcrs.vector.Options
    precision_threshold_cm = 10
    emprise_tolerance = 0.5

Two profiles are built in (``src/pcrs/vector/profiles/*.toml``): ``cnig``, the standard as
written (the default), and ``strict``, what an acceptance expects. A project keeps its own in
``pcrs.toml`` (table ``[validate]``) or in ``pyproject.toml`` (table ``[tool.pcrs.validate]``),
found from the working directory upward as ruff finds its configuration
(:func:`find_project_file`).

Examples
--------
>>> strict = load_profile("strict")
>>> strict.severity("PCRS-ATTR-003"), strict.make_options().precision_threshold_cm
('error', 40.0)
>>> "PCRS-GEOM-016" in Profile.from_text('ignore = ["PCRS-GEOM-016"]').rules
False
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import os
import re
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple, NoReturn

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

from ..errors import ParameterError
from .engine import Options
from .rules import RULES, SEVERITIES

__all__ = [
    "BUILTIN_PROFILES",
    "DEFAULT_PROFILE",
    "PARTIAL_RULES",
    "PROJECT_FILES",
    "Profile",
    "ProfileError",
    "find_project_file",
    "load_profile",
    "resolve_profile",
]

#: the profile a run applies when neither ``--profile`` nor a project file names one
DEFAULT_PROFILE = "cnig"
#: the profiles shipped with pcrs (``pcrs/vector/profiles/<name>.toml``)
BUILTIN_PROFILES = ("cnig", "strict")
#: the rules about the delivery as a whole: errors by default, warnings with ``partial``
#: (unless the profile sets their severity itself)
PARTIAL_RULES = ("PCRS-LINK-001", "PCRS-EMP-001")
#: the project files, in the order they are looked for in each folder
PROJECT_FILES = ("pcrs.toml", "pyproject.toml")

_KEYS = ("name", "description", "extends", "select", "extend-select", "ignore", "severity",
         "options")  # fmt: skip
_OPTIONS = tuple(f.name for f in dataclasses.fields(Options))
_MAX_DEPTH = 10
#: a key (bare, quoted or dotted) at the start of a line, before its ``=``
_KEY_RE = re.compile(
    r"""\s*((?:"[^"]*"|'[^']*'|[A-Za-z0-9_.\-]+)(?:\s*\.\s*(?:"[^"]*"|'[^']*'|[A-Za-z0-9_\-]+))*)\s*="""
)


class ProfileError(ParameterError):
    """A profile that cannot be used: its message names the file and the line."""


@dataclass(frozen=True)
class _Layer:
    """One profile table as written, checked (before ``extends`` is resolved)."""

    name: str | None
    description: str
    extends: str | None
    select: tuple[str, ...] | None
    extend_select: tuple[str, ...]
    ignore: tuple[str, ...]
    severity: dict[str, str]
    options: dict[str, Any]


@dataclass(frozen=True)
class Profile:
    """A resolved profile: the rules a run reports, their severities, its thresholds.

    Attributes
    ----------
    name : str
        Shown in every report.
    origin : str
        ``"built-in"``, or the file it was read from (with its table).
    rules : frozenset of str
        The ids of the rules reported.
    severities : dict
        Rule id -> severity, for every rule whose severity the profile (or one it extends)
        sets, even to the registry's own.
    options : dict
        The fields of :class:`~pcrs.vector.engine.Options` it sets.
    extends : tuple of str
        The names of the profiles it extends, nearest first.
    description : str
    """

    name: str
    origin: str
    rules: frozenset[str]
    severities: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    extends: tuple[str, ...] = ()
    description: str = ""

    @classmethod
    def from_text(cls, text: str, *, name: str = "inline", origin: str = "inline") -> Profile:
        """A profile from TOML text, its keys at the top level (a relative ``extends`` is
        relative to the working directory)."""
        layer = _parse_table(_loads(text, origin), (), text, origin)
        layers, names = [layer], [name]
        if layer.extends is not None:
            where = f"{origin}:{_line(text, (), 'extends')}"
            more, more_names, _origin = _layers(layer.extends, Path.cwd(), (), where)
            layers += more
            names += more_names
        return _resolve(layers[::-1], name, origin, tuple(names[1:]))

    def severity(self, rule: str) -> str:
        """The severity of ``rule`` under this profile."""
        return self.severities.get(rule) or RULES[rule].severity

    def run_severities(self, partial: bool = False) -> dict[str, str]:
        """Rule id -> severity for a run, where it differs from the registry's.

        With ``partial`` (the input is a piece of a delivery), :data:`PARTIAL_RULES` are
        warnings, unless the profile sets their severity itself."""
        out = {r: s for r, s in self.severities.items() if s != RULES[r].severity}
        if partial:
            for r in PARTIAL_RULES:
                if r not in self.severities and RULES[r].severity == "error":
                    out[r] = "warning"
        return out

    def make_options(self, base: Options | None = None) -> Options:
        """``base`` (default: :class:`Options`'s defaults) with the profile's thresholds."""
        return dataclasses.replace(base or Options(), **self.options)

    def describe(self) -> dict[str, Any]:
        """What the reports say of it: ``{"name", "origin"}`` (and ``"extends"``)."""
        out: dict[str, Any] = {"name": self.name, "origin": self.origin}
        if self.extends:
            out["extends"] = list(self.extends)
        return out


# --- finding and loading -------------------------------------------------------------------


def find_project_file(start: str | os.PathLike | None = None) -> Path | None:
    """The project file that applies in ``start`` (default: the working directory).

    Folders are searched from ``start`` upward; in each, ``pcrs.toml`` comes first, then a
    ``pyproject.toml`` that has a ``[tool.pcrs.validate]`` table (one without it is passed
    over). The closest folder wins; None when there is none.
    """
    here = Path(start if start is not None else Path.cwd()).resolve()
    for folder in (here, *here.parents):
        own = folder / "pcrs.toml"
        if own.is_file():
            return own
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file() and _has_pcrs_table(pyproject):
            return pyproject
    return None


def load_profile(profile: str | os.PathLike) -> Profile:
    """A built-in profile by name (``"cnig"``, ``"strict"``) or a TOML file.

    A file's profile is its ``[tool.pcrs.validate]`` table, else its ``[validate]`` table,
    else its top level (``pcrs.toml`` must use ``[validate]``).

    Raises
    ------
    ProfileError
        Unknown name, unreadable file, bad TOML, unknown keys or rule ids, bad values: the
        message names the file and the line.
    """
    return _load(profile, Path.cwd(), ())


def resolve_profile(
    profile: str | os.PathLike | Profile | None, start: str | os.PathLike | None = None
) -> Profile:
    """The profile a run applies.

    Parameters
    ----------
    profile : str, path, Profile or None
        None: the built-in default (:data:`DEFAULT_PROFILE`), whatever the project files;
        ``"auto"``: the project file found from ``start`` (:func:`find_project_file`), else
        the default (what ``pcrs validate`` does without ``--profile``); a built-in name or
        a TOML file: :func:`load_profile`; a :class:`Profile`: itself.
    start : path, optional
        Where ``"auto"`` starts looking (default: the working directory).
    """
    if isinstance(profile, Profile):
        return profile
    if profile is None:
        return load_profile(DEFAULT_PROFILE)
    if isinstance(profile, str) and profile == "auto":
        found = find_project_file(start)
        return load_profile(found if found is not None else DEFAULT_PROFILE)
    return load_profile(profile)


def _builtin_text(name: str) -> str:
    return (resources.files("pcrs.vector") / "profiles" / f"{name}.toml").read_text("utf-8")


class _Source(NamedTuple):
    """One profile to read: a built-in one or a file."""

    key: str  # the built-in name or the resolved path (to catch cycles)
    label: str  # how messages name it
    origin: str  # how reports name it
    folder: Path  # what a relative ``extends`` is relative to
    default_name: str
    text: str
    data: dict[str, Any]
    table: tuple[str, ...]  # where the profile sits in ``data``


def _read(ref: str | os.PathLike, base: Path, where: str) -> _Source:
    """The profile ``ref`` names: a built-in name, or a file relative to ``base``
    (``where``: what named it, for the message)."""
    if isinstance(ref, str) and ref in BUILTIN_PROFILES:
        text = _builtin_text(ref)
        label = f"{ref} (built-in profile)"
        return _Source(ref, label, "built-in", base, ref, text, _loads(text, label), ())
    path = (base / Path(ref)).resolve()
    if not path.is_file():
        raise ProfileError(
            f"{where}: profile {str(ref)!r} is neither a built-in profile "
            f"({', '.join(BUILTIN_PROFILES)}) nor a file; give a name or a .toml path"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{path}: cannot read this profile ({exc})") from exc
    data = _loads(text, str(path))
    table = _table_of(data, path, text)
    origin = str(path) + (f" [{'.'.join(table)}]" if table else "")
    name = "project" if path.name in PROJECT_FILES else path.stem
    return _Source(str(path), str(path), origin, path.parent, name, text, data, table)


def _load(ref: str | os.PathLike, base: Path, chain: tuple[str, ...]) -> Profile:
    """Load ``ref`` (a built-in name, or a file relative to ``base``) with its ``extends``
    chain."""
    layers, names, origin = _layers(ref, base, chain, "--profile")
    return _resolve(layers[::-1], names[0], origin, tuple(names[1:]))


def _layers(
    ref: str | os.PathLike, base: Path, chain: tuple[str, ...], where: str
) -> tuple[list[_Layer], list[str], str]:
    """The layers of ``ref`` and of the profiles it extends, nearest first, their names,
    and the origin of ``ref`` (``chain``: the files and names already on the way;
    ``where``: what named ``ref``, for the message)."""
    layers: list[_Layer] = []
    names: list[str] = []
    origin = ""
    while True:
        src = _read(ref, base, where)
        if src.key in chain:
            cycle = " -> ".join((*chain, src.key))
            raise ProfileError(f"{src.label}: 'extends' makes a cycle ({cycle})")
        if len(chain) >= _MAX_DEPTH:
            raise ProfileError(f"{src.label}: more than {_MAX_DEPTH} profiles extend each other")
        chain = (*chain, src.key)
        layer = _parse_table(_dig(src.data, src.table), src.table, src.text, src.label)
        layers.append(layer)
        names.append(layer.name or src.default_name)
        origin = origin or src.origin
        if layer.extends is None:
            return layers, names, origin
        where = f"{src.label}:{_line(src.text, src.table, 'extends')}"
        ref, base = layer.extends, src.folder


def _loads(text: str, label: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = re.search(r"\(at line (\d+), column \d+\)", msg)
        line = m.group(1) if m else "1"
        msg = msg[: m.start()].strip() if m else msg
        raise ProfileError(f"{label}:{line}: not valid TOML: {msg}") from exc


def _has_pcrs_table(path: Path) -> bool:
    """Whether a ``pyproject.toml`` has a ``[tool.pcrs.validate]`` table."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    if "pcrs" not in text:
        return False
    data = _loads(text, str(path))
    return isinstance(data.get("tool", {}).get("pcrs", {}).get("validate"), dict)


def _table_of(data: dict[str, Any], path: Path, text: str) -> tuple[str, ...]:
    """Where the profile sits in a file: ``tool.pcrs.validate``, ``validate``, or the top."""
    if isinstance(data.get("tool", {}).get("pcrs", {}).get("validate"), dict):
        return ("tool", "pcrs", "validate")
    if path.name == "pyproject.toml":
        raise ProfileError(f"{path}:1: no [tool.pcrs.validate] table in this pyproject.toml")
    if isinstance(data.get("validate"), dict):
        return ("validate",)
    if path.name == "pcrs.toml":
        stray = [k for k in data if k in _KEYS]
        if stray:
            raise ProfileError(
                f"{path}:{_line(text, (), stray[0])}: {stray[0]!r} must sit in the "
                "[validate] table of pcrs.toml"
            )
    return ()


def _dig(data: dict[str, Any], table: tuple[str, ...]) -> dict[str, Any]:
    for k in table:
        data = data[k]
    return data


# --- checking one table --------------------------------------------------------------------


def _parse_table(data: dict[str, Any], table: tuple[str, ...], text: str, label: str) -> _Layer:
    """Check one profile table; every problem is a :class:`ProfileError` naming its line."""

    def fail(key: str | None, message: str, value: str | None = None, sub: str = "") -> NoReturn:
        tbl = (*table, sub) if sub else table
        raise ProfileError(f"{label}:{_line(text, tbl, key, value)}: {message}")

    for key in data:
        if key not in _KEYS:
            fail(key, f"unknown key {key!r}; a profile takes {', '.join(_KEYS)}")
    for key in ("name", "description", "extends"):
        if key in data and (not isinstance(data[key], str) or not data[key].strip()):
            fail(key, f"{key!r} must be a non-empty string, got {data[key]!r}")

    def prefixes(key: str) -> tuple[str, ...] | None:
        if key not in data:
            return None
        values = data[key]
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            fail(key, f"{key!r} must be a list of rule ids or prefixes, got {values!r}")
        for v in values:
            if not _matches(v):
                fail(key, f"{key!r}: no rule is {v!r} or starts with it (the ids are "
                     "listed in docs/rules.md)", v)  # fmt: skip
        return tuple(values)

    severity = data.get("severity", {})
    if not isinstance(severity, dict):
        fail("severity", f"'severity' must be a table of rule = severity, got {severity!r}")
    for rid, sev in severity.items():
        if not _matches(rid):
            fail(rid, f"severity: no rule is {rid!r} or starts with it", sub="severity")
        if sev not in SEVERITIES:
            fail(rid, f"severity of {rid}: {sev!r} is not one of {', '.join(SEVERITIES)}",
                 sub="severity")  # fmt: skip
    options = data.get("options", {})
    if not isinstance(options, dict):
        fail("options", f"'options' must be a table, got {options!r}")
    checked: dict[str, Any] = {}
    for key, value in options.items():
        if key not in _OPTIONS:
            fail(key, f"options: unknown key {key!r}; one of {', '.join(_OPTIONS)}",
                 sub="options")  # fmt: skip
        try:
            checked[key] = _option(key, value)
        except ValueError as exc:
            fail(key, f"options.{key}: {exc}", sub="options")
    return _Layer(
        name=data.get("name"),
        description=data.get("description", ""),
        extends=data.get("extends"),
        select=prefixes("select"),
        extend_select=prefixes("extend-select") or (),
        ignore=prefixes("ignore") or (),
        severity=dict(severity),
        options=checked,
    )


def _matches(prefix: str) -> bool:
    return bool(prefix) and any(r.startswith(prefix) for r in RULES)


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise ValueError(f"{what}, got {value!r}")
    return float(value)


def _date(value: Any) -> _dt.date:
    if isinstance(value, _dt.datetime):
        raise ValueError(f"a date (YYYY-MM-DD), got the date and time {value.isoformat()}")
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, str):
        try:
            return _dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"a date (YYYY-MM-DD), got {value!r}")


def _option(key: str, value: Any) -> Any:
    """The value of option ``key`` checked (ValueError saying what is expected)."""
    if key == "precision_threshold_cm":
        if value is False:
            return None
        cm = _number(value, "a number of centimetres (0 or false: off)")
        if cm < 0:
            raise ValueError(f"a number of centimetres >= 0, got {value!r}")
        return cm or None
    if key == "emprise_tolerance":
        m = _number(value, "a number of metres")
        if m < 0:
            raise ValueError(f"a number of metres >= 0, got {value!r}")
        return m
    if key == "z_range":
        if not isinstance(value, list) or len(value) != 2:
            raise ValueError(f"[lowest, highest] altitudes in metres, got {value!r}")
        lo, hi = (_number(v, "[lowest, highest] altitudes in metres") for v in value)
        if not lo < hi:
            raise ValueError(f"the lowest altitude must be below the highest, got {value!r}")
        return (lo, hi)
    if key == "max_findings_per_rule":
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"a whole number >= 1, got {value!r}")
        return value
    return _date(value)  # min_date, today


# --- resolving -----------------------------------------------------------------------------


def _longest(rule: str, prefixes: tuple[str, ...]) -> int:
    """Length of the longest of ``prefixes`` that ``rule`` starts with (-1: none)."""
    return max((len(p) for p in prefixes if rule.startswith(p)), default=-1)


def _resolve(
    layers: list[_Layer], name: str, origin: str, extends: tuple[str, ...] = ()
) -> Profile:
    """Apply ``layers`` (the farthest ancestor first) to the registry.

    In each layer, as in ruff: ``select`` replaces what the parent reported, ``extend-select``
    adds to it, ``ignore`` takes away; when a rule matches both a selection and ``ignore``,
    the longer (more specific) entry decides, ``ignore`` on a tie. In ``severity`` the
    longest matching entry wins; a child's entries beat its parent's."""
    on = set(RULES)
    severities: dict[str, str] = {}
    options: dict[str, Any] = {}
    description = ""
    for layer in layers:
        chosen = (layer.select or ()) + layer.extend_select
        for r in RULES:
            s = _longest(r, chosen)
            i = _longest(r, layer.ignore)
            keep = s >= 0 or (layer.select is None and r in on)
            if i >= 0 and i >= s:
                keep = False
            if keep:
                on.add(r)
            else:
                on.discard(r)
            keys = tuple(layer.severity)
            k = _longest(r, keys)
            if k >= 0:
                severities[r] = layer.severity[max((p for p in keys if r.startswith(p)), key=len)]
        options.update(layer.options)
        description = layer.description or description
    return Profile(
        name=name,
        origin=origin,
        rules=frozenset(on),
        severities=severities,
        options=options,
        extends=extends,
        description=description,
    )


def _line(text: str, table: tuple[str, ...], key: str | None, value: str | None = None) -> int:
    """The line of ``key`` (then of ``value`` after it) in ``table`` of a TOML text
    (tomllib gives no positions): the table's header when the key is not found, else 1."""
    lines = text.splitlines()
    current: tuple[str, ...] = ()
    header = 0
    start = 0
    for n, raw in enumerate(lines, 1):
        s = raw.strip()
        if s.startswith("["):
            current = _dotted(s.strip("[]"))
            if current == table and not header:
                header = n
            continue
        if key is None:
            continue
        m = _KEY_RE.match(raw)
        if not m:
            continue
        full = (*current, *_dotted(m.group(1)))
        if full[-1] == key and full[:-1] == table:
            start = n
            break
        if full[-1] == key and not start:
            start = n  # (a key of that name elsewhere: better than nothing)
    if not start and key is not None:  # (in an inline table, say)
        pattern = re.compile(
            rf"""(^|[{{,\s])("{re.escape(key)}"|'{re.escape(key)}'|{re.escape(key)})\s*="""
        )
        start = next(
            (n for n, raw in enumerate(lines, 1) if n >= header and pattern.search(raw)), 0
        )
    if start and value is not None:
        quoted = (f'"{value}"', f"'{value}'")
        for n in range(start, len(lines) + 1):
            if any(q in lines[n - 1] for q in quoted):
                return n
    return start or header or 1


def _dotted(key: str) -> tuple[str, ...]:
    parts = re.findall(r""""([^"]*)"|'([^']*)'|([^.\s]+)""", key)
    return tuple(a or b or c for a, b, c in parts)
