//! The holes an outside probe found, each closed and kept closed: NUL bytes and invalid UTF-8 at
//! every text entry, every rejection in the error contract, the security headers, the token
//! lifecycle and the failed-authentication limit, the tile cache's bounds, and the smaller ones.

use std::net::SocketAddr;
use std::process::Command;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode};
use gridmap::domain::role::Role;
use gridmap::store::users;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::harness::{TestDb, binary, demo_db};
use crate::http::app_with_atlas;

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }
}

async fn raw(
    app: &axum::Router,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: impl Into<Body>,
) -> Answer {
    let mut request = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = app
        .clone()
        .oneshot(request.body(body.into()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        text: String::from_utf8_lossy(&bytes).to_string(),
    }
}

async fn token(db: &TestDb, name: &str, role: Role, cells: &[&str]) -> String {
    let cells: Vec<String> = cells.iter().map(|c| c.to_string()).collect();
    users::add_user(&mut db.client().await, name, role, &cells)
        .await
        .unwrap()
}

async fn count(db: &TestDb, table: &str) -> i64 {
    db.client()
        .await
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .await
        .unwrap()
        .get(0)
}

async fn a_point(db: &TestDb) -> (f64, f64, String) {
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
}

fn auth(t: &str) -> (&'static str, String) {
    ("authorization", format!("Bearer {t}"))
}

#[tokio::test]
async fn a_nul_byte_or_invalid_utf8_is_a_400_naming_the_field_at_every_text_entry() {
    let db = demo_db().await;
    let (app, _) = app_with_atlas(&db).await;
    let command = token(&db, "指挥", Role::Command, &[]).await;
    let planner = token(&db, "规划", Role::Planner, &[]).await;
    let (x, y, cell) = a_point(&db).await;
    let bearer = format!("Bearer {command}");
    let json_ct = ("content-type", "application/json");
    let incidents_before = count(&db, "incidents").await;

    // JSON bodies: the incident report, an action's note.
    let body = json!({"category": "0201", "description": "a\u{0}b", "lon": x, "lat": y, "crs": "cgcs2000"});
    let a = raw(
        &app,
        "POST",
        "/api/v1/incidents",
        &[("authorization", &bearer), json_ct],
        body.to_string(),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
    assert_eq!(a.json()["error"]["details"]["field"], "description");
    let lone = format!(r#"{{"category":"0201","description":"\ud800","lon":{x},"lat":{y}}}"#);
    let a = raw(
        &app,
        "POST",
        "/api/v1/incidents",
        &[("authorization", &bearer), json_ct],
        lone,
    )
    .await;
    assert_eq!(
        a.status,
        StatusCode::BAD_REQUEST,
        "a lone surrogate: {}",
        a.text
    );
    assert_eq!(
        count(&db, "incidents").await,
        incidents_before,
        "nothing written"
    );

    // A typo in a field name is refused, not ignored, and named.
    let typo = json!({"category": "0201", "description": "x", "lon": x, "lat": y, "crs": "cgcs2000", "sevrity": 3});
    let a = raw(
        &app,
        "POST",
        "/api/v1/incidents",
        &[("authorization", &bearer), json_ct],
        typo.to_string(),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
    assert_eq!(a.json()["error"]["details"]["field"], "sevrity");
    assert_eq!(
        count(&db, "incidents").await,
        incidents_before,
        "nothing written"
    );

    // Open311, form-encoded and JSON.
    let form = ("content-type", "application/x-www-form-urlencoded");
    for body in [
        format!("api_key={command}&service_code=0201&lat={y}&long={x}&description=a%00b"),
        format!("api_key={command}&service_code=0201&lat={y}&long={x}&description=a%ffb"),
    ] {
        let a = raw(&app, "POST", "/open311/v2/requests.json", &[form], body).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
        let d = a.json()[0]["description"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(d.starts_with("description:"), "{}", a.text);
    }
    let body = json!({"api_key": command, "service_code": "0201", "lat": y, "long": x, "description": "\u{0}"});
    let a = raw(
        &app,
        "POST",
        "/open311/v2/requests.json",
        &[json_ct],
        body.to_string(),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
    assert!(
        a.json()[0]["description"]
            .as_str()
            .unwrap()
            .starts_with("description:")
    );
    assert_eq!(
        count(&db, "incidents").await,
        incidents_before,
        "nothing written"
    );

    // Query strings and path segments.
    for (uri, field) in [
        ("/api/v1/incidents?cell=52%00", "cell"),
        ("/api/v1/cells?parent=%00", "parent"),
        ("/api/v1/cells?parent=%ff", "parent"),
        ("/api/v1/cells/5203%00", "path"),
        ("/api/v1/cells/%ff", "path"),
    ] {
        let a = raw(
            &app,
            "GET",
            uri,
            &[("authorization", &bearer)],
            Body::empty(),
        )
        .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{uri}: {}", a.text);
        assert_eq!(a.json()["error"]["details"]["field"], field, "{uri}");
    }

    // A cell's name in a draft.
    let pbearer = format!("Bearer {planner}");
    let a = raw(
        &app,
        "POST",
        "/api/v1/drafts",
        &[("authorization", &pbearer), json_ct],
        "{}",
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let id = a.json()["id"].clone();
    let cell_feature = raw(
        &app,
        "GET",
        &format!("/api/v1/cells/{cell}"),
        &[],
        Body::empty(),
    )
    .await
    .json();
    let mut feature = cell_feature.clone();
    feature["properties"]["name"] = json!("网格\u{0}");
    let a = raw(
        &app,
        "PUT",
        &format!("/api/v1/drafts/{id}/cells/{cell}"),
        &[("authorization", &pbearer), json_ct],
        feature.to_string(),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text);
    assert_eq!(a.json()["error"]["details"]["field"], "properties.name");
    let draft = raw(
        &app,
        "GET",
        &format!("/api/v1/drafts/{id}"),
        &[("authorization", &pbearer)],
        Body::empty(),
    )
    .await;
    assert_eq!(draft.json()["changes"], json!([]), "the draft is unchanged");

    // The cell import (a file): the feature and the property are named.
    let mut file_feature = cell_feature;
    file_feature["properties"]["name"] = json!("a\u{0}b");
    let collection = json!({"type": "FeatureCollection", "features": [file_feature]}).to_string();
    let err = gridmap::codec::cells::parse_cells(&collection)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("feature 0") && err.contains("name") && err.contains("NUL"),
        "{err}"
    );
}

#[tokio::test]
async fn one_csv_row_with_a_nul_is_rejected_and_the_other_rows_are_written() {
    let db = demo_db().await;
    let (app, _) = app_with_atlas(&db).await;
    let planner = token(&db, "规划", Role::Planner, &[]).await;
    let (x, y, _) = a_point(&db).await;
    let csv = format!(
        "编号,地址,经度,纬度\nP1,探针路1号,{x},{y}\nP2,探针路2号,{x},{y}\nP3,探针路\u{0}3号,{x},{y}\nP4,探针路4号,{x},{y}\n"
    );
    let before = count(&db, "buildings").await;
    let a = raw(
        &app,
        "POST",
        "/api/v1/import/buildings?crs=cgcs2000",
        &[
            ("authorization", &format!("Bearer {planner}")),
            ("content-type", "text/csv"),
        ],
        csv,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert_eq!(count(&db, "buildings").await, before + 3, "{}", a.text);
    let report = a.json();
    let text = report.to_string();
    assert!(
        text.contains("NUL") && text.contains("\"line\":4"),
        "the bad row is named: {text}"
    );
}

/// A request (method, URI, headers, body) and the status it must get.
type Case<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, String, u16);

#[tokio::test]
async fn every_rejection_uses_the_error_contract_and_the_security_headers() {
    let db = demo_db().await;
    let (app, _) = app_with_atlas(&db).await;
    let worker = token(&db, "网格员", Role::Worker, &["520328004016001"]).await;
    let (k, bearer) = auth(&worker);
    let j = ("content-type", "application/json");
    let big = format!("{{\"description\": \"{}\"}}", "x".repeat(3 * 1024 * 1024));
    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    let cases: Vec<Case> = vec![
        (
            "POST",
            "/api/v1/incidents",
            vec![(k, &bearer), j],
            "{\"a\": ".into(),
            400,
        ),
        (
            "POST",
            "/api/v1/incidents",
            vec![(k, &bearer), j],
            String::new(),
            400,
        ),
        (
            "POST",
            "/api/v1/incidents",
            vec![(k, &bearer), j],
            "{\"lon\": NaN}".into(),
            400,
        ),
        (
            "POST",
            "/api/v1/incidents",
            vec![(k, &bearer), j],
            "{\"lon\": Infinity}".into(),
            400,
        ),
        (
            "POST",
            "/api/v1/incidents",
            vec![(k, &bearer), j],
            "{\"lon\": 1e400}".into(),
            400,
        ),
        (
            "POST",
            "/api/v1/incidents",
            vec![(k, &bearer), j],
            deep,
            400,
        ),
        (
            "POST",
            "/api/v1/incidents",
            vec![(k, &bearer), ("content-type", "text/plain")],
            "{}".into(),
            415,
        ),
        (
            "POST",
            "/api/v1/incidents",
            vec![(k, &bearer)],
            "{}".into(),
            415,
        ),
        ("POST", "/api/v1/incidents", vec![(k, &bearer), j], big, 413),
        ("POST", "/api/v1/validate", vec![], "\u{0}".into(), 400),
        ("GET", "/api/v1/cells/%ff", vec![], String::new(), 400),
        ("DELETE", "/api/v1/cells", vec![], String::new(), 405),
        (
            "GET",
            "/vendor/maplibre-gl/nope.js",
            vec![],
            String::new(),
            404,
        ),
        ("GET", "/web/nope.js", vec![], String::new(), 404),
        ("GET", "/web/package.json", vec![], String::new(), 404),
        (
            "GET",
            "/web/node_modules/.package-lock.json",
            vec![],
            String::new(),
            404,
        ),
        (
            "GET",
            "/web/tests/public.test.mjs",
            vec![],
            String::new(),
            404,
        ),
        ("GET", "/no/such/thing", vec![], String::new(), 404),
        (
            "GET",
            "/api/v1/incidents/abc",
            vec![(k, &bearer)],
            String::new(),
            400,
        ),
        (
            "GET",
            "/api/v1/me",
            vec![("authorization", "Basic eA==")],
            String::new(),
            401,
        ),
        (
            "GET",
            "/api/v1/cells/520328004016001?as_of=99",
            vec![],
            String::new(),
            404,
        ),
        (
            "GET",
            "/api/v1/stats?code=abc",
            vec![("authorization", "Bearer x")],
            String::new(),
            401,
        ),
    ];
    for (method, uri, headers, body, want) in cases {
        let a = raw(&app, method, uri, &headers, body).await;
        assert_eq!(
            a.status.as_u16(),
            want,
            "{method} {uri}: {}",
            &a.text[..a.text.len().min(300)]
        );
        let ct = a
            .headers
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string());
        assert_eq!(ct.as_deref(), Some("application/json"), "{method} {uri}");
        let v = a.json();
        assert!(
            v["error"]["code"].is_string() && v["error"]["message"].is_string(),
            "{method} {uri}: {}",
            a.text
        );
        assert!(v["error"].get("details").is_some(), "{method} {uri}");
        assert_eq!(a.headers["x-content-type-options"], "nosniff", "{uri}");
        assert_eq!(a.headers["referrer-policy"], "no-referrer", "{uri}");
    }
    // Open311's own shape, for its 404s too.
    for (uri, want) in [
        ("/open311/v2/services.xml", 404),
        ("/open311/v2/requests.json", 401),
        ("/open311/v2/requests/x.json?api_key=gm_x", 403),
        ("/open311/v2/requests.json?api_key=gm_x&colour=red", 400),
        ("/open311/v2/requests.json?api_key=gm_x&status=maybe", 400),
    ] {
        let a = raw(&app, "GET", uri, &[], Body::empty()).await;
        assert_eq!(a.status.as_u16(), want, "{uri}: {}", a.text);
        let v = a.json();
        assert_eq!(v[0]["code"], want, "{uri}: {}", a.text);
        assert!(v[0]["description"].is_string(), "{uri}");
    }
    // The planner's stats with a bad code name the field.
    let planner = token(&db, "规划", Role::Planner, &[]).await;
    let a = raw(
        &app,
        "GET",
        "/api/v1/stats?code=abc",
        &[("authorization", &format!("Bearer {planner}"))],
        Body::empty(),
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert_eq!(a.json()["error"]["details"]["field"], "code");

    // Headers: pages get the page policy; pages holding tokens are never framed; data is inert.
    for (uri, frames_denied) in [("/", false), ("/plan", true), ("/wall", true)] {
        let a = raw(&app, "GET", uri, &[], Body::empty()).await;
        assert_eq!(a.status, StatusCode::OK, "{uri}");
        let csp = a.headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("default-src 'self'") && csp.contains("worker-src 'self' blob:"),
            "{csp}"
        );
        assert!(!csp.contains("unsafe-inline"), "{uri}: {csp}");
        assert_eq!(
            csp.contains("frame-ancestors 'none'"),
            frames_denied,
            "{uri}: {csp}"
        );
        assert_eq!(a.headers["x-content-type-options"], "nosniff");
    }
    let a = raw(&app, "GET", "/api/v1/cells?level=1", &[], Body::empty()).await;
    assert!(
        a.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("default-src 'none'")
    );
    let a = raw(&app, "GET", "/web/public.js", &[], Body::empty()).await;
    assert_eq!(a.status, StatusCode::OK, "the pages' own files are served");
    // A revalidated page keeps the policy it was cached with: a 304 carries none to replace it.
    let page = raw(&app, "GET", "/plan", &[], Body::empty()).await;
    let modified = page.headers["last-modified"].to_str().unwrap().to_string();
    let again = raw(
        &app,
        "GET",
        "/plan",
        &[("if-modified-since", &modified)],
        Body::empty(),
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.headers.get("content-security-policy").is_none());
}

#[tokio::test]
async fn tokens_expire_are_revoked_by_name_prefix_or_admin_and_record_their_last_use() {
    let db = demo_db().await;
    let (app, _) = app_with_atlas(&db).await;
    let admin = token(&db, "管理员", Role::Admin, &[]).await;
    let worker = token(&db, "网格员", Role::Worker, &["520328004016001"]).await;
    let me = |t: String, scheme: &'static str| {
        let app = app.clone();
        async move {
            raw(
                &app,
                "GET",
                "/api/v1/me",
                &[("authorization", &format!("{scheme} {t}"))],
                Body::empty(),
            )
            .await
            .status
        }
    };
    assert_eq!(
        me(worker.clone(), "bearer").await,
        StatusCode::OK,
        "the scheme is case-insensitive"
    );
    assert_eq!(me(worker.clone(), "BEARER").await, StatusCode::OK);

    // An expired token stops working.
    let past = chrono::Utc::now() - chrono::TimeDelta::seconds(1);
    let expired = users::add_user_expiring(
        &mut db.client().await,
        "过期",
        Role::Command,
        &[],
        Some(past),
    )
    .await
    .unwrap();
    assert_eq!(me(expired, "Bearer").await, StatusCode::UNAUTHORIZED);

    // The admin list shows prefixes, last use and expiry, never a token.
    let a = raw(
        &app,
        "GET",
        "/api/v1/tokens",
        &[("authorization", &format!("Bearer {admin}"))],
        Body::empty(),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert!(!a.text.contains(&worker[12..]), "a token leaked");
    let tokens = a.json()["tokens"].as_array().unwrap().clone();
    let mine = tokens.iter().find(|t| t["user"] == "网格员").unwrap();
    assert_eq!(mine["prefix"], &worker[..12]);
    assert!(
        mine["last_used_at"].is_string(),
        "last use recorded: {mine}"
    );
    assert!(
        tokens
            .iter()
            .any(|t| t["user"] == "过期" && t["expires_at"].is_string())
    );
    let a = raw(
        &app,
        "GET",
        "/api/v1/tokens",
        &[("authorization", &format!("Bearer {worker}"))],
        Body::empty(),
    )
    .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN);

    // Revoked by the admin endpoint: the next request fails.
    let id = mine["id"].as_i64().unwrap();
    let a = raw(
        &app,
        "DELETE",
        &format!("/api/v1/tokens/{id}"),
        &[("authorization", &format!("Bearer {admin}"))],
        Body::empty(),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert!(a.json()["token"]["revoked_at"].is_string());
    assert_eq!(me(worker, "Bearer").await, StatusCode::UNAUTHORIZED);

    // The CLI: --expires, revoke by a prefix and by name.
    let run = |args: &[&str]| {
        let out = Command::new(binary())
            .args(args)
            .env("DATABASE_URL", db.url())
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (ok, out, err) = run(&[
        "user",
        "add",
        "临时",
        "--role",
        "planner",
        "--expires",
        "90d",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("valid until"), "{out}");
    let temp = out.lines().last().unwrap().to_string();
    assert_eq!(me(temp.clone(), "Bearer").await, StatusCode::OK);
    let (ok, _, err) = run(&["user", "add", "x", "--role", "planner", "--expires", "soon"]);
    assert!(!ok && err.contains("--expires"), "{err}");
    let (ok, out, err) = run(&["user", "revoke", &temp[..10]]);
    assert!(ok, "{err}");
    assert!(out.contains("revoked token"), "{out}");
    assert_eq!(me(temp, "Bearer").await, StatusCode::UNAUTHORIZED);
    let command = token(&db, "指挥甲", Role::Command, &[]).await;
    let (ok, _, err) = run(&["user", "revoke", "指挥甲"]);
    assert!(ok, "{err}");
    assert_eq!(me(command, "Bearer").await, StatusCode::UNAUTHORIZED);
    let (ok, _, err) = run(&["user", "revoke", "nobody"]);
    assert!(!ok && err.contains("no user and no token"), "{err}");
}

#[tokio::test]
async fn failed_authentications_are_limited_per_address_with_retry_after() {
    let db = demo_db().await;
    let (app, _) = app_with_atlas(&db).await;
    let good = token(&db, "指挥", Role::Command, &[]).await;
    let from = |addr: &str, t: &str| {
        let mut request = Request::builder()
            .uri("/api/v1/me")
            .header("authorization", format!("Bearer {t}"))
            .body(Body::empty())
            .unwrap();
        let addr: SocketAddr = addr.parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(addr));
        let app = app.clone();
        async move { app.oneshot(request).await.unwrap() }
    };
    for i in 0..gridmap::http::auth::FAILED_AUTH_PER_MINUTE {
        let r = from("198.51.100.7:4000", &format!("gm_guess{i}")).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "guess {i}");
    }
    let r = from("198.51.100.7:4001", "gm_one_more").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    // While limited even a good token waits (no database query is made for that address)…
    assert_eq!(
        from("198.51.100.7:4002", &good).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // …and Open311's api_key is limited the same way; other addresses are not affected.
    let mut request = Request::builder()
        .uri("/open311/v2/requests.json?api_key=gm_guess")
        .body(Body::empty())
        .unwrap();
    request.extensions_mut().insert(ConnectInfo(
        "198.51.100.7:4003".parse::<SocketAddr>().unwrap(),
    ));
    let r = app.clone().oneshot(request).await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        from("203.0.113.9:5000", &good).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        from("203.0.113.9:5000", "gm_wrong").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn tiles_outside_the_atlas_or_beyond_maxzoom_are_not_encoded_or_cached_and_the_cache_keeps_its_budget()
 {
    let db = demo_db().await;
    let (app, state) = app_with_atlas(&db).await;
    let tilejson = raw(&app, "GET", "/tiles/cells.json", &[], Body::empty())
        .await
        .json();
    let maxzoom = tilejson["maxzoom"].as_u64().unwrap();
    assert_eq!(maxzoom, 18);
    let before = state.tiles.cached();
    // The far side of the world at z16: empty, answered without entering the cache.
    for x in 0..50 {
        let a = raw(
            &app,
            "GET",
            &format!("/tiles/cells/16/{x}/100.mvt"),
            &[],
            Body::empty(),
        )
        .await;
        assert_eq!(a.status, StatusCode::NO_CONTENT);
    }
    assert_eq!(state.tiles.cached(), before, "outside tiles are not cached");
    let a = raw(&app, "GET", "/tiles/cells/19/0/0.mvt", &[], Body::empty()).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.text);
    assert_eq!(a.json()["error"]["code"], "not_found");
    let a = raw(&app, "GET", "/tiles/cells/22/0/0.mvt", &[], Body::empty()).await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);

    // A 128 KB budget over every tile of the demo at z14–z16: the cache never holds more.
    let atlas = state.atlas.load_full();
    let budget = 128 * 1024;
    let service =
        gridmap::tiles::cache::TileService::with_budget(&atlas, Default::default(), budget);
    let b = tilejson["bounds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect::<Vec<_>>();
    let mut served = 0;
    for z in 14..=16u32 {
        let n = 2f64.powi(z as i32);
        let tx = |lon: f64| ((lon + 180.0) / 360.0 * n) as u32;
        let ty = |lat: f64| {
            let r = lat.to_radians();
            ((1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n) as u32
        };
        for x in tx(b[0])..=tx(b[2]) {
            for y in ty(b[3])..=ty(b[1]) {
                let id = gridmap::tiles::mercator::TileId::new(z, x, y).unwrap();
                for layer in [gridmap::tiles::Layer::Cells, gridmap::tiles::Layer::Labels] {
                    let t = service.tile(layer, id).unwrap();
                    served += t.raw.as_ref().map_or(0, |b| b.len())
                        + t.gzip.as_ref().map_or(0, |b| b.len());
                    let (budget, used) = service.usage();
                    assert!(used <= budget, "{used} > {budget}");
                }
            }
        }
    }
    assert!(
        served > 2 * budget as usize,
        "the test must overflow the budget: {served} bytes"
    );
    assert!(service.cached() > 0, "the cache still caches");
}

#[tokio::test]
async fn an_incident_outside_every_grid_is_a_422_and_nothing_is_written() {
    let db = demo_db().await;
    let (app, _) = app_with_atlas(&db).await;
    let command = token(&db, "指挥", Role::Command, &[]).await;
    let before = count(&db, "incidents").await;
    let body = json!({"category": "0201", "description": "北京", "lon": 116.4, "lat": 39.9, "crs": "wgs84"});
    let a = raw(
        &app,
        "POST",
        "/api/v1/incidents",
        &[
            ("authorization", &format!("Bearer {command}")),
            ("content-type", "application/json"),
        ],
        body.to_string(),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text);
    assert_eq!(a.json()["error"]["code"], "outside_atlas");
    assert_eq!(count(&db, "incidents").await, before);
    let form = format!("api_key={command}&service_code=0201&lat=39.9&long=116.4&description=x");
    let a = raw(
        &app,
        "POST",
        "/open311/v2/requests.json",
        &[("content-type", "application/x-www-form-urlencoded")],
        form,
    )
    .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.text);
    assert_eq!(count(&db, "incidents").await, before);
}
