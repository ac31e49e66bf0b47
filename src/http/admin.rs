//! Endpoints for token holders about themselves and, for admins, about users.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use super::AppState;
use super::auth::AuthUser;
use super::error::ApiError;
use crate::domain::role::Role;
use crate::store::{self, users};

/// `GET /api/v1/me`: who the token belongs to (any role).
pub async fn me(user: AuthUser) -> Json<Value> {
    let u = &user.0;
    Json(json!({"name": u.name, "role": u.role, "cells": u.cells}))
}

/// `GET /api/v1/users`: all users without their tokens (admin only).
pub async fn list_users(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<Json<Value>, ApiError> {
    user.require(&[Role::Admin])?;
    let client = state.pool.get().await.map_err(store::StoreError::from)?;
    Ok(Json(json!({"users": users::list(&client).await?})))
}
