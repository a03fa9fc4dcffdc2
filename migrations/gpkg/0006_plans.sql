-- Plans (规划草案): drafts of boundary changes that planners check (validation, impact) before they commit
-- them. A plain attribute table: the edits carry their own geometries as GeoJSON inside `edits`, which QGIS
-- need not draw (the committed result lands in `areas` as new versions, with the plan's author and reason).
-- Times are GeoPackage DATETIME text, UTC, millisecond precision ('YYYY-MM-DDTHH:MM:SS.SSSZ').
-- No data_version trigger: a draft is not part of the city snapshot until it is committed.
CREATE TABLE plans (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL,
    author TEXT NOT NULL,
    reason TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('draft', 'committed', 'abandoned')),
    -- JSON array of edits, each tagged by `op` (see gridmap_core::plan::PlanEdit), geometries RFC 7946.
    edits TEXT NOT NULL CHECK (json_valid(edits)),
    -- JSON object {code: version}: the area versions the plan was drawn against; a commit re-checks them.
    base_versions TEXT NOT NULL CHECK (json_valid(base_versions)),
    -- Grows by one with every change of the plan (If-Match on edits: optimistic concurrency).
    version INTEGER NOT NULL CHECK (version >= 1),
    created_at DATETIME NOT NULL,
    updated_at DATETIME NOT NULL,
    committed_at DATETIME,
    CHECK ((status = 'committed') = (committed_at IS NOT NULL))
);
CREATE INDEX plans_status ON plans (status);

INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) VALUES
    ('plans', 'attributes', 'plans', 'Planners'' drafts of boundary changes and their fate', NULL);
