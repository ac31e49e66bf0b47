//! Hand-made coverages, one per rule, and randomised ones.

use geo_types::Coord;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::synthetic::{jittered_grid, nudge_vertex};
use super::*;

const X: f64 = 107.4;
const Y: f64 = 27.7;
const U: f64 = 0.01; // about 1 km

fn cell(code: &str, rings: &[&[(f64, f64)]]) -> CoverageCell {
    CoverageCell {
        code: code.to_string(),
        level: None,
        parent: None,
        polygons: vec![
            rings
                .iter()
                .map(|r| {
                    r.iter()
                        .map(|&(x, y)| Coord {
                            x: X + x * U,
                            y: Y + y * U,
                        })
                        .collect()
                })
                .collect(),
        ],
        geometry_note: None,
        feature: 0,
    }
}

fn rect(code: &str, x0: f64, y0: f64, x1: f64, y1: f64) -> CoverageCell {
    cell(code, &[&[(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]])
}

const PARENT: &str = "520328004001";
fn grid(n: u32) -> String {
    format!("{PARENT}{n:03}")
}

fn run(cells: &[CoverageCell]) -> Report {
    validate(cells, &[], &Options::default())
}

fn kinds(report: &Report) -> Vec<Kind> {
    report.violations.iter().map(|v| v.kind).collect()
}

#[test]
fn four_squares_cover_their_parent_exactly() {
    let cells = [
        rect(PARENT, 0., 0., 2., 2.),
        rect(&grid(1), 0., 1., 1., 2.),
        rect(&grid(2), 1., 1., 2., 2.),
        rect(&grid(3), 0., 0., 1., 1.),
        rect(&grid(4), 1., 0., 2., 1.),
    ];
    let report = run(&cells);
    assert!(report.valid, "{}", report.summary(10));
    assert!(report.violations.is_empty());
}

#[test]
fn a_t_junction_is_valid() {
    // The bottom cell's top edge runs unbroken under two upper cells; the parent's sides too.
    let cells = [
        rect(PARENT, 0., 0., 2., 2.),
        rect(&grid(1), 0., 1., 1., 2.),
        rect(&grid(2), 1., 1., 2., 2.),
        rect(&grid(3), 0., 0., 2., 1.),
    ];
    let report = run(&cells);
    assert!(report.valid, "{}", report.summary(10));
}

#[test]
fn a_hole_filled_by_an_enclave_is_valid() {
    let ring: &[(f64, f64)] = &[(0., 0.), (3., 0.), (3., 3.), (0., 3.), (0., 0.)];
    let hole: &[(f64, f64)] = &[(1., 1.), (1., 2.), (2., 2.), (2., 1.), (1., 1.)];
    let cells = [
        rect(PARENT, 0., 0., 3., 3.),
        cell(&grid(1), &[ring, hole]),
        rect(&grid(2), 1., 1., 2., 2.),
    ];
    let report = run(&cells);
    assert!(report.valid, "{}", report.summary(10));
}

#[test]
fn an_overlap_of_one_millimetre_is_reported() {
    let mm = 1e-8 / U; // 1e-8 degrees of longitude ≈ 1 mm
    let cells = [
        rect(PARENT, 0., 0., 2., 1.),
        rect(&grid(1), 0., 0., 1., 1.),
        rect(&grid(2), 1. - mm, 0., 2., 1.),
    ];
    let report = run(&cells);
    assert!(!report.valid);
    assert_eq!(
        kinds(&report),
        [Kind::EdgeMismatch],
        "{}",
        report.summary(10)
    );
    let sliver = &report.violations[0];
    assert!(
        sliver.cells.contains(&grid(1)) && sliver.cells.contains(&grid(2)),
        "{:?}",
        sliver.cells
    );
    // 1 mm × 1.1 km.
    let area = sliver.area_m2.unwrap();
    assert!((0.9..1.3).contains(&area), "{area}");
    assert!(sliver.message.contains("overlap"));

    // With no sliver tolerance it is reported as what it is, an overlap.
    let strict = Options {
        sliver_width_m: 0.0,
        ..Options::default()
    };
    let report = validate(&cells, &[], &strict);
    assert_eq!(kinds(&report), [Kind::Overlap], "{}", report.summary(10));
}

#[test]
fn an_overlap_is_reported_with_its_polygon() {
    let cells = [
        rect(PARENT, 0., 0., 2., 1.),
        rect(&grid(1), 0., 0., 1.3, 1.),
        rect(&grid(2), 1., 0., 2., 1.),
    ];
    let report = run(&cells);
    assert_eq!(report.count(Kind::Overlap), 1, "{}", report.summary(10));
    let overlap = report
        .violations
        .iter()
        .find(|v| v.kind == Kind::Overlap)
        .unwrap();
    let expected = 0.3 * 1.0 * (U * 111_320.0 * Y.to_radians().cos()) * (U * 110_574.0);
    let area = overlap.area_m2.unwrap();
    assert!((area / expected - 1.0).abs() < 0.01, "{area} vs {expected}");
    let json = report.to_json();
    assert_eq!(json["valid"], false);
    assert_eq!(json["violations"][0]["geometry"]["type"], "Polygon");
}

#[test]
fn a_gap_at_the_parent_border_is_reported() {
    let cells = [
        rect(PARENT, 0., 0., 2., 1.),
        rect(&grid(1), 0., 0., 1., 1.),
        rect(&grid(2), 1., 0., 1.8, 1.),
    ];
    let report = run(&cells);
    assert_eq!(kinds(&report), [Kind::Gap], "{}", report.summary(10));
    assert!(report.violations[0].cells.contains(&PARENT.to_string()));
}

#[test]
fn a_lake_no_cell_covers_is_a_gap() {
    let mut cells = vec![rect(PARENT, 0., 0., 3., 3.)];
    let mut n = 0;
    for j in 0..3 {
        for i in 0..3 {
            if (i, j) != (1, 1) {
                n += 1;
                cells.push(rect(
                    &grid(n),
                    i as f64,
                    j as f64,
                    i as f64 + 1.,
                    j as f64 + 1.,
                ));
            }
        }
    }
    let report = run(&cells);
    assert_eq!(
        kinds(&report),
        [Kind::Gap],
        "{} {:?}",
        report.summary(10),
        report.violations
    );
    assert!(report.violations[0].area_m2.unwrap() > 1.0e6);
}

#[test]
fn a_child_reaching_outside_its_parent_is_reported() {
    let cells = [
        rect(PARENT, 0., 0., 2., 1.),
        rect(&grid(1), 0., 0., 1., 1.),
        rect(&grid(2), 1., 0., 2.5, 1.),
    ];
    let report = run(&cells);
    assert_eq!(
        kinds(&report),
        [Kind::OutsideParent],
        "{}",
        report.summary(10)
    );
    assert_eq!(report.violations[0].cells, [grid(2), PARENT.to_string()]);
}

#[test]
fn an_invalid_cell_is_reported_and_its_neighbours_do_not_panic() {
    let bow: &[(f64, f64)] = &[(1., 0.), (2., 1.), (2., 0.), (1., 1.), (1., 0.)];
    let cells = [
        rect(PARENT, 0., 0., 2., 1.),
        rect(&grid(1), 0., 0., 1., 1.),
        cell(&grid(2), &[bow]),
    ];
    let report = run(&cells);
    assert!(
        kinds(&report).contains(&Kind::InvalidGeometry),
        "{}",
        report.summary(10)
    );
    let invalid = report
        .violations
        .iter()
        .find(|v| v.kind == Kind::InvalidGeometry)
        .unwrap();
    assert_eq!(invalid.cells, [grid(2)]);
    assert!(invalid.geometry.is_some(), "the crossing point is shown");
}

/// Parent, two cells A and B that overlap in the triangle (1,0) (2,½) (1,1), and an invalid cell X
/// whose ring touches itself at (1,0): a square below the strip, then a clockwise lobe over the
/// triangle. Every directed edge meets its reversed twin; only X's negative winding shows where.
fn overlap_hidden_under_an_inverted_lobe() -> Vec<CoverageCell> {
    let parent: &[(f64, f64)] = &[
        (0., 0.),
        (1., 0.),
        (1., -1.),
        (2., -1.),
        (2., 0.),
        (3., 0.),
        (3., 1.),
        (1., 1.),
        (0., 1.),
        (0., 0.),
    ];
    let a: &[(f64, f64)] = &[(0., 0.), (1., 0.), (2., 0.5), (1., 1.), (0., 1.), (0., 0.)];
    let b: &[(f64, f64)] = &[(1., 0.), (2., 0.), (3., 0.), (3., 1.), (1., 1.), (1., 0.)];
    let x: &[(f64, f64)] = &[
        (1., 0.),
        (1., -1.),
        (2., -1.),
        (2., 0.),
        (1., 0.),
        (1., 1.),
        (2., 0.5),
        (1., 0.),
    ];
    vec![
        cell(PARENT, &[parent]),
        cell(&grid(1), &[a]),
        cell(&grid(2), &[b]),
        cell(&grid(3), &[x]),
    ]
}

#[test]
fn an_overlap_hidden_under_an_invalid_cells_inverted_lobe_is_found() {
    let cells = overlap_hidden_under_an_inverted_lobe();
    let report = run(&cells);
    assert_eq!(
        kinds(&report),
        [Kind::InvalidGeometry, Kind::Overlap],
        "{}",
        report.summary(10)
    );
    assert_eq!(report.violations[0].cells, [grid(3)]);
    let overlap = &report.violations[1];
    assert_eq!(overlap.cells, [grid(1), grid(2)]);
    // Half a square of 0.01°: about 0.5 · 1,113 m · cos(27.7°) · 1,106 m.
    let expected = 0.5 * (U * 111_320.0 * Y.to_radians().cos()) * (U * 110_574.0);
    let area = overlap.area_m2.unwrap();
    assert!((area / expected - 1.0).abs() < 0.01, "{area} vs {expected}");
    // The editor's incremental check finds it too, after touching any of the three.
    for victim in 1..4 {
        let (mut validator, full) = incremental::Validator::new(&cells, &[], Options::default());
        assert_eq!(full.count(Kind::Overlap), 1);
        let local = validator.replace(&cells[victim]).unwrap();
        assert_eq!(local.count(Kind::Overlap), 1, "{}", local.summary(10));
    }
}

#[test]
fn an_overlap_hidden_where_an_invalid_parent_winds_twice_is_found() {
    // The parent's ring crosses itself at (2,2) and winds twice over [2,3]×[1,2]; one child covers
    // the big loop, the other the small square inside it. After T-junctions are split every edge
    // pairs, yet the children overlap.
    let parent: &[(f64, f64)] = &[
        (0., 0.),
        (4., 0.),
        (4., 4.),
        (2., 4.),
        (2., 1.),
        (3., 1.),
        (3., 2.),
        (0., 2.),
        (0., 0.),
    ];
    let big: &[(f64, f64)] = &[
        (0., 0.),
        (4., 0.),
        (4., 4.),
        (2., 4.),
        (2., 2.),
        (0., 2.),
        (0., 0.),
    ];
    let cells = [
        cell(PARENT, &[parent]),
        cell(&grid(1), &[big]),
        rect(&grid(2), 2., 1., 3., 2.),
    ];
    let report = run(&cells);
    assert_eq!(
        kinds(&report),
        [Kind::InvalidGeometry, Kind::Overlap],
        "{}",
        report.summary(10)
    );
    assert_eq!(report.violations[0].cells, [PARENT]);
    assert_eq!(report.violations[1].cells, [grid(1), grid(2)]);
}

#[test]
fn an_invalid_cell_that_encloses_nothing_twice_hides_nothing() {
    // X folds back on itself (a spike into its own interior), so it is invalid, but it winds only
    // 0 or 1: no overlap, no gap, no mismatch — only its own finding.
    let spike: &[(f64, f64)] = &[
        (1., 0.),
        (2., 0.),
        (2., 1.),
        (1.5, 1.),
        (1.5, 0.5),
        (1.5, 1.),
        (1., 1.),
        (1., 0.),
    ];
    let cells = [
        rect(PARENT, 0., 0., 2., 1.),
        rect(&grid(1), 0., 0., 1., 1.),
        cell(&grid(2), &[spike]),
    ];
    let report = run(&cells);
    assert_eq!(
        kinds(&report),
        [Kind::InvalidGeometry],
        "{}",
        report.summary(10)
    );
}

#[test]
fn codes_parents_and_levels_are_checked() {
    let cells = [
        rect(PARENT, 0., 0., 1., 1.),
        rect(&grid(1), 0., 0., 1., 1.),
        rect(&grid(1), 0., 0., 1., 1.),
        rect("5203280040019", 0., 0., 1., 1.),
        CoverageCell {
            parent: Some("520328004099".into()),
            ..rect("520328004099001", 5., 5., 6., 6.)
        },
        CoverageCell {
            level: Some(2),
            ..rect("520328004002", 5., 5., 6., 6.)
        },
        CoverageCell {
            parent: Some(PARENT.into()),
            ..rect("520328004002001", 5., 5., 6., 6.)
        },
    ];
    let report = run(&cells);
    let found = kinds(&report);
    for kind in [Kind::DuplicateCode, Kind::BadCode, Kind::UnknownParent] {
        assert!(
            found.contains(&kind),
            "{kind:?} missing: {}",
            report.summary(20)
        );
    }
    // Declared level 2 on a 12-digit code is fine; a wrong one is not.
    let wrong_level = [CoverageCell {
        level: Some(3),
        ..rect(PARENT, 0., 0., 1., 1.)
    }];
    assert_eq!(kinds(&run(&wrong_level)), [Kind::LevelMismatch]);
}

#[test]
fn a_parent_given_as_context_needs_no_parent_of_its_own() {
    // Found on Swiss municipalities checked against their districts: each district names its
    // canton, which is not in the file; that is context, not a finding.
    let options = Options {
        code_rules: CodeRules::Free,
        ..Options::default()
    };
    let parent = CoverageCell {
        parent: Some("CANTON".into()),
        ..rect("DISTRICT", 0., 0., 2., 1.)
    };
    let children = [
        CoverageCell {
            parent: Some("DISTRICT".into()),
            ..rect("A", 0., 0., 1., 1.)
        },
        CoverageCell {
            parent: Some("DISTRICT".into()),
            ..rect("B", 1., 0., 2., 1.)
        },
    ];
    let report = validate(&children, &[parent], &options);
    assert!(report.valid, "{}", report.summary(20));
    // A cell under test naming a missing parent is still one.
    let orphan = [CoverageCell {
        parent: Some("NOWHERE".into()),
        ..rect("C", 0., 0., 1., 1.)
    }];
    assert_eq!(
        kinds(&validate(&orphan, &[], &options)),
        [Kind::UnknownParent]
    );
}

#[test]
fn multipart_cells_and_households_out_of_band_are_warnings() {
    let a: &[(f64, f64)] = &[(0., 0.), (1., 0.), (1., 1.), (0., 1.), (0., 0.)];
    let mut split = cell(&grid(1), &[a]);
    split
        .polygons
        .push(rect("x", 2., 0., 3., 1.).polygons.remove(0));
    let cells = [
        rect(PARENT, 0., 0., 3., 1.),
        split,
        rect(&grid(2), 1., 0., 2., 1.),
    ];
    let options = Options {
        households: Some([(grid(2), 900)].into_iter().collect()),
        ..Options::default()
    };
    let report = validate(&cells, &[], &options);
    assert!(report.valid, "{}", report.summary(10));
    assert_eq!(kinds(&report), [Kind::Multipart, Kind::SizeBand]);
}

#[test]
fn parents_may_come_from_a_second_list() {
    let parents = [rect(PARENT, 0., 0., 2., 1.)];
    let cells = [
        rect(&grid(1), 0., 0., 1., 1.),
        rect(&grid(2), 1., 0., 1.5, 1.),
    ];
    let report = validate(&cells, &parents, &Options::default());
    assert_eq!(kinds(&report), [Kind::Gap]);
}

#[test]
fn random_exact_coverages_validate_clean() {
    for seed in 0..20 {
        let s = jittered_grid(12, 9, 4, seed);
        let report = validate(&s.cells, &s.parents, &Options::default());
        assert!(
            report.valid && report.violations.is_empty(),
            "seed {seed}: {}",
            report.summary(5)
        );
    }
}

#[test]
fn a_random_nudge_of_one_vertex_is_always_caught() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for case in 0..200 {
        let mut s = jittered_grid(8, 8, 4, case);
        let victim = rng.random_range(0..s.cells.len());
        let vertex = rng.random_range(0..4);
        // From 1 cm to 30 m, in any direction.
        let size = 10f64.powf(rng.random_range(-7.0..-3.5));
        let angle: f64 = rng.random_range(0.0..std::f64::consts::TAU);
        nudge_vertex(
            &mut s.cells[victim],
            vertex,
            Coord {
                x: size * angle.cos(),
                y: size * angle.sin(),
            },
        );
        let report = validate(&s.cells, &s.parents, &Options::default());
        assert!(
            !report.valid,
            "case {case}: nudging {} by {size:e}° went unnoticed",
            s.cells[victim].code
        );
        assert!(
            report
                .errors()
                .any(|v| v.cells.contains(&s.cells[victim].code)),
            "case {case}: {}",
            report.summary(5)
        );
    }
}
