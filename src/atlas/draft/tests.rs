use super::*;
use crate::atlas::check::validate_touched;
use crate::geometry::coverage::Options;
use geo::Area;

const X0: f64 = 107.0;
const Y0: f64 = 27.0;
const D: f64 = 0.01;

fn square(x0: f64, y0: f64, x1: f64, y1: f64) -> MultiPolygon<f64> {
    let c = |x: f64, y: f64| Coord {
        x: X0 + x * D,
        y: Y0 + y * D,
    };
    MultiPolygon(vec![Polygon::new(
        LineString(vec![c(x0, y0), c(x1, y0), c(x1, y1), c(x0, y1), c(x0, y0)]),
        vec![],
    )])
}

fn cell(code: &str, geometry: MultiPolygon<f64>) -> Cell {
    let code = CellCode::parse(code).unwrap();
    let level = code.level();
    Cell {
        parent: code.parent_code(),
        level,
        kind: CellKind::default_for_level(level),
        name: format!("格{}", code.as_str()),
        code,
        geometry,
        attributes: Map::new(),
    }
}

/// County = township = village = the rectangle 0..2 × 0..1; two grids, west and east, whose
/// shared edge and the village outline share their vertices.
fn base() -> Vec<Cell> {
    // The outline carries the midpoints (1,0) and (1,1) so the grids' corners are its vertices.
    let c = |x: f64, y: f64| Coord {
        x: X0 + x * D,
        y: Y0 + y * D,
    };
    let outline = MultiPolygon(vec![Polygon::new(
        LineString(vec![
            c(0., 0.),
            c(1., 0.),
            c(2., 0.),
            c(2., 1.),
            c(1., 1.),
            c(0., 1.),
            c(0., 0.),
        ]),
        vec![],
    )]);
    vec![
        cell("520328", outline.clone()),
        cell("520328004", outline.clone()),
        cell("520328004001", outline),
        cell("520328004001001", square(0., 0., 1., 1.)),
        cell("520328004001002", square(1., 0., 2., 1.)),
    ]
}

fn touched(draft: &Draft) -> BTreeSet<String> {
    draft.changes.keys().cloned().collect()
}

fn line(points: &[(f64, f64)]) -> Vec<Coord<f64>> {
    points
        .iter()
        .map(|(x, y)| Coord {
            x: X0 + x * D,
            y: Y0 + y * D,
        })
        .collect()
}

#[test]
fn a_split_across_a_grid_keeps_the_coverage_exact_and_inserts_the_cut_vertex_into_neighbours() {
    let view = View::new(base(), &Draft::default());
    let mut draft = Draft::default();
    // Horizontal cut through the west grid at y = 0.4, drawn from outside to inside the east grid.
    let used: BTreeSet<String> = ["520328004001003".to_string()].into(); // retired earlier
    let [a, b] = draft
        .split(
            &view,
            "520328004001001",
            &line(&[(-0.3, 0.4), (1.0 - 1e-12, 0.4)]),
            1e-7,
            &used,
        )
        .unwrap();
    assert_eq!(a, "520328004001004", "never the retired 003");
    assert_eq!(b, "520328004001005");
    assert_eq!(
        draft.lineage,
        vec![
            ("520328004001001".into(), a.clone()),
            ("520328004001001".into(), b.clone())
        ]
    );
    let after = View::new(base(), &draft);
    assert!(after.get("520328004001001").is_none());
    let area = |c: &str| after.get(c).unwrap().geometry.unsigned_area();
    let whole = square(0., 0., 1., 1.).unsigned_area();
    assert!((area(&a) + area(&b) - whole).abs() < 1e-15);
    assert!(area(&a) > 0.0 && area(&b) > 0.0);
    // The east grid and the village (and its parents) got the new vertex at (1, 0.4) and (0, 0.4).
    let has = |code: &str, x: f64, y: f64| {
        after.get(code).unwrap().geometry.0[0]
            .exterior()
            .0
            .iter()
            .any(|c| (c.x - (X0 + x * D)).abs() < 1e-12 && (c.y - (Y0 + y * D)).abs() < 1e-12)
    };
    assert!(has("520328004001002", 1.0, 0.4));
    assert!(has("520328004001", 0.0, 0.4));
    assert!(has("520328", 0.0, 0.4));
    let report = validate_touched(&after, &touched(&draft), &Options::default());
    assert!(report.valid, "{:?}", report.violations);
}

#[test]
fn a_line_that_does_not_cross_twice_is_refused_and_changes_nothing() {
    let view = View::new(base(), &Draft::default());
    let mut draft = Draft::default();
    let zigzag = line(&[(-0.5, 0.2), (0.5, 0.2), (0.5, 1.5), (0.7, 1.5), (0.7, 0.5)]);
    let err = draft
        .split(&view, "520328004001001", &zigzag, 1e-7, &BTreeSet::new())
        .unwrap_err();
    assert!(
        matches!(err, DraftError::BadLine(ref m) if m.contains("exactly twice")),
        "{err}"
    );
    let inside = line(&[(0.2, 0.2), (0.8, 0.8)]);
    assert!(
        draft
            .split(&view, "520328004001001", &inside, 1e-7, &BTreeSet::new())
            .is_err()
    );
    assert!(draft.changes.is_empty() && draft.lineage.is_empty());
    assert_eq!(
        draft
            .split(&view, "520328004001", &inside, 1e-7, &BTreeSet::new())
            .unwrap_err(),
        DraftError::NationalCode("520328004001".into())
    );
}

#[test]
fn a_line_ending_on_existing_vertices_splits_without_touching_neighbours() {
    let view = View::new(base(), &Draft::default());
    let mut draft = Draft::default();
    // Diagonal from corner (0,0) to corner (1,1), ends given a hair off the vertices.
    let diagonal = line(&[(0.0, 1e-9), (1.0, 1.0 - 1e-9)]);
    let [a, b] = draft
        .split(&view, "520328004001001", &diagonal, 1e-6, &BTreeSet::new())
        .unwrap();
    assert_eq!(
        touched(&draft),
        ["520328004001001".to_string(), a.clone(), b.clone()].into()
    );
    let after = View::new(base(), &draft);
    for code in [&a, &b] {
        assert_eq!(after.get(code).unwrap().geometry.0[0].exterior().0.len(), 4);
    }
    assert!(validate_touched(&after, &touched(&draft), &Options::default()).valid);
}

#[test]
fn merging_two_grids_dissolves_the_shared_edge_and_takes_a_new_code() {
    let view = View::new(base(), &Draft::default());
    let mut draft = Draft::default();
    let codes = vec!["520328004001001".to_string(), "520328004001002".to_string()];
    let used: BTreeSet<String> = ["520328004001007".to_string()].into();
    let new = draft.merge(&view, &codes, Some("合并网格"), &used).unwrap();
    assert_eq!(new, "520328004001008");
    let after = View::new(base(), &draft);
    let merged = after.get(&new).unwrap();
    assert_eq!(merged.name, "合并网格");
    assert_eq!(merged.geometry.0.len(), 1);
    assert!(
        (merged.geometry.unsigned_area() - square(0., 0., 2., 1.).unsigned_area()).abs() < 1e-15
    );
    assert_eq!(draft.lineage.len(), 2);
    assert!(validate_touched(&after, &touched(&draft), &Options::default()).valid);
    // Not siblings, or a single cell: refused.
    let mut other = Draft::default();
    assert!(matches!(
        other.merge(&view, &["520328004001001".into()], None, &used),
        Err(DraftError::BadMerge(_))
    ));
    assert!(matches!(
        other.merge(
            &view,
            &["520328004001001".into(), "520328004001".into()],
            None,
            &used
        ),
        Err(DraftError::NationalCode(_))
    ));
}

#[test]
fn moving_a_shared_vertex_in_one_grid_only_is_an_overlap_and_in_both_is_valid() {
    let mut draft = Draft::default();
    let mut west = base()[3].clone();
    // Push the west grid's corner (1, 0.0)… rather the shared edge's top (1,1) is on the outline;
    // move the whole shared edge east by adding a vertex (1.2, 0.5) to the west grid only.
    let ring = &mut west.geometry.0[0];
    let mut coords = ring.exterior().0.clone();
    coords.insert(
        2,
        Coord {
            x: X0 + 1.2 * D,
            y: Y0 + 0.5 * D,
        },
    );
    *ring = Polygon::new(LineString(coords), vec![]);
    draft.put(west.clone());
    let view = View::new(base(), &draft);
    let report = validate_touched(&view, &touched(&draft), &Options::default());
    let kinds: BTreeSet<&str> = report.violations.iter().map(|v| v.kind.as_str()).collect();
    assert!(kinds.contains("overlap"), "{kinds:?}");
    // The same vertex in the east grid as well: exact again.
    let mut east = base()[4].clone();
    let ring = &mut east.geometry.0[0];
    let mut coords = ring.exterior().0.clone();
    // East ring: (1,0) (2,0) (2,1) (1,1) (1,0): the shared edge runs (1,1)→(1,0).
    coords.insert(
        4,
        Coord {
            x: X0 + 1.2 * D,
            y: Y0 + 0.5 * D,
        },
    );
    *ring = Polygon::new(LineString(coords), vec![]);
    draft.put(east);
    let view = View::new(base(), &draft);
    let report = validate_touched(&view, &touched(&draft), &Options::default());
    assert!(report.valid, "{:?}", report.violations);
}

#[test]
fn next_code_is_one_past_the_highest_ever_used() {
    let village = CellCode::parse("520328004001").unwrap();
    let used: BTreeSet<String> = ["520328004001001", "520328004001009", "520328004002020"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(next_code(&village, &used).unwrap(), "520328004001010");
    assert_eq!(
        next_code(&village, &BTreeSet::new()).unwrap(),
        "520328004001001"
    );
    let full: BTreeSet<String> = ["520328004001999".to_string()].into();
    assert!(next_code(&village, &full).is_err());
    let grid = CellCode::parse("520328004001001").unwrap();
    assert_eq!(
        next_code(&grid, &BTreeSet::new()).unwrap(),
        "5203280040010010001"
    );
}
