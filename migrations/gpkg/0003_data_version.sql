-- A counter that grows with every change to gridmap's layers, whoever makes it (gridmap or an
-- editor such as QGIS), so that a running server can notice that its snapshot is stale.
-- SQLite has only row triggers, so the counter grows by the number of rows changed.
CREATE TABLE gridmap_data_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO gridmap_data_version (id, version) VALUES (1, 0);

CREATE TRIGGER areas_data_version_insert AFTER INSERT ON areas
BEGIN UPDATE gridmap_data_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER areas_data_version_update AFTER UPDATE ON areas
BEGIN UPDATE gridmap_data_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER areas_data_version_delete AFTER DELETE ON areas
BEGIN UPDATE gridmap_data_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER staff_data_version_insert AFTER INSERT ON staff
BEGIN UPDATE gridmap_data_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER staff_data_version_update AFTER UPDATE ON staff
BEGIN UPDATE gridmap_data_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER staff_data_version_delete AFTER DELETE ON staff
BEGIN UPDATE gridmap_data_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER addresses_data_version_insert AFTER INSERT ON addresses
BEGIN UPDATE gridmap_data_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER addresses_data_version_update AFTER UPDATE ON addresses
BEGIN UPDATE gridmap_data_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER addresses_data_version_delete AFTER DELETE ON addresses
BEGIN UPDATE gridmap_data_version SET version = version + 1 WHERE id = 1; END;

CREATE TRIGGER roads_data_version_insert AFTER INSERT ON roads
BEGIN UPDATE gridmap_data_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER roads_data_version_update AFTER UPDATE ON roads
BEGIN UPDATE gridmap_data_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER roads_data_version_delete AFTER DELETE ON roads
BEGIN UPDATE gridmap_data_version SET version = version + 1 WHERE id = 1; END;
