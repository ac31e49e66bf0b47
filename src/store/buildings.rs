//! Buildings (房) as planners see them: where they stand and how many households they hold —
//! never who lives there.

use serde_json::Value;
use tokio_postgres::Client;

use super::StoreResult;

/// The buildings recorded in `cell` as GeoJSON Point Features (id, address, cell, households).
pub async fn in_cell(client: &Client, cell: &str) -> StoreResult<Vec<Value>> {
    let rows = client
        .query(
            "SELECT json_build_object('type', 'Feature', 'id', b.id,
                 'properties', json_build_object('id', b.id, 'address', b.address,
                     'cell', b.cell_code, 'households', n.households),
                 'geometry', ST_AsGeoJSON(b.geom, 9)::json)
             FROM buildings b
             CROSS JOIN LATERAL (SELECT count(*) AS households FROM households h
                                 WHERE h.building_id = b.id) n
             WHERE b.cell_code = $1 ORDER BY b.id",
            &[&cell],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}
