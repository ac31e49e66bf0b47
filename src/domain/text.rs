//! Text that PostgreSQL can store. Its `text` type refuses the NUL character (0x00) and anything
//! that is not valid UTF-8; a lone UTF-16 surrogate cannot even be a Rust `str`. Every parser that
//! takes text from outside (JSON bodies, forms, query strings, CSV rows, GeoJSON properties) runs
//! it through here, so such text is a 400 / a rejected row naming the field instead of a database
//! error (a 500) or a whole import refused for one bad row.

/// Why a piece of text cannot be stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("{field}: contains a NUL character (0x00), which cannot be stored")]
    Nul { field: String },
    #[error("{field}: is not valid UTF-8 (byte {offset})")]
    NotUtf8 { field: String, offset: usize },
}

impl TextError {
    /// The field the bad text was found in.
    pub fn field(&self) -> &str {
        match self {
            TextError::Nul { field } | TextError::NotUtf8 { field, .. } => field,
        }
    }
}

/// `text` if it can be stored as it is.
///
/// ```
/// use gridmap::domain::text::storable;
/// assert_eq!(storable("name", "义泉社区"), Ok("义泉社区"));
/// assert!(storable("name", "a\0b").unwrap_err().to_string().starts_with("name: contains a NUL"));
/// ```
pub fn storable<'a>(field: &str, text: &'a str) -> Result<&'a str, TextError> {
    if text.contains('\0') {
        return Err(TextError::Nul {
            field: field.to_string(),
        });
    }
    Ok(text)
}

/// Bytes as storable text: valid UTF-8 without NUL.
///
/// ```
/// use gridmap::domain::text::storable_bytes;
/// assert_eq!(storable_bytes("q", b"ok"), Ok("ok"));
/// assert!(storable_bytes("q", b"a\xffb").is_err());
/// ```
pub fn storable_bytes<'a>(field: &str, bytes: &'a [u8]) -> Result<&'a str, TextError> {
    let text = std::str::from_utf8(bytes).map_err(|e| TextError::NotUtf8 {
        field: field.to_string(),
        offset: e.valid_up_to(),
    })?;
    storable(field, text)
}

/// The first string in a JSON document that cannot be stored, with its path (`features[3].properties.name`);
/// object keys are checked too.
pub fn first_unstorable(value: &serde_json::Value) -> Option<TextError> {
    fn walk(value: &serde_json::Value, path: &mut String) -> Option<TextError> {
        use serde_json::Value;
        let here = |path: &str| {
            if path.is_empty() {
                "body".to_string()
            } else {
                path.to_string()
            }
        };
        match value {
            Value::String(s) => storable(&here(path), s).err(),
            Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let found = walk(item, path);
                path.truncate(len);
                found
            }),
            Value::Object(map) => map.iter().find_map(|(key, item)| {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(&key.replace('\0', "\\u0000"));
                let found = storable(&here(path), key)
                    .err()
                    .or_else(|| walk(item, path));
                path.truncate(len);
                found
            }),
            _ => None,
        }
    }
    walk(value, &mut String::new())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_nul_anywhere_in_a_json_document_is_found_with_its_path() {
        let doc = json!({"features": [{"properties": {"name": "ok"}},
                                      {"properties": {"name": "a\u{0}b"}}]});
        let err = first_unstorable(&doc).unwrap();
        assert_eq!(err.field(), "features[1].properties.name");
        assert!(first_unstorable(&json!({"a": ["x", {"b": "y"}]})).is_none());
        assert_eq!(
            first_unstorable(&json!({"k\u{0}": 1})).unwrap().field(),
            "k\\u0000"
        );
        assert_eq!(first_unstorable(&json!("\u{0}")).unwrap().field(), "body");
    }

    #[test]
    fn invalid_utf8_names_the_offset() {
        assert_eq!(
            storable_bytes("description", b"ab\xc3"),
            Err(TextError::NotUtf8 {
                field: "description".into(),
                offset: 2
            })
        );
    }
}
