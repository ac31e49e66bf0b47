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
    /// Years whose national schedule is loaded (documents with `"year"`); other years fall back
    /// to weekends only, which is wrong for 元旦 and 春节 — so deadlines there are provisional.
    years: std::collections::BTreeSet<i32>,
    /// Where each document came from, in load order.
    sources: Vec<String>,
}

/// How far ahead the calendar must reach (DESIGN: warn before deadlines silently go wrong).
pub const COVER_AHEAD_DAYS: u64 = 60;

/// Whether the calendar reaches far enough: `ok` when it covers today + `COVER_AHEAD_DAYS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CalendarStatus {
    pub covered_until: Option<NaiveDate>,
    pub ok: bool,
}

/// What a document to import holds, once checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentSummary {
    pub year: Option<i32>,
    pub holidays: usize,
    pub workdays: usize,
}

/// Checks a calendar document before it is loaded: `holidays` and `workdays` map `YYYY-MM-DD`
/// dates to non-empty names; no date is both; with a `year`, every date lies in it; a make-up
/// working day falls on a weekend (a weekday is a working day anyway).
pub fn check_document(file: &str, doc: &Value) -> Result<DocumentSummary, CalendarError> {
    let bad = |message: String| CalendarError::Bad {
        file: file.to_string(),
        message,
    };
    let object = doc
        .as_object()
        .ok_or_else(|| bad("the document must be a JSON object".into()))?;
    if let Some(key) = object
        .keys()
        .find(|k| !["year", "source", "holidays", "workdays", "note"].contains(&k.as_str()))
    {
        return Err(bad(format!(
            "unknown key {key:?}; a calendar has year, source, holidays, workdays"
        )));
    }
    let year = match object.get("year") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_i64()
                .filter(|y| (2000..=2100).contains(y))
                .map(|y| y as i32)
                .ok_or_else(|| bad(format!("year must be a year 2000–2100, got {v}")))?,
        ),
    };
    if object.get("holidays").is_none() && object.get("workdays").is_none() {
        return Err(bad("the document has neither holidays nor workdays".into()));
    }
    let mut seen: BTreeMap<NaiveDate, &str> = BTreeMap::new();
    let mut counts = [0usize; 2];
    for (n, key) in ["holidays", "workdays"].into_iter().enumerate() {
        let Some(entries) = object.get(key) else {
            continue;
        };
        let entries = entries
            .as_object()
            .ok_or_else(|| bad(format!("\"{key}\" must map dates to names")))?;
        for (text, name) in entries {
            let date = NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .filter(|d| d.format("%Y-%m-%d").to_string() == *text)
                .ok_or_else(|| bad(format!("{key}: {text:?} is not a YYYY-MM-DD date")))?;
            let name = name
                .as_str()
                .map(str::trim)
                .filter(|n| !n.is_empty() && !n.contains('\0') && n.chars().count() <= 40)
                .ok_or_else(|| bad(format!("{key}: {text} needs a name (e.g. 春节)")))?;
            if let Some(y) = year.filter(|y| *y != date.year()) {
                return Err(bad(format!("{key}: {text} is not in the year {y}")));
            }
            if let Some(other) = seen.insert(date, key) {
                return Err(bad(format!(
                    "{text} is both in {other} and in {key}: a date is a holiday or a working day"
                )));
            }
            // A national make-up day is a weekend; a local overlay may turn a holiday back.
            if key == "workdays"
                && year.is_some()
                && !matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
            {
                return Err(bad(format!(
                    "workdays: {text} ({name}) is a {:?}, a working day anyway; make-up days fall on weekends",
                    date.weekday()
                )));
            }
            counts[n] += 1;
        }
    }
    Ok(DocumentSummary {
        year,
        holidays: counts[0],
        workdays: counts[1],
    })
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
            if let Some(year) = doc.get("year").and_then(Value::as_i64) {
                calendar.years.insert(year as i32);
            }
            calendar.sources.push(file.clone());
        }
        Ok(calendar)
    }

    /// The last day of the unbroken run of national years loaded (from the earliest on).
    pub fn covered_until(&self) -> Option<NaiveDate> {
        let first = *self.years.iter().next()?;
        let mut last = first;
        while self.years.contains(&(last + 1)) {
            last += 1;
        }
        NaiveDate::from_ymd_opt(last, 12, 31)
    }

    /// Whether the calendar covers `today` + `COVER_AHEAD_DAYS`.
    pub fn status(&self, today: NaiveDate) -> CalendarStatus {
        let covered_until = self.covered_until();
        CalendarStatus {
            covered_until,
            ok: covered_until.is_some_and(|c| today + Days::new(COVER_AHEAD_DAYS) <= c),
        }
    }

    /// A deadline (24:00 China time of its last day) falls beyond the covered years: it was
    /// counted with weekends only there and may move when that year's schedule is loaded.
    pub fn is_provisional(&self, deadline: DateTime<Utc>) -> bool {
        let last_day = (deadline - TimeDelta::seconds(1))
            .with_timezone(&china())
            .date_naive();
        self.covered_until().is_none_or(|c| last_day > c)
    }

    /// The holidays (`false`) and make-up working days (`true`) of `year`, with their names.
    pub fn exceptions_in(&self, year: i32) -> Vec<(NaiveDate, bool, &str)> {
        self.exceptions
            .iter()
            .filter(|(d, _)| d.year() == year)
            .map(|(d, w)| (*d, *w, self.name(*d).unwrap_or_default()))
            .collect()
    }

    /// Whether `year`'s national schedule is loaded.
    pub fn covers_year(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    /// Where the documents came from, in load order.
    pub fn sources(&self) -> &[String] {
        &self.sources
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

/// The shipped calendar (`data/holidays/2024–2026.json`), for the domain's unit tests.
#[cfg(test)]
pub(crate) fn shipped() -> Calendar {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn calendar() -> Calendar {
        shipped()
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
    fn coverage_ends_with_the_last_unbroken_year_and_warns_sixty_days_ahead() {
        let c = calendar();
        assert_eq!(c.covered_until(), Some(date("2026-12-31")));
        assert!(c.status(date("2026-10-31")).ok);
        assert!(
            !c.status(date("2026-11-02")).ok,
            "31 Dec is under 60 days away"
        );
        assert!(!c.is_provisional(at("2026-12-31T00:00:00+08:00")));
        assert!(
            !c.is_provisional(at("2027-01-01T00:00:00+08:00")),
            "24:00 on 31 Dec"
        );
        assert!(c.is_provisional(at("2027-01-05T00:00:00+08:00")));
        assert!(Calendar::default().is_provisional(at("2026-06-01T00:00:00+08:00")));
        let mut docs = vec![(
            "2026".to_string(),
            serde_json::json!({"year": 2026, "holidays": {}}),
        )];
        docs.push((
            "2028".to_string(),
            serde_json::json!({"year": 2028, "holidays": {}}),
        ));
        let gap = Calendar::from_documents(&docs).unwrap();
        assert_eq!(
            gap.covered_until(),
            Some(date("2026-12-31")),
            "2027 is missing"
        );
    }

    #[test]
    fn a_document_to_import_is_checked_date_by_date() {
        let ok = serde_json::json!({"year": 2027, "holidays": {"2027-01-01": "元旦"},
                                    "workdays": {"2027-02-06": "春节"}});
        assert_eq!(
            check_document("2027.json", &ok).unwrap(),
            DocumentSummary {
                year: Some(2027),
                holidays: 1,
                workdays: 1
            }
        );
        let overlay = serde_json::json!({"workdays": {"2026-10-02": "县防汛值守"}});
        assert!(
            check_document("local.json", &overlay).is_ok(),
            "an overlay may work a holiday"
        );
        for year in ["2024", "2025", "2026"] {
            let path = format!("{}/data/holidays/{year}.json", env!("CARGO_MANIFEST_DIR"));
            let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
            check_document(year, &doc).unwrap();
        }
        for (doc, needle) in [
            (
                serde_json::json!({"holidays": {"2027-02-30": "春节"}}),
                "2027-02-30",
            ),
            (
                serde_json::json!({"holidays": {"2027-1-1": "元旦"}}),
                "2027-1-1",
            ),
            (
                serde_json::json!({"holidays": {"2027-01-01": ""}}),
                "needs a name",
            ),
            (
                serde_json::json!({"year": 2027, "holidays": {"2026-10-01": "国庆节"}}),
                "not in the year",
            ),
            (
                serde_json::json!({"holidays": {"2027-02-06": "春节"}, "workdays": {"2027-02-06": "春节"}}),
                "both",
            ),
            (
                serde_json::json!({"year": 2027, "workdays": {"2027-02-08": "春节"}}),
                "weekends",
            ),
            (serde_json::json!({"year": 2027}), "neither"),
            (serde_json::json!({"holiday": {}}), "unknown key"),
            (serde_json::json!([1]), "object"),
        ] {
            let err = check_document("f.json", &doc).unwrap_err().to_string();
            assert!(err.contains(needle), "{err} should mention {needle}");
            assert!(err.starts_with("f.json: "), "{err}");
        }
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
