"""expat as the fast screen of well-formedness before the validating parse.

``pcrs.vector.validate._libxml2_pass`` lets expat decide that a file is well-formed, and
libxml2's validating parse count its schema violations, instead of a second parse by
libxml2 without schema. It must give the verdict that parse gives, on every file: expat may
be stricter (the file then goes to libxml2), never laxer. Seeded mutants of a small
delivery (syntax characters inserted, deleted, replaced) check it.
"""

from __future__ import annotations

import random

import pytest

from pcrs.vector.sample import delivery_text
from pcrs.vector.validate import _expat_well_formed, _libxml2_pass, _libxml2_stream

_PIECES = [
    b"<", b">", b'"', b"'", b"=", b" ", b"/", b"&", b";", b":", b"\x00", b"\xff", b"\xc3",
    b"x", b"!", b"?", b"-", b"&#0;", b"&amp", b'xmlns:a=""', b'xmlns=""', b'xmlns:gml="u"',
    b'a:b="1"', b"]]>", b"<!--", b"\r", b"\t", b"<x>1</x>", b"01", b"<!DOCTYPE a>",
]  # fmt: skip


def _mutants(base: bytes, n: int, seed: int):
    rng = random.Random(seed)
    for _ in range(n):
        b = bytearray(base)
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            k = rng.randrange(len(b))
            op = rng.randrange(3)
            if op == 0:
                del b[k : k + rng.randint(1, 3)]
            elif op == 1:
                b[k:k] = rng.choice(_PIECES)
            else:
                b[k : k + 1] = rng.choice(_PIECES)
        yield bytes(b)


def _plain_verdict(path) -> bool:
    """Malformed, as libxml2's streaming parse without schema says (the former check)."""
    return _libxml2_stream(path, None)[0]


@pytest.mark.parametrize("seed", [1, 2])
def test_the_expat_screen_gives_libxml2s_verdict_on_mutants(tmp_path, schemas_dir, seed):
    from pcrs.vector.xsd import load_schema

    schema = load_schema(schemas_dir)
    base = delivery_text(1, seed=seed).encode("utf-8")
    path = tmp_path / "m.gml"
    seen = {"screened": 0, "malformed": 0, "violations": 0}
    for data in _mutants(base, 250, seed):
        path.write_bytes(data)
        malformed = _plain_verdict(path)
        got = _libxml2_pass(path, schema)
        assert got[0] == malformed, data
        if not malformed:  # (the violations of a malformed file are not reported)
            assert got[1] == _libxml2_stream(path, schema)[1], data
        if _expat_well_formed(path):
            # expat is never laxer than libxml2, except for libxml2's own limits
            assert not malformed or _libxml2_stream(path, schema)[2], data
            seen["screened"] += 1
        seen["malformed"] += malformed
        seen["violations"] += bool(got[1])
    # the mutants are of every kind: screened by expat alone, malformed, schema-invalid
    assert all(seen.values()), seen


def test_expat_sends_a_dtd_and_an_unknown_encoding_to_libxml2(tmp_path):
    """Files expat refuses go to libxml2 (whose verdict pcrs reports), whatever the reason."""
    base = delivery_text(1, seed=3)
    p = tmp_path / "a.gml"
    p.write_text(base.replace("?>", "?>\n<!DOCTYPE x>", 1))
    assert not _expat_well_formed(p)
    p.write_bytes(base.replace('encoding="UTF-8"', 'encoding="X-NO-SUCH"', 1).encode())
    assert not _expat_well_formed(p)
    p.write_text(base)
    assert _expat_well_formed(p)
