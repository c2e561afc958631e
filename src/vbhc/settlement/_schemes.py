"""Payment per hospital under each scheme type, for a whole weight matrix at once.

Each ``settle_*`` function takes a scheme, the cohort and a weight matrix (R × N: one
row per replicate or perturbation) and returns :class:`Components` with arrays of
shape (R, H): the fixed part, the activity-dependent part and the bonus, in DKK.
Formulas: ``docs/settlement.md``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from vbhc.core.criteria import select_rows
from vbhc.core.errors import InputError
from vbhc.core.frames import numeric, require_columns
from vbhc.settlement._behaviour import contacts
from vbhc.settlement._data import TABLE, SettlementData, Units, activity_value, flag, group_sums
from vbhc.settlement._scenario import (
    ActivityScheme,
    AmountCap,
    Baseline,
    Budget,
    BundledScheme,
    CapitationScheme,
    FrameBudgetScheme,
    Goal,
    MunicipalCofinancingScheme,
    OutcomeContingentScheme,
    P4PScheme,
    PoolCap,
    Scheme,
    ShareCap,
    StatePoolScheme,
)


@dataclass(frozen=True)
class Components:
    """One scheme's payment per replicate and hospital (DKK)."""

    covered: np.ndarray  # (H,) hospitals the scheme pays
    baseline: np.ndarray  # (H,) baseline or budget (NaN when the scheme has none)
    fixed: np.ndarray  # (R, H)
    activity: np.ndarray  # (R, H)
    bonus: np.ndarray  # (R, H)

    @property
    def payment(self) -> np.ndarray:
        return self.fixed + self.activity + self.bonus


def _components(covered, baseline, fixed, activity, bonus, shape) -> Components:
    """Broadcast to (R, H) and zero the hospitals the scheme does not cover."""
    mask = covered.astype(float)
    return Components(
        covered=covered,
        baseline=np.where(covered, np.broadcast_to(baseline, shape[1:]), np.nan),
        fixed=np.broadcast_to(fixed, shape) * mask,
        activity=np.broadcast_to(activity, shape) * mask,
        bonus=np.broadcast_to(bonus, shape) * mask,
    )


# --------------------------------------------------------------------------- helpers


def _values_fn(columns: list[str], exempt) -> Callable[[pd.DataFrame], np.ndarray]:
    def values(df: pd.DataFrame) -> np.ndarray:
        v = activity_value(df, columns)
        if exempt:
            v = v * ~select_rows(df, exempt, table=TABLE)
        return v

    return values


def _reference_amounts(
    d: SettlementData,
    spec: Baseline | Budget,
    units: Units,
    values: Callable[[pd.DataFrame], np.ndarray],
    *,
    what: str,
) -> tuple[np.ndarray, np.ndarray]:
    """(amount per unit, last-year activity per unit) for a baseline or a budget."""
    if spec.source == "fixed":
        amount = d.fixed_amounts(spec.amounts_dkk, units, what=f"{what}.amounts_dkk")
        last = amount.copy()
    else:
        last = d.unit_totals(spec.source, units, values, what=f"{what}.source")
        growth = spec.productivity_requirement if isinstance(spec, Baseline) else spec.change
        amount = last * (1.0 + growth)
    if isinstance(spec, Baseline) and spec.adjustments_dkk:
        unknown = sorted(set(map(str, spec.adjustments_dkk)) - set(units.ids))
        if unknown:
            raise InputError(f"{d.source}: {what}.adjustments_dkk: unknown unit(s) {unknown[:5]}", table=TABLE)
        amount = amount + np.array([float(spec.adjustments_dkk.get(u, 0.0)) for u in units.ids])
    return amount, last


def _shares(x: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """``x`` / sum(x) along the last axis; ``fallback`` shares where the sum is 0."""
    total = x.sum(axis=-1, keepdims=True)
    fb = fallback / fallback.sum() if fallback.sum() > 0 else np.full_like(fallback, 1.0 / max(fallback.size, 1))
    return np.where(total > 0, x / np.where(total > 0, total, 1.0), fb)


# --------------------------------------------------------------------------- hospital layer


def settle_activity(s: ActivityScheme, d: SettlementData, w: np.ndarray, **_) -> Components:
    """Basisbevilling: grant + tariff share of the budget − deduction below the baseline
    + capped knæktakst above it."""
    covered = d.covered(s.regions)
    units = d.units(s.level, covered)
    values = _values_fn(list(s.activity_columns or d.activity_columns), s.exempt)
    A = group_sums(w, units.codes(d.frame), units.size, values(d.frame))[..., 0]
    B, last = _reference_amounts(d, s.baseline, units, values, what=f"{s.label}.baseline")
    if s.budget is None:  # last year's money: the baseline without the productivity requirement
        no_requirement = s.baseline.model_copy(update={"productivity_requirement": 0.0})
        M, _ = _reference_amounts(d, no_requirement, units, values, what=f"{s.label}.baseline")
    else:
        M, _ = _reference_amounts(d, s.budget, units, values, what=f"{s.label}.budget")
    over = np.maximum(A - B, 0.0)
    short = np.maximum(B - A, 0.0)
    rate, cap = s.over_activity
    over_pay = rate * over
    if isinstance(cap, AmountCap):
        limit = d.fixed_amounts(cap.amounts_dkk, units, what=f"{s.label}.cap") if cap.amounts_dkk else cap.amount_dkk
        over_pay = np.minimum(over_pay, limit)
    elif isinstance(cap, ShareCap):
        over_pay = np.minimum(over_pay, rate * cap.share * B)
    elif isinstance(cap, PoolCap):
        pool = cap.pool_dkk * d.pool_scale(covered, what=f"scheme {s.label!r}")
        if cap.allocation == "drawing_rights":
            over_pay = np.minimum(over_pay, pool * _shares(last, np.ones_like(last)))
        else:
            total = over_pay.sum(axis=1, keepdims=True)
            over_pay = over_pay * np.minimum(1.0, np.divide(pool, total, out=np.ones_like(total), where=total > 0))
    H = d.n_hospitals
    fixed = units.to_hospitals(np.broadcast_to(s.grant * M, A.shape), H)
    activity = units.to_hospitals(s.tariff_share * M - s.deduction * short + over_pay, H)
    return _components(covered, units.to_hospitals(B, H), fixed, activity, 0.0, fixed.shape)


_TARGET_VALUES: dict[str, Callable[[pd.DataFrame, list[str]], np.ndarray]] = {
    "activity_value": lambda df, cols: activity_value(df, cols),
    "episodes": lambda df, cols: np.ones(len(df)),
    "contacts": lambda df, cols: contacts(df),
    "inpatient_admissions": lambda df, cols: np.nan_to_num(numeric(df, "inpatient_admissions_1y")),
    "outpatient_visits": lambda df, cols: np.nan_to_num(numeric(df, "outpatient_visits_1y")),
}


def settle_frame_budget(s: FrameBudgetScheme, d: SettlementData, w: np.ndarray, **_) -> Components:
    """Rammestyring: the budget, less deductions for missed production targets."""
    covered = d.covered(s.regions)
    units = d.units(s.level, covered)
    cols = list(d.activity_columns)
    budget, _last = _reference_amounts(d, s.budget, units, _values_fn(cols, []), what=f"{s.label}.budget")
    deduction = np.zeros((w.shape[0], units.size))
    target_source = s.budget.source if s.budget.source != "fixed" else (
        "previous_year" if d.previous is not None and not d.previous.empty else "settlement_year"
    )
    codes = units.codes(d.frame)
    for i, target in enumerate(s.targets):
        fn = _TARGET_VALUES[target.metric]
        level = group_sums(w, codes, units.size, fn(d.frame, cols))[..., 0]
        goal = d.unit_totals(target_source, units, lambda df, fn=fn: fn(df, cols), what=f"{s.label}.targets.{i}")
        deduction += target.deduction_per_unit_dkk * np.maximum(goal * (1 + target.requirement) - level, 0.0)
    H = d.n_hospitals
    fixed = units.to_hospitals(np.broadcast_to(budget, deduction.shape), H)
    return _components(covered, units.to_hospitals(budget, H), fixed, units.to_hospitals(-deduction, H), 0.0, fixed.shape)


def _price(d: SettlementData, scheme: BundledScheme | OutcomeContingentScheme, covered: np.ndarray) -> np.ndarray:
    """Price of each frame row (DKK): ``price_column``, less the quality adjustment when excluded."""
    column = scheme.price_column
    if column not in d.frame.columns:
        raise InputError(
            f"{d.source}: scheme {scheme.label!r} needs prices: pass the prices file from `vbhc price` (--prices)",
            table="episode_prices",
            column=column,
        )
    price = numeric(d.frame, column)
    if scheme.quality_adjustment == "exclude":
        require_columns(d.frame, ["quality_adjustment_dkk"], table="episode_prices", why=f"scheme {scheme.label!r}")
        price = price - np.nan_to_num(numeric(d.frame, "quality_adjustment_dkk"))
    paid = (d.row_hospital >= 0) & covered[np.maximum(d.row_hospital, 0)]
    missing = paid & np.isnan(price)
    if missing.any():
        raise InputError(
            f"{d.source}: scheme {scheme.label!r}: {int(missing.sum())} episode(s) of {d.year} have no price",
            table="episode_prices",
            column=column,
        )
    return np.nan_to_num(price)


def settle_bundled(s: BundledScheme, d: SettlementData, w: np.ndarray, **_) -> Components:
    """Forløbsafregning: the sum of the performed episodes' prices."""
    covered = d.covered(s.regions)
    paid = d.hospital_sums(w, _price(d, s, covered))[..., 0]
    return _components(covered, np.nan, 0.0, paid, 0.0, paid.shape)


def _goal_payout(goal: Goal, d: SettlementData, w: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """Share of the goal's money each hospital earns (R, H)."""
    shape = (w.shape[0], d.n_hospitals)
    if goal.statistic == "assumed":
        return np.full(shape, float(goal.assumed_payout))  # type: ignore[arg-type]
    x = flag(d.frame, goal.column) if goal.statistic == "rate" else numeric(d.frame, goal.column)  # type: ignore[arg-type]
    known = ~np.isnan(x)
    sums = d.hospital_sums(w, np.column_stack([np.where(known, x, 0.0), known]))
    n = sums[..., 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        metric = sums[..., 0] / n
        national = (sums[..., 0] * covered).sum(axis=1, keepdims=True) / (n * covered).sum(axis=1, keepdims=True)
    offset = national if goal.reference == "national_mean" else 0.0
    payout = np.zeros(shape)
    for step in goal.step_list:
        threshold = step.threshold + offset
        met = metric >= threshold - 1e-12 if goal.higher_is_better else metric <= threshold + 1e-12
        payout = np.where(met, np.maximum(payout, step.payout), payout)
    return np.where(n >= goal.min_patients, payout, goal.unassessed_payout)


def settle_p4p(s: P4PScheme, d: SettlementData, w: np.ndarray, *, other_payments: np.ndarray, **_) -> Components:
    """P4P pool: each goal's money × the share earned (step model); optional withhold
    and redistribution of unearned money."""
    covered = d.covered(s.regions)
    R, H = w.shape[0], d.n_hospitals
    pool = s.pool
    if pool.share_of_payments is not None:
        pool_h = pool.share_of_payments * other_payments
    elif pool.per_goal_dkk is not None:
        pool_h = np.full((R, H), pool.per_goal_dkk * len(s.goals))
    else:
        units = d.units("hospital", covered)
        budget, last = _reference_amounts(d, s.budget, units, _values_fn(list(d.activity_columns), []), what=f"{s.label}.budget")
        if pool.amount_dkk is not None:
            scale = d.pool_scale(covered, what=f"scheme {s.label!r}")
            per_unit = pool.amount_dkk * scale * _shares(last, np.ones_like(last))
        else:
            per_unit = pool.share_of_budget * budget
        pool_h = np.broadcast_to(units.to_hospitals(per_unit, H), (R, H))
    pool_h = pool_h * covered
    earned = np.zeros((R, H))
    for goal in s.goals:
        money = np.full((R, H), pool.per_goal_dkk) if pool.per_goal_dkk is not None else pool_h * goal.weight
        earned += money * _goal_payout(goal, d, w, covered) * covered
    if s.unearned == "redistribute":  # exactly the pool is paid; if nobody earned, back pro rata
        total_pool = pool_h.sum(axis=1, keepdims=True)
        total_earned = earned.sum(axis=1, keepdims=True)
        factor = np.divide(total_pool, total_earned, out=np.zeros_like(total_earned), where=total_earned > 0)
        earned = np.where(total_earned > 0, earned * factor, pool_h)
    fixed = -pool_h if s.withhold else np.zeros((R, H))
    return _components(covered, np.nan, fixed, 0.0, earned, (R, H))


def settle_outcome_contingent(s: OutcomeContingentScheme, d: SettlementData, w: np.ndarray, **_) -> Components:
    """Pay on success, or scale prices by observed/expected outcome."""
    covered = d.covered(s.regions)
    price = _price(d, s, covered)
    if s.mode == "pay_on_success":
        y = flag(d.frame, s.outcome_column)
        success = (np.nan_to_num(y) > 0) | (np.isnan(y) & (s.missing == "pay"))
        at_stake = s.contingent_share * price
        sums = d.hospital_sums(w, np.column_stack([price - at_stake, at_stake * success, at_stake]))
        base, won, stake = sums[..., 0], sums[..., 1], sums[..., 2]
        if s.budget_neutral:  # the whole stake is paid; if nobody succeeded, back pro rata
            total_won = (won * covered).sum(axis=1, keepdims=True)
            total_stake = (stake * covered).sum(axis=1, keepdims=True)
            factor = np.divide(total_stake, total_won, out=np.zeros_like(total_won), where=total_won > 0)
            won = np.where(total_won > 0, won * factor, stake)
        return _components(covered, np.nan, 0.0, base, won, base.shape)
    o = numeric(d.frame, s.outcome_column)
    if s.expected_column is not None:
        e = numeric(d.frame, s.expected_column)
    else:
        e = np.zeros(len(o))
    known = ~np.isnan(o) & ~np.isnan(e)
    sums = d.hospital_sums(w, np.column_stack([np.where(known, o, 0), np.where(known, e, 0), known, price]))
    n, P = sums[..., 2], sums[..., 3]
    with np.errstate(invalid="ignore", divide="ignore"):
        O = sums[..., 0] / n
        if s.expected_column is not None:
            E = sums[..., 1] / n
        else:  # unadjusted: against the mean over the covered hospitals
            E = np.broadcast_to(
                (sums[..., 0] * covered).sum(axis=1, keepdims=True) / (n * covered).sum(axis=1, keepdims=True), O.shape
            )
        sign = 1.0 if s.higher_is_better else -1.0
        factor = np.clip(1.0 + s.strength * sign * (O - E) / E, s.floor, s.ceiling)
    factor = np.where((n >= s.min_patients) & np.isfinite(factor), factor, 1.0)
    if s.budget_neutral:
        total = (P * covered).sum(axis=1, keepdims=True)
        scaled = (P * factor * covered).sum(axis=1, keepdims=True)
        factor = factor * np.divide(total, scaled, out=np.ones_like(total), where=scaled > 0)
    return _components(covered, np.nan, 0.0, P, P * (factor - 1.0), P.shape)


def _capitation_amounts(s: CapitationScheme, d: SettlementData, covered: np.ndarray) -> tuple[float, float]:
    """(amount per patient, excess cost of a complication) in DKK, from the covered
    hospitals' episodes of last year (else this year's, before behaviour changes)."""
    if s.amount_dkk is not None and s.provider_bears_complications:
        return float(s.amount_dkk), 0.0
    base = d.base_frame()
    if d.cost_column not in base.columns:
        raise InputError(
            f"{d.source}: scheme {s.label!r}: the capitation amount is set from last year's costs, but cost_column "
            f"{d.cost_column!r} exists for priced episodes only; give amount_dkk or an episode cost column",
            table=TABLE,
            column=d.cost_column,
        )
    codes = d.hospital_codes(base)
    base = base.loc[(codes >= 0) & covered[np.maximum(codes, 0)]]
    if base.empty:
        raise InputError(f"{d.source}: scheme {s.label!r}: no episodes of the covered hospitals to set the amount from", table=TABLE)
    cost = np.nan_to_num(numeric(base, d.cost_column))
    comp = np.nan_to_num(flag(base, s.complication_column)) > 0
    clean = float(cost[~comp].mean()) if (~comp).any() else float(cost.mean())
    excess = max(float(cost[comp].mean()) - clean, 0.0) if comp.any() else 0.0
    if s.amount_dkk is not None:
        return float(s.amount_dkk), excess
    return (float(cost.mean()) if s.provider_bears_complications else clean), excess


def settle_capitation(s: CapitationScheme, d: SettlementData, w: np.ndarray, **_) -> Components:
    """An amount per patient; complications borne by the provider unless carved out
    (then the payer adds the excess cost of each complicated episode)."""
    covered = d.covered(s.regions)
    amount, excess = _capitation_amounts(s, d, covered)
    frame_comp = np.nan_to_num(flag(d.frame, s.complication_column)) > 0
    sums = d.hospital_sums(w, np.column_stack([np.ones(len(d.frame)), frame_comp]))
    paid = amount * sums[..., 0]
    carve_out = 0.0 if s.provider_bears_complications else excess * sums[..., 1]
    return _components(covered, np.nan, 0.0, paid + carve_out, 0.0, paid.shape)


# --------------------------------------------------------------------------- region layer


def settle_state_pool(s: StatePoolScheme, d: SettlementData, w: np.ndarray, **_) -> Components:
    """State activity pool: a conto, kept at ``rate`` × activity above the regional
    baseline, the rest repaid.  Region amounts are shared over its hospitals: the a conto
    and baseline by last year's activity, the settlement by this year's."""
    covered = d.covered(s.regions)
    regions = d.units("region", covered)
    values = _values_fn(list(d.activity_columns), [])
    B, last = _reference_amounts(d, s.baseline, regions, values, what=f"{s.label}.baseline")
    if s.a_conto_rate is not None:
        a_conto = s.a_conto_rate * B
    else:
        given = d.fixed_amounts({str(k): v for k, v in s.a_conto_dkk.items()}, regions, what=f"{s.label}.a_conto_dkk")
        a_conto = given * d.pool_scales(regions.ids.astype(np.int64), what=f"scheme {s.label!r}")
    region_codes = regions.ids.astype(np.int64)
    indicator = ((d.regions[:, None] == region_codes[None, :]) & covered[:, None]).astype(float)  # (H, G)
    A_h = d.hospital_sums(w, d.value)[..., 0] * covered
    A = A_h @ indicator
    earned = np.clip(s.rate * (A - B), 0.0, a_conto if s.cap_at_a_conto else np.inf)
    hospitals = d.units("hospital", covered)
    last_h = hospitals.to_hospitals(
        d.unit_totals("settlement_year" if s.baseline.source == "fixed" else s.baseline.source, hospitals, values, what=f"{s.label}.baseline"),
        d.n_hospitals,
    )
    region_of = indicator.argmax(axis=1)
    last_r = last_h @ indicator
    last_share = np.divide(last_h, last_r[region_of], out=np.zeros_like(last_h), where=last_r[region_of] > 0)
    now_r = A[:, region_of]
    now_share = np.divide(A_h, now_r, out=np.broadcast_to(last_share, A_h.shape).copy(), where=now_r > 0)
    fixed = a_conto[region_of] * last_share
    activity = (earned - a_conto)[:, region_of] * now_share
    return _components(covered, B[region_of] * last_share, fixed, activity, 0.0, A_h.shape)


def settle_municipal(s: MunicipalCofinancingScheme, d: SettlementData, w: np.ndarray, **_) -> Components:
    """Municipal co-financing: a capped share of the tariff of each admission (the index
    stay and later admissions at their mean DRG value) and outpatient visit."""
    covered = d.covered(s.regions)
    f = d.frame
    require_columns(f, ["drg_value_index_dkk", "cost_1y_drg_tariff_dkk", "inpatient_admissions_1y"], why=f"scheme {s.label!r}")
    cap = np.inf if s.cap_per_admission_dkk is None else s.cap_per_admission_dkk
    index = np.nan_to_num(numeric(f, "drg_value_index_dkk"))
    k = np.nan_to_num(numeric(f, "inpatient_admissions_1y"))
    rest = np.maximum(np.nan_to_num(numeric(f, "cost_1y_drg_tariff_dkk")) - index, 0.0)
    per_admission = np.divide(rest, k, out=np.zeros(len(f)), where=k > 0)
    amount = np.minimum(s.inpatient_share * index, cap) + k * np.minimum(s.inpatient_share * per_admission, cap)
    if s.outpatient_share > 0:
        require_columns(f, ["cost_1y_dags_tariff_dkk", "outpatient_visits_1y"], why=f"scheme {s.label!r}")
        visits = np.nan_to_num(numeric(f, "outpatient_visits_1y"))
        per_visit = np.divide(np.nan_to_num(numeric(f, "cost_1y_dags_tariff_dkk")), visits, out=np.zeros(len(f)), where=visits > 0)
        vcap = np.inf if s.cap_per_visit_dkk is None else s.cap_per_visit_dkk
        amount = amount + visits * np.minimum(s.outpatient_share * per_visit, vcap)
    paid = d.hospital_sums(w, amount)[..., 0]
    return _components(covered, np.nan, 0.0, paid, 0.0, paid.shape)


_SETTLERS: dict[str, Callable[..., Components]] = {
    "activity": settle_activity,
    "frame_budget": settle_frame_budget,
    "state_pool": settle_state_pool,
    "municipal_cofinancing": settle_municipal,
    "bundled": settle_bundled,
    "p4p_pool": settle_p4p,
    "outcome_contingent": settle_outcome_contingent,
    "capitation": settle_capitation,
}


def settle(scheme: Scheme, data: SettlementData, weights: np.ndarray, *, other_payments: np.ndarray | None = None) -> Components:
    """Payment components of one scheme for every row of ``weights`` (R × N)."""
    if other_payments is None:
        other_payments = np.zeros((weights.shape[0], data.n_hospitals))
    return _SETTLERS[scheme.type](scheme, data, weights, other_payments=other_payments)


def settle_scenario(schemes: list[Scheme], data: SettlementData, weights: np.ndarray) -> dict[str, Components]:
    """All schemes of a scenario; P4P pools paid as a share of payments come last and
    see the other hospital-level schemes' payments."""
    out: dict[str, Components] = {}
    later = [s for s in schemes if isinstance(s, P4PScheme) and s.pool.share_of_payments is not None]
    for scheme in [s for s in schemes if s not in later]:
        out[scheme.label] = settle(scheme, data, weights)
    others = sum(
        (c.payment for s, c in zip([s for s in schemes if s not in later], out.values()) if s.layer == "hospital"),
        start=np.zeros((weights.shape[0], data.n_hospitals)),
    )
    for scheme in later:
        out[scheme.label] = settle(scheme, data, weights, other_payments=others)
    return {s.label: out[s.label] for s in schemes}
