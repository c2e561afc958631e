"""Case-mix, outcomes and activity derived from events around each episode.

Each function joins one event table to the episode base (``ep``, one row per
episode with its day numbers) on the person and returns one row per episode that
has any such event, keyed by ``episode_id``; the assembler left-joins them and fills
the absent ones (no event = false / zero).  Windows come from the settings; every
rule cites ``docs/episode-definitions.md``.
"""

from __future__ import annotations

import ibis

from vbhc.core.codelists import CodeLists
from vbhc.prepare._codes import diagnosis_codes, followup_procedure_codes, match_prefixes
from vbhc.prepare._relational import left_join
from vbhc.prepare._settings import PrepareSettings
from vbhc.prepare._time import day_number, week_of_year_week


def contacts_with_stays(contacts: ibis.Table, stays: ibis.Table) -> ibis.Table:
    """Contacts with day number of their start and their stay (null when not inpatient)."""
    c = contacts.select("contact_id", "person_id", "contact_type", "is_acute", "start_time")
    s = stays.select("contact_id", "stay_id")
    c = left_join(c, s, "contact_id")
    return c.mutate(start_day=day_number(c.start_time))


def diagnosis_features(
    ep: ibis.Table,
    diagnoses: ibis.Table,
    contacts_table: ibis.Table,
    contacts: ibis.Table,
    codelists: CodeLists,
    settings: PrepareSettings,
) -> ibis.Table:
    """Charlson components, anxiety/depression (look-back) and complications (follow-up).

    Look-back: diagnoses (A or B, and the contact's primary diagnosis) on contacts
    starting on days [date(adm) - 730, date(adm) - 1].
    Complications within 90 days: on a contact of the index stay, or on a contact
    starting within (op, op + 90 d].  Complications within 2 years (warranty events):
    on an acute inpatient contact starting after ``dis`` (timestamp) and on or before
    day op + 730.  Returns the events; the assembler applies censoring.
    """
    codes = diagnosis_codes(codelists)
    coded = diagnoses.select("contact_id", "diagnosis_code").union(
        contacts_table.select("contact_id", diagnosis_code="primary_diagnosis"), distinct=False
    )
    dx = match_prefixes(coded, "diagnosis_code", codes)
    dx = dx.select("contact_id", "group", "name").distinct()
    dx = dx.join(contacts, "contact_id").select(
        "person_id", "group", "name", "contact_type", "is_acute", "start_time", "start_day", "stay_id"
    )
    e = ep.select("episode_id", "person_id", "adm", "adm_day", "dis", "op_day", ep_stay="stay_id")
    j = e.join(dx, "person_id")
    lookback = (j.start_day >= j.adm_day - settings.lookback.days) & (j.start_day < j.adm_day)
    after = (j.start_day > j.op_day) & (j.start_day <= j.op_day + settings.outcomes.complication_days)
    in_stay = (j.stay_id == j.ep_stay).fill_null(False)
    complication = in_stay | after
    o = settings.outcomes
    late = (
        j.contact_type.isin(settings.contact_types.inpatient)
        & j.is_acute
        & (j.start_time > j.dis)
        & (j.start_day <= j.op_day + o.complication_2y_days)
    )
    aggs = {}
    for name in codelists.charlson.components:
        aggs[f"cci_{name}"] = ((j.group == "charlson") & (j.name == name) & lookback).any()
    aggs["anxiety_depression"] = ((j.group == "anxiety_depression") & lookback).any()
    for name in codelists.complications:
        aggs[f"complication_{name}_90d"] = ((j.group == "complication") & (j.name == name) & complication).any()
    aggs["complication_90d"] = ((j.group == "complication") & complication).any()
    for name in codelists.complications:
        aggs[f"complication_{name}_2y_event"] = ((j.group == "complication") & (j.name == name) & late).any()
    aggs["complication_2y_event"] = ((j.group == "complication") & late).any()
    return j.group_by("episode_id").aggregate(**aggs)


def contact_features(ep: ibis.Table, contacts: ibis.Table, settings: PrepareSettings) -> ibis.Table:
    """Prior outpatient visits, readmissions and outpatient activity after discharge.

    - ``prior_outpatient_2y``: outpatient/telemedicine contacts starting on days
      [date(adm) - 730, date(adm) - 1];
    - ``readmission_<N>``: an acute inpatient contact starting after ``dis`` and on or
      before date(dis) + N days (such a contact cannot belong to the index stay, which
      ends at ``dis``);
    - ``outpatient_visits_90d``: outpatient/telemedicine contacts starting within
      (dis, date(dis) + 90 d]; ``outpatient_visits_1y``: within (dis, op + 365 d].
    """
    e = ep.select("episode_id", "person_id", "adm", "adm_day", "dis", "dis_day", "op_day")
    j = e.join(contacts, "person_id")
    types = settings.contact_types
    outpatient = j.contact_type.isin(types.outpatient)
    lookback = (j.start_day >= j.adm_day - settings.lookback.days) & (j.start_day < j.adm_day)
    after_dis = j.start_time > j.dis
    acute_inpatient = j.contact_type.isin(types.inpatient) & j.is_acute
    aggs = {
        "prior_outpatient_2y": (outpatient & lookback).sum(),
        "outpatient_visits_90d": (
            outpatient & after_dis & (j.start_day <= j.dis_day + settings.activity.outpatient_short_days)
        ).sum(),
        "outpatient_visits_1y": (outpatient & after_dis & (j.start_day <= j.op_day + settings.activity.horizon_days)).sum(),
    }
    for key, days in settings.outcomes.readmission_days.items():
        aggs[f"readmission_{key}_event"] = (acute_inpatient & after_dis & (j.start_day <= j.dis_day + days)).any()
    return j.group_by("episode_id").aggregate(**aggs)


def stay_features(ep: ibis.Table, stays: ibis.Table, settings: PrepareSettings) -> ibis.Table:
    """Inpatient stays (joined contacts count once) before and after the index stay.

    - ``prior_inpatient_2y``: stays starting on days [date(adm) - 730, date(adm) - 1];
    - ``inpatient_admissions_1y``: stays other than the index stay starting within
      (dis, op + 365 d].
    """
    s = stays.select("person_id", "stay_id", "stay_start").distinct()
    s = s.mutate(stay_start_day=day_number(s.stay_start))
    e = ep.select("episode_id", "person_id", "adm", "adm_day", "dis", "op_day", ep_stay="stay_id")
    j = e.join(s, "person_id")
    lookback = (j.stay_start_day >= j.adm_day - settings.lookback.days) & (j.stay_start_day < j.adm_day)
    after = (
        (j.stay_id != j.ep_stay)
        & (j.stay_start > j.dis)
        & (j.stay_start_day <= j.op_day + settings.activity.horizon_days)
    )
    return j.group_by("episode_id").aggregate(
        prior_inpatient_2y=lookback.sum(),
        inpatient_admissions_1y=after.sum(),
    )


def reoperation_features(ep: ibis.Table, procedures: ibis.Table, contacts: ibis.Table, codelists: CodeLists, settings: PrepareSettings) -> ibis.Table:
    """Reoperation and revision events of the same joint and side within (op, op + N d]."""
    codes = followup_procedure_codes(codelists)
    p = match_prefixes(procedures.select("contact_id", "procedure_code", "procedure_date", "laterality"), "procedure_code", codes)
    p = p.join(contacts.select("contact_id", "person_id"), "contact_id")
    p = p.select("person_id", "joint", "laterality", "kind", proc_day=day_number(p.procedure_date)).distinct()
    e = ep.select("episode_id", "person_id", "joint", "laterality", "op_day")
    j = e.join(p, ["person_id", "joint", "laterality"])
    delta = j.proc_day - j.op_day
    aggs = {
        f"reoperation_{key}_event": ((j.kind == "reoperation") & (delta > 0) & (delta <= days)).any()
        for key, days in settings.outcomes.reoperation_days.items()
    }
    aggs["revision_2y_event"] = ((j.kind == "revision") & (delta > 0) & (delta <= settings.outcomes.revision_days)).any()
    return j.group_by("episode_id").aggregate(**aggs)


def transfer_weeks(transfers: ibis.Table) -> ibis.Table:
    """DREAM rows with the ISO week number and ISO year of each week."""
    t = transfers.select("person_id", "year_week", "benefit_code")
    return t.mutate(week=week_of_year_week(t.year_week), iso_year=(t.year_week // 100).cast("int32"))


def labour_features(ep: ibis.Table, weeks: ibis.Table, settings: PrepareSettings) -> ibis.Table:
    """Sickness-benefit weeks before surgery and the employment flags of the weeks before.

    ``sickness_benefit_weeks_1y``: distinct weeks with the sickness-benefit code among
    op week - 52 .. op week - 1; the flags ``_any_retired``, ``_any_unemployed``,
    ``_any_sick`` look at op week - 4 .. op week - 1 (codes: ``lookback.benefit_codes``).
    """
    lb = settings.lookback
    codes = lb.benefit_codes
    e = ep.select("episode_id", "person_id", "op_week")
    j = e.join(weeks.select("person_id", "week", "benefit_code"), "person_id")
    j = j.mutate(rel=j.week - j.op_week)
    j = j.filter((j.rel >= -max(lb.sickness_benefit_weeks, lb.employment_weeks)) & (j.rel <= -1))
    rel = j.rel
    sick = j.benefit_code == codes.sickness_benefit
    before_emp = rel >= -lb.employment_weeks
    return j.group_by("episode_id").aggregate(
        sickness_benefit_weeks_1y=(sick & (rel >= -lb.sickness_benefit_weeks)).sum(),
        _any_retired=(before_emp & j.benefit_code.isin(codes.retired)).any(),
        _any_unemployed=(before_emp & j.benefit_code.isin(codes.unemployed)).any(),
        _any_sick=(before_emp & sick).any(),
    )


def return_to_work(ep: ibis.Table, weeks: ibis.Table, settings: PrepareSettings) -> ibis.Table:
    """First week (relative to the op week) that starts a run of weeks without any transfer.

    Candidate starts are the earliest allowed week and the week after each transfer
    week; a start ``s`` (``earliest_start_week <= s <= latest_start_week``) is valid
    when the next transfer week at or after ``s`` is at least ``s + run_weeks`` away
    and the whole run lies within follow-up (``last_week``: the ISO week of
    min(death, data_end, op + followup_max_days), relative to the op week).
    Returns ``episode_id, weeks_to_return_to_work`` for employed episodes with a run.
    """
    r = settings.outcomes.return_to_work
    e = ep.filter(ep.employed).select("episode_id", "person_id", "op_week", "last_week")
    j = e.join(weeks.select("person_id", "week"), "person_id")  # one row per person and week (primary key)
    j = j.mutate(rel=j.week - j.op_week)
    j = j.filter((j.rel >= r.earliest_start_week) & (j.rel <= r.latest_start_week + r.run_weeks))
    # starts after a transfer week: s = t + 1, valid if the next transfer is >= s + run
    nxt = j.rel.lead().over(ibis.window(group_by="episode_id", order_by="rel"))
    after = j.mutate(start=j.rel + 1, next_transfer=nxt)
    after = after.filter(after.next_transfer.isnull() | (after.next_transfer >= after.start + r.run_weeks))
    after = after.select("episode_id", "start")
    # the earliest start: valid if the first transfer at or after it is >= start + run
    first = j.group_by("episode_id").aggregate(first_transfer=j.rel.min())
    early = left_join(e, first, "episode_id").select("episode_id", "first_transfer")
    early = early.filter(early.first_transfer.isnull() | (early.first_transfer >= r.earliest_start_week + r.run_weeks))
    early = early.select("episode_id", start=ibis.literal(r.earliest_start_week, "int64"))
    starts = ibis.union(early, after.mutate(start=after.start.cast("int64")), distinct=False)
    starts = starts.join(e.select("episode_id", "last_week"), "episode_id")
    starts = starts.filter((starts.start + r.run_weeks - 1 <= starts.last_week) & (starts.start <= r.latest_start_week))
    return starts.group_by("episode_id").aggregate(weeks_to_return_to_work=starts.start.min())
