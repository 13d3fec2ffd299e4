"""``capmon migrate``: apply the SQL migrations of ``schemas/sql`` in order.

Each migration runs in its own transaction together with its row in ``capmon_migrations``, so
it is applied entirely or not at all. A session advisory lock serialises concurrent runs (several
replicas starting at once): the second waits, then finds everything applied. The backend
(native partitioning or TimescaleDB) is detected on the first run and recorded; later runs keep
it, so a database never mixes the two.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import psycopg

from capmon.settings import get_settings
from store.database import database_url, redacted
from store.migrations import Backend, Migration, MigrationError, migrations_for

log = logging.getLogger(__name__)

# pg_advisory_lock key of `capmon migrate` (any constant; "capm" in ASCII)
MIGRATION_LOCK_KEY = 0x6361706D

_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS capmon_migrations (
    id         text PRIMARY KEY,
    checksum   text NOT NULL,
    backend    text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True, slots=True)
class MigrationResult:
    backend: Backend
    applied: list[str]  # ids applied by this run
    already_applied: list[str]


def detect_backend(conn: psycopg.Connection[tuple[object, ...]]) -> Backend:
    """TimescaleDB when its extension is installed, or available and preloaded; else native."""
    installed = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
    if installed:
        return Backend.TIMESCALE
    available = conn.execute(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
    ).fetchone()
    if not available:
        return Backend.NATIVE
    preload = conn.execute("SELECT current_setting('shared_preload_libraries')").fetchone()
    if preload and "timescaledb" in str(preload[0]):
        return Backend.TIMESCALE
    log.warning(
        "timescaledb is installed on the server but not in shared_preload_libraries: "
        "using native partitioning"
    )
    return Backend.NATIVE


def _recorded(conn: psycopg.Connection[tuple[object, ...]]) -> dict[str, tuple[str, str]]:
    rows = conn.execute("SELECT id, checksum, backend FROM capmon_migrations").fetchall()
    return {str(id_): (str(checksum), str(backend)) for id_, checksum, backend in rows}


def _choose_backend(
    conn: psycopg.Connection[tuple[object, ...]],
    recorded: dict[str, tuple[str, str]],
    requested: Backend | None,
) -> Backend:
    earlier = {backend for _, backend in recorded.values()}
    if len(earlier) > 1:
        raise MigrationError(f"capmon_migrations records several backends: {sorted(earlier)}")
    if earlier:
        backend = Backend(earlier.pop())
        if requested is not None and requested != backend:
            raise MigrationError(
                f"this database was migrated for the {backend} backend; "
                f"it cannot be switched to {requested}"
            )
        return backend
    return requested or detect_backend(conn)


def _apply(
    conn: psycopg.Connection[tuple[object, ...]], migration: Migration, backend: Backend
) -> None:
    with conn.transaction():
        # Without parameters psycopg sends the file as one simple query: several statements,
        # dollar-quoted function bodies and all.
        conn.execute(migration.sql.encode())
        conn.execute(
            "INSERT INTO capmon_migrations (id, checksum, backend) VALUES (%s, %s, %s)",
            (migration.id, migration.checksum, backend.value),
        )


def migrate(url: str, *, backend: Backend | None = None) -> MigrationResult:
    """Apply every pending migration; safe to run repeatedly and from several processes."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK_KEY,))
        try:
            conn.execute(_BOOKKEEPING)
            recorded = _recorded(conn)
            chosen = _choose_backend(conn, recorded, backend)
            applied: list[str] = []
            already: list[str] = []
            for migration in migrations_for(chosen):
                if migration.id in recorded:
                    checksum, _ = recorded[migration.id]
                    if checksum != migration.checksum:
                        raise MigrationError(
                            f"{migration.id} changed after it was applied; add a new migration "
                            "instead of editing an applied one"
                        )
                    already.append(migration.id)
                    continue
                log.info("applying %s", migration.id)
                try:
                    _apply(conn, migration, chosen)
                except psycopg.Error as exc:
                    raise MigrationError(f"{migration.id} failed: {exc}") from exc
                applied.append(migration.id)
            return MigrationResult(chosen, applied, already)
        finally:
            if not conn.closed:
                conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK_KEY,))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="capmon migrate", description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="default: CAPMON_DATABASE_URL or the local stack")
    parser.add_argument(
        "--backend",
        choices=["auto", *(b.value for b in Backend)],
        default="auto",
        help="auto: TimescaleDB if the server has it, else native partitioning",
    )
    return parser


def main(argv: Sequence[str]) -> int:
    args = _parser().parse_args(list(argv))
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    url = args.database_url or database_url(get_settings())
    backend = None if args.backend == "auto" else Backend(args.backend)
    try:
        result = migrate(url, backend=backend)
    except (MigrationError, psycopg.OperationalError) as exc:
        print(f"capmon migrate: {exc}", file=sys.stderr)
        return 1
    print(
        f"{redacted(url)}: backend {result.backend}, applied {len(result.applied)} "
        f"migration(s){': ' + ', '.join(result.applied) if result.applied else ''}; "
        f"{len(result.already_applied)} already applied"
    )
    return 0
