//! The half-year 千分制 assessment: "专职力量按照千分制进行考核，每分为1元". A scheme is data (items,
//! each with a source and its maximum points); items from the records are scored from the
//! measured figures, manual items are what a leader entered (with who and why). Pure: the app
//! layer gathers the figures.
//!
//! Rules (one place, so the page, the export and the tests agree):
//! - a ratio item scores `max × done / due`, with `done` capped at `due`;
//! - nothing due (no working day, no duty household, no incident due, no rating) scores full
//!   points: nobody is docked for what they were never asked to do;
//! - items read from the app's records score 0 for a person with no app account linked, and say so;
//! - a manual item not yet entered scores 0 and says "未评定";
//! - points are rounded to one decimal; the subsidy is `total × yuan_per_point`.

use std::collections::HashMap;

use serde::Serialize;

/// Where an item's points come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Patrol days done / due (the duty rules decide what is due).
    Patrol,
    /// The share of the own grids' buildings within reach of a track.
    Coverage,
    /// Daily logs written / working days.
    Logs,
    /// Visits done / due.
    Visits,
    /// 按期结案率 of the person's grids' incidents.
    OnTime,
    /// 满意率 of the person's grids' incidents.
    Satisfaction,
    /// Entered by a leader.
    Manual,
}

impl Source {
    pub fn parse(s: &str) -> Option<Source> {
        Some(match s {
            "patrol" => Source::Patrol,
            "coverage" => Source::Coverage,
            "logs" => Source::Logs,
            "visits" => Source::Visits,
            "on_time" => Source::OnTime,
            "satisfaction" => Source::Satisfaction,
            "manual" => Source::Manual,
            _ => return None,
        })
    }

    fn reads_app_records(self) -> bool {
        matches!(
            self,
            Source::Patrol | Source::Coverage | Source::Logs | Source::Visits
        )
    }
}

/// One item of a scheme.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Item {
    pub key: String,
    pub name: String,
    pub source: Source,
    pub max_points: f64,
    pub description: String,
}

/// A scheme: its items and what a point is worth.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Scheme {
    pub name: String,
    pub yuan_per_point: f64,
    pub items: Vec<Item>,
}

impl Scheme {
    pub fn total_points(&self) -> f64 {
        self.items.iter().map(|i| i.max_points).sum()
    }

    pub fn item(&self, key: &str) -> Option<&Item> {
        self.items.iter().find(|i| i.key == key)
    }
}

/// A manual entry: points, who gave them, why.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Manual {
    pub points: f64,
    pub by: String,
    pub reason: String,
}

/// The measured figures of one person over the period.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    /// Whether an app account is linked (the field records are that account's).
    pub linked: bool,
    pub patrol: (i64, i64),
    /// Share of buildings covered, `None` when the grids have no buildings.
    pub coverage: Option<f64>,
    pub logs: (i64, i64),
    pub visits: (i64, i64),
    /// 按期结案数, 应结案数 of the person's grids.
    pub on_time: (u64, u64),
    /// Satisfied, rated of the person's grids.
    pub satisfaction: (u64, u64),
    /// Manual entries by item key.
    pub manual: HashMap<String, Manual>,
}

/// One item as scored.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct ItemScore {
    pub key: String,
    pub name: String,
    pub points: f64,
    pub max_points: f64,
    /// How the points were reached, in words (e.g. "巡查 40/52 天").
    pub basis: String,
}

/// A person's score.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Score {
    pub items: Vec<ItemScore>,
    pub total: f64,
    pub max_total: f64,
    pub yuan: f64,
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn ratio_points(max: f64, done: f64, due: f64) -> f64 {
    if due <= 0.0 {
        max
    } else {
        max * (done.min(due).max(0.0) / due)
    }
}

/// Scores `figures` under `scheme`.
pub fn score(scheme: &Scheme, figures: &Figures) -> Score {
    let items: Vec<ItemScore> = scheme
        .items
        .iter()
        .map(|item| {
            let max = item.max_points;
            let (points, basis) = if item.source.reads_app_records() && !figures.linked {
                (0.0, "未关联网格通账号，无巡查、日志与走访记录".to_string())
            } else {
                let ratio =
                    |(done, due): (f64, f64), what: String| (ratio_points(max, done, due), what);
                let count = |(done, due): (i64, i64)| (done as f64, due as f64);
                let tally = |(done, due): (u64, u64)| (done as f64, due as f64);
                match item.source {
                    Source::Patrol => ratio(
                        count(figures.patrol),
                        format!("巡查 {}/{} 天", figures.patrol.0, figures.patrol.1),
                    ),
                    Source::Coverage => match figures.coverage {
                        Some(c) => (
                            max * c.clamp(0.0, 1.0),
                            format!("楼栋覆盖 {:.1}%", c * 100.0),
                        ),
                        None => (max, "网格内无楼栋，计满分".to_string()),
                    },
                    Source::Logs => ratio(
                        count(figures.logs),
                        format!("日志 {}/{} 个工作日", figures.logs.0, figures.logs.1),
                    ),
                    Source::Visits => ratio(
                        count(figures.visits),
                        format!("走访 {}/{} 次", figures.visits.0, figures.visits.1),
                    ),
                    Source::OnTime => ratio(
                        tally(figures.on_time),
                        format!("按期结案 {}/{} 件", figures.on_time.0, figures.on_time.1),
                    ),
                    Source::Satisfaction => ratio(
                        tally(figures.satisfaction),
                        format!(
                            "满意 {}/{} 件",
                            figures.satisfaction.0, figures.satisfaction.1
                        ),
                    ),
                    Source::Manual => match figures.manual.get(&item.key) {
                        Some(m) => (m.points.clamp(0.0, max), format!("{}：{}", m.by, m.reason)),
                        None => (0.0, "未评定".to_string()),
                    },
                }
            };
            ItemScore {
                key: item.key.clone(),
                name: item.name.clone(),
                points: round1(points),
                max_points: max,
                basis,
            }
        })
        .collect();
    let total = round1(items.iter().map(|i| i.points).sum());
    Score {
        max_total: scheme.total_points(),
        yuan: round1(total * scheme.yuan_per_point),
        total,
        items,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default_scheme() -> Scheme {
        let item = |key: &str, source, max| Item {
            key: key.into(),
            name: key.into(),
            source,
            max_points: max,
            description: String::new(),
        };
        Scheme {
            name: "千分制".into(),
            yuan_per_point: 1.0,
            items: vec![
                item("patrol", Source::Patrol, 250.0),
                item("coverage", Source::Coverage, 100.0),
                item("logs", Source::Logs, 150.0),
                item("visits", Source::Visits, 200.0),
                item("on_time", Source::OnTime, 100.0),
                item("satisfaction", Source::Satisfaction, 100.0),
                item("conduct", Source::Manual, 100.0),
            ],
        }
    }

    #[test]
    fn a_half_year_of_figures_scores_as_computed_by_hand() {
        // 40 of 52 patrol days, 62.5 % coverage, 110 of 121 logs, 30 of 36 visits,
        // 9 of 10 closed on time, 7 of 8 satisfied, 85 manual points.
        let figures = Figures {
            linked: true,
            patrol: (40, 52),
            coverage: Some(0.625),
            logs: (110, 121),
            visits: (30, 36),
            on_time: (9, 10),
            satisfaction: (7, 8),
            manual: HashMap::from([(
                "conduct".to_string(),
                Manual {
                    points: 85.0,
                    by: "村网格长".into(),
                    reason: "按时参加例会".into(),
                },
            )]),
        };
        let s = score(&default_scheme(), &figures);
        let points: Vec<f64> = s.items.iter().map(|i| i.points).collect();
        // 250·40/52 = 192.31 → 192.3; 100·0.625 = 62.5; 150·110/121 = 136.36 → 136.4;
        // 200·30/36 = 166.67 → 166.7; 90; 87.5; 85.
        assert_eq!(points, vec![192.3, 62.5, 136.4, 166.7, 90.0, 87.5, 85.0]);
        assert_eq!(s.total, 820.4);
        assert_eq!(s.yuan, 820.4);
        assert_eq!(s.max_total, 1000.0);
    }

    #[test]
    fn nothing_due_scores_full_points_and_done_is_capped_at_due() {
        let figures = Figures {
            linked: true,
            patrol: (60, 52),
            coverage: None,
            logs: (0, 0),
            visits: (0, 0),
            on_time: (0, 0),
            satisfaction: (0, 0),
            manual: HashMap::new(),
        };
        let s = score(&default_scheme(), &figures);
        assert_eq!(s.total, 900.0, "all but the manual item: {:?}", s.items);
        assert_eq!(s.items[6].basis, "未评定");
    }

    #[test]
    fn a_person_without_an_app_account_gets_no_points_from_its_records() {
        let figures = Figures {
            linked: false,
            on_time: (1, 2),
            satisfaction: (1, 1),
            ..Figures::default()
        };
        let s = score(&default_scheme(), &figures);
        assert_eq!(s.total, 150.0);
        assert!(s.items[0].basis.contains("未关联"));
    }

    #[test]
    fn the_subsidy_is_the_points_times_the_yuan_per_point() {
        let mut scheme = default_scheme();
        scheme.yuan_per_point = 1.5;
        let s = score(
            &scheme,
            &Figures {
                linked: true,
                ..Figures::default()
            },
        );
        assert_eq!(s.total, 900.0);
        assert_eq!(s.yuan, 1350.0);
    }
}
