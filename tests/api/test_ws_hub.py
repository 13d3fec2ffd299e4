"""The hub's pure parts: frames and the shared snapshot cache."""

from __future__ import annotations

import orjson

from api.live_state import LiveState
from api.metrics import ApiMetrics
from api.roles import Principal
from api.ws_hub import WsHub, error_frame, remove_frame, snapshot_frame, update_frame
from tests.api import factories as f


async def _no_one(_token: str) -> Principal | None:
    return None


def test_frames_are_valid_versioned_json() -> None:
    live = LiveState()
    state = f.ward_state(f.wards_of(f.KAROLINSKA)[0])
    live.apply(state)
    entry = live.wards[state.ward_id]
    update = orjson.loads(update_frame(entry.key, entry.json))
    assert update == {
        "v": 1,
        "type": "update",
        "key": state.ward_id,
        "data": orjson.loads(state.model_dump_json()),
    }
    snapshot = orjson.loads(snapshot_frame("ward:x", [entry]))
    assert snapshot["type"] == "snapshot"
    assert snapshot["items"] == [update["data"]]
    assert orjson.loads(remove_frame('a"b')) == {"v": 1, "type": "remove", "key": 'a"b'}
    assert orjson.loads(error_frame("forbidden", "no"))["code"] == "forbidden"


def test_snapshot_is_built_once_until_its_channels_change() -> None:
    live = LiveState()
    hub = WsHub(live, ApiMetrics(), _no_one)
    live.apply(f.rollup("nation"))
    live.apply(f.rollup("region:01"))
    first, keys = hub.snapshot("nation", ("nation",))
    again, _ = hub.snapshot("nation", ("nation",))
    assert again is first  # shared by every client that subscribes meanwhile
    assert set(keys) == {"nation:all", "region:01:all"}
    live.apply(f.ward_state(f.wards_of(f.KAROLINSKA)[0]))  # not in the nation channel
    assert hub.snapshot("nation", ("nation",))[0] is first
    live.apply(f.rollup("region:01", version=2))
    changed, _ = hub.snapshot("nation", ("nation",))
    assert changed is not first
    assert '"version":2' in changed
