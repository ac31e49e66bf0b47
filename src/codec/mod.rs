//! Users' files into domain types: the cells GeoJSON and the registry's CSV/GeoJSON, parsed and
//! checked with every problem named by its feature or line, and the placing of registry rows
//! (given a way to locate a point). Pure: no I/O, no database, no atlas.
pub mod cells;
pub mod place;
pub mod registry;
pub mod staff;
pub mod table;
