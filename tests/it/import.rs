//! `gridmap import cells`: all or nothing, every bad input named by feature, database unchanged.

use std::process::Command;

use gridmap::codec::cells::parse_cells;
use gridmap::store::cells::{CellFilter, WriteOutcome, list_features, write_revision};
use serde_json::Value;

use crate::harness::{TestDb, binary, demo_dir, fresh_db};

fn demo_collection() -> Value {
    let text = std::fs::read_to_string(demo_dir().join("cells.geojson")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Cells and revisions as they stand, to prove a refused import changed nothing.
async fn snapshot(db: &TestDb) -> (i64, i64, i64) {
    let client = db.client().await;
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM cells), (SELECT count(*) FROM revisions),
                    (SELECT count(*) FROM cells WHERE valid_to IS NOT NULL)",
            &[],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1), row.get(2))
}

fn run_import(db: &TestDb, text: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cells.geojson");
    std::fs::write(&file, text).unwrap();
    let output = Command::new(binary())
        .args(["import", "cells"])
        .arg(&file)
        .env("DATABASE_URL", db.url())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[tokio::test]
async fn the_demo_imports_as_one_revision_and_reimport_closes_old_rows() {
    let db = fresh_db(true).await;
    let (ok, out) = run_import(&db, &demo_collection().to_string());
    assert!(ok, "{out}");
    assert!(out.contains("imported 105 cells as revision 1"), "{out}");
    let (ok, out) = run_import(&db, &demo_collection().to_string());
    assert!(ok, "{out}");
    assert_eq!(snapshot(&db).await, (210, 3, 105));
    let client = db.client().await;
    let at_one = list_features(
        &client,
        &CellFilter {
            as_of: Some(1),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(at_one.len(), 105);
    assert!(at_one.iter().all(|f| f["properties"]["revision"] == 1));
}

/// Replaces feature 40 of the demo (a village's grid) with `edit` applied, expecting a refusal
/// that names feature 40 and mentions `needle`.
type Edit = fn(&mut Value);

#[tokio::test]
async fn each_kind_of_bad_feature_aborts_the_whole_import() {
    let db = fresh_db(true).await;
    // A first good revision, so "unchanged" means more than "still empty".
    let (ok, out) = run_import(&db, &demo_collection().to_string());
    assert!(ok, "{out}");
    let before = snapshot(&db).await;
    let cases: Vec<(&str, Edit)> = vec![
        ("property `code` is missing", |f| {
            f["properties"].as_object_mut().unwrap().remove("code");
        }),
        ("invalid code", |f| {
            f["properties"]["code"] = "52032800400X001".into()
        }),
        ("unknown parent 520328004099", |f| {
            f["properties"]["code"] = "520328004099001".into();
            f["properties"]["parent"] = "520328004099".into();
        }),
        ("level 3, but `level` says 2", |f| {
            f["properties"]["level"] = 2.into()
        }),
        ("must be a Polygon or MultiPolygon", |f| {
            f["geometry"] = serde_json::json!({"type": "Point", "coordinates": [107.4, 27.7]});
        }),
        ("out of range", |f| {
            f["geometry"]["coordinates"][0][0][1][0] = 190.0.into()
        }),
        ("is not closed", |f| {
            let ring = f["geometry"]["coordinates"][0][0].as_array_mut().unwrap();
            ring.pop();
        }),
        ("invalid polygon", |f| {
            let ring = f["geometry"]["coordinates"][0][0].as_array_mut().unwrap();
            ring.swap(1, 2);
        }),
        ("is not a [longitude, latitude] pair", |f| {
            f["geometry"]["coordinates"][0][0][2] = serde_json::json!(["107.4", 27.7]);
        }),
    ];
    for (needle, edit) in cases {
        let mut collection = demo_collection();
        let mut feature = collection["features"][40].clone();
        edit(&mut feature);
        collection["features"][40] = feature;
        let (ok, out) = run_import(&db, &collection.to_string());
        assert!(!ok, "{needle}: import should fail");
        assert!(out.contains("feature 40"), "{needle}: {out}");
        assert!(out.contains(needle), "expected {needle:?} in {out}");
        assert!(out.contains("nothing was imported"), "{out}");
        assert_eq!(snapshot(&db).await, before, "{needle}: database changed");
    }
}

#[tokio::test]
async fn malformed_json_is_refused_with_line_and_column() {
    let db = fresh_db(true).await;
    let text = std::fs::read_to_string(demo_dir().join("cells.geojson")).unwrap();
    let truncated = &text[..text.len() / 2];
    let (ok, out) = run_import(&db, truncated);
    assert!(!ok);
    assert!(out.contains("malformed JSON at line"), "{out}");
    assert!(out.contains("column"), "{out}");
    let nonfinite = r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"520328","name":"x"},
"geometry":{"type":"Polygon","coordinates":[[[1e400,27],[107,28],[108,28],[1e400,27]]]}}]}"#;
    let (ok, out) = run_import(&db, nonfinite);
    assert!(!ok);
    assert!(out.contains("line 2"), "{out}");
    assert_eq!(snapshot(&db).await, (0, 1, 0));
}

#[tokio::test]
async fn an_unknown_parent_found_only_in_the_database_check_rolls_back() {
    let db = fresh_db(true).await;
    let text = r#"{"type":"FeatureCollection","features":[
      {"type":"Feature","properties":{"code":"520328","name":"湄潭县"},"geometry":{"type":"Polygon","coordinates":[[[107,27],[108,27],[108,28],[107,28],[107,27]]]}},
      {"type":"Feature","properties":{"code":"520328004001","parent":"520328004","name":"x"},"geometry":{"type":"Polygon","coordinates":[[[107,27],[107.5,27],[107.5,27.5],[107,27]]]}}]}"#;
    let cells = parse_cells(text).unwrap();
    let mut client = db.client().await;
    let outcome = write_revision(&mut client, &cells, None, "test", "bad")
        .await
        .unwrap();
    match outcome {
        WriteOutcome::Refused(r) => {
            assert_eq!(r.feature, 1);
            assert!(r.to_string().contains("unknown parent 520328004"));
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(snapshot(&db).await, (0, 1, 0));
}

#[tokio::test]
async fn overlapping_siblings_are_refused_by_the_database_guard() {
    let db = fresh_db(true).await;
    let square = "[[[107,27],[108,27],[108,28],[107,28],[107,27]]]";
    let west = "[[[107,27],[107.6,27],[107.6,28],[107,28],[107,27]]]";
    let east = "[[[107.5,27],[108,27],[108,28],[107.5,28],[107.5,27]]]";
    let feature = |code: &str, parent: &str, rings: &str| {
        format!(
            r#"{{"type":"Feature","properties":{{"code":"{code}","parent":{parent},"name":"x"}},"geometry":{{"type":"Polygon","coordinates":{rings}}}}}"#
        )
    };
    let text = format!(
        r#"{{"type":"FeatureCollection","features":[{},{},{}]}}"#,
        feature("520328", "null", square),
        feature("520328004", "\"520328\"", west),
        feature("520328101", "\"520328\"", east)
    );
    // The validator refuses it first, with the report…
    let (ok, out) = run_import(&db, &text);
    assert!(!ok);
    assert!(out.contains("would break the coverage rule"), "{out}");
    assert!(out.contains("overlap"), "{out}");
    assert_eq!(snapshot(&db).await, (0, 1, 0));
    // …and the database refuses it on its own when the validator is bypassed.
    let cells = parse_cells(&text).unwrap();
    let mut client = db.client().await;
    match write_revision(&mut client, &cells, None, "test", "bypass")
        .await
        .unwrap()
    {
        WriteOutcome::Refused(r) => {
            assert!(r.to_string().contains("overlaps its sibling"), "{r}");
            assert!([1, 2].contains(&r.feature));
        }
        other => panic!("the database guard let an overlap through: {other:?}"),
    }
    assert_eq!(snapshot(&db).await, (0, 1, 0));
}

#[tokio::test]
async fn an_import_that_would_leave_a_gap_is_refused_with_the_report() {
    let db = fresh_db(true).await;
    let (ok, out) = run_import(&db, &demo_collection().to_string());
    assert!(ok, "{out}");
    let before = snapshot(&db).await;
    // Shrink one grid to a triangle of its first vertices: a gap opens inside its village.
    let collection = demo_collection();
    let grid = collection["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["properties"]["level"] == 3)
        .unwrap();
    let ring = &grid["geometry"]["coordinates"][0][0];
    let only = serde_json::json!({"type": "FeatureCollection", "features": [{
        "type": "Feature",
        "properties": grid["properties"].clone(),
        "geometry": {"type": "Polygon", "coordinates": [[
            ring[0].clone(), ring[1].clone(), ring[2].clone(), ring[0].clone()
        ]]}
    }]});
    let (ok, out) = run_import(&db, &only.to_string());
    assert!(!ok);
    assert!(out.contains("would break the coverage rule"), "{out}");
    assert!(out.contains("gap"), "{out}");
    assert_eq!(snapshot(&db).await, before);
}
