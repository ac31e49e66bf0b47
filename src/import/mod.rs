//! Files users bring in. `cells`, `registry` and `place` are pure: text in, domain values or
//! precise per-row errors out. `service` runs a registry import end to end (parse, place against
//! the atlas and the registered buildings, write through the store) for the CLI and the HTTP API.
pub mod cells;
pub mod place;
pub mod registry;
pub mod service;
