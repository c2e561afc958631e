"""Time as integers: calendar days and minutes since 1970-01-01, ISO weeks, quarters.

The generator works on int64 day and minute numbers (fast, exact, no time zones) and
converts to Arrow dates and timestamps only when it writes a table.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

MINUTES_PER_DAY = 1440
_EPOCH = dt.date(1970, 1, 1)


def day_number(date: dt.date | str) -> int:
    """Days since 1970-01-01 of a date (``YYYY-MM-DD`` strings accepted)."""
    if isinstance(date, str):
        date = dt.date.fromisoformat(date)
    return (date - _EPOCH).days


def year_start(years: np.ndarray | int) -> np.ndarray:
    """Day number of 1 January of each year."""
    years = np.asarray(years, dtype=np.int64)
    return (years - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)


def year_of(days: np.ndarray) -> np.ndarray:
    """Calendar year of each day number."""
    return np.asarray(days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970



def week_index(days: np.ndarray) -> np.ndarray:
    """Continuous ISO week number: weeks since the week of Monday 1969-12-29."""
    return (np.asarray(days, dtype=np.int64) + 3) // 7


def week_monday(weeks: np.ndarray) -> np.ndarray:
    """Day number of the Monday of each continuous week."""
    return np.asarray(weeks, dtype=np.int64) * 7 - 3


def iso_year_week(weeks: np.ndarray) -> np.ndarray:
    """ISO ``YYYYWW`` label (int) of each continuous week (the Thursday's year and week)."""
    thursday = np.asarray(weeks, dtype=np.int64) * 7
    year = year_of(thursday)
    week = (thursday - year_start(year)) // 7 + 1
    return (year * 100 + week).astype(np.int64)



def quarter_dates(first_day: int, last_day: int) -> np.ndarray:
    """The 15th of the middle month of every quarter (15 Feb, May, Aug, Nov) in [first, last]."""
    y0, y1 = int(year_of(np.array([first_day]))[0]), int(year_of(np.array([last_day]))[0])
    months = np.array([1, 4, 7, 10])  # zero-based month index of Feb, May, Aug, Nov
    out = []
    for year in range(y0, y1 + 1):
        base = np.datetime64(f"{year}-01", "M") + months
        out.append((base.astype("datetime64[D]") + 14).astype(np.int64))
    dates = np.concatenate(out)
    return dates[(dates >= first_day) & (dates <= last_day)]


def to_datetime64_days(days: np.ndarray) -> np.ndarray:
    return np.asarray(days, dtype=np.int64).astype("datetime64[D]")


def to_datetime64_minutes(minutes: np.ndarray) -> np.ndarray:
    return np.asarray(minutes, dtype=np.int64).astype("datetime64[m]").astype("datetime64[us]")
