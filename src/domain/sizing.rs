//! The size band a base grid is measured against (DESIGN.md §1: about 300 households, 1,000–1,500
//! people; configuration per deployment, `GRIDMAP_BAND`).

/// The size a base grid should have (DESIGN.md §1: about 300 households, 1,000–1,500 people).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Band {
    pub target_households: i64,
    pub households: (i64, i64),
    pub population: (i64, i64),
}

impl Default for Band {
    fn default() -> Self {
        Band {
            target_households: 300,
            households: (150, 450),
            population: (1000, 1500),
        }
    }
}

impl Band {
    /// `TARGET:MIN-MAX:MIN-MAX` (households target, households band, people band), e.g.
    /// `300:150-450:1000-1500`.
    ///
    /// ```
    /// use gridmap::domain::sizing::Band;
    /// assert_eq!(Band::parse("300:150-450:1000-1500").unwrap(), Band::default());
    /// assert!(Band::parse("300:450-150:1000-1500").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Band, String> {
        let bad = || {
            format!("band {text:?}: expected TARGET:MIN-MAX:MIN-MAX, e.g. 300:150-450:1000-1500")
        };
        let parts: Vec<&str> = text.trim().split(':').collect();
        let [target, households, people] = parts.as_slice() else {
            return Err(bad());
        };
        let range = |r: &str| -> Result<(i64, i64), String> {
            let (a, b) = r.split_once('-').ok_or_else(bad)?;
            let (a, b) = (
                a.trim().parse::<i64>().map_err(|_| bad())?,
                b.trim().parse::<i64>().map_err(|_| bad())?,
            );
            if a < 0 || a > b {
                return Err(bad());
            }
            Ok((a, b))
        };
        let target = target.trim().parse::<i64>().map_err(|_| bad())?;
        let households = range(households)?;
        if !(households.0..=households.1).contains(&target) {
            return Err(bad());
        }
        Ok(Band {
            target_households: target,
            households,
            population: range(people)?,
        })
    }
}
