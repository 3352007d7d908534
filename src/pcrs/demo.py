"""The demonstration run behind ``pcrs demo``: every capability of pcrs on a generated scene."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from . import synth
from .classify.codes import IGN_NAMES
from .errors import OutputExistsError
from .io import las

__all__ = ["run_demo"]


def run_demo(
    directory: str | Path,
    n_points: int = 400_000,
    seed: int = 2154,
    overwrite: bool = False,
    echo: Callable[[str], None] = print,
) -> dict:
    """Run the demonstration and return a summary of what was written.

    Parameters
    ----------
    directory : path-like
        Output folder (created).
    n_points : int
        Size of the generated scene.
    seed : int
    overwrite : bool
        Replace the outputs of an earlier demo in ``directory``.
    echo : callable
        Where progress lines go.

    Returns
    -------
    dict
        ``{"outputs": {name: path}, "timings": {step: seconds}, ...}``.
    """
    out = Path(directory)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise OutputExistsError(
            f"{out}: already holds files; pass --overwrite to replace the demo outputs, "
            "or name another folder"
        )
    out.mkdir(parents=True, exist_ok=True)
    summary: dict = {"outputs": {}, "timings": {}}

    def step(name: str) -> Callable[[float], None]:
        t0 = time.perf_counter()

        def done(_: float = 0.0) -> None:
            summary["timings"][name] = round(time.perf_counter() - t0, 3)

        return done

    # 1. a scene with known truth, written as an IGN-style LAZ tile
    done = step("generate")
    scene = synth.make_scene(n_points, seed=seed)
    truth_path = out / "scene_truth.laz"
    las.write(scene.cloud, truth_path, overwrite=overwrite)
    done()
    summary["outputs"]["scene (truth classes)"] = str(truth_path)
    facts = las.info(truth_path)
    minx, miny, _, maxx, maxy, _ = facts.bounds
    echo(
        f"generated {facts.points:,} points over {maxx - minx:.0f} m x {maxy - miny:.0f} m "
        f"(EPSG:{facts.epsg}) -> {truth_path}"
    )
    histogram = las.class_histogram(truth_path)
    for code, count in histogram.items():
        echo(f"  class {code:>3} {IGN_NAMES.get(code, ''):<32} {count:>10,}")
    summary["classes_truth"] = histogram

    summary_path = out / "demo_summary.json"
    tmp = summary_path.with_suffix(".json.part")
    tmp.write_text(json.dumps(summary, indent=2))
    tmp.replace(summary_path)
    echo(f"summary -> {summary_path}")
    return summary
