"""Real data end to end: vbhc's NHS models against NHS's own case-mix model (issues 5 and 6).

    python benchmarks/bench_nhs.py [--src ../shared/realdata/nhs-proms] [--out benchmarks/out/nhs]

Runs ``vbhc run pipelines/nhs-proms.yaml`` (import the record-level files, train the six
``models/nhs`` specifications on 2016/17 and test on 2017/18, score every record, provider
value) into ``--out`` with its own MLflow store, prints the step timings and the
side-by-side comparison with NHS's model on the same 2017/18 patients
(``models/comparison.csv``: R², RMSE, bias; AUC of predicted gain for the minimal
important change), then ``bench_value_nhs.py`` with vbhc's own predictions: agreement of
the provider-adjusted 6-month Oxford score with NHS's published ProvComm figures, first
with NHS's own predictions (the reproduction), then with vbhc's.  Without ``../shared``
it says so and exits 0.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=ROOT.parent / "shared" / "realdata" / "nhs-proms",
                        help="the nhs-proms folder (default ../shared/realdata/nhs-proms)")
    parser.add_argument("--out", type=Path, default=HERE / "out" / "nhs", help="output folder (default benchmarks/out/nhs)")
    args = parser.parse_args()
    if not args.src.is_dir():
        print(f"skipped: real NHS PROMs data not found at {args.src} (../shared is absent)")
        return 0
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    vbhc = Path(sys.executable).with_name("vbhc")
    command = [str(vbhc), "--quiet", "run", "pipelines/nhs-proms.yaml", "--out", str(out),
               "--param", f"src={args.src.resolve()}", "--param", f"tracking_uri=sqlite:///{out}/mlflow.db"]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode:
        print(done.stdout, done.stderr, sep="\n")
        return done.returncode
    print(f"vbhc run pipelines/nhs-proms.yaml: {seconds:.0f} s in all")
    run = json.loads((out / "run.json").read_text())
    for step in run.get("steps", []):
        print(f"  {step.get('name', '?'):<8} {step.get('seconds', float('nan')):7.1f} s  {step.get('status', '')}")
    comparison = pd.read_csv(out / "models" / "comparison.csv")
    print("\nvbhc's models against NHS's case-mix model on the same 2017/18 patients (models/comparison.csv):")
    with pd.option_context("display.width", 200, "display.max_columns", 30, "display.float_format", "{:.4f}".format):
        print(comparison.to_string(index=False))
    print(flush=True)
    value = subprocess.run([sys.executable, str(HERE / "bench_value_nhs.py"), "--src", str(args.src),
                            "--predictions", str(out / "predictions.parquet")], cwd=ROOT)
    return value.returncode


if __name__ == "__main__":
    sys.exit(main())
