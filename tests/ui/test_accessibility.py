"""axe-core (from the npm registry, see tests/ui/package.json) run inside each page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.ui.fake_backend import FakeBackend

pytestmark = pytest.mark.browser

PAGES = {
    "wall": ("/", "document.querySelectorAll('.tile[data-level=\"\"]').length === 0"),
    "wall-kiosk": (
        "/?kiosk=30",
        "document.querySelector('#kiosk-focus .focus-hospitals li') !== null",
    ),
    "region": ("/region/12", "document.querySelectorAll('#wards-table tbody tr').length > 0"),
    "search": ("/search", "document.querySelectorAll('#results-table tbody tr').length > 0"),
}


@pytest.mark.parametrize("name", list(PAGES))
def test_no_serious_accessibility_violations(
    name: str, backend: FakeBackend, open_page: Callable[..., Any], axe_source: str
) -> None:
    path, ready = PAGES[name]
    page = open_page(f"{backend.url}{path}")
    page.wait_for_function(ready, timeout=10_000)
    page.add_script_tag(content=axe_source)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes']][:5]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == [], "\n".join(serious)
