//! Working days on the Chinese calendar: weekends off, national holidays off, make-up working days
//! (调休上班) on, plus local overlays. Deadlines are counted in working days from the day after the
//! report (a report at 23:59 starts the count the next working day, like one at 08:00) and fall at
//! the end (24:00, China time) of the last working day. The clock of an incident runs only on
//! working days; a suspension (挂账) stops it.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Days, FixedOffset, NaiveDate, TimeDelta, TimeZone, Utc, Weekday};
use serde_json::Value;

/// China Standard Time (UTC+8, no daylight saving).
pub fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| FixedOffset::east_opt(0).expect("UTC"))
}

const DAY: i64 = 86_400;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CalendarError {
    #[error("{file}: {message}")]
    Bad { file: String, message: String },
}

/// Which dates are working days.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    /// Exceptions to the weekday rule: `true` = a working day (调休上班), `false` = a day off.
    exceptions: BTreeMap<NaiveDate, bool>,
    /// Names of holidays and make-up days, for display.
    names: BTreeMap<NaiveDate, String>,
}

impl Calendar {
    /// Builds the calendar from documents `{"holidays": {date: name}, "workdays": {date: name}}`
    /// (national years first, local overlays after: later documents win).
    pub fn from_documents(documents: &[(String, Value)]) -> Result<Calendar, CalendarError> {
        let mut calendar = Calendar::default();
        for (file, doc) in documents {
            let bad = |message: String| CalendarError::Bad {
                file: file.clone(),
                message,
            };
            for (key, working) in [("holidays", false), ("workdays", true)] {
                let Some(entries) = doc.get(key) else {
                    continue;
                };
                let entries = entries
                    .as_object()
                    .ok_or_else(|| bad(format!("\"{key}\" must map dates to names")))?;
                for (date, name) in entries {
                    let date = NaiveDate::parse_from_str(date, "%Y-%m-%d")
                        .map_err(|_| bad(format!("{date:?} is not a YYYY-MM-DD date")))?;
                    calendar.exceptions.insert(date, working);
                    calendar
                        .names
                        .insert(date, name.as_str().unwrap_or_default().to_string());
                }
            }
        }
        Ok(calendar)
    }

    /// Is `date` a working day?
    pub fn is_workday(&self, date: NaiveDate) -> bool {
        self.exceptions
            .get(&date)
            .copied()
            .unwrap_or(!matches!(date.weekday(), Weekday::Sat | Weekday::Sun))
    }

    /// The holiday or make-up day's name, if the date is one.
    pub fn name(&self, date: NaiveDate) -> Option<&str> {
        self.names.get(&date).map(String::as_str)
    }

    /// The deadline of `days` working days from `start`: the end of the `days`-th working day
    /// after `start`'s date (China time).
    pub fn deadline(&self, start: DateTime<Utc>, days: u32) -> DateTime<Utc> {
        let mut date = start.with_timezone(&china()).date_naive();
        let mut left = days;
        while left > 0 {
            date = date + Days::new(1);
            if self.is_workday(date) {
                left -= 1;
            }
        }
        end_of(date)
    }

    /// Seconds of `[from, to)` that fall on working days (the clock of a deadline).
    pub fn working_seconds(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
        if to <= from {
            return 0;
        }
        let mut total = 0;
        let mut date = from.with_timezone(&china()).date_naive();
        let last = to.with_timezone(&china()).date_naive();
        while date <= last {
            if self.is_workday(date) {
                let (a, b) = (start_of(date).max(from), end_of(date).min(to));
                if b > a {
                    total += (b - a).num_seconds();
                }
            }
            date = date + Days::new(1);
        }
        total
    }

    /// The instant at which `seconds` of working time have run from `from`.
    pub fn add_working_seconds(&self, from: DateTime<Utc>, seconds: i64) -> DateTime<Utc> {
        let mut left = seconds.max(0);
        let mut at = from;
        // Bounded: at most a few years of calendar days for any budget we use.
        for _ in 0..5000 {
            let date = at.with_timezone(&china()).date_naive();
            let end = end_of(date);
            if self.is_workday(date) {
                let here = (end - at).num_seconds();
                if here >= left {
                    return at + TimeDelta::seconds(left);
                }
                left -= here;
            }
            at = end;
        }
        at
    }

    /// Working days as a duration of the clock (a working day is 24 hours of it).
    pub fn days_to_seconds(days: u32) -> i64 {
        i64::from(days) * DAY
    }
}

fn start_of(date: NaiveDate) -> DateTime<Utc> {
    china()
        .from_local_datetime(&date.and_hms_opt(0, 0, 0).unwrap_or_default())
        .single()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

fn end_of(date: NaiveDate) -> DateTime<Utc> {
    start_of(date + Days::new(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calendar() -> Calendar {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/holidays");
        let docs: Vec<(String, Value)> = ["2024", "2025", "2026"]
            .iter()
            .map(|y| {
                let text = std::fs::read_to_string(dir.join(format!("{y}.json"))).unwrap();
                (y.to_string(), serde_json::from_str(&text).unwrap())
            })
            .collect();
        Calendar::from_documents(&docs).unwrap()
    }

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn holidays_and_make_up_days_come_from_the_notices() {
        let c = calendar();
        assert!(!c.is_workday(date("2026-10-01")));
        assert!(!c.is_workday(date("2026-10-07")));
        assert!(
            c.is_workday(date("2026-10-10")),
            "Saturday 10 Oct 2026 is a make-up day"
        );
        assert!(
            c.is_workday(date("2026-09-20")),
            "Sunday 20 Sep 2026 is a make-up day"
        );
        assert!(
            !c.is_workday(date("2025-10-08")),
            "2025: 国庆 and 中秋 together, 8 days"
        );
        assert!(c.is_workday(date("2025-10-11")));
        assert!(
            c.is_workday(date("2024-02-18")),
            "Sunday after the 2024 Spring Festival"
        );
        assert!(!c.is_workday(date("2026-02-23")));
        assert_eq!(c.name(date("2026-02-15")), Some("春节"));
        assert!(
            !c.is_workday(date("2027-01-02")),
            "outside the data: weekends are off"
        );
        assert!(c.is_workday(date("2027-01-04")));
    }

    #[test]
    fn a_deadline_spanning_national_day_counts_the_make_up_saturday() {
        let c = calendar();
        // Reported Wednesday 30 Sep 2026: 1–7 Oct off; Thu 8, Fri 9, Sat 10 (make-up) count.
        assert_eq!(
            c.deadline(at("2026-09-30T10:00:00+08:00"), 3),
            at("2026-10-11T00:00:00+08:00")
        );
        // Reported Friday 18 Sep 2026: the make-up Sunday 20 Sep counts, Saturday 19 does not.
        assert_eq!(
            c.deadline(at("2026-09-18T09:00:00+08:00"), 1),
            at("2026-09-21T00:00:00+08:00")
        );
        assert_eq!(
            c.deadline(at("2026-09-18T09:00:00+08:00"), 2),
            at("2026-09-22T00:00:00+08:00")
        );
    }

    #[test]
    fn a_report_at_23_59_counts_from_the_next_working_day() {
        let c = calendar();
        let late = c.deadline(at("2026-11-23T23:59:00+08:00"), 3);
        let early = c.deadline(at("2026-11-23T08:00:00+08:00"), 3);
        assert_eq!(late, early);
        assert_eq!(late, at("2026-11-27T00:00:00+08:00"));
        // Just after midnight it is the next day's report.
        assert_eq!(
            c.deadline(at("2026-11-24T00:00:01+08:00"), 3),
            at("2026-11-28T00:00:00+08:00")
        );
        // Over a weekend: Friday 27 Nov + 1 → Monday 30 Nov.
        assert_eq!(
            c.deadline(at("2026-11-27T16:00:00+08:00"), 1),
            at("2026-12-01T00:00:00+08:00")
        );
    }

    #[test]
    fn the_clock_runs_on_working_days_only() {
        let c = calendar();
        // Fri 18:00 → Mon 06:00: 6 h on Friday, nothing on the weekend, 6 h on Monday.
        assert_eq!(
            c.working_seconds(
                at("2026-11-27T18:00:00+08:00"),
                at("2026-11-30T06:00:00+08:00")
            ),
            12 * 3600
        );
        // The whole National Day week and a half of 2026 holds 3 working days (8, 9, 10 Oct).
        assert_eq!(
            c.working_seconds(
                at("2026-10-01T00:00:00+08:00"),
                at("2026-10-11T00:00:00+08:00")
            ),
            3 * DAY
        );
        let start = at("2026-09-30T10:00:00+08:00");
        let budget = c.working_seconds(start, c.deadline(start, 3));
        assert_eq!(c.add_working_seconds(start, budget), c.deadline(start, 3));
        // A later local overlay wins: the county works on 2 Oct 2026.
        let mut docs = vec![(
            "2026".to_string(),
            serde_json::json!({"holidays": {"2026-10-02": "国庆节"}}),
        )];
        docs.push((
            "local".to_string(),
            serde_json::json!({"workdays": {"2026-10-02": "县防汛值守"}}),
        ));
        let local = Calendar::from_documents(&docs).unwrap();
        assert!(local.is_workday(date("2026-10-02")));
        let err = Calendar::from_documents(&[(
            "x".into(),
            serde_json::json!({"holidays": {"2026-13-01": "?"}}),
        )])
        .unwrap_err();
        assert!(err.to_string().contains("2026-13-01"));
    }
}
