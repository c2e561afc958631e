"""PROM questionnaires before and 3 and 12 months after planned operations.

Each questionnaire package (Oxford Hip or Knee Score, EQ-5D-5L, EQ-VAS, pain NRS and,
before and at 12 months, work status) is generated from one latent Oxford score per
time point: the 12 Oxford items sum exactly to the rounded, censored latent score; the
EQ-5D dimensions, EQ-VAS and pain follow the same latent with their own noise.  Whether
the package is returned depends on that latent (worse patients answer less: missing
not at random); single items are left unanswered at random.
"""

from __future__ import annotations

import numpy as np

from vbhc.proms import EQ5D_DIMENSIONS, OHS_ITEMS, OKS_ITEMS, eq5d_index, oxford_score
from vbhc.synth._calendar import year_of
from vbhc.synth._frame import Frame, logistic, logit, uniform_int
from vbhc.synth._world import World

OXFORD_MAX = 48
EQ5D_VALUE_SET = "dk_5l"  # the episode definitions' default value set (Jensen et al. 2021)
# Item "difficulty" (who scores higher on which item at the same total); kneeling and
# stairs are hard for knee patients, washing and transport easier.
_DIFFICULTY = {
    "OHS": dict(zip(OHS_ITEMS, (-0.3, 0.0, 0.2, -0.2, 0.0, -0.2, 0.1, 0.2, 0.2, 0.4, 0.1, -0.1))),
    "OKS": dict(zip(OKS_ITEMS, (-0.3, 0.4, 0.2, 0.0, 0.1, -0.2, -0.8, 0.0, -0.1, 0.2, 0.1, -0.3))),
}


def eq5d_decrements(value_set: str = EQ5D_VALUE_SET) -> dict[str, np.ndarray]:
    """Decrement of each dimension level (level 1 = 0) under an additive value set, read
    from vbhc.proms (the single scorer of EQ-5D in vbhc)."""
    out = {}
    for i, d in enumerate(EQ5D_DIMENSIONS):
        states = np.ones((5, 5), int)
        states[:, i] = np.arange(1, 6)
        out[d] = eq5d_index(states, value_set) - 1.0
    return out


def oxford_items(rng: np.random.Generator, total: np.ndarray, instrument: np.ndarray) -> np.ndarray:
    """(n, 12) item answers 0-4 that sum exactly to ``total`` (0-48).

    48 units (12 items x 4 levels) get priorities d_i - 0.9 k + 0.6 N(0, 1); the
    ``total`` highest are switched on and each item's answer is its number of units on.
    """
    n = len(total)
    d = np.where((instrument == "OHS")[:, None], np.array(list(_DIFFICULTY["OHS"].values()))[None, :],
                 np.array(list(_DIFFICULTY["OKS"].values()))[None, :])
    prio = d[:, :, None] - 0.9 * np.arange(4)[None, None, :] + 0.6 * rng.standard_normal((n, 12, 4))
    ranks = np.argsort(np.argsort(-prio.reshape(n, 48), axis=1), axis=1)
    return (ranks < total[:, None]).reshape(n, 12, 4).sum(axis=2)


def eq5d_levels(rng: np.random.Generator, world: World, latent: np.ndarray, anxiety: np.ndarray,
                age: np.ndarray) -> np.ndarray:
    """(n, 5) EQ-5D-5L levels: L_d = a_d (Y - 24)/10 + extra_d + u_d, level = 1 + #(L_d < tau)."""
    e = world.params["proms"]["eq5d"]
    out = np.zeros((len(latent), 5), int)
    for i, d in enumerate(EQ5D_DIMENSIONS):
        L = e["a"][d] * (latent - 24.0) / 10.0 + eq5d_extra(world, d, anxiety, age) + rng.standard_normal(len(latent))
        out[:, i] = 1 + (L[:, None] < np.array(e["tau"][d])[None, :]).sum(axis=1)
    return out


def eq5d_extra(world: World, dimension: str, anxiety: np.ndarray, age: np.ndarray) -> np.ndarray | float:
    e = world.params["proms"]["eq5d"]
    if dimension == "AD":
        return e["anxiety_depression_on_AD"] * anxiety
    if dimension == "MO":
        return e["age_c_on_MO"] * (age - 65) / 10
    return 0.0


def questionnaires(rng: np.random.Generator, world: World, rows: np.ndarray, ops: Frame, ep: dict,
                   latent: np.ndarray, timepoint: str, prev_responded: np.ndarray, death_day: np.ndarray,
                   work_status: np.ndarray | None) -> tuple[Frame, dict[str, np.ndarray]]:
    """One package per row of ``rows`` (operations) at ``timepoint`` (pre, 3m, 12m).

    Returns the answered items (long, one row per item) and the realised truth: the
    score per the episode definitions from the answers as given when the package is
    returned and scorable, else from all answers (null after death).
    """
    pr = world.params["proms"]
    n = len(rows)
    op_day = ops["op_day"][rows]
    joint = ops["joint"][rows]
    if timepoint == "pre":
        lo, hi = pr["days"]["pre"]
        day = op_day + uniform_int(rng, lo, hi, n)
    else:
        mean, sd, lo, hi = pr["days"][timepoint]
        day = op_day + np.clip(mean + np.rint(rng.normal(0, sd, n)).astype(np.int64), lo, hi)
    alive = day <= death_day[ops["person"][rows]]
    anx = ep["anxiety_depression"][rows].astype(float)
    age = ep["age"][rows]
    total = np.clip(np.rint(latent), 0, OXFORD_MAX).astype(int)
    instrument = np.where(joint == 0, "OHS", "OKS")
    items = oxford_items(rng, total, instrument).astype(float)
    levels = eq5d_levels(rng, world, latent, anx, age)
    v = pr["eqvas"]
    vas = np.clip(np.rint(v["intercept"] + v["per_10_latent_points"] * (latent - 24) / 10 + v["sd"]
                          * rng.standard_normal(n) + v["anxiety_depression"] * anx + v["age_c"] * (age - 65) / 10), 0, 100)
    pn = pr["pain_nrs"]
    pain = np.clip(np.rint(pn["intercept"] + pn["per_10_latent_points"] * (latent - 24) / 10
                           + pn["sd"] * rng.standard_normal(n)), 0, 10)
    r = pr["response"]
    eta = (r["intercept"][timepoint] + r["latent_per_10_points"] * (latent - 30) / 10
           + r["age_60_79"] * ((age >= 60) & (age < 80)) + r["anxiety_depression"] * anx
           + r["smoking_current"] * (ep["smoking"][rows] == "current") + r["responded_before"] * prev_responded)
    responded = (rng.random(n) < logistic(eta)) & alive & (day <= world.data_end) & (day >= world.data_start)
    miss = pr["missing_item_probability"]
    ox_missing = rng.random((n, 12)) < miss["oxford"]
    eq_missing = rng.random((n, 5)) < miss["eq5d"]
    single_missing = rng.random((n, 3)) < miss["single"]

    full_ox = np.where(instrument == "OHS", oxford_score(items, instrument="OHS"),
                       oxford_score(items, instrument="OKS"))
    given = np.where(ox_missing, np.nan, items)
    given_ox = np.where(instrument == "OHS", oxford_score(given, instrument="OHS"),
                        oxford_score(given, instrument="OKS"))
    ox_scorable = responded & ~np.isnan(given_ox)
    truth = {
        "day": day,
        "responded": responded,
        "oxford": np.where(ox_scorable, given_ox, full_ox),
        "oxford_recorded": ox_scorable,
        "eq5d": eq5d_index(levels, EQ5D_VALUE_SET),
        "eq5d_recorded": responded & ~eq_missing.any(axis=1),
        "levels": levels,
        "eqvas": vas,
        "eqvas_recorded": responded & ~single_missing[:, 0],
        "pain": pain,
        "pain_recorded": responded & ~single_missing[:, 1],
    }
    if timepoint != "pre":
        for k in ("oxford", "eq5d", "eqvas", "pain"):
            truth[k] = np.where(alive, truth[k], np.nan)
    holes, long = _long_rows(rng, world, rows, ops, responded, day, instrument, given, levels, eq_missing, vas, pain,
                             single_missing, work_status, age)
    truth["holes"] = holes
    return long, truth


def _long_rows(rng, world, rows, ops, responded, day, instrument, given, levels, eq_missing, vas, pain,
               single_missing, work_status, age) -> tuple[Frame, Frame]:
    """Answered items of returned packages (instrument code, item name, answer), and the
    unanswered Oxford items of returned packages."""
    sel = np.flatnonzero(responded)
    web_p = _web_share(world, day[sel], age[sel])
    mode = (rng.random(len(sel)) >= web_p).astype(np.int8)  # 0 web, 1 paper
    parts = []
    names_ohs = np.array(OHS_ITEMS, dtype=object)
    names_oks = np.array(OKS_ITEMS, dtype=object)
    inst_code = np.where(instrument[sel] == "OHS", 2, 3)
    item_names = np.where((inst_code == 2)[:, None], names_ohs[None, :], names_oks[None, :])
    q, i = np.nonzero(~np.isnan(given[sel]))
    parts.append((q, inst_code[q], item_names[q, i], given[sel][q, i]))
    q, i = np.nonzero(~eq_missing[sel])
    parts.append((q, np.zeros(len(q), int), np.array(EQ5D_DIMENSIONS, dtype=object)[i], levels[sel][q, i]))
    q = np.flatnonzero(~single_missing[sel, 0])
    parts.append((q, np.ones(len(q), int), np.full(len(q), "VAS", dtype=object), vas[sel][q]))
    q = np.flatnonzero(~single_missing[sel, 1])
    parts.append((q, np.full(len(q), 4), np.full(len(q), "PAIN", dtype=object), pain[sel][q]))
    if work_status is not None:
        q = np.flatnonzero(~single_missing[sel, 2])
        parts.append((q, np.full(len(q), 5), np.full(len(q), "STATUS", dtype=object), work_status[sel][q]))
    q, i = np.nonzero(np.isnan(given[sel]))
    holes = Frame(op=rows[sel][q], package=sel[q], instrument=inst_code[q].astype(np.int8), item=item_names[q, i])
    q = np.concatenate([p[0] for p in parts])
    return holes, Frame(
        op=rows[sel][q], person=ops["person"][rows][sel][q], joint=ops["joint"][rows][sel][q],
        instrument=np.concatenate([p[1] for p in parts]).astype(np.int8),
        item=np.concatenate([p[2] for p in parts]), answer=np.concatenate([p[3] for p in parts]).astype(float),
        day=day[sel][q], mode=mode[q], package=sel[q],
    )


def _web_share(world: World, day: np.ndarray, age: np.ndarray) -> np.ndarray:
    w = world.params["proms"]["web_share"]
    t = np.clip((year_of(day) - 2010) / 10.0, 0, 1)
    share = logit(w["2010"]) * (1 - t) + logit(w["2020"]) * t
    return logistic(share + w["age_slope_per_decade"] * (age - 68) / 10 * 4)
