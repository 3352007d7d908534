"""Applying a learned model: the ``learned`` step of the classification pipeline.

:func:`pcrs.classify.pipeline.classify` with ``classifier="learned"`` runs the
rule steps ``noise`` and ``ground`` that were asked for, then this step: the
height above ground (unless the ``height`` step ran), the features of
:mod:`pcrs.classify.learned_features`, and the model's most probable class for
every point that is not noise, not ground (the ground step's ground is kept;
``learned_params={"keep_ground": False}`` lets the model relabel it too), and
whose class is unclassified (0, 1) or one of the model's classes. Other classes
already in the file (IGN's 64, 66, 67, a contractor's own codes) are kept.

Keeping the ground was chosen after the leave-one-site-out runs of
``benchmarks/eval_learned.py``: with the model relabelling the ground too,
pooled ground IoU fell from 0.913 (the ground filter) to 0.863; keeping it, 0.910
(`docs/classification.md`).
"""

from __future__ import annotations

import functools
import itertools
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ParameterError
from ..points import PointCloud
from .learned_model import GbtModel, load_model
from .pipeline import ClassifyContext, Step, register_step

__all__ = ["SHIPPED_MODEL", "predict", "resolve_model"]

#: the model shipped with pcrs (trained on IGN LiDAR HD open extracts; see its MODEL_CARD.md)
SHIPPED_MODEL = Path(__file__).resolve().parent / "models" / "lidarhd-v1"


@functools.lru_cache(maxsize=4)
def _load_cached(path: str, stamp: tuple) -> GbtModel:
    return load_model(path)


def _stamp(folder: Path) -> tuple:
    """What makes a cached model stale: the times and sizes of its two files."""
    out = []
    for name in ("model.json", "trees.npz"):
        p = folder / name
        st = p.stat() if p.is_file() else None
        out.append((st.st_mtime_ns, st.st_size) if st else None)
    return tuple(out)


def resolve_model(model: str | Path | GbtModel | None) -> GbtModel:
    """A :class:`GbtModel` from a model, a model folder, or ``None`` (the shipped model)."""
    if isinstance(model, GbtModel):
        return model
    folder = Path(SHIPPED_MODEL if model is None else model)
    return _load_cached(str(folder), _stamp(folder))


def predict(
    cloud: PointCloud,
    model: str | Path | GbtModel | None = None,
    *,
    hag: np.ndarray | None = None,
    noise: np.ndarray | None = None,
    targets: np.ndarray | None = None,
    workers: int = -1,
    chunk_points: int = 2_000_000,
    margin: float = 10.0,
) -> np.ndarray:
    """The class codes a learned model gives each point (noise points keep their class).

    Clouds of more than ``chunk_points`` points go in strips along x of about that
    many points, each read with ``margin`` metres of its neighbours, so that the
    feature matrix (108 bytes per point) never holds more than a strip; the
    column grid, the intensity ranks and the density unit are the whole cloud's.

    Parameters
    ----------
    cloud : PointCloud
    model : model folder, GbtModel or None
        ``None``: the shipped model (:data:`SHIPPED_MODEL`).
    hag : ndarray, optional
        Height above ground; needed (compute it with the ``ground`` and ``height`` steps).
    noise : ndarray of bool, optional
        Points left out (their class is returned unchanged) and kept out of the neighbourhoods.
    targets : ndarray of bool, optional
        The points to label (default every point that is not noise); the others
        keep their class, and their neighbourhood features are not computed.
    """
    from .learned_features import point_features

    m = resolve_model(model)
    n = len(cloud)
    if hag is None:
        if "hag" not in cloud:
            raise ParameterError(
                "the learned classifier needs the height above ground: run the ground "
                "step first (steps='noise,ground')"
            )
        hag = np.asarray(cloud["hag"])
    noise = np.zeros(n, bool) if noise is None else np.asarray(noise, bool)
    hag = np.asarray(hag, np.float64)
    targets = ~noise if targets is None else np.asarray(targets, bool) & ~noise
    out = np.asarray(cloud.classification).astype(np.uint8).copy()
    if n == 0 or not targets.any():
        return out
    if n <= int(chunk_points):
        X = point_features(cloud, hag, ~noise, workers=workers, query=targets)
        rows = np.flatnonzero(targets)
        out[rows] = m.predict(X[rows]).astype(np.uint8)
        return out
    from .learned_features import _rank01, density_median

    x = np.asarray(cloud.x, np.float64)
    corner = (float(x.min()), float(np.asarray(cloud.y).min()))
    ranks = _rank01(np.asarray(cloud["intensity"], np.float64)) if "intensity" in cloud else None
    med = density_median(cloud, ~noise)
    n_strips = -(-n // int(chunk_points))
    edges = np.quantile(x, np.linspace(0, 1, n_strips + 1))
    edges[-1] = np.inf
    for a, b in itertools.pairwise(edges):
        core = (x >= a) & (x < b) & targets
        if not core.any():
            continue
        part = np.flatnonzero((x >= a - margin) & (x < b + margin))
        X = point_features(
            cloud.subset(part),
            hag[part],
            ~noise[part],
            workers=workers,
            origin=corner,
            intensity_rank=None if ranks is None else ranks[part],
            density_median=med,
            query=core[part],
        )
        keep = core[part]
        out[part[keep]] = m.predict(X[keep]).astype(np.uint8)
    return out


def _run_learned(ctx: ClassifyContext) -> None:
    from .height import height_above_ground

    p = ctx.step_params("learned")
    model = resolve_model(p.pop("model", None))
    keep_ground = bool(p.pop("keep_ground", True))
    if p:
        raise ParameterError(
            f"unknown learned parameter(s) {sorted(p)}; valid: ['keep_ground', 'model']"
        )
    cloud = ctx.cloud
    cls = cloud.classification
    hag: Any = ctx.results.get("hag")
    if hag is None:
        hag = height_above_ground(cloud, cls == ctx.codes.ground, thin=1.0)
    noise = np.isin(cls, ctx.noise_codes())
    target = ~noise & np.isin(cls, (0, 1, *model.classes.tolist()))
    if keep_ground:  # the ground filter's ground stays: the model replaces the scene rules
        target &= cls != ctx.codes.ground
    pred = predict(cloud, model, hag=np.asarray(hag), noise=noise, targets=target)
    cls[target] = pred[target]


register_step(
    Step(
        "learned",
        _run_learned,
        requires=("ground",),
        rank=60,
        buffer=lambda ctx: 20.0,
        description="gradient-boosted trees over local features (classifier='learned')",
    )
)
