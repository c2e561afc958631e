"""Episode cohort builder (``vbhc prepare``).

One row per index primary hip or knee arthroplasty with case-mix from a 2-year
look-back, outcomes over up to 2 years and whole-pathway costs, under the definitions
of ``docs/episode-definitions.md`` configured in ``pipelines/prepare.yaml``.  The
transforms are Ibis expressions executed by DuckDB (default) or Spark.

>>> from vbhc.prepare import load_prepare_config
>>> load_prepare_config().settings.cohort.registry_match_days
3
"""

from vbhc.prepare._build import REQUIRED_TABLES, EpisodeBuild, build_episodes, resolve_data_window
from vbhc.prepare._cohort import attrition_steps
from vbhc.prepare._runner import locate_inputs, open_engine, read_tables, run_prepare
from vbhc.prepare._settings import PrepareConfig, PrepareSettings, load_prepare_config

__all__ = [
    "REQUIRED_TABLES",
    "EpisodeBuild",
    "PrepareConfig",
    "PrepareSettings",
    "attrition_steps",
    "build_episodes",
    "load_prepare_config",
    "locate_inputs",
    "open_engine",
    "read_tables",
    "resolve_data_window",
    "run_prepare",
]
