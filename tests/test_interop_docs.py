"""The examples of docs/interop.md run as written: each section after the setup block, in a
fresh folder; a section that needs an optional package skips, with the reason, without it."""

from __future__ import annotations

import importlib
import re
import shlex
from pathlib import Path

import pytest

from pcrs.cli.main import main

DOC = Path(__file__).resolve().parents[1] / "docs" / "interop.md"

#: tag of a block -> the module it needs (None: pcrs alone)
NEEDS = {"setup": None, "bridge": None, "qgis": None, "pdal": "pdal", "open3d": "open3d",
         "geopandas": "geopandas"}  # fmt: skip

_BLOCK = re.compile(r"<!-- docs-test: (\w+) -->\n```(\w+)\n(.*?)```", re.S)


def _sections() -> dict[str, list[tuple[str, str, str]]]:
    """Section title -> its (tag, language, code) blocks; the setup block under ''."""
    out: dict[str, list[tuple[str, str, str]]] = {}
    for part in re.split(r"^## ", DOC.read_text(encoding="utf-8"), flags=re.M):
        title = part.splitlines()[0] if part.strip() and not part.startswith("#") else ""
        blocks = _BLOCK.findall(part)
        if blocks:
            out.setdefault(title, []).extend(blocks)
    return out


SECTIONS = _sections()


def test_every_code_block_is_tagged():
    text = DOC.read_text(encoding="utf-8")
    assert text.count("```python") + text.count("```console") == sum(
        len(b) for b in SECTIONS.values()
    )
    assert all(tag in NEEDS for blocks in SECTIONS.values() for tag, _l, _c in blocks)
    assert [tag for tag, _l, _c in SECTIONS[""]] == ["setup"]


def _need(module: str) -> None:
    try:
        importlib.import_module(module)
    except ImportError as exc:
        pytest.skip(f"the example needs {module!r}, which cannot be imported here ({exc})")


@pytest.mark.parametrize("title", [t for t in SECTIONS if t])
def test_section_runs(title, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__main__"}
    for tag, lang, code in SECTIONS[""] + SECTIONS[title]:
        if NEEDS[tag]:  # the blocks before it ran; this one and the rest need the package
            _need(NEEDS[tag])
        if lang == "python":
            exec(compile(code, f"{DOC.name}:{title}", "exec"), namespace)
            continue
        for line in code.splitlines():
            if line.startswith("$ pcrs "):
                with pytest.raises(SystemExit) as exc:
                    main(shlex.split(line[len("$ pcrs ") :]))
                assert exc.value.code == 0, line
