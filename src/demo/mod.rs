//! The demo deployment: generated deterministically (`generate`), written to and read from
//! `data/demo/` (`files`). Geometry and people are synthetic; codes and names are real.
pub mod files;
pub mod generate;
pub mod incidents;
pub mod lattice;
pub mod people;
pub mod synthetic;
