//! The validation report: every violation with its kind, the cells involved, its geodesic area
//! and a geometry showing where — in the JSON shape of DESIGN.md §3.

use geo_types::Geometry;
use serde_json::{Value, json};

/// Kinds of violation, in the order reports list them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    InvalidGeometry,
    DuplicateCode,
    BadCode,
    UnknownParent,
    LevelMismatch,
    Overlap,
    Gap,
    OutsideParent,
    EdgeMismatch,
    Multipart,
    SizeBand,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::InvalidGeometry => "invalid_geometry",
            Kind::DuplicateCode => "duplicate_code",
            Kind::BadCode => "bad_code",
            Kind::UnknownParent => "unknown_parent",
            Kind::LevelMismatch => "level_mismatch",
            Kind::Overlap => "overlap",
            Kind::Gap => "gap",
            Kind::OutsideParent => "outside_parent",
            Kind::EdgeMismatch => "edge_mismatch",
            Kind::Multipart => "multipart",
            Kind::SizeBand => "size_band",
        }
    }
}

/// Errors break the coverage rule; warnings (multipart, size band) are for the planner's eye.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub kind: Kind,
    pub severity: Severity,
    pub cells: Vec<String>,
    pub area_m2: Option<f64>,
    pub geometry: Option<Geometry<f64>>,
    pub message: String,
}

impl Violation {
    pub fn error(kind: Kind, cells: Vec<String>, message: String) -> Self {
        Violation {
            kind,
            severity: Severity::Error,
            cells,
            area_m2: None,
            geometry: None,
            message,
        }
    }

    pub fn warning(kind: Kind, cells: Vec<String>, message: String) -> Self {
        Violation {
            severity: Severity::Warning,
            ..Self::error(kind, cells, message)
        }
    }

    pub fn to_json(&self) -> Value {
        let geometry = self
            .geometry
            .as_ref()
            .and_then(|g| {
                serde_json::from_str::<Value>(&geojson::GeometryValue::from(g).to_string()).ok()
            })
            .unwrap_or(Value::Null);
        json!({
            "kind": self.kind,
            "severity": self.severity,
            "cells": self.cells,
            "area_m2": self.area_m2.map(|a| (a * 1000.0).round() / 1000.0),
            "geometry": geometry,
            "message": self.message,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// True when no violation is an error.
    pub valid: bool,
    pub violations: Vec<Violation>,
}

impl Report {
    pub fn new(violations: Vec<Violation>) -> Report {
        Report {
            valid: violations.iter().all(|v| v.severity == Severity::Warning),
            violations,
        }
    }

    pub fn errors(&self) -> impl Iterator<Item = &Violation> {
        self.violations
            .iter()
            .filter(|v| v.severity == Severity::Error)
    }

    pub fn count(&self, kind: Kind) -> usize {
        self.violations.iter().filter(|v| v.kind == kind).count()
    }

    pub fn to_json(&self) -> Value {
        json!({
            "valid": self.valid,
            "violations": self.violations.iter().map(Violation::to_json).collect::<Vec<_>>(),
        })
    }

    /// A few lines for people: counts per kind, then each error's message.
    pub fn summary(&self, limit: usize) -> String {
        let mut counts: std::collections::BTreeMap<Kind, usize> = Default::default();
        for v in &self.violations {
            *counts.entry(v.kind).or_default() += 1;
        }
        let mut out = if self.valid {
            "valid: the cells cover their parents exactly".to_string()
        } else {
            format!(
                "INVALID: {} violation(s) break the coverage rule",
                self.errors().count()
            )
        };
        for (kind, n) in counts {
            out.push_str(&format!("\n  {:<17} {n}", kind.as_str()));
        }
        for v in self.violations.iter().take(limit) {
            let area = v
                .area_m2
                .map(|a| format!(" ({a:.3} m²)"))
                .unwrap_or_default();
            out.push_str(&format!(
                "\n- {} [{}]{area}: {}",
                v.kind.as_str(),
                v.cells.join(", "),
                v.message
            ));
        }
        if self.violations.len() > limit {
            out.push_str(&format!(
                "\n… and {} more (use --json for all)",
                self.violations.len() - limit
            ));
        }
        out
    }
}
