//! Pure geometry: no I/O, no database. Everything here works on `geo-types` values.
pub mod china_crs;
pub mod clip;
pub mod coverage;
pub mod crs;
pub mod dissolve;
pub mod point_in;
pub mod shared_edges;
pub mod snap;
pub mod track;
pub mod validity;
