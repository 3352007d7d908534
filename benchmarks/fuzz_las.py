"""Seeded mutation fuzzer for the LAS/LAZ/COPC readers (issue #13, point 3).

Usage::

    python benchmarks/fuzz_las.py [--mutants 2000] [--seed 1] [--timeout 60] [--mem-mb 3072]

Real files from ``$PCRS_SHARED_DATA/lidar`` (default ``../shared/data/lidar``
beside the project) are mutated: random byte flips, truncations, and header,
VLR, EVLR, laszip VLR, chunk table and COPC fields set to 0, huge, negative,
NaN or infinite values. Each mutant is run in its own process (forked from a
parent that has already imported pcrs, so that a mutant costs milliseconds of
start-up instead of a second), under an address-space limit (``RLIMIT_AS``),
with a wall-clock timeout:

- ``pcrs info --stats FILE`` through the command line entry point;
- ``pcrs.read(FILE)``, whose coordinates must be finite;
- every ``--classify-every``-th mutant, ``pcrs classify FILE --steps noise`` (only
  for the files that the unmutated run classifies in under a sixth of the timeout).

Each mutant is classified:

- ``ok``: every step ended with exit 0 and finite coordinates;
- ``clean``: at least one step ended with a clean error (exit 2 with a one-line
  message on the command line, a ``PcrsError`` from the library), none worse;
- ``bad``: anything else (hang, signal, traceback, exit 1 or 3, an exception
  that is not a ``PcrsError``, non-finite coordinates, a peak resident memory
  more than ``--rss-margin-mb`` above the file's own needs).

The counts of each outcome and of each kind of bad outcome are printed, with
the peak resident memory of the worst mutant. ``--keep DIR`` keeps the bad
mutants for replay (``--replay FILE`` runs one file the same way).
"""

from __future__ import annotations

import argparse
import collections
import io
import json
import math
import os
import random
import resource
import select
import shutil
import signal
import struct
import tempfile
import time
from contextlib import redirect_stderr, redirect_stdout, suppress
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]

#: (relative path under lidar/, why it is in the corpus)
DEFAULT_FILES = (
    ("PDAL/interesting.las", "LAS 1.2, point format 3, uncompressed, GeoTIFF VLRs"),
    ("ign-pdal-tools/test_data_77050_627755_LA93_IGN69.laz", "IGN LAZ, LAS 1.4, format 8"),
    ("laspy/simple.copc.laz", "COPC, format 7"),
    ("laspy/extra.laz", "LAZ with extra bytes"),
    ("laspy/1_4_w_evlr.laz", "LAZ 1.4 with EVLRs"),
    ("laspy/simple1_4.las", "LAS 1.4, format 7, uncompressed"),
)

# --- where the fields are ------------------------------------------------------------------

#: header fields: (name, offset, struct format); 1.4 fields only when the header is long enough
_HEADER_FIELDS = (
    ("version_minor", 25, "B"),
    ("header_size", 94, "H"),
    ("offset_to_point_data", 96, "I"),
    ("number_of_vlrs", 100, "I"),
    ("point_format", 104, "B"),
    ("point_record_length", 105, "H"),
    ("legacy_point_count", 107, "I"),
    ("scale_x", 131, "d"),
    ("scale_y", 139, "d"),
    ("scale_z", 147, "d"),
    ("offset_x", 155, "d"),
    ("offset_y", 163, "d"),
    ("offset_z", 171, "d"),
    ("max_x", 179, "d"),
    ("min_x", 187, "d"),
    ("start_of_first_evlr", 235, "Q"),
    ("number_of_evlrs", 243, "I"),
    ("point_count", 247, "Q"),
)


def _fields(data: bytes) -> list[tuple[str, int, str]]:
    """Every mutable field of ``data`` with its offset and struct format."""
    out = []
    header_size = struct.unpack_from("<H", data, 94)[0]
    for name, off, fmt in _HEADER_FIELDS:
        if off + struct.calcsize(fmt) <= min(header_size, len(data)):
            out.append((name, off, fmt))
    offset_to_points = struct.unpack_from("<I", data, 96)[0]
    n_vlrs = struct.unpack_from("<I", data, 100)[0]
    pos = header_size
    for i in range(min(n_vlrs, 64)):
        if pos + 54 > len(data):
            break
        user = data[pos + 2 : pos + 18].rstrip(b"\0")
        record_id, length = struct.unpack_from("<HH", data, pos + 18)
        out.append((f"vlr{i}.record_length", pos + 20, "H"))
        out.append((f"vlr{i}.record_id", pos + 18, "H"))
        body = pos + 54
        if user == b"laszip encoded" and body + 34 <= len(data):
            out += [
                ("laszip.compressor", body, "H"),
                ("laszip.coder", body + 2, "H"),
                ("laszip.version_major", body + 4, "B"),
                ("laszip.options", body + 8, "I"),
                ("laszip.chunk_size", body + 12, "I"),
                ("laszip.num_special_evlrs", body + 16, "q"),
                ("laszip.offset_special_evlrs", body + 24, "q"),
                ("laszip.num_items", body + 32, "H"),
            ]
            n_items = struct.unpack_from("<H", data, body + 32)[0]
            for k in range(min(n_items, 16)):
                item = body + 34 + 6 * k
                if item + 6 <= len(data):
                    out += [
                        (f"laszip.item{k}.type", item, "H"),
                        (f"laszip.item{k}.size", item + 2, "H"),
                        (f"laszip.item{k}.version", item + 4, "H"),
                    ]
        if user == b"copc" and record_id == 1 and body + 160 <= len(data):
            out += [
                ("copc.center_x", body, "d"),
                ("copc.halfsize", body + 24, "d"),
                ("copc.spacing", body + 32, "d"),
                ("copc.root_hier_offset", body + 40, "Q"),
                ("copc.root_hier_size", body + 48, "Q"),
            ]
        pos = body + length
    if data[24] == 1 and data[25] >= 4 and header_size >= 375:
        start, n_evlrs = struct.unpack_from("<QI", data, 235)
        for i in range(min(n_evlrs, 16)):
            if start + 60 > len(data):
                break
            out.append((f"evlr{i}.record_length", start + 20, "Q"))
            start += 60 + struct.unpack_from("<Q", data, start + 20)[0]
    compressed = data[104] & 0x80 or any(n.startswith("laszip") for n, _, _ in out)
    if compressed and offset_to_points + 8 <= len(data):
        out.append(("laz.chunk_table_offset", offset_to_points, "q"))
        table = struct.unpack_from("<q", data, offset_to_points)[0]
        if table > 0 and table + 8 <= len(data):
            out.append(("laz.chunk_table_version", table, "I"))
            out.append(("laz.chunk_table_count", table + 4, "I"))
    return out


def _values(rng: random.Random, fmt: str) -> list:
    """Hostile values for a field of struct type ``fmt``."""
    if fmt == "d":
        return [0.0, -0.0, math.nan, math.inf, -math.inf, 1e300, -1e300, 1e-300, -1.0, 5e-324]
    bits = struct.calcsize(fmt) * 8
    signed = fmt.islower() and fmt != "d"
    hi = 2 ** (bits - 1) - 1 if signed else 2**bits - 1
    lo = -(2 ** (bits - 1)) if signed else 0
    vals = [0, hi, hi - 1, 1, rng.randint(lo, hi), rng.randint(0, min(hi, 4096))]
    vals += [lo, -1] if signed else [hi // 2 + 1, 2 ** (bits // 2)]
    return vals


def mutate(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """One mutant of ``data`` and a short description of the mutation."""
    buf = bytearray(data)
    kind = rng.choices(["field", "flip", "truncate", "field+truncate", "multi"], [5, 3, 2, 1, 1])[0]
    desc = []
    if kind in ("field", "field+truncate", "multi"):
        fields = _fields(data)
        for _ in range(1 if kind != "multi" else rng.randint(2, 4)):
            name, off, fmt = rng.choice(fields)
            value = rng.choice(_values(rng, fmt))
            struct.pack_into("<" + fmt, buf, off, value)
            desc.append(f"{name}={value!r}")
    if kind == "flip":
        head = struct.unpack_from("<I", data, 96)[0] + 64
        for _ in range(rng.randint(1, 8)):
            span = head if rng.random() < 0.6 else len(buf)
            off = rng.randrange(min(span, len(buf)))
            buf[off] = rng.randrange(256)
            desc.append(f"byte[{off}]={buf[off]}")
    if kind in ("truncate", "field+truncate"):
        if rng.random() < 0.5:
            cut = rng.randrange(len(buf))
        else:
            cut = max(0, len(buf) - rng.randint(1, 4096))
        del buf[cut:]
        desc.append(f"truncate@{cut}")
    return bytes(buf), f"{kind}: " + ", ".join(desc)


# --- running one mutant ----------------------------------------------------------------


def _cli(args: list[str]) -> dict:
    from pcrs.cli.main import main

    err = io.StringIO()
    code: object = 0
    try:
        with redirect_stdout(io.StringIO()), redirect_stderr(err):
            main(args)
    except SystemExit as exc:
        code = exc.code if exc.code is not None else 0
    except BaseException as exc:
        return {"code": "raised", "error": f"{type(exc).__name__}: {str(exc)[:200]}"}
    # warnings logged on the way are not the error message: count the error lines
    lines = [ln for ln in err.getvalue().splitlines() if ln.strip() and "WARNING" not in ln]
    return {"code": code, "stderr_lines": len(lines), "stderr": "\n".join(lines)[:300]}


def _lib_read(path: str) -> dict:
    import numpy as np

    import pcrs
    from pcrs.errors import PcrsError

    try:
        cloud = pcrs.read(path)
    except PcrsError as exc:
        text = str(exc)
        return {"result": "pcrs_error", "error": text[:300], "lines": len(text.splitlines())}
    except BaseException as exc:
        return {"result": "raised", "error": f"{type(exc).__name__}: {str(exc)[:200]}"}
    finite = all(bool(np.isfinite(a).all()) for a in (cloud.x, cloud.y, cloud.z))
    return {"result": "read", "points": len(cloud), "finite": finite}


def _child(path: str, classify: bool, out_dir: str, mark) -> dict:
    mark("info")
    res = {"info": _cli(["info", "--stats", path])}
    mark("read")
    res["read"] = _lib_read(path)
    if classify:
        mark("classify")
        target = os.path.join(out_dir, "classified.laz")
        res["classify"] = _cli(["classify", path, "-o", target, "--steps", "noise", "--overwrite"])
    return res


def _vm_hwm_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(path: str, classify: bool, timeout: float, mem_mb: int) -> dict:
    """Run the steps on ``path`` in a forked process; its result, signal or timeout."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(r)
        code = 0
        try:
            os.setsid()
            limit = mem_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            res = _child(
                path,
                classify,
                os.path.dirname(path),
                lambda step: os.write(w, f"{step}\n".encode()),
            )
            res["rss_mb"] = _vm_hwm_mb()
            payload = json.dumps(res).encode()
        except BaseException as exc:
            payload = json.dumps({"child_error": f"{type(exc).__name__}: {exc}"[:300]}).encode()
            code = 1
        with os.fdopen(w, "wb") as fh:
            fh.write(payload)
        os._exit(code)
    os.close(w)
    chunks = []
    deadline = time.monotonic() + timeout
    hung = False
    with os.fdopen(r, "rb") as fh:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                hung = True
                break
            ready, _, _ = select.select([fh], [], [], min(left, 1.0))
            if ready:
                block = os.read(fh.fileno(), 1 << 16)
                if not block:
                    break
                chunks.append(block)
    if hung:
        with suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    _, status, usage = os.wait4(pid, 0)
    rss = usage.ru_maxrss / 1024
    # the child names each step before it starts it, then writes its result as one JSON line
    lines = b"".join(chunks).split(b"\n")
    steps = [ln.decode() for ln in lines if ln and not ln.startswith(b"{")]
    where = f" in {steps[-1]}" if steps else ""
    if hung:
        return {"outcome": "bad", "why": f"hang{where}", "rss_mb": rss}
    if os.WIFSIGNALED(status):
        sig = signal.Signals(os.WTERMSIG(status)).name
        return {"outcome": "bad", "why": f"signal {sig}{where}", "rss_mb": rss}
    try:
        res = json.loads(lines[-1])
    except ValueError:
        return {"outcome": "bad", "why": f"child exit {os.WEXITSTATUS(status)} without result"}
    res.setdefault("rss_mb", rss)
    res["rss_mb"] = max(res["rss_mb"], rss)
    return res


def classify_result(res: dict, rss_budget_mb: float) -> tuple[str, str]:
    """``(outcome, why)`` of one run: outcome is ok, clean or bad."""
    if "outcome" in res:
        return res["outcome"], res["why"]
    if "child_error" in res:
        return "bad", f"child: {res['child_error'][:60]}"
    whys = []
    clean = False
    for step in ("info", "classify"):
        if step not in res:
            continue
        c = res[step]
        if c["code"] == "raised":
            whys.append(f"{step}: uncaught {c['error'].split(':')[0]}")
        elif c["code"] == 2 and c["stderr_lines"] == 1:
            clean = True
        elif c["code"] != 0:
            first = c["stderr"].splitlines()[0][:70] if c["stderr"] else ""
            whys.append(f"{step}: exit {c['code']} {first}")
    rd = res["read"]
    if rd["result"] == "raised":
        whys.append(f"read: {rd['error'].split(':')[0]}")
    elif rd["result"] == "pcrs_error":
        if rd["lines"] == 1:
            clean = True
        else:
            whys.append("read: multi-line PcrsError")
    elif not rd["finite"]:
        whys.append("read: non-finite coordinates")
    if res.get("rss_mb", 0) > rss_budget_mb:
        whys.append(f"rss {res['rss_mb']:.0f} MB")
    if whys:
        return "bad", "; ".join(whys)
    return ("clean" if clean else "ok"), ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mutants", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--mem-mb", type=int, default=3072, help="RLIMIT_AS of each mutant")
    ap.add_argument(
        "--rss-margin-mb",
        type=float,
        default=400.0,
        help="bad when the peak RSS exceeds the unmutated file's by more than this",
    )
    ap.add_argument("--classify-every", type=int, default=25)
    ap.add_argument("--files", nargs="*", help="files to mutate (default: a varied set)")
    ap.add_argument("--keep", help="folder where the bad mutants are copied")
    ap.add_argument("--replay", nargs="*", help="run these files as they are, no mutation")
    ap.add_argument("--json", help="write every outcome to this JSON lines file")
    args = ap.parse_args()

    import pcrs
    import pcrs.cli.main  # noqa: F401

    if args.replay:
        for f in args.replay:
            res = run_one(f, True, args.timeout, args.mem_mb)
            print(f, classify_result(res, math.inf), json.dumps(res)[:600])
        return

    base = Path(os.environ.get("PCRS_SHARED_DATA", _ROOT.parent / "shared" / "data")) / "lidar"
    files = [Path(f) for f in args.files] if args.files else [base / f for f, _ in DEFAULT_FILES]
    files = [f for f in files if f.is_file()]
    if not files:
        raise SystemExit(f"no input file found under {base}; set PCRS_SHARED_DATA")
    rng = random.Random(args.seed)
    counts: collections.Counter = collections.Counter()
    whys: collections.Counter = collections.Counter()
    per_file: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    worst = (0.0, "")
    log = open(args.json, "w") if args.json else None  # noqa: SIM115
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        originals = {}
        classifiable = set()
        for f in files:
            data = f.read_bytes()
            t1 = time.perf_counter()
            res = run_one(str(f), args.classify_every > 0, args.timeout, args.mem_mb)
            seconds = time.perf_counter() - t1
            outcome, why = classify_result(res, math.inf)
            originals[f] = (data, res.get("rss_mb", 0.0))
            # classify mutants only of files the classifier handles well unmutated
            if outcome == "ok" and seconds < args.timeout / 6:
                classifiable.add(f)
            print(
                f"base {f.name}: {len(data):,} bytes, {outcome} {why}, "
                f"{res.get('rss_mb', 0):.0f} MB, {seconds:.1f} s"
                + ("" if f in classifiable or not args.classify_every else ", not classified")
            )
        for i in range(args.mutants):
            f = files[i % len(files)]
            data, base_rss = originals[f]
            mutant, desc = mutate(data, rng)
            suffix = ".copc.laz" if f.name.endswith(".copc.laz") else f.suffix
            target = Path(tmp) / f"m{i:05d}{suffix}"
            target.write_bytes(mutant)
            classify = f in classifiable and i % args.classify_every == 0
            res = run_one(str(target), classify, args.timeout, args.mem_mb)
            outcome, why = classify_result(res, base_rss + args.rss_margin_mb)
            counts[outcome] += 1
            per_file[f.name][outcome] += 1
            rss = float(res.get("rss_mb", 0.0))
            if rss > worst[0]:
                worst = (rss, f"m{i:05d} of {f.name}: {desc}")
            if outcome == "bad":
                whys[why.split(" MB")[0] if why.startswith("rss") else why[:90]] += 1
                print(f"BAD m{i:05d} {f.name} [{desc}] -> {why}", flush=True)
                if args.keep:
                    shutil.copy(target, Path(args.keep) / f"m{i:05d}_{f.name}")
            if log:
                log.write(json.dumps({"i": i, "file": f.name, "mutation": desc,
                                      "outcome": outcome, "why": why, "rss_mb": rss}) + "\n")  # fmt: skip
            target.unlink()
            if (i + 1) % 200 == 0:
                print(
                    f"... {i + 1} mutants, {dict(counts)}, {time.perf_counter() - t0:.0f} s",
                    flush=True,
                )
    if log:
        log.close()
    print(f"\n{args.mutants} mutants of {len(files)} files, seed {args.seed}, "
          f"{time.perf_counter() - t0:.0f} s")  # fmt: skip
    for outcome in ("ok", "clean", "bad"):
        print(f"  {outcome:<6}{counts[outcome]:>6}")
    for name, c in per_file.items():
        print(f"  {name:<48} ok {c['ok']:>5}  clean {c['clean']:>5}  bad {c['bad']:>5}")
    if whys:
        print("bad outcomes by kind:")
        for why, n in whys.most_common():
            print(f"  {n:>5}  {why}")
    print(f"worst peak RSS: {worst[0]:.0f} MB ({worst[1]})")


if __name__ == "__main__":
    main()
