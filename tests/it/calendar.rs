//! The working-day calendar's reach: `/health` says how far it covers, deadlines beyond it are
//! provisional, and `gridmap calendar import` (checked, all or nothing) loads a new year, re-dates
//! the open deadlines and every server reloads.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::{DateTime, Datelike, Days, NaiveDate, Utc, Weekday};
use gridmap::domain::calendar::{Calendar, china};
use gridmap::domain::role::Role;
use gridmap::store::users;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::harness::{binary, demo_db};
use crate::http::app_with_atlas;

async fn call(
    app: &axum::Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        request = request.header("authorization", format!("Bearer {t}"));
    }
    let body = match body {
        Some(b) => {
            request = request.header("content-type", "application/json");
            Body::from(b.to_string())
        }
        None => Body::empty(),
    };
    let response = app
        .clone()
        .oneshot(request.body(body).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// The shipped national years 2024–2026 only, whatever else `data/holidays/` holds later.
fn shipped_2024_to_2026() -> Calendar {
    let docs: Vec<(String, Value)> = ["2024", "2025", "2026"]
        .iter()
        .map(|y| {
            let path = format!("{}/data/holidays/{y}.json", env!("CARGO_MANIFEST_DIR"));
            (
                y.to_string(),
                serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap(),
            )
        })
        .collect();
    Calendar::from_documents(&docs).unwrap()
}

fn last_day(deadline: &Value) -> NaiveDate {
    let t = DateTime::parse_from_rfc3339(deadline.as_str().unwrap())
        .unwrap()
        .with_timezone(&Utc);
    (t - chrono::TimeDelta::seconds(1))
        .with_timezone(&china())
        .date_naive()
}

#[tokio::test]
async fn a_deadline_beyond_the_calendar_is_provisional_until_its_year_is_imported() {
    let db = demo_db().await;
    let (app, state) = app_with_atlas(&db).await;
    state.calendar.store(Arc::new(shipped_2024_to_2026()));
    let covered = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
    let today = Utc::now().with_timezone(&china()).date_naive();

    let (status, health) = call(&app, "GET", "/health", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(health["calendar"]["covered_until"], "2026-12-31");
    assert_eq!(
        health["calendar"]["ok"],
        today + Days::new(60) <= covered,
        "{health}"
    );

    // An incident whose deadline is pushed past the covered years.
    let command = users::add_user(&mut db.client().await, "指挥", Role::Command, &[])
        .await
        .unwrap();
    let r = db
        .client()
        .await
        .query_one("SELECT ST_X(geom), ST_Y(geom) FROM buildings LIMIT 1", &[])
        .await
        .unwrap();
    let (x, y): (f64, f64) = (r.get(0), r.get(1));
    let (status, created) = call(
        &app,
        "POST",
        "/api/v1/incidents",
        Some(&command),
        Some(json!({
        "category": "0101", "description": "测试", "lon": x, "lat": y, "crs": "cgcs2000"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["incident"]["id"].as_i64().unwrap();
    let actions = format!("/api/v1/incidents/{id}/actions");
    let act = |body: Value| call(&app, "POST", &actions, Some(&command), Some(body));
    for action in ["受理", "派遣"] {
        assert_eq!(act(json!({"action": action})).await.0, StatusCode::OK);
    }
    let mut incident = Value::Null;
    for _ in 0..4 {
        let (status, body) = act(json!({"action": "延期", "days": 30})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        incident = body["incident"].clone();
        if last_day(&incident["deadline_at"]) > covered {
            break;
        }
    }
    let before = last_day(&incident["deadline_at"]);
    assert!(before > covered);
    assert_eq!(incident["provisional"], true, "{incident}");

    // A bad document changes nothing.
    let mut client = db.client().await;
    let bad = json!({"year": 2027, "holidays": {"2027-02-06": "春节"}, "workdays": {"2027-02-06": "春节"}});
    let err = gridmap::app::calendar::import(
        &mut client,
        &state.config.holidays_dir,
        "2027",
        &bad,
        "test",
        Utc::now(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("2027-02-06"), "{err}");
    let stored: i64 = client
        .query_one("SELECT count(*) FROM calendar_documents", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, 0);

    // Import every year up to the deadline's; the deadline's own week becomes holidays.
    let follower = gridmap::app::calendar::follow(
        db.config.clone(),
        state.pool.clone(),
        state.calendar.clone(),
        state.config.holidays_dir.clone(),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut moved = 0;
    for year in 2027..=before.year() {
        let mut holidays = serde_json::Map::new();
        holidays.insert(format!("{year}-01-01"), json!("元旦"));
        if year == before.year() {
            let monday = before - Days::new(before.weekday().num_days_from_monday() as u64);
            for d in 0..5 {
                let day = monday + Days::new(d);
                if day.year() == year && day.weekday() != Weekday::Sat {
                    holidays.insert(day.format("%Y-%m-%d").to_string(), json!("测试假日"));
                }
            }
        }
        let doc = json!({"year": year, "source": "test", "holidays": holidays});
        let loaded = gridmap::app::calendar::import(
            &mut client,
            &state.config.holidays_dir,
            &year.to_string(),
            &doc,
            "test",
            Utc::now(),
        )
        .await
        .unwrap();
        moved += loaded.deadlines_moved;
    }
    assert!(moved >= 1, "the open deadline was re-dated");
    let stored: DateTime<Utc> = client
        .query_one("SELECT deadline_at FROM incidents WHERE id = $1", &[&id])
        .await
        .unwrap()
        .get(0);
    assert!(
        (stored - chrono::TimeDelta::seconds(1))
            .with_timezone(&china())
            .date_naive()
            > before
    );

    // The server reloads on the NOTIFY.
    let wanted = NaiveDate::from_ymd_opt(before.year(), 12, 31).unwrap();
    let mut reloaded = false;
    for _ in 0..100 {
        if state.calendar.load().covered_until() == Some(wanted) {
            reloaded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    follower.abort();
    assert!(reloaded, "the served calendar follows the database");
    let (_, shown) = call(
        &app,
        "GET",
        &format!("/api/v1/incidents/{id}"),
        Some(&command),
        None,
    )
    .await;
    let after = last_day(&shown["incident"]["deadline_at"]);
    assert!(after > before, "{after} after {before}");
    assert_eq!(shown["incident"]["provisional"], after > wanted, "{shown}");
    let (_, health) = call(&app, "GET", "/health", None, None).await;
    assert_eq!(health["calendar"]["covered_until"], wanted.to_string());
    let (status, year) = call(
        &app,
        "GET",
        &format!("/api/v1/calendar?year={}", before.year()),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(year["covered"], true);
    assert!(
        year["holidays"]
            .as_object()
            .unwrap()
            .values()
            .any(|v| v == "测试假日"),
        "{year}"
    );
    let (status, _) = call(&app, "GET", "/api/v1/calendar?year=abc", None, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_calendar_import_command_checks_the_file_and_names_what_is_wrong() {
    let db = demo_db().await;
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("2031.json");
    std::fs::write(
        &bad,
        r#"{"year": 2031, "holidays": {"2031-13-01": "元旦"}}"#,
    )
    .unwrap();
    let out = Command::new(binary())
        .args(["calendar", "import"])
        .arg(&bad)
        .env("DATABASE_URL", db.url())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("2031-13-01"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let good = dir.path().join("2031.json");
    std::fs::write(
        &good,
        r#"{"year": 2031, "holidays": {"2031-01-01": "元旦"}, "workdays": {"2031-01-04": "元旦"}}"#,
    )
    .unwrap();
    let out = Command::new(binary())
        .args(["calendar", "import"])
        .arg(&good)
        .env("DATABASE_URL", db.url())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("loaded 2031") && stdout.contains("1 holidays"),
        "{stdout}"
    );
    let stored: Value = db
        .client()
        .await
        .query_one(
            "SELECT document FROM calendar_documents WHERE name = '2031'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored["holidays"]["2031-01-01"], "元旦");
}
