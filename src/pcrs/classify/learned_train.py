"""Training the learned classifier: sampling, fitting, exporting the trees.

Needs scikit-learn (``pip install 'pcrs[ml]'``); prediction does not
(:mod:`pcrs.classify.learned_model`).
"""

from __future__ import annotations

import datetime as _dt
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..errors import MissingExtraError, ParameterError
from ..points import PointCloud
from .learned_features import FEATURE_NAMES, FEATURE_VERSION
from .learned_model import GbtModel

__all__ = [
    "DEFAULT_CLASSES",
    "HGB_DEFAULTS",
    "TrainingTable",
    "export_sklearn",
    "fit",
    "prepare",
    "sample",
    "train",
    "training_table",
]

#: IGN classes learned by default: ground, vegetation 3/4/5, building, water, bridge deck
DEFAULT_CLASSES = (2, 3, 4, 5, 6, 9, 17)

#: parameters of scikit-learn's HistGradientBoostingClassifier used by :func:`fit`
HGB_DEFAULTS: dict[str, Any] = {
    "max_iter": 80,
    "learning_rate": 0.15,
    "max_leaf_nodes": 31,
    "min_samples_leaf": 40,
    "l2_regularization": 1.0,
    "early_stopping": False,
}

_MISSING = "training a learned classifier needs scikit-learn: pip install 'pcrs[ml]'"


def _sklearn_hgb():
    try:
        from sklearn.ensemble import HistGradientBoostingClassifier
    except ModuleNotFoundError as exc:
        raise MissingExtraError(_MISSING) from exc
    return HistGradientBoostingClassifier


def prepare(
    cloud: PointCloud,
    *,
    ground: str = "smrf",
    run_rules: bool = True,
    workers: int = -1,
    reference_ground: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, PointCloud]:
    """Features of every point, computed as prediction computes them.

    Runs the rule steps ``noise`` and ``ground`` (and the height above ground) of
    :func:`pcrs.classify.pipeline.classify` on a copy, then
    :func:`~pcrs.classify.learned_features.point_features` with the points that
    are not noise as the support.

    ``reference_ground`` (a mask: the reference's ground and water) makes the
    height above ground come from it instead of pcrs's ground filter; training
    uses it. Measured on the shared IGN extracts (held-out urban site, features
    from SMRF at prediction): learning from the height above SMRF's ground gave
    ground IoU 0.71, learning from the height above IGN's ground 0.91 — where
    SMRF fails (slopes, forest), the height above it says little, and a model
    trained on it learns to ignore the height.

    Returns
    -------
    X : ndarray of float32, shape (n, n_features)
    noise : ndarray of bool
        Points the noise step took.
    work : PointCloud
        The copy classified by the rule steps (with ``hag``).
    """
    from .learned_features import point_features
    from .pipeline import classify

    work = classify(cloud, steps="noise,ground,height", ground=ground) if run_rules else cloud
    noise = np.isin(work.classification, (7, 18, 65))
    hag = np.asarray(work["hag"])
    if reference_ground is not None:
        from .height import height_above_ground

        ref_ground = np.asarray(reference_ground, bool) & ~noise
        if ref_ground.sum() >= 3:
            hag = height_above_ground(work, ref_ground, thin=1.0)
    X = point_features(work, hag, ~noise, workers=workers)
    return X, noise, work


@dataclass
class TrainingTable:
    """Sampled training rows: features, labels and the file each row comes from."""

    X: np.ndarray
    y: np.ndarray
    group: np.ndarray
    files: list[str] = field(default_factory=list)
    available: dict[int, int] = field(default_factory=dict)
    seconds_features: float = 0.0
    points_features: int = 0


def sample(
    labels: np.ndarray,
    group: np.ndarray,
    classes: Sequence[int],
    max_points_per_class: int,
    seed: int,
) -> np.ndarray:
    """Indices of a sample balanced per class and, within a class, per file.

    Each class gets at most ``max_points_per_class`` rows, shared evenly among the
    files holding it (a file with fewer points gives all of them and the others
    share the rest). Rows of other classes are never taken. Same seed, same rows.
    """
    rng = np.random.default_rng(seed)
    picked = []
    for c in classes:
        rows = np.flatnonzero(labels == c)
        if rows.size == 0:
            continue
        if rows.size <= max_points_per_class:
            picked.append(rows)
            continue
        files, counts = np.unique(group[rows], return_counts=True)
        # water filling: equal quotas, a small file's unused share goes to the others
        quota = np.zeros(files.size, np.int64)
        left, open_ = int(max_points_per_class), np.ones(files.size, bool)
        while left > 0 and open_.any():
            share = max(left // int(open_.sum()), 1)
            for i in np.flatnonzero(open_):
                take = min(share, int(counts[i] - quota[i]), left)
                quota[i] += take
                left -= take
                if quota[i] >= counts[i]:
                    open_[i] = False
                if left == 0:
                    break
        for f, q in zip(files, quota, strict=True):
            mine = rows[group[rows] == f]
            picked.append(np.sort(rng.choice(mine, size=int(q), replace=False)))
    return np.concatenate(picked) if picked else np.empty(0, np.int64)


def training_table(
    sources: Iterable[str | Path | PointCloud],
    *,
    classes: Sequence[int] = DEFAULT_CLASSES,
    max_points_per_class: int = 50_000,
    seed: int = 0,
    ground: str = "smrf",
    workers: int = -1,
    reference_ground: Sequence[int] | None = (2, 9),
) -> TrainingTable:
    """Features and reference classes of sampled points of classified tiles.

    Parameters
    ----------
    sources : iterable of path or PointCloud
        Classified tiles (their ``classification`` is the truth). Class 66
        (IGN's virtual points) and points flagged ``synthetic`` are dropped.
    classes : sequence of int
        Classes to learn; points of other classes are not sampled.
    max_points_per_class : int
        Rows per class at most (see :func:`sample`).
    seed : int
        Seed of the sampling.
    reference_ground : sequence of int or None
        Reference classes whose points make the ground of the height above
        ground (default IGN's ground and water, see :func:`prepare`); None: the
        height above pcrs's ground filter, as at prediction.
    """
    from ..io import las

    classes = [int(c) for c in classes]
    if len(set(classes)) < 2:
        raise ParameterError(f"a classifier needs at least 2 classes, got {classes!r}")
    if int(max_points_per_class) < 1:
        raise ParameterError(f"max_points_per_class must be positive, got {max_points_per_class!r}")
    Xs, ys, gs, names = [], [], [], []
    available: dict[int, int] = {}
    t_feat, n_feat = 0.0, 0
    for i, src in enumerate(sources):
        cloud = src if isinstance(src, PointCloud) else las.read(src)
        names.append(f"<cloud {i}>" if isinstance(src, PointCloud) else str(src))
        cloud = _real_points(cloud)
        ref = np.asarray(cloud.classification).astype(np.int64)
        t0 = time.perf_counter()
        rg = None if reference_ground is None else np.isin(ref, tuple(reference_ground))
        X, noise, _work = prepare(cloud, ground=ground, workers=workers, reference_ground=rg)
        t_feat += time.perf_counter() - t0
        n_feat += len(cloud)
        keep = np.isin(ref, classes) & ~noise
        for c in classes:
            available[c] = available.get(c, 0) + int((ref[keep] == c).sum())
        Xs.append(X[keep])
        ys.append(ref[keep])
        gs.append(np.full(int(keep.sum()), i, np.int32))
    if not Xs:
        raise ParameterError("no training tile given")
    X = np.concatenate(Xs)
    y = np.concatenate(ys)
    g = np.concatenate(gs)
    rows = sample(y, g, classes, int(max_points_per_class), int(seed))
    found = sorted(set(np.unique(y[rows]).tolist()))
    if len(found) < 2:
        raise ParameterError(
            f"the training tiles hold {found or 'none'} of the classes {classes}: "
            "a classifier needs points of at least 2 of them"
        )
    return TrainingTable(
        X=X[rows],
        y=y[rows],
        group=g[rows],
        files=names,
        available=available,
        seconds_features=t_feat,
        points_features=n_feat,
    )


def _real_points(cloud: PointCloud) -> PointCloud:
    cls = np.asarray(cloud.classification)
    real = cls != 66
    if "synthetic" in cloud:
        real &= ~np.asarray(cloud["synthetic"], bool)
    return cloud if bool(real.all()) else cloud.subset(real)


def fit(
    X: np.ndarray, y: np.ndarray, *, seed: int = 0, threads: int = 2, **params: Any
) -> tuple[Any, GbtModel]:
    """Fit a ``HistGradientBoostingClassifier`` and export it.

    Returns
    -------
    (sklearn estimator, GbtModel)
    """
    hgb = _sklearn_hgb()
    unknown = set(params) - set(HGB_DEFAULTS)
    if unknown:
        raise ParameterError(
            f"unknown training parameter(s) {sorted(unknown)}; valid: {sorted(HGB_DEFAULTS)}"
        )
    opts = {**HGB_DEFAULTS, **params}
    clf = hgb(random_state=int(seed), **opts)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=int(threads)):
        clf.fit(np.asarray(X, np.float64), np.asarray(y))
    model = export_sklearn(clf)
    model.meta["hgb_params"] = opts
    model.meta["seed"] = int(seed)
    return clf, model


def export_sklearn(clf: Any) -> GbtModel:
    """The fitted trees of a ``HistGradientBoostingClassifier`` as a :class:`GbtModel`.

    Reads ``clf._predictors`` (one list of trees per boosting iteration, one tree
    per score column) and ``clf._baseline_prediction``; the node fields used are
    ``feature_idx``, ``num_threshold``, ``left``, ``right``, ``value``,
    ``missing_go_to_left`` and ``is_leaf``. Categorical splits are refused.
    """
    import sklearn

    parts: dict[str, list[np.ndarray]] = {
        k: [] for k in ("feature", "threshold", "left", "right", "value", "missing_left", "is_leaf")
    }
    starts, tcls = [], []
    offset = 0
    for trees in clf._predictors:
        for k, pred in enumerate(trees):
            nodes = pred.nodes
            if np.any(nodes["is_categorical"]):
                raise ParameterError(
                    "categorical splits are not supported by the pcrs model format"
                )
            m = nodes.shape[0]
            leaf = nodes["is_leaf"].astype(np.uint8)
            parts["feature"].append(np.where(leaf, 0, nodes["feature_idx"]).astype(np.int32))
            parts["threshold"].append(nodes["num_threshold"].astype(np.float64))
            parts["left"].append(np.where(leaf, 0, nodes["left"].astype(np.int64) + offset))
            parts["right"].append(np.where(leaf, 0, nodes["right"].astype(np.int64) + offset))
            parts["value"].append(nodes["value"].astype(np.float64))
            parts["missing_left"].append(nodes["missing_go_to_left"].astype(np.uint8))
            parts["is_leaf"].append(leaf)
            starts.append(offset)
            tcls.append(k)
            offset += m
    arrays = {k: np.concatenate(v) for k, v in parts.items()}
    arrays["left"] = arrays["left"].astype(np.int32)
    arrays["right"] = arrays["right"].astype(np.int32)
    arrays["tree_start"] = np.asarray(starts, np.int64)
    arrays["tree_class"] = np.asarray(tcls, np.int32)
    n_features = int(clf.n_features_in_)
    names = (
        tuple(FEATURE_NAMES)
        if n_features == len(FEATURE_NAMES)
        else tuple(f"f{i}" for i in range(n_features))
    )
    return GbtModel(
        classes=np.asarray(clf.classes_, np.int64),
        feature_names=names,
        feature_version=FEATURE_VERSION if names == tuple(FEATURE_NAMES) else "custom",
        baseline=np.asarray(clf._baseline_prediction, np.float64).ravel(),
        arrays=arrays,
        meta={
            "pcrs_version": __version__,
            "sklearn_version": sklearn.__version__,
            "n_iter": int(clf.n_iter_),
        },
    )


def train(
    sources: Iterable[str | Path | PointCloud],
    output: str | Path | None = None,
    *,
    classes: Sequence[int] = DEFAULT_CLASSES,
    max_points_per_class: int = 50_000,
    seed: int = 0,
    ground: str = "smrf",
    threads: int = 2,
    notes: dict[str, Any] | None = None,
    **params: Any,
) -> GbtModel:
    """Train a learned classifier on classified tiles; write it when ``output`` is given.

    Parameters
    ----------
    sources : iterable of path or PointCloud
        Tiles whose classification is the truth.
    output : path, optional
        Model folder to write (``model.json`` + ``trees.npz``).
    classes, max_points_per_class, seed, ground
        See :func:`training_table`.
    threads : int
        Threads of the fitting.
    notes : dict, optional
        Free fields stored in ``model.json`` (a model card, say).
    **params
        Overrides of :data:`HGB_DEFAULTS`.

    Returns
    -------
    GbtModel

    Raises
    ------
    MissingExtraError
        scikit-learn is not installed.
    """
    _sklearn_hgb()  # fail before the features, not after
    sources = list(sources)
    table = training_table(
        sources,
        classes=classes,
        max_points_per_class=max_points_per_class,
        seed=seed,
        ground=ground,
    )
    t0 = time.perf_counter()
    _clf, model = fit(table.X, table.y, seed=seed, threads=threads, **params)
    seconds_fit = time.perf_counter() - t0
    counts = {int(c): int((table.y == c).sum()) for c in np.unique(table.y)}
    model.meta.update(
        trained=_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d"),
        training_files=[Path(f).name if not f.startswith("<") else f for f in table.files],
        training_rows_per_class={str(k): v for k, v in counts.items()},
        training_points_available={str(k): v for k, v in table.available.items()},
        max_points_per_class=int(max_points_per_class),
        ground_filter=ground,
        seconds_features=round(table.seconds_features, 2),
        seconds_fit=round(seconds_fit, 2),
    )
    if notes:
        model.meta.update(notes)
    if output is not None:
        model.save(output)
    return model
