"""The region page and the free-bed search page in real headless Chromium."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.fixtures.waiting import wait_for
from tests.ui.conftest import screenshot
from tests.ui.fake_backend import FakeBackend
from tests.ui.fake_data import CountsIn, FakeWorld, ward_state

pytestmark = pytest.mark.browser

OpenPage = Callable[..., Any]


def wait_region(page: Any) -> None:
    page.wait_for_function(
        "document.querySelectorAll('#wards-table tbody tr').length >= 10"
        " && document.querySelectorAll('#hospitals-table tbody tr').length === 3",
        timeout=10_000,
    )


def column_numbers(page: Any, table: str, key: str) -> list[float]:
    texts = page.locator(f"#{table} tbody td[data-key={key}]").all_inner_texts()
    return [
        float(t.replace("\u00a0", "").replace(" ", "").replace("%", "").replace(",", "."))
        for t in texts
    ]


def test_region_page_lists_hospitals_wards_and_levels(
    backend: FakeBackend, open_page: OpenPage
) -> None:
    page = open_page(f"{backend.url}/region/12", viewport={"width": 1920, "height": 1400})
    wait_region(page)
    assert page.locator("#region-name").inner_text() == "Region Skåne (M)"
    # The declared preparedness level stands beside the computed level.
    assert page.locator("#computed-level .badge-num").inner_text() == "3"
    assert page.locator("#declared-level").inner_text() == "Stabsläge"
    names = page.locator("#hospitals-table tbody th").all_inner_texts()
    assert "Skånes universitetssjukhus Lund" in names
    headers = page.locator("#wards-table thead th").all_inner_texts()
    for label in (
        "Disponibla",
        "Belagda",
        "Lediga",
        "Beläggning",
        "Överbel.",
        "Utlok.",
        "Väntande",
    ):
        assert any(label in h for h in headers), label
    assert page.locator("#region-alerts .alert-item").count() == 1
    assert page.console_errors == []
    screenshot(page, "region.png")


def test_region_tables_sort_by_clicking_and_by_keyboard(
    backend: FakeBackend, open_page: OpenPage
) -> None:
    page = open_page(f"{backend.url}/region/12")
    wait_region(page)
    free_header = page.locator("#wards-table thead th[data-key=free]")
    free_header.locator("button").click()
    assert free_header.get_attribute("aria-sort") == "descending"
    values = column_numbers(page, "wards-table", "free")
    assert values == sorted(values, reverse=True)
    free_header.locator("button").click()
    assert free_header.get_attribute("aria-sort") == "ascending"
    values = column_numbers(page, "wards-table", "free")
    assert values == sorted(values)
    # Keyboard: the header is a button, Enter sorts by it.
    name_header = page.locator("#hospitals-table thead th[data-key=name]")
    name_header.locator("button").focus()
    page.keyboard.press("Enter")
    assert name_header.get_attribute("aria-sort") == "ascending"
    names = page.locator("#hospitals-table tbody th").all_inner_texts()
    assert names == sorted(names)
    assert (
        page.locator("#hospitals-table thead th[data-key=occupancy]").get_attribute("aria-sort")
        is None
    )


def test_alert_acknowledge_for_allowed_role(backend: FakeBackend, open_page: OpenPage) -> None:
    page = open_page(f"{backend.url}/region/12")
    wait_region(page)
    button = page.locator("#region-alerts .ack-btn")
    button.wait_for(state="visible", timeout=5_000)
    alert_id = button.get_attribute("data-alert-id")
    button.click()
    wait_for(lambda: backend.acks == [alert_id], timeout=5, what="the ack POST")
    page.locator("#region-alerts .ack-done").wait_for(state="visible", timeout=2_000)
    assert page.locator("#region-alerts .ack-btn").count() == 0


def test_no_acknowledge_button_for_referral_role(backend: FakeBackend, open_page: OpenPage) -> None:
    backend.role = "referral"
    page = open_page(f"{backend.url}/region/12")
    wait_region(page)
    page.locator("#region-alerts .alert-item").wait_for(state="visible", timeout=5_000)
    assert page.locator("#region-alerts .ack-btn").count() == 0


def test_region_page_updates_live_and_marks_stale_wards(
    backend: FakeBackend, world: FakeWorld, open_page: OpenPage
) -> None:
    page = open_page(f"{backend.url}/region/12")
    wait_region(page)
    ward = next(w for w in world.wards if w.region_code == "12")
    backend.push(
        ward_state(
            ward.ward_id,
            ward.hospital_id,
            "12",
            ward.care_type,
            ward.specialty,
            CountsIn(ward.beds, 0),
            as_of=datetime.now(UTC) - timedelta(minutes=30),
            version=5,
            stale=True,
        )
    )
    row = page.locator(f'#wards-table tbody tr[data-row-key="{ward.ward_id}"]')
    page.wait_for_function(
        f"""document.querySelector('#wards-table tbody tr[data-row-key="{ward.ward_id}"]')
              ?.classList.contains('is-stale')""",
        timeout=2_000,
    )
    assert "inaktuell" in row.locator("td[data-key=asof]").inner_text().lower()


def test_search_filters_and_freshness(
    backend: FakeBackend, world: FakeWorld, open_page: OpenPage
) -> None:
    # One Skåne ward has old data: it must carry the stale mark in the results.
    ward = next(w for w in world.wards if w.region_code == "12" and w.care_type == "somatic_acute")
    backend.push(
        ward_state(
            ward.ward_id,
            ward.hospital_id,
            "12",
            ward.care_type,
            ward.specialty,
            CountsIn(ward.beds, ward.beds - 7),
            as_of=datetime.now(UTC) - timedelta(minutes=25),
            version=5,
        )
    )
    page = open_page(f"{backend.url}/search")
    page.wait_for_function(
        "document.querySelectorAll('#results-table tbody tr').length > 10", timeout=10_000
    )
    page.select_option("#f-region", "12")
    page.select_option("#f-care-type", "somatic_acute")
    page.fill("#f-min-free", "2")
    page.locator(".search-form button[type=submit]").click()
    page.wait_for_function(
        """[...document.querySelectorAll('#results-table tbody td[data-key=region]')]
             .every(td => td.textContent === 'Skåne')""",
        timeout=5_000,
    )
    assert "region=12" in page.url
    assert "care_type=somatic_acute" in page.url
    rows = page.locator("#results-table tbody tr")
    assert rows.count() >= 1
    stale_row = page.locator(f'#results-table tbody tr[data-row-key="{ward.ward_id}"]')
    assert "is-stale" in (stale_row.get_attribute("class") or "")
    assert "inaktuell" in stale_row.locator("td[data-key=age]").inner_text().lower()
    assert "25 min" in stale_row.locator("td[data-key=age]").inner_text()
    free = [
        int(t) for t in page.locator("#results-table tbody td[data-key=free]").all_inner_texts()
    ]
    assert free == sorted(free, reverse=True)
    assert min(free) >= 2
    # Freshness filter: at most 10 minutes old drops the stale ward.
    page.select_option("#f-max-staleness", "600")
    page.locator(".search-form button[type=submit]").click()
    page.wait_for_function(
        f"""!document.querySelector('#results-table tbody tr[data-row-key="{ward.ward_id}"]')""",
        timeout=5_000,
    )
    assert page.console_errors == []
    screenshot(page, "search.png")
