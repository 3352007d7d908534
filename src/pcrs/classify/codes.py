"""Classification codes: ASPRS (LAS 1.4 R15) and IGN LiDAR HD.

IGN LiDAR HD uses the ASPRS codes 1-17 it needs plus user-defined codes
64-67. ``ign`` and ``asprs`` differ only where ASPRS has no code of its own:
noise is 7 (ASPRS low point) or 65 (IGN artefact), lasting above-ground
structures 64 (IGN) or 1 (ASPRS has none; "unclassified").
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ParameterError

__all__ = ["ASPRS_NAMES", "CODE_SCHEMES", "IGN_NAMES", "ClassCodes", "codes"]

NEVER_CLASSIFIED = 0
UNCLASSIFIED = 1
GROUND = 2
LOW_VEGETATION = 3
MEDIUM_VEGETATION = 4
HIGH_VEGETATION = 5
BUILDING = 6
LOW_POINT = 7
WATER = 9
HIGH_NOISE = 18
BRIDGE_DECK = 17
IGN_LASTING_ABOVE_GROUND = 64
IGN_NOISE = 65
IGN_VIRTUAL = 66
IGN_MISC_BUILT = 67

ASPRS_NAMES = {
    0: "created, never classified",
    1: "unclassified",
    2: "ground",
    3: "low vegetation",
    4: "medium vegetation",
    5: "high vegetation",
    6: "building",
    7: "low point (noise)",
    9: "water",
    10: "rail",
    11: "road surface",
    13: "wire guard",
    14: "wire conductor",
    15: "transmission tower",
    16: "wire-structure connector",
    17: "bridge deck",
    18: "high noise",
}

IGN_NAMES = {
    1: "non classé",
    2: "sol",
    3: "végétation basse (< 0,5 m)",
    4: "végétation moyenne (0,5-1,5 m)",
    5: "végétation haute (> 1,5 m)",
    6: "bâtiment",
    9: "eau",
    17: "tablier de pont",
    64: "sursol pérenne",
    65: "artefact / bruit",
    66: "point virtuel",
    67: "divers bâtis",
}


@dataclass(frozen=True)
class ClassCodes:
    """The codes a classifier writes, for one scheme."""

    name: str
    unclassified: int = UNCLASSIFIED
    ground: int = GROUND
    low_vegetation: int = LOW_VEGETATION
    medium_vegetation: int = MEDIUM_VEGETATION
    high_vegetation: int = HIGH_VEGETATION
    building: int = BUILDING
    water: int = WATER
    bridge: int = BRIDGE_DECK
    noise: int = LOW_POINT
    lasting_above_ground: int = UNCLASSIFIED

    @property
    def names(self) -> dict[int, str]:
        """Code → human name for this scheme."""
        return IGN_NAMES if self.name == "ign" else ASPRS_NAMES


CODE_SCHEMES: dict[str, ClassCodes] = {
    "ign": ClassCodes("ign", noise=IGN_NOISE, lasting_above_ground=IGN_LASTING_ABOVE_GROUND),
    "asprs": ClassCodes("asprs"),
}


def codes(scheme: str | ClassCodes = "ign") -> ClassCodes:
    """The :class:`ClassCodes` of ``scheme`` (``"ign"`` or ``"asprs"``)."""
    if isinstance(scheme, ClassCodes):
        return scheme
    try:
        return CODE_SCHEMES[str(scheme).lower()]
    except KeyError:
        raise ParameterError(
            f"unknown class code scheme {scheme!r}; choose one of {sorted(CODE_SCHEMES)}"
        ) from None
