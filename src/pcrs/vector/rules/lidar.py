"""The LiDAR cross-check's rules (checked by :mod:`pcrs.vector.lidar_check`, ``pcrs validate
--lidar``): only their messages live here, beside the others'."""

from __future__ import annotations

from typing import ClassVar

from ._base import Family, Rule, rule

__all__ = ["LidarRules"]


class LidarRules(Family):
    """PCRS-LIDAR: the delivery against a LiDAR survey of the same place."""

    order = 110
    rules: ClassVar[tuple[Rule, ...]] = (
        rule(
            "PCRS-LIDAR-001",
            "warning",
            "Z far from the LiDAR ground",
            "Z loin du sol LiDAR",
            "this object, surveyed at ground level, lies {residual} m from the LiDAR ground "
            "(median over {count} vertices; worst {worst} m at this point); tolerance {tolerance} m",
            "cet objet, levé au niveau du sol, est à {residual} m du sol LiDAR (médiane sur "
            "{count} sommets ; pire écart {worst} m en ce point) ; tolérance {tolerance} m",
            "check the altitude of the survey (or whether the ground changed since the flight)",
            "vérifier l'altitude du levé (ou si le sol a changé depuis le vol LiDAR)",
            "B.1.1",
        ),
        rule(
            "PCRS-LIDAR-002",
            "error",
            "Systematic vertical offset",
            "Décalage altimétrique systématique",
            "the altitudes of the delivery are {bias} m from the LiDAR ground as a whole (median "
            "of {count} vertices at ground level, tolerance {tolerance} m){hint}; objects are not "
            "listed one by one",
            "les altitudes de la livraison sont à {bias} m du sol LiDAR dans leur ensemble "
            "(médiane de {count} sommets au sol, tolérance {tolerance} m){hint_fr} ; les objets ne "
            "sont pas listés un par un",
            "check the vertical datum: PCRS altitudes are NGF-IGN69 (IGN78 in Corsica), not "
            "ellipsoidal heights; correct the whole delivery",
            "vérifier le référentiel altimétrique : les altitudes PCRS sont en NGF-IGN69 (IGN78 en "
            "Corse), pas des hauteurs ellipsoïdales ; corriger toute la livraison",
            "B.1.4",
        ),
        rule(
            "PCRS-LIDAR-003",
            "warning",
            "No LiDAR ground class",
            "Pas de classe sol dans le LiDAR",
            "the LiDAR points over the delivery ({points} points) have no ground class "
            "(2, 9 or 66): the altitudes were not compared",
            "les points LiDAR sur la livraison ({points} points) n'ont pas de classe sol "
            "(2, 9 ou 66) : les altitudes n'ont pas été comparées",
            "classify the LiDAR first (pcrs classify --steps noise,ground,buildings)",
            "classer d'abord le LiDAR (pcrs classify --steps noise,ground,buildings)",
            "",
        ),
        rule(
            "PCRS-LIDAR-004",
            "warning",
            "Façade without LiDAR building",
            "Façade sans bâtiment LiDAR",
            "only {share}% of this façade ({length} m) runs along LiDAR building points within "
            "{distance} m",
            "seuls {share} % de cette façade ({length} m) longent des points LiDAR de bâtiment à "
            "moins de {distance} m",
            "check its position: misplaced façade, demolished building, or a LiDAR older than "
            "the building",
            "vérifier sa position : façade mal placée, bâtiment démoli, ou LiDAR antérieur au bâtiment",
            "B.3.22",
        ),
        rule(
            "PCRS-LIDAR-005",
            "warning",
            "Façades drawn with the building on the right",
            "Façades avec le bâti à droite",
            "{count} of the {total} façades compared with the LiDAR have the building on their "
            "right; the standard's convention puts the interior on the left",
            "{count} des {total} façades comparées au LiDAR ont le bâtiment à leur droite ; la "
            "convention du standard met l'intérieur à gauche",
            "reverse the vertex order of the façades, or state the convention in the metadata",
            "inverser l'ordre des sommets des façades, ou indiquer la convention dans les métadonnées",
            "B.1.3",
        ),
        rule(
            "PCRS-LIDAR-006",
            "warning",
            "Façade reversed",
            "Façade inversée",
            "the LiDAR building is on the right of this façade, while the standard's convention "
            "(followed by most façades of this delivery) puts the interior on the left",
            "le bâtiment LiDAR est à droite de cette façade, alors que la convention du standard "
            "(suivie par la plupart des façades de la livraison) met l'intérieur à gauche",
            "reverse the order of its vertices",
            "inverser l'ordre de ses sommets",
            "B.1.3",
        ),
        rule(
            "PCRS-LIDAR-007",
            "warning",
            "Building not surveyed",
            "Bâtiment non levé",
            "the LiDAR shows a building of about {area} m² here, inside the emprise, with no "
            "FacadePCRS within {distance} m",
            "le LiDAR montre ici un bâtiment d'environ {area} m², dans l'emprise, sans FacadePCRS "
            "à moins de {distance} m",
            "survey its façades, or check whether it was demolished after the LiDAR flight",
            "lever ses façades, ou vérifier s'il a été démoli après le vol LiDAR",
            "B.3.22",
        ),
        rule(
            "PCRS-LIDAR-008",
            "warning",
            "No LiDAR building class",
            "Pas de classe bâtiment dans le LiDAR",
            "the LiDAR points over the delivery have no building class (6): façades and "
            "completeness were not checked",
            "les points LiDAR sur la livraison n'ont pas de classe bâtiment (6) : les façades et "
            "l'exhaustivité n'ont pas été contrôlées",
            "classify the LiDAR first (pcrs classify --steps noise,ground,buildings)",
            "classer d'abord le LiDAR (pcrs classify --steps noise,ground,buildings)",
            "",
        ),
        rule(
            "PCRS-LIDAR-009",
            "info",
            "Vertices without LiDAR ground",
            "Sommets sans sol LiDAR",
            "{count} of the {total} vertices at ground level have no LiDAR ground point within "
            "{radius} m and were not compared (outside the LiDAR, under buildings or cars)",
            "{count} des {total} sommets au niveau du sol n'ont aucun point LiDAR sol à moins de "
            "{radius} m et n'ont pas été comparés (hors LiDAR, sous un bâtiment ou un véhicule)",
            "",
            "",
            "",
        ),
    )
