"""The API's database edge: the connection URL, the pool and the API-owned tables."""

from __future__ import annotations

from pathlib import Path

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from capmon.settings import Settings
from capmon.stack.postgres_config import local_database_url

SQL_DIR = Path(__file__).resolve().parent / "sql"
# Any constant shared by all replicas: concurrent startups apply the SQL one at a time.
_MIGRATION_LOCK = 0x6361706D6F6E4150  # "capmonAP"


def database_url(settings: Settings) -> str:
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    return local_database_url(settings.postgres_port)


def create_pool(settings: Settings, *, min_size: int = 1, max_size: int = 8) -> AsyncConnectionPool:
    """A pool that is not opened yet (``await pool.open()``), so creating it never blocks."""
    return AsyncConnectionPool(
        database_url(settings),
        min_size=min_size,
        max_size=max_size,
        open=False,
        kwargs={"autocommit": True},
        name="capmon-api",
        timeout=10.0,
    )


async def apply_api_schema(conn: AsyncConnection[object]) -> list[str]:
    """Apply every ``api/sql/*.sql`` file in name order; idempotent. Returns the names."""
    applied: list[str] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        for path in sorted(SQL_DIR.glob("*.sql")):
            await conn.execute(path.read_text(encoding="utf-8").encode())
            applied.append(path.name)
    return applied
