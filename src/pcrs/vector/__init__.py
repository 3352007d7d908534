"""PCRS v2.0 vector deliverables: streaming GML reader, the model as data, the rules, reports.

>>> import pcrs.vector as pv
>>> report = pv.validate("delivery.gml")  # doctest: +SKIP
>>> report.has_errors, len(report.findings)  # doctest: +SKIP
"""

from .engine import Options
from .gml import ARC_TOLERANCE, Feature, GmlReader, linearise_arc
from .report import Report
from .rules import RULES, Finding, Rule
from .validate import validate

__all__ = [
    "ARC_TOLERANCE",
    "RULES",
    "Feature",
    "Finding",
    "GmlReader",
    "Options",
    "Report",
    "Rule",
    "linearise_arc",
    "validate",
]
