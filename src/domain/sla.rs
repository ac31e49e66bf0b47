//! Deadlines of incidents: the rules table (working days per stage × level × category) and the
//! clock that runs on working days only, stops while suspended, and warns yellow at 70 % of the
//! budget and red at 100 % (overdue).

use chrono::{DateTime, Utc};

use super::calendar::Calendar;

/// Share of the budget at which the warning turns yellow.
pub const YELLOW_AT: f64 = 0.7;

/// Working-day limits; the most specific rule wins (category code, then its parent, then `*`).
#[derive(Debug, Clone, Default)]
pub struct Rules {
    rules: Vec<(String, String, String, u32)>,
}

impl Rules {
    pub fn new(rules: Vec<(String, String, String, u32)>) -> Rules {
        Rules { rules }
    }

    /// Working days for `stage` at `level` for the category `code` (e.g. `0201`); 3 when no
    /// rule matches at all (DESIGN.md's village default).
    pub fn days(&self, stage: &str, level: &str, category: &str) -> u32 {
        let candidates = [category, category.get(..2).unwrap_or(category), "*"];
        for wanted in candidates {
            if let Some((_, _, _, days)) = self
                .rules
                .iter()
                .find(|(s, l, c, _)| s == stage && l == level && c == wanted)
            {
                return *days;
            }
        }
        3
    }
}

/// The clock of one incident.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Clock {
    pub start: DateTime<Utc>,
    /// Working seconds allowed (the days of the rule plus approved delays).
    pub budget: i64,
    /// Working seconds spent suspended in finished suspensions.
    pub suspended: i64,
    /// Start of the current suspension, if any.
    pub suspended_since: Option<DateTime<Utc>>,
}

/// Where the clock stands at `now` (or at `closed_at` for a closed incident).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Status {
    pub deadline_at: DateTime<Utc>,
    pub used: f64,
    pub warning: &'static str,
    pub overdue: bool,
}

impl Clock {
    /// A fresh clock of `days` working days from `start`: to the end of the `days`-th working
    /// day after `start`'s date.
    pub fn new(calendar: &Calendar, start: DateTime<Utc>, days: u32) -> Clock {
        Clock {
            start,
            budget: calendar.working_seconds(start, calendar.deadline(start, days)),
            suspended: 0,
            suspended_since: None,
        }
    }

    /// Working seconds suspended up to `at`.
    pub fn suspended_until(&self, calendar: &Calendar, at: DateTime<Utc>) -> i64 {
        self.suspended
            + self
                .suspended_since
                .map(|s| calendar.working_seconds(s, at))
                .unwrap_or(0)
    }

    pub fn status(&self, calendar: &Calendar, at: DateTime<Utc>) -> Status {
        let suspended = self.suspended_until(calendar, at);
        let used = calendar.working_seconds(self.start, at) - suspended;
        let deadline_at = calendar.add_working_seconds(self.start, self.budget + suspended);
        let share = if self.budget > 0 {
            used as f64 / self.budget as f64
        } else {
            1.0
        };
        let overdue = at > deadline_at;
        Status {
            deadline_at,
            used: share,
            warning: if overdue || share >= 1.0 {
                "red"
            } else if share >= YELLOW_AT {
                "yellow"
            } else {
                "normal"
            },
            overdue,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn calendar() -> Calendar {
        crate::domain::calendar::shipped()
    }

    #[test]
    fn the_most_specific_rule_wins() {
        let rules = Rules::new(vec![
            ("处置".into(), "grid".into(), "*".into(), 3),
            ("处置".into(), "grid".into(), "02".into(), 2),
            ("处置".into(), "grid".into(), "0203".into(), 1),
            ("处置".into(), "township".into(), "*".into(), 5),
        ]);
        assert_eq!(rules.days("处置", "grid", "0101"), 3);
        assert_eq!(rules.days("处置", "grid", "0201"), 2);
        assert_eq!(rules.days("处置", "grid", "0203"), 1);
        assert_eq!(rules.days("处置", "township", "0203"), 5);
        assert_eq!(
            rules.days("处置", "county", "0203"),
            3,
            "no rule: the default"
        );
        let _ = json!(null);
    }

    #[test]
    fn yellow_at_70_percent_red_when_overdue_and_a_suspension_stops_the_clock() {
        let c = calendar();
        // Monday 23 Nov 2026 10:00, 3 working days: due at the end of Thursday 26 Nov.
        let clock = Clock::new(&c, t("2026-11-23T10:00:00+08:00"), 3);
        assert_eq!(
            clock.status(&c, t("2026-11-23T12:00:00+08:00")).warning,
            "normal"
        );
        let s = clock.status(&c, t("2026-11-26T06:00:00+08:00"));
        assert_eq!(s.deadline_at, t("2026-11-27T00:00:00+08:00"));
        assert_eq!(s.warning, "yellow", "{}", s.used);
        let late = clock.status(&c, t("2026-11-27T00:00:01+08:00"));
        assert!(late.overdue);
        assert_eq!(late.warning, "red");
        // Suspended from Tuesday 08:00 to Wednesday 08:00: the deadline moves a day later.
        let suspended = Clock {
            suspended: c.working_seconds(
                t("2026-11-24T08:00:00+08:00"),
                t("2026-11-25T08:00:00+08:00"),
            ),
            ..clock
        };
        let s = suspended.status(&c, t("2026-11-27T00:00:01+08:00"));
        assert_eq!(s.deadline_at, t("2026-11-28T00:00:00+08:00"));
        assert!(!s.overdue);
        // While a suspension runs, the deadline keeps moving with it.
        let running = Clock {
            suspended_since: Some(t("2026-11-25T00:00:00+08:00")),
            ..clock
        };
        assert!(!running.status(&c, t("2026-11-27T12:00:00+08:00")).overdue);
        // A deadline spanning 国庆 with its make-up Saturday.
        let holiday = Clock::new(&c, t("2026-09-30T15:00:00+08:00"), 3);
        assert_eq!(
            holiday
                .status(&c, t("2026-10-05T12:00:00+08:00"))
                .deadline_at,
            t("2026-10-11T00:00:00+08:00")
        );
        assert_eq!(
            holiday.status(&c, t("2026-10-05T12:00:00+08:00")).warning,
            "normal",
            "holidays do not use the budget"
        );
    }
}
