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

/// A week of synthetic field work for a freshly loaded demo (labelled 演示): eight workers of
/// the busiest grids, their patrols walked between their buildings (measured like real ones),
/// visits to households with duties, and daily logs on working days — some workers behind, so
/// `/field/team` and the compliance report show something to act on. Each worker's account is its
/// grid's 专职网格员 (so the 千分制 reads its records) and each grid gets an electorate of 30 for
/// the year-end vote. Returns the patrols made.
pub async fn seed_week_of_field_work(
    client: &mut Client,
    calendar: &Calendar,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<usize, crate::app::fieldwork::FieldError> {
    use crate::domain::duty::local_day;
    use crate::store::fieldwork as field;
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2026);
    let mut uuid = move || {
        let b: [u8; 16] = rng.random();
        let h = hex::encode(b);
        format!(
            "{}-{}-4{}-8{}-{}",
            &h[..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..32]
        )
    };
    let (revision, cells) = crate::store::cells::load_current(client).await?;
    let atlas = crate::atlas::Atlas::new(revision, cells);
    let grids: Vec<String> = client_grids(client).await?;
    let rules = crate::app::fieldwork::rules(client).await?;
    let intervals: Vec<String> = rules
        .visit_intervals()
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    let today = local_day(now);
    let mut patrols = Vec::new();
    for (k, grid) in grids.iter().take(8).enumerate() {
        let name = format!("演示网格员{}", k + 1);
        crate::store::users::add_user(
            client,
            &name,
            crate::domain::role::Role::Worker,
            std::slice::from_ref(grid),
        )
        .await?;
        crate::store::users::revoke(client, &name).await?;
        let worker = field::user_by_name(client, &name)
            .await?
            .ok_or_else(|| crate::app::fieldwork::FieldError::NotFound(name.clone()))?;
        // The account is the grid's 专职网格员's, so the 千分制 scores read its records.
        crate::store::teams::link_first(&*client, grid, "专职网格员", worker.id).await?;
        // Its electorate for the year-end vote: 12 party members and 18 representatives (演示).
        let electors: Vec<(String, String)> = (1..=30)
            .map(|j| {
                let kind = if j <= 12 { "党员" } else { "村民代表" };
                (format!("演示{kind}{}-{j:02}", k + 1), kind.to_string())
            })
            .collect();
        crate::store::teams::add_electors(&*client, grid, &electors, "demo").await?;
        let buildings = field::buildings_in(client, std::slice::from_ref(grid)).await?;
        let households = field::duty_households_with(
            client,
            std::slice::from_ref(grid),
            &intervals,
            now - chrono::TimeDelta::days(60),
        )
        .await?;
        // Behind: every third worker patrols once a week; every fourth skips logs.
        let patrol_days: &[i64] = if k % 3 == 0 { &[5] } else { &[6, 4, 1] };
        for &back in patrol_days {
            let day = today - chrono::TimeDelta::days(back);
            let (start, _) = crate::app::fieldwork::day_bounds(day);
            let start = start
                + chrono::TimeDelta::hours(9)
                + chrono::TimeDelta::minutes(i64::from(k as u8) * 7);
            let id = uuid();
            let tx = client.transaction().await.map_err(StoreError::from)?;
            field::start_patrol(&tx, &id, worker.id, start).await?;
            // A walk through 12 of the grid's buildings at 1.2 m/s, a fix every 5 s.
            let mut fixes = Vec::new();
            let mut t = start.timestamp_millis();
            let stops: Vec<&(i64, String, geo_types::Coord<f64>)> = buildings
                .iter()
                .step_by((buildings.len() / 12).max(1))
                .take(12)
                .collect();
            for w in stops.windows(2) {
                let (a, b) = (w[0].2, w[1].2);
                let metres = crate::geometry::track::haversine_m(a, b);
                let steps = ((metres / 6.0).ceil() as usize).max(1);
                for s in 0..steps {
                    let f = s as f64 / steps as f64;
                    fixes.push(crate::geometry::track::Fix {
                        lon: a.x + (b.x - a.x) * f,
                        lat: a.y + (b.y - a.y) * f,
                        t_ms: t,
                        accuracy_m: 8.0,
                    });
                    t += 5000;
                }
            }
            field::add_points(&tx, &id, &fixes, 0).await?;
            let track: Vec<(i64, geo_types::Coord<f64>)> = fixes
                .iter()
                .map(|f| (f.t_ms, geo_types::Coord { x: f.lon, y: f.lat }))
                .collect();
            let (length, measured) = crate::app::fieldwork::measure(
                &atlas,
                &track,
                &buildings,
                rules.get("coverage_distance_m", 50.0),
            );
            let end = chrono::DateTime::from_timestamp_millis(t).unwrap_or(start);
            field::finish_patrol(&tx, &id, Some(end), length, &measured).await?;
            tx.commit().await.map_err(StoreError::from)?;
            patrols.push(id);
        }
        for (v, h) in households
            .iter()
            .take(if k % 3 == 0 { 1 } else { 4 })
            .enumerate()
        {
            let at =
                crate::app::fieldwork::day_bounds(today - chrono::TimeDelta::days(v as i64 + 1)).0
                    + chrono::TimeDelta::hours(15);
            let id = uuid();
            field::insert_visit(
                client,
                &field::NewVisit {
                    id: &id,
                    user_id: worker.id,
                    household: h.id,
                    cell: Some(grid),
                    at,
                    outcome: "见面",
                    problems: &[],
                    note: Some("演示走访"),
                    photos: &[],
                    position: h.building.map(|b| (b, 10.0)),
                    distance_m: Some(0.0),
                    far: false,
                    demo: true,
                },
            )
            .await?;
        }
        for back in 1..=7 {
            let day = today - chrono::TimeDelta::days(back);
            if !calendar.is_workday(day) || (k % 4 == 1 && back <= 2) {
                continue;
            }
            let summary = crate::app::fieldwork::day_summary(&*client, &worker, day).await?;
            field::insert_log(
                client,
                &uuid(),
                worker.id,
                day,
                "演示日志：按计划巡查走访。",
                &summary,
                true,
            )
            .await?;
        }
    }
    field::mark_demo_patrols(client, &patrols).await?;
    Ok(patrols.len())
}

async fn client_grids(client: &Client) -> StoreResult<Vec<String>> {
    crate::store::fieldwork::busiest_grids(client, 8).await
}

/// The demo's departments (labelled 演示 by their names' towns): each township's 派出所 and
/// 综合执法中队, three county departments, and an approved 准入清单 with its approval record.
/// Returns the departments made.
pub async fn seed_departments(client: &mut Client) -> StoreResult<usize> {
    use crate::store::departments::{self as dept, DepartmentRow, NewMatter};
    let row = |code: String, name: String, kind: &str, township: Option<String>, cats: &[&str]| {
        DepartmentRow {
            code,
            name,
            kind: kind.into(),
            level: if township.is_some() {
                "township"
            } else {
                "county"
            }
            .into(),
            township,
            report_hours: 2,
            phone: None,
            categories: cats.iter().map(|c| c.to_string()).collect(),
            retired: false,
        }
    };
    let mut made = Vec::new();
    for (code, name) in crate::store::demo::townships(client).await? {
        made.push(row(
            format!("pcs-{code}"),
            format!("{name}派出所"),
            "派出所",
            Some(code.clone()),
            &["0501", "0502", "0503", "0205"],
        ));
        made.push(row(
            format!("zhzf-{code}"),
            format!("{name}综合执法中队"),
            "站所",
            Some(code.clone()),
            &["0402", "0403", "0401"],
        ));
    }
    made.push(row(
        "zjj".into(),
        "县住房和城乡建设局".into(),
        "县直部门",
        None,
        &["0203", "0402"],
    ));
    made.push(row(
        "yjj".into(),
        "县应急管理局".into(),
        "县直部门",
        None,
        &["0201", "0202", "0204"],
    ));
    made.push(row(
        "rsj".into(),
        "县人力资源和社会保障局".into(),
        "县直部门",
        None,
        &["0104", "0301"],
    ));
    for d in &made {
        dept::put(client, d).await?;
    }
    let matters = [
        ("消防安全隐患排查", "0201", "yjj", "发现上报"),
        ("危房排查", "0203", "zjj", "发现上报"),
        ("欠薪线索收集", "0104", "rsj", "协助处置"),
    ];
    for (name, category, department, duty) in matters {
        let id = dept::propose(
            client,
            &NewMatter {
                name,
                category: Some(category),
                department,
                grid_duty: duty,
                basis: Some("演示：县网格事项准入清单"),
                proposed_by: "演示指挥中心",
            },
        )
        .await?;
        dept::decide(client, id, "approved", "演示管理员", Some("演示")).await?;
    }
    Ok(made.len())
}
