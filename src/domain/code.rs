//! Cell codes (统计用区划代码 + grid sequence): the length of a code fixes its level, and a child's
//! code starts with its parent's code. These rules hold for every code the system stores.

use std::fmt;

/// The levels of the cell tree. Level 0 is the county (the deployment's root).
pub const MAX_LEVEL: u8 = 4;

/// Digits a code must have at each level: county 6, township 9, village 12, grid 15, 片/组 19.
pub const CODE_LENGTHS: [usize; 5] = [6, 9, 12, 15, 19];

/// Why a string is not a valid cell code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("code must contain only the digits 0-9, got {0:?}")]
    NotDigits(String),
    #[error(
        "code {code:?} has {len} digits; codes have 6 (county), 9 (township), 12 (village), 15 (grid) or 19 (片/组) digits"
    )]
    BadLength { code: String, len: usize },
    #[error("level {0} is not one of 0 (county), 1 (township), 2 (village), 3 (grid), 4 (片/组)")]
    BadLevel(i64),
}

/// A syntactically valid cell code; its level is derived from its length.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CellCode(String);

impl CellCode {
    /// Parses a code, enforcing digits only and one of the level lengths.
    ///
    /// ```
    /// use gridmap::domain::code::CellCode;
    /// let grid = CellCode::parse("520328004001001").unwrap();
    /// assert_eq!(grid.level(), 3);
    /// assert_eq!(grid.parent_code().unwrap().as_str(), "520328004001");
    /// assert!(CellCode::parse("52032800400").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Self, CodeError> {
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CodeError::NotDigits(text.to_string()));
        }
        if !CODE_LENGTHS.contains(&text.len()) {
            return Err(CodeError::BadLength {
                code: text.to_string(),
                len: text.len(),
            });
        }
        Ok(CellCode(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The level this code's length stands for.
    pub fn level(&self) -> u8 {
        CODE_LENGTHS
            .iter()
            .position(|&n| n == self.0.len())
            .map(|i| i as u8)
            .unwrap_or(0)
    }

    /// The code its parent must have (the prefix one level up); `None` for the county.
    pub fn parent_code(&self) -> Option<CellCode> {
        let level = self.level() as usize;
        if level == 0 {
            return None;
        }
        Some(CellCode(self.0[..CODE_LENGTHS[level - 1]].to_string()))
    }
}

impl fmt::Display for CellCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks that a level number is one the tree has.
pub fn check_level(level: i64) -> Result<u8, CodeError> {
    if (0..=MAX_LEVEL as i64).contains(&level) {
        Ok(level as u8)
    } else {
        Err(CodeError::BadLevel(level))
    }
}

/// The Chinese name of a level, for messages and pages.
pub fn level_name(level: u8) -> &'static str {
    match level {
        0 => "县",
        1 => "乡镇/街道",
        2 => "村/社区",
        3 => "基础网格",
        _ => "片/组",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_level_length_parses_and_knows_its_parent() {
        let codes = [
            "520328",
            "520328004",
            "520328004001",
            "520328004001001",
            "5203280040010010102",
        ];
        for (level, text) in codes.iter().enumerate() {
            let code = CellCode::parse(text).unwrap();
            assert_eq!(code.level() as usize, level);
            if level > 0 {
                assert_eq!(code.parent_code().unwrap().as_str(), codes[level - 1]);
            } else {
                assert!(code.parent_code().is_none());
            }
        }
    }

    #[test]
    fn letters_and_wrong_lengths_are_refused() {
        assert!(matches!(
            CellCode::parse("52032800400A"),
            Err(CodeError::NotDigits(_))
        ));
        assert!(matches!(CellCode::parse(""), Err(CodeError::NotDigits(_))));
        assert!(matches!(
            CellCode::parse(" 520328"),
            Err(CodeError::NotDigits(_))
        ));
        assert!(matches!(
            CellCode::parse("5203280041"),
            Err(CodeError::BadLength { len: 10, .. })
        ));
    }

    #[test]
    fn levels_outside_the_tree_are_refused() {
        assert_eq!(check_level(3), Ok(3));
        assert!(check_level(5).is_err());
        assert!(check_level(-1).is_err());
    }
}
