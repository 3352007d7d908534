"""Emprise: one EmpriseEchangePCRS per file, every object inside it (its bounding box
against the emprise buffered by the tolerance), every object linked from it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import shapely

from ._base import Family, Loc, Rule, on, rule

if TYPE_CHECKING:
    from ..engine import FeatureView, FileState, Validator
    from ..gml import EmpriseLinks, RootInfo

__all__ = ["EmpriseRules"]

_LINKS = ("objet", "habillage", "raster", "commune", "troncon")


class EmpriseRules(Family):
    """PCRS-EMP: the EmpriseEchangePCRS of each file."""

    order = 100
    rules: ClassVar[tuple[Rule, ...]] = (
        rule(
            "PCRS-EMP-001",
            "error",
            "No EmpriseEchangePCRS",
            "Pas d'EmpriseEchangePCRS",
            "the file has no EmpriseEchangePCRS",
            "le fichier n'a pas d'EmpriseEchangePCRS",
            "deliver one EmpriseEchangePCRS per file, linking the objects it publishes",
            "livrer une EmpriseEchangePCRS par fichier, liée aux objets qu'elle publie",
            "B.3.3",
        ),
        rule(
            "PCRS-EMP-002",
            "warning",
            "Several EmpriseEchangePCRS",
            "Plusieurs EmpriseEchangePCRS",
            "the file has {count} EmpriseEchangePCRS; the standard recommends one file per emprise",
            "le fichier a {count} EmpriseEchangePCRS ; le standard recommande un fichier par emprise",
            "split the delivery spatially, one file per emprise",
            "découper la livraison spatialement, un fichier par emprise",
            "C.1",
        ),
        rule(
            "PCRS-EMP-003",
            "error",
            "Object outside the emprise",
            "Objet hors emprise",
            "the object lies entirely outside the EmpriseEchangePCRS (beyond {tol} m)",
            "l'objet est entièrement hors de l'EmpriseEchangePCRS (au-delà de {tol} m)",
            "move it to the file of its emprise, or fix its coordinates",
            "le placer dans le fichier de son emprise, ou corriger ses coordonnées",
            "B.3.3",
        ),
        rule(
            "PCRS-EMP-004",
            "warning",
            "Object not published by the emprise",
            "Objet non publié",
            "{count} object(s) of this file are not linked from the EmpriseEchangePCRS "
            "(objet/habillage); first one here",
            "{count} objet(s) de ce fichier ne sont pas liés depuis l'EmpriseEchangePCRS "
            "(objet/habillage) ; le premier ici",
            "list every object in the emprise's objet or habillage links",
            "lister chaque objet dans les liens objet ou habillage de l'emprise",
            "B.3.3",
        ),
    )

    def __init__(self, validator: Validator):
        super().__init__(validator)
        self._emprises: list[tuple[Loc, Any]] = []  # (location, shape)
        self._links = 0

    @on("start_file", 0)
    def reset(self, st: FileState, root: RootInfo | None) -> None:
        self._emprises = []
        self._links = 0

    @on("emprise_links", 10)
    def count_links(self, st: FileState, links: EmpriseLinks) -> None:
        self._links += len(links)

    @on("feature", 80, classes=("EmpriseEchangePCRS",))
    def collect(self, fv: FeatureView) -> None:
        """Keep each emprise's shape; count its links, mark the inline features it holds."""
        f, st = fv.f, fv.st
        if f.cls != "EmpriseEchangePCRS":
            return
        self._emprises.append((fv.loc, fv.geom.shape if fv.geom is not None else None))
        for p in f.materialise():
            if p.name in _LINKS and (p.href or p.inline is not None):
                self._links += 1
                if p.inline is not None and p.inline.gml_id in st.gml_ids:
                    st.f_flags[st.gml_ids[p.inline.gml_id]] |= 4

    @on("feature", 110)
    def flags(self, fv: FeatureView) -> None:
        """Whether the feature must lie inside the emprise (1), be linked from it (2)."""
        info, geom = fv.info, fv.geom
        if info is None:  # (not a class of the model: PCRS-CLASS-*)
            return
        flags = 0
        if info.inside and geom is not None and geom.bounds is not None:
            flags |= 1
        if fv.f.parent is None and info.published:
            flags |= 2
        fv.st.f_flags[fv.serial] |= flags

    @on("end_file", 70)
    def inside(self, st: FileState) -> None:
        """One emprise (PCRS-EMP-001, -002), every object inside it (PCRS-EMP-003)."""
        tol = self.v.options.emprise_tolerance
        n = len(self._emprises)
        if n == 0:
            self.v.emit("PCRS-EMP-001", None)
            return
        if n > 1:
            self.v.emit("PCRS-EMP-002", self._emprises[1][0], count=n)
        flags = np.frombuffer(bytes(st.f_flags), dtype=np.uint8)
        shapes = [s for _, s in self._emprises if s is not None and not s.is_empty]
        if shapes and flags.size:
            area = (
                shapely.union_all(shapes).buffer(tol) if len(shapes) > 1 else shapes[0].buffer(tol)
            )
            shapely.prepare(area)
            boxes = np.frombuffer(st.f_box, dtype=np.float64).reshape(-1, 4)
            check = np.flatnonzero((flags & 1).astype(bool) & np.isfinite(boxes).all(axis=1))
            for start in range(0, check.size, 100_000):
                part = check[start : start + 100_000]
                b = boxes[part]
                hit = shapely.intersects(area, shapely.box(b[:, 0], b[:, 1], b[:, 2], b[:, 3]))
                for j in part[~hit]:
                    self.v.emit("PCRS-EMP-003", st.loc(int(j)), "geometrie", tol=f"{tol:g}")

    @on("end_file", 90)
    def linked(self, st: FileState) -> None:
        """Every published object linked from the emprise (PCRS-EMP-004, once)."""
        if not self._emprises or not self._links:
            return
        flags = np.frombuffer(bytes(st.f_flags), dtype=np.uint8)
        missing = np.flatnonzero((flags & 2).astype(bool) & ~(flags & 4).astype(bool))
        if missing.size:
            self.v.emit("PCRS-EMP-004", st.loc(int(missing[0])), count=int(missing.size))
