"""The written LAS keeps what the source had: format, extra bytes, VLRs, EVLRs, header fields.

Each test builds a small file with laspy (or by hand, for layouts laspy does
not write), passes it through :func:`pcrs.io.las.read` / :func:`pcrs.io.las.write`
and compares what laspy reads back, field by field.
"""

from __future__ import annotations

import logging
import struct

import laspy
import numpy as np
import pytest
from laspy.vlrs.vlrlist import VLRList

from pcrs.errors import ParameterError, UnsupportedFormatError
from pcrs.io import las
from pcrs.io.las_layout import choose_format
from pcrs.points import PointCloud, scan_angle_from_rank


def _random_points(header: laspy.LasHeader, n: int, seed: int = 0) -> laspy.LasData:
    """A LasData whose every standard field holds random legal values."""
    rng = np.random.default_rng(seed)
    data = laspy.LasData(header)
    data.points = laspy.ScaleAwarePointRecord.zeros(n, header=header)
    data.x = 700_000 + rng.uniform(0, 100, n)
    data.y = 6_600_000 + rng.uniform(0, 100, n)
    data.z = rng.uniform(0, 50, n)
    fmt = header.point_format
    for dim in fmt.dimensions:
        if dim.name in ("X", "Y", "Z"):
            continue
        arr = data.points.array if dim.name in data.points.array.dtype.names else None
        if dim.name == "gps_time":
            data.gps_time = rng.uniform(3e8, 4e8, n)
        elif dim.kind.name == "BitField":
            data[dim.name] = rng.integers(0, 2**dim.num_bits, n)
        elif dim.name == "classification":
            data.classification = rng.integers(0, 32 if fmt.id < 6 else 256, n)
        elif dim.name == "scan_angle_rank":
            data.scan_angle_rank = rng.integers(-90, 91, n)
        elif dim.name == "scan_angle":
            data.scan_angle = rng.integers(-15000, 15001, n)
        elif arr is not None and dim.is_standard:
            info = np.iinfo(arr[dim.name].dtype) if arr[dim.name].dtype.kind in "iu" else None
            if info is not None:
                data[dim.name] = rng.integers(max(info.min, -1000), min(info.max, 60000), n)
            else:
                data[dim.name] = rng.uniform(-1, 1, n).astype(arr[dim.name].dtype)
    return data


def _same_points(a: laspy.LasData, b: laspy.LasData, skip: tuple[str, ...] = ()) -> None:
    for name in a.point_format.dimension_names:
        if name in skip:
            continue
        assert np.array_equal(np.asarray(a[name]), np.asarray(b[name])), name


@pytest.mark.parametrize("fmt", range(11))
def test_every_point_format_round_trips_bit_for_bit(tmp_path, fmt):
    version = "1.4" if fmt >= 6 else ("1.3" if fmt >= 4 else "1.2")
    header = laspy.LasHeader(point_format=fmt, version=version)
    header.offsets = [700_000, 6_600_000, 0]
    data = _random_points(header, 500, seed=fmt)
    src = tmp_path / "src.las"
    data.write(src)
    # lazrs garbles wave packets across scanner channels (see the next test): .las for 9-10
    out = tmp_path / ("out.las" if fmt in (9, 10) else "out.laz")
    las.write(las.read(src), out)
    back = laspy.read(out)
    assert back.header.point_format.id == fmt
    assert str(back.header.version) == version
    _same_points(laspy.read(src), back)


@pytest.mark.parametrize("fmt", [9, 10])
def test_laz_that_lazrs_would_garble_is_refused(tmp_path, fmt):
    header = laspy.LasHeader(point_format=fmt, version="1.4")
    header.offsets = [700_000, 6_600_000, 0]
    data = _random_points(header, 100, seed=fmt)
    data.scanner_channel = np.arange(100) % 2
    src = tmp_path / "src.las"
    data.write(src)
    cloud = las.read(src)
    with pytest.raises(UnsupportedFormatError, match=r"write a \.las file instead"):
        las.write(cloud, tmp_path / "out.laz")
    assert not (tmp_path / "out.laz").exists()
    with (
        pytest.raises(UnsupportedFormatError),
        las.LasStreamWriter(tmp_path / "s.laz", cloud[:0]) as w,
    ):
        w.write(cloud[:1])  # channel 0
        w.write(cloud[1:2])  # channel 1
    assert not list(tmp_path.glob("*.laz"))
    # one channel compresses exactly
    cloud["scanner_channel"][:] = 1
    las.write(cloud, tmp_path / "one.laz")
    back = laspy.read(tmp_path / "one.laz")
    assert np.array_equal(back.wavepacket_offset, data.wavepacket_offset)


def _with_undocumented_bytes(path, n_extra: int = 13) -> laspy.LasData:
    """A LAS 1.4 format 6 file with a documented 'Deviation' and ``n_extra`` bytes
    that no Extra Bytes entry describes (as some production chains write them)."""
    header = laspy.LasHeader(point_format=6, version="1.4")
    header.offsets = [700_000, 6_600_000, 0]
    header.add_extra_dims([laspy.ExtraBytesParams("Deviation", "u2")])
    data = _random_points(header, 200, seed=3)
    data.Deviation = np.arange(200, dtype=np.uint16)
    plain = path.with_suffix(".plain.las")
    data.write(plain)
    raw = bytearray(plain.read_bytes())
    offset = struct.unpack_from("<I", raw, 96)[0]
    size = struct.unpack_from("<H", raw, 105)[0]
    count = struct.unpack_from("<Q", raw, 247)[0]
    points = np.frombuffer(bytes(raw[offset : offset + count * size]), np.uint8).reshape(
        count, size
    )
    tail = np.random.default_rng(1).integers(0, 256, (count, n_extra), dtype=np.uint8)
    out = bytearray(raw[:offset]) + np.hstack([points, tail]).tobytes()
    struct.pack_into("<H", out, 105, size + n_extra)
    path.write_bytes(bytes(out))
    return laspy.read(path)


def test_undocumented_extra_bytes_survive_and_stay_readable(tmp_path):
    src = tmp_path / "undocumented.las"
    original = _with_undocumented_bytes(src)
    assert original.point_format.size == 30 + 2 + 13
    out = tmp_path / "out.laz"
    las.write(las.read(src), out)
    back = laspy.read(out)  # raised "len(scales) (3) is not the same as ..." before
    assert back.point_format.size == original.point_format.size
    for name in original.points.array.dtype.names:
        assert np.array_equal(original.points.array[name], back.points.array[name]), name
    assert len(las.read(out)) == 200


def test_undocumented_bytes_survive_beside_a_new_dimension(tmp_path):
    src = tmp_path / "undocumented.las"
    original = _with_undocumented_bytes(src)
    cloud = las.read(src)
    cloud["hag"] = np.linspace(0, 5, len(cloud)).astype(np.float32)
    out = tmp_path / "out.laz"
    las.write(cloud, out)
    back = laspy.read(out)
    assert np.array_equal(back.ExtraBytes, original.ExtraBytes)
    assert np.array_equal(back.Deviation, original.Deviation)
    assert np.allclose(back.hag, cloud["hag"])
    assert [d.name for d in back.point_format.extra_dimensions] == [
        "Deviation",
        "hag",
        "ExtraBytes",
    ]


def test_scaled_and_array_extra_dimensions_round_trip(tmp_path):
    header = laspy.LasHeader(point_format=8, version="1.4")
    header.offsets = [700_000, 6_600_000, 0]
    header.add_extra_dims(
        [
            laspy.ExtraBytesParams("scaled", "i4", scales=np.array([0.001]), offsets=[10.0]),
            laspy.ExtraBytesParams("triple", "3u2", description="three counts"),
            laspy.ExtraBytesParams("proba", "f8"),
        ]
    )
    data = _random_points(header, 300, seed=5)
    rng = np.random.default_rng(2)
    data.scaled = 10 + rng.integers(-(10**6), 10**6, 300) * 0.001
    data.triple = rng.integers(0, 65535, (300, 3))
    data.proba = rng.uniform(0, 1, 300)
    src = tmp_path / "extra.laz"
    data.write(src)
    out = tmp_path / "out.laz"
    las.write(las.read(src), out)
    a, b = laspy.read(src), laspy.read(out)
    for name in a.points.array.dtype.names:
        assert np.array_equal(a.points.array[name], b.points.array[name]), name
    vlr_a = a.header.vlrs.get("ExtraBytesVlr")[0]
    vlr_b = b.header.vlrs.get("ExtraBytesVlr")[0]
    assert vlr_a.record_data_bytes() == vlr_b.record_data_bytes()


def test_header_fields_vlrs_and_evlrs_are_kept(tmp_path):
    header = laspy.LasHeader(point_format=6, version="1.4")
    header.offsets = [700_000, 6_600_000, 0]
    header.file_source_id = 4242
    header.global_encoding.gps_time_type = laspy.header.GpsTimeType.STANDARD
    header.system_identifier = "RIEGL VQ-1560"
    header.add_crs(pyproj_crs := __import__("pyproj").CRS.from_epsg(2154))
    header.vlrs.append(laspy.VLR("contractor", 7, "flight notes", b"line 12; 2024-05-03"))
    data = _random_points(header, 100)
    data.header.evlrs = VLRList([laspy.VLR("contractor", 8, "trajectory", b"\x01" * 5000)])
    src = tmp_path / "src.laz"
    data.write(src)
    out = tmp_path / "out.laz"
    las.write(las.read(src), out)
    back = laspy.read(out)
    assert back.header.file_source_id == 4242
    assert back.header.global_encoding.value == laspy.read(src).header.global_encoding.value
    assert back.header.system_identifier == "RIEGL VQ-1560"
    user = [v for v in back.header.vlrs if v.user_id == "contractor"]
    assert [(v.record_id, v.description, v.record_data) for v in user] == [
        (7, "flight notes", b"line 12; 2024-05-03")
    ]
    assert [(v.user_id, v.record_id, v.record_data) for v in back.header.evlrs] == [
        ("contractor", 8, b"\x01" * 5000)
    ]
    assert las.read(out).crs == pyproj_crs


def test_stream_writer_keeps_evlrs(tmp_path):
    header = laspy.LasHeader(point_format=6, version="1.4")
    header.offsets = [700_000, 6_600_000, 0]
    data = _random_points(header, 100)
    data.header.evlrs = VLRList([laspy.VLR("contractor", 8, "", b"abc")])
    src = tmp_path / "src.laz"
    data.write(src)
    cloud = las.read(src)
    out = tmp_path / "out.laz"
    with las.LasStreamWriter(out, cloud[:0]) as w:
        w.write(cloud[:40])
        w.write(cloud[40:])
    back = laspy.read(out)
    assert [(v.user_id, v.record_data) for v in back.header.evlrs] == [("contractor", b"abc")]
    _same_points(data, back)


def test_legacy_format_is_kept_when_no_class_needs_more(tmp_path):
    header = laspy.LasHeader(point_format=3, version="1.2")
    header.offsets = [700_000, 6_600_000, 0]
    data = _random_points(header, 200)
    src = tmp_path / "src.las"
    data.write(src)
    cloud = las.read(src)
    cloud.classification[:5] = 18  # high noise in ASPRS codes: fits 5 bits
    out = tmp_path / "out.laz"
    las.write(cloud, out)
    back = laspy.read(out)
    assert (back.header.point_format.id, str(back.header.version)) == (3, "1.2")
    _same_points(data, back, skip=("classification",))


def test_class_above_31_widens_to_1_4_with_exact_scan_angle(tmp_path, caplog):
    header = laspy.LasHeader(point_format=1, version="1.2")
    header.offsets = [700_000, 6_600_000, 0]
    data = _random_points(header, 200)
    data.scan_angle_rank = np.arange(-100, 100).clip(-90, 90)
    src = tmp_path / "src.las"
    data.write(src)
    cloud = las.read(src)
    cloud.classification[:3] = 65
    out = tmp_path / "out.laz"
    with caplog.at_level(logging.WARNING):
        las.write(cloud, out)
    assert "point format 6" in caplog.text and "classification codes up to 65" in caplog.text
    back = laspy.read(out)
    assert (back.header.point_format.id, str(back.header.version)) == (6, "1.4")
    assert np.array_equal(back.scan_angle, np.round(data.scan_angle_rank / 0.006))
    assert np.array_equal(np.round(back.scan_angle * 0.006), data.scan_angle_rank)  # both ways
    _same_points(data, back, skip=("classification", "scan_angle_rank"))
    assert np.array_equal(back.classification[3:], data.classification[3:])


@pytest.mark.parametrize(("legacy", "widened"), [(0, 6), (1, 6), (2, 7), (3, 7), (4, 9), (5, 10)])
def test_widening_map(legacy, widened):
    cloud = PointCloud(
        np.zeros(1), np.zeros(1), np.zeros(1), {"classification": np.array([64], np.uint8)}
    ).with_layout(point_format=legacy, version="1.3" if legacy >= 4 else "1.2")
    # the format's own fields make the choice; add them as a read would
    for name in laspy.PointFormat(legacy).dimension_names:
        if name not in ("X", "Y", "Z", "classification"):
            cloud[name] = np.zeros(1, np.uint8)
    choice = choose_format(cloud)
    assert (choice.point_format, choice.version) == (widened, "1.4")


def test_asked_downgrade_names_what_it_drops(tmp_path, caplog):
    header = laspy.LasHeader(point_format=8, version="1.4")
    header.offsets = [700_000, 6_600_000, 0]
    data = _random_points(header, 100)
    data.classification = np.full(100, 2)
    data.return_number = np.full(100, 1)  # formats 0-5 have 3 bits for it
    data.number_of_returns = np.full(100, 2)
    data.scan_angle = np.full(100, 500)  # 3 degrees exactly
    src = tmp_path / "src.laz"
    data.write(src)
    out = tmp_path / "out.las"
    with caplog.at_level(logging.WARNING):
        las.write(las.read(src), out, point_format=3, version="1.2")
    assert "nir" in caplog.text and "no field" in caplog.text
    back = laspy.read(out)
    assert back.header.point_format.id == 3
    assert np.all(back.scan_angle_rank == 3)
    _same_points(data, back, skip=("nir", "overlap", "scanner_channel", "scan_angle"))


def test_asked_format_that_cannot_hold_the_classes_is_refused(tmp_path):
    cloud = PointCloud(np.zeros(2), np.zeros(2), np.zeros(2), {"classification": np.array([2, 66])})
    with pytest.raises(ParameterError, match="does not fit point format 3"):
        las.write(cloud, tmp_path / "x.las", point_format=3)
    with pytest.raises(ParameterError, match=r"need LAS 1\.4"):
        las.write(cloud, tmp_path / "x.las", point_format=6, version="1.2")


def test_mixed_formats_join_on_the_union_of_their_dimensions(tmp_path):
    h3 = laspy.LasHeader(point_format=3, version="1.2")
    h3.offsets = [700_000, 6_600_000, 0]
    d3 = _random_points(h3, 50, seed=1)
    h6 = laspy.LasHeader(point_format=6, version="1.4")
    h6.offsets = [700_000, 6_600_000, 0]
    h6.add_extra_dims([laspy.ExtraBytesParams("Deviation", "u2")])
    d6 = _random_points(h6, 70, seed=2)
    d6.Deviation = np.arange(70)
    d3.write(tmp_path / "a.las")
    d6.write(tmp_path / "b.laz")
    joined = PointCloud.concatenate([las.read(tmp_path / "a.las"), las.read(tmp_path / "b.laz")])
    assert "scan_angle_rank" not in joined.attributes
    assert np.array_equal(joined["scan_angle"][:50], scan_angle_from_rank(d3.scan_angle_rank))
    assert np.array_equal(joined["scan_angle"][50:], d6.scan_angle)
    assert np.array_equal(joined["red"][50:], np.zeros(70))
    assert np.array_equal(joined["Deviation"][:50], np.zeros(50))
    out = tmp_path / "joined.laz"
    las.write(joined, out)
    back = laspy.read(out)
    assert back.header.point_format.id == 7  # 3's colours + 6's fields
    assert np.array_equal(back.Deviation[50:], d6.Deviation)
    assert np.array_equal(back.red[:50], d3.red)
    assert np.array_equal(back.gps_time, np.concatenate([d3.gps_time, d6.gps_time]))


def _with_empty_wkt(path) -> None:
    """A LAS 1.4 format 6 file whose WKT VLR is empty, beside valid GeoTIFF keys."""
    import pyproj

    header = laspy.LasHeader(point_format=6, version="1.4")
    header.offsets = [700_000, 6_600_000, 0]
    probe = laspy.LasHeader(point_format=3, version="1.2")
    probe.add_crs(pyproj.CRS.from_epsg(2154))
    for v in probe.vlrs:
        header.vlrs.append(v)
    header.vlrs.append(laspy.VLR("LASF_Projection", 2112, "", b""))
    data = _random_points(header, 50)
    data.write(path)


def test_empty_wkt_record_comes_out_readable(tmp_path):
    src = tmp_path / "empty_wkt.laz"
    _with_empty_wkt(src)
    cloud = las.read(src)
    assert cloud.crs is not None and cloud.crs.to_epsg() == 2154
    out = tmp_path / "out.laz"
    cloud.classification[:] = 2
    las.write(cloud, out)
    again = las.read(out)
    assert again.crs == cloud.crs
    assert (
        laspy.read(out).header.global_encoding.value == laspy.read(src).header.global_encoding.value
    )


def test_copc_output_keeps_undocumented_bytes_and_evlrs(tmp_path):
    src = tmp_path / "undocumented.las"
    original = _with_undocumented_bytes(src)
    cloud = las.read(src)
    out = tmp_path / "out.copc.laz"
    las.write(cloud, out)
    assert las.info(out).copc
    back = laspy.read(out)
    order_a = np.lexsort([original.gps_time, original.X, original.Y])
    order_b = np.lexsort([back.gps_time, back.X, back.Y])
    for name in original.points.array.dtype.names:
        assert np.array_equal(
            original.points.array[name][order_a], back.points.array[name][order_b]
        ), name
    streamed = tmp_path / "streamed.copc.laz"
    with las.LasStreamWriter(streamed, cloud[:0]) as w:
        w.write(cloud[:50])
        w.write(cloud[50:])
    assert las.info(streamed).copc and las.info(streamed).points == len(cloud)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part") or ".part." in p.name]
