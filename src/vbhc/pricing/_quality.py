"""The quality composite behind the price's bonus or withhold (in the spirit of CMS CJR).

Each component is a risk-adjusted hospital outcome from :func:`vbhc.value.assess_value`
(empirical-Bayes shrunken, both joints pooled), so small hospitals are not rewarded or
penalised for noise.  Among hospitals with at least ``min_episodes`` episodes a
component scores

- ``percentile`` (CJR-like): s = 2 (rank - 0.5) / H - 1, from -1 (worst) to +1 (best);
- ``standardised``: s = clip((shrunken - national) / SD_between / 2, -1, 1);

with the sign turned when lower is better.  composite_h = sum_k weight_k s_hk (a
component without a result counts 0).  A hospital whose response rate on a PROM
component is below ``response_threshold`` cannot earn a bonus (composite capped at 0):
selective PROM reporting must not pay.  share_h = max_share x composite_h.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from vbhc.core.config import parse_config
from vbhc.pricing._config import PricingSettings
from vbhc.value import ValueSettings, assess_value

COMPONENT_COLUMNS = [
    "hospital_id",
    "component",
    "weight",
    "n",
    "adjusted",
    "shrunken",
    "response_rate",
    "score",
]


def quality_shares(
    episodes: pd.DataFrame, predictions: pd.DataFrame, settings: PricingSettings
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per hospital: episodes, composite score and price share; and the component scores."""
    q = settings.quality
    joints = sorted(episodes["joint"].astype(str).unique()) if "joint" in episodes.columns else []
    value_settings = parse_config(
        {
            "levels": {"hospital": settings.hospital_column},
            "joints": joints,
            "pooled_joints": True,
            "outcomes": [c.model_dump(exclude={"weight"}) for c in q.components],
            "response_threshold": q.response_threshold,
            "min_cell": settings.min_cell,
            "require_model_metadata": settings.require_model_metadata,
            "value": None,
        },
        ValueSettings,
        source="pricing quality components",
    )
    result = assess_value(episodes, predictions, value_settings)
    joint = "all" if len(joints) > 1 else joints[0]
    pv = result.provider_value[result.provider_value["joint"] == joint]
    hospitals = episodes[settings.hospital_column].astype(str).value_counts().sort_index()
    eligible = hospitals[hospitals >= q.min_episodes].index
    resp = result.prom_response[(result.prom_response["joint"] == joint) & (result.prom_response["level"] == "hospital")]
    parts = []
    composite = pd.Series(0.0, index=hospitals.index)
    low_response = pd.Series(False, index=hospitals.index)
    for comp in q.components:
        rows = pv[(pv["outcome"] == comp.name) & (pv["level"] == "hospital")].set_index("unit_id")
        nation = pv[(pv["outcome"] == comp.name) & (pv["level"] == "nation")]["adjusted"].iloc[0]
        shrunken = rows["shrunken"].reindex(hospitals.index)
        ok = shrunken.index.isin(eligible) & shrunken.notna().to_numpy()
        score = pd.Series(np.nan, index=hospitals.index)
        if ok.sum() >= 2:
            values = shrunken[ok]
            if q.scoring == "percentile":
                s = 2 * (values.rank(method="average") - 0.5) / len(values) - 1
            else:
                spread = values.std(ddof=1)
                s = ((values - nation) / spread / 2).clip(-1, 1) if spread > 0 else values * 0.0
            score[ok] = s if comp.higher_is_better else -s
        composite += comp.weight * score.fillna(0.0)
        rate = pd.Series(np.nan, index=hospitals.index)
        if comp.prom:
            r = resp[resp["outcome"] == comp.name].set_index("unit_id")["response_rate"].astype(float)
            rate = r.reindex(hospitals.index)
            low_response |= (rate < q.response_threshold).fillna(False)
        parts.append(
            pd.DataFrame(
                {
                    "hospital_id": hospitals.index,
                    "component": comp.name,
                    "weight": comp.weight,
                    "n": rows["n"].reindex(hospitals.index).fillna(0).astype("int64").to_numpy(),
                    "adjusted": rows["adjusted"].reindex(hospitals.index).to_numpy(),
                    "shrunken": shrunken.to_numpy(),
                    "response_rate": rate.to_numpy(),
                    "score": score.to_numpy(),
                }
            )
        )
    composite = composite.where(~low_response, composite.clip(upper=0.0))
    in_scheme = hospitals.index.isin(eligible)
    shares = pd.DataFrame(
        {
            "hospital_id": hospitals.index,
            "n_episodes": hospitals.to_numpy(dtype="int64"),
            "quality_score": np.where(in_scheme, composite.to_numpy(), np.nan),
            "quality_share": np.where(in_scheme, q.max_share * composite.to_numpy(), 0.0),
            "low_response": low_response.to_numpy(),
        }
    )
    return shares, pd.concat(parts, ignore_index=True)[COMPONENT_COLUMNS]
