//! The signed intake of the 12345 hotline and video platforms through the real CLI, router and
//! PostGIS: the secret from `gridmap intake add`, a mapped category, one incident per external
//! id (also when two deliveries race), and 401 for every signature that does not verify.

use std::process::Command;

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::harness::{binary, demo_db};
use crate::http::app_with_atlas;

async fn post(
    app: &axum::Router,
    source: &str,
    headers: &[(&str, String)],
    body: &str,
) -> (StatusCode, Value) {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let mut request = axum::http::Request::builder()
        .method("POST")
        .uri(format!("/api/v1/intake/{source}"))
        .header("content-type", "application/json");
    for (k, v) in headers {
        request = request.header(*k, v);
    }
    let response = app
        .clone()
        .oneshot(
            request
                .body(axum::body::Body::from(body.to_string()))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn signed(secret: &str, at: i64, body: &str) -> Vec<(&'static str, String)> {
    let ts = at.to_string();
    vec![
        (
            "x-gridmap-signature",
            gridmap::app::intake::signature(secret, &ts, body.as_bytes()),
        ),
        ("x-gridmap-timestamp", ts),
    ]
}

#[tokio::test]
async fn a_signed_delivery_makes_one_incident_per_external_id_and_a_bad_signature_is_401() {
    let db = demo_db().await;
    let output = Command::new(binary())
        .args(["intake", "add", "hotline", "--map", "H-FIRE=0201"])
        .env("DATABASE_URL", db.url())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let secret = stdout.trim().lines().last().unwrap().trim().to_string();
    assert!(
        secret.len() >= 32 && secret.bytes().all(|b| b.is_ascii_hexdigit()),
        "{stdout}"
    );
    let (app, _) = app_with_atlas(&db).await;
    let (x, y, cell): (f64, f64, String) = {
        let r = db
            .client()
            .await
            .query_one(
                "SELECT ST_X(geom), ST_Y(geom), cell_code FROM buildings ORDER BY id LIMIT 1",
                &[],
            )
            .await
            .unwrap();
        (r.get(0), r.get(1), r.get(2))
    };
    let now = chrono::Utc::now().timestamp();
    let body = json!({"external_id": "12345-0001", "category": "H-FIRE", "description": "楼道堆放杂物（12345转办）",
                      "lon": x, "lat": y, "crs": "cgcs2000"})
    .to_string();
    let before = crate::harness::incident_count(&db).await;
    let (status, first) = post(&app, "hotline", &signed(&secret, now, &body), &body).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let incident = &first["incident"];
    assert_eq!(incident["source"], "12345 热线");
    assert_eq!(incident["cell"]["code"], cell.as_str());
    assert!(
        incident["category"].as_str().unwrap().contains('/'),
        "mapped to ours: {incident}"
    );
    // The same external id again (a retry): the same incident, nothing new.
    let (status, again) = post(&app, "hotline", &signed(&secret, now, &body), &body).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["incident"]["id"], incident["id"]);
    assert_eq!(crate::harness::incident_count(&db).await, before + 1);
    // Two deliveries of a new id racing: one incident.
    let race = json!({"external_id": "12345-0002", "category": "0201", "description": "占道经营",
                      "lon": x, "lat": y, "crs": "cgcs2000"})
    .to_string();
    let h = signed(&secret, now, &race);
    let (a, b) = tokio::join!(
        post(&app, "hotline", &h, &race),
        post(&app, "hotline", &h, &race)
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::CREATED]);
    assert_eq!(a.1["incident"]["id"], b.1["incident"]["id"]);
    assert_eq!(crate::harness::incident_count(&db).await, before + 2);
    // Every delivery that does not verify is a 401 and writes nothing.
    let other = json!({"external_id": "12345-0003", "category": "0201", "description": "x",
                       "lon": x, "lat": y, "crs": "cgcs2000"})
    .to_string();
    // The stale ones are dated from the clock now, a minute past the 5 minutes either way, so a
    // slow run cannot bring them back within the window.
    let now = chrono::Utc::now().timestamp();
    let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
        (
            "hotline",
            signed("0000000000000000000000000000000000000000", now, &other),
        ),
        ("hotline", signed(&secret, now - 360, &other)),
        ("hotline", signed(&secret, now + 360, &other)),
        ("hotline", signed(&secret, now, &body)),
        ("hotline", vec![]),
        ("nosuch", signed(&secret, now, &other)),
    ];
    for (source, headers) in cases {
        let (status, answer) = post(&app, source, &headers, &other).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
        assert_eq!(answer["error"]["code"], "bad_signature");
    }
    // A signed body with a bad field is a 400 naming it, and writes nothing.
    let typo = json!({"external_id": "12345-0004", "category": "0201", "description": "x",
                      "lon": x, "lat": y, "crs": "cgcs2000", "adress": "?"})
    .to_string();
    let (status, answer) = post(&app, "hotline", &signed(&secret, now, &typo), &typo).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["error"]["details"]["field"], "adress");
    let future = json!({"external_id": "12345-0005", "category": "0201", "description": "x",
                        "lon": x, "lat": y, "crs": "cgcs2000", "reported_at": "2099-01-01T00:00:00Z"})
    .to_string();
    let (status, answer) = post(&app, "hotline", &signed(&secret, now, &future), &future).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["error"]["details"]["field"], "reported_at");
    assert_eq!(crate::harness::incident_count(&db).await, before + 2);
}

/// What the loopback callback server saw: (status it answered, delivery id, body, signature ok).
type Seen = std::sync::Arc<std::sync::Mutex<Vec<(u16, String, Value, bool)>>>;

async fn callback_server(secret: String, fail_first: usize) -> (String, Seen) {
    use axum::extract::State;
    use axum::http::HeaderMap;
    let seen: Seen = Default::default();
    let app = axum::Router::new()
        .route(
            "/results",
            axum::routing::post(
                move |State((seen, secret)): State<(Seen, String)>,
                      headers: HeaderMap,
                      body: axum::body::Bytes| async move {
                    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
                    let ok = gridmap::app::intake::verify(
                        &secret,
                        h("x-gridmap-timestamp"),
                        h("x-gridmap-signature"),
                        &body,
                        chrono::Utc::now(),
                    )
                    .is_ok();
                    let mut seen = seen.lock().unwrap();
                    let status = if seen.len() < fail_first { 503 } else { 200 };
                    seen.push((
                        status,
                        h("x-gridmap-delivery").unwrap_or_default().to_string(),
                        serde_json::from_slice(&body).unwrap_or(Value::Null),
                        ok,
                    ));
                    StatusCode::from_u16(status).unwrap()
                },
            ),
        )
        .with_state((seen.clone(), secret));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{address}/results"), seen)
}

#[tokio::test]
async fn a_result_reaches_the_callback_exactly_once_through_the_outbox_after_failures() {
    let db = demo_db().await;
    let (app, _) = app_with_atlas(&db).await;
    let client = db.client().await;
    // The secret is only known once the source exists, and the server needs it to check: make
    // the source, then the server, then point the source at the server.
    let secret =
        gridmap::app::intake::add_source(&client, "video", "视频", Default::default(), None)
            .await
            .unwrap();
    let (url, seen) = callback_server(secret.clone(), 2).await;
    client
        .execute(
            "UPDATE intake_sources SET callback_url = $1 WHERE name = 'video'",
            &[&url],
        )
        .await
        .unwrap();
    let (x, y): (f64, f64) = {
        let r = client
            .query_one(
                "SELECT ST_X(geom), ST_Y(geom) FROM buildings ORDER BY id LIMIT 1",
                &[],
            )
            .await
            .unwrap();
        (r.get(0), r.get(1))
    };
    let body = json!({"external_id": "CAM-7-0001", "category": "0201", "description": "视频告警：消防通道占用",
                      "lon": x, "lat": y, "crs": "cgcs2000"})
    .to_string();
    let (status, made) = post(
        &app,
        "video",
        &signed(&secret, chrono::Utc::now().timestamp(), &body),
        &body,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let id = made["incident"]["id"].as_i64().unwrap();
    let http = gridmap::app::intake::http_client().unwrap();
    let deliver = |at: chrono::DateTime<chrono::Utc>| {
        let http = http.clone();
        let config = db.config.clone();
        async move {
            // A fresh connection each time, as after a restart: the outbox is in the database.
            let mut c = gridmap::store::connect(&config).await.unwrap();
            gridmap::app::intake::deliver_due(&mut c, &http, at)
                .await
                .unwrap()
        }
    };
    assert_eq!(
        deliver(chrono::Utc::now()).await,
        (0, 0),
        "nothing is owed before the incident closes"
    );
    client
        .execute(
            "UPDATE incidents SET state = '结案', closed_at = now() WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    let now = chrono::Utc::now() + chrono::TimeDelta::milliseconds(100);
    assert_eq!(deliver(now).await, (0, 1), "the callback answers 503");
    assert_eq!(deliver(now).await, (0, 0), "not due again for 5 s");
    assert_eq!(deliver(now + chrono::TimeDelta::seconds(6)).await, (0, 1));
    assert_eq!(deliver(now + chrono::TimeDelta::seconds(30)).await, (1, 0));
    assert_eq!(
        deliver(now + chrono::TimeDelta::hours(2)).await,
        (0, 0),
        "delivered once"
    );
    client
        .execute(
            "UPDATE incidents SET state = '评价', rating = '满意' WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    assert_eq!(
        deliver(now + chrono::TimeDelta::hours(2)).await,
        (1, 0),
        "the rating is a result too"
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 4);
    assert!(
        seen.iter().all(|s| s.3),
        "every delivery is signed with the source's secret"
    );
    let ok: Vec<&(u16, String, Value, bool)> = seen.iter().filter(|s| s.0 == 200).collect();
    assert_eq!(ok.len(), 2);
    assert_eq!(ok[0].2["external_id"], "CAM-7-0001");
    assert_eq!(ok[0].2["state"], "结案");
    assert_eq!(ok[1].2["rating"], "满意");
    assert_ne!(ok[0].1, ok[1].1, "each result has its own delivery id");
    assert_eq!(seen[0].1, ok[0].1, "a retry keeps its delivery id");
}
