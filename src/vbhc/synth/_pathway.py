"""The operation pathway as registry rows: pre-operative visits, the index stay with its
procedures and costs, follow-up visits, complication contacts, readmissions,
reoperations and revisions, the arthroplasty-register record, municipal rehabilitation
and home care after discharge.  Days are offsets from the operation day."""

from __future__ import annotations

import numpy as np

from vbhc.synth import _catalogue as cat
from vbhc.synth._background import (
    EMERGENCY, INPATIENT, ORIGIN_PATHWAY, OUTPATIENT, TELEMEDICINE, dept_code, make_contacts, pick_public_hospital,
)
from vbhc.synth._calendar import MINUTES_PER_DAY, year_of
from vbhc.synth._frame import Frame, choice, uniform_int
from vbhc.synth._population import K_CANCER, K_ELECTIVE, K_FRACTURE, K_LATER, K_UNDER18
from vbhc.synth._world import COMPLICATION_TYPES, INDICATIONS, World

PLANNED_KINDS = (K_ELECTIVE, K_UNDER18, K_CANCER, K_LATER)


def surgery_rows(ops: Frame) -> np.ndarray:
    """One row per day of surgery (the first side of a bilateral operation)."""
    return np.flatnonzero((ops["partner"] < 0) | (ops["partner"] > np.arange(ops.n)))


def index_diagnoses(rng, world: World, ops: Frame) -> np.ndarray:
    """Primary diagnosis of each index contact from the registry indication and joint."""
    out = np.zeros(ops.n, np.int32)
    cl = world.codelists.indication_diagnoses
    for i, ind in enumerate(INDICATIONS):
        for j, joint in enumerate(("hip", "knee")):
            m = (ops["indication"] == i) & (ops["joint"] == j)
            codes = world.dx.codes(cl[ind].for_joint(joint))
            out[m] = codes[rng.integers(0, len(codes), int(m.sum()))]
    partner = ops["partner"]
    second = (partner >= 0) & (partner < np.arange(ops.n))
    out[second] = out[partner[second]]
    return out


def preop_contacts(rng, world: World, ops: Frame) -> Frame:
    """Referral visit (20-120 days before) and pre-operative assessment (3-15 days before)
    for planned operations; an emergency-room visit the evening before for fractures."""
    pv = world.params["pathway"]["preop_visits"]
    rows = surgery_rows(ops)
    planned = rows[np.isin(ops["kind"][rows], PLANNED_KINDS)]
    fracture = rows[ops["kind"][rows] == K_FRACTURE]
    parts = []
    for lo_hi, dags in ((pv["first_visit_days_before"], "08PR01"), (pv["assessment_days_before"], "08PR03")):
        m = len(planned)
        day = ops["op_day"][planned] - uniform_int(rng, lo_hi[0], lo_hi[1], m)
        hosp = ops["hospital"][planned]
        parts.append(make_contacts(rng, world, ops["person"][planned], day, np.full(m, OUTPATIENT), np.zeros(m, bool),
                                   hosp, dept_code(world, hosp, "orthopaedics"), ops["index_dx"][planned],
                                   np.full(m, world.drg.code(dags)), np.zeros(m, int), ORIGIN_PATHWAY))
    m = len(fracture)
    hosp = ops["hospital"][fracture]
    er = make_contacts(rng, world, ops["person"][fracture], ops["op_day"][fracture] - 1, np.full(m, EMERGENCY),
                       np.ones(m, bool), hosp, dept_code(world, hosp, "emergency"), ops["index_dx"][fracture],
                       np.full(m, world.drg.code("30PR02")), np.zeros(m, int), ORIGIN_PATHWAY)
    er["start"] = ops["op_day"][fracture] * MINUTES_PER_DAY - uniform_int(rng, 120, 360, m)
    er["end"] = er["start"] + uniform_int(rng, 60, 110, m)
    parts.append(er)
    return Frame.concat(parts)


def index_drg(world: World, ops: Frame) -> np.ndarray:
    """DRG group of each operation's index stay."""
    hip, knee = ops["joint"] == 0, ops["joint"] == 1
    nonelective = np.isin(ops["kind"], [K_FRACTURE, K_CANCER])
    code = np.where(hip, "08MP11", np.where(ops["partial"], "08MP13", "08MP12"))
    code = np.where(hip & nonelective, "08MP14", code)
    code = np.where(ops["partner"] >= 0, "08MP10", code)
    return world.drg.codes(code)


def implant_cost_2016(world: World, ops: Frame) -> np.ndarray:
    """Implant price per operation (both sides of a bilateral operation on its first row)."""
    prices = np.array([cat.IMPLANT_2016.get(code, 0.0) for code in world.px.values])
    own = prices[ops["proc"]]
    total = own.copy()
    has = ops["partner"] >= 0
    total[has] = own[has] + own[ops["partner"][has]]
    return total


def index_stays(rng, world: World, ops: Frame, draws: Frame) -> tuple[Frame, np.ndarray, Frame, Frame]:
    """Index contacts (one per day of surgery), the contact row of every operation, the
    B diagnoses of the stays (in-stay complications, ordinary codes) and the procedures."""
    rows = surgery_rows(ops)
    m = len(rows)
    los = draws["los"][rows]
    hosp = ops["hospital"][rows]
    drg = index_drg(world, ops)[rows]
    implant = implant_cost_2016(world, ops)[rows]
    c = make_contacts(rng, world, ops["person"][rows], ops["op_day"][rows], np.full(m, INPATIENT),
                      ops["kind"][rows] == K_FRACTURE, hosp, dept_code(world, hosp, "orthopaedics"),
                      ops["index_dx"][rows], drg, los, ORIGIN_PATHWAY,
                      np.full(m, world.params["pathway"]["index_medicine_2016"]))
    c["implant_2016"] = implant
    base = ops["op_day"][rows] * MINUTES_PER_DAY
    c["start"] = base + uniform_int(rng, 420, 540, m)
    same_day = los == 0
    c["end"] = np.where(same_day, c["start"] + uniform_int(rng, 300, 600, m),
                        (ops["op_day"][rows] + los) * MINUTES_PER_DAY + uniform_int(rng, 600, 960, m))
    contact_of_op = np.zeros(ops.n, np.int64)
    contact_of_op[rows] = np.arange(m)
    second = np.flatnonzero((ops["partner"] >= 0) & (ops["partner"] < np.arange(ops.n)))
    contact_of_op[second] = contact_of_op[ops["partner"][second]]
    # B diagnoses: an in-stay complication, and an ordinary secondary code for some
    comp_here = draws["comp"][rows] & draws["comp_in_stay"][rows]
    cx = complication_codes(rng, world, draws["comp_type"][rows], ops["joint"][rows])
    sec = rng.random(m) < 0.3
    sec_code = world.dx.codes(list(cat.BACKGROUND_SECONDARY))[rng.integers(0, len(cat.BACKGROUND_SECONDARY), m)]
    diagnoses = Frame(
        contact=np.concatenate([np.flatnonzero(comp_here), np.flatnonzero(sec)]),
        dx=np.concatenate([cx[comp_here], sec_code[sec]]).astype(np.int32),
        dtype=np.ones(int(comp_here.sum() + sec.sum()), np.int8),
    )
    procedures = Frame(
        contact=contact_of_op, px=ops["proc"].astype(np.int32), day=ops["op_day"].copy(),
        side=np.where(ops["laterality_missing"], -1, ops["side"]).astype(np.int8),
    )
    return c, contact_of_op, diagnoses, procedures


def complication_codes(rng, world: World, ctype: np.ndarray, joint: np.ndarray) -> np.ndarray:
    out = np.zeros(len(ctype), np.int32)
    for t, name in enumerate(COMPLICATION_TYPES):
        for j, jn in enumerate(("hip", "knee")):
            m = (ctype == t) & (joint == j)
            weights = cat.COMPLICATION_CODING[name][0][jn]
            out[m] = world.dx.codes(list(weights))[choice(rng, int(m.sum()), list(weights.values()))]
    return out


def local_hospital(rng, world: World, ops: Frame, persons: Frame, rows: np.ndarray) -> np.ndarray:
    """The operating hospital when public, else a public hospital of the home region."""
    hosp = ops["hospital"][rows].copy()
    private = world.hospitals.private[hosp]
    hosp[private] = pick_public_hospital(rng, persons["region"][ops["person"][rows][private]], world)
    return hosp


def followup_contacts(rng, world: World, ops: Frame, draws: Frame) -> Frame:
    """Scheduled controls after discharge: 6 weeks (X-ray), 3 months (telemedicine), 1 year."""
    f = world.params["pathway"]["followup_visits"]
    rows = surgery_rows(ops)
    parts = []
    for spec, ctype in ((f["six_weeks"], OUTPATIENT), (f["three_months_telemedicine"], TELEMEDICINE),
                        (f["one_year"], OUTPATIENT)):
        sel = rows[rng.random(len(rows)) < spec["probability"]]
        m = len(sel)
        day = ops["op_day"][sel] + np.maximum(uniform_int(rng, *spec["days"], m), draws["los"][sel] + 1)
        hosp = ops["hospital"][sel]
        parts.append(make_contacts(rng, world, ops["person"][sel], day, np.full(m, ctype), np.zeros(m, bool), hosp,
                                   dept_code(world, hosp, "orthopaedics"), np.full(m, world.dx.code("DZ478")),
                                   np.full(m, world.drg.code(spec["dags"])), np.zeros(m, int), ORIGIN_PATHWAY))
    return Frame.concat(parts)


def complication_and_readmission_contacts(rng, world: World, ops: Frame, persons: Frame, draws: Frame) -> Frame:
    """A contact for each complication after discharge (the readmission when there is one,
    else an emergency or outpatient visit) and each readmission (acute inpatient)."""
    pw = world.params["pathway"]
    rows = surgery_rows(ops)
    comp_after = draws["comp"][rows] & ~draws["comp_in_stay"][rows]
    readm = draws["readm"][rows]
    parts = []
    # complication visit without readmission
    sel = rows[comp_after & ~readm]
    m = len(sel)
    cc = pw["complication_contact"]
    er = rng.random(m) < cc["emergency_share"]
    hosp = local_hospital(rng, world, ops, persons, sel)
    ctype = np.where(er, EMERGENCY, OUTPATIENT).astype(np.int8)
    dx = complication_codes(rng, world, draws["comp_type"][sel], ops["joint"][sel])
    drg = np.where(er, world.drg.code(cc["emergency_dags"]), world.drg.code(cc["outpatient_dags"]))
    dept = np.where(er, list(cat.DEPARTMENTS).index("emergency"), list(cat.DEPARTMENTS).index("orthopaedics"))
    parts.append(make_contacts(rng, world, ops["person"][sel], ops["op_day"][sel] + draws["comp_day"][sel], ctype, er,
                               hosp, dept_code(world, hosp, dept), dx, drg, np.zeros(m, int), ORIGIN_PATHWAY))
    # readmissions
    sel = rows[readm]
    m = len(sel)
    with_comp = comp_after[readm]
    hosp = local_hospital(rng, world, ops, persons, sel)
    cx = complication_codes(rng, world, draws["comp_type"][sel], ops["joint"][sel])
    gen = choice(rng, m, [w for *_, w in cat.GENERIC_READMISSIONS])
    gen_dx = world.dx.codes([d for d, _, _ in cat.GENERIC_READMISSIONS])[gen]
    gen_drg = world.drg.codes([g for _, g, _ in cat.GENERIC_READMISSIONS])[gen]
    comp_drg = world.drg.codes([cat.COMPLICATION_CODING[t][1] for t in COMPLICATION_TYPES])[draws["comp_type"][sel]]
    dx = np.where(with_comp, cx, gen_dx)
    drg = np.where(with_comp, comp_drg, gen_drg)
    infection = with_comp & (draws["comp_type"][sel] == COMPLICATION_TYPES.index("infection"))
    medicine = np.where(infection, pw["infection_medicine_2016"], 0.0)
    los = 1 + rng.poisson(pw["readmission_los"]["extra_days_poisson_mean"], m)
    dept = np.where(with_comp, list(cat.DEPARTMENTS).index("orthopaedics"), list(cat.DEPARTMENTS).index("medicine"))
    c = make_contacts(rng, world, ops["person"][sel], ops["op_day"][sel] + draws["readm_day"][sel],
                      np.full(m, INPATIENT), np.ones(m, bool), hosp, dept_code(world, hosp, dept), dx, drg, los,
                      ORIGIN_PATHWAY, medicine)
    day = ops["op_day"][sel] + draws["readm_day"][sel]
    c["start"] = day * MINUTES_PER_DAY + uniform_int(rng, 480, 1320, m)  # next day or later, after 08:00
    c["end"] = np.maximum(c["end"], c["start"] + 120)
    parts.append(c)
    return Frame.concat(parts)


def reoperation_contacts(rng, world: World, ops: Frame, persons: Frame, draws: Frame) -> tuple[Frame, Frame]:
    """Reoperations and revisions of the same joint and side: an inpatient contact with the
    procedure code.  Early ones (within 90 days of discharge) are planned (not acute)."""
    r = world.params["pathway"]["reoperation"]
    sel = np.flatnonzero(draws["reop"])
    m = len(sel)
    hosp = local_hospital(rng, world, ops, persons, sel)
    early = draws["reop_early"][sel]
    revision = draws["reop_revision"][sel]
    acute = ~early & (rng.random(m) < 0.4)
    joint = ops["joint"][sel]
    comp_code = complication_codes(rng, world, draws["comp_type"][sel], joint)
    late_dx = world.dx.codes(["DT840", "DT845"])[(rng.random(m) < 0.3).astype(int)]
    early_dx = np.where(draws["comp"][sel], comp_code, world.dx.code("DZ966"))
    dx = np.where(early, early_dx, late_dx)
    drg = np.where(revision, world.drg.code("08MP07"), world.drg.code("08MP08"))
    los = 1 + rng.poisson(np.where(revision, r["los_extra_days_poisson_mean"]["revision"],
                                   r["los_extra_days_poisson_mean"]["other"]))
    day = ops["op_day"][sel] + draws["reop_day"][sel]
    c = make_contacts(rng, world, ops["person"][sel], day, np.full(m, INPATIENT), acute, hosp,
                      dept_code(world, hosp, "orthopaedics"), dx, drg, los, ORIGIN_PATHWAY)
    c["implant_2016"] = np.where(revision, cat.REVISION_IMPLANT_2016, 0.0)
    px = np.zeros(m, np.int32)
    for j, jn in enumerate(("hip", "knee")):
        for is_rev, codes in ((True, cat.REVISION_CODES[jn]), (False, cat.OTHER_REOPERATION_CODES[jn])):
            mm = (joint == j) & (revision == is_rev)
            px[mm] = world.px.codes(list(codes))[rng.integers(0, len(codes), int(mm.sum()))]
    procedures = Frame(contact=np.arange(m), px=px, day=day, side=ops["side"][sel].astype(np.int8))
    return c, procedures


def registry_rows(world: World, ops: Frame) -> Frame:
    """One arthroplasty-register record per operation (not for 'registry missing')."""
    sel = np.flatnonzero(ops["registry_status"] != 2)
    o = ops.take(sel)
    return Frame(
        op=sel, person=o["person"], day=o["op_day"].copy(), joint=o["joint"], side=o["side"],
        revision=o["registry_status"] == 1, hospital=o["hospital"],
        asa=np.where(o["missing_asa_class"], -1, o["asa"]), bmi=np.where(o["missing_bmi"], np.nan, o["bmi"]),
        smoking=np.where(o["missing_smoking"], -1, o["smoking"]),
        alcohol=np.where(o["missing_alcohol_units_week"], np.nan, o["alcohol"]), indication=o["indication"],
    )


def rehabilitation_and_home_care(rng, world: World, ops: Frame, draws: Frame) -> Frame:
    """Municipal physiotherapy sessions (weekly after discharge) and, for the elderly, home
    care for 2-8 weeks: person-level society costs (no contact)."""
    pw = world.params["pathway"]
    rows = surgery_rows(ops)
    dis_day = ops["op_day"][rows] + draws["los"][rows]
    mean = np.where(ops["joint"][rows] == 0, pw["rehabilitation"]["sessions_poisson_mean"]["hip"],
                    pw["rehabilitation"]["sessions_poisson_mean"]["knee"])
    n_sessions = rng.poisson(mean)
    r = np.repeat(np.arange(len(rows)), n_sessions)
    k = np.arange(len(r)) - np.repeat(np.cumsum(n_sessions) - n_sessions, n_sessions)
    day = dis_day[r] + 7 * (k + 1) + rng.integers(0, 5, len(r))
    rehab = Frame(person=ops["person"][rows][r], day=day,
                  amount=pw["rehabilitation"]["rate_2016"] * world.price_index(year_of(day)),
                  category=np.full(len(r), 5, np.int8))
    hc = pw["post_operative_home_care"]
    gets = (ops["age"][rows] >= hc["age_from"]) & (rng.random(len(rows)) < hc["share"])
    weeks = np.where(gets, rng.integers(hc["weeks"][0], hc["weeks"][1] + 1, len(rows)), 0)
    r = np.repeat(np.arange(len(rows)), weeks)
    k = np.arange(len(r)) - np.repeat(np.cumsum(weeks) - weeks, weeks)
    day = dis_day[r] + 1 + 7 * k
    hours = 1 + rng.poisson(hc["hours_per_week_mean"], len(r))
    home = Frame(person=ops["person"][rows][r], day=day,
                 amount=hours * world.params["background"]["home_care"]["rate_2016"] * world.price_index(year_of(day)),
                 category=np.full(len(r), 6, np.int8))
    return Frame.concat([rehab, home])


def contact_costs(world: World, contacts: Frame) -> Frame:
    """Cost rows of hospital contacts: the DRG (inpatient) or DAGS tariff of the contact's
    year (with the per-day payment beyond the trim point), implants and medicine."""
    day = contacts["start"] // MINUTES_PER_DAY
    year = year_of(day)
    tariff, per_day = world.tariff_nominal(contacts["drg"], year)
    los = contacts["end"] // MINUTES_PER_DAY - day
    inpatient = contacts["ctype"] == INPATIENT
    excess = np.where(inpatient, np.maximum(0, los - world.trim_days()[contacts["drg"]]), 0)
    n = contacts.n
    rows = np.arange(n)
    parts = [Frame(contact=rows, category=np.where(inpatient, 0, 1).astype(np.int8), amount=tariff + per_day * excess,
                   drg=contacts["drg"].copy())]
    idx = world.price_index(year)
    for col, category in (("implant_2016", 2), ("medicine_2016", 3)):
        sel = np.flatnonzero(contacts[col] > 0)
        parts.append(Frame(contact=sel, category=np.full(len(sel), category, np.int8),
                           amount=np.round(contacts[col][sel] * idx[sel], 2), drg=np.full(len(sel), -1, np.int32)))
    out = Frame.concat(parts)
    out["person"] = contacts["person"][out["contact"]]
    out["day"] = day[out["contact"]]
    return out
