"""Writes a batch of rows to the history tables in one transaction.

Each table's rows are COPYed into a TEMP staging table, then moved with
``INSERT ... SELECT ... ON CONFLICT DO NOTHING``: COPY is the fast path into PostgreSQL, and the
conflict clause on each table's natural key makes a replayed batch a no-op. The hours whose
aggregates the new rows change are marked in ``aggregate_dirty_hours`` in the same transaction,
so the aggregates can never miss a committed row.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql

from store.rows import (
    ALERT_COLUMNS,
    ALERT_TYPES,
    INVALID_COLUMNS,
    INVALID_TYPES,
    ROLLUP_COLUMNS,
    ROLLUP_TYPES,
    WARD_STATE_COLUMNS,
    WARD_STATE_TYPES,
    Row,
    RowBatch,
)

# The longest a ward state holds in the aggregates (040_aggregate_functions.sql).
MAX_HOLD_SECONDS = 86400
# The longest a rollup holds in the compliance aggregate (040_aggregate_functions.sql).
ROLLUP_HOLD = "1 hour"


@dataclass(frozen=True, slots=True)
class Staged:
    table: str
    stage: str
    columns: tuple[str, ...]
    types: tuple[str, ...]  # PostgreSQL types of the columns, for the binary COPY
    time_column: str | None  # partitioned by; None for alert tables

    def copy_sql(self) -> sql.Composed:
        # Binary: the server skips parsing text numbers and timestamps, the costliest part of
        # a text COPY of these rows.
        return sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
            sql.Identifier(self.stage), sql.SQL(", ").join(map(sql.Identifier, self.columns))
        )

    def ensure_partitions_sql(self) -> sql.Composed:
        return sql.SQL(
            "SELECT capmon_ensure_partition({table}, d) FROM "
            "(SELECT DISTINCT date_trunc('day', {col}, 'UTC') AS d FROM {stage}) AS days"
        ).format(
            table=sql.Literal(self.table),
            col=sql.Identifier(self.time_column or ""),
            stage=sql.Identifier(self.stage),
        )

    def insert_sql(self, returning: str | None = None) -> sql.Composed:
        cols = sql.SQL(", ").join(map(sql.Identifier, self.columns))
        query = sql.SQL(
            "INSERT INTO {table} ({cols}) SELECT {cols} FROM {stage} ON CONFLICT DO NOTHING"
        ).format(table=sql.Identifier(self.table), cols=cols, stage=sql.Identifier(self.stage))
        if returning:
            query = sql.SQL("{} RETURNING {}").format(query, sql.SQL(returning))
        return query


WARD_STATES = Staged(
    "ward_state_history", "capmon_stage_ward_state", WARD_STATE_COLUMNS, WARD_STATE_TYPES, "as_of"
)
ROLLUPS = Staged("rollup_history", "capmon_stage_rollup", ROLLUP_COLUMNS, ROLLUP_TYPES, "as_of")
ALERTS = Staged("alert_events", "capmon_stage_alert", ALERT_COLUMNS, ALERT_TYPES, None)
INVALID = Staged(
    "invalid_events", "capmon_stage_invalid", INVALID_COLUMNS, INVALID_TYPES, "received_at"
)
STAGED = (WARD_STATES, ROLLUPS, ALERTS, INVALID)

_DIRTY_STAGE = "capmon_stage_dirty_hours"

_CREATE_STAGES = ";\n".join(
    [
        f"CREATE TEMP TABLE IF NOT EXISTS {s.stage} (LIKE {s.table}) ON COMMIT DELETE ROWS"
        for s in STAGED
    ]
    + [f"CREATE TEMP TABLE IF NOT EXISTS {_DIRTY_STAGE} (hour timestamptz) ON COMMIT DELETE ROWS"]
)

# A state at T reported at R changes the aggregates in [T, min(R + interval, T + 24 h)]
# (040_aggregate_functions.sql).
_WARD_STATE_INSERT = sql.SQL(
    """
    WITH inserted AS ({insert})
    , dirty AS (
        INSERT INTO {dirty} (hour)
        SELECT DISTINCT h
        FROM (
            -- one series per starting hour, not per row: a batch has thousands of rows
            SELECT date_bin('1 hour', as_of, timestamptz '2000-01-01 00:00:00+00') AS first,
                   max(least(coalesce(last_reported_at, as_of)
                                 + make_interval(secs => expected_interval_s),
                             as_of + make_interval(secs => {hold}))) AS last
            FROM inserted GROUP BY 1
        ) AS spans,
        generate_series(spans.first, spans.last, interval '1 hour') AS h
    )
    SELECT count(*) FROM inserted
    """
).format(
    insert=WARD_STATES.insert_sql(returning="as_of, last_reported_at, expected_interval_s"),
    dirty=sql.Identifier(_DIRTY_STAGE),
    hold=sql.Literal(MAX_HOLD_SECONDS),
)

_ROLLUP_INSERT = sql.SQL(
    """
    WITH inserted AS ({insert})
    , dirty AS (
        INSERT INTO {dirty} (hour)
        SELECT DISTINCT h
        FROM (
            SELECT date_bin('1 hour', as_of, timestamptz '2000-01-01 00:00:00+00') AS first,
                   max(as_of) + interval {hold} AS last
            FROM inserted GROUP BY 1
        ) AS spans,
        generate_series(spans.first, spans.last, interval '1 hour') AS h
    )
    SELECT count(*) FROM inserted
    """
).format(
    insert=ROLLUPS.insert_sql(returning="as_of"),
    dirty=sql.Identifier(_DIRTY_STAGE),
    hold=sql.Literal(ROLLUP_HOLD),
)

_ALERT_LATEST_COLUMNS = [c for c in ALERT_COLUMNS if c != "acknowledged_by"]
_ALERT_LATEST_UPSERT = sql.SQL(
    """
    INSERT INTO alert_latest ({cols}, acknowledged_by, acknowledged)
    SELECT DISTINCT ON (alert_id) {cols}, acknowledged_by, state = 'acknowledged'
    FROM {stage}
    ORDER BY alert_id, sequence DESC, state = 'acknowledged'
    ON CONFLICT (alert_id) DO UPDATE SET ({cols}) = ({excluded}),
        acknowledged_by = coalesce(excluded.acknowledged_by, alert_latest.acknowledged_by),
        acknowledged = alert_latest.acknowledged OR excluded.acknowledged
    -- an acknowledgement shares the sequence of the step it acknowledges: that step's own
    -- event still becomes the latest lifecycle state when it comes second
    WHERE excluded.sequence > alert_latest.sequence
        OR (excluded.sequence = alert_latest.sequence
            AND alert_latest.state = 'acknowledged' AND excluded.state <> 'acknowledged')
    """
).format(
    cols=sql.SQL(", ").join(map(sql.Identifier, _ALERT_LATEST_COLUMNS)),
    excluded=sql.SQL(", ").join(
        sql.SQL("excluded.{}").format(sql.Identifier(c)) for c in _ALERT_LATEST_COLUMNS
    ),
    stage=sql.Identifier(ALERTS.stage),
)
# An acknowledgement that arrives after a later lifecycle event still marks the alert.
_ALERT_ACK_LATE = sql.SQL(
    """
    UPDATE alert_latest AS a
    SET acknowledged = true, acknowledged_by = coalesce(a.acknowledged_by, s.acknowledged_by)
    FROM {stage} AS s
    WHERE s.alert_id = a.alert_id AND s.state = 'acknowledged' AND NOT a.acknowledged
    """
).format(stage=sql.Identifier(ALERTS.stage))

# Ordered, so concurrent sinks lock the shared hour rows in the same order (no deadlock); an
# upsert rather than DO NOTHING, so it waits for a maintenance run refreshing that hour, and
# re-marks the hour after it (store/aggregates.py).
_MARK_DIRTY = sql.SQL(
    """
    INSERT INTO aggregate_dirty_hours (hour)
    SELECT DISTINCT hour FROM {dirty} ORDER BY hour
    ON CONFLICT (hour) DO UPDATE SET marked_at = excluded.marked_at
    """
).format(dirty=sql.Identifier(_DIRTY_STAGE))


@dataclass(frozen=True, slots=True)
class WriteCounts:
    """Rows offered and rows actually inserted (the rest were already there: a replay)."""

    staged: dict[str, int]
    inserted: dict[str, int]


async def _copy(
    cur: psycopg.AsyncCursor[tuple[object, ...]], staged: Staged, rows: list[Row]
) -> None:
    async with cur.copy(staged.copy_sql()) as copy:
        copy.set_types(list(staged.types))
        # Format rows synchronously and await only when the formatter hands over a full
        # buffer: ``await copy.write_row(row)`` would create a coroutine per row.
        formatter = copy.formatter
        for row in rows:
            if data := formatter.write_row(row):
                await copy.write(data)


async def _count(cur: psycopg.AsyncCursor[tuple[object, ...]], query: sql.Composed) -> int:
    await cur.execute(query)
    row = await cur.fetchone()
    return int(row[0]) if row else 0  # type: ignore[call-overload]


class HistoryWriter:
    """One connection to the history database; ``write`` is one transaction per batch."""

    def __init__(self, url: str, *, connect_timeout_s: int = 5) -> None:
        self._url = url
        self._connect_timeout_s = connect_timeout_s
        self._conn: psycopg.AsyncConnection[tuple[object, ...]] | None = None

    async def _connection(self) -> psycopg.AsyncConnection[tuple[object, ...]]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            if self._conn is not None:
                await self._conn.close()
            self._conn = None
            conn = await psycopg.AsyncConnection.connect(
                self._url, connect_timeout=self._connect_timeout_s, autocommit=True
            )
            await conn.execute(_CREATE_STAGES.encode())
            self._conn = conn
        return self._conn

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def write(self, batch: RowBatch) -> WriteCounts:
        """Write ``batch`` in one transaction; raises psycopg errors (the caller retries)."""
        conn = await self._connection()
        staged: dict[str, int] = {}
        inserted: dict[str, int] = {}
        try:
            async with conn.transaction(), conn.cursor() as cur:
                if batch.ward_states:
                    await _copy(cur, WARD_STATES, batch.ward_states)
                    await cur.execute(WARD_STATES.ensure_partitions_sql())
                    inserted[WARD_STATES.table] = await _count(cur, _WARD_STATE_INSERT)
                    staged[WARD_STATES.table] = len(batch.ward_states)
                if batch.rollups:
                    await _copy(cur, ROLLUPS, batch.rollups)
                    await cur.execute(ROLLUPS.ensure_partitions_sql())
                    inserted[ROLLUPS.table] = await _count(cur, _ROLLUP_INSERT)
                    staged[ROLLUPS.table] = len(batch.rollups)
                if batch.alerts:
                    await _copy(cur, ALERTS, batch.alerts)
                    await cur.execute(ALERTS.insert_sql())
                    inserted[ALERTS.table] = max(cur.rowcount, 0)
                    staged[ALERTS.table] = len(batch.alerts)
                    await cur.execute(_ALERT_LATEST_UPSERT)
                    await cur.execute(_ALERT_ACK_LATE)
                if batch.invalid:
                    await _copy(cur, INVALID, batch.invalid)
                    await cur.execute(INVALID.ensure_partitions_sql())
                    await cur.execute(INVALID.insert_sql())
                    inserted[INVALID.table] = max(cur.rowcount, 0)
                    staged[INVALID.table] = len(batch.invalid)
                if batch.ward_states or batch.rollups:
                    await cur.execute(_MARK_DIRTY)
        except psycopg.OperationalError:
            # The connection may be gone (database restarted): reconnect on the next write.
            await self.close()
            raise
        return WriteCounts(staged, inserted)
