-- Ground that no grid takes by design: rivers and lakes, rail yards, military ground. It lies inside
-- communities (and streets) but belongs to none of their grids, so plan validation does not count it
-- as a gap. Not versioned, like roads: `gridmap import --level excluded --kind K` replaces the rows of
-- kind K. A features layer like the others, so GDAL and QGIS open and edit it.
CREATE TABLE excluded (
    fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('water', 'rail', 'military', 'other')),
    geom MULTIPOLYGON NOT NULL
);

INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) VALUES
    ('excluded', 'features', 'excluded', 'Ground no grid takes: water, rail, military, other', 4326);
INSERT INTO gpkg_geometry_columns (table_name, column_name, geometry_type_name, srs_id, z, m) VALUES
    ('excluded', 'geom', 'MULTIPOLYGON', 4326, 0, 0);

-- The change log (0007) must accept the new layer. SQLite cannot alter a CHECK, so the log is rebuilt
-- with its rows. Not by ALTER TABLE RENAME: since SQLite 3.26 that rewrites the triggers of 0007 to
-- point at the renamed table; dropping and creating it under the same name leaves them as they are.
CREATE TEMP TABLE gridmap_changes_0009 AS SELECT layer, code, data_version FROM gridmap_changes;
DROP TABLE gridmap_changes;
CREATE TABLE gridmap_changes (
    layer TEXT NOT NULL CHECK (layer IN ('areas', 'staff', 'addresses', 'roads', 'excluded')),
    code TEXT NOT NULL,
    data_version INTEGER NOT NULL,
    PRIMARY KEY (layer, code)
);
CREATE INDEX gridmap_changes_data_version ON gridmap_changes (data_version);
INSERT INTO gridmap_changes (layer, code, data_version)
    SELECT layer, code, data_version FROM gridmap_changes_0009;
DROP TABLE gridmap_changes_0009;

-- Logged for the whole layer (code ''), like roads: a server re-reads every row of it.
CREATE TRIGGER excluded_log_insert AFTER INSERT ON excluded
BEGIN
    UPDATE gridmap_data_version SET version = version + 1 WHERE id = 1;
    INSERT INTO gridmap_changes (layer, code, data_version)
        SELECT 'excluded', '', version FROM gridmap_data_version WHERE id = 1
        ON CONFLICT (layer, code) DO UPDATE SET data_version = excluded.data_version;
END;
CREATE TRIGGER excluded_log_update AFTER UPDATE ON excluded
BEGIN
    UPDATE gridmap_data_version SET version = version + 1 WHERE id = 1;
    INSERT INTO gridmap_changes (layer, code, data_version)
        SELECT 'excluded', '', version FROM gridmap_data_version WHERE id = 1
        ON CONFLICT (layer, code) DO UPDATE SET data_version = excluded.data_version;
END;
CREATE TRIGGER excluded_log_delete AFTER DELETE ON excluded
BEGIN
    UPDATE gridmap_data_version SET version = version + 1 WHERE id = 1;
    INSERT INTO gridmap_changes (layer, code, data_version)
        SELECT 'excluded', '', version FROM gridmap_data_version WHERE id = 1
        ON CONFLICT (layer, code) DO UPDATE SET data_version = excluded.data_version;
END;
