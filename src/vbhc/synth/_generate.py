"""One block of persons from start to finish: population, ordinary life, pre-operative
PROMs, outcome draws, pathway rows, labour market, the truth, then the raw tables."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from vbhc.proms import load_prom_settings
from vbhc.synth import _background as bg
from vbhc.synth import _labour as lab
from vbhc.synth import _pathway as pw
from vbhc.synth import _tables as tb
from vbhc.synth._calendar import MINUTES_PER_DAY, week_index, week_monday, year_of
from vbhc.synth._frame import Frame, logistic
from vbhc.synth._outcomes import (
    draw_outcomes, expected_cost_1y, expected_eq5d, expected_oxford, expected_readmission_within, expected_revision_2y,
    linear_predictors, los_pmf, prob_oxford_at_least,
)
from vbhc.synth._params import design_matrix, linear_predictor
from vbhc.synth._population import K_ELECTIVE, K_LATER, K_UNDER18, draw_population
from vbhc.synth._proms import eq5d_decrements, questionnaires
from vbhc.synth._truth import EMPLOYMENT, Episodes, episode_truth, labour_features, lookback_comorbidities, charlson_index
from vbhc.synth._world import INDICATIONS, JOINTS, SIDES, SMOKING, World, block_seed

FAR_FUTURE = 10**7  # day number far after any extract
PROM_KINDS = (K_ELECTIVE, K_UNDER18)
TIMEPOINTS = ("pre", "3m", "12m")


@dataclass
class Block:
    """The clean rows of one block, the truth and what dirt injection needs."""

    block: int
    persons: Frame
    ops: Frame
    contacts: Frame
    diagnoses: Frame
    procedures: Frame
    registry: Frame
    proms: Frame
    prom_holes: Frame
    costs: Frame
    dream: Frame
    truth: dict[str, np.ndarray]
    episode_ops: np.ndarray
    pid: pa.Array
    index_contact: np.ndarray


def generate_block(world: World, block: int, n: int, person_offset: int) -> Block:
    rng = np.random.default_rng(block_seed(world.cfg.seed, block))
    persons, ops = draw_population(rng, n, world)
    ops["index_dx"] = pw.index_diagnoses(rng, world, ops)

    # ordinary life and the outcome-independent pathway contacts
    bg_contacts, bg_dx, bg_px = bg.ordinary_contacts(rng, world, persons, ops)
    cm_contacts = bg.comorbidity_contacts(rng, world, persons, ops)
    pre_contacts = pw.preop_contacts(rng, world, ops)

    # case-mix from the look-back (index contacts carry the indication code on the op day)
    rows = pw.surgery_rows(ops)
    stub = Frame(person=ops["person"][rows], start=ops["op_day"][rows] * MINUTES_PER_DAY + 480,
                 dx=ops["index_dx"][rows])
    lookback_contacts = Frame.concat([Frame(person=c["person"], start=c["start"], dx=c["dx"])
                                      for c in (bg_contacts, cm_contacts, pre_contacts)] + [stub])
    empty_dx = Frame(contact=np.zeros(0, np.int64), dx=np.zeros(0, np.int32))
    flags = lookback_comorbidities(world, lookback_contacts, empty_dx, ops["person"], ops["op_day"])
    ep = casemix(world, persons, ops, flags)

    # pre-operative PROMs: a feature of the outcome models
    state = lab.labour_states(rng, world, persons, bg.n_comorbidities_at_first(persons, world))
    death_unknown = np.full(n, FAR_FUTURE)
    planned = rows[np.isin(ops["kind"][rows], PROM_KINDS)]
    pre_latent = preop_latent(rng, world, ops, ep, planned)
    work = work_status_answer(world, persons, state, ops, planned, 0)
    pre_long, pre_truth = questionnaires(rng, world, planned, ops, ep, pre_latent, "pre",
                                         np.zeros(len(planned), bool), death_unknown, work)
    pre_holes = pre_truth.pop("holes")
    prom_truth = {"pre": spread(ops, planned, pre_truth)}
    ep["oxford_pre"] = np.where(np.isnan(prom_truth["pre"]["oxford"]), 20.0, prom_truth["pre"]["oxford"])

    # outcomes, death, and which later operations happen
    eta = linear_predictors(world, ops, ep)
    draws = draw_outcomes(rng, world, ops, eta, persons, ep)
    quirk = ops["kind"] == K_LATER
    for col in ("comp", "readm", "reop"):
        draws[col] = draws[col] & ~quirk
    keep, death_day = resolve_deaths(ops, draws, n)
    persons["death_day"] = death_day
    remap = np.full(ops.n, -1)
    remap[keep] = np.arange(len(keep))
    ops, ep, eta, draws, flags = (ops.take(keep), {k: v[keep] for k, v in ep.items()},
                                  {k: v[keep] for k, v in eta.items()}, draws.take(keep), flags[keep])
    prom_truth["pre"] = {k: v[keep] for k, v in prom_truth["pre"].items()}
    ops["partner"] = np.where(ops["partner"] >= 0, remap[ops["partner"]], -1)
    ops["op"] = np.arange(ops.n)
    pre_long = pre_long.take(np.flatnonzero(remap[pre_long["op"]] >= 0))
    pre_long["op"] = remap[pre_long["op"]]
    pre_holes = pre_holes.take(np.flatnonzero(remap[pre_holes["op"]] >= 0))
    pre_holes["op"] = remap[pre_holes["op"]]
    move_reoperations_from_later_windows(rng, ops, draws)
    rows = pw.surgery_rows(ops)
    planned = rows[np.isin(ops["kind"][rows], PROM_KINDS)]

    # labour market: states, sickness before surgery, return to work (first, then later operations)
    win = lab.dream_window(world, persons, ops)
    dream = Frame.concat([lab.base_rows(world, persons, state, win),
                          lab.preop_sickness(rng, world, persons, ops, state, ep["oxford_pre"], win)])
    p_rtw = np.full(ops.n, np.nan)
    for seq in (1, 2):
        sel = rows[(ops["seq"][rows] == seq)]
        status, weeks = labour_features(dream, ops["person"][sel], ops["op_day"][sel], ep["age"][sel])
        if seq == 2:  # near pension age at a later operation: retired early instead of employed
            retire = lab.near_pension_retirement(world, persons, ops, sel[status <= 1], win)
            dream = Frame.concat([dream, retire])
            status, weeks = labour_features(dream, ops["person"][sel], ops["op_day"][sel], ep["age"][sel])
        ep["employment_status"][sel] = np.array(EMPLOYMENT, dtype=object)[status]
        ep["sickness_benefit_weeks_1y"][sel] = weeks
        sel = sel[status <= 1]
        x = design_matrix({k: v[sel] for k, v in ep.items()})
        e = linear_predictor("return_to_work_6m", x, world.params) + world.hospitals.effects["return_to_work_6m"][
            ops["hospital"][sel]]
        p_rtw[sel] = logistic(e)
        new, _ = lab.return_to_work_rows(rng, world, persons, ops, sel, p_rtw[sel], draws["z_rtw"][sel], win)
        dream = Frame.concat([dream, new])
    second = np.flatnonzero((ops["partner"] >= 0) & (ops["partner"] < np.arange(ops.n)))
    for col in ("employment_status", "sickness_benefit_weeks_1y"):
        ep[col][second] = ep[col][ops["partner"][second]]
    p_rtw[second] = p_rtw[ops["partner"][second]]

    # follow-up PROMs
    alive_day = death_day
    long3, t3 = questionnaires(rng, world, planned, ops, ep, draws["y3"][planned], "3m",
                               prom_truth["pre"]["responded"][planned], alive_day, None)
    long12, t12 = questionnaires(rng, world, planned, ops, ep, draws["y12"][planned], "12m", t3["responded"],
                                 alive_day, work_status_answer(world, persons, state, ops, planned, 365))
    holes = [pre_holes, t3.pop("holes"), t12.pop("holes")]
    prom_truth["3m"], prom_truth["12m"] = spread(ops, planned, t3), spread(ops, planned, t12)
    for tp, frame, hole in zip(TIMEPOINTS, (pre_long, long3, long12), holes):
        frame["tp"] = np.full(frame.n, TIMEPOINTS.index(tp), np.int8)
        hole["tp"] = np.full(hole.n, TIMEPOINTS.index(tp), np.int8)
    proms = Frame.concat([pre_long, long3, long12])
    prom_holes = Frame.concat(holes)

    # pathway rows
    idx_contacts, contact_of_op, idx_dx, idx_px = pw.index_stays(rng, world, ops, draws)
    fu = pw.followup_contacts(rng, world, ops, draws)
    cr = pw.complication_and_readmission_contacts(rng, world, ops, persons, draws)
    reop_c, reop_px = pw.reoperation_contacts(rng, world, ops, persons, draws)
    parts = [(bg_contacts, bg_dx, bg_px), (cm_contacts, None, None), (pre_contacts, None, None),
             (idx_contacts, idx_dx, idx_px), (fu, None, None), (cr, None, None), (reop_c, None, reop_px)]
    contacts, diagnoses, procedures, offsets = assemble_contacts(parts)
    index_contact = contact_of_op + offsets[3]
    contacts, diagnoses, procedures, index_contact = drop_after_end(world, contacts, diagnoses, procedures,
                                                                    index_contact, death_day)
    costs = Frame.concat([
        cost_rows(pw.contact_costs(world, contacts)),
        person_costs(bg.primary_care(rng, world, persons, ops), 4),
        person_costs(bg.home_care(rng, world, persons), 6),
        person_costs(pw.rehabilitation_and_home_care(rng, world, ops, draws), None),
    ])
    keep_cost = (costs["day"] <= np.minimum(death_day[costs["person"]], world.data_end)) & (costs["day"] >= world.data_start)
    kept = np.flatnonzero(keep_cost)
    costs = costs.take(kept[np.argsort(costs["person"][kept] * 100_000 + costs["day"][kept], kind="stable")])
    dream = lab.one_row_per_week(dream)
    monday = week_monday(dream["week"])
    dream = dream.take(np.flatnonzero((monday <= death_day[dream["person"]]) & (dream["week"] <= week_index(
        world.data_end))))
    registry = pw.registry_rows(world, ops)

    # the truth
    episode = is_episode(world, ops)
    ep_rows = np.flatnonzero(episode)
    tables = {"contacts": contacts, "diagnoses": diagnoses, "procedures": procedures, "costs": costs, "dream": dream}
    eps = Episodes(person=ops["person"][ep_rows], joint=ops["joint"][ep_rows], side=ops["side"][ep_rows],
                   op_day=ops["op_day"][ep_rows], index_contact=index_contact[ep_rows], age=ep["age"][ep_rows])
    derived = episode_truth(world, tables, eps, death_day)
    check_features(ep, derived, flags, ep_rows, world)
    pid = tb.person_pseudonyms(world, person_offset + np.arange(n))
    truth = truth_columns(world, persons, ops, ep, eta, draws, derived, prom_truth, p_rtw, ep_rows, pid)
    return Block(block=block, persons=persons, ops=ops, contacts=contacts, diagnoses=diagnoses,
                 procedures=procedures, registry=registry, proms=proms, prom_holes=prom_holes, costs=costs, dream=dream,
                 truth=truth, episode_ops=ep_rows, pid=pid, index_contact=index_contact)


# -- helpers ------------------------------------------------------------------------
def casemix(world: World, persons: Frame, ops: Frame, flags: np.ndarray) -> dict[str, np.ndarray]:
    """Episode-table case-mix of every operation (true values; strings as object arrays)."""
    ind = np.array(INDICATIONS, dtype=object)[ops["indication"]]
    age = (ops["op_day"] - persons["birth_day"][ops["person"]]) / 365.25
    ops["age"] = age
    ep = {
        "joint": np.array(JOINTS, dtype=object)[ops["joint"]],
        "arthroplasty_type": np.where(ops["partial"], "partial", "total").astype(object),
        "age": age,
        "sex": np.where(persons["female"][ops["person"]], "F", "M").astype(object),
        "sex_female": persons["female"][ops["person"]],
        "bmi": ops["bmi"].astype(float),
        "asa_class": ops["asa"].astype(np.int64),
        "smoking": np.array(SMOKING, dtype=object)[ops["smoking"]],
        "alcohol_units_week": ops["alcohol"].astype(float),
        "indication": np.where(np.isin(ind, ["acute_fracture", "cancer"]), "other", ind).astype(object),
        "charlson_index": charlson_index(world, flags).astype(float),
        "anxiety_depression": flags[:, -1],
        "operation_year": year_of(ops["op_day"]).astype(float),
        "bilateral_same_day": ops["partner"] >= 0,
        "employment_status": np.full(ops.n, "retired", dtype=object),
        "sickness_benefit_weeks_1y": np.zeros(ops.n),
    }
    return ep


def preop_latent(rng, world: World, ops: Frame, ep: dict, rows: np.ndarray) -> np.ndarray:
    """Latent pre-operative Oxford score: N(mu(case-mix), 7^2)."""
    p = world.params["proms"]["preop"]
    x = design_matrix({k: v[rows] for k, v in ep.items() if k != "oxford_pre"})
    mu = np.where(ops["joint"][rows] == 0, p["intercept"]["hip"], p["intercept"]["knee"])
    for name, beta in p["coefficients"].items():
        mu = mu + beta * x[name]
    return mu + p["sigma"] * rng.standard_normal(len(rows))


def work_status_answer(world: World, persons: Frame, state: np.ndarray, ops: Frame, rows: np.ndarray,
                       days_after: int) -> np.ndarray:
    """WORK item (1 working, 3 unemployed, 4 retired, 5 other) from the person's labour-
    market state, retired from the pension age on: the patient's own report."""
    code = np.array([1.0, 5.0, 3.0, 1.0, 4.0, 4.0, 5.0])[state[ops["person"][rows]]]  # by lab.S_* order
    pension = lab.pension_week(world, persons)[ops["person"][rows]]
    return np.where(week_index(ops["op_day"][rows] + days_after) >= pension, 4.0, code)


def spread(ops: Frame, rows: np.ndarray, truth: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per-operation arrays from per-package ones (both sides of a bilateral operation
    share the package); NaN / False where no package."""
    out = {}
    for k, v in truth.items():
        shape = (ops.n,) + v.shape[1:]
        arr = np.zeros(shape, bool) if v.dtype == bool else np.full(shape, np.nan if v.dtype.kind == "f" else -1,
                                                                     dtype=float if v.dtype.kind == "f" else v.dtype)
        arr[rows] = v
        second = np.flatnonzero((ops["partner"] >= 0) & (ops["partner"] < np.arange(ops.n)))
        arr[second] = arr[ops["partner"][second]]
        out[k] = arr
    return out


def resolve_deaths(ops: Frame, draws: Frame, n_persons: int) -> tuple[np.ndarray, np.ndarray]:
    """Death day of each person (first operation's process; a later operation restarts it
    if the person is alive on its day) and the operations that happen before death."""
    first = ops["seq"] == 1
    death = np.full(n_persons, FAR_FUTURE, np.int64)
    d1 = ops["op_day"] + draws["death_rel"]
    np.minimum.at(death, ops["person"][first], d1[first])
    second = np.flatnonzero(ops["seq"] == 2)
    alive = ops["op_day"][second] < death[ops["person"][second]]
    s = second[alive]
    death[ops["person"][s]] = ops["op_day"][s] + draws["death_rel"][s]
    keep = ops["op_day"] < death[ops["person"]]
    keep[ops["seq"] == 1] = True
    return np.flatnonzero(keep), death


def move_reoperations_from_later_windows(rng, ops: Frame, draws: Frame) -> None:
    """A late reoperation of an earlier operation is moved to just before a later operation
    of the same person when it would fall from the day before that operation to 121 days
    after (it would otherwise be that operation's complication or readmission)."""
    order = np.lexsort((ops["op_day"], ops["person"]))
    day = ops["op_day"] + draws["reop_day"]
    for shift in (1, 2, 3):
        nxt = np.full(len(order), -1)  # the operation ``shift`` places later in (person, day) order
        nxt[: max(len(order) - shift, 0)] = order[shift:]
        same = (nxt >= 0) & (ops["person"][np.maximum(nxt, 0)] == ops["person"][order])
        o = order[same]
        later_day = ops["op_day"][nxt[same]]
        clash = draws["reop"][o] & (day[o] >= later_day - 1) & (day[o] <= later_day + 121) & (later_day > ops["op_day"][o])
        c = o[clash]
        draws["reop_day"][c] = later_day[clash] - 2 - rng.integers(0, 29, len(c)) - ops["op_day"][c]


def assemble_contacts(parts) -> tuple[Frame, Frame, Frame, list[int]]:
    offsets, dxs, pxs, frames = [], [], [], []
    off = 0
    for contacts, dx, px in parts:
        offsets.append(off)
        frames.append(contacts)
        if dx is not None and dx.n:
            dxs.append(Frame(contact=dx["contact"] + off, dx=dx["dx"], dtype=dx["dtype"]))
        if px is not None and px.n:
            pxs.append(Frame(contact=px["contact"] + off, px=px["px"], day=px["day"], side=px["side"]))
        off += contacts.n
    return Frame.concat(frames), Frame.concat(dxs), Frame.concat(pxs), offsets


def drop_after_end(world: World, contacts: Frame, diagnoses: Frame, procedures: Frame, index_contact: np.ndarray,
                   death_day: np.ndarray):
    """Remove contacts outside the extract (before its first day, after its date or after
    death) and their rows; end stays at the day of death; order by person and start."""
    start_day = contacts["start"] // MINUTES_PER_DAY
    death = death_day[contacts["person"]]
    keep = ((start_day <= np.minimum(death, world.data_end)) & (contacts["end"] // MINUTES_PER_DAY <= world.data_end)
            & (start_day >= world.data_start))
    end_cap = death * MINUTES_PER_DAY + MINUTES_PER_DAY - 1
    contacts["end"] = np.where(contacts["end"] > end_cap, np.maximum(end_cap, contacts["start"]), contacts["end"])
    kept = np.flatnonzero(keep)
    order = kept[np.lexsort((contacts["start"][kept], contacts["person"][kept]))]
    remap = np.full(contacts.n, -1)
    remap[order] = np.arange(len(order))
    contacts = contacts.take(order)
    diagnoses = diagnoses.take(np.flatnonzero(remap[diagnoses["contact"]] >= 0))
    diagnoses["contact"] = remap[diagnoses["contact"]]
    procedures = procedures.take(np.flatnonzero(remap[procedures["contact"]] >= 0))
    procedures["contact"] = remap[procedures["contact"]]
    diagnoses = diagnoses.take(np.lexsort((diagnoses["contact"],)))
    procedures = procedures.take(np.lexsort((procedures["contact"],)))
    return contacts, diagnoses, procedures, remap[index_contact]


def cost_rows(c: Frame) -> Frame:
    return Frame(person=c["person"], contact=c["contact"].astype(np.int64), day=c["day"], category=c["category"],
                 amount=c["amount"], drg=c["drg"].astype(np.int32), tariff_year=year_of(c["day"]))


def person_costs(c: Frame, category: int | None) -> Frame:
    n = c.n
    cat_col = c["category"] if category is None else np.full(n, category, np.int8)
    return Frame(person=c["person"], contact=np.full(n, -1, np.int64), day=c["day"], category=cat_col.astype(np.int8),
                 amount=np.round(c["amount"], 2), drg=np.full(n, -1, np.int32), tariff_year=year_of(c["day"]))


def is_episode(world: World, ops: Frame) -> np.ndarray:
    """Index operations under docs/episode-definitions.md (cohort steps 2-9)."""
    return ((ops["kind"] == K_ELECTIVE) & (ops["registry_status"] == 0) & ~ops["laterality_missing"]
            & (ops["age"] >= 18) & (ops["op_day"] - 730 >= world.data_start) & (ops["op_day"] + 365 <= world.data_end))


def check_features(ep: dict, derived: dict, flags: np.ndarray, rows: np.ndarray, world: World) -> None:
    """The case-mix used by the outcome models equals what the definitions derive from the
    finished tables (else the truth would not be recoverable)."""
    problems = []
    if not np.array_equal(ep["charlson_index"][rows], derived["charlson_index"].astype(float)):
        problems.append("charlson_index")
    if not np.array_equal(ep["anxiety_depression"][rows], derived["anxiety_depression"]):
        problems.append("anxiety_depression")
    status = np.array(EMPLOYMENT, dtype=object)[derived["employment_status"]]
    if not np.array_equal(ep["employment_status"][rows], status):
        problems.append("employment_status")
    if not np.array_equal(ep["sickness_benefit_weeks_1y"][rows], derived["sickness_benefit_weeks_1y"].astype(float)):
        problems.append("sickness_benefit_weeks_1y")
    if problems:
        raise AssertionError(f"generator: outcome-model features differ from the derived truth: {problems}")


def episode_ids(pid: pa.Array, person: np.ndarray, joint: np.ndarray, side: np.ndarray, op_day: np.ndarray) -> list[str]:
    """episode_id = 'E' + first 16 hex of SHA-256 of 'person|joint|side|YYYY-MM-DD'."""
    persons = pid.to_pylist()
    days = op_day.astype("datetime64[D]").astype(str)
    return ["E" + hashlib.sha256(f"{persons[p]}|{JOINTS[j]}|{SIDES[s]}|{d}".encode()).hexdigest()[:16]
            for p, j, s, d in zip(person, joint, side, days)]


def truth_columns(world: World, persons: Frame, ops: Frame, ep: dict, eta: dict, draws: Frame, derived: dict,
                  prom_truth: dict, p_rtw: np.ndarray, rows: np.ndarray, pid: pa.Array) -> dict[str, np.ndarray]:
    """The truth/episodes.parquet columns for the episodes among the operations."""
    t: dict[str, np.ndarray] = {}
    o = ops.take(rows)
    t["episode_id"] = np.array(episode_ids(pid, o["person"], o["joint"], o["side"], o["op_day"]), dtype=object)
    t["person"] = o["person"]
    t["joint"] = ep["joint"][rows]
    t["laterality"] = np.array(SIDES, dtype=object)[o["side"]]
    t["operation_day"] = o["op_day"]
    t["operation_year"] = year_of(o["op_day"])
    t["hospital"] = o["hospital"]
    t["procedure_code"] = np.array(world.px.values, dtype=object)[o["proc"]]
    t["arthroplasty_type"] = ep["arthroplasty_type"][rows]
    t["bilateral_same_day"] = o["partner"] >= 0
    prior = derived["prior_contralateral"]
    t["contralateral_sequence"] = np.where(prior, 2, 1)
    for k in ("age", "sex", "bmi", "asa_class", "smoking", "alcohol_units_week"):
        t[k] = ep[k][rows]
    t["indication"] = np.array(INDICATIONS, dtype=object)[o["indication"]]
    for col in ("bmi", "asa_class", "smoking", "alcohol_units_week"):
        t[f"{col}_recorded"] = ~o[f"missing_{col}"]
    for k, v in derived.items():
        t[k] = v
    t["employment_status"] = np.array(EMPLOYMENT, dtype=object)[derived["employment_status"]]
    t["employed"] = derived["employment_status"] <= 1
    # PROMs: realised values (see docs) and whether the definitions can find them
    names = {"pre": "pre", "3m": "3m", "12m": "12m"}
    for tp, suffix in names.items():
        pt = prom_truth[tp]
        t[f"responded_{suffix}"] = pt["responded"][rows]
        for k, col in (("oxford", "oxford"), ("eq5d", "eq5d"), ("eqvas", "eqvas"), ("pain", "pain")):
            t[f"{col}_{suffix}"] = pt[k][rows]
            t[f"{col}_{suffix}_recorded"] = pt[f"{k}_recorded"][rows]
    levels = prom_truth["pre"]["levels"][rows]
    for i, d in enumerate(("mo", "sc", "ua", "pd", "ad")):
        t[f"eq5d_pre_{d}"] = levels[:, i]
    for months in ("3m", "12m"):
        t[f"oxford_change_{months}"] = t[f"oxford_{months}"] - t["oxford_pre"]
        t[f"eq5d_gain_{months}"] = t[f"eq5d_{months}"] - t["eq5d_pre"]
    mic = load_prom_settings().minimal_important_change
    thr = np.where(o["joint"] == 0, mic["OHS"], mic["OKS"])
    t["mic_12m"] = np.where(np.isnan(t["oxford_change_12m"]), -1, t["oxford_change_12m"] >= thr).astype(np.int8)

    # expected values
    o12 = world.params["outcomes"]["oxford_12m"]
    o3 = world.params["outcomes"]["oxford_3m"]
    t["expected_oxford_12m"] = expected_oxford(eta["oxford_12m"][rows], o12["sigma"])
    t["expected_oxford_3m"] = expected_oxford(eta["oxford_3m"][rows], o3["sigma"])
    t["expected_mic_12m"] = prob_oxford_at_least(t["oxford_pre"] + thr, eta["oxford_12m"][rows], o12["sigma"])
    extra = {"AD": world.params["proms"]["eq5d"]["anxiety_depression_on_AD"] * ep["anxiety_depression"][rows],
             "MO": world.params["proms"]["eq5d"]["age_c_on_MO"] * (ep["age"][rows] - 65) / 10}
    t["expected_eq5d_12m"] = expected_eq5d(world, eq5d_decrements(), eta["oxford_12m"][rows], o12["sigma"], extra)
    t["expected_eq5d_gain_12m"] = t["expected_eq5d_12m"] - t["eq5d_pre"]
    t["expected_complication_90d"] = draws["p_comp"][rows]
    t["expected_readmission_30d"] = expected_readmission_within(world, draws.take(rows), 30)
    t["expected_readmission_90d"] = draws["p_readm"][rows]
    t["expected_reoperation_2y"] = draws["p_reop"][rows]
    t["expected_revision_2y"] = expected_revision_2y(world, draws["p_reop"][rows])
    t["expected_death_90d"] = draws["p_death"][rows]
    t["expected_los_days"] = los_pmf(draws["mu_los"][rows]) @ np.arange(31)
    t["expected_return_to_work_6m"] = np.where(t["employed"], p_rtw[rows], np.nan)
    background = bg.expected_background_cost(world, persons, o["person"], o["op_day"])
    drg, implant = pw.index_drg(world, ops)[rows], pw.implant_cost_2016(world, ops)[rows]
    d = _pair_reoperations(ops, draws, rows)
    t["expected_cost_1y_dkk"] = expected_cost_1y(world, o, d, drg, implant, background)

    # the hospitals' effects on derived outcomes: expected value with minus without them
    eff = world.hospitals.effects
    h = o["hospital"]
    eta12_0 = eta["oxford_12m"][rows] - eff["oxford_12m"][h]
    t["effect_part_mic_12m"] = t["expected_mic_12m"] - prob_oxford_at_least(t["oxford_pre"] + thr, eta12_0,
                                                                              o12["sigma"])
    t["effect_part_eq5d_12m"] = t["expected_eq5d_12m"] - expected_eq5d(world, eq5d_decrements(), eta12_0,
                                                                        o12["sigma"], extra)
    t["effect_part_eq5d_gain_12m"] = t["effect_part_eq5d_12m"]  # eq5d_pre does not depend on the hospital
    d0 = Frame(draws)
    hh = ops["hospital"]
    for col, outcome in (("p_comp", "complication_90d"), ("p_readm", "readmission_90d"), ("p_reop", "reoperation_2y")):
        d0[col] = logistic(eta[outcome] - eff[outcome][hh])
    d0["mu_los"] = np.exp(eta["los_days"] - eff["los_days"][hh] - world.hospitals.private_los_shift[hh])
    t["effect_part_readmission_30d"] = t["expected_readmission_30d"] - expected_readmission_within(
        world, d0.take(rows), 30)
    t["effect_part_revision_2y"] = t["expected_revision_2y"] - expected_revision_2y(world, d0["p_reop"][rows])
    t["effect_part_cost_1y_dkk"] = t["expected_cost_1y_dkk"] - expected_cost_1y(
        world, o, _pair_reoperations(ops, d0, rows), drg, implant, background)
    return t


def _pair_reoperations(ops: Frame, draws: Frame, rows: np.ndarray) -> Frame:
    """Draws of ``rows`` where p_reop counts both sides of a bilateral operation (the
    person-level cost windows hold the reoperations of either side)."""
    p = draws["p_reop"]
    has = ops["partner"] >= 0
    d = draws.take(rows)
    d["p_reop"] = (p + np.where(has, p[np.maximum(ops["partner"], 0)], 0.0))[rows]
    return d
