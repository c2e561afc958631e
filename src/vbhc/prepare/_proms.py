"""PROMs per episode: choose the questionnaires in the engine, score them with vbhc.proms.

The edge between engine and pandas: the engine selects, for every episode, the
questionnaire (person, joint, instrument, response date) of each time point: pre-op
(the latest in [op - 90 d, op]), 3 months (nearest to op + 90 d in [op + 60, op + 150])
and 12 months (nearest to op + 365 d in [op + 270, op + 450]; ties: the earlier).  Only
the item rows of those questionnaires are materialised (in chunks of persons, to bound
memory), scored by :func:`vbhc.proms.score_prom_responses` (the single implementation
of the Oxford missing-item rule and the EQ-5D value sets) and joined back as a small
table.  A chosen questionnaire that cannot be scored (e.g. three Oxford items missing)
gives a missing score; the builder does not fall back to another response.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import ibis
import pandas as pd
import pyarrow as pa

from vbhc.core.errors import InputError
from vbhc.prepare._settings import PrepareSettings
from vbhc.prepare._time import day_number
from vbhc.proms import EQ5D_DIMENSIONS, PromSettings

OXFORD = {"hip": "OHS", "knee": "OKS"}
EQ5D, EQVAS, PAIN = "EQ-5D-5L", "EQ-VAS", "PAIN-NRS"
QUESTIONNAIRE_KEY = ["person_id", "joint", "instrument", "response_date"]
SCORED_COLUMNS = [*QUESTIONNAIRE_KEY, "score", *EQ5D_DIMENSIONS]
SOURCE_ROW = "source_row"
"""Optional column of ``prom_responses``: the row's 0-based position in its input table
(added by :func:`vbhc.prepare.read_tables`), used to name the row of a rejected answer."""
CHUNK_ROWS = 8_000_000
"""Item rows materialised in pandas at once when scoring (about 1-2 GB)."""

Scorer = Callable[[pd.DataFrame, PromSettings], pd.DataFrame]
"""``(long item rows, PROM scoring settings) -> one scored row per questionnaire`` (:data:`SCORED_COLUMNS`)."""


def score_with_vbhc_proms(responses: pd.DataFrame, scoring: PromSettings) -> pd.DataFrame:
    """Score long PROM item rows with :func:`vbhc.proms.score_prom_responses`.

    ``scoring`` is the PROM scoring configuration (``pipelines/proms.yaml``: value set,
    Oxford missing-item rule).  Returns one row per questionnaire with
    :data:`SCORED_COLUMNS` (score: Oxford 0-48, EQ-5D index, EQ-VAS 0-100, pain NRS
    0-10; EQ-5D dimension levels 1-5).
    """
    from vbhc.proms import score_prom_responses

    scored = score_prom_responses(responses, scoring)
    for dim in EQ5D_DIMENSIONS:
        if dim not in scored.columns:
            scored[dim] = pd.NA
    return scored[SCORED_COLUMNS]


def choose_questionnaires(ep: ibis.Table, responses: ibis.Table, settings: PrepareSettings) -> ibis.Table:
    """The questionnaire of each episode, time point (pre, 3m, 12m) and instrument.

    Returns ``episode_id, timepoint`` and the questionnaire key.  The Oxford score is
    the joint's own (OHS for hip, OKS for knee); generic instruments match on the
    ``joint`` of the questionnaire.
    """
    p = settings.proms
    wanted = [*OXFORD.values(), EQ5D, EQVAS, PAIN]
    q = responses.filter(responses.instrument.isin(wanted) & responses.joint.notnull())
    q = q.select(*QUESTIONNAIRE_KEY).distinct()
    e = ep.select("episode_id", "person_id", "joint", "op_day")
    j = e.join(q, ["person_id", "joint"])
    j = j.mutate(d=day_number(j.response_date) - j.op_day)
    own_oxford = ibis.cases((j.joint == "hip", j.instrument != OXFORD["knee"]), else_=j.instrument != OXFORD["hip"])
    j = j.filter(own_oxford)
    lo = -p.pre_window_days
    hi = max(w.max_days for w in p.followup.values())
    j = j.filter((j.d >= lo) & (j.d <= hi))
    parts = []
    pre = j.filter(j.d <= 0)
    parts.append(_first(pre, "pre", [ibis.desc(pre.d)]))
    for name, w in p.followup.items():
        f = j.filter((j.d >= w.min_days) & (j.d <= w.max_days))
        parts.append(_first(f, name, [(f.d - w.target_days).abs(), f.d]))
    return ibis.union(*parts, distinct=False)


def _first(t: ibis.Table, timepoint: str, order: list) -> ibis.Table:
    w = ibis.window(group_by=["episode_id", "instrument"], order_by=order)
    ranked = t.mutate(_rank=ibis.row_number().over(w))
    best = ranked.filter(ranked._rank == 0)
    return best.select("episode_id", *QUESTIONNAIRE_KEY, timepoint=ibis.literal(timepoint))


def score_chosen(
    chosen: ibis.Table,
    responses: ibis.Table,
    scoring: PromSettings,
    scorer: Scorer,
    keep: Callable[[ibis.Table, str], ibis.Table] | None = None,
) -> pd.DataFrame:
    """Materialise the item rows of the chosen questionnaires (in person chunks) and score them.

    ``keep`` materialises the item rows once in the engine when they need more than
    one chunk (see :class:`vbhc.prepare._relational.Workspace`).
    """
    keys = chosen.select(*QUESTIONNAIRE_KEY).distinct()
    items = responses.join(keys, QUESTIONNAIRE_KEY).select(responses.columns)
    n_rows = int(items.count().execute())
    n_chunks = max(1, math.ceil(n_rows / CHUNK_ROWS))
    if n_chunks > 1 and keep is not None:
        items = keep(items, "prom_items")
    scored = []
    for chunk in range(n_chunks):
        part = items if n_chunks == 1 else items.filter(items.person_id.hash().abs() % n_chunks == chunk)
        long = part.to_pandas()
        if not len(long):
            continue
        source_rows = long.pop(SOURCE_ROW).to_numpy() if SOURCE_ROW in long.columns else None
        try:
            scored.append(scorer(long.reset_index(drop=True), scoring))
        except InputError as exc:
            raise _at_table_row(exc, source_rows) from None
    if not scored:
        return pd.DataFrame({c: pd.Series(dtype="float64" if c not in QUESTIONNAIRE_KEY else "str") for c in SCORED_COLUMNS})
    return pd.concat(scored, ignore_index=True)


def _at_table_row(exc: InputError, source_rows) -> InputError:
    """The scorer's error with its row (a position among the chosen item rows) as the table's row."""
    advice = "run `vbhc validate` on the extract and prepare its accepted tables"
    if exc.row is None:
        return InputError(f"{exc} ({advice})")
    if source_rows is None:
        return InputError(f"{exc} (row counted among the PROM item rows chosen for the episodes; {advice})")
    message = str(exc).split(": ", 1)[1]  # without the scorer's "table ..., row ...: " prefix
    return InputError(
        f"{message} ({advice})", table=exc.table, column=exc.column, row=int(source_rows[exc.row]), rule=exc.rule
    )


def scored_table(scored: pd.DataFrame) -> ibis.Table:
    """The scored questionnaires as an engine table with fixed types."""
    frame = pd.DataFrame(
        {
            "person_id": scored["person_id"].astype("str"),
            "joint": scored["joint"].astype("str"),
            "instrument": scored["instrument"].astype("str"),
            "response_date": pd.to_datetime(scored["response_date"]).dt.date,
            "score": pd.to_numeric(scored["score"], errors="coerce").astype("float64"),
            **{d: pd.to_numeric(scored[d], errors="coerce").astype("float64") for d in EQ5D_DIMENSIONS},
        }
    )
    schema = ibis.schema(
        {
            "person_id": "string",
            "joint": "string",
            "instrument": "string",
            "response_date": "date",
            "score": "float64",
            **{d: "float64" for d in EQ5D_DIMENSIONS},
        }
    )
    table = ibis.memtable(pa.Table.from_pandas(frame, schema=schema.to_pyarrow(), preserve_index=False))
    # missing scores must be nulls on every engine: Spark keeps NaN, which compares
    # greater than any number
    numbers = {c: ibis.cases((table[c].isnan(), ibis.null("float64")), else_=table[c]) for c in ["score", *EQ5D_DIMENSIONS]}
    return table.mutate(**numbers)


def prom_features(chosen: ibis.Table, scored: ibis.Table) -> ibis.Table:
    """One row per episode with the PROM columns of the episode table."""
    j = chosen.join(scored, QUESTIONNAIRE_KEY)
    oxford = j.instrument.isin(list(OXFORD.values()))
    aggs: dict[str, ibis.Value] = {}
    for tp, suffix in (("pre", "pre"), ("3m", "3m"), ("12m", "12m")):
        at = j.timepoint == tp
        aggs[f"oxford_{suffix}"] = j.score.max(where=at & oxford)
        aggs[f"eq5d_{suffix}"] = j.score.max(where=at & (j.instrument == EQ5D))
        aggs[f"eqvas_{suffix}"] = j.score.max(where=at & (j.instrument == EQVAS))
        aggs[f"pain_{suffix}"] = j.score.max(where=at & (j.instrument == PAIN))
    pre_eq5d = (j.timepoint == "pre") & (j.instrument == EQ5D)
    for dim in EQ5D_DIMENSIONS:
        aggs[f"eq5d_pre_{dim.lower()}"] = j[dim].max(where=pre_eq5d)
    return j.group_by("episode_id").aggregate(**aggs)
