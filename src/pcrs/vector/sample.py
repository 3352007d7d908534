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
from pathlib import Path

import numpy as np

__all__ = ["BLOCK_SIZE", "delivery_chunks", "delivery_text", "write_delivery"]

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
    ring = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]])
    head = (
        f'<featureMember><EmpriseEchangePCRS gml:id="{prefix}_emprise">'
        "<fournisseur>Syndicat Exemple - SIREN 000000000</fournisseur>"
        "<datePublication>2024-06-01</datePublication><type>Carreau</type><geometrie>"
        f'<gml:MultiSurface gml:id="{prefix}_emprise-g" srsName="{srs}" srsDimension="2">'
        f'<gml:surfaceMember><gml:Polygon gml:id="{prefix}_emprise-p"><gml:exterior>'
        f"<gml:LinearRing><gml:posList>{_fmt(ring)}</gml:posList></gml:LinearRing>"
        "</gml:exterior></gml:Polygon></gml:surfaceMember></gml:MultiSurface></geometrie>"
        f"<idEmprise>{prefix}_emprise</idEmprise>\n"
    )
    yield head
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
