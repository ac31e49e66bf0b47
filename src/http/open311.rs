//! Open311 GeoReport v2 (JSON) under `/open311/v2/`: the taxonomy as services, requests as our
//! incidents (states mapped to open/closed with the state as `status_notes`). Errors follow the
//! GeoReport format `[{"code", "description"}]`, the description naming the field. An `api_key`
//! (a gridmap token of a worker or command user) is needed for everything but the service list:
//! request descriptions are not public.

use std::collections::{BTreeMap, HashMap};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::{Value, json};

use super::AppState;
use super::auth::{ClientAddr, authenticate};
use super::error::ApiError;
use super::field::report_incident;
use super::openapi::GeoReportError;
use super::params::Params;
use crate::app::incidents::{self as use_case, IncidentError, Report, code_of_path};
use crate::domain::access::IncidentAccess;
use crate::domain::incident;
use crate::domain::role::Role;
use crate::geometry::crs::Crs;
use crate::store::StoreError;
use crate::store::incidents::{self as store, IncidentFilter, IncidentRow};
use crate::store::users::User;
use serde::Deserialize;
use std::net::IpAddr;
use utoipa::{IntoParams, ToSchema};

fn error(status: StatusCode, description: impl Into<String>) -> Response {
    (
        status,
        Json(json!([{"code": status.as_u16(), "description": description.into()}])),
    )
        .into_response()
}

/// A GeoReport description starts with the field it is about.
fn described(e: &ApiError) -> String {
    match e {
        ApiError::BadRequest { field, message } if !message.starts_with(field.as_str()) => {
            format!("{field}: {message}")
        }
        other => other.to_string(),
    }
}

/// A 503 that keeps the driver's text in the log, not in the answer.
fn unavailable(cause: &dyn std::fmt::Display) -> Response {
    tracing::warn!("open311: database unavailable: {cause}");
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "database: unavailable, try again shortly",
    )
}

async fn caller(state: &AppState, addr: IpAddr, key: Option<&str>) -> Result<User, Response> {
    let key = key.ok_or_else(|| error(StatusCode::UNAUTHORIZED, "api_key: required"))?;
    let user = match authenticate(state, addr, key).await {
        Ok(user) => user,
        Err(ApiError::BadToken) => {
            return Err(error(StatusCode::FORBIDDEN, "api_key: not a valid key"));
        }
        Err(e @ ApiError::TooManyRequests { .. }) => {
            let mut response = error(e.status(), format!("api_key: {e}"));
            if let ApiError::TooManyRequests { retry_after_s } = e {
                response.headers_mut().insert(
                    axum::http::header::RETRY_AFTER,
                    axum::http::HeaderValue::from(retry_after_s),
                );
            }
            return Err(response);
        }
        Err(e) => return Err(unavailable(&e)),
    };
    if !user.role.permits(&[Role::Worker, Role::Command]) {
        return Err(error(
            StatusCode::FORBIDDEN,
            "api_key: this key may not use Open311",
        ));
    }
    Ok(user)
}

/// `GET /open311/v2/services.json`.
#[utoipa::path(get, path = "/open311/v2/services.json", tag = "open311", responses((status = 200, description = "The taxonomy's leaves", body = serde_json::Value), (status = "4XX", description = "Refused, in the GeoReport shape", body = Vec<GeoReportError>), (status = 503, description = "The database is unavailable", body = Vec<GeoReportError>)))]
pub async fn services(State(state): State<AppState>) -> Response {
    let Ok(client) = state.pool.get().await else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "database unavailable");
    };
    let Ok(categories) = store::categories(&client).await else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "database unavailable");
    };
    let Ok(with_attributes) = crate::store::departments::categories_with_attributes(&client).await
    else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "database unavailable");
    };
    let names: BTreeMap<&str, &str> = categories
        .iter()
        .map(|c| (c.code.as_str(), c.name.as_str()))
        .collect();
    let list: Vec<Value> = categories
        .iter()
        .filter_map(|c| {
            let group = names.get(c.parent.as_deref()?)?;
            Some(json!({
                "service_code": c.code,
                "service_name": c.name,
                "description": format!("{group}/{}", c.name),
                "metadata": with_attributes.contains(&c.code),
                "type": "realtime",
                "keywords": group,
                "group": group,
            }))
        })
        .collect();
    Json(list).into_response()
}

/// `GET /open311/v2/services/{code}.json`: the service definition — the extra fields
/// (`attributes`) a category needs, to be sent as `attribute[code]` with a request.
#[utoipa::path(get, path = "/open311/v2/services/{code}.json", tag = "open311", params(("code" = String, Path, description = "service code, e.g. 0201")), responses((status = 200, description = "The service definition", body = serde_json::Value), (status = "4XX", description = "Refused, in the GeoReport shape", body = Vec<GeoReportError>), (status = 503, description = "The database is unavailable", body = Vec<GeoReportError>)))]
pub async fn definition(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let Some(code) = file.strip_suffix(".json") else {
        return error(
            StatusCode::NOT_FOUND,
            "service_code: the definition is /open311/v2/services/{code}.json",
        );
    };
    let Ok(client) = state.pool.get().await else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "database unavailable");
    };
    let Ok(categories) = store::categories(&client).await else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "database unavailable");
    };
    if !categories
        .iter()
        .any(|c| c.code == code && c.parent.is_some())
    {
        return error(
            StatusCode::NOT_FOUND,
            format!("service_code: no service {code:?}"),
        );
    }
    let attributes = match crate::store::departments::attributes(&client, code).await {
        Ok(a) => a,
        Err(e) => return unavailable(&e),
    };
    let list: Vec<Value> = attributes
        .iter()
        .map(|a| {
            json!({
                "variable": true,
                "code": a.code,
                "datatype": a.datatype,
                "required": a.required,
                "datatype_description": if a.datatype == "multivaluelist" { "comma-separated keys" } else { "" },
                "order": a.order,
                "description": a.description,
                "values": a.values.iter().map(|v| json!({"key": v, "name": v})).collect::<Vec<_>>(),
            })
        })
        .collect();
    Json(json!({"service_code": code, "attributes": list})).into_response()
}

/// A request as GeoReport shows it, built from the incident as the caller may see it.
fn request_json(row: &IncidentRow, shaped: &Value) -> Value {
    let closed = row.state.is_finished();
    json!({
        "service_request_id": row.id.to_string(),
        "status": if closed { "closed" } else { "open" },
        "status_notes": row.state.as_str(),
        "service_name": row.category.rsplit('/').next().unwrap_or(&row.category),
        "service_code": shaped["service_code"],
        "description": shaped["description"],
        "agency_responsible": shaped["cell"]["name"],
        "requested_datetime": row.created_at.to_rfc3339(),
        "updated_datetime": row.updated_at.to_rfc3339(),
        "expected_datetime": shaped["deadline_at"],
        "address": shaped["address"],
        "lat": shaped["lat"],
        "long": shaped["lon"],
    })
}

/// The rows as the use case let `user` see them (the incident rule, `domain::access`), as
/// GeoReport requests.
async fn shape(
    state: &AppState,
    user: &User,
    rows: &[(IncidentRow, IncidentAccess)],
) -> Result<Vec<Value>, Response> {
    let categories = match state.pool.get().await {
        Ok(client) => store::categories(&client)
            .await
            .map_err(|e| unavailable(&e))?,
        Err(e) => return Err(unavailable(&e)),
    };
    let shaped = super::field::shaped(state, user, rows)
        .await
        .map_err(|e| error(e.status(), described(&e)))?;
    Ok(shaped
        .into_iter()
        .map(|(row, mut shaped)| {
            let code = code_of_path(&categories, &row.category);
            shaped["service_code"] = json!((!code.is_empty()).then_some(code));
            request_json(row, &shaped)
        })
        .collect())
}

/// `GET /open311/v2/requests.json` parameters (GeoReport v2 names).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// A gridmap token of a worker or the command centre.
    api_key: Option<String>,
    status: Option<RequestStatus>,
    /// RFC 3339.
    #[param(example = "2026-11-01T00:00:00+08:00")]
    start_date: Option<String>,
    /// RFC 3339.
    #[param(example = "2026-12-01T00:00:00+08:00")]
    end_date: Option<String>,
    /// A category (service) code.
    #[param(example = "010101")]
    service_code: Option<String>,
    /// Request ids, comma-separated.
    #[param(example = "1,2")]
    service_request_id: Option<String>,
}

/// A GeoReport request's status.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RequestStatus {
    Open,
    Closed,
}

/// `GET /open311/v2/requests/{id}.json` parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct KeyParams {
    /// A gridmap token of a worker or the command centre.
    api_key: Option<String>,
}

/// `GET /open311/v2/requests.json?api_key=&status=open|closed&start_date=&end_date=&service_code=`.
#[utoipa::path(get, path = "/open311/v2/requests.json", tag = "open311", params(ListParams), responses((status = 200, description = "Requests the key may see", body = serde_json::Value), (status = "4XX", description = "Refused, in the GeoReport shape", body = Vec<GeoReportError>), (status = 503, description = "The database is unavailable", body = Vec<GeoReportError>)))]
pub async fn list(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    query: Result<Params<ListParams>, ApiError>,
) -> Response {
    // A bad parameter is answered in the GeoReport shape too.
    let query = match query {
        Ok(Params(q)) => q,
        Err(e) => return error(e.status(), described(&e)),
    };
    let user = match caller(&state, addr, query.api_key.as_deref()).await {
        Ok(u) => u,
        Err(e) => return e,
    };
    let time = |key: &str, v: &Option<String>| match v {
        None => Ok(None),
        Some(v) => chrono::DateTime::parse_from_rfc3339(v)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| format!("{key}: must be ISO 8601 (RFC 3339), got {v:?}")),
    };
    let (since, until) = match (
        time("start_date", &query.start_date),
        time("end_date", &query.end_date),
    ) {
        (Ok(s), Ok(u)) => (s, u),
        (Err(e), _) | (_, Err(e)) => return error(StatusCode::BAD_REQUEST, e),
    };
    let filter = IncidentFilter {
        limit: 1000,
        since,
        until,
        states: query.status.map(|status| {
            let closed = matches!(status, RequestStatus::Closed);
            incident::State::all()
                .filter(|s| s.is_finished() == closed)
                .collect()
        }),
        ..IncidentFilter::default()
    };
    let Ok(client) = state.pool.get().await else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "database unavailable");
    };
    let mut rows = match use_case::list(&client, &user, filter).await {
        Ok(r) => r,
        Err(e) => return unavailable(&e),
    };
    drop(client);
    if let Some(ids) = &query.service_request_id {
        let wanted: Vec<&str> = ids.split(',').collect();
        rows.retain(|(r, _)| wanted.contains(&r.id.to_string().as_str()));
    }
    match shape(&state, &user, &rows).await {
        Ok(mut list) => {
            if let Some(code) = &query.service_code {
                list.retain(|r| r["service_code"] == code.as_str());
            }
            Json(list).into_response()
        }
        Err(e) => e,
    }
}

/// `GET /open311/v2/requests/{id}.json`.
#[utoipa::path(get, path = "/open311/v2/requests/{id}.json", tag = "open311", params(("id" = String, Path, description = "request id"), KeyParams), responses((status = 200, description = "One request", body = serde_json::Value), (status = "4XX", description = "Refused, in the GeoReport shape", body = Vec<GeoReportError>), (status = 503, description = "The database is unavailable", body = Vec<GeoReportError>)))]
pub async fn show(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    Path(file): Path<String>,
    query: Result<Params<KeyParams>, ApiError>,
) -> Response {
    let query = match query {
        Ok(Params(q)) => q,
        Err(e) => return error(e.status(), described(&e)),
    };
    let user = match caller(&state, addr, query.api_key.as_deref()).await {
        Ok(u) => u,
        Err(e) => return e,
    };
    let Some(id) = file
        .strip_suffix(".json")
        .and_then(|i| i.parse::<i64>().ok())
    else {
        return error(
            StatusCode::BAD_REQUEST,
            "service_request_id: must be a number followed by .json",
        );
    };
    let Ok(client) = state.pool.get().await else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "database unavailable");
    };
    let (row, access) = match use_case::show(&client, &user, id).await {
        Ok((row, access, _)) => (row, access),
        Err(IncidentError::NotYours) => {
            return error(
                StatusCode::FORBIDDEN,
                format!("service_request_id: request {id} is not in this key's grids"),
            );
        }
        Err(IncidentError::Store(StoreError::NotFound(_))) => {
            return error(
                StatusCode::NOT_FOUND,
                format!("service_request_id: no request {id}"),
            );
        }
        Err(e) => return unavailable(&e),
    };
    drop(client);
    match shape(&state, &user, &[(row, access)]).await {
        Ok(list) => Json(list).into_response(),
        Err(e) => e,
    }
}

/// `POST /open311/v2/requests.json` (form-encoded as the spec says, or JSON): `api_key`,
/// `service_code`, `lat`, `long` (WGS84), `description`, optional `address_string`.
#[utoipa::path(post, path = "/open311/v2/requests.json", tag = "open311", request_body(content = super::openapi::Open311RequestForm, content_type = "application/x-www-form-urlencoded", description = "The GeoReport v2 form (JSON with the same fields is accepted too)"), responses((status = 201, description = "The new request's id", body = serde_json::Value), (status = "4XX", description = "Refused, in the GeoReport shape", body = Vec<GeoReportError>), (status = 503, description = "The database is unavailable", body = Vec<GeoReportError>)))]
pub async fn create(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let json_body = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let fields: HashMap<String, String> = if json_body {
        match super::json::parse::<Value>(&body) {
            Ok(Value::Object(map)) => map
                .into_iter()
                .map(|(k, v)| {
                    let text = match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (k, text)
                })
                .collect(),
            Ok(_) => return error(StatusCode::BAD_REQUEST, "body: must be a JSON object"),
            Err(e) => return error(e.status(), described(&e)),
        }
    } else {
        match super::guard::parse_form(&body) {
            Ok(pairs) => pairs.into_iter().collect(),
            Err(e) => return error(StatusCode::BAD_REQUEST, e.to_string()),
        }
    };
    let user = match caller(&state, addr, fields.get("api_key").map(String::as_str)).await {
        Ok(u) => u,
        Err(e) => return e,
    };
    let Some(code) = fields.get("service_code") else {
        return error(StatusCode::BAD_REQUEST, "service_code: required");
    };
    let number = |f: &str| fields.get(f).and_then(|v| v.trim().parse::<f64>().ok());
    let (Some(lat), Some(long)) = (number("lat"), number("long")) else {
        return error(
            StatusCode::BAD_REQUEST,
            "lat/long: both required, as WGS84 numbers",
        );
    };
    let Some(description) = fields.get("description").filter(|d| !d.trim().is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "description: required");
    };
    let crs = Crs::parse("wgs84").unwrap_or(Crs::GaussKruger(0));
    let point = match crs.to_cgcs2000(long, lat) {
        Ok(p) => p,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("lat/long: {e}")),
    };
    let report = Report {
        category: code.clone(),
        description: description.trim().to_string(),
        point,
        source_crs: crs.label(),
        address: fields.get("address_string").cloned(),
        source: "Open311".into(),
        severity: None,
        photos: fields.get("media_url").cloned().into_iter().collect(),
        // GeoReport's `attribute[code]=value` (a multi-value list repeats the key, joined here
        // by commas); the service definition says which are required.
        attributes: Some(
            fields
                .iter()
                .filter_map(|(k, v)| {
                    let code = k.strip_prefix("attribute[")?.strip_suffix(']')?;
                    Some((code.to_string(), Value::String(v.clone())))
                })
                .collect(),
        ),
        delivery: None,
        suggestion: None,
    };
    match report_incident(&state, &user, report, chrono::Utc::now()).await {
        Ok((incident, _)) => (
            StatusCode::CREATED,
            Json(json!([{
                "service_request_id": incident["id"].to_string(),
                "service_notice": format!("已受理登记，责任网格：{}", incident["cell"]["name"].as_str().unwrap_or("未定位")),
                "account_id": null,
            }])),
        )
            .into_response(),
        Err(e) => {
            let message = e.to_string();
            let field = match &e {
                ApiError::BadRequest { field, .. } if field == "category" => "service_code".to_string(),
                ApiError::BadRequest { field, .. } => field.clone(),
                _ => String::new(),
            };
            let status = e.status();
            let described = if field.is_empty() || message.starts_with(&field) {
                message
            } else {
                format!("{field}: {message}")
            };
            error(status, described)
        }
    }
}
