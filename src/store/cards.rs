//! What the public cell card needs from the database, already filtered for publication: a
//! current team member's name, photo and phone each appear only under the current consent for
//! that scope (the `staff_consent` view), otherwise only their role and the office phone; and
//! household totals below ten are withheld (no small-area counts).

use serde::Serialize;
use tokio_postgres::Client;

use super::StoreResult;

/// Below this many households a total is not published.
pub const MIN_PUBLISHED_HOUSEHOLDS: i64 = 10;

/// One team member as the public may see them.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PublicMember {
    pub role: String,
    /// Each present only with the current consent for its scope.
    pub name: Option<String>,
    pub phone: Option<String>,
    pub photo: Option<String>,
    /// Always present: the committee's office phone.
    pub office_phone: Option<String>,
    pub duties: Vec<String>,
    pub consented: bool,
}

/// The current team of a cell, consent applied in SQL so unconsented data never leaves the
/// database.
pub async fn public_team(client: &Client, code: &str) -> StoreResult<Vec<PublicMember>> {
    let rows = client
        .query(
            "SELECT cs.role,
                    CASE WHEN c.name THEN s.name END,
                    CASE WHEN c.phone THEN s.phone END,
                    CASE WHEN c.photo AND s.photo_bytes IS NOT NULL
                         THEN '/api/v1/staff/' || s.id || '/photo' END,
                    s.office_phone, s.duties, c.name AND c.photo AND c.phone
             FROM cell_staff cs JOIN staff s ON s.id = cs.staff_id
             JOIN staff_consent c ON c.staff_id = s.id
             LEFT JOIN staff_roles r ON r.name = cs.role
             WHERE cs.cell_code = $1 AND cs.until IS NULL AND cs.since <= current_date
             ORDER BY coalesce(r.sort, 1000), s.id",
            &[&code],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| PublicMember {
            role: r.get(0),
            name: r.get(1),
            phone: r.get(2),
            photo: r.get(3),
            office_phone: r.get(4),
            duties: r.get(5),
            consented: r.get(6),
        })
        .collect())
}

/// Households and people registered in the cell, or `None` when fewer than ten households.
pub async fn public_totals(client: &Client, code: &str) -> StoreResult<Option<(i64, i64)>> {
    let row = client
        .query_one(
            "SELECT count(h.id), coalesce(sum(h.members), 0)::bigint
             FROM buildings b JOIN households h ON h.building_id = b.id
             WHERE b.cell_code = $1",
            &[&code],
        )
        .await?;
    let (households, people): (i64, i64) = (row.get(0), row.get(1));
    Ok((households >= MIN_PUBLISHED_HOUSEHOLDS).then_some((households, people)))
}

/// A public attribute of a current cell (e.g. `supervision_phone`, `office_phone`).
pub async fn attribute(client: &Client, code: &str, key: &str) -> StoreResult<Option<String>> {
    Ok(client
        .query_opt(
            "SELECT attributes->>$2 FROM cells WHERE code = $1 AND valid_to IS NULL",
            &[&code, &key],
        )
        .await?
        .and_then(|r| r.get(0)))
}

/// Number, time and message of a revision.
pub async fn revision(client: &Client, number: i32) -> StoreResult<Option<(i32, String, String)>> {
    Ok(client
        .query_opt(
            "SELECT number, to_char(created_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD'), message
             FROM revisions WHERE number = $1",
            &[&number],
        )
        .await?
        .map(|r| (r.get(0), r.get(1), r.get(2))))
}

/// A staff member's portrait, only when publication was consented to.
pub async fn public_photo(
    client: &Client,
    staff_id: i64,
) -> StoreResult<Option<(String, Vec<u8>)>> {
    Ok(client
        .query_opt(
            "SELECT s.photo_type, s.photo_bytes FROM staff s JOIN staff_consent c ON c.staff_id = s.id
             WHERE s.id = $1 AND c.photo AND s.photo_bytes IS NOT NULL",
            &[&staff_id],
        )
        .await?
        .map(|r| (r.get(0), r.get(1))))
}
