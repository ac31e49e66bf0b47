//! Domain types and rules: pure values, no I/O.
pub mod access;
pub mod address;
pub mod assessment;
pub mod calendar;
pub mod category;
pub mod cell;
pub mod code;
pub mod draft;
pub mod duty;
pub mod incident;
pub mod kpi;
pub mod role;
pub mod sizing;
pub mod sla;
pub mod team;
pub mod text;
