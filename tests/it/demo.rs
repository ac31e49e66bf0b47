//! The committed demo deployment: deterministic, an exact coverage at every level, realistic.

use std::collections::BTreeMap;

use gridmap::codec::cells::parse_cells;
use gridmap::demo::{files, generate};
use gridmap::domain::cell::{Cell, CellKind};
use gridmap::geometry::shared_edges::unmatched_edges;

use crate::harness::{demo_db, demo_dir};

fn demo_cells() -> Vec<Cell> {
    parse_cells(&files::read_cells_text(&demo_dir()).unwrap()).unwrap()
}

/// Every parent's children, checked with the shared-edge rule; returns (parent, problems).
fn coverage_problems(cells: &[Cell]) -> Vec<(String, usize)> {
    let by_code: BTreeMap<&str, &Cell> = cells.iter().map(|c| (c.code.as_str(), c)).collect();
    let mut children: BTreeMap<&str, Vec<&Cell>> = BTreeMap::new();
    for cell in cells {
        if let Some(parent) = &cell.parent {
            children.entry(parent.as_str()).or_default().push(cell);
        }
    }
    children
        .iter()
        .map(|(parent, kids)| {
            let shapes: Vec<_> = kids.iter().map(|k| k.geometry.clone()).collect();
            let problems = unmatched_edges(&by_code[parent].geometry, &shapes);
            (parent.to_string(), problems.len())
        })
        .filter(|(_, n)| *n > 0)
        .collect()
}

#[test]
fn the_committed_demo_is_exactly_what_the_generator_makes() {
    let divisions = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/divisions/villages_52_guizhou.csv");
    let names = files::read_division_names(&divisions).unwrap();
    let demo = generate::generate(&names).unwrap();
    let out = tempfile::tempdir().unwrap();
    files::write(&demo, out.path()).unwrap();
    for file in [
        files::CELLS,
        files::BUILDINGS,
        files::HOUSEHOLDS,
        files::STAFF,
        files::CELL_STAFF,
        "README.md",
    ] {
        let fresh = std::fs::read(out.path().join(file)).unwrap();
        let committed = std::fs::read(demo_dir().join(file)).unwrap();
        assert!(
            fresh == committed,
            "{file} differs from a fresh `gridmap demo`; regenerate with `make demo`"
        );
    }
}

#[test]
fn the_demo_is_an_exact_coverage_at_every_level() {
    let cells = demo_cells();
    assert!(cells.iter().all(|c| geo::Validation::is_valid(&c.geometry)));
    assert_eq!(coverage_problems(&cells), vec![]);
    let parents_checked = cells.iter().filter(|c| c.level < 3).count();
    assert_eq!(parents_checked, 15);
}

#[test]
fn the_synthetic_county_is_an_exact_coverage_that_gridmap_validate_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("county.geojson");
    let written = std::process::Command::new(crate::harness::binary())
        .args(["synth", "county", "--out"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        written.status.success(),
        "{}",
        String::from_utf8_lossy(&written.stderr)
    );
    assert!(String::from_utf8_lossy(&written.stdout).contains("wrote 10417 cells"));
    let cells = parse_cells(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(cells.iter().filter(|c| c.level == 3).count(), 10_000);
    assert!(cells.iter().all(|c| geo::Validation::is_valid(&c.geometry)));
    assert_eq!(coverage_problems(&cells), vec![]);
    let validated = std::process::Command::new(crate::harness::binary())
        .arg("validate")
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        validated.status.success(),
        "{}",
        String::from_utf8_lossy(&validated.stdout)
    );
}

#[test]
fn the_coverage_check_catches_a_vertex_moved_by_ten_centimetres() {
    let mut cells = demo_cells();
    let grid = cells.iter_mut().find(|c| c.level == 3).unwrap();
    let ring = grid.geometry.0[0].exterior().clone();
    let mut coords = ring.0;
    coords[1].x += 1e-6;
    grid.geometry.0[0] = geo_types::Polygon::new(geo_types::LineString(coords), vec![]);
    let problems = coverage_problems(&cells);
    assert_eq!(problems.len(), 1, "{problems:?}");
}

#[test]
fn the_demo_has_the_shape_the_brief_asks_for() {
    let cells = demo_cells();
    let count = |level: u8| cells.iter().filter(|c| c.level == level).count();
    assert_eq!((count(0), count(1), count(2)), (1, 2, 12));
    assert!((80..=100).contains(&count(3)), "{} grids", count(3));
    let special: Vec<&str> = cells
        .iter()
        .filter(|c| c.kind == CellKind::SpecialGrid)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(special, ["湄江中学专属网格", "永兴工业园区专属网格"]);
    // The enclave: one village in two pieces, its neighbour with a hole.
    let multipart: Vec<&str> = cells
        .iter()
        .filter(|c| c.level == 2 && c.geometry.0.len() > 1)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(multipart, ["流河渡村"]);
    assert!(
        cells
            .iter()
            .any(|c| c.level == 2 && c.geometry.0.iter().any(|p| !p.interiors().is_empty()))
    );
    // Grids differ in size: town grids are small, rural ones large.
    let areas: Vec<f64> = cells
        .iter()
        .filter(|c| c.level == 3)
        .map(|c| geo::GeodesicArea::geodesic_area_unsigned(&c.geometry))
        .collect();
    let (min, max) = areas
        .iter()
        .fold((f64::MAX, 0.0f64), |(a, b), x| (a.min(*x), b.max(*x)));
    assert!(max > 10.0 * min, "areas {min}..{max}");
    // Grids are numbered west→east, north→south with 3-digit sequences from 001.
    assert!(cells.iter().any(|c| c.code.as_str() == "520328004016001"));
    let registry = files::read_registry(&demo_dir()).unwrap();
    assert!((24_000..=26_000).contains(&registry.households.len()));
    assert!((7_000..=9_000).contains(&registry.buildings.len()));
    let consenting = registry
        .staff
        .iter()
        .filter(|s| s.consent_at.is_some())
        .count();
    assert!(consenting > 0 && consenting < registry.staff.len());
    let grids_with_team: std::collections::BTreeSet<&str> = registry
        .assignments
        .iter()
        .filter(|a| a.role == "网格长")
        .map(|a| a.cell_code.as_str())
        .collect();
    assert_eq!(grids_with_team.len(), count(3));
}

#[tokio::test]
async fn postgis_places_every_demo_building_in_the_grid_the_files_say() {
    let db = demo_db().await;
    let client = db.client().await;
    let rows = client
        .query("SELECT ext_id, cell_code FROM buildings", &[])
        .await
        .unwrap();
    let placed: BTreeMap<String, Option<String>> =
        rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let registry = files::read_registry(&demo_dir()).unwrap();
    assert_eq!(placed.len(), registry.buildings.len());
    for building in &registry.buildings {
        assert_eq!(
            placed[&building.id].as_deref(),
            Some(building.cell_code.as_str()),
            "{}",
            building.id
        );
    }
    let households: i64 = client
        .query_one("SELECT count(*) FROM households", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(households as usize, registry.households.len());
    // PostGIS agrees that siblings do not overlap and children fill their parents.
    let bad: i64 = client
        .query_one(
            "SELECT count(*) FROM (
               SELECT p.code FROM cells p JOIN cells c ON c.parent_code = p.code
               GROUP BY p.code, p.geom
               HAVING ST_Area(ST_SymDifference(p.geom, ST_Union(c.geom))::geography) > 0.01) t",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(bad, 0);
}

#[tokio::test]
async fn loading_the_demo_into_a_database_with_cells_changes_nothing() {
    let db = demo_db().await;
    let mut client = db.client().await;
    let again = gridmap::app::demo::load_if_empty(&mut client, &demo_dir())
        .await
        .unwrap();
    assert!(again.is_none());
    let revisions: i64 = client
        .query_one("SELECT count(*) FROM revisions", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(revisions, 2);
}
