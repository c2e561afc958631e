"""The episode definitions (docs/episode-definitions.md) applied to the clean generated
tables, vectorised: the ground truth that the episode builder must reproduce.

Everything the definitions derive from the raw tables (look-back case-mix, windowed
outcomes, censoring, activity, costs, labour market) is computed here from the rows the
generator wrote, not from the generator's intentions, so that person-level overlaps
(two operations, ordinary contacts, primary care in the windows) are counted exactly as
a correct builder counts them.  Windows are searched in sorted (group, time) keys.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vbhc.synth._calendar import MINUTES_PER_DAY, iso_year_week, week_index
from vbhc.synth._frame import Frame
from vbhc.synth._world import BENEFITS, COMPLICATION_TYPES, COST_CATEGORIES, World

_STRIDE = np.int64(1) << np.int64(34)
STAY_JOIN_MINUTES = 4 * 60
INPATIENT, OUTPATIENT, EMERGENCY, TELEMEDICINE = range(4)
REGION_CATEGORIES = ("drg_tariff", "dags_tariff", "implant", "medicine", "primary_care")
HOSPITAL_CATEGORIES = ("drg_tariff", "dags_tariff", "implant", "medicine")
SOCIETY_EXTRA_CATEGORIES = ("municipal_rehabilitation", "home_care", "sickness_benefit")  # society = region + these
EMPLOYMENT = ("employed", "sick_listed", "unemployed", "retired", "other")
_B = {name: i for i, name in enumerate(BENEFITS)}
RTW_MAX_START_WEEK = 105  # a return-to-work run may start 1..105 weeks after the op week
RTW_RUN_WEEKS = 4
_WEEKS_BEFORE, _WEEKS_AFTER = 52, RTW_MAX_START_WEEK + RTW_RUN_WEEKS - 1


class EventIndex:
    """Events sorted by (group, time) for counts and sums over inclusive time windows."""

    def __init__(self, group: np.ndarray, time: np.ndarray, value: np.ndarray | None = None):
        key = np.asarray(group, np.int64) * _STRIDE + np.asarray(time, np.int64)
        if len(key) > 1 and not np.all(key[1:] >= key[:-1]):  # most inputs come sorted already
            order = np.argsort(key, kind="stable")
            key = key[order]
            value = None if value is None else np.asarray(value, float)[order]
        self.key = key
        self.cum = None if value is None else np.r_[0.0, np.cumsum(np.asarray(value, float))]

    def _bounds(self, group, lo, hi):
        group = np.asarray(group, np.int64) * _STRIDE
        a = np.searchsorted(self.key, group + np.clip(lo, 0, _STRIDE - 1), side="left")
        b = np.searchsorted(self.key, group + np.clip(hi, -1, _STRIDE - 1), side="right")
        return a, np.maximum(a, b)

    def count(self, group, lo, hi) -> np.ndarray:
        a, b = self._bounds(group, lo, hi)
        return b - a

    def sum(self, group, lo, hi) -> np.ndarray:
        a, b = self._bounds(group, lo, hi)
        return self.cum[b] - self.cum[a]


def join_stays(contacts: Frame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stay of every inpatient contact (-1 for others): same person and hospital, starting
    at most 4 h after the running end of the stay so far.  Returns (stay id, stay start,
    stay end) per contact."""
    n = contacts.n
    stay = np.full(n, -1, np.int64)
    s_start = np.full(n, -1, np.int64)
    s_end = np.full(n, -1, np.int64)
    inp = np.flatnonzero(contacts["ctype"] == INPATIENT)
    if len(inp) == 0:
        return stay, s_start, s_end
    person, hosp = contacts["person"][inp], contacts["hospital"][inp].astype(np.int64)
    start, end = contacts["start"][inp], contacts["end"][inp]
    order = np.lexsort((start, hosp, person))
    person, hosp, start, end, inp = person[order], hosp[order], start[order], end[order], inp[order]
    newgroup = np.r_[True, (person[1:] != person[:-1]) | (hosp[1:] != hosp[:-1])]
    gid = np.cumsum(newgroup)
    big = np.int64(1) << np.int64(36)
    running = np.maximum.accumulate(gid * big + end) - gid * big
    prev_end = np.r_[np.int64(-(10**12)), running[:-1]]
    new_stay = newgroup | (start > prev_end + STAY_JOIN_MINUTES)
    sid = np.cumsum(new_stay) - 1
    first = np.flatnonzero(new_stay)
    stay_start = start[first][sid]
    stay_end = np.maximum.reduceat(end, first)[sid]
    stay[inp], s_start[inp], s_end[inp] = sid, stay_start, stay_end
    return stay, s_start, s_end


@dataclass
class Episodes:
    """The index operations whose truth is computed: one row each."""

    person: np.ndarray
    joint: np.ndarray  # 0 hip, 1 knee
    side: np.ndarray  # 0 left, 1 right
    op_day: np.ndarray
    index_contact: np.ndarray  # row of the index contact in the contacts frame
    age: np.ndarray


def all_diagnoses(contacts: Frame, diagnoses: Frame) -> tuple[np.ndarray, np.ndarray]:
    """(contact row, diagnosis code) of every A (contact's primary) and B diagnosis."""
    return (np.concatenate([np.arange(contacts.n), diagnoses["contact"]]),
            np.concatenate([contacts["dx"], diagnoses["dx"]]))


def lookback_comorbidities(world: World, contacts: Frame, diagnoses: Frame, person: np.ndarray,
                           adm_day: np.ndarray) -> np.ndarray:
    """(n, k) flags: a code of each comorbidity (Charlson components, then anxiety/
    depression) on a contact starting within [adm - 730 d, adm) (calendar days)."""
    row, dx = all_diagnoses(contacts, diagnoses)
    comp = world.comorbidity_of_dx[dx]
    keep = comp >= 0
    row, comp = row[keep], comp[keep].astype(np.int64)
    k = len(world.comorbidities)
    idx = EventIndex(contacts["person"][row] * k + comp, contacts["start"][row] // MINUTES_PER_DAY)
    out = np.zeros((len(person), k), bool)
    for j in range(k):
        out[:, j] = idx.count(person * k + j, adm_day - 730, adm_day - 1) > 0
    return out


def charlson_index(world: World, flags: np.ndarray) -> np.ndarray:
    """Weighted sum with the Charlson hierarchy (the milder of a pair is not counted)."""
    comps = list(world.codelists.charlson.components.items())
    counted = flags[:, : len(comps)].copy()
    names = [c for c, _ in comps]
    for h in world.codelists.charlson.hierarchy:
        counted[:, names.index(h.drop)] &= ~counted[:, names.index(h.keep)]
    weights = np.array([c.weight for _, c in comps])
    return (counted * weights).sum(axis=1)


def labour_matrices(dream: Frame, person: np.ndarray, op_week: np.ndarray) -> dict[str, np.ndarray]:
    """Per episode and week relative to the op week (-52 .. +108): which transfers were paid."""
    n = len(person)
    width = _WEEKS_BEFORE + _WEEKS_AFTER + 1
    out = {k: np.zeros((n, width), bool) for k in ("any", "sickness", "retired", "unemployed")}
    if n == 0 or dream.n == 0:
        return out
    key = dream["person"] * _STRIDE + dream["week"]
    order = None
    if not np.all(key[1:] >= key[:-1]):
        order = np.argsort(key, kind="stable")
        key = key[order]
    benefit = dream["benefit"] if order is None else dream["benefit"][order]
    week = dream["week"] if order is None else dream["week"][order]
    base = np.asarray(person, np.int64) * _STRIDE + op_week
    a = np.searchsorted(key, base - _WEEKS_BEFORE, side="left")
    b = np.searchsorted(key, base + _WEEKS_AFTER, side="right")
    counts = b - a
    e = np.repeat(np.arange(n), counts)
    row = np.repeat(a, counts) + (np.arange(len(e)) - np.repeat(np.cumsum(counts) - counts, counts))
    rel = week[row] - op_week[e] + _WEEKS_BEFORE
    code = benefit[row]
    kinds = {
        "any": np.ones(len(row), bool),
        "sickness": code == _B["sickness_benefit"],
        "retired": np.isin(code, [_B["early_retirement"], _B["disability_pension"], _B["state_pension"]]),
        "unemployed": np.isin(code, [_B["unemployment_benefit"], _B["flex_job"]]),
    }
    for k, m in kinds.items():
        out[k][e[m], rel[m]] = True
    return out


def labour_features(dream: Frame, person: np.ndarray, op_day: np.ndarray, age: np.ndarray,
                    retirement_age: float = 67.0) -> tuple[np.ndarray, np.ndarray]:
    """employment_status (index into EMPLOYMENT) from the 4 weeks before the op week, and
    sickness_benefit_weeks_1y (weeks with sickness benefit among the 52 before)."""
    op_week = week_index(op_day)
    m = labour_matrices(dream, person, op_week)
    before4 = slice(_WEEKS_BEFORE - 4, _WEEKS_BEFORE)
    retired = (age >= retirement_age) | m["retired"][:, before4].any(axis=1)
    unemployed = m["unemployed"][:, before4].any(axis=1)
    sick = m["sickness"][:, before4].any(axis=1)
    status = np.where(retired, 3, np.where(unemployed, 2, np.where(sick, 1, 0))).astype(np.int8)
    weeks = m["sickness"][:, :_WEEKS_BEFORE].sum(axis=1)
    return status, weeks


def return_to_work(dream: Frame, person: np.ndarray, op_day: np.ndarray, employed: np.ndarray,
                   followup_end_day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(weeks_to_return_to_work or -1, return_to_work_6m as 1/0/-1 for true/false/null).

    The run of 4 transfer-free weeks must start 1-105 weeks after the op week and lie
    within follow-up (its last week at or before the ISO week of the end of follow-up):
    weeks after death or after the extract are not observed.
    """
    op_week = week_index(op_day)
    m = labour_matrices(dream, person, op_week)
    free = ~m["any"][:, _WEEKS_BEFORE + 1:]  # weeks +1 .. +108
    run = free[:, :-3] & free[:, 1:-2] & free[:, 2:-1] & free[:, 3:]  # run starting at +1 .. +105
    last_week = week_index(followup_end_day) - op_week
    start = np.arange(1, run.shape[1] + 1)[None, :]
    run &= start + RTW_RUN_WEEKS - 1 <= last_week[:, None]
    found = run.any(axis=1)
    weeks = np.where(found, run.argmax(axis=1) + 1, -1)
    followed = last_week >= 30
    rtw = np.where(found & (weeks <= 26), 1, np.where(followed, 0, -1))
    return np.where(employed, weeks, -1), np.where(employed, rtw, -1)


def price_year_amount(world: World, costs: Frame, price_year: int = 2016) -> np.ndarray:
    return costs["amount"] * world.price_index(price_year) / world.price_index(costs["tariff_year"])


def episode_truth(world: World, tables: dict[str, Frame], ep: Episodes, death_day: np.ndarray,
                  price_year: int = 2016) -> dict[str, np.ndarray]:
    """Case-mix and outcome columns (episode-table names) derived from the clean tables.

    ``death_day`` is indexed by person (a far-future value when alive at the extract).
    Windowed outcomes are returned as int8 1/0 with -1 for null.
    """
    contacts, diagnoses, procedures, costs, dream = (tables[k] for k in
                                                     ("contacts", "diagnoses", "procedures", "costs", "dream"))
    out: dict[str, np.ndarray] = {}
    n = len(ep.person)
    data_end = world.data_end
    stay, stay_start, stay_end = join_stays(contacts)
    idx_stay = stay[ep.index_contact]
    adm, dis = stay_start[ep.index_contact], stay_end[ep.index_contact]
    adm_day, dis_day = adm // MINUTES_PER_DAY, dis // MINUTES_PER_DAY
    op = ep.op_day
    out["los_days"] = (dis_day - adm_day).astype(float)
    out["adm_minute"], out["dis_minute"] = adm, dis

    # -- look-back case-mix ---------------------------------------------------------
    flags = lookback_comorbidities(world, contacts, diagnoses, ep.person, adm_day)
    names = list(world.codelists.charlson.components)
    for j, name in enumerate(names):
        out[f"cci_{name}"] = flags[:, j]
    out["charlson_index"] = charlson_index(world, flags)
    out["anxiety_depression"] = flags[:, -1]
    start_day = contacts["start"] // MINUTES_PER_DAY
    first_of_stay = (stay >= 0) & (contacts["start"] == stay_start)
    stays = EventIndex(contacts["person"][first_of_stay], start_day[first_of_stay])
    out["prior_inpatient_2y"] = stays.count(ep.person, adm_day - 730, adm_day - 1)
    outpat = np.isin(contacts["ctype"], [OUTPATIENT, TELEMEDICINE])
    out_idx = EventIndex(contacts["person"][outpat], start_day[outpat])
    out["prior_outpatient_2y"] = out_idx.count(ep.person, adm_day - 730, adm_day - 1)
    amount = price_year_amount(world, costs, price_year)
    category = costs["category"]
    region = _in_categories(category, REGION_CATEGORIES)
    reg_idx = EventIndex(costs["person"][region], costs["day"][region], amount[region])
    out["prior_cost_2y_dkk"] = reg_idx.sum(ep.person, adm_day - 730, adm_day - 1)
    index_px = _index_procedure_mask(world, procedures)
    pp = procedures.take(np.flatnonzero(index_px & (procedures["side"] >= 0)))
    pjoint = _procedure_joint(world, pp["px"])
    side_idx = EventIndex((contacts["person"][pp["contact"]] * 2 + pjoint) * 2 + pp["side"], pp["day"])
    out["prior_contralateral"] = side_idx.count((ep.person * 2 + ep.joint) * 2 + (1 - ep.side), 0, op - 1) > 0

    status, sick_weeks = labour_features(dream, ep.person, op, ep.age)
    out["employment_status"], out["sickness_benefit_weeks_1y"] = status, sick_weeks
    employed = status <= 1

    # -- follow-up and censoring ----------------------------------------------------
    death = death_day[ep.person]
    death = np.where(death <= data_end, death, np.iinfo(np.int32).max)  # deaths after the extract are not seen
    end = np.minimum(np.minimum(death, data_end), op + 730)
    out["followup_days"] = end - op
    dead_within = lambda w: death - op <= w  # noqa: E731
    known = lambda w: (op + w <= data_end) | dead_within(w)  # noqa: E731
    out["followup_complete_1y"] = known(365)
    out["followup_complete_2y"] = known(730)
    out["censored_death"] = (death - op < 730) & (death <= data_end)
    out["censored_end_of_data"] = (data_end - op < 730) & ~out["censored_death"]
    for w, name in ((30, "death_30d"), (90, "death_90d"), (365, "death_1y")):
        out[name] = _windowed(dead_within(w) & (death <= data_end), known(w))

    # -- complications ----------------------------------------------------------------
    row, dx = all_diagnoses(contacts, diagnoses)
    ctype = world.complication_of_dx[dx]
    keep = ctype >= 0
    row, ctype = row[keep], ctype[keep].astype(np.int64)
    T = len(COMPLICATION_TYPES)
    in_stay_keys = np.unique(stay[row][stay[row] >= 0] * T + ctype[stay[row] >= 0])
    later = EventIndex(contacts["person"][row] * T + ctype, start_day[row])
    any_comp = np.zeros(n, bool)
    for t, name in enumerate(COMPLICATION_TYPES):
        flag = np.isin(idx_stay * T + t, in_stay_keys) | (later.count(ep.person * T + t, op + 1, op + 90) > 0)
        out[f"complication_{name}_90d"] = flag
        any_comp |= flag
    out["complication_90d"] = any_comp
    # treated in an acute admission after discharge within 2 years (warranty events)
    acute_row = (contacts["ctype"][row] == INPATIENT) & contacts["acute"][row]
    late = EventIndex(contacts["person"][row[acute_row]] * T + ctype[acute_row], contacts["start"][row[acute_row]])
    hi_2y = (op + 730) * MINUTES_PER_DAY + MINUTES_PER_DAY - 1
    any_2y = np.zeros(n, bool)
    for t, name in enumerate(COMPLICATION_TYPES):
        flag = late.count(ep.person * T + t, dis + 1, hi_2y) > 0
        out[f"complication_{name}_2y"] = _windowed(flag, known(730))
        any_2y |= flag
    out["complication_2y"] = _windowed(any_2y, known(730))

    # -- readmissions and activity after discharge ------------------------------------
    acute_in = (contacts["ctype"] == INPATIENT) & contacts["acute"]
    ra = EventIndex(contacts["person"][acute_in], contacts["start"][acute_in])
    for w in (30, 90):
        hi = (dis_day + w) * MINUTES_PER_DAY + MINUTES_PER_DAY - 1
        out[f"readmission_{w}d"] = ra.count(ep.person, dis + 1, hi) > 0
    op_idx = EventIndex(contacts["person"][outpat], contacts["start"][outpat])
    out["outpatient_visits_90d"] = op_idx.count(ep.person, dis + 1, (dis_day + 91) * MINUTES_PER_DAY - 1)
    out["outpatient_visits_1y"] = op_idx.count(ep.person, dis + 1, (op + 366) * MINUTES_PER_DAY - 1)
    st_idx = EventIndex(contacts["person"][first_of_stay], contacts["start"][first_of_stay])
    out["inpatient_admissions_1y"] = st_idx.count(ep.person, dis + 1, (op + 366) * MINUTES_PER_DAY - 1)

    # -- reoperations and revisions (same joint and side) --------------------------------
    reop_m, rev_m = _reoperation_masks(world, procedures)
    pside = procedures["side"]
    for mask, label in ((reop_m, "reop"), (rev_m, "rev")):
        sel = mask & (pside >= 0)
        pj = _reoperation_joint(world, procedures["px"][sel])
        idx = EventIndex((contacts["person"][procedures["contact"][sel]] * 2 + pj) * 2 + pside[sel],
                         procedures["day"][sel])
        key = (ep.person * 2 + ep.joint) * 2 + ep.side
        for w in ((365, 730) if label == "reop" else (730,)):
            event = idx.count(key, op + 1, op + w) > 0
            name = {("reop", 365): "reoperation_1y", ("reop", 730): "reoperation_2y", ("rev", 730): "revision_2y"}[
                (label, w)]
            out[name] = _windowed(event, known(w))

    # -- return to work -----------------------------------------------------------------
    weeks, rtw = return_to_work(dream, ep.person, op, employed, end)
    out["weeks_to_return_to_work"], out["return_to_work_6m"] = weeks, rtw

    # -- costs at the price year --------------------------------------------------------
    c_stay = np.where(costs["contact"] >= 0, stay[np.maximum(costs["contact"], 0)], -1)
    in_index = (c_stay >= 0) & np.isin(c_stay, idx_stay)  # cost rows of an episode's index stay
    idx_key = idx_stay
    row_key = np.where(in_index, c_stay, -1)
    drg = in_index & (category == COST_CATEGORIES.index("drg_tariff"))
    out["drg_value_index_dkk"] = _sum_by_key(row_key[drg], costs["amount"][drg], idx_key)
    index_drg_row = np.flatnonzero((costs["contact"] >= 0) & (category == COST_CATEGORIES.index("drg_tariff")))
    first_drg = np.full(contacts.n, -1)
    first_drg[costs["contact"][index_drg_row][::-1]] = costs["drg"][index_drg_row][::-1]
    out["drg_code_index"] = first_drg[ep.index_contact]
    sick = dream["benefit"] == _B["sickness_benefit"]
    sick_year = iso_year_week(dream["week"][sick]) // 100
    sick_amount = world.prices.sickness_benefit_week(sick_year) * world.price_index(price_year) / world.price_index(
        sick_year)
    sick_idx = EventIndex(dream["person"][sick], dream["week"][sick], sick_amount)
    op_week, adm_week, dis_week = week_index(op), week_index(adm_day), week_index(dis_day)
    # by category and window: the index stay's linked rows, the 90 days after discharge
    # (rows not linked to the index stay), and [adm, op + 365 / 730 d]
    known_90d = (dis_day + 90 <= data_end) | (death <= dis_day + 90)
    windows = {"index": np.ones(n, bool), "90d": known_90d, "1y": np.ones(n, bool), "2y": out["followup_complete_2y"]}
    for c, name in enumerate(COST_CATEGORIES):
        m = category == c
        out[f"cost_index_{name}_dkk"] = _sum_by_key(row_key[m & in_index], amount[m & in_index], idx_key)
        after = EventIndex(costs["person"][m & ~in_index], costs["day"][m & ~in_index], amount[m & ~in_index])
        out[f"cost_90d_{name}_dkk"] = after.sum(ep.person, dis_day + 1, dis_day + 90)
        ci = EventIndex(costs["person"][m], costs["day"][m], amount[m])
        for label, w in (("1y", 365), ("2y", 730)):
            out[f"cost_{label}_{name}_dkk"] = ci.sum(ep.person, adm_day, op + w)
    out["cost_index_sickness_benefit_dkk"] = sick_idx.sum(ep.person, adm_week, dis_week)
    out["cost_90d_sickness_benefit_dkk"] = sick_idx.sum(ep.person, dis_week + 1, week_index(dis_day + 90))
    out["cost_1y_sickness_benefit_dkk"] = sick_idx.sum(ep.person, op_week, op_week + 52)
    out["cost_2y_sickness_benefit_dkk"] = sick_idx.sum(ep.person, op_week, op_week + 104)
    # perspectives: hospital, region (cost_<window>_dkk) and society, from the categories
    for window, ok in windows.items():
        part = {k: out[f"cost_{window}_{k}_dkk"] for k in COST_CATEGORIES + ("sickness_benefit",)}
        region_sum = sum(part[k] for k in REGION_CATEGORIES)
        perspectives = {
            "": region_sum,
            "_hospital": sum(part[k] for k in HOSPITAL_CATEGORIES),
            "_society": region_sum + sum(part[k] for k in SOCIETY_EXTRA_CATEGORIES),
        }
        for suffix, value in perspectives.items():
            out[f"cost_{window}{suffix}_dkk"] = value
        for k in [f"cost_{window}{suffix}_dkk" for suffix in perspectives] + [f"cost_{window}_{k}_dkk" for k in part]:
            out[k] = np.where(ok, out[k], np.nan)
    return out


def _in_categories(codes: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    lookup = np.array([c in names for c in COST_CATEGORIES])
    return lookup[codes]


def _windowed(event: np.ndarray, known: np.ndarray) -> np.ndarray:
    return np.where(event, 1, np.where(known, 0, -1)).astype(np.int8)


def _sum_by_key(keys: np.ndarray, values: np.ndarray, query: np.ndarray) -> np.ndarray:
    order = np.argsort(keys, kind="stable")
    k, v = keys[order], values[order]
    cum = np.r_[0.0, np.cumsum(v)]
    return cum[np.searchsorted(k, query, side="right")] - cum[np.searchsorted(k, query, side="left")]


def _index_procedure_mask(world: World, procedures: Frame) -> np.ndarray:
    codes = [c for j in ("hip", "knee") for t in ("total", "partial")
             for c in getattr(world.codelists.index_procedures[j], t)]
    lookup = np.array([any(v.startswith(c) for c in codes) for v in world.px.values])
    return lookup[procedures["px"]]


def _procedure_joint(world: World, px: np.ndarray) -> np.ndarray:
    hip = [c for t in ("total", "partial") for c in getattr(world.codelists.index_procedures["hip"], t)]
    lookup = np.array([0 if any(v.startswith(c) for c in hip) else 1 for v in world.px.values])
    return lookup[px]


def _reoperation_masks(world: World, procedures: Frame) -> tuple[np.ndarray, np.ndarray]:
    cl = world.codelists
    reop = [c for c in cl.reoperation_procedures.hip + cl.reoperation_procedures.knee]
    rev = [c for c in cl.revision_procedures.hip + cl.revision_procedures.knee]
    r = np.array([any(v.startswith(c) for c in reop) for v in world.px.values])
    v = np.array([any(x.startswith(c) for c in rev) for x in world.px.values])
    return r[procedures["px"]], v[procedures["px"]]


def _reoperation_joint(world: World, px: np.ndarray) -> np.ndarray:
    cl = world.codelists
    hip = cl.reoperation_procedures.hip + cl.revision_procedures.hip
    lookup = np.array([0 if any(v.startswith(c) for c in hip) else 1 for v in world.px.values])
    return lookup[px]

