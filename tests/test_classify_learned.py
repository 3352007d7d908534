"""The learned classifier: features, the explicit model format, training, CLI round trip."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from pcrs import synth
from pcrs.classify.learned_features import FEATURE_NAMES, point_features
from pcrs.classify.learned_model import ModelError, _traverse_numpy, load_model
from pcrs.cli.main import cli
from pcrs.errors import MissingExtraError
from pcrs.io import las

CLASSES = (2, 3, 4, 5, 6, 9, 17)


@pytest.fixture(scope="module")
def scenes():
    train = synth.make_scene(30_000, seed=11)
    test = synth.make_scene(30_000, seed=12, origin=(900_000.0, 6_400_000.0))
    return train, test


@pytest.fixture(scope="module")
def fitted(scenes):
    pytest.importorskip("sklearn", reason="training needs scikit-learn (pcrs[ml])")
    from pcrs.classify.learned_train import fit, prepare, training_table

    train, test = scenes
    table = training_table([train.cloud], max_points_per_class=1500, seed=3)
    clf, model = fit(table.X, table.y, seed=3, max_iter=20)
    X, noise, _work = prepare(test.cloud)
    return clf, model, X, noise


def test_features_shape_and_names(scenes):
    scene = scenes[0]
    hag = scene.cloud.z - scene.ground_z(scene.cloud.x, scene.cloud.y)
    X = point_features(scene.cloud, hag)
    assert X.shape == (len(scene.cloud), len(FEATURE_NAMES)) and X.dtype == np.float32
    assert np.isfinite(X[:, FEATURE_NAMES.index("hag")]).all()
    rank = X[:, FEATURE_NAMES.index("intensity_rank")]
    assert rank.min() >= 0 and rank.max() <= 1


def test_learned_beats_chance_on_held_out_scene(scenes, fitted):
    _clf, model, X, noise = fitted
    truth = np.asarray(scenes[1].cloud.classification).astype(np.int64)
    sel = ~noise & np.isin(truth, CLASSES)
    pred = model.predict(X[sel])
    ref = truth[sel]
    acc = float((pred == ref).mean())
    majority = float(np.bincount(ref).max() / ref.size)
    ious = []
    for c in (2, 6, 9):  # ground, building, water: large on the synthetic scene
        inter = ((pred == c) & (ref == c)).sum()
        union = ((pred == c) | (ref == c)).sum()
        ious.append(inter / union)
    assert acc > majority + 0.15, (acc, majority)
    assert min(ious) > 0.8, ious


def test_exported_trees_equal_sklearn(fitted):
    clf, model, X, _noise = fitted
    X64 = X[:5000].astype(np.float64)
    X64[::97, 3] = np.nan  # missing values take the learned branch
    ref = clf.predict_proba(X64)
    ours = model.predict_proba(X64)
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-9)
    # the numpy fallback gives the same scores as the compiled kernel
    raw = model.raw_scores(X64[:500])
    np.testing.assert_allclose(
        _traverse_numpy(X64[:500], model.arrays, model.baseline), raw, rtol=0, atol=1e-9
    )
    assert (model.predict(X64) == clf.predict(X64)).all()


def test_model_folder_round_trip_and_tampering(fitted, tmp_path):
    _clf, model, X, _noise = fitted
    folder = model.save(tmp_path / "m")
    back = load_model(folder)
    np.testing.assert_array_equal(back.predict(X[:2000]), model.predict(X[:2000]))
    # a changed tree file
    npz = folder / "trees.npz"
    data = bytearray(npz.read_bytes())
    data[len(data) // 2] ^= 0xFF
    npz.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="SHA-256"):
        load_model(folder)
    # an unknown format version
    folder2 = model.save(tmp_path / "m2")
    meta = json.loads((folder2 / "model.json").read_text())
    meta["format_version"] = 99
    (folder2 / "model.json").write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="format version 99"):
        load_model(folder2)
    with pytest.raises(ModelError, match="not a pcrs model folder"):
        load_model(tmp_path / "nothing")


def test_training_without_sklearn_fails_in_one_line(monkeypatch, scenes):
    from pcrs.classify.learned import SHIPPED_MODEL, train

    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.ensemble", None)
    with pytest.raises(MissingExtraError) as exc:
        train([scenes[0].cloud])
    assert "pip install 'pcrs[ml]'" in str(exc.value) and "\n" not in str(exc.value)
    # prediction needs no scikit-learn
    X = np.zeros((100, len(FEATURE_NAMES)), np.float32)
    assert load_model(SHIPPED_MODEL).predict(X).shape == (100,)


def test_cli_train_then_classify_round_trip(tmp_path):
    pytest.importorskip("sklearn", reason="training needs scikit-learn (pcrs[ml])")
    from pcrs.cli.main import main

    src = tmp_path / "ref.laz"
    las.write(synth.make_scene(20_000, seed=21).cloud, src)
    model = tmp_path / "model"
    args = ["train", str(src), "-o", str(model), "--max-points-per-class", "400"]
    r = CliRunner().invoke(cli, [*args, "--max-iter", "10", "--json"])
    assert r.exit_code == 0, r.output
    rec = json.loads(r.output)
    assert rec["classes"] == list(CLASSES)
    out = tmp_path / "out.laz"
    r = CliRunner().invoke(
        cli,
        ["classify", str(src), "-o", str(out), "--classifier", "learned", "--model", str(model)],
    )
    assert r.exit_code == 0, r.output
    got = las.read(out).classification
    truth = las.read(src).classification
    assert float((got == truth).mean()) > 0.7
    # a tampered model is a usage error: exit code 2, one line
    (model / "trees.npz").write_bytes(b"not a model")
    with pytest.raises(SystemExit) as exc:
        main(["classify", str(src), "-o", str(tmp_path / "o2.laz"), "--classifier", "learned",
              "--model", str(model)])  # fmt: skip
    assert exc.value.code == 2
    # --model without --classifier learned is refused
    r = CliRunner().invoke(cli, ["classify", str(src), "-o", str(out), "--model", str(model)])
    assert r.exit_code == 2


def test_classify_learned_with_the_shipped_model_needs_no_sklearn(monkeypatch, scenes):
    from pcrs.classify.learned import SHIPPED_MODEL
    from pcrs.classify.pipeline import classify

    monkeypatch.setitem(sys.modules, "sklearn", None)
    scene = scenes[1]
    truth = np.asarray(scene.cloud.classification)
    learned = set(load_model(SHIPPED_MODEL).classes.tolist())
    raw = scene.cloud.copy()
    raw["classification"] = np.ones(len(raw), np.uint8)  # an unclassified flight
    got = np.asarray(classify(raw, steps="noise,ground", classifier="learned").classification)
    assert set(np.unique(got).tolist()) <= learned | {65}
    assert float((got[truth == 2] == 2).mean()) > 0.8
    assert float((got[truth == 6] == 6).mean()) > 0.5
    # on a classified file, classes the model does not know (17, 64 here) are kept
    # unless the noise or ground steps took the points
    got = np.asarray(
        classify(scene.cloud, steps="noise,ground", classifier="learned").classification
    )
    for code in (17, 64):
        kept = (truth == code) & ~np.isin(got, (2, 65))
        assert kept.any() and (got[kept] == code).all()


def test_classifier_parameter_errors(scenes):
    from pcrs.classify.pipeline import classify
    from pcrs.errors import ParameterError

    cloud = scenes[1].cloud
    with pytest.raises(ParameterError, match="unknown classifier 'trees'"):
        classify(cloud, steps="ground", classifier="trees")
    with pytest.raises(ParameterError, match="model= is for classifier='learned'"):
        classify(cloud, steps="ground", model="somewhere")


def test_prediction_in_strips_equals_the_whole_cloud(scenes, fitted):
    from pcrs.classify.learned_predict import predict

    _clf, model, _X, _noise = fitted
    cloud = scenes[1].cloud
    hag = cloud.z - scenes[1].ground_z(cloud.x, cloud.y)
    whole = predict(cloud, model, hag=hag)
    strips = predict(cloud, model, hag=hag, chunk_points=8_000)
    assert float((whole == strips).mean()) > 0.999
