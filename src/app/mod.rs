//! Use cases (DESIGN.md §2): each owns its transaction, the snapshot swap or the live events,
//! and is called the same way by an HTTP handler, the CLI, a benchmark or a test — never
//! through HTTP. Below it: domain, store, atlas; above it: http and the CLI.

pub mod atlas;
pub mod calendar;
pub mod demo;
pub mod departments;
pub mod fieldwork;
pub mod incidents;
pub mod intake;
pub mod live;
pub mod planning;
pub mod poster;
pub mod public;
pub mod registry;
pub mod teams;
