"""Benchmark of ``vbhc generate``: seconds, rows per second and peak memory by size.

    python benchmarks/bench_generate.py --persons 10000 100000 --workers 2

Each size is generated into a fresh temporary folder (fixed seed) in its own child
process, so that the peak resident memory (ru_maxrss of the process and of its worker
processes) belongs to that size alone.  Target (issue 2): 100,000 persons in under
60 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import shutil
import tempfile
import time
from pathlib import Path


def _run(persons: int, seed: int, workers: int, queue) -> None:
    from vbhc.synth import GeneratorConfig, write_registry

    out = Path(tempfile.mkdtemp(prefix="bench-generate-"))
    try:
        start = time.perf_counter()
        rows = write_registry(out / "raw", GeneratorConfig(persons=persons, seed=seed), workers=workers)
        seconds = time.perf_counter() - start
        size = sum(p.stat().st_size for p in (out / "raw").rglob("*") if p.is_file())
    finally:
        shutil.rmtree(out, ignore_errors=True)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    raw_rows = sum(v for k, v in rows.items() if not k.startswith("truth/"))
    queue.put({"persons": persons, "workers": workers, "seconds": round(seconds, 1), "raw_rows": raw_rows,
               "episodes": rows.get("truth/episodes", 0), "rows_per_s": round(raw_rows / seconds),
               "peak_mb_main": round(own), "peak_mb_worker": round(children), "output_mb": round(size / 2**20, 1)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, nargs="+", default=[10_000, 100_000], help="sizes (persons)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per size")
    args = parser.parse_args()
    ctx = mp.get_context("spawn")
    print(f"{'persons':>9} {'workers':>7} {'seconds':>8} {'raw rows':>11} {'episodes':>9} {'rows/s':>9} "
          f"{'peak MB main':>12} {'peak MB worker':>14} {'output MB':>9}")
    for persons in args.persons:
        queue = ctx.Queue()
        proc = ctx.Process(target=_run, args=(persons, args.seed, args.workers, queue))
        proc.start()
        result = queue.get()
        proc.join()
        if args.json:
            print(json.dumps(result))
        else:
            print(f"{result['persons']:>9,} {result['workers']:>7} {result['seconds']:>8} {result['raw_rows']:>11,} "
                  f"{result['episodes']:>9,} {result['rows_per_s']:>9,} {result['peak_mb_main']:>12,} "
                  f"{result['peak_mb_worker']:>14,} {result['output_mb']:>9}")


if __name__ == "__main__":
    main()
