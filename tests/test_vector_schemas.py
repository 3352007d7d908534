"""Schema installation (copy or download, never the network in tests) and the XML catalog."""

from __future__ import annotations

from pathlib import Path

import pytest

from pcrs.errors import ParameterError, PcrsIOError
from pcrs.vector import schemas as sch
from pcrs.vector.xsd import Catalog, load_schema


def test_cache_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert sch.cache_dir() == tmp_path / "pcrs" / "schemas"


def test_install_from_folder_and_load_offline(pcrs_dir, tmp_path):
    dest = sch.install(pcrs_dir / "schemas", dest=tmp_path / "s")
    schema = load_schema(dest)
    assert schema is not None
    # re-install replaces the old copy atomically
    assert sch.install(pcrs_dir / "schemas", dest=tmp_path / "s") == tmp_path / "s"


def test_install_refuses_a_folder_without_catalog(tmp_path):
    with pytest.raises(ParameterError, match=r"catalog\.xml"):
        sch.install(tmp_path, dest=tmp_path / "s")
    assert not (tmp_path / "s").exists()


def test_download_crawls_imports_through_a_fetcher(pcrs_dir, tmp_path):
    """The downloader follows every import from the PCRS schema; the 'network' is the shared copy."""
    catalog = Catalog(pcrs_dir / "schemas" / "catalog.xml")
    fetched = []

    def fetch(url: str) -> bytes:
        fetched.append(url)
        local = catalog.resolve(url)
        if local is None or not Path(local).is_file():
            raise OSError(f"404 {url}")
        return Path(local).read_bytes()

    dest = sch.install(None, dest=tmp_path / "dl", fetch=fetch)
    assert load_schema(dest) is not None
    assert any("gml/3.2.1/gml.xsd" in u for u in fetched)
    assert any("xlink.xsd" in u for u in fetched)
    assert len(fetched) >= 55


def test_download_failure_leaves_no_half_install(tmp_path):
    def fetch(url: str) -> bytes:
        raise OSError("network unreachable")

    with pytest.raises(PcrsIOError, match="pcrs schemas install --from"):
        sch.install(None, dest=tmp_path / "dl", fetch=fetch)
    assert not (tmp_path / "dl").exists()


def test_unmapped_import_is_never_fetched(tmp_path):
    (tmp_path / "pcrs").mkdir()
    xsd = tmp_path / "pcrs" / "CNIG_PCRS_v2.0.xsd"
    xsd.write_text(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">'
        '<xs:import namespace="urn:x" schemaLocation="http://example.invalid/x.xsd"/></xs:schema>'
    )
    (tmp_path / "catalog.xml").write_text(
        '<catalog xmlns="urn:oasis:names:tc:entity:xmlns:xml:catalog">'
        '<system systemId="https://cnigfr.github.io/PCRS/schemas/CNIG_PCRS_v2.0.xsd" '
        'uri="pcrs/CNIG_PCRS_v2.0.xsd"/></catalog>'
    )
    # loads (the import resolves to nothing) without any network access
    try:
        load_schema(tmp_path)
    except PcrsIOError as exc:
        assert "does not load offline" in str(exc)


def test_local_layout_of_public_urls():
    assert sch.local_path_for("http://schemas.opengis.net/gml/3.2.1/gml.xsd") == "gml/3.2.1/gml.xsd"
    assert sch.local_path_for("http://www.w3.org/1999/xlink.xsd") == "xlink/xlink.xsd"
    assert sch.local_path_for(sch.PUBLIC_ROOT) == "pcrs/CNIG_PCRS_v2.0.xsd"
    assert sch.local_path_for("http://evil.example/x.xsd") is None
