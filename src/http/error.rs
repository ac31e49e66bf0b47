//! The one place where failures become HTTP responses. Every error body has the shape
//! `{"error": {"code": "...", "message": "...", "details": ...}}` (DESIGN.md §3).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::atlas::draft::DraftError;
use crate::domain::role::Role;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A query or body field is wrong; `field` names it.
    #[error("{message}")]
    BadRequest { field: String, message: String },
    #[error("a bearer token is required")]
    Unauthenticated,
    #[error("the token is not valid")]
    BadToken,
    #[error("this needs one of the roles {0:?}")]
    Forbidden(Vec<Role>),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unprocessable(String),
    /// Someone else got there first (a stale draft, a committed draft): 409.
    #[error("{message}")]
    Conflict {
        code: &'static str,
        message: String,
        details: Value,
    },
    /// The change would break the coverage rule: 422 with the whole report as details.
    #[error("the change breaks the coverage rule; nothing was written")]
    Violations(Value),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn bad_field(field: &str, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        self.parts().0
    }

    fn parts(&self) -> (StatusCode, &'static str, Value) {
        match self {
            ApiError::BadRequest { field, .. } => (
                StatusCode::BAD_REQUEST,
                "bad_request",
                json!({ "field": field }),
            ),
            ApiError::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated", Value::Null),
            ApiError::BadToken => (StatusCode::UNAUTHORIZED, "bad_token", Value::Null),
            ApiError::Forbidden(roles) => (
                StatusCode::FORBIDDEN,
                "forbidden",
                json!({ "required_roles": roles }),
            ),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found", Value::Null),
            ApiError::Unprocessable(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "unprocessable",
                Value::Null,
            ),
            ApiError::Conflict { code, details, .. } => {
                (StatusCode::CONFLICT, code, details.clone())
            }
            ApiError::Violations(report) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "coverage_violated",
                report.clone(),
            ),
            ApiError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "database_unavailable",
                Value::Null,
            ),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", Value::Null),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound(m) => ApiError::NotFound(m),
            StoreError::Refused(m) => ApiError::Unprocessable(m),
            StoreError::Conflict { message, details } => ApiError::Conflict {
                code: "conflict",
                message,
                details,
            },
            StoreError::Pool(e) => ApiError::Unavailable(e.to_string()),
            StoreError::Db(e) if e.is_closed() => ApiError::Unavailable(e.to_string()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<DraftError> for ApiError {
    fn from(error: DraftError) -> Self {
        let message = error.to_string();
        match error {
            DraftError::UnknownCell(_) => ApiError::NotFound(message),
            DraftError::BadLine(_) => ApiError::bad_field("line", message),
            DraftError::BadMerge(_) => ApiError::bad_field("codes", message),
            DraftError::NationalCode(_)
            | DraftError::CodesExhausted(_)
            | DraftError::Invalid(_) => ApiError::Unprocessable(message),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, details) = self.parts();
        if let ApiError::Internal(cause) = &self {
            // The cause goes to the log, not to the client.
            tracing::error!("internal error: {cause}");
        }
        let body = json!({
            "error": { "code": code, "message": self.to_string(), "details": details }
        });
        (status, Json(body)).into_response()
    }
}
