//! The query-string extractor every handler uses instead of axum's `Query`: parameters are
//! deserialised into a typed struct (numbers, enums, `deny_unknown_fields`), and a rejection is
//! our `ApiError` — a 400 whose `details.field` names the parameter. The guard has already
//! refused a query that decodes to a NUL or to invalid UTF-8.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::json::named;

/// Typed query parameters.
pub struct Params<T>(pub T);

/// Parses a query string into `T`, naming the parameter that is wrong.
pub fn parse<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let deserializer =
        serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let error = named(e);
        match error {
            ApiError::BadRequest { field, message } if field == "body" => {
                ApiError::bad_field("query", message.replacen("body", "query", 1))
            }
            other => other,
        }
    })
}

impl<S, T> FromRequestParts<S> for Params<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parse(parts.uri.query().unwrap_or_default()).map(Params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Point {
        lon: f64,
        lat: Option<f64>,
    }

    fn field(e: ApiError) -> String {
        match e {
            ApiError::BadRequest { field, .. } => field,
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn a_parameter_that_is_not_a_number_is_named() {
        assert_eq!(field(parse::<Point>("lon=abc").unwrap_err()), "lon");
    }

    #[test]
    fn an_unknown_parameter_is_named() {
        assert_eq!(field(parse::<Point>("lon=1&lng=2").unwrap_err()), "lng");
    }

    #[test]
    fn a_missing_parameter_is_named() {
        assert_eq!(field(parse::<Point>("lat=1").unwrap_err()), "lon");
    }

    #[test]
    fn a_repeated_parameter_is_named() {
        assert_eq!(field(parse::<Point>("lon=1&lon=2").unwrap_err()), "lon");
    }

    #[test]
    fn typed_parameters_parse() {
        let p = parse::<Point>("lon=120.5&lat=30").unwrap();
        assert_eq!((p.lon, p.lat), (120.5, Some(30.0)));
    }
}
