"""Findings and footprints as GeoDataFrames (skipped where geopandas is not installed)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from pcrs import synth
from pcrs.errors import MissingExtraError
from pcrs.io import las
from pcrs.tiling import Catalog
from pcrs.vector.report import Report
from pcrs.vector.rules import Finding


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    d = tmp_path_factory.mktemp("cat")
    cloud = synth.make_scene(6_000, seed=4).cloud
    west = cloud.x < cloud.x.min() + 50
    las.write(cloud[west], d / "w.laz")
    las.write(cloud[~west], d / "e.laz")
    return Catalog.from_paths([d])


def _report() -> Report:
    findings = [
        Finding(
            "PCRS-CLASS-001", {"cls": "Voie"}, "a.gml", 12, "Voie", "v1", "ID1", 842010.5, 6518020.0
        ),
        Finding("PCRS-FILE-003", {}, "a.gml", 1),
    ]
    return Report(files=[{"path": "a.gml", "crs": "EPSG:2154"}], findings=findings)


def test_without_geopandas_one_error_naming_the_extra(monkeypatch, catalog):
    monkeypatch.setitem(sys.modules, "geopandas", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'pcrs\[geopandas\]'"):
        catalog.to_geodataframe()
    with pytest.raises(MissingExtraError, match="geopandas"):
        _report().to_geodataframe()


def test_catalog_footprints(catalog):
    pytest.importorskip("geopandas", reason="geopandas is not installed (pip install geopandas)")
    gdf = catalog.to_geodataframe()
    assert len(gdf) == 2 and gdf.crs.to_epsg() == 2154
    assert list(gdf["name"]) == [p.name for p in catalog.paths]
    assert int(gdf["points"].sum()) == catalog.points
    for info, geom in zip(catalog.files, gdf.geometry, strict=True):
        assert geom.bounds == pytest.approx((info.bounds[0], info.bounds[1], info.bounds[3],
                                             info.bounds[4]))  # fmt: skip
    assert {"point_format", "las_version", "density", "zmin", "zmax", "crs"} <= set(gdf.columns)
    assert np.all(gdf["density"] > 0)


def test_report_findings():
    pytest.importorskip("geopandas", reason="geopandas is not installed (pip install geopandas)")
    report = _report()
    gdf = report.to_geodataframe()
    assert len(gdf) == 2 and gdf.crs.to_epsg() == 2154
    assert list(gdf["rule"]) == ["PCRS-CLASS-001", "PCRS-FILE-003"]
    assert gdf.geometry.iloc[0].coords[0] == (842010.5, 6518020.0)
    assert gdf.geometry.iloc[1] is None
    located = report.to_geodataframe(located_only=True, lang="fr")
    assert len(located) == 1 and located["message"].iloc[0] == report.findings[0].message("fr")
