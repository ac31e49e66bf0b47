//! Parsing of files users bring in. Pure: text in, domain values or a precise error out; the store
//! writes them.
pub mod cells;
