"""Hostile and corrupt LAS/LAZ/COPC input ends in a clean PcrsError (issue #13, point 3).

Each test mutates one field of a small file written here with pcrs (so the
tests run without the shared data) and checks that reading it raises
:class:`~pcrs.errors.CorruptFileError` quickly, or reads finite points. The
last test is a seeded in-process fuzz of a few hundred mutants.
"""

from __future__ import annotations

import math
import random
import struct
import subprocess
import sys
import time
from pathlib import Path

import laspy
import numpy as np
import pytest

from pcrs import synth
from pcrs.errors import CorruptFileError, PcrsError
from pcrs.io import _las_guard, las
from pcrs.tiling.catalog import Catalog

# header field offsets (LAS 1.4 public header block)
N_VLRS, POINT_FORMAT, RECORD_LENGTH, LEGACY_COUNT = 100, 104, 105, 107
SCALE_X, SCALE_Y, OFFSET_Z, MAX_X = 131, 139, 171, 179
START_EVLR, N_EVLRS, POINT_COUNT = 235, 243, 247


@pytest.fixture(scope="module")
def cloud():
    return synth.make_scene(3000, seed=3).cloud


@pytest.fixture(scope="module")
def base_laz(cloud, tmp_path_factory) -> Path:
    """LAS 1.4, point format 6 (what pcrs writes), compressed."""
    path = tmp_path_factory.mktemp("base") / "base.laz"
    las.write(cloud, path)
    return path


@pytest.fixture(scope="module")
def base_las(cloud, tmp_path_factory) -> Path:
    """LAS 1.2, point format 3, uncompressed, with one extra dimension."""
    path = tmp_path_factory.mktemp("base") / "base12.las"
    header = laspy.LasHeader(point_format=3, version="1.2")
    header.add_extra_dims([laspy.ExtraBytesParams(name="height", type="f4")])
    header.scales = [0.01, 0.01, 0.01]
    header.offsets = [float(np.floor(cloud.x.min())), float(np.floor(cloud.y.min())), 0.0]
    data = laspy.LasData(header)
    data.x, data.y, data.z = cloud.x[:500], cloud.y[:500], cloud.z[:500]
    data.height = np.arange(500, dtype=np.float32)
    data.write(path)
    return path


def _mutant(base: Path, tmp_path: Path, edits, cut: int | None = None) -> Path:
    """A copy of ``base`` with ``edits`` [(offset, struct format, value)] applied."""
    buf = bytearray(base.read_bytes())
    for off, fmt, value in edits:
        struct.pack_into("<" + fmt, buf, off, value)
    if cut is not None:
        del buf[cut:]
    out = tmp_path / ("m" + "".join(base.suffixes))
    out.write_bytes(bytes(buf))
    return out


def _laszip_body(path: Path) -> int:
    """Offset of the laszip VLR's payload."""
    data = path.read_bytes()
    pos = struct.unpack_from("<H", data, 94)[0]
    for _ in range(struct.unpack_from("<I", data, N_VLRS)[0]):
        user = data[pos + 2 : pos + 18].rstrip(b"\0")
        length = struct.unpack_from("<H", data, pos + 20)[0]
        if user == b"laszip encoded":
            return pos + 54
        pos += 54 + length
    raise AssertionError("no laszip VLR")


def _point_data(path: Path) -> int:
    return struct.unpack_from("<I", path.read_bytes(), 96)[0]


def _assert_corrupt(path: Path, *words: str, seconds: float = 5.0) -> None:
    """info and read both raise a one-line CorruptFileError naming ``path`` and ``words``."""
    for fn in (las.info, las.read):
        t0 = time.perf_counter()
        with pytest.raises(CorruptFileError) as err:
            fn(path)
        assert time.perf_counter() - t0 < seconds
        text = str(err.value)
        assert str(path) in text
        assert "\n" not in text
        for w in words:
            assert w in text


def test_bases_read_cleanly(cloud, base_laz, base_las):
    assert len(las.read(base_laz)) == len(cloud) > 2000
    assert len(las.read(base_las)) == 500
    assert _las_guard.check_file(base_laz).laz.chunks == 1


def test_vlr_count_all_ones_fails_at_once(base_laz, tmp_path):
    _assert_corrupt(_mutant(base_laz, tmp_path, [(N_VLRS, "I", 0xFFFFFFFF)]), "VLRs")


def test_vlr_length_past_point_data(base_las, tmp_path):
    header_size = struct.unpack_from("<H", base_las.read_bytes(), 94)[0]
    path = _mutant(base_las, tmp_path, [(header_size + 20, "H", 0xFFFF)])
    _assert_corrupt(path, "VLR 0")


@pytest.mark.parametrize(
    ("offset", "value", "word"),
    [
        (SCALE_X, math.nan, "x scale"),
        (SCALE_Y, 0.0, "y scale"),
        (SCALE_X, -0.0, "x scale"),
        (OFFSET_Z, math.inf, "z offset"),
        (OFFSET_Z, -math.inf, "z offset"),
        (SCALE_X, 1e300, "overflow"),
        (MAX_X, math.nan, "bounds"),
    ],
)
def test_unusable_scales_and_offsets(base_laz, tmp_path, offset, value, word):
    _assert_corrupt(_mutant(base_laz, tmp_path, [(offset, "d", value)]), word)


def test_tiny_scale_still_gives_finite_coordinates(base_las, tmp_path):
    cloud = las.read(_mutant(base_las, tmp_path, [(SCALE_X, "d", 5e-324)]))
    assert np.isfinite(cloud.x).all()


def test_huge_point_count_las(base_las, tmp_path):
    _assert_corrupt(_mutant(base_las, tmp_path, [(LEGACY_COUNT, "I", 0xFFFFFFFE)]), "points")


def test_huge_point_count_laz(base_laz, tmp_path):
    path = _mutant(base_laz, tmp_path, [(POINT_COUNT, "Q", 2**63)])
    _assert_corrupt(path, "chunk table holds at most")


def test_point_count_beyond_the_chunk_table_laz(base_laz, tmp_path):
    # one chunk of 50,000 points cannot hold 50,001
    _assert_corrupt(_mutant(base_laz, tmp_path, [(POINT_COUNT, "Q", 50_001)]), "chunk table")


def test_truncated_laz(base_laz, tmp_path):
    size = base_laz.stat().st_size
    _assert_corrupt(_mutant(base_laz, tmp_path, [], cut=size - 200), "chunk table")


def test_truncated_las(base_las, tmp_path):
    size = base_las.stat().st_size
    _assert_corrupt(_mutant(base_las, tmp_path, [], cut=size - 1), "points")


def test_chunk_table_offset_past_end(base_laz, tmp_path):
    path = _mutant(base_laz, tmp_path, [(_point_data(base_laz), "q", 10**12)])
    _assert_corrupt(path, "chunk table should start at byte 1000000000000")


def test_chunk_table_count_huge(base_laz, tmp_path):
    table = struct.unpack_from("<q", base_laz.read_bytes(), _point_data(base_laz))[0]
    _assert_corrupt(_mutant(base_laz, tmp_path, [(table + 4, "I", 0xFFFFFFFF)]), "chunks")


def test_layer_size_garbage_is_refused_before_decompression(base_laz, tmp_path):
    # a layered chunk: raw first point (30 bytes), point count, then 9 layer sizes
    first_layer = _point_data(base_laz) + 8 + 30 + 4
    _assert_corrupt(_mutant(base_laz, tmp_path, [(first_layer, "I", 2**31)]), "layers")
    _assert_corrupt(_mutant(base_laz, tmp_path, [(first_layer - 4, "I", 10**6)]), "LAZ chunk 0")


def test_catalog_reports_truncated_laz(base_laz, tmp_path):
    (tmp_path / "ok").mkdir()
    good = tmp_path / "ok" / "good.laz"
    good.write_bytes(base_laz.read_bytes())
    bad = tmp_path / "ok" / "bad.laz"
    bad.write_bytes(base_laz.read_bytes()[:-300])
    issues = Catalog.from_paths(tmp_path / "ok").check()
    unreadable = [i for i in issues if i.kind == "unreadable"]
    assert len(unreadable) == 1
    assert unreadable[0].severity == "error"
    assert str(bad) in unreadable[0].message


@pytest.mark.parametrize(
    ("field_offset", "fmt", "value", "word"),
    [
        (12, "I", 0, "chunk size"),
        (12, "I", 0xFFFFFFFE, "chunk size"),
        (0, "H", 77, "compressor"),
        (32, "H", 9, "items"),
        (32, "H", 0, "items"),
        (34, "H", 99, "type"),  # first item type
        (36, "H", 7, "size"),  # first item size
    ],
)
def test_laszip_vlr_garbage(base_laz, tmp_path, field_offset, fmt, value, word):
    body = _laszip_body(base_laz)
    _assert_corrupt(_mutant(base_laz, tmp_path, [(body + field_offset, fmt, value)]), word)


def test_huge_chunk_size_does_not_abort_the_interpreter(base_laz, tmp_path):
    # before the guard, lazrs aborted the process on a failed 150 GB allocation
    path = _mutant(base_laz, tmp_path, [(_laszip_body(base_laz) + 12, "I", 0xFFFFFFF0)])
    code = (
        "import sys; from pcrs.io import las; from pcrs.errors import PcrsError\n"
        "try:\n    las.read(sys.argv[1])\nexcept PcrsError:\n    sys.exit(2)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(path)], timeout=60, capture_output=True)
    assert done.returncode == 2, done.stderr.decode()[-500:]


def test_record_length_below_format_size(base_laz, base_las, tmp_path):
    _assert_corrupt(_mutant(base_laz, tmp_path, [(RECORD_LENGTH, "H", 29)]), "record length")
    _assert_corrupt(_mutant(base_las, tmp_path, [(RECORD_LENGTH, "H", 33)]), "record length")


def test_record_length_not_matching_laszip_items(base_laz, tmp_path):
    _assert_corrupt(_mutant(base_laz, tmp_path, [(RECORD_LENGTH, "H", 31)]), "laszip")


def test_compressed_flag_without_laszip_vlr(base_las, tmp_path):
    path = _mutant(base_las, tmp_path, [(POINT_FORMAT, "B", 3 | 0x80)])
    _assert_corrupt(path, "no laszip VLR")


def test_evlr_fields(base_laz, tmp_path):
    data_start = _point_data(base_laz)
    path = _mutant(base_laz, tmp_path, [(START_EVLR, "Q", data_start), (N_EVLRS, "I", 2**32 - 1)])
    _assert_corrupt(path, "EVLRs")
    path = _mutant(base_laz, tmp_path, [(START_EVLR, "Q", 2**60), (N_EVLRS, "I", 1)])
    _assert_corrupt(path, "EVLR")


class _FakePanic(BaseException):
    """Stands for pyo3_runtime.PanicException (a BaseException, not an Exception)."""


_FakePanic.__name__ = "PanicException"
_FakePanic.__qualname__ = "PanicException"
_FakePanic.__module__ = "pyo3_runtime"


@pytest.mark.parametrize(
    "exc",
    [_FakePanic("called `Option::unwrap()` on a `None` value"), MemoryError(), OverflowError("x")],
)
def test_decoder_panics_and_allocation_failures_become_corrupt_file_errors(
    base_laz, monkeypatch, exc
):
    def boom(self, n):
        raise exc

    monkeypatch.setattr(laspy.LasReader, "read_points", boom)
    for fn in (las.read, lambda p: next(las.iter_chunks(p)), las.class_histogram):
        with pytest.raises(CorruptFileError, match="corrupt or truncated") as err:
            fn(base_laz)
        assert str(base_laz) in str(err.value)


def test_a_real_lazrs_panic_becomes_a_corrupt_file_error(base_laz, tmp_path, monkeypatch):
    # chunk size 1 with a one-chunk table makes lazrs compute a negative buffer size and
    # panic ("capacity overflow"); the guard refuses the file first, so switch it off here
    path = _mutant(base_laz, tmp_path, [(_laszip_body(base_laz) + 12, "I", 1)])
    with pytest.raises(CorruptFileError, match="more than the 1 expected"):
        las.read(path)
    monkeypatch.setattr(_las_guard, "check_open_file", lambda fh, name: None)
    with pytest.raises(CorruptFileError, match="corrupt or truncated") as err:
        las.read(path)
    assert _las_guard.is_panic(err.value.__cause__)


def test_other_base_exceptions_pass_through(base_laz, monkeypatch):
    def interrupt(self, n):
        raise KeyboardInterrupt

    monkeypatch.setattr(laspy.LasReader, "read_points", interrupt)
    with pytest.raises(KeyboardInterrupt):
        las.read(base_laz)


def test_is_panic_tells_panics_by_name():
    assert _las_guard.is_panic(_FakePanic())
    assert not _las_guard.is_panic(KeyboardInterrupt())
    assert not _las_guard.is_panic(RuntimeError("PanicException"))


def test_streamed_read_of_a_highly_compressed_file(tmp_path, monkeypatch):
    # identical points compress ~100x: read() then streams in chunks; same points as laspy
    path = tmp_path / "flat.laz"
    header = laspy.LasHeader(point_format=6, version="1.4")
    data = laspy.LasData(header)
    data.points = laspy.ScaleAwarePointRecord.zeros(120_000, header=header)
    data.classification = np.repeat(np.arange(4, dtype=np.uint8), 30_000)
    data.write(path)
    n = 120_000
    assert n * 30 > las._PLAUSIBLE_EXPANSION * path.stat().st_size  # the chunked path is taken
    monkeypatch.setattr(las, "DEFAULT_CHUNK_SIZE", 25_000)
    cloud = las.read(path)
    assert len(cloud) == n
    np.testing.assert_array_equal(cloud.classification, data.classification)


def test_copc_hierarchy_node_past_end(lidar_dir, tmp_path):
    src = lidar_dir / "laspy" / "simple.copc.laz"
    if not src.is_file():
        pytest.skip(f"{src} not found")
    raw = src.read_bytes()
    header_size = struct.unpack_from("<H", raw, 94)[0]
    root = struct.unpack_from("<Q", raw, header_size + 54 + 40)[0]
    bounds = las.info(src).bounds
    box = (bounds[0], bounds[1], bounds[3], bounds[4])
    assert len(las.read_window(src, box)) == las.info(src).points
    # first entry of the root page: its point count set huge
    path = _mutant(src, tmp_path, [(root + 28, "i", 2**31 - 1)])
    with pytest.raises(CorruptFileError, match="COPC"):
        las.read_window(path, box)
    path = _mutant(src, tmp_path, [(root + 16, "Q", 2**62)])
    with pytest.raises(CorruptFileError, match="COPC"):
        las.read_window(path, box)


# --- seeded fuzz -----------------------------------------------------------------------


def _fields(data: bytes) -> list[tuple[int, str]]:
    out = [(o, f) for o, f in ((94, "H"), (96, "I"), (N_VLRS, "I"), (POINT_FORMAT, "B"),
           (RECORD_LENGTH, "H"), (LEGACY_COUNT, "I"), (SCALE_X, "d"), (OFFSET_Z, "d"))]  # fmt: skip
    if data[25] >= 4:
        out += [(START_EVLR, "Q"), (N_EVLRS, "I"), (POINT_COUNT, "Q")]
    pos = struct.unpack_from("<H", data, 94)[0]
    for _ in range(struct.unpack_from("<I", data, N_VLRS)[0]):
        out.append((pos + 20, "H"))
        if data[pos + 2 : pos + 16] == b"laszip encoded":
            out += [(pos + 54 + k, f) for k, f in ((0, "H"), (12, "I"), (32, "H"), (34, "H"))]
            out += [(pos + 54 + 36, "H")]
        pos += 54 + struct.unpack_from("<H", data, pos + 20)[0]
    if data[POINT_FORMAT] & 0x80:
        start = struct.unpack_from("<I", data, 96)[0]
        out.append((start, "q"))
        table = struct.unpack_from("<q", data, start)[0]
        out += [(table + 4, "I")]
    return out


def _hostile(rng: random.Random, fmt: str):
    if fmt == "d":
        return rng.choice([0.0, math.nan, math.inf, -math.inf, 1e300, -1.0, 5e-324])
    bits = struct.calcsize(fmt) * 8
    if fmt.islower():
        return rng.choice([0, -1, -(2 ** (bits - 1)), 2 ** (bits - 1) - 1, rng.randrange(4096)])
    return rng.choice([0, 1, 2**bits - 1, 2**bits - 2, rng.randrange(2**bits)])


def test_seeded_fuzz_every_outcome_is_finite_points_or_a_pcrs_error(base_laz, base_las, tmp_path):
    rng = random.Random(13)
    bases = [(p, p.read_bytes()) for p in (base_laz, base_las)]
    fields = {p: _fields(d) for p, d in bases}
    outcomes = {"read": 0, "error": 0}
    t0 = time.perf_counter()
    for i in range(300):
        base, data = bases[i % 2]
        buf = bytearray(data)
        kind = rng.choice(["field", "field", "flip", "truncate"])
        if kind == "field":
            for _ in range(rng.randint(1, 2)):
                off, fmt = rng.choice(fields[base])
                struct.pack_into("<" + fmt, buf, off, _hostile(rng, fmt))
        elif kind == "flip":
            for _ in range(rng.randint(1, 6)):
                buf[rng.randrange(min(len(buf), 2000))] = rng.randrange(256)
        else:
            del buf[rng.randrange(len(buf)) :]
        path = tmp_path / f"f{i}{base.suffix}"
        path.write_bytes(bytes(buf))
        try:
            cloud = las.read(path)
            las.info(path)
        except PcrsError as exc:
            assert "\n" not in str(exc), (kind, str(exc))
            outcomes["error"] += 1
        else:
            assert all(np.isfinite(a).all() for a in (cloud.x, cloud.y, cloud.z)), kind
            outcomes["read"] += 1
        path.unlink()
    assert time.perf_counter() - t0 < 60
    # the mutations are hostile enough to break most files, and gentle enough to spare some
    assert outcomes["error"] > 100
    assert outcomes["read"] > 10
