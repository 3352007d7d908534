"""PDAL's point arrays to and from :class:`~pcrs.points.PointCloud`, and PDAL pipelines on clouds.

``pdal.Pipeline.arrays`` hands out numpy structured arrays, one field per PDAL
dimension (``X``, ``Y``, ``Z`` float64, ``Intensity`` uint16, ``Classification``
uint8, ``ScanAngleRank`` float32 degrees, ``GpsTime`` float64...). pcrs names
its attributes as laspy does (``intensity``, ``classification``, ``scan_angle``,
``gps_time``...). :func:`to_pdal` and :func:`from_pdal` translate one into the
other with PDAL's types on PDAL's side and pcrs's (laspy's) types on pcrs's, so
``from_pdal(to_pdal(cloud), crs=cloud.crs, layout=cloud.layout)`` gives the
cloud back, value for value and type for type. Dimensions neither side knows
(extra bytes, PDAL's ``HeightAboveGround``...) keep their names and types.

Two dimensions are not a plain renaming:

- the scan angle: PDAL holds degrees as float32 (``ScanAngleRank``); LAS 1.4
  formats (6-10) store 0.006 degree steps (pcrs ``scan_angle``, int16), older
  formats whole degrees (``scan_angle_rank``, int8). Going back, the cloud's
  point format (``layout``; format 6 by default) says which one, converted
  exactly (``round(degrees / 0.006)``);
- the classification flags: a ``ClassFlags`` dimension (the four bits together)
  is split into ``synthetic``, ``key_point``, ``withheld``, ``overlap`` when these
  are not given one by one.

:func:`run_pdal` runs a PDAL pipeline (JSON text, a dict or list, or the path of
a ``.json`` file) on a cloud, when PDAL's Python package ``pdal`` is installed
(``pip install 'pcrs[pdal]'``, which needs the PDAL library). The array is fed
as the pipeline's input (``pdal.Pipeline(json, arrays=[...])``), so the
pipeline starts with filters, not a reader.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pyproj import CRS

from ..errors import MissingExtraError, ParameterError, PcrsError
from ..points import SCAN_ANGLE_STEP, LasLayout, PointCloud

__all__ = [
    "PCRS_TO_PDAL",
    "PDAL_TO_PCRS",
    "PDAL_TYPES",
    "PdalError",
    "classify_pdal_tile",
    "from_pdal",
    "load_pipeline",
    "pdal_tile",
    "pipeline_hash",
    "run_pdal",
    "to_pdal",
]

#: pcrs (laspy) attribute name -> PDAL dimension name
PCRS_TO_PDAL: dict[str, str] = {
    "intensity": "Intensity",
    "return_number": "ReturnNumber",
    "number_of_returns": "NumberOfReturns",
    "scan_direction_flag": "ScanDirectionFlag",
    "edge_of_flight_line": "EdgeOfFlightLine",
    "classification": "Classification",
    "synthetic": "Synthetic",
    "key_point": "KeyPoint",
    "withheld": "Withheld",
    "overlap": "Overlap",
    "scanner_channel": "ScanChannel",
    "user_data": "UserData",
    "point_source_id": "PointSourceId",
    "gps_time": "GpsTime",
    "red": "Red",
    "green": "Green",
    "blue": "Blue",
    "nir": "Infrared",
    "hag": "HeightAboveGround",
    "normal_x": "NormalX",
    "normal_y": "NormalY",
    "normal_z": "NormalZ",
}

#: PDAL dimension name -> pcrs attribute name (the scan angle is handled apart)
PDAL_TO_PCRS: dict[str, str] = {v: k for k, v in PCRS_TO_PDAL.items()}

#: the types PDAL gives its standard dimensions (``pdal::Dimension::defaultType``)
PDAL_TYPES: dict[str, np.dtype] = {
    name: np.dtype(t)
    for name, t in {
        "X": "f8", "Y": "f8", "Z": "f8",
        "Intensity": "u2", "ReturnNumber": "u1", "NumberOfReturns": "u1",
        "ScanDirectionFlag": "u1", "EdgeOfFlightLine": "u1", "Classification": "u1",
        "ScanAngleRank": "f4", "UserData": "u1", "PointSourceId": "u2", "GpsTime": "f8",
        "Red": "u2", "Green": "u2", "Blue": "u2", "Infrared": "u2", "ScanChannel": "u1",
        "ClassFlags": "u1", "Synthetic": "u1", "KeyPoint": "u1", "Withheld": "u1",
        "Overlap": "u1", "HeightAboveGround": "f8",
        "NormalX": "f8", "NormalY": "f8", "NormalZ": "f8",
    }.items()
}  # fmt: skip

#: pcrs's (laspy's) types of the attributes PDAL names otherwise
_PCRS_TYPES: dict[str, np.dtype] = {
    name: np.dtype(t)
    for name, t in {
        "intensity": "u2", "return_number": "u1", "number_of_returns": "u1",
        "scan_direction_flag": "u1", "edge_of_flight_line": "u1", "classification": "u1",
        "synthetic": "u1", "key_point": "u1", "withheld": "u1", "overlap": "u1",
        "scanner_channel": "u1", "user_data": "u1", "point_source_id": "u2", "gps_time": "f8",
        "red": "u2", "green": "u2", "blue": "u2", "nir": "u2",
        "scan_angle": "i2", "scan_angle_rank": "i1",
    }.items()
}  # fmt: skip

_FLAG_BITS = (("synthetic", 0), ("key_point", 1), ("withheld", 2), ("overlap", 3))

#: the attribute that numbers the points sent through a pipeline, to map its output back
INDEX_DIM = "PcrsPointIndex"


class PdalError(PcrsError, RuntimeError):
    """A PDAL pipeline failed, or its text is not a pipeline."""


# --- conversions -----------------------------------------------------------------------


def to_pdal(cloud: PointCloud) -> np.ndarray:
    """The cloud as a numpy structured array with PDAL's dimension names and types.

    Parameters
    ----------
    cloud : PointCloud

    Returns
    -------
    numpy.ndarray
        One record per point: ``X``, ``Y``, ``Z`` (float64), then one field per
        attribute, in the cloud's order, named and typed as PDAL names them
        (``scan_angle``/``scan_angle_rank`` become ``ScanAngleRank``, float32
        degrees); other attributes keep their names and types (booleans become
        uint8, as PDAL has no boolean type).

    Examples
    --------
    >>> import numpy as np
    >>> from pcrs import PointCloud
    >>> pc = PointCloud(np.zeros(2), np.zeros(2), np.ones(2),
    ...                 {"classification": np.array([2, 6], np.uint8)})
    >>> to_pdal(pc).dtype.names
    ('X', 'Y', 'Z', 'Classification')
    """
    fields: list[tuple[str, np.ndarray]] = [("X", cloud.x), ("Y", cloud.y), ("Z", cloud.z)]
    taken = {"X", "Y", "Z"}
    for name, values in cloud.attributes.items():
        if name in ("scan_angle", "scan_angle_rank"):
            if "ScanAngleRank" in taken:
                continue  # both given (a joined cloud): the first one wins
            step = SCAN_ANGLE_STEP if name == "scan_angle" else 1.0
            pdal_name = "ScanAngleRank"
            arr = (values.astype(np.float64) * step).astype(np.float32)
        else:
            pdal_name = PCRS_TO_PDAL.get(name, name)
            if pdal_name in taken or (pdal_name in cloud.attributes and pdal_name != name):
                pdal_name = name  # a clash (both 'hag' and 'HeightAboveGround'): keep as is
            arr = np.asarray(values)
            if arr.dtype == bool:
                arr = arr.astype(np.uint8)
            elif pdal_name in PDAL_TYPES and name in _PCRS_TYPES:  # LAS dimensions only
                arr = arr.astype(PDAL_TYPES[pdal_name], copy=False)
        if arr.dtype.kind not in "uif" or arr.dtype.itemsize > 8:
            raise ParameterError(
                f"attribute {name!r} has type {arr.dtype}, which PDAL cannot hold; "
                "convert it to an integer or float type"
            )
        taken.add(pdal_name)
        fields.append((pdal_name, arr))
    out = np.empty(len(cloud), dtype=[(n, a.dtype, a.shape[1:]) for n, a in fields])
    for n, a in fields:
        out[n] = a
    return out


def from_pdal(
    array: np.ndarray,
    crs: Any = None,
    *,
    layout: LasLayout | None = None,
) -> PointCloud:
    """A :class:`PointCloud` from a structured array of ``pdal.Pipeline.arrays``.

    Parameters
    ----------
    array : numpy.ndarray
        A structured array with at least ``X``, ``Y``, ``Z`` fields.
    crs : pyproj.CRS or str, optional
        The points' CRS (a PDAL array carries none; ``Pipeline.srswkt2`` has it).
    layout : LasLayout, optional
        The LAS layout to write the points with; its point format says whether
        ``ScanAngleRank`` becomes ``scan_angle`` (formats 6-10, the default) or
        ``scan_angle_rank`` (formats 0-5).

    Returns
    -------
    PointCloud
        Known dimensions under pcrs's names and types, the others under their own.

    Raises
    ------
    ParameterError
        The array is not structured or lacks a coordinate.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros(2, dtype=[("X", "f8"), ("Y", "f8"), ("Z", "f8"), ("Intensity", "u2")])
    >>> from_pdal(a).names
    ['x', 'y', 'z', 'intensity']
    """
    array = np.asarray(array)
    names = array.dtype.names
    if names is None or any(c not in names for c in "XYZ"):
        raise ParameterError(
            f"a PDAL array is a structured array with X, Y and Z fields; got dtype {array.dtype}"
        )
    array = array.reshape(-1)
    layout = layout if layout is not None else LasLayout()
    attrs: dict[str, np.ndarray] = {}
    for name in names:
        if name in ("X", "Y", "Z") or name == "ClassFlags":
            continue
        values = array[name]
        if name == "ScanAngleRank":
            degrees = values.astype(np.float64)
            if layout.point_format >= 6:
                attrs["scan_angle"] = np.round(degrees / SCAN_ANGLE_STEP).astype(np.int16)
            else:
                attrs["scan_angle_rank"] = np.round(degrees).astype(np.int8)
            continue
        pcrs_name = PDAL_TO_PCRS.get(name, name)
        if pcrs_name in attrs or (pcrs_name != name and pcrs_name in names):
            pcrs_name = name  # a clash: keep the PDAL name
        dtype = _PCRS_TYPES.get(pcrs_name)
        attrs[pcrs_name] = np.array(values, dtype=dtype if dtype is not None else values.dtype)
    if "ClassFlags" in names:
        flags = array["ClassFlags"].astype(np.uint8)
        for flag, bit in _FLAG_BITS:
            if flag not in attrs:
                attrs[flag] = ((flags >> bit) & 1).astype(np.uint8)
    return PointCloud(array["X"], array["Y"], array["Z"], attrs, _as_crs(crs), layout)


def _as_crs(crs: Any) -> CRS | None:
    if crs is None or isinstance(crs, CRS):
        return crs
    from ..io.crs import parse_crs

    return parse_crs(crs)


# --- pipelines -------------------------------------------------------------------------


def load_pipeline(pipeline: str | os.PathLike | Mapping | Sequence) -> str:
    """A pipeline's JSON text from a path, JSON text, a dict (``{"pipeline": [...]}``) or a
    list of stages.

    Raises
    ------
    PdalError
        The text is not JSON, or not a PDAL pipeline (a list of stages, or an object
        with a ``pipeline`` list).
    """
    if not isinstance(pipeline, str | os.PathLike):
        text = json.dumps(pipeline)
        where = "the pipeline"
    else:
        raw = os.fspath(pipeline)
        stripped = raw.lstrip()
        if stripped.startswith(("{", "[")):
            text, where = raw, "the pipeline text"
        else:
            path = Path(raw)
            try:
                text = path.read_text(encoding="utf-8")
            except FileNotFoundError:
                raise PdalError(
                    f"{raw}: no such pipeline file; give the path of a PDAL pipeline "
                    "(.json) or its JSON text"
                ) from None
            where = str(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PdalError(f"{where}: not JSON ({exc}); a PDAL pipeline is a JSON list") from None
    stages = data.get("pipeline") if isinstance(data, dict) else data
    if not isinstance(stages, list):
        raise PdalError(
            f'{where}: not a PDAL pipeline; give a JSON list of stages or {{"pipeline": [...]}}'
        )
    return text


def pipeline_hash(pipeline: str | os.PathLike | Mapping | Sequence) -> str:
    """SHA-256 of a pipeline's JSON, whitespace and key order aside (manifest keys)."""
    data = json.loads(load_pipeline(pipeline))
    canon = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode()).hexdigest()


def _import_pdal() -> Any:
    try:
        import pdal
    except ModuleNotFoundError as exc:
        raise MissingExtraError(
            "running a PDAL pipeline needs PDAL's Python package 'pdal'; install it with: "
            "pip install 'pcrs[pdal]' (it needs the PDAL library, e.g. conda install pdal)"
        ) from exc
    except ImportError as exc:  # the package is there, the PDAL library is not found
        raise MissingExtraError(
            f"PDAL's Python package 'pdal' is installed but cannot load the PDAL library "
            f"({exc}); put PDAL's lib folder on LD_LIBRARY_PATH or reinstall 'pcrs[pdal]'"
        ) from exc
    return pdal


def run_pdal(
    pipeline: str | os.PathLike | Mapping | Sequence,
    cloud: PointCloud,
) -> PointCloud:
    """Run a PDAL pipeline on a cloud and return its output as a :class:`PointCloud`.

    Parameters
    ----------
    pipeline : str, path, dict or list
        The pipeline: JSON text, the path of a ``.json`` file, a dict or a list
        of stages. It starts with filters (the cloud is its input); a writer at
        the end writes too.
    cloud : PointCloud

    Returns
    -------
    PointCloud
        The points the pipeline gives back (all its views joined), with their
        dimensions under pcrs's names, the pipeline's CRS when it sets one (a
        reprojection) or the cloud's, and the cloud's layout.

    Raises
    ------
    MissingExtraError
        PDAL's Python package is not installed.
    PdalError
        The pipeline is not one, or PDAL failed (its message follows).

    Examples
    --------
    >>> out = run_pdal('[{"type": "filters.range", "limits": "Classification[2:2]"}]',
    ...                cloud)  # doctest: +SKIP
    """
    text = load_pipeline(pipeline)
    pdal = _import_pdal()
    try:
        pipe = pdal.Pipeline(text, arrays=[to_pdal(cloud)])
        pipe.execute()
        arrays = list(pipe.arrays)
        srs = getattr(pipe, "srswkt2", "") or ""
    except RuntimeError as exc:
        raise PdalError(f"PDAL: {exc}") from exc
    crs = CRS.from_wkt(srs) if srs.strip() else cloud.crs
    if not arrays:
        return from_pdal(to_pdal(cloud)[:0], crs, layout=cloud.layout)
    array = arrays[0] if len(arrays) == 1 else np.concatenate(arrays)
    return from_pdal(array, crs, layout=cloud.layout)


def pdal_tile(
    cloud: PointCloud,
    ctx: Any = None,
    *,
    pipeline: str,
) -> PointCloud:
    """Tile function for :func:`pcrs.tiling.engine.run`: a PDAL pipeline on tile + buffer.

    The points the pipeline gives back keep every attribute they came with,
    exactly (types and LAS layout included), and take the pipeline's
    ``classification`` and the dimensions it added; points it drops are dropped.
    Use it through :func:`functools.partial` with ``pipeline`` as JSON text.
    """
    tagged = PointCloud(
        cloud.x, cloud.y, cloud.z,
        {**cloud.attributes, INDEX_DIM: np.arange(len(cloud), dtype=np.uint64)},
        cloud.crs, cloud.layout,
    )  # fmt: skip
    result = run_pdal(pipeline, tagged)
    if INDEX_DIM not in result.attributes:
        raise PdalError(
            f"the pipeline dropped the {INDEX_DIM!r} dimension pcrs added to map its points "
            "back; keep it (filters.ferry or writers may drop dimensions)"
        )
    index = result.attributes[INDEX_DIM].astype(np.int64)
    out = cloud.subset(index)
    if "classification" in result.attributes:
        out["classification"] = result["classification"].astype(
            cloud.classification.dtype if "classification" in cloud.attributes else np.uint8
        )
    for name, values in result.attributes.items():
        if name != INDEX_DIM and name not in cloud.attributes and name not in _SCAN_NAMES:
            out[name] = values
    return out


_SCAN_NAMES = ("scan_angle", "scan_angle_rank")


def classify_pdal_tile(
    cloud: PointCloud,
    ctx: Any = None,
    *,
    pipeline: str,
    steps: Sequence[str] = (),
    ground: str = "smrf",
    codes: str = "ign",
    params: Mapping[str, Any] | None = None,
) -> PointCloud:
    """Tile function of ``pcrs classify --pdal``: pcrs's ``steps`` (when any), then the
    PDAL ``pipeline`` (:func:`pdal_tile`), on the tile and its buffer."""
    if steps:
        from ..classify.pipeline import classify_tile

        cloud = classify_tile(cloud, ctx, steps=steps, ground=ground, codes=codes, params=params)
    return pdal_tile(cloud, ctx, pipeline=pipeline)
