-- Incident reports (事件) and their cases. One row per report holds the case as it is now, the routing at
-- intake (never changed afterwards) and the point, so QGIS shows reports as a point layer; every transition is
-- a row of `report_events`. Times are GeoPackage DATETIME text, UTC, millisecond precision
-- ('YYYY-MM-DDTHH:MM:SS.SSSZ'), so comparing them as text compares the times.
CREATE TABLE reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    -- The client's id: the same id twice is one report.
    client_id TEXT NOT NULL UNIQUE,
    channel TEXT NOT NULL
        CHECK (channel IN ('patrol', 'hotline_12345', 'video', 'transfer_110', 'app')),
    category TEXT NOT NULL
        CHECK (category IN ('01', '02', '03', '04', '05', '06', '07', '08', '09', '10', 'emergency')),
    description TEXT NOT NULL,
    reporter TEXT,
    reported_at DATETIME NOT NULL,
    received_at DATETIME NOT NULL,
    -- WGS-84 lon/lat (also in `geom`), and the coordinates as sent with their system.
    lon REAL NOT NULL,
    lat REAL NOT NULL,
    input_crs TEXT NOT NULL CHECK (input_crs IN ('wgs84', 'gcj02', 'bd09')),
    input_lon REAL NOT NULL,
    input_lat REAL NOT NULL,
    -- The routing at intake.
    route_area_code TEXT NOT NULL,
    route_level TEXT NOT NULL,
    route_rule TEXT NOT NULL,
    route_distance_m REAL NOT NULL,
    route_micro_grid_code TEXT,
    -- JSON array of codes, coarsest first.
    route_chain TEXT NOT NULL,
    -- Staff chosen at intake.
    leader_name TEXT,
    leader_phone TEXT,
    leader_role TEXT,
    handler_name TEXT,
    handler_phone TEXT,
    handler_role TEXT,
    handler_reason TEXT NOT NULL,
    -- The case now.
    stage TEXT NOT NULL
        CHECK (stage IN ('registered', 'dispatched', 'handling', 'verification', 'closed', 'returned',
                         'escalated')),
    area_code TEXT NOT NULL,
    level TEXT NOT NULL,
    assignee TEXT,
    stage_since DATETIME NOT NULL,
    deadline DATETIME,
    closed_at DATETIME,
    -- Grows by one with every event; writers update only the version they read (optimistic concurrency).
    version INTEGER NOT NULL CHECK (version >= 1),
    geom POINT NOT NULL
);
CREATE INDEX reports_area_code ON reports (area_code);
CREATE INDEX reports_stage_deadline ON reports (stage, deadline);
CREATE INDEX reports_received_at ON reports (received_at);

-- Every transition: who, when, from which stage to which, why. `seq` counts from 1 per report.
CREATE TABLE report_events (
    fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    report_id INTEGER NOT NULL REFERENCES reports (id),
    seq INTEGER NOT NULL,
    at DATETIME NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    from_stage TEXT NOT NULL,
    to_stage TEXT NOT NULL,
    reason TEXT,
    area_code TEXT NOT NULL,
    assignee TEXT,
    deadline DATETIME,
    UNIQUE (report_id, seq)
);

INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) VALUES
    ('reports', 'features', 'reports', 'Incident reports and the current state of their cases', 4326),
    ('report_events', 'attributes', 'report_events', 'Every transition of every report', NULL);

INSERT INTO gpkg_geometry_columns (table_name, column_name, geometry_type_name, srs_id, z, m) VALUES
    ('reports', 'geom', 'POINT', 4326, 0, 0);
