"""CRS from LAS VLRs (WKT and GeoTIFF), user input, and the PCRS table."""

from __future__ import annotations

from pathlib import Path

import laspy
import pytest
from pyproj import CRS

from pcrs.errors import CRSError, MissingCRSError
from pcrs.io import las
from pcrs.io.crs import (
    PCRS_CRS,
    crs_from_las_header,
    epsg_code,
    horizontal_epsg,
    parse_crs,
    require_crs,
    within_area_of_use,
)


@pytest.mark.parametrize(
    ("text", "code"),
    [("EPSG:2154", 2154), ("2154", 2154), (2154, 2154), ("LAMB93", 2154), ("cc46", 3946),
     ("urn:ogc:def:crs:EPSG::3948", 3948), ("EPSG:2975", 2975)],
)  # fmt: skip
def test_parse_crs(text, code) -> None:
    assert parse_crs(text).to_epsg() == code


def test_parse_crs_rejects_garbage() -> None:
    with pytest.raises(CRSError, match="EPSG:2154"):
        parse_crs("not a crs")


def test_pcrs_table_is_the_standard_list() -> None:
    assert {2154, *range(3942, 3951), 2972, 2975, 4471, 5490, 32620} <= set(PCRS_CRS)
    for code in PCRS_CRS:
        assert CRS.from_epsg(code).to_epsg() == code


def test_area_of_use_catches_swapped_axes() -> None:
    l93 = CRS.from_epsg(2154)
    assert within_area_of_use(l93, (842_000, 6_518_000, 843_000, 6_519_000))
    assert not within_area_of_use(l93, (6_518_000, 842_000, 6_519_000, 843_000))


def test_require_crs_message() -> None:
    with pytest.raises(MissingCRSError, match=r"tile\.laz.*--crs EPSG:2154"):
        require_crs(None, "tile.laz", "rasterising")


def test_compound_geotiff_keys_give_horizontal_code(tmp_path: Path, small_scene) -> None:
    compound = CRS.from_epsg(5698)  # Lambert-93 + NGF-IGN69
    cloud = small_scene.cloud[:100]
    cloud.crs = compound
    las.write(cloud, tmp_path / "c.laz")
    back = las.read(tmp_path / "c.laz").crs
    assert horizontal_epsg(back) == 2154
    assert back.is_compound


@pytest.mark.parametrize(
    ("name", "code"),
    [("laspy/file_with_both_wkt_and_geotiff_vlrs.las", 6880), ("PDAL/test_epsg_4326.las", 4326),
     ("ign-pdal-tools/sample_lareunion_epsg2975.laz", 2975), ("PDAL/mvk-thin.las", 26995),
     ("PDAL/autzen_trim.las", None), ("PDAL/warsaw_small.las", None)],
)  # fmt: skip
def test_crs_of_real_files(lidar_dir: Path, name: str, code) -> None:
    facts = las.info(lidar_dir / name)
    assert facts.epsg == code
    if name.startswith("PDAL/autzen"):
        assert facts.crs is not None  # a custom Lambert conic CRS with no EPSG code


def test_wkt_wins_over_geotiff(lidar_dir: Path) -> None:
    header = laspy.open(lidar_dir / "laspy/file_with_both_wkt_and_geotiff_vlrs.las").header
    assert {v.record_id for v in header.vlrs} >= {2112, 34735}
    assert epsg_code(crs_from_las_header(header)) == 6880


def test_crs_override_on_read(lidar_dir: Path) -> None:
    cloud = las.read(lidar_dir / "PDAL/autzen-thin.las", crs="EPSG:2994")
    assert cloud.crs.to_epsg() == 2994
