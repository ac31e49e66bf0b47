//! The coverage engine on real data from `../shared/data/` and on the demo.

use gridmap::geometry::coverage::{
    CodeRules, CoverageCell, Kind, Options, cells_from_geojson, validate,
};

use crate::harness::demo_dir;

fn shared(path: &str) -> String {
    let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

fn read(path: &str, code: &str) -> Vec<CoverageCell> {
    cells_from_geojson(&shared(path), code).unwrap()
}

fn with_codes(code_rules: CodeRules) -> Options {
    Options {
        code_rules,
        ..Options::default()
    }
}

#[test]
fn the_demo_validates_clean_at_every_level() {
    let text = std::fs::read_to_string(demo_dir().join("cells.geojson")).unwrap();
    let cells = cells_from_geojson(&text, "code").unwrap();
    let report = validate(&cells, &[], &Options::default());
    assert!(report.valid, "{}", report.summary(20));
    // Only the enclave village is in two pieces, which is a warning.
    assert_eq!(report.errors().count(), 0);
    assert_eq!(report.count(Kind::Multipart), 1);
}

#[test]
fn us_counties_inside_states_show_their_known_defects() {
    let counties = read("us/us_counties_2017_10m.geojson", "id");
    let states = read("us/us_states_2017_10m.geojson", "id");
    let report = validate(&counties, &states, &with_codes(CodeRules::Prefix));
    let invalid: Vec<&str> = report
        .violations
        .iter()
        .filter(|v| v.kind == Kind::InvalidGeometry && v.cells[0].len() == 5)
        .map(|v| v.cells[0].as_str())
        .collect();
    // PostGIS ST_IsValid finds the same 40 invalid counties.
    assert_eq!(invalid.len(), 40, "{invalid:?}");
    for code in ["06001", "06075", "22067", "51620", "56039"] {
        assert!(invalid.contains(&code), "{code} not reported invalid");
    }
    // Overlaps hidden next to invalid counties are still found (PostGIS ST_Relate agrees).
    let overlaps: Vec<(Vec<String>, f64)> = report
        .violations
        .iter()
        .filter(|v| v.kind == Kind::Overlap)
        .map(|v| (v.cells.clone(), v.area_m2.unwrap()))
        .collect();
    let has = |a: &str, b: &str| {
        overlaps
            .iter()
            .any(|(c, _)| c.contains(&a.to_string()) && c.contains(&b.to_string()))
    };
    assert!(has("06077", "06085"), "{overlaps:?}");
    assert!(has("22073", "22083"), "{overlaps:?}");
    // Only those two: GEOS (shapely make_valid, then intersection) finds no other pair of valid
    // counties overlapping, and 51620/51093, two invalid counties, only touching along a line.
    assert_eq!(overlaps.len(), 2, "{overlaps:?}");
    assert!(!has("51620", "51093"), "{overlaps:?}");
    let ca = overlaps
        .iter()
        .find(|(c, _)| c.contains(&"06077".to_string()))
        .unwrap()
        .1;
    assert!(
        (ca / 2_610.45 - 1.0).abs() < 0.01,
        "GEOS says 2,610.45 m², we say {ca}"
    );
    let la = overlaps
        .iter()
        .find(|(c, _)| c.contains(&"22073".to_string()))
        .unwrap()
        .1;
    assert!(
        (la / 307_440.0 - 1.0).abs() < 0.01,
        "PostGIS says 307,440 m², we say {la}"
    );
    // Every finding names real cells and is not a stray mismatch along clean borders.
    assert_eq!(report.count(Kind::Gap), 0);
    assert_eq!(
        report.count(Kind::EdgeMismatch),
        0,
        "{}",
        report.summary(30)
    );
    assert!(!report.valid);
}

#[test]
fn london_boroughs_have_exactly_their_two_invalid_polygons() {
    let boroughs = read("london/london_boroughs.geojson", "id");
    let report = validate(&boroughs, &[], &with_codes(CodeRules::Free));
    let errors: Vec<(Kind, &str)> = report
        .errors()
        .map(|v| (v.kind, v.cells[0].as_str()))
        .collect();
    assert_eq!(
        errors,
        [
            (Kind::InvalidGeometry, "Newham"),
            (Kind::InvalidGeometry, "Richmond upon Thames")
        ]
    );
}

#[test]
fn taipei_townships_show_slivers_between_neighbours() {
    let towns = read("taiwan/taipei_newtaipei_townships.geojson", "TOWNCODE");
    let report = validate(&towns, &[], &with_codes(CodeRules::Free));
    assert!(!report.valid);
    let mismatches: Vec<_> = report
        .violations
        .iter()
        .filter(|v| v.kind == Kind::EdgeMismatch)
        .collect();
    assert!(mismatches.len() > 20, "{}", report.summary(10));
    // All slivers: tiny areas, between neighbours, never a gap or overlap of substance.
    assert_eq!(
        report.count(Kind::Overlap) + report.count(Kind::Gap),
        0,
        "{}",
        report.summary(10)
    );
    assert!(
        mismatches
            .iter()
            .all(|m| m.area_m2.unwrap_or(0.0) < 1.0 && m.geometry.is_some())
    );
}

fn gridmap(args: &[&str]) -> (i32, String, String) {
    let output = std::process::Command::new(crate::harness::binary())
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn snapping_repairs_the_taipei_slivers_into_a_valid_coverage() {
    let input = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/taiwan/taipei_newtaipei_townships.geojson");
    let input = input.to_str().unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("snapped.geojson");
    let out = out.to_str().unwrap();
    let base = [
        "validate",
        input,
        "--codes",
        "free",
        "--code-property",
        "TOWNCODE",
    ];

    let (status, stdout, _) = gridmap(&base);
    assert_eq!(status, 1, "{stdout}");
    let (status, stdout, stderr) = gridmap(&[&base[..], &["--snap", "0.5", "-o", out]].concat());
    assert_eq!(status, 0, "{stdout}{stderr}");
    assert!(
        stderr.contains("vertices moved") && stderr.contains("inserted"),
        "{stderr}"
    );
    // The repaired file validates on its own, even with no tolerance for slivers, and keeps
    // every feature with its properties.
    let repaired = [&[
        "validate",
        out,
        "--codes",
        "free",
        "--code-property",
        "TOWNCODE",
        "--sliver-width",
        "0",
    ][..]]
    .concat();
    let (status, stdout, _) = gridmap(&repaired);
    assert_eq!(status, 0, "{stdout}");
    let text = std::fs::read_to_string(out).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["features"].as_array().unwrap().len(), 41);
    assert_eq!(json["features"][0]["properties"]["TOWNNAME"], "大安區");
    // The input is never changed.
    let original = std::fs::read_to_string(input).unwrap();
    assert_ne!(original, text);
}

#[test]
fn validate_exit_codes_and_json_report() {
    let demo = crate::harness::demo_dir().join("cells.geojson");
    let demo = demo.to_str().unwrap();
    let (status, stdout, _) = gridmap(&["validate", demo, "--json"]);
    assert_eq!(status, 0);
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["valid"], true);
    assert_eq!(report["violations"][0]["kind"], "multipart");

    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, "{\"type\": \"FeatureCollection\", \"features\": [").unwrap();
    let (status, _, stderr) = gridmap(&["validate", broken.to_str().unwrap()]);
    assert_eq!(status, 2);
    assert!(stderr.contains("line 1"), "{stderr}");
    let (status, _, stderr) = gridmap(&["validate", demo, "--snap", "0.5"]);
    assert_eq!(status, 2);
    assert!(stderr.contains("-o"), "{stderr}");
}
