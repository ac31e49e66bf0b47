use gridmap::store::{StoreError, migrate};

use crate::harness::fresh_db;

#[tokio::test]
async fn migrations_apply_to_an_empty_database_and_rerun_as_no_ops() {
    let db = fresh_db(false).await;
    let mut client = db.client().await;
    let first = migrate::migrate(&mut client).await.unwrap();
    // Every file in migrations/, in order: a migration written but not listed is never applied.
    let mut files: Vec<String> =
        std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
            .unwrap()
            .filter_map(|e| {
                e.unwrap()
                    .file_name()
                    .to_str()?
                    .strip_suffix(".sql")
                    .map(str::to_string)
            })
            .collect();
    files.sort();
    assert_eq!(
        files[..16],
        [
            "0001_schema",
            "0002_sibling_overlap_guard",
            "0003_staff_photos",
            "0004_drafts",
            "0005_registry",
            "0006_incidents",
            "0007_tokens_calendar",
            "0008_field",
            "0009_teams",
            "0010_intake",
            "0011_outbox",
            "0012_departments",
            "0013_live_order",
            "0014_public",
            "0015_sibling_guard_at_scale",
            "0016_cells_by_revision"
        ]
    );
    assert_eq!(first, files);
    for table in [
        "patrols",
        "work_logs",
        "field_actions",
        "cells",
        "revisions",
        "buildings",
        "households",
        "people",
        "staff",
        "cell_staff",
        "incidents",
        "incident_events",
        "calendar_documents",
        "users",
        "api_tokens",
        "cell_lineage",
        "departments",
        "incident_parts",
        "matters",
        "department_reviews",
        "category_attributes",
    ] {
        let row = client
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
            .await
            .unwrap();
        assert!(row.get::<_, bool>(0), "table {table} missing");
    }
    let gist: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_indexes WHERE indexdef ILIKE '%USING gist%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(gist >= 3, "GiST indexes on geometries, found {gist}");
    let second = migrate::migrate(&mut client).await.unwrap();
    assert!(second.is_empty(), "rerun applied {second:?}");
    let recorded: i64 = client
        .query_one("SELECT count(*) FROM schema_migrations", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(recorded, files.len() as i64);
}

#[tokio::test]
async fn an_applied_migration_that_changed_is_refused() {
    let db = fresh_db(true).await;
    let mut client = db.client().await;
    client
        .execute(
            "UPDATE schema_migrations SET sha256 = 'edited' WHERE name = '0001_schema'",
            &[],
        )
        .await
        .unwrap();
    let err = migrate::migrate(&mut client).await.unwrap_err();
    assert!(
        matches!(err, StoreError::MigrationChanged { ref name } if name == "0001_schema"),
        "{err}"
    );
}

#[tokio::test]
async fn the_schema_refuses_a_cell_whose_code_does_not_extend_its_parent() {
    let db = fresh_db(true).await;
    let client = db.client().await;
    let result = client
        .execute(
            "INSERT INTO cells (code, parent_code, level, kind, name, geom, valid_from)
             VALUES ('520328004', '520329', 1, '街道', 'x',
                     ST_Multi(ST_MakeEnvelope(107, 27, 108, 28, 4490)), 0)",
            &[],
        )
        .await;
    assert!(result.is_err());
}
