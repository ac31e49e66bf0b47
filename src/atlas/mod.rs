//! The atlas: an immutable in-memory snapshot of one revision (cells, R-tree), swapped atomically
//! when a new revision is committed. Readers never block and never touch the database.
pub mod check;
pub mod colour;
pub mod draft;
pub mod impact;
mod locator;
pub mod neighbours;
pub mod snapshot;
pub mod topology;

pub use snapshot::{Atlas, AtlasCell, Located, Shapes};

/// A point within this distance of a cell's border is answered with `near_boundary_m` (by locate
/// and by an incident report): the caller may want to check which side it is on.
pub const NEAR_BOUNDARY_M: f64 = 20.0;

/// The snapshot every request reads; swapped (by `app::atlas`) when a revision is committed.
pub type SharedAtlas = std::sync::Arc<arc_swap::ArcSwap<Atlas>>;
