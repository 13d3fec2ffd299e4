"""REST answers from the live state: state per scope, free capacity, alerts and acks."""

from __future__ import annotations

import httpx
import orjson

from api.services import Services
from capmon.settings import REPO_ROOT
from schemas.messages import AlertState
from tests.api import factories as f
from tests.api.conftest import RecordingPublisher, auth

NAT = "national"
WARDS = f.wards_of(f.KAROLINSKA, 3)


async def test_state_of_each_scope_kind(client: httpx.AsyncClient, services: Services) -> None:
    live = services.live
    live.apply(f.rollup("nation"))
    live.apply(f.rollup("region:01"))
    live.apply(f.rollup("region:01", "intensive_care"))
    live.apply(f.rollup(f"hospital:{f.KAROLINSKA}"))
    for ward in WARDS:
        live.apply(f.ward_state(ward))

    nation = (await client.get("/api/v1/state/nation", headers=auth(NAT))).json()
    assert [r["scope_id"] for r in nation["rollups"]] == ["nation"]
    assert [c["scope_id"] for c in nation["children"]] == ["region:01"]  # care type 'all' only

    region = (await client.get("/api/v1/state/region:01", headers=auth(NAT))).json()
    assert [r["care_type"] for r in region["rollups"]] == ["all", "intensive_care"]
    assert [c["kind"] for c in region["children"]] == ["rollup"]

    hospital = await client.get(f"/api/v1/state/hospital:{f.KAROLINSKA}", headers=auth(NAT))
    assert [c["ward_id"] for c in hospital.json()["children"]] == sorted(WARDS)

    one = await client.get(f"/api/v1/wards/{WARDS[0]}", headers=auth(NAT))
    assert one.json() == orjson.loads(f.ward_state(WARDS[0]).model_dump_json())


async def test_unknown_and_invalid_scopes_are_404(client: httpx.AsyncClient) -> None:
    for scope in ("region:99", "hospital:SE9999999999-ZZZZ", "planet:earth", "region:1"):
        response = await client.get(f"/api/v1/state/{scope}", headers=auth(NAT))
        assert response.status_code == 404, scope
        assert response.json()["error"] == "not_found"
    missing = await client.get(f"/api/v1/wards/{WARDS[0]}", headers=auth(NAT))
    assert missing.status_code == 404


async def test_free_capacity_endpoint(client: httpx.AsyncClient, services: Services) -> None:
    services.live.apply(f.ward_state(WARDS[0], available=20, occupied=10))
    services.live.apply(f.ward_state(WARDS[1], available=20, occupied=19))
    services.live.apply(f.ward_state(WARDS[2], available=20, occupied=20))
    response = await client.get("/api/v1/capacity/free?min_free=1", headers=auth("referral"))
    body = response.json()
    assert [r["free_beds"] for r in body["rows"]] == [10, 1]
    row = body["rows"][0]
    assert set(row) == {
        "ward_id", "ward_name", "hospital_id", "hospital_name", "region_code", "care_type",
        "specialty", "available_beds", "occupied", "free_beds", "free_after_pending", "as_of",
        "age_s", "stale",
    }  # fmt: skip
    assert row["as_of"] == "2025-01-15T12:00:00Z"
    assert row["age_s"] == 0
    assert row["stale"] is False
    bad = await client.get("/api/v1/capacity/free?care_type=spa", headers=auth("referral"))
    assert bad.status_code == 422


async def test_acknowledge_produces_an_acknowledged_event(
    client: httpx.AsyncClient, services: Services, publisher: RecordingPublisher
) -> None:
    raised = f.alert("region:01", "01")
    services.live.apply(raised)
    response = await client.post(f"/api/v1/alerts/{raised.alert_id}/ack", headers=auth("region:01"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["state"] == "acknowledged"
    assert body["acknowledged"] is True
    assert body["sequence"] == raised.sequence  # an acknowledgement is not a lifecycle step
    assert body["acknowledged_by"] == "region:01"
    [(key, value)] = publisher.alerts
    assert key == str(raised.alert_id)
    assert orjson.loads(value)["state"] == "acknowledged"
    current = services.live.alert(str(raised.alert_id))
    assert current is not None
    assert current.state is AlertState.ACKNOWLEDGED
    again = await client.post(f"/api/v1/alerts/{raised.alert_id}/ack", headers=auth(NAT))
    assert again.status_code == 200
    assert len(publisher.alerts) == 1
    listed = (await client.get("/api/v1/alerts", headers=auth(NAT))).json()["alerts"]
    assert listed[0]["acknowledged"] is True


async def test_acknowledging_resolved_or_unknown_alerts(
    client: httpx.AsyncClient, services: Services
) -> None:
    resolved = f.alert("region:01", "01", state=AlertState.RESOLVED, sequence=4)
    services.live.apply(resolved)
    conflict = await client.post(f"/api/v1/alerts/{resolved.alert_id}/ack", headers=auth(NAT))
    assert conflict.status_code == 409
    unknown = await client.post(
        f"/api/v1/alerts/{f.alert('nation', None).alert_id}/ack", headers=auth(NAT)
    )
    assert unknown.status_code == 404
    assert (await client.get("/api/v1/alerts", headers=auth(NAT))).json()["alerts"] == []


async def test_history_validates_its_range(client: httpx.AsyncClient) -> None:
    ok = await client.get("/api/v1/history/nation?bucket=1h", headers=auth(NAT))
    assert ok.status_code == 200
    assert ok.json()["bucket"] == "1h"
    naive = await client.get("/api/v1/history/nation?start=2025-01-01T00:00:00", headers=auth(NAT))
    assert naive.status_code == 400
    backwards = await client.get(
        "/api/v1/history/nation?start=2025-01-02T00:00:00Z&end=2025-01-01T00:00:00Z",
        headers=auth(NAT),
    )
    assert backwards.status_code == 400
    too_long = await client.get(
        "/api/v1/history/nation?bucket=5m&start=2024-01-01T00:00:00Z&end=2025-01-01T00:00:00Z",
        headers=auth(NAT),
    )
    assert too_long.status_code == 400


async def test_health_readiness_and_metrics(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["ready"] is True
    metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert "capmon_ws_clients" in metrics.text


async def test_ui_pages_are_served_from_the_ui_directory(client: httpx.AsyncClient) -> None:
    for path, name in (
        ("/", "index.html"),
        ("/region/01", "region.html"),
        ("/search", "search.html"),
    ):
        response = await client.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")
        assert response.text == (REPO_ROOT / "ui" / name).read_text(encoding="utf-8")
    script = await client.get("/ui/js/api.js")
    assert script.status_code == 200
    assert (await client.get("/ui/nothing-here.js")).status_code == 404
