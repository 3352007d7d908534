"""Raster files: Cloud-Optimised GeoTIFF, VRT mosaics and PNG quick looks (rasterio).

:class:`COGProfile` holds every creation option in one place (tiling 512,
DEFLATE with the predictor that fits the data type, internal overviews, nodata,
BigTIFF when needed). Outputs are written atomically: under a temporary name in
the target folder, renamed when complete.

Examples
--------
>>> import numpy as np, tempfile, pathlib
>>> from pcrs.raster import Raster, RasterGrid
>>> r = Raster(np.ones((4, 4)), RasterGrid(0.0, 4.0, 1.0, 4, 4), None, "dtm")
>>> p = write_raster(r, pathlib.Path(tempfile.mkdtemp()) / "one.tif")
>>> float(read_raster(p).data.mean())
1.0
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from ..errors import CorruptFileError, ParameterError, PcrsIOError
from ..raster.grid import RasterGrid
from ..raster.products import Raster
from .atomic import atomic_path

__all__ = [
    "DEFAULT_PROFILE",
    "COGProfile",
    "RasterInfo",
    "raster_info",
    "read_raster",
    "write_png",
    "write_raster",
    "write_vrt",
]


@dataclass(frozen=True)
class COGProfile:
    """Creation options of the Cloud-Optimised GeoTIFFs pcrs writes.

    Attributes
    ----------
    dtype : str
        Stored data type (``"float32"`` keeps 0.1 mm at 1000 m).
    nodata : float
        Value of empty pixels (IGN's MNx use -9999).
    blocksize : int
        Internal tile size, pixels.
    compress : str
        GDAL compression (``"DEFLATE"``, ``"LZW"``, ``"ZSTD"``...).
    level : int
        Compression level.
    predictor : int or None
        None: 3 (floating point) for float types, 2 (horizontal) for integers.
    overviews : str
        ``"AUTO"`` (GDAL builds overviews until they fit in one block) or ``"NONE"``.
    resampling : str
        Overview resampling.
    bigtiff : str
        ``"IF_SAFER"``, ``"YES"`` or ``"NO"``.
    """

    dtype: str = "float32"
    nodata: float = -9999.0
    blocksize: int = 512
    compress: str = "DEFLATE"
    level: int = 6
    predictor: int | None = None
    overviews: str = "AUTO"
    resampling: str = "AVERAGE"
    bigtiff: str = "IF_SAFER"

    def creation_options(self) -> dict[str, str]:
        """GDAL COG driver options."""
        predictor = self.predictor
        if predictor is None:
            predictor = 3 if np.dtype(self.dtype).kind == "f" else 2
        opts = {
            "BLOCKSIZE": str(self.blocksize),
            "COMPRESS": self.compress,
            "PREDICTOR": str(predictor),
            "OVERVIEWS": self.overviews,
            "OVERVIEW_RESAMPLING": self.resampling,
            "BIGTIFF": self.bigtiff,
        }
        if self.compress.upper() in ("DEFLATE", "ZSTD", "LZMA"):
            opts["LEVEL"] = str(self.level)
        return opts

    def with_(self, **changes) -> COGProfile:
        """A copy with some options changed."""
        return replace(self, **changes)


#: what :func:`write_raster` uses unless told otherwise
DEFAULT_PROFILE = COGProfile()


def _rio_crs(crs):
    if crs is None:
        return None
    import rasterio.crs

    return rasterio.crs.CRS.from_wkt(crs.to_wkt())


def write_raster(
    raster: Raster,
    path: str | os.PathLike,
    *,
    profile: COGProfile = DEFAULT_PROFILE,
    overwrite: bool = False,
) -> Path:
    """Write a :class:`~pcrs.raster.products.Raster` as a Cloud-Optimised GeoTIFF.

    NaN becomes ``profile.nodata``. The product name and units are stored as
    metadata, each band gets its description.

    Returns
    -------
    Path
    """
    import rasterio

    path = Path(path)
    bands = raster.bands
    nb, h, w = bands.shape
    if h == 0 or w == 0:
        raise ParameterError(f"{path}: cannot write an empty raster ({h} x {w} pixels)")
    dtype = np.dtype(profile.dtype)
    data = np.where(np.isnan(bands), profile.nodata, bands)
    if dtype.kind != "f":
        info = np.iinfo(dtype)
        data = np.clip(np.rint(data), info.min, info.max)
    data = data.astype(dtype)
    meta = dict(
        driver="COG", width=w, height=h, count=nb, dtype=dtype.name,
        crs=_rio_crs(raster.crs), transform=raster.grid.transform, nodata=profile.nodata,
        **profile.creation_options(),
    )  # fmt: skip
    try:
        with atomic_path(path, overwrite) as tmp, rasterio.open(tmp, "w", **meta) as dst:
            dst.write(data)
            for i, name in enumerate(raster.band_names[:nb], start=1):
                dst.set_band_description(i, name)
                if raster.units:
                    dst.set_band_unit(i, raster.units)
            dst.update_tags(PRODUCT=raster.product or "", SOFTWARE="pcrs")
    except rasterio.errors.RasterioIOError as exc:
        raise PcrsIOError(f"{path}: cannot write the GeoTIFF ({exc})") from exc
    return path


@dataclass(frozen=True)
class RasterInfo:
    """Header facts of a raster file (no pixel read)."""

    path: Path
    grid: RasterGrid
    count: int
    dtype: str
    nodata: float | None
    crs_wkt: str | None


def raster_info(path: str | os.PathLike) -> RasterInfo:
    """Read the header of a raster file."""
    import rasterio

    path = Path(path)
    try:
        with rasterio.open(path) as src:
            return RasterInfo(
                path,
                RasterGrid.from_transform(src.transform, src.width, src.height),
                src.count,
                src.dtypes[0],
                src.nodata,
                src.crs.to_wkt() if src.crs else None,
            )
    except rasterio.errors.RasterioIOError as exc:
        raise CorruptFileError(f"{path}: not a readable raster ({exc})") from exc


def read_raster(path: str | os.PathLike) -> Raster:
    """Read a raster file into a :class:`~pcrs.raster.products.Raster` (float64, NaN for nodata)."""
    import rasterio
    from pyproj import CRS

    path = Path(path)
    try:
        with rasterio.open(path) as src:
            data = src.read().astype(np.float64)
            if src.nodata is not None:
                data[data == src.nodata] = np.nan
            grid = RasterGrid.from_transform(src.transform, src.width, src.height)
            crs = CRS.from_wkt(src.crs.to_wkt()) if src.crs else None
            names = [d or "" for d in src.descriptions]
            product = src.tags().get("PRODUCT", "")
            units = (src.units or ("",))[0] or ""
    except rasterio.errors.RasterioIOError as exc:
        raise CorruptFileError(f"{path}: not a readable raster ({exc})") from exc
    return Raster(data[0] if data.shape[0] == 1 else data, grid, crs, product, names, units)


_GDAL_TYPES = {
    "uint8": "Byte", "int16": "Int16", "uint16": "UInt16", "int32": "Int32",
    "uint32": "UInt32", "float32": "Float32", "float64": "Float64",
}  # fmt: skip


def write_vrt(
    tiles: Sequence[str | os.PathLike],
    path: str | os.PathLike,
    *,
    overwrite: bool = False,
) -> Path:
    """Write a VRT mosaic of aligned rasters (like ``gdalbuildvrt``), with relative paths.

    All tiles must share resolution, band count, data type, CRS and pixel
    edges (which every pcrs raster of one resolution does).

    Returns
    -------
    Path
    """
    path = Path(path)
    if not tiles:
        raise ParameterError(f"{path}: no raster to put in the mosaic")
    infos = [raster_info(t) for t in tiles]
    first = infos[0]
    grid = first.grid
    for inf in infos[1:]:
        if (inf.count, inf.dtype, inf.nodata) != (first.count, first.dtype, first.nodata):
            raise ParameterError(
                f"{inf.path}: {inf.count} band(s) of {inf.dtype} (nodata {inf.nodata}) while "
                f"{first.path} has {first.count} of {first.dtype} (nodata {first.nodata}); "
                "a mosaic needs identical rasters"
            )
        if inf.crs_wkt != first.crs_wkt:
            raise ParameterError(f"{inf.path}: CRS differs from {first.path}'s")
        grid = grid.union(inf.grid)  # raises if not aligned
    gtype = _GDAL_TYPES.get(first.dtype)
    if gtype is None:
        raise ParameterError(f"{first.path}: data type {first.dtype} not supported in a VRT")
    gt = grid.transform
    lines = [f'<VRTDataset rasterXSize="{grid.width}" rasterYSize="{grid.height}">']
    if first.crs_wkt:
        lines.append(f"  <SRS>{escape(first.crs_wkt)}</SRS>")
    lines.append(f"  <GeoTransform>{gt.c!r}, {gt.a!r}, 0.0, {gt.f!r}, 0.0, {gt.e!r}</GeoTransform>")
    folder = path.parent.resolve()
    nodata = first.nodata
    for band in range(1, first.count + 1):
        lines.append(f'  <VRTRasterBand dataType="{gtype}" band="{band}">')
        if nodata is not None:
            lines.append(f"    <NoDataValue>{nodata!r}</NoDataValue>")
        for inf in infos:
            r, c = inf.grid.offset_in(grid)
            try:
                src = os.path.relpath(inf.path.resolve(), folder)
                rel = 1
            except ValueError:  # another drive on Windows
                src, rel = str(inf.path.resolve()), 0
            g = inf.grid
            lines += [
                "    <ComplexSource>",
                f'      <SourceFilename relativeToVRT="{rel}">{escape(Path(src).as_posix())}</SourceFilename>',
                f"      <SourceBand>{band}</SourceBand>",
                f'      <SourceProperties RasterXSize="{g.width}" RasterYSize="{g.height}" '
                f'DataType="{gtype}" BlockXSize="{min(g.width, 512)}" BlockYSize="{min(g.height, 512)}"/>',
                f'      <SrcRect xOff="0" yOff="0" xSize="{g.width}" ySize="{g.height}"/>',
                f'      <DstRect xOff="{c}" yOff="{r}" xSize="{g.width}" ySize="{g.height}"/>',
            ]
            if nodata is not None:
                lines.append(f"      <NODATA>{nodata!r}</NODATA>")
            lines.append("    </ComplexSource>")
        lines.append("  </VRTRasterBand>")
    lines.append("</VRTDataset>")
    with atomic_path(path, overwrite) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_png(image: np.ndarray, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Write a quick-look PNG from a ``(bands, height, width)`` uint8 array (1-4 bands).

    Use :func:`pcrs.raster.products.quicklook` to make the image of a product.
    """
    import rasterio

    path = Path(path)
    img = np.asarray(image)
    if img.ndim == 2:
        img = img[None]
    if img.dtype != np.uint8 or not 1 <= img.shape[0] <= 4:
        raise ParameterError(
            f"{path}: a PNG needs 1 to 4 bands of uint8, got {img.shape} {img.dtype}"
        )
    with atomic_path(path, overwrite) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with rasterio.open(
            tmp, "w", driver="PNG", width=img.shape[2], height=img.shape[1],
            count=img.shape[0], dtype="uint8",
        ) as dst:  # fmt: skip
            dst.write(img)
        for aux in tmp.parent.glob(tmp.name + ".aux.xml"):
            aux.unlink()
    return path
