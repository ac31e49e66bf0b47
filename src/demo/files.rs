//! The demo on disk (`data/demo/`): `cells.geojson` (every level, parents first, one feature per
//! line so diffs stay readable), and CSVs for buildings, households, staff and assignments.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use geojson::GeometryValue;
use serde_json::{Value, json};

use super::generate::{Assignment, Building, Demo, DivisionNames, Household, Staff};

pub const CELLS: &str = "cells.geojson";
pub const BUILDINGS: &str = "buildings.csv";
pub const HOUSEHOLDS: &str = "households.csv";
pub const STAFF: &str = "staff.csv";
pub const CELL_STAFF: &str = "cell_staff.csv";

#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: {source}")]
    Csv { path: PathBuf, source: csv::Error },
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> FilesError + '_ {
    move |source| FilesError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn csv_error(path: &Path) -> impl FnOnce(csv::Error) -> FilesError + '_ {
    move |source| FilesError::Csv {
        path: path.to_path_buf(),
        source,
    }
}

/// `a;b;c` in one CSV field ↔ a list (CSV has no nested values).
pub mod semicolon_list {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(items: &[String], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&items.join(";"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        let text = String::deserialize(d)?;
        Ok(text
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect())
    }
}

/// A staff member's portrait file, if the demo has one.
pub fn read_photo(dir: &Path, photo: &str) -> Option<Vec<u8>> {
    fs::read(dir.join(photo)).ok()
}

/// Reads `code,name,…` rows (the divisions CSV of `../shared/data/divisions/`).
pub fn read_division_names(path: &Path) -> Result<DivisionNames, FilesError> {
    let mut reader = csv::Reader::from_path(path).map_err(csv_error(path))?;
    let mut names = DivisionNames::new();
    for record in reader.records() {
        let record = record.map_err(csv_error(path))?;
        if let (Some(code), Some(name)) = (record.get(0), record.get(1)) {
            names.insert(code.to_string(), name.to_string());
        }
    }
    Ok(names)
}

/// The cells as the GeoJSON FeatureCollection `gridmap import cells` reads.
pub fn cells_geojson(demo: &Demo) -> String {
    let features: Vec<String> = demo
        .cells
        .iter()
        .map(|cell| {
            let mut properties = serde_json::Map::new();
            properties.insert("code".into(), cell.code.as_str().into());
            properties.insert("name".into(), cell.name.clone().into());
            properties.insert("level".into(), cell.level.into());
            properties.insert(
                "parent".into(),
                cell.parent
                    .as_ref()
                    .map(|p| Value::from(p.as_str()))
                    .unwrap_or(Value::Null),
            );
            properties.insert("kind".into(), cell.kind.as_str().into());
            properties.extend(cell.attributes.clone());
            let geometry: Value =
                serde_json::from_str(&GeometryValue::from(&cell.geometry).to_string())
                    .unwrap_or(Value::Null);
            json!({"type": "Feature", "properties": properties, "geometry": geometry}).to_string()
        })
        .collect();
    format!(
        "{{\"type\":\"FeatureCollection\",\"features\":[\n{}\n]}}\n",
        features.join(",\n")
    )
}

/// Writes all demo files into `dir` (created if missing).
pub fn write(demo: &Demo, dir: &Path) -> Result<(), FilesError> {
    fs::create_dir_all(dir).map_err(io_error(dir))?;
    let cells_path = dir.join(CELLS);
    fs::write(&cells_path, cells_geojson(demo)).map_err(io_error(&cells_path))?;
    write_csv(&dir.join(BUILDINGS), &demo.buildings)?;
    write_csv(&dir.join(HOUSEHOLDS), &demo.households)?;
    write_csv(&dir.join(STAFF), &demo.staff)?;
    let photos = dir.join("photos");
    fs::create_dir_all(&photos).map_err(io_error(&photos))?;
    for (i, member) in demo.staff.iter().enumerate() {
        if let Some(photo) = &member.photo {
            let path = dir.join(photo);
            fs::write(&path, super::people::portrait_svg(&member.name, i))
                .map_err(io_error(&path))?;
        }
    }
    write_csv(&dir.join(CELL_STAFF), &demo.assignments)?;
    let readme = dir.join("README.md");
    fs::write(&readme, README).map_err(io_error(&readme))?;
    Ok(())
}

fn write_csv<T: serde::Serialize>(path: &Path, rows: &[T]) -> Result<(), FilesError> {
    let mut writer = csv::Writer::from_path(path).map_err(csv_error(path))?;
    for row in rows {
        writer.serialize(row).map_err(csv_error(path))?;
    }
    writer.flush().map_err(io_error(path))
}

fn read_csv<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>, FilesError> {
    let mut reader = csv::Reader::from_path(path).map_err(csv_error(path))?;
    reader
        .deserialize()
        .collect::<Result<Vec<T>, _>>()
        .map_err(csv_error(path))
}

/// The non-cell parts of a demo directory.
pub struct Registry {
    pub buildings: Vec<Building>,
    pub households: Vec<Household>,
    pub staff: Vec<Staff>,
    pub assignments: Vec<Assignment>,
}

pub fn read_registry(dir: &Path) -> Result<Registry, FilesError> {
    Ok(Registry {
        buildings: read_csv(&dir.join(BUILDINGS))?,
        households: read_csv(&dir.join(HOUSEHOLDS))?,
        staff: read_csv(&dir.join(STAFF))?,
        assignments: read_csv(&dir.join(CELL_STAFF))?,
    })
}

pub fn read_cells_text(dir: &Path) -> Result<String, FilesError> {
    let path = dir.join(CELLS);
    fs::read_to_string(&path).map_err(io_error(&path))
}

const README: &str = "# Demo deployment: 湄潭县 (synthetic geometry)

Generated by `gridmap demo` (deterministic; regenerate rather than edit by hand).

- **Codes and names are real**: 湄潭县 520328, 湄江街道 520328004 and 永兴镇 520328101 and their
  villages/communities, from the 2023 statistical division codes (统计用区划代码) in
  `../shared/data/divisions/villages_52_guizhou.csv`. Base-grid codes are the village code plus a
  3-digit sequence, numbered west→east, north→south.
- **Geometry is synthetic**: a jittered hexagonal lattice around a point near 湄潭 town, warped so
  that town grids are small and rural grids large. A meandering \"river\" separates the street from
  the town; village borders follow lattice edges like small roads. It is NOT the real boundary of
  any village and must not be used as such (不作为权属界线依据).
- It is an exact coverage at every level: county → 2 townships → 12 villages/communities → base
  grids, sharing edges vertex for vertex. It has two 专属网格 (湄江中学, 永兴工业园区) and one
  enclave (流河渡村 owns a grid inside 中华村).
- **People are fictional**: names are drawn from common surname/given-name characters; every phone
  number is fictional: staff in the 199-0000-xxxx block (all distinct), households in 199-01xx-xxxx;
  household categories (some sensitive) are random.

Files: `cells.geojson` (all levels, parents first), `buildings.csv` (id, address, lon, lat, cell_code),
`households.csv` (private: id, building_id, address, head_name, members, phone, categories),
`staff.csv` (id, name, phone, office_phone, duties, consent_at — publication consent date or empty,
photo), `photos/` (synthetic portraits, published only for staff with consent),
`cell_staff.csv` (cell_code, staff_id, role).
";
