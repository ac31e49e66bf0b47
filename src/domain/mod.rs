//! Domain types and rules: pure values, no I/O.
pub mod address;
pub mod category;
pub mod cell;
pub mod code;
pub mod role;
