"""The specification a LiDAR delivery is checked against: :class:`LidarSpec`, from TOML.

A specification is a TOML file with the tables ``[format]``, ``[crs]``, ``[tiles]``,
``[density]``, ``[coverage]``, ``[classes]`` and ``[attributes]`` (every key optional: a
missing key keeps the value of the built-in ``lidarhd``, or of the file named by
``extends``). Unknown keys and bad values raise :class:`~pcrs.errors.ParameterError`
naming the file and the line.

Examples
--------
>>> spec = load_spec("lidarhd")
>>> spec.tile_size, spec.horizontal_epsg, spec.nominal_pulses
(1000.0, 2154, 10.0)
>>> LidarSpec.from_text('[tiles]\\nsize = 500.0').tile_size
500.0
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

from ..errors import ParameterError

__all__ = ["BUILTIN_SPECS", "LidarSpec", "load_spec"]

#: the specifications shipped with pcrs (``pcrs/lidarcheck/specs/<name>.toml``)
BUILTIN_SPECS = ("lidarhd",)

_GPS = ("adjusted", "week", "any")
_CORNERS = ("upper-left", "lower-left")


@dataclass(frozen=True)
class LidarSpec:
    """What a delivery must satisfy. Field names are ``<table>_<key>`` of the TOML file,
    shortened where the table says it (see ``docs/lidar-conformity.md``).

    Attributes
    ----------
    name, description : str
    las_versions : tuple of str
        Allowed LAS versions (``"1.4"``).
    point_formats : tuple of int
    gps_time : str
        ``"adjusted"`` (global encoding bit 0 set), ``"week"`` or ``"any"``.
    horizontal_epsg, vertical_epsg : int or None
        None: not checked.
    tile_size : float
        Tile side, metres.
    name_pattern : str or None
        Regular expression the file name must match in full; groups ``x`` and ``y``
        give the tile's corner in ``name_unit`` metres.
    name_unit : float
    name_corner : str
        Which corner the name gives: ``"upper-left"`` (x_min, y_max, IGN) or ``"lower-left"``.
    tolerance : float
        Metres a point may lie outside its tile.
    nominal_pulses, nominal_points : float
        Mean densities a tile must reach (0: not checked).
    cells : tuple of float
        Cell sizes (metres) density is judged on; each divides ``tile_size``.
    cell_min_pulses, cell_min_points : tuple of float
        Per cell size, the density a cell must hold (0: not checked).
    max_share_below : tuple of float
        Per cell size, the share of occupied cells allowed below the minimum.
    hole_min_area : float
        m²; an empty area larger than this is a hole.
    water_share : float
        A hole whose surrounding points are at least this share of class 9 is exempt
        (above 1: no exemption).
    coverage_cell : float
        Cell of the coverage raster, metres (coarsened for large deliveries).
    classes : tuple of int
        Allowed classification codes.
    max_unclassified_share : float
    withheld, synthetic : bool
        Whether points may carry these flags.
    max_scan_angle : float
        Degrees.
    origin : str
        ``"built-in"`` or the file it was read from.
    """

    name: str = "lidarhd"
    description: str = ""
    las_versions: tuple[str, ...] = ("1.4",)
    point_formats: tuple[int, ...] = (6, 7, 8)
    gps_time: str = "adjusted"
    horizontal_epsg: int | None = 2154
    vertical_epsg: int | None = 5720
    tile_size: float = 1000.0
    name_pattern: str | None = None
    name_unit: float = 1000.0
    name_corner: str = "upper-left"
    tolerance: float = 1.0
    nominal_pulses: float = 10.0
    nominal_points: float = 0.0
    cells: tuple[float, ...] = (1.0, 5.0)
    cell_min_pulses: tuple[float, ...] = (2.0, 5.0)
    cell_min_points: tuple[float, ...] = (0.0, 0.0)
    max_share_below: tuple[float, ...] = (0.10, 0.05)
    hole_min_area: float = 100.0
    water_share: float = 0.5
    coverage_cell: float = 1.0
    classes: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 9, 17, 64, 65, 66, 67)
    max_unclassified_share: float = 0.10
    withheld: bool = False
    synthetic: bool = False
    max_scan_angle: float = 40.0
    origin: str = "built-in"

    @classmethod
    def from_text(
        cls, text: str, *, origin: str = "inline", base: LidarSpec | None = None
    ) -> LidarSpec:
        """A specification from TOML text; keys it leaves out keep ``base``'s (default:
        the built-in ``lidarhd``)."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ParameterError(f"{origin}: not valid TOML ({exc})") from exc
        if base is None:
            if "extends" in data:
                ref = data["extends"]
                if not isinstance(ref, str):
                    _fail(
                        origin,
                        text,
                        None,
                        "extends",
                        f"'extends' must be a name or a path, got {ref!r}",
                    )
                base = load_spec(ref if ref in BUILTIN_SPECS else Path(origin).parent / ref)
            else:
                base = load_spec("lidarhd") if origin != "built-in" else LidarSpec()
        return _parse(data, text, origin, base)

    @property
    def name_regex(self) -> re.Pattern[str] | None:
        """The compiled :attr:`name_pattern`."""
        return re.compile(self.name_pattern) if self.name_pattern else None

    def describe(self) -> dict[str, Any]:
        """What the reports say of it: ``{"name", "origin"}``."""
        return {"name": self.name, "origin": self.origin}


def load_spec(spec: str | os.PathLike | LidarSpec) -> LidarSpec:
    """A built-in specification by name (``"lidarhd"``) or a TOML file.

    Raises
    ------
    ParameterError
        Unknown name, unreadable file, bad TOML, unknown keys or bad values (the message
        names the file and the line).
    """
    if isinstance(spec, LidarSpec):
        return spec
    if isinstance(spec, str) and spec in BUILTIN_SPECS:
        text = (resources.files("pcrs.lidarcheck") / "specs" / f"{spec}.toml").read_text("utf-8")
        return LidarSpec.from_text(text, origin="built-in", base=LidarSpec())
    path = Path(spec)
    if not path.suffix == ".toml" and not path.exists():
        raise ParameterError(
            f"unknown specification {str(spec)!r}: one of {', '.join(BUILTIN_SPECS)}, or a "
            ".toml file"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ParameterError(f"{path}: the specification cannot be read ({exc.strerror})") from exc
    return LidarSpec.from_text(text, origin=str(path))


# --- parsing ---------------------------------------------------------------------------

#: TOML table -> key -> (field of LidarSpec, kind)
_SCHEMA: dict[str, dict[str, tuple[str, str]]] = {
    "": {"name": ("name", "str"), "description": ("description", "str"),
         "extends": ("", "skip")},
    "format": {"las_versions": ("las_versions", "versions"),
               "point_formats": ("point_formats", "formats"),
               "gps_time": ("gps_time", "gps")},
    "crs": {"horizontal": ("horizontal_epsg", "epsg"), "vertical": ("vertical_epsg", "epsg")},
    "tiles": {"size": ("tile_size", "positive"), "name_pattern": ("name_pattern", "regex"),
              "name_unit": ("name_unit", "positive"), "name_corner": ("name_corner", "corner"),
              "tolerance": ("tolerance", "nonneg")},
    "density": {"nominal_pulses": ("nominal_pulses", "nonneg"),
                "nominal_points": ("nominal_points", "nonneg"),
                "cells": ("cells", "cells"), "cell_min_pulses": ("cell_min_pulses", "numbers"),
                "cell_min_points": ("cell_min_points", "numbers"),
                "max_share_below": ("max_share_below", "shares")},
    "coverage": {"hole_min_area": ("hole_min_area", "positive"),
                 "water_share": ("water_share", "nonneg"), "cell": ("coverage_cell", "positive")},
    "classes": {"allowed": ("classes", "classes"),
                "max_unclassified_share": ("max_unclassified_share", "share"),
                "withheld": ("withheld", "bool"), "synthetic": ("synthetic", "bool")},
    "attributes": {"max_scan_angle": ("max_scan_angle", "positive")},
}  # fmt: skip


def _line(text: str, table: str, key: str | None) -> int:
    """The line of ``key`` in ``[table]`` (or of the table's header), 1-based; 1 if unseen."""
    current = ""
    header_line = 1
    for i, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        m = re.match(r"^\[\s*([^\]]+?)\s*\]", line)
        if m:
            current = m.group(1).strip().strip('"')
            if current == table:
                header_line = i
            continue
        if current == table and key is not None:
            k = line.split("=", 1)[0].strip().strip('"').strip("'")
            if "=" in line and k == key:
                return i
    return header_line


def _fail(origin: str, text: str, table: str | None, key: str | None, message: str) -> None:
    line = _line(text, table or "", key)
    raise ParameterError(f"{origin}:{line}: {message}")


def _number(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        return None
    return float(v)


def _value(kind: str, v: Any) -> tuple[Any, str | None]:
    """``(checked value, None)`` or ``(None, what was expected)``."""
    if kind == "str":
        return (v, None) if isinstance(v, str) and v.strip() else (None, "a non-empty string")
    if kind == "bool":
        return (v, None) if isinstance(v, bool) else (None, "true or false")
    if kind in ("positive", "nonneg", "share"):
        x = _number(v)
        ok = x is not None and (x > 0 if kind == "positive" else x >= 0)
        if kind == "share":
            ok = ok and x is not None and x <= 1
        what = {"positive": "a number > 0", "nonneg": "a number >= 0",
                "share": "a share between 0 and 1"}[kind]  # fmt: skip
        return (x, None) if ok else (None, what)
    if kind == "gps":
        return (v, None) if v in _GPS else (None, f"one of {', '.join(map(repr, _GPS))}")
    if kind == "corner":
        return (v, None) if v in _CORNERS else (None, f"one of {', '.join(map(repr, _CORNERS))}")
    if kind == "epsg":
        if v is False:
            return None, None
        ok = isinstance(v, int) and not isinstance(v, bool) and v > 0
        return (int(v), None) if ok else (None, "an EPSG code (integer), or false")
    if kind == "regex":
        if v is False:
            return None, None
        if not isinstance(v, str):
            return None, "a regular expression, or false"
        try:
            rx = re.compile(v)
        except re.error as exc:
            return None, f"a valid regular expression ({exc})"
        if not {"x", "y"} <= set(rx.groupindex):
            return None, "a regular expression with the named groups (?P<x>...) and (?P<y>...)"
        return v, None
    if not isinstance(v, list) or not v:
        return None, "a non-empty list"
    if kind == "versions":
        ok = all(isinstance(s, str) and re.fullmatch(r"1\.[0-4]", s) for s in v)
        return (tuple(v), None) if ok else (None, 'a list of versions such as ["1.4"]')
    if kind in ("formats", "classes"):
        hi = 10 if kind == "formats" else 255
        ok = all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i <= hi for i in v)
        return (tuple(v), None) if ok else (None, f"a list of whole numbers 0-{hi}")
    nums = [_number(x) for x in v]
    if any(x is None or x < 0 for x in nums):
        return None, "a list of numbers >= 0"
    if kind == "cells" and any(x == 0 for x in nums):
        return None, "a list of cell sizes > 0 (metres)"
    if kind == "shares" and any(x is not None and x > 1 for x in nums):
        return None, "a list of shares between 0 and 1"
    return tuple(nums), None


def _parse(data: dict, text: str, origin: str, base: LidarSpec) -> LidarSpec:
    changes: dict[str, Any] = {}
    for key, value in data.items():
        items: Any
        if isinstance(value, dict):
            table = key
            if table not in _SCHEMA or table == "":
                _fail(origin, text, table, None,
                      f"unknown table [{table}]; one of "
                      f"{', '.join(f'[{t}]' for t in _SCHEMA if t)}")  # fmt: skip
            items = value.items()
        else:
            table, items = "", [(key, value)]
        for k, v in items:
            if k not in _SCHEMA[table]:
                where = f"[{table}]" if table else "the top level"
                _fail(origin, text, table, k,
                      f"unknown key {k!r} in {where}; one of {', '.join(_SCHEMA[table])}")  # fmt: skip
            fname, kind = _SCHEMA[table][k]
            if kind == "skip":
                continue
            checked, expected = _value(kind, v)
            if expected is not None:
                dotted = f"{table}.{k}" if table else k
                _fail(origin, text, table, k, f"{dotted}: expected {expected}, got {v!r}")
            changes[fname] = checked
    if "name" not in changes and origin not in ("built-in", "inline"):
        changes["name"] = Path(origin).stem
    spec = dataclasses.replace(base, **changes, origin=origin)
    n = len(spec.cells)
    for fname in ("cell_min_pulses", "cell_min_points", "max_share_below"):
        if len(getattr(spec, fname)) != n:
            _fail(origin, text, "density", fname if fname in changes else "cells",
                  f"density.{fname} needs one value per cell size ({n}: {list(spec.cells)})")  # fmt: skip
    base_cell = min(spec.cells)
    for c in (*spec.cells, spec.tile_size):
        if abs(c / base_cell - round(c / base_cell)) > 1e-9:
            _fail(origin, text, "density", "cells",
                  f"every cell size and the tile size must be multiples of the smallest cell "
                  f"({base_cell} m); {c} m is not")  # fmt: skip
    return spec
