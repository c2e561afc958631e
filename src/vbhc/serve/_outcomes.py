"""The outcomes the service predicts and the registered models it needs.

Each joint (hip, knee) has one model per outcome, registered as
``vbhc-<joint>-<outcome>``; 90-day mortality is rare and pooled over both joints
(``vbhc-all-death_90d``).  The service refuses to start without all of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from vbhc.serve._model import Kind

JOINTS = ("hip", "knee")


@dataclass(frozen=True)
class Outcome:
    """An outcome as the service presents it.

    ``higher_is_better`` tells whether a factor that raises the prediction is good news
    (Oxford score, chance of improvement) or bad news (risks, days, cost).
    """

    name: str
    kind: Kind
    higher_is_better: bool

    @property
    def unit(self) -> str:
        """Unit from the episodes schema (``probability`` for binary outcomes)."""
        return _units()[self.name]


JOINT_OUTCOMES: tuple[Outcome, ...] = (
    Outcome("oxford_12m", "continuous", higher_is_better=True),
    Outcome("mic_12m", "binary", higher_is_better=True),
    Outcome("eq5d_gain_12m", "continuous", higher_is_better=True),
    Outcome("complication_90d", "binary", higher_is_better=False),
    Outcome("readmission_90d", "binary", higher_is_better=False),
    Outcome("reoperation_2y", "binary", higher_is_better=False),
    Outcome("los_days", "continuous", higher_is_better=False),
    Outcome("cost_1y_dkk", "continuous", higher_is_better=False),
    Outcome("return_to_work_6m", "binary", higher_is_better=True),
)
POOLED_OUTCOMES: tuple[Outcome, ...] = (Outcome("death_90d", "binary", higher_is_better=False),)
OUTCOMES: dict[str, Outcome] = {o.name: o for o in JOINT_OUTCOMES + POOLED_OUTCOMES}


def model_name(joint: str, outcome: str) -> str:
    """Registered model name, e.g. ``vbhc-hip-oxford_12m`` (pooled: ``vbhc-all-death_90d``)."""
    return f"vbhc-{joint}-{outcome}"


def required_model_names() -> list[str]:
    """Every registered model the service needs, in display order."""
    names = [model_name(j, o.name) for j in JOINTS for o in JOINT_OUTCOMES]
    return names + [model_name("all", o.name) for o in POOLED_OUTCOMES]


@lru_cache(maxsize=1)
def _units() -> dict[str, str]:
    from vbhc.schemas import load_schema

    episodes = load_schema("episodes")
    units = {}
    for name, outcome in OUTCOMES.items():
        units[name] = "probability" if outcome.kind == "binary" else (episodes.column(name).unit or "")
    return units
