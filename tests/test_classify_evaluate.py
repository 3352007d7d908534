"""Evaluation metrics: confusion matrix, precision / recall / IoU, kappa, ISPRS errors."""

from __future__ import annotations

import numpy as np
import pytest

from pcrs.classify.evaluate import confusion_matrix, evaluate, ground_errors
from pcrs.errors import ParameterError


def test_confusion_matrix_rows_are_reference():
    pred = np.array([2, 2, 6, 6, 1, 2])
    ref = np.array([2, 6, 6, 6, 2, 2])
    m, labels = confusion_matrix(pred, ref)
    assert labels.tolist() == [1, 2, 6]
    assert m.tolist() == [[0, 0, 0], [1, 2, 0], [0, 1, 2]]
    m2, labels2 = confusion_matrix(pred, ref, labels=[6, 2])
    assert labels2.tolist() == [6, 2]
    assert m2.tolist() == [[2, 1], [0, 2]]


def test_kappa_of_a_textbook_example():
    # 2x2 table [[20, 5], [10, 15]]: po = 0.7, pe = 0.5, kappa = 0.4
    ref = np.r_[np.zeros(25), np.ones(25)].astype(int)
    pred = np.r_[np.zeros(20), np.ones(5), np.zeros(10), np.ones(15)].astype(int)
    ev = evaluate(pred, ref, ground=None)
    assert ev.kappa == pytest.approx(0.4)
    assert ev.overall_accuracy == pytest.approx(0.7)
    c0 = ev.classes[0]
    assert c0.precision == pytest.approx(20 / 30)
    assert c0.recall == pytest.approx(20 / 25)
    assert c0.iou == pytest.approx(20 / 35)


def test_isprs_errors():
    # 10 ground points, 3 rejected; 5 object points, 1 accepted
    ref = np.r_[np.ones(10), np.zeros(5)].astype(bool)
    pred = ref.copy()
    pred[:3] = False
    pred[10] = True
    e = ground_errors(pred, ref)
    assert e.type1 == pytest.approx(0.3)
    assert e.type2 == pytest.approx(0.2)
    assert e.total == pytest.approx(4 / 15)
    assert e.iou == pytest.approx(7 / 11)
    assert (e.n_ground, e.n_object) == (10, 5)


def test_evaluate_ignores_codes_and_maps_ground():
    ref = np.array([2, 9, 66, 6])
    pred = np.array([2, 2, 2, 1])
    ev = evaluate(pred, ref, ground=[2, 9], predicted_ground=2, ignore=[66])
    assert ev.ignored == 1
    assert ev.ground.total == 0.0
    d = ev.to_dict()
    assert d["points"] == 3 and d["ground"]["type1"] == 0.0


def test_evaluate_refuses_mismatched_inputs():
    with pytest.raises(ParameterError, match="same points"):
        evaluate(np.array([1, 2]), np.array([1]))
    with pytest.raises(ParameterError, match="integer class codes"):
        evaluate(np.array([1.5]), np.array([1.0]))
