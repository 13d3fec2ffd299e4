"""The wall display against the real stack: Kafka -> worker -> API -> WebSocket -> Chromium.

One walk through a live system (starting a worker and an API costs seconds, so the checks
share them): the wall loads with 21 tiles, a region pushed over its thresholds by events
produced to Kafka changes level and number within two seconds, a region whose wards fall
silent gets the stale mark (decided by the worker's clock, through reporting coverage), and
the connection indicator shows a stopped API and recovers when it comes back.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from capmon.settings import Settings
from schemas.reference import ReferenceData, Ward, load_reference
from streams.topics import ensure_topics
from tests.fixtures.processes import CapmonProcess, issue_token, start_api, start_worker
from tests.fixtures.stack import run_sync
from tests.ui.conftest import screenshot

pytestmark = [pytest.mark.integration, pytest.mark.browser]

BUSY_REGION = "09"  # Gotland: one hospital, so "every ward over capacity" is a few events
SILENT_REGION = "23"  # Jämtland Härjedalen


def _census(ward: Ward, at: datetime, occupied: int) -> dict[str, Any]:
    return {
        "type": "census",
        "event_id": str(uuid.uuid4()),
        "source": "live-ui-test",
        "ward_id": ward.ward_id,
        "occurred_at": at.isoformat(),
        "available_beds": ward.typical_available_beds,
        "occupied": occupied,
    }


def _messages(
    reference: ReferenceData, regions: set[str], at: Callable[[Ward], datetime], share: float
) -> list[tuple[bytes, bytes]]:
    messages = []
    for hospital in reference.hospitals.values():
        if hospital.region_code not in regions:
            continue
        events = [
            _census(w, at(w), round(w.typical_available_beds * share))
            for w in reference.wards_of_hospital(hospital.hospital_id)
        ]
        body = {"source": "live-ui-test", "hospital_id": hospital.hospital_id, "events": events}
        messages.append((hospital.hospital_id.encode(), orjson.dumps(body)))
    return messages


def _produce(settings: Settings, messages: list[tuple[bytes, bytes]]) -> None:
    async def send() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers)
        await producer.start()
        try:
            for key, value in messages:
                await producer.send(settings.topic(settings.topic_events), value, key=key)
            await producer.flush()
        finally:
            await producer.stop()

    # Playwright's sync API owns this thread's event loop: run ours on another thread.
    run_sync(send)


def _tile(page: Any, code: str) -> Any:
    return page.locator(f'.tile[data-region="{code}"]')


def test_wall_on_the_live_stack(
    settings: Settings, processes: list[CapmonProcess], browser: Any
) -> None:
    reference = load_reference()
    run_sync(lambda: ensure_topics(settings))
    start_worker(settings, processes, stale_check_interval_s=1)
    api, base = start_api(settings, processes)
    token = issue_token(settings, "national")
    now = datetime.now(UTC)
    everywhere = set(reference.regions) - {SILENT_REGION}
    _produce(settings, _messages(reference, everywhere, lambda _w: now, 0.7))
    # The silent region's wards report once, just inside their interval: the worker's
    # clock must then find them silent within seconds, without any further event.
    _produce(
        settings,
        _messages(
            reference,
            {SILENT_REGION},
            lambda w: now - timedelta(seconds=w.reporting_interval_s - 6),
            0.7,
        ),
    )

    context = browser.new_context(viewport={"width": 1920, "height": 1080}, timezone_id="UTC")
    page = context.new_page()
    try:
        page.goto(f"{base}/?token={token}")
        page.wait_for_function(
            "document.querySelectorAll('.tile[data-level]:not([data-level=\"\"])').length === 21",
            timeout=60_000,
        )
        assert page.locator(".tile").count() == 21
        assert _tile(page, BUSY_REGION).get_attribute("data-level") == "1"
        before = _tile(page, BUSY_REGION).locator(".tile-occ").inner_text()
        screenshot(page, "live-wall-normal.png")

        # Over capacity: every ward of the region at 120 % -> level 4 (severe).
        _produce(settings, _messages(reference, {BUSY_REGION}, lambda _w: datetime.now(UTC), 1.2))
        produced = time.monotonic()
        page.wait_for_function(
            f"document.querySelector('.tile[data-region=\"{BUSY_REGION}\"]').dataset.level === '4'",
            timeout=2_000,
        )
        elapsed = time.monotonic() - produced
        after = _tile(page, BUSY_REGION).locator(".tile-occ").inner_text()
        assert after != before
        assert "120" in after.replace("\u00a0", " ")
        assert elapsed < 2.0
        screenshot(page, "live-wall-level4.png")

        # Silence: the worker marks the wards stale, coverage drops, the tile says so.
        page.wait_for_function(
            f"document.querySelector('.tile[data-region=\"{SILENT_REGION}\"]').dataset.stale"
            " === 'true'",
            timeout=60_000,
        )
        assert _tile(page, BUSY_REGION).get_attribute("data-stale") == "false"

        # The API goes away and comes back on the same port.
        connection = page.locator("#connection")
        assert connection.get_attribute("data-state") == "open"
        api.stop()
        page.wait_for_function(
            "document.querySelector('#connection').dataset.state !== 'open'", timeout=15_000
        )
        port = base.rsplit(":", 1)[1]
        start_api(settings, processes, name="api-2", api_port=port)
        page.wait_for_function(
            "document.querySelector('#connection').dataset.state === 'open'", timeout=60_000
        )
        page.wait_for_function(
            f"document.querySelector('.tile[data-region=\"{BUSY_REGION}\"]').dataset.level === '4'",
            timeout=30_000,
        )
    finally:
        context.close()
