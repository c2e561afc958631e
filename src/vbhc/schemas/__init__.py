"""Table schemas: one YAML file per table in ``data_schemas/``, the single source of truth.

From each schema vbhc derives the Arrow schema used to write Parquet
(:meth:`TableSchema.arrow_schema`), the pandera schema used to validate DataFrames
(:meth:`TableSchema.pandera_schema`) and the Markdown data dictionary
(:func:`data_dictionary`).

>>> from vbhc.schemas import load_schema
>>> load_schema("patients").primary_key
['person_id']
"""

from vbhc.schemas._markdown import data_dictionary, rule_detail
from vbhc.schemas._model import (
    ROW_RULE_KINDS,
    ColumnSpec,
    ForeignKey,
    TableRule,
    TableSchema,
    ValueRange,
    column_rule_name,
    list_schemas,
    load_schema,
    load_schemas,
)

__all__ = [
    "ROW_RULE_KINDS",
    "ColumnSpec",
    "ForeignKey",
    "TableRule",
    "TableSchema",
    "ValueRange",
    "column_rule_name",
    "data_dictionary",
    "list_schemas",
    "load_schema",
    "load_schemas",
    "rule_detail",
]
