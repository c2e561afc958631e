"""Real data: ``vbhc value`` against NHS Digital's published provider results (issue 6).

For each financial year (2016/17, 2017/18), each joint, and both years together
(provider-year pairs), over providers with at least 30 modelled records: the median
absolute difference and Pearson r between vbhc's case-mix adjusted 6-month Oxford score
and the ``Adjusted Post-Op Q Score`` of NHS's ProvComm tables, with NHS's own case-mix
predictions as the expected values (the reproduction: issue target median |difference|
<= 0.05 points, r >= 0.99).  Given ``--predictions`` from vbhc's own NHS models, the same
figures plus Spearman's rho for vbhc's expected values.  Settings: pipelines/value-nhs.yaml,
one year at a time (``--where year=...`` in the CLI).

vbhc's own NHS predictions (models/nhs: trained on 2016/17, tested on 2017/18):

    vbhc nhs-proms import --src ../shared/realdata/nhs-proms --out nhs/nhs_episodes.parquet
    vbhc train --episodes nhs/nhs_episodes.parquet --models models/nhs --out nhs/models
    vbhc predict --episodes nhs/nhs_episodes.parquet --table nhs_episodes --out nhs/predictions.parquet
    python benchmarks/bench_value_nhs.py --predictions nhs/predictions.parquet

(``vbhc run pipelines/nhs-proms.yaml --out nhs`` runs the same three steps.)  Without
``../shared`` the script says so and exits 0.  Prints one line per year and joint, and
the seconds of each assess_value run.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

from vbhc.core.paths import pipelines_dir, project_root
from vbhc.value import assess_value, load_value_settings
from vbhc.value._config import restrict_population
from vbhc.value._inputs import read_predictions
from vbhc.value._nhs import PROVCOMM, matched_providers, nhs_own_predictions, published_agreement, read_provcomm

JOINTS = ("hip", "knee")


def compare(episodes: pd.DataFrame, predictions: pd.DataFrame, nhs_dir: Path, years: list[str]) -> list[dict]:
    """One row per year (and 'both') and joint: agreement with ProvComm of the adjusted Oxford score."""
    settings = load_value_settings(pipelines_dir() / "value-nhs.yaml")
    rows, matched = [], {j: [] for j in JOINTS}
    for year in years:
        start = time.perf_counter()
        result = assess_value(episodes, predictions, restrict_population(settings, {"year": year}))
        seconds = time.perf_counter() - start
        published = read_provcomm(nhs_dir, year)
        for joint in JOINTS:
            both = matched_providers(result.provider_value, published, joint=joint, outcome="oxford_6m")
            matched[joint].append(both)
            rows.append({"year": year, "joint": joint, **published_agreement(both), "seconds": seconds})
    if len(years) > 1:
        for joint in JOINTS:
            rows.append({"year": "both", "joint": joint, **published_agreement(pd.concat(matched[joint])), "seconds": None})
    return rows


def show(title: str, rows: list[dict], spearman: bool) -> None:
    print(f"\n{title}")
    head = f"{'year':<8} {'joint':<5} {'providers':>9} {'median |diff|':>13} {'Pearson r':>10}"
    print(head + (f" {'Spearman':>9}" if spearman else "") + f" {'same n':>7} {'assess s':>9}")
    for r in rows:
        line = f"{r['year']:<8} {r['joint']:<5} {r['providers']:>9.0f} {r['median_abs_diff']:>13.4f} {r['pearson']:>10.6f}"
        if spearman:
            line += f" {r['spearman']:>9.6f}"
        seconds = f"{r['seconds']:>9.1f}" if r["year"] != "both" else f"{'':>9}"
        print(line + f" {r['same_n']:>7.1%} {seconds}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--src", type=Path, default=project_root().parent / "shared" / "realdata" / "nhs-proms",
        help="the nhs-proms folder (default ../shared/realdata/nhs-proms)",
    )  # fmt: skip
    parser.add_argument("--predictions", type=Path, help="predictions of vbhc's own NHS models (vbhc predict)")
    parser.add_argument("--years", nargs="+", default=list(PROVCOMM), choices=list(PROVCOMM))
    args = parser.parse_args()
    if not args.src.is_dir():
        print(f"skipped: real NHS PROMs data not found at {args.src} (../shared is absent)")
        return 0
    from vbhc.nhs import read_nhs_proms

    start = time.perf_counter()
    episodes = read_nhs_proms(args.src)
    print(f"NHS import: {len(episodes):,} records in {time.perf_counter() - start:.1f} s ({args.src})")
    show(
        "Reproduction: NHS's own case-mix predictions as expected values (issue: median |diff| <= 0.05, r >= 0.99)",
        compare(episodes, nhs_own_predictions(episodes), args.src, args.years),
        spearman=False,
    )
    if args.predictions is not None:
        own = read_predictions(args.predictions)
        show(
            f"vbhc's own case-mix models as expected values ({args.predictions.name})",
            compare(episodes, own, args.src, args.years),
            spearman=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
