"""The fixed context of a run: settings, parameters, code lists, price levels, the
hospitals with their true effects, and the code vocabularies shared by every block."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vbhc.core.codelists import CodeLists, load_codelists
from vbhc.core.prices import PriceLevels, load_price_levels
from vbhc.synth import _catalogue as cat
from vbhc.synth._calendar import day_number
from vbhc.synth._config import GeneratorConfig
from vbhc.synth._frame import Vocab
from vbhc.synth._params import model_parameters

JOINTS = ("hip", "knee")
SIDES = ("left", "right")
KINDS = ("elective", "acute_fracture", "cancer", "under_18", "later_same_side")
INDICATIONS = ("primary_osteoarthritis", "rheumatoid_arthritis", "osteonecrosis", "dysplasia",
               "fracture_sequelae", "other", "acute_fracture", "cancer")
SMOKING = ("never", "former", "current")
CONTACT_TYPES = ("inpatient", "outpatient", "emergency", "telemedicine")
COST_CATEGORIES = ("drg_tariff", "dags_tariff", "implant", "medicine", "primary_care",
                   "municipal_rehabilitation", "home_care")
BENEFITS = ("sickness_benefit", "unemployment_benefit", "flex_job", "early_retirement",
            "disability_pension", "state_pension")
COMPLICATION_TYPES = ("infection", "dislocation", "vte", "periprosthetic_fracture", "wound")

_YEAR0 = 1990
EFFECT_OUTCOMES = ("oxford_12m", "oxford_3m", "complication_90d", "readmission_90d", "reoperation_2y",
                   "death_90d", "los_days", "return_to_work_6m")
# Outcomes without a GLM of their own: the hospital effect is the mean over its episodes of
# the expected value with minus without the hospital's effects (truth/hospitals).
DERIVED_EFFECT_OUTCOMES = ("mic_12m", "eq5d_12m", "eq5d_gain_12m", "readmission_30d", "revision_2y", "cost_1y_dkk")


@dataclass
class Hospitals:
    code: np.ndarray
    name: np.ndarray
    region: np.ndarray
    private: np.ndarray
    weight: np.ndarray
    effects: dict[str, np.ndarray]
    private_los_shift: np.ndarray

    @property
    def n(self) -> int:
        return len(self.code)


@dataclass
class World:
    cfg: GeneratorConfig
    params: dict[str, Any]
    codelists: CodeLists
    prices: PriceLevels
    hospitals: Hospitals
    data_start: int
    data_end: int
    dx: Vocab = field(default_factory=lambda: Vocab([]))
    px: Vocab = field(default_factory=lambda: Vocab([]))
    drg: Vocab = field(default_factory=lambda: Vocab([]))
    dept: Vocab = field(default_factory=lambda: Vocab([]))
    comorbidities: tuple[str, ...] = ()
    comorbidity_dx: dict[str, np.ndarray] = field(default_factory=dict)
    comorbidity_of_dx: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int16))
    complication_of_dx: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int16))
    _index_table: np.ndarray | None = None

    # -- prices -------------------------------------------------------------------
    def price_index(self, years: np.ndarray | int) -> np.ndarray:
        """Health price index (2016 = 1) of each year, by table lookup."""
        if self._index_table is None:
            known = self.prices.health_price_index
            table = np.full(max(known) - _YEAR0 + 1, np.nan)
            for year, value in known.items():
                table[year - _YEAR0] = value
            self._index_table = table
        return self._index_table[np.asarray(years, dtype=np.int64) - _YEAR0]

    def tariff_nominal(self, drg_codes: np.ndarray, years: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nominal (tariff, per-day) DKK of each DRG/DAGS code index in each year."""
        base, per_day, trend = self._tariff_arrays()
        idx = self.price_index(years)
        real = (1.0 + trend[drg_codes]) ** (np.asarray(years) - 2016)
        return np.round(base[drg_codes] * real * idx), np.round(np.nan_to_num(per_day[drg_codes]) * idx)

    def tariff_real(self, drg_codes: np.ndarray, years: np.ndarray) -> np.ndarray:
        """Tariff at 2016 prices (the real-terms trend of arthroplasty groups included)."""
        base, _, trend = self._tariff_arrays()
        return base[drg_codes] * (1.0 + trend[drg_codes]) ** (np.asarray(years) - 2016)

    def _tariff_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        t = [cat.TARIFFS[cat.TARIFF_INDEX[c]] for c in self.drg.values]
        base = np.array([x.tariff_2016 for x in t])
        per_day = np.array([np.nan if x.per_day_2016 is None else x.per_day_2016 for x in t])
        trend = np.array([x.real_trend for x in t])
        return base, per_day, trend

    def trim_days(self) -> np.ndarray:
        t = [cat.TARIFFS[cat.TARIFF_INDEX[c]] for c in self.drg.values]
        return np.array([10_000 if x.trim_days is None else x.trim_days for x in t])

    def per_day_2016(self) -> np.ndarray:
        t = [cat.TARIFFS[cat.TARIFF_INDEX[c]] for c in self.drg.values]
        return np.array([0.0 if x.per_day_2016 is None else x.per_day_2016 for x in t])


def hospital_seed(seed: int) -> np.random.SeedSequence:
    return np.random.SeedSequence(entropy=seed, spawn_key=(0,))


def block_seed(seed: int, block: int) -> np.random.SeedSequence:
    return np.random.SeedSequence(entropy=seed, spawn_key=(1, block))


def build_world(cfg: GeneratorConfig) -> World:
    """Load code lists and prices, pick the hospitals and draw their true effects."""
    params = model_parameters()
    codelists = load_codelists()
    prices = load_price_levels()
    bad = cat.check_background_codes(codelists)
    if bad:
        raise AssertionError(f"ordinary-life codes match pathway code lists: {bad}")
    world = World(
        cfg=cfg,
        params=params,
        codelists=codelists,
        prices=prices,
        hospitals=_draw_hospitals(cfg, params),
        data_start=day_number(f"{cfg.start_year}-01-01"),
        data_end=day_number(cfg.extract_date),
    )
    _build_vocabularies(world)
    return world


def _draw_hospitals(cfg: GeneratorConfig, params: dict[str, Any]) -> Hospitals:
    rng = np.random.default_rng(hospital_seed(cfg.seed))
    chosen = cat.HOSPITALS[: cfg.hospitals]
    n = len(chosen)
    quality = rng.standard_normal(n)
    rho = params["hospital_effects"]["quality_correlation"]
    private = np.array([h.ownership == "private" for h in chosen])
    effects = {}
    for outcome in EFFECT_OUTCOMES:
        spec = params["outcomes"][outcome]
        own = rng.standard_normal(n)
        raw = spec["hospital_effect_sd"] * spec["hospital_effect_direction"] * (rho * quality + np.sqrt(1 - rho**2) * own)
        effects[outcome] = cfg.hospital_effect_scale * raw
    shift = params["outcomes"]["los_days"]["private_hospital_shift"]
    return Hospitals(
        code=np.array([h.code for h in chosen], dtype=object),
        name=np.array([h.name for h in chosen], dtype=object),
        region=np.array([h.region for h in chosen]),
        private=private,
        weight=np.array([h.volume_weight for h in chosen], dtype=float),
        effects=effects,
        private_los_shift=cfg.hospital_effect_scale * shift * private,
    )


def _build_vocabularies(world: World) -> None:
    cl = world.codelists
    dx = world.dx
    world.comorbidities = tuple(cl.charlson.components) + ("anxiety_depression",)
    comorbidity_codes = cat.comorbidity_codes(cl)
    for codes in comorbidity_codes.values():
        for c in codes:
            dx.add(c)
    for spec, _ in cat.COMPLICATION_CODING.values():
        for joint_codes in spec.values():
            for c in joint_codes:
                dx.add(c)
    for ind in cl.indication_diagnoses.values():
        for c in ind.hip + ind.knee:
            dx.add(c)
    for table in (cat.BACKGROUND_OUTPATIENT, cat.BACKGROUND_EMERGENCY, cat.BACKGROUND_ACUTE_INPATIENT,
                  cat.BACKGROUND_ELECTIVE_INPATIENT):
        for d, *_ in table:
            dx.add(d)
    for d in cat.BACKGROUND_SECONDARY:
        dx.add(d)
    for d, _, _ in cat.GENERIC_READMISSIONS:
        dx.add(d)
    for d in ("DZ478", "DZ966"):
        dx.add(d)
    world.comorbidity_dx = {k: dx.codes(v) for k, v in comorbidity_codes.items()}
    # which comorbidity / complication type each diagnosis code belongs to (-1 = none)
    comps = {name: c.codes for name, c in cl.charlson.components.items()}
    comps["anxiety_depression"] = list(cl.anxiety_depression)
    world.comorbidity_of_dx = np.array(
        [next((i for i, name in enumerate(world.comorbidities) if cat.matches(code, comps[name])), -1)
         for code in dx.values], dtype=np.int16)
    world.complication_of_dx = np.array(
        [next((i for i, t in enumerate(COMPLICATION_TYPES) if cat.matches(code, cl.complications[t])), -1)
         for code in dx.values], dtype=np.int16)
    px = world.px
    for joint in JOINTS:
        for kind in ("total", "partial"):
            for c in getattr(cl.index_procedures[joint], kind):
                px.add(c)
        for c in cat.REVISION_CODES[joint] + cat.OTHER_REOPERATION_CODES[joint]:
            px.add(c)
    for c, _, _ in cat.BACKGROUND_PROCEDURES:
        px.add(c)
    for t in cat.TARIFFS:
        world.drg.add(t.code)
    for code in world.hospitals.code:
        for suffix in cat.DEPARTMENTS.values():
            world.dept.add(code + suffix)
