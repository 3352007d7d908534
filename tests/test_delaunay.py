"""pcrs's own Delaunay (radial sweep, exact predicates) against qhull and against the definition."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import ConvexHull, Delaunay, cKDTree

from pcrs.errors import ParameterError
from pcrs.raster.delaunay import delaunay, have_sweep, resolve_engine

needs_numba = pytest.mark.skipif(not have_sweep(), reason="numba is not installed: no sweep engine")


def _canonical(tri: np.ndarray) -> set[tuple[int, ...]]:
    return set(map(tuple, np.sort(tri, axis=1).tolist()))


def _exact_delaunay_violations(X: np.ndarray, Y: np.ndarray, tri: np.ndarray) -> tuple[int, int]:
    """(points strictly inside a circumcircle, points exactly on one), in exact integer arithmetic.

    ``X``, ``Y`` are integer coordinates; candidates come from a k-d tree query
    slightly wider than each circumcircle, then the lifted determinant is
    evaluated with Python integers (no overflow, no rounding).
    """
    a, b, c = (tri[:, k] for k in range(3))
    fx, fy = X.astype(float), Y.astype(float)
    bx, by = fx[b] - fx[a], fy[b] - fy[a]
    cx, cy = fx[c] - fx[a], fy[c] - fy[a]
    d = 2 * (bx * cy - by * cx)
    ux = (cy * (bx**2 + by**2) - by * (cx**2 + cy**2)) / d
    uy = (bx * (cx**2 + cy**2) - cx * (bx**2 + by**2)) / d
    centres = np.column_stack([fx[a] + ux, fy[a] + uy])
    radii = np.hypot(ux, uy) * (1 + 1e-9) + 1e-6
    tree = cKDTree(np.column_stack([fx, fy]))
    hits = tree.query_ball_point(centres, radii)
    t_idx = np.repeat(np.arange(len(tri)), [len(h) for h in hits])
    p_idx = np.fromiter((p for h in hits for p in h), np.int64, len(t_idx))
    mine = (p_idx == a[t_idx]) | (p_idx == b[t_idx]) | (p_idx == c[t_idx])
    t_idx, p_idx = t_idx[~mine], p_idx[~mine]
    Xo, Yo = X.astype(object), Y.astype(object)

    def rel(v, coord):
        return coord[v] - coord[p_idx]

    adx, ady = rel(a[t_idx], Xo), rel(a[t_idx], Yo)
    bdx, bdy = rel(b[t_idx], Xo), rel(b[t_idx], Yo)
    cdx, cdy = rel(c[t_idx], Xo), rel(c[t_idx], Yo)
    det = (
        (adx * adx + ady * ady) * (bdx * cdy - cdx * bdy)
        + (bdx * bdx + bdy * bdy) * (cdx * ady - adx * cdy)
        + (cdx * cdx + cdy * cdy) * (adx * bdy - bdx * ady)
    )
    det = np.array([int(v) for v in det], dtype=object)
    return int(np.sum(det > 0)), int(np.sum(det == 0))


def _check_triangulation(x: np.ndarray, y: np.ndarray, tri: np.ndarray) -> None:
    """Every point used, all triangles counter-clockwise, areas adding up to the hull's."""
    area2 = (x[tri[:, 1]] - x[tri[:, 0]]) * (y[tri[:, 2]] - y[tri[:, 0]]) - (
        y[tri[:, 1]] - y[tri[:, 0]]
    ) * (x[tri[:, 2]] - x[tri[:, 0]])
    assert (area2 > 0).all()
    hull = ConvexHull(np.column_stack([x, y]))
    np.testing.assert_allclose(area2.sum() / 2, hull.volume, rtol=1e-12)
    assert len(np.unique(tri)) == len(x)


@needs_numba
@pytest.mark.parametrize("n", [3, 4, 10, 1000, 30_000])
def test_sweep_equals_qhull_in_general_position(n):
    # random points on the sweep's snapping grid for a 50 m extent (1 mm / 256), so that
    # snapping moves nothing; no four co-circular, so the Delaunay triangulation is unique
    rng = np.random.default_rng(n)
    q = 1e-3 / 256
    x, y = rng.integers(0, int(50 / q), n) * q, rng.integers(0, int(50 / q), n) * q
    ours = delaunay(x, y, engine="sweep")
    theirs = Delaunay(np.column_stack([x, y])).simplices
    assert _canonical(ours) == _canonical(theirs)
    _check_triangulation(x, y, ours)


@needs_numba
def test_sweep_is_exactly_delaunay_on_centimetre_coordinates():
    # LiDAR-like: coordinates on a 1 cm grid, so co-circular quadruples are common
    rng = np.random.default_rng(7)
    X = rng.integers(0, 3000, 40_000)
    Y = rng.integers(0, 3000, 40_000)
    XY = np.unique(np.column_stack([X, Y]), axis=0)
    X, Y = XY[:, 0], XY[:, 1]
    tri = delaunay(X * 0.01, Y * 0.01, engine="sweep")
    _check_triangulation(X * 0.01, Y * 0.01, tri)
    inside, on = _exact_delaunay_violations(X, Y, tri)
    assert inside == 0
    assert on > 0  # the test does meet ties, which is what makes it meaningful


@needs_numba
def test_sweep_on_a_regular_grid():
    # the most degenerate input: every cell's four corners are co-circular, rows are collinear
    gx, gy = np.meshgrid(np.arange(60.0), np.arange(45.0))
    x, y = gx.ravel(), gy.ravel()
    tri = delaunay(x, y, engine="sweep")
    assert len(tri) == 2 * 59 * 44
    _check_triangulation(x, y, tri)
    inside, _ = _exact_delaunay_violations(x.astype(np.int64), y.astype(np.int64), tri)
    assert inside == 0


@needs_numba
def test_sweep_handles_points_inside_the_hull_in_any_order():
    # the kernel accepts any insertion order: points inside the current hull are located
    # and their triangle is split (the path used near the seed triangle)
    from pcrs.raster._sweep_kernels import sweep_triangulate

    rng = np.random.default_rng(3)
    n = 3000
    m = 1 << 20
    # seed: a big triangle around everything, the rest in random order, all inside it
    X = np.r_[rng.integers(3 * m, 4 * m, n), 0, 8 * m, 4 * m].astype(np.int64)
    Y = np.r_[rng.integers(3 * m, 4 * m, n), 0, 0, 8 * m].astype(np.int64)
    i0, i1, i2 = n, n + 1, n + 2
    order = np.r_[rng.permutation(n), i0, i1, i2].astype(np.int64)
    flat, hull_count = sweep_triangulate(X, Y, order, i0, i1, i2, 0.0, 0.0)
    tri = flat.reshape(-1, 3).astype(np.int64)
    assert hull_count == 3
    assert len(tri) == 2 * (n + 3) - 2 - 3
    ref = Delaunay(np.column_stack([X, Y]).astype(float)).simplices
    assert _canonical(tri) == _canonical(ref)


@needs_numba
@pytest.mark.shared
def test_sweep_is_exactly_delaunay_on_ign_ground(lidar_dir):
    from pcrs.io import las

    cloud = las.read(lidar_dir / "ign-pdal-tools" / "test_data_77055_627755_LA93_IGN69.laz")
    g = cloud[np.isin(cloud.classification, (2, 9, 66))]
    X = np.rint((g.x - g.x.min()) * 100).astype(np.int64)
    Y = np.rint((g.y - g.y.min()) * 100).astype(np.int64)
    XY = np.unique(np.column_stack([X, Y]), axis=0)
    X, Y = XY[:, 0], XY[:, 1]
    tri = delaunay(X * 0.01, Y * 0.01, engine="sweep")
    _check_triangulation(X * 0.01, Y * 0.01, tri)
    assert _exact_delaunay_violations(X, Y, tri)[0] == 0
    qh = Delaunay(np.column_stack([X, Y]).astype(float)).simplices
    assert len(qh) == len(tri)  # same number of triangles: both triangulate every point


def test_degenerate_inputs_give_no_triangle():
    assert delaunay(np.array([0.0, 1.0]), np.array([0.0, 1.0])).shape == (0, 3)
    x = np.arange(10.0)
    assert delaunay(x, 2 * x + 1).shape == (0, 3)  # collinear
    assert delaunay(x, 2 * x + 1, engine="qhull").shape == (0, 3)


def test_engine_choice(monkeypatch):
    with pytest.raises(ParameterError, match="Delaunay engine"):
        resolve_engine("fast")
    monkeypatch.setenv("PCRS_DELAUNAY", "qhull")
    assert resolve_engine("auto") == "qhull"
    if have_sweep():
        assert resolve_engine("sweep") == "sweep"  # asked for by name, the variable does not apply
    rng = np.random.default_rng(0)
    x, y = rng.random(200), rng.random(200)
    assert _canonical(delaunay(x, y)) == _canonical(Delaunay(np.column_stack([x, y])).simplices)


@needs_numba
def test_compiled_rasteriser_equals_numpy():
    from pcrs.raster.interpolate import _rasterize_compiled, _rasterize_numpy

    rng = np.random.default_rng(5)
    u, v = rng.random(3000) * 120 - 10, rng.random(3000) * 90 - 10
    z = rng.normal(0, 5, 3000)
    tri = delaunay(u, v)
    for max_edge in (None, 3.0):
        a = np.full((80, 100), np.nan)
        b = np.full((80, 100), np.nan)
        ia = np.full((80, 100), -1, np.int64)
        ib = np.full((80, 100), -1, np.int64)
        _rasterize_compiled(u, v, z, tri, (80, 100), max_edge, a, ia)
        _rasterize_numpy(u, v, z, tri, (80, 100), max_edge, b, ib)
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(ia, ib)


@needs_numba
@pytest.mark.parametrize("seed", [0, 1])
def test_sweep_on_many_small_degenerate_sets(seed):
    # small integer ranges: collinear rows, co-circular quads and points on hull edges
    # everywhere; every result must be an exact Delaunay triangulation of all the points
    import pcrs.raster.delaunay as D

    rng = np.random.default_rng(seed)
    for _ in range(150):
        span = int(rng.choice([3, 5, 10, 40]))
        n = int(rng.integers(3, 120))
        X = rng.integers(0, span, n)
        Y = rng.integers(0, span, n)
        if rng.random() < 0.3:  # rows wrapping around: long collinear runs
            Y = (X * int(rng.integers(0, 3))) % span
            X = np.r_[X, rng.integers(0, span, 3)]
            Y = np.r_[Y, rng.integers(0, span, 3)]
        XY = np.unique(np.column_stack([X, Y]), axis=0)
        X, Y = XY[:, 0], XY[:, 1]
        Xs, Ys = D.snap(X * 0.01, Y * 0.01)
        tri = D.sweep_distinct(Xs, Ys)
        if np.linalg.matrix_rank(np.column_stack([X - X[0], Y - Y[0]])) < 2:
            assert tri is not None and len(tri) == 0  # collinear: no triangle
            continue
        assert tri is not None  # the sweep handled it (no fallback to qhull)
        _check_triangulation(X * 0.01, Y * 0.01, tri)
        assert _exact_delaunay_violations(X, Y, tri)[0] == 0


@needs_numba
def test_sweep_kernel_in_random_order_with_points_on_edges():
    # any insertion order: points land strictly inside triangles, on inner edges and on
    # hull edges (the legs of the seed triangle), each case splitting its triangles
    from pcrs.raster._sweep_kernels import sweep_triangulate

    rng = np.random.default_rng(11)
    for _ in range(150):
        span = int(rng.choice([4, 8, 16]))
        n = int(rng.integers(5, 150))
        k = rng.integers(1, 2 * span, 10)
        pts = np.column_stack(
            [
                np.r_[rng.integers(0, span + 1, n), k, np.zeros(10, int)],
                np.r_[rng.integers(0, span + 1, n), np.zeros(10, int), k],
            ]
        )
        seeds = np.array([[0, 0], [2 * span, 0], [0, 2 * span]])
        rest = np.unique(pts, axis=0)
        rest = rest[~((rest[:, None, :] == seeds[None]).all(axis=2)).any(axis=1)]
        P = np.vstack([seeds, rest]).astype(np.int64)
        X, Y = P[:, 0].copy(), P[:, 1].copy()
        order = np.r_[0, 1, 2, 3 + rng.permutation(len(P) - 3)].astype(np.int64)
        flat, hull = sweep_triangulate(X, Y, order, 0, 1, 2, float(span), float(span))
        tri = flat.reshape(-1, 3).astype(np.int64)
        assert len(tri) == 2 * len(X) - 2 - hull
        _check_triangulation(X.astype(float), Y.astype(float), tri)
        assert _exact_delaunay_violations(X, Y, tri)[0] == 0
