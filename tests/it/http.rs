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
    router(AppState { pool })
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
    assert_eq!(
        body,
        serde_json::json!({"status": "ok", "revision": 1, "database": "ok"})
    );
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
