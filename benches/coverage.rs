//! `cargo bench --bench coverage`: the coverage engine and point location, on one core.
//! Writes the synthetic inputs to `target/bench/` so `bench/compare.sh` can time GEOS and PostGIS
//! on exactly the same files. Prints one line per measurement (best of several runs).

use std::time::Instant;

use geo_types::{Coord, LineString, MultiPolygon, Polygon};
use gridmap::atlas::Atlas;
use gridmap::domain::cell::{Cell, CellKind};
use gridmap::domain::code::CellCode;
use gridmap::geometry::coverage::incremental::Validator;
use gridmap::geometry::coverage::synthetic::{jittered_grid, nudge_vertex};
use gridmap::geometry::coverage::{CodeRules, CoverageCell, Options, cells_from_geojson, validate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::MAX;
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        let out = f();
        best = best.min(start.elapsed().as_secs_f64());
        last = Some(out);
    }
    (best, last.unwrap())
}

/// Best time of `runs` calls on one core and on all cores (rayon pools of 1 and N threads).
fn one_and_all_cores<T: Send>(runs: usize, f: impl Fn() -> T + Sync) -> (f64, f64, T) {
    let pool = |n| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .unwrap()
    };
    let (one, _) = pool(1).install(|| best_of(runs, &f));
    let (all, out) = pool(0).install(|| best_of(runs, &f));
    (one, all, out)
}

fn cores() -> usize {
    rayon::current_num_threads()
}

fn to_geojson(cells: &[CoverageCell]) -> String {
    let features: Vec<String> = cells
        .iter()
        .map(|c| {
            let ring: Vec<String> = c.polygons[0][0].iter().map(|p| format!("[{},{}]", p.x, p.y)).collect();
            let parent = c.parent.as_ref().map(|p| format!("\"{p}\"")).unwrap_or("null".into());
            format!(
                r#"{{"type":"Feature","properties":{{"code":"{}","parent":{parent}}},"geometry":{{"type":"Polygon","coordinates":[[{}]]}}}}"#,
                c.code,
                ring.join(",")
            )
        })
        .collect();
    format!(
        "{{\"type\":\"FeatureCollection\",\"features\":[\n{}\n]}}\n",
        features.join(",\n")
    )
}

/// 50 faults of every kind the brief lists, spread over the coverage.
fn inject_faults(cells: &mut Vec<CoverageCell>, rng: &mut ChaCha8Rng) -> usize {
    let n = cells.len();
    let mut faults = 0;
    for k in 0..50 {
        let victim = rng.random_range(0..n);
        match k % 5 {
            // A vertex nudged 1 m: sliver gap and overlap.
            0 => nudge_vertex(&mut cells[victim], 1, Coord { x: 1e-5, y: 0.0 }),
            // A vertex nudged 20 m: a real overlap.
            1 => nudge_vertex(&mut cells[victim], 2, Coord { x: 2e-4, y: 2e-4 }),
            // A bow tie.
            2 => cells[victim].polygons[0][0].swap(1, 2),
            // A cell removed: a pure gap.
            3 => cells[victim].polygons.clear(),
            // A duplicate code.
            _ => {
                let code = cells[(victim + 1) % n].code.clone();
                cells[victim].code = code;
            }
        }
        faults += 1;
    }
    cells.retain(|c| !c.polygons.is_empty());
    faults
}

fn atlas_of(parents: &[CoverageCell], cells: &[CoverageCell]) -> Atlas {
    let to_cell = |c: &CoverageCell, level: u8| Cell {
        code: CellCode::parse(&c.code).unwrap(),
        parent: c.parent.as_deref().map(|p| CellCode::parse(p).unwrap()),
        level,
        kind: CellKind::default_for_level(level),
        name: c.code.clone(),
        geometry: MultiPolygon(vec![Polygon::new(
            LineString(c.polygons[0][0].clone()),
            vec![],
        )]),
        attributes: Default::default(),
    };
    let mut all: Vec<Cell> = parents.iter().map(|c| to_cell(c, 2)).collect();
    all.extend(cells.iter().map(|c| to_cell(c, 3)));
    Atlas::new(1, all)
}

fn main() {
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    std::fs::create_dir_all(&out).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(2026);

    // 100,000 cells in 1,000 parents.
    let s = jittered_grid(400, 250, 10, 1);
    std::fs::write(
        out.join("synthetic_100k_cells.geojson"),
        to_geojson(&s.cells),
    )
    .unwrap();
    std::fs::write(
        out.join("synthetic_100k_parents.geojson"),
        to_geojson(&s.parents),
    )
    .unwrap();
    let (t, t_all, report) =
        one_and_all_cores(5, || validate(&s.cells, &s.parents, &Options::default()));
    println!(
        "coverage 100k clean: {:.1} ms on one core, {:.1} ms on {} cores, valid={}, violations={}",
        t * 1e3,
        t_all * 1e3,
        cores(),
        report.valid,
        report.violations.len()
    );

    let mut faulted = s.cells.clone();
    let injected = inject_faults(&mut faulted, &mut rng);
    std::fs::write(
        out.join("synthetic_100k_faulted.geojson"),
        to_geojson(&faulted),
    )
    .unwrap();
    let (t, t_all, report) =
        one_and_all_cores(5, || validate(&faulted, &s.parents, &Options::default()));
    println!(
        "coverage 100k with {injected} faults: {:.1} ms on one core, {:.1} ms on {} cores, errors={} (by kind: {})",
        t * 1e3,
        t_all * 1e3,
        cores(),
        report.errors().count(),
        [
            "invalid_geometry",
            "overlap",
            "gap",
            "edge_mismatch",
            "duplicate_code"
        ]
        .iter()
        .map(|k| format!(
            "{k}={}",
            report
                .violations
                .iter()
                .filter(|v| v.kind.as_str() == *k)
                .count()
        ))
        .collect::<Vec<_>>()
        .join(" ")
    );

    // US counties inside states.
    let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/us");
    if let (Ok(counties), Ok(states)) = (
        std::fs::read_to_string(shared.join("us_counties_2017_10m.geojson")),
        std::fs::read_to_string(shared.join("us_states_2017_10m.geojson")),
    ) {
        let counties = cells_from_geojson(&counties, "id").unwrap();
        let states = cells_from_geojson(&states, "id").unwrap();
        let options = Options {
            code_rules: CodeRules::Prefix,
            ..Options::default()
        };
        let (t, t_all, report) = one_and_all_cores(10, || validate(&counties, &states, &options));
        println!(
            "coverage US counties in states: {:.1} ms on one core, {:.1} ms on {} cores, errors={}",
            t * 1e3,
            t_all * 1e3,
            cores(),
            report.errors().count()
        );
    }

    // Re-validation after editing one cell of the 100k coverage.
    let (mut validator, _) = Validator::new(&s.cells, &s.parents, Options::default());
    let edits = 2000;
    let start = Instant::now();
    for k in 0..edits {
        let victim = rng.random_range(0..s.cells.len());
        let mut edited = s.cells[victim].clone();
        if k % 2 == 0 {
            nudge_vertex(&mut edited, 1, Coord { x: 1e-5, y: 0.0 });
        }
        validator.replace(&edited).unwrap();
        validator.replace(&s.cells[victim]).unwrap();
    }
    println!(
        "re-validation after a one-cell edit (100k coverage): {:.1} µs per edit",
        start.elapsed().as_secs_f64() * 1e6 / (2 * edits) as f64
    );

    // Point location: 10,000 grid cells, 1,000,000 random points.
    let small = jittered_grid(100, 100, 10, 2);
    std::fs::write(
        out.join("synthetic_10k_cells.geojson"),
        to_geojson(&small.cells),
    )
    .unwrap();
    let atlas = atlas_of(&small.parents, &small.cells);
    let points: Vec<Coord<f64>> = (0..1_000_000)
        .map(|_| Coord {
            x: 107.0 + rng.random_range(0.0..0.1),
            y: 27.0 + rng.random_range(0.0..0.1),
        })
        .collect();
    let csv: String = points[..100_000]
        .iter()
        .map(|p| format!("{},{}\n", p.x, p.y))
        .collect();
    std::fs::write(out.join("points_100k.csv"), csv).unwrap();
    let (t, found) = best_of(3, || {
        points
            .iter()
            .filter(|p| atlas.locate_index(**p).is_some())
            .count()
    });
    println!(
        "locate 1M points in 10k cells: {:.0} ms, {:.2} M points/s on one core, {} found",
        t * 1e3,
        points.len() as f64 / t / 1e6,
        found
    );
}
