//! The seven KPIs of incident handling (003: 响应率, 承办量, 办结率/结案率, 按期结案率, 满意率,
//! 超期数, 平均处置时长), per grid / village / township (by code prefix) and per department (its
//! parts, the department's code as the unit).
//!
//! Definitions (one place, so the wall, the CSV export and the tests agree):
//! - an incident counts in a period when it was reported in `[from, to)`, and voided ones never;
//! - 应结案数 (due): those closed, or whose deadline has passed by the end of the period (or now);
//! - 结案数: due and closed (结案 or 评价); 按期结案数: closed no later than the deadline;
//! - 超期数: due but not closed on time (still open past the deadline, or closed late);
//! - 平均处置时长: mean hours from report to 结案 over the closed ones;
//! - 满意率: (满意 + 基本满意) / rated;
//! - 响应率 = 按时响应数 / 应响应数: of those with a response clock, the ones responded to (受理;
//!   a department's 报到) or past the response deadline; on time when responded by it;
//! - 承办量: the ones taken on (受理; a department's 报到).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// One incident as the KPIs need it.
#[derive(Debug, Clone)]
pub struct KpiIncident {
    pub cell: Option<String>,
    pub created_at: DateTime<Utc>,
    pub voided: bool,
    pub finished: bool,
    pub deadline_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub rating: Option<String>,
    /// The response deadline (none for incidents recorded before the response clock existed).
    pub response_due: Option<DateTime<Utc>>,
    /// When it was taken on: 受理, or a department's 报到.
    pub responded_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Kpis {
    pub code: String,
    pub reported: u64,
    pub open: u64,
    pub due: u64,
    pub closed: u64,
    pub closed_on_time: u64,
    pub overdue: u64,
    pub rated: u64,
    pub satisfied: u64,
    /// 承办量.
    pub undertaken: u64,
    /// 应响应数 and 按时响应数.
    pub to_respond: u64,
    pub responded_on_time: u64,
    /// 响应率.
    pub response_rate: Option<f64>,
    pub closure_rate: Option<f64>,
    pub on_time_rate: Option<f64>,
    pub satisfaction_rate: Option<f64>,
    pub avg_hours: Option<f64>,
    #[serde(skip)]
    hours_sum: f64,
}

impl Kpis {
    /// The KPIs of a unit with nothing in the period (every rate undefined).
    pub fn empty(code: &str) -> Kpis {
        Kpis {
            code: code.to_string(),
            ..Kpis::default()
        }
    }

    fn add(&mut self, i: &KpiIncident, to: DateTime<Utc>, now: DateTime<Utc>) {
        self.reported += 1;
        if !i.finished {
            self.open += 1;
        }
        let horizon = to.min(now);
        if i.responded_at.is_some() {
            self.undertaken += 1;
        }
        if let Some(due) = i.response_due
            && (i.responded_at.is_some() || due <= horizon)
        {
            self.to_respond += 1;
            if i.responded_at.is_some_and(|r| r <= due) {
                self.responded_on_time += 1;
            }
        }
        let closed = i.closed_at.is_some();
        let due = closed || i.deadline_at.is_some_and(|d| d <= horizon);
        if !due {
            return;
        }
        self.due += 1;
        let on_time = match (i.closed_at, i.deadline_at) {
            (Some(c), Some(d)) => c <= d,
            (Some(_), None) => true,
            _ => false,
        };
        if let Some(c) = i.closed_at {
            self.closed += 1;
            self.hours_sum += (c - i.created_at).num_seconds() as f64 / 3600.0;
        }
        if on_time {
            self.closed_on_time += 1;
        } else {
            self.overdue += 1;
        }
        if let Some(r) = &i.rating {
            self.rated += 1;
            if r == "满意" || r == "基本满意" {
                self.satisfied += 1;
            }
        }
    }

    fn finish(mut self) -> Kpis {
        let ratio = |a: u64, b: u64| (b > 0).then(|| a as f64 / b as f64);
        self.closure_rate = ratio(self.closed, self.due);
        self.on_time_rate = ratio(self.closed_on_time, self.due);
        self.satisfaction_rate = ratio(self.satisfied, self.rated);
        self.response_rate = ratio(self.responded_on_time, self.to_respond);
        self.avg_hours = (self.closed > 0).then(|| self.hours_sum / self.closed as f64);
        self
    }
}

/// KPIs of the incidents reported in `[from, to)`, grouped by the first `prefix` digits of their
/// cell code (15 grid, 12 village, 9 township), plus the total.
pub fn kpis(
    incidents: &[KpiIncident],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    now: DateTime<Utc>,
    prefix: usize,
) -> (Kpis, Vec<Kpis>) {
    let mut total = Kpis {
        code: "total".into(),
        ..Kpis::default()
    };
    let mut groups: BTreeMap<String, Kpis> = BTreeMap::new();
    for i in incidents
        .iter()
        .filter(|i| !i.voided && i.created_at >= from && i.created_at < to)
    {
        total.add(i, to, now);
        let code = i
            .cell
            .as_deref()
            .map(|c| c.get(..prefix).unwrap_or(c).to_string())
            .unwrap_or_else(|| "none".into());
        groups
            .entry(code.clone())
            .or_insert_with(|| Kpis {
                code,
                ..Kpis::default()
            })
            .add(i, to, now);
    }
    (
        total.finish(),
        groups.into_values().map(Kpis::finish).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[allow(clippy::too_many_arguments)]
    fn incident(
        cell: &str,
        created: &str,
        deadline: &str,
        closed: Option<&str>,
        rating: Option<&str>,
        voided: bool,
    ) -> KpiIncident {
        KpiIncident {
            cell: Some(cell.into()),
            created_at: t(created),
            voided,
            finished: voided || closed.is_some(),
            deadline_at: Some(t(deadline)),
            closed_at: closed.map(t),
            rating: rating.map(str::to_string),
            // Responded to an hour after the report, within a day.
            response_due: Some(t(created) + chrono::TimeDelta::days(1)),
            responded_at: (!voided).then(|| t(created) + chrono::TimeDelta::hours(1)),
        }
    }

    /// A fixed set, computed by hand:
    /// village A (520328004001): 1 closed on time 满意, 1 closed late 不满意, 1 open overdue,
    ///   1 open not yet due, 1 voided;
    /// village B (520328004002): 1 closed on time 基本满意 (48 h), 1 reported outside the period.
    #[test]
    fn kpis_match_the_hand_computed_values() {
        let a = "520328004001001";
        let b = "520328004002003";
        let set = vec![
            incident(
                a,
                "2026-11-02T09:00:00Z",
                "2026-11-05T16:00:00Z",
                Some("2026-11-03T09:00:00Z"),
                Some("满意"),
                false,
            ),
            incident(
                a,
                "2026-11-02T09:00:00Z",
                "2026-11-05T16:00:00Z",
                Some("2026-11-07T09:00:00Z"),
                Some("不满意"),
                false,
            ),
            incident(
                a,
                "2026-11-10T09:00:00Z",
                "2026-11-13T16:00:00Z",
                None,
                None,
                false,
            ),
            incident(
                a,
                "2026-11-28T09:00:00Z",
                "2026-12-03T16:00:00Z",
                None,
                None,
                false,
            ),
            incident(
                a,
                "2026-11-11T09:00:00Z",
                "2026-11-14T16:00:00Z",
                None,
                None,
                true,
            ),
            incident(
                b,
                "2026-11-16T09:00:00Z",
                "2026-11-19T16:00:00Z",
                Some("2026-11-18T09:00:00Z"),
                Some("基本满意"),
                false,
            ),
            incident(
                b,
                "2026-10-16T09:00:00Z",
                "2026-10-19T16:00:00Z",
                Some("2026-10-18T09:00:00Z"),
                None,
                false,
            ),
        ];
        let (total, by_village) = kpis(
            &set,
            t("2026-11-01T00:00:00Z"),
            t("2026-12-01T00:00:00Z"),
            t("2026-11-30T12:00:00Z"),
            12,
        );
        assert_eq!((total.reported, total.open, total.due), (5, 2, 4));
        assert_eq!(
            (total.closed, total.closed_on_time, total.overdue),
            (3, 2, 2)
        );
        assert_eq!(total.closure_rate, Some(0.75));
        assert_eq!(total.on_time_rate, Some(0.5));
        assert_eq!(total.satisfaction_rate, Some(2.0 / 3.0));
        // (24 h + 120 h + 48 h) / 3
        assert_eq!(total.avg_hours, Some(64.0));
        assert_eq!(by_village.len(), 2);
        let va = &by_village[0];
        assert_eq!(va.code, "520328004001");
        assert_eq!(
            (va.due, va.closed, va.closed_on_time, va.overdue),
            (3, 2, 1, 2)
        );
        assert_eq!(va.on_time_rate, Some(1.0 / 3.0));
        assert_eq!(va.satisfaction_rate, Some(0.5));
        let vb = &by_village[1];
        assert_eq!((vb.reported, vb.due, vb.closed_on_time), (1, 1, 1));
        assert_eq!(vb.satisfaction_rate, Some(1.0));
        assert_eq!((total.undertaken, total.to_respond), (5, 5));
        assert_eq!(total.response_rate, Some(1.0));
    }

    /// 响应率 by hand: one responded on time, one late, one never and past its deadline, one
    /// never but not yet due, one recorded before the response clock (not counted).
    #[test]
    fn the_response_rate_counts_on_time_responses_of_those_due() {
        let base = incident(
            "520328004001001",
            "2026-11-02T09:00:00Z",
            "2026-11-05T16:00:00Z",
            None,
            None,
            false,
        );
        let with = |due: Option<&str>, responded: Option<&str>| KpiIncident {
            response_due: due.map(t),
            responded_at: responded.map(t),
            ..base.clone()
        };
        let set = vec![
            with(Some("2026-11-03T16:00:00Z"), Some("2026-11-02T10:00:00Z")),
            with(Some("2026-11-03T16:00:00Z"), Some("2026-11-04T10:00:00Z")),
            with(Some("2026-11-03T16:00:00Z"), None),
            with(Some("2026-12-03T16:00:00Z"), None),
            with(None, Some("2026-11-02T10:00:00Z")),
        ];
        let (total, _) = kpis(
            &set,
            t("2026-11-01T00:00:00Z"),
            t("2026-12-01T00:00:00Z"),
            t("2026-11-30T12:00:00Z"),
            12,
        );
        assert_eq!((total.to_respond, total.responded_on_time), (3, 1));
        assert_eq!(total.response_rate, Some(1.0 / 3.0));
        assert_eq!(total.undertaken, 3);
    }
}
