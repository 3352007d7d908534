"""Geometry: present, of the type the class takes, valid (checked in vectorised batches),
closed rings, no hole in an affleurant envelope, no zero-length or tiny segment, arcs of
three points, straight segments and circular arcs only, continuous curves, 2D/3D
consistency, plausible altitudes, ``precisionAltimetrique`` given exactly when Z is."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import shapely

from ._base import Family, Loc, Rule, on, rule

if TYPE_CHECKING:
    from ..engine import FeatureView, FileState, Validator
    from ..gml import RootInfo

__all__ = ["GeometryRules"]

#: polygons (and lines) whose validity waits for one vectorised check
BATCH = 4096


class GeometryRules(Family):
    """PCRS-GEOM: the geometry of each feature."""

    order = 80
    emits_only = True
    rules: ClassVar[tuple[Rule, ...]] = (
        rule(
            "PCRS-GEOM-001",
            "error",
            "Missing geometry",
            "Géométrie absente",
            "the feature has no geometry{detail}",
            "l'objet n'a pas de géométrie{detail_fr}",
            "every {cls} needs a geometrie",
            "tout {cls} doit avoir une geometrie",
            "B.1.1",
        ),
        rule(
            "PCRS-GEOM-002",
            "error",
            "Geometry type not allowed",
            "Type de géométrie interdit",
            "the geometry is a gml:{value}, whereas {cls} takes {allowed}",
            "la géométrie est un gml:{value} alors que {cls} attend {allowed}",
            "export the object with the geometry type of its class",
            "exporter l'objet avec le type de géométrie de sa classe",
            "B.1.1",
        ),
        rule(
            "PCRS-GEOM-003",
            "error",
            "Invalid geometry",
            "Géométrie invalide",
            "the geometry is invalid: {detail}",
            "la géométrie est invalide : {detail_fr}",
            "redraw it without self-intersection (no 'butterfly' polygon)",
            "la redessiner sans auto-intersection (pas de polygone « papillon »)",
            "B.1.3",
        ),
        rule(
            "PCRS-GEOM-004",
            "error",
            "Ring not closed",
            "Anneau non fermé",
            "a polygon ring does not end on its first point",
            "un anneau de polygone ne se termine pas sur son premier point",
            "repeat the first point at the end of the ring",
            "répéter le premier point à la fin de l'anneau",
            "B.1.3",
        ),
        rule(
            "PCRS-GEOM-005",
            "error",
            "Hole not allowed",
            "Trou interdit",
            "the polygon has {count} hole(s); {cls} must be a single polygon without holes",
            "le polygone a {count} trou(s) ; {cls} doit être un polygone unique sans trou",
            "remove the interior rings",
            "supprimer les anneaux intérieurs",
            "B.3.34",
        ),
        rule(
            "PCRS-GEOM-006",
            "error",
            "Zero-length segment",
            "Segment de longueur nulle",
            "{detail}",
            "{detail_fr}",
            "remove the repeated vertex",
            "supprimer le sommet répété",
            "B.1.3",
        ),
        rule(
            "PCRS-GEOM-007",
            "error",
            "Arc point count",
            "Nombre de points d'arc",
            "{detail}",
            "{detail_fr}",
            "an Arc has exactly 3 points (start, a point on the arc, end)",
            "un Arc a exactement 3 points (début, un point de l'arc, fin)",
            "B.1.1",
        ),
        rule(
            "PCRS-GEOM-008",
            "error",
            "Curve type not allowed",
            "Type de courbe interdit",
            "{detail}",
            "{detail_fr}",
            "PCRS curves are made only of straight segments and circular arcs (no splines)",
            "les courbes PCRS ne sont faites que de segments droits et d'arcs de cercle "
            "(pas de splines)",
            "B.1.1",
        ),
        rule(
            "PCRS-GEOM-009",
            "error",
            "Unreadable coordinates",
            "Coordonnées illisibles",
            "the geometry cannot be read: {detail}",
            "la géométrie est illisible : {detail}",
            "export the geometry again (posList of numbers, srsDimension numbers per point)",
            "exporter à nouveau la géométrie (posList de nombres, srsDimension nombres par point)",
            "B.1.1",
        ),
        rule(
            "PCRS-GEOM-010",
            "warning",
            "Flat arc",
            "Arc plat",
            "an arc passes through three aligned points; it was read as two straight segments",
            "un arc passe par trois points alignés ; il a été lu comme deux segments droits",
            "write it as a LineStringSegment",
            "l'écrire comme un LineStringSegment",
            "B.1.1",
        ),
        rule(
            "PCRS-GEOM-011",
            "error",
            "Discontinuous curve",
            "Courbe discontinue",
            "{detail}",
            "{detail_fr}",
            "each segment must start where the previous one ends",
            "chaque segment doit commencer où finit le précédent",
            "B.1.1",
        ),
        rule(
            "PCRS-GEOM-012",
            "warning",
            "No altitude",
            "Pas d'altitude",
            "{count} {cls} object(s) of this file are 2D (no Z); first one here",
            "{count} objet(s) {cls} de ce fichier sont en 2D (sans Z) ; le premier ici",
            "altitudes are recommended, and required for new surveys",
            "l'altimétrie est préconisée, et exigée pour les levés nouveaux",
            "B.1.1",
        ),
        rule(
            "PCRS-GEOM-013",
            "error",
            "Mixed 2D and 3D",
            "2D et 3D mélangés",
            "the geometry mixes 2D and 3D coordinates",
            "la géométrie mélange des coordonnées 2D et 3D",
            "give every vertex the same dimension (srsDimension)",
            "donner à tous les sommets la même dimension (srsDimension)",
            "B.1.1",
        ),
        rule(
            "PCRS-GEOM-014",
            "warning",
            "Altimetric precision vs Z",
            "Précision altimétrique et Z",
            "{detail}",
            "{detail_fr}",
            "give precisionAltimetrique exactly when the geometry has Z",
            "renseigner precisionAltimetrique exactement quand la géométrie a un Z",
            "B.3.15",
        ),
        rule(
            "PCRS-GEOM-015",
            "warning",
            "Implausible altitude",
            "Altitude invraisemblable",
            "Z = {value} m is outside [{zmin}, {zmax}] m",
            "Z = {value} m est hors de [{zmin}, {zmax}] m",
            "check the vertical unit and datum",
            "vérifier l'unité et le système altimétrique",
            "B.1.4",
        ),
        rule(
            "PCRS-GEOM-016",
            "warning",
            "Nearly zero-length segment",
            "Segment quasi nul",
            "{detail}",
            "{detail_fr}",
            "two vertices coincide within survey precision: merge them",
            "deux sommets sont confondus à la précision du levé près : les fusionner",
            "B.1.3",
        ),
    )

    def __init__(self, validator: Validator):
        super().__init__(validator)
        self._no_z: dict[str, list[Any]] = {}
        self._validity: list[tuple[Any, Loc]] = []

    @on("start_file", 0)
    def reset(self, st: FileState, root: RootInfo | None) -> None:
        self._no_z = {}
        self._validity = []

    @on("feature", 100)
    def geometry(self, fv: FeatureView) -> None:
        """Every per-feature geometry rule; validity is checked by batches."""
        geom = fv.geom
        if geom is None:
            if "geometrie" in fv.prop_names():
                self.v.emit(
                    "PCRS-GEOM-001", fv.loc, "geometrie",
                    detail=" (<geometrie> is empty; the XSD lets this through)",
                    detail_fr=" (<geometrie> est vide ; le XSD le laisse passer)",
                )  # fmt: skip
            return
        emit = self.v.emit
        f, info, loc = fv.f, fv.info, fv.loc
        if info is None:  # (not a class of the model: PCRS-CLASS-*)
            return
        gloc = (geom.line or loc[0], loc[1], loc[2], loc[3], loc[4], loc[5])
        allowed = info.geometry
        if allowed and geom.kind not in allowed:
            emit(
                "PCRS-GEOM-002", gloc, "geometrie", value=geom.kind,
                allowed=" or ".join("gml:" + k for k in allowed),
            )  # fmt: skip
        for code, detail, px, py in geom.problems:
            ploc = gloc if px is None else (gloc[0], gloc[1], gloc[2], gloc[3], px, py)
            if code == "zero_length":
                emit(
                    "PCRS-GEOM-006", ploc, "geometrie", detail=detail,
                    detail_fr=detail.replace("segment(s) between identical points",
                                             "segment(s) entre deux points identiques"),
                )  # fmt: skip
            elif code == "short_segment":
                emit(
                    "PCRS-GEOM-016", ploc, "geometrie", detail=detail,
                    detail_fr=detail.replace("shorter than", "de moins de").replace(
                        "shortest", "le plus court"
                    ),
                )  # fmt: skip
            elif code == "arc_points":
                emit(
                    "PCRS-GEOM-007", ploc, "geometrie", detail=detail,
                    detail_fr=detail.replace("with", "avec").replace("required", "requis"),
                )  # fmt: skip
            elif code == "segment_type":
                emit(
                    "PCRS-GEOM-008", ploc, "geometrie", detail=detail,
                    detail_fr=detail.replace("only straight segments and arcs",
                                             "seuls segments droits et arcs")
                    .replace("is not a curve PCRS accepts", "n'est pas une courbe admise"),
                )  # fmt: skip
            elif code == "coords":
                emit("PCRS-GEOM-009", ploc, "geometrie", detail=detail)
            elif code == "ring_open":
                emit("PCRS-GEOM-004", ploc, "geometrie")
            elif code == "arc_collinear":
                emit("PCRS-GEOM-010", ploc, "geometrie")
            elif code == "discontinuous":
                emit(
                    "PCRS-GEOM-011", ploc, "geometrie", detail=detail,
                    detail_fr=detail.replace(
                        "consecutive segments do not touch",
                        "des segments consécutifs ne se touchent pas",
                    ).replace("gap", "écart"),
                )  # fmt: skip
        if len(geom.dims) > 1:
            emit("PCRS-GEOM-013", gloc, "geometrie")
        if geom.spec is None or geom.bounds is None:
            return
        has_z = geom.zrange is not None
        if info.objet:
            pa = fv.texts.get("precisionAltimetrique")
            if not has_z:
                rec = self._no_z.setdefault(f.cls, [0, gloc])
                rec[0] += 1
                if pa:
                    emit(
                        "PCRS-GEOM-014", gloc, "precisionAltimetrique",
                        detail="precisionAltimetrique is given but the geometry has no Z",
                        detail_fr="precisionAltimetrique est donnée mais la géométrie n'a pas de Z",
                    )  # fmt: skip
            elif not pa:
                emit(
                    "PCRS-GEOM-014", gloc, "precisionAltimetrique",
                    detail="the geometry has Z but no precisionAltimetrique",
                    detail_fr="la géométrie a un Z mais pas de precisionAltimetrique",
                )  # fmt: skip
        if geom.zrange is not None:
            zmin, zmax = self.v.options.z_range
            lo, hi = geom.zrange
            if lo < zmin or hi > zmax:
                bad = lo if lo < zmin else hi
                emit(
                    "PCRS-GEOM-015", gloc, "geometrie", value=f"{bad:g}", zmin=f"{zmin:g}",
                    zmax=f"{zmax:g}",
                )  # fmt: skip
        if f.cls == "AffleurantEnveloppePCRS" and geom.holes:
            emit("PCRS-GEOM-005", gloc, "geometrie", count=geom.holes)
        spec: Any = geom.spec
        kind = spec[0]
        if kind in ("Polygon", "MultiPolygon") or f.cls == "PilierParticulierPCRS":
            if kind == "Polygon" and not spec[2] and geom._shape is None:
                # a polygon without holes: its shell (>= 4 finite vertices) is turned into
                # a shapely polygon with the others of the batch, in one call
                self._validity.append((spec[1], gloc))
            else:
                shape = geom.shape
                if shape is None:
                    return
                self._validity.append((shape, gloc))
            if len(self._validity) >= BATCH:
                self.flush()

    @on("end_file", 10)
    def flush_at_end(self, st: FileState) -> None:
        self.flush()

    def flush(self) -> None:
        """Check the validity of the batch of polygons and lines (PCRS-GEOM-003)."""
        if not self._validity:
            return
        items = self._validity
        self._validity = []
        shapes = np.empty(len(items), dtype=object)
        locs = [loc for _, loc in items]
        shells: dict[int, list[int]] = {}  # coordinate dimension -> positions of bare shells
        for i, (s, _) in enumerate(items):
            if isinstance(s, np.ndarray):
                shells.setdefault(s.shape[1], []).append(i)
            else:
                shapes[i] = s
        for pos in shells.values():
            arrays = [items[i][0] for i in pos]
            sizes = [len(a) for a in arrays]
            rings = shapely.linearrings(
                np.concatenate(arrays), indices=np.repeat(np.arange(len(pos)), sizes)
            )
            shapes[pos] = shapely.polygons(rings)
        is_poly = shapely.get_type_id(shapes) >= 3
        valid = np.ones(len(shapes), bool)
        if is_poly.any():
            valid[is_poly] = shapely.is_valid(shapes[is_poly])
        lines = ~is_poly
        if lines.any():
            valid[lines] = shapely.is_simple(shapes[lines])
        for k in np.flatnonzero(~valid):
            i = int(k)
            loc = locs[i]
            if is_poly[i]:
                reason = shapely.is_valid_reason(shapes[i])
            else:
                reason = "Self-intersection of the line"
            m = re.search(r"\[([-\d.eE+]+) ([-\d.eE+]+)", reason)
            if m:
                loc = (loc[0], loc[1], loc[2], loc[3], float(m.group(1)), float(m.group(2)))
            fr = (
                reason.replace("Self-intersection", "auto-intersection")
                .replace("Ring Self-intersection", "auto-intersection d'anneau")
                .replace("Too few points", "trop peu de points")
                .replace("Hole lies outside shell", "trou hors du contour")
                .replace("Interior is disconnected", "intérieur non connexe")
                .replace("of the line", "de la ligne")
            )
            self.v.emit("PCRS-GEOM-003", loc, "geometrie", detail=reason, detail_fr=fr)

    @on("end_file", 40)
    def no_z(self, st: FileState) -> None:
        """Objects of a class drawn without Z (PCRS-GEOM-012, once per class)."""
        for cls, (count, loc) in self._no_z.items():
            self.v.emit("PCRS-GEOM-012", loc, "geometrie", count=count, cls=cls)
