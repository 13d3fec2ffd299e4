"""Generate ``regions.csv``, ``hospitals.csv`` and ``wards.csv`` (run once; output checked in).

    python -m schemas.data.build_reference          # rewrite the three files
    python -m schemas.data.build_reference --check  # exit 1 if they differ from the output

This script is the source of truth: edit the tables below and rerun, never the CSVs.
The output is deterministic (a seeded generator per hospital), so rerunning without
changes rewrites identical files.

What is real and what is made up:

- Regions: codes, letters, names and populations as in DOMAIN.md. ``sparse`` marks the
  regions with long distances to the next hospital: population density below about
  12 inhabitants/km² (Dalarna, Västernorrland, Jämtland Härjedalen, Västerbotten,
  Norrbotten) plus the island of Gotland.
- Hospitals: real hospitals with real names, 63 of them emergency hospitals
  (akutsjukhus) and two with inpatient wards but no round-the-clock emergency
  department (``emergency=false``: Köping, Piteå). The emergency flag follows
  DOMAIN.md's count (Stockholm, Skåne and Västra Götaland six or more); opening hours
  of the smaller emergency departments change often and were not checked one by one.
  Hospital ids use the region's real organisation number as the HSA-id prefix; the
  suffixes are made up.
- Wards: made up but realistic. Each region's total of available beds follows the
  2015 column of DOMAIN.md scaled to today's national total (``NATIONAL_AVAILABLE``,
  about 1.75 per 1,000 inhabitants); each hospital gets a share of its region by a size
  weight, and its beds are split into wards of a realistic size per specialty. Ward ids
  are ``<hospital id>`` + specialty code + ordinal (e.g. ``SE2321000016-H001MED2``), so
  adding a specialty elsewhere never renumbers a ward.
"""

from __future__ import annotations

import csv
import io
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from schemas.types import CareType

_K = TypeVar("_K", bound=str)
OUT_DIR = Path(__file__).resolve().parent
NATIONAL_AVAILABLE = 18_600  # target total of typical available beds (17,000-20,000)

# code, letters, name, population, 2015 available beds, sparse, organisation number
REGIONS: tuple[tuple[str, str, str, int, int, bool, str], ...] = (
    ("01", "AB", "Region Stockholm", 2_473_000, 5163, False, "2321000016"),
    ("03", "C", "Region Uppsala", 405_000, 923, False, "2321000024"),
    ("04", "D", "Region Sörmland", 302_000, 685, False, "2321000032"),
    ("05", "E", "Region Östergötland", 470_000, 998, False, "2321000040"),
    ("06", "F", "Region Jönköpings län", 369_000, 878, False, "2321000057"),
    ("07", "G", "Region Kronoberg", 204_000, 561, False, "2321000065"),
    ("08", "H", "Region Kalmar län", 247_000, 650, False, "2321000073"),
    ("09", "I", "Region Gotland", 61_000, 147, True, "2120000803"),
    ("10", "K", "Region Blekinge", 157_000, 415, False, "2321000081"),
    ("12", "M", "Region Skåne", 1_415_000, 2974, False, "2321000255"),
    ("13", "N", "Region Halland", 344_000, 672, False, "2321000115"),
    ("14", "O", "Västra Götalandsregionen", 1_763_000, 4032, False, "2321000131"),
    ("17", "S", "Region Värmland", 284_000, 654, False, "2321000156"),
    ("18", "T", "Region Örebro län", 307_000, 729, False, "2321000164"),
    ("19", "U", "Region Västmanland", 280_000, 638, False, "2321000172"),
    ("20", "W", "Region Dalarna", 287_000, 732, True, "2321000180"),
    ("21", "X", "Region Gävleborg", 287_000, 601, False, "2321000198"),
    ("22", "Y", "Region Västernorrland", 244_000, 672, True, "2321000206"),
    ("23", "Z", "Region Jämtland Härjedalen", 132_000, 316, True, "2321000214"),
    ("24", "AC", "Region Västerbotten", 276_000, 774, True, "2321000222"),
    ("25", "BD", "Region Norrbotten", 248_000, 669, True, "2321000230"),
)

UNIVERSITY, CENTRAL, LOCAL = "university", "central", "local"

# region, number within region (stable: never reuse), name, class, size weight, emergency
HOSPITALS: tuple[tuple[str, int, str, str, float, bool], ...] = (
    ("01", 1, "Karolinska Universitetssjukhuset Solna", UNIVERSITY, 17, True),
    ("01", 2, "Karolinska Universitetssjukhuset Huddinge", UNIVERSITY, 17, True),
    ("01", 3, "Danderyds sjukhus", CENTRAL, 14, True),
    ("01", 4, "Södersjukhuset", CENTRAL, 16, True),
    ("01", 5, "Capio S:t Görans sjukhus", CENTRAL, 10, True),
    ("01", 6, "Södertälje sjukhus", LOCAL, 6, True),
    ("01", 7, "Norrtälje sjukhus", LOCAL, 4, True),
    ("03", 1, "Akademiska sjukhuset", UNIVERSITY, 1, True),
    ("04", 1, "Mälarsjukhuset", CENTRAL, 5, True),
    ("04", 2, "Kullbergska sjukhuset", LOCAL, 2, True),
    ("04", 3, "Nyköpings lasarett", LOCAL, 3, True),
    ("05", 1, "Universitetssjukhuset i Linköping", UNIVERSITY, 5, True),
    ("05", 2, "Vrinnevisjukhuset", CENTRAL, 3.5, True),
    ("05", 3, "Lasarettet i Motala", LOCAL, 1.5, True),
    ("06", 1, "Länssjukhuset Ryhov", CENTRAL, 5.5, True),
    ("06", 2, "Höglandssjukhuset Eksjö", LOCAL, 2.5, True),
    ("06", 3, "Värnamo sjukhus", LOCAL, 2, True),
    ("07", 1, "Centrallasarettet Växjö", CENTRAL, 3, True),
    ("07", 2, "Ljungby lasarett", LOCAL, 1, True),
    ("08", 1, "Länssjukhuset i Kalmar", CENTRAL, 3, True),
    ("08", 2, "Västerviks sjukhus", LOCAL, 1.2, True),
    ("09", 1, "Visby lasarett", CENTRAL, 1, True),
    ("10", 1, "Blekingesjukhuset Karlskrona", CENTRAL, 3, True),
    ("10", 2, "Blekingesjukhuset Karlshamn", LOCAL, 1, True),
    ("12", 1, "Skånes universitetssjukhus Lund", UNIVERSITY, 8, True),
    ("12", 2, "Skånes universitetssjukhus Malmö", UNIVERSITY, 7, True),
    ("12", 3, "Helsingborgs lasarett", CENTRAL, 5, True),
    ("12", 4, "Centralsjukhuset Kristianstad", CENTRAL, 4, True),
    ("12", 5, "Ystads lasarett", LOCAL, 1.6, True),
    ("12", 6, "Trelleborgs lasarett", LOCAL, 1.2, True),
    ("12", 7, "Hässleholms sjukhus", LOCAL, 1.2, True),
    ("13", 1, "Hallands sjukhus Halmstad", CENTRAL, 3, True),
    ("13", 2, "Hallands sjukhus Varberg", LOCAL, 2, True),
    ("14", 1, "Sahlgrenska Universitetssjukhuset, Sahlgrenska", UNIVERSITY, 12, True),
    ("14", 2, "Sahlgrenska Universitetssjukhuset, Östra", CENTRAL, 6, True),
    ("14", 3, "Sahlgrenska Universitetssjukhuset, Mölndal", LOCAL, 4, True),
    ("14", 4, "NÄL, Norra Älvsborgs länssjukhus", CENTRAL, 5, True),
    ("14", 5, "Skaraborgs sjukhus Skövde", CENTRAL, 5, True),
    ("14", 6, "Södra Älvsborgs sjukhus Borås", CENTRAL, 5, True),
    ("14", 7, "Alingsås lasarett", LOCAL, 1.6, True),
    ("14", 8, "Kungälvs sjukhus", LOCAL, 2, True),
    ("17", 1, "Centralsjukhuset i Karlstad", CENTRAL, 4, True),
    ("17", 2, "Arvika sjukhus", LOCAL, 0.8, True),
    ("17", 3, "Torsby sjukhus", LOCAL, 0.6, True),
    ("18", 1, "Universitetssjukhuset Örebro", UNIVERSITY, 4, True),
    ("18", 2, "Karlskoga lasarett", LOCAL, 1, True),
    ("18", 3, "Lindesbergs lasarett", LOCAL, 0.8, True),
    ("19", 1, "Västmanlands sjukhus Västerås", CENTRAL, 5, True),
    ("19", 2, "Västmanlands sjukhus Köping", LOCAL, 0.8, False),
    ("20", 1, "Falu lasarett", CENTRAL, 4, True),
    ("20", 2, "Mora lasarett", LOCAL, 1.3, True),
    ("21", 1, "Gävle sjukhus", CENTRAL, 3, True),
    ("21", 2, "Hudiksvalls sjukhus", LOCAL, 1.3, True),
    ("22", 1, "Sundsvalls sjukhus", CENTRAL, 4, True),
    ("22", 2, "Örnsköldsviks sjukhus", LOCAL, 1.3, True),
    ("22", 3, "Sollefteå sjukhus", LOCAL, 0.6, True),
    ("23", 1, "Östersunds sjukhus", CENTRAL, 1, True),
    ("24", 1, "Norrlands universitetssjukhus", UNIVERSITY, 4, True),
    ("24", 2, "Skellefteå lasarett", LOCAL, 1.2, True),
    ("24", 3, "Lycksele lasarett", LOCAL, 0.5, True),
    ("25", 1, "Sunderby sjukhus", CENTRAL, 3.5, True),
    ("25", 2, "Gällivare sjukhus", LOCAL, 0.8, True),
    ("25", 3, "Kalix sjukhus", LOCAL, 0.5, True),
    ("25", 4, "Kiruna sjukhus", LOCAL, 0.5, True),
    ("25", 5, "Piteå älvdals sjukhus", LOCAL, 0.8, False),
)


@dataclass(frozen=True)
class Specialty:
    code: str  # 3 letters, part of the ward id: never change for an existing specialty
    specialty: str  # the ``specialty`` field (API filter value)
    label: str  # Swedish ward name
    care_type: CareType
    size: tuple[int, int]  # typical available beds of one ward (low, high)
    interval_s: int  # expected reporting interval


def _s(
    code: str, specialty: str, label: str, care_type: CareType, lo: int, hi: int, interval: int
) -> Specialty:
    return Specialty(code, specialty, label, care_type, (lo, hi), interval)


A, P, I, Y, C = (  # noqa: E741 - one letter per care type keeps the table readable
    CareType.SOMATIC_ACUTE,
    CareType.SOMATIC_PLANNED,
    CareType.INTENSIVE_CARE,
    CareType.PSYCHIATRY,
    CareType.PAEDIATRIC,
)
SPECIALTIES = {
    s.code: s
    for s in (
        _s("AVA", "acute_medicine", "Akutvårdsavdelning", A, 14, 24, 900),
        _s("MED", "internal_medicine", "Medicinavdelning", A, 18, 28, 1800),
        _s("KAR", "cardiology", "Kardiologavdelning", A, 16, 24, 1800),
        _s("HIA", "cardiology", "Hjärtintensivavdelning (HIA)", A, 8, 14, 900),
        _s("NEU", "neurology", "Neurologi- och strokeavdelning", A, 16, 26, 1800),
        _s("GER", "geriatrics", "Geriatrisk avdelning", A, 18, 28, 1800),
        _s("INF", "infectious_diseases", "Infektionsavdelning", A, 14, 24, 1800),
        _s("LUN", "pulmonology", "Lungavdelning", A, 14, 22, 1800),
        _s("GAS", "gastroenterology", "Mag- och tarmavdelning", A, 14, 22, 1800),
        _s("HEM", "haematology", "Hematologavdelning", A, 12, 20, 1800),
        _s("ONK", "oncology", "Onkologavdelning", A, 14, 22, 1800),
        _s("NJU", "nephrology", "Njurmedicinsk avdelning", A, 12, 18, 1800),
        _s("KIR", "surgery", "Kirurgavdelning", A, 18, 28, 1800),
        _s("ORT", "orthopaedics", "Ortopedavdelning", A, 18, 28, 1800),
        _s("URO", "urology", "Urologavdelning", A, 14, 22, 1800),
        _s("ONH", "ent", "Öron-, näs- och halsavdelning", A, 10, 16, 1800),
        _s("KVI", "obstetrics_gynaecology", "BB- och kvinnoavdelning", A, 14, 26, 1800),
        _s("PAL", "palliative_care", "Palliativ avdelning", A, 10, 16, 3600),
        _s("PLK", "planned_surgery", "Planerad kirurgi", P, 14, 24, 3600),
        _s("PLO", "planned_orthopaedics", "Planerad ortopedi", P, 14, 24, 3600),
        _s("REH", "rehabilitation", "Rehabiliteringsavdelning", P, 12, 20, 3600),
        _s("IVA", "intensive_care", "Intensivvårdsavdelning (IVA)", I, 4, 20, 900),
        _s("NIV", "neuro_intensive_care", "Neurointensivvårdsavdelning (NIVA)", I, 6, 12, 900),
        _s("TIV", "thoracic_intensive_care", "Thoraxintensivvårdsavdelning (TIVA)", I, 6, 12, 900),
        _s("PSY", "general_psychiatry", "Allmänpsykiatrisk avdelning", Y, 12, 20, 3600),
        _s(
            "PIA",
            "psychiatric_intensive_care",
            "Psykiatrisk intensivvårdsavdelning",
            Y,
            8,
            14,
            3600,
        ),
        _s(
            "BUP",
            "child_adolescent_psychiatry",
            "Barn- och ungdomspsykiatrisk avdelning",
            Y,
            6,
            12,
            3600,
        ),
        _s("BAR", "paediatrics", "Barnavdelning", C, 12, 24, 1800),
        _s("NEO", "neonatology", "Neonatalavdelning", C, 10, 20, 1800),
    )
}

# Share of a hospital's available beds per care type, and which specialties share them
# (relative weights). Intensive care is sized separately (ICU_BEDS): it does not scale
# with the hospital as smoothly (about 560 beds nationally, DOMAIN.md).
MIX: dict[str, dict[CareType, tuple[float, dict[str, float]]]] = {
    UNIVERSITY: {
        A: (
            0.64,
            {
                "AVA": 1,
                "MED": 3,
                "KAR": 1.5,
                "HIA": 0.6,
                "NEU": 1.2,
                "GER": 1,
                "INF": 1,
                "LUN": 0.8,
                "GAS": 0.8,
                "HEM": 0.8,
                "ONK": 1,
                "NJU": 0.6,
                "KIR": 2.5,
                "ORT": 2,
                "URO": 0.8,
                "ONH": 0.5,
                "KVI": 1.5,
                "PAL": 0.4,
            },
        ),
        P: (0.10, {"PLK": 1, "PLO": 1, "REH": 0.8}),
        Y: (0.16, {"PSY": 3, "PIA": 1, "BUP": 0.6}),
        C: (0.08, {"BAR": 2, "NEO": 1}),
    },
    CENTRAL: {
        A: (
            0.66,
            {
                "AVA": 1,
                "MED": 3,
                "KAR": 1,
                "HIA": 0.5,
                "NEU": 1,
                "GER": 1,
                "INF": 0.8,
                "LUN": 0.4,
                "ONK": 0.5,
                "KIR": 2,
                "ORT": 1.6,
                "URO": 0.5,
                "KVI": 1.2,
                "PAL": 0.3,
            },
        ),
        P: (0.09, {"PLK": 1, "PLO": 1, "REH": 0.6}),
        Y: (0.17, {"PSY": 3, "PIA": 0.8, "BUP": 0.4}),
        C: (0.06, {"BAR": 2, "NEO": 1}),
    },
    LOCAL: {
        A: (0.78, {"MED": 3, "GER": 1, "KIR": 1.5, "ORT": 1, "KVI": 0.8}),
        P: (0.10, {"PLK": 1, "PLO": 1}),
        Y: (0.12, {"PSY": 1}),
    },
}
# Typical ICU beds per ward kind by hospital class (one ward each).
ICU_BEDS: dict[str, dict[str, int]] = {
    UNIVERSITY: {"IVA": 12, "NIV": 7, "TIV": 7},
    CENTRAL: {"IVA": 8},
    LOCAL: {"IVA": 5},
}
# Hospitals without an intensive care unit (their patients go to the central hospital).
NO_ICU = frozenset(
    {"SE2321000255-H006", "SE2321000255-H007", "SE2321000172-H002", "SE2321000230-H005"}
)
# Below these sizes a local hospital has no ward of that kind (small hospitals send
# children, psychiatric and maternity patients to the central hospital).
LOCAL_MINIMUM = {"PSY": 130, "KVI": 90, "PLK": 110, "PLO": 90, "ORT": 70}


@dataclass(frozen=True)
class WardRow:
    ward_id: str
    hospital_id: str
    name: str
    care_type: str
    specialty: str
    physical_beds: int
    typical_available_beds: int
    reporting_interval_s: int


def _split(total: int, size: tuple[int, int], rng: random.Random) -> list[int]:
    """Split ``total`` beds into wards of about ``size``; sums exactly to ``total``."""
    lo, hi = size
    target = (lo + hi) / 2
    count = max(1, round(total / target))
    while count > 1 and total / count < lo * 0.8:
        count -= 1
    while total / count > hi * 1.15:
        count += 1
    base = [total // count + (1 if i < total % count else 0) for i in range(count)]
    # Jitter pairs of wards (one gains what the other loses) so the total stays exact.
    for i in range(0, count - 1, 2):
        shift = rng.randint(-2, 2)
        if base[i] + shift >= 4 and base[i + 1] - shift >= 4:
            base[i] += shift
            base[i + 1] -= shift
    return base


def _largest_remainder(total: int, weights: dict[_K, float]) -> dict[_K, int]:
    """Integer shares of ``total`` proportional to ``weights`` that sum exactly to it."""
    weight_sum = sum(weights.values())
    exact = {key: total * weight / weight_sum for key, weight in weights.items()}
    shares = {key: int(value) for key, value in exact.items()}
    by_remainder = sorted(exact, key=lambda key: (shares[key] - exact[key], key))
    for key in by_remainder[: total - sum(shares.values())]:
        shares[key] += 1
    return shares


def _smallest_ward(code: str) -> float:
    return SPECIALTIES[code].size[0] * 0.75


def _specialty_beds(total: int, weights: dict[str, float]) -> dict[str, int]:
    """Beds per specialty; a specialty too small for one ward is dropped and its beds go
    to the others, so the hospital's total is kept."""
    eligible = dict(weights)
    while True:
        shares = _largest_remainder(total, eligible)
        too_small = [code for code, beds in shares.items() if beds < _smallest_ward(code)]
        if not too_small or len(eligible) == 1:
            return shares
        del eligible[min(too_small, key=lambda code: (eligible[code], code))]


def _hospital_wards(hospital_id: str, kind: str, beds: int, rng: random.Random) -> list[WardRow]:
    icu = {} if hospital_id in NO_ICU else ICU_BEDS[kind]
    allocation = {code: icu_beds + rng.randint(-1, 1) for code, icu_beds in icu.items()}
    rest = beds - sum(allocation.values())
    mix = {
        care_type: {
            code: weight
            for code, weight in weights.items()
            if kind != LOCAL or beds >= LOCAL_MINIMUM.get(code, 0)
        }
        for care_type, (_share, weights) in MIX[kind].items()
    }
    budgets = _largest_remainder(
        rest, {care_type: share for care_type, (share, _w) in MIX[kind].items()}
    )
    # A care type too small for one ward here is cared for on the acute wards.
    for care_type, weights in mix.items():
        if care_type is CareType.SOMATIC_ACUTE:
            continue
        if not weights or budgets[care_type] < min(_smallest_ward(c) for c in weights):
            budgets[CareType.SOMATIC_ACUTE] += budgets.pop(care_type)
    for care_type, budget in budgets.items():
        allocation.update(_specialty_beds(budget, mix[care_type]))
    rows: list[WardRow] = []
    for code, specialty_beds in allocation.items():
        spec = SPECIALTIES[code]
        sizes = _split(specialty_beds, spec.size, rng)
        for ordinal, available in enumerate(sizes, start=1):
            # Physical beds exceed staffed ones: beds stand closed for want of staff.
            closed = max(1, round(available * rng.uniform(0.04, 0.22)))
            suffix = f" {ordinal}" if len(sizes) > 1 else ""
            rows.append(
                WardRow(
                    ward_id=f"{hospital_id}{code}{ordinal}",
                    hospital_id=hospital_id,
                    name=f"{spec.label}{suffix}",
                    care_type=spec.care_type.value,
                    specialty=spec.specialty,
                    physical_beds=available + closed,
                    typical_available_beds=available,
                    reporting_interval_s=spec.interval_s,
                )
            )
    return rows


def build() -> dict[str, str]:
    """The three files' contents by file name."""
    scale = NATIONAL_AVAILABLE / sum(r[4] for r in REGIONS)
    org = {r[0]: r[6] for r in REGIONS}
    regions = io.StringIO()
    writer = csv.writer(regions, lineterminator="\n")
    writer.writerow(["code", "letters", "name", "population", "sparse"])
    for code, letters, name, population, _beds, sparse, _org in REGIONS:
        writer.writerow([code, letters, name, population, str(sparse).lower()])

    hospitals = io.StringIO()
    writer = csv.writer(hospitals, lineterminator="\n")
    writer.writerow(["hospital_id", "name", "region_code", "emergency"])
    wards: list[WardRow] = []
    for code, _letters, _name, _population, beds_2015, _sparse, _org in REGIONS:
        members = [h for h in HOSPITALS if h[0] == code]
        weight_sum = sum(h[4] for h in members)
        for _code, number, name, kind, weight, emergency in members:
            hospital_id = f"SE{org[code]}-H{number:03d}"
            writer.writerow([hospital_id, name, code, str(emergency).lower()])
            beds = round(beds_2015 * scale * weight / weight_sum)
            rng = random.Random(hospital_id)
            wards += _hospital_wards(hospital_id, kind, beds, rng)

    ward_out = io.StringIO()
    writer = csv.writer(ward_out, lineterminator="\n")
    fields = list(WardRow.__dataclass_fields__)
    writer.writerow(fields)
    for ward in wards:
        writer.writerow([getattr(ward, f) for f in fields])
    return {
        "regions.csv": regions.getvalue(),
        "hospitals.csv": hospitals.getvalue(),
        "wards.csv": ward_out.getvalue(),
    }


def main(argv: list[str]) -> int:
    check = "--check" in argv
    drift = []
    for name, content in build().items():
        path = OUT_DIR / name
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != content:
                drift.append(name)
        else:
            path.write_text(content, encoding="utf-8")
    if drift:
        print(f"reference data differs from build_reference.py output: {', '.join(drift)}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
