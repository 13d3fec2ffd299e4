"""``capmon migrate`` on the real PostgreSQL (integration)."""

from __future__ import annotations

import threading

import psycopg
import pytest

from store.migrate import main as migrate_main
from store.migrate import migrate
from store.migrations import Backend, MigrationError, migrations_for

pytestmark = pytest.mark.integration


def _scalar(url: str, query: str) -> object:
    with psycopg.connect(url) as conn:
        row = conn.execute(query).fetchone()
        assert row is not None
        return row[0]


def test_migrations_apply_twice(fresh_database_url: str) -> None:
    expected = [m.id for m in migrations_for(Backend.NATIVE)]
    first = migrate(fresh_database_url)
    assert first.backend is Backend.NATIVE
    assert first.applied == expected
    second = migrate(fresh_database_url)
    assert second.applied == []
    assert second.already_applied == expected
    assert _scalar(fresh_database_url, "SELECT count(*) FROM capmon_migrations") == len(expected)


def test_time_tables_are_range_partitioned_natively(migrated_url: str) -> None:
    with psycopg.connect(migrated_url) as conn:
        rows = conn.execute(
            """
            SELECT t.table_name, pt.partstrat, a.attname
            FROM capmon_time_tables t
            JOIN pg_partitioned_table pt ON pt.partrelid = t.table_name::regclass
            JOIN pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = pt.partattrs[0]
            """
        ).fetchall()
        time_tables = conn.execute(
            "SELECT table_name, time_column FROM capmon_time_tables"
        ).fetchall()
        keys = conn.execute(
            "SELECT conrelid::regclass::text, conname FROM pg_constraint "
            "WHERE contype = 'p' AND conrelid = 'ward_state_history'::regclass"
        ).fetchall()
    assert {(name, column) for name, _, column in rows} == set(time_tables)
    assert {strategy for _, strategy, _ in rows} == {"r"}
    # the primary key survived the conversion, under its usual name
    assert keys == [("ward_state_history", "ward_state_history_pkey")]


def test_concurrent_runs_apply_each_migration_once(fresh_database_url: str) -> None:
    results = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(migrate(fresh_database_url))
        except BaseException as exc:  # collected and re-raised by the test thread
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    applied = [m for result in results for m in result.applied]
    assert sorted(applied) == sorted(m.id for m in migrations_for(Backend.NATIVE))
    assert _scalar(
        fresh_database_url, "SELECT count(*) = count(DISTINCT id) FROM capmon_migrations"
    )


def test_an_edited_migration_is_refused(migrated_url: str) -> None:
    with psycopg.connect(migrated_url, autocommit=True) as conn:
        conn.execute("UPDATE capmon_migrations SET checksum = 'edited' WHERE id = '010_history'")
    with pytest.raises(MigrationError, match="010_history changed"):
        migrate(migrated_url)


def test_the_backend_cannot_switch(migrated_url: str) -> None:
    with pytest.raises(MigrationError, match="native backend"):
        migrate(migrated_url, backend=Backend.TIMESCALE)


def test_command_line(fresh_database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert migrate_main(["--database-url", fresh_database_url]) == 0
    assert migrate_main(["--database-url", fresh_database_url]) == 0
    count = len(migrations_for(Backend.NATIVE))
    assert f"applied 0 migration(s); {count} already applied" in capsys.readouterr().out
