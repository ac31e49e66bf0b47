//! The JSON body extractor every handler uses instead of axum's `Json`: its rejections are our
//! `ApiError` (a 400 naming the line and column of malformed JSON, 415 without a JSON
//! Content-Type, 413 over the body limit), and text that PostgreSQL cannot store (a NUL anywhere)
//! is refused here, naming the field's path, before a handler sees the body.

use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::domain::text::first_unstorable;

/// A JSON request body, parsed, checked for storable text, then deserialised into `T`.
pub struct JsonBody<T>(pub T);

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .is_some_and(|v| {
            v == "application/json" || (v.starts_with("application/") && v.ends_with("+json"))
        })
}

/// Parses bytes as JSON into `T`, naming what is wrong (shared with bodies read by hand).
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_field(
            "body",
            "the body is empty; a JSON document is required",
        ));
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_field(
            "body",
            format!(
                "malformed JSON at line {} column {}: {e}",
                e.line(),
                e.column()
            ),
        )
    })?;
    if let Some(bad) = first_unstorable(&value) {
        return Err(ApiError::bad_field(bad.field(), bad.to_string()));
    }
    serde_path_to_error::deserialize(value).map_err(named)
}

/// A deserialisation error as a 400 naming the field: serde reports a missing or unknown field at
/// its parent, so the field's own name is appended (shared with the query extractor).
pub fn named<E: std::fmt::Display>(e: serde_path_to_error::Error<E>) -> ApiError {
    let message = e.inner().to_string();
    let path = e.path().to_string();
    let named = ["missing field `", "unknown field `", "duplicate field `"]
        .iter()
        .find_map(|prefix| {
            let rest = message.strip_prefix(prefix)?;
            rest.split('`').next().map(str::to_string)
        });
    let field = match (path.as_str(), named) {
        (".", Some(name)) => name,
        (".", None) => "body".to_string(),
        // An unknown field's path already ends with it.
        (p, Some(name)) if p == name || p.ends_with(&format!(".{name}")) => p.to_string(),
        (p, Some(name)) => format!("{p}.{name}"),
        (p, None) => p.to_string(),
    };
    ApiError::bad_field(&field, format!("{field}: {message}"))
}

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(request.headers()) {
            return Err(ApiError::UnsupportedMediaType(
                "the body must be JSON: send Content-Type: application/json".into(),
            ));
        }
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::TooLarge(rejection.body_text())
                } else {
                    ApiError::bad_field("body", rejection.body_text())
                }
            })?;
        parse(&bytes).map(JsonBody)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn field(e: ApiError) -> String {
        match e {
            ApiError::BadRequest { field, .. } => field,
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn malformed_json_names_line_and_column() {
        let e = parse::<Value>(b"{\n \"a\": }").unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
    }

    #[test]
    fn nan_infinity_huge_numbers_and_deep_nesting_are_bad_requests() {
        for body in [
            "{\"a\": NaN}".to_string(),
            "{\"a\": Infinity}".to_string(),
            "{\"a\": 1e400}".to_string(),
            format!("{}{}", "[".repeat(200), "]".repeat(200)),
            "\"\\ud800\"".to_string(),
            "   ".to_string(),
        ] {
            let e = parse::<Value>(body.as_bytes()).unwrap_err();
            assert_eq!(e.status(), StatusCode::BAD_REQUEST, "{body}");
        }
    }

    #[test]
    fn a_nul_in_any_string_is_refused_naming_its_path() {
        let e = parse::<Value>(br#"{"description": "a\u0000b"}"#).unwrap_err();
        assert_eq!(field(e), "description");
    }
}
