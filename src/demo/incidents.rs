//! A week of synthetic incidents for the demo (labelled 演示), so the command-centre wall and the
//! KPIs show something on `make run`: reports spread over the last seven days, each carried as far
//! along the loop as its age suggests — closed on time or late, rated, suspended, escalated, or
//! still open and overdue. Pure and deterministic for a given `now` and seed.

use chrono::{DateTime, TimeDelta, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::domain::calendar::Calendar;
use crate::domain::sla::{Clock, Rules};

/// A demo incident with its history, ready to insert.
#[derive(Debug, Clone)]
pub struct DemoIncident {
    pub category: String,
    pub description: String,
    pub lon: f64,
    pub lat: f64,
    pub cell: String,
    pub source: &'static str,
    pub severity: i16,
    pub level: &'static str,
    pub created_at: DateTime<Utc>,
    pub budget_seconds: i64,
    pub deadline_at: DateTime<Utc>,
    pub state: &'static str,
    pub closed_at: Option<DateTime<Utc>>,
    pub rating: Option<&'static str>,
    pub supervision: Option<&'static str>,
    /// (action, from, to, at)
    pub events: Vec<(
        &'static str,
        Option<&'static str>,
        &'static str,
        DateTime<Utc>,
    )>,
}

const DESCRIPTIONS: [(&str, &str); 10] = [
    ("0401", "楼道口垃圾堆放，影响通行"),
    ("0201", "小区车棚电动车违规充电"),
    ("0202", "餐馆燃气管道老化"),
    ("0101", "邻里因噪音发生争执"),
    ("0304", "片区停水，居民反映"),
    ("0403", "路边占道经营"),
    ("0205", "学校门口路段缺少减速带"),
    ("0405", "路灯损坏不亮"),
    ("0103", "承包地边界纠纷"),
    ("0305", "独居老人需要上门探访"),
];

const PATH: [&str; 9] = [
    "受理", "派遣", "处置", "反馈", "核查", "结案", "评价", "", "",
];
const STATES: [&str; 8] = [
    "上报", "受理", "派遣", "处置", "反馈", "核查", "结案", "评价",
];

/// `count` incidents at the given places (lon, lat, grid code). `categories` maps a code to its
/// display path and severity.
pub fn generate(
    places: &[(f64, f64, String)],
    categories: &dyn Fn(&str) -> Option<(String, i16)>,
    calendar: &Calendar,
    rules: &Rules,
    now: DateTime<Utc>,
    count: usize,
) -> Vec<DemoIncident> {
    let mut rng = ChaCha8Rng::seed_from_u64(20261124);
    let mut out = Vec::with_capacity(count);
    if places.is_empty() {
        return out;
    }
    for _ in 0..count {
        let (lon, lat, cell) = &places[rng.random_range(0..places.len())];
        let (code, text) = DESCRIPTIONS[rng.random_range(0..DESCRIPTIONS.len())];
        let Some((category, severity)) = categories(code) else {
            continue;
        };
        let age_hours = rng.random_range(0.2..(7.0 * 24.0));
        let created_at = now - TimeDelta::seconds((age_hours * 3600.0) as i64);
        let clock = Clock::new(calendar, created_at, rules.days("处置", "grid", code));
        let deadline_at = clock.status(calendar, created_at).deadline_at;
        // How far along: older incidents went further; a few stall (overdue) on purpose.
        let stall = rng.random_bool(0.15);
        let steps = if stall {
            rng.random_range(1..4)
        } else {
            ((age_hours / 12.0) as usize + rng.random_range(0..2)).min(7)
        };
        let mut events = vec![("上报", None, "上报", created_at)];
        let mut at = created_at;
        let mut closed_at = None;
        let mut rating = None;
        let span = (now - created_at).num_seconds().max(60);
        for (k, action) in PATH.iter().take(steps).enumerate() {
            if action.is_empty() {
                break;
            }
            at += TimeDelta::seconds(span / (steps as i64 + 2));
            let (from, to) = (STATES[k], STATES[k + 1]);
            if *action == "结案" {
                closed_at = Some(at);
            }
            if *action == "评价" {
                rating = Some(["满意", "满意", "基本满意", "不满意"][rng.random_range(0..4)]);
            }
            events.push((*action, Some(from), to, at));
        }
        let state = events.last().map(|e| e.2).unwrap_or("上报");
        let supervision = (!matches!(state, "结案" | "评价") && now > deadline_at).then_some(
            if rng.random_bool(0.5) {
                "yellow"
            } else {
                "red"
            },
        );
        out.push(DemoIncident {
            category,
            description: format!("（演示）{text}"),
            lon: *lon,
            lat: *lat,
            cell: cell.clone(),
            source: ["网格员巡查", "12345 热线", "群众", "视频"][rng.random_range(0..4)],
            severity,
            level: "grid",
            created_at,
            budget_seconds: clock.budget,
            deadline_at,
            state,
            closed_at,
            rating,
            supervision,
            events,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_demo_week_has_every_kind_of_incident() {
        let places = vec![(107.4, 27.7, "520328004001001".to_string())];
        let now = DateTime::parse_from_rfc3339("2026-11-24T10:00:00+08:00")
            .unwrap()
            .with_timezone(&Utc);
        let list = generate(
            &places,
            &|code| Some((format!("类/{code}"), 1)),
            &Calendar::default(),
            &Rules::default(),
            now,
            120,
        );
        assert_eq!(list.len(), 120);
        let states: std::collections::BTreeSet<&str> = list.iter().map(|i| i.state).collect();
        assert!(states.contains("上报") && states.contains("评价") && states.contains("处置"));
        assert!(
            list.iter()
                .any(|i| i.closed_at.is_some_and(|c| c <= i.deadline_at))
        );
        assert!(
            list.iter()
                .any(|i| i.closed_at.is_none() && i.deadline_at < now),
            "some overdue"
        );
        for i in &list {
            assert!(i.created_at < now && i.events.windows(2).all(|w| w[0].3 <= w[1].3));
            assert!(i.events.last().unwrap().3 <= now);
            assert_eq!(i.events.last().unwrap().2, i.state);
        }
    }
}
