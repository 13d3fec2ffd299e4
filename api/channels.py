"""Push channels: which channels a message belongs to and which a subscription maps to (pure).

A client subscribes to *scopes* (the WebSocket protocol); the hub fans out by *channel*.
Most channels are named like the scope they serve; a few exist so a role can get exactly
the part of a scope it may see without any per-client filtering on the hot path:

| channel              | carries                                                          |
|----------------------|------------------------------------------------------------------|
| ``nation``           | nation rollups and every region rollup (aggregates only)         |
| ``region:XX``        | region XX rollups, its hospital rollups and its ward states      |
| ``region-agg:XX``    | region XX rollups only (what other regions may see of XX)        |
| ``hospital:ID``      | the hospital's rollups and its ward states                       |
| ``ward:ID``          | that ward's state                                                |
| ``alerts``           | every alert event                                                |
| ``alerts-agg``       | alerts on the nation or a region                                 |
| ``alerts-region:XX`` | alerts on hospitals and wards of region XX                       |
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from api.roles import Role, RoleKind, Visibility, scope_visibility
from api.scopes import InvalidScopeError, Scope, parse_scope
from schemas.messages import AlertEvent, ScopeRollup, WardState
from schemas.types import ScopeKind

ALERTS = "alerts"
ALERTS_AGGREGATE = "alerts-agg"


def alerts_of_region(code: str) -> str:
    return f"alerts-region:{code}"


def region_aggregate(code: str) -> str:
    return f"region-agg:{code}"


Message = WardState | ScopeRollup | AlertEvent
RegionOfHospital = Callable[[str], str | None]


def message_key(message: Message) -> str:
    """The Kafka key of the message on its topic (the push protocol's ``key``)."""
    if isinstance(message, WardState):
        return message.ward_id
    if isinstance(message, ScopeRollup):
        return f"{message.scope_id}:{message.care_type}"
    return str(message.alert_id)


def channels_of(message: Message, region_of_hospital: RegionOfHospital) -> tuple[str, ...]:
    if isinstance(message, WardState):
        return (
            f"region:{message.region_code}",
            f"hospital:{message.hospital_id}",
            f"ward:{message.ward_id}",
        )
    if isinstance(message, ScopeRollup):
        try:
            scope = parse_scope(message.scope_id)
        except InvalidScopeError:
            return ()
        if scope.kind is ScopeKind.NATION:
            return ("nation",)
        if scope.kind is ScopeKind.REGION:
            code = scope.ident or ""
            return ("nation", message.scope_id, region_aggregate(code))
        if scope.kind is ScopeKind.HOSPITAL:
            region = region_of_hospital(scope.ident or "")
            if region is None:
                return (message.scope_id,)
            return (f"region:{region}", message.scope_id)
        return (message.scope_id,)
    return alert_channels(message)


def alert_channels(alert: AlertEvent) -> tuple[str, ...]:
    try:
        scope = parse_scope(alert.scope_id)
    except InvalidScopeError:
        return (ALERTS,)
    if scope.kind in (ScopeKind.NATION, ScopeKind.REGION):
        return (ALERTS, ALERTS_AGGREGATE)
    if alert.region_code is None:
        return (ALERTS,)
    return (ALERTS, alerts_of_region(alert.region_code))


@dataclass(frozen=True, slots=True)
class Refusal:
    code: str  # "invalid_scope" | "forbidden"
    detail: str


def subscription_channels(
    role: Role, requested: str, region_of_scope: Callable[[Scope], str | None]
) -> tuple[str, ...] | Refusal:
    """The channels that serve ``requested`` to ``role``, or why it is refused."""
    if requested == ALERTS:
        if role.sees_everything:
            return (ALERTS,)
        if role.kind is RoleKind.REGION and role.region_code is not None:
            return (ALERTS_AGGREGATE, alerts_of_region(role.region_code))
        return Refusal("forbidden", f"role {role} may not subscribe to alerts")
    try:
        scope = parse_scope(requested)
    except InvalidScopeError as exc:
        return Refusal("invalid_scope", str(exc))
    visibility = scope_visibility(role, scope, region_of_scope(scope))
    if visibility is Visibility.FULL:
        return (scope.scope_id,)
    if visibility is Visibility.AGGREGATE:
        if scope.kind is ScopeKind.REGION and scope.ident is not None:
            return (region_aggregate(scope.ident),)
        return (scope.scope_id,)  # the nation channel holds aggregates only
    return Refusal("forbidden", f"role {role} may not subscribe to {scope.scope_id}")
