"""Reproducible synthetic LiDAR scenes with ground truth per point.

A scene is a square of terrain in Lambert-93 (EPSG:2154) with what an IGN
LiDAR HD tile holds: sloping, hilly ground with an embankment (a breakline)
and a kerb, buildings with flat and gabled roofs and their walls, isolated
trees and hedges with multiple returns, low vegetation, cars, a river whose
water surface returns few pulses, a bridge deck over it, a pylon, and noise
points both in the sky and below the ground.

Every point's ``classification`` is its truth, in IGN codes: 1 unclassified
(cars), 2 ground, 3/4/5 vegetation below 0.5 m / 0.5-1.5 m / above 1.5 m above
the ground, 6 building, 9 water, 17 bridge deck, 64 pylon, 65 noise. The true
bare-earth surface is :meth:`Scene.ground_z` (the water level on the river,
as IGN's DTM uses water points).

Everything is vectorised: the loops run over objects (buildings, trees), never
over points, so tens of millions of points take seconds.

Examples
--------
>>> scene = make_scene(50_000, seed=3)
>>> cloud = scene.cloud
>>> sorted(set(cloud.classification.tolist()))[:3]
[1, 2, 3]
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pyproj import CRS

from .classify import codes as C
from .errors import ParameterError
from .points import LasLayout, PointCloud

__all__ = ["Building", "Scene", "Tree", "make_scene"]

#: Default lower-left corner (Lambert-93, near Lyon), on the IGN 1 km grid.
DEFAULT_ORIGIN = (842_000.0, 6_518_000.0)


@dataclass(frozen=True)
class Building:
    """A rectangular building: centre, half sizes, rotation, eave height and roof."""

    cx: float
    cy: float
    half_length: float
    half_width: float
    angle: float
    height: float
    roof: str  # "flat" or "gable"
    ridge: float  # extra height of the ridge over the eaves (0 for flat roofs)

    def footprint(self):
        """The footprint as a shapely polygon."""
        from shapely.geometry import Polygon

        c, s = np.cos(self.angle), np.sin(self.angle)
        corners = [(-1, -1), (1, -1), (1, 1), (-1, 1)]
        pts = [
            (
                self.cx + a * self.half_length * c - b * self.half_width * s,
                self.cy + a * self.half_length * s + b * self.half_width * c,
            )
            for a, b in corners
        ]
        return Polygon(pts)


@dataclass(frozen=True)
class Tree:
    """A tree crown: centre, crown radius, crown base and top heights above ground."""

    cx: float
    cy: float
    radius: float
    base: float
    top: float


@dataclass
class Scene:
    """A synthetic scene and its truth.

    Attributes
    ----------
    cloud : PointCloud
        LAS 1.4 point format 6 points in EPSG:2154; ``classification`` is the truth.
    bounds : tuple
        ``(minx, miny, maxx, maxy)``.
    buildings, trees : list
    river : tuple
        ``(x0, x1)``: the river runs along y between these x, in a flat flood plain.
    water_level : float
        The (flat) water surface.
    bridge : tuple
        ``(y0, y1, deck_z)``: the bridge deck spans the river between these y.
    """

    cloud: PointCloud
    bounds: tuple[float, float, float, float]
    buildings: list[Building] = field(default_factory=list)
    trees: list[Tree] = field(default_factory=list)
    river: tuple[float, float] = (0.0, 0.0)
    water_level: float = 0.0
    bridge: tuple[float, float, float] = (0.0, 0.0, 0.0)
    _terrain: dict = field(default_factory=dict, repr=False)

    def terrain_z(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Elevation of the solid ground (the river bed included)."""
        return _terrain(np.asarray(x, float), np.asarray(y, float), **self._terrain)

    def ground_z(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The true bare-earth surface a DTM should give: terrain, water level on the river."""
        x = np.asarray(x, float)
        z = self.terrain_z(x, np.asarray(y, float))
        on_river = (x >= self.river[0]) & (x <= self.river[1])
        return np.where(on_river, self.water_level, z)


def _terrain(x, y, *, x0, y0, size, slope_x, slope_y, base, emb_x, emb_h, emb_w, kerb_y, kerb_h,
             river_x0, river_x1, river_depth, valley=None):  # fmt: skip
    u = (x - x0) / size
    v = (y - y0) / size
    z = base + slope_x * (x - x0) + slope_y * (y - y0)
    z += 2.5 * np.sin(2 * np.pi * (u * 1.3 + 0.2)) * np.cos(2 * np.pi * (v * 0.9 + 0.1))
    z += 0.8 * np.sin(2 * np.pi * 3.1 * v + 1.0)
    # embankment: a 2-3 m rise over a few metres, a breakline along x = emb_x
    z += emb_h * np.clip((x - emb_x) / emb_w, 0.0, 1.0)
    # kerb: a sharp 15 cm step along y = kerb_y (pavement side higher)
    z += kerb_h * (y > kerb_y)
    # a flat flood plain at the valley level within 25 m of the river, blending into the hills
    if valley is not None:
        dist = np.maximum(np.maximum(river_x0 - x, x - river_x1), 0.0)
        w = np.clip(dist / 25.0, 0.0, 1.0)
        z = valley + (z - valley) * w
    # river bed: carved down between river_x0 and river_x1 (smooth banks)
    d = np.minimum(x - river_x0, river_x1 - x)
    z -= river_depth * np.clip(d / 3.0, 0.0, 1.0) * (d > 0)
    return z


class _Buckets:
    """Points sorted into square buckets, to find those inside an object's box fast."""

    def __init__(self, x, y, x0, y0, size, cell=20.0):
        self.x0, self.y0, self.cell = x0, y0, cell
        self.n = int(np.ceil(size / cell)) + 1
        cx = np.clip(((x - x0) // cell).astype(np.int64), 0, self.n - 1)
        cy = np.clip(((y - y0) // cell).astype(np.int64), 0, self.n - 1)
        ids = cy * self.n + cx
        self.order = np.argsort(ids, kind="stable")
        self.starts = np.searchsorted(ids[self.order], np.arange(self.n * self.n + 1))

    def query(self, minx, miny, maxx, maxy) -> np.ndarray:
        cx0 = int(np.clip((minx - self.x0) // self.cell, 0, self.n - 1))
        cx1 = int(np.clip((maxx - self.x0) // self.cell, 0, self.n - 1))
        cy0 = int(np.clip((miny - self.y0) // self.cell, 0, self.n - 1))
        cy1 = int(np.clip((maxy - self.y0) // self.cell, 0, self.n - 1))
        parts = [
            self.order[self.starts[cy * self.n + cx0] : self.starts[cy * self.n + cx1 + 1]]
            for cy in range(cy0, cy1 + 1)
        ]
        return np.concatenate(parts) if parts else np.empty(0, np.int64)


def make_scene(
    n_points: int = 1_000_000,
    *,
    density: float = 10.0,
    seed: int = 0,
    origin: tuple[float, float] = DEFAULT_ORIGIN,
    noise_fraction: float = 0.002,
) -> Scene:
    """Generate a scene of about ``n_points`` points.

    Parameters
    ----------
    n_points : int
        Approximate number of points (pulses are drawn so that the total,
        multiple returns included, is close to it). From 1,000 upwards.
    density : float
        Pulses per square metre; the scene's side follows from it. Scenes are
        at least 100 m wide: small ``n_points`` lower the density instead.
    seed : int
        Random seed: the same arguments give the same points.
    origin : (float, float)
        Lower-left corner in Lambert-93 metres.
    noise_fraction : float
        Share of noise points (half in the sky, half below the ground).

    Returns
    -------
    Scene
    """
    if int(n_points) < 1000:
        raise ParameterError(f"n_points must be at least 1000, got {n_points!r}")
    if not density > 0:
        raise ParameterError(f"density must be positive, got {density!r}")
    if not 0 <= noise_fraction < 0.5:
        raise ParameterError(f"noise_fraction must be in [0, 0.5), got {noise_fraction!r}")
    rng = np.random.default_rng(seed)
    n_pulses = int(n_points / 1.12)
    size = max(np.sqrt(n_pulses / density), 100.0)
    x0, y0 = float(origin[0]), float(origin[1])

    river = (x0 + 0.72 * size, x0 + 0.72 * size + max(8.0, 0.04 * size))
    terrain = dict(
        x0=x0, y0=y0, size=size, slope_x=0.03, slope_y=-0.015, base=200.0,
        emb_x=x0 + 0.38 * size, emb_h=2.5, emb_w=4.0, kerb_y=y0 + 0.3 * size, kerb_h=0.15,
        river_x0=river[0], river_x1=river[1], river_depth=2.0,
    )  # fmt: skip
    centre = np.array([(river[0] + river[1]) / 2])
    terrain["valley"] = float(
        _terrain(centre, np.array([y0 + size / 2]), **{**terrain, "river_depth": 0.0})[0]
    )
    water_level = terrain["valley"] - 0.8
    bridge_y0 = y0 + 0.55 * size
    bridge = (bridge_y0, bridge_y0 + 8.0, water_level + 6.0)

    # --- pulses and the ground under them ---------------------------------------
    px = x0 + rng.random(n_pulses) * size
    py = y0 + rng.random(n_pulses) * size
    ground = _terrain(px, py, **terrain)
    on_river = (px >= river[0]) & (px <= river[1])
    top_z = np.where(on_river, water_level, ground)
    top_class = np.where(on_river, C.WATER, C.GROUND).astype(np.uint8)
    buckets = _Buckets(px, py, x0, y0, size)

    # --- buildings: left part of the scene (a village), avoiding river and embankment -----
    buildings: list[Building] = []
    n_build = max(2, int(size * size / 4000))
    tries = 0
    while len(buildings) < n_build and tries < n_build * 20:
        tries += 1
        hl, hw = rng.uniform(5, 13), rng.uniform(4, 8)
        cx = x0 + rng.uniform(0.05, 0.34) * size
        cy = y0 + rng.uniform(0.05, 0.95) * size
        r = np.hypot(hl, hw) + 3
        if abs(cy - terrain["kerb_y"]) < r + 4:
            continue
        if any(
            np.hypot(b.cx - cx, b.cy - cy) < r + np.hypot(b.half_length, b.half_width) + 3
            for b in buildings
        ):
            continue
        gable = rng.random() < 0.5
        buildings.append(
            Building(cx, cy, hl, hw, rng.uniform(0, np.pi), rng.uniform(3.5, 12.0),
                     "gable" if gable else "flat", hw * np.tan(np.radians(rng.uniform(25, 40))) if gable else 0.0)
        )  # fmt: skip
    wall_x, wall_y, wall_z = [], [], []
    for b in buildings:
        r = np.hypot(b.half_length, b.half_width)
        idx = buckets.query(b.cx - r, b.cy - r, b.cx + r, b.cy + r)
        c, s = np.cos(b.angle), np.sin(b.angle)
        dx, dy = px[idx] - b.cx, py[idx] - b.cy
        a = dx * c + dy * s
        w = -dx * s + dy * c
        inside = (np.abs(a) <= b.half_length) & (np.abs(w) <= b.half_width)
        idx, w = idx[inside], w[inside]
        base = _terrain(np.array([b.cx]), np.array([b.cy]), **terrain)[0]
        roof = base + b.height + b.ridge * (1 - np.abs(w) / b.half_width)
        top_z[idx] = roof
        top_class[idx] = C.BUILDING
        # façade points: a few oblique hits per square metre of wall
        perimeter = 4 * (b.half_length + b.half_width)
        n_wall = int(perimeter * b.height * 0.3 * min(density, 10) / 10)
        t = rng.random(n_wall) * perimeter
        side_len = np.array([2 * b.half_length, 2 * b.half_width] * 2)
        cum = np.concatenate([[0], np.cumsum(side_len)])
        side = np.clip(np.searchsorted(cum, t, side="right") - 1, 0, 3)
        f = t - cum[side]
        corners = np.array([(-1, -1), (1, -1), (1, 1), (-1, 1), (-1, -1)], float)
        # la, lw walk along each side from its first corner
        la = np.where(
            side % 2 == 0,
            corners[side, 0] * b.half_length + np.sign(corners[side + 1, 0] - corners[side, 0]) * f,
            corners[side, 0] * b.half_length,
        )
        lw = np.where(
            side % 2 == 1,
            corners[side, 1] * b.half_width + np.sign(corners[side + 1, 1] - corners[side, 1]) * f,
            corners[side, 1] * b.half_width,
        )
        wx = b.cx + la * c - lw * s
        wy = b.cy + la * s + lw * c
        wall_x.append(wx)
        wall_y.append(wy)
        wall_z.append(base + 0.3 + rng.random(n_wall) * (b.height - 0.5))

    # --- cars along the street (y ≈ kerb line, road side) ----------------------------
    n_cars = max(2, int(size / 40))
    for _ in range(n_cars):
        cx = x0 + rng.uniform(0.02, 0.36) * size
        cy = terrain["kerb_y"] - rng.uniform(2.5, 5.0)
        idx = buckets.query(cx - 2.3, cy - 1.0, cx + 2.3, cy + 1.0)
        inside = (
            (np.abs(px[idx] - cx) <= 2.2)
            & (np.abs(py[idx] - cy) <= 0.9)
            & (top_class[idx] == C.GROUND)
        )
        idx = idx[inside]
        top_z[idx] = ground[idx] + 1.45 - 0.3 * (np.abs(px[idx] - cx) > 1.2)
        top_class[idx] = C.UNCLASSIFIED

    # --- bridge deck across the river ------------------------------------------------
    on_bridge = (py >= bridge[0]) & (py <= bridge[1]) & (px >= river[0] - 2) & (px <= river[1] + 2)
    top_z[on_bridge] = bridge[2] + 0.02 * np.abs(px[on_bridge] - (river[0] + river[1]) / 2)
    top_class[on_bridge] = C.BRIDGE_DECK

    # --- vegetation: trees (right of the village), hedges, low vegetation -------------------
    veg = np.zeros(n_pulses, bool)  # pulses whose first return is in vegetation
    veg_base = np.zeros(n_pulses)  # crown base above ground
    trees: list[Tree] = []
    n_trees = max(3, int(size * size / 900))
    for _ in range(n_trees):
        cx = x0 + rng.uniform(0.4, 0.98) * size
        cy = y0 + rng.uniform(0.02, 0.98) * size
        if river[0] - 6 < cx < river[1] + 6 or abs(cx - terrain["emb_x"]) < 6:
            continue
        radius, top = rng.uniform(1.5, 5.0), rng.uniform(5.0, 20.0)
        trees.append(Tree(cx, cy, radius, rng.uniform(1.5, 0.5 * top), top))
    for tree in trees:
        idx = buckets.query(
            tree.cx - tree.radius,
            tree.cy - tree.radius,
            tree.cx + tree.radius,
            tree.cy + tree.radius,
        )
        d = np.hypot(px[idx] - tree.cx, py[idx] - tree.cy) / tree.radius
        inside = (d < 1) & (top_class[idx] == C.GROUND)
        idx, d = idx[inside], d[inside]
        # a half-ellipsoid crown with a ragged surface
        h = tree.base + (tree.top - tree.base) * np.sqrt(1 - d**2) * rng.uniform(
            0.75, 1.0, idx.size
        )
        z = ground[idx] + h
        higher = ~veg[idx] | (z > top_z[idx])
        idx, z = idx[higher], z[higher]
        top_z[idx] = z
        veg[idx] = True
        veg_base[idx] = tree.base
    # hedges: strips 1.5 m wide, 1-2.5 m high, along the embankment foot
    for k in range(max(1, int(size / 150))):
        hx = terrain["emb_x"] + 8 + 4 * k
        hy0, hy1 = y0 + 0.1 * size, y0 + 0.1 * size + min(60.0, 0.5 * size)
        idx = buckets.query(hx - 0.75, hy0, hx + 0.75, hy1)
        inside = (
            (np.abs(px[idx] - hx) <= 0.75)
            & (py[idx] >= hy0)
            & (py[idx] <= hy1)
            & (top_class[idx] == C.GROUND)
            & ~veg[idx]
        )
        idx = idx[inside]
        hh = rng.uniform(1.0, 2.5)
        top_z[idx] = ground[idx] + hh * rng.uniform(0.8, 1.0, idx.size)
        veg[idx] = True
        veg_base[idx] = 0.2
    # low vegetation: grass and bushes 5-45 cm high in patches of the open land
    patch = (
        (np.sin(px / 7.0) * np.cos(py / 9.0) > 0.55)
        & (px > x0 + 0.4 * size)
        & (top_class == C.GROUND)
        & ~veg
        & ~on_river
        & (rng.random(n_pulses) < 0.5)  # grass lets about half of the pulses through
    )
    top_z[patch] = ground[patch] + rng.uniform(0.05, 0.45, patch.sum())
    veg[patch] = True

    # --- pylon (lasting above-ground structure) ---------------------------------------
    pyl = (x0 + 0.9 * size, y0 + 0.9 * size)
    idx = buckets.query(pyl[0] - 1.5, pyl[1] - 1.5, pyl[0] + 1.5, pyl[1] + 1.5)
    inside = (np.abs(px[idx] - pyl[0]) <= 1.2) & (np.abs(py[idx] - pyl[1]) <= 1.2)
    idx = idx[inside]
    top_z[idx] = ground[idx] + rng.uniform(0.5, 30.0, idx.size)
    top_class[idx] = C.IGN_LASTING_ABOVE_GROUND
    veg[idx] = False

    # --- returns --------------------------------------------------------------------
    hag_top = top_z - ground
    top_class = np.where(veg, _veg_class(hag_top), top_class).astype(np.uint8)
    # water reflects few pulses back: drop 60 % of them
    keep = ~((top_class == C.WATER) & (rng.random(n_pulses) < 0.6))
    # vegetation pulses: maybe an intermediate return inside the crown, maybe a last one on the ground
    tall_veg = veg & (hag_top > 0.6)
    has_mid = tall_veg & (rng.random(n_pulses) < 0.35) & keep
    has_last = tall_veg & (rng.random(n_pulses) < 0.55) & keep
    mid_z = ground + veg_base + rng.random(n_pulses) * np.maximum(hag_top - veg_base - 0.2, 0.0)
    mid_z = np.minimum(mid_z, top_z - 0.3)
    n_ret = 1 + has_mid.astype(np.uint8) + has_last.astype(np.uint8)

    pulse_ids = np.arange(n_pulses)
    parts_pid = [pulse_ids[keep], pulse_ids[has_mid], pulse_ids[has_last]]
    parts_z = [top_z[keep], mid_z[has_mid], ground[has_last]]
    parts_cls = [
        top_class[keep],
        _veg_class(mid_z[has_mid] - ground[has_mid]),
        np.full(has_last.sum(), C.GROUND, np.uint8),
    ]
    parts_rn = [np.ones(keep.sum(), np.uint8), np.full(has_mid.sum(), 2, np.uint8), n_ret[has_last]]
    pid = np.concatenate(parts_pid)
    z = np.concatenate(parts_z)
    cls = np.concatenate(parts_cls)
    rn = np.concatenate(parts_rn)
    x = px[pid]
    y = py[pid]
    nr = n_ret[pid]

    # walls and noise are single-return pulses of their own
    wx = np.concatenate(wall_x) if wall_x else np.empty(0)
    wy = np.concatenate(wall_y) if wall_y else np.empty(0)
    wz = np.concatenate(wall_z) if wall_z else np.empty(0)
    n_noise = round(noise_fraction * (len(z) + len(wz)))
    nx = x0 + rng.random(n_noise) * size
    ny = y0 + rng.random(n_noise) * size
    ng = _terrain(nx, ny, **terrain)
    high = rng.random(n_noise) < 0.5
    nz = np.where(
        high, ng + rng.uniform(25.0, 120.0, n_noise), ng - rng.uniform(2.0, 15.0, n_noise)
    )
    extra_x = np.concatenate([wx, nx])
    extra_y = np.concatenate([wy, ny])
    extra_z = np.concatenate([wz, nz])
    extra_cls = np.concatenate(
        [np.full(wx.size, C.BUILDING, np.uint8), np.full(n_noise, C.IGN_NOISE, np.uint8)]
    )
    # pulse order: flight lines 250 m wide along y, scanned across; walls/noise get random times
    extra_pid = rng.random(extra_x.size) * n_pulses
    x = np.concatenate([x, extra_x])
    y = np.concatenate([y, extra_y])
    z = np.concatenate([z, extra_z])
    cls = np.concatenate([cls, extra_cls])
    rn = np.concatenate([rn, np.ones(extra_x.size, np.uint8)])
    nr = np.concatenate([nr, np.ones(extra_x.size, np.uint8)])
    strip = ((x - x0) // 250.0).astype(np.int64)
    t_order = np.lexsort((rn, np.concatenate([pid.astype(float), extra_pid]), y, strip))
    x, y, z, cls, rn, nr, strip = (a[t_order] for a in (x, y, z, cls, rn, nr, strip))
    n = x.size
    gps = 3.0e8 + np.cumsum(rn == 1) * 2.0e-6

    intensity = np.select(
        [cls == C.GROUND, cls == C.BUILDING, cls == C.WATER, cls >= 64],
        [
            rng.normal(600, 120, n),
            rng.normal(1100, 200, n),
            rng.normal(60, 20, n),
            rng.normal(300, 100, n),
        ],
        default=rng.normal(250, 80, n),
    )
    intensity = np.clip(intensity, 0, 65535).astype(np.uint16)
    # measurement noise on z (2 cm), then quantise to the 1 cm grid of the LAS file
    z = z + rng.normal(0.0, 0.02, n)
    offsets = (np.floor(x0 / 1000) * 1000, np.floor(y0 / 1000) * 1000, 0.0)
    # the same arithmetic as a LAS reader (int * scale + offset), so a round trip is exact
    x, y, z = (np.round((a - o) / 0.01) * 0.01 + o for a, o in zip((x, y, z), offsets, strict=True))
    scan_angle = np.round((x - x0) % 250.0 / 250.0 * 40.0 - 20.0, 0) / 0.006
    attrs = {
        "intensity": intensity,
        "return_number": rn,
        "number_of_returns": nr,
        "classification": cls,
        "scan_angle": scan_angle.astype(np.int16),
        "point_source_id": (strip + 1).astype(np.uint16),
        "gps_time": gps,
    }
    layout = LasLayout(
        point_format=6, version="1.4", scales=(0.01, 0.01, 0.01),
        offsets=offsets,
    )  # fmt: skip
    cloud = PointCloud(x, y, z, attrs, CRS.from_epsg(2154), layout)
    return Scene(
        cloud=cloud,
        bounds=(x0, y0, x0 + size, y0 + size),
        buildings=buildings,
        trees=trees,
        river=river,
        water_level=water_level,
        bridge=bridge,
        _terrain=terrain,
    )


def _veg_class(height: np.ndarray) -> np.ndarray:
    """IGN vegetation classes from height above ground: 3 < 0.5 m <= 4 < 1.5 m <= 5."""
    return np.where(
        height < 0.5,
        C.LOW_VEGETATION,
        np.where(height < 1.5, C.MEDIUM_VEGETATION, C.HIGH_VEGETATION),
    ).astype(np.uint8)
