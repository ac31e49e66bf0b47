//! The tree around the geometry: unique codes, codes that fit their level and parent, parents that
//! exist, levels one below the parent's.

use rustc_hash::FxHashMap;

use super::report::{Kind, Violation};
use super::{CodeRules, CoverageCell, Options};
use crate::domain::code::CellCode;

/// Each cell's parent (index into the cells+parents list) and whether it repeats an earlier code.
pub(crate) struct Links {
    pub parent: Vec<Option<usize>>,
    pub duplicate: Vec<bool>,
}

/// `all` holds the cells under test first (`cells` of them), then the parents given as context:
/// a parent's own parent need not be there, so it is not a finding.
pub(crate) fn check(
    all: &[&CoverageCell],
    cells: usize,
    options: &Options,
    violations: &mut Vec<Violation>,
) -> Links {
    let mut index: FxHashMap<&str, usize> =
        FxHashMap::with_capacity_and_hasher(all.len(), Default::default());
    let mut duplicate = vec![false; all.len()];
    for (i, cell) in all.iter().enumerate() {
        if let Some(&first) = index.get(cell.code.as_str()) {
            duplicate[i] = true;
            violations.push(Violation::error(
                Kind::DuplicateCode,
                vec![cell.code.clone()],
                format!(
                    "code {} appears twice (features {} and {})",
                    cell.code, all[first].feature, cell.feature
                ),
            ));
        } else {
            index.insert(cell.code.as_str(), i);
        }
    }

    let mut parent = vec![None; all.len()];
    for (i, cell) in all.iter().enumerate() {
        if duplicate[i] {
            continue;
        }
        let code = cell.code.as_str();
        let mut level = cell.level;
        let wanted: Option<String> = match options.code_rules {
            CodeRules::Strict => match CellCode::parse(code) {
                Ok(parsed) => {
                    if let Some(declared) = cell.level
                        && declared != parsed.level()
                    {
                        violations.push(Violation::error(
                            Kind::LevelMismatch,
                            vec![code.to_string()],
                            format!(
                                "{code} has the length of level {}, but says level {declared}",
                                parsed.level()
                            ),
                        ));
                    }
                    level = Some(parsed.level());
                    let prefix = parsed.parent_code().map(|p| p.to_string());
                    match (&cell.parent, prefix) {
                        (Some(declared), Some(prefix)) if *declared != prefix => {
                            violations.push(Violation::error(
                                Kind::BadCode,
                                vec![code.to_string(), declared.clone()],
                                format!("{code} does not extend its parent's code {declared}"),
                            ));
                            None
                        }
                        (Some(declared), _) => Some(declared.clone()),
                        (None, prefix) => prefix.filter(|p| index.contains_key(p.as_str())),
                    }
                }
                Err(e) => {
                    violations.push(Violation::error(
                        Kind::BadCode,
                        vec![code.to_string()],
                        format!("{code}: {e}"),
                    ));
                    cell.parent.clone()
                }
            },
            CodeRules::Prefix => match &cell.parent {
                Some(declared) if !code.starts_with(declared.as_str()) => {
                    violations.push(Violation::error(
                        Kind::BadCode,
                        vec![code.to_string(), declared.clone()],
                        format!("{code} does not start with its parent's code {declared}"),
                    ));
                    None
                }
                Some(declared) => Some(declared.clone()),
                None => (1..code.len())
                    .rev()
                    .filter(|&n| code.is_char_boundary(n))
                    .map(|n| &code[..n])
                    .find(|p| index.contains_key(p))
                    .map(String::from),
            },
            CodeRules::Free => cell.parent.clone(),
        };
        let Some(wanted) = wanted else { continue };
        match index.get(wanted.as_str()) {
            Some(&p) => {
                parent[i] = Some(p);
                let parent_level = match options.code_rules {
                    CodeRules::Strict => CellCode::parse(&wanted).ok().map(|c| c.level()),
                    _ => all[p].level,
                };
                if let (Some(l), Some(pl)) = (level, parent_level)
                    && l != pl + 1
                {
                    violations.push(Violation::error(
                        Kind::LevelMismatch,
                        vec![code.to_string(), wanted.clone()],
                        format!("{code} is level {l} but its parent {wanted} is level {pl}"),
                    ));
                }
            }
            None if i < cells => violations.push(Violation::error(
                Kind::UnknownParent,
                vec![code.to_string()],
                format!("{code} names parent {wanted}, which is not among the cells or parents"),
            )),
            None => {}
        }
    }
    Links { parent, duplicate }
}
