//! The public side through the real router and PostGIS: a grid's page with its card, results and
//! form; the results made public (only public categories, small counts merged, no private
//! field) and their Open311-style feed; 居民之声 suggestions becoming incidents, their limit per
//! address and their tracking; the service signs read back by pdfinfo, pdffonts, pdftotext and
//! zbarimg.

use std::collections::HashMap;

use axum::http::StatusCode;
use gridmap::http::{AppState, router};
use serde_json::{Value, json};

use crate::harness::{TestDb, call, demo_db, json};
use crate::http::app_with_atlas;
use crate::teams::{qr_codes, tool};

const VILLAGE: &str = "520328004016";
const G1: &str = "520328004016001";
const G2: &str = "520328004016002";

fn csv(path: &str) -> Vec<HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(crate::harness::demo_dir().join(path)).unwrap();
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .zip(r.iter())
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// A building of `grid` (lon, lat) from the demo's files.
fn building_in(grid: &str) -> (f64, f64) {
    let b = csv("buildings.csv")
        .into_iter()
        .find(|b| b["cell_code"].starts_with(grid))
        .unwrap();
    (b["lon"].parse().unwrap(), b["lat"].parse().unwrap())
}

async fn text(app: &axum::Router, uri: &str) -> (StatusCode, String) {
    let (status, _, body) = call(app, "GET", uri, None, None, Vec::new()).await;
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn a_suggestion_becomes_an_incident_in_its_grid_and_its_tracking_page_shows_the_state_only() {
    let db = demo_db().await;
    let (app, _) = app_with_atlas(&db).await;
    let secret = "楼道堆满杂物-秘密正文";
    let (status, body) = json(
        &app,
        "POST",
        "/api/v1/public/suggestions",
        None,
        json!({"cell": G2, "category": "0401", "text": format!(" {secret}\u{200b}\r\n"),
               "contact": "139 1234 5678"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let code = body["tracking_code"].as_str().unwrap().to_string();
    assert!(
        gridmap::domain::publicity::is_tracking_code(&code),
        "{code}"
    );
    assert_eq!(body["track_url"], format!("/track/{code}"));
    let row = db
        .client()
        .await
        .query_one(
            "SELECT i.cell_code, i.source, i.description, i.state, s.contact, i.category
             FROM suggestions s JOIN incidents i ON i.id = s.incident_id WHERE s.tracking_code = $1",
            &[&code],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), G2, "in the grid it names");
    assert_eq!(row.get::<_, String>(1), "群众");
    assert_eq!(
        row.get::<_, String>(2),
        secret,
        "cleaned of the zero-width space"
    );
    assert_eq!(row.get::<_, String>(3), "上报");
    assert_eq!(row.get::<_, String>(4), "139 1234 5678");
    assert_eq!(row.get::<_, String>(5), "市容环境/垃圾堆放");

    // The tracking page and API: the state, never the text or the contact.
    let (status, page) = text(&app, &format!("/track/{code}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("已收到，待受理") && page.contains("义泉社区第2网格"));
    let (status, tracked) = json(
        &app,
        "GET",
        &format!("/api/v1/public/track/{code}"),
        None,
        Value::Null,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let mut keys: Vec<&str> = tracked
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "category",
            "cell",
            "closed_on",
            "grid",
            "on_time",
            "state",
            "submitted_on",
            "tracking_code"
        ]
    );
    for shown in [page.as_str(), &tracked.to_string()] {
        assert!(
            !shown.contains("秘密正文") && !shown.contains("1234 5678"),
            "{shown}"
        );
    }
    let (status, page) = text(&app, "/track/ABCDEFGHJK").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("没有找到"));
    // A wrong code is a 404 in the contract's shape.
    let (status, body) = json(
        &app,
        "GET",
        "/api/v1/public/track/ABCDEFGHJK",
        None,
        Value::Null,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");

    // A photo is stored (as uploaded by 居民之声) and seen by those who see the incident whole.
    let png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";
    let (status, body) = json(
        &app,
        "POST",
        "/api/v1/public/suggestions",
        None,
        json!({"cell": G2, "category": "0405", "text": "路灯坏了", "photo": format!("data:image/png;base64,{png}")}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let photos: Vec<String> = db
        .client()
        .await
        .query_one(
            "SELECT i.photos FROM suggestions s JOIN incidents i ON i.id = s.incident_id
             WHERE s.tracking_code = $1",
            &[&body["tracking_code"].as_str().unwrap()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(photos.len(), 1);
    let photo = format!("/api/v1/photos/{}", photos[0]);
    let own = crate::harness::user(
        &db,
        "本网格员",
        gridmap::domain::role::Role::Worker,
        &[G2.to_string()],
    )
    .await;
    let other = crate::harness::user(
        &db,
        "他网格员",
        gridmap::domain::role::Role::Worker,
        &[G1.to_string()],
    )
    .await;
    let (status, headers, bytes) = call(&app, "GET", &photo, Some(&own), None, Vec::new()).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the grid's worker sees the resident's photo"
    );
    assert_eq!(headers["content-type"], "image/png");
    assert!(bytes.starts_with(b"\x89PNG"));
    let (status, _, _) = call(&app, "GET", &photo, Some(&other), None, Vec::new()).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "another grid's worker does not"
    );
    let (status, _, _) = call(&app, "GET", &photo, None, None, Vec::new()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "never public");

    // With a position, the incident goes to the grid the position lies in.
    let (lon, lat) = building_in(G1);
    let (status, body) = json(
        &app,
        "POST",
        "/api/v1/public/suggestions",
        None,
        json!({"cell": G2, "category": "市容环境/占道经营", "text": "占道经营", "lon": lon, "lat": lat}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let cell: String = db
        .client()
        .await
        .query_one(
            "SELECT i.cell_code FROM suggestions s JOIN incidents i ON i.id = s.incident_id
             WHERE s.tracking_code = $1",
            &[&body["tracking_code"].as_str().unwrap()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(cell, G1);

    // Bad input: a 400 naming the field, and nothing written.
    let before = crate::harness::incident_count(&db).await;
    for (body, field) in [
        (
            json!({"cell": G2, "category": "9999", "text": "x"}),
            "category",
        ),
        // 治安 matters are not among the public categories.
        (
            json!({"cell": G2, "category": "0501", "text": "x"}),
            "category",
        ),
        (
            json!({"cell": G2, "category": "0401", "text": " \u{200b}\n "}),
            "text",
        ),
        (
            json!({"cell": G2, "category": "0401", "text": "路".repeat(1001)}),
            "text",
        ),
        (
            json!({"cell": VILLAGE, "category": "0401", "text": "x"}),
            "cell",
        ),
        (
            json!({"cell": "520328999999001", "category": "0401", "text": "x"}),
            "cell",
        ),
        (
            json!({"cell": G2, "category": "0401", "text": "x", "contact": "<b>"}),
            "contact",
        ),
        (
            json!({"cell": G2, "category": "0401", "text": "x", "lon": 107.4}),
            "lat",
        ),
        (
            json!({"cell": G2, "category": "0401", "text": "x", "lon": 100.0, "lat": 30.0}),
            "lon",
        ),
        (
            json!({"cell": G2, "category": "0401", "text": "x", "lon": 500.0, "lat": 30.0}),
            "lon",
        ),
        (
            json!({"cell": G2, "category": "0401", "text": "x", "photo_id": 1}),
            "photo_id",
        ),
        (json!({"category": "0401", "text": "x"}), "cell"),
        (
            json!({"cell": G2, "category": "0401", "text": "x", "photo": "data:image/png;base64,AAAA"}),
            "photo",
        ),
        (
            json!({"cell": G2, "category": "0401", "text": "x", "photo": "http://example.org/a.jpg"}),
            "photo",
        ),
    ] {
        let (status, answer) = json(
            &app,
            "POST",
            "/api/v1/public/suggestions",
            None,
            body.clone(),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        assert_eq!(
            answer["error"]["details"]["field"], field,
            "{body}: {answer}"
        );
    }
    assert_eq!(
        crate::harness::incident_count(&db).await,
        before,
        "a refused suggestion writes nothing"
    );
}

#[tokio::test]
async fn the_twenty_first_suggestion_in_a_minute_from_one_address_gets_429() {
    let db = demo_db().await;
    let (app, _) = app_with_atlas(&db).await;
    for i in 0..20 {
        let (status, body) = json(
            &app,
            "POST",
            "/api/v1/public/suggestions",
            None,
            json!({"cell": G1, "category": "0405", "text": format!("路灯坏了 {i}")}),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "suggestion {i}: {body}");
    }
    let before = crate::harness::incident_count(&db).await;
    let (status, headers, body) = call(
        &app,
        "POST",
        "/api/v1/public/suggestions",
        None,
        Some("application/json"),
        json!({"cell": G1, "category": "0405", "text": "第21条"})
            .to_string()
            .into_bytes(),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(headers.get("retry-after").is_some());
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["error"]["code"], "too_many_requests");
    assert_eq!(crate::harness::incident_count(&db).await, before);
}

/// Closed incidents of `cell` in November 2026, written as the loop leaves them, with private
/// fields that must never reach a public output.
async fn closed(db: &TestDb, cell: &str, rows: &[(&str, bool, Option<&str>)]) -> Vec<String> {
    let client = db.client().await;
    let mut secrets = Vec::new();
    for (i, (category, on_time, rating)) in rows.iter().enumerate() {
        let description = format!("私密描述{cell}-{i}");
        let address = format!("私密地址{cell}-{i}号");
        let reporter = format!("举报人{cell}{i}");
        let day = 3 + i as i64;
        let created: chrono::DateTime<chrono::Utc> =
            format!("2026-11-{day:02}T02:00:00Z").parse().unwrap();
        let closed = created + chrono::Duration::days(2);
        let deadline = if *on_time {
            closed + chrono::Duration::hours(1)
        } else {
            closed - chrono::Duration::hours(1)
        };
        client
            .execute(
                "INSERT INTO incidents (category, description, geom, address, cell_code, source,
                     reporter, state, created_at, updated_at, deadline_at, closed_at, rating,
                     photos, budget_seconds)
                 VALUES ($1, $2, ST_SetSRID(ST_MakePoint(107.4654321, 27.7654321), 4490), $3, $4,
                     '群众', $5, CASE WHEN $8::text IS NULL THEN '结案' ELSE '评价' END,
                     $6, $7, $9, $7, $8, ARRAY[$10], 259200)",
                &[
                    category,
                    &description,
                    &address,
                    &cell,
                    &reporter,
                    &created,
                    &closed,
                    rating,
                    &deadline,
                    &format!("私密照片{cell}-{i}.jpg"),
                ],
            )
            .await
            .unwrap();
        secrets.extend([
            description,
            address,
            reporter,
            format!("私密照片{cell}-{i}"),
        ]);
    }
    secrets.extend(["107.4654321".to_string(), "27.7654321".to_string()]);
    secrets
}

#[tokio::test]
async fn public_results_show_only_public_categories_merge_small_counts_and_carry_no_private_field()
{
    let db = demo_db().await;
    let (app, _) = app_with_atlas(&db).await;
    let secrets = closed(
        &db,
        G1,
        &[
            ("市容环境/垃圾堆放", true, Some("满意")),
            ("市容环境/垃圾堆放", false, Some("不满意")),
            ("市容环境/垃圾堆放", true, None),
            ("市容环境/占道经营", true, Some("基本满意")),
            ("市容环境/占道经营", true, None),
            ("民生服务/教育", true, None),
            // Not public: never shown, not even as 其他.
            ("治安稳定/治安隐患", true, Some("满意")),
            ("治安稳定/可疑人员", true, None),
            ("矛盾纠纷/婚姻家庭纠纷", true, None),
        ],
    )
    .await;
    let (status, body) = json(
        &app,
        "GET",
        &format!("/api/v1/public/results?cell={G1}&month=2026-11"),
        None,
        Value::Null,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let shown: Vec<&str> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["category"].as_str().unwrap())
        .collect();
    assert_eq!(
        shown,
        [
            "市容环境/垃圾堆放",
            "市容环境/垃圾堆放",
            "市容环境/垃圾堆放",
            "其他",
            "其他",
            "其他"
        ],
        "3 of a leaf shown by name; 2 + 1 merged; 治安 and 婚姻家庭 absent"
    );
    assert_eq!(body["totals"]["closed"], 6);
    assert_eq!(body["totals"]["on_time"], 5);
    assert_eq!(body["totals"]["rated"], 3);
    assert_eq!(body["totals"]["satisfied"], 2);
    let first = body["results"][0].as_object().unwrap();
    let mut keys: Vec<&str> = first.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        ["category", "closed_on", "on_time", "rating", "reported_on"]
    );
    assert_eq!(body["results"][0]["reported_on"], "2026-11-03");
    assert_eq!(body["results"][0]["closed_on"], "2026-11-05");
    assert_eq!(body["results"][1]["on_time"], false);

    // The village sees its grids together; another month is empty.
    let (_, village) = json(
        &app,
        "GET",
        &format!("/api/v1/public/results?cell={VILLAGE}&month=2026-11"),
        None,
        Value::Null,
    )
    .await;
    assert_eq!(village["totals"]["closed"], 6);
    let (_, october) = json(
        &app,
        "GET",
        &format!("/api/v1/public/results?cell={G1}&month=2026-10"),
        None,
        Value::Null,
    )
    .await;
    assert_eq!(october["results"], json!([]));

    // The Open311-style feed carries the same, GeoReport-shaped, and nothing more.
    let (status, feed) = json(
        &app,
        "GET",
        &format!("/api/v1/public/feed?cell={G1}&month=2026-11"),
        None,
        Value::Null,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let feed = feed.as_array().unwrap();
    assert_eq!(feed.len(), 6);
    assert_eq!(feed[1]["status_notes"], "超期办结 · 不满意");
    assert_eq!(feed[0]["service_request_id"], format!("{G1}-202611-1"));
    for entry in feed {
        for key in [
            "lat",
            "long",
            "address",
            "description",
            "media_url",
            "address_string",
        ] {
            assert!(entry.get(key).is_none(), "{key} in {entry}");
        }
    }

    // Nothing private in any public answer about the grid: results, feed, card, page.
    let mut bodies = Vec::new();
    for uri in [
        format!("/api/v1/public/results?cell={G1}&month=2026-11"),
        format!("/api/v1/public/results?cell={VILLAGE}&month=2026-11"),
        format!("/api/v1/public/feed?cell={G1}&month=2026-11"),
        format!("/api/v1/cells/{G1}/card"),
        format!("/g/{G1}"),
        format!("/g/{G1}/card"),
    ] {
        let (status, body) = text(&app, &uri).await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        bodies.push((uri, body));
    }
    for (uri, body) in &bodies {
        for secret in &secrets {
            assert!(!body.contains(secret.as_str()), "{uri} shows {secret}");
        }
        for sensitive in ["治安", "可疑人员", "婚姻家庭"] {
            assert!(
                !body.contains(sensitive) || uri.starts_with("/g/"),
                "{uri} names {sensitive}"
            );
        }
    }

    // Bad parameters name the field.
    for (uri, field) in [
        (
            format!("/api/v1/public/results?cell={G1}&month=2026-13"),
            "month",
        ),
        (
            format!("/api/v1/public/results?cell={G1}&month=11"),
            "month",
        ),
        ("/api/v1/public/results?month=2026-11".to_string(), "cell"),
        ("/api/v1/public/results?cell=abc".to_string(), "cell"),
        (format!("/api/v1/public/feed?cell={G1}&x=1"), "x"),
    ] {
        let (status, body) = json(&app, "GET", &uri, None, Value::Null).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        assert_eq!(body["error"]["details"]["field"], field, "{uri}: {body}");
    }
    let (status, _) = json(
        &app,
        "GET",
        "/api/v1/public/results?cell=520328004016099&month=2026-11",
        None,
        Value::Null,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_grid_page_carries_its_card_results_and_form_and_is_cached_per_revision() {
    let db = demo_db().await;
    let (app, state) = app_with_atlas(&db).await;
    let (status, headers, body) =
        call(&app, "GET", &format!("/g/{G2}"), None, None, Vec::new()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
    let page = String::from_utf8(body).unwrap();
    assert!(
        page.contains("<title>义泉社区第2网格 · 网格示意图</title>"),
        "{page}"
    );
    assert!(page.contains(&format!("data-grid=\"{G2}\"")));
    assert!(page.contains("<h2 id=\"card-title\">义泉社区第2网格</h2>"));
    assert!(page.contains("id=\"suggest\"") && page.contains("办理结果公开"));
    assert!(page.contains("/web/public.js"), "the map page itself");
    // Only public categories are offered.
    assert!(page.contains("value=\"0401\"") && !page.contains("value=\"0501\""));

    // A change in the database shows after the cache is told (a publication or consent here)…
    let (_, cached) = text(&app, &format!("/g/{G2}/card")).await;
    let client = db.client().await;
    client
        .execute(
            "UPDATE cells SET attributes = attributes || '{\"supervision_phone\": \"0851-99990000\"}'
             WHERE code = $1",
            &[&&VILLAGE[..9]],
        )
        .await
        .unwrap();
    let (_, again) = text(&app, &format!("/g/{G2}/card")).await;
    assert_eq!(cached, again);
    assert!(!cached.contains("0851-99990000"), "served from the cache");
    state.pages.changed();
    let (_, fresh) = text(&app, &format!("/g/{G2}/card")).await;
    assert!(fresh.contains("0851-99990000"), "{fresh}");
    assert!(fresh.starts_with("<article class=\"grid-card\""));

    // A mistyped or stale QR code is a page saying so (with the status), not a JSON body.
    let (status, page) = text(&app, "/g/abc").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("地址有误"), "{page}");
    let (status, page) = text(&app, "/g/520328004016099").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        page.contains("没有找到") && page.contains("href=\"/\""),
        "{page}"
    );
    // The fragment the map page loads keeps the API's JSON errors.
    let (status, body) = json(&app, "GET", "/g/520328004016099/card", None, Value::Null).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
}

#[tokio::test]
async fn the_service_sign_links_its_qr_code_to_the_grid_page_and_shows_only_consented_team_data() {
    let db = demo_db().await;
    let config = gridmap::config::Config {
        public_url: Some("https://grid.example.cn".into()),
        ..Default::default()
    };
    let state = AppState::with_config(gridmap::store::pool(db.config.clone(), 4).unwrap(), config);
    gridmap::app::atlas::reload(&state.pool, &state.atlas)
        .await
        .unwrap();
    let app = router(state);
    let (status, headers, pdf) = call(
        &app,
        "GET",
        &format!("/sign/{G2}.pdf"),
        None,
        None,
        Vec::new(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&pdf));
    assert_eq!(headers["content-type"], "application/pdf");
    let info = tool("pdfinfo", &[], &pdf, "pdf");
    assert!(info.contains("Pages:           1"), "{info}");
    assert!(info.contains("(A4)"), "{info}");
    let fonts = tool("pdffonts", &[], &pdf, "pdf");
    assert!(
        fonts.contains("NotoSansCJK") && fonts.contains(" yes "),
        "Chinese font embedded: {fonts}"
    );
    assert_eq!(qr_codes(&pdf), [format!("https://grid.example.cn/g/{G2}")]);
    let words = tool("pdftotext", &[], &pdf, "pdf");
    for expected in [
        "网格服务指示牌",
        "义泉社区第2网格",
        "东至",
        "北至",
        "监督电话",
        "网格服务团队",
        "义泉社区第1网格",
    ] {
        assert!(words.contains(expected), "{expected} missing: {words}");
    }
    // The team as consented: a consenting member's phone is on it, an unconsenting one's is not.
    let staff: HashMap<String, HashMap<String, String>> = csv("staff.csv")
        .into_iter()
        .map(|s| (s["id"].clone(), s))
        .collect();
    let team: Vec<&HashMap<String, String>> = csv("cell_staff.csv")
        .iter()
        .filter(|m| m["cell_code"] == G2)
        .map(|m| &staff[&m["staff_id"]])
        .collect();
    let words_flat = words.replace(char::is_whitespace, "");
    let (consented, refused): (Vec<&HashMap<String, String>>, Vec<_>) =
        team.iter().partition(|s| !s["consent_at"].is_empty());
    assert!(
        !consented.is_empty() && !refused.is_empty(),
        "the demo grid has both"
    );
    for s in consented {
        assert!(words_flat.contains(&s["phone"]), "{} consented", s["id"]);
        assert!(words_flat.contains(&s["name"]), "{} consented", s["id"]);
    }
    for s in refused {
        assert!(
            !words_flat.contains(&s["phone"]),
            "{} did not consent",
            s["id"]
        );
        assert!(
            !words_flat.contains(&s["name"]),
            "{} did not consent",
            s["id"]
        );
    }

    // The village batch: one A3 page per grid, each QR code its own grid's page.
    let (status, _, batch) = call(
        &app,
        "GET",
        &format!("/sign/{VILLAGE}.pdf?paper=a3"),
        None,
        None,
        Vec::new(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let cells: Value = serde_json::from_str(
        &std::fs::read_to_string(crate::harness::demo_dir().join("cells.geojson")).unwrap(),
    )
    .unwrap();
    let grids = cells["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["level"] == 3)
        .filter(|f| {
            f["properties"]["code"]
                .as_str()
                .unwrap()
                .starts_with(VILLAGE)
        })
        .count();
    assert!(grids > 3);
    let info = tool("pdfinfo", &[], &batch, "pdf");
    assert!(
        info.contains(&format!("Pages:           {grids}")),
        "{grids} grids: {info}"
    );
    assert!(info.contains("(A3)"), "{info}");

    for (uri, field, status_wanted) in [
        ("/sign/520328004.pdf", "code", StatusCode::BAD_REQUEST),
        ("/sign/520328004016001.png", "file", StatusCode::BAD_REQUEST),
        (
            "/sign/520328004016001.pdf?paper=a0",
            "paper",
            StatusCode::BAD_REQUEST,
        ),
        ("/sign/520328004016099.pdf", "", StatusCode::NOT_FOUND),
    ] {
        let (status, body) = json(&app, "GET", uri, None, Value::Null).await;
        assert_eq!(status, status_wanted, "{uri}: {body}");
        if !field.is_empty() {
            assert_eq!(body["error"]["details"]["field"], field, "{uri}: {body}");
        }
    }
}

#[tokio::test]
async fn every_public_endpoint_answers_every_role_alike_and_the_suggestion_follows_the_incident_rule()
 {
    let db = demo_db().await;
    let (app, _) = app_with_atlas(&db).await;
    let secret = "私密建议正文-矩阵";
    let (status, body) = json(
        &app,
        "POST",
        "/api/v1/public/suggestions",
        None,
        json!({"cell": G1, "category": "0403", "text": secret, "contact": "13700001111"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let code = body["tracking_code"].as_str().unwrap().to_string();
    let id: i64 = db
        .client()
        .await
        .query_one(
            "SELECT incident_id FROM suggestions WHERE tracking_code = $1",
            &[&code],
        )
        .await
        .unwrap()
        .get(0);
    let mut client = db.client().await;
    gridmap::app::demo::seed_departments(&mut client)
        .await
        .unwrap();
    let department = gridmap::store::departments::add_user(
        &mut client,
        "派出所值班",
        &format!("pcs-{}", &G1[..9]),
    )
    .await
    .unwrap();
    use gridmap::domain::role::Role;
    let callers: Vec<(&str, Option<String>)> = vec![
        ("public", None),
        (
            "worker of the grid",
            Some(crate::harness::user(&db, "本网格员", Role::Worker, &[G1.to_string()]).await),
        ),
        (
            "worker of another grid",
            Some(crate::harness::user(&db, "他网格员", Role::Worker, &[G2.to_string()]).await),
        ),
        (
            "planner",
            Some(crate::harness::user(&db, "规划员", Role::Planner, &[]).await),
        ),
        (
            "command",
            Some(crate::harness::user(&db, "指挥中心", Role::Command, &[]).await),
        ),
        (
            "admin",
            Some(crate::harness::user(&db, "管理员", Role::Admin, &[]).await),
        ),
        ("department", Some(department)),
    ];
    let public = [
        format!("/g/{G1}"),
        format!("/g/{G1}/card"),
        format!("/api/v1/cells/{G1}/card"),
        format!("/api/v1/public/results?cell={G1}"),
        format!("/api/v1/public/feed?cell={G1}"),
        "/api/v1/public/categories".to_string(),
        format!("/api/v1/public/track/{code}"),
        format!("/track/{code}"),
    ];
    for uri in &public {
        let (_, _, anonymous) = call(&app, "GET", uri, None, None, Vec::new()).await;
        for (who, token) in &callers {
            let (status, _, body) =
                call(&app, "GET", uri, token.as_deref(), None, Vec::new()).await;
            assert_eq!(status, StatusCode::OK, "{uri} as {who}");
            assert_eq!(
                body, anonymous,
                "{uri} as {who}: a public answer is the same for all"
            );
            let text = String::from_utf8_lossy(&body);
            assert!(
                !text.contains(secret) && !text.contains("13700001111"),
                "{uri} as {who}"
            );
        }
    }
    // The incident the suggestion became is an incident like any other: whole for its grid's
    // worker, command and admin; refused to another grid's worker; without its text for a planner.
    let expect = [
        ("public", StatusCode::UNAUTHORIZED, false),
        ("worker of the grid", StatusCode::OK, true),
        ("worker of another grid", StatusCode::FORBIDDEN, false),
        ("planner", StatusCode::OK, false),
        ("command", StatusCode::OK, true),
        ("admin", StatusCode::OK, true),
        ("department", StatusCode::FORBIDDEN, false),
    ];
    for ((who, token), (who2, status_wanted, sees)) in callers.iter().zip(expect) {
        assert_eq!(*who, who2);
        let (status, _, body) = call(
            &app,
            "GET",
            &format!("/api/v1/incidents/{id}"),
            token.as_deref(),
            None,
            Vec::new(),
        )
        .await;
        let text = String::from_utf8_lossy(&body);
        assert_eq!(status, status_wanted, "{who}: {text}");
        assert_eq!(text.contains(secret), sees, "{who}: {text}");
        assert!(
            !text.contains("13700001111"),
            "the contact is never shown: {who}"
        );
    }
}
