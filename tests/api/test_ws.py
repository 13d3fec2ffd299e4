"""WebSocket push against a real uvicorn server; the live state is fed directly (no Kafka)."""

from __future__ import annotations

import asyncio
import base64
import os
import time

import pytest
from fastapi import FastAPI

from api.services import Services
from tests.api import factories as f
from tests.api.conftest import ROLE_TOKENS
from tests.api.servers import serve
from tests.api.wsclient import ws_client
from tests.fixtures.waiting import wait_for_async

NAT = ROLE_TOKENS["national"]
R01 = ROLE_TOKENS["region:01"]
WARDS_01 = f.wards_of(f.KAROLINSKA, 3)
WARDS_03 = f.wards_of(f.AKADEMISKA, 3)


def _feed_initial(services: Services) -> None:
    live = services.live
    live.apply(f.rollup("nation"))
    live.apply(f.rollup("region:01"))
    live.apply(f.rollup("region:03"))
    live.apply(f.rollup(f"hospital:{f.KAROLINSKA}"))
    live.apply(f.rollup(f"hospital:{f.AKADEMISKA}"))
    for ward in WARDS_01 + WARDS_03:
        live.apply(f.ward_state(ward))


async def test_region_subscription_gets_snapshot_then_only_its_changes(
    app: FastAPI, services: Services
) -> None:
    _feed_initial(services)
    async with serve(app) as url, ws_client(url, NAT) as client:
        await client.subscribe("region:01")
        snapshot = await client.wait(lambda c: c.of_type("snapshot"), what="snapshot")
        assert snapshot[0]["v"] == 1
        assert snapshot[0]["scope"] == "region:01"
        keys = {
            item.get("ward_id") or f"{item['scope_id']}:{item['care_type']}"
            for item in snapshot[0]["items"]
        }
        assert keys == {*WARDS_01, "region:01:all", f"hospital:{f.KAROLINSKA}:all"}

        services.live.apply(f.ward_state(WARDS_03[0], occupied=1, version=2))  # other region
        services.live.apply(f.rollup("region:03", version=2))
        services.live.apply(f.rollup("nation", version=2))  # not in the region:01 channel
        services.live.apply(f.ward_state(WARDS_01[0], occupied=3, version=2))
        services.live.apply(f.rollup("region:01", occupied=81, version=2))
        updates = await client.wait(lambda c: len(c.updates()) >= 2, what="two updates")
        updates = client.updates()
        assert [u["key"] for u in updates] == [WARDS_01[0], "region:01:all"]
        assert updates[0]["data"]["kind"] == "ward_state"
        assert updates[0]["data"]["counts"]["occupied"] == 3
        assert updates[1]["data"]["kind"] == "rollup"


async def test_region_role_gets_other_regions_only_as_aggregates(
    app: FastAPI, services: Services
) -> None:
    _feed_initial(services)
    async with serve(app) as url, ws_client(url, R01) as client:
        await client.subscribe("region:03", f"hospital:{f.AKADEMISKA}", "nation")
        await client.wait(lambda c: len(c.of_type("snapshot")) >= 2, what="two snapshots")
        await client.wait(lambda c: c.of_type("error"), what="an error frame")
        snapshots = {s["scope"]: s for s in client.of_type("snapshot")}
        assert [i["scope_id"] for i in snapshots["region:03"]["items"]] == ["region:03"]
        assert {i["scope_id"] for i in snapshots["nation"]["items"]} == {
            "nation",
            "region:01",
            "region:03",
        }
        [error] = client.of_type("error")
        assert error["code"] == "forbidden"
        services.live.apply(f.ward_state(WARDS_03[0], occupied=2, version=3))
        services.live.apply(f.rollup("region:03", occupied=70, version=3))
        await client.wait(lambda c: c.updates(), what="the region:03 rollup")
        assert [u["key"] for u in client.updates()] == ["region:03:all"]


async def test_token_as_first_message_and_refusals(app: FastAPI, services: Services) -> None:
    async with serve(app) as url:
        async with ws_client(url, None) as client:
            await client.send({"op": "auth", "token": NAT})
            await client.subscribe("nation")
            await client.wait(lambda c: c.of_type("snapshot"), what="snapshot after auth")
            await client.send({"op": "ping"})
            await client.wait(lambda c: c.of_type("pong"), what="pong")
            await client.send({"op": "subscribe", "scopes": "nation"})
            await client.subscribe("region:1")
            await client.wait(lambda c: len(c.of_type("error")) >= 2, what="errors")
            assert [e["code"] for e in client.of_type("error")] == ["bad_request", "invalid_scope"]
        async with ws_client(url, "not-a-token") as refused:
            await refused.wait(lambda c: c.closed.is_set(), what="closed")
            assert refused.of_type("error")[0]["code"] == "unauthorized"
            assert refused.connection.close_code == 4401
        async with ws_client(url, ROLE_TOKENS["referral"]) as referral:
            await referral.subscribe("nation")
            await referral.wait(lambda c: c.of_type("error"), what="forbidden")
            assert referral.of_type("error")[0]["code"] == "forbidden"


async def test_slow_client_does_not_delay_a_fast_one_and_stays_bounded(
    app: FastAPI, services: Services
) -> None:
    _feed_initial(services)
    hub = services.hub
    async with serve(app) as url, ws_client(url, NAT, read=False, max_queue=1) as slow:
        await slow.subscribe("region:01")
        await wait_for_async(lambda: len(hub.clients) == 1, timeout=10, what="slow client")
        [slow_client] = hub.clients
        async with ws_client(url, NAT) as fast:
            await fast.subscribe("region:01")
            await fast.wait(lambda c: c.of_type("snapshot"), what="fast snapshot")
            keys = len(WARDS_01) + 2  # its wards and the region and hospital rollups
            # Flood with ~1 KB frames: far more than the loopback socket buffers hold.
            for version in range(2, 4000):
                for ward in WARDS_01:
                    services.live.apply(f.ward_state(ward, occupied=version % 20, version=version))
                if version % 200 == 0:
                    await asyncio.sleep(0)  # let the senders run, as the topic reader does
                assert len(slow_client.buffer) <= keys + 1
            marker_sent = time.monotonic()
            services.live.apply(f.rollup("region:01", occupied=42, version=99))
            await fast.wait(
                lambda c: any(u["key"] == "region:01:all" for u in c.updates()), what="marker"
            )
            marker = next(r for r in fast.frames if r.frame.get("key") == "region:01:all")
            assert marker.at - marker_sent < 1.0
            await fast.wait(
                lambda c: (
                    {u["key"]: u["data"]["version"] for u in c.updates()}.get(WARDS_01[-1]) == 3999
                ),
                what="the fast client to get the latest values",
            )
        assert slow_client.buffer.superseded > 0  # it was stalled: pending values replaced
        assert len(slow_client.buffer) <= keys + 1


async def test_dead_client_is_closed_by_ping_timeout(app: FastAPI, services: Services) -> None:
    hub = services.hub
    async with serve(app, ping_interval=0.3, ping_timeout=0.3) as url:
        port = int(url.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET /ws?token={NAT} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        status = await reader.readline()
        assert b"101" in status
        await wait_for_async(lambda: len(hub.clients) == 1, timeout=10, what="connected")
        # Never answer a ping: the server must drop the client by itself.
        await wait_for_async(lambda: len(hub.clients) == 0, timeout=10, what="dead client closed")
        writer.close()


@pytest.mark.parametrize("scopes", [["nation"], ["alerts"]])
async def test_alerts_and_nation_channels(
    app: FastAPI, services: Services, scopes: list[str]
) -> None:
    async with serve(app) as url, ws_client(url, R01) as client:
        await client.subscribe(*scopes)
        await client.wait(lambda c: c.of_type("snapshot"), what="snapshot")
        services.live.apply(f.alert(f"hospital:{f.AKADEMISKA}", "03"))  # not for region 01
        services.live.apply(f.alert("region:03", "03"))  # aggregate: visible
        services.live.apply(f.rollup("nation", version=5))
        expected = "alert" if scopes == ["alerts"] else "rollup"
        await client.wait(lambda c: c.updates(), what="an update")
        kinds = [u["data"]["kind"] for u in client.updates()]
        assert kinds == [expected]


async def test_client_stuck_in_a_send_is_closed_after_the_send_timeout(
    app: FastAPI, services: Services
) -> None:
    hub = services.hub
    hub.send_timeout_s = 0.5
    # Every ward of the region, so each drain of the buffer is large and the socket
    # buffers fill within a second or two.
    wards = [w.ward_id for w in f.reference().wards_of_region(f.STOCKHOLM)]
    async with serve(app) as url, ws_client(url, NAT, read=False, max_queue=1) as stalled:
        await stalled.subscribe("region:01")
        await wait_for_async(lambda: len(hub.clients) == 1, timeout=10, what="connected")
        version = 1

        def flooded_and_dropped() -> bool:
            nonlocal version
            version += 1
            for ward in wards:
                services.live.apply(f.ward_state(ward, occupied=version % 20, version=version))
            return not hub.clients

        await wait_for_async(flooded_and_dropped, timeout=30, what="the stuck client closed")
        metrics = services.metrics.render().decode()
        assert 'capmon_ws_closed_total{reason="send_timeout"} 1.0' in metrics
