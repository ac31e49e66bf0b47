//! 吹哨报到 (003): the township or the command centre dispatches an incident to one or several
//! departments (联动处置, one lead); each must 报到 (report for duty) within its hours, then act
//! and report back; the lead's 办结 hands the incident to the grid worker's 核查. Each part has
//! its own clocks on the working-day calendar. Pure: the rules, not the rows.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::calendar::Calendar;
use super::incident::{Level, STAGE, Situation, State};
use super::sla::{Clock, Rules, YELLOW_AT};

/// At most this many departments on one incident.
pub const MAX_DEPARTMENTS: usize = 8;

/// Where a department's part stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PartState {
    #[serde(rename = "待报到")]
    Dispatched,
    #[serde(rename = "已报到")]
    Reported,
    #[serde(rename = "已办结")]
    Done,
}

impl PartState {
    pub fn as_str(self) -> &'static str {
        match self {
            PartState::Dispatched => "待报到",
            PartState::Reported => "已报到",
            PartState::Done => "已办结",
        }
    }

    pub fn parse(name: &str) -> Option<PartState> {
        [PartState::Dispatched, PartState::Reported, PartState::Done]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

/// A department as dispatch needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Department {
    pub code: String,
    pub level: Level,
    /// The township a township-level department serves.
    pub township: Option<String>,
    pub report_hours: u32,
    pub retired: bool,
}

/// A part already on the incident.
#[derive(Debug, Clone, PartialEq)]
pub struct Existing {
    pub department: String,
    pub lead: bool,
    pub state: PartState,
}

/// Why a dispatch or a part's step is refused (the message names what to do instead).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DispatchError {
    #[error("name between 1 and {MAX_DEPARTMENTS} departments")]
    Count,
    #[error("department {0:?} is named twice")]
    Twice(String),
    #[error("no department {0:?}")]
    Unknown(String),
    #[error("department {0:?} is retired")]
    Retired(String),
    #[error("department {department:?} serves township {serves}, not this incident's")]
    OtherTownship { department: String, serves: String },
    #[error("department {0:?} already has a part in this incident")]
    Already(String),
    #[error("the lead {0:?} must be one of the departments named")]
    LeadNotNamed(String),
    #[error("name a lead: the incident has no lead department yet")]
    NoLead,
    #[error("the incident already has the lead {0:?}")]
    LeadTaken(String),
    #[error("吹哨 is possible in 受理, 派遣 or 处置 and not while 挂账; the incident is {0}")]
    NotOpen(&'static str),
    #[error("this part is {0}; the step needs {1}")]
    PartStep(&'static str, &'static str),
    #[error("the incident is 挂账: its parts wait for the release")]
    Suspended,
    #[error("the lead closes the joint handling once every other part is done; open: {0}")]
    OthersOpen(String),
}

/// The plan of one dispatch: the parts to add, the lead among them (if new), and what happens
/// to the incident.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub parts: Vec<NewPart>,
    pub state: State,
    pub level: Level,
    /// Set when a county department is among them: the township's forwarding is done.
    pub forwarded: bool,
    /// The incident's 处置 clock follows the lead's part when the lead is new.
    pub clock: Option<Clock>,
}

/// One new part with its clocks.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPart {
    pub department: String,
    pub lead: bool,
    pub report_due: DateTime<Utc>,
    pub clock: Clock,
    pub deadline_at: DateTime<Utc>,
}

/// What a dispatch is asked for.
pub struct Request<'a> {
    pub departments: &'a [String],
    pub lead: Option<&'a str>,
    pub now: DateTime<Utc>,
}

/// The incident as a dispatch sees it.
pub struct Target<'a> {
    pub situation: Situation,
    pub cell: Option<&'a str>,
    pub category_code: &'a str,
}

/// Plans a dispatch: every department known, current, serving the incident's township (county
/// departments serve all), not already on it; one lead overall; the incident open and not
/// suspended. Each part's 报到 is due `report_hours` working hours after `now`; its 处置 clock
/// is the rule's days at the department's level.
pub fn plan(
    target: &Target,
    existing: &[Existing],
    request: &Request,
    known: &[Department],
    calendar: &Calendar,
    rules: &Rules,
) -> Result<Plan, DispatchError> {
    let s = target.situation;
    if s.suspended
        || !matches!(
            s.state,
            State::Accepted | State::Dispatched | State::Handling
        )
    {
        return Err(DispatchError::NotOpen(s.state.as_str()));
    }
    if request.departments.is_empty()
        || request.departments.len() + existing.len() > MAX_DEPARTMENTS
    {
        return Err(DispatchError::Count);
    }
    let mut seen: Vec<&str> = Vec::new();
    let mut departments = Vec::new();
    for code in request.departments {
        if seen.contains(&code.as_str()) {
            return Err(DispatchError::Twice(code.clone()));
        }
        seen.push(code);
        let d = known
            .iter()
            .find(|d| &d.code == code)
            .ok_or_else(|| DispatchError::Unknown(code.clone()))?;
        if d.retired {
            return Err(DispatchError::Retired(code.clone()));
        }
        if let Some(serves) = &d.township
            && !target.cell.is_some_and(|c| c.starts_with(serves.as_str()))
        {
            return Err(DispatchError::OtherTownship {
                department: code.clone(),
                serves: serves.clone(),
            });
        }
        if existing.iter().any(|e| &e.department == code) {
            return Err(DispatchError::Already(code.clone()));
        }
        departments.push(d);
    }
    let current_lead = existing.iter().find(|e| e.lead);
    let lead = match (current_lead, request.lead) {
        (Some(l), Some(asked)) if l.department != asked => {
            return Err(DispatchError::LeadTaken(l.department.clone()));
        }
        (Some(_), _) => None,
        (None, Some(asked)) if !seen.contains(&asked) => {
            return Err(DispatchError::LeadNotNamed(asked.to_string()));
        }
        (None, Some(asked)) => Some(asked),
        // One department named alone leads without saying so.
        (None, None) if departments.len() == 1 => Some(departments[0].code.as_str()),
        (None, None) => return Err(DispatchError::NoLead),
    };
    let now = request.now;
    let parts: Vec<NewPart> = departments
        .iter()
        .map(|d| {
            let days = rules.days(STAGE, d.level.as_str(), target.category_code);
            let clock = Clock::new(calendar, now, days);
            NewPart {
                department: d.code.clone(),
                lead: lead == Some(d.code.as_str()),
                report_due: calendar
                    .add_working_seconds(now, i64::from(d.report_hours.max(1)) * 3600),
                deadline_at: clock.status(calendar, now).deadline_at,
                clock,
            }
        })
        .collect();
    let forwarded = departments.iter().any(|d| d.level == Level::County);
    let level = departments
        .iter()
        .map(|d| d.level)
        .max()
        .map_or(s.level, |l| l.max(s.level));
    Ok(Plan {
        clock: parts.iter().find(|p| p.lead).map(|p| p.clock),
        parts,
        state: match s.state {
            State::Accepted => State::Dispatched,
            other => other,
        },
        level,
        forwarded,
    })
}

/// A part's step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// 报到: the department takes the task on.
    Report,
    /// 办结: the department's work is done, with its result.
    Done,
}

/// What a step does to the incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepEffect {
    pub part: PartState,
    /// The incident's new state, if it moves (报到 starts 处置; the lead's 办结 hands it to 反馈,
    /// where the grid worker verifies).
    pub incident: Option<State>,
}

/// Decides a part's step: 报到 from 待报到, 办结 from 已报到; the lead's 办结 only once every other
/// part is done; nothing while the incident is suspended or finished.
pub fn step(
    situation: Situation,
    part: &Existing,
    others: &[Existing],
    step: Step,
) -> Result<StepEffect, DispatchError> {
    if situation.suspended {
        return Err(DispatchError::Suspended);
    }
    if situation.state.is_finished() {
        return Err(DispatchError::NotOpen(situation.state.as_str()));
    }
    match (step, part.state) {
        (Step::Report, PartState::Dispatched) => Ok(StepEffect {
            part: PartState::Reported,
            incident: (situation.state == State::Dispatched).then_some(State::Handling),
        }),
        (Step::Report, s) => Err(DispatchError::PartStep(s.as_str(), "待报到")),
        (Step::Done, PartState::Reported) => {
            if part.lead {
                let open: Vec<&str> = others
                    .iter()
                    .filter(|o| o.state != PartState::Done)
                    .map(|o| o.department.as_str())
                    .collect();
                if !open.is_empty() {
                    return Err(DispatchError::OthersOpen(open.join("、")));
                }
                if situation.state != State::Handling {
                    return Err(DispatchError::NotOpen(situation.state.as_str()));
                }
            }
            Ok(StepEffect {
                part: PartState::Done,
                incident: part.lead.then_some(State::Feedback),
            })
        }
        (Step::Done, s) => Err(DispatchError::PartStep(s.as_str(), "已报到")),
    }
}

/// A part's clocks as the wall and the lists show them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PartStatus {
    /// 报到 is overdue: not reported by its deadline (or reported after it).
    pub report_late: bool,
    /// 处置 is overdue: not done by its deadline (or done after it).
    pub overdue: bool,
    /// normal, yellow (报到 late, or 70 % of the 处置 time used), red (处置 overdue).
    pub warning: &'static str,
}

/// The status of a part at `now`: its 报到 against `report_due`, its 处置 clock (stopped at
/// `done_at`) against its deadline.
pub fn part_status(
    calendar: &Calendar,
    clock: &Clock,
    report_due: DateTime<Utc>,
    reported_at: Option<DateTime<Utc>>,
    done_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> PartStatus {
    let report_late = reported_at.unwrap_or(now) > report_due;
    let status = clock.status(calendar, done_at.unwrap_or(now));
    let warning = if status.overdue {
        "red"
    } else if report_late || (done_at.is_none() && status.used >= YELLOW_AT) {
        "yellow"
    } else {
        "normal"
    };
    PartStatus {
        report_late,
        overdue: status.overdue,
        warning,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn calendar() -> Calendar {
        crate::domain::calendar::shipped()
    }

    fn dept(code: &str, level: Level, township: Option<&str>) -> Department {
        Department {
            code: code.into(),
            level,
            township: township.map(str::to_string),
            report_hours: 2,
            retired: false,
        }
    }

    fn target(state: State) -> Target<'static> {
        Target {
            situation: Situation {
                state,
                suspended: false,
                level: Level::Grid,
            },
            cell: Some("520328004016001"),
            category_code: "0501",
        }
    }

    fn rules() -> Rules {
        Rules::new(vec![
            ("处置".into(), "township".into(), "*".into(), 5),
            ("处置".into(), "county".into(), "*".into(), 5),
        ])
    }

    #[test]
    fn a_dispatch_to_two_departments_names_one_lead_and_gives_each_its_clocks() {
        let known = [
            dept("pcs", Level::Township, Some("520328004")),
            dept("zhzf", Level::Township, Some("520328004")),
            dept("zjj", Level::County, None),
            dept("other", Level::Township, Some("520328005")),
        ];
        let now = t("2026-11-23T10:00:00+08:00");
        let names = ["pcs".to_string(), "zhzf".to_string()];
        let request = Request {
            departments: &names,
            lead: Some("zhzf"),
            now,
        };
        let c = calendar();
        let p = plan(
            &target(State::Accepted),
            &[],
            &request,
            &known,
            &c,
            &rules(),
        )
        .unwrap();
        assert_eq!(p.parts.len(), 2);
        assert_eq!(
            p.parts.iter().filter(|x| x.lead).count(),
            1,
            "exactly one lead"
        );
        assert!(p.parts[1].lead);
        assert_eq!(p.parts[0].report_due, t("2026-11-23T12:00:00+08:00"));
        assert_eq!(p.parts[0].deadline_at, c.deadline(now, 5));
        assert_eq!(
            (p.state, p.level, p.forwarded),
            (State::Dispatched, Level::Township, false)
        );
        assert_eq!(p.clock, Some(p.parts[1].clock));
        // Two named without a lead; a lead not named; a department of another township.
        let no_lead = Request {
            lead: None,
            ..request
        };
        assert_eq!(
            plan(
                &target(State::Accepted),
                &[],
                &no_lead,
                &known,
                &c,
                &rules()
            ),
            Err(DispatchError::NoLead)
        );
        let other = ["other".to_string()];
        let r = Request {
            departments: &other,
            lead: None,
            now,
        };
        assert!(matches!(
            plan(&target(State::Accepted), &[], &r, &known, &c, &rules()),
            Err(DispatchError::OtherTownship { .. })
        ));
        // A county department forwards the incident to the county.
        let county = ["zjj".to_string()];
        let r = Request {
            departments: &county,
            lead: None,
            now,
        };
        let p = plan(&target(State::Handling), &[], &r, &known, &c, &rules()).unwrap();
        assert_eq!(
            (p.level, p.forwarded, p.state),
            (Level::County, true, State::Handling)
        );
        assert_eq!(
            plan(&target(State::Feedback), &[], &r, &known, &c, &rules()),
            Err(DispatchError::NotOpen("反馈"))
        );
        // A department already on it, and a second lead.
        let existing = [Existing {
            department: "zjj".into(),
            lead: true,
            state: PartState::Reported,
        }];
        assert_eq!(
            plan(
                &target(State::Handling),
                &existing,
                &r,
                &known,
                &c,
                &rules()
            ),
            Err(DispatchError::Already("zjj".into()))
        );
        let pcs = ["pcs".to_string()];
        let r = Request {
            departments: &pcs,
            lead: Some("pcs"),
            now,
        };
        assert_eq!(
            plan(
                &target(State::Handling),
                &existing,
                &r,
                &known,
                &c,
                &rules()
            ),
            Err(DispatchError::LeadTaken("zjj".into()))
        );
    }

    #[test]
    fn report_hours_run_on_working_time_across_the_national_day() {
        // Dispatched 30 Sep 2026 at 23:00 with 2 hours: 1–7 October are holidays.
        let known = [dept("pcs", Level::Township, Some("520328004"))];
        let names = ["pcs".to_string()];
        let now = t("2026-09-30T23:00:00+08:00");
        let r = Request {
            departments: &names,
            lead: None,
            now,
        };
        let p = plan(
            &target(State::Accepted),
            &[],
            &r,
            &known,
            &calendar(),
            &rules(),
        )
        .unwrap();
        assert_eq!(p.parts[0].report_due, t("2026-10-08T01:00:00+08:00"));
    }

    #[test]
    fn the_lead_closes_only_after_every_other_part_is_done() {
        let s = Situation {
            state: State::Handling,
            suspended: false,
            level: Level::Township,
        };
        let lead = Existing {
            department: "zhzf".into(),
            lead: true,
            state: PartState::Reported,
        };
        let mut other = Existing {
            department: "pcs".into(),
            lead: false,
            state: PartState::Reported,
        };
        assert_eq!(
            step(s, &lead, std::slice::from_ref(&other), Step::Done),
            Err(DispatchError::OthersOpen("pcs".into()))
        );
        assert_eq!(
            step(s, &other, std::slice::from_ref(&lead), Step::Done),
            Ok(StepEffect {
                part: PartState::Done,
                incident: None
            })
        );
        other.state = PartState::Done;
        assert_eq!(
            step(s, &lead, &[other], Step::Done),
            Ok(StepEffect {
                part: PartState::Done,
                incident: Some(State::Feedback)
            })
        );
        let waiting = Existing {
            state: PartState::Dispatched,
            ..lead.clone()
        };
        let dispatched = Situation {
            state: State::Dispatched,
            ..s
        };
        assert_eq!(
            step(dispatched, &waiting, &[], Step::Report)
                .unwrap()
                .incident,
            Some(State::Handling)
        );
        assert!(step(s, &waiting, &[], Step::Done).is_err(), "报到 first");
        assert!(step(s, &lead, &[], Step::Report).is_err(), "报到 once");
        let held = Situation {
            suspended: true,
            ..s
        };
        assert_eq!(
            step(held, &waiting, &[], Step::Report),
            Err(DispatchError::Suspended)
        );
    }

    #[test]
    fn a_late_report_turns_the_part_yellow_and_stays_counted_late() {
        let c = calendar();
        let start = t("2026-11-23T10:00:00+08:00");
        let clock = Clock::new(&c, start, 5);
        let due = t("2026-11-23T12:00:00+08:00");
        let before = part_status(&c, &clock, due, None, None, t("2026-11-23T11:00:00+08:00"));
        assert_eq!((before.report_late, before.warning), (false, "normal"));
        let after = part_status(&c, &clock, due, None, None, t("2026-11-23T13:00:00+08:00"));
        assert_eq!((after.report_late, after.warning), (true, "yellow"));
        let reported = t("2026-11-23T14:00:00+08:00");
        let later = part_status(
            &c,
            &clock,
            due,
            Some(reported),
            None,
            t("2026-11-24T09:00:00+08:00"),
        );
        assert!(later.report_late, "reported after its deadline stays late");
        let overdue = part_status(
            &c,
            &clock,
            due,
            Some(reported),
            None,
            t("2026-12-03T09:00:00+08:00"),
        );
        assert_eq!((overdue.overdue, overdue.warning), (true, "red"));
    }
}
