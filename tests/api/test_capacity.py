from __future__ import annotations

from datetime import timedelta, timezone

from api.capacity import CapacityQuery, free_capacity_json, search_free_capacity
from api.live_state import LiveState
from tests.api import factories as f


def _live() -> LiveState:
    live = LiveState()
    k = f.wards_of(f.KAROLINSKA, 4)
    a = f.wards_of(f.AKADEMISKA, 2)
    live.apply(f.ward_state(k[0], available=20, occupied=15))  # 5 free
    live.apply(f.ward_state(k[1], available=10, occupied=12))  # 0 free (overcrowded)
    live.apply(f.ward_state(k[2], available=30, occupied=10, as_of=f.NOW - timedelta(hours=3)))
    live.apply(f.ward_state(k[3], available=8, occupied=7))  # 1 free
    live.apply(f.ward_state(a[0], available=12, occupied=4))  # 8 free
    live.apply(f.ward_state(a[1], available=12, occupied=12))
    return live


def test_sorted_by_free_beds_with_freshness_on_every_row() -> None:
    live = _live()
    result = search_free_capacity(live, f.reference(), CapacityQuery(), f.NOW)
    assert [r.free_beds for r in result.rows] == [20, 8, 5, 1]
    assert result.as_of == f.NOW
    stale_row = result.rows[0]
    assert stale_row.age_s == 3 * 3600
    assert stale_row.stale  # past the ward's reporting interval although not flagged
    assert not result.rows[1].stale
    assert result.rows[1].age_s == 0
    assert result.rows[1].hospital_name == "Akademiska sjukhuset"
    assert result.rows[1].ward_name == f.reference().wards[result.rows[1].ward_id].name


def test_filters() -> None:
    live = _live()
    ref = f.reference()

    def free(**kwargs: object) -> list[int]:
        query = CapacityQuery(**kwargs)  # type: ignore[arg-type]
        return [r.free_beds for r in search_free_capacity(live, ref, query, f.NOW).rows]

    assert free(region=f.UPPSALA) == [8]
    assert free(hospital=f.KAROLINSKA) == [20, 5, 1]
    assert free(hospital=f.KAROLINSKA, region=f.UPPSALA) == []
    assert free(min_free=5) == [20, 8, 5]
    assert free(min_free=0) == [20, 8, 5, 1, 0, 0]
    assert free(max_staleness_s=600) == [8, 5, 1]
    assert free(limit=2) == [20, 8]
    ward = ref.wards[f.wards_of(f.KAROLINSKA, 4)[3]]
    assert free(care_type=ward.care_type.value, hospital=f.KAROLINSKA)[-1] == 1
    assert 1 in free(specialty=ward.specialty.upper())


def test_the_fast_json_is_what_the_model_would_serialize() -> None:
    live = _live()
    # an offset that is not UTC must survive as it was sent
    live.apply(
        f.ward_state(
            f.wards_of(f.HUDDINGE)[0],
            as_of=f.NOW.astimezone(timezone(timedelta(hours=1))).replace(microsecond=250),
        )
    )
    for query in (CapacityQuery(), CapacityQuery(min_free=0, limit=3), CapacityQuery(region="03")):
        model = search_free_capacity(live, f.reference(), query, f.NOW)
        fast = free_capacity_json(live, f.reference(), query, f.NOW)
        assert fast.decode() == model.model_dump_json()
