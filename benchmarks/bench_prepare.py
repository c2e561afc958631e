"""Benchmark of ``vbhc prepare``: seconds and peak memory by registry size, and the ratio
to a straightforward pandas implementation of the same joins.

    python benchmarks/bench_prepare.py --persons 10000 100000 1000000 --pandas 100000

For each size a synthetic registry is generated (``vbhc generate``, fixed seed) and
validated (``vbhc validate``) once into ``--workdir`` (kept with ``--keep`` for reruns);
then ``vbhc prepare`` runs in its own child process whose peak resident memory
(its ``ru_maxrss``, DuckDB included) and wall time are reported, with the builder's own step
timings from its manifest.  DuckDB runs with ``--threads`` and ``--memory-limit`` and
spills to ``--workdir``.  ``--pandas`` sizes also run
``benchmarks/pandas_reference_prepare.py`` on the same tables (child process, same
measurements) and print the time ratio; ``--check`` compares the two results.

Targets (issue 4): near-linear growth; 1,000,000 persons within 10 minutes and 12 GB on
2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent


def run_child(argv: list[str]) -> tuple[float, float, str]:
    """Run a command; return (wall seconds, peak RSS in MB as the child reports it, stdout)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate()
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:4])} ... failed ({proc.returncode}):\n{err[-3000:]}")
    peak = float(out.strip().splitlines()[-1].split("peak_mb=")[1]) if "peak_mb=" in out else float("nan")
    return seconds, peak, out


def measured(code: str) -> list[str]:
    """A Python child that runs ``code`` and prints its own peak RSS last."""
    wrapper = (
        "import resource, sys\n"
        f"{code}\n"
        "print(f\"peak_mb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}\")\n"
    )
    return [sys.executable, "-c", wrapper]


def ensure_registry(workdir: Path, persons: int, seed: int, workers: int) -> Path:
    """Generate and validate the registry of ``persons`` once; returns the validated folder."""
    raw, validated = workdir / f"raw-{persons}", workdir / f"validated-{persons}"
    if not (validated / "accepted").is_dir():
        shutil.rmtree(raw, ignore_errors=True)
        shutil.rmtree(validated, ignore_errors=True)
        print(f"  generating and validating {persons:,} persons ...", flush=True)
        subprocess.run([sys.executable, "-m", "vbhc", "-q", "generate", "--out", str(raw), "--persons", str(persons),
                        "--seed", str(seed), "--workers", str(workers)], check=True)  # fmt: skip
        subprocess.run([sys.executable, "-m", "vbhc", "-q", "validate", "--raw", str(raw), "--out", str(validated)],
                       check=True)  # fmt: skip
    return validated


def write_config(workdir: Path, threads: int, memory_limit: str) -> Path:
    from vbhc.core.paths import pipelines_dir

    data = yaml.safe_load((pipelines_dir() / "prepare.yaml").read_text(encoding="utf-8"))
    data["codelists"] = str(pipelines_dir() / data["codelists"])
    data["prices"] = str(pipelines_dir() / data["prices"])
    data["prom_scoring"] = str(pipelines_dir() / data["prom_scoring"])
    data["engine"].update(threads=threads, memory_limit=memory_limit, temp_directory=str(workdir / "spill"))
    path = workdir / "prepare-bench.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def bench_prepare(validated: Path, out: Path, config: Path) -> dict:
    code = (
        "from vbhc.prepare import run_prepare\n"
        f"run_prepare({str(validated)!r}, {str(out)!r}, {str(config)!r})"
    )
    seconds, peak, _ = run_child(measured(code))
    manifest = json.loads((out / "manifest.json").read_text())
    rows = sum(t["rows"] for t in manifest["inputs"].values())
    return {"seconds": seconds, "peak_mb": peak, "episodes": manifest["outputs"]["episodes"], "input_rows": rows,
            "steps": manifest["timings_seconds"], "window": manifest["data_window"]}


def bench_pandas(validated: Path, window: dict, check_against: Path | None) -> dict:
    code = (
        f"import sys; sys.path.insert(0, {str(HERE)!r})\n"
        "import pandas as pd\n"
        "from pandas_reference_prepare import build, read\n"
        f"ep = build(read(__import__('pathlib').Path({str(validated)!r})), pd.Timestamp({window['start']!r}), "
        f"pd.Timestamp({window['end']!r}))\n"
    )
    if check_against is not None:
        code += (
            "import hashlib, numpy as np\n"
            "key = ep['person_id'] + '|' + ep['joint'] + '|' + ep['laterality'] + '|' + "
            "pd.to_datetime(ep['op_day'], unit='D').dt.strftime('%Y-%m-%d')\n"
            "ep['episode_id'] = ['E' + hashlib.sha256(k.encode()).hexdigest()[:16] for k in key]\n"
            f"ref = pd.read_parquet({str(check_against)!r}).set_index('episode_id')\n"
            "ep = ep.set_index('episode_id')\n"
            "assert set(ep.index) == set(ref.index), 'different episodes'\n"
            "cols = ['los_days', 'charlson_index', 'prior_outpatient_2y', 'readmission_30d', 'readmission_90d', "
            "'reoperation_2y', 'death_90d', 'sickness_benefit_weeks_1y', 'employment_status', 'cost_index_dkk', "
            "'cost_90d_dkk', 'prior_cost_2y_dkk', 'cost_1y_dkk', 'cost_1y_society_dkk', 'cost_90d_society_dkk', "
            "'cost_index_hospital_dkk', 'cost_1y_primary_care_dkk', 'oxford_pre', 'oxford_12m', 'eq5d_12m']\n"
            "bad = []\n"
            "for c in cols:\n"
            "    a, b = ep[c].reindex(ref.index), ref[c]\n"
            "    same = (a.isna() & b.isna()) | (a.astype(str) == b.astype(str))\n"
            "    if a.dtype.kind == 'f' or b.dtype.kind == 'f':\n"
            "        same = same | np.isclose(pd.to_numeric(a, errors='coerce').astype(float), "
            "pd.to_numeric(b, errors='coerce').astype(float), rtol=1e-9, atol=1e-6)\n"
            "    if same.mean() < 1: bad.append(f'{c}: {same.mean():.4%}')\n"
            "print('check:', 'all equal' if not bad else '; '.join(bad))\n"
        )
    seconds, peak, out = run_child(measured(code))
    check = next((line for line in out.splitlines() if line.startswith("check:")), "")
    return {"seconds": seconds, "peak_mb": peak, "check": check}


def growth_lines(results: list[dict]) -> list[str]:
    """Growth of time and peak memory between consecutive sizes, and first to last.

    Near-linear growth shows as time factors close to the size factor; peak memory
    grows less while DuckDB stays within its memory limit.
    """
    pairs = list(zip(results, results[1:]))
    if len(results) > 2:
        pairs.append((results[0], results[-1]))
    lines = []
    for a, b in pairs:
        scale = b["persons"] / a["persons"]
        lines.append(
            f"growth {a['persons']:,} -> {b['persons']:,} persons (x{scale:g}): time x{b['seconds'] / a['seconds']:.2f}, "
            f"peak memory x{b['peak_mb'] / a['peak_mb']:.2f}"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, nargs="+", default=[10_000], help="sizes in persons (default 10000)")
    parser.add_argument("--pandas", type=int, nargs="*", default=[], help="sizes that also run the pandas reference")
    parser.add_argument("--check", action="store_true", help="compare the pandas result with vbhc prepare's")
    parser.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    parser.add_argument("--threads", type=int, default=2, help="DuckDB threads (default 2)")
    parser.add_argument("--memory-limit", default="6GB", help="DuckDB memory_limit (default 6GB)")
    parser.add_argument("--workers", type=int, default=2, help="generator worker processes (default 2)")
    parser.add_argument("--workdir", type=Path, default=None, help="folder for registries and spill (default: temporary)")
    parser.add_argument("--keep", action="store_true", help="keep the registries in --workdir for reruns")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-prepare-"))
    workdir.mkdir(parents=True, exist_ok=True)
    config = write_config(workdir, args.threads, args.memory_limit)
    print(f"vbhc prepare benchmark: {os.cpu_count()} CPUs seen, DuckDB threads {args.threads}, "
          f"memory_limit {args.memory_limit}, workdir {workdir}")  # fmt: skip
    results = []
    try:
        for persons in args.persons:
            validated = ensure_registry(workdir, persons, args.seed, args.workers)
            out = workdir / f"prepared-{persons}"
            r = bench_prepare(validated, out, config)
            r["persons"] = persons
            if persons in args.pandas:
                p = bench_pandas(validated, r["window"], out / "episodes.parquet" if args.check else None)
                r["pandas"] = p
            results.append(r)
            steps = ", ".join(f"{k} {v:.1f}" for k, v in r["steps"].items())
            print(f"{persons:>9,} persons {r['episodes']:>9,} episodes {r['input_rows']:>12,} input rows "
                  f"{r['seconds']:>8.1f} s {r['peak_mb']:>7.0f} MB peak {r['input_rows'] / r['seconds']:>10,.0f} rows/s")  # fmt: skip
            print(f"          steps (s): {steps}")
            if "pandas" in r:
                p = r["pandas"]
                print(f"          pandas reference: {p['seconds']:.1f} s, {p['peak_mb']:.0f} MB peak; "
                      f"pandas / vbhc time ratio {p['seconds'] / r['seconds']:.2f} {p['check']}")  # fmt: skip
        for line in growth_lines(results):
            print(line)
    finally:
        if not args.keep and args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
