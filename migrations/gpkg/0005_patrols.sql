-- Grid workers' GPS fixes (每日巡查轨迹), stored raw: cleaning happens when coverage is computed, so a
-- better cleaning policy later applies to old fixes too. One row per (worker, time): a repeated
-- fix is ignored on insert (ON CONFLICT DO NOTHING), which makes re-sent and out-of-order batches safe.
-- Times are GeoPackage DATETIME text, UTC, millisecond precision ('YYYY-MM-DDTHH:MM:SS.SSSZ'), so
-- text order is time order. lon/lat repeat the point's coordinates: SQLite cannot read a
-- GeoPackage geometry without SpatiaLite, and the window queries filter on them.
-- No data_version trigger: fixes are not part of the city snapshot.
CREATE TABLE patrol_fixes (
    fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    worker TEXT NOT NULL,
    at DATETIME NOT NULL,
    lon REAL NOT NULL CHECK (lon BETWEEN -180 AND 180),
    lat REAL NOT NULL CHECK (lat BETWEEN -90 AND 90),
    -- Reported horizontal accuracy in metres; NULL when the phone did not say.
    accuracy_m REAL CHECK (accuracy_m IS NULL OR accuracy_m >= 0),
    geom POINT NOT NULL
);
CREATE UNIQUE INDEX patrol_fixes_worker_at ON patrol_fixes (worker, at);
CREATE INDEX patrol_fixes_at ON patrol_fixes (at);

INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) VALUES
    ('patrol_fixes', 'features', 'patrol_fixes', 'Grid workers'' raw GPS fixes', 4326);
INSERT INTO gpkg_geometry_columns (table_name, column_name, geometry_type_name, srs_id, z, m) VALUES
    ('patrol_fixes', 'geom', 'POINT', 4326, 0, 0);
