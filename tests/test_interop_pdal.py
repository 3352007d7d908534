"""The PDAL bridge: PDAL's structured arrays to and from PointCloud (plain numpy, always
tested), and PDAL pipelines on clouds and tiles (tested where PDAL's Python package loads)."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from click.testing import CliRunner

import pcrs
from pcrs import PointCloud, synth
from pcrs.cli.main import cli, main
from pcrs.errors import MissingExtraError, ParameterError
from pcrs.interop.pdal import (
    PDAL_TYPES,
    PdalError,
    from_pdal,
    load_pipeline,
    pipeline_hash,
    to_pdal,
)
from pcrs.io import las


def _pdal_or_skip():
    """PDAL's Python package, or skip with the reason (absent, or its library not found)."""
    try:
        import pdal
    except ImportError as exc:
        pytest.skip(f"PDAL's Python package 'pdal' cannot be imported here ({exc})")
    return pdal


@pytest.fixture(scope="module")
def scene():
    s = synth.make_scene(8_000, seed=3)
    cloud = s.cloud
    cloud["classification"][cloud["classification"] > 31] = 1  # fits every point format
    return cloud


@pytest.mark.parametrize("point_format", [1, 3, 6, 8, 10])
def test_round_trip_is_lossless_for_every_point_format(scene, tmp_path, point_format):
    path = tmp_path / f"f{point_format}.laz"
    las.write(scene, path, point_format=point_format)
    cloud = las.read(path)
    array = cloud.to_pdal()
    # PDAL's names and types on PDAL's side
    for name in array.dtype.names:
        if name in PDAL_TYPES:
            assert array.dtype[name] == PDAL_TYPES[name], name
    assert {"X", "Y", "Z", "Intensity", "Classification", "GpsTime", "ScanAngleRank"} <= set(
        array.dtype.names
    )
    back = PointCloud.from_pdal(array, cloud.crs, layout=cloud.layout)
    assert list(back.attributes) == list(cloud.attributes)
    for name in cloud.names:
        assert back[name].dtype == cloud[name].dtype, name
        assert np.array_equal(back[name], cloud[name]), name
    assert back.equals(cloud) and back.crs == cloud.crs


def test_scan_angle_in_degrees_both_ways():
    pc = PointCloud(np.zeros(3), np.zeros(3), np.zeros(3),
                    {"scan_angle": np.array([-5000, 0, 3001], np.int16)})  # fmt: skip
    a = to_pdal(pc)
    assert a.dtype["ScanAngleRank"] == np.float32
    np.testing.assert_allclose(a["ScanAngleRank"], [-30.0, 0.0, 18.006], rtol=1e-6)
    assert np.array_equal(from_pdal(a)["scan_angle"], pc["scan_angle"])
    old = from_pdal(a, layout=pcrs.LasLayout(point_format=1, version="1.2"))
    assert old["scan_angle_rank"].dtype == np.int8
    assert old["scan_angle_rank"].tolist() == [-30, 0, 18]


def test_extra_dimensions_keep_their_names_and_types():
    n = 4
    pc = PointCloud(np.arange(n), np.zeros(n), np.zeros(n), {
        "classification": np.full(n, 2, np.uint8),
        "hag": np.linspace(0, 3, n).astype(np.float32),
        "Reflectance": np.arange(n, dtype=np.float32),
        "flag": np.array([True, False, True, False]),
        "buffer": np.array([0, 1, 0, 1], np.uint8),
    })  # fmt: skip
    a = pc.to_pdal()
    assert a.dtype.names == ("X", "Y", "Z", "Classification", "HeightAboveGround",
                             "Reflectance", "flag", "buffer")  # fmt: skip
    assert a.dtype["HeightAboveGround"] == np.float32 and a.dtype["flag"] == np.uint8
    back = PointCloud.from_pdal(a)
    assert list(back.attributes) == ["classification", "hag", "Reflectance", "flag", "buffer"]
    assert back["hag"].dtype == np.float32 and np.array_equal(back["hag"], pc["hag"])
    assert back["flag"].tolist() == [1, 0, 1, 0]


def test_pdal_arrays_as_pdal_makes_them():
    """An array laid out as PDAL's readers.las gives it (PDAL 2.8: standard dimensions,
    ClassFlags, NormalX...) becomes pcrs's names and types."""
    dtype = [(n, PDAL_TYPES[n]) for n in ("X", "Y", "Z", "Intensity", "ReturnNumber",
             "NumberOfReturns", "Classification", "ScanAngleRank", "GpsTime", "ClassFlags",
             "Infrared", "ScanChannel", "NormalX", "NormalY", "NormalZ")]  # fmt: skip
    a = np.zeros(3, dtype=[*dtype, ("Amplitude", "f4")])
    a["ClassFlags"] = [0b0001, 0b0110, 0b1000]
    a["ScanAngleRank"] = [-12.0, 0.0, 6.0]
    a["Infrared"] = 300
    pc = from_pdal(a, "EPSG:2154")
    assert pc.crs.to_epsg() == 2154
    assert pc["synthetic"].tolist() == [1, 0, 0] and pc["key_point"].tolist() == [0, 1, 0]
    assert pc["withheld"].tolist() == [0, 1, 0] and pc["overlap"].tolist() == [0, 0, 1]
    assert pc["scan_angle"].tolist() == [-2000, 0, 1000] and pc["scan_angle"].dtype == np.int16
    assert pc["nir"].tolist() == [300] * 3 and pc["scanner_channel"].dtype == np.uint8
    assert {"normal_x", "normal_y", "normal_z", "Amplitude"} <= set(pc.attributes)


def test_from_pdal_refuses_what_is_not_a_point_array():
    with pytest.raises(ParameterError, match="X, Y and Z"):
        from_pdal(np.zeros((3, 3)))
    with pytest.raises(ParameterError, match="X, Y and Z"):
        from_pdal(np.zeros(3, dtype=[("X", "f8"), ("Y", "f8")]))
    pc = PointCloud(np.zeros(1), np.zeros(1), np.zeros(1), {"name": np.array(["a"])})
    with pytest.raises(ParameterError, match=r"'name'.*cannot hold"):
        to_pdal(pc)


def test_pipeline_text_dict_list_and_file(tmp_path):
    stages = [{"type": "filters.range", "limits": "Classification[2:2]"}]
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"pipeline": stages}, indent=4))
    assert json.loads(load_pipeline(path))["pipeline"] == stages
    assert json.loads(load_pipeline(stages)) == stages
    assert json.loads(load_pipeline(json.dumps(stages))) == stages
    # the hash ignores layout and key order, not content
    assert pipeline_hash({"pipeline": stages}) == pipeline_hash(path)
    assert pipeline_hash(stages) != pipeline_hash([{"type": "filters.smrf"}])
    with pytest.raises(PdalError, match="no such pipeline file"):
        load_pipeline(tmp_path / "missing.json")
    with pytest.raises(PdalError, match="not JSON"):
        load_pipeline("[{")
    with pytest.raises(PdalError, match="not a PDAL pipeline"):
        load_pipeline('{"stages": []}')


def test_without_pdal_one_error_naming_the_extra(monkeypatch, scene, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "pdal", None)  # import pdal -> ModuleNotFoundError
    with pytest.raises(MissingExtraError, match=r"pip install 'pcrs\[pdal\]'"):
        pcrs.run_pdal([{"type": "filters.smrf"}], scene)
    src = tmp_path / "in.laz"
    las.write(scene, src)
    pipe = tmp_path / "p.json"
    pipe.write_text('[{"type": "filters.smrf"}]')
    with pytest.raises(SystemExit) as exc:
        main(["classify", str(src), "-o", str(tmp_path / "o.laz"), "--pdal", str(pipe)])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and "pcrs[pdal]" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o.laz").exists()


# --- with PDAL ----------------------------------------------------------------------------


def test_real_pdal_reads_as_pcrs_reads(scene, tmp_path):
    pdal = _pdal_or_skip()
    path = tmp_path / "s.laz"
    las.write(scene.with_layout(point_format=8), path)
    pipe = pdal.Pipeline(json.dumps([str(path)]))
    pipe.execute()
    ours = las.read(path)
    theirs = PointCloud.from_pdal(pipe.arrays[0], ours.crs, layout=ours.layout)
    for name in ours.names:  # readers.las keeps the file's order of points
        assert np.array_equal(theirs[name], ours[name]), name
        assert theirs[name].dtype == ours[name].dtype, name


def test_run_pdal_on_a_cloud(scene, tmp_path):
    _pdal_or_skip()
    out = pcrs.run_pdal([{"type": "filters.range", "limits": "Classification[2:2]"}], scene)
    ground = scene[scene["classification"] == 2]
    assert len(out) == len(ground) and out.crs == scene.crs
    assert np.array_equal(np.sort(out.z), np.sort(ground.z))
    out = pcrs.run_pdal('[{"type": "filters.hag_nn"}]', scene)
    assert out["hag"].dtype == np.float64 and len(out) == len(scene)
    assert np.abs(out["hag"][scene["classification"] == 2]).max() == 0
    with pytest.raises(PdalError, match="PDAL"):
        pcrs.run_pdal([{"type": "filters.nosuchfilter"}], scene)


def test_classify_pdal_through_the_tile_engine(scene, tmp_path, capsys):
    """Two files, 50 m tiles with a 20 m buffer: each tile and its buffer go through the
    pipeline; HAG near the tile edges equals HAG computed on the whole cloud, so the buffer
    reached PDAL; the pipeline's hash is in the manifest key."""
    _pdal_or_skip()
    src = tmp_path / "src"
    src.mkdir()
    west = scene.x < scene.x.min() + 50
    las.write(scene[west], src / "w.laz")
    las.write(scene[~west], src / "e.laz")
    pipe = tmp_path / "hag.json"
    pipe.write_text(json.dumps([{"type": "filters.hag_nn"},
        {"type": "filters.assign", "value": "Classification = 5 WHERE HeightAboveGround > 2"}]))  # fmt: skip
    out = tmp_path / "out"
    args = ["classify", str(src), "-o", str(out), "--pdal", str(pipe), "--tile-size", "50",
            "--buffer", "20", "--workers", "1", "--json"]  # fmt: skip
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    tiles = sorted(out.glob("*.laz"))
    assert len(tiles) >= 2
    got = PointCloud.concatenate([las.read(t) for t in tiles])
    assert len(got) == len(scene) and "buffer" not in got.attributes
    whole = pcrs.run_pdal(
        [{"type": "filters.hag_nn"}],
        PointCloud.concatenate([las.read(src / "w.laz"), las.read(src / "e.laz")]),
    )
    key = lambda c: np.lexsort((c.z, c.y, c.x))  # noqa: E731
    g, w = got[key(got)], whole[key(whole)]
    np.testing.assert_allclose(g["hag"], w["hag"], atol=1e-9)
    high = w["hag"] > 2
    assert high.sum() > 100 and np.all(g["classification"][high] == 5)
    assert (
        "pdal" in json.loads((out / "manifest.json").read_text())["sections"]["classify"]["params"]
    )
    # same pipeline again: every tile skipped; another pipeline: refused without --overwrite
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0 and json.loads(r.output)["done"] == 0, r.output
    pipe.write_text('[{"type": "filters.hag_nn", "count": 2}]')
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code == 2
    assert "made with other" in capsys.readouterr().err
