"""The real worker on the real broker: events in, ward states, rollups, alerts and DLQ out.

Expected values are computed here, independently of ``streams.core``: counts by hand from
the scenario, time-weighted occupancy by integrating the step function in the test.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from capmon.settings import Settings
from schemas.reference import Ward, load_reference
from streams.topics import ensure_topics
from tests.fixtures.processes import CapmonProcess, start_worker
from tests.fixtures.topics import TopicReader

pytestmark = pytest.mark.integration

PERSONNUMMER = "19121212-1212"  # Skatteverket's test number: valid Luhn check digit
TIMEOUT = 90.0


@dataclass
class WardScenario:
    """One ward's events, relative to its census at t0 (seconds)."""

    ward: Ward
    t0: datetime
    events: list[dict[str, Any]]
    duplicate: dict[str, Any]

    @property
    def available(self) -> int:
        return self.ward.typical_available_beds

    @property
    def census_occupied(self) -> int:
        return self.available - 2

    # late admit at -300 (before the census: shapes the curve, not the count),
    # census at 0, admits at 60..300 (the one at 120 cancelled at 400), discharges 350, 450.
    def expected_occupied(self) -> int:
        return self.census_occupied + 5 - 1 - 2

    def expected_time_weighted(self) -> float:
        o = self.census_occupied
        steps = [  # (from, to, occupied); available is the typical count throughout
            (-300, 0, 1),
            (0, 60, o),
            (60, 180, o + 1),
            (180, 240, o + 2),
            (240, 300, o + 3),
            (300, 350, o + 4),
            (350, 450, o + 3),
        ]
        patient = sum((b - a) * occ for a, b, occ in steps)
        beds = sum((b - a) * self.available for a, b, _ in steps)
        return patient / beds


def _at(t0: datetime, seconds: int) -> str:
    return (t0 + timedelta(seconds=seconds)).isoformat()


def _movement(
    ward_id: str, t0: datetime, seconds: int, action: str, **extra: Any
) -> dict[str, Any]:
    return {
        "type": "movement",
        "event_id": str(uuid.uuid4()),
        "source": "test-adt",
        "ward_id": ward_id,
        "occurred_at": _at(t0, seconds),
        "action": action,
        "encounter_ref": f"enc-{uuid.uuid4().hex[:10]}",
        **extra,
    }


def ward_scenario(ward: Ward, t0: datetime) -> WardScenario:
    census = {
        "type": "census",
        "event_id": str(uuid.uuid4()),
        "source": "test-adt",
        "ward_id": ward.ward_id,
        "occurred_at": _at(t0, 0),
        "available_beds": ward.typical_available_beds,
        "occupied": ward.typical_available_beds - 2,
    }
    admits = [_movement(ward.ward_id, t0, s, "admit") for s in (60, 120, 180, 240, 300)]
    cancelled = admits[1]
    events = [
        _movement(ward.ward_id, t0, 450, "discharge"),  # out of order on purpose
        census,
        _movement(ward.ward_id, t0, -300, "admit"),
        *admits,
        _movement(ward.ward_id, t0, 350, "discharge"),
        _movement(ward.ward_id, t0, 400, "cancel", cancels_event_id=cancelled["event_id"]),
    ]
    return WardScenario(ward, t0, events, duplicate=admits[2])


async def _produce(settings: Settings, messages: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        for key, value in messages:
            await producer.send(settings.topic(settings.topic_events), value, key=key)
        await producer.flush()
    finally:
        await producer.stop()


def _latest_alert(alerts: TopicReader, scope_id: str, care_type: str) -> dict[str, Any] | None:
    found = [
        value
        for _key, value in alerts.records
        if value["scope_id"] == scope_id and value["care_type"] == care_type
    ]
    return found[-1] if found else None


async def test_worker_computes_states_rollups_alerts_and_dead_letters(
    settings: Settings, processes: list[CapmonProcess]
) -> None:
    reference = load_reference()
    hospitals = list(reference.hospitals.values())
    first = next(h for h in hospitals if len(reference.wards_of_hospital(h.hospital_id)) >= 3)
    second = next(h for h in hospitals if h.region_code != first.region_code)
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    scenarios = [ward_scenario(w, t0) for w in reference.wards_of_hospital(first.hospital_id)[:3]]
    scenarios += [ward_scenario(w, t0) for w in reference.wards_of_hospital(second.hospital_id)[:2]]

    def batch(hospital_id: str, events: list[dict[str, Any]]) -> tuple[bytes, bytes]:
        body = {"source": "test-adt", "hospital_id": hospital_id, "events": events}
        return hospital_id.encode(), orjson.dumps(body)

    bad_first = [
        _movement(scenarios[0].ward.ward_id, t0, 10, "admit", encounter_ref=PERSONNUMMER),
        _movement("SE0000000000-ZZZZ", t0, 10, "admit"),  # unknown ward
    ]
    messages = [
        batch(
            first.hospital_id,
            [e for s in scenarios[:3] for e in s.events] + bad_first,
        ),
        batch(second.hospital_id, [e for s in scenarios[3:] for e in s.events]),
        (first.hospital_id.encode(), b'{"type": "census", "ward_id": '),  # malformed JSON
        batch(first.hospital_id, [scenarios[0].duplicate]),
    ]

    await ensure_topics(settings)
    start_worker(settings, processes, alert_hold_seconds=0, stale_check_interval_s=1)
    await _produce(settings, messages)

    bootstrap = settings.kafka_bootstrap_servers
    async with (
        TopicReader(bootstrap, settings.topic(settings.topic_ward_state)) as states,
        TopicReader(bootstrap, settings.topic(settings.topic_rollups)) as rollups,
        TopicReader(bootstrap, settings.topic(settings.topic_alerts)) as alerts,
        TopicReader(bootstrap, settings.topic(settings.topic_invalid)) as invalid,
    ):
        expected = {s.ward.ward_id: s.expected_occupied() for s in scenarios}

        def states_done(reader: TopicReader) -> bool:
            return all(
                (v := reader.latest.get(w.encode())) is not None and v["counts"]["occupied"] == occ
                for w, occ in expected.items()
            )

        try:
            await states.wait_until(states_done, within=TIMEOUT, what="final ward states")
        except AssertionError:
            print(processes[0].log_tail())
            raise
        for scenario in scenarios:
            state = states.latest[scenario.ward.ward_id.encode()]
            assert state["counts"]["available_beds"] == scenario.available
            assert state["counts"]["free_beds"] == 0
            assert state["measures"]["occupancy_1h"]["occupancy"] == pytest.approx(
                scenario.expected_time_weighted(), abs=1e-9
            )
            assert state["as_of"].startswith(_at(t0, 450)[:19])

        def rollup_of(scope: str) -> tuple[int, int] | None:
            value = rollups.latest.get(f"{scope}:all".encode())
            if value is None:
                return None
            return value["counts"]["available_beds"], value["counts"]["occupied"]

        def sums(group: list[WardScenario]) -> tuple[int, int]:
            return sum(s.available for s in group), sum(s.expected_occupied() for s in group)

        want = {
            f"hospital:{first.hospital_id}": sums(scenarios[:3]),
            f"region:{first.region_code}": sums(scenarios[:3]),
            f"hospital:{second.hospital_id}": sums(scenarios[3:]),
            f"region:{second.region_code}": sums(scenarios[3:]),
            "nation": sums(scenarios),
        }
        await rollups.wait_until(
            lambda _r: all(rollup_of(scope) == value for scope, value in want.items()),
            within=TIMEOUT,
            what="hospital, region and nation rollups equal to the sums of their wards",
        )
        region = rollups.latest[f"region:{first.region_code}:all".encode()]
        assert region["wards_reporting"] == 3
        wards_in_region = sum(
            len(reference.wards_of_hospital(h.hospital_id))
            for h in reference.hospitals_of_region(first.region_code)
        )
        assert region["ward_count"] == wards_in_region  # silent wards count in coverage
        assert region["reporting_coverage"] == pytest.approx(3 / wards_in_region)

        # occupancy exactly 100 %: a hospital is critical (3); a region with no free bed of
        # the care type is severe (4), and so is the nation
        def alert_levels(_r: TopicReader) -> bool:
            hospital = _latest_alert(alerts, f"hospital:{first.hospital_id}", "all")
            region = _latest_alert(alerts, f"region:{first.region_code}", "all")
            nation = _latest_alert(alerts, "nation", "all")
            return (
                hospital is not None
                and hospital["level"] == 3
                and region is not None
                and region["level"] == 4
                and nation is not None
                and nation["level"] == 4
            )

        await alerts.wait_until(alert_levels, within=TIMEOUT, what="pressure alerts")
        hospital_alert = _latest_alert(alerts, f"hospital:{first.hospital_id}", "all")
        assert hospital_alert is not None
        assert hospital_alert["state"] == "raised"

        reasons = {"malformed_json", "unknown_ward", "personal_data", "duplicate"}
        await invalid.wait_until(
            lambda r: reasons <= {v["reason"] for _k, v in r.records},
            within=TIMEOUT,
            what=f"dead-letter records of every bad input, have {invalid.records}",
        )
        by_reason = {v["reason"]: v for _k, v in invalid.records}
        assert len(invalid.records) == 4
        personal = by_reason["personal_data"]
        assert personal["raw"] is None
        assert "1212" not in personal["detail"]
        assert personal["event_id"] == bad_first[0]["event_id"]
        assert by_reason["duplicate"]["event_id"] == scenarios[0].duplicate["event_id"]
        assert by_reason["unknown_ward"]["event_id"] == bad_first[1]["event_id"]
