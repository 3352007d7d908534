"""What made each output: the run manifest of an output folder.

A tile run (:func:`pcrs.tiling.engine.run`, :func:`pcrs.process`) that is
given a :class:`Manifest` records, for every tile it finishes, a *key*: a
hash of the pcrs version, the parameters of the run section (resolution,
steps, buffer...), the tile's name and the content fingerprints of the files
the tile was read from. A later run skips a tile only when its outputs are on
disk with the sizes recorded *and* the recorded key equals the key it would
compute now. So:

- the same command run again skips finished work and finishes what an
  interrupted run left (outputs without a record are recomputed);
- a tile whose input files changed is recomputed (its key changed);
- a run with other parameters into a folder made with different ones is
  refused before any work, with one line naming what differs
  (``resolution 0.5 -> 1.0``), unless ``overwrite`` is given;
- outputs that no manifest describes (a folder written by an older pcrs or
  another tool) are not served either: refused without ``overwrite``.

Fingerprints
------------
A file's fingerprint is the BLAKE2b hash of its whole content. Hashing every
input on every run would read the catalog once more, so the manifest keeps,
per file, its size and modification time beside the hash (as ``git`` does):
a file whose size and ``mtime`` are unchanged is not hashed again; a file
touched but not changed is hashed again and recognised as unchanged. The
outputs of a run are hashed by the worker that wrote them (while they are
still in the page cache), so a second pass that reads them needs no hashing.

The manifest is one JSON file (``manifest.json`` in the output folder),
replaced atomically; it is written by the parent process only, under the
folder's run lock (:mod:`pcrs.io.runlock`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .._version import __version__
from ..errors import OutputExistsError

__all__ = ["MANIFEST_NAME", "Manifest", "describe_change", "file_fingerprint"]

log = logging.getLogger(__name__)

#: file name of the manifest in an output folder
MANIFEST_NAME = "manifest.json"
#: version of the manifest's layout
FORMAT = 1
#: bytes read at a time when hashing
_BLOCK = 1 << 20
#: seconds between two saves while results arrive (and one at the end)
_SAVE_EVERY = 2.0


def file_fingerprint(path: str | os.PathLike) -> dict[str, Any]:
    """Size, modification time and BLAKE2b hash (hex) of a file's content."""
    p = Path(path)
    st = p.stat()
    h = hashlib.blake2b(digest_size=16)
    with open(p, "rb") as f:
        while block := f.read(_BLOCK):
            h.update(block)
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "blake2b": h.hexdigest()}


def _stat_matches(path: Path, record: Mapping[str, Any]) -> bool:
    try:
        st = path.stat()
    except OSError:
        return False
    return st.st_size == record.get("size") and st.st_mtime_ns == record.get("mtime_ns")


def _canonical(params: Mapping[str, Any]) -> str:
    return json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)


def _fmt(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ",".join(_fmt(v) for v in value) or "none"
    return str(value)


def describe_change(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """``"resolution 0.5 -> 1, steps noise,ground -> none"``: what differs between
    two parameter sets (JSON-ready mappings)."""
    diffs = []
    for name in sorted(set(before) | set(after)):
        a, b = before.get(name), after.get(name)
        if json.dumps(a, sort_keys=True, default=str) != json.dumps(b, sort_keys=True, default=str):
            diffs.append(f"{name} {_fmt(a)} -> {_fmt(b)}")
    return ", ".join(diffs)


class Manifest:
    """The record of what made the outputs of one folder.

    Parameters
    ----------
    folder : path-like
        The output folder; the manifest is ``folder/manifest.json``.

    Notes
    -----
    Paths inside ``folder`` are stored relative to it (the folder can be
    moved); other paths (the inputs) are stored resolved.
    """

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        self.path = self.folder / MANIFEST_NAME
        self.files: dict[str, dict[str, Any]] = {}
        self.sections: dict[str, dict[str, Any]] = {}
        self.existed = False
        self._fresh: dict[str, bool] = {}
        self._stale: dict[str, list[Path]] = {}
        self._dirty = False
        self._saved_at = 0.0
        self._load()

    # --- storage ------------------------------------------------------------------

    def _load(self) -> None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except OSError as exc:
            log.warning("cannot read %s (%s); starting a new manifest", self.path, exc)
            return
        try:
            data = json.loads(text)
            if data.get("format") != FORMAT:
                raise ValueError(f"manifest format {data.get('format')!r}")
            self.files = dict(data["files"])
            self.sections = dict(data["sections"])
            self.existed = True
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            # a damaged manifest describes nothing: its outputs are refused or recomputed
            log.warning("%s is not a pcrs manifest (%s); it is ignored", self.path, exc)

    def save(self, force: bool = True) -> None:
        """Write the manifest atomically (at most every 2 s unless ``force``)."""
        if not self._dirty or (not force and time.monotonic() - self._saved_at < _SAVE_EVERY):
            return
        from ..io.atomic import atomic_path

        data = {
            "format": FORMAT,
            "pcrs": __version__,
            "files": self.files,
            "sections": self.sections,
        }
        self.folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.path, overwrite=True) as tmp:
            tmp.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        self._dirty = False
        self._saved_at = time.monotonic()

    def _name(self, path: str | os.PathLike) -> str:
        p = Path(path).resolve()
        try:
            return p.relative_to(self.folder.resolve()).as_posix()
        except ValueError:
            return str(p)

    def _path(self, name: str) -> Path:
        p = Path(name)
        return p if p.is_absolute() else self.folder / p

    # --- fingerprints -------------------------------------------------------------

    def fingerprints(self, paths: Iterable[str | os.PathLike], threads: int = 4) -> dict[str, str]:
        """The content hash of each path (``{str(path): hash}``), hashing only the
        files whose size or modification time changed since they were recorded."""
        names = [str(p) for p in paths]
        todo = []
        out: dict[str, str] = {}
        for p in names:
            rec = self.files.get(self._name(p))
            if rec is not None and _stat_matches(Path(p), rec):
                out[p] = rec["blake2b"]
            else:
                todo.append(p)
        if todo:
            t0 = time.perf_counter()
            # hashlib releases the GIL on large buffers: threads hash files in parallel
            with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
                for p, fp in zip(todo, pool.map(file_fingerprint, todo), strict=True):
                    self.record_file(p, fp)
                    out[p] = fp["blake2b"]
            log.info("hashed %d file(s) in %.1f s", len(todo), time.perf_counter() - t0)
        return out

    def record_file(self, path: str | os.PathLike, fingerprint: Mapping[str, Any]) -> None:
        """Remember a file's fingerprint (computed elsewhere, e.g. by a worker)."""
        self.files[self._name(path)] = dict(fingerprint)
        self._dirty = True

    # --- sections -----------------------------------------------------------------

    def section_params(self, section: str) -> dict[str, Any] | None:
        """The parameters the section was last run with, or None."""
        sec = self.sections.get(section)
        return None if sec is None else dict(sec.get("params", {}))

    def prepare(self, section: str, params: Mapping[str, Any], *, overwrite: bool) -> list[Path]:
        """Check that a run of ``section`` with ``params`` may write into the folder.

        Returns the outputs recorded under other parameters (to remove once
        the run has written its own, when ``overwrite``); :meth:`take_stale`
        gives them too. Calling it again with the same parameters changes nothing.

        Raises
        ------
        OutputExistsError
            The section was made with other parameters and ``overwrite`` is false.
        """
        params = {"pcrs": __version__, **dict(params)}
        sec = self.sections.get(section)
        if sec is not None and _canonical(sec.get("params", {})) != _canonical(params):
            if not overwrite:
                raise OutputExistsError(
                    f"{self.folder} holds {section} results made with other parameters "
                    f"({describe_change(sec.get('params', {}), params)}); add --overwrite "
                    "(overwrite=True) to replace them, or choose another output folder"
                )
            stale = [
                self._path(o)
                for entry in sec.get("tiles", {}).values()
                for o in entry.get("outputs", {})
            ]
            self._stale.setdefault(section, []).extend(stale)
            sec = None
        else:
            stale = []
        self._fresh.setdefault(section, sec is None)
        if sec is None:
            self.sections[section] = {"params": json.loads(_canonical(params)), "tiles": {}}
            self._dirty = True
        return stale

    def take_stale(self, section: str) -> list[Path]:
        """The outputs recorded under the parameters :meth:`prepare` replaced (once)."""
        return self._stale.pop(section, [])

    def is_fresh(self, section: str) -> bool:
        """The section had no record before :meth:`prepare` (or another run's was dropped)."""
        return self._fresh.get(section, True)

    def task_key(
        self, section: str, tile: str, sources: Sequence[str], hashes: Mapping[str, str]
    ) -> str:
        """The key of one tile's computation: section parameters, tile name and the
        content of its sources."""
        h = hashlib.blake2b(digest_size=16)
        h.update(_canonical(self.sections[section]["params"]).encode())
        h.update(tile.encode())
        for content in sorted(hashes[s] for s in sources):
            h.update(content.encode())
        return h.hexdigest()

    def entry(self, section: str, tile: str) -> dict[str, Any] | None:
        """The record of one tile, or None."""
        return self.sections.get(section, {}).get("tiles", {}).get(tile)

    def is_current(self, section: str, tile: str, key: str) -> bool:
        """The tile was finished with this key and its outputs are on disk, unchanged in size."""
        entry = self.entry(section, tile)
        if entry is None or entry.get("key") != key:
            return False
        for name, size in entry.get("outputs", {}).items():
            try:
                if self._path(name).stat().st_size != size:
                    return False
            except OSError:
                return False
        return True

    def describe_outputs(self, outputs: Sequence[str | os.PathLike]) -> str:
        """Why existing outputs cannot be served: a short reason."""
        if not self.existed:
            return (
                f"{self.folder} holds outputs ({Path(outputs[0]).name}...) that no pcrs "
                "manifest describes, so what made them is unknown"
            )
        return f"{self.folder} holds outputs whose record does not match this run"

    def record(
        self,
        section: str,
        tile: str,
        key: str,
        outputs: Mapping[str, Mapping[str, Any]],
        status: str,
        info: Mapping[str, Any] | None = None,
    ) -> None:
        """Record a finished tile: its key, the fingerprint of each output and the
        JSON-ready facts its function returned (given back when it is skipped)."""
        tiles = self.sections[section]["tiles"]
        tiles[tile] = {
            "key": key,
            "status": status,
            "outputs": {self._name(p): int(fp["size"]) for p, fp in outputs.items()},
            "info": dict(info or {}),
        }
        for p, fp in outputs.items():
            self.record_file(p, fp)
        self._dirty = True

    def forget(self, section: str, tile: str) -> None:
        """Drop the record of a tile (it failed or is being recomputed)."""
        if self.sections.get(section, {}).get("tiles", {}).pop(tile, None) is not None:
            self._dirty = True


def refuse_unknown_outputs(manifest: Manifest, existing: Sequence[Path]) -> None:
    """Raise :class:`OutputExistsError` for outputs on disk that no record explains."""
    if existing:
        raise OutputExistsError(
            f"{manifest.describe_outputs(existing)}; add --overwrite (overwrite=True) to "
            "recompute them, or choose another output folder"
        )
