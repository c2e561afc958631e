"""Benchmark ``vbhc price``: bundled prices with every part switched on (pipelines/pricing.yaml).

    python benchmarks/bench_pricing.py                     # 200,000 episodes, 50 hospitals
    python benchmarks/bench_pricing.py --episodes 20000    # quicker check

Prints seconds (best of --repeat runs), episodes per second, peak memory (tracemalloc),
the budget check (total payments minus target, DKK) and the process's max RSS.
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

from vbhc.pricing import load_pricing_settings, price_episodes  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=200_000)
    parser.add_argument("--hospitals", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args()

    episodes, predictions, _ = simulate_registry(args.episodes, args.hospitals, seed=args.seed)
    settings = load_pricing_settings()
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        result = price_episodes(episodes, predictions, settings)
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    price_episodes(episodes, predictions, settings)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    best = min(times)
    gap = result.summary["total_payments_dkk"] - result.summary["target_dkk"]
    print(f"price_episodes episodes={args.episodes:>9,} hospitals={args.hospitals}  {best:7.2f} s  "
          f"{args.episodes / best:>10,.0f} episodes/s  peak {peak / 2**20:7.1f} MiB  budget gap {gap:+.6f} DKK")  # fmt: skip
    print(f"max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")


if __name__ == "__main__":
    main()
