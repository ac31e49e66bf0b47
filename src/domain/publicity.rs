//! What the public may learn of a grid's work (000: "所有问题处置办理结果应当让群众知晓，接受群众
//! 监督") and what a resident may send in (001: 居民之声). Pure rules:
//! - a published result is a category, two dates, on time or not and the resident's rating —
//!   never a description, address, photo, name, time of day or point;
//! - a category with fewer than 3 results in the period is not shown by name: it rolls up to its
//!   parent category, and a parent with fewer than 3 to "其他", so a rare matter cannot point at
//!   one household;
//! - a resident's text is cleaned of what only hides or disguises text (control, zero-width and
//!   bidirectional-override characters) and bounded.

use chrono::NaiveDate;
use serde::Serialize;

use super::incident::State;

/// Fewer results than this in a category are merged (into the parent, then into 其他).
pub const MIN_SHOWN: usize = 3;
/// What merged results are called.
pub const OTHER: &str = "其他";
/// The longest suggestion text, in characters.
pub const MAX_TEXT_CHARS: usize = 1000;

/// One handled incident as the public sees it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PublicResult {
    /// The category as shown: a leaf path (`市容环境/垃圾堆放`), a parent (`市容环境`) or 其他.
    pub category: String,
    /// The day it was reported (China time).
    pub reported_on: NaiveDate,
    /// The day it was closed (China time).
    pub closed_on: NaiveDate,
    /// Closed no later than its deadline.
    pub on_time: bool,
    /// 满意 / 基本满意 / 不满意, when the resident rated it.
    pub rating: Option<String>,
}

/// Rolls categories with fewer than `MIN_SHOWN` results up to their parent (the part before
/// `/`), then parents with fewer than `MIN_SHOWN` into 其他; the order of `rows` is kept.
///
/// ```
/// use gridmap::domain::publicity::{PublicResult, merge_small};
/// let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 3).unwrap();
/// let row = |c: &str| PublicResult { category: c.into(), reported_on: day, closed_on: day,
///                                    on_time: true, rating: None };
/// let rows = vec![row("市容环境/垃圾堆放"), row("市容环境/垃圾堆放"), row("市容环境/垃圾堆放"),
///                 row("市容环境/占道经营"), row("民生服务/教育")];
/// let shown: Vec<String> = merge_small(rows).into_iter().map(|r| r.category).collect();
/// assert_eq!(shown, ["市容环境/垃圾堆放", "市容环境/垃圾堆放", "市容环境/垃圾堆放", "其他", "其他"]);
/// ```
pub fn merge_small(mut rows: Vec<PublicResult>) -> Vec<PublicResult> {
    let count =
        |rows: &[PublicResult], name: &str| rows.iter().filter(|r| r.category == name).count();
    let leaves: Vec<String> = rows.iter().map(|r| r.category.clone()).collect();
    for (row, leaf) in rows.iter_mut().zip(&leaves) {
        if leaves.iter().filter(|l| *l == leaf).count() < MIN_SHOWN {
            row.category = leaf.split('/').next().unwrap_or(OTHER).to_string();
        }
    }
    let snapshot = rows.clone();
    for row in rows.iter_mut() {
        // A name still shown only if at least MIN_SHOWN rows carry exactly it.
        if row.category != OTHER && count(&snapshot, &row.category) < MIN_SHOWN {
            row.category = OTHER.to_string();
        }
    }
    rows
}

/// Totals of a period's published results.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PublicTotals {
    pub closed: u64,
    pub on_time: u64,
    pub rated: u64,
    pub satisfied: u64,
}

/// The totals of `rows` (满意 and 基本满意 count as satisfied, as 满意率 does).
pub fn totals(rows: &[PublicResult]) -> PublicTotals {
    let mut t = PublicTotals::default();
    for r in rows {
        t.closed += 1;
        t.on_time += u64::from(r.on_time);
        if let Some(rating) = &r.rating {
            t.rated += 1;
            t.satisfied += u64::from(rating == "满意" || rating == "基本满意");
        }
    }
    t
}

/// An incident's state as a resident tracking it sees it: where it is, not its internals.
pub fn public_state(state: State) -> &'static str {
    match state {
        State::Reported => "已收到，待受理",
        State::Accepted | State::Dispatched | State::Handling | State::Feedback => "办理中",
        State::Verifying => "办理完毕，核查中",
        State::Closed | State::Rated => "已办结",
        State::Voided => "不予受理",
    }
}

/// Why a resident's text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SuggestionError {
    #[error("{0}: must not be empty")]
    Empty(&'static str),
    #[error("{field}: at most {max} characters, got {got}")]
    TooLong {
        field: &'static str,
        max: usize,
        got: usize,
    },
    #[error("contact: a phone number (digits, spaces, + and -, 5–20 characters), got {0:?}")]
    Contact(String),
}

impl SuggestionError {
    /// The field the refusal is about.
    pub fn field(&self) -> &'static str {
        match self {
            SuggestionError::Empty(f) | SuggestionError::TooLong { field: f, .. } => f,
            SuggestionError::Contact(_) => "contact",
        }
    }
}

/// Characters that only hide or disguise text: C0/C1 controls except the line break and tab,
/// zero-width characters, bidirectional overrides and isolates, the BOM.
fn hides(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// A resident's text, cleaned: `\r\n` → `\n`, hiding characters dropped, tabs to spaces, runs of
/// blank lines to one, each line's trailing spaces and the whole's ends trimmed; refused when
/// nothing is left or it is longer than `max` characters. HTML is not stripped here: every
/// output escapes it, so `<` stays what the resident wrote.
///
/// ```
/// use gridmap::domain::publicity::clean_text;
/// assert_eq!(clean_text("text", " 路灯\u{200b}坏了\r\n\r\n\r\n请修 \u{202e}", 100).unwrap(), "路灯坏了\n\n请修");
/// assert!(clean_text("text", "\u{200b} \n", 100).is_err());
/// ```
pub fn clean_text(field: &'static str, text: &str, max: usize) -> Result<String, SuggestionError> {
    let cleaned: String = text
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .chars()
        .filter(|c| !hides(*c))
        .map(|c| if c == '\t' { ' ' } else { c })
        .collect();
    let mut out = String::new();
    let mut blank = 0;
    for line in cleaned.lines() {
        let line = line.trim_end();
        if line.trim().is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(line);
    }
    let out = out.trim().to_string();
    if out.is_empty() {
        return Err(SuggestionError::Empty(field));
    }
    let got = out.chars().count();
    if got > max {
        return Err(SuggestionError::TooLong { field, max, got });
    }
    Ok(out)
}

/// A contact phone as given (digits, spaces, `+`, `-`), or a refusal.
pub fn clean_contact(text: &str) -> Result<Option<String>, SuggestionError> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let digits = t.chars().filter(char::is_ascii_digit).count();
    if t.chars().count() > 20
        || digits < 5
        || !t
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-'))
    {
        return Err(SuggestionError::Contact(t.chars().take(30).collect()));
    }
    Ok(Some(t.to_string()))
}

/// The alphabet of tracking codes: digits and capitals without 0/O, 1/I/L, so a code read aloud
/// or copied from paper is not mistaken.
pub const TRACKING_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// Whether `code` could be a tracking code (10 characters of the alphabet).
pub fn is_tracking_code(code: &str) -> bool {
    code.len() == 10 && code.bytes().all(|b| TRACKING_ALPHABET.contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(c: &str) -> PublicResult {
        let day = NaiveDate::from_ymd_opt(2026, 11, 3).unwrap();
        PublicResult {
            category: c.into(),
            reported_on: day,
            closed_on: day,
            on_time: true,
            rating: Some("满意".into()),
        }
    }

    #[test]
    fn small_leaves_roll_up_to_a_parent_shown_when_it_reaches_three() {
        let rows = vec![
            row("市容环境/垃圾堆放"),
            row("市容环境/占道经营"),
            row("市容环境/违章搭建"),
            row("安全隐患/消防隐患"),
        ];
        let shown: Vec<String> = merge_small(rows).into_iter().map(|r| r.category).collect();
        assert_eq!(shown, ["市容环境", "市容环境", "市容环境", "其他"]);
    }

    #[test]
    fn no_category_is_ever_shown_with_fewer_than_three_results() {
        let names = ["a/x", "a/y", "b/x", "b/x", "c/z", "a/x", "b/y", "b/x"];
        let rows: Vec<PublicResult> = names.iter().map(|n| row(n)).collect();
        let shown = merge_small(rows);
        for r in &shown {
            if r.category != OTHER {
                let n = shown.iter().filter(|s| s.category == r.category).count();
                assert!(n >= MIN_SHOWN, "{} shown with {n}", r.category);
            }
        }
        assert_eq!(shown.len(), names.len());
    }

    #[test]
    fn hiding_characters_are_dropped_and_length_counts_characters() {
        assert_eq!(clean_text("text", "a\u{0007}b\u{feff}", 10).unwrap(), "ab");
        let long = "路".repeat(MAX_TEXT_CHARS + 1);
        assert_eq!(
            clean_text("text", &long, MAX_TEXT_CHARS)
                .unwrap_err()
                .field(),
            "text"
        );
        assert!(clean_text("text", &"路".repeat(MAX_TEXT_CHARS), MAX_TEXT_CHARS).is_ok());
    }

    #[test]
    fn a_contact_is_a_phone_number_or_nothing() {
        assert_eq!(clean_contact(" ").unwrap(), None);
        assert_eq!(
            clean_contact("0851-2822 1234").unwrap().as_deref(),
            Some("0851-2822 1234")
        );
        assert!(clean_contact("<script>").is_err());
        assert!(clean_contact("12").is_err());
    }

    #[test]
    fn tracking_codes_avoid_confusable_characters() {
        assert!(is_tracking_code("K7M3Q9XP2A"));
        assert!(!is_tracking_code("K7M3Q9XP0A"));
        assert!(!is_tracking_code("K7M3Q9XP2"));
    }
}
