"""Scope ids (``nation``, ``region:<code>``, ``hospital:<hsa>``, ``ward:<hsa>``) parsed once."""

from __future__ import annotations

import re
from dataclasses import dataclass

from schemas.types import ScopeKind

NATION = "nation"
_REGION = re.compile(r"^[0-9]{2}$")
_HSA = re.compile(r"^SE[0-9]{10}-[0-9A-Z]{4,12}$")


class InvalidScopeError(ValueError):
    """A string that is not a scope id of the contract."""


@dataclass(frozen=True, slots=True)
class Scope:
    kind: ScopeKind
    ident: str | None  # region code or HSA id; None for the nation

    @property
    def scope_id(self) -> str:
        return NATION if self.ident is None else f"{self.kind.value}:{self.ident}"


def parse_scope(scope_id: str) -> Scope:
    if scope_id == NATION:
        return Scope(ScopeKind.NATION, None)
    prefix, sep, ident = scope_id.partition(":")
    if sep:
        if prefix == "region" and _REGION.match(ident):
            return Scope(ScopeKind.REGION, ident)
        if prefix == "hospital" and _HSA.match(ident):
            return Scope(ScopeKind.HOSPITAL, ident)
        if prefix == "ward" and _HSA.match(ident):
            return Scope(ScopeKind.WARD, ident)
    raise InvalidScopeError(f"not a scope id: {scope_id[:80]!r}")


def region_scope(code: str) -> str:
    return f"region:{code}"


def hospital_scope(hospital_id: str) -> str:
    return f"hospital:{hospital_id}"


def ward_scope(ward_id: str) -> str:
    return f"ward:{ward_id}"
