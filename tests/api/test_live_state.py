from __future__ import annotations

from api.live_state import Change, LiveState
from api.scopes import parse_scope
from schemas.messages import AlertState
from tests.api import factories as f


def _live() -> tuple[LiveState, list[Change]]:
    ref = f.reference()

    def region_of_hospital(hospital_id: str) -> str | None:
        hospital = ref.hospitals.get(hospital_id)
        return hospital.region_code if hospital else None

    live = LiveState(region_of_hospital=region_of_hospital)
    changes: list[Change] = []
    live.add_listener(changes.append)
    return live, changes


def test_ward_state_is_indexed_by_region_hospital_and_channel() -> None:
    live, changes = _live()
    ward_id = f.wards_of(f.KAROLINSKA)[0]
    live.apply(f.ward_state(ward_id))
    assert live.ward(ward_id) is not None
    assert [w.ward_id for w in live.wards_in_region(f.STOCKHOLM)] == [ward_id]
    assert [w.ward_id for w in live.wards_in_hospital(f.KAROLINSKA)] == [ward_id]
    assert changes[0].channels == (
        f"region:{f.STOCKHOLM}",
        f"hospital:{f.KAROLINSKA}",
        f"ward:{ward_id}",
    )
    assert [e.key for e in live.channel_entries([f"region:{f.STOCKHOLM}"])] == [ward_id]


def test_newer_value_replaces_and_identical_replay_is_not_a_change() -> None:
    live, changes = _live()
    ward_id = f.wards_of(f.KAROLINSKA)[0]
    assert live.apply(f.ward_state(ward_id, occupied=10)) is not None
    assert live.apply(f.ward_state(ward_id, occupied=10)) is None
    assert live.apply(f.ward_state(ward_id, occupied=11, version=2)) is not None
    ward = live.ward(ward_id)
    assert ward is not None
    assert ward.counts.occupied == 11
    assert len(changes) == 2
    assert len(live.channel_entries([f"ward:{ward_id}"])) == 1


def test_rollups_by_scope_and_channels() -> None:
    live, changes = _live()
    live.apply(f.rollup("nation"))
    live.apply(f.rollup(f"region:{f.STOCKHOLM}"))
    live.apply(f.rollup(f"region:{f.STOCKHOLM}", "intensive_care"))
    live.apply(f.rollup(f"hospital:{f.KAROLINSKA}"))
    assert [r.care_type for r in live.rollups_of(f"region:{f.STOCKHOLM}")] == [
        "all",
        "intensive_care",
    ]
    assert [r.scope_id for r in live.region_rollups("all")] == [f"region:{f.STOCKHOLM}"]
    assert [r.scope_id for r in live.hospital_rollups(f.STOCKHOLM, "all")] == [
        f"hospital:{f.KAROLINSKA}"
    ]
    assert changes[0].channels == ("nation",)
    assert changes[1].channels == ("nation", "region:01", "region-agg:01")
    assert changes[3].channels == ("region:01", f"hospital:{f.KAROLINSKA}")
    nation_keys = {e.key for e in live.channel_entries(["nation"])}
    assert nation_keys == {"nation:all", "region:01:all", "region:01:intensive_care"}


def test_hospital_region_learned_from_ward_states_without_reference() -> None:
    live = LiveState()  # no reference lookups at all
    ward_id = f.wards_of(f.AKADEMISKA)[0]
    live.apply(f.ward_state(ward_id))
    change = live.apply(f.rollup(f"hospital:{f.AKADEMISKA}"))
    assert change is not None
    assert change.channels[0] == f"region:{f.UPPSALA}"
    assert live.region_of_scope(parse_scope(f"ward:{ward_id}")) == f.UPPSALA
    assert live.region_of_scope(parse_scope(f"hospital:{f.AKADEMISKA}")) == f.UPPSALA
    assert live.region_of_scope(parse_scope("nation")) is None


def test_tombstone_deletes_everywhere() -> None:
    live, _changes = _live()
    ward_id = f.wards_of(f.KAROLINSKA)[0]
    live.apply(f.ward_state(ward_id))
    change = live.delete(ward_id)
    assert change is not None
    assert change.entry is None
    assert live.ward(ward_id) is None
    assert live.wards_in_region(f.STOCKHOLM) == []
    assert live.channel_entries([f"region:{f.STOCKHOLM}"]) == []
    assert live.by_channel == {}
    assert live.delete(ward_id) is None


def test_active_alerts_exclude_resolved_newest_first() -> None:
    live, _ = _live()
    first = f.alert("region:01", "01")
    live.apply(first)
    later = f.alert("nation", None, occurred_at=f.NOW.replace(hour=13))
    live.apply(later)
    resolved = f.alert("region:03", "03", state=AlertState.RESOLVED, sequence=3)
    live.apply(resolved)
    assert [a.alert_id for a in live.alert_events(active_only=True)] == [
        later.alert_id,
        first.alert_id,
    ]
    assert len(live.alert_events(active_only=False)) == 3


def test_entry_json_is_the_serialized_message() -> None:
    live, _ = _live()
    ward_id = f.wards_of(f.KAROLINSKA)[0]
    state = f.ward_state(ward_id)
    live.apply(state)
    assert live.wards[ward_id].json == state.model_dump_json()
