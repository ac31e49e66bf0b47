//! Figures out of the API: one table shape for the KPIs of units and of departments, written as
//! CSV or xlsx by `codec::table`, and the period parameters every KPI endpoint reads.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::ApiError;
use crate::codec::table::{self, Cell, Format};
use crate::domain::calendar::china;
use crate::domain::kpi::Kpis;

/// How figures are answered.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    Json,
    Csv,
    Xlsx,
}

/// The KPI table's columns after the unit's code and name (shared by the unit and department
/// exports, so the two read alike).
pub const KPI_HEADER: [&str; 13] = [
    "reported",
    "open",
    "应结案数",
    "结案数",
    "按期结案数",
    "超期数",
    "结案率",
    "按期结案率",
    "平均处置时长(小时)",
    "满意率",
    "承办量",
    "应响应数",
    "响应率",
];

/// One KPI row's cells in `KPI_HEADER` order.
pub fn kpi_cells(k: &Kpis) -> Vec<Cell> {
    let pct = |v: Option<f64>| v.map_or(Cell::Empty, Cell::Percent);
    vec![
        Cell::from(k.reported),
        Cell::from(k.open),
        Cell::from(k.due),
        Cell::from(k.closed),
        Cell::from(k.closed_on_time),
        Cell::from(k.overdue),
        pct(k.closure_rate),
        pct(k.on_time_rate),
        Cell::from(k.avg_hours),
        pct(k.satisfaction_rate),
        Cell::from(k.undertaken),
        Cell::from(k.to_respond),
        pct(k.response_rate),
    ]
}

/// A table as a download.
pub fn download(
    format: Format,
    name: &str,
    sheet: &str,
    header: &[&str],
    rows: &[Vec<Cell>],
) -> Result<Response, ApiError> {
    let bytes = table::write(format, sheet, header, rows, 1)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let disposition = format!("attachment; filename=\"{name}.{}\"", format.extension());
    Ok((
        [
            (header::CONTENT_TYPE, format.content_type().to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

/// Local midnight of `now`'s day (China time).
pub fn today_of(now: DateTime<Utc>) -> DateTime<Utc> {
    china()
        .from_local_datetime(
            &now.with_timezone(&china())
                .date_naive()
                .and_hms_opt(0, 0, 0)
                .unwrap_or_default(),
        )
        .single()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(now)
}

/// A day (YYYY-MM-DD, China time) or an RFC 3339 instant, naming the field when neither.
pub fn parse_time(field: &str, value: &str) -> Result<DateTime<Utc>, ApiError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .and_then(|d| {
            china()
                .from_local_datetime(&d.and_hms_opt(0, 0, 0)?)
                .single()
        })
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| {
            ApiError::bad_field(
                field,
                format!("{field} must be a date YYYY-MM-DD or RFC 3339, got {value:?}"),
            )
        })
}

/// The period `[from, to)` of a KPI request: `from` a day or instant (default 30 days before
/// today), `to` a last day inclusive or an instant (default now).
pub fn period_of(
    from: Option<&str>,
    to: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
    let from = match from {
        Some(v) => parse_time("from", v)?,
        None => today_of(now) - chrono::TimeDelta::days(30),
    };
    let to = match to {
        Some(v) => parse_time("to", v)? + chrono::TimeDelta::days(i64::from(!v.contains('T'))),
        None => now + chrono::TimeDelta::seconds(1),
    };
    if to <= from {
        return Err(ApiError::bad_field("to", "to must be after from"));
    }
    Ok((from, to))
}
