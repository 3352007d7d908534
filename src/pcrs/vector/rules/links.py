"""Links: every ``xlink:href`` resolves (in its file, or in another file of the delivery) to a
feature of the expected class; every affleurant has a geometric representation.

Links whose target is not read yet wait in columns (:class:`_Links`) until the end of the
file; those still unresolved then wait, in the same form, for the other files.
"""

from __future__ import annotations

from array import array
from typing import TYPE_CHECKING, ClassVar

from ..model import Attribute, is_subclass
from ._base import Family, Loc, Rule, on, rule, value_check
from ._common import at, is_sub

if TYPE_CHECKING:
    from ..engine import FeatureView, FileState, Validator
    from ..gml import EmpriseLinks, Member, Property, RootInfo

__all__ = ["LinkRules"]


class _Links:
    """Links kept for later, a few dozen bytes each (the href string is the reader's).

    A link's place is its feature's location (interned: the links of one feature share
    it) with its own line."""

    __slots__ = ("expected", "field", "file", "href", "line", "names", "proto", "protos", "ref")

    def __init__(self) -> None:
        self.protos: list[tuple] = []  # (class, gml:id, idObjet, x, y)
        self.names: list[str | None] = [None]  # fields and expected classes
        self.proto = array("i")
        self.line = array("q")  # -1: None
        self.field = array("i")
        self.expected = array("i")
        self.file = array("i")
        self.ref = bytearray()
        self.href: list[str] = []

    def _name(self, name: str | None) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            self.names.append(name)
            return len(self.names) - 1

    def add(
        self, loc: Loc, field_: str, href: str, expected: str | None, ref: bool, file: int = -1
    ) -> None:
        proto = loc[1:6]
        if not self.protos or self.protos[-1] != proto:
            self.protos.append(proto)
        self.proto.append(len(self.protos) - 1)
        self.line.append(-1 if loc[0] is None else loc[0])
        self.field.append(self._name(field_))
        self.expected.append(self._name(expected))
        self.ref.append(ref)
        self.file.append(file)
        self.href.append(href)

    def __len__(self) -> int:
        return len(self.href)

    def loc(self, i: int) -> Loc:
        line = self.line[i]
        return (None if line == -1 else line, *self.protos[self.proto[i]])

    def field_of(self, i: int) -> str:
        name = self.names[self.field[i]]
        assert name is not None
        return name

    def expected_of(self, i: int) -> str | None:
        return self.names[self.expected[i]]

    def drop_files(self, dropped: set[int]) -> _Links:
        kept = _Links()
        for i in range(len(self)):
            if self.file[i] not in dropped:
                kept.add(self.loc(i), self.field_of(i), self.href[i], self.expected_of(i),
                         bool(self.ref[i]), self.file[i])  # fmt: skip
        return kept


class LinkRules(Family):
    """PCRS-LINK: links between features."""

    order = 70
    rules: ClassVar[tuple[Rule, ...]] = (
        rule(
            "PCRS-LINK-001",
            "error",
            "Link target not found",
            "Cible de lien introuvable",
            "<{field}> points to {value!r}, which is in none of the files validated",
            "<{field}> pointe vers {value!r}, qui n'est dans aucun des fichiers contrôlés",
            "check the identifier, or validate the whole delivery together (--partial when "
            "these files are only a piece of it)",
            "vérifier l'identifiant, ou contrôler toute la livraison ensemble (--partial si "
            "ces fichiers n'en sont qu'une partie)",
            "C.1",
        ),
        rule(
            "PCRS-LINK-002",
            "error",
            "Link to wrong class",
            "Lien vers une mauvaise classe",
            "<{field}> points to {value!r}, of class {target_cls}, whereas its target must be of "
            "class {expected}",
            "<{field}> pointe vers {value!r}, de classe {target_cls}, alors que sa cible doit être "
            "de classe {expected}",
            "fix the link",
            "corriger le lien",
            "B.3",
        ),
        rule(
            "PCRS-LINK-003",
            "info",
            "Links without '#'",
            "Liens sans '#'",
            "{count} xlink:href values in this file have no leading '#' (e.g. {value!r}); "
            "they were resolved as local gml:id references",
            "{count} valeurs xlink:href de ce fichier n'ont pas de '#' initial (p. ex. {value!r}) ; "
            "elles ont été lues comme des références à des gml:id locaux",
            "write local links as '#<gml:id>' as the standard shows",
            "écrire les liens locaux '#<gml:id>' comme le montre le standard",
            "C.1",
        ),
        rule(
            "PCRS-LINK-004",
            "error",
            "Affleurant without geometry",
            "Affleurant sans géométrie",
            "AffleurantGeometriquePCRS has no enveloppe, ligne or point: the affleurant has no "
            "geometric representation",
            "AffleurantGeometriquePCRS n'a ni enveloppe, ni ligne, ni point : l'affleurant n'a "
            "aucune représentation géométrique",
            "give at least one representation (an enveloppe is recommended)",
            "fournir au moins une représentation (l'enveloppe est recommandée)",
            "B.3.32",
        ),
        rule(
            "PCRS-LINK-005",
            "error",
            "Empty association",
            "Association vide",
            "<{field}> holds neither an inline feature nor an xlink:href",
            "<{field}> ne contient ni objet ni xlink:href",
            'link the target with xlink:href="#<gml:id>" or remove the element',
            'lier la cible par xlink:href="#<gml:id>" ou supprimer l\'élément',
            "C.1",
        ),
    )

    def __init__(self, validator: Validator):
        super().__init__(validator)
        #: links to no feature of their file, for the other files (file index set)
        self.links = _Links()
        self._pending = _Links()
        self._no_hash = 0
        self._no_hash_example: str | None = None

    @on("start_file", 0)
    def reset(self, st: FileState, root: RootInfo | None) -> None:
        self._pending = _Links()
        self._no_hash = 0
        self._no_hash_example = None

    @on("rollback", 0)
    def forget(self, dropped: set[int]) -> None:
        self.links = self.links.drop_files(dropped)

    def _href(self, href: str) -> None:
        if "#" not in href:
            self._no_hash += 1
            if self._no_hash_example is None:
                self._no_hash_example = href

    def _to(self, st: FileState, loc: Loc, field_: str, href: str, expected: str | None,
            ref: bool) -> None:  # fmt: skip
        """A link: checked now when its target was read, later otherwise."""
        j = st.gml_ids.get(href.rpartition("#")[2])
        if j is None:
            self._pending.add(loc, field_, href, expected, ref)
        else:
            self._link_to(st, j, loc, field_, href, expected, ref)

    def _link_to(self, st: FileState, j: int, loc: Loc, field_: str, href: str,
                 expected: str | None, ref: bool) -> None:  # fmt: skip
        cls = st.f_cls[j]
        if expected and not is_sub(cls, expected):
            self.v.emit(
                "PCRS-LINK-002", loc, field_, field=field_, value=href, target_cls=cls,
                expected=expected,
            )  # fmt: skip
        if ref:
            st.f_flags[j] |= 4

    @on("member", 20)
    def member_href(self, st: FileState, m: Member) -> None:
        """A ``featureMember`` that links its feature instead of holding it."""
        if m.href is not None and m.n_children == 0:
            self._pending.add((m.line, None, None, None, None, None), "featureMember", m.href,
                              None, False)  # fmt: skip

    @on("emprise_links", 20)
    def emprise_links(self, st: FileState, links: EmpriseLinks) -> None:
        """``objet``/``habillage`` links of an emprise (PCRS-LINK-005 when empty)."""
        eid, id_emprise = links.emprise_id, links.id_emprise
        for line, name, href in zip(links.lines, links.names, links.hrefs, strict=True):
            loc = (line, "EmpriseEchangePCRS", eid, id_emprise, None, None)
            href = href.strip()
            if not href:
                self.v.emit("PCRS-LINK-005", loc, name, field=name)
                continue
            self._href(href)
            expected = "ObjetVecteurPCRS" if name == "objet" else "HabillagePCRS"
            self._to(st, loc, name, href, expected, True)

    @value_check("link")
    def link_value(self, fv: FeatureView, a: Attribute, p: Property, loc: Loc) -> None:
        """A link property: an href (resolved now or later), an inline feature of the
        expected class (PCRS-LINK-002), or neither (PCRS-LINK-005)."""
        if p.href is not None and p.href.strip():
            href = p.href.strip()
            self._href(href)
            self._to(fv.st, at(loc, p.line), p.name, href, a.target,
                     fv.f.cls == "EmpriseEchangePCRS")  # fmt: skip
        elif p.inline is not None:
            if a.target and not is_subclass(p.inline.cls, a.target):
                self.v.emit(
                    "PCRS-LINK-002", at(loc, p.line), p.name, field=p.name,
                    value=p.inline.gml_id or p.inline.cls, target_cls=p.inline.cls,
                    expected=a.target,
                )  # fmt: skip
        else:
            self.v.emit("PCRS-LINK-005", at(loc, p.line), p.name, field=p.name)

    @on("feature", 60, classes=("AffleurantGeometriquePCRS",))
    def representation(self, fv: FeatureView) -> None:
        """An AffleurantGeometriquePCRS has an envelope, a line or a point (PCRS-LINK-004)."""
        if fv.f.cls == "AffleurantGeometriquePCRS" and not any(
            n in ("enveloppe", "ligne", "point") for n in fv.prop_names()
        ):
            self.v.emit("PCRS-LINK-004", fv.loc)

    @on("end_file", 50)
    def resolve(self, st: FileState) -> None:
        """Hrefs without ``#`` (PCRS-LINK-003, once), then the links left to resolve."""
        if self._no_hash:
            self.v.emit(
                "PCRS-LINK-003", None, "xlink:href", count=self._no_hash,
                value=self._no_hash_example,
            )  # fmt: skip
        pending = self._pending
        self._pending = _Links()
        for i in range(len(pending)):
            href = pending.href[i]
            loc = pending.loc(i)
            field_ = pending.field_of(i)
            expected = pending.expected_of(i)
            j = st.gml_ids.get(href.rpartition("#")[2])
            if j is None:
                self.links.add(loc, field_, href, expected, False, st.index)
            else:
                self._link_to(st, j, loc, field_, href, expected, bool(pending.ref[i]))

    @on("finish", 10)
    def across_files(self) -> None:
        """Links to no feature of their file, looked for in the others (PCRS-LINK-001/002)."""
        links = self.links
        files = self.v.files
        for i in range(len(links)):
            self.v.file = files[links.file[i]]
            href = links.href[i]
            loc = links.loc(i)
            field_ = links.field_of(i)
            expected = links.expected_of(i)
            target = href.rpartition("#")[2]
            cls = None
            for other in files:
                j = other.gml_ids.get(target)
                if j is not None:
                    cls = other.f_cls[j]
                    break
            if cls is None:
                self.v.emit("PCRS-LINK-001", loc, field_, field=field_, value=href)
            elif expected and not is_subclass(cls, expected):
                self.v.emit(
                    "PCRS-LINK-002", loc, field_, field=field_, value=href, target_cls=cls,
                    expected=expected,
                )  # fmt: skip
        self.links = _Links()
