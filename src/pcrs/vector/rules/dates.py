"""Dates: plausible (not before ``min_date``, not in the future), a survey not after the
publication of its emprise, an acquisition not after its acceptance."""

from __future__ import annotations

import datetime as _dt
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from ..model import CLASSES
from ._base import Family, Rule, on, rule
from ._common import class_info, parse_date

if TYPE_CHECKING:
    from ..engine import FeatureView, FileState, Validator
    from ..gml import RootInfo

__all__ = ["DateRules"]


class DateRules(Family):
    """PCRS-DATE: dates of the features."""

    order = 102
    emits_only = True
    rules: ClassVar[tuple[Rule, ...]] = (
        rule(
            "PCRS-DATE-001",
            "error",
            "Dates out of order",
            "Dates incohérentes",
            "{field} = {value} is after {other_field} = {other}",
            "{field} = {value} est postérieure à {other_field} = {other}",
            "a survey cannot be later than its publication: fix one of the dates",
            "un levé ne peut pas être postérieur à sa publication : corriger l'une des dates",
            "B.3.3",
        ),
        rule(
            "PCRS-DATE-002",
            "warning",
            "Implausible date",
            "Date invraisemblable",
            "{field} = {value} {detail}",
            "{field} = {value} {detail_fr}",
            "check the date",
            "vérifier la date",
            "B.3",
        ),
    )

    def __init__(self, validator: Validator):
        super().__init__(validator)
        self._published: list[_dt.date] = []

    @on("start_file", 0)
    def reset(self, st: FileState, root: RootInfo | None) -> None:
        self._published = []

    @on("feature", 90, classes=lambda cls: cls in CLASSES and bool(class_info(cls).dates))
    def dates(self, fv: FeatureView) -> None:
        """Each date plausible (PCRS-DATE-002); a raster acquired before its acceptance
        (PCRS-DATE-001); ``dateLeve`` kept for the end of the file."""
        opts = self.v.options
        f, texts, info = fv.f, fv.texts, fv.info
        if info is None:  # (not a class of the model: PCRS-CLASS-*)
            return
        if f.cls == "EmpriseEchangePCRS":
            dp = parse_date(texts.get("datePublication") or "")
            if dp is not None:
                self._published.append(dp)
        date_leve = None
        for name in info.dates:
            txt = texts.get(name)
            if not txt:
                continue
            d = parse_date(txt)
            if d is None:
                continue
            if name == "dateLeve":
                date_leve = d
            if d < opts.min_date:
                self.v.emit(
                    "PCRS-DATE-002", fv.loc, name, field=name, value=txt,
                    detail=f"is before {opts.min_date.isoformat()}",
                    detail_fr=f"est antérieure au {opts.min_date.isoformat()}",
                )  # fmt: skip
            elif d > opts.today:
                self.v.emit(
                    "PCRS-DATE-002", fv.loc, name, field=name, value=txt,
                    detail="is in the future", detail_fr="est dans le futur",
                )  # fmt: skip
        if f.cls == "RasterPCRS":
            da = parse_date(texts.get("dateAcquisition") or "")
            dr = parse_date(texts.get("dateRecette") or "")
            if da and dr and da > dr:
                self.v.emit(
                    "PCRS-DATE-001", fv.loc, "dateAcquisition", field="dateAcquisition",
                    value=da.isoformat(), other_field="dateRecette", other=dr.isoformat(),
                )  # fmt: skip
        if date_leve is not None:
            fv.st.f_date[fv.serial] = date_leve.toordinal()

    @on("end_file", 80)
    def published(self, st: FileState) -> None:
        """``dateLeve`` not after the emprise's ``datePublication`` (PCRS-DATE-001)."""
        if not self._published or not len(st.f_flags):
            return
        pub = min(self._published)
        dates: np.ndarray = np.frombuffer(
            st.f_date, dtype=np.int64 if st.f_date.itemsize == 8 else np.int32
        )
        for j in np.flatnonzero(dates > pub.toordinal()):
            self.v.emit(
                "PCRS-DATE-001", st.loc(int(j)), "dateLeve", field="dateLeve",
                value=_dt.date.fromordinal(int(dates[j])).isoformat(),
                other_field="datePublication", other=pub.isoformat(),
            )  # fmt: skip
