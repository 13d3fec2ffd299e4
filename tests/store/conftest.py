"""Fixtures of the store tests: a migrated fresh database (integration tests only)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest

from store.migrate import migrate
from tests.store.private_postgres import PrivatePostgres


@pytest.fixture
def migrated_url(fresh_database_url: str) -> str:
    migrate(fresh_database_url)
    return fresh_database_url


@pytest.fixture
async def aconn(migrated_url: str) -> AsyncIterator[psycopg.AsyncConnection[tuple[object, ...]]]:
    async with await psycopg.AsyncConnection.connect(migrated_url, autocommit=True) as conn:
        await conn.execute("SET TimeZone = 'UTC'")
        yield conn


@pytest.fixture
def private_postgres(tmp_path: Path) -> Iterator[PrivatePostgres]:
    """A PostgreSQL server of this test's own, which the test may stop and start."""
    server = PrivatePostgres(tmp_path / "private-postgres")
    server.start()
    try:
        yield server
    finally:
        server.stop()
