"""The delivery side of the LiDAR cross-check: what is kept of a PCRS delivery (internal).

:func:`read_delivery` streams the GML files with :class:`~pcrs.vector.gml.GmlReader` and keeps,
per object checked, one record (file, line, class, ids) and its vertices (:class:`Delivery`);
:func:`on_record` places a finding on such a record.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from .gml import Feature, GmlReader, Member, Property
from .rules import Finding

__all__ = [
    "ABOVE_GROUND_NATURES",
    "Delivery",
    "Record",
    "fmt",
    "on_record",
    "read_delivery",
]

#: affleurant natures that stand above the ground (their Z may be their top): not compared.
#: 02 boîte/coffret/armoire, 05 bouche/poteau incendie, 06 poteau, 07 poteau d'éclairage
ABOVE_GROUND_NATURES = frozenset({"02", "05", "06", "07"})
#: MurPCRS types whose two sides are at different ground levels: 02 soutènement, 06 enrochement
_WALLS_NOT_COMPARED = frozenset({"02", "06"})
#: the classes an AffleurantPCRS's nature reaches through its representation or symbol
_AFFLEURANT_PARTS = frozenset(
    {"AffleurantEnveloppePCRS", "AffleurantLignesPCRS", "AffleurantPointPCRS",
     "AffleurantSymbolePCRS"}
)  # fmt: skip

#: one object checked: (file, line, class, gml:id, idObjet)
Record = tuple[str, int | None, str, str | None, str | None]


def fmt(v: float, sign: bool = True) -> str:
    """Metres in a message: ``+0.80`` (``0.80`` without ``sign``)."""
    return f"{v:+.2f}" if sign else f"{v:.2f}"


def on_record(
    rule: str,
    params: dict[str, Any],
    record: Record,
    x: float,
    y: float,
    field: str | None = "geometrie",
) -> Finding:
    """A finding placed on one object of the delivery, at ``(x, y)``."""
    file, line, cls, gid, ido = record
    return Finding(
        rule, params, file=file, line=line, feature_class=cls, gml_id=gid, id_objet=ido,
        x=float(x), y=float(y), field=field,
    )  # fmt: skip


def _target(prop: Property) -> str | None:
    """The gml:id a property points to (inline object or ``xlink:href``)."""
    if prop.inline is not None:
        return prop.inline.gml_id
    if prop.href:
        return prop.href.rpartition("#")[2] or None
    return None


@dataclass
class Delivery:
    """What the checks keep of a delivery: per object one record, and its vertices.

    Attributes
    ----------
    records : list of Record
        The objects checked, in the order of the files.
    coords : list of ndarray
        Per record, its vertices compared with the ground, ``(n, 3)`` (none for a façade
        unless FacadePCRS is asked for, nor for an affleurant standing above the ground).
    facade_parts : list of (int, ndarray)
        Record index and ``(n, 2)`` vertices of each line or ring of each FacadePCRS.
    emprises : list of shapely geometries
        The EmpriseEchangePCRS, in 2-D.
    srs : Counter
        ``srsName`` of the geometries kept.
    nature_of : dict
        Representation or symbol gml:id -> (nature, idObjet) of its AffleurantPCRS.
    geo_of : dict
        Representation part gml:id -> its AffleurantGeometriquePCRS's gml:id.
    bounds : list of float
        ``[minx, miny, maxx, maxy]`` of the objects kept and the emprises.
    features : int
        Features read, all classes.
    """

    records: list[Record] = field(default_factory=list)
    coords: list[np.ndarray] = field(default_factory=list)
    facade_parts: list[tuple[int, np.ndarray]] = field(default_factory=list)
    emprises: list[Any] = field(default_factory=list)
    srs: Counter[str] = field(default_factory=Counter)
    nature_of: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    geo_of: dict[str, str] = field(default_factory=dict)
    bounds: list[float] = field(default_factory=lambda: [np.inf, np.inf, -np.inf, -np.inf])
    features: int = 0

    def grow(self, xy: np.ndarray) -> None:
        """Widen :attr:`bounds` to the finite points of ``xy``."""
        ok = np.isfinite(xy).all(axis=1)
        if not ok.any():
            return
        lo = xy[ok].min(axis=0)
        hi = xy[ok].max(axis=0)
        b = self.bounds
        b[0], b[1] = min(b[0], lo[0]), min(b[1], lo[1])
        b[2], b[3] = max(b[2], hi[0]), max(b[3], hi[1])

    def add(self, file: str, f: Feature, ground_level: set[str]) -> None:
        """Keep what the checks need of one feature (the ``ground_level`` classes, façades,
        emprises, and the links that carry an affleurant's nature)."""
        self.features += 1
        cls = f.cls
        if cls in ("AffleurantPCRS", "AffleurantGeometriquePCRS"):
            self._link(f)
            return
        if cls != "EmpriseEchangePCRS" and cls not in ground_level and cls != "FacadePCRS":
            return
        g = f.geometry
        shape = g.shape if g is not None else None
        if g is None or shape is None or shape.is_empty:
            return
        if g.srs:
            self.srs[g.srs] += 1
        if cls == "EmpriseEchangePCRS":
            self.emprises.append(shapely.force_2d(shape))
            self.grow(shapely.get_coordinates(shape))
            return
        if cls == "MurPCRS" and (f.first_text("typeMur") or "").strip() in _WALLS_NOT_COMPARED:
            return
        xyz = shapely.get_coordinates(shape, include_z=True)
        self.grow(xyz[:, :2])
        rec = len(self.records)
        self.records.append((file, f.line, cls, f.gml_id, f.first_text("idObjet")))
        self.coords.append(xyz if cls in ground_level else xyz[:0])
        if cls == "FacadePCRS":
            for part in shapely.get_parts(shape):
                if part.geom_type == "Polygon":
                    part = part.exterior
                c = shapely.get_coordinates(part)
                if len(c) >= 2:
                    self.facade_parts.append((rec, c))

    def _link(self, f: Feature) -> None:
        """Note the links from an affleurant to its representations and their parts."""
        if f.cls == "AffleurantPCRS":
            nature = f.first_text("nature")
            for p in f.materialise():
                if p.name in ("representation", "symbolisation"):
                    t = _target(p)
                    if t:
                        self.nature_of[t] = (nature, f.first_text("idObjet"))
            return
        for p in f.materialise():
            if p.name in ("enveloppe", "ligne", "point"):
                t = _target(p)
                if t and f.gml_id:
                    self.geo_of[t] = f.gml_id

    def filter_affleurants(self) -> None:
        """Drop the vertices of the affleurants whose nature stands above the ground, and
        give the affleurant parts the idObjet of their AffleurantPCRS."""
        for i, (file, line, cls, gid, ido) in enumerate(self.records):
            if cls not in _AFFLEURANT_PARTS:
                continue
            hit = self.nature_of.get(gid or "") or self.nature_of.get(
                self.geo_of.get(gid or "", "")
            )
            if hit is None:
                continue
            nature, parent_id = hit
            if (nature or "").strip() in ABOVE_GROUND_NATURES:
                self.coords[i] = self.coords[i][:0]
            if ido is None and parent_id:
                self.records[i] = (file, line, cls, gid, parent_id)

    def vertices(self) -> tuple[np.ndarray, np.ndarray]:
        """The finite vertices compared with the ground, ``(n, 3)``, and the record of each."""
        n_rec = len(self.records)
        lens = np.array([len(c) for c in self.coords], np.int64)
        allv = np.vstack(self.coords) if n_rec and lens.sum() else np.zeros((0, 3))
        owner = np.repeat(np.arange(n_rec, dtype=np.int64), lens)
        ok = np.isfinite(allv).all(axis=1)
        return allv[ok], owner[ok]


def read_delivery(files: Iterable[Path], ground_level: set[str], tolerance: float) -> Delivery:
    """Stream the delivery's GML files and keep what the checks need.

    Parameters
    ----------
    files : iterable of Path
        GML files.
    ground_level : set of str
        The classes whose vertices are compared with the ground.
    tolerance : float
        Arc linearisation tolerance.

    Returns
    -------
    Delivery
    """
    d = Delivery()
    for path in files:
        for member in GmlReader(path, tolerance).members():
            if not isinstance(member, Member):
                continue
            for f in member.features:
                d.add(str(path), f, ground_level)
    d.filter_affleurants()
    return d
