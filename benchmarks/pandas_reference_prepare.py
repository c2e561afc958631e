"""A straightforward pandas implementation of the episode builder's joins (reference only).

Used by ``benchmarks/bench_prepare.py`` to compare time and memory with the Ibis/DuckDB
builder (``vbhc.prepare``) on the same input.  It computes the same episodes and the
columns that carry the joins' work - cohort steps, index stay, look-back case-mix,
complications, readmissions, reoperations, deaths, labour market, costs by window and
perspective, and PROMs - the way an analyst would write them in pandas: merge each
event table with the episodes on the person, filter the window, aggregate.  It is not
part of the package and not maintained as an alternative builder.

    python benchmarks/pandas_reference_prepare.py --raw DIR --start 2010-01-01 --end 2020-12-31
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from vbhc.prepare import load_prepare_config
from vbhc.proms import load_prom_settings, score_prom_responses

EPOCH = pd.Timestamp("1970-01-01")
TABLES = ("patients", "contacts", "diagnoses", "procedures", "arthroplasty_registry", "prom_responses", "costs",
          "transfer_payments")


def read(raw: Path) -> dict[str, pd.DataFrame]:
    base = raw / "accepted" if (raw / "accepted").is_dir() else raw
    return {t: pd.read_parquet(base / f"{t}.parquet") for t in TABLES}


def day(s: pd.Series) -> pd.Series:
    return (pd.to_datetime(s).dt.normalize() - EPOCH).dt.days


def prefix_map(codes: pd.Series, table: dict[str, object]) -> pd.Series:
    """Value of the longest listed prefix of each code (NaN if none)."""
    out = pd.Series(np.nan, index=codes.index, dtype=object)
    for length in sorted({len(p) for p in table}, reverse=True):
        sub = {p: v for p, v in table.items() if len(p) == length}
        hit = codes.str[:length].map(sub)
        out = out.where(out.notna(), hit)
    return out


def iso_week(d: pd.Series) -> pd.Series:
    return (d + 3) // 7


def yearweek_to_week(yw: pd.Series) -> pd.Series:
    year, week = yw // 100, yw % 100
    jan4 = pd.to_datetime(year.astype(str) + "-01-04")
    monday = (jan4 - EPOCH).dt.days - jan4.dt.weekday
    return iso_week(monday) + week - 1


def build(t: dict[str, pd.DataFrame], data_start: pd.Timestamp, data_end: pd.Timestamp) -> pd.DataFrame:
    cfg = load_prepare_config()
    s, cl, prices = cfg.settings, cfg.codelists, cfg.prices
    start_day, end_day = (data_start - EPOCH).days, (data_end - EPOCH).days
    con = t["contacts"].copy()
    con["start_day"] = day(con["start_time"])

    # -- candidates and exclusion steps ---------------------------------------------------
    idx_codes = {c: (j, k) for j, lists in cl.index_procedures.items() for k in ("total", "partial") for c in getattr(lists, k)}
    proc = t["procedures"].copy()
    hit = prefix_map(proc["procedure_code"], idx_codes)
    proc = proc[hit.notna()].assign(joint=hit[hit.notna()].str[0], arthroplasty_type=hit[hit.notna()].str[1])
    cand = proc.merge(con, on="contact_id")
    cand["op_day"] = day(cand["procedure_date"])
    cand = cand.sort_values(["start_time", "contact_id", "procedure_code"])
    cand = cand.drop_duplicates(["person_id", "joint", "laterality", "op_day"])
    reg = t["arthroplasty_registry"]
    reg = reg[reg["operation_type"] == "primary"].assign(reg_day=day(reg["operation_date"]))
    m = cand[["person_id", "joint", "laterality", "op_day"]].merge(reg, on=["person_id", "joint", "laterality"])
    m["dist"] = (m["op_day"] - m["reg_day"]).abs()
    m = m[m["dist"] <= s.cohort.registry_match_days].sort_values(["dist", "reg_day"])
    m = m.drop_duplicates(["person_id", "joint", "laterality", "op_day"])
    cand = cand.merge(m[["person_id", "joint", "laterality", "op_day", "bmi", "asa_class", "smoking", "indication"]],
                      on=["person_id", "joint", "laterality", "op_day"], how="left", indicator="registry")
    pat = t["patients"].assign(birth_day=lambda p: day(p["birth_date"]), death_day=lambda p: day(p["death_date"]))
    cand = cand.merge(pat[["person_id", "birth_day", "death_day", "sex"]], on="person_id", how="left")
    cand["age"] = (cand["op_day"] - cand["birth_day"]) / s.cohort.days_per_year
    first = cand[cand["laterality"].notna()].groupby(["person_id", "joint", "laterality"])["op_day"].min().rename("first_day")
    cand = cand.merge(first, left_on=["person_id", "joint", "laterality"], right_index=True, how="left")
    # -- stays (of every candidate: the look-back is anchored at the admission) -----------
    types = s.contact_types
    cand_con = con[con["person_id"].isin(cand["person_id"])]
    inp = cand_con[cand_con["contact_type"].isin(types.inpatient) | cand_con["contact_id"].isin(cand["contact_id"])]
    inp = inp.sort_values(["person_id", "hospital_id", "start_time", "end_time", "contact_id"]).copy()
    grp = inp.groupby(["person_id", "hospital_id"], sort=False)
    prev_end = grp["end_time"].transform(lambda e: e.cummax().shift())
    gap = pd.Timedelta(hours=s.stay.join_gap_hours)
    inp["new"] = prev_end.isna() | (inp["start_time"] > prev_end + gap)
    inp["stay_id"] = inp["new"].cumsum()
    bounds = inp.groupby("stay_id").agg(stay_start=("start_time", "min"), stay_end=("end_time", "max"))
    inp = inp.join(bounds, on="stay_id")
    cand = cand.merge(inp[["contact_id", "stay_id", "stay_start", "stay_end"]], on="contact_id")
    cand["adm_day"], cand["dis_day"] = day(cand["stay_start"]), day(cand["stay_end"])

    excluded_dx = {c: True for codes in cl.excluded_index_diagnoses.values() for c in codes}
    bad_dx = prefix_map(cand["primary_diagnosis"], excluded_dx).notna()
    keep = (cand["laterality"].notna() & ~cand["is_acute"] & (cand["registry"] == "both")
            & ~cand["indication"].isin(cl.excluded_indications) & ~bad_dx & (cand["age"] >= s.cohort.min_age_years)
            & (cand["adm_day"] - s.cohort.lookback_days >= start_day) & (cand["op_day"] + s.cohort.min_followup_days <= end_day)
            & ~(cand["first_day"] < cand["op_day"]))
    ep = cand[keep].copy()
    ep["los_days"] = (ep["dis_day"] - ep["adm_day"]).astype(float)
    ep["ep"] = np.arange(len(ep))
    con = con.merge(inp[["contact_id", "stay_id"]], on="contact_id", how="left")
    keys = ep[["ep", "person_id", "op_day", "adm_day", "dis_day", "stay_end", "stay_id", "joint", "laterality"]]

    # -- diagnoses: look-back and complications ----------------------------------------
    dx_codes = {c: ("charlson", n) for n, comp in cl.charlson.components.items() for c in comp.codes}
    dx_codes |= {c: ("anxdep", "anxiety_depression") for c in cl.anxiety_depression}
    dx_codes |= {c: ("complication", n) for n, codes in cl.complications.items() for c in codes}
    dx = pd.concat([t["diagnoses"][["contact_id", "diagnosis_code"]],
                    con[["contact_id", "primary_diagnosis"]].rename(columns={"primary_diagnosis": "diagnosis_code"})])
    g = prefix_map(dx["diagnosis_code"], dx_codes)
    dx = dx[g.notna()].assign(group=g[g.notna()].str[0], name=g[g.notna()].str[1]).drop_duplicates(["contact_id", "name"])
    dx = dx.merge(con[["contact_id", "person_id", "start_day", "start_time", "contact_type", "is_acute", "stay_id"]],
                  on="contact_id")
    j = keys.merge(dx, on="person_id", suffixes=("", "_dx"))
    late = (j["contact_type"].isin(types.inpatient) & j["is_acute"] & (j["start_time"] > j["stay_end"])
            & (j["start_day"] <= j["op_day"] + s.outcomes.complication_2y_days) & (j["group"] == "complication"))
    look = (j["start_day"] >= j["adm_day"] - 730) & (j["start_day"] < j["adm_day"])
    comp = (j["stay_id_dx"] == j["stay_id"]) | ((j["start_day"] > j["op_day"]) & (j["start_day"] <= j["op_day"] + 90))
    flags = pd.concat([j[look & (j["group"] != "complication")][["ep", "name"]],
                       j[comp & (j["group"] == "complication")].assign(name=lambda x: "complication_" + x["name"] + "_90d")[["ep", "name"]],
                       j[late].assign(name=lambda x: "complication_" + x["name"] + "_2y")[["ep", "name"]],
                       j[late].assign(name="complication_2y")[["ep", "name"]]])
    wide = pd.crosstab(flags["ep"], flags["name"]).gt(0)
    ep = ep.join(wide, on="ep")
    weights = {n: c.weight for n, c in cl.charlson.components.items()}
    index = 0
    for n, w in weights.items():
        present = ep.get(n, pd.Series(False, index=ep.index)).fillna(False).astype(bool)
        for h in cl.charlson.hierarchy:
            if h.drop == n:
                present &= ~ep.get(h.keep, pd.Series(False, index=ep.index)).fillna(False).astype(bool)
        index = index + w * present
    ep["charlson_index"] = index

    # -- contacts: prior visits, readmissions ------------------------------------------
    j = keys.merge(con[["person_id", "contact_type", "is_acute", "start_time", "start_day"]], on="person_id")
    outpat = j["contact_type"].isin(types.outpatient)
    look = (j["start_day"] >= j["adm_day"] - 730) & (j["start_day"] < j["adm_day"])
    after = j["start_time"] > j["stay_end"]
    acute_in = j["contact_type"].isin(types.inpatient) & j["is_acute"]
    agg = pd.DataFrame({"ep": j["ep"], "prior_outpatient_2y": outpat & look,
                        "readmission_30d": acute_in & after & (j["start_day"] <= j["dis_day"] + 30),
                        "readmission_90d": acute_in & after & (j["start_day"] <= j["dis_day"] + 90)})
    ep = ep.join(agg.groupby("ep").agg({"prior_outpatient_2y": "sum", "readmission_30d": "any", "readmission_90d": "any"}), on="ep")

    # -- reoperations ------------------------------------------------------------------
    reop = {c: (j_, "reoperation") for j_ in ("hip", "knee") for c in cl.reoperation_procedures.for_joint(j_)}
    rev = {c: (j_, "revision") for j_ in ("hip", "knee") for c in cl.revision_procedures.for_joint(j_)}
    p = t["procedures"].merge(con[["contact_id", "person_id"]], on="contact_id")
    p["proc_day"] = day(p["procedure_date"])
    parts = []
    for table in (reop, rev):
        h = prefix_map(p["procedure_code"], table)
        parts.append(p[h.notna()].assign(joint=h[h.notna()].str[0], kind=h[h.notna()].str[1]))
    p = pd.concat(parts)
    j = keys.merge(p, on=["person_id", "joint", "laterality"])
    delta = j["proc_day"] - j["op_day"]
    agg = pd.DataFrame({"ep": j["ep"], "reop_1y": (j["kind"] == "reoperation") & (delta > 0) & (delta <= 365),
                        "reop_2y": (j["kind"] == "reoperation") & (delta > 0) & (delta <= 730),
                        "rev_2y": (j["kind"] == "revision") & (delta > 0) & (delta <= 730)})
    ep = ep.join(agg.groupby("ep").any(), on="ep")
    known2 = (end_day >= ep["op_day"] + 730) | (ep["death_day"] - ep["op_day"] <= 730)
    ep["reoperation_2y"] = np.where(ep["reop_2y"].fillna(False).astype(bool), True, np.where(known2, False, None))
    ep["death_90d"] = ep["death_day"] - ep["op_day"] <= 90

    # -- labour market -----------------------------------------------------------------
    dream = t["transfer_payments"].copy()
    dream["week"] = yearweek_to_week(dream["year_week"])
    ep["op_week"] = iso_week(ep["op_day"])
    j = ep[["ep", "person_id", "op_week"]].merge(dream.drop_duplicates(), on="person_id")
    rel = j["week"] - j["op_week"]
    codes = s.lookback.benefit_codes
    sick = j["benefit_code"] == codes.sickness_benefit
    before4 = (rel >= -4) & (rel <= -1)
    agg = pd.DataFrame({"ep": j["ep"], "sickness_benefit_weeks_1y": sick & (rel >= -52) & (rel <= -1),
                        "retired": before4 & j["benefit_code"].isin(codes.retired),
                        "unemployed": before4 & j["benefit_code"].isin(codes.unemployed),
                        "sick": before4 & sick})
    ep = ep.join(agg.groupby("ep").agg({"sickness_benefit_weeks_1y": "sum", "retired": "any", "unemployed": "any",
                                         "sick": "any"}), on="ep")
    retired = (ep["age"] >= s.lookback.retirement_age_years) | ep["retired"].fillna(False).astype(bool)
    ep["employment_status"] = np.select(
        [retired, ep["unemployed"].fillna(False).astype(bool), ep["sick"].fillna(False).astype(bool)],
        ["retired", "unemployed", "sick_listed"], "employed")

    # -- costs: every window by perspective and category, sickness-benefit weeks included --
    c = t["costs"].drop_duplicates()
    c = c.assign(cost_day=day(c["cost_date"]), week=np.nan,
                 amount=c["amount_dkk"] * prices.index(s.costs.price_year) / c["tariff_year"].map(prices.health_price_index))
    c = c.merge(inp[["contact_id", "stay_id"]], on="contact_id", how="left")
    sw = dream[dream["benefit_code"] == codes.sickness_benefit].drop_duplicates(["person_id", "week"])
    year = sw["year_week"] // 100
    sw = sw.assign(cost_category="sickness_benefit", cost_day=np.nan, stay_id=np.nan,
                   amount=year.map(prices.sickness_benefit_weekly_dkk) * prices.index(s.costs.price_year)
                   / year.map(prices.health_price_index))
    cols = ["person_id", "stay_id", "cost_category", "amount", "cost_day", "week"]
    rows = pd.concat([c[cols], sw[cols]], ignore_index=True)
    j = keys.assign(op_week=iso_week(keys["op_day"])).merge(rows, on="person_id", suffixes=("", "_cost"))
    in_index = j["stay_id_cost"] == j["stay_id"]
    d, wk, after = j["cost_day"], j["week"], s.costs.after_discharge_days
    windows = {
        "cost_index": in_index | wk.between(iso_week(j["adm_day"]), iso_week(j["dis_day"])),
        "cost_90d": ((d > j["dis_day"]) & (d <= j["dis_day"] + after) & ~in_index)
        | wk.between(iso_week(j["dis_day"]) + 1, iso_week(j["dis_day"] + after)),
        "prior_cost_2y": ((d >= j["adm_day"] - 730) & (d < j["adm_day"]))
        | wk.between(iso_week(j["adm_day"] - 730), iso_week(j["adm_day"]) - 1),
    }
    for key, days in s.costs.horizons_days.items():
        windows[f"cost_{key}"] = ((d >= j["adm_day"]) & (d <= j["op_day"] + days)) | wk.between(j["op_week"], j["op_week"] + days // 7)
    cat = j["cost_category"]
    sums = {"ep": j["ep"]}
    for name, inside in windows.items():
        sums[f"{name}_dkk"] = j["amount"].where(inside & cat.isin(s.costs.perspectives["region"]), 0.0)
        if name == "prior_cost_2y":
            continue
        for p_ in ("hospital", "society"):
            sums[f"{name}_{p_}_dkk"] = j["amount"].where(inside & cat.isin(s.costs.perspectives[p_]), 0.0)
        for category in cat.unique():
            sums[f"{name}_{category}_dkk"] = j["amount"].where(inside & (cat == category), 0.0)
    ep = ep.join(pd.DataFrame(sums).groupby("ep").sum(), on="ep")

    # -- PROMs: choose the questionnaires, score them with vbhc.proms ------------------------
    r = t["prom_responses"]
    r = r[r["joint"].notna() & r["instrument"].isin(["OHS", "OKS", "EQ-5D-5L", "EQ-VAS", "PAIN-NRS"])]
    q = r[["person_id", "joint", "instrument", "response_date"]].drop_duplicates()
    q = ep[["ep", "person_id", "joint", "op_day"]].merge(q, on=["person_id", "joint"])
    q = q[~(((q["joint"] == "hip") & (q["instrument"] == "OKS")) | ((q["joint"] == "knee") & (q["instrument"] == "OHS")))]
    q["d"] = day(q["response_date"]) - q["op_day"]
    chosen = [q[(q["d"] >= -90) & (q["d"] <= 0)].sort_values("d", ascending=False).assign(tp="pre")]
    for tp, w in s.proms.followup.items():
        f = q[(q["d"] >= w.min_days) & (q["d"] <= w.max_days)].assign(dist=lambda x, w=w: (x["d"] - w.target_days).abs())
        chosen.append(f.sort_values(["dist", "d"]).assign(tp=tp))
    chosen = pd.concat([c.drop_duplicates(["ep", "instrument"]) for c in chosen])
    items = r.merge(chosen[["person_id", "joint", "instrument", "response_date"]].drop_duplicates(),
                    on=["person_id", "joint", "instrument", "response_date"])
    scored = score_prom_responses(items, load_prom_settings())
    chosen = chosen.merge(scored[["person_id", "joint", "instrument", "response_date", "score"]],
                          on=["person_id", "joint", "instrument", "response_date"])
    chosen["col"] = chosen["instrument"].map({"OHS": "oxford", "OKS": "oxford", "EQ-5D-5L": "eq5d", "EQ-VAS": "eqvas",
                                              "PAIN-NRS": "pain"}) + "_" + chosen["tp"]
    ep = ep.join(chosen.pivot_table(index="ep", columns="col", values="score", aggfunc="max"), on="ep")
    return ep


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--raw", type=Path, required=True, help="folder with the (accepted) tables")
    parser.add_argument("--start", required=True, help="data_start (YYYY-MM-DD)")
    parser.add_argument("--end", required=True, help="data_end (YYYY-MM-DD)")
    args = parser.parse_args()
    t0 = time.perf_counter()
    tables = read(args.raw)
    episodes = build(tables, pd.Timestamp(args.start), pd.Timestamp(args.end))
    print(f"{len(episodes)} episodes in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
