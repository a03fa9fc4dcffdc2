-- Which rows each data version touched, so that a running server brings its snapshot up to date by
-- reading only what changed instead of the whole city (at 100,000 areas a full reload takes seconds).
--
-- One row per (layer, code): the last data version at which that area's rows (layer `areas`) or its staff
-- (layer `staff`) changed. `code = ''` stands for the whole layer: addresses and roads are logged per layer,
-- and a TRUNCATE of areas or staff logs the whole layer too (a server then reloads everything). Rows are
-- updated in place, so the table never grows beyond the number of codes ever written: no pruning.
--
-- A server whose snapshot is at version v reads, in one REPEATABLE READ transaction, the current version V,
-- the rows with data_version > v and the current rows of those codes. Writers are serialised by the row
-- lock on gridmap_data_version (taken by the first statement of a write and held until commit), so the log
-- rows of version v are committed together with version v and never after a later one.
--
-- These triggers replace the statement triggers of 0003: they still bump the data version once per
-- statement and NOTIFY gridmap_changes, and they also fire for edits made in QGIS.
CREATE TABLE gridmap_changes (
    layer text NOT NULL CHECK (layer IN ('areas', 'staff', 'addresses', 'roads')),
    code text NOT NULL,
    data_version bigint NOT NULL,
    PRIMARY KEY (layer, code)
);
CREATE INDEX gridmap_changes_data_version ON gridmap_changes (data_version);

-- Snapshots at a version before the log existed cannot be brought up to date from it.
ALTER TABLE gridmap_data_version ADD COLUMN changes_from bigint NOT NULL DEFAULT 0;
UPDATE gridmap_data_version SET changes_from = version WHERE id;

-- Bumps the data version, announces it, logs the whole layer; returns the new version.
CREATE FUNCTION gridmap_next_data_version(layer text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    new_version bigint;
BEGIN
    UPDATE gridmap_data_version SET version = version + 1 WHERE id RETURNING version INTO new_version;
    -- Delivered at commit only, so listeners never see a rolled-back change.
    PERFORM pg_notify('gridmap_changes',
        json_build_object('table', layer, 'data_version', new_version)::text);
    RETURN new_version;
END
$$;

CREATE FUNCTION gridmap_log_layer() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    new_version bigint := gridmap_next_data_version(TG_TABLE_NAME);
BEGIN
    INSERT INTO gridmap_changes (layer, code, data_version) VALUES (TG_TABLE_NAME, '', new_version)
        ON CONFLICT (layer, code) DO UPDATE SET data_version = excluded.data_version;
    RETURN NULL;
END
$$;

-- Statement triggers with transition tables (PostgreSQL's own auditing pattern): one log row per code.
CREATE FUNCTION gridmap_log_areas() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    new_version bigint := gridmap_next_data_version('areas');
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO gridmap_changes (layer, code, data_version)
            SELECT DISTINCT 'areas', code, new_version FROM new_rows
            ON CONFLICT (layer, code) DO UPDATE SET data_version = excluded.data_version;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO gridmap_changes (layer, code, data_version)
            SELECT 'areas', code, new_version FROM (SELECT code FROM new_rows UNION SELECT code FROM old_rows) c
            ON CONFLICT (layer, code) DO UPDATE SET data_version = excluded.data_version;
    ELSE
        INSERT INTO gridmap_changes (layer, code, data_version)
            SELECT DISTINCT 'areas', code, new_version FROM old_rows
            ON CONFLICT (layer, code) DO UPDATE SET data_version = excluded.data_version;
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION gridmap_log_staff() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    new_version bigint := gridmap_next_data_version('staff');
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO gridmap_changes (layer, code, data_version)
            SELECT DISTINCT 'staff', area_code, new_version FROM new_rows
            ON CONFLICT (layer, code) DO UPDATE SET data_version = excluded.data_version;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO gridmap_changes (layer, code, data_version)
            SELECT 'staff', area_code, new_version
            FROM (SELECT area_code FROM new_rows UNION SELECT area_code FROM old_rows) c
            ON CONFLICT (layer, code) DO UPDATE SET data_version = excluded.data_version;
    ELSE
        INSERT INTO gridmap_changes (layer, code, data_version)
            SELECT DISTINCT 'staff', area_code, new_version FROM old_rows
            ON CONFLICT (layer, code) DO UPDATE SET data_version = excluded.data_version;
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER areas_data_version ON areas;
DROP TRIGGER staff_data_version ON staff;
DROP TRIGGER addresses_data_version ON addresses;
DROP TRIGGER roads_data_version ON roads;

CREATE TRIGGER areas_log_insert AFTER INSERT ON areas REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gridmap_log_areas();
CREATE TRIGGER areas_log_update AFTER UPDATE ON areas REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gridmap_log_areas();
CREATE TRIGGER areas_log_delete AFTER DELETE ON areas REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gridmap_log_areas();
CREATE TRIGGER areas_log_truncate AFTER TRUNCATE ON areas
    FOR EACH STATEMENT EXECUTE FUNCTION gridmap_log_layer();

CREATE TRIGGER staff_log_insert AFTER INSERT ON staff REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gridmap_log_staff();
CREATE TRIGGER staff_log_update AFTER UPDATE ON staff REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gridmap_log_staff();
CREATE TRIGGER staff_log_delete AFTER DELETE ON staff REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION gridmap_log_staff();
CREATE TRIGGER staff_log_truncate AFTER TRUNCATE ON staff
    FOR EACH STATEMENT EXECUTE FUNCTION gridmap_log_layer();

CREATE TRIGGER addresses_log AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON addresses
    FOR EACH STATEMENT EXECUTE FUNCTION gridmap_log_layer();
CREATE TRIGGER roads_log AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON roads
    FOR EACH STATEMENT EXECUTE FUNCTION gridmap_log_layer();
