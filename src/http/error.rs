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
    /// A signed delivery whose source, timestamp or signature does not verify: 401.
    #[error("{0}")]
    BadSignature(String),
    #[error("this needs one of the roles {0:?}")]
    Forbidden(Vec<Role>),
    /// The role may, but not on this record (another worker's track, a grid not yours): 403.
    #[error("{0}")]
    Denied(String),
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
    /// A 422 with its own code (e.g. `outside_atlas`) and details.
    #[error("{message}")]
    Refused {
        code: &'static str,
        message: String,
        details: Value,
    },
    /// The body is not of a type the endpoint reads: 415.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The body is over the endpoint's limit: 413.
    #[error("the body is too large: {0}")]
    TooLarge(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    /// Too many requests of a limited kind (failed tokens, guessed codes, suggestions) from this
    /// address: 429 with `Retry-After`.
    #[error("too many requests from this address; retry in {retry_after_s} s")]
    TooManyRequests { retry_after_s: u64 },
    /// The database does not answer. The driver's text is logged, never sent to the client.
    #[error("the database is unavailable; try again shortly")]
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
            ApiError::BadSignature(_) => (StatusCode::UNAUTHORIZED, "bad_signature", Value::Null),
            ApiError::Forbidden(roles) => (
                StatusCode::FORBIDDEN,
                "forbidden",
                json!({ "required_roles": roles }),
            ),
            ApiError::Denied(_) => (StatusCode::FORBIDDEN, "forbidden", Value::Null),
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
            ApiError::Refused { code, details, .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, code, details.clone())
            }
            ApiError::UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                Value::Null,
            ),
            ApiError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large", Value::Null),
            ApiError::MethodNotAllowed(_) => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                Value::Null,
            ),
            ApiError::TooManyRequests { retry_after_s } => (
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                json!({ "retry_after_s": retry_after_s }),
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
        match &self {
            // The cause goes to the log, not to the client.
            ApiError::Internal(cause) => tracing::error!("internal error: {cause}"),
            ApiError::Unavailable(cause) => tracing::warn!("database unavailable: {cause}"),
            _ => {}
        }
        let body = json!({
            "error": { "code": code, "message": self.to_string(), "details": details }
        });
        let mut response = (status, Json(body)).into_response();
        if let ApiError::TooManyRequests { retry_after_s } = self {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(retry_after_s),
            );
        }
        response
    }
}

impl From<crate::domain::text::TextError> for ApiError {
    fn from(error: crate::domain::text::TextError) -> Self {
        ApiError::bad_field(error.field(), error.to_string())
    }
}

/// What a response without a JSON body of ours says, by status: the framework's own rejections
/// (a bad path segment, a 405, a static file not found) are reshaped into the error contract by
/// `http::guard`.
pub fn code_of_status(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        401 => "unauthenticated",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "timeout",
        409 => "conflict",
        413 => "too_large",
        415 => "unsupported_media_type",
        422 => "unprocessable",
        429 => "too_many_requests",
        503 => "unavailable",
        s if s >= 500 => "internal",
        _ => "error",
    }
}

impl From<crate::app::incidents::IncidentError> for ApiError {
    fn from(error: crate::app::incidents::IncidentError) -> Self {
        use crate::app::incidents::IncidentError as E;
        let message = error.to_string();
        match error {
            E::Store(e) => e.into(),
            E::UnknownCategory { .. } => ApiError::bad_field("category", message),
            E::OutsideAtlas { lon, lat } => ApiError::Refused {
                code: "outside_atlas",
                message,
                details: json!({"field": "lon", "lon": lon, "lat": lat}),
            },
            E::NotYours => ApiError::Forbidden(vec![Role::Command]),
            E::BadAttribute(bad) => ApiError::bad_field(&bad.field, message),
            E::Illegal {
                state,
                suspended,
                allowed,
                ..
            } => ApiError::Conflict {
                code: "illegal_transition",
                message,
                details: json!({"state": state.as_str(), "suspended": suspended, "allowed": allowed}),
            },
        }
    }
}

impl From<crate::app::fieldwork::FieldError> for ApiError {
    fn from(error: crate::app::fieldwork::FieldError) -> Self {
        use crate::app::fieldwork::FieldError as E;
        match error {
            E::Store(e) => e.into(),
            E::Invalid { field, message } => {
                ApiError::bad_field(&field, format!("{field}: {message}"))
            }
            E::Forbidden(m) => ApiError::Denied(m),
            E::NotFound(m) => ApiError::NotFound(m),
            E::Conflict(m) => ApiError::Conflict {
                code: "conflict",
                message: m,
                details: serde_json::Value::Null,
            },
            E::Io(m) => ApiError::Internal(m),
            E::Incident(e) => e.into(),
        }
    }
}

impl From<crate::app::intake::IntakeError> for ApiError {
    fn from(error: crate::app::intake::IntakeError) -> Self {
        use crate::app::intake::IntakeError as E;
        match error {
            E::Store(e) => e.into(),
            E::Incident(e) => e.into(),
            E::Unsigned(why) => {
                ApiError::BadSignature(format!("the signature does not verify: {why}"))
            }
            E::Invalid { field, message } => {
                ApiError::bad_field(&field, format!("{field}: {message}"))
            }
        }
    }
}

impl From<crate::app::departments::DepartmentError> for ApiError {
    fn from(error: crate::app::departments::DepartmentError) -> Self {
        use crate::app::departments::DepartmentError as E;
        use crate::domain::dispatch::DispatchError as D;
        let message = error.to_string();
        match error {
            E::Store(e) => e.into(),
            E::Field { field, message } => ApiError::bad_field(field, message),
            E::Forbidden(m) => ApiError::Denied(m.to_string()),
            E::Dispatch(d) => match d {
                D::Count
                | D::Twice(_)
                | D::Unknown(_)
                | D::Retired(_)
                | D::OtherTownship { .. } => ApiError::bad_field("departments", message),
                D::LeadNotNamed(_) | D::NoLead => ApiError::bad_field("lead", message),
                D::Already(_) | D::LeadTaken(_) => ApiError::Conflict {
                    code: "already_dispatched",
                    message,
                    details: Value::Null,
                },
                D::NotOpen(_) | D::PartStep(..) | D::Suspended | D::OthersOpen(_) => {
                    ApiError::Conflict {
                        code: "illegal_transition",
                        message,
                        details: Value::Null,
                    }
                }
            },
        }
    }
}

impl From<crate::app::teams::TeamError> for ApiError {
    fn from(error: crate::app::teams::TeamError) -> Self {
        use crate::app::teams::TeamError as E;
        match error {
            E::Store(e) => e.into(),
            E::File(e) => ApiError::bad_field("body", e.to_string()),
            E::Invalid { field, message } => {
                ApiError::bad_field(&field, format!("{field}: {message}"))
            }
            E::Forbidden(m) => ApiError::Denied(m),
            E::NotFound(m) => ApiError::NotFound(m),
            E::Conflict(m) => ApiError::Conflict {
                code: "conflict",
                message: m,
                details: serde_json::Value::Null,
            },
            E::Refused { code, message } => ApiError::Conflict {
                code,
                message,
                details: serde_json::Value::Null,
            },
            E::Print(e) => ApiError::Internal(e.to_string()),
            E::Field(e) => e.into(),
            E::Incident(e) => e.into(),
        }
    }
}

impl From<crate::app::public::PublicError> for ApiError {
    fn from(error: crate::app::public::PublicError) -> Self {
        use crate::app::public::PublicError as E;
        match error {
            E::NotFound(m) => ApiError::NotFound(m),
            E::BadField { field, message } => ApiError::bad_field(field, message),
            E::Store(e) => e.into(),
            E::Teams(e) => e.into(),
            E::Render(e) => ApiError::Internal(e.to_string()),
            E::Task(m) => ApiError::Internal(m),
            E::Photo(e) => e.into(),
        }
    }
}

impl From<crate::app::poster::PosterError> for ApiError {
    fn from(error: crate::app::poster::PosterError) -> Self {
        use crate::app::poster::PosterError as E;
        match error {
            E::NotFound(_) => ApiError::NotFound(error.to_string()),
            E::Store(e) => e.into(),
            E::Task(e) => ApiError::Internal(e),
        }
    }
}

impl From<crate::app::planning::PlanningError> for ApiError {
    fn from(error: crate::app::planning::PlanningError) -> Self {
        use crate::app::planning::PlanningError as E;
        let message = error.to_string();
        match error {
            E::Store(e) => e.into(),
            E::Draft(e) => e.into(),
            E::AlreadyCommitted { revision, .. } => ApiError::Conflict {
                code: "already_committed",
                message,
                details: json!({"committed_revision": revision}),
            },
            E::NoChanges(_) => ApiError::Unprocessable(message),
            E::Stale { base, current } => ApiError::Conflict {
                code: "stale_base",
                message,
                details: json!({"base_revision": base, "current_revision": current}),
            },
            E::Violations(report) => ApiError::Violations(report.to_json()),
            E::Refused { .. } => ApiError::Unprocessable(message),
            E::NothingToRevert(_) => ApiError::bad_field("n", message),
            E::Internal(cause) => ApiError::Internal(cause),
        }
    }
}
