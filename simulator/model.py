"""The pure generator core: a seeded discrete-event model of every ward in the reference data.

``Simulation(reference, seed=..., scenario=..., start=...)`` holds the patients, beds and
pending admissions of every ward; ``advance(until)`` runs the model up to a simulated time
and returns the events hospital systems would have published on the way (``Emission``),
in time order. Same reference data, seed, scenario, options and start: the same events,
byte for byte, however the calls to ``advance`` are sliced.

What happens (numbers in ``profiles``):

- Unplanned admissions are decided in the emergency department (pending) and placed on
  the ward after a wait; booked admissions arrive in the morning on weekdays. Demand per
  ward follows its care type, its region's pressure and the scenario, so occupancy hovers
  around the available beds and rises above them by chance: overcrowding.
- A full ward places some patients on another ward of the same hospital (outlying, with
  the full ward as the responsible ward) and takes them home when a bed frees up.
- Stays end in a discharge (mostly in the afternoon, fewer at weekends) or a transfer
  (intensive care step-down, hand-over to another acute ward), published once per side.
- Some admissions and discharges are registered by mistake and cancelled within minutes
  (HL7 A11/A13), always before the ward's next census, so a census never has to
  reconcile a half-corrected mistake.
- Every ward reports a census every 15 minutes, agreeing with the movement-based count
  (including mistakes not yet cancelled), and a heartbeat in a 5-minute slot without
  any other event. Beds close at night for staffing when they are free, open in a surge.
- Scenarios add a seasonal closure, a mass-casualty incident, a silent hospital or bad
  input (``bad_input``) on top.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from schemas.reference import ReferenceData, Ward
from schemas.types import CareType, PreparednessLevel
from simulator import payloads, profiles
from simulator.bad_input import BadInputInjector
from simulator.clock import DAY, HOUR, LocalCalendar, to_epoch
from simulator.emission import Emission, Payload
from simulator.entities import HospitalSim, Patient, WardSim, plausible
from simulator.ids import EventIds
from simulator.scenarios import Scenario, ScenarioOptions, get_scenario

# Kinds of scheduled happenings (ints: they sit in millions of heap tuples).
_SLOT = 0  # census or heartbeat slot of a ward
_DAY = 1  # local midnight: plan the coming day
_DECIDE = 2  # decision to admit (becomes pending)
_ADMIT = 3  # the patient gets a bed
_END = 4  # end of a stay on a ward: discharge or transfer
_CANCEL = 5  # a mistaken movement is cancelled
_RETURN = 6  # an outlying patient may move home
_NIGHT_CLOSE = 7
_NIGHT_OPEN = 8
_MORNING_ROUND = 9  # early discharges and extra beds when overcrowded
_SURGE_CLOSE = 10
_SEASON_CLOSE = 11
_SCRIPT = 12  # a scripted scenario action (callable)
_INITIAL_CENSUS = 13

_REPORTS = frozenset({_SLOT, _INITIAL_CENSUS})
_REPORTS_LAST = 1 << 62

_PLANNED = 1  # admission flags
_INCIDENT = 2

_HOURS = range(24)
_DECISION_CUM = tuple(itertools.accumulate(profiles.UNPLANNED_DECISION_BY_HOUR))
_PLANNED_CUM = tuple(itertools.accumulate(profiles.PLANNED_ARRIVAL_BY_HOUR))
_DISCHARGE_CUM = tuple(itertools.accumulate(profiles.DISCHARGE_BY_HOUR))
_ICU_DISCHARGE_CUM = tuple(itertools.accumulate(profiles.ICU_DISCHARGE_BY_HOUR))

_HOSTING_CARE = frozenset({CareType.SOMATIC_ACUTE, CareType.SOMATIC_PLANNED})


@dataclass(frozen=True, slots=True)
class SimulationInfo:
    """What the model chose for the scenario (by seed unless the options said)."""

    seed: int
    scenario: str
    start: int
    incident_region: str | None = None
    incident_at: int | None = None
    casualties: int = 0
    silent_hospital: str | None = None
    silent_from: int | None = None
    bad_input_share: float = 0.0
    regions: tuple[str, ...] = field(default=())


class Simulation:
    """The whole country's wards, advanced in simulated time."""

    def __init__(
        self,
        reference: ReferenceData,
        *,
        seed: int,
        scenario: Scenario | str = "normal",
        start: datetime | int,
        options: ScenarioOptions | None = None,
        census_interval_s: int = 900,
        heartbeat_interval_s: int = 300,
        burn_in_days: float = 10.0,
    ) -> None:
        self.scenario = get_scenario(scenario) if isinstance(scenario, str) else scenario
        self.options = options or ScenarioOptions()
        self.reference = reference
        self.seed = seed
        self.start = start if isinstance(start, int) else to_epoch(start)
        if heartbeat_interval_s <= 0:
            heartbeat_interval_s = census_interval_s
        if census_interval_s % heartbeat_interval_s:
            raise ValueError("census_interval_s must be a multiple of heartbeat_interval_s")
        self.slot_s = heartbeat_interval_s
        self.slots_per_census = census_interval_s // heartbeat_interval_s
        self.calendar = LocalCalendar()
        self.rng = random.Random(seed)
        self.ids = EventIds(f"capmon-sim:{seed}:{self.scenario.name}:{self.start}")
        self._enc = 0
        self._seq = 0
        self._heap: list[tuple[int, int, int, Any, Any]] = []
        self._out: list[Emission] = []
        # The model runs silently for a while before ``start`` so that the first census
        # already shows a ward in its steady state (stays in progress, outlying patients,
        # weekly rhythm), not a ward filled by formula.
        self.origin = self.start - round(burn_in_days * DAY)
        self.now = self.origin
        self.emitted = 0

        regions = set(self.options.regions) if self.options.regions else set(reference.regions)
        self.hospitals: dict[str, HospitalSim] = {}
        self.wards: list[WardSim] = []
        self.ward_by_id: dict[str, WardSim] = {}
        for index, hid in enumerate(sorted(reference.hospitals)):
            hospital = reference.hospitals[hid]
            if hospital.region_code not in regions:
                continue
            hsim = HospitalSim(hospital, index)
            self.hospitals[hid] = hsim
            wards = [WardSim(w, hsim) for w in sorted(reference.wards_of_hospital(hid), key=_wid)]
            for w in wards:
                w.siblings = [o for o in wards if o is not w]
                self.wards.append(w)
                self.ward_by_id[w.ward_id] = w
        if not self.wards:
            raise ValueError("no wards to simulate (check the reference data and regions)")

        share = self.options.bad_input_share
        bad_share = self.scenario.bad_input_share if share is None else share
        self.bad: BadInputInjector | None = None
        if bad_share > 0:
            self.bad = BadInputInjector(
                rng=random.Random(f"{seed}:bad-input"),
                ids=self.ids,
                calendar=self.calendar,
                share=bad_share,
                lateness_s=self.options.lateness_s,
                ward_ids=[w.ward_id for w in self.wards],
                known_ward_ids=set(reference.wards),
            )
        self.info = self._setup(bad_share, tuple(sorted(regions)))
        self.advance(self.start - 1)  # the burn-in: nothing is published before start

    # ------------------------------------------------------------------ public

    def advance(self, until: int | datetime) -> list[Emission]:
        """Run the model up to and including simulated time ``until``; return what it published."""
        until_ts = until if isinstance(until, int) else to_epoch(until)
        heap = self._heap
        handlers = self._handlers
        pop = heapq.heappop
        while heap and heap[0][0] <= until_ts:
            ts, _, kind, a, b = pop(heap)
            self.now = ts
            handlers[kind](ts, a, b)
        self.now = max(self.now, until_ts)
        out, self._out = self._out, []
        return out

    def source_of(self, hospital_id: str) -> str:
        return self.hospitals[hospital_id].source

    # ------------------------------------------------------------------ setup

    def _setup(self, bad_share: float, regions: tuple[str, ...]) -> SimulationInfo:
        rng = self.rng
        scenario = self.scenario
        self._handlers: list[Callable[[int, Any, Any], None]] = [
            self._on_slot,
            self._on_day,
            self._on_decide,
            self._on_admit,
            self._on_end,
            self._on_cancel,
            self._on_return,
            self._on_night_close,
            self._on_night_open,
            self._on_morning_round,
            self._on_surge_close,
            self._on_season_close,
            self._on_script,
            self._on_initial_census,
        ]
        for w in self.wards:
            prof = w.profile
            pressure = profiles.REGION_PRESSURE.get(
                w.hospital.region_code, profiles.DEFAULT_REGION_PRESSURE
            )
            los = prof.mean_los_days * scenario.los_factor
            per_day = prof.occupancy * pressure * w.baseline / los
            w.unplanned_per_day = per_day * prof.unplanned_share * scenario.unplanned_factor
            weekdays = 5 + 2 * profiles.WEEKEND_PLANNED_FACTOR
            w.planned_per_weekday = (
                per_day * (1 - prof.unplanned_share) * 7 / weekdays * scenario.planned_factor
            )
            if rng.random() < prof.night_closure_share and w.baseline >= 8:
                w.night_close_k = rng.randint(1, max(1, w.baseline // 8))
            # Systems report on a few fixed seconds of the slot (5 s apart): wards sharing
            # one are handled together, one scheduled happening instead of twenty.
            w.phase = rng.randrange(0, self.slot_s, min(5, self.slot_s))
            w.census_mod = rng.randrange(self.slots_per_census)
            self._fill_initially(w, pressure)
        for w in self.wards:
            self._place_initial_overflow(w)
        groups: dict[int, list[WardSim]] = {}
        for w in self.wards:
            self._push(self.start, _INITIAL_CENSUS, w, None)
            groups.setdefault(w.phase, []).append(w)
        for phase in sorted(groups):
            first_slot = self.start + 1 + (phase - self.start - 1) % self.slot_s
            self._push(first_slot, _SLOT, groups[phase], None)
        self._plan_day(self.origin, self.calendar.next_local_midnight(self.origin))

        info = SimulationInfo(
            seed=self.seed,
            scenario=scenario.name,
            start=self.start,
            bad_input_share=bad_share,
            regions=regions,
        )
        if scenario.seasonal_closure_share > 0:
            for w in self.wards:
                share = scenario.seasonal_closure_share * rng.uniform(0.6, 1.4)
                w.season_target = min(round(w.baseline * share), w.baseline // 2)
                if w.season_target > 0:
                    self._push(self.start + rng.randrange(60, 12 * HOUR), _SEASON_CLOSE, w, None)
        if scenario.major_incident:
            info = self._setup_incident(info)
        if scenario.silent_hospital:
            info = self._setup_silence(info)
        return info

    def _fill_initially(self, w: WardSim, pressure: float) -> None:
        """Start near the steady state: occupancy around its mean, stays part-way through."""
        rng = self.rng
        prof = w.profile
        mean = prof.occupancy * pressure * w.baseline
        count = max(0, round(rng.gauss(mean, math.sqrt(max(mean, 1.0)) * 0.5)))
        count = min(count, w.physical + w.extra_surge)
        sigma = prof.los_sigma
        los_days = prof.mean_los_days * self.scenario.los_factor
        # Stays in progress are length-biased: lognormal(mu + sigma^2); uniformly part-way.
        mu = math.log(los_days * DAY) - sigma * sigma / 2 + sigma * sigma
        for _ in range(count):
            remaining = rng.random() * rng.lognormvariate(mu, sigma)
            planned = rng.random() >= prof.unplanned_share
            patient = Patient(self._encounter(w.hospital), w, w, planned)
            w.patients[patient.ref] = patient
            end = self._on_the_day(self.origin + int(remaining), self.origin, w.care_type)
            self._schedule_end(patient, end, los_days=None)

    def _place_initial_overflow(self, w: WardSim) -> None:
        if w.care_type not in _HOSTING_CARE:
            return
        overflow = len(w.patients) - w.available
        for patient in list(w.patients.values())[: max(0, overflow)]:
            if self.rng.random() >= profiles.OUTLYING_PLACEMENT_SHARE * 1.5:
                continue
            host = self._find_host(w)
            if host is None:
                return
            del w.patients[patient.ref]
            patient.ward = host
            host.patients[patient.ref] = patient
            host.outlying_hosted += 1
            w.elsewhere[patient.ref] = patient

    def _setup_incident(self, info: SimulationInfo) -> SimulationInfo:
        rng = random.Random(f"{self.seed}:incident")
        opts = self.options
        region = opts.incident_region or _pick_incident_region(self.hospitals.values(), rng)
        receiving = [h for h in self.hospitals.values() if h.region_code == region and h.emergency]
        receiving = receiving or [h for h in self.hospitals.values() if h.region_code == region]
        if not receiving:
            raise ValueError(f"major-incident: no hospital in region {region!r}")
        population = self.reference.regions[region].population
        casualties = opts.casualties or max(40, min(300, round(population / 8_000)))
        at = self.start + opts.incident_after_s
        # Casualties go to the hospitals nearest the scene: most to the largest trauma
        # hospital, a quarter to the next, the rest spread (no geography in the data, so
        # size stands in for "nearest trauma centre").
        receiving.sort(key=lambda h: (-self._acute_beds(h), h.hospital_id))
        shares = [0.55, 0.25][: len(receiving)]
        rest = len(receiving) - len(shares)
        shares += [(1 - sum(shares)) / rest] * rest if rest else []
        shares[0] += 1 - sum(shares)
        pools: list[tuple[list[WardSim], list[WardSim]]] = []
        for h in receiving:
            wards = self._wards_of(h)
            acute = [w for w in wards if w.care_type is CareType.SOMATIC_ACUTE]
            surgical = [w for w in acute if w.surgical] or acute
            icu = [w for w in wards if w.care_type is CareType.INTENSIVE_CARE]
            pools.append((surgical, icu))
        fallback = next((pool for pool in pools if pool[0]), None)
        if fallback is None:
            raise ValueError(f"major-incident: region {region!r} has no acute wards")
        cumulative = list(itertools.accumulate(shares))
        for _ in range(casualties):
            when = at + min(int(rng.expovariate(1 / (50 * 60))), 4 * HOUR)
            surgical, icu = pools[rng.choices(range(len(pools)), cum_weights=cumulative)[0]]
            if not surgical:
                surgical, icu = fallback
            pool = icu if icu and rng.random() < 0.18 else surgical
            self._push(when, _DECIDE, pool[rng.randrange(len(pool))], _INCIDENT)
        for surgical, icu in pools:
            for ward in surgical + icu:
                opens = at + rng.randrange(30 * 60, 90 * 60)
                self._push(opens, _SCRIPT, self._open_incident_surge, ward)
        # The region's coordination reports from its largest receiving hospital.
        coordinator = self._wards_of(receiving[0])[0]
        for delay, level in (
            (5 * 60, PreparednessLevel.STABSLAGE),
            (25 * 60, PreparednessLevel.FORSTARKNINGSLAGE),
            (12 * HOUR, PreparednessLevel.STABSLAGE),
            (36 * HOUR, PreparednessLevel.NORMALLAGE),
        ):
            self._push(at + delay, _SCRIPT, self._declare, (coordinator, region, level))
        return replace(info, incident_region=region, incident_at=at, casualties=casualties)

    def _setup_silence(self, info: SimulationInfo) -> SimulationInfo:
        rng = random.Random(f"{self.seed}:silent")
        hid = self.options.silent_hospital
        if hid is None:
            candidates = sorted(h.hospital_id for h in self.hospitals.values() if h.emergency)
            candidates = candidates or sorted(self.hospitals)
            hid = candidates[rng.randrange(len(candidates))]
        if hid not in self.hospitals:
            raise ValueError(f"silent-hospital: unknown hospital {hid!r}")
        silent_from = self.start + self.options.silent_after_s
        self.hospitals[hid].silent_from = silent_from
        return replace(info, silent_hospital=hid, silent_from=silent_from)

    def _acute_beds(self, hospital: HospitalSim) -> int:
        wards = self._wards_of(hospital)
        return sum(w.baseline for w in wards if w.care_type is CareType.SOMATIC_ACUTE)

    def _wards_of(self, hospital: HospitalSim) -> list[WardSim]:
        return [
            self.ward_by_id[w.ward_id]
            for w in self.reference.wards_of_hospital(hospital.hospital_id)
            if w.ward_id in self.ward_by_id
        ]

    # ------------------------------------------------------------------ plumbing

    def _push(self, ts: int, kind: int, a: Any, b: Any) -> None:
        self._seq += 1
        # A census is authoritative for its second (the core counts a movement in the same
        # second as included in it): reports go after everything else in their second.
        seq = self._seq + _REPORTS_LAST if kind in _REPORTS else self._seq
        heapq.heappush(self._heap, (ts, seq, kind, a, b))

    def _encounter(self, hospital: HospitalSim) -> str:
        self._enc += 1
        return f"{hospital.tag}.{self._enc}"

    def _emit(self, ts: int, w: WardSim, payload: Payload) -> None:
        hospital = w.hospital
        if ts < self.start or (hospital.silent_from is not None and ts >= hospital.silent_from):
            return
        w.last_emit_ts = ts
        emission = Emission(ts, hospital.hospital_id, hospital.source, payload)
        self._out.append(emission)
        self.emitted += 1
        if self.bad is not None:
            self._out.extend(self.bad.after(emission))

    def _next_census(self, w: WardSim, ts: int) -> int:
        """Time of the ward's first regular census strictly after ``ts``."""
        slot = self.slot_s
        k = (ts - w.phase) // slot + 1
        k += (w.census_mod - k) % self.slots_per_census
        return w.phase + k * slot

    def _cancel_delay(self, w: WardSim, ts: int) -> int | None:
        """Seconds until a mistake is noticed, if that is before the ward's next census.

        No census may fall between a mistake and its cancel, nor in the mistake's own
        second: a census would count the mistake in, and cancelling a movement the census
        already holds is ambiguous for any reader of the feed.
        """
        if ts <= self.start or self._next_census(w, ts - 1) == ts:
            return None
        room = self._next_census(w, ts) - ts - 30
        if room < 120:
            return None
        return self.rng.randrange(60, min(room, 900))

    def _end_time(self, start: int, los_days: float, sigma: float, care: CareType) -> int:
        """When a stay starting at ``start`` ends: lognormal length, then ``_on_the_day``."""
        mu = math.log(los_days * DAY) - sigma * sigma / 2
        target = start + max(profiles.MIN_STAY_S, int(self.rng.lognormvariate(mu, sigma)))
        return self._on_the_day(target, start, care)

    def _on_the_day(self, target: int, start: int, care: CareType) -> int:
        """A discharge time on the day of ``target``: afternoon, often Monday not the weekend."""
        rng = self.rng
        cal = self.calendar
        day_start = cal.next_local_midnight(target - DAY)
        weekday = cal.local_hour(target).weekday
        if weekday >= 5 and rng.random() < profiles.WEEKEND_DISCHARGE_POSTPONE:
            day_start = cal.next_local_midnight(day_start + (7 - weekday) * DAY - HOUR)
        weights = _ICU_DISCHARGE_CUM if care is CareType.INTENSIVE_CARE else _DISCHARGE_CUM
        hour = rng.choices(_HOURS, cum_weights=weights)[0] + rng.random()
        end = cal.local_time(day_start, hour)
        return max(end, start + profiles.MIN_STAY_S)

    def _schedule_end(self, patient: Patient, ts: int, *, los_days: float | None) -> None:
        """Schedule the end of the patient's stay on the current ward (``ts`` or by LOS)."""
        if los_days is not None:
            ward = patient.ward
            ts = self._end_time(ts, los_days, ward.profile.los_sigma, ward.care_type)
        patient.token += 1
        patient.discharge_ts = ts
        self._push(ts, _END, patient, patient.token)

    def _overflow_ward(self, w: WardSim) -> WardSim | None:
        """Where a patient goes when the ward is packed: the roomiest ward that can take them."""
        kinds = _HOSTING_CARE if w.care_type in _HOSTING_CARE else frozenset({w.care_type})
        best: WardSim | None = None
        for other in (w, *w.siblings):
            if (
                other.care_type in kinds
                and plausible(other.occupied + 1, other.available)
                and (best is None or other.free > best.free)
            ):
                best = other
        return best

    def _find_host(self, w: WardSim) -> WardSim | None:
        best: WardSim | None = None
        best_free = 1  # leave the host one free bed of its own
        for other in w.siblings:
            if other.care_type in _HOSTING_CARE:
                free = other.free
                if free > best_free:
                    best, best_free = other, free
        return best

    # ------------------------------------------------------------------ handlers

    def _on_initial_census(self, ts: int, w: WardSim, _: Any) -> None:
        self._census(ts, w, self.calendar.iso(ts))

    def _on_slot(self, ts: int, group: list[WardSim], _: Any) -> None:
        """The census-or-heartbeat slot of every ward sharing this phase."""
        slot_s = self.slot_s
        k = (ts - group[0].phase) // slot_s % self.slots_per_census
        iso = self.calendar.iso(ts)
        quiet_since = ts - slot_s
        for w in group:
            if k == w.census_mod:
                self._census(ts, w, iso)
            elif w.last_emit_ts <= quiet_since:
                hb = payloads.heartbeat(self.ids.next(), w.hospital.source, w.ward_id, iso)
                self._emit(ts, w, hb)
        self._push(ts + slot_s, _SLOT, group, None)

    def _census(self, ts: int, w: WardSim, iso: str) -> None:
        horizon = ts + DAY
        expected = 0
        for p in w.patients.values():
            if p.discharge_ts <= horizon:
                expected += 1
        surge = w.surge_24h()
        self._emit(
            ts,
            w,
            payloads.census(
                self.ids.next(),
                w.hospital.source,
                w.ward_id,
                iso,
                available_beds=w.available,
                occupied=len(w.patients) + w.phantom,
                outlying_hosted=w.outlying_hosted,
                placed_elsewhere=len(w.elsewhere),
                pending_admissions=w.pending_unplanned + w.pending_planned,
                expected_discharges_24h=expected,
                physical_beds=w.physical,
                surge_beds_24h=surge,
                surge_beds_72h=surge + max(1, w.physical // 10),
            ),
        )

    def _on_day(self, ts: int, _: Any, __: Any) -> None:
        self._plan_day(ts, self.calendar.next_local_midnight(ts))

    def _plan_day(self, now: int, day_end: int) -> None:
        """Draw the coming day's admissions for every ward, and its daily routines."""
        rng = self.rng
        cal = self.calendar
        day_start = cal.next_local_midnight(day_end - DAY - 2 * HOUR)
        weekday = cal.local_hour(day_start + 12 * HOUR).weekday
        weekend = weekday >= 5
        unplanned_factor = profiles.WEEKEND_UNPLANNED_FACTOR if weekend else 1.0
        planned_factor = profiles.WEEKEND_PLANNED_FACTOR if weekend else 1.0
        for w in self.wards:
            for _ in range(_poisson(rng, w.unplanned_per_day * unplanned_factor)):
                hour = rng.choices(_HOURS, cum_weights=_DECISION_CUM)[0] + rng.random()
                t = cal.local_time(day_start, hour)
                if now <= t < day_end:
                    self._push(t, _DECIDE, w, 0)
            for _ in range(_poisson(rng, w.planned_per_weekday * planned_factor)):
                hour = rng.choices(_HOURS, cum_weights=_PLANNED_CUM)[0] + rng.random()
                t = cal.local_time(day_start, hour)
                if now <= t < day_end:
                    w.pending_planned += 1  # booked: decided, waiting for its bed
                    self._push(t, _ADMIT, w, _PLANNED)
            if w.night_close_k:
                for hour, kind in (
                    (profiles.NIGHT_REOPEN_HOUR, _NIGHT_OPEN),
                    (profiles.NIGHT_CLOSE_HOUR, _NIGHT_CLOSE),
                ):
                    t = cal.local_time(day_start, hour + rng.random() * 0.5)
                    if now <= t < day_end:
                        self._push(t, kind, w, None)
            t = cal.local_time(day_start, profiles.MORNING_ROUND_HOUR + rng.random() * 0.5)
            if now <= t < day_end:
                self._push(t, _MORNING_ROUND, w, None)
        self._push(day_end, _DAY, None, None)

    def _on_decide(self, ts: int, w: WardSim, flags: int) -> None:
        w.pending_unplanned += 1
        mean_wait = w.profile.ed_wait_hours * HOUR
        if flags & _INCIDENT:
            mean_wait = 0.4 * HOUR
        wait = min(max(int(self.rng.expovariate(1 / mean_wait)), 10 * 60), 8 * HOUR)
        self._push(ts + wait, _ADMIT, w, flags)

    def _on_admit(self, ts: int, w: WardSim, flags: int) -> None:
        rng = self.rng
        planned = bool(flags & _PLANNED)
        if planned:
            w.pending_planned -= 1
            if w.free <= 0 and rng.random() < profiles.PLANNED_POSTPONE_SHARE:
                return  # postponed: the booking moves to another day, nothing is published
        else:
            w.pending_unplanned -= 1
        caring = w
        if (
            w.free <= 0
            and w.care_type in _HOSTING_CARE
            and rng.random() < profiles.OUTLYING_PLACEMENT_SHARE
        ):
            caring = self._find_host(w) or w
        if not plausible(caring.occupied + 1, caring.available):
            overflow = self._overflow_ward(w)
            if overflow is None:
                return  # no room anywhere in the hospital: sent on to another hospital
            caring = overflow
        patient = Patient(self._encounter(w.hospital), w, caring, planned)
        if (
            w.care_type is CareType.INTENSIVE_CARE
            and rng.random() < profiles.ICU_RESPONSIBLE_ELSEWHERE
        ):
            surgical = [
                o for o in w.siblings if o.surgical and o.care_type is CareType.SOMATIC_ACUTE
            ]
            if surgical:
                patient.home = surgical[rng.randrange(len(surgical))]
                patient.motivated = True
        los = w.profile.mean_los_days * self.scenario.los_factor
        if flags & _INCIDENT:
            los *= 1.5
        if caring is w and not patient.motivated and rng.random() < profiles.ADMIT_CANCEL_SHARE:
            delay = self._cancel_delay(w, ts)
            if delay is not None:
                # Registered by mistake, cancelled, then registered properly.
                mistaken = self._admit_event(ts, patient)
                w.phantom += 1
                self._push(ts + delay, _CANCEL, w, (mistaken, patient, los))
                return
        self._admit(ts, patient, los)

    def _admit_event(self, ts: int, patient: Patient) -> str:
        caring = patient.ward
        event_id = self.ids.next()
        self._emit(
            ts,
            caring,
            payloads.movement(
                event_id,
                caring.hospital.source,
                caring.ward_id,
                self.calendar.iso(ts),
                "admit",
                patient.ref,
                responsible_ward_id=patient.home.ward_id,
                medically_motivated=patient.motivated,
                planned=patient.planned,
            ),
        )
        return event_id

    def _admit(self, ts: int, patient: Patient, los: float) -> None:
        caring = patient.ward
        caring.patients[patient.ref] = patient
        if patient.outlying:
            caring.outlying_hosted += 1
            patient.home.elsewhere[patient.ref] = patient
        self._admit_event(ts, patient)
        self._schedule_end(patient, ts, los_days=los)

    def _on_cancel(self, ts: int, w: WardSim, what: tuple[str, Patient, float | None]) -> None:
        target, patient, los = what
        self._emit(
            ts,
            w,
            payloads.cancel(
                self.ids.next(),
                w.hospital.source,
                w.ward_id,
                self.calendar.iso(ts),
                patient.ref,
                cancels_event_id=target,
                responsible_ward_id=patient.home.ward_id,
            ),
        )
        if los is not None:  # a mistaken admission: now the right one
            w.phantom -= 1
            self._admit(ts, patient, los)
        else:  # a mistaken discharge: the patient is still here, leaves a little later
            w.phantom += 1
            self._schedule_end(patient, ts + self.rng.randrange(5 * 60, 2 * HOUR), los_days=None)

    def _on_end(self, ts: int, patient: Patient, token: int) -> None:
        if token != patient.token:
            return  # replaced by a later schedule (transfer, cancelled discharge)
        rng = self.rng
        w = patient.ward
        target: WardSim | None = None
        # An outlying patient is never handed over: one responsible_ward_id cannot say
        # both "leaves as outlying" and "arrives as the new ward's own" (payloads.transfer).
        if (
            w.care_type is CareType.INTENSIVE_CARE
            and not patient.outlying
            and rng.random() < profiles.ICU_STEP_DOWN_SHARE
        ):
            if patient.motivated and patient.home.care_type is CareType.SOMATIC_ACUTE:
                target = patient.home
            else:
                target = _roomiest(w.siblings, CareType.SOMATIC_ACUTE)
        elif (
            w.care_type is CareType.SOMATIC_ACUTE
            and not patient.outlying
            and rng.random() < profiles.ACUTE_TRANSFER_SHARE
        ):
            target = _roomiest(w.siblings, CareType.SOMATIC_ACUTE)
        if target is not None:
            self._hand_over(ts, patient, target)
        else:
            self._discharge(ts, patient)
        if w.free > 0 and w.elsewhere and rng.random() < profiles.RETURN_HOME_SHARE:
            self._push(ts + rng.randrange(30 * 60, 3 * HOUR), _RETURN, w, None)

    def _discharge(self, ts: int, patient: Patient) -> None:
        w = patient.ward
        if (
            not patient.outlying
            and not patient.motivated
            and self.rng.random() < profiles.DISCHARGE_CANCEL_SHARE
        ):
            delay = self._cancel_delay(w, ts)
            if delay is not None:
                mistaken = self._discharge_event(ts, patient)
                w.phantom -= 1
                patient.token += 1  # the real end of stay is scheduled by the cancel
                self._push(ts + delay, _CANCEL, w, (mistaken, patient, None))
                return
        self._discharge_event(ts, patient)
        del w.patients[patient.ref]
        if patient.outlying:
            w.outlying_hosted -= 1
            del patient.home.elsewhere[patient.ref]

    def _discharge_event(self, ts: int, patient: Patient) -> str:
        w = patient.ward
        event_id = self.ids.next()
        self._emit(
            ts,
            w,
            payloads.movement(
                event_id,
                w.hospital.source,
                w.ward_id,
                self.calendar.iso(ts),
                "discharge",
                patient.ref,
                responsible_ward_id=patient.home.ward_id,
                medically_motivated=patient.motivated,
                planned=patient.planned,
            ),
        )
        return event_id

    def _transfer(self, ts: int, patient: Patient, to: WardSim, responsible: str | None) -> None:
        """Move the patient and publish the transfer once per side (same event id)."""
        source = patient.ward
        event_id = self.ids.next()
        iso = self.calendar.iso(ts)
        for side in (source, to):
            self._emit(
                ts,
                side,
                payloads.transfer(
                    event_id,
                    side.hospital.source,
                    side.ward_id,
                    iso,
                    patient.ref,
                    from_ward_id=source.ward_id,
                    to_ward_id=to.ward_id,
                    responsible_ward_id=responsible,
                    planned=patient.planned,
                ),
            )
        del source.patients[patient.ref]
        to.patients[patient.ref] = patient
        patient.ward = to

    def _hand_over(self, ts: int, patient: Patient, to: WardSim) -> None:
        """A transfer that hands responsibility to the new ward (step-down, other specialty)."""
        assert not patient.outlying
        self._transfer(ts, patient, to, None)
        patient.home = to
        patient.motivated = False
        los = to.profile.mean_los_days * 0.7 * self.scenario.los_factor
        self._schedule_end(patient, ts, los_days=los)

    def _on_return(self, ts: int, home: WardSim, _: Any) -> None:
        """Move the longest-placed outlying patient home if a bed is still free."""
        if home.free <= 0 or not home.elsewhere:
            return
        patient = next(iter(home.elsewhere.values()))
        host = patient.ward
        self._transfer(ts, patient, home, home.ward_id)
        host.outlying_hosted -= 1
        del home.elsewhere[patient.ref]

    def _capacity(self, ts: int, w: WardSim, change: int, reason: str) -> None:
        w.available += change
        self._emit(
            ts,
            w,
            payloads.capacity(
                self.ids.next(),
                w.hospital.source,
                w.ward_id,
                self.calendar.iso(ts),
                change=change,
                reason=reason,
            ),
        )

    def _on_night_close(self, ts: int, w: WardSim, _: Any) -> None:
        n = min(w.night_close_k, w.free)
        if n > 0:
            w.night_closed = n
            self._capacity(ts, w, -n, "staffing")

    def _on_night_open(self, ts: int, w: WardSim, _: Any) -> None:
        if w.night_closed:
            n, w.night_closed = w.night_closed, 0
            self._capacity(ts, w, n, "staffing")

    def _on_morning_round(self, ts: int, w: WardSim, _: Any) -> None:
        """An overcrowded ward discharges early whom it can, and may open extra beds."""
        over = -w.free
        if over <= 0:
            return
        early = round(over * profiles.EARLY_DISCHARGE_SHARE)
        if early > 0:
            soon = ts + profiles.EARLY_DISCHARGE_HORIZON_H * HOUR
            due = sorted(
                (p for p in w.patients.values() if p.discharge_ts <= soon and not p.outlying),
                key=_by_discharge,
            )
            for patient in due[:early]:
                when = self._on_the_day(ts, ts, w.care_type)
                if when < patient.discharge_ts:
                    self._schedule_end(patient, when, los_days=None)
        if w.surge_open or over < 2:
            return
        if self.rng.random() >= profiles.SURGE_OPEN_SHARE * self.scenario.surge_open_factor:
            return
        n = min(2 + over // 3, w.surge_24h())
        if n > 0:
            w.surge_open = n
            self._capacity(ts, w, n, "surge")
            self._push(ts + profiles.SURGE_OPEN_HOURS * HOUR, _SURGE_CLOSE, w, None)

    def _on_surge_close(self, ts: int, w: WardSim, _: Any) -> None:
        n = min(w.surge_open, max(0, w.free))
        if n > 0:
            w.surge_open -= n
            self._capacity(ts, w, -n, "surge")
        if w.surge_open:
            self._push(ts + 6 * HOUR, _SURGE_CLOSE, w, None)

    def _on_season_close(self, ts: int, w: WardSim, _: Any) -> None:
        """Close the season's beds as they empty (a ward does not evict patients)."""
        remaining = w.season_target - w.season_closed
        n = min(remaining, max(1, w.free))
        if n > 0 and plausible(w.occupied, w.available - n):
            w.season_closed += n
            self._capacity(ts, w, -n, "season")
        if w.season_closed < w.season_target:
            self._push(ts + 2 * HOUR, _SEASON_CLOSE, w, None)

    def _on_script(self, ts: int, action: Callable[[int, Any], None], arg: Any) -> None:
        action(ts, arg)

    def _open_incident_surge(self, ts: int, w: WardSim) -> None:
        n = w.surge_24h()
        if n > 0:
            w.surge_open += n
            self._capacity(ts, w, n, "surge")

    def _declare(self, ts: int, what: tuple[WardSim, str, PreparednessLevel]) -> None:
        w, region, level = what
        self._emit(
            ts,
            w,
            payloads.preparedness(
                self.ids.next(),
                w.hospital.source,
                w.ward_id,
                self.calendar.iso(ts),
                region_code=region,
                level=level.value,
            ),
        )


def _wid(ward: Ward) -> str:
    return ward.ward_id


def _by_discharge(patient: Patient) -> int:
    return patient.discharge_ts


def _roomiest(wards: list[WardSim], care: CareType) -> WardSim | None:
    best: WardSim | None = None
    for w in wards:
        if w.care_type is care and (best is None or w.free > best.free):
            best = w
    return best


def _pick_incident_region(hospitals: Iterable[HospitalSim], rng: random.Random) -> str:
    regions = sorted({h.region_code for h in hospitals if h.emergency})
    return regions[rng.randrange(len(regions))]


def _poisson(rng: random.Random, mean: float) -> int:
    """Poisson draw (Knuth for small means, normal approximation for large ones)."""
    if mean <= 0:
        return 0
    if mean > 60:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit = math.exp(-mean)
    k = 0
    p = rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k
