"""Benchmark: bootstrap settlement of a national year under several schemes.

Goal (issue 7): 1,000 replicates of a national year (about 20,000 episodes, 50
hospitals) under 5 schemes in under 30 s on 2 cores.  The cohort is synthetic (the
settlement tests' generator) with the year before for baselines; the scenarios are
today's five regional 2016 schemes (17 schemes incl. state pool and municipal
co-financing), bundled payment with a warranty, bundled payment with a P4P withhold,
outcome-contingent payment and capitation.

    .venv/bin/python benchmarks/bench_settlement.py [--episodes 20000 --hospitals 50 --replicates 1000]
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "settlement"))

from settlement_cohort import synthetic_episodes, synthetic_prices  # noqa: E402

from vbhc.settlement import load_scenario, parse_scenario, simulate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=20_000, help="episodes per year (default 20000)")
    parser.add_argument("--hospitals", type=int, default=50, help="hospitals (default 50)")
    parser.add_argument("--replicates", type=int, default=1_000, help="bootstrap replicates (default 1000)")
    parser.add_argument("--seed", type=int, default=2016)
    parser.add_argument("--report", action="store_true", help="also time payments, summary and the HTML report")
    args = parser.parse_args()

    t0 = time.perf_counter()
    episodes = synthetic_episodes(
        n_hospitals=args.hospitals, per_hospital=args.episodes // args.hospitals, years=(2015, 2016), seed=args.seed
    )
    prices = synthetic_prices(episodes[episodes["operation_year"] == 2016])
    t_data = time.perf_counter() - t0
    scenarios = [
        load_scenario("denmark-2016"),
        load_scenario("bundled-warranty"),
        load_scenario("bundled-p4p"),
        load_scenario("outcome-contingent"),
        parse_scenario({"name": "capitation", "schemes": [{"type": "capitation"}]}),
    ]
    n_schemes = sum(len(s.schemes) for s in scenarios)
    n_2016 = int((episodes["operation_year"] == 2016).sum())

    t0 = time.perf_counter()
    result = simulate(scenarios, episodes, prices, replicates=args.replicates, seed=args.seed)
    t_sim = time.perf_counter() - t0
    print(f"cohort: {n_2016} episodes in 2016 (+ {len(episodes) - n_2016} in 2015), {args.hospitals} hospitals; built in {t_data:.1f} s")
    print(f"scenarios: {len(scenarios)} ({n_schemes} schemes); replicates: {args.replicates}")
    print(f"simulate (bootstrap + incentives): {t_sim:.2f} s")
    print(f"  episode-replicate settlements per second: {n_2016 * (args.replicates + 1) * len(scenarios) / t_sim:,.0f}")
    if args.report:
        for label, fn in (
            ("payments table", lambda: result.payments),
            ("summary", result.summary),
            ("report.html", result.report_html),
        ):
            t0 = time.perf_counter()
            out = fn()
            print(f"{label}: {time.perf_counter() - t0:.2f} s ({len(out):,} rows/chars)")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS): {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main()
