"""Synthetic PCRS v2.0 deliveries of any size, valid against the XSD and the rules.

A delivery is a grid of street "blocks" 60 m wide, each holding the same kinds of
objects as the Métropole de Lyon examples (road limits with arcs, façades, thresholds,
a wall, trees, a pillar, surveyed points, street names, dressing lines, and flush
fittings — *affleurants* — with their geometric representation, envelope and symbol),
with fresh identifiers and slightly jittered coordinates, under one
EmpriseEchangePCRS that links every object. Used by the tests (small deliveries,
then mutated one defect at a time) and by the benchmark (hundreds of MB).

Examples
--------
>>> text = delivery_text(2, seed=1)
>>> text.count("<featureMember>") > 20
True
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "BLOCK_SIZE",
    "SceneFeature",
    "delivery_chunks",
    "delivery_text",
    "scene_delivery_text",
    "scene_features",
    "write_delivery",
    "write_scene_delivery",
]

#: width of one block of the synthetic street grid (m)
BLOCK_SIZE = 60.0

_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<PlanCorpsRueSimplifie xmlns="http://cnig.gouv.fr/pcrs" xmlns:gml="http://www.opengis.net/gml/3.2" \
xmlns:xlink="http://www.w3.org/1999/xlink" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" \
gml:id="{prefix}_root" version="2.0" \
xsi:schemaLocation="http://cnig.gouv.fr/pcrs https://cnigfr.github.io/PCRS/schemas/CNIG_PCRS_v2.0.xsd">
"""


def _fmt(arr: np.ndarray) -> str:
    return " ".join(f"{v:.3f}" for v in arr.ravel())


def _objet(prefix: str, gid: str, theme: str, date: str = "2024-03-12") -> str:
    return (
        f"<dateLeve>{date}</dateLeve><idObjet>{gid}</idObjet><thematique>{theme}</thematique>"
        "<qualiteCategorisation>01</qualiteCategorisation>"
        "<precisionPlanimetrique>005</precisionPlanimetrique>"
        "<precisionAltimetrique>005</precisionAltimetrique>"
        "<producteur>Géomètre Exemple</producteur>"
    )


class _Block:
    """Builds the features of one block; records the ids the emprise must link."""

    def __init__(self, prefix: str, srs: str, rng: np.random.Generator):
        self.prefix = prefix
        self.srs = srs
        self.rng = rng
        self.objets: list[str] = []
        self.habillages: list[str] = []

    def _g(self, kind: str, gid: str, body: str, dim: int = 3) -> str:
        return (
            f'<gml:{kind} gml:id="{gid}-g" srsName="{self.srs}" srsDimension="{dim}">'
            f"{body}</gml:{kind}>"
        )

    def features(self, bx: float, by: float, k: int) -> Iterator[str]:
        p = f"{self.prefix}_{k}"
        j = self.rng.uniform(-0.3, 0.3, 8)
        z0 = 150.0 + j[0]
        # road limit: an arc then a straight run, in one gml:Curve
        gid = f"{p}_lv"
        arc = np.array(
            [[bx + 2, by + 10, z0], [bx + 5 + j[1], by + 5.5, z0], [bx + 10, by + 2.5, z0]]
        )
        run = np.array(
            [[bx + 10, by + 2.5, z0], [bx + 30, by + 2.0 + j[2], z0], [bx + 55, by + 2, z0]]
        )
        curve = self._g(
            "Curve",
            gid,
            f"<gml:segments><gml:Arc><gml:posList>{_fmt(arc)}</gml:posList></gml:Arc>"
            f"<gml:LineStringSegment><gml:posList>{_fmt(run)}</gml:posList>"
            "</gml:LineStringSegment></gml:segments>",
        )
        self.objets.append(gid)
        yield (
            f'<LimiteVoiriePCRS gml:id="{gid}">{_objet(p, gid, "03")}'
            f"<geometrie>{curve}</geometrie></LimiteVoiriePCRS>"
        )
        # façade (closed polyline, interior on the left) and its threshold
        gid = f"{p}_fa"
        h = 12 + j[3]
        ring = np.array(
            [
                [bx + 15, by + 20, z0 + 0.2],
                [bx + 40, by + 20, z0 + 0.2],
                [bx + 40, by + 20 + h, z0 + 0.2],
                [bx + 15, by + 20 + h, z0 + 0.2],
                [bx + 15, by + 20, z0 + 0.2],
            ]
        )
        self.objets.append(gid)
        yield (
            f'<FacadePCRS gml:id="{gid}">{_objet(p, gid, "02")}<geometrie>'
            + self._g("LineString", gid, f"<gml:posList>{_fmt(ring)}</gml:posList>")
            + "</geometrie></FacadePCRS>"
        )
        gid = f"{p}_se"
        seg = np.array([[bx + 25, by + 20, z0 + 0.2], [bx + 26.2, by + 20, z0 + 0.2]])
        self.objets.append(gid)
        yield (
            f'<SeuilPCRS gml:id="{gid}">{_objet(p, gid, "02")}<geometrie>'
            + self._g("LineString", gid, f"<gml:posList>{_fmt(seg)}</gml:posList>")
            + "</geometrie></SeuilPCRS>"
        )
        # wall with its type
        gid = f"{p}_mu"
        wall = np.array(
            [[bx + 45, by + 20, z0], [bx + 58, by + 21 + j[4], z0], [bx + 58, by + 50, z0]]
        )
        self.objets.append(gid)
        yield (
            f'<MurPCRS gml:id="{gid}">{_objet(p, gid, "05")}<geometrie>'
            + self._g("LineString", gid, f"<gml:posList>{_fmt(wall)}</gml:posList>")
            + "</geometrie><typeMur>01</typeMur></MurPCRS>"
        )
        # pillar
        gid = f"{p}_pi"
        self.objets.append(gid)
        yield (
            f'<PilierRegulierPCRS gml:id="{gid}">{_objet(p, gid, "05")}<geometrie>'
            + self._g("Point", gid, f"<gml:pos>{bx + 44:.3f} {by + 19:.3f} {z0:.3f}</gml:pos>")
            + "</geometrie><section>01</section><angleRotation>0</angleRotation>"
            "<longueur>0.4</longueur><largeur>0.4</largeur></PilierRegulierPCRS>"
        )
        # trees
        for t in range(2):
            gid = f"{p}_ar{t}"
            self.objets.append(gid)
            yield (
                f'<ArbrePCRS gml:id="{gid}">{_objet(p, gid, "06")}<geometrie>'
                + self._g(
                    "Point",
                    gid,
                    f"<gml:pos>{bx + 8 + 20 * t + j[5]:.3f} {by + 6:.3f} {z0:.3f}</gml:pos>",
                )
                + "</geometrie><reference>Platanus</reference></ArbrePCRS>"
            )
        # affleurant: object, geometric representation, envelope (a circle as two arcs), symbol
        cx, cy, r = bx + 20 + j[6], by + 8, 0.35
        gid = f"{p}_af"
        self.objets.append(gid)
        yield (
            f'<AffleurantPCRS gml:id="{gid}">{_objet(p, gid, "10")}'
            "<gestionnaire>ENEDIS</gestionnaire><nature>03</nature><reseau>ELEC</reseau>"
            f'<symbolisation xlink:href="#{gid}_sy"/>'
            f'<representation xlink:href="#{gid}_rg"/></AffleurantPCRS>'
        )
        yield (
            f'<AffleurantGeometriquePCRS gml:id="{gid}_rg">'
            f'<enveloppe xlink:href="#{gid}_en"/></AffleurantGeometriquePCRS>'
        )
        arcs = np.array(
            [
                [cx + r, cy, z0],
                [cx, cy + r, z0],
                [cx - r, cy, z0],
                [cx, cy - r, z0],
                [cx + r, cy, z0],
            ]
        )
        yield (
            f'<AffleurantEnveloppePCRS gml:id="{gid}_en"><geometrie>'
            f'<gml:Polygon gml:id="{gid}_en-g" srsName="{self.srs}" srsDimension="3">'
            f'<gml:exterior><gml:Ring><gml:curveMember><gml:Curve gml:id="{gid}_en-c">'
            f"<gml:segments><gml:ArcString><gml:posList>{_fmt(arcs)}</gml:posList>"
            "</gml:ArcString></gml:segments></gml:Curve></gml:curveMember></gml:Ring>"
            "</gml:exterior></gml:Polygon></geometrie></AffleurantEnveloppePCRS>"
        )
        yield (
            f'<AffleurantSymbolePCRS gml:id="{gid}_sy"><geometrie>'
            + self._g("Point", f"{gid}_sy", f"<gml:pos>{cx:.3f} {cy:.3f} {z0:.3f}</gml:pos>")
            + "</geometrie><reference>TAMPON</reference><angleRotation>0</angleRotation>"
            "<longueur_mm>5</longueur_mm><largeur_mm>5</largeur_mm></AffleurantSymbolePCRS>"
        )
        # surveyed point
        yield (
            f'<PointLevePCRS gml:id="{p}_pl"><geometrie>'
            + self._g("Point", f"{p}_pl", f"<gml:pos>{bx + 30:.3f} {by + 2:.3f} {z0:.3f}</gml:pos>")
            + f"</geometrie><numeroPoint>P{k}</numeroPoint><precisionXY>2</precisionXY>"
            "<precisionZ>3</precisionZ><horodatage>2024-03-12</horodatage>"
            "<producteur>Géomètre Exemple</producteur></PointLevePCRS>"
        )
        # dressing: kerb line and street name
        gid = f"{p}_hl"
        self.habillages.append(gid)
        line = np.array([[bx + 2, by + 1, z0], [bx + 55, by + 1 + j[7] * 0.1, z0]])
        yield (
            f'<HabillageLignesPCRS gml:id="{gid}"><idHabillage>{gid}</idHabillage>'
            "<thematique>03</thematique><geometrie>"
            + self._g(
                "MultiCurve",
                gid,
                f'<gml:curveMember><gml:LineString gml:id="{gid}-l">'
                f"<gml:posList>{_fmt(line)}</gml:posList></gml:LineString></gml:curveMember>",
            )
            + "</geometrie></HabillageLignesPCRS>"
        )
        gid = f"{p}_nv"
        self.habillages.append(gid)
        yield (
            f'<NomVoiriePCRS gml:id="{gid}"><idHabillage>{gid}</idHabillage>'
            "<thematique>03</thematique><geometrie>"
            + self._g("Point", gid, f"<gml:pos>{bx + 30:.3f} {by + 12:.3f}</gml:pos>", dim=2)
            + f"</geometrie><libelle>Rue {k}</libelle><angleRotation>0</angleRotation>"
            f"<justification>C</justification><taille>2.5</taille>"
            f"<idNomVoirie>{gid}</idNomVoirie></NomVoiriePCRS>"
        )


def _emprise_head(prefix: str, srs: str, box) -> str:
    """The EmpriseEchangePCRS up to its idEmprise, its rectangle ``box`` (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    ring = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]])
    return (
        f'<featureMember><EmpriseEchangePCRS gml:id="{prefix}_emprise">'
        "<fournisseur>Syndicat Exemple - SIREN 000000000</fournisseur>"
        "<datePublication>2024-06-01</datePublication><type>Carreau</type><geometrie>"
        f'<gml:MultiSurface gml:id="{prefix}_emprise-g" srsName="{srs}" srsDimension="2">'
        f'<gml:surfaceMember><gml:Polygon gml:id="{prefix}_emprise-p"><gml:exterior>'
        f"<gml:LinearRing><gml:posList>{_fmt(ring)}</gml:posList></gml:LinearRing>"
        "</gml:exterior></gml:Polygon></gml:surfaceMember></gml:MultiSurface></geometrie>"
        f"<idEmprise>{prefix}_emprise</idEmprise>\n"
    )


def delivery_chunks(
    n_blocks: int,
    seed: int = 0,
    srs: str = "EPSG:3946",
    origin: tuple[float, float] = (1_848_000.0, 5_180_000.0),
) -> Iterator[str]:
    """Yield the text of a synthetic delivery of ``n_blocks`` blocks, piece by piece.

    Memory stays bounded except for the list of identifiers the emprise links
    (a few tens of bytes per object).
    """
    rng = np.random.default_rng(seed)
    prefix = f"FR_{seed:04d}"
    per_row = max(1, math.ceil(math.sqrt(n_blocks)))
    yield _HEAD.format(prefix=prefix)
    block = _Block(prefix, srs, rng)
    for k in range(n_blocks):
        bx = origin[0] + (k % per_row) * BLOCK_SIZE
        by = origin[1] + (k // per_row) * BLOCK_SIZE
        parts = [f"<featureMember>{f}</featureMember>\n" for f in block.features(bx, by, k)]
        yield "".join(parts)
    rows = math.ceil(n_blocks / per_row)
    x0, y0 = origin
    x1 = x0 + per_row * BLOCK_SIZE
    y1 = y0 + rows * BLOCK_SIZE
    yield _emprise_head(prefix, srs, (x0, y0, x1, y1))
    for i in range(0, len(block.objets), 10000):
        yield "".join(f'<objet xlink:href="#{g}"/>\n' for g in block.objets[i : i + 10000])
    for i in range(0, len(block.habillages), 10000):
        yield "".join(f'<habillage xlink:href="#{g}"/>\n' for g in block.habillages[i : i + 10000])
    yield "</EmpriseEchangePCRS></featureMember>\n</PlanCorpsRueSimplifie>\n"


def delivery_text(n_blocks: int, seed: int = 0, **kwargs) -> str:
    """The whole text of a small synthetic delivery (see :func:`delivery_chunks`)."""
    return "".join(delivery_chunks(n_blocks, seed, **kwargs))


def write_delivery(
    path: str | os.PathLike,
    n_blocks: int | None = None,
    *,
    target_bytes: int | None = None,
    seed: int = 0,
    overwrite: bool = False,
) -> Path:
    """Write a synthetic delivery to ``path`` (atomically), sized by blocks or bytes.

    Parameters
    ----------
    path : path-like
    n_blocks : int, optional
        Number of blocks (about 7.8 kB and 14 features each).
    target_bytes : int, optional
        Approximate size of the file instead of ``n_blocks``.
    seed : int
    overwrite : bool
    """
    from ..io.atomic import atomic_path

    if n_blocks is None:
        if target_bytes is None:
            n_blocks = 10
        else:
            per_block = len(delivery_text(4, seed).encode()) / 4
            n_blocks = max(1, int(target_bytes / per_block))
    with atomic_path(path, overwrite) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        for chunk in delivery_chunks(n_blocks, seed):
            fh.write(chunk)
    return Path(path)


# --- a delivery surveyed on a synthetic LiDAR scene (for the LiDAR cross-check) ------------


@dataclass
class SceneFeature:
    """One object of a delivery drawn from a :class:`pcrs.synth.Scene`'s truth.

    ``coords`` is an ``(n, 3)`` array (x, y, z); ``attrs`` holds class-specific values
    (``nature`` for an affleurant). Tests edit these (shift, raise, drop) to plant
    defects with a known answer before writing the delivery.
    """

    cls: str
    gml_id: str
    coords: np.ndarray
    attrs: dict = field(default_factory=dict)


def scene_features(scene, *, prefix: str = "FR_SCENE", step: float = 5.0) -> list[SceneFeature]:
    """The PCRS objects a surveyor would draw on ``scene``, with their true Z.

    - one closed **FacadePCRS** per building footprint (interior on the left, Z at the
      façade foot, i.e. the bare earth) and one **SeuilPCRS** (1.2 m) on its first side;
    - **LimiteVoiriePCRS** lines 1 m on the road side of the kerb and along two other
      rows of the village, cut 2 m away from the buildings, one vertex every ``step`` m;
    - an **ArbrePCRS** at each tree trunk (ground level);
    - an affleurant (**AffleurantPointPCRS**, nature 03, a manhole cover) every 20 m along
      the road.

    Every Z is :meth:`pcrs.synth.Scene.ground_z` at the vertex. Objects stay out of the
    river and its banks.

    Parameters
    ----------
    scene : pcrs.synth.Scene
    prefix : str
        Start of every gml:id (``{prefix}_fa0`` is the façade of building 0).
    step : float
        Vertex spacing of the road lines (m).

    Returns
    -------
    list of SceneFeature
    """
    import shapely

    x0, y0, x1, _ = (float(v) for v in scene.bounds)
    size = x1 - x0
    xmax = float(scene.river[0]) - 6.0
    out: list[SceneFeature] = []

    def z_of(xy: np.ndarray) -> np.ndarray:
        return np.column_stack([xy, scene.ground_z(xy[:, 0], xy[:, 1])])

    keep_out = shapely.union_all([b.footprint().buffer(2.0) for b in scene.buildings])
    for i, b in enumerate(scene.buildings):
        ring = np.asarray(b.footprint().exterior.coords)  # counter-clockwise: inside on the left
        if shapely.is_ccw(shapely.LinearRing(ring)) is False:
            ring = ring[::-1]
        out.append(SceneFeature("FacadePCRS", f"{prefix}_fa{i}", z_of(ring)))
        a, c = ring[0], ring[1]
        u = (c - a) / np.hypot(*(c - a))
        mid = (a + c) / 2
        out.append(
            SceneFeature(
                "SeuilPCRS", f"{prefix}_se{i}", z_of(np.array([mid - 0.6 * u, mid + 0.6 * u]))
            )
        )
    kerb = float(scene._terrain["kerb_y"])
    rows = [kerb - 1.0, y0 + 0.75 * size, y0 + 0.12 * size]
    k = 0
    for y in rows:
        line = shapely.LineString([(x0 + 2.0, y), (xmax, y)]).difference(keep_out)
        for part in getattr(line, "geoms", [line]):
            if part.is_empty or part.length < 2 * step:
                continue
            n = max(2, int(np.ceil(part.length / step)) + 1)
            xy = shapely.get_coordinates(
                shapely.line_interpolate_point(part, np.linspace(0, part.length, n))
            )
            out.append(SceneFeature("LimiteVoiriePCRS", f"{prefix}_lv{k}", z_of(xy)))
            k += 1
    for i, t in enumerate(scene.trees):
        if t.cx < xmax:
            out.append(SceneFeature("ArbrePCRS", f"{prefix}_ar{i}", z_of(np.array([[t.cx, t.cy]]))))
    for i, x in enumerate(np.arange(x0 + 10.0, xmax, 20.0)):
        xy = np.array([[x, kerb - 2.0]])
        if keep_out.contains(shapely.Point(xy[0])):
            continue
        out.append(
            SceneFeature("AffleurantPointPCRS", f"{prefix}_af{i}", z_of(xy), {"nature": "03"})
        )
    return out


def scene_delivery_text(
    features, *, srs: str = "EPSG:2154", prefix: str = "FR_SCENE", emprise=None
) -> str:
    """The GML text of a delivery holding ``features`` (see :func:`scene_features`).

    Parameters
    ----------
    features : list of SceneFeature, or a pcrs.synth.Scene (its :func:`scene_features`)
    srs : str
        ``srsName`` of every geometry.
    prefix : str
    emprise : (minx, miny, maxx, maxy), optional
        The EmpriseEchangePCRS box; default: the bounds of the features, 1 m wider.
    """
    if not isinstance(features, list):
        features = scene_features(features, prefix=prefix)
    out = [_HEAD.format(prefix=prefix)]
    objets: list[str] = []

    def geom(kind: str, gid: str, coords: np.ndarray) -> str:
        body = (
            f"<gml:pos>{_fmt(coords[0])}</gml:pos>"
            if kind == "Point"
            else f"<gml:posList>{_fmt(coords)}</gml:posList>"
        )
        return (
            f'<geometrie><gml:{kind} gml:id="{gid}-g" srsName="{srs}" srsDimension="3">'
            f"{body}</gml:{kind}></geometrie>"
        )

    theme = {"FacadePCRS": "02", "SeuilPCRS": "02", "LimiteVoiriePCRS": "03", "ArbrePCRS": "06"}
    for f in features:
        c = np.asarray(f.coords, dtype=float)
        gid = f.gml_id
        if f.cls == "AffleurantPointPCRS":
            nature = f.attrs.get("nature", "03")
            objets.append(gid)
            out.append(
                f'<featureMember><AffleurantPCRS gml:id="{gid}">{_objet(prefix, gid, "10")}'
                f"<gestionnaire>ENEDIS</gestionnaire><nature>{nature}</nature>"
                f'<reseau>ELEC</reseau><representation xlink:href="#{gid}_rg"/>'
                "</AffleurantPCRS></featureMember>\n"
                f'<featureMember><AffleurantGeometriquePCRS gml:id="{gid}_rg">'
                f'<point xlink:href="#{gid}_pt"/></AffleurantGeometriquePCRS></featureMember>\n'
                f'<featureMember><AffleurantPointPCRS gml:id="{gid}_pt">'
                f"{geom('Point', gid + '_pt', c)}</AffleurantPointPCRS></featureMember>\n"
            )
            continue
        objets.append(gid)
        kind = "Point" if f.cls == "ArbrePCRS" else "LineString"
        tail = "<reference>Platanus</reference>" if f.cls == "ArbrePCRS" else ""
        out.append(
            f'<featureMember><{f.cls} gml:id="{gid}">{_objet(prefix, gid, theme[f.cls])}'
            f"{geom(kind, gid, c)}{tail}</{f.cls}></featureMember>\n"
        )
    if emprise is None:
        allc = np.vstack([np.asarray(f.coords, float)[:, :2] for f in features])
        emprise = (*(allc.min(axis=0) - 1.0), *(allc.max(axis=0) + 1.0))
    out.append(
        _emprise_head(prefix, srs, emprise)
        + "".join(f'<objet xlink:href="#{g}"/>\n' for g in objets)
        + "</EmpriseEchangePCRS></featureMember>\n</PlanCorpsRueSimplifie>\n"
    )
    return "".join(out)


def write_scene_delivery(
    path: str | os.PathLike,
    features,
    *,
    srs: str = "EPSG:2154",
    prefix: str = "FR_SCENE",
    emprise=None,
    overwrite: bool = False,
) -> Path:
    """Write :func:`scene_delivery_text` to ``path`` (atomically).

    Examples
    --------
    >>> from pcrs import synth
    >>> import tempfile, pathlib
    >>> scene = synth.make_scene(20_000, seed=2)
    >>> p = write_scene_delivery(pathlib.Path(tempfile.mkdtemp()) / "d.gml", scene)
    >>> p.stat().st_size > 0
    True
    """
    from ..io.atomic import atomic_path

    text = scene_delivery_text(features, srs=srs, prefix=prefix, emprise=emprise)
    with atomic_path(path, overwrite) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")
    return Path(path)
