"""Decoding output-topic messages into history rows (unit)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import orjson
import pytest

from schemas.messages import AlertState, InvalidReason
from store.rows import (
    ALERT_COLUMNS,
    INVALID_COLUMNS,
    ROLLUP_COLUMNS,
    WARD_STATE_COLUMNS,
    MalformedMessageError,
    RowBatch,
    add_message,
)
from tests.store import factories

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _add(batch: RowBatch, message: object, offset: int = 0) -> None:
    value = message.model_dump_json().encode()  # type: ignore[attr-defined]
    add_message(batch, value, partition=2, offset=offset)


def test_ward_state_row_has_every_column_in_order() -> None:
    batch = RowBatch()
    _add(batch, factories.ward_state(version=7, as_of=T0, available=20, occupied=18))
    (row,) = batch.ward_states
    values = dict(zip(WARD_STATE_COLUMNS, row, strict=True))
    assert values["ward_id"] == "SE2321000016-W001"
    assert values["version"] == 7
    assert values["as_of"] == T0
    assert values["as_of"].tzinfo is not None
    assert (values["available_beds"], values["occupied"], values["free_beds"]) == (20, 18, 2)
    assert values["patient_seconds_1h"] == 18 * 3600
    assert values["bed_seconds_7d"] == 20 * 7 * 86400
    assert values["pressure_level"] == 1


def test_rollup_alert_and_invalid_rows() -> None:
    batch = RowBatch()
    _add(batch, factories.rollup(version=3, as_of=T0))
    alert_id = uuid.uuid4()
    _add(
        batch,
        factories.alert(
            alert_id=alert_id, sequence=1, state=AlertState.RAISED, occurred_at=T0, raised_at=T0
        ),
    )
    _add(batch, factories.invalid(received_at=T0, reason=InvalidReason.SCHEMA_VIOLATION), offset=41)
    assert len(batch) == 3
    rollup = dict(zip(ROLLUP_COLUMNS, batch.rollups[0], strict=True))
    assert (rollup["scope_id"], rollup["care_type"], rollup["ward_count"]) == (
        "region:01",
        "all",
        10,
    )
    alert = dict(zip(ALERT_COLUMNS, batch.alerts[0], strict=True))
    assert (alert["alert_id"], alert["sequence"], alert["state"]) == (alert_id, 1, "raised")
    invalid = dict(zip(INVALID_COLUMNS, batch.invalid[0], strict=True))
    assert (invalid["kafka_partition"], invalid["kafka_offset"]) == (2, 41)
    assert invalid["raw"] == '{"x": 1}'


def test_personal_data_payload_is_never_kept() -> None:
    """Even if a producer wrongly sent the payload along, the row has no raw payload."""
    record = factories.invalid(received_at=T0, reason=InvalidReason.PERSONAL_DATA, raw=None)
    value = orjson.loads(record.model_dump_json())
    value["raw"] = "19121212-1212"  # what the producer must never do
    batch = RowBatch()
    add_message(batch, orjson.dumps(value), partition=0, offset=0)
    assert dict(zip(INVALID_COLUMNS, batch.invalid[0], strict=True))["raw"] is None


@pytest.mark.parametrize(
    "value",
    [
        b"not json",
        b"[1, 2]",
        b'{"kind": "ward_state"}',
        b'{"kind": "something_else"}',
        b'{"no_kind": 1}',
    ],
)
def test_malformed_messages_raise(value: bytes) -> None:
    batch = RowBatch()
    with pytest.raises(MalformedMessageError):
        add_message(batch, value, partition=0, offset=0)
    assert len(batch) == 0
