"""Settings of one ``vbhc generate`` run, validated with messages that name the option."""

from __future__ import annotations

from pydantic import Field, model_validator

from vbhc.core.config import Settings
from vbhc.synth._catalogue import HOSPITALS, MIN_HOSPITALS

BLOCK_PERSONS = 10_000
"""Persons generated together.  Fixed, so that a seed gives the same bytes for any N
and a run of N persons starts with exactly the persons of a smaller run."""


class GeneratorConfig(Settings):
    """What to generate: persons with a primary hip/knee replacement, the years of the
    extract, the hospitals, how much dirt and how strong the true hospital effects are."""

    persons: int = Field(ge=1, le=10_000_000, description="persons, each with >= 1 hip or knee replacement")
    seed: int = Field(ge=0, le=2**63 - 1, description="random seed; the same seed gives byte-identical files")
    start_year: int = Field(default=2010, ge=2008, le=2026, description="first calendar year of the extract")
    end_year: int = Field(default=2020, ge=2008, le=2026, description="last calendar year (extract date 31 December)")
    hospitals: int = Field(default=20, ge=MIN_HOSPITALS, le=len(HOSPITALS), description="operating hospitals")
    dirty_rate: float = Field(default=0.02, ge=0.0, le=0.2, description="share of rows per table with injected dirt")
    hospital_effect_scale: float = Field(default=1.0, ge=0.0, le=10.0, description="multiplies every true hospital effect")

    @model_validator(mode="after")
    def _years(self) -> GeneratorConfig:
        if self.end_year - self.start_year < 3:
            raise ValueError(
                f"end_year ({self.end_year}) must be at least 3 years after start_year ({self.start_year}): "
                "an episode needs 2 years of look-back and 1 year of follow-up"
            )
        return self

    @property
    def extract_date(self) -> str:
        return f"{self.end_year}-12-31"
