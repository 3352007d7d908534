"""One convention for machine output: ``--json`` prints JSON to stdout, ``--json-out FILE``
writes it; the old ``pcrs validate --json FILE`` still works, with a deprecation notice."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from pcrs.cli.main import COMMANDS, FindingsExit, cli
from pcrs.cli.options import _legacy_json_args
from pcrs.vector.sample import delivery_text

#: commands with machine output (any other command with a --json must follow the convention)
JSON_COMMANDS = {"info", "catalog", "tile", "classify", "rasterize", "process", "evaluate",
                 "validate"}  # fmt: skip


def _commands() -> dict[str, click.Command]:
    ctx = click.Context(cli)
    return {name: cli.get_command(ctx, name) for name in COMMANDS}  # type: ignore[misc]


def test_every_command_follows_one_convention():
    with_json = set()
    for name, cmd in _commands().items():
        params = {p.name: p for p in cmd.params if isinstance(p, click.Option)}
        for p in params.values():
            if "--json" in p.opts:
                assert p.is_flag and p.name == "as_json", f"pcrs {name}: --json is not the flag"
                out = params.get("json_out")
                assert out is not None and out.opts == ["--json-out"], f"pcrs {name}: --json-out"
                assert "overwrite" in params, f"pcrs {name}: --json-out needs --overwrite"
                with_json.add(name)
    assert not JSON_COMMANDS - with_json, JSON_COMMANDS - with_json


@pytest.mark.parametrize(
    ("args", "expected", "legacy"),
    [
        (["a.gml", "--json"], ["a.gml", "--json"], None),
        (["a.gml", "--json", "--html", "r.html"], ["a.gml", "--json", "--html", "r.html"], None),
        (["--json", "a.gml"], ["--json", "a.gml"], None),
        (["--json", "a.XML"], ["--json", "a.XML"], None),
        (["a.gml", "--json", "r.json"], ["a.gml", "--json-out", "r.json"], "r.json"),
        (["a.gml", "--json", "report"], ["a.gml", "--json-out", "report"], "report"),
        (["a.gml", "--json=r.json"], ["a.gml", "--json-out", "r.json"], "r.json"),
        (["--", "--json", "r.json"], ["--", "--json", "r.json"], None),
    ],
)
def test_old_json_file_form_is_detected(args, expected, legacy):
    assert _legacy_json_args(args) == (expected, legacy)


def test_a_folder_after_json_is_an_input(tmp_path):
    folder = tmp_path / "livraison"
    folder.mkdir()
    assert _legacy_json_args(["--json", str(folder)]) == (["--json", str(folder)], None)


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    text = delivery_text(2, seed=3).replace("<typeMur>01</typeMur>", "<typeMur>07</typeMur>", 1)
    p = tmp_path / "ko.gml"
    p.write_text(text, encoding="utf-8")
    return p


def test_validate_json_prints_only_json_to_stdout(broken):
    result = CliRunner().invoke(cli, ["validate", "--no-schema", str(broken), "--json"])
    assert isinstance(result.exception, FindingsExit), result.output  # exit code 1 unchanged
    data = json.loads(result.stdout)
    assert data["summary"]["errors"] == 1
    assert "Errors found" in result.stderr and "deprecated" not in result.stderr
    quiet = CliRunner().invoke(cli, ["validate", "-q", "--json", "--no-schema", str(broken)])
    assert json.loads(quiet.stdout)["summary"]["errors"] == 1


def test_validate_json_out_writes_the_file_and_keeps_the_text(broken, tmp_path):
    out = tmp_path / "r.json"
    args = ["validate", "--no-schema", str(broken), "--json-out", str(out)]
    result = CliRunner().invoke(cli, args)
    assert isinstance(result.exception, FindingsExit)
    assert "Errors found" in result.stdout and not result.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["summary"]["errors"] == 1
    again = CliRunner().invoke(cli, args)
    assert "--overwrite" in str(again.exception)
    both = CliRunner().invoke(cli, [*args, "--overwrite", "--json"])
    assert json.loads(both.stdout) == json.loads(out.read_text(encoding="utf-8"))


@pytest.mark.parametrize("form", [["--json", "{}"], ["--json={}"]])
def test_validate_old_json_file_form_still_works_with_a_notice(broken, tmp_path, form):
    out = tmp_path / "r.json"
    args = ["validate", "--no-schema", str(broken), *(a.format(out) for a in form)]
    result = CliRunner().invoke(cli, args)
    assert isinstance(result.exception, FindingsExit)
    assert json.loads(out.read_text(encoding="utf-8"))["summary"]["errors"] == 1
    assert "deprecated" in result.stderr and f"--json-out {out}" in result.stderr
    assert "Errors found" in result.stdout


def test_info_json_and_json_out(small_scene_file, tmp_path):
    out = tmp_path / "facts.json"
    runner = CliRunner()
    printed = runner.invoke(cli, ["info", str(small_scene_file), "--json"])
    assert printed.exit_code == 0, printed.output
    (rec,) = json.loads(printed.stdout)
    written = runner.invoke(cli, ["info", str(small_scene_file), "--json-out", str(out)])
    assert written.exit_code == 0, written.output
    assert json.loads(out.read_text(encoding="utf-8")) == [rec]
    assert "points" in written.stdout and not written.stdout.lstrip().startswith("[")
    refused = runner.invoke(cli, ["info", str(small_scene_file), "--json-out", str(out)])
    assert "--overwrite" in str(refused.exception)
    same = runner.invoke(cli, ["info", str(small_scene_file), "--json-out", str(small_scene_file)])
    assert "also an input" in str(same.exception)


def test_real_subprocess_pipes_json(broken):
    proc = subprocess.run(
        [sys.executable, "-m", "pcrs", "validate", "--no-schema", str(broken), "--json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["summary"]["valid"] is False
    assert "Errors found" in proc.stderr
