"""A learned classifier beside the rules: gradient-boosted trees over local features.

- :func:`train` learns classes from classified tiles (scikit-learn's
  ``HistGradientBoostingClassifier``; ``pip install 'pcrs[ml]'``) and writes a
  model folder;
- :func:`load_model` reads one back without unpickling anything, and
  :func:`predict` (or ``classify(..., classifier="learned", model=...)``)
  applies it without scikit-learn;
- :data:`SHIPPED_MODEL` is the model trained on IGN LiDAR HD open extracts
  (``benchmarks/train_shipped_model.py``), with its model card.

Modules: :mod:`~pcrs.classify.learned_features` (the features),
:mod:`~pcrs.classify.learned_model` (the format and the tree traversal),
:mod:`~pcrs.classify.learned_train` (sampling, fitting, export),
:mod:`~pcrs.classify.learned_predict` (the pipeline step).
"""

from __future__ import annotations

from .learned_features import FEATURE_NAMES, FEATURE_VERSION, point_features
from .learned_model import GbtModel, ModelError, load_model
from .learned_predict import SHIPPED_MODEL, predict, resolve_model
from .learned_train import DEFAULT_CLASSES, HGB_DEFAULTS, export_sklearn, fit, prepare, train

__all__ = [
    "DEFAULT_CLASSES",
    "FEATURE_NAMES",
    "FEATURE_VERSION",
    "HGB_DEFAULTS",
    "SHIPPED_MODEL",
    "GbtModel",
    "ModelError",
    "export_sklearn",
    "fit",
    "load_model",
    "point_features",
    "predict",
    "prepare",
    "resolve_model",
    "train",
]
