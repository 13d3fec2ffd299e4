-- Which tables hold time series, sliced by which column, how finely, and how long they are kept.
--
-- One table drives both backends: the native path (schemas/sql/native/) partitions these tables
-- by range and `capmon maintain` creates slices ahead and drops expired ones; the TimescaleDB path
-- (schemas/sql/timescale/) turns them into hypertables with the same chunk width and retention.
-- Tables not listed here (daily aggregates, alerts) are small and kept for ever.

CREATE TABLE capmon_time_tables (
    table_name  text PRIMARY KEY,
    time_column text NOT NULL,
    granularity text NOT NULL CHECK (granularity IN ('day', 'month')),
    -- NULL keeps every slice for ever; otherwise a slice is dropped once its upper bound is
    -- older than now() - retention (the rule of TimescaleDB's drop_chunks as well).
    retention   interval CHECK (retention > interval '0'),
    -- slices created ahead of now() by `capmon maintain` (native backend only)
    premake     integer NOT NULL DEFAULT 3 CHECK (premake >= 1)
);
