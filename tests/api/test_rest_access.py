"""Each role can do exactly what it may over REST and gets 403 (or 401) otherwise."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI

from api.services import Services
from tests.api import factories as f
from tests.api.conftest import ROLE_TOKENS, auth

ROLES = list(ROLE_TOKENS)
NAT, ADM, R01, REF, PUB = ROLES
WARD_01 = f.wards_of(f.KAROLINSKA)[0]
WARD_03 = f.wards_of(f.AKADEMISKA)[0]
ALERT_01 = uuid.UUID("00000000-0000-4000-8000-000000000001")
ALERT_03_HOSPITAL = uuid.UUID("00000000-0000-4000-8000-000000000003")


def _census(ward_id: str) -> dict[str, object]:
    return {
        "type": "census",
        "event_id": str(uuid.uuid4()),
        "source": "test",
        "ward_id": ward_id,
        "occurred_at": f.NOW.isoformat(),
        "available_beds": 10,
        "occupied": 5,
    }


# (method, path, json body or None, roles that may) -- everyone else gets 403
MATRIX: list[tuple[str, str, object, set[str]]] = [
    ("GET", "/api/v1/state/nation", None, {NAT, ADM, R01}),
    ("GET", "/api/v1/state/region:01", None, {NAT, ADM, R01}),
    ("GET", "/api/v1/state/region:03", None, {NAT, ADM, R01}),  # as aggregate
    ("GET", f"/api/v1/state/hospital:{f.KAROLINSKA}", None, {NAT, ADM, R01}),
    ("GET", f"/api/v1/state/hospital:{f.AKADEMISKA}", None, {NAT, ADM}),
    ("GET", f"/api/v1/wards/{WARD_01}", None, {NAT, ADM, R01}),
    ("GET", f"/api/v1/wards/{WARD_03}", None, {NAT, ADM}),
    ("GET", "/api/v1/capacity/free", None, {NAT, ADM, R01, REF}),
    ("GET", "/api/v1/capacity/free?region=03", None, {NAT, ADM, REF}),
    ("GET", "/api/v1/history/nation", None, {NAT, ADM, R01}),
    ("GET", "/api/v1/history/region:03", None, {NAT, ADM, R01}),
    ("GET", f"/api/v1/history/hospital:{f.AKADEMISKA}", None, {NAT, ADM}),
    ("GET", "/api/v1/alerts", None, {NAT, ADM, R01}),
    ("GET", "/api/v1/alerts?active=false", None, {NAT, ADM, R01}),
    ("POST", f"/api/v1/alerts/{ALERT_01}/ack", None, {NAT, ADM, R01}),
    ("POST", f"/api/v1/alerts/{ALERT_03_HOSPITAL}/ack", None, {NAT, ADM}),
    ("GET", "/api/v1/compliance", None, {NAT, ADM, R01}),
    ("GET", "/api/v1/daily?scope_id=nation", None, {NAT, ADM, R01}),
    ("GET", f"/api/v1/daily?scope_id=hospital:{f.AKADEMISKA}", None, {NAT, ADM}),
    ("GET", "/api/v1/reference/regions", None, set(ROLES)),
    ("GET", "/api/v1/reference/hospitals", None, set(ROLES)),
    ("GET", "/api/v1/reference/wards?region=09", None, set(ROLES)),
    ("GET", "/api/v1/targets", None, set(ROLES)),
    ("GET", "/api/v1/whoami", None, set(ROLES)),
    ("POST", "/api/v1/events", _census(WARD_01), {ADM, PUB}),
    # webhooks need the database (503 here) but the role check comes first
    ("POST", "/api/v1/webhooks", {"url": "http://127.0.0.1:9/h", "region_code": "01"}, {ADM, R01}),
    ("POST", "/api/v1/webhooks", {"url": "http://127.0.0.1:9/h", "region_code": "03"}, {ADM}),
    ("POST", "/api/v1/webhooks", {"url": "http://127.0.0.1:9/h"}, {ADM, R01}),  # R01: own region
    ("GET", "/api/v1/webhooks", None, {ADM, R01}),
]


@pytest.fixture
def fed(services: Services) -> Services:
    live = services.live
    live.apply(f.rollup("nation"))
    for code in ("01", "03"):
        live.apply(f.rollup(f"region:{code}"))
    for hospital in (f.KAROLINSKA, f.AKADEMISKA):
        live.apply(f.rollup(f"hospital:{hospital}"))
    live.apply(f.ward_state(WARD_01))
    live.apply(f.ward_state(WARD_03))
    live.apply(f.alert("region:01", "01", alert_id=ALERT_01))
    live.apply(f.alert(f"hospital:{f.AKADEMISKA}", "03", alert_id=ALERT_03_HOSPITAL))
    return services


@pytest.mark.parametrize(
    ("method", "path", "body", "role", "may"),
    [(m, p, b, role, role in allowed) for m, p, b, allowed in MATRIX for role in ROLES],
    ids=lambda v: v if isinstance(v, str) else None,
)
async def test_role_matrix(
    client: httpx.AsyncClient,
    fed: Services,
    method: str,
    path: str,
    body: object,
    role: str,
    may: bool,
) -> None:
    response = await client.request(method, path, json=body, headers=auth(role))
    if may:
        # 503: the route needs the database this app runs without; the role was let through.
        assert response.status_code in (200, 201, 202, 204, 503), response.text
    else:
        assert response.status_code == 403, response.text
        assert response.json()["error"] == "forbidden"
        assert str(role) in response.json()["detail"] or role.startswith("publisher")


@pytest.mark.parametrize(("method", "path", "body", "_allowed"), MATRIX)
async def test_no_token_is_401_with_a_clear_body(
    client: httpx.AsyncClient, method: str, path: str, body: object, _allowed: set[str]
) -> None:
    response = await client.request(method, path, json=body)
    assert response.status_code == 401
    assert response.json() == {
        "error": "unauthorized",
        "detail": "missing bearer token (Authorization: Bearer <token>)",
    }
    assert response.headers["www-authenticate"] == "Bearer"
    wrong = await client.request(method, path, json=body, headers={"Authorization": "Bearer x"})
    assert wrong.status_code == 401
    assert wrong.json()["detail"] == "unknown or revoked token"


async def test_token_in_query_string_works_for_pages(client: httpx.AsyncClient) -> None:
    response = await client.get(f"/api/v1/reference/regions?token={ROLE_TOKENS[NAT]}")
    assert response.status_code == 200


async def test_whoami(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/v1/whoami", headers=auth(R01))).json()
    assert body == {
        "name": "region:01",
        "role": "region:01",
        "region_code": "01",
        "hospital_id": None,
    }


async def test_region_role_sees_other_regions_only_in_aggregate(
    client: httpx.AsyncClient, fed: Services
) -> None:
    own = (await client.get("/api/v1/state/region:01", headers=auth(R01))).json()
    other = (await client.get("/api/v1/state/region:03", headers=auth(R01))).json()
    assert [c["scope_id"] for c in own["children"]] == [f"hospital:{f.KAROLINSKA}"]
    assert other["rollups"]
    assert other["children"] == []
    national = (await client.get("/api/v1/state/region:03", headers=auth(NAT))).json()
    assert [c["scope_id"] for c in national["children"]] == [f"hospital:{f.AKADEMISKA}"]


async def test_region_role_search_defaults_to_own_region(
    client: httpx.AsyncClient, fed: Services
) -> None:
    rows = (await client.get("/api/v1/capacity/free", headers=auth(R01))).json()["rows"]
    assert {r["region_code"] for r in rows} == {"01"}
    everywhere = (await client.get("/api/v1/capacity/free", headers=auth(REF))).json()["rows"]
    assert {r["region_code"] for r in everywhere} == {"01", "03"}


async def test_region_role_alerts_and_compliance_are_filtered(
    client: httpx.AsyncClient, fed: Services
) -> None:
    alerts = (await client.get("/api/v1/alerts", headers=auth(R01))).json()["alerts"]
    assert [a["alert_id"] for a in alerts] == [str(ALERT_01)]
    rows = (await client.get("/api/v1/compliance", headers=auth(R01))).json()["rows"]
    assert [r["scope_id"] for r in rows] == ["nation", "region:01", "region:03"]


async def test_openapi_documents_every_route(app: FastAPI, client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    paths = spec["paths"]
    for path in (
        "/api/v1/state/{scope_id}",
        "/api/v1/capacity/free",
        "/api/v1/events",
        "/api/v1/webhooks",
        "/healthz",
        "/readyz",
    ):
        assert path in paths
    body = paths["/api/v1/events"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/IngestBody"}
    assert "CensusSnapshot" in spec["components"]["schemas"]
