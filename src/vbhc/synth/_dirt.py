"""Dirt of real registry extracts, injected at ``--dirty-rate`` and recorded row by row.

Per raw table ``round(rate x rows)`` dirty rows are added or changed, split over the
kinds in ``parameters["dirt"]["tables"]``.  Kinds that need a particular row (a split
needs an index stay of at least 6 hours, a late registration room before death, a
missing-item code an unanswered item) may run out of such rows at high rates; what they
cannot inject is added as duplicate rows instead, so every table gets its full share,
and ``truth/dirt`` records every row as the kind actually injected.  Most dirt is *added* rows that validation
rejects (duplicates, future dates, unknown codes, orphan keys, negative or impossible
amounts, out-of-range answers for unanswered items), so the accepted rows are the clean
data and the truth is unchanged.  Split and overlapping index stays and registry dates
recorded 1-3 days late are dirt that the episode builder cleans (stay joining, registry
matching within 3 days): truth unchanged.  Two kinds destroy information and are
recorded in the truth's ``dirt_lost``: an impossible BMI (decimal point lost) makes the
register record unusable (the episode is lost), and an impossible answer to an answered
Oxford item removes that answer (the score is imputed or lost).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vbhc.schemas import load_schema
from vbhc.synth._calendar import MINUTES_PER_DAY
from vbhc.synth._frame import uniform_int
from vbhc.synth._tables import dates, keys, person_pseudonyms, timestamps
from vbhc.synth._world import World

DIRT_COLUMNS = ("table", "kind", "column", "row_key", "person_id", "episode_id", "destructive", "detected_by")
FALLBACK_KIND = "duplicate_row"  # injected instead of what a kind could not (it has no row to change)
UNKNOWN_DRG_CODES = ("08MP99", "08MA99", "30PR99", "04MA99")  # well-formed DRG/DAGS codes without a tariff


class DirtLog:
    """Collects one record per dirty row and the truth values each destroys."""

    def __init__(self) -> None:
        self.rows: dict[str, list] = {c: [] for c in DIRT_COLUMNS}
        self.lost: dict[int, set[str]] = {}  # episode row -> lost value tokens

    def add(self, table: str, kind: str, column: str | None, row_keys: list[str], person_ids: list[str | None],
            detected_by: str | None, destructive: bool = False, episode_ids: list[str | None] | None = None) -> None:
        n = len(row_keys)
        self.rows["table"] += [table] * n
        self.rows["kind"] += [kind] * n
        self.rows["column"] += [column] * n
        self.rows["row_key"] += row_keys
        self.rows["person_id"] += person_ids
        self.rows["episode_id"] += episode_ids if episode_ids is not None else [None] * n
        self.rows["destructive"] += [destructive] * n
        self.rows["detected_by"] += [detected_by] * n

    @property
    def n(self) -> int:
        """Dirty rows recorded so far."""
        return len(self.rows["kind"])

    def lose(self, episode_rows: np.ndarray, token: str) -> None:
        for e in np.asarray(episode_rows).tolist():
            self.lost.setdefault(int(e), set()).add(token)


def row_keys(name: str, t: pa.Table) -> list[str]:
    """Primary-key values joined by '|' (dates as YYYY-MM-DD, null as empty)."""
    cols = [pc.fill_null(pc.cast(t[c], pa.string()), "") for c in load_schema(name).primary_key]
    if len(cols) == 1:
        return cols[0].to_pylist()
    return pc.binary_join_element_wise(*cols, "|").to_pylist()


def _pids(t: pa.Table) -> list[str | None]:
    return t["person_id"].to_pylist() if "person_id" in t.column_names else [None] * t.num_rows


def allocate(rate: float, n_rows: int, shares: dict[str, float]) -> dict[str, int]:
    """Dirty rows per kind: round(rate x rows) split by shares (largest remainder)."""
    total = int(round(rate * n_rows))
    raw = {k: total * s / sum(shares.values()) for k, s in shares.items()}
    out = {k: int(np.floor(v)) for k, v in raw.items()}
    for k in sorted(raw, key=lambda k: (out[k] - raw[k], k))[: total - sum(out.values())]:
        out[k] += 1
    return out


def _replace(t: pa.Table, column: str, rows: np.ndarray, values: pa.Array) -> pa.Table:
    """Table with ``column`` replaced at ``rows`` by ``values`` (in row order)."""
    order = np.argsort(rows)
    mask = np.zeros(t.num_rows, bool)
    mask[rows] = True
    col = t[column].combine_chunks()
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    new = pc.replace_with_mask(col, pa.array(mask), values.take(pa.array(order)).cast(col.type))
    return t.set_column(t.column_names.index(column), t.schema.field(column), new)


def _with(t: pa.Table, **columns: pa.Array) -> pa.Table:
    for name, values in columns.items():
        field = t.schema.field(name)
        t = t.set_column(t.column_names.index(name), field, values.cast(field.type))
    return t


def _sample(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """Up to ``k`` distinct sorted row numbers of ``n`` (fewer when n < k: the caller
    logs what it injects and the shortfall becomes duplicate rows)."""
    k = min(k, n)
    return np.sort(rng.choice(n, size=k, replace=False)) if k else np.zeros(0, np.int64)


class Injector:
    """Dirt for the raw tables of one block."""

    def __init__(self, rng: np.random.Generator, world: World, block: int, tables: dict[str, pa.Table], ctx: dict):
        self.rng, self.world, self.block, self.t, self.ctx = rng, world, block, tables, ctx
        self.log = DirtLog()
        self.extract_end = world.data_end
        self.orphan_pids = person_pseudonyms(world, np.arange(10**12 + block * 10**6, 10**12 + block * 10**6 + 1000))

    def run(self) -> tuple[dict[str, pa.Table], DirtLog]:
        spec = self.world.params["dirt"]["tables"]
        rate = self.world.cfg.dirty_rate
        first = ("late_registration", "out_of_range", "split_contact", "overlapping_contact")  # change rows first
        for name in ("patients", "contacts", "diagnoses", "procedures", "arthroplasty_registry", "prom_responses",
                     "costs", "transfer_payments"):
            if FALLBACK_KIND not in spec[name]:
                raise ValueError(f"parameters dirt.tables.{name}: needs {FALLBACK_KIND!r} (takes up the shortfall)")
            counts = allocate(rate, self.t[name].num_rows, spec[name])
            added = []
            shortfall = 0
            kinds = [k for k in counts if k != FALLBACK_KIND]
            for kind in sorted(kinds, key=lambda k: (k not in first, kinds.index(k))):
                k = counts[kind]
                if k:
                    logged = self.log.n
                    extra = getattr(self, f"_{kind}")(name, k)
                    shortfall += k - (self.log.n - logged)
                    if extra is not None and extra.num_rows:
                        added.append(extra)
            k = counts[FALLBACK_KIND] + shortfall
            if k:
                added.append(self._duplicate_row(name, k))
            if added:
                self.t[name] = pa.concat_tables([self.t[name], *added])
        return self.t, self.log

    # -- additive kinds (validation rejects the rows; truth unchanged) -------------------
    def _duplicate_row(self, name: str, k: int) -> pa.Table:
        rows = self.t[name].take(pa.array(_sample(self.rng, self.t[name].num_rows, k)))
        self.log.add(name, "duplicate_row", None, row_keys(name, rows), _pids(rows), "primary_key")
        return rows

    def _template(self, name: str, k: int) -> pa.Table:
        return self.t[name].take(pa.array(self.rng.integers(0, self.t[name].num_rows, k)))

    def _new_ids(self, name: str, k: int) -> pa.Array:
        prefix, width = {"contacts": ("K", 8), "costs": ("C", 9), "prom_responses": ("R", 8)}[name]
        start = self.ctx[f"next_{name}"]
        self.ctx[f"next_{name}"] = start + k
        return keys(prefix, self.block, np.arange(start, start + k), width)

    def _future_date(self, name: str, k: int) -> pa.Table:
        rows = self._template(name, k)
        day = self.extract_end + uniform_int(self.rng, 1, 400, k)
        if name == "contacts":
            start = day * MINUTES_PER_DAY + uniform_int(self.rng, 480, 900, k)
            rows = _with(rows, contact_id=self._new_ids(name, k), start_time=timestamps(start),
                         end_time=timestamps(start + 30), contact_type=pa.array(["outpatient"] * k),
                         is_acute=pa.array(np.zeros(k, bool)))
            column = "start_time"
        elif name == "procedures":
            rows = _with(rows, procedure_date=dates(day), procedure_code=pa.array(["UXRC40"] * k),
                         laterality=pa.nulls(k, pa.string()))
            column = "procedure_date"
        elif name == "costs":
            rows = _with(rows, cost_id=self._new_ids(name, k), cost_date=dates(day))
            column = "cost_date"
        else:  # prom_responses
            rows = _with(rows, response_id=self._new_ids(name, k), response_date=dates(day))
            column = "response_date"
        self.log.add(name, "future_date", column, row_keys(name, rows), _pids(rows), "not_in_future")
        return rows

    def _orphan_key(self, name: str, k: int) -> pa.Table:
        rows = self._template(name, k)
        if name in ("diagnoses", "procedures"):
            ghost = keys("K", self.block, 99_999_999 - np.arange(k), 8)
            rows = _with(rows, contact_id=ghost)
            column, target = "contact_id", "contacts"
        else:
            pid = self.orphan_pids.take(pa.array(self.rng.integers(0, len(self.orphan_pids), k)))
            rows = _with(rows, person_id=pid)
            if name in ("contacts", "costs", "prom_responses"):
                rows = _with(rows, **{load_schema(name).primary_key[0]: self._new_ids(name, k)})
            if name == "costs":
                rows = _with(rows, contact_id=pa.nulls(k, pa.string()))
            if name == "transfer_payments":
                rows = _with(rows, year_week=pa.array(self._spare_weeks(k), pa.int32()))
            column, target = "person_id", "patients"
        self.log.add(name, "orphan_key", column, row_keys(name, rows), _pids(rows), f"foreign_key:{target}")
        return rows

    def _unknown_code(self, name: str, k: int) -> pa.Table:
        """Codes outside the allowed values or pattern, and (contacts, costs) well-formed
        codes absent from the reference: a department of another hospital, a DRG/DAGS
        group without a tariff in its year."""
        half = k // 2 if name in ("contacts", "costs") else 0
        parts = [self._malformed_code(name, k - half)]
        if half:
            parts.append(self._unreferenced_code(name, half))
        return pa.concat_tables(parts)

    def _malformed_code(self, name: str, k: int) -> pa.Table:
        rows = self._template(name, k)
        bad = lambda values: pa.array([values[i] for i in self.rng.integers(0, len(values), k)])  # noqa: E731
        if name == "contacts":
            rows = _with(rows, contact_id=self._new_ids(name, k), contact_type=bad(["ambulant", "indlagt", "skadestue"]))
            column, check = "contact_type", "allowed"
        elif name == "diagnoses":
            codes = pc.utf8_slice_codeunits(rows["diagnosis_code"], 1)  # leading D dropped (ICD-10 without SKS prefix)
            rows = _with(rows, diagnosis_code=codes, diagnosis_type=pa.array(["B"] * k))
            column, check = "diagnosis_code", "pattern"
        elif name == "procedures":
            rows = _with(rows, procedure_code=pc.utf8_lower(rows["procedure_code"]))
            column, check = "procedure_code", "pattern"
        elif name == "prom_responses":
            rows = _with(rows, response_id=self._new_ids(name, k), instrument=bad(["OHS-12", "EQ5D", "KOOS"]))
            column, check = "instrument", "allowed"
        elif name == "costs":
            rows = _with(rows, cost_id=self._new_ids(name, k), cost_category=bad(["rehab", "drg", "laegemidler"]))
            column, check = "cost_category", "allowed"
        else:  # transfer_payments
            rows = _with(rows, benefit_code=bad(["sygedagpenge", "kontanthjaelp", "SB"]),
                         year_week=pa.array(self._spare_weeks(k), pa.int32()))
            column, check = "benefit_code", "allowed"
        self.log.add(name, "unknown_code", column, row_keys(name, rows), _pids(rows), f"{check}:{column}")
        return rows

    def _unreferenced_code(self, name: str, k: int) -> pa.Table:
        """Well-formed codes that the reference does not know (validation needs the
        reference to find them): contacts with a department of another hospital, DRG
        tariff costs of a group that has no tariff."""
        rows = self._template(name, k)
        if name == "contacts":
            codes = pa.array(list(self.world.hospitals.code), pa.string())
            own = pc.index_in(rows["hospital_id"], value_set=codes).to_numpy(zero_copy_only=False)
            other = (own + self.rng.integers(1, len(codes), k)) % len(codes)
            dept = pc.binary_join_element_wise(codes.take(pa.array(other)), pa.array(["030"] * k, pa.string()), "")
            rows = _with(rows, contact_id=self._new_ids(name, k), department_id=dept)
            column, rule = "department_id", "department_of_hospital"
        else:  # costs
            codes = pa.array([UNKNOWN_DRG_CODES[i] for i in self.rng.integers(0, len(UNKNOWN_DRG_CODES), k)], pa.string())
            rows = _with(rows, cost_id=self._new_ids(name, k), cost_category=pa.array(["drg_tariff"] * k, pa.string()),
                         drg_code=codes)
            column, rule = "drg_code", "foreign_key:drg_tariffs"
        self.log.add(name, "unknown_code", column, row_keys(name, rows), _pids(rows), rule)
        return rows

    def _spare_weeks(self, k: int) -> np.ndarray:
        """ISO weeks of the year before the extract (no real row there) for added DREAM rows."""
        return (self.world.cfg.start_year - 1) * 100 + self.rng.integers(1, 53, k)

    def _negative_amount(self, name: str, k: int) -> pa.Table:
        rows = self._template(name, k)
        rows = _with(rows, cost_id=self._new_ids(name, k), amount_dkk=pc.negate(rows["amount_dkk"]))
        self.log.add(name, "negative_amount", "amount_dkk", row_keys(name, rows), _pids(rows), "range:amount_dkk")
        return rows

    def _end_before_start(self, name: str, k: int) -> pa.Table:
        rows = self._template(name, k)
        rows = _with(rows, contact_id=self._new_ids(name, k),
                     end_time=pc.subtract(rows["start_time"], pa.scalar(90 * 60 * 10**6, pa.duration("us"))))
        self.log.add(name, "end_before_start", "end_time", row_keys(name, rows), _pids(rows),
                     "end_not_before_start")
        return rows

    def _missing_code(self, name: str, k: int) -> pa.Table:
        """Unanswered Oxford items recorded with the paper form's missing code 9."""
        holes = self.ctx["prom_holes"]
        pick = _sample(self.rng, len(holes["response_row"]), k)
        if not len(pick):
            return None
        rows = self.t[name].take(pa.array(holes["response_row"][pick]))
        rows = _with(rows, item=pa.array(holes["item"][pick], pa.string()), answer=pa.array(np.full(len(pick), 9.0)))
        self.log.add(name, "missing_code", "answer", row_keys(name, rows), _pids(rows), "answer_on_instrument_scale")
        return rows

    # -- out of range: added rows, or destroyed values ---------------------------------
    def _out_of_range(self, name: str, k: int) -> pa.Table | None:
        if name == "costs":
            rows = self._template(name, k)
            rows = _with(rows, cost_id=self._new_ids(name, k),
                         amount_dkk=pa.array(np.round(self.rng.uniform(5.5e6, 9.9e7, k), 2)))
            self.log.add(name, "out_of_range", "amount_dkk", row_keys(name, rows), _pids(rows), "range:amount_dkk")
            return rows
        if name == "transfer_payments":
            rows = self._template(name, k)
            weeks = (self.world.cfg.start_year + self.rng.integers(0, 3, k)) * 100 + self.rng.choice([0, 54, 60, 99], k)
            rows = _with(rows, year_week=pa.array(weeks, pa.int32()))
            self.log.add(name, "out_of_range", "year_week", row_keys(name, rows), _pids(rows), "valid_iso_week")
            return rows
        if name == "arthroplasty_registry":
            return self._registry_bmi(k)
        return self._prom_answer(k)

    def _registry_bmi(self, k: int) -> None:
        """BMI with the decimal point lost (28.4 -> 284): the record is rejected and its
        episode cannot be built."""
        t = self.t["arthroplasty_registry"]
        has = np.flatnonzero(t["bmi"].is_valid().to_numpy(zero_copy_only=False))
        rows = has[_sample(self.rng, len(has), k)]
        if not len(rows):
            return None
        self.t["arthroplasty_registry"] = _replace(t, "bmi", rows, pc.multiply(t["bmi"].take(pa.array(rows)), 10.0))
        changed = self.t["arthroplasty_registry"].take(pa.array(rows))
        episode = self.ctx["registry_episode"][rows]
        self.log.add("arthroplasty_registry", "out_of_range", "bmi", row_keys("arthroplasty_registry", changed),
                     _pids(changed), "range:bmi", destructive=True, episode_ids=self._episode_ids(episode))
        self.log.lose(episode[episode >= 0], "episode")

    def _prom_answer(self, k: int) -> None:
        """An answered Oxford item with an impossible answer: rejected, so the score is
        computed from the other items (or not at all)."""
        t = self.t["prom_responses"]
        oxford = self.ctx["prom_oxford_rows"]
        rows = oxford[_sample(self.rng, len(oxford), k)]
        if not len(rows):
            return None
        self.t["prom_responses"] = _replace(t, "answer", rows, pa.array(np.full(len(rows), 44.0)))
        changed = self.t["prom_responses"].take(pa.array(rows))
        episodes = self.ctx["prom_row_episodes"](rows)  # (m, 2): the operation's episode and a bilateral partner
        tokens = self.ctx["prom_tokens"](rows)
        self.log.add("prom_responses", "out_of_range", "answer", row_keys("prom_responses", changed), _pids(changed),
                     "answer_on_instrument_scale", destructive=True, episode_ids=self._episode_ids(episodes[:, 0]))
        for token in np.unique(tokens):
            for side in range(2):
                sel = (tokens == token) & (episodes[:, side] >= 0)
                self.log.lose(episodes[sel, side], str(token))

    # -- dirt the episode builder cleans --------------------------------------------------
    def _late_registration(self, name: str, k: int) -> None:
        """Register operation date recorded 1-3 days after the LPR procedure date."""
        t = self.t[name]
        ok = np.flatnonzero(self.ctx["registry_shift_room"] >= 1)
        rows = ok[_sample(self.rng, len(ok), k)]
        if not len(rows):
            return None
        shift = np.minimum(self.rng.integers(1, 4, len(rows)), self.ctx["registry_shift_room"][rows])
        day = self.ctx["registry_day"][rows] + shift
        self.t[name] = _replace(t, "operation_date", rows, dates(day))
        changed = self.t[name].take(pa.array(rows))
        self.log.add(name, "late_registration", "operation_date", row_keys(name, changed), _pids(changed), None,
                     episode_ids=self._episode_ids(self.ctx["registry_episode"][rows]))

    def _split_contact(self, name: str, k: int) -> pa.Table:
        return self._split(k, overlap=False)

    def _overlapping_contact(self, name: str, k: int) -> pa.Table:
        return self._split(k, overlap=True)

    def _split(self, k: int, overlap: bool) -> pa.Table:
        """An index stay registered as two contacts at the same hospital (a transfer
        between departments): the second starts at most 3 hours after, or before, the
        first ends; admission and discharge of the joined stay are unchanged."""
        t = self.t["contacts"]
        free = self.ctx["splittable"]
        pick = _sample(self.rng, len(free), k)
        rows = free[pick]
        if not len(rows):
            return None
        self.ctx["splittable"] = np.delete(free, pick)
        start = self.ctx["contact_start"][rows]
        end = self.ctx["contact_end"][rows]
        cut = start + ((end - start) * self.rng.uniform(0.3, 0.7, len(rows))).astype(np.int64)
        second_start = cut - uniform_int(self.rng, 30, 240, len(rows)) if overlap else cut + uniform_int(
            self.rng, 0, 180, len(rows))
        second_start = np.clip(second_start, start + 10, end - 30)  # inside the stay: admission, discharge kept
        self.t["contacts"] = _replace(t, "end_time", rows, timestamps(cut))
        part = t.take(pa.array(rows))
        dept = pc.binary_join_element_wise(pc.utf8_slice_codeunits(part["hospital_id"], 0, 4),
                                           pa.array(["017"] * len(rows), pa.string()), "")
        part = _with(part, contact_id=self._new_ids("contacts", len(rows)), start_time=timestamps(second_start),
                     department_id=dept)
        kind = "overlapping_contact" if overlap else "split_contact"
        self.log.add("contacts", kind, "start_time", row_keys("contacts", part), _pids(part), None,
                     episode_ids=self._episode_ids(self.ctx["contact_episode"][rows]))
        return part

    def _episode_ids(self, episode_rows: np.ndarray) -> list[str | None]:
        ids = self.ctx["episode_ids"]
        return [ids[e] if e >= 0 else None for e in np.asarray(episode_rows).tolist()]
