//! The duties of grid workers, judged from their records (DESIGN.md §4): patrol days per week
//! (a day counts when the worker spent long enough inside its own grids), coverage of the grids'
//! buildings by the tracks, a log every working day (the calendar decides), visits per household
//! category at their interval, meetings per level at their cadence. The rules are data
//! (`field_rules`); this module only counts and compares.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};

use super::calendar::{Calendar, china};

/// The duty rules by key (`patrol_days_per_week.grid`, `visit_interval_days.困难家庭`, …).
#[derive(Debug, Clone, Default)]
pub struct Rules {
    values: BTreeMap<String, (f64, String)>,
}

impl Rules {
    pub fn new(rows: impl IntoIterator<Item = (String, f64, String)>) -> Rules {
        Rules {
            values: rows.into_iter().map(|(k, v, d)| (k, (v, d))).collect(),
        }
    }

    /// The value of `key`, or `default` when the deployment has not set it.
    pub fn get(&self, key: &str, default: f64) -> f64 {
        self.values.get(key).map_or(default, |(v, _)| *v)
    }

    /// The rule's wording (what a figure is judged against).
    pub fn describe(&self, key: &str) -> String {
        self.values
            .get(key)
            .map_or_else(|| key.to_string(), |(_, d)| d.clone())
    }

    /// Every rule, by key.
    pub fn all(&self) -> impl Iterator<Item = (&str, f64, &str)> {
        self.values
            .iter()
            .map(|(k, (v, d))| (k.as_str(), *v, d.as_str()))
    }

    /// Household categories with a visit interval, and the interval in days.
    pub fn visit_intervals(&self) -> Vec<(String, f64)> {
        self.values
            .iter()
            .filter_map(|(k, (v, _))| {
                k.strip_prefix("visit_interval_days.")
                    .map(|c| (c.to_string(), *v))
            })
            .collect()
    }
}

/// The local (China) date of an instant.
pub fn local_day(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&china()).date_naive()
}

/// A period of whole days, `from..=to`, judged up to `today` (days after it are not yet due).
#[derive(Debug, Clone, Copy)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub today: NaiveDate,
}

impl Period {
    /// The days already due: `from..=min(to, today)`.
    pub fn due_days(&self) -> impl Iterator<Item = NaiveDate> {
        let last = self.to.min(self.today);
        self.from.iter_days().take_while(move |d| *d <= last)
    }

    pub fn due_len(&self) -> i64 {
        self.due_days().count() as i64
    }

    /// How many times a duty with `interval_days` falls due: once per started interval.
    pub fn occurrences(&self, interval_days: f64) -> i64 {
        if interval_days <= 0.0 {
            return 0;
        }
        (self.due_len() as f64 / interval_days).ceil() as i64
    }

    /// The interval windows of a duty (`interval_days` long, from `from`) begun by the last due
    /// day, each with whether it has run its full length (only then is it owed: a monthly visit
    /// is not missed in the first week of the month).
    fn windows(&self, interval_days: f64) -> Vec<(NaiveDate, NaiveDate, bool)> {
        let step = interval_days.max(1.0).round() as i64;
        let last = self.to.min(self.today);
        let mut out = Vec::new();
        let mut start = self.from;
        while start <= last {
            let end = start + chrono::TimeDelta::days(step - 1);
            out.push((start, end.min(last), end <= last));
            start += chrono::TimeDelta::days(step);
        }
        out
    }

    /// (done, due) of a duty over its windows: a window is done when `held` on one of its days,
    /// and due when it has run its full length or is done already.
    fn count(&self, interval_days: f64, held: impl Fn(NaiveDate, NaiveDate) -> bool) -> (i64, i64) {
        self.windows(interval_days)
            .into_iter()
            .fold((0, 0), |(done, due), (a, b, full)| {
                let ok = held(a, b);
                (done + i64::from(ok), due + i64::from(ok || full))
            })
    }
}

/// One patrol as compliance needs it: its day and, per grid, the time inside and the buildings
/// within reach.
#[derive(Debug, Clone)]
pub struct PatrolFacts {
    pub worker: i64,
    pub day: NaiveDate,
    pub grids: Vec<(String, f64, Vec<i64>)>,
}

/// A household with a duty (its categories) and its visits.
#[derive(Debug, Clone)]
pub struct HouseholdFacts {
    pub cell: String,
    pub categories: Vec<String>,
    pub visits: Vec<NaiveDate>,
}

/// A worker as judged: id, name, own cells with their level.
pub type Worker = (i64, String, Vec<(String, u8)>);

/// Everything the judgement is made from.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// Workers: id, name, own cells (with their level).
    pub workers: Vec<Worker>,
    pub patrols: Vec<PatrolFacts>,
    /// Days each worker wrote a log.
    pub logs: Vec<(i64, NaiveDate)>,
    pub households: Vec<HouseholdFacts>,
    /// Buildings per grid.
    pub buildings: HashMap<String, usize>,
    /// Meetings: cell, day.
    pub meetings: Vec<(String, NaiveDate)>,
}

/// One figure and the rule it is judged against.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Judged {
    pub figure: &'static str,
    pub value: f64,
    pub due: f64,
    pub rule: String,
    pub ok: bool,
}

/// A worker's figures.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct WorkerCompliance {
    pub worker: String,
    pub cells: Vec<String>,
    pub patrol_days: i64,
    pub patrol_days_due: i64,
    pub patrol_hours: f64,
    /// Share (0–1) of the own grids' buildings within reach of a track in the period.
    pub coverage: Option<f64>,
    pub logs_written: i64,
    pub logs_due: i64,
    pub visits_done: i64,
    pub visits_due: i64,
    /// Per category: (done, due).
    pub visits_by_category: BTreeMap<String, (i64, i64)>,
    pub meetings_held: i64,
    pub meetings_due: i64,
    pub ok: bool,
    pub judged: Vec<Judged>,
}

/// A grid's figures (whoever patrolled it).
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct GridCompliance {
    pub code: String,
    pub patrol_days: i64,
    pub coverage: Option<f64>,
    pub visits_done: i64,
    pub visits_due: i64,
}

fn level_key(level: u8) -> &'static str {
    if level >= 3 { "grid" } else { "village" }
}

/// Judges every worker of `facts` over `period` against `rules`, with `calendar` deciding
/// which days need a log.
pub fn judge(
    facts: &Facts,
    rules: &Rules,
    calendar: &Calendar,
    period: Period,
) -> (Vec<WorkerCompliance>, Vec<GridCompliance>) {
    let min_seconds = rules.get("patrol_day_min_minutes", 10.0) * 60.0;
    let working_days: BTreeSet<NaiveDate> = period
        .due_days()
        .filter(|d| calendar.is_workday(*d))
        .collect();
    let intervals = rules.visit_intervals();
    let in_cells = |cells: &[(String, u8)], cell: &str| {
        cells.iter().any(|(c, _)| cell.starts_with(c.as_str()))
    };
    // Visits per household: done windows and due windows, per category.
    let visit_duty = |h: &HouseholdFacts| -> Vec<(String, i64, i64)> {
        intervals
            .iter()
            .filter(|(c, _)| h.categories.contains(c))
            .map(|(c, days)| {
                let (done, due) =
                    period.count(*days, |a, b| h.visits.iter().any(|v| *v >= a && *v <= b));
                (c.clone(), done, due)
            })
            .collect()
    };
    // Indexes, so a county (10,000 grids and workers) is judged in one pass over each list.
    let mut patrols_by_worker: HashMap<i64, Vec<&PatrolFacts>> = HashMap::new();
    type Visit<'a> = (NaiveDate, f64, &'a [i64]);
    let mut patrols_by_cell: HashMap<&str, Vec<Visit>> = HashMap::new();
    for p in &facts.patrols {
        patrols_by_worker.entry(p.worker).or_default().push(p);
        for (cell, seconds, ids) in &p.grids {
            patrols_by_cell.entry(cell.as_str()).or_default().push((
                p.day,
                *seconds,
                ids.as_slice(),
            ));
        }
    }
    let mut households_by_cell: BTreeMap<&str, Vec<&HouseholdFacts>> = BTreeMap::new();
    for h in &facts.households {
        households_by_cell
            .entry(h.cell.as_str())
            .or_default()
            .push(h);
    }
    let buildings: BTreeMap<&str, usize> = facts
        .buildings
        .iter()
        .map(|(k, v)| (k.as_str(), *v))
        .collect();
    let mut logs_by_worker: HashMap<i64, BTreeSet<NaiveDate>> = HashMap::new();
    for (u, d) in &facts.logs {
        logs_by_worker.entry(*u).or_default().insert(*d);
    }
    let mut meetings_by_cell: HashMap<&str, Vec<NaiveDate>> = HashMap::new();
    for (c, d) in &facts.meetings {
        meetings_by_cell.entry(c.as_str()).or_default().push(*d);
    }
    // The keys of a sorted map under a code prefix.
    fn under<'m, V>(
        map: &'m BTreeMap<&str, V>,
        prefix: &'m str,
    ) -> impl Iterator<Item = (&'m &'m str, &'m V)> + 'm {
        map.range(prefix..)
            .take_while(move |(k, _)| k.starts_with(prefix))
    }
    let mut workers = Vec::new();
    for (id, name, cells) in &facts.workers {
        let mut seconds_by_day: BTreeMap<NaiveDate, f64> = BTreeMap::new();
        let mut covered: HashMap<&str, BTreeSet<i64>> = HashMap::new();
        for p in patrols_by_worker.get(id).into_iter().flatten() {
            for (cell, seconds, ids) in &p.grids {
                if in_cells(cells, cell) {
                    *seconds_by_day.entry(p.day).or_default() += seconds;
                    covered.entry(cell.as_str()).or_default().extend(ids);
                }
            }
        }
        let patrol_days = seconds_by_day
            .values()
            .filter(|s| **s >= min_seconds)
            .count() as i64;
        let patrol_hours = seconds_by_day.values().sum::<f64>() / 3600.0;
        let finest = cells.iter().map(|(_, l)| *l).max().unwrap_or(3);
        let rule_key = format!("patrol_days_per_week.{}", level_key(finest));
        let per_week = rules.get(&rule_key, if finest >= 3 { 2.0 } else { 1.0 });
        let patrol_days_due = ((per_week * period.due_len() as f64) / 7.0).ceil() as i64;
        // Coverage over the worker's grids (their own buildings, any of their tracks).
        let (reached, total) = cells
            .iter()
            .flat_map(|(c, _)| under(&buildings, c))
            .fold((0usize, 0usize), |(r, t), (g, n)| {
                (r + covered.get(*g).map_or(0, BTreeSet::len), t + n)
            });
        let coverage = (total > 0).then(|| reached as f64 / total as f64);
        let logs: BTreeSet<NaiveDate> = logs_by_worker
            .get(id)
            .into_iter()
            .flatten()
            .filter(|d| working_days.contains(d))
            .copied()
            .collect();
        // Today's log is owed once today is over (or counted when already written).
        let logs_due = if rules.get("log_every_working_day", 1.0) > 0.0 {
            working_days
                .iter()
                .filter(|d| **d < period.today || logs.contains(d))
                .count() as i64
        } else {
            0
        };
        let mut by_category: BTreeMap<String, (i64, i64)> = BTreeMap::new();
        for h in cells
            .iter()
            .flat_map(|(c, _)| under(&households_by_cell, c))
            .flat_map(|(_, hs)| hs.iter())
        {
            for (c, done, due) in visit_duty(h) {
                let e = by_category.entry(c).or_default();
                e.0 += done;
                e.1 += due;
            }
        }
        let visits_done = by_category.values().map(|v| v.0).sum();
        let visits_due = by_category.values().map(|v| v.1).sum();
        let (mut meetings_held, mut meetings_due) = (0, 0);
        for (cell, level) in cells {
            let interval = rules.get(&format!("meeting_interval_days.{level}"), 0.0);
            if interval <= 0.0 {
                continue;
            }
            let (held, due) = period.count(interval, |a, b| {
                meetings_by_cell
                    .get(cell.as_str())
                    .is_some_and(|days| days.iter().any(|d| *d >= a && *d <= b))
            });
            meetings_held += held;
            meetings_due += due;
        }
        let judged = vec![
            Judged {
                figure: "patrol_days",
                value: patrol_days as f64,
                due: patrol_days_due as f64,
                rule: rules.describe(&rule_key),
                ok: patrol_days >= patrol_days_due,
            },
            Judged {
                figure: "logs",
                value: logs.len() as f64,
                due: logs_due as f64,
                rule: rules.describe("log_every_working_day"),
                ok: logs.len() as i64 >= logs_due,
            },
            Judged {
                figure: "visits",
                value: visits_done as f64,
                due: visits_due as f64,
                rule: intervals
                    .iter()
                    .map(|(c, _)| rules.describe(&format!("visit_interval_days.{c}")))
                    .collect::<Vec<_>>()
                    .join("；"),
                ok: visits_done >= visits_due,
            },
            Judged {
                figure: "meetings",
                value: meetings_held as f64,
                due: meetings_due as f64,
                rule: cells
                    .iter()
                    .map(|(_, l)| rules.describe(&format!("meeting_interval_days.{l}")))
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect::<Vec<_>>()
                    .join("；"),
                ok: meetings_held >= meetings_due,
            },
        ];
        workers.push(WorkerCompliance {
            worker: name.clone(),
            cells: cells.iter().map(|(c, _)| c.clone()).collect(),
            patrol_days,
            patrol_days_due,
            patrol_hours: (patrol_hours * 100.0).round() / 100.0,
            coverage: coverage.map(|c| (c * 1000.0).round() / 1000.0),
            logs_written: logs.len() as i64,
            logs_due,
            visits_done,
            visits_due,
            visits_by_category: by_category,
            meetings_held,
            meetings_due,
            ok: judged.iter().all(|j| j.ok),
            judged,
        });
    }
    // Per grid, whoever patrolled it.
    let mut grids = Vec::new();
    for (code, count) in &buildings {
        let mut days: BTreeMap<NaiveDate, f64> = BTreeMap::new();
        let mut covered: BTreeSet<i64> = BTreeSet::new();
        for (day, seconds, ids) in patrols_by_cell.get(code).into_iter().flatten() {
            *days.entry(*day).or_default() += seconds;
            covered.extend(*ids);
        }
        let (mut done, mut due) = (0, 0);
        for h in households_by_cell.get(code).into_iter().flatten() {
            for (_, d, n) in visit_duty(h) {
                done += d;
                due += n;
            }
        }
        grids.push(GridCompliance {
            code: code.to_string(),
            patrol_days: days.values().filter(|s| **s >= min_seconds).count() as i64,
            coverage: (*count > 0)
                .then(|| ((covered.len() as f64 / *count as f64) * 1000.0).round() / 1000.0),
            visits_done: done,
            visits_due: due,
        });
    }
    grids.sort_by(|a, b| a.code.cmp(&b.code));
    (workers, grids)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn rules() -> Rules {
        Rules::new(
            [
                ("patrol_days_per_week.grid", 2.0),
                ("patrol_day_min_minutes", 10.0),
                ("visit_interval_days.困难家庭", 30.0),
                ("log_every_working_day", 1.0),
                ("meeting_interval_days.3", 7.0),
            ]
            .map(|(k, v)| (k.to_string(), v, k.to_string())),
        )
    }

    /// 国庆 2026: 1–7 October are holidays, Saturday 10 October a make-up working day.
    fn calendar() -> Calendar {
        Calendar::from_documents(
            &crate::config::calendar_documents(std::path::Path::new(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/data/holidays"
            )))
            .unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn a_fixed_week_is_judged_as_counted_by_hand() {
        // Monday 21 – Sunday 27 September 2026, judged on the Sunday: 4 working days (Friday the
        // 25th is 中秋节).
        let period = Period {
            from: d("2026-09-21"),
            to: d("2026-09-27"),
            today: d("2026-09-27"),
        };
        let grid = "520328004016001".to_string();
        let facts = Facts {
            workers: vec![(1, "甲".into(), vec![(grid.clone(), 3)])],
            patrols: vec![
                // Monday: 20 min inside, reaching buildings 1 and 2.
                PatrolFacts {
                    worker: 1,
                    day: d("2026-09-21"),
                    grids: vec![(grid.clone(), 1200.0, vec![1, 2])],
                },
                // Wednesday: only 5 min inside — not a patrol day — reaching building 3.
                PatrolFacts {
                    worker: 1,
                    day: d("2026-09-23"),
                    grids: vec![(grid.clone(), 300.0, vec![3])],
                },
                // Another grid's time does not count.
                PatrolFacts {
                    worker: 1,
                    day: d("2026-09-24"),
                    grids: vec![("520328004016002".into(), 3600.0, vec![9])],
                },
            ],
            logs: vec![
                (1, d("2026-09-21")),
                (1, d("2026-09-22")),
                (1, d("2026-09-26")),
            ],
            households: vec![
                HouseholdFacts {
                    cell: grid.clone(),
                    categories: vec!["困难家庭".into()],
                    visits: vec![d("2026-09-22")],
                },
                HouseholdFacts {
                    cell: grid.clone(),
                    categories: vec!["困难家庭".into(), "常住".into()],
                    visits: vec![],
                },
                HouseholdFacts {
                    cell: grid.clone(),
                    categories: vec!["常住".into()],
                    visits: vec![],
                },
            ],
            buildings: [(grid.clone(), 10)].into(),
            meetings: vec![(grid.clone(), d("2026-09-25"))],
        };
        let (workers, grids) = judge(&facts, &rules(), &calendar(), period);
        let w = &workers[0];
        assert_eq!((w.patrol_days, w.patrol_days_due), (1, 2));
        assert!((w.patrol_hours - 0.42).abs() < 0.01, "{}", w.patrol_hours);
        assert_eq!(w.coverage, Some(0.3));
        // The Saturday log is not a working day's; Monday and Tuesday are.
        assert_eq!((w.logs_written, w.logs_due), (2, 4));
        // A monthly visit is not owed within its first week: only the visit made counts.
        assert_eq!((w.visits_done, w.visits_due), (1, 1));
        assert_eq!((w.meetings_held, w.meetings_due), (1, 1));
        assert!(!w.ok);
        assert_eq!(
            w.judged
                .iter()
                .filter(|j| !j.ok)
                .map(|j| j.figure)
                .collect::<Vec<_>>(),
            ["patrol_days", "logs"]
        );
        assert_eq!(grids[0].patrol_days, 1);
    }

    #[test]
    fn holidays_need_no_log_and_a_make_up_saturday_does() {
        // 1–10 October 2026: the holiday week then Thursday 8, Friday 9 and Saturday 10 (调休).
        let period = Period {
            from: d("2026-10-01"),
            to: d("2026-10-10"),
            today: d("2026-10-31"),
        };
        let facts = Facts {
            workers: vec![(1, "乙".into(), vec![("520328004016001".into(), 3)])],
            logs: vec![(1, d("2026-10-03")), (1, d("2026-10-10"))],
            ..Facts::default()
        };
        let (workers, _) = judge(&facts, &rules(), &calendar(), period);
        assert_eq!(workers[0].logs_due, 3);
        assert_eq!(
            workers[0].logs_written, 1,
            "the 3rd is a holiday, the 10th a working day"
        );
    }

    #[test]
    fn todays_log_is_owed_only_once_today_is_over() {
        // Wednesday 2 December 2026, judged that morning: Monday and Tuesday are owed.
        let period = Period {
            from: d("2026-11-30"),
            to: d("2026-12-02"),
            today: d("2026-12-02"),
        };
        let worker = |logs: Vec<(i64, NaiveDate)>| Facts {
            workers: vec![(1, "丁".into(), vec![("520328004016001".into(), 3)])],
            logs,
            ..Facts::default()
        };
        let (w, _) = judge(
            &worker(vec![(1, d("2026-11-30")), (1, d("2026-12-01"))]),
            &rules(),
            &calendar(),
            period,
        );
        assert_eq!((w[0].logs_written, w[0].logs_due), (2, 2));
        let (w, _) = judge(
            &worker(vec![(1, d("2026-12-02"))]),
            &rules(),
            &calendar(),
            period,
        );
        assert_eq!((w[0].logs_written, w[0].logs_due), (1, 3));
    }

    #[test]
    fn a_monthly_visit_is_owed_once_its_month_has_run() {
        let period = Period {
            from: d("2026-11-01"),
            to: d("2026-11-30"),
            today: d("2026-12-01"),
        };
        let grid = "520328004016001".to_string();
        let facts = Facts {
            workers: vec![(1, "丙".into(), vec![(grid.clone(), 3)])],
            households: vec![
                HouseholdFacts {
                    cell: grid.clone(),
                    categories: vec!["困难家庭".into()],
                    visits: vec![],
                },
                HouseholdFacts {
                    cell: grid.clone(),
                    categories: vec!["困难家庭".into()],
                    visits: vec![d("2026-11-15")],
                },
            ],
            ..Facts::default()
        };
        let (workers, _) = judge(&facts, &rules(), &calendar(), period);
        assert_eq!((workers[0].visits_done, workers[0].visits_due), (1, 2));
        assert_eq!(workers[0].visits_by_category["困难家庭"], (1, 2));
    }
}
