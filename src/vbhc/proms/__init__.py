"""PROM scoring: EQ-5D index values, Oxford Hip and Knee Scores, and improvement thresholds.

PROMs are the outcome side of value (outcome / cost).  This package scores them the
same way everywhere in vbhc:

- :func:`eq5d_index` under a named value set (:func:`value_sets`: ``dk_5l``,
  ``dk_3l_tto``, ``uk_3l_tto``, ``england_5l``, ``uk_5l_2026``, ``dk_5l_crosswalk``,
  ``uk_5l_crosswalk``), vectorised;
- :func:`oxford_score` (0-48, 48 best) with the OUI missing-item rule;
- :func:`change_category`, :func:`mic_achieved`, :func:`pass_achieved`,
  :func:`oxford_band` with thresholds from ``pipelines/proms.yaml``;
- :func:`score_prom_responses`: the long ``prom_responses`` table to one row per
  questionnaire, as the episode builder reads it.

>>> from vbhc.proms import eq5d_index
>>> float(eq5d_index([11111], "dk_5l")[0])
1.0
"""

from vbhc.proms._instruments import EQ5D_DIMENSIONS, INSTRUMENTS, OHS_ITEMS, OKS_ITEMS
from vbhc.proms._oxford import oxford_score
from vbhc.proms._pipeline import score_prom_responses
from vbhc.proms._settings import OxfordBand, PromSettings, load_prom_settings
from vbhc.proms._thresholds import change_category, mic_achieved, oxford_band, pass_achieved
from vbhc.proms._valuesets import eq5d_index, value_sets

__all__ = [
    "EQ5D_DIMENSIONS",
    "INSTRUMENTS",
    "OHS_ITEMS",
    "OKS_ITEMS",
    "OxfordBand",
    "PromSettings",
    "change_category",
    "eq5d_index",
    "load_prom_settings",
    "mic_achieved",
    "oxford_band",
    "oxford_score",
    "pass_achieved",
    "score_prom_responses",
    "value_sets",
]
