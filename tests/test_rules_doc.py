"""docs/rules.md holds the catalogue of the rule registry, committed (it cannot drift)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pcrs.vector.rules import RULES
from pcrs.vector.rules_catalogue import BEGIN, COMMAND, END, catalogue, check, main, render_page

PAGE = Path(__file__).resolve().parents[1] / "docs" / "rules.md"


def test_committed_catalogue_is_up_to_date():
    text = PAGE.read_text(encoding="utf-8")
    assert render_page(text) == text, f"docs/rules.md is out of date; regenerate it: {COMMAND}"


def test_catalogue_lists_every_rule_once_in_registry_order():
    text = catalogue()
    ids = [line.split("`")[1] for line in text.splitlines() if line.startswith("| `")]
    assert ids == list(RULES)
    headings = [line for line in text.splitlines() if line.startswith("### ")]
    assert "### PCRS-GEOM" in headings and len(headings) == len(set(headings))


def test_write_regenerates_only_the_generated_part(tmp_path):
    page = tmp_path / "rules.md"
    page.write_text(f"# Title\n\nprose before\n\n{BEGIN}\nstale\n{END}\n\nprose after\n")
    assert not check(page)
    assert main(["--write", str(page)]) == 0
    text = page.read_text(encoding="utf-8")
    assert check(page) and main(["--check", str(page)]) == 0
    assert text.startswith("# Title\n\nprose before\n\n")
    assert text.endswith(f"{END}\n\nprose after\n")
    assert "stale" not in text and "PCRS-CODE-001" in text


def test_check_names_the_command_when_stale(tmp_path, capsys):
    page = tmp_path / "rules.md"
    page.write_text(f"{BEGIN}\n{END}\n")
    assert main(["--check", str(page)]) == 1
    assert COMMAND in capsys.readouterr().err


def test_page_without_markers_is_refused(tmp_path, capsys):
    page = tmp_path / "rules.md"
    page.write_text("# no markers\n")
    with pytest.raises(ValueError, match="no generated part"):
        render_page(page.read_text())
    assert main(["--write", str(page)]) == 2
    assert "no generated part" in capsys.readouterr().err
