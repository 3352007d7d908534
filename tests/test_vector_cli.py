"""``pcrs validate`` and ``pcrs schemas``: outputs, exit codes, languages, the JSON contract."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest
from click.testing import CliRunner

from pcrs.cli.main import FindingsExit, cli, main
from pcrs.vector.sample import delivery_text

CONTRACT = {"rule", "severity", "message", "file", "line", "feature_class", "gml_id", "id_objet",
            "x", "y"}  # fmt: skip


@pytest.fixture
def clean(tmp_path):
    p = tmp_path / "ok.gml"
    p.write_text(delivery_text(2, seed=3), encoding="utf-8")
    return p


@pytest.fixture
def broken(tmp_path):
    text = delivery_text(2, seed=3).replace("<typeMur>01</typeMur>", "<typeMur>07</typeMur>", 1)
    p = tmp_path / "ko.gml"
    p.write_text(text, encoding="utf-8")
    return p


def test_clean_delivery_exits_0(clean):
    result = CliRunner().invoke(cli, ["validate", "--no-schema", str(clean)])
    assert result.exit_code == 0, result.output
    assert "No error" in result.output


def test_errors_exit_1_and_reports_are_written(broken, tmp_path):
    out = tmp_path / "out"
    args = ["validate", str(broken), "--no-schema", "--lang", "fr",
            "--json-out", str(out / "r.json"), "--html", str(out / "r.html"), "--gpkg", str(out / "r.gpkg")]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert isinstance(result.exception, FindingsExit), result.output
    assert "Erreurs trouvées" in result.output
    data = json.loads((out / "r.json").read_text(encoding="utf-8"))
    assert set(data) == {"files", "findings", "summary"}
    assert data["summary"]["errors"] == 1
    (err,) = [f for f in data["findings"] if f["severity"] == "error"]
    assert set(err) >= CONTRACT
    assert err["rule"] == "PCRS-CODE-001" and err["feature_class"] == "MurPCRS"
    assert "liste fermée" in err["message"]
    page = (out / "r.html").read_text(encoding="utf-8")
    assert "PCRS-CODE-001" in page and "<svg" in page and "sortTable" in page
    assert "http://" not in page.split("<body>")[1].replace("http://cnig.gouv.fr/pcrs", "")
    con = sqlite3.connect(out / "r.gpkg")
    rows = con.execute("select rule, severity, gml_id from findings").fetchall()
    assert ("PCRS-CODE-001", "error", "FR_0003_0_mu") in rows
    # existing outputs are refused without --overwrite
    again = CliRunner().invoke(cli, args)
    from pcrs.errors import OutputExistsError

    assert isinstance(again.exception, OutputExistsError) and "--overwrite" in str(again.exception)
    assert isinstance(CliRunner().invoke(cli, [*args, "--overwrite"]).exception, FindingsExit)


def test_lidar_option_with_a_missing_folder_is_a_usage_error(clean):
    # the cross-check itself is tested in tests/test_lidar_check.py
    result = CliRunner().invoke(cli, ["validate", str(clean), "--lidar", "somewhere"])
    from pcrs.errors import PcrsIOError

    assert isinstance(result.exception, PcrsIOError)
    assert "no such folder" in str(result.exception)


def test_missing_file_is_a_usage_error(tmp_path):
    result = CliRunner().invoke(cli, ["validate", str(tmp_path / "nope.gml")])
    assert result.exit_code == 2


def test_schemas_install_into_xdg_cache_then_validate(pcrs_dir, tmp_path, monkeypatch, broken):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("PCRS_SCHEMAS", raising=False)
    runner = CliRunner()
    result = runner.invoke(cli, ["schemas", "install", "--from", str(pcrs_dir / "schemas")])
    assert result.exit_code == 0, result.output
    installed = tmp_path / "cache" / "pcrs" / "schemas"
    assert (installed / "catalog.xml").is_file()
    assert runner.invoke(cli, ["schemas", "path"]).output.strip() == str(installed)
    result = runner.invoke(cli, ["validate", str(broken)])
    assert isinstance(result.exception, FindingsExit)
    assert "schema validation: done" in result.output


def test_without_schemas_the_step_is_skipped_and_said(tmp_path, monkeypatch, clean):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    monkeypatch.delenv("PCRS_SCHEMAS", raising=False)
    result = CliRunner().invoke(cli, ["validate", str(clean)])
    assert result.exit_code == 0
    assert "skipped" in result.output and "PCRS-XSD-002" in result.output


def test_real_subprocess_json(broken, tmp_path):
    out = tmp_path / "r.json"
    proc = subprocess.run(
        [sys.executable, "-m", "pcrs", "validate", "--no-schema", str(broken), "--json-out", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert json.loads(out.read_text())["summary"]["valid"] is False


def test_main_exit_codes(clean, broken, tmp_path, capsys):
    def code(args):
        with pytest.raises(SystemExit) as exc:
            main(args)
        return exc.value.code

    assert code(["validate", "--no-schema", str(clean)]) == 0
    assert code(["validate", "--no-schema", str(broken)]) == 1
    bad = tmp_path / "x.gml"
    bad.write_bytes(b"")
    assert code(["validate", "--no-schema", str(bad)]) == 2
    # one unusable file among good ones: the others are still validated, errors -> 1
    assert code(["validate", "--no-schema", str(clean), str(bad)]) == 1
    assert code(["validate", str(clean), "--lidar", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no .las or .laz file" in err and "Traceback" not in err


def test_quiet_of_one_call_does_not_leak_into_the_next(tmp_path, monkeypatch, clean):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    monkeypatch.delenv("PCRS_SCHEMAS", raising=False)
    runner = CliRunner()
    quiet = runner.invoke(cli, ["validate", str(clean), "-q"])
    assert quiet.output.strip().count("\n") == 0
    loud = runner.invoke(cli, ["validate", str(clean)])
    assert "PCRS-XSD-002" in loud.output, loud.output
