"""Day and ISO-week arithmetic as engine expressions (same results on DuckDB and Spark).

Dates become integer day numbers (days since 1970-01-01), so every window of the
definitions is plain integer arithmetic: "within (a, b] days" is ``a < d - op <= b``.
ISO weeks become integer week numbers counted from the Monday 1969-12-29, so that
"the 52 weeks before the op week" is ``op_week - 52 <= w <= op_week - 1``.
"""

from __future__ import annotations

import datetime as dt

import ibis

_EPOCH = dt.date(1970, 1, 1)


def day_number(value: ibis.Value) -> ibis.Value:
    """Calendar day number of a date or timestamp (days since 1970-01-01)."""
    if value.type().is_timestamp():
        value = value.date()
    return value.epoch_days()


def day_of(date: dt.date) -> int:
    """Day number of a Python date."""
    return (date - _EPOCH).days


def week_of_day(day: ibis.Value) -> ibis.Value:
    """ISO week number of a day number (1970-01-01 is a Thursday: day + 3 is Monday-aligned)."""
    return (day + 3) // 7


def week_of_year_week(year_week: ibis.Value) -> ibis.Value:
    """ISO week number of a DREAM ``YYYYWW`` code.

    Week 1 of an ISO year is the week holding 4 January; its Monday is 4 January minus
    its weekday.
    """
    year = (year_week // 100).cast("int32")
    week = (year_week % 100).cast("int32")
    jan4 = ibis.date(year, 1, 4)
    monday_week1 = jan4.epoch_days() - jan4.day_of_week.index()
    return week_of_day(monday_week1) + week - 1
