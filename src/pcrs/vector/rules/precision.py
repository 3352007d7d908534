"""Planimetric precision of the PCRS grade (``--precision``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from ..model import CODE_LISTS
from ._base import Family, Rule, on, rule

if TYPE_CHECKING:
    from ..engine import FeatureView

__all__ = ["PrecisionRules"]

#: centimetres of each code of CategoriePrecisionPCRSType
_PREC_CM = {"002": 2, "005": 5, "010": 10, "040": 40, "150": 150, "999": 999}


class PrecisionRules(Family):
    """PCRS-PREC: ``precisionPlanimetrique`` within the threshold of the options."""

    order = 104
    emits_only = True
    rules: ClassVar[tuple[Rule, ...]] = (
        rule(
            "PCRS-PREC-001",
            "warning",
            "Precision below PCRS grade",
            "Précision hors classe PCRS",
            "precisionPlanimetrique = {value!r} ({label}) is worse than the {threshold} cm of "
            "PCRS-grade objects",
            "precisionPlanimetrique = {value!r} ({label}) est moins bonne que les {threshold} cm "
            "des objets de qualité PCRS",
            "acceptable for legacy or indicative objects only",
            "admissible seulement pour des objets anciens ou indicatifs",
            "A.1",
        ),
    )

    @on("feature", 70)
    def precision(self, fv: FeatureView) -> None:
        """``precisionPlanimetrique`` at most the threshold (PCRS-PREC-001)."""
        prec = fv.texts.get("precisionPlanimetrique")
        thr = self.v.options.precision_threshold_cm
        if thr is not None and prec in _PREC_CM and _PREC_CM[prec] > thr:
            label = CODE_LISTS["CategoriePrecisionPCRSType"].values[prec]
            self.v.emit(
                "PCRS-PREC-001", fv.loc, "precisionPlanimetrique", value=prec, label=label,
                threshold=f"{thr:g}",
            )  # fmt: skip
