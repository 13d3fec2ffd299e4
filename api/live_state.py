"""The latest value of every key of the output topics, in memory, indexed by scope (pure).

Fed by ``api.topic_reader`` (or directly by tests). Every message is serialized to JSON
once, here, and that text is what snapshots and push frames reuse: fan-out to thousands
of clients never serializes again.

Listeners are plain callables invoked synchronously with each ``Change``; they must be
cheap (the WebSocket hub only enqueues).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from api.channels import Message, RegionOfHospital, channels_of, message_key
from api.scopes import Scope
from schemas.messages import AlertEvent, AlertState, ScopeRollup, WardState
from schemas.types import ScopeKind

M = TypeVar("M", WardState, ScopeRollup, AlertEvent, Message, covariant=True)


@dataclass(frozen=True, slots=True)
class Entry(Generic[M]):
    key: str
    message: M
    json: str  # the message as compact JSON, serialized once
    channels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Change:
    """A key got a new value (``entry``) or was deleted (``entry`` None, a tombstone)."""

    key: str
    entry: Entry[Message] | None
    channels: tuple[str, ...]


Listener = Callable[[Change], None]


@dataclass(frozen=True, slots=True)
class WardRecord:
    """What the free-capacity search filters on, flattened once per ward update so a
    search touches a few slots per ward instead of walking nested models."""

    ward_id: str
    hospital_id: str
    region_code: str
    care_type: str
    specialty_key: str  # casefolded
    free_beds: int
    as_of_ts: float  # epoch seconds
    expected_interval_s: int
    stale: bool
    state: WardState

    @classmethod
    def of(cls, state: WardState) -> WardRecord:
        return cls(
            state.ward_id,
            state.hospital_id,
            state.region_code,
            state.care_type,
            state.specialty.casefold(),
            state.counts.free_beds,
            state.as_of.timestamp(),
            state.expected_interval_s,
            state.stale,
            state,
        )


def serialize(message: Message) -> str:
    return message.model_dump_json()


def _no_region(_hospital_id: str) -> str | None:
    return None


@dataclass
class LiveState:
    """Latest WardState / ScopeRollup / AlertEvent by key, with indexes for the queries."""

    # reference-data lookups (schemas.reference), for keys the stream has not reported yet
    region_of_hospital: RegionOfHospital = _no_region
    region_of_ward: RegionOfHospital = _no_region
    entries: dict[str, Entry[Message]] = field(default_factory=dict)
    wards: dict[str, Entry[WardState]] = field(default_factory=dict)
    rollups: dict[str, Entry[ScopeRollup]] = field(default_factory=dict)
    alerts: dict[str, Entry[AlertEvent]] = field(default_factory=dict)
    # channel -> keys (dicts as insertion-ordered sets)
    by_channel: dict[str, dict[str, None]] = field(default_factory=dict)
    # scope id -> care type -> rollup entry
    rollups_by_scope: dict[str, dict[str, Entry[ScopeRollup]]] = field(default_factory=dict)
    wards_by_region: dict[str, dict[str, None]] = field(default_factory=dict)
    wards_by_hospital: dict[str, dict[str, None]] = field(default_factory=dict)
    # free-capacity search: records by care type, by region and by (region, care type)
    records: dict[str, WardRecord] = field(default_factory=dict)
    records_by: dict[tuple[str, str], dict[str, WardRecord]] = field(default_factory=dict)
    hospital_region: dict[str, str] = field(default_factory=dict)
    # bumped on every change of a channel's content: lets snapshots be cached per channel
    generation: dict[str, int] = field(default_factory=dict)
    _listeners: list[Listener] = field(default_factory=list)

    # --- writing -------------------------------------------------------------------------

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        self._listeners.remove(listener)

    def region_of(self, hospital_id: str) -> str | None:
        return self.hospital_region.get(hospital_id) or self.region_of_hospital(hospital_id)

    def region_of_scope(self, scope: Scope) -> str | None:
        """The region a scope lies in (None for the nation and for unknown ids)."""
        if scope.ident is None:
            return None
        if scope.kind is ScopeKind.REGION:
            return scope.ident
        if scope.kind is ScopeKind.HOSPITAL:
            return self.region_of(scope.ident)
        ward = self.wards.get(scope.ident)
        if ward is not None:
            return ward.message.region_code
        return self.region_of_ward(scope.ident)

    def apply(self, message: Message, *, json: str | None = None) -> Change | None:
        """Store ``message`` as the latest value of its key; None when nothing changed."""
        key = message_key(message)
        text = serialize(message) if json is None else json
        old = self.entries.get(key)
        if old is not None and old.json == text:
            return None  # a replay of the same value (at-least-once upstream)
        if isinstance(message, WardState):
            # learned here because a hospital rollup may precede the reference data knowing it
            self.hospital_region[message.hospital_id] = message.region_code
        channels = channels_of(message, self.region_of)
        if old is not None:
            self._unindex(old)
        entry: Entry[Message]
        if isinstance(message, WardState):
            ward = Entry(key, message, text, channels)
            self.wards[key] = ward
            self.wards_by_region.setdefault(message.region_code, {})[key] = None
            self.wards_by_hospital.setdefault(message.hospital_id, {})[key] = None
            record = WardRecord.of(message)
            self.records[key] = record
            for bucket in _record_buckets(message):
                self.records_by.setdefault(bucket, {})[key] = record
            entry = ward
        elif isinstance(message, ScopeRollup):
            rollup = Entry(key, message, text, channels)
            self.rollups[key] = rollup
            self.rollups_by_scope.setdefault(message.scope_id, {})[message.care_type] = rollup
            entry = rollup
        else:
            alert = Entry(key, message, text, channels)
            self.alerts[key] = alert
            entry = alert
        self.entries[key] = entry
        for channel in channels:
            self.by_channel.setdefault(channel, {})[key] = None
        self._bump(channels if old is None else (*channels, *old.channels))
        change = Change(key, entry, entry.channels)
        self._notify(change)
        return change

    def delete(self, key: str) -> Change | None:
        """A tombstone on a compacted topic: the key is gone."""
        old = self.entries.get(key)
        if old is None:
            return None
        self._unindex(old)
        self._bump(old.channels)
        change = Change(key, None, old.channels)
        self._notify(change)
        return change

    def _bump(self, channels: tuple[str, ...]) -> None:
        generation = self.generation
        for channel in channels:
            generation[channel] = generation.get(channel, 0) + 1

    def generations(self, channels: tuple[str, ...]) -> tuple[int, ...]:
        return tuple(self.generation.get(channel, 0) for channel in channels)

    def _notify(self, change: Change) -> None:
        for listener in tuple(self._listeners):
            listener(change)

    def _unindex(self, entry: Entry[Message]) -> None:
        del self.entries[entry.key]
        for channel in entry.channels:
            keys = self.by_channel.get(channel)
            if keys is not None:
                keys.pop(entry.key, None)
                if not keys:
                    del self.by_channel[channel]
        message = entry.message
        if isinstance(message, WardState):
            del self.wards[entry.key]
            _discard(self.wards_by_region, message.region_code, entry.key)
            _discard(self.wards_by_hospital, message.hospital_id, entry.key)
            del self.records[entry.key]
            for bucket in _record_buckets(message):
                records = self.records_by.get(bucket)
                if records is not None:
                    records.pop(entry.key, None)
                    if not records:
                        del self.records_by[bucket]
        elif isinstance(message, ScopeRollup):
            del self.rollups[entry.key]
            by_care = self.rollups_by_scope.get(message.scope_id)
            if by_care is not None:
                by_care.pop(message.care_type, None)
                if not by_care:
                    del self.rollups_by_scope[message.scope_id]
        else:
            del self.alerts[entry.key]

    # --- reading -------------------------------------------------------------------------

    def channel_entries(self, channels: Iterable[str]) -> list[Entry[Message]]:
        """Entries of the union of ``channels``, each once, in a stable order."""
        seen: dict[str, Entry[Message]] = {}
        for channel in channels:
            for key in self.by_channel.get(channel, ()):
                if key not in seen:
                    seen[key] = self.entries[key]
        return list(seen.values())

    def ward(self, ward_id: str) -> WardState | None:
        entry = self.wards.get(ward_id)
        return entry.message if entry is not None else None

    def rollups_of(self, scope_id: str) -> list[ScopeRollup]:
        by_care = self.rollups_by_scope.get(scope_id, {})
        return [by_care[care].message for care in sorted(by_care)]

    def rollup(self, scope_id: str, care_type: str) -> ScopeRollup | None:
        entry = self.rollups_by_scope.get(scope_id, {}).get(care_type)
        return entry.message if entry is not None else None

    def ward_records(
        self, *, region: str | None, hospital: str | None, care_type: str | None
    ) -> Iterable[WardRecord]:
        """The smallest indexed set of wards that holds every match of the filters (the
        caller still checks region and care type when it filters by hospital)."""
        if hospital is not None:
            bucket = ("hospital", hospital)
        elif region is not None and care_type is not None:
            bucket = ("region-care", f"{region}:{care_type}")
        elif region is not None:
            bucket = ("region", region)
        elif care_type is not None:
            bucket = ("care", care_type)
        else:
            return self.records.values()
        return self.records_by.get(bucket, {}).values()

    def ward_states(self) -> Iterator[WardState]:
        for entry in self.wards.values():
            yield entry.message

    def wards_in_region(self, code: str) -> list[WardState]:
        return [self.wards[k].message for k in self.wards_by_region.get(code, ())]

    def wards_in_hospital(self, hospital_id: str) -> list[WardState]:
        keys = self.wards_by_hospital.get(hospital_id, ())
        return [self.wards[k].message for k in keys]

    def region_rollups(self, care_type: str) -> list[ScopeRollup]:
        out = [
            by_care[care_type].message
            for scope_id, by_care in self.rollups_by_scope.items()
            if scope_id.startswith("region:") and care_type in by_care
        ]
        return sorted(out, key=lambda r: r.scope_id)

    def hospital_rollups(self, region_code: str, care_type: str) -> list[ScopeRollup]:
        out: list[ScopeRollup] = []
        for scope_id, by_care in self.rollups_by_scope.items():
            if not scope_id.startswith("hospital:") or care_type not in by_care:
                continue
            if self.region_of(scope_id.removeprefix("hospital:")) == region_code:
                out.append(by_care[care_type].message)
        return sorted(out, key=lambda r: r.scope_id)

    def alert(self, alert_id: str) -> AlertEvent | None:
        entry = self.alerts.get(alert_id)
        return entry.message if entry is not None else None

    def alert_events(self, *, active_only: bool) -> list[AlertEvent]:
        out: list[AlertEvent] = [e.message for e in self.alerts.values()]
        if active_only:
            out = [a for a in out if a.state is not AlertState.RESOLVED]
        return sorted(out, key=lambda a: a.occurred_at, reverse=True)

    def stats(self) -> dict[str, int]:
        return {"wards": len(self.wards), "rollups": len(self.rollups), "alerts": len(self.alerts)}


def _record_buckets(state: WardState) -> tuple[tuple[str, str], ...]:
    return (
        ("care", state.care_type),
        ("region", state.region_code),
        ("hospital", state.hospital_id),
        ("region-care", f"{state.region_code}:{state.care_type}"),
    )


def _discard(index: dict[str, dict[str, None]], bucket: str, key: str) -> None:
    keys = index.get(bucket)
    if keys is not None:
        keys.pop(key, None)
        if not keys:
            del index[bucket]
