"""Benchmark of the outcome models: training every specification and batch prediction.

Targets (issue 5): training every model for both joints on 200,000 episodes within
10 minutes on 2 cores; batch prediction of 1,000,000 episodes per model within 30 s.

The episodes are the generator's true episodes (``vbhc.synth``, every episode column)
of ``--base-persons`` persons, resampled with replacement to the wanted size with new
episode ids (so the frame has realistic distributions and relations).  Training runs
``vbhc.train.train_all`` exactly as ``vbhc train`` does (fits, model cards, MLflow
logging and registration in a temporary SQLite store) unless ``--no-register``.

    python benchmarks/bench_train.py                          # 200,000 episodes, 1,000,000 to score
    python benchmarks/bench_train.py --episodes 20000 --predict-rows 100000   # a quick check
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (MB)."""
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024 if sys.platform != "darwin" else kb / 1024 / 1024


def resample(base: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """``n`` rows drawn with replacement from ``base``, with fresh episode and person ids."""
    rng = np.random.default_rng(seed)
    frame = base.iloc[rng.integers(0, len(base), n)].reset_index(drop=True)
    frame["episode_id"] = [f"E{i:015x}" for i in range(n)]
    if "person_id" in frame:
        frame["person_id"] = [f"P{i:015x}" for i in range(n)]
    return frame


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=200_000, help="training episodes (both joints) [200000]")
    parser.add_argument("--predict-rows", type=int, default=1_000_000, help="episodes scored per model [1000000]")
    parser.add_argument("--base-persons", type=int, default=20_000, help="persons generated to resample from [20000]")
    parser.add_argument("--seed", type=int, default=20240611)
    parser.add_argument("--models", type=Path, default=None, help="specification folder [models/]")
    parser.add_argument("--no-register", action="store_true", help="skip MLflow logging and registration")
    args = parser.parse_args(argv)

    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from vbhc.synth import generate_registry
    from vbhc.train import load_specs, train_all
    from vbhc.scoring import RegisteredModel, predict_episodes

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    t = time.perf_counter()
    base = generate_registry(args.base_persons, args.seed, dirty_rate=0.0).truth["episodes"]
    print(f"generated {len(base):,} base episodes from {args.base_persons:,} persons in {time.perf_counter() - t:.1f} s")
    episodes = resample(base, args.episodes, args.seed)
    specs = load_specs(args.models)

    with tempfile.TemporaryDirectory() as tmp:
        uri = f"sqlite:///{tmp}/mlflow.db"
        t = time.perf_counter()
        summary = train_all(episodes, specs, Path(tmp) / "out", tracking_uri=uri, register=not args.no_register)
        train_s = time.perf_counter() - t
        print(f"\ntraining {len(specs)} models on {len(episodes):,} episodes "
              f"({'with' if not args.no_register else 'without'} MLflow registration): {train_s:.1f} s "
              f"(target 600 s); peak memory {peak_rss_mb():,.0f} MB")
        print(summary[["model", "n_train", "selected", "metric", "test"]].to_string(index=False))

        # Scoring: the fitted models of the run, one at a time, on predict-rows episodes.
        from vbhc.scoring import load_champions

        scoring = resample(base, args.predict_rows, args.seed + 1)
        if args.no_register:
            print("scoring needs the registered models; rerun without --no-register")
            return
        models = load_champions(tracking_uri=uri)
        rows = []
        for (outcome, joint), m in sorted(models.items()):
            single = RegisteredModel(m.name, m.version, m.alias, m.run_id, m.model)
            t = time.perf_counter()
            predict_episodes(scoring, [single])
            rows.append({"model": m.name, "seconds": time.perf_counter() - t})
        per_model = pd.DataFrame(rows)
        t = time.perf_counter()
        predict_episodes(scoring, models.values())
        all_s = time.perf_counter() - t
        print(f"\nscoring {len(scoring):,} episodes per model (target 30 s each):")
        print(per_model.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
        print(f"max {per_model['seconds'].max():.2f} s, median {per_model['seconds'].median():.2f} s; "
              f"all {len(models)} models together {all_s:.1f} s "
              f"({len(scoring) * len(models) / all_s:,.0f} predictions/s); peak memory {peak_rss_mb():,.0f} MB")


if __name__ == "__main__":
    main()
