//! Cells as the validator reads them: raw rings, nothing repaired, so that every defect of the
//! input can be reported rather than refused at the door.

use geo_types::Coord;
use serde_json::Value;

use crate::geometry::validity::Ring;

/// One cell of the input. `polygons` are raw rings (shell first); `geometry_note` says why there
/// are none when the geometry is not polygonal.
#[derive(Debug, Clone, PartialEq)]
pub struct CoverageCell {
    pub code: String,
    pub level: Option<u8>,
    pub parent: Option<String>,
    pub polygons: Vec<Vec<Ring>>,
    pub geometry_note: Option<String>,
    /// Index of the feature in its file, for messages.
    pub feature: usize,
}

impl CoverageCell {
    /// A cell from valid geo-types geometry (the atlas, drafts and tests use this).
    pub fn from_multipolygon(
        code: &str,
        level: Option<u8>,
        parent: Option<&str>,
        geometry: &geo_types::MultiPolygon<f64>,
    ) -> CoverageCell {
        CoverageCell {
            code: code.to_string(),
            level,
            parent: parent.map(String::from),
            polygons: geometry
                .0
                .iter()
                .map(|p| {
                    std::iter::once(p.exterior())
                        .chain(p.interiors())
                        .map(|r| r.0.clone())
                        .collect()
                })
                .collect(),
            geometry_note: None,
            feature: 0,
        }
    }
}

/// Why a file cannot be read at all (exit status 2 of `gridmap validate`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InputError {
    #[error("malformed JSON at line {line}, column {column}: {message}")]
    MalformedJson {
        line: usize,
        column: usize,
        message: String,
    },
    #[error("not a GeoJSON FeatureCollection")]
    NotFeatureCollection,
    #[error("feature {0}: property `{1}` (the cell code) is missing")]
    MissingCode(usize, String),
}

/// Reads a FeatureCollection; `code_property` names the code (e.g. `code`, or `id` for US FIPS).
/// A feature's top-level `id` is used when the property is absent.
pub fn cells_from_geojson(
    text: &str,
    code_property: &str,
) -> Result<Vec<CoverageCell>, InputError> {
    let root: Value = serde_json::from_str(text).map_err(|e| InputError::MalformedJson {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    if root.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
        return Err(InputError::NotFeatureCollection);
    }
    let features = root
        .get("features")
        .and_then(Value::as_array)
        .ok_or(InputError::NotFeatureCollection)?;
    features
        .iter()
        .enumerate()
        .map(|(i, feature)| {
            let props = feature.get("properties").unwrap_or(&Value::Null);
            let text_of = |v: &Value| match v {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            };
            let code = props
                .get(code_property)
                .and_then(text_of)
                .or_else(|| feature.get("id").and_then(text_of))
                .ok_or_else(|| InputError::MissingCode(i, code_property.to_string()))?;
            let level = props
                .get("level")
                .and_then(Value::as_u64)
                .map(|l| l.min(255) as u8);
            let parent = props.get("parent").and_then(text_of);
            let (polygons, geometry_note) = read_polygons(feature.get("geometry"));
            Ok(CoverageCell {
                code,
                level,
                parent,
                polygons,
                geometry_note,
                feature: i,
            })
        })
        .collect()
}

fn read_polygons(geometry: Option<&Value>) -> (Vec<Vec<Ring>>, Option<String>) {
    let Some(geometry) = geometry.filter(|g| !g.is_null()) else {
        return (Vec::new(), Some("no geometry".into()));
    };
    let kind = geometry.get("type").and_then(Value::as_str).unwrap_or("?");
    let coordinates = geometry.get("coordinates");
    let polygons = match (kind, coordinates) {
        ("Polygon", Some(c)) => read_polygon(c).map(|p| vec![p]),
        ("MultiPolygon", Some(Value::Array(ps))) => ps.iter().map(read_polygon).collect(),
        _ => None,
    };
    match polygons {
        Some(p) => (p, None),
        None => (
            Vec::new(),
            Some(format!(
                "geometry is a {kind} or has unreadable coordinates"
            )),
        ),
    }
}

fn read_polygon(value: &Value) -> Option<Vec<Ring>> {
    value
        .as_array()?
        .iter()
        .map(|ring| {
            ring.as_array()?
                .iter()
                .map(|p| {
                    let p = p.as_array()?;
                    Some(Coord {
                        x: p.first()?.as_f64()?,
                        y: p.get(1)?.as_f64()?,
                    })
                })
                .collect::<Option<Ring>>()
        })
        .collect()
}
