"""The one-page HTML report of ``pcrs check-lidar``: verdict, density map picture, density
histogram, per-tile table (sortable), findings. Self-contained (no external resource)."""

from __future__ import annotations

import base64
import html
import struct
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .check import LidarReport

__all__ = ["density_png", "render_html"]

#: the picture's largest side, pixels
_MAX_SIDE = 600
_COLOURS = np.array([[215, 25, 28], [253, 174, 97], [166, 217, 106], [26, 150, 65]], np.uint8)


def _png(rgba: np.ndarray) -> bytes:
    """PNG bytes of an ``(h, w, 4)`` uint8 image."""
    h, w, _ = rgba.shape
    raw = b"".join(b"\x00" + rgba[r].tobytes() for r in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))  # fmt: skip

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 6))
            + chunk(b"IEND", b""))  # fmt: skip


def density_png(pulses: np.ndarray, minimum: float, nominal: float) -> bytes:
    """The pulse density map as a PNG: red below the cell minimum, orange below the nominal,
    greens above; transparent where no tile is."""
    step = max(1, int(np.ceil(max(pulses.shape) / _MAX_SIDE)))
    img = pulses[::step, ::step]
    bins = np.digitize(np.nan_to_num(img, nan=0.0), [minimum, nominal, 1.5 * nominal])
    rgba = np.zeros((*img.shape, 4), np.uint8)
    rgba[..., :3] = _COLOURS[bins]
    rgba[..., 3] = np.where(np.isnan(img), 0, 255)
    scale = max(1, _MAX_SIDE // max(img.shape))
    rgba = rgba.repeat(scale, axis=0).repeat(scale, axis=1)
    return _png(rgba)


def _histogram_svg(values: np.ndarray, nominal: float) -> str:
    v = values[np.isfinite(values)]
    if v.size == 0:
        return ""
    top = max(float(np.percentile(v, 99.5)), nominal * 1.5, 1.0)
    counts, edges = np.histogram(np.clip(v, 0, top), bins=40, range=(0, top))
    w, h = 600, 160
    bw = w / len(counts)
    peak = max(int(counts.max()), 1)
    bars = "".join(
        f'<rect x="{i * bw:.1f}" y="{h - c / peak * h:.1f}" width="{bw - 1:.1f}" '
        f'height="{c / peak * h:.1f}" fill="{"#d7191c" if edges[i + 1] <= nominal else "#1a9641"}"/>'
        for i, c in enumerate(counts.tolist())
    )
    x_nom = nominal / top * w
    return (f'<svg width="{w}" height="{h + 20}" role="img">{bars}'
            f'<line x1="{x_nom:.1f}" x2="{x_nom:.1f}" y1="0" y2="{h}" stroke="black"/>'
            f'<text x="0" y="{h + 15}" font-size="11">0</text>'
            f'<text x="{w - 40}" y="{h + 15}" font-size="11">{top:.1f}</text>'
            f'<text x="{x_nom + 3:.1f}" y="12" font-size="11">{nominal:g}</text></svg>')  # fmt: skip


_SORT_JS = """
document.querySelectorAll('table.sortable th').forEach(function (th, col) {
  th.style.cursor = 'pointer';
  th.addEventListener('click', function () {
    var tbody = th.closest('table').tBodies[0];
    var rows = Array.from(tbody.rows);
    var asc = th.dataset.asc !== '1'; th.dataset.asc = asc ? '1' : '0';
    rows.sort(function (a, b) {
      var x = a.cells[col].dataset.v || a.cells[col].textContent;
      var y = b.cells[col].dataset.v || b.cells[col].textContent;
      var nx = parseFloat(x), ny = parseFloat(y);
      var r = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
      return asc ? r : -r;
    });
    rows.forEach(function (r) { tbody.appendChild(r); });
  });
});
"""


def render_html(report: LidarReport, lang: str = "en", max_rows: int = 5000) -> str:
    """The page as a string."""
    e = html.escape
    fr = lang == "fr"
    lid = report.lidar or {}
    spec = lid.get("spec", {})
    verdict = (("Non conforme" if fr else "Nonconforming") if report.has_errors
               else ("Conforme" if fr else "Conforms"))  # fmt: skip
    s = report.summary(lang)
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>pcrs check-lidar: {e(verdict)}</title>",
        "<style>body{font-family:sans-serif;margin:1em 2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}"
        ".error{color:#b00}.warning{color:#a60}</style></head><body>",
        f"<h1>{e(verdict)}</h1>",
        f"<p>{'Cahier des charges' if fr else 'Specification'}: {e(str(spec.get('name')))} "
        f"({e(str(spec.get('origin')))}); {s['errors']} error(s), {s['warnings']} warning(s); "
        f"{lid.get('points_read', 0):,} points, {len(report.files)} file(s)</p>",
    ]
    for note in lid.get("notes", []):
        parts.append(f"<p>note: {e(note)}</p>")
    m = report.density
    if m is not None:
        nominal = float(lid.get("nominal_pulses") or 10.0)
        minimum = float(lid.get("cell_min_pulses") or nominal / 2)
        png = base64.b64encode(density_png(m.map_pulses, minimum, nominal)).decode("ascii")
        title = "Densité d'impulsions" if fr else "Pulse density"
        parts.append(f"<h2>{title} ({m.map_cell:g} m)</h2>")
        parts.append(f"<img alt='density map' src='data:image/png;base64,{png}'>")
        parts.append(f"<p>red &lt; {minimum:g}, orange &lt; {nominal:g}, green &ge; {nominal:g} "
                     "pulses/m²</p>")  # fmt: skip
        parts.append(_histogram_svg(m.map_pulses.ravel(), nominal))
    cols = ("path", "points", "mean_pulses_m2", "mean_points_m2", "min_pulses_m2", "duplicates",
            "outside")  # fmt: skip
    errs: dict[str, int] = {}
    for f in report.findings:
        if f.severity == "error" and f.file:
            errs[f.file] = errs.get(f.file, 0) + 1
    parts.append(f"<h2>{'Dalles' if fr else 'Tiles'}</h2><table class='sortable'><thead><tr>")
    parts.append("".join(f"<th>{c}</th>" for c in (*cols, "errors")) + "</tr></thead><tbody>")
    for fi in report.files:
        cells = []
        for c in cols:
            v = fi.get(c)
            text = Path(str(v)).name if c == "path" else ("" if v is None else str(v))
            cells.append(f"<td>{e(text)}</td>")
        cells.append(f"<td>{errs.get(fi['path'], 0)}</td>")
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</tbody></table>")
    parts.append(f"<h2>{'Constats' if fr else 'Findings'}</h2><table class='sortable'><thead>"
                 "<tr><th>rule</th><th>severity</th><th>file</th><th>x</th><th>y</th>"
                 "<th>message</th></tr></thead><tbody>")  # fmt: skip
    for f in report.findings[:max_rows]:
        x = "" if f.x is None else f"{f.x:.1f}"
        y = "" if f.y is None else f"{f.y:.1f}"
        parts.append(f"<tr class='{f.severity}'><td>{e(f.rule)}</td><td>{f.severity}</td>"
                     f"<td>{e(Path(f.file).name if f.file else '')}</td><td>{x}</td><td>{y}</td>"
                     f"<td>{e(f.message(lang))}</td></tr>")  # fmt: skip
    parts.append("</tbody></table>")
    if len(report.findings) > max_rows:
        parts.append(f"<p>... {len(report.findings) - max_rows} more (see the JSON)</p>")
    parts.append(f"<script>{_SORT_JS}</script></body></html>")
    return "\n".join(parts)
