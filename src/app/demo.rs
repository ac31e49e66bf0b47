//! The demo deployment as a use case: read and parse `data/demo/`, write it into an empty
//! database (all or nothing), and seed a week of synthetic incidents (labelled 演示) so the wall
//! and the KPIs have work on `make run`.

use std::path::Path;

use tokio_postgres::Client;

use crate::codec::cells::parse_cells;
use crate::demo::files;
use crate::domain::calendar::Calendar;
use crate::store::demo::{Loaded, places, seed_incidents, write_if_empty};
use crate::store::{StoreError, StoreResult, incidents};

/// Loads the demo from `dir` unless the atlas already has cells (then `None`).
pub async fn load_if_empty(client: &mut Client, dir: &Path) -> StoreResult<Option<Loaded>> {
    let refuse = |e: &dyn std::fmt::Display| StoreError::Refused(format!("demo data: {e}"));
    let text = files::read_cells_text(dir).map_err(|e| refuse(&e))?;
    let cells = parse_cells(&text).map_err(|e| refuse(&e))?;
    let registry = files::read_registry(dir).map_err(|e| refuse(&e))?;
    let photos: Vec<(String, Vec<u8>)> = registry
        .staff
        .iter()
        .filter_map(|m| Some((m.id.clone(), files::read_photo(dir, m.photo.as_deref()?)?)))
        .collect();
    write_if_empty(client, &cells, &registry, &photos).await
}

/// A week of synthetic incidents for a freshly loaded demo; deadlines from the configured rules
/// and `calendar`.
pub async fn seed_week_of_incidents(
    client: &mut Client,
    calendar: &Calendar,
    now: chrono::DateTime<chrono::Utc>,
) -> StoreResult<usize> {
    let categories = incidents::categories(client).await?;
    let rules = incidents::sla_rules(client).await?;
    let places = places(client, 3000).await?;
    let lookup = |code: &str| {
        let c = categories.iter().find(|c| c.code == code)?;
        let parent = categories
            .iter()
            .find(|p| Some(&p.code) == c.parent.as_ref())?;
        Some((format!("{}/{}", parent.name, c.name), c.severity))
    };
    let list = crate::demo::incidents::generate(&places, &lookup, calendar, &rules, now, 120);
    seed_incidents(client, &list).await
}
