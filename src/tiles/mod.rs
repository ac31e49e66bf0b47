//! Vector tiles (MVT 2.1) of the atlas, encoded in Rust with the `mvt` crate — never by PostGIS.
//! Knows nothing of HTTP: `http/tiles.rs` calls it and sets headers.
pub mod cache;
pub mod encode;
pub mod label;
pub mod mercator;
pub mod simplify;
pub mod source;

pub use encode::{Layer, encode_tile};
pub use source::TileSource;
