"""Shared by the history-store benchmarks: the bench database and the result line."""

from __future__ import annotations

import json
import os
import platform
from typing import Any

import psycopg
from psycopg import sql

from capmon.settings import Settings
from capmon.stack.postgres_config import with_database
from store.database import database_url

BENCH_DATABASE = "capmon_bench"
ENV_BENCH_DATABASE = "CAPMON_BENCH_DATABASE_URL"


def bench_database_url(settings: Settings, explicit: str | None = None) -> str:
    """``--database-url``, else $CAPMON_BENCH_DATABASE_URL, else database ``capmon_bench`` on the
    server of CAPMON_DATABASE_URL or the local stack (never the demo's own database)."""
    if explicit:
        return explicit
    if os.environ.get(ENV_BENCH_DATABASE):
        return os.environ[ENV_BENCH_DATABASE]
    return with_database(database_url(settings), BENCH_DATABASE)


def ensure_database(url: str) -> None:
    """Create the database of ``url`` if it does not exist (connecting to ``postgres``)."""
    name = psycopg.conninfo.conninfo_to_dict(url).get("dbname")
    if not name:
        return
    try:
        psycopg.connect(url).close()
        return
    except psycopg.OperationalError as exc:
        if "does not exist" not in str(exc):
            raise
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(str(name))))


def drop_database(url: str) -> None:
    name = psycopg.conninfo.conninfo_to_dict(url).get("dbname")
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(str(name)))
        )


def machine(url: str) -> dict[str, Any]:
    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "postgres": row[0] if row else None,
    }


def result_line(
    *,
    name: str,
    value: float,
    unit: str,
    baseline: str,
    baseline_value: float,
    url: str,
    **extra: Any,
) -> str:
    """The one JSON line a benchmark prints."""
    return json.dumps(
        {
            "name": name,
            "value": round(value, 3),
            "unit": unit,
            "baseline": baseline,
            "baseline_value": round(baseline_value, 3),
            "ratio": round(value / baseline_value, 4) if baseline_value else None,
            "machine": machine(url),
            **extra,
        }
    )
