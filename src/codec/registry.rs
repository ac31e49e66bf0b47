//! Reading the registry files villages really have: CSV from Excel (UTF-8, with or without BOM,
//! or GB18030) or GeoJSON, columns found by a header row in Chinese or English, coordinates in any
//! CRS we accept. Each row becomes a record or a rejection naming its line and the reason; one bad
//! row never hides the others.

use geo_types::Coord;
use serde_json::Value;

pub use crate::geometry::crs::Crs;

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Buildings,
    Households,
}

impl Kind {
    pub fn parse(name: &str) -> Option<Kind> {
        match name {
            "buildings" => Some(Kind::Buildings),
            "households" => Some(Kind::Households),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RegistryFileError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is neither UTF-8 nor GB18030 text")]
    Encoding,
    #[error("line 1: the header has no column for {0} (accepted names: {1})")]
    MissingColumn(&'static str, String),
    #[error("line {line}: {message}")]
    Csv { line: u64, message: String },
    #[error("not a GeoJSON FeatureCollection: {0}")]
    GeoJson(String),
}

/// The text of a file and the encoding it was read as. Excel in China writes GB18030 (GBK) CSV by
/// default; a BOM marks UTF-8.
pub fn decode(bytes: &[u8]) -> Result<(String, &'static str), RegistryFileError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(RegistryFileError::Empty);
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok((text.to_string(), "UTF-8"));
    }
    let (text, _, had_errors) = encoding_rs::GB18030.decode(bytes);
    if had_errors {
        return Err(RegistryFileError::Encoding);
    }
    Ok((text.into_owned(), "GB18030"))
}

/// One record of a registry file, before placement.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// 1-based line of a CSV file (header = line 1), or 1-based feature number of GeoJSON.
    pub line: u64,
    /// The row's own id (`编号`), used to update rows on a re-import.
    pub ext_id: Option<String>,
    pub address: String,
    /// CGCS2000 longitude/latitude, when the row has coordinates.
    pub point: Option<Coord<f64>>,
    /// Households only: the building's id (`楼栋编号`) when the file gives it.
    pub building: Option<String>,
    pub head_name: Option<String>,
    pub members: Option<i32>,
    pub phone: Option<String>,
    pub categories: Vec<String>,
}

/// A row that cannot become a record.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    pub line: u64,
    pub reason: String,
}

/// Column names accepted for each field, Chinese and English.
const COLUMNS: [(&str, &[&str]); 9] = [
    ("id", &["id", "编号", "ext_id", "户编号"]),
    (
        "address",
        &["address", "地址", "门牌", "门牌地址", "住址", "详细地址"],
    ),
    (
        "lon",
        &["lon", "lng", "longitude", "x", "经度", "东坐标", "easting"],
    ),
    (
        "lat",
        &["lat", "latitude", "y", "纬度", "北坐标", "northing"],
    ),
    (
        "building",
        &[
            "building_id",
            "building",
            "楼栋编号",
            "房屋编号",
            "建筑编号",
        ],
    ),
    ("head_name", &["head_name", "head", "户主", "户主姓名"]),
    (
        "members",
        &["members", "人数", "家庭人口", "人口数", "户人数"],
    ),
    ("phone", &["phone", "电话", "联系电话", "手机"]),
    (
        "categories",
        &["categories", "category", "类别", "人员类别", "户类别"],
    ),
];

fn column_of(header: &str) -> Option<&'static str> {
    let h = header.trim().trim_start_matches('\u{FEFF}').to_lowercase();
    COLUMNS
        .iter()
        .find(|(_, names)| names.iter().any(|n| n.to_lowercase() == h))
        .map(|(field, _)| *field)
}

/// Reads a CSV registry file into records and rejections.
pub fn parse_csv(
    text: &str,
    kind: Kind,
    crs: Crs,
) -> Result<Vec<Result<Record, Rejected>>, RegistryFileError> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| RegistryFileError::Csv {
            line: 1,
            message: e.to_string(),
        })?
        .clone();
    let mut index: std::collections::HashMap<&'static str, usize> = Default::default();
    for (i, h) in headers.iter().enumerate() {
        if let Some(field) = column_of(h) {
            index.entry(field).or_insert(i);
        }
    }
    let need: &[&'static str] = match kind {
        Kind::Buildings => &["address", "lon", "lat"],
        Kind::Households => &["address", "head_name", "members"],
    };
    for field in need {
        if !index.contains_key(field) {
            let names = COLUMNS
                .iter()
                .find(|(f, _)| f == field)
                .map(|(_, n)| n.join(", "))
                .unwrap_or_default();
            return Err(RegistryFileError::MissingColumn(field, names));
        }
    }
    let mut out = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                out.push(Err(Rejected {
                    line,
                    reason: format!("unreadable row: {e}"),
                }));
                continue;
            }
        };
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let get = |field: &str| {
            index
                .get(field)
                .and_then(|&i| record.get(i))
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        if record.iter().all(|v| v.trim().is_empty()) {
            continue; // Excel leaves empty rows at the end.
        }
        out.push(record_of(line, kind, crs, &get));
    }
    Ok(out)
}

/// Reads a GeoJSON FeatureCollection of Points (properties named as the CSV columns).
pub fn parse_geojson(
    text: &str,
    kind: Kind,
    crs: Crs,
) -> Result<Vec<Result<Record, Rejected>>, RegistryFileError> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| RegistryFileError::GeoJson(e.to_string()))?;
    let features = value
        .get("features")
        .and_then(Value::as_array)
        .filter(|_| value.get("type").and_then(Value::as_str) == Some("FeatureCollection"))
        .ok_or_else(|| RegistryFileError::GeoJson("no \"features\" array".into()))?;
    Ok(features
        .iter()
        .enumerate()
        .map(|(i, feature)| {
            let line = i as u64 + 1;
            let props = feature.get("properties").and_then(Value::as_object);
            let mut fields: std::collections::HashMap<&'static str, String> = Default::default();
            for (k, v) in props.into_iter().flatten() {
                if let Some(field) = column_of(k) {
                    let text = match v {
                        Value::String(s) => s.clone(),
                        Value::Number(n) => n.to_string(),
                        Value::Array(items) => items
                            .iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join(","),
                        _ => continue,
                    };
                    fields.insert(field, text);
                }
            }
            match feature.get("geometry") {
                Some(g) if g.get("type").and_then(Value::as_str) == Some("Point") => {
                    let c = g.get("coordinates").and_then(Value::as_array);
                    let x = c.and_then(|c| c.first()).and_then(Value::as_f64);
                    let y = c.and_then(|c| c.get(1)).and_then(Value::as_f64);
                    match (x, y) {
                        (Some(x), Some(y)) => {
                            fields.insert("lon", x.to_string());
                            fields.insert("lat", y.to_string());
                        }
                        _ => {
                            return Err(Rejected {
                                line,
                                reason: "the Point has no [x, y] coordinates".into(),
                            });
                        }
                    }
                }
                None | Some(Value::Null) => {}
                Some(_) => {
                    return Err(Rejected {
                        line,
                        reason: "the geometry must be a Point".into(),
                    });
                }
            }
            let get = |field: &str| {
                fields
                    .get(field)
                    .map(|s| s.trim())
                    .filter(|s| !s.is_empty())
            };
            record_of(line, kind, crs, &get)
        })
        .collect())
}

fn record_of<'a>(
    line: u64,
    kind: Kind,
    crs: Crs,
    get: &dyn Fn(&str) -> Option<&'a str>,
) -> Result<Record, Rejected> {
    let reject = |reason: String| Rejected { line, reason };
    // Text PostgreSQL cannot store rejects this row only, naming the column.
    for (field, names) in COLUMNS {
        if let Some(value) = get(field) {
            crate::domain::text::storable(names.first().copied().unwrap_or(field), value)
                .map_err(|e| reject(e.to_string()))?;
        }
    }
    let address = get("address")
        .ok_or_else(|| reject("the address (地址/门牌) is empty".into()))?
        .to_string();
    let point = match (get("lon"), get("lat")) {
        (Some(x), Some(y)) => {
            let x: f64 = x
                .parse()
                .map_err(|_| reject(format!("longitude/x {x:?} is not a number")))?;
            let y: f64 = y
                .parse()
                .map_err(|_| reject(format!("latitude/y {y:?} is not a number")))?;
            Some(crs.to_cgcs2000(x, y).map_err(reject)?)
        }
        (None, None) => None,
        _ => return Err(reject("only one of the two coordinates is given".into())),
    };
    if kind == Kind::Buildings && point.is_none() {
        return Err(reject("a building needs its coordinates".into()));
    }
    let mut record = Record {
        line,
        // A buildings file may name its id column 楼栋编号.
        ext_id: get("id")
            .or(if kind == Kind::Buildings {
                get("building")
            } else {
                None
            })
            .map(str::to_string),
        address,
        point,
        building: get("building").map(str::to_string),
        head_name: None,
        members: None,
        phone: None,
        categories: Vec::new(),
    };
    if kind == Kind::Households {
        record.head_name = Some(
            get("head_name")
                .ok_or_else(|| reject("the head of household (户主) is empty".into()))?
                .to_string(),
        );
        let members = get("members").ok_or_else(|| reject("members (人数) is empty".into()))?;
        record.members = Some(
            members
                .trim_end_matches('人')
                .parse::<i32>()
                .ok()
                .filter(|n| (0..=100).contains(n))
                .ok_or_else(|| reject(format!("members {members:?} is not a number 0–100")))?,
        );
        if let Some(phone) = get("phone") {
            let digits: String = phone.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
            if !digits.chars().all(|c| c.is_ascii_digit()) || !(5..=20).contains(&digits.len()) {
                return Err(reject(format!("phone {phone:?} is not a phone number")));
            }
            record.phone = Some(digits);
        }
        record.categories = get("categories")
            .map(|c| {
                c.split([',', '，', '、', ';', '；', '|', ' '])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gb18030_csv_with_chinese_headers_is_read_and_bad_rows_are_named_by_line() {
        let text = "编号,地址,户主,人数,电话,人员类别\n\
                    H1,马义村第四组12號,张三,3,139 0000 1111,常住、低保\n\
                    H2,马义村4组13号,,2,,常住\n\
                    H3,马义村4组14号,李四,三,,\n";
        let (bytes, _, _) = encoding_rs::GB18030.encode(text);
        let (decoded, encoding) = decode(&bytes).unwrap();
        assert_eq!(encoding, "GB18030");
        let rows = parse_csv(&decoded, Kind::Households, Crs::parse("wgs84").unwrap()).unwrap();
        assert_eq!(rows.len(), 3);
        let first = rows[0].as_ref().unwrap();
        assert_eq!(first.line, 2);
        assert_eq!(first.phone.as_deref(), Some("13900001111"));
        assert_eq!(first.categories, vec!["常住", "低保"]);
        assert_eq!(rows[1].as_ref().unwrap_err().line, 3);
        assert!(rows[1].as_ref().unwrap_err().reason.contains("户主"));
        assert_eq!(rows[2].as_ref().unwrap_err().line, 4);
        // UTF-8 with a BOM is UTF-8.
        let (_, encoding) = decode(format!("\u{FEFF}{text}").as_bytes()).unwrap();
        assert_eq!(encoding, "UTF-8");
    }

    #[test]
    fn missing_columns_and_crs_are_reported() {
        let err = parse_csv(
            "地址,经度\nx,1\n",
            Kind::Buildings,
            Crs::parse("cgcs2000").unwrap(),
        )
        .unwrap_err();
        assert!(
            matches!(err, RegistryFileError::MissingColumn("lat", _)),
            "{err}"
        );
        assert_eq!(Crs::parse("EPSG:4527"), Some(Crs::GaussKruger(4527)));
        assert_eq!(Crs::parse("EPSG:3857"), None);
        let rows = parse_csv(
            "地址,经度,纬度\n某号,39500000,3320000\n",
            Kind::Buildings,
            Crs::parse("wgs84").unwrap(),
        )
        .unwrap();
        assert!(rows[0].as_ref().unwrap_err().reason.contains("EPSG:45xx"));
    }
}
