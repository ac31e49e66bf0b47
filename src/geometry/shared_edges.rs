//! The simplest proof of an exact coverage: every edge of every child meets exactly one reversed
//! twin, either in a sibling or in the parent's boundary. It needs shared edges to match vertex
//! for vertex, which is exactly the rule (DESIGN.md §1), so it has no tolerance.
//! (The full validator with diagnosis of gaps and overlaps is `coverage`, a later module.)

use std::collections::HashMap;

use geo::orient::{Direction, Orient};
use geo_types::{Coord, MultiPolygon};

type Key = (u64, u64);
/// Who contributed a directed edge, and its end points.
type EdgeUse = (Option<usize>, Coord<f64>, Coord<f64>);

fn key(c: Coord<f64>) -> Key {
    (c.x.to_bits(), c.y.to_bits())
}

/// An edge that did not find exactly one twin: `owner` is the child's index, or `None` for the
/// parent's boundary.
#[derive(Debug, Clone, PartialEq)]
pub struct Unmatched {
    pub owner: Option<usize>,
    pub from: Coord<f64>,
    pub to: Coord<f64>,
}

/// Checks that `children` cover `parent` exactly; returns the edges that break it (empty = exact).
///
/// ```
/// use geo_types::{polygon, MultiPolygon};
/// use gridmap::geometry::shared_edges::unmatched_edges;
/// let west = MultiPolygon(vec![polygon![(x: 0., y: 0.), (x: 1., y: 0.), (x: 1., y: 1.), (x: 0., y: 1.)]]);
/// let east = MultiPolygon(vec![polygon![(x: 1., y: 0.), (x: 2., y: 0.), (x: 2., y: 1.), (x: 1., y: 1.)]]);
/// let parent = MultiPolygon(vec![polygon![(x: 0., y: 0.), (x: 1., y: 0.), (x: 2., y: 0.), (x: 2., y: 1.), (x: 1., y: 1.), (x: 0., y: 1.)]]);
/// assert!(unmatched_edges(&parent, &[west.clone(), east]).is_empty());
/// assert!(!unmatched_edges(&parent, &[west]).is_empty());
/// ```
pub fn unmatched_edges(
    parent: &MultiPolygon<f64>,
    children: &[MultiPolygon<f64>],
) -> Vec<Unmatched> {
    // Directed edge → owners. Children's edges keep their direction; the parent's are reversed,
    // so an edge on the parent's boundary pairs with the child edge running along it.
    let mut edges: HashMap<(Key, Key), Vec<EdgeUse>> = HashMap::new();
    let mut add = |owner: Option<usize>, shape: &MultiPolygon<f64>, reverse: bool| {
        let oriented = shape.orient(Direction::Default);
        for polygon in &oriented.0 {
            for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
                for line in ring.lines().filter(|l| l.start != l.end) {
                    let (a, b) = if reverse {
                        (line.end, line.start)
                    } else {
                        (line.start, line.end)
                    };
                    edges
                        .entry((key(a), key(b)))
                        .or_default()
                        .push((owner, a, b));
                }
            }
        }
    };
    for (i, child) in children.iter().enumerate() {
        add(Some(i), child, false);
    }
    add(None, parent, true);

    let mut problems = Vec::new();
    for ((a, b), owners) in &edges {
        let twins = edges.get(&(*b, *a)).map(Vec::as_slice).unwrap_or_default();
        let paired = owners.len() == 1
            && twins.len() == 1
            && (owners[0].0 != twins[0].0 || owners[0].0.is_none());
        if !paired {
            problems.extend(
                owners
                    .iter()
                    .map(|&(owner, from, to)| Unmatched { owner, from, to }),
            );
        }
    }
    problems.sort_by(|x, y| {
        (x.from.x, x.from.y)
            .partial_cmp(&(y.from.x, y.from.y))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::polygon;

    fn unit(x: f64) -> MultiPolygon<f64> {
        MultiPolygon(vec![
            polygon![(x: x, y: 0.), (x: x + 1., y: 0.), (x: x + 1., y: 1.), (x: x, y: 1.)],
        ])
    }

    fn parent() -> MultiPolygon<f64> {
        MultiPolygon(vec![
            polygon![(x: 0., y: 0.), (x: 1., y: 0.), (x: 2., y: 0.), (x: 2., y: 1.), (x: 1., y: 1.), (x: 0., y: 1.)],
        ])
    }

    #[test]
    fn overlapping_children_are_reported() {
        assert!(!unmatched_edges(&parent(), &[unit(0.), unit(1.), unit(1.)]).is_empty());
    }

    #[test]
    fn a_sliver_between_children_is_reported() {
        let shifted = MultiPolygon(vec![
            polygon![(x: 1.001, y: 0.), (x: 2., y: 0.), (x: 2., y: 1.), (x: 1.001, y: 1.)],
        ]);
        let problems = unmatched_edges(&parent(), &[unit(0.), shifted]);
        assert!(problems.iter().any(|p| p.owner == Some(1)));
    }

    #[test]
    fn a_child_outside_the_parent_is_reported() {
        let problems = unmatched_edges(&parent(), &[unit(0.), unit(1.), unit(2.)]);
        assert!(problems.iter().any(|p| p.owner == Some(2)));
    }
}
