//! The closed loop of an incident (事件闭环): 上报 → 受理 (or 作废) → 派遣 → 处置 → 反馈 → 核查 →
//! 结案 → 评价, with 回退 (a step back), 延期 (approved extra days), 挂账 (the clock stops) and its
//! release, 督办 (supervision: normal / yellow / red) and 吹哨 (escalation grid → village →
//! township → county department). Pure: the rules of which action is legal where.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::calendar::Calendar;
use super::sla::{Clock, Rules};

/// The clock stage deadline rules are looked up under.
pub const STAGE: &str = "处置";
/// The response stage (受理/响应): working days from the report to 受理.
pub const RESPONSE_STAGE: &str = "受理";
/// The forwarding stage (000: "应当在2个工作日内报送县相关职能部门"): working days from the
/// incident reaching the township to its forwarding to the county — a deadline to forward, not
/// to solve.
pub const FORWARD_STAGE: &str = "上报";

/// The stage clocks beside the 处置 clock: when the response and the forwarding are due and
/// when they happened. Empty for incidents recorded before these clocks existed.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Stages {
    pub accepted_at: Option<DateTime<Utc>>,
    pub response_due: Option<DateTime<Utc>>,
    pub forward_due: Option<DateTime<Utc>>,
    pub forwarded_at: Option<DateTime<Utc>>,
}

impl Stages {
    /// The stage clocks of an incident reported at `now` at `level`: its response due after the
    /// rule's days, and at the township its forwarding clock started.
    pub fn at_report(
        calendar: &Calendar,
        rules: &Rules,
        level: Level,
        category: &str,
        now: DateTime<Utc>,
    ) -> Stages {
        let mut stages = Stages {
            response_due: Some(
                calendar.deadline(now, rules.days(RESPONSE_STAGE, level.as_str(), category)),
            ),
            ..Stages::default()
        };
        stages.reach(calendar, rules, level, category, now);
        stages
    }

    /// The incident reaches `level` at `now`: at the township the forwarding clock starts; at
    /// the county the forwarding is done.
    pub fn reach(
        &mut self,
        calendar: &Calendar,
        rules: &Rules,
        level: Level,
        category: &str,
        now: DateTime<Utc>,
    ) {
        match level {
            Level::Township if self.forward_due.is_none() => {
                self.forward_due = Some(calendar.deadline(
                    now,
                    rules.days(FORWARD_STAGE, Level::Township.as_str(), category),
                ));
            }
            Level::County if self.forwarded_at.is_none() => self.forwarded_at = Some(now),
            _ => {}
        }
    }
}

/// One stage clock as shown: due, done, and whether it was (or is now) late.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StageStatus {
    pub due: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
    pub late: bool,
}

/// The status of a stage due at `due` and done at `done` (late when done after it, or still
/// not done past it at `now`); `None` when the stage has no clock.
pub fn stage_status(
    due: Option<DateTime<Utc>>,
    done: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<StageStatus> {
    due.map(|due| StageStatus {
        due,
        done_at: done,
        late: done.unwrap_or(now) > due,
    })
}

/// Where an incident stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum State {
    #[serde(rename = "上报")]
    Reported,
    #[serde(rename = "受理")]
    Accepted,
    #[serde(rename = "派遣")]
    Dispatched,
    #[serde(rename = "处置")]
    Handling,
    #[serde(rename = "反馈")]
    Feedback,
    #[serde(rename = "核查")]
    Verifying,
    #[serde(rename = "结案")]
    Closed,
    #[serde(rename = "评价")]
    Rated,
    #[serde(rename = "作废")]
    Voided,
}

const STATES: [(State, &str); 9] = [
    (State::Reported, "上报"),
    (State::Accepted, "受理"),
    (State::Dispatched, "派遣"),
    (State::Handling, "处置"),
    (State::Feedback, "反馈"),
    (State::Verifying, "核查"),
    (State::Closed, "结案"),
    (State::Rated, "评价"),
    (State::Voided, "作废"),
];

impl State {
    pub fn as_str(self) -> &'static str {
        STATES
            .iter()
            .find(|(s, _)| *s == self)
            .map(|(_, n)| *n)
            .unwrap_or("上报")
    }

    pub fn parse(name: &str) -> Option<State> {
        STATES.iter().find(|(_, n)| *n == name).map(|(s, _)| *s)
    }

    /// Closed, rated or voided: no longer anyone's open work.
    pub fn is_finished(self) -> bool {
        matches!(self, State::Closed | State::Rated | State::Voided)
    }

    /// Every state, in the loop's order.
    pub fn all() -> impl Iterator<Item = State> {
        STATES.iter().map(|(s, _)| *s)
    }

    /// The names of the finished states (for queries that must skip them): derived, never typed.
    pub fn finished_names() -> Vec<&'static str> {
        State::all()
            .filter(|s| s.is_finished())
            .map(State::as_str)
            .collect()
    }

    /// The names of the states still open.
    pub fn open_names() -> Vec<&'static str> {
        State::all()
            .filter(|s| !s.is_finished())
            .map(State::as_str)
            .collect()
    }
}

/// The level that holds an incident; 吹哨 moves it one up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Grid,
    Village,
    Township,
    County,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Grid => "grid",
            Level::Village => "village",
            Level::Township => "township",
            Level::County => "county",
        }
    }

    pub fn parse(name: &str) -> Option<Level> {
        match name {
            "grid" => Some(Level::Grid),
            "village" => Some(Level::Village),
            "township" => Some(Level::Township),
            "county" => Some(Level::County),
            _ => None,
        }
    }

    pub fn up(self) -> Option<Level> {
        match self {
            Level::Grid => Some(Level::Village),
            Level::Village => Some(Level::Township),
            Level::Township => Some(Level::County),
            Level::County => None,
        }
    }
}

/// 督办 levels.
pub const SUPERVISION: [&str; 3] = ["normal", "yellow", "red"];

/// 评价 values; the first two count as satisfied.
pub const RATINGS: [&str; 3] = ["满意", "基本满意", "不满意"];

/// What someone does to an incident.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Accept,
    Void,
    Dispatch,
    Handle,
    Feedback,
    Verify,
    Close,
    Rate(String),
    Back,
    Delay(u32),
    Suspend,
    Resume,
    Supervise(String),
    Escalate,
}

/// Action names as the API takes them.
pub const ACTION_NAMES: [&str; 14] = [
    "受理",
    "作废",
    "派遣",
    "处置",
    "反馈",
    "核查",
    "结案",
    "评价",
    "回退",
    "延期",
    "挂账",
    "解除挂账",
    "督办",
    "吹哨",
];

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Accept => "受理",
            Action::Void => "作废",
            Action::Dispatch => "派遣",
            Action::Handle => "处置",
            Action::Feedback => "反馈",
            Action::Verify => "核查",
            Action::Close => "结案",
            Action::Rate(_) => "评价",
            Action::Back => "回退",
            Action::Delay(_) => "延期",
            Action::Suspend => "挂账",
            Action::Resume => "解除挂账",
            Action::Supervise(_) => "督办",
            Action::Escalate => "吹哨",
        }
    }
}

/// Where an incident is, as far as the rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Situation {
    pub state: State,
    pub suspended: bool,
    pub level: Level,
}

/// What an action does.
#[derive(Debug, Clone, PartialEq)]
pub struct Effect {
    pub state: State,
    pub suspended: bool,
    pub level: Level,
    /// Extra working days granted (延期).
    pub extra_days: u32,
    /// The deadline restarts with the new level's budget (吹哨).
    pub restart_clock: bool,
}

/// The actions legal in `s` (by name), for a 409 that names them.
pub fn allowed(s: Situation) -> Vec<&'static str> {
    ACTION_NAMES
        .iter()
        .copied()
        .filter(|name| {
            let probe = match *name {
                "评价" => Action::Rate("满意".into()),
                "延期" => Action::Delay(1),
                "督办" => Action::Supervise("normal".into()),
                other => parse_simple(other).unwrap_or(Action::Accept),
            };
            apply(s, &probe).is_ok()
        })
        .collect()
}

fn parse_simple(name: &str) -> Option<Action> {
    Some(match name {
        "受理" => Action::Accept,
        "作废" => Action::Void,
        "派遣" => Action::Dispatch,
        "处置" => Action::Handle,
        "反馈" => Action::Feedback,
        "核查" => Action::Verify,
        "结案" => Action::Close,
        "回退" => Action::Back,
        "挂账" => Action::Suspend,
        "解除挂账" => Action::Resume,
        "吹哨" => Action::Escalate,
        _ => return None,
    })
}

/// Parses an action with its parameter (`rating`, `days`, `supervision`).
pub fn parse_action(
    name: &str,
    rating: Option<&str>,
    days: Option<u32>,
    supervision: Option<&str>,
) -> Result<Action, String> {
    match name {
        "评价" => {
            let r = rating.ok_or("评价 needs a rating: 满意, 基本满意 or 不满意")?;
            if !RATINGS.contains(&r) {
                return Err(format!(
                    "rating must be 满意, 基本满意 or 不满意, got {r:?}"
                ));
            }
            Ok(Action::Rate(r.into()))
        }
        "延期" => match days {
            Some(d) if (1..=30).contains(&d) => Ok(Action::Delay(d)),
            _ => Err("延期 needs days: the approved working days, 1–30".into()),
        },
        "督办" => {
            let level = supervision.unwrap_or("normal");
            if !SUPERVISION.contains(&level) {
                return Err(format!(
                    "supervision must be normal, yellow or red, got {level:?}"
                ));
            }
            Ok(Action::Supervise(level.into()))
        }
        other => parse_simple(other).ok_or_else(|| {
            format!(
                "unknown action {other:?}; actions are {}",
                ACTION_NAMES.join("、")
            )
        }),
    }
}

/// An action that is not legal where the incident stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("this action is not allowed in this state")]
pub struct Illegal;

/// Applies `action` in `s`, or refuses it (the caller names the allowed ones).
pub fn apply(s: Situation, action: &Action) -> Result<Effect, Illegal> {
    use State::*;
    let effect = |state: State| Effect {
        state,
        suspended: s.suspended,
        level: s.level,
        extra_days: 0,
        restart_clock: false,
    };
    // While suspended the clock and the work stop: only release, supervision or voiding.
    if s.suspended && !matches!(action, Action::Resume | Action::Supervise(_) | Action::Void) {
        return Err(Illegal);
    }
    match (s.state, action) {
        (Reported, Action::Accept) => Ok(effect(Accepted)),
        (Reported | Accepted, Action::Void) => Ok(effect(Voided)),
        (Accepted, Action::Dispatch) => Ok(effect(Dispatched)),
        (Dispatched, Action::Handle) => Ok(effect(Handling)),
        (Handling, Action::Feedback) => Ok(effect(Feedback)),
        (Feedback, Action::Verify) => Ok(effect(Verifying)),
        (Verifying, Action::Close) => Ok(effect(Closed)),
        (Closed, Action::Rate(_)) => Ok(effect(Rated)),
        (Dispatched, Action::Back) => Ok(effect(Accepted)),
        (Handling, Action::Back) => Ok(effect(Dispatched)),
        (Feedback | Verifying, Action::Back) => Ok(effect(Handling)),
        (Dispatched | Handling, Action::Delay(days)) => Ok(Effect {
            extra_days: *days,
            ..effect(s.state)
        }),
        (Dispatched | Handling, Action::Suspend) if !s.suspended => Ok(Effect {
            suspended: true,
            ..effect(s.state)
        }),
        (_, Action::Resume) if s.suspended => Ok(Effect {
            suspended: false,
            ..effect(s.state)
        }),
        (state, Action::Supervise(_)) if !state.is_finished() => Ok(effect(state)),
        (Accepted | Dispatched | Handling, Action::Escalate) => match s.level.up() {
            // Escalated work is dispatched again at the new level, on a fresh clock.
            Some(level) => Ok(Effect {
                level,
                restart_clock: true,
                ..effect(Dispatched)
            }),
            None => Err(Illegal),
        },
        _ => Err(Illegal),
    }
}

/// An incident as a transition sees it.
#[derive(Debug, Clone)]
pub struct Current {
    pub situation: Situation,
    pub clock: Clock,
    pub supervision: Option<String>,
    pub rating: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
    /// The category's code (e.g. `0201`), for the deadline rule of a fresh clock.
    pub category_code: String,
    pub stages: Stages,
}

/// What an action changes: the new state, level and clock, and the deadline they give.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub state: State,
    pub level: Level,
    pub clock: Clock,
    pub deadline_at: DateTime<Utc>,
    pub supervision: Option<String>,
    pub rating: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
    pub stages: Stages,
}

/// The whole transition of one action at `now`: the loop's rule (`apply`), then the clock —
/// approved delays added, a suspension's working time banked when released, a fresh clock at the
/// new level after 吹哨 — and the deadline on `calendar`.
pub fn transition(
    current: &Current,
    action: &Action,
    calendar: &Calendar,
    rules: &Rules,
    now: DateTime<Utc>,
) -> Result<Change, Illegal> {
    let situation = current.situation;
    let effect = apply(situation, action)?;
    let mut clock = current.clock;
    if effect.extra_days > 0 {
        clock.budget += Calendar::days_to_seconds(effect.extra_days);
    }
    if situation.suspended && !effect.suspended {
        clock.suspended = clock.suspended_until(calendar, now);
        clock.suspended_since = None;
    }
    if !situation.suspended && effect.suspended {
        clock.suspended_since = Some(now);
    }
    if effect.restart_clock {
        let days = rules.days(STAGE, effect.level.as_str(), &current.category_code);
        clock = Clock::new(calendar, now, days);
    }
    let closed_at = match action {
        Action::Close => Some(now),
        _ => current.closed_at,
    };
    let mut stages = current.stages;
    if *action == Action::Accept && stages.accepted_at.is_none() {
        stages.accepted_at = Some(now);
    }
    if effect.level != situation.level {
        stages.reach(calendar, rules, effect.level, &current.category_code, now);
    }
    let status = clock.status(calendar, closed_at.unwrap_or(now));
    Ok(Change {
        state: effect.state,
        level: effect.level,
        clock,
        deadline_at: status.deadline_at,
        supervision: match action {
            Action::Supervise(level) => Some(level.clone()),
            _ => current.supervision.clone(),
        },
        rating: match action {
            Action::Rate(r) => Some(r.clone()),
            _ => current.rating.clone(),
        },
        closed_at,
        stages,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(state: State) -> Situation {
        Situation {
            state,
            suspended: false,
            level: Level::Grid,
        }
    }

    #[test]
    fn the_finished_states_are_derived_from_the_enum() {
        assert_eq!(State::finished_names(), ["结案", "评价", "作废"]);
        assert_eq!(State::open_names().len() + State::finished_names().len(), 9);
    }

    #[test]
    fn a_transition_adds_delays_banks_suspensions_and_restarts_the_clock_on_escalation() {
        let calendar = Calendar::default();
        let rules = Rules::new(vec![("处置".into(), "village".into(), "*".into(), 5)]);
        let start: DateTime<Utc> = "2026-11-02T02:00:00Z".parse().unwrap(); // a Monday, 10:00 CST
        let current = Current {
            situation: Situation {
                state: State::Dispatched,
                suspended: false,
                level: Level::Grid,
            },
            clock: Clock::new(&calendar, start, 3),
            supervision: None,
            rating: None,
            closed_at: None,
            category_code: "0101".into(),
            stages: Stages::default(),
        };
        let delayed = transition(&current, &Action::Delay(2), &calendar, &rules, start).unwrap();
        assert_eq!(delayed.clock.budget - current.clock.budget, 2 * 86_400);
        assert!(delayed.deadline_at > current.clock.status(&calendar, start).deadline_at);
        let later = start + chrono::TimeDelta::days(1);
        let escalated = transition(&current, &Action::Escalate, &calendar, &rules, later).unwrap();
        assert_eq!(
            (escalated.state, escalated.level),
            (State::Dispatched, Level::Village)
        );
        assert_eq!(escalated.clock.start, later);
        assert_eq!(escalated.deadline_at, calendar.deadline(later, 5));
        let suspended = transition(&current, &Action::Suspend, &calendar, &rules, start).unwrap();
        assert_eq!(suspended.clock.suspended_since, Some(start));
        let held = Current {
            situation: Situation {
                suspended: true,
                ..current.situation
            },
            clock: suspended.clock,
            ..current.clone()
        };
        let released = transition(&held, &Action::Resume, &calendar, &rules, later).unwrap();
        assert_eq!(released.clock.suspended, 86_400);
        assert_eq!(released.clock.suspended_since, None);
        assert!(transition(&current, &Action::Close, &calendar, &rules, start).is_err());
    }

    #[test]
    fn the_response_and_forwarding_deadlines_skip_the_national_day() {
        let calendar = crate::domain::calendar::shipped();
        let rules = Rules::new(vec![
            ("受理".into(), "township".into(), "*".into(), 1),
            ("上报".into(), "township".into(), "*".into(), 2),
            ("处置".into(), "county".into(), "*".into(), 5),
        ]);
        let t = |s: &str| -> DateTime<Utc> { s.parse().unwrap() };
        // Reported at a township on Wednesday 30 September 2026, 15:00 CST: 1–7 October are
        // holidays, so the one day of response ends with Thursday 8 October and the two days
        // of forwarding with Friday 9 October.
        let now = t("2026-09-30T07:00:00Z");
        let stages = Stages::at_report(&calendar, &rules, Level::Township, "0101", now);
        assert_eq!(stages.response_due, Some(t("2026-10-08T16:00:00Z")));
        assert_eq!(stages.forward_due, Some(t("2026-10-09T16:00:00Z")));
        assert_eq!(stages.forwarded_at, None);
        let current = Current {
            situation: Situation {
                state: State::Reported,
                suspended: false,
                level: Level::Township,
            },
            clock: Clock::new(&calendar, now, 5),
            supervision: None,
            rating: None,
            closed_at: None,
            category_code: "0101".into(),
            stages,
        };
        let accepted_at = t("2026-10-08T03:00:00Z");
        let accepted =
            transition(&current, &Action::Accept, &calendar, &rules, accepted_at).unwrap();
        assert_eq!(accepted.stages.accepted_at, Some(accepted_at));
        let on_time = stage_status(
            accepted.stages.response_due,
            accepted.stages.accepted_at,
            accepted_at,
        );
        assert!(!on_time.unwrap().late);
        let current = Current {
            situation: Situation {
                state: State::Accepted,
                ..current.situation
            },
            stages: accepted.stages,
            ..current
        };
        // Forwarded on Saturday 10 October (a working day in lieu): a day late.
        let forwarded_at = t("2026-10-10T02:00:00Z");
        let up = transition(&current, &Action::Escalate, &calendar, &rules, forwarded_at).unwrap();
        assert_eq!(up.level, Level::County);
        assert_eq!(up.stages.forwarded_at, Some(forwarded_at));
        let forward =
            stage_status(up.stages.forward_due, up.stages.forwarded_at, forwarded_at).unwrap();
        assert!(forward.late);
        assert!(
            stage_status(None, None, forwarded_at).is_none(),
            "no clock, no status"
        );
    }

    #[test]
    fn the_main_path_runs_from_report_to_rating() {
        let mut s = at(State::Reported);
        for (action, expected) in [
            (Action::Accept, State::Accepted),
            (Action::Dispatch, State::Dispatched),
            (Action::Handle, State::Handling),
            (Action::Feedback, State::Feedback),
            (Action::Verify, State::Verifying),
            (Action::Close, State::Closed),
            (Action::Rate("满意".into()), State::Rated),
        ] {
            s.state = apply(s, &action).unwrap().state;
            assert_eq!(s.state, expected);
        }
        assert_eq!(
            allowed(s),
            Vec::<&str>::new(),
            "a rated incident is finished"
        );
    }

    #[test]
    fn every_state_allows_exactly_its_actions() {
        let expect: [(State, &[&str]); 9] = [
            (State::Reported, &["受理", "作废", "督办"]),
            (State::Accepted, &["作废", "派遣", "督办", "吹哨"]),
            (
                State::Dispatched,
                &["处置", "回退", "延期", "挂账", "督办", "吹哨"],
            ),
            (
                State::Handling,
                &["反馈", "回退", "延期", "挂账", "督办", "吹哨"],
            ),
            (State::Feedback, &["核查", "回退", "督办"]),
            (State::Verifying, &["结案", "回退", "督办"]),
            (State::Closed, &["评价"]),
            (State::Rated, &[]),
            (State::Voided, &[]),
        ];
        for (state, names) in expect {
            assert_eq!(allowed(at(state)), names.to_vec(), "{state:?}");
        }
        // Every pair not listed is refused.
        for (state, _) in STATES {
            for name in ACTION_NAMES {
                let action = parse_action(name, Some("满意"), Some(2), Some("red")).unwrap();
                assert_eq!(
                    apply(at(state), &action).is_ok(),
                    allowed(at(state)).contains(&name),
                    "{state:?} {name}"
                );
            }
        }
    }

    #[test]
    fn suspension_stops_the_work_and_escalation_climbs_to_the_county() {
        let suspended = Situation {
            suspended: true,
            ..at(State::Handling)
        };
        assert_eq!(allowed(suspended), vec!["解除挂账", "督办"]);
        assert!(!apply(suspended, &Action::Resume).unwrap().suspended);
        let mut s = at(State::Handling);
        for level in [Level::Village, Level::Township, Level::County] {
            let e = apply(s, &Action::Escalate).unwrap();
            assert_eq!(
                (e.level, e.state, e.restart_clock),
                (level, State::Dispatched, true)
            );
            s = Situation {
                level: e.level,
                state: e.state,
                suspended: false,
            };
        }
        assert!(
            apply(s, &Action::Escalate).is_err(),
            "nothing above the county"
        );
        assert_eq!(
            apply(at(State::Handling), &Action::Delay(2))
                .unwrap()
                .extra_days,
            2
        );
        assert!(parse_action("延期", None, Some(0), None).is_err());
        assert!(parse_action("评价", Some("很好"), None, None).is_err());
        assert!(
            parse_action("飞走", None, None, None)
                .unwrap_err()
                .contains("受理")
        );
    }
}
