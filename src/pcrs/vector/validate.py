"""``validate``: check PCRS v2.0 GML deliveries and return a :class:`~pcrs.vector.report.Report`."""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .._progress import progress
from ..errors import PcrsIOError
from .engine import Options, Validator
from .gml import ARC_TOLERANCE, EntityError, GmlReader, Member, SniffError, sniff
from .model import NS_PCRS
from .profiles import Profile, resolve_profile
from .report import Report

__all__ = ["FAST_READER_MIN_BYTES", "SCHEMA_PROCESS_MIN_BYTES", "validate"]

log = logging.getLogger(__name__)

#: files at least this big (bytes) have their schema step run by a second process, beside
#: the rules, when the machine can fork and has a core idle (``schema_process=None``)
SCHEMA_PROCESS_MIN_BYTES = 16_000_000
#: files at least this big are read by the compiled reader (:mod:`pcrs.vector.fastread`)
#: when ``reader="auto"``: below, loading its kernel costs more than it saves
FAST_READER_MIN_BYTES = 2_000_000


def _expand(paths) -> list[Path]:
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            found = sorted(p.glob("*.gml"))
            if not found:
                raise PcrsIOError(f"{p}: no .gml file in this folder")
            out.extend(found)
        elif not p.exists():
            raise PcrsIOError(f"{p}: no such file; check the path")
        else:
            out.append(p)
    if not out:
        raise PcrsIOError("no file to validate")
    return out


def validate(
    paths: str | os.PathLike | Iterable[str | os.PathLike],
    *,
    schemas: str | os.PathLike | bool | None = None,
    lang: str = "en",
    options: Options | None = None,
    arc_tolerance: float = ARC_TOLERANCE,
    schema_process: bool | None = None,
    reader: str = "auto",
    profile: str | os.PathLike | Profile | None = None,
    partial: bool = False,
) -> Report:
    """Validate PCRS v2.0 GML files (a delivery) against the schema and the standard's rules.

    Parameters
    ----------
    paths : path or iterable of paths
        GML files, or folders (their ``*.gml`` files): one delivery. Links and
        identifiers are checked across all of them; a link to a feature in none of them
        (PCRS-LINK-001) and a file without EmpriseEchangePCRS (PCRS-EMP-001) are errors
        unless ``partial``.
    schemas : path, bool or None
        Folder of schemas with ``catalog.xml``; None uses the installed copy when there
        is one (``pcrs schemas install``) and skips the schema step otherwise; False
        skips it.
    lang : {"en", "fr"}
        Language of the messages.
    options : Options, optional
        Thresholds (precision, emprise tolerance, plausible Z and dates). When given,
        they replace the profile's (build them from one with
        :meth:`Profile.make_options <pcrs.vector.profiles.Profile.make_options>`).
    arc_tolerance : float
        Maximum distance (m) between a linearised arc and the circle.
    schema_process : bool or None
        Run the schema step (with the compiled reader: libxml2's pass, also without
        schema) in a second process (forked, Linux only) while this one runs the rules: on two free cores the wall time is then about that of the rules alone
        (the CPU time is not lower). None: for files of at least
        :data:`SCHEMA_PROCESS_MIN_BYTES` when a second core is idle (1-minute load average
        at most the number of cores minus one) and no other thread runs in this process
        (forking beside a live thread can deadlock the child); the findings are the same
        either way.
    reader : {"auto", "fast", "lxml"}
        How the rules read the GML. ``"fast"``: a compiled scanner
        (:mod:`pcrs.vector.fastread`) once libxml2 has parsed the file without error (a
        plain parse, then the schema step); ``"lxml"``: lxml alone (the schema step then
        runs after it, on a well-formed file); ``"auto"``: ``"fast"`` for files of at least
        :data:`FAST_READER_MIN_BYTES` (the ``PCRS_GML_READER`` environment variable
        overrides it). The findings are the same, except for line numbers from 65,535 on:
        the compiled reader gives the true ones, where libxml2 gives lxml approximations.
    profile : str, path, Profile or None
        The acceptance profile (:mod:`pcrs.vector.profiles`): which rules are reported,
        at which severity, with which thresholds. None (the default): the built-in
        ``"cnig"``, the standard as written, whatever the project files; ``"strict"``;
        a TOML file; ``"auto"``: the project file (``pcrs.toml`` or ``[tool.pcrs.validate]``
        of ``pyproject.toml``) found from the working directory upward, as ``pcrs validate``
        does. ``report.profile`` names it and where it came from.
    partial : bool
        The files are a piece of a delivery: PCRS-LINK-001 and PCRS-EMP-001 are warnings
        (unless the profile sets their severity itself).

    Returns
    -------
    Report
        ``report.findings``, ``report.has_errors``, ``report.to_json()``...

    Raises
    ------
    PcrsIOError
        When a path does not exist. Unreadable content (empty, binary, not PCRS) is a
        finding, not an exception.
    ProfileError
        A profile that cannot be used (a ``ParameterError``; the message names the file
        and the line).

    Examples
    --------
    >>> report = validate("delivery.gml")  # doctest: +SKIP
    >>> report.has_errors  # doctest: +SKIP
    False
    """
    if lang not in ("en", "fr"):
        from ..errors import ParameterError

        raise ParameterError(f"lang={lang!r}: choose 'en' or 'fr'")
    if reader not in ("auto", "fast", "lxml"):
        from ..errors import ParameterError

        raise ParameterError(f"reader={reader!r}: choose 'auto', 'fast' or 'lxml'")
    prof = resolve_profile(profile)
    files = _expand(paths)
    schema_validator = None
    schema_note = None
    if schemas is False:
        schema_note = "skipped on request" if lang == "en" else "non demandée"
    else:
        from .schemas import find_schemas

        folder = find_schemas(None if schemas is None or schemas is True else schemas)
        if folder is None:
            schema_note = (
                "no installed schemas (run 'pcrs schemas install')"
                if lang == "en"
                else "aucun schéma installé (lancer 'pcrs schemas install')"
            )
        else:
            from .xsd import FeatureValidator, load_schema

            schema_validator = FeatureValidator(load_schema(folder))
    validator = Validator(
        options if options is not None else prof.make_options(),
        rules=prof.rules,
        severities=prof.run_severities(partial),
    )
    report = Report(lang=lang, schema_checked=schema_validator is not None)
    report.profile = prof.describe()
    report.partial = partial
    report.severities = dict(validator.severities)
    report.rules_off = validator.off
    # millions of small objects and no reference cycles: the cyclic garbage collector would
    # rescan them all again and again (quadratic time on big files)
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        for path in progress(files, len(files), "validating"):
            report.files.append(
                _one_file(path, validator, schema_validator, arc_tolerance, schema_process, reader)
            )
    finally:
        if gc_was_on:
            gc.enable()
    validator.file = None
    validator.finish()
    if schema_note is not None:
        validator.emit("PCRS-XSD-002", None, detail=schema_note)
    order = {str(p): i for i, p in enumerate(files)}
    findings = validator.findings
    findings.sort(key=lambda f: (order.get(f.file or "", -1), f.line or 0))
    report.findings = findings
    report.suppressed = dict(validator.suppressed)
    return report


def _can_fork() -> bool:
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


def _idle_core() -> bool:
    """At least two cores, and one of them idle (1-minute load average): a second process
    on a busy machine only competes with this one."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):
        return False
    return cores >= 2 and load <= cores - 1


def _schema_pass(path: Path, schema) -> tuple[bool, int]:
    """The schema step alone: (malformed, number of violations), as the rules pass counts them.

    Without a schema (None): whether libxml2 finds the file well-formed, ``(malformed, 0)``."""
    reader = GmlReader(path)
    for _member in reader.members(schema=schema, read=False, split_links=False):
        pass
    if schema is None:
        return reader.error is not None, 0
    return reader.malformed, reader.schema_errors


def _libxml2_pass(path: Path, schema) -> tuple[bool, int]:
    """:func:`_schema_pass` without reading anything: libxml2 streams the file and each member
    is dropped as soon as it is parsed. lxml loses syntax errors while it validates (see
    :mod:`pcrs.vector.gml`), so with ``schema`` well-formedness is decided apart: by expat
    (:func:`_expat_well_formed`, about twice libxml2's speed) when expat and the validating
    parse find nothing but schema violations; otherwise, and without schema, by a parse of
    libxml2 without schema, whose verdict and message pcrs reports.

    Returns ``(malformed, schema violations)`` as :func:`_schema_pass` does."""
    violations = None
    if schema is not None and _expat_well_formed(path):
        failed, violations, other = _libxml2_stream(path, schema)
        if not other and (violations or not failed):
            return False, violations
    malformed = _libxml2_stream(path, None)[0]
    if schema is None:
        return malformed, 0
    if violations is None:  # (the validating parse has not run yet)
        violations = _libxml2_stream(path, schema)[1]
    return malformed, violations


def _expat_well_formed(path: Path) -> bool:
    """Whether expat, a strict parser with namespaces, reads ``path`` without an error.

    Only a fast screen: False (any error, an encoding expat does not know, a DTD) sends
    the file to libxml2, whose verdict and message pcrs reports. expat is at least as
    strict as libxml2 on every well-formedness rule (``tests/test_vector_expat.py`` fuzzes
    both); libxml2's own limits (text nodes over 10 MB, nesting over 256 levels) and its
    namespace URI checks show in the validating parse, which then sends the file to
    libxml2 too."""
    import xml.parsers.expat as expat

    parser = expat.ParserCreate(namespace_separator=" ")
    seen_dtd = False

    def doctype(*_args) -> None:
        nonlocal seen_dtd
        seen_dtd = True

    parser.StartDoctypeDeclHandler = doctype
    try:
        with open(path, "rb") as fh:
            # (1 MB at a time: ParseFile reads 2 kB per call)
            while block := fh.read(1 << 20):
                parser.Parse(block, False)
        parser.Parse(b"", True)
    except (expat.ExpatError, LookupError, ValueError, OSError):
        return False
    return not seen_dtd


def _libxml2_stream(path: Path, schema) -> tuple[bool, int, int]:
    """One streaming parse by libxml2: ``(failed, schema violations, other errors)``.
    ``failed`` (an ``XMLSyntaxError``) says that the file is not well-formed only without
    ``schema``: with one, syntax errors may go unreported, and violations raise it too.
    ``other`` counts the errors of the log that are not schema violations."""
    from lxml import etree

    from .gml import _MEMBER_TAGS, parser_options

    opts = parser_options()
    if schema is not None:
        opts["schema"] = schema
    it = etree.iterparse(str(path), events=("end",), tag=_MEMBER_TAGS, **opts)
    failed = False
    try:
        for _ev, el in it:
            parent = el.getparent()
            if parent is not None and parent.getparent() is None:
                el.clear()
                parent.remove(el)
    except etree.XMLSyntaxError:
        failed = True
    violations = sum(1 for e in it.error_log if e.domain_name == "SCHEMASV")
    return failed, violations, len(it.error_log) - violations


def _use_fast_reader(reader: str, size: int, root) -> bool:
    """Whether to read this file with :mod:`pcrs.vector.fastread` (see ``validate``)."""
    choice = reader if reader != "auto" else (os.environ.get("PCRS_GML_READER") or "auto")
    if choice == "lxml" or root.has_dtd or (choice != "fast" and size < FAST_READER_MIN_BYTES):
        return False
    from .fastread import have_fast_reader  # (imports numba: only for the files that use it)

    return have_fast_reader()


def _fast_pass(path: Path, validator: Validator, schema, tolerance: float, fork: bool):
    """libxml2's pass (schema step, or a plain parse) and the rules over the fast reader.

    Returns False when the file must be read again with lxml (the caller rolls the
    validator back; the lxml pass then makes its own verdict). With ``fork``, libxml2's
    pass runs in a second process while this one runs the rules; otherwise it runs first."""
    from .fastread import FastReadUnavailable, read_members

    side = None
    if fork and _can_fork():
        try:
            side = _SchemaProcess(path, schema, _libxml2_pass)
        except (OSError, AssertionError, ValueError) as exc:
            log.debug("libxml2's pass stays in this process: %s", exc)
    if side is None and _libxml2_pass(path, schema) != (False, 0):
        return False
    done = True
    try:
        for member in read_members(path, tolerance):
            validator.member(member)
    except FastReadUnavailable as exc:
        log.debug("%s: read with lxml (%s)", path, exc)
        done = False
    except UnicodeDecodeError:  # (not UTF-8 after all: libxml2 says where)
        done = False
    except Exception as exc:
        # a numba that cannot compile the kernels here: lxml reads the file (same findings)
        from numba.core.errors import NumbaError

        if not isinstance(exc, NumbaError):
            raise
        log.warning("the compiled GML reader is not available (%s): reading with lxml", exc)
        done = False
    if side is not None:
        verdict = side.result()
        if verdict is None:  # the second process failed: the same step here
            verdict = _libxml2_pass(path, schema)
        done = done and verdict == (False, 0)
    return done


def _schema_child(conn, path: Path, schema, step) -> None:
    try:
        conn.send(step(path, schema))
    except BaseException as exc:  # reported to the parent, which redoes the step
        conn.send(repr(exc))
    finally:
        conn.close()


class _SchemaProcess:
    """The schema step of one file in a forked process (the parsed schema is inherited)."""

    def __init__(self, path: Path, schema, step=None):
        ctx = multiprocessing.get_context("fork")
        self._recv, send = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(
            target=_schema_child, args=(send, path, schema, step or _schema_pass), daemon=True
        )
        self._proc.start()
        send.close()

    def result(self) -> tuple[bool, int] | None:
        try:
            out = self._recv.recv()
        except (EOFError, OSError):
            out = None
        finally:
            self._recv.close()
            self._proc.join()
        return out if isinstance(out, tuple) else None


def _one_file(
    path: Path,
    validator: Validator,
    schema_validator,
    tolerance: float,
    schema_process=None,
    read_with: str = "auto",
) -> dict:
    t0 = time.perf_counter()
    info: dict[str, Any] = {
        "path": str(path),
        "bytes": path.stat().st_size,
        "features": {},
        "usable": True,
        "crs": None,
        "schema": "checked" if schema_validator is not None else "skipped",
    }
    try:
        root = sniff(path)
    except EntityError as exc:
        validator.start_file(str(path), None)
        validator.emit("PCRS-XML-003", None, detail=", ".join(exc.names[:5]))
        info["usable"] = False
        info["reason"] = "XML entities declared"
        return info
    except SniffError as exc:
        validator.start_file(str(path), None)
        validator.emit("PCRS-XML-001", None, detail=str(exc))
        info["usable"] = False
        info["reason"] = str(exc)
        return info
    except OSError as exc:
        validator.start_file(str(path), None)
        validator.emit("PCRS-XML-001", None, detail=f"cannot be read ({exc.strerror or exc})")
        info["usable"] = False
        info["reason"] = str(exc)
        return info
    if root.entities:
        validator.start_file(str(path), None)
        validator.emit(
            "PCRS-XML-003",
            (root.line, None, None, None, None, None),
            detail=", ".join(root.entities[:5]),
        )
        info["usable"] = False
        info["reason"] = "XML entities declared"
        return info
    if root.local != "PlanCorpsRueSimplifie" or root.ns != NS_PCRS:
        validator.start_file(str(path), None)
        shown = root.local if root.ns in ("", NS_PCRS) else f"{{{root.ns}}}{root.local}"
        validator.emit("PCRS-FILE-001", (root.line, None, None, None, None, None), root=shown)
        info["usable"] = False
        info["reason"] = f"root element {shown}"
        return info
    mark = validator.mark()
    validator.start_file(str(path), root)
    schema = schema_validator.schema if schema_validator is not None else None
    wanted = schema_process or (
        schema_process is None
        and info["bytes"] >= SCHEMA_PROCESS_MIN_BYTES
        and _idle_core()
        # never fork by itself while another thread runs (a progress bar's refresh thread
        # may hold a lock the child would then wait for forever)
        and threading.active_count() == 1
    )
    if _use_fast_reader(read_with, info["bytes"], root):
        done = _fast_pass(path, validator, schema, tolerance, wanted)
        if not done:
            validator.rollback(mark)
            validator.start_file(str(path), root)
        info["reader"] = "fast" if done else "lxml"
    else:
        done = False
        info["reader"] = "lxml"
    reader = GmlReader(path, tolerance)
    malformed = False
    schema_errors = 0
    if not done:
        side = None
        if schema is not None and wanted and _can_fork():
            try:
                side = _SchemaProcess(path, schema)
            except (OSError, AssertionError, ValueError) as exc:
                # (no fork here, or a daemonic process, which may not have children)
                log.debug("schema step stays in this process: %s", exc)
        # the rules read the file without schema, stopping at its first syntax error (lxml
        # loses syntax errors while it validates, see pcrs.vector.gml); libxml2 counts the
        # schema violations in a second pass, or in the second process meanwhile
        for member in reader.members():
            validator.member(member)
        if side is not None:
            verdict = side.result()
            if verdict is None:  # the second process failed: the same step here
                verdict = _schema_pass(path, schema)
            malformed, schema_errors = verdict
        elif schema is not None and reader.error is None:
            schema_errors = _libxml2_stream(path, schema)[1]
    state = validator.file
    assert state is not None  # start_file above
    if malformed:
        line, msg = reader.locate_error()
        validator.xml_error(line, msg or "malformed XML")
    elif reader.error is not None:
        validator.xml_error(reader.error_line, reader.error)
    elif schema_errors:
        _place_schema_errors(path, validator, schema_validator, root)
    validator.end_file()
    info["features"] = dict(state.counts)
    if state.srs:
        info["crs"] = next(iter(state.srs))
    info["seconds"] = round(time.perf_counter() - t0, 3)
    return info


def _place_schema_errors(path: Path, validator: Validator, schema_validator, root) -> None:
    """Second pass, only for a file with schema violations: validate feature by feature
    to give each violation its line and feature (skipping those a rule already reported)."""
    from .model import NS_PCRS
    from .rules import RULES

    # a violation a rule already reported on the same line and element is not repeated (by
    # the rule's own severity: a profile that turns that rule into a warning does not bring
    # the violation back as an error)
    reported = set()
    for f in validator.findings:
        if f.file == str(path) and RULES[f.rule].severity == "error":
            reported.add((f.line, f.field))
            reported.add((f.line, f.feature_class))
    state = validator.file
    assert state is not None  # the file being checked
    reader = GmlReader(path)
    idobjet = "{" + NS_PCRS + "}idObjet"
    idhab = "{" + NS_PCRS + "}idHabillage"
    for member in reader.members(keep_element=True, read=False, split_links=False):
        assert isinstance(member, Member)  # (links are not split out)
        element: Any = member.element
        child = next((c for c in element if isinstance(c.tag, str)), None)
        if child is None:
            continue
        errors = schema_validator.validate(child)
        if not errors:
            continue
        cls = child.tag.rpartition("}")[2]
        gid = child.get("{http://www.opengis.net/gml/3.2}id")
        ido = child.findtext(idobjet) or child.findtext(idhab)
        x = y = None
        serial = state.gml_ids.get(gid) if gid is not None else None
        if serial is not None:
            x, y = state.loc(serial)[4:6]
        for err in errors:
            if any((err.line, name) in reported for name in err.names):
                continue
            reported.add((err.line, err.element))
            validator.emit(
                "PCRS-XSD-001", (err.line, cls, gid, ido, x, y), err.element,
                detail=err.message_en, detail_fr=err.message_fr,
            )  # fmt: skip
    if reader.root is not None:
        for err in schema_validator.validate(reader.root):
            if any((err.line, name) in reported for name in err.names | {"version"}):
                continue
            validator.emit(
                "PCRS-XSD-001", (err.line, root.local, root.attrib.get("gml:id"), None, None, None),
                err.element, detail=err.message_en, detail_fr=err.message_fr,
            )  # fmt: skip
