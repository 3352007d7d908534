"""The HTML page of a validation report: one self-contained file (no network), with the
verdict, counts, charts, a map of the delivery and the table of findings.

The map is SVG. The report keeps no geometry, so the page reads the delivery's files
again (:class:`pcrs.vector.gml.GmlReader`, streaming) and draws the emprises
(``EmpriseEchangePCRS``) and the objects' lines, polygons and points under the findings.
Memory and page size stay bounded: geometries are collected in batches, and when the
vertices kept pass :data:`VERTEX_BUDGET` they are simplified (``shapely.simplify``) at half
a pixel of the map, then at twice that tolerance, and so on; when simplifying no longer
helps (points), every other object is left out. The page says so. The extent is the
emprises', else the objects' (outliers left out), else a robust extent of the findings;
findings outside it get a marker on the map's border naming their direction and distance.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from .report import _COLORS, _SEV_ORDER, _TEXT, _count, _lidar_line
from .rules import SEVERITIES, Finding

if TYPE_CHECKING:
    from .report import Report

__all__ = ["VERTEX_BUDGET", "render_html"]

#: vertices of delivery geometry the map keeps at most (about 12 bytes of page each)
VERTEX_BUDGET = 200_000
#: findings drawn on the map at most
MAX_MARKERS = 20_000
#: width of the map in SVG units (pixels at zoom 1)
MAP_WIDTH = 900
_BATCH = 4096
_PAD = 0.04

# labels of the page only; those shared with the console are in report._TEXT
_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "map": "Map of the delivery and its findings",
        "legend_emprise": "emprise",
        "legend_objects": "objects",
        "profile": "Acceptance profile: {name} ({origin})",
        "builtin": "built-in",
        "simplified": "Geometry simplified to keep the page small: {kept} of {read} vertices "
                      "drawn (tolerance {tol})",
        "left_out": "{n} objects left out of the map to keep the page small (the table and "
                    "the JSON report are complete)",
        "no_geometry": "The delivery's files could not be read again: the map shows the "
                       "findings only",
        "missing": "Not drawn (file missing or unreadable): {files}",
        "stopped": "{file}: drawn up to line {line} (the file is not well-formed after it)",
        "outside": "{n} findings lie far outside the map: marked on its border "
                   "(direction, distance)",
        "outside_1": "{n} finding lies far outside the map: marked on its border "
                     "(direction, distance)",
        "unlocated": "{n} findings have no coordinates and are not on the map",
        "unlocated_1": "{n} finding has no coordinates and is not on the map",
        "left_out_1": "{n} object left out of the map to keep the page small (the table "
                      "and the JSON report are complete)",
        "markers": "first {n} findings drawn on the map",
        "zoom": "Wheel: zoom; drag: pan; double-click: reset. Click a finding to see its row.",
        "to_map": "show on the map",
        "north": "N",
        "dirs": "N NE E SE S SW W NW",
    },
    "fr": {
        "map": "Carte de la livraison et de ses anomalies",
        "legend_emprise": "emprise",
        "legend_objects": "objets",
        "profile": "Profil de recette : {name} ({origin})",
        "builtin": "intégré",
        "simplified": "Géométrie simplifiée pour garder la page légère : {kept} sommets "
                      "dessinés sur {read} (tolérance {tol})",
        "left_out": "{n} objets non dessinés pour garder la page légère (le tableau et le "
                    "rapport JSON sont complets)",
        "no_geometry": "Les fichiers de la livraison n'ont pas pu être relus : la carte ne "
                       "montre que les anomalies",
        "missing": "Non dessinés (fichier absent ou illisible) : {files}",
        "stopped": "{file} : dessiné jusqu'à la ligne {line} (le fichier est mal formé "
                   "ensuite)",
        "outside": "{n} anomalies sont loin hors de la carte : signalées sur son bord "
                   "(direction, distance)",
        "outside_1": "{n} anomalie est loin hors de la carte : signalée sur son bord "
                     "(direction, distance)",
        "unlocated": "{n} anomalies n'ont pas de coordonnées et ne sont pas sur la carte",
        "unlocated_1": "{n} anomalie n'a pas de coordonnées et n'est pas sur la carte",
        "left_out_1": "{n} objet non dessiné pour garder la page légère (le tableau et le "
                      "rapport JSON sont complets)",
        "markers": "les {n} premières anomalies sont dessinées sur la carte",
        "zoom": "Molette : zoom ; glisser : déplacer ; double-clic : revenir. Cliquer une "
                "anomalie montre sa ligne du tableau.",
        "to_map": "voir sur la carte",
        "north": "N",
        "dirs": "N NE E SE S SO O NO",
    },
}  # fmt: skip

# ---------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5em;color:#222}
h1{margin-bottom:.2em} .verdict{font-size:1.2em;font-weight:600;padding:.5em .8em;border-radius:4px}
.ok{background:#e8f6ec;color:#1e7b3a}.ko{background:#fbeaea;color:#a12a1f}
.cards span{display:inline-block;margin:.3em .8em .3em 0;padding:.3em .7em;border-radius:3px;color:#fff}
table{border-collapse:collapse;width:100%;font-size:.85em}th,td{border:1px solid #ddd;padding:3px 5px;vertical-align:top}
th{background:#f3f3f3;cursor:pointer;position:sticky;top:0}tr:nth-child(even){background:#fafafa}
tr:target{background:#fff3b0!important;outline:2px solid #e6b800}
.sev-error{color:#c0392b;font-weight:600}.sev-warning{color:#d35400}.sev-info{color:#2980b9}
.charts{display:flex;flex-wrap:wrap;gap:2em}svg text{font-size:11px}
input{margin:.5em 0;padding:.3em;width:20em}
.mapbox{position:relative;display:inline-block;border:1px solid #ccc;background:#fcfcfc}
#map{display:block;cursor:grab;max-width:100%;height:auto}
#overlay{position:absolute;left:0;top:0;pointer-events:none}
.notes{font-size:.85em;color:#555;margin:.3em 0 0 1em;padding:0}.legend span{margin-right:1em}
a.tomap{text-decoration:none}
"""

# inside the map's <svg>, so that the map also stands alone when cut out of the page
_MAP_CSS = (
    "#map .emp{fill:none;stroke:#6c3483;stroke-width:2;stroke-dasharray:6 3}"
    "#map .pol{fill:#d5d8dc;fill-opacity:.45;stroke:#7f8c8d;stroke-width:.7}"
    "#map .lin{fill:none;stroke:#7f8c8d;stroke-width:.8}"
    "#map .pt{fill:none;stroke:#7f8c8d;stroke-width:3;stroke-linecap:round}"
    "#map path{vector-effect:non-scaling-stroke}"
    "#map .f{stroke:#fff;stroke-width:1;fill-opacity:.85;vector-effect:non-scaling-stroke}"
    "#map .f.hl{stroke:#000;stroke-width:3}#map .out{stroke:#fff;stroke-width:1}"
    "#map .outl{font-size:11px;paint-order:stroke;stroke:#fff;stroke-width:3px}"
    "#map text{font-family:sans-serif}"
)

_JS = """
function sortTable(n){var t=document.getElementById('findings'),b=t.tBodies[0],
r=Array.from(b.rows),d=t.getAttribute('data-dir')==='a'?-1:1;
r.sort(function(x,y){var a=x.cells[n].getAttribute('data-v')||x.cells[n].textContent,
c=y.cells[n].getAttribute('data-v')||y.cells[n].textContent,na=parseFloat(a),nc=parseFloat(c);
if(!isNaN(na)&&!isNaN(nc))return d*(na-nc);return d*a.localeCompare(c);});
r.forEach(function(e){b.appendChild(e)});t.setAttribute('data-dir',d===1?'a':'d');}
function filterTable(q){q=q.toLowerCase();Array.from(document.getElementById('findings').tBodies[0].rows)
.forEach(function(r){r.style.display=r.textContent.toLowerCase().indexOf(q)>=0?'':'none'});}
(function(){var M=document.getElementById('map');if(!M)return;
var V=M.viewBox.baseVal,H=[V.x,V.y,V.width,V.height],m=parseFloat(M.getAttribute('data-m')),
drag=null,R=[].slice.call(M.querySelectorAll('circle.f'));
function nice(v){var p=Math.pow(10,Math.floor(Math.log10(v))),f=v/p;return (f>=5?5:f>=2?2:1)*p;}
function bar(){var r=M.getBoundingClientRect(),w=r.width||V.width,len=nice(V.width*m/4),
px=len/(V.width*m)*w;document.getElementById('sbar').setAttribute('width',px.toFixed(1));
document.getElementById('sbg').setAttribute('width',(px+2).toFixed(1));
document.getElementById('stext').textContent=len>=1000?(len/1000)+' km':len+' m';
var k=V.width/H[2];R.forEach(function(c){c.setAttribute('r',(4*k).toFixed(2))});}
function pt(e){var r=M.getBoundingClientRect();return [V.x+(e.clientX-r.left)/r.width*V.width,
V.y+(e.clientY-r.top)/r.height*V.height];}
M.addEventListener('wheel',function(e){e.preventDefault();var p=pt(e),f=e.deltaY<0?0.8:1.25;
V.x=p[0]-(p[0]-V.x)*f;V.y=p[1]-(p[1]-V.y)*f;V.width*=f;V.height*=f;bar();},{passive:false});
M.addEventListener('mousedown',function(e){drag=[e.clientX,e.clientY,V.x,V.y];M.style.cursor='grabbing';});
window.addEventListener('mouseup',function(){drag=null;M.style.cursor='grab';});
window.addEventListener('mousemove',function(e){if(!drag)return;var r=M.getBoundingClientRect();
V.x=drag[2]-(e.clientX-drag[0])/r.width*V.width;V.y=drag[3]-(e.clientY-drag[1])/r.height*V.height;});
M.addEventListener('dblclick',function(){V.x=H[0];V.y=H[1];V.width=H[2];V.height=H[3];bar();});
window.addEventListener('resize',bar);
window.showOnMap=function(i){var c=document.getElementById('m'+i);if(!c)return false;
R.forEach(function(o){o.classList.remove('hl')});c.classList.add('hl');
var x=parseFloat(c.getAttribute('cx')),y=parseFloat(c.getAttribute('cy'));
V.x=x-V.width/2;V.y=y-V.height/2;bar();M.scrollIntoView({block:'center'});return false;};
bar();})();
"""


# --- reading the delivery again ---------------------------------------------------


@dataclass
class _Drawing:
    """What the map draws of the delivery: 2D shapely geometries, already simplified."""

    emprises: list = field(default_factory=list)
    objects: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=object))
    vertices_read: int = 0
    vertices_kept: int = 0
    tolerance: float = 0.0
    left_out: int = 0
    missing: list[str] = field(default_factory=list)
    stopped: list[tuple[str, int]] = field(default_factory=list)
    files_read: int = 0


class _Collector:
    """Keeps at most about ``budget`` vertices of the geometries it is given.

    Over the budget, what is kept is simplified at half a pixel of the map, then at
    twice the tolerance, up to two pixels; past that (or when simplifying no longer
    helps: points, two-vertex lines) only every ``stride``-th object is kept, the same
    rule applying to the objects still to come, so that what is left out is spread
    evenly over the delivery."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.drawing = _Drawing()
        self._pending: list = []
        self._kept: list[np.ndarray] = []
        self._order: list[np.ndarray] = []  # the reading order of each kept object
        self._kept_vertices = 0
        self._seen = 0
        self._stride = 1
        self._pixel = 0.0

    def add(self, geom: Any, emprise: bool) -> None:
        if emprise:
            self.drawing.emprises.append(shapely.force_2d(geom))
            return
        self._pending.append(geom)
        if len(self._pending) >= _BATCH:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        batch = np.array(self._pending, dtype=object)
        self._pending = []
        order = np.arange(self._seen, self._seen + len(batch))
        self._seen += len(batch)
        self.drawing.vertices_read += int(shapely.get_num_coordinates(batch).sum())
        if self._stride > 1:
            keep = order % self._stride == 0
            batch, order = batch[keep], order[keep]
        batch = shapely.force_2d(batch)
        if self.drawing.tolerance > 0:
            batch = shapely.simplify(batch, self.drawing.tolerance, preserve_topology=False)
        self._kept.append(batch)
        self._order.append(order)
        self._kept_vertices += int(shapely.get_num_coordinates(batch).sum())
        while self._kept_vertices > self.budget and self._coarsen():
            pass

    def _coarsen(self) -> bool:
        """Fewer vertices kept; False when no fewer can be (one object left)."""
        kept = np.concatenate(self._kept)
        order = np.concatenate(self._order)
        before = self._kept_vertices
        d = self.drawing
        if not self._pixel:
            self._pixel = 2 * _half_pixel(kept, d.emprises)
        after = before
        if d.tolerance < 2 * self._pixel:
            d.tolerance = d.tolerance * 2 if d.tolerance > 0 else self._pixel / 2
            kept = shapely.simplify(kept, d.tolerance, preserve_topology=False)
            after = int(shapely.get_num_coordinates(kept).sum())
        if after > 0.9 * before:  # simplifying no longer helps: fewer objects
            if len(kept) <= 1:
                return False
            self._stride *= 2
            keep = order % self._stride == 0
            kept, order = kept[keep], order[keep]
            after = int(shapely.get_num_coordinates(kept).sum())
        self._kept, self._order = [kept], [order]
        self._kept_vertices = after
        return True

    def finish(self) -> _Drawing:
        self._flush()
        d = self.drawing
        d.objects = np.concatenate(self._kept) if self._kept else np.empty(0, dtype=object)
        d.left_out = self._seen - len(d.objects)
        own = (
            int(shapely.get_num_coordinates(np.array(d.emprises, dtype=object)).sum())
            if d.emprises
            else 0
        )
        d.vertices_kept = self._kept_vertices + own
        d.vertices_read += own
        return d


def _half_pixel(objects: np.ndarray, emprises: list) -> float:
    """Half a pixel of the map at zoom 1, from the extent the map will have."""
    box = _extent_of(emprises, objects)
    if box is None:
        return 0.01
    span = max(box[2] - box[0], box[3] - box[1], 1e-6)
    return span / MAP_WIDTH / 2


def _read_delivery(report: Report, budget: int) -> _Drawing:
    """Stream the report's files again and collect their geometry (bounded memory)."""
    from .fastread import FastReadUnavailable
    from .gml import GmlReader, SniffError, sniff
    from .model import NS_PCRS

    col = _Collector(budget)
    for fi in report.files:
        path = Path(str(fi.get("path", "")))
        if not fi.get("usable", True):
            continue
        try:
            root = sniff(path)
            if root.entities or root.local != "PlanCorpsRueSimplifie" or root.ns != NS_PCRS:
                raise SniffError("not a PCRS file")
            reader = GmlReader(path)
            members = _fast_members(path) if fi.get("reader") == "fast" else None
            for geom, emprise in _geometries(members or reader.members()):
                col.add(geom, emprise)
        except (OSError, SniffError, ValueError, FastReadUnavailable):
            col.drawing.missing.append(path.name)
            continue
        col.drawing.files_read += 1
        if reader.error is not None:
            col.drawing.stopped.append((path.name, reader.error_line or 0))
    return col.finish()


def _fast_members(path: Path) -> Iterator | None:
    """The compiled reader's members of a file it read during the validation (so
    well-formed), or None when it is not available here."""
    try:
        from .fastread import have_fast_reader, read_members
    except ImportError:  # pragma: no cover - numba missing
        return None
    return read_members(path) if have_fast_reader() else None


def _geometries(members: Iterator) -> Iterator[tuple[Any, bool]]:
    """(shapely geometry, is an emprise) of every geometry of every feature of a file."""
    from .gml import Member

    for member in members:
        if not isinstance(member, Member):  # an emprise's link
            continue
        for feature in member.features:
            emprise = feature.cls == "EmpriseEchangePCRS"
            if feature.props is None and feature.compact is not None:
                geoms = [g for _i, g in feature.compact[4]]  # (no Property built)
            else:
                geoms = [p.geometry for p in feature.materialise() if p.geometry is not None]
            for geom in geoms:
                shape = geom.shape
                if shape is not None and not shape.is_empty:
                    yield shape, emprise


# --- extent and projection ----------------------------------------------------------


def _robust_box(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    """The box of the values once far outliers are left out: those farther than one
    span of the 2-98 % percentile box from it."""
    if len(x) > 4:
        lx, hx = np.percentile(x, [2, 98])
        ly, hy = np.percentile(y, [2, 98])
        span = max(hx - lx, hy - ly, 1.0)
        keep = (x >= lx - span) & (x <= hx + span) & (y >= ly - span) & (y <= hy + span)
        x, y = x[keep], y[keep]
    return float(x.min()), float(y.min()), float(x.max()), float(y.max())


def _extent_of(emprises: list, objects: np.ndarray) -> tuple[float, float, float, float] | None:
    """The emprises' box when there are any, else the objects' (outliers left out)."""
    for geoms in (np.array(emprises, dtype=object), objects):
        if len(geoms) == 0:
            continue
        b = shapely.bounds(geoms)
        b = b[np.isfinite(b).all(axis=1)]
        if len(b):
            return _robust_box(
                np.concatenate([b[:, 0], b[:, 2]]), np.concatenate([b[:, 1], b[:, 3]])
            )
    return None


@dataclass
class _View:
    """World (metres) to SVG units: x right, y down, one unit per pixel at zoom 1."""

    x0: float
    y0: float
    x1: float
    y1: float
    width: float
    height: float

    @classmethod
    def around(cls, box: tuple[float, float, float, float]) -> _View:
        x0, y0, x1, y1 = box
        sx, sy = max(x1 - x0, 1.0), max(y1 - y0, 1.0)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        sx, sy = sx * (1 + 2 * _PAD), sy * (1 + 2 * _PAD)
        height = float(min(max(MAP_WIDTH * sy / sx, 0.45 * MAP_WIDTH), 1.1 * MAP_WIDTH))
        # one scale for both axes: widen the shorter side
        if sy / sx > height / MAP_WIDTH:
            sx = sy * MAP_WIDTH / height
        else:
            sy = sx * height / MAP_WIDTH
        return cls(cx - sx / 2, cy - sy / 2, cx + sx / 2, cy + sy / 2, MAP_WIDTH, height)

    @property
    def metres_per_unit(self) -> float:
        return (self.x1 - self.x0) / self.width

    def project(self, xy: np.ndarray) -> np.ndarray:
        k = 1.0 / self.metres_per_unit
        return np.column_stack([(xy[:, 0] - self.x0) * k, (self.y1 - xy[:, 1]) * k])

    def contains(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return (x >= self.x0) & (x <= self.x1) & (y >= self.y0) & (y <= self.y1)


# --- SVG ----------------------------------------------------------------------------------


def _svg_paths(geoms: np.ndarray, view: _View) -> list[tuple[str, str]]:
    """``(kind, d)`` per geometry: its SVG path data, kind ``pol``, ``lin`` or ``pt``
    (a point is a zero-length segment drawn with round caps)."""
    if len(geoms) == 0:
        return []
    parts, owner = shapely.get_parts(geoms, return_index=True)
    types = shapely.get_type_id(parts)
    polys = types == 3
    rings, ring_of = shapely.get_rings(parts[polys], return_index=True)
    simple = np.concatenate([parts[~polys], rings])
    simple_owner = np.concatenate([owner[~polys], owner[polys][ring_of]])
    closed = np.concatenate([np.zeros(int((~polys).sum()), bool), np.ones(len(rings), bool)])
    coords, part_of = shapely.get_coordinates(simple, return_index=True)
    xy = np.round(view.project(coords), 1)
    tokens = np.char.add(np.char.add(np.char.mod("%g", xy[:, 0]), ","), np.char.mod("%g", xy[:, 1]))
    starts = np.searchsorted(part_of, np.arange(len(simple)))
    ends = np.append(starts[1:], len(part_of))
    d_of: dict[int, list[str]] = {}
    for i in np.argsort(simple_owner, kind="stable"):
        s, e = int(starts[i]), int(ends[i])
        if e <= s:
            continue
        if e - s == 1:
            d = f"M{tokens[s]}h0"
        else:
            d = "M" + " ".join(tokens[s:e].tolist()) + ("Z" if closed[i] else "")
        d_of.setdefault(int(simple_owner[i]), []).append(d)
    geom_types = shapely.get_type_id(geoms)
    out = []
    for g, ds in d_of.items():
        t = geom_types[g]
        kind = "pol" if t in (3, 6) else "pt" if t in (0, 4) else "lin"
        out.append((kind, "".join(ds)))
    return out


def _nice_length(v: float) -> float:
    """1, 2 or 5 times a power of ten, at most ``v``."""
    p = 10 ** math.floor(math.log10(max(v, 1e-9)))
    f = v / p
    return (5 if f >= 5 else 2 if f >= 2 else 1) * p


def _label_n(key: str, n: int, lang: str) -> str:
    """The label ``key`` for ``n`` things, singular where ``lang`` wants it (French: 0
    and 1; English: 1)."""
    singular = n <= 1 if lang == "fr" else n == 1
    text = _LABELS[lang][f"{key}_1"] if singular else _LABELS[lang][key]
    return text.format(n=_num(n, lang))


def _num(value: float, lang: str, decimals: int = 0) -> str:
    """A number with the thousands separator and decimal mark of ``lang``."""
    text = f"{value:_.{decimals}f}"
    if lang == "fr":
        return text.replace("_", "\u202f").replace(".", ",")
    return text.replace("_", ",")


def _distance(m: float, lang: str) -> str:
    """A distance in round metres or kilometres."""
    if m >= 10_000:
        return f"{_num(m / 1000, lang)} km"
    if m >= 1000:
        return f"{_num(m / 1000, lang, 1)} km"
    if m >= 1:
        return f"{_num(m, lang)} m"
    return f"{_num(m * 100, lang)} cm"


def _direction(view: _View, x: float, y: float, lang: str) -> str:
    cx, cy = (view.x0 + view.x1) / 2, (view.y0 + view.y1) / 2
    angle = math.degrees(math.atan2(x - cx, y - cy)) % 360  # from north, clockwise
    return _LABELS[lang]["dirs"].split()[int((angle + 22.5) // 45) % 8]


def _outlier_marker(f: Finding, i: int | None, view: _View, lang: str, label: bool) -> str:
    """A triangle on the map's border pointing to a finding far outside it."""
    x, y = float(f.x or 0.0), float(f.y or 0.0)
    bx = min(max(x, view.x0), view.x1)
    by = min(max(y, view.y0), view.y1)
    dist = math.hypot(x - bx, y - by)
    ((px, py),) = view.project(np.array([[bx, by]]))
    margin = 10.0
    px = min(max(px, margin), view.width - margin)
    py = min(max(py, margin), view.height - margin)
    ang = math.atan2(-(y - by), x - bx)  # screen angle of the way out
    tip = (px + 9 * math.cos(ang), py + 9 * math.sin(ang))
    left = (px + 7 * math.cos(ang + 2.4), py + 7 * math.sin(ang + 2.4))
    right = (px + 7 * math.cos(ang - 2.4), py + 7 * math.sin(ang - 2.4))
    pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in (tip, left, right))
    where = f"{_distance(dist, lang)} {_direction(view, x, y, lang)}"
    tip_text = html.escape(
        f"{f.rule} {f.feature_class or ''} {f.gml_id or ''}: {where} ({x:.2f}, {y:.2f})"
    )
    shape = (
        f'<polygon class="out" points="{pts}" fill="{_COLORS[f.severity]}">'
        f"<title>{tip_text}</title></polygon>"
    )
    if i is not None:
        shape = f'<a href="#r{i}">{shape}</a>'
    if label:
        anchor = "end" if px > view.width / 2 else "start"
        dx = -12 if anchor == "end" else 12
        ty = py + (14 if py < view.height / 2 else -8)
        shape += (
            f'<text class="outl" x="{px + dx:.1f}" y="{ty:.1f}" text-anchor="{anchor}">'
            f"{html.escape(where)}</text>"
        )
    return shape


def _map(report: Report, rows: dict[int, int], lang: str, budget: int) -> tuple[str, list[str]]:
    """The SVG map and the notes said under it. ``rows`` maps ``id(finding)`` to its row."""
    lab = _LABELS[lang]
    drawing = _read_delivery(report, budget)
    notes: list[str] = []
    located = [f for f in report.findings if f.x is not None and f.y is not None]
    box = _extent_of(drawing.emprises, drawing.objects)
    fx = np.array([float(f.x or 0.0) for f in located])
    fy = np.array([float(f.y or 0.0) for f in located])
    if box is None and len(located):
        box = _robust_box(fx, fy)
    if box is None:
        return "", notes
    view = _View.around(box)
    if drawing.missing:
        if drawing.files_read == 0:
            notes.append(lab["no_geometry"])
        notes.append(lab["missing"].format(files=", ".join(drawing.missing)))
    for name, line in drawing.stopped:
        notes.append(lab["stopped"].format(file=name, line=line))
    if drawing.tolerance > 0:
        notes.append(
            lab["simplified"].format(
                kept=_num(drawing.vertices_kept, lang),
                read=_num(drawing.vertices_read, lang),
                tol=_distance(drawing.tolerance, lang),
            )
        )
    if drawing.left_out:
        notes.append(_label_n("left_out", drawing.left_out, lang))
    out = [
        f'<div class="mapbox"><svg id="map" width="{view.width:.0f}" height="{view.height:.0f}" '
        f'viewBox="0 0 {view.width:.0f} {view.height:.0f}" data-m="{view.metres_per_unit:.6g}" '
        f'role="img"><style>{_MAP_CSS}</style>'
    ]
    objects = _svg_paths(drawing.objects, view)
    for kind in ("pol", "lin", "pt"):
        ds = [d for k, d in objects if k == kind]
        if ds:
            out.append(f'<g class="{kind}">' + "".join(f'<path d="{d}"/>' for d in ds) + "</g>")
    emprises = _svg_paths(np.array(drawing.emprises, dtype=object), view)
    if emprises:
        out.append('<g class="emp">' + "".join(f'<path d="{d}"/>' for _k, d in emprises) + "</g>")
    out.append(_markers(located, fx, fy, rows, view, lang, notes))
    out.append("</svg>")
    out.append(_overlay(view, lang))
    out.append("</div>")
    return "".join(out), notes


def _markers(
    located: list[Finding], fx: np.ndarray, fy: np.ndarray, rows: dict[int, int], view: _View,
    lang: str, notes: list[str],
) -> str:  # fmt: skip
    """Findings as circles (errors on top), those outside the map as border triangles."""
    lab = _LABELS[lang]
    if not located:
        return ""
    inside = view.contains(fx, fy)
    order = sorted(range(len(located)), key=lambda i: -_SEV_ORDER[located[i].severity])
    if len(order) > MAX_MARKERS:
        order = sorted(order, key=lambda i: _SEV_ORDER[located[i].severity])[:MAX_MARKERS]
        order.reverse()
        notes.append(lab["markers"].format(n=_num(MAX_MARKERS, lang)))
    xy = view.project(np.column_stack([fx, fy]))
    out = ['<g class="findings">']
    outside = 0
    for i in order:
        f = located[i]
        row = rows.get(id(f))
        if not inside[i]:
            out.append(_outlier_marker(f, row, view, lang, label=outside < 12))
            outside += 1
            continue
        cx, cy = xy[i]
        tip = html.escape(
            f"{f.rule} {f.feature_class or ''} {f.gml_id or ''} ({f.x:.2f}, {f.y:.2f})"
        )
        ident = f' id="m{row}"' if row is not None else ""
        circle = (
            f'<circle{ident} class="f" cx="{cx:.1f}" cy="{cy:.1f}" r="4" '
            f'fill="{_COLORS[f.severity]}"><title>{tip}</title></circle>'
        )
        out.append(f'<a href="#r{row}">{circle}</a>' if row is not None else circle)
    out.append("</g>")
    if outside:
        notes.append(_label_n("outside", outside, lang))
    return "".join(out)


def _overlay(view: _View, lang: str) -> str:
    """Scale bar (round metres, updated on zoom) and north arrow, fixed over the map."""
    length = _nice_length(view.metres_per_unit * view.width / 4)
    px = length / view.metres_per_unit
    text = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    y = view.height - 18
    n = html.escape(_LABELS[lang]["north"])
    return (
        f'<svg id="overlay" width="{view.width:.0f}" height="{view.height:.0f}" '
        f'viewBox="0 0 {view.width:.0f} {view.height:.0f}" aria-hidden="true">'
        f'<rect id="sbg" x="11" y="{y - 3:.0f}" width="{px + 2:.1f}" height="8" fill="#fff" '
        'opacity=".7"/>'
        f'<rect id="sbar" x="12" y="{y - 2:.0f}" width="{px:.1f}" height="6" fill="#333"/>'
        f'<text id="stext" x="12" y="{y - 6:.0f}">{text}</text>'
        f'<g transform="translate({view.width - 28:.0f},14)">'
        '<polygon points="0,0 9,24 0,18 -9,24" fill="#333"/>'
        f'<text x="0" y="38" text-anchor="middle" font-weight="bold">{n}</text></g></svg>'
    )


# --- the page ------------------------------------------------------------------------------


def _bar_chart(rows: list[tuple[str, dict]], lang: str, width: int = 460) -> str:
    if not rows:
        return ""
    names = _TEXT[lang]["sev"]
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
                f'fill="{_COLORS[sev]}"><title>{names[sev]}: {n}</title></rect>'
            )
            x += w
        out.append(f'<text x="{x + 4:.1f}" y="{y + 12}">{sum(counts.values())}</text>')
    out.append("</svg>")
    return "".join(out)


def _header(report: Report, lang: str) -> list[str]:
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
    ]
    profile = getattr(report, "profile", None)
    if profile:
        origin = str(profile.get("origin") or "")
        if origin in ("", "built-in"):
            origin = _LABELS[lang]["builtin"]
        text = _LABELS[lang]["profile"].format(name=profile.get("name", "?"), origin=origin)
        parts.append(f'<p class="profile">{e(text)}</p>')
    parts.append(f"<p>{e(t['schema_on'] if report.schema_checked else t['schema_off'])}</p>")
    if report.lidar is not None:
        parts.append(f"<p>{e(_lidar_line(report.lidar, lang))}</p>")
    parts.append(f"<h2>{e(t['files'])}</h2><ul>")
    for fi in report.files:
        n = sum(fi.get("features", {}).values())
        colon = " :" if lang == "fr" else ":"
        parts.append(f"<li>{e(str(fi['path']))}{colon} {n} {e(t['features'])}</li>")
    parts.append("</ul>")
    return parts


def _legend(lang: str) -> str:
    lab = _LABELS[lang]
    names = _TEXT[lang]["sev"]
    items = [
        f'<span><svg width="22" height="10"><line x1="0" y1="5" x2="22" y2="5" stroke="#6c3483" '
        f'stroke-width="2" stroke-dasharray="6 3"/></svg> {html.escape(lab["legend_emprise"])}</span>',
        f'<span><svg width="22" height="10"><rect x="1" y="1" width="20" height="8" fill="#d5d8dc" '
        f'stroke="#7f8c8d"/></svg> {html.escape(lab["legend_objects"])}</span>',
    ]
    items += [
        f'<span><svg width="10" height="10"><rect x="1" y="1" width="8" height="8" rx="4" '
        f'fill="{_COLORS[s]}"/>'
        f"</svg> {html.escape(names[s])}</span>"
        for s in SEVERITIES
    ]
    return f'<p class="legend">{"".join(items)}</p>'


def _table(shown: list[Finding], lang: str) -> list[str]:
    t = _TEXT[lang]
    e = html.escape
    to_map = e(_LABELS[lang]["to_map"])
    head = "".join(f'<th onclick="sortTable({i})">{e(c)}</th>' for i, c in enumerate(t["cols"]))
    parts = [f'<table id="findings"><thead><tr>{head}<th></th></tr></thead><tbody>']
    for i, f in enumerate(shown):
        located = f.x is not None and f.y is not None
        link = (
            f'<a class="tomap" href="#map" title="{to_map}" onclick="return showOnMap({i})">⌖</a>'
            if located
            else ""
        )
        cells = [
            f'<td class="sev-{f.severity}" data-v="{_SEV_ORDER[f.severity]}">'
            f"{e(t['sev'][f.severity])}</td>",
            f"<td>{e(f.rule)}</td>",
            f"<td>{e(f.message(lang))}</td>",
            f"<td>{e(Path(f.file).name if f.file else '')}</td>",
            f"<td>{f.line if f.line is not None else ''}</td>",
            f"<td>{e(f.feature_class or '')}</td>",
            f"<td>{e(f.gml_id or '')}</td>",
            f"<td>{e(f.id_objet or '')}</td>",
            f"<td>{'' if f.x is None else f'{f.x:.2f}'}</td>",
            f"<td>{'' if f.y is None else f'{f.y:.2f}'}</td>",
            f"<td>{link}</td>",
        ]
        parts.append(f'<tr id="r{i}">' + "".join(cells) + "</tr>")
    parts.append("</tbody></table>")
    return parts


def render_html(report: Report, lang: str, max_rows: int, budget: int = VERTEX_BUDGET) -> str:
    """The self-contained HTML page of ``report`` in ``lang``.

    Parameters
    ----------
    report : Report
    lang : {"en", "fr"}
    max_rows : int
        Findings listed in the table at most (the JSON report has them all).
    budget : int
        Vertices of the delivery's geometry the map keeps at most (see the module's
        docstring); the page says when geometry was simplified or left out.

    Returns
    -------
    str
    """
    t = _TEXT[lang]
    s = report.summary(lang)
    e = html.escape
    parts = _header(report, lang)
    shown = sorted(report.findings, key=lambda f: _SEV_ORDER[f.severity])[:max_rows]
    rows = {id(f): i for i, f in enumerate(shown)}
    rule_rows = [(rid, {rec["severity"]: rec["count"]}) for rid, rec in s["by_rule"].items()]
    class_rows = [
        (t["file_level"] if cls == "(file)" else cls, rec) for cls, rec in s["by_class"].items()
    ]
    svg_map, notes = _map(report, rows, lang, budget)
    if svg_map:
        unlocated = sum(1 for f in report.findings if f.x is None or f.y is None)
        if unlocated:
            notes.append(_label_n("unlocated", unlocated, lang))
        parts.append(f"<h2>{e(_LABELS[lang]['map'])}</h2>{_legend(lang)}{svg_map}")
        notes.append(_LABELS[lang]["zoom"])
        parts.append('<ul class="notes">' + "".join(f"<li>{e(n)}</li>" for n in notes) + "</ul>")
    parts.append('<div class="charts">')
    if rule_rows:
        parts.append(f"<div><h2>{e(t['by_rule'])}</h2>{_bar_chart(rule_rows, lang)}</div>")
    if class_rows:
        parts.append(f"<div><h2>{e(t['by_class'])}</h2>{_bar_chart(class_rows, lang)}</div>")
    parts.append("</div>")
    parts.append(f"<h2>{e(t['findings'])}</h2>")
    if not report.findings:
        parts.append(f"<p>{e(t['none'])}</p>")
    else:
        parts.append(f'<input placeholder="{e(t["filter"])}" oninput="filterTable(this.value)">')
        if len(report.findings) > max_rows:
            parts.append(f"<p>{e(t['shown'].format(n=max_rows))}</p>")
        parts.extend(_table(shown, lang))
    parts.append(f"<script>{_JS}</script></body></html>")
    return "\n".join(parts)
