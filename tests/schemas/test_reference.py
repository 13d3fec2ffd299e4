"""Reference data: regions, hospitals and wards (schemas.reference, schemas/data/)."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from functools import cache
from pathlib import Path

import pytest

from schemas.data import build_reference
from schemas.reference import (
    DATA_DIR,
    Hospital,
    ReferenceData,
    ReferenceDataError,
    Region,
    Ward,
    load_reference,
)
from schemas.types import CareType

# DOMAIN.md, "The 21 regions": code, letters, name, population.
DOMAIN_REGIONS = [
    ("01", "AB", "Region Stockholm", 2_473_000),
    ("03", "C", "Region Uppsala", 405_000),
    ("04", "D", "Region Sörmland", 302_000),
    ("05", "E", "Region Östergötland", 470_000),
    ("06", "F", "Region Jönköpings län", 369_000),
    ("07", "G", "Region Kronoberg", 204_000),
    ("08", "H", "Region Kalmar län", 247_000),
    ("09", "I", "Region Gotland", 61_000),
    ("10", "K", "Region Blekinge", 157_000),
    ("12", "M", "Region Skåne", 1_415_000),
    ("13", "N", "Region Halland", 344_000),
    ("14", "O", "Västra Götalandsregionen", 1_763_000),
    ("17", "S", "Region Värmland", 284_000),
    ("18", "T", "Region Örebro län", 307_000),
    ("19", "U", "Region Västmanland", 280_000),
    ("20", "W", "Region Dalarna", 287_000),
    ("21", "X", "Region Gävleborg", 287_000),
    ("22", "Y", "Region Västernorrland", 244_000),
    ("23", "Z", "Region Jämtland Härjedalen", 132_000),
    ("24", "AC", "Region Västerbotten", 276_000),
    ("25", "BD", "Region Norrbotten", 248_000),
]
# DOMAIN.md's 2015 available beds per region (SKL), for the shape of today's data.
BEDS_2015 = {
    "01": 5163, "03": 923, "04": 685, "05": 998, "06": 878, "07": 561, "08": 650,
    "09": 147, "10": 415, "12": 2974, "13": 672, "14": 4032, "17": 654, "18": 729,
    "19": 638, "20": 732, "21": 601, "22": 672, "23": 316, "24": 774, "25": 669,
}  # fmt: skip
HSA_ID = re.compile(r"^SE[0-9]{10}-[0-9A-Z]{4,12}$")


@cache
def reference() -> ReferenceData:
    return load_reference()


def test_regions_match_domain() -> None:
    regions = reference().regions
    assert [(r.code, r.letters, r.name, r.population) for r in regions.values()] == (DOMAIN_REGIONS)


def test_sparse_regions_are_the_large_northern_ones_and_gotland() -> None:
    sparse = {r.name for r in reference().regions.values() if r.sparse}
    assert sparse == {
        "Region Gotland",
        "Region Dalarna",
        "Region Västernorrland",
        "Region Jämtland Härjedalen",
        "Region Västerbotten",
        "Region Norrbotten",
    }


def test_every_ward_has_a_hospital_and_every_hospital_a_region() -> None:
    ref = reference()
    assert all(w.hospital_id in ref.hospitals for w in ref.wards.values())
    assert all(h.region_code in ref.regions for h in ref.hospitals.values())
    # and every hospital has wards, every region hospitals
    assert all(ref.wards_of_hospital(hid) for hid in ref.hospitals)
    assert all(ref.hospitals_of_region(code) for code in ref.regions)


def test_ids_are_hsa_style_and_prefixed_by_their_parent() -> None:
    ref = reference()
    for hospital in ref.hospitals.values():
        assert HSA_ID.match(hospital.hospital_id)
    for ward in ref.wards.values():
        assert HSA_ID.match(ward.ward_id)
        assert ward.ward_id.startswith(ward.hospital_id)


def test_hospitals_are_the_emergency_hospitals_of_sweden() -> None:
    hospitals = list(reference().hospitals.values())
    emergency = [h for h in hospitals if h.emergency]
    assert 60 <= len(emergency) <= 70
    per_region = Counter(h.region_code for h in emergency)
    assert all(per_region[code] >= 1 for code, *_ in DOMAIN_REGIONS)
    assert all(per_region[code] >= 6 for code in ("01", "12", "14"))  # DOMAIN.md
    names = {h.name for h in hospitals}
    for known in (
        "Karolinska Universitetssjukhuset Solna",
        "Karolinska Universitetssjukhuset Huddinge",
        "Danderyds sjukhus",
        "Södersjukhuset",
        "Akademiska sjukhuset",
        "Sahlgrenska Universitetssjukhuset, Sahlgrenska",
        "Skånes universitetssjukhus Lund",
        "Norrlands universitetssjukhus",
        "Sunderby sjukhus",
        "Visby lasarett",
    ):
        assert known in names


def test_totals_are_realistic_for_sweden_today() -> None:
    wards = list(reference().wards.values())
    available = sum(w.typical_available_beds for w in wards)
    assert 17_000 <= available <= 20_000  # about 1.75 per 1,000 inhabitants
    icu = sum(w.typical_available_beds for w in wards if w.care_type is CareType.INTENSIVE_CARE)
    assert 500 <= icu <= 650  # 526 before 2020, 645 in March 2021
    assert all(w.physical_beds >= w.typical_available_beds for w in wards)
    assert set(CareType) == {w.care_type for w in wards}


def test_region_totals_follow_the_2015_shares() -> None:
    ref = reference()
    total_2015 = sum(BEDS_2015.values())
    total = sum(w.typical_available_beds for w in ref.wards.values())
    for code, beds_2015 in BEDS_2015.items():
        beds = sum(w.typical_available_beds for w in ref.wards_of_region(code))
        assert beds / total == pytest.approx(beds_2015 / total_2015, rel=0.05), code


def test_ward_sizes_are_typical() -> None:
    wards = list(reference().wards.values())
    icu = [w.typical_available_beds for w in wards if w.care_type is CareType.INTENSIVE_CARE]
    other = [w.typical_available_beds for w in wards if w.care_type is not CareType.INTENSIVE_CARE]
    assert all(4 <= beds <= 20 for beds in icu)
    assert all(4 <= beds <= 35 for beds in other)
    assert sum(10 <= beds <= 30 for beds in other) / len(other) > 0.9
    assert all(w.reporting_interval_s in (900, 1800, 3600) for w in wards)


def test_checked_in_data_is_the_build_script_output() -> None:
    """Ward ids are stable: the files are exactly what the script generates."""
    assert build_reference.main(["--check"]) == 0


def test_lookups() -> None:
    ref = reference()
    ward = ref.wards["SE2321000016-H001MED1"]
    assert ref.hospital_of(ward.ward_id).name == "Karolinska Universitetssjukhuset Solna"
    assert ref.region_of(ward.ward_id).name == "Region Stockholm"
    assert ref.region_of_hospital(ward.hospital_id).code == "01"
    assert ward in ref.wards_of_hospital(ward.hospital_id)
    assert ward in ref.wards_of_region("01")
    assert ref.hospital_of(ward.ward_id) in ref.hospitals_of_region("01")
    with pytest.raises(KeyError):
        ref.hospital_of("SE2321000016-H001ZZZ1")


def _new_ward(**fields: object) -> Ward:
    values: dict[str, object] = {
        "ward_id": "SE2321000016-H001MED9",
        "hospital_id": "SE2321000016-H001",
        "name": "Medicinavdelning 9",
        "care_type": CareType.SOMATIC_ACUTE,
        "specialty": "internal_medicine",
        "physical_beds": 18,
        "typical_available_beds": 16,
        "reporting_interval_s": 1800,
    }
    values.update(fields)
    return Ward.model_validate(values)


def test_with_ward_adds_or_changes_a_ward_in_a_copy() -> None:
    ref = reference()
    added = ref.with_ward(_new_ward())
    assert "SE2321000016-H001MED9" in added.wards
    assert "SE2321000016-H001MED9" not in ref.wards
    assert added.wards_of_hospital("SE2321000016-H001")[-1].name == "Medicinavdelning 9"
    assert len(added.wards_of_region("01")) == len(ref.wards_of_region("01")) + 1
    changed = added.with_ward(_new_ward(typical_available_beds=12))
    assert changed.wards["SE2321000016-H001MED9"].typical_available_beds == 12
    assert len(changed.wards) == len(added.wards)
    with pytest.raises(ReferenceDataError, match="unknown hospital"):
        ref.with_ward(_new_ward(hospital_id="SE2321000016-H999"))


def test_inconsistent_data_is_refused() -> None:
    region = Region(code="01", letters="AB", name="Region Stockholm", population=1, sparse=False)
    hospital = Hospital(hospital_id="SE2321000016-H001", name="H", region_code="02", emergency=True)
    with pytest.raises(ReferenceDataError, match="unknown region 02"):
        ReferenceData.from_records([region], [hospital], [])
    hospital = hospital.model_copy(update={"region_code": "01"})
    with pytest.raises(ReferenceDataError, match="duplicate hospital"):
        ReferenceData.from_records([region], [hospital, hospital], [])
    with pytest.raises(ReferenceDataError, match="unknown hospital"):
        ReferenceData.from_records([region], [], [_new_ward()])


def test_a_bad_row_names_its_file_and_line(tmp_path: Path) -> None:
    for name in ("regions.csv", "hospitals.csv", "wards.csv"):
        shutil.copy(DATA_DIR / name, tmp_path / name)
    wards = (tmp_path / "wards.csv").read_text(encoding="utf-8").splitlines()
    index = next(i for i, line in enumerate(wards) if ",somatic_acute," in line)
    wards[index] = wards[index].replace(",somatic_acute,", ",acute,")
    (tmp_path / "wards.csv").write_text("\n".join(wards) + "\n", encoding="utf-8")
    with pytest.raises(ReferenceDataError, match=rf"(?s)wards\.csv:{index + 1}: .*care_type"):
        load_reference(tmp_path)
