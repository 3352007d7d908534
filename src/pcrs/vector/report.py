"""Validation reports: console summary, JSON, a self-contained HTML page, a GeoPackage layer.

The JSON contract (scripts depend on it)::

    {"files": [...],
     "findings": [{"rule", "severity", "message", "file", "line", "feature_class",
                   "gml_id", "id_objet", "x", "y", "field"}],
     "summary": {"errors", "warnings", "infos", "by_rule", "by_class", ...}}
"""

from __future__ import annotations

import html
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
        "error": "errors", "warning": "warnings", "info": "infos",
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
        "error": "erreurs", "warning": "avertissements", "info": "informations",
        "filter": "Filtrer…",
        "none": "Aucune anomalie.",
    },
}  # fmt: skip


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
    """

    files: list[dict] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    lang: str = "en"
    suppressed: dict = field(default_factory=dict)
    schema_checked: bool = False
    lidar: dict | None = None

    def extend(self, findings: list[Finding], *, lidar: dict | None = None) -> None:
        """Add findings of another check (e.g. the LiDAR cross-check) and its statistics."""
        self.findings.extend(findings)
        if lidar is not None:
            self.lidar = lidar

    @property
    def has_errors(self) -> bool:
        """Whether any finding is an error (or one was suppressed over the cap)."""
        return any(f.severity == "error" for f in self.findings) or any(
            RULES[r].severity == "error" for r in self.suppressed
        )

    @property
    def unusable_files(self) -> list[str]:
        """Files that could not be read at all (exit code 2 for the command line)."""
        return [f["path"] for f in self.files if not f.get("usable", True)]

    def counts(self) -> Counter:
        """Number of findings per severity (suppressed ones included)."""
        c = Counter(f.severity for f in self.findings)
        for r, n in self.suppressed.items():
            c[RULES[r].severity] += n
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
                r, {"severity": RULES[r].severity, "count": 0, "title": RULES[r].title_en}
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
        text = _html(self, lang or self.lang, max_rows)
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
            from ..io.vector import write_geopackage
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
            description="PCRS validation findings (pcrs validate)",
        )  # fmt: skip
        return Path(path)

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
        if self.lidar is not None:
            lines.append(_lidar_line(self.lidar, lang))
        lines.append(
            f"{s['errors']} {t['error']}, {s['warnings']} {t['warning']}, {s['infos']} {t['info']}"
        )
        for rid, rec in s["by_rule"].items():
            lines.append(f"  {rid:<15} {rec['severity']:<8} {rec['count']:>7}  {rec['title']}")
        shown = sorted(self.findings, key=lambda f: _SEV_ORDER[f.severity])[:max_lines]
        for f in shown:
            where = f"{Path(f.file).name if f.file else ''}:{f.line or ''}"
            who = " ".join(x for x in (f.feature_class, f.gml_id and f"gml:id={f.gml_id}") if x)
            lines.append(f"{f.severity.upper():<7} {f.rule} {where} {who}: {f.message(lang)}")
        if len(self.findings) > max_lines:
            lines.append(f"... {len(self.findings) - max_lines} more (see --json or --html)")
        lines.append(t["verdict_ko"] if self.has_errors else t["verdict_ok"])
        return "\n".join(lines)


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


# --- HTML ---------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5em;color:#222}
h1{margin-bottom:.2em} .verdict{font-size:1.2em;font-weight:600;padding:.5em .8em;border-radius:4px}
.ok{background:#e8f6ec;color:#1e7b3a}.ko{background:#fbeaea;color:#a12a1f}
.cards span{display:inline-block;margin:.3em .8em .3em 0;padding:.3em .7em;border-radius:3px;color:#fff}
table{border-collapse:collapse;width:100%;font-size:.85em}th,td{border:1px solid #ddd;padding:3px 5px;vertical-align:top}
th{background:#f3f3f3;cursor:pointer;position:sticky;top:0}tr:nth-child(even){background:#fafafa}
.sev-error{color:#c0392b;font-weight:600}.sev-warning{color:#d35400}.sev-info{color:#2980b9}
.charts{display:flex;flex-wrap:wrap;gap:2em}svg text{font-size:11px}
input{margin:.5em 0;padding:.3em;width:20em}
"""

_JS = """
function sortTable(n){var t=document.getElementById('findings'),b=t.tBodies[0],
r=Array.from(b.rows),d=t.getAttribute('data-dir')==='a'?-1:1;
r.sort(function(x,y){var a=x.cells[n].getAttribute('data-v')||x.cells[n].textContent,
c=y.cells[n].getAttribute('data-v')||y.cells[n].textContent,na=parseFloat(a),nc=parseFloat(c);
if(!isNaN(na)&&!isNaN(nc))return d*(na-nc);return d*a.localeCompare(c);});
r.forEach(function(e){b.appendChild(e)});t.setAttribute('data-dir',d===1?'a':'d');}
function filterTable(q){q=q.toLowerCase();Array.from(document.getElementById('findings').tBodies[0].rows)
.forEach(function(r){r.style.display=r.textContent.toLowerCase().indexOf(q)>=0?'':'none'});}
"""


def _bar_chart(rows: list[tuple[str, dict]], width: int = 460) -> str:
    if not rows:
        return ""
    top = max(sum(v.values()) for _, v in rows) or 1
    h = 18
    label_w = 170
    out = [f'<svg width="{width}" height="{h * len(rows) + 10}" role="img">']
    for i, (label, counts) in enumerate(rows):
        y = i * h + 5
        out.append(
            f'<text x="{label_w - 4}" y="{y + 12}" text-anchor="end">{html.escape(label)}</text>'
        )
        x = label_w
        for sev in SEVERITIES:
            n = counts.get(sev, 0)
            if not n:
                continue
            w = max(1.0, (width - label_w - 50) * n / top)
            out.append(
                f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{h - 4}" '
                f'fill="{_COLORS[sev]}"><title>{sev}: {n}</title></rect>'
            )
            x += w
        out.append(f'<text x="{x + 4:.1f}" y="{y + 12}">{sum(counts.values())}</text>')
    out.append("</svg>")
    return "".join(out)


def _map(findings: list[Finding], size: int = 520, max_points: int = 20000) -> str:
    pts = [f for f in findings if f.x is not None and f.y is not None][:max_points]
    if not pts:
        return ""
    xy = [(float(f.x or 0.0), float(f.y or 0.0)) for f in pts]
    xs = [x for x, _ in xy]
    ys = [y for _, y in xy]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    span = max(x1 - x0, y1 - y0, 1e-9)
    pad = 12
    scale = (size - 2 * pad) / span
    out = [
        f'<svg width="{size}" height="{size}" style="border:1px solid #ccc;background:#fcfcfc" '
        'role="img">'
    ]
    for f, (fx, fy) in sorted(zip(pts, xy, strict=True), key=lambda e: -_SEV_ORDER[e[0].severity]):
        cx = pad + (fx - x0) * scale
        cy = size - pad - (fy - y0) * scale
        tip = html.escape(f"{f.rule} {f.feature_class or ''} {f.gml_id or ''} ({fx:.2f}, {fy:.2f})")
        out.append(
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="4" fill="{_COLORS[f.severity]}" '
            f'fill-opacity="0.75"><title>{tip}</title></circle>'
        )
    out.append(
        f'<text x="{pad}" y="{size - 2}">x {x0:.1f} … {x1:.1f}, y {y0:.1f} … {y1:.1f}</text></svg>'
    )
    return "".join(out)


def _html(report: Report, lang: str, max_rows: int) -> str:
    t = _TEXT[lang]
    s = report.summary(lang)
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{lang}"><head><meta charset="utf-8">',
        f"<title>{e(t['title'])}</title><style>{_CSS}</style></head><body>",
        f"<h1>{e(t['title'])}</h1>",
        f'<p class="verdict {"ko" if report.has_errors else "ok"}">'
        f"{e(t['verdict_ko'] if report.has_errors else t['verdict_ok'])}</p>",
        '<p class="cards">'
        + "".join(
            f'<span style="background:{_COLORS[sev]}">{s[key]} {e(t[sev])}</span>'
            for sev, key in (("error", "errors"), ("warning", "warnings"), ("info", "infos"))
        )
        + "</p>",
        f"<p>{e(t['schema_on'] if report.schema_checked else t['schema_off'])}</p>",
        f"<p>{e(_lidar_line(report.lidar, lang))}</p>" if report.lidar is not None else "",
        f"<h2>{e(t['files'])}</h2><ul>",
    ]
    for fi in report.files:
        n = sum(fi.get("features", {}).values())
        parts.append(f"<li>{e(str(fi['path']))}: {n} {e(t['features'])}</li>")
    parts.append("</ul>")
    rule_rows = [(rid, {rec["severity"]: rec["count"]}) for rid, rec in s["by_rule"].items()]
    class_rows = [(cls, rec) for cls, rec in s["by_class"].items()]
    parts.append('<div class="charts">')
    if rule_rows:
        parts.append(f"<div><h2>{e(t['by_rule'])}</h2>{_bar_chart(rule_rows)}</div>")
    if class_rows:
        parts.append(f"<div><h2>{e(t['by_class'])}</h2>{_bar_chart(class_rows)}</div>")
    svg_map = _map(report.findings)
    if svg_map:
        parts.append(f"<div><h2>{e(t['map'])}</h2>{svg_map}</div>")
    parts.append("</div>")
    parts.append(f"<h2>{e(t['findings'])}</h2>")
    if not report.findings:
        parts.append(f"<p>{e(t['none'])}</p>")
    else:
        parts.append(f'<input placeholder="{e(t["filter"])}" oninput="filterTable(this.value)">')
        if len(report.findings) > max_rows:
            parts.append(f"<p>{e(t['shown'].format(n=max_rows))}</p>")
        head = "".join(f'<th onclick="sortTable({i})">{e(c)}</th>' for i, c in enumerate(t["cols"]))
        parts.append(f'<table id="findings"><thead><tr>{head}</tr></thead><tbody>')
        for f in sorted(report.findings, key=lambda f: _SEV_ORDER[f.severity])[:max_rows]:
            cells = [
                f'<td class="sev-{f.severity}" data-v="{_SEV_ORDER[f.severity]}">{f.severity}</td>',
                f"<td>{e(f.rule)}</td>",
                f"<td>{e(f.message(lang))}</td>",
                f"<td>{e(Path(f.file).name if f.file else '')}</td>",
                f"<td>{f.line if f.line is not None else ''}</td>",
                f"<td>{e(f.feature_class or '')}</td>",
                f"<td>{e(f.gml_id or '')}</td>",
                f"<td>{e(f.id_objet or '')}</td>",
                f"<td>{'' if f.x is None else f'{f.x:.2f}'}</td>",
                f"<td>{'' if f.y is None else f'{f.y:.2f}'}</td>",
            ]
            parts.append("<tr>" + "".join(cells) + "</tr>")
        parts.append("</tbody></table>")
    parts.append(f"<script>{_JS}</script></body></html>")
    return "\n".join(parts)
