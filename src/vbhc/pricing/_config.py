"""Settings of ``vbhc price`` (``pipelines/pricing.yaml``): the parts of a bundled price."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from vbhc.core.config import Settings, load_config
from vbhc.core.criteria import Criterion
from vbhc.core.paths import pipelines_dir
from vbhc.core.privacy import MIN_CELL_SIZE
from vbhc.value import OutcomeSpec

BUNDLE_COST_COLUMNS: dict[int, list[str]] = {
    90: ["cost_index_dkk", "cost_90d_dkk"],
    365: ["cost_1y_dkk"],
    730: ["cost_2y_dkk"],
}
"""Episode cost columns that make up the bundle for each window (days after the operation /
discharge; ``docs/episode-definitions.md``)."""


class BundleSettings(Settings):
    """What the price covers: the index stay plus a window after discharge (forløbsafregning)."""

    window_days: Literal[90, 365, 730] = 90


class BasePriceSettings(Settings):
    """Base price per cell: mean historical bundle cost, Winsorised at a percentile."""

    winsorise_percentile: float = Field(99.0, gt=50, le=100, description="costs above this percentile are capped")


class RiskGroup(Settings):
    """A patient group with its own price factor, e.g. ``ASA 3-4``: all criteria must hold."""

    name: str
    criteria: list[Criterion] = Field(min_length=1)


class RiskSettings(Settings):
    """Risk adjustment of the base price.

    ``expected_cost``: factor = expected cost (``prediction``) / its mean in the cell;
    ``groups``: factor = mean Winsorised cost of the patient's group / mean of the cell
    (first matching group; patients in no group form the reference group);
    ``none``: factor 1.
    """

    method: Literal["expected_cost", "groups", "none"] = "expected_cost"
    prediction: str = "pred_cost_1y_dkk"
    groups: list[RiskGroup] = Field(default_factory=list)
    min_group_size: int = Field(20, ge=MIN_CELL_SIZE, description="smallest group with its own factor")

    @model_validator(mode="after")
    def _groups_given(self) -> RiskSettings:
        if self.method == "groups" and not self.groups:
            raise ValueError("method 'groups' needs at least one group")
        names = [g.name for g in self.groups]
        if len(set(names)) != len(names):
            raise ValueError(f"group names repeated: {sorted({n for n in names if names.count(n) > 1})}")
        return self


class WarrantySettings(Settings):
    """The provider bears the cost of warranty events within a window after the bundle
    (Stockholm OrthoChoice: reoperations within 2 years; issue 6: complications and
    reoperations); the price carries their expected cost instead."""

    enabled: bool = False
    window_days: Literal[365, 730] = 730
    events: list[str] = Field(
        default_factory=lambda: ["reoperation_2y", "complication_2y"],
        min_length=1,
        description="episode columns (true/1 = event within the window) whose post-bundle cost the provider bears",
    )
    cost_column: str | None = Field(
        None,
        description="episode column with the cost of the warranty events; default: the episode's cost after "
        "the bundle window up to the warranty horizon above the mean of episodes without an event",
    )


class OutlierSettings(Settings):
    """Bundle cost above ``threshold_multiple`` x the cell's historical base price (one
    threshold per cell, not risk-adjusted, so the price stays monotone in risk) is paid
    at ``marginal_rate`` (outlier protection)."""

    enabled: bool = True
    threshold_multiple: float = Field(2.0, gt=1)
    marginal_rate: float = Field(0.8, gt=0, le=1)


class QualityComponent(OutcomeSpec):
    """An outcome in the quality composite, with its weight (weights add up to 1)."""

    weight: float = Field(gt=0, le=1)


class QualitySettings(Settings):
    """Bonus or withhold of up to ``max_share`` of the risk-adjusted base price by a
    CJR-like composite of risk-adjusted (shrunken) hospital outcomes."""

    enabled: bool = True
    max_share: float = Field(0.03, ge=0, lt=1)
    min_episodes: int = Field(25, ge=MIN_CELL_SIZE, description="hospitals with fewer episodes get no adjustment")
    scoring: Literal["percentile", "standardised"] = "percentile"
    response_threshold: float = Field(0.5, ge=0, le=1, description="below it a hospital cannot earn a bonus")
    components: list[QualityComponent] = Field(default_factory=list)

    @model_validator(mode="after")
    def _weights(self) -> QualitySettings:
        if not self.enabled:
            return self
        if not self.components:
            raise ValueError("quality adjustment enabled without components")
        total = sum(c.weight for c in self.components)
        if abs(total - 1) > 1e-9:
            raise ValueError(f"component weights add up to {total:g}, not 1")
        names = [c.name for c in self.components]
        if len(set(names)) != len(names):
            raise ValueError("component names repeated")
        return self


class PricingSettings(Settings):
    """Everything ``vbhc price`` needs: one settings object for the stage."""

    cells: list[str] = Field(default_factory=lambda: ["joint"], description="episode columns defining price cells")
    bundle: BundleSettings = Field(default_factory=BundleSettings)
    base_price: BasePriceSettings = Field(default_factory=BasePriceSettings)
    risk_adjustment: RiskSettings = Field(default_factory=RiskSettings)
    warranty: WarrantySettings = Field(default_factory=WarrantySettings)
    outlier: OutlierSettings = Field(default_factory=OutlierSettings)
    quality: QualitySettings = Field(default_factory=lambda: QualitySettings(enabled=False))
    discount: float = Field(0.0, ge=0, lt=0.5, description="share of historical spending kept by the payer")
    hospital_column: str = "hospital_id"
    min_cell: int = Field(MIN_CELL_SIZE, ge=MIN_CELL_SIZE)
    require_model_metadata: bool = Field(
        False, description="predictions must name their models (Parquet metadata 'vbhc.models' of vbhc predict)"
    )

    @model_validator(mode="after")
    def _adds_up(self) -> PricingSettings:
        if self.warranty.enabled and self.warranty.window_days <= self.bundle.window_days:
            raise ValueError(
                f"warranty.window_days ({self.warranty.window_days}) must extend beyond the bundle "
                f"window ({self.bundle.window_days} days)"
            )
        if not self.cells:
            raise ValueError("cells: at least one column (e.g. joint)")
        return self


def load_pricing_settings(path: str | Path | None = None) -> PricingSettings:
    """Load ``pipelines/pricing.yaml`` (or ``path``) into :class:`PricingSettings`."""
    return load_config(path or pipelines_dir() / "pricing.yaml", PricingSettings)
