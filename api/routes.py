"""REST routes under ``/api/v1``. Every route has a response model; errors are
``{"error", "detail"}`` (see ``api.errors``). Current state comes from memory, history
from the store."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api import roles
from api.auth import CurrentPrincipal, authenticate, requires
from api.capacity import CapacityQuery, FreeCapacityResponse, free_capacity_json
from api.errors import ApiError, error_responses
from api.history import (
    AlertView,
    Bucket,
    ComplianceResponse,
    DailyResponse,
    HistoryResponse,
    HistoryUnavailableError,
    Period,
    alert_view,
)
from api.ingest import BodyTooLargeError, IngestResponse, batch_message, too_large_response
from api.ingest import validate_body as validate_ingest_body
from api.roles import Principal, Visibility, scope_visibility
from api.scopes import InvalidScopeError, Scope, parse_scope
from api.services import Services, ServicesDep
from api.webhooks import (
    WebhookAttempts,
    WebhookCreate,
    WebhookCreated,
    WebhookList,
    WebhookRepository,
    endpoint_secret,
)
from schemas.messages import AlertEvent, AlertState, ScopeRollup, WardState
from schemas.reference import Hospital, Region, Ward
from schemas.targets import TargetConfig
from schemas.types import ALL_CARE_TYPES, CareType, ScopeKind

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1")

CareTypeOrAll = Literal[
    "all", "somatic_acute", "somatic_planned", "intensive_care", "psychiatry", "paediatric"
]
ScopeChild = Annotated[ScopeRollup | WardState, Field(discriminator="kind")]

MAX_HISTORY_RANGE = {
    Bucket.FIVE_MINUTES: timedelta(days=8),
    Bucket.HOUR: timedelta(days=400),
    Bucket.DAY: timedelta(days=3700),
}


# --- response models -------------------------------------------------------------------------


class StateResponse(BaseModel):
    scope_id: str
    rollups: list[ScopeRollup] = Field(description="The scope's rollups, one per care type.")
    children: list[ScopeChild] = Field(
        description="nation: region rollups; region: hospital rollups; hospital: ward states "
        "(care type 'all' for rollups). Empty where the role sees the scope only in aggregate."
    )


class AlertsResponse(BaseModel):
    alerts: list[AlertView]


class RegionsResponse(BaseModel):
    regions: list[Region]


class HospitalsResponse(BaseModel):
    hospitals: list[Hospital]


class WardsResponse(BaseModel):
    wards: list[Ward]


class ActiveTarget(BaseModel):
    scope_id: str
    care_type: str
    target: float


class TargetsResponse(BaseModel):
    config: TargetConfig = Field(description="The target configuration in force.")
    active: list[ActiveTarget] = Field(
        description="Targets the stream applies now to the nation and the regions."
    )


class WhoAmI(BaseModel):
    name: str
    role: str = Field(description="national | region:<code> | referral | publisher:<hsa> | admin")
    region_code: str | None = None
    hospital_id: str | None = None


# --- helpers ---------------------------------------------------------------------------------


def _scope(scope_id: str) -> Scope:
    try:
        return parse_scope(scope_id)
    except InvalidScopeError as exc:
        raise ApiError.not_found(str(exc)) from exc


def _visibility(services: Services, principal: Principal, scope: Scope) -> Visibility:
    return scope_visibility(principal.role, scope, services.live.region_of_scope(scope))


def _require_visible(services: Services, principal: Principal, scope: Scope) -> Visibility:
    visibility = _visibility(services, principal, scope)
    if visibility is Visibility.NONE:
        raise ApiError.forbidden(f"role {principal.role} may not see {scope.scope_id}")
    return visibility


def _scope_known(services: Services, scope: Scope) -> bool:
    ident = scope.ident
    ref = services.reference
    if scope.kind is ScopeKind.NATION:
        return True
    if scope.kind is ScopeKind.REGION:
        return ident in ref.regions or scope.scope_id in services.live.rollups_by_scope
    if scope.kind is ScopeKind.HOSPITAL:
        return ident in ref.hospitals or scope.scope_id in services.live.rollups_by_scope
    return ident in ref.wards or (ident is not None and ident in services.live.wards)


def _alert_visible(principal: Principal, alert: AlertEvent) -> bool:
    try:
        scope = parse_scope(alert.scope_id)
    except InvalidScopeError:
        return principal.role.sees_everything
    return roles.may_see_alert(principal.role, alert_scope=scope, alert_region=alert.region_code)


@router.get(
    "/whoami",
    response_model=WhoAmI,
    responses=error_responses(401),
    tags=["access"],
    summary="The caller's token name and role (what the UI shows and offers)",
)
async def whoami(principal: CurrentPrincipal) -> WhoAmI:
    role = principal.role
    return WhoAmI(
        name=principal.name,
        role=str(role),
        region_code=role.region_code,
        hospital_id=role.hospital_id,
    )


# --- current state ---------------------------------------------------------------------------


@router.get(
    "/state/{scope_id}",
    response_model=StateResponse,
    responses=error_responses(401, 403, 404),
    tags=["state"],
    summary="Current state of a scope: its rollups and its children",
)
async def get_state(
    services: ServicesDep,
    principal: CurrentPrincipal,
    scope_id: Annotated[str, Path(max_length=100)],
) -> StateResponse:
    scope = _scope(scope_id)
    visibility = _require_visible(services, principal, scope)
    if not _scope_known(services, scope):
        raise ApiError.not_found(f"unknown scope {scope.scope_id}")
    live = services.live
    full = visibility is Visibility.FULL
    children: list[ScopeRollup | WardState] = []
    rollups = live.rollups_of(scope.scope_id)
    if scope.kind is ScopeKind.NATION:
        children = list(live.region_rollups(ALL_CARE_TYPES))
    elif scope.kind is ScopeKind.REGION and full and scope.ident is not None:
        children = list(live.hospital_rollups(scope.ident, ALL_CARE_TYPES))
    elif scope.kind is ScopeKind.HOSPITAL and scope.ident is not None:
        children = list(live.wards_in_hospital(scope.ident))
        children.sort(key=lambda w: w.ward_id if isinstance(w, WardState) else "")
    elif scope.kind is ScopeKind.WARD and scope.ident is not None:
        ward = live.ward(scope.ident)
        children = [ward] if ward is not None else []
    return StateResponse(scope_id=scope.scope_id, rollups=rollups, children=children)


@router.get(
    "/wards/{ward_id}",
    response_model=WardState,
    responses=error_responses(401, 403, 404),
    tags=["state"],
    summary="Current state of one ward",
)
async def get_ward(
    services: ServicesDep, principal: CurrentPrincipal, ward_id: Annotated[str, Path(max_length=40)]
) -> WardState:
    scope = _scope(f"ward:{ward_id}")
    _require_visible(services, principal, scope)
    ward = services.live.ward(ward_id)
    if ward is None:
        raise ApiError.not_found(f"no state for ward {ward_id}")
    return ward


# --- free capacity ---------------------------------------------------------------------------


class FreeCapacityParams(BaseModel):
    """Filters of the free-capacity search (query parameters; others, e.g. ``token``,
    are ignored)."""

    region: str | None = Field(default=None, pattern=r"^[0-9]{2}$", description="Region code.")
    hospital: str | None = Field(default=None, max_length=30, description="Hospital HSA id.")
    care_type: CareType | None = None
    specialty: str | None = Field(default=None, max_length=100, description="Case-insensitive.")
    min_free: int = Field(default=1, ge=0, le=100_000, description="Minimum free beds.")
    max_staleness_s: float | None = Field(
        default=None, ge=0, le=1e9, description="Only wards whose data is at most this old."
    )
    limit: int = Field(default=100, ge=1, le=2000)


@router.get(
    "/capacity/free",
    response_model=FreeCapacityResponse,
    responses=error_responses(401, 403),
    tags=["capacity"],
    summary="Wards with free staffed beds now, most free first",
)
async def free_capacity(
    request: Request, params: Annotated[FreeCapacityParams, Query()]
) -> Response:
    # No dependencies but the parameters: this is the hot path (see api.auth).
    services: Services = request.app.state.services
    principal = await authenticate(request)
    if not roles.may_search_capacity(principal.role):
        raise ApiError.forbidden(f"role {principal.role} may not search free capacity")
    region = params.region
    restricted = roles.capacity_region_restriction(principal.role)
    if restricted is not None:
        if region is not None and region != restricted:
            raise ApiError.forbidden(
                f"role {principal.role} may search its own region only, not {region}"
            )
        region = restricted
    query = CapacityQuery(
        region=region,
        hospital=params.hospital,
        care_type=params.care_type.value if params.care_type is not None else None,
        specialty=params.specialty,
        min_free=params.min_free,
        max_staleness_s=params.max_staleness_s,
        limit=params.limit,
    )
    # Serialized here with orjson: the hot path of referral systems skips FastAPI's
    # validation of a response built from already-validated state.
    body = free_capacity_json(services.live, services.reference, query, services.clock())
    return Response(body, media_type="application/json")


# --- history ---------------------------------------------------------------------------------


@router.get(
    "/history/{scope_id}",
    response_model=HistoryResponse,
    responses=error_responses(400, 401, 403, 404, 503),
    tags=["history"],
    summary="Time series of a scope in buckets (from the store)",
)
async def get_history(
    services: ServicesDep,
    principal: CurrentPrincipal,
    scope_id: Annotated[str, Path(max_length=100)],
    care_type: CareTypeOrAll = "all",
    start: datetime | None = None,
    end: datetime | None = None,
    bucket: Bucket = Bucket.FIVE_MINUTES,
) -> HistoryResponse:
    scope = _scope(scope_id)
    _require_visible(services, principal, scope)
    end_at = _aware(end, "end") or services.clock()
    start_at = _aware(start, "start") or end_at - timedelta(hours=24)
    if start_at >= end_at:
        raise ApiError.bad_request("start must be before end")
    if end_at - start_at > MAX_HISTORY_RANGE[bucket]:
        raise ApiError.bad_request(
            f"at most {MAX_HISTORY_RANGE[bucket].days} days of {bucket.value} buckets"
        )
    try:
        points = await services.history.history(scope.scope_id, care_type, start_at, end_at, bucket)
    except HistoryUnavailableError as exc:
        raise ApiError.unavailable(str(exc)) from exc
    return HistoryResponse(
        scope_id=scope.scope_id, care_type=care_type, bucket=bucket, points=points
    )


def _aware(value: datetime | None, name: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ApiError.bad_request(f"{name} needs a timezone (e.g. 2025-01-31T06:00:00Z)")
    return value


# --- alerts ----------------------------------------------------------------------------------

AlertReader = Annotated[Principal, Depends(requires(roles.may_read_alerts, "read alerts"))]


@router.get(
    "/alerts",
    response_model=AlertsResponse,
    responses=error_responses(401, 403),
    tags=["alerts"],
    summary="Alerts: active ones from the live state, or past ones from the store",
)
async def list_alerts(
    services: ServicesDep,
    principal: AlertReader,
    active: bool = True,
    region: Annotated[str | None, Query(pattern=r"^[0-9]{2}$")] = None,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 200,
) -> AlertsResponse:
    start_at, end_at = _aware(start, "start"), _aware(end, "end")
    alerts: list[AlertView]
    if active:
        alerts = [alert_view(a) for a in services.live.alert_events(active_only=True)]
    else:
        try:
            alerts = await services.history.alert_history(
                region_code=region, start=start_at, end=end_at, limit=limit
            )
        except HistoryUnavailableError:
            # The compacted topic still holds the latest event of every alert.
            alerts = [alert_view(a) for a in services.live.alert_events(active_only=False)]
    out: list[AlertView] = []
    for alert in alerts:
        if region is not None and alert.region_code != region:
            continue
        if start_at is not None and alert.occurred_at < start_at:
            continue
        if end_at is not None and alert.occurred_at >= end_at:
            continue
        if not _alert_visible(principal, alert):
            continue
        out.append(alert)
        if len(out) >= limit:
            break
    return AlertsResponse(alerts=out)


@router.post(
    "/alerts/{alert_id}/ack",
    response_model=AlertView,
    responses=error_responses(401, 403, 404, 409, 503),
    tags=["alerts"],
    summary="Acknowledge an alert (an 'acknowledged' lifecycle event on the alerts topic)",
)
async def acknowledge_alert(
    services: ServicesDep, principal: CurrentPrincipal, alert_id: UUID
) -> AlertView:
    current = services.live.alert(str(alert_id))
    if current is None or not _alert_visible(principal, current):
        if current is not None and principal.role.kind is roles.RoleKind.REGION:
            raise ApiError.forbidden(f"role {principal.role} may not see alert {alert_id}")
        if not roles.may_read_alerts(principal.role):
            raise ApiError.forbidden(f"role {principal.role} may not acknowledge alerts")
        raise ApiError.not_found(f"no alert {alert_id}")
    if not roles.may_acknowledge_alert(principal.role, alert_region=current.region_code):
        raise ApiError.forbidden(f"role {principal.role} may not acknowledge alert {alert_id}")
    if current.state is AlertState.RESOLVED:
        raise ApiError.conflict(f"alert {alert_id} is resolved")
    if current.state is AlertState.ACKNOWLEDGED:
        return alert_view(current)
    acknowledged = current.model_copy(
        update={
            "state": AlertState.ACKNOWLEDGED,
            # An acknowledgement is not a lifecycle step: it keeps the sequence the worker
            # gave the alert, so the worker's next change (sequence + 1) never collides.
            "sequence": current.sequence,
            "occurred_at": services.clock(),
            "previous_level": current.level,
            "acknowledged_by": principal.name,
        }
    )
    text = acknowledged.model_dump_json()
    try:
        await services.publisher.publish_alert(str(alert_id), text.encode())
    except Exception as exc:
        raise ApiError.unavailable("Kafka did not take the acknowledgement") from exc
    services.live.apply(acknowledged, json=text)
    await _record_ack(services, acknowledged)
    return alert_view(acknowledged)


async def _record_ack(services: Services, alert: AlertEvent) -> None:
    if services.pool is None:
        return
    try:
        async with services.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO api_alert_acks (alert_id, sequence, acknowledged_by,"
                " acknowledged_at) VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (alert.alert_id, alert.sequence, alert.acknowledged_by, alert.occurred_at),
            )
    except Exception:
        # The event is on the alerts topic (the record of truth, and the sink's input).
        log.exception("acknowledgement of %s not recorded in the database", alert.alert_id)


# --- compliance and the 06:00 series ---------------------------------------------------------

ComplianceReader = Annotated[
    Principal, Depends(requires(roles.may_read_compliance, "read compliance"))
]


@router.get(
    "/compliance",
    response_model=ComplianceResponse,
    responses=error_responses(400, 401, 403, 503),
    tags=["history"],
    summary="Time above the occupancy target per region and the nation, per local day or "
    "month over the days [start, end) (from the store)",
)
async def get_compliance(
    services: ServicesDep,
    principal: ComplianceReader,
    period: Period = Period.DAY,
    start: date | None = None,
    end: date | None = None,
    region: Annotated[str | None, Query(pattern=r"^[0-9]{2}$")] = None,
) -> ComplianceResponse:
    end_day = end or services.clock().date() + timedelta(days=1)
    start_day = start or end_day - timedelta(days=30 if period is Period.DAY else 365)
    if start_day >= end_day:
        raise ApiError.bad_request("start must be before end")
    if (end_day - start_day).days > 3700:
        raise ApiError.bad_request("at most ten years")
    try:
        rows = await services.history.compliance(period, start_day, end_day, region)
    except HistoryUnavailableError as exc:
        raise ApiError.unavailable(str(exc)) from exc
    visible = []
    for row in rows:
        try:
            scope = parse_scope(row.scope_id)
        except InvalidScopeError:
            continue
        if _visibility(services, principal, scope) is not Visibility.NONE:
            visible.append(row)
    return ComplianceResponse(period=period, rows=visible)


@router.get(
    "/daily",
    response_model=DailyResponse,
    responses=error_responses(400, 401, 403, 404, 503),
    tags=["history"],
    summary="The 06:00 Europe/Stockholm snapshot series of a scope for the local days "
    "[start, end) (SKR-comparable)",
)
async def get_daily(
    services: ServicesDep,
    principal: CurrentPrincipal,
    scope_id: Annotated[str, Query(max_length=100)] = "nation",
    care_type: CareTypeOrAll = "all",
    start: date | None = None,
    end: date | None = None,
) -> DailyResponse:
    scope = _scope(scope_id)
    _require_visible(services, principal, scope)
    end_day = end or services.clock().date() + timedelta(days=1)
    start_day = start or end_day - timedelta(days=30)
    if start_day >= end_day:
        raise ApiError.bad_request("start must be before end")
    if (end_day - start_day).days > 3700:
        raise ApiError.bad_request("at most ten years")
    try:
        points = await services.history.daily(scope.scope_id, care_type, start_day, end_day)
    except HistoryUnavailableError as exc:
        raise ApiError.unavailable(str(exc)) from exc
    return DailyResponse(scope_id=scope.scope_id, care_type=care_type, points=points)


# --- reference data and targets --------------------------------------------------------------


@router.get(
    "/reference/regions",
    response_model=RegionsResponse,
    responses=error_responses(401),
    tags=["reference"],
)
async def reference_regions(services: ServicesDep, _principal: CurrentPrincipal) -> RegionsResponse:
    regions = services.reference.regions
    return RegionsResponse(regions=[regions[code] for code in sorted(regions)])


@router.get(
    "/reference/hospitals",
    response_model=HospitalsResponse,
    responses=error_responses(401),
    tags=["reference"],
)
async def reference_hospitals(
    services: ServicesDep,
    _principal: CurrentPrincipal,
    region: Annotated[str | None, Query(pattern=r"^[0-9]{2}$")] = None,
) -> HospitalsResponse:
    hospitals = sorted(services.reference.hospitals.values(), key=lambda h: h.hospital_id)
    if region is not None:
        hospitals = [h for h in hospitals if h.region_code == region]
    return HospitalsResponse(hospitals=hospitals)


@router.get(
    "/reference/wards",
    response_model=WardsResponse,
    responses=error_responses(401),
    tags=["reference"],
)
async def reference_wards(
    services: ServicesDep,
    _principal: CurrentPrincipal,
    region: Annotated[str | None, Query(pattern=r"^[0-9]{2}$")] = None,
    hospital: Annotated[str | None, Query(max_length=30)] = None,
) -> WardsResponse:
    reference = services.reference
    wards = sorted(reference.wards.values(), key=lambda w: w.ward_id)
    if hospital is not None:
        wards = [w for w in wards if w.hospital_id == hospital]
    if region is not None:
        in_region = {h.hospital_id for h in reference.hospitals.values() if h.region_code == region}
        wards = [w for w in wards if w.hospital_id in in_region]
    return WardsResponse(wards=wards)


@router.get(
    "/targets",
    response_model=TargetsResponse,
    responses=error_responses(401),
    tags=["reference"],
    summary="Target values (riktvärden): the configuration and what is applied now",
)
async def get_targets(services: ServicesDep, _principal: CurrentPrincipal) -> TargetsResponse:
    active: list[ActiveTarget] = []
    for scope_id, by_care in sorted(services.live.rollups_by_scope.items()):
        if scope_id != "nation" and not scope_id.startswith("region:"):
            continue
        for care_type in sorted(by_care):
            active.append(
                ActiveTarget(
                    scope_id=scope_id,
                    care_type=care_type,
                    target=by_care[care_type].message.target,
                )
            )
    return TargetsResponse(config=services.targets, active=active)


# --- ingest ----------------------------------------------------------------------------------

Ingester = Annotated[Principal, Depends(requires(roles.may_ingest, "publish events"))]

INGEST_BODY_SCHEMA_REF = "#/components/schemas/IngestBody"


@router.post(
    "/events",
    response_model=IngestResponse,
    status_code=202,
    responses={
        400: {"model": IngestResponse, "description": "The body as a whole is unreadable"},
        413: {"model": IngestResponse, "description": "Body or batch too large"},
        **error_responses(401, 403, 503),
    },
    tags=["ingest"],
    summary="Publish one event or a batch; per-item results with reason codes",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": INGEST_BODY_SCHEMA_REF}}},
        }
    },
)
async def ingest_events(
    request: Request, services: ServicesDep, principal: Ingester
) -> IngestResponse | JSONResponse:
    settings = services.settings
    metrics = services.metrics
    limit = settings.ingest_max_bytes
    try:
        declared = int(request.headers.get("content-length", "0"))
    except ValueError:
        declared = 0
    body = b""
    too_large: str | None = None
    if declared > limit:
        too_large = f"body of {declared} bytes; at most {limit} bytes"
    else:
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                too_large = f"body over {limit} bytes"
                break
            chunks.append(chunk)
        body = b"".join(chunks)
    if too_large is None:
        try:
            outcome = validate_ingest_body(
                body,
                principal=principal,
                reference=services.reference,
                settings=settings,
                now=services.clock(),
            )
        except BodyTooLargeError as exc:
            too_large = exc.detail
    if too_large is not None:
        metrics.ingest_requests.labels("413").inc()
        metrics.ingest_events.labels("rejected", "batch_too_large").inc()
        return JSONResponse(too_large_response(too_large).model_dump(mode="json"), status_code=413)

    if outcome.batches:
        try:
            for hospital_id, (source, events) in outcome.batches.items():
                await services.publisher.publish_event_batch(
                    hospital_id, batch_message(source, hospital_id, events)
                )
        except Exception as exc:
            metrics.ingest_requests.labels("503").inc()
            raise ApiError.unavailable(
                "Kafka did not take the events; resend (duplicates are ignored)"
            ) from exc
    reference = services.reference
    for registration in outcome.registered:
        reference = reference.with_ward(Ward.from_event(registration))
    if outcome.registered:
        services.set_reference(reference)
    for result in outcome.response.results:
        reason = result.reason.value if result.reason is not None else ""
        metrics.ingest_events.labels(result.status, reason).inc()
    metrics.ingest_requests.labels(str(outcome.status)).inc()
    if outcome.status != 202:
        return JSONResponse(outcome.response.model_dump(mode="json"), status_code=outcome.status)
    return outcome.response


# --- webhooks --------------------------------------------------------------------------------


def _webhooks(services: Services) -> WebhookRepository:
    if services.webhook_repository is None:
        raise ApiError.unavailable("webhooks need the database")
    return services.webhook_repository


@router.post(
    "/webhooks",
    response_model=WebhookCreated,
    status_code=201,
    responses=error_responses(400, 401, 403, 503),
    tags=["webhooks"],
    summary="Register a URL for a region's alert lifecycle events",
)
async def create_webhook(
    services: ServicesDep, principal: CurrentPrincipal, body: WebhookCreate
) -> WebhookCreated:
    region = body.region_code
    if region is None and principal.role.kind is roles.RoleKind.REGION:
        region = principal.role.region_code
    if not roles.may_manage_webhooks(principal.role, region):
        target = f"region {region}" if region is not None else "every alert"
        raise ApiError.forbidden(f"role {principal.role} may not register webhooks for {target}")
    repository = _webhooks(services)
    try:
        view = await repository.create(region, str(body.url), principal.name)
    except Exception as exc:
        raise ApiError.unavailable("database unavailable") from exc
    if services.webhooks is not None:
        services.webhooks.request_refresh()
    secret = endpoint_secret(services.settings.webhook_secret, view.webhook_id)
    return WebhookCreated(**view.model_dump(), secret=secret)


WebhookManager = Annotated[
    Principal,
    Depends(
        requires(
            lambda role: role.kind in (roles.RoleKind.ADMIN, roles.RoleKind.REGION),
            "manage webhooks",
        )
    ),
]


@router.get(
    "/webhooks",
    response_model=WebhookList,
    responses=error_responses(401, 403, 503),
    tags=["webhooks"],
)
async def list_webhooks(services: ServicesDep, principal: WebhookManager) -> WebhookList:
    repository = _webhooks(services)
    all_regions = principal.role.kind is roles.RoleKind.ADMIN
    try:
        hooks = await repository.list_webhooks(principal.role.region_code, all_regions=all_regions)
    except Exception as exc:
        raise ApiError.unavailable("database unavailable") from exc
    return WebhookList(webhooks=hooks)


async def _own_webhook(services: Services, principal: Principal, webhook_id: int) -> None:
    repository = _webhooks(services)
    try:
        view = await repository.get(webhook_id)
    except Exception as exc:
        raise ApiError.unavailable("database unavailable") from exc
    if view is None:
        raise ApiError.not_found(f"no webhook {webhook_id}")
    if not roles.may_manage_webhooks(principal.role, view.region_code):
        raise ApiError.forbidden(f"role {principal.role} may not manage webhook {webhook_id}")


@router.get(
    "/webhooks/{webhook_id}/attempts",
    response_model=WebhookAttempts,
    responses=error_responses(401, 403, 404, 503),
    tags=["webhooks"],
    summary="Delivery attempts of a webhook, newest first",
)
async def webhook_attempts(
    services: ServicesDep,
    principal: WebhookManager,
    webhook_id: Annotated[int, Path(ge=1, le=2**62)],
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> WebhookAttempts:
    await _own_webhook(services, principal, webhook_id)
    try:
        attempts = await _webhooks(services).attempts(webhook_id, limit)
    except Exception as exc:
        raise ApiError.unavailable("database unavailable") from exc
    return WebhookAttempts(webhook_id=webhook_id, attempts=attempts)


@router.delete(
    "/webhooks/{webhook_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses(401, 403, 404, 503),
    tags=["webhooks"],
)
async def delete_webhook(
    services: ServicesDep,
    principal: WebhookManager,
    webhook_id: Annotated[int, Path(ge=1, le=2**62)],
) -> Response:
    await _own_webhook(services, principal, webhook_id)
    try:
        await _webhooks(services).deactivate(webhook_id)
    except Exception as exc:
        raise ApiError.unavailable("database unavailable") from exc
    if services.webhooks is not None:
        services.webhooks.request_refresh()
    return Response(status_code=204)
