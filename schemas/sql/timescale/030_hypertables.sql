-- TimescaleDB backend: applied instead of native/030_time_partitioning.sql when the timescaledb
-- extension is available (store/migrate.py decides once, and records the choice). This directory
-- is the only place that mentions TimescaleDB; it cannot run on the development machine, so
-- tests/store/test_timescale_sql.py parses it with pglast, and docker-compose runs it for real.
CREATE EXTENSION IF NOT EXISTS timescaledb;

-- Same slices as the native partitions: a day, or 30 days for the monthly ones.
SELECT create_hypertable(
           table_name::regclass,
           time_column::name,
           chunk_time_interval => CASE granularity WHEN 'day' THEN interval '1 day'
                                                   ELSE interval '30 days' END,
           create_default_indexes => false)
FROM capmon_time_tables
ORDER BY table_name;

-- Same retention as `capmon maintain` applies natively: drop a chunk once its end is older
-- than now() - retention.
SELECT add_retention_policy(table_name::regclass, drop_after => retention)
FROM capmon_time_tables
WHERE retention IS NOT NULL
ORDER BY table_name;

-- Columnstore (compression) once a slice is past the hours that still get late rows and
-- aggregate refreshes; segmented by the key every query filters on.
ALTER TABLE ward_state_history SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'ward_id',
    timescaledb.compress_orderby = 'as_of, version');
ALTER TABLE rollup_history SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'scope_id, care_type',
    timescaledb.compress_orderby = 'as_of, version');
ALTER TABLE invalid_events SET (
    timescaledb.compress,
    timescaledb.compress_orderby = 'received_at, kafka_partition, kafka_offset');
ALTER TABLE occupancy_5m SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'scope_id, care_type',
    timescaledb.compress_orderby = 'bucket');
ALTER TABLE occupancy_hourly SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'scope_id, care_type',
    timescaledb.compress_orderby = 'bucket');
ALTER TABLE compliance_hourly SET (
    timescaledb.compress,
    timescaledb.compress_segmentby = 'scope_id, care_type',
    timescaledb.compress_orderby = 'bucket');

SELECT add_compression_policy('ward_state_history', compress_after => interval '7 days');
SELECT add_compression_policy('rollup_history', compress_after => interval '7 days');
SELECT add_compression_policy('invalid_events', compress_after => interval '7 days');
SELECT add_compression_policy('occupancy_5m', compress_after => interval '7 days');
SELECT add_compression_policy('occupancy_hourly', compress_after => interval '90 days');
SELECT add_compression_policy('compliance_hourly', compress_after => interval '90 days');

-- Chunks are created by TimescaleDB on insert; the sink's call is a no-op here.
CREATE FUNCTION capmon_ensure_partition(tbl text, ts timestamptz) RETURNS text
LANGUAGE sql AS $$ SELECT NULL::text $$;
