"""Validation of raw registry extracts with quarantine and a data-quality report.

Every table is checked against its schema in ``data_schemas/``: types, missing values,
allowed codes, ranges and patterns, and row-level rules (pandera, batch by batch);
primary keys, foreign keys and dates compared with other tables (DuckDB, whole tables).
Rejected rows are quarantined with the names of the rules they break; accepted plus
quarantined rows equal the input rows of every table.

>>> from vbhc.validate import validate_registry                      # doctest: +SKIP
>>> result = validate_registry(tables, extract_date="2021-01-31")     # doctest: +SKIP
>>> result.summary()                                                  # doctest: +SKIP
"""

from vbhc.validate._api import ValidationResult, validate_registry
from vbhc.validate._engine import rule_catalogue, validation_order
from vbhc.validate._runner import resolve_extract_date, validate_raw_dir
from vbhc.validate._settings import ValidateSettings, load_validate_settings, read_pseudonym_key

__all__ = [
    "ValidateSettings",
    "ValidationResult",
    "load_validate_settings",
    "read_pseudonym_key",
    "resolve_extract_date",
    "rule_catalogue",
    "validate_raw_dir",
    "validate_registry",
    "validation_order",
]
