"""Classification pipeline: a registry of steps run in a fixed order.

:func:`classify` runs the requested steps on a copy of a point cloud. Each step
is a :class:`Step` in :data:`STEPS`: a function that reads and updates a
:class:`ClassifyContext`, the classes it assigns (reset to "unclassified"
before the run, so re-classifying a file gives the same result as classifying
it fresh), the steps it needs before it, its rank in the run order, and the
buffer (metres) a tile needs so that its core gets the same result as the
merged cloud.

Built-in steps:

- ``noise``: isolated voxels (default) or statistical outliers, plus the
  low-point test unless ``noise_params={"low": False}``
  (:mod:`pcrs.classify.noise`) → class 65 (IGN) or 7 (ASPRS);
- ``ground``: SMRF (default), CSF or PMF (:mod:`pcrs.classify.ground`) on the
  points that are not noise → class 2;
- ``height``: height above ground from a TIN of the ground points, stored as the
  ``hag`` attribute (no class assigned).

Other modules add steps with :func:`register_step` when imported; the modules
listed in :data:`STEP_MODULES` (``pcrs.classify.scene``: water, bridges,
buildings, structures, vegetation) are imported on first use. For example
``register_step(Step("vegetation", run=..., assigns=lambda c: (c.low_vegetation, ...),
requires=("ground",), rank=40))``; the command line lists the registered steps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import ParameterError
from ..points import PointCloud
from .codes import HIGH_NOISE, LOW_POINT, ClassCodes
from .codes import codes as _codes
from .ground import GROUND_FILTERS, classify_ground, ground_buffer, refine_ground
from .height import height_above_ground
from .noise import NOISE_FILTERS, classify_noise

__all__ = [
    "CLASSIFIERS",
    "STEPS",
    "STEP_MODULES",
    "ClassifyContext",
    "Step",
    "available_steps",
    "classify",
    "classify_buffer",
    "classify_tile",
    "register_step",
]


@dataclass
class ClassifyContext:
    """What the steps share during one :func:`classify` run.

    Attributes
    ----------
    cloud : PointCloud
        The working copy; steps update ``cloud["classification"]`` and attributes.
    codes : ClassCodes
        The class codes to write.
    ground : str
        Name of the ground filter.
    params : dict
        Parameters per step name (``params["ground"]`` → keyword arguments).
    results : dict
        Outputs of the steps so far (``"noise"`` and ``"ground"`` masks, ``"hag"``).
    """

    cloud: PointCloud
    codes: ClassCodes
    ground: str = "smrf"
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)

    def step_params(self, name: str) -> dict[str, Any]:
        """Keyword parameters given for step ``name`` (a copy)."""
        return dict(self.params.get(name, {}))

    def noise_codes(self) -> tuple[int, ...]:
        """Codes that mean noise in the current scheme."""
        return tuple(sorted({self.codes.noise, LOW_POINT, HIGH_NOISE}))


@dataclass(frozen=True)
class Step:
    """One step of the pipeline.

    Attributes
    ----------
    name : str
    run : callable
        ``run(ctx: ClassifyContext) -> None``; updates ``ctx.cloud`` and ``ctx.results``.
    assigns : callable
        ``assigns(codes) -> tuple of int``: the classes this step writes; they
        are reset to ``codes.unclassified`` before the steps run.
    requires : tuple of str
        Steps that must run before (in this call, or earlier on the file when
        the classes are already there).
    rank : int
        Run order (lower first).
    buffer : callable
        ``buffer(ctx) -> float``: metres of neighbouring points a tile needs.
    """

    name: str
    run: Callable[[ClassifyContext], None]
    assigns: Callable[[ClassCodes], tuple[int, ...]] = lambda c: ()
    requires: tuple[str, ...] = ()
    rank: int = 100
    buffer: Callable[[ClassifyContext], float] = lambda ctx: 0.0
    description: str = ""


#: step name -> :class:`Step`
STEPS: dict[str, Step] = {}

#: modules that register more steps when imported; loaded on first use of the pipeline
STEP_MODULES: list[str] = ["pcrs.classify.scene", "pcrs.classify.learned_predict"]

#: classifiers of :func:`classify`: the rule steps, or a learned model after noise and ground
CLASSIFIERS = ("rules", "learned")
#: the rule steps a learned classifier keeps (it replaces the scene steps)
_BEFORE_LEARNED = ("noise", "ground", "height")
_loaded_modules: set[str] = set()


def _load_step_modules() -> None:
    import importlib

    for name in STEP_MODULES:
        if name in _loaded_modules:
            continue
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:  # an optional module that is not there
            if exc.name != name:
                raise
        _loaded_modules.add(name)


def available_steps() -> list[str]:
    """Names of the registered steps, in run order (built-in and plug-in ones)."""
    _load_step_modules()
    return [s.name for s in sorted(STEPS.values(), key=lambda s: (s.rank, s.name))]


def register_step(step: Step, *, replace: bool = False) -> None:
    """Add a step to :data:`STEPS` (``replace=True`` to override one)."""
    if not isinstance(step, Step):
        raise ParameterError(f"register_step needs a Step, got {step!r}")
    if step.name in STEPS and not replace:
        raise ParameterError(f"a step named {step.name!r} is already registered")
    STEPS[step.name] = step


# --- built-in steps -------------------------------------------------------------------

_NOISE_DEFAULT = "ivf"


def _noise_params(ctx: ClassifyContext) -> tuple[str, dict[str, Any], bool]:
    p = ctx.step_params("noise")
    method = str(p.pop("method", _NOISE_DEFAULT)).lower()
    low = bool(p.pop("low", True))
    if method not in NOISE_FILTERS:
        raise ParameterError(
            f"unknown noise filter {method!r}; choose one of {sorted(NOISE_FILTERS)}"
        )
    return method, p, low


def _run_noise(ctx: ClassifyContext) -> None:
    method, p, low = _noise_params(ctx)
    mask = classify_noise(ctx.cloud, method=method, **p)
    if low and method != "low":
        # multipath points a few metres under the ground share voxels with ground
        # points and escape the voxel filter; the low-point test finds them
        mask |= classify_noise(ctx.cloud, method="low")
    ctx.cloud.classification[mask] = ctx.codes.noise
    ctx.results["noise"] = mask


def _noise_buffer(ctx: ClassifyContext) -> float:
    method, p, low = _noise_params(ctx)
    extra = 2.5 if low else 0.0  # 3 cells of 0.5 m around, and the cell edges
    if method == "ivf":
        return max(2.0 * float(p.get("resolution", 5.0)), extra)
    if method == "low":
        return extra
    return 10.0  # SOR: global statistics; the buffer only gives edge points their neighbours


def _run_ground(ctx: ClassifyContext) -> None:
    cls = ctx.cloud.classification
    candidates = ~np.isin(cls, ctx.noise_codes())
    p = ctx.step_params("ground")
    returns = p.pop("returns", "last")
    refine = p.pop("refine", True)
    mask = classify_ground(
        ctx.cloud, method=ctx.ground, candidates=candidates, returns=returns, **p
    )
    if refine:
        # low vegetation within the filter's tolerance is not ground (IGN class 3)
        opts = refine if isinstance(refine, dict) else {}
        mask = refine_ground(ctx.cloud.x, ctx.cloud.y, ctx.cloud.z, mask, **opts)
    cls[mask] = ctx.codes.ground
    ctx.results["ground"] = mask


def _ground_buffer(ctx: ClassifyContext) -> float:
    p = ctx.step_params("ground")
    p.pop("returns", None)
    p.pop("refine", None)
    return ground_buffer(ctx.ground, **p)


def _run_height(ctx: ClassifyContext) -> None:
    p = ctx.step_params("height")
    name = p.pop("attribute", "hag")
    # a TIN of one ground point per metre: 2 cm from the full TIN, an order of magnitude
    # faster at LiDAR HD density (height_params={"thin": None} for the full TIN)
    p.setdefault("thin", 1.0)
    ground = ctx.cloud.classification == ctx.codes.ground
    ctx.cloud[name] = height_above_ground(ctx.cloud, ground, **p)
    ctx.results["hag"] = ctx.cloud[name]


register_step(
    Step(
        "noise",
        _run_noise,
        assigns=lambda c: (c.noise,),
        rank=10,
        buffer=_noise_buffer,
        description=(
            "isolated voxels (ivf) or statistical outliers (sor), plus low points "
            "(low=False to skip) -> noise class"
        ),
    )
)
register_step(
    Step(
        "ground",
        _run_ground,
        assigns=lambda c: (c.ground,),
        rank=20,
        buffer=_ground_buffer,
        description="SMRF / CSF / PMF ground filter, then low vegetation taken out -> class 2",
    )
)
register_step(
    Step(
        "height",
        _run_height,
        requires=("ground",),
        rank=30,
        buffer=lambda ctx: 20.0,
        description="height above ground (TIN of the ground points, one per metre) -> 'hag'",
    )
)


# --- front door -----------------------------------------------------------------------


def _resolve_steps(steps: Sequence[str] | str) -> list[Step]:
    _load_step_modules()
    if isinstance(steps, str):
        steps = [s for s in steps.split(",") if s.strip()]
    names = [str(s).strip().lower() for s in steps]
    if not names:
        raise ParameterError(f"no step given; choose among {sorted(STEPS)}")
    unknown = [n for n in names if n not in STEPS]
    if unknown:
        raise ParameterError(f"unknown step(s) {unknown}; choose among {sorted(STEPS)}")
    return sorted({STEPS[n] for n in names}, key=lambda s: (s.rank, s.name))


def _split_params(steps: list[Step], params: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for key, value in params.items():
        if not key.endswith("_params") or key[: -len("_params")] not in STEPS:
            valid = [f"{n}_params" for n in STEPS]
            raise ParameterError(f"unknown keyword {key!r}; step parameters are passed as {valid}")
        if value is None:
            continue
        if not isinstance(value, Mapping):
            raise ParameterError(f"{key} must be a dict of parameters, got {value!r}")
        out[key[: -len("_params")]] = dict(value)
    return out


def _context(
    cloud: PointCloud, steps, ground: str, codes: str | ClassCodes, params: Mapping[str, Any]
) -> tuple[list[Step], ClassifyContext]:
    chosen = _resolve_steps(steps)
    if str(ground).lower() not in GROUND_FILTERS:
        raise ParameterError(
            f"unknown ground filter {ground!r}; choose one of {sorted(GROUND_FILTERS)}"
        )
    ctx = ClassifyContext(
        cloud=cloud,
        codes=_codes(codes),
        ground=str(ground).lower(),
        params=_split_params(chosen, params),
    )
    return chosen, ctx


def _with_classifier(
    steps: Sequence[str] | str, classifier: str, model: Any, params: dict[str, Any]
) -> tuple[Sequence[str] | str, dict[str, Any]]:
    """Steps and parameters for ``classifier``: the learned one keeps noise/ground/height."""
    name = str(classifier).lower()
    if name not in CLASSIFIERS:
        raise ParameterError(
            f"unknown classifier {classifier!r}; choose one of {list(CLASSIFIERS)}"
        )
    if name == "rules":
        if model is not None:
            raise ParameterError("model= is for classifier='learned'; the rules take no model")
        return steps, params
    if isinstance(steps, str):
        steps = [s for s in steps.split(",") if s.strip()]
    kept = [s.strip().lower() for s in steps if s.strip().lower() in _BEFORE_LEARNED]
    params = dict(params)
    params["learned_params"] = {**dict(params.get("learned_params") or {}), "model": model}
    return [*kept, "learned"], params


def classify_buffer(
    steps: Sequence[str] | str = ("noise", "ground"),
    ground: str = "smrf",
    codes: str | ClassCodes = "ign",
    classifier: str = "rules",
    model: Any = None,
    **params: Any,
) -> float:
    """Buffer (metres) tiles need for :func:`classify` to give the merged cloud's classes.

    Examples
    --------
    >>> classify_buffer(("noise", "ground"))
    56.0
    """
    steps, params = _with_classifier(steps, classifier, model, params)
    chosen, ctx = _context(
        PointCloud(np.empty(0), np.empty(0), np.empty(0)), steps, ground, codes, params
    )
    return max((s.buffer(ctx) for s in chosen), default=0.0)


def classify(
    cloud: PointCloud,
    steps: Sequence[str] | str = ("noise", "ground"),
    ground: str = "smrf",
    codes: str | ClassCodes = "ign",
    classifier: str = "rules",
    model: Any = None,
    copy: bool = True,
    **params: Any,
) -> PointCloud:
    """Classify a point cloud: noise, ground, height above ground, and registered steps.

    Parameters
    ----------
    cloud : PointCloud
        Not modified (unless ``copy=False``); a classified copy is returned.
    steps : sequence of str or str
        Step names (``"noise,ground"`` also works); run in their registered
        order whatever the order given. See :data:`STEPS`.
    ground : {"smrf", "csf", "pmf"}
        Ground filter.
    codes : {"ign", "asprs"} or ClassCodes
        Class codes to write (noise is 65 in IGN, 7 in ASPRS).
    classifier : {"rules", "learned"}
        ``"learned"``: the steps ``noise``, ``ground``, ``height`` among ``steps``
        run, then a learned model replaces the scene steps
        (:mod:`pcrs.classify.learned_predict`; classes it does not know are kept).
    model : str, Path or GbtModel, optional
        The learned model (a folder written by ``pcrs train``); default the
        shipped one. Only with ``classifier="learned"``.
    **params
        ``<step>_params`` dictionaries, e.g. ``ground_params={"cell": 0.5}``,
        ``noise_params={"method": "sor", "multiplier": 3}``,
        ``height_params={"method": "nn"}``.
    copy : bool
        False: classify ``cloud`` itself and return it (its ``classification`` and the
        attributes the steps add change in place), for a caller that has no further use
        for the unclassified cloud: a copy of every point's record less in memory (about
        200 MB on 4.4 M points).

    Returns
    -------
    PointCloud
        A copy with ``classification`` updated (and ``hag`` with the height step).

    Examples
    --------
    >>> from pcrs import synth
    >>> scene = synth.make_scene(20_000, seed=4)
    >>> out = classify(scene.cloud, steps="noise,ground")
    >>> truth = scene.cloud["classification"]
    >>> bool((out["classification"][truth == 2] == 2).mean() > 0.9)
    True
    >>> bool((out["classification"][truth == 6] == 2).mean() < 0.05)
    True
    """
    if not isinstance(cloud, PointCloud):
        raise ParameterError(f"classify needs a PointCloud, got {type(cloud).__name__}")
    steps, params = _with_classifier(steps, classifier, model, params)
    work = cloud.copy() if copy else cloud
    chosen, ctx = _context(work, steps, ground, codes, params)
    names = {s.name for s in chosen}
    cls = work.classification
    if cls.dtype != np.uint8:
        cls = cls.astype(np.uint8)
        work["classification"] = cls
    # reset the classes the steps assign
    reset = [c for s in chosen for c in s.assigns(ctx.codes)]
    if reset:
        cls[np.isin(cls, reset)] = ctx.codes.unclassified
    for step in chosen:
        missing = [
            r
            for r in step.requires
            if r not in names and not _present(work, STEPS[r].assigns(ctx.codes))
        ]
        if missing:
            raise ParameterError(
                f"step {step.name!r} needs {missing} first: add them to the steps "
                "(e.g. --steps ground,height) or classify the ground before"
            )
        step.run(ctx)
    return work


def _present(cloud: PointCloud, classes: Iterable[int]) -> bool:
    classes = tuple(classes)
    return bool(classes) and bool(np.isin(cloud.classification, classes).any())


def classify_tile(
    cloud: PointCloud,
    ctx: Any,
    *,
    steps: Sequence[str] | str = ("noise", "ground"),
    ground: str = "smrf",
    codes: str = "ign",
    params: Mapping[str, Any] | None = None,
    classifier: str = "rules",
    model: Any = None,
) -> PointCloud:
    """Tile function for :func:`pcrs.tiling.engine.run`: :func:`classify` on tile + buffer.

    Use it through :func:`functools.partial` (it must be picklable). The engine
    drops the buffer points from the result. The tile's cloud is classified in place
    (``copy=False``): the engine reads it for this call and keeps nothing else of it.
    """
    # (in place: the engine reads each tile for this call and keeps nothing of it)
    out = classify(
        cloud,
        steps=steps,
        ground=ground,
        codes=codes,
        classifier=classifier,
        model=model,
        copy=False,
        **dict(params or {}),
    )
    return out
