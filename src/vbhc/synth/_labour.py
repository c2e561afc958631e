"""Weekly public transfers (DREAM): pensions, early retirement, disability pension,
unemployment and flex jobs, and sickness benefit before and after the operation, with
the return to work that follows the return-to-work model.

Rows cover the project's extraction window (seeds digest §2.6: from 2 years before the
first operation to 2 years after the last), here 104 weeks before to 108 weeks after,
so that a return to work starting up to 104 weeks after surgery is observable.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
from scipy import special, stats

from vbhc.synth._calendar import day_number, week_index, week_monday
from vbhc.synth._frame import Frame, choice_rows
from vbhc.synth._world import BENEFITS, World

S_EMPLOYED, S_DISABILITY, S_UNEMPLOYED, S_FLEX, S_EARLY, S_RETIRED, S_CHILD = range(7)
_STATE_BENEFIT = {S_DISABILITY: "disability_pension", S_UNEMPLOYED: "unemployment_benefit", S_FLEX: "flex_job",
                  S_EARLY: "early_retirement"}
B = {name: i for i, name in enumerate(BENEFITS)}


def pension_age(world: World, birth_day: np.ndarray) -> np.ndarray:
    """Folkepension age by date of birth (65 before 1 July 1954, rising by half years to 67)."""
    table = world.params["labour"]["pension_age_by_birth"]
    out = np.full(len(birth_day), float(table[-1][1]))
    for limit, age in reversed(table[:-1]):
        out = np.where(birth_day < day_number(dt.date.fromisoformat(limit)), age, out)
    return out


def pension_week(world: World, persons: Frame) -> np.ndarray:
    age = pension_age(world, persons["birth_day"])
    return week_index(persons["birth_day"] + np.round(age * 365.25).astype(np.int64))


def labour_states(rng, world: World, persons: Frame, n_comorbidities: np.ndarray) -> np.ndarray:
    """Labour-market state of each person at the first operation."""
    lab = world.params["labour"]
    w = lab["working_age_status"]
    age = persons["age_first"]
    limit = np.minimum(67.0, pension_age(world, persons["birth_day"]) - lab["employment_latest_age_before_pension"])
    ages, shares = np.array(w["employed_by_age"]).T
    p_emp = np.interp(age, ages, shares)
    p_dis = w["disability_pension_base"] + w["disability_pension_per_comorbidity"] * n_comorbidities
    p_er = np.where(age >= 60, np.maximum(0.0, 1 - p_emp - p_dis - w["unemployed"] - w["flex_job"]), 0.0)
    probs = np.column_stack([p_emp, p_dis, np.full(len(age), w["unemployed"]), np.full(len(age), w["flex_job"]), p_er])
    state = choice_rows(rng, probs)
    state = np.where(age >= limit, np.where(age >= 67, S_RETIRED, S_EARLY), state)
    return np.where(age < 18, S_CHILD, state).astype(np.int8)


def dream_window(world: World, persons: Frame, ops: Frame) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = world.params["labour"]["dream_window_weeks"]
    n = len(persons["female"])
    first = np.full(n, np.iinfo(np.int64).max)
    last = np.full(n, np.iinfo(np.int64).min)
    np.minimum.at(first, ops["person"], ops["op_day"])
    np.maximum.at(last, ops["person"], ops["op_day"])
    data_lo = week_index(world.data_start)
    data_lo = np.where(week_monday(data_lo) < world.data_start, data_lo + 1, data_lo)
    return np.maximum(week_index(first) + lo, data_lo), np.minimum(week_index(last) + hi, week_index(world.data_end))


def week_rows(person: np.ndarray, lo: np.ndarray, hi: np.ndarray, benefit: int | np.ndarray) -> Frame:
    """One row per week in [lo, hi] (inclusive) for each person."""
    count = np.maximum(hi - lo + 1, 0)
    r = np.repeat(np.arange(len(person)), count)
    offset = np.arange(len(r)) - np.repeat(np.cumsum(count) - count, count)
    b = np.broadcast_to(np.asarray(benefit, np.int8), (len(person),))
    return Frame(person=person[r].astype(np.int64), week=lo[r] + offset, benefit=b[r].copy())


def base_rows(world: World, persons: Frame, state: np.ndarray, win: tuple[np.ndarray, np.ndarray]) -> Frame:
    """State pensions from the pension week, and the working-age states' weekly transfers."""
    lo, hi = win
    pw = pension_week(world, persons)
    everyone = np.arange(len(state))
    parts = [week_rows(everyone, np.maximum(pw, lo), hi, B["state_pension"])]
    for s, benefit in _STATE_BENEFIT.items():
        who = np.flatnonzero(state == s)
        parts.append(week_rows(who, lo[who], np.minimum(pw[who] - 1, hi[who]), B[benefit]))
    return Frame.concat(parts)


def preop_sickness(rng, world: World, persons: Frame, ops: Frame, state: np.ndarray, oxford_pre: np.ndarray,
                   win: tuple[np.ndarray, np.ndarray]) -> Frame:
    """Sickness-benefit spells before the first operation of employed persons (worse
    pre-operative function, more sick leave); some last until the operation."""
    s = world.params["labour"]["preop_sickness"]
    first = np.flatnonzero((ops["seq"] == 1) & ((ops["partner"] < 0) | (ops["partner"] > np.arange(ops.n))))
    first = first[state[ops["person"][first]] == S_EMPLOYED]
    p = s["probability_base"] + s["per_10_oxford_points_below_20"] * np.maximum(0, 20 - oxford_pre[first]) / 10
    sel = first[rng.random(len(first)) < p]
    m = len(sel)
    length = rng.geometric(1.0 / s["spell_weeks_geometric_mean"], m)
    op_week = week_index(ops["op_day"][sel])
    ongoing = rng.random(m) < s["ongoing_at_operation"]
    end = np.where(ongoing, op_week - 1, op_week - rng.integers(5, 46, m))
    person = ops["person"][sel]
    start = np.maximum(end - length + 1, win[0][person])
    return week_rows(person, start, end, B["sickness_benefit"])


def near_pension_retirement(world: World, persons: Frame, ops: Frame, rows: np.ndarray,
                            win: tuple[np.ndarray, np.ndarray]) -> Frame:
    """Employed persons within 0.6 years of pension age at a later operation retire early
    (efterløn) from 4 weeks before it, so that they are not in the return-to-work population."""
    lab = world.params["labour"]
    person = ops["person"][rows]
    limit = np.minimum(67.0, pension_age(world, persons["birth_day"][person]) - lab["employment_latest_age_before_pension"])
    sel = ops["age"][rows] >= limit
    person = person[sel]
    start = np.maximum(week_index(ops["op_day"][rows][sel]) - 4, win[0][person])
    return week_rows(person, start, np.minimum(pension_week(world, persons)[person] - 1, win[1][person]),
                     B["early_retirement"])


_PRIORITY = np.array([5, 4, 3, 2, 1, 0])  # by BENEFITS: pensions first, sickness benefit last


def one_row_per_week(dream: Frame) -> Frame:
    """One transfer per person and week (the table's key), ordered by person and week:
    the pension or longest-lasting transfer wins over sickness benefit when two overlap."""
    key = (dream["person"] << np.int64(27)) + (dream["week"] << np.int64(3)) + _PRIORITY[dream["benefit"]]
    order = np.argsort(key)
    week_key = key[order] >> np.int64(3)
    first = np.r_[True, week_key[1:] != week_key[:-1]]
    return dream.take(order[first])


def return_to_work_rows(rng, world: World, persons: Frame, ops: Frame, rows: np.ndarray, p_rtw: np.ndarray,
                        z_rtw: np.ndarray, win: tuple[np.ndarray, np.ndarray]) -> tuple[Frame, np.ndarray]:
    """Sickness benefit after surgery until the return to work: the first transfer-free
    week is ``W`` weeks after the op week (W <= 26 with probability p_rtw).  Those who do
    not return within 26 weeks return later (27-70 weeks) or, after 39 weeks of sickness
    benefit, move to disability pension or a flex job."""
    r = world.params["labour"]["return_weeks"]
    m = len(rows)
    returns = z_rtw > special.ndtri(1 - p_rtw)
    joint = ops["joint"][rows]
    median = np.where(joint == 0, r["lognormal_median"]["hip"], r["lognormal_median"]["knee"])
    dist = stats.lognorm(s=r["lognormal_sigma"], scale=median)
    u = rng.random(m) * dist.cdf(26.0)
    weeks = np.maximum(1, np.ceil(dist.ppf(u))).astype(np.int64)
    never = ~returns & (rng.random(m) < r["never_return_share"])
    late = rng.integers(r["late_return_weeks"][0], r["late_return_weeks"][1] + 1, m)
    weeks = np.where(returns, weeks, np.where(never, r["never_return_sickness_weeks"], late))
    op_week = week_index(ops["op_day"][rows])
    person = ops["person"][rows]
    pw = pension_week(world, persons)[person]
    hi = np.minimum(win[1][person], pw - 1)  # sickness benefit stops at the state pension
    some = weeks >= 2  # W = 1: back the week after surgery, no municipal sickness benefit
    sick = week_rows(person[some], op_week[some], np.minimum(op_week + weeks - 1, hi)[some], B["sickness_benefit"])
    to_disability = rng.random(m) < r["never_return_to"]["disability_pension"]
    nr = np.flatnonzero(never)
    after = week_rows(person[nr], op_week[nr] + weeks[nr], np.minimum(pw[nr] - 1, hi[nr]),
                      np.where(to_disability[nr], B["disability_pension"], B["flex_job"]).astype(np.int8))
    return Frame.concat([sick, after]), returns

