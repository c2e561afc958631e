"""Benchmark ``vbhc value`` and ``vbhc price`` (issue 6) on a simulated national registry.

Default: 200,000 episodes in 50 hospitals (about ten years of Danish hip and knee
replacements); value: every outcome of pipelines/value.yaml at hospital, department and
region level for hip, knee and both joints, plus the HTML report; price: every part of
pipelines/pricing.yaml switched on (risk, warranty, outliers, quality composite).

    python benchmarks/bench_value.py                         # 200,000 episodes, both stages
    python benchmarks/bench_value.py --episodes 20000        # quicker check
    python benchmarks/bench_value.py --stage pricing

Prints wall and CPU seconds (best of --repeat runs), episodes per second, peak memory of the
computation (tracemalloc), the pricing budget gap (DKK) and the process's max RSS.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "value"))

from value_helpers import models_of  # noqa: E402
from value_sim import simulate_registry  # noqa: E402

from vbhc.pricing import load_pricing_settings, price_episodes  # noqa: E402
from vbhc.value import assess_value, load_value_settings  # noqa: E402
from vbhc.value._report import value_report  # noqa: E402


def measure(label: str, n: int, repeat: int, fn):
    """Best of ``repeat`` timed runs and one run under tracemalloc; prints and returns the result."""
    times, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = fn()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    best = min(times)
    print(
        f"{label:<15} episodes={n:>9,}  {best:7.2f} s (CPU {min(cpu):6.2f} s)  {n / best:>10,.0f} episodes/s  "
        f"peak {peak / 2**20:7.1f} MiB"
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=200_000)
    parser.add_argument("--hospitals", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--stage", choices=["value", "pricing", "both"], default="both")
    args = parser.parse_args()

    episodes, predictions, _ = simulate_registry(args.episodes, args.hospitals, seed=args.seed)
    predictions.attrs["vbhc.models"] = models_of(predictions)  # as vbhc predict names them (the pipelines require it)
    print(f"{args.episodes:,} simulated episodes in {args.hospitals} hospitals (seed {args.seed})")
    if args.stage in ("value", "both"):
        settings = load_value_settings()
        result = measure("assess_value", args.episodes, args.repeat, lambda: assess_value(episodes, predictions, settings))
        start, start_cpu = time.perf_counter(), time.process_time()
        html = value_report(result, settings)
        print(
            f"{'value_report':<15} {time.perf_counter() - start:7.2f} s (CPU {time.process_time() - start_cpu:6.2f} s)  "
            f"{len(html) / 2**20:5.1f} MiB of HTML"
        )
    if args.stage in ("pricing", "both"):
        pricing = load_pricing_settings()
        res = measure("price_episodes", args.episodes, args.repeat, lambda: price_episodes(episodes, predictions, pricing))
        print(f"{'budget gap':<15} {res.summary['total_payments_dkk'] - res.summary['target_dkk']:+.6f} DKK")
    print(f"max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")


if __name__ == "__main__":
    main()
