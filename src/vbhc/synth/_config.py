"""Settings of one ``vbhc generate`` run, validated with messages that name the option."""

from __future__ import annotations

from pydantic import Field, model_validator

from vbhc.core.config import Settings
from vbhc.core.prices import load_price_levels
from vbhc.synth._catalogue import HOSPITALS, MIN_HOSPITALS

def price_years() -> tuple[int, int]:
    """First and last year that ``pipelines/prices.yaml`` prices (both the health price
    index and the weekly sickness benefit cover every year in between)."""
    prices = load_price_levels()
    years = set(prices.health_price_index) & set(prices.sickness_benefit_weekly_dkk)
    first, last = min(years), max(years)
    missing = sorted(set(range(first, last + 1)) - years)
    if missing:
        raise ValueError(f"pipelines/prices.yaml: no price index or sickness benefit for years {missing}")
    return first, last


BLOCK_PERSONS = 10_000
"""Persons generated together.  Fixed, so that a seed gives the same bytes for any N
and a run of N persons starts with exactly the persons of a smaller run."""


class GeneratorConfig(Settings):
    """What to generate: persons with a primary hip/knee replacement, the years of the
    extract, the hospitals, how much dirt and how strong the true hospital effects are."""

    persons: int = Field(ge=1, le=10_000_000, description="persons, each with >= 1 hip or knee replacement")
    seed: int = Field(ge=0, le=2**63 - 1, description="random seed; the same seed gives byte-identical files")
    start_year: int = Field(default=2010, ge=1990, le=2100, description="first calendar year of the extract; "
                            "from the first year of pipelines/prices.yaml")
    end_year: int = Field(default=2020, ge=1990, le=2100, description="last calendar year (extract date 31 "
                          "December); at most the last year of pipelines/prices.yaml minus 1")
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
        first, last = price_years()
        if self.start_year < first:
            raise ValueError(f"start_year ({self.start_year}) is before {first}, the first year with prices in "
                             "pipelines/prices.yaml")
        if self.end_year > last - 1:
            raise ValueError(f"end_year ({self.end_year}) must be at most {last - 1}: pipelines/prices.yaml has "
                             f"prices up to {last}, and the last days of the extract year can lie in an ISO week "
                             "of the next year (sickness benefit is priced by the week's year)")
        return self

    @property
    def extract_date(self) -> str:
        return f"{self.end_year}-12-31"
