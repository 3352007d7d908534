"""pcrs check-lidar (#19): a conforming synthetic delivery, then one planted nonconformity per
LIDAR rule, found with its id at the right tile and place; specs; CLI exit codes; real files."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from lidarcheck_delivery import (
    SPEC_TEXT,
    X0,
    Y0,
    patch,
    read_field,
    subset,
    tile_arrays,
    tile_box,
    tile_name,
    write_delivery,
    write_tile,
)
from pcrs.cli.main import cli
from pcrs.errors import ParameterError
from pcrs.io import las
from pcrs.lidarcheck import LIDAR_RULES, LidarSpec, check_lidar, load_spec
from pcrs.vector.report import Report
from pcrs.vector.rules import RULES


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("spec") / "test.toml"
    p.write_text(SPEC_TEXT, encoding="utf-8")
    return p


@pytest.fixture(scope="module")
def conforming(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("ok")
    write_delivery(folder)
    return folder


def _copy(conforming: Path, dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for f in conforming.iterdir():
        shutil.copy(f, dest / f.name)
    return dest


def test_conforming_delivery_has_no_finding(conforming, spec_file):
    report = check_lidar([conforming], spec_file)
    assert isinstance(report, Report)
    assert not report.has_errors, report.summary_text()
    assert [f.rule for f in report.findings] == []
    assert len(report.files) == 4 and all(f["usable"] for f in report.files)
    assert sum(f["points"] for f in report.files) == 4 * 80_000
    tile = report.files[0]
    assert tile["mean_pulses_m2"] == pytest.approx(4.0) and tile["mean_points_m2"] == 8.0
    assert report.lidar["points_read"] == 320_000 and report.lidar["holes"] == 0


# --- one planted nonconformity per rule -------------------------------------------------

#: (col, row) of the tile a case plants its defect in
T = (1, 1)
PATCH = (X0 + 100 + 20.0, Y0 + 100 + 20.0, X0 + 100 + 60.0, Y0 + 100 + 60.0)  # 40 x 40 m in T


def _in(a, box):
    return (a["x"] >= box[0]) & (a["x"] < box[2]) & (a["y"] >= box[1]) & (a["y"] < box[3])


def _some(a, k=10, start=1000):
    """Indices of ``k`` first returns of the tile, spread out."""
    first = np.flatnonzero(a["return_number"] == 1)
    return first[start : start + 37 * k : 37]


def _bbox(a, idx, pad=0.5):
    return (a["x"][idx].min() - pad, a["y"][idx].min() - pad,
            a["x"][idx].max() + pad, a["y"][idx].max() + pad)  # fmt: skip


Planter = Callable[[Path, dict], "tuple[Path, tuple | None]"]


def _write(folder: Path, a: dict, **kw) -> Path:
    return write_tile(a, folder / tile_name(*T), **kw)


def p_garbage(folder, a):
    p = folder / tile_name(*T)
    p.write_bytes(b"not a point cloud at all" * 10)
    return p, None


def p_corrupt_chunk(folder, a):
    (folder / tile_name(*T)).unlink()
    p = _write(folder, a, crs="EPSG:2154+5720")
    laz = p.with_suffix(".laz")
    write_tile(a, laz)
    p.unlink()
    data = bytearray(laz.read_bytes())
    for frac in (0.5, 0.6, 0.4, 0.9, 0.7):  # somewhere in the compressed points, not the table
        c = bytearray(data)
        i = int(len(c) * frac)
        c[i : i + 2000] = bytes(2000)
        laz.write_bytes(bytes(c))
        try:
            for _ in las.iter_records(laz, 20_000):
                pass
        except Exception:
            return laz, None
    pytest.skip("no corruption of the compressed points made lazrs fail")


def p_empty(folder, a):
    return _write(folder, subset(a, np.zeros(len(a["x"]), bool))), None


def p_version(folder, a):
    return _write(folder, a, point_format=3, version="1.2"), None


def p_record_length(folder, a):
    b = dict(a, foo=np.arange(len(a["x"]), dtype=np.uint16))
    p = _write(folder, b)
    data = p.read_bytes()
    i = data.index(b"LASF_Spec\x00")  # the Extra Bytes VLR: its first entry's data type
    record_id = struct_unpack("<H", data, i + 16)
    assert record_id == 4
    patch(p, i + 16 + 2 + 2 + 32 + 2, "<B", 1)  # u2 -> u1: one byte left undeclared
    return p, None


def struct_unpack(fmt, data, offset):
    import struct

    return struct.unpack_from(fmt, data, offset)[0]


def p_gps_week(folder, a):
    return _write(folder, a, encoding=0), None


def p_no_wkt_bit(folder, a):
    p = _write(folder, a)
    patch(p, 6, "<H", read_field(p, 6, "<H") & ~16)
    return p, None


def p_bounds(folder, a):
    p = _write(folder, a)
    patch(p, 187, "<d", read_field(p, 187, "<d") - 10.0)  # min x
    return p, None


def p_counts(folder, a):
    p = _write(folder, a)
    patch(p, 255, "<Q", read_field(p, 255, "<Q") + 1)  # points of return 1
    return p, None


def p_crs(crs):
    def plant(folder, a):
        return _write(folder, a, crs=crs), None

    return plant


def p_rename(name):
    def plant(folder, a):
        p = folder / tile_name(*T)
        q = folder / name
        p.rename(q)
        return q, None

    return plant


def p_name_elsewhere(folder, a):
    p = folder / tile_name(*T)
    q = folder / tile_name(5, 1)  # a tile 400 m east, outside the delivery
    p.rename(q)
    return q, None


def p_outside(folder, a):
    idx = _some(a, 20)
    a["x"][idx] = X0 + 200 + 8.0  # 8 m east of the tile's right edge (into no tile)
    return _write(folder, a), _bbox(a, idx)


def p_wide(folder, a):
    path, _where = p_outside(folder, a)
    x0, y0, _x1, y1 = tile_box(*T)
    return path, (x0, y0, X0 + 208.0, y1)  # located at the centre of the points' extent


def p_overlap(folder, a):
    # tile (0, 1) reaches 10 m into its east neighbour T
    b = tile_arrays(0, 1)
    idx = _some(b, 20)
    b["x"][idx] = X0 + 100 + 5.0
    write_tile(b, folder / tile_name(0, 1))
    return folder / tile_name(0, 1), (X0 + 100 - 1, Y0 + 100, X0 + 106, Y0 + 200)


def p_two_files(folder, a):
    p = folder / tile_name(*T)
    q = p.with_suffix(".laz")
    write_tile(a, q)
    return q, None


def p_thin_patch(folder, a):
    inside = _in(a, PATCH)
    keep = ~inside | (np.arange(len(a["x"])) % 4 == 0)
    return _write(folder, subset(a, keep)), PATCH


def p_thin_tile(folder, a):
    # drop one pulse in four everywhere (3 pulses/m² < 4), both of its returns
    n = len(a["x"]) // 2
    drop = np.zeros(n, bool)
    drop[::4] = True
    keep = ~np.concatenate([drop, drop])
    return _write(folder, subset(a, keep)), tile_box(*T)


def p_single_returns(folder, a):
    # second returns removed in the patch: 4 points/m² there (< 6), pulses unchanged
    second = _in(a, PATCH) & (a["return_number"] == 2)
    b = subset(a, ~second)
    b["number_of_returns"][_in(b, PATCH)] = 1
    return _write(folder, b), PATCH


def p_single_returns_tile(folder, a):
    b = subset(a, a["return_number"] == 1)
    b["number_of_returns"][:] = 1
    return _write(folder, b), tile_box(*T)


HOLE = (X0 + 100 + 70.0, Y0 + 100 + 10.0, X0 + 100 + 90.0, Y0 + 100 + 30.0)  # 20 x 20 m


def p_hole(folder, a):
    return _write(folder, subset(a, ~_in(a, HOLE))), HOLE


def p_class(folder, a):
    idx = _some(a, 30)
    a["classification"][idx] = 7
    return _write(folder, a), _bbox(a, idx)


def p_unclassified(folder, a):
    a["classification"][: len(a["x"]) // 2] = 1
    return _write(folder, a), None


def p_flag(name):
    def plant(folder, a):
        idx = _some(a, 10)
        a[name][idx] = True
        return _write(folder, a), _bbox(a, idx)

    return plant


def p_returns(folder, a):
    idx = _some(a, 10)
    a["return_number"][idx] = 3
    return _write(folder, a), _bbox(a, idx)


def p_gps_zero(folder, a):
    a["gps_time"][:] = 0.0
    return _write(folder, a), None


def p_scan(folder, a):
    idx = _some(a, 10)
    a["scan_angle"][idx] = 10_000  # 60°
    return _write(folder, a), _bbox(a, idx)


def p_intensity(folder, a):
    a["intensity"][:] = 0
    return _write(folder, a), None


def p_duplicates(folder, a):
    idx = _some(a, 25)
    b = {k: np.concatenate([v, v[idx]]) for k, v in a.items()}
    return _write(folder, b), _bbox(a, idx)


CASES = [
    ("LIDAR-FILE-001", p_garbage),
    ("LIDAR-FILE-002", p_corrupt_chunk),
    ("LIDAR-FILE-003", p_empty),
    ("LIDAR-FORMAT-001", p_version),
    ("LIDAR-FORMAT-002", p_version),
    ("LIDAR-FORMAT-003", p_record_length),
    ("LIDAR-FORMAT-004", p_gps_week),
    ("LIDAR-FORMAT-005", p_no_wkt_bit),
    ("LIDAR-FORMAT-006", p_bounds),
    ("LIDAR-FORMAT-007", p_counts),
    ("LIDAR-CRS-001", p_crs(None)),
    ("LIDAR-CRS-002", p_crs("EPSG:2975+5720")),
    ("LIDAR-CRS-003", p_crs("EPSG:2154+5703")),
    ("LIDAR-CRS-004", p_crs("EPSG:2154")),
    ("LIDAR-CRS-005", p_crs("EPSG:2154")),
    ("LIDAR-NAME-001", p_rename("tile_a.las")),
    ("LIDAR-NAME-002", p_name_elsewhere),
    ("LIDAR-GRID-001", p_wide),
    ("LIDAR-GRID-002", p_outside),
    ("LIDAR-GRID-003", p_two_files),
    ("LIDAR-GRID-004", p_overlap),
    ("LIDAR-DENSITY-001", p_thin_patch),
    ("LIDAR-DENSITY-002", p_thin_tile),
    ("LIDAR-DENSITY-003", p_single_returns),
    ("LIDAR-DENSITY-004", p_single_returns_tile),
    ("LIDAR-COVERAGE-001", p_hole),
    ("LIDAR-CLASS-001", p_class),
    ("LIDAR-CLASS-002", p_unclassified),
    ("LIDAR-CLASS-003", p_flag("withheld")),
    ("LIDAR-CLASS-004", p_flag("synthetic")),
    ("LIDAR-ATTR-001", p_returns),
    ("LIDAR-ATTR-002", p_gps_zero),
    ("LIDAR-ATTR-003", p_scan),
    ("LIDAR-ATTR-004", p_intensity),
    ("LIDAR-DUP-001", p_duplicates),
]


def test_every_lidar_rule_has_a_planted_case():
    assert {c[0] for c in CASES} == set(LIDAR_RULES)
    assert all(r.startswith("LIDAR-") for r in LIDAR_RULES) and len(LIDAR_RULES) == 35


@pytest.mark.parametrize(("rule", "plant"), CASES, ids=[c[0] for c in CASES])
def test_planted_nonconformity_is_found_at_its_tile_and_place(
    rule, plant, conforming, spec_file, tmp_path
):
    folder = _copy(conforming, tmp_path / "d")
    path, where = plant(folder, tile_arrays(*T))
    report = check_lidar([folder], spec_file)
    hits = [f for f in report.findings if f.rule == rule]
    assert hits, f"{rule} not found:\n{report.summary_text()}"
    assert any(Path(f.file).name == path.name for f in hits), [f.file for f in hits]
    f = next(f for f in hits if Path(f.file).name == path.name)
    if where is not None:
        x0, y0, x1, y1 = where
        assert f.x is not None and f.y is not None, f
        assert x0 - 1 <= f.x <= x1 + 1 and y0 - 1 <= f.y <= y1 + 1, (f.x, f.y, where)
    if RULES[rule].severity == "error":
        assert report.has_errors
    # the other tiles stay clean of tile-level rules
    others = {Path(x.file).name for x in report.findings if x.file} - {path.name}
    allowed_others = {"LIDAR-CRS-005", "LIDAR-GRID-004", "LIDAR-GRID-003"}
    for x in report.findings:
        if x.file and Path(x.file).name in others:
            assert x.rule in allowed_others, (x.rule, x.file)
    assert f.message("fr") and f.message("en")


def test_water_around_a_hole_exempts_it(conforming, spec_file, tmp_path):
    folder = _copy(conforming, tmp_path / "d")
    a = tile_arrays(*T)
    x0, y0, x1, y1 = HOLE
    ring = _in(a, (x0 - 6, y0 - 6, x1 + 6, y1 + 6))
    a["classification"][ring] = 9
    write_tile(subset(a, ~_in(a, HOLE)), folder / tile_name(*T))
    report = check_lidar([folder], spec_file)
    assert "LIDAR-COVERAGE-001" not in {f.rule for f in report.findings}
    assert report.lidar["holes_exempt_water"] == 1


def test_workers_give_the_same_findings(conforming, spec_file, tmp_path):
    folder = _copy(conforming, tmp_path / "d")
    p_class(folder, tile_arrays(*T))
    one = check_lidar([folder], spec_file)
    two = check_lidar([folder], spec_file, workers=2)
    assert [f.to_dict() for f in one.findings] == [f.to_dict() for f in two.findings]


def test_a_dask_cluster_gives_the_same_findings(conforming, spec_file, tmp_path):
    distributed = pytest.importorskip(
        "dask.distributed", reason="dask[distributed] (the dask extra) is not installed"
    )
    folder = _copy(conforming, tmp_path / "d")
    p_class(folder, tile_arrays(*T))
    one = check_lidar([folder], spec_file)
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        on_dask = check_lidar([folder], spec_file, executor=client)
    assert [f.to_dict() for f in one.findings] == [f.to_dict() for f in on_dask.findings]
    assert [f["path"] for f in one.files] == [f["path"] for f in on_dask.files]


def test_density_map_and_geopackage(conforming, spec_file, tmp_path):
    import sqlite3

    import rasterio

    folder = _copy(conforming, tmp_path / "d")
    p_hole(folder, tile_arrays(*T))
    dmap = tmp_path / "density.tif"
    report = check_lidar([folder], spec_file, density_map=dmap)
    with rasterio.open(dmap) as src:
        assert src.count == 2 and src.res == (5.0, 5.0) and src.dtypes[0] == "float32"
        assert src.descriptions == ("points/m2", "pulses/m2")
        pts, pul = src.read()
    assert np.nanmax(pul) == pytest.approx(4.0) and np.nanmedian(pts) == pytest.approx(8.0)
    assert (pul == 0).sum() == 16  # the 20 x 20 m hole: 4 x 4 cells of 5 m
    gpkg = tmp_path / "r.gpkg"
    report.to_geopackage(gpkg)
    with sqlite3.connect(gpkg) as db:
        names = {r[0] for r in db.execute("select table_name from gpkg_contents")}
        assert {"findings", "coverage_holes"} <= names
        assert db.execute("select area_m2 from coverage_holes").fetchone()[0] == 400.0
    html = report.to_html()
    assert "data:image/png;base64," in html and "<svg" in html and "LIDAR-COVERAGE-001" in html


def test_profile_ignores_and_regrades(conforming, spec_file, tmp_path):
    folder = _copy(conforming, tmp_path / "d")
    a = tile_arrays(*T)
    p_class(folder, a)
    p_duplicates(folder, a)  # the same tile: classes and duplicates
    prof = tmp_path / "p.toml"
    prof.write_text('select = ["LIDAR"]\nignore = ["LIDAR-DUP"]\n[severity]\n'
                    '"LIDAR-CLASS-001" = "warning"\n')  # fmt: skip
    report = check_lidar([folder], spec_file, profile=prof)
    rules = {f.rule: f.severity for f in report.findings}
    assert "LIDAR-DUP-001" not in rules and rules["LIDAR-CLASS-001"] == "warning"
    assert not report.has_errors
    none = tmp_path / "none.toml"
    none.write_text('select = ["PCRS"]\n')
    with pytest.raises(ParameterError, match="no LIDAR rule"):
        check_lidar([folder], spec_file, profile=none)


# --- specifications ---------------------------------------------------------------------


def test_lidarhd_spec_holds_the_ign_facts():
    s = load_spec("lidarhd")
    assert s.las_versions == ("1.4",) and s.point_formats == (6, 7, 8)
    assert (s.horizontal_epsg, s.vertical_epsg) == (2154, 5720)
    assert s.tile_size == 1000 and s.nominal_pulses == 10
    assert s.classes == (1, 2, 3, 4, 5, 6, 9, 17, 64, 65, 66, 67)
    rx = s.name_regex
    assert rx is not None
    m = rx.fullmatch("LHD_FXX_0877_6904_PTS_C_LAMB93_IGN69.copc.laz")
    assert m is not None and (m["x"], m["y"]) == ("0877", "6904")
    assert rx.fullmatch("LHD_FXX_0877_6904_PTS_LAMB93_IGN69.laz")
    assert not rx.fullmatch("Semis_2022_0906_6665_LA93_IGN69.laz")


def test_lidarhd_name_gives_x_min_and_y_max():
    from pcrs.lidarcheck.delivery import name_box

    box = name_box("LHD_FXX_0186_6834_PTS_C_LAMB93_IGN69.copc.laz", load_spec("lidarhd"))
    assert box == (186000.0, 6833000.0, 187000.0, 6834000.0)


def test_every_threshold_of_lidarhd_cites_a_source_or_says_pcrs_default():
    from importlib import resources

    text = (resources.files("pcrs.lidarcheck") / "specs" / "lidarhd.toml").read_text("utf-8")
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if "=" in line and not line.startswith(("#", "name", "description", "[")):
            before = "\n".join(lines[max(0, i - 4) : i + 1])
            assert "#" in before, line


@pytest.mark.parametrize(
    ("text", "line", "match"),
    [
        ("[tiles]\nsize = -5\n", 2, "tiles.size"),
        ("\n\n[density]\ncells = [1.0]\n", 4, "one value per cell size"),
        ("[classes]\nallowed = [1, 300]\n", 2, "classes.allowed"),
        ("[tiles]\nfoo = 1\n", 2, "unknown key 'foo'"),
        ("[nope]\nx = 1\n", 1, r"unknown table \[nope\]"),
        ("[format]\ngps_time = 'sometimes'\n", 2, "gps_time"),
        ("[tiles]\nname_pattern = '^LHD$'\n", 2, "named groups"),
        ("[crs\n", 1, "not valid TOML"),
    ],
)
def test_bad_spec_names_the_file_and_the_line(tmp_path, text, line, match):
    p = tmp_path / "cdc.toml"
    p.write_text(text)
    with pytest.raises(ParameterError, match=match) as exc:
        load_spec(p)
    assert str(p) in str(exc.value)
    if "TOML" not in match:
        assert f"{p}:{line}:" in str(exc.value)


def test_spec_keeps_lidarhd_for_what_it_leaves_out():
    s = LidarSpec.from_text("[tiles]\nsize = 500.0\n")
    assert s.tile_size == 500 and s.horizontal_epsg == 2154


def test_unknown_builtin_spec():
    with pytest.raises(ParameterError, match="unknown specification 'ign'"):
        load_spec("ign")


# --- command line -------------------------------------------------------------------------


def test_cli_exit_codes(conforming, spec_file, tmp_path):
    runner = CliRunner()
    ok = runner.invoke(cli, ["check-lidar", str(conforming), "--spec", str(spec_file)])
    assert ok.exit_code == 0, ok.output
    assert "Conforms to the specification" in ok.output
    bad = _copy(conforming, tmp_path / "bad")
    p_class(bad, tile_arrays(*T))
    out = tmp_path / "r.json"
    r = runner.invoke(cli, ["check-lidar", str(bad), "--spec", str(spec_file), "--json-out",
                            str(out), "--lang", "fr"])  # fmt: skip
    assert r.exit_code == 1, r.output
    data = json.loads(out.read_text())
    f = next(f for f in data["findings"] if f["rule"] == "LIDAR-CLASS-001")
    assert {"rule", "severity", "message", "file", "x", "y"} <= set(f)
    assert "classe" in f["message"] and f["file"].endswith(tile_name(*T))
    r = runner.invoke(cli, ["check-lidar", str(bad), "--spec", str(spec_file), "--json"])
    assert r.exit_code == 1 and json.loads(r.stdout)["summary"]["errors"] >= 1
    junk = tmp_path / "junk.las"
    junk.write_bytes(b"nothing")
    r = runner.invoke(cli, ["check-lidar", str(junk), "--spec", str(spec_file)])
    assert r.exit_code == 2 and "not a usable LiDAR file" in r.output


def test_cli_bad_spec_exits_2_naming_the_line(conforming, tmp_path):
    from pcrs.cli.main import main

    spec = tmp_path / "cdc.toml"
    spec.write_text("name = 'x'\n[density]\nnominal_pulses = 'dix'\n")
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as exc:
        main(["check-lidar", str(conforming), "--spec", str(spec)])
    assert exc.value.code == 2
    assert f"{spec}:3:" in err.getvalue() and "nominal_pulses" in err.getvalue()


def test_registered_in_the_cli_and_the_package():
    import pcrs

    assert pcrs.check_lidar is check_lidar
    r = CliRunner().invoke(cli, ["check-lidar", "--help"])
    assert r.exit_code == 0 and "--density-map" in r.output


# --- real files ---------------------------------------------------------------------------


@pytest.mark.shared
def test_real_ign_tiles_and_the_corrupt_one(lidar_dir):
    folder = lidar_dir / "ign-pdal-tools"
    nok = folder / "Semis_2022_0906_6665_LA93_IGN69_nok.laz"
    ok = folder / "Semis_2022_0906_6665_LA93_IGN69_ok.laz"
    report = check_lidar([nok, ok])
    by_file: dict[str, set] = {}
    for f in report.findings:
        by_file.setdefault(Path(f.file).name, set()).add(f.rule)
    assert "LIDAR-FILE-001" in by_file[nok.name]
    assert report.unusable_files == [str(nok)]
    # the good one is an IGN file: Lambert-93 only (a warning), week GPS time
    assert "LIDAR-CRS-004" in by_file[ok.name] and "LIDAR-FILE-001" not in by_file[ok.name]
    runner = CliRunner()
    assert runner.invoke(cli, ["check-lidar", str(nok), str(ok)]).exit_code == 1
    assert runner.invoke(cli, ["check-lidar", str(nok)]).exit_code == 2


@pytest.mark.shared
def test_real_ign_neighbours_with_a_spec_of_their_own(lidar_dir, tmp_path):
    # six 50 m tiles named <x in dam>_<y_max in dam>
    spec = tmp_path / "ign50.toml"
    spec.write_text(
        "[tiles]\nsize = 50.0\nname_unit = 10.0\n"
        "name_pattern = '^test_data_(?P<x>\\d{5})_(?P<y>\\d{6})_LA93_IGN69\\.laz$'\n"
    )
    files = sorted((lidar_dir / "ign-pdal-tools").glob("test_data_770*_62775*_LA93_IGN69.laz"))
    files += sorted((lidar_dir / "ign-pdal-tools").glob("test_data_770*_62776*_LA93_IGN69.laz"))
    report = check_lidar(files, spec)
    rules = {f.rule for f in report.findings}
    assert not rules & {"LIDAR-FILE-001", "LIDAR-FILE-002", "LIDAR-NAME-001", "LIDAR-GRID-003"}
    assert len(report.files) == 6 and all(f["usable"] for f in report.files)


# --- documentation ------------------------------------------------------------------------

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_docs_list_every_lidar_rule_and_the_example_spec_loads():
    text = (DOCS / "lidar-conformity.md").read_text(encoding="utf-8")
    for rid in LIDAR_RULES:
        r = RULES[rid]
        assert f"| {rid} | {r.severity} | {r.title_en} |" in text, rid
    spec = load_spec(DOCS / "examples" / "cahier-des-charges.toml")
    assert spec.tile_size == 500 and spec.synthetic is True and spec.name_regex is not None


def test_mosaic_cells_stay_bounded():
    from pcrs.lidarcheck.delivery import CELL_BUDGET, choose_factors

    spec = load_spec("lidarhd")
    one = [(700_000.0, 6_600_000.0, 701_000.0, 6_601_000.0)]
    assert choose_factors(one, spec)[:2] == (1, 5)
    block = [(700_000.0 + 1000 * i, 6_600_000.0, 701_000.0 + 1000 * i, 6_601_000.0)
             for i in range(40)]  # fmt: skip
    cov, mp, notes = choose_factors(block, spec)
    assert cov > 1 and 40e6 / cov**2 <= CELL_BUDGET and notes
    far = [*one, (0.0, 0.0, 1000.0, 1000.0)]  # a tile at the origin: 7 000 km away
    cov, mp, notes = choose_factors(far, spec)
    assert (cov, mp) == (1000, 1000) and "coverage judged on 1000 m cells" in notes[0]
    farther = [*one, (9.0e6, 9.0e6, 9.001e6, 9.001e6)]
    cov, mp, notes = choose_factors(farther, spec)
    assert (cov, mp) == (0, 0) and "no coverage raster" in notes[-1]


@pytest.mark.shared
def test_the_whole_ign_folder_is_checked_without_a_crash(lidar_dir):
    report = check_lidar([lidar_dir / "ign-pdal-tools"], workers=2)
    assert len(report.files) == 18 and len(report.unusable_files) == 1
    assert report.has_errors and report.lidar["points_read"] > 1_000_000


def test_duplicates_found_when_the_header_bounds_lie(conforming, spec_file, tmp_path):
    # points beyond the header's max x: the packed keys give way to the three integers
    folder = _copy(conforming, tmp_path / "d")
    path, where = p_duplicates(folder, tile_arrays(*T))
    patch(path, 179, "<d", read_field(path, 179, "<d") - 60.0)  # max x
    report = check_lidar([folder], spec_file, chunk_size=7_000)
    dup = [f for f in report.findings if f.rule == "LIDAR-DUP-001"]
    assert len(dup) == 1 and dup[0].params["count"] == "25"
    assert where[0] - 1 <= dup[0].x <= where[2] + 1
    assert "LIDAR-FORMAT-006" in {f.rule for f in report.findings}


def test_duplicates_across_chunks(conforming, spec_file, tmp_path):
    folder = _copy(conforming, tmp_path / "d")
    p_duplicates(folder, tile_arrays(*T))
    report = check_lidar([folder], spec_file, chunk_size=5_000)
    dup = [f for f in report.findings if f.rule == "LIDAR-DUP-001"]
    assert len(dup) == 1 and dup[0].params["count"] == "25"
