//! gridmap: community governance grids (网格化管理) with an exact coverage at every level.
//!
//! Layers: `domain` (pure rules), `geometry` (pure geometry), `import` (parsing user files),
//! `demo` (the synthetic demo deployment), `store` (PostGIS, the only place with SQL), `http` (axum).

pub mod app;
pub mod atlas;
pub mod config;
pub mod demo;
pub mod domain;
pub mod geometry;
pub mod http;
pub mod import;
pub mod live;
pub mod poster;
pub mod store;
pub mod task;
pub mod tiles;
