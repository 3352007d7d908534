"""LIDAR: a LiDAR delivery against its specification (``pcrs check-lidar``).

The rules are declared here so that the one registry (:data:`pcrs.vector.rules.RULES`), the
reports, the profiles and the rules catalogue know them; the checks that emit them live in
:mod:`pcrs.lidarcheck` (headers, one streamed pass per tile, the delivery-wide pass), not in
hooks of the GML validator. The ``section`` of each rule names the key of the specification
(:class:`pcrs.lidarcheck.spec.LidarSpec`) that sets its threshold, or the LAS 1.4 R15 clause.
"""

from __future__ import annotations

from typing import ClassVar

from ._base import Family, Rule, rule

__all__ = ["LidarDeliveryRules"]


class LidarDeliveryRules(Family):
    """LIDAR-*: format, CRS, names, grid, density, coverage, classes and attributes of a
    LiDAR delivery (checked by :func:`pcrs.lidarcheck.check_lidar`)."""

    order = 900
    emits_only = True
    rules: ClassVar[tuple[Rule, ...]] = (
        # --- FILE ---------------------------------------------------------------------
        rule(
            "LIDAR-FILE-001", "error",
            "Unreadable file", "Fichier illisible",
            "the file cannot be read as LAS/LAZ: {reason}",
            "le fichier ne peut pas être lu comme LAS/LAZ : {reason}",
            "get a new copy from the producer (the download may be incomplete)",
            "en obtenir une nouvelle copie auprès du producteur (téléchargement incomplet ?)",
            "LAS 1.4 R15 §2",
        ),
        rule(
            "LIDAR-FILE-002", "error",
            "Unreadable points", "Points illisibles",
            "{read} of {count} points could be read, then: {reason}",
            "{read} points sur {count} ont pu être lus, puis : {reason}",
            "the file is truncated or its LAZ chunks are corrupt; get a new copy",
            "le fichier est tronqué ou ses blocs LAZ sont corrompus ; en obtenir une nouvelle copie",
            "LAS 1.4 R15 §2",
        ),
        rule(
            "LIDAR-FILE-003", "error",
            "Empty file", "Fichier vide",
            "the file holds no point",
            "le fichier ne contient aucun point",
            "deliver the tile's points, or leave the tile out of the delivery",
            "livrer les points de la dalle, ou retirer la dalle de la livraison",
            "",
        ),
        # --- FORMAT -------------------------------------------------------------------
        rule(
            "LIDAR-FORMAT-001", "error",
            "LAS version", "Version LAS",
            "LAS {value}; the specification asks for {expected}",
            "LAS {value} ; le cahier des charges demande {expected}",
            "convert the file (e.g. pdal translate, las2las -set_version)",
            "convertir le fichier (pdal translate, las2las -set_version...)",
            "format.las_versions",
        ),
        rule(
            "LIDAR-FORMAT-002", "error",
            "Point format", "Format de point",
            "point format {value}; the specification asks for {expected}",
            "format de point {value} ; le cahier des charges demande {expected}",
            "convert the file to an allowed point format",
            "convertir le fichier dans un format de point autorisé",
            "format.point_formats",
        ),
        rule(
            "LIDAR-FORMAT-003", "error",
            "Point record length", "Longueur d'enregistrement",
            "records of {value} bytes; format {format} is {standard} bytes plus {extra} "
            "declared extra bytes",
            "enregistrements de {value} octets ; le format {format} fait {standard} octets "
            "plus {extra} octets supplémentaires déclarés",
            "declare every extra byte in an Extra Bytes VLR, or rewrite the file",
            "déclarer chaque octet supplémentaire dans un VLR Extra Bytes, ou réécrire le fichier",
            "LAS 1.4 R15 §2.6",
        ),
        rule(
            "LIDAR-FORMAT-004", "error",
            "GPS time type", "Type de temps GPS",
            "global encoding bit 0 says {value} GPS time; the specification asks for {expected}",
            "le bit 0 de l'encodage global indique un temps GPS {value} ; le cahier des "
            "charges demande {expected}",
            "store adjusted standard GPS time (GPS seconds - 1e9) and set bit 0",
            "enregistrer le temps GPS standard ajusté (secondes GPS - 1e9) et lever le bit 0",
            "format.gps_time",
        ),
        rule(
            "LIDAR-FORMAT-005", "error",
            "WKT bit not set", "Bit WKT absent",
            "point format {format} requires the WKT bit (global encoding bit 4), which is not set",
            "le format de point {format} exige le bit WKT (bit 4 de l'encodage global), absent",
            "set the WKT bit and store the CRS as an OGC WKT VLR",
            "lever le bit WKT et stocker le SCR dans un VLR WKT OGC",
            "LAS 1.4 R15 §2.4",
        ),
        rule(
            "LIDAR-FORMAT-006", "error",
            "Header bounds", "Emprise de l'en-tête",
            "the header's bounds {header} do not match the points' {points}",
            "l'emprise de l'en-tête {header} ne correspond pas à celle des points {points}",
            "rewrite the header from the points (e.g. pdal translate, lasinfo -repair)",
            "recalculer l'en-tête à partir des points (pdal translate, lasinfo -repair...)",
            "LAS 1.4 R15 §2.4",
        ),
        rule(
            "LIDAR-FORMAT-007", "error",
            "Header counts", "Comptes de l'en-tête",
            "the header counts {header}; the points give {points}",
            "l'en-tête compte {header} ; les points donnent {points}",
            "rewrite the header from the points",
            "recalculer l'en-tête à partir des points",
            "LAS 1.4 R15 §2.4",
        ),
        # --- CRS ----------------------------------------------------------------------
        rule(
            "LIDAR-CRS-001", "error",
            "No CRS", "Pas de SCR",
            "the header declares no coordinate reference system",
            "l'en-tête ne déclare aucun système de coordonnées",
            "write the CRS ({expected}) in a WKT VLR",
            "écrire le SCR ({expected}) dans un VLR WKT",
            "crs.horizontal",
        ),
        rule(
            "LIDAR-CRS-002", "error",
            "Horizontal CRS", "SCR planimétrique",
            "horizontal CRS {value}; the specification asks for {expected}",
            "SCR planimétrique {value} ; le cahier des charges demande {expected}",
            "reproject the points or fix the declared CRS",
            "reprojeter les points ou corriger le SCR déclaré",
            "crs.horizontal",
        ),
        rule(
            "LIDAR-CRS-003", "error",
            "Vertical CRS", "SCR altimétrique",
            "vertical CRS {value}; the specification asks for {expected}",
            "SCR altimétrique {value} ; le cahier des charges demande {expected}",
            "convert the heights or fix the declared CRS",
            "convertir les altitudes ou corriger le SCR déclaré",
            "crs.vertical",
        ),
        rule(
            "LIDAR-CRS-004", "warning",
            "No vertical CRS", "Pas de SCR altimétrique",
            "the CRS {value} has no vertical part; the specification asks for {expected}",
            "le SCR {value} n'a pas de composante altimétrique ; le cahier des charges "
            "demande {expected}",
            "declare a compound CRS (IGN LiDAR HD files often store EPSG:2154 only)",
            "déclarer un SCR composé (les fichiers LiDAR HD de l'IGN ne stockent souvent "
            "que EPSG:2154)",
            "crs.vertical",
        ),
        rule(
            "LIDAR-CRS-005", "error",
            "CRS differs between tiles", "SCR différent entre dalles",
            "CRS {value}, while {count} other tile(s) declare {other}",
            "SCR {value}, alors que {count} autre(s) dalle(s) déclarent {other}",
            "deliver every tile in one CRS",
            "livrer toutes les dalles dans un même SCR",
            "crs",
        ),
        # --- NAME ---------------------------------------------------------------------
        rule(
            "LIDAR-NAME-001", "error",
            "File name", "Nom de fichier",
            "{name!r} does not follow the specification's pattern {pattern}",
            "{name!r} ne suit pas le modèle du cahier des charges {pattern}",
            "rename the file after its tile",
            "renommer le fichier d'après sa dalle",
            "tiles.name_pattern",
        ),
        rule(
            "LIDAR-NAME-002", "error",
            "Name and position disagree", "Nom et position en désaccord",
            "the name is tile {named}, but the points lie in tile {found}",
            "le nom désigne la dalle {named}, mais les points sont dans la dalle {found}",
            "rename the file after the tile its points lie in, or check the coordinates",
            "renommer le fichier d'après la dalle de ses points, ou vérifier les coordonnées",
            "tiles.name_pattern",
        ),
        # --- GRID ---------------------------------------------------------------------
        rule(
            "LIDAR-GRID-001", "error",
            "Tile larger than the grid", "Dalle plus grande que la grille",
            "the points span {width} x {height} m; tiles are {size} m",
            "les points couvrent {width} x {height} m ; les dalles font {size} m",
            "cut the delivery on the specification's grid (e.g. pcrs tile)",
            "découper la livraison sur la grille du cahier des charges (pcrs tile...)",
            "tiles.size",
        ),
        rule(
            "LIDAR-GRID-002", "error",
            "Points outside their tile", "Points hors de leur dalle",
            "{count} point(s) lie more than {tol} m outside tile {tile}; one here",
            "{count} point(s) sont à plus de {tol} m hors de la dalle {tile} ; l'un ici",
            "move them to the tile they lie in, or remove the buffer",
            "les placer dans la dalle où ils se trouvent, ou retirer le tampon",
            "tiles.tolerance",
        ),
        rule(
            "LIDAR-GRID-003", "error",
            "Two files for one tile", "Deux fichiers pour une dalle",
            "tile {tile} is also delivered as {other}",
            "la dalle {tile} est aussi livrée dans {other}",
            "deliver one file per tile",
            "livrer un fichier par dalle",
            "tiles.size",
        ),
        rule(
            "LIDAR-GRID-004", "error",
            "Overlapping tiles", "Dalles qui se chevauchent",
            "the points overlap those of {other} over {width} x {height} m",
            "les points chevauchent ceux de {other} sur {width} x {height} m",
            "cut the tiles without overlap (no buffer in a delivery)",
            "découper les dalles sans recouvrement (pas de tampon dans une livraison)",
            "tiles.tolerance",
        ),
        # --- DENSITY ------------------------------------------------------------------
        rule(
            "LIDAR-DENSITY-001", "error",
            "Cells below the pulse density", "Cellules sous la densité d'impulsions",
            "{share}% of the {cell} m cells have fewer than {minimum} pulses/m² (allowed: "
            "{allowed}%); the sparsest here ({value} pulses/m²)",
            "{share} % des cellules de {cell} m ont moins de {minimum} impulsions/m² "
            "(toléré : {allowed} %) ; la moins dense ici ({value} impulsions/m²)",
            "fly the area again, or agree a derogation with the client",
            "refaire le vol sur la zone, ou convenir d'une dérogation avec le client",
            "density.cell_min_pulses",
        ),
        rule(
            "LIDAR-DENSITY-002", "error",
            "Mean pulse density", "Densité moyenne d'impulsions",
            "{value} pulses/m² on average; the specification asks for {minimum}",
            "{value} impulsions/m² en moyenne ; le cahier des charges demande {minimum}",
            "fly the tile again, or agree a derogation with the client",
            "refaire le vol sur la dalle, ou convenir d'une dérogation avec le client",
            "density.nominal_pulses",
        ),
        rule(
            "LIDAR-DENSITY-003", "error",
            "Cells below the point density", "Cellules sous la densité de points",
            "{share}% of the {cell} m cells have fewer than {minimum} points/m² (allowed: "
            "{allowed}%); the sparsest here ({value} points/m²)",
            "{share} % des cellules de {cell} m ont moins de {minimum} points/m² "
            "(toléré : {allowed} %) ; la moins dense ici ({value} points/m²)",
            "fly the area again, or agree a derogation with the client",
            "refaire le vol sur la zone, ou convenir d'une dérogation avec le client",
            "density.cell_min_points",
        ),
        rule(
            "LIDAR-DENSITY-004", "error",
            "Mean point density", "Densité moyenne de points",
            "{value} points/m² on average; the specification asks for {minimum}",
            "{value} points/m² en moyenne ; le cahier des charges demande {minimum}",
            "fly the tile again, or agree a derogation with the client",
            "refaire le vol sur la dalle, ou convenir d'une dérogation avec le client",
            "density.nominal_points",
        ),
        # --- COVERAGE -----------------------------------------------------------------
        rule(
            "LIDAR-COVERAGE-001", "error",
            "Hole in the coverage", "Trou dans la couverture",
            "no point over {area} m² (larger than {minimum} m²), around here",
            "aucun point sur {area} m² (plus de {minimum} m²), autour d'ici",
            "fly the gap again; a water body classified 9 around it exempts it",
            "refaire le vol sur la lacune ; une étendue d'eau classée 9 autour l'exempte",
            "coverage.hole_min_area",
        ),
        # --- CLASS --------------------------------------------------------------------
        rule(
            "LIDAR-CLASS-001", "error",
            "Class not allowed", "Classe non autorisée",
            "{count} point(s) of class(es) {codes}, outside the allowed {allowed}; one here",
            "{count} point(s) de classe(s) {codes}, hors des classes autorisées {allowed} ; "
            "l'un ici",
            "reclassify them into the specification's classes",
            "les reclasser dans les classes du cahier des charges",
            "classes.allowed",
        ),
        rule(
            "LIDAR-CLASS-002", "warning",
            "Many unclassified points", "Beaucoup de points non classés",
            "{share}% of the points are unclassified (0 or 1); allowed: {allowed}%",
            "{share} % des points sont non classés (0 ou 1) ; toléré : {allowed} %",
            "finish the classification",
            "terminer la classification",
            "classes.max_unclassified_share",
        ),
        rule(
            "LIDAR-CLASS-003", "warning",
            "Withheld points", "Points retenus (withheld)",
            "{count} point(s) carry the withheld flag; one here",
            "{count} point(s) portent l'indicateur withheld ; l'un ici",
            "remove them, or clear the flag if they are valid",
            "les supprimer, ou retirer l'indicateur s'ils sont valides",
            "classes.withheld",
        ),
        rule(
            "LIDAR-CLASS-004", "warning",
            "Synthetic points", "Points synthétiques",
            "{count} point(s) carry the synthetic flag; one here",
            "{count} point(s) portent l'indicateur synthetic ; l'un ici",
            "check that the specification allows synthetic points",
            "vérifier que le cahier des charges autorise les points synthétiques",
            "classes.synthetic",
        ),
        # --- ATTR ---------------------------------------------------------------------
        rule(
            "LIDAR-ATTR-001", "error",
            "Return numbers inconsistent", "Numéros de retour incohérents",
            "{count} point(s) have a return number of 0 or above their number of returns; "
            "one here",
            "{count} point(s) ont un numéro de retour nul ou supérieur à leur nombre de "
            "retours ; l'un ici",
            "rewrite the returns from the acquisition",
            "réécrire les retours depuis l'acquisition",
            "LAS 1.4 R15 §2.6",
        ),
        rule(
            "LIDAR-ATTR-002", "warning",
            "GPS time missing", "Temps GPS absent",
            "GPS time is {value} for every point",
            "le temps GPS vaut {value} pour tous les points",
            "deliver the acquisition time of each point",
            "livrer l'heure d'acquisition de chaque point",
            "format.gps_time",
        ),
        rule(
            "LIDAR-ATTR-003", "warning",
            "Scan angle out of range", "Angle de scan hors limites",
            "{count} point(s) have a scan angle beyond ±{maximum}° (up to {value}°); one here",
            "{count} point(s) ont un angle de scan au-delà de ±{maximum}° (jusqu'à "
            "{value}°) ; l'un ici",
            "check the scan angle field (units: 0.006° in formats 6-10)",
            "vérifier le champ angle de scan (unité : 0,006° en formats 6-10)",
            "attributes.max_scan_angle",
        ),
        rule(
            "LIDAR-ATTR-004", "warning",
            "Intensity all zero", "Intensité toujours nulle",
            "intensity is 0 for every point",
            "l'intensité vaut 0 pour tous les points",
            "deliver the recorded intensity",
            "livrer l'intensité enregistrée",
            "attributes",
        ),
        # --- DUP ----------------------------------------------------------------------
        rule(
            "LIDAR-DUP-001", "warning",
            "Duplicated points", "Points en double",
            "{count} point(s) repeat another point's X, Y and Z; one here",
            "{count} point(s) répètent les X, Y et Z d'un autre point ; l'un ici",
            "remove the duplicates (e.g. pdal filters.sample, lasduplicate)",
            "supprimer les doublons (pdal filters.sample, lasduplicate...)",
            "",
        ),
    )  # fmt: skip
