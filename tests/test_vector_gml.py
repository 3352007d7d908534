"""The streaming GML reader: arcs, coordinates encodings, srs inheritance, line numbers, memory."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely

from pcrs.vector.gml import ARC_TOLERANCE, EmpriseLink, GmlReader, linearise_arc, read_geometry

NS = 'xmlns:gml="http://www.opengis.net/gml/3.2"'


def _geom(xml: str):
    from lxml import etree

    return read_geometry(etree.fromstring(xml))


@pytest.mark.parametrize("r", [0.3, 5.0, 250.0])
@pytest.mark.parametrize("tol", [0.001, ARC_TOLERANCE])
def test_arc_chord_error_is_within_tolerance(r, tol):
    cx, cy = 1_848_000.0, 5_180_000.0
    a = [0.2, 1.0, 2.6]
    pts = [(cx + r * math.cos(t), cy + r * math.sin(t)) for t in a]
    out = linearise_arc(*pts, tolerance=tol)
    # vertices on the circle, chord midpoints no further than tol from it
    d = np.hypot(out[:, 0] - cx, out[:, 1] - cy)
    assert np.abs(d - r).max() < 1e-6
    mid = (out[1:] + out[:-1]) / 2
    sag = r - np.hypot(mid[:, 0] - cx, mid[:, 1] - cy)
    assert sag.max() <= tol + 1e-9
    assert tuple(out[0]) == pts[0] and tuple(out[-1]) == pts[2]
    # the arc goes through the middle control point's side: angles stay within [a0, a2]
    ang = np.arctan2(out[:, 1] - cy, out[:, 0] - cx)
    assert ang.min() >= a[0] - 1e-9 and ang.max() <= a[2] + 1e-9


def test_arc_clockwise_and_z_interpolation():
    p0, p1, p2 = (0.0, 1.0, 10.0), (1.0, 0.0, 11.0), (0.0, -1.0, 14.0)
    out = linearise_arc(p0, p1, p2, tolerance=1e-3)
    assert out.shape[1] == 3
    assert out[:, 0].max() == pytest.approx(1.0, abs=1e-3)  # went through x=+1 (clockwise)
    assert out[0, 2] == 10.0 and out[-1, 2] == 14.0
    assert np.all(np.diff(out[:, 2]) >= 0)
    assert linearise_arc((0, 0), (1, 1), (2, 2)) is None


def test_curve_of_arc_and_segment():
    g = _geom(
        f'<gml:Curve {NS} gml:id="c" srsName="EPSG:3946" srsDimension="3"><gml:segments>'
        "<gml:Arc><gml:posList>1 0 5 0 1 5 -1 0 5</gml:posList></gml:Arc>"
        "<gml:LineStringSegment><gml:posList>-1 0 5 -3 0 5</gml:posList></gml:LineStringSegment>"
        "</gml:segments></gml:Curve>"
    )
    assert g.problems == [] and g.srs == "EPSG:3946" and g.dims == {3}
    # a polyline inscribed in the arc: a bit shorter, by the chord/arc ratio of the 5 mm tolerance
    step = 2 * math.acos(1 - ARC_TOLERANCE / 1.0)
    assert math.pi * math.sin(step / 2) / (step / 2) + 2 - 1e-9 <= g.shape.length < math.pi + 2


def test_coordinates_with_newlines_and_separators():
    g = _geom(
        f'<gml:LineString {NS} gml:id="l"><gml:coordinates>\n   1,2,3\n   4,5,6\n  '
        "</gml:coordinates></gml:LineString>"
    )
    assert list(shapely.get_coordinates(g.shape, include_z=True)[1]) == [4, 5, 6]
    g = _geom(
        f'<gml:LineString {NS} gml:id="l"><gml:coordinates cs=";" ts="|" decimal=",">'
        "1,5;2|3;4,25</gml:coordinates></gml:LineString>"
    )
    assert list(shapely.get_coordinates(g.shape)[1]) == [3, 4.25]


def test_posList_dimension_inherited_and_assumed():
    g = _geom(
        f'<gml:LineString {NS} gml:id="l" srsDimension="3"><gml:posList>0 0 1 1 1 1</gml:posList></gml:LineString>'
    )
    assert g.dims == {3} and not g.dim_assumed
    g = _geom(
        f'<gml:LineString {NS} gml:id="l"><gml:posList>0 0 1 1 1 1</gml:posList></gml:LineString>'
    )
    assert g.dims == {2} and g.dim_assumed and len(shapely.get_coordinates(g.shape)) == 3
    g = _geom(
        f'<gml:LineString {NS} gml:id="l" srsDimension="3"><gml:posList>0 0 1 1</gml:posList></gml:LineString>'
    )
    assert g.shape is None and g.problems[0][0] == "coords"


def test_surface_ring_of_arcs_and_multisurface():
    g = _geom(
        f'<gml:MultiSurface {NS} gml:id="m" srsName="EPSG:2154"><gml:surfaceMember>'
        '<gml:Surface gml:id="s"><gml:patches><gml:PolygonPatch><gml:exterior><gml:Ring>'
        '<gml:curveMember><gml:Curve gml:id="c"><gml:segments><gml:ArcString><gml:posList>'
        "1 0 0 1 -1 0 0 -1 1 0</gml:posList></gml:ArcString></gml:segments></gml:Curve>"
        "</gml:curveMember></gml:Ring></gml:exterior></gml:PolygonPatch></gml:patches>"
        "</gml:Surface></gml:surfaceMember></gml:MultiSurface>"
    )
    assert g.problems == [] and g.shape.geom_type == "MultiPolygon"
    assert math.pi * 0.99 < g.shape.area < math.pi
    assert g.shape.is_valid


def test_disallowed_segments_and_arc_counts():
    g = _geom(
        f'<gml:Curve {NS} gml:id="c"><gml:segments><gml:CubicSpline><gml:posList>0 0 1 1 2 0'
        "</gml:posList></gml:CubicSpline></gml:segments></gml:Curve>"
    )
    assert next(p[0] for p in g.problems) == "segment_type"
    g = _geom(
        f'<gml:Curve {NS} gml:id="c"><gml:segments><gml:Arc><gml:posList>0 0 1 1 2 0 3 3'
        "</gml:posList></gml:Arc></gml:segments></gml:Curve>"
    )
    assert "arc_points" in [p[0] for p in g.problems]


def test_reader_streams_with_line_numbers_and_bounded_memory(tmp_path):
    from pcrs.vector.sample import write_delivery

    path = write_delivery(tmp_path / "d.gml", 300, seed=4)
    reader = GmlReader(path)
    lines = []
    n = 0
    biggest = 0
    links = 0
    for m in reader.members():
        if isinstance(m, EmpriseLink):  # the emprise's objet/habillage links, one by one
            links += 1
            continue
        n += len(m.features)
        lines.append(m.line)
        biggest = max(biggest, len(reader.root))
    # members already handed out are gone from the tree: only the parser's look-ahead stays
    assert biggest < 500
    assert reader.error is None
    assert lines == sorted(lines) and lines[0] == 3
    assert n == 300 * 14 + 1
    assert links == 300 * 10  # 8 objets and 2 habillages per block
