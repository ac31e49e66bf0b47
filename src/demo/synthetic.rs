//! Synthetic atlases at real sizes, for benchmarks against peers (issue 19): a jittered lattice
//! of base grids over a lon/lat box, grouped into villages of `village × village` grids and
//! townships of `township × township` villages, with the county (or, for a province, one county
//! per `county × county` townships) above. Deterministic for a seed. Every level is an exact
//! coverage by construction: a parent's ring is walked along its children's own jittered
//! vertices, so shared edges share their vertices exactly.

use geo_types::Coord;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

/// The shape of a synthetic atlas.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spec {
    /// Grids per row and column.
    pub nx: usize,
    pub ny: usize,
    /// A village is `village × village` grids.
    pub village: usize,
    /// A township is `township.0 × township.1` villages (west–east × south–north).
    pub township: (usize, usize),
    /// A county is `county.0 × county.1` townships (`(0, 0)`: one county for everything).
    pub county: (usize, usize),
    /// West, south, east, north (degrees, CGCS2000).
    pub bounds: [f64; 4],
    pub seed: u64,
}

impl Spec {
    /// The 10,000-grid county of the tile comparison: 100 × 100 grids over lon 107.5–107.7,
    /// lat 27.7–27.9, in 400 villages (5 × 5 grids) and 16 townships (5 × 5 villages).
    pub fn county() -> Spec {
        Spec {
            nx: 100,
            ny: 100,
            village: 5,
            township: (5, 5),
            county: (0, 0),
            bounds: [107.5, 27.7, 107.7, 27.9],
            seed: 19,
        }
    }

    /// A province: 200,000 grids (500 × 400) in 2,000 villages (10 × 10 grids), 100 townships
    /// (5 × 4 villages) and 10 counties (5 × 2 townships), over 2.5° × 2°.
    pub fn province() -> Spec {
        Spec {
            nx: 500,
            ny: 400,
            village: 10,
            township: (5, 4),
            county: (5, 2),
            bounds: [106.0, 26.4, 108.5, 28.4],
            seed: 19,
        }
    }
}

/// Why a spec cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SynthError {
    #[error("{0}")]
    Spec(String),
}

/// The atlas as a cells FeatureCollection (`code, name, level, parent` per feature), ready for
/// `gridmap import cells`.
pub fn geojson(spec: &Spec) -> Result<Value, SynthError> {
    let Spec {
        nx,
        ny,
        village,
        township,
        county,
        bounds,
        seed,
    } = *spec;
    let one_county = county.0 == 0 || county.1 == 0;
    if nx == 0 || ny == 0 || village == 0 || township.0 == 0 || township.1 == 0 {
        return Err(SynthError::Spec("every size must be at least 1".into()));
    }
    let (vx, vy) = (nx.div_ceil(village), ny.div_ceil(village));
    let (tx, ty) = (vx.div_ceil(township.0), vy.div_ceil(township.1));
    let (px, py) = if one_county { (tx, ty) } else { county };
    let (cx, cy) = (tx.div_ceil(px), ty.div_ceil(py));
    let townships_per_county = px * py;
    let villages_per_township = township.0 * township.1;
    if villages_per_township > 999
        || village * village > 999
        || townships_per_county > 999
        || cx * cy > 99
    {
        return Err(SynthError::Spec(
            "codes have 3 digits per level (and 2 for counties): make the groups smaller".into(),
        ));
    }
    let [west, south, east, north] = bounds;
    let (sx, sy) = ((east - west) / nx as f64, (north - south) / ny as f64);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut vertex = vec![Coord { x: 0.0, y: 0.0 }; (nx + 1) * (ny + 1)];
    for j in 0..=ny {
        for i in 0..=nx {
            // The outer frame stays straight; inner vertices move up to 30 % of a step.
            let (dx, dy) = if i == 0 || j == 0 || i == nx || j == ny {
                (0.0, 0.0)
            } else {
                (rng.random_range(-0.3..0.3), rng.random_range(-0.3..0.3))
            };
            let x = west + (i as f64 + dx) * sx;
            let y = south + (j as f64 + dy) * sy;
            vertex[j * (nx + 1) + i] = Coord {
                x: (x * 1e7).round() / 1e7,
                y: (y * 1e7).round() / 1e7,
            };
        }
    }
    let at = |i: usize, j: usize| vertex[j * (nx + 1) + i];
    // The ring around lattice cells [i0, i1) × [j0, j1), counter-clockwise, through every
    // vertex on its sides (north is +j).
    let ring = |i0: usize, j0: usize, i1: usize, j1: usize| -> Value {
        let mut r = Vec::with_capacity(2 * (i1 - i0 + j1 - j0) + 1);
        for i in i0..i1 {
            r.push(at(i, j0));
        }
        for j in j0..j1 {
            r.push(at(i1, j));
        }
        for i in (i0 + 1..=i1).rev() {
            r.push(at(i, j1));
        }
        for j in (j0 + 1..=j1).rev() {
            r.push(at(i0, j));
        }
        r.push(at(i0, j0));
        json!({"type": "Polygon", "coordinates": [r.iter().map(|c| [c.x, c.y]).collect::<Vec<_>>()]})
    };
    // Row-major numbering from the north-west, as the demo numbers grids.
    let county_code = |ci: usize, cj: usize| {
        if one_county {
            "520328".to_string()
        } else {
            format!("5203{:02}", (cy - 1 - cj) * cx + ci + 1)
        }
    };
    // (county i, county j, sequence in the county), numbered from the county's north-west.
    let township_of = |ti: usize, tj: usize| -> (usize, usize, usize) {
        let (ci, cj) = (ti / px, tj / py);
        let (li, lj) = (ti % px, tj % py);
        let rows = (ty - cj * py).min(py);
        (ci, cj, (rows - 1 - lj) * px.min(tx - ci * px) + li + 1)
    };
    let township_code = |ti: usize, tj: usize| {
        let (ci, cj, n) = township_of(ti, tj);
        format!("{}{n:03}", county_code(ci, cj))
    };
    let village_code = |vi: usize, vj: usize| {
        let (ti, tj) = (vi / township.0, vj / township.1);
        let (li, lj) = (vi % township.0, vj % township.1);
        let rows = (vy - tj * township.1).min(township.1);
        let cols = (vx - ti * township.0).min(township.0);
        format!(
            "{}{:03}",
            township_code(ti, tj),
            (rows - 1 - lj) * cols + li + 1
        )
    };
    let feature =
        |code: String, level: u8, parent: Option<String>, name: String, geometry: Value| {
            json!({"type": "Feature", "geometry": geometry,
               "properties": {"code": code, "level": level, "parent": parent, "name": name}})
        };
    let mut features = Vec::new();
    for cj in 0..cy {
        for ci in 0..cx {
            let (w, h) = (px * township.0 * village, py * township.1 * village);
            let (i0, j0) = (ci * w, cj * h);
            let (i1, j1) = ((i0 + w).min(nx), (j0 + h).min(ny));
            let code = county_code(ci, cj);
            features.push(feature(
                code.clone(),
                0,
                None,
                format!("合成县{}", &code[4..]),
                ring(i0, j0, i1, j1),
            ));
        }
    }
    for tj in 0..ty {
        for ti in 0..tx {
            let (w, h) = (township.0 * village, township.1 * village);
            let (i0, j0) = (ti * w, tj * h);
            let (i1, j1) = ((i0 + w).min(nx), (j0 + h).min(ny));
            let code = township_code(ti, tj);
            let (ci, cj, _) = township_of(ti, tj);
            features.push(feature(
                code.clone(),
                1,
                Some(county_code(ci, cj)),
                format!("合成镇{}", &code[6..]),
                ring(i0, j0, i1, j1),
            ));
        }
    }
    for vj in 0..vy {
        for vi in 0..vx {
            let (i0, j0) = (vi * village, vj * village);
            let (i1, j1) = ((i0 + village).min(nx), (j0 + village).min(ny));
            let code = village_code(vi, vj);
            features.push(feature(
                code.clone(),
                2,
                Some(township_code(vi / township.0, vj / township.1)),
                format!("合成村{}", &code[6..]),
                ring(i0, j0, i1, j1),
            ));
            for j in j0..j1 {
                for i in i0..i1 {
                    let n = (j1 - 1 - j) * (i1 - i0) + (i - i0) + 1;
                    let grid = format!("{code}{n:03}");
                    features.push(feature(
                        grid.clone(),
                        3,
                        Some(code.clone()),
                        format!("网格{}", &grid[6..]),
                        ring(i, j, i + 1, j + 1),
                    ));
                }
            }
        }
    }
    Ok(json!({"type": "FeatureCollection", "features": features}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_county_has_the_shape_the_tile_comparison_names() {
        let fc = geojson(&Spec::county()).unwrap();
        let features = fc["features"].as_array().unwrap();
        let count = |level: u64| {
            features
                .iter()
                .filter(|f| f["properties"]["level"] == level)
                .count()
        };
        assert_eq!(
            (count(0), count(1), count(2), count(3)),
            (1, 16, 400, 10_000)
        );
        let mut codes: Vec<&str> = features
            .iter()
            .map(|f| f["properties"]["code"].as_str().unwrap())
            .collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), features.len(), "codes are unique");
        for f in features.iter().filter(|f| f["properties"]["level"] == 3) {
            let code = f["properties"]["code"].as_str().unwrap();
            assert_eq!(code.len(), 15);
            assert_eq!(f["properties"]["parent"].as_str().unwrap(), &code[..12]);
        }
    }

    #[test]
    fn a_province_has_counties_above_its_townships() {
        let spec = Spec {
            nx: 60,
            ny: 40,
            village: 5,
            township: (2, 2),
            county: (2, 2),
            ..Spec::province()
        };
        let fc = geojson(&spec).unwrap();
        let features = fc["features"].as_array().unwrap();
        let count = |level: u64| {
            features
                .iter()
                .filter(|f| f["properties"]["level"] == level)
                .count()
        };
        assert_eq!((count(0), count(1), count(2), count(3)), (6, 24, 96, 2400));
        let mut codes: Vec<&str> = features
            .iter()
            .map(|f| f["properties"]["code"].as_str().unwrap())
            .collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), features.len(), "codes are unique");
        for f in features.iter().filter(|f| f["properties"]["level"] != 0) {
            let code = f["properties"]["code"].as_str().unwrap();
            let parent = f["properties"]["parent"].as_str().unwrap();
            assert!(code.starts_with(parent), "{code} under {parent}");
        }
    }
}
