-- Which rows each data version touched, so that a running server (or a second process on the same file)
-- brings its snapshot up to date by reading only what changed instead of the whole city.
--
-- One row per (layer, code): the last data version at which that area's rows (layer `areas`) or its staff
-- (layer `staff`) changed. `code = ''` stands for the whole layer (addresses and roads are logged per
-- layer). Rows are updated in place, so the table never grows beyond the number of codes ever written.
-- SQLite serialises writers, so a reader's transaction sees the log of every version it sees.
--
-- The triggers replace those of 0003 (SQLite has row triggers only; the version still grows by one per
-- row) with one body per event that bumps the version first and then logs it, in that order. Editors
-- such as QGIS fire them too.
CREATE TABLE gridmap_changes (
    layer TEXT NOT NULL CHECK (layer IN ('areas', 'staff', 'addresses', 'roads')),
    code TEXT NOT NULL,
    data_version INTEGER NOT NULL,
    PRIMARY KEY (layer, code)
);
CREATE INDEX gridmap_changes_data_version ON gridmap_changes (data_version);

-- Snapshots at a version before the log existed cannot be brought up to date from it.
ALTER TABLE gridmap_data_version ADD COLUMN changes_from INTEGER NOT NULL DEFAULT 0;
UPDATE gridmap_data_version SET changes_from = version WHERE id = 1;

DROP TRIGGER areas_data_version_insert;
DROP TRIGGER areas_data_version_update;
DROP TRIGGER areas_data_version_delete;
DROP TRIGGER staff_data_version_insert;
DROP TRIGGER staff_data_version_update;
DROP TRIGGER staff_data_version_delete;
DROP TRIGGER addresses_data_version_insert;
DROP TRIGGER addresses_data_version_update;
DROP TRIGGER addresses_data_version_delete;
DROP TRIGGER roads_data_version_insert;
DROP TRIGGER roads_data_version_update;
DROP TRIGGER roads_data_version_delete;

-- (`WHERE id = 1` before ON CONFLICT: SQLite's rule for an upsert from a SELECT.)
CREATE TRIGGER areas_log_insert AFTER INSERT ON areas
BEGIN
    UPDATE gridmap_data_version SET version = version + 1 WHERE id = 1;
    INSERT INTO gridmap_changes (layer, code, data_version)
        SELECT 'areas', NEW.code, version FROM gridmap_data_version WHERE id = 1
        ON CONFLICT (layer, code) DO UPDATE SET data_version = excluded.data_version;
END;
CREATE TRIGGER areas_log_update AFTER UPDATE ON areas
BEGIN
    UPDATE gridmap_data_version SET version = version + 1 WHERE id = 1;
    INSERT INTO gridmap_changes (layer, code, data_version)
        SELECT 'areas', OLD.code, version FROM gridmap_data_version WHERE id = 1
        ON CONFLICT (layer, code) DO UPDATE SET data_version = excluded.data_version;
    INSERT INTO gridmap_changes (layer, code, data_version)
        SELECT 'areas', NEW.code, version FROM gridmap_data_version WHERE id = 1
        ON CONFLICT (layer, code) DO UPDATE SET data_version = excluded.data_version;
END;
CREATE TRIGGER areas_log_delete AFTER DELETE ON areas
BEGIN
    UPDATE gridmap_data_version SET version = version + 1 WHERE id = 1;
    INSERT INTO gridmap_changes (layer, code, data_version)
        SELECT 'areas', OLD.code, version FROM gridmap_data_version WHERE id = 1
        ON CONFLICT (layer, code) DO UPDATE SET data_version = excluded.data_version;
END;

CREATE TRIGGER staff_log_insert AFTER INSERT ON staff
BEGIN
    UPDATE gridmap_data_version SET version = version + 1 WHERE id = 1;
    INSERT INTO gridmap_changes (layer, code, data_version)
        SELECT 'staff', NEW.area_code, version FROM gridmap_data_version WHERE id = 1
        ON CONFLICT (layer, code) DO UPDATE SET data_version = excluded.data_version;
END;
CREATE TRIGGER staff_log_update AFTER UPDATE ON staff
BEGIN
    UPDATE gridmap_data_version SET version = version + 1 WHERE id = 1;
    INSERT INTO gridmap_changes (layer, code, data_version)
        SELECT 'staff', OLD.area_code, version FROM gridmap_data_version WHERE id = 1
        ON CONFLICT (layer, code) DO UPDATE SET data_version = excluded.data_version;
    INSERT INTO gridmap_changes (layer, code, data_version)
        SELECT 'staff', NEW.area_code, version FROM gridmap_data_version WHERE id = 1
        ON CONFLICT (layer, code) DO UPDATE SET data_version = excluded.data_version;
END;
CREATE TRIGGER staff_log_delete AFTER DELETE ON staff
BEGIN
    UPDATE gridmap_data_version SET version = version + 1 WHERE id = 1;
    INSERT INTO gridmap_changes (layer, code, data_version)
        SELECT 'staff', OLD.area_code, version FROM gridmap_data_version WHERE id = 1
        ON CONFLICT (layer, code) DO UPDATE SET data_version = excluded.data_version;
END;

CREATE TRIGGER addresses_log_insert AFTER INSERT ON addresses
BEGIN
    UPDATE gridmap_data_version SET version = version + 1 WHERE id = 1;
    INSERT INTO gridmap_changes (layer, code, data_version)
        SELECT 'addresses', '', version FROM gridmap_data_version WHERE id = 1
        ON CONFLICT (layer, code) DO UPDATE SET data_version = excluded.data_version;
END;
CREATE TRIGGER addresses_log_update AFTER UPDATE ON addresses
BEGIN
    UPDATE gridmap_data_version SET version = version + 1 WHERE id = 1;
    INSERT INTO gridmap_changes (layer, code, data_version)
        SELECT 'addresses', '', version FROM gridmap_data_version WHERE id = 1
        ON CONFLICT (layer, code) DO UPDATE SET data_version = excluded.data_version;
END;
CREATE TRIGGER addresses_log_delete AFTER DELETE ON addresses
BEGIN
    UPDATE gridmap_data_version SET version = version + 1 WHERE id = 1;
    INSERT INTO gridmap_changes (layer, code, data_version)
        SELECT 'addresses', '', version FROM gridmap_data_version WHERE id = 1
        ON CONFLICT (layer, code) DO UPDATE SET data_version = excluded.data_version;
END;

CREATE TRIGGER roads_log_insert AFTER INSERT ON roads
BEGIN
    UPDATE gridmap_data_version SET version = version + 1 WHERE id = 1;
    INSERT INTO gridmap_changes (layer, code, data_version)
        SELECT 'roads', '', version FROM gridmap_data_version WHERE id = 1
        ON CONFLICT (layer, code) DO UPDATE SET data_version = excluded.data_version;
END;
CREATE TRIGGER roads_log_update AFTER UPDATE ON roads
BEGIN
    UPDATE gridmap_data_version SET version = version + 1 WHERE id = 1;
    INSERT INTO gridmap_changes (layer, code, data_version)
        SELECT 'roads', '', version FROM gridmap_data_version WHERE id = 1
        ON CONFLICT (layer, code) DO UPDATE SET data_version = excluded.data_version;
END;
CREATE TRIGGER roads_log_delete AFTER DELETE ON roads
BEGIN
    UPDATE gridmap_data_version SET version = version + 1 WHERE id = 1;
    INSERT INTO gridmap_changes (layer, code, data_version)
        SELECT 'roads', '', version FROM gridmap_data_version WHERE id = 1
        ON CONFLICT (layer, code) DO UPDATE SET data_version = excluded.data_version;
END;
