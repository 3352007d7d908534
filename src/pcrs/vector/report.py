"""Validation reports: console summary, JSON, a self-contained HTML page, a GeoPackage layer.

The JSON contract (scripts depend on it)::

    {"files": [...],
     "findings": [{"rule", "severity", "message", "file", "line", "feature_class",
                   "gml_id", "id_objet", "x", "y", "field"}],
     "summary": {"errors", "warnings", "infos", "by_rule", "by_class",
                 "profile": {"name", "origin"}, "partial", ...}}
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import MissingExtraError
from .rules import RULES, SEVERITIES, Finding

__all__ = ["Report"]

_SEV_ORDER = {s: i for i, s in enumerate(SEVERITIES)}
#: the summary's key of each severity's count, in the order of SEVERITIES
_SEV_KEYS = ("errors", "warnings", "infos")
_COLORS = {"error": "#c0392b", "warning": "#e67e22", "info": "#2980b9"}
_TEXT: dict[str, dict[str, Any]] = {
    "en": {
        "title": "PCRS v2.0 validation report",
        "verdict_ok": "No error: the delivery can be accepted",
        "verdict_ko": "Errors found: the delivery must be corrected",
        "files": "Files",
        "features": "features",
        "findings": "Findings",
        "by_rule": "Findings per rule",
        "by_class": "Findings per feature class",
        "map": "Map of located findings",
        "schema_on": "schema validation: done",
        "schema_off": "schema validation: skipped (schemas not installed)",
        "cols": ["severity", "rule", "message", "file", "line", "class", "gml:id", "idObjet",
                 "x", "y"],
        "shown": "first {n} findings shown; the JSON report has them all",
        "sev": {"error": "error", "warning": "warning", "info": "info"},
        "sev_n": {"error": ("error", "errors"), "warning": ("warning", "warnings"),
                  "info": ("info", "infos")},
        "file_level": "(file)",
        "more": "... {n} more (see --json or --html)",
        "filter": "Filter…",
        "none": "No finding.",
    },
    "fr": {
        "title": "Rapport de contrôle PCRS v2.0",
        "verdict_ok": "Aucune erreur : la livraison peut être acceptée",
        "verdict_ko": "Erreurs trouvées : la livraison doit être corrigée",
        "files": "Fichiers",
        "features": "objets",
        "findings": "Anomalies",
        "by_rule": "Anomalies par règle",
        "by_class": "Anomalies par classe d'objets",
        "map": "Carte des anomalies localisées",
        "schema_on": "validation par le schéma : faite",
        "schema_off": "validation par le schéma : non faite (schémas non installés)",
        "cols": ["gravité", "règle", "message", "fichier", "ligne", "classe", "gml:id",
                 "idObjet", "x", "y"],
        "shown": "les {n} premières anomalies sont affichées ; le rapport JSON les a toutes",
        "sev": {"error": "erreur", "warning": "avertissement", "info": "information"},
        "sev_n": {"error": ("erreur", "erreurs"), "warning": ("avertissement", "avertissements"),
                  "info": ("information", "informations")},
        "file_level": "(fichier)",
        "more": "... {n} de plus (voir --json ou --html)",
        "filter": "Filtrer…",
        "none": "Aucune anomalie.",
    },
}  # fmt: skip


def _count(n: int, severity: str, lang: str) -> str:
    """``n`` findings of ``severity`` in words, with the plural of ``lang``: English takes
    the singular for 1 only ("0 errors", "1 error"), French for 0 and 1 ("0 erreur")."""
    one, many = _TEXT[lang]["sev_n"][severity]
    singular = n <= 1 if lang == "fr" else n == 1
    return f"{n} {one if singular else many}"


@dataclass
class Report:
    """The result of :func:`pcrs.vector.validate`.

    Attributes
    ----------
    files : list of dict
        Per file: ``path``, ``features`` (count per class), ``bytes``, ``seconds``,
        ``schema`` (``"checked"``, ``"skipped"``), ``usable``.
    findings : list of Finding
        Sorted by file, line, severity.
    lang : str
        Default language of messages (``"en"`` or ``"fr"``).
    suppressed : dict
        Findings counted but not listed (over the per-rule cap), by rule.
    lidar : dict or None
        Statistics of the LiDAR cross-check (:mod:`pcrs.vector.lidar_check`), when it ran.
    profile : dict or None
        The acceptance profile the run applied: ``{"name": ..., "origin": ...}`` (origin:
        ``"built-in"`` or the path of the file it came from, see
        :mod:`pcrs.vector.profiles`); None for a report made by hand.
    partial : bool
        Whether the files were validated as a piece of a delivery (``partial=True``).
    severities : dict
        Rule id -> severity in this run, where the profile (or ``partial``) changed the
        registry's: counts, :attr:`has_errors` and the reports follow it.
    rules_off : frozenset
        The rule ids the profile turned off: :meth:`extend` drops their findings.
    """

    files: list[dict] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    lang: str = "en"
    suppressed: dict = field(default_factory=dict)
    schema_checked: bool = False
    lidar: dict | None = None
    profile: dict | None = None
    partial: bool = False
    severities: dict = field(default_factory=dict)
    rules_off: frozenset = frozenset()

    def severity(self, rule: str) -> str:
        """The severity of ``rule`` in this report (the profile's, else the registry's)."""
        return self.severities.get(rule) or RULES[rule].severity

    def extend(self, findings: list[Finding], *, lidar: dict | None = None) -> None:
        """Add findings of another check (e.g. the LiDAR cross-check) and its statistics,
        under this report's profile (rules turned off dropped, severities changed)."""
        for f in findings:
            if f.rule in self.rules_off:
                continue
            if f.rule in self.severities:
                f.sev = self.severities[f.rule]
            self.findings.append(f)
        if lidar is not None:
            self.lidar = lidar

    @property
    def has_errors(self) -> bool:
        """Whether any finding is an error (or one was suppressed over the cap)."""
        return any(f.severity == "error" for f in self.findings) or any(
            self.severity(r) == "error" for r in self.suppressed
        )

    @property
    def unusable_files(self) -> list[str]:
        """Files that could not be read at all (exit code 2 for the command line)."""
        return [f["path"] for f in self.files if not f.get("usable", True)]

    def counts(self) -> Counter:
        """Number of findings per severity (suppressed ones included)."""
        c = Counter(f.severity for f in self.findings)
        for r, n in self.suppressed.items():
            c[self.severity(r)] += n
        return c

    def summary(self, lang: str | None = None) -> dict[str, Any]:
        """Counts per severity, per rule and per feature class."""
        lang = lang or self.lang
        c = self.counts()
        by_rule: dict[str, dict] = {}
        for f in self.findings:
            rec = by_rule.setdefault(
                f.rule,
                {
                    "severity": f.severity,
                    "count": 0,
                    "title": RULES[f.rule].title_fr if lang == "fr" else RULES[f.rule].title_en,
                },
            )
            rec["count"] += 1
        for r, n in self.suppressed.items():
            rec = by_rule.setdefault(
                r,
                {
                    "severity": self.severity(r),
                    "count": 0,
                    "title": RULES[r].title_fr if lang == "fr" else RULES[r].title_en,
                },
            )
            rec["count"] += n
        by_class: dict[str, dict] = {}
        for f in self.findings:
            key = f.feature_class or "(file)"
            rec = by_class.setdefault(key, {s: 0 for s in SEVERITIES})
            rec[f.severity] += 1
        features: Counter[str] = Counter()
        for fi in self.files:
            features.update(fi.get("features", {}))
        return {
            "errors": c.get("error", 0),
            "warnings": c.get("warning", 0),
            "infos": c.get("info", 0),
            "valid": not self.has_errors,
            "files": len(self.files),
            "features": sum(features.values()),
            "schema": "checked" if self.schema_checked else "skipped",
            "by_rule": dict(sorted(by_rule.items())),
            "by_class": dict(sorted(by_class.items())),
            "suppressed": dict(self.suppressed),
            "profile": self.profile,
            "partial": self.partial,
            **({"lidar": self.lidar} if self.lidar is not None else {}),
        }

    def to_dict(self, lang: str | None = None) -> dict[str, Any]:
        lang = lang or self.lang
        return {
            "files": self.files,
            "findings": [f.to_dict(lang) for f in self.findings],
            "summary": self.summary(lang),
        }

    # --- writers --------------------------------------------------------------------

    def to_json(
        self, path: str | os.PathLike | None = None, *, lang: str | None = None,
        overwrite: bool = False,
    ) -> str | Path:  # fmt: skip
        """The JSON report as a string, or written (atomically) to ``path``."""
        text = json.dumps(self.to_dict(lang), ensure_ascii=False, indent=1)
        if path is None:
            return text
        return _write_text(path, text, overwrite)

    def to_html(
        self, path: str | os.PathLike | None = None, *, lang: str | None = None,
        overwrite: bool = False, max_rows: int = 20000,
    ) -> str | Path:  # fmt: skip
        """One self-contained HTML page (no external resource), or written to ``path``."""
        from .report_html import render_html

        text = render_html(self, lang or self.lang, max_rows)
        if path is None:
            return text
        return _write_text(path, text, overwrite)

    def to_geopackage(
        self, path: str | os.PathLike, *, lang: str | None = None, overwrite: bool = False,
        crs: Any = None,
    ) -> Path:  # fmt: skip
        """Write the located findings as a point layer ``findings`` of a GeoPackage.

        Findings without coordinates are left out. ``crs`` defaults to the CRS of the
        first file that declared one.
        """
        try:
            from ..io.vector import categorized_style, write_geopackage
        except ImportError as exc:  # pragma: no cover - depends on another module
            raise MissingExtraError(
                "GeoPackage output needs pcrs.io.vector.write_geopackage, which this "
                "installation lacks; use --json or --html"
            ) from exc
        import shapely

        lang = lang or self.lang
        located = [f for f in self.findings if f.x is not None and f.y is not None]
        geoms = [shapely.Point(f.x, f.y) for f in located]
        names = ("rule", "severity", "message", "file", "line", "feature_class", "gml_id",
                 "id_objet", "field")  # fmt: skip
        rows = [f.to_dict(lang) for f in located]
        props = {n: [r[n] for r in rows] for n in names}
        if crs is None:
            for fi in self.files:
                if fi.get("crs"):
                    crs = fi["crs"]
                    break
        write_geopackage(
            path, "findings", geoms, props, crs, overwrite=overwrite,
            description=f"PCRS validation findings (pcrs validate; {_profile_line(self, lang)})",
            style=categorized_style(
                "severity", [(sev, _TEXT[lang]["sev"][sev], _COLORS[sev]) for sev in SEVERITIES],
                layer="findings", name="severity",
                description="findings coloured by severity (pcrs validate)",
            ),
        )  # fmt: skip
        return Path(path)

    def to_geodataframe(self, *, lang: str | None = None, located_only: bool = False) -> Any:
        """The findings as a ``geopandas.GeoDataFrame`` (located ones as points, the
        report's CRS); needs geopandas. See :func:`pcrs.interop.geopandas.report_to_geodataframe`.
        """
        from ..interop.geopandas import report_to_geodataframe

        return report_to_geodataframe(self, lang=lang, located_only=located_only)

    def summary_text(self, lang: str | None = None, max_lines: int = 30) -> str:
        """A console summary: verdict, counts per severity and rule, first findings."""
        lang = lang or self.lang
        t = _TEXT[lang]
        s = self.summary(lang)
        lines = []
        for fi in self.files:
            n = sum(fi.get("features", {}).values())
            lines.append(f"{fi['path']}: {n} {t['features']}")
        lines.append(t["schema_on"] if self.schema_checked else t["schema_off"])
        if self.profile is not None:
            lines.append(_profile_line(self, lang))
        if self.lidar is not None:
            lines.append(_lidar_line(self.lidar, lang))
        lines.append(
            ", ".join(_count(s[k], sev, lang) for sev, k in zip(SEVERITIES, _SEV_KEYS, strict=True))
        )
        for rid, rec in s["by_rule"].items():
            sev = t["sev"][rec["severity"]]
            lines.append(f"  {rid:<15} {sev:<13} {rec['count']:>7}  {rec['title']}")
        shown = sorted(self.findings, key=lambda f: _SEV_ORDER[f.severity])[:max_lines]
        for f in shown:
            name = Path(f.file).name if f.file else ""
            where = f"{name}:{f.line}" if f.line else name
            who = " ".join(x for x in (f.feature_class, f.gml_id and f"gml:id={f.gml_id}") if x)
            head = " ".join(x for x in (f.rule, where, who) if x)
            sev = t["sev"][f.severity].upper()
            lines.append(f"{sev:<7} {head}: {f.message(lang)}")
        if len(self.findings) > max_lines:
            lines.append(t["more"].format(n=len(self.findings) - max_lines))
        lines.append(t["verdict_ko"] if self.has_errors else t["verdict_ok"])
        return "\n".join(lines)


def _profile_line(report: Report, lang: str) -> str:
    """The profile a report was made with, and where it came from, in one line."""
    prof = report.profile or {"name": "?", "origin": "?"}
    origin = prof.get("origin", "?")
    fr = lang == "fr"
    if origin == "built-in":
        origin = "intégré" if fr else "built-in"
    text = f"{'profil :' if fr else 'profile:'} {prof.get('name', '?')} ({origin})"
    if prof.get("extends"):
        text += f", {'étend' if fr else 'extends'} {', '.join(prof['extends'])}"
    if report.partial:
        text += (
            " ; livraison partielle : liens non résolus et emprise absente en avertissements"
            if fr
            else "; partial delivery: unresolved links and a missing emprise are warnings"
        )
    return text


def _lidar_line(stats: dict, lang: str) -> str:
    """One line of LiDAR cross-check figures for the console and the HTML page."""
    z = stats.get("z", {})
    fa = stats.get("facades", {})
    files = len(stats.get("lidar_files", []))
    points = stats.get("points_read", 0)
    if lang == "fr":
        shown = f"{points:,}".replace(",", "\u202f")
        text = f"contrôle LiDAR : {files} fichier(s), {shown} points"
        if z.get("compared"):
            text += (
                f" ; Z : {z['compared']} sommets comparés, biais {z['bias']:+.2f} m, "
                f"EMQ {z['rmse']:.2f} m, p95 |écart| {z['p95_abs']:.2f} m"
            )
        if fa.get("judged"):
            text += f" ; façades : {fa['along_buildings']}/{fa['judged']} le long du bâti LiDAR"
        return text
    text = f"LiDAR cross-check: {files} file(s), {points:,} points"
    if z.get("compared"):
        text += (
            f"; Z: {z['compared']} vertices compared, bias {z['bias']:+.2f} m, "
            f"RMSE {z['rmse']:.2f} m, p95 |residual| {z['p95_abs']:.2f} m"
        )
    if fa.get("judged"):
        text += f"; façades: {fa['along_buildings']}/{fa['judged']} along LiDAR buildings"
    return text


def _write_text(path, text: str, overwrite: bool) -> Path:
    from ..io.atomic import atomic_path

    with atomic_path(path, overwrite) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    return Path(path)
