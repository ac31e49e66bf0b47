//! Bearer-token authentication. Public reads need no token; handlers that write or read private
//! data take an `AuthUser` and state the roles they accept.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::AppState;
use super::error::ApiError;
use crate::domain::role::Role;
use crate::store::users::{self, User};

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct AuthUser(pub User);

impl AuthUser {
    /// Refuses (403) unless the caller has one of `roles` (admin always passes).
    pub fn require(&self, roles: &[Role]) -> Result<&User, ApiError> {
        if self.0.role.permits(roles) {
            Ok(&self.0)
        } else {
            Err(ApiError::Forbidden(roles.to_vec()))
        }
    }
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or(ApiError::Unauthenticated)?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(ApiError::BadToken)?;
        let client = state
            .pool
            .get()
            .await
            .map_err(crate::store::StoreError::from)?;
        users::authenticate(&client, token)
            .await?
            .map(AuthUser)
            .ok_or(ApiError::BadToken)
    }
}
