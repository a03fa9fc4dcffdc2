-- A plan's own validation thresholds (gridmap_core::plan::PlanRules): a JSON object with any of
-- overlap_tolerance_m, gap_tolerance_m2, min_grid_area_m2, max_grid_area_m2 (null: no limit) and
-- check_numbering; a field left out takes the server's --plan-* value. '{}' for plans stored before.
ALTER TABLE plans ADD COLUMN rules TEXT NOT NULL DEFAULT '{}'
    CHECK (json_valid(rules) AND json_type(rules) = 'object');
