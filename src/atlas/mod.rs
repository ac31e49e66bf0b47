//! The atlas: an immutable in-memory snapshot of one revision (cells, R-tree), swapped atomically
//! when a new revision is committed. Readers never block and never touch the database.
pub mod check;
pub mod draft;
pub mod impact;
pub mod neighbours;
pub mod snapshot;

pub use snapshot::{Atlas, AtlasCell, Located};

/// The snapshot every request reads; swapped (by `app::atlas`) when a revision is committed.
pub type SharedAtlas = std::sync::Arc<arc_swap::ArcSwap<Atlas>>;
