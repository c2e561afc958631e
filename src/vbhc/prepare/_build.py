"""Assemble the episode table from the raw tables: the one entry point of the builder.

:func:`build_episodes` takes Ibis tables bound to any backend (DuckDB by default,
PySpark for data beyond one machine) and returns the episodes as an Arrow table in
the schema of ``data_schemas/episodes.yaml``, with the attrition flow.  It executes
a few small queries along the way (counts for the flow, the data window, the price
years present) and materialises intermediate tables in the engine
(:class:`vbhc.prepare._relational.Workspace`); the only pandas step is PROM scoring
(see :mod:`vbhc.prepare._proms`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import ibis
import pandas as pd
import pyarrow as pa

from vbhc.core.errors import ConfigError, InputError
from vbhc.core.log import get_logger, timed
from vbhc.prepare._cohort import attrition_table, collapse_candidates, index_procedure_rows, screen_candidates
from vbhc.prepare._costs import (
    cost_columns,
    cost_features,
    cost_windows,
    index_drg_code,
    price_factors,
    sickness_week_values,
    valued_sickness_weeks,
)
from vbhc.prepare._features import (
    contact_features,
    contacts_with_stays,
    diagnosis_features,
    labour_features,
    reoperation_features,
    return_to_work,
    stay_features,
    transfer_weeks,
)
from vbhc.prepare._proms import (
    Scorer,
    choose_questionnaires,
    prom_features,
    score_chosen,
    score_with_vbhc_proms,
    scored_table,
)
from vbhc.prepare._relational import Workspace, left_join
from vbhc.prepare._settings import PrepareConfig, PrepareSettings
from vbhc.prepare._stays import join_stays
from vbhc.prepare._time import day_number, day_of, week_of_day

log = get_logger("vbhc.prepare")

REQUIRED_TABLES = (
    "patients",
    "contacts",
    "diagnoses",
    "procedures",
    "arthroplasty_registry",
    "prom_responses",
    "costs",
    "transfer_payments",
)
"""Accepted tables the builder reads (``drg_tariffs`` is not needed: costs carry their tariff)."""


@dataclass
class EpisodeBuild:
    """Result of :func:`build_episodes`."""

    episodes: pa.Table
    attrition: pd.DataFrame
    data_start: dt.date
    data_end: dt.date
    timings: dict[str, float] = field(default_factory=dict)


def resolve_data_window(
    contacts: ibis.Table, config: PrepareConfig, extract: tuple[dt.date | None, dt.date | None] = (None, None)
) -> tuple[dt.date, dt.date]:
    """``data_start`` and ``data_end``, each from the first source that has it.

    1. the settings (``data_window``); 2. ``extract`` (what the extract says of itself:
    its first year and extract date); 3. whole calendar years of the contacts.
    """
    window = config.settings.data_window
    start, end = window.start or extract[0], window.end or extract[1]
    if start is None or end is None:
        row = contacts.aggregate(lo=contacts.start_time.min(), hi=contacts.start_time.max()).to_pandas().iloc[0]
        if pd.isna(row["lo"]):
            raise InputError("no contacts: cannot derive the data window", table="contacts")
        start = start or dt.date(pd.Timestamp(row["lo"]).year, 1, 1)
        end = end or dt.date(pd.Timestamp(row["hi"]).year, 12, 31)
    if end <= start:
        raise ConfigError(f"data window: end {end} is not after start {start}")
    return start, end


def _check_years(present: list[int], known: Mapping[int, float], what: str) -> None:
    missing = sorted(set(present) - set(known))
    if missing:
        raise ConfigError(f"prices: no {what} for years {missing} (extend pipelines/prices.yaml)")


def build_episodes(
    tables: Mapping[str, ibis.Table],
    config: PrepareConfig,
    *,
    scorer: Scorer = score_with_vbhc_proms,
    extract: tuple[dt.date | None, dt.date | None] = (None, None),
    workdir: Path | None = None,
) -> EpisodeBuild:
    """Build the episode table under ``docs/episode-definitions.md``.

    Parameters
    ----------
    tables:
        The accepted raw tables (:data:`REQUIRED_TABLES`) as Ibis tables of one backend.
    config:
        Settings, code lists and price levels (:func:`load_prepare_config`).
    scorer:
        PROM scorer (default: :func:`vbhc.proms.score_prom_responses` under ``config.prom_scoring``).
    extract:
        First day and extract date stated by the extract (see :func:`resolve_data_window`).
    workdir:
        Folder for intermediate Parquet files on Spark (default: a temporary folder).
    """
    from vbhc.schemas import load_schema

    missing = [t for t in REQUIRED_TABLES if t not in tables]
    if missing:
        raise InputError(f"accepted table missing: {', '.join(missing)}", table=missing[0])
    s, codes = config.settings, config.codelists
    timings: dict[str, float] = {}
    T = tables

    ws = Workspace(T["contacts"].get_backend(), workdir)
    try:
        with timed("data window", timings, log):
            data_start, data_end = resolve_data_window(T["contacts"], config, extract)

        with timed("candidates", timings, log):
            rows = index_procedure_rows(T["procedures"], T["contacts"], codes)
            n_rows = int(rows.count().execute())
            cand = ws.keep(collapse_candidates(rows), "candidates")

        with timed("index stays", timings, log):
            # stays of every candidate's person: step 7 anchors the look-back at the admission
            cand_persons = cand.select("person_id").distinct()
            cand_contacts = T["contacts"].semi_join(cand_persons, "person_id")
            to_join = cand_contacts.filter(cand_contacts.contact_type.isin(s.contact_types.inpatient)).union(
                cand_contacts.semi_join(cand.select("contact_id").distinct(), "contact_id"), distinct=True
            )
            stays = ws.keep(join_stays(to_join, gap_hours=s.stay.join_gap_hours), "stays")

        with timed("exclusions", timings, log):
            screened = ws.keep(
                screen_candidates(
                    cand, stays, T["arthroplasty_registry"], T["patients"],
                    data_start=data_start, data_end=data_end, settings=s, codelists=codes,
                ),
                "screened",
            )  # fmt: skip
            counts = screened.group_by("exclusion_step").aggregate(n=screened.count()).to_pandas()
            step_counts = {int(k): int(n) for k, n in zip(counts["exclusion_step"], counts["n"]) if pd.notna(k)}
            n_cand = int(counts["n"].sum())
            attrition = pd.DataFrame(attrition_table(n_rows, step_counts, n_cand, s))
            cohort = screened.filter(screened.exclusion_step.isnull())
            persons = cohort.select("person_id").distinct()
            contacts = T["contacts"].semi_join(persons, "person_id")
            base = ws.keep(_episode_base(cohort, stays, data_end, config), "base")

        with timed("labour market", timings, log):
            weeks = transfer_weeks(T["transfer_payments"].semi_join(persons, "person_id"))
            sick_code = s.lookback.benefit_codes.sickness_benefit
            sick_years = weeks.filter(weeks.benefit_code == sick_code).select("iso_year").distinct().to_pandas()
            years = [int(y) for y in sick_years["iso_year"]]
            _check_years(years, config.prices.sickness_benefit_weekly_dkk, "sickness_benefit_weekly_dkk")
            _check_years(years, config.prices.health_price_index, "health_price_index")
            week_dkk = ibis.memtable(sickness_week_values(config.prices, s.costs.price_year, years))
            sick_weeks = valued_sickness_weeks(weeks, week_dkk, s)
            labour = labour_features(base, weeks, s)
            base = ws.keep(_with_employment(base, labour, s), "base_employment")
            rtw = ws.keep(return_to_work(base, weeks, s), "return_to_work", reused=False)

        with timed("events", timings, log):
            cx = contacts_with_stays(contacts, stays)
            dx = ws.keep(diagnosis_features(base, T["diagnoses"], contacts, cx, codes, s), "diagnoses", reused=False)
            cf = ws.keep(contact_features(base, cx, s), "contacts", reused=False)
            sf = ws.keep(stay_features(base, stays, s), "stay_counts", reused=False)
            rf = ws.keep(reoperation_features(base, T["procedures"], T["contacts"], codes, s), "reoperations", reused=False)

        with timed("costs", timings, log):
            costs = T["costs"].semi_join(persons, "person_id")
            tariff_years = [int(y) for y in costs.select("tariff_year").distinct().to_pandas()["tariff_year"]]
            _check_years(tariff_years, config.prices.health_price_index, "health_price_index")
            factors = ibis.memtable(price_factors(config.prices, s.costs.price_year, tariff_years))
            cost = ws.keep(cost_features(base, costs, sick_weeks, stays, factors, s), "costs", reused=False)
            drg = ws.keep(index_drg_code(base, costs, s), "drg", reused=False)

        with timed("proms", timings, log):
            responses = T["prom_responses"].semi_join(persons, "person_id")
            chosen = ws.keep(choose_questionnaires(base, responses, s), "questionnaires")
            scored = scored_table(score_chosen(chosen, responses, config.prom_scoring, scorer, keep=ws.keep))
            proms = ws.keep(prom_features(chosen, scored), "proms", reused=False)

        with timed("assemble", timings, log):
            parts = [dx, cf, sf, rf, cost, drg, rtw, proms]
            wide = base
            for part in parts:
                wide = left_join(wide, part, "episode_id")
            final = _finalise(wide, config)
            schema = load_schema("episodes")
            arrow = final.select(*schema.column_names).order_by("episode_id").to_pyarrow()
            episodes = schema.to_arrow(arrow)
    finally:
        ws.close()
    log.info("episodes: %d of %d candidate operations", episodes.num_rows, n_cand)
    return EpisodeBuild(episodes=episodes, attrition=attrition, data_start=data_start, data_end=data_end, timings=timings)


def _episode_base(cohort: ibis.Table, stays: ibis.Table, data_end: dt.date, config: PrepareConfig) -> ibis.Table:
    """Episodes with key, index stay, day numbers and follow-up.

    ``followup_end_day`` = min(death, data_end, op + followup_max_days); ``last_week``
    its ISO week relative to the op week (the last week observed for return to work).
    """
    o = config.settings.outcomes
    idx = stays.select("contact_id", "stay_id", dis="stay_end")
    t = cohort.join(idx, "contact_id")
    key = t.person_id.concat("|", t.joint, "|", t.laterality, "|", t.op_date.strftime("%Y-%m-%d"))
    end_day = day_of(data_end)
    never = ibis.literal(2**31 - 1)
    fu_end = ibis.least(t.death_day.fill_null(never), ibis.literal(end_day), t.op_day + o.followup_max_days)
    op_week = week_of_day(t.op_day)
    return t.mutate(
        episode_id=ibis.literal("E").concat(key.hexdigest("sha256").substr(0, 16)),
        dis_day=day_number(t.dis),
        op_week=op_week,
        end_day=ibis.literal(end_day),
        followup_end_day=fu_end,
        last_week=week_of_day(fu_end) - op_week,
    )


def _with_employment(base: ibis.Table, labour: ibis.Table, s: PrepareSettings) -> ibis.Table:
    """Employment status from the weeks before the op week (retired > unemployed > sick-listed > employed)."""
    t = left_join(base, labour, "episode_id")
    status = ibis.cases(
        ((t.age >= s.lookback.retirement_age_years) | t._any_retired.fill_null(False), "retired"),
        (t._any_unemployed.fill_null(False), "unemployed"),
        (t._any_sick.fill_null(False), "sick_listed"),
        else_="employed",
    )
    t = t.mutate(employment_status=status)
    return t.mutate(employed=t.employment_status.isin(["employed", "sick_listed"]))


def _window(event: ibis.Value, known: ibis.Value) -> ibis.Value:
    """Censored binary outcome: true if the event, false if the window is known, else null."""
    return ibis.cases((event.fill_null(False), True), (known, False), else_=ibis.null("boolean"))


def _finalise(t: ibis.Table, config: PrepareConfig) -> ibis.Table:
    """Derived columns: censoring, windowed outcomes, Charlson index, changes, costs."""
    s, codes = config.settings, config.codelists
    o = s.outcomes

    def known(days: int, anchor: ibis.Value) -> ibis.Value:
        """Outcome over (anchor, anchor + days] is known: followed through it or died within it."""
        return (t.end_day >= anchor + days) | (t.death_day <= anchor + days).fill_null(False)

    died = t.death_day.notnull()
    cols: dict[str, ibis.Value] = {}
    # follow-up and censoring
    cols["followup_days"] = (t.followup_end_day - t.op_day).cast("int32")
    cols["censored_death"] = died & (t.death_day - t.op_day < o.followup_max_days) & (t.death_day <= t.end_day)
    cols["censored_end_of_data"] = ~cols["censored_death"].fill_null(False) & (t.end_day - t.op_day < o.followup_max_days)
    cols["censored_death"] = cols["censored_death"].fill_null(False)
    cols["followup_complete_1y"] = known(s.costs.horizons_days["1y"], t.op_day)
    cols["followup_complete_2y"] = known(s.costs.horizons_days["2y"], t.op_day)
    # deaths and windowed events
    for key, days in o.death_days.items():
        cols[f"death_{key}"] = _window(died & (t.death_day - t.op_day <= days), known(days, t.op_day))
    for key, days in o.readmission_days.items():
        cols[f"readmission_{key}"] = _window(t[f"readmission_{key}_event"], known(days, t.dis_day))
    for key, days in o.reoperation_days.items():
        cols[f"reoperation_{key}"] = _window(t[f"reoperation_{key}_event"], known(days, t.op_day))
    cols["revision_2y"] = _window(t.revision_2y_event, known(o.revision_days, t.op_day))
    for name in ["", *[f"_{n}" for n in codes.complications]]:
        cols[f"complication{name}_2y"] = _window(t[f"complication{name}_2y_event"], known(o.complication_2y_days, t.op_day))
    # Charlson: flags as present; the index counts only the more severe of a hierarchy pair
    dropped = {h.drop: h.keep for h in codes.charlson.hierarchy}
    index = ibis.literal(0)
    for name, comp in codes.charlson.components.items():
        flag = t[f"cci_{name}"].fill_null(False)
        cols[f"cci_{name}"] = flag
        counts = flag & ~t[f"cci_{dropped[name]}"].fill_null(False) if name in dropped else flag
        index = index + ibis.cases((counts, comp.weight), else_=0)
    cols["charlson_index"] = index.cast("int8")
    for name in ["anxiety_depression", "complication_90d", *[f"complication_{n}_90d" for n in codes.complications]]:
        cols[name] = t[name].fill_null(False)
    for name in ["prior_inpatient_2y", "prior_outpatient_2y", "outpatient_visits_90d", "outpatient_visits_1y",
                 "inpatient_admissions_1y", "sickness_benefit_weeks_1y"]:
        cols[name] = t[name].fill_null(0)
    # return to work (employed only)
    r = o.return_to_work
    weeks = t.weeks_to_return_to_work
    cols["weeks_to_return_to_work"] = ibis.cases((t.employed, weeks), else_=ibis.null("int64"))
    cols["return_to_work_6m"] = ibis.cases(
        (~t.employed, ibis.null("boolean")),
        (weeks.notnull() & (weeks <= r.within_weeks), True),
        (t.last_week >= r.followed_weeks, False),
        else_=ibis.null("boolean"),
    )
    # PROM changes from before surgery and minimal important change
    for tp in s.proms.followup:
        cols[f"oxford_change_{tp}"] = t[f"oxford_{tp}"] - t.oxford_pre
        cols[f"eq5d_gain_{tp}"] = t[f"eq5d_{tp}"] - t.eq5d_pre
    mic_points = config.prom_scoring.minimal_important_change
    mic = ibis.cases((t.joint == "hip", float(mic_points["OHS"])), else_=float(mic_points["OKS"]))
    cols["mic_12m"] = cols["oxford_change_12m"] >= mic
    # costs: zero without rows; null when the window's end was not followed (and no death)
    zero = ibis.literal(0.0)
    cols["drg_value_index_dkk"] = t.drg_value_index_dkk.fill_null(zero)
    for window in cost_windows(s):
        complete = known(window.closes[1], t[window.closes[0]]) if window.closes else ibis.literal(True)
        for name in cost_columns(window):
            cols[name] = ibis.cases((complete, t[name].fill_null(zero)), else_=ibis.null("float64"))
    # descriptive columns
    regions = sorted(s.hospital_regions.items(), key=lambda kv: -len(kv[0]))
    cols["hospital_region_code"] = ibis.cases(
        *[(t.hospital_id.startswith(prefix), code) for prefix, code in regions], else_=ibis.null("int16")
    ).cast("int16") if regions else ibis.null("int16")
    *bounded, last = s.age_bands
    age_band = ibis.cases(*[(t.age < b.below, b.label) for b in bounded], else_=last.label) if bounded else ibis.literal(last.label)
    cols.update(
        operation_date=t.op_date,
        operation_year=t.op_date.year().cast("int16"),
        age_band=age_band,
        contralateral_sequence=ibis.cases((t.prior_contralateral, 2), else_=1).cast("int8"),
        los_days=(t.dis_day - t.adm_day).cast("float64"),
    )
    return t.mutate(**cols)
