"""Pictures computed from data: a classified profile of a point cloud.

Compute only: functions return ``(bands, height, width)`` uint8 arrays that
:func:`pcrs.io.raster.write_png` writes.
"""

from __future__ import annotations

import numpy as np

from .errors import ParameterError
from .points import PointCloud

__all__ = ["CLASS_COLOURS", "class_profile_image"]

#: RGB colour per class code (IGN/ASPRS), close to the usual viewer palettes
CLASS_COLOURS: dict[int, tuple[int, int, int]] = {
    1: (170, 170, 170),
    2: (166, 116, 56),
    3: (178, 223, 138),
    4: (94, 180, 64),
    5: (26, 110, 36),
    6: (220, 40, 40),
    7: (255, 0, 255),
    9: (40, 110, 230),
    17: (250, 190, 20),
    64: (130, 60, 200),
    65: (255, 0, 255),
    66: (0, 220, 220),
    67: (240, 120, 160),
}


def class_profile_image(
    cloud: PointCloud,
    y: float,
    *,
    half_width: float = 1.0,
    pixel: float = 0.25,
    skip_classes: tuple[int, ...] = (7, 18, 65),
) -> np.ndarray:
    """A side view (x across, z up) of the points within ``half_width`` of the line ``y``.

    Each pixel takes the colour of the class of its nearest point to the
    viewer; empty pixels are transparent.

    Parameters
    ----------
    cloud : PointCloud
        Needs a ``classification`` attribute.
    y : float
        Northing of the profile line (runs west to east).
    half_width : float
        Half the thickness of the slice, metres.
    pixel : float
        Pixel size, metres.
    skip_classes : tuple of int
        Classes left out of the picture (noise, whose far-off points would
        stretch the height of the image).

    Returns
    -------
    ndarray
        ``(4, height, width)`` uint8 RGBA.
    """
    if not pixel > 0 or not half_width > 0:
        raise ParameterError(
            f"pixel and half_width must be positive, got {pixel!r}, {half_width!r}"
        )
    sel = (np.abs(cloud.y - y) <= half_width) & ~np.isin(cloud.classification, skip_classes)
    if not sel.any():
        raise ParameterError(f"no point within {half_width} m of y = {y}")
    x, z, d = cloud.x[sel], cloud.z[sel], cloud.y[sel] - y
    cls = cloud.classification[sel].astype(np.intp)
    col = ((x - x.min()) / pixel).astype(np.intp)
    row = ((z.max() - z) / pixel).astype(np.intp)
    width, height = int(col.max()) + 1, int(row.max()) + 1
    # the point nearest the viewer (smallest y offset) wins: paint far points first
    order = np.argsort(-d, kind="stable")
    palette = np.full((256, 3), 120, np.uint8)
    for code, rgb in CLASS_COLOURS.items():
        palette[code] = rgb
    image = np.zeros((4, height, width), np.uint8)
    image[:3, row[order], col[order]] = palette[cls[order]].T
    image[3, row, col] = 255
    return image
