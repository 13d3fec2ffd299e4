"""Event payloads exactly per ``schemas.events``, built as plain dicts.

Plain dicts with JSON-ready values, never pydantic models: the simulator builds millions
of them and orjson serializes dicts in one call per batch (a test validates every kind
against the pydantic models).
"""

from __future__ import annotations

from simulator.emission import Payload


def census(
    event_id: str,
    source: str,
    ward_id: str,
    occurred_at: str,
    *,
    available_beds: int,
    occupied: int,
    outlying_hosted: int,
    placed_elsewhere: int,
    pending_admissions: int,
    expected_discharges_24h: int,
    physical_beds: int,
    surge_beds_24h: int,
    surge_beds_72h: int,
) -> Payload:
    return {
        "type": "census",
        "event_id": event_id,
        "schema_version": 1,
        "source": source,
        "ward_id": ward_id,
        "occurred_at": occurred_at,
        "available_beds": available_beds,
        "occupied": occupied,
        # Reported the way SKR counts it: every patient above the available beds.
        "overcrowded": max(0, occupied - available_beds),
        "outlying_hosted": outlying_hosted,
        "placed_elsewhere": placed_elsewhere,
        "pending_admissions": pending_admissions,
        "expected_discharges_24h": expected_discharges_24h,
        "physical_beds": physical_beds,
        "surge_beds_24h": surge_beds_24h,
        "surge_beds_72h": surge_beds_72h,
    }


def movement(
    event_id: str,
    source: str,
    ward_id: str,
    occurred_at: str,
    action: str,
    encounter_ref: str,
    *,
    responsible_ward_id: str | None,
    medically_motivated: bool = False,
    planned: bool = False,
) -> Payload:
    """Admit or discharge on ``ward_id`` (the caring ward)."""
    payload: Payload = {
        "type": "movement",
        "event_id": event_id,
        "schema_version": 1,
        "source": source,
        "ward_id": ward_id,
        "occurred_at": occurred_at,
        "action": action,
        "encounter_ref": encounter_ref,
        "planned": planned,
        "medically_motivated": medically_motivated,
    }
    if responsible_ward_id is not None:
        payload["responsible_ward_id"] = responsible_ward_id
    return payload


def transfer(
    event_id: str,
    source: str,
    ward_id: str,
    occurred_at: str,
    encounter_ref: str,
    *,
    from_ward_id: str,
    to_ward_id: str,
    responsible_ward_id: str | None,
    planned: bool = False,
) -> Payload:
    """One side of a transfer (published for both sides with the same event id).

    ``responsible_ward_id`` is set only when the patient is outlying on one side (moved
    out to another ward, or moved home); a transfer that hands the patient over to the
    new ward carries none, so neither side counts it as outlying.
    """
    payload: Payload = {
        "type": "movement",
        "event_id": event_id,
        "schema_version": 1,
        "source": source,
        "ward_id": ward_id,
        "occurred_at": occurred_at,
        "action": "transfer",
        "encounter_ref": encounter_ref,
        "planned": planned,
        "medically_motivated": False,
        "from_ward_id": from_ward_id,
        "to_ward_id": to_ward_id,
    }
    if responsible_ward_id is not None:
        payload["responsible_ward_id"] = responsible_ward_id
    return payload


def cancel(
    event_id: str,
    source: str,
    ward_id: str,
    occurred_at: str,
    encounter_ref: str,
    *,
    cancels_event_id: str,
    responsible_ward_id: str | None,
) -> Payload:
    payload: Payload = {
        "type": "movement",
        "event_id": event_id,
        "schema_version": 1,
        "source": source,
        "ward_id": ward_id,
        "occurred_at": occurred_at,
        "action": "cancel",
        "encounter_ref": encounter_ref,
        "cancels_event_id": cancels_event_id,
    }
    if responsible_ward_id is not None:
        payload["responsible_ward_id"] = responsible_ward_id
    return payload


def capacity(
    event_id: str, source: str, ward_id: str, occurred_at: str, *, change: int, reason: str
) -> Payload:
    return {
        "type": "capacity",
        "event_id": event_id,
        "schema_version": 1,
        "source": source,
        "ward_id": ward_id,
        "occurred_at": occurred_at,
        "change": change,
        # Effective when published: a source announcing a future change would publish it then.
        "effective_at": occurred_at,
        "reason": reason,
    }


def heartbeat(event_id: str, source: str, ward_id: str, occurred_at: str) -> Payload:
    return {
        "type": "heartbeat",
        "event_id": event_id,
        "schema_version": 1,
        "source": source,
        "ward_id": ward_id,
        "occurred_at": occurred_at,
    }


def preparedness(
    event_id: str, source: str, ward_id: str, occurred_at: str, *, region_code: str, level: str
) -> Payload:
    return {
        "type": "preparedness",
        "event_id": event_id,
        "schema_version": 1,
        "source": source,
        "ward_id": ward_id,
        "occurred_at": occurred_at,
        "region_code": region_code,
        "level": level,
    }
