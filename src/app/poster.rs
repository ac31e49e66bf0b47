//! `poster::assemble`: what a village's printable diagram shows — its grids with their public
//! teams, 四至, household totals and colours, the office and supervision phones, the revision —
//! gathered from the snapshot and the store. Only public fields (a consented portrait, the
//! leader's public phone) are read; `poster::render_svg` draws it.

use std::sync::Arc;

use tokio_postgres::Client;

use crate::atlas::Atlas;
use crate::atlas::neighbours::four_to;
use crate::poster::{PosterGrid, PosterInput};
use crate::store::{StoreError, cards};

/// Why a poster cannot be assembled.
#[derive(Debug, thiserror::Error)]
pub enum PosterError {
    #[error("no village or community with code {0}")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the poster task failed: {0}")]
    Task(String),
}

/// The poster of the village `code` (a level-2 cell of `atlas`).
pub async fn assemble(
    client: &Client,
    atlas: Arc<Atlas>,
    code: &str,
) -> Result<PosterInput, PosterError> {
    let village_index = atlas
        .index_of(code)
        .ok_or_else(|| PosterError::NotFound(code.to_string()))?;
    let village = &atlas.cells()[village_index];
    // The colour index and 四至 come from the snapshot's topology (computed once, off the
    // async workers the first time).
    let topology_atlas = atlas.clone();
    tokio::task::spawn_blocking(move || {
        topology_atlas.topology();
    })
    .await
    .map_err(|e| PosterError::Task(e.to_string()))?;
    let mut place: Vec<String> = atlas
        .chain(village)
        .skip(1)
        .map(|c| c.name.clone())
        .collect();
    place.reverse();

    let office_phone = cards::attribute(client, code, "office_phone").await?;
    let supervision_phone = cards::attribute(client, &code[..9], "supervision_phone").await?;
    let revision_date = cards::revision(client, atlas.revision)
        .await?
        .map(|r| r.1)
        .unwrap_or_default();
    let mut grids = Vec::new();
    let mut children: Vec<&crate::atlas::AtlasCell> = atlas
        .cells()
        .iter()
        .filter(|c| c.parent == Some(village_index))
        .map(|c| &**c)
        .collect();
    children.sort_by(|a, b| a.code.cmp(&b.code));
    for cell in children {
        let team = cards::public_team(client, &cell.code).await?;
        let leader = team.iter().find(|m| m.role == "网格长");
        let members: Vec<String> = team
            .iter()
            .filter(|m| m.role != "网格长")
            .map(|m| {
                m.name
                    .clone()
                    .unwrap_or_else(|| format!("{}（未公开）", m.role))
            })
            .collect();
        let phone = leader
            .and_then(|m| m.phone.clone())
            .or_else(|| office_phone.clone())
            .unwrap_or_default();
        let four = four_to(&atlas, &cell.code).unwrap_or_default();
        // The portrait is embedded, so the PDF carries it; only consented ones have a URL.
        let mut leader_photo = None;
        if let Some(id) = leader
            .and_then(|m| m.photo.as_deref())
            .and_then(|url| url.rsplit('/').nth(1))
            .and_then(|id| id.parse::<i64>().ok())
            && let Some((kind, bytes)) = cards::public_photo(client, id).await?
        {
            use base64::Engine;
            let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
            leader_photo = Some(format!("data:{kind};base64,{encoded}"));
        }
        let join = |v: &Vec<String>| {
            if v.is_empty() {
                "辖区边界".to_string()
            } else {
                v.join("、")
            }
        };
        grids.push(PosterGrid {
            code: cell.code.clone(),
            name: cell.name.clone(),
            kind: cell.kind.clone(),
            geometry: cell.geometry.clone(),
            colour: atlas.colour_of(atlas.index_of(&cell.code).unwrap_or(0)),
            leader_photo,
            leader: leader
                .and_then(|m| m.name.clone())
                .unwrap_or_else(|| "（未公开）".into()),
            members,
            phone,
            households: cards::public_totals(client, &cell.code).await?.map(|t| t.0),
            four_to: [
                join(&four.east),
                join(&four.south),
                join(&four.west),
                join(&four.north),
            ],
        });
    }
    Ok(PosterInput {
        village: village.name.clone(),
        place: place.join(" "),
        village_shape: village.geometry.clone(),
        grids,
        revision: atlas.revision,
        revision_date,
        supervision_phone,
        office_phone,
    })
}
