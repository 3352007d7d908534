"""Coordinate reference system: ``srsName`` present and allowed for PCRS, one per file, and
every object inside the CRS's area of use (this is what catches swapped X/Y)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from ._base import Family, Loc, Rule, on, rule

if TYPE_CHECKING:
    from ..engine import FeatureView, FileState, Validator
    from ..gml import RootInfo

__all__ = ["CrsRules"]

#: information classes, which may use a geographic CRS
_INFO_CLASSES = {"InitiativePCRS", "EmpriseDisponibilitePCRS"}
_GEOGRAPHIC_OK_FOR_INFO = {4326, 4171, 4258, 4965}


class CrsRules(Family):
    """PCRS-CRS: the CRS of the geometries."""

    order = 90
    rules: ClassVar[tuple[Rule, ...]] = (
        rule(
            "PCRS-CRS-001",
            "error",
            "No CRS",
            "Pas de système de coordonnées",
            "{count} geometries have no srsName and none is given anywhere in the file",
            "{count} géométries n'ont pas de srsName et aucun n'est donné dans le fichier",
            'write srsName="EPSG:2154" (or the CC zone used) on every geometry',
            'écrire srsName="EPSG:2154" (ou la zone CC utilisée) sur chaque géométrie',
            "B.1.4",
        ),
        rule(
            "PCRS-CRS-002",
            "error",
            "CRS not allowed",
            "Système non admis",
            "srsName {value!r} ({name}) is not a CRS allowed for PCRS",
            "srsName {value!r} ({name}) n'est pas un système admis pour le PCRS",
            "use EPSG:2154, a CC zone EPSG:3942-3950, or the legal system overseas",
            "utiliser EPSG:2154, une zone CC EPSG:3942-3950, ou le système légal outre-mer",
            "B.1.4",
        ),
        rule(
            "PCRS-CRS-003",
            "error",
            "Several CRS in one file",
            "Plusieurs systèmes dans un fichier",
            "the file uses {count} CRS: {value}",
            "le fichier emploie {count} systèmes : {value}",
            "export every geometry in one CRS",
            "exporter toutes les géométries dans un seul système",
            "B.1.4",
        ),
        rule(
            "PCRS-CRS-004",
            "error",
            "Outside the CRS area",
            "Hors de l'emprise du système",
            "the geometry lies outside the area of use of {value} ({count} such objects in this "
            "file): swapped X/Y, or a wrong srsName",
            "la géométrie est hors du domaine d'emploi de {value} ({count} objets dans ce cas "
            "dans ce fichier) : X/Y inversés ou srsName erroné",
            "check the axis order (easting first) and the srsName",
            "vérifier l'ordre des axes (X d'abord) et le srsName",
            "B.1.4",
        ),
        rule(
            "PCRS-CRS-005",
            "error",
            "Unknown CRS",
            "Système inconnu",
            "srsName {value!r} names no known CRS",
            "srsName {value!r} ne désigne aucun système connu",
            "write it as EPSG:<code>",
            "l'écrire EPSG:<code>",
            "B.1.4",
        ),
        rule(
            "PCRS-CRS-006",
            "warning",
            "srsDimension missing",
            "srsDimension absent",
            "{count} posList without srsDimension; read as 2D (first one here)",
            "{count} posList sans srsDimension ; lues en 2D (la première ici)",
            'write srsDimension="3" (or "2") on the geometries',
            'écrire srsDimension="3" (ou "2") sur les géométries',
            "C.1",
        ),
        rule(
            "PCRS-CRS-007",
            "warning",
            "srsName missing",
            "srsName absent",
            "{count} geometries have no srsName; {value} (used by the others) was assumed",
            "{count} géométries n'ont pas de srsName ; {value} (celui des autres) a été supposé",
            "write srsName on every geometry",
            "écrire srsName sur chaque géométrie",
            "B.1.4",
        ),
    )

    def __init__(self, validator: Validator):
        super().__init__(validator)
        self._cache: dict[str, Any] = {}
        self._no_srs: Loc | None = None
        self._no_srs_count = 0
        self._dim_assumed = 0
        self._dim_assumed_loc: Loc | None = None

    @on("start_file", 0)
    def reset(self, st: FileState, root: RootInfo | None) -> None:
        self._no_srs = None
        self._no_srs_count = 0
        self._dim_assumed = 0
        self._dim_assumed_loc = None

    @on("feature", 102)
    def record(self, fv: FeatureView) -> None:
        """Note each geometry's ``srsName`` (and whether its dimension was assumed)."""
        geom = fv.geom
        if geom is None:
            return
        loc = fv.loc
        gloc = (geom.line or loc[0], loc[1], loc[2], loc[3], loc[4], loc[5])
        if geom.dim_assumed:
            self._dim_assumed += 1
            if self._dim_assumed_loc is None:
                self._dim_assumed_loc = gloc
        if geom.srs:
            if geom.srs not in fv.st.srs:
                fv.st.srs[geom.srs] = (gloc, fv.f.cls)
        else:
            self._no_srs_count += 1
            if self._no_srs is None:
                self._no_srs = gloc

    @on("end_file", 30)
    def dimension(self, st: FileState) -> None:
        """Geometries whose dimension was assumed (PCRS-CRS-006, once)."""
        if self._dim_assumed:
            self.v.emit("PCRS-CRS-006", self._dim_assumed_loc, count=self._dim_assumed)

    def _crs(self, srs: str) -> Any:
        if srs in self._cache:
            return self._cache[srs]
        from ...errors import CRSError
        from ...io.crs import parse_crs

        try:
            crs = parse_crs(srs)
        except CRSError:
            crs = None
        self._cache[srs] = crs
        return crs

    @on("end_file", 60)
    def check(self, st: FileState) -> None:
        """Known (PCRS-CRS-005), allowed (-002), one per file (-003), present (-001, -007),
        every object in the area of use (-004)."""
        from ...io.crs import PCRS_CRS, horizontal_epsg

        emit = self.v.emit
        known: dict[str, tuple[Any, Any]] = {}
        for srs, (loc, cls) in st.srs.items():
            crs = self._crs(srs)
            if crs is None:
                emit("PCRS-CRS-005", loc, "srsName", value=srs)
                continue
            code = horizontal_epsg(crs)
            known[srs] = (crs, code)
            allowed = code in PCRS_CRS or (
                cls in _INFO_CLASSES and (code in _GEOGRAPHIC_OK_FOR_INFO or crs.is_geographic)
            )
            if not allowed:
                emit("PCRS-CRS-002", loc, "srsName", value=srs, name=crs.name)
        codes: dict[Any, str] = {}
        for srs, (_crs, code) in known.items():
            codes.setdefault(code, srs)
        if len(codes) > 1:
            loc = st.srs[list(codes.values())[1]][0]
            emit("PCRS-CRS-003", loc, "srsName", count=len(codes), value=", ".join(codes.values()))
        if self._no_srs_count:
            if len(known) == 1:
                emit(
                    "PCRS-CRS-007", self._no_srs, "srsName", count=self._no_srs_count,
                    value=next(iter(known)),
                )  # fmt: skip
            elif not known:
                emit("PCRS-CRS-001", self._no_srs, "srsName", count=self._no_srs_count)
        # area of use, on one location per feature, vectorised
        if not st.f_cls or not known:
            return
        import pyproj

        xs_all = np.frombuffer(st.f_x, dtype=np.float64)
        ys_all = np.frombuffer(st.f_y, dtype=np.float64)
        srs_idx = np.frombuffer(st.f_srs, dtype=np.int16)
        default = st.srs_list.index(next(iter(known))) if len(known) == 1 and st.srs_list else -2
        srs_idx = np.where(srs_idx < 0, default, srs_idx)
        for k, srs in enumerate(st.srs_list):
            if srs not in known:
                continue
            crs, _code = known[srs]
            area = crs.area_of_use
            if area is None:
                continue
            idx = np.flatnonzero((srs_idx == k) & np.isfinite(xs_all))
            if not idx.size:
                continue
            try:
                tr = pyproj.Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)
                lon, lat = tr.transform(xs_all[idx], ys_all[idx], errcheck=False)
            except pyproj.exceptions.ProjError:
                continue
            mx = (area.east - area.west) * 0.1
            my = (area.north - area.south) * 0.1
            lon = np.asarray(lon)
            lat = np.asarray(lat)
            inside = (
                np.isfinite(lon)
                & (lon >= area.west - mx)
                & (lon <= area.east + mx)
                & (lat >= area.south - my)
                & (lat <= area.north + my)
            )
            bad = idx[~inside]
            for j in bad[:20]:
                emit("PCRS-CRS-004", st.loc(int(j)), "geometrie", value=srs, count=len(bad))
