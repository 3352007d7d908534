"""Layout of the element records the GML readers work on (no numba needed here).

:mod:`pcrs.vector._scan_kernels` writes one row per element (columns ``C_*``);
:mod:`pcrs.vector._geom_spec` reads the geometries among them from geometry records
(columns ``A_*``, roles ``R_*``, which :mod:`pcrs.vector.gml` also builds from lxml
elements) into tables ``G_*`` and ``F_*``; :mod:`pcrs.vector.fastread` turns both into
features.
"""

from __future__ import annotations

C_DEPTH = 0  # 1 for a child of the root (a member), 2 for a feature...
C_NAME_S = 1  # qualified name: buf[C_NAME_S:C_NAME_E]
C_NAME_E = 2
C_ATTR_S = 3  # the attributes' text: buf[C_ATTR_S:C_ATTR_E] (empty when there are none)
C_ATTR_E = 4
C_LINE = 5  # line of the start tag's '>' (libxml2's line for an element)
C_TEXT_S = 6  # first text of the element: buf[C_TEXT_S:C_TEXT_E] (-1: none)
C_TEXT_E = 7
C_NCHILD = 8  # number of element children
C_PARENT = 9  # row of the parent element (-1 for a member)
C_END = 10  # offset just after the end tag
C_FLAGS = 11  # on a member: FLAG_ODD when lxml must read it; FLAG_NSDECL (see below)
C_START = 12  # offset of the start tag's '<'
C_NAME = 13  # the qualified name's number in the file's table of names (see ``intern``)
C_NS_S = 14  # the start tag's namespace declarations: buf[C_NS_S:C_NS_E], from the first
C_NS_E = 15  # one's name to the last one's closing quote (-1: none; with FLAG_NSDECL)
NCOLS = 16

FLAG_ODD = 1
#: on an element: it declares namespaces (``xmlns`` attributes); on a member: an element of
#: it does. :mod:`pcrs.vector.fastread` reads such a member itself when no declaration
#: changes what a prefix of the root means (redundant or unused ones, as real deliveries
#: repeat them on every member), and sends it to lxml otherwise
FLAG_NSDECL = 2

#: status codes returned by :func:`scan`
MORE = 0  # the buffer ends inside a member: call again with more bytes from ``stop``
CLOSED = 1  # the root element's end tag was met
FULL = 2  # ``out`` is full: call again from ``stop``
UNSUPPORTED = -1  # a DTD, or nesting too deep: read the file with lxml
MALFORMED = -2  # something that cannot be XML: read the file with lxml (it says what)

#: table of distinct element names: slots (a power of two), names, bytes of names
NAME_SLOTS = 8192
MAX_NAMES = 4096
NAME_BYTES = 1 << 18

# roles of element names (by the scanner's name numbers)
R_NONE = 0
R_POINT = 1
R_LINESTRING = 2
R_CURVE = 3
R_POLYGON = 4
R_MULTICURVE = 5
R_POS = 6
R_POSLIST = 7
R_SEGMENTS = 8
R_LSS = 9
R_EXTERIOR = 10
R_INTERIOR = 11
R_LINEARRING = 12
R_RING = 13
R_CURVEMEMBER = 14
R_ARC = 15
R_ARCSTRING = 16

#: GML local names and their roles
ROLES = {
    "Point": R_POINT,
    "LineString": R_LINESTRING,
    "Curve": R_CURVE,
    "Polygon": R_POLYGON,
    "MultiCurve": R_MULTICURVE,
    "pos": R_POS,
    "posList": R_POSLIST,
    "segments": R_SEGMENTS,
    "LineStringSegment": R_LSS,
    "exterior": R_EXTERIOR,
    "interior": R_INTERIOR,
    "LinearRing": R_LINEARRING,
    "Ring": R_RING,
    "curveMember": R_CURVEMEMBER,
    "Arc": R_ARC,
    "ArcString": R_ARCSTRING,
}

# columns of the geometry records (pcrs.vector._geom_spec), one row per element
A_DEPTH = 0  # as C_DEPTH: 4 for a geometry, the first child of a feature's property
A_PARENT = 1  # row of the parent element
A_NCHILD = 2  # number of element children
A_ROLE = 3  # R_* (R_NONE for a name the geometry readers do not know)
A_DIM = 4  # srsDimension: 0 absent, 2 or 3, -1 anything else
A_SRS_S = 5  # srsName value span of a geometry root (-1: none)
A_SRS_E = 6
A_ID = 7  # 1 when a geometry root has a gml:id
A_NUM_K = 8  # numbers of a pos/posList text: nv[A_NUM_K:A_NUM_K + A_NUM_N]
A_NUM_N = 9  # (-1: no text, or a text that is not read as numbers there)
A_NCOLS = 10

# columns of the integer table of geometries
G_ROW = 0  # record row of the geometry element
G_ROLE = 1
G_DIM = 2
G_SRS_S = 3  # srsName value: buf[G_SRS_S:G_SRS_E] (-1: none)
G_SRS_E = 4
G_HAS_ID = 5
G_PART0 = 6  # its parts: rows G_PART0 .. G_PART0 + G_NPARTS - 1 of the parts table
G_NPARTS = 7
G_HOLES = 8
G_PB0 = 9  # its problems (arcs through aligned points): rows G_PB0 .. G_PB0 + G_NPB - 1 of
G_NPB = 10  # the problems table (the x, y of each arc's middle point)
G_NCOLS = 11
# columns of the float table: bounds (4), first vertex (2), Z range (2, nan in 2D)
F_NCOLS = 8

# kinds of element names, for the feature reader
K_OTHER = 0
K_GML = 1  # another element of the GML namespace
K_MEMBER = 2  # pcrs:featureMember
K_EMPRISE = 3  # pcrs:EmpriseEchangePCRS
K_LINK = 4  # pcrs:objet, pcrs:habillage
K_ID_EMPRISE = 5  # pcrs:idEmprise
K_ODD = 6  # a name whose prefix is not declared on the root: lxml reads the member

# columns of the members table (pcrs.vector._feature_kernels)
M_ROW = 0  # record row of the member
M_FEATURE = 1  # record row of its feature, -1 when lxml must read the member
M_GID_S = 2  # gml:id value of the feature (-1: none)
M_GID_E = 3
M_HREF_S = 4  # xlink:href value of the member (-1: none)
M_HREF_E = 5
M_P0 = 6  # its properties: rows M_P0 .. M_P1 - 1 of the properties table
M_P1 = 7
M_L0 = 8  # its emprise links: rows M_L0 .. M_L1 - 1 of the links table
M_L1 = 9
M_IDE_S = 10  # text of the idEmprise before the first link (-2: none)
M_IDE_E = 11
M_LINE = 12  # line of the member
M_FLINE = 13  # line of the feature
M_FNAME = 14  # name number of the feature
M_FLAGS = 15  # MF_* of its properties
M_NCOLS = 16
MF_STRIP = 1  # a text to strip in Python
MF_HREF = 2  # an xlink:href
MF_GEOMETRY = 4  # a property with children (a geometry)

# columns of the properties table
P_ROW = 0
P_NAME = 1
P_LINE = 2
P_TEXT_S = 3  # text without the blanks around it (-1: None, a link or an element)
P_TEXT_E = 4
P_HREF_S = 5  # xlink:href value (-1: none)
P_HREF_E = 6
P_KIDS = 7  # number of element children
P_FLAG = 8  # PF_STRIP or PF_NODES
P_GEO = 9  # geometry number (pcrs.vector._geom_kernels), -1 without
P_GLINE = 10  # line of the geometry element (the first child)
P_NCOLS = 11
PF_STRIP = 1  # the text is raw: Python strips it (non-ASCII or CR at its ends)
PF_NODES = 2  # the geometry is read by the Python readers (first child: record P_ROW + 1)
