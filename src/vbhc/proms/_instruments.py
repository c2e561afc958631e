"""The questionnaires vbhc scores: item names, answer ranges and which direction is better.

Item names are the NHS PROMs field names (``HR_Q1_PAIN`` -> ``PAIN``), so that Danish
PRO data, the synthetic generator and the NHS England files use one vocabulary.
Oxford items are mapped by name, never by position: printed forms order them
differently.
"""

from __future__ import annotations

from dataclasses import dataclass

EQ5D_DIMENSIONS: tuple[str, ...] = ("MO", "SC", "UA", "PD", "AD")
"""EQ-5D dimensions in profile order: mobility, self-care, usual activities,
pain/discomfort, anxiety/depression (level 1 = no problems)."""

OHS_ITEMS: tuple[str, ...] = (
    "PAIN",  # usual level of hip pain
    "NIGHT_PAIN",  # pain in bed at night
    "SUDDEN_PAIN",  # sudden, severe pain ("shooting", "stabbing")
    "LIMPING",
    "WALKING",  # how long walking before the pain becomes severe
    "STAIRS",  # climbing a flight of stairs
    "DRESSING",  # putting on socks / stockings / tights
    "STANDING",  # standing up from a chair after a meal
    "TRANSPORT",  # getting in and out of a car or public transport
    "WASHING",  # washing and drying yourself
    "SHOPPING",  # doing household shopping alone
    "WORK",  # pain interfering with usual work, including housework
)
"""Oxford Hip Score items (NHS field names ``HR_Q1_*`` / ``HR_Q2_*``), each 0-4, 4 = best."""

OKS_ITEMS: tuple[str, ...] = (
    "PAIN",  # usual level of knee pain
    "WASHING",
    "TRANSPORT",
    "WALKING",  # how long walking before the pain becomes severe
    "STANDING",  # standing up from a chair after a meal
    "LIMPING",
    "KNEELING",  # kneeling down and getting up again
    "NIGHT_PAIN",
    "WORK",  # pain interfering with usual work
    "CONFIDENCE",  # knee "giving way" / collapsing
    "SHOPPING",
    "STAIRS",  # walking down a flight of stairs
)
"""Oxford Knee Score items (NHS field names ``KR_Q1_*`` / ``KR_Q2_*``), each 0-4, 4 = best."""


@dataclass(frozen=True)
class Instrument:
    """One questionnaire: its items, the answer range and the direction of "better"."""

    name: str
    items: tuple[str, ...]
    low: float
    high: float
    integer: bool
    higher_is_better: bool | None  # None: a nominal code (no better or worse)
    description: str


INSTRUMENTS: dict[str, Instrument] = {
    i.name: i
    for i in (
        Instrument("EQ-5D-5L", EQ5D_DIMENSIONS, 1, 5, True, False, "EQ-5D-5L levels 1-5, 1 = no problems"),
        Instrument("EQ-VAS", ("VAS",), 0, 100, True, True, "EQ-VAS 0-100, 100 = best imaginable health"),
        Instrument("OHS", OHS_ITEMS, 0, 4, True, True, "Oxford Hip Score items 0-4, 4 = best"),
        Instrument("OKS", OKS_ITEMS, 0, 4, True, True, "Oxford Knee Score items 0-4, 4 = best"),
        Instrument("PAIN-NRS", ("PAIN",), 0, 10, True, False, "pain numeric rating scale 0-10, 10 = worst"),
        Instrument(
            "WORK",
            ("STATUS",),
            1,
            5,
            True,
            None,
            "work status 1 working, 2 sick-listed, 3 unemployed, 4 retired, 5 other",
        ),
    )
}
"""The instruments of ``data_schemas/prom_responses.yaml``, keyed by name (answer scales as
in its rule ``answer_on_instrument_scale``; a test keeps the two in step)."""

OXFORD_ITEMS: dict[str, tuple[str, ...]] = {"OHS": OHS_ITEMS, "OKS": OKS_ITEMS}

# Scores whose change and thresholds vbhc knows, and whether a higher score is better.
# "EQ-5D" is the index of any version and value set.
SCORE_DIRECTION: dict[str, bool] = {"OHS": True, "OKS": True, "EQ-5D": True, "EQ-VAS": True, "PAIN-NRS": False}
_SCORE_ALIASES = {"EQ-5D-5L": "EQ-5D", "EQ-5D-3L": "EQ-5D"}


def score_name(instrument: str) -> str:
    """The threshold key of ``instrument`` (``EQ-5D-5L`` and ``EQ-5D-3L`` -> ``EQ-5D``)."""
    name = _SCORE_ALIASES.get(instrument, instrument)
    if name not in SCORE_DIRECTION:
        raise ValueError(f"unknown score {instrument!r}; expected one of {sorted(SCORE_DIRECTION)}")
    return name
