"""COPC writing (pcrs.io.copc): the octree, the records, and three readers' verdicts.

Every file written here is read back with laspy's CopcReader (hierarchy, level
and box queries), with ``laspy.read`` (all points, all bytes), with pcrs
(``info`` and ``read_window``) and, when the ``pdal`` command is on the PATH,
with PDAL (``pdal info --metadata``, ``pdal translate`` and a bounded
``readers.copc`` query).
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from pathlib import Path

import laspy
import lazrs
import numpy as np
import pytest
from pyproj import CRS

from pcrs import synth
from pcrs.errors import ParameterError
from pcrs.io import copc, las
from pcrs.testing import shared_data_dir

PDAL = shutil.which("pdal")
needs_pdal = pytest.mark.skipif(PDAL is None, reason="the pdal command is not on the PATH")
LIDAR = shared_data_dir() / "lidar"
needs_real = pytest.mark.skipif(not LIDAR.is_dir(), reason=f"real data not found at {LIDAR}")


# ----------------------------------------------------------------------------- helpers


def _header_and_points(
    scene: synth.Scene, point_format: int = 6, extra: list[laspy.ExtraBytesParams] | None = None
) -> tuple[laspy.LasHeader, laspy.ScaleAwarePointRecord]:
    """A LAS 1.4 header (EPSG:2154 as WKT) and a record holding the scene's points."""
    cloud = scene.cloud
    header = laspy.LasHeader(point_format=point_format, version="1.4")
    header.scales = np.array([0.01, 0.01, 0.01])
    header.offsets = np.floor(np.array([cloud.x.min(), cloud.y.min(), 0.0]) / 1000) * 1000
    header.add_crs(CRS.from_epsg(2154))
    if extra:
        header.add_extra_dims(extra)
    record = laspy.ScaleAwarePointRecord.zeros(len(cloud), header=header)
    record.x, record.y, record.z = cloud.x, cloud.y, cloud.z
    for name in ("intensity", "return_number", "number_of_returns", "classification"):
        if name in cloud.attributes:
            record[name] = cloud[name]
    rng = np.random.default_rng(len(cloud))
    record["gps_time"] = 3e8 + np.arange(len(cloud)) * 1e-5
    record["point_source_id"] = rng.integers(0, 5, len(cloud))
    record["scan_angle"] = rng.integers(-3000, 3000, len(cloud))
    if point_format in (7, 8):
        for band in ("red", "green", "blue"):
            record[band] = rng.integers(0, 65535, len(cloud))
    if point_format == 8:
        record["nir"] = rng.integers(0, 65535, len(cloud))
    for params in extra or []:
        raw = record.array[params.name]  # stored values, before any scale
        raw[...] = rng.integers(0, 100, raw.shape).astype(raw.dtype)
    return header, record


def _sorted_rows(array: np.ndarray) -> np.ndarray:
    """The records as opaque byte rows, sorted: equal sets of points compare equal."""
    rows = np.ascontiguousarray(array).view(np.dtype((np.void, array.dtype.itemsize)))
    return np.sort(rows)


def _raw_vlrs(path: Path) -> list[tuple[int, str, int, bytes]]:
    """(file offset, user id, record id, payload) of each VLR, parsed from the bytes."""
    data = path.read_bytes()
    header_size = struct.unpack_from("<H", data, 94)[0]
    count = struct.unpack_from("<I", data, 100)[0]
    out, pos = [], header_size
    for _ in range(count):
        user = data[pos + 2 : pos + 18].split(b"\0")[0].decode()
        record_id, length = struct.unpack_from("<HH", data, pos + 18)
        out.append((pos, user, record_id, data[pos + 54 : pos + 54 + length]))
        pos += 54 + length
    return out


def _raw_evlrs(path: Path) -> list[tuple[str, int, bytes]]:
    data = path.read_bytes()
    start, count = struct.unpack_from("<QI", data, 235)
    out, pos = [], start
    for _ in range(count):
        user = data[pos + 2 : pos + 18].split(b"\0")[0].decode()
        record_id, length = struct.unpack_from("<HQ", data, pos + 18)
        out.append((user, record_id, data[pos + 60 : pos + 60 + length]))
        pos += 60 + length
    assert pos == len(data), "the EVLRs end the file"
    return out


def _nodes(path: Path) -> dict[tuple[int, int, int, int], np.ndarray]:
    """Decode each node's chunk by itself (offset and size from the hierarchy)."""
    data = path.read_bytes()
    laszip = next(v for v in _raw_vlrs(path) if v[1] == "laszip encoded")[3]
    with laspy.open(path) as reader:
        dtype = reader.header.point_format.dtype()
    hierarchy = next(e for e in _raw_evlrs(path) if e[:2] == ("copc", 1000))[2]
    nodes = {}
    for level, x, y, z, offset, size, count in struct.iter_unpack("<iiiiQii", hierarchy):
        out = np.zeros(count * dtype.itemsize, np.uint8)
        if count:
            lazrs.decompress_points_with_chunk_table(
                data[offset : offset + size], laszip, out, [(count, size)]
            )
        nodes[(level, x, y, z)] = out.view(dtype)
    return nodes


def _check_structure(path: Path, header: laspy.LasHeader, points: np.ndarray) -> None:
    """The COPC records, the octree invariants and the point bytes of ``path``."""
    data = path.read_bytes()
    assert data[:4] == b"LASF" and data[24:26] == bytes([1, 4])
    assert data[104] & 0x3F == header.point_format.id and data[104] & 0x80  # compressed
    vlrs = _raw_vlrs(path)
    assert vlrs[0][0] == 375 and vlrs[0][1:3] == ("copc", 1) and len(vlrs[0][3]) == 160
    assert data[377:381] == b"copc" and data[393:395] == bytes([1, 0])
    assert vlrs[-1][1] == "laszip encoded"
    laz = lazrs.LazVlr(vlrs[-1][3])
    assert laz.uses_variable_size_chunks()
    users = [(u, r) for _, u, r, _ in vlrs]
    assert users.count(("copc", 1)) == 1
    assert (("LASF_Projection", 2112) in users) == (header.parse_crs() is not None)
    center = np.array(struct.unpack_from("<3d", vlrs[0][3]))
    halfsize, spacing, hier_offset, hier_size, gps_min, gps_max = struct.unpack_from(
        "<2d2Q2d", vlrs[0][3], 24
    )
    assert struct.unpack_from("<11Q", vlrs[0][3], 72) == (0,) * 11
    evlrs = _raw_evlrs(path)
    assert evlrs[0][:2] == ("copc", 1000)
    assert data[hier_offset : hier_offset + hier_size] == evlrs[0][2]
    assert spacing == pytest.approx(2 * halfsize / 128)
    n = len(points)
    if n:
        assert (gps_min, gps_max) == (points["gps_time"].min(), points["gps_time"].max())

    scales, offsets = header.scales, header.offsets
    nodes = _nodes(path)
    keys = set(nodes)
    assert (0, 0, 0, 0) in keys
    assert sum(len(p) for p in nodes.values()) == n
    parents = {(lv - 1, x // 2, y // 2, z // 2) for lv, x, y, z in keys if lv}
    for (level, x, y, z), pts in nodes.items():
        if level:
            assert (level - 1, x // 2, y // 2, z // 2) in keys, "a node without its parent"
        assert len(pts) > 0 or n == 0
        side = 2 * halfsize / 2**level
        lo = center - halfsize + side * np.array([x, y, z])
        for axis, name in enumerate("XYZ"):
            real = pts[name] * scales[axis] + offsets[axis]
            assert np.all(real > lo[axis]) and np.all(real < lo[axis] + side)
        if (level, x, y, z) in parents:
            # an inner node keeps at most one point per cell of its 128^3 grid
            cell = side / 128
            ijk = [
                np.floor((pts[name] * scales[a] + offsets[a] - lo[a]) / cell).astype(np.int64)
                for a, name in enumerate("XYZ")
            ]
            assert len(np.unique(np.stack(ijk), axis=1).T) == len(pts)
    written = np.concatenate([nodes[k] for k in nodes]) if nodes else points[:0]
    assert np.array_equal(_sorted_rows(written), _sorted_rows(points))


def _check_readers(path: Path, points: np.ndarray, boxes: int = 4) -> None:
    """laspy (read, CopcReader queries) and pcrs (info, read_window) agree with ``points``."""
    back = laspy.read(path)
    assert back.header.point_count == len(points)
    assert np.array_equal(_sorted_rows(back.points.array), _sorted_rows(points))
    assert las.info(path).copc is True
    if not len(points):
        return
    header = back.header
    real = [points[n] * header.scales[a] + header.offsets[a] for a, n in enumerate("XYZ")]
    rng = np.random.default_rng(5)
    mins, maxs = header.mins, header.maxs
    with laspy.CopcReader.open(str(path)) as reader:
        if len(points) < 200_000:  # whole-file queries: laspy.read above checked the bytes
            assert np.array_equal(_sorted_rows(reader.query().array), _sorted_rows(points))
            assert sum(len(reader.level_query(lv)) for lv in range(16)) == len(points)
        for _ in range(boxes):
            # faces on the point grid: the points on a face must come back too
            a, b = (
                np.round((rng.uniform(mins, maxs) - header.offsets) / header.scales) for _ in "ab"
            )
            lo_int, hi_int = np.minimum(a, b).astype(np.int64), np.maximum(a, b).astype(np.int64)
            lo = lo_int * header.scales + header.offsets
            hi = hi_int * header.scales + header.offsets
            inside = np.all(
                [(lo_int[i] <= points[n]) & (points[n] <= hi_int[i]) for i, n in enumerate("XYZ")],
                axis=0,
            )
            got = reader.query(bounds=laspy.Bounds(mins=lo, maxs=hi))
            assert np.array_equal(_sorted_rows(got.array), _sorted_rows(points[inside]))
            window = las.read_window(path, (lo[0], lo[1], hi[0], hi[1]))
            in_2d = (lo[0] <= real[0]) & (real[0] <= hi[0]) & (lo[1] <= real[1])
            in_2d &= real[1] <= hi[1]
            assert len(window) == int(in_2d.sum())
            np.testing.assert_array_equal(
                np.sort(window["gps_time"]), np.sort(points["gps_time"][in_2d])
            )


def _pdal_check(path: Path, tmp_path: Path, points: np.ndarray) -> None:
    """PDAL reads the file as COPC, translates all its points and answers a box query."""
    meta = json.loads(
        subprocess.run(
            [PDAL, "info", "--metadata", str(path)], capture_output=True, text=True, check=True
        ).stdout
    )["metadata"]
    assert meta["copc"] is True and meta["count"] == len(points)
    info = meta["copc_info"]
    assert info["root_hier_size"] % 32 == 0 and info["halfsize"] > 0
    out = tmp_path / "pdal_back.las"
    subprocess.run([PDAL, "translate", str(path), str(out)], check=True, capture_output=True)
    back = laspy.read(out)
    assert back.header.point_count == len(points)
    np.testing.assert_array_equal(np.sort(back.points["gps_time"]), np.sort(points["gps_time"]))
    if len(points) > 10:
        xs = np.sort(points["X"])
        ys = np.sort(points["Y"])
        with laspy.open(path) as reader:
            h = reader.header
        x0, x1 = (xs[len(xs) // 4] + 0.5) * h.x_scale + h.x_offset, (xs[-len(xs) // 3] + 0.5) * h.x_scale + h.x_offset  # fmt: skip
        y0, y1 = (ys[len(ys) // 5] + 0.5) * h.y_scale + h.y_offset, (ys[-len(ys) // 4] + 0.5) * h.y_scale + h.y_offset  # fmt: skip
        box = tmp_path / "pdal_box.las"
        subprocess.run(
            [PDAL, "translate", str(path), str(box), f"--readers.copc.bounds=([{x0},{x1}],[{y0},{y1}])"],
            check=True,
            capture_output=True,
        )  # fmt: skip
        real_x = points["X"] * h.x_scale + h.x_offset
        real_y = points["Y"] * h.y_scale + h.y_offset
        inside = (x0 <= real_x) & (real_x <= x1) & (y0 <= real_y) & (real_y <= y1)
        assert laspy.read(box).header.point_count == int(inside.sum())


# ----------------------------------------------------------------------------- synthetic


@pytest.fixture(scope="module")
def scene() -> synth.Scene:
    return synth.make_scene(40_000, seed=11)


@pytest.mark.parametrize("point_format", [6, 7, 8])
def test_scene_round_trips_through_every_reader(scene, tmp_path: Path, point_format: int) -> None:
    header, record = _header_and_points(scene, point_format)
    path = tmp_path / "scene.copc.laz"
    copc.write_copc(path, header, record, leaf_points=3000)
    _check_structure(path, header, record.array)
    _check_readers(path, record.array)
    with laspy.CopcReader.open(str(path)) as reader:
        levels = {k.level for k in reader.root_page.entries}
        assert max(levels) >= 2, "small leaves force a deep octree"
        assert reader.header.parse_crs().to_epsg() == 2154


def test_extra_bytes_are_kept(scene, tmp_path: Path) -> None:
    extra = [
        laspy.ExtraBytesParams("hag", "f4"),
        laspy.ExtraBytesParams("tile_id", "i4"),
        laspy.ExtraBytesParams("flag", "u1"),
        laspy.ExtraBytesParams("normal", "3f8"),
        laspy.ExtraBytesParams("scaled", "u2", scales=np.array([0.5]), offsets=np.array([1.0])),
    ]
    header, record = _header_and_points(scene, 8, extra)
    path = tmp_path / "extra.copc.laz"
    copc.write_copc(path, header, record, leaf_points=5000)
    _check_structure(path, header, record.array)
    _check_readers(path, record.array, boxes=2)
    back = laspy.read(path)
    assert list(back.point_format.extra_dimension_names) == [p.name for p in extra]
    order = np.argsort(back["gps_time"])
    np.testing.assert_array_equal(back["normal"][order], record["normal"])
    np.testing.assert_allclose(back["scaled"][order], record["scaled"])


def test_default_leaf_size_and_writes_are_deterministic(scene, tmp_path: Path) -> None:
    header, record = _header_and_points(scene, 6)
    header.creation_date = __import__("datetime").date(2024, 5, 1)
    a, b = tmp_path / "a.copc.laz", tmp_path / "b.copc.laz"
    copc.write_copc(a, header, record)
    copc.write_copc(b, header, record, parallel=False)
    assert a.read_bytes() == b.read_bytes()
    with laspy.CopcReader.open(str(a)) as reader:
        assert len(reader.root_page.entries) == 1  # 40,000 points fit one leaf
    assert header.point_count == 0 and header.vlrs[0].user_id != "copc", "header untouched"


@needs_pdal
def test_pdal_reads_synthetic_files(scene, tmp_path: Path) -> None:
    header, record = _header_and_points(
        scene, 8, [laspy.ExtraBytesParams("hag", "f4"), laspy.ExtraBytesParams("id", "3i2")]
    )
    path = tmp_path / "scene.copc.laz"
    copc.write_copc(path, header, record, leaf_points=2000)
    _pdal_check(path, tmp_path, record.array)


def _tiny(tmp_path: Path, xyz: np.ndarray, leaf_points: int = copc.DEFAULT_LEAF_POINTS):
    header = laspy.LasHeader(point_format=6, version="1.4")
    header.scales = np.array([0.01, 0.01, 0.001])
    header.offsets = np.array([700_000.0, 6_600_000.0, 0.0])
    header.add_crs(CRS.from_epsg(2154))
    record = laspy.ScaleAwarePointRecord.zeros(len(xyz), header=header)
    if len(xyz):
        record.x, record.y, record.z = xyz.T
        record["gps_time"] = np.arange(len(xyz), dtype=float)
        record["intensity"] = np.arange(len(xyz)) % 65535
    path = tmp_path / "tiny.copc.laz"
    copc.write_copc(path, header, record, leaf_points=leaf_points)
    return path, header, record


def test_empty_cloud(tmp_path: Path) -> None:
    path, header, record = _tiny(tmp_path, np.zeros((0, 3)))
    _check_structure(path, header, record.array)
    _check_readers(path, record.array)
    with laspy.CopcReader.open(str(path)) as reader:
        assert len(reader.query()) == 0
    if PDAL:
        _pdal_check(path, tmp_path, record.array)


def test_single_point(tmp_path: Path) -> None:
    path, header, record = _tiny(tmp_path, np.array([[700_123.45, 6_600_321.09, 12.345]]))
    _check_structure(path, header, record.array)
    _check_readers(path, record.array)
    back = laspy.read(path)
    assert (back.header.mins == back.header.maxs).all()
    np.testing.assert_allclose(back.x, [700_123.45])
    if PDAL:
        _pdal_check(path, tmp_path, record.array)


def test_points_all_on_one_spot_reach_the_deepest_level(tmp_path: Path) -> None:
    xyz = np.tile([[700_001.0, 6_600_002.0, 3.0]], (5000, 1))
    path, header, record = _tiny(tmp_path, xyz, leaf_points=100)
    _check_structure(path, header, record.array)
    _check_readers(path, record.array, boxes=1)
    with laspy.CopcReader.open(str(path)) as reader:
        entries = reader.root_page.entries.values()
        deepest = max(entries, key=lambda e: e.key.level)
        assert deepest.key.level == copc.MAX_LEVEL and deepest.point_count == 5000 - copc.MAX_LEVEL
    if PDAL:
        _pdal_check(path, tmp_path, record.array)


def test_two_clusters_far_apart(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    a = rng.normal([700_000.0, 6_600_000.0, 10.0], 0.5, (3000, 3))
    b = rng.normal([705_000.0, 6_600_000.0, 10.0], 0.5, (3000, 3))
    path, header, record = _tiny(tmp_path, np.vstack([a, b]), leaf_points=200)
    _check_structure(path, header, record.array)
    _check_readers(path, record.array, boxes=3)


def test_octree_levels_halve_the_spacing(scene) -> None:
    header, record = _header_and_points(scene, 6)
    a = record.array
    tree = copc.build_octree(
        (a["X"], a["Y"], a["Z"]), header.scales, header.offsets, leaf_points=500
    )
    assert sorted(tree.order.tolist()) == list(range(len(a)))
    assert tree.counts.sum() == len(a) and (tree.counts > 0).all()
    assert tree.spacing == tree.halfsize * 2 / 128
    levels = tree.keys[:, 0]
    assert (np.diff(levels) >= 0).all(), "nodes are written level by level"
    per_level = np.bincount(levels, weights=tree.counts)
    assert per_level[1] > 2 * per_level[0], "each level is denser than the one above"


def test_spread_bits_interleaves() -> None:
    values = np.array([0, 1, 2, 5, 0x1FFFFF, 123456], dtype=np.uint32)
    spread = copc._spread_bits(values)
    for v, s in zip(values.tolist(), spread.tolist(), strict=True):
        expected = sum(((v >> i) & 1) << (3 * i) for i in range(21))
        assert s == expected


def test_rejects_legacy_formats_and_mismatched_points(tmp_path: Path) -> None:
    header = laspy.LasHeader(point_format=3, version="1.2")
    record = laspy.ScaleAwarePointRecord.zeros(3, header=header)
    with pytest.raises(ParameterError, match="formats 6, 7 or 8"):
        copc.write_copc(tmp_path / "a.copc.laz", header, record)
    header6 = laspy.LasHeader(point_format=6, version="1.4")
    with pytest.raises(ParameterError, match="point format 3"):
        copc.write_copc(tmp_path / "b.copc.laz", header6, record)
    with pytest.raises(ParameterError, match="leaf_points"):
        copc.write_copc(
            tmp_path / "c.copc.laz",
            header6,
            laspy.ScaleAwarePointRecord.zeros(1, header=header6),
            leaf_points=0,
        )


def test_geotiff_keys_get_a_wkt_beside_them(tmp_path: Path) -> None:
    legacy = laspy.LasHeader(point_format=3, version="1.2")
    legacy.add_crs(CRS.from_epsg(2154))  # GeoTIFF keys only
    header = laspy.LasHeader(point_format=6, version="1.4")
    header.vlrs.extend(legacy.vlrs)
    assert ("LASF_Projection", 34735) in [(v.user_id, v.record_id) for v in header.vlrs]
    record = laspy.ScaleAwarePointRecord.zeros(10, header=header)
    record["gps_time"] = np.arange(10.0)
    path = tmp_path / "geotiff.copc.laz"
    copc.write_copc(path, header, record)
    users = [(u, r) for _, u, r, _ in _raw_vlrs(path)]
    # COPC readers need the WKT; the source's keys are kept beside it
    assert ("LASF_Projection", 2112) in users and ("LASF_Projection", 34735) in users
    back = laspy.read(path)
    assert back.header.global_encoding.wkt and back.header.parse_crs().to_epsg() == 2154


# ----------------------------------------------------------------------------- real files

REAL = [
    # a COPC written by PDAL: its copc records are replaced (500k points)
    pytest.param("PDAL/lone-star.copc.laz", marks=pytest.mark.slow),
    "laspy/simple.copc.laz",  # format 7
    "laspy/1_4_w_evlr.laz",  # a user EVLR to keep
    "laspy/file_with_both_wkt_and_geotiff_vlrs.las",
    # format 8, two extra bytes VLRs in the source, 700k points
    pytest.param("ign-pdal-tools/las_with_several_extra_byte_bloc.laz", marks=pytest.mark.slow),
    "ign-pdal-tools/crop_duplicate.laz",  # duplicated points
    "ign-pdal-tools/test_data_0436_6384_LA93_IGN69_single_point.laz",  # no CRS
    "pdal-ign-plugin/mnx_input_crop_2.laz",  # six extra dimensions
]


@needs_real
@pytest.mark.parametrize("name", REAL, ids=lambda n: n.split("/")[-1])
def test_real_files_round_trip(name: str, tmp_path: Path) -> None:
    source = laspy.read(LIDAR / name)
    header, points = source.header, source.points
    path = tmp_path / "real.copc.laz"
    copc.write_copc(path, header, points, leaf_points=50_000)
    _check_structure(path, header, points.array)
    _check_readers(path, points.array, boxes=2)
    back = laspy.read(path)
    assert list(back.point_format.dimension_names) == list(header.point_format.dimension_names)

    def user_vlrs(h: laspy.LasHeader) -> list[tuple[str, int]]:
        # the extra bytes VLR is rebuilt from the point format (one, whatever the source had)
        skip = ("copc", "laszip encoded", "LASF_Projection")
        ids = [(v.user_id, v.record_id) for v in h.vlrs]
        return [i for i in ids if i[0] not in skip and i != ("LASF_Spec", 4)]

    assert user_vlrs(back.header) == user_vlrs(header)
    if header.evlrs:
        kept = [(e.user_id, e.record_id, e.record_data_bytes()) for e in header.evlrs if e.user_id != "copc"]  # fmt: skip
        got = [(u, r, d) for u, r, d in _raw_evlrs(path) if u != "copc"]
        assert got == kept
    assert back.header.parse_crs() == header.parse_crs()
    if PDAL:
        _pdal_check(path, tmp_path, points.array)
