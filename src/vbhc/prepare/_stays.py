"""Stays: inpatient contacts of one person at one hospital joined into one admission.

A contact joins the stay of the contacts before it (ordered by start) when it starts
no later than ``join_gap_hours`` after the latest end so far: overlapping contacts,
transfers between departments and split registrations become one stay.  This is the
classic gaps-and-islands problem, solved with two window functions (running maximum
of the end time, running count of new islands), so it runs in the engine.
"""

from __future__ import annotations

import ibis


def join_stays(contacts: ibis.Table, *, gap_hours: float) -> ibis.Table:
    """Assign every contact a stay.

    Parameters
    ----------
    contacts:
        Contacts to join (normally the inpatient contacts plus the index contacts),
        with ``contact_id``, ``person_id``, ``hospital_id``, ``start_time``, ``end_time``.
    gap_hours:
        Largest gap (hours) between the end of the stay so far and the next start.

    Returns
    -------
    One row per contact: ``contact_id``, ``person_id``, ``stay_id`` (string key),
    ``stay_start``, ``stay_end`` (timestamps: earliest start and latest end of the stay).
    """
    gap = ibis.interval(minutes=int(round(gap_hours * 60)))
    order = ["start_time", "end_time", "contact_id"]
    group = ["person_id", "hospital_id"]
    c = contacts.select("contact_id", "person_id", "hospital_id", "start_time", "end_time")
    before = ibis.window(group_by=group, order_by=order, rows=(None, -1))
    c = c.mutate(_prev_end=c.end_time.max().over(before))
    c = c.mutate(_new=(c._prev_end.isnull() | (c.start_time > c._prev_end + gap)).cast("int64"))
    upto = ibis.window(group_by=group, order_by=order, rows=(None, 0))
    c = c.mutate(_island=c._new.sum().over(upto))
    c = c.mutate(stay_id=c.person_id.concat("|", c.hospital_id, "|", c._island.cast("string")))
    bounds = c.group_by("stay_id").aggregate(stay_start=c.start_time.min(), stay_end=c.end_time.max())
    return c.join(bounds, "stay_id").select("contact_id", "person_id", "stay_id", "stay_start", "stay_end")
