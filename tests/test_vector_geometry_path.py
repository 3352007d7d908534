"""One reading path for GML geometry (``pcrs.vector._geom_spec``), compiled or not.

- the compiled kernels (``pcrs.vector._geom_kernels``) are the spec's own functions, code
  object for code object: one text of each geometry form, of the arc linearisation and of
  the number syntax;
- run as plain Python (the lxml reader, numba missing or broken, ``NUMBA_DISABLE_JIT=1``)
  they give the same bits as compiled;
- ``parse_numbers`` gives ``float()``'s value for every token it reads, ``interp3`` is
  ``numpy.interp``;
- without numba nothing stops: the lxml reader never imports it, ``validate`` reads with
  lxml and finds the same.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from pcrs.vector import _geom_spec as spec
from pcrs.vector.fastread import have_fast_reader
from pcrs.vector.gml import linearise_arc
from pcrs.vector.sample import delivery_text

needs_numba = pytest.mark.skipif(
    not have_fast_reader(), reason="numba is missing or does not import: nothing compiled"
)
ROOT = Path(__file__).resolve().parents[1]


def _bits(values) -> list[str]:
    return [float(v).hex() for v in values]


# --- one text of each function ----------------------------------------------------------


@needs_numba
def test_the_kernels_are_the_spec_functions():
    from pcrs.vector import _geom_kernels

    assert set(_geom_kernels._KERNELS) == set(spec.KERNELS)
    for name, kernel in _geom_kernels._KERNELS.items():
        # (with NUMBA_DISABLE_JIT=1, numba hands back the copied function itself)
        code = getattr(kernel, "py_func", kernel).__code__
        assert code is getattr(spec, name).__code__, name
    # the feature reader finds attributes with the same function
    from pcrs.vector import _feature_kernels

    assert _feature_kernels._attr is _geom_kernels._KERNELS["_attr"]


def test_the_plain_spec_needs_no_numba():
    """The spec and the lxml reader import without numba (its start-up is not paid for the
    small files the lxml reader reads)."""
    code = "import sys; sys.modules['numba'] = None\n" + textwrap.dedent(
        """
        import pcrs.vector._geom_spec, pcrs.vector.gml
        from pcrs.vector.fastread import have_fast_reader
        assert not have_fast_reader()
        print("ok")
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok", out.stderr


# --- number syntax ------------------------------------------------------------------------


def _tokens() -> list[str]:
    rng = np.random.default_rng(17)
    tokens = ["0", "-0", "+0", "0.0", ".5", "5.", "150", "-1.5", "1848010.5", "5180006.25",
              "1.5025e2", "1.5025E+02", "15025e-2", "1e22", "1e23", "1e-22", "1e-23", "1e-30",
              "000150.5", "150.500000000000000000", "123456789012345", "1234567890123456",
              "0.000000000000000000001", "9007199254740993", "1e400", "1e", "1.5.3", "--1",
              "nan", "inf", "1_50", "0x10", "", ".", "+", "e5", "1e+", "4.35e-0",
              "2.2250738585072014e-308", "99999999999999.9", "0.1", "0.3"]  # fmt: skip
    for _ in range(4000):
        digits = "".join(rng.choice(list("0123456789"), rng.integers(1, 19)))
        dot = int(rng.integers(0, len(digits) + 1))
        tok = digits[:dot] + ("." if rng.random() < 0.8 else "") + digits[dot:]
        if rng.random() < 0.3:
            tok += rng.choice(["e", "E"]) + rng.choice(["", "+", "-"]) + str(rng.integers(0, 30))
        if rng.random() < 0.4:
            tok = rng.choice(["-", "+"]) + tok
        tokens.append(tok)
    return tokens


def _parse(parse, token: str) -> tuple[int, list[str]]:
    buf = np.frombuffer((" " + token + "\n").encode(), np.uint8)
    fv = np.zeros(len(buf) + 4)
    n = parse(buf, 0, len(buf), fv, 0)
    return n, _bits(fv[: max(n, 0)])


def test_parse_numbers_reads_what_float_reads():
    read = 0
    for tok in _tokens():
        n, got = _parse(spec.parse_numbers, tok)
        if n < 0:
            continue  # declined: the text is read with float()
        read += 1
        assert n == len(spec.numbers(tok)), tok
        assert got == _bits(spec.numbers(tok)), tok
    assert read > 3000  # the common form is read, not declined


@needs_numba
def test_parse_numbers_compiled_is_parse_numbers():
    from pcrs.vector import _geom_kernels

    for tok in _tokens():
        assert _parse(_geom_kernels.parse_numbers, tok) == _parse(spec.parse_numbers, tok), tok


# --- arcs ----------------------------------------------------------------------------------


def test_interp3_is_numpy_interp():
    rng = np.random.default_rng(5)
    cases = [(0.0, 1.0, 2.0), (1.0, 1.0, 2.0), (2.0, 1.0, 2.0), (2.0000000001, 1.0, 2.0),
             (1.5, 2.0, 1.0), (0.5, 2.0, 1.0), (1.0, 1.0, 1.0), (float("nan"), 1.0, 2.0)]  # fmt: skip
    for _ in range(3000):
        x2 = rng.uniform(0.1, 2 * math.pi)
        x1 = x2 * rng.uniform(0.01, 1.05)  # (now and then beyond the end: unsorted knots)
        n = int(rng.integers(2, 50))
        q = x2 / n
        cases.extend((abs(j * q), x1, x2) for j in range(n + 1))
    for x, x1, x2 in cases:
        for z in ((100.0, 101.5, 99.25), (5.0, 5.0, 7.0), (7.0, 5.0, 5.0), (1e300, -1e300, 0.0)):
            want = np.interp(x, [0.0, x1, x2], list(z))
            got = spec.interp3(x, x1, x2, *z)
            assert float(got).hex() == float(want).hex(), (x, x1, x2, z)


def _random_arcs(n: int = 400):
    """``(control points, dimension, full circle, tolerance)``: three points on circles of
    radius 3 cm to 1 km, in Lambert coordinates, both ways round, Z flat or not."""
    rng = np.random.default_rng(11)
    centres = rng.uniform((1.8e6, 5.1e6), (1.9e6, 5.2e6), (n, 2))
    radii = 10 ** rng.uniform(-1.5, 3, n)
    angles = np.sort(rng.uniform(-3, 3, (n, 3)), axis=1)
    angles[rng.random(n) < 0.5] *= -1  # (clockwise)
    xy = centres[:, None, :] + radii[:, None, None] * np.stack(
        (np.cos(angles), np.sin(angles)), axis=2
    )
    z = np.where(rng.random((n, 1)) < 0.5, rng.uniform(100, 200, (n, 3)), 150.0)
    pts = np.round(np.concatenate((xy, z[:, :, None]), axis=2), 3)
    dims = rng.choice([2, 3], n)
    full = rng.random(n) < 0.15
    tols = rng.choice([0.005, 0.0005, 0.05], n)
    for i in range(n):
        d = int(dims[i])
        yield pts[i, :, :d].ravel().tolist(), d, bool(full[i]), float(tols[i])


def test_arcs_plain_python_and_compiled_and_linearise_arc_agree():
    compiled = None
    if have_fast_reader():
        from pcrs.vector import _geom_kernels

        compiled = _geom_kernels.arc_into
    for ctrl, d, full, tol in _random_arcs():
        n = spec.arc_steps(ctrl, 0, d, tol, full)
        assert n >= 2
        fv = [0.0] * (n * d)
        assert spec.arc_into(ctrl, 0, d, tol, full, fv, 0) == n * d
        # linearise_arc: the first control point, then those very points
        pts = linearise_arc(ctrl[:d], ctrl[d : 2 * d], ctrl[2 * d :], tol, full_circle=full)
        assert _bits(pts.ravel()) == _bits(ctrl[:d] + fv)
        if compiled is not None:
            out = np.zeros(n * d + 7)
            assert compiled(np.array(ctrl), 0, d, tol, full, out, 3) == n * d
            assert _bits(out[3 : 3 + n * d]) == _bits(fv)
        # no room: said so, nothing written past the end
        short = [0.0] * (n * d - 1)
        assert spec.arc_into(ctrl, 0, d, tol, full, short, 0) == spec.NO_ROOM


def test_arcs_that_cannot_be_stepped_are_declined():
    aligned = [0.0, 0.0, 1.0, 0.0, 2.0, 0.0]
    assert spec.arc_steps(aligned, 0, 2, 0.005, False) == spec.DECLINED
    assert linearise_arc((0, 0), (1, 0), (2, 0)) is None
    # a radius so large that acos(1 - tol/r) is 0: declined, where it once divided by zero
    huge = [0.0, 0.0, 5e5, 1.5e-4, 1e6, 0.0]
    assert spec.arc_steps(huge, 0, 2, 0.005, False) == spec.DECLINED
    assert spec.arc_steps([0.0, 0.0, 1.0, 1.0, 2.0, 0.0], 0, 2, 0.0, False) == spec.DECLINED


# --- the compiled reader's code run as plain Python ------------------------------------------

_SCRIPT = """
import importlib.util, json, sys
from pathlib import Path
spec = importlib.util.spec_from_file_location("tf", sys.argv[1])
tf = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tf)
from pcrs.vector.fastread import read_members
from pcrs.vector.gml import GmlReader
out = {}
for path in sys.argv[2:]:
    fast = [tf.key(m) for m in tf.flat(read_members(path))]
    slow = [tf.key(m) for m in GmlReader(path).members()]
    out[path] = [len(fast), fast == slow]
print(json.dumps(out))
"""


@needs_numba
def test_the_compiled_reader_run_as_plain_python_gives_the_same(tmp_path):
    """NUMBA_DISABLE_JIT=1: the scanner, the geometry and the feature kernels run as Python;
    the members are those of the lxml reader, to the bit."""
    tf = ROOT / "tests" / "test_vector_fastread.py"
    found = importlib.util.spec_from_file_location("_vector_fastread_cases", tf)
    mod = importlib.util.module_from_spec(found)
    found.loader.exec_module(mod)
    files = [tmp_path / "delivery.gml", tmp_path / "geometries.gml"]
    files[0].write_text(delivery_text(2, seed=1), encoding="utf-8")
    files[1].write_text(mod._geometry_file([g for _n, g in mod.GEOMETRIES]), encoding="utf-8")
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    run = subprocess.run(
        [sys.executable, "-c", _SCRIPT, str(tf), *map(str, files)],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    got = json.loads(run.stdout)
    for path in files:
        n, same = got[str(path)]
        assert n > 10 and same, path.name


def test_without_numba_validate_reads_with_lxml_and_finds_the_same(tmp_path):
    """numba missing (or broken): the fast reader is not offered, nothing fails, the
    findings are those of the lxml reader."""
    from pcrs.vector import validate

    text = delivery_text(2, seed=3).replace("<typeMur>01</typeMur>", "<typeMur>99</typeMur>", 1)
    path = tmp_path / "d.gml"
    path.write_text(text, encoding="utf-8")
    code = "import sys; sys.modules['numba'] = None\n" + textwrap.dedent(
        """
        import json
        from pcrs.vector import validate
        report = validate(sys.argv[1], schemas=False, reader="fast")
        print(json.dumps([report.files[0]["reader"], report.to_dict()["findings"]]))
        """
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stderr[-3000:]
    reader, findings = json.loads(run.stdout)
    assert reader == "lxml"
    expected = validate(path, schemas=False, reader="lxml").to_dict()["findings"]
    assert findings == json.loads(json.dumps(expected))
    assert any(f["rule"] == "PCRS-CODE-001" for f in findings)
