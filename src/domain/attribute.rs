//! Extra fields an incident category needs (a 消防隐患's kind and floor, the number of workers in
//! a 劳资纠纷): defined as data (`category_attributes`), shown as Open311 service definitions,
//! and checked on every report whichever path it comes by.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

/// One extra field of a category (the Open311 attribute's names).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Attribute {
    pub code: String,
    /// string, number, datetime, text, singlevaluelist or multivaluelist.
    pub datatype: String,
    pub required: bool,
    pub description: String,
    pub order: i32,
    /// The choices of a list.
    pub values: Vec<String>,
}

/// A value that does not fit its attribute: the field (`attribute[code]`) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct BadAttribute {
    pub field: String,
    pub message: String,
}

fn bad(code: &str, message: impl Into<String>) -> BadAttribute {
    BadAttribute {
        field: format!("attribute[{code}]"),
        message: message.into(),
    }
}

/// Checks `given` against the category's `defs`: every required one present, numbers numbers,
/// list values among the choices, no field the category does not have. Returns the values as
/// stored (numbers as numbers, multi-value lists as arrays).
pub fn check(defs: &[Attribute], given: &BTreeMap<String, Value>) -> Result<Value, BadAttribute> {
    if let Some(unknown) = given.keys().find(|k| !defs.iter().any(|d| &d.code == *k)) {
        let known: Vec<&str> = defs.iter().map(|d| d.code.as_str()).collect();
        return Err(bad(
            unknown,
            if known.is_empty() {
                "this category takes no attributes".to_string()
            } else {
                format!(
                    "not an attribute of this category; its are {}",
                    known.join(", ")
                )
            },
        ));
    }
    let mut out = Map::new();
    for d in defs {
        let value = given.get(&d.code).filter(|v| match v {
            Value::Null => false,
            Value::String(s) => !s.trim().is_empty(),
            Value::Array(a) => !a.is_empty(),
            _ => true,
        });
        let Some(value) = value else {
            if d.required {
                return Err(bad(&d.code, format!("required ({})", d.description)));
            }
            continue;
        };
        let text = |v: &Value| match v {
            Value::String(s) => s.trim().to_string(),
            other => other.to_string(),
        };
        let stored = match d.datatype.as_str() {
            "number" => {
                let n = match value {
                    Value::Number(n) => n.as_f64(),
                    other => text(other).parse::<f64>().ok(),
                }
                .filter(|n| n.is_finite())
                .ok_or_else(|| bad(&d.code, "must be a number"))?;
                Value::from(n)
            }
            "singlevaluelist" => {
                let v = text(value);
                if !d.values.contains(&v) {
                    return Err(bad(
                        &d.code,
                        format!("must be one of {}", d.values.join("、")),
                    ));
                }
                Value::String(v)
            }
            "multivaluelist" => {
                let items: Vec<String> = match value {
                    Value::Array(a) => a.iter().map(text).collect(),
                    other => text(other)
                        .split(',')
                        .map(|s| s.trim().to_string())
                        .collect(),
                };
                if let Some(wrong) = items.iter().find(|i| !d.values.contains(i)) {
                    return Err(bad(
                        &d.code,
                        format!("{wrong:?} is not one of {}", d.values.join("、")),
                    ));
                }
                Value::from(items)
            }
            "datetime" => {
                let v = text(value);
                chrono::DateTime::parse_from_rfc3339(&v)
                    .map_err(|_| bad(&d.code, "must be an RFC 3339 date-time"))?;
                Value::String(v)
            }
            _ => {
                let v = text(value);
                if v.chars().count() > 500 {
                    return Err(bad(&d.code, "at most 500 characters"));
                }
                Value::String(v)
            }
        };
        out.insert(d.code.clone(), stored);
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn defs() -> Vec<Attribute> {
        vec![
            Attribute {
                code: "hazard".into(),
                datatype: "singlevaluelist".into(),
                required: true,
                description: "隐患类型".into(),
                order: 1,
                values: vec!["通道堵塞".into(), "其他".into()],
            },
            Attribute {
                code: "floor".into(),
                datatype: "number".into(),
                required: false,
                description: "所在楼层".into(),
                order: 2,
                values: vec![],
            },
        ]
    }

    fn given(pairs: &[(&str, Value)]) -> BTreeMap<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn attributes_are_checked_against_their_definitions_and_name_the_field() {
        let ok = check(
            &defs(),
            &given(&[("hazard", json!("通道堵塞")), ("floor", json!("3"))]),
        );
        assert_eq!(ok, Ok(json!({"hazard": "通道堵塞", "floor": 3.0})));
        let missing = check(&defs(), &given(&[("floor", json!(2))])).unwrap_err();
        assert_eq!(missing.field, "attribute[hazard]");
        let wrong = check(&defs(), &given(&[("hazard", json!("火灾"))])).unwrap_err();
        assert!(wrong.message.contains("通道堵塞"), "{wrong}");
        let nan = check(
            &defs(),
            &given(&[("hazard", json!("其他")), ("floor", json!("三楼"))]),
        );
        assert_eq!(nan.unwrap_err().field, "attribute[floor]");
        let unknown = check(
            &defs(),
            &given(&[("hazard", json!("其他")), ("colour", json!("红"))]),
        );
        assert_eq!(unknown.unwrap_err().field, "attribute[colour]");
        assert_eq!(check(&[], &BTreeMap::new()), Ok(json!({})));
    }
}
