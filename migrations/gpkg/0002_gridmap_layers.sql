-- gridmap's layers. Geometries are GeoPackage binary (header + little-endian WKB), EPSG:4326.
-- No rtree spatial index (gpkg_rtree_index extension): gridmap answers spatial queries from its
-- own in-memory index, and GDAL/QGIS work without one (QGIS merely pans a little slower).

-- Every version of every area. A change closes the current row (valid_to) and inserts a new
-- one; rows are never overwritten. Times are GeoPackage DATETIME text, UTC, millisecond
-- precision: 'YYYY-MM-DDTHH:MM:SS.SSSZ'.
CREATE TABLE areas (
    fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    level TEXT NOT NULL
        CHECK (level IN ('district', 'street', 'community', 'grid', 'micro_grid')),
    kind TEXT
        CHECK (kind IN ('residential', 'commercial', 'road', 'village', 'market', 'industrial_park',
                        'school', 'hospital', 'enterprise', 'government', 'other')),
    parent_code TEXT,
    version INTEGER NOT NULL CHECK (version >= 1),
    valid_from DATETIME NOT NULL,
    valid_to DATETIME,
    author TEXT NOT NULL,
    reason TEXT NOT NULL,
    geom MULTIPOLYGON NOT NULL,
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
-- At most one current version per code; this is also what makes a batch with a duplicate code fail.
CREATE UNIQUE INDEX areas_current_code ON areas (code) WHERE valid_to IS NULL;
CREATE UNIQUE INDEX areas_code_version ON areas (code, version);

-- Staff of the current version of an area (replaced whole when the area gets a new version).
CREATE TABLE staff (
    fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    area_code TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('leader', 'full_time', 'part_time', 'police', 'doctor')),
    name TEXT NOT NULL,
    phone TEXT NOT NULL
);
CREATE INDEX staff_area_code ON staff (area_code);

CREATE TABLE addresses (
    fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    full_address TEXT NOT NULL,
    road TEXT NOT NULL,
    number TEXT NOT NULL,
    building TEXT NOT NULL,
    geom POINT NOT NULL
);

CREATE TABLE roads (
    fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL,
    class TEXT NOT NULL,
    geom LINESTRING NOT NULL
);

INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) VALUES
    ('areas', 'features', 'areas', 'Grid tree: every version of every area', 4326),
    ('staff', 'attributes', 'staff', 'Staff of each current area', NULL),
    ('addresses', 'features', 'addresses', 'Doorplate addresses', 4326),
    ('roads', 'features', 'roads', 'Road centrelines', 4326);

INSERT INTO gpkg_geometry_columns (table_name, column_name, geometry_type_name, srs_id, z, m) VALUES
    ('areas', 'geom', 'MULTIPOLYGON', 4326, 0, 0),
    ('addresses', 'geom', 'POINT', 4326, 0, 0),
    ('roads', 'geom', 'LINESTRING', 4326, 0, 0);
