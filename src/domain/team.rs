//! Teams (DESIGN.md §4): memberships with from–to dates, consent per scope, the team rules
//! (checked and listed, never enforced), the half-year periods of the 千分制 assessment and
//! the year-end satisfaction vote's ballot codes and flag rule.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::duty::Period;

/// What a consent covers on public outputs (PIPL Art. 25: each published item needs one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ConsentScope {
    Name,
    Photo,
    Phone,
}

impl ConsentScope {
    pub const ALL: [ConsentScope; 3] =
        [ConsentScope::Name, ConsentScope::Photo, ConsentScope::Phone];

    pub fn parse(s: &str) -> Option<ConsentScope> {
        match s {
            "name" | "姓名" => Some(ConsentScope::Name),
            "photo" | "照片" => Some(ConsentScope::Photo),
            "phone" | "电话" => Some(ConsentScope::Phone),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ConsentScope::Name => "name",
            ConsentScope::Photo => "photo",
            ConsentScope::Phone => "phone",
        }
    }
}

/// A 是/否 answer as registry files write it; `None` when it is neither.
pub fn yes_no(s: &str) -> Option<bool> {
    match s.trim().to_lowercase().as_str() {
        "是" | "同意" | "y" | "yes" | "true" | "1" | "√" => Some(true),
        "否" | "不同意" | "n" | "no" | "false" | "0" | "×" | "" => Some(false),
        _ => None,
    }
}

/// A membership is served on the days `[since, until)`; `until` is the first day no longer
/// served (`None` while serving). The team of a day is every membership active on it.
pub fn active_on(since: NaiveDate, until: Option<NaiveDate>, day: NaiveDate) -> bool {
    since <= day && until.is_none_or(|u| day < u)
}

/// Whether `[since, until)` shares a day with the period.
pub fn overlaps(since: NaiveDate, until: Option<NaiveDate>, period: &Period) -> bool {
    since <= period.to && until.is_none_or(|u| u > period.from)
}

/// A team rule: at cells of `level`, at least `min` and at most `max` current members in `role`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TeamRule {
    pub level: i16,
    pub role: String,
    pub min: i32,
    pub max: Option<i32>,
    pub description: String,
}

/// A cell that breaks a team rule: shown to the people who fix teams, never enforced.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Violation {
    pub cell: String,
    pub name: String,
    pub role: String,
    pub have: i64,
    pub min: i32,
    pub max: Option<i32>,
    pub rule: String,
}

/// The violations of `rules` among `cells` (code, name, level), given the count of current
/// members per (cell, role).
pub fn check_rules(
    cells: &[(String, String, u8)],
    members: &HashMap<(String, String), i64>,
    rules: &[TeamRule],
) -> Vec<Violation> {
    let mut out = Vec::new();
    for (code, name, level) in cells {
        for rule in rules.iter().filter(|r| r.level == i16::from(*level)) {
            let have = members
                .get(&(code.clone(), rule.role.clone()))
                .copied()
                .unwrap_or(0);
            if have < i64::from(rule.min) || rule.max.is_some_and(|m| have > i64::from(m)) {
                out.push(Violation {
                    cell: code.clone(),
                    name: name.clone(),
                    role: rule.role.clone(),
                    have,
                    min: rule.min,
                    max: rule.max,
                    rule: rule.description.clone(),
                });
            }
        }
    }
    out
}

/// A half-year of the assessment, written `2026H1` (1 Jan – 30 Jun) or `2026H2` (1 Jul – 31 Dec),
/// judged up to `today` (a half-year under way is scored on its days so far).
pub fn half_year(s: &str, today: NaiveDate) -> Option<Period> {
    let (year, half) = s.split_once('H')?;
    if year.len() != 4 {
        return None;
    }
    let year: i32 = year.parse().ok()?;
    let (from, to) = match half {
        "1" => (
            NaiveDate::from_ymd_opt(year, 1, 1)?,
            NaiveDate::from_ymd_opt(year, 6, 30)?,
        ),
        "2" => (
            NaiveDate::from_ymd_opt(year, 7, 1)?,
            NaiveDate::from_ymd_opt(year, 12, 31)?,
        ),
        _ => return None,
    };
    Some(Period { from, to, today })
}

/// Who votes in the 满意度测评 on a grid's 网格长: party members and representatives.
pub const ELECTOR_KINDS: [&str; 3] = ["党员", "村民代表", "居民代表"];

/// The three levels of the 满意度测评.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
pub enum Choice {
    #[serde(rename = "满意")]
    Satisfied,
    #[serde(rename = "基本满意")]
    Basic,
    #[serde(rename = "不满意")]
    Unsatisfied,
}

impl Choice {
    pub const ALL: [Choice; 3] = [Choice::Satisfied, Choice::Basic, Choice::Unsatisfied];

    pub fn parse(s: &str) -> Option<Choice> {
        Choice::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Choice::Satisfied => "满意",
            Choice::Basic => "基本满意",
            Choice::Unsatisfied => "不满意",
        }
    }
}

/// "测评中不满意超过1/3…及时予以调整": flagged when 不满意 is more than a third of the ballots
/// cast — exactly a third is not flagged.
pub fn flagged(unsatisfied: i64, cast: i64) -> bool {
    cast > 0 && 3 * unsatisfied > cast
}

/// The letters of a ballot code: no 0/O, 1/I/L confusions on a printed slip.
pub const BALLOT_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// 10 letters of 31: about 2^49.5 codes, so a forged one is found by chance ~never.
pub const BALLOT_LEN: usize = 10;

/// A fresh ballot code from `rng` (a CSPRNG in the service).
pub fn ballot_code(rng: &mut impl rand::Rng) -> String {
    (0..BALLOT_LEN)
        .map(|_| BALLOT_ALPHABET[rng.random_range(0..BALLOT_ALPHABET.len())] as char)
        .collect()
}

/// Whether `s` has the shape of a ballot code (upper-cased first: a voter may type lower case).
pub fn normalise_ballot_code(s: &str) -> Option<String> {
    let up = s.trim().to_ascii_uppercase();
    (up.len() == BALLOT_LEN && up.bytes().all(|b| BALLOT_ALPHABET.contains(&b))).then_some(up)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_membership_is_served_from_since_up_to_but_not_on_until() {
        let (since, until) = (d("2026-03-01"), Some(d("2026-07-01")));
        assert!(!active_on(since, until, d("2026-02-28")));
        assert!(active_on(since, until, d("2026-03-01")));
        assert!(active_on(since, until, d("2026-06-30")));
        assert!(!active_on(since, until, d("2026-07-01")));
        assert!(active_on(since, None, d("2030-01-01")));
        let h2 = half_year("2026H2", d("2027-01-01")).unwrap();
        assert!(!overlaps(since, until, &h2), "ended on the first day of H2");
        assert!(overlaps(since, Some(d("2026-07-02")), &h2));
    }

    #[test]
    fn half_years_are_january_to_june_and_july_to_december() {
        let h1 = half_year("2026H1", d("2027-01-01")).unwrap();
        assert_eq!((h1.from, h1.to), (d("2026-01-01"), d("2026-06-30")));
        let h2 = half_year("2026H2", d("2027-01-01")).unwrap();
        assert_eq!((h2.from, h2.to), (d("2026-07-01"), d("2026-12-31")));
        for bad in ["2026", "2026H3", "26H1", "2026h1", "H1", "2026H1x"] {
            assert!(half_year(bad, d("2027-01-01")).is_none(), "{bad}");
        }
    }

    #[test]
    fn more_than_a_third_unsatisfied_is_flagged_exactly_a_third_is_not() {
        assert!(!flagged(3, 9));
        assert!(flagged(4, 9));
        assert!(!flagged(0, 0));
        assert!(flagged(1, 2));
        assert!(!flagged(1, 3));
    }

    #[test]
    fn ballot_codes_avoid_look_alike_letters_and_are_read_case_blind() {
        let mut rng = rand::rng();
        for _ in 0..200 {
            let c = ballot_code(&mut rng);
            assert_eq!(c.len(), BALLOT_LEN);
            assert!(!c.contains(['0', 'O', '1', 'I', 'L']), "{c}");
            assert_eq!(normalise_ballot_code(&c.to_lowercase()), Some(c));
        }
        assert_eq!(normalise_ballot_code("ABCDEFGH0J"), None);
        assert_eq!(normalise_ballot_code("ABC"), None);
    }

    #[test]
    fn a_rule_lists_every_cell_outside_its_bounds() {
        let rules = vec![TeamRule {
            level: 3,
            role: "网格长".into(),
            min: 1,
            max: Some(1),
            description: "每个网格有且只有1名网格长".into(),
        }];
        let cells = vec![
            ("a".to_string(), "A".to_string(), 3),
            ("b".to_string(), "B".to_string(), 3),
            ("c".to_string(), "C".to_string(), 3),
            ("v".to_string(), "V".to_string(), 2),
        ];
        let members = HashMap::from([
            (("a".to_string(), "网格长".to_string()), 1),
            (("b".to_string(), "网格长".to_string()), 2),
        ]);
        let v = check_rules(&cells, &members, &rules);
        let got: Vec<(&str, i64)> = v.iter().map(|v| (v.cell.as_str(), v.have)).collect();
        assert_eq!(got, vec![("b", 2), ("c", 0)]);
    }

    #[test]
    fn consent_answers_are_read_as_registry_files_write_them() {
        assert_eq!(yes_no("是"), Some(true));
        assert_eq!(yes_no(" 否 "), Some(false));
        assert_eq!(yes_no(""), Some(false));
        assert_eq!(yes_no("Y"), Some(true));
        assert_eq!(yes_no("也许"), None);
    }
}
