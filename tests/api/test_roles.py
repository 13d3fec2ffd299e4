"""The access rules of every role, table-driven (pure; the HTTP wiring is tested elsewhere)."""

from __future__ import annotations

import pytest

from api import roles
from api.channels import Refusal, subscription_channels
from api.roles import InvalidRoleError, Role, RoleKind, Visibility, scope_visibility
from api.scopes import Scope, parse_scope
from tests.api import factories as f

NATIONAL = Role.parse("national")
ADMIN = Role.parse("admin")
REGION_01 = Role.parse("region:01")
REFERRAL = Role.parse("referral")
PUBLISHER = Role.parse(f"publisher:{f.KAROLINSKA}")
ALL_ROLES = [NATIONAL, ADMIN, REGION_01, REFERRAL, PUBLISHER]

WARD_01 = f.wards_of(f.KAROLINSKA)[0]
WARD_03 = f.wards_of(f.AKADEMISKA)[0]
SCOPE_REGION = {
    "nation": None,
    "region:01": "01",
    "region:03": "03",
    f"hospital:{f.KAROLINSKA}": "01",
    f"hospital:{f.AKADEMISKA}": "03",
    f"ward:{WARD_01}": "01",
    f"ward:{WARD_03}": "03",
}

F, A, N = Visibility.FULL, Visibility.AGGREGATE, Visibility.NONE
#                      nation r01 r03 h01 h03 w01 w03
VISIBILITY = {
    NATIONAL: [F, F, F, F, F, F, F],
    ADMIN: [F, F, F, F, F, F, F],
    REGION_01: [A, F, A, F, N, F, N],
    REFERRAL: [N, N, N, N, N, N, N],
    PUBLISHER: [N, N, N, N, N, N, N],
}


@pytest.mark.parametrize(
    ("role", "scope_id", "expected"),
    [
        (role, scope_id, row[i])
        for role, row in VISIBILITY.items()
        for i, scope_id in enumerate(SCOPE_REGION)
    ],
    ids=lambda v: str(v),
)
def test_scope_visibility(role: Role, scope_id: str, expected: Visibility) -> None:
    scope = parse_scope(scope_id)
    assert scope_visibility(role, scope, SCOPE_REGION[scope_id]) is expected


def _region_of(scope: Scope) -> str | None:
    return SCOPE_REGION.get(scope.scope_id)


# What a WebSocket subscription resolves to, per role: channels, or the refusal code.
SUBSCRIPTIONS = [
    (NATIONAL, "nation", ("nation",)),
    (NATIONAL, "region:03", ("region:03",)),
    (NATIONAL, "alerts", ("alerts",)),
    (REGION_01, "nation", ("nation",)),
    (REGION_01, "region:01", ("region:01",)),
    (REGION_01, "region:03", ("region-agg:03",)),  # other regions: their rollups only
    (REGION_01, f"hospital:{f.KAROLINSKA}", (f"hospital:{f.KAROLINSKA}",)),
    (REGION_01, f"hospital:{f.AKADEMISKA}", "forbidden"),
    (REGION_01, f"ward:{WARD_03}", "forbidden"),
    (REGION_01, "alerts", ("alerts-agg", "alerts-region:01")),
    (REFERRAL, "nation", "forbidden"),
    (REFERRAL, "alerts", "forbidden"),
    (PUBLISHER, f"hospital:{f.KAROLINSKA}", "forbidden"),
    (NATIONAL, "region:1", "invalid_scope"),
    (NATIONAL, "planet:earth", "invalid_scope"),
]


@pytest.mark.parametrize(("role", "requested", "expected"), SUBSCRIPTIONS, ids=str)
def test_subscription_channels(role: Role, requested: str, expected: object) -> None:
    resolved = subscription_channels(role, requested, _region_of)
    if isinstance(expected, str):
        assert isinstance(resolved, Refusal)
        assert resolved.code == expected
    else:
        assert resolved == expected


# Capabilities: (predicate, roles that may)
CAPABILITIES = [
    (roles.may_search_capacity, {NATIONAL, ADMIN, REGION_01, REFERRAL}),
    (roles.may_read_alerts, {NATIONAL, ADMIN, REGION_01}),
    (roles.may_read_compliance, {NATIONAL, ADMIN, REGION_01}),
    (roles.may_ingest, {ADMIN, PUBLISHER}),
    (lambda r: roles.may_manage_webhooks(r, "01"), {ADMIN, REGION_01}),
    (lambda r: roles.may_manage_webhooks(r, "03"), {ADMIN}),
    (lambda r: roles.may_manage_webhooks(r, None), {ADMIN}),
    (lambda r: roles.may_acknowledge_alert(r, alert_region="01"), {NATIONAL, ADMIN, REGION_01}),
    (lambda r: roles.may_acknowledge_alert(r, alert_region="03"), {NATIONAL, ADMIN}),
    (lambda r: roles.may_ingest_for_hospital(r, f.KAROLINSKA), {ADMIN, PUBLISHER}),
    (lambda r: roles.may_ingest_for_hospital(r, f.HUDDINGE), {ADMIN}),
]


@pytest.mark.parametrize(
    ("index", "role"), [(i, r) for i in range(len(CAPABILITIES)) for r in ALL_ROLES]
)
def test_capabilities(index: int, role: Role) -> None:
    predicate, allowed = CAPABILITIES[index]
    assert predicate(role) is (role in allowed)


@pytest.mark.parametrize(
    ("alert_scope", "alert_region", "may"),
    [
        ("nation", None, True),
        ("region:03", "03", True),  # aggregates of other regions are visible
        (f"hospital:{f.AKADEMISKA}", "03", False),
        (f"hospital:{f.KAROLINSKA}", "01", True),
        (f"ward:{WARD_01}", "01", True),
    ],
)
def test_region_role_sees_own_alerts_and_aggregate_ones(
    alert_scope: str, alert_region: str | None, may: bool
) -> None:
    scope = parse_scope(alert_scope)
    assert roles.may_see_alert(REGION_01, alert_scope=scope, alert_region=alert_region) is may


def test_capacity_search_of_a_region_role_is_limited_to_its_region() -> None:
    assert roles.capacity_region_restriction(REGION_01) == "01"
    assert roles.capacity_region_restriction(REFERRAL) is None
    assert roles.capacity_region_restriction(NATIONAL) is None


@pytest.mark.parametrize(
    "text", ["national", "admin", "referral", "region:01", f"publisher:{f.KAROLINSKA}"]
)
def test_role_round_trips(text: str) -> None:
    assert str(Role.parse(text)) == text


@pytest.mark.parametrize(
    "text", ["", "king", "region:1", "region:AB", "publisher:", "publisher:H001", "national:01"]
)
def test_invalid_roles_are_refused(text: str) -> None:
    with pytest.raises(InvalidRoleError):
        Role.parse(text)


def test_role_kinds() -> None:
    assert REGION_01.kind is RoleKind.REGION
    assert REGION_01.region_code == "01"
    assert PUBLISHER.kind is RoleKind.PUBLISHER
    assert PUBLISHER.hospital_id == f.KAROLINSKA
