-- The aggregate computations: plain SQL over plain (or partitioned, or hyper-) tables, the same
-- on both backends. `capmon maintain` (store/aggregates.py) calls the capmon_refresh_* functions
-- for the hours in aggregate_dirty_hours.
--
-- The step function (DOMAIN.md, time-weighted occupancy). Each ward_state_history row is the
-- ward's level from its as_of (the event time of the change; as_of and last_reported_at never
-- decrease as version grows). A row holds until the earliest of
--   * the next row of the ward (ordered by as_of, version): the level changed, or the ward
--     reported again (a heartbeat gives a row with the same as_of and a newer last_reported_at);
--   * last_reported_at + expected_interval_s: past that the ward is stale, exactly as the stream
--     flags it, and its beds are unknown: they count as neither occupied nor available
--     ("stale is shown as stale, not as zero"), so a silent ward neither props up nor drags down
--     a scope's occupancy;
--   * as_of + 24 hours, which bounds how far back a refresh has to look.
-- For a ward reporting at least once per expected interval this is exactly the step function
-- the stream integrates (streams/core/ward_state.py), so the hourly aggregates equal the core's
-- hour buckets (tests/store/test_aggregates.py); across a stale gap the core carries the last
-- level through the silence, the aggregates do not.
--
-- Consequently a new row at as_of T, reported at R, changes aggregates only within
-- [T, min(R + interval, T + 24 h)]: the previous row's segment can only be cut short there. The
-- sink marks exactly those hours dirty (store/writer.py).

-- Segments of every ward's step function that overlap [t_from, t_to), clipped to it.
CREATE FUNCTION capmon_ward_segments(t_from timestamptz, t_to timestamptz)
RETURNS TABLE (
    ward_id         text,
    hospital_id     text,
    region_code     text,
    care_type       text,
    seg_start       timestamptz,
    seg_end         timestamptz,
    occupied        integer,
    available_beds  integer,
    overcrowded     integer,
    outlying_hosted integer
)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT s.ward_id, s.hospital_id, s.region_code, s.care_type,
           greatest(s.as_of, t_from), least(s.held_until, t_to),
           s.occupied, s.available_beds, s.overcrowded, s.outlying_hosted
    FROM (
        SELECT h.ward_id, h.hospital_id, h.region_code, h.care_type, h.as_of,
               h.occupied, h.available_beds, h.overcrowded, h.outlying_hosted,
               least(lead(h.as_of) OVER (PARTITION BY h.ward_id ORDER BY h.as_of, h.version),
                     coalesce(h.last_reported_at, h.as_of)
                         + make_interval(secs => h.expected_interval_s),
                     h.as_of + interval '24 hours') AS held_until
        FROM ward_state_history h
        WHERE h.as_of >= t_from - interval '24 hours' AND h.as_of < t_to
    ) s
    WHERE least(s.held_until, t_to) > greatest(s.as_of, t_from)
$$;

-- Per ward and bucket of width `grain` (5 minutes or 1 hour: date_bin from a UTC origin), the
-- integrals of the step function. A ward whose hospital or care type changed within a bucket
-- gives two rows, so each part is summed into the scope it belonged to at the time.
CREATE FUNCTION capmon_ward_buckets(grain interval, t_from timestamptz, t_to timestamptz)
RETURNS TABLE (
    ward_id             text,
    hospital_id         text,
    region_code         text,
    care_type           text,
    bucket              timestamptz,
    patient_seconds     double precision,
    bed_seconds         double precision,
    overcrowded_seconds double precision,
    outlying_seconds    double precision,
    covered_seconds     double precision
)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT seg.ward_id, seg.hospital_id, seg.region_code, seg.care_type, b.bucket,
           sum(seg.occupied * o.seconds),
           sum(seg.available_beds * o.seconds),
           sum(seg.overcrowded * o.seconds),
           sum(seg.outlying_hosted * o.seconds),
           sum(o.seconds)
    FROM capmon_ward_segments(t_from, t_to) AS seg
    CROSS JOIN LATERAL generate_series(
        date_bin(grain, seg.seg_start, timestamptz '2000-01-01 00:00:00+00'),
        seg.seg_end - interval '1 microsecond',
        grain) AS b(bucket)
    CROSS JOIN LATERAL (
        SELECT date_part('epoch', least(seg.seg_end, b.bucket + grain)
                                  - greatest(seg.seg_start, b.bucket)) AS seconds
    ) AS o
    GROUP BY seg.ward_id, seg.hospital_id, seg.region_code, seg.care_type, b.bucket
$$;

-- The ward buckets summed into every scope: the ward itself, its hospital, region and the
-- nation, each per care type and over all care types (ratio of sums, DOMAIN.md).
CREATE FUNCTION capmon_scope_buckets(grain interval, t_from timestamptz, t_to timestamptz)
RETURNS TABLE (
    scope_id            text,
    care_type           text,
    bucket              timestamptz,
    patient_seconds     double precision,
    bed_seconds         double precision,
    overcrowded_seconds double precision,
    outlying_seconds    double precision,
    covered_seconds     double precision,
    ward_count          integer
)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN grouping(w.ward_id) = 0 THEN 'ward:' || w.ward_id
                WHEN grouping(w.hospital_id) = 0 THEN 'hospital:' || w.hospital_id
                WHEN grouping(w.region_code) = 0 THEN 'region:' || w.region_code
                ELSE 'nation' END,
           CASE WHEN grouping(w.care_type) = 0 THEN w.care_type ELSE 'all' END,
           w.bucket,
           sum(w.patient_seconds), sum(w.bed_seconds), sum(w.overcrowded_seconds),
           sum(w.outlying_seconds), sum(w.covered_seconds),
           count(DISTINCT w.ward_id)::integer
    FROM capmon_ward_buckets(grain, t_from, t_to) AS w
    GROUP BY GROUPING SETS (
        (w.bucket, w.ward_id),
        (w.bucket, w.hospital_id, w.care_type), (w.bucket, w.hospital_id),
        (w.bucket, w.region_code, w.care_type), (w.bucket, w.region_code),
        (w.bucket, w.care_type), (w.bucket))
$$;

-- Recompute occupancy_5m (grain 5 minutes) or occupancy_hourly (grain 1 hour) for the buckets
-- in [t_from, t_to), which must be aligned to the grain. Returns the rows written.
CREATE FUNCTION capmon_refresh_occupancy(grain interval, t_from timestamptz, t_to timestamptz)
RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    tbl     text;
    written bigint;
BEGIN
    tbl := CASE grain WHEN interval '5 minutes' THEN 'occupancy_5m'
                      WHEN interval '1 hour' THEN 'occupancy_hourly' END;
    IF tbl IS NULL THEN
        RAISE EXCEPTION 'capmon: no occupancy table for grain %', grain;
    END IF;
    IF date_bin(grain, t_from, timestamptz '2000-01-01 00:00:00+00') <> t_from
       OR date_bin(grain, t_to, timestamptz '2000-01-01 00:00:00+00') <> t_to THEN
        RAISE EXCEPTION 'capmon: [%, %) is not aligned to %', t_from, t_to, grain;
    END IF;
    PERFORM capmon_ensure_partition(tbl, d)
    FROM generate_series(date_trunc('day', t_from, 'UTC'), t_to - interval '1 microsecond',
                         interval '1 day', 'UTC') AS d;
    EXECUTE format('DELETE FROM %I WHERE bucket >= $1 AND bucket < $2', tbl) USING t_from, t_to;
    EXECUTE format('INSERT INTO %I (scope_id, care_type, bucket, patient_seconds, bed_seconds,'
                   ' overcrowded_seconds, outlying_seconds, covered_seconds, ward_count)'
                   ' SELECT * FROM capmon_scope_buckets($1, $2, $3)', tbl)
        USING grain, t_from, t_to;
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END
$$;

-- Recompute occupancy_daily for the Europe/Stockholm days [d_from, d_to) from occupancy_hourly
-- (hour buckets tile local days: Swedish offsets are whole hours).
CREATE FUNCTION capmon_refresh_daily(d_from date, d_to date) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    written bigint;
BEGIN
    DELETE FROM occupancy_daily WHERE day >= d_from AND day < d_to;
    INSERT INTO occupancy_daily (scope_id, care_type, day, patient_seconds, bed_seconds,
                                 overcrowded_seconds, outlying_seconds, covered_seconds, ward_count)
    SELECT h.scope_id, h.care_type, (h.bucket AT TIME ZONE 'Europe/Stockholm')::date,
           sum(h.patient_seconds), sum(h.bed_seconds), sum(h.overcrowded_seconds),
           sum(h.outlying_seconds), sum(h.covered_seconds), max(h.ward_count)
    FROM occupancy_hourly h
    WHERE h.bucket >= d_from::timestamp AT TIME ZONE 'Europe/Stockholm'
      AND h.bucket < d_to::timestamp AT TIME ZONE 'Europe/Stockholm'
    GROUP BY 1, 2, 3;
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END
$$;

-- Recompute the 06:00 Europe/Stockholm snapshot of day d: every ward whose step function holds a
-- state at that instant, summed per ward, hospital, region and nation (per care type and all).
CREATE FUNCTION capmon_refresh_snapshot(d date) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    taken   timestamptz := (d + time '06:00') AT TIME ZONE 'Europe/Stockholm';
    written bigint;
BEGIN
    DELETE FROM daily_snapshot WHERE day = d;
    INSERT INTO daily_snapshot (scope_id, care_type, day, taken_at, ward_count, available_beds,
                                occupied, overcrowded, outlying_hosted)
    SELECT CASE WHEN grouping(s.ward_id) = 0 THEN 'ward:' || s.ward_id
                WHEN grouping(s.hospital_id) = 0 THEN 'hospital:' || s.hospital_id
                WHEN grouping(s.region_code) = 0 THEN 'region:' || s.region_code
                ELSE 'nation' END,
           CASE WHEN grouping(s.care_type) = 0 THEN s.care_type ELSE 'all' END,
           d, taken, count(DISTINCT s.ward_id)::integer,
           sum(s.available_beds), sum(s.occupied), sum(s.overcrowded), sum(s.outlying_hosted)
    FROM capmon_ward_segments(taken, taken + interval '1 microsecond') AS s
    GROUP BY GROUPING SETS (
        (s.ward_id),
        (s.hospital_id, s.care_type), (s.hospital_id),
        (s.region_code, s.care_type), (s.region_code),
        (s.care_type), ())
    HAVING count(*) > 0;  -- the empty grouping set yields a row even when no ward was known
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END
$$;

-- Segments of the region and nation rollups, as the stream computed them. A rollup holds until
-- the next one of its scope and care type, at most an hour (rollups change with every ward
-- report, so a longer silence means the stream itself was down: unknown, not "below target").
CREATE FUNCTION capmon_rollup_segments(t_from timestamptz, t_to timestamptz)
RETURNS TABLE (
    scope_id       text,
    care_type      text,
    seg_start      timestamptz,
    seg_end        timestamptz,
    above_target   boolean
)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT s.scope_id, s.care_type, greatest(s.as_of, t_from), least(s.held_until, t_to),
           s.occupied > s.target * s.available_beds
    FROM (
        SELECT r.scope_id, r.care_type, r.as_of, r.occupied, r.available_beds, r.target,
               least(lead(r.as_of) OVER (PARTITION BY r.scope_id, r.care_type
                                         ORDER BY r.as_of, r.version),
                     r.as_of + interval '1 hour') AS held_until
        FROM rollup_history r
        WHERE (r.scope_id = 'nation' OR r.scope_id LIKE 'region:%')
          AND r.as_of >= t_from - interval '1 hour' AND r.as_of < t_to
    ) s
    WHERE least(s.held_until, t_to) > greatest(s.as_of, t_from)
$$;

-- Recompute compliance_hourly for the hour buckets in [t_from, t_to) (hour-aligned).
CREATE FUNCTION capmon_refresh_compliance(t_from timestamptz, t_to timestamptz) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    written bigint;
BEGIN
    PERFORM capmon_ensure_partition('compliance_hourly', d)
    FROM generate_series(date_trunc('day', t_from, 'UTC'), t_to - interval '1 microsecond',
                         interval '1 day', 'UTC') AS d;
    DELETE FROM compliance_hourly WHERE bucket >= t_from AND bucket < t_to;
    INSERT INTO compliance_hourly (scope_id, care_type, bucket, above_target_seconds, covered_seconds)
    SELECT seg.scope_id, seg.care_type, b.bucket,
           coalesce(sum(o.seconds) FILTER (WHERE seg.above_target), 0), sum(o.seconds)
    FROM capmon_rollup_segments(t_from, t_to) AS seg
    CROSS JOIN LATERAL generate_series(
        date_bin(interval '1 hour', seg.seg_start, timestamptz '2000-01-01 00:00:00+00'),
        seg.seg_end - interval '1 microsecond',
        interval '1 hour') AS b(bucket)
    CROSS JOIN LATERAL (
        SELECT date_part('epoch', least(seg.seg_end, b.bucket + interval '1 hour')
                                  - greatest(seg.seg_start, b.bucket)) AS seconds
    ) AS o
    GROUP BY seg.scope_id, seg.care_type, b.bucket;
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END
$$;
