"""Benchmark of the outcome models: training every specification and batch prediction.

Targets (issue 5): training every model for both joints on 200,000 episodes within
10 minutes on 2 cores; batch prediction of 1,000,000 episodes per model within 30 s.

Training uses the generator's true episodes (``vbhc.synth``, every episode column) of
a registry big enough for ``--episodes`` (about 0.8 episodes per person), generated
once into ``--registry`` (default ``benchmarks/out/registry-<persons>``, reused by
later runs) and cut to exactly ``--episodes`` rows.  Scoring draws ``--predict-rows``
episodes with replacement for each model from the episodes of its own joint and
population (hip models hip episodes, return to work employed patients), so every model
really scores that many rows; the rows scored and seconds are printed per model.  Training runs
``vbhc.train.train_all`` exactly as ``vbhc train`` does (fits, model cards, MLflow
logging and registration in a temporary SQLite store) unless ``--no-register``;
the fits and the publishing (model cards, MLflow) are timed separately.

    python benchmarks/bench_train.py                          # 200,000 episodes, 1,000,000 to score
    python benchmarks/bench_train.py --episodes 20000 --predict-rows 100000   # a quick check (~3 min)
    python benchmarks/bench_train.py --episodes 5000 --predict-rows 20000 --models DIR  # a few specs only
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
    """``n`` rows drawn with replacement from ``base`` with fresh episode ids (for scoring)."""
    rng = np.random.default_rng(seed)
    frame = base.iloc[rng.integers(0, len(base), n)].reset_index(drop=True)
    frame["episode_id"] = [f"E{i:015x}" for i in range(n)]
    return frame


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=200_000, help="training episodes (both joints) [200000]")
    parser.add_argument("--predict-rows", type=int, default=1_000_000, help="episodes scored per model [1000000]")
    parser.add_argument("--registry", type=Path, default=None, help="generated registry folder (made if missing)")
    parser.add_argument("--workers", type=int, default=2, help="generator processes [2]")
    parser.add_argument("--seed", type=int, default=20240611)
    parser.add_argument("--models", type=Path, default=None, help="specification folder [models/]")
    parser.add_argument("--no-register", action="store_true", help="skip MLflow logging and registration")
    args = parser.parse_args(argv)

    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from vbhc.core.io import read_parquet
    from vbhc.scoring import RegisteredModel, load_champions, predict_episodes
    from vbhc.synth import GeneratorConfig, write_registry
    from vbhc.train import load_specs, train_model
    from vbhc.train._run import publish

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    persons = int(args.episodes / 0.75) + 1000
    folder = args.registry or Path(__file__).parent / "out" / f"registry-{persons}-{args.seed}"
    truth = folder / "truth" / "episodes.parquet"
    if not truth.is_file():
        t = time.perf_counter()
        write_registry(folder, GeneratorConfig(persons=persons, seed=args.seed, dirty_rate=0.0), workers=args.workers)
        print(f"generated a registry of {persons:,} persons in {time.perf_counter() - t:.1f} s ({folder})")
    base = read_parquet(truth)
    if len(base) < args.episodes:
        raise SystemExit(f"{folder} has {len(base):,} episodes, fewer than --episodes {args.episodes:,}")
    episodes = base.sample(n=args.episodes, random_state=args.seed).reset_index(drop=True)
    print(f"training episodes: {len(episodes):,} of {len(base):,} in {folder.name}")
    specs = load_specs(args.models)

    with tempfile.TemporaryDirectory() as tmp:
        uri = f"sqlite:///{tmp}/mlflow.db"
        results, rows = [], []
        t0 = time.perf_counter()
        for spec in specs:
            t = time.perf_counter()
            results.append(train_model(episodes, spec))
            m = results[-1].metrics
            rows.append({"model": spec.model_name, "n_train": m["n_train"], "selected": m["selected"],
                         "metric": m["metric"], "test": m["test"][m["selected"]].get(m["metric"]),
                         "seconds": time.perf_counter() - t})
        fit_s = time.perf_counter() - t0
        t = time.perf_counter()
        publish(results, Path(tmp) / "out", tracking_uri=uri, register=not args.no_register)
        publish_s = time.perf_counter() - t
        print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        print(f"\ntraining {len(specs)} models on {len(episodes):,} episodes: fits {fit_s:.1f} s + model cards and "
              f"{'MLflow registration' if not args.no_register else 'outputs'} {publish_s:.1f} s = "
              f"{fit_s + publish_s:.1f} s (target 600 s); peak memory {peak_rss_mb():,.0f} MB")

        # Scoring: each registered champion alone on predict-rows episodes of its own joint and
        # population (predict_episodes scores only the rows a model applies to), then all together.
        if args.no_register:
            print("scoring needs the registered models; rerun without --no-register")
            return
        models = load_champions(tracking_uri=uri)
        rows = []
        for (outcome, joint), m in sorted(models.items()):
            single = RegisteredModel(m.name, m.version, m.alias, m.run_id, m.model)
            eligible = base[m.model.in_population(base)]
            columns = list(dict.fromkeys(["episode_id", "joint", *m.model.population, *m.model.feature_names]))
            scoring = resample(eligible[columns], args.predict_rows, args.seed + 1)
            t = time.perf_counter()
            predictions = predict_episodes(scoring, [single])
            seconds = time.perf_counter() - t
            scored = int(predictions[f"pred_{outcome}"].notna().sum())
            rows.append({"model": m.name, "rows_scored": scored, "seconds": seconds, "rows_per_s": scored / seconds})
            del scoring, predictions
        per_model = pd.DataFrame(rows)
        print(f"\nscoring {args.predict_rows:,} episodes per model, drawn from the model's own joint and "
              "population (target 30 s each):")
        print(per_model.to_string(index=False, formatters={"rows_scored": "{:,}".format, "seconds": "{:.2f}".format,
                                                           "rows_per_s": "{:,.0f}".format}))
        print(f"max {per_model['seconds'].max():.2f} s, median {per_model['seconds'].median():.2f} s; "
              f"fewest rows scored {per_model['rows_scored'].min():,}; peak memory {peak_rss_mb():,.0f} MB")
        mixed = resample(base, args.predict_rows, args.seed + 2)
        t = time.perf_counter()
        together = predict_episodes(mixed, models.values())
        all_s = time.perf_counter() - t
        cells = int(together.filter(regex=r"^pred_.*(?<!_lower)(?<!_upper)$").notna().to_numpy().sum())
        print(f"all {len(models)} models together on {len(mixed):,} mixed episodes (hip, knee; each model scores "
              f"its own rows): {all_s:.1f} s, {cells:,} predictions ({cells / all_s:,.0f} predictions/s); "
              f"peak memory {peak_rss_mb():,.0f} MB")

if __name__ == "__main__":
    main()
