"""Settings builders for the pricing tests."""

from __future__ import annotations

from vbhc.core.config import parse_config
from vbhc.pricing import PricingSettings

QUALITY = {
    "enabled": True,
    "max_share": 0.05,
    "min_episodes": 25,
    "components": [
        {"name": "oxford_change_12m", "type": "continuous", "prediction": "pred_oxford_12m",
         "prediction_minus": "oxford_pre", "prom": True, "weight": 0.5},
        {"name": "complication_90d", "type": "binary", "higher_is_better": False, "weight": 0.3},
        {"name": "readmission_90d", "type": "binary", "higher_is_better": False, "weight": 0.2},
    ],
}  # fmt: skip


def pricing(**overrides) -> PricingSettings:
    """Pricing settings: expected-cost risk, outliers on, warranty and quality off, no discount."""
    data = {"discount": 0.0, "warranty": {"enabled": False}, "quality": {"enabled": False}}
    data.update(overrides)
    return parse_config(data, PricingSettings, source="test pricing settings")
