//! Polygon validity checks for imported and edited boundaries.
