"""The pathway code lists (``pipelines/codelists.yaml``) as a typed object.

One versioned file defines which SKS codes are index operations, reoperations,
revisions, complications, Charlson comorbidities and excluded indications.  The
episode builder and the synthetic generator both read it, so they cannot drift apart.
A listed code matches every code that starts with it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from vbhc.core.config import Settings, load_config
from vbhc.core.paths import pipelines_dir

Joint = Literal["hip", "knee"]
_SKS = r"^[A-Z][A-Z0-9]{1,9}$"


def _check_codes(codes: list[str]) -> list[str]:
    import re

    bad = [c for c in codes if not re.match(_SKS, c)]
    if bad:
        raise ValueError(f"not SKS codes: {bad}")
    return codes


class JointCodes(Settings):
    hip: list[str]
    knee: list[str]

    @field_validator("hip", "knee")
    @classmethod
    def _codes(cls, v: list[str]) -> list[str]:
        return _check_codes(v)

    def for_joint(self, joint: Joint) -> list[str]:
        return self.hip if joint == "hip" else self.knee


class IndexProcedures(Settings):
    total: list[str]
    partial: list[str]

    @field_validator("total", "partial")
    @classmethod
    def _codes(cls, v: list[str]) -> list[str]:
        return _check_codes(v)


class CharlsonComponent(Settings):
    weight: int = Field(ge=1, le=6)
    codes: list[str]

    @field_validator("codes")
    @classmethod
    def _codes(cls, v: list[str]) -> list[str]:
        return _check_codes(v)


class CharlsonHierarchy(Settings):
    keep: str
    drop: str


class Charlson(Settings):
    components: dict[str, CharlsonComponent]
    hierarchy: list[CharlsonHierarchy] = Field(default_factory=list)

    @model_validator(mode="after")
    def _hierarchy_names(self) -> Charlson:
        for h in self.hierarchy:
            for name in (h.keep, h.drop):
                if name not in self.components:
                    raise ValueError(f"hierarchy names unknown component {name!r}")
        return self

    @property
    def max_index(self) -> int:
        dropped = {h.drop for h in self.hierarchy}
        return sum(c.weight for k, c in self.components.items() if k not in dropped)


class CodeLists(Settings):
    """All code lists of the hip and knee pathway."""

    version: str
    index_procedures: dict[Joint, IndexProcedures]
    reoperation_procedures: JointCodes
    revision_procedures: JointCodes
    complications: dict[str, list[str]]
    excluded_index_diagnoses: dict[str, list[str]]
    excluded_indications: list[str]
    indication_diagnoses: dict[str, JointCodes]
    anxiety_depression: list[str]
    charlson: Charlson

    @field_validator("complications", "excluded_index_diagnoses")
    @classmethod
    def _code_map(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for codes in v.values():
            _check_codes(codes)
        return v

    @field_validator("anxiety_depression")
    @classmethod
    def _codes(cls, v: list[str]) -> list[str]:
        return _check_codes(v)


def load_codelists(path: str | Path | None = None) -> CodeLists:
    """Load and validate the code lists (default ``pipelines/codelists.yaml``)."""
    return load_config(path or pipelines_dir() / "codelists.yaml", CodeLists)
