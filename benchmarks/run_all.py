"""Run every benchmark at the sizes the issues name, one after another, and keep their output.

    python benchmarks/run_all.py                 # everything (about an hour on 2 cores)
    python benchmarks/run_all.py --only proms settlement
    python benchmarks/run_all.py --quick         # small sizes, to check the scripts run

Each benchmark prints its own figures; this script copies them to
``benchmarks/out/<name>.txt`` with the command and the machine it ran on.  Results are
recorded by hand in ``benchmarks/RESULTS.md``.  Run on a quiet machine: the figures are
wall-clock times.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

FULL = {
    "proms": ["bench_proms.py", "--n", "10000000"],
    "generate": ["bench_generate.py", "--persons", "10000", "100000", "--workers", "2"],
    "validate": ["bench_validate.py", "--persons", "100000"],
    "prepare": ["bench_prepare.py", "--persons", "10000", "100000", "1000000", "--pandas", "100000", "--check"],
    "train": ["bench_train.py", "--episodes", "200000", "--predict-rows", "1000000"],
    "value": ["bench_value.py", "--episodes", "200000", "--hospitals", "50", "--stage", "both"],
    "settlement": ["bench_settlement.py", "--episodes", "20000", "--hospitals", "50", "--replicates", "1000", "--report"],
    "serve": ["bench_serve.py", "--clients", "1,8,32", "--seconds", "20"],
    "nhs": ["bench_nhs.py"],
}
QUICK = {
    "proms": ["bench_proms.py", "--n", "100000"],
    "generate": ["bench_generate.py", "--persons", "2000", "--workers", "1"],
    "validate": ["bench_validate.py", "--persons", "2000"],
    "prepare": ["bench_prepare.py", "--persons", "2000", "--pandas", "2000", "--check"],
    "train": ["bench_train.py", "--episodes", "5000", "--predict-rows", "20000", "--no-register"],
    "value": ["bench_value.py", "--episodes", "5000", "--hospitals", "20", "--stage", "both"],
    "settlement": ["bench_settlement.py", "--episodes", "2000", "--hospitals", "10", "--replicates", "50"],
    "serve": ["bench_serve.py", "--clients", "1,4", "--seconds", "3"],
    "nhs": ["bench_value_nhs.py", "--years", "2017/18"],
}


def machine() -> str:
    cpus = os.cpu_count()
    mem = ""
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        mem = f", {pages * size / 2**30:.0f} GiB RAM"
    except (ValueError, OSError):
        pass
    return f"{platform.machine()}, {cpus} CPUs{mem}, Python {platform.python_version()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=sorted(FULL), help="run only these benchmarks")
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run of the scripts)")
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    out_dir = HERE / "out"
    out_dir.mkdir(exist_ok=True)
    failed = []
    for name, argv in plan.items():
        if args.only and name not in args.only:
            continue
        command = [sys.executable, str(HERE / argv[0]), *argv[1:]]
        header = (
            f"# {name}: {' '.join(['python', 'benchmarks/' + argv[0], *argv[1:]])}\n"
            f"# {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {machine()}\n"
        )
        print(header, end="", flush=True)
        result = subprocess.run(command, capture_output=True, text=True)
        text = header + result.stdout + (f"\n# stderr (exit {result.returncode}):\n{result.stderr}" if result.returncode else "")
        (out_dir / f"{name}.txt").write_text(text, encoding="utf-8")
        print(result.stdout, flush=True)
        if result.returncode:
            failed.append(name)
            print(f"# {name} failed (exit {result.returncode}); see benchmarks/out/{name}.txt", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
