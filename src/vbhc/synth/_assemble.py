"""A generated block as Arrow tables: the raw tables (with dirt), truth/episodes and
truth/dirt rows, and per-hospital sums for truth/hospitals."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vbhc.schemas import load_schema
from vbhc.synth import _tables as tb
from vbhc.synth._calendar import to_datetime64_days
from vbhc.synth._dirt import DIRT_COLUMNS, Injector
from vbhc.synth._frame import Frame
from vbhc.synth._generate import TIMEPOINTS, Block
from vbhc.synth._world import DERIVED_EFFECT_OUTCOMES, World

RAW_TABLES = ("patients", "contacts", "diagnoses", "procedures", "arthroplasty_registry", "prom_responses", "costs",
              "transfer_payments")
AGE_BANDS = (("18-49", 50), ("50-59", 60), ("60-69", 70), ("70-79", 80), ("80+", 200))


@dataclass
class BlockTables:
    raw: dict[str, pa.Table]
    episodes: pa.Table
    dirt: pa.Table
    hospital_sums: dict[str, np.ndarray]


def assemble(world: World, blk: Block) -> BlockTables:
    pid = blk.pid
    contact_id = tb.keys("K", blk.block, np.arange(blk.contacts.n), 8)
    proms, response_key = _order_proms(blk.proms)
    response_id = tb.keys("R", blk.block, response_key, 8)
    raw = {
        "patients": tb.patients_table(world, blk.persons, pid),
        "contacts": tb.contacts_table(world, blk.contacts, pid, contact_id),
        "diagnoses": tb.diagnoses_table(world, _with_primary(blk), contact_id),
        "procedures": tb.procedures_table(world, blk.procedures, contact_id),
        "arthroplasty_registry": tb.registry_table(world, blk.registry, pid),
        "prom_responses": tb.prom_table(world, proms, pid, response_id),
        "costs": tb.costs_table(world, blk.costs, pid, contact_id, tb.keys("C", blk.block, np.arange(blk.costs.n), 9)),
        "transfer_payments": tb.transfers_table(blk.dream, pid),
    }
    ctx = _dirt_context(world, blk, proms, response_key)
    blk.dream = blk.costs = blk.diagnoses = blk.procedures = blk.proms = None  # converted: free the memory
    dirt_rng = np.random.default_rng(np.random.SeedSequence(entropy=world.cfg.seed, spawn_key=(2, blk.block)))
    raw, log = Injector(dirt_rng, world, blk.block, raw, ctx).run()
    lost = np.full(len(blk.episode_ops), None, dtype=object)
    for e, tokens in log.lost.items():
        lost[e] = ",".join(sorted(tokens))
    episodes = _episodes_table(world, blk, lost)
    dirt = pa.Table.from_pydict({c: log.rows[c] for c in DIRT_COLUMNS}, schema=load_schema("truth_dirt").arrow_schema())
    return BlockTables(raw=raw, episodes=episodes, dirt=dirt, hospital_sums=_hospital_sums(world, blk))


def _with_primary(blk: Block) -> Frame:
    """All diagnoses: each contact's action diagnosis (A) then its secondary ones (B)."""
    a = Frame(contact=np.arange(blk.contacts.n), dx=blk.contacts["dx"], dtype=np.zeros(blk.contacts.n, np.int8))
    d = Frame.concat([a, Frame(contact=blk.diagnoses["contact"], dx=blk.diagnoses["dx"], dtype=blk.diagnoses["dtype"])])
    return d.take(np.lexsort((d["dtype"], d["contact"])))


def _order_proms(proms: Frame) -> tuple[Frame, np.ndarray]:
    """PROM rows ordered by questionnaire, and each row's questionnaire number."""
    key = (proms["tp"].astype(np.int64) * 10**8 + proms["package"]) * 8 + proms["instrument"]
    order = np.lexsort((proms["item"].astype(str), key))
    proms = proms.take(order)
    _, number = np.unique(key[order], return_inverse=True)
    return proms, number


def _dirt_context(world: World, blk: Block, proms: Frame, response_key: np.ndarray) -> dict:
    n_ep = len(blk.episode_ops)
    episode_of_op = np.full(blk.ops.n, -1)
    episode_of_op[blk.episode_ops] = np.arange(n_ep)
    partner = blk.ops["partner"]
    # PROM rows: questionnaire -> operations (a bilateral package serves both sides)
    op_ep = episode_of_op[proms["op"]]
    part = np.where(partner[proms["op"]] >= 0, episode_of_op[np.maximum(partner[proms["op"]], 0)], -1)
    oxford_rows = np.flatnonzero(np.isin(proms["instrument"], [2, 3]))
    tokens = np.array([f"oxford_{tp}" for tp in TIMEPOINTS], dtype=object)
    # holes: unanswered Oxford items of returned questionnaires
    h = blk.prom_holes
    hole_key = (h["tp"].astype(np.int64) * 10**8 + h["package"]) * 8 + h["instrument"]
    row_key = (proms["tp"].astype(np.int64) * 10**8 + proms["package"]) * 8 + proms["instrument"]
    order = np.argsort(row_key, kind="stable")
    pos = np.searchsorted(row_key[order], hole_key)
    found = (pos < len(order)) & (row_key[order][np.minimum(pos, len(order) - 1)] == hole_key)
    # registry rows: the episode, and room to record the date late (before death and extract)
    reg_op = blk.registry["op"]
    death = blk.persons["death_day"][blk.registry["person"]]
    room = np.minimum(3, np.minimum(death, world.data_end) - blk.registry["day"])
    # index stays of episodes that last into a later day can be split
    contact_episode = np.full(blk.contacts.n, -1)
    ep_contacts = blk.index_contact[blk.episode_ops]
    contact_episode[ep_contacts] = np.arange(n_ep)
    long_enough = (blk.contacts["end"][ep_contacts] - blk.contacts["start"][ep_contacts]) >= 6 * 60
    return {
        "next_contacts": blk.contacts.n, "next_costs": blk.costs.n, "next_prom_responses": int(response_key.max(initial=-1)) + 1,
        "prom_holes": {"response_row": order[pos[found]], "item": h["item"][found]},
        "prom_oxford_rows": oxford_rows,
        "prom_row_episodes": lambda rows: np.column_stack([op_ep[rows], part[rows]]),
        "prom_tokens": lambda rows: tokens[proms["tp"][rows]],
        "registry_episode": episode_of_op[reg_op], "registry_day": blk.registry["day"], "registry_shift_room": room,
        "splittable": np.unique(ep_contacts[long_enough]),
        "contact_start": blk.contacts["start"], "contact_end": blk.contacts["end"], "contact_episode": contact_episode,
        "episode_ids": blk.truth["episode_id"].tolist(),
    }


def _episodes_table(world: World, blk: Block, lost: np.ndarray) -> pa.Table:
    t = blk.truth
    schema = load_schema("truth_episodes")
    ops = blk.ops.take(blk.episode_ops)
    persons = blk.persons
    hospital = ops["hospital"]
    index_contact = blk.index_contact[blk.episode_ops]
    cols: dict[str, pa.Array] = {
        "episode_id": pa.array(t["episode_id"], pa.string()),
        "person_id": pc.take(blk.pid, pa.array(t["person"])),
        "joint": pa.array(t["joint"], pa.string()),
        "laterality": pa.array(t["laterality"], pa.string()),
        "operation_date": pa.array(to_datetime64_days(t["operation_day"]), pa.date32()),
        "hospital_id": tb.decode(list(world.hospitals.code), hospital),
        "department_id": tb.decode(world.dept.values, blk.contacts["dept"][index_contact]),
        "hospital_region_code": pa.array(world.hospitals.region[hospital]),
        "region_code": pa.array(persons["region"][t["person"]]),
        "municipality_code": pa.array(persons["municipality"][t["person"]]),
        "age_band": pa.array(_age_band(t["age"]), pa.string()),
        "drg_code_index": tb.decode(world.drg.values, t["drg_code_index"]),
        "dirt_lost": pa.array(lost, pa.string()),
    }
    for c in schema.columns:
        if c.name in cols:
            continue
        v = t[c.name]
        if c.type == "bool" and np.asarray(v).dtype != bool:
            v = np.asarray(v)
            cols[c.name] = pa.array(v == 1, mask=v < 0) if v.dtype.kind in "iu" else pa.array(v.astype(bool))
        elif c.type.startswith("int"):
            v = np.asarray(v)
            mask = v < 0 if c.nullable else None
            cols[c.name] = pa.array(np.where(v < 0, 0, v) if c.nullable else v, type=c.arrow_type, mask=mask)
        elif c.type == "float64":
            cols[c.name] = pa.array(np.asarray(v, float), pa.float64(), from_pandas=True)
        else:
            cols[c.name] = pa.array(np.asarray(v), type=c.arrow_type)
    arrays = [cols[c.name].cast(c.arrow_type) for c in schema.columns]
    return pa.Table.from_arrays(arrays, schema=schema.arrow_schema())


def _age_band(age: np.ndarray) -> np.ndarray:
    labels = np.array([b for b, _ in AGE_BANDS], dtype=object)
    return labels[np.searchsorted(np.array([u for _, u in AGE_BANDS]), age, side="right")]


def _hospital_sums(world: World, blk: Block) -> dict[str, np.ndarray]:
    h = world.hospitals.n
    ep_h = blk.ops["hospital"][blk.episode_ops]
    sums = {
        "volume": np.bincount(ep_h, minlength=h),
        "operations": np.bincount(blk.ops["hospital"], minlength=h),
    }
    for name in DERIVED_EFFECT_OUTCOMES:
        sums[f"effect_{name}"] = np.bincount(ep_h, weights=blk.truth[f"effect_part_{name}"], minlength=h)
    return sums

