"""Bundled-payment prices (``vbhc price``): one price per episode from configurable parts.

Base price from Winsorised historical bundle costs, risk adjustment (expected cost or
patient groups), an optional warranty (the provider bears complications and reoperations
within a window, after Stockholm's OrthoChoice), outlier protection above one threshold
per cell, a quality bonus or withhold by a
CJR-like composite, a discount, and exact budget neutrality.  The settlement simulator
(``vbhc simulate``) reads ``episode_prices.parquet`` and ``provider_payments.parquet``.
Methods: ``docs/value-and-pricing.md``.
"""

from vbhc.pricing._config import PricingSettings, load_pricing_settings
from vbhc.pricing._price import PricingResult, price_episodes

__all__ = ["PricingResult", "PricingSettings", "load_pricing_settings", "price_episodes"]
