"""Small shared value types of the contract."""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Annotated

from pydantic import AwareDatetime, Field, StringConstraints

# HSA-id style identifiers (e.g. "SE2321000016-A1B2"), stable across versions of the data.
HsaId = Annotated[
    str, StringConstraints(pattern=r"^SE[0-9]{10}-[0-9A-Z]{4,12}$", min_length=16, max_length=30)
]
RegionCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{2}$")]
SourceSystem = Annotated[str, StringConstraints(min_length=1, max_length=100)]
# Opaque pseudonym from the source system: never a personal identity number (checked separately).
EncounterRef = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z0-9._:\-]{1,64}$", min_length=1, max_length=64)
]
Count = Annotated[int, Field(ge=0, le=100_000)]
EventTime = AwareDatetime  # naive datetimes are rejected by the type itself


class CareType(StrEnum):
    """Care type of a ward; targets and rollups are kept per care type."""

    SOMATIC_ACUTE = "somatic_acute"
    SOMATIC_PLANNED = "somatic_planned"
    INTENSIVE_CARE = "intensive_care"
    PSYCHIATRY = "psychiatry"
    PAEDIATRIC = "paediatric"


ALL_CARE_TYPES = "all"  # the care-type key of a rollup over every care type


class PreparednessLevel(StrEnum):
    """A region's *declared* beredskapsläge (an input, shown beside the computed level)."""

    NORMALLAGE = "normallage"
    STABSLAGE = "stabslage"
    FORSTARKNINGSLAGE = "forstarkningslage"
    KATASTROFLAGE = "katastroflage"


class PressureLevel(IntEnum):
    """Computed pressure level per scope and care type (OPEL-like, 1-4)."""

    NORMAL = 1
    STRAINED = 2
    CRITICAL = 3
    SEVERE = 4


class ScopeKind(StrEnum):
    WARD = "ward"
    HOSPITAL = "hospital"
    REGION = "region"
    NATION = "nation"
