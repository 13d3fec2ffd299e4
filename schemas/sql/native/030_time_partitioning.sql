-- Native backend (no TimescaleDB): every table in capmon_time_tables becomes a table
-- range-partitioned on its time column, one partition per UTC day or month. `capmon maintain`
-- creates partitions ahead and drops expired ones; the sink creates any partition a late or
-- early row needs (capmon_ensure_partition), so an insert never fails for want of one.

-- The common migrations create plain tables (what TimescaleDB needs); recreate each, still
-- empty, as a partitioned table with the same columns, defaults, constraints and primary key.
CREATE FUNCTION capmon_partition_by_time(tbl text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    col  text;
    idx  record;
    rows boolean;
BEGIN
    SELECT time_column INTO STRICT col FROM capmon_time_tables WHERE table_name = tbl;
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I)', tbl) INTO rows;
    IF rows THEN
        RAISE EXCEPTION 'capmon: % already holds rows; it can only be partitioned empty', tbl;
    END IF;
    EXECUTE format('ALTER TABLE %I RENAME TO %I', tbl, tbl || '_plain');
    -- Free the names of the key and the indexes, so that the copies made by LIKE get them
    -- (index names are chosen from the table and column names, as the originals were).
    FOR idx IN
        SELECT c.relname AS name, con.conname AS constraint_name
        FROM pg_index i
        JOIN pg_class c ON c.oid = i.indexrelid
        LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid AND con.conrelid = i.indrelid
        WHERE i.indrelid = to_regclass(quote_ident(tbl || '_plain'))
    LOOP
        IF idx.constraint_name IS NOT NULL THEN
            EXECUTE format('ALTER TABLE %I RENAME CONSTRAINT %I TO %I',
                           tbl || '_plain', idx.constraint_name, idx.constraint_name || '_plain');
        ELSE
            EXECUTE format('ALTER INDEX %I RENAME TO %I', idx.name, idx.name || '_plain');
        END IF;
    END LOOP;
    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING ALL) PARTITION BY RANGE (%I)',
                   tbl, tbl || '_plain', col);
    EXECUTE format('DROP TABLE %I', tbl || '_plain');
END
$$;

SELECT capmon_partition_by_time(table_name) FROM capmon_time_tables ORDER BY table_name;
DROP FUNCTION capmon_partition_by_time(text);

-- The partition of `tbl` that holds time `ts`, created if missing; returns its name.
-- Bounds are UTC day or month boundaries (date_trunc/date_add in 'UTC': the session time zone
-- never moves them). Concurrent callers serialise on an advisory lock per table.
CREATE FUNCTION capmon_ensure_partition(tbl text, ts timestamptz) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    unit  text;
    lower timestamptz;
    upper timestamptz;
    part  text;
BEGIN
    SELECT granularity INTO STRICT unit FROM capmon_time_tables WHERE table_name = tbl;
    lower := date_trunc(unit, ts, 'UTC');
    upper := date_add(lower, ('1 ' || unit)::interval, 'UTC');
    part := tbl || '_p' || to_char(lower AT TIME ZONE 'UTC',
                                   CASE unit WHEN 'day' THEN 'YYYYMMDD' ELSE 'YYYYMM' END);
    IF to_regclass(quote_ident(part)) IS NULL THEN
        PERFORM pg_advisory_xact_lock(hashtext('capmon_ensure_partition'), hashtext(tbl));
        EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                       part, tbl, lower, upper);
    END IF;
    RETURN part;
END
$$;

-- Every partition of the time tables with its bounds, for maintenance and for tests.
CREATE VIEW capmon_partitions AS
SELECT t.table_name,
       c.relname::text AS partition_name,
       b.bounds[1]::timestamptz AS lower_bound,
       b.bounds[2]::timestamptz AS upper_bound
FROM capmon_time_tables t
JOIN pg_inherits i ON i.inhparent = to_regclass(quote_ident(t.table_name))
JOIN pg_class c ON c.oid = i.inhrelid
CROSS JOIN LATERAL regexp_match(pg_get_expr(c.relpartbound, c.oid),
                                'FROM \(''([^'']+)''\) TO \(''([^'']+)''\)') AS b(bounds);
