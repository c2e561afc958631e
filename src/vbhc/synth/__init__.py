"""Synthetic Danish hip and knee arthroplasty registry with ground truth (``vbhc generate``).

Generates the raw tables of ``data_schemas/`` (CPR, LPR contacts, diagnoses and
procedures, the arthroplasty register, PROMs, costs, DRG/DAGS tariffs, DREAM transfers)
for persons who each have at least one primary hip or knee replacement, with realistic
distributions and relations, ordinary-life background, dirt at a given rate, and the
truth: every true index episode under ``docs/episode-definitions.md`` with its realised
and expected outcomes, the hospitals' true effects and every parameter.  The process is
documented in ``docs/synthetic-registry.md``.

>>> from vbhc.synth import generate_registry
>>> reg = generate_registry(persons=200, seed=1)            # doctest: +SKIP
>>> reg.truth["episodes"][["oxford_12m", "expected_oxford_12m"]].mean()  # doctest: +SKIP
"""

from vbhc.synth._assemble import RAW_TABLES
from vbhc.synth._config import BLOCK_PERSONS, GeneratorConfig
from vbhc.synth._params import FEATURES, design_matrix, linear_predictor, model_parameters
from vbhc.synth._registry import SyntheticRegistry, generate_registry
from vbhc.synth._runner import default_workers, write_registry

__all__ = [
    "BLOCK_PERSONS",
    "FEATURES",
    "RAW_TABLES",
    "GeneratorConfig",
    "SyntheticRegistry",
    "default_workers",
    "design_matrix",
    "generate_registry",
    "linear_predictor",
    "model_parameters",
    "write_registry",
]
