"""HTTP ingest: per-item results with the contract's reason codes; never a 500."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest

from api.services import Services
from tests.api import factories as f
from tests.api.conftest import RecordingPublisher, auth

PUB = f"publisher:{f.KAROLINSKA}"
OWN_WARDS = f.wards_of(f.KAROLINSKA, 3)
HUDDINGE_WARD = f.wards_of(f.HUDDINGE, 1)[0]
PERSONNUMMER = "19811218-9876"  # valid Luhn check digit


def census(ward_id: str = OWN_WARDS[0], **changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "census",
        "event_id": str(uuid.uuid4()),
        "source": "bedboard@karolinska",
        "ward_id": ward_id,
        "occurred_at": (f.NOW - timedelta(minutes=1)).isoformat(),
        "available_beds": 10,
        "occupied": 8,
    }
    event.update(changes)
    return event


def batch(*events: dict[str, Any], hospital_id: str = f.KAROLINSKA) -> dict[str, Any]:
    return {"source": "bedboard@karolinska", "hospital_id": hospital_id, "events": list(events)}


async def post(client: httpx.AsyncClient, body: object, role: str = PUB) -> httpx.Response:
    content = body if isinstance(body, bytes) else orjson.dumps(body)
    return await client.post(
        "/api/v1/events",
        content=content,
        headers={**auth(role), "Content-Type": "application/json"},
    )


async def test_single_event_accepted_and_produced_keyed_by_hospital(
    client: httpx.AsyncClient, publisher: RecordingPublisher
) -> None:
    event = census()
    response = await post(client, event)
    assert response.status_code == 202
    assert response.json() == {
        "results": [
            {
                "index": 0,
                "event_id": event["event_id"],
                "status": "accepted",
                "reason": None,
                "detail": None,
            }
        ],
        "accepted": 1,
        "rejected": 0,
    }
    [(key, value)] = publisher.events
    assert key == f.KAROLINSKA
    produced = orjson.loads(value)
    assert produced["hospital_id"] == f.KAROLINSKA
    assert [e["event_id"] for e in produced["events"]] == [event["event_id"]]


# Every bad-input class of the contract that the ingest decides (duplicate and too_late
# are the stream's: it holds the state).
BAD_ITEMS: list[tuple[str, dict[str, Any]]] = [
    ("schema_violation", census(occupied=-1)),
    ("schema_violation", {**census(), "type": "teleport"}),
    ("unknown_ward", census(ward_id="SE9999999999-ZZZZ")),
    ("implausible_value", census(available_beds=10, occupied=90)),
    ("in_future", census(occurred_at=(f.NOW + timedelta(hours=2)).isoformat())),
    (
        "personal_data",
        {
            "type": "movement",
            "event_id": str(uuid.uuid4()),
            "source": "adt",
            "ward_id": OWN_WARDS[1],
            "occurred_at": f.NOW.isoformat(),
            "action": "admit",
            "encounter_ref": PERSONNUMMER,
        },
    ),
    ("wrong_hospital", census(ward_id=HUDDINGE_WARD)),  # in a batch for Karolinska: see below
]


async def test_batch_answers_per_item_with_reason_codes(
    client: httpx.AsyncClient, publisher: RecordingPublisher
) -> None:
    good = census(OWN_WARDS[2])
    items = [item for _, item in BAD_ITEMS] + [good]
    response = await post(client, batch(*items), role="admin")
    assert response.status_code == 202, response.text
    body = response.json()
    reasons = [r["reason"] for r in body["results"]]
    assert reasons == [reason for reason, _ in BAD_ITEMS] + [None]
    assert [r["index"] for r in body["results"]] == list(range(len(items)))
    assert body["accepted"] == 1
    assert body["rejected"] == len(BAD_ITEMS)
    assert all(r["detail"] for r in body["results"][:-1])
    assert PERSONNUMMER not in response.text  # the detail names the field, never the number
    [(_, value)] = publisher.events
    assert [e["event_id"] for e in orjson.loads(value)["events"]] == [good["event_id"]]


async def test_publisher_may_not_publish_for_another_hospital(
    client: httpx.AsyncClient, publisher: RecordingPublisher
) -> None:
    # A single event, and a whole batch declared for the other hospital: forbidden_ward.
    single = await post(client, census(HUDDINGE_WARD))
    assert single.json()["results"][0]["reason"] == "forbidden_ward"
    other = await post(client, batch(census(HUDDINGE_WARD), hospital_id=f.HUDDINGE))
    assert other.json()["results"][0]["reason"] == "forbidden_ward"
    # Its own batch smuggling in another hospital's ward: forbidden for this caller too.
    mixed = await post(client, batch(census(), census(HUDDINGE_WARD)))
    assert [r["reason"] for r in mixed.json()["results"]] == [None, "forbidden_ward"]
    assert [key for key, _ in publisher.events] == [f.KAROLINSKA]


async def test_only_admin_registers_wards(client: httpx.AsyncClient, services: Services) -> None:
    registration = {
        "type": "ward_registered",
        "event_id": str(uuid.uuid4()),
        "source": "admin-console",
        "ward_id": "SE2321000016-H001NEW1",
        "occurred_at": f.NOW.isoformat(),
        "hospital_id": f.KAROLINSKA,
        "name": "Ny avdelning",
        "care_type": "somatic_acute",
        "specialty": "internal_medicine",
        "physical_beds": 20,
        "typical_available_beds": 18,
    }
    refused = await post(client, registration)
    assert refused.json()["results"][0]["reason"] == "forbidden_ward"
    accepted = await post(client, registration, role="admin")
    assert accepted.json()["accepted"] == 1
    assert "SE2321000016-H001NEW1" in services.reference.wards
    # and the new ward is usable at once
    follow_up = await post(client, census("SE2321000016-H001NEW1", available_beds=18))
    assert follow_up.json()["accepted"] == 1


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"type": "census", ', "malformed_json"),
        (b"\xff\xfe", "malformed_json"),
        (b"", "malformed_json"),
        (b"[1, 2, 3]", "schema_violation"),
        (b'"just a string"', "schema_violation"),
        (
            orjson.dumps({"source": "x", "hospital_id": f.KAROLINSKA, "events": []}),
            "schema_violation",
        ),
        (
            orjson.dumps({"source": "x", "hospital_id": f.KAROLINSKA, "events": 7}),
            "schema_violation",
        ),
    ],
)
async def test_unreadable_body_is_400_with_the_same_shape(
    client: httpx.AsyncClient, body: bytes, reason: str
) -> None:
    response = await post(client, body)
    assert response.status_code == 400
    result = response.json()
    assert result["accepted"] == 0
    assert result["rejected"] == 1
    assert result["results"][0]["index"] == 0
    assert result["results"][0]["reason"] == reason


async def test_too_many_events_is_413(client: httpx.AsyncClient) -> None:
    response = await post(client, batch(*[census() for _ in range(51)]))  # limit 50 in the app
    assert response.status_code == 413
    result = response.json()["results"][0]
    assert result["reason"] == "batch_too_large"
    assert "50" in result["detail"]


async def test_too_many_bytes_is_413_before_parsing(client: httpx.AsyncClient) -> None:
    response = await post(client, b"{" + b" " * 30_000 + b"}")  # limit 20,000 bytes
    assert response.status_code == 413
    assert response.json()["results"][0]["reason"] == "batch_too_large"
    assert "20000" in response.json()["results"][0]["detail"]


async def test_kafka_down_is_503_not_500(
    client: httpx.AsyncClient, publisher: RecordingPublisher
) -> None:
    publisher.fail = True
    response = await post(client, census())
    assert response.status_code == 503
    assert response.json()["error"] == "unavailable"


async def test_ingest_counts_reasons_in_metrics(client: httpx.AsyncClient) -> None:
    await post(client, batch(census(), census(occupied=-1)))
    metrics = (await client.get("/metrics")).text
    assert 'capmon_ingest_events_total{outcome="accepted",reason=""} 1.0' in metrics
    assert 'capmon_ingest_events_total{outcome="rejected",reason="schema_violation"} 1.0' in metrics
