"""LAS/LAZ/COPC reading and writing: round trips on every real file, chunks, windows, atomicity."""

from __future__ import annotations

import os
from pathlib import Path

import laspy
import numpy as np
import pytest

from pcrs import PointCloud
from pcrs.errors import CorruptFileError, OutputExistsError, ParameterError, PcrsError, PcrsIOError
from pcrs.io import las
from pcrs.io.crs import crs_from_las_header
from pcrs.testing import assert_clouds_equal, shared_data_dir

CORRUPT = {"Semis_2022_0906_6665_LA93_IGN69_nok.laz"}


def _real_files() -> list[Path]:
    root = shared_data_dir() / "lidar"
    if not root.is_dir():
        return []
    return sorted(
        p for p in root.rglob("*") if p.suffix.lower() in (".las", ".laz") and p.name not in CORRUPT
    )


REAL_FILES = _real_files()
needs_real = pytest.mark.skipif(not REAL_FILES, reason="PCRS_SHARED_DATA/lidar not found")


_assert_same_points = assert_clouds_equal


@needs_real
@pytest.mark.parametrize("path", REAL_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_round_trip_real_file(path: Path, tmp_path: Path) -> None:
    cloud = las.read(path)
    out = tmp_path / ("copy.laz" if path.suffix.lower() == ".laz" else "copy.las")
    las.write(cloud, out)
    back = las.read(out)
    _assert_same_points(cloud, back)
    # same points as laspy reads them
    ref = laspy.read(path)
    np.testing.assert_array_equal(back.x, np.asarray(ref.x))
    np.testing.assert_array_equal(back["classification"], np.asarray(ref.classification))
    for dim in ref.point_format.extra_dimensions:
        np.testing.assert_array_equal(back[dim.name], np.asarray(ref[dim.name]))
    assert back.crs == cloud.crs == crs_from_las_header(ref.header)
    assert back.layout.point_format == cloud.layout.point_format
    assert las.info(out).points == len(cloud)


@needs_real
@pytest.mark.parametrize("path", REAL_FILES[:40:3], ids=lambda p: p.name)
def test_info_matches_laspy(path: Path) -> None:
    facts = las.info(path)
    with laspy.open(path) as reader:
        h = reader.header
        assert facts.points == h.point_count
        assert facts.point_format == h.point_format.id
        np.testing.assert_array_equal(facts.bounds[:3], h.mins)
        np.testing.assert_array_equal(facts.bounds[3:], h.maxs)


@needs_real
@pytest.mark.parametrize("path", REAL_FILES[::5], ids=lambda p: p.name)
def test_class_histogram_matches_laspy(path: Path) -> None:
    ref = laspy.read(path)
    codes, counts = np.unique(np.asarray(ref.classification), return_counts=True)
    assert las.class_histogram(path, chunk_size=7_000) == dict(
        zip(codes.tolist(), counts.tolist(), strict=True)
    )


def test_chunks_equal_full_read(small_scene_file: Path) -> None:
    full = las.read(small_scene_file)
    chunks = list(las.iter_chunks(small_scene_file, chunk_size=9_999))
    assert len(chunks) == -(-len(full) // 9_999)
    assert max(len(c) for c in chunks) <= 9_999
    _assert_same_points(full, PointCloud.concatenate(chunks))


def test_window_of_plain_laz_equals_filtered_read(small_scene_file: Path) -> None:
    full = las.read(small_scene_file)
    minx, miny, _, maxx, maxy, _ = full.bounds
    box = (minx + 10.005, miny + 20, (minx + maxx) / 2, maxy - 5.5)
    _assert_same_points(
        las.read_window(small_scene_file, box, chunk_size=5000), full[full.in_box(*box)]
    )


@needs_real
@pytest.mark.parametrize(
    "name", ["PDAL/lone-star.copc.laz", "laspy/simple.copc.laz", "PDAL/autzen_clip_native.copc.laz"]
)
def test_copc_window_equals_filtered_full_read(name: str) -> None:
    path = shared_data_dir() / "lidar" / name
    full = las.read(path)
    assert las.info(path).copc
    minx, miny, _, maxx, maxy, _ = full.bounds
    for fx0, fy0, fx1, fy1 in [(0, 0, 0.5, 0.5), (0.3, 0.1, 0.9, 0.6), (0, 0, 1, 1)]:
        box = (
            minx + fx0 * (maxx - minx), miny + fy0 * (maxy - miny),
            minx + fx1 * (maxx - minx), miny + fy1 * (maxy - miny),
        )  # fmt: skip
        window = las.read_window(path, box)
        expected = full[full.in_box(*box)]
        # COPC stores points per octree node: compare as sets of records
        order_w = np.lexsort((window.z, window.y, window.x, window["gps_time"]))
        order_e = np.lexsort((expected.z, expected.y, expected.x, expected["gps_time"]))
        _assert_same_points(window[order_w], expected[order_e])


@needs_real
def test_copc_window_reads_less_than_whole_file() -> None:
    path = shared_data_dir() / "lidar" / "PDAL" / "lone-star.copc.laz"
    facts = las.info(path)
    minx, miny, _, maxx, maxy, _ = facts.bounds
    small = las.read_window(path, (minx, miny, minx + (maxx - minx) / 8, miny + (maxy - miny) / 8))
    assert 0 < len(small) < facts.points / 10


def test_write_keeps_ign_codes_and_extra_dims(tmp_path: Path) -> None:
    n = 1000
    rng = np.random.default_rng(0)
    cloud = PointCloud(
        rng.uniform(0, 100, n) + 700_000, rng.uniform(0, 100, n) + 6_600_000, rng.uniform(0, 10, n),
        {
            "classification": rng.choice(np.array([2, 64, 65, 66, 67], np.uint8), n),
            "hag": rng.uniform(0, 5, n).astype(np.float32),
            "tile_id": rng.integers(0, 9, n).astype(np.int32),
        },
    )  # fmt: skip
    for name, fmt in [("a.laz", 6), ("b.las", 8), ("c.laz", 10)]:
        las.write(cloud, tmp_path / name, point_format=fmt)
        back = las.read(tmp_path / name)
        np.testing.assert_array_equal(back["classification"], cloud["classification"])
        np.testing.assert_array_equal(back["hag"], cloud["hag"])
        np.testing.assert_array_equal(back["tile_id"], cloud["tile_id"])
        np.testing.assert_allclose(back.x, cloud.x, atol=0.005)


@pytest.mark.parametrize("fmt", range(11))
def test_every_point_format_round_trips(fmt: int, tmp_path: Path, small_scene) -> None:
    cloud = small_scene.cloud[:500]
    cloud["classification"] = np.minimum(cloud["classification"], 31)
    version = "1.4" if fmt >= 6 else ("1.3" if fmt in (4, 5) else "1.2")
    out = tmp_path / f"f{fmt}.laz"
    las.write(cloud, out, point_format=fmt, version=version)
    back = las.read(out)
    facts = las.info(out)
    assert (facts.point_format, facts.las_version) == (fmt, version)
    np.testing.assert_array_equal(back["classification"], cloud["classification"])
    np.testing.assert_array_equal(back.z, cloud.z)
    assert back.crs is not None and back.crs.to_epsg() == 2154
    back2_path = tmp_path / f"f{fmt}-again.las"
    las.write(back, back2_path)
    _assert_same_points(back, las.read(back2_path))


def test_class_over_31_refused_in_legacy_format(tmp_path: Path, small_scene) -> None:
    with pytest.raises(ParameterError, match="point format 6"):
        las.write(small_scene.cloud, tmp_path / "x.las", point_format=3)
    assert list(tmp_path.iterdir()) == []


def test_existing_output_not_overwritten(tmp_path: Path, small_scene) -> None:
    out = tmp_path / "x.laz"
    las.write(small_scene.cloud[:100], out)
    before = out.read_bytes()
    with pytest.raises(OutputExistsError, match="--overwrite"):
        las.write(small_scene.cloud[:200], out)
    assert out.read_bytes() == before
    las.write(small_scene.cloud[:200], out, overwrite=True)
    assert las.info(out).points == 200


def test_failed_write_leaves_nothing(tmp_path: Path, small_scene) -> None:
    cloud = small_scene.cloud[:100].copy()
    cloud.x[0] = 1e12  # does not fit 32-bit integers at 1 cm
    with pytest.raises(ParameterError, match="do not fit"):
        las.write(cloud, tmp_path / "x.laz")
    assert list(tmp_path.iterdir()) == []


def test_stream_writer_is_atomic(tmp_path: Path, small_scene) -> None:
    out = tmp_path / "s.laz"
    with pytest.raises(RuntimeError), las.LasStreamWriter(out, small_scene.cloud) as w:
        w.write(small_scene.cloud[:1000])
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []
    with las.LasStreamWriter(out, small_scene.cloud) as w:
        for chunk in (small_scene.cloud[:1000], small_scene.cloud[1000:]):
            w.write(chunk)
    back = las.read(out)
    assert len(back) == len(small_scene.cloud)
    np.testing.assert_array_equal(back.x, small_scene.cloud.x)
    np.testing.assert_array_equal(back["classification"], small_scene.cloud["classification"])


def test_inputs_never_modified(small_scene_file: Path, tmp_path: Path) -> None:
    stat = os.stat(small_scene_file)
    data = small_scene_file.read_bytes()
    cloud = las.read(small_scene_file)
    list(las.iter_chunks(small_scene_file, 1000))
    las.info(small_scene_file)
    las.write(cloud, tmp_path / "copy.laz")
    assert small_scene_file.read_bytes() == data
    assert os.stat(small_scene_file).st_mtime_ns == stat.st_mtime_ns


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "not a LAS"),
        (b"hello, I am text\n" * 10, "not a LAS"),
        (b"LASF" + b"\x00" * 50, "corrupt"),
    ],
)
def test_unreadable_inputs(tmp_path: Path, content: bytes, match: str) -> None:
    bad = tmp_path / "bad.laz"
    bad.write_bytes(content)
    with pytest.raises(CorruptFileError, match=match) as err:
        las.read(bad)
    assert str(bad) in str(err.value)
    assert isinstance(err.value, OSError) and isinstance(err.value, PcrsError)


def test_missing_file() -> None:
    with pytest.raises(PcrsIOError, match="no such file"):
        las.info("does/not/exist.laz")


def test_truncated_laz(tmp_path: Path, small_scene_file: Path) -> None:
    cut = tmp_path / "cut.laz"
    data = small_scene_file.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFileError, match=r"cut\.laz"):
        las.read(cut)


@needs_real
def test_corrupt_ign_file(lidar_dir: Path) -> None:
    path = lidar_dir / "ign-pdal-tools" / "Semis_2022_0906_6665_LA93_IGN69_nok.laz"
    with pytest.raises(CorruptFileError, match=r"nok\.laz"):
        las.info(path)
