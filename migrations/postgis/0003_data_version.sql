-- A counter that grows with every statement changing gridmap's tables, whoever runs it (gridmap
-- or an editor such as QGIS), and a notification on channel `gridmap_changes` carrying
-- {"table": ..., "data_version": ...}, so that running servers can notice a stale snapshot.
CREATE TABLE gridmap_data_version (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    version bigint NOT NULL
);
INSERT INTO gridmap_data_version (id, version) VALUES (true, 0);

CREATE FUNCTION gridmap_bump_data_version() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    new_version bigint;
BEGIN
    UPDATE gridmap_data_version SET version = version + 1 WHERE id RETURNING version INTO new_version;
    -- Delivered at commit only, so listeners never see a rolled-back change.
    PERFORM pg_notify('gridmap_changes',
        json_build_object('table', TG_TABLE_NAME, 'data_version', new_version)::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER areas_data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON areas
    FOR EACH STATEMENT EXECUTE FUNCTION gridmap_bump_data_version();
CREATE TRIGGER staff_data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON staff
    FOR EACH STATEMENT EXECUTE FUNCTION gridmap_bump_data_version();
CREATE TRIGGER addresses_data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON addresses
    FOR EACH STATEMENT EXECUTE FUNCTION gridmap_bump_data_version();
CREATE TRIGGER roads_data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON roads
    FOR EACH STATEMENT EXECUTE FUNCTION gridmap_bump_data_version();
