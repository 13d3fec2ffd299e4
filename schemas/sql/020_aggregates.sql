-- Aggregates, derived from the history by plain SQL (040_aggregate_functions.sql) that
-- `capmon maintain` runs for the hours the sink marked dirty. Plain tables and plain SQL on both
-- backends, so PostgreSQL and TimescaleDB give identical numbers.
--
-- Time-weighted occupancy (DOMAIN.md) needs the integrals, not the ratio: every row keeps
--   patient_seconds     = ∫ occupied dt            bed_seconds         = ∫ available beds dt
--   overcrowded_seconds = ∫ overcrowded dt         outlying_seconds    = ∫ outlying hosted dt
--   covered_seconds     = ∫ (wards with a known state) dt
-- over the bucket, summed over the wards of the scope; occupancy = patient_seconds / bed_seconds
-- (ratio of sums), means over the bucket are integral / bucket length.
-- scope_id is 'ward:<id>', 'hospital:<id>', 'region:<code>' or 'nation'; care_type is a care
-- type or 'all' (ward rows are stored once, under 'all').

CREATE TABLE occupancy_5m (
    scope_id            text COLLATE "C" NOT NULL,
    care_type           text COLLATE "C" NOT NULL,
    bucket              timestamptz NOT NULL,
    patient_seconds     double precision NOT NULL,
    bed_seconds         double precision NOT NULL,
    overcrowded_seconds double precision NOT NULL,
    outlying_seconds    double precision NOT NULL,
    covered_seconds     double precision NOT NULL,
    ward_count          integer NOT NULL,
    PRIMARY KEY (scope_id, care_type, bucket)
);

CREATE TABLE occupancy_hourly (LIKE occupancy_5m INCLUDING ALL);

-- Share of time a region (or the nation) spent above its occupancy target, from the rollups the
-- stream computed: instantaneous occupied > target x available beds.
CREATE TABLE compliance_hourly (
    scope_id             text COLLATE "C" NOT NULL,
    care_type            text COLLATE "C" NOT NULL,
    bucket               timestamptz NOT NULL,
    above_target_seconds double precision NOT NULL,
    covered_seconds      double precision NOT NULL,
    PRIMARY KEY (scope_id, care_type, bucket)
);

-- The refresh deletes and rewrites whole buckets of every scope.
CREATE INDEX ON occupancy_5m (bucket);
CREATE INDEX ON occupancy_hourly (bucket);
CREATE INDEX ON compliance_hourly (bucket);

INSERT INTO capmon_time_tables (table_name, time_column, granularity, retention, premake) VALUES
    ('occupancy_5m',      'bucket', 'day',   interval '35 days', 7),
    ('occupancy_hourly',  'bucket', 'month', interval '3 years', 2),
    ('compliance_hourly', 'bucket', 'month', interval '3 years', 2);

-- Europe/Stockholm calendar days (23, 24 or 25 hours long), summed from occupancy_hourly.
CREATE TABLE occupancy_daily (
    scope_id            text COLLATE "C" NOT NULL,
    care_type           text COLLATE "C" NOT NULL,
    day                 date NOT NULL,
    patient_seconds     double precision NOT NULL,
    bed_seconds         double precision NOT NULL,
    overcrowded_seconds double precision NOT NULL,
    outlying_seconds    double precision NOT NULL,
    covered_seconds     double precision NOT NULL,
    ward_count          integer NOT NULL,
    PRIMARY KEY (scope_id, care_type, day)
);

-- The SKR-comparable morning count: every ward's state at 06:00 Europe/Stockholm, summed per
-- ward, hospital, region and nation. Per-100 figures are ratios of sums, never mean ratios.
CREATE TABLE daily_snapshot (
    scope_id            text COLLATE "C" NOT NULL,
    care_type           text COLLATE "C" NOT NULL,
    day                 date NOT NULL,
    taken_at            timestamptz NOT NULL,
    ward_count          integer NOT NULL,
    available_beds      integer NOT NULL,
    occupied            integer NOT NULL,
    overcrowded         integer NOT NULL,
    outlying_hosted     integer NOT NULL,
    overcrowded_per_100 double precision GENERATED ALWAYS AS
        (CASE WHEN available_beds > 0 THEN 100.0 * overcrowded / available_beds END) STORED,
    outlying_per_100    double precision GENERATED ALWAYS AS
        (CASE WHEN available_beds > 0 THEN 100.0 * outlying_hosted / available_beds END) STORED,
    PRIMARY KEY (scope_id, care_type, day)
);

-- Hours (UTC, hour-aligned) whose aggregates are out of date. The sink upserts them in the
-- transaction that writes the history rows; `capmon maintain` locks, refreshes and deletes them.
CREATE TABLE aggregate_dirty_hours (
    hour      timestamptz PRIMARY KEY,
    marked_at timestamptz NOT NULL DEFAULT now()
);
