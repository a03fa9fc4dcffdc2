//! Readers for boundary files: GeoJSON, GeoPackage, shapefile.
