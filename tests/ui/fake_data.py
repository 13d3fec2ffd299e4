"""Canned, deterministic capacity data in the API contract's shapes, for the browser tests.

The numbers are plausible (available beds per region from DOMAIN.md's 2015 column,
occupancy around the targets), so screenshots look like a real morning in Sweden.
Messages are plain dicts shaped like ``schemas.messages`` (ScopeRollup, WardState,
AlertEvent) so the fake server can send exactly what the real API will.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

Message = dict[str, Any]

CARE_TYPES = ("somatic_acute", "somatic_planned", "intensive_care", "psychiatry", "paediatric")
TARGETS = {
    "somatic_acute": 0.85,
    "somatic_planned": 0.95,
    "intensive_care": 0.80,
    "psychiatry": 0.85,
    "paediatric": 0.80,
}
# Share of a region's beds per care type.
CARE_SHARE = {
    "somatic_acute": 0.55,
    "somatic_planned": 0.17,
    "intensive_care": 0.04,
    "psychiatry": 0.16,
    "paediatric": 0.08,
}

# code, beds 2015, occupancy of the canned morning, hospitals
REGIONS: tuple[tuple[str, int, float, tuple[str, ...]], ...] = (
    (
        "01",
        5163,
        0.93,
        ("Karolinska universitetssjukhuset Solna", "Södersjukhuset", "Danderyds sjukhus"),
    ),
    ("03", 923, 0.88, ("Akademiska sjukhuset", "Lasarettet i Enköping")),
    ("04", 685, 0.84, ("Mälarsjukhuset Eskilstuna", "Nyköpings lasarett")),
    ("05", 998, 0.82, ("Universitetssjukhuset i Linköping", "Vrinnevisjukhuset")),
    ("06", 878, 0.81, ("Länssjukhuset Ryhov", "Höglandssjukhuset Eksjö")),
    ("07", 561, 0.79, ("Centrallasarettet Växjö", "Ljungby lasarett")),
    ("08", 650, 0.78, ("Länssjukhuset i Kalmar", "Västerviks sjukhus")),
    ("09", 147, 0.83, ("Visby lasarett",)),
    ("10", 415, 0.86, ("Blekingesjukhuset Karlskrona",)),
    (
        "12",
        2974,
        1.02,
        (
            "Skånes universitetssjukhus Lund",
            "Skånes universitetssjukhus Malmö",
            "Helsingborgs lasarett",
        ),
    ),
    ("13", 672, 0.87, ("Hallands sjukhus Halmstad", "Hallands sjukhus Varberg")),
    (
        "14",
        4032,
        0.91,
        (
            "Sahlgrenska universitetssjukhuset",
            "NU-sjukvården Trollhättan",
            "Skaraborgs sjukhus Skövde",
        ),
    ),
    ("17", 654, 0.83, ("Centralsjukhuset Karlstad", "Arvika sjukhus")),
    ("18", 729, 0.85, ("Universitetssjukhuset Örebro", "Karlskoga lasarett")),
    ("19", 638, 0.89, ("Västmanlands sjukhus Västerås",)),
    ("20", 732, 0.80, ("Falu lasarett", "Mora lasarett")),
    ("21", 601, 0.90, ("Gävle sjukhus", "Hudiksvalls sjukhus")),
    ("22", 672, 0.76, ("Sundsvalls sjukhus", "Örnsköldsviks sjukhus")),
    ("23", 316, 0.74, ("Östersunds sjukhus",)),
    ("24", 774, 0.87, ("Norrlands universitetssjukhus", "Skellefteå lasarett")),
    ("25", 669, 0.81, ("Sunderby sjukhus", "Gällivare sjukhus")),
)

WARD_NAMES = {
    "somatic_acute": ("Medicinavdelning", "internal_medicine"),
    "somatic_planned": ("Ortopedavdelning", "orthopaedics"),
    "intensive_care": ("Intensivvårdsavdelning", "intensive_care"),
    "psychiatry": ("Psykiatrisk avdelning", "psychiatry"),
    "paediatric": ("Barnavdelning", "paediatrics"),
}


def pressure_level(
    occupancy: float | None, target: float, overcrowded_per_100: float | None
) -> int:
    """DOMAIN.md's default triggers (without the region-wide 'no free bed' rule)."""
    if occupancy is None:
        return 1
    if occupancy >= 1.10:
        return 4
    if occupancy >= 1.0 or (overcrowded_per_100 or 0) > 3:
        return 3
    if occupancy > target:
        return 2
    return 1


def iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _window(seconds: int, occ: float, beds: int) -> dict[str, Any]:
    return {
        "window_s": seconds,
        "patient_seconds": occ * beds * seconds,
        "bed_seconds": float(beds * seconds),
        "occupancy": occ if beds else None,
    }


@dataclass
class CountsIn:
    available: int
    occupied: int
    overcrowded: int = 0
    outlying: int = 0
    pending: int = 0
    discharges: int = 0

    def as_counts(self) -> dict[str, Any]:
        return {
            "available_beds": self.available,
            "occupied": self.occupied,
            "free_beds": max(0, self.available - self.occupied),
            "overcrowded": self.overcrowded,
            "outlying_hosted": self.outlying,
            "placed_elsewhere": 0,
            "pending_admissions": self.pending,
            "expected_discharges_24h": self.discharges,
            "physical_beds": None,
            "surge_beds_24h": None,
            "surge_beds_72h": None,
        }

    def as_measures(self) -> dict[str, Any]:
        occ = self.occupied / self.available if self.available else None
        return {
            "occupancy": occ,
            "free_after_pending": self.available - self.occupied - self.pending + self.discharges,
            "overcrowded_per_100": self.overcrowded / self.available * 100
            if self.available
            else None,
            "outlying_per_100": self.outlying / self.available * 100 if self.available else None,
            "occupancy_1h": _window(3600, occ or 0, self.available),
            "occupancy_24h": _window(86400, occ or 0, self.available),
            "occupancy_7d": _window(604800, occ or 0, self.available),
        }


def rollup(
    scope_id: str,
    care_type: str,
    c: CountsIn,
    *,
    as_of: datetime,
    version: int = 1,
    target: float | None = None,
    ward_count: int = 10,
    wards_reporting: int | None = None,
    level: int | None = None,
    declared: str | None = None,
) -> Message:
    target = target if target is not None else TARGETS.get(care_type, 0.88)
    measures = c.as_measures()
    reporting = ward_count if wards_reporting is None else wards_reporting
    return {
        "message_version": 1,
        "kind": "rollup",
        "scope_id": scope_id,
        "care_type": care_type,
        "version": version,
        "as_of": iso(as_of),
        "oldest_as_of": iso(as_of - timedelta(minutes=4)),
        "ward_count": ward_count,
        "wards_reporting": reporting,
        "reporting_coverage": reporting / ward_count if ward_count else None,
        "counts": c.as_counts(),
        "measures": measures,
        "target": target,
        "pressure_level": level
        if level is not None
        else pressure_level(measures["occupancy"], target, measures["overcrowded_per_100"]),
        "declared_preparedness": declared,
    }


@dataclass
class Hospital:
    hospital_id: str
    name: str
    region_code: str


@dataclass
class Ward:
    ward_id: str
    hospital_id: str
    region_code: str
    name: str
    care_type: str
    specialty: str
    beds: int


@dataclass
class FakeWorld:
    """The canned state: reference data plus the latest message per key."""

    now: datetime
    hospitals: list[Hospital] = field(default_factory=list)
    wards: list[Ward] = field(default_factory=list)
    rollups: dict[str, Message] = field(default_factory=dict)
    ward_states: dict[str, Message] = field(default_factory=dict)
    alerts: dict[str, Message] = field(default_factory=dict)

    def put(self, msg: Message) -> str:
        """Store a message; return its topic key."""
        if msg["kind"] == "rollup":
            key = f"{msg['scope_id']}:{msg['care_type']}"
            self.rollups[key] = msg
        elif msg["kind"] == "ward_state":
            key = str(msg["ward_id"])
            self.ward_states[key] = msg
        else:
            key = str(msg["alert_id"])
            self.alerts[key] = msg
        return key

    def region_of_scope(self, scope_id: str) -> str | None:
        if scope_id.startswith("region:"):
            return scope_id[7:]
        if scope_id.startswith("hospital:"):
            hid = scope_id[9:]
            return next((h.region_code for h in self.hospitals if h.hospital_id == hid), None)
        return None

    def region_rollup(
        self,
        code: str,
        *,
        occupancy: float,
        version: int,
        as_of: datetime | None = None,
        wards_reporting: int | None = None,
        declared: str | None = None,
    ) -> Message:
        beds = next(b for c, b, _, _ in REGIONS if c == code)
        occ = round(beds * occupancy)
        over = max(0, occ - beds) + round(beds * 0.01 * max(0.0, occupancy - 0.85) * 20)
        return rollup(
            f"region:{code}",
            "all",
            CountsIn(
                beds,
                occ,
                overcrowded=over,
                outlying=round(beds * 0.012),
                pending=round(beds * 0.02),
            ),
            as_of=as_of or self.now - timedelta(seconds=40),
            version=version,
            target=0.87,
            ward_count=len([w for w in self.wards if w.region_code == code]),
            wards_reporting=wards_reporting,
            declared=declared,
        )


def build_world(now: datetime) -> FakeWorld:
    world = FakeWorld(now=now)
    total = CountsIn(0, 0)
    per_ct = {ct: CountsIn(0, 0) for ct in CARE_TYPES}
    for code, beds, occ, names in REGIONS:
        for i, name in enumerate(names):
            hid = f"SE2321000{code}{i}-H{code}{i}"
            world.hospitals.append(Hospital(hid, name, code))
            hospital_beds = round(beds / len(names) * (1.25 if i == 0 and len(names) > 1 else 1.0))
            h_counts = CountsIn(0, 0)
            for j, ct in enumerate(CARE_TYPES):
                ward_name, specialty = WARD_NAMES[ct]
                wid = f"SE2321000{code}{i}-W{code}{i}{j}"
                wbeds = max(4, round(hospital_beds * CARE_SHARE[ct]))
                # Spread occupancy around the region's so the tables have something to sort.
                wocc = occ + 0.07 * math.sin(int(code) * 1.7 + i * 2.3 + j * 1.1)
                occupied = round(wbeds * wocc)
                wc = CountsIn(
                    wbeds,
                    occupied,
                    overcrowded=max(0, occupied - wbeds),
                    outlying=(j + i + int(code)) % 3,
                    pending=(j * 2 + int(code)) % 4,
                    discharges=(j + 1) % 3,
                )
                world.wards.append(
                    Ward(wid, hid, code, f"{ward_name} {j + 1}{i + 1}", ct, specialty, wbeds)
                )
                world.put(
                    ward_state(
                        wid,
                        hid,
                        code,
                        ct,
                        specialty,
                        wc,
                        as_of=now - timedelta(seconds=30 + j * 20),
                    )
                )
                for agg in (h_counts, total, per_ct[ct]):
                    agg.available += wc.available
                    agg.occupied += wc.occupied
                    agg.overcrowded += wc.overcrowded
                    agg.outlying += wc.outlying
                    agg.pending += wc.pending
                    agg.discharges += wc.discharges
            world.put(
                rollup(
                    f"hospital:{hid}",
                    "all",
                    h_counts,
                    as_of=now - timedelta(seconds=30),
                    target=0.87,
                    ward_count=len(CARE_TYPES),
                )
            )
    for code, _beds, occ, _names in REGIONS:
        declared = "stabslage" if code == "12" else "normallage"
        world.put(world.region_rollup(code, occupancy=occ, version=1, declared=declared))
        for ct in CARE_TYPES:
            c = CountsIn(0, 0)
            for s in world.ward_states.values():
                if s["region_code"] == code and s["care_type"] == ct:
                    c.available += s["counts"]["available_beds"]
                    c.occupied += s["counts"]["occupied"]
                    c.overcrowded += s["counts"]["overcrowded"]
                    c.outlying += s["counts"]["outlying_hosted"]
                    c.pending += s["counts"]["pending_admissions"]
            n = len([w for w in world.wards if w.region_code == code and w.care_type == ct])
            world.put(
                rollup(f"region:{code}", ct, c, as_of=now - timedelta(seconds=40), ward_count=n)
            )
    wards = len(world.wards)
    total.overcrowded = round(total.available * 0.049)
    total.outlying = round(total.available * 0.014)
    world.put(
        rollup(
            "nation",
            "all",
            total,
            as_of=now - timedelta(seconds=20),
            target=0.87,
            ward_count=wards,
            wards_reporting=wards - 3,
        )
    )
    for ct, c in per_ct.items():
        if ct == "intensive_care":
            c.occupied = round(c.available * 0.83)
        world.put(rollup("nation", ct, c, as_of=now - timedelta(seconds=20), ward_count=wards // 5))
    for i, (scope, ct, level, minutes, text) in enumerate(
        (
            ("region:12", "all", 3, 6, "Beläggning 102 % i Region Skåne (mål 87 %)"),
            ("region:01", "somatic_acute", 2, 18, "Beläggning 93 % mot mål 85 %"),
            (
                f"hospital:{world.hospitals[0].hospital_id}",
                "intensive_care",
                3,
                34,
                "IVA: inga lediga platser",
            ),
            ("region:14", "all", 2, 52, "Beläggning 91 % mot mål 87 %"),
            ("region:21", "psychiatry", 2, 75, "Beläggning 90 % mot mål 85 %"),
        )
    ):
        world.put(
            alert(
                scope,
                ct,
                level,
                occurred_at=now - timedelta(minutes=minutes),
                message=text,
                region_code=world.region_of_scope(scope),
                seed=i,
            )
        )
    return world


def ward_state(
    ward_id: str,
    hospital_id: str,
    region_code: str,
    care_type: str,
    specialty: str,
    c: CountsIn,
    *,
    as_of: datetime,
    version: int = 1,
    stale: bool = False,
    interval_s: int = 300,
) -> Message:
    target = TARGETS[care_type]
    measures = c.as_measures()
    return {
        "message_version": 1,
        "kind": "ward_state",
        "ward_id": ward_id,
        "hospital_id": hospital_id,
        "region_code": region_code,
        "care_type": care_type,
        "specialty": specialty,
        "version": version,
        "as_of": iso(as_of),
        "last_reported_at": iso(as_of),
        "expected_interval_s": interval_s,
        "stale": stale,
        "counts": c.as_counts(),
        "measures": measures,
        "target": target,
        "pressure_level": pressure_level(
            measures["occupancy"], target, measures["overcrowded_per_100"]
        ),
        "late_events": 0,
    }


def alert(
    scope_id: str,
    care_type: str,
    level: int,
    *,
    occurred_at: datetime,
    message: str,
    region_code: str | None,
    seed: int,
    state: str = "raised",
    sequence: int = 1,
) -> Message:
    return {
        "message_version": 1,
        "kind": "alert",
        "alert_id": str(uuid.UUID(int=0xA1E47 * 1000 + seed)),
        "sequence": sequence,
        "state": state,
        "rule": "pressure",
        "scope_id": scope_id,
        "care_type": care_type,
        "region_code": region_code,
        "level": level,
        "previous_level": None,
        "value": None,
        "threshold": None,
        "occurred_at": iso(occurred_at),
        "raised_at": iso(occurred_at),
        "message": message,
        "acknowledged_by": None,
    }


def history_points(current: float, now: datetime, *, seed: int) -> list[dict[str, Any]]:
    """24 hourly points drifting towards the current occupancy (a daily rhythm plus noise)."""
    points = []
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=24)
    for h in range(25):
        t = start + timedelta(hours=h)
        daily = 0.035 * math.sin((t.hour - 8) / 24 * 2 * math.pi)
        drift = (current - 0.03) + 0.03 * h / 24
        noise = 0.01 * math.sin(seed * 3.1 + h * 1.7)
        points.append(
            {
                "t": iso(t),
                "occupancy": round(drift + daily + noise, 4),
                "available_beds": 100,
                "occupied": 0,
                "overcrowded": 0,
                "outlying_hosted": 0,
            }
        )
    return points
