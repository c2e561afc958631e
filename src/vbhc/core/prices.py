"""Price levels: express DKK amounts of different years in one price year.

Reads ``pipelines/prices.yaml`` (health price and wage index, sundheds-P/L, and the
weekly sickness-benefit rate).  Used by the episode builder to report costs at a
configurable price year and by the generator to set nominal tariffs by year.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydantic import model_validator

from vbhc.core.config import Settings, load_config
from vbhc.core.errors import ConfigError
from vbhc.core.paths import pipelines_dir


class PriceLevels(Settings):
    """Yearly health price index (base year = 1) and weekly sickness-benefit rate (DKK)."""

    base_year: int
    health_price_index: dict[int, float]
    sickness_benefit_weekly_dkk: dict[int, float]

    @model_validator(mode="after")
    def _check(self) -> PriceLevels:
        if abs(self.health_price_index.get(self.base_year, np.nan) - 1.0) > 1e-9:
            raise ValueError(f"health_price_index must be 1.0 in base_year {self.base_year}")
        if any(v <= 0 for v in self.health_price_index.values()):
            raise ValueError("health_price_index values must be positive")
        return self

    def index(self, years: np.ndarray | int) -> np.ndarray:
        """Index value for each year; unknown years raise :class:`ConfigError`."""
        years = np.asarray(years, dtype=int)
        missing = sorted(set(np.unique(years).tolist()) - set(self.health_price_index))
        if missing:
            raise ConfigError(f"prices: no health_price_index for years {missing}")
        lookup = np.vectorize(self.health_price_index.__getitem__, otypes=[float])
        return lookup(years) if years.ndim else np.asarray(self.health_price_index[int(years)])

    def to_price_year(self, amount_dkk: np.ndarray, from_year: np.ndarray | int, price_year: int) -> np.ndarray:
        """Convert nominal DKK of ``from_year`` to DKK at ``price_year`` prices."""
        return np.asarray(amount_dkk, dtype=float) * (self.index(price_year) / self.index(from_year))

    def sickness_benefit_week(self, years: np.ndarray | int) -> np.ndarray:
        """Nominal weekly sickness-benefit rate (DKK) for each year."""
        years = np.asarray(years, dtype=int)
        missing = sorted(set(np.unique(years).tolist()) - set(self.sickness_benefit_weekly_dkk))
        if missing:
            raise ConfigError(f"prices: no sickness_benefit_weekly_dkk for years {missing}")
        lookup = np.vectorize(self.sickness_benefit_weekly_dkk.__getitem__, otypes=[float])
        return lookup(years)


def load_price_levels(path: str | Path | None = None) -> PriceLevels:
    """Load ``pipelines/prices.yaml`` (or ``path``)."""
    return load_config(path or pipelines_dir() / "prices.yaml", PriceLevels)
