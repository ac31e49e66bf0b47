//! Household and person categories (人员类别) with their sensitivity class. The list is
//! configuration (the `categories` table, seeded with these defaults); the classes are the rule:
//! only `一般` may ever be counted outside the grid's own team and admins, and no category
//! appears on any public output.

use serde::Serialize;

/// How much protection a category needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Sensitivity {
    /// 一般: residence status and the like.
    #[serde(rename = "一般")]
    General,
    /// 敏感: welfare, health, family situation.
    #[serde(rename = "敏感")]
    Sensitive,
    /// 特殊人群: community correction, released prisoners …
    #[serde(rename = "特殊人群")]
    Special,
}

impl Sensitivity {
    pub fn parse(name: &str) -> Option<Sensitivity> {
        match name {
            "一般" => Some(Sensitivity::General),
            "敏感" => Some(Sensitivity::Sensitive),
            "特殊人群" => Some(Sensitivity::Special),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Sensitivity::General => "一般",
            Sensitivity::Sensitive => "敏感",
            Sensitivity::Special => "特殊人群",
        }
    }
}

/// The categories a new deployment starts with (migration 0005 seeds the same list).
pub const DEFAULT_CATEGORIES: [(&str, Sensitivity); 12] = [
    ("常住", Sensitivity::General),
    ("流动", Sensitivity::General),
    ("户籍", Sensitivity::General),
    ("空巢老人", Sensitivity::Sensitive),
    ("留守儿童", Sensitivity::Sensitive),
    ("困难家庭", Sensitivity::Sensitive),
    ("低保", Sensitivity::Sensitive),
    ("残疾", Sensitivity::Sensitive),
    ("社区矫正", Sensitivity::Special),
    ("刑释", Sensitivity::Special),
    ("精神障碍", Sensitivity::Special),
    ("吸毒", Sensitivity::Special),
];

/// An ID number (居民身份证号) as shown to roles without the right to see it whole: the first
/// six (the issuing area) and the last four characters, the birth date hidden.
///
/// ```
/// use gridmap::domain::category::mask_id_number;
/// assert_eq!(mask_id_number("52032819800101123X"), "520328********123X");
/// assert_eq!(mask_id_number("123"), "***");
/// ```
pub fn mask_id_number(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() < 12 {
        return "*".repeat(chars.len());
    }
    let n = chars.len();
    chars[..6]
        .iter()
        .chain(std::iter::repeat_n(&'*', n - 10))
        .chain(&chars[n - 4..])
        .collect()
}
