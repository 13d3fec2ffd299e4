"""Browser fixtures: Debian's chromium driven by Playwright (no `playwright install`).

The pages run against ``FakeBackend`` (tests/ui/fake_backend.py) until the real stack
serves them; the lead's end-to-end tests can reuse ``browser`` and ``open_page`` with a
real base URL.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.ui.fake_backend import TOKEN, FakeBackend
from tests.ui.fake_data import FakeWorld, build_world

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "artifacts" / "screenshots"
UI_TESTS = Path(__file__).resolve().parent
AXE_JS = UI_TESTS / "node_modules" / "axe-core" / "axe.min.js"
WALL_VIEWPORT = {"width": 1920, "height": 1080}


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get update && apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def world() -> FakeWorld:
    return build_world(datetime.now(UTC))


@pytest.fixture
def backend(world: FakeWorld) -> Iterator[FakeBackend]:
    fb = FakeBackend(world)
    fb.start()
    yield fb
    fb.stop()


@pytest.fixture
def open_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """open_page(url, token=True, viewport=...) -> a Playwright page; console errors are kept."""
    contexts: list[Any] = []

    def _open(
        url: str,
        *,
        token: bool = True,
        viewport: dict[str, int] | None = None,
        locale: str = "sv-SE",
    ) -> Any:
        # The screen's own time zone is UTC on purpose: the pages must show Stockholm time anyway.
        ctx = browser.new_context(
            viewport=viewport or WALL_VIEWPORT, timezone_id="UTC", locale=locale
        )
        contexts.append(ctx)
        page = ctx.new_page()
        page.console_errors = []
        page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
        page.on("pageerror", lambda e: page.console_errors.append(str(e)))
        sep = "&" if "?" in url else "?"
        page.goto(f"{url}{sep}token={TOKEN}" if token else url)
        return page

    yield _open
    for ctx in contexts:
        ctx.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core from the npm registry (tests/ui/package.json), installed on first use."""
    if not AXE_JS.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail("npm is needed to install axe-core (tests/ui/package.json)")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=UI_TESTS, check=True)
    return AXE_JS.read_text()


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path))
    return path
