"""Round-trip every real LiDAR file through pcrs and report what was lost (issue #13).

For every file under ``$PCRS_SHARED_DATA/lidar`` (default ``../shared/data`` beside the
project), runs

- classify: ``pcrs classify IN -o OUT.laz --steps noise``
- tile:     ``pcrs tile IN -o DIR --size S --origin MINX MINY`` (2-4 tiles)
- process:  ``pcrs process IN -o DIR --steps none`` (one coarse raster)

and compares the output(s) with the input bit for bit (see ``tests/lasfixtures.py``):
every dimension but the classification (classify), every VLR/EVLR pcrs does not own,
the CRS, global encoding, file source id, version and point format. Prints a table
file x command -> "intact" or the first difference, the totals, then every difference.
It never stops at the first failure.

Usage::

    python benchmarks/roundtrip_real.py                 # all files, all commands
    python benchmarks/roundtrip_real.py --commands classify --only ign-pdal-tools
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(_ROOT / "tests"))

import lasfixtures as lf  # noqa: E402

#: Files documented as broken on purpose in PROVENANCE.md.
BROKEN = ("_nok.",)


def lidar_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in (".las", ".laz"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="shared data folder")
    parser.add_argument(
        "--commands", default="classify,tile,process", help="comma list of classify,tile,process"
    )
    parser.add_argument("--only", default="", help="only files whose path contains this text")
    parser.add_argument("--width", type=int, default=90, help="width of a table cell")
    args = parser.parse_args(argv)

    data = args.data or Path(os.environ.get("PCRS_SHARED_DATA", _ROOT.parent / "shared" / "data"))
    root = data / "lidar"
    if not root.is_dir():
        print(f"no real data at {root}; set PCRS_SHARED_DATA", file=sys.stderr)
        return 2
    commands = [c.strip() for c in args.commands.split(",") if c.strip()]
    files = [p for p in lidar_files(root) if args.only in str(p.relative_to(root))]

    import pcrs

    print(f"pcrs {pcrs.__version__} from {Path(pcrs.__file__).parent}")
    print(f"{len(files)} files under {root}; commands: {', '.join(commands)}\n")

    results: dict[str, dict[str, list[str] | None]] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="roundtrip_") as tmp:
        for i, path in enumerate(files):
            name = str(path.relative_to(root))
            row: dict[str, list[str] | None] = {}
            results[name] = row
            if any(b in path.name for b in BROKEN):
                row.update(dict.fromkeys(commands))  # None: skipped
                continue
            try:
                lf.read_las(path)
            except Exception as exc:
                for c in commands:
                    row[c] = [f"input unreadable by laspy: {type(exc).__name__}: {exc}"]
                continue
            for command in commands:
                workdir = Path(tmp) / f"{i}_{command}"
                t0 = time.perf_counter()
                try:
                    row[command] = lf.check(command, path, workdir)
                except Exception as exc:  # the harness itself failed on this file
                    last = traceback.format_exc().strip().splitlines()[-1]
                    row[command] = [f"harness error: {type(exc).__name__}: {exc} ({last})"]
                seconds = time.perf_counter() - t0
                state = "intact" if not row[command] else f"{len(row[command])} difference(s)"
                print(f"  [{i + 1}/{len(files)}] {name} {command}: {state} ({seconds:.1f} s)",
                      file=sys.stderr, flush=True)  # fmt: skip

    width = max(len(n) for n in results) if results else 10
    w = args.width

    def cell(diffs: list[str] | None) -> str:
        if diffs is None:
            return "skipped (documented broken)"
        if not diffs:
            return "intact"
        more = f" (+{len(diffs) - 1} more)" if len(diffs) > 1 else ""
        text = diffs[0]
        if len(text) + len(more) > w:
            text = text[: max(10, w - len(more) - 3)] + "..."
        return text + more

    print(f"{'file':<{width}}  " + "  ".join(f"{c:<{w}}" for c in commands))
    for name, row in results.items():
        print(f"{name:<{width}}  " + "  ".join(f"{cell(row.get(c)):<{w}}" for c in commands))

    print()
    tested = [n for n, row in results.items() if all(row.get(c) is not None for c in commands)]
    for c in commands:
        intact = sum(1 for n in tested if not results[n][c])
        failed = sum(1 for n in tested if results[n][c] and results[n][c][0].startswith("command"))
        print(
            f"{intact} of {len(tested)} files intact through {c} "
            f"({len(tested) - intact - failed} with losses, {failed} command failures)"
        )
    all_ok = sum(1 for n in tested if all(not results[n][c] for c in commands))
    print(f"{all_ok} of {len(tested)} files intact through every command")
    skipped = len(results) - len(tested)
    print(f"{skipped} file(s) skipped as documented broken; {time.perf_counter() - started:.0f} s")

    print("\nEvery difference:")
    for name, row in results.items():
        for c in commands:
            for d in row.get(c) or []:
                print(f"{name} | {c} | {d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
