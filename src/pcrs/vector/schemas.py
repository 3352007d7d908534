"""The official PCRS and GML schemas in a per-user cache, for offline schema validation.

``pcrs schemas install`` puts them in ``<user cache>/pcrs/schemas`` (platformdirs:
``$XDG_CACHE_HOME/pcrs/schemas`` on Linux, ``~/Library/Caches/pcrs/schemas`` on macOS,
``%LOCALAPPDATA%\\pcrs\\Cache\\schemas`` on Windows), either copied from a folder that
already holds them with an XML catalog, or downloaded once from their public URLs
(the CNIG PCRS schema, and what it imports: OGC GML 3.2.1, ISO 19139, W3C XLink and
xml). A downloaded copy gets its own ``catalog.xml``.

The installed folder is what :func:`pcrs.vector.xsd.load_schema` reads.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from lxml import etree

from ..errors import ParameterError, PcrsIOError

__all__ = [
    "PUBLIC_ROOT",
    "cache_dir",
    "download_schemas",
    "find_schemas",
    "install",
    "local_path_for",
]

#: where the validator's entry schema is published
PUBLIC_ROOT = "https://cnigfr.github.io/PCRS/schemas/CNIG_PCRS_v2.0.xsd"

_XS = "{http://www.w3.org/2001/XMLSchema}"

#: URL prefix -> folder of the installed layout (the layout of the shared test copy)
_LAYOUT = (
    ("http://schemas.opengis.net/", ""),
    ("https://schemas.opengis.net/", ""),
    ("http://www.w3.org/1999/xlink.xsd", "xlink/xlink.xsd"),
    ("https://www.w3.org/1999/xlink.xsd", "xlink/xlink.xsd"),
    ("http://www.w3.org/2001/xml.xsd", "xml/xml.xsd"),
    ("https://www.w3.org/2001/xml.xsd", "xml/xml.xsd"),
    ("https://cnigfr.github.io/PCRS/schemas/", "pcrs/"),
    ("http://cnigfr.github.io/PCRS/schemas/", "pcrs/"),
)


def cache_dir() -> Path:
    """The folder the schemas are installed in (it may not exist yet)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("pcrs", appauthor=False)) / "schemas"


def _usable(folder: Path) -> bool:
    return (folder / "catalog.xml").is_file()


def find_schemas(explicit: str | os.PathLike | None = None) -> Path | None:
    """The schema folder to use: ``explicit``, else ``$PCRS_SCHEMAS``, else the cache.

    Returns None when no installed copy exists (the validator then skips the schema step).

    Raises
    ------
    ParameterError
        When ``explicit`` is given and has no ``catalog.xml``.
    """
    if explicit is not None:
        folder = Path(explicit)
        if not _usable(folder):
            raise ParameterError(
                f"{folder}: no catalog.xml in this folder; give a folder made by "
                "'pcrs schemas install', or run it first"
            )
        return folder
    env = os.environ.get("PCRS_SCHEMAS")
    if env and _usable(Path(env)):
        return Path(env)
    folder = cache_dir()
    return folder if _usable(folder) else None


def local_path_for(url: str) -> str | None:
    """Relative path of ``url`` in the installed layout, or None when it is not a known host."""
    for prefix, target in _LAYOUT:
        if url == prefix or (prefix.endswith("/") and url.startswith(prefix)):
            return target + url[len(prefix) :] if prefix.endswith("/") else target
    return None


def _fetch_url(url: str) -> bytes:  # pragma: no cover - needs the network
    import urllib.request

    req = urllib.request.Request(url, headers={"User-Agent": "pcrs-schemas-install"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return resp.read()


def download_schemas(
    dest: str | os.PathLike, fetch: Callable[[str], bytes] | None = None, root: str = PUBLIC_ROOT
) -> list[str]:
    """Download ``root`` and every schema it imports or includes into ``dest``.

    Writes ``dest/catalog.xml`` mapping the public URLs to the local copies.

    Parameters
    ----------
    dest : path-like
    fetch : callable, optional
        ``url -> bytes``; the default uses :mod:`urllib`. Tests pass a local one.
    root : str
        URL of the entry schema.

    Returns
    -------
    list of str
        The URLs fetched.
    """
    fetch = fetch or _fetch_url
    dest = Path(dest)
    todo = [root]
    done: list[str] = []
    seen = {root}
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    while todo:
        url = todo.pop()
        rel = local_path_for(url)
        if rel is None:
            raise PcrsIOError(f"{url}: a schema from an unexpected host; refusing to download it")
        try:
            data = fetch(url)
        except OSError as exc:
            raise PcrsIOError(
                f"cannot download {url} ({exc}); check the connection, or install from a "
                "local copy with 'pcrs schemas install --from DIR'"
            ) from exc
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        done.append(url)
        try:
            doc = etree.fromstring(data, parser)
        except etree.XMLSyntaxError as exc:
            raise PcrsIOError(f"{url}: the downloaded schema is not XML ({exc})") from exc
        for el in doc.iter(_XS + "import", _XS + "include", _XS + "redefine"):
            loc = el.get("schemaLocation")
            if not loc:
                continue
            full = urllib.parse.urljoin(url, loc)
            if full not in seen:
                seen.add(full)
                todo.append(full)
    _write_catalog(dest)
    return done


def _write_catalog(dest: Path) -> None:
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<catalog xmlns="urn:oasis:names:tc:entity:xmlns:xml:catalog" prefer="system">',
    ]
    for prefix, target in _LAYOUT:
        if prefix.endswith("/"):
            lines.append(
                f'  <rewriteSystem systemIdStartString="{prefix}" rewritePrefix="./{target}"/>'
            )
            lines.append(f'  <rewriteURI uriStartString="{prefix}" rewritePrefix="./{target}"/>')
        else:
            lines.append(f'  <system systemId="{prefix}" uri="{target}"/>')
            lines.append(f'  <uri name="{prefix}" uri="{target}"/>')
    lines.append("</catalog>")
    (dest / "catalog.xml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def install(
    source: str | os.PathLike | None = None,
    dest: str | os.PathLike | None = None,
    fetch: Callable[[str], bytes] | None = None,
) -> Path:
    """Install the schemas into ``dest`` (default :func:`cache_dir`) and return it.

    The new copy replaces the old one only once it loads: a failed install leaves
    the previous one untouched.

    Parameters
    ----------
    source : path-like, optional
        A folder holding the schemas and a ``catalog.xml`` (copied as is, then checked
        by loading the schema offline). Without it, the schemas are downloaded once.
    dest : path-like, optional
        Where to install (default: the user cache).
    fetch : callable, optional
        See :func:`download_schemas`.

    Returns
    -------
    Path
        The folder holding the installed schemas.
    """
    from .xsd import load_schema

    dest = Path(dest) if dest is not None else cache_dir()
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".schemas-", dir=dest.parent))
    try:
        staging = tmp / "schemas"
        if source is not None:
            src = Path(source)
            if not _usable(src):
                raise ParameterError(
                    f"{src}: no catalog.xml in this folder; give the folder that holds the "
                    "schemas and their XML catalog"
                )
            shutil.copytree(src, staging)
        else:
            staging.mkdir()
            download_schemas(staging, fetch)
        load_schema(staging)  # raises when incomplete
        old = None
        if dest.exists():
            old = tmp / "old"
            os.replace(dest, old)
        os.replace(staging, dest)
        return dest
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(tmp)
