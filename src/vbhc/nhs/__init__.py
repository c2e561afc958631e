"""NHS England PROMs record-level data (hip and knee replacement) as a vbhc table.

Real data nobody on the project generated: the published provider record-level files
of NHS Digital's PROMs CSV data packs (2016/17, 2017/18).  :func:`read_nhs_proms`
turns them into the episodes-style table ``nhs_episodes`` (``data_schemas/nhs_episodes.yaml``)
that the NHS outcome models (``models/nhs/``) and provider comparisons read.

- :func:`read_nhs_records`: the provider files as published (strings), stacked;
- :func:`nhs_episodes`: records -> ``nhs_episodes`` (pure);
- :func:`read_nhs_proms`: both in one call.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from vbhc.nhs._episodes import COMORBIDITIES, NHS_VALUE_SET, nhs_episodes
from vbhc.nhs._records import find_record_files, read_nhs_records
from vbhc.proms import PromSettings


def read_nhs_proms(src_dir: str | Path, settings: PromSettings | None = None) -> pd.DataFrame:
    """The ``nhs_episodes`` table from the provider record-level zips under ``src_dir``.

    ``src_dir`` may be the ``nhs-proms`` folder, its ``record-level/`` folder or any folder
    holding the zips (searched recursively; CCG files and ``__MACOSX`` are skipped).
    """
    return nhs_episodes(read_nhs_records(src_dir), settings)


__all__ = [
    "COMORBIDITIES",
    "NHS_VALUE_SET",
    "find_record_files",
    "nhs_episodes",
    "read_nhs_proms",
    "read_nhs_records",
]
