//! Planners' drafts against real PostGIS: redraw, validate with impact, commit atomically,
//! conflicts, a crash mid-commit, split/merge lineage, history and as-of queries.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use gridmap::atlas::{Atlas, SharedAtlas};

use axum::http::StatusCode;
use geo::{BooleanOps, Centroid, InteriorPoint};
use geo_types::{Coord, MultiPolygon};
use gridmap::domain::role::Role;
use gridmap::store::users;
use serde_json::{Value, json};

use crate::harness::{TestDb, binary, call, demo_db};
use crate::http::app_with_atlas;

async fn send(
    app: &axum::Router,
    method: &str,
    uri: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value, axum::http::HeaderMap) {
    let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    let (status, headers, bytes) = call(
        app,
        method,
        uri,
        Some(token),
        Some("application/json"),
        bytes,
    )
    .await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        headers,
    )
}

async fn planner(db: &TestDb, name: &str) -> String {
    let mut client = db.client().await;
    users::add_user(&mut client, name, Role::Planner, &[])
        .await
        .unwrap()
}

fn multipolygon(geometry: &Value) -> MultiPolygon<f64> {
    let g: geojson::Geometry = serde_json::from_value(geometry.clone()).unwrap();
    match geo_types::Geometry::<f64>::try_from(g).unwrap() {
        geo_types::Geometry::MultiPolygon(m) => m,
        geo_types::Geometry::Polygon(p) => MultiPolygon(vec![p]),
        other => panic!("not polygonal: {other:?}"),
    }
}

fn to_geojson(shape: &MultiPolygon<f64>) -> Value {
    serde_json::to_value(geojson::Geometry::new(geojson::GeometryValue::from(shape))).unwrap()
}

fn key(c: Coord<f64>) -> (u64, u64) {
    (c.x.to_bits(), c.y.to_bits())
}

/// Two grids of one village sharing an interior vertex (not on the village outline), with that
/// vertex: the editor's "drag a shared vertex" case.
struct SharedVertex {
    a: String,
    b: String,
    a_shape: MultiPolygon<f64>,
    b_shape: MultiPolygon<f64>,
    vertex: Coord<f64>,
}

async fn shared_vertex(app: &axum::Router, token: &str, village: &str) -> SharedVertex {
    let (_, grids, _) = send(
        app,
        "GET",
        &format!("/api/v1/cells?parent={village}"),
        token,
        None,
    )
    .await;
    let (_, outline, _) = send(app, "GET", &format!("/api/v1/cells/{village}"), token, None).await;
    let outline = multipolygon(&outline["geometry"]);
    let on_outline: BTreeSet<(u64, u64)> = outline
        .0
        .iter()
        .flat_map(|p| p.exterior().0.iter().map(|c| key(*c)))
        .collect();
    let grids: Vec<(String, MultiPolygon<f64>)> = grids["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["properties"]["code"].as_str().unwrap().to_string(),
                multipolygon(&f["geometry"]),
            )
        })
        .collect();
    let mut owners: std::collections::BTreeMap<(u64, u64), Vec<usize>> = Default::default();
    for (i, (_, shape)) in grids.iter().enumerate() {
        let ring = &shape.0[0].exterior().0;
        for c in &ring[..ring.len() - 1] {
            owners.entry(key(*c)).or_default().push(i);
        }
    }
    let (k, who) = owners
        .iter()
        .find(|(k, who)| who.len() == 2 && !on_outline.contains(k))
        .expect("an interior vertex shared by two grids");
    let vertex = Coord {
        x: f64::from_bits(k.0),
        y: f64::from_bits(k.1),
    };
    SharedVertex {
        a: grids[who[0]].0.clone(),
        b: grids[who[1]].0.clone(),
        a_shape: grids[who[0]].1.clone(),
        b_shape: grids[who[1]].1.clone(),
        vertex,
    }
}

fn moved(shape: &MultiPolygon<f64>, from: Coord<f64>, to: Coord<f64>) -> MultiPolygon<f64> {
    let mut out = shape.clone();
    for polygon in &mut out.0 {
        polygon.exterior_mut(|ring| {
            for c in &mut ring.0 {
                if *c == from {
                    *c = to;
                }
            }
        });
    }
    out
}

fn toward(from: Coord<f64>, to: Coord<f64>, t: f64) -> Coord<f64> {
    Coord {
        x: from.x + (to.x - from.x) * t,
        y: from.y + (to.y - from.y) * t,
    }
}

async fn put(app: &axum::Router, token: &str, draft: i64, code: &str, shape: &MultiPolygon<f64>) {
    let (status, body, _) = send(
        app,
        "PUT",
        &format!("/api/v1/drafts/{draft}/cells/{code}"),
        token,
        Some(json!({"type": "Feature", "properties": {}, "geometry": to_geojson(shape)})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn new_draft(app: &axum::Router, token: &str) -> i64 {
    let (status, body, _) = send(app, "POST", "/api/v1/drafts", token, Some(json!({}))).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_i64().unwrap()
}

async fn locate(app: &axum::Router, p: Coord<f64>, as_of: Option<i32>) -> Vec<String> {
    let mut uri = format!("/api/v1/locate?lon={}&lat={}", p.x, p.y);
    if let Some(n) = as_of {
        uri.push_str(&format!("&as_of={n}"));
    }
    let (status, body, _) = send(app, "GET", &uri, "none", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap().to_string())
        .collect()
}

fn tile_of(p: Coord<f64>, z: u32) -> (u32, u32) {
    let n = (1u64 << z) as f64;
    let x = ((p.x + 180.0) / 360.0 * n).floor() as u32;
    let lat = p.y.to_radians();
    let y = ((1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor();
    (x, y as u32)
}

async fn current_revision(db: &TestDb) -> i32 {
    db.client()
        .await
        .query_one("SELECT max(number) FROM revisions", &[])
        .await
        .unwrap()
        .get(0)
}

/// Every building of the given cells is recorded in the cell PostGIS says contains it.
async fn assert_buildings_agree_with_postgis(db: &TestDb, codes: &[&str]) {
    let codes: Vec<String> = codes.iter().map(|c| c.to_string()).collect();
    let wrong: i64 = db
        .client()
        .await
        .query_one(
            "SELECT count(*) FROM buildings b
             WHERE (b.cell_code = ANY($1) OR EXISTS (
                     SELECT 1 FROM cells c WHERE c.valid_to IS NULL AND c.code = ANY($1)
                       AND ST_Contains(c.geom, b.geom)))
               AND NOT EXISTS (SELECT 1 FROM cells c WHERE c.valid_to IS NULL AND c.level = 3
                       AND c.code = b.cell_code AND ST_Intersects(c.geom, b.geom))",
            &[&codes],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(wrong, 0, "buildings left in a cell that does not hold them");
}

#[tokio::test]
async fn a_valid_redraw_commits_and_changes_locate_answers_tile_etags_and_buildings() {
    let db = demo_db().await;
    let (app, state) = app_with_atlas(&db).await;
    let first = state.atlas.load_full();
    let token = planner(&db, "规划甲").await;
    let s = shared_vertex(&app, &token, "520328004016").await;
    let centre = s.a_shape.centroid().unwrap().0;
    let target = toward(s.vertex, centre, 0.5);
    let (x, y) = tile_of(s.vertex, 15);
    let tile = format!("/tiles/cells/15/{x}/{y}.mvt");
    let (_, _, before_headers) = send(&app, "GET", &tile, "none", None).await;
    let etag_before = before_headers["etag"].to_str().unwrap().to_string();

    let draft = new_draft(&app, &token).await;
    let new_a = moved(&s.a_shape, s.vertex, target);
    let new_b = moved(&s.b_shape, s.vertex, target);
    put(&app, &token, draft, &s.a, &new_a).await;
    put(&app, &token, draft, &s.b, &new_b).await;
    let (status, report, _) = send(
        &app,
        "POST",
        &format!("/api/v1/drafts/{draft}/validate"),
        &token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(report["valid"], true, "{report}");
    assert_eq!(report["stale"], false);
    let sizes: BTreeSet<&str> = report["impact"]["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert!(
        sizes.contains(s.a.as_str()) && sizes.contains(s.b.as_str()),
        "{report}"
    );

    // The ground that changes hands: inside the old A, outside the new one.
    let given: MultiPolygon<f64> = s.a_shape.difference(&new_a);
    let probe = given.interior_point().unwrap().0;
    assert_eq!(locate(&app, probe, None).await.last().unwrap(), &s.a);

    let (status, body, _) = send(
        &app,
        "POST",
        &format!("/api/v1/drafts/{draft}/commit"),
        &token,
        Some(json!({"message": "调整两网格之间的边界"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["revision"], 2);
    assert_eq!(state.atlas.load().revision, 2, "the snapshot was swapped");
    assert_another_node_agrees(&state, first).await;
    assert_eq!(locate(&app, probe, None).await.last().unwrap(), &s.b);
    assert_eq!(
        locate(&app, probe, Some(1)).await.last().unwrap(),
        &s.a,
        "as_of keeps the old answer"
    );
    let (_, _, after_headers) = send(&app, "GET", &tile, "none", None).await;
    assert_ne!(after_headers["etag"].to_str().unwrap(), etag_before);
    assert_buildings_agree_with_postgis(&db, &[&s.a, &s.b]).await;

    // History: the revision, its diff with both cells changed, and the draft closed.
    let (_, list, _) = send(&app, "GET", "/api/v1/revisions", &token, None).await;
    let newest = &list["revisions"][0];
    assert_eq!(newest["number"], 2);
    assert_eq!(newest["changed"], 2);
    assert_eq!(newest["message"], "调整两网格之间的边界");
    let (_, diff, _) = send(&app, "GET", "/api/v1/revisions/2/diff", &token, None).await;
    let changed: BTreeSet<&str> = diff["changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(changed, [s.a.as_str(), s.b.as_str()].into());
    let (status, body, _) = send(
        &app,
        "PUT",
        &format!("/api/v1/drafts/{draft}/cells/{}", s.a),
        &token,
        Some(json!({"type": "Feature", "properties": {"name": "再改"}})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a committed draft is closed: {body}"
    );
}

#[tokio::test]
async fn overlap_gap_and_outside_drafts_are_refused_with_the_report_and_nothing_written() {
    let db = demo_db().await;
    let (app, _) = app_with_atlas(&db).await;
    let token = planner(&db, "规划乙").await;
    let s = shared_vertex(&app, &token, "520328004016").await;
    let centre = s.a_shape.centroid().unwrap().0;
    let away = toward(s.vertex, centre, -0.5); // into B
    let inward = toward(s.vertex, centre, 0.5);
    let cases = [
        ("overlap", moved(&s.a_shape, s.vertex, away)),
        ("gap", moved(&s.a_shape, s.vertex, inward)),
    ];
    for (kind, shape) in cases {
        let draft = new_draft(&app, &token).await;
        put(&app, &token, draft, &s.a, &shape).await;
        let (status, body, _) = send(
            &app,
            "POST",
            &format!("/api/v1/drafts/{draft}/commit"),
            &token,
            Some(json!({"message": "错误的调整"})),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["error"]["code"], "coverage_violated");
        let kinds: BTreeSet<&str> = body["error"]["details"]["violations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["kind"].as_str().unwrap())
            .collect();
        assert!(kinds.contains(kind), "{kind}: {kinds:?}");
        let cells: Vec<&str> = body["error"]["details"]["violations"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|v| {
                v["cells"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c.as_str().unwrap())
            })
            .collect();
        assert!(cells.contains(&s.a.as_str()), "{cells:?}");
    }

    // Outside the village: push a vertex of A that lies on the village outline outwards.
    let (_, village, _) = send(&app, "GET", "/api/v1/cells/520328004016", &token, None).await;
    let outline = multipolygon(&village["geometry"]);
    let outline_keys: BTreeSet<(u64, u64)> =
        outline.0[0].exterior().0.iter().map(|c| key(*c)).collect();
    let on_border = *s.a_shape.0[0]
        .exterior()
        .0
        .iter()
        .find(|c| outline_keys.contains(&key(**c)))
        .or_else(|| {
            s.b_shape.0[0]
                .exterior()
                .0
                .iter()
                .find(|c| outline_keys.contains(&key(**c)))
        })
        .expect("a grid vertex on the village outline");
    let owner = if s.a_shape.0[0].exterior().0.contains(&on_border) {
        (&s.a, &s.a_shape)
    } else {
        (&s.b, &s.b_shape)
    };
    let village_centre = outline.centroid().unwrap().0;
    let outward = toward(on_border, village_centre, -0.3);
    let draft = new_draft(&app, &token).await;
    put(
        &app,
        &token,
        draft,
        owner.0,
        &moved(owner.1, on_border, outward),
    )
    .await;
    let (_, report, _) = send(
        &app,
        "POST",
        &format!("/api/v1/drafts/{draft}/validate"),
        &token,
        None,
    )
    .await;
    assert_eq!(report["valid"], false);
    assert!(
        report["violations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["kind"] == "outside_parent" && v["geometry"]["type"] == "Polygon"),
        "{report}"
    );
    assert_eq!(current_revision(&db).await, 1, "nothing was written");
}

#[tokio::test]
async fn the_second_planner_on_the_same_base_gets_409_and_loses_nothing() {
    let db = demo_db().await;
    let (app, _) = app_with_atlas(&db).await;
    let first = planner(&db, "规划丙").await;
    let second = planner(&db, "规划丁").await;
    let s = shared_vertex(&app, &first, "520328004016").await;
    let centre = s.a_shape.centroid().unwrap().0;
    let one = new_draft(&app, &first).await;
    let two = new_draft(&app, &second).await;
    for (draft, token, t) in [(one, &first, 0.3), (two, &second, 0.6)] {
        let target = toward(s.vertex, centre, t);
        put(
            &app,
            token,
            draft,
            &s.a,
            &moved(&s.a_shape, s.vertex, target),
        )
        .await;
        put(
            &app,
            token,
            draft,
            &s.b,
            &moved(&s.b_shape, s.vertex, target),
        )
        .await;
    }
    let (status, _, _) = send(
        &app,
        "POST",
        &format!("/api/v1/drafts/{one}/commit"),
        &first,
        Some(json!({"message": "first"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body, _) = send(
        &app,
        "POST",
        &format!("/api/v1/drafts/{two}/commit"),
        &second,
        Some(json!({"message": "second"})),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "stale_base");
    assert_eq!(body["error"]["details"]["base_revision"], 1);
    assert_eq!(body["error"]["details"]["current_revision"], 2);
    // The losing draft is intact: its edits can be looked at and redone on the new base.
    let (status, kept, _) =
        send(&app, "GET", &format!("/api/v1/drafts/{two}"), &second, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kept["changes"].as_array().unwrap().len(), 2);
    assert_eq!(kept["committed_revision"], Value::Null);
    assert_eq!(current_revision(&db).await, 2);
}

fn http(address: &str, method: &str, path: &str, token: &str, body: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(address).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .ok()?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.get(9..12)?.parse().ok()?;
    Some((
        status,
        response.split("\r\n\r\n").nth(1).unwrap_or("").to_string(),
    ))
}

#[tokio::test]
async fn killing_the_server_during_a_commit_leaves_the_previous_revision_whole() {
    let db = demo_db().await;
    let (app, _) = app_with_atlas(&db).await;
    let token = planner(&db, "规划戊").await;
    let s = shared_vertex(&app, &token, "520328004016").await;
    let target = toward(s.vertex, s.a_shape.centroid().unwrap().0, 0.4);
    let draft = new_draft(&app, &token).await;
    put(
        &app,
        &token,
        draft,
        &s.a,
        &moved(&s.a_shape, s.vertex, target),
    )
    .await;
    put(
        &app,
        &token,
        draft,
        &s.b,
        &moved(&s.b_shape, s.vertex, target),
    )
    .await;
    let before: Vec<(String, i32)> = db
        .client()
        .await
        .query(
            "SELECT code, valid_from FROM cells WHERE valid_to IS NULL ORDER BY code",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();

    // A server process whose commit dies after writing everything, before COMMIT.
    let mut child = Command::new(binary())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("DATABASE_URL", db.url())
        .env("GRIDMAP_FAILPOINT", "commit-before-finish")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let address = loop {
        let line = lines.next().expect("server output").unwrap();
        if let Some(a) = line.strip_prefix("gridmap listening on http://") {
            break a.to_string();
        }
    };
    let answer = http(
        &address,
        "POST",
        &format!("/api/v1/drafts/{draft}/commit"),
        &token,
        r#"{"message":"dies half way"}"#,
    );
    let status = child.wait().unwrap();
    assert!(!status.success(), "the failpoint aborted the server");
    assert!(
        answer.as_ref().is_none_or(|(code, _)| *code >= 500),
        "{answer:?}"
    );

    let after: Vec<(String, i32)> = db
        .client()
        .await
        .query(
            "SELECT code, valid_from FROM cells WHERE valid_to IS NULL ORDER BY code",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(after, before, "the previous revision stands whole");
    assert_eq!(current_revision(&db).await, 1);
    let (_, kept, _) = send(
        &app,
        "GET",
        &format!("/api/v1/drafts/{draft}"),
        &token,
        None,
    )
    .await;
    assert_eq!(kept["committed_revision"], Value::Null);
    // And nothing is left locked: the same draft commits now.
    let (status, body, _) = send(
        &app,
        "POST",
        &format!("/api/v1/drafts/{draft}/commit"),
        &token,
        Some(json!({"message": "second try"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["revision"], 2);
}

async fn staff_of(db: &TestDb, code: &str) -> i64 {
    db.client()
        .await
        .query_one(
            "SELECT count(*) FROM cell_staff WHERE cell_code = $1 AND until IS NULL",
            &[&code],
        )
        .await
        .unwrap()
        .get(0)
}

/// Another node, serving `before` when it hears of the commits, applies only the rows that
/// changed: what it then serves equals the committing node's snapshot and one loaded whole —
/// the same cells in the same order, the same parents, colours and locate answers.
async fn assert_another_node_agrees(state: &gridmap::http::AppState, before: Arc<Atlas>) {
    let from = before.revision;
    let other: SharedAtlas = Arc::new(ArcSwap::from(before));
    let whole: SharedAtlas = Arc::new(ArcSwap::from_pointee(Atlas::empty()));
    for node in [&other, &whole] {
        gridmap::app::atlas::reload(&state.pool, node)
            .await
            .unwrap();
    }
    let (other, whole, ours) = (
        other.load_full(),
        whole.load_full(),
        state.atlas.load_full(),
    );
    assert!(other.revision > from, "the other node moved on from {from}");
    for atlas in [&other, &ours] {
        assert_eq!(atlas.revision, whole.revision);
        assert_eq!(atlas.len(), whole.len());
        for (i, (a, b)) in atlas.cells().iter().zip(whole.cells()).enumerate() {
            assert_eq!(a.code, b.code, "cell {i}");
            assert_eq!(
                (&a.name, a.parent, &a.geometry),
                (&b.name, b.parent, &b.geometry)
            );
            assert_eq!(
                atlas.colour_of(i),
                whole.colour_of(i),
                "colour of {}",
                a.code
            );
        }
        for cell in whole.cells().iter().filter(|c| c.level >= 3) {
            let p = cell.geometry.interior_point().unwrap().0;
            assert_eq!(
                atlas.locate_index(p).map(|i| &atlas.cells()[i].code),
                Some(&cell.code)
            );
        }
    }
}

#[tokio::test]
async fn split_and_merge_record_lineage_new_codes_and_keep_old_answers_as_of() {
    let db = demo_db().await;
    let (app, state) = app_with_atlas(&db).await;
    let first = state.atlas.load_full();
    let token = planner(&db, "规划己").await;
    let s = shared_vertex(&app, &token, "520328004016").await;
    let grid = s.a.clone();
    let shape = s.a_shape.clone();
    let centre = shape.centroid().unwrap().0;
    let rect = geo::BoundingRect::bounding_rect(&shape).unwrap();
    // A horizontal line through the centre, drawn from outside to outside.
    let line = json!({"type": "LineString", "coordinates": [
        [rect.min().x - 0.001, centre.y], [rect.max().x + 0.001, centre.y]]});
    let draft = new_draft(&app, &token).await;
    let (status, body, _) = send(
        &app,
        "POST",
        &format!("/api/v1/drafts/{draft}/split"),
        &token,
        Some(json!({"code": grid, "line": line})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let new_codes: Vec<String> = body["new_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    let highest = db
        .client()
        .await
        .query_one(
            "SELECT max(code) FROM cells WHERE parent_code = '520328004016'",
            &[],
        )
        .await
        .unwrap()
        .get::<_, String>(0);
    assert!(
        new_codes.iter().all(|c| c.as_str() > highest.as_str()),
        "new codes follow the highest: {new_codes:?} vs {highest}"
    );
    let (_, report, _) = send(
        &app,
        "POST",
        &format!("/api/v1/drafts/{draft}/validate"),
        &token,
        None,
    )
    .await;
    assert_eq!(report["valid"], true, "{report}");
    let (status, body, _) = send(
        &app,
        "POST",
        &format!("/api/v1/drafts/{draft}/commit"),
        &token,
        Some(json!({"message": "一分为二"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["lineage"].as_array().unwrap().len(), 2);
    assert_another_node_agrees(&state, first.clone()).await;
    let (status, _, _) = send(&app, "GET", &format!("/api/v1/cells/{grid}"), &token, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the split grid is retired");
    let (status, _, _) = send(
        &app,
        "GET",
        &format!("/api/v1/cells/{grid}?as_of=1"),
        &token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let probe = shape.interior_point().unwrap().0;
    let now = locate(&app, probe, None).await;
    assert!(new_codes.contains(now.last().unwrap()), "{now:?}");
    assert_eq!(locate(&app, probe, Some(1)).await.last().unwrap(), &grid);
    assert!(
        staff_of(&db, &new_codes[0]).await > 0,
        "the team carries over"
    );
    assert_eq!(
        staff_of(&db, &grid).await,
        0,
        "the retired grid's memberships end with it"
    );
    assert_buildings_agree_with_postgis(&db, &[&new_codes[0], &new_codes[1]]).await;
    let (_, diff, _) = send(&app, "GET", "/api/v1/revisions/2/diff", &token, None).await;
    assert_eq!(diff["removed"].as_array().unwrap().len(), 1);
    assert_eq!(diff["added"].as_array().unwrap().len(), 2);
    assert_eq!(diff["lineage"].as_array().unwrap().len(), 2);

    // Merge the halves back: a third code, never the retired one.
    let draft = new_draft(&app, &token).await;
    let (status, body, _) = send(
        &app,
        "POST",
        &format!("/api/v1/drafts/{draft}/merge"),
        &token,
        Some(json!({"codes": new_codes, "name": "合并后的网格"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let merged = body["new_code"].as_str().unwrap().to_string();
    assert_ne!(merged, grid);
    assert!(!new_codes.contains(&merged));
    let (status, body, _) = send(
        &app,
        "POST",
        &format!("/api/v1/drafts/{draft}/commit"),
        &token,
        Some(json!({"message": "合二为一"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(locate(&app, probe, None).await.last().unwrap(), &merged);
    let lineage: i64 = db
        .client()
        .await
        .query_one(
            "SELECT count(*) FROM cell_lineage WHERE new_code = $1",
            &[&merged],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(lineage, 2);

    // A revert is a new commit restoring revision 1's cells.
    let (status, body, _) = send(
        &app,
        "POST",
        "/api/v1/revisions/1/revert",
        &token,
        Some(json!({"message": "恢复原状"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["revision"], 4);
    assert_eq!(state.atlas.load().revision, 4);
    assert_eq!(locate(&app, probe, None).await.last().unwrap(), &grid);
    // Three commits at once: a split, a merge and a revert.
    assert_another_node_agrees(&state, first).await;
}

#[tokio::test]
async fn bad_draft_requests_are_refused_with_the_field_named() {
    let db = demo_db().await;
    let (app, _) = app_with_atlas(&db).await;
    let token = planner(&db, "规划庚").await;
    let worker = {
        let mut client = db.client().await;
        users::add_user(&mut client, "网格员甲", Role::Worker, &[])
            .await
            .unwrap()
    };
    let (status, _, _) = send(&app, "POST", "/api/v1/drafts", &worker, Some(json!({}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let draft = new_draft(&app, &token).await;
    let base = format!("/api/v1/drafts/{draft}");
    let grid = "520328004016001";
    let cases: Vec<(&str, String, Value, &str)> = vec![
        (
            "PUT",
            format!("{base}/cells/{grid}"),
            json!({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[[107, 27], [107.1, 27.1], [107, 27.1], [107.1, 27], [107, 27]]]}}),
            "geometry",
        ),
        (
            "PUT",
            format!("{base}/cells/{grid}"),
            json!({"type": "Point"}),
            "type",
        ),
        (
            "PUT",
            format!("{base}/cells/12x"),
            json!({"type": "Feature"}),
            "code",
        ),
        (
            "POST",
            format!("{base}/split"),
            json!({"code": grid, "line": {"type": "LineString", "coordinates": [[0, 0], [0.1, 0.1]]}}),
            "line",
        ),
        (
            "POST",
            format!("{base}/split"),
            json!({"code": grid, "line": {"type": "Point"}}),
            "line",
        ),
        (
            "POST",
            format!("{base}/merge"),
            json!({"codes": [grid]}),
            "codes",
        ),
        (
            "POST",
            format!("{base}/commit"),
            json!({"message": "  "}),
            "message",
        ),
    ];
    for (method, uri, body, field) in cases {
        let (status, answer, _) = send(&app, method, &uri, &token, Some(body.clone())).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{method} {uri} {body}: {answer}"
        );
        assert_eq!(answer["error"]["details"]["field"], field, "{answer}");
    }
    let (status, body, _) = send(
        &app,
        "POST",
        &format!("{base}/commit"),
        &token,
        Some(json!({"message": "nothing"})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an empty draft: {body}"
    );
    assert_eq!(current_revision(&db).await, 1);
    // Building points for snapping: planners only, no person fields.
    let (status, points, _) = send(
        &app,
        "GET",
        &format!("/api/v1/buildings?cell={grid}"),
        &token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let features = points["features"].as_array().unwrap();
    assert!(!features.is_empty());
    assert!(features.iter().all(|f| {
        f["geometry"]["type"] == "Point"
            && f["properties"]["cell"] == grid
            && f["properties"]
                .as_object()
                .unwrap()
                .keys()
                .all(|k| ["id", "address", "cell", "households"].contains(&k.as_str()))
    }));
    let (status, _, _) = send(
        &app,
        "GET",
        &format!("/api/v1/buildings?cell={grid}"),
        &worker,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = send(&app, "GET", "/api/v1/drafts/999999", &token, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, kept, _) = send(&app, "GET", &base, &token, None).await;
    assert_eq!(kept["changes"], json!([]), "bad requests changed nothing");
}
