//! The registry against real PostGIS: imports with per-row statuses (GB18030, messy door plates,
//! Gauss-Krüger), geocoding, access by role and the audit log, building moves, point location
//! agreeing with PostGIS on real data, and public outputs free of household data.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use axum::http::StatusCode;
use geo_types::Coord;
use gridmap::atlas::Atlas;
use gridmap::domain::cell::{Cell, CellKind};
use gridmap::domain::code::CellCode;
use gridmap::domain::role::Role;
use serde_json::{Value, json};

use crate::harness::{TestDb, binary, call, demo_db, fresh_db, user};
use crate::http::app_with_atlas;

async fn send(
    app: &axum::Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, Vec<u8>) {
    let (status, _, bytes) = call(app, method, uri, token, Some("application/json"), body).await;
    (status, bytes)
}

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap_or(Value::Null)
}

/// A demo building: (id, address, lon, lat, cell).
async fn demo_buildings(db: &TestDb) -> Vec<(i64, String, f64, f64, String)> {
    db.client()
        .await
        .query(
            "SELECT id, address, ST_X(geom), ST_Y(geom), cell_code FROM buildings ORDER BY id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect()
}

/// Writes a door plate the way a village clerk might: 第N组, full-width digits, 號, spaces.
fn messy(address: &str) -> String {
    let mut out = String::new();
    for c in address.chars() {
        match c {
            '0'..='9' => out.push(char::from_u32(c as u32 + 0xFEE0).unwrap()),
            '号' => out.push_str(" 號"),
            c => out.push(c),
        }
    }
    out.replacen("村", "村第", 1)
}

async fn households_with(db: &TestDb, ext: &str) -> i64 {
    db.client()
        .await
        .query_one("SELECT count(*) FROM households WHERE ext_id = $1", &[&ext])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn a_gb18030_csv_with_messy_door_plates_imports_with_the_right_statuses() {
    let db = demo_db().await;
    let (app, _) = app_with_atlas(&db).await;
    let planner = user(&db, "导入员", Role::Planner, &[]).await;
    let buildings = demo_buildings(&db).await;
    let (b1, b2) = (&buildings[10], &buildings[200]);
    assert!(b1.1.contains("组"), "demo addresses carry a 组: {}", b1.1);

    // Two buildings sharing one door plate make a household without coordinates ambiguous.
    let twin = format!(
        "编号,地址,经度,纬度\nT1,测试村1组99号,{},{}\nT2,测试村1组99号,{},{}\n",
        b1.2, b1.3, b2.2, b2.3
    );
    let (status, body) = send(
        &app,
        "POST",
        "/api/v1/import/buildings?crs=cgcs2000",
        Some(&planner),
        twin.into_bytes(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(json_of(&body)["placed"], 2);

    let csv = format!(
        "户编号,地址,户主,人数,电话,人员类别,经度,纬度\n\
         X1,{}附9,甲一,3,139-0000-0001,常住,{},{}\n\
         X2,{}附8,甲二,2,,常住、低保,,\n\
         X3,测试村第一组99號附1,甲三,4,,,,\n\
         X4,测试村1组12345号,甲四,1,,,,\n\
         X5,{}附7,甲五,很多,,,,\n\
         X6,{}附6,甲六,2,,外星人,,\n\
         X7,没有门牌的地方,甲七,2,,,,\n",
        b1.1,
        b1.2,
        b1.3,
        messy(&b2.1),
        b2.1,
        b2.1
    );
    let (bytes, _, _) = encoding_rs::GB18030.encode(&csv);
    let (status, body) = send(
        &app,
        "POST",
        "/api/v1/import/households?crs=cgcs2000",
        Some(&planner),
        bytes.to_vec(),
    )
    .await;
    let report = json_of(&body);
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["encoding"], "GB18030");
    let by_line: BTreeMap<u64, &Value> = report["report"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r))
        .collect();
    assert_eq!(by_line[&2]["status"], "placed");
    assert_eq!(by_line[&2]["cell"], b1.4.as_str());
    assert_eq!(
        by_line[&2]["building"]["id"], b1.0,
        "placed at its registered door plate"
    );
    assert_eq!(by_line[&3]["status"], "matched", "{}", by_line[&3]);
    assert_eq!(by_line[&3]["building"]["id"], b2.0);
    assert_eq!(by_line[&3]["cell"], b2.4.as_str());
    assert_eq!(by_line[&4]["status"], "ambiguous");
    assert_eq!(by_line[&4]["candidates"].as_array().unwrap().len(), 2);
    for (line, needle) in [
        (5, "door plate"),
        (6, "members"),
        (7, "外星人"),
        (8, "house number"),
    ] {
        assert_eq!(by_line[&line]["status"], "rejected", "line {line}");
        assert!(
            by_line[&line]["reason"].as_str().unwrap().contains(needle),
            "line {line}: {}",
            by_line[&line]
        );
    }
    assert_eq!(report["written"]["households"], 2);
    assert_eq!(households_with(&db, "X1").await, 1);
    assert_eq!(households_with(&db, "X2").await, 1);
    assert_eq!(
        households_with(&db, "X3").await + households_with(&db, "X5").await,
        0
    );

    // Re-importing updates the same rows; all-or-nothing writes nothing and says 422.
    let (status, _) = send(
        &app,
        "POST",
        "/api/v1/import/households?crs=cgcs2000",
        Some(&planner),
        bytes.to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        households_with(&db, "X1").await,
        1,
        "upserted, not duplicated"
    );
    let before: i64 = db
        .client()
        .await
        .query_one("SELECT count(*) FROM households", &[])
        .await
        .unwrap()
        .get(0);
    let changed = csv.replace("X1,", "Y1,").replace("X2,", "Y2,");
    let (status, body) = send(
        &app,
        "POST",
        "/api/v1/import/households?crs=cgcs2000&all_or_nothing=true",
        Some(&planner),
        changed.into_bytes(),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json_of(&body)["written"], Value::Null);
    let after: i64 = db
        .client()
        .await
        .query_one("SELECT count(*) FROM households", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(before, after);

    // Bad files and parameters are 400s naming the field.
    for (uri, body, field) in [
        (
            "/api/v1/import/households",
            "地址\n".as_bytes().to_vec(),
            "body",
        ),
        (
            "/api/v1/import/households?crs=EPSG:3857",
            csv.clone().into_bytes(),
            "crs",
        ),
        ("/api/v1/import/people", csv.clone().into_bytes(), "kind"),
        (
            "/api/v1/import/households",
            vec![0xff, 0xfe, 0x00, 0x41],
            "body",
        ),
    ] {
        let (status, answer) = send(&app, "POST", uri, Some(&planner), body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(
            json_of(&answer)["error"]["details"]["field"],
            field,
            "{uri}"
        );
    }
}

#[tokio::test]
async fn a_gauss_krueger_point_lands_within_a_centimetre() {
    let db = demo_db().await;
    let (app, _) = app_with_atlas(&db).await;
    let planner = user(&db, "测绘员", Role::Planner, &[]).await;
    let b = &demo_buildings(&db).await[42];
    // 湄潭 is near 107.5°E: 3-degree zone 36 (central meridian 108°E) = EPSG:4524.
    let forward = proj::Proj::new_known_crs("EPSG:4490", "EPSG:4524", None).unwrap();
    // The proj crate normalises axis order to longitude, latitude.
    let (easting, northing) = forward.convert((b.2, b.3)).unwrap();
    assert!(
        easting > 36_000_000.0,
        "zone prefix in the easting: {easting}"
    );
    let csv = format!("楼栋编号,地址,东坐标,北坐标\nGK1,测绘点1号,{easting:.4},{northing:.4}\n");
    let (status, body) = send(
        &app,
        "POST",
        "/api/v1/import/buildings?crs=EPSG:4524",
        Some(&planner),
        csv.into_bytes(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let row = db
        .client()
        .await
        .query_one(
            "SELECT ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint($1, $2), 4490)::geography),
                    cell_code, source_crs
             FROM buildings WHERE ext_id = 'GK1'",
            &[&b.2, &b.3],
        )
        .await
        .unwrap();
    let metres: f64 = row.get(0);
    assert!(metres < 0.01, "{metres} m");
    assert_eq!(row.get::<_, String>(1), b.4);
    assert_eq!(row.get::<_, String>(2), "EPSG:4524");
    // locate reads the same metres (a projected CRS is not held to ±180 degrees).
    let (status, body) = send(
        &app,
        "GET",
        &format!("/api/v1/locate?lon={easting:.4}&lat={northing:.4}&crs=EPSG:4524"),
        None,
        Vec::new(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let located = json_of(&body);
    assert_eq!(
        located["cells"].as_array().unwrap().last().unwrap()["code"],
        b.4.as_str()
    );
}

#[tokio::test]
async fn roles_see_what_they_may_and_sensitive_reads_are_audited() {
    let db = demo_db().await;
    let (app, _) = app_with_atlas(&db).await;
    let buildings = demo_buildings(&db).await;
    let (grid_a, grid_b) = (
        buildings[0].4.clone(),
        buildings
            .iter()
            .find(|b| b.4 != buildings[0].4)
            .unwrap()
            .4
            .clone(),
    );
    let worker = user(&db, "网格员A", Role::Worker, std::slice::from_ref(&grid_a)).await;
    let planner = user(&db, "规划员", Role::Planner, &[]).await;
    let command = user(&db, "指挥中心", Role::Command, &[]).await;
    let admin = user(&db, "管理员", Role::Admin, &[]).await;

    let (status, body) = send(
        &app,
        "GET",
        &format!("/api/v1/cells/{grid_a}/households"),
        Some(&worker),
        vec![],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let own = json_of(&body);
    assert!(own["households"][0]["head_name"].is_string());
    let (status, _) = send(
        &app,
        "GET",
        &format!("/api/v1/cells/{grid_b}/households"),
        Some(&worker),
        vec![],
    )
    .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "a worker of grid A may not read grid B"
    );
    let (status, _) = send(
        &app,
        "GET",
        &format!("/api/v1/cells/{grid_a}/households"),
        Some(&command),
        vec![],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = send(
        &app,
        "GET",
        &format!("/api/v1/cells/{grid_a}/households"),
        None,
        vec![],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, body) = send(
        &app,
        "GET",
        &format!("/api/v1/cells/{grid_a}/households"),
        Some(&planner),
        vec![],
    )
    .await;
    let seen = json_of(&body);
    let keys: BTreeSet<&str> = seen["households"][0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["address", "building_id", "id", "members"].into(),
        "planners see addresses and sizes only"
    );

    // Command sees aggregates, with no sensitive category counted.
    let village = CellCode::parse(&grid_a).unwrap().parent_code().unwrap();
    let (status, body) = send(
        &app,
        "GET",
        &format!("/api/v1/counts?parent={village}"),
        Some(&command),
        vec![],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let counts = json_of(&body);
    let total: i64 = counts["counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["households"].as_i64().unwrap())
        .sum();
    assert!(total > 0);
    let sensitive = ["低保", "残疾", "社区矫正", "刑释", "空巢老人", "困难家庭"];
    assert!(
        !sensitive
            .iter()
            .any(|s| body.windows(s.len()).any(|w| w == s.as_bytes()))
    );

    // The worker's read was audited; the audit is for admins.
    let (status, _) = send(&app, "GET", "/api/v1/audit", Some(&planner), vec![]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, body) = send(&app, "GET", "/api/v1/audit", Some(&admin), vec![]).await;
    let entries = json_of(&body)["entries"].clone();
    assert!(
        entries
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["user"] == "网格员A"
                && e["action"] == "read households"
                && e["subject"] == grid_a.as_str())
    );
    assert!(
        !entries
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["user"] == "规划员"),
        "address-only reads are not sensitive"
    );
}

#[tokio::test]
async fn moving_a_building_re_places_it_and_its_households_and_is_audited() {
    let db = demo_db().await;
    let (app, _) = app_with_atlas(&db).await;
    let buildings = demo_buildings(&db).await;
    let b = &buildings[5];
    let other = buildings.iter().find(|o| o.4 != b.4).unwrap();
    let stranger = user(
        &db,
        "别的网格员",
        Role::Worker,
        std::slice::from_ref(&other.4),
    )
    .await;
    let planner = user(&db, "核查员", Role::Planner, &[]).await;
    let body = json!({"lon": other.2, "lat": other.3})
        .to_string()
        .into_bytes();
    let (status, _) = send(
        &app,
        "PATCH",
        &format!("/api/v1/buildings/{}", b.0),
        Some(&stranger),
        body.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "not the worker's building");
    let (status, answer) = send(
        &app,
        "PATCH",
        &format!("/api/v1/buildings/{}", b.0),
        Some(&planner),
        body,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&answer)
    );
    let answer = json_of(&answer);
    assert_eq!(answer["cell"], other.4.as_str());
    assert_eq!(answer["previous_cell"], b.4.as_str());
    let cell: String = db
        .client()
        .await
        .query_one("SELECT cell_code FROM buildings WHERE id = $1", &[&b.0])
        .await
        .unwrap()
        .get(0);
    assert_eq!(cell, other.4);
    let audited: i64 = db
        .client()
        .await
        .query_one(
            "SELECT count(*) FROM audit_log WHERE action = 'move building' AND subject = $1",
            &[&b.0.to_string()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(audited, 1);
    let (status, answer) = send(
        &app,
        "PATCH",
        &format!("/api/v1/buildings/{}", b.0),
        Some(&planner),
        json!({"lon": 10.0, "lat": 10.0}).to_string().into_bytes(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json_of(&answer)["error"]["details"]["field"], "lon");
}

#[tokio::test]
async fn batch_geocoding_streams_one_line_per_point_and_address() {
    let db = demo_db().await;
    let (app, state) = app_with_atlas(&db).await;
    let worker = user(&db, "巡查员", Role::Worker, &[]).await;
    let buildings = demo_buildings(&db).await;
    let mut points: Vec<[f64; 2]> = buildings.iter().take(500).map(|b| [b.2, b.3]).collect();
    points.push([0.0, 0.0]);
    let body = json!({"points": points, "addresses": [buildings[3].1, "无此地址1号"]});
    let (status, bytes) = send(
        &app,
        "POST",
        "/api/v1/geocode",
        Some(&worker),
        body.to_string().into_bytes(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let lines: Vec<Value> = String::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 503);
    let atlas = state.atlas.load_full();
    for (i, b) in buildings.iter().take(500).enumerate() {
        assert_eq!(lines[i]["i"], i);
        assert_eq!(lines[i]["cell"], b.4.as_str(), "point {i}");
        let expected = atlas.locate(Coord { x: b.2, y: b.3 }).unwrap();
        assert_eq!(
            lines[i]["chain"].as_array().unwrap().len(),
            expected.chain.len()
        );
    }
    assert_eq!(lines[500]["cell"], Value::Null);
    assert_eq!(lines[501]["status"], "matched");
    assert_eq!(lines[501]["building"], buildings[3].0);
    assert_eq!(lines[502]["status"], "unmatched");
    let (status, _) = send(
        &app,
        "POST",
        "/api/v1/geocode",
        None,
        body.to_string().into_bytes(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, answer) = send(
        &app,
        "POST",
        "/api/v1/geocode",
        Some(&worker),
        br#"{"points": [[1]]}"#.to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json_of(&answer)["error"]["details"]["field"], "points[0]");
}

#[tokio::test]
async fn the_cli_import_reports_rows_by_line_and_exits_non_zero_on_a_bad_row() {
    let db = demo_db().await;
    let b = &demo_buildings(&db).await[7];
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("households.csv");
    std::fs::write(
        &file,
        format!(
            "id,address,head_name,members\nC1,{}附5,乙一,2\nC2,{}附6,乙二,x\n",
            b.1, b.1
        ),
    )
    .unwrap();
    let report = dir.path().join("report.json");
    let output = Command::new(binary())
        .args(["import", "households"])
        .arg(&file)
        .args(["--crs", "wgs84", "--report"])
        .arg(&report)
        .env("DATABASE_URL", db.url())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("line 3: rejected"), "{stderr}");
    assert!(stderr.contains("1 matched by address"), "{stderr}");
    let full: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(full["report"].as_array().unwrap().len(), 2);
    assert_eq!(households_with(&db, "C1").await, 1);
}

/// US ZIP-code points located in US counties by the atlas agree with PostGIS `ST_Contains` on
/// every point; points PostGIS leaves out (on a boundary, or outside) are ours to place only on
/// a county whose boundary they touch.
#[tokio::test]
async fn us_zip_points_in_counties_agree_with_postgis() {
    let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    let counties: Value = serde_json::from_str(
        &std::fs::read_to_string(shared.join("us/us_counties_2017_10m.geojson")).unwrap(),
    )
    .unwrap();
    let db = fresh_db(true).await;
    let client = db.client().await;
    client
        .batch_execute("CREATE TABLE t_counties (code text, geom geometry); CREATE TABLE t_points (i integer, geom geometry)")
        .await
        .unwrap();
    let mut cells = Vec::new();
    for f in counties["features"].as_array().unwrap() {
        let code = format!("9{}", f["id"].as_str().unwrap());
        let geometry = f["geometry"].clone();
        client
            .execute(
                "INSERT INTO t_counties VALUES ($1, ST_SetSRID(ST_GeomFromGeoJSON($2), 4490))",
                &[&code, &geometry.to_string()],
            )
            .await
            .unwrap();
        let g: geojson::Geometry = serde_json::from_value(geometry).unwrap();
        let shape = match geo_types::Geometry::<f64>::try_from(g).unwrap() {
            geo_types::Geometry::Polygon(p) => geo_types::MultiPolygon(vec![p]),
            geo_types::Geometry::MultiPolygon(m) => m,
            _ => continue,
        };
        cells.push(Cell {
            code: CellCode::parse(&code).unwrap(),
            parent: None,
            level: 0,
            kind: CellKind::County,
            name: code.clone(),
            geometry: shape,
            attributes: Default::default(),
        });
    }
    let atlas = Atlas::new(1, cells);
    let text = std::fs::read_to_string(shared.join("points/us_zipcodes_geonames.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let points: Vec<Coord<f64>> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            Coord {
                x: r[2].parse().unwrap(),
                y: r[1].parse().unwrap(),
            }
        })
        .collect();
    assert!(points.len() > 40_000);
    let (xs, ys): (Vec<f64>, Vec<f64>) = points.iter().map(|p| (p.x, p.y)).unzip();
    client
        .execute(
            "INSERT INTO t_points SELECT i::int - 1, ST_SetSRID(ST_MakePoint(x, y), 4490)
             FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS u(x, y, i)",
            &[&xs, &ys],
        )
        .await
        .unwrap();
    client
        .batch_execute("CREATE INDEX ON t_counties USING gist (geom); ANALYZE")
        .await
        .unwrap();
    let rows = client
        .query(
            "SELECT p.i, coalesce(array_agg(c.code) FILTER (WHERE c.code IS NOT NULL), '{}'),
                    coalesce(array_agg(t.code) FILTER (WHERE t.code IS NOT NULL), '{}')
             FROM t_points p
             LEFT JOIN t_counties c ON ST_Contains(c.geom, p.geom)
             LEFT JOIN t_counties t ON ST_Touches(t.geom, p.geom)
             GROUP BY p.i",
            &[],
        )
        .await
        .unwrap();
    let mut agree = 0;
    let mut disagree = Vec::new();
    for row in rows {
        let i: i32 = row.get(0);
        let inside: Vec<String> = row.get(1);
        let touching: Vec<String> = row.get(2);
        let ours = atlas
            .locate_index(points[i as usize])
            .map(|k| atlas.cells()[k].code.clone());
        let ok = match (inside.len(), &ours) {
            (1, Some(code)) => &inside[0] == code,
            (0, None) => true,
            // On a boundary: ours is one of the counties it touches (the half-open rule).
            (0, Some(code)) => touching.contains(code),
            // Overlapping (invalid) counties: either is right.
            (_, Some(code)) => inside.contains(code),
            _ => false,
        };
        if ok {
            agree += 1;
        } else {
            disagree.push((i, inside, touching, ours));
        }
    }
    assert!(
        disagree.is_empty(),
        "{} disagreements, first: {:?}",
        disagree.len(),
        &disagree[..disagree.len().min(5)]
    );
    assert_eq!(agree, points.len());
}

/// Nothing public carries a household's head name or phone: the cell list, every cell and card,
/// locate, the style, tiles over the demo and the posters.
#[tokio::test]
async fn public_outputs_carry_no_household_data() {
    let db = demo_db().await;
    let (app, state) = app_with_atlas(&db).await;
    let client = db.client().await;
    let staff: BTreeSet<String> = client
        .query("SELECT name, coalesce(phone, '') FROM staff", &[])
        .await
        .unwrap()
        .iter()
        .flat_map(|r| [r.get::<_, String>(0), r.get::<_, String>(1)])
        .collect();
    // Household heads and phones that are not also some staff member's (public, consented).
    let secrets: Vec<String> = client
        .query("SELECT head_name, coalesce(phone, '') FROM households", &[])
        .await
        .unwrap()
        .iter()
        .flat_map(|r| [r.get::<_, String>(0), r.get::<_, String>(1)])
        .filter(|s| s.chars().count() >= 2 && !staff.contains(s))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assert!(secrets.len() > 1000);
    let atlas = state.atlas.load_full();
    let mut uris = vec![
        "/api/v1/cells".to_string(),
        "/api/v1/revision".into(),
        "/styles/public.json".into(),
        "/tiles/cells.json".into(),
    ];
    for cell in atlas.cells() {
        uris.push(format!("/api/v1/cells/{}", cell.code));
        uris.push(format!("/api/v1/cells/{}/card", cell.code));
        if cell.level == 2 {
            uris.push(format!("/poster/{}.svg", cell.code));
        }
    }
    let buildings = demo_buildings(&db).await;
    for b in buildings.iter().step_by(97) {
        uris.push(format!("/api/v1/locate?lon={}&lat={}", b.2, b.3));
        for z in [12u32, 14, 16] {
            let n = (1u64 << z) as f64;
            let x = ((b.2 + 180.0) / 360.0 * n).floor();
            let lat = b.3.to_radians();
            let y = ((1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * n)
                .floor();
            for layer in ["cells", "boundaries", "labels"] {
                uris.push(format!("/tiles/{layer}/{z}/{x}/{y}.mvt"));
            }
        }
    }
    uris.sort();
    uris.dedup();
    let mut scanned = 0usize;
    for uri in &uris {
        let (status, body) = send(&app, "GET", uri, None, vec![]).await;
        assert!(
            status.is_success() || status == StatusCode::NO_CONTENT,
            "{uri}: {status}"
        );
        // Tiles are gzip-compressed only on request; these are the raw bytes.
        let text = String::from_utf8_lossy(&body);
        for secret in &secrets {
            assert!(
                !contains_token(&text, secret),
                "{uri} carries household data {secret:?}"
            );
        }
        scanned += body.len();
    }
    assert!(scanned > 100_000, "{scanned} bytes scanned");
}

/// `secret` occurs in `text` as a whole word: not inside a longer name (CJK on both sides) or a
/// longer number (digits on both sides). A 2-character name inside a staff member's 3-character
/// name is not a leak.
fn contains_token(text: &str, secret: &str) -> bool {
    let same_class = |c: char| {
        if secret.chars().all(|s| s.is_ascii_digit()) {
            c.is_ascii_digit()
        } else {
            ('\u{4E00}'..='\u{9FFF}').contains(&c)
        }
    };
    text.match_indices(secret).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + secret.len()..].chars().next();
        !before.is_some_and(same_class) && !after.is_some_and(same_class)
    })
}
