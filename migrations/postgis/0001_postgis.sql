-- PostGIS itself. A no-op where the database was created from a template that has it.
CREATE EXTENSION IF NOT EXISTS postgis;
