"""Vegetation: IGN height bands (3 / 4 / 5) for above-ground points that look like vegetation.

IGN LiDAR HD splits vegetation by height above ground: low (3) below 0.5 m,
medium (4) from 0.5 to 1.5 m, high (5) above 1.5 m. A point is vegetation when
it stands above the ground, has not been taken by a stricter class (building,
bridge, water, lasting structure — :func:`pcrs.classify.scene.classify_scene`
runs those first) and *looks like vegetation*:

- **scattered geometry**: its neighbourhood does not lie on a plane — the
  standard deviation of the distances to the best-fit plane, ``sqrt(λ3)``, is at
  least ``roughness`` (5 cm by default, about twice the ranging noise of LiDAR HD),
  or its neighbourhood is volumetric (``sphericity ≥ min_sphericity``);
- or **multiple returns** with a non-planar neighbourhood at half that roughness:
  a pulse that splits inside a crown.

More broadly, every free point above the ground is vegetation except smooth
single-return surfaces (``sqrt(λ3) < smooth_factor × roughness``) 0.5 m or more
above the ground — cars, fences, street furniture, awnings — which stay
unclassified (1), like in lasclassify and in IGN's tiles. Points under 0.5 m
that the ground filter left out are low vegetation (3) whatever their
geometry: that is what IGN's tiles hold there (grass, low bushes; in the IGN
extracts of the shared data, 3 outnumbers 1 about five to one under 0.5 m).
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError
from .codes import ClassCodes
from .codes import codes as _codes
from .features import Features

__all__ = [
    "VEGETATION_DEFAULTS",
    "VEGETATION_HEIGHTS",
    "classify_vegetation",
    "looks_like_vegetation",
    "vegetation_classes",
]

#: IGN LiDAR HD height bands (m above ground): low < 0.5 ≤ medium < 1.5 ≤ high.
VEGETATION_HEIGHTS = (0.5, 1.5)

#: Defaults of :func:`classify_vegetation` (documented in ``docs/classification.md``).
VEGETATION_DEFAULTS = {
    "roughness": 0.05,
    "min_sphericity": 0.05,
    "min_height": 0.0,
    "max_height": 60.0,
    "smooth_factor": 0.5,
}


def vegetation_classes(
    hag: np.ndarray,
    codes: str | ClassCodes = "ign",
    heights: tuple[float, float] = VEGETATION_HEIGHTS,
) -> np.ndarray:
    """Low / medium / high vegetation codes from the height above ground.

    Parameters
    ----------
    hag : ndarray
        Height above ground (m).
    codes : str or ClassCodes
        Code scheme (``"ign"`` or ``"asprs"``: both use 3 / 4 / 5).
    heights : (float, float)
        Upper bounds of the low and medium bands.

    Returns
    -------
    ndarray of uint8

    Examples
    --------
    >>> vegetation_classes(np.array([0.2, 1.0, 7.0])).tolist()
    [3, 4, 5]
    """
    cc = _codes(codes)
    lo, mid = (float(h) for h in heights)
    if not 0 < lo < mid:
        raise ParameterError(f"vegetation heights must satisfy 0 < low < medium, got {heights!r}")
    hag = np.asarray(hag, dtype=np.float64)
    return np.where(
        hag < lo,
        cc.low_vegetation,
        np.where(hag < mid, cc.medium_vegetation, cc.high_vegetation),
    ).astype(np.uint8)


def looks_like_vegetation(
    features: Features,
    number_of_returns: np.ndarray | None = None,
    *,
    roughness: float = VEGETATION_DEFAULTS["roughness"],
    min_sphericity: float = VEGETATION_DEFAULTS["min_sphericity"],
) -> np.ndarray:
    """Whether each point's neighbourhood is scattered the way vegetation is.

    Parameters
    ----------
    features : Features
        From :func:`pcrs.classify.features.local_features`.
    number_of_returns : ndarray, optional
        Returns of each point's pulse; multiple returns lower the roughness
        needed by half.
    roughness : float
        Plane-fit residual (m, ``sqrt(λ3)``) from which a neighbourhood is scattered.
    min_sphericity : float
        ``λ3 / λ1`` from which a neighbourhood is volumetric.

    Returns
    -------
    ndarray of bool
        False where the features are undefined (isolated points).
    """
    res = np.sqrt(np.nan_to_num(features.eigenvalues[:, 2], nan=0.0))
    sph = np.nan_to_num(features.sphericity, nan=0.0)
    veg = (res >= roughness) | (sph >= min_sphericity)
    if number_of_returns is not None:
        multi = np.asarray(number_of_returns) > 1
        veg |= multi & (res >= 0.5 * roughness)
    return veg


def classify_vegetation(
    hag: np.ndarray,
    features: Features,
    candidates: np.ndarray | None = None,
    number_of_returns: np.ndarray | None = None,
    *,
    codes: str | ClassCodes = "ign",
    roughness: float = VEGETATION_DEFAULTS["roughness"],
    min_sphericity: float = VEGETATION_DEFAULTS["min_sphericity"],
    min_height: float = VEGETATION_DEFAULTS["min_height"],
    max_height: float = VEGETATION_DEFAULTS["max_height"],
    smooth_factor: float = VEGETATION_DEFAULTS["smooth_factor"],
    heights: tuple[float, float] = VEGETATION_HEIGHTS,
) -> np.ndarray:
    """Vegetation codes (3 / 4 / 5) for the points that look like vegetation, 0 elsewhere.

    Parameters
    ----------
    hag : ndarray, shape (n,)
        Height above ground of the points that ``features`` describes.
    features : Features
        Neighbourhood features of the same ``n`` points.
    candidates : ndarray of bool, optional
        Points still free to become vegetation (not ground, building, water...);
        default all.
    number_of_returns : ndarray, optional
    codes : str or ClassCodes
    roughness, min_sphericity : float
        See :func:`looks_like_vegetation`.
    min_height, max_height : float
        Height-above-ground range of vegetation (m); points outside stay 0.
    heights : (float, float)
        IGN band limits, see :func:`vegetation_classes`.

    Returns
    -------
    ndarray of uint8
        The vegetation code of each point, 0 where it is not vegetation.

    Examples
    --------
    >>> from pcrs.classify.features import local_features
    >>> rng = np.random.default_rng(1)
    >>> crown = rng.normal(0, 1.5, (400, 3)) + [0, 0, 8]
    >>> f = local_features(crown, k=10)
    >>> out = classify_vegetation(crown[:, 2], f)
    >>> bool((out == 5).mean() > 0.9)
    True
    """
    hag = np.asarray(hag, dtype=np.float64)
    n = hag.shape[0]
    if len(features) != n:
        raise ParameterError(f"features describe {len(features)} points, hag has {n}")
    if not min_height < max_height:
        raise ParameterError(
            f"min_height must be below max_height, got {min_height!r} and {max_height!r}"
        )
    cand = np.ones(n, bool) if candidates is None else np.asarray(candidates, bool)
    veg = looks_like_vegetation(
        features, number_of_returns, roughness=roughness, min_sphericity=min_sphericity
    )
    # smooth single-return surfaces (cars, fences, street furniture) are not vegetation,
    # except under the low-vegetation limit
    res = np.sqrt(np.nan_to_num(features.eigenvalues[:, 2], nan=np.inf))
    single = np.ones(n, bool) if number_of_returns is None else np.asarray(number_of_returns) <= 1
    smooth = single & (res < smooth_factor * roughness)
    take = cand & (veg | ~smooth | (hag < heights[0])) & (hag >= min_height) & (hag <= max_height)
    out = np.zeros(n, np.uint8)
    out[take] = vegetation_classes(hag[take], codes, heights)
    return out
