//! Endpoints for token holders about themselves and, for admins, about users.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::AppState;
use super::auth::AuthUser;
use super::db::Db;
use super::error::ApiError;
use super::openapi::ErrorBody;
use crate::domain::role::Role;
use crate::store::users;

/// `GET /api/v1/me`: who the token belongs to (any role).
#[utoipa::path(get, path = "/api/v1/me", tag = "admin", responses((status = 200, description = "The caller's name, role and cells", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn me(user: AuthUser) -> Json<Value> {
    let u = &user.0;
    Json(json!({"name": u.name, "role": u.role, "cells": u.cells, "department": u.department}))
}

/// `GET /api/v1/users`: all users without their tokens (admin only).
#[utoipa::path(get, path = "/api/v1/users", tag = "admin", responses((status = 200, description = "Users (never tokens)", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_users(user: AuthUser, client: Db) -> Result<Json<Value>, ApiError> {
    user.require(&[Role::Admin])?;
    Ok(Json(json!({"users": users::list(&client).await?})))
}

/// `GET /api/v1/tokens`: every token with its user, first characters, last use, expiry and
/// revocation — never the token itself (admin only).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "admin", responses((status = 200, description = "Tokens (never a token)", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn list_tokens(user: AuthUser, client: Db) -> Result<Json<Value>, ApiError> {
    user.require(&[Role::Admin])?;
    Ok(Json(json!({"tokens": users::tokens(&client).await?})))
}

/// `DELETE /api/v1/tokens/{id}`: revokes one token at once (admin only); its holder gets 401 from
/// the next request on.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "admin", params(("id" = String, Path, description = "token id")), responses((status = 200, description = "The revoked token", body = serde_json::Value), (status = "4XX", description = "Refused: `{\"error\": {\"code\", \"message\", \"details\"}}`, details.field naming a bad field", body = ErrorBody), (status = 503, description = "The database is unavailable", body = ErrorBody)), security(("bearer" = [])))]
pub async fn revoke_token(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    user.require(&[Role::Admin])?;
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::bad_field("id", format!("a token id is an integer, got {id:?}")))?;
    let client = Db::get(&state).await?;
    Ok(Json(json!({"token": users::revoke_id(&client, id).await?})))
}
