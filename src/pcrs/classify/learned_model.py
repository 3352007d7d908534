"""The model format of the learned classifier, and its prediction without scikit-learn.

A model is a folder of two files, never a pickle:

- ``model.json``: the metadata — ``format`` (``"pcrs-gbt"``), ``format_version``,
  the class codes, the feature names and :data:`~pcrs.classify.learned_features.FEATURE_VERSION`,
  the pcrs and scikit-learn versions it was trained with, the baseline (raw
  score before any tree), the number of trees per boosting iteration, the
  SHA-256 of ``trees.npz``, and free training notes;
- ``trees.npz``: the nodes of every tree, flat (``numpy.load`` with
  ``allow_pickle=False``): ``feature`` (int32), ``threshold`` (float64),
  ``left`` / ``right`` (int32, indices into the flat arrays), ``value``
  (float64, the leaf values), ``missing_left`` and ``is_leaf`` (uint8), plus
  ``tree_start`` (int64, the root of each tree) and ``tree_class`` (int32, the
  column of the raw score the tree adds to).

**How scikit-learn's trees are read.** ``HistGradientBoostingClassifier`` bins
each feature into at most 255 bins while it trains, but each fitted tree
(``_predictors[i][k].nodes``) also stores ``num_threshold``, the split as a
value of the raw feature: the upper edge of the bin ``bin_threshold`` — a
midpoint between two distinct training values (or two quantiles). A point goes
left when ``x <= num_threshold``, and a NaN goes the way ``missing_go_to_left``
says. Those are the numbers exported; categorical splits are not used (every
feature is numeric), so the bitsets are not needed. The raw score of class
column ``c`` is the baseline plus the leaf values of the trees of column ``c``;
probabilities are the softmax of the scores (several classes) or the logistic
of the one score (two classes) — what ``predict_proba`` does. The test suite
checks that :meth:`GbtModel.predict_proba` equals scikit-learn's to 1e-9.

The traversal runs in a numba kernel (blocks of 256 points walk every tree in
turn, blocks spread over numba's threads) with a numpy fallback that walks all
trees at once, level by level, about 8 times slower (``docs/classification.md``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._compiled import kernels_import
from .._version import __version__
from ..errors import PcrsError
from .learned_features import FEATURE_NAMES, FEATURE_VERSION

__all__ = ["FORMAT", "FORMAT_VERSION", "GbtModel", "ModelError", "load_model"]

FORMAT = "pcrs-gbt"
FORMAT_VERSION = 1

_ARRAYS = {
    "feature": np.int32,
    "threshold": np.float64,
    "left": np.int32,
    "right": np.int32,
    "value": np.float64,
    "missing_left": np.uint8,
    "is_leaf": np.uint8,
    "tree_start": np.int64,
    "tree_class": np.int32,
}


class ModelError(PcrsError, ValueError):
    """A model folder that cannot be used: missing, tampered with, or of another version."""


@dataclass
class GbtModel:
    """Gradient-boosted trees in the explicit format of this module.

    Attributes
    ----------
    classes : ndarray of int
        Class code of each probability column.
    feature_names : tuple of str
    feature_version : str
    baseline : ndarray of float64, shape (n_columns,)
        Raw score before any tree (one column for two classes).
    arrays : dict of ndarray
        The flat tree arrays (see the module documentation).
    meta : dict
        Everything else of ``model.json`` (versions, training notes, model card fields).
    """

    classes: np.ndarray
    feature_names: tuple[str, ...]
    feature_version: str
    baseline: np.ndarray
    arrays: dict[str, np.ndarray]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n_trees(self) -> int:
        return int(self.arrays["tree_start"].size)

    # --- prediction ---------------------------------------------------------------

    def raw_scores(self, X: np.ndarray, *, chunk: int = 200_000) -> np.ndarray:
        """Baseline plus the sum of the leaf values: shape (n, n_columns)."""
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != len(self.feature_names):
            raise ModelError(
                f"the model needs {len(self.feature_names)} features per point, "
                f"got an array of shape {X.shape}"
            )
        n = X.shape[0]
        out = np.empty((n, self.baseline.size), np.float64)
        a = self.arrays
        for s in range(0, n, chunk):
            part = np.ascontiguousarray(X[s : s + chunk], dtype=np.float64)
            out[s : s + chunk] = _traverse(part, a, self.baseline)
        return out

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities, columns in the order of :attr:`classes`."""
        raw = self.raw_scores(X)
        if raw.shape[1] == 1:
            p1 = 1.0 / (1.0 + np.exp(-raw[:, 0]))
            return np.column_stack([1.0 - p1, p1])
        raw -= raw.max(axis=1, keepdims=True)
        np.exp(raw, out=raw)
        raw /= raw.sum(axis=1, keepdims=True)
        return raw

    def predict(self, X: np.ndarray) -> np.ndarray:
        """The most probable class code of each row."""
        raw = self.raw_scores(X)
        if raw.shape[1] == 1:
            return self.classes[(raw[:, 0] > 0).astype(np.int64)]
        return self.classes[np.argmax(raw, axis=1)]

    # --- files ----------------------------------------------------------------------

    def save(self, folder: str | Path) -> Path:
        """Write ``model.json`` and ``trees.npz`` into ``folder`` (created)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        npz = folder / "trees.npz"
        # arrays only: a plain zip of .npy files that numpy reads with allow_pickle=False
        arrays: dict[str, Any] = {k: np.asarray(v, _ARRAYS[k]) for k, v in self.arrays.items()}
        np.savez_compressed(npz, **arrays)
        meta = dict(self.meta)
        meta.update(
            format=FORMAT,
            format_version=FORMAT_VERSION,
            classes=[int(c) for c in self.classes],
            feature_names=list(self.feature_names),
            feature_version=self.feature_version,
            baseline=[float(b) for b in self.baseline],
            trees_sha256=_sha256(npz),
        )
        meta.setdefault("pcrs_version", __version__)
        (folder / "model.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        return folder


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_model(folder: str | Path) -> GbtModel:
    """Read a model folder written by :meth:`GbtModel.save` (no unpickling).

    Raises
    ------
    ModelError
        The folder or a file is missing, ``trees.npz`` does not match the
        SHA-256 recorded in ``model.json``, the format or feature version is
        not one this pcrs knows, or the arrays are inconsistent.
    """
    folder = Path(folder)
    meta_path, npz = folder / "model.json", folder / "trees.npz"
    if not meta_path.is_file() or not npz.is_file():
        raise ModelError(
            f"{str(folder)!r} is not a pcrs model folder (needs model.json and trees.npz); "
            "train one with 'pcrs train'"
        )
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{meta_path}: not valid JSON ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelError(f"{meta_path}: not a {FORMAT!r} model")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelError(
            f"{meta_path}: model format version {meta.get('format_version')!r}; this pcrs "
            f"reads version {FORMAT_VERSION}: retrain the model with this pcrs"
        )
    if meta.get("feature_version") != FEATURE_VERSION:
        raise ModelError(
            f"{meta_path}: trained on features {meta.get('feature_version')!r}; this pcrs "
            f"computes {FEATURE_VERSION!r}: retrain the model with this pcrs"
        )
    if list(meta.get("feature_names", [])) != list(FEATURE_NAMES):
        raise ModelError(f"{meta_path}: its feature names are not those of {FEATURE_VERSION!r}")
    if meta.get("trees_sha256") != _sha256(npz):
        raise ModelError(
            f"{npz}: its SHA-256 differs from the one in model.json: the file was changed "
            "or damaged; get the model folder again"
        )
    try:
        with np.load(npz, allow_pickle=False) as data:
            arrays = {k: np.asarray(data[k], dt) for k, dt in _ARRAYS.items()}
    except (KeyError, ValueError, OSError) as exc:
        raise ModelError(f"{npz}: unreadable tree arrays ({exc})") from exc
    model = GbtModel(
        classes=np.asarray(meta["classes"], np.int64),
        feature_names=tuple(meta["feature_names"]),
        feature_version=str(meta["feature_version"]),
        baseline=np.asarray(meta["baseline"], np.float64),
        arrays=arrays,
        meta=meta,
    )
    _check(model, npz)
    return model


def _check(model: GbtModel, where: Path) -> None:
    a = model.arrays
    n_nodes = a["feature"].size
    if any(a[k].size != n_nodes for k in ("threshold", "left", "right", "value", "is_leaf")):
        raise ModelError(f"{where}: node arrays of different lengths")
    inner = a["is_leaf"] == 0
    nf = len(model.feature_names)
    if inner.any() and (
        a["feature"][inner].min() < 0
        or a["feature"][inner].max() >= nf
        or a["left"][inner].min() < 0
        or a["left"][inner].max() >= n_nodes
        or a["right"][inner].min() < 0
        or a["right"][inner].max() >= n_nodes
    ):
        raise ModelError(f"{where}: node indices out of range")
    n_cols = model.baseline.size
    expect = 1 if model.classes.size == 2 else model.classes.size
    if n_cols != expect or model.classes.size < 2:
        raise ModelError(f"{where}: {model.classes.size} classes but {n_cols} score columns")
    ts, tc = a["tree_start"], a["tree_class"]
    if ts.size != tc.size or (ts.size and (ts.min() < 0 or ts.max() >= n_nodes)):
        raise ModelError(f"{where}: tree roots out of range")
    if tc.size and (tc.min() < 0 or tc.max() >= n_cols):
        raise ModelError(f"{where}: tree score columns out of range")
    # children come after their parent (as sklearn writes them): no cycle can loop forever
    idx = np.arange(n_nodes)
    if inner.any() and (
        (a["left"][inner] <= idx[inner]).any() or (a["right"][inner] <= idx[inner]).any()
    ):
        raise ModelError(f"{where}: a node points back to an earlier node")


# --- traversal -------------------------------------------------------------------------

_KERNELS: list[bool] = []  # decided on first use: importing numba costs time


def _have_kernels() -> bool:
    if not _KERNELS:
        _KERNELS.append(kernels_import("pcrs.classify._learned_kernels", "the numpy traversal"))
    return _KERNELS[0]


def _traverse(X: np.ndarray, a: dict[str, np.ndarray], baseline: np.ndarray) -> np.ndarray:
    if _have_kernels():
        from ._learned_kernels import raw_scores

        return raw_scores(
            X,
            a["feature"],
            a["threshold"],
            a["left"],
            a["right"],
            a["value"],
            a["missing_left"],
            a["is_leaf"],
            a["tree_start"],
            a["tree_class"],
            baseline,
        )
    return _traverse_numpy(X, a, baseline)


def _traverse_numpy(
    X: np.ndarray, a: dict[str, np.ndarray], baseline: np.ndarray, rows: int = 2_000
) -> np.ndarray:
    """All trees at once, level by level, ``rows`` points at a time."""
    n = X.shape[0]
    out = np.repeat(baseline[None, :], n, axis=0)
    feat, thr = a["feature"].astype(np.int64), a["threshold"]
    left, right = a["left"].astype(np.int64), a["right"].astype(np.int64)
    leaf, mleft = a["is_leaf"].astype(bool), a["missing_left"].astype(bool)
    starts, cls = a["tree_start"], a["tree_class"]
    n_cols = baseline.size
    for s in range(0, n, rows):
        xb = X[s : s + rows]
        b = xb.shape[0]
        node = np.broadcast_to(starts, (b, starts.size)).copy()
        r = np.arange(b)[:, None]
        active = ~leaf[node]
        while active.any():
            nd = node[active]
            x = xb[np.broadcast_to(r, node.shape)[active], feat[nd]]
            go_left = np.where(np.isnan(x), mleft[nd], x <= thr[nd])
            node[active] = np.where(go_left, left[nd], right[nd])
            active = ~leaf[node]
        vals = a["value"][node]
        for c in range(n_cols):
            out[s : s + b, c] += vals[:, cls == c].sum(axis=1)
    return out
