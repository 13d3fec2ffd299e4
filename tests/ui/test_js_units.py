"""Run the UI's pure-module unit tests (tests/ui/unit/*.test.mjs) with node's test runner."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

UNIT_DIR = Path(__file__).resolve().parent / "unit"


def test_pure_ui_modules_pass_node_tests() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is needed for the UI unit tests")
    files = sorted(str(p) for p in UNIT_DIR.glob("*.test.mjs"))
    assert files, "no UI unit tests found"
    result = subprocess.run(
        [node, "--test", *files], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "# fail 0" in result.stdout
