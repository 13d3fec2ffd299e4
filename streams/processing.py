"""One processing round of the worker, without faust: messages in, table writes and outputs out.

The faust agents (``streams.app``) hand each round's messages here, one partition at a
time, together with the partition's table stores and an ``OutputBuffer``. Everything here
is synchronous and deterministic given the messages and ``now``; the only I/O is through
the store and buffer objects passed in, so the whole pipeline is tested and benchmarked
without a broker.

Coalescing is the point: a round's events for one ward update one cached state, and each
ward, hospital and scope touched gives one output per round. Table writes (and their
changelog records) are coalesced further, across rounds: ``process_partition`` only marks
states dirty and ``checkpoint`` writes each dirty state once. The caller acknowledges the
input messages of the rounds a checkpoint covers only after it (``streams.app``), so the
committed offsets never run ahead of the changelog.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson

from capmon.settings import Settings
from schemas.events import WardRegistered
from schemas.messages import InvalidReason
from schemas.reference import ReferenceData, Ward
from schemas.targets import TargetConfig, target_for
from schemas.types import ALL_CARE_TYPES, PreparednessLevel
from schemas.validation import (
    Rejection,
    StreamEvent,
    ValidationLimits,
    decode_stream_message,
)
from schemas.wire import WIRE_TYPES, event_json
from streams.core import measures as m
from streams.core import rollup
from streams.core.config import CoreConfig
from streams.core.outputs import Output, PreparednessObserved, Rejected
from streams.core.rollup import Part, ScopeState
from streams.core.ward_state import (
    WardStateValue,
    apply_in_place,
    message_dict,
    refresh_stale,
)
from streams.output_buffer import KeyPartitioner, OutputBuffer
from streams.scope_alerts import ScopeAlerts
from streams.topics import TICKS_TOPIC

log = logging.getLogger(__name__)

NATION = "nation"
_POOL_CAP = 1000


@dataclass(frozen=True, slots=True)
class InboundMessage:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None

    @property
    def origin(self) -> str:
        return f"kafka:{self.topic}/{self.partition}@{self.offset}"


@dataclass(frozen=True, slots=True)
class OutputTopics:
    ward_state: str
    rollups: str
    alerts: str
    invalid: str
    contributions: str
    partitions: int


class StateStore(Protocol):
    """A table's local store for one partition (``streams.app._TableStore``)."""

    def get(self, key: bytes) -> bytes | None: ...

    def put(self, partition: int, key: bytes, value: bytes, out: OutputBuffer) -> None: ...


def encode_tick(now: datetime) -> bytes:
    return orjson.dumps({"kind": "tick", "at": now.timestamp()})


def decode_tick(raw: bytes | None) -> datetime | None:
    try:
        value = orjson.loads(raw or b"")
        return datetime.fromtimestamp(float(value["at"]), UTC)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


def region_scope(code: str) -> str:
    return f"region:{code}"


def hospital_scope(hospital_id: str) -> str:
    return f"hospital:{hospital_id}"


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value)


class _Shared:
    """What both processors need: reference data, targets, reference ward counts, outputs."""

    def __init__(
        self,
        *,
        settings: Settings,
        reference: ReferenceData,
        targets: TargetConfig,
        topics: OutputTopics,
    ) -> None:
        self.settings = settings
        self.targets = targets
        self.topics = topics
        self.config = CoreConfig.from_settings(settings)
        self.partitioner = KeyPartitioner(topics.partitions)
        self._pool_targets: dict[tuple[str, int, str | None], float] = {}
        self.set_reference(reference)

    def set_reference(self, reference: ReferenceData) -> None:
        self.reference = reference
        self._ward_targets: dict[str, float] = {}
        # Reference ward counts per (scope, care type): wards that never reported still
        # count in reporting coverage (a figure built on 60 % of wards must say so).
        counts: dict[tuple[str, str], int] = {}
        for ward in reference.wards.values():
            hospital = reference.hospitals[ward.hospital_id]
            for scope in (
                hospital_scope(ward.hospital_id),
                region_scope(hospital.region_code),
                NATION,
            ):
                for care_type in (str(ward.care_type), ALL_CARE_TYPES):
                    counts[(scope, care_type)] = counts.get((scope, care_type), 0) + 1
        self.reference_ward_counts = counts

    def ward_target(self, ward: Ward) -> float:
        target = self._ward_targets.get(ward.ward_id)
        if target is None:
            region = self.reference.hospitals[ward.hospital_id].region_code
            target = target_for(self.targets, ward.care_type, ward.typical_available_beds, region)
            self._ward_targets[ward.ward_id] = target
        return target

    def pool_target(self, care_type: str, beds: int, region_code: str | None) -> float:
        """Target of a pool of ``beds`` beds of one care type (Erlang-B sized), cached.

        Beyond ~1,000 beds the size-adjusted target exceeds every care-type target, so
        larger pools share one cache entry (and Erlang-B's O(beds) recurrence is bounded).
        """
        key = (care_type, min(beds, _POOL_CAP), region_code)
        target = self._pool_targets.get(key)
        if target is None:
            target = target_for(self.targets, care_type, key[1], region_code)  # type: ignore[arg-type]
            self._pool_targets[key] = target
        return target

    def scope_target(self, scope: ScopeState, care_type: str) -> float:
        """A scope's target: sized by the scope's own pool of beds of the care type.

        A region's acute beds are one pool of hundreds of beds (patients are placed across
        wards, which is what outlying is), so its target is near the national riktvärde,
        not the mean of its small wards' Erlang-B targets. ``all`` is the bed-weighted mean
        of the care types' targets (planned and acute care have different targets).
        """
        region = self.region_of_scope(scope.scope_id)
        if care_type != ALL_CARE_TYPES:
            return self.pool_target(care_type, scope.totals[care_type][m.AVAILABLE], region)
        weighted = 0.0
        beds_total = 0
        for ct, vector in scope.totals.items():
            if ct == ALL_CARE_TYPES:
                continue
            beds = vector[m.AVAILABLE]
            weighted += beds * self.pool_target(ct, beds, region)
            beds_total += beds
        if beds_total == 0:
            return self.pool_target(ALL_CARE_TYPES, 0, region)
        return weighted / beds_total

    def region_of_scope(self, scope_id: str) -> str | None:
        kind, _, ident = scope_id.partition(":")
        if kind == "region":
            return ident
        if kind == "hospital":
            hospital = self.reference.hospitals.get(ident)
            return hospital.region_code if hospital is not None else None
        return None

    def rollup_message(
        self,
        scope: ScopeState,
        care_type: str,
        *,
        declared: PreparednessLevel | None = None,
    ) -> dict[str, Any]:
        msg = rollup.message_dict(
            scope,
            care_type,
            target=self.scope_target(scope, care_type),
            thresholds=self.config.pressure,
            declared_preparedness=declared,
        )
        known = self.reference_ward_counts.get((scope.scope_id, care_type))
        if known is not None and known > msg["ward_count"]:
            msg["ward_count"] = known
            msg["reporting_coverage"] = msg["wards_reporting"] / known
        return msg

    def emit_rollup(self, out: OutputBuffer, msg: dict[str, Any]) -> None:
        key = f"{msg['scope_id']}:{msg['care_type']}".encode()
        out.add_keyed(self.topics.rollups, self.topics.partitions, key, _dumps(msg))

    def emit_alert(self, out: OutputBuffer, alert: dict[str, Any]) -> None:
        key = str(alert["alert_id"]).encode()
        out.add_keyed(self.topics.alerts, self.topics.partitions, key, _dumps(alert))

    def emit_invalid(
        self, out: OutputBuffer, rejection: Rejection, *, origin: str, now: datetime
    ) -> None:
        record = {
            "message_version": 1,
            "kind": "invalid",
            "reason": rejection.reason,
            "detail": rejection.detail,
            "event_id": rejection.event_id,
            "ward_id": rejection.ward_id,
            "source": rejection.source,
            "received_at": now,
            "origin": origin,
            "raw": rejection.raw,
        }
        key = (rejection.ward_id or "unknown").encode()
        out.add_keyed(self.topics.invalid, self.topics.partitions, key, _dumps(record))


class _Hospital:
    """Cached per-hospital state: the rollup over its wards and its alerts."""

    __slots__ = ("alerts", "scope")

    def __init__(self, scope: ScopeState, alerts: ScopeAlerts) -> None:
        self.scope = scope
        self.alerts = alerts


class WardProcessor(_Shared):
    """Inbound events -> ward states, hospital rollups and contributions to larger scopes."""

    def __init__(
        self,
        *,
        settings: Settings,
        reference: ReferenceData,
        targets: TargetConfig,
        topics: OutputTopics,
    ) -> None:
        super().__init__(settings=settings, reference=reference, targets=targets, topics=topics)
        self.limits = ValidationLimits.from_settings(settings)
        self.ticks_topic = settings.topic(TICKS_TOPIC)
        self._states: dict[str, WardStateValue] = {}
        self._hospitals: dict[str, _Hospital] = {}
        # changed, not yet emitted (process_partition(..., emit=False)), by partition
        self._pending: dict[int, dict[str, WardStateValue]] = {}
        # written by the next checkpoint, by partition
        self._dirty_wards: dict[int, dict[str, WardStateValue]] = {}
        self._dirty_hospitals: dict[int, dict[str, _Hospital]] = {}

    def set_reference(self, reference: ReferenceData) -> None:
        super().set_reference(reference)
        # ward id -> (ward, the partition of its hospital): looked up per event
        self._homes: dict[str, tuple[Ward, int]] = {}
        by_partition: dict[int, list[str]] = {}
        for hospital_id in reference.hospitals:
            by_partition.setdefault(self.partitioner(hospital_id.encode()), []).append(hospital_id)
        self._hospitals_by_partition = by_partition

    def forget_all(self) -> None:
        """Drop cached decoded state (after a rebalance); the tables stay authoritative.

        Changes not yet checkpointed are dropped too: their input was not acknowledged,
        so it is consumed again."""
        self._states.clear()
        self._hospitals.clear()
        self._pending.clear()
        self._dirty_wards.clear()
        self._dirty_hospitals.clear()

    def checkpoint(
        self, ward_store: StateStore, hospital_store: StateStore, out: OutputBuffer
    ) -> int:
        """Emit what is pending, then write every state changed since the last checkpoint
        (local store and changelog records in ``out``); return how many states."""
        self.emit_pending(ward_store, hospital_store, out)
        written = 0
        dirty_wards, self._dirty_wards = self._dirty_wards, {}
        for partition, states in dirty_wards.items():
            for ward_id, state in states.items():
                ward_store.put(partition, ward_id.encode(), state.to_json(), out)
            written += len(states)
        dirty_hospitals, self._dirty_hospitals = self._dirty_hospitals, {}
        for partition, hospitals in dirty_hospitals.items():
            for hospital_id, hospital in hospitals.items():
                stored = {"version": hospital.scope.version, "alerts": hospital.alerts.to_dict()}
                hospital_store.put(partition, hospital_id.encode(), _dumps(stored), out)
            written += len(hospitals)
        return written

    # -- state access --------------------------------------------------------------------

    def _state(self, ward: Ward, store: StateStore) -> WardStateValue:
        state = self._states.get(ward.ward_id)
        if state is None:
            raw = store.get(ward.ward_id.encode())
            if raw is not None:
                state = WardStateValue.from_json(raw)
            else:
                state = WardStateValue.new(ward, self.config)
            self._states[ward.ward_id] = state
        return state

    def _known_state(self, ward_id: str, store: StateStore) -> WardStateValue | None:
        state = self._states.get(ward_id)
        if state is None:
            raw = store.get(ward_id.encode())
            if raw is None:
                return None
            state = self._states[ward_id] = WardStateValue.from_json(raw)
        return state

    def _hospital(self, hospital_id: str, ward_store: StateStore, store: StateStore) -> _Hospital:
        cached = self._hospitals.get(hospital_id)
        if cached is not None:
            return cached
        # The rollup over the wards is derived data: rebuilt from the ward states; only the
        # version (so larger scopes accept what follows) and alert states are stored.
        scope = ScopeState(hospital_scope(hospital_id))
        for ward in self.reference.wards_of_hospital(hospital_id):
            state = self._known_state(ward.ward_id, ward_store)
            if state is not None and state.wm is not None:
                scope.update(
                    ward.ward_id,
                    state.version,
                    rollup.ward_parts(state, str(ward.care_type), self.ward_target(ward)),
                )
        raw = store.get(hospital_id.encode())
        stored = orjson.loads(raw) if raw is not None else {}
        scope.version = max(scope.version, int(stored.get("version", 0)))
        alerts = ScopeAlerts.from_dict(scope.scope_id, stored.get("alerts"), self.config)
        cached = self._hospitals[hospital_id] = _Hospital(scope, alerts)
        return cached

    # -- the round -----------------------------------------------------------------------

    def process_partition(
        self,
        partition: int,
        messages: Iterable[InboundMessage],
        *,
        now: datetime,
        ward_store: StateStore,
        hospital_store: StateStore,
        out: OutputBuffer,
        emit: bool = True,
    ) -> None:
        """Apply ``messages`` of one partition. Their ward states, hospital rollups and
        contributions go to ``out`` now, or with ``emit=False`` at the next
        ``emit_pending``: a ward changed by several rounds in between is emitted once."""
        changed = self._pending.get(partition)
        if changed is None:
            changed = self._pending[partition] = {}
        for message in messages:
            if message.topic == self.ticks_topic:
                tick = decode_tick(message.value)
                if tick is not None:
                    self._on_tick(partition, tick, changed, ward_store, out)
                continue
            self._on_events(partition, message, now, changed, ward_store, out)
        if emit:
            del self._pending[partition]
            if changed:
                self._emit(partition, changed, ward_store, hospital_store, out)

    @property
    def has_pending(self) -> bool:
        return any(self._pending.values())

    def emit_pending(
        self, ward_store: StateStore, hospital_store: StateStore, out: OutputBuffer
    ) -> None:
        """Emit what ``process_partition(..., emit=False)`` left pending."""
        pending, self._pending = self._pending, {}
        for partition, changed in pending.items():
            if changed:
                self._emit(partition, changed, ward_store, hospital_store, out)

    def _on_events(
        self,
        partition: int,
        message: InboundMessage,
        now: datetime,
        changed: dict[str, WardStateValue],
        ward_store: StateStore,
        out: OutputBuffer,
    ) -> None:
        origin = message.origin
        try:
            hospital_id = message.key.decode() if message.key else None
        except UnicodeDecodeError:
            hospital_id = None
        result = decode_stream_message(
            message.value or b"",
            reference=self.reference,
            limits=self.limits,
            now=now,
            hospital_id=hospital_id,
        )
        for rejection in result.rejected:
            self.emit_invalid(out, rejection, origin=origin, now=now)
        accepted = result.accepted
        if len(accepted) > 1 and type(accepted[0]) in WIRE_TYPES:
            # A batch decoded by the fast path (wire events only, no registrations): each
            # ward's events in one go, in their order (wards are independent).
            by_ward: dict[str, list[StreamEvent]] = {}
            for event in accepted:
                group = by_ward.get(event.ward_id)
                if group is None:
                    by_ward[event.ward_id] = [event]
                else:
                    group.append(event)
            for group in by_ward.values():
                self._apply(partition, group, origin, now, changed, ward_store, out)
        else:
            for event in accepted:
                self._apply(partition, [event], origin, now, changed, ward_store, out)

    def _apply(
        self,
        partition: int,
        events: list[StreamEvent],
        origin: str,
        now: datetime,
        changed: dict[str, WardStateValue],
        ward_store: StateStore,
        out: OutputBuffer,
    ) -> None:
        """Apply accepted events of one ward, in order, to its state (the hot path)."""
        first = events[0]
        if isinstance(first, WardRegistered):  # alone in ``events``
            self._register(first)
            return
        home = self._homes.get(first.ward_id)
        if home is None:
            ward = self.reference.wards[first.ward_id]  # known: validated against it
            home = self._homes[ward.ward_id] = (
                ward,
                self.partitioner(ward.hospital_id.encode()),
            )
        ward, ward_partition = home
        if ward_partition != partition:
            for event in events:
                self._wrong_partition(ward, event, origin, now, out)
            return
        state = self._states.get(ward.ward_id)
        if state is None:
            state = self._state(ward, ward_store)
        before = state.version
        silent_since = state.wm if state.stale else None
        config = self.config
        for event in events:
            # settle=False: finalisation is folded once per round, when the state is read
            # for its outputs (``_emit``), instead of every five minutes of event time.
            outputs = apply_in_place(state, event, ward=ward, config=config, settle=False)
            if outputs:
                self._on_outputs(outputs, event, origin, now, out)
        if state.version != before:
            if silent_since is not None and refresh_stale(state, now):
                # it reported again: fresh from these events on, and its stale alert resolves
                self._stale_alert(ward, silent_since, state.interval_s, resolved=True, out=out)
            changed[ward.ward_id] = state

    def _wrong_partition(
        self, ward: Ward, event: StreamEvent, origin: str, now: datetime, out: OutputBuffer
    ) -> None:
        # The ward's state lives on its hospital's partition; a message keyed by anything
        # else would split a ward's history across workers.
        self.emit_invalid(
            out,
            Rejection(
                InvalidReason.WRONG_HOSPITAL,
                f"ward {ward.ward_id} belongs to hospital {ward.hospital_id}: publish "
                "its events with that hospital id as the message key",
                event_id=str(event.event_id),
                ward_id=ward.ward_id,
                source=event.source,
            ),
            origin=origin,
            now=now,
        )

    def _on_outputs(
        self,
        outputs: list[Output],
        event: StreamEvent,
        origin: str,
        now: datetime,
        out: OutputBuffer,
    ) -> None:
        for output in outputs:
            if isinstance(output, Rejected):
                self.emit_invalid(
                    out,
                    Rejection(
                        output.reason,
                        output.detail,
                        event_id=str(output.event_id),
                        ward_id=output.ward_id,
                        source=event.source,
                        raw=event_json(event),
                    ),
                    origin=origin,
                    now=now,
                )
            elif isinstance(output, PreparednessObserved):
                self._forward_preparedness(output, out)

    def _register(self, event: WardRegistered) -> None:
        ward = Ward(
            ward_id=event.ward_id,
            hospital_id=event.hospital_id,
            name=event.name,
            care_type=event.care_type,
            specialty=event.specialty,
            physical_beds=event.physical_beds,
            typical_available_beds=event.typical_available_beds,
            reporting_interval_s=event.reporting_interval_s,
        )
        if event.hospital_id not in self.reference.hospitals:
            log.warning(
                "ward %s registered for unknown hospital %s", ward.ward_id, ward.hospital_id
            )
            return
        self.set_reference(self.reference.with_ward(ward))
        self._hospitals.pop(ward.hospital_id, None)

    def _forward_preparedness(self, observed: PreparednessObserved, out: OutputBuffer) -> None:
        scope = region_scope(observed.region_code)
        value = {
            "kind": "preparedness",
            "level": str(observed.level),
            "at": observed.occurred_at.timestamp(),
        }
        out.add_keyed(
            self.topics.contributions, self.topics.partitions, scope.encode(), _dumps(value)
        )

    def _on_tick(
        self,
        partition: int,
        tick: datetime,
        changed: dict[str, WardStateValue],
        ward_store: StateStore,
        out: OutputBuffer,
    ) -> None:
        for hospital_id in self._hospitals_by_partition.get(partition, ()):
            for ward in self.reference.wards_of_hospital(hospital_id):
                state = self._known_state(ward.ward_id, ward_store)
                if state is None or state.wm is None:
                    continue  # never reported: counted in coverage, never "gone silent"
                if refresh_stale(state, tick):
                    changed[ward.ward_id] = state
                    self._stale_alert(
                        ward, state.wm, state.interval_s, resolved=not state.stale, out=out
                    )

    def _stale_alert(
        self,
        ward: Ward,
        last_reported_s: int,
        interval_s: int,
        *,
        resolved: bool,
        out: OutputBuffer,
    ) -> None:
        region = self.reference.hospitals[ward.hospital_id].region_code
        alert = ScopeAlerts.stale_event(
            ward_id=ward.ward_id,
            ward_name=ward.name,
            region_code=region,
            care_type=str(ward.care_type),
            last_reported_s=last_reported_s,
            interval_s=interval_s,
            resolved=resolved,
        )
        self.emit_alert(out, alert)

    def _emit(
        self,
        partition: int,
        changed: dict[str, WardStateValue],
        ward_store: StateStore,
        hospital_store: StateStore,
        out: OutputBuffer,
    ) -> None:
        touched: dict[str, _Hospital] = {}
        topics = self.topics
        dirty = self._dirty_wards.get(partition)
        if dirty is None:
            dirty = self._dirty_wards[partition] = {}
        dirty.update(changed)
        for ward_id, state in changed.items():
            ward = self.reference.wards[ward_id]
            hospital = self._hospital(ward.hospital_id, ward_store, hospital_store)
            region = self.reference.hospitals[ward.hospital_id].region_code
            target = self.ward_target(ward)
            vector = state.vector(target)
            key = ward_id.encode()
            if state.wm is None:
                continue
            msg = message_dict(
                state,
                ward,
                region_code=region,
                target=target,
                thresholds=self.config.pressure,
                vector=vector,
            )
            out.add_keyed(topics.ward_state, topics.partitions, key, _dumps(msg))
            as_of = state.as_of if state.as_of is not None else state.wm
            hospital.scope.update(
                ward_id, state.version, {str(ward.care_type): Part(vector, as_of, as_of)}
            )
            touched[ward.hospital_id] = hospital
        for hospital_id, hospital in touched.items():
            self._emit_hospital(partition, hospital_id, hospital, out)

    def _emit_hospital(
        self,
        partition: int,
        hospital_id: str,
        hospital: _Hospital,
        out: OutputBuffer,
    ) -> None:
        scope = hospital.scope
        region = self.reference.hospitals[hospital_id].region_code
        for care_type in scope.care_types():
            msg = self.rollup_message(scope, care_type)
            self.emit_rollup(out, msg)
            for alert in hospital.alerts.observe(msg, region_code=region):
                self.emit_alert(out, alert)
        contribution = _dumps(
            {
                "kind": "contribution",
                "child": hospital_id,
                "version": scope.version,
                "parts": {ct: part.to_list() for ct, part in scope.parts().items()},
            }
        )
        topics = self.topics
        for target_scope in (region_scope(region), NATION):
            out.add_keyed(
                topics.contributions, topics.partitions, target_scope.encode(), contribution
            )
        self._dirty_hospitals.setdefault(partition, {})[hospital_id] = hospital


class _Scope:
    __slots__ = ("alerts", "declared", "declared_at", "scope")

    def __init__(
        self,
        scope: ScopeState,
        alerts: ScopeAlerts,
        declared: PreparednessLevel | None,
        declared_at: float,
    ) -> None:
        self.scope = scope
        self.alerts = alerts
        self.declared = declared
        self.declared_at = declared_at


class ScopeProcessor(_Shared):
    """Hospital contributions (re-keyed by scope) -> region and nation rollups and alerts."""

    def __init__(
        self,
        *,
        settings: Settings,
        reference: ReferenceData,
        targets: TargetConfig,
        topics: OutputTopics,
    ) -> None:
        super().__init__(settings=settings, reference=reference, targets=targets, topics=topics)
        self._scopes: dict[str, _Scope] = {}
        # changed, not yet emitted: partition -> scope -> care types
        self._pending: dict[int, dict[str, set[str]]] = {}
        self._dirty: dict[int, set[str]] = {}  # written by the next checkpoint

    def forget_all(self) -> None:
        self._scopes.clear()
        self._pending.clear()
        self._dirty.clear()

    def checkpoint(self, scope_store: StateStore, out: OutputBuffer) -> int:
        """Emit what is pending, then write every scope changed since the last checkpoint;
        return how many."""
        self.emit_pending(out)
        written = 0
        dirty, self._dirty = self._dirty, {}
        for partition, scope_ids in dirty.items():
            for scope_id in scope_ids:
                scope = self._scopes[scope_id]
                stored = {
                    "scope": scope.scope.to_dict(),
                    "alerts": scope.alerts.to_dict(),
                    "declared": str(scope.declared) if scope.declared else None,
                    "declared_at": scope.declared_at,
                }
                scope_store.put(partition, scope_id.encode(), _dumps(stored), out)
            written += len(scope_ids)
        return written

    def _scope(self, scope_id: str, store: StateStore) -> _Scope:
        cached = self._scopes.get(scope_id)
        if cached is not None:
            return cached
        raw = store.get(scope_id.encode())
        if raw is None:
            cached = _Scope(ScopeState(scope_id), ScopeAlerts(scope_id, self.config), None, 0.0)
        else:
            stored = orjson.loads(raw)
            declared = stored.get("declared")
            cached = _Scope(
                ScopeState.from_dict(stored["scope"]),
                ScopeAlerts.from_dict(scope_id, stored.get("alerts"), self.config),
                PreparednessLevel(declared) if declared else None,
                float(stored.get("declared_at", 0.0)),
            )
        self._scopes[scope_id] = cached
        return cached

    def process_partition(
        self,
        partition: int,
        messages: Iterable[InboundMessage],
        *,
        now: datetime,
        scope_store: StateStore,
        out: OutputBuffer,
        emit: bool = True,
    ) -> None:
        """Apply contributions of one partition; rollups and alerts go to ``out`` now, or
        with ``emit=False`` at the next ``emit_pending`` (once per scope and care type)."""
        dirty = self._pending.get(partition)
        if dirty is None:
            dirty = self._pending[partition] = {}
        for message in messages:
            if not message.key or not message.value:
                continue
            scope_id = message.key.decode()
            value = orjson.loads(message.value)
            scope = self._scope(scope_id, scope_store)
            if value.get("kind") == "preparedness":
                at = float(value["at"])
                if at >= scope.declared_at:  # the newest declaration wins, in any order
                    scope.declared = PreparednessLevel(value["level"])
                    scope.declared_at = at
                    dirty.setdefault(scope_id, set()).add(ALL_CARE_TYPES)
                continue
            parts = {ct: Part.from_list(raw) for ct, raw in value["parts"].items()}
            changed = scope.scope.update(value["child"], int(value["version"]), parts)
            if changed:
                dirty.setdefault(scope_id, set()).update(changed)
        if emit:
            del self._pending[partition]
            self._emit(partition, dirty, out)

    @property
    def has_pending(self) -> bool:
        return any(self._pending.values())

    def emit_pending(self, out: OutputBuffer) -> None:
        pending, self._pending = self._pending, {}
        for partition, dirty in pending.items():
            self._emit(partition, dirty, out)

    def _emit(self, partition: int, dirty: dict[str, set[str]], out: OutputBuffer) -> None:
        for scope_id, care_types in dirty.items():
            scope = self._scopes[scope_id]
            region = scope_id.split(":", 1)[1] if scope_id.startswith("region:") else None
            for care_type in sorted(care_types):
                if care_type not in scope.scope.totals:
                    continue
                msg = self.rollup_message(scope.scope, care_type, declared=scope.declared)
                self.emit_rollup(out, msg)
                for alert in scope.alerts.observe(msg, region_code=region):
                    self.emit_alert(out, alert)
        if dirty:
            self._dirty.setdefault(partition, set()).update(dirty)


def measures_of(vector: Iterable[int]) -> dict[str, Any]:
    """Measures of a raw vector (for tests and tools)."""
    return m.measures_dict(list(vector))
