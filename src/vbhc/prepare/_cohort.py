"""Index operations: candidates, the numbered exclusion steps and the attrition flow.

Steps follow ``docs/episode-definitions.md`` ("Index operation (cohort entry) and
exclusions, in this order").  Every candidate gets the number of the first step that
excludes it (``exclusion_step``, null when it becomes an episode), so one table gives
both the cohort and the TRIPOD-style flow.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis

from vbhc.core.codelists import CodeLists
from vbhc.prepare._codes import index_procedure_codes, match_prefixes, starts_with_any
from vbhc.prepare._relational import left_join
from vbhc.prepare._settings import PrepareSettings
from vbhc.prepare._time import day_number, day_of


@dataclass(frozen=True)
class Step:
    """One attrition step: its number, what it keeps and why it excludes."""

    number: int
    name: str
    reason: str


def attrition_steps(settings: PrepareSettings) -> list[Step]:
    """The numbered steps with reasons that state the configured thresholds."""
    c = settings.cohort
    return [
        Step(1, "candidate operations", "duplicate registration (same person, joint, side and date)"),
        Step(2, "laterality known", "laterality unknown"),
        Step(3, "elective contact", "acute operation"),
        Step(4, "registry record", f"no registry record ({c.registry_operation_type}, ±{c.registry_match_days} days)"),
        Step(5, "not fracture or cancer", "fracture or cancer"),
        Step(6, "adult", f"age under {c.min_age_years:g} years"),
        Step(7, "look-back", f"less than {c.lookback_days} days of look-back before the admission"),
        Step(8, "follow-up", f"less than {c.min_followup_days} days of follow-up possible"),
        Step(9, "first on that side", "not first on that side"),
    ]


def index_procedure_rows(procedures: ibis.Table, contacts: ibis.Table, codelists: CodeLists) -> ibis.Table:
    """Every procedure row with an index-operation code, with its contact (step 1 input)."""
    proc = procedures.select("contact_id", "procedure_code", "procedure_date", "laterality")
    matched = match_prefixes(proc, "procedure_code", index_procedure_codes(codelists))
    con = contacts.select(
        "contact_id",
        "person_id",
        "hospital_id",
        "department_id",
        "contact_type",
        "is_acute",
        "primary_diagnosis",
        contact_start="start_time",
    )
    joined = matched.join(con, "contact_id")
    return joined.mutate(op_date=joined.procedure_date, op_day=day_number(joined.procedure_date))


def collapse_candidates(rows: ibis.Table) -> ibis.Table:
    """One candidate per person, joint, side and date (step 1).

    Duplicates keep the row of the earliest contact (then lowest contact id, then
    procedure code), so the choice is deterministic on every engine.
    """
    w = ibis.window(
        group_by=["person_id", "joint", "laterality", "op_date"],
        order_by=["contact_start", "contact_id", "procedure_code"],
    )
    ranked = rows.mutate(_rank=ibis.row_number().over(w))
    return ranked.filter(ranked._rank == 0).drop("_rank", "procedure_date")


def _registry_match(cand: ibis.Table, registry: ibis.Table, settings: PrepareSettings) -> ibis.Table:
    """Nearest registry row of the configured type within the tolerance (ties: the earlier)."""
    c = settings.cohort
    reg = registry.filter(registry.operation_type == c.registry_operation_type).select(
        reg_person="person_id",
        reg_joint="joint",
        reg_laterality="laterality",
        reg_day=day_number(registry.operation_date),
        asa_class="asa_class",
        bmi="bmi",
        smoking="smoking",
        alcohol_units_week="alcohol_units_week",
        indication="indication",
    )
    keys = cand.select("person_id", "joint", "laterality", "op_day")
    joined = keys.join(
        reg,
        [
            keys.person_id == reg.reg_person,
            keys.joint == reg.reg_joint,
            keys.laterality == reg.reg_laterality,
            (keys.op_day - reg.reg_day).abs() <= c.registry_match_days,
        ],
    )
    w = ibis.window(
        group_by=["person_id", "joint", "laterality", "op_day"],
        order_by=[(joined.op_day - joined.reg_day).abs(), joined.reg_day],
    )
    ranked = joined.mutate(_rank=ibis.row_number().over(w))
    best = ranked.filter(ranked._rank == 0)
    return best.select(
        "person_id", "joint", "laterality", "op_day", "asa_class", "bmi", "smoking", "alcohol_units_week", "indication",
        registry_matched=ibis.literal(True),
    )


def _side_history(cand: ibis.Table) -> ibis.Table:
    """Per person and joint: the first operation day on each side, and the days with both sides."""
    sided = cand.filter(cand.laterality.notnull())
    first = sided.group_by(["person_id", "joint"]).aggregate(
        left_first=sided.op_day.min(where=sided.laterality == "left"),
        right_first=sided.op_day.min(where=sided.laterality == "right"),
    )
    return first


def _bilateral_days(cand: ibis.Table) -> ibis.Table:
    sided = cand.filter(cand.laterality.notnull())
    days = sided.group_by(["person_id", "joint", "op_day"]).aggregate(n_sides=sided.laterality.nunique())
    return days.filter(days.n_sides == 2).select("person_id", "joint", "op_day", bilateral_same_day=ibis.literal(True))


def screen_candidates(
    cand: ibis.Table,
    stays: ibis.Table,
    registry: ibis.Table,
    patients: ibis.Table,
    *,
    data_start: dt.date,
    data_end: dt.date,
    settings: PrepareSettings,
    codelists: CodeLists,
) -> ibis.Table:
    """Candidates with index stay start, registry and patient data, side history and ``exclusion_step``.

    ``stays`` (:func:`vbhc.prepare._stays.join_stays`) gives each candidate's
    admission ``adm`` (start of the stay of its contact) and ``adm_day``: step 7 needs
    the whole look-back [date(adm) - lookback_days, date(adm) - 1] inside the data,
    the window every case-mix variable counts in.  ``exclusion_step`` is the number of
    the first failing step (2-9), null for episodes.  Step 9 compares with every
    candidate (any step) on the same person, joint and side, as the definitions say
    "at any time in the data".
    """
    c = settings.cohort
    reg = _registry_match(cand, registry, settings)
    pat = patients.select(
        "person_id",
        "sex",
        "region_code",
        "municipality_code",
        birth_day=day_number(patients.birth_date),
        death_day=day_number(patients.death_date),
    )
    first = _side_history(cand)
    bilateral = _bilateral_days(cand)
    keys4 = ["person_id", "joint", "laterality", "op_day"]
    adm = stays.select("contact_id", adm="stay_start")
    t = cand.join(adm.mutate(adm_day=day_number(adm.adm)), "contact_id")
    t = left_join(t, reg, keys4)
    t = left_join(t, pat, "person_id")
    t = left_join(t, first, ["person_id", "joint"])
    t = left_join(t, bilateral, ["person_id", "joint", "op_day"])
    excluded_dx = [code for codes in codelists.excluded_index_diagnoses.values() for code in codes]
    own_first = ibis.cases((t.laterality == "left", t.left_first), (t.laterality == "right", t.right_first))
    other_first = ibis.cases((t.laterality == "left", t.right_first), (t.laterality == "right", t.left_first))
    age = (t.op_day - t.birth_day).cast("float64") / ibis.literal(c.days_per_year, "float64")
    t = t.mutate(
        age=age,
        registry_matched=t.registry_matched.fill_null(False),
        bilateral_same_day=t.bilateral_same_day.fill_null(False),
        prior_contralateral=(other_first < t.op_day).fill_null(False),
        excluded_indication=t.indication.isin(codelists.excluded_indications).fill_null(False),
        excluded_diagnosis=starts_with_any(t.primary_diagnosis, excluded_dx).fill_null(False),
        not_first=(own_first < t.op_day).fill_null(False),
    )
    start_day, end_day = day_of(data_start), day_of(data_end)
    step = ibis.cases(
        (t.laterality.isnull(), 2),
        (t.is_acute.fill_null(True), 3),
        (~t.registry_matched, 4),
        (t.excluded_indication | t.excluded_diagnosis, 5),
        (t.age.isnull() | (t.age < c.min_age_years), 6),
        (t.adm_day - c.lookback_days < start_day, 7),
        (t.op_day + c.min_followup_days > end_day, 8),
        (t.not_first, 9),
        else_=ibis.null("int8"),
    )
    return t.mutate(exclusion_step=step.cast("int8"))


def attrition_table(n_rows: int, step_counts: dict[int, int], n_candidates: int, settings: PrepareSettings) -> list[dict]:
    """The flow as rows ``step, name, reason, n_in, n_excluded, n_out``.

    ``n_rows`` are the matched procedure rows, ``n_candidates`` the candidates after
    collapsing duplicates, ``step_counts`` the candidates excluded at steps 2-9.
    """
    rows = []
    n_in = n_rows
    for step in attrition_steps(settings):
        excluded = n_rows - n_candidates if step.number == 1 else int(step_counts.get(step.number, 0))
        rows.append(
            {
                "step": step.number,
                "name": step.name,
                "reason": step.reason,
                "n_in": n_in,
                "n_excluded": excluded,
                "n_out": n_in - excluded,
            }
        )
        n_in -= excluded
    return rows
