"""Run the benchmark suites of ``benchmarks/`` and print the lines that compare pcrs with its peers.

Who it is for: developers who change a hot routine, and anyone who wants to see
the speed ratios on their own machine.
What it needs: a clone of the repository (the scripts live in ``benchmarks/``)
and ``pip install -e ".[bench]"``. Peers are measured when installed and
skipped (with a line saying so) otherwise: the ``pdal`` command, the CSF library
(``pip install cloth-simulation-filter``), open3d.

Each suite prints ratios against a baseline measured in the same run (laspy,
scipy, lxml, the peers), so the figures hold on any machine; small sizes only
show the order of magnitude, ``--full`` runs the realistic sizes quoted in the
docs (millions of points: minutes each, run them on a quiet machine).

Usage::

    python examples/run_benchmarks.py                       # every suite, small sizes
    python examples/run_benchmarks.py --only read,validate  # some of them
    python examples/run_benchmarks.py --full --only tin     # the documented size
    python examples/run_benchmarks.py --log bench-logs/     # keep the full outputs
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"

#: suite -> (script, arguments at small size); ``--full`` drops the arguments
SUITES: dict[str, tuple[str, list[str]]] = {
    "read": ("bench_read.py", ["--points", "200000", "--repeat", "1"]),
    "tiling": ("bench_tiling.py", ["--points", "400000", "--small", "200000", "--skip-spill"]),
    "ground": ("bench_ground.py", ["--points", "200000", "--big", "0"]),
    "tin": ("bench_tin.py", ["--points", "200000"]),
    "features": ("bench_features.py", ["--points", "100000"]),
    "validate": ("bench_validate.py", ["--size-mb", "2"]),
}

# a line that states a ratio ("x14.3", "4.8x faster", "1.70x bare", "ratio", "speed-up") or
# one of the two timings it compares ("0.09 s wall")
_RATIO = re.compile(r"\bx\d|\d\.?\d*x (faster|bare)|\d\.\d+x\b|\bratio\b|speed-up|\d s wall\b")


def ratio_lines(text: str) -> list[str]:
    """The lines of a benchmark's output that state a comparison.

    Tables (a header line starting with ``variant``, then rows up to a blank
    line) are kept whole: their rows carry the ratio columns.
    """
    kept, in_table = [], False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith(("{", "[")):  # the machine-readable dumps
            in_table = False
            continue
        if stripped.startswith("variant"):
            in_table = True
        elif not stripped:
            in_table = False
        if in_table or _RATIO.search(line):
            kept.append(line)
    return kept


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", help=f"comma-separated suites among {', '.join(SUITES)}")
    ap.add_argument("--full", action="store_true", help="the realistic default sizes (slow)")
    ap.add_argument("--log", type=Path, help="folder where each suite's whole output is written")
    args = ap.parse_args(argv)

    names = list(SUITES) if not args.only else [s.strip() for s in args.only.split(",")]
    unknown = [n for n in names if n not in SUITES]
    if unknown:
        print(f"unknown suite(s) {unknown}; choose among {', '.join(SUITES)}", file=sys.stderr)
        return 2
    if args.log:
        args.log.mkdir(parents=True, exist_ok=True)

    failed = []
    for name in names:
        script, small = SUITES[name]
        cmd = [sys.executable, str(BENCHMARKS / script), *([] if args.full else small)]
        print(f"== {name}: python benchmarks/{script} {' '.join(cmd[2:])}", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        if args.log:
            (args.log / f"{name}.txt").write_text(proc.stdout + proc.stderr, encoding="utf-8")
        if proc.returncode != 0:
            failed.append(name)
            print(f"   FAILED (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
            continue
        for line in ratio_lines(proc.stdout):
            print(f"   {line}")
        print(f"   ({seconds:.1f} s)", flush=True)
    if failed:
        print(f"failed suites: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
