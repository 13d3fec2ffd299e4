"""Webhooks: signing (unit) and signed, retried deliveries to a receiver started in the test."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import pytest
from fastapi import FastAPI, Request, Response
from pydantic import SecretStr

from api.webhooks import (
    WebhookOptions,
    backoff_delay,
    endpoint_secret,
    signature,
    verify_signature,
)
from capmon.settings import Settings
from tests.api import factories as f
from tests.api.servers import serve
from tests.api.stack_support import issue_tokens, make_topics, produce, running_api
from tests.fixtures.waiting import wait_for_async


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    import hashlib
    import hmac

    body = b'{"kind":"alert"}'
    expected = hmac.new(b"secret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature("secret", "1700000000", body) == f"sha256={expected}"
    assert verify_signature("secret", "1700000000", body, f"sha256={expected}")
    assert not verify_signature("secret", "1700000001", body, f"sha256={expected}")


def test_endpoint_secrets_differ_per_endpoint_and_server_secret() -> None:
    one = endpoint_secret(SecretStr("server"), 1)
    assert one != endpoint_secret(SecretStr("server"), 2)
    assert one != endpoint_secret(SecretStr("other"), 1)
    assert len(one) == 64


def test_backoff_doubles_up_to_a_cap() -> None:
    assert [backoff_delay(n, 1.0, 5.0) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]


@dataclass
class Receiver:
    """Answers 500 to the first ``failures`` requests, then 204; or, when ``hang``, holds
    every request until ``release`` is set (a stuck endpoint)."""

    failures: int = 0
    hang: bool = False
    release: asyncio.Event = field(default_factory=asyncio.Event)
    requests: list[tuple[float, dict[str, str], bytes]] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> Response:
            self.requests.append((time.monotonic(), dict(request.headers), await request.body()))
            if self.hang:
                await self.release.wait()
            if len(self.requests) <= self.failures:
                return Response(status_code=500)
            return Response(status_code=204)

        return app


@pytest.mark.integration
async def test_signed_deliveries_retry_after_500_and_a_stuck_region_blocks_no_other(
    settings: Settings,
) -> None:
    await make_topics(settings)
    tokens = await issue_tokens(settings, ["region:01", "admin"])
    flaky = Receiver(failures=1)
    stuck = Receiver(hang=True)
    options = WebhookOptions(max_attempts=3, base_delay_s=0.2, timeout_s=10.0)
    async with (
        serve(flaky.app()) as flaky_url,
        serve(stuck.app()) as stuck_url,
        running_api(settings, webhook_options=options) as api,
    ):
        async with api.client(tokens["region:01"]) as region:
            created = await region.post("/api/v1/webhooks", json={"url": f"{flaky_url}/hook"})
        assert created.status_code == 201, created.text
        hook = created.json()
        assert hook["region_code"] == "01"
        async with api.client(tokens["admin"]) as admin:
            other = await admin.post(
                "/api/v1/webhooks", json={"url": f"{stuck_url}/hook", "region_code": "03"}
            )
        assert other.status_code == 201
        dispatcher = api.services.webhooks
        assert dispatcher is not None
        await wait_for_async(
            lambda: dispatcher.endpoint_ids == {hook["webhook_id"], other.json()["webhook_id"]},
            timeout=15,
            what="both endpoints to have a worker",
        )

        stuck_alert = f.alert(f"hospital:{f.AKADEMISKA}", "03")
        await produce(settings, [stuck_alert])
        await wait_for_async(lambda: stuck.requests, timeout=15, what="the stuck endpoint hit")
        alert = f.alert("region:01", "01")
        sent = time.monotonic()
        await produce(settings, [alert])
        await wait_for_async(
            lambda: len(flaky.requests) >= 2, timeout=15, what="a delivery and its retry"
        )
        # Delivered while region 03's endpoint is still hanging.
        assert flaky.requests[1][0] - sent < 5.0
        assert len(stuck.requests) == 1

        for attempt, (_, headers, body) in enumerate(flaky.requests, start=1):
            assert verify_signature(
                hook["secret"], headers["x-capmon-timestamp"], body, headers["x-capmon-signature"]
            )
            assert headers["x-capmon-delivery"] == f"{alert.alert_id}:1"
            assert headers["x-capmon-attempt"] == str(attempt)
            assert body == alert.model_dump_json().encode()

        async with api.client(tokens["region:01"]) as region:

            async def recorded() -> list[str]:
                response = await region.get(f"/api/v1/webhooks/{hook['webhook_id']}/attempts")
                outcomes = [a["outcome"] for a in response.json()["attempts"]]
                return outcomes if len(outcomes) == 2 else []

            outcomes = await wait_for_async(recorded, timeout=15, what="two recorded attempts")
            assert outcomes == ["delivered", "http_error"]  # newest first
            forbidden = await region.get(f"/api/v1/webhooks/{other.json()['webhook_id']}/attempts")
            assert forbidden.status_code == 403
        async with api.client() as anonymous:
            metrics = (await anonymous.get("/metrics")).text
        assert 'capmon_webhook_deliveries_total{outcome="delivered"} 1.0' in metrics
        assert 'capmon_webhook_deliveries_total{outcome="http_error"} 1.0' in metrics
        stuck.release.set()
