"""Benchmark PROM scoring: EQ-5D index and Oxford score on many questionnaires, one core.

Target (issue 3): 10 million EQ-5D profiles or Oxford questionnaires in under 2 s.

    python benchmarks/bench_proms.py                # 10 million
    python benchmarks/bench_proms.py --n 1000000    # quicker check

The process is pinned to one CPU (``os.sched_setaffinity``, where the OS has it) and the
thread pools of BLAS, OpenMP, numexpr and Arrow are limited to one thread; the first
lines say what was done.  Cases: EQ-5D profiles as int codes, as a MO..AD DataFrame and
as text (a pandas ``str`` column, as ``read_parquet`` gives it, and an object column of
Python strings, as ``read_csv(dtype=object)`` gives it); Oxford items as an int8 matrix,
as float32 with 1 % missing, and as a 12-column DataFrame read from Parquet (nullable
``Int8``, 1 % missing); and the pipeline function on a long ``prom_responses`` table.
Prints seconds (best of two runs), rows per second and peak memory (tracemalloc: buffers
allocated by the scorer, excluding the input) for each case, and the process's max RSS.
"""

from __future__ import annotations

import os

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")
for _var in _THREAD_VARS:
    os.environ[_var] = "1"  # before NumPy is imported, so that its thread pools start with one thread

import argparse  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow as pa  # noqa: E402

from vbhc.core.io import arrow_to_pandas  # noqa: E402
from vbhc.proms import EQ5D_DIMENSIONS, OHS_ITEMS, eq5d_index, oxford_score, score_prom_responses  # noqa: E402


def pin_to_one_core() -> str:
    """Pin this process to its first allowed CPU and Arrow to one thread; say what was done."""
    pa.set_cpu_count(1)
    pa.set_io_thread_count(1)
    threads = ", ".join(f"{v}={os.environ[v]}" for v in _THREAD_VARS)
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        pinned = f"pinned to CPU {cpu} (sched_setaffinity; allowed now {sorted(os.sched_getaffinity(0))})"
    else:
        pinned = "not pinned: os.sched_setaffinity is not available on this platform"
    return f"{pinned}; {threads}; Arrow cpu_count={pa.cpu_count()}"


def _time(label: str, n: int, fn) -> None:
    """Best of two timed runs, then one run under tracemalloc for the peak of new allocations."""
    seconds = min(_once(fn) for _ in range(2))
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{label:<54} n={n:>11,}  {seconds:7.3f} s  {n / seconds / 1e6:7.1f} M rows/s  peak {peak / 2**20:7.1f} MiB")


def _once(fn) -> float:
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    assert len(result) > 0
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000_000, help="questionnaires per case (default 10,000,000)")
    parser.add_argument("--long-persons", type=int, default=100_000, help="persons for the long-table case")
    parser.add_argument("--seed", type=int, default=20240501, help="random seed")
    args = parser.parse_args()
    print(pin_to_one_core())
    rng = np.random.default_rng(args.seed)
    n = args.n

    eq5d_index([11111], "dk_5l")  # load the value set once
    levels = rng.integers(1, 6, size=(n, 5), dtype=np.int8)
    codes = levels.astype(np.int64) @ np.array([10_000, 1_000, 100, 10, 1])
    _time("EQ-5D-5L index, int profiles (dk_5l)", n, lambda: eq5d_index(codes, "dk_5l"))
    frame = pd.DataFrame(levels, columns=list(EQ5D_DIMENSIONS))
    _time("EQ-5D-5L index, MO..AD DataFrame (int8)", n, lambda: eq5d_index(frame, "dk_5l"))
    del frame, levels
    text = codes.astype("U5").astype(object)
    text[rng.random(n) < 0.01] = None
    del codes
    column = arrow_to_pandas(pa.table({"profile": pa.array(text, type=pa.string(), from_pandas=True)}))["profile"]
    assert str(column.dtype) == "str"
    _time("EQ-5D-5L index, str profiles from Parquet (1% missing)", n, lambda: eq5d_index(column, "dk_5l"))
    del column
    objects = pd.Series(text, dtype=object)
    _time("EQ-5D-5L index, object str profiles (1% missing)", n, lambda: eq5d_index(objects, "dk_5l"))
    del objects, text

    items = rng.integers(0, 5, size=(n, 12), dtype=np.int8)
    _time("Oxford score, complete int8 items", n, lambda: oxford_score(items, instrument="OHS"))
    gaps = rng.random(items.shape, dtype=np.float32) < 0.01
    items_f = items.astype(np.float32)
    items_f[gaps] = np.nan
    _time("Oxford score, float32 items with 1% missing", n, lambda: oxford_score(items_f, instrument="OHS"))
    del items_f
    parquet = arrow_to_pandas(
        pa.table({name: pa.array(items[:, j], mask=gaps[:, j]) for j, name in enumerate(OHS_ITEMS)})
    )
    del items, gaps
    assert all(str(t) == "Int8" for t in parquet.dtypes)
    _time("Oxford score, 12-column Int8 DataFrame from Parquet", n, lambda: oxford_score(parquet, instrument="OHS"))
    del parquet

    # The pipeline function on a long prom_responses table (about 30 answers per person).
    p = args.long_persons
    person = np.repeat(np.array([f"P{i:08d}" for i in range(p)], dtype=object), 2)
    date = np.tile(pd.to_datetime(["2021-01-10", "2021-12-20"]).to_numpy(), p)
    parts = []
    for instrument, names, lo, hi in (("OHS", OHS_ITEMS, 0, 4), ("EQ-5D-5L", EQ5D_DIMENSIONS, 1, 5), ("EQ-VAS", ("VAS",), 0, 100)):
        k = len(names)
        parts.append(
            pd.DataFrame(
                {
                    "response_id": np.repeat(np.arange(len(person)), k).astype(str),
                    "person_id": np.repeat(person, k),
                    "joint": "hip",
                    "instrument": instrument,
                    "item": np.tile(np.array(names, dtype=object), len(person)),
                    "answer": rng.integers(lo, hi + 1, size=len(person) * k).astype(float),
                    "response_date": np.repeat(date, k),
                    "mode": "web",
                }
            )
        )
    long = pd.concat(parts, ignore_index=True)
    _time(f"score_prom_responses, {len(long):,} answers", len(long), lambda: score_prom_responses(long))
    print(f"max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10:.0f} MiB (whole process)")


if __name__ == "__main__":
    main()
