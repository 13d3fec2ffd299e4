"""``capmon token``: create, list, revoke against the real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api import tokens
from api.auth import TokenStore, hash_token
from api.db import create_pool
from capmon.settings import Settings, get_settings
from tests.fixtures.stack import run_sync

pytestmark = pytest.mark.integration


@pytest.fixture
def cli_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """``main(argv)`` reads the environment, like the real command."""
    assert settings.database_url is not None
    monkeypatch.setenv("CAPMON_DATABASE_URL", settings.database_url.get_secret_value())
    monkeypatch.setenv("CAPMON_TOKEN_PEPPER", "test-pepper")
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


async def _lookup(settings: Settings, token: str) -> str | None:
    pool = create_pool(settings, min_size=1, max_size=1)
    await pool.open(wait=True)
    try:
        principal = await TokenStore(pool, settings.token_pepper).lookup(token)
        return str(principal.role) if principal is not None else None
    finally:
        await pool.close()


async def _stored_hashes(settings: Settings) -> list[str]:
    pool = create_pool(settings, min_size=1, max_size=1)
    await pool.open(wait=True)
    try:
        async with pool.connection() as conn:
            cur = await conn.execute("SELECT token_hash FROM api_tokens")
            return [row[0] for row in await cur.fetchall()]
    finally:
        await pool.close()


def test_create_list_revoke(cli_settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert tokens.main(["create", "--role", "region:01", "--name", "Region Stockholm"]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("cm_")
    assert run_sync(lambda: _lookup(cli_settings, token)) == "region:01"
    # only the peppered hash is stored
    assert run_sync(lambda: _stored_hashes(cli_settings)) == [
        hash_token(token, cli_settings.token_pepper)
    ]
    assert tokens.main(["list"]) == 0
    listed = capsys.readouterr().out
    assert "region:01\tRegion Stockholm" in listed
    assert token not in listed
    token_id = listed.split("\t", 1)[0]
    assert tokens.main(["revoke", token_id]) == 0
    assert run_sync(lambda: _lookup(cli_settings, token)) is None
    assert tokens.main(["revoke", token_id]) == 1


def test_invalid_role_is_refused(
    cli_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert tokens.main(["create", "--role", "emperor"]) == 2
    assert "not a role" in capsys.readouterr().err
