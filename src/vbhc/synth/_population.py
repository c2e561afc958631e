"""Persons and their operations: who is operated, when, on which joint and side, where,
with what registry case-mix (BMI, ASA, smoking, alcohol, indication) and which true
comorbidities (with onset dates).  Also the operations the episode builder must exclude
(acute fractures, cancer, under 18, missing or revision registry records, missing
laterality, a later primary code on an already operated side)."""

from __future__ import annotations

import numpy as np

from vbhc.synth import _catalogue as cat
from vbhc.synth._calendar import year_start
from vbhc.synth._frame import Frame, choice, choice_rows, logistic, logit, uniform_int
from vbhc.synth._world import INDICATIONS, KINDS, World

K_ELECTIVE, K_FRACTURE, K_CANCER, K_UNDER18, K_LATER = range(5)
LAST_OPERATION_MARGIN_DAYS = 31  # no operation in the last month: its stay would run past the extract


def draw_population(rng: np.random.Generator, n: int, world: World) -> tuple[Frame, Frame]:
    """Persons (one row each) and operations (one row per joint side operated)."""
    p = world.params["population"]
    last_op = world.data_end - LAST_OPERATION_MARGIN_DAYS

    kind = choice(rng, n, list(p["first_operation_kind"].values())).astype(np.int8)
    kind_names = list(p["first_operation_kind"])
    kind = np.array([KINDS.index(kind_names[k]) for k in range(len(kind_names))], dtype=np.int8)[kind]
    joint = np.where(kind == K_FRACTURE, rng.random(n) < 0.05, rng.random(n) >= p["hip_share"]).astype(np.int8)
    op_day = _operation_days(rng, n, world, last_op)

    female_p = np.where(joint == 0, p["female_share"]["hip"], p["female_share"]["knee"])
    female_p = np.where(kind == K_FRACTURE, p["female_share"]["acute_fracture"], female_p)
    female = rng.random(n) < female_p
    age = _ages(rng, kind, joint, p)
    birth_day = op_day - np.round(age * 365.25).astype(np.int64)
    region, municipality = _residence(rng, n)
    bmi_true = np.clip(
        np.where(joint == 0, rng.normal(*p["bmi"]["hip"], n), rng.normal(*p["bmi"]["knee"], n)), *p["bmi"]["clip"])

    indication = _indications(rng, joint, kind, p)
    comorb, onset = _comorbidities(rng, world, age, female, bmi_true, indication, kind, op_day)
    persons = Frame(
        female=female, birth_day=birth_day, region=region, municipality=municipality,
        first_op_day=op_day, first_kind=kind, age_first=age,
    )
    for i, name in enumerate(world.comorbidities):
        persons[f"has_{name}"] = comorb[:, i]
        persons[f"onset_{name}"] = onset[:, i]

    first = Frame(
        person=np.arange(n), seq=np.ones(n, np.int8), joint=joint, op_day=op_day, kind=kind,
        indication=indication, bmi=bmi_true,
    )
    ops = _add_later_operations(rng, world, first, persons, last_op)
    ops = _operation_details(rng, world, ops, persons)
    order = np.lexsort((ops["side"], ops["op_day"], ops["person"]))
    ops = ops.take(order)
    ops["op"] = np.arange(ops.n)
    ops["partner"] = _partners(ops)
    align_bilateral(ops)
    return persons, ops


def _operation_days(rng: np.random.Generator, n: int, world: World, last_op: int) -> np.ndarray:
    years = np.arange(world.cfg.start_year, world.cfg.end_year + 1)
    g = world.params["population"]["yearly_volume_growth"]
    w = (1 + g) ** (years - years[0]) * (np.minimum(year_start(years + 1) - 1, last_op) - year_start(years) + 1)
    y = years[choice(rng, n, w)]
    lo = year_start(y)
    hi = np.minimum(year_start(y + 1) - 1, last_op)
    return uniform_int(rng, lo, hi)


def _ages(rng: np.random.Generator, kind: np.ndarray, joint: np.ndarray, p: dict) -> np.ndarray:
    n = len(kind)
    a = p["age"]
    age = np.where(joint == 0, rng.normal(*a["hip"], n), rng.normal(*a["knee"], n))
    age = np.where(kind == K_FRACTURE, rng.normal(*a["acute_fracture"], n), age)
    age = np.where(kind == K_CANCER, rng.normal(*a["cancer"], n), age)
    age = np.clip(age, *a["clip"])
    return np.where(kind == K_UNDER18, rng.uniform(14.0, 17.9, n), age)


def _residence(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    codes = np.array(list(cat.MUNICIPALITIES))
    regions = np.array([cat.MUNICIPALITIES[c][0] for c in codes])
    weights = np.array([cat.MUNICIPALITIES[c][1] for c in codes])
    m = codes[choice(rng, n, weights)]
    return regions[np.searchsorted(codes, m)], m


def _indications(rng: np.random.Generator, joint: np.ndarray, kind: np.ndarray, p: dict) -> np.ndarray:
    n = len(joint)
    names = list(p["indication"]["hip"])
    hip = choice(rng, n, [p["indication"]["hip"][k] for k in names])
    knee = choice(rng, n, [p["indication"]["knee"][k] for k in names])
    ind = np.array([INDICATIONS.index(k) for k in names], dtype=np.int8)[np.where(joint == 0, hip, knee)]
    ind = np.where(kind == K_FRACTURE, INDICATIONS.index("acute_fracture"), ind)
    return np.where(kind == K_CANCER, INDICATIONS.index("cancer"), ind).astype(np.int8)


def _comorbidities(rng, world: World, age, female, bmi, indication, kind, op_day):
    """True comorbidity flags (ever in the data window) and their onset days."""
    c = world.params["comorbidity"]
    names = world.comorbidities
    n, k = len(age), len(names)
    lo, hi = c["onset_days_relative_to_first_operation"]
    has = np.zeros((n, k), dtype=bool)
    onset = op_day[:, None] + uniform_int(rng, lo, hi, (n, k))
    for j, name in enumerate(names):
        eta = logit(c["prevalence"][name]) + c["age_log_odds_per_decade"] * (age - 70) / 10
        if name == "anxiety_depression":
            eta = (logit(c["prevalence"][name]) + c["anxiety_depression_female_log_odds"] * (female - 0.57)
                   + c["anxiety_depression_age_log_odds_per_decade"] * (age - 68) / 10)
        if name in ("diabetes", "diabetes_complicated"):
            eta = eta + c["diabetes_bmi_log_odds_per_5"] * (bmi - 30) / 5
        has[:, j] = rng.random(n) < logistic(eta)
    rheum = names.index("rheumatic")
    ra = indication == INDICATIONS.index("rheumatoid_arthritis")
    has[ra, rheum] = True
    onset[ra, rheum] = op_day[ra] - uniform_int(rng, 400, 2900, int(ra.sum()))
    meta = names.index("metastatic")
    ca = kind == K_CANCER
    has[ca, meta] = True
    onset[ca, meta] = op_day[ca] - uniform_int(rng, 30, 700, int(ca.sum()))
    for h in world.codelists.charlson.hierarchy:  # never both: the look-back flags stay unambiguous
        keep, drop = names.index(h.keep), names.index(h.drop)
        has[has[:, keep], drop] = False
    onset = np.where(has, onset, np.iinfo(np.int64).max // 4)
    return has, onset


def comorbidities_at(persons: Frame, world: World, person: np.ndarray, day: np.ndarray) -> np.ndarray:
    """(n, k) flags: comorbidity present (onset before ``day``) for each row."""
    return np.column_stack([persons[f"onset_{name}"][person] < day for name in world.comorbidities])


def _add_later_operations(rng, world: World, first: Frame, persons: Frame, last_op: int) -> Frame:
    p = world.params["population"]
    n = first.n
    elective = first["kind"] == K_ELECTIVE
    # bilateral same day (same joint, other side)
    bilateral = elective & (rng.random(n) < p["bilateral_same_day"])
    # a second operation: the other side of the same joint or the other joint, >= 540 days later
    s = p["second_operation"]
    second = elective & ~bilateral & (rng.random(n) < s["probability"])
    gap = s["min_gap_days"] + np.floor(rng.gamma(s["gap_gamma_shape"], s["gap_gamma_scale_days"], n)).astype(np.int64)
    second &= first["op_day"] + gap <= last_op
    same_joint = rng.random(n) < s["same_joint_other_side"]
    # a later primary code on the already operated side (coding pattern the builder excludes)
    later = elective & ~bilateral & (rng.random(n) < p["elective_quirks"]["later_primary_code_same_side"])
    later_day = first["op_day"] + uniform_int(rng, 400, 1500, n)
    later &= later_day <= last_op
    later &= ~second | (np.abs(later_day - (first["op_day"] + gap)) > 60)

    side = (rng.random(n) < p["right_side_share"]).astype(np.int8)
    first["side"] = side
    first["bilateral"] = bilateral
    parts = [first]
    b = np.flatnonzero(bilateral)
    parts.append(Frame(person=b, seq=np.ones(len(b), np.int8), joint=first["joint"][b], op_day=first["op_day"][b],
                       kind=first["kind"][b], indication=first["indication"][b], bmi=first["bmi"][b],
                       side=1 - side[b], bilateral=np.ones(len(b), bool)))
    s2 = np.flatnonzero(second)
    joint2 = np.where(same_joint[s2], first["joint"][s2], 1 - first["joint"][s2]).astype(np.int8)
    side2 = np.where(same_joint[s2], 1 - side[s2], (rng.random(len(s2)) < p["right_side_share"])).astype(np.int8)
    parts.append(Frame(person=s2, seq=np.full(len(s2), 2, np.int8), joint=joint2, op_day=first["op_day"][s2] + gap[s2],
                       kind=np.zeros(len(s2), np.int8), indication=np.full(len(s2), -1, np.int8),
                       bmi=np.clip(first["bmi"][s2] + rng.normal(0, 1.0, len(s2)), *p["bmi"]["clip"]),
                       side=side2, bilateral=np.zeros(len(s2), bool)))
    q = np.flatnonzero(later)
    parts.append(Frame(person=q, seq=np.full(len(q), 3, np.int8), joint=first["joint"][q], op_day=later_day[q],
                       kind=np.full(len(q), K_LATER, np.int8), indication=first["indication"][q],
                       bmi=first["bmi"][q], side=side[q], bilateral=np.zeros(len(q), bool)))
    return Frame.concat(parts)


def _operation_details(rng, world: World, ops: Frame, persons: Frame) -> Frame:
    """Indication of later operations, arthroplasty type and code, registry case-mix,
    registry status, laterality quirks and the operating hospital."""
    p = world.params["population"]
    n = ops.n
    person = ops["person"]
    age = (ops["op_day"] - persons["birth_day"][person]) / 365.25
    ops["age"] = age
    # indication of second operations: drawn afresh, rheumatoid arthritis stays
    fresh = _indications(rng, ops["joint"], np.zeros(n, np.int8), p)
    first_ind = np.full(len(persons["female"]), -1, np.int8)
    first_ind[ops["person"][ops["seq"] == 1]] = ops["indication"][ops["seq"] == 1]
    ra = INDICATIONS.index("rheumatoid_arthritis")
    fresh = np.where(first_ind[person] == ra, ra, fresh)
    ops["indication"] = np.where(ops["indication"] < 0, fresh, ops["indication"]).astype(np.int8)

    # arthroplasty type and procedure code
    partial_p = np.where(ops["joint"] == 0, p["partial_share"]["hip"], p["partial_share"]["knee"])
    partial = rng.random(n) < partial_p
    partial[ops["kind"] == K_LATER] = False
    proc = np.zeros(n, np.int32)
    for (joint, atype), mix in cat.PROCEDURE_MIX.items():
        m = (ops["joint"] == (joint == "knee")) & (partial == (atype == "partial"))
        codes = world.px.codes(list(mix))
        proc[m] = codes[choice(rng, int(m.sum()), list(mix.values()))]
    frac = (ops["kind"] == K_FRACTURE) | ((ops["kind"] == K_CANCER) & (ops["joint"] == 0))
    fcodes = world.px.codes(list(cat.FRACTURE_PROCEDURE_MIX))
    proc[frac] = fcodes[choice(rng, int(frac.sum()), list(cat.FRACTURE_PROCEDURE_MIX.values()))]
    partial[frac] = np.isin(proc[frac], world.px.codes(["KNFB01", "KNFB02"]))
    ops["partial"] = partial
    ops["proc"] = proc

    # registry case-mix (true values; missing ones are blanked only in the raw registry)
    comorb = comorbidities_at(persons, world, person, ops["op_day"])
    charlson_like = comorb[:, :-1].sum(axis=1)
    anx = comorb[:, -1]
    ops["bmi"] = np.round(ops["bmi"], 1)
    a = p["asa"]
    latent = (a["coefficients"]["age_c"] * (age - 65) / 10 + a["coefficients"]["bmi_c"] * (ops["bmi"] - 30) / 5
              + a["coefficients"]["comorbidities"] * charlson_like + a["coefficients"]["anxiety_depression"] * anx
              + rng.logistic(size=n))
    ops["asa"] = (1 + (latent[:, None] > np.array(a["cutpoints"])[None, :]).sum(axis=1)).astype(np.int8)
    sm = p["smoking"]
    p_cur = logistic(logit(sm["current"]) + p["smoking_current_age_slope"] * (age - 68) / 10)
    u = rng.random(n)
    ops["smoking"] = np.where(u < p_cur, 2, np.where(u < p_cur + sm["former"], 1, 0)).astype(np.int8)
    al = p["alcohol"]
    median = np.where(persons["female"][person], al["lognormal_median"]["F"], al["lognormal_median"]["M"])
    drinks = np.round(np.minimum(median * np.exp(al["lognormal_sigma"] * rng.standard_normal(n)), 60.0))
    ops["alcohol"] = np.where(rng.random(n) < al["zero_share"], 0.0, drinks)
    # later operations of one person keep the first operation's lifestyle
    first_row = np.full(len(persons["female"]), -1)
    first_row[person[ops["seq"] == 1]] = np.flatnonzero(ops["seq"] == 1)
    later = ops["seq"] > 1
    fr = first_row[person[later]]
    ops["alcohol"][later] = ops["alcohol"][fr]
    quit = rng.random(n) < 0.2
    ops["smoking"][later] = np.where((ops["smoking"][fr] == 2) & quit[later], 1, ops["smoking"][fr])
    missing = p["registry_missing_value"]
    for col in ("bmi", "asa_class", "smoking", "alcohol_units_week"):
        ops[f"missing_{col}"] = rng.random(n) < missing[col]

    # registry status and laterality quirks (elective operations only)
    q = p["elective_quirks"]
    u = rng.random(n)
    elective = ops["kind"] == K_ELECTIVE
    status = np.zeros(n, np.int8)
    status[elective & (u < q["registry_missing"])] = 2
    revision = elective & (ops["seq"] == 1) & ~ops["bilateral"] & (u >= q["registry_missing"]) & (
        u < q["registry_missing"] + q["registry_says_revision"])
    status[revision] = 1
    ops["registry_status"] = status
    lat_u = rng.random(n)
    has_later = np.zeros(len(persons["female"]), bool)
    has_later[person[ops["kind"] == K_LATER]] = True  # its first side must keep its laterality
    ops["laterality_missing"] = (elective & ~ops["bilateral"] & (status == 0) & (lat_u < q["laterality_missing"])
                                 & ~has_later[person])

    ops["hospital"] = _hospitals(rng, world, ops, persons)
    return ops


def _hospitals(rng, world: World, ops: Frame, persons: Frame) -> np.ndarray:
    """Operating hospital: mostly public hospitals of the home region weighted by volume;
    elective patients under 80 with ASA 1-2 also choose private hospitals (free choice)."""
    h = world.hospitals
    region = persons["region"][ops["person"]]
    regions = np.array(sorted(cat.REGIONS))
    same = h.region[None, :] == regions[:, None]
    public_w = np.where(same, 1.0, 0.04) * h.weight[None, :] * ~h.private[None, :]
    private_w = np.where(same, 0.6, 0.15) * h.weight[None, :] * h.private[None, :]
    r = np.searchsorted(regions, region)
    eligible = (ops["kind"] == K_ELECTIVE) & (ops["age"] < 80) & (ops["asa"] <= 2)
    w = public_w[r] + np.where(eligible[:, None], 1.0, 0.05) * private_w[r]
    acute = ops["kind"] == K_FRACTURE
    w[acute] = (same * h.weight[None, :] * ~h.private[None, :])[r[acute]]
    hosp = choice_rows(rng, w)
    # second operations mostly at the first operation's hospital
    first_row = np.full(len(persons["female"]), -1)
    first_row[ops["person"][ops["seq"] == 1]] = np.flatnonzero(ops["seq"] == 1)
    stay = (ops["seq"] > 1) & ((rng.random(ops.n) < 0.8) | (ops["kind"] == K_LATER))
    hosp[stay] = hosp[first_row[ops["person"][stay]]]
    return hosp.astype(np.int16)


def _partners(ops: Frame) -> np.ndarray:
    """Row of the other side of a bilateral same-day operation (-1 if none)."""
    partner = np.full(ops.n, -1, np.int64)
    same = (ops["person"][1:] == ops["person"][:-1]) & (ops["op_day"][1:] == ops["op_day"][:-1]) & (
        ops["joint"][1:] == ops["joint"][:-1])
    i = np.flatnonzero(same)
    partner[i] = i + 1
    partner[i + 1] = i
    return partner


def align_bilateral(ops: Frame) -> None:
    """The second side of a bilateral operation copies the first side's case-mix, type,
    procedure, hospital and registry status (one patient, one day, one stay)."""
    second = np.flatnonzero((ops["partner"] >= 0) & (ops["partner"] < np.arange(ops.n)))
    first = ops["partner"][second]
    for col in ("indication", "partial", "proc", "bmi", "asa", "smoking", "alcohol", "hospital", "registry_status",
                "missing_bmi", "missing_asa_class", "missing_smoking", "missing_alcohol_units_week", "age"):
        ops[col][second] = ops[col][first]
