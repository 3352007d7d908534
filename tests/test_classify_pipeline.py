"""Classification pipeline: step registry, class resets, code schemes."""

from __future__ import annotations

import numpy as np
import pytest

from pcrs import synth
from pcrs.classify.pipeline import (
    STEPS,
    Step,
    available_steps,
    classify,
    classify_buffer,
    register_step,
)
from pcrs.errors import ParameterError


@pytest.fixture(scope="module")
def scene() -> synth.Scene:
    return synth.make_scene(40_000, seed=12, noise_fraction=0.004)


def _blank(cloud):
    out = cloud.copy()
    out["classification"] = np.zeros(len(out), np.uint8)
    return out


def test_noise_and_ground_with_ign_and_asprs_codes(scene):
    truth = scene.cloud["classification"]
    ign = classify(_blank(scene.cloud), steps="noise,ground", codes="ign")
    asprs = classify(_blank(scene.cloud), steps=("ground", "noise"), codes="asprs")
    assert set(np.unique(ign.classification)) <= {0, 2, 65}
    assert set(np.unique(asprs.classification)) <= {0, 2, 7}
    assert np.array_equal(ign.classification == 65, asprs.classification == 7)
    # noise found, never ground
    assert (ign.classification[truth == 65] == 65).mean() > 0.6
    assert not ((ign.classification == 2) & (ign.classification == 65)).any()
    g = ign.classification == 2
    assert (g == (truth == 2))[truth != 9].mean() > 0.9


def test_the_input_is_not_modified_and_reruns_are_stable(scene):
    src = _blank(scene.cloud)
    before = src.classification.copy()
    once = classify(src, steps="noise,ground")
    assert np.array_equal(src.classification, before)
    twice = classify(once, steps="noise,ground")
    assert np.array_equal(once.classification, twice.classification)


def test_assigned_classes_are_reset(scene):
    cloud = scene.cloud.copy()  # truth classes: 2 ground, 6 buildings, ...
    cloud.classification[:100] = 2  # wrong ground
    out = classify(cloud, steps="ground")
    # classes other than ground are kept; old ground became unclassified unless found again
    keep = (scene.cloud["classification"] == 6) & (out.classification != 2)
    assert (out.classification[keep] == 6).all()
    was = (cloud.classification == 2) & (out.classification != 2)
    assert (out.classification[was] == 1).all()


def test_height_step_adds_hag(scene):
    out = classify(_blank(scene.cloud), steps="ground,height")
    assert "hag" in out.attributes
    assert np.nanmedian(np.abs(out["hag"][out.classification == 2])) < 0.05
    with pytest.raises(ParameterError, match="needs \\['ground'\\]"):
        classify(_blank(scene.cloud), steps="height")


def test_step_params_are_routed(scene):
    a = classify(_blank(scene.cloud), steps="ground", ground_params={"threshold": 0.2})
    b = classify(_blank(scene.cloud), steps="ground")
    assert (a.classification == 2).sum() < (b.classification == 2).sum()
    with pytest.raises(ParameterError, match="step parameters"):
        classify(scene.cloud, steps="ground", threshold=0.2)
    with pytest.raises(ParameterError, match="unknown parameter"):
        classify(scene.cloud, steps="ground", ground_params={"windw": 3})


def test_bad_steps_and_methods(scene):
    with pytest.raises(ParameterError, match="unknown step"):
        classify(scene.cloud, steps="noise,trees")
    with pytest.raises(ParameterError, match="unknown ground filter"):
        classify(scene.cloud, steps="ground", ground="tin")
    with pytest.raises(ParameterError, match="unknown class code scheme"):
        classify(scene.cloud, steps="ground", codes="lidarhd")


def test_a_registered_step_runs_in_rank_order(scene):
    seen = []

    def mark_high(ctx):
        seen.append(sorted(ctx.results))
        hag_free = ctx.cloud.classification != ctx.codes.ground
        ctx.cloud.classification[hag_free & (ctx.cloud.z > np.percentile(ctx.cloud.z, 99))] = 18

    register_step(
        Step("testhigh", mark_high, assigns=lambda c: (18,), requires=("ground",), rank=45)
    )
    try:
        out = classify(_blank(scene.cloud), steps="testhigh,ground")
        assert seen == [["ground"]]
        assert (out.classification == 18).any()
        with pytest.raises(ParameterError, match="already registered"):
            register_step(Step("testhigh", mark_high))
    finally:
        STEPS.pop("testhigh", None)


def test_buffer_covers_the_largest_window():
    assert classify_buffer(("noise", "ground")) > 2 * 18
    assert classify_buffer("ground", "smrf", ground_params={"window": 30}) > 60
    assert classify_buffer("ground", "pmf") > 33


def test_plug_in_steps_are_listed_in_rank_order():
    names = available_steps()
    assert names[:2] == ["noise", "ground"]
    assert names.index("ground") < names.index("height")


def test_classify_copies_unless_told_not_to():
    """copy=True (default) leaves the input as it was; copy=False classifies it in place
    (what the CLI and the tile engine do with the clouds they read) with the same classes."""
    cloud = synth.make_scene(20_000, seed=11).cloud
    cloud["classification"][:] = 1
    before = cloud.copy()
    out = classify(cloud, steps="noise,ground")
    assert out is not cloud
    assert np.array_equal(cloud.classification, before.classification)
    same = classify(cloud, steps="noise,ground", copy=False)
    assert same is cloud
    assert np.array_equal(same.classification, out.classification)
    assert np.array_equal(same.x, before.x) and np.array_equal(same.z, before.z)
