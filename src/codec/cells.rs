//! A GeoJSON FeatureCollection of cells → `Cell`s, refusing the whole file at the first bad
//! feature with its index and the problem, so a half-good file never reaches the store.

use std::collections::HashSet;

use geo::Validation;
use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use serde_json::{Map, Value};

use crate::domain::cell::{Cell, CellKind};
use crate::domain::code::{CellCode, CodeError, check_level, level_name};
use crate::domain::text::first_unstorable;

/// Why a file of cells was refused. `feature` is the 0-based index in `features`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CellImportError {
    #[error("malformed JSON at line {line}, column {column}: {message}")]
    MalformedJson {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("not a GeoJSON FeatureCollection: {0}")]
    NotFeatureCollection(String),
    #[error("feature {feature}: {problem}")]
    Feature { feature: usize, problem: Problem },
}

impl CellImportError {
    /// The index of the offending feature, when the problem is in one.
    pub fn feature(&self) -> Option<usize> {
        match self {
            CellImportError::Feature { feature, .. } => Some(*feature),
            _ => None,
        }
    }
}

/// What is wrong with one feature.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Problem {
    #[error("not a GeoJSON Feature object")]
    NotAFeature,
    #[error("property `{0}` is missing")]
    MissingProperty(&'static str),
    #[error("property `{field}` must be {expected}")]
    WrongType {
        field: &'static str,
        expected: &'static str,
    },
    #[error("invalid code: {0}")]
    InvalidCode(#[from] CodeError),
    #[error("code {code} is {} digits long, which is level {code_level}, but `level` says {level}", code.len())]
    LevelMismatch {
        code: String,
        code_level: u8,
        level: u8,
    },
    #[error("code {code} must start with its parent's code {parent}")]
    ParentPrefix { code: String, parent: String },
    #[error("cell {code} (level {level}) needs a parent at level {}", level - 1)]
    MissingParent { code: String, level: u8 },
    #[error("unknown parent {parent}: it is neither in this file nor a current cell")]
    UnknownParent { parent: String },
    #[error("kind {kind:?} is not a kind of level {level} ({})", level_name(*level))]
    KindMismatch { kind: String, level: u8 },
    #[error("unknown kind {0:?}")]
    UnknownKind(String),
    #[error("code {0} appears twice in the file (first at feature {1})")]
    DuplicateCode(String, usize),
    #[error("geometry is missing")]
    MissingGeometry,
    #[error("geometry is a {0}, but a cell must be a Polygon or MultiPolygon")]
    NotPolygon(String),
    #[error("coordinate {0} is not a [longitude, latitude] pair of numbers")]
    BadPosition(String),
    #[error("coordinate {0} is not finite")]
    NonFinite(String),
    #[error("coordinate [{lon}, {lat}] is out of range (longitude -180..180, latitude -90..90)")]
    OutOfRange { lon: f64, lat: f64 },
    #[error("ring {ring} has {points} positions; a ring needs at least 4")]
    ShortRing { ring: usize, points: usize },
    #[error("ring {ring} is not closed: its first position differs from its last")]
    UnclosedRing { ring: usize },
    #[error("invalid polygon: {0}")]
    InvalidGeometry(String),
    #[error("overlaps its sibling {other}")]
    OverlapsSibling { other: String },
    #[error("property {0}")]
    Unstorable(crate::domain::text::TextError),
}

fn fail(feature: usize, problem: Problem) -> CellImportError {
    CellImportError::Feature { feature, problem }
}

/// Parses and checks a whole file. The order of the result is the order of the features.
pub fn parse_cells(text: &str) -> Result<Vec<Cell>, CellImportError> {
    let root: Value = serde_json::from_str(text).map_err(|e| CellImportError::MalformedJson {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    if root.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
        return Err(CellImportError::NotFeatureCollection(
            "the top-level `type` must be \"FeatureCollection\"".into(),
        ));
    }
    let features = root
        .get("features")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            CellImportError::NotFeatureCollection("`features` must be an array".into())
        })?;
    let mut seen = std::collections::HashMap::new();
    let mut cells = Vec::with_capacity(features.len());
    for (index, feature) in features.iter().enumerate() {
        let cell = parse_feature(feature).map_err(|p| fail(index, p))?;
        if let Some(first) = seen.insert(cell.code.clone(), index) {
            return Err(fail(
                index,
                Problem::DuplicateCode(cell.code.to_string(), first),
            ));
        }
        cells.push(cell);
    }
    Ok(cells)
}

/// The parents `cells` name that the file itself does not hold, each with the first feature
/// that needs it: the store must find them among the current cells.
pub fn external_parents(cells: &[Cell]) -> Vec<(CellCode, usize)> {
    let in_file: HashSet<&CellCode> = cells.iter().map(|c| &c.code).collect();
    let mut asked = HashSet::new();
    cells
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.parent.as_ref().map(|p| (p, i)))
        .filter(|(p, _)| !in_file.contains(p) && asked.insert((*p).clone()))
        .map(|(p, i)| (p.clone(), i))
        .collect()
}

/// One GeoJSON Feature → a `Cell`, with every rule of the import (codes, levels, kinds, geometry).
pub fn parse_feature(feature: &Value) -> Result<Cell, Problem> {
    let object = feature.as_object().ok_or(Problem::NotAFeature)?;
    if object.get("type").and_then(Value::as_str) != Some("Feature") {
        return Err(Problem::NotAFeature);
    }
    let empty = Map::new();
    let props = match object.get("properties") {
        Some(Value::Object(p)) => p,
        None | Some(Value::Null) => &empty,
        Some(_) => {
            return Err(Problem::WrongType {
                field: "properties",
                expected: "an object",
            });
        }
    };
    // A NUL in any property (a name, an attribute) names the property, not the database.
    if let Some((key, _)) = props
        .iter()
        .find(|(k, v)| k.contains('\0') || first_unstorable(v).is_some())
    {
        return Err(Problem::Unstorable(crate::domain::text::TextError::Nul {
            field: key.replace('\0', "\\u0000"),
        }));
    }
    let code_text = string_prop(props, "code")?.ok_or(Problem::MissingProperty("code"))?;
    let code = CellCode::parse(&code_text)?;
    let code_level = code.level();
    let level = match props.get("level") {
        None | Some(Value::Null) => code_level,
        Some(v) => {
            let n = v.as_i64().ok_or(Problem::WrongType {
                field: "level",
                expected: "an integer 0-4",
            })?;
            check_level(n)?
        }
    };
    if level != code_level {
        return Err(Problem::LevelMismatch {
            code: code.to_string(),
            code_level,
            level,
        });
    }
    let parent = match string_prop(props, "parent")? {
        Some(text) => {
            let parent = CellCode::parse(&text)?;
            if code.parent_code().as_ref() != Some(&parent) {
                return Err(Problem::ParentPrefix {
                    code: code.to_string(),
                    parent: parent.to_string(),
                });
            }
            Some(parent)
        }
        None if level > 0 => {
            return Err(Problem::MissingParent {
                code: code.to_string(),
                level,
            });
        }
        None => None,
    };
    let kind = match string_prop(props, "kind")? {
        Some(name) => {
            let kind = CellKind::parse(&name).ok_or_else(|| Problem::UnknownKind(name.clone()))?;
            if kind.level() != level {
                return Err(Problem::KindMismatch { kind: name, level });
            }
            kind
        }
        None => CellKind::default_for_level(level),
    };
    let name = string_prop(props, "name")?
        .filter(|n| !n.trim().is_empty())
        .ok_or(Problem::MissingProperty("name"))?;
    let geometry = parse_geometry(object.get("geometry"))?;
    let attributes = props
        .iter()
        .filter(|(k, _)| !["code", "name", "level", "parent", "kind"].contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(Cell {
        code,
        parent,
        level,
        kind,
        name: name.trim().to_string(),
        geometry,
        attributes,
    })
}

fn string_prop(props: &Map<String, Value>, field: &'static str) -> Result<Option<String>, Problem> {
    match props.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        // Codes are often written as numbers by spreadsheet exports; accept integral ones.
        Some(Value::Number(n)) if field != "name" && n.is_u64() => Ok(Some(n.to_string())),
        Some(_) => Err(Problem::WrongType {
            field,
            expected: "a string",
        }),
    }
}

/// A GeoJSON Polygon/MultiPolygon → MultiPolygon, checking positions, rings and OGC validity.
pub fn parse_geometry(geometry: Option<&Value>) -> Result<MultiPolygon<f64>, Problem> {
    let geometry = match geometry {
        None | Some(Value::Null) => return Err(Problem::MissingGeometry),
        Some(g) => g,
    };
    let kind = geometry
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("geometry without a type");
    let coordinates = geometry.get("coordinates");
    let mut ring_counter = 0;
    let multi = match (kind, coordinates) {
        ("Polygon", Some(c)) => MultiPolygon(vec![parse_polygon(c, &mut ring_counter)?]),
        ("MultiPolygon", Some(Value::Array(polys))) => MultiPolygon(
            polys
                .iter()
                .map(|p| parse_polygon(p, &mut ring_counter))
                .collect::<Result<_, _>>()?,
        ),
        ("Polygon" | "MultiPolygon", _) => {
            return Err(Problem::BadPosition(
                "`coordinates` is missing or not an array".into(),
            ));
        }
        (other, _) => return Err(Problem::NotPolygon(other.to_string())),
    };
    if multi.0.is_empty() {
        return Err(Problem::InvalidGeometry(
            "the MultiPolygon has no polygons".into(),
        ));
    }
    if let Err(e) = multi.check_validation() {
        return Err(Problem::InvalidGeometry(e.to_string()));
    }
    Ok(multi)
}

fn parse_polygon(value: &Value, ring_counter: &mut usize) -> Result<Polygon<f64>, Problem> {
    let rings = value.as_array().filter(|r| !r.is_empty()).ok_or_else(|| {
        Problem::BadPosition("a polygon must be a non-empty array of rings".into())
    })?;
    let mut parsed = Vec::with_capacity(rings.len());
    for ring in rings {
        let ring_index = *ring_counter;
        *ring_counter += 1;
        let positions = ring
            .as_array()
            .ok_or_else(|| Problem::BadPosition(format!("ring {ring_index} is not an array")))?;
        let coords = positions
            .iter()
            .map(parse_position)
            .collect::<Result<Vec<_>, _>>()?;
        if coords.len() < 4 {
            return Err(Problem::ShortRing {
                ring: ring_index,
                points: coords.len(),
            });
        }
        if coords.first() != coords.last() {
            return Err(Problem::UnclosedRing { ring: ring_index });
        }
        parsed.push(LineString(coords));
    }
    let exterior = parsed.remove(0);
    Ok(Polygon::new(exterior, parsed))
}

fn parse_position(value: &Value) -> Result<Coord<f64>, Problem> {
    let pair = value
        .as_array()
        .filter(|a| a.len() >= 2)
        .ok_or_else(|| Problem::BadPosition(value.to_string()))?;
    let number = |v: &Value| {
        v.as_f64()
            .ok_or_else(|| Problem::BadPosition(value.to_string()))
    };
    let (lon, lat) = (number(&pair[0])?, number(&pair[1])?);
    if !lon.is_finite() || !lat.is_finite() {
        return Err(Problem::NonFinite(value.to_string()));
    }
    if !(-180.0..=180.0).contains(&lon) || !(-90.0..=90.0).contains(&lat) {
        return Err(Problem::OutOfRange { lon, lat });
    }
    Ok(Coord { x: lon, y: lat })
}

/// A `Cell` as the GeoJSON Feature `parse_feature` reads back unchanged (drafts store these).
pub fn feature_of(cell: &Cell) -> Value {
    let mut properties = cell.attributes.clone();
    properties.insert("code".into(), Value::String(cell.code.to_string()));
    properties.insert("name".into(), Value::String(cell.name.clone()));
    properties.insert("level".into(), Value::from(cell.level));
    properties.insert("kind".into(), Value::String(cell.kind.as_str().into()));
    properties.insert(
        "parent".into(),
        cell.parent
            .as_ref()
            .map(|p| Value::String(p.to_string()))
            .unwrap_or(Value::Null),
    );
    serde_json::json!({
        "type": "Feature",
        "id": cell.code.as_str(),
        "properties": properties,
        "geometry": serde_json::to_value(geojson::Geometry::new(geojson::GeometryValue::from(&cell.geometry)))
            .unwrap_or(Value::Null),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collection(features: &str) -> String {
        format!(r#"{{"type":"FeatureCollection","features":[{features}]}}"#)
    }

    fn feature(code: &str, parent: Option<&str>, ring: &str) -> String {
        let parent = parent
            .map(|p| format!(r#","parent":"{p}""#))
            .unwrap_or_default();
        format!(
            r#"{{"type":"Feature","properties":{{"code":"{code}","name":"格{code}"{parent}}},"geometry":{{"type":"Polygon","coordinates":[{ring}]}}}}"#
        )
    }

    const SQUARE: &str = "[[107,27],[107.1,27],[107.1,27.1],[107,27.1],[107,27]]";

    fn problem(text: &str) -> (usize, Problem) {
        match parse_cells(text) {
            Err(CellImportError::Feature { feature, problem }) => (feature, problem),
            other => panic!("expected a feature error, got {other:?}"),
        }
    }

    #[test]
    fn a_county_and_a_township_parse_with_derived_level_and_kind() {
        let text = collection(&format!(
            "{},{}",
            feature("520328", None, SQUARE),
            feature("520328004", Some("520328"), SQUARE)
        ));
        let cells = parse_cells(&text).unwrap();
        assert_eq!(cells.len(), 2);
        assert_eq!(cells[1].level, 1);
        assert_eq!(cells[1].kind, CellKind::Township);
        assert!(external_parents(&cells).is_empty());
    }

    #[test]
    fn each_bad_input_names_its_feature() {
        let good = feature("520328", None, SQUARE);
        type Expect = fn(&Problem) -> bool;
        let cases: Vec<(String, Expect)> = vec![
            (r#"{"type":"Feature","properties":{"name":"x"},"geometry":null}"#.into(), |p| {
                matches!(p, Problem::MissingProperty("code"))
            }),
            (feature("52032800X", Some("520328"), SQUARE), |p| {
                matches!(p, Problem::InvalidCode(_))
            }),
            (feature("520328004", Some("520329"), SQUARE), |p| {
                matches!(p, Problem::ParentPrefix { .. })
            }),
            (
                r#"{"type":"Feature","properties":{"code":"520328004","parent":"520328","level":2,"name":"x"},"geometry":null}"#.into(),
                |p| matches!(p, Problem::LevelMismatch { level: 2, code_level: 1, .. }),
            ),
            (
                r#"{"type":"Feature","properties":{"code":"520328004","parent":"520328","name":"x"},"geometry":{"type":"LineString","coordinates":[[107,27],[108,28]]}}"#.into(),
                |p| matches!(p, Problem::NotPolygon(k) if k == "LineString"),
            ),
            (feature("520328004", Some("520328"), "[[107,27],[200,27],[107.1,27.1],[107,27]]"), |p| {
                matches!(p, Problem::OutOfRange { .. })
            }),
            (feature("520328004", Some("520328"), "[[107,27],[107.1,27],[107.1,27.1],[107,27.1]]"), |p| {
                matches!(p, Problem::UnclosedRing { ring: 0 })
            }),
            (feature("520328004", Some("520328"), "[[107,27],[107.1,27],[107,27]]"), |p| {
                matches!(p, Problem::ShortRing { points: 3, .. })
            }),
            (feature("520328004", Some("520328"), "[[107,27],[107.1,27.1],[107.1,27],[107,27.1],[107,27]]"), |p| {
                matches!(p, Problem::InvalidGeometry(_))
            }),
            (feature("520328", None, SQUARE), |p| matches!(p, Problem::DuplicateCode(_, 0))),
        ];
        for (bad, expected) in cases {
            let text = collection(&format!("{good},{bad}"));
            let (index, problem) = problem(&text);
            assert_eq!(index, 1, "{bad}");
            assert!(expected(&problem), "{bad} gave {problem:?}");
        }
    }

    #[test]
    fn huge_numbers_are_refused_as_malformed_with_line_and_column() {
        let text = "{\"type\":\"FeatureCollection\",\n\"features\":[1e999]}";
        match parse_cells(text) {
            Err(CellImportError::MalformedJson { line: 2, .. }) => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn truncated_json_reports_line_and_column() {
        let text = "{\"type\":\"FeatureCollection\",\n\"features\":[\n{\"type\":";
        let err = parse_cells(text).unwrap_err();
        assert!(
            matches!(err, CellImportError::MalformedJson { line: 3, .. }),
            "{err}"
        );
    }

    #[test]
    fn parents_outside_the_file_are_listed_once_with_their_first_feature() {
        let text = collection(&format!(
            "{},{}",
            feature("520328004001", Some("520328004"), SQUARE),
            feature("520328004002", Some("520328004"), SQUARE)
        ));
        let cells = parse_cells(&text).unwrap();
        let parents = external_parents(&cells);
        assert_eq!(parents.len(), 1);
        assert_eq!(parents[0].0.as_str(), "520328004");
        assert_eq!(parents[0].1, 0);
    }
}
