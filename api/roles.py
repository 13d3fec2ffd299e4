"""Roles and what each may see or do (pure; the token plumbing is in ``api.auth``).

| role                  | may                                                                 |
|-----------------------|---------------------------------------------------------------------|
| ``national``          | read everything                                                     |
| ``region:<code>``     | its own region in full; other regions and the nation as aggregates  |
|                       | (region/nation rollups only); its region's webhooks and alert acks  |
| ``referral``          | the free-capacity search (all regions) and reference data only      |
| ``publisher:<hsa>``   | ingest events for the wards of its own hospital only                |
| ``admin``             | everything, including ward registration and any region's webhooks   |
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum, StrEnum

from api.scopes import Scope
from schemas.types import ScopeKind

_REGION = re.compile(r"^[0-9]{2}$")
_HSA = re.compile(r"^SE[0-9]{10}-[0-9A-Z]{4,12}$")


class RoleKind(StrEnum):
    NATIONAL = "national"
    REGION = "region"
    REFERRAL = "referral"
    PUBLISHER = "publisher"
    ADMIN = "admin"


class InvalidRoleError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Role:
    kind: RoleKind
    region_code: str | None = None
    hospital_id: str | None = None

    @classmethod
    def parse(cls, text: str) -> Role:
        kind, sep, arg = text.strip().partition(":")
        if kind in (RoleKind.NATIONAL, RoleKind.REFERRAL, RoleKind.ADMIN) and not sep:
            return cls(RoleKind(kind))
        if kind == RoleKind.REGION and _REGION.match(arg):
            return cls(RoleKind.REGION, region_code=arg)
        if kind == RoleKind.PUBLISHER and _HSA.match(arg):
            return cls(RoleKind.PUBLISHER, hospital_id=arg)
        raise InvalidRoleError(
            f"not a role: {text[:60]!r} (national | region:<2 digits> | referral | "
            "publisher:<hospital HSA id> | admin)"
        )

    def __str__(self) -> str:
        if self.kind is RoleKind.REGION:
            return f"region:{self.region_code}"
        if self.kind is RoleKind.PUBLISHER:
            return f"publisher:{self.hospital_id}"
        return self.kind.value

    @property
    def sees_everything(self) -> bool:
        return self.kind in (RoleKind.NATIONAL, RoleKind.ADMIN)


class Visibility(Enum):
    NONE = 0
    AGGREGATE = 1  # rollups of the scope itself, nothing below it
    FULL = 2


def scope_visibility(role: Role, scope: Scope, region_of_scope: str | None) -> Visibility:
    """What ``role`` may see of ``scope``; ``region_of_scope`` is the region the scope lies in
    (the region itself for a region scope, None for the nation or an unknown hospital/ward)."""
    if role.sees_everything:
        return Visibility.FULL
    if role.kind is not RoleKind.REGION:
        return Visibility.NONE
    if scope.kind is ScopeKind.NATION:
        return Visibility.AGGREGATE
    if scope.kind is ScopeKind.REGION:
        return Visibility.FULL if scope.ident == role.region_code else Visibility.AGGREGATE
    if region_of_scope is not None and region_of_scope == role.region_code:
        return Visibility.FULL
    return Visibility.NONE


def may_search_capacity(role: Role) -> bool:
    return role.sees_everything or role.kind in (RoleKind.REFERRAL, RoleKind.REGION)


def capacity_region_restriction(role: Role) -> str | None:
    """A region role searches its own region only: other regions' wards are not aggregates."""
    return role.region_code if role.kind is RoleKind.REGION else None


def may_read_reference(role: Role) -> bool:
    # Names of regions, hospitals and wards are public facts; every caller needs them.
    return True


def may_read_alerts(role: Role) -> bool:
    return role.sees_everything or role.kind is RoleKind.REGION


def may_see_alert(role: Role, *, alert_scope: Scope, alert_region: str | None) -> bool:
    """Region roles see their own region's alerts and every aggregate-level (nation/region) one."""
    if role.sees_everything:
        return True
    if role.kind is not RoleKind.REGION:
        return False
    if alert_scope.kind in (ScopeKind.NATION, ScopeKind.REGION):
        return True
    return alert_region == role.region_code


def may_acknowledge_alert(role: Role, *, alert_region: str | None) -> bool:
    if role.sees_everything:
        return True
    return role.kind is RoleKind.REGION and alert_region == role.region_code


def may_ingest(role: Role) -> bool:
    return role.kind in (RoleKind.PUBLISHER, RoleKind.ADMIN)


def may_ingest_for_hospital(role: Role, hospital_id: str | None) -> bool:
    if role.kind is RoleKind.ADMIN:
        return True
    return role.kind is RoleKind.PUBLISHER and hospital_id == role.hospital_id


def may_manage_webhooks(role: Role, region_code: str | None) -> bool:
    """``region_code`` None is a national webhook (every alert): admin only."""
    if role.kind is RoleKind.ADMIN:
        return True
    return role.kind is RoleKind.REGION and region_code == role.region_code


def may_read_compliance(role: Role) -> bool:
    return role.sees_everything or role.kind is RoleKind.REGION


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the token's name and role (``token_id`` None for built-in callers)."""

    name: str
    role: Role
    token_id: int | None = None
