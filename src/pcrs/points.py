"""The :class:`PointCloud` container every pcrs algorithm takes.

A point cloud is three float64 coordinate arrays, a dictionary of named
attribute arrays of the same length (``classification``, ``intensity``,
``return_number``, ``gps_time``, ``red``... and any extra dimension), and the
CRS. The LAS layout it came from (point format, version, scales, offsets, extra
dimension types) rides along in :attr:`PointCloud.layout`, so that writing it
back gives the same file content.

Attribute names are laspy's dimension names, so ``cloud["classification"]``
means what ``las.classification`` means.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from pyproj import CRS

from .errors import ParameterError

__all__ = ["LasLayout", "PointCloud"]


@dataclass(frozen=True)
class LasLayout:
    """How the points were (or will be) stored in a LAS file.

    Attributes
    ----------
    point_format : int
        LAS point data record format, 0-10.
    version : str
        ``"1.2"``, ``"1.3"`` or ``"1.4"``.
    scales, offsets : tuple of float
        Integer coordinate scale and offset per axis.
    extra_dims : tuple
        ``laspy.ExtraBytesParams`` of the extra dimensions, in file order.
    vlrs : tuple
        The source's VLRs, in file order, to carry over when writing (except
        the LAZ and COPC records, which the writer makes anew, and the CRS
        records when the CRS changed).
    evlrs : tuple
        The source's extended VLRs to carry over (LAS 1.4; COPC's excluded).
    global_encoding : int
        The source's global encoding bits (GPS time type, waveform location,
        synthetic return numbers, WKT).
    file_source_id : int
        The source's file source id (flight line number, for instance).
    system_identifier : str
        The source's system identifier (the acquisition system).
    source_extra : tuple
        The source's extra dimensions exactly as read (laspy ``DimensionInfo``,
        in record order, undocumented bytes included), so that they are
        written back with the same types, scales and descriptions.
    """

    point_format: int = 6
    version: str = "1.4"
    scales: tuple[float, float, float] = (0.01, 0.01, 0.01)
    offsets: tuple[float, float, float] | None = None
    extra_dims: tuple = ()
    vlrs: tuple = ()
    evlrs: tuple = ()
    global_encoding: int = 0
    file_source_id: int = 0
    system_identifier: str = ""
    source_extra: tuple = ()


@dataclass(eq=False)
class PointCloud:
    """Points with float64 coordinates, named attributes and a CRS.

    Parameters
    ----------
    x, y, z : array_like
        Coordinates, converted to float64.
    attributes : mapping of str to array_like, optional
        One array per attribute, each as long as ``x``.
    crs : pyproj.CRS, optional
    layout : LasLayout, optional
        The LAS storage the points come from; defaults to LAS 1.4 point format 6
        with 1 cm scales.

    Examples
    --------
    >>> import numpy as np
    >>> pc = PointCloud(np.arange(3.0), np.zeros(3), np.ones(3),
    ...                 {"classification": np.array([2, 6, 2], np.uint8)})
    >>> len(pc[pc["classification"] == 2])
    2
    """

    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    attributes: dict[str, np.ndarray] = field(default_factory=dict)
    crs: CRS | None = None
    layout: LasLayout = field(default_factory=LasLayout)

    def __post_init__(self) -> None:
        self.x = np.ascontiguousarray(self.x, dtype=np.float64)
        self.y = np.ascontiguousarray(self.y, dtype=np.float64)
        self.z = np.ascontiguousarray(self.z, dtype=np.float64)
        n = self.x.shape[0]
        if self.x.ndim != 1 or self.y.shape != (n,) or self.z.shape != (n,):
            raise ParameterError(
                f"x, y and z must be 1-D arrays of one length; got shapes "
                f"{self.x.shape}, {self.y.shape}, {self.z.shape}"
            )
        attrs = {}
        for name, values in dict(self.attributes).items():
            arr = np.asarray(values)
            if arr.shape[0] != n:
                raise ParameterError(f"attribute {name!r} has {arr.shape[0]} values for {n} points")
            attrs[name] = arr
        self.attributes = attrs

    # --- construction -----------------------------------------------------------------

    @classmethod
    def from_xyz(cls, xyz: np.ndarray, crs: CRS | None = None, **attributes) -> PointCloud:
        """Build from an ``(n, 3)`` array and keyword attribute arrays."""
        xyz = np.asarray(xyz, dtype=np.float64)
        if xyz.ndim != 2 or xyz.shape[1] != 3:
            raise ParameterError(f"xyz must have shape (n, 3), got {xyz.shape}")
        return cls(xyz[:, 0], xyz[:, 1], xyz[:, 2], attributes, crs)

    @classmethod
    def from_pdal(
        cls, array: np.ndarray, crs: Any = None, *, layout: LasLayout | None = None
    ) -> PointCloud:
        """Build from a structured array of ``pdal.Pipeline.arrays`` (PDAL's names and
        types); see :func:`pcrs.interop.pdal.from_pdal`."""
        from .interop.pdal import from_pdal

        return from_pdal(array, crs, layout=layout)

    def to_pdal(self) -> np.ndarray:
        """A structured array with PDAL's dimension names and types, to feed
        ``pdal.Pipeline(..., arrays=[...])``; see :func:`pcrs.interop.pdal.to_pdal`."""
        from .interop.pdal import to_pdal

        return to_pdal(self)

    @classmethod
    def from_open3d(
        cls, pcd: Any, crs: Any = None, *, layout: LasLayout | None = None
    ) -> PointCloud:
        """Build from an ``open3d.geometry.PointCloud`` (needs open3d); see
        :func:`pcrs.interop.open3d.from_open3d`."""
        from .interop.open3d import from_open3d

        return from_open3d(pcd, crs, layout=layout)

    def to_open3d(self) -> Any:
        """An ``open3d.geometry.PointCloud`` of the positions, colours (16-bit RGB to
        [0, 1]) and normals (needs open3d); see :func:`pcrs.interop.open3d.to_open3d`."""
        from .interop.open3d import to_open3d

        return to_open3d(self)

    @classmethod
    def concatenate(cls, clouds: Iterable[PointCloud]) -> PointCloud:
        """Join clouds; the first one's CRS and layout are kept.

        Clouds with different attributes (files of different point formats or
        extra dimensions) are joined on the union of their attributes: a
        cloud that lacks one gets zeros of its type (the LAS default). A scan
        angle given as ``scan_angle_rank`` (whole degrees, formats 0-5) by some
        clouds and ``scan_angle`` (0.006 degree steps, formats 6-10) by others
        becomes ``scan_angle`` for all, exactly (``rank / 0.006``). The layout's
        extra dimension types are the union of the clouds' (first seen wins),
        so the writer stores each extra dimension with its own type.
        """
        clouds = list(clouds)
        if not clouds:
            raise ParameterError("concatenate needs at least one point cloud")
        first = clouds[0]
        names = list(first.attributes)
        mixed = any(list(c.attributes) != names for c in clouds[1:])
        layout = first.layout
        if mixed:
            clouds = [_with_scan_angle(c) for c in clouds] if _has_both_angles(clouds) else clouds
            names = []
            for c in clouds:
                names.extend(n for n in c.attributes if n not in names)
            layout = _union_layout([c.layout for c in clouds])
        return cls(
            np.concatenate([c.x for c in clouds]),
            np.concatenate([c.y for c in clouds]),
            np.concatenate([c.z for c in clouds]),
            {k: _concatenate_attribute(clouds, k) for k in names},
            first.crs,
            layout,
        )

    # --- access -----------------------------------------------------------------------

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def __contains__(self, name: object) -> bool:
        return name in self.attributes or name in ("x", "y", "z")

    def __getitem__(self, key):
        """``pc["name"]`` gives an attribute; a mask, slice or index array gives a subset."""
        if isinstance(key, str):
            if key in ("x", "y", "z"):
                return getattr(self, key)
            try:
                return self.attributes[key]
            except KeyError:
                raise KeyError(
                    f"no attribute {key!r}; this point cloud has {sorted(self.attributes)}"
                ) from None
        return self.subset(key)

    def __setitem__(self, name: str, values) -> None:
        arr = np.asarray(values)
        if arr.ndim == 0:
            arr = np.full(len(self), arr)
        if arr.shape[0] != len(self):
            raise ParameterError(
                f"attribute {name!r} has {arr.shape[0]} values for {len(self)} points"
            )
        if name in ("x", "y", "z"):
            setattr(self, name, np.ascontiguousarray(arr, dtype=np.float64))
        else:
            self.attributes[name] = arr

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    @property
    def names(self) -> list[str]:
        """Attribute names, coordinates first."""
        return ["x", "y", "z", *self.attributes]

    def get(self, name: str, default=None):
        """An attribute, or ``default`` when absent."""
        return self.attributes.get(name, default)

    @property
    def xyz(self) -> np.ndarray:
        """Coordinates as a new ``(n, 3)`` float64 array."""
        return np.column_stack([self.x, self.y, self.z])

    @property
    def bounds(self) -> tuple[float, float, float, float, float, float]:
        """``(minx, miny, minz, maxx, maxy, maxz)``; NaNs when empty."""
        if len(self) == 0:
            return (float("nan"),) * 6
        return (
            float(self.x.min()), float(self.y.min()), float(self.z.min()),
            float(self.x.max()), float(self.y.max()), float(self.z.max()),
        )  # fmt: skip

    @property
    def classification(self) -> np.ndarray:
        """The ``classification`` attribute (created as zeros, uint8, when missing)."""
        if "classification" not in self.attributes:
            self.attributes["classification"] = np.zeros(len(self), np.uint8)
        return self.attributes["classification"]

    # --- subsets ----------------------------------------------------------------------

    def subset(self, selector) -> PointCloud:
        """A new cloud with the points that ``selector`` picks (mask, slice or indices)."""
        if (
            isinstance(selector, np.ndarray)
            and selector.dtype == bool
            and selector.shape != (len(self),)
        ):
            raise ParameterError(f"mask has shape {selector.shape} for {len(self)} points")
        return PointCloud(
            self.x[selector],
            self.y[selector],
            self.z[selector],
            {k: v[selector] for k, v in self.attributes.items()},
            self.crs,
            self.layout,
        )

    def in_box(self, minx: float, miny: float, maxx: float, maxy: float) -> np.ndarray:
        """Mask of the points with ``minx <= x <= maxx`` and ``miny <= y <= maxy``."""
        return (self.x >= minx) & (self.x <= maxx) & (self.y >= miny) & (self.y <= maxy)

    def copy(self) -> PointCloud:
        """A deep copy."""
        return PointCloud(
            self.x.copy(), self.y.copy(), self.z.copy(),
            {k: v.copy() for k, v in self.attributes.items()}, self.crs, self.layout,
        )  # fmt: skip

    def with_layout(self, **changes: Any) -> PointCloud:
        """The same points with some :class:`LasLayout` fields changed."""
        out = self.subset(slice(None))
        out.layout = replace(self.layout, **changes)
        return out

    def equals(self, other: PointCloud, attributes: Mapping | None = None) -> bool:
        """Whether both clouds hold the same coordinates and attribute values."""
        if len(self) != len(other) or set(self.attributes) != set(other.attributes):
            return False
        if not all(np.array_equal(getattr(self, a), getattr(other, a)) for a in "xyz"):
            return False
        return all(np.array_equal(v, other.attributes[k]) for k, v in self.attributes.items())

    def __repr__(self) -> str:
        crs = self.crs.to_epsg() if self.crs is not None else None
        return (
            f"PointCloud({len(self)} points, attributes={list(self.attributes)}, "
            f"crs={'EPSG:' + str(crs) if crs else ('custom' if self.crs else None)})"
        )


# --- joining clouds of different layouts -------------------------------------------------

#: One scan angle rank (degree) in the 0.006 degree steps of ``scan_angle`` (LAS 1.4).
SCAN_ANGLE_STEP = 0.006


def scan_angle_from_rank(rank: np.ndarray) -> np.ndarray:
    """``scan_angle`` (int16, 0.006 degree steps) from ``scan_angle_rank`` (whole degrees)."""
    return np.round(np.asarray(rank, dtype=np.float64) / SCAN_ANGLE_STEP).astype(np.int16)


def _has_both_angles(clouds: list[PointCloud]) -> bool:
    return any("scan_angle" in c.attributes for c in clouds) and any(
        "scan_angle_rank" in c.attributes for c in clouds
    )


def _with_scan_angle(cloud: PointCloud) -> PointCloud:
    if "scan_angle_rank" not in cloud.attributes:
        return cloud
    attrs = dict(cloud.attributes)
    rank = attrs.pop("scan_angle_rank")
    if "scan_angle" not in attrs:
        attrs["scan_angle"] = scan_angle_from_rank(rank)
    return PointCloud(cloud.x, cloud.y, cloud.z, attrs, cloud.crs, cloud.layout)


def _concatenate_attribute(clouds: list[PointCloud], name: str) -> np.ndarray:
    present = [c.attributes[name] for c in clouds if name in c.attributes]
    like = present[0]
    dtype = np.result_type(*present) if len(present) > 1 else like.dtype
    parts = [
        c.attributes[name]
        if name in c.attributes
        else np.zeros((len(c), *like.shape[1:]), dtype=dtype)
        for c in clouds
    ]
    return np.concatenate(parts).astype(dtype, copy=False)


def _union_layout(layouts: list[LasLayout]) -> LasLayout:
    """The first layout, with the extra dimension types of all of them (the writer widens
    the point format to hold every attribute)."""
    first = layouts[0]
    params = {p.name: p for p in first.extra_dims}
    infos = {d.name: d for d in first.source_extra}
    for layout in layouts[1:]:
        for p in layout.extra_dims:
            params.setdefault(p.name, p)
        for d in layout.source_extra:
            infos.setdefault(d.name, d)
    return replace(
        first,
        extra_dims=tuple(params.values()),
        source_extra=tuple(infos.values()),
    )
