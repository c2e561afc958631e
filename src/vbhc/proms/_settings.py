"""PROM scoring settings (``pipelines/proms.yaml``): value set, missing-item rule, thresholds.

The numbers live in the YAML file, not here; this module only types and checks them.
Sources of the defaults shipped in ``pipelines/proms.yaml``:

- ``eq5d_value_set: dk_5l``: Danish EQ-5D-5L value set, Jensen et al., Appl Health
  Econ Health Policy 2021;19:579-591 (the set for Danish 5L data).
- ``oxford_max_missing_items: 2``: Oxford University Innovation user guide (2016).
- ``minimal_important_change``: OHS 8 / OKS 7 points, individual-level MIC (ROC) from
  82,415 hips and 94,015 knees in NHS PROMs, J Clin Epidemiol 2015;68(1):73-9
  (PubMed 25441700), also used for primary THR/TKR responders by Sabah et al., J Clin
  Epidemiol 2022;143:159-68.  EQ-5D index: knee 0.085 and EQ-VAS knee 6.41 (MCID after
  primary knee arthroplasty, n = 3,181, Bone Joint Res 2022, doi
  10.1302/2046-3758.119.BJR-2022-0054.R1); hip 0.31 and EQ-VAS hip 23 (MCII 1 year
  after THA, n = 1,335, Paulsen et al., Acta Orthop 2014, doi 10.3109/17453674.2013.867782).
  Both EQ-5D values were estimated on EQ-5D-3L.
- ``acceptable_state`` (PASS: a score at or above it is acceptable), keyed by operation
  type because the studies are: after ``total`` replacement, OHS 34 / 40 / 39 at 3 / 12 /
  24 months (597 THA, Galea et al., Acta Orthop 2020;91:372-7) and 42 at mid-term (mean
  3 years; 550 THR, Bone Joint Res 2014;3:7-13), OKS 37 at mid-term (367 TKR, same study),
  EQ-5D 0.92 and EQ-VAS 85 at 1 year after THA (Paulsen 2014); after ``unicompartmental``
  knee arthroplasty (UKA) only, OKS 28.9 / 32.7 / 31.3 at 3 / 12 / 24 months (Danish UKA,
  Harris et al., Acta Orthop).  The reference has no TKA value at 3, 12 or 24 months.
- ``oxford_bands``: patient-facing bands 0-19 "may indicate severe arthritis", 20-29
  moderate to severe, 30-39 mild to moderate, 40-48 satisfactory joint function (OUI).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from vbhc.core.config import Settings, load_config
from vbhc.core.paths import pipelines_dir
from vbhc.proms._instruments import SCORE_DIRECTION

Joint = Literal["hip", "knee"]
Operation = Literal["total", "unicompartmental"]
"""Operation type a PASS value was estimated on: total hip/knee replacement, or
unicompartmental knee arthroplasty (UKA)."""
Threshold = float | dict[Joint, float]
"""One value for both joints, or one per joint (``{hip: 0.31, knee: 0.085}``)."""


class OxfordBand(Settings):
    """A band of the Oxford score: ``lower`` (inclusive, points) up to the next band's lower."""

    lower: float = Field(ge=0, le=48)
    label: str


class PromSettings(Settings):
    """How vbhc scores PROMs: the EQ-5D value set, the Oxford missing-item rule and the
    thresholds that turn scores into outcome flags (MIC, PASS, bands)."""

    eq5d_value_set: str = Field(description="value-set id for EQ-5D-5L answers (see `vbhc proms value-sets`)")
    oxford_max_missing_items: int = Field(ge=0, le=11, description="most missing items still scored (OUI: 2)")
    minimal_important_change: dict[str, Threshold] = Field(
        description="individual-level minimal important change per score, points on its scale"
    )
    acceptable_state: dict[Operation, dict[str, dict[int, Threshold]]] = Field(
        description="patient acceptable symptom state per operation type, score and months after surgery"
    )
    oxford_bands: list[OxfordBand] = Field(min_length=1)

    @field_validator("eq5d_value_set")
    @classmethod
    def _known_5l_set(cls, v: str) -> str:
        from vbhc.proms._valuesets import _registry

        registry = _registry()
        if v not in registry:
            raise ValueError(f"unknown value set {v!r}; available: {', '.join(registry)}")
        if registry[v].instrument != "5L":
            raise ValueError(f"value set {v!r} scores EQ-5D-3L answers; PRO data are EQ-5D-5L")
        return v

    @field_validator("minimal_important_change")
    @classmethod
    def _known_scores(cls, v: dict) -> dict:
        _check_scores(v)
        return v

    @field_validator("acceptable_state")
    @classmethod
    def _known_pass_scores(cls, v: dict) -> dict:
        for by_score in v.values():
            _check_scores(by_score)
        return v

    @model_validator(mode="after")
    def _bands_ordered(self) -> PromSettings:
        lowers = [b.lower for b in self.oxford_bands]
        if lowers[0] != 0 or lowers != sorted(set(lowers)):
            raise ValueError("oxford_bands: lower bounds must start at 0 and increase")
        return self


def _check_scores(v: dict) -> None:
    unknown = sorted(set(v) - set(SCORE_DIRECTION))
    if unknown:
        raise ValueError(f"unknown scores {unknown}; expected some of {sorted(SCORE_DIRECTION)}")


@lru_cache(maxsize=1)
def _default_settings() -> PromSettings:
    return load_config(pipelines_dir() / "proms.yaml", PromSettings)


def load_prom_settings(path: str | Path | None = None) -> PromSettings:
    """Load the PROM settings (default ``pipelines/proms.yaml``); errors name file and key.

    The one source of the EQ-5D value set (``.eq5d_value_set``), the Oxford missing-item
    rule and every threshold: other stages and the CLI take their defaults from here.
    """
    return _default_settings() if path is None else load_config(path, PromSettings)
