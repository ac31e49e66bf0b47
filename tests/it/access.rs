//! The access matrix (DESIGN.md §5): every endpoint that hands out incidents (and the households
//! of a grid) × every role × own / other grid, in one table. Each row states the status per role
//! and whether the body may show the incident's private fields; a new endpoint must be added here.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use futures_util::StreamExt;
use gridmap::domain::role::Role;
use gridmap::store::users;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::harness::{TestDb, demo_db};
use crate::http::app_with_atlas;

/// The callers of the matrix, in column order.
const CALLERS: [&str; 6] = [
    "none",
    "worker",
    "planner",
    "command",
    "admin",
    "department",
];

/// What a caller may see in a body.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Sees {
    /// The private fields must appear (so the test would notice them missing).
    Private,
    /// No private field may appear.
    Nothing,
}
use Sees::{Nothing, Private};

struct Fixture {
    app: axum::Router,
    tokens: Vec<Option<String>>,
    own: i64,
    other: i64,
    own_cell: String,
    other_cell: String,
    /// Free text and exact coordinates that only full access may see, by incident ("OWN", "OTHER").
    secrets: Vec<(&'static str, String)>,
}

async fn place_in(db: &TestDb, cell_prefix: &str, not: Option<&str>) -> (f64, f64, String) {
    let row = db
        .client()
        .await
        .query_one(
            "SELECT ST_X(geom), ST_Y(geom), cell_code FROM buildings
             WHERE starts_with(cell_code, $1) AND ($2::text IS NULL OR cell_code <> $2)
             ORDER BY id LIMIT 1",
            &[&cell_prefix, &not],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1), row.get(2))
}

async fn send(
    app: &axum::Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, String) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        request = request.header("authorization", format!("Bearer {t}"));
    }
    if uri.starts_with("/api/v1/live") {
        request = request.header("last-event-id", "0");
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
    if status == StatusCode::OK && uri.starts_with("/api/v1/live") {
        // An event stream never ends: read what the replay sends within a second.
        let mut stream = response.into_body().into_data_stream();
        let mut text = String::new();
        let deadline = tokio::time::Instant::now() + Duration::from_millis(1500);
        while let Ok(Some(Ok(chunk))) = tokio::time::timeout_at(deadline, stream.next()).await {
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
        return (status, text);
    }
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).to_string())
}

async fn fixture() -> Fixture {
    let db = demo_db().await;
    let (app, _) = app_with_atlas(&db).await;
    let (own_x, own_y, own_cell) = place_in(&db, "520328004016", None).await;
    let (other_x, other_y, other_cell) = place_in(&db, "520328101", None).await;
    assert_ne!(own_cell, other_cell);
    let mut client = db.client().await;
    let mut tokens = vec![None];
    for (name, role) in [
        ("网格员甲", Role::Worker),
        ("规划员", Role::Planner),
        ("指挥中心", Role::Command),
        ("管理员", Role::Admin),
    ] {
        let cells = if role == Role::Worker {
            vec![own_cell.clone()]
        } else {
            vec![]
        };
        tokens.push(Some(
            users::add_user(&mut client, name, role, &cells)
                .await
                .unwrap(),
        ));
    }
    let command = tokens[3].clone().unwrap();
    gridmap::app::demo::seed_departments(&mut client)
        .await
        .unwrap();
    let police = format!("pcs-{}", &own_cell[..9]);
    tokens.push(Some(
        gridmap::store::departments::add_user(&mut client, "派出所值班", &police)
            .await
            .unwrap(),
    ));
    let mut secrets = Vec::new();
    let mut ids = Vec::new();
    for (tag, x, y) in [("OWN", own_x, own_y), ("OTHER", other_x, other_y)] {
        let (status, body) = send(
            &app,
            "POST",
            "/api/v1/incidents",
            Some(&command),
            Some(json!({"category": "0201", "description": format!("秘密描述-{tag} 张三 13800000000"),
                        "address": format!("秘密地址-{tag}"), "photos": [format!("秘密照片-{tag}")],
                        "lon": x, "lat": y, "crs": "cgcs2000", "source": "群众"})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let id = serde_json::from_str::<Value>(&body).unwrap()["incident"]["id"]
            .as_i64()
            .unwrap();
        let (status, body) = send(
            &app,
            "POST",
            &format!("/api/v1/incidents/{id}/actions"),
            Some(&command),
            Some(json!({"action": "受理", "note": format!("秘密备注-{tag}")})),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        if tag == "OWN" {
            // 吹哨 to the own township's 派出所: the department caller's part.
            let (status, body) = send(
                &app,
                "POST",
                &format!("/api/v1/incidents/{id}/dispatch"),
                Some(&command),
                Some(json!({"departments": [police.clone()]})),
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        for secret in [
            format!("秘密描述-{tag}"),
            format!("秘密地址-{tag}"),
            format!("秘密照片-{tag}"),
            format!("秘密备注-{tag}"),
            format!("{x}"),
        ] {
            secrets.push((tag, secret));
        }
        ids.push(id);
    }
    // The server's follower numbers committed live events; this router runs none, so number
    // them here, as the follower would, before the stream is read.
    gridmap::store::live::sequence(&mut client).await.unwrap();
    Fixture {
        app,
        tokens,
        own: ids[0],
        other: ids[1],
        own_cell,
        other_cell,
        secrets,
    }
}

/// One row: method, URI, body, then per caller (none, worker, planner, command, admin, and a
/// department dispatched to the own grid's incident) the status
/// and what the body may show of the *other* grid's incident / of the own one.
struct Row {
    method: &'static str,
    uri: String,
    body: Option<Value>,
    expect: [(u16, Sees); 6],
    /// Which incident the row is about, for the secrets checked ("OWN" or "OTHER"; "" = both).
    about: &'static str,
}

#[tokio::test]
async fn every_incident_path_applies_the_one_access_rule_to_every_role_and_grid() {
    let f = fixture().await;
    let (own, other) = (f.own, f.other);
    let close = Some(json!({"action": "结案"})); // illegal after 受理: 409 proves access, changes nothing
    let key = |i: usize| f.tokens[i].clone().unwrap_or_default();
    // Open311 takes the token as api_key; filled in per caller below.
    let rows = vec![
        Row {
            method: "GET",
            uri: format!("/api/v1/incidents/{own}"),
            body: None,
            about: "OWN",
            expect: [
                (401, Nothing),
                (200, Private),
                (200, Nothing),
                (200, Private),
                (200, Private),
                (200, Private),
            ],
        },
        Row {
            method: "GET",
            uri: format!("/api/v1/incidents/{other}"),
            body: None,
            about: "OTHER",
            expect: [
                (401, Nothing),
                (403, Nothing),
                (200, Nothing),
                (200, Private),
                (200, Private),
                (403, Nothing),
            ],
        },
        Row {
            method: "GET",
            uri: "/api/v1/incidents".into(),
            body: None,
            about: "OTHER",
            expect: [
                (401, Nothing),
                (200, Nothing),
                (200, Nothing),
                (200, Private),
                (200, Private),
                (200, Nothing),
            ],
        },
        Row {
            method: "GET",
            uri: "/api/v1/incidents".into(),
            body: None,
            about: "OWN",
            expect: [
                (401, Nothing),
                (200, Private),
                (200, Nothing),
                (200, Private),
                (200, Private),
                (200, Private),
            ],
        },
        Row {
            method: "GET",
            uri: format!("/api/v1/incidents?cell={}", f.other_cell),
            body: None,
            about: "OTHER",
            expect: [
                (401, Nothing),
                (200, Nothing),
                (200, Nothing),
                (200, Private),
                (200, Private),
                (200, Nothing),
            ],
        },
        Row {
            method: "POST",
            uri: format!("/api/v1/incidents/{own}/actions"),
            body: close.clone(),
            about: "OWN",
            expect: [
                (401, Nothing),
                (409, Nothing),
                (403, Nothing),
                (409, Nothing),
                (409, Nothing),
                (403, Nothing),
            ],
        },
        Row {
            method: "POST",
            uri: format!("/api/v1/incidents/{other}/actions"),
            body: close.clone(),
            about: "OTHER",
            expect: [
                (401, Nothing),
                (403, Nothing),
                (403, Nothing),
                (409, Nothing),
                (409, Nothing),
                (403, Nothing),
            ],
        },
        Row {
            method: "GET",
            uri: "/open311/v2/requests.json?api_key={key}".into(),
            body: None,
            about: "OTHER",
            expect: [
                (401, Nothing),
                (200, Nothing),
                (403, Nothing),
                (200, Private),
                (200, Private),
                (403, Nothing),
            ],
        },
        Row {
            method: "GET",
            uri: "/open311/v2/requests.json?api_key={key}".into(),
            body: None,
            about: "OWN",
            expect: [
                (401, Nothing),
                (200, Private),
                (403, Nothing),
                (200, Private),
                (200, Private),
                (403, Nothing),
            ],
        },
        Row {
            method: "GET",
            uri: format!("/open311/v2/requests.json?api_key={{key}}&service_request_id={other}"),
            body: None,
            about: "OTHER",
            expect: [
                (401, Nothing),
                (200, Nothing),
                (403, Nothing),
                (200, Private),
                (200, Private),
                (403, Nothing),
            ],
        },
        Row {
            method: "GET",
            uri: format!("/open311/v2/requests/{own}.json?api_key={{key}}"),
            body: None,
            about: "OWN",
            expect: [
                (401, Nothing),
                (200, Private),
                (403, Nothing),
                (200, Private),
                (200, Private),
                (403, Nothing),
            ],
        },
        Row {
            method: "GET",
            uri: format!("/open311/v2/requests/{other}.json?api_key={{key}}"),
            body: None,
            about: "OTHER",
            expect: [
                (401, Nothing),
                (403, Nothing),
                (403, Nothing),
                (200, Private),
                (200, Private),
                (403, Nothing),
            ],
        },
        Row {
            method: "GET",
            uri: "/api/v1/live".into(),
            body: None,
            about: "",
            expect: [
                (401, Nothing),
                (403, Nothing),
                (200, Nothing),
                (200, Private),
                (200, Private),
                (403, Nothing),
            ],
        },
        Row {
            method: "GET",
            uri: "/api/v1/stats".into(),
            body: None,
            about: "",
            expect: [
                (401, Nothing),
                (403, Nothing),
                (200, Nothing),
                (200, Nothing),
                (200, Nothing),
                (403, Nothing),
            ],
        },
        Row {
            method: "GET",
            uri: "/api/v1/stats?format=csv&level=grid".into(),
            body: None,
            about: "",
            expect: [
                (401, Nothing),
                (403, Nothing),
                (200, Nothing),
                (200, Nothing),
                (200, Nothing),
                (403, Nothing),
            ],
        },
        Row {
            method: "GET",
            uri: format!("/api/v1/cells/{}/households", f.own_cell),
            body: None,
            about: "",
            expect: [
                (401, Nothing),
                (200, Nothing),
                (200, Nothing),
                (403, Nothing),
                (200, Nothing),
                (403, Nothing),
            ],
        },
        Row {
            method: "GET",
            uri: format!("/api/v1/cells/{}/households", f.other_cell),
            body: None,
            about: "",
            expect: [
                (401, Nothing),
                (403, Nothing),
                (200, Nothing),
                (403, Nothing),
                (200, Nothing),
                (403, Nothing),
            ],
        },
    ];
    let mut failures = Vec::new();
    for row in &rows {
        for (i, caller) in CALLERS.iter().enumerate() {
            let (want_status, sees) = row.expect[i];
            let (uri, token) = if row.uri.contains("{key}") {
                if f.tokens[i].is_some() {
                    (row.uri.replace("{key}", &key(i)), None)
                } else {
                    (
                        row.uri
                            .replace("api_key={key}&", "")
                            .replace("?api_key={key}", ""),
                        None,
                    )
                }
            } else {
                (row.uri.clone(), f.tokens[i].clone())
            };
            let (status, body) =
                send(&f.app, row.method, &uri, token.as_deref(), row.body.clone()).await;
            let what = format!("{} {} as {caller}", row.method, row.uri);
            if status.as_u16() != want_status {
                failures.push(format!(
                    "{what}: status {status}, wanted {want_status}: {body}"
                ));
                continue;
            }
            let shown: Vec<&String> = f
                .secrets
                .iter()
                .filter(|(tag, _)| row.about.is_empty() || *tag == row.about)
                .map(|(_, s)| s)
                .filter(|s| body.contains(s.as_str()))
                .collect();
            let about = if row.about.is_empty() {
                "OWN"
            } else {
                row.about
            };
            match sees {
                Nothing if !shown.is_empty() => {
                    failures.push(format!("{what}: shows {shown:?}"));
                }
                Private if !body.contains(&format!("秘密描述-{about}")) => {
                    failures.push(format!(
                        "{what}: full access but the description is missing"
                    ));
                }
                _ => {}
            }
            if status.is_client_error() && !row.uri.starts_with("/open311/") {
                let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                if v["error"]["code"].as_str().is_none() {
                    failures.push(format!("{what}: error body not in the contract: {body}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn a_planner_sees_category_state_grid_and_dates_with_the_location_rounded_to_the_grid() {
    let f = fixture().await;
    let planner = f.tokens[2].clone().unwrap();
    let (status, body) = send(
        &f.app,
        "GET",
        &format!("/api/v1/incidents/{}", f.other),
        Some(&planner),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let v: Value = serde_json::from_str(&body).unwrap();
    let incident = &v["incident"];
    for kept in [
        "category",
        "state",
        "cell",
        "created_at",
        "deadline_at",
        "lon",
        "lat",
    ] {
        assert!(!incident[kept].is_null(), "{kept} is kept: {incident}");
    }
    for gone in ["description", "address", "photos", "team"] {
        assert!(
            incident.get(gone).is_none(),
            "{gone} must not be shown: {incident}"
        );
    }
    assert_eq!(incident["location"], "grid");
    assert_eq!(incident["cell"]["code"], f.other_cell.as_str());
    assert!(
        v["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e.get("note").is_none())
    );
    // The rounded point still lies in the grid.
    let (status, located) = send(
        &f.app,
        "GET",
        &format!(
            "/api/v1/locate?lon={}&lat={}",
            incident["lon"], incident["lat"]
        ),
        None,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let located: Value = serde_json::from_str(&located).unwrap();
    let chain = located["cells"].as_array().unwrap();
    assert_eq!(chain.last().unwrap()["code"], f.other_cell.as_str());
}
