"""Compare two classifications of the same points.

Confusion matrix, per-class precision / recall / IoU, overall accuracy, Cohen's
kappa and, for a ground class, the ISPRS filter-test errors (Sithole &
Vosselman 2004):

- Type I: bare-earth points rejected as objects / all bare-earth points;
- Type II: object points accepted as bare earth / all object points;
- Total: all misclassified points / all points.

Rows of the confusion matrix are the reference classes, columns the predicted
ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from ..errors import ParameterError

__all__ = [
    "ClassScores",
    "Evaluation",
    "GroundErrors",
    "confusion_matrix",
    "evaluate",
    "ground_errors",
]


def _as_labels(values: Any, name: str) -> np.ndarray:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ParameterError(f"{name} must be a 1-D array of class codes, got shape {arr.shape}")
    if arr.dtype == bool:
        return arr.astype(np.int64)
    if not np.issubdtype(arr.dtype, np.integer):
        raise ParameterError(f"{name} must hold integer class codes, got dtype {arr.dtype}")
    return arr.astype(np.int64)


def confusion_matrix(
    predicted: np.ndarray, reference: np.ndarray, labels: Iterable[int] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Counts of (reference, predicted) class pairs.

    Parameters
    ----------
    predicted, reference : ndarray of int (or bool)
        One class code per point, same length.
    labels : iterable of int, optional
        Classes, in order; default all codes present in either array. Points
        whose codes are not in ``labels`` are not counted.

    Returns
    -------
    matrix : ndarray of int64, shape (k, k)
        ``matrix[i, j]`` = points of reference class ``labels[i]`` predicted as ``labels[j]``.
    labels : ndarray of int64

    Examples
    --------
    >>> m, lab = confusion_matrix(np.array([2, 2, 1]), np.array([2, 1, 1]))
    >>> lab.tolist(), m.tolist()
    ([1, 2], [[1, 1], [0, 1]])
    """
    pred = _as_labels(predicted, "predicted")
    ref = _as_labels(reference, "reference")
    if pred.shape != ref.shape:
        raise ParameterError(
            f"predicted and reference have {pred.size} and {ref.size} points; "
            "they must classify the same points in the same order"
        )
    lab = np.unique(np.concatenate([pred, ref])) if labels is None else np.asarray(list(labels))
    lab = np.asarray(lab, np.int64)
    if lab.size == 0:
        return np.zeros((0, 0), np.int64), lab
    if np.unique(lab).size != lab.size:
        raise ParameterError(f"labels must be unique, got {lab.tolist()}")
    order = np.argsort(lab)
    sorted_lab = lab[order]
    pi = np.searchsorted(sorted_lab, pred)
    ri = np.searchsorted(sorted_lab, ref)
    pi_c = np.clip(pi, 0, lab.size - 1)
    ri_c = np.clip(ri, 0, lab.size - 1)
    ok = (sorted_lab[pi_c] == pred) & (sorted_lab[ri_c] == ref)
    # back to the caller's label order
    rank = np.empty_like(order)
    rank[order] = np.arange(lab.size)
    k = lab.size
    flat = rank[ri_c[ok]] * k + rank[pi_c[ok]]
    matrix = np.bincount(flat, minlength=k * k).reshape(k, k).astype(np.int64)
    return matrix, lab


@dataclass(frozen=True)
class ClassScores:
    """Scores of one class."""

    code: int
    support: int
    predicted: int
    precision: float
    recall: float
    iou: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "support": self.support,
            "predicted": self.predicted,
            "precision": self.precision,
            "recall": self.recall,
            "iou": self.iou,
        }


@dataclass(frozen=True)
class GroundErrors:
    """ISPRS filter-test errors of a ground / non-ground classification (fractions, 0-1)."""

    type1: float
    type2: float
    total: float
    kappa: float
    iou: float
    n_ground: int
    n_object: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "type1": self.type1,
            "type2": self.type2,
            "total": self.total,
            "kappa": self.kappa,
            "ground_iou": self.iou,
            "reference_ground": self.n_ground,
            "reference_object": self.n_object,
        }


@dataclass(frozen=True)
class Evaluation:
    """Result of :func:`evaluate`."""

    labels: np.ndarray
    matrix: np.ndarray
    classes: list[ClassScores]
    overall_accuracy: float
    kappa: float
    ground: GroundErrors | None = None
    ignored: int = 0
    names: dict[int, str] = field(default_factory=dict)

    @property
    def n_points(self) -> int:
        return int(self.matrix.sum())

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dictionary."""
        return {
            "points": self.n_points,
            "ignored": self.ignored,
            "overall_accuracy": self.overall_accuracy,
            "kappa": self.kappa,
            "labels": [int(v) for v in self.labels],
            "confusion_matrix": self.matrix.tolist(),
            "classes": [c.to_dict() | {"name": self.names.get(c.code, "")} for c in self.classes],
            "ground": self.ground.to_dict() if self.ground is not None else None,
        }


def _code_list(codes: int | Iterable[int]) -> list[int]:
    """``[codes]`` for one code (a scalar for numpy.isscalar), else ``list(codes)``."""
    # numpy.isscalar narrows only its true branch: the casts say what it decided
    return [cast(int, codes)] if np.isscalar(codes) else list(cast("Iterable[int]", codes))


def _safe(num: float, den: float) -> float:
    return float(num) / float(den) if den else float("nan")


def _kappa(matrix: np.ndarray) -> float:
    n = matrix.sum()
    if n == 0:
        return float("nan")
    po = np.trace(matrix) / n
    pe = float((matrix.sum(axis=0) * matrix.sum(axis=1)).sum()) / float(n) ** 2
    if pe == 1.0:
        return 1.0 if po == 1.0 else float("nan")
    return float((po - pe) / (1.0 - pe))


def ground_errors(predicted_ground: np.ndarray, reference_ground: np.ndarray) -> GroundErrors:
    """ISPRS Type I / Type II / Total errors, kappa and ground IoU of two ground masks.

    Parameters
    ----------
    predicted_ground, reference_ground : ndarray of bool
        True where a point is (predicted / truly) bare earth.

    Returns
    -------
    GroundErrors

    Examples
    --------
    >>> e = ground_errors(np.array([1, 1, 0, 0], bool), np.array([1, 0, 0, 1], bool))
    >>> e.type1, e.type2, e.total
    (0.5, 0.5, 0.5)
    """
    p = np.asarray(predicted_ground, bool)
    r = np.asarray(reference_ground, bool)
    if p.shape != r.shape or p.ndim != 1:
        raise ParameterError(
            f"ground masks must be 1-D and of one length, got {p.shape} and {r.shape}"
        )
    a = int(np.count_nonzero(r & p))  # ground kept
    b = int(np.count_nonzero(r & ~p))  # type I
    c = int(np.count_nonzero(~r & p))  # type II
    d = int(np.count_nonzero(~r & ~p))
    n = a + b + c + d
    m = np.array([[a, b], [c, d]])
    return GroundErrors(
        type1=_safe(b, a + b),
        type2=_safe(c, c + d),
        total=_safe(b + c, n),
        kappa=_kappa(m),
        iou=_safe(a, a + b + c),
        n_ground=a + b,
        n_object=c + d,
    )


def evaluate(
    predicted: np.ndarray,
    reference: np.ndarray,
    *,
    ground: int | Iterable[int] | None = 2,
    predicted_ground: int | Iterable[int] | None = None,
    ignore: Iterable[int] = (),
    names: dict[int, str] | None = None,
) -> Evaluation:
    """Confusion matrix and scores of a classification against a reference.

    Parameters
    ----------
    predicted, reference : ndarray of int
        Class codes per point, same points in the same order.
    ground : int or iterable of int, optional
        Reference code(s) meaning bare earth, for the ISPRS errors (default 2);
        None skips them.
    predicted_ground : int or iterable of int, optional
        Predicted code(s) meaning ground; default the same as ``ground``.
    ignore : iterable of int
        Reference codes left out of every score (e.g. 66, IGN virtual points).
    names : dict, optional
        Code → name, carried into :meth:`Evaluation.to_dict`.

    Returns
    -------
    Evaluation

    Examples
    --------
    >>> ev = evaluate(np.array([2, 2, 6, 6]), np.array([2, 6, 6, 6]))
    >>> round(ev.overall_accuracy, 2), round(ev.ground.type2, 3)
    (0.75, 0.333)
    """
    pred = _as_labels(predicted, "predicted")
    ref = _as_labels(reference, "reference")
    if pred.shape != ref.shape:
        raise ParameterError(
            f"predicted has {pred.size} points and reference {ref.size}; "
            "they must classify the same points in the same order"
        )
    ignore_codes = np.asarray(list(ignore), np.int64)
    keep = ~np.isin(ref, ignore_codes) if ignore_codes.size else np.ones(ref.shape, bool)
    ignored = int(ref.size - np.count_nonzero(keep))
    pred, ref = pred[keep], ref[keep]
    matrix, labels = confusion_matrix(pred, ref)
    classes = []
    total = matrix.sum()
    for i, code in enumerate(labels):
        tp = int(matrix[i, i])
        support = int(matrix[i].sum())
        predicted_n = int(matrix[:, i].sum())
        classes.append(
            ClassScores(
                code=int(code),
                support=support,
                predicted=predicted_n,
                precision=_safe(tp, predicted_n),
                recall=_safe(tp, support),
                iou=_safe(tp, support + predicted_n - tp),
            )
        )
    ground_result = None
    if ground is not None:
        gref = _code_list(ground)
        gpred = gref if predicted_ground is None else _code_list(predicted_ground)
        ground_result = ground_errors(np.isin(pred, gpred), np.isin(ref, gref))
    return Evaluation(
        labels=labels,
        matrix=matrix,
        classes=classes,
        overall_accuracy=_safe(np.trace(matrix), total),
        kappa=_kappa(matrix),
        ground=ground_result,
        ignored=ignored,
        names=dict(names or {}),
    )
