//! Lengths and areas in metres on WGS-84 lon/lat.
