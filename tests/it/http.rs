//! The HTTP API in-process against a real database.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use gridmap::http::{AppState, router};
use gridmap::store;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

use crate::harness::{TestDb, demo_db};

pub fn app(db: &TestDb) -> axum::Router {
    let pool = store::pool(db.config.clone(), 4).unwrap();
    router(AppState::new(pool))
}

pub async fn call(app: &axum::Router, uri: &str, token: Option<&str>) -> (StatusCode, Value) {
    let mut request = Request::builder().uri(uri);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, body)
}

fn assert_error(body: &Value, code: &str) {
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}

#[tokio::test]
async fn health_reports_the_current_revision() {
    let db = demo_db().await;
    let (status, body) = call(&app(&db), "/health", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["revision"], 1);
    assert_eq!(body["database"], "ok");
    // The calendar's reach, judged against today (see tests/it/calendar.rs for the rule).
    assert!(body["calendar"]["covered_until"].is_string(), "{body}");
    assert!(body["calendar"]["ok"].is_boolean(), "{body}");
}

#[tokio::test]
async fn cells_are_listed_by_level_and_parent_as_geojson() {
    let db = demo_db().await;
    let app = app(&db);
    let (status, body) = call(&app, "/api/v1/cells?level=2", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["type"], "FeatureCollection");
    let features = body["features"].as_array().unwrap();
    assert_eq!(features.len(), 12);
    assert!(
        features
            .iter()
            .all(|f| f["geometry"]["type"] == "MultiPolygon")
    );

    let (_, body) = call(&app, "/api/v1/cells?parent=520328004016", None).await;
    let grids = body["features"].as_array().unwrap();
    assert!(grids.len() >= 5, "{}", grids.len());
    assert!(grids.iter().all(|f| {
        f["properties"]["parent"] == "520328004016"
            && f["properties"]["level"] == 3
            && f["properties"]["code"]
                .as_str()
                .unwrap()
                .starts_with("520328004016")
    }));

    let (_, all) = call(&app, "/api/v1/cells", None).await;
    assert_eq!(all["features"].as_array().unwrap().len(), 105);
}

#[tokio::test]
async fn one_cell_by_code_and_a_json_404_for_an_unknown_one() {
    let db = demo_db().await;
    let app = app(&db);
    let (status, body) = call(&app, "/api/v1/cells/520328101200002", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["properties"]["kind"], "专属网格");
    assert_eq!(body["properties"]["name"], "永兴工业园区专属网格");

    let (status, body) = call(&app, "/api/v1/cells/520328101200999", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, "not_found");

    let (status, body) = call(&app, "/api/v1/cells/abc", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["details"]["field"], "code");
}

#[tokio::test]
async fn bad_query_parameters_name_the_field() {
    let db = demo_db().await;
    let app = app(&db);
    for (uri, field) in [
        ("/api/v1/cells?level=x", "level"),
        ("/api/v1/cells?level=7", "level"),
        ("/api/v1/cells?parent=52A", "parent"),
        ("/api/v1/cells?as_of=-1", "as_of"),
        ("/api/v1/cells?colour=red", "colour"),
    ] {
        let (status, body) = call(&app, uri, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert_error(&body, "bad_request");
        assert_eq!(body["error"]["details"]["field"], field, "{uri}");
    }
    let (status, body) = call(&app, "/no/such/thing", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, "not_found");
}

#[tokio::test]
async fn public_cells_carry_no_private_fields() {
    let db = demo_db().await;
    let (_, body) = call(&app(&db), "/api/v1/cells?level=3", None).await;
    let text = body.to_string();
    // Names and phones of households and staff are in the database; none may leak here.
    let client = db.client().await;
    let row = client
        .query_one(
            "SELECT head_name, phone FROM households ORDER BY id LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    let (head, phone): (String, String) = (row.get(0), row.get(1));
    assert!(!text.contains(&phone));
    assert!(!text.contains(&format!("\"{head}\"")));
    for key in ["head_name", "phone", "households", "categories"] {
        assert!(!text.contains(key), "{key} leaked");
    }
    let properties = body["features"][0]["properties"].as_object().unwrap();
    let mut keys: Vec<&str> = properties.keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        ["code", "kind", "level", "name", "parent", "revision"]
    );
}

#[tokio::test]
async fn listed_cells_carry_the_snapshots_colour_index_which_neighbours_never_share() {
    let db = demo_db().await;
    let (app, state) = app_with_atlas(&db).await;
    let (status, body) = call(&app, "/api/v1/cells?level=3", None).await;
    assert_eq!(status, StatusCode::OK);
    let atlas = state.atlas.load_full();
    let colour: std::collections::HashMap<String, i64> = body["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let p = &f["properties"];
            (
                p["code"].as_str().unwrap().to_string(),
                p["colour"]
                    .as_i64()
                    .expect("every current cell has a colour"),
            )
        })
        .collect();
    assert!(colour.len() > 50);
    let mut pairs = 0;
    for (code, c) in &colour {
        let i = atlas.index_of(code).unwrap();
        assert_eq!(*c, i64::from(atlas.colour_of(i)), "{code}");
        for &n in &atlas.topology().neighbours[i] {
            let other = &atlas.cells()[n as usize].code;
            assert_ne!(
                colour[code], colour[other],
                "{code} and {other} are neighbours"
            );
            pairs += 1;
        }
    }
    assert!(pairs > colour.len(), "only {pairs} neighbour pairs");
}

pub async fn app_with_atlas(db: &TestDb) -> (axum::Router, AppState) {
    let state = AppState::new(store::pool(db.config.clone(), 4).unwrap());
    gridmap::app::atlas::reload(&state.pool, &state.atlas)
        .await
        .unwrap();
    (router(state.clone()), state)
}

async fn post(app: &axum::Router, uri: &str, body: String) -> (StatusCode, Value) {
    let request = Request::builder()
        .method("POST")
        .uri(uri)
        .body(Body::from(body))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn locate_agrees_with_postgis_on_every_demo_building_sample() {
    let db = demo_db().await;
    let (app, _) = app_with_atlas(&db).await;
    let client = db.client().await;
    let rows = client
        .query(
            "SELECT ST_X(geom), ST_Y(geom), cell_code FROM buildings ORDER BY id LIMIT 200",
            &[],
        )
        .await
        .unwrap();
    for row in rows {
        let (lon, lat, cell): (f64, f64, String) = (row.get(0), row.get(1), row.get(2));
        let (status, body) = call(&app, &format!("/api/v1/locate?lon={lon}&lat={lat}"), None).await;
        assert_eq!(status, StatusCode::OK);
        let chain: Vec<&str> = body["cells"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["code"].as_str().unwrap())
            .collect();
        assert_eq!(
            chain,
            ["520328", &cell[..9], &cell[..12], &cell[..]],
            "{body}"
        );
        assert_eq!(body["revision"], 1);
    }
}

#[tokio::test]
async fn locate_converts_gcj02_and_bd09_and_flags_points_near_a_boundary() {
    use gridmap::geometry::china_crs::{gcj02_to_bd09, wgs84_to_gcj02};
    let db = demo_db().await;
    let (app, state) = app_with_atlas(&db).await;
    let atlas = state.atlas.load();
    let grid = atlas.get("520328004016001").unwrap();
    let ring = &grid.geometry.0[0].exterior().0;
    let centre = ring
        .iter()
        .fold(geo_types::Coord { x: 0.0, y: 0.0 }, |a, c| a + *c)
        / ring.len() as f64;
    for (crs, p) in [
        ("wgs84", centre),
        ("gcj02", wgs84_to_gcj02(centre)),
        ("bd09", gcj02_to_bd09(wgs84_to_gcj02(centre))),
    ] {
        let (_, body) = call(
            &app,
            &format!("/api/v1/locate?lon={}&lat={}&crs={crs}", p.x, p.y),
            None,
        )
        .await;
        assert_eq!(body["cells"][3]["code"], "520328004016001", "{crs}: {body}");
    }
    // A metre from the grid's first vertex, inside it: near the boundary.
    let near = ring[0]
        + (centre - ring[0])
            * (1.0 / ((centre.x - ring[0].x).hypot(centre.y - ring[0].y) * 111_000.0));
    let (_, body) = call(
        &app,
        &format!("/api/v1/locate?lon={}&lat={}", near.x, near.y),
        None,
    )
    .await;
    let distance = body["near_boundary_m"].as_f64().unwrap();
    assert!(distance < 2.0, "{body}");
    let (_, body) = call(
        &app,
        &format!("/api/v1/locate?lon={}&lat={}", centre.x, centre.y),
        None,
    )
    .await;
    assert!(body["near_boundary_m"].is_null(), "{body}");
    // Nowhere near the county.
    let (status, body) = call(&app, "/api/v1/locate?lon=100&lat=30", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["found"], false);
    for (uri, field) in [
        ("/api/v1/locate?lat=27", "lon"),
        ("/api/v1/locate?lon=200&lat=27", "lon"),
        ("/api/v1/locate?lon=107&lat=x", "lat"),
        ("/api/v1/locate?lon=107&lat=27&crs=utm", "crs"),
    ] {
        let (status, body) = call(&app, uri, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(body["error"]["details"]["field"], field, "{uri}");
    }
}

#[tokio::test]
async fn validate_endpoint_reports_the_demo_clean_and_a_broken_file_with_geometry() {
    let db = demo_db().await;
    let (app, _) = app_with_atlas(&db).await;
    let text = std::fs::read_to_string(crate::harness::demo_dir().join("cells.geojson")).unwrap();
    let (status, body) = post(&app, "/api/v1/validate", text.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["valid"], true, "{body}");

    let mut broken: Value = serde_json::from_str(&text).unwrap();
    let features = broken["features"].as_array_mut().unwrap();
    let victim = features
        .iter()
        .position(|f| f["properties"]["level"] == 3)
        .unwrap();
    features.remove(victim);
    let (status, body) = post(&app, "/api/v1/validate", broken.to_string()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["valid"], false);
    let gap = &body["violations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["kind"] == "gap")
        .unwrap()
        .clone();
    assert!(gap["area_m2"].as_f64().unwrap() > 10_000.0, "{gap}");
    assert_eq!(gap["geometry"]["type"], "Polygon");

    let (status, body) = post(&app, "/api/v1/validate", "{\"type\":".into()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["details"]["field"], "body");
    let (status, body) = post(&app, "/api/v1/validate?codes=odd", text).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["details"]["field"], "codes");
}

#[tokio::test]
async fn a_committed_revision_reaches_the_served_atlas_through_notify() {
    let db = crate::harness::fresh_db(true).await;
    let (app, state) = app_with_atlas(&db).await;
    let follower = gridmap::app::atlas::follow_revisions(
        db.config.clone(),
        state.pool.clone(),
        state.atlas.clone(),
    );
    let probe = "/api/v1/locate?lon=107.4925551&lat=27.7326164";
    let (_, body) = call(&app, probe, None).await;
    assert_eq!(body["found"], false);
    // Give the listener a moment to subscribe, then commit the demo from another connection.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let mut client = db.client().await;
    gridmap::app::demo::load_if_empty(&mut client, &crate::harness::demo_dir())
        .await
        .unwrap();
    let start = std::time::Instant::now();
    loop {
        let (_, body) = call(&app, probe, None).await;
        if body["found"] == true {
            assert_eq!(body["revision"], 1);
            assert_eq!(body["cells"][3]["code"], "520328101200004");
            break;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "atlas never reloaded"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    follower.abort();
}

#[tokio::test]
async fn the_public_card_shows_four_to_totals_and_only_consented_staff_details() {
    let db = demo_db().await;
    let (app, _) = app_with_atlas(&db).await;
    let client = db.client().await;
    // A grid whose team has both a consenting and a non-consenting member.
    let row = client
        .query_one(
            "SELECT cs.cell_code FROM cell_staff cs JOIN staff s ON s.id = cs.staff_id
             GROUP BY cs.cell_code
             HAVING bool_or(NOT (SELECT phone FROM staff_consent WHERE staff_id = s.id)) AND bool_or((SELECT phone FROM staff_consent WHERE staff_id = s.id))
             ORDER BY cs.cell_code LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    let code: String = row.get(0);
    let (status, card) = call(&app, &format!("/api/v1/cells/{code}/card"), None).await;
    assert_eq!(status, StatusCode::OK);
    let text = card.to_string();
    let hidden = client
        .query(
            "SELECT s.name, s.phone FROM cell_staff cs JOIN staff s ON s.id = cs.staff_id
             WHERE cs.cell_code = $1 AND NOT (SELECT phone FROM staff_consent WHERE staff_id = s.id)",
            &[&code],
        )
        .await
        .unwrap();
    for r in &hidden {
        let (name, phone): (String, String) = (r.get(0), r.get(1));
        assert!(!text.contains(&phone), "unconsented phone leaked");
        assert!(
            !text.contains(&format!("\"{name}\"")),
            "unconsented name leaked"
        );
    }
    let team = card["team"].as_array().unwrap();
    assert!(
        team.iter()
            .any(|m| m["consented"] == true && m["phone"].is_string())
    );
    assert!(
        team.iter().any(|m| m["consented"] == false
            && m["phone"].is_null()
            && m["office_phone"].is_string())
    );
    let four = &card["four_to"];
    let neighbours: usize = ["east", "south", "west", "north"]
        .iter()
        .map(|d| four[d].as_array().unwrap().len())
        .sum();
    assert!(neighbours >= 2, "{four}");
    assert!(card["area_m2"].as_f64().unwrap() > 10_000.0);
    assert!(card["supervision_phone"].is_string());
    // The school grid has no households: its total (below ten) is withheld, not shown as 0.
    let (_, school) = call(&app, "/api/v1/cells/520328004004005/card", None).await;
    assert_eq!(school["kind"], "专属网格");
    assert!(school["households"].is_null(), "{school}");
    let (status, _) = call(&app, "/api/v1/cells/520328004004999/card", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Portraits: served for consented staff, 404 for everyone else (every member has one stored).
    let photo = team
        .iter()
        .find_map(|m| m["photo"].as_str())
        .unwrap()
        .to_string();
    let response = app
        .clone()
        .oneshot(Request::builder().uri(&photo).body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/svg+xml");
    let hidden_id: i64 = client
        .query_one(
            "SELECT id FROM staff WHERE NOT (SELECT photo FROM staff_consent WHERE staff_id = staff.id) AND photo_bytes IS NOT NULL LIMIT 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let (status, _) = call(&app, &format!("/api/v1/staff/{hidden_id}/photo"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        team.iter()
            .filter(|m| m["consented"] == false)
            .all(|m| m["photo"].is_null())
    );
}
