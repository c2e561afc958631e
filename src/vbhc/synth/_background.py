"""Ordinary life around the operations: hospital contacts for other reasons, care of
chronic comorbidities (which leave the ICD-10 codes that the look-back turns into a
Charlson index and anxiety/depression), primary care and home care.

Rates are Poisson processes per person-year over the whole data window.  Around each
operation ordinary contacts are left out ("thinned") so that the pathway windows are
unambiguous: nothing ordinary starts from the day before an operation to 30 days after
(so no ordinary admission joins the index stay), no ordinary acute admission starts
from the day before to 121 days after (so the 90-day readmission window only holds
pathway readmissions), and nothing starts exactly 730 days before (the look-back
boundary, where date and timestamp readings of the definition would differ).
The expected cost of ordinary care in a window (:func:`expected_background_cost`)
uses the same rates and thinning.
"""

from __future__ import annotations

import numpy as np

from vbhc.synth import _catalogue as cat
from vbhc.synth._calendar import MINUTES_PER_DAY, quarter_dates, year_of
from vbhc.synth._frame import Frame, choice, repeat_index, uniform_int
from vbhc.synth._world import World

INPATIENT, OUTPATIENT, EMERGENCY, TELEMEDICINE = range(4)
ORIGIN_BACKGROUND, ORIGIN_COMORBIDITY, ORIGIN_PATHWAY = range(3)
KINDS = ("outpatient", "emergency", "acute_inpatient", "elective_inpatient", "telemedicine")
_POOLS = {
    "outpatient": cat.BACKGROUND_OUTPATIENT,
    "emergency": cat.BACKGROUND_EMERGENCY,
    "acute_inpatient": cat.BACKGROUND_ACUTE_INPATIENT,
    "elective_inpatient": cat.BACKGROUND_ELECTIVE_INPATIENT,
}
CATARACT_SHARE = 0.5  # of ophthalmology visits for cataract (DH251): the operation, DAGS 02PR01


def activity_multiplier(persons: Frame, world: World) -> np.ndarray:
    """exp(0.15 x comorbidities + 0.01 x (age - 70)) at the first operation."""
    b = world.params["background"]
    return np.exp(b["comorbidity_log_rate"] * n_comorbidities_at_first(persons, world)
                  + b["age_log_rate_per_year"] * (persons["age_first"] - 70))


def n_comorbidities_at_first(persons: Frame, world: World) -> np.ndarray:
    names = [c for c in world.comorbidities if c != "anxiety_depression"]
    return np.sum([persons[f"onset_{c}"] < persons["first_op_day"] for c in names], axis=0)


def pick_public_hospital(rng: np.random.Generator, region: np.ndarray, world: World) -> np.ndarray:
    """A public hospital of each row's region, weighted by volume."""
    h = world.hospitals
    out = np.zeros(len(region), np.int16)
    for r in np.unique(region):
        rows = np.flatnonzero(region == r)
        cand = np.flatnonzero((h.region == r) & ~h.private)
        out[rows] = cand[choice(rng, len(rows), h.weight[cand])]
    return out


def dept_code(world: World, hospital: np.ndarray, department: np.ndarray | str) -> np.ndarray:
    names = list(cat.DEPARTMENTS)
    d = names.index(department) if isinstance(department, str) else department
    return (hospital.astype(np.int64) * len(names) + d).astype(np.int32)


def contact_times(rng: np.random.Generator, ctype: np.ndarray, acute: np.ndarray, day: np.ndarray,
                  los_days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (minutes) of contacts starting on ``day``; inpatient stays last
    ``los_days`` calendar days (discharge 10:00-16:00), visits 15-60 min, ER 1-6 h."""
    n = len(day)
    base = day * MINUTES_PER_DAY
    start = base + uniform_int(rng, 480, 930, n)
    start = np.where(ctype == EMERGENCY, base + uniform_int(rng, 0, 1439, n), start)
    inpatient = ctype == INPATIENT
    start = np.where(inpatient & acute, base + uniform_int(rng, 0, 1380, n), start)
    start = np.where(inpatient & ~acute, base + uniform_int(rng, 420, 600, n), start)
    end = start + uniform_int(rng, 15, 60, n)
    end = np.where(ctype == EMERGENCY, start + uniform_int(rng, 60, 360, n), end)
    discharge = (day + los_days) * MINUTES_PER_DAY + uniform_int(rng, 600, 960, n)
    end = np.where(inpatient, np.maximum(discharge, start + 60), end)
    return start, end


def make_contacts(rng, world: World, person, day, ctype, acute, hospital, department, dx, drg, los_days, origin,
                  medicine_2016=None) -> Frame:
    start, end = contact_times(rng, ctype, acute, day, los_days)
    n = len(person)
    return Frame(
        person=np.asarray(person, np.int64), hospital=np.asarray(hospital, np.int16),
        dept=np.asarray(department, np.int32), ctype=np.asarray(ctype, np.int8), start=start, end=end,
        acute=np.asarray(acute, bool), dx=np.asarray(dx, np.int32), drg=np.asarray(drg, np.int32),
        origin=np.full(n, origin, np.int8),
        medicine_2016=np.zeros(n) if medicine_2016 is None else np.asarray(medicine_2016, float),
        implant_2016=np.zeros(n),
    )


def ordinary_contacts(rng, world: World, persons: Frame, ops: Frame) -> tuple[Frame, Frame, Frame]:
    """Ordinary-life hospital contacts (with B diagnoses and procedures), thinned around operations."""
    b = world.params["background"]
    n = len(persons["female"])
    mult = activity_multiplier(persons, world)
    years = (world.data_end - world.data_start + 1) / 365.25
    parts = []
    for kind in KINDS:
        rate = b["rates_per_year"][kind] * (mult if kind != "elective_inpatient" else 1.0)
        counts = rng.poisson(rate * years * np.ones(n))
        person = repeat_index(counts)
        m = len(person)
        day = uniform_int(rng, world.data_start, world.data_end, m)
        if kind == "telemedicine":
            dx = world.dx.codes(["DZ031"])[np.zeros(m, int)]
            dept = np.full(m, list(cat.DEPARTMENTS).index("medicine"))
            drg = np.full(m, world.drg.code("30PR01"))
        else:
            pool = _POOLS[kind]
            pick = choice(rng, m, [w for *_, w in pool])
            dx = world.dx.codes([d for d, *_ in pool])[pick]
            dept = np.array([list(cat.DEPARTMENTS).index(d) for _, d, _, _ in pool])[pick]
            drg = np.array([world.drg.code(g) for _, _, g, _ in pool])[pick]
        ctype = {"outpatient": OUTPATIENT, "emergency": EMERGENCY, "telemedicine": TELEMEDICINE}.get(kind, INPATIENT)
        ctype = np.full(m, ctype, np.int8)
        acute = np.full(m, kind in ("emergency", "acute_inpatient"))
        los = np.where(ctype == INPATIENT, 1 + rng.poisson(b["inpatient_los"]["extra_days_poisson_mean"], m), 0)
        hosp = pick_public_hospital(rng, persons["region"][person], world)
        if kind == "outpatient":
            cataract = (dx == world.dx.code("DH251")) & (rng.random(m) < CATARACT_SHARE)
            drg = np.where(cataract, world.drg.code("02PR01"), drg)
        parts.append(make_contacts(rng, world, person, day, ctype, acute, hosp, dept_code(world, hosp, dept), dx,
                                   drg, los, ORIGIN_BACKGROUND))
    contacts = thin(Frame.concat(parts), ops, world)
    return contacts, *_secondary_and_procedures(rng, world, contacts)


def _secondary_and_procedures(rng, world: World, contacts: Frame) -> tuple[Frame, Frame]:
    b = world.params["background"]
    m = contacts.n
    sec = np.flatnonzero(rng.random(m) < b["secondary_diagnosis_share"])
    code = world.dx.codes(list(cat.BACKGROUND_SECONDARY))[rng.integers(0, len(cat.BACKGROUND_SECONDARY), len(sec))]
    keep = code != contacts["dx"][sec]
    diagnoses = Frame(contact=sec[keep], dx=code[keep], dtype=np.ones(int(keep.sum()), np.int8))
    # procedures: cataract operations on their contacts, imaging on some others
    cataract = np.flatnonzero(contacts["drg"] == world.drg.code("02PR01"))
    other = np.flatnonzero((contacts["ctype"] != TELEMEDICINE) & (rng.random(m) < b["procedure_share"] / 2))
    other = np.setdiff1d(other, cataract)
    names = [p for p, dept, _ in cat.BACKGROUND_PROCEDURES if dept is None or dept in ("surgery", "cardiology")]
    codes = world.px.codes(names)[rng.integers(0, len(names), len(other))]
    contact = np.concatenate([cataract, other])
    procedures = Frame(
        contact=contact,
        px=np.concatenate([np.full(len(cataract), world.px.code("KCJE20")), codes]).astype(np.int32),
        day=contacts["start"][contact] // MINUTES_PER_DAY,
        side=np.concatenate([rng.integers(0, 2, len(cataract)), np.full(len(other), -1)]).astype(np.int8),
    )
    return diagnoses, procedures


def comorbidity_contacts(rng, world: World, persons: Frame, ops: Frame) -> Frame:
    """Care of each chronic comorbidity from its onset: contacts carrying its code."""
    c = world.params["comorbidity"]
    kinds = c["care_contact_kind"]
    parts = []
    for j, name in enumerate(world.comorbidities):
        has = persons[f"has_{name}"]
        first = np.maximum(persons[f"onset_{name}"], world.data_start)
        span = np.where(has, np.maximum(world.data_end - first + 1, 0), 0)
        counts = rng.poisson(c["care_contacts_per_year"] * span / 365.25)
        person = repeat_index(counts)
        m = len(person)
        day = uniform_int(rng, first[person], world.data_end, m)
        dept_name, dags, admission = cat.COMORBIDITY_CARE[name]
        k = choice(rng, m, list(kinds.values()))
        kind = np.array(list(kinds))[k]
        ctype = np.select([kind == "outpatient", kind == "telemedicine", kind == "emergency"],
                          [OUTPATIENT, TELEMEDICINE, EMERGENCY], INPATIENT).astype(np.int8)
        acute = (ctype == EMERGENCY) | (ctype == INPATIENT)
        drg = np.select([ctype == OUTPATIENT, ctype == TELEMEDICINE, ctype == EMERGENCY],
                        [world.drg.code(dags), world.drg.code("30PR01"), world.drg.code("30PR02")],
                        world.drg.code(admission))
        dept = np.where(ctype == EMERGENCY, list(cat.DEPARTMENTS).index("emergency"),
                        list(cat.DEPARTMENTS).index(dept_name))
        codes = world.comorbidity_dx[name]
        dx = codes[rng.integers(0, len(codes), m)]
        los = np.where(ctype == INPATIENT, 1 + rng.poisson(world.params["background"]["inpatient_los"]
                                                           ["extra_days_poisson_mean"], m), 0)
        medicine = np.where(ctype == OUTPATIENT, c["medicine_per_visit_2016"].get(name, 0.0), 0.0)
        hosp = pick_public_hospital(rng, persons["region"][person], world)
        parts.append(make_contacts(rng, world, person, day, ctype, acute, hosp, dept_code(world, hosp, dept), dx,
                                   drg, los, ORIGIN_COMORBIDITY, medicine))
    return thin(Frame.concat(parts), ops, world)


def thin(contacts: Frame, ops: Frame, world: World) -> Frame:
    """Leave out ordinary contacts in the protected windows around each operation."""
    t = world.params["background"]["thinning"]
    lo, hi = t["all_kinds_days_after_operation"]
    alo, ahi = t["acute_inpatient_days_after_operation"]
    start = contacts["start"] // MINUTES_PER_DAY
    end = contacts["end"] // MINUTES_PER_DAY
    acute_in = (contacts["ctype"] == INPATIENT) & contacts["acute"]
    drop = np.zeros(contacts.n, bool)
    n_persons = int(max(contacts["person"].max(initial=0), ops["person"].max(initial=0))) + 1
    for op_day in operation_day_matrix(ops, n_persons).T:
        d = op_day[contacts["person"]]
        drop |= (start <= d + hi) & (end >= d + lo)
        drop |= acute_in & (start >= d + alo) & (start <= d + ahi)
        drop |= start == d - t["lookback_boundary_day"]
    return contacts.take(np.flatnonzero(~drop))


def operation_day_matrix(ops: Frame, n_persons: int) -> np.ndarray:
    """(persons, max operations) matrix of operation days (far future where none)."""
    k = int(np.bincount(ops["person"], minlength=n_persons).max(initial=1))
    out = np.full((n_persons, max(k, 1)), 10**9, np.int64)
    order = np.lexsort((ops["op_day"], ops["person"]))
    person = ops["person"][order]
    start = np.r_[0, np.flatnonzero(person[1:] != person[:-1]) + 1]
    rank = np.arange(len(person)) - np.repeat(start, np.diff(np.r_[start, len(person)]))
    out[person, rank] = ops["op_day"][order]
    return out


def primary_care(rng, world: World, persons: Frame, ops: Frame) -> Frame:
    """General-practice services per person and quarter (one cost row per quarter with
    any service, dated the 15th of the quarter's middle month), plus extra services
    (wound control, sutures) in the first quarter after each operation."""
    pc = world.params["background"]["primary_care"]
    dates = quarter_dates(world.data_start, world.data_end)
    mu = quarter_services(persons, world)
    counts = rng.poisson(mu[:, None] * np.ones((1, len(dates))))
    surgery = (ops["partner"] < 0) | (ops["partner"] > np.arange(ops.n))  # one per day of surgery
    first_after = np.searchsorted(dates, ops["op_day"], side="right")
    ok = surgery & (first_after < len(dates))
    extra = rng.poisson(pc["post_operative_extra_services"], int(ok.sum()))
    np.add.at(counts, (ops["person"][ok], first_after[ok]), extra)
    person, q = np.nonzero(counts)
    day = dates[q]
    fee = pc["fee_2016"] * rng.uniform(*pc["fee_multiplier_uniform"], len(person))
    amount = counts[person, q] * fee * world.price_index(year_of(day))
    return Frame(person=person.astype(np.int64), day=day, amount=amount)


def quarter_services(persons: Frame, world: World) -> np.ndarray:
    pc = world.params["background"]["primary_care"]
    return 3 * pc["services_per_month"] * np.exp(
        pc["comorbidity_log_rate"] * n_comorbidities_at_first(persons, world)
        + pc["age_log_rate_per_year"] * (persons["age_first"] - 70)
        + pc["anxiety_depression_log_rate"] * (persons["onset_anxiety_depression"] < persons["first_op_day"]))


def home_care(rng, world: World, persons: Frame) -> Frame:
    """Municipal home care for some persons from their 80th birthday: monthly rows."""
    hc = world.params["background"]["home_care"]
    eighty = persons["birth_day"] + int(round(hc["age_from"] * 365.25))
    gets = (eighty <= world.data_end) & (rng.random(len(eighty)) < hc["share"])
    months = np.arange(np.datetime64(f"{world.cfg.start_year}-01", "M"), np.datetime64(f"{world.cfg.end_year}-12", "M")
                       + 1).astype("datetime64[D]").astype(np.int64)
    person, mi = np.nonzero(gets[:, None] & (months[None, :] >= eighty[:, None]))
    day = months[mi]
    hours = rng.gamma(2.0, hc["hours_per_month_mean"] / 2.0, len(person))
    return Frame(person=person.astype(np.int64), day=day, amount=np.round(hours, 1) * hc["rate_2016"]
                 * world.price_index(year_of(day)))


def mean_contact_cost_2016(world: World) -> dict[str, tuple[float, float]]:
    """Expected cost per ordinary contact of each kind at 2016 prices (tariff incl. days
    beyond the trim point), and the yearly rate's unit (per person-year)."""
    b = world.params["background"]
    extra = b["inpatient_los"]["extra_days_poisson_mean"]
    out = {}
    for kind in KINDS:
        if kind == "telemedicine":
            out[kind] = (_tariff(world, "30PR01"), 0.0)
            continue
        pool = _POOLS[kind]
        w = np.array([x[-1] for x in pool])
        w = w / w.sum()
        costs = []
        for (dx, _, g, _) in pool:
            c = _tariff(world, g)
            if kind.endswith("inpatient"):
                c += excess_days_cost(world, g, 1, extra)
            if dx == "DH251":
                c = (1 - CATARACT_SHARE) * c + CATARACT_SHARE * _tariff(world, "02PR01")
            costs.append(c)
        out[kind] = (float(np.dot(w, costs)), 0.0)
    return out


def _tariff(world: World, code: str) -> float:
    return cat.TARIFFS[cat.TARIFF_INDEX[code]].tariff_2016


def excess_days_cost(world: World, drg: str, fixed_days: int, poisson_mean: float) -> float:
    """E[per_day x max(0, LOS - trim)] at 2016 prices for LOS = fixed + Poisson(mean)."""
    from scipy import stats

    t = cat.TARIFFS[cat.TARIFF_INDEX[drg]]
    if t.trim_days is None:
        return 0.0
    k = np.arange(0, 200)
    los = fixed_days + k
    return float(t.per_day_2016 * np.sum(stats.poisson.pmf(k, poisson_mean) * np.maximum(0, los - t.trim_days)))


def expected_background_cost(world: World, persons: Frame, person: np.ndarray, op_day: np.ndarray,
                             horizon: int = 365) -> np.ndarray:
    """Expected region-perspective cost (DKK, 2016 prices) of ordinary care, comorbidity
    care and primary care with a date in [op, op + horizon] (death ignored)."""
    t = world.params["background"]["thinning"]
    b = world.params["background"]
    mult = activity_multiplier(persons, world)[person]
    lo_all = op_day + t["all_kinds_days_after_operation"][1] + 1
    lo_acute = op_day + t["acute_inpatient_days_after_operation"][1] + 1
    hi = op_day + horizon
    days_all = np.maximum(hi - lo_all + 1, 0)
    days_acute = np.maximum(hi - lo_acute + 1, 0)
    costs = mean_contact_cost_2016(world)
    total = np.zeros(len(person))
    for kind in KINDS:
        rate = b["rates_per_year"][kind] * (mult if kind != "elective_inpatient" else 1.0)
        days = days_acute if kind == "acute_inpatient" else days_all
        total += rate * days / 365.25 * costs[kind][0]
    c = world.params["comorbidity"]
    kinds = c["care_contact_kind"]
    extra = b["inpatient_los"]["extra_days_poisson_mean"]
    for name in world.comorbidities:
        onset = persons[f"onset_{name}"][person]
        first = np.maximum(onset, world.data_start)
        d_all = np.maximum(hi - np.maximum(lo_all, first) + 1, 0)
        d_acute = np.maximum(hi - np.maximum(lo_acute, first) + 1, 0)
        _, dags, admission = cat.COMORBIDITY_CARE[name]
        per_day = c["care_contacts_per_year"] / 365.25
        med = c["medicine_per_visit_2016"].get(name, 0.0)
        total += per_day * d_all * (kinds["outpatient"] * (_tariff(world, dags) + med)
                                    + kinds["telemedicine"] * _tariff(world, "30PR01")
                                    + kinds["emergency"] * _tariff(world, "30PR02"))
        total += per_day * d_acute * kinds["acute_inpatient"] * (
            _tariff(world, admission) + excess_days_cost(world, admission, 1, extra))
    pc = b["primary_care"]
    dates = quarter_dates(world.data_start - 400, world.data_end + 800)
    n_dates = np.searchsorted(dates, hi, side="right") - np.searchsorted(dates, op_day, side="left")
    per_service = pc["fee_2016"] * np.mean(pc["fee_multiplier_uniform"])
    total += (n_dates * quarter_services(persons, world)[person] + pc["post_operative_extra_services"]) * per_service
    return total

