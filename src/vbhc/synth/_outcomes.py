"""Outcome draws from the true models, and their exact expected values.

Each outcome has a GLM in the episode-table features (``_params.design_matrix``) plus
the hospital's additive effect on the linear predictor.  The random parts of the
outcomes of one operation are tied by a Gaussian copula (``_params.COPULA_CORRELATION``)
so that complications go with readmissions, reoperations, longer stays and worse PROMs,
while every outcome keeps its GLM margin exactly.  Events are placed in time so that the
episode definitions recover them (see docs/synthetic-registry.md, "Timing").
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats

from vbhc.synth import _catalogue as cat
from vbhc.synth._frame import Frame, choice, logistic, truncated_exponential_int, uniform_int
from vbhc.synth._params import COPULA_CORRELATION, COPULA_ORDER, design_matrix, linear_predictor
from vbhc.synth._population import K_CANCER, K_FRACTURE
from vbhc.synth._world import COMPLICATION_TYPES, World

MAX_LOS = 30
OXFORD_MAX = 48
COMPLICATION_DAY_MEAN = 20.0  # days: a complication after discharge is dated los + 1 + TruncExp(20) (<= day 90)
READMISSION_WINDOW_DAYS = 90  # readmissions are placed within 90 days of discharge
# Operations that are not episodes (acute fractures, cancer) carry extra risk.
_NON_EPISODE_SHIFT = {
    K_FRACTURE: {"death_90d": 2.0, "los_days": 1.2, "complication_90d": 0.5, "readmission_90d": 0.4},
    K_CANCER: {"death_90d": 1.5, "los_days": 0.5, "complication_90d": 0.3, "readmission_90d": 0.3},
}


def linear_predictors(world: World, ops: Frame, ep: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """eta of every GLM outcome (hospital effect and non-episode shifts included)."""
    x = design_matrix(ep)
    h = ops["hospital"]
    eta = {}
    for outcome in ("oxford_12m", "oxford_3m", "complication_90d", "readmission_90d", "reoperation_2y",
                    "death_90d", "los_days"):
        e = linear_predictor(outcome, x, world.params) + world.hospitals.effects[outcome][h]
        for kind, shifts in _NON_EPISODE_SHIFT.items():
            e = e + np.where(ops["kind"] == kind, shifts.get(outcome, 0.0), 0.0)
        eta[outcome] = e
    eta["los_days"] = eta["los_days"] + world.hospitals.private_los_shift[h]
    return eta


def draw_copula(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    chol = np.linalg.cholesky(np.array(COPULA_CORRELATION))
    z = rng.standard_normal((n, len(COPULA_ORDER))) @ chol.T
    return {name: z[:, i] for i, name in enumerate(COPULA_ORDER)}


def los_bernoulli_share(mu: np.ndarray) -> np.ndarray:
    return np.minimum(0.9, 0.95 * mu)


def los_pmf(mu: np.ndarray) -> np.ndarray:
    """(n, MAX_LOS + 1) probabilities of los = B + Poisson(mu - b), capped at MAX_LOS."""
    b = los_bernoulli_share(mu)[:, None]
    lam = (mu - los_bernoulli_share(mu))[:, None]
    k = np.arange(MAX_LOS + 1)[None, :]
    pois = stats.poisson.pmf(k, lam)
    pois_prev = np.concatenate([np.zeros((len(mu), 1)), pois[:, :-1]], axis=1)
    pmf = (1 - b) * pois + b * pois_prev
    pmf[:, -1] += 1.0 - pmf.sum(axis=1)
    return pmf


def draw_outcomes(rng: np.random.Generator, world: World, ops: Frame, eta: dict[str, np.ndarray],
                  persons: Frame, ep: dict[str, np.ndarray]) -> Frame:
    """Length of stay, complications, readmissions, reoperations, death, and the latent
    Oxford scores at 3 and 12 months, for every operation (day offsets from the operation)."""
    n = ops.n
    pw = world.params["pathway"]
    z = draw_copula(rng, n)
    # one stay per day of surgery: the second side of a bilateral operation shares it
    second = (ops["partner"] >= 0) & (ops["partner"] < np.arange(n))
    src = np.where(second, ops["partner"], np.arange(n))
    for name in ("oxford_12m", "oxford_3m", "complication_90d", "readmission_90d", "los_days"):
        z[name] = z[name][src]

    mu = np.exp(eta["los_days"])
    cdf = np.cumsum(los_pmf(mu), axis=1)
    u_los = stats.norm.cdf(-z["los_days"])
    los = np.minimum((cdf < u_los[:, None]).sum(axis=1), MAX_LOS)

    # death: within 90 days by the GLM (after discharge), later at a background hazard
    p_death = logistic(eta["death_90d"])
    d90 = (rng.random(n) < p_death)[src]
    death_early = uniform_int(rng, los + 1, 90)[src]
    coef = pw["death"]["background_log_hazard_per_year"]
    male = ~ep["sex_female"]
    hazard = np.exp(coef[0] + coef[1] * (ep["age"] - 70) + coef[2] * ep["charlson_index"] + coef[3] * male) / 365.25
    death_late = 91 + np.floor(rng.exponential(1.0, n) / hazard).astype(np.int64)
    death_rel = np.where(d90, death_early, death_late[src])

    # complications: one type per complicated operation, in the stay or on a later contact
    p_comp = logistic(eta["complication_90d"])
    comp = z["complication_90d"] < special.ndtri(p_comp)
    types = pw["complication_types"]
    t_hip = choice(rng, n, [types["hip"][t] for t in COMPLICATION_TYPES])
    t_knee = choice(rng, n, [types["knee"][t] for t in COMPLICATION_TYPES])
    ctype = np.where(ops["joint"] == 0, t_hip, t_knee)[src]
    in_stay = (rng.random(n) < pw["complication_in_stay_share"])[src]
    comp_day = truncated_exponential_int(rng, COMPLICATION_DAY_MEAN, los + 1, np.minimum(90, death_rel))[src]

    p_readm = logistic(eta["readmission_90d"])
    readm = z["readmission_90d"] < special.ndtri(p_readm)
    k = truncated_exponential_int(rng, pw["readmission_days_after_discharge_exponential_mean"], np.ones(n, np.int64),
                                  np.minimum(READMISSION_WINDOW_DAYS, death_rel - los))
    readm_day = np.where(comp & ~in_stay, comp_day, los + k)[src]

    p_reop = logistic(eta["reoperation_2y"])
    reop = z["reoperation_2y"] < special.ndtri(p_reop)
    r = pw["reoperation"]
    early = rng.random(n) < r["early_share"]
    early_day = los + uniform_int(rng, *r["early_days_after_discharge"], n)
    late_start = los + r["late_days_after_operation_start"]
    late_day = truncated_exponential_int(rng, r["late_exponential_mean_days"], late_start, np.full(n, 730))
    reop_day = np.where(early, early_day, late_day)
    reop_revision = rng.random(n) < r["revision_share"]
    reop &= reop_day <= death_rel

    o12 = world.params["outcomes"]["oxford_12m"]
    o3 = world.params["outcomes"]["oxford_3m"]
    return Frame(
        los=los.astype(np.int64), mu_los=mu, death_rel=death_rel.astype(np.int64),
        p_death=p_death, p_comp=p_comp, comp=comp, comp_type=ctype.astype(np.int8), comp_in_stay=in_stay,
        comp_day=comp_day, p_readm=p_readm, readm=readm, readm_day=readm_day, p_reop=p_reop, reop=reop,
        reop_early=early, reop_day=reop_day, reop_revision=reop_revision,
        y12=eta["oxford_12m"] + o12["sigma"] * z["oxford_12m"], y3=eta["oxford_3m"] + o3["sigma"] * z["oxford_3m"],
        eta12=eta["oxford_12m"], eta3=eta["oxford_3m"], z_rtw=z["return_to_work_6m"],
    )


# -- expected values ---------------------------------------------------------------
def expected_oxford(eta: np.ndarray, sigma: float) -> np.ndarray:
    """E[clip(round(Y*), 0, 48)] for Y* ~ N(eta, sigma^2) = sum_k P(Y* >= k - 0.5)."""
    k = np.arange(1, OXFORD_MAX + 1)[None, :]
    return special.ndtr((eta[:, None] - (k - 0.5)) / sigma).sum(axis=1)


def prob_oxford_at_least(threshold: np.ndarray, eta: np.ndarray, sigma: float) -> np.ndarray:
    """P(clip(round(Y*), 0, 48) >= threshold) for a real threshold."""
    k = np.ceil(threshold - 1e-9)
    p = special.ndtr((eta - (k - 0.5)) / sigma)
    return np.where(k <= 0, 1.0, np.where(k > OXFORD_MAX, 0.0, p))


def eq5d_level_probabilities(world: World, eta: np.ndarray, sigma: float, extra: dict[str, np.ndarray]) -> dict:
    """P(level = l) per EQ-5D dimension (n, 5) when L_d = a_d (Y* - 24)/10 + extra_d + u_d."""
    e = world.params["proms"]["eq5d"]
    out = {}
    for d, a in e["a"].items():
        mean = a * (eta - 24.0) / 10.0 + extra.get(d, 0.0)
        sd = np.sqrt((a * sigma / 10.0) ** 2 + 1.0)
        tau = np.array(e["tau"][d])
        at_least = special.ndtr((tau[None, :] - mean[:, None]) / sd[None] if np.ndim(sd) else
                                (tau[None, :] - mean[:, None]) / sd)  # P(level >= l + 1), l = 1..4
        probs = np.concatenate([1 - at_least[:, :1], at_least[:, :-1] - at_least[:, 1:], at_least[:, -1:]], axis=1)
        out[d] = probs
    return out


def expected_eq5d(world: World, decrements: dict[str, np.ndarray], eta: np.ndarray, sigma: float,
                  extra: dict[str, np.ndarray]) -> np.ndarray:
    probs = eq5d_level_probabilities(world, eta, sigma, extra)
    total = np.ones(len(eta))
    for d, p in probs.items():
        total += p @ decrements[d]
    return total


def bivariate_normal_cdf(h: np.ndarray, k: np.ndarray, rho: float) -> np.ndarray:
    """P(X <= h, Y <= k) for standard normals with correlation rho (Owen's T form)."""
    h = np.where(np.abs(h) < 1e-10, 1e-10, h)
    k = np.where(np.abs(k) < 1e-10, 1e-10, k)
    s = np.sqrt(1 - rho**2)
    t = special.owens_t(h, (k - rho * h) / (h * s)) + special.owens_t(k, (h - rho * k) / (k * s))
    return 0.5 * (special.ndtr(h) + special.ndtr(k)) - t - 0.5 * (h * k < 0)



def complication_and_readmission(world: World, p_comp: np.ndarray, p_readm: np.ndarray) -> np.ndarray:
    """P(complication and readmission) under the Gaussian copula (bivariate normal)."""
    rho = COPULA_CORRELATION[COPULA_ORDER.index("complication_90d")][COPULA_ORDER.index("readmission_90d")]
    return bivariate_normal_cdf(special.ndtri(p_comp), special.ndtri(p_readm), rho)


def expected_readmission_within(world: World, draws: Frame, days: int = 30) -> np.ndarray:
    """P(an acute readmission within ``days`` days of discharge) for days <= 90.

    A readmission with a complication after discharge is on the complication's day
    (1 + TruncExp(20) days after discharge, up to day 90 after the operation); any other
    on 1 + TruncExp(readmission mean) days after discharge (up to 90).  Exact over the
    length-of-stay distribution, except that death within 90 days (which shortens the
    window for < 0.5 % of operations) and the copula between stay length and
    complication are left out.
    """
    pw = world.params["pathway"]
    s = pw["complication_in_stay_share"]
    p_cr = complication_and_readmission(world, draws["p_comp"], draws["p_readm"])
    pmf = los_pmf(draws["mu_los"])
    span = np.maximum(READMISSION_WINDOW_DAYS - np.arange(pmf.shape[1]), 1)  # days a complication can take
    f_comp = np.minimum(1.0, (1 - np.exp(-days / COMPLICATION_DAY_MEAN)) / (1 - np.exp(-span / COMPLICATION_DAY_MEAN)))
    mean = pw["readmission_days_after_discharge_exponential_mean"]
    f_other = (1 - np.exp(-days / mean)) / (1 - np.exp(-READMISSION_WINDOW_DAYS / mean))
    after_complication = (1 - s) * p_cr
    return after_complication * (pmf @ f_comp) + (draws["p_readm"] - after_complication) * f_other


def expected_revision_2y(world: World, p_reop: np.ndarray) -> np.ndarray:
    """P(revision within 2 years if alive): a reoperation that is a revision."""
    return world.params["pathway"]["reoperation"]["revision_share"] * p_reop


def expected_cost_1y(world: World, ops: Frame, draws: Frame, index_drg: np.ndarray, implant_2016: np.ndarray,
                     background: np.ndarray) -> np.ndarray:
    """Expected region-perspective cost (DKK, 2016 prices) with cost_date in [op, op + 365]."""
    from vbhc.synth._background import excess_days_cost

    pw = world.params["pathway"]
    years = ops["op_day"].astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
    pmf = los_pmf(draws["mu_los"])
    total = world.tariff_real(index_drg, years)
    per_day = world.per_day_2016()[index_drg]
    trim = world.trim_days()[index_drg]
    total = total + per_day * (pmf * np.maximum(0, np.arange(pmf.shape[1])[None, :] - trim[:, None])).sum(axis=1)
    total += implant_2016 + pw["index_medicine_2016"]
    f = pw["followup_visits"]
    total += f["six_weeks"]["probability"] * _t("08PR02") + f["three_months_telemedicine"]["probability"] * _t("30PR01")
    lo, hi = f["one_year"]["days"]
    total += f["one_year"]["probability"] * _t("08PR02") * max(0, 365 - lo + 1) / (hi - lo + 1)
    # complications and readmissions (Gaussian copula: P(C and R) from the bivariate normal)
    p_c, p_r = draws["p_comp"], draws["p_readm"]
    p_cr = complication_and_readmission(world, p_c, p_r)
    s = pw["complication_in_stay_share"]
    cc = pw["complication_contact"]
    total += (1 - s) * (p_c - p_cr) * (cc["emergency_share"] * _t(cc["emergency_dags"])
                                       + (1 - cc["emergency_share"]) * _t(cc["outpatient_dags"]))
    extra = pw["readmission_los"]["extra_days_poisson_mean"]
    joint = np.array(["hip", "knee"])[ops["joint"]]
    comp_cost = np.zeros(ops.n)
    infection = np.zeros(ops.n)
    for j in ("hip", "knee"):
        m = joint == j
        w = pw["complication_types"][j]
        comp_cost[m] = sum(w[t] * (_t(cat.COMPLICATION_CODING[t][1]) + excess_days_cost(world, cat.COMPLICATION_CODING[t][1],
                                                                                          1, extra)) for t in w)
        infection[m] = w["infection"]
    gw = np.array([x[2] for x in cat.GENERIC_READMISSIONS])
    generic = float(np.dot(gw / gw.sum(), [_t(g) + excess_days_cost(world, g, 1, extra)
                                            for _, g, _ in cat.GENERIC_READMISSIONS]))
    total += (1 - s) * p_cr * (comp_cost + infection * pw["infection_medicine_2016"])
    total += (p_r - (1 - s) * p_cr) * generic
    # reoperations dated within the year
    r = pw["reoperation"]
    k = np.arange(pmf.shape[1])
    late_start = k + r["late_days_after_operation_start"]
    span = 730 - late_start + 1
    within = np.clip(365 - late_start + 1, 0, None)
    mean = r["late_exponential_mean_days"]
    p_late_in_year = (1 - np.exp(-within / mean)) / (1 - np.exp(-span / mean))
    p_in_year = r["early_share"] + (1 - r["early_share"]) * (pmf @ p_late_in_year)
    ex = r["los_extra_days_poisson_mean"]
    reop_cost = (r["revision_share"] * (_t("08MP07") + excess_days_cost(world, "08MP07", 1, ex["revision"])
                                        + cat.REVISION_IMPLANT_2016)
                 + (1 - r["revision_share"]) * (_t("08MP08") + excess_days_cost(world, "08MP08", 1, ex["other"])))
    total += draws["p_reop"] * p_in_year * reop_cost
    return total + background


def _t(code: str) -> float:
    return cat.TARIFFS[cat.TARIFF_INDEX[code]].tariff_2016
