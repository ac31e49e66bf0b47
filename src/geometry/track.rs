//! Tracks (a patrol's GPS points): cleaning, length, and which points of interest lie within
//! reach of the line — so "深入责任片区巡查" is measured from geometry (DESIGN.md §4).
//!
//! Distances are computed in a local equirectangular plane around the data (metres east and
//! north of a reference point): over a grid's few kilometres the error is far below GPS noise,
//! and it lets an R-tree of segments answer "within 50 m" in microseconds per building.

use geo_types::Coord;
use rstar::primitives::{GeomWithData, Line as RLine};
use rstar::{AABB, RTree};

/// Mean Earth radius (m) for the local plane and haversine lengths.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// One GPS fix as the phone sent it: longitude, latitude (degrees), time (Unix ms), accuracy (m).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fix {
    pub lon: f64,
    pub lat: f64,
    pub t_ms: i64,
    pub accuracy_m: f64,
}

/// The great-circle distance between two lon/lat points, in metres.
pub fn haversine_m(a: Coord<f64>, b: Coord<f64>) -> f64 {
    let (la, lb) = (a.y.to_radians(), b.y.to_radians());
    let dlat = lb - la;
    let dlon = (b.x - a.x).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + la.cos() * lb.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().asin()
}

/// Why fixes were dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dropped {
    pub inaccurate: u32,
    pub too_fast: u32,
    pub out_of_order: u32,
}

impl Dropped {
    pub fn total(&self) -> u32 {
        self.inaccurate + self.too_fast + self.out_of_order
    }
}

/// Keeps the fixes worth trusting: accuracy no worse than `max_accuracy_m`, time after the last
/// kept fix, and an implied speed from the last kept fix no more than `max_speed_kmh` (a jump
/// is a bad fix, not a car ride). `last` is the patrol's last kept fix from an earlier chunk.
pub fn clean(
    last: Option<Fix>,
    fixes: &[Fix],
    max_accuracy_m: f64,
    max_speed_kmh: f64,
) -> (Vec<Fix>, Dropped) {
    let mut kept: Vec<Fix> = Vec::with_capacity(fixes.len());
    let mut dropped = Dropped::default();
    let mut previous = last;
    for fix in fixes {
        if !(fix.accuracy_m.is_finite() && fix.accuracy_m <= max_accuracy_m) {
            dropped.inaccurate += 1;
            continue;
        }
        if let Some(p) = previous {
            if fix.t_ms <= p.t_ms {
                dropped.out_of_order += 1;
                continue;
            }
            let metres = haversine_m(
                Coord { x: p.lon, y: p.lat },
                Coord {
                    x: fix.lon,
                    y: fix.lat,
                },
            );
            let hours = (fix.t_ms - p.t_ms) as f64 / 3_600_000.0;
            if metres / 1000.0 / hours > max_speed_kmh {
                dropped.too_fast += 1;
                continue;
            }
        }
        kept.push(*fix);
        previous = Some(*fix);
    }
    (kept, dropped)
}

/// The length of a track in metres.
pub fn length_m(track: &[Coord<f64>]) -> f64 {
    track.windows(2).map(|w| haversine_m(w[0], w[1])).sum()
}

/// A local metric plane around `origin`: metres east and north.
#[derive(Debug, Clone, Copy)]
pub struct LocalPlane {
    origin: Coord<f64>,
    kx: f64,
    ky: f64,
}

impl LocalPlane {
    pub fn around(origin: Coord<f64>) -> LocalPlane {
        let ky = EARTH_RADIUS_M * std::f64::consts::PI / 180.0;
        LocalPlane {
            origin,
            kx: ky * origin.y.to_radians().cos(),
            ky,
        }
    }

    pub fn project(&self, c: Coord<f64>) -> [f64; 2] {
        [
            (c.x - self.origin.x) * self.kx,
            (c.y - self.origin.y) * self.ky,
        ]
    }
}

/// How far (m) simplifying a track may move it: coverage is exact to within this.
pub const SIMPLIFY_M: f64 = 0.5;

/// The track as segments in an R-tree, to ask which points lie within a distance of it.
pub struct Reach {
    plane: LocalPlane,
    segments: RTree<GeomWithData<RLine<[f64; 2]>, ()>>,
    single: Option<[f64; 2]>,
}

impl Reach {
    /// The reach of `track` (lon/lat); `None` for an empty track. The track is simplified
    /// (Ramer–Douglas–Peucker) to `SIMPLIFY_M` first: a walk's fixes every metre or so are mostly
    /// collinear, and no point's distance to the line moves by more than that.
    pub fn of(track: &[Coord<f64>]) -> Option<Reach> {
        use geo::Simplify;
        let first = *track.first()?;
        let plane = LocalPlane::around(first);
        let projected = geo_types::LineString::from(
            track
                .iter()
                .map(|c| {
                    let [x, y] = plane.project(*c);
                    Coord { x, y }
                })
                .collect::<Vec<_>>(),
        );
        let points: Vec<[f64; 2]> = if projected.0.len() > 2 {
            projected
                .simplify(SIMPLIFY_M)
                .0
                .iter()
                .map(|c| [c.x, c.y])
                .collect()
        } else {
            projected.0.iter().map(|c| [c.x, c.y]).collect()
        };
        let segments: Vec<_> = points
            .windows(2)
            .filter(|w| w[0] != w[1])
            .map(|w| GeomWithData::new(RLine::new(w[0], w[1]), ()))
            .collect();
        Some(Reach {
            plane,
            single: segments.is_empty().then_some(points[0]),
            segments: RTree::bulk_load(segments),
        })
    }

    /// Whether `point` (lon/lat) lies within `metres` of the track.
    pub fn within(&self, point: Coord<f64>, metres: f64) -> bool {
        let p = self.plane.project(point);
        if let Some(s) = self.single {
            return (p[0] - s[0]).hypot(p[1] - s[1]) <= metres;
        }
        let d2 = metres * metres;
        let envelope = AABB::from_corners(
            [p[0] - metres, p[1] - metres],
            [p[0] + metres, p[1] + metres],
        );
        self.segments
            .locate_in_envelope_intersecting(&envelope)
            .any(|s| rstar::PointDistance::distance_2(s.geom(), &p) <= d2)
    }
}

/// The ids of `points` within `metres` of `track` (a patrol's coverage of a grid's buildings).
pub fn within_reach<I: Copy>(
    track: &[Coord<f64>],
    points: &[(I, Coord<f64>)],
    metres: f64,
) -> Vec<I> {
    let Some(reach) = Reach::of(track) else {
        return Vec::new();
    };
    points
        .iter()
        .filter(|(_, p)| reach.within(*p, metres))
        .map(|(id, _)| *id)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(lon: f64, lat: f64, s: i64, accuracy_m: f64) -> Fix {
        Fix {
            lon,
            lat,
            t_ms: s * 1000,
            accuracy_m,
        }
    }

    #[test]
    fn inaccurate_fixes_and_jumps_faster_than_a_bicycle_are_dropped_and_counted() {
        // ~1.1 m per 1e-5 degree of latitude: 10 s per 11 m is a walk.
        let fixes = [
            fix(107.0, 27.0, 0, 5.0),
            fix(107.0, 27.0001, 10, 5.0),
            fix(107.0, 27.0002, 20, 80.0), // inaccurate
            fix(107.0, 27.0102, 30, 5.0),  // 1.1 km in 10 s
            fix(107.0, 27.0003, 40, 5.0),
            fix(107.0, 27.0004, 35, 5.0), // before the last kept fix
        ];
        let (kept, dropped) = clean(None, &fixes, 50.0, 40.0);
        assert_eq!(kept.len(), 3);
        assert_eq!(
            dropped,
            Dropped {
                inaccurate: 1,
                too_fast: 1,
                out_of_order: 1
            }
        );
        // A later chunk is judged against the last kept fix of the earlier one.
        let (kept2, dropped2) = clean(
            kept.last().copied(),
            &[fix(107.05, 27.0, 50, 5.0)],
            50.0,
            40.0,
        );
        assert!(kept2.is_empty());
        assert_eq!(dropped2.too_fast, 1);
    }

    #[test]
    fn a_point_is_within_reach_when_its_distance_to_a_segment_not_a_vertex_is_small() {
        // A straight east-west track 1 km long; a building 40 m north of its middle is covered
        // (though 500 m from either vertex), one 60 m north is not.
        let track = [Coord { x: 107.0, y: 27.0 }, Coord { x: 107.01, y: 27.0 }];
        let north = |m: f64| Coord {
            x: 107.005,
            y: 27.0 + m / 111_195.0,
        };
        let ids = within_reach(&track, &[(1, north(40.0)), (2, north(60.0))], 50.0);
        assert_eq!(ids, vec![1]);
        let length = length_m(&track);
        assert!((length - 991.0).abs() < 2.0, "{length}");
    }

    #[test]
    fn a_track_of_one_fix_reaches_around_that_fix() {
        let track = [Coord { x: 107.0, y: 27.0 }];
        let near = Coord {
            x: 107.0,
            y: 27.0 + 30.0 / 111_195.0,
        };
        assert_eq!(within_reach(&track, &[(7, near)], 50.0), vec![7]);
    }
}
