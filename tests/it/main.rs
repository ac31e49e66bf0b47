//! Integration tests against a real PostGIS (one private cluster per run, one database per test).
mod access;
mod auth;
mod calendar;
mod cluster;
mod coverage_data;
mod demo;
mod drafts;
mod harness;
mod http;
mod import;
mod incidents;
mod migrations;
mod mvt_fixtures;
mod poster;
mod probe;
mod registry;
mod tiles;
