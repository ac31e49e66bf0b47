//! Coordinate reference systems on the way in. Stored coordinates are CGCS2000 (EPSG:4490);
//! survey data arrives in CGCS2000 3-degree Gauss-Krüger zones (EPSG:4513–4554), converted here
//! with the system PROJ. `Proj` is not `Send`, so each thread keeps its own transformers.

use std::cell::RefCell;
use std::collections::HashMap;
use std::collections::hash_map::Entry;

use geo_types::Coord;
use proj::Proj;

use super::china_crs::InputCrs;

/// The CGCS2000 3-degree Gauss-Krüger zones with the zone number in the false easting.
pub const GAUSS_KRUGER_ZONES: std::ops::RangeInclusive<u32> = 4513..=4533;
/// The same zones without the zone prefix (central meridian in the CRS name instead).
pub const GAUSS_KRUGER_CM: std::ops::RangeInclusive<u32> = 4534..=4554;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CrsError {
    #[error("EPSG:{0} is not a CGCS2000 3-degree Gauss-Krüger zone (EPSG:4513–4554)")]
    NotGaussKruger(u32),
    #[error("PROJ cannot build the transformation EPSG:{0} → EPSG:4490: {1}")]
    Create(u32, String),
    #[error("PROJ cannot convert ({x}, {y}) from EPSG:{epsg}: {message}")]
    Convert {
        epsg: u32,
        x: f64,
        y: f64,
        message: String,
    },
}

thread_local! {
    static TO_CGCS2000: RefCell<HashMap<u32, Proj>> = RefCell::new(HashMap::new());
}

/// Gauss-Krüger easting/northing (metres) in zone `epsg` → CGCS2000 longitude/latitude.
///
/// ```
/// use gridmap::geometry::crs::gauss_kruger_to_lon_lat;
/// // EPSG:4527 is zone 39 (central meridian 117°E): its false easting is 39 500 000 m.
/// let p = gauss_kruger_to_lon_lat(4527, 39_500_000.0, 3_320_000.0).unwrap();
/// assert!((p.x - 117.0).abs() < 1e-9);
/// ```
pub fn gauss_kruger_to_lon_lat(
    epsg: u32,
    easting: f64,
    northing: f64,
) -> Result<Coord<f64>, CrsError> {
    if !GAUSS_KRUGER_ZONES.contains(&epsg) && !GAUSS_KRUGER_CM.contains(&epsg) {
        return Err(CrsError::NotGaussKruger(epsg));
    }
    TO_CGCS2000.with(|cache| {
        let mut cache = cache.borrow_mut();
        let proj = match cache.entry(epsg) {
            Entry::Occupied(slot) => slot.into_mut(),
            Entry::Vacant(slot) => slot.insert(
                Proj::new_known_crs(&format!("EPSG:{epsg}"), "EPSG:4490", None)
                    .map_err(|e| CrsError::Create(epsg, e.to_string()))?,
            ),
        };
        let (x, y) = proj
            .convert((easting, northing))
            .map_err(|e| CrsError::Convert {
                epsg,
                x: easting,
                y: northing,
                message: e.to_string(),
            })?;
        Ok(Coord { x, y })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_central_meridian_maps_to_its_longitude_in_both_zone_styles() {
        // Zone 36 (EPSG:4524, with prefix) and "CM 108E" (EPSG:4545) are the same projection.
        let with_prefix = gauss_kruger_to_lon_lat(4524, 36_500_000.0, 3_073_000.0).unwrap();
        let without = gauss_kruger_to_lon_lat(4545, 500_000.0, 3_073_000.0).unwrap();
        assert!((with_prefix.x - 108.0).abs() < 1e-9);
        assert!(
            (with_prefix.x - without.x).abs() < 1e-12 && (with_prefix.y - without.y).abs() < 1e-12
        );
        // Roughly 27.77°N, where 湄潭 lies: 3 073 km from the equator along the meridian.
        assert!((with_prefix.y - 27.77).abs() < 0.01, "{with_prefix:?}");
    }

    #[test]
    fn other_crs_codes_are_refused() {
        assert_eq!(
            gauss_kruger_to_lon_lat(3857, 0.0, 0.0),
            Err(CrsError::NotGaussKruger(3857))
        );
    }
}

/// The one CRS type of every input (files, incidents, locate, geocode): geographic (possibly
/// offset, GCJ-02/BD-09) or a CGCS2000 Gauss-Krüger zone in metres.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crs {
    Geographic(InputCrs),
    GaussKruger(u32),
}

impl Crs {
    /// `wgs84`, `cgcs2000`, `gcj02`, `bd09`, or `EPSG:4513`…`EPSG:4554`.
    pub fn parse(name: &str) -> Option<Crs> {
        if let Some(crs) = InputCrs::parse(name) {
            return Some(Crs::Geographic(crs));
        }
        let code: u32 = name
            .to_ascii_uppercase()
            .strip_prefix("EPSG:")?
            .parse()
            .ok()?;
        (GAUSS_KRUGER_ZONES.contains(&code) || GAUSS_KRUGER_CM.contains(&code))
            .then_some(Crs::GaussKruger(code))
    }

    /// How the source CRS is recorded with each point.
    pub fn label(self) -> String {
        match self {
            Crs::Geographic(InputCrs::Wgs84) => "EPSG:4326".into(),
            Crs::Geographic(InputCrs::Cgcs2000) => "EPSG:4490".into(),
            Crs::Geographic(InputCrs::Gcj02) => "GCJ-02".into(),
            Crs::Geographic(InputCrs::Bd09) => "BD-09".into(),
            Crs::GaussKruger(epsg) => format!("EPSG:{epsg}"),
        }
    }

    /// The point in CGCS2000 longitude/latitude, or why not.
    pub fn to_cgcs2000(self, x: f64, y: f64) -> Result<Coord<f64>, String> {
        if !x.is_finite() || !y.is_finite() {
            return Err("coordinates must be finite numbers".into());
        }
        let p = match self {
            Crs::Geographic(crs) => {
                if x.abs() > 180.0 || y.abs() > 90.0 {
                    return Err(format!(
                        "({x}, {y}) is not a longitude/latitude (for Gauss-Krüger metres pass --crs EPSG:45xx)"
                    ));
                }
                crs.to_cgcs2000(Coord { x, y })
            }
            Crs::GaussKruger(epsg) => {
                gauss_kruger_to_lon_lat(epsg, x, y).map_err(|e| e.to_string())?
            }
        };
        if p.x.abs() > 180.0 || p.y.abs() > 90.0 || !p.x.is_finite() || !p.y.is_finite() {
            return Err(format!("({x}, {y}) converts outside the globe"));
        }
        Ok(p)
    }
}
