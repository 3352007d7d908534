"""The HTML page of a validation report: one self-contained file (no network), with the
verdict, counts, charts, a map and the table of findings."""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

from .report import _COLORS, _SEV_ORDER, _TEXT, _count, _lidar_line
from .rules import SEVERITIES, Finding

if TYPE_CHECKING:
    from .report import Report

__all__ = ["render_html"]

# ---------------------------------------------------------------------------------

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


def render_html(report: Report, lang: str, max_rows: int) -> str:
    """The self-contained HTML page of ``report`` in ``lang``, with at most ``max_rows``
    findings in its table."""
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
            f'<span style="background:{_COLORS[sev]}">{e(_count(s[key], sev, lang))}</span>'
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
