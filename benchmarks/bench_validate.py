"""Benchmark: PCRS validation of a large generated delivery, beside bare lxml schema validation.

Generates a delivery of ``--size-mb`` (default 300 MB) of one of two shapes
(``--shape``):

- ``sample``: synthetic (``pcrs.vector.sample``), valid against the XSD and the rules,
  one plain ``<featureMember>`` per line, links with ``#``;
- ``lyon``: built the way real ones look: the features of one Métropole de Lyon example
  delivery (``--lyon``, default the largest of ``cnig/examples/lyon`` in the shared data)
  replicated with fresh ``gml:id``/``idObjet``/``idHabillage`` (each UUID's first group
  replaced by the copy's number), pretty-printed with the namespace declarations repeated
  on every ``featureMember``, then one EmpriseEchangePCRS at the end listing all their
  objects and dressings with links without ``#`` as Lyon writes them. Valid against the
  XSD; about 130 warnings per MB (every tree's empty ``reference``, PCRS-ATTR-003; the
  original's arcs of three aligned points, PCRS-GEOM-010), 5,000 listed per rule.

Then it measures, each in a fresh process so that peak resident memory is its own:

1. **bare**: lxml ``iterparse`` with the XSD (libxml2 streaming validation), elements
   cleared as they come: the floor for "schema-valid or not" on this file;
2. **noschema**: ``pcrs.vector.validate(path, schemas=False, schema_process=False)`` (every
   rule; files of 2 MB or more are read by the compiled reader once libxml2 has parsed them);
3. **schema**: ``validate(path, schemas=DIR, schema_process=False)``: the XSD and every rule
   in one process (libxml2's validating pass, then the compiled reader and the rules);
4. **schema2**: ``validate(path, schemas=DIR, schema_process=True)``: libxml2's pass runs in
   a forked second process beside the compiled reader and the rules (``validate``'s default
   for files of 16 MB or more when a core is idle);
5. **lxml**: ``validate(path, schemas=DIR, schema_process=False, reader="lxml")``: the
   reader pcrs used before its compiled one (lxml elements, libxml2 validating in the same
   pass), as a baseline in the same run.

Prints wall and CPU seconds (CPU: this process plus any child process it waited for),
throughput, the ratio to the bare run, and peak RSS (of the process, and of its largest child).

The 1-minute load average is printed before each mode: the machine is shared, so read
CPU time beside wall time and repeat (``--repeat``). ``--pythonpath DIR`` runs the
children on another checkout's ``src`` (a before/after comparison in the same minutes).

Usage::

    python benchmarks/bench_validate.py                 # 300 MB sample in a temporary folder
    python benchmarks/bench_validate.py --shape lyon --size-mb 300 --modes schema --repeat 2
    python benchmarks/bench_validate.py --size-mb 50 --schemas ../shared/data/pcrs/schemas
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PCRS_NS = "{http://cnig.gouv.fr/pcrs}"
#: bare lxml validation, rules only, schema + rules in one process, the same in two processes,
#: and schema + rules read by lxml in one pass (the reader pcrs used before its compiled one)
MODES = ("bare", "noschema", "schema", "schema2", "lxml")


def _default_schemas() -> str | None:
    from pcrs.vector.schemas import find_schemas

    found = find_schemas()
    if found:
        return str(found)
    cand = _shared_data() / "pcrs" / "schemas"
    return str(cand) if (cand / "catalog.xml").is_file() else None


def _shared_data() -> Path:
    return Path(
        os.environ.get("PCRS_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
    )


def _default_lyon() -> Path:
    """The largest Métropole de Lyon example of the shared data."""
    folder = _shared_data() / "pcrs" / "cnig" / "examples" / "lyon"
    files = sorted(folder.glob("*.gml"), key=lambda p: p.stat().st_size)
    if not files:
        sys.exit(f"no Lyon example in {folder}: set PCRS_SHARED_DATA or pass --lyon FILE")
    return files[-1]


_UUID = re.compile(r"[0-9a-f]{8}(?=-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")
_MEMBER = re.compile(r"[ \t]*<featureMember\b.*?</featureMember>\n?", re.S)


def write_lyon_shaped(path: Path, target_bytes: int, source: Path | None = None) -> dict:
    """Write a delivery of about ``target_bytes`` built from one Lyon example ``source``.

    Every feature member of ``source`` but its EmpriseEchangePCRS is copied again and
    again, each copy with fresh identifiers (the first 8 hex digits of every UUID replaced
    by the copy's number, so the file keeps the size and layout of the original); one
    EmpriseEchangePCRS closes the file, its ``objet``/``habillage`` links repeated for
    every copy. Returns what was written (copies, members, links).
    """
    source = source or _default_lyon()
    text = source.read_text(encoding="utf-8-sig")
    members = _MEMBER.findall(text)
    head = text[: text.index(members[0])]
    tail = text[text.index(members[-1]) + len(members[-1]) :]
    emprise = [m for m in members if "<EmpriseEchangePCRS" in m]
    body = "".join(m for m in members if "<EmpriseEchangePCRS" not in m)
    if len(emprise) != 1:
        sys.exit(f"{source}: expected one EmpriseEchangePCRS, found {len(emprise)}")
    links = re.findall(r"[ \t]*<(?:objet|habillage) xlink:href=[^>]*/>\n?", emprise[0])
    first = emprise[0].index(links[0])
    last = emprise[0].rindex(links[-1]) + len(links[-1])
    e_head, e_tail = emprise[0][:first], emprise[0][last:]
    objets = "".join(x for x in links if "<objet" in x)
    habillages = "".join(x for x in links if "<habillage" in x)
    per_copy = len(body.encode()) + len(objets.encode()) + len(habillages.encode())
    copies = max(1, round((target_bytes - len(text.encode())) / per_copy) + 1)

    def copy(block: str, k: int) -> str:
        return _UUID.sub(f"{k:08x}", block)

    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\ufeff" + head)
        for k in range(copies):
            fh.write(copy(body, k))
        fh.write(e_head)
        for block in (objets, habillages):
            for k in range(copies):
                fh.write(copy(block, k))
        fh.write(e_tail)
        fh.write(tail)
    n_members = len(members) - 1
    return {
        "source": source.name,
        "copies": copies,
        "members": n_members * copies + 1,
        "links": len(links) * copies,
    }


def _child(mode: str, path: str, schemas: str | None) -> None:
    t0 = time.perf_counter()
    c0 = time.process_time()
    out: dict = {"mode": mode}
    if mode == "bare":
        from lxml import etree

        from pcrs.vector.xsd import load_schema

        schema = load_schema(schemas)
        n = 0
        it = etree.iterparse(
            path, events=("end",), tag=PCRS_NS + "featureMember", schema=schema,
            resolve_entities=False, no_network=True, load_dtd=False,
        )  # fmt: skip
        valid = True
        try:
            for _ev, el in it:
                n += 1
                parent = el.getparent()
                el.clear()
                parent.remove(el)
        except etree.XMLSyntaxError:
            valid = False
        out.update(members=n, valid=valid)
    elif mode == "walk":
        # a floor for any Python validator built on lxml: visit every element once as a
        # Python proxy (no schema, no reading, no rule), elements cleared as they come
        from lxml import etree

        from pcrs.vector.gml import parser_options

        n = 0
        for _ev, el in etree.iterparse(
            path, events=("end",), tag=PCRS_NS + "featureMember", **parser_options()
        ):
            for _sub in el.iter():
                n += 1
            parent = el.getparent()
            el.clear()
            if parent is not None:
                parent.remove(el)
        out.update(elements=n)
    else:
        from pcrs.vector import validate

        kwargs = {"schemas": False} if mode == "noschema" else {"schemas": schemas}
        kwargs["schema_process"] = mode == "schema2"
        if mode == "lxml":
            kwargs["reader"] = "lxml"
        report = validate(path, **kwargs)
        s = report.summary()
        out.update(features=s["features"], errors=s["errors"], warnings=s["warnings"],
                   schema=s["schema"], reader=report.files[0].get("reader"))  # fmt: skip
    out["wall"] = time.perf_counter() - t0
    out["cpu_self"] = time.process_time() - c0
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    out["cpu_children"] = kids.ru_utime + kids.ru_stime
    out["cpu"] = out["cpu_self"] + out["cpu_children"]
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["peak_rss_child_mb"] = kids.ru_maxrss / 1024
    print(json.dumps(out))


def _load() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:  # pragma: no cover - not on Linux
        return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--size-mb", type=float, default=300, help="size of the generated delivery")
    ap.add_argument(
        "--shape", choices=("sample", "lyon"), default="sample",
        help="sample: pcrs.vector.sample; lyon: one Lyon example's features replicated",
    )  # fmt: skip
    ap.add_argument("--lyon", default=None, help="the Lyon example to replicate (--shape lyon)")
    ap.add_argument("--dir", default=None, help="where to write the delivery (default: a temp dir)")
    ap.add_argument("--schemas", default=None, help="schema folder with catalog.xml")
    ap.add_argument("--keep", action="store_true", help="keep the generated file")
    ap.add_argument(
        "--file", default=None, help="benchmark this delivery instead of generating one"
    )
    ap.add_argument(
        "--walk", action="store_true",
        help="also time a bare walk over every element as an lxml proxy (a floor for any "
        "Python validator on lxml)",
    )  # fmt: skip
    ap.add_argument(
        "--modes", default=",".join(MODES),
        help=f"comma-separated modes to run among {', '.join(MODES)} (bare always runs)",
    )  # fmt: skip
    ap.add_argument("--repeat", type=int, default=1, help="rounds of all the modes")
    ap.add_argument(
        "--pythonpath", default=None,
        help="prepend this folder to the children's PYTHONPATH (another checkout's src)",
    )  # fmt: skip
    ap.add_argument("--generate-only", action="store_true", help="write the file and stop")
    ap.add_argument("--child", nargs=2, metavar=("MODE", "FILE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    schemas = args.schemas or _default_schemas()
    if args.child:
        _child(args.child[0], args.child[1], schemas)
        return
    if schemas is None and not args.generate_only:
        sys.exit("no schemas: run 'pcrs schemas install' or pass --schemas DIR")

    if args.file:
        path = Path(args.file)
        args.keep = True
    else:
        folder = Path(args.dir or tempfile.mkdtemp(prefix="pcrs-bench-"))
        path = folder / f"delivery-{args.shape}.gml"
        t0 = time.perf_counter()
        if args.shape == "lyon":
            what = write_lyon_shaped(
                path, int(args.size_mb * 1e6), Path(args.lyon) if args.lyon else None
            )
        else:
            from pcrs.vector.sample import write_delivery

            write_delivery(path, target_bytes=int(args.size_mb * 1e6), seed=42, overwrite=True)
            what = {}
        print(f"generated {path}: {path.stat().st_size / 1e6:.0f} MB in "
              f"{time.perf_counter() - t0:.1f} s {json.dumps(what) if what else ''}")  # fmt: skip
        if args.generate_only:
            return
    size = path.stat().st_size
    env = dict(os.environ)
    if args.pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(
            x for x in (args.pythonpath, env.get("PYTHONPATH")) if x
        )
    rounds: list[dict] = []
    try:
        wanted = ["bare"] + [m for m in args.modes.split(",") if m in MODES and m != "bare"]
        for k in range(args.repeat):
            results: dict = {}
            rounds.append(results)
            for mode in wanted + (["walk"] if args.walk else []):
                load = _load()
                proc = subprocess.run(
                    [sys.executable, __file__, "--schemas", schemas, "--child", mode, str(path)],
                    capture_output=True, text=True, check=True, env=env,
                )  # fmt: skip
                results[mode] = r = json.loads(proc.stdout.strip().splitlines()[-1])
                r["load"] = load
                print(f"  [{k + 1}] {mode:<9} wall {r['wall']:7.2f} s  cpu {r['cpu']:7.2f} s "
                      f"(child {r['cpu_children']:5.2f} s)  {size / 1e6 / r['wall']:6.1f} MB/s  "
                      f"peak RSS {r['peak_rss_mb']:6.0f} MB (child {r['peak_rss_child_mb']:4.0f} MB)"
                      f"  load {load:.2f}", flush=True)  # fmt: skip
    finally:
        if not args.keep:
            path.unlink(missing_ok=True)
    for k, results in enumerate(rounds):
        bare = results["bare"]
        any_pcrs = next((results[m] for m in results if m not in ("bare", "walk")), {})
        print(f"[{k + 1}] file: {size / 1e6:.0f} MB, {any_pcrs.get('features')} features; "
              f"bare schema-valid: {bare['valid']}; pcrs errors: {any_pcrs.get('errors')}, "
              f"warnings: {any_pcrs.get('warnings')}")  # fmt: skip
        for mode in [m for m in results if m != "bare"]:
            r = results[mode]
            who = "lxml" if mode == "walk" else f"pcrs ({r.get('reader')} reader)"
            print(f"    {who} {mode:<9}: {r['wall'] / bare['wall']:.2f}x bare wall, "
                  f"{r['cpu'] / bare['cpu']:.2f}x bare cpu, peak RSS {r['peak_rss_mb']:.0f} MB"
                  f" (+ child {r['peak_rss_child_mb']:.0f} MB)")  # fmt: skip


if __name__ == "__main__":
    main()
