-- History of what the stream emitted: every ward state change, every rollup change, every alert
-- lifecycle event and every rejected input record.
--
-- Time tables are created as plain tables with a primary key that includes the time column,
-- which is what both a hypertable and a range-partitioned table require; the backend migration
-- (030) then turns them into one or the other. Identifiers use the "C" collation: byte order,
-- prefix searches (scope_id LIKE 'region:%') can use the index, the same on every machine.
-- The sink inserts with ON CONFLICT DO NOTHING on these keys, so a replay writes nothing twice.

-- One row per schemas.messages.WardState (topic capmon.ward-state).
CREATE TABLE ward_state_history (
    ward_id                 text COLLATE "C" NOT NULL,
    as_of                   timestamptz NOT NULL,
    version                 bigint NOT NULL,
    hospital_id             text COLLATE "C" NOT NULL,
    region_code             text COLLATE "C" NOT NULL,
    care_type               text COLLATE "C" NOT NULL,
    specialty               text NOT NULL,
    last_reported_at        timestamptz,
    expected_interval_s     integer NOT NULL CHECK (expected_interval_s > 0),
    stale                   boolean NOT NULL,
    available_beds          integer NOT NULL,
    occupied                integer NOT NULL,
    free_beds               integer NOT NULL,
    overcrowded             integer NOT NULL,
    outlying_hosted         integer NOT NULL,
    placed_elsewhere        integer NOT NULL,
    pending_admissions      integer NOT NULL,
    expected_discharges_24h integer NOT NULL,
    physical_beds           integer,
    surge_beds_24h          integer,
    surge_beds_72h          integer,
    occupancy               double precision,
    free_after_pending      integer NOT NULL,
    overcrowded_per_100     double precision,
    outlying_per_100        double precision,
    -- the trailing-window integrals the stream computed (Measures.occupancy_1h/24h/7d)
    patient_seconds_1h      double precision NOT NULL,
    bed_seconds_1h          double precision NOT NULL,
    patient_seconds_24h     double precision NOT NULL,
    bed_seconds_24h         double precision NOT NULL,
    patient_seconds_7d      double precision NOT NULL,
    bed_seconds_7d          double precision NOT NULL,
    target                  double precision NOT NULL,
    pressure_level          smallint NOT NULL CHECK (pressure_level BETWEEN 1 AND 4),
    late_events             integer NOT NULL DEFAULT 0,
    PRIMARY KEY (ward_id, as_of, version)
);

-- One row per schemas.messages.ScopeRollup (topic capmon.rollups).
CREATE TABLE rollup_history (
    scope_id                text COLLATE "C" NOT NULL,
    care_type               text COLLATE "C" NOT NULL,
    as_of                   timestamptz NOT NULL,
    version                 bigint NOT NULL,
    oldest_as_of            timestamptz,
    ward_count              integer NOT NULL,
    wards_reporting         integer NOT NULL,
    reporting_coverage      double precision,
    available_beds          integer NOT NULL,
    occupied                integer NOT NULL,
    free_beds               integer NOT NULL,
    overcrowded             integer NOT NULL,
    outlying_hosted         integer NOT NULL,
    placed_elsewhere        integer NOT NULL,
    pending_admissions      integer NOT NULL,
    expected_discharges_24h integer NOT NULL,
    physical_beds           integer,
    surge_beds_24h          integer,
    surge_beds_72h          integer,
    occupancy               double precision,
    free_after_pending      integer NOT NULL,
    overcrowded_per_100     double precision,
    outlying_per_100        double precision,
    patient_seconds_1h      double precision NOT NULL,
    bed_seconds_1h          double precision NOT NULL,
    patient_seconds_24h     double precision NOT NULL,
    bed_seconds_24h         double precision NOT NULL,
    patient_seconds_7d      double precision NOT NULL,
    bed_seconds_7d          double precision NOT NULL,
    target                  double precision NOT NULL,
    pressure_level          smallint NOT NULL CHECK (pressure_level BETWEEN 1 AND 4),
    declared_preparedness   text,
    PRIMARY KEY (scope_id, care_type, as_of, version)
);

-- One row per schemas.messages.InvalidEventRecord (topic capmon.invalid). A rejection has no
-- natural key (many share an origin, event ids may be missing), so the row is keyed by the
-- position of its record on the invalid topic: a replay of the topic finds the same key.
CREATE TABLE invalid_events (
    received_at     timestamptz NOT NULL,
    kafka_partition integer NOT NULL,
    kafka_offset    bigint NOT NULL,
    reason          text NOT NULL,
    detail          text NOT NULL,
    event_id        text,
    ward_id         text COLLATE "C",
    source          text,
    origin          text NOT NULL,
    raw             text,
    PRIMARY KEY (received_at, kafka_partition, kafka_offset),
    -- A payload that held personal data is never stored, whatever the producer sent.
    CONSTRAINT invalid_events_no_personal_data CHECK (reason <> 'personal_data' OR raw IS NULL)
);

-- The aggregate refresh reads all wards over a time range; BRIN costs the sink next to nothing
-- (rows arrive roughly in time order) and lets the refresh skip old blocks of a partition.
CREATE INDEX ON ward_state_history USING brin (as_of);
CREATE INDEX ON rollup_history USING brin (as_of);

INSERT INTO capmon_time_tables (table_name, time_column, granularity, retention, premake) VALUES
    ('ward_state_history', 'as_of',       'day', interval '90 days', 7),
    ('rollup_history',     'as_of',       'day', interval '90 days', 7),
    ('invalid_events',     'received_at', 'day', interval '30 days', 7);

-- One row per schemas.messages.AlertEvent (topic capmon.alerts): every lifecycle change of every
-- alert ever raised. Few rows (a handful per scope and day), so a plain table kept for ever.
CREATE TABLE alert_events (
    alert_id        uuid NOT NULL,
    sequence        integer NOT NULL,
    state           text NOT NULL,
    rule            text NOT NULL,
    scope_id        text COLLATE "C" NOT NULL,
    care_type       text COLLATE "C" NOT NULL,
    region_code     text COLLATE "C",
    level           smallint NOT NULL CHECK (level BETWEEN 1 AND 4),
    previous_level  smallint CHECK (previous_level BETWEEN 1 AND 4),
    value           double precision,
    threshold       double precision,
    occurred_at     timestamptz NOT NULL,
    raised_at       timestamptz NOT NULL,
    message         text NOT NULL,
    acknowledged_by text,
    -- state too: an acknowledgement (from the API) carries the sequence of the lifecycle event
    -- it acknowledges, so (alert_id, sequence) alone would drop one of the two.
    PRIMARY KEY (alert_id, sequence, state)
);
CREATE INDEX alert_events_occurred_at_idx ON alert_events (occurred_at);
CREATE INDEX alert_events_region_idx ON alert_events (region_code, occurred_at);
CREATE INDEX alert_events_scope_idx ON alert_events (scope_id, occurred_at);

-- The newest lifecycle event of each alert, kept by the sink beside alert_events so that "which
-- alerts are open" does not scan the whole history.
CREATE TABLE alert_latest (
    alert_id        uuid PRIMARY KEY,
    sequence        integer NOT NULL,
    state           text NOT NULL,
    rule            text NOT NULL,
    scope_id        text COLLATE "C" NOT NULL,
    care_type       text COLLATE "C" NOT NULL,
    region_code     text COLLATE "C",
    level           smallint NOT NULL,
    previous_level  smallint,
    value           double precision,
    threshold       double precision,
    occurred_at     timestamptz NOT NULL,
    raised_at       timestamptz NOT NULL,
    message         text NOT NULL,
    acknowledged_by text,
    acknowledged    boolean NOT NULL DEFAULT false
);
CREATE INDEX alert_latest_open_idx ON alert_latest (region_code, raised_at) WHERE state <> 'resolved';
