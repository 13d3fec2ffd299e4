"""The API against the real Kafka and PostgreSQL (output messages produced directly, as the
worker would)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from api.db import create_pool
from capmon.settings import Settings
from schemas.messages import AlertState
from tests.api import factories as f
from tests.api.stack_support import (
    issue_tokens,
    make_topics,
    produce,
    read_topic,
    running_api,
)
from tests.api.wsclient import ws_client

pytestmark = pytest.mark.integration

WARDS_01 = f.wards_of(f.KAROLINSKA, 3)
WARDS_03 = f.wards_of(f.AKADEMISKA, 3)


def _world(version: int = 1) -> list[Any]:
    return [
        f.rollup("nation", version=version),
        f.rollup("region:01", version=version),
        f.rollup("region:03", version=version),
        f.rollup(f"hospital:{f.KAROLINSKA}", version=version),
        f.rollup(f"hospital:{f.AKADEMISKA}", version=version),
        *[f.ward_state(w, version=version, occupied=10 + i) for i, w in enumerate(WARDS_01)],
        *[f.ward_state(w, version=version, occupied=5 + i) for i, w in enumerate(WARDS_03)],
    ]


async def test_region_subscriber_gets_its_changes_from_kafka_and_nothing_else(
    settings: Settings,
) -> None:
    await make_topics(settings)
    tokens = await issue_tokens(settings, ["region:01"])
    await produce(settings, _world())
    async with running_api(settings) as api, ws_client(api.url, tokens["region:01"]) as ws:
        await ws.subscribe("region:01")
        [snapshot] = await ws.wait(lambda c: c.of_type("snapshot"), what="snapshot")
        assert len(snapshot["items"]) == len(WARDS_01) + 2
        await produce(
            settings,
            [
                f.ward_state(WARDS_03[0], version=2, occupied=1),
                f.rollup("region:03", version=2),
                f.rollup(f"hospital:{f.AKADEMISKA}", version=2),
                f.ward_state(WARDS_01[0], version=2, occupied=2),
                f.rollup(f"hospital:{f.KAROLINSKA}", version=2),
                f.rollup("region:01", version=2),
            ],
        )
        await ws.wait(lambda c: len(c.updates()) >= 3, what="three updates")
        keys = sorted(u["key"] for u in ws.updates())
        assert keys == sorted([WARDS_01[0], f"hospital:{f.KAROLINSKA}:all", "region:01:all"])
        # Nothing from region 03 arrives later either: a final marker after it proves it.
        await produce(settings, [f.ward_state(WARDS_01[1], version=3, occupied=3)])
        await ws.wait(lambda c: len(c.updates()) >= 4, what="the marker")
        assert all(
            u["data"].get("region_code", "01") == "01"
            and not u["key"].startswith(("region:03", f"hospital:{f.AKADEMISKA}"))
            for u in ws.updates()
        )
        async with api.client() as client:
            metrics = (await client.get("/metrics")).text
        assert 'capmon_ws_subscriptions{scope="region:01"} 1.0' in metrics
        assert "capmon_live_state_caught_up 1.0" in metrics


async def test_restarted_api_serves_the_same_state(settings: Settings) -> None:
    await make_topics(settings)
    tokens = await issue_tokens(settings, ["national"])
    await produce(settings, _world(1))
    await produce(settings, _world(2))  # newer values of the same keys: latest must win
    paths = [
        "/api/v1/state/nation",
        "/api/v1/state/region:01",
        f"/api/v1/state/hospital:{f.KAROLINSKA}",
        "/api/v1/capacity/free?min_free=0",
    ]

    async def snapshot() -> list[Any]:
        async with running_api(settings) as api, api.client(tokens["national"]) as client:
            bodies = []
            for path in paths:
                response = await client.get(path)
                assert response.status_code == 200, response.text
                body = response.json()
                if "rows" in body:  # its as_of/age_s are the time of the answer
                    body = [{k: v for k, v in r.items() if k != "age_s"} for r in body["rows"]]
                bodies.append(body)
            return bodies

    first = await snapshot()
    second = await snapshot()
    assert first == second
    assert {r["version"] for r in first[2]["children"]} == {2}
    assert len(first[3]) == len(WARDS_01) + len(WARDS_03)


async def test_each_role_with_real_tokens(settings: Settings) -> None:
    await make_topics(settings)
    tokens = await issue_tokens(settings)
    await produce(settings, _world())
    async with running_api(settings) as api:
        expectations = [
            ("GET", "/api/v1/state/region:01", None, {"national", "admin", "region:01"}),
            ("GET", f"/api/v1/wards/{WARDS_03[0]}", None, {"national", "admin"}),
            ("GET", "/api/v1/capacity/free", None, {"national", "admin", "region:01", "referral"}),
            (
                "POST",
                "/api/v1/webhooks",
                {"url": "http://127.0.0.1:9/hook", "region_code": "01"},
                {"admin", "region:01"},
            ),
            ("GET", "/api/v1/webhooks", None, {"admin", "region:01"}),
            (
                "POST",
                "/api/v1/events",
                {
                    "type": "heartbeat",
                    "event_id": str(uuid.uuid4()),
                    "source": "test",
                    "ward_id": WARDS_01[0],
                    "occurred_at": datetime.now(UTC).isoformat(),
                },
                {"admin", f"publisher:{f.KAROLINSKA}"},
            ),
        ]
        for method, path, body, allowed in expectations:
            for role, token in tokens.items():
                async with api.client(token) as client:
                    response = await client.request(method, path, json=body)
                if role in allowed:
                    assert response.status_code < 300, (role, path, response.text)
                else:
                    assert response.status_code == 403, (role, path, response.text)
                    assert response.json()["error"] == "forbidden"
        async with api.client("cm_not-a-token") as client:
            assert (await client.get("/api/v1/state/nation")).status_code == 401


async def test_ingest_produces_accepted_events_keyed_by_hospital(settings: Settings) -> None:
    await make_topics(settings)
    tokens = await issue_tokens(settings, [f"publisher:{f.KAROLINSKA}"])
    now = datetime.now(UTC).isoformat()
    good = {
        "type": "census",
        "event_id": str(uuid.uuid4()),
        "source": "bedboard",
        "ward_id": WARDS_01[0],
        "occurred_at": now,
        "available_beds": 10,
        "occupied": 7,
    }
    bad = {**good, "event_id": str(uuid.uuid4()), "ward_id": "SE9999999999-ZZZZ"}
    batch = {"source": "bedboard", "hospital_id": f.KAROLINSKA, "events": [good, bad]}
    async with running_api(settings) as api:
        async with api.client(tokens[f"publisher:{f.KAROLINSKA}"]) as client:
            response = await client.post("/api/v1/events", json=batch)
        assert response.status_code == 202
        assert [r["status"] for r in response.json()["results"]] == ["accepted", "rejected"]
        assert response.json()["results"][1]["reason"] == "unknown_ward"
    [(key, value)] = await read_topic(settings, settings.topic_events, at_least=1)
    assert key == f.KAROLINSKA
    produced = orjson.loads(value)
    assert [e["event_id"] for e in produced["events"]] == [good["event_id"]]


async def test_acknowledgement_goes_to_kafka_and_the_database(settings: Settings) -> None:
    await make_topics(settings)
    tokens = await issue_tokens(settings, ["region:01"])
    raised = f.alert("region:01", "01")
    await produce(settings, [raised])
    async with running_api(settings) as api, api.client(tokens["region:01"]) as client:
        active = (await client.get("/api/v1/alerts")).json()["alerts"]
        assert [a["alert_id"] for a in active] == [str(raised.alert_id)]
        response = await client.post(f"/api/v1/alerts/{raised.alert_id}/ack")
        assert response.status_code == 200, response.text
    messages = await read_topic(settings, settings.topic_alerts, at_least=2)
    states = [orjson.loads(v)["state"] for k, v in messages if k == str(raised.alert_id)]
    assert states == [AlertState.RAISED.value, AlertState.ACKNOWLEDGED.value]
    pool = create_pool(settings, min_size=1, max_size=1)
    await pool.open(wait=True)
    try:
        async with pool.connection() as conn:
            cur = await conn.execute(
                "SELECT alert_id, sequence, acknowledged_by FROM api_alert_acks"
            )
            rows = await cur.fetchall()
    finally:
        await pool.close()
    # the acknowledgement keeps the sequence of the step it acknowledges (not a lifecycle step)
    assert rows == [(raised.alert_id, raised.sequence, "test region:01")]
