//! gridmap: community governance grids (网格化管理) with an exact coverage at every level.
//!
//! Layers, each importing only those below it (DESIGN.md §2): `domain` (pure types and rules) →
//! `geometry` (pure) → `codec` (users' files into domain types) and `demo` (the synthetic demo's
//! files) → `store` (PostGIS, the only place with SQL) → `atlas` (the snapshot), with `tiles` and
//! `poster` rendering it → `app` (the use cases) → `http` (axum) → `main.rs` (the CLI). `config`
//! and `task` are small helpers any layer may use.

pub mod app;
pub mod atlas;
pub mod codec;
pub mod config;
pub mod demo;
pub mod domain;
pub mod geometry;
pub mod http;
pub mod poster;
pub mod store;
pub mod task;
pub mod tiles;
