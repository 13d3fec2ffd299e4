"""The national wall view in real headless Chromium, against the fake backend."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.fixtures.waiting import wait_for
from tests.ui.conftest import REPO, screenshot
from tests.ui.fake_backend import TOKEN, FakeBackend, subscribed_since
from tests.ui.fake_data import FakeWorld, alert

pytestmark = pytest.mark.browser

OpenPage = Callable[..., Any]


def wait_tiles(page: Any) -> None:
    page.wait_for_function(
        "document.querySelectorAll('.tile[data-level]:not([data-level=\"\"])').length === 21",
        timeout=10_000,
    )


def tile(page: Any, code: str) -> Any:
    return page.locator(f'.tile[data-region="{code}"]')


def test_wall_renders_21_tiles_without_scrolling(backend: FakeBackend, open_page: OpenPage) -> None:
    page = open_page(f"{backend.url}/")
    wait_tiles(page)
    assert page.locator(".tile").count() == 21
    # Sparklines come from the history API.
    page.wait_for_function(
        "document.querySelectorAll('.tile .spark-line').length === 21", timeout=10_000
    )
    # National figures, care types and the ticker are filled in.
    assert page.locator("#fig-available").inner_text().replace("\u00a0", " ") != "–"
    assert page.locator(".care-row").count() == 5
    page.wait_for_function(
        "document.querySelectorAll('#alert-ticker .ticker-item').length === 5", timeout=10_000
    )
    times = page.locator("#alert-ticker .ticker-item time").evaluate_all(
        "els => els.map(e => e.dateTime)"
    )
    assert times == sorted(times, reverse=True), "ticker is newest first"
    # Every tile says its level with a number, not only a colour.
    nums = page.locator(".tile .badge-num").all_inner_texts()
    assert all(n in {"1", "2", "3", "4"} for n in nums)
    assert tile(page, "12").get_attribute("data-level") == "3"
    # A room display: the page fits 1920x1080 exactly.
    assert page.evaluate("document.documentElement.scrollHeight <= innerHeight")
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    # The token left the address bar and lives in sessionStorage.
    assert "token=" not in page.url
    assert page.evaluate("sessionStorage.getItem('capmon.token')") == TOKEN
    assert page.locator("#connection").get_attribute("data-state") == "open"
    assert page.console_errors == []
    path = screenshot(page, "wall-normal.png")
    (REPO / "docs").mkdir(exist_ok=True)
    shutil.copyfile(path, REPO / "docs" / "wall.png")


def test_tile_level_and_number_change_within_two_seconds(
    backend: FakeBackend, world: FakeWorld, open_page: OpenPage
) -> None:
    page = open_page(f"{backend.url}/")
    wait_tiles(page)
    assert tile(page, "12").get_attribute("data-level") == "3"
    backend.push(
        world.region_rollup(
            "12", occupancy=1.15, version=2, as_of=datetime.now(UTC), declared="stabslage"
        )
    )
    page.wait_for_function(
        """() => {
          const t = document.querySelector('.tile[data-region="12"]');
          return t.dataset.level === '4' && t.querySelector('.badge-num').textContent === '4'
            && t.querySelector('.tile-occ').textContent.replace(/\\s/g, ' ') === '115 %';
        }""",
        timeout=2_000,
    )
    assert "lvl-4" in (tile(page, "12").get_attribute("class") or "")
    assert "nivå 4 Allvarligt" in tile(page, "12").text_content()
    # The matching alert escalation heads the ticker.
    backend.push(
        alert(
            "region:12",
            "all",
            4,
            occurred_at=datetime.now(UTC),
            message="Beläggning 115 % i Region Skåne (mål 87 %)",
            region_code="12",
            seed=0,
            state="escalated",
            sequence=2,
        )
    )
    page.wait_for_function(
        "document.querySelector('#alert-ticker .ticker-item .badge-num').textContent === '4'",
        timeout=2_000,
    )
    screenshot(page, "wall-level4.png")


def test_stale_mark_when_data_gets_old_or_coverage_drops(
    backend: FakeBackend, world: FakeWorld, open_page: OpenPage
) -> None:
    # Allow 6 s of age so the test can watch a fresh value turn stale by the clock alone.
    page = open_page(f"{backend.url}/?stale_after=6")
    now = datetime.now(UTC)
    backend.push(world.region_rollup("07", occupancy=0.8, version=2, as_of=now))
    wait_tiles(page)
    page.wait_for_function(
        "document.querySelector('.tile[data-region=\"07\"]').dataset.stale === 'false'",
        timeout=5_000,
    )
    # Nothing more arrives for Kronoberg: soon it must be marked, not shown as current.
    page.wait_for_function(
        "document.querySelector('.tile[data-region=\"07\"]').dataset.stale === 'true'",
        timeout=10_000,
    )
    label = tile(page, "07").locator(".tile-stale")
    assert label.is_visible()
    assert label.inner_text().lower().startswith("inaktuell")

    # Coverage: Östergötland's wards stop reporting (2 of 10 report) while the data is new.
    backend.push(
        world.region_rollup(
            "05", occupancy=0.8, version=2, as_of=datetime.now(UTC), wards_reporting=2
        )
    )
    # (Every other tile is stale by age here: this one must say why it is stale now.)
    page.wait_for_function(
        """() => {
          const t = document.querySelector('.tile[data-region="05"]');
          return t.dataset.stale === 'true'
            && t.querySelector('.tile-stale').textContent.toLowerCase().includes('låg täckning');
        }""",
        timeout=2_000,
    )
    assert tile(page, "05").locator(".tile-stale").is_visible()
    assert "inaktuella data" in tile(page, "05").text_content()


def test_old_data_is_marked_stale_on_first_load(
    backend: FakeBackend, world: FakeWorld, open_page: OpenPage
) -> None:
    old = datetime.now(UTC) - timedelta(minutes=42)
    backend.push(world.region_rollup("23", occupancy=0.7, version=2, as_of=old))
    page = open_page(f"{backend.url}/")
    wait_tiles(page)
    assert tile(page, "23").get_attribute("data-stale") == "true"
    assert "42 min" in tile(page, "23").locator(".tile-stale").inner_text().lower()
    assert tile(page, "01").get_attribute("data-stale") == "false"


def test_connection_indicator_shows_loss_and_recovers_with_resubscription(
    backend: FakeBackend, world: FakeWorld, open_page: OpenPage
) -> None:
    page = open_page(f"{backend.url}/")
    wait_tiles(page)
    conn = page.locator("#connection")
    page.wait_for_function(
        "document.querySelector('#connection').dataset.state === 'open'", timeout=5_000
    )
    before = len(backend.subscribe_log)
    assert {"nation", "alerts"} <= subscribed_since(backend, 0)

    backend.stop()
    page.wait_for_function(
        "document.querySelector('#connection').dataset.state === 'reconnecting'", timeout=5_000
    )
    assert "Frånkopplad" in conn.inner_text()

    backend.start()
    page.wait_for_function(
        "document.querySelector('#connection').dataset.state === 'open'", timeout=20_000
    )
    assert "Ansluten" in conn.inner_text()
    wait_for(
        lambda: {"nation", "alerts"} <= subscribed_since(backend, before),
        timeout=5,
        what="the page to subscribe again after reconnecting",
    )
    # And the new subscription works: a push after the restart reaches the tile.
    backend.push(world.region_rollup("01", occupancy=1.12, version=3, as_of=datetime.now(UTC)))
    page.wait_for_function(
        "document.querySelector('.tile[data-region=\"01\"]').dataset.level === '4'", timeout=2_000
    )


def test_language_switch_changes_labels_and_is_remembered(
    backend: FakeBackend, open_page: OpenPage
) -> None:
    page = open_page(f"{backend.url}/")
    wait_tiles(page)
    assert page.locator(".page-title").inner_text() == "Nationell lägesbild – vårdplatser"
    assert page.locator(".fig-available .fig-label").inner_text() == "Disponibla vårdplatser"
    assert "lediga" in tile(page, "01").locator(".tile-free").inner_text()
    page.locator("#lang-switch").click()
    page.wait_for_function("document.documentElement.lang === 'en'", timeout=2_000)
    assert page.locator(".page-title").inner_text() == "National overview – hospital beds"
    assert page.locator(".fig-available .fig-label").inner_text() == "Available beds"
    assert "free" in tile(page, "01").locator(".tile-free").inner_text()
    assert page.locator("#lang-switch").inner_text() == "Svenska"
    # English number format: a comma groups thousands.
    assert "," in page.locator("#fig-available").inner_text()
    page.reload()
    wait_tiles(page)
    assert page.locator(".page-title").inner_text() == "National overview – hospital beds"


def test_kiosk_mode_cycles_through_regions(backend: FakeBackend, open_page: OpenPage) -> None:
    page = open_page(f"{backend.url}/?kiosk=5")
    wait_tiles(page)
    panel = page.locator("#kiosk-focus")
    page.wait_for_function(
        "document.querySelector('#kiosk-focus').dataset.region === '01'", timeout=5_000
    )
    assert panel.is_visible()
    assert "Region Stockholm" in panel.inner_text()
    assert "is-focus" in (tile(page, "01").get_attribute("class") or "")
    page.wait_for_function(
        "document.querySelector('#kiosk-focus').dataset.region === '03'", timeout=8_000
    )
    assert "Region Uppsala" in panel.inner_text()
    # The panel's region is subscribed, the previous one is let go.
    assert "region:03" in subscribed_since(backend, 0)
    assert page.evaluate("document.documentElement.scrollHeight <= innerHeight")
    screenshot(page, "wall-kiosk.png")


def test_login_form_when_no_token_is_given(backend: FakeBackend, open_page: OpenPage) -> None:
    page = open_page(f"{backend.url}/", token=False)
    dialog = page.locator("#login-dialog")
    dialog.wait_for(state="visible", timeout=5_000)
    page.locator("#login-token").fill(TOKEN)
    page.locator("#login-dialog button[type=submit]").click()
    wait_tiles(page)
    assert page.evaluate("sessionStorage.getItem('capmon.token')") == TOKEN
