"""Benchmark ``vbhc value``: risk-adjusted provider value on a simulated national registry.

Default: 200,000 episodes in 50 hospitals (about ten years of Danish hip and knee
replacements), every outcome of pipelines/value.yaml at hospital, department and region
level, hip, knee and both joints.

    python benchmarks/bench_value.py                       # 200,000 episodes
    python benchmarks/bench_value.py --episodes 20000      # quicker check

Prints seconds (best of --repeat runs) for the computation and for the HTML report,
episodes per second, peak memory of the computation (tracemalloc) and the process's max RSS.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "value"))

from value_sim import simulate_registry  # noqa: E402

from vbhc.value import assess_value, load_value_settings  # noqa: E402
from vbhc.value._report import value_report  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=200_000)
    parser.add_argument("--hospitals", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args()

    episodes, predictions, _ = simulate_registry(args.episodes, args.hospitals, seed=args.seed)
    settings = load_value_settings()
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        result = assess_value(episodes, predictions, settings)
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    assess_value(episodes, predictions, settings)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    start = time.perf_counter()
    html = value_report(result, settings)
    report_s = time.perf_counter() - start
    best = min(times)
    print(f"assess_value   episodes={args.episodes:>9,} hospitals={args.hospitals}  {best:7.2f} s  "
          f"{args.episodes / best:>10,.0f} episodes/s  peak {peak / 2**20:7.1f} MiB  "
          f"rows out {len(result.provider_value):,}")  # fmt: skip
    print(f"value_report   {report_s:7.2f} s  {len(html) / 2**20:5.1f} MiB of HTML")
    print(f"max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")


if __name__ == "__main__":
    main()
